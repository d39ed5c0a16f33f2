/* migrate.c — see migrate.h. */
#include "store/migrate.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"

/*
 * Copy the live database to `dest` with the online backup API: written to "<dest>.tmp" and
 * renamed into place, so a crash never leaves a half-written file under the final name.
 */
static int backup_db(sqlite3 *src, const char *dest, struct lc_err *err)
{
	char tmp[PATH_MAX + 8];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", dest) >= (int)sizeof tmp)
		return lc_fail(err, ENAMETOOLONG, "backup %s", dest);
	unlink(tmp);
	sqlite3 *dst = NULL;
	int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		lc_fail(err, 0, "backup %s: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		sqlite3_close(dst);
		return -1;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		lc_fail(err, 0, "backup %s: %s", tmp, sqlite3_errmsg(dst));
		sqlite3_close(dst);
		unlink(tmp);
		return -1;
	}
	rc = sqlite3_backup_step(b, -1);
	int frc = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || frc != SQLITE_OK) {
		lc_fail(err, 0, "backup %s: %s", tmp, sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
		sqlite3_close(dst);
		unlink(tmp);
		return -1;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		lc_fail(err, 0, "backup %s: close failed", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dest) < 0) {
		int e = errno;
		unlink(tmp);
		return lc_fail(err, e, "backup: rename %s to %s", tmp, dest);
	}
	return 0;
}

/*
 * The newest backup of path that backup_db made ("<path>.v<N>.bak", highest N) into out; 0 if
 * there is none.  Returns its N.
 */
static int newest_backup(const char *path, char *out, size_t cap)
{
	char dir[PATH_MAX], base[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	snprintf(base, sizeof base, "%s", slash ? slash + 1 : path);
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t bl = strlen(base);
	int best = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int v, end = 0;
		if (strncmp(e->d_name, base, bl) || sscanf(e->d_name + bl, ".v%d.bak%n", &v, &end) != 1 ||
		    e->d_name[bl + (size_t)end] != '\0' || v <= best)
			continue;
		best = v;
		snprintf(out, cap, "%s.v%d.bak", path, v);
	}
	closedir(d);
	return best;
}

/*
 * Refuse a database file SQLite cannot read, or whose pages PRAGMA quick_check finds damaged, with
 * one message naming the file, what is wrong and what to do (the newest backup, if any).  Nothing
 * is written to it.  A missing file is a new database; so is an empty (0-byte) one — it holds no
 * data to lose (a create that crashed before its first commit leaves one) — said in the log.
 */
static int check_db(const char *path, struct lc_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : lc_fail(err, errno, "database %s", path);
	if (!S_ISREG(st.st_mode))
		return lc_fail(err, 0, "database %s is not a regular file: refusing to use it", path);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		lc_fail(err, 0, "open database %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	char problem[512] = "";
	int version = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL) != SQLITE_OK) {
		rc = sqlite3_errcode(db);
		snprintf(problem, sizeof problem, "%s", sqlite3_errmsg(db));
	} else if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(q, 0);
		if (r && strcmp(r, "ok")) {
			snprintf(problem, sizeof problem, "quick_check: %s", r);
			rc = SQLITE_CORRUPT;
		} else {
			rc = SQLITE_OK;
		}
	} else {
		snprintf(problem, sizeof problem, "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_OK)
		rc = store_user_version(db, &version, err) < 0 ? SQLITE_ERROR : SQLITE_OK;
	sqlite3_close(db);
	if (rc == SQLITE_OK) {
		if (st.st_size == 0 && version == 0)
			log_warn("database %s is an empty file: initializing it as a new database", path);
		return 0;
	}
	if ((rc & 0xff) != SQLITE_CORRUPT && (rc & 0xff) != SQLITE_NOTADB)
		return problem[0] ? lc_fail(err, 0, "database %s: %s", path, problem) : -1;
	for (char *p = problem; *p; p++)
		if (*p == '\n')
			*p = ' ';
	char backup[PATH_MAX + 32];
	int bv = newest_backup(path, backup, sizeof backup);
	char advice[2 * PATH_MAX];
	if (bv > 0)
		snprintf(advice, sizeof advice,
			 "restore a copy taken while litecri was stopped, e.g. the newest backup litecri made, %s "
			 "(schema version %d, taken before a migration: pods and containers created since are not in it)",
			 backup, bv);
	else
		snprintf(advice, sizeof advice,
			 "restore a copy taken while litecri was stopped (litecri itself backs up to %s.v<N>.bak only "
			 "before a migration, and there is none)", path);
	return lc_fail(err, 0,
		       "database %s %s (%s): refusing to use it; stop here and %s, or move the file away to start "
		       "with an empty database (the containers litecri runs now are then removed as unknown)",
		       path, (rc & 0xff) == SQLITE_NOTADB ? "is not an SQLite database" : "is damaged", problem, advice);
}

/* Run sql; on error fill err (prefixed by what) and return -1. */
static int exec(sqlite3 *db, const char *sql, const char *what, struct lc_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		lc_fail(err, 0, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* 0 when PRAGMA foreign_key_check reports no violation; else names the first one. */
static int fk_check(sqlite3 *db, const char *what, struct lc_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		return lc_fail(err, 0, "%s: foreign_key_check: %s", what, sqlite3_errmsg(db));
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW)
		ret = lc_fail(err, 0, "%s: leaves a row of table %s violating a foreign key to %s", what,
			      (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 2));
	else if (rc != SQLITE_DONE)
		ret = lc_fail(err, 0, "%s: foreign_key_check: %s", what, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ret;
}

/* Apply one migration in one transaction; the version bump commits with it or not at all. */
static int apply_one(sqlite3 *db, const struct migration *mg, struct lc_err *err)
{
	char what[256], bump[64];
	snprintf(what, sizeof what, "migration %s", mg->name);
	snprintf(bump, sizeof bump, "PRAGMA user_version = %d", mg->version);
	if (exec(db, "BEGIN IMMEDIATE", what, err) < 0)
		return -1;
	if (exec(db, mg->sql, what, err) < 0 || fk_check(db, what, err) < 0 ||
	    exec(db, bump, what, err) < 0 || exec(db, "COMMIT", what, err) < 0) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int migrate_db(const char *path, const struct migration *m, size_t n,
	       struct migrate_result *res, struct lc_err *err)
{
	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < n; i++)
		assert(m[i].version == (int)i + 1 && m[i].name && m[i].sql);
	const int latest = (int)n;

	if (check_db(path, err) < 0)
		return -1;
	sqlite3 *db = store_connect(path, err);
	if (!db)
		return -1;
	int ret = -1;
	if (store_user_version(db, &res->from, err) < 0)
		goto out;
	res->to = res->from;
	if (res->from > latest) {
		lc_fail(err, 0, "database %s has schema version %d, newer than the %d this litecri knows; "
			"refusing to use it (run a newer litecri, or restore a backup)", path, res->from, latest);
		goto out;
	}
	if (res->from == latest) {
		ret = 0;
		goto out;
	}
	if (res->from > 0) {
		snprintf(res->backup, sizeof res->backup, "%s.v%d.bak", path, res->from);
		if (backup_db(db, res->backup, err) < 0) {
			res->backup[0] = '\0';
			goto out;
		}
		log_info("migrate: backed up %s (schema version %d) to %s", path, res->from, res->backup);
	}
	/* Schema changes that rebuild tables need enforcement off; fk_check verifies the result. */
	if (exec(db, "PRAGMA foreign_keys=OFF", "migrate", err) < 0)
		goto out;
	for (int v = res->from + 1; v <= latest; v++) {
		const struct migration *mg = &m[v - 1];
		if (apply_one(db, mg, err) < 0) {
			lc_wrap(err, "database %s stays at schema version %d", path, res->to);
			goto out;
		}
		res->to = v;
		log_info("migrate: %s applied %s (schema version %d)", path, mg->name, v);
	}
	ret = 0;
out:
	sqlite3_close(db);
	return ret;
}
