/*
 * store.h — the SQLite database that holds every litecri record.  All SQL lives in src/store/.
 *
 * One database file, opened in WAL mode with synchronous=FULL, foreign_keys=ON and a busy
 * timeout.  Each thread gets its own connection (opened on first use, kept until the thread
 * releases it or store_close), so readers never wait for each other and writers serialize in
 * SQLite (BEGIN IMMEDIATE), never in a lock of ours.
 */
#ifndef LITECRI_STORE_STORE_H
#define LITECRI_STORE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "util/err.h"

#define STORE_BUSY_TIMEOUT_MS 10000

struct store;

/*
 * Open one connection to `path` (created if missing) and apply the connection settings above.
 * Used by the store's per-thread pool and by the migrator.  Returns NULL with *err filled.
 */
sqlite3 *store_connect(const char *path, struct lc_err *err);

/* Read PRAGMA user_version of db into *version. */
int store_user_version(sqlite3 *db, int *version, struct lc_err *err);

/*
 * Open the store on an already migrated database: its schema version must equal `version`
 * (else refused, naming both versions).  *out is owned by the caller until store_close.
 */
int store_open(const char *path, int version, struct store **out, struct lc_err *err);

/*
 * This thread's connection to s, opened on first use.  NULL with *err filled on failure —
 * among them, when the database file store_open opened is no longer at its path (removed or
 * replaced: a new connection would create an empty database there).
 */
sqlite3 *store_conn(struct store *s, struct lc_err *err);

/*
 * The prepared statement for `sql` on this thread's connection, prepared on first use and kept
 * until store_close.  `sql` must be a string literal (or otherwise live as long as the store): it
 * is cached by its address.  Use it with
 *     cleanup_stmt sqlite3_stmt *st = store_stmt(s, SQL, err);
 * so that it is reset and its bindings cleared on every exit path; never finalize it.
 */
sqlite3_stmt *store_stmt(struct store *s, const char *sql, struct lc_err *err);
void store_stmt_done(sqlite3_stmt **st);
#define cleanup_stmt __attribute__((cleanup(store_stmt_done)))

/*
 * Close this thread's connection to s, if it has one; its next store call opens a new one.  A
 * thread that ends while s stays open must call it first: each connection holds descriptors
 * (database, WAL, shm), a page cache and prepared statements, and the worker pool's threads come
 * and go (three bursts of 16 ExecSync leaked 24 fds and ~100 MB each before it existed).
 */
void store_conn_release(struct store *s);

/*
 * The database's own consistency: each line `PRAGMA integrity_check` reports other than "ok", and
 * each row `PRAGMA foreign_key_check` reports (as "<table> row <rowid> refers to a missing
 * <parent> row"), passed to fn.  Read-only: safe beside a running daemon.  -1 only when the checks
 * cannot run.
 */
int store_check(struct store *s, void (*fn)(void *arg, const char *problem), void *arg, struct lc_err *err);

/*
 * Commit notifications: a write that may have added rows to the events table (store/events.h) calls
 * store_notify once it committed, which advances a counter.  store_gen reads it; store_gen_wait
 * blocks until it differs from `seen` or timeout_ms passes, and returns it.  A reader takes
 * store_gen before it reads the table, then waits with that value: no commit is missed.
 */
void store_notify(struct store *s);
uint64_t store_gen(struct store *s);
uint64_t store_gen_wait(struct store *s, uint64_t seen, int timeout_ms);

/* 0 if the database file store_open opened is still at its path and this thread's connection
 * answers a trivial query (the database is usable). */
int store_ping(struct store *s, struct lc_err *err);

/* Close every connection of s.  No thread may use s concurrently or afterwards. */
void store_close(struct store *s);

#endif
