/*
 * recover.c — startup recovery: make the database and the host agree again after a crash, a kill
 * or a reboot; the decisions before the first call is served, the runtime work they leave after
 * it (below).  Never aborts on one object: each problem is
 * logged and the next object is looked at.
 *
 *   containers  creating → torn down and deleted (the create never finished);
 *               removing → the removal is finished;
 *               starting → RUNNING if the runtime runs it, CREATED if it is still created, else its exit;
 *               CREATED/RUNNING/UNKNOWN the runtime no longer runs → its exit (from conmon's exit
 *               file, else code 255);
 *               EXITED whose runtime container is still there → the reaper deletes it (life_reap);
 *               updating → the recorded resources re-applied (the interrupted update may have
 *               reached the cgroup without being recorded), updating cleared.
 *   sandboxes   network ADDING or DELETING (a CNI ADD before its outcome was recorded, or a DEL
 *               interrupted or failed) → DEL with the recorded config (first: the netns is still
 *               pinned; a creating or removing pod whose DEL fails is kept for the next start);
 *               creating → torn down and deleted; removing → finished; stopping → cleared;
 *               READY whose infra container is gone → NOTREADY.
 *   reboot      (the boot ID differs from the one recorded at the last start) the runtime is not
 *               asked: every container not EXITED → EXITED (exit file's code, else 255), starting
 *               cleared, updating cleared without re-applying; every READY sandbox → NOTREADY.
 *   orphans     runtime containers (and the runtime's leftovers of ones it no longer has: conmon's
 *               attach socket links and exit files, see rt_list) and directories no row owns →
 *               deleted (leaks of a crash between a row's deletion and its files'; never anything a
 *               row owns).
 *
 * The removals of creating/removing containers and pods and the orphan sweep run on the reaper's
 * thread (life_later) once the daemon serves: their flags keep calls off those objects, the sweep
 * touches only what no row owns, and a daemon stopped first leaves the flags for the next start.
 *
 * `litecri check` runs the same decisions without acting on them (life_check): each is reported as
 * a finding with what recovery would do, through found().  Beyond them check reports what no
 * recovery repairs and an operator must look at: the database's own consistency (store_check) and
 * mounts below the root and state directories that no object accounts for.
 */
#include <assert.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri/lifecycle.h"
#include "cri/sandbox.h"
#include "cri/spec/spec.h"
#include "runtime/host.h"
#include "store/store.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/mountinfo.h"

/* One pass of reconciliation: recovery (report == NULL: act) or check (report each finding). */
struct recon {
	struct cri_env *env;
	life_report_fn report;
	void *arg;
	size_t found;
};

/*
 * An inconsistency of object `id` (of `kind`), fmt saying what it is and `remedy` what recovery
 * does about it.  Recovery logs it and gets 1: act now.  Check reports it and gets 0.
 */
__attribute__((format(printf, 5, 6))) static int found(struct recon *r, const char *kind, const char *id,
							const char *remedy, const char *fmt, ...)
{
	char problem[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	r->found++;
	if (!r->report) {
		log_info("%s %s: %s: %s", kind, id, problem, remedy);
		return 1;
	}
	r->report(r->arg, &(struct life_finding){ .kind = kind, .id = id, .problem = problem, .remedy = remedy });
	return 0;
}

/* The runtime no longer runs id (recorded as `was`): its exit, unless conmon is alive and about to
 * report it. */
static void record_lost_exit(struct recon *r, const char *kind, const char *id, const char *was)
{
	if (!life_monitor_alive(r->env, id) &&
	    found(r, kind, id, "recovery records its exit (the exit file's code, else 255)",
		  "recorded %s but the runtime no longer runs it", was))
		life_record_lost_exit(r->env, id, NULL);
}

static enum rt_state runtime_state(struct cri_env *env, const char *id)
{
	struct lc_err err = { 0 };
	enum rt_state st = RT_MISSING;
	pid_t pid;
	if (rt_state(env->lc->rt, id, &st, &pid, &err) < 0) {
		log_warn("%s: runtime state unreadable: %s", id, err.msg);
		return RT_PAUSED; /* unknown: leave it as recorded */
	}
	return st;
}

/*
 * After a reboot, without asking the runtime or conmon (their state went with /run, and a PID in a
 * surviving pidfile may be anyone's now): EXITED with conmon's exit code if its exit file
 * survived, else 255; an interrupted start is over.
 */
static void container_rebooted(struct recon *r, const struct container_row *c)
{
	struct cri_env *env = r->env;
	struct lc_err err = { 0 };
	if (!found(r, "container", c->id, "recovery records it EXITED (the exit file's code, else 255)",
		   "recorded %s%s before the host rebooted", life_ctr_state_name(c->state),
		   c->starting ? " and starting" : ""))
		return;
	if (c->state != CTR_EXITED && life_record_lost_exit(env, c->id, &err) < 0)
		return; /* logged; the next start (same boot) finds the runtime does not run it either */
	if (c->starting && store_flag_reset(env->store, FLAG_CTR_STARTING, c->id, &err) < 0)
		log_error("container %s: %s", c->id, err.msg);
}

/*
 * On the reaper's thread (life_later), after recovery: finish the removal of container id whose
 * creating or removing flag recovery found set.  The flag keeps every call off it meanwhile; a
 * failed removal resets `removing` (a call may retry it) and leaves `creating` for the next start.
 */
static void container_finish(struct cri_env *env, const char *id)
{
	struct lc_err err = { 0 };
	struct arena a;
	arena_init(&a);
	struct container_row c;
	if (store_container_get(env->store, id, &a, &c, &err) < 0) {
		if (err.errnum != ENOENT) /* ENOENT: its pod's removal, finished first, took it */
			log_error("recovery: container %s: %s", id, err.msg);
	} else if (c.creating || c.removing) {
		if (life_container_teardown(env, id, &err) < 0 || store_container_delete(env->store, id, &err) < 0) {
			log_error("recovery: container %s: %s", id, err.msg);
			if (c.removing && store_flag_reset(env->store, FLAG_CTR_REMOVING, id, &err) < 0)
				log_error("recovery: container %s: %s", id, err.msg);
		} else {
			log_info("recovery: container %s removed (its interrupted %s finished)", id,
				 c.creating ? "create" : "removal");
		}
	}
	arena_release(&a);
}

static void recover_container(struct recon *rc_, const struct container_row *c, int rebooted)
{
	struct cri_env *env = rc_->env;
	struct lc_err err = { 0 };
	const char *id = c->id;
	if (c->creating || c->removing) {
		if (found(rc_, "container", id, "recovery removes it (the removal a call would have finished)",
			  "flag %s set: a %s in flight, or interrupted", c->creating ? "creating" : "removing",
			  c->creating ? "create" : "removal"))
			life_later(env, id, container_finish);
		return;
	}
	if (c->updating && found(rc_, "container", id, "recovery re-applies the recorded resources and clears the flag",
				  "flag updating set: a resource update in flight, or interrupted")) {
		const char *outcome = rebooted ? "the host rebooted: nothing to re-apply"
					       : "not running: nothing to re-apply";
		if (!rebooted && (c->state == CTR_CREATED || c->state == CTR_RUNNING)) {
			struct arena a;
			arena_init(&a);
			json_auto_t *res = NULL;
			const Runtime__V1__LinuxContainerResources *r = life_container_resources(&a, c, NULL);
			if (!r)
				outcome = "it has no resources to re-apply";
			else if (spec_resources(r, &res, &err) == 0 && life_container_apply_resources(env, id, res, &err) == 0)
				outcome = "recorded resources re-applied";
			else {
				outcome = "re-applying the recorded resources failed";
				log_warn("container %s: recorded resources not re-applied: %s", id, err.msg);
			}
			arena_release(&a);
		}
		if (store_flag_reset(env->store, FLAG_CTR_UPDATING, id, &err) < 0)
			log_error("container %s: %s", id, err.msg);
		else
			log_info("container %s: resource update interrupted: %s", id, outcome);
	}
	if (c->state == CTR_EXITED && !c->starting) {
		/* Its exit was recorded; the reaper's delete of its runtime container had not finished
		 * (the daemon was stopped or killed first, or the delete failed): queued again.  Not a
		 * finding: between an exit and its delete this is how things are. */
		if (!rc_->report && !rebooted && runtime_state(env, id) != RT_MISSING)
			life_reap(env, id);
		return;
	}
	if (rebooted) {
		container_rebooted(rc_, c);
		return;
	}
	enum rt_state st = runtime_state(env, id);
	if (c->starting) {
		const char *says = st == RT_RUNNING ? "running" : st == RT_CREATED ? "created" : "gone";
		if (!found(rc_, "container", id,
			   st == RT_RUNNING   ? "recovery records it RUNNING"
			   : st == RT_CREATED ? "recovery clears the flag (it stays CREATED)"
					      : "recovery records its exit and clears the flag",
			   "flag starting set (a start in flight, or interrupted); the runtime says %s", says))
			return;
		int rc = 0;
		if (st == RT_RUNNING) {
			rc = store_container_started(env->store, id, cri_now(), &err);
		} else {
			if (st != RT_CREATED && !life_monitor_alive(env, id))
				life_record_lost_exit(env, id, NULL);
			rc = store_flag_reset(env->store, FLAG_CTR_STARTING, id, &err);
		}
		if (rc < 0)
			log_error("container %s: %s", id, err.msg);
		return;
	}
	if (st == RT_MISSING || st == RT_STOPPED)
		record_lost_exit(rc_, "container", id, life_ctr_state_name(c->state));
}

/* The DEL of pod id's network, with the configuration its row recorded; 0 or -1 (logged). */
static int network_del(struct cri_env *env, struct arena *a, const char *id)
{
	struct lc_err err = { 0 };
	if (sandbox_net_teardown(env, a, id, &err) == 0)
		return 0;
	log_error("sandbox %s: network DEL: %s (retried by StopPodSandbox, RemovePodSandbox and the next start)", id,
		  err.msg);
	return -1;
}

/*
 * As container_finish, for pod id whose creating or removing flag recovery found set: the DEL of
 * an interrupted or failed network ADD or DEL first (a DEL that fails keeps the row, whose
 * recorded configuration the next DEL needs), then its containers and itself.
 */
static void sandbox_finish(struct cri_env *env, const char *id)
{
	struct lc_err err = { 0 };
	struct arena a;
	arena_init(&a);
	struct sandbox_row sb;
	if (store_sandbox_get(env->store, id, &a, &sb, &err) < 0) {
		log_error("recovery: sandbox %s: %s", id, err.msg);
		goto out;
	}
	if (!sb.creating && !sb.removing)
		goto out;
	int rc = 0;
	if ((sb.network == NET_ADDING || sb.network == NET_DELETING) && network_del(env, &a, id) < 0)
		rc = -1; /* never delete a row whose DEL is due: it would be lost */
	char(*ids)[OBJ_ID_BUF];
	size_t n = 0;
	if (rc == 0)
		rc = store_sandbox_containers(env->store, id, &a, &ids, &n, &err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (life_container_teardown(env, ids[i], &err) < 0 || store_container_delete(env->store, ids[i], &err) < 0)
			rc = -1;
	if (rc == 0 && (life_sandbox_teardown(env, id, &err) < 0 || store_sandbox_delete(env->store, id, &err) < 0))
		rc = -1;
	if (rc == 0) {
		log_info("recovery: sandbox %s removed (its interrupted %s finished)", id,
			 sb.creating ? "create" : "removal");
	} else {
		if (err.msg[0])
			log_error("recovery: sandbox %s: %s", id, err.msg);
		if (sb.removing && store_flag_reset(env->store, FLAG_SANDBOX_REMOVING, id, &err) < 0)
			log_error("recovery: sandbox %s: %s", id, err.msg);
	}
out:
	arena_release(&a);
}

static void recover_sandbox(struct recon *r, struct arena *a, const struct sandbox_row *sb, int rebooted)
{
	struct cri_env *env = r->env;
	struct lc_err err = { 0 };
	const char *id = sb->id;
	int net_due = sb->network == NET_ADDING || sb->network == NET_DELETING;
	if (sb->creating || sb->removing) {
		/* both findings reported by check; recovery leaves the work to the reaper */
		int del = net_due && found(r, "sandbox", id, "recovery runs the CNI DEL with the recorded configuration",
					   "network %s interrupted or failed", sb->network == NET_ADDING ? "ADD" : "DEL");
		if (found(r, "sandbox", id, "recovery removes it and its containers", "flag %s set: a %s in flight, or interrupted",
			  sb->creating ? "creating" : "removing", sb->creating ? "create" : "removal") ||
		    del)
			life_later(env, id, sandbox_finish);
		return;
	}
	if (net_due && found(r, "sandbox", id, "recovery runs the CNI DEL with the recorded configuration",
			     "network %s interrupted or failed", sb->network == NET_ADDING ? "ADD" : "DEL"))
		network_del(env, a, id);
	if (sb->stopping &&
	    found(r, "sandbox", id, "recovery clears the flag", "flag stopping set: a stop in flight, or interrupted") &&
	    store_flag_reset(env->store, FLAG_SANDBOX_STOPPING, id, &err) < 0)
		log_error("sandbox %s: %s", id, err.msg);
	if (sb->state == SANDBOX_READY && rebooted) {
		/* NOTREADY, the runtime not asked: as container_rebooted */
		if (found(r, "sandbox", id, "recovery records it NOTREADY", "recorded READY before the host rebooted"))
			life_record_lost_exit(env, id, NULL);
	} else if (sb->state == SANDBOX_READY && sb->infra) { /* without one, the pins are the pod */
		enum rt_state st = runtime_state(env, id);
		if (st == RT_MISSING || st == RT_STOPPED)
			record_lost_exit(r, "sandbox", id, "READY");
	}
}

/* 1 if a container or sandbox row has this ID. */
static int owned(struct cri_env *env, struct arena *a, const char *id)
{
	struct lc_err err = { 0 };
	struct container_row c;
	struct sandbox_row s;
	if (store_container_get(env->store, id, a, &c, &err) == 0)
		return 1;
	if (err.errnum != ENOENT)
		return 1; /* unreadable: never delete what might be owned */
	if (store_sandbox_get(env->store, id, a, &s, &err) == 0)
		return 1;
	return err.errnum != ENOENT;
}

/* Delete every entry of dir that no row owns, with `teardown`. */
static void sweep_dir(struct recon *r, struct arena *a, const char *dir,
		      int (*teardown)(struct cri_env *, const char *, struct lc_err *))
{
	struct cri_env *env = r->env;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			log_warn("recovery: cannot read %s: %s", dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!id_is_hex(e->d_name, OBJ_ID_LEN, OBJ_ID_LEN)) {
			log_warn("recovery: %s/%s is not litecri's: left alone", dir, e->d_name);
			continue;
		}
		if (owned(env, a, e->d_name))
			continue;
		char path[PATH_MAX + 80];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!found(r, "directory", path, "recovery removes it (and unmounts what litecri mounted there)",
			   "no container or pod row owns it"))
			continue;
		struct lc_err err = { 0 };
		if (teardown(env, e->d_name, &err) < 0)
			log_error("recovery: leftover %s: %s", path, err.msg);
	}
	closedir(d);
}

/*
 * *rebooted = 1 if the host rebooted since the boot ID recorded by the last start (state under /run
 * is gone, and every process with it); record the current one (if `record`).  The ID is read from
 * cfg->boot_id_path (the kernel's, unless a test fakes a reboot).
 */
static int check_boot(struct cri_env *env, int record, int *rebooted, struct lc_err *err)
{
	char boot[64], last[64];
	*rebooted = 0;
	host_boot_id(env->cfg->boot_id_path, boot, sizeof boot);
	if (!boot[0]) {
		log_warn("recovery: no boot ID in %s: a reboot is noticed only by the runtime's state",
			 env->cfg->boot_id_path);
		return 0;
	}
	if (store_host_get(env->store, "boot_id", last, sizeof last, err) < 0)
		return -1;
	*rebooted = last[0] && strcmp(last, boot);
	if (!record)
		return 0;
	if (*rebooted)
		log_info("recovery: the host rebooted since the last start (boot %s, was %s): every recorded process is "
			 "gone: every container not EXITED becomes EXITED, every pod NOTREADY", boot, last);
	return strcmp(last, boot) ? store_host_set(env->store, "boot_id", boot, err) : 0;
}

/* Orphans: runtime containers first (they hold the mounts), then files. */
static void orphans(struct recon *r, struct arena *a)
{
	struct cri_env *env = r->env;
	char **rids = NULL;
	size_t rn = 0;
	struct lc_err e = { 0 };
	if (rt_list(env->lc->rt, &rids, &rn, &e) < 0) {
		log_warn("recovery: cannot list the runtime's containers: %s", e.msg);
	} else {
		for (size_t i = 0; i < rn; i++) {
			if (id_is_hex(rids[i], OBJ_ID_LEN, OBJ_ID_LEN) && !owned(env, a, rids[i]) &&
			    found(r, "runtime", rids[i], "recovery deletes it (and the runtime's leftovers of it)",
				  "a runtime container (or its exit file or attach socket) no row owns")) {
				if (rt_delete(env->lc->rt, rids[i], &e) == 0)
					log_info("recovery: deleted orphan runtime container %s", rids[i]);
				else if (e.errnum == ENOENT)
					log_info("recovery: removed the runtime's leftovers of container %s", rids[i]);
				else
					log_error("recovery: orphan runtime container %s: %s", rids[i], e.msg);
			}
			free(rids[i]);
		}
		free(rids);
	}
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/containers", env->cfg->state);
	sweep_dir(r, a, dir, life_container_teardown);
	snprintf(dir, sizeof dir, "%s/containers", env->cfg->root);
	sweep_dir(r, a, dir, life_container_teardown);
	snprintf(dir, sizeof dir, "%s/sandboxes", env->cfg->state);
	sweep_dir(r, a, dir, life_sandbox_teardown);
	snprintf(dir, sizeof dir, "%s/sandboxes", env->cfg->root);
	sweep_dir(r, a, dir, life_sandbox_teardown);
}

/* On the reaper's thread (life_later): recovery's orphan sweep.  Only what no row owns is
 * deleted, and every object a call makes has its row before its runtime container or files. */
static void orphans_job(struct cri_env *env, const char *id)
{
	assert(!*id);
	(void)id;
	struct recon r = { .env = env };
	struct arena a;
	arena_init(&a);
	int64_t t0 = metrics_now_us();
	orphans(&r, &a);
	log_info("recovery: orphans swept in %.1f ms (%zu found)", (double)(metrics_now_us() - t0) / 1000.0, r.found);
	arena_release(&a);
}

/* On the reaper's thread, after the work recovery left to it: say so. */
static void recovered(struct cri_env *env, const char *id)
{
	(void)env;
	(void)id;
	log_info("recovery: the work left to the background is done");
}

/* The reconciliation recovery acts on and check reports (r->report set). */
static int reconcile(struct recon *r, struct lc_err *err)
{
	struct cri_env *env = r->env;
	struct arena a;
	arena_init(&a);
	int rc = -1;
	char (*ids)[OBJ_ID_BUF];
	size_t n, n_containers;
	int rebooted;
	int64_t t0 = metrics_now_us();
	if (check_boot(env, r->report == NULL, &rebooted, err) < 0)
		goto out;
	if (store_container_ids(env->store, &a, &ids, &n, err) < 0)
		goto out;
	n_containers = n;
	for (size_t i = 0; i < n; i++) {
		struct container_row c;
		struct lc_err e = { 0 };
		if (store_container_get(env->store, ids[i], &a, &c, &e) == 0)
			recover_container(r, &c, rebooted);
		else if (e.errnum != ENOENT) /* ENOENT: removed since the list was read (check) */
			log_error("recovery: container %s: %s", ids[i], e.msg);
	}
	if (store_sandbox_ids(env->store, &a, &ids, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct sandbox_row s;
		struct lc_err e = { 0 };
		if (store_sandbox_get(env->store, ids[i], &a, &s, &e) == 0)
			recover_sandbox(r, &a, &s, rebooted);
		else if (e.errnum != ENOENT)
			log_error("recovery: sandbox %s: %s", ids[i], e.msg);
	}
	if (r->report)
		orphans(r, &a);
	else /* nothing a call makes is touched: a new object's row comes before its files */
		life_later(env, "", orphans_job);
	/* the daemon serves no call before this: the time a restart keeps kubelet waiting */
	if (!r->report) {
		log_info("recovery: %zu containers, %zu pods in %.1f ms", n_containers, n,
			 (double)(metrics_now_us() - t0) / 1000.0);
		metrics_recovery(metrics_now_us() - t0);
		life_later(env, "", recovered); /* after every job queued above */
	}
	rc = 0;
out:
	arena_release(&a);
	return rc;
}

int life_recover(struct cri_env *env, struct lc_err *err)
{
	struct recon r = { .env = env };
	return reconcile(&r, err);
}

/* --- check only --------------------------------------------------------------------------- */

struct mount_scan {
	struct recon *r;
	struct arena *a;
	const char *base; /* <state> or <root>, canonical */
};

/*
 * A mount below base is litecri's when it is where litecri mounts for an object a row owns:
 * <state>/containers/<id>/rootfs (and whatever is mounted inside the container's root), and
 * <state>/sandboxes/<id>/{shm,ns,ns/<kind>}.  One below an ID no row owns belongs to that
 * leftover directory (reported with it); anything else is reported here.
 */
static void check_mount(void *arg, const char *target)
{
	struct mount_scan *m = arg;
	const char *rel = target + strlen(m->base) + 1;
	char kind[16], id[OBJ_ID_BUF], rest[PATH_MAX];
	rest[0] = '\0';
	int k = sscanf(rel, "%15[^/]/%64[0-9a-f]/%4095s", kind, id, rest);
	int is_ctr = k >= 2 && strcmp(kind, "containers") == 0, is_sb = k >= 2 && strcmp(kind, "sandboxes") == 0;
	if ((is_ctr || is_sb) && strlen(id) == OBJ_ID_LEN) {
		if (!owned(m->r->env, m->a, id))
			return; /* inside a leftover directory: reported (and removed by recovery) with it */
		if (is_ctr && (strcmp(rest, "rootfs") == 0 || strncmp(rest, "rootfs/", 7) == 0))
			return;
		if (is_sb && (strcmp(rest, "shm") == 0 || strcmp(rest, "ns") == 0 || strncmp(rest, "ns/", 3) == 0))
			return;
	}
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "unmount it by hand (umount %s) if nothing uses it", target);
	found(m->r, "mount", target, cmd, "a mount below litecri's directories that no object accounts for");
}

static void check_db(void *arg, const char *problem)
{
	struct recon *r = arg;
	found(r, "database", r->env->cfg->db, "restore a backup or rebuild; see docs/database.md", "%s", problem);
}

int life_check(struct cri_env *env, life_report_fn report, void *arg, size_t *n_found, struct lc_err *err)
{
	assert(report);
	struct recon r = { .env = env, .report = report, .arg = arg };
	if (store_check(env->store, check_db, &r, err) < 0 || reconcile(&r, err) < 0)
		return -1;
	struct arena a;
	arena_init(&a);
	const char *bases[] = { env->cfg->state, env->cfg->root };
	int rc = 0;
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		char canon[PATH_MAX];
		if (!realpath(bases[i], canon))
			continue; /* no such directory: nothing mounted below it */
		struct mount_scan m = { .r = &r, .a = &a, .base = canon };
		rc = mountinfo_under(canon, check_mount, &m, err);
	}
	arena_release(&a);
	*n_found = r.found;
	return rc;
}
