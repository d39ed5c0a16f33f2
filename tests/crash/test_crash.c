/*
 * test_crash.c — the crash harness: a real daemon SIGKILLed at random instants while
 * kubelet-like client loops create, start, exec, update, stop and remove pods and containers
 * over its real socket; after every restart and at the end, the invariants of the core idea
 * (DEVELOPERS.md) are checked.
 *
 * Loops (LITECRI_CRASH_CLIENTS, default 3, plus one that pulls, checks and removes a second
 * image), each on its own connection: every iteration runs a
 * pod with one container through RunPodSandbox, CreateContainer, StartContainer, ExecSync,
 * UpdateContainerResources (every other one), StopContainer, RemoveContainer, StopPodSandbox,
 * RemovePodSandbox, and re-sends some creates on purpose.  A call that meets the daemon down
 * (UNAVAILABLE) is sent again, identical, once it is back — as kubelet does; any other status
 * is a violation unless the interrupted attempt may have taken effect and the object's status
 * shows it did (a Start retried after a crash finding the container RUNNING).  Each loop also
 * keeps one "anchor" container running the whole time.
 *
 * The killer (this thread) waits a random 50..2500 ms, holds the loops at their next call,
 * SIGKILLs the daemon mid-call, and restarts it — one restart in four is killed again 0..60 ms
 * into startup recovery.  Once the daemon serves, with the loops held, it checks:
 *   - PRAGMA integrity_check is ok and foreign_key_check finds nothing;
 *   - no transition flag is set (creating/starting/stopping/removing/updating);
 *   - every RUNNING container's process is alive and has the pid it had at the last check;
 *     the anchors' pids never change;
 *   - an exit record (code, time, reason) once written never changes.
 * The loops check that retried identical creates return the original ID (one object per name).
 * At the end everything is removed through the API, and nothing may be left: no rows, runtime
 * containers, conmon or container processes, mounts, directories, attach links, exit files,
 * namespace pins or cgroups.
 *
 * LITECRI_CRASH_KILLS (default 50) sets the number of kills; tests/crash/run --kills N runs it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../integration/podfix.h"

#define MAX_CLIENTS 8
#define MAX_IDS 20000
#define MAX_TRACK 20000

static int n_kills = 50, n_clients = 3;

/* --- the gate: the killer holds the loops at their next call while it restarts and checks --- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int held, in_call, finish;

static void gate_enter(void)
{
	pthread_mutex_lock(&gate_mu);
	while (held)
		pthread_cond_wait(&gate_cv, &gate_mu);
	in_call++;
	pthread_mutex_unlock(&gate_mu);
}

static void gate_leave(void)
{
	pthread_mutex_lock(&gate_mu);
	in_call--;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static void hold(int on)
{
	pthread_mutex_lock(&gate_mu);
	held = on;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* Wait until no loop is inside a call (the killed daemon's calls have all returned). */
static void wait_no_calls(void)
{
	pthread_mutex_lock(&gate_mu);
	while (in_call > 0)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

/* --- what the loops report --- */

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static int violations;
static long calls_ok, calls_retried;
static char *all_ids[MAX_IDS + 1];
static size_t n_all_ids;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&rec_mu);
	violations++;
	fprintf(stderr, "VIOLATION: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	pthread_mutex_unlock(&rec_mu);
	va_end(ap);
}

static void remember_id(const char *id)
{
	pthread_mutex_lock(&rec_mu);
	int known = 0;
	for (size_t i = 0; i < n_all_ids && !known; i++)
		known = !strcmp(all_ids[i], id);
	if (!known && n_all_ids < MAX_IDS)
		all_ids[n_all_ids++] = strdup(id);
	pthread_mutex_unlock(&rec_mu);
}

/* --- one loop --- */

struct loop {
	int n;
	pthread_t th;
	struct cri_client *cl;
	unsigned seed;
	long iterations;
	char anchor_pod[65], anchor_ctr[65];
};

/*
 * One call, sent again while the daemon is down (UNAVAILABLE), on a fresh connection each time
 * (a channel's reconnect backoff would outlast the restart).  *interrupted is set when an attempt
 * met the daemon's death: that attempt may or may not have taken effect.
 */
static grpc_status_code call(struct loop *l, const char *method, const ProtobufCMessage *req,
			     const ProtobufCMessageDescriptor *rd, ProtobufCMessage **resp, char **details,
			     int *interrupted)
{
	for (;;) {
		gate_enter();
		free(*details);
		*details = NULL;
		grpc_status_code st = cri_client_call(l->cl, method, req, rd, resp, details, CALL_TIMEOUT_MS);
		gate_leave();
		if (st != GRPC_STATUS_UNAVAILABLE) {
			pthread_mutex_lock(&rec_mu);
			calls_ok += st == GRPC_STATUS_OK;
			pthread_mutex_unlock(&rec_mu);
			return st;
		}
		*interrupted = 1;
		pthread_mutex_lock(&rec_mu);
		calls_retried++;
		pthread_mutex_unlock(&rec_mu);
		cri_client_free(l->cl);
		l->cl = cri_client_new(fx.d.endpoint);
		if (!l->cl)
			return GRPC_STATUS_RESOURCE_EXHAUSTED;
		usleep(20 * 1000);
	}
}

/* A call that must answer OK (after retries); 0, or -1 after reporting a violation. */
static int must(struct loop *l, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		ProtobufCMessage **resp, const char *what)
{
	char *details = NULL;
	int interrupted = 0;
	*resp = NULL;
	grpc_status_code st = call(l, method, req, rd, resp, &details, &interrupted);
	if (st != GRPC_STATUS_OK)
		violation("loop %d: %s %s: %s: %s%s", l->n, method, what, cri_status_name(st), details ? details : "",
			  interrupted ? " (after an interrupted attempt)" : "");
	free(details);
	return st == GRPC_STATUS_OK ? 0 : -1;
}

static void msg_free(ProtobufCMessage *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* A pod config as podfix's pod_config, built on the loop's own storage (no shared test state). */
struct podcfg {
	Runtime__V1__PodSandboxConfig c;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__LinuxPodSandboxConfig lin;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__PodSandboxConfig__LabelsEntry label;
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[1];
	char name[64], uid[160];
};

static void podcfg_init(struct podcfg *p, const char *name)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->uid, sizeof p->uid, "uid-%.60s%.64s", name, fx.cgparent + strlen("/litecri-test"));
	p->c = (Runtime__V1__PodSandboxConfig)RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	p->md = (Runtime__V1__PodSandboxMetadata)RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	p->lin = (Runtime__V1__LinuxPodSandboxConfig)RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	/* clang takes the _INIT macro for a use of the deprecated fields */
	runtime__v1__linux_sandbox_security_context__init(&p->sc);
	p->ns = (Runtime__V1__NamespaceOption)RUNTIME__V1__NAMESPACE_OPTION__INIT;
	p->label = (Runtime__V1__PodSandboxConfig__LabelsEntry)RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	p->md.name = p->name;
	p->md.uid = p->uid;
	p->md.namespace_ = POD_NAMESPACE;
	p->c.metadata = &p->md;
	p->c.hostname = p->name;
	p->c.log_directory = fx.logdir;
	p->label.key = "litecri.test/crash";
	p->label.value = p->name;
	p->labels[0] = &p->label;
	p->c.labels = p->labels;
	p->c.n_labels = 1;
	p->ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	p->ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	p->sc.namespace_options = &p->ns;
	p->lin.security_context = &p->sc;
	p->lin.cgroup_parent = fx.cgparent;
	p->c.linux = &p->lin;
}

struct ctrcfg {
	Runtime__V1__ContainerConfig c;
	Runtime__V1__ContainerMetadata md;
	Runtime__V1__ImageSpec image;
	char *cmd[3];
	char name[64], log[80];
};

static void ctrcfg_init(struct ctrcfg *k, const char *name)
{
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->log, sizeof k->log, "%s.log", name);
	k->c = (Runtime__V1__ContainerConfig)RUNTIME__V1__CONTAINER_CONFIG__INIT;
	k->md = (Runtime__V1__ContainerMetadata)RUNTIME__V1__CONTAINER_METADATA__INIT;
	k->image = (Runtime__V1__ImageSpec)RUNTIME__V1__IMAGE_SPEC__INIT;
	k->md.name = k->name;
	k->image.image = IMAGE;
	k->cmd[0] = "/bin/sh";
	k->cmd[1] = "-c";
	k->cmd[2] = SLEEP_FOREVER;
	k->c.metadata = &k->md;
	k->c.image = &k->image;
	k->c.command = k->cmd;
	k->c.n_command = 3;
	k->c.log_path = k->log;
}

/* RunPodSandbox; with `again`, the identical request once more, which must return the same ID. */
static int run_pod_l(struct loop *l, struct podcfg *p, int again, char out[65])
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &p->c;
	ProtobufCMessage *resp;
	if (must(l, RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp,
		 p->name) < 0)
		return -1;
	snprintf(out, 65, "%s", ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id);
	msg_free(resp);
	remember_id(out);
	if (again) {
		if (must(l, RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp,
			 p->name) < 0)
			return -1;
		const char *id2 = ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id;
		if (strcmp(id2, out))
			violation("loop %d: a retried RunPodSandbox %s returned %s, the first %s", l->n, p->name, id2, out);
		msg_free(resp);
	}
	/* one pod of that name, whatever was interrupted */
	Runtime__V1__ListPodSandboxRequest lr = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sels[1] = { &sel };
	sel.key = p->label.key;
	sel.value = p->label.value;
	f.label_selector = sels;
	f.n_label_selector = 1;
	lr.filter = &f;
	if (must(l, RT "ListPodSandbox", &lr.base, &runtime__v1__list_pod_sandbox_response__descriptor, &resp,
		 p->name) == 0) {
		Runtime__V1__ListPodSandboxResponse *r = (void *)resp;
		if (r->n_items != 1 || strcmp(r->items[0]->id, out))
			violation("loop %d: pod %s: %zu pods listed for its name, wanted just %s", l->n, p->name,
				  r->n_items, out);
		msg_free(resp);
	}
	return 0;
}

static int create_ctr_l(struct loop *l, const char *pod, struct podcfg *p, struct ctrcfg *k, int again, char out[65])
{
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = (char *)pod;
	req.config = &k->c;
	req.sandbox_config = &p->c;
	ProtobufCMessage *resp;
	for (int i = 0; i <= again; i++) {
		if (must(l, RT "CreateContainer", &req.base, &runtime__v1__create_container_response__descriptor, &resp,
			 k->name) < 0)
			return -1;
		const char *id = ((Runtime__V1__CreateContainerResponse *)resp)->container_id;
		if (i == 0)
			snprintf(out, 65, "%s", id);
		else if (strcmp(id, out))
			violation("loop %d: a retried CreateContainer %s returned %s, the first %s", l->n, k->name, id, out);
		msg_free(resp);
	}
	remember_id(out);
	return 0;
}

/* ContainerStatus: the container's state, or -1 after reporting a violation. */
static int ctr_state_l(struct loop *l, const char *id)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp;
	if (must(l, RT "ContainerStatus", &req.base, &runtime__v1__container_status_response__descriptor, &resp, id) < 0)
		return -1;
	int s = ((Runtime__V1__ContainerStatusResponse *)resp)->status->state;
	msg_free(resp);
	return s;
}

static int start_ctr_l(struct loop *l, const char *id)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	int interrupted = 0;
	grpc_status_code st =
		call(l, RT "StartContainer", &req.base, &runtime__v1__start_container_response__descriptor, &resp, &details,
		     &interrupted);
	msg_free(resp);
	int rc = 0;
	if (st != GRPC_STATUS_OK) {
		/* an interrupted Start may have started it: then a retry is refused, and that is right */
		int s = interrupted && st == GRPC_STATUS_FAILED_PRECONDITION ? ctr_state_l(l, id) : -1;
		if (s != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
			violation("loop %d: StartContainer %s: %s: %s", l->n, id, cri_status_name(st), details ? details : "");
			rc = -1;
		}
	}
	free(details);
	return rc;
}

static int exec_l(struct loop *l, const char *id)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	req.cmd = (char *[]){ "/bin/sh", "-c", "echo crash-ok" };
	req.n_cmd = 3;
	req.timeout = 30;
	ProtobufCMessage *resp;
	if (must(l, RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor, &resp, id) < 0)
		return -1;
	Runtime__V1__ExecSyncResponse *r = (void *)resp;
	if (r->exit_code != 0 || r->stdout.len != 9 || memcmp(r->stdout.data, "crash-ok\n", 9))
		violation("loop %d: ExecSync in %s: exit %d, stdout %.*s", l->n, id, r->exit_code, (int)r->stdout.len,
			  (const char *)r->stdout.data);
	msg_free(resp);
	return 0;
}

static int update_l(struct loop *l, const char *id)
{
	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	res.cpu_shares = 2 + rand_r(&l->seed) % 1000;
	req.container_id = (char *)id;
	req.linux = &res;
	ProtobufCMessage *resp;
	int rc = must(l, RT "UpdateContainerResources", &req.base,
		      &runtime__v1__update_container_resources_response__descriptor, &resp, id);
	msg_free(resp);
	return rc;
}

static int id_call(struct loop *l, const char *rpc_name, const char *id, int64_t timeout)
{
	ProtobufCMessage *resp;
	char method[128];
	snprintf(method, sizeof method, RT "%s", rpc_name);
	int rc;
	if (!strcmp(rpc_name, "StopContainer")) {
		Runtime__V1__StopContainerRequest r = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		r.container_id = (char *)id;
		r.timeout = timeout;
		rc = must(l, method, &r.base, &runtime__v1__stop_container_response__descriptor, &resp, id);
	} else if (!strcmp(rpc_name, "RemoveContainer")) {
		Runtime__V1__RemoveContainerRequest r = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		r.container_id = (char *)id;
		rc = must(l, method, &r.base, &runtime__v1__remove_container_response__descriptor, &resp, id);
	} else if (!strcmp(rpc_name, "StopPodSandbox")) {
		Runtime__V1__StopPodSandboxRequest r = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = (char *)id;
		rc = must(l, method, &r.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &resp, id);
	} else {
		Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = (char *)id;
		rc = must(l, method, &r.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &resp, id);
	}
	msg_free(resp);
	return rc;
}

/* ImageStatus of ref: 1 if the daemon has it, 0 if not, -1 after reporting a violation. */
static int image_present(struct loop *l, const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	req.image = &spec;
	ProtobufCMessage *resp;
	if (must(l, IMG "ImageStatus", &req.base, &runtime__v1__image_status_response__descriptor, &resp, ref) < 0)
		return -1;
	int present = ((Runtime__V1__ImageStatusResponse *)resp)->image != NULL;
	msg_free(resp);
	return present;
}

/* The pull loop: PullImage, ImageStatus, RemoveImage of a three-layer image, over and over. */
static void *pull_loop_main(void *arg)
{
	struct loop *l = arg;
	static const char ref[] = UPSTREAM "multi:1.0";
	l->cl = cri_client_new(fx.d.endpoint);
	while (!__atomic_load_n(&finish, __ATOMIC_SEQ_CST) && l->cl) {
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		spec.image = (char *)ref;
		Runtime__V1__PullImageRequest pr = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
		pr.image = &spec;
		ProtobufCMessage *resp;
		if (must(l, IMG "PullImage", &pr.base, &runtime__v1__pull_image_response__descriptor, &resp, ref) < 0)
			break;
		msg_free(resp);
		if (image_present(l, ref) != 1) {
			violation("loop %d: %s missing after PullImage answered OK", l->n, ref);
			break;
		}
		Runtime__V1__RemoveImageRequest rr = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
		rr.image = &spec;
		if (must(l, IMG "RemoveImage", &rr.base, &runtime__v1__remove_image_response__descriptor, &resp, ref) < 0)
			break;
		msg_free(resp);
		if (image_present(l, ref) != 0) {
			violation("loop %d: %s still there after RemoveImage answered OK", l->n, ref);
			break;
		}
		l->iterations++;
	}
	cri_client_free(l->cl);
	l->cl = NULL;
	return NULL;
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	l->cl = cri_client_new(fx.d.endpoint);
	for (long it = 0; !__atomic_load_n(&finish, __ATOMIC_SEQ_CST) && l->cl; it++) {
		char name[64], pod[65], ctr[65];
		snprintf(name, sizeof name, "crash-%d-%ld", l->n, it);
		struct podcfg p;
		struct ctrcfg k;
		podcfg_init(&p, name);
		ctrcfg_init(&k, "c");
		int again = rand_r(&l->seed) % 4 == 0;
		if (run_pod_l(l, &p, again, pod) < 0 || create_ctr_l(l, pod, &p, &k, again, ctr) < 0)
			break;
		if (start_ctr_l(l, ctr) < 0 || exec_l(l, ctr) < 0 || (it % 2 && update_l(l, ctr) < 0))
			break;
		/* mostly no grace period: a re-sent Stop waits its grace period out again, and one longer
		 * than the gaps between kills would never finish */
		if (id_call(l, "StopContainer", ctr, rand_r(&l->seed) % 4 == 0) < 0)
			break;
		int s = ctr_state_l(l, ctr);
		if (s != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
			violation("loop %d: container %s is %s after StopContainer", l->n, ctr, ctr_state_name(s));
		if (id_call(l, "RemoveContainer", ctr, 0) < 0 || id_call(l, "StopPodSandbox", pod, 0) < 0 ||
		    id_call(l, "RemovePodSandbox", pod, 0) < 0)
			break;
		l->iterations++;
	}
	cri_client_free(l->cl);
	l->cl = NULL;
	return NULL;
}

/* --- the killer's checks --- */

struct seen {
	char id[65];
	int state;
	long long pid, exit_code, finished_at;
	char reason[32];
};
static struct seen track[MAX_TRACK];
static size_t n_track;

static struct seen *seen_find(const char *id)
{
	for (size_t i = 0; i < n_track; i++)
		if (!strcmp(track[i].id, id))
			return &track[i];
	if (n_track == MAX_TRACK)
		return NULL;
	memset(&track[n_track], 0, sizeof track[0]);
	snprintf(track[n_track].id, sizeof track[0].id, "%s", id);
	track[n_track].state = -1;
	return &track[n_track++];
}

static long long q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

/* The invariants, with the loops held and the daemon serving after recovery.  Returns violations. */
static int check_invariants(int round, const struct loop *loops)
{
	int bad = 0;
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.d.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
		violation("kill %d: integrity_check: %s", round, (const char *)sqlite3_column_text(st, 0));
		bad++;
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		violation("kill %d: foreign_key_check: table %s", round, (const char *)sqlite3_column_text(st, 0));
		bad++;
	}
	sqlite3_finalize(st);
	long long flags = q_int(db, "SELECT (SELECT count(*) FROM sandboxes WHERE creating OR stopping OR removing) + "
				    "(SELECT count(*) FROM containers WHERE creating OR starting OR removing OR updating)");
	if (flags != 0) {
		violation("kill %d: %lld objects with a transition flag still set after recovery", round, flags);
		bad++;
	}
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, state, pid, exit_code, finished_at, reason FROM containers",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		int state = sqlite3_column_int(st, 1);
		long long pid = sqlite3_column_int64(st, 2), code = sqlite3_column_int64(st, 3),
			  fin = sqlite3_column_int64(st, 4);
		const char *reason = (const char *)sqlite3_column_text(st, 5);
		struct seen *s = seen_find(id);
		if (!s)
			continue;
		if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
			if (pid <= 0 || proc_gone((pid_t)pid)) {
				/* its exit may be on its way (a Stop's kill sent just before the crash) */
				int exited = 0;
				for (int i = 0; i < 100 && !exited; i++) {
					usleep(50 * 1000);
					exited = q_int(db, tprintf("SELECT state FROM containers WHERE id = '%s'", id)) !=
						 RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
				}
				if (!exited) {
					violation("kill %d: container %s RUNNING with pid %lld, which is gone", round, id, pid);
					bad++;
				}
			}
			if (s->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING && s->pid != pid) {
				violation("kill %d: container %s RUNNING with pid %lld, was %lld", round, id, pid, s->pid);
				bad++;
			}
		}
		if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
			if (s->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED &&
			    (s->exit_code != code || s->finished_at != fin || strcmp(s->reason, reason))) {
				violation("kill %d: the exit record of %s changed: %lld at %lld (%s), was %lld at %lld (%s)",
					  round, id, code, fin, reason, s->exit_code, s->finished_at, s->reason);
				bad++;
			}
			s->exit_code = code;
			s->finished_at = fin;
			snprintf(s->reason, sizeof s->reason, "%s", reason);
		}
		if (s->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING ||
		    state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
			s->pid = pid;
		s->state = state;
	}
	sqlite3_finalize(st);
	for (int i = 0; i < n_clients; i++) {
		const char *a = loops[i].anchor_ctr;
		if (q_int(db, tprintf("SELECT state FROM containers WHERE id = '%s'", a)) !=
		    RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
			violation("kill %d: anchor container %s is no longer RUNNING", round, a);
			bad++;
		}
	}
	sqlite3_close(db);
	return bad;
}

static unsigned rnd(unsigned *seed, unsigned lo, unsigned hi)
{
	return lo + (unsigned)rand_r(seed) % (hi - lo + 1);
}

static void test_crash_churn(void **state)
{
	(void)state;
	unsigned seed;
	const char *s = getenv("LITECRI_CRASH_SEED");
	if (s)
		seed = (unsigned)strtoul(s, NULL, 10);
	else if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (unsigned)getpid();
	print_message("crash harness: %d kills, %d loops, seed %u (LITECRI_CRASH_SEED)\n", n_kills, n_clients, seed);

	struct loop loops[MAX_CLIENTS];
	memset(loops, 0, sizeof loops);
	for (int i = 0; i < n_clients; i++) {
		loops[i].n = i;
		loops[i].seed = seed + (unsigned)i * 7919u;
		/* the anchor: one pod and container that run through every kill */
		char name[32];
		snprintf(name, sizeof name, "anchor-%d", i);
		Runtime__V1__PodSandboxConfig *pc = pod_config(tprintf("%s", name), LBL("litecri.test/crash", name));
		snprintf(loops[i].anchor_pod, 65, "%s", run_pod(pc));
		snprintf(loops[i].anchor_ctr, 65, "%s", create_ctr(loops[i].anchor_pod, ctr_config("a", SLEEP_FOREVER, NULL), pc));
		start_ctr(loops[i].anchor_ctr);
		remember_id(loops[i].anchor_pod);
		remember_id(loops[i].anchor_ctr);
	}
	int bad = check_invariants(0, loops);
	pid_t anchor_pid[MAX_CLIENTS];
	for (int i = 0; i < n_clients; i++)
		anchor_pid[i] = ctr_pid(loops[i].anchor_ctr);
	for (int i = 0; i < n_clients; i++)
		assert_int_equal(pthread_create(&loops[i].th, NULL, loop_main, &loops[i]), 0);
	/* and one loop pulls and removes a second image (pushed here: three layers, one shared) */
	struct testimg multi;
	assert_int_equal(testimg_build(grp.layout, TESTIMG_MULTI, NULL, &multi), 0);
	assert_int_equal(testreg_push(&grp.reg, grp.layout, &multi, MIRROR_REPO "multi", "1.0"), 0);
	struct loop puller = { .n = n_clients };
	assert_int_equal(pthread_create(&puller.th, NULL, pull_loop_main, &puller), 0);

	int in_recovery = 0;
	int64_t t0 = now_ms();
	for (int k = 1; k <= n_kills; k++) {
		usleep(rnd(&seed, 50, 2500) * 1000);
		hold(1);
		assert_int_equal(harness_kill(&fx.d), 0);
		wait_no_calls();
		/* one restart in four is killed again during startup recovery */
		if (rnd(&seed, 0, 3) == 0) {
			assert_int_equal(harness_spawn(&fx.d, NULL), 0);
			usleep(rnd(&seed, 0, 60) * 1000);
			assert_int_equal(harness_kill(&fx.d), 0);
			in_recovery++;
		}
		if (start_daemon() < 0)
			fail_msg("the daemon did not come back after kill %d", k);
		bad += check_invariants(k, loops);
		for (int i = 0; i < n_clients; i++) {
			pid_t p = ctr_pid(loops[i].anchor_ctr);
			if (p != anchor_pid[i]) {
				violation("kill %d: anchor %s has pid %d, had %d", k, loops[i].anchor_ctr, (int)p,
					  (int)anchor_pid[i]);
				bad++;
			}
		}
		hold(0);
		if (k % 10 == 0)
			print_message("crash harness: %d kills (%d during recovery), %ld calls OK, %ld retried, %d "
				      "violations, %.0f s\n",
				      k, in_recovery, calls_ok, calls_retried, violations, (double)(now_ms() - t0) / 1000);
	}
	__atomic_store_n(&finish, 1, __ATOMIC_SEQ_CST);
	long iterations = 0;
	for (int i = 0; i < n_clients; i++) {
		assert_int_equal(pthread_join(loops[i].th, NULL), 0);
		iterations += loops[i].iterations;
	}
	assert_int_equal(pthread_join(puller.th, NULL), 0);
	bad += check_invariants(n_kills + 1, loops);
	print_message("crash harness: %d kills (%d during startup recovery), %ld pod cycles, %ld pull cycles, %ld calls "
		      "OK, %ld calls met the daemon down and were sent again, %zu objects, %.0f s\n",
		      n_kills, in_recovery, iterations, puller.iterations, calls_ok, calls_retried, n_all_ids,
		      (double)(now_ms() - t0) / 1000);

	/* everything removed through the API, then nothing may be left */
	for (int i = 0; i < n_clients; i++) {
		stop_pod(loops[i].anchor_pod);
		remove_pod(loops[i].anchor_pod);
	}
	api_cleanup();
	assert_int_equal(list_ctrs(NULL)->n_containers, 0);
	assert_int_equal(list_pods(NULL)->n_items, 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.d.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	long long rows = q_int(db, "SELECT (SELECT count(*) FROM sandboxes) + (SELECT count(*) FROM containers) + "
				   "(SELECT count(*) FROM sandbox_labels) + (SELECT count(*) FROM sandbox_annotations) + "
				   "(SELECT count(*) FROM container_labels) + (SELECT count(*) FROM container_annotations)");
	sqlite3_close(db);
	if (rows != 0) {
		violation("%lld rows left after everything was removed", rows);
		bad++;
	}
	int left = entries(tprintf("%s/attach", fx.d.state)) + entries(tprintf("%s/exits", fx.d.state));
	if (left) {
		violation("%d attach links or exit files left", left);
		bad++;
	}
	all_ids[n_all_ids] = NULL;
	assert_nothing_left((const char *const *)all_ids);
	for (size_t i = 0; i < n_all_ids; i++)
		free(all_ids[i]);
	n_all_ids = 0;
	assert_int_equal(bad, 0);
	assert_int_equal(violations, 0);
	/* and the loops got somewhere between the kills (a harness whose loops never finish a cycle
	 * proves little) */
	if (iterations < n_clients || puller.iterations < 1)
		fail_msg("the loops made no progress: %ld pod cycles, %ld pull cycles", iterations, puller.iterations);
}

int main(void)
{
	const char *k = getenv("LITECRI_CRASH_KILLS"), *c = getenv("LITECRI_CRASH_CLIENTS");
	if (k && atoi(k) > 0)
		n_kills = atoi(k);
	if (c && atoi(c) > 0 && atoi(c) <= MAX_CLIENTS)
		n_clients = atoi(c);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash_churn, up, down),
	};
	return podfix_main("crash", tests, sizeof tests / sizeof *tests);
}
