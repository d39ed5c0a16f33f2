/*
 * runtime.h — the OCI runtime as the CRI layer sees it: one struct of function pointers.
 *
 * The real implementation (oci.c: runc or crun, each container supervised by conmon) is made by
 * runtime_oci_new; unit tests wrap or replace it to inject a failure at any step.  Every call is
 * slow work: the CRI layer never calls one inside a database transaction.
 *
 * Container IDs are the 64-hex-digit IDs of litecri's rows (a pod's infra container uses the
 * sandbox ID).  Each container has a bundle, a directory the CRI layer makes, names and removes
 * (and mounts the container's rootfs/ in, with rootfs.h); the rest of what is in it is the
 * runtime's: the OCI spec (config.json: written by create, kept in step by update, read by
 * read_spec and exec) and the files of the container's monitor.  Nothing outside the runtime
 * opens one of those.
 *
 * Exits are not polled: the monitor (conmon) records the exit code when the container's init
 * process ends ("<exit_dir>/<id>", a directory that is the runtime's alone); watch_exits says which
 * container exited, exit_status how (the code, the time, whether the cgroup OOM killer struck),
 * monitor_alive whether an exit not recorded yet may still come, and delete removes the record.
 *
 * Errors: -1 with *err filled; err->errnum is ENOENT when the runtime does not know the container,
 * ESRCH when kill found it not running, EINVAL when the runtime's own message says the request was
 * at fault (the container's program not found or not executable, a sysctl or cgroup value the
 * kernel refused: the CRI layer answers INVALID_ARGUMENT with that message), other values for real
 * failures.  A runtime command's output is never cut short: one too large to keep fails
 * (EMSGSIZE), naming the command.
 */
#ifndef LITECRI_RUNTIME_RUNTIME_H
#define LITECRI_RUNTIME_RUNTIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum rt_state { RT_MISSING = 0, RT_CREATED, RT_RUNNING, RT_PAUSED, RT_STOPPED };

struct rt_create {
	const char *id;       /* 64 hex digits */
	const char *bundle;   /* an existing directory: config.json is written there; conmon leaves its files there */
	json_t *spec;         /* the OCI runtime spec (config.json's content); not consumed */
	const char *log_path; /* CRI-format log conmon writes ("" = the container's output is discarded) */
	int tty;              /* the process has a terminal (spec's process.terminal must say so too): its
			       * output is one stream, logged as stdout */
	int stdin;            /* the process's stdin is kept open for attach (else it is /dev/null) */
	int stdin_once;       /* with stdin: closed once the first attachment that wrote it ends */
};

/* How a container's init process ended, as its monitor recorded it (exit_status). */
struct rt_exit {
	int code;   /* exit code, 0..255 (128+N when signal N killed it); -1 when none is recorded */
	int64_t at; /* when it ended (the record's time), ns since the epoch; 0 when none is recorded */
	int oom;    /* 1: the cgroup OOM killer struck the container */
};

/* A command to run in a running container (ExecSync). */
struct rt_exec {
	const char *id;
	const char *bundle;      /* the container's bundle: config.json's process is the template */
	char *const *args;       /* the command, n_args >= 1 */
	size_t n_args;
	int timeout_ms;          /* > 0: the command is killed after it (ETIMEDOUT) */
	size_t out_max;          /* bytes of stdout / stderr kept each (0: 64 KiB) */
	int cancel_fd;           /* > 0: readable once the caller has gone: the command is killed (ECANCELED); 0: none */
};

struct rt_exec_result {
	int exit_code;           /* 0..255, 128+signal when killed */
	char *out, *errout;      /* malloc'ed, out_len / errout_len bytes (+ a NUL) */
	size_t out_len, errout_len;
	size_t out_dropped, errout_dropped; /* bytes beyond out_max, dropped */
};

/* The streams of an interactive session (exec_start, attach): 1 = the session wants that stream. */
struct rt_stdio {
	int tty;          /* a terminal: in and out are its two directions, there is no separate err */
	int in, out, err;
};

/* A running exec'd command or an attachment to a container's main process (exec_start, attach). */
struct rt_session;

struct runtime_ops {
	/*
	 * Create the container: c->spec written to <bundle>/config.json (atomically, mode 0600), then
	 * conmon + `runtime create`: afterwards it is in state "created" and *pid is its init
	 * process.  On failure nothing is left behind (no runtime container, no conmon; the files in
	 * the bundle stay for the caller to remove with it).  EEXIST when the runtime already has id.
	 * log_path: absolute, without ':' (conmon's -l syntax), its directory existing.
	 */
	int (*create)(void *impl, const struct rt_create *c, pid_t *pid, struct lc_err *err);
	/* Start a created container (`runtime start`). */
	int (*start)(void *impl, const char *id, struct lc_err *err);
	/*
	 * Send sig to the container's init process (all=1: to every process of it).  ESRCH: stopped —
	 * with all=1 the processes its init left behind (in a PID namespace it shares with the pod,
	 * nothing else ends them) get sig all the same.
	 */
	int (*kill)(void *impl, const char *id, int sig, int all, struct lc_err *err);
	/*
	 * Delete the container, killing it first if it still runs (`runtime delete --force`), and
	 * whatever else the runtime kept for it (conmon's attach socket link, its exit record) — also
	 * when the runtime itself no longer has the container: then ENOENT (unless removing those
	 * failed: then that failure).  On return, when the container is gone, no process of the
	 * runtime writes into the bundle any more (its monitor has exited: it is waited for, bounded,
	 * and killed if it lingers; EBUSY if it outlives that), so the caller may remove the bundle.
	 */
	int (*delete)(void *impl, const char *id, struct lc_err *err);
	/*
	 * The runtime's view of id, *pid its init process (0 when stopped), as `<runtime> state`
	 * prints them: RT_MISSING (and 0) when it does not know id.  For runc it is read from runc's own
	 * files without starting it (state.json, exec.fifo, the freezer cgroup, /proc/<pid>/stat),
	 * decided as runc 1.1 decides it; where those do not tell for sure, and for other runtimes,
	 * `<runtime> state` runs (and its output limit applies: EMSGSIZE).  Startup recovery asks
	 * this of every container and pod before the first call is served.
	 */
	int (*state)(void *impl, const char *id, enum rt_state *st, pid_t *pid, struct lc_err *err);
	/*
	 * IDs of every container the runtime keeps anything for: its containers, and leftovers of
	 * ones it no longer has (conmon's attach socket links, exit records) that delete clears
	 * (malloc'ed array of malloc'ed strings; each 64 hex digits, listed once).
	 */
	int (*list)(void *impl, char ***ids, size_t *n, struct lc_err *err);
	/*
	 * Make conmon reopen the container's log file (after kubelet rotated it): returns once a new
	 * file is at the log path.  ESRCH when the container's conmon is gone (container not running);
	 * a container whose output is discarded (log_path "") has nothing to reopen (0).
	 */
	int (*reopen_log)(void *impl, const char *id, const char *bundle, struct lc_err *err);
	/*
	 * Run x->args in the running container x->id, in its namespaces and cgroup, as its own process
	 * runs (user, groups, capabilities, environment, working directory, seccomp, AppArmor,
	 * noNewPrivileges from the bundle's config.json), without a terminal, stdin empty; stdout and
	 * stderr captured separately.  Returns once the command exited and its output was read (a
	 * background process it left holding the output open is not waited for long).  ETIMEDOUT: the
	 * command ran past x->timeout_ms and was killed.  ECANCELED: x->cancel_fd turned readable and
	 * the command was killed.  ESRCH: the container is not running.
	 * ENOENT: unknown.  ENOEXEC: the command could not be started in the container (r->errout holds
	 * why; r->exit_code is 127 when it was not found, else 126).  On ENOEXEC r must be freed;
	 * on other failures it holds nothing.
	 */
	int (*exec)(void *impl, const struct rt_exec *x, struct rt_exec_result *r, struct lc_err *err);
	/*
	 * Apply resources (an OCI linux.resources JSON object) to the container's live cgroup
	 * (`runtime update`; hugepage limits written to its hugetlb cgroup files when the host has
	 * that controller for it).  ESRCH: the container is not running or created.  ENOENT: unknown.
	 * Then config.json's linux.resources takes each of their keys (what read_spec and exec see
	 * afterwards); a failure there is only logged: the live cgroup is what counts.
	 */
	int (*update)(void *impl, const char *id, const char *bundle, const char *resources_json, struct lc_err *err);
	/*
	 * The container's OCI spec as it applies now (config.json in its bundle: as created, with the
	 * resources of every update since): *spec is a new reference.  ENOENT when the bundle holds
	 * none (the container was never created there).
	 */
	int (*read_spec)(void *impl, const char *id, const char *bundle, json_t **spec, struct lc_err *err);
	/*
	 * 1 while the monitor supervising container id (whose bundle is `bundle`) still runs: an exit
	 * not recorded yet may still come.  0 once it has gone: what it recorded (exit_status) is all
	 * there will be — also after a reboot, or when it was killed before it recorded the exit.
	 * (conmon: the PID in its pidfile in the bundle, proc_pidfile's guard against a reused PID.)
	 */
	int (*monitor_alive)(void *impl, const char *id, const char *bundle);
	/*
	 * How container id's init process ended (bundle: the container's): 0 with *x filled from its
	 * monitor's record.  ENOENT when there is none (yet: see monitor_alive); x->oom is filled even
	 * then (the monitor may have seen the OOM kill and gone before it recorded the exit), the rest
	 * is -1 / 0.  x->oom (conmon): its "oom" marker in the bundle; for an exit by SIGKILL without
	 * the marker (nothing orders the marker before the exit file), the oom_kill counter of the
	 * container's memory cgroup (cgroup.h), which outlives the process until delete.
	 */
	int (*exit_status)(void *impl, const char *id, const char *bundle, struct rt_exit *x, struct lc_err *err);
	/*
	 * Report exits: from now on cb(id, arg) runs, on a thread of the runtime's, once the monitor
	 * has recorded the exit of container id (exit_status then says how it ended), and once for
	 * each exit recorded before this call (exits while the daemon was down).  An exit may be
	 * reported twice: cb must be idempotent, and quick.  At most one watch per runtime; close ends
	 * it (no callback runs after close returns).
	 */
	int (*watch_exits)(void *impl, void (*cb)(const char *id, void *arg), void *arg, struct lc_err *err);
	/*
	 * Start x->args in the running container x->id as exec does (its namespaces, cgroup and the
	 * process of the bundle's config.json; x->timeout_ms, out_max and cancel_fd do not apply), with
	 * the streams io asks for and, with io->tty, a terminal (io->tty needs io->out; io->err is then
	 * ignored).  Returns once the command has started: *s the session, fds[0] written with its
	 * stdin, fds[1] / fds[2] read for its stdout / stderr (a terminal: fds[0] and fds[1] are its
	 * master side, whose read ends with EIO rather than 0 once the command and what it started have
	 * closed the terminal), -1 where io did not ask; the caller closes them, after session_close.
	 * ESRCH: the container is not running.  ENOENT: unknown.  ENOEXEC: the command could not be
	 * started in it (the message says why).
	 */
	int (*exec_start)(void *impl, const struct rt_exec *x, const struct rt_stdio *io, struct rt_session **s,
			  int fds[3], struct lc_err *err);
	/*
	 * Attach to the main process of the running container id (bundle: its): fds as exec_start's,
	 * fds[1] / fds[2] getting what the process writes from now on (its log keeps getting it too)
	 * until it exits, fds[0] feeding its stdin (only if it was created with stdin; closing fds[0]
	 * ends that stdin when it was created stdin_once).  io must match how the container was created
	 * (tty).  A reader that stops reading holds the process's output back (no unbounded buffer).
	 * ESRCH: not running (its monitor is gone).  ENOENT: unknown.
	 */
	int (*attach)(void *impl, const char *id, const char *bundle, const struct rt_stdio *io, struct rt_session **s,
		      int fds[3], struct lc_err *err);
	/* Set the size of a terminal session's terminal (EINVAL: the session has none). */
	int (*session_resize)(void *impl, struct rt_session *s, unsigned width, unsigned height, struct lc_err *err);
	/*
	 * Wait until the session's process has ended: *exit_code 0..255 (128+N: killed by signal N), of
	 * the exec'd command, or of the main process as its monitor recorded it.  Call it once its
	 * output has ended (EOF on fds[1] / fds[2]).
	 */
	int (*session_wait)(void *impl, struct rt_session *s, int *exit_code, struct lc_err *err);
	/*
	 * End an exec'd command now, killed with every process it started, without freeing s: safe
	 * while session_wait blocks on another thread, which then returns.  An attachment: nothing
	 * (its wait ends by itself).  session_close still follows.
	 */
	void (*session_kill)(void *impl, struct rt_session *s);
	/*
	 * End the session and free s: an exec'd command still running is killed with every process it
	 * started (and waited for); an attachment is detached (the container runs on).  The caller's
	 * descriptors are not closed.
	 */
	void (*session_close)(void *impl, struct rt_session *s);
	/* Stop watching exits, free impl. */
	void (*close)(void *impl);
};

void rt_exec_result_free(struct rt_exec_result *r);

struct runtime {
	const struct runtime_ops *ops;
	void *impl;
	const char *name; /* "runc", "crun", "fake", ... for messages and RuntimeStatus */
};

/* What the real runtime needs (every directory exists or is created by runtime_oci_new). */
struct rt_oci_config {
	const char *runtime_path; /* absolute path of runc or crun */
	const char *conmon_path;  /* absolute path of conmon */
	const char *root;         /* the runtime's --root (its state), e.g. <state>/runc */
	const char *exit_dir;     /* where conmon writes exit files, e.g. <state>/exits */
	const char *socket_dir;   /* conmon's --socket-dir-path (attach sockets), e.g. <state>/attach */
	int debug;                /* conmon logs at debug level (runtime commands are logged with log_debug always) */
};

int runtime_oci_new(const struct rt_oci_config *c, struct runtime **out, struct lc_err *err);

/* Convenience wrappers: rt->ops->x(rt->impl, ...). */
static inline int rt_create(struct runtime *rt, const struct rt_create *c, pid_t *pid, struct lc_err *err)
{ return rt->ops->create(rt->impl, c, pid, err); }
static inline int rt_start(struct runtime *rt, const char *id, struct lc_err *err)
{ return rt->ops->start(rt->impl, id, err); }
static inline int rt_kill(struct runtime *rt, const char *id, int sig, int all, struct lc_err *err)
{ return rt->ops->kill(rt->impl, id, sig, all, err); }
static inline int rt_delete(struct runtime *rt, const char *id, struct lc_err *err)
{ return rt->ops->delete(rt->impl, id, err); }
static inline int rt_state(struct runtime *rt, const char *id, enum rt_state *st, pid_t *pid, struct lc_err *err)
{ return rt->ops->state(rt->impl, id, st, pid, err); }
static inline int rt_list(struct runtime *rt, char ***ids, size_t *n, struct lc_err *err)
{ return rt->ops->list(rt->impl, ids, n, err); }
static inline int rt_reopen_log(struct runtime *rt, const char *id, const char *bundle, struct lc_err *err)
{ return rt->ops->reopen_log(rt->impl, id, bundle, err); }
static inline int rt_exec(struct runtime *rt, const struct rt_exec *x, struct rt_exec_result *r, struct lc_err *err)
{ return rt->ops->exec(rt->impl, x, r, err); }
static inline int rt_update(struct runtime *rt, const char *id, const char *bundle, const char *resources_json,
			    struct lc_err *err)
{ return rt->ops->update(rt->impl, id, bundle, resources_json, err); }
static inline int rt_read_spec(struct runtime *rt, const char *id, const char *bundle, json_t **spec,
			       struct lc_err *err)
{ return rt->ops->read_spec(rt->impl, id, bundle, spec, err); }
static inline int rt_monitor_alive(struct runtime *rt, const char *id, const char *bundle)
{ return rt->ops->monitor_alive(rt->impl, id, bundle); }
static inline int rt_exit_status(struct runtime *rt, const char *id, const char *bundle, struct rt_exit *x,
				 struct lc_err *err)
{ return rt->ops->exit_status(rt->impl, id, bundle, x, err); }
static inline int rt_watch_exits(struct runtime *rt, void (*cb)(const char *id, void *arg), void *arg,
				 struct lc_err *err)
{ return rt->ops->watch_exits(rt->impl, cb, arg, err); }
static inline int rt_exec_start(struct runtime *rt, const struct rt_exec *x, const struct rt_stdio *io,
				struct rt_session **s, int fds[3], struct lc_err *err)
{ return rt->ops->exec_start(rt->impl, x, io, s, fds, err); }
static inline int rt_attach(struct runtime *rt, const char *id, const char *bundle, const struct rt_stdio *io,
			    struct rt_session **s, int fds[3], struct lc_err *err)
{ return rt->ops->attach(rt->impl, id, bundle, io, s, fds, err); }
static inline int rt_session_resize(struct runtime *rt, struct rt_session *s, unsigned width, unsigned height,
				    struct lc_err *err)
{ return rt->ops->session_resize(rt->impl, s, width, height, err); }
static inline int rt_session_wait(struct runtime *rt, struct rt_session *s, int *exit_code, struct lc_err *err)
{ return rt->ops->session_wait(rt->impl, s, exit_code, err); }
static inline void rt_session_kill(struct runtime *rt, struct rt_session *s)
{ rt->ops->session_kill(rt->impl, s); }
static inline void rt_session_close(struct runtime *rt, struct rt_session *s)
{ rt->ops->session_close(rt->impl, s); }
/* Close and free rt (NULL is fine). */
void runtime_free(struct runtime *rt);

#endif
