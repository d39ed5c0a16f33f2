/* harness.c — see harness.h. */
#include "harness.h"
#include "../common/tmpdir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What this process started, by value: a failed test longjmps past its own cleanup. */
#define MAX_TRACKED 64
static pid_t tracked_pids[MAX_TRACKED];
static char tracked_dirs[MAX_TRACKED][64];

static void track_pid(pid_t pid, int add)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (add ? tracked_pids[i] == 0 : tracked_pids[i] == pid) {
			tracked_pids[i] = add ? pid : 0;
			return;
		}
}

static void track_dir(const char *dir, int add)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (add ? tracked_dirs[i][0] == '\0' : strcmp(tracked_dirs[i], dir) == 0) {
			if (add)
				snprintf(tracked_dirs[i], sizeof tracked_dirs[i], "%s", dir);
			else
				tracked_dirs[i][0] = '\0';
			return;
		}
}

int harness_reap_all(void)
{
	int n = 0;
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_pids[i] > 0) {
			kill(tracked_pids[i], SIGKILL);
			waitpid(tracked_pids[i], NULL, 0);
			tracked_pids[i] = 0;
			n++;
		}
		if (tracked_dirs[i][0]) {
			tmpdir_remove(tracked_dirs[i]);
			tracked_dirs[i][0] = '\0';
			n++;
		}
	}
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int harness_init(struct daemon *d)
{
	memset(d, 0, sizeof *d);
	d->pid = -1;
	if (tmpdir_make(d->dir, sizeof d->dir, "daemon") < 0)
		return -1;
	track_dir(d->dir, 1);
	snprintf(d->sock, sizeof d->sock, "%s/run/litecri.sock", d->dir);
	snprintf(d->endpoint, sizeof d->endpoint, "unix://%s", d->sock);
	snprintf(d->root, sizeof d->root, "%s/lib", d->dir);
	snprintf(d->db, sizeof d->db, "%s/lib/litecri.db", d->dir);
	snprintf(d->state, sizeof d->state, "%s/state", d->dir);
	snprintf(d->config, sizeof d->config, "%s/litecri.conf", d->dir);
	snprintf(d->log, sizeof d->log, "%s/daemon.log", d->dir);
	snprintf(d->cni, sizeof d->cni, "%s/cni", d->dir);
	if (tmpdir_write(d->config, "", 0644) < 0)
		return -1;
	static const char loopback[] =
		"{\"cniVersion\": \"1.0.0\", \"name\": \"litecri-test-lo\", \"plugins\": [{\"type\": \"loopback\"}]}\n";
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/99-loopback.conflist", d->cni);
	return mkdir(d->cni, 0755) < 0 ? -1 : tmpdir_write(path, loopback, 0644);
}

int harness_can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return 0;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static pid_t spawn(const char *const *argv, const char *out_file, int no_stdin)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int fd = open(out_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	int nul = no_stdin ? -1 : open("/dev/null", O_RDONLY);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	} else {
		close(STDIN_FILENO);
	}
	/* The test process may block signals; the child must start with a clean mask. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int harness_spawn(struct daemon *d, const char *const *extra)
{
	const char *argv[64];
	char listen[PATH_MAX + 16];
	snprintf(listen, sizeof listen, "unix://%s", d->sock);
	size_t n = 0;
	for (size_t i = 0; d->wrap && d->wrap[i] && n < 16; i++)
		argv[n++] = d->wrap[i];
	argv[n++] = LITECRI_BIN;
	argv[n++] = "--config";
	argv[n++] = d->config;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--db";
	argv[n++] = d->db;
	argv[n++] = "--root";
	argv[n++] = d->root;
	argv[n++] = "--state";
	argv[n++] = d->state;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	argv[n++] = "--cni-conf-dir";
	argv[n++] = d->cni;
	argv[n++] = "--cni-bin-dirs";
	argv[n++] = "/usr/lib/cni";
	for (size_t i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	struct stat st;
	d->log_from = stat(d->log, &st) == 0 ? (long)st.st_size : 0;
	d->pid = spawn(argv, d->log, d->no_stdin);
	if (d->pid < 0)
		return -1;
	track_pid(d->pid, 1);
	return 0;
}

/* 1 if log has recovery's own line ("recovery: N containers, M pods in X ms", info level). */
static int recovery_logged(const char *log)
{
	for (const char *p = log; (p = strstr(p, "recovery: ")); p++)
		if (isdigit((unsigned char)p[10]))
			return 1;
	return 0;
}

int harness_wait_ready(struct daemon *d, int *exit_status)
{
	char marker[64];
	snprintf(marker, sizeof marker, " ready (pid %d,", (int)d->pid);
	for (int i = 0; i < 2000; i++) {
		int st;
		pid_t w = waitpid(d->pid, &st, WNOHANG);
		if (w == d->pid) {
			track_pid(d->pid, 0);
			d->pid = -1;
			if (exit_status)
				*exit_status = status_code(st);
			return -1;
		}
		/* Ready means this daemon said so: the socket may belong to another one. */
		char *log = harness_slurp(d->log);
		const char *mine = log && (long)strlen(log) >= d->log_from ? log + d->log_from : NULL;
		int ready = mine && strstr(mine, marker) != NULL &&
			    (!recovery_logged(mine) || strstr(mine, "recovery: the work left to the background is done"));
		free(log);
		if (ready && harness_can_connect(d->sock))
			return 0;
		sleep_ms(10);
	}
	if (exit_status)
		*exit_status = -1;
	return -1;
}

int harness_start(struct daemon *d, const char *const *extra, int *exit_status)
{
	if (harness_spawn(d, extra) < 0)
		return -1;
	return harness_wait_ready(d, exit_status);
}

int harness_run(const char *const *argv, const char *out_file)
{
	pid_t pid = spawn(argv, out_file, 0);
	if (pid < 0)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status_code(st);
}

int harness_stop(struct daemon *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int st = 0;
	for (int i = 0; i < 3000; i++) {
		pid_t w = waitpid(d->pid, &st, WNOHANG);
		if (w == d->pid) {
			track_pid(d->pid, 0);
			d->pid = -1;
			return status_code(st);
		}
		sleep_ms(10);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	track_pid(d->pid, 0);
	d->pid = -1;
	return -1;
}

int harness_kill(struct daemon *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGKILL);
	int st;
	pid_t w;
	while ((w = waitpid(d->pid, &st, 0)) < 0 && errno == EINTR)
		;
	track_pid(d->pid, 0);
	d->pid = -1;
	return w > 0 ? 0 : -1;
}

void harness_cleanup(struct daemon *d)
{
	if (d->pid > 0)
		harness_stop(d);
	if (d->dir[0]) {
		tmpdir_remove(d->dir);
		track_dir(d->dir, 0);
	}
	d->dir[0] = '\0';
}

char *harness_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (cap - len - 1 == 0) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}
