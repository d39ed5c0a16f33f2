/*
 * proc.h — run a helper program (runc, conmon) from a multi-threaded daemon.
 *
 * clone (CLONE_VM | CLONE_VFORK, as posix_spawn: no copy of the daemon's memory) + exec with only
 * async-signal-safe calls in the child: the signal mask is emptied and
 * every signal disposition reset to default (the daemon blocks SIGTERM/SIGINT and ignores
 * SIGPIPE; children must not inherit that), every descriptor but 0-2 and the ones passed is
 * closed, stdin is /dev/null unless proc_opts.stdin_fd names another.
 */
#ifndef LITECRI_UTIL_PROC_H
#define LITECRI_UTIL_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

struct proc_opts {
	const char *const *env;  /* NULL: the daemon's environment */
	const int *keep_fds;     /* descriptors passed to the child as 3, 4, ... in this order */
	size_t n_keep_fds;
	size_t out_max;          /* bytes of stdout / stderr kept (0: 64 KiB); the rest is read and dropped */
	int timeout_ms;          /* > 0: SIGKILL the child after it, and fail with errnum ETIMEDOUT */
	/* > 0: a descriptor (cri_call.cancel_fd) that turns readable when whoever waits for the child
	 * has gone: the child is then SIGKILLed and proc_run fails with errnum ECANCELED (already
	 * readable: the child is not started).  0: none. */
	int cancel_fd;
	/* called at the timeout or the cancellation, before the child is killed (may be NULL), with a
	 * pidfd of the child: readable once the child has exited (it is reaped only after the call) */
	void (*on_timeout)(void *arg, int child_pidfd);
	void *on_timeout_arg;
	int drain_ms;            /* > 0: once the child exited, wait at most this long for EOF on its output */
	const char *cwd;         /* NULL: the daemon's working directory */
	int stdin_fd;            /* > 0: the child's stdin (e.g. a memfd holding its input); 0: /dev/null */
	/* 1: the child leads a process group of its own, and a timeout or cancellation SIGKILLs the
	 * whole group (the child's own children too: a CNI plugin's iptables) */
	int own_group;
};

struct proc_result {
	int status;  /* exit status 0..255, or 128+signal */
	char *out;   /* stdout, NUL-terminated, malloc'ed (may be "") */
	char *errout; /* stderr, NUL-terminated, malloc'ed */
	size_t out_len, errout_len;         /* bytes kept (the output may hold NUL bytes) */
	size_t out_dropped, errout_dropped; /* bytes read beyond out_max and dropped */
};

/*
 * Run argv[0] (absolute path) to completion.  -1 only when it could not be run (exec failure:
 * errnum of execve, e.g. ENOENT), timed out or was cancelled.  o may be NULL (all defaults).
 *
 * Completion is the child's exit and EOF on its stdout and stderr: a daemonizing child whose
 * grandchild keeps those open delays the return until it closes them (or until timeout_ms, which
 * then is no failure since the child itself did exit; nor is the end of drain_ms or a cancellation then).  On -1, r holds nothing to free.
 */
int proc_run(const char *const *argv, const struct proc_opts *o, struct proc_result *r, struct lc_err *err);
void proc_result_free(struct proc_result *r);

/*
 * Start argv[0] (absolute path) and return at once: *pid is the child (the caller reaps it, with
 * proc_reap), *pidfd a pidfd of it (close-on-exec, the caller's to close).  stdio: the child's
 * descriptors 0, 1, 2 (the caller keeps its own copies).  Of o, only env, keep_fds, cwd and
 * own_group apply.  -1 when it could not be started (nothing is left running then).
 */
int proc_spawn(const char *const *argv, const struct proc_opts *o, const int stdio[3], pid_t *pid, int *pidfd,
	       struct lc_err *err);

/* Wait for child pid (of proc_spawn) to exit and reap it: its status 0..255 (128+signal), or -1 with errno. */
int proc_reap(pid_t pid);

/*
 * What /proc/<pid>/stat says of process pid: its state letter (field 3: 'R', 'S', 'Z' zombie, 'X'
 * dead, ...) and its start time in clock ticks after boot (field 22: with the pid, it names the
 * process; a reused pid has a later one).  0, or -1 with errno: ENOENT (or ESRCH) when there is
 * no such process, EPROTO when the file does not read as stat, another errno when it cannot be read.
 */
int proc_stat(pid_t pid, char *state, unsigned long long *start_ticks);

/*
 * 1 while process pid runs; 0 once it is gone or a zombie (state Z or X in /proc/<pid>/stat: it
 * exited and only waits for its parent to reap it, which for an orphan takes as long as PID 1
 * does — a second or more on some hosts).  A process whose state cannot be read but that exists
 * counts as running.
 */
int proc_alive(pid_t pid);

/*
 * The process a pidfile names, if it is still the one that wrote it: the decimal PID in the file
 * at path, when that process runs (proc_alive: a zombie has exited) and did not start after the
 * file was last written (one that did got the PID by reuse: it is another process).  0 when there
 * is no such file, no PID in it, or its process has gone.  The one guard against a reused PID.
 */
pid_t proc_pidfile(const char *path);

/*
 * Send sig to process pid if it is still the one that started at start_ticks (proc_stat's field
 * 22, recorded when it was started: a reused pid has a later one) and has not exited (a zombie
 * has): through a pidfd opened before the check, so the signal cannot reach a process that took
 * the pid meanwhile.  0 sent; -1 with errno ESRCH when that process has gone, another errno when
 * it could not be told or signalled.  The other guard against a reused PID beside proc_pidfile,
 * for callers that know when the process started.
 */
int proc_signal_started(pid_t pid, unsigned long long start_ticks, int sig);

/*
 * Wait at most timeout_ms (0: just look) until process pid has exited, a zombie counting as
 * exited (proc_alive): 1 once it has, 0 when it still runs at the end.  pidfd: a pidfd of pid
 * opened before the process was signalled (it also guards against a reused pid), polled without
 * waking; -1: /proc is looked at every millisecond.
 */
int proc_wait_gone(int pidfd, pid_t pid, int timeout_ms);

/*
 * SIGKILL process pid and every process descended from it, and wait at most timeout_ms until all
 * have exited (a zombie counting as exited).  1 when they have (or pid was gone already), 0 when
 * one still runs at the end or the tree could not be read whole (it is killed as far as known).
 *
 * Killing only pid is not enough: its children would be re-parented (to a container's init when
 * it runs in a PID namespace of its own) and run on.  And once pid is dead its children can no
 * longer be found from it.  So the tree is frozen first, top down: each process gets SIGSTOP and
 * its children (/proc/<pid>/task/<tid>/children) are read only once it has stopped, when it can
 * neither fork nor reap, so none escapes and no PID read can be reused before the kill, which goes
 * through a pidfd.  A process that re-parented itself away before the call (a daemon that
 * double-forked) is no longer in the tree and is not found.
 */
int proc_kill_tree(pid_t pid, int timeout_ms);

#endif
