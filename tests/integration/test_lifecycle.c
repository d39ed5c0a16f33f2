/*
 * test_lifecycle.c — pod and container lifecycle acceptance tests: the real daemon's
 * RuntimeService (RunPodSandbox ... ReopenContainerLog) over its unix socket, running real runc
 * containers (supervised by conmon) from a busybox test image.  The fixture is podfix.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "podfix.h"
#include "../common/tmpdir.h"

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
/*
 * The daemon's own threads: every thread of its process except gRPC's (named "grpc_*": timer and
 * executor threads gRPC starts and ends as it sees fit, so a count including them moves without
 * litecri doing anything).
 */
static int daemon_threads(void)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)fx.d.pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *comm = harness_slurp(tprintf("%s/%s/comm", dir, e->d_name));
		if (comm && strncmp(comm, "grpc", 4) != 0) /* a thread that ended meanwhile has no comm */
			n++;
		free(comm);
	}
	closedir(d);
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

/*
 * Descriptors the daemon holds open (/proc/<pid>/fd); *on_db (if not NULL) gets how many of them
 * are open on its database file itself (one per SQLite connection; -wal and -shm not counted).
 */
static int daemon_fds(int *on_db)
{
	const char *dir = tprintf("/proc/%d/fd", (int)fx.d.pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0, db = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char target[PATH_MAX];
		ssize_t len = readlink(tprintf("%s/%s", dir, e->d_name), target, sizeof target - 1);
		if (len > 0) {
			target[len] = '\0';
			db += !strcmp(target, fx.d.db);
		}
	}
	closedir(d);
	if (on_db)
		*on_db = db;
	return n;
}

/* Resident memory of the daemon in KiB (/proc/<pid>/status VmRSS). */
static long daemon_rss_kib(void)
{
	char *st = harness_slurp(tprintf("/proc/%d/status", (int)fx.d.pid));
	assert_non_null(st);
	const char *t = strstr(st, "\nVmRSS:");
	long kib = t ? atol(t + 7) : -1;
	free(st);
	return kib;
}

struct burst_exec {
	const char *id;
	pthread_barrier_t *go;
	grpc_status_code st;
};

static void *burst_exec_main(void *arg)
{
	struct burst_exec *b = arg;
	struct cri_client *cl = cri_client_new(fx.d.endpoint);
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)b->id;
	req.cmd = (char *[]){ "sleep", "1" };
	req.n_cmd = 2;
	ProtobufCMessage *resp = NULL;
	char *msg = NULL;
	pthread_barrier_wait(b->go);
	b->st = cl ? cri_client_call(cl, RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor, &resp,
				     &msg, CALL_TIMEOUT_MS)
		   : GRPC_STATUS_RESOURCE_EXHAUSTED;
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(msg);
	cri_client_free(cl);
	return NULL;
}

/*
 * Workers that come and go leave nothing behind (issue 16, finding 8): three bursts of 12
 * concurrent one-second ExecSyncs each grow the pool past --workers.  Once the extra workers have
 * ended, no database connection outlives its thread: the descriptors open on the database file
 * (one per connection) are at most the daemon's threads.  Before each worker closed its
 * connection as it ended, every burst left one per extra worker (41 -> 57 -> 73 descriptors in
 * all).  Total descriptors and RSS are printed for the record; the total is not compared between
 * bursts, since a base worker that took no call in one burst opens its connection in the next.
 */
static void test_pool_bursts_leak_nothing(void **state)
{
	(void)state;
	enum { N = 12, BURSTS = 3 };
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-burst", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("burst", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	int base_threads = daemon_threads();
	for (int k = 0; k < BURSTS; k++) {
		struct burst_exec b[N];
		pthread_t th[N];
		pthread_barrier_t go;
		assert_int_equal(pthread_barrier_init(&go, NULL, N), 0);
		for (int i = 0; i < N; i++) {
			b[i] = (struct burst_exec){ .id = c, .go = &go, .st = GRPC_STATUS_UNKNOWN };
			assert_int_equal(pthread_create(&th[i], NULL, burst_exec_main, &b[i]), 0);
		}
		for (int i = 0; i < N; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(b[i].st, GRPC_STATUS_OK);
		}
		pthread_barrier_destroy(&go);
		/* the extra workers end after LITECRI_WORKER_IDLE_S = 1 s idle */
		int64_t deadline = now_ms() + 30000;
		while (daemon_threads() > base_threads && now_ms() < deadline)
			usleep(100 * 1000);
		int threads = daemon_threads(), on_db;
		assert_true(threads <= base_threads);
		int fds = daemon_fds(&on_db);
		print_message("burst %d: %d threads, %d fds (%d on the database), VmRSS %ld KiB\n", k + 1, threads, fds,
			      on_db, daemon_rss_kib());
		if (on_db > threads)
			fail_msg("burst %d: %d connections to the database, but only %d threads", k + 1, on_db, threads);
	}
	stop_ctr(c, 0);
	remove_ctr(c);
}

/* req with its one placeholder byte patched to `bad` is refused: INVALID_ARGUMENT naming `field`. */
static void assert_refused_field(const char *method, const ProtobufCMessage *req, char bad, const char *field)
{
	char *details;
	int marks;
	grpc_status_code st = rpc_patched(method, req, bad, &details, &marks);
	assert_int_equal(marks, 1);
	if (st != GRPC_STATUS_INVALID_ARGUMENT || !strstr(details, field))
		fail_msg("wanted INVALID_ARGUMENT naming %s, got %s: %s", field, cri_status_name(st), details);
}

/*
 * A NUL byte or invalid UTF-8 in any string field is refused at decode, naming the field (issue
 * 16, finding 6).  protobuf-c hands strings out cut at the first NUL, so before the check
 * "<id>\0junk" removed the real object, "SYS_ADMIN\0junk" granted CAP_SYS_ADMIN and
 * "<image>\0junk" removed the image; each object here is still there afterwards.
 */
static void test_nul_and_bad_utf8_refused(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-nul", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("target", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);

	Runtime__V1__RemoveContainerRequest rc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rc.container_id = tprintf("%s\x7fjunk", c);
	assert_refused_field(RT "RemoveContainer", &rc.base, 0, "container_id");
	assert_refused_field("/runtime.v1alpha2.RuntimeService/RemoveContainer", &rc.base, 0, "container_id");
	Runtime__V1__StopContainerRequest sc = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	sc.container_id = tprintf("%s\x7f", c);
	assert_refused_field(RT "StopContainer", &sc.base, (char)0xff, "container_id");
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

	Runtime__V1__StopPodSandboxRequest sp = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	sp.pod_sandbox_id = tprintf("%s\x7fjunk", pod);
	assert_refused_field(RT "StopPodSandbox", &sp.base, 0, "pod_sandbox_id");
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);

	/* a capability cut at a NUL would be SYS_ADMIN */
	size_t before = list_ctrs(NULL)->n_containers;
	Runtime__V1__ContainerConfig *cc = ctr_config("capnul", SLEEP_FOREVER, NULL);
	Runtime__V1__Capability *caps = TNEW(Runtime__V1__Capability, runtime__v1__capability__descriptor);
	caps->add_capabilities = talloc(sizeof(char *));
	caps->add_capabilities[0] = "SYS_ADMIN\x7fjunk";
	caps->n_add_capabilities = 1;
	cc->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	cc->linux->security_context =
		TNEW(Runtime__V1__LinuxContainerSecurityContext, runtime__v1__linux_container_security_context__descriptor);
	cc->linux->security_context->capabilities = caps;
	Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cr.pod_sandbox_id = pod;
	cr.config = cc;
	cr.sandbox_config = pc;
	assert_refused_field(RT "CreateContainer", &cr.base, 0,
			     "config.linux.security_context.capabilities.add_capabilities[0]");
	assert_int_equal(list_ctrs(NULL)->n_containers, before);

	/* a label value that is not UTF-8 would reach list responses strict clients cannot decode */
	size_t pods_before = list_pods(NULL)->n_items;
	Runtime__V1__PodSandboxConfig *bad = pod_config("pod-nul-2", LBL("tier", "front\x7f"));
	Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	rp.config = bad;
	assert_refused_field(RT "RunPodSandbox", &rp.base, (char)0xc3, ".value");
	assert_int_equal(list_pods(NULL)->n_items, pods_before);

	/* the image stays */
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = tprintf("%s\x7fjunk", fx.image_ref);
	Runtime__V1__RemoveImageRequest ri = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	ri.image = &spec;
	assert_refused_field(IMG "RemoveImage", &ri.base, 0, "image.image");
	Runtime__V1__ImageSpec keep = RUNTIME__V1__IMAGE_SPEC__INIT;
	keep.image = fx.image_ref;
	Runtime__V1__ImageStatusRequest is = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	is.image = &keep;
	Runtime__V1__ImageStatusResponse *isr =
		call_ok(IMG "ImageStatus", &is.base, &runtime__v1__image_status_response__descriptor);
	assert_non_null(isr->image);

	/* the daemon still answers, and the real objects go the normal way */
	stop_ctr(c, 0);
	remove_ctr(c);
}

/* A container whose memory limit the cgroup OOM killer enforces ends EXITED, 137, OOMKilled. */
static void test_oom_killed(void **state)
{
	(void)state;
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0) {
		char *ctl = harness_slurp("/sys/fs/cgroup/cgroup.controllers");
		int v2 = ctl && strstr(ctl, "memory");
		free(ctl);
		if (!v2) {
			print_message("skipped: no memory cgroup controller on this host (v1 or v2)\n");
			skip();
		}
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

/*
 * The gate of test_concurrent_retries: <daemon dir>/gate/runc, a runc that holds every `create`
 * (after touching `entered`) until the file `open` appears (at most GATE_HOLD_MS, so that nothing
 * hangs if the test dies), then runs RUNC.  gate_hold closes it and starts gate_opener, which
 * opens it once the first create is held there and the daemon has logged `want` retries waiting
 * for that create ("... waits for the identical create in flight (<noun> <id>)"); `seen` says
 * they all came while it was held.  Static: the opener outlives a test that fails half-way.
 */
#define GATE_HOLD_MS 30000 /* generous, and below the daemon's 60 s wait for conmon's report of a create */
static struct {
	char runc[PATH_MAX], entered[PATH_MAX], open[PATH_MAX], needle[96];
	int want, seen;
	pthread_t opener;
} gate;

/* Occurrences of needle in the daemon's log (no cmocka calls: the opener runs it too). */
static int log_count(const char *needle)
{
	char *log = harness_slurp(fx.d.log);
	int n = 0;
	for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(log);
	return n;
}

static void *gate_opener(void *arg)
{
	(void)arg;
	int64_t deadline = now_ms() + GATE_HOLD_MS;
	while (!(access(gate.entered, F_OK) == 0 && log_count(gate.needle) >= gate.want) && now_ms() < deadline)
		sleep_ms(20);
	gate.seen = access(gate.entered, F_OK) == 0 && log_count(gate.needle) >= gate.want;
	int fd = open(gate.open, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Restart the daemon with the gate as its runtime, open (the same name, runc: the same runc root
 * and runtime handler). */
static void gate_install(void)
{
	assert_int_equal(mkdir(tprintf("%s/gate", fx.d.dir), 0755), 0);
	snprintf(gate.runc, sizeof gate.runc, "%s/gate/runc", fx.d.dir);
	snprintf(gate.entered, sizeof gate.entered, "%s/gate/entered", fx.d.dir);
	snprintf(gate.open, sizeof gate.open, "%s/gate/open", fx.d.dir);
	FILE *f = fopen(gate.runc, "we");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"# " RUNC " for test_concurrent_retries: a create waits until %s exists\n"
		"for a in \"$@\"; do\n"
		"  if [ \"$a\" = create ]; then\n"
		"    : >'%s'\n"
		"    i=0\n"
		"    while [ ! -e '%s' ] && [ $i -lt %d ]; do sleep 0.05; i=$((i + 1)); done\n"
		"    break\n"
		"  fi\n"
		"done\n"
		"exec " RUNC " \"$@\"\n",
		gate.open, gate.entered, gate.open, GATE_HOLD_MS / 50);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(gate.runc, 0755), 0);
	int fd = open(gate.open, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(harness_stop(&fx.d), 0);
	const char *const extra[] = { "--runtime", gate.runc, NULL };
	assert_int_equal(harness_start(&fx.d, extra, NULL), 0);
}

/* Close the gate: the next create of a `noun` ("sandbox", "container") is held until PAR_N - 1
 * retries logged that they wait for it. */
static void gate_hold(const char *noun)
{
	assert_int_equal(unlink(gate.open), 0);
	assert_true(unlink(gate.entered) == 0 || errno == ENOENT);
	snprintf(gate.needle, sizeof gate.needle, "waits for the identical create in flight (%s ", noun);
	gate.want = log_count(gate.needle) + PAR_N - 1;
	gate.seen = 0;
	assert_int_equal(pthread_create(&gate.opener, NULL, gate_opener, NULL), 0);
}

/* After the calls: the create of `id` was held in the runtime while the PAR_N - 1 other calls
 * arrived and each waited for it, the proof that the calls overlapped. */
static void gate_check(const char *noun, const char *id)
{
	pthread_join(gate.opener, NULL);
	const char *waits = tprintf("waits for the identical create in flight (%s %s)", noun, id);
	if (!gate.seen)
		print_error("the calls did not overlap: %d retries did not log \"%s\" while the first create was "
			    "held in runc create (for %d s)\n", PAR_N - 1, gate.needle, GATE_HOLD_MS / 1000);
	assert_true(gate.seen);
	assert_int_equal(log_count(waits), PAR_N - 1);
}

/* Retries that overlap (kubelet gave up waiting and asked again while the first call still runs):
 * the same request from several clients at once makes one object, and every caller gets its ID;
 * concurrent stops all succeed; of concurrent removes at least one.  The overlap is made sure of
 * and shown: the first create is held in `runc create` (gate_hold) until the daemon has logged
 * that each other call waits for it. */
static void test_concurrent_retries(void **state)
{
	(void)state;
	gate_install();
	/* an infra container: its runc create is what the gate holds */
	Runtime__V1__PodSandboxConfig *pc = pod_config_infra("pod-race", POD_LABELS);
	Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	rp.config = pc;
	gate_hold("sandbox"); /* the calls' deadline allows for the gate's (when they do not overlap) */
	ProtobufCMessage **r = parallel_ok(RT "RunPodSandbox", &rp.base, &runtime__v1__run_pod_sandbox_response__descriptor,
					   GATE_HOLD_MS + CALL_TIMEOUT_MS, GRPC_STATUS_OK);
	char *pod = ((Runtime__V1__RunPodSandboxResponse *)r[0])->pod_sandbox_id;
	for (int i = 1; i < PAR_N; i++)
		assert_string_equal(((Runtime__V1__RunPodSandboxResponse *)r[i])->pod_sandbox_id, pod);
	gate_check("sandbox", pod);
	assert_pod_list("pods after concurrent RunPodSandbox", NULL, pod, NULL);

	Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cr.pod_sandbox_id = pod;
	cr.config = ctr_config("raced", SLEEP_FOREVER, LBL("k", "v"));
	cr.sandbox_config = pc;
	gate_hold("container");
	r = parallel_ok(RT "CreateContainer", &cr.base, &runtime__v1__create_container_response__descriptor,
			GATE_HOLD_MS + CALL_TIMEOUT_MS, GRPC_STATUS_OK);
	char *c = ((Runtime__V1__CreateContainerResponse *)r[0])->container_id;
	for (int i = 1; i < PAR_N; i++)
		assert_string_equal(((Runtime__V1__CreateContainerResponse *)r[i])->container_id, c);
	gate_check("container", c); /* and the gate stays open */
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
	/* Its runc container goes with its recorded exit, in the background, before any removal; the
	 * container stays, EXITED with its code. */
	for (int64_t end = now_ms() + 10000; strstr(runc_ids(), run);) {
		assert_true(now_ms() < end);
		sleep_ms(20);
	}
	s = ctr_status(run);
	assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_int_equal(s->exit_code, 128 + SIGKILL);
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

/*
 * A pod and a container with a 70 KiB annotation each (`runc state` prints the annotations: more
 * than 64 KiB): the container stops (a SIGKILL to all its processes asks the runtime's state
 * first) and both are removed, leaving nothing.
 */
static void test_huge_annotations(void **state)
{
	(void)state;
	size_t size = 70 * 1024;
	char *big = talloc(size + 1);
	memset(big, 'h', size);
	big[size] = '\0';
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-huge", POD_LABELS);
	pc->annotations = map_of(&runtime__v1__pod_sandbox_config__annotations_entry__descriptor,
				 LBL("litecri.test/huge", big), &pc->n_annotations);
	char *pod = run_pod(pc);
	Runtime__V1__ContainerConfig *cc = ctr_config("huge", "echo huge-ready; " SLEEP_FOREVER, NULL);
	cc->annotations = map_of(&runtime__v1__container_config__annotations_entry__descriptor,
				 LBL("litecri.test/huge", big), &cc->n_annotations);
	char *c = create_ctr(pod, cc, pc);
	start_ctr(c);
	wait_log(log_path_of("huge"), "huge-ready");
	pid_t pid = ctr_pid(c);
	stop_ctr(c, 0);
	assert_exited(ctr_status(c), 137, "Error");
	assert_true(proc_gone(pid));
	remove_ctr(c);
	assert_ctr_not_found(c);
	stop_pod(pod);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	remove_pod(pod);
	assert_pod_not_found(pod);
	const char *const all[] = { pod, c, NULL };
	assert_nothing_left(all);
}

/*
 * A runtime container that no row owns, made with runc itself in the daemon's runc root (busybox
 * sleeping in the test's cgroup parent, bundle <daemon dir>/<name>) with an annotation of
 * ann_size bytes.  Its ID.
 */
static char *orphan_ctr(const char *name, size_t ann_size)
{
	char *id = random_id();
	const char *b = tprintf("%s/%s", fx.d.dir, name), *out = tprintf("%s/%s.out", fx.d.dir, name);
	const char *mk[] = { "/bin/mkdir", "-p", tprintf("%s/rootfs/bin", b), NULL };
	const char *cp[] = { "/bin/cp", "/bin/busybox", tprintf("%s/rootfs/bin/busybox", b), NULL };
	const char *spec[] = { RUNC, "spec", "--bundle", b, NULL };
	assert_int_equal(harness_run(mk, out), 0);
	assert_int_equal(harness_run(cp, out), 0);
	assert_int_equal(harness_run(spec, out), 0);
	const char *path = tprintf("%s/config.json", b);
	json_t *cfg = json_load_file(path, 0, NULL);
	assert_non_null(cfg);
	own(cfg, free_json);
	json_t *proc = json_object_get(cfg, "process");
	assert_int_equal(json_object_set_new(proc, "args", json_pack("[sss]", "/bin/busybox", "sleep", "100000")), 0);
	assert_int_equal(json_object_set_new(proc, "terminal", json_false()), 0);
	char *big = talloc(ann_size + 1);
	memset(big, 'o', ann_size);
	big[ann_size] = '\0';
	assert_int_equal(json_object_set_new(cfg, "annotations", json_pack("{s:s}", "litecri.test/orphan", big)), 0);
	assert_int_equal(json_object_set_new(json_object_get(cfg, "linux"), "cgroupsPath",
					     json_string(tprintf("%s/%s", fx.cgparent, name))), 0);
	assert_int_equal(json_dump_file(cfg, path, JSON_COMPACT), 0);
	const char *create[] = { RUNC, "--root", runc_root(), "create", "--bundle", b, id, NULL };
	int rc = harness_run(create, out);
	if (rc != 0) {
		char *msg = harness_slurp(out);
		own(msg, free);
		print_error("runc create %s: exit %d: %s\n", id, rc, msg ? msg : "");
	}
	assert_int_equal(rc, 0);
	return id;
}

/*
 * Startup recovery's orphan sweep at a restart: runtime containers no row owns are deleted even
 * when `runc list` would print more than 64 KiB (two with 40 KiB annotations), and so is an
 * attach socket link a removal interrupted after `runc delete` left; a pod's own containers and
 * links stay.
 */
static void test_restart_sweeps_orphans(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config_infra("pod-kept", POD_LABELS); /* its infra stays too */
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("kept", "echo kept-ready; " SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("kept"), "kept-ready");
	char *o1 = orphan_ctr("orphan-1", 40 * 1024), *o2 = orphan_ctr("orphan-2", 40 * 1024);
	char *ghost = random_id();
	const char *ghost_link = tprintf("%s/attach/%s", fx.d.state, ghost);
	assert_int_equal(symlink(tprintf("%s/containers/%s", fx.d.state, ghost), ghost_link), 0);
	char *before = runc_ids();
	assert_non_null(strstr(before, o1));
	assert_non_null(strstr(before, o2));

	int rc = harness_stop(&fx.d);
	if (rc != 0)
		print_daemon_log_tail();
	assert_int_equal(rc, 0);
	assert_int_equal(start_daemon(), 0);

	char *after = runc_ids();
	struct stat st;
	int ghost_left = lstat(ghost_link, &st) == 0;
	if (strstr(after, o1) || strstr(after, o2) || ghost_left)
		print_daemon_log_tail();
	assert_null(strstr(after, o1));
	assert_null(strstr(after, o2));
	assert_false(ghost_left);
	assert_non_null(strstr(after, pod));
	assert_non_null(strstr(after, c));
	assert_int_equal(lstat(tprintf("%s/attach/%s", fx.d.state, pod), &st), 0);
	assert_int_equal(lstat(tprintf("%s/attach/%s", fx.d.state, c), &st), 0);
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

	stop_pod(pod);
	remove_pod(pod);
	const char *const all[] = { pod, c, o1, o2, ghost, NULL };
	assert_nothing_left(all);
}

/* `litecri check` on fx's daemon's paths (--json when as_json): its exit status; its stdout in *out. */
static int run_check(int as_json, char **out)
{
	static int runs; /* harness_run appends: a file per run */
	const char *of = tprintf("%s/check-%d.out", fx.d.dir, runs++);
	const char *argv[] = { LITECRI_BIN, "check", "--config", fx.d.config, "--db", fx.d.db, "--root", fx.d.root,
			       "--state", fx.d.state, "--log-level", "error", as_json ? "--json" : NULL, NULL };
	int rc = harness_run(argv, of);
	*out = harness_slurp(of);
	assert_non_null(*out);
	own(*out, free);
	return rc;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * `litecri check`: beside a running daemon on a clean node, exit 0.  With the daemon stopped and
 * four things broken by hand — a running container's runc container deleted, a stray mount below
 * another container's directory, a directory no row owns, a stuck flag — each is reported exactly
 * once (one line, and in --json), exit 1.  The next start repairs what check said recovery would
 * repair; after the stray mount is unmounted by hand, check exits 0 again.
 */
static void test_check(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-check", POD_LABELS);
	char *pod = run_pod(pc);
	char *c1 = create_ctr(pod, ctr_config("victim", SLEEP_FOREVER, NULL), pc);
	char *c2 = create_ctr(pod, ctr_config("bystander", SLEEP_FOREVER, NULL), pc);
	start_ctr(c1);
	start_ctr(c2);
	wait_ctr_state(c1, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	wait_ctr_state(c2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	char *out;
	int rc = run_check(0, &out);
	if (rc != 0)
		print_error("check on a clean node: exit %d:\n%s\n", rc, out);
	assert_int_equal(rc, 0);

	assert_int_equal(harness_stop(&fx.d), 0);
	const char *outf = tprintf("%s/break.out", fx.d.dir);
	const char *del[] = { RUNC, "--root", runc_root(), "delete", "--force", c1, NULL };
	assert_int_equal(harness_run(del, outf), 0);
	const char *junk = tprintf("%s/containers/%s/junk", fx.d.state, c2);
	assert_int_equal(mkdir(junk, 0700), 0);
	assert_int_equal(mount("tmpfs", junk, "tmpfs", 0, "size=64k"), 0);
	char *stray = random_id();
	const char *stray_dir = tprintf("%s/containers/%s", fx.d.root, stray);
	assert_int_equal(mkdir(stray_dir, 0700), 0);
	const char *sql[] = { "/usr/bin/sqlite3", fx.d.db,
			      tprintf("UPDATE sandboxes SET stopping = 1 WHERE id = '%s'", pod), NULL };
	assert_int_equal(harness_run(sql, outf), 0);

	/* c1's conmon reports the kill and exits on its own: until then its exit is still to come */
	for (int64_t deadline = now_ms() + WAIT_MS; (rc = run_check(0, &out)) != 1 || !strstr(out, c1);) {
		if (now_ms() >= deadline) {
			print_error("check after breaking things: exit %d:\n%s\n", rc, out);
			fail();
		}
		sleep_ms(100);
	}
	if (count_lines(out) != 4)
		print_error("check output:\n%s\n", out);
	assert_int_equal(count_lines(out), 4);
	assert_non_null(strstr(out, tprintf("container %s: recorded RUNNING but the runtime no longer runs it", c1)));
	assert_non_null(strstr(out, tprintf("mount %s: ", junk)));
	assert_non_null(strstr(out, tprintf("directory %s: no container or pod row owns it", stray_dir)));
	assert_non_null(strstr(out, tprintf("sandbox %s: flag stopping set", pod)));

	assert_int_equal(run_check(1, &out), 1);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	own(j, free_json);
	assert_int_equal(json_array_size(j), 4);
	const char *kinds = "";
	for (size_t i = 0; i < json_array_size(j); i++)
		kinds = tprintf("%s%s,", kinds, json_string_value(json_object_get(json_array_get(j, i), "kind")));
	assert_string_equal(kinds, "container,sandbox,directory,mount,");

	/* recovery repairs what check said it would; the mount is the operator's */
	assert_int_equal(start_daemon(), 0);
	assert_exited(ctr_status(c1), 137, "Error");
	assert_int_equal(run_check(0, &out), 1);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, tprintf("mount %s: ", junk)));
	assert_int_equal(umount(junk), 0);
	assert_int_equal(run_check(0, &out), 0);

	stop_pod(pod);
	remove_pod(pod);
	const char *const all[] = { pod, c1, c2, NULL };
	assert_nothing_left(all);
}

/* GET url with curl (Debian's): its exit status; the body in *body. */
static int http_get(const char *url, char **body)
{
	static int runs;
	const char *of = tprintf("%s/http-%d.out", fx.d.dir, runs++);
	const char *argv[] = { "/usr/bin/curl", "-sS", "--fail", "-o", of, url, NULL };
	int rc = harness_run(argv, tprintf("%s.err", of));
	*body = harness_slurp(of);
	if (*body)
		own(*body, free);
	return rc;
}

/* The value of the sample `series` (name and labels, exactly as exposed) in an exposition, or -1. */
static double sample(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);
	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

/*
 * Prometheus metrics (--metrics-address 127.0.0.1:0): scraped with curl after a pod and a
 * container were run, the exposition counts exactly the calls made, the objects by state and
 * the runtime work, and Debian's `promtool check metrics` accepts it; another path is 404.
 */
static void test_metrics(void **state)
{
	(void)state;
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(harness_start(&fx.d, LBL("--metrics-address", "127.0.0.1:0"), NULL), 0);
	char *log = harness_slurp(fx.d.log);
	own(log, free);
	const char *at = strstr(log, "metrics: Prometheus endpoint at http://127.0.0.1:");
	assert_non_null(at);
	int port = atoi(at + strlen("metrics: Prometheus endpoint at http://127.0.0.1:"));
	assert_true(port > 0);
	const char *url = tprintf("http://127.0.0.1:%d/metrics", port);

	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-metrics", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("counted", SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_ctr_state(c, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	char *details;
	Runtime__V1__PodSandboxStatusResponse *ps;
	assert_int_equal(pod_status_st(random_id(), &ps, &details), GRPC_STATUS_NOT_FOUND);

	char *m;
	assert_int_equal(http_get(url, &m), 0);
	assert_true(sample(m, "litecri_grpc_requests_total{method=\"RunPodSandbox\",code=\"OK\"}") == 1);
	assert_true(sample(m, "litecri_grpc_requests_total{method=\"CreateContainer\",code=\"OK\"}") == 1);
	assert_true(sample(m, "litecri_grpc_requests_total{method=\"StartContainer\",code=\"OK\"}") == 1);
	assert_true(sample(m, "litecri_grpc_requests_total{method=\"PodSandboxStatus\",code=\"NOT_FOUND\"}") == 1);
	assert_true(sample(m, "litecri_grpc_request_duration_seconds_count{method=\"RunPodSandbox\"}") == 1);
	assert_true(sample(m, "litecri_containers{state=\"running\"}") == 1);
	assert_true(sample(m, "litecri_pods{state=\"ready\"}") == 1);
	assert_true(sample(m, "litecri_inflight_flags{flag=\"container_removing\"}") == 0);
	/* the container (its pod has no infra container): one conmon create, one runc start */
	assert_true(sample(m, "litecri_operation_duration_seconds_count{operation=\"conmon_create\"}") == 1);
	assert_true(sample(m, "litecri_operation_duration_seconds_count{operation=\"runc_start\"}") == 1);
	assert_true(sample(m, "litecri_operation_duration_seconds_count{operation=\"db_commit\"}") > 0);
	assert_true(sample(m, "litecri_recovery_duration_seconds") >= 0);
	assert_true(sample(m, "process_open_fds") > 0);
	assert_true(sample(m, "litecri_db_size_bytes") > 0);

	const char *file = tprintf("%s/metrics.txt", fx.d.dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(m, f);
	fclose(f);
	const char *check[] = { "/bin/sh", "-c", tprintf("promtool check metrics < %s", file), NULL };
	int rc = harness_run(check, tprintf("%s/promtool.out", fx.d.dir));
	if (rc != 0) {
		char *out = harness_slurp(tprintf("%s/promtool.out", fx.d.dir));
		own(out, free);
		print_error("promtool check metrics: exit %d: %s\n", rc, out ? out : "");
	}
	assert_int_equal(rc, 0);
	char *nf;
	assert_int_equal(http_get(tprintf("http://127.0.0.1:%d/other", port), &nf), 22); /* curl --fail: HTTP >= 400 */

	stop_ctr(c, 0);
	remove_ctr(c);
	stop_pod(pod);
	remove_pod(pod);
	assert_int_equal(http_get(url, &m), 0);
	assert_true(sample(m, "litecri_containers{state=\"running\"}") == 0);
	assert_true(sample(m, "litecri_grpc_requests_total{method=\"RemoveContainer\",code=\"OK\"}") == 1);
}

/* Every item of a list response, re-packed by protobuf-c (canonical field order), in one string. */
static char *packed_items(ProtobufCMessage *const *items, size_t n)
{
	char *all = tprintf("%zu:", n);
	for (size_t i = 0; i < n; i++) {
		size_t len = protobuf_c_message_get_packed_size(items[i]);
		uint8_t *b = talloc(len + 1);
		protobuf_c_message_pack(items[i], b);
		char *hex = talloc(2 * len + 1);
		for (size_t k = 0; k < len; k++)
			sprintf(hex + 2 * k, "%02x", b[k]);
		all = tprintf("%s%s;", all, hex);
	}
	return all;
}

static char *list_ctrs_packed_f(Runtime__V1__ContainerFilter *f)
{
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	req.filter = f;
	Runtime__V1__ListContainersResponse *r =
		call_ok(RT "ListContainers", &req.base, &runtime__v1__list_containers_response__descriptor);
	return packed_items((ProtobufCMessage *const *)r->containers, r->n_containers);
}

static char *list_pods_packed_f(Runtime__V1__PodSandboxFilter *f)
{
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = f;
	Runtime__V1__ListPodSandboxResponse *r =
		call_ok(RT "ListPodSandbox", &req.base, &runtime__v1__list_pod_sandbox_response__descriptor);
	return packed_items((ProtobufCMessage *const *)r->items, r->n_items);
}

static char *list_ctrs_packed(void) { return list_ctrs_packed_f(NULL); }
static char *list_pods_packed(void) { return list_pods_packed_f(NULL); }

/*
 * A list without a filter reads state and created_at from the entries' copies (migration 0008),
 * one filtered by ID from the object rows: each object's item is the same in both.
 */
static void assert_lists_agree(const char *const *ctrs, const char *const *pods)
{
	char *all = list_ctrs_packed();
	for (; *ctrs; ctrs++) {
		char *one = list_ctrs_packed_f(cfilter(*ctrs, -1, "", NULL));
		assert_true(strncmp(one, "1:", 2) == 0);
		assert_non_null(strstr(all, one + 2));
	}
	all = list_pods_packed();
	for (; *pods; pods++) {
		char *one = list_pods_packed_f(pfilter(*pods, -1, NULL));
		assert_true(strncmp(one, "1:", 2) == 0);
		assert_non_null(strstr(all, one + 2));
	}
}

/*
 * ListContainers and ListPodSandbox splice each row's list entry (encoded at its create) with its
 * id, state and created_at: the items equal, field for field, those built from the rows' configs —
 * which is what a row from before migration 0007 (its entry NULL) gets — for labels, annotations,
 * image, metadata, every state and a zero created_at of a created container; and the state and
 * created_at copies of the entries tables follow the objects' transitions.
 */
static void test_list_entries(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-list", POD_LABELS);
	char *pod = run_pod(pc);
	char *c1 = create_ctr(pod, ctr_config("runs", SLEEP_FOREVER, NULL), pc);
	char *c2 = create_ctr(pod, ctr_config("created", SLEEP_FOREVER, NULL), pc);
	start_ctr(c1);
	wait_ctr_state(c1, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	Runtime__V1__PodSandboxConfig *pc2 = pod_config("pod-list-2", POD_LABELS);
	char *pod2 = run_pod(pc2);
	stop_pod(pod2);
	char *ctrs = list_ctrs_packed(), *pods = list_pods_packed();
	assert_true(strncmp(ctrs, "2:", 2) == 0);
	assert_true(strncmp(pods, "2:", 2) == 0);
	assert_lists_agree((const char *const[]){ c1, c2, NULL }, (const char *const[]){ pod, pod2, NULL });
	const char *sql[] = { "/usr/bin/sqlite3", fx.d.db,
			      "UPDATE container_entries SET entry = NULL; UPDATE sandbox_entries SET entry = NULL", NULL };
	assert_int_equal(harness_run(sql, tprintf("%s/sql.out", fx.d.dir)), 0);
	assert_string_equal(list_ctrs_packed(), ctrs);
	assert_string_equal(list_pods_packed(), pods);
	stop_ctr(c1, 0);
	assert_lists_agree((const char *const[]){ c1, c2, NULL }, (const char *const[]){ pod, pod2, NULL });
	assert_string_not_equal(list_ctrs_packed(), ctrs); /* c1 EXITED now */
	remove_pod(pod2);
	stop_pod(pod);
	remove_pod(pod);
	const char *const all[] = { pod, pod2, c1, c2, NULL };
	assert_nothing_left(all);
}

/* SIGKILL every process whose command line names id (conmon has its container's ID on its own). */
static void kill_procs_naming(const char *id)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int fd = open(tprintf("/proc/%s/cmdline", e->d_name), O_RDONLY | O_CLOEXEC);
		char buf[8192];
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		size_t len = (size_t)n; /* NUL-separated arguments */
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, id))
			kill(atoi(e->d_name), SIGKILL);
	}
	closedir(d);
}

/* SIGKILL every process in the cgroup dir and below it; their PIDs appended to pids[*n]. */
static void kill_cgroup_procs(const char *dir, pid_t *pids, size_t *n, size_t max)
{
	char *procs = harness_slurp(tprintf("%s/cgroup.procs", dir));
	for (char *save = NULL, *l = procs ? strtok_r(procs, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(l);
		if (pid > 1 && kill(pid, SIGKILL) == 0 && *n < max)
			pids[(*n)++] = pid;
	}
	free(procs);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		kill_cgroup_procs(tprintf("%s/%s", dir, e->d_name), pids, n, max);
	}
	closedir(d);
}

/*
 * What a reboot does to the daemon's containers, the daemon being stopped: every conmon and every
 * container process killed (no exit file is written: conmon dies first), every mount under the
 * state directory gone and the directory itself (it is /run), the containers' cgroups gone.
 */
static void fake_reboot(const char *const *ids, int keep_state)
{
	for (size_t i = 0; ids[i]; i++)
		kill_procs_naming(ids[i]);
	for (size_t i = 0; ids[i]; i++)
		wait_no_procs(ids[i]);
	pid_t pids[256];
	size_t n = 0;
	char cg[32][PATH_MAX];
	int ncg = cgroup_dirs(cg, 32);
	for (int i = 0; i < ncg; i++)
		kill_cgroup_procs(cg[i], pids, &n, 256);
	int64_t deadline = now_ms() + WAIT_MS;
	for (size_t i = 0; i < n; i++)
		while (!proc_gone(pids[i])) {
			assert_true(now_ms() < deadline);
			sleep_ms(50);
		}
	/* a killed process stays in its cgroup until it is reaped, and PID 1 reaps late here: rmdir
	 * fails with EBUSY until then, so the cgroups are removed again until they are gone */
	for (int64_t until = now_ms() + WAIT_MS;;) {
		int left = 0;
		for (int i = 0; i < ncg; i++) {
			cgroup_rmtree(cg[i]);
			left += access(cg[i], F_OK) == 0;
		}
		if (!left)
			break;
		assert_true(now_ms() < until);
		sleep_ms(100);
	}
	for (int round = 0; round < 8; round++) {
		char *m = mounts_under(fx.d.state);
		if (!*m)
			break;
		char *lines[512];
		int k = 0;
		for (char *save = NULL, *l = strtok_r(m, "\n", &save); l && k < 512; l = strtok_r(NULL, "\n", &save))
			lines[k++] = l;
		for (int i = k - 1; i >= 0; i--)
			umount2(lines[i], MNT_DETACH);
	}
	assert_string_equal(mounts_under(fx.d.state), "");
	if (!keep_state)
		assert_int_equal(tmpdir_remove(fx.d.state), 0);
}

/*
 * A reboot, faked faithfully (fake_reboot) and announced by a new boot ID (--boot-id-path): after
 * the restart every container is EXITED — code 255, or its exit file's, or the code it had already
 * exited with — every pod NOTREADY, and kubelet's Stop and Remove of every pod and container
 * succeed although their processes, pins, mounts and runtime state are gone, leaving nothing.
 * keep_state: the state directory is on a disk that kept its files (runc's state, conmon's
 * pidfiles, the pins as plain files), only the mounts and processes are gone.
 */
static void reboot_case(int keep_state)
{
	Runtime__V1__PodSandboxConfig *pa_cfg = pod_config("pod-reboot-a", POD_LABELS);
	Runtime__V1__PodSandboxConfig *pb_cfg = pod_config("pod-reboot-b", POD_LABELS);
	char *pa = run_pod(pa_cfg), *pb = run_pod(pb_cfg);
	char *run = create_ctr(pa, ctr_config("running", "echo running-ready; " SLEEP_FOREVER, NULL), pa_cfg);
	char *done = create_ctr(pa, ctr_config("done", "exit 3", NULL), pa_cfg);
	char *created = create_ctr(pa, ctr_config("created", SLEEP_FOREVER, NULL), pa_cfg);
	char *other = create_ctr(pb, ctr_config("other", "echo other-ready; " SLEEP_FOREVER, NULL), pb_cfg);
	start_ctr(run);
	start_ctr(done);
	start_ctr(other);
	wait_log(log_path_of("running"), "running-ready");
	wait_log(log_path_of("other"), "other-ready");
	assert_exited(wait_ctr_state(done, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 3, "Error");
	const char *const all[] = { pa, pb, run, done, created, other, NULL };

	int rc = harness_stop(&fx.d);
	assert_int_equal(rc, 0);
	fake_reboot(all, keep_state);
	/* an exit file that survived (a state directory on a disk that is not /run) is believed */
	if (!keep_state) {
		assert_int_equal(mkdir(fx.d.state, 0700), 0);
		assert_int_equal(mkdir(tprintf("%s/exits", fx.d.state), 0700), 0);
	}
	FILE *f = fopen(tprintf("%s/exits/%s", fx.d.state, other), "we");
	assert_non_null(f);
	fputs("42", f);
	assert_int_equal(fclose(f), 0);
	const char *boot = tprintf("%s/boot_id", fx.d.dir);
	f = fopen(boot, "we");
	assert_non_null(f);
	fprintf(f, "%s\n", random_id());
	assert_int_equal(fclose(f), 0);
	const char *extra[] = { "--boot-id-path", boot, NULL };
	if (harness_start(&fx.d, extra, NULL) != 0)
		print_daemon_log_tail();
	assert_true(fx.d.pid > 0);
	char *log = harness_slurp(fx.d.log);
	own(log, free);
	assert_non_null(strstr(log, "the host rebooted since the last start"));

	assert_int_equal(pod_status(pa)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_int_equal(pod_status(pb)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_exited(ctr_status(run), 255, "Error");
	assert_exited(ctr_status(done), 3, "Error");
	assert_exited(ctr_status(other), 42, "Error");
	/* never started: EXITED without a start time (it can never start now: its runc container is gone) */
	Runtime__V1__ContainerStatus *cs = ctr_status(created);
	assert_int_equal(cs->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_int_equal(cs->exit_code, 255);
	assert_string_equal(cs->reason, "Error");
	assert_int_equal(cs->started_at, 0);
	assert_true(cs->finished_at > cs->created_at);

	/* kubelet cleans up: every call succeeds */
	char *details;
	const char *ctrs[] = { run, done, created, other };
	for (size_t i = 0; i < 4; i++) {
		grpc_status_code st = stop_ctr_st(ctrs[i], 0, &details);
		if (st != GRPC_STATUS_OK)
			print_error("StopContainer %s after a reboot: %s: %s\n", ctrs[i], cri_status_name(st), details);
		assert_int_equal(st, GRPC_STATUS_OK);
	}
	const char *pods[] = { pa, pb };
	for (size_t i = 0; i < 2; i++) {
		grpc_status_code st = pod_call("StopPodSandbox", pods[i], &details);
		if (st != GRPC_STATUS_OK)
			print_error("StopPodSandbox %s after a reboot: %s: %s\n", pods[i], cri_status_name(st), details);
		assert_int_equal(st, GRPC_STATUS_OK);
	}
	for (size_t i = 0; i < 4; i++) {
		grpc_status_code st = remove_ctr_st(ctrs[i], &details);
		if (st != GRPC_STATUS_OK)
			print_error("RemoveContainer %s after a reboot: %s: %s\n", ctrs[i], cri_status_name(st), details);
		assert_int_equal(st, GRPC_STATUS_OK);
	}
	for (size_t i = 0; i < 2; i++) {
		grpc_status_code st = pod_call("RemovePodSandbox", pods[i], &details);
		if (st != GRPC_STATUS_OK)
			print_error("RemovePodSandbox %s after a reboot: %s: %s\n", pods[i], cri_status_name(st), details);
		assert_int_equal(st, GRPC_STATUS_OK);
	}
	assert_pod_list("pods", NULL, NULL);
	assert_ctr_list("containers", NULL, NULL);
	assert_nothing_left(all);
}

static void test_reboot(void **state)
{
	(void)state;
	reboot_case(0);
}

static void test_reboot_state_kept(void **state)
{
	(void)state;
	reboot_case(1);
}

/* Fill the file system of dir: a file written until ENOSPC.  Returns its path. */
static char *fill_fs(const char *dir)
{
	char *path = tprintf("%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	static char buf[1 << 16];
	memset(buf, 'x', sizeof buf);
	for (size_t chunk = sizeof buf; chunk > 0; chunk /= 16) {
		ssize_t w;
		while ((w = write(fd, buf, chunk)) > 0)
			;
		assert_int_equal(w, -1);
		assert_int_equal(errno, ENOSPC);
	}
	close(fd);
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_int_equal(sv.f_bavail, 0);
	return path;
}

/* A call that must fail because the disk is full, naming it. */
static void assert_disk_full(const char *what, grpc_status_code st, const char *details)
{
	if (st != GRPC_STATUS_RESOURCE_EXHAUSTED || !details || !strstr(details, "No space left on device"))
		print_error("%s on a full disk: %s: %s\n", what, cri_status_name(st), details ? details : "");
	assert_int_equal(st, GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_non_null(details);
	assert_non_null(strstr(details, "No space left on device"));
}

/*
 * The daemon's root (database, image store, pod files) on a small tmpfs that fills up: every
 * lifecycle call that needs to write fails RESOURCE_EXHAUSTED naming "No space left on device" and leaves
 * no row, directory or runc container behind; reads keep answering; once space returns the same
 * calls succeed (the names they reserved were released).
 */
static void test_disk_full(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-before", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("before", "echo before-ready; " SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("before"), "before-ready");
	char *filler = fill_fs(fx.d.root);

	char *details, *id;
	Runtime__V1__PodSandboxConfig *pc2 = pod_config("pod-full", POD_LABELS);
	grpc_status_code st = run_pod_st(pc2, &id, &details);
	assert_disk_full("RunPodSandbox", st, details);
	Runtime__V1__ContainerConfig *cc = ctr_config("full", SLEEP_FOREVER, NULL);
	st = create_ctr_st(pod, cc, pc, &id, &details);
	assert_disk_full("CreateContainer", st, details);
	st = pod_call("StopPodSandbox", pod, &details);
	assert_disk_full("StopPodSandbox", st, details);
	/* the container is killed, but its exit cannot be recorded: said at once, not after a wait */
	pid_t pid = ctr_pid(c);
	st = stop_ctr_st(c, 0, &details);
	assert_disk_full("StopContainer", st, details);
	assert_non_null(strstr(details, "exit could not be recorded"));
	assert_true(proc_gone(pid));

	/* reads answer */
	Runtime__V1__VersionRequest vr = RUNTIME__V1__VERSION_REQUEST__INIT;
	call_ok(RT "Version", &vr.base, &runtime__v1__version_response__descriptor);
	Runtime__V1__StatusRequest sr = RUNTIME__V1__STATUS_REQUEST__INIT;
	call_ok(RT "Status", &sr.base, &runtime__v1__status_response__descriptor);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	/* nothing half-made: no row, no directory, no runc container of the failed calls */
	assert_pod_list("pods on a full disk", NULL, pod, NULL);
	assert_ctr_list("containers on a full disk", NULL, c, NULL);
	assert_int_equal(tmpdir_count(tprintf("%s/sandboxes", fx.d.root)), 1);
	assert_int_equal(tmpdir_count(tprintf("%s/sandboxes", fx.d.state)), 1);
	assert_int_equal(tmpdir_count(tprintf("%s/containers", fx.d.root)), 1);
	assert_int_equal(tmpdir_count(tprintf("%s/containers", fx.d.state)), 1);
	char *runc = runc_ids(); /* the container's alone: the pod has no infra container */
	assert_non_null(strstr(runc, c));
	assert_int_equal(strlen(runc), 65);

	/* space returns: the same calls succeed, no restart needed */
	assert_int_equal(unlink(filler), 0);
	stop_ctr(c, 0);
	assert_exited(ctr_status(c), 137, "Error");
	char *pod2 = run_pod(pc2);
	char *c2 = create_ctr(pod, cc, pc);
	start_ctr(c2);
	assert_int_equal(ctr_status(c2)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_pod_list("pods after space returned", NULL, pod, pod2, NULL);
	stop_pod(pod);
	stop_pod(pod2);
	remove_pod(pod);
	remove_pod(pod2);
	const char *const all[] = { pod, c, pod2, c2, NULL };
	assert_nothing_left(all);
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
	/* a stopped container's log is not reopened: FAILED_PRECONDITION naming it */
	stop_ctr(c, 0);
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st = rpc(RT "ReopenContainerLog", &req.base, &runtime__v1__reopen_container_log_response__descriptor,
				  &resp, &details, CALL_TIMEOUT_MS);
	if (st != GRPC_STATUS_FAILED_PRECONDITION || !strstr(details, c))
		fail_msg("ReopenContainerLog of the stopped container %s: %s (%s), wanted FAILED_PRECONDITION naming it", c,
			 cri_status_name(st), details);
}

/* ------------------------------------------------------------------------------------------ */
/* issue 18: documented behaviours that had no test                                            */

/* The object of PodSandboxStatus verbose info of pod that has `key` (owned by the test). */
static json_t *pod_info_with(const char *pod, const char *key)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = (char *)pod;
	req.verbose = 1;
	Runtime__V1__PodSandboxStatusResponse *r =
		call_ok(RT "PodSandboxStatus", &req.base, &runtime__v1__pod_sandbox_status_response__descriptor);
	for (size_t i = 0; i < r->n_info; i++) {
		json_t *j = json_loads(r->info[i]->value, 0, NULL);
		if (!j)
			continue;
		own(j, free_json);
		if (json_object_get(j, key))
			return j;
	}
	fail_msg("PodSandboxStatus %s verbose: no info with \"%s\"", pod, key);
	return NULL;
}

/* The infra (pause) process of a pod, as PodSandboxStatus verbose info reports it. */
static pid_t infra_pid(const char *pod)
{
	json_t *pid = json_object_get(pod_info_with(pod, "pid"), "pid");
	if (!json_is_integer(pid) || json_integer_value(pid) <= 0)
		fail_msg("PodSandboxStatus %s verbose: no infra pid", pod);
	return (pid_t)json_integer_value(pid);
}

/* Wait until the pod is in state `want` (deadline WAIT_MS). */
static void wait_pod_state(const char *pod, Runtime__V1__PodSandboxState want)
{
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		Runtime__V1__PodSandboxStatus *s = pod_status(pod);
		if (s->state == want)
			return;
		if (now_ms() > deadline) {
			print_daemon_log_tail();
			fail_msg("pod %s still in state %d after %d s, wanted %d", pod, s->state, WAIT_MS / 1000, want);
		}
		sleep_ms(50);
	}
}

/* PodSandboxStatus verbose info's "infra" (the pod has an infra container). */
static int pod_has_infra(const char *pod)
{
	json_t *v = json_object_get(pod_info_with(pod, "infra"), "infra");
	assert_true(json_is_boolean(v));
	return json_is_true(v);
}

/* stdout of `sh -c script` run in container id (exit code 0). */
static char *ctr_sh(const char *id, const char *script)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	char *cmd[] = { "/bin/sh", "-c", (char *)script };
	req.cmd = cmd;
	req.n_cmd = 3;
	req.timeout = 30;
	Runtime__V1__ExecSyncResponse *r = call_ok(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor);
	assert_int_equal(r->exit_code, 0);
	return tprintf("%.*s", (int)r->stdout.len, (const char *)r->stdout.data);
}

/*
 * A pod whose containers do not share a PID namespace (kubelet's default) has no infra container:
 * no runc container, conmon or pause process of its own; its containers share its pinned
 * network, IPC and UTS namespaces (and hostname) but not a PID namespace; it stays READY across a
 * daemon restart; stop and removal leave nothing.  A pod with PID mode POD keeps one.
 */
static void test_pod_without_infra(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-bare", POD_LABELS);
	pc->hostname = "bare-host";
	char *pod = run_pod(pc);
	assert_int_equal(pod_has_infra(pod), 0);
	assert_null(strstr(runc_ids(), pod));
	char *a = create_ctr(pod, ctr_config("a", SLEEP_FOREVER, NULL), pc);
	char *b = create_ctr(pod, ctr_config("b", SLEEP_FOREVER, NULL), pc);
	start_ctr(a);
	start_ctr(b);
	const char *ns = "readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts; hostname";
	char *na = ctr_sh(a, ns), *nb = ctr_sh(b, ns);
	assert_string_equal(na, nb);
	assert_non_null(strstr(na, "bare-host\n"));
	assert_string_not_equal(ctr_sh(a, "readlink /proc/self/ns/pid"), ctr_sh(b, "readlink /proc/self/ns/pid"));

	/* a restart: recovery has no runtime container to ask about and keeps the pod READY */
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(start_daemon(), 0);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	assert_int_equal(ctr_status(a)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_string_equal(ctr_sh(b, ns), na);

	/* PID mode POD: an infra container, whose pause process is the shared PID namespace's init */
	Runtime__V1__PodSandboxConfig *pc2 = pod_config_infra("pod-shared-pid", POD_LABELS);
	char *pod2 = run_pod(pc2);
	assert_int_equal(pod_has_infra(pod2), 1);
	assert_non_null(strstr(runc_ids(), pod2));

	stop_pod(pod);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_int_equal(ctr_status(a)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	remove_pod(pod);
	stop_pod(pod2);
	remove_pod(pod2);
	const char *const all[] = { pod, pod2, a, b, NULL };
	assert_nothing_left(all);
}

/* Kill a pod's infra process (SIGKILL, as the OOM killer or an admin would) and wait until it is gone. */
static void kill_infra(const char *pod, pid_t pid)
{
	assert_false(proc_gone(pid));
	assert_int_equal(kill(pid, SIGKILL), 0);
	int64_t deadline = now_ms() + WAIT_MS;
	while (!proc_gone(pid)) {
		if (now_ms() > deadline)
			fail_msg("infra process %d of pod %s outlived SIGKILL", (int)pid, pod);
		sleep_ms(20);
	}
}

/*
 * A pod whose infra process dies is NOTREADY: while the daemon runs (conmon's exit file, seen by
 * the exit watcher), and when it died while the daemon was down (recovery at the next start,
 * before the first call is served).  Both pods can then be stopped and removed, leaving nothing.
 */
static void test_infra_gone_notready(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config_infra("pod-infra-live", POD_LABELS);
	char *live = run_pod(pc);
	char *c = create_ctr(live, ctr_config("in-live", "echo in-live-ready; " SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("in-live"), "in-live-ready");
	char *down = run_pod(pod_config_infra("pod-infra-down", POD_LABELS));
	assert_int_equal(pod_status(live)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	assert_int_equal(pod_status(down)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);

	kill_infra(live, infra_pid(live));
	wait_pod_state(live, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_int_equal(pod_status(down)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);

	pid_t down_pid = infra_pid(down);
	int rc = harness_stop(&fx.d);
	if (rc != 0)
		print_daemon_log_tail();
	assert_int_equal(rc, 0);
	kill_infra(down, down_pid);
	assert_int_equal(start_daemon(), 0);
	/* no wait: recovery ran before the socket served */
	assert_int_equal(pod_status(down)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_int_equal(pod_status(live)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);

	stop_pod(live);
	remove_pod(live);
	stop_pod(down);
	remove_pod(down);
	const char *const all[] = { live, c, down, NULL };
	assert_nothing_left(all);
}

/* Host PIDs of the live (not zombie) processes whose cgroup path names id. */
static int procs_in_cgroup(const char *id, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[8192];
		snprintf(path, sizeof path, "/proc/%s/cgroup", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (!strstr(buf, id))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (proc_gone(pid)) /* a zombie waiting for its reaper is gone */
			continue;
		if (n < max)
			out[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * StopContainer stops every process of the container, not only its init: here the init (sh) dies
 * of SIGTERM at once, while a child it started in the background ignores SIGTERM.  After the call
 * no process of the container may remain (in the pod's shared PID namespace nothing else would
 * kill the child: it would live on, reparented to the pod's pause process).
 */
static void test_stop_kills_every_process(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-family", POD_LABELS);
	/* one PID namespace for the pod (shareProcessNamespace): the container's init is not PID 1 of
	 * a namespace of its own, whose end would kill the rest with it */
	pc->linux->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	char *pod = run_pod(pc);
	char *c = create_ctr(pod,
			     ctr_config("family",
					"trap 'exit 0' TERM; (trap '' TERM; exec sleep 100000) & echo family-ready; wait",
					NULL),
			     pc);
	start_ctr(c);
	wait_log(log_path_of("family"), "family-ready");
	pid_t pids[16];
	int64_t deadline = now_ms() + WAIT_MS;
	int n;
	while ((n = procs_in_cgroup(c, pids, 16)) < 2) { /* the sh and its background sleep */
		if (now_ms() > deadline)
			fail_msg("container %s: %d processes in its cgroup, wanted the init and its child", c, n);
		sleep_ms(20);
	}
	stop_ctr(c, 100);
	Runtime__V1__ContainerStatus *s = ctr_status(c);
	/* the init ended on SIGTERM by itself (the case at hand), not by the SIGKILL after the timeout */
	assert_exited(s, 0, "Completed");
	/* the call has returned: checked at once */
	n = procs_in_cgroup(c, pids, 16);
	if (n) {
		char cmd[64] = "";
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/comm", (int)pids[0]);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t k = read(fd, cmd, sizeof cmd - 1);
			cmd[k > 0 ? k - 1 : 0] = '\0';
			close(fd);
		}
		fail_msg("StopContainer %s returned (exit code %d) while %d of its processes still run (pid %d: %s)", c,
			 s->exit_code, n, (int)pids[0], cmd);
	}
	remove_ctr(c);
	stop_pod(pod);
	remove_pod(pod);
}

/* One lifecycle call over v1alpha2 (v1 messages: the same wire format), asserting OK. */
static void *alpha_ok(const char *call, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd)
{
	return call_ok(tprintf("/runtime.v1alpha2.RuntimeService/%s", call), req, rd);
}

/*
 * A pod and a container created, started, stopped and removed entirely through
 * /runtime.v1alpha2.RuntimeService/ (older kubelets): each call does what its v1 twin does, as the
 * v1 reads show.
 */
static void test_lifecycle_v1alpha2(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-alpha", POD_LABELS);
	Runtime__V1__RunPodSandboxRequest run = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	run.config = pc;
	Runtime__V1__RunPodSandboxResponse *rr = alpha_ok("RunPodSandbox", &run.base,
							  &runtime__v1__run_pod_sandbox_response__descriptor);
	char *pod = rr->pod_sandbox_id;
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	Runtime__V1__CreateContainerRequest create = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	create.pod_sandbox_id = pod;
	create.config = ctr_config("alpha", "echo alpha-ready; " SLEEP_FOREVER, NULL);
	create.sandbox_config = pc;
	Runtime__V1__CreateContainerResponse *cr = alpha_ok("CreateContainer", &create.base,
							    &runtime__v1__create_container_response__descriptor);
	char *c = cr->container_id;
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	Runtime__V1__StartContainerRequest start = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	start.container_id = c;
	alpha_ok("StartContainer", &start.base, &runtime__v1__start_container_response__descriptor);
	wait_log(log_path_of("alpha"), "alpha-ready");
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	pid_t pid = ctr_pid(c);
	Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	stop.container_id = c;
	alpha_ok("StopContainer", &stop.base, &runtime__v1__stop_container_response__descriptor);
	assert_exited(ctr_status(c), 128 + SIGKILL, "Error");
	assert_true(proc_gone(pid));
	Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rm.container_id = c;
	alpha_ok("RemoveContainer", &rm.base, &runtime__v1__remove_container_response__descriptor);
	assert_ctr_not_found(c);
	Runtime__V1__StopPodSandboxRequest stop_pod_req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	stop_pod_req.pod_sandbox_id = pod;
	alpha_ok("StopPodSandbox", &stop_pod_req.base, &runtime__v1__stop_pod_sandbox_response__descriptor);
	assert_int_equal(pod_status(pod)->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	Runtime__V1__RemovePodSandboxRequest rm_pod = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rm_pod.pod_sandbox_id = pod;
	alpha_ok("RemovePodSandbox", &rm_pod.base, &runtime__v1__remove_pod_sandbox_response__descriptor);
	assert_pod_not_found(pod);
	const char *const all[] = { pod, c, NULL };
	assert_nothing_left(all);
}

/* Entries of dir (0 if missing), quietly. */
static int n_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * RemoveImage of the image a running container uses: the image is gone from the lists at once,
 * but its layers stay (the container's overlay rootfs stands on them): the container keeps
 * running, can be stopped and removed; then nothing uses the layers, and the next collection
 * (here: the next start) deletes them.
 */
static void test_remove_image_in_use(void **state)
{
	(void)state;
	const char *layers = tprintf("%s/images/layers", fx.d.root);
	int n_layers = n_entries(layers);
	assert_true(n_layers > 0);
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-img", POD_LABELS);
	char *pod = run_pod(pc);
	char *c = create_ctr(pod, ctr_config("img-user", "echo img-user-ready; " SLEEP_FOREVER, NULL), pc);
	start_ctr(c);
	wait_log(log_path_of("img-user"), "img-user-ready");

	Runtime__V1__RemoveImageRequest rm = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	rm.image = TNEW(Runtime__V1__ImageSpec, runtime__v1__image_spec__descriptor);
	rm.image->image = IMAGE;
	call_ok(IMG "RemoveImage", &rm.base, &runtime__v1__remove_image_response__descriptor);
	Runtime__V1__ListImagesRequest li = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ListImagesResponse *l = call_ok(IMG "ListImages", &li.base, &runtime__v1__list_images_response__descriptor);
	assert_int_equal(l->n_images, 0);
	if (n_entries(layers) != n_layers)
		fail_msg("RemoveImage collected layers a running container uses: %d of %d left", n_entries(layers), n_layers);
	/* the container still runs on them, and reads its rootfs */
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	stop_ctr(c, 0);
	remove_ctr(c);
	assert_ctr_not_found(c);
	stop_pod(pod);
	remove_pod(pod);
	/* nothing uses them now: the next collection removes them */
	int rc = harness_stop(&fx.d);
	if (rc != 0)
		print_daemon_log_tail();
	assert_int_equal(rc, 0);
	assert_int_equal(start_daemon(), 0);
	if (n_entries(layers) != 0)
		fail_msg("%d layer directories left after the last user went and the daemon restarted", n_entries(layers));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pod_two_containers, up, down),
		cmocka_unit_test_setup_teardown(test_exit_codes, up, down),
		cmocka_unit_test_setup_teardown(test_oom_killed, up, down),
		cmocka_unit_test_setup_teardown(test_namespaces_already_gone, up, down),
		cmocka_unit_test_setup_teardown(test_status_during_stop, up, down),
		cmocka_unit_test_setup_teardown(test_pool_grows_and_shrinks, up, down),
		cmocka_unit_test_setup_teardown(test_pool_bursts_leak_nothing, up, down),
		cmocka_unit_test_setup_teardown(test_nul_and_bad_utf8_refused, up, down),
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
		cmocka_unit_test_setup_teardown(test_huge_annotations, up, down),
		cmocka_unit_test_setup_teardown(test_restart_sweeps_orphans, up, down),
		cmocka_unit_test_setup_teardown(test_check, up, down),
		cmocka_unit_test_setup_teardown(test_metrics, up, down),
		cmocka_unit_test_setup_teardown(test_list_entries, up, down),
		cmocka_unit_test_setup_teardown(test_grpc_codes, up, down),
		cmocka_unit_test_setup_teardown(test_reopen_log, up, down),
		cmocka_unit_test_setup_teardown(test_disk_full, up_small_root, down),
		cmocka_unit_test_setup_teardown(test_reboot, up, down),
		cmocka_unit_test_setup_teardown(test_reboot_state_kept, up, down),
		cmocka_unit_test_setup_teardown(test_infra_gone_notready, up, down),
		cmocka_unit_test_setup_teardown(test_pod_without_infra, up, down),
		cmocka_unit_test_setup_teardown(test_stop_kills_every_process, up, down),
		cmocka_unit_test_setup_teardown(test_lifecycle_v1alpha2, up, down),
		cmocka_unit_test_setup_teardown(test_remove_image_in_use, up, down),
	};
	return podfix_main("lifecycle", tests, sizeof tests / sizeof *tests);
}
