/* store.c — connections and per-thread pool; see store.h. */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "util/log.h"

struct conn {
	sqlite3 *db;
	struct conn *next;
	/* Prepared statements by the address of their SQL text (store_stmt). */
	struct cached_stmt {
		const char *sql;
		sqlite3_stmt *st;
	} *stmts;
	int n_stmts;
};

struct store {
	char *path;
	dev_t dev;             /* the database file store_open opened (0/0 until then) */
	ino_t ino;
	pthread_key_t key;     /* this thread's struct conn */
	pthread_mutex_t lock;  /* guards conns (the list, not the connections) */
	struct conn *conns;
	pthread_mutex_t gen_lock; /* guards gen */
	pthread_cond_t gen_cond;  /* broadcast when gen changes */
	uint64_t gen;             /* store_notify */
};

/* Run one PRAGMA that returns a single text value and compare it (case-insensitively). */
static int pragma_expect(sqlite3 *db, const char *sql, const char *want, struct lc_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return lc_fail(err, 0, "%s: %s", sql, sqlite3_errmsg(db));
	int rc = sqlite3_step(st);
	int ok = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
		 strcasecmp((const char *)sqlite3_column_text(st, 0), want) == 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		lc_fail(err, 0, "%s: %s", sql, sqlite3_errmsg(db));
	else if (!ok)
		lc_fail(err, 0, "%s: did not take effect (wanted %s)", sql, want);
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

sqlite3 *store_connect(const char *path, struct lc_err *err)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		lc_fail(err, 0, "open database %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	char *msg = NULL;
	if (pragma_expect(db, "PRAGMA journal_mode=WAL", "wal", err) < 0 ||
	    sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK) {
		if (msg)
			lc_fail(err, 0, "%s", msg);
		sqlite3_free(msg);
		lc_wrap(err, "database %s", path);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int store_user_version(sqlite3 *db, int *version, struct lc_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return lc_fail(err, 0, "read schema version: %s", sqlite3_errmsg(db));
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		lc_fail(err, 0, "read schema version: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int store_open(const char *path, int version, struct store **out, struct lc_err *err)
{
	struct store *s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return lc_fail(err, ENOMEM, "open store %s", path);
	}
	if (pthread_key_create(&s->key, NULL) != 0) {
		free(s->path);
		free(s);
		return lc_fail(err, EAGAIN, "open store %s: pthread_key_create", path);
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->gen_lock, NULL);
	pthread_cond_init(&s->gen_cond, NULL);
	sqlite3 *db = store_conn(s, err);
	int have = 0;
	if (!db || store_user_version(db, &have, err) < 0) {
		store_close(s);
		return -1;
	}
	if (have != version) {
		lc_fail(err, 0, "database %s has schema version %d but this litecri needs %d", path, have, version);
		store_close(s);
		return -1;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		lc_fail(err, errno, "database %s: %s", path, strerror(errno));
		store_close(s);
		return -1;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	*out = s;
	return 0;
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql, struct lc_err *err)
{
	if (!store_conn(s, err))
		return NULL;
	struct conn *c = pthread_getspecific(s->key);
	assert(c);
	for (int i = 0; i < c->n_stmts; i++)
		if (c->stmts[i].sql == sql) {
			assert(!sqlite3_stmt_busy(c->stmts[i].st)); /* the previous user reset it */
			return c->stmts[i].st;
		}
	struct cached_stmt *v = realloc(c->stmts, (size_t)(c->n_stmts + 1) * sizeof *v);
	if (!v) {
		lc_fail(err, ENOMEM, "prepare");
		return NULL;
	}
	c->stmts = v;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		lc_fail(err, EIO, "prepare: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	c->stmts[c->n_stmts].sql = sql;
	c->stmts[c->n_stmts++].st = st;
	return st;
}

void store_stmt_done(sqlite3_stmt **st)
{
	if (!*st)
		return;
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
}

/*
 * 0 if s->path still names the database file the store opened.  Removed or replaced under the
 * running daemon, it is not: open connections would go on with the old file (whose changes the
 * next start never sees) and a new one would create an empty database in its place.
 */
static int same_file(const struct store *s, struct lc_err *err)
{
	struct stat st;
	if (!s->ino)
		return 0; /* store_open's first connection: nothing to compare with yet */
	if (stat(s->path, &st) < 0)
		return lc_fail(err, errno, "database file %s: %s (removed under the running daemon?)", s->path,
			       strerror(errno));
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return lc_fail(err, ESTALE, "database file %s was replaced under the running daemon (inode %llu, "
			       "opened %llu)", s->path, (unsigned long long)st.st_ino, (unsigned long long)s->ino);
	return 0;
}

sqlite3 *store_conn(struct store *s, struct lc_err *err)
{
	struct conn *c = pthread_getspecific(s->key);
	if (c)
		return c->db;
	if (same_file(s, err) < 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c) {
		lc_fail(err, ENOMEM, "database connection");
		return NULL;
	}
	c->db = store_connect(s->path, err);
	if (!c->db) {
		free(c);
		return NULL;
	}
	pthread_setspecific(s->key, c);
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	log_debug("store: new connection to %s", s->path);
	return c->db;
}

void store_notify(struct store *s)
{
	pthread_mutex_lock(&s->gen_lock);
	s->gen++;
	pthread_cond_broadcast(&s->gen_cond);
	pthread_mutex_unlock(&s->gen_lock);
}

uint64_t store_gen(struct store *s)
{
	pthread_mutex_lock(&s->gen_lock);
	uint64_t g = s->gen;
	pthread_mutex_unlock(&s->gen_lock);
	return g;
}

uint64_t store_gen_wait(struct store *s, uint64_t seen, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->gen_lock);
	while (s->gen == seen && pthread_cond_clockwait(&s->gen_cond, &s->gen_lock, CLOCK_MONOTONIC, &until) == 0)
		;
	uint64_t g = s->gen;
	pthread_mutex_unlock(&s->gen_lock);
	return g;
}

int store_ping(struct store *s, struct lc_err *err)
{
	if (same_file(s, err) < 0)
		return -1;
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	int v;
	return store_user_version(db, &v, err);
}

/* Finalize c's statements, close its connection and free it. */
static void conn_free(const struct store *s, struct conn *c)
{
	for (int i = 0; i < c->n_stmts; i++)
		sqlite3_finalize(c->stmts[i].st);
	free(c->stmts);
	int rc = sqlite3_close(c->db);
	if (rc != SQLITE_OK)
		log_error("store: closing a connection to %s: %s", s->path, sqlite3_errstr(rc));
	free(c);
}

void store_conn_release(struct store *s)
{
	struct conn *c = pthread_getspecific(s->key);
	if (!c)
		return;
	pthread_setspecific(s->key, NULL);
	pthread_mutex_lock(&s->lock);
	struct conn **pp = &s->conns;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	assert(*pp == c); /* every connection of a thread is on the list until it is released */
	*pp = c->next;
	pthread_mutex_unlock(&s->lock);
	conn_free(s, c);
	log_debug("store: connection to %s closed (its thread ends)", s->path);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	struct conn *c = s->conns;
	while (c) {
		struct conn *next = c->next;
		conn_free(s, c);
		c = next;
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->gen_cond);
	pthread_mutex_destroy(&s->gen_lock);
	free(s->path);
	free(s);
}

int store_check(struct store *s, void (*fn)(void *arg, const char *problem), void *arg, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	static const char *const sql[] = { "PRAGMA integrity_check", "PRAGMA foreign_key_check" };
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
			return lc_failc(err, EIO, "%s: %s", sql[i], sqlite3_errmsg(db));
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			char line[512];
			const char *t = (const char *)sqlite3_column_text(st, 0);
			if (i == 0 && t && strcmp(t, "ok") == 0)
				continue;
			if (i == 0)
				snprintf(line, sizeof line, "integrity: %s", t ? t : "(null)");
			else
				snprintf(line, sizeof line, "%s row %lld refers to a missing %s row", t ? t : "?",
					 (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2));
			fn(arg, line);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return lc_failc(err, EIO, "%s: %s", sql[i], sqlite3_errmsg(db));
	}
	return 0;
}
