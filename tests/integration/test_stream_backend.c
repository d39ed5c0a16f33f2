/*
 * test_stream_backend.c — the container side of streaming against real containers: tty and stdin
 * containers made through the daemon (CreateContainer), then the runtime's session ops
 * (runtime.h: exec_start, attach, session_*) and podns_connect called from this process on the
 * daemon's own state directories (its runc root, exit and socket directories, the containers'
 * bundles and the pods' pinned network namespaces), as src/cri/stream_backend.c calls them.
 *
 *   exec: pipes (1 MiB of binary through stdin back byte for byte, stderr apart, exit codes, a
 *   signal's 128+N), a terminal (resize seen by `stty size`), a command that cannot start, a
 *   stopped or unknown container, and the end of a session killing the command with its children.
 *   attach: a `cat` container with stdin (output back and in the log, detach and attach again,
 *   stdin_once ending stdin), a terminal container (resize through conmon).
 *   port_connect: a server on 127.0.0.1 inside a pod's own network namespace, a refused port.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "podfix.h"
#include "runtime/podns.h"
#include "runtime/runtime.h"

static const char *const LABELS[] = { "app", "stream", NULL };

static struct runtime *rt;

static void rt_open(void)
{
	struct rt_oci_config c = {
		.runtime_path = RUNC,
		.conmon_path = "/usr/bin/conmon",
		.root = tprintf("%s/runc", fx.d.state),
		.exit_dir = tprintf("%s/exits", fx.d.state),
		.socket_dir = tprintf("%s/attach", fx.d.state),
	};
	struct lc_err err = { 0 };
	if (runtime_oci_new(&c, &rt, &err) < 0)
		fail_msg("runtime: %s", err.msg);
}

static int stream_up(void **state)
{
	signal(SIGPIPE, SIG_IGN); /* a session's reader that has gone: EPIPE, as in the daemon */
	int rc = up(state);
	if (rc == 0)
		rt_open();
	return rc;
}

static int stream_down(void **state)
{
	runtime_free(rt);
	rt = NULL;
	return down(state);
}

static const char *bundle_of(const char *id)
{
	return tprintf("%s/containers/%s", fx.d.state, id);
}

/* A RUNNING container of a new pod running script; fn adjusts its config. */
static char *running(const char *name, const char *script, void (*fn)(Runtime__V1__ContainerConfig *), char **pod)
{
	return running_ctr(LABELS, tprintf("%s-pod", name), name, script, fn, pod, NULL, NULL);
}

/* --- descriptors ---------------------------------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail_msg("write: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/* Read fd until EOF (or EIO: a terminal's end), at most WAIT_MS: the bytes (owned), *len. */
static char *read_to_end(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pf, 1, left) == 0) {
			buf[n] = '\0';
			fail_msg("no EOF within %d s; read so far (%zu bytes): %.200s", WAIT_MS / 1000, n, buf);
		}
		if (n == cap && !(buf = realloc(buf, (cap *= 2) + 1)))
			fail();
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && errno == EIO))
			break;
		if (r < 0)
			fail_msg("read: %s", strerror(errno));
		n += (size_t)r;
	}
	buf[n] = '\0';
	own(buf, free);
	if (len)
		*len = n;
	return buf;
}

/* Read fd until what was read contains needle (at most WAIT_MS): all of it (owned). */
static char *read_until(int fd, const char *needle)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = talloc(cap + 1);
	int64_t deadline = now_ms() + WAIT_MS;
	while (!strstr(buf, needle)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pf, 1, left) == 0 || n == cap)
			fail_msg("no \"%s\" within %d s; read: \"%s\"", needle, WAIT_MS / 1000, buf);
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("no \"%s\" before the end (%s); read: \"%s\"", needle, r ? strerror(errno) : "EOF", buf);
		n += (size_t)r;
		buf[n] = '\0';
	}
	return buf;
}

static void close_fds(int fds[3])
{
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = fds[2] = -1;
}

/* --- terminals ------------------------------------------------------------------------------ */

/* Resize the session's terminal to width x height; `stty size` run in it (after settle_ms) reports it. */
static void stty_sees(struct rt_session *s, int fds[3], unsigned width, unsigned height, int settle_ms)
{
	struct lc_err err = { 0 };
	if (rt_session_resize(rt, s, width, height, &err) < 0)
		fail_msg("resize: %s", err.msg);
	sleep_ms(settle_ms);
	const char *cmd = "stty size; echo mark-$((6*7))\n";
	write_all(fds[0], cmd, strlen(cmd));
	char *seen = read_until(fds[1], "mark-42");
	if (!strstr(seen, tprintf("%u %u", height, width)))
		fail_msg("stty size did not report %u %u: \"%s\"", height, width, seen);
}

static int wait_ok(struct rt_session *s);

/* The shell on the session's terminal exits with code: the output ends, wait says so, the session ends. */
static void tty_exit(struct rt_session *s, int fds[3], int code)
{
	const char *cmd = tprintf("exit %d\n", code);
	write_all(fds[0], cmd, strlen(cmd));
	read_to_end(fds[1], NULL);
	assert_int_equal(wait_ok(s), code);
	rt_session_close(rt, s);
	close_fds(fds);
}

/* --- exec ----------------------------------------------------------------------------------- */

static int exec_start_st(const char *id, const char *const *args, const struct rt_stdio *io, struct rt_session **s,
			 int fds[3], struct lc_err *err)
{
	size_t n = 0;
	while (args[n])
		n++;
	struct rt_exec x = { .id = id, .bundle = bundle_of(id), .args = (char *const *)args, .n_args = n };
	return rt_exec_start(rt, &x, io, s, fds, err);
}

static struct rt_session *exec_start_ok(const char *id, const char *const *args, const struct rt_stdio *io,
					int fds[3])
{
	struct lc_err err = { 0 };
	struct rt_session *s = NULL;
	if (exec_start_st(id, args, io, &s, fds, &err) < 0)
		fail_msg("exec_start %s: %s", args[0], err.msg);
	assert_non_null(s);
	return s;
}

static int wait_ok(struct rt_session *s)
{
	struct lc_err err = { 0 };
	int code = -1;
	if (rt_session_wait(rt, s, &code, &err) < 0)
		fail_msg("session_wait: %s", err.msg);
	return code;
}

struct feeder {
	int fd;
	const char *p;
	size_t n;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	write_all(f->fd, f->p, f->n);
	close(f->fd);
	return NULL;
}

/* Pipes: 1 MiB of random bytes through `cat` back byte for byte; stderr apart; exit codes. */
static void test_exec_pipes(void **state)
{
	(void)state;
	char *c = running("pipes", SLEEP_FOREVER, NULL, NULL);
	size_t n = 1 << 20;
	char *data = talloc(n);
	assert_int_equal(getrandom(data, n, 0), (ssize_t)n);
	int fds[3];
	const struct rt_stdio io = { .in = 1, .out = 1, .err = 1 };
	struct rt_session *s =
		exec_start_ok(c, (const char *const[]){ "sh", "-c", "cat; echo to-stderr >&2; exit 3", NULL }, &io, fds);
	assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
	struct feeder f = { fds[0], data, n };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	size_t got;
	char *out = read_to_end(fds[1], &got);
	pthread_join(t, NULL);
	fds[0] = -1; /* closed by the feeder: the command's EOF */
	assert_int_equal(got, n);
	assert_memory_equal(out, data, n);
	assert_string_equal(read_to_end(fds[2], NULL), "to-stderr\n");
	assert_int_equal(wait_ok(s), 3);
	rt_session_close(rt, s);
	close_fds(fds);

	/* no stdin asked: /dev/null; only stdout; a signal: 128+N */
	const struct rt_stdio out_only = { .out = 1 };
	s = exec_start_ok(c, (const char *const[]){ "sh", "-c", "cat; echo done; echo lost >&2", NULL }, &out_only, fds);
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[2], -1);
	assert_string_equal(read_to_end(fds[1], NULL), "done\n");
	assert_int_equal(wait_ok(s), 0);
	rt_session_close(rt, s);
	close_fds(fds);
	s = exec_start_ok(c, (const char *const[]){ "sh", "-c", "echo x; kill -9 $$", NULL }, &out_only, fds);
	assert_string_equal(read_to_end(fds[1], NULL), "x\n");
	assert_int_equal(wait_ok(s), 128 + SIGKILL);
	rt_session_close(rt, s);
	close_fds(fds);
}

/* A terminal: one stream, resizes seen by `stty size` inside, the shell's exit code. */
static void test_exec_tty(void **state)
{
	(void)state;
	char *c = running("tty", SLEEP_FOREVER, NULL, NULL);
	int fds[3];
	const struct rt_stdio io = { .tty = 1, .in = 1, .out = 1, .err = 1 };
	struct rt_session *s = exec_start_ok(c, (const char *const[]){ "sh", NULL }, &io, fds);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	assert_int_equal(fds[2], -1); /* a terminal has one stream */
	stty_sees(s, fds, 111, 33, 0);
	stty_sees(s, fds, 100, 40, 0);
	tty_exit(s, fds, 5);

	/* a session without a terminal cannot be resized */
	const struct rt_stdio pipes = { .out = 1 };
	s = exec_start_ok(c, (const char *const[]){ "sh", "-c", "true", NULL }, &pipes, fds);
	struct lc_err err = { 0 };
	assert_int_equal(rt_session_resize(rt, s, 80, 24, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	read_to_end(fds[1], NULL);
	assert_int_equal(wait_ok(s), 0);
	rt_session_close(rt, s);
	close_fds(fds);
}

/* The processes of container c (their command lines), through ExecSync. */
static char *ctr_ps(const char *c)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)c;
	char *cmd[] = { "sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done" };
	req.cmd = cmd;
	req.n_cmd = 3;
	req.timeout = 30;
	Runtime__V1__ExecSyncResponse *r =
		call_ok(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor);
	assert_int_equal(r->exit_code, 0);
	return tprintf("%.*s", (int)r->stdout.len, (const char *)r->stdout.data);
}

/* Ending a session whose command still runs kills it and what it started; the container runs on. */
static void test_exec_close_kills_tree(void **state)
{
	(void)state;
	char *c = running("hangup", SLEEP_FOREVER, NULL, NULL);
	for (int tty = 0; tty < 2; tty++) {
		int fds[3];
		const struct rt_stdio io = { .tty = tty, .in = 1, .out = 1 };
		struct rt_session *s = exec_start_ok(
			c, (const char *const[]){ "sh", "-c", "sleep 4101 & sleep 4102 & echo started; sleep 4103", NULL },
			&io, fds);
		read_until(fds[1], "started");
		char *ps = ctr_ps(c);
		if (!strstr(ps, "sleep 4101") || !strstr(ps, "sleep 4103"))
			fail_msg("the command's processes are not in the container: %s", ps);
		rt_session_close(rt, s); /* the client hung up */
		ps = ctr_ps(c);
		if (strstr(ps, "sleep 410"))
			fail_msg("processes of the closed session still run (tty %d):\n%s", tty, ps);
		close_fds(fds);
	}
	Runtime__V1__ContainerStatusResponse *st;
	char *details;
	assert_int_equal(ctr_status_st(c, 0, &st, &details), GRPC_STATUS_OK);
	assert_int_equal(st->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
}

/* What cannot start: a missing command (ENOEXEC), a stopped container (ESRCH), an unknown one. */
static void test_exec_refused(void **state)
{
	(void)state;
	char *c = running("refused", SLEEP_FOREVER, NULL, NULL);
	int fds[3] = { 7, 7, 7 };
	struct rt_session *s = NULL;
	struct lc_err err = { 0 };
	const struct rt_stdio io = { .in = 1, .out = 1, .err = 1 };
	assert_int_equal(exec_start_st(c, (const char *const[]){ "/no/such/program", NULL }, &io, &s, fds, &err), -1);
	assert_int_equal(err.errnum, ENOEXEC);
	if (!strstr(err.msg, "/no/such/program"))
		fail_msg("the message does not name the program: %s", err.msg);
	assert_null(s);
	assert_true(fds[0] == -1 && fds[1] == -1 && fds[2] == -1);
	const struct rt_stdio tty_no_out = { .tty = 1, .in = 1 };
	assert_int_equal(exec_start_st(c, (const char *const[]){ "sh", NULL }, &tty_no_out, &s, fds, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	char *unknown = random_id();
	assert_int_equal(exec_start_st(unknown, (const char *const[]){ "true", NULL }, &io, &s, fds, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	stop_ctr(c, 0);
	/* Stopped: not running (ESRCH) — or unknown (ENOENT) once the daemon has deleted its runtime
	 * container, which it does in the background when the exit is recorded. */
	assert_int_equal(exec_start_st(c, (const char *const[]){ "true", NULL }, &io, &s, fds, &err), -1);
	if (err.errnum != ESRCH && err.errnum != ENOENT)
		fail_msg("exec in a stopped container: %s", err.msg);
	assert_int_equal(rt_attach(rt, c, bundle_of(c), &io, &s, fds, &err), -1);
	if (err.errnum != ESRCH && err.errnum != ENOENT)
		fail_msg("attach to a stopped container: %s", err.msg);
	assert_int_equal(rt_attach(rt, unknown, bundle_of(c), &io, &s, fds, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
}

/* --- tty and stdin containers, attach ------------------------------------------------------- */

static void with_stdin(Runtime__V1__ContainerConfig *c)
{
	c->stdin = 1;
}

static void with_stdin_once(Runtime__V1__ContainerConfig *c)
{
	c->stdin = 1;
	c->stdin_once = 1;
}

static void with_tty_stdin(Runtime__V1__ContainerConfig *c)
{
	c->stdin = 1;
	c->tty = 1;
}

static struct rt_session *attach_ok(const char *c, const struct rt_stdio *io, int fds[3])
{
	struct lc_err err = { 0 };
	struct rt_session *s = NULL;
	if (rt_attach(rt, c, bundle_of(c), io, &s, fds, &err) < 0)
		fail_msg("attach %s: %s", c, err.msg);
	return s;
}

/* A tty container's log is one stream (stdout), whatever the process wrote to stderr. */
static void test_tty_container_log(void **state)
{
	(void)state;
	char *c = running("ttylog", "echo to-out; echo to-err >&2; tty; " SLEEP_FOREVER, with_tty_stdin, NULL);
	const char *log = log_path_of("ttylog");
	char *text = wait_log(log, "to-err");
	if (strstr(text, " stderr "))
		fail_msg("a tty container's log has a stderr line:\n%s", text);
	if (!strstr(text, " stdout F to-out\r") || !strstr(text, " stdout F to-err\r") || !strstr(text, "/dev/pts/"))
		fail_msg("unexpected log of a tty container:\n%s", text);
	stop_ctr(c, 0);
}

/* Attach to `cat` with stdin: what is sent comes back and is in the log; detaching leaves the
 * container running with stdin open (not stdin_once), so a second attachment works too. */
static void test_attach_cat(void **state)
{
	(void)state;
	char *c = running("cat", "exec cat", with_stdin, NULL);
	const char *log = log_path_of("cat");
	for (int round = 0; round < 2; round++) {
		int fds[3];
		const struct rt_stdio io = { .in = 1, .out = 1, .err = 1 };
		struct rt_session *s = attach_ok(c, &io, fds);
		assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
		const char *line = round ? "second attach\n" : "first attach\n";
		write_all(fds[0], line, strlen(line));
		read_until(fds[1], line);
		wait_log(log, round ? "stdout F second attach" : "stdout F first attach");
		rt_session_close(rt, s); /* detach; the session's descriptors are its own */
		close_fds(fds);
	}
	sleep_ms(300);
	Runtime__V1__ContainerStatusResponse *st;
	char *details;
	assert_int_equal(ctr_status_st(c, 0, &st, &details), GRPC_STATUS_OK);
	assert_int_equal(st->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

	/* 256 KiB of text through conmon both ways, in packets larger than conmon's buffers */
	int fds[3];
	const struct rt_stdio io = { .in = 1, .out = 1 };
	struct rt_session *s = attach_ok(c, &io, fds);
	size_t n = 256 << 10;
	char *data = talloc(n + 1);
	for (size_t i = 0; i < n; i++)
		data[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	data[n - 1] = '#';
	struct feeder f = { fds[0], data, n };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	char *back = talloc(n);
	for (size_t got = 0; got < n;) {
		struct pollfd pf = { .fd = fds[1], .events = POLLIN };
		if (poll(&pf, 1, WAIT_MS) != 1)
			fail_msg("attach: %zu of %zu bytes back after %d s", got, n, WAIT_MS / 1000);
		ssize_t r = read(fds[1], back + got, n - got);
		if (r <= 0)
			fail_msg("attach: the output ended after %zu of %zu bytes", got, n);
		got += (size_t)r;
	}
	pthread_join(t, NULL);
	fds[0] = -1;
	assert_memory_equal(back, data, n);
	rt_session_close(rt, s);
	close_fds(fds);
}

/* stdin_once: the end of the first attachment's stdin ends the container's; cat exits 0, the
 * output ends, and wait reports the main process's exit code. */
static void test_attach_stdin_once(void **state)
{
	(void)state;
	char *c = running("once", "cat; echo cat-done; exit 4", with_stdin_once, NULL);
	int fds[3];
	const struct rt_stdio io = { .in = 1, .out = 1, .err = 1 };
	struct rt_session *s = attach_ok(c, &io, fds);
	write_all(fds[0], "only once\n", 10);
	read_until(fds[1], "only once\n");
	close(fds[0]);
	fds[0] = -1;
	char *rest = read_to_end(fds[1], NULL);
	if (!strstr(rest, "cat-done"))
		fail_msg("after stdin ended: \"%s\"", rest);
	read_to_end(fds[2], NULL);
	assert_int_equal(wait_ok(s), 4);
	rt_session_close(rt, s);
	close_fds(fds);
	wait_ctr_state(c, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
}

/* A terminal container: attach with its terminal, resize through conmon, `stty size` sees it. */
static void test_attach_tty(void **state)
{
	(void)state;
	char *c = running("ttyattach", "exec sh", with_tty_stdin, NULL);
	int fds[3];
	const struct rt_stdio io = { .tty = 1, .in = 1, .out = 1 };
	struct rt_session *s = attach_ok(c, &io, fds);
	assert_int_equal(fds[2], -1);
	stty_sees(s, fds, 123, 45, 200); /* conmon applies it asynchronously (its control FIFO) */
	tty_exit(s, fds, 6);
	wait_log(log_path_of("ttyattach"), "mark-42"); /* the session's output is in the log too */
}

/* --- port_connect --------------------------------------------------------------------------- */

#define POD_PORT 38471

static void test_port_connect(void **state)
{
	(void)state;
	char *pod;
	running("web",
		"mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && "
		"exec httpd -f -p 127.0.0.1:" "38471" " -h /tmp/www",
		NULL, &pod);
	const char *netns = tprintf("%s/sandboxes/%s/ns/net", fx.d.state, pod);
	struct lc_err err = { 0 };
	int fd = -1;
	int64_t deadline = now_ms() + WAIT_MS;
	while (podns_connect(netns, POD_PORT, &fd, &err) < 0) { /* until httpd listens */
		assert_int_equal(err.errnum, ECONNREFUSED);
		if (now_ms() > deadline)
			fail_msg("httpd in the pod never accepted: %s", err.msg);
		sleep_ms(50);
	}
	const char *req = "GET /index.html HTTP/1.0\r\n\r\n";
	write_all(fd, req, strlen(req));
	char *resp = read_to_end(fd, NULL);
	close(fd);
	if (!strstr(resp, "200 OK") || !strstr(resp, "hello-from-pod"))
		fail_msg("response: %s", resp);
	/* the port is the pod's: on the host nothing listens there, and a closed port is refused */
	assert_int_equal(podns_connect(NULL, POD_PORT, &fd, &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_int_equal(podns_connect(netns, POD_PORT + 1, &fd, &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_int_equal(podns_connect(netns, 0, &fd, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(podns_connect(tprintf("%s/sandboxes/%s/ns/net", fx.d.state, random_id()), POD_PORT, &fd, &err),
			 -1);
	assert_int_equal(err.errnum, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_pipes, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_exec_tty, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_exec_close_kills_tree, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_exec_refused, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_tty_container_log, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_attach_cat, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_attach_stdin_once, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_attach_tty, stream_up, stream_down),
		cmocka_unit_test_setup_teardown(test_port_connect, stream_up, stream_down),
	};
	return podfix_main("stream_backend", tests, sizeof tests / sizeof *tests);
}
