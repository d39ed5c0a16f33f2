/* lifecycle.c — see lifecycle.h. */
#include "cri/lifecycle.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cri/stats.h"
#include "runtime/pause.h"
#include "runtime/podns.h"
#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"

int life_new_id(char id[OBJ_ID_BUF], struct lc_err *err)
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

int life_resolve(struct cri_env *env, struct cri_call *call, const char *rpc, int container, const char *ref,
	       char id[OBJ_ID_BUF], grpc_status_code *code)
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

void *life_verbose_info(struct cri_env *env, struct cri_call *call, enum life_dir which, const char *id, json_t *info,
		      const ProtobufCMessageDescriptor *entry_desc, size_t *n)
{
	struct lc_err err = { 0 };
	char bundle[PATH_MAX];
	json_t *spec = NULL;
	*n = 0;
	if (info && env->lc && life_dir(env, which, id, NULL, bundle, sizeof bundle, &err) == 0 &&
	    rt_read_spec(env->lc->rt, id, bundle, &spec, &err) == 0)
		json_object_set_new(info, "runtimeSpec", spec);
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

struct kv *life_kvs(struct cri_call *call, void *const *entries, size_t n)
{
	struct kv *kv = arena_alloc(call->arena, (n + 1) * sizeof *kv);
	for (size_t i = 0; i < n; i++) {
		const struct cri_map_entry *e = entries[i];
		kv[i] = (struct kv){ e->key, e->value };
	}
	return kv;
}

int life_list_filter(struct cri_call *call, const char *id, const char *sandbox_id, int state, void *const *labels,
		     size_t n_labels, struct obj_filter *pf)
{
	*pf = (struct obj_filter){ .state = state };
	if ((id && *id && !id_is_hex(id, 1, OBJ_ID_LEN)) || (sandbox_id && *sandbox_id && !id_is_hex(sandbox_id, 1, OBJ_ID_LEN)))
		return 1; /* nothing has such an ID */
	if (id && *id)
		pf->id_prefix = id;
	if (sandbox_id && *sandbox_id)
		pf->sandbox_id_prefix = sandbox_id;
	if (n_labels) {
		pf->labels = life_kvs(call, labels, n_labels);
		pf->n_labels = n_labels;
	}
	return 0;
}

const Runtime__V1__PodSandboxConfig *life_sandbox_config(struct arena *a, const struct sandbox_row *sb)
{
	return runtime__v1__pod_sandbox_config__unpack(&a->pb, sb->config_len, sb->config);
}

const Runtime__V1__ContainerConfig *life_container_config(struct arena *a, const struct container_row *c)
{
	return runtime__v1__container_config__unpack(&a->pb, c->config_len, c->config);
}

int life_dir(const struct cri_env *env, enum life_dir which, const char *id, const char *sub, char *out, size_t n,
	   struct lc_err *err)
{
	/* IDs reach paths only after this check (and they come from database rows anyway). */
	if (!id_is_hex(id, OBJ_ID_LEN, OBJ_ID_LEN))
		return lc_fail(err, EINVAL, "\"%s\" is not an object ID", LC_Q(id));
	const char *base = which == DIR_CTR_ROOT || which == DIR_SB_ROOT ? env->cfg->root : env->cfg->state;
	const char *kind = which == DIR_CTR_ROOT || which == DIR_CTR_STATE ? "containers" : "sandboxes";
	int r = sub ? snprintf(out, n, "%s/%s/%s/%s", base, kind, id, sub) : snprintf(out, n, "%s/%s/%s", base, kind, id);
	if (r < 0 || (size_t)r >= n)
		return lc_fail(err, ENAMETOOLONG, "path of %s %s", kind, id);
	return 0;
}

/*
 * How container (or infra container) id ended, as the runtime recorded it: 0, or -1 (ENOENT: not
 * recorded; x->oom filled all the same).  The bundle named is the container's: a pod reports no
 * reason for its infra process, so its OOM verdict does not matter.
 */
static int runtime_exit(struct cri_env *env, const char *id, struct rt_exit *x, struct lc_err *err)
{
	char bundle[PATH_MAX];
	*x = (struct rt_exit){ .code = -1 };
	if (life_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, err) < 0)
		return -1;
	return rt_exit_status(env->lc->rt, id, bundle, x, err);
}

int life_record_exit(struct cri_env *env, const char *id, const struct rt_exit *x, struct lc_err *err)
{
	struct lc_err local = { 0 };
	if (!err)
		err = &local;
	int exit_code = x->code;
	const char *reason = x->oom ? "OOMKilled" : exit_code == 0 ? "Completed" : "Error";
	int changed = 0;
	if (store_container_exited(env->store, id, exit_code, x->at, reason, &changed, err) < 0) {
		/* no wake-up: a waiter would only find the same row and try again at once */
		log_error("container %s: exit %d not recorded: %s", id, exit_code, err->msg);
		return -1;
	}
	if (changed) {
		log_info("container %s exited with code %d (%s)", id, exit_code, reason);
		life_reap(env, id); /* x, the OOM verdict with it, was read from the runtime's container */
	}
	if (!changed) {
		if (store_sandbox_infra_exited(env->store, id, x->at, &changed, err) < 0) {
			log_error("sandbox %s: infra exit not recorded: %s", id, err->msg);
			return -1;
		}
		if (changed)
			log_info("sandbox %s: infra process exited with code %d: NOTREADY", id, exit_code);
	}
	life_wake(env);
	return 0;
}

/* The reaper's thread: one job at a time, in the order they were queued. */
static void *reaper_run(void *arg)
{
	struct cri_env *env = arg;
	struct lifecycle *lc = env->lc;
	pthread_mutex_lock(&lc->reap_mu);
	for (;;) {
		while (!lc->reaper_stop && lc->reap_n == 0)
			pthread_cond_wait(&lc->reap_cv, &lc->reap_mu);
		if (lc->reaper_stop)
			break;
		struct reap_job job = lc->reap_q[0];
		memmove(lc->reap_q, lc->reap_q + 1, --lc->reap_n * sizeof *lc->reap_q);
		if (!job.fn)
			memcpy(lc->reaping, job.id, OBJ_ID_BUF);
		lc->reap_busy = 1;
		pthread_mutex_unlock(&lc->reap_mu);
		struct lc_err err = { 0 };
		int64_t t0 = metrics_now_us();
		if (job.fn)
			job.fn(env, job.id);
		else if (rt_delete(lc->rt, job.id, &err) == 0)
			log_debug("container %s: runtime container deleted after its exit in %.1f ms", job.id,
				  (double)(metrics_now_us() - t0) / 1000.0);
		else if (err.errnum != ENOENT) /* removed meanwhile: fine */
			log_warn("container %s: runtime container not deleted after its exit (RemoveContainer deletes "
				 "it): %s", job.id, err.msg);
		pthread_mutex_lock(&lc->reap_mu);
		lc->reaping[0] = '\0';
		lc->reap_busy = 0;
		pthread_cond_broadcast(&lc->reap_cv);
	}
	pthread_mutex_unlock(&lc->reap_mu);
	return NULL;
}

/* Queue (fn, id) once; reap_mu held. */
static void reap_queue(struct lifecycle *lc, const char *id, life_job_fn fn)
{
	int queued = !lc->reaper_running || (!fn && !strcmp(lc->reaping, id));
	for (size_t i = 0; i < lc->stopping_n && !fn && !queued; i++)
		if (!strcmp(lc->stopping[i].id, id))
			queued = lc->stopping[i].deferred = 1; /* queued by the stop's end */
	for (size_t i = 0; i < lc->reap_n && !queued; i++)
		queued = lc->reap_q[i].fn == fn && !strcmp(lc->reap_q[i].id, id);
	if (!queued && lc->reap_n == lc->reap_cap) {
		size_t cap = lc->reap_cap ? 2 * lc->reap_cap : 16;
		void *q = realloc(lc->reap_q, cap * sizeof *lc->reap_q);
		if (q) {
			lc->reap_q = q;
			lc->reap_cap = cap;
		} else {
			log_warn("%s%s: no memory to queue the reaper's work on it (%s)", fn ? "object " : "container ",
				 *id ? id : "(none)", fn ? "the next start does it" : "RemoveContainer deletes it");
			queued = 1;
		}
	}
	if (!queued) {
		struct reap_job *j = &lc->reap_q[lc->reap_n++];
		snprintf(j->id, sizeof j->id, "%s", id);
		j->fn = fn;
		pthread_cond_broadcast(&lc->reap_cv);
	}
}

void life_reap(struct cri_env *env, const char *id)
{
	struct lifecycle *lc = env->lc;
	assert(id_is_hex(id, OBJ_ID_LEN, OBJ_ID_LEN));
	pthread_mutex_lock(&lc->reap_mu);
	reap_queue(lc, id, NULL);
	pthread_mutex_unlock(&lc->reap_mu);
}

void life_later(struct cri_env *env, const char *id, life_job_fn fn)
{
	struct lifecycle *lc = env->lc;
	assert(fn && (!*id || id_is_hex(id, OBJ_ID_LEN, OBJ_ID_LEN)));
	pthread_mutex_lock(&lc->reap_mu);
	reap_queue(lc, id, fn);
	pthread_mutex_unlock(&lc->reap_mu);
}

/* Take id's runtime delete off the reaper's queue (1 if it was there), and wait for it if it is
 * under way.  reap_mu held. */
static int reap_claim_locked(struct lifecycle *lc, const char *id)
{
	int queued = 0;
	for (size_t i = 0; i < lc->reap_n && !queued; i++)
		if (!lc->reap_q[i].fn && !strcmp(lc->reap_q[i].id, id)) {
			memmove(lc->reap_q + i, lc->reap_q + i + 1, (--lc->reap_n - i) * sizeof *lc->reap_q);
			queued = 1;
		}
	while (!strcmp(lc->reaping, id))
		pthread_cond_wait(&lc->reap_cv, &lc->reap_mu);
	return queued;
}

static void reap_claim(struct lifecycle *lc, const char *id)
{
	pthread_mutex_lock(&lc->reap_mu);
	reap_claim_locked(lc, id);
	pthread_mutex_unlock(&lc->reap_mu);
}

/*
 * SIGKILL to every process of container id (rt_kill with all), never beside the reaper's delete of
 * it: two runtime commands on one container's cgroup at once (runc freezes it to signal) could
 * leave a process alive.  A stop defers the delete of its container's recorded exit until it is
 * done (stop_begin / stop_end); a delete queued before is taken off the queue and queued again
 * afterwards, one under way is waited for (then the runtime has nothing of id left: its delete
 * killed what the container had left, ENOENT).
 */
static int kill_all(struct cri_env *env, const char *id, struct lc_err *err)
{
	struct lifecycle *lc = env->lc;
	pthread_mutex_lock(&lc->reap_mu);
	int queued = reap_claim_locked(lc, id);
	pthread_mutex_unlock(&lc->reap_mu);
	int rc = rt_kill(lc->rt, id, SIGKILL, 1, err);
	if (queued)
		life_reap(env, id);
	return rc;
}

/* A stop of container id begins: the delete of its exit waits for stop_end. */
static void stop_begin(struct lifecycle *lc, const char *id)
{
	pthread_mutex_lock(&lc->reap_mu);
	size_t i = 0;
	while (i < lc->stopping_n && strcmp(lc->stopping[i].id, id))
		i++;
	if (i == lc->stopping_n && lc->stopping_n == lc->stopping_cap) {
		size_t cap = lc->stopping_cap ? 2 * lc->stopping_cap : 8;
		void *v = realloc(lc->stopping, cap * sizeof *lc->stopping);
		if (!v) { /* then kill_all's claim alone keeps the two apart, as far as it can */
			pthread_mutex_unlock(&lc->reap_mu);
			log_warn("container %s: no memory to defer its runtime container's delete", id);
			return;
		}
		lc->stopping = v;
		lc->stopping_cap = cap;
	}
	if (i == lc->stopping_n)
		lc->stopping[lc->stopping_n++] = (struct life_stopping){ .n = 0 };
	memcpy(lc->stopping[i].id, id, OBJ_ID_BUF);
	lc->stopping[i].n++;
	pthread_mutex_unlock(&lc->reap_mu);
}

/* The stop of id is over: a delete deferred meanwhile is queued (once the last stop of it ends). */
static void stop_end(struct cri_env *env, const char *id)
{
	struct lifecycle *lc = env->lc;
	int deferred = 0;
	pthread_mutex_lock(&lc->reap_mu);
	for (size_t i = 0; i < lc->stopping_n; i++)
		if (!strcmp(lc->stopping[i].id, id)) {
			if (--lc->stopping[i].n == 0) {
				deferred = lc->stopping[i].deferred;
				lc->stopping[i] = lc->stopping[--lc->stopping_n];
			}
			break;
		}
	pthread_mutex_unlock(&lc->reap_mu);
	if (deferred)
		life_reap(env, id);
}

void life_wake(struct cri_env *env)
{
	struct lifecycle *lc = env->lc;
	pthread_mutex_lock(&lc->mu);
	lc->gen++;
	pthread_cond_broadcast(&lc->cv);
	pthread_mutex_unlock(&lc->mu);
}

/* The runtime reports id's exit recorded (rt_watch_exits): how it ended is its word (the OOM verdict too). */
static void exit_reported(const char *id, void *arg)
{
	struct cri_env *env = arg;
	struct rt_exit x;
	struct lc_err err = { 0 };
	if (runtime_exit(env, id, &x, &err) < 0) /* removed meanwhile with its container */
		log_debug("%s: exit not recorded: %s", id, err.msg);
	else
		life_record_exit(env, id, &x, NULL);
}

int64_t life_wait_end(int64_t within_ns, int64_t answer_by, int *callers)
{
	int64_t own = within_ns ? cri_now() + within_ns : 0;
	int theirs = answer_by && (!own || answer_by < own);
	if (callers)
		*callers = theirs;
	return theirs ? answer_by : own;
}

int life_wait(struct cri_env *env, int (*done)(struct cri_env *, const char *), const char *id, int64_t deadline)
{
	struct lifecycle *lc = env->lc;
	for (;;) {
		pthread_mutex_lock(&lc->mu);
		uint64_t seen = lc->gen;
		pthread_mutex_unlock(&lc->mu);
		if (done(env, id))
			return 0;
		int64_t now = cri_now();
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
 * The wait predicate of a stop, which only reads: 1 once the container's stop is known — its row
 * says it does not run (or it is gone), or the runtime no longer runs it and its exit is there
 * to record: the one its monitor recorded, or none ever (the monitor has gone without it: conmon
 * killed); stop_recorded then records it.  0 while it runs, or while its monitor is about to
 * record its exit.
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
	struct rt_exit x;
	if (rt_state(env->lc->rt, id, &st, &pid, &err) < 0 || (st != RT_STOPPED && st != RT_MISSING))
		return 0;
	return runtime_exit(env, id, &x, &err) == 0 || !life_monitor_alive(env, id);
}

/*
 * After container_gone ended a wait: 0 if the container's exit is recorded (or it is gone or not
 * running); else it is recorded here (the watcher may not have yet, or could not: the database
 * refused the write), -1 naming why if that fails.
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
	if (running && life_record_lost_exit(env, id, err) < 0)
		return lc_wrap(err, "container %s stopped, but its exit could not be recorded", id);
	return 0;
}

int life_monitor_alive(struct cri_env *env, const char *id)
{
	char ctr[PATH_MAX], sb[PATH_MAX];
	struct lc_err err = { 0 };
	if (life_dir(env, DIR_CTR_STATE, id, NULL, ctr, sizeof ctr, &err) < 0 ||
	    life_dir(env, DIR_SB_STATE, id, NULL, sb, sizeof sb, &err) < 0)
		return 0;
	return rt_monitor_alive(env->lc->rt, id, ctr) || rt_monitor_alive(env->lc->rt, id, sb);
}

int life_record_lost_exit(struct cri_env *env, const char *id, struct lc_err *err)
{
	struct lc_err e = { 0 };
	struct rt_exit x;
	if (runtime_exit(env, id, &x, &e) < 0) {
		log_warn("%s: not running any more, and its monitor is gone without recording its exit (host "
			 "rebooted or the monitor killed): recording exit code 255", id);
		x.code = 255;
		x.at = cri_now();
	}
	return life_record_exit(env, id, &x, err);
}

/* How long StopContainer waits for a SIGKILLed container before it gives up. */
#define KILL_WAIT_NS (120LL * 1000000000)

/* life_container_stop of a RUNNING or UNKNOWN container, sig its stop signal. */
static int stop_running(struct cri_env *env, const char *id, int sig, int64_t timeout, int64_t answer_by,
			struct lc_err *err)
{
	struct runtime *rt = env->lc->rt;
	if (timeout > 0) {
		log_info("container %s: stopping with signal %d, %lld s before SIGKILL", id, sig, (long long)timeout);
		if (rt_kill(rt, id, sig, 0, err) < 0 && err->errnum != ESRCH && err->errnum != ENOENT)
			return -1;
		/* kubelet's terminationGracePeriodSeconds is an int64: a timeout beyond a century is none */
		int64_t deadline = timeout > 3155760000LL ? 0 : cri_now() + timeout * 1000000000;
		if (life_wait(env, container_gone, id, deadline) == 0) {
			/* The init ended; processes it left (a PID namespace shared with the pod keeps
			 * them alive) are stopped too, as containerd does on the init's exit. */
			struct lc_err e2 = { 0 };
			if (kill_all(env, id, &e2) < 0 && e2.errnum != ESRCH && e2.errnum != ENOENT)
				log_warn("container %s: SIGKILL to what its init left: %s", id, e2.msg);
			return stop_recorded(env, id, err);
		}
	}
	log_info("container %s: SIGKILL", id);
	if (kill_all(env, id, err) < 0 && err->errnum != ESRCH && err->errnum != ENOENT)
		return -1;
	int callers;
	if (life_wait(env, container_gone, id, life_wait_end(KILL_WAIT_NS, answer_by, &callers)) != 0) {
		if (callers)
			return lc_fail(err, ETIMEDOUT, "container %s: SIGKILL sent, its exit not seen yet when the "
				       "caller's deadline passed", id);
		return lc_fail(err, ETIMEDOUT, "container %s did not exit within %lld s of SIGKILL", id,
			       KILL_WAIT_NS / 1000000000);
	}
	return stop_recorded(env, id, err);
}

int life_container_stop(struct cri_env *env, const char *id, int64_t timeout, int64_t answer_by, struct lc_err *err)
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
	stop_begin(env->lc, id);
	rc = stop_running(env, id, sig, timeout, answer_by, err);
	stop_end(env, id);
	return rc;
}

int life_container_teardown(struct cri_env *env, const char *id, struct lc_err *err)
{
	char dir[PATH_MAX], rootfs[PATH_MAX], rw[PATH_MAX];
	if (life_dir(env, DIR_CTR_STATE, id, NULL, dir, sizeof dir, err) < 0 ||
	    life_dir(env, DIR_CTR_STATE, id, "rootfs", rootfs, sizeof rootfs, err) < 0 ||
	    life_dir(env, DIR_CTR_ROOT, id, NULL, rw, sizeof rw, err) < 0)
		return -1;
	reap_claim(env->lc, id);
	if (rt_delete(env->lc->rt, id, err) < 0) {
		if (err->errnum != ENOENT)
			return lc_wrap(err, "delete runtime container %s", id);
		log_debug("container %s: the runtime did not know it (fine)", id);
	}
	if (rootfs_unmount(rootfs, err) < 0 || rmtree(dir, err) < 0 || rmtree(rw, err) < 0)
		return lc_wrap(err, "container %s", id);
	stats_forget(id);
	return 0;
}

int life_sandbox_teardown(struct cri_env *env, const char *id, struct lc_err *err)
{
	char dir[PATH_MAX], shm[PATH_MAX], ns[PATH_MAX], files[PATH_MAX];
	if (life_dir(env, DIR_SB_STATE, id, NULL, dir, sizeof dir, err) < 0 ||
	    life_dir(env, DIR_SB_STATE, id, "shm", shm, sizeof shm, err) < 0 ||
	    life_dir(env, DIR_SB_STATE, id, "ns", ns, sizeof ns, err) < 0 ||
	    life_dir(env, DIR_SB_ROOT, id, NULL, files, sizeof files, err) < 0)
		return -1;
	if (rt_delete(env->lc->rt, id, err) < 0 && err->errnum != ENOENT)
		return lc_wrap(err, "delete infra container of sandbox %s", id);
	if (podns_shm_unmount(shm, err) < 0 || podns_remove(ns, err) < 0 || rmtree(dir, err) < 0 ||
	    rmtree(files, err) < 0)
		return lc_wrap(err, "sandbox %s", id);
	stats_forget(id);
	return 0;
}

grpc_status_code life_container_remove(struct cri_env *env, struct cri_call *call, const char *id)
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
		if (life_container_stop(env, id, 0, call->deadline, &err) < 0)
			return cri_fail(call, cri_code(err.errnum), "failed to forcibly stop container %s: %s", id,
					err.msg);
	}
	enum refusal why;
	if (store_flag_set(env->store, FLAG_CTR_REMOVING, id, &why, &err) < 0)
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
	if (life_container_teardown(env, id, &err) < 0 || store_container_delete(env->store, id, &err) < 0) {
		struct lc_err e2 = { 0 };
		if (store_flag_reset(env->store, FLAG_CTR_REMOVING, id, &e2) < 0)
			log_error("container %s: failed to reset removing state: %s", id, e2.msg);
		return cri_fail(call, cri_work_code(err.errnum), "failed to remove container %s: %s", id, err.msg);
	}
	log_info("container %s removed (name %s released)", id, r.name);
	return GRPC_STATUS_OK;
}

int lifecycle_open_check(struct cri_env *env, struct runtime *rt, struct lc_err *err)
{
	struct lifecycle *lc = calloc(1, sizeof *lc);
	if (!lc) {
		runtime_free(rt);
		return lc_fail(err, ENOMEM, "lifecycle");
	}
	lc->rt = rt;
	pthread_mutex_init(&lc->mu, NULL);
	pthread_cond_init(&lc->cv, NULL);
	pthread_mutex_init(&lc->reap_mu, NULL);
	pthread_cond_init(&lc->reap_cv, NULL);
	env->lc = lc;
	return 0;
}

int lifecycle_open(struct cri_env *env, struct runtime *rt, struct lc_err *err)
{
	if (lifecycle_open_check(env, rt, err) < 0)
		return -1;
	struct lifecycle *lc = env->lc;
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
	if (snprintf(lc->pause_rootfs, sizeof lc->pause_rootfs, "%s/pause/rootfs", env->cfg->state) >=
	    (int)sizeof lc->pause_rootfs) {
		lc_fail(err, ENAMETOOLONG, "state directory %s", env->cfg->state);
		goto fail;
	}
	if (pause_install(env->cfg->pause, lc->pause_rootfs, err) < 0)
		goto fail;
	int e = pthread_create(&lc->reaper, NULL, reaper_run, env);
	if (e != 0) {
		lc_fail(err, e, "start the reaper thread");
		goto fail;
	}
	lc->reaper_running = 1;
	/* First reported are the exits recorded while the daemon was down. */
	if (rt_watch_exits(rt, exit_reported, env, err) < 0)
		goto fail;
	if (life_recover(env, err) < 0)
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
	if (lc->reaper_running) { /* first: it uses the runtime; what it leaves queued, recovery deletes */
		pthread_mutex_lock(&lc->reap_mu);
		lc->reaper_stop = 1;
		pthread_cond_broadcast(&lc->reap_cv);
		pthread_mutex_unlock(&lc->reap_mu);
		pthread_join(lc->reaper, NULL);
		pthread_mutex_lock(&lc->reap_mu);
		lc->reaper_running = 0; /* life_reap from the exit watch, until it ends: nothing queued */
		pthread_mutex_unlock(&lc->reap_mu);
	}
	runtime_free(lc->rt); /* then: it ends the exit watch, whose callback uses lc */
	pthread_cond_destroy(&lc->reap_cv);
	pthread_mutex_destroy(&lc->reap_mu);
	free(lc->reap_q);
	free(lc->stopping);
	pthread_cond_destroy(&lc->cv);
	pthread_mutex_destroy(&lc->mu);
	free(lc);
	env->lc = NULL;
}

const Runtime__V1__LinuxContainerResources *life_container_resources(struct arena *a, const struct container_row *c,
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

int life_container_apply_resources(struct cri_env *env, const char *id, json_t *res, struct lc_err *err)
{
	char bundle[PATH_MAX];
	if (life_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(res, JSON_COMPACT);
	if (!text)
		return lc_fail(err, ENOMEM, "resources of container %s", id);
	if (rt_update(env->lc->rt, id, bundle, text, err) < 0) {
		if (err->errnum == ENOENT) /* the runtime has no such container: it is not running */
			err->errnum = ESRCH;
		return -1;
	}
	return 0;
}

grpc_status_code life_container_find(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
				   struct container_row *c)
{
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, rpc, 1, ref, id, &code);
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

grpc_status_code life_sandbox_find(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
				   struct sandbox_row *sb)
{
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, rpc, 0, ref, id, &code);
	if (found < 0)
		return code;
	struct lc_err err = { 0 };
	if (found && store_sandbox_get(env->store, id, call->arena, sb, &err) < 0) {
		if (err.errnum != ENOENT)
			return cri_fail(call, cri_work_code(err.errnum), "%s %s: %s", rpc, id, err.msg);
		found = 0;
	}
	if (!found || sb->creating) /* a sandbox is visible once RunPodSandbox has finished */
		return cri_fail(call, GRPC_STATUS_NOT_FOUND, "%s: sandbox %s not found", rpc, LC_Q(ref));
	return GRPC_STATUS_OK;
}
