/*
 * stream_host.c — the streaming server (src/stream/) with a backend of the test's own that runs
 * commands on the host (pipes, or a pty for tty sessions) and connects to 127.0.0.1 ports: it
 * tests the protocol layer (HTTP, SPDY/3.1, WebSocket, relaying, limits) against clients no one
 * here wrote (spdyclient.go, wsclient.py), not containers.  Never part of the daemon.
 *
 * Usage: stream_host [--ttl-ms N] [--idle S] [--max-sessions N]
 * Prints "READY <base URL>", then answers one line per command on stdin:
 *   exec TTY IN OUT ERR ARG...   → URL        (TTY IN OUT ERR: 0 or 1; a line holding a tab is
 *                                             split at tabs only, so that ARGs may hold spaces)
 *   attach TTY IN OUT ERR        → URL        (the "main process" is a `cat` started per attach)
 *   portforward [PORT...]        → URL
 *   sessions                     → running sessions
 *   fds                          → open descriptors of this process
 *   procs                        → processes the backend started and has not reaped
 * "ERR <message>" on failure.  EOF or "quit": stop the server (ending every session) and exit.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "stream/stream.h"
#include "util/log.h"

struct proc {
	pid_t pid;
	int master; /* tty: the pty master (resize), else -1 */
	int reaped;
};

static pthread_mutex_t procs_mu = PTHREAD_MUTEX_INITIALIZER;
static int procs_live;

static int start(const struct stream_target *t, char *const *argv, struct stream_io *io, struct lc_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, master = -1, slave = -1;
	if (t->tty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
			return lc_fail(err, errno, "pty");
		slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			return lc_fail(err, errno, "pty slave");
	} else if ((t->in && pipe2(in, O_CLOEXEC) < 0) || (t->out && pipe2(out, O_CLOEXEC) < 0) ||
		   (t->err && pipe2(er, O_CLOEXEC) < 0)) {
		return lc_fail(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0)
		return lc_fail(err, errno, "fork");
	if (pid == 0) {
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (t->tty) {
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
		} else {
			dup2(t->in ? in[0] : null, 0);
			dup2(t->out ? out[1] : null, 1);
			dup2(t->err ? er[1] : null, 2);
		}
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	struct proc *p = calloc(1, sizeof *p);
	p->pid = pid;
	p->master = master;
	io->handle = p;
	io->tty = t->tty;
	io->in_fd = io->out_fd = io->err_fd = -1;
	if (t->tty) {
		close(slave);
		io->in_fd = t->in ? dup(master) : -1;
		io->out_fd = master;
		p->master = dup(master);
	} else {
		if (t->in)
			close(in[0]), io->in_fd = in[1];
		if (t->out)
			close(out[1]), io->out_fd = out[0];
		if (t->err)
			close(er[1]), io->err_fd = er[0];
	}
	pthread_mutex_lock(&procs_mu);
	procs_live++;
	pthread_mutex_unlock(&procs_mu);
	return 0;
}

static int host_exec(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err)
{
	(void)arg;
	return start(t, t->cmd, io, err);
}

static int host_attach(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err)
{
	(void)arg;
	static char *const cat[] = { "cat", NULL };
	return start(t, cat, io, err);
}

static int host_resize(void *arg, void *handle, unsigned w, unsigned h, struct lc_err *err)
{
	(void)arg;
	struct proc *p = handle;
	struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };
	if (p->master < 0 || ioctl(p->master, TIOCSWINSZ, &ws) < 0)
		return lc_fail(err, errno, "TIOCSWINSZ");
	return 0;
}

static void reaped(struct proc *p)
{
	p->reaped = 1;
	pthread_mutex_lock(&procs_mu);
	procs_live--;
	pthread_mutex_unlock(&procs_mu);
}

static int host_wait(void *arg, void *handle, int *code, struct lc_err *err)
{
	(void)arg;
	struct proc *p = handle;
	int st;
	while (waitpid(p->pid, &st, 0) < 0)
		if (errno != EINTR)
			return lc_fail(err, errno, "waitpid %d", (int)p->pid);
	reaped(p);
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

/* While host_wait may run on another thread: the process group, not reaped yet (it is our child, so
 * its pid cannot be reused before host_wait reaps it). */
static void host_kill(void *arg, void *handle)
{
	(void)arg;
	struct proc *p = handle;
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
}

static void host_close(void *arg, void *handle)
{
	(void)arg;
	struct proc *p = handle;
	if (!p->reaped) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		reaped(p);
	}
	if (p->master >= 0)
		close(p->master);
	free(p);
}

static int host_connect(void *arg, const char *pod, int port, int *fd, struct lc_err *err)
{
	(void)arg, (void)pod;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		if (s >= 0)
			close(s);
		return lc_fail(err, e, "connect to 127.0.0.1:%d", port);
	}
	*fd = s;
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the directory's own */
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	struct stream_config cfg = { .address = "127.0.0.1", .idle_timeout_s = 3600, .max_sessions = 128 };
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ttl-ms"))
			cfg.token_ttl_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--idle"))
			cfg.idle_timeout_s = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--max-sessions"))
			cfg.max_sessions = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--stream-timeout"))
			cfg.stream_timeout_s = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--tls"))
			cfg.tls_cert = argv[i + 1], cfg.tls_key = argv[i + 2], i++;
	}
	if (getenv("STREAM_HOST_DEBUG"))
		log_set_level(LOG_DEBUG);
	static const struct stream_backend be = { .exec_start = host_exec, .attach_start = host_attach,
						  .resize = host_resize, .wait = host_wait, .kill = host_kill, .close = host_close,
						  .port_connect = host_connect };
	struct stream_server *srv = NULL;
	struct lc_err err = { 0 };
	if (stream_server_start(&cfg, &be, &srv, &err) < 0) {
		fprintf(stderr, "stream_host: %s\n", err.msg);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY %s\n", stream_server_url(srv));
	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		char *words[256];
		int n = 0;
		const char *sep = strchr(line, '\t') ? "\t\n" : " \t\n";
		for (char *w = strtok(line, sep); w && n < 255; w = strtok(NULL, sep))
			words[n++] = w;
		words[n] = NULL;
		if (!n)
			continue;
		char url[512];
		if (!strcmp(words[0], "quit"))
			break;
		if (!strcmp(words[0], "sessions")) {
			printf("%d\n", stream_server_sessions(srv));
			continue;
		}
		if (!strcmp(words[0], "fds")) {
			printf("%d\n", count_fds());
			continue;
		}
		if (!strcmp(words[0], "procs")) {
			pthread_mutex_lock(&procs_mu);
			printf("%d\n", procs_live);
			pthread_mutex_unlock(&procs_mu);
			continue;
		}
		struct stream_request rq = { .id = "host" };
		int32_t ports[64];
		if (!strcmp(words[0], "portforward")) {
			rq.kind = STREAM_PORTFORWARD;
			for (int i = 1; i < n && i <= 64; i++)
				ports[rq.n_ports++] = atoi(words[i]);
			rq.ports = ports;
		} else if ((!strcmp(words[0], "exec") && n >= 6) || (!strcmp(words[0], "attach") && n == 5)) {
			rq.kind = words[0][0] == 'e' ? STREAM_EXEC : STREAM_ATTACH;
			rq.tty = atoi(words[1]), rq.in = atoi(words[2]), rq.out = atoi(words[3]), rq.err = atoi(words[4]);
			rq.cmd = words + 5;
			rq.n_cmd = (size_t)(n - 5);
		} else {
			printf("ERR unknown command %s\n", words[0]);
			continue;
		}
		if (stream_server_mint(srv, &rq, url, sizeof url, &err) < 0)
			printf("ERR %s\n", err.msg);
		else
			printf("%s\n", url);
	}
	stream_server_stop(srv);
	return 0;
}
