/*
 * oci.c — see runtime.h: runc (or crun, same command line) with one conmon per container.
 *
 * Every runtime command is `<runtime> --root <root> --log-format=json <subcommand> ...`; its
 * stderr (JSON log lines) becomes the error message.  create spawns conmon, which daemonizes,
 * runs `<runtime> create` itself and reports the container's pid (or the runtime's error) as one
 * JSON line on the sync pipe (_OCI_SYNCPIPE=3).
 *
 * exec (ExecSync) runs a second conmon in exec mode (-e --sync, logs "passthrough"): it runs
 * `<runtime> exec -d`, reaps the command as subreaper and exits with its status, while the
 * command writes straight into the daemon's pipes.  update is `<runtime> update --resources`.
 *
 * The bundle holds config.json (written by create and update, read by read_spec, exec and the
 * OOM verdict) and what conmon 2.1.6 leaves, relied on here alone:
 *   <bundle>/pidfile, <bundle>/conmon.pid   container init pid, conmon's (daemonized) pid
 *                                            (monitor_alive: proc_pidfile's PID-reuse guard)
 *   <bundle>/ctl, <bundle>/winsz             control FIFOs ("2 0 0\n" on ctl reopens the log)
 *   <bundle>/attach                          attach socket (removed when conmon exits normally)
 *   <bundle>/exit, <exit_dir>/<id>           exit code as decimal text, written to a temporary
 *                                            file and renamed into place (exit_status; the
 *                                            latter watched by watch_exits, removed by delete;
 *                                            an attachment's wait reads the former once a delete
 *                                            has removed the latter)
 *   <bundle>/oom                             empty, when the memory cgroup's OOM killer struck
 *                                            (exit_status: x->oom, with the cgroup's counter)
 *   <socket_dir>/<id>                        symlink to the bundle (delete finds conmon by it;
 *                                            removed by delete here, also when the runtime's
 *                                            container is gone already)
 *
 * What runc 1.1 keeps, read here without running it (state, kill of the init, whether kill --all
 * of a stopped container has anything left to signal, delete's and update's init pid); only when
 * the runtime is named runc (crun keeps other files) and only what runc itself reads:
 *   <root>/<id>/state.json                   init_process_pid, init_process_start (field 22 of
 *                                            /proc/<pid>/stat), cgroup_paths, config.cgroups,
 *                                            config.namespaces; replaced whole by rename
 *   <root>/<id>/exec.fifo                    there while the container is created, not started
 */
#include "runtime/runtime.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/attach.h"
#include "runtime/cgroup.h"
#include "runtime/exits.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/proc.h"

extern char **environ;

#define RUNTIME_TIMEOUT_MS 60000 /* one runtime command */
#define CONMON_TIMEOUT_MS 60000  /* conmon's report of the created container */
#define REOPEN_TIMEOUT_MS 10000  /* conmon's new log file after a reopen request */
#define CONMON_KILL_WAIT_MS 5000 /* a conmon killed (after a failed create, or at delete) */
#define CONMON_EXIT_WAIT_MS 5000 /* a conmon finishing its records once the container is deleted */
#define SUN_PATH_MAX 108         /* sizeof sockaddr_un.sun_path */
/*
 * Output kept of one runtime command.  `state` prints the container's annotations: Kubernetes
 * allows 256 KiB of them, a request may carry up to 16 MiB, and JSON escapes a byte into at most
 * six.  Output beyond this is an error naming the command, never cut silently.
 */
#define RUNTIME_OUT_MAX (128u << 20)

struct oci {
	char *runtime_path, *conmon_path, *root, *exit_dir, *socket_dir;
	char *name;        /* basename of runtime_path */
	int debug;
	char **env;        /* the daemon's environment minus what would mislead runc or conmon */
	char **conmon_env; /* env + _OCI_SYNCPIPE=3 */
	struct exits *exits; /* watch_exits's watcher of exit_dir, or NULL */
};

/* Does the runtime keep state for id?  (runc and crun both keep <root>/<id>/.) */
static int known(const struct oci *o, const char *id)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/%s", o->root, id) >= (int)sizeof p)
		return 1;
	struct stat st;
	if (lstat(p, &st) < 0)
		return !(errno == ENOENT || errno == ENOTDIR);
	return 1;
}

/* Append s (trimmed) to buf, "; "-separated. */
static void msg_append(char *buf, size_t cap, const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		len--;
	while (len && (*s == ' ' || *s == '\n')) {
		s++;
		len--;
	}
	if (!len)
		return;
	size_t n = strlen(buf);
	if (n && n + 2 < cap) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= cap)
		return;
	if (len > cap - n - 1)
		len = cap - n - 1;
	memcpy(buf + n, s, len);
	buf[n + len] = '\0';
}

/*
 * The readable part of a runtime's stderr: the "msg" of its JSON log lines of level error (or
 * worse), else every line as it is.
 */
static void runtime_msg(const char *errout, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (int pass = 0; pass < 2 && !buf[0]; pass++) {
		for (const char *line = errout; line && *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			json_t *j = json_loadb(line, len, 0, NULL);
			const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
			const char *level = j ? json_string_value(json_object_get(j, "level")) : NULL;
			int severe = level && (!strcmp(level, "error") || !strcmp(level, "fatal") || !strcmp(level, "panic"));
			if (pass == 0 && msg && severe)
				msg_append(buf, cap, msg, strlen(msg));
			else if (pass == 1 && msg)
				msg_append(buf, cap, msg, strlen(msg));
			else if (pass == 1)
				msg_append(buf, cap, line, len);
			json_decref(j);
			line = nl ? nl + 1 : NULL;
		}
	}
}

/*
 * Is the runtime's message about what the request asked for, rather than about the daemon or the
 * host?  The container's program not found or not executable (runc and crun: `exec: "X": ...`, crun
 * `executable file ... not found`), a sysctl the pod's namespace lacks or a value the kernel refuses
 * (opening or writing under /proc/sys), a cgroup value it refuses (runc: `failed to write "V":
 * write <file>: invalid argument`).  What the daemon can check beforehand it checks in spec.c;
 * this catches the rest.
 */
static int caller_error(const char *msg)
{
	static const char *const words[] = { "exec: \"", "executable file not found", "executable file `",
					     "open /proc/sys/", "write /proc/sys/", NULL };
	for (const char *const *w = words; *w; w++)
		if (strstr(msg, *w))
			return 1;
	return strstr(msg, "failed to write") && (strstr(msg, ": invalid argument") ||
						  strstr(msg, ": numerical result out of range"));
}

/*
 * Fail naming the command and the container, with the runtime's own words; errnum EINVAL when
 * those words say the request was at fault (caller_error), else the given one.
 */
static int rt_fail(const struct oci *o, int errnum, const char *verb, const char *id, const struct proc_result *r,
		   struct lc_err *err)
{
	char msg[800];
	runtime_msg(r->errout, msg, sizeof msg);
	if (!msg[0])
		return lc_failc(err, errnum, "%s %s %s: exit status %d", o->name, verb, id, r->status);
	return lc_failc(err, caller_error(msg) ? EINVAL : errnum, "%s %s %s: %s", o->name, verb, id, msg);
}

/*
 * Run `<runtime> --root <root> --log-format=json <args...>`: 0 when it ran (check r->status).
 * Its whole stdout is in r->out: more than RUNTIME_OUT_MAX bytes of it fail (EMSGSIZE).
 */
static int rt_run(const struct oci *o, const char *id, const char *const *args, struct proc_result *r,
		  struct lc_err *err)
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = o->runtime_path;
	argv[n++] = "--root";
	argv[n++] = o->root;
	argv[n++] = "--log-format=json";
	for (size_t i = 0; args[i]; i++) {
		assert(n < sizeof argv / sizeof argv[0] - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	struct proc_opts po = { .env = (const char *const *)o->env, .timeout_ms = RUNTIME_TIMEOUT_MS,
				.out_max = RUNTIME_OUT_MAX };
	int64_t t0 = metrics_now_us();
	static const struct {
		const char *verb;
		enum metric_op op;
	} timed[] = { { "start", MOP_RUNC_START },   { "kill", MOP_RUNC_KILL },	    { "delete", MOP_RUNC_DELETE },
		      { "state", MOP_RUNC_STATE },   { "update", MOP_RUNC_UPDATE } };
	int prc = proc_run(argv, &po, r, err);
	for (size_t i = 0; i < sizeof timed / sizeof timed[0]; i++)
		if (!strcmp(args[0], timed[i].verb))
			metrics_observe(timed[i].op, metrics_now_us() - t0, prc == 0 && r->status == 0);
	if (prc < 0) {
		log_debug("%s %s %s: %s", o->name, args[0], id, err->msg);
		return lc_wrap(err, "%s %s %s", o->name, args[0], id);
	}
	log_debug("%s %s %s: exit status %d in %.1f ms", o->name, args[0], id, r->status,
		  (double)(metrics_now_us() - t0) / 1000.0);
	if (r->out_dropped > 0) {
		size_t total = r->out_len + r->out_dropped;
		proc_result_free(r);
		return lc_fail(err, EMSGSIZE, "%s %s %s: its output (%zu bytes) exceeds %u bytes", o->name, args[0],
			       id, total, RUNTIME_OUT_MAX);
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/* The conmon supervising the container of `bundle` (its pidfile there, proc_pidfile): 0 when gone. */
static pid_t conmon_pid(const char *bundle)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/conmon.pid", bundle) >= (int)sizeof p)
		return 0;
	return proc_pidfile(p);
}

/*
 * The file conmon pid writes the container's output to: its "-l k8s-file:<path>" argument, into
 * buf.  0 found; 1 it has none (-l none: the output is discarded); -1 its command line is unreadable.
 */
static int conmon_log_file(pid_t pid, char *buf, size_t cap)
{
	char p[64], cmd[16384];
	snprintf(p, sizeof p, "/proc/%d/cmdline", (int)pid);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, cmd + len, sizeof cmd - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof cmd - 1)
			break;
	}
	cmd[len] = '\0';
	if (len == 0)
		return -1;
	const char *log = NULL;
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (!strcmp(cmd + i, "-l") && i + 3 < len)
			log = cmd + i + 3;
	if (!log || strncmp(log, "k8s-file:", 9) != 0)
		return 1;
	return snprintf(buf, cap, "%s", log + 9) < (int)cap ? 0 : -1;
}

/* The socket directory entry conmon makes for id (shortened as conmon does at sun_path's limit):
 * -1 when the path does not fit. */
static int socket_link_path(const struct oci *o, const char *id, char p[PATH_MAX])
{
	if (snprintf(p, PATH_MAX, "%s/%s", o->socket_dir, id) >= PATH_MAX)
		return -1;
	if (strlen(p) == SUN_PATH_MAX - 1)
		p[SUN_PATH_MAX - 2] = '\0';
	return 0;
}

static void socket_link_remove(const struct oci *o, const char *id)
{
	char p[PATH_MAX];
	if (socket_link_path(o, id, p) < 0)
		return;
	if (unlink(p) < 0 && errno != ENOENT)
		log_warn("remove attach socket link %s of container %s: %s", p, id, strerror(errno));
}

/*
 * The container ID whose socket link (socket_link_path) is the socket directory's entry name,
 * into id: 0 if the entry is no such link.  A shortened link is told by its target, the
 * container's bundle, named by the ID.
 */
static int socket_link_id(const struct oci *o, const char *name, char id[65])
{
	if (id_is_hex(name, ID_HEX_LEN, ID_HEX_LEN)) {
		memcpy(id, name, 65);
		return 1;
	}
	char p[PATH_MAX], target[PATH_MAX], want[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/%s", o->socket_dir, name) >= (int)sizeof p)
		return 0;
	ssize_t n = readlink(p, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!id_is_hex(base, ID_HEX_LEN, ID_HEX_LEN) || socket_link_path(o, base, want) < 0 ||
	    strcmp(want, p) != 0)
		return 0;
	memcpy(id, base, 65);
	return 1;
}

/*
 * A pidfd of the conmon supervising the container of `bundle` (conmon_pid), *pid its pid: -1 when
 * none runs.  The pidfile is read again once the pidfd is open, so that the pidfd names that conmon
 * and not a process that got its pid by reuse in between.
 */
static int conmon_open(const char *bundle, pid_t *pid)
{
	*pid = conmon_pid(bundle);
	if (*pid <= 0)
		return -1;
	int pfd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (pfd >= 0 && conmon_pid(bundle) != *pid) {
		close(pfd);
		return -1;
	}
	return pfd;
}

/*
 * Wait at most wait_ms for conmon (pidfd pfd of pid cp, supervising container id) to exit, then
 * SIGKILL it and wait CONMON_KILL_WAIT_MS more: 1 once it has exited (a zombie has: it writes
 * nothing any more), 0 when it still runs (logged).
 */
static int conmon_end(int pfd, pid_t cp, const char *id, int wait_ms)
{
	assert(pfd >= 0 && cp > 0);
	if (proc_wait_gone(pfd, cp, wait_ms))
		return 1;
	if (wait_ms > 0)
		log_warn("conmon %d of container %s still runs %d ms after its container ended: killing it", (int)cp,
			 id, wait_ms);
	if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		log_warn("kill conmon %d of container %s: %s", (int)cp, id, strerror(errno));
	if (proc_wait_gone(pfd, cp, CONMON_KILL_WAIT_MS))
		return 1;
	log_warn("conmon %d of container %s outlived SIGKILL for %d ms", (int)cp, id, CONMON_KILL_WAIT_MS);
	return 0;
}

/* Undo a failed create: conmon first (so it writes no exit file), then the runtime's container. */
static void create_undo(const struct oci *o, const struct rt_create *c)
{
	pid_t cp;
	cleanup_close int pfd = conmon_open(c->bundle, &cp);
	if (pfd >= 0 && conmon_end(pfd, cp, c->id, 0))
		log_debug("killed conmon %d of container %s after a failed create", (int)cp, c->id);
	if (known(o, c->id)) {
		struct lc_err e;
		struct proc_result r;
		const char *args[] = { "delete", "--force", c->id, NULL };
		if (rt_run(o, c->id, args, &r, &e) < 0)
			log_warn("undo create: %s", e.msg);
		else if (r.status != 0 && known(o, c->id)) {
			rt_fail(o, EIO, "delete --force", c->id, &r, &e);
			log_warn("undo create: %s", e.msg);
		}
		proc_result_free(&r);
	}
	socket_link_remove(o, c->id);
}

/*
 * Read conmon's one-line JSON report from the sync pipe: {"data": <pid>} or
 * {"data": -1, "message": "<runtime stderr>"}.  EOF without one: conmon died.
 */
static int read_sync(const struct oci *o, int fd, const char *id, const char *conmon_err, pid_t *pid,
		     struct lc_err *err)
{
	char buf[65536];
	size_t len = 0;
	int64_t deadline = metrics_now_us() + (int64_t)CONMON_TIMEOUT_MS * 1000;
	char *nl = NULL;
	while (!nl) {
		int64_t left = (deadline - metrics_now_us()) / 1000;
		if (left <= 0)
			return lc_fail(err, ETIMEDOUT, "conmon of container %s did not report within %d ms", id,
				       CONMON_TIMEOUT_MS);
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int n = poll(&pf, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return lc_fail(err, errno, "poll the sync pipe of conmon for container %s", id);
		if (n <= 0)
			continue;
		ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return lc_fail(err, errno, "read the sync pipe of conmon for container %s", id);
		}
		if (got == 0) {
			char msg[600] = "";
			msg_append(msg, sizeof msg, conmon_err, strlen(conmon_err));
			return lc_fail(err, EIO, "create container %s: conmon exited without reporting its pid%s%s", id,
				       msg[0] ? ": " : "", msg);
		}
		len += (size_t)got;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (!nl && len == sizeof buf - 1)
			return lc_fail(err, EPROTO, "create container %s: conmon's report is too long", id);
	}
	json_t *j = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
	json_t *data = j ? json_object_get(j, "data") : NULL;
	if (!json_is_integer(data)) {
		json_decref(j);
		*nl = '\0';
		return lc_fail(err, EPROTO, "create container %s: unexpected report from conmon: %.200s", id, buf);
	}
	json_int_t v = json_integer_value(data);
	if (v <= 0 || v > INT_MAX) {
		const char *m = json_string_value(json_object_get(j, "message"));
		struct proc_result r = { .status = (int)v, .errout = (char *)(m ? m : "") };
		rt_fail(o, EIO, "create", id, &r, err);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	*pid = (pid_t)v;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the bundle: config.json and conmon's files                                                 */

/* Write spec to <bundle>/config.json (mode 0600) atomically: the one writer of that file. */
static int spec_save(const char *bundle, json_t *spec, struct lc_err *err)
{
	cleanup_free char *text = json_dumps(spec, JSON_INDENT(2));
	if (!text)
		return lc_fail(err, ENOMEM, "serialize %s/config.json", bundle);
	return write_file_atomic(bundle, "config.json", text, strlen(text), 0600, 1, err);
}

/* <bundle>/config.json into *spec (a new reference): the one reader.  ENOENT when absent, EIO when
 * it is not JSON. */
static int spec_load(const char *bundle, json_t **spec, struct lc_err *err)
{
	char path[PATH_MAX];
	*spec = NULL;
	if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "open %s", path);
	json_error_t jerr;
	*spec = json_loadfd(fd, 0, &jerr);
	if (!*spec)
		return lc_failc(err, EIO, "%s: %s", path, jerr.text);
	return 0;
}

/*
 * Did the cgroup OOM killer strike the container of `bundle`, which exited with exit_code?
 * conmon's "oom" marker says so, but nothing orders it before the exit file: a SIGKILLed
 * container without the marker is checked against its cgroup's own oom_kill counter too (the
 * cgroup, named by config.json's cgroupsPath, outlives the process until the runtime deletes it).
 */
static int oom_killed(const char *bundle, int exit_code)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/oom", bundle) < (int)sizeof path && access(path, F_OK) == 0)
		return 1;
	struct lc_err e;
	json_auto_t *spec = NULL;
	if (exit_code != 128 + SIGKILL || spec_load(bundle, &spec, &e) < 0)
		return 0;
	const char *cg = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
	return cg && cgroup_oom_kills(cg) > 0;
}

static int oci_read_spec(void *impl, const char *id, const char *bundle, json_t **spec, struct lc_err *err)
{
	(void)impl;
	if (spec_load(bundle, spec, err) < 0)
		return lc_wrap(err, "spec of container %s", id);
	return 0;
}

static int oci_monitor_alive(void *impl, const char *id, const char *bundle)
{
	(void)impl;
	(void)id;
	return conmon_pid(bundle) > 0; /* a zombie conmon has written its exit file */
}

static int oci_exit_status(void *impl, const char *id, const char *bundle, struct rt_exit *x, struct lc_err *err)
{
	struct oci *o = impl;
	*x = (struct rt_exit){ .code = -1 };
	int rc = exit_file_read(o->exit_dir, id, &x->code, &x->at, err); /* sets nothing on failure */
	x->oom = oom_killed(bundle, x->code);
	return rc;
}

static int oci_watch_exits(void *impl, void (*cb)(const char *id, void *arg), void *arg, struct lc_err *err)
{
	struct oci *o = impl;
	assert(!o->exits);
	return exits_start(o->exit_dir, cb, arg, &o->exits, err);
}

static int unlink_stale(const char *bundle, const char *name, struct lc_err *err)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/%s", bundle, name) >= (int)sizeof p)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	if (unlink(p) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove stale %s", p);
	return 0;
}

static int oci_create(void *impl, const struct rt_create *c, pid_t *pid, struct lc_err *err)
{
	struct oci *o = impl;
	if (!id_is_hex(c->id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container ID %s is not 64 hex digits", c->id);
	if (c->log_path[0] && (c->log_path[0] != '/' || strchr(c->log_path, ':')))
		return lc_fail(err, EINVAL, "log path %s of container %s: must be absolute and without ':'",
			       c->log_path, c->id);
	if (known(o, c->id))
		return lc_failc(err, EEXIST, "container %s already exists in %s", c->id, o->root);
	if (spec_save(c->bundle, c->spec, err) < 0)
		return lc_wrap(err, "create container %s", c->id);
	static const char *const stale[] = { "pidfile", "conmon.pid", "exit", "oom" };
	for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++)
		if (unlink_stale(c->bundle, stale[i], err) < 0)
			return -1;

	char pidfile[PATH_MAX], conmon_pidfile[PATH_MAX], log_arg[PATH_MAX + 16], root_arg[PATH_MAX + 16];
	if (snprintf(pidfile, sizeof pidfile, "%s/pidfile", c->bundle) >= (int)sizeof pidfile ||
	    snprintf(conmon_pidfile, sizeof conmon_pidfile, "%s/conmon.pid", c->bundle) >= (int)sizeof conmon_pidfile)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", c->bundle);
	/* "none": conmon reads and drops the output (k8s-file:/dev/null would rename over /dev/null on reopen). */
	if (c->log_path[0])
		snprintf(log_arg, sizeof log_arg, "k8s-file:%s", c->log_path);
	else
		snprintf(log_arg, sizeof log_arg, "none");
	snprintf(root_arg, sizeof root_arg, "--root=%s", o->root);
	const char *argv[] = {
		o->conmon_path, "--api-version", "1",
		"-c", c->id, "-u", c->id, "-n", c->id,
		"-r", o->runtime_path, "-b", c->bundle, "-p", pidfile,
		"--exit-dir", o->exit_dir, "-l", log_arg,
		"--persist-dir", c->bundle, "--conmon-pidfile", conmon_pidfile,
		"--socket-dir-path", o->socket_dir,
		"--runtime-arg", root_arg, "--runtime-arg", "--log-format=json",
		"--log-level", o->debug ? "debug" : "info",
		NULL, NULL, NULL, NULL, /* -t, -i, --leave-stdin-open */
	};
	size_t argc = sizeof argv / sizeof argv[0] - 4;
	if (c->tty)
		argv[argc++] = "-t"; /* runtime create --console-socket: conmon holds the terminal */
	if (c->stdin)
		argv[argc++] = "-i"; /* a stdin pipe conmon feeds from attached clients */
	if (c->stdin && !c->stdin_once)
		argv[argc++] = "--leave-stdin-open"; /* else the end of an attachment ends stdin */

	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0)
		return lc_fail(err, errno, "sync pipe for container %s", c->id);
	cleanup_close int sync_r = sync[0];
	int sync_w = sync[1];
	struct proc_opts po = {
		.env = (const char *const *)o->conmon_env,
		.keep_fds = &sync_w,
		.n_keep_fds = 1,
		.timeout_ms = CONMON_TIMEOUT_MS,
		.cwd = c->bundle, /* conmon also writes "oom" into its working directory */
	};
	int64_t t0 = metrics_now_us();
	struct proc_result r;
	int rc = proc_run(argv, &po, &r, err);
	metrics_observe(MOP_CONMON_CREATE, metrics_now_us() - t0, rc == 0 && r.status == 0);
	close(sync_w);
	if (rc < 0) {
		lc_wrap(err, "start conmon for container %s", c->id);
		create_undo(o, c);
		return -1;
	}
	if (r.status != 0) {
		char msg[600] = "";
		msg_append(msg, sizeof msg, r.errout, strlen(r.errout));
		lc_failc(err, EIO, "conmon for container %s exited with status %d%s%s", c->id, r.status,
			 msg[0] ? ": " : "", msg);
		proc_result_free(&r);
		create_undo(o, c);
		return -1;
	}
	if (o->debug && r.errout[0]) {
		char msg[600] = "";
		msg_append(msg, sizeof msg, r.errout, strlen(r.errout));
		log_debug("conmon for container %s: %s", c->id, msg);
	}
	rc = read_sync(o, sync_r, c->id, r.errout, pid, err);
	proc_result_free(&r);
	if (rc < 0) {
		create_undo(o, c);
		return -1;
	}
	log_debug("%s create %s (conmon): pid %d in %.1f ms", o->name, c->id, (int)*pid,
		  (double)(metrics_now_us() - t0) / 1000.0);
	return 0;
}

static int oci_start(void *impl, const char *id, struct lc_err *err)
{
	struct oci *o = impl;
	const char *args[] = { "start", id, NULL };
	struct proc_result r;
	if (rt_run(o, id, args, &r, err) < 0)
		return -1;
	int rc = r.status == 0 ? 0 : rt_fail(o, known(o, id) ? EIO : ENOENT, "start", id, &r, err);
	proc_result_free(&r);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* runc's own files                                                                           */

/*
 * runc's record of container id, <root>/<id>/state.json (runc replaces it whole, by rename), read
 * without running runc: NULL when the runtime is not runc (crun keeps other files), id is no
 * container ID, or the file is missing or holds no JSON object.  The one reader of that file.
 */
static json_t *runc_state_file(const struct oci *o, const char *id)
{
	char path[PATH_MAX];
	if (strcmp(o->name, "runc") != 0 || !id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN) ||
	    snprintf(path, sizeof path, "%s/%s/state.json", o->root, id) >= (int)sizeof path)
		return NULL;
	json_t *j = json_load_file(path, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The container's init process as runc recorded it ("init_process_pid"): 0 when there is no record. */
static pid_t state_init_pid(const struct oci *o, const char *id)
{
	json_t *j = runc_state_file(o, id);
	json_int_t v = json_integer_value(json_object_get(j, "init_process_pid"));
	json_decref(j);
	return v > 0 && v <= INT_MAX ? (pid_t)v : 0;
}

/*
 * Is the container frozen, as runc 1.1 tells (its cgroup manager's freezer state FROZEN: "paused")?
 * The cgroup is the one runc recorded ("cgroup_paths"): on a cgroup v1 or hybrid host its
 * "freezer" path, where freezer.state says FROZEN and freezer.self_freezing does not say "0"
 * (an ancestor froze it, not runc); on a cgroup v2 host the single "" path, where cgroup.freeze
 * says 1 and cgroup.events "frozen 1".  No freezer path, or no such file: not frozen.  1, 0, or
 * -1 when runc could decide otherwise or would wait (a freeze in progress, paths it would work
 * out itself, a systemd driver it would need, a file it could not read): the caller asks runc.
 */
static int state_frozen(json_t *state)
{
	json_t *paths = json_object_get(state, "cgroup_paths");
	json_t *cg = json_object_get(json_object_get(state, "config"), "cgroups");
	if (!json_is_object(paths) || !json_is_object(cg) || json_is_true(json_object_get(cg, "Systemd")))
		return -1;
	char buf[256];
	ssize_t n;
	if (cgroup2_unified()) {
		const char *dir = json_string_value(json_object_get(paths, ""));
		if (json_object_size(paths) != 1 || !dir || dir[0] != '/')
			return -1;
		if ((n = read_small(dir, "cgroup.freeze", buf, sizeof buf)) < 0)
			return errno == ENOENT || errno == ENODEV ? 0 : -1;
		if (!strncmp(buf, "0\n", 2))
			return 0;
		if (strncmp(buf, "1\n", 2) != 0 || read_small(dir, "cgroup.events", buf, sizeof buf) < 0)
			return -1;
		return strstr(buf, "\nfrozen 1\n") || !strncmp(buf, "frozen 1\n", 9) ? 1 : -1;
	}
	json_t *u = json_object_get(cg, "unified");
	if (u && !json_is_null(u))
		return -1; /* runc 1.1 refuses cgroup v2 settings on a v1 host */
	json_t *fz = json_object_get(paths, "freezer");
	const char *dir = json_string_value(fz);
	if (!fz || (dir && !dir[0]))
		return 0;
	if (!dir)
		return -1;
	if ((n = read_small(dir, "freezer.state", buf, sizeof buf)) < 0)
		return errno == ENOENT || errno == ENODEV ? 0 : -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!strcmp(buf, "THAWED"))
		return 0;
	if (strcmp(buf, "FROZEN") != 0)
		return -1; /* FREEZING: runc waits until it settles */
	if (read_small(dir, "freezer.self_freezing", buf, sizeof buf) < 0)
		return errno == ENOENT || errno == ENODEV ? 1 : -1;
	return !strcmp(buf, "0\n") ? 0 : !strcmp(buf, "1\n") ? 1 : -1;
}

/*
 * The container's state as runc 1.1 decides it (libcontainer's refreshState), from runc's own
 * files and /proc, without running runc (a Go program: ~4 ms of CPU; startup recovery asks for
 * every container and pod):
 *   paused   the container is frozen (state_frozen);
 *   stopped  its init process ("init_process_pid") is gone, a zombie or dead, or is another
 *            process by now (its start time, field 22 of /proc/<pid>/stat, is not
 *            "init_process_start");
 *   created  the init process waits on <root>/<id>/exec.fifo, which `runc start` removes;
 *   running  otherwise.
 * *pid: the init process, 0 when stopped (as `runc state` prints it).  j: runc_state_file's
 * record of id.  0, or -1 when this cannot tell for sure (not runc, no state.json or an unexpected
 * one, a file it could not read): then the caller asks runc.
 */
static int state_from_files(const struct oci *o, const char *id, json_t *j, enum rt_state *st, pid_t *pid)
{
	json_t *jp = json_object_get(j, "init_process_pid"), *js = json_object_get(j, "init_process_start");
	if (!json_is_integer(jp) || !json_is_integer(js))
		return -1;
	json_int_t init = json_integer_value(jp), start = json_integer_value(js);
	if (init < 0 || init > INT_MAX || start < 0)
		return -1;
	int frozen = state_frozen(j);
	if (frozen < 0)
		return -1;
	if (frozen) {
		*st = RT_PAUSED;
		*pid = (pid_t)init;
		return 0;
	}
	char pst = 0;
	unsigned long long ticks = 0;
	if (init == 0 || proc_stat((pid_t)init, &pst, &ticks) < 0) {
		if (init != 0 && errno != ENOENT && errno != ESRCH)
			return -1;
		pst = 'X'; /* no such process */
	}
	if (pst == 'Z' || pst == 'X' || ticks != (unsigned long long)start) {
		*st = RT_STOPPED;
		*pid = 0;
		return 0;
	}
	char fifo[PATH_MAX];
	struct stat sb;
	snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", o->root, id); /* fits: state.json did */
	if (stat(fifo, &sb) == 0)
		*st = RT_CREATED;
	else if (errno == ENOENT)
		*st = RT_RUNNING;
	else
		return -1;
	*pid = (pid_t)init;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/*
 * From runc's files when they tell for sure (state_from_files), else `<runtime> state`.
 */
static int oci_state(void *impl, const char *id, enum rt_state *st, pid_t *pid, struct lc_err *err)
{
	struct oci *o = impl;
	*st = RT_MISSING;
	*pid = 0;
	if (!known(o, id))
		return 0;
	json_auto_t *rec = runc_state_file(o, id);
	if (state_from_files(o, id, rec, st, pid) == 0) {
		log_debug("%s state %s: %s, pid %d (from its files)", o->name, id,
			  *st == RT_CREATED ? "created" : *st == RT_RUNNING ? "running" :
			  *st == RT_PAUSED ? "paused" : "stopped", (int)*pid);
		return 0;
	}
	const char *args[] = { "state", id, NULL };
	struct proc_result r;
	if (rt_run(o, id, args, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		int rc = 0; /* gone meanwhile, or a state directory the runtime cannot load: missing */
		if (known(o, id) && !strstr(r.errout, "does not exist"))
			rc = rt_fail(o, EIO, "state", id, &r, err);
		proc_result_free(&r);
		return rc;
	}
	json_error_t jerr;
	json_t *j = json_loads(r.out, 0, &jerr);
	proc_result_free(&r);
	const char *s = j ? json_string_value(json_object_get(j, "status")) : NULL;
	json_t *jp = j ? json_object_get(j, "pid") : NULL;
	int rc = 0;
	if (!s || !json_is_integer(jp))
		rc = lc_fail(err, EPROTO, "%s state %s: no status and pid in its output", o->name, id);
	else if (!strcmp(s, "created"))
		*st = RT_CREATED;
	else if (!strcmp(s, "running"))
		*st = RT_RUNNING;
	else if (!strcmp(s, "paused"))
		*st = RT_PAUSED;
	else if (!strcmp(s, "stopped"))
		*st = RT_STOPPED;
	else
		rc = lc_fail(err, EPROTO, "%s state %s: unknown status \"%s\"", o->name, id, s);
	if (rc == 0)
		*pid = (pid_t)json_integer_value(jp);
	else
		*st = RT_MISSING;
	json_decref(j);
	return rc;
}

/*
 * Does runc's record j give the container a PID namespace of its own ("config"."namespaces" holds
 * {"type": "NEWPID"} without a path)?  Then nothing of it outlives its init: the kernel kills the
 * rest of the namespace when the init ends.  0 when it does not, or j does not say.
 */
static int state_own_pid_ns(json_t *j)
{
	json_t *ns = json_object_get(json_object_get(j, "config"), "namespaces"), *n;
	size_t i;
	json_array_foreach(ns, i, n) {
		const char *t = json_string_value(json_object_get(n, "type"));
		const char *path = json_string_value(json_object_get(n, "path"));
		if (t && !strcmp(t, "NEWPID"))
			return !path || !path[0];
	}
	return 0;
}

/*
 * Without running runc, when its files tell for sure (state_from_files and j, runc_state_file's
 * record): sig to the init of a created or running container, through a pidfd guarded by the
 * init's start time ("init_process_start") — what `runc kill` without --all does (libcontainer's
 * Signal: the init, if it is still the process runc started).  0 sent, -1 ESRCH not running (gone
 * meanwhile too), 1 when runc must decide (not runc, a paused container: runc thaws it for
 * SIGKILL, a record or file it could not read).
 */
static int kill_init(const struct oci *o, const char *id, json_t *j, int sig, struct lc_err *err)
{
	enum rt_state st;
	pid_t pid;
	json_int_t start = json_integer_value(json_object_get(j, "init_process_start"));
	if (!j || state_from_files(o, id, j, &st, &pid) < 0 || st == RT_PAUSED)
		return 1;
	if (st == RT_STOPPED || proc_signal_started(pid, (unsigned long long)start, sig) < 0) {
		if (st != RT_STOPPED && errno != ESRCH)
			return 1;
		return lc_failc(err, ESRCH, "%s kill %s: container not running", o->name, id);
	}
	log_debug("%s kill %s: signal %d to its init %d (pidfd)", o->name, id, sig, (int)pid);
	return 0;
}

static int oci_kill(void *impl, const char *id, int sig, int all, struct lc_err *err)
{
	struct oci *o = impl;
	char signum[16];
	snprintf(signum, sizeof signum, "%d", sig);
	const char *args_all[] = { "kill", "--all", id, signum, NULL };
	const char *args_one[] = { "kill", id, signum, NULL };
	struct proc_result r;
	if (!known(o, id))
		return lc_failc(err, ENOENT, "%s kill %s: container does not exist", o->name, id);
	json_auto_t *j = runc_state_file(o, id);
	/* SIGKILL to every process of a container with a PID namespace of its own: its init's death
	 * ends the rest (the kernel kills the namespace), as `kill --all` would. */
	if (!all || (sig == SIGKILL && state_own_pid_ns(j))) {
		int rc = kill_init(o, id, j, sig, err);
		if (rc <= 0)
			return rc;
	}
	if (all) {
		/* `kill --all` succeeds on a stopped container: ask first, for ENOENT/ESRCH as without --all. */
		enum rt_state st;
		pid_t p;
		if ((!j || state_from_files(o, id, j, &st, &p) < 0) && oci_state(impl, id, &st, &p, err) < 0)
			return -1;
		if (st == RT_MISSING)
			return lc_failc(err, ENOENT, "%s kill %s: container does not exist", o->name, id);
		if (st == RT_STOPPED) {
			/* The init is gone; what it left in the container's cgroup still gets the signal —
			 * unless the container's PID namespace was its own, which ended with the init. */
			if (!state_own_pid_ns(j) && rt_run(o, id, args_all, &r, err) == 0) {
				if (r.status != 0)
					log_debug("%s kill --all %s (stopped): %s", o->name, id, r.errout);
				proc_result_free(&r);
			}
			return lc_failc(err, ESRCH, "%s kill %s: container not running", o->name, id);
		}
	}
	if (rt_run(o, id, all ? args_all : args_one, &r, err) < 0)
		return -1;
	if (r.status == 0) {
		proc_result_free(&r);
		return 0;
	}
	int errnum = EIO;
	enum rt_state st = RT_RUNNING;
	pid_t p;
	struct lc_err e2;
	if (!known(o, id))
		errnum = ENOENT;
	else if (strstr(r.errout, "not running") || (oci_state(impl, id, &st, &p, &e2) == 0 && st == RT_STOPPED))
		errnum = ESRCH;
	else if (st == RT_MISSING)
		errnum = ENOENT;
	rt_fail(o, errnum, "kill", id, &r, err);
	proc_result_free(&r);
	return -1;
}

/*
 * `delete --force` of a container whose init still exists (a created container's waiting
 * `runc init`, or a running one) makes runc SIGKILL it and then sleep 100 ms before it looks
 * again.  Killing the init ourselves and waiting until it has exited turns that into a plain
 * delete of a stopped container (~110 ms → ~10 ms).  A zombie init counts as exited, for runc as
 * here (its parent, conmon — or PID 1 once conmon is gone, which may reap a second late — has yet
 * to reap it).  Only runc's state file is read ("init_process_pid" in <root>/<id>/state.json);
 * for other runtimes, or when anything is unexpected, this does nothing and `delete --force` does
 * the work as before.
 */
static void kill_before_delete(struct oci *o, const char *id)
{
	pid_t pid = state_init_pid(o, id);
	if (pid <= 1)
		return;
	cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 || !proc_alive(pid)) /* gone already */
		return;
	struct lc_err e = { 0 };
	if (oci_kill(o, id, SIGKILL, 0, &e) < 0)
		return;
	proc_wait_gone(pfd, pid, 2000);
}

/*
 * What conmon leaves of a container the runtime no longer has: conmon itself first (pidfd pfd of
 * pid cp, -1 when none runs) — once the container's init has been reaped it still drains the
 * output, fsyncs the log, writes <bundle>/exit (through a temporary exit.XXXXXX beside it) and
 * <exit_dir>/<id>, and unlinks <bundle>/attach, which the caller's removal of the bundle would
 * race — then its socket link and its exit file.  EBUSY when conmon outlives even SIGKILL.
 */
static int leftovers_remove(const struct oci *o, const char *id, int pfd, pid_t cp, struct lc_err *err)
{
	if (pfd >= 0 && !conmon_end(pfd, cp, id, CONMON_EXIT_WAIT_MS))
		return lc_failc(err, EBUSY, "%s delete %s: its conmon %d still runs", o->name, id, (int)cp);
	socket_link_remove(o, id);
	return exit_file_remove(o->exit_dir, id, err);
}

/*
 * Whenever the runtime's container is gone afterwards (deleted, or unknown: ENOENT), conmon's
 * leftovers are removed too: a removal interrupted between the two leaves nothing.  Its conmon is
 * found through its socket link (to the bundle, holding conmon's pidfile), read before anything
 * is removed.
 */
static int oci_delete(void *impl, const char *id, struct lc_err *err)
{
	struct oci *o = impl;
	if (!id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container id \"%s\" is not 64 hex digits", id);
	char link[PATH_MAX], bundle[PATH_MAX];
	ssize_t n = socket_link_path(o, id, link) < 0 ? -1 : readlink(link, bundle, sizeof bundle - 1);
	pid_t cp = 0;
	cleanup_close int pfd = -1;
	if (n > 0) {
		bundle[n] = '\0';
		pfd = conmon_open(bundle, &cp);
	}
	/* `delete --force` of an unknown container succeeds silently: tell ENOENT ourselves. */
	if (!known(o, id)) {
		if (leftovers_remove(o, id, pfd, cp, err) < 0)
			return -1;
		return lc_failc(err, ENOENT, "%s delete %s: container does not exist", o->name, id);
	}
	kill_before_delete(o, id);
	const char *args[] = { "delete", "--force", id, NULL };
	struct proc_result r;
	if (rt_run(o, id, args, &r, err) < 0)
		return -1;
	int rc = 0;
	if (r.status != 0)
		rc = rt_fail(o, known(o, id) ? EIO : ENOENT, "delete", id, &r, err);
	proc_result_free(&r);
	if ((rc == 0 || err->errnum == ENOENT) && leftovers_remove(o, id, pfd, cp, err) < 0)
		return -1;
	return rc;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * The container ID entry `name` of directory `dir` of the list stands for (0 the runtime's root, 1
 * conmon's socket directory, 2 the exit directory), into id: 1, or 0 when it stands for none to
 * list — not litecri's, or a leftover (dir 1, 2) of a container the runtime still has.
 */
static int list_id(const struct oci *o, int dir, const char *name, char id[ID_HEX_LEN + 1])
{
	if (dir == 1 ? !socket_link_id(o, name, id) : !id_is_hex(name, ID_HEX_LEN, ID_HEX_LEN))
		return 0;
	if (dir != 1)
		memcpy(id, name, ID_HEX_LEN + 1);
	return dir == 0 || !known(o, id);
}

/*
 * No `<runtime> list`: it prints every container's annotations (megabytes on a busy node) when
 * only IDs are needed.  The runtime's state directories <root>/<id>/ are its containers (see
 * known()); conmon's socket links <socket_dir>/<id> and exit files <exit_dir>/<id> whose container
 * the runtime no longer has are leftovers that delete clears (one container may leave both: listed
 * once).  Entries not named by an ID are not litecri's: skipped.
 */
static int oci_list(void *impl, char ***ids, size_t *n, struct lc_err *err)
{
	struct oci *o = impl;
	*ids = NULL;
	*n = 0;
	char **v = NULL;
	size_t k = 0, cap = 0, leftovers = 0; /* v[leftovers..k): leftovers */
	const char *dirs[] = { o->root, o->socket_dir, o->exit_dir };
	for (int i = 0; i < 3; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d) {
			if (errno == ENOENT)
				continue;
			int e = errno;
			free_strv(v, k);
			return lc_fail(err, e, "%s list: read %s", o->name, dirs[i]);
		}
		struct dirent *de;
		char id[ID_HEX_LEN + 1];
		while ((errno = 0, de = readdir(d))) {
			if (!list_id(o, i, de->d_name, id))
				continue;
			int dup = 0;
			for (size_t j = leftovers; j < k && !dup; j++)
				dup = !strcmp(v[j], id);
			if (dup)
				continue;
			if (k == cap) {
				size_t c = cap ? 2 * cap : 64;
				char **nv = realloc(v, c * sizeof *v);
				if (!nv)
					break;
				v = nv;
				cap = c;
			}
			if (!(v[k] = strdup(id)))
				break;
			k++;
		}
		int e = errno;
		closedir(d);
		if (e) {
			free_strv(v, k);
			return lc_fail(err, e, "%s list: read %s", o->name, dirs[i]);
		}
		if (i == 0)
			leftovers = k;
	}
	*ids = v;
	*n = k;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/*
 * Reopen: conmon (ctl FIFO message "2 0 0\n") opens "<log>.tmp" and renames it to <log>.  Done
 * when a file other than the one there before sits at <log>; conmon exiting first ends the wait.
 */
static int oci_reopen_log(void *impl, const char *id, const char *bundle, struct lc_err *err)
{
	(void)impl;
	char ctl[PATH_MAX];
	if (snprintf(ctl, sizeof ctl, "%s/ctl", bundle) >= (int)sizeof ctl)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	cleanup_close int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENXIO)
			return lc_failc(err, ESRCH,
					"reopen the log of container %s: it is not running (its conmon is gone)", id);
		return lc_fail(err, e, "reopen the log of container %s: open %s", id, ctl);
	}

	/* Which file conmon writes: its -l argument. */
	char log[PATH_MAX];
	pid_t cp = conmon_pid(bundle);
	int has = cp > 0 ? conmon_log_file(cp, log, sizeof log) : -1;
	if (has < 0)
		return lc_failc(err, ESRCH, "reopen the log of container %s: its conmon is not running", id);
	if (has > 0) {
		log_debug("reopen the log of container %s: it has none", id);
		return 0;
	}

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", log);
	cleanup_close int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0)
		return lc_fail(err, errno, "inotify for the log of container %s", id);
	if (inotify_add_watch(ifd, dirname(dir), IN_CREATE | IN_MOVED_TO) < 0)
		return lc_fail(err, errno, "watch %s for the log of container %s", dir, id);
	cleanup_close int pfd = (int)syscall(SYS_pidfd_open, cp, 0);
	if (pfd < 0)
		return lc_fail(err, errno, "pidfd of conmon %d of container %s", (int)cp, id);
	struct stat before;
	int had = stat(log, &before) == 0;

	static const char msg[] = "2 0 0\n";
	ssize_t w;
	do
		w = write(fd, msg, sizeof msg - 1);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof msg - 1)
		return lc_fail(err, w < 0 ? errno : EIO, "reopen the log of container %s: write %s", id, ctl);

	int64_t deadline = metrics_now_us() + (int64_t)REOPEN_TIMEOUT_MS * 1000;
	for (;;) {
		struct stat now;
		if (stat(log, &now) == 0 && (!had || now.st_ino != before.st_ino || now.st_dev != before.st_dev))
			break;
		int64_t left = (deadline - metrics_now_us()) / 1000;
		if (left <= 0)
			return lc_fail(err, ETIMEDOUT, "conmon of container %s did not reopen %s within %d ms", id, log,
				       REOPEN_TIMEOUT_MS);
		struct pollfd pf[2] = { { .fd = ifd, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
		int n = poll(pf, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return lc_fail(err, errno, "wait for the new log of container %s", id);
		if (n > 0 && pf[0].revents) {
			char ev[4096];
			while (read(ifd, ev, sizeof ev) > 0)
				;
		}
		if (n > 0 && pf[1].revents && !pf[0].revents) {
			if (stat(log, &now) == 0 && (!had || now.st_ino != before.st_ino || now.st_dev != before.st_dev))
				break;
			return lc_failc(err, ESRCH, "reopen the log of container %s: its conmon exited", id);
		}
	}
	log_debug("conmon of container %s reopened %s", id, log);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------ */
/* exec and update                                                                            */

#define EXEC_DRAIN_MS 2000 /* output a background process of an exec'ed command keeps open */
#define EXEC_START_WAIT_MS 5000 /* a command still being started at its timeout: its pid file awaited */

void rt_exec_result_free(struct rt_exec_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->errout);
	memset(r, 0, sizeof *r);
}

/* At an exec's timeout or cancellation: SIGKILL the command and every process it started (its pid
 * file, written by the runtime once it started; conmon, still running at this point, is the
 * subreaper that waits for it, so the pid is still the command's) and wait until they have exited,
 * so that the call returns only once they are gone (SIGKILL alone is asynchronous, and a child of
 * the command would be re-parented to the container's init and run on).  A command whose pid file
 * has not come when conmon (conmon_pidfd) exits, or within EXEC_START_WAIT_MS, never started:
 * killing conmon (done next by proc_run, which reaps it) ends what is left. */
static void exec_timeout(void *arg, int conmon_pidfd)
{
	const char *pidfile = arg;
	pid_t p = proc_pidfile(pidfile);
	/* No pid file yet: the runtime is still starting the command (seen under load: `runc exec`
	 * past a 1 s timeout).  Killing conmon alone would leave runc to start it anyway, orphaned in
	 * the container; so wait for the pid file and kill what it names.  Only while conmon runs:
	 * it waits for `runc exec`, the pid file's writer, so once conmon has exited the pid file is
	 * there or never comes (the command did not start). */
	int64_t until = metrics_now_us() + (int64_t)EXEC_START_WAIT_MS * 1000;
	while (p <= 0 && access(pidfile, F_OK) != 0 && metrics_now_us() < until) {
		struct pollfd pf = { .fd = conmon_pidfd, .events = POLLIN };
		if (poll(&pf, 1, 5) > 0)
			break;
	}
	if (p <= 0)
		p = proc_pidfile(pidfile);
	if (p > 0 && !proc_kill_tree(p, CONMON_KILL_WAIT_MS))
		log_warn("exec command %d or one of its children outlived SIGKILL for %d ms", (int)p,
			 CONMON_KILL_WAIT_MS);
}

/* The process of the bundle's config.json with args replaced and a terminal or none, written to path. */
static int exec_process(const struct rt_exec *x, int tty, const char *path, struct lc_err *err)
{
	json_t *spec;
	struct lc_err e;
	if (spec_load(x->bundle, &spec, &e) < 0)
		return lc_failc(err, EIO, "exec in container %s: %s", x->id, e.msg);
	json_t *proc = json_object_get(spec, "process");
	json_t *args = json_array();
	int rc = 0;
	if (!json_is_object(proc) || !args) {
		rc = lc_fail(err, EIO, "exec in container %s: its config.json has no process", x->id);
		goto out;
	}
	for (size_t i = 0; i < x->n_args; i++)
		if (json_array_append_new(args, json_string(x->args[i])) < 0) {
			rc = lc_fail(err, EINVAL, "exec in container %s: argument %zu is not UTF-8", x->id, i);
			goto out;
		}
	if (json_object_set(proc, "args", args) < 0 || json_object_set_new(proc, "terminal", json_boolean(tty)) < 0) {
		rc = lc_fail(err, ENOMEM, "exec in container %s: process", x->id);
		goto out;
	}
	json_object_del(proc, "consoleSize");
	if (json_dump_file(proc, path, JSON_COMPACT) < 0)
		rc = lc_fail(err, EIO, "exec in container %s: write %s", x->id, path);
out:
	json_decref(args);
	json_decref(spec);
	return rc;
}

/* The "data" of the first and second JSON lines conmon wrote to its sync file: the command's pid
 * (none when it never started) and its exit status. */
static void exec_sync_read(int fd, long long *pid, long long *status)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	*pid = *status = -1;
	int i = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && i < 2; l = strtok_r(NULL, "\n", &save), i++) {
		json_t *j = json_loads(l, 0, NULL);
		json_t *d = j ? json_object_get(j, "data") : NULL;
		if (json_is_integer(d))
			*(i == 0 ? pid : status) = json_integer_value(d);
		json_decref(j);
	}
}

/* A private directory for one exec in x's bundle, <bundle>/exec-XXXXXX, into dir (PATH_MAX). */
static int exec_dir_make(const struct rt_exec *x, char *dir, struct lc_err *err)
{
	if (snprintf(dir, PATH_MAX, "%s/exec-XXXXXX", x->bundle) >= PATH_MAX - 32)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", x->bundle);
	if (!mkdtemp(dir))
		return lc_fail(err, errno, "exec in container %s: create %s", x->id, dir);
	return 0;
}

static void exec_dir_remove(const char *id, const char *dir)
{
	struct lc_err e = { 0 };
	if (rmtree(dir, &e) < 0)
		log_warn("exec in container %s: %s", id, e.msg);
}

/*
 * Why a command the runtime was asked to exec in container id did not start (msg: the runtime's
 * words): ENOENT the container does not exist, ESRCH it is not running, else ENOEXEC (the command
 * itself: not found, not executable).  Sets *err and returns that errnum.
 */
static int exec_not_started(struct oci *o, const char *id, const char *msg, struct lc_err *err)
{
	enum rt_state st = RT_RUNNING;
	pid_t p;
	struct lc_err e2;
	if (!known(o, id) || strstr(msg, "does not exist"))
		lc_failc(err, ENOENT, "%s exec %s: container does not exist", o->name, id);
	else if (strstr(msg, "stopped container") || strstr(msg, "not running") || strstr(msg, "created container") ||
		 (oci_state(o, id, &st, &p, &e2) == 0 && st != RT_RUNNING))
		lc_failc(err, ESRCH, "%s exec %s: container not running: %s", o->name, id, msg);
	else
		lc_failc(err, ENOEXEC, "%s exec %s: %s", o->name, id, msg);
	return err->errnum;
}

/*
 * conmon in exec mode (`-e --sync`, logs "passthrough"): it runs `<runtime> exec -d --pid-file`,
 * is the subreaper that waits for the command, writes the command's pid and then its exit status
 * to the sync file (fd 3) and exits with that status.  The command's stdout and stderr are
 * conmon's own: the pipes proc_run reads.  A background process the command leaves holding them
 * delays the answer by EXEC_DRAIN_MS at most.  Everything lives in a private directory
 * <bundle>/exec-XXXXXX (process.json, pid, sync, exits/, and conmon's cwd so that an "oom" marker
 * of the exec never lands in the bundle), removed afterwards.
 */
static int oci_exec(void *impl, const struct rt_exec *x, struct rt_exec_result *res, struct lc_err *err)
{
	struct oci *o = impl;
	memset(res, 0, sizeof *res);
	assert(x->n_args >= 1);
	if (!id_is_hex(x->id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container id \"%s\" is not 64 hex digits", x->id);
	if (!known(o, x->id))
		return lc_failc(err, ENOENT, "%s exec %s: container does not exist", o->name, x->id);
	char dir[PATH_MAX];
	if (exec_dir_make(x, dir, err) < 0)
		return -1;
	char proc_path[PATH_MAX + 16], pidfile[PATH_MAX + 16], syncfile[PATH_MAX + 16], exits[PATH_MAX + 16],
		root_arg[PATH_MAX + 16];
	snprintf(proc_path, sizeof proc_path, "%s/process.json", dir);
	snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
	snprintf(syncfile, sizeof syncfile, "%s/sync", dir);
	snprintf(exits, sizeof exits, "%s/exits", dir);
	snprintf(root_arg, sizeof root_arg, "--root=%s", o->root);
	const char *uuid = strrchr(dir, '/') + 1; /* "exec-XXXXXX": unique while it runs */
	struct proc_result r = { 0 };
	int rc = exec_process(x, 0, proc_path, err);
	int sync_fd = -1;
	if (rc == 0 && mkdir(exits, 0700) < 0)
		rc = lc_fail(err, errno, "exec in container %s: create %s", x->id, exits);
	if (rc == 0 && (sync_fd = open(syncfile, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		rc = lc_fail(err, errno, "exec in container %s: create %s", x->id, syncfile);
	if (rc == 0) {
		const char *argv[] = {
			o->conmon_path, "--api-version", "1", "-c", x->id, "-n", x->id, "-u", uuid,
			"-r", o->runtime_path, "-b", x->bundle, "-p", pidfile, "--exit-dir", exits,
			"-e", "--exec-process-spec", proc_path, "--sync", "--log-path", "passthrough:",
			"--socket-dir-path", o->socket_dir,
			"--runtime-arg", root_arg, "--runtime-arg", "--log-format=json",
			/* conmon's stderr is the command's: only its errors may join it */
			"--log-level", "error", NULL,
		};
		struct proc_opts po = {
			.env = (const char *const *)o->conmon_env,
			.keep_fds = &sync_fd,
			.n_keep_fds = 1,
			.timeout_ms = x->timeout_ms,
			.cancel_fd = x->cancel_fd,
			.on_timeout = exec_timeout,
			.on_timeout_arg = pidfile,
			.out_max = x->out_max,
			.drain_ms = EXEC_DRAIN_MS,
			.cwd = dir,
		};
		int64_t t0 = metrics_now_us();
		rc = proc_run(argv, &po, &r, err);
		metrics_observe(MOP_EXEC, metrics_now_us() - t0, rc == 0);
		if (rc < 0 && err->errnum == ETIMEDOUT)
			lc_fail(err, ETIMEDOUT, "the command run in container %s did not finish within %d ms (killed)",
				x->id, x->timeout_ms);
		else if (rc < 0 && err->errnum == ECANCELED)
			lc_fail(err, ECANCELED, "the command run in container %s was killed: its caller has gone", x->id);
		else if (rc < 0)
			lc_wrap(err, "conmon exec in %s", x->id);
		else
			log_debug("%s exec %s: exit status %d in %.1f ms", o->name, x->id, r.status,
				  (double)(metrics_now_us() - t0) / 1000.0);
	}
	if (rc == 0) {
		long long pid, status;
		exec_sync_read(sync_fd, &pid, &status);
		if (pid > 0 && status >= 0) {
			res->exit_code = status > 255 ? 255 : (int)status;
			res->out = r.out;
			res->errout = r.errout;
			res->out_len = r.out_len;
			res->errout_len = r.errout_len;
			res->out_dropped = r.out_dropped;
			res->errout_dropped = r.errout_dropped;
			r.out = r.errout = NULL;
		} else {
			/* The command never started: the runtime's reason is on stderr (JSON log lines). */
			char msg[800];
			runtime_msg(r.errout, msg, sizeof msg);
			if (!msg[0])
				snprintf(msg, sizeof msg, "conmon exited with status %d", r.status);
			if (exec_not_started(o, x->id, msg, err) == ENOEXEC) {
				/* 127 / 126 as a shell reports a command it cannot run */
				res->exit_code = strstr(msg, "no such file") || strstr(msg, "not found") ? 127 : 126;
				res->errout = strdup(msg);
				res->out = strdup("");
				res->errout_len = strlen(msg);
				if (!res->errout || !res->out) {
					rt_exec_result_free(res);
					lc_fail(err, ENOMEM, "exec in container %s", x->id);
				}
			}
			rc = -1;
		}
	}
	if (sync_fd >= 0)
		close(sync_fd);
	proc_result_free(&r);
	socket_link_remove(o, uuid);
	exec_dir_remove(x->id, dir);
	return rc;
}

/*
 * Hugepage limits: `runc update` (1.1) does not take them, so they are written to the container's
 * hugetlb cgroup files here: cgroup v1 "hugetlb.<size>.limit_in_bytes" in its hugetlb hierarchy,
 * or cgroup v2 "hugetlb.<size>.max".  The container's cgroups are those of its init process.  A
 * host without a hugetlb controller for the container has nothing to enforce them with: logged.
 */
static int update_hugetlb(struct oci *o, const char *id, json_t *limits, struct lc_err *err)
{
	if (!json_array_size(limits))
		return 0;
	/* `runtime update` just succeeded, so the container runs: its init pid, from runc's state file
	 * when there is one (no second runtime process on kubelet's every update), else from `state` */
	pid_t pid = state_init_pid(o, id);
	enum rt_state st = RT_RUNNING;
	if (pid <= 1 && oci_state(o, id, &st, &pid, err) < 0)
		return -1;
	if (pid <= 0 || (st != RT_RUNNING && st != RT_CREATED && st != RT_PAUSED))
		return lc_failc(err, ESRCH, "update %s: container not running", id);
	char v1[PATH_MAX], v2[PATH_MAX];
	if (cgroup_proc_dirs(pid, "hugetlb", v1, v2, err) < 0)
		return lc_wrap(err, "update %s", id);
	for (size_t i = 0; i < json_array_size(limits); i++) {
		json_t *h = json_array_get(limits, i);
		const char *size = json_string_value(json_object_get(h, "pageSize"));
		json_int_t limit = json_integer_value(json_object_get(h, "limit"));
		if (!size)
			continue;
		int rc = cgroup_hugetlb_set(v1, v2, size, (long long)limit, err);
		if (rc < 0)
			return lc_wrap(err, "update %s", id);
		/* kubelet sends a 0 limit for every page size the node has: only a real one is news */
		if (rc > 0 && limit > 0)
			log_warn("container %s: hugepage limit %s = %lld not applied: the host has no hugetlb "
				 "controller for it", id, size, (long long)limit);
		else if (rc > 0)
			log_debug("container %s: hugepage limit %s = 0 not applied: no hugetlb controller", id, size);
	}
	return 0;
}

/* `<runtime> update --resources <bundle>/resources.json <id>`, then the hugepage limits. */
static int oci_update(void *impl, const char *id, const char *bundle, const char *resources_json, struct lc_err *err)
{
	struct oci *o = impl;
	if (!id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container id \"%s\" is not 64 hex digits", id);
	if (!known(o, id))
		return lc_failc(err, ENOENT, "%s update %s: container does not exist", o->name, id);
	json_error_t jerr;
	json_auto_t *res = json_loads(resources_json, 0, &jerr);
	if (!json_is_object(res))
		return lc_fail(err, EINVAL, "update %s: resources are not a JSON object", id);
	/* `runtime update` takes all but the hugepage limits */
	json_auto_t *cg = json_copy(res);
	if (!cg)
		return lc_fail(err, ENOMEM, "update %s", id);
	json_object_del(cg, "hugepageLimits");
	char path[PATH_MAX];
	int rc = 0;
	if (snprintf(path, sizeof path, "%s/resources.json", bundle) >= (int)sizeof path)
		rc = lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	else if (json_dump_file(cg, path, JSON_COMPACT) < 0)
		rc = lc_fail(err, EIO, "update %s: write %s", id, path);
	if (rc == 0) {
		const char *args[] = { "update", "--resources", path, id, NULL };
		struct proc_result r = { 0 };
		rc = rt_run(o, id, args, &r, err);
		if (rc == 0) {
			if (r.status != 0) {
				int errnum = !known(o, id) ? ENOENT : strstr(r.errout, "not running") ? ESRCH : EIO;
				rc = rt_fail(o, errnum, "update", id, &r, err);
			}
			proc_result_free(&r);
		}
		unlink(path);
	}
	if (rc == 0)
		rc = update_hugetlb(o, id, json_object_get(res, "hugepageLimits"), err);
	if (rc < 0)
		return -1;
	/* config.json follows (what read_spec and exec see); the cgroup is what counts: only logged */
	struct lc_err e2 = { 0 };
	json_auto_t *spec = NULL;
	int ok = spec_load(bundle, &spec, &e2) == 0;
	json_t *lres = ok ? json_object_get(json_object_get(spec, "linux"), "resources") : NULL;
	if (ok && !json_is_object(lres))
		ok = lc_failc(&e2, EIO, "it has no linux.resources") == 0;
	if (ok && (json_object_update(lres, res) < 0 || spec_save(bundle, spec, &e2) < 0))
		ok = 0;
	if (!ok)
		log_warn("container %s: config.json not updated with its new resources%s%s", id, e2.msg[0] ? ": " : "",
			 e2.msg);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* interactive sessions: exec_start, attach                                                   */

#define EXEC_START_TIMEOUT_MS RUNTIME_TIMEOUT_MS /* `runtime exec` until the command runs */
#define ATTACH_EXIT_WAIT_MS 10000                /* conmon's exit file after the attach socket closed */

struct rt_session {
	struct attach *att; /* attach: the relay; NULL for an exec */
	/* exec: `<runtime> exec` in the foreground, the command's parent, which exits with its status */
	pid_t runtime;
	int runtime_pidfd;
	int reaped, code;
	int master;         /* a terminal's master side (resize), else -1 */
	char dir[PATH_MAX]; /* the exec's private directory (process.json, pid, log) */
	/* attach */
	char id[ID_HEX_LEN + 1];
	char bundle[PATH_MAX];
	int tty;
};

/* A new pseudo-terminal: *master (non-blocking off) and *slave, both close-on-exec. */
static int pty_open(int *master, int *slave, struct lc_err *err)
{
	char name[64];
	*master = *slave = -1;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return lc_fail(err, errno, "exec: open a pseudo-terminal");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
		int e = errno;
		close(m);
		return lc_fail(err, e, "exec: set up a pseudo-terminal");
	}
	int sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sl < 0) {
		int e = errno;
		close(m);
		return lc_fail(err, e, "exec: open %s", name);
	}
	*master = m;
	*slave = sl;
	return 0;
}

/* Is there a file at dir/name? */
static int dir_has(const char *dir, const char *name)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/*
 * Wait until the runtime has written the pid file into s->dir (the command runs: 1) or has exited
 * without (0, reaped, s->code its status), at most EXEC_START_TIMEOUT_MS (-1 ETIMEDOUT).
 */
static int exec_wait_started(struct rt_session *s, struct lc_err *err)
{
	cleanup_close int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0 || inotify_add_watch(ifd, s->dir, IN_CREATE | IN_MOVED_TO) < 0)
		return lc_fail(err, errno, "exec: watch %s", s->dir);
	int64_t deadline = metrics_now_us() + (int64_t)EXEC_START_TIMEOUT_MS * 1000;
	for (;;) {
		if (dir_has(s->dir, "pid"))
			return 1;
		struct pollfd pf[2] = { { .fd = ifd, .events = POLLIN }, { .fd = s->runtime_pidfd, .events = POLLIN } };
		int64_t left = (deadline - metrics_now_us()) / 1000;
		if (left <= 0)
			return lc_fail(err, ETIMEDOUT, "exec: the runtime did not start the command within %d ms",
				       EXEC_START_TIMEOUT_MS);
		if (poll(pf, 2, (int)left) < 0 && errno != EINTR)
			return lc_fail(err, errno, "exec: wait for the command to start");
		if (pf[0].revents) {
			char ev[4096];
			while (read(ifd, ev, sizeof ev) > 0)
				;
		}
		if (pf[1].revents) {
			if (dir_has(s->dir, "pid"))
				return 1; /* started, and already done */
			s->code = proc_reap(s->runtime);
			s->reaped = 1;
			return 0;
		}
	}
}

/* Kill the runtime process of an exec (SIGKILL through its pidfd) and reap it. */
static void exec_runtime_end(struct rt_session *s, int timeout_ms)
{
	if (s->reaped)
		return;
	if (!proc_wait_gone(s->runtime_pidfd, s->runtime, timeout_ms))
		syscall(SYS_pidfd_send_signal, s->runtime_pidfd, SIGKILL, NULL, 0);
	s->code = proc_reap(s->runtime);
	s->reaped = 1;
}

static void session_free(struct rt_session *s)
{
	if (!s)
		return;
	if (s->runtime_pidfd >= 0)
		close(s->runtime_pidfd);
	if (s->master >= 0)
		close(s->master);
	if (s->dir[0])
		exec_dir_remove(s->id, s->dir);
	attach_close(s->att);
	free(s);
}

static struct rt_session *session_new(const char *id, const char *bundle, int tty, struct lc_err *err)
{
	struct rt_session *s = calloc(1, sizeof *s);
	if (!s) {
		lc_fail(err, ENOMEM, "session of container %s", id);
		return NULL;
	}
	s->runtime_pidfd = s->master = -1;
	s->tty = tty;
	snprintf(s->id, sizeof s->id, "%s", id);
	if (snprintf(s->bundle, sizeof s->bundle, "%s", bundle) >= (int)sizeof s->bundle) {
		lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
		free(s);
		return NULL;
	}
	return s;
}

/*
 * `<runtime> exec --process <dir>/process.json --pid-file <dir>/pid <id>` in the foreground, run
 * by the daemon: the runtime is the command's parent, forwards signals to it and exits with its
 * status, so the session's wait is a waitpid of the runtime.  Without a terminal the command gets
 * the daemon's pipes (or /dev/null) as its stdio, nothing copies its bytes.  With one, the
 * runtime's stdio is the slave side of a pseudo-terminal the daemon opens (runc sets it raw and
 * copies between it and the container's terminal); a resize sets the size on the master side
 * and sends the runtime SIGWINCH, on which runc resizes the container's terminal to it.  The
 * runtime's own errors go to <dir>/log (--log), not to the session's stderr.
 */
static int oci_exec_start(void *impl, const struct rt_exec *x, const struct rt_stdio *io, struct rt_session **out,
			  int fds[3], struct lc_err *err)
{
	struct oci *o = impl;
	*out = NULL;
	fds[0] = fds[1] = fds[2] = -1;
	assert(x->n_args >= 1);
	if (!id_is_hex(x->id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container id \"%s\" is not 64 hex digits", x->id);
	if (io->tty && !io->out)
		return lc_fail(err, EINVAL, "exec in container %s: a terminal needs stdout", x->id);
	if (!known(o, x->id))
		return lc_failc(err, ENOENT, "%s exec %s: container does not exist", o->name, x->id);
	struct rt_session *s = session_new(x->id, x->bundle, io->tty, err);
	if (!s)
		return -1;
	int child[3] = { -1, -1, -1 }, rc = 0;
	cleanup_close int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	char proc_path[PATH_MAX + 16], pidfile[PATH_MAX + 16], logfile[PATH_MAX + 16], root_arg[PATH_MAX + 16],
		log_arg[PATH_MAX + 32];
	if (devnull < 0)
		rc = lc_fail(err, errno, "open /dev/null");
	else if (exec_dir_make(x, s->dir, err) < 0)
		rc = -1;
	if (rc == 0) {
		snprintf(proc_path, sizeof proc_path, "%s/process.json", s->dir);
		snprintf(pidfile, sizeof pidfile, "%s/pid", s->dir);
		snprintf(logfile, sizeof logfile, "%s/log", s->dir);
		snprintf(root_arg, sizeof root_arg, "--root=%s", o->root);
		snprintf(log_arg, sizeof log_arg, "--log=%s", logfile);
		rc = exec_process(x, io->tty, proc_path, err);
	}
	if (rc == 0 && io->tty) {
		int slave;
		rc = pty_open(&s->master, &slave, err);
		child[0] = slave;
		if (rc == 0 && ((fds[1] = fcntl(s->master, F_DUPFD_CLOEXEC, 0)) < 0 ||
				(io->in && (fds[0] = fcntl(s->master, F_DUPFD_CLOEXEC, 0)) < 0)))
			rc = lc_fail(err, errno, "exec: dup the terminal");
		if (rc == 0 && ((child[1] = fcntl(slave, F_DUPFD_CLOEXEC, 0)) < 0 ||
				(child[2] = fcntl(slave, F_DUPFD_CLOEXEC, 0)) < 0))
			rc = lc_fail(err, errno, "exec: dup the terminal");
	} else if (rc == 0) {
		const int want[3] = { io->in, io->out, io->err };
		for (int i = 0; i < 3 && rc == 0; i++) {
			int p[2];
			if (!want[i]) {
				if ((child[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 0)) < 0)
					rc = lc_fail(err, errno, "exec: dup /dev/null");
				continue;
			}
			if (pipe2(p, O_CLOEXEC) < 0) {
				rc = lc_fail(err, errno, "exec: pipe");
				break;
			}
			child[i] = p[i == 0 ? 0 : 1];
			fds[i] = p[i == 0 ? 1 : 0];
		}
	}
	if (rc == 0) {
		const char *argv[] = { o->runtime_path, root_arg, "--log-format=json", log_arg, "exec", "--process",
				       proc_path, "--pid-file", pidfile, x->id, NULL };
		struct proc_opts po = { .env = (const char *const *)o->env };
		rc = proc_spawn(argv, &po, child, &s->runtime, &s->runtime_pidfd, err);
		if (rc < 0)
			lc_wrap(err, "exec in container %s", x->id);
	}
	for (int i = 0; i < 3; i++)
		if (child[i] >= 0)
			close(child[i]);
	int started = rc == 0 ? exec_wait_started(s, err) : -1;
	if (started == 0) {
		char text[8192], msg[800];
		ssize_t n = read_small(s->dir, "log", text, sizeof text);
		runtime_msg(n > 0 ? text : "", msg, sizeof msg);
		if (!msg[0])
			snprintf(msg, sizeof msg, "%s exec exited with status %d", o->name, s->code);
		exec_not_started(o, x->id, msg, err);
	}
	if (started <= 0) {
		if (s->runtime > 0)
			exec_runtime_end(s, 0);
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		fds[0] = fds[1] = fds[2] = -1;
		session_free(s);
		return -1;
	}
	log_debug("%s exec %s: %s started (runtime pid %d)%s", o->name, x->id, x->args[0], (int)s->runtime,
		  io->tty ? " with a terminal" : "");
	*out = s;
	return 0;
}

/*
 * conmon's attach socket <bundle>/attach, reached through /proc/self/fd/<bundle's fd>/ as conmon
 * binds it (so the bundle's path length does not matter); the relay is attach.c's.
 */
static int oci_attach(void *impl, const char *id, const char *bundle, const struct rt_stdio *io,
		      struct rt_session **out, int fds[3], struct lc_err *err)
{
	struct oci *o = impl;
	*out = NULL;
	fds[0] = fds[1] = fds[2] = -1;
	if (!id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "container id \"%s\" is not 64 hex digits", id);
	if (!known(o, id))
		return lc_failc(err, ENOENT, "attach to %s: container does not exist", id);
	cleanup_close int dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return lc_fail(err, errno, "attach to %s: open %s", id, bundle);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d/attach", dfd);
	struct rt_session *s = session_new(id, bundle, io->tty, err);
	if (!s)
		return -1;
	if (attach_open(path, io, &s->att, fds, err) < 0) {
		session_free(s);
		if (err->errnum == ENOENT || err->errnum == ECONNREFUSED)
			return lc_failc(err, ESRCH, "attach to %s: container not running (its conmon is gone)", id);
		return lc_wrap(err, "attach to %s", id);
	}
	log_debug("attached to container %s%s", id, io->tty ? " (terminal)" : "");
	*out = s;
	return 0;
}

/*
 * An exec's terminal: its size set on the master side, then SIGWINCH to the runtime, which copies
 * it to the container's terminal.  An attachment's: conmon's control FIFO, "1 <height> <width>\n".
 */
static int oci_session_resize(void *impl, struct rt_session *s, unsigned width, unsigned height, struct lc_err *err)
{
	(void)impl;
	if (!s->tty)
		return lc_failc(err, EINVAL, "resize a session of container %s: it has no terminal", s->id);
	if (width > 65535 || height > 65535)
		return lc_failc(err, EINVAL, "resize a session of container %s: %ux%u is too large", s->id, width, height);
	if (!s->att) {
		struct winsize ws = { .ws_row = (unsigned short)height, .ws_col = (unsigned short)width };
		if (ioctl(s->master, TIOCSWINSZ, &ws) < 0)
			return lc_fail(err, errno, "resize the terminal of an exec in container %s", s->id);
		if (!s->reaped && syscall(SYS_pidfd_send_signal, s->runtime_pidfd, SIGWINCH, NULL, 0) < 0 &&
		    errno != ESRCH)
			return lc_fail(err, errno, "resize the terminal of an exec in container %s: signal %s", s->id,
				       "the runtime");
		return 0;
	}
	char ctl[PATH_MAX + 8], msg[64];
	snprintf(ctl, sizeof ctl, "%s/ctl", s->bundle);
	cleanup_close int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return lc_failc(err, errno == ENXIO ? ESRCH : errno, "resize the terminal of container %s: open %s: %s",
				s->id, ctl, strerror(errno));
	int n = snprintf(msg, sizeof msg, "1 %u %u\n", height, width);
	ssize_t w;
	do
		w = write(fd, msg, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n)
		return lc_fail(err, w < 0 ? errno : EIO, "resize the terminal of container %s: write %s", s->id, ctl);
	return 0;
}

static int oci_session_wait(void *impl, struct rt_session *s, int *exit_code, struct lc_err *err)
{
	struct oci *o = impl;
	if (!s->att) {
		if (!s->reaped) {
			s->code = proc_reap(s->runtime);
			s->reaped = 1;
		}
		if (s->code < 0)
			return lc_fail(err, ECHILD, "exec in container %s: wait for the runtime", s->id);
		*exit_code = s->code;
		return 0;
	}
	/* conmon closed the socket, then writes the exit files: the one in exit_dir (which a delete
	 * after the exit is recorded removes, maybe before this reads it) and the bundle's */
	int64_t deadline = metrics_now_us() + (int64_t)ATTACH_EXIT_WAIT_MS * 1000;
	char kept[PATH_MAX];
	if (snprintf(kept, sizeof kept, "%s/exit", s->bundle) >= (int)sizeof kept)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", s->bundle);
	for (;;) {
		int64_t at;
		int gone = conmon_pid(s->bundle) == 0;
		if (exit_file_read(o->exit_dir, s->id, exit_code, &at, err) == 0 ||
		    (err->errnum == ENOENT && exit_path_read(kept, exit_code, &at, err) == 0))
			return 0;
		if (err->errnum != ENOENT)
			return -1;
		if (gone)
			return lc_failc(err, EIO, "container %s: its conmon has gone without recording the exit", s->id);
		if (metrics_now_us() > deadline)
			return lc_failc(err, ETIMEDOUT, "container %s: no exit recorded within %d ms", s->id,
					ATTACH_EXIT_WAIT_MS);
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* An exec's command still running: killed with its tree (proc_kill_tree, from its pid file, which
 * proc_pidfile guards against a reused pid: once the command is reaped there is nothing to kill).
 * Reads only what never changes in s, so a session_wait may run meanwhile. */
static void oci_session_kill(void *impl, struct rt_session *s)
{
	(void)impl;
	if (!s || s->att)
		return;
	char pidfile[PATH_MAX + 16];
	snprintf(pidfile, sizeof pidfile, "%s/pid", s->dir);
	pid_t p = proc_pidfile(pidfile);
	if (p <= 0)
		return;
	if (!proc_kill_tree(p, CONMON_KILL_WAIT_MS))
		log_warn("exec in container %s: command %d or one of its children outlived SIGKILL for %d ms", s->id,
			 (int)p, CONMON_KILL_WAIT_MS);
	else
		log_debug("exec in container %s: command %d killed at the end of its session", s->id, (int)p);
}

/* The command killed (oci_session_kill) unless it ended, then the runtime reaped. */
static void oci_session_close(void *impl, struct rt_session *s)
{
	if (!s)
		return;
	if (!s->att && !s->reaped) {
		oci_session_kill(impl, s);
		exec_runtime_end(s, CONMON_KILL_WAIT_MS);
	}
	session_free(s);
}

static void oci_close(void *impl)
{
	struct oci *o = impl;
	if (!o)
		return;
	exits_stop(o->exits);
	free(o->runtime_path);
	free(o->conmon_path);
	free(o->root);
	free(o->exit_dir);
	free(o->socket_dir);
	free(o->name);
	if (o->env)
		for (char **e = o->env; *e; e++)
			free(*e);
	free(o->env);
	free(o->conmon_env); /* shares env's strings but its last one */
	free(o);
}

static const struct runtime_ops oci_ops = {
	.create = oci_create,
	.start = oci_start,
	.kill = oci_kill,
	.delete = oci_delete,
	.state = oci_state,
	.list = oci_list,
	.reopen_log = oci_reopen_log,
	.exec = oci_exec,
	.update = oci_update,
	.read_spec = oci_read_spec,
	.monitor_alive = oci_monitor_alive,
	.exit_status = oci_exit_status,
	.watch_exits = oci_watch_exits,
	.exec_start = oci_exec_start,
	.attach = oci_attach,
	.session_resize = oci_session_resize,
	.session_wait = oci_session_wait,
	.session_kill = oci_session_kill,
	.session_close = oci_session_close,
	.close = oci_close,
};

/* Variables that would make runc or conmon do something else than asked (sd_notify, socket activation, pipes). */
static int env_dropped(const char *kv)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "_OCI_" };
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		if (!strncmp(kv, drop[i], strlen(drop[i])))
			return 1;
	return 0;
}

static int env_build(struct oci *o, struct lc_err *err)
{
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	o->env = calloc(n + 1, sizeof *o->env);
	o->conmon_env = calloc(n + 2, sizeof *o->conmon_env);
	if (!o->env || !o->conmon_env)
		return lc_fail(err, ENOMEM, "runtime environment");
	size_t k = 0;
	for (char **e = environ; e && *e; e++) {
		if (env_dropped(*e))
			continue;
		if (!(o->env[k] = strdup(*e)))
			return lc_fail(err, ENOMEM, "runtime environment");
		o->conmon_env[k] = o->env[k];
		k++;
	}
	o->conmon_env[k] = "_OCI_SYNCPIPE=3";
	return 0;
}

static int executable(const char *what, const char *path, struct lc_err *err)
{
	if (!path || path[0] != '/')
		return lc_fail(err, EINVAL, "%s path %s is not absolute", what, path ? path : "(none)");
	if (access(path, X_OK) < 0)
		return lc_fail(err, errno, "%s %s", what, path);
	return 0;
}

int runtime_oci_new(const struct rt_oci_config *c, struct runtime **out, struct lc_err *err)
{
	*out = NULL;
	if (executable("OCI runtime", c->runtime_path, err) < 0 || executable("conmon", c->conmon_path, err) < 0)
		return -1;
	const char *dirs[] = { c->root, c->exit_dir, c->socket_dir };
	for (size_t i = 0; i < 3; i++) {
		if (!dirs[i] || dirs[i][0] != '/')
			return lc_fail(err, EINVAL, "runtime directory %s is not absolute", dirs[i] ? dirs[i] : "(none)");
		if (mkdir_p(dirs[i], 0700, err) < 0)
			return -1;
	}
	struct oci *o = calloc(1, sizeof *o);
	struct runtime *rt = calloc(1, sizeof *rt);
	if (!o || !rt) {
		free(o);
		free(rt);
		return lc_fail(err, ENOMEM, "runtime");
	}
	const char *base = strrchr(c->runtime_path, '/') + 1;
	o->runtime_path = strdup(c->runtime_path);
	o->conmon_path = strdup(c->conmon_path);
	o->root = strdup(c->root);
	o->exit_dir = strdup(c->exit_dir);
	o->socket_dir = strdup(c->socket_dir);
	o->name = strdup(base);
	o->debug = c->debug;
	if (!o->runtime_path || !o->conmon_path || !o->root || !o->exit_dir || !o->socket_dir || !o->name) {
		oci_close(o);
		free(rt);
		return lc_fail(err, ENOMEM, "runtime");
	}
	if (env_build(o, err) < 0) {
		oci_close(o);
		free(rt);
		return -1;
	}
	rt->ops = &oci_ops;
	rt->impl = o;
	rt->name = o->name;
	log_debug("runtime %s (%s) with conmon %s, root %s, exits in %s", o->name, o->runtime_path, o->conmon_path,
		  o->root, o->exit_dir);
	*out = rt;
	return 0;
}

void runtime_free(struct runtime *rt)
{
	if (!rt)
		return;
	if (rt->ops && rt->ops->close)
		rt->ops->close(rt->impl);
	free(rt);
}
