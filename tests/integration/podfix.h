/*
 * podfix.h — the fixture of the integration tests that run pods and containers (test_lifecycle,
 * test_inside): the real daemon over its unix socket, real runc containers (supervised by conmon)
 * from a busybox test image.
 *
 * The group setup (group_up) builds TESTIMG_BASE (/bin/busybox; Debian's busybox-static runs its
 * applets from sh without symlinks) and pushes it to a docker-registry on 127.0.0.1.  Each test
 * (up) starts its own daemon whose `*` mirror is that registry and pulls the image through it, so
 * names like registry.k8s.io/litecri-test/busybox:1.0 never leave this machine.  Pods get a log
 * directory of the test and the cgroup parent "/litecri-test-<random>".
 *
 * Teardown (down) removes what a test made through the API, stops the daemon, and then — so that
 * a failed test leaves nothing either — force-deletes whatever runc still knows in the daemon's
 * runc root, unmounts everything under the daemon's directory and removes the test's cgroup parent
 * in every mounted cgroup hierarchy (v1 or v2).  It fails the test when a removal through the API
 * fails, the daemon does not exit 0 on SIGTERM, anything had to be cleaned up behind the daemon's
 * back, or the daemon reported a sanitizer error.  Waits poll every 50 ms against generous
 * deadlines; nothing asserts speed.
 *
 * Helpers named *_st return the gRPC status (and details); the others assert OK.  Memory handed
 * to own() (and everything t*-allocated) is freed at teardown, since a failed assertion longjmps.
 *
 * LITECRI_TEST_FILTER='test_restart*' runs a subset; LITECRI_TEST_KEEP_LOG=1 prints each daemon's
 * log at teardown.
 */
#ifndef LITECRI_TESTS_PODFIX_H
#define LITECRI_TESTS_PODFIX_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <jansson.h>

#include "api.pb-c.h"
#include "client/cri_client.h"
#include "harness.h"
#include "../common/testimg.h"

#define RT "/runtime.v1.RuntimeService/"
#define IMG "/runtime.v1.ImageService/"
#define CALL_TIMEOUT_MS 60000
#define PULL_TIMEOUT_MS 300000
#define WAIT_MS 120000 /* deadline of every poll: generous, never a measure of speed */
#define UPSTREAM "registry.k8s.io/litecri-test/" /* names the tests pull; served by the mirror */
#define MIRROR_REPO "litecri-test/"               /* the same repositories in the registry */
#define IMAGE UPSTREAM "busybox:1.0"
#define POD_NAMESPACE "litecri-test"
#define RUNC "/usr/sbin/runc"
#define SLEEP_FOREVER "exec sleep 100000"
#define TNEW(type, desc) ((type *)tmsg(&(desc)))
#define CTR_ANNOTATIONS(name) ((const char *const[]){ "litecri.test/ctr", (name), NULL })
#define PAR_N 4
#define LBL(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The registry and the image, shared by every test (group setup). */
struct podfix_group {
	struct testreg reg;
	char layout[64];
	struct testimg img;
};

/* What one test made that teardown frees. */
struct owned {
	void *p;
	void (*free_fn)(void *);
};

/* A process the daemon recorded for a pod or container (pid + start time: no reused pid). */
struct tracked_proc {
	char id[65];
	pid_t pid;
	unsigned long long start;
	const char *what; /* "container init", "infra (pause) process", "conmon" */
};

/* What one test runs; all of it is stopped and removed by teardown. */
struct podfix {
	struct daemon d;
	char logdir[64];      /* the pods' log_directory */
	char hostdir[64];     /* a host directory containers bind-mount */
	char cgparent[64];    /* "/litecri-test-<hex>": the pods' cgroup parent */
	char image_ref[128];  /* what PullImage returned */
	char host_netns[64];  /* readlink /proc/self/ns/net of this process */
	int small_root;       /* the daemon's root (database, images, pod files) is a tmpfs of SMALL_ROOT_MB */
	struct owned *owned;
	size_t n_owned, cap_owned;
	struct tracked_proc procs[256]; /* of every pod run and container started (run_pod_st, start_ctr_st) */
	size_t n_procs;
};

extern struct podfix_group grp;
extern struct podfix fx;
extern const char *const DNS_SERVERS[2], *const DNS_SEARCHES[2], *const DNS_OPTIONS[2];
extern const char *const POD_ANNOTATIONS[];

char *tprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void own(void *p, void (*free_fn)(void *));
void free_msg(void *m);
void free_json(void *j);
void free_owned(void);
void *talloc(size_t n);
void *tmsg(const ProtobufCMessageDescriptor *desc);
void *map_of(const ProtobufCMessageDescriptor *desc, const char *const *kv, size_t *n);
int map_equal(const char *what, const void *entries, size_t n, const char *const *kv);
char *random_id(void);
void sleep_ms(int ms);
int64_t now_ms(void);
grpc_status_code rpc(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
			    ProtobufCMessage **resp, char **details, int timeout_ms);
grpc_status_code rpc_patched(const char *method, const ProtobufCMessage *req, char bad, char **details, int *marks);
void *call_ok_t(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		       int timeout_ms);
void *call_ok(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd);
const char *ctr_state_name(int s);
Runtime__V1__PodSandboxConfig *pod_config(const char *name, const char *const *labels);
/* pod_config with PID namespace mode POD: the containers share one PID namespace, so the pod has an
 * infra container (its pause process the namespace's init); without it, a pod has none. */
Runtime__V1__PodSandboxConfig *pod_config_infra(const char *name, const char *const *labels);
grpc_status_code run_pod_st(const Runtime__V1__PodSandboxConfig *cfg, char **id, char **details);
char *run_pod(const Runtime__V1__PodSandboxConfig *cfg);
grpc_status_code pod_call(const char *rpc_name, const char *id, char **details);
void pod_call_ok(const char *rpc_name, const char *id);
void stop_pod(const char *id);
void remove_pod(const char *id);
grpc_status_code pod_status_st(const char *id, Runtime__V1__PodSandboxStatusResponse **out, char **details);
Runtime__V1__PodSandboxStatus *pod_status(const char *id);
void assert_pod_not_found(const char *id);
Runtime__V1__ListPodSandboxResponse *list_pods(Runtime__V1__PodSandboxFilter *filter);
Runtime__V1__ContainerConfig *ctr_config(const char *name, const char *script, const char *const *labels);
grpc_status_code create_ctr_st(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
				      const Runtime__V1__PodSandboxConfig *pod_cfg, char **id, char **details);
char *create_ctr(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
			const Runtime__V1__PodSandboxConfig *pod_cfg);
/* A READY pod (labels) and one RUNNING container of it running script (its config adjusted by fn,
 * its labels ctr_labels); the pod's ID in *pod_out and its config in *pc_out unless NULL. */
char *running_ctr(const char *const *labels, const char *pod_name, const char *name, const char *script,
		  void (*fn)(Runtime__V1__ContainerConfig *), char **pod_out, const char *const *ctr_labels,
		  Runtime__V1__PodSandboxConfig **pc_out);
grpc_status_code start_ctr_st(const char *id, char **details);
void start_ctr(const char *id);
grpc_status_code stop_ctr_st(const char *id, int64_t timeout, char **details);
void stop_ctr(const char *id, int64_t timeout);
grpc_status_code remove_ctr_st(const char *id, char **details);
void remove_ctr(const char *id);
grpc_status_code ctr_status_st(const char *id, int verbose, Runtime__V1__ContainerStatusResponse **out,
				      char **details);
Runtime__V1__ContainerStatusResponse *ctr_status_v(const char *id, int verbose);
Runtime__V1__ContainerStatus *ctr_status(const char *id);
void assert_ctr_not_found(const char *id);
Runtime__V1__ContainerStatus *wait_ctr_state(const char *id, Runtime__V1__ContainerState want);
void assert_exited(const Runtime__V1__ContainerStatus *s, int code, const char *reason);
Runtime__V1__ListContainersResponse *list_ctrs(Runtime__V1__ContainerFilter *filter);
int ids_match(const char *what, char **got, size_t n, va_list ap);
void assert_ctr_list(const char *what, Runtime__V1__ContainerFilter *filter, ...);
void assert_pod_list(const char *what, Runtime__V1__PodSandboxFilter *filter, ...);
void *par_main(void *arg);
ProtobufCMessage **parallel_ok(const char *method, const ProtobufCMessage *req,
				      const ProtobufCMessageDescriptor *rd, int timeout_ms, grpc_status_code also);
json_t *ctr_info(const char *id);
pid_t ctr_pid(const char *id);
json_t *find_spec(json_t *j);
int proc_gone(pid_t pid);
const char *log_path_of(const char *name);
char *wait_log(const char *path, const char *needle);
char *log_value(const char *log, const char *key);
void assert_cri_log(const char *path, ...);
char *mounts_under(const char *dir);
const char *runc_root(void);
char *runc_ids(void);
long long db_int(const char *sql, const char *arg);

/* The daemon's open descriptors, leaving out its SQLite files (one connection per thread that used
 * the database, opened on first use: a count that follows the worker pool, not the calls). */
int daemon_fd_count(void);
int daemon_fd_count_settled(int bound);
int subdirs(const char *dir);
int entries(const char *dir);
int files_naming(const char *dir, const char *const *ids);
int procs_naming(const char *id);
void wait_no_procs(const char *id);
int cgroup_dirs(char out[][PATH_MAX], int max);
int cgroup_rmtree(const char *dir);
int group_up(void **state);
int group_down(void **state);
int start_daemon(void);
int up(void **state);
/* As up, with the daemon's root (so its database too) on a tmpfs of SMALL_ROOT_MB that the test
 * may fill; down unmounts it. */
#define SMALL_ROOT_MB 48
int up_small_root(void **state);
int api_cleanup(void);
int safety_net(void);
int sanitizer_report(const char *path);
int down(void **state);
void print_daemon_log_tail(void);
void assert_nothing_left(const char *const *ids);

/* Run the group `name` of tests (setup up, teardown down each) after the environment every
 * daemon of these tests needs: exit code for main. */
int podfix_main(const char *name, const struct CMUnitTest *tests, size_t n);

#endif
