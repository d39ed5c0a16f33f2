/*
 * test_lifecycle.c — the container transitions (src/cri/container.c, lifecycle.c, recover.c and the
 * SQL of src/store/pods.c), UpdateContainerResources and ExecSync (src/cri/exec.c) with faults
 * injected through the runtime interface.
 *
 * Each test gets a fresh temporary directory holding a real migrated SQLite database, litecri's
 * root and state directories, and a "pause program" (any small file: lifecycle_open only copies
 * it).  The runtime is a fake (struct runtime with its own runtime_ops): an in-memory table of
 * containers guarded by a mutex, whose every operation can be told to fail the next N times (with
 * an errnum of the test's choice, optionally only for one container), to block until released (to
 * build races in a chosen order), and which counts and logs its calls.
 *
 * Exits are reported the way the real system reports them: when a signal kills a container the
 * fake writes the exit file "<exit_dir>/<id>" holding 128+signal (atomically: a temporary name, then
 * rename, as conmon does), and the real exit watcher (exits.h), which the fake starts when
 * lifecycle_open asks it to watch exits, reports it.  Like the real runtime, delete removes the exit
 * file and list names the IDs that only have one left.  This is
 * more robust than calling life_record_exit from the fake: nothing is recorded while a handler is
 * inside the fake (a runtime call may not re-enter the store on the handler's behalf), the wait of
 * StopContainer is exercised exactly as in production (a waiter woken by the watcher, or its own
 * re-check reading the exit file), and a test can hold the exit back (conmon being slow) to build
 * the windows that matter.  The fake answers exit_status from those files (with an OOM verdict a
 * test sets: fake_oom) and monitor_alive from whether its "conmon" still supervises the
 * container; it writes nothing into bundles and keeps the OCI spec create was given in memory
 * (read_spec, merged into by update).
 *
 * Handlers are called directly with a struct cri_call whose arena lives for one call, as
 * src/server/server.c sets a call up; worker threads only record results: every assertion runs on
 * the test's thread.  There are no timed assertions: a test that needs "the handler is waiting"
 * waits for the fake to see the handler's next runtime call instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/tmpdir.h"
#include "cri/container.h"
#include "cri/exec.h"
#include "cri/lifecycle.h"
#include "cri/sandbox.h"
#include "cri/stream_backend.h"
#include "image/content.h"
#include "image/digest.h"
#include "image/images.h"
#include "net/net.h"
#include "runtime/exits.h"
#include "runtime/runtime.h"
#include "store/migrate.h"
#include "store/images.h"
#include "store/pods.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/config.h"
#include "util/id.h"
#include "util/log.h"

/* ------------------------------------------------------------------------------------------ */
/* the fake runtime                                                                           */

enum fop { F_CREATE, F_START, F_KILL, F_DELETE, F_STATE, F_LIST, F_REOPEN, F_EXEC, F_UPDATE, F_SPEC, F_EXIT,
	   F_SESSION, F_NOPS };
static const char *const fop_name[F_NOPS] = { "create", "start",  "kill",      "delete", "state",      "list",
					      "reopen_log", "exec", "update", "read_spec", "exit_status",
					      "session" };

/* How a container dies of a signal. */
enum death {
	DEATH_NOW,  /* at once: the runtime says stopped and the exit file is written */
	DEATH_SLOW, /* the process lingers: the runtime says running until fake_reap */
	DEATH_LAG,  /* the process is gone (runc: "stopped", pid 0) but conmon writes the exit file
		     * only at fake_reap */
};

#define FAKE_MAX 256
#define FAKE_EVENTS 8192
#define FAKE_UPDATES 64

struct fctr {
	int used;
	int sandbox; /* a pod's infra container (its files live under sandboxes/) */
	char id[OBJ_ID_BUF];
	enum rt_state st;
	pid_t pid;
	int pending; /* exit code fake_reap will report, -1 = none */
	int monitor; /* its conmon still supervises it (monitor_alive) */
	int oom;     /* exit_status says the OOM killer struck it */
	json_t *spec; /* what create was given (NULL for one fake_put made), updates merged in */
};

struct fevent {
	enum fop op;
	int sig;
	char id[OBJ_ID_BUF];
};

struct fake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fctr c[FAKE_MAX];
	/* fault injection, per operation */
	int fail_n[F_NOPS];
	int fail_errno[F_NOPS];
	char fail_id[F_NOPS][OBJ_ID_BUF]; /* "" = any container */
	int hold[F_NOPS];                 /* calls block while set */
	int waiting[F_NOPS];              /* calls blocked now */
	unsigned calls[F_NOPS];
	unsigned kills[65]; /* kill calls per signal */
	struct fevent ev[FAKE_EVENTS];
	size_t n_ev;
	/* behaviour */
	int ignore_stop_signal; /* signals other than SIGKILL do nothing */
	unsigned kills_beside_delete; /* kill --all calls while a delete was held */
	enum death death;
	pid_t next_pid;
	char exit_dir[PATH_MAX + 16];
	struct exits *ex; /* the watcher of exit_dir (watch_exits) until close */
	/* update: every call that got past fault injection, with the resources JSON it was given */
	struct {
		char id[OBJ_ID_BUF];
		char json[1024];
	} upd[FAKE_UPDATES];
	size_t n_upd;
	/* exec: the outcome of a call (of a RUNNING container) and what the last call asked */
	int exec_errnum; /* 0: success; ENOEXEC: the command could not start (the result is filled) */
	int exec_code;
	const char *exec_out, *exec_err;
	size_t exec_out_len, exec_err_len, exec_out_dropped, exec_err_dropped;
	char exec_id[OBJ_ID_BUF], exec_bundle[PATH_MAX], exec_arg0[64];
	size_t exec_n_args, exec_out_max;
	int exec_timeout_ms;
	/* sessions (exec_start, attach): the last one asked for, how many are open, the last resize */
	struct rt_stdio session_io;
	int session_attach;
	int sessions_open;
	int sessions_killed; /* session_kill calls */
	unsigned resize_w, resize_h;
};

static struct fctr *fake_find(struct fake *f, const char *id)
{
	for (size_t i = 0; i < FAKE_MAX; i++)
		if (f->c[i].used && !strcmp(f->c[i].id, id))
			return &f->c[i];
	return NULL;
}

/* Write "<exit_dir>/<id>" as conmon does (temporary file, then rename).  Lock held. */
static void fake_write_exit(struct fake *f, const char *id, int code)
{
	char tmp[PATH_MAX + 100], path[PATH_MAX + 100];
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", f->exit_dir, id);
	snprintf(path, sizeof path, "%s/%s", f->exit_dir, id);
	FILE *fp = fopen(tmp, "w");
	if (!fp || fprintf(fp, "%d", code) < 0 || fclose(fp) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "fake runtime: cannot write exit file %s: %s\n", path, strerror(errno));
		abort();
	}
}

/* The container's init process died with `code`.  Lock held. */
static void fake_die(struct fake *f, struct fctr *c, int code)
{
	switch (f->death) {
	case DEATH_NOW:
		c->st = RT_STOPPED;
		c->pid = 0;
		fake_write_exit(f, c->id, code);
		c->monitor = 0;
		break;
	case DEATH_SLOW:
		c->pending = code;
		break;
	case DEATH_LAG:
		c->st = RT_STOPPED;
		c->pid = 0;
		c->pending = code;
		break;
	}
}

/*
 * Common entry of every operation: count and log the call, block while the operation is held,
 * inject a failure when one is due.  Returns 0 with f->mu held, or -1 (lock released, *err set).
 */
static int fake_enter(struct fake *f, enum fop op, const char *id, int sig, struct lc_err *err)
{
	pthread_mutex_lock(&f->mu);
	f->calls[op]++;
	if (op == F_KILL && sig > 0 && sig <= 64)
		f->kills[sig]++;
	if (f->n_ev < FAKE_EVENTS) {
		struct fevent *e = &f->ev[f->n_ev++];
		e->op = op;
		e->sig = sig;
		snprintf(e->id, sizeof e->id, "%s", id ? id : "");
	}
	pthread_cond_broadcast(&f->cv);
	while (f->hold[op]) {
		f->waiting[op]++;
		pthread_cond_broadcast(&f->cv);
		pthread_cond_wait(&f->cv, &f->mu);
		f->waiting[op]--;
	}
	if (f->fail_n[op] > 0 && (!f->fail_id[op][0] || (id && !strcmp(f->fail_id[op], id)))) {
		f->fail_n[op]--;
		int e = f->fail_errno[op];
		pthread_mutex_unlock(&f->mu);
		return lc_fail(err, e, "fake %s %s: injected failure", fop_name[op], id ? id : "");
	}
	return 0;
}

static int fake_create(void *impl, const struct rt_create *rc, pid_t *pid, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_CREATE, rc->id, 0, err) < 0)
		return -1;
	int r = 0;
	struct fctr *c = fake_find(f, rc->id);
	if (c) {
		r = lc_fail(err, EEXIST, "fake create %s: exists", rc->id);
	} else {
		for (size_t i = 0; i < FAKE_MAX && !c; i++)
			if (!f->c[i].used)
				c = &f->c[i];
		if (!c) {
			r = lc_fail(err, ENOSPC, "fake create %s: table full", rc->id);
		} else {
			*c = (struct fctr){ .used = 1, .st = RT_CREATED, .pid = f->next_pid++, .pending = -1,
					    .monitor = 1, .spec = json_incref(rc->spec) };
			snprintf(c->id, sizeof c->id, "%s", rc->id);
			*pid = c->pid;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_start(void *impl, const char *id, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_START, id, 0, err) < 0)
		return -1;
	int r = 0;
	struct fctr *c = fake_find(f, id);
	if (!c)
		r = lc_fail(err, ENOENT, "fake start %s: no such container", id);
	else if (c->st != RT_CREATED)
		r = lc_fail(err, EINVAL, "fake start %s: not in state created", id);
	else
		c->st = RT_RUNNING;
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_kill(void *impl, const char *id, int sig, int all, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_KILL, id, sig, err) < 0)
		return -1;
	if (all && f->waiting[F_DELETE])
		f->kills_beside_delete++; /* of this container, where a test has only one in play */
	int r = 0;
	struct fctr *c = fake_find(f, id);
	if (!c)
		r = lc_fail(err, ENOENT, "fake kill %s: no such container", id);
	else if (c->st != RT_RUNNING && c->st != RT_CREATED)
		r = lc_fail(err, ESRCH, "fake kill %s: container not running", id);
	else if (c->pending < 0 && (sig == SIGKILL || !f->ignore_stop_signal))
		fake_die(f, c, 128 + sig);
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* The runtime forgets c (`delete --force` kills the container; conmon goes with it).  Lock held. */
static void fake_drop(struct fctr *c)
{
	json_decref(c->spec);
	*c = (struct fctr){ 0 };
}

/* Also removes the exit file, also of a container it does not have (ENOENT), as the real one. */
static int fake_delete(void *impl, const char *id, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_DELETE, id, 0, err) < 0)
		return -1;
	int r = 0;
	struct fctr *c = fake_find(f, id);
	if (!c)
		r = lc_fail(err, ENOENT, "fake delete %s: no such container", id);
	else
		fake_drop(c);
	if (exit_file_remove(f->exit_dir, id, err) < 0)
		r = -1;
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_state(void *impl, const char *id, enum rt_state *st, pid_t *pid, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_STATE, id, 0, err) < 0)
		return -1;
	struct fctr *c = fake_find(f, id);
	*st = c ? c->st : RT_MISSING;
	*pid = c && c->st != RT_STOPPED ? c->pid : 0; /* runc reports pid 0 once stopped */
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* Its containers, then the IDs of exit files of containers it does not have. */
static int fake_list(void *impl, char ***ids, size_t *n, struct lc_err *err)
{
	struct fake *f = impl;
	if (fake_enter(f, F_LIST, NULL, 0, err) < 0)
		return -1;
	size_t k = 0, cap = FAKE_MAX;
	char **v = malloc(cap * sizeof *v);
	for (size_t i = 0; v && i < FAKE_MAX; i++)
		if (f->c[i].used && !(v[k++] = strdup(f->c[i].id)))
			abort();
	DIR *d = v ? opendir(f->exit_dir) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!id_is_hex(e->d_name, OBJ_ID_LEN, OBJ_ID_LEN) || fake_find(f, e->d_name))
			continue;
		if (k == cap && !(v = realloc(v, (cap *= 2) * sizeof *v)))
			abort();
		if (!(v[k++] = strdup(e->d_name)))
			abort();
	}
	if (d)
		closedir(d);
	pthread_mutex_unlock(&f->mu);
	if (!v)
		return lc_fail(err, ENOMEM, "fake list");
	*ids = v;
	*n = k;
	return 0;
}

static int fake_reopen_log(void *impl, const char *id, const char *bundle, struct lc_err *err)
{
	struct fake *f = impl;
	(void)bundle;
	if (fake_enter(f, F_REOPEN, id, 0, err) < 0)
		return -1;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* Runs nothing: returns the outcome the test configured (f->exec_*); a container that is not running
 * is ESRCH, an unknown one ENOENT, as the real runtime says. */
static int fake_exec(void *impl, const struct rt_exec *x, struct rt_exec_result *res, struct lc_err *err)
{
	struct fake *f = impl;
	memset(res, 0, sizeof *res);
	if (fake_enter(f, F_EXEC, x->id, 0, err) < 0)
		return -1;
	snprintf(f->exec_id, sizeof f->exec_id, "%s", x->id);
	snprintf(f->exec_bundle, sizeof f->exec_bundle, "%s", x->bundle);
	snprintf(f->exec_arg0, sizeof f->exec_arg0, "%s", x->n_args ? x->args[0] : "");
	f->exec_n_args = x->n_args;
	f->exec_timeout_ms = x->timeout_ms;
	f->exec_out_max = x->out_max;
	struct fctr *c = fake_find(f, x->id);
	int r = 0;
	if (!c) {
		r = lc_fail(err, ENOENT, "fake exec %s: no such container", x->id);
	} else if (c->st != RT_RUNNING) {
		r = lc_fail(err, ESRCH, "fake exec %s: container not running", x->id);
	} else {
		res->exit_code = f->exec_code;
		res->out = malloc(f->exec_out_len + 1);
		res->errout = malloc(f->exec_err_len + 1);
		if (!res->out || !res->errout)
			abort();
		if (f->exec_out_len)
			memcpy(res->out, f->exec_out, f->exec_out_len);
		if (f->exec_err_len)
			memcpy(res->errout, f->exec_err, f->exec_err_len);
		res->out[f->exec_out_len] = res->errout[f->exec_err_len] = '\0';
		res->out_len = f->exec_out_len;
		res->errout_len = f->exec_err_len;
		res->out_dropped = f->exec_out_dropped;
		res->errout_dropped = f->exec_err_dropped;
		if (f->exec_errnum)
			r = lc_fail(err, f->exec_errnum, "fake exec %s: configured failure", x->id);
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* Records the resources it was asked to apply; ENOENT / ESRCH as the real runtime. */
static int fake_update(void *impl, const char *id, const char *bundle, const char *resources_json, struct lc_err *err)
{
	struct fake *f = impl;
	(void)bundle;
	if (fake_enter(f, F_UPDATE, id, 0, err) < 0)
		return -1;
	if (f->n_upd < FAKE_UPDATES) {
		snprintf(f->upd[f->n_upd].id, sizeof f->upd[0].id, "%s", id);
		snprintf(f->upd[f->n_upd].json, sizeof f->upd[0].json, "%s", resources_json);
		f->n_upd++;
	}
	struct fctr *c = fake_find(f, id);
	int r = 0;
	if (!c)
		r = lc_fail(err, ENOENT, "fake update %s: no such container", id);
	else if (c->st != RT_RUNNING && c->st != RT_CREATED)
		r = lc_fail(err, ESRCH, "fake update %s: container not running", id);
	json_t *res = r == 0 ? json_loads(resources_json, 0, NULL) : NULL;
	json_t *lres = json_object_get(json_object_get(c ? c->spec : NULL, "linux"), "resources");
	if (res && lres && json_object_update(lres, res) < 0)
		abort();
	json_decref(res);
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* The spec create was given (with updates), ENOENT for a container it does not have or made without one. */
static int fake_read_spec(void *impl, const char *id, const char *bundle, json_t **spec, struct lc_err *err)
{
	struct fake *f = impl;
	(void)bundle;
	*spec = NULL;
	if (fake_enter(f, F_SPEC, id, 0, err) < 0)
		return -1;
	struct fctr *c = fake_find(f, id);
	int r = 0;
	if (c && c->spec)
		*spec = json_deep_copy(c->spec);
	else
		r = lc_fail(err, ENOENT, "fake read_spec %s: no spec", id);
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_monitor_alive(void *impl, const char *id, const char *bundle)
{
	struct fake *f = impl;
	(void)bundle;
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	int alive = c && c->monitor;
	pthread_mutex_unlock(&f->mu);
	return alive;
}

/* The exit file the fake wrote ("conmon"'s record), and the OOM verdict a test set (fake_oom). */
static int fake_exit_status(void *impl, const char *id, const char *bundle, struct rt_exit *x, struct lc_err *err)
{
	struct fake *f = impl;
	(void)bundle;
	*x = (struct rt_exit){ .code = -1 };
	if (fake_enter(f, F_EXIT, id, 0, err) < 0)
		return -1;
	struct fctr *c = fake_find(f, id);
	x->oom = c && c->oom;
	int r = exit_file_read(f->exit_dir, id, &x->code, &x->at, err);
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* The real exit watcher on the fake's exit files. */
static int fake_watch_exits(void *impl, void (*cb)(const char *id, void *arg), void *arg, struct lc_err *err)
{
	struct fake *f = impl;
	assert_null(f->ex);
	return exits_start(f->exit_dir, cb, arg, &f->ex, err);
}

/* The fake outlives each struct runtime wrapping it (lifecycle_close frees those): the watch ends. */
static void fake_close(void *impl)
{
	struct fake *f = impl;
	exits_stop(f->ex);
	f->ex = NULL;
}

/* A session of the fake: its output (f->exec_out / exec_err, then EOF) is already in the pipes; what
 * is written to its stdin is never read; it ends with f->exec_code. */
struct rt_session {
	int tty;
	int in_r; /* the stdin pipe's read end, held until close */
	int code;
};

static int fake_session(struct fake *f, const char *id, const struct rt_stdio *io, int attach, struct rt_session **s,
			int fds[3], struct lc_err *err)
{
	*s = NULL;
	fds[0] = fds[1] = fds[2] = -1;
	if (fake_enter(f, F_SESSION, id, 0, err) < 0)
		return -1;
	f->session_io = *io;
	f->session_attach = attach;
	struct fctr *c = fake_find(f, id);
	int r = 0;
	if (!c) {
		r = lc_fail(err, ENOENT, "fake session %s: no such container", id);
	} else if (c->st != RT_RUNNING) {
		r = lc_fail(err, ESRCH, "fake session %s: container not running", id);
	} else if (f->exec_errnum) {
		r = lc_fail(err, f->exec_errnum, "fake session %s: configured failure", id);
	} else {
		struct rt_session *n = calloc(1, sizeof *n);
		assert_non_null(n);
		*n = (struct rt_session){ .tty = io->tty, .in_r = -1, .code = f->exec_code };
		int p[2];
		if (io->in) {
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
			n->in_r = p[0];
			fds[0] = p[1];
		}
		const char *text[2] = { f->exec_out, f->exec_err };
		size_t len[2] = { f->exec_out_len, f->exec_err_len };
		const int want[2] = { io->out, io->err && !io->tty };
		for (int i = 0; i < 2; i++) {
			if (!want[i])
				continue;
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
			assert_int_equal(write(p[1], text[i] ? text[i] : "", len[i]), (ssize_t)len[i]);
			close(p[1]);
			fds[1 + i] = p[0];
		}
		f->sessions_open++;
		*s = n;
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_exec_start(void *impl, const struct rt_exec *x, const struct rt_stdio *io, struct rt_session **s,
			   int fds[3], struct lc_err *err)
{
	struct fake *f = impl;
	pthread_mutex_lock(&f->mu);
	snprintf(f->exec_id, sizeof f->exec_id, "%s", x->id);
	snprintf(f->exec_bundle, sizeof f->exec_bundle, "%s", x->bundle);
	snprintf(f->exec_arg0, sizeof f->exec_arg0, "%s", x->n_args ? x->args[0] : "");
	f->exec_n_args = x->n_args;
	pthread_mutex_unlock(&f->mu);
	return fake_session(f, x->id, io, 0, s, fds, err);
}

static int fake_attach(void *impl, const char *id, const char *bundle, const struct rt_stdio *io,
		       struct rt_session **s, int fds[3], struct lc_err *err)
{
	struct fake *f = impl;
	pthread_mutex_lock(&f->mu);
	snprintf(f->exec_bundle, sizeof f->exec_bundle, "%s", bundle);
	pthread_mutex_unlock(&f->mu);
	return fake_session(f, id, io, 1, s, fds, err);
}

static int fake_session_resize(void *impl, struct rt_session *s, unsigned width, unsigned height, struct lc_err *err)
{
	struct fake *f = impl;
	if (!s->tty)
		return lc_fail(err, EINVAL, "fake resize: no terminal");
	pthread_mutex_lock(&f->mu);
	f->resize_w = width;
	f->resize_h = height;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int fake_session_wait(void *impl, struct rt_session *s, int *exit_code, struct lc_err *err)
{
	(void)impl;
	(void)err;
	*exit_code = s->code;
	return 0;
}

static void fake_session_kill(void *impl, struct rt_session *s)
{
	struct fake *f = impl;
	(void)s;
	pthread_mutex_lock(&f->mu);
	f->sessions_killed++;
	pthread_mutex_unlock(&f->mu);
}

static void fake_session_close(void *impl, struct rt_session *s)
{
	struct fake *f = impl;
	if (s->in_r >= 0)
		close(s->in_r);
	free(s);
	pthread_mutex_lock(&f->mu);
	f->sessions_open--;
	pthread_mutex_unlock(&f->mu);
}

static const struct runtime_ops fake_ops = {
	.create = fake_create,
	.start = fake_start,
	.kill = fake_kill,
	.delete = fake_delete,
	.state = fake_state,
	.list = fake_list,
	.reopen_log = fake_reopen_log,
	.exec = fake_exec,
	.update = fake_update,
	.read_spec = fake_read_spec,
	.monitor_alive = fake_monitor_alive,
	.exit_status = fake_exit_status,
	.watch_exits = fake_watch_exits,
	.exec_start = fake_exec_start,
	.attach = fake_attach,
	.session_resize = fake_session_resize,
	.session_wait = fake_session_wait,
	.session_kill = fake_session_kill,
	.session_close = fake_session_close,
	.close = fake_close,
};

/* A new struct runtime over f, for lifecycle_open (which owns and frees it). */
static struct runtime *fake_runtime(struct fake *f)
{
	struct runtime *rt = calloc(1, sizeof *rt);
	assert_non_null(rt);
	rt->ops = &fake_ops;
	rt->impl = f;
	rt->name = "fake";
	return rt;
}

/* --- what tests do to the fake -------------------------------------------------------------- */

/* Put container id in the runtime in state st (its conmon alive unless it is stopped). */
static void fake_put(struct fake *f, const char *id, enum rt_state st, int sandbox)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	for (size_t i = 0; i < FAKE_MAX && !c; i++)
		if (!f->c[i].used)
			c = &f->c[i];
	assert_non_null(c);
	json_decref(c->spec);
	*c = (struct fctr){ .used = 1, .sandbox = sandbox, .st = st, .pid = st == RT_STOPPED ? 0 : f->next_pid++,
			    .pending = -1, .monitor = st != RT_STOPPED };
	snprintf(c->id, sizeof c->id, "%s", id);
	pthread_mutex_unlock(&f->mu);
}

static void fake_add(struct fake *f, const char *id, enum rt_state st) { fake_put(f, id, st, 0); }

/* The runtime forgets id (its state gone), leaving its exit file if there is one. */
static void fake_forget(struct fake *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	assert_non_null(c);
	fake_drop(c);
	pthread_mutex_unlock(&f->mu);
}

/* conmon of id is killed (without writing an exit file). */
static void fake_kill_conmon(struct fake *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	assert_non_null(c);
	c->monitor = 0;
	pthread_mutex_unlock(&f->mu);
}

/* The next exit of id is the OOM killer's (as the runtime will report it). */
static void fake_oom(struct fake *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	assert_non_null(c);
	c->oom = 1;
	pthread_mutex_unlock(&f->mu);
}

/* The runtime's state of id (RT_MISSING when unknown). */
static enum rt_state fake_has(struct fake *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	enum rt_state st = c ? c->st : RT_MISSING;
	pthread_mutex_unlock(&f->mu);
	return st;
}

/* The next n calls of op (for container id, or any when id is NULL) fail with errnum. */
static void fake_fail(struct fake *f, enum fop op, int n, int errnum, const char *id)
{
	pthread_mutex_lock(&f->mu);
	f->fail_n[op] = n;
	f->fail_errno[op] = errnum;
	snprintf(f->fail_id[op], sizeof f->fail_id[op], "%s", id ? id : "");
	pthread_mutex_unlock(&f->mu);
}

/* Make calls of op block (on) or let every blocked and later call through (off). */
static void fake_hold(struct fake *f, enum fop op, int on)
{
	pthread_mutex_lock(&f->mu);
	f->hold[op] = on;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Wait until n calls of op are blocked. */
static void fake_wait_blocked(struct fake *f, enum fop op, int n)
{
	pthread_mutex_lock(&f->mu);
	while (f->waiting[op] < n)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

/* Calls of op blocked now (fake_hold). */
static int fake_waiting(struct fake *f, enum fop op)
{
	pthread_mutex_lock(&f->mu);
	int n = f->waiting[op];
	pthread_mutex_unlock(&f->mu);
	return n;
}

static unsigned fake_calls(struct fake *f, enum fop op)
{
	pthread_mutex_lock(&f->mu);
	unsigned n = f->calls[op];
	pthread_mutex_unlock(&f->mu);
	return n;
}

static unsigned fake_kills(struct fake *f, int sig)
{
	pthread_mutex_lock(&f->mu);
	unsigned n = f->kills[sig];
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* The lingering / lagging death of id happens now: stopped, exit file written. */
static void fake_reap(struct fake *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	struct fctr *c = fake_find(f, id);
	assert_non_null(c);
	assert_true(c->pending >= 0);
	c->st = RT_STOPPED;
	c->pid = 0;
	fake_write_exit(f, id, c->pending);
	c->monitor = 0;
	c->pending = -1;
	pthread_mutex_unlock(&f->mu);
}

/* Index of the first event (op, sig if sig >= 0) for id at or after `from`, or -1. */
static long fake_event(struct fake *f, size_t from, enum fop op, int sig, const char *id)
{
	pthread_mutex_lock(&f->mu);
	long r = -1;
	for (size_t i = from; i < f->n_ev && r < 0; i++)
		if (f->ev[i].op == op && (sig < 0 || f->ev[i].sig == sig) && !strcmp(f->ev[i].id, id))
			r = (long)i;
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* Updates of id recorded at index >= from: their number; the resources JSON of the last in json. */
static int fake_updates_of(struct fake *f, size_t from, const char *id, char *json, size_t cap)
{
	pthread_mutex_lock(&f->mu);
	int n = 0;
	if (cap)
		json[0] = '\0';
	for (size_t i = from; i < f->n_upd; i++)
		if (!strcmp(f->upd[i].id, id)) {
			n++;
			if (cap)
				snprintf(json, cap, "%s", f->upd[i].json);
		}
	pthread_mutex_unlock(&f->mu);
	return n;
}

static size_t fake_n_updates(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->n_upd;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static size_t fake_n_events(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	size_t n = f->n_ev;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char db[PATH_MAX];
	struct lc_config cfg;
	struct store *store;
	struct cri_env env;
	struct fake fake;
	struct images *images; /* NULL unless a test adds an image (add_image) */
	char sandbox[OBJ_ID_BUF];
	unsigned seq; /* container names */
	int ctr_stdin, ctr_tty; /* the configs of containers made from now on */
};
TMPDIR_FIXTURE_CHECK(struct fx);

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static int teardown(void **state);

/* A failed setup cleans up itself (cmocka runs no teardown after it). */
static int setup_failed(void **state, const char *what, const char *msg)
{
	print_error("setup: %s: %s\n", what, msg);
	teardown(state);
	*state = NULL;
	return -1;
}

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "lcunit");
	if (!f)
		return -1;
	*state = f;
	pthread_mutex_init(&f->fake.mu, NULL);
	pthread_cond_init(&f->fake.cv, NULL);
	struct lc_err err = { 0 };
	snprintf(f->db, sizeof f->db, "%s/litecri.db", f->dir);
	struct migrate_result res;
	if (migrate_db(f->db, litecri_migrations, litecri_migrations_count, &res, &err) < 0 ||
	    store_open(f->db, (int)litecri_migrations_count, &f->store, &err) < 0)
		return setup_failed(state, "store", err.msg);
	config_defaults(&f->cfg);
	snprintf(f->cfg.db, sizeof f->cfg.db, "%s", f->db);
	snprintf(f->cfg.root, sizeof f->cfg.root, "%s/root", f->dir);
	snprintf(f->cfg.state, sizeof f->cfg.state, "%s/state", f->dir);
	snprintf(f->cfg.pause, sizeof f->cfg.pause, "%s/pause-program", f->dir);
	write_file(f->cfg.pause, "#!/bin/sh\n# not run: lifecycle_open only installs it\n");
	f->env = (struct cri_env){ .cfg = &f->cfg, .store = f->store, .images = NULL,
				   .schema_version = (int)litecri_migrations_count };
	/* Pods are networked by the loopback plugin only (a real CNI run in the pod's namespace). */
	char cni[PATH_MAX + 32];
	snprintf(cni, sizeof cni, "%s/cni", f->dir);
	if (mkdir(cni, 0755) < 0)
		return setup_failed(state, "mkdir", cni);
	snprintf(cni, sizeof cni, "%s/cni/99-loopback.conflist", f->dir);
	write_file(cni, "{\"cniVersion\": \"1.0.0\", \"name\": \"lo\", \"plugins\": [{\"type\": \"loopback\"}]}\n");
	snprintf(cni, sizeof cni, "%s/cni", f->dir);
	const struct net_config nc = { .conf_dir = cni, .bin_dirs = "/usr/lib/cni", .max_conf_num = 1, .timeout_s = 60 };
	if (net_open(&nc, &f->env.net, &err) < 0)
		return setup_failed(state, "net_open", err.msg);

	f->fake.next_pid = 4000000;
	snprintf(f->fake.exit_dir, sizeof f->fake.exit_dir, "%s/exits", f->cfg.state);
	if (lifecycle_open(&f->env, fake_runtime(&f->fake), &err) < 0)
		return setup_failed(state, "lifecycle_open", err.msg);

	/* One READY sandbox whose infra container the runtime runs. */
	struct obj_new n = { .name = "k8s_POD_pod_ns_uid_0", .meta_name = "pod", .meta_namespace = "ns",
			     .meta_uid = "uid", .config_digest = "sandbox-config" };
	struct obj_holder h;
	if (life_new_id(n.id, &err) < 0 || store_sandbox_insert(f->store, &n, &h, &err) < 0 ||
	    store_sandbox_created(f->store, n.id, 4000, "", NULL, cri_now(), &err) < 0)
		return setup_failed(state, "sandbox", err.msg);
	snprintf(f->sandbox, sizeof f->sandbox, "%s", n.id);
	fake_put(&f->fake, n.id, RT_RUNNING, 1);
	return 0;
}

/* Unmount whatever a failed test left mounted under the fixture (deepest first): a failure must not
 * leave mounts on the host. */
static void unmount_leftovers(struct fx *f)
{
	for (int round = 0; round < 16; round++) {
		FILE *fp = fopen("/proc/self/mountinfo", "re");
		if (!fp)
			return;
		char line[4096], last[PATH_MAX] = "";
		while (fgets(line, sizeof line, fp)) {
			char mp[PATH_MAX];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, f->dir, strlen(f->dir)))
				snprintf(last, sizeof last, "%s", mp);
		}
		fclose(fp);
		if (!last[0])
			return;
		if (umount2(last, MNT_DETACH) < 0) {
			print_error("teardown: umount %s: %s\n", last, strerror(errno));
			return;
		}
	}
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	lifecycle_close(&f->env);
	net_close(f->env.net);
	f->env.net = NULL;
	unmount_leftovers(f);
	if (f->images)
		images_close(f->images);
	if (f->store)
		store_close(f->store);
	config_free(&f->cfg);
	for (size_t i = 0; i < FAKE_MAX; i++)
		json_decref(f->fake.c[i].spec);
	pthread_cond_destroy(&f->fake.cv);
	pthread_mutex_destroy(&f->fake.mu);
	return tmpdir_fixture_free(f);
}

/* ------------------------------------------------------------------------------------------ */
/* rows                                                                                       */

/* The reserved name of container number k. */
static void ctr_name(unsigned k, char *buf, size_t cap)
{
	snprintf(buf, cap, "k8s_c%u_pod_ns_uid_0", k);
}

/* Insert a container row named after k (creating = 1), as CreateContainer's first step does; a
 * mem > 0 gives its config linux.resources.memory_limit_in_bytes = mem. */
static void insert_row_mem(struct fx *f, unsigned k, char id[OBJ_ID_BUF], int64_t mem)
{
	char name[64], meta[32];
	ctr_name(k, name, sizeof name);
	snprintf(meta, sizeof meta, "c%u", k);
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = meta;
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	img.image = "busybox:latest";
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &img;
	cfg.stdin = f->ctr_stdin;
	cfg.tty = f->ctr_tty;
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	Runtime__V1__LinuxContainerConfig lin = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	if (mem > 0) {
		res.memory_limit_in_bytes = mem;
		lin.resources = &res;
		cfg.linux = &lin;
	}
	size_t len = protobuf_c_message_get_packed_size(&cfg.base);
	uint8_t *bytes = malloc(len + 1);
	assert_non_null(bytes);
	protobuf_c_message_pack(&cfg.base, bytes);
	struct lc_err err = { 0 };
	struct obj_new n = { .sandbox_id = f->sandbox, .name = name, .meta_name = meta, .config = bytes,
			     .config_len = len, .config_digest = name, .image = "busybox:latest",
			     .image_ref = "sha256:0123", .log_path = "", .stop_signal = SIGTERM };
	struct obj_holder h;
	enum refusal why;
	assert_int_equal(life_new_id(n.id, &err), 0);
	int rc = store_container_insert(f->store, &n, &h, &why, &err);
	free(bytes);
	if (rc < 0)
		fail_msg("insert container %s: %s", name, err.msg);
	memcpy(id, n.id, OBJ_ID_BUF);
}

static void insert_row(struct fx *f, unsigned k, char id[OBJ_ID_BUF]) { insert_row_mem(f, k, id, 0); }

/*
 * A new container in `state` (CTR_CREATED, CTR_RUNNING or CTR_EXITED with code 0), its row made by
 * the store's transitions and the fake runtime holding it in the matching state.
 */
static void mk_container_mem(struct fx *f, int state, char id[OBJ_ID_BUF], int64_t mem)
{
	struct lc_err err = { 0 };
	insert_row_mem(f, ++f->seq, id, mem);
	fake_add(&f->fake, id, RT_CREATED);
	assert_int_equal(store_container_created(f->store, id, 4242, cri_now(), &err), 0);
	if (state == CTR_CREATED)
		return;
	enum refusal why;
	assert_int_equal(store_flag_set(f->store, FLAG_CTR_STARTING, id, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	assert_int_equal(store_container_started(f->store, id, cri_now(), &err), 0);
	fake_add(&f->fake, id, RT_RUNNING);
	if (state == CTR_RUNNING)
		return;
	int changed = 0;
	assert_int_equal(store_container_exited(f->store, id, 0, cri_now(), "Completed", &changed, &err), 0);
	assert_int_equal(changed, 1);
	fake_add(&f->fake, id, RT_STOPPED);
}

static void mk_container(struct fx *f, int state, char id[OBJ_ID_BUF]) { mk_container_mem(f, state, id, 0); }

struct snap {
	int exists, state, creating, starting, removing, exit_code;
	int64_t started_at, finished_at;
	char reason[64], message[512];
	int updating;
	int has_resources;          /* resources recorded by an UpdateContainerResources */
	int64_t res_memory, res_cpu_shares; /* of the recorded resources */
};

static struct snap row(struct fx *f, const char *id)
{
	struct snap s = { 0 };
	struct arena a;
	arena_init(&a);
	struct container_row r;
	struct lc_err err = { 0 };
	if (store_container_get(f->store, id, &a, &r, &err) == 0) {
		s = (struct snap){ .exists = 1, .state = r.state, .creating = r.creating, .starting = r.starting,
				   .removing = r.removing, .exit_code = r.exit_code, .started_at = r.started_at,
				   .finished_at = r.finished_at };
		snprintf(s.reason, sizeof s.reason, "%s", r.reason);
		snprintf(s.message, sizeof s.message, "%s", r.message);
		s.updating = r.updating;
		if (r.resources) {
			const Runtime__V1__LinuxContainerResources *res =
				runtime__v1__linux_container_resources__unpack(&a.pb, r.resources_len, r.resources);
			if (!res) {
				arena_release(&a);
				fail_msg("container %s: the recorded resources do not decode", id);
			}
			s.has_resources = 1;
			s.res_memory = res->memory_limit_in_bytes;
			s.res_cpu_shares = res->cpu_shares;
		}
	} else if (err.errnum != ENOENT) {
		arena_release(&a);
		fail_msg("read container %s: %s", id, err.msg);
	}
	arena_release(&a);
	return s;
}

/* Rows with a creating/starting/removing flag set (a flag stuck after the calls finished). */
static int flagged_rows(struct fx *f)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(f->store, &err);
	assert_non_null(db);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM containers WHERE creating OR starting OR removing",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* What a killed daemon leaves behind: set one flag of a row by SQL. */
static void set_flag(struct fx *f, const char *id, const char *flag)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(f->store, &err);
	assert_non_null(db);
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE containers SET %s = 1 WHERE id = ?1", flag);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
}

/* ------------------------------------------------------------------------------------------ */
/* calls                                                                                      */

struct res {
	grpc_status_code code;
	int has_resp; /* a response message came back */
	char msg[1024];
};

/* One call of handler h, as the server makes it (an arena for the call, released after). */
/* The deadline of the calls rpc and call_pod make (struct cri_call.deadline; 0: none). */
static int64_t call_deadline;

static struct res rpc(struct fx *f, cri_handler h, const ProtobufCMessage *req)
{
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "/runtime.v1.RuntimeService/test",
			      .deadline = call_deadline };
	ProtobufCMessage *resp = NULL;
	struct res r = { 0 };
	r.code = h(&f->env, &c, req, &resp);
	r.has_resp = resp != NULL;
	snprintf(r.msg, sizeof r.msg, "%s", c.status_msg ? c.status_msg : "");
	arena_release(&a);
	return r;
}

static struct res call_remove(struct fx *f, const char *id)
{
	Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return rpc(f, cri_remove_container, &req.base);
}

static struct res call_start(struct fx *f, const char *id)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return rpc(f, cri_start_container, &req.base);
}

static struct res call_stop(struct fx *f, const char *id, int64_t timeout)
{
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = timeout;
	return rpc(f, cri_stop_container, &req.base);
}

/* UpdateContainerResources with these Linux resources (0: not set). */
static struct res call_update(struct fx *f, const char *id, int64_t memory, int64_t cpu_shares)
{
	Runtime__V1__LinuxContainerResources lin = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	lin.memory_limit_in_bytes = memory;
	lin.cpu_shares = cpu_shares;
	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	req.container_id = (char *)id;
	req.linux = &lin;
	return rpc(f, cri_update_container_resources, &req.base);
}

/* ExecSync's outcome, its response copied out of the call's arena. */
struct exec_res {
	struct res r;
	int exit_code;
	size_t out_len, err_len;
	char out[512], err[512];
};

static struct exec_res call_exec(struct fx *f, const char *id, const char *const *cmd, int64_t timeout)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	size_t n = 0;
	while (cmd[n])
		n++;
	req.n_cmd = n;
	req.cmd = (char **)cmd;
	req.timeout = timeout;
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "/runtime.v1.RuntimeService/ExecSync" };
	ProtobufCMessage *resp = NULL;
	struct exec_res e = { 0 };
	e.r.code = cri_exec_sync(&f->env, &c, &req.base, &resp);
	e.r.has_resp = resp != NULL;
	snprintf(e.r.msg, sizeof e.r.msg, "%s", c.status_msg ? c.status_msg : "");
	if (resp) {
		const Runtime__V1__ExecSyncResponse *out = (const void *)resp;
		e.exit_code = out->exit_code;
		e.out_len = out->stdout.len;
		e.err_len = out->stderr.len;
		if (e.out_len >= sizeof e.out || e.err_len >= sizeof e.err)
			fail_msg("ExecSync output too long for the test: %zu / %zu bytes", e.out_len, e.err_len);
		if (e.out_len)
			memcpy(e.out, out->stdout.data, e.out_len);
		if (e.err_len)
			memcpy(e.err, out->stderr.data, e.err_len);
	}
	arena_release(&a);
	return e;
}

/* Check a call's outcome: code, a response exactly when OK, and message fragments. */
#define assert_res(r, want, ...) check_res(__FILE__, __LINE__, (r), (want), (const char *[]){ __VA_ARGS__, NULL })
static void check_res(const char *file, int line, struct res r, grpc_status_code want, const char **frags)
{
	if (r.code != want)
		fail_msg("%s:%d: status %d, wanted %d (message: \"%s\")", file, line, r.code, want, r.msg);
	if (r.has_resp != (want == GRPC_STATUS_OK))
		fail_msg("%s:%d: status %d %s a response", file, line, r.code, r.has_resp ? "with" : "without");
	for (size_t i = 0; frags[i]; i++)
		if (!strstr(r.msg, frags[i]))
			fail_msg("%s:%d: message \"%s\" does not name \"%s\"", file, line, r.msg, frags[i]);
}

/* A call on a thread of its own (for a handler that blocks in the fake). */
struct bg {
	pthread_t t;
	struct fx *f;
	enum { BG_START, BG_REMOVE, BG_STOP, BG_UPDATE } what;
	char id[OBJ_ID_BUF];
	int64_t timeout; /* BG_UPDATE: the memory limit */
	struct res r;
	atomic_int done;
};

static void *bg_main(void *p)
{
	struct bg *b = p;
	b->r = b->what == BG_START ? call_start(b->f, b->id)
	     : b->what == BG_REMOVE ? call_remove(b->f, b->id)
	     : b->what == BG_UPDATE ? call_update(b->f, b->id, b->timeout, 0)
	     : call_stop(b->f, b->id, b->timeout);
	/* Under the fake's lock, so that a test waiting on the fake also wakes up for this. */
	pthread_mutex_lock(&b->f->fake.mu);
	atomic_store(&b->done, 1);
	pthread_cond_broadcast(&b->f->fake.cv);
	pthread_mutex_unlock(&b->f->fake.mu);
	return NULL;
}

/*
 * Wait until the fake has seen more than `than` calls of op (sig > 0: kill calls with that signal),
 * or the background call b has returned (a wrong early return must fail the test, not hang it).
 */
static void wait_calls_or_done(struct fx *f, enum fop op, int sig, unsigned than, struct bg *b)
{
	struct fake *k = &f->fake;
	pthread_mutex_lock(&k->mu);
	while ((sig > 0 ? k->kills[sig] : k->calls[op]) <= than && !atomic_load(&b->done))
		pthread_cond_wait(&k->cv, &k->mu);
	pthread_mutex_unlock(&k->mu);
}

static void bg_run(struct bg *b, struct fx *f, int what, const char *id, int64_t timeout)
{
	memset(b, 0, sizeof *b);
	b->f = f;
	b->what = what;
	snprintf(b->id, sizeof b->id, "%s", id);
	b->timeout = timeout;
	assert_int_equal(pthread_create(&b->t, NULL, bg_main, b), 0);
}

static struct res bg_join(struct bg *b)
{
	assert_int_equal(pthread_join(b->t, NULL), 0);
	return b->r;
}

/* Worker threads that run one job each per round, all released at once by a barrier. */
#define POOL_MAX 16

struct pool;
typedef struct res (*job_fn)(struct fx *f, int idx, const char *id);
struct worker {
	struct pool *p;
	int idx;
};
struct pool {
	struct fx *f;
	int n;
	pthread_t t[POOL_MAX];
	struct worker w[POOL_MAX];
	pthread_barrier_t go, done;
	job_fn job;
	char id[OBJ_ID_BUF];
	int quit;
	struct res r[POOL_MAX];
};

static void *pool_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->p;
	for (;;) {
		pthread_barrier_wait(&p->go);
		if (p->quit)
			return NULL;
		p->r[w->idx] = p->job(p->f, w->idx, p->id);
		pthread_barrier_wait(&p->done);
	}
}

static void pool_init(struct pool *p, struct fx *f, int n)
{
	assert_true(n <= POOL_MAX);
	memset(p, 0, sizeof *p);
	p->f = f;
	p->n = n;
	assert_int_equal(pthread_barrier_init(&p->go, NULL, (unsigned)n + 1), 0);
	assert_int_equal(pthread_barrier_init(&p->done, NULL, (unsigned)n + 1), 0);
	for (int i = 0; i < n; i++) {
		p->w[i] = (struct worker){ p, i };
		assert_int_equal(pthread_create(&p->t[i], NULL, pool_main, &p->w[i]), 0);
	}
}

/* Run job(f, i, id) on every worker at once; return when all are done. */
static void pool_run(struct pool *p, job_fn job, const char *id)
{
	p->job = job;
	snprintf(p->id, sizeof p->id, "%s", id);
	pthread_barrier_wait(&p->go);
	pthread_barrier_wait(&p->done);
}

static void pool_free(struct pool *p)
{
	p->quit = 1;
	pthread_barrier_wait(&p->go);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->t[i], NULL);
	pthread_barrier_destroy(&p->go);
	pthread_barrier_destroy(&p->done);
}

/* Worker 0 starts, worker 1 removes. */
static struct res job_start_or_remove(struct fx *f, int idx, const char *id)
{
	return idx == 0 ? call_start(f, id) : call_remove(f, id);
}

/* Wait until cond holds, at most 10 s (then fail): for what the reaper's thread does. */
#define WAIT_UNTIL(cond, what)                                                                     \
	do {                                                                                       \
		for (int i_ = 0; !(cond) && i_ < 10000; i_++)                                      \
			usleep(1000);                                                              \
		if (!(cond))                                                                       \
			fail_msg("not within 10 s: %s", what);                                     \
	} while (0)

/* Is id on the reaper's queue (its delete not begun)? */
static int reap_queued(struct fx *f, const char *id)
{
	struct lifecycle *lc = f->env.lc;
	pthread_mutex_lock(&lc->reap_mu);
	int q = 0;
	for (size_t i = 0; i < lc->reap_n && !q; i++)
		q = !lc->reap_q[i].fn && !strcmp(lc->reap_q[i].id, id);
	pthread_mutex_unlock(&lc->reap_mu);
	return q;
}

/* Is the reaper's queue empty and no job under way? */
static int reaper_idle(struct fx *f)
{
	struct lifecycle *lc = f->env.lc;
	pthread_mutex_lock(&lc->reap_mu);
	int idle = lc->reap_n == 0 && !lc->reap_busy;
	pthread_mutex_unlock(&lc->reap_mu);
	return idle;
}
/* The daemon starts again (lifecycle_open, its recovery) and the runtime work recovery leaves to
 * the reaper (life_later) is done. */
static void reopen(struct fx *f)
{
	struct lc_err err = { 0 };
	if (lifecycle_open(&f->env, fake_runtime(&f->fake), &err) < 0)
		fail_msg("lifecycle_open: %s", err.msg);
	WAIT_UNTIL(reaper_idle(f), "recovery's work on the reaper is done");
}

/* How many runtime calls op were made for id since event `from`. */
static int fake_events_of(struct fake *f, size_t from, enum fop op, const char *id)
{
	int n = 0;
	for (long i = (long)from; (i = fake_event(f, (size_t)i, op, -1, id)) >= 0; i++)
		n++;
	return n;
}

/* Remove a container whatever its state (test cleanup); it must succeed. */
static void remove_ok(struct fx *f, const char *id)
{
	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_false(row(f, id).exists);
	assert_int_equal(fake_has(&f->fake, id), RT_MISSING);
}

/* ------------------------------------------------------------------------------------------ */
/* RemoveContainer                                                                            */

/* (1) The runtime's delete fails: the call fails, removing is reset, a retry removes the row and
 * releases the name. */
static void test_remove_delete_fails_then_retry(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_EXITED, id);
	unsigned k = f->seq;
	unsigned d0 = fake_calls(&f->fake, F_DELETE);

	fake_fail(&f->fake, F_DELETE, 1, EIO, NULL);
	assert_res(call_remove(f, id), GRPC_STATUS_INTERNAL, id, "injected failure");
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0 + 1);
	struct snap s = row(f, id);
	assert_true(s.exists);
	assert_int_equal(s.removing, 0);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(fake_has(&f->fake, id), RT_STOPPED);

	/* The name is still held by the row. */
	char other[OBJ_ID_BUF];
	struct lc_err err = { 0 };
	{
		char name[64];
		ctr_name(k, name, sizeof name);
		struct obj_new n = { .sandbox_id = f->sandbox, .name = name, .meta_name = "x", .config = "",
				     .config_len = 0, .config_digest = "other", .stop_signal = SIGTERM };
		struct obj_holder h;
		enum refusal why;
		assert_int_equal(life_new_id(n.id, &err), 0);
		assert_int_equal(store_container_insert(f->store, &n, &h, &why, &err), -1);
		assert_int_equal(err.errnum, EEXIST);
		assert_string_equal(h.id, id);
	}

	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0 + 2);
	assert_false(row(f, id).exists);
	assert_int_equal(fake_has(&f->fake, id), RT_MISSING);

	/* The name is free again: a new row may take it. */
	insert_row(f, k, other);
	assert_string_not_equal(other, id);
	assert_true(row(f, other).exists);
	assert_int_equal(flagged_rows(f), 1); /* the new row is still "creating", as inserted */
}

/* (2) Remove while a StartContainer is in flight: refused, naming the container and "starting". */
static void test_remove_while_starting(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, id);
	unsigned d0 = fake_calls(&f->fake, F_DELETE);

	fake_hold(&f->fake, F_START, 1);
	struct bg b;
	bg_run(&b, f, BG_START, id, 0);
	fake_wait_blocked(&f->fake, F_START, 1);
	assert_int_equal(row(f, id).starting, 1);

	assert_res(call_remove(f, id), GRPC_STATUS_FAILED_PRECONDITION, id, "starting");
	struct snap s = row(f, id);
	assert_int_equal(s.removing, 0);
	assert_int_equal(s.starting, 1);
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0);

	fake_hold(&f->fake, F_START, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	s = row(f, id);
	assert_int_equal(s.state, CTR_RUNNING);
	assert_int_equal(s.starting, 0);
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/* RemoveContainer on a worker of test_remove_concurrent: the fake delete is held until every other
 * worker's call has returned (the last of them lets it go), so every call but the one in the
 * delete meets a removal in flight.  A watchdog lets it go after 120 s should that never happen. */
static int exists(const char *path);
static atomic_int held_returned;
static int held_release_at;

static struct res job_remove_held(struct fx *f, int idx, const char *id)
{
	(void)idx;
	struct res r = call_remove(f, id);
	if (atomic_fetch_add(&held_returned, 1) + 1 == held_release_at)
		fake_hold(&f->fake, F_DELETE, 0);
	return r;
}

static void *release_watchdog(void *arg)
{
	struct fx *f = arg;
	for (int i = 0; atomic_load(&held_returned) < held_release_at; i++) {
		if (i == 12000) { /* 120 s */
			fake_hold(&f->fake, F_DELETE, 0);
			break;
		}
		usleep(10000);
	}
	return NULL;
}

/*
 * (3) 16 concurrent RemoveContainer calls on one container: one removal, nobody fails internally.
 * The runtime delete is held while the others arrive, so every round runs the refused path: one
 * OK, 15 refused as "already in removing state".  The container's directories and exit file go.
 */
static void test_remove_concurrent(void **state)
{
	struct fx *f = *state;
	enum { WORKERS = 16, ROUNDS = 12 };
	struct pool p;
	pool_init(&p, f, WORKERS);
	for (int round = 0; round < ROUNDS; round++) {
		/* Most rounds on an EXITED container; every third on a RUNNING one (each call may try to
		 * stop it first). */
		int running = round % 3 == 2;
		char id[OBJ_ID_BUF];
		mk_container(f, running ? CTR_RUNNING : CTR_EXITED, id);
		char dirs[2][PATH_MAX + 80], exit_file[PATH_MAX + 100];
		snprintf(dirs[0], sizeof dirs[0], "%s/containers/%s", f->cfg.state, id);
		snprintf(dirs[1], sizeof dirs[1], "%s/containers/%s", f->cfg.root, id);
		snprintf(exit_file, sizeof exit_file, "%s/%s", f->fake.exit_dir, id);
		for (int i = 0; i < 2; i++)
			if (mkdir(dirs[i], 0700) < 0)
				assert_int_equal(errno, EEXIST);
		if (!running) {
			FILE *fp = fopen(exit_file, "w");
			assert_non_null(fp);
			fputs("0", fp);
			assert_int_equal(fclose(fp), 0);
		}
		unsigned d0 = fake_calls(&f->fake, F_DELETE), k0 = fake_kills(&f->fake, SIGKILL);

		atomic_store(&held_returned, 0);
		held_release_at = WORKERS - 1;
		fake_hold(&f->fake, F_DELETE, 1);
		pthread_t dog;
		assert_int_equal(pthread_create(&dog, NULL, release_watchdog, f), 0);
		pool_run(&p, job_remove_held, id);
		pthread_join(dog, NULL);

		int ok = 0, refused = 0;
		for (int i = 0; i < WORKERS; i++) {
			struct res r = p.r[i];
			if (r.code == GRPC_STATUS_OK) {
				assert_true(r.has_resp);
				ok++;
			} else if (r.code == GRPC_STATUS_FAILED_PRECONDITION) {
				assert_false(r.has_resp);
				if (!strstr(r.msg, "already in removing state") || !strstr(r.msg, id))
					fail_msg("round %d worker %d: refused with \"%s\"", round, i, r.msg);
				refused++;
			} else {
				fail_msg("round %d worker %d: status %d: %s", round, i, r.code, r.msg);
			}
		}
		assert_int_equal(ok, 1);
		assert_int_equal(refused, WORKERS - 1);
		/* Exactly one removal reached the runtime; a RUNNING container's exit (recorded by the
		 * forced stop) may have the reaper's delete come first (Remove's then finds nothing). */
		unsigned dels = fake_calls(&f->fake, F_DELETE) - d0;
		if (dels != 1 && !(running && dels == 2))
			fail_msg("round %d: %u deletes", round, dels);
		if (running)
			assert_true(fake_kills(&f->fake, SIGKILL) > k0);
		assert_false(row(f, id).exists);
		assert_int_equal(fake_has(&f->fake, id), RT_MISSING);
		assert_int_equal(flagged_rows(f), 0);
		for (int i = 0; i < 2; i++)
			if (exists(dirs[i]))
				fail_msg("round %d: %s left behind", round, dirs[i]);
		if (exists(exit_file))
			fail_msg("round %d: exit file %s left behind", round, exit_file);
	}
	pool_free(&p);
}

/*
 * The outcome of StartContainer (st) and RemoveContainer (rm) on a CREATED container id, checked:
 * 0 both succeeded one after the other (Remove stopped it: a SIGKILL since k0), 1 Start won and
 * Remove was refused, 2 Remove won (Start refused or NOT_FOUND).  The container is gone afterwards.
 */
static int start_remove_outcome(struct fx *f, int round, const char *id, struct res st, struct res rm, unsigned k0)
{
	struct res both[2] = { st, rm };
	for (int i = 0; i < 2; i++) {
		struct res r = both[i];
		if (r.code != GRPC_STATUS_OK && r.code != GRPC_STATUS_FAILED_PRECONDITION &&
		    !(i == 0 && r.code == GRPC_STATUS_NOT_FOUND))
			fail_msg("round %d: %s: status %d: %s", round, i ? "remove" : "start", r.code, r.msg);
		if ((r.code == GRPC_STATUS_OK) != r.has_resp)
			fail_msg("round %d: status %d and response disagree", round, r.code);
	}
	struct snap s = row(f, id);
	int order;
	if (st.code == GRPC_STATUS_OK && rm.code == GRPC_STATUS_OK) {
		order = 0;
		assert_true(fake_kills(&f->fake, SIGKILL) > k0); /* sequential: Remove stopped it */
		assert_false(s.exists);
	} else if (st.code == GRPC_STATUS_OK) {
		order = 1;
		if (!strstr(rm.msg, id) || (!strstr(rm.msg, "starting") && !strstr(rm.msg, "running")))
			fail_msg("round %d: remove refused with \"%s\"", round, rm.msg);
		assert_true(s.exists);
		assert_int_equal(s.state, CTR_RUNNING);
	} else if (rm.code == GRPC_STATUS_OK) {
		order = 2;
		if (st.code == GRPC_STATUS_FAILED_PRECONDITION && (!strstr(st.msg, id) || !strstr(st.msg, "removing")))
			fail_msg("round %d: start refused with \"%s\"", round, st.msg);
		assert_false(s.exists);
	} else {
		fail_msg("round %d: neither won: start %d \"%s\", remove %d \"%s\"", round, st.code, st.msg, rm.code,
			 rm.msg);
		return -1;
	}
	assert_int_equal(fake_has(&f->fake, id), row(f, id).exists ? RT_RUNNING : RT_MISSING);
	if (order == 1)
		remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
	return order;
}

/* (4) StartContainer racing RemoveContainer on a CREATED container. */
static void test_start_races_remove(void **state)
{
	struct fx *f = *state;
	enum { FORCED = 8, FREE = 40 };
	char id[OBJ_ID_BUF];

	/* Start first: Remove comes while the runtime start is in flight. */
	for (int round = 0; round < FORCED; round++) {
		mk_container(f, CTR_CREATED, id);
		unsigned d0 = fake_calls(&f->fake, F_DELETE);
		fake_hold(&f->fake, F_START, 1);
		struct bg b;
		bg_run(&b, f, BG_START, id, 0);
		fake_wait_blocked(&f->fake, F_START, 1);
		assert_res(call_remove(f, id), GRPC_STATUS_FAILED_PRECONDITION, id, "starting");
		fake_hold(&f->fake, F_START, 0);
		assert_res(bg_join(&b), GRPC_STATUS_OK, "");
		assert_int_equal(fake_calls(&f->fake, F_DELETE), d0);
		struct snap s = row(f, id);
		assert_int_equal(s.state, CTR_RUNNING);
		assert_int_equal(s.starting + s.removing, 0);
		assert_int_equal(fake_has(&f->fake, id), RT_RUNNING);
		remove_ok(f, id);
	}

	/* Remove first: Start comes while the runtime delete is in flight. */
	for (int round = 0; round < FORCED; round++) {
		mk_container(f, CTR_CREATED, id);
		unsigned s0 = fake_calls(&f->fake, F_START);
		fake_hold(&f->fake, F_DELETE, 1);
		struct bg b;
		bg_run(&b, f, BG_REMOVE, id, 0);
		fake_wait_blocked(&f->fake, F_DELETE, 1);
		assert_int_equal(row(f, id).removing, 1);
		assert_res(call_start(f, id), GRPC_STATUS_FAILED_PRECONDITION, id, "removing");
		fake_hold(&f->fake, F_DELETE, 0);
		assert_res(bg_join(&b), GRPC_STATUS_OK, "");
		assert_int_equal(fake_calls(&f->fake, F_START), s0);
		assert_false(row(f, id).exists);
		assert_int_equal(fake_has(&f->fake, id), RT_MISSING);
	}
	assert_int_equal(flagged_rows(f), 0);

	/*
	 * Both in turn: Start finished before Remove read the row, so Remove had to stop the RUNNING
	 * container first (a SIGKILL).  The free race below rarely hits this order (none in three runs
	 * of 40 rounds), so it is made here, through the same checks.
	 */
	for (int round = 0; round < FORCED; round++) {
		mk_container(f, CTR_CREATED, id);
		unsigned k0 = fake_kills(&f->fake, SIGKILL);
		struct res st = call_start(f, id);
		struct res rm = call_remove(f, id);
		assert_int_equal(start_remove_outcome(f, round, id, st, rm, k0), 0);
	}

	/*
	 * Free race.  Both may succeed only one after the other (as above).  Otherwise exactly one
	 * wins and the other is refused (FAILED_PRECONDITION), or Start finds the row gone (NOT_FOUND).
	 */
	struct pool p;
	pool_init(&p, f, 2);
	int orders[3] = { 0 };
	for (int round = 0; round < FREE; round++) {
		mk_container(f, CTR_CREATED, id);
		unsigned k0 = fake_kills(&f->fake, SIGKILL);
		pool_run(&p, job_start_or_remove, id);
		orders[start_remove_outcome(f, round, id, p.r[0], p.r[1], k0)]++;
	}
	pool_free(&p);
	print_message("free race: both in turn %d, start won %d, remove won %d\n", orders[0], orders[1], orders[2]);
}

/* (5) RUNNING: force-stopped (SIGKILL) before the delete; a stop failure fails Remove without
 * setting removing. */
static void test_remove_running(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	size_t e0 = fake_n_events(&f->fake);
	remove_ok(f, id);
	long kill = fake_event(&f->fake, e0, F_KILL, SIGKILL, id), del = fake_event(&f->fake, e0, F_DELETE, -1, id);
	assert_true(kill >= 0);
	assert_true(del > kill);

	/* kill fails with a real error: no removal, no flag, still RUNNING; a retry works. */
	mk_container(f, CTR_RUNNING, id);
	unsigned d0 = fake_calls(&f->fake, F_DELETE);
	fake_fail(&f->fake, F_KILL, 1, EIO, id);
	assert_res(call_remove(f, id), GRPC_STATUS_INTERNAL, id, "forcibly stop");
	struct snap s = row(f, id);
	assert_true(s.exists);
	assert_int_equal(s.state, CTR_RUNNING);
	assert_int_equal(s.removing, 0);
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0);
	assert_int_equal(fake_has(&f->fake, id), RT_RUNNING);
	remove_ok(f, id);

	/* The runtime lost the container (no exit file either): kill says ENOENT, the exit is recorded
	 * as unknown (255) and the removal goes on.  The delete is held to see the row in between. */
	mk_container(f, CTR_RUNNING, id);
	struct lc_err err = { 0 };
	assert_int_equal(fake_delete(&f->fake, id, &err), 0);
	size_t e1 = fake_n_events(&f->fake);
	fake_hold(&f->fake, F_DELETE, 1);
	struct bg b;
	bg_run(&b, f, BG_REMOVE, id, 0);
	fake_wait_blocked(&f->fake, F_DELETE, 1); /* the reaper's: the recorded exit queued it */
	WAIT_UNTIL(row(f, id).removing, "Remove sets removing, then waits for the reaper's delete");
	s = row(f, id);
	fake_hold(&f->fake, F_DELETE, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	assert_true(fake_event(&f->fake, e1, F_KILL, SIGKILL, id) >= 0); /* it was asked, and said ENOENT */
	assert_true(s.exists);
	assert_int_equal(s.removing, 1);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 255);
	assert_false(row(f, id).exists);
	assert_int_equal(flagged_rows(f), 0);
}

/* (6) A container that does not exist: OK, and the runtime is not asked anything. */
static void test_remove_missing(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	struct lc_err err = { 0 };
	assert_int_equal(life_new_id(id, &err), 0);
	unsigned k0 = fake_calls(&f->fake, F_KILL), d0 = fake_calls(&f->fake, F_DELETE);
	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_res(call_remove(f, "0123abc"), GRPC_STATUS_OK, ""); /* a prefix nothing has */
	assert_int_equal(fake_calls(&f->fake, F_KILL), k0);
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0);

	/* Twice in a row on a real one: the second finds nothing and is OK too. */
	mk_container(f, CTR_EXITED, id);
	remove_ok(f, id);
	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0 + 1);
}

/* (7) Teardown fails after the runtime container was deleted: removing reset; the retry finds the
 * runtime container gone (fine) and finishes. */
static void test_remove_teardown_fails_after_delete(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_EXITED, id);
	/* The exit file's name is taken by a directory: the runtime's delete deletes the container, then
	 * fails to unlink its exit file (EISDIR). */
	char path[PATH_MAX + 100];
	snprintf(path, sizeof path, "%s/%s", f->fake.exit_dir, id);
	assert_int_equal(mkdir(path, 0700), 0);
	unsigned d0 = fake_calls(&f->fake, F_DELETE);

	assert_res(call_remove(f, id), GRPC_STATUS_INTERNAL, id);
	assert_int_equal(fake_calls(&f->fake, F_DELETE), d0 + 1);
	assert_int_equal(fake_has(&f->fake, id), RT_MISSING); /* the runtime part is done */
	struct snap s = row(f, id);
	assert_true(s.exists);
	assert_int_equal(s.removing, 0);

	/* Still failing: still reset. */
	assert_res(call_remove(f, id), GRPC_STATUS_INTERNAL, id);
	assert_int_equal(row(f, id).removing, 0);

	assert_int_equal(rmdir(path), 0);
	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_false(row(f, id).exists);
	assert_int_equal(flagged_rows(f), 0);

	/* The simplest form: the runtime delete itself fails with EIO. */
	mk_container(f, CTR_CREATED, id);
	fake_fail(&f->fake, F_DELETE, 1, EIO, id);
	assert_res(call_remove(f, id), GRPC_STATUS_INTERNAL, id);
	assert_int_equal(row(f, id).removing, 0);
	assert_int_equal(fake_has(&f->fake, id), RT_CREATED);
	remove_ok(f, id);
}

/* ------------------------------------------------------------------------------------------ */
/* StartContainer, StopContainer                                                              */

/* (8) The runtime start fails: EXITED, code 128, reason StartError, starting cleared. */
static void test_start_fails(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, id);
	fake_fail(&f->fake, F_START, 1, EIO, id);
	assert_res(call_start(f, id), GRPC_STATUS_INTERNAL, id, "injected failure");
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 128);
	assert_string_equal(s.reason, "StartError");
	assert_non_null(strstr(s.message, "injected failure"));
	assert_int_equal(s.starting, 0);
	assert_true(s.finished_at > 0);

	/* ContainerStatus shows it. */
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = id;
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "ContainerStatus" };
	ProtobufCMessage *resp = NULL;
	assert_int_equal(cri_container_status(&f->env, &c, &req.base, &resp), GRPC_STATUS_OK);
	Runtime__V1__ContainerStatusResponse *out = (void *)resp;
	assert_non_null(out->status);
	assert_int_equal(out->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_int_equal(out->status->exit_code, 128);
	assert_string_equal(out->status->reason, "StartError");
	assert_string_equal(out->status->metadata->name, "c1");
	assert_string_equal(out->status->image->image, "busybox:latest");
	arena_release(&a);

	/* The runtime says the request was at fault (EINVAL: runc could not find or run the program):
	 * INVALID_ARGUMENT with its words, recorded the same way; a runtime that lost the container
	 * (ENOENT) is the daemon's trouble, INTERNAL. */
	char id2[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, id2);
	fake_fail(&f->fake, F_START, 1, EINVAL, id2);
	assert_res(call_start(f, id2), GRPC_STATUS_INVALID_ARGUMENT, id2, "injected failure");
	s = row(f, id2);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 128);
	assert_string_equal(s.reason, "StartError");
	assert_non_null(strstr(s.message, "injected failure"));
	assert_int_equal(s.starting, 0);
	char id3[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, id3);
	fake_fail(&f->fake, F_START, 1, ENOENT, id3);
	assert_res(call_start(f, id3), GRPC_STATUS_INTERNAL, id3, "injected failure");
	assert_string_equal(row(f, id3).reason, "StartError");

	/* Not startable again; removable. */
	assert_res(call_start(f, id), GRPC_STATUS_FAILED_PRECONDITION, id, "EXITED");
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/* (9) A process that ignores its stop signal: SIGKILL after the timeout, and the call returns only
 * once the exit is recorded. */
static void test_stop_ignores_signal(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	f->fake.ignore_stop_signal = 1;

	/* SIGKILL kills at once: the exit file appears, the watcher records it. */
	mk_container(f, CTR_RUNNING, id);
	size_t e0 = fake_n_events(&f->fake);
	assert_res(call_stop(f, id, 1), GRPC_STATUS_OK, "");
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 137);
	assert_string_equal(s.reason, "Error");
	long term = fake_event(&f->fake, e0, F_KILL, SIGTERM, id), kill = fake_event(&f->fake, e0, F_KILL, SIGKILL, id);
	assert_true(term >= 0);
	assert_true(kill > term);
	/* Stopping it again does nothing. */
	unsigned k0 = fake_calls(&f->fake, F_KILL);
	assert_res(call_stop(f, id, 1), GRPC_STATUS_OK, "");
	assert_int_equal(fake_calls(&f->fake, F_KILL), k0);
	remove_ok(f, id);

	/* The SIGKILLed process takes its time to die: the call waits for the exit. */
	f->fake.death = DEATH_SLOW;
	mk_container(f, CTR_RUNNING, id);
	unsigned sk0 = fake_kills(&f->fake, SIGKILL);
	struct bg b;
	bg_run(&b, f, BG_STOP, id, 1);
	wait_calls_or_done(f, F_KILL, SIGKILL, sk0, &b);
	/* Let the waiting call look at the container again after the SIGKILL: still running. */
	unsigned st0 = fake_calls(&f->fake, F_STATE);
	wait_calls_or_done(f, F_STATE, 0, st0 + 1, &b);
	assert_false(atomic_load(&b.done));
	assert_int_equal(row(f, id).state, CTR_RUNNING);
	fake_reap(&f->fake, id);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 137);
	f->fake.death = DEATH_NOW;
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/*
 * StopContainer whose caller's gRPC deadline passes.  The stop is not cut short: the deadline
 * passes during the grace period, which still runs out, and the SIGKILL is still sent.  Only the
 * wait after it, which just tells the caller how it went, ends at the deadline
 * (DEADLINE_EXCEEDED) instead of after the 120 s allowed for a SIGKILLed container; the exit is
 * recorded when it comes.
 */
static void test_stop_caller_deadline(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	f->fake.ignore_stop_signal = 1;
	f->fake.death = DEATH_SLOW; /* the SIGKILLed process lingers until fake_reap */
	mk_container(f, CTR_RUNNING, id);
	unsigned sk0 = fake_kills(&f->fake, SIGKILL);
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "/runtime.v1.RuntimeService/StopContainer",
			      .deadline = cri_now() + 300 * 1000000LL };
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = id;
	req.timeout = 1;
	ProtobufCMessage *resp = NULL;
	int64_t t0 = cri_now();
	grpc_status_code code = cri_stop_container(&f->env, &c, &req.base, &resp);
	int64_t took_s = (cri_now() - t0) / 1000000000;
	assert_int_equal(code, GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_non_null(strstr(c.status_msg, "deadline passed"));
	arena_release(&a);
	assert_int_equal(fake_kills(&f->fake, SIGKILL), sk0 + 1);
	assert_true(took_s < 60); /* a hang check: without the deadline the wait takes 120 s */
	assert_int_equal(row(f, id).state, CTR_RUNNING);
	fake_reap(&f->fake, id);
	for (int i = 0; row(f, id).state != CTR_EXITED; i++) {
		assert_true(i < 2000); /* the watcher records the exit (a hang guard, not a timing check) */
		usleep(10000);
	}
	assert_int_equal(row(f, id).exit_code, 137);
	f->fake.death = DEATH_NOW;
	f->fake.ignore_stop_signal = 0;
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/*
 * The exit code conmon reports is the one recorded, even when StopContainer looks at the container
 * between the process's death and conmon writing the exit file: runc already says "stopped" (pid 0)
 * then, which is not "conmon is gone".  When conmon really is gone without an exit file, the exit is
 * recorded as unknown (255) and the call returns.
 */
static void test_stop_exit_code_survives_conmon_lag(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	f->fake.death = DEATH_LAG;
	unsigned sk0 = fake_kills(&f->fake, SIGKILL);
	/* StopContainer with timeout 0 asks the runtime nothing before the SIGKILL. */
	unsigned st0 = fake_calls(&f->fake, F_STATE);
	struct bg b;
	bg_run(&b, f, BG_STOP, id, 0);
	wait_calls_or_done(f, F_KILL, SIGKILL, sk0, &b);
	/*
	 * The call looks at the container while the exit file is pending, and decides: either it
	 * returns (it recorded an exit of its own), or it keeps waiting and looks again a second later
	 * (the second state call proves the first look is over).  Only then does conmon write 137.
	 */
	wait_calls_or_done(f, F_STATE, 0, st0 + 1, &b);
	fake_reap(&f->fake, id);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	if (s.exit_code != 137)
		fail_msg("container %s: exit code %d (%s) recorded; conmon reported 137", id, s.exit_code, s.reason);
	remove_ok(f, id);

	/* conmon killed while the container dies: nobody will ever write the exit file. */
	mk_container(f, CTR_RUNNING, id);
	sk0 = fake_kills(&f->fake, SIGKILL);
	st0 = fake_calls(&f->fake, F_STATE);
	bg_run(&b, f, BG_STOP, id, 0);
	wait_calls_or_done(f, F_KILL, SIGKILL, sk0, &b);
	wait_calls_or_done(f, F_STATE, 0, st0, &b);
	assert_false(atomic_load(&b.done)); /* conmon is alive: it waits for the file */
	fake_kill_conmon(&f->fake, id);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 255);
	f->fake.death = DEATH_NOW;
	remove_ok(f, id);
}

/*
 * The reason recorded is the runtime's verdict (exit_status): OOMKilled when it says the OOM killer
 * struck, whether the exit came through the watcher or was recorded as lost (the monitor gone
 * without an exit code: 255, the verdict all the same).
 */
static void test_exit_reason_is_runtimes(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	fake_oom(&f->fake, id);
	assert_res(call_stop(f, id, 0), GRPC_STATUS_OK, "");
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 137);
	assert_string_equal(s.reason, "OOMKilled");
	remove_ok(f, id);

	f->fake.death = DEATH_LAG;
	mk_container(f, CTR_RUNNING, id);
	fake_oom(&f->fake, id);
	unsigned sk0 = fake_kills(&f->fake, SIGKILL), st0 = fake_calls(&f->fake, F_STATE);
	struct bg b;
	bg_run(&b, f, BG_STOP, id, 0);
	wait_calls_or_done(f, F_KILL, SIGKILL, sk0, &b);
	wait_calls_or_done(f, F_STATE, 0, st0, &b);
	fake_kill_conmon(&f->fake, id);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 255);
	assert_string_equal(s.reason, "OOMKilled");
	f->fake.death = DEATH_NOW;
	remove_ok(f, id);
}

/* ------------------------------------------------------------------------------------------ */
/* recovery                                                                                   */

static void mkdir_or_fail(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* (10) Flags a killed daemon leaves, reconciled by the recovery lifecycle_open runs. */
static void test_recover_flags(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char rm[OBJ_ID_BUF], rm_fail[OBJ_ID_BUF], st_run[OBJ_ID_BUF], st_created[OBJ_ID_BUF], st_exit[OBJ_ID_BUF],
		st_lost[OBJ_ID_BUF], creating[OBJ_ID_BUF], run_lost[OBJ_ID_BUF], run_exit[OBJ_ID_BUF], run_ok[OBJ_ID_BUF],
		exited[OBJ_ID_BUF], orphan_rt[OBJ_ID_BUF], orphan_dir[OBJ_ID_BUF], orphan_exit[OBJ_ID_BUF];

	mk_container(f, CTR_EXITED, rm);
	mk_container(f, CTR_EXITED, rm_fail);
	mk_container(f, CTR_CREATED, st_run);
	mk_container(f, CTR_CREATED, st_created);
	mk_container(f, CTR_CREATED, st_exit);
	mk_container(f, CTR_CREATED, st_lost);
	insert_row(f, ++f->seq, creating); /* CreateContainer killed half-way */
	mk_container(f, CTR_RUNNING, run_lost);
	mk_container(f, CTR_RUNNING, run_exit);
	mk_container(f, CTR_RUNNING, run_ok);
	mk_container(f, CTR_EXITED, exited);
	assert_int_equal(life_new_id(orphan_rt, &err), 0);
	assert_int_equal(life_new_id(orphan_dir, &err), 0);
	assert_int_equal(life_new_id(orphan_exit, &err), 0);

	/* The daemon dies. */
	lifecycle_close(&f->env);
	set_flag(f, rm, "removing");
	set_flag(f, rm_fail, "removing");
	set_flag(f, st_run, "starting");
	fake_add(&f->fake, st_run, RT_RUNNING); /* the runtime start had happened */
	set_flag(f, st_created, "starting");
	set_flag(f, st_exit, "starting");
	set_flag(f, st_lost, "starting");
	pthread_mutex_lock(&f->fake.mu);
	fake_write_exit(&f->fake, st_exit, 1); /* started, and exited with 1 while the daemon was down */
	fake_write_exit(&f->fake, run_exit, 0);
	pthread_mutex_unlock(&f->fake.mu);
	fake_forget(&f->fake, st_exit);
	fake_forget(&f->fake, st_lost);
	fake_forget(&f->fake, run_lost);
	fake_add(&f->fake, run_exit, RT_STOPPED);
	/* What the half-created container had already made. */
	char p[PATH_MAX + 200], q[PATH_MAX + 300];
	fake_add(&f->fake, creating, RT_CREATED);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.state, creating);
	mkdir_or_fail(p);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.root, creating);
	mkdir_or_fail(p);
	snprintf(q, sizeof q, "%s/upper", p);
	mkdir_or_fail(q);
	/* Leftovers nobody owns (and an entry that is not litecri's). */
	fake_add(&f->fake, orphan_rt, RT_RUNNING);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.state, orphan_dir);
	mkdir_or_fail(p);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.root, orphan_dir);
	mkdir_or_fail(p);
	pthread_mutex_lock(&f->fake.mu);
	fake_write_exit(&f->fake, orphan_exit, 0);
	pthread_mutex_unlock(&f->fake.mu);
	snprintf(p, sizeof p, "%s/containers/not-an-id", f->cfg.state);
	mkdir_or_fail(p);
	/* rm_fail's runtime delete fails during recovery. */
	fake_fail(&f->fake, F_DELETE, 1, EIO, rm_fail);

	/* The daemon starts again. */
	reopen(f);

	struct snap s;
	/* removing → removal finished; its runtime delete failing → kept, removing reset. */
	assert_false(row(f, rm).exists);
	assert_int_equal(fake_has(&f->fake, rm), RT_MISSING);
	s = row(f, rm_fail);
	assert_true(s.exists);
	assert_int_equal(s.removing, 0);
	assert_int_equal(fake_has(&f->fake, rm_fail), RT_STOPPED);
	/* starting → RUNNING / CREATED / its exit (from the exit file, else 255). */
	s = row(f, st_run);
	assert_int_equal(s.state, CTR_RUNNING);
	assert_true(s.started_at > 0);
	s = row(f, st_created);
	assert_int_equal(s.state, CTR_CREATED);
	s = row(f, st_exit);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 1);
	assert_string_equal(s.reason, "Error");
	s = row(f, st_lost);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 255);
	/* creating → torn down and deleted. */
	assert_false(row(f, creating).exists);
	assert_int_equal(fake_has(&f->fake, creating), RT_MISSING);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.state, creating);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.root, creating);
	assert_false(exists(p));
	/* RUNNING the runtime no longer runs → its exit. */
	s = row(f, run_lost);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 255);
	s = row(f, run_exit);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 0);
	assert_string_equal(s.reason, "Completed");
	s = row(f, run_ok);
	assert_int_equal(s.state, CTR_RUNNING);
	assert_int_equal(fake_has(&f->fake, run_ok), RT_RUNNING);
	s = row(f, exited);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 0);
	/* Orphans gone, the foreign entry left alone, the sandbox untouched. */
	assert_int_equal(fake_has(&f->fake, orphan_rt), RT_MISSING);
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.state, orphan_rt);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.state, orphan_dir);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/containers/%s", f->cfg.root, orphan_dir);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/%s", f->fake.exit_dir, orphan_exit);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/containers/not-an-id", f->cfg.state);
	assert_true(exists(p));
	assert_int_equal(fake_has(&f->fake, f->sandbox), RT_RUNNING);
	struct arena a;
	arena_init(&a);
	struct sandbox_row sb;
	assert_int_equal(store_sandbox_get(f->store, f->sandbox, &a, &sb, &err), 0);
	assert_int_equal(sb.state, SANDBOX_READY);
	arena_release(&a);
	/* No flag left anywhere, and everything is usable again. */
	assert_int_equal(flagged_rows(f), 0);
	remove_ok(f, rm_fail);
	remove_ok(f, st_created);
	remove_ok(f, run_ok);
}

/*
 * Recovery of a `starting` container whose runtime state cannot be read while its conmon is alive:
 * no exit may be invented for a container that may well be running.  The flag itself must go (else
 * the container can never be removed).
 */
static void test_recover_starting_state_unreadable(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, id);
	lifecycle_close(&f->env);
	set_flag(f, id, "starting");
	fake_add(&f->fake, id, RT_RUNNING);
	fake_fail(&f->fake, F_STATE, 1, EIO, id);
	reopen(f);
	struct snap s = row(f, id);
	assert_int_equal(s.starting, 0);
	if (s.state == CTR_EXITED)
		fail_msg("container %s: runtime state unreadable, yet recorded EXITED with code %d (%s); the runtime "
			 "still runs it", id, s.exit_code, s.reason);
}

/*
 * After a reboot (a boot ID other than the one the last start recorded) recovery asks the runtime
 * nothing — here the fake still claims every container runs, as a runtime state that survived the
 * reboot on a persistent disk might — and records every container not EXITED as EXITED (the exit
 * file's code, else 255, reason Error), clears starting and updating (nothing to re-apply), makes
 * the READY pod NOTREADY and records the new boot ID; everything can then be removed.
 */
static void test_recover_after_reboot(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char run[OBJ_ID_BUF], with_exit[OBJ_ID_BUF], created[OBJ_ID_BUF], starting[OBJ_ID_BUF], updating[OBJ_ID_BUF],
		exited[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, run);
	mk_container(f, CTR_RUNNING, with_exit);
	mk_container(f, CTR_CREATED, created);
	mk_container(f, CTR_CREATED, starting);
	mk_container(f, CTR_RUNNING, updating);
	mk_container(f, CTR_EXITED, exited);

	/* The host goes down under the daemon; the exit file of one container survives. */
	lifecycle_close(&f->env);
	set_flag(f, starting, "starting");
	fake_add(&f->fake, starting, RT_RUNNING);
	set_flag(f, updating, "updating");
	pthread_mutex_lock(&f->fake.mu);
	fake_write_exit(&f->fake, with_exit, 42);
	pthread_mutex_unlock(&f->fake.mu);
	char boot[sizeof f->cfg.boot_id_path], was[64];
	assert_int_equal(store_host_get(f->store, "boot_id", was, sizeof was, &err), 0);
	assert_true(was[0] != '\0'); /* setup's start recorded the kernel's */
	assert_true(snprintf(boot, sizeof boot, "%s/boot_id", f->dir) < (int)sizeof boot);
	write_file(boot, "litecri-test-boot-2\n");
	snprintf(f->cfg.boot_id_path, sizeof f->cfg.boot_id_path, "%s", boot);
	unsigned states = fake_calls(&f->fake, F_STATE), updates = fake_calls(&f->fake, F_UPDATE);

	reopen(f);

	assert_int_equal(fake_calls(&f->fake, F_STATE), states); /* the runtime's word not asked for */
	assert_int_equal(fake_calls(&f->fake, F_UPDATE), updates);
	const char *gone[] = { run, created, starting, updating };
	for (size_t i = 0; i < 4; i++) {
		struct snap s = row(f, gone[i]);
		if (s.state != CTR_EXITED)
			fail_msg("container %s: state %d after a reboot (the runtime still claims it)", gone[i], s.state);
		assert_int_equal(s.exit_code, 255);
		assert_string_equal(s.reason, "Error");
		assert_true(s.finished_at > 0);
	}
	struct snap s = row(f, with_exit);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 42);
	s = row(f, exited);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 0);
	assert_string_equal(s.reason, "Completed");
	assert_int_equal(flagged_rows(f), 0);
	struct arena a;
	arena_init(&a);
	struct sandbox_row sb;
	assert_int_equal(store_sandbox_get(f->store, f->sandbox, &a, &sb, &err), 0);
	assert_int_equal(sb.state, SANDBOX_NOTREADY);
	arena_release(&a);
	char now[64];
	assert_int_equal(store_host_get(f->store, "boot_id", now, sizeof now, &err), 0);
	assert_string_equal(now, "litecri-test-boot-2");

	/* The next start on the same boot is no reboot: a container started now survives it. */
	char later[OBJ_ID_BUF];
	sqlite3 *db = store_conn(f->store, &err);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "UPDATE sandboxes SET state = 0", NULL, NULL, NULL), SQLITE_OK); /* READY */
	mk_container(f, CTR_RUNNING, later);
	lifecycle_close(&f->env);
	reopen(f);
	assert_int_equal(row(f, later).state, CTR_RUNNING);

	const char *all[] = { run, with_exit, created, starting, updating, exited };
	for (size_t i = 0; i < 6; i++)
		remove_ok(f, all[i]);
	assert_res(call_stop(f, later, 0), GRPC_STATUS_OK, "");
	remove_ok(f, later);
}

/* A READY sandbox named after k whose infra container the fake runs; or only its row with
 * creating = 1 (RunPodSandbox killed half-way) when ready is 0. */
static void mk_sandbox(struct fx *f, unsigned k, int ready, char id[OBJ_ID_BUF])
{
	char name[64], uid[32];
	snprintf(name, sizeof name, "k8s_POD_pod%u_ns_uid%u_0", k, k);
	snprintf(uid, sizeof uid, "uid%u", k);
	struct obj_new n = { .name = name, .meta_name = "pod", .meta_namespace = "ns", .meta_uid = uid,
			     .config_digest = name };
	struct obj_holder h;
	struct lc_err err = { 0 };
	assert_int_equal(life_new_id(n.id, &err), 0);
	if (store_sandbox_insert(f->store, &n, &h, &err) < 0)
		fail_msg("insert sandbox %s: %s", name, err.msg);
	memcpy(id, n.id, OBJ_ID_BUF);
	if (!ready)
		return;
	assert_int_equal(store_sandbox_created(f->store, id, 4000 + k, "", NULL, cri_now(), &err), 0);
	fake_put(&f->fake, id, RT_RUNNING, 1);
}

struct sbsnap {
	int exists, state, creating, stopping, removing;
};

static struct sbsnap sb_row(struct fx *f, const char *id)
{
	struct sbsnap s = { 0 };
	struct arena a;
	arena_init(&a);
	struct sandbox_row r;
	struct lc_err err = { 0 };
	if (store_sandbox_get(f->store, id, &a, &r, &err) == 0)
		s = (struct sbsnap){ 1, r.state, r.creating, r.stopping, r.removing };
	else if (err.errnum != ENOENT) {
		arena_release(&a);
		fail_msg("read sandbox %s: %s", id, err.msg);
	}
	arena_release(&a);
	return s;
}

/* What a killed daemon leaves behind: set one flag of a sandbox row by SQL. */
static void set_sb_flag(struct fx *f, const char *id, const char *flag)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(f->store, &err);
	assert_non_null(db);
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE sandboxes SET %s = 1 WHERE id = ?1", flag);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
}

/* The sandbox's two directories (<state>/sandboxes/<id>, <root>/sandboxes/<id>) as RunPodSandbox makes them. */
static void mk_sb_dirs(struct fx *f, const char *id)
{
	char p[PATH_MAX + 200];
	snprintf(p, sizeof p, "%s/sandboxes/%s", f->cfg.state, id);
	mkdir_or_fail(p);
	snprintf(p, sizeof p, "%s/sandboxes/%s/ns", f->cfg.state, id);
	mkdir_or_fail(p);
	snprintf(p, sizeof p, "%s/sandboxes/%s", f->cfg.root, id);
	mkdir_or_fail(p);
	snprintf(p, sizeof p, "%s/sandboxes/%s/hosts", f->cfg.root, id);
	write_file(p, "127.0.0.1 localhost\n");
}

/* Neither directory of sandbox id is there. */
static void assert_no_sb_dirs(struct fx *f, const char *id)
{
	char p[PATH_MAX + 200];
	snprintf(p, sizeof p, "%s/sandboxes/%s", f->cfg.state, id);
	if (exists(p))
		fail_msg("sandbox %s: %s left", id, p);
	snprintf(p, sizeof p, "%s/sandboxes/%s", f->cfg.root, id);
	if (exists(p))
		fail_msg("sandbox %s: %s left", id, p);
}

/*
 * (10b) The sandbox side of recovery: a RunPodSandbox killed half-way (creating) is torn down and
 * its row deleted, releasing the name; an interrupted RemovePodSandbox (removing) is finished, its
 * containers with it, and a removal whose runtime delete fails again keeps the row with removing
 * reset; a `stopping` flag is cleared; a READY pod whose infra container is gone — its exit file
 * written while the daemon was down, or nothing left at all — becomes NOTREADY; a runtime
 * container and directories no sandbox row owns are deleted.  A failing runtime list (F_LIST)
 * only postpones the orphan sweep to the next start.
 */
static void test_recover_sandbox_flags(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char creating[OBJ_ID_BUF], removing[OBJ_ID_BUF], rm_fail[OBJ_ID_BUF], stopping[OBJ_ID_BUF],
		lost[OBJ_ID_BUF], exited[OBJ_ID_BUF], orphan_rt[OBJ_ID_BUF], orphan_dir[OBJ_ID_BUF], ctr[OBJ_ID_BUF];
	mk_sandbox(f, 1, 0, creating);
	mk_sandbox(f, 2, 1, removing);
	mk_sandbox(f, 3, 1, rm_fail);
	mk_sandbox(f, 4, 1, stopping);
	mk_sandbox(f, 5, 1, lost);
	mk_sandbox(f, 6, 1, exited);
	assert_int_equal(life_new_id(orphan_rt, &err), 0);
	assert_int_equal(life_new_id(orphan_dir, &err), 0);
	/* A container of the pod being removed (RemovePodSandbox removes it first). */
	char keep[OBJ_ID_BUF];
	memcpy(keep, f->sandbox, OBJ_ID_BUF);
	memcpy(f->sandbox, removing, OBJ_ID_BUF);
	mk_container(f, CTR_EXITED, ctr);
	memcpy(f->sandbox, keep, OBJ_ID_BUF);

	/* The daemon dies. */
	lifecycle_close(&f->env);
	fake_put(&f->fake, creating, RT_CREATED, 1); /* its infra container had been created */
	mk_sb_dirs(f, creating);
	struct lc_err e2 = { 0 };
	pthread_mutex_lock(&f->fake.mu);
	fake_die(&f->fake, fake_find(&f->fake, removing), 128 + SIGKILL); /* StopPodSandbox had run */
	fake_die(&f->fake, fake_find(&f->fake, rm_fail), 128 + SIGKILL);
	fake_die(&f->fake, fake_find(&f->fake, exited), 2); /* the infra process died while the daemon was down */
	pthread_mutex_unlock(&f->fake.mu);
	assert_int_equal(store_sandbox_stopped(f->store, removing, cri_now(), &err), 0);
	assert_int_equal(store_sandbox_stopped(f->store, rm_fail, cri_now(), &err), 0);
	set_sb_flag(f, removing, "removing");
	set_sb_flag(f, rm_fail, "removing");
	mk_sb_dirs(f, removing);
	set_sb_flag(f, stopping, "stopping");
	assert_int_equal(fake_delete(&f->fake, lost, &e2), 0); /* gone without an exit file (conmon killed too) */
	/* Leftovers no row owns: a runtime container whose directories are already gone, and
	 * directories without a runtime container. */
	fake_put(&f->fake, orphan_rt, RT_RUNNING, 1);
	mk_sb_dirs(f, orphan_dir);
	fake_fail(&f->fake, F_DELETE, 1, EIO, rm_fail);
	fake_fail(&f->fake, F_LIST, 1, EIO, NULL);
	unsigned lists = fake_calls(&f->fake, F_LIST);

	/* The daemon starts again; the runtime cannot list its containers this time. */
	reopen(f);
	struct sbsnap s;
	/* creating → torn down, deleted. */
	assert_false(sb_row(f, creating).exists);
	assert_int_equal(fake_has(&f->fake, creating), RT_MISSING);
	assert_no_sb_dirs(f, creating);
	/* removing → finished, with its container. */
	assert_false(sb_row(f, removing).exists);
	assert_int_equal(fake_has(&f->fake, removing), RT_MISSING);
	assert_no_sb_dirs(f, removing);
	assert_false(row(f, ctr).exists);
	assert_int_equal(fake_has(&f->fake, ctr), RT_MISSING);
	/* removing, runtime delete failing → kept, flag reset. */
	s = sb_row(f, rm_fail);
	assert_true(s.exists);
	assert_int_equal(s.removing, 0);
	assert_int_equal(s.state, SANDBOX_NOTREADY);
	/* stopping → cleared; the infra container still runs: READY. */
	s = sb_row(f, stopping);
	assert_int_equal(s.stopping, 0);
	assert_int_equal(s.state, SANDBOX_READY);
	/* Infra gone → NOTREADY. */
	assert_int_equal(sb_row(f, lost).state, SANDBOX_NOTREADY);
	assert_int_equal(sb_row(f, exited).state, SANDBOX_NOTREADY);
	assert_int_equal(sb_row(f, f->sandbox).state, SANDBOX_READY);
	/* Directories no row owns are swept; the runtime list failed, so the orphan runtime container
	 * is still there ... */
	assert_no_sb_dirs(f, orphan_dir);
	assert_int_equal(fake_has(&f->fake, orphan_dir), RT_MISSING);
	assert_int_equal(fake_calls(&f->fake, F_LIST), lists + 1);
	assert_int_equal(fake_has(&f->fake, orphan_rt), RT_RUNNING);

	/* ... until the next start. */
	lifecycle_close(&f->env);
	reopen(f);
	assert_int_equal(fake_has(&f->fake, orphan_rt), RT_MISSING);
	assert_no_sb_dirs(f, orphan_rt);
	/* Nothing else touched: the READY sandboxes keep their infra containers. */
	assert_int_equal(fake_has(&f->fake, f->sandbox), RT_RUNNING);
	assert_int_equal(fake_has(&f->fake, stopping), RT_RUNNING);
	assert_int_equal(sb_row(f, f->sandbox).state, SANDBOX_READY);
	/* The half-created pod's name is free again. */
	struct obj_new n = { .name = "k8s_POD_pod1_ns_uid1_0", .meta_name = "pod", .meta_namespace = "ns",
			     .meta_uid = "uid1", .config_digest = "other" };
	struct obj_holder h;
	assert_int_equal(life_new_id(n.id, &err), 0);
	if (store_sandbox_insert(f->store, &n, &h, &err) < 0)
		fail_msg("the name of the half-created sandbox %s is still held: %s", creating, err.msg);
}

/* ------------------------------------------------------------------------------------------ */
/* CreateContainer and RunPodSandbox failing after their side effects                          */

#define TEST_IMAGE "r.io/litecri-test/img:1"

/*
 * Give the fixture an image service holding TEST_IMAGE: one (empty) layer directory, published
 * and recorded as a pull does, and a config whose command is /bin/true.
 */
static void add_image(struct fx *f)
{
	struct lc_err err = { 0 };
	if (images_open(&f->cfg, f->store, &f->images, &err) < 0)
		fail_msg("images_open: %s", err.msg);
	f->env.images = f->images;
	const struct content *c = images_content(f->images);
	struct image_layer l = { 0 };
	digest_buffer("diff", 4, l.diff_id);
	digest_chain(NULL, l.diff_id, l.chain_id);
	digest_buffer("blob", 4, l.blob_digest);
	l.blob_size = 4;
	snprintf(l.media_type, sizeof l.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	char tmp[PATH_MAX];
	assert_int_equal(content_tmpdir(c, "layer-", tmp, sizeof tmp, &err), 0);
	assert_int_equal(content_publish_layer(c, tmp, l.chain_id, &err), 0);
	assert_int_equal(store_layer_add(f->store, l.chain_id, l.diff_id, 0, 1, &err), 0);
	const char *cfg = "{\"config\":{\"Cmd\":[\"/bin/true\"]},\"rootfs\":{\"type\":\"layers\"}}";
	char id[DIGEST_BUF], md[DIGEST_BUF];
	digest_buffer(cfg, strlen(cfg), id);
	digest_buffer("manifest", 8, md);
	const char *name = TEST_IMAGE;
	enum image_name_kind kind = IMAGE_NAME_TAG;
	struct image_put p = { .id = id, .manifest_digest = md, .media_type = "application/vnd.oci.image.manifest.v1+json",
			       .config = cfg, .config_len = strlen(cfg), .uid = -1, .username = "", .layers = &l,
			       .n_layers = 1, .names = &name, .kinds = &kind, .n_names = 1 };
	if (store_image_put(f->store, &p, NULL, &err) < 0)
		fail_msg("store_image_put: %s", err.msg);
}

static long long q_count(struct fx *f, const char *sql)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(f->store, &err);
	assert_non_null(db);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Mount points under the fixture's directory (/proc/self/mountinfo), as one string ("" if none). */
static void mounts_under_fx(struct fx *f, char *out, size_t cap)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	assert_non_null(fp);
	char line[4096];
	size_t len = 0;
	out[0] = '\0';
	while (fgets(line, sizeof line, fp)) {
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, f->dir, strlen(f->dir)) &&
		    len + strlen(mp) + 2 < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s ", mp);
	}
	fclose(fp);
}

/* Entries of <base>/<sub> (0 if it does not exist). */
static int dir_entries(const char *base, const char *sub)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", base, sub);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void assert_no_leftovers(struct fx *f, const char *sub, int allowed)
{
	char m[8192];
	mounts_under_fx(f, m, sizeof m);
	if (m[0])
		fail_msg("mounts left under the fixture: %s", m);
	int n = dir_entries(f->cfg.state, sub) + dir_entries(f->cfg.root, sub);
	if (n != allowed)
		fail_msg("%d entries under <state>/%s and <root>/%s, wanted %d", n, sub, sub, allowed);
	if (dir_entries(f->cfg.state, "exits") != 0)
		fail_msg("an exit file is left");
}

static struct res call_create(struct fx *f, const char *name, const char *label)
{
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = (char *)name;
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	img.image = TEST_IMAGE;
	Runtime__V1__ContainerConfig__LabelsEntry l = RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT, *ls[1] = { &l };
	l.key = "app";
	l.value = (char *)label;
	Runtime__V1__ContainerConfig__AnnotationsEntry an = RUNTIME__V1__CONTAINER_CONFIG__ANNOTATIONS_ENTRY__INIT,
						       *ans[1] = { &an };
	an.key = "app";
	an.value = (char *)label;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &img;
	cfg.labels = ls;
	cfg.n_labels = 1;
	cfg.annotations = ans;
	cfg.n_annotations = 1;
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = f->sandbox;
	req.config = &cfg;
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "/runtime.v1.RuntimeService/CreateContainer" };
	ProtobufCMessage *resp = NULL;
	struct res r = { 0 };
	r.code = cri_create_container(&f->env, &c, &req.base, &resp);
	r.has_resp = resp != NULL;
	snprintf(r.msg, sizeof r.msg, "%s", r.code == GRPC_STATUS_OK ? ((Runtime__V1__CreateContainerResponse *)resp)->container_id
					       : c.status_msg ? c.status_msg : "");
	arena_release(&a);
	return r;
}

/*
 * (12) CreateContainer whose runtime create fails after the row, the directories and the overlay
 * mount were made: the call fails with the runtime's error, and everything is undone — no row (nor
 * its labels, annotations, layer references), no directory, no mount, no runtime container — so
 * the name is free: the same request again succeeds.
 */
static void test_create_container_fails_undone(void **state)
{
	struct fx *f = *state;
	add_image(f);
	unsigned creates = fake_calls(&f->fake, F_CREATE);
	fake_fail(&f->fake, F_CREATE, 1, EIO, NULL);
	assert_res(call_create(f, "c", "one"), GRPC_STATUS_INTERNAL, "injected failure", "k8s_c_pod_ns_uid_0");
	assert_int_equal(fake_calls(&f->fake, F_CREATE), creates + 1); /* it got that far */
	assert_int_equal(q_count(f, "SELECT count(*) FROM containers"), 0);
	assert_int_equal(q_count(f, "SELECT count(*) FROM container_labels"), 0);
	assert_int_equal(q_count(f, "SELECT count(*) FROM container_annotations"), 0);
	assert_int_equal(q_count(f, "SELECT count(*) FROM container_layers"), 0);
	assert_no_leftovers(f, "containers", 0);

	/* The same request again: the name is free, the container is made. */
	struct res r = call_create(f, "c", "one");
	assert_res(r, GRPC_STATUS_OK, "");
	char id[OBJ_ID_BUF] = "";
	assert_int_equal(strlen(r.msg), OBJ_ID_LEN);
	memcpy(id, r.msg, OBJ_ID_LEN + 1);
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_CREATED);
	assert_int_equal(s.creating, 0);
	assert_int_equal(fake_has(&f->fake, id), RT_CREATED);
	assert_int_equal(q_count(f, "SELECT count(*) FROM container_layers"), 1);
	remove_ok(f, id);
	assert_no_leftovers(f, "containers", 0);
}

static Runtime__V1__PodSandboxConfig *pod_cfg(Runtime__V1__PodSandboxConfig *cfg, Runtime__V1__PodSandboxMetadata *md)
{
	*md = (Runtime__V1__PodSandboxMetadata)RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md->name = "web";
	md->namespace_ = "ns";
	md->uid = "uid-web";
	*cfg = (Runtime__V1__PodSandboxConfig)RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg->metadata = md;
	cfg->hostname = "web";
	return cfg;
}

static struct res call_pod(struct fx *f, cri_handler h, const char *id)
{
	Runtime__V1__PodSandboxConfig cfg;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__RunPodSandboxRequest run = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	run.config = pod_cfg(&cfg, &md);
	Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	stop.pod_sandbox_id = (char *)id;
	Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rm.pod_sandbox_id = (char *)id;
	const ProtobufCMessage *req = h == cri_run_pod_sandbox ? &run.base : h == cri_stop_pod_sandbox ? &stop.base : &rm.base;
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "/runtime.v1.RuntimeService/test",
			      .deadline = call_deadline };
	ProtobufCMessage *resp = NULL;
	struct res r = { 0 };
	r.code = h(&f->env, &c, req, &resp);
	r.has_resp = resp != NULL;
	snprintf(r.msg, sizeof r.msg, "%s",
		 r.code == GRPC_STATUS_OK && h == cri_run_pod_sandbox ? ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id
		 : c.status_msg ? c.status_msg : "");
	arena_release(&a);
	return r;
}

/*
 * (13) RunPodSandbox whose infra container fails — at the runtime's create, then (once created) at
 * its start — after the namespaces were pinned, /dev/shm mounted and the pod's files written:
 * everything is undone (the created infra container deleted too), the row deleted, the name free
 * (the same request then succeeds).
 */
static void test_run_pod_sandbox_fails_undone(void **state)
{
	struct fx *f = *state;
	const enum fop ops[] = { F_CREATE, F_START };
	for (size_t i = 0; i < 2; i++) {
		unsigned deletes = fake_calls(&f->fake, F_DELETE);
		fake_fail(&f->fake, ops[i], 1, EIO, NULL);
		assert_res(call_pod(f, cri_run_pod_sandbox, NULL), GRPC_STATUS_INTERNAL, "injected failure",
			   "k8s_POD_web_ns_uid-web_0");
		assert_int_equal(q_count(f, "SELECT count(*) FROM sandboxes"), 1); /* the fixture's */
		assert_no_leftovers(f, "sandboxes", 0); /* the fixture's pod has no files: the fake writes none */
		if (ops[i] == F_START && fake_calls(&f->fake, F_DELETE) == deletes)
			fail_msg("the infra container created before the failed start was never deleted");
		pthread_mutex_lock(&f->fake.mu);
		int n = 0;
		for (size_t k = 0; k < FAKE_MAX; k++)
			n += f->fake.c[k].used;
		pthread_mutex_unlock(&f->fake.mu);
		assert_int_equal(n, 1); /* only the fixture's infra container */
	}
	struct res r = call_pod(f, cri_run_pod_sandbox, NULL);
	assert_res(r, GRPC_STATUS_OK, "");
	char id[OBJ_ID_BUF] = "";
	assert_int_equal(strlen(r.msg), OBJ_ID_LEN);
	memcpy(id, r.msg, OBJ_ID_LEN + 1);
	struct sbsnap s = sb_row(f, id);
	assert_int_equal(s.state, SANDBOX_READY);
	assert_int_equal(s.creating, 0);
	assert_int_equal(fake_has(&f->fake, id), RT_RUNNING);
	assert_res(call_pod(f, cri_stop_pod_sandbox, id), GRPC_STATUS_OK, "");
	assert_res(call_pod(f, cri_remove_pod_sandbox, id), GRPC_STATUS_OK, "");
	assert_false(sb_row(f, id).exists);
	assert_no_leftovers(f, "sandboxes", 0);
}

/*
 * RemoveContainer's forced stop and StopPodSandbox wait for a SIGKILLed container only until the
 * caller's deadline: DEADLINE_EXCEEDED (well before litecri's own 120 s), the SIGKILL sent, nothing
 * marked (the container not `removing`, the pod not `stopping`).  Once the process is gone both
 * succeed.
 */
static void test_caller_deadline_ends_waits(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	f->fake.death = DEATH_SLOW; /* the SIGKILLed process lingers until fake_reap */
	mk_container(f, CTR_RUNNING, id);
	unsigned sk0 = fake_kills(&f->fake, SIGKILL);
	int64_t t0 = cri_now();
	call_deadline = t0 + 300 * 1000000LL;
	struct res r = call_remove(f, id);
	call_deadline = 0;
	assert_res(r, GRPC_STATUS_DEADLINE_EXCEEDED, id, "deadline passed");
	assert_true((cri_now() - t0) / 1000000000 < 60); /* a hang check: without the deadline, 120 s */
	assert_int_equal(fake_kills(&f->fake, SIGKILL), sk0 + 1);
	struct snap s = row(f, id);
	assert_true(s.exists);
	assert_int_equal(s.state, CTR_RUNNING);
	assert_int_equal(s.removing, 0);

	t0 = cri_now();
	call_deadline = t0 + 300 * 1000000LL;
	r = call_pod(f, cri_stop_pod_sandbox, f->sandbox);
	call_deadline = 0;
	assert_res(r, GRPC_STATUS_DEADLINE_EXCEEDED, f->sandbox, id, "deadline passed");
	assert_true((cri_now() - t0) / 1000000000 < 60);
	struct sbsnap sb = sb_row(f, f->sandbox);
	assert_int_equal(sb.stopping, 0);
	assert_int_equal(sb.state, SANDBOX_READY);

	fake_reap(&f->fake, id);
	f->fake.death = DEATH_NOW;
	assert_res(call_pod(f, cri_stop_pod_sandbox, f->sandbox), GRPC_STATUS_OK, "");
	s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 137);
	assert_int_equal(sb_row(f, f->sandbox).state, SANDBOX_NOTREADY);
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/* (14) ReopenContainerLog: a runtime failure is the call's failure (with the runtime's words). */
static void test_reopen_log_fails(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	req.container_id = id;
	fake_fail(&f->fake, F_REOPEN, 1, EIO, id);
	assert_res(rpc(f, cri_reopen_container_log, &req.base), GRPC_STATUS_INTERNAL, id, "injected failure");
	assert_res(rpc(f, cri_reopen_container_log, &req.base), GRPC_STATUS_OK, "");
	assert_int_equal(row(f, id).state, CTR_RUNNING);
	unsigned reopens = fake_calls(&f->fake, F_REOPEN);
	assert_res(call_stop(f, id, 0), GRPC_STATUS_OK, "");
	assert_res(rpc(f, cri_reopen_container_log, &req.base), GRPC_STATUS_FAILED_PRECONDITION, id, "EXITED");
	assert_int_equal(fake_calls(&f->fake, F_REOPEN), reopens); /* refused before the runtime */
	remove_ok(f, id);
}

/* ------------------------------------------------------------------------------------------ */
/* UpdateContainerResources                                                                   */

#define MIB (1024 * 1024LL)

/* Does the resources JSON the runtime was given hold `frag` (e.g. "\"limit\":104857600")? */
static void assert_json_has(const char *json, const char *frag)
{
	if (!strstr(json, frag))
		fail_msg("resources %s do not hold %s", json, frag);
}

/* (11) The runtime update fails: the status follows its errnum, `updating` is reset and the recorded
 * resources stay as they were; a retry succeeds and records. */
static void test_update_fails_then_retry(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF], json[1024];
	mk_container(f, CTR_RUNNING, id);
	size_t u0 = fake_n_updates(&f->fake);
	unsigned c0 = fake_calls(&f->fake, F_UPDATE);

	static const struct {
		int errnum;
		grpc_status_code code;
	} cases[] = {
		{ EIO, GRPC_STATUS_INTERNAL },
		{ ESRCH, GRPC_STATUS_FAILED_PRECONDITION },
		{ ENOENT, GRPC_STATUS_FAILED_PRECONDITION },
		{ EINVAL, GRPC_STATUS_INVALID_ARGUMENT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fake_fail(&f->fake, F_UPDATE, 1, cases[i].errnum, id);
		assert_res(call_update(f, id, 100 * MIB, 0), cases[i].code, id, "injected failure");
		struct snap s = row(f, id);
		assert_int_equal(s.updating, 0);
		assert_false(s.has_resources);
		assert_int_equal(s.state, CTR_RUNNING);
	}
	assert_int_equal(fake_calls(&f->fake, F_UPDATE), c0 + 4);

	/* The retry: applied and recorded. */
	assert_res(call_update(f, id, 100 * MIB, 0), GRPC_STATUS_OK, "");
	assert_int_equal(fake_updates_of(&f->fake, u0, id, json, sizeof json), 1);
	assert_json_has(json, "\"limit\":104857600");
	struct snap s = row(f, id);
	assert_int_equal(s.updating, 0);
	assert_true(s.has_resources);
	assert_int_equal(s.res_memory, 100 * MIB);

	/* A failing update with another value leaves the recorded resources alone. */
	fake_fail(&f->fake, F_UPDATE, 1, EIO, id);
	assert_res(call_update(f, id, 200 * MIB, 0), GRPC_STATUS_INTERNAL, id);
	s = row(f, id);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.res_memory, 100 * MIB);

	/* A partial update is merged into the recorded resources. */
	size_t u1 = fake_n_updates(&f->fake);
	assert_res(call_update(f, id, 0, 512), GRPC_STATUS_OK, "");
	assert_int_equal(fake_updates_of(&f->fake, u1, id, json, sizeof json), 1);
	assert_json_has(json, "\"limit\":104857600");
	assert_json_has(json, "\"shares\":512");
	s = row(f, id);
	assert_int_equal(s.res_memory, 100 * MIB);
	assert_int_equal(s.res_cpu_shares, 512);

	/* ContainerStatus reports them. */
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = id;
	struct arena a;
	arena_init(&a);
	struct cri_call c = { .arena = &a, .api = CRI_API_V1, .method = "ContainerStatus" };
	ProtobufCMessage *resp = NULL;
	assert_int_equal(cri_container_status(&f->env, &c, &req.base, &resp), GRPC_STATUS_OK);
	const Runtime__V1__ContainerStatusResponse *out = (const void *)resp;
	assert_non_null(out->status->resources);
	assert_non_null(out->status->resources->linux);
	assert_int_equal(out->status->resources->linux->memory_limit_in_bytes, 100 * MIB);
	assert_int_equal(out->status->resources->linux->cpu_shares, 512);
	arena_release(&a);

	/* Refused before the runtime: invalid values, no linux part, an EXITED / missing / removing container. */
	unsigned c1 = fake_calls(&f->fake, F_UPDATE);
	assert_res(call_update(f, id, 0, -5), GRPC_STATUS_INVALID_ARGUMENT, id);
	Runtime__V1__UpdateContainerResourcesRequest empty = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	empty.container_id = id;
	assert_res(rpc(f, cri_update_container_resources, &empty.base), GRPC_STATUS_OK, "");
	char exited[OBJ_ID_BUF], ghost[OBJ_ID_BUF], removing[OBJ_ID_BUF];
	mk_container(f, CTR_EXITED, exited);
	assert_res(call_update(f, exited, 100 * MIB, 0), GRPC_STATUS_FAILED_PRECONDITION, exited, "EXITED");
	struct lc_err err = { 0 };
	assert_int_equal(life_new_id(ghost, &err), 0);
	assert_res(call_update(f, ghost, 100 * MIB, 0), GRPC_STATUS_NOT_FOUND, ghost);
	mk_container(f, CTR_CREATED, removing);
	set_flag(f, removing, "removing");
	assert_res(call_update(f, removing, 100 * MIB, 0), GRPC_STATUS_FAILED_PRECONDITION, removing, "removing");
	assert_int_equal(fake_calls(&f->fake, F_UPDATE), c1);
	s = row(f, id);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.res_memory, 100 * MIB);
	assert_int_equal(s.res_cpu_shares, 512);
	assert_int_equal(row(f, exited).updating, 0);
	assert_int_equal(row(f, removing).updating, 0);

	/* A CREATED container can be updated too. */
	char created[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, created);
	assert_res(call_update(f, created, 64 * MIB, 0), GRPC_STATUS_OK, "");
	assert_int_equal(row(f, created).res_memory, 64 * MIB);
	remove_ok(f, id);
	remove_ok(f, exited);
	remove_ok(f, created);
}

/* (12) A second update while the first is inside the runtime: refused; the first then finishes. */
static void test_update_while_updating(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	fake_hold(&f->fake, F_UPDATE, 1);
	struct bg b;
	bg_run(&b, f, BG_UPDATE, id, 100 * MIB);
	fake_wait_blocked(&f->fake, F_UPDATE, 1);
	assert_int_equal(row(f, id).updating, 1);
	unsigned c0 = fake_calls(&f->fake, F_UPDATE);

	assert_res(call_update(f, id, 200 * MIB, 0), GRPC_STATUS_FAILED_PRECONDITION, id, "in flight");
	assert_int_equal(fake_calls(&f->fake, F_UPDATE), c0);
	assert_int_equal(row(f, id).updating, 1); /* still the first one's */

	fake_hold(&f->fake, F_UPDATE, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	struct snap s = row(f, id);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.res_memory, 100 * MIB);

	/* Now a next one goes through. */
	assert_res(call_update(f, id, 200 * MIB, 0), GRPC_STATUS_OK, "");
	assert_int_equal(row(f, id).res_memory, 200 * MIB);
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/* (13) RemoveContainer while an update is inside the runtime: not refused, the removal proceeds;
 * the update then fails (the container is gone) and leaves no row behind. */
static void test_remove_while_updating(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	fake_hold(&f->fake, F_UPDATE, 1);
	struct bg b;
	bg_run(&b, f, BG_UPDATE, id, 100 * MIB);
	fake_wait_blocked(&f->fake, F_UPDATE, 1);

	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	assert_false(row(f, id).exists);
	assert_int_equal(fake_has(&f->fake, id), RT_MISSING);

	fake_hold(&f->fake, F_UPDATE, 0);
	struct res r = bg_join(&b);
	assert_res(r, GRPC_STATUS_FAILED_PRECONDITION, id);
	assert_false(row(f, id).exists);
	assert_int_equal(flagged_rows(f), 0);

	/* Same on a CREATED container (no stop before the delete). */
	mk_container(f, CTR_CREATED, id);
	fake_hold(&f->fake, F_UPDATE, 1);
	bg_run(&b, f, BG_UPDATE, id, 100 * MIB);
	fake_wait_blocked(&f->fake, F_UPDATE, 1);
	assert_res(call_remove(f, id), GRPC_STATUS_OK, "");
	fake_hold(&f->fake, F_UPDATE, 0);
	assert_res(bg_join(&b), GRPC_STATUS_FAILED_PRECONDITION, id);
	assert_false(row(f, id).exists);
}

/* (14) Recovery of an update the daemon died in: the recorded resources (else the config's) are
 * applied again and the flag is cleared, whatever the outcome. */
static void test_recover_updating(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char recorded[OBJ_ID_BUF], from_cfg[OBJ_ID_BUF], none[OBJ_ID_BUF], exited[OBJ_ID_BUF], fails[OBJ_ID_BUF],
		idle[OBJ_ID_BUF], json[1024];
	mk_container(f, CTR_RUNNING, recorded);
	assert_res(call_update(f, recorded, 100 * MIB, 0), GRPC_STATUS_OK, "");
	mk_container_mem(f, CTR_RUNNING, from_cfg, 50 * MIB);
	mk_container(f, CTR_CREATED, none);
	mk_container(f, CTR_EXITED, exited);
	mk_container(f, CTR_RUNNING, fails);
	assert_res(call_update(f, fails, 64 * MIB, 0), GRPC_STATUS_OK, "");
	mk_container(f, CTR_RUNNING, idle);
	assert_res(call_update(f, idle, 32 * MIB, 0), GRPC_STATUS_OK, "");

	/* The daemon dies inside UpdateContainerResources calls. */
	lifecycle_close(&f->env);
	const char *upd[] = { recorded, from_cfg, none, fails };
	for (size_t i = 0; i < 4; i++) {
		enum refusal why;
		assert_int_equal(store_flag_set(f->store, FLAG_CTR_UPDATING, upd[i], &why, &err), 0);
		assert_int_equal(why, REFUSED_NONE);
		assert_int_equal(row(f, upd[i]).updating, 1);
	}
	set_flag(f, exited, "updating"); /* it exited while the update ran */
	fake_fail(&f->fake, F_UPDATE, 1, EIO, fails);
	size_t u0 = fake_n_updates(&f->fake);
	unsigned c0 = fake_calls(&f->fake, F_UPDATE);

	reopen(f);

	/* The recorded resources, applied again; still recorded. */
	assert_int_equal(fake_updates_of(&f->fake, u0, recorded, json, sizeof json), 1);
	assert_json_has(json, "\"limit\":104857600");
	struct snap s = row(f, recorded);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.res_memory, 100 * MIB);
	assert_int_equal(s.state, CTR_RUNNING);
	/* Never updated: its config's, and nothing recorded. */
	assert_int_equal(fake_updates_of(&f->fake, u0, from_cfg, json, sizeof json), 1);
	assert_json_has(json, "\"limit\":52428800");
	s = row(f, from_cfg);
	assert_int_equal(s.updating, 0);
	assert_false(s.has_resources);
	/* No resources at all: nothing to apply. */
	assert_int_equal(fake_updates_of(&f->fake, u0, none, NULL, 0), 0);
	assert_int_equal(row(f, none).updating, 0);
	/* EXITED meanwhile: nothing to apply to. */
	assert_int_equal(fake_updates_of(&f->fake, u0, exited, NULL, 0), 0);
	s = row(f, exited);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.state, CTR_EXITED);
	/* The runtime refused: logged, flag cleared anyway (the call failed; nobody owns it). */
	assert_true(fake_event(&f->fake, 0, F_UPDATE, -1, fails) >= 0);
	s = row(f, fails);
	assert_int_equal(s.updating, 0);
	assert_int_equal(s.res_memory, 64 * MIB);
	/* A container without the flag is left alone. */
	assert_int_equal(fake_updates_of(&f->fake, u0, idle, NULL, 0), 0);
	assert_int_equal(row(f, idle).res_memory, 32 * MIB);
	/* recorded, from_cfg and the failed attempt of `fails` */
	assert_int_equal(fake_calls(&f->fake, F_UPDATE), c0 + 3);

	/* Everything is usable again. */
	assert_res(call_update(f, recorded, 128 * MIB, 0), GRPC_STATUS_OK, "");
	assert_int_equal(row(f, recorded).res_memory, 128 * MIB);
	assert_res(call_update(f, fails, 128 * MIB, 0), GRPC_STATUS_OK, "");
	const char *all[] = { recorded, from_cfg, none, exited, fails, idle };
	for (size_t i = 0; i < 6; i++)
		remove_ok(f, all[i]);
	assert_int_equal(flagged_rows(f), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* the streaming backend                                                                      */

static void close3(const struct stream_io *io)
{
	const int fds[3] = { io->in_fd, io->out_fd, io->err_fd };
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* cri_stream_backend: lookups (ENOENT, ESRCH), the streams passed on (attach: stdin only for a
 * container created with it, its own terminal), resize, wait and close reaching the runtime. */
static void test_stream_backend(void **state)
{
	struct fx *f = *state;
	struct fake *k = &f->fake;
	struct stream_backend b;
	cri_stream_backend(&f->env, &b);
	char running[OBJ_ID_BUF], exited[OBJ_ID_BUF], with_stdin[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, running);
	mk_container(f, CTR_EXITED, exited);
	f->ctr_stdin = f->ctr_tty = 1;
	mk_container(f, CTR_RUNNING, with_stdin);
	char *const cmd[] = { "sh", "-c", "x" };
	struct stream_target t = { .cmd = cmd, .n_cmd = 3, .in = 1, .out = 1, .err = 1 };
	struct stream_io io;
	struct lc_err err = { 0 };

	t.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_int_equal(b.exec_start(b.arg, &t, &io, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(b.attach_start(b.arg, &t, &io, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	t.container_id = exited;
	assert_int_equal(b.exec_start(b.arg, &t, &io, &err), -1);
	assert_int_equal(err.errnum, ESRCH);
	assert_int_equal(b.attach_start(b.arg, &t, &io, &err), -1);
	assert_int_equal(err.errnum, ESRCH);

	/* exec: the command and the streams asked for; output, exit code, resize of a terminal */
	k->exec_out = "hello";
	k->exec_out_len = 5;
	k->exec_err = "oops";
	k->exec_err_len = 4;
	k->exec_code = 7;
	t.container_id = running;
	if (b.exec_start(b.arg, &t, &io, &err) < 0)
		fail_msg("exec_start: %s", err.msg);
	assert_string_equal(k->exec_arg0, "sh");
	assert_int_equal(k->exec_n_args, 3);
	char bundle[PATH_MAX];
	assert_int_equal(life_dir(&f->env, DIR_CTR_STATE, running, NULL, bundle, sizeof bundle, &err), 0);
	assert_string_equal(k->exec_bundle, bundle);
	assert_int_equal(k->session_attach, 0);
	assert_true(io.in_fd >= 0 && io.out_fd >= 0 && io.err_fd >= 0 && !io.tty);
	char buf[16] = "";
	assert_int_equal(read(io.out_fd, buf, sizeof buf), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(read(io.err_fd, buf, sizeof buf), 4);
	assert_int_equal(b.resize(b.arg, io.handle, 80, 24, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	int code = -1;
	assert_int_equal(b.wait(b.arg, io.handle, &code, &err), 0);
	assert_int_equal(code, 7);
	b.close(b.arg, io.handle);
	close3(&io);
	t.tty = 1;
	if (b.exec_start(b.arg, &t, &io, &err) < 0)
		fail_msg("exec_start: %s", err.msg);
	assert_true(io.tty && io.err_fd == -1);
	assert_int_equal(k->session_io.err, 0);
	assert_int_equal(b.resize(b.arg, io.handle, 132, 43, &err), 0);
	assert_int_equal(k->resize_w, 132);
	assert_int_equal(k->resize_h, 43);
	b.close(b.arg, io.handle);
	close3(&io);
	t.tty = 0;

	/* attach: stdin refused to a container created without it; the container's terminal decides */
	if (b.attach_start(b.arg, &t, &io, &err) < 0)
		fail_msg("attach_start: %s", err.msg);
	assert_int_equal(k->session_attach, 1);
	assert_int_equal(io.in_fd, -1);
	assert_true(io.out_fd >= 0 && io.err_fd >= 0 && !io.tty);
	b.close(b.arg, io.handle);
	close3(&io);
	t.container_id = with_stdin;
	if (b.attach_start(b.arg, &t, &io, &err) < 0)
		fail_msg("attach_start: %s", err.msg);
	assert_true(io.in_fd >= 0 && io.out_fd >= 0 && io.err_fd == -1 && io.tty);
	assert_int_equal(b.resize(b.arg, io.handle, 100, 30, &err), 0);
	b.close(b.arg, io.handle);
	close3(&io);

	/* the runtime's refusal is passed on */
	k->exec_errnum = ENOEXEC;
	assert_int_equal(b.exec_start(b.arg, &t, &io, &err), -1);
	assert_int_equal(err.errnum, ENOEXEC);
	k->exec_errnum = 0;
	assert_int_equal(k->sessions_open, 0);

	/* port_connect: an unknown pod, a pod not ready */
	int fd = -1;
	assert_int_equal(b.port_connect(b.arg, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 80,
					&fd, &err),
			 -1);
	assert_int_equal(err.errnum, ENOENT);
	char sb[OBJ_ID_BUF], host[OBJ_ID_BUF];
	mk_sandbox(f, 77, 0, sb); /* its create still in flight */
	assert_int_equal(b.port_connect(b.arg, sb, 80, &fd, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(fd, -1);
	/* a READY pod without a pinned network namespace (host network): the host's localhost */
	mk_sandbox(f, 78, 1, host);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	if (b.port_connect(b.arg, host, ntohs(sa.sin_port), &fd, &err) < 0)
		fail_msg("port_connect: %s", err.msg);
	int a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(fd, "ping", 4), 4);
	assert_int_equal(read(a, buf, sizeof buf), 4);
	close(a);
	close(fd);
	close(l); /* now refused */
	assert_int_equal(b.port_connect(b.arg, host, ntohs(sa.sin_port), &fd, &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	const char *all[] = { running, exited, with_stdin };
	for (size_t i = 0; i < 3; i++)
		remove_ok(f, all[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* ExecSync                                                                                   */

/* (15) What the runtime's exec says, as ExecSync answers it. */
static void test_exec_sync_mapping(void **state)
{
	struct fx *f = *state;
	struct fake *k = &f->fake;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	const char *cmd[] = { "/bin/sh", "-c", "probe", NULL };

	/* Success: the exit code, stdout and stderr apart (binary), the request passed on. */
	k->exec_code = 3;
	k->exec_out = "out\0bin";
	k->exec_out_len = 7;
	k->exec_err = "err";
	k->exec_err_len = 3;
	struct exec_res e = call_exec(f, id, cmd, 5);
	assert_res(e.r, GRPC_STATUS_OK, "");
	assert_int_equal(e.exit_code, 3);
	assert_int_equal(e.out_len, 7);
	assert_memory_equal(e.out, "out\0bin", 7);
	assert_int_equal(e.err_len, 3);
	assert_memory_equal(e.err, "err", 3);
	pthread_mutex_lock(&k->mu);
	assert_string_equal(k->exec_id, id);
	assert_int_equal(k->exec_n_args, 3);
	assert_string_equal(k->exec_arg0, "/bin/sh");
	assert_int_equal(k->exec_timeout_ms, 5000);
	assert_int_equal(k->exec_out_max, EXEC_SYNC_OUTPUT_MAX);
	char bundle[PATH_MAX];
	struct lc_err err = { 0 };
	assert_int_equal(life_dir(&f->env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, &err), 0);
	assert_string_equal(k->exec_bundle, bundle);
	pthread_mutex_unlock(&k->mu);
	/* No timeout: none for the runtime either. */
	e = call_exec(f, id, cmd, 0);
	assert_res(e.r, GRPC_STATUS_OK, "");
	assert_int_equal(k->exec_timeout_ms, 0);

	/* Output beyond the limit: a line saying how much was dropped. */
	k->exec_out_dropped = 5;
	k->exec_err_dropped = 0;
	e = call_exec(f, id, cmd, 0);
	assert_res(e.r, GRPC_STATUS_OK, "");
	const char note[] = "\n[litecri: output truncated: 5 more bytes were dropped]\n";
	assert_int_equal(e.out_len, 7 + sizeof note - 1);
	assert_memory_equal(e.out, "out\0bin", 7);
	assert_memory_equal(e.out + 7, note, sizeof note - 1);
	assert_int_equal(e.err_len, 3); /* stderr had nothing dropped */
	k->exec_out_dropped = 0;
	k->exec_err_dropped = 1234;
	e = call_exec(f, id, cmd, 0);
	assert_int_equal(e.out_len, 7);
	assert_non_null(strstr(e.err, "1234 more bytes were dropped"));
	k->exec_err_dropped = 0;

	/* The command could not start: OK, exit code 127, the reason on stderr. */
	k->exec_errnum = ENOEXEC;
	k->exec_code = 127;
	k->exec_out = "";
	k->exec_out_len = 0;
	k->exec_err = "exec: \"/bin/nope\": no such file or directory";
	k->exec_err_len = strlen(k->exec_err);
	const char *nope[] = { "/bin/nope", NULL };
	e = call_exec(f, id, nope, 1);
	assert_res(e.r, GRPC_STATUS_OK, "");
	assert_int_equal(e.exit_code, 127);
	assert_int_equal(e.out_len, 0);
	assert_int_equal(e.err_len, strlen(k->exec_err));
	assert_memory_equal(e.err, k->exec_err, e.err_len);
	k->exec_errnum = 0;
	k->exec_code = 0;

	/* Runtime failures. */
	static const struct {
		int errnum;
		grpc_status_code code;
		const char *frag;
	} cases[] = {
		{ ETIMEDOUT, GRPC_STATUS_DEADLINE_EXCEEDED, "timed out" },
		{ ESRCH, GRPC_STATUS_FAILED_PRECONDITION, "not running" },
		{ ENOENT, GRPC_STATUS_FAILED_PRECONDITION, "not running" },
		{ EINVAL, GRPC_STATUS_INVALID_ARGUMENT, "injected failure" },
		{ EIO, GRPC_STATUS_INTERNAL, "injected failure" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned c0 = fake_calls(k, F_EXEC);
		fake_fail(k, F_EXEC, 1, cases[i].errnum, id);
		e = call_exec(f, id, cmd, 1);
		assert_res(e.r, cases[i].code, id, cases[i].frag);
		assert_int_equal(fake_calls(k, F_EXEC), c0 + 1);
	}
	/* The runtime itself finds it stopped (the exit not recorded yet). */
	fake_add(k, id, RT_STOPPED);
	assert_res(call_exec(f, id, cmd, 1).r, GRPC_STATUS_FAILED_PRECONDITION, id);
	assert_int_equal(row(f, id).state, CTR_RUNNING); /* ExecSync records nothing */

	/* Refused without asking the runtime: not RUNNING, missing, bad requests. */
	unsigned c0 = fake_calls(k, F_EXEC);
	char created[OBJ_ID_BUF], exited[OBJ_ID_BUF], ghost[OBJ_ID_BUF], creating[OBJ_ID_BUF];
	mk_container(f, CTR_CREATED, created);
	mk_container(f, CTR_EXITED, exited);
	insert_row(f, ++f->seq, creating);
	assert_int_equal(life_new_id(ghost, &err), 0);
	assert_res(call_exec(f, created, cmd, 1).r, GRPC_STATUS_FAILED_PRECONDITION, created, "CREATED");
	assert_res(call_exec(f, exited, cmd, 1).r, GRPC_STATUS_FAILED_PRECONDITION, exited, "EXITED");
	assert_res(call_exec(f, ghost, cmd, 1).r, GRPC_STATUS_NOT_FOUND, ghost);
	assert_res(call_exec(f, creating, cmd, 1).r, GRPC_STATUS_NOT_FOUND, creating);
	const char *empty[] = { NULL };
	const char *blank[] = { "", NULL };
	assert_res(call_exec(f, created, empty, 1).r, GRPC_STATUS_INVALID_ARGUMENT, "cmd");
	assert_res(call_exec(f, created, blank, 1).r, GRPC_STATUS_INVALID_ARGUMENT, "cmd");
	assert_res(call_exec(f, id, cmd, -1).r, GRPC_STATUS_INVALID_ARGUMENT, "timeout");
	assert_int_equal(fake_calls(k, F_EXEC), c0);
	assert_int_equal(flagged_rows(f), 1); /* the "creating" row, as inserted */
}

/*
 * StopContainer with the largest timeout a client can send: the stop signal, then a wait without
 * SIGKILL.  (Placed last: with -DLITECRI_SANITIZE=ON a signed overflow of the deadline aborts.)
 */
static void test_stop_huge_timeout(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	f->fake.death = DEATH_SLOW; /* SIGTERM kills it, slowly */
	unsigned t0 = fake_kills(&f->fake, SIGTERM), k0 = fake_kills(&f->fake, SIGKILL);
	struct bg b;
	bg_run(&b, f, BG_STOP, id, INT64_MAX);
	wait_calls_or_done(f, F_KILL, SIGTERM, t0, &b);
	/* The call looks at the container twice more (it re-checks at least once a second). */
	unsigned st0 = fake_calls(&f->fake, F_STATE);
	wait_calls_or_done(f, F_STATE, 0, st0 + 1, &b);
	assert_false(atomic_load(&b.done));
	unsigned sigkills = fake_kills(&f->fake, SIGKILL) - k0;
	fake_reap(&f->fake, id);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	f->fake.death = DEATH_NOW;
	if (sigkills)
		fail_msg("container %s: SIGKILL sent although the timeout (INT64_MAX s) had not passed", id);
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 128 + SIGTERM);
	remove_ok(f, id);
}

/*
 * (11) The runtime container of a recorded exit is deleted by the reaper, off the calls' path:
 * StopContainer answers while that delete is held, the exit durable before it; RemoveContainer
 * waits for a delete under way, takes a queued one over, and deletes what a failed one left.
 */
static void test_exit_reaped(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF], other[OBJ_ID_BUF];

	/* Stop does not wait for the delete; Remove during it waits, then finds nothing left. */
	mk_container(f, CTR_RUNNING, id);
	size_t e0 = fake_n_events(&f->fake);
	fake_hold(&f->fake, F_DELETE, 1);
	assert_res(call_stop(f, id, 10), GRPC_STATUS_OK, "");
	fake_wait_blocked(&f->fake, F_DELETE, 1);
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 128 + SIGTERM);
	assert_int_equal(fake_has(&f->fake, id), RT_STOPPED);
	assert_true(fake_event(&f->fake, e0, F_KILL, SIGTERM, id) < fake_event(&f->fake, e0, F_DELETE, -1, id));
	struct bg b;
	bg_run(&b, f, BG_REMOVE, id, 0);
	WAIT_UNTIL(row(f, id).removing, "RemoveContainer sets removing");
	fake_hold(&f->fake, F_DELETE, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	assert_false(row(f, id).exists);
	assert_int_equal(fake_has(&f->fake, id), RT_MISSING);
	assert_int_equal(fake_events_of(&f->fake, e0, F_DELETE, id), 2); /* the reaper's, Remove's (nothing left) */

	/* The reaper's delete fails: logged, the container stays EXITED; Remove deletes it. */
	mk_container(f, CTR_RUNNING, id);
	unsigned d0 = fake_calls(&f->fake, F_DELETE);
	fake_fail(&f->fake, F_DELETE, 1, EIO, id);
	assert_res(call_stop(f, id, 10), GRPC_STATUS_OK, "");
	WAIT_UNTIL(fake_calls(&f->fake, F_DELETE) == d0 + 1, "the reaper tries the delete");
	WAIT_UNTIL(!reap_queued(f, id), "the reaper is done with it");
	assert_int_equal(fake_has(&f->fake, id), RT_STOPPED);
	assert_int_equal(row(f, id).state, CTR_EXITED);
	remove_ok(f, id);

	/* A delete still queued (the reaper busy with another's) is taken over by Remove: one delete. */
	mk_container(f, CTR_RUNNING, other);
	mk_container(f, CTR_RUNNING, id);
	e0 = fake_n_events(&f->fake);
	fake_hold(&f->fake, F_DELETE, 1);
	assert_res(call_stop(f, other, 10), GRPC_STATUS_OK, "");
	fake_wait_blocked(&f->fake, F_DELETE, 1);
	assert_res(call_stop(f, id, 10), GRPC_STATUS_OK, "");
	WAIT_UNTIL(reap_queued(f, id), "the recorded exit queues the delete");
	bg_run(&b, f, BG_REMOVE, id, 0);
	fake_wait_blocked(&f->fake, F_DELETE, 2); /* Remove's own */
	assert_false(reap_queued(f, id));
	fake_hold(&f->fake, F_DELETE, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	assert_false(row(f, id).exists);
	WAIT_UNTIL(fake_has(&f->fake, other) == RT_MISSING, "the reaper deletes the other");
	assert_int_equal(fake_events_of(&f->fake, e0, F_DELETE, id), 1);
	assert_int_equal(fake_events_of(&f->fake, e0, F_DELETE, other), 1);
	assert_int_equal(row(f, other).state, CTR_EXITED);
	remove_ok(f, other);

	/* Stop's SIGKILL to what the init left never runs beside the reaper's delete: the delete of an
	 * exit recorded during a stop waits for the stop's end. */
	f->fake.death = DEATH_LAG; /* stopped at once, the exit file only at fake_reap */
	mk_container(f, CTR_RUNNING, id);
	f->fake.kills_beside_delete = 0; /* from here on one container: any delete held is its */
	unsigned st0 = fake_calls(&f->fake, F_STATE);
	fake_hold(&f->fake, F_DELETE, 1);
	bg_run(&b, f, BG_STOP, id, 10);
	wait_calls_or_done(f, F_STATE, 0, st0 + 1, &b); /* its first look is over: it waits */
	fake_hold(&f->fake, F_KILL, 1);
	fake_reap(&f->fake, id); /* the watcher records the exit */
	/* the stop's SIGKILL to what the init left (or, were the delete not deferred, that delete) */
	WAIT_UNTIL(fake_waiting(&f->fake, F_KILL) || fake_waiting(&f->fake, F_DELETE), "a kill or a delete");
	/* the stop may have seen the exit file before the watcher recorded the exit: no order there */
	WAIT_UNTIL(row(f, id).state == CTR_EXITED, "the watcher records the exit");
	pthread_mutex_lock(&f->env.lc->reap_mu);
	int reaping = !strcmp(f->env.lc->reaping, id);
	pthread_mutex_unlock(&f->env.lc->reap_mu);
	if (reaping || reap_queued(f, id) || fake_waiting(&f->fake, F_DELETE))
		fail_msg("container %s: its delete came before the stop's kill", id);
	fake_hold(&f->fake, F_KILL, 0);
	assert_res(bg_join(&b), GRPC_STATUS_OK, "");
	fake_wait_blocked(&f->fake, F_DELETE, 1); /* queued at the stop's end */
	fake_hold(&f->fake, F_DELETE, 0);
	WAIT_UNTIL(fake_has(&f->fake, id) == RT_MISSING, "the reaper deletes it");
	f->fake.death = DEATH_NOW;
	assert_int_equal(f->fake.kills_beside_delete, 0);
	assert_int_equal(row(f, id).state, CTR_EXITED);
	remove_ok(f, id);
	assert_int_equal(flagged_rows(f), 0);
}

/*
 * (12) The daemon dies between an exit's record and the reaper's delete (here the delete failed;
 * a kill before it ran leaves the same): the next start's recovery has the reaper delete it; the
 * row keeps the recorded exit.
 */
static void test_recover_exited_not_reaped(void **state)
{
	struct fx *f = *state;
	char id[OBJ_ID_BUF];
	mk_container(f, CTR_RUNNING, id);
	fake_fail(&f->fake, F_DELETE, 1, EIO, id);
	unsigned d0 = fake_calls(&f->fake, F_DELETE);
	assert_res(call_stop(f, id, 0), GRPC_STATUS_OK, "");
	WAIT_UNTIL(fake_calls(&f->fake, F_DELETE) == d0 + 1, "the reaper tries the delete");
	lifecycle_close(&f->env);
	assert_int_equal(fake_has(&f->fake, id), RT_STOPPED);
	assert_int_equal(row(f, id).state, CTR_EXITED);
	reopen(f);
	WAIT_UNTIL(fake_has(&f->fake, id) == RT_MISSING, "recovery has the reaper delete it");
	struct snap s = row(f, id);
	assert_int_equal(s.state, CTR_EXITED);
	assert_int_equal(s.exit_code, 128 + SIGKILL);
	remove_ok(f, id);
}

/*
 * (13) Recovery's runtime work is done by the reaper after the daemon serves: with the runtime's
 * deletes held, lifecycle_open returns while the interrupted removal of one container waits in its
 * delete; a call on another container is answered meanwhile, one on the container being removed is
 * refused (its removing flag), and once the deletes go through the removal is finished and the
 * orphan runtime container deleted.
 */
static void test_recover_in_background(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char rm[OBJ_ID_BUF], other[OBJ_ID_BUF], orphan[OBJ_ID_BUF];
	mk_container(f, CTR_EXITED, rm);
	mk_container(f, CTR_RUNNING, other);
	assert_int_equal(life_new_id(orphan, &err), 0);
	lifecycle_close(&f->env);
	set_flag(f, rm, "removing");
	fake_add(&f->fake, orphan, RT_RUNNING);
	fake_hold(&f->fake, F_DELETE, 1);
	if (lifecycle_open(&f->env, fake_runtime(&f->fake), &err) < 0)
		fail_msg("lifecycle_open: %s", err.msg);
	fake_wait_blocked(&f->fake, F_DELETE, 1); /* rm's, on the reaper; the orphan's is queued behind it */
	assert_true(row(f, rm).exists);
	assert_int_equal(fake_has(&f->fake, orphan), RT_RUNNING);
	assert_res(call_stop(f, other, 0), GRPC_STATUS_OK, "");
	assert_int_equal(row(f, other).state, CTR_EXITED);
	assert_res(call_remove(f, rm), GRPC_STATUS_FAILED_PRECONDITION, rm);
	fake_hold(&f->fake, F_DELETE, 0);
	WAIT_UNTIL(reaper_idle(f), "the reaper finishes recovery's work");
	assert_false(row(f, rm).exists);
	assert_int_equal(fake_has(&f->fake, rm), RT_MISSING);
	assert_int_equal(fake_has(&f->fake, orphan), RT_MISSING);
	remove_ok(f, other);
	assert_int_equal(flagged_rows(f), 0);
}

int main(void)
{
	log_set_level(getenv("LITECRI_TEST_LOG") ? LOG_DEBUG : LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remove_delete_fails_then_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_while_starting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_races_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_teardown_fails_after_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ignores_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_caller_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_exit_code_survives_conmon_lag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_reason_is_runtimes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_starting_state_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_after_reboot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_sandbox_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_container_fails_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_pod_sandbox_fails_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_deadline_ends_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_log_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_fails_then_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_while_updating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_while_updating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_updating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_sync_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_huge_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_reaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_exited_not_reaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_in_background, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
