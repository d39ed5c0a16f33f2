/*
 * test_lifecycle.c — pod and container lifecycle acceptance tests: the real daemon's
 * RuntimeService (RunPodSandbox ... ReopenContainerLog) over its unix socket, running real runc
 * containers (supervised by conmon) from a busybox test image.
 *
 * The group setup builds TESTIMG_BASE (/bin/busybox; Debian's busybox-static runs its applets from
 * sh without symlinks) and pushes it to a docker-registry on 127.0.0.1.  Each test starts its own
 * daemon whose `*` mirror is that registry and pulls the image through it, so names like
 * registry.k8s.io/litecri-test/busybox:1.0 never leave this machine.  Pods get a log directory of
 * the test and the cgroup parent "/litecri-test-<random>".
 *
 * Teardown removes what a test made through the API, stops the daemon, and then — so that a
 * failed test leaves nothing either — force-deletes whatever runc still knows in the daemon's runc
 * root, unmounts everything under the daemon's directory and removes the test's cgroup parent in
 * every hierarchy.  Waits poll every 50 ms against generous deadlines; nothing asserts speed.
 *
 * LITECRI_TEST_FILTER='test_restart*' runs a subset; LITECRI_TEST_KEEP_LOG=1 prints each daemon's
 * log at teardown.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <jansson.h>

#include "api.pb-c.h"
#include "client/cri_client.h"
#include "harness.h"
#include "../common/testimg.h"
#include "../common/tmpdir.h"

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

/* The registry and the image, shared by every test (group setup). */
static struct {
	struct testreg reg;
	char layout[64];
	struct testimg img;
} grp;

/* What one test made that teardown frees. */
struct owned {
	void *p;
	void (*free_fn)(void *);
};

/* What one test runs; all of it is stopped and removed by teardown. */
static struct {
	struct daemon d;
	char logdir[64];      /* the pods' log_directory */
	char hostdir[64];     /* a host directory containers bind-mount */
	char cgparent[64];    /* "/litecri-test-<hex>": the pods' cgroup parent */
	char image_ref[128];  /* what PullImage returned */
	char host_netns[64];  /* readlink /proc/self/ns/net of this process */
	struct owned *owned;
	size_t n_owned, cap_owned;
} fx;

/* ------------------------------------------------------------------------------------------ */
/* memory a test hands to teardown (a failed assertion longjmps past any free)                */

static void own(void *p, void (*free_fn)(void *))
{
	if (!p)
		return;
	if (fx.n_owned == fx.cap_owned) {
		size_t cap = fx.cap_owned ? fx.cap_owned * 2 : 256;
		struct owned *n = realloc(fx.owned, cap * sizeof *n);
		assert_non_null(n);
		fx.owned = n;
		fx.cap_owned = cap;
	}
	fx.owned[fx.n_owned++] = (struct owned){ p, free_fn };
}

static void free_msg(void *m)
{
	protobuf_c_message_free_unpacked(m, NULL);
}

static void free_json(void *j)
{
	json_decref(j);
}

static void free_owned(void)
{
	for (size_t i = fx.n_owned; i-- > 0;)
		fx.owned[i].free_fn(fx.owned[i].p);
	free(fx.owned);
	fx.owned = NULL;
	fx.n_owned = fx.cap_owned = 0;
}

static void *talloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	assert_non_null(p);
	own(p, free);
	return p;
}

static char *tprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	own(s, free);
	return s;
}

/* A message of type desc, initialized to its defaults, owned by the test. */
static void *tmsg(const ProtobufCMessageDescriptor *desc)
{
	void *m = talloc(desc->sizeof_message);
	protobuf_c_message_init(desc, m);
	return m;
}
#define TNEW(type, desc) ((type *)tmsg(&(desc)))

/* Every protobuf-c map entry: { base, key, value }. */
struct kv_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

/* A map field (entries of type desc) from a NULL-terminated key, value, ... list; *n its size. */
static void *map_of(const ProtobufCMessageDescriptor *desc, const char *const *kv, size_t *n)
{
	assert_int_equal(desc->sizeof_message, sizeof(struct kv_entry));
	size_t cnt = 0;
	while (kv && kv[2 * cnt])
		cnt++;
	struct kv_entry **arr = talloc((cnt + 1) * sizeof *arr);
	for (size_t i = 0; i < cnt; i++) {
		arr[i] = tmsg(desc);
		arr[i]->key = (char *)kv[2 * i];
		arr[i]->value = (char *)kv[2 * i + 1];
	}
	*n = cnt;
	return arr;
}

/* 1 if the map (entries, n) holds exactly the pairs of kv (NULL-terminated); else prints why. */
static int map_equal(const char *what, const void *entries, size_t n, const char *const *kv)
{
	struct kv_entry *const *e = entries;
	size_t cnt = 0;
	while (kv && kv[2 * cnt])
		cnt++;
	int ok = n == cnt;
	for (size_t i = 0; ok && i < cnt; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(e[j]->key, kv[2 * i]) == 0)
				found = strcmp(e[j]->value, kv[2 * i + 1]) == 0 ? 1 : -1;
		ok = found == 1;
	}
	if (!ok) {
		print_error("%s: got {", what);
		for (size_t j = 0; j < n; j++)
			print_error(" %s=%s", e[j]->key, e[j]->value);
		print_error(" }, wanted {");
		for (size_t i = 0; i < cnt; i++)
			print_error(" %s=%s", kv[2 * i], kv[2 * i + 1]);
		print_error(" }\n");
	}
	return ok;
}

/* 64 random hex digits (an ID nothing has). */
static char *random_id(void)
{
	unsigned char b[32];
	assert_int_equal(getrandom(b, sizeof b, 0), (ssize_t)sizeof b);
	char *s = talloc(65);
	for (size_t i = 0; i < sizeof b; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* CRI calls                                                                                  */

/* One typed call on a fresh client (a restarted daemon needs a new connection).  The response
 * and the message are owned by the test.  No assertions. */
static grpc_status_code rpc(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
			    ProtobufCMessage **resp, char **details, int timeout_ms)
{
	*resp = NULL;
	char *msg = NULL;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	if (!c)
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	grpc_status_code st = cri_client_call(c, method, req, rd, resp, &msg, timeout_ms);
	cri_client_free(c);
	if (*resp)
		own(*resp, free_msg);
	own(msg, free);
	if (details)
		*details = msg ? msg : (char *)"";
	return st;
}

/* A call that must succeed; returns the response. */
static void *call_ok_t(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		       int timeout_ms)
{
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(method, req, rd, &resp, &details, timeout_ms);
	if (st != GRPC_STATUS_OK)
		print_error("%s: %s: %s\n", method, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(resp);
	return resp;
}

static void *call_ok(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd)
{
	return call_ok_t(method, req, rd, CALL_TIMEOUT_MS);
}

static const char *ctr_state_name(int s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&runtime__v1__container_state__descriptor, s);
	return v ? v->name : "?";
}

/* --- pods --- */

static const char *const DNS_SERVERS[] = { "127.0.0.10", "127.0.0.11" };
static const char *const DNS_SEARCHES[] = { "svc.cluster.local", "cluster.local" };
static const char *const DNS_OPTIONS[] = { "ndots:5", "timeout:2" };
static const char *const POD_ANNOTATIONS[] = { "litecri.test/annotation", "a value, with spaces", "kubernetes.io/config.source",
					       "api", NULL };

/*
 * A pod config as kubelet sends it: metadata (name, uid, namespace POD_NAMESPACE, attempt 0),
 * hostname = name, log_directory = the test's, dns_config, labels, POD_ANNOTATIONS, the test's
 * cgroup parent, namespace options network=POD ipc=POD pid=CONTAINER.
 */
static Runtime__V1__PodSandboxConfig *pod_config(const char *name, const char *const *labels)
{
	Runtime__V1__PodSandboxConfig *c = TNEW(Runtime__V1__PodSandboxConfig, runtime__v1__pod_sandbox_config__descriptor);
	c->metadata = TNEW(Runtime__V1__PodSandboxMetadata, runtime__v1__pod_sandbox_metadata__descriptor);
	c->metadata->name = (char *)name;
	c->metadata->uid = tprintf("uid-%s%s", name, fx.cgparent + strlen("/litecri-test"));
	c->metadata->namespace_ = POD_NAMESPACE;
	c->metadata->attempt = 0;
	c->hostname = (char *)name;
	c->log_directory = fx.logdir;
	c->dns_config = TNEW(Runtime__V1__DNSConfig, runtime__v1__dnsconfig__descriptor);
	c->dns_config->servers = (char **)DNS_SERVERS;
	c->dns_config->n_servers = 2;
	c->dns_config->searches = (char **)DNS_SEARCHES;
	c->dns_config->n_searches = 2;
	c->dns_config->options = (char **)DNS_OPTIONS;
	c->dns_config->n_options = 2;
	c->labels = map_of(&runtime__v1__pod_sandbox_config__labels_entry__descriptor, labels, &c->n_labels);
	c->annotations = map_of(&runtime__v1__pod_sandbox_config__annotations_entry__descriptor, POD_ANNOTATIONS,
				&c->n_annotations);
	c->linux = TNEW(Runtime__V1__LinuxPodSandboxConfig, runtime__v1__linux_pod_sandbox_config__descriptor);
	c->linux->cgroup_parent = fx.cgparent;
	c->linux->security_context =
		TNEW(Runtime__V1__LinuxSandboxSecurityContext, runtime__v1__linux_sandbox_security_context__descriptor);
	Runtime__V1__NamespaceOption *ns = TNEW(Runtime__V1__NamespaceOption, runtime__v1__namespace_option__descriptor);
	ns->network = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	c->linux->security_context->namespace_options = ns;
	return c;
}

static grpc_status_code run_pod_st(const Runtime__V1__PodSandboxConfig *cfg, char **id, char **details)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = (Runtime__V1__PodSandboxConfig *)cfg;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp,
				  details, CALL_TIMEOUT_MS);
	*id = st == GRPC_STATUS_OK ? ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id : NULL;
	return st;
}

/* RunPodSandbox that must succeed; the pod's ID (64 hex digits). */
static char *run_pod(const Runtime__V1__PodSandboxConfig *cfg)
{
	char *id, *details;
	grpc_status_code st = run_pod_st(cfg, &id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("RunPodSandbox %s: %s: %s\n", cfg->metadata ? cfg->metadata->name : "(no metadata)",
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
	return id;
}

static grpc_status_code pod_call(const char *rpc_name, const char *id, char **details)
{
	ProtobufCMessage *resp;
	if (strcmp(rpc_name, "StopPodSandbox") == 0) {
		Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		req.pod_sandbox_id = (char *)id;
		return rpc(RT "StopPodSandbox", &req.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &resp,
			   details, 3 * CALL_TIMEOUT_MS);
	}
	Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	return rpc(RT "RemovePodSandbox", &req.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &resp, details,
		   3 * CALL_TIMEOUT_MS);
}

static void pod_call_ok(const char *rpc_name, const char *id)
{
	char *details;
	grpc_status_code st = pod_call(rpc_name, id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("%s %s: %s: %s\n", rpc_name, id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

static void stop_pod(const char *id)
{
	pod_call_ok("StopPodSandbox", id);
}

static void remove_pod(const char *id)
{
	pod_call_ok("RemovePodSandbox", id);
}

static grpc_status_code pod_status_st(const char *id, Runtime__V1__PodSandboxStatusResponse **out, char **details)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "PodSandboxStatus", &req.base, &runtime__v1__pod_sandbox_status_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*out = (Runtime__V1__PodSandboxStatusResponse *)resp;
	return st;
}

/* PodSandboxStatus that must succeed (with a status). */
static Runtime__V1__PodSandboxStatus *pod_status(const char *id)
{
	Runtime__V1__PodSandboxStatusResponse *r;
	char *details;
	grpc_status_code st = pod_status_st(id, &r, &details);
	if (st != GRPC_STATUS_OK)
		print_error("PodSandboxStatus %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(r->status);
	assert_string_equal(r->status->id, id);
	return r->status;
}

static void assert_pod_not_found(const char *id)
{
	Runtime__V1__PodSandboxStatusResponse *r;
	char *details;
	grpc_status_code st = pod_status_st(id, &r, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("PodSandboxStatus %s: %s (%s), wanted NOT_FOUND\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
}

static Runtime__V1__ListPodSandboxResponse *list_pods(Runtime__V1__PodSandboxFilter *filter)
{
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = filter;
	return call_ok(RT "ListPodSandbox", &req.base, &runtime__v1__list_pod_sandbox_response__descriptor);
}

/* --- containers --- */

/*
 * A container config: metadata (name, attempt 0), IMAGE, command /bin/sh -c script, log_path
 * "<name>.log" (in the pod's log directory), labels, annotation litecri.test/ctr=name.
 */
static Runtime__V1__ContainerConfig *ctr_config(const char *name, const char *script, const char *const *labels)
{
	Runtime__V1__ContainerConfig *c = TNEW(Runtime__V1__ContainerConfig, runtime__v1__container_config__descriptor);
	c->metadata = TNEW(Runtime__V1__ContainerMetadata, runtime__v1__container_metadata__descriptor);
	c->metadata->name = (char *)name;
	c->image = TNEW(Runtime__V1__ImageSpec, runtime__v1__image_spec__descriptor);
	c->image->image = IMAGE;
	char **cmd = talloc(3 * sizeof *cmd);
	cmd[0] = "/bin/sh";
	cmd[1] = "-c";
	cmd[2] = (char *)script;
	c->command = cmd;
	c->n_command = 3;
	c->log_path = tprintf("%s.log", name);
	c->labels = map_of(&runtime__v1__container_config__labels_entry__descriptor, labels, &c->n_labels);
	const char **ann = talloc(3 * sizeof *ann);
	ann[0] = "litecri.test/ctr";
	ann[1] = name;
	c->annotations = map_of(&runtime__v1__container_config__annotations_entry__descriptor, ann, &c->n_annotations);
	return c;
}

/* The annotations ctr_config gives container `name`. */
#define CTR_ANNOTATIONS(name) ((const char *const[]){ "litecri.test/ctr", (name), NULL })

static grpc_status_code create_ctr_st(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
				      const Runtime__V1__PodSandboxConfig *pod_cfg, char **id, char **details)
{
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = (char *)pod_id;
	req.config = (Runtime__V1__ContainerConfig *)cfg;
	req.sandbox_config = (Runtime__V1__PodSandboxConfig *)pod_cfg;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "CreateContainer", &req.base, &runtime__v1__create_container_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*id = st == GRPC_STATUS_OK ? ((Runtime__V1__CreateContainerResponse *)resp)->container_id : NULL;
	return st;
}

/* CreateContainer that must succeed; the container's ID (64 hex digits). */
static char *create_ctr(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
			const Runtime__V1__PodSandboxConfig *pod_cfg)
{
	char *id, *details;
	grpc_status_code st = create_ctr_st(pod_id, cfg, pod_cfg, &id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("CreateContainer %s: %s: %s\n", cfg->metadata ? cfg->metadata->name : "(no metadata)",
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
	return id;
}

static grpc_status_code start_ctr_st(const char *id, char **details)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp;
	return rpc(RT "StartContainer", &req.base, &runtime__v1__start_container_response__descriptor, &resp, details,
		   CALL_TIMEOUT_MS);
}

static void start_ctr(const char *id)
{
	char *details;
	grpc_status_code st = start_ctr_st(id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("StartContainer %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

static grpc_status_code stop_ctr_st(const char *id, int64_t timeout, char **details)
{
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = timeout;
	ProtobufCMessage *resp;
	return rpc(RT "StopContainer", &req.base, &runtime__v1__stop_container_response__descriptor, &resp, details,
		   (int)timeout * 1000 + 2 * CALL_TIMEOUT_MS);
}

static void stop_ctr(const char *id, int64_t timeout)
{
	char *details;
	grpc_status_code st = stop_ctr_st(id, timeout, &details);
	if (st != GRPC_STATUS_OK)
		print_error("StopContainer %s (timeout %lld): %s: %s\n", id, (long long)timeout, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

static grpc_status_code remove_ctr_st(const char *id, char **details)
{
	Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp;
	return rpc(RT "RemoveContainer", &req.base, &runtime__v1__remove_container_response__descriptor, &resp, details,
		   2 * CALL_TIMEOUT_MS);
}

static void remove_ctr(const char *id)
{
	char *details;
	grpc_status_code st = remove_ctr_st(id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("RemoveContainer %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

static grpc_status_code ctr_status_st(const char *id, int verbose, Runtime__V1__ContainerStatusResponse **out,
				      char **details)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.verbose = verbose;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "ContainerStatus", &req.base, &runtime__v1__container_status_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*out = (Runtime__V1__ContainerStatusResponse *)resp;
	return st;
}

/* ContainerStatus that must succeed (with a status). */
static Runtime__V1__ContainerStatusResponse *ctr_status_v(const char *id, int verbose)
{
	Runtime__V1__ContainerStatusResponse *r;
	char *details;
	grpc_status_code st = ctr_status_st(id, verbose, &r, &details);
	if (st != GRPC_STATUS_OK)
		print_error("ContainerStatus %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(r->status);
	assert_string_equal(r->status->id, id);
	return r;
}

static Runtime__V1__ContainerStatus *ctr_status(const char *id)
{
	return ctr_status_v(id, 0)->status;
}

static void assert_ctr_not_found(const char *id)
{
	Runtime__V1__ContainerStatusResponse *r;
	char *details;
	grpc_status_code st = ctr_status_st(id, 0, &r, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("ContainerStatus %s: %s (%s), wanted NOT_FOUND\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
}

/* Poll ContainerStatus every 50 ms until the state is `want`; that status. */
static Runtime__V1__ContainerStatus *wait_ctr_state(const char *id, Runtime__V1__ContainerState want)
{
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		Runtime__V1__ContainerStatus *s = ctr_status(id);
		if (s->state == want)
			return s;
		if (now_ms() > deadline) {
			print_error("container %s still %s after %d s, wanted %s\n", id, ctr_state_name(s->state),
				    WAIT_MS / 1000, ctr_state_name(want));
			fail();
		}
		sleep_ms(50);
	}
}

/* Check an EXITED status: exit code, reason, finished_at >= started_at >= created_at > 0. */
static void assert_exited(const Runtime__V1__ContainerStatus *s, int code, const char *reason)
{
	if (s->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED || s->exit_code != code ||
	    strcmp(s->reason, reason) != 0)
		print_error("container %s: %s exit_code %d reason \"%s\" message \"%s\"; wanted EXITED %d \"%s\"\n", s->id,
			    ctr_state_name(s->state), s->exit_code, s->reason, s->message, code, reason);
	assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_int_equal(s->exit_code, code);
	assert_string_equal(s->reason, reason);
	assert_true(s->created_at > 0);
	assert_true(s->started_at >= s->created_at);
	assert_true(s->finished_at >= s->started_at);
}

static Runtime__V1__ListContainersResponse *list_ctrs(Runtime__V1__ContainerFilter *filter)
{
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	req.filter = filter;
	return call_ok(RT "ListContainers", &req.base, &runtime__v1__list_containers_response__descriptor);
}

/* The ids of a list are exactly the NULL-terminated varargs (as a set). */
static int ids_match(const char *what, char **got, size_t n, va_list ap)
{
	const char *want[16];
	size_t nw = 0;
	const char *s;
	while ((s = va_arg(ap, const char *)) != NULL && nw < 16)
		want[nw++] = s;
	int ok = n == nw;
	for (size_t i = 0; ok && i < nw; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			found |= strcmp(got[j], want[i]) == 0;
		ok = found;
	}
	if (!ok) {
		print_error("%s: got %zu [", what, n);
		for (size_t j = 0; j < n; j++)
			print_error(" %.12s", got[j]);
		print_error(" ], wanted %zu [", nw);
		for (size_t i = 0; i < nw; i++)
			print_error(" %.12s", want[i]);
		print_error(" ]\n");
	}
	return ok;
}

static void assert_ctr_list(const char *what, Runtime__V1__ContainerFilter *filter, ...)
{
	Runtime__V1__ListContainersResponse *r = list_ctrs(filter);
	char **ids = talloc((r->n_containers + 1) * sizeof *ids);
	for (size_t i = 0; i < r->n_containers; i++)
		ids[i] = r->containers[i]->id;
	va_list ap;
	va_start(ap, filter);
	int ok = ids_match(what, ids, r->n_containers, ap);
	va_end(ap);
	assert_true(ok);
}

static void assert_pod_list(const char *what, Runtime__V1__PodSandboxFilter *filter, ...)
{
	Runtime__V1__ListPodSandboxResponse *r = list_pods(filter);
	char **ids = talloc((r->n_items + 1) * sizeof *ids);
	for (size_t i = 0; i < r->n_items; i++)
		ids[i] = r->items[i]->id;
	va_list ap;
	va_start(ap, filter);
	int ok = ids_match(what, ids, r->n_items, ap);
	va_end(ap);
	assert_true(ok);
}

/* --- the same call from several threads at once --- */

struct par_call {
	const char *method;
	const ProtobufCMessage *req;
	const ProtobufCMessageDescriptor *rd;
	int timeout_ms;
	pthread_barrier_t *go;
	grpc_status_code st;
	ProtobufCMessage *resp;
	char *details;
};

/* One call on its own client once every thread is ready; nothing shared but the request. */
static void *par_main(void *arg)
{
	struct par_call *p = arg;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	pthread_barrier_wait(p->go);
	p->st = c ? cri_client_call(c, p->method, p->req, p->rd, &p->resp, &p->details, p->timeout_ms)
		  : GRPC_STATUS_RESOURCE_EXHAUSTED;
	cri_client_free(c);
	return NULL;
}

/*
 * PAR_N threads make the same call at the same time.  Each must answer OK, or `also` (a code a
 * concurrent call may get while another one is in flight; GRPC_STATUS_OK for none); at least one
 * must answer OK.  The responses (owned; NULL where not OK).
 */
#define PAR_N 4
static ProtobufCMessage **parallel_ok(const char *method, const ProtobufCMessage *req,
				      const ProtobufCMessageDescriptor *rd, int timeout_ms, grpc_status_code also)
{
	struct par_call calls[PAR_N];
	pthread_t th[PAR_N];
	pthread_barrier_t go;
	assert_int_equal(pthread_barrier_init(&go, NULL, PAR_N), 0);
	for (int i = 0; i < PAR_N; i++) {
		calls[i] = (struct par_call){ method, req, rd, timeout_ms, &go, GRPC_STATUS_UNKNOWN, NULL, NULL };
		assert_int_equal(pthread_create(&th[i], NULL, par_main, &calls[i]), 0);
	}
	for (int i = 0; i < PAR_N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	ProtobufCMessage **out = talloc(PAR_N * sizeof *out);
	int bad = 0, ok = 0;
	for (int i = 0; i < PAR_N; i++) {
		own(calls[i].resp, free_msg);
		own(calls[i].details, free);
		out[i] = calls[i].st == GRPC_STATUS_OK ? calls[i].resp : NULL;
		ok += calls[i].st == GRPC_STATUS_OK;
		if (calls[i].st != GRPC_STATUS_OK && calls[i].st != also) {
			print_error("%s (call %d of %d at once): %s: %s\n", method, i + 1, PAR_N,
				    cri_status_name(calls[i].st), calls[i].details ? calls[i].details : "");
			bad = 1;
		}
	}
	assert_false(bad);
	assert_true(ok > 0);
	return out;
}

/* --- verbose info --- */

/* The JSON object among ContainerStatus(verbose) info values that has "pid". */
static json_t *ctr_info(const char *id)
{
	Runtime__V1__ContainerStatusResponse *r = ctr_status_v(id, 1);
	for (size_t i = 0; i < r->n_info; i++) {
		json_t *j = json_loads(r->info[i]->value, 0, NULL);
		if (!j)
			continue;
		own(j, free_json);
		if (json_is_object(j) && json_object_get(j, "pid"))
			return j;
	}
	print_error("ContainerStatus %s verbose: no info value is a JSON object with \"pid\" (%zu entries:", id, r->n_info);
	for (size_t i = 0; i < r->n_info; i++)
		print_error(" %s", r->info[i]->key);
	print_error(")\n");
	fail();
	return NULL;
}

/* The container's init process (host PID) as verbose info reports it. */
static pid_t ctr_pid(const char *id)
{
	json_t *pid = json_object_get(ctr_info(id), "pid");
	assert_true(json_is_integer(pid));
	assert_true(json_integer_value(pid) > 0);
	return (pid_t)json_integer_value(pid);
}

/* An OCI runtime spec (an object with "ociVersion" and "process") anywhere inside j. */
static json_t *find_spec(json_t *j)
{
	if (json_is_object(j)) {
		if (json_is_string(json_object_get(j, "ociVersion")) && json_is_object(json_object_get(j, "process")))
			return j;
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			json_t *s = find_spec(v);
			if (s)
				return s;
		}
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			json_t *s = find_spec(v);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* 1 if pid no longer runs: no such process, or only a zombie left. */
static int proc_gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	char *s = harness_slurp(p);
	if (!s)
		return 1;
	char *rp = strrchr(s, ')');
	int dead = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	free(s);
	return dead;
}

/* ------------------------------------------------------------------------------------------ */
/* container logs                                                                             */

static const char *log_path_of(const char *name)
{
	return tprintf("%s/%s.log", fx.logdir, name);
}

/* Poll the file at path until it contains needle; its content. */
static char *wait_log(const char *path, const char *needle)
{
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		char *s = harness_slurp(path);
		if (s && strstr(s, needle)) {
			own(s, free);
			return s;
		}
		if (now_ms() > deadline) {
			own(s, free);
			print_error("%s: no \"%s\" after %d s; it holds:\n%s\n", path, needle, WAIT_MS / 1000,
				    s ? s : "(no file)");
			fail();
		}
		free(s);
		sleep_ms(50);
	}
}

/* The rest of the line after the first "key=" in log (owned), or NULL. */
static char *log_value(const char *log, const char *key)
{
	const char *k = tprintf("%s=", key);
	const char *p = strstr(log, k);
	if (!p)
		return NULL;
	p += strlen(k);
	size_t n = strcspn(p, "\n");
	char *v = talloc(n + 1);
	memcpy(v, p, n);
	return v;
}

/*
 * Every line of the CRI log at path matches "<RFC3339Nano> <stdout|stderr> <F|P> <msg>", and
 * `stream` F msg is a line of it for each (stream, msg) pair of the NULL-terminated varargs.
 */
static void assert_cri_log(const char *path, ...)
{
	char *text = harness_slurp(path);
	own(text, free);
	if (!text)
		print_error("%s: cannot read the container log\n", path);
	assert_non_null(text);
	regex_t re;
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
				 " (stdout|stderr) (F|P)( .*)?$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	int bad = 0;
	char *save = NULL, *copy = strdup(text);
	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (regexec(&re, line, 0, NULL, 0) != 0) {
			print_error("%s: line not in CRI log format: \"%s\"\n", path, line);
			bad = 1;
		}
	free(copy);
	regfree(&re);
	va_list ap;
	va_start(ap, path);
	const char *stream;
	while ((stream = va_arg(ap, const char *)) != NULL) {
		const char *msg = va_arg(ap, const char *);
		/* " <stream> F <msg>\n" after a timestamp, as a whole line */
		const char *want = tprintf(" %s F %s\n", stream, msg);
		const char *p = strstr(text, want);
		if (!p) {
			print_error("%s: no line \"<time>%s\"; the log:\n%s\n", path, want, text);
			bad = 1;
		}
	}
	va_end(ap);
	assert_false(bad);
}

/* ------------------------------------------------------------------------------------------ */
/* what is left on the host                                                                   */

/* Mount points at or under dir (from /proc/self/mountinfo), newline-separated, owned ("" = none). */
static char *mounts_under(const char *dir)
{
	char *mi = harness_slurp("/proc/self/mountinfo");
	own(mi, free);
	assert_non_null(mi);
	size_t dl = strlen(dir);
	char *out = talloc(strlen(mi) + 1), *o = out;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent major:minor root mount-point ... */
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strncmp(mp, dir, dl) == 0 && (mp[dl] == '/' || mp[dl] == '\0'))
			o += sprintf(o, "%s\n", mp);
	}
	return out;
}

/* The daemon's runc root (runtime.h: <state>/runc). */
static const char *runc_root(void)
{
	return tprintf("%s/runc", fx.d.state);
}

/* IDs runc knows in the daemon's runc root, newline-separated, owned ("" = none or no root). */
static char *runc_ids(void)
{
	struct stat st;
	if (stat(runc_root(), &st) < 0)
		return (char *)"";
	char out[PATH_MAX + 16];
	snprintf(out, sizeof out, "%s/runc-list.out", fx.d.dir);
	unlink(out);
	const char *argv[] = { RUNC, "--root", runc_root(), "list", "-q", NULL };
	int rc = harness_run(argv, out);
	char *s = harness_slurp(out);
	own(s, free);
	unlink(out);
	if (rc != 0) {
		print_error("runc list: exit %d: %s\n", rc, s ? s : "");
		return (char *)"";
	}
	return s ? s : (char *)"";
}

/* Number of subdirectories of dir (0 if it does not exist); their names printed. */
static int subdirs(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			print_error("left behind: %s\n", p);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Number of entries of dir (0 if it does not exist); their names printed. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		print_error("left behind: %s/%s\n", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Files anywhere under dir whose name contains one of the NULL-terminated ids; printed. */
static int files_naming(const char *dir, const char *const *ids)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		for (size_t i = 0; ids[i]; i++)
			if (strstr(e->d_name, ids[i])) {
				print_error("left behind: %s\n", p);
				n++;
				break;
			}
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			n += files_naming(p, ids);
	}
	closedir(d);
	return n;
}

/* Processes (not zombies) whose command line mentions id (conmon has "-c <id>"); printed. */
static int procs_naming(const char *id)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char p[300];
		if (snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name) >= (int)sizeof p)
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[8192];
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, id) && !proc_gone(atoi(e->d_name))) {
			print_error("still running: pid %s: %s\n", e->d_name, buf);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Poll until no process mentions id (conmon exits after its container). */
static void wait_no_procs(const char *id)
{
	int64_t deadline = now_ms() + WAIT_MS;
	while (procs_naming(id) > 0) {
		if (now_ms() > deadline) {
			print_error("processes of %s still run after %d s\n", id, WAIT_MS / 1000);
			fail();
		}
		sleep_ms(200);
	}
}

/* Every cgroup hierarchy (directory, not symlink) under /sys/fs/cgroup: its path + cgparent. */
static int cgroup_dirs(char out[][PATH_MAX], int max)
{
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] == '.')
			continue;
		char p[300];
		struct stat st;
		if (snprintf(p, sizeof p, "/sys/fs/cgroup/%s", e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			snprintf(out[n++], PATH_MAX, "%s%s", p, fx.cgparent);
	}
	closedir(d);
	return n;
}

/* Remove a cgroup directory tree (children first, rmdir only). */
static void cgroup_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			cgroup_rmtree(p);
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		fprintf(stderr, "teardown: rmdir %s: %s\n", dir, strerror(errno));
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

static int down(void **state);

/* Group: build the base image and push it to a registry on 127.0.0.1. */
static int group_up(void **state)
{
	(void)state;
	memset(&grp, 0, sizeof grp);
	grp.reg.pid = -1;
	if (tmpdir_make(grp.layout, sizeof grp.layout, "layout") < 0) {
		grp.layout[0] = '\0';
		return -1;
	}
	if (testimg_build(grp.layout, TESTIMG_BASE, NULL, &grp.img) < 0 || testreg_start(&grp.reg, TESTREG_OPEN) < 0 ||
	    testreg_push(&grp.reg, grp.layout, &grp.img, MIRROR_REPO "busybox", "1.0") < 0) {
		testreg_stop(&grp.reg);
		tmpdir_remove(grp.layout);
		return -1;
	}
	return 0;
}

static int group_down(void **state)
{
	(void)state;
	testreg_stop(&grp.reg);
	if (grp.layout[0])
		tmpdir_remove(grp.layout);
	grp.layout[0] = '\0';
	return 0;
}

static int start_daemon(void)
{
	if (harness_start(&fx.d, NULL, NULL) == 0)
		return 0;
	char *log = harness_slurp(fx.d.log);
	fprintf(stderr, "daemon did not start; its log:\n%s\n", log ? log : "(none)");
	free(log);
	return -1;
}

/* Setup: directories, a daemon with the registry as `*` mirror, the test image pulled. */
static int up(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof fx);
	fx.d.pid = -1;
	unsigned char r[6];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	snprintf(fx.cgparent, sizeof fx.cgparent, "/litecri-test-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
		 r[5]);
	ssize_t n = readlink("/proc/self/ns/net", fx.host_netns, sizeof fx.host_netns - 1);
	if (n <= 0)
		return -1;
	if (tmpdir_make(fx.logdir, sizeof fx.logdir, "logs") < 0 ||
	    tmpdir_make(fx.hostdir, sizeof fx.hostdir, "hostdir") < 0 || harness_init(&fx.d) < 0)
		goto fail;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/greeting", fx.hostdir);
	FILE *f = fopen(p, "we");
	if (!f || fputs("hello from the host\n", f) < 0 || fclose(f) != 0)
		goto fail;
	f = fopen(fx.d.config, "we");
	if (!f)
		goto fail;
	fprintf(f, "[registry \"*\"]\nmirror = http://127.0.0.1:%d insecure\nupstream = false\n", grp.reg.port);
	if (fclose(f) != 0 || start_daemon() < 0)
		goto fail;
	/* the pull goes through the API so that image_ref is what PullImage returned */
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = IMAGE;
	req.image = &spec;
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(IMG "PullImage", &req.base, &runtime__v1__pull_image_response__descriptor, &resp,
				  &details, PULL_TIMEOUT_MS);
	if (st != GRPC_STATUS_OK) {
		fprintf(stderr, "PullImage %s: %s: %s\n", IMAGE, cri_status_name(st), details);
		goto fail;
	}
	snprintf(fx.image_ref, sizeof fx.image_ref, "%s", ((Runtime__V1__PullImageResponse *)resp)->image_ref);
	return 0;
fail:
	down(NULL);
	return -1;
}

/* Through the API, with no assertions: remove every container and pod the daemon knows. */
static void api_cleanup(void)
{
	ProtobufCMessage *resp;
	char *details;
	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	if (rpc(RT "ListContainers", &lc.base, &runtime__v1__list_containers_response__descriptor, &resp, &details,
		CALL_TIMEOUT_MS) == GRPC_STATUS_OK) {
		Runtime__V1__ListContainersResponse *r = (Runtime__V1__ListContainersResponse *)resp;
		for (size_t i = 0; i < r->n_containers; i++) {
			grpc_status_code st = remove_ctr_st(r->containers[i]->id, &details);
			if (st != GRPC_STATUS_OK)
				fprintf(stderr, "teardown: RemoveContainer %s: %s: %s\n", r->containers[i]->id,
					cri_status_name(st), details);
		}
	}
	Runtime__V1__ListPodSandboxRequest lp = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	if (rpc(RT "ListPodSandbox", &lp.base, &runtime__v1__list_pod_sandbox_response__descriptor, &resp, &details,
		CALL_TIMEOUT_MS) == GRPC_STATUS_OK) {
		Runtime__V1__ListPodSandboxResponse *r = (Runtime__V1__ListPodSandboxResponse *)resp;
		for (size_t i = 0; i < r->n_items; i++) {
			const char *id = r->items[i]->id;
			grpc_status_code st = pod_call("StopPodSandbox", id, &details);
			if (st == GRPC_STATUS_OK)
				st = pod_call("RemovePodSandbox", id, &details);
			if (st != GRPC_STATUS_OK)
				fprintf(stderr, "teardown: Stop/RemovePodSandbox %s: %s: %s\n", id, cri_status_name(st),
					details);
		}
	}
}

/* After the daemon stopped: delete what runc still runs, unmount what is mounted under the
 * daemon's directory, remove the test's cgroups. */
static void safety_net(void)
{
	if (fx.d.dir[0]) {
		char *ids = strdup(runc_ids());
		char *save = NULL;
		for (char *id = ids ? strtok_r(ids, "\n", &save) : NULL; id; id = strtok_r(NULL, "\n", &save)) {
			fprintf(stderr, "teardown: runc container %s left; deleting it\n", id);
			char out[PATH_MAX + 16];
			snprintf(out, sizeof out, "%s/runc-delete.out", fx.d.dir);
			const char *argv[] = { RUNC, "--root", runc_root(), "delete", "--force", id, NULL };
			harness_run(argv, out);
		}
		free(ids);
		for (int round = 0; round < 8; round++) {
			char *m = mounts_under(fx.d.dir);
			if (!*m)
				break;
			/* innermost (latest) first */
			char *lines[512];
			int n = 0;
			char *save2 = NULL;
			for (char *l = strtok_r(m, "\n", &save2); l && n < 512; l = strtok_r(NULL, "\n", &save2))
				lines[n++] = l;
			for (int i = n - 1; i >= 0; i--) {
				if (round == 0)
					fprintf(stderr, "teardown: unmounting %s\n", lines[i]);
				umount2(lines[i], MNT_DETACH);
			}
		}
	}
	if (fx.cgparent[0]) {
		char dirs[32][PATH_MAX];
		int n = cgroup_dirs(dirs, 32);
		for (int i = 0; i < n; i++)
			cgroup_rmtree(dirs[i]);
	}
}

/* 1 if the file at path holds a sanitizer report (printed), for the ASan/UBSan build. */
static int sanitizer_report(const char *path)
{
	char *text = harness_slurp(path);
	int bad = text && (strstr(text, "AddressSanitizer") || strstr(text, "LeakSanitizer") ||
			   strstr(text, "runtime error:"));
	if (bad)
		print_error("sanitizer report in %s:\n%s\n", path, text);
	free(text);
	return bad;
}

/* Remove every pod and container, stop the daemon, clean whatever is left; remove directories.
 * Fails the test if the daemon reported a sanitizer error. */
static int down(void **state)
{
	(void)state;
	int rc = 0;
	if (fx.d.pid > 0) {
		api_cleanup();
		harness_stop(&fx.d);
	}
	safety_net();
	if (fx.d.dir[0] && sanitizer_report(fx.d.log))
		rc = -1;
	if (getenv("LITECRI_TEST_KEEP_LOG") && fx.d.dir[0]) {
		char *log = harness_slurp(fx.d.log);
		fprintf(stderr, "---- daemon log ----\n%s\n---- end ----\n", log ? log : "");
		free(log);
	}
	harness_cleanup(&fx.d);
	if (fx.logdir[0])
		tmpdir_remove(fx.logdir);
	if (fx.hostdir[0])
		tmpdir_remove(fx.hostdir);
	fx.logdir[0] = fx.hostdir[0] = '\0';
	free_owned();
	int n = harness_reap_all();
	if (n)
		print_error("the test left %d daemon(s) or directories behind; removed\n", n);
	return rc;
}

/* The tail of the daemon log (for failure reports). */
static void print_daemon_log_tail(void)
{
	char *log = harness_slurp(fx.d.log);
	if (!log)
		return;
	size_t len = strlen(log);
	print_error("---- daemon log (last 6000 bytes) ----\n%s\n----\n", len > 6000 ? log + len - 6000 : log);
	free(log);
}

/*
 * Once every pod is removed: no process mentions any of ids (NULL-terminated pod and container
 * IDs; conmon has its container's ID on its command line), no mounts under the daemon's root and
 * state (rootfs, /dev/shm, pinned namespaces), no runc containers, no cgroups below the test's
 * cgroup parent in any hierarchy, nothing in <root|state>/<containers|sandboxes>, no file naming
 * one of ids anywhere under root or state (exit files, conmon's files).
 */
static void assert_nothing_left(const char *const *ids)
{
	for (size_t i = 0; ids[i]; i++)
		wait_no_procs(ids[i]);
	int left = 0;
	char *m = mounts_under(fx.d.root);
	if (*m) {
		print_error("mounts left under %s:\n%s", fx.d.root, m);
		left++;
	}
	m = mounts_under(fx.d.state);
	if (*m) {
		print_error("mounts left under %s:\n%s", fx.d.state, m);
		left++;
	}
	char *runc = runc_ids();
	if (*runc) {
		print_error("runc containers left in %s:\n%s", runc_root(), runc);
		left++;
	}
	char cg[32][PATH_MAX];
	int n = cgroup_dirs(cg, 32);
	for (int i = 0; i < n; i++)
		left += subdirs(cg[i]);
	const char *dirs[] = { "containers", "sandboxes" };
	for (size_t i = 0; i < 2; i++) {
		left += entries(tprintf("%s/%s", fx.d.root, dirs[i]));
		left += entries(tprintf("%s/%s", fx.d.state, dirs[i]));
	}
	left += files_naming(fx.d.root, ids);
	left += files_naming(fx.d.state, ids);
	if (left)
		print_daemon_log_tail();
	assert_int_equal(left, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

static const char *const POD_LABELS[] = { "app", "lifecycle", "tier", "test", NULL };

/* A pod with two containers through its whole life: every status field, hostname, DNS, shared
 * network namespace, private PID namespaces, a bind mount, the logs. */
static void test_pod_two_containers(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-two", POD_LABELS);
	char *pod = run_pod(pc);

	Runtime__V1__PodSandboxStatus *ps = pod_status(pod);
	assert_int_equal(ps->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	assert_true(ps->created_at > 0);
	assert_non_null(ps->metadata);
	assert_string_equal(ps->metadata->name, "pod-two");
	assert_string_equal(ps->metadata->uid, pc->metadata->uid);
	assert_string_equal(ps->metadata->namespace_, POD_NAMESPACE);
	assert_int_equal(ps->metadata->attempt, 0);
	assert_true(map_equal("pod labels", ps->labels, ps->n_labels, POD_LABELS));
	assert_true(map_equal("pod annotations", ps->annotations, ps->n_annotations, POD_ANNOTATIONS));
	assert_non_null(ps->linux);
	assert_non_null(ps->linux->namespaces);
	assert_non_null(ps->linux->namespaces->options);
	assert_int_equal(ps->linux->namespaces->options->network, RUNTIME__V1__NAMESPACE_MODE__POD);
	assert_int_equal(ps->linux->namespaces->options->ipc, RUNTIME__V1__NAMESPACE_MODE__POD);
	assert_int_equal(ps->linux->namespaces->options->pid, RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	assert_pod_list("ListPodSandbox", NULL, pod, NULL);

	static const char *const L1[] = { "role", "first", "litecri.test/pair", "yes", NULL };
	static const char *const L2[] = { "role", "second", "litecri.test/pair", "yes", NULL };
	const char *script1 = "echo \"hostname=$(hostname)\"; echo \"etc-hostname=$(cat /etc/hostname)\";"
			      " echo \"netns=$(readlink /proc/self/ns/net)\"; echo \"pid1=$$\";"
			      " echo resolv-begin; cat /etc/resolv.conf; echo resolv-end; cat /mnt/host/greeting;"
			      " if touch /mnt/host/written 2>/dev/null; then echo mount=rw; else echo mount=ro; fi;"
			      " echo to-stderr >&2; echo c1-ready; " SLEEP_FOREVER;
	const char *script2 = "echo \"netns=$(readlink /proc/self/ns/net)\"; echo \"pid1=$$\"; echo c2-ready; " SLEEP_FOREVER;
	Runtime__V1__ContainerConfig *cc1 = ctr_config("first", script1, L1);
	Runtime__V1__Mount *m = TNEW(Runtime__V1__Mount, runtime__v1__mount__descriptor);
	m->container_path = "/mnt/host";
	m->host_path = fx.hostdir;
	m->readonly = 1;
	cc1->mounts = talloc(sizeof *cc1->mounts);
	cc1->mounts[0] = m;
	cc1->n_mounts = 1;
	Runtime__V1__ContainerConfig *cc2 = ctr_config("second", script2, L2);

	char *c1 = create_ctr(pod, cc1, pc);
	char *c2 = create_ctr(pod, cc2, pc);
	assert_string_not_equal(c1, c2);
	assert_string_not_equal(c1, pod);
	for (int i = 0; i < 2; i++) {
		Runtime__V1__ContainerStatus *s = ctr_status(i ? c2 : c1);
		if (s->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED)
			print_error("created container %s is %s\n", s->id, ctr_state_name(s->state));
		assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
		assert_true(s->created_at > 0);
		assert_int_equal(s->started_at, 0);
		assert_int_equal(s->finished_at, 0);
	}
	assert_ctr_list("ListContainers", NULL, c1, c2, NULL);

	start_ctr(c1);
	start_ctr(c2);
	Runtime__V1__ContainerStatus *s1 = ctr_status(c1);
	Runtime__V1__ContainerStatus *s2 = ctr_status(c2);
	assert_int_equal(s1->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_int_equal(s2->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_true(s1->started_at > 0);
	assert_true(s1->started_at >= s1->created_at);
	assert_int_equal(s1->finished_at, 0);
	assert_non_null(s1->metadata);
	assert_string_equal(s1->metadata->name, "first");
	assert_int_equal(s1->metadata->attempt, 0);
	assert_non_null(s1->image);
	assert_string_equal(s1->image->image, IMAGE);
	assert_string_equal(s1->image_ref, fx.image_ref);
	assert_string_equal(s1->image_id, fx.image_ref);
	assert_true(map_equal("container labels", s1->labels, s1->n_labels, L1));
	assert_true(map_equal("container annotations", s1->annotations, s1->n_annotations, CTR_ANNOTATIONS("first")));
	int found_mount = 0;
	for (size_t i = 0; i < s1->n_mounts; i++)
		if (strcmp(s1->mounts[i]->container_path, "/mnt/host") == 0) {
			found_mount = 1;
			assert_string_equal(s1->mounts[i]->host_path, fx.hostdir);
			assert_true(s1->mounts[i]->readonly);
		}
	if (!found_mount)
		print_error("ContainerStatus %s: no mount /mnt/host among %zu\n", c1, s1->n_mounts);
	assert_true(found_mount);
	assert_string_equal(s1->log_path, log_path_of("first"));
	assert_string_equal(s2->log_path, log_path_of("second"));

	/* verbose: the init PID and the runtime spec */
	json_t *info = ctr_info(c1);
	pid_t pid1 = ctr_pid(c1);
	assert_false(proc_gone(pid1));
	json_t *spec = find_spec(info);
	if (!spec)
		print_error("ContainerStatus %s verbose info has no runtime spec: %s\n", c1,
			    json_dumps(info, JSON_COMPACT)); /* leaked on purpose: the test fails */
	assert_non_null(spec);
	json_t *args = json_object_get(json_object_get(spec, "process"), "args");
	assert_int_equal(json_array_size(args), 3);
	assert_string_equal(json_string_value(json_array_get(args, 0)), "/bin/sh");
	assert_string_equal(json_string_value(json_array_get(args, 2)), script1);

	/* what the containers saw */
	char *log1 = wait_log(log_path_of("first"), "c1-ready");
	char *log2 = wait_log(log_path_of("second"), "c2-ready");
	const char *v;
	assert_non_null(v = log_value(log1, "hostname"));
	assert_string_equal(v, "pod-two");
	assert_non_null(v = log_value(log1, "etc-hostname"));
	assert_string_equal(v, "pod-two");
	assert_non_null(v = log_value(log1, "pid1"));
	assert_string_equal(v, "1"); /* pid=CONTAINER: each has its own PID namespace */
	assert_non_null(v = log_value(log2, "pid1"));
	assert_string_equal(v, "1");
	assert_non_null(v = log_value(log1, "mount"));
	assert_string_equal(v, "ro");
	assert_non_null(strstr(log1, "stdout F hello from the host\n"));
	const char *ns1 = log_value(log1, "netns"), *ns2 = log_value(log2, "netns");
	assert_non_null(ns1);
	assert_non_null(ns2);
	assert_true(strncmp(ns1, "net:[", 5) == 0);
	assert_string_equal(ns1, ns2);           /* one network namespace for the pod */
	assert_string_not_equal(ns1, fx.host_netns); /* not the host's */
	/* resolv.conf from dns_config */
	assert_non_null(strstr(log1, " stdout F nameserver 127.0.0.10\n"));
	assert_non_null(strstr(log1, " stdout F nameserver 127.0.0.11\n"));
	assert_non_null(strstr(log1, " stdout F search svc.cluster.local cluster.local\n"));
	assert_non_null(strstr(log1, " stdout F options ndots:5 timeout:2\n"));
	assert_cri_log(log_path_of("first"), "stdout", "c1-ready", "stderr", "to-stderr", NULL);

	/* stop, remove, and the pod after them */
	stop_ctr(c1, 0);
	assert_exited(ctr_status(c1), 137, "Error");
	assert_true(proc_gone(pid1));
	stop_ctr(c2, 0);
	assert_exited(ctr_status(c2), 137, "Error");
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	remove_ctr(c1);
	remove_ctr(c2);
	assert_ctr_not_found(c1);
	assert_ctr_not_found(c2);
	assert_ctr_list("ListContainers after removal", NULL, NULL);
	stop_pod(pod);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	remove_pod(pod);
	assert_pod_not_found(pod);
	assert_pod_list("ListPodSandbox after removal", NULL, NULL);
}

/* Exit codes and reasons: exit 0, exit 1, killed with timeout 0, a TERM handler's exit code;
 * output in CRI log format. */
static void test_exit_codes(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-exits", POD_LABELS);
	char *pod = run_pod(pc);
	char *ok = create_ctr(pod, ctr_config("ok", "exit 0", NULL), pc);
	char *err = create_ctr(pod, ctr_config("err", "echo out-line; echo err-line >&2; exit 1", NULL), pc);
	char *killed = create_ctr(pod, ctr_config("killed", "echo killed-ready; " SLEEP_FOREVER, NULL), pc);
	char *term = create_ctr(pod,
				ctr_config("term", "trap 'echo got-term; exit 7' TERM; echo term-ready;"
						   " while true; do sleep 0.1; done", NULL),
				pc);
	start_ctr(ok);
	start_ctr(err);
	start_ctr(killed);
	start_ctr(term);

	assert_exited(wait_ctr_state(ok, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 0, "Completed");
	assert_exited(wait_ctr_state(err, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 1, "Error");
	assert_cri_log(log_path_of("err"), "stdout", "out-line", "stderr", "err-line", NULL);

	wait_log(log_path_of("killed"), "killed-ready");
	assert_int_equal(ctr_status(killed)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	stop_ctr(killed, 0);
	assert_exited(ctr_status(killed), 137, "Error");

	/* the stop signal comes first: a TERM handler decides the exit code */
	wait_log(log_path_of("term"), "term-ready");
	stop_ctr(term, 60);
	assert_exited(ctr_status(term), 7, "Error");
	assert_cri_log(log_path_of("term"), "stdout", "term-ready", "stdout", "got-term", NULL);

	/* stopping an exited container changes nothing */
	stop_ctr(ok, 0);
	assert_exited(ctr_status(ok), 0, "Completed");
}

/* A StopContainer run in a thread of its own (no test-owned allocations: own() is not for threads). */
struct bg_stop {
	const char *endpoint, *id;
	int64_t timeout;
	grpc_status_code st;
	int done; /* set (atomically) when the call returned */
};

static void *bg_stop_main(void *p)
{
	struct bg_stop *b = p;
	struct cri_client *c = cri_client_new(b->endpoint);
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)b->id;
	req.timeout = b->timeout;
	ProtobufCMessage *resp = NULL;
	char *msg = NULL;
	b->st = c ? cri_client_call(c, RT "StopContainer", &req.base, &runtime__v1__stop_container_response__descriptor,
				    &resp, &msg, (int)b->timeout * 1000 + 2 * CALL_TIMEOUT_MS)
		  : GRPC_STATUS_RESOURCE_EXHAUSTED;
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(msg);
	cri_client_free(c);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Status reads never wait behind a Stop in progress (lessons.md 6): while a StopContainer waits
 * out its 60 s timeout on a process that ignores SIGTERM, ContainerStatus and ListContainers
 * answer (and say RUNNING); a RemoveContainer then force-stops the container, and the waiting
 * Stop returns OK.
 */
static void test_status_during_stop(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-busy", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(
		pod, ctr_config("slow", "trap 'echo got-term' TERM; echo slow-ready; while true; do sleep 1; done", NULL),
		pc);
	start_ctr(c);
	wait_log(log_path_of("slow"), "slow-ready");
	struct bg_stop b = { .endpoint = fx.d.endpoint, .id = c, .timeout = 60 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bg_stop_main, &b), 0);
	wait_log(log_path_of("slow"), "got-term"); /* the Stop is under way */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
		assert_true(list_ctrs(NULL)->n_containers >= 1);
		assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	}
	int stop_done = __atomic_load_n(&b.done, __ATOMIC_SEQ_CST);
	remove_ctr(c); /* force-stops it: the waiting Stop sees the exit */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(stop_done); /* every read above was answered while the Stop was in flight */
	assert_int_equal(b.st, GRPC_STATUS_OK);
	Runtime__V1__ContainerStatusResponse *gone;
	char *details;
	assert_int_equal(ctr_status_st(c, 0, &gone, &details), GRPC_STATUS_NOT_FOUND);
}

/* Threads of the daemon process (/proc/<pid>/status). */
static int daemon_threads(void)
{
	char *st = harness_slurp(tprintf("/proc/%d/status", (int)fx.d.pid));
	assert_non_null(st);
	const char *t = strstr(st, "\nThreads:");
	int n = t ? atoi(t + 9) : -1;
	free(st);
	assert_true(n > 0);
	return n;
}

/*
 * The worker pool grows while slow calls wait (six StopContainer calls waiting out their timeout at
 * once) and shrinks back once they are done (extra workers end after LITECRI_WORKER_IDLE_S = 1 s
 * idle, set in main for every daemon of this test).
 */
static void test_pool_grows_and_shrinks(void **state)
{
	(void)state;
	enum { N = 6 };
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-pool", POD_LABELS);
	char *pod = run_pod(pc);
	char *ids[N];
	struct bg_stop b[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		const char *name = tprintf("w%d", i);
		ids[i] = create_ctr(pod, ctr_config(name, "trap 'echo got-term' TERM; echo w-ready; while true; do sleep 1; done",
						     NULL), pc);
		start_ctr(ids[i]);
		wait_log(log_path_of(name), "w-ready");
	}
	for (int i = 0; i < N; i++) {
		b[i] = (struct bg_stop){ .endpoint = fx.d.endpoint, .id = ids[i], .timeout = 3 };
		assert_int_equal(pthread_create(&th[i], NULL, bg_stop_main, &b[i]), 0);
	}
	for (int i = 0; i < N; i++)
		wait_log(log_path_of(tprintf("w%d", i)), "got-term"); /* all six Stops are waiting now */
	int busy = daemon_threads();
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(b[i].st, GRPC_STATUS_OK);
		assert_exited(ctr_status(ids[i]), 137, "Error");
	}
	/* six workers were busy, the default pool is 4: at least two end once idle */
	int64_t deadline = now_ms() + 30000;
	int now;
	while ((now = daemon_threads()) > busy - 2 && now_ms() < deadline)
		usleep(100 * 1000);
	if (now > busy - 2)
		print_error("daemon threads: %d while six Stops waited, still %d after 30 s\n", busy, now);
	assert_true(now <= busy - 2);
	/* and the pool still serves slow calls */
	for (int i = 0; i < N; i++)
		remove_ctr(ids[i]);
}

/* A container whose memory limit the cgroup OOM killer enforces ends EXITED, 137, OOMKilled. */
static void test_oom_killed(void **state)
{
	(void)state;
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0) {
		char *ctl = harness_slurp("/sys/fs/cgroup/cgroup.controllers");
		int v2 = ctl && strstr(ctl, "memory");
		free(ctl);
		if (!v2)
			skip(); /* no memory controller on this host */
	}
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-oom", POD_LABELS);
	char *pod = run_pod(pc);
	/* the string doubles until the 32 MiB limit stops it */
	Runtime__V1__ContainerConfig *cc = ctr_config("hog", "echo hog-ready; x=0123456789; while true; do x=$x$x; done", NULL);
	cc->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	cc->linux->resources = TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	cc->linux->resources->memory_limit_in_bytes = 32 << 20;
	char *hog = create_ctr(pod, cc, pc);
	start_ctr(hog);
	assert_exited(wait_ctr_state(hog, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 137, "OOMKilled");
	/* and an ordinary exit in the same pod is not mistaken for one */
	char *ok = create_ctr(pod, ctr_config("fine", "exit 0", NULL), pc);
	start_ctr(ok);
	assert_exited(wait_ctr_state(ok, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 0, "Completed");
}

/* StopContainer with timeout 2 on a process that ignores SIGTERM: SIGKILL after the timeout,
 * and the call returns only once the process is gone. */
static void test_stop_ignoring_term(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-stubborn", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(
		pod, ctr_config("stubborn", "trap '' TERM; echo stubborn-ready; while true; do sleep 1; done", NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("stubborn"), "stubborn-ready");
	pid_t pid = ctr_pid(c);
	assert_false(proc_gone(pid));
	int64_t t0 = now_ms();
	stop_ctr(c, 2);
	int64_t took = now_ms() - t0;
	/* the timeout was granted (a lower bound only: how fast it goes after is not measured) */
	if (took < 1500)
		print_error("StopContainer with timeout 2 returned after %lld ms\n", (long long)took);
	assert_true(took >= 1500);
	/* no polling: the call returned, so it is over */
	Runtime__V1__ContainerStatus *s = ctr_status(c);
	assert_exited(s, 137, "Error");
	if (!proc_gone(pid))
		print_error("StopContainer returned while pid %d still runs\n", (int)pid);
	assert_true(proc_gone(pid));
}

/* RemoveContainer of a running container force-stops and removes it. */
static void test_remove_running(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-rm", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("runner", "echo runner-ready; " SLEEP_FOREVER, NULL), pc);
	char *keep = create_ctr(pod, ctr_config("keeper", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	start_ctr(keep);
	wait_log(log_path_of("runner"), "runner-ready");
	pid_t pid = ctr_pid(c);
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	remove_ctr(c);
	assert_ctr_not_found(c);
	assert_ctr_list("ListContainers after removing the running one", NULL, keep, NULL);
	assert_true(proc_gone(pid));
	wait_no_procs(c); /* conmon too */
	char *ids = runc_ids();
	if (strstr(ids, c))
		print_error("runc still knows %s after RemoveContainer\n", c);
	assert_null(strstr(ids, c));
	/* the other container is untouched */
	assert_int_equal(ctr_status(keep)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	/* and removing it again is fine */
	remove_ctr(c);
}

/* Stop/Remove of objects that do not exist succeed; their status is NOT_FOUND; twice is fine. */
static void test_missing_and_twice(void **state)
{
	(void)state;
	char *nope = random_id();
	stop_ctr(nope, 0);
	remove_ctr(nope);
	stop_pod(nope);
	remove_pod(nope);
	assert_ctr_not_found(nope);
	assert_pod_not_found(nope);

	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-twice", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("twice", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	stop_ctr(c, 0);
	stop_ctr(c, 0);
	assert_exited(ctr_status(c), 137, "Error");
	remove_ctr(c);
	remove_ctr(c);
	assert_ctr_not_found(c);
	stop_pod(pod);
	stop_pod(pod);
	remove_pod(pod);
	remove_pod(pod);
	assert_pod_not_found(pod);
	/* and then the objects are missing: still fine */
	stop_ctr(c, 0);
	stop_pod(pod);
}

/* Filter helpers: a container/pod filter with the given parts ("" / -1 / NULL = unset). */
static Runtime__V1__ContainerFilter *cfilter(const char *id, int state, const char *pod, const char *const *labels)
{
	Runtime__V1__ContainerFilter *f = TNEW(Runtime__V1__ContainerFilter, runtime__v1__container_filter__descriptor);
	f->id = (char *)id;
	f->pod_sandbox_id = (char *)pod;
	if (state >= 0) {
		f->state = TNEW(Runtime__V1__ContainerStateValue, runtime__v1__container_state_value__descriptor);
		f->state->state = state;
	}
	f->label_selector = map_of(&runtime__v1__container_filter__label_selector_entry__descriptor, labels,
				   &f->n_label_selector);
	return f;
}

static Runtime__V1__PodSandboxFilter *pfilter(const char *id, int state, const char *const *labels)
{
	Runtime__V1__PodSandboxFilter *f = TNEW(Runtime__V1__PodSandboxFilter, runtime__v1__pod_sandbox_filter__descriptor);
	f->id = (char *)id;
	if (state >= 0) {
		f->state = TNEW(Runtime__V1__PodSandboxStateValue, runtime__v1__pod_sandbox_state_value__descriptor);
		f->state->state = state;
	}
	f->label_selector = map_of(&runtime__v1__pod_sandbox_filter__label_selector_entry__descriptor, labels,
				   &f->n_label_selector);
	return f;
}

#define LBL(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ListContainers / ListPodSandbox filters: id, ID prefix, state, sandbox, labels, combinations. */
static void test_list_filters(void **state)
{
	(void)state;
	enum { CREATED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED,
	       RUNNING = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
	       EXITED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED,
	       READY = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY,
	       NOTREADY = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY };
	Runtime__V1__PodSandboxConfig *pca = pod_config("pod-a", LBL("app", "a", "tier", "web", "env", "test"));
	Runtime__V1__PodSandboxConfig *pcb = pod_config("pod-b", LBL("app", "b", "tier", "web", "env", "test"));
	char *pa = run_pod(pca);
	char *pb = run_pod(pcb);
	char *a1 = create_ctr(pa, ctr_config("a1", SLEEP_FOREVER, LBL("role", "x", "app", "a")), pca);
	char *a2 = create_ctr(pa, ctr_config("a2", SLEEP_FOREVER, LBL("role", "y", "app", "a")), pca);
	char *b1 = create_ctr(pb, ctr_config("b1", "exit 0", LBL("role", "x", "app", "b")), pcb);
	start_ctr(a1);
	start_ctr(b1);
	wait_ctr_state(b1, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	const char *a1_prefix = tprintf("%.12s", a1);
	const char *pa_prefix = tprintf("%.12s", pa);
	const char *none = random_id();

	/* containers */
	assert_ctr_list("no filter", NULL, a1, a2, b1, NULL);
	assert_ctr_list("empty filter", cfilter("", -1, "", NULL), a1, a2, b1, NULL);
	assert_ctr_list("id", cfilter(a1, -1, "", NULL), a1, NULL);
	assert_ctr_list("id prefix", cfilter(a1_prefix, -1, "", NULL), a1, NULL);
	assert_ctr_list("missing id", cfilter(none, -1, "", NULL), NULL);
	assert_ctr_list("state RUNNING", cfilter("", RUNNING, "", NULL), a1, NULL);
	assert_ctr_list("state CREATED", cfilter("", CREATED, "", NULL), a2, NULL);
	assert_ctr_list("state EXITED", cfilter("", EXITED, "", NULL), b1, NULL);
	assert_ctr_list("sandbox a", cfilter("", -1, pa, NULL), a1, a2, NULL);
	assert_ctr_list("sandbox b", cfilter("", -1, pb, NULL), b1, NULL);
	assert_ctr_list("missing sandbox", cfilter("", -1, none, NULL), NULL);
	assert_ctr_list("role=x", cfilter("", -1, "", LBL("role", "x")), a1, b1, NULL);
	assert_ctr_list("role=x app=a", cfilter("", -1, "", LBL("role", "x", "app", "a")), a1, NULL);
	assert_ctr_list("role=x app=c", cfilter("", -1, "", LBL("role", "x", "app", "c")), NULL);
	assert_ctr_list("unknown label", cfilter("", -1, "", LBL("nope", "x")), NULL);
	assert_ctr_list("sandbox a + RUNNING", cfilter("", RUNNING, pa, NULL), a1, NULL);
	assert_ctr_list("sandbox a + EXITED", cfilter("", EXITED, pa, NULL), NULL);
	assert_ctr_list("id a1 + sandbox b", cfilter(a1, -1, pb, NULL), NULL);
	assert_ctr_list("id a1 + role=y", cfilter(a1, -1, "", LBL("role", "y")), NULL);
	assert_ctr_list("sandbox a + role=y", cfilter("", -1, pa, LBL("role", "y")), a2, NULL);
	assert_ctr_list("id prefix + sandbox a + RUNNING + role=x",
			cfilter(a1_prefix, RUNNING, pa, LBL("role", "x", "app", "a")), a1, NULL);

	/* what ListContainers says of one */
	Runtime__V1__ListContainersResponse *r = list_ctrs(cfilter(a1, -1, "", NULL));
	assert_int_equal(r->n_containers, 1);
	Runtime__V1__Container *c = r->containers[0];
	assert_string_equal(c->pod_sandbox_id, pa);
	assert_non_null(c->metadata);
	assert_string_equal(c->metadata->name, "a1");
	assert_non_null(c->image);
	assert_string_equal(c->image->image, IMAGE);
	assert_string_equal(c->image_ref, fx.image_ref);
	assert_int_equal(c->state, RUNNING);
	assert_true(c->created_at > 0);
	assert_true(map_equal("listed labels", c->labels, c->n_labels, LBL("role", "x", "app", "a")));
	assert_true(map_equal("listed annotations", c->annotations, c->n_annotations, CTR_ANNOTATIONS("a1")));

	/* pods */
	assert_pod_list("no filter", NULL, pa, pb, NULL);
	assert_pod_list("empty filter", pfilter("", -1, NULL), pa, pb, NULL);
	assert_pod_list("id", pfilter(pa, -1, NULL), pa, NULL);
	assert_pod_list("id prefix", pfilter(pa_prefix, -1, NULL), pa, NULL);
	assert_pod_list("missing id", pfilter(none, -1, NULL), NULL);
	assert_pod_list("READY", pfilter("", READY, NULL), pa, pb, NULL);
	assert_pod_list("NOTREADY", pfilter("", NOTREADY, NULL), NULL);
	assert_pod_list("app=a", pfilter("", -1, LBL("app", "a")), pa, NULL);
	assert_pod_list("tier=web env=test", pfilter("", -1, LBL("tier", "web", "env", "test")), pa, pb, NULL);
	assert_pod_list("tier=web app=b", pfilter("", -1, LBL("tier", "web", "app", "b")), pb, NULL);
	assert_pod_list("app=c", pfilter("", -1, LBL("app", "c")), NULL);
	stop_pod(pb);
	assert_pod_list("READY after a stop", pfilter("", READY, NULL), pa, NULL);
	assert_pod_list("NOTREADY after a stop", pfilter("", NOTREADY, NULL), pb, NULL);
	assert_pod_list("id a + NOTREADY", pfilter(pa, NOTREADY, NULL), NULL);
	assert_pod_list("app=b + NOTREADY", pfilter("", NOTREADY, LBL("app", "b")), pb, NULL);
	assert_pod_list("id prefix + READY + app=a", pfilter(pa_prefix, READY, LBL("app", "a")), pa, NULL);
	assert_pod_list("tier=web + READY", pfilter("", READY, LBL("tier", "web")), pa, NULL);
	Runtime__V1__ListPodSandboxResponse *lp = list_pods(pfilter(pa, -1, NULL));
	assert_int_equal(lp->n_items, 1);
	assert_non_null(lp->items[0]->metadata);
	assert_string_equal(lp->items[0]->metadata->name, "pod-a");
	assert_true(lp->items[0]->created_at > 0);
	assert_true(map_equal("listed pod labels", lp->items[0]->labels, lp->items[0]->n_labels,
			      LBL("app", "a", "tier", "web", "env", "test")));
	assert_true(map_equal("listed pod annotations", lp->items[0]->annotations, lp->items[0]->n_annotations,
			      POD_ANNOTATIONS));
}

/* A retried create (identical request) returns the same ID; the same name with another config is
 * ALREADY_EXISTS naming the holder. */
static void test_create_retried(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-retry", POD_LABELS);
	char *pod = run_pod(pc);
	char *again = run_pod(pc);
	assert_string_equal(again, pod);
	assert_pod_list("pods after a retried RunPodSandbox", NULL, pod, NULL);

	Runtime__V1__PodSandboxConfig *other = pod_config("pod-retry", LBL("app", "lifecycle", "tier", "other"));
	char *id, *details;
	grpc_status_code st = run_pod_st(other, &id, &details);
	if (st != GRPC_STATUS_ALREADY_EXISTS)
		print_error("RunPodSandbox with the same metadata, other labels: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_ALREADY_EXISTS);
	if (!strstr(details, pod))
		print_error("ALREADY_EXISTS message \"%s\" does not name %s\n", details, pod);
	assert_non_null(strstr(details, pod));

	Runtime__V1__ContainerConfig *cc = ctr_config("retried", SLEEP_FOREVER, LBL("k", "v"));
	char *c = create_ctr(pod, cc, pc);
	char *c_again = create_ctr(pod, cc, pc);
	assert_string_equal(c_again, c);
	assert_ctr_list("containers after a retried CreateContainer", NULL, c, NULL);

	/* another command under the same name */
	st = create_ctr_st(pod, ctr_config("retried", "exec sleep 99999", LBL("k", "v")), pc, &id, &details);
	if (st != GRPC_STATUS_ALREADY_EXISTS)
		print_error("CreateContainer same name, other command: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_ALREADY_EXISTS);
	if (!strstr(details, c))
		print_error("ALREADY_EXISTS message \"%s\" does not name %s\n", details, c);
	assert_non_null(strstr(details, c));
	/* another label under the same name */
	st = create_ctr_st(pod, ctr_config("retried", SLEEP_FOREVER, LBL("k", "other")), pc, &id, &details);
	if (st != GRPC_STATUS_ALREADY_EXISTS)
		print_error("CreateContainer same name, other label: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_ALREADY_EXISTS);
	assert_non_null(strstr(details, c));
	assert_ctr_list("containers after the refusals", NULL, c, NULL);

	/* the one created is a working container */
	start_ctr(c);
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
}

/* Retries that overlap (kubelet gave up waiting and asked again while the first call still runs):
 * the same request from several clients at once makes one object, and every caller gets its ID;
 * concurrent stops all succeed; of concurrent removes at least one. */
static void test_concurrent_retries(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-race", POD_LABELS);
	Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	rp.config = pc;
	ProtobufCMessage **r = parallel_ok(RT "RunPodSandbox", &rp.base, &runtime__v1__run_pod_sandbox_response__descriptor,
					   CALL_TIMEOUT_MS, GRPC_STATUS_OK);
	char *pod = ((Runtime__V1__RunPodSandboxResponse *)r[0])->pod_sandbox_id;
	for (int i = 1; i < PAR_N; i++)
		assert_string_equal(((Runtime__V1__RunPodSandboxResponse *)r[i])->pod_sandbox_id, pod);
	assert_pod_list("pods after concurrent RunPodSandbox", NULL, pod, NULL);

	Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cr.pod_sandbox_id = pod;
	cr.config = ctr_config("raced", SLEEP_FOREVER, LBL("k", "v"));
	cr.sandbox_config = pc;
	r = parallel_ok(RT "CreateContainer", &cr.base, &runtime__v1__create_container_response__descriptor,
			CALL_TIMEOUT_MS, GRPC_STATUS_OK);
	char *c = ((Runtime__V1__CreateContainerResponse *)r[0])->container_id;
	for (int i = 1; i < PAR_N; i++)
		assert_string_equal(((Runtime__V1__CreateContainerResponse *)r[i])->container_id, c);
	assert_ctr_list("containers after concurrent CreateContainer", NULL, c, NULL);

	start_ctr(c);
	Runtime__V1__StopContainerRequest sc = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	sc.container_id = c;
	sc.timeout = 0;
	parallel_ok(RT "StopContainer", &sc.base, &runtime__v1__stop_container_response__descriptor, 2 * CALL_TIMEOUT_MS,
		    GRPC_STATUS_OK);
	assert_exited(ctr_status(c), 137, "Error");

	/* Concurrent removes: the daemon may refuse the ones that find a removal in flight
	 * (FAILED_PRECONDITION, as containerd does); once the winner returned the object is gone. */
	char *c2 = create_ctr(pod, ctr_config("raced-rm", SLEEP_FOREVER, NULL), pc);
	start_ctr(c2);
	Runtime__V1__RemoveContainerRequest rc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rc.container_id = c2;
	parallel_ok(RT "RemoveContainer", &rc.base, &runtime__v1__remove_container_response__descriptor,
		    2 * CALL_TIMEOUT_MS, GRPC_STATUS_FAILED_PRECONDITION);
	assert_ctr_not_found(c2);

	Runtime__V1__StopPodSandboxRequest sp = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	sp.pod_sandbox_id = pod;
	parallel_ok(RT "StopPodSandbox", &sp.base, &runtime__v1__stop_pod_sandbox_response__descriptor,
		    3 * CALL_TIMEOUT_MS, GRPC_STATUS_OK);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rm.pod_sandbox_id = pod;
	parallel_ok(RT "RemovePodSandbox", &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor,
		    3 * CALL_TIMEOUT_MS, GRPC_STATUS_FAILED_PRECONDITION);
	assert_pod_not_found(pod);
	assert_ctr_not_found(c);
	const char *const all[] = { pod, c, c2, NULL };
	assert_nothing_left(all);
}

/* After StopPodSandbox + RemovePodSandbox of a pod with a running container nothing is left: no
 * mounts, no pinned namespaces, no runc containers, no cgroups, no directories, no processes. */
static void test_remove_leaves_nothing(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-gone", POD_LABELS);
	char *pod = run_pod(pc);
	char *run = create_ctr(pod, ctr_config("running", "echo running-ready; " SLEEP_FOREVER, NULL), pc);
	char *idle = create_ctr(pod, ctr_config("idle", SLEEP_FOREVER, NULL), pc);
	start_ctr(run);
	wait_log(log_path_of("running"), "running-ready");
	pid_t pid = ctr_pid(run);
	/* while it runs there are mounts, a runc container, cgroups */
	assert_true(*mounts_under(fx.d.dir) != '\0');
	assert_non_null(strstr(runc_ids(), run));
	const char *mem = tprintf("/sys/fs/cgroup/memory%s", fx.cgparent);
	struct stat st;
	if (stat(mem, &st) < 0)
		print_error("no cgroup %s for a running container of a pod with cgroup_parent %s\n", mem, fx.cgparent);
	assert_int_equal(stat(mem, &st), 0);

	stop_pod(pod);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	Runtime__V1__ContainerStatus *s = ctr_status(run);
	assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_true(proc_gone(pid));
	stop_pod(pod); /* as often as kubelet likes */
	stop_pod(pod);
	remove_pod(pod);
	assert_pod_not_found(pod);
	assert_ctr_not_found(run);
	assert_ctr_not_found(idle);
	assert_pod_list("pods", NULL, NULL);
	assert_ctr_list("containers", NULL, NULL);

	const char *const all[] = { pod, run, idle, NULL };
	assert_nothing_left(all);
	stop_pod(pod); /* and a removed pod can still be stopped */
}

/* RemovePodSandbox of a READY pod (no StopPodSandbox first) force-stops and removes its
 * containers, running or not, and leaves nothing either. */
static void test_remove_ready_pod(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-direct", POD_LABELS);
	char *pod = run_pod(pc);
	char *run = create_ctr(pod, ctr_config("running", "echo running-ready; " SLEEP_FOREVER, NULL), pc);
	char *done = create_ctr(pod, ctr_config("done", "exit 0", NULL), pc);
	char *idle = create_ctr(pod, ctr_config("idle", SLEEP_FOREVER, NULL), pc);
	start_ctr(run);
	start_ctr(done);
	wait_log(log_path_of("running"), "running-ready");
	wait_ctr_state(done, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	pid_t pid = ctr_pid(run);
	remove_pod(pod);
	assert_true(proc_gone(pid));
	assert_pod_not_found(pod);
	assert_ctr_not_found(run);
	assert_ctr_not_found(done);
	assert_ctr_not_found(idle);
	assert_pod_list("pods", NULL, NULL);
	assert_ctr_list("containers", NULL, NULL);
	const char *const all[] = { pod, run, done, idle, NULL };
	assert_nothing_left(all);
	remove_pod(pod);
	stop_pod(pod);
}

/*
 * StopPodSandbox and RemovePodSandbox succeed when the pod's namespaces are already gone (an
 * operator or a crash unmounted the pins), and leave nothing behind.
 */
static void test_namespaces_already_gone(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-nsgone", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("inside", "echo inside-ready; " SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("inside"), "inside-ready");
	static const char *const kinds[] = { "net", "ipc", "uts" };
	for (size_t i = 0; i < 3; i++) {
		char *pin = tprintf("%s/sandboxes/%s/ns/%s", fx.d.state, pod, kinds[i]);
		assert_int_equal(umount2(pin, MNT_DETACH), 0);
		assert_int_equal(unlink(pin), 0);
	}
	stop_pod(pod);
	stop_pod(pod);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	remove_pod(pod);
	assert_pod_not_found(pod);
	const char *const all[] = { pod, c, NULL };
	assert_nothing_left(all);
}

/* The daemon restarts (SIGTERM or SIGKILL) under running containers: they keep running, exits
 * while it was down are recorded, and it stops them afterwards. */
static void restart_case(int crash)
{
	Runtime__V1__PodSandboxConfig *pc = pod_config(crash ? "pod-crash" : "pod-restart", POD_LABELS);
	char *pod = run_pod(pc);
	char *keep = create_ctr(pod, ctr_config("survivor", "echo survivor-ready; " SLEEP_FOREVER, NULL), pc);
	char *victim = create_ctr(pod, ctr_config("victim", "echo victim-ready; " SLEEP_FOREVER, NULL), pc);
	char *created = create_ctr(pod, ctr_config("unstarted", SLEEP_FOREVER, NULL), pc);
	start_ctr(keep);
	start_ctr(victim);
	wait_log(log_path_of("survivor"), "survivor-ready");
	wait_log(log_path_of("victim"), "victim-ready");
	Runtime__V1__ContainerStatus *before = ctr_status(keep);
	pid_t keep_pid = ctr_pid(keep), victim_pid = ctr_pid(victim);

	if (crash) {
		assert_int_equal(harness_kill(&fx.d), 0);
	} else {
		int rc = harness_stop(&fx.d);
		if (rc != 0)
			print_daemon_log_tail();
		assert_int_equal(rc, 0);
	}
	/* conmon keeps the containers alive without the daemon */
	assert_false(proc_gone(keep_pid));
	assert_false(proc_gone(victim_pid));
	/* one dies while nobody watches (the test started it through the API: its PID, SIGKILL) */
	assert_int_equal(kill(victim_pid, SIGKILL), 0);
	int64_t deadline = now_ms() + WAIT_MS;
	while (!proc_gone(victim_pid)) {
		assert_true(now_ms() < deadline);
		sleep_ms(50);
	}
	assert_int_equal(start_daemon(), 0);

	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	Runtime__V1__ContainerStatus *after = ctr_status(keep);
	if (after->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
		print_daemon_log_tail();
	assert_int_equal(after->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_int_equal(after->started_at, before->started_at);
	assert_int_equal(after->created_at, before->created_at);
	assert_int_equal(ctr_pid(keep), keep_pid);
	assert_exited(wait_ctr_state(victim, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 137, "Error");
	assert_int_equal(ctr_status(created)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	assert_ctr_list("containers after the restart", NULL, keep, victim, created, NULL);

	stop_ctr(keep, 0);
	assert_exited(ctr_status(keep), 137, "Error");
	assert_true(proc_gone(keep_pid));
	/* the unstarted one still starts */
	start_ctr(created);
	assert_int_equal(ctr_status(created)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	stop_pod(pod);
	remove_pod(pod);
	assert_ctr_list("containers after removing the pod", NULL, NULL);
	/* what the pod had before the restart is found and removed by the new daemon too */
	const char *const all[] = { pod, keep, victim, created, NULL };
	assert_nothing_left(all);
}

static void test_restart_sigterm(void **state)
{
	(void)state;
	restart_case(0);
}

static void test_restart_sigkill(void **state)
{
	(void)state;
	restart_case(1);
}

/* gRPC codes of refused requests. */
static void test_grpc_codes(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-codes", POD_LABELS);
	char *pod = run_pod(pc);
	char *id, *details;
	grpc_status_code st;

	/* a sandbox that does not exist */
	st = create_ctr_st(random_id(), ctr_config("orphan", SLEEP_FOREVER, NULL), pc, &id, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("CreateContainer in a missing sandbox: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);

	/* an image that is not there */
	Runtime__V1__ContainerConfig *cc = ctr_config("noimage", SLEEP_FOREVER, NULL);
	cc->image->image = UPSTREAM "not-pulled:1.0";
	st = create_ctr_st(pod, cc, pc, &id, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("CreateContainer with a missing image: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);

	/* no name */
	cc = ctr_config("", SLEEP_FOREVER, NULL);
	st = create_ctr_st(pod, cc, pc, &id, &details);
	if (st != GRPC_STATUS_INVALID_ARGUMENT)
		print_error("CreateContainer with an empty name: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	cc->metadata = NULL;
	st = create_ctr_st(pod, cc, pc, &id, &details);
	if (st != GRPC_STATUS_INVALID_ARGUMENT)
		print_error("CreateContainer without metadata: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	Runtime__V1__PodSandboxConfig *nameless = pod_config("", POD_LABELS);
	st = run_pod_st(nameless, &id, &details);
	if (st != GRPC_STATUS_INVALID_ARGUMENT)
		print_error("RunPodSandbox with an empty name: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_ctr_list("containers after the refusals", NULL, NULL);
	assert_pod_list("pods after the refusals", NULL, pod, NULL);

	/* starting a running container */
	char *c = create_ctr(pod, ctr_config("started", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	st = start_ctr_st(c, &details);
	if (st != GRPC_STATUS_FAILED_PRECONDITION)
		print_error("StartContainer on a running container: %s (%s)\n", cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
}

/* ReopenContainerLog: after kubelet renames the log, the container's output goes to a new file. */
static void test_reopen_log(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-reopen", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("ticker", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done", NULL),
			     pc);
	start_ctr(c);
	const char *path = log_path_of("ticker");
	wait_log(path, "tick-3\n");
	const char *rotated = tprintf("%s.1", path);
	assert_int_equal(rename(path, rotated), 0);
	Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	req.container_id = c;
	call_ok(RT "ReopenContainerLog", &req.base, &runtime__v1__reopen_container_log_response__descriptor);
	wait_log(path, "stdout F tick-");
	assert_cri_log(path, NULL);
	assert_cri_log(rotated, "stdout", "tick-0", NULL);
}

int main(void)
{
	/* Every daemon of this test ends extra pool workers after 1 s idle (the default is 60 s). */
	setenv("LITECRI_WORKER_IDLE_S", "1", 1);
	/* Only 127.0.0.1 is ever contacted: no proxy may redirect the daemon's or our requests. */
	const char *proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
		unsetenv(proxies[i]);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	grpc_init();
	if (getenv("LITECRI_TEST_FILTER")) /* e.g. LITECRI_TEST_FILTER='test_restart*' */
		cmocka_set_test_filter(getenv("LITECRI_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pod_two_containers, up, down),
		cmocka_unit_test_setup_teardown(test_exit_codes, up, down),
		cmocka_unit_test_setup_teardown(test_oom_killed, up, down),
		cmocka_unit_test_setup_teardown(test_namespaces_already_gone, up, down),
		cmocka_unit_test_setup_teardown(test_status_during_stop, up, down),
		cmocka_unit_test_setup_teardown(test_pool_grows_and_shrinks, up, down),
		cmocka_unit_test_setup_teardown(test_stop_ignoring_term, up, down),
		cmocka_unit_test_setup_teardown(test_remove_running, up, down),
		cmocka_unit_test_setup_teardown(test_missing_and_twice, up, down),
		cmocka_unit_test_setup_teardown(test_list_filters, up, down),
		cmocka_unit_test_setup_teardown(test_create_retried, up, down),
		cmocka_unit_test_setup_teardown(test_concurrent_retries, up, down),
		cmocka_unit_test_setup_teardown(test_remove_leaves_nothing, up, down),
		cmocka_unit_test_setup_teardown(test_remove_ready_pod, up, down),
		cmocka_unit_test_setup_teardown(test_restart_sigterm, up, down),
		cmocka_unit_test_setup_teardown(test_restart_sigkill, up, down),
		cmocka_unit_test_setup_teardown(test_grpc_codes, up, down),
		cmocka_unit_test_setup_teardown(test_reopen_log, up, down),
	};
	int failed = cmocka_run_group_tests_name("lifecycle", tests, group_up, group_down);
	grpc_shutdown();
	return failed ? 1 : 0;
}
