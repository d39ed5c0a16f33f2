/*
 * test_store_faults.c — storage faults under the store's transitions, on real SQLite files.
 *
 * A fault-injecting SQLite VFS wraps the default one and is registered as the default, so the
 * store (which opens its connections with the default VFS) runs on it with no hook of its own.
 * It counts every xWrite, xSync and xTruncate of every file (database, WAL, journal) and, armed
 * with N, fails the N-th:
 *   - "full":  that write and every later one fail with SQLITE_FULL (errno ENOSPC) until disarmed,
 *              as a full file system does until space returns;
 *   - "ioerr": that one operation fails with the I/O error of its kind (errno EIO), once.
 *
 * The test runs a sequence of pod and container transitions through the store's API (the
 * transitions of one pod's life: create, start, exit, stop, remove), first without faults to
 * record the database after each step, then once for every N up to the number of operations the
 * sequence performs, in a fresh database each time.  Whenever a fault fired during a step:
 *   - if the step failed, its error names the cause (errnum ENOSPC and "database or disk is full",
 *     or EIO and "disk I/O error"), and the database is exactly as before the step (every row of
 *     every table, flags included: nothing half-written, nothing stuck);
 *   - if it succeeded (the fault hit work after the commit, e.g. a checkpoint), the database is
 *     exactly as after the step;
 *   - reads still answer while the disk is "full" (the daemon keeps serving reads);
 *   - PRAGMA integrity_check says ok;
 *   - once disarmed (space returns), the same step on the same connection succeeds and the
 *     sequence completes with the same final database as the fault-free run, also after the
 *     store is closed and reopened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/tmpdir.h"
#include "store/migrate.h"
#include "store/pods.h"
#include "store/store.h"
#include "util/log.h"

#define LATEST ((int)litecri_migrations_count)
#define T_NS 1764344000123456789LL

/* ------------------------------------------------------------------------------------------ */
/* the fault-injecting VFS                                                                    */

enum fault_mode { FAULT_FULL, FAULT_IOERR };

static struct {
	sqlite3_vfs *real;
	long ops;    /* xWrite/xSync/xTruncate calls since fault_arm */
	long target; /* fail the target-th one (1-based); 0: disarmed */
	enum fault_mode mode;
	int fired;   /* a fault was injected since fault_arm */
} F;

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

#define REAL(f) (((struct fault_file *)(f))->real)

/* 0 to go on, else the error the current operation returns (ioerr: the kind's own code). */
static int fault_hit(int ioerr_code)
{
	if (F.target == 0)
		return 0;
	F.ops++;
	int sticky = F.mode == FAULT_FULL && F.fired;
	if (F.ops != F.target && !sticky)
		return 0;
	F.fired = 1;
	errno = F.mode == FAULT_FULL ? ENOSPC : EIO; /* what sqlite3_system_errno reports */
	return F.mode == FAULT_FULL ? SQLITE_FULL : ioerr_code;
}

static int f_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
	f->pMethods = NULL;
	return rc;
}
static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}
static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	int rc = fault_hit(SQLITE_IOERR_WRITE);
	return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	/* a full disk never refuses to shrink a file */
	int rc = F.mode == FAULT_FULL ? 0 : fault_hit(SQLITE_IOERR_TRUNCATE);
	return rc ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
	int rc = F.mode == FAULT_FULL ? 0 : fault_hit(SQLITE_IOERR_FSYNC);
	return rc ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_reserved(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int f_fcntl(sqlite3_file *f, int op, void *arg) { return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_dev(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_methods = {
	.iVersion = 3, .xClose = f_close, .xRead = f_read, .xWrite = f_write, .xTruncate = f_truncate,
	.xSync = f_sync, .xFileSize = f_size, .xLock = f_lock, .xUnlock = f_unlock,
	.xCheckReservedLock = f_reserved, .xFileControl = f_fcntl, .xSectorSize = f_sector,
	.xDeviceCharacteristics = f_dev, .xShmMap = f_shm_map, .xShmLock = f_shm_lock,
	.xShmBarrier = f_shm_barrier, .xShmUnmap = f_shm_unmap, .xFetch = f_fetch, .xUnfetch = f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	(void)vfs;
	struct fault_file *ff = (struct fault_file *)file;
	ff->real = (sqlite3_file *)(ff + 1);
	int rc = F.real->xOpen(F.real, name, ff->real, flags, out_flags);
	/* the real file's methods must be version 3 (WAL needs xShm*), which the unix VFS's are */
	file->pMethods = rc == SQLITE_OK ? &fault_methods : NULL;
	assert_true(rc != SQLITE_OK || ff->real->pMethods->iVersion >= 3);
	return rc;
}

static sqlite3_vfs fault_vfs;

/* Register the fault VFS as the default (every sqlite3_open of this process uses it). */
static void fault_install(void)
{
	if (F.real)
		return;
	F.real = sqlite3_vfs_find(NULL);
	assert_non_null(F.real);
	fault_vfs = *F.real; /* the unix VFS's other methods do not depend on their vfs argument */
	fault_vfs.zName = "litecri-fault";
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) + F.real->szOsFile;
	fault_vfs.xOpen = f_open;
	fault_vfs.pNext = NULL;
	assert_int_equal(sqlite3_vfs_register(&fault_vfs, 1), SQLITE_OK);
}

static void fault_arm(long target, enum fault_mode mode)
{
	F.ops = 0;
	F.target = target;
	F.mode = mode;
	F.fired = 0;
}

static void fault_disarm(void) { F.target = 0; }

/* ------------------------------------------------------------------------------------------ */
/* fixture and database checks                                                                */

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char db[PATH_MAX];
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "faults");
	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state) { return tmpdir_fixture_free(*state); }

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR); /* the migrator logs every step at info */
	fault_install();
	return 0;
}

/* Every row of every table that holds pods and containers, as text (compared byte for byte). */
static char *snapshot(const char *path)
{
	static const char *const tables[] = { "sandboxes", "sandbox_labels", "sandbox_annotations", "containers",
					      "container_labels", "container_annotations", "container_layers", "host" };
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_str *out = sqlite3_str_new(db);
	for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
		char *sql = sqlite3_mprintf("SELECT * FROM %s ORDER BY 1, 2", tables[t]);
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_free(sql);
		sqlite3_str_appendf(out, "[%s]\n", tables[t]);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				if (sqlite3_column_type(st, c) == SQLITE_BLOB) {
					const unsigned char *b = sqlite3_column_blob(st, c);
					for (int i = 0; i < sqlite3_column_bytes(st, c); i++)
						sqlite3_str_appendf(out, "%02x", b[i]);
				} else {
					const unsigned char *v = sqlite3_column_text(st, c);
					sqlite3_str_appendf(out, "%s", v ? (const char *)v : "NULL");
				}
				sqlite3_str_appendchar(out, 1, '|');
			}
			sqlite3_str_appendchar(out, 1, '\n');
		}
		assert_int_equal(rc, SQLITE_DONE);
		sqlite3_finalize(st);
	}
	char *text = sqlite3_str_finish(out);
	assert_non_null(text);
	char *copy = strdup(text);
	sqlite3_free(text);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_non_null(copy);
	return copy;
}

static void assert_integrity(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* the transition sequence                                                                    */

#define SB_ID "c0ffee00000000000000000000000000000000000000000000000000000000a1"
#define CTR_ID "c0ffee00000000000000000000000000000000000000000000000000000000b2"
static const unsigned char CONFIG[] = { 0x0a, 0x03, 'p', 'o', 'd', 0x00, 0xff };
static const struct kv LABELS[] = { { "app", "web" }, { "tier", "front" } };
static const struct kv ANNOTATIONS[] = { { "note", "a" } };

static int step_boot_id(struct store *s, struct lc_err *err) { return store_host_set(s, "boot_id", "boot-1", err); }

static int step_sandbox_insert(struct store *s, struct lc_err *err)
{
	struct obj_new n = { .name = "k8s_POD_web_ns_uid_0", .meta_name = "web", .meta_namespace = "ns",
			     .meta_uid = "uid", .config = CONFIG, .config_len = sizeof CONFIG, .config_digest = "d1",
			     .labels = LABELS, .n_labels = 2, .annotations = ANNOTATIONS, .n_annotations = 1 };
	snprintf(n.id, sizeof n.id, "%s", SB_ID);
	struct obj_holder h;
	return store_sandbox_insert(s, &n, &h, err);
}

static int step_sandbox_created(struct store *s, struct lc_err *err)
{
	return store_sandbox_created(s, SB_ID, 4200, "/run/ns/net", NULL, T_NS, err);
}

static int step_container_insert(struct store *s, struct lc_err *err)
{
	struct obj_new n = { .sandbox_id = SB_ID, .name = "k8s_app_web_ns_uid_0", .meta_name = "app",
			     .config = CONFIG, .config_len = sizeof CONFIG, .config_digest = "d2", .labels = LABELS,
			     .n_labels = 2, .annotations = ANNOTATIONS, .n_annotations = 1, .image = "busybox",
			     .image_ref = "sha256:01", .log_path = "/var/log/pods/app.log", .stop_signal = 15 };
	snprintf(n.id, sizeof n.id, "%s", CTR_ID);
	struct obj_holder h;
	enum refusal why = REFUSED_NONE;
	return store_container_insert(s, &n, &h, &why, err);
}

static int step_container_created(struct store *s, struct lc_err *err)
{
	return store_container_created(s, CTR_ID, 4300, T_NS + 1, err);
}

/* A transition that says it refused counts as a failure of the test, not of the step. */
static int refused(int rc, enum refusal why)
{
	if (rc == 0 && why != REFUSED_NONE)
		fail_msg("transition refused (%d) in a fault-free state", why);
	return rc;
}

static int step_set_starting(struct store *s, struct lc_err *err)
{
	enum refusal why = REFUSED_NONE;
	return refused(store_flag_set(s, FLAG_CTR_STARTING, CTR_ID, &why, err), why);
}

static int step_started(struct store *s, struct lc_err *err)
{
	return store_container_started(s, CTR_ID, T_NS + 2, err);
}

static int step_exited(struct store *s, struct lc_err *err)
{
	int changed = 0;
	int rc = store_container_exited(s, CTR_ID, 137, T_NS + 3, "Error", &changed, err);
	if (rc == 0 && !changed)
		fail_msg("the exit was not recorded");
	return rc;
}

static int step_sandbox_stopping(struct store *s, struct lc_err *err)
{
	enum refusal why = REFUSED_NONE;
	return refused(store_flag_set(s, FLAG_SANDBOX_STOPPING, SB_ID, &why, err), why);
}

static int step_sandbox_stopped(struct store *s, struct lc_err *err)
{
	return store_sandbox_stopped(s, SB_ID, T_NS + 4, err);
}

static int step_container_removing(struct store *s, struct lc_err *err)
{
	enum refusal why = REFUSED_NONE;
	return refused(store_flag_set(s, FLAG_CTR_REMOVING, CTR_ID, &why, err), why);
}

static int step_container_delete(struct store *s, struct lc_err *err) { return store_container_delete(s, CTR_ID, err); }

static int step_sandbox_removing(struct store *s, struct lc_err *err)
{
	enum refusal why = REFUSED_NONE;
	return refused(store_flag_set(s, FLAG_SANDBOX_REMOVING, SB_ID, &why, err), why);
}

static int step_sandbox_delete(struct store *s, struct lc_err *err) { return store_sandbox_delete(s, SB_ID, err); }

static const struct step {
	const char *name;
	int (*run)(struct store *, struct lc_err *);
} STEPS[] = {
	{ "host boot_id", step_boot_id },
	{ "sandbox insert", step_sandbox_insert },
	{ "sandbox created", step_sandbox_created },
	{ "container insert", step_container_insert },
	{ "container created", step_container_created },
	{ "container starting", step_set_starting },
	{ "container started", step_started },
	{ "container exited", step_exited },
	{ "sandbox stopping", step_sandbox_stopping },
	{ "sandbox stopped", step_sandbox_stopped },
	{ "container removing", step_container_removing },
	{ "container delete", step_container_delete },
	{ "sandbox removing", step_sandbox_removing },
	{ "sandbox delete", step_sandbox_delete },
};
#define N_STEPS (sizeof STEPS / sizeof *STEPS)

/* A fresh migrated database at <dir>/<tag>.db, opened as the daemon opens it (no faults). */
static struct store *fresh_store(const struct fx *f, long tag, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%ld.db", f->dir, tag);
	struct migrate_result res;
	struct lc_err err = { 0 };
	struct store *s = NULL;
	if (migrate_db(path, litecri_migrations, litecri_migrations_count, &res, &err) < 0 ||
	    store_open(path, LATEST, &s, &err) < 0)
		fail_msg("%s: %s", path, err.msg);
	return s;
}

/* Reads answer while writes fail: a list and a point read on the store's own connection. */
static void assert_reads_work(struct store *s)
{
	struct arena a;
	arena_init(&a);
	struct lc_err err = { 0 };
	struct sandbox_row *rows;
	size_t n;
	struct obj_filter pf = { .state = -1 };
	if (store_sandbox_list(s, &pf, &a, &rows, &n, &err) < 0)
		fail_msg("ListPodSandbox's read failed while the disk is full: %s", err.msg);
	struct container_row c;
	if (store_container_get(s, CTR_ID, &a, &c, &err) < 0 && err.errnum != ENOENT)
		fail_msg("ContainerStatus's read failed while the disk is full: %s", err.msg);
	arena_release(&a);
}

/*
 * Run the sequence with the fault armed at operation `target` (0: no fault), comparing with the
 * reference snapshots ref[0..N_STEPS] (NULL: record them).  Returns 0 if the fault never fired
 * (the sequence has fewer operations than target), 1 if it fired and every step succeeded anyway,
 * 2 if it made a step fail.
 */
static int run_sequence(const struct fx *f, long target, enum fault_mode mode, char **ref)
{
	char path[PATH_MAX];
	struct store *s = fresh_store(f, target, path, sizeof path);
	if (!ref[0])
		ref[0] = snapshot(path);
	fault_arm(target, mode);
	int fired = 0, failed = 0;
	for (size_t i = 0; i < N_STEPS; i++) {
		struct lc_err err = { 0 };
		int rc = STEPS[i].run(s, &err);
		if (!F.fired || fired) {
			if (rc < 0)
				fail_msg("%s failed without a fault: %s", STEPS[i].name, err.msg);
			if (!ref[i + 1])
				ref[i + 1] = snapshot(path);
			continue;
		}
		/* the fault fired during this step */
		fired = 1;
		if (mode == FAULT_FULL)
			assert_reads_work(s); /* still "full" here */
		fault_disarm();
		char *now = snapshot(path);
		if (rc < 0) {
			failed = 1;
			if (mode == FAULT_FULL && (err.errnum != ENOSPC || !strstr(err.msg, "database or disk is full") ||
						   !strstr(err.msg, "No space left on device")))
				fail_msg("op %ld: %s: a full disk must be named (ENOSPC): errnum %d, \"%s\"", target,
					 STEPS[i].name, err.errnum, err.msg);
			if (mode == FAULT_IOERR && (err.errnum != EIO || !strstr(err.msg, "disk I/O error")))
				fail_msg("op %ld: %s: an I/O error must be named (EIO): errnum %d, \"%s\"", target,
					 STEPS[i].name, err.errnum, err.msg);
			if (strcmp(now, ref[i]))
				fail_msg("op %ld: %s failed (%s) but the database is not as before it:\n%s\nwanted:\n%s",
					 target, STEPS[i].name, err.msg, now, ref[i]);
		} else if (strcmp(now, ref[i + 1])) {
			fail_msg("op %ld: %s succeeded through a fault but the database is not as after it:\n%s\n"
				 "wanted:\n%s", target, STEPS[i].name, now, ref[i + 1]);
		}
		free(now);
		assert_integrity(path);
		if (rc < 0 && STEPS[i].run(s, &err) < 0) /* space returned: the same call succeeds */
			fail_msg("op %ld: %s failed again after the fault was gone: %s", target, STEPS[i].name,
				 err.msg);
		now = snapshot(path);
		if (strcmp(now, ref[i + 1]))
			fail_msg("op %ld: %s retried: the database is not as after it:\n%s\nwanted:\n%s", target,
				 STEPS[i].name, now, ref[i + 1]);
		free(now);
	}
	fault_disarm();
	store_close(s);
	/* reopened (the WAL checkpointed and removed on close): the same final database */
	assert_integrity(path);
	char *end = snapshot(path);
	assert_string_equal(end, ref[N_STEPS]);
	free(end);
	return fired + failed;
}

static void sweep(void **state, enum fault_mode mode)
{
	struct fx *f = *state;
	char *ref[N_STEPS + 1] = { 0 };
	assert_int_equal(run_sequence(f, 0, mode, ref), 0);
	long target = 1, failures = 0;
	int r;
	for (; (r = run_sequence(f, target, mode, ref)) != 0; target++)
		failures += r == 2;
	print_message("%ld operations, %ld faults made a transition fail\n", target - 1, failures);
	/* every transition was hit at least once (a commit is at least a WAL write and a sync) */
	assert_true(failures >= (long)N_STEPS);
	for (size_t i = 0; i <= N_STEPS; i++)
		free(ref[i]);
}

/* A full disk at every write of the sequence (until space returns). */
static void test_full_at_every_write(void **state) { sweep(state, FAULT_FULL); }

/* An I/O error at every write, sync and truncate of the sequence (once). */
static void test_ioerr_at_every_write(void **state) { sweep(state, FAULT_IOERR); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_at_every_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioerr_at_every_write, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
