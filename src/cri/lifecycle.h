/*
 * lifecycle.h — what the pod sandbox (sandbox.c) and container (container.c) handlers share:
 * where each object's files live, how exits are recorded and waited for, stopping and tearing down
 * a container, and the recovery that runs at startup.  Internal to src/cri/ and main.  Its
 * functions are named life_* (lc_* is litecri's util layer: lc_err, lc_fail).
 *
 * Files of an object (IDs are 64 hex digits checked by the database, never taken from a request
 * unchecked):
 *   <root>/containers/<id>/      upper/ and work/ of its overlay rootfs (persistent)
 *   <state>/containers/<id>/     its bundle: rootfs/ (the overlay mount), and what the runtime
 *                                keeps there (its OCI spec, its monitor's files)
 *   <root>/sandboxes/<id>/       hosts, resolv.conf, hostname (bind-mounted into its containers)
 *   <state>/sandboxes/<id>/      the infra container's bundle, ns/ (pinned namespaces), shm/
 *   <state>/pause/rootfs/pause   the infra program every pod runs (pause_install)
 * The CRI layer makes, names and removes these directories; what is inside a bundle is the
 * runtime's (runtime.h): nothing here opens a path inside one, nor anything under /proc.
 *
 * Waits (life_wait): a predicate only reads — the row, the runtime's view — and the caller records
 * what the wait found.  Every wait ends at the caller's deadline (struct cri_call.deadline) when
 * the call has one, and at litecri's own bound (life_wait_end) otherwise.
 */
#ifndef LITECRI_CRI_LIFECYCLE_H
#define LITECRI_CRI_LIFECYCLE_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "cri/cri.h"
#include "runtime/runtime.h"
#include "store/pods.h"

struct cri_env;
/* A job for the reaper's thread (life_later): work on object id ("" for none). */
typedef void (*life_job_fn)(struct cri_env *env, const char *id);

struct lifecycle {
	struct runtime *rt;
	/* Broadcast by life_wake: waiters re-read the database. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t gen;
	char pause_rootfs[PATH_MAX];
	/*
	 * The reaper (life_reap, life_later): one thread deleting the runtime containers of recorded
	 * exits, and doing the runtime work startup recovery leaves behind it, off every call's path.
	 * reap_mu guards the queue and `reaping` (the ID whose runtime container is being deleted
	 * now, "" when none); it is never held across a runtime call.  reap_cv: work queued, a job
	 * finished, stop.  stopping: containers a StopContainer is stopping (n calls each), whose
	 * delete waits (deferred) until the last of them has killed what the init left.
	 */
	pthread_mutex_t reap_mu;
	pthread_cond_t reap_cv;
	pthread_t reaper;
	int reaper_running, reaper_stop;
	struct reap_job {
		char id[OBJ_ID_BUF];
		life_job_fn fn; /* NULL: delete id's runtime container (life_reap) */
	} *reap_q;
	size_t reap_n, reap_cap;
	char reaping[OBJ_ID_BUF];
	struct life_stopping {
		char id[OBJ_ID_BUF];
		int n, deferred;
	} *stopping;
	size_t stopping_n, stopping_cap;
	int reap_busy; /* a job under way */
};

enum life_dir { DIR_CTR_ROOT, DIR_CTR_STATE, DIR_SB_ROOT, DIR_SB_STATE };

/*
 * Start the lifecycle part of env: take ownership of rt, create the directories, install the
 * pause program, have rt report exits (rt_watch_exits: each is recorded), then recover (see
 * recover.c).  On failure rt is freed.
 */
int lifecycle_open(struct cri_env *env, struct runtime *rt, struct lc_err *err);
/* Only take ownership of rt, for life_check: nothing created, watched or recovered. */
int lifecycle_open_check(struct cri_env *env, struct runtime *rt, struct lc_err *err);
/* Free the runtime, which ends its exit watch (NULL-safe).  Containers keep running. */
void lifecycle_close(struct cri_env *env);

/* "<root|state>/<containers|sandboxes>/<id>[/<sub>]" (sub may be NULL).  -1 if too long. */
int life_dir(const struct cri_env *env, enum life_dir which, const char *id, const char *sub, char *out, size_t n,
	   struct lc_err *err);

/* "CREATED", "RUNNING", "EXITED", "UNKNOWN" (a stored container state), else "INVALID". */
static inline const char *life_ctr_state_name(int state)
{
	static const char *const names[] = { "CREATED", "RUNNING", "EXITED", "UNKNOWN" };
	return state >= 0 && state <= 3 ? names[state] : "INVALID";
}

/* A new random object ID (64 hex digits). */
int life_new_id(char id[OBJ_ID_BUF], struct lc_err *err);

/*
 * Record an exit as the runtime reports it (rt_exit_status: found by the exit watcher, a stop or
 * recovery): a container becomes EXITED with x->code, x->at and reason OOMKilled (x->oom) /
 * Completed / Error, a sandbox's infra exit makes it NOTREADY.  Wakes waiters when it recorded
 * something.  -1 (logged, and in *err unless err is NULL) when the database could not be written
 * (e.g. the disk is full): the row keeps its old state.
 */
int life_record_exit(struct cri_env *env, const char *id, const struct rt_exit *x, struct lc_err *err);

/*
 * Have the reaper delete container id's runtime container (rt_delete) in the background, as
 * containerd deletes a task when its exit is handled: call it once the container's exit is
 * recorded (EXITED, durable) and everything read from the runtime's container (the OOM verdict:
 * its memory cgroup) has been read.  Nothing waits for it: a failed delete is logged and left to
 * RemoveContainer (life_container_teardown deletes whatever the runtime still has), a daemon
 * killed first to recovery.  Queued once however often it is asked; never blocks on the runtime.
 */
void life_reap(struct cri_env *env, const char *id);

/*
 * Run fn(env, id) on the reaper's thread, after what is queued before it: the runtime work startup
 * recovery leaves behind it so that calls are served meanwhile (recover.c).  The caller makes sure
 * that no call acts on what fn changes until fn has finished: the object's in-flight flag stays
 * set (a call on it is refused FAILED_PRECONDITION or does not see it), or fn's work is on what no
 * row owns.  A daemon stopped first drops what is queued: the flags it leaves make the next
 * recovery queue it again.  Queued once per (fn, id).  Without a reaper (litecri check) nothing
 * is queued.
 */
void life_later(struct cri_env *env, const char *id, life_job_fn fn);

/*
 * 1 while the monitor supervising container (or infra container) id still runs
 * (rt_monitor_alive): its exit, not recorded by the runtime yet, may still come.
 */
int life_monitor_alive(struct cri_env *env, const char *id);

/*
 * The exit of a container / infra container the runtime no longer runs: the one the runtime
 * recorded if there is one, else exit code 255 (its monitor is gone: a reboot, or it was killed).
 * Call only when the monitor is not alive, or it may still be about to record the exit.  Fails as
 * life_record_exit.
 */
int life_record_lost_exit(struct cri_env *env, const char *id, struct lc_err *err);

/*
 * Stop a container the StopContainer way: the stop signal, `timeout` seconds, then SIGKILL to all
 * of its processes; return once its exit is recorded.  Not RUNNING/UNKNOWN: nothing to do.
 * Missing: 0.  Failure: -1 naming the container.  answer_by: the caller's deadline (cri_now's
 * clock; 0: none).  The stop itself never ends early — the grace period runs its course and the
 * SIGKILL is sent — but the wait after the SIGKILL, which only tells the caller how it went (the
 * exit is recorded when it comes all the same), ends there: ETIMEDOUT.
 */
int life_container_stop(struct cri_env *env, const char *id, int64_t timeout, int64_t answer_by, struct lc_err *err);

/*
 * RemoveContainer, exactly as the reference: missing → OK; RUNNING/UNKNOWN → forcibly stopped
 * first (life_container_stop with the call's deadline: its end fails the call, DEADLINE_EXCEEDED,
 * nothing marked); removing set by one conditional UPDATE (each refusal a FAILED_PRECONDITION
 * naming the container); runtime container, rootfs and dirs deleted; row deleted; on failure
 * removing reset.
 */
grpc_status_code life_container_remove(struct cri_env *env, struct cri_call *call, const char *id);

/* Delete what a container has outside the database (runtime container and what the runtime kept
 * for it, mounts, dirs).  A reaper's delete of id still queued is taken off the queue, one under
 * way is waited for (then the runtime has nothing left, found without running it). */
int life_container_teardown(struct cri_env *env, const char *id, struct lc_err *err);
/* The same for a sandbox (infra container, shm, pinned namespaces, dirs). */
int life_sandbox_teardown(struct cri_env *env, const char *id, struct lc_err *err);

/*
 * Wake every life_wait at once: what its predicate reads has changed (an exit recorded, a create's
 * outcome recorded — the row created, or deleted after the create failed).
 */
void life_wake(struct cri_env *env);

/*
 * Wait until `done(env, id)` returns non-zero, re-checking after every life_wake and at least
 * once a second, until deadline (ns since the epoch; 0 = none).  Returns 0 when done, 1 on
 * deadline.  A predicate only reads (the database, the runtime's view); whatever the outcome asks
 * to record, its caller records after the wait.
 */
int life_wait(struct cri_env *env, int (*done)(struct cri_env *, const char *), const char *id, int64_t deadline);

/*
 * The deadline of a wait bounded both by litecri (within_ns from now; 0: no bound of its own) and
 * by the caller (answer_by: struct cri_call.deadline, cri_now's clock; 0: none): the earlier one,
 * 0 when neither.  *callers (unless NULL) = 1 when it is the caller's, for the message: the call
 * ends DEADLINE_EXCEEDED either way.
 */
int64_t life_wait_end(int64_t within_ns, int64_t answer_by, int *callers);

/*
 * Resolve a request's sandbox (container = 0) or container (container = 1) ID, full or a unique
 * prefix.  1 = found (id filled), 0 = no such object, -1 = bad or ambiguous ID or a database
 * error: *code is the gRPC status, set with cri_fail.
 */
int life_resolve(struct cri_env *env, struct cri_call *call, const char *rpc, int container, const char *ref,
	       char id[OBJ_ID_BUF], grpc_status_code *code);

/*
 * The container `ref` names (full ID or unique prefix), read into *c: GRPC_STATUS_OK, or the
 * failure, already set with cri_fail: NOT_FOUND naming ref when there is none or its create is
 * still in flight (visible once CreateContainer has finished), INVALID_ARGUMENT for a bad or
 * ambiguous ID, INTERNAL for a database error.
 */
grpc_status_code life_container_find(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
				   struct container_row *c);

/*
 * The sandbox `ref` names (full ID or unique prefix), read into *sb: GRPC_STATUS_OK, or the
 * failure, set with cri_fail as life_container_find's.
 */
grpc_status_code life_sandbox_find(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
				   struct sandbox_row *sb);

/*
 * The `info` map of a verbose PodSandboxStatus / ContainerStatus: one entry "info" holding `info`
 * (a new reference, released here) with the object's OCI spec (rt_read_spec of its bundle
 * directory `which`; none without a runtime) added as "runtimeSpec".  Entries are made with
 * entry_desc; *n is 0 or 1.
 */
void *life_verbose_info(struct cri_env *env, struct cri_call *call, enum life_dir which, const char *id, json_t *info,
		      const ProtobufCMessageDescriptor *entry_desc, size_t *n);

/* A request's map<string,string> entries (any entry type) as key/value pairs for the store. */
struct kv *life_kvs(struct cri_call *call, void *const *entries, size_t n);

/*
 * The store filter of a List request (ListPodSandbox, ListContainers and their Stats twins): id
 * and sandbox_id (NULL or "": not filtered) as ID prefixes, state (< 0: none), the label selector
 * (all must match).  1 when an ID is no hex prefix, so that nothing can match (the call answers an
 * empty list); else 0 with *pf filled (strings shared with the request).
 */
int life_list_filter(struct cri_call *call, const char *id, const char *sandbox_id, int state, void *const *labels,
		     size_t n_labels, struct obj_filter *pf);

/* The CRI config a row recorded, decoded in arena a: NULL when it does not decode. */
const Runtime__V1__PodSandboxConfig *life_sandbox_config(struct arena *a, const struct sandbox_row *sb);
const Runtime__V1__ContainerConfig *life_container_config(struct arena *a, const struct container_row *c);

/*
 * The container's Linux resources as they apply now: those the last UpdateContainerResources
 * recorded, else those of its CreateContainer config (cfg: that config already decoded, or NULL);
 * NULL when neither gives any (or a recorded value does not decode: logged).  Allocated in a.
 */
const Runtime__V1__LinuxContainerResources *life_container_resources(struct arena *a, const struct container_row *c,
								   const Runtime__V1__ContainerConfig *cfg);

/*
 * Apply res (an OCI linux.resources object built by spec_resources) to container id's live cgroup
 * (rt_update, which keeps the container's OCI spec in step).  ESRCH: the runtime does not run it.
 */
int life_container_apply_resources(struct cri_env *env, const char *id, json_t *res, struct lc_err *err);

/* Startup recovery (recover.c): reconcile every row with the runtime, sweep orphans. */
int life_recover(struct cri_env *env, struct lc_err *err);

/* One inconsistency between the database and the host (`litecri check`). */
struct life_finding {
	const char *kind;    /* "container", "sandbox", "runtime", "directory", "mount", "database" */
	const char *id;      /* the object's ID, or a path */
	const char *problem; /* what is wrong */
	const char *remedy;  /* what startup recovery does about it, or what an operator must do */
};
typedef void (*life_report_fn)(void *arg, const struct life_finding *f);

/*
 * `litecri check`: the decisions of life_recover, reported (each with what recovery would do)
 * instead of acted on, plus what recovery does not repair (store_check, mounts no object accounts
 * for).  Reads only: safe beside a running daemon, whose in-flight flags it reports as such.
 * *n_found: how many findings were reported.  env->lc must hold the runtime (lifecycle_open_check).
 */
int life_check(struct cri_env *env, life_report_fn report, void *arg, size_t *n_found, struct lc_err *err);

/*
 * In a handler that needs the runtime: fail with FAILED_PRECONDITION when the daemon started
 * without one (no OCI runtime or conmon found).
 */
#define LIFE_REQUIRE_RUNTIME(env, call, rpc)                                                              \
	do {                                                                                            \
		if (!(env)->lc)                                                                         \
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,                          \
					"%s: no OCI runtime or conmon was found at startup (see RuntimeReady " \
					"in Status)", rpc);                                             \
	} while (0)

#endif
