/* proc.c — see proc.h. */
#include "util/proc.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

extern char **environ;

#define OUT_MAX_DEFAULT (64 * 1024)
#define CHILD_STACK (256 * 1024) /* the child's own stack until its execve (touched: a few pages) */

/*
 * The child runs in the daemon's memory on a stack of its own (CLONE_VM, below): ASan's checks
 * of it (its "no return" stack bookkeeping above all) assume the calling thread's stack.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_CODE __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_CODE __attribute__((no_sanitize_address))
#endif
#endif
#ifndef CHILD_CODE
#define CHILD_CODE
#endif

/* What the child reports through the exec-error pipe before _exit(127). */
enum stage { STAGE_FDS = 1, STAGE_CHDIR, STAGE_EXEC, STAGE_PGRP };
struct report {
	int stage;
	int errnum;
};

/*
 * Everything the child needs, prepared before the clone: the child only makes async-signal-safe
 * calls and writes nothing of the daemon's memory but high[] and its own stack.
 */
struct child_args {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int own_group;
	int devnull, out_w, err_w, report_w;
	const int *keep;
	size_t n_keep;
	int *high;        /* n_keep + 4 slots: copies of the above above the target range */
	int max_fd;       /* for the close loop when close_range is missing */
	sigset_t none;
};

static void child_fail(int fd, enum stage stage, int errnum) __attribute__((noreturn));
CHILD_CODE static void child_fail(int fd, enum stage stage, int errnum)
{
	struct report rep = { stage, errnum };
	ssize_t n;
	do
		n = write(fd, &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
	_exit(127);
}

static void child(const struct child_args *a) __attribute__((noreturn));
CHILD_CODE static void child(const struct child_args *a)
{
	/* Every signal is blocked (by the parent, around the clone): reset dispositions, then unblock. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL); /* SIGKILL, SIGSTOP and libc-internal ones fail: fine */
	sigprocmask(SIG_SETMASK, &a->none, NULL);

	/*
	 * Layout: 0-2 stdio, 3.. the kept descriptors, then the report pipe (close-on-exec).  Copy
	 * every source above that range first so no dup2 clobbers a source still needed.
	 */
	int n = (int)a->n_keep;
	int report_fd = 3 + n;
	int base = report_fd + 1;
	int src[4] = { a->devnull, a->out_w, a->err_w, a->report_w };
	for (int i = 0; i < 4; i++) {
		a->high[i] = fcntl(src[i], F_DUPFD, base);
		if (a->high[i] < 0)
			child_fail(a->report_w, STAGE_FDS, errno);
	}
	for (int i = 0; i < n; i++) {
		a->high[4 + i] = fcntl(a->keep[i], F_DUPFD, base);
		if (a->high[4 + i] < 0)
			child_fail(a->report_w, STAGE_FDS, errno);
	}
	if (dup2(a->high[3], report_fd) < 0 || fcntl(report_fd, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(a->high[3], STAGE_FDS, errno);
	for (int i = 0; i < 3; i++)
		if (dup2(a->high[i], i) < 0)
			child_fail(report_fd, STAGE_FDS, errno);
	for (int i = 0; i < n; i++)
		if (dup2(a->high[4 + i], 3 + i) < 0)
			child_fail(report_fd, STAGE_FDS, errno);
	if (syscall(SYS_close_range, (unsigned)base, ~0U, 0) < 0)
		for (int fd = base; fd < a->max_fd; fd++)
			close(fd);

	if (a->own_group && setpgid(0, 0) < 0)
		child_fail(report_fd, STAGE_PGRP, errno);
	if (a->cwd && chdir(a->cwd) < 0)
		child_fail(report_fd, STAGE_CHDIR, errno);
	execve(a->path, a->argv, a->envp);
	child_fail(report_fd, STAGE_EXEC, errno);
}

CHILD_CODE static int child_main(void *a)
{
	child(a);
}

/* Bytes kept from one stream: up to max, the rest read and dropped. */
struct sink {
	int fd;
	char *p;
	size_t len, cap, max;
	size_t dropped; /* bytes read beyond max */
};

static int sink_read(struct sink *s)
{
	char chunk[16384];
	ssize_t n = read(s->fd, chunk, sizeof chunk);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	size_t keep = (size_t)n;
	if (keep > s->max - s->len)
		keep = s->max - s->len;
	s->dropped += (size_t)n - keep;
	if (keep == 0)
		return 0;
	if (s->len + keep + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + keep + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		char *p = realloc(s->p, cap);
		if (!p)
			return -1;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, chunk, keep);
	s->len += keep;
	return 0;
}

static char *sink_take(struct sink *s)
{
	char *p = s->p ? s->p : malloc(1);
	if (!p)
		return NULL;
	p[s->len] = '\0';
	s->p = NULL;
	return p;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int reap(pid_t pid, int *status)
{
	pid_t r;
	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

void proc_result_free(struct proc_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->errout);
	r->out = r->errout = NULL;
}

/* The parent's side once the child runs: read both streams, wait, enforce the deadline and the
 * cancellation and, once the child is reaped, the drain time. */
/* SIGKILL the child, and its process group when it leads one (proc_opts.own_group). */
static void kill_child(pid_t pid, const struct proc_opts *o)
{
	if (!o->own_group || kill(-pid, SIGKILL) < 0)
		kill(pid, SIGKILL);
}

static int supervise(const char *path, pid_t pid, int pidfd, struct sink *out, struct sink *errs,
		     const struct proc_opts *o, int *status, struct lc_err *err)
{
	int64_t deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	int reaped = 0;
	while (!reaped || out->fd >= 0 || errs->fd >= 0) {
		int64_t until = deadline;
		int wait_ms = -1;
		if (until) {
			int64_t left = until - now_ms();
			if (left <= 0) {
				if (reaped)
					break; /* the child is done; a grandchild holds its output open */
				if (o->on_timeout)
					o->on_timeout(o->on_timeout_arg, pidfd);
				kill_child(pid, o);
				reap(pid, status);
				return lc_fail(err, ETIMEDOUT, "%s did not finish within %d ms (killed)", path,
					       o->timeout_ms);
			}
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd pf[4] = {
			{ .fd = out->fd, .events = POLLIN },
			{ .fd = errs->fd, .events = POLLIN },
			{ .fd = reaped ? -1 : pidfd, .events = POLLIN },
			{ .fd = o->cancel_fd > 0 ? o->cancel_fd : -1, .events = POLLIN },
		};
		int n = poll(pf, 4, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			kill_child(pid, o);
			reap(pid, status);
			return lc_fail(err, e, "poll the output of %s", path);
		}
		if (pf[3].revents) {
			if (reaped)
				break; /* the child is done; no one waits for what a grandchild still writes */
			if (o->on_timeout)
				o->on_timeout(o->on_timeout_arg, pidfd);
			kill_child(pid, o);
			reap(pid, status);
			return lc_fail(err, ECANCELED, "%s was cancelled (killed): its caller has gone", path);
		}
		if (pf[0].revents && sink_read(out) < 0) {
			int e = errno;
			kill_child(pid, o);
			reap(pid, status);
			return lc_fail(err, e, "read the stdout of %s", path);
		}
		if (pf[1].revents && sink_read(errs) < 0) {
			int e = errno;
			kill_child(pid, o);
			reap(pid, status);
			return lc_fail(err, e, "read the stderr of %s", path);
		}
		if (pf[2].revents) {
			if (reap(pid, status) < 0)
				return lc_fail(err, errno, "wait for %s", path);
			reaped = 1;
			if (o->drain_ms > 0) {
				int64_t drain = now_ms() + o->drain_ms;
				if (!deadline || drain < deadline)
					deadline = drain;
			}
		}
	}
	return 0;
}

int proc_spawn(const char *const *argv, const struct proc_opts *o, const int stdio[3], pid_t *pidp, int *pidfdp,
	       struct lc_err *err)
{
	static const struct proc_opts defaults;
	if (!o)
		o = &defaults;
	assert(argv && argv[0] && argv[0][0] == '/');
	assert(o->n_keep_fds == 0 || o->keep_fds);
	const char *path = argv[0];
	cleanup_free int *high = calloc(o->n_keep_fds + 4, sizeof *high);
	if (!high)
		return lc_fail(err, ENOMEM, "run %s", path);
	int repp[2] = { -1, -1 };
	if (pipe2(repp, O_CLOEXEC) < 0)
		return lc_fail(err, errno, "pipe for %s", path);

	struct rlimit rl;
	int max_fd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT_MAX)
		max_fd = (int)rl.rlim_cur;
	struct child_args a = {
		.path = path,
		.argv = (char *const *)argv,
		.envp = o->env ? (char *const *)o->env : environ,
		.cwd = o->cwd,
		.own_group = o->own_group,
		.devnull = stdio[0],
		.out_w = stdio[1],
		.err_w = stdio[2],
		.report_w = repp[1],
		.keep = o->keep_fds,
		.n_keep = o->n_keep_fds,
		.high = high,
		.max_fd = max_fd,
	};
	sigemptyset(&a.none);

	/*
	 * As posix_spawn: the child shares the daemon's memory (CLONE_VM) on a stack of its own, and
	 * this thread waits until its execve or _exit (CLONE_VFORK), so no copy of the daemon's page
	 * tables is made (fork's copy cost 1.3-1.9 ms a spawn here: docs/bench.md).  The child has its own
	 * signal handlers (no CLONE_SIGHAND), which it resets: no handler of the daemon may run in it
	 * before, hence every signal blocked around the clone.
	 */
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		int e = errno;
		close_pair(repp);
		return lc_fail(err, e, "stack for %s", path);
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	int clone_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK);
	close(repp[1]);
	repp[1] = -1;
	if (pid < 0) {
		close_pair(repp);
		return lc_fail(err, clone_errno, "clone for %s", path);
	}

	/* The report pipe closes on exec (EOF) or carries why the child could not get there. */
	struct report rep = { 0, 0 };
	ssize_t got;
	do
		got = read(repp[0], &rep, sizeof rep);
	while (got < 0 && errno == EINTR);
	close_pair(repp);
	int status = 0;
	if (got != 0) {
		reap(pid, &status);
		if (got != (ssize_t)sizeof rep)
			return lc_fail(err, got < 0 ? errno : EPROTO, "start %s", path);
		if (rep.stage == STAGE_CHDIR)
			return lc_fail(err, rep.errnum, "chdir %s for %s", o->cwd, path);
		if (rep.stage == STAGE_FDS)
			return lc_fail(err, rep.errnum, "pass descriptors to %s", path);
		if (rep.stage == STAGE_PGRP)
			return lc_fail(err, rep.errnum, "setpgid for %s", path);
		return lc_fail(err, rep.errnum, "exec %s", path);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		reap(pid, &status);
		return lc_fail(err, e, "pidfd_open for %s", path);
	}
	*pidp = pid;
	*pidfdp = pidfd;
	return 0;
}

int proc_reap(pid_t pid)
{
	int status;
	if (reap(pid, &status) < 0)
		return -1;
	return status_code(status);
}

int proc_run(const char *const *argv, const struct proc_opts *o, struct proc_result *r, struct lc_err *err)
{
	static const struct proc_opts defaults;
	if (!o)
		o = &defaults;
	memset(r, 0, sizeof *r);
	const char *path = argv[0];
	struct pollfd cancel = { .fd = o->cancel_fd > 0 ? o->cancel_fd : -1, .events = POLLIN };
	if (cancel.fd >= 0 && poll(&cancel, 1, 0) > 0)
		return lc_fail(err, ECANCELED, "%s not started: its caller has gone", path);

	cleanup_close int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return lc_fail(err, errno, "open /dev/null");
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close_pair(outp);
		close_pair(errp);
		return lc_fail(err, e, "pipe for %s", path);
	}
	const int stdio[3] = { o->stdin_fd > 0 ? o->stdin_fd : devnull, outp[1], errp[1] };
	pid_t pid;
	int pidfd_;
	int rc = proc_spawn(argv, o, stdio, &pid, &pidfd_, err);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc < 0) {
		close_pair(outp);
		close_pair(errp);
		return -1;
	}
	cleanup_close int pidfd = pidfd_;
	int status = 0;
	size_t max = o->out_max ? o->out_max : OUT_MAX_DEFAULT;
	struct sink out = { .fd = outp[0], .max = max }, errs = { .fd = errp[0], .max = max };
	rc = supervise(path, pid, pidfd, &out, &errs, o, &status, err);
	if (out.fd >= 0)
		close(out.fd);
	if (errs.fd >= 0)
		close(errs.fd);
	if (rc == 0) {
		r->out_len = out.len;
		r->errout_len = errs.len;
		r->out_dropped = out.dropped;
		r->errout_dropped = errs.dropped;
		r->out = sink_take(&out);
		r->errout = sink_take(&errs);
		if (!r->out || !r->errout) {
			proc_result_free(r);
			rc = lc_fail(err, ENOMEM, "output of %s", path);
		}
		r->status = status_code(status);
	}
	free(out.p);
	free(errs.p);
	return rc;
}

int proc_stat(pid_t pid, char *state, unsigned long long *start_ticks)
{
	assert(pid > 0);
	/* 52 fields of at most 20 digits and a command name of at most 15 bytes (in parentheses) */
	char path[64], buf[1280];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e; /* ESRCH: reaped since the open */
		return -1;
	}
	buf[n] = '\0';
	/* "<pid> (<comm>) <state> <field 4> ... <field 22> ...": comm may hold spaces and parentheses */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ') {
		errno = EPROTO;
		return -1;
	}
	*state = p[2];
	p += 3; /* the space before field 4 */
	for (int field = 5; field <= 22; field++) {
		p = strchr(p + 1, ' '); /* the space before `field` */
		if (!p) {
			errno = EPROTO;
			return -1;
		}
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1 || *end != ' ') {
		errno = EPROTO;
		return -1;
	}
	*start_ticks = v;
	return 0;
}

int proc_alive(pid_t pid)
{
	assert(pid > 0);
	char state;
	unsigned long long start;
	if (proc_stat(pid, &state, &start) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return 0;
		/* exists for all we know when it answers a signal */
		return errno == EPROTO || kill(pid, 0) == 0 || errno == EPERM;
	}
	return !(state == 'Z' || state == 'X');
}

/* When process pid started, in seconds since the epoch (its start ticks after the boot time); -1 if unknown. */
static long long start_time(pid_t pid)
{
	char state;
	unsigned long long ticks;
	if (proc_stat(pid, &state, &ticks) < 0)
		return -1;
	cleanup_fclose FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long btime = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	long hz = sysconf(_SC_CLK_TCK);
	return btime < 0 || hz <= 0 ? -1 : btime + (long long)(ticks / (unsigned long long)hz);
}

pid_t proc_pidfile(const char *path)
{
	char buf[32];
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	do
		n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long pid = strtol(buf, &end, 10);
	if (errno || end == buf || pid <= 1 || pid > INT_MAX || !proc_alive((pid_t)pid))
		return 0;
	/* whole seconds on both sides (the boot time is one): a second's slack */
	struct stat st;
	long long started = start_time((pid_t)pid);
	if (fstat(fd, &st) == 0 && started >= 0 && started > (long long)st.st_mtime + 1)
		return 0;
	return (pid_t)pid;
}

int proc_signal_started(pid_t pid, unsigned long long start_ticks, int sig)
{
	assert(pid > 0);
	cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -1; /* ESRCH: no such process */
	char state;
	unsigned long long ticks;
	if (proc_stat(pid, &state, &ticks) < 0) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	if (state == 'Z' || state == 'X' || ticks != start_ticks) {
		errno = ESRCH;
		return -1;
	}
	return (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 ? -1 : 0;
}

int proc_wait_gone(int pidfd, pid_t pid, int timeout_ms)
{
	assert(pid > 0 && timeout_ms >= 0);
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (!proc_alive(pid))
			return 1;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (pidfd >= 0) {
			/* readable once the process exited, reaped or not */
			struct pollfd pf = { .fd = pidfd, .events = POLLIN };
			int n = poll(&pf, 1, left > INT_MAX ? INT_MAX : (int)left);
			if (n > 0)
				return 1;
			if (n < 0 && errno != EINTR)
				pidfd = -1; /* look at /proc instead */
		} else {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
}


/* One process of a tree being killed: its pid and a pidfd naming it (immune to PID reuse). */
struct victim {
	pid_t pid;
	int pidfd;
};

#define KILL_TREE_MAX 4096 /* a larger tree is killed as far as found: 0 is returned */

static int send_sig(const struct victim *v, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, v->pidfd, sig, NULL, 0);
}

/* Add pid to the tree (v[*n]) and stop it; 0 when it is gone already or the tree is full. */
static int tree_add(struct victim *v, size_t *n, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].pid == pid)
			return 1;
	if (*n == KILL_TREE_MAX)
		return 0;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return 0;
	v[*n] = (struct victim){ .pid = pid, .pidfd = fd };
	if (send_sig(&v[*n], SIGSTOP) < 0) {
		close(fd);
		return 0;
	}
	(*n)++;
	return 1;
}

/* Wait until v has stopped (or exited) so that its list of children is final; 0 at the deadline. */
static int tree_wait_stopped(const struct victim *v, int64_t deadline)
{
	for (;;) {
		char st;
		unsigned long long start;
		if (proc_stat(v->pid, &st, &start) < 0 || st == 'T' || st == 't' || st == 'Z' || st == 'X')
			return 1;
		if (now_ms() >= deadline)
			return 0;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}

/* Add the children of every thread of v to the tree; 0 when the list is incomplete. */
static int tree_add_children(struct victim *v, size_t *n, pid_t parent)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)parent);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT;
	int whole = 1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char cp[96];
		snprintf(cp, sizeof cp, "/proc/%d/task/%.16s/children", (int)parent, e->d_name);
		FILE *f = fopen(cp, "re");
		if (!f)
			continue; /* the thread exited */
		long c;
		while (fscanf(f, "%ld", &c) == 1)
			if (c > 0 && !tree_add(v, n, (pid_t)c))
				whole = whole && proc_alive((pid_t)c) == 0;
		fclose(f);
	}
	closedir(d);
	return whole;
}

int proc_kill_tree(pid_t pid, int timeout_ms)
{
	assert(pid > 0 && timeout_ms >= 0);
	int64_t deadline = now_ms() + timeout_ms;
	struct victim *v = calloc(KILL_TREE_MAX, sizeof *v);
	size_t n = 0;
	int whole = 1;
	if (!v) {
		/* no memory to follow the tree: the process itself at least */
		kill(pid, SIGKILL);
		return 0;
	}
	if (!tree_add(v, &n, pid)) {
		free(v);
		return proc_alive(pid) == 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!tree_wait_stopped(&v[i], deadline))
			whole = 0;
		if (!tree_add_children(v, &n, v[i].pid))
			whole = 0;
	}
	for (size_t i = 0; i < n; i++)
		send_sig(&v[i], SIGKILL); /* ESRCH: exited already */
	for (size_t i = 0; i < n; i++) {
		int64_t left = deadline - now_ms();
		if (!proc_wait_gone(v[i].pidfd, v[i].pid, left > 0 ? (int)left : 0))
			whole = 0;
		close(v[i].pidfd);
	}
	free(v);
	return whole;
}
