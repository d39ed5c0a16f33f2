/* events.c — see events.h. */
#include "store/events.h"

#include <assert.h>
#include <sqlite3.h>

#include "store/sql.h"
#include "store/store.h"

int store_events_retain(struct store *s, int64_t retain, struct lc_err *err)
{
	assert(retain >= 1);
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return lc_wrap(err, "events retention");
	{
		cleanup_stmt sqlite3_stmt *set = NULL, *prune = NULL;
		if (prepare(s, "INSERT INTO host (key, value) VALUES ('events_retain', ?1) "
			       "ON CONFLICT (key) DO UPDATE SET value = ?1", &set, err) < 0)
			goto fail;
		sqlite3_bind_int64(set, 1, retain);
		if (step_done(db, set, err, "record events retention") < 0 ||
		    prepare(s, "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1", &prune, err) < 0)
			goto fail;
		sqlite3_bind_int64(prune, 1, retain);
		if (step_done(db, prune, err, "prune events") < 0)
			goto fail;
	}
	if (exec(db, "COMMIT", err) < 0)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int store_events_last(struct store *s, int64_t *seq, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	/* sqlite_sequence: AUTOINCREMENT's record of the largest seq ever used */
	if (prepare(s, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", &st, err) < 0)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(sqlite3_db_handle(st), err, "read the last event");
	*seq = sqlite3_column_int64(st, 0);
	return 0;
}

int store_events_after(struct store *s, int64_t after, size_t max, struct arena *a, struct event_row **out,
		       size_t *n, struct lc_err *err)
{
	*out = NULL;
	*n = 0;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "SELECT seq, at, kind, container_id, sandbox_id, container, pod, namespace, attempt, exit_code, "
		    "reason FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	struct event_row *v = arena_alloc(a, (max + 1) * sizeof *v);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		assert(*n < max);
		struct event_row *r = &v[(*n)++];
		r->seq = sqlite3_column_int64(st, 0);
		r->at = sqlite3_column_int64(st, 1);
		r->kind = sqlite3_column_int(st, 2);
		copy_text(r->container_id, sizeof r->container_id, st, 3);
		copy_text(r->sandbox_id, sizeof r->sandbox_id, st, 4);
		r->container = arena_strdup(a, (const char *)sqlite3_column_text(st, 5));
		r->pod = arena_strdup(a, (const char *)sqlite3_column_text(st, 6));
		r->namespace = arena_strdup(a, (const char *)sqlite3_column_text(st, 7));
		r->attempt = (uint32_t)sqlite3_column_int64(st, 8);
		r->has_exit = sqlite3_column_type(st, 9) != SQLITE_NULL;
		r->exit_code = sqlite3_column_int(st, 9);
		r->reason = r->has_exit ? arena_strdup(a, (const char *)sqlite3_column_text(st, 10)) : "";
		assert(r->kind >= EVENT_CREATED && r->kind <= EVENT_DELETED);
	}
	if (rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(st), err, "read events");
	*out = v;
	return 0;
}
