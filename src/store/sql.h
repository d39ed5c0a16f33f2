/*
 * sql.h — small helpers shared by the files of src/store/ (internal: nothing outside src/store/
 * includes it).  Each returns -1 with *err filled on failure, naming what was being done.
 */
#ifndef LITECRI_STORE_SQL_H
#define LITECRI_STORE_SQL_H

#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/err.h"

/* A C integer constant (a macro, e.g. CTR_EXITED) as an SQL literal: "state = " SQL_INT(CTR_EXITED). */
#define SQL_INT(c) SQL_INT_(c)
#define SQL_INT_(c) #c

/*
 * Fill err from db's last error: a foreign-key violation is EINVAL; a full disk (SQLITE_FULL, or an
 * I/O error whose system error is ENOSPC/EDQUOT) ENOSPC, so the message ends "database or disk is
 * full: No space left on device"; anything else EIO, naming the system error of an I/O error when
 * it is not plain EIO (e.g. "disk I/O error (system error: Read-only file system)").
 */
static inline int db_fail(sqlite3 *db, struct lc_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
	int ioerr = (code & 0xff) == SQLITE_IOERR;
	if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
		return lc_fail(err, EINVAL, "%s: %s", what, sqlite3_errmsg(db));
	if ((code & 0xff) == SQLITE_FULL || (ioerr && (sys == ENOSPC || sys == EDQUOT)))
		return lc_fail(err, ENOSPC, "%s: %s", what, sqlite3_errmsg(db));
	if (ioerr && sys > 0 && sys != EIO)
		return lc_fail(err, EIO, "%s: %s (system error: %s)", what, sqlite3_errmsg(db), strerror(sys));
	return lc_fail(err, EIO, "%s: %s", what, sqlite3_errmsg(db));
}

/* This thread's cached statement for sql (a literal); reset by cleanup_stmt. */
static inline int prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct lc_err *err)
{
	*st = store_stmt(s, sql, err);
	return *st ? 0 : -1;
}

static inline int exec(sqlite3 *db, const char *sql, struct lc_err *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, sql);
	return 0;
}

/* Run a prepared statement that returns no rows to completion. */
static inline int step_done(sqlite3 *db, sqlite3_stmt *st, struct lc_err *err, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(db, err, what);
	return 0;
}

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

#endif
