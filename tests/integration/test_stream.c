/*
 * test_stream.c — Exec, Attach and PortForward end to end: the real daemon, real containers, and
 * clients no one here wrote on the URLs it answers — spdyclient (moby/spdystream, kubectl's SPDY
 * library; tests/stream/spdyclient.go) and wsclient.py (Python's websockets, v4 and v5).
 *
 *   exec: stdout and stderr apart and the exit code, over SPDY and WebSocket v4/v5; 1 MiB of
 *   binary stdin back byte for byte (SPDY, v5); a terminal resized (stty size); a client that goes
 *   away leaves no process in the container.
 *   attach: a `cat` container with stdin_once (SPDY, v5): input back on stdout, the container ends.
 *   port forward (SPDY, WebSocket): a server on 127.0.0.1 inside the pod's own network namespace;
 *   a refused port.
 *   load: 50 sessions streaming 10 MiB each at once (spdyclient load), the daemon's RSS, Status and
 *   List meanwhile.
 *   errors: a stopped container, a missing pod, a reused token.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "podfix.h"

static const char *const LABELS[] = { "app", "stream-e2e", NULL };

/* Run argv with stdin in (n bytes), collect stdout and stderr (owned); the exit status. */
static int run_client(const char *const *argv, const void *in, size_t n, char **out, size_t *out_n, char **err)
{
	int pin[2], pout[2], perr[2];
	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pin[0], 0), dup2(pout[1], 1), dup2(perr[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pin[0]), close(pout[1]), close(perr[1]);
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	size_t cap[2] = { 1 << 16, 1 << 12 }, len[2] = { 0, 0 }, off = 0;
	char *buf[2] = { malloc(cap[0] + 1), malloc(cap[1] + 1) };
	int fds[2] = { pout[0], perr[0] }, open_fds = 2, wfd = pin[1];
	if (!n) {
		close(wfd);
		wfd = -1;
	}
	int64_t deadline = now_ms() + WAIT_MS;
	while (open_fds) {
		struct pollfd p[3] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN },
				       { .fd = wfd, .events = POLLOUT } };
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			fail_msg("%s did not end within %d s", argv[0], WAIT_MS / 1000);
		}
		if (wfd >= 0 && p[2].revents) {
			ssize_t w = write(wfd, (const char *)in + off, n - off);
			if (w > 0)
				off += (size_t)w;
			if (off == n || (w < 0 && errno != EAGAIN)) {
				close(wfd);
				wfd = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i] < 0 || !p[i].revents)
				continue;
			if (len[i] == cap[i])
				buf[i] = realloc(buf[i], (cap[i] *= 2) + 1);
			ssize_t r = read(fds[i], buf[i] + len[i], cap[i] - len[i]);
			if (r > 0) {
				len[i] += (size_t)r;
			} else if (r == 0 || errno != EINTR) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
			}
		}
	}
	if (wfd >= 0)
		close(wfd);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[0][len[0]] = buf[1][len[1]] = 0;
	own(buf[0], free);
	own(buf[1], free);
	*out = buf[0];
	if (out_n)
		*out_n = len[0];
	if (err)
		*err = buf[1];
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *exec_url(const char *ctr, const char *const *cmd, int tty, int in, int out, int err, grpc_status_code want)
{
	Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
	req.container_id = (char *)ctr;
	for (req.n_cmd = 0; cmd[req.n_cmd]; req.n_cmd++)
		;
	req.cmd = (char **)cmd;
	req.tty = tty, req.stdin = in, req.stdout = out, req.stderr = err;
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st = rpc(RT "Exec", &req.base, &runtime__v1__exec_response__descriptor, &resp, &details,
				  CALL_TIMEOUT_MS);
	if (st != want)
		fail_msg("Exec: status %d (%s), wanted %d", st, details ? details : "", want);
	if (st != GRPC_STATUS_OK)
		return NULL;
	return ((Runtime__V1__ExecResponse *)resp)->url;
}

static int have_go(void)
{
	if (access(SPDYCLIENT_BIN, X_OK) == 0)
		return 1;
	print_message("(no %s: the SPDY cases are skipped)\n", SPDYCLIENT_BIN);
	return 0;
}

/* The clients that run an exec session: argv prefixes, the URL goes last. */
static const char *const *clients[] = {
	(const char *const[]){ SPDYCLIENT_BIN, "exec", "-e", NULL },
	(const char *const[]){ PYTHON3, WSCLIENT_PY, "exec", "v4.channel.k8s.io", NULL },
	(const char *const[]){ PYTHON3, WSCLIENT_PY, "exec", "v5.channel.k8s.io", NULL },
};

/* prefix, flag (unless NULL) right after its "exec", then url. */
static const char **argv_with(const char *const *prefix, const char *flag, const char *url)
{
	const char **a = talloc(8 * sizeof *a);
	size_t n = 0;
	for (size_t i = 0; prefix[i]; i++) {
		a[n++] = prefix[i];
		if (flag && !strcmp(prefix[i], "exec"))
			a[n++] = flag;
	}
	a[n++] = url;
	a[n] = NULL;
	return a;
}

static void test_exec_output_and_exit_code(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-stream-exec", "exec", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	for (size_t i = have_go() ? 0 : 1; i < 3; i++) {
		char *url = exec_url(c, LBL("/bin/sh", "-c", "echo out; echo err >&2; exit 3"), 0, 0, 1, 1, GRPC_STATUS_OK);
		char *out, *err;
		int rc = run_client(argv_with(clients[i], NULL, url), NULL, 0, &out, NULL, &err);
		if (rc != 3 || strcmp(out, "out\n") || strcmp(err, "err\n"))
			fail_msg("%s: exit %d, stdout \"%s\", stderr \"%s\"", clients[i][i ? 3 : 0], rc, out, err);
	}
}

static void test_exec_stdin_binary(void **state)
{
	(void)state;
	char *c = running_ctr(LABELS, "pod-stream-stdin", "stdin", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	size_t n = 1 << 20;
	unsigned char *data = talloc(n);
	for (size_t got = 0; got < n;)
		got += (size_t)getrandom(data + got, n - got, 0);
	/* SPDY ends stdin with a FIN, v5 with its close signal (v4 has no end of stdin) */
	for (size_t i = have_go() ? 0 : 2; i < 3; i += 2) {
		char *url = exec_url(c, LBL("/bin/sh", "-c", "cat"), 0, 1, 1, 0, GRPC_STATUS_OK);
		char *out;
		size_t out_n;
		int rc = run_client(argv_with(clients[i], "-i", url), data, n, &out, &out_n, NULL);
		if (rc != 0 || out_n != n || memcmp(out, data, n))
			fail_msg("client %zu: exit %d, %zu bytes back of %zu%s", i, rc, out_n, n,
				 out_n == n ? " (they differ)" : "");
	}
}

static void test_exec_tty_resize(void **state)
{
	(void)state;
	if (!have_go())
		return;
	char *c = running_ctr(LABELS, "pod-stream-tty", "tty", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	/* the resize and stdin are separate streams, handled apart (as by kubelet's server): the
	 * command waits (bounded) until the size has arrived rather than assume it came first */
	char *url = exec_url(c,
			     LBL("/bin/sh", "-c",
				 "read x; i=0; while [ \"$(stty size)\" != '37 91' ] && [ $i -lt 100 ]; do "
				 "sleep 0.1; i=$((i+1)); done; stty size; exit 7"),
			     1, 1, 1, 0, GRPC_STATUS_OK),
	     *out;
	int rc = run_client(LBL(SPDYCLIENT_BIN, "exec", "-i", "-t", "-s91x37", url), "go\n", 3, &out, NULL, NULL);
	if (rc != 7 || !strstr(out, "37 91"))
		fail_msg("tty: exit %d, output \"%s\" (wanted \"37 91\" from stty size)", rc, out);
	/* a terminal has one output: stderr with tty is refused */
	exec_url(c, LBL("/bin/sh"), 1, 1, 1, 1, GRPC_STATUS_INVALID_ARGUMENT);
}

/* Does a process of container c have needle in its command line (ExecSync ps)? */
static int ctr_has_process(const char *c, const char *needle)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)c;
	req.cmd = (char **)LBL("/bin/sh", "-c", "ps -o args");
	req.n_cmd = 3;
	req.timeout = 10;
	Runtime__V1__ExecSyncResponse *r = call_ok(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor);
	char *s = tprintf("%.*s", (int)r->stdout.len, (const char *)r->stdout.data);
	return strstr(s, needle) != NULL;
}

/* A session of cmd (stdout when out, stdin when in) whose spdyclient is SIGKILLed while `sleep
 * SLEEP_ARG` runs: the command goes within 10 s, and the daemon holds nothing of the session. */
static void hangup_leaves_nothing(const char *name, int in, int out, const char *sleep_arg)
{
	if (!have_go())
		return;
	char *c = running_ctr(LABELS, tprintf("pod-%s", name), name, SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	int fds0 = daemon_fd_count();
	char *url = exec_url(c, LBL("/bin/sh", "-c", tprintf("sleep %s", sleep_arg)), 0, in, out, 0, GRPC_STATUS_OK);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1);
		if (in)
			execl(SPDYCLIENT_BIN, SPDYCLIENT_BIN, "exec", "-i", url, (char *)NULL);
		else
			execl(SPDYCLIENT_BIN, SPDYCLIENT_BIN, "exec", url, (char *)NULL);
		_exit(127);
	}
	int64_t until = now_ms() + WAIT_MS;
	while (!ctr_has_process(c, tprintf("sleep %s", sleep_arg)) && now_ms() < until)
		sleep_ms(100);
	assert_true(ctr_has_process(c, tprintf("sleep %s", sleep_arg)));
	kill(pid, SIGKILL); /* the client goes away without a word */
	waitpid(pid, NULL, 0);
	until = now_ms() + 10000;
	while (ctr_has_process(c, tprintf("sleep %s", sleep_arg)) && now_ms() < until)
		sleep_ms(100);
	if (ctr_has_process(c, tprintf("sleep %s", sleep_arg)))
		fail_msg("the exec'd command still runs 10 s after its client went away");
	/* and the daemon holds nothing of the session any more */
	int fds = daemon_fd_count_settled(fds0);
	if (fds > fds0)
		fail_msg("the daemon holds %d descriptors 10 s after the session's client went away (before: %d)", fds, fds0);
}

static void test_exec_hangup_leaves_nothing(void **state)
{
	(void)state;
	if (!have_go())
		return;
	hangup_leaves_nothing("stream-hangup", 0, 1, "4321");
	/* stdin alone: the session waits for the command from its start (no output to end first) */
	hangup_leaves_nothing("stream-hangup-in", 1, 0, "4322");
}

static void stdin_once(Runtime__V1__ContainerConfig *cc)
{
	cc->stdin = 1;
	cc->stdin_once = 1;
}

static void test_attach_cat(void **state)
{
	(void)state;
	if (!have_go())
		return;
	char *c = running_ctr(LABELS, "pod-stream-attach", "cat", "exec cat", stdin_once, NULL, NULL, NULL);
	Runtime__V1__AttachRequest req = RUNTIME__V1__ATTACH_REQUEST__INIT;
	req.container_id = c;
	req.stdin = req.stdout = 1;
	Runtime__V1__AttachResponse *r = call_ok(RT "Attach", &req.base, &runtime__v1__attach_response__descriptor);
	char *out;
	int rc = run_client(LBL(SPDYCLIENT_BIN, "exec", "-i", r->url), "hello attach\n", 13, &out, NULL, NULL);
	if (rc != 0 || strcmp(out, "hello attach\n"))
		fail_msg("attach: exit %d, stdout \"%s\"", rc, out);
	/* stdin_once: the end of our stdin ended the container's; cat has exited */
	assert_exited(wait_ctr_state(c, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 0, "Completed");

	/* the same over WebSocket v5, whose close signal ends stdin */
	c = running_ctr(LABELS, "pod-stream-attach-ws", "cat-ws", "exec cat", stdin_once, NULL, NULL, NULL);
	req.container_id = c;
	r = call_ok(RT "Attach", &req.base, &runtime__v1__attach_response__descriptor);
	rc = run_client(LBL(PYTHON3, WSCLIENT_PY, "exec", "-i", "v5.channel.k8s.io", r->url), "hello ws\n", 9, &out, NULL,
			NULL);
	if (rc != 0 || strcmp(out, "hello ws\n"))
		fail_msg("attach over WebSocket: exit %d, stdout \"%s\"", rc, out);
	assert_exited(wait_ctr_state(c, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED), 0, "Completed");
}

static char *pf_url(const char *pod, grpc_status_code want)
{
	Runtime__V1__PortForwardRequest req = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
	req.pod_sandbox_id = (char *)pod;
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st = rpc(RT "PortForward", &req.base, &runtime__v1__port_forward_response__descriptor, &resp,
				  &details, CALL_TIMEOUT_MS);
	if (st != want)
		fail_msg("PortForward: status %d (%s), wanted %d", st, details ? details : "", want);
	if (st != GRPC_STATUS_OK)
		return NULL;
	return ((Runtime__V1__PortForwardResponse *)resp)->url;
}

static void test_port_forward_pod_loopback(void **state)
{
	(void)state;
	if (!have_go())
		return;
	char *pod;
	running_ctr(LABELS, "pod-stream-pf", "httpd",
		    "mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www",
		    NULL, &pod, NULL, NULL);
	const char *get = "GET /index.html HTTP/1.0\r\n\r\n";
	char *out = "", *err = "";
	int rc = -1;
	for (int64_t until = now_ms() + WAIT_MS; now_ms() < until; sleep_ms(200)) { /* httpd starting */
		rc = run_client(LBL(SPDYCLIENT_BIN, "portforward", pf_url(pod, GRPC_STATUS_OK), "8080"), get, strlen(get),
				&out, NULL, &err);
		if (rc == 0 && strstr(out, "hello-from-the-pod"))
			break;
	}
	if (rc != 0 || !strstr(out, "hello-from-the-pod"))
		fail_msg("port forward: exit %d, got \"%s\", error \"%s\"", rc, out, err);
	rc = run_client(LBL(SPDYCLIENT_BIN, "portforward", pf_url(pod, GRPC_STATUS_OK), "8081"), "x", 1, &out, NULL, &err);
	if (rc != 1 || !strstr(err, "error forwarding port 8081"))
		fail_msg("refused port: exit %d, error \"%s\"", rc, err);
	/* over WebSocket (v4.channel.k8s.io, the port in the query) */
	rc = run_client(LBL(PYTHON3, WSCLIENT_PY, "portforward", pf_url(pod, GRPC_STATUS_OK), "8080"), get, strlen(get),
			&out, NULL, &err);
	if (rc != 0 || !strstr(out, "hello-from-the-pod"))
		fail_msg("port forward over WebSocket: exit %d, got \"%s\", error \"%s\"", rc, out, err);
	rc = run_client(LBL(PYTHON3, WSCLIENT_PY, "portforward", pf_url(pod, GRPC_STATUS_OK), "8081"), "x", 1, &out, NULL,
			&err);
	if (rc != 1 || !strstr(err, "error forwarding port 8081"))
		fail_msg("refused port over WebSocket: exit %d, error \"%s\"", rc, err);
}

/*
 * 50 sessions at once, each streaming 10 MiB out of the container (`spdyclient load`, the load test
 * stream_spdy runs on stream_host): all complete with every byte, the daemon's RSS grows by 256 MiB
 * at most (printed), Status and ListContainers keep being answered meanwhile.
 */
static void test_concurrent_sessions(void **state)
{
	(void)state;
	if (!have_go())
		return;
	enum { N = 50 };
	const long size = 10L << 20;
	char *c = running_ctr(LABELS, "pod-stream-many", "many", SLEEP_FOREVER, NULL, NULL, NULL, NULL);
	const char *argv[N + 6] = { SPDYCLIENT_BIN, "load", tprintf("%d", (int)fx.d.pid), tprintf("%ld", size),
				    tprintf("%d", 256 * 1024) };
	for (int i = 0; i < N; i++)
		argv[5 + i] = exec_url(c, LBL("/bin/sh", "-c", tprintf("head -c %ld /dev/zero", size)), 0, 0, 1, 0,
				       GRPC_STATUS_OK);
	const char *out = tprintf("%s/load.out", fx.d.dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1), dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int64_t slowest = 0, t0 = now_ms();
	int st;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		int64_t t = now_ms();
		Runtime__V1__StatusRequest sr = RUNTIME__V1__STATUS_REQUEST__INIT;
		call_ok(RT "Status", &sr.base, &runtime__v1__status_response__descriptor);
		list_ctrs(NULL);
		if (now_ms() - t > slowest)
			slowest = now_ms() - t;
		if (now_ms() - t0 > WAIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("the sessions did not end within %d s", WAIT_MS / 1000);
		}
		sleep_ms(100);
	}
	char *said = harness_slurp(out);
	own(said, free);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("spdyclient load (status 0x%x): %s", st, said ? said : "");
	print_message("%s  slowest Status + ListContainers meanwhile %lld ms\n", said ? said : "", (long long)slowest);
}

static void test_errors(void **state)
{
	(void)state;
	char *pod;
	char *c = running_ctr(LABELS, "pod-stream-err", "err", SLEEP_FOREVER, NULL, &pod, NULL, NULL);
	if (have_go()) {
		char *url = exec_url(c, LBL("/bin/sh", "-c", "true"), 0, 0, 1, 0, GRPC_STATUS_OK), *out, *err;
		assert_int_equal(run_client(LBL(SPDYCLIENT_BIN, "exec", url), NULL, 0, &out, NULL, &err), 0);
		int rc = run_client(LBL(SPDYCLIENT_BIN, "exec", url), NULL, 0, &out, NULL, &err);
		if (rc != 1 || !strstr(err, "404"))
			fail_msg("a reused token: exit %d, \"%s\"", rc, err);
	}
	int fds0 = daemon_fd_count();
	stop_ctr(c, 0);
	exec_url(c, LBL("/bin/sh", "-c", "true"), 0, 0, 1, 0, GRPC_STATUS_FAILED_PRECONDITION);
	stop_pod(pod);
	pf_url(pod, GRPC_STATUS_FAILED_PRECONDITION);
	pf_url(random_id(), GRPC_STATUS_NOT_FOUND);
	/* refusals hold nothing (the stop's background delete held some for a while) */
	assert_true(daemon_fd_count_settled(fds0) <= fds0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_output_and_exit_code, up, down),
		cmocka_unit_test_setup_teardown(test_exec_stdin_binary, up, down),
		cmocka_unit_test_setup_teardown(test_exec_tty_resize, up, down),
		cmocka_unit_test_setup_teardown(test_exec_hangup_leaves_nothing, up, down),
		cmocka_unit_test_setup_teardown(test_attach_cat, up, down),
		cmocka_unit_test_setup_teardown(test_port_forward_pod_loopback, up, down),
		cmocka_unit_test_setup_teardown(test_concurrent_sessions, up, down),
		cmocka_unit_test_setup_teardown(test_errors, up, down),
	};
	return podfix_main("stream", tests, sizeof tests / sizeof *tests);
}
