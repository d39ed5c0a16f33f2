/* lifecycle.c — see lifecycle.h. */
#include "cri/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri/spec/spec.h"
#include "runtime/cgroup.h"
#include "runtime/exits.h"
#include "runtime/podns.h"
#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/proc.h"

int64_t lc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int lc_new_id(char id[POD_ID_BUF], struct lc_err *err)
{
	unsigned char b[32];
	size_t got = 0;
	while (got < sizeof b) {
		ssize_t r = getrandom(b + got, sizeof b - got, 0);
		if (r < 0 && errno != EINTR)
			return lc_fail(err, errno, "getrandom");
		if (r > 0)
			got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int lc_resolve(struct cri_env *env, struct cri_call *call, const char *rpc, int container, const char *ref,
	       char id[POD_ID_BUF], grpc_status_code *code)
{
	struct lc_err err = { 0 };
	if (!ref || !*ref) {
		*code = cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: %s is required", rpc,
				 container ? "container_id" : "pod_sandbox_id");
		return -1;
	}
	int rc = container ? store_container_resolve(env->store, ref, id, &err)
			   : store_sandbox_resolve(env->store, ref, id, &err);
	if (rc == 0)
		return 1;
	if (err.errnum == ENOENT)
		return 0;
	*code = cri_fail(call, cri_code(err.errnum), "%s: %s", rpc,
			 err.msg);
	return -1;
}

void *lc_verbose_info(struct cri_env *env, struct cri_call *call, enum lc_dir which, const char *id, json_t *info,
		      const ProtobufCMessageDescriptor *entry_desc, size_t *n)
{
	struct lc_err err = { 0 };
	char spec_path[PATH_MAX];
	*n = 0;
	if (info && lc_dir(env, which, id, "config.json", spec_path, sizeof spec_path, &err) == 0) {
		json_t *spec = json_load_file(spec_path, 0, NULL);
		if (spec)
			json_object_set_new(info, "runtimeSpec", spec);
	}
	struct cri_map_entry *e = cri_new(call, entry_desc);
	e->key = "info";
	e->value = cri_json(call, info);
	if (!e->value)
		return NULL;
	struct cri_map_entry **v = arena_alloc(call->arena, sizeof *v);
	v[0] = e;
	*n = 1;
	return v;
}

struct kv *lc_kvs(struct cri_call *call, void *const *entries, size_t n)
{
	struct kv *kv = arena_alloc(call->arena, (n + 1) * sizeof *kv);
	for (size_t i = 0; i < n; i++) {
		const struct cri_map_entry *e = entries[i];
		kv[i] = (struct kv){ e->key, e->value };
	}
	return kv;
}

int lc_dir(const struct cri_env *env, enum lc_dir which, const char *id, const char *sub, char *out, size_t n,
	   struct lc_err *err)
{
	/* IDs reach paths only after this check (and they come from database rows anyway). */
	if (strlen(id) != POD_ID_LEN || strspn(id, "0123456789abcdef") != POD_ID_LEN)
		return lc_fail(err, EINVAL, "\"%s\" is not an object ID", LC_Q(id));
	const char *base = which == DIR_CTR_ROOT || which == DIR_SB_ROOT ? env->cfg->root : env->cfg->state;
	const char *kind = which == DIR_CTR_ROOT || which == DIR_CTR_STATE ? "containers" : "sandboxes";
	int r = sub ? snprintf(out, n, "%s/%s/%s/%s", base, kind, id, sub) : snprintf(out, n, "%s/%s/%s", base, kind, id);
	if (r < 0 || (size_t)r >= n)
		return lc_fail(err, ENAMETOOLONG, "path of %s %s", kind, id);
	return 0;
}

/*
 * Did the cgroup OOM killer strike this container?  conmon's "oom" marker says so, but nothing
 * orders it before the exit file; a SIGKILLed container without the marker is checked against its
 * cgroup's own oom_kill counter too (the cgroup outlives the process until the runtime deletes it).
 */
static int container_oom(struct cri_env *env, const char *id, int exit_code)
{
	struct lc_err err = { 0 };
	char path[PATH_MAX];
	if (lc_dir(env, DIR_CTR_STATE, id, "oom", path, sizeof path, &err) == 0 && access(path, F_OK) == 0)
		return 1;
	if (exit_code != 128 + SIGKILL || lc_dir(env, DIR_CTR_STATE, id, "config.json", path, sizeof path, &err) < 0)
		return 0;
	json_t *spec = json_load_file(path, 0, NULL);
	const char *cg = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
	long n = cg ? cgroup_oom_kills(cg) : -1;
	json_decref(spec);
	return n > 0;
}

int lc_record_exit(struct cri_env *env, const char *id, int exit_code, int64_t finished_at, struct lc_err *err)
{
	struct lifecycle *lc = env->lc;
	struct lc_err local = { 0 };
	if (!err)
		err = &local;
	int is_oom = container_oom(env, id, exit_code);
	const char *reason = is_oom ? "OOMKilled" : exit_code == 0 ? "Completed" : "Error";
	int changed = 0;
	if (store_container_exited(env->store, id, exit_code, finished_at, reason, &changed, err) < 0) {
		/* no wake-up: a waiter would only find the same row and try again at once */
		log_error("container %s: exit %d not recorded: %s", id, exit_code, err->msg);
		return -1;
	}
	if (changed)
		log_info("container %s exited with code %d (%s)", id, exit_code, reason);
	if (!changed) {
		if (store_sandbox_infra_exited(env->store, id, finished_at, &changed, err) < 0) {
			log_error("sandbox %s: infra exit not recorded: %s", id, err->msg);
			return -1;
		}
		if (changed)
			log_info("sandbox %s: infra process exited with code %d: NOTREADY", id, exit_code);
	}
	pthread_mutex_lock(&lc->mu);
	lc->gen++;
	pthread_cond_broadcast(&lc->cv);
	pthread_mutex_unlock(&lc->mu);
	return 0;
}

static void on_exit_file(const char *id, int exit_code, int64_t finished_at, void *arg)
{
	lc_record_exit(arg, id, exit_code, finished_at, NULL);
}

int lc_wait(struct cri_env *env, int (*done)(struct cri_env *, const char *), const char *id, int64_t deadline)
{
	struct lifecycle *lc = env->lc;
	for (;;) {
		pthread_mutex_lock(&lc->mu);
		uint64_t seen = lc->gen;
		pthread_mutex_unlock(&lc->mu);
		if (done(env, id))
			return 0;
		int64_t now = lc_now();
		if (deadline && now >= deadline)
			return 1;
		int64_t until = now + 1000000000; /* re-check at least once a second */
		if (deadline && deadline < until)
			until = deadline;
		struct timespec ts = { .tv_sec = until / 1000000000, .tv_nsec = until % 1000000000 };
		pthread_mutex_lock(&lc->mu);
		while (lc->gen == seen)
			if (pthread_cond_timedwait(&lc->cv, &lc->mu, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&lc->mu);
	}
}

/*
 * A container counts as stopped when its row says so, is gone, or — should conmon's exit file never
 * come (conmon killed) — when the runtime no longer runs it and no exit file exists: then the exit
 * is recorded here with code 255 (unknown).  Waiting ends too when the runtime no longer runs it
 * but its exit cannot be recorded (the database refuses writes): stop_recorded reports that.
 */
static int container_gone(struct cri_env *env, const char *id)
{
	struct arena a;
	arena_init(&a);
	struct container_row r;
	struct lc_err err = { 0 };
	int gone;
	if (store_container_get(env->store, id, &a, &r, &err) < 0)
		gone = err.errnum == ENOENT;
	else
		gone = r.state == CTR_EXITED || (r.state == CTR_CREATED && !r.starting);
	arena_release(&a);
	if (gone)
		return 1;
	enum rt_state st;
	pid_t pid;
	if (rt_state(env->lc->rt, id, &st, &pid, &err) == 0 && (st == RT_STOPPED || st == RT_MISSING)) {
		int code;
		int64_t at;
		if (exit_file_read(env->lc->exit_dir, id, &code, &at, &err) == 0)
			return lc_record_exit(env, id, code, at, NULL) < 0; /* the watcher missed it */
		if (!lc_conmon_alive(env, id))
			return lc_record_lost_exit(env, id, NULL) < 0;
		/* else conmon is about to write the exit file */
	}
	return 0;
}

/*
 * After container_gone ended a wait: 0 if the container's exit is recorded (or it is gone or not
 * running); else the exit could not be recorded — tried once more here, -1 naming why if it fails.
 */
static int stop_recorded(struct cri_env *env, const char *id, struct lc_err *err)
{
	struct arena a;
	arena_init(&a);
	struct container_row r;
	int rc = store_container_get(env->store, id, &a, &r, err);
	int running = rc == 0 && (r.state == CTR_RUNNING || r.state == CTR_UNKNOWN);
	arena_release(&a);
	if (rc < 0)
		return err->errnum == ENOENT ? 0 : -1;
	if (!running)
		return 0;
	int code;
	int64_t at;
	struct lc_err e = { 0 };
	rc = exit_file_read(env->lc->exit_dir, id, &code, &at, &e) == 0 ? lc_record_exit(env, id, code, at, err)
									 : lc_record_lost_exit(env, id, err);
	return rc < 0 ? lc_wrap(err, "container %s stopped, but its exit could not be recorded", id) : 0;
}

int lc_conmon_alive(struct cri_env *env, const char *id)
{
	char path[PATH_MAX];
	struct lc_err err = { 0 };
	if (lc_dir(env, DIR_CTR_STATE, id, "conmon.pid", path, sizeof path, &err) < 0)
		return 0;
	if (access(path, F_OK) < 0 && lc_dir(env, DIR_SB_STATE, id, "conmon.pid", path, sizeof path, &err) < 0)
		return 0;
	return proc_pidfile(path) > 0; /* a zombie conmon has written its exit file */
}

int lc_record_lost_exit(struct cri_env *env, const char *id, struct lc_err *err)
{
	struct lc_err e = { 0 };
	int code;
	int64_t at;
	if (exit_file_read(env->lc->exit_dir, id, &code, &at, &e) == 0)
		return lc_record_exit(env, id, code, at, err);
	log_warn("%s: not running any more, and conmon is gone without leaving an exit code (host rebooted or "
		 "conmon killed): recording exit code 255", id);
	return lc_record_exit(env, id, 255, lc_now(), err);
}

/* How long StopContainer waits for a SIGKILLed container before it gives up. */
#define KILL_WAIT_NS (120LL * 1000000000)

int lc_container_stop(struct cri_env *env, const char *id, int64_t timeout, int64_t answer_by, struct lc_err *err)
{
	struct arena a;
	arena_init(&a);
	struct container_row r;
	int rc = store_container_get(env->store, id, &a, &r, err);
	int sig = rc == 0 ? r.stop_signal : 0, state = rc == 0 ? r.state : -1;
	arena_release(&a);
	if (rc < 0)
		return err->errnum == ENOENT ? 0 : -1;
	if (state != CTR_RUNNING && state != CTR_UNKNOWN)
		return 0;
	struct runtime *rt = env->lc->rt;
	if (timeout > 0) {
		log_info("container %s: stopping with signal %d, %lld s before SIGKILL", id, sig, (long long)timeout);
		if (rt_kill(rt, id, sig, 0, err) < 0 && err->errnum != ESRCH && err->errnum != ENOENT)
			return -1;
		/* kubelet's terminationGracePeriodSeconds is an int64: a timeout beyond a century is none */
		int64_t deadline = timeout > 3155760000LL ? 0 : lc_now() + timeout * 1000000000;
		if (lc_wait(env, container_gone, id, deadline) == 0) {
			/* The init ended; processes it left (a PID namespace shared with the pod keeps
			 * them alive) are stopped too, as containerd does on the init's exit. */
			struct lc_err e2 = { 0 };
			if (rt_kill(rt, id, SIGKILL, 1, &e2) < 0 && e2.errnum != ESRCH && e2.errnum != ENOENT)
				log_warn("container %s: SIGKILL to what its init left: %s", id, e2.msg);
			return stop_recorded(env, id, err);
		}
	}
	log_info("container %s: SIGKILL", id);
	if (rt_kill(rt, id, SIGKILL, 1, err) < 0 && err->errnum != ESRCH && err->errnum != ENOENT)
		return -1;
	int64_t until = lc_now() + KILL_WAIT_NS;
	int callers = answer_by && answer_by < until; /* the caller's deadline comes first */
	if (lc_wait(env, container_gone, id, callers ? answer_by : until) != 0) {
		if (callers)
			return lc_fail(err, ETIMEDOUT, "container %s: SIGKILL sent, its exit not seen yet when the "
				       "caller's deadline passed", id);
		return lc_fail(err, ETIMEDOUT, "container %s did not exit within %lld s of SIGKILL", id,
			       KILL_WAIT_NS / 1000000000);
	}
	return stop_recorded(env, id, err);
}

int lc_container_teardown(struct cri_env *env, const char *id, struct lc_err *err)
{
	char dir[PATH_MAX], rootfs[PATH_MAX], rw[PATH_MAX];
	if (lc_dir(env, DIR_CTR_STATE, id, NULL, dir, sizeof dir, err) < 0 ||
	    lc_dir(env, DIR_CTR_STATE, id, "rootfs", rootfs, sizeof rootfs, err) < 0 ||
	    lc_dir(env, DIR_CTR_ROOT, id, NULL, rw, sizeof rw, err) < 0)
		return -1;
	if (rt_delete(env->lc->rt, id, err) < 0) {
		if (err->errnum != ENOENT)
			return lc_wrap(err, "delete runtime container %s", id);
		log_debug("container %s: the runtime did not know it (fine)", id);
	}
	if (rootfs_unmount(rootfs, err) < 0 || rmtree(dir, err) < 0 || rmtree(rw, err) < 0 ||
	    exit_file_remove(env->lc->exit_dir, id, err) < 0)
		return lc_wrap(err, "container %s", id);
	return 0;
}

int lc_sandbox_teardown(struct cri_env *env, const char *id, struct lc_err *err)
{
	char dir[PATH_MAX], shm[PATH_MAX], ns[PATH_MAX], files[PATH_MAX];
	if (lc_dir(env, DIR_SB_STATE, id, NULL, dir, sizeof dir, err) < 0 ||
	    lc_dir(env, DIR_SB_STATE, id, "shm", shm, sizeof shm, err) < 0 ||
	    lc_dir(env, DIR_SB_STATE, id, "ns", ns, sizeof ns, err) < 0 ||
	    lc_dir(env, DIR_SB_ROOT, id, NULL, files, sizeof files, err) < 0)
		return -1;
	if (rt_delete(env->lc->rt, id, err) < 0 && err->errnum != ENOENT)
		return lc_wrap(err, "delete infra container of sandbox %s", id);
	if (podns_shm_unmount(shm, err) < 0 || podns_remove(ns, err) < 0 || rmtree(dir, err) < 0 ||
	    rmtree(files, err) < 0 || exit_file_remove(env->lc->exit_dir, id, err) < 0)
		return lc_wrap(err, "sandbox %s", id);
	return 0;
}

grpc_status_code lc_container_remove(struct cri_env *env, struct cri_call *call, const char *id)
{
	struct lc_err err = { 0 };
	struct container_row r;
	if (store_container_get(env->store, id, call->arena, &r, &err) < 0) {
		if (err.errnum == ENOENT) {
			log_debug("RemoveContainer: container %s does not exist", id);
			return GRPC_STATUS_OK;
		}
		return cri_fail(call, cri_work_code(err.errnum), "container %s: %s", id, err.msg);
	}
	/* Forcibly stop the container if it is running or its state is unknown. */
	if (r.state == CTR_RUNNING || r.state == CTR_UNKNOWN) {
		log_info("container %s: forcibly stopping it to remove it", id);
		if (lc_container_stop(env, id, 0, 0, &err) < 0)
			return cri_fail(call, cri_code(err.errnum), "failed to forcibly stop container %s: %s", id,
					err.msg);
	}
	enum pod_refusal why;
	if (store_container_set_removing(env->store, id, &why, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "failed to set removing state for container %s: %s", id,
				err.msg);
	switch (why) {
	case REFUSED_NONE:
		break;
	case REFUSED_MISSING: /* removed meanwhile by another call */
		return GRPC_STATUS_OK;
	case REFUSED_RUNNING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s is still running, to stop first", id);
	case REFUSED_UNKNOWN:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s state is unknown, to stop first", id);
	case REFUSED_STARTING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s is in starting state, can't be removed", id);
	case REFUSED_REMOVING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is already in removing state", id);
	case REFUSED_CREATING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s is still being created, can't be removed", id);
	default:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s can't be removed now", id);
	}
	/* From here on, any failure resets `removing` so that the call can be retried. */
	if (lc_container_teardown(env, id, &err) < 0 || store_container_delete(env->store, id, &err) < 0) {
		struct lc_err e2 = { 0 };
		if (store_container_reset_removing(env->store, id, &e2) < 0)
			log_error("container %s: failed to reset removing state: %s", id, e2.msg);
		return cri_fail(call, cri_work_code(err.errnum), "failed to remove container %s: %s", id, err.msg);
	}
	log_info("container %s removed (name %s released)", id, r.name);
	return GRPC_STATUS_OK;
}

/* Copy the pause program into <state>/pause/rootfs (atomically: running pods keep the old inode). */
static int install_pause(struct cri_env *env, struct lc_err *err)
{
	struct lifecycle *lc = env->lc;
	char src[PATH_MAX];
	if (env->cfg->pause[0]) {
		snprintf(src, sizeof src, "%s", env->cfg->pause);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0)
			return lc_fail(err, errno, "readlink /proc/self/exe");
		self[n] = '\0';
		if (snprintf(src, sizeof src, "%s/litecri-pause", dirname(self)) >= (int)sizeof src)
			return lc_fail(err, ENAMETOOLONG, "pause program path");
	}
	if (snprintf(lc->pause_rootfs, sizeof lc->pause_rootfs, "%s/pause/rootfs", env->cfg->state) >=
	    (int)sizeof lc->pause_rootfs)
		return lc_fail(err, ENAMETOOLONG, "pause rootfs path");
	static const char *const dirs[] = { "", "/proc", "/dev", "/sys", "/etc" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char d[PATH_MAX + 8];
		snprintf(d, sizeof d, "%s%s", lc->pause_rootfs, dirs[i]);
		if (mkdir_p(d, 0755, err) < 0)
			return -1;
	}
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lc_fail(err, errno, "pause program %s (see --pause)", src);
	char tmp[PATH_MAX + 16], dst[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s/.pause.tmp", lc->pause_rootfs);
	snprintf(dst, sizeof dst, "%s/pause", lc->pause_rootfs);
	cleanup_close int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		return lc_fail(err, errno, "create %s", tmp);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lc_fail(err, errno, "read %s", src);
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return lc_fail(err, errno, "write %s", tmp);
			}
			off += w;
		}
	}
	if (fchmod(out, 0755) < 0 || rename(tmp, dst) < 0)
		return lc_fail(err, errno, "install %s", dst);
	log_info("pause program %s installed in %s", src, lc->pause_rootfs);
	return 0;
}

int lifecycle_open(struct cri_env *env, struct runtime *rt, struct lc_err *err)
{
	struct lifecycle *lc = calloc(1, sizeof *lc);
	if (!lc) {
		runtime_free(rt);
		return lc_fail(err, ENOMEM, "lifecycle");
	}
	lc->rt = rt;
	pthread_mutex_init(&lc->mu, NULL);
	pthread_cond_init(&lc->cv, NULL);
	env->lc = lc;
	if (snprintf(lc->exit_dir, sizeof lc->exit_dir, "%s/exits", env->cfg->state) >= (int)sizeof lc->exit_dir) {
		lc_fail(err, ENAMETOOLONG, "state directory %s", env->cfg->state);
		goto fail;
	}
	static const char *const sub[] = { "containers", "sandboxes" };
	for (size_t i = 0; i < 2; i++) {
		char d[PATH_MAX + 16];
		snprintf(d, sizeof d, "%s/%s", env->cfg->root, sub[i]);
		if (mkdir_p(d, 0700, err) < 0)
			goto fail;
		snprintf(d, sizeof d, "%s/%s", env->cfg->state, sub[i]);
		if (mkdir_p(d, 0700, err) < 0)
			goto fail;
	}
	if (install_pause(env, err) < 0)
		goto fail;
	/* The watcher first reports the exit files already there: exits while the daemon was down. */
	if (exits_start(lc->exit_dir, on_exit_file, env, &lc->exits, err) < 0)
		goto fail;
	if (lc_recover(env, err) < 0)
		goto fail;
	return 0;
fail:
	lifecycle_close(env);
	return -1;
}

void lifecycle_close(struct cri_env *env)
{
	struct lifecycle *lc = env->lc;
	if (!lc)
		return;
	exits_stop(lc->exits);
	runtime_free(lc->rt);
	pthread_cond_destroy(&lc->cv);
	pthread_mutex_destroy(&lc->mu);
	free(lc);
	env->lc = NULL;
}

const Runtime__V1__LinuxContainerResources *lc_container_resources(struct arena *a, const struct container_row *c,
								   const Runtime__V1__ContainerConfig *cfg)
{
	if (c->resources) {
		const Runtime__V1__LinuxContainerResources *r =
			runtime__v1__linux_container_resources__unpack(&a->pb, c->resources_len, c->resources);
		if (r)
			return r;
		log_error("container %s: the recorded resources do not decode; reporting its config's", c->id);
	}
	if (!cfg)
		cfg = runtime__v1__container_config__unpack(&a->pb, c->config_len, c->config);
	return cfg && cfg->linux ? cfg->linux->resources : NULL;
}

int lc_container_apply_resources(struct cri_env *env, const char *id, json_t *res, struct lc_err *err)
{
	char bundle[PATH_MAX];
	if (lc_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(res, JSON_COMPACT);
	if (!text)
		return lc_fail(err, ENOMEM, "resources of container %s", id);
	if (rt_update(env->lc->rt, id, bundle, text, err) < 0) {
		if (err->errnum == ENOENT) /* the runtime has no such container: it is not running */
			err->errnum = ESRCH;
		return -1;
	}
	/* The bundle's config.json (what verbose ContainerStatus shows) follows; the cgroup and the
	 * database row are what count, so a failure here is only logged. */
	struct lc_err e2 = { 0 };
	char cfg[PATH_MAX + 16];
	snprintf(cfg, sizeof cfg, "%s/config.json", bundle);
	json_t *spec = json_load_file(cfg, 0, NULL);
	json_t *lres = spec ? json_object_get(json_object_get(spec, "linux"), "resources") : NULL;
	const char *k;
	json_t *v;
	int ok = json_is_object(lres);
	if (ok)
		json_object_foreach(res, k, v) ok = ok && json_object_set(lres, k, v) == 0;
	if (!ok || spec_write(bundle, spec, &e2) < 0)
		log_warn("container %s: config.json not updated with its new resources%s%s", id, e2.msg[0] ? ": " : "",
			 e2.msg);
	json_decref(spec);
	return 0;
}

grpc_status_code lc_container_find(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
				   struct container_row *c)
{
	char id[POD_ID_BUF];
	grpc_status_code code;
	int found = lc_resolve(env, call, rpc, 1, ref, id, &code);
	if (found < 0)
		return code;
	struct lc_err err = { 0 };
	if (found && store_container_get(env->store, id, call->arena, c, &err) < 0) {
		if (err.errnum != ENOENT)
			return cri_fail(call, cri_work_code(err.errnum), "%s %s: %s", rpc, id, err.msg);
		found = 0;
	}
	if (!found || c->creating)
		return cri_fail(call, GRPC_STATUS_NOT_FOUND, "%s: container %s not found", rpc, LC_Q(ref));
	return GRPC_STATUS_OK;
}
