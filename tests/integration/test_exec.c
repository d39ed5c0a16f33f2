/*
 * test_exec.c — ExecSync and UpdateContainerResources against the real daemon and real runc
 * containers (fixture: podfix.h): what kubelet's exec probes and in-place resizes need.
 *
 *   ExecSync: exit codes, stdout and stderr apart, binary output, the container's namespaces,
 *   cgroup and user, bounded output, a command that cannot start, timeout (DEADLINE_EXCEEDED, the
 *   command killed), a caller that cancels or whose deadline passes (the command, its conmon and
 *   its files gone at once), a background process keeping the output open, calls served while
 *   execs run, and the status codes of bad requests.
 *   UpdateContainerResources: values visible in the container's cgroup files and reported by
 *   ContainerStatus (also after a daemon restart), partial updates, bad values refused with
 *   nothing changed, and the status codes of containers that cannot be updated.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "podfix.h"

static const char *const LABELS[] = { "app", "exec", NULL };


/* ExecSync of cmd with `timeout` seconds, the call's gRPC deadline call_ms. */
static grpc_status_code exec_call(const char *id, const char *const *cmd, int64_t timeout, int call_ms,
				  Runtime__V1__ExecSyncResponse **out, char **details)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	size_t n = 0;
	while (cmd && cmd[n])
		n++;
	req.cmd = (char **)cmd;
	req.n_cmd = n;
	req.timeout = timeout;
	ProtobufCMessage *resp = NULL;
	grpc_status_code st = rpc(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor, &resp, details,
				  call_ms);
	*out = (Runtime__V1__ExecSyncResponse *)resp;
	return st;
}

static grpc_status_code exec_st(const char *id, const char *const *cmd, int64_t timeout,
				Runtime__V1__ExecSyncResponse **out, char **details)
{
	return exec_call(id, cmd, timeout, CALL_TIMEOUT_MS, out, details);
}

static Runtime__V1__ExecSyncResponse *exec_ok(const char *id, const char *const *cmd, int64_t timeout)
{
	Runtime__V1__ExecSyncResponse *r;
	char *details;
	grpc_status_code st = exec_st(id, cmd, timeout, &r, &details);
	if (st != GRPC_STATUS_OK) {
		print_error("ExecSync %s %s: %s: %s\n", id, cmd[0], cri_status_name(st), details);
		fail();
	}
	return r;
}

/* ExecSync of `sh -c script` that must give exit code 0: its stdout as a string. */
static const char *sh_out(const char *id, const char *script)
{
	Runtime__V1__ExecSyncResponse *r = exec_ok(id, LBL("/bin/sh", "-c", script), 30);
	if (r->exit_code != 0) {
		print_error("sh -c '%s': exit code %d, stderr: %.*s\n", script, r->exit_code, (int)r->stderr.len,
			    (const char *)r->stderr.data);
		fail();
	}
	return tprintf("%.*s", (int)r->stdout.len, (const char *)r->stdout.data);
}

static void assert_bytes(ProtobufCBinaryData b, const char *want)
{
	if (b.len != strlen(want) || (b.len && memcmp(b.data, want, b.len) != 0)) {
		print_error("got %zu bytes \"%.*s\", want \"%s\"\n", b.len, (int)b.len, (const char *)b.data, want);
		fail();
	}
}

/* Number of processes on the host whose command line is exactly argv (NUL-separated). */
static int procs_with_cmdline(const char *const *argv)
{
	char want[256];
	size_t n = 0;
	for (size_t i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		assert_true(n + l <= sizeof want);
		memcpy(want + n, argv[i], l);
		n += l;
	}
	int count = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char p[300], buf[256];
		snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		size_t got = fread(buf, 1, sizeof buf, f);
		fclose(f);
		if (got == n && memcmp(buf, want, n) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* Number of processes whose command line (arguments joined by spaces) contains both a and b. */
static int procs_cmdline_has(const char *a, const char *b)
{
	int count = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char p[300], buf[4096];
		snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		size_t got = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		for (size_t i = 0; i < got; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[got] = '\0';
		if (strstr(buf, a) && strstr(buf, b))
			count++;
	}
	closedir(d);
	return count;
}

static void as_user_1234(Runtime__V1__ContainerConfig *c)
{
	c->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	c->linux->security_context =
		TNEW(Runtime__V1__LinuxContainerSecurityContext, runtime__v1__linux_container_security_context__descriptor);
	c->linux->security_context->run_as_user = TNEW(Runtime__V1__Int64Value, runtime__v1__int64_value__descriptor);
	c->linux->security_context->run_as_user->value = 1234;
	Runtime__V1__KeyValue **env = talloc(sizeof *env);
	env[0] = TNEW(Runtime__V1__KeyValue, runtime__v1__key_value__descriptor);
	env[0]->key = "PROBE_ENV";
	env[0]->value = (ProtobufCBinaryData){ .len = 15, .data = (uint8_t *)"from-the-config" };
	c->envs = env;
	c->n_envs = 1;
	c->working_dir = "/tmp";
}

/* ExecSync: exit codes, streams, binary data, the container's namespaces, cgroup, user, env, cwd. */
static void test_exec_sync_basics(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec", "probe", SLEEP_FOREVER, as_user_1234, NULL, NULL, NULL);

	Runtime__V1__ExecSyncResponse *r = exec_ok(c, LBL("/bin/sh", "-c", "echo out; echo err >&2"), 10);
	assert_int_equal(r->exit_code, 0);
	assert_bytes(r->stdout, "out\n");
	assert_bytes(r->stderr, "err\n");

	r = exec_ok(c, LBL("/bin/sh", "-c", "echo failing >&2; exit 3"), 10);
	assert_int_equal(r->exit_code, 3);
	assert_bytes(r->stdout, "");
	assert_bytes(r->stderr, "failing\n");

	r = exec_ok(c, LBL("/bin/sh", "-c", "kill -9 $$"), 10);
	assert_int_equal(r->exit_code, 137);

	r = exec_ok(c, LBL("/bin/sh", "-c", "printf 'a\\000b\\377'"), 10); /* bytes, not strings */
	assert_int_equal(r->stdout.len, 4);
	assert_memory_equal(r->stdout.data, "a\0b\377", 4);

	/* the container's process settings and namespaces: user, env, cwd, hostname, PID 1, cgroup */
	assert_string_equal(sh_out(c, "id -u; echo $PROBE_ENV; pwd; hostname"), "1234\nfrom-the-config\n/tmp\npod-exec\n");
	assert_string_equal(sh_out(c, "cat /proc/1/cmdline | tr '\\000' ' '"), "sleep 100000 ");
	pid_t pid = ctr_pid(c);
	char *host_ns = tprintf("/proc/%d/ns/pid", (int)pid), link[64];
	ssize_t n = readlink(host_ns, link, sizeof link - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(sh_out(c, "readlink /proc/self/ns/pid; readlink /proc/self/ns/net | cut -c1-4"),
			    tprintf("%s\nnet:\n", link));
	assert_non_null(strstr(sh_out(c, "cat /proc/self/cgroup"), c)); /* in the container's cgroup */

	/* a command that cannot start: 127 / 126 with the reason on stderr, as a shell says */
	r = exec_ok(c, LBL("/no/such/command"), 10);
	assert_int_equal(r->exit_code, 127);
	assert_true(r->stderr.len > 0);
	r = exec_ok(c, LBL("/etc/hostname"), 10);
	assert_int_equal(r->exit_code, 126);

	/* the container is untouched by all of it: still running, its conmon still answers a log reopen */
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	const char *log = log_path_of("probe");
	assert_int_equal(rename(log, tprintf("%s.1", log)), 0);
	Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	req.container_id = c;
	call_ok(RT "ReopenContainerLog", &req.base, &runtime__v1__reopen_container_log_response__descriptor);
	assert_int_equal(access(log, F_OK), 0);
}

/* Output beyond the cap is dropped and said so; a background process holding stdout open does
 * not hold the call. */
static void test_exec_sync_bounded(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec-big", "big", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	const size_t cap = 4u << 20;
	Runtime__V1__ExecSyncResponse *r =
		exec_ok(c, LBL("/bin/sh", "-c", "head -c 5000000 /dev/zero; head -c 4194304 /dev/zero | tr '\\000' e >&2"),
			30);
	assert_int_equal(r->exit_code, 0);
	assert_true(r->stdout.len > cap);
	for (size_t i = 0; i < cap; i++)
		if (r->stdout.data[i] != 0)
			fail_msg("stdout byte %zu is %d", i, r->stdout.data[i]);
	const char *note = tprintf("%.*s", (int)(r->stdout.len - cap), (const char *)r->stdout.data + cap);
	assert_string_equal(note, tprintf("\n[litecri: output truncated: %zu more bytes were dropped]\n",
					  (size_t)5000000 - cap));
	assert_int_equal(r->stderr.len, cap); /* exactly the cap: nothing dropped, no note */

	/* `sleep &` keeps stdout open after the command exited: the answer comes anyway, at most 2 s
	 * (EXEC_DRAIN_MS) after the command exited.  The call's own gRPC deadline of 10 s is the bound:
	 * generous for that, and far below the sleep's 28 h or the 60 s of every other call. */
	char *details;
	grpc_status_code st = exec_call(c, LBL("/bin/sh", "-c", "sleep 100001 & echo started"), 0, 10000, &r, &details);
	if (st != GRPC_STATUS_OK)
		fail_msg("ExecSync with a background process: %s: %s", cri_status_name(st), details);
	assert_int_equal(r->exit_code, 0);
	assert_bytes(r->stdout, "started\n");
	/* the background process was holding the output and is not killed (docs/exec.md) */
	assert_int_equal(procs_cmdline_has("sleep 100001", ""), 1);
}

/* Entries "exec-*" in the container's bundle: an exec's private directory. */
static int exec_dirs(const char *id)
{
	DIR *d = opendir(tprintf("%s/containers/%s", fx.d.state, id));
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "exec-", 5) == 0;
	closedir(d);
	return n;
}

/*
 * A command past its timeout: DEADLINE_EXCEEDED, and by the time the call returns the command,
 * the exec's conmon and its exec-* directory are gone (the kill is synchronous: nothing is
 * polled).  The marker the command writes first shows that it did run.
 */
static void test_exec_sync_timeout(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec-slow", "slow", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	const char *const cmd[] = { "/bin/sh", "-c", "echo ran > /tmp/marker; exec sleep 100002", NULL };
	Runtime__V1__ExecSyncResponse *r;
	char *details;
	int64_t t0 = now_ms();
	assert_int_equal(exec_st(c, cmd, 1, &r, &details), GRPC_STATUS_DEADLINE_EXCEEDED);
	int cmd_left = procs_with_cmdline((const char *const[]){ "sleep", "100002", NULL }) +
		       procs_with_cmdline(cmd);
	int conmon_left = procs_cmdline_has("conmon", tprintf("-c %s -n %s -u exec-", c, c));
	int dirs_left = exec_dirs(c);
	if (cmd_left || conmon_left || dirs_left) {
		print_error("when ExecSync returned: command %d, exec conmon %d, exec dirs %d\n", cmd_left,
			    conmon_left, dirs_left);
		fail();
	}
	assert_non_null(strstr(details, c));
	assert_non_null(strstr(details, "timed out"));
	assert_true(now_ms() - t0 >= 1000); /* not before its timeout (an ordering, not a speed check) */
	assert_string_equal(sh_out(c, "cat /tmp/marker"), "ran\n"); /* it ran before it was killed */
	/* the container runs on, and another exec works */
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_string_equal(sh_out(c, "echo still-here"), "still-here\n");
}

/*
 * The case seen by a user: a container whose main process is `top` (a PID namespace of its own),
 * ExecSync of `sleep` with a 1 s timeout; right after DEADLINE_EXCEEDED, ps in the container
 * shows no sleep.  Then the same for a command that forks children and a grandchild, which would
 * otherwise be re-parented to `top` and run on.
 */
#define SLEEPERS "ps -o args | grep '[s]leep 432' || true" /* [s]: not grep itself */
static void test_exec_sync_timeout_kills_tree(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec-tree", "tree", "exec top -b -d 3600", NULL, NULL, NULL, NULL);
	Runtime__V1__ExecSyncResponse *r;
	char *details;
	assert_int_equal(exec_st(c, LBL("/bin/busybox", "sleep", "4321"), 1, &r, &details),
			 GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_string_equal(sh_out(c, SLEEPERS), "");

	const char *const forks[] = { "/bin/sh", "-c",
				      "sleep 4322 & sleep 4323 & sh -c 'sleep 4324 & wait' & echo started; wait",
				      NULL };
	assert_int_equal(exec_st(c, forks, 1, &r, &details), GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_string_equal(sh_out(c, SLEEPERS), "");
	assert_int_equal(procs_with_cmdline((const char *const[]){ "/bin/busybox", "sleep", "4321", NULL }), 0);
	for (const char *a = "4322"; a; a = strcmp(a, "4322") == 0 ? "4323" : strcmp(a, "4323") == 0 ? "4324" : NULL)
		assert_int_equal(procs_with_cmdline((const char *const[]){ "sleep", a, NULL }), 0);
	/* top runs on */
	assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
}

/* Wait until the exec's command (`sleep <arg>`) runs: its process on the host is the marker. */
static void wait_exec_started(const char *sleep_arg)
{
	for (int64_t deadline = now_ms() + WAIT_MS;
	     procs_with_cmdline((const char *const[]){ "sleep", sleep_arg, NULL }) == 0;) {
		assert_true(now_ms() < deadline);
		sleep_ms(20);
	}
}

/* After the caller of an exec of `sleep <arg>` in container id went away: the command, the exec's
 * conmon and its directory go, and the daemon holds no more descriptors than before (fds0). */
static void assert_exec_cleaned_up(const char *id, const char *sleep_arg, int fds0)
{
	int64_t deadline = now_ms() + 20000; /* the command sleeps ~28 h: a wait that ends is no timeout */
	for (;;) {
		int cmd = procs_with_cmdline((const char *const[]){ "sleep", sleep_arg, NULL });
		int conmon = procs_cmdline_has("conmon", tprintf("-c %s -n %s -u exec-", id, id));
		int dirs = exec_dirs(id), fds = daemon_fd_count();
		if (!cmd && !conmon && !dirs && fds <= fds0)
			break;
		if (now_ms() >= deadline) {
			print_error("20 s after the caller went away: command %d, exec conmon %d, exec dirs %d, "
				    "daemon fds %d (before: %d)\n", cmd, conmon, dirs, fds, fds0);
			fail();
		}
		sleep_ms(50);
	}
	/* the container runs on, and another exec works */
	assert_int_equal(ctr_status(id)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_string_equal(sh_out(id, "echo still-here"), "still-here\n");
}

/*
 * ExecSync without a timeout whose caller goes away: explicit cancellation (grpc_call_cancel) and
 * a short gRPC deadline.  The command is killed with its conmon right then — not when the
 * container is removed — and its files and the daemon's descriptors are released.
 */
static void test_exec_sync_caller_gone(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec-gone", "gone", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	assert_string_equal(sh_out(c, "echo warm"), "warm\n"); /* the first exec's one-off costs */
	int fds0 = daemon_fd_count();

	/* 1. The client cancels the call while the command runs. */
	const char *const cmd1[] = { "/bin/sh", "-c", "exec sleep 100003", NULL };
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = c;
	req.cmd = (char **)cmd1;
	req.n_cmd = 3;
	req.timeout = 0;
	size_t len = protobuf_c_message_get_packed_size(&req.base);
	uint8_t *buf = talloc(len ? len : 1);
	protobuf_c_message_pack(&req.base, buf);
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(fx.d.endpoint, creds, NULL);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_slice method = grpc_slice_from_static_string(RT "ExecSync");
	grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
						   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	assert_non_null(call);
	grpc_slice body = grpc_slice_from_copied_buffer((const char *)buf, len);
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
	grpc_slice_unref(body);
	grpc_byte_buffer *recv = NULL;
	grpc_metadata_array imd, tmd;
	grpc_metadata_array_init(&imd);
	grpc_metadata_array_init(&tmd);
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.status = &st;
	ops[5].data.recv_status_on_client.status_details = &details;
	ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
	int tag;
	assert_int_equal(grpc_call_start_batch(call, ops, 6, &tag, NULL), GRPC_CALL_OK);
	wait_exec_started("100003");
	assert_int_equal(grpc_call_cancel(call, NULL), GRPC_CALL_OK);
	grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	assert_int_equal(ev.type, GRPC_OP_COMPLETE);
	assert_int_equal(st, GRPC_STATUS_CANCELLED);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&imd);
	grpc_metadata_array_destroy(&tmd);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	assert_exec_cleaned_up(c, "100003", fds0);
	assert_non_null(wait_log(fx.d.log, "the caller has gone (cancelled or disconnected); command killed"));

	/* 2. The caller's gRPC deadline (1.5 s) passes: the same, logged as the deadline. */
	const char *const cmd2[] = { "/bin/sh", "-c", "exec sleep 100004", NULL };
	req.cmd = (char **)cmd2;
	ProtobufCMessage *resp = NULL;
	char *msg = NULL;
	st = rpc(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor, &resp, &msg, 1500);
	assert_int_equal(st, GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_exec_cleaned_up(c, "100004", fds0);
	assert_non_null(wait_log(fx.d.log, "the caller has gone (deadline passed); command killed"));
}

struct bg_exec {
	const char *endpoint, *id;
	const char *const *cmd;
	grpc_status_code st;
	int exit_code;
	int done;
};

static void *bg_exec_main(void *p)
{
	struct bg_exec *b = p;
	struct cri_client *cl = cri_client_new(b->endpoint);
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)b->id;
	size_t n = 0;
	while (b->cmd[n])
		n++;
	req.cmd = (char **)b->cmd;
	req.n_cmd = n;
	ProtobufCMessage *resp = NULL;
	char *msg = NULL;
	b->st = cl ? cri_client_call(cl, RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor, &resp,
				     &msg, CALL_TIMEOUT_MS)
		   : GRPC_STATUS_RESOURCE_EXHAUSTED;
	if (resp)
		b->exit_code = ((Runtime__V1__ExecSyncResponse *)resp)->exit_code;
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(msg);
	cri_client_free(cl);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * While an exec waits, other calls (status, list, other execs, a second container's lifecycle) are
 * answered; the waiting exec then ends with its own exit code.  Overlap is shown, not assumed:
 * the side calls start only once the waiting exec's command runs, and when they are all answered
 * that command still waits at its gate and the exec's call has not returned.
 */
static void test_exec_sync_concurrent(void **state)
{
	(void)state;
	char *pod;
	char *c = running_ctr(LABELS, "pod-exec-par", "par", SLEEP_FOREVER, NULL, &pod, NULL, NULL);
	char *gate = tprintf("/tmp/gate-%s", random_id());
	const char *const cmd[] = { "/bin/sh", "-c", tprintf("while [ ! -e %s ]; do sleep 0.05; done; exit 5", gate),
				    NULL };
	struct bg_exec b = { .endpoint = fx.d.endpoint, .id = c, .cmd = cmd };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bg_exec_main, &b), 0);
	for (int64_t deadline = now_ms() + WAIT_MS; procs_with_cmdline(cmd) == 0;) {
		if (__atomic_load_n(&b.done, __ATOMIC_SEQ_CST) || now_ms() > deadline) {
			pthread_join(th, NULL);
			fail_msg("the waiting exec's command never ran (call ended: %s)", cri_status_name(b.st));
		}
		sleep_ms(20);
	}
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ctr_status(c)->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
		assert_true(list_ctrs(NULL)->n_containers >= 1);
		assert_string_equal(sh_out(c, "echo side"), "side\n");
	}
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-exec-par", LABELS);
	char *other = create_ctr(pod, ctr_config("other", "echo other-ran", NULL), pc);
	start_ctr(other);
	assert_exited(wait_ctr_state(other, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 0, "Completed");
	remove_ctr(other);
	int done_early = __atomic_load_n(&b.done, __ATOMIC_SEQ_CST), waiting = procs_with_cmdline(cmd);
	sh_out(c, tprintf("touch %s", gate));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(done_early);
	assert_int_equal(waiting, 1);
	assert_int_equal(b.st, GRPC_STATUS_OK);
	assert_int_equal(b.exit_code, 5);
}

/* Bad requests and containers that cannot run a command. */
static void test_exec_sync_refused(void **state)
{
	(void)state;
	char *pod;
	char *c = running_ctr(LABELS, "pod-exec-bad", "bad", SLEEP_FOREVER, NULL, &pod, NULL, NULL);
	Runtime__V1__ExecSyncResponse *r;
	char *details;
	assert_int_equal(exec_st(c, NULL, 1, &r, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(exec_st(c, LBL(""), 1, &r, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(exec_st(c, LBL("/bin/true"), -1, &r, &details), GRPC_STATUS_INVALID_ARGUMENT);
	const char *missing = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_int_equal(exec_st(missing, LBL("/bin/true"), 1, &r, &details), GRPC_STATUS_NOT_FOUND);
	assert_non_null(strstr(details, missing));
	assert_int_equal(exec_st("../../etc", LBL("/bin/true"), 1, &r, &details), GRPC_STATUS_INVALID_ARGUMENT);

	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-exec-bad", LABELS);
	char *created = create_ctr(pod, ctr_config("created", SLEEP_FOREVER, NULL), pc);
	assert_int_equal(exec_st(created, LBL("/bin/true"), 1, &r, &details), GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(details, created));
	stop_ctr(c, 0);
	assert_int_equal(exec_st(c, LBL("/bin/true"), 1, &r, &details), GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(details, "not running"));
	/* the same on the v1alpha2 path */
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = c;
	req.cmd = (char **)LBL("/bin/true");
	req.n_cmd = 1;
	ProtobufCMessage *resp;
	assert_int_equal(rpc("/runtime.v1alpha2.RuntimeService/ExecSync", &req.base,
			     &runtime__v1__exec_sync_response__descriptor, &resp, &details, CALL_TIMEOUT_MS),
			 GRPC_STATUS_FAILED_PRECONDITION);
}

/* ------------------------------------------------------------------------------------------ */
/* UpdateContainerResources                                                                   */

static Runtime__V1__LinuxContainerResources *resources(int64_t shares, int64_t quota, int64_t period, int64_t memory,
						       const char *cpus)
{
	Runtime__V1__LinuxContainerResources *r =
		TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	r->cpu_shares = shares;
	r->cpu_quota = quota;
	r->cpu_period = period;
	r->memory_limit_in_bytes = memory;
	r->cpuset_cpus = (char *)(cpus ? cpus : "");
	r->cpuset_mems = "";
	return r;
}

static Runtime__V1__LinuxContainerResources *initial;

static void with_resources(Runtime__V1__ContainerConfig *c)
{
	c->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	c->linux->resources = initial;
}

static grpc_status_code update_st(const char *id, Runtime__V1__LinuxContainerResources *r, char **details)
{
	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	req.container_id = (char *)id;
	req.linux = r;
	ProtobufCMessage *resp;
	return rpc(RT "UpdateContainerResources", &req.base, &runtime__v1__update_container_resources_response__descriptor,
		   &resp, details, CALL_TIMEOUT_MS);
}

static void update_ok(const char *id, Runtime__V1__LinuxContainerResources *r)
{
	char *details;
	grpc_status_code st = update_st(id, r, &details);
	if (st != GRPC_STATUS_OK) {
		print_error("UpdateContainerResources %s: %s: %s\n", id, cri_status_name(st), details);
		fail();
	}
}

/* The text in the cgroup file `file` of controller `ctrl` of process pid (cgroup v1), without its
 * trailing newline. */
static const char *cgroup_text(pid_t pid, const char *ctrl, const char *file)
{
	char *cg = harness_slurp(tprintf("/proc/%d/cgroup", (int)pid));
	assert_non_null(cg);
	own(cg, free);
	const char *path = NULL;
	for (char *save = NULL, *l = strtok_r(cg, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		for (char *s2 = NULL, *k = strtok_r(c1 + 1, ",", &s2); k; k = strtok_r(NULL, ",", &s2))
			if (!strcmp(k, ctrl))
				path = c2 + 1;
	}
	if (!path)
		fail_msg("process %d has no %s cgroup", (int)pid, ctrl);
	char *text = harness_slurp(tprintf("/sys/fs/cgroup/%s%s/%s", ctrl, path, file));
	if (!text)
		fail_msg("no /sys/fs/cgroup/%s%s/%s", ctrl, path, file);
	own(text, free);
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/* The number in that file (cgroup v1). */
static long long cgroup_value(pid_t pid, const char *ctrl, const char *file)
{
	return atoll(cgroup_text(pid, ctrl, file));
}

static void assert_reported(const char *id, int64_t shares, int64_t quota, int64_t period, int64_t memory,
			    const char *cpus)
{
	Runtime__V1__ContainerStatus *s = ctr_status(id);
	assert_non_null(s->resources);
	assert_non_null(s->resources->linux);
	const Runtime__V1__LinuxContainerResources *r = s->resources->linux;
	assert_int_equal(r->cpu_shares, shares);
	assert_int_equal(r->cpu_quota, quota);
	assert_int_equal(r->cpu_period, period);
	assert_int_equal(r->memory_limit_in_bytes, memory);
	assert_string_equal(r->cpuset_cpus, cpus);
}

/* Updates reach the live cgroup and ContainerStatus.resources; partial updates keep the rest;
 * bad values change nothing; the record survives a daemon restart. */
static void test_update_resources(void **state)
{
	(void)state;
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0 ||
	    access("/sys/fs/cgroup/cpu/cpu.shares", F_OK) != 0) {
		print_message("cgroup v1 memory and cpu hierarchies are not mounted: skipped\n");
		skip();
	}
	initial = resources(512, 0, 0, 64 << 20, NULL);
	char *c = running_ctr(LABELS, "pod-update", "resized", SLEEP_FOREVER, with_resources, NULL, NULL, NULL);
	pid_t pid = ctr_pid(c);
	assert_int_equal(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 64 << 20);
	assert_int_equal(cgroup_value(pid, "cpu", "cpu.shares"), 512);
	assert_reported(c, 512, 0, 0, 64 << 20, "");
	/* with more than one CPU the container starts on all of them ("0-1"), so "0" afterwards shows
	 * the update reached the cpuset cgroup */
	const char *cpus0 = cgroup_text(pid, "cpuset", "cpuset.cpus");
	if (!strcmp(cpus0, "0"))
		print_message("one CPU: cpuset.cpus is \"0\" before the update too; the cpuset check cannot "
			      "tell an update from none on this host\n");

	update_ok(c, resources(256, 50000, 100000, 96 << 20, "0"));
	assert_int_equal(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 96 << 20);
	assert_int_equal(cgroup_value(pid, "cpu", "cpu.shares"), 256);
	assert_int_equal(cgroup_value(pid, "cpu", "cpu.cfs_quota_us"), 50000);
	assert_int_equal(cgroup_value(pid, "cpu", "cpu.cfs_period_us"), 100000);
	assert_string_equal(cgroup_text(pid, "cpuset", "cpuset.cpus"), "0"); /* the text: "0-1" is not "0" */
	assert_reported(c, 256, 50000, 100000, 96 << 20, "0");

	/* partial: only memory; the CPU settings stay as they were */
	update_ok(c, resources(0, 0, 0, 48 << 20, NULL));
	assert_int_equal(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 48 << 20);
	assert_int_equal(cgroup_value(pid, "cpu", "cpu.shares"), 256);
	assert_reported(c, 256, 50000, 100000, 48 << 20, "0");
	/* the OCI spec verbose status shows follows too */
	json_t *spec_res = json_object_get(json_object_get(find_spec(ctr_info(c)), "linux"), "resources");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(spec_res, "memory"), "limit")), 48 << 20);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(spec_res, "cpu"), "shares")), 256);
	assert_true(json_is_array(json_object_get(spec_res, "devices"))); /* device rules kept */

	/* hugepage limits are accepted and reported (this host may have no hugetlb controller) */
	Runtime__V1__LinuxContainerResources *h = resources(0, 0, 0, 0, NULL);
	Runtime__V1__HugepageLimit **hl = talloc(sizeof *hl);
	hl[0] = TNEW(Runtime__V1__HugepageLimit, runtime__v1__hugepage_limit__descriptor);
	hl[0]->page_size = "2MB";
	hl[0]->limit = 0;
	h->hugepage_limits = hl;
	h->n_hugepage_limits = 1;
	update_ok(c, h);
	Runtime__V1__ContainerStatus *s = ctr_status(c);
	assert_int_equal(s->resources->linux->n_hugepage_limits, 1);
	assert_string_equal(s->resources->linux->hugepage_limits[0]->page_size, "2MB");

	/* bad values: INVALID_ARGUMENT naming the container, nothing changed */
	char *details;
	Runtime__V1__LinuxContainerResources *bad[] = {
		resources(0, 0, 0, -1, NULL), resources(-5, 0, 0, 0, NULL), resources(0, 0, -100, 0, NULL),
		resources(0, 0, 0, 0, "0-x"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(update_st(c, bad[i], &details), GRPC_STATUS_INVALID_ARGUMENT);
		assert_non_null(strstr(details, c));
	}
	Runtime__V1__LinuxContainerResources *badpage = resources(0, 0, 0, 0, NULL);
	Runtime__V1__HugepageLimit **bl = talloc(sizeof *bl);
	bl[0] = TNEW(Runtime__V1__HugepageLimit, runtime__v1__hugepage_limit__descriptor);
	bl[0]->page_size = "2XB";
	badpage->hugepage_limits = bl;
	badpage->n_hugepage_limits = 1;
	assert_int_equal(update_st(c, badpage, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 48 << 20);
	assert_reported(c, 256, 50000, 100000, 48 << 20, "0");

	/* the record outlives the daemon */
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(start_daemon(), 0);
	assert_reported(c, 256, 50000, 100000, 48 << 20, "0");
	assert_int_equal(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 48 << 20);
}

/* Who can be updated: CREATED yes (its cgroup exists), EXITED / missing / Windows-only no. */
static void test_update_refused(void **state)
{
	(void)state;
	initial = resources(0, 0, 0, 64 << 20, NULL);
	char *pod;
	char *c = running_ctr(LABELS, "pod-update-bad", "short", SLEEP_FOREVER, with_resources, &pod, NULL, NULL);
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-update-bad", LABELS);
	Runtime__V1__ContainerConfig *cc = ctr_config("waiting", SLEEP_FOREVER, NULL);
	with_resources(cc);
	char *created = create_ctr(pod, cc, pc);
	update_ok(created, resources(0, 0, 0, 80 << 20, NULL));
	assert_reported(created, 0, 0, 0, 80 << 20, "");
	start_ctr(created);
	wait_ctr_state(created, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0)
		assert_int_equal(cgroup_value(ctr_pid(created), "memory", "memory.limit_in_bytes"), 80 << 20);

	char *details;
	stop_ctr(c, 0);
	assert_int_equal(update_st(c, resources(0, 0, 0, 80 << 20, NULL), &details), GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(details, "EXITED"));
	assert_reported(c, 0, 0, 0, 64 << 20, "");
	const char *missing = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_int_equal(update_st(missing, resources(0, 0, 0, 80 << 20, NULL), &details), GRPC_STATUS_NOT_FOUND);

	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	req.container_id = created;
	req.windows = TNEW(Runtime__V1__WindowsContainerResources, runtime__v1__windows_container_resources__descriptor);
	ProtobufCMessage *resp;
	assert_int_equal(rpc(RT "UpdateContainerResources", &req.base,
			     &runtime__v1__update_container_resources_response__descriptor, &resp, &details, CALL_TIMEOUT_MS),
			 GRPC_STATUS_INVALID_ARGUMENT);
	/* no flag is left behind: another update goes through */
	update_ok(created, resources(0, 0, 0, 72 << 20, NULL));
	assert_reported(created, 0, 0, 0, 72 << 20, "");
}

#define STATUS_KEYS "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp|NoNewPrivs):"

/* Dropped capabilities, no_new_privs and the RuntimeDefault seccomp profile: not the defaults. */
static void confined(Runtime__V1__ContainerConfig *c)
{
	c->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	Runtime__V1__LinuxContainerSecurityContext *sc = c->linux->security_context =
		TNEW(Runtime__V1__LinuxContainerSecurityContext, runtime__v1__linux_container_security_context__descriptor);
	sc->capabilities = TNEW(Runtime__V1__Capability, runtime__v1__capability__descriptor);
	char **drop = talloc(2 * sizeof *drop);
	drop[0] = "CHOWN";
	drop[1] = "NET_RAW";
	sc->capabilities->drop_capabilities = drop;
	sc->capabilities->n_drop_capabilities = 2;
	sc->no_new_privs = 1;
	sc->seccomp = TNEW(Runtime__V1__SecurityProfile, runtime__v1__security_profile__descriptor);
	sc->seccomp->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
}

/* The value of "key:" in /proc/<pid>/status text (tabs and spaces skipped), or NULL. */
static const char *status_value(const char *text, const char *key)
{
	const char *p = text;
	size_t kl = strlen(key);
	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *v = p + kl + 1;
			v += strspn(v, " \t");
			return tprintf("%.*s", (int)strcspn(v, "\n"), v);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/*
 * ExecSync runs its command with the container's security context: the capability sets, seccomp
 * mode and no_new_privs read from /proc/self/status by the exec equal those of the container's own
 * process, for a container whose context is not the default (two capabilities dropped,
 * no_new_privs, RuntimeDefault seccomp).
 */
static void test_exec_sync_security_context(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-exec-sec", "exec-sec",
			      "grep -E '" STATUS_KEYS "' /proc/self/status; echo status-done; " SLEEP_FOREVER, confined,
			      NULL, NULL, NULL);
	/* The container's own lines, from its CRI log ("<time> stdout F <line>"). */
	char *log = wait_log(log_path_of("exec-sec"), "status-done");
	const char *mine = "";
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		char *body = strstr(line, " stdout F ");
		if (body && strncmp(body + 10, "status-done", 11))
			mine = tprintf("%s%s\n", mine, body + 10);
	}
	const char *exec = sh_out(c, "grep -E '" STATUS_KEYS "' /proc/self/status");
	const char *keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp", "NoNewPrivs" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *want = status_value(mine, keys[i]), *got = status_value(exec, keys[i]);
		if (!want || !got || strcmp(want, got))
			fail_msg("%s: the container's process has \"%s\", the exec \"%s\"\ncontainer:\n%sexec:\n%s", keys[i],
				 want ? want : "(missing)", got ? got : "(missing)", mine, exec);
	}
	/* and it is the context asked for, not a default both happen to share */
	assert_string_equal(status_value(exec, "NoNewPrivs"), "1");
	assert_string_equal(status_value(exec, "Seccomp"), "2");
	unsigned long long bnd = strtoull(status_value(exec, "CapBnd"), NULL, 16);
	assert_true(bnd != 0);
	assert_int_equal(bnd & ((1ULL << 0) | (1ULL << 13)), 0); /* CAP_CHOWN, CAP_NET_RAW dropped */
	assert_true(bnd & (1ULL << 1));                           /* CAP_DAC_OVERRIDE kept */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_sync_basics, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_security_context, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_bounded, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_timeout, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_timeout_kills_tree, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_caller_gone, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_concurrent, up, down),
		cmocka_unit_test_setup_teardown(test_exec_sync_refused, up, down),
		cmocka_unit_test_setup_teardown(test_update_resources, up, down),
		cmocka_unit_test_setup_teardown(test_update_refused, up, down),
	};
	return podfix_main("exec", tests, sizeof tests / sizeof *tests);
}
