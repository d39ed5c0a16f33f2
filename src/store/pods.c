/* pods.c — see pods.h. */
#include "store/pods.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/id.h"
#include "util/metrics.h"

static const char *arena_text(struct arena *a, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return arena_strdup(a, t ? (const char *)t : "");
}

static const void *arena_blob(struct arena *a, sqlite3_stmt *st, int col, size_t *len)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);
	*len = n > 0 ? (size_t)n : 0;
	void *p = arena_alloc(a, *len + 1);
	if (*len)
		memcpy(p, b, *len);
	return p;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Roll back whatever this connection has open (after a failure inside a transaction). */
static int rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int commit(sqlite3 *db, struct lc_err *err)
{
	int64_t t0 = metrics_now_us();
	int rc = exec(db, "COMMIT", err);
	metrics_observe(MOP_DB_COMMIT, metrics_now_us() - t0, rc == 0);
	if (rc < 0)
		return rollback(db);
	return 0;
}

/*
 * Run one single-statement conditional UPDATE (a transition).  Autocommit: one statement is its
 * own transaction, taken with a RESERVED lock at once, so no BEGIN IMMEDIATE is needed around it.
 * *changed = sqlite3_changes.
 */
static int run_update(struct store *s, sqlite3_stmt *st, int *changed, struct lc_err *err, const char *what,
		      const char *id)
{
	sqlite3 *db = sqlite3_db_handle(st);
	(void)s;
	int64_t t0 = metrics_now_us();
	int done = sqlite3_step(st) == SQLITE_DONE;
	if (sqlite3_get_autocommit(db)) /* its own transaction: this was the commit */
		metrics_observe(MOP_DB_COMMIT, metrics_now_us() - t0, done);
	if (!done)
		return db_fail(db, err, what) < 0 ? lc_wrap(err, "%s", id) : -1;
	if (changed)
		*changed = sqlite3_changes(db);
	return 0;
}

/* run_update of a container or pod transition the events table's triggers may record: store_notify after
 * it committed (store/events.h). */
static int event_update(struct store *s, sqlite3_stmt *st, int *changed, struct lc_err *err, const char *what,
			const char *id)
{
	if (run_update(s, st, changed, err, what, id) < 0)
		return -1;
	store_notify(s);
	return 0;
}

/* Run the statement sql whose one parameter (?1) is id (a transition or delete); *changed as run_update. */
static int update_id(struct store *s, const char *sql, const char *id, int *changed, const char *what,
		     struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return run_update(s, st, changed, err, what, id);
}

/*
 * A row's state and in-flight flags as refusals are read from them: the same columns of both tables,
 * 0 where a table has no such flag.
 */
struct flags_row {
	int state, creating, stopping, starting, removing, updating, network;
};
static const char SANDBOX_FLAGS[] =
	"SELECT state, creating, stopping, 0, removing, 0, network FROM sandboxes WHERE id = ?1";
static const char CONTAINER_FLAGS[] =
	"SELECT state, creating, 0, starting, removing, updating, " SQL_INT(NET_NONE) " FROM containers WHERE id = ?1";

/*
 * Whether refusal r describes the row.  REFUSED_STATE holds always: it comes last in an order,
 * after the flags, where nothing but the state is left to refuse.
 */
static int refusal_holds(enum refusal r, const struct flags_row *f)
{
	switch (r) {
	case REFUSED_CREATING: return f->creating;
	case REFUSED_STOPPING: return f->stopping;
	case REFUSED_STARTING: return f->starting;
	case REFUSED_REMOVING: return f->removing;
	case REFUSED_UPDATING: return f->updating;
	case REFUSED_NETWORK: return f->network != NET_NONE;
	case REFUSED_RUNNING: return f->state == CTR_RUNNING;
	case REFUSED_UNKNOWN: return f->state == CTR_UNKNOWN;
	case REFUSED_NOT_READY: return f->state != SANDBOX_READY;
	case REFUSED_STATE: return 1;
	case REFUSED_NONE:
	case REFUSED_MISSING: break;
	}
	assert(!"not a refusal read from a row");
	return 0;
}

/*
 * Inside the caller's transaction: *why = the first refusal of `order` (ended by REFUSED_NONE) that
 * holds for row id of the table `read` selects (SANDBOX_FLAGS / CONTAINER_FLAGS); REFUSED_MISSING
 * without a row, REFUSED_NONE when none holds.
 */
static int read_refusal(struct store *s, const char *read, const enum refusal *order, const char *id,
			enum refusal *why, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, read, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*why = REFUSED_MISSING;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(sqlite3_db_handle(st), err, "read flags") < 0 ? lc_wrap(err, "%s", id) : -1;
	const struct flags_row f = {
		.state = sqlite3_column_int(st, 0), .creating = sqlite3_column_int(st, 1),
		.stopping = sqlite3_column_int(st, 2), .starting = sqlite3_column_int(st, 3),
		.removing = sqlite3_column_int(st, 4), .updating = sqlite3_column_int(st, 5),
		.network = sqlite3_column_int(st, 6),
	};
	while (*order != REFUSED_NONE && !refusal_holds(*order, &f))
		order++;
	*why = *order;
	return 0;
}

/* Range on a TEXT primary key: prefix <= id < prefix || 'g' ('g' sorts after every hex digit). */
static int resolve(struct store *s, const char *sql, const char *what, const char *ref, char id[OBJ_ID_BUF],
		   struct lc_err *err)
{
	if (!id_is_hex(ref, 1, OBJ_ID_LEN))
		return lc_fail(err, EINVAL, "%s ID \"%s\" is not 1 to 64 lowercase hex digits", what, LC_Q(ref));
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return lc_fail(err, ENOENT, "%s %s not found", what, LC_Q(ref));
	if (rc != SQLITE_ROW)
		return db_fail(db, err, "resolve ID");
	copy_text(id, OBJ_ID_BUF, st, 0);
	if (strlen(ref) == OBJ_ID_LEN)
		return 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return lc_fail(err, EINVAL, "%s ID prefix %s is ambiguous: %s and %s match", what, ref, id,
			       (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "resolve ID");
	return 0;
}

/* Insert key/value rows of one owner with a prepared INSERT (?1 owner, ?2 key, ?3 value). */
static int insert_kvs(sqlite3 *db, sqlite3_stmt *st, const char *owner, const struct kv *kv, size_t n,
		      struct lc_err *err)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kv[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, kv[i].value, -1, SQLITE_STATIC);
		if (step_done(db, st, err, "insert label/annotation") < 0)
			return -1;
	}
	return 0;
}

/* Within an open transaction: the row holding `name` in table (sql selects id, config_digest, creating). */
static int find_holder(struct store *s, const char *sql, const char *name, const char *digest,
		       struct obj_holder *holder, int *found, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*found = 0;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(sqlite3_db_handle(st), err, "look up name");
	*found = 1;
	memset(holder, 0, sizeof *holder);
	copy_text(holder->id, OBJ_ID_BUF, st, 0);
	const unsigned char *d = sqlite3_column_text(st, 1);
	holder->same = d && !strcmp((const char *)d, digest);
	holder->creating = sqlite3_column_int(st, 2);
	return 0;
}

/* --- sandboxes ------------------------------------------------------------------------------- */

#define SANDBOX_COLS                                                                                     \
	"s.id, s.name, s.meta_name, s.meta_namespace, s.meta_uid, s.meta_attempt, s.state, s.creating, "   \
	"s.stopping, s.removing, s.created_at, s.finished_at, s.runtime_handler, s.netns_path, s.ip, "      \
	"s.log_directory, s.reason, s.message, s.pid, s.config, s.network, s.net_config, s.net_result, "    \
	"s.additional_ips, s.infra"

static void sandbox_fill(struct arena *a, sqlite3_stmt *st, void *out)
{
	struct sandbox_row *r = out;
	memset(r, 0, sizeof *r);
	copy_text(r->id, sizeof r->id, st, 0);
	r->name = arena_text(a, st, 1);
	r->meta_name = arena_text(a, st, 2);
	r->meta_namespace = arena_text(a, st, 3);
	r->meta_uid = arena_text(a, st, 4);
	r->meta_attempt = (uint32_t)sqlite3_column_int64(st, 5);
	r->state = sqlite3_column_int(st, 6);
	r->creating = sqlite3_column_int(st, 7);
	r->stopping = sqlite3_column_int(st, 8);
	r->removing = sqlite3_column_int(st, 9);
	r->created_at = sqlite3_column_int64(st, 10);
	r->finished_at = sqlite3_column_int64(st, 11);
	r->runtime_handler = arena_text(a, st, 12);
	r->netns_path = arena_text(a, st, 13);
	r->ip = arena_text(a, st, 14);
	r->log_directory = arena_text(a, st, 15);
	r->reason = arena_text(a, st, 16);
	r->message = arena_text(a, st, 17);
	r->pid = sqlite3_column_int64(st, 18);
	r->config = arena_blob(a, st, 19, &r->config_len);
	r->network = sqlite3_column_int(st, 20);
	r->net_config = arena_text(a, st, 21);
	r->net_result = arena_text(a, st, 22);
	r->additional_ips = arena_text(a, st, 23);
	r->infra = sqlite3_column_int(st, 24);
	assert(r->state == SANDBOX_READY || r->state == SANDBOX_NOTREADY);
	assert(r->network >= NET_NONE && r->network <= NET_DELETING);
	assert(r->creating + r->stopping + r->removing <= 1);
}

/* Record n's list entry (NULL when it has none) in its table (`sql`: ?1 the object's ID, ?2 the
 * entry; the rest copied from the object's row), inside the transaction inserting n. */
static int insert_entry(struct store *s, sqlite3 *db, const char *sql, const struct obj_new *n, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
	if (n->list_entry)
		sqlite3_bind_blob(st, 2, n->list_entry, (int)n->list_entry_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	return step_done(db, st, err, "record list entry");
}

int store_sandbox_insert(struct store *s, const struct obj_new *n, struct obj_holder *holder, struct lc_err *err)
{
	assert(strlen(n->id) == OBJ_ID_LEN && !n->sandbox_id);
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	int found = 0;
	if (find_holder(s, "SELECT id, config_digest, creating FROM sandboxes WHERE name = ?1", n->name,
			n->config_digest, holder, &found, err) < 0)
		return rollback(db);
	if (found) {
		rollback(db);
		return lc_fail(err, EEXIST, "sandbox name %s is held by sandbox %s", n->name, holder->id);
	}
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s,
			    "INSERT INTO sandboxes (id, name, meta_name, meta_namespace, meta_uid, meta_attempt, "
			    "state, creating, runtime_handler, log_directory, config, config_digest, infra) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, " SQL_INT(SANDBOX_NOTREADY) ", 1, ?7, ?8, ?9, ?10, ?11)",
			    &st, err) < 0)
			return rollback(db);
		sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n->meta_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->meta_namespace, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, n->meta_uid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, n->meta_attempt);
		sqlite3_bind_text(st, 7, n->runtime_handler ? n->runtime_handler : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, n->log_directory ? n->log_directory : "", -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, n->config_len ? n->config : "", (int)n->config_len, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, n->config_digest, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 11, !n->no_infra);
		if (step_done(db, st, err, "insert sandbox") < 0)
			return rollback(db);
	}
	if (insert_entry(s, db, "INSERT INTO sandbox_entries (sandbox_id, creating, state, created_at, entry) "
				       "SELECT id, creating, state, created_at, ?2 FROM sandboxes WHERE id = ?1", n, err) < 0)
		return rollback(db);
	cleanup_stmt sqlite3_stmt *lab = NULL, *ann = NULL;
	if (prepare(s, "INSERT INTO sandbox_labels (sandbox_id, key, value) VALUES (?1, ?2, ?3)", &lab, err) < 0 ||
	    insert_kvs(db, lab, n->id, n->labels, n->n_labels, err) < 0 ||
	    prepare(s, "INSERT INTO sandbox_annotations (sandbox_id, key, value) VALUES (?1, ?2, ?3)", &ann, err) < 0 ||
	    insert_kvs(db, ann, n->id, n->annotations, n->n_annotations, err) < 0)
		return rollback(db);
	return commit(db, err) < 0 ? lc_wrap(err, "sandbox %s", n->id) : 0;
}

int store_sandbox_created(struct store *s, const char *id, int64_t pid, const char *netns_path,
			  const struct sandbox_net *net, int64_t created_at, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE sandboxes SET creating = 0, state = " SQL_INT(SANDBOX_READY) ", pid = ?2, "
		    "netns_path = ?3, created_at = ?4, "
		    "network = CASE WHEN ?5 THEN " SQL_INT(NET_ATTACHED) " ELSE network END, "
		    "net_config = CASE WHEN ?5 THEN ?6 ELSE net_config END, "
		    "net_result = CASE WHEN ?5 THEN ?7 ELSE net_result END, "
		    "ip = CASE WHEN ?5 THEN ?8 ELSE ip END, "
		    "additional_ips = CASE WHEN ?5 THEN ?9 ELSE additional_ips END "
		    "WHERE id = ?1 AND creating = 1",
		    &st, err) < 0)
		return -1;
	cleanup_free char *extra = NULL;
	if (net) {
		size_t len = 1;
		for (size_t i = 1; i < net->n_ips; i++)
			len += strlen(net->ips[i]) + 1;
		extra = malloc(len);
		if (!extra)
			return lc_fail(err, ENOMEM, "sandbox %s: IPs", id);
		extra[0] = '\0';
		for (size_t i = 1; i < net->n_ips; i++) {
			if (i > 1)
				strcat(extra, " ");
			strcat(extra, net->ips[i]);
		}
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_text(st, 3, netns_path ? netns_path : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, created_at);
	sqlite3_bind_int(st, 5, net != NULL);
	bind_text(st, 6, net ? net->config : NULL);
	bind_text(st, 7, net ? net->result : NULL);
	bind_text(st, 8, net ? (net->n_ips ? net->ips[0] : "") : NULL);
	bind_text(st, 9, extra);
	int changed = 0;
	if (event_update(s, st, &changed, err, "record sandbox created", id) < 0)
		return -1;
	return changed == 1 ? 0 : lc_fail(err, ENOENT, "sandbox %s: no create in flight to finish", id);
}

int store_sandbox_net_adding(struct store *s, const char *id, const char *config, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE sandboxes SET network = " SQL_INT(NET_ADDING) ", net_config = ?2 "
		    "WHERE id = ?1 AND creating = 1 AND network = " SQL_INT(NET_NONE),
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, config, -1, SQLITE_STATIC);
	int changed = 0;
	if (run_update(s, st, &changed, err, "record network ADD", id) < 0)
		return -1;
	return changed == 1 ? 0 : lc_fail(err, ENOENT, "sandbox %s: no create without a network in flight", id);
}

int store_sandbox_net_deleting(struct store *s, const char *id, int *pending, struct lc_err *err)
{
	*pending = 0;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE sandboxes SET network = " SQL_INT(NET_DELETING) " WHERE id = ?1 AND network <> "
		    SQL_INT(NET_NONE) " RETURNING 1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*pending = 1;
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(st), err, "record network DEL") < 0 ? lc_wrap(err, "%s", id) : -1;
	return 0;
}

int store_sandbox_net_deleted(struct store *s, const char *id, struct lc_err *err)
{
	return update_id(s,
			 "UPDATE sandboxes SET network = " SQL_INT(NET_NONE) ", net_config = '', net_result = '', "
			 "ip = '', additional_ips = '' WHERE id = ?1",
			 id, NULL, "record network deleted", err);
}

int store_sandbox_resolve(struct store *s, const char *ref, char id[OBJ_ID_BUF], struct lc_err *err)
{
	return resolve(s, "SELECT id FROM sandboxes WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY id LIMIT 2", "sandbox",
		       ref, id, err);
}

int store_sandbox_get(struct store *s, const char *id, struct arena *a, struct sandbox_row *out, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT " SANDBOX_COLS " FROM sandboxes s WHERE s.id = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return lc_fail(err, ENOENT, "sandbox %s not found", id);
	if (rc != SQLITE_ROW)
		return db_fail(sqlite3_db_handle(st), err, "read sandbox") < 0 ? lc_wrap(err, "%s", id) : -1;
	sandbox_fill(a, st, out);
	return 0;
}

/* Labels of a filter as a JSON object for json_each (NULL when there are none). */
static char *labels_json(const struct obj_filter *f)
{
	if (!f->n_labels)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; o && i < f->n_labels; i++)
		json_object_set_new(o, f->labels[i].key, json_string(f->labels[i].value));
	char *r = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return r;
}

/* Number of distinct label keys of a filter (a map's keys are distinct, but be exact). */
static size_t labels_count(const struct obj_filter *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_labels; i++) {
		size_t j = 0;
		while (j < i && strcmp(f->labels[j].key, f->labels[i].key))
			j++;
		n += j == i;
	}
	return n;
}

/* Grow an array of rows in the arena. */
static void *grow(struct arena *a, void *old, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return old;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = arena_alloc(a, ncap * size);
	if (n)
		memcpy(p, old, n * size);
	*cap = ncap;
	return p;
}

/*
 * Run a list statement (filters bound as ?1 id prefix, ?2 state, ?3 sandbox id prefix, ?4 labels
 * JSON, ?5 label count) and pass each of its rows to row(); a row() that returns -1 (its error in
 * err) ends the list with -1.
 */
static int list_each(struct store *s, const char *sql, const struct obj_filter *f,
		     int (*row)(void *ctx, sqlite3_stmt *st, struct lc_err *err), void *ctx, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, sql, &st, err) < 0)
		return -1;
	cleanup_free char *labels = labels_json(f);
	if (f->n_labels && !labels)
		return lc_fail(err, ENOMEM, "label selector");
	bind_text(st, 1, f->id_prefix);
	sqlite3_bind_int(st, 2, f->state);
	bind_text(st, 3, f->sandbox_id_prefix);
	bind_text(st, 4, labels);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)labels_count(f));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(ctx, st, err) < 0)
			return -1;
	if (rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(st), err, "list");
	return 0;
}

/* list_rows' rows so far. */
struct rows {
	struct arena *a;
	void (*fill)(struct arena *, sqlite3_stmt *, void *);
	size_t size, n, cap;
	unsigned char *v;
};

static int collect_row(void *ctx, sqlite3_stmt *st, struct lc_err *err)
{
	(void)err;
	struct rows *r = ctx;
	r->v = grow(r->a, r->v, r->n, &r->cap, r->size);
	r->fill(r->a, st, r->v + r->size * r->n++);
	return 0;
}

/* list_each's rows collected in a, each `size` bytes, filled by fill(). */
static int list_rows(struct store *s, const char *sql, const struct obj_filter *f, struct arena *a,
		     void (*fill)(struct arena *, sqlite3_stmt *, void *), size_t size, void **out, size_t *n,
		     struct lc_err *err)
{
	struct rows r = { .a = a, .fill = fill, .size = size };
	if (list_each(s, sql, f, collect_row, &r, err) < 0)
		return -1;
	*out = r.v;
	*n = r.n;
	return 0;
}

/*
 * Filters: ?1 id prefix, ?2 state (-1 any), ?3 sandbox id prefix, ?4 labels JSON, ?5 label count.
 * One statement per driving filter so that each starts from an index (the most selective filter
 * given); the other filters are checked on the rows it yields.  Rows come in rowid order, which is
 * the order their creates began: free for a table scan, where ORDER BY created_at made SQLite sort
 * every row with its config blob (10k containers: 23 ms → 9 ms).
 */
#define SB_LABELS "SELECT l.sandbox_id FROM sandbox_labels l JOIN json_each(?4) j ON l.key = j.key AND l.value = j.value " \
		  "GROUP BY l.sandbox_id HAVING count(*) = ?5"
#define SB_REST                                                                                          \
	" AND s.creating = 0 AND (?1 IS NULL OR (s.id >= ?1 AND s.id < ?1 || 'g')) AND (?2 < 0 OR s.state = ?2) " \
	"AND (?4 IS NULL OR s.id IN (" SB_LABELS ")) ORDER BY s.rowid"

/* The statements of a sandbox list with columns cols from `from`, by its driving filter (see
 * above); without one, `all`. */
#define SB_LIST(cols, from, all)                                                                         \
	{ "SELECT " cols from " WHERE s.id >= ?1 AND s.id < ?1 || 'g'" SB_REST,                             \
	  "SELECT " cols from " WHERE s.id IN (" SB_LABELS ")" SB_REST,                                     \
	  "SELECT " cols from " WHERE s.state = ?2" SB_REST, all }

static const char *sb_list_sql(const char *const sql[4], const struct obj_filter *f)
{
	return sql[f->id_prefix ? 0 : f->n_labels ? 1 : f->state >= 0 ? 2 : 3];
}

int store_sandbox_list(struct store *s, const struct obj_filter *f, struct arena *a, struct sandbox_row **out,
		       size_t *n, struct lc_err *err)
{
	static const char *const sql[4] =
		SB_LIST(SANDBOX_COLS, " FROM sandboxes s", "SELECT " SANDBOX_COLS " FROM sandboxes s WHERE 1" SB_REST);
	return list_rows(s, sb_list_sql(sql, f), f, a, sandbox_fill, sizeof **out, (void **)out, n, err);
}

/*
 * A list's items (migration 0008).  Driven by a filter's index, the object rows in rowid order as
 * above, each with its entry.  Without a filter, the entries table alone, in its rowid order (the
 * objects' creation order too: both rows are inserted together), with the copies of creating,
 * state and created_at its trigger keeps: no object row is read.  The ?N IS NULL terms only hold
 * the statement to its use (sb_list_sql / ct_list_sql pick it when no filter is given).
 */
#define ITEM_COLS(t) t ".id, e.entry, " t ".state, " t ".created_at"
#define ITEM_ALL(entries, owner) \
	"SELECT e." owner ", e.entry, e.state, e.created_at FROM " entries " e WHERE e.creating = 0 AND ?1 IS NULL " \
	"AND ?2 < 0 AND ?3 IS NULL AND ?4 IS NULL AND ?5 = 0 ORDER BY e.rowid"

/* store_*_list_items' callback and its context, for list_each. */
struct item_cb {
	list_item_fn fn;
	void *ctx;
};

static int item_row(void *ctx, sqlite3_stmt *st, struct lc_err *err)
{
	const struct item_cb *cb = ctx;
	struct list_item it = { 0 };
	it.id = (const char *)sqlite3_column_text(st, 0);
	it.id_len = (size_t)sqlite3_column_bytes(st, 0);
	if (!it.id)
		it.id = "";
	it.entry = sqlite3_column_blob(st, 1);
	if (it.entry)
		it.entry_len = (size_t)sqlite3_column_bytes(st, 1);
	else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		it.entry = ""; /* an empty entry: an empty message */
	it.state = sqlite3_column_int(st, 2);
	it.created_at = sqlite3_column_int64(st, 3);
	return cb->fn(cb->ctx, &it, err);
}

int store_sandbox_list_items(struct store *s, const struct obj_filter *f, list_item_fn fn, void *ctx,
			     struct lc_err *err)
{
	static const char *const sql[4] =
		SB_LIST(ITEM_COLS("s"), " FROM sandboxes s JOIN sandbox_entries e ON e.sandbox_id = s.id",
			ITEM_ALL("sandbox_entries", "sandbox_id"));
	struct item_cb cb = { fn, ctx };
	return list_each(s, sb_list_sql(sql, f), f, item_row, &cb, err);
}

int store_sandbox_stopped(struct store *s, const char *id, int64_t finished_at, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE sandboxes SET stopping = 0, state = " SQL_INT(SANDBOX_NOTREADY) ", pid = 0, "
		    "finished_at = CASE WHEN finished_at = 0 THEN ?2 ELSE finished_at END WHERE id = ?1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, finished_at);
	return event_update(s, st, NULL, err, "record sandbox stopped", id);
}

int store_sandbox_infra_exited(struct store *s, const char *id, int64_t finished_at, int *changed, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE sandboxes SET state = " SQL_INT(SANDBOX_NOTREADY) ", pid = 0, "
		    "finished_at = CASE WHEN finished_at = 0 THEN ?2 ELSE finished_at END "
		    "WHERE id = ?1 AND state = " SQL_INT(SANDBOX_READY) " AND creating = 0",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, finished_at);
	return event_update(s, st, changed, err, "record infra exit", id);
}

int store_sandbox_delete(struct store *s, const char *id, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "DELETE FROM sandboxes WHERE id = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3 *db = sqlite3_db_handle(st);
		if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_FOREIGNKEY)
			return lc_fail(err, EBUSY, "sandbox %s still has containers", id);
		return db_fail(db, err, "delete sandbox") < 0 ? lc_wrap(err, "%s", id) : -1;
	}
	store_notify(s); /* an event DELETED, unless its create never finished */
	return 0;
}

/* Collect the first column (an ID) of every row of st. */
static int collect_ids(struct arena *a, sqlite3_stmt *st, char (**ids)[OBJ_ID_BUF], size_t *n, struct lc_err *err)
{
	char (*v)[OBJ_ID_BUF] = NULL;
	size_t cnt = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = grow(a, v, cnt, &cap, sizeof *v);
		copy_text(v[cnt++], OBJ_ID_BUF, st, 0);
	}
	if (rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(st), err, "list IDs");
	*ids = v;
	*n = cnt;
	return 0;
}

int store_sandbox_containers(struct store *s, const char *sandbox_id, struct arena *a, char (**ids)[OBJ_ID_BUF],
			     size_t *n, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT id FROM containers WHERE sandbox_id = ?1 ORDER BY created_at, id", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, sandbox_id, -1, SQLITE_STATIC);
	return collect_ids(a, st, ids, n, err);
}

int store_sandbox_ids(struct store *s, struct arena *a, char (**ids)[OBJ_ID_BUF], size_t *n, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT id FROM sandboxes ORDER BY id", &st, err) < 0)
		return -1;
	return collect_ids(a, st, ids, n, err);
}

int store_container_ids(struct store *s, struct arena *a, char (**ids)[OBJ_ID_BUF], size_t *n, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT id FROM containers ORDER BY id", &st, err) < 0)
		return -1;
	return collect_ids(a, st, ids, n, err);
}

/* --- containers ------------------------------------------------------------------------------ */

#define CONTAINER_COLS                                                                                   \
	"c.id, c.sandbox_id, c.name, c.meta_name, c.meta_attempt, c.state, c.creating, c.starting, "        \
	"c.removing, c.created_at, c.started_at, c.finished_at, c.exit_code, c.reason, c.message, c.image, " \
	"c.image_ref, c.log_path, c.pid, c.stop_signal, c.config, c.resources, c.updating"

static void container_fill(struct arena *a, sqlite3_stmt *st, void *out)
{
	struct container_row *r = out;
	memset(r, 0, sizeof *r);
	copy_text(r->id, sizeof r->id, st, 0);
	copy_text(r->sandbox_id, sizeof r->sandbox_id, st, 1);
	r->name = arena_text(a, st, 2);
	r->meta_name = arena_text(a, st, 3);
	r->meta_attempt = (uint32_t)sqlite3_column_int64(st, 4);
	r->state = sqlite3_column_int(st, 5);
	r->creating = sqlite3_column_int(st, 6);
	r->starting = sqlite3_column_int(st, 7);
	r->removing = sqlite3_column_int(st, 8);
	r->created_at = sqlite3_column_int64(st, 9);
	r->started_at = sqlite3_column_int64(st, 10);
	r->finished_at = sqlite3_column_int64(st, 11);
	r->exit_code = sqlite3_column_int(st, 12);
	r->reason = arena_text(a, st, 13);
	r->message = arena_text(a, st, 14);
	r->image = arena_text(a, st, 15);
	r->image_ref = arena_text(a, st, 16);
	r->log_path = arena_text(a, st, 17);
	r->pid = sqlite3_column_int64(st, 18);
	r->stop_signal = sqlite3_column_int(st, 19);
	r->config = arena_blob(a, st, 20, &r->config_len);
	r->resources = sqlite3_column_type(st, 21) == SQLITE_NULL ? NULL : arena_blob(a, st, 21, &r->resources_len);
	r->updating = sqlite3_column_int(st, 22);
	assert(r->state >= CTR_CREATED && r->state <= CTR_UNKNOWN);
	assert(!(r->creating && (r->starting || r->removing || r->updating)) && !(r->starting && r->removing));
}

int store_container_insert(struct store *s, const struct obj_new *n, struct obj_holder *holder,
			   enum refusal *why, struct lc_err *err)
{
	assert(strlen(n->id) == OBJ_ID_LEN && n->sandbox_id);
	*why = REFUSED_NONE;
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	int found = 0;
	if (find_holder(s, "SELECT id, config_digest, creating FROM containers WHERE name = ?1", n->name,
			n->config_digest, holder, &found, err) < 0)
		return rollback(db);
	if (found) {
		rollback(db);
		return lc_fail(err, EEXIST, "container name %s is held by container %s", n->name, holder->id);
	}
	static const enum refusal sandbox_busy[] = { REFUSED_CREATING, REFUSED_REMOVING, REFUSED_STOPPING,
							 REFUSED_NOT_READY, REFUSED_NONE };
	if (read_refusal(s, SANDBOX_FLAGS, sandbox_busy, n->sandbox_id, why, err) < 0)
		return rollback(db);
	if (*why == REFUSED_MISSING) {
		*why = REFUSED_NONE;
		rollback(db);
		return lc_fail(err, ENOENT, "sandbox %s not found", n->sandbox_id);
	}
	if (*why != REFUSED_NONE) {
		rollback(db);
		return lc_fail(err, EAGAIN, "sandbox %s is not ready", n->sandbox_id);
	}
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s,
			    "INSERT INTO containers (id, sandbox_id, name, meta_name, meta_attempt, state, creating, "
			    "image, image_ref, log_path, config, config_digest, stop_signal) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, " SQL_INT(CTR_CREATED) ", 1, ?6, ?7, ?8, ?9, ?10, ?11)",
			    &st, err) < 0)
			return rollback(db);
		sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->sandbox_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->meta_name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, n->meta_attempt);
		sqlite3_bind_text(st, 6, n->image ? n->image : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, n->image_ref ? n->image_ref : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, n->log_path ? n->log_path : "", -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, n->config_len ? n->config : "", (int)n->config_len, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, n->config_digest, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 11, n->stop_signal > 0 ? n->stop_signal : 15);
		if (step_done(db, st, err, "insert container") < 0)
			return rollback(db);
	}
	if (insert_entry(s, db, "INSERT INTO container_entries (container_id, creating, state, created_at, entry) "
				       "SELECT id, creating, state, created_at, ?2 FROM containers WHERE id = ?1", n, err) < 0)
		return rollback(db);
	cleanup_stmt sqlite3_stmt *lab = NULL, *ann = NULL, *lay = NULL;
	if (prepare(s, "INSERT INTO container_labels (container_id, key, value) VALUES (?1, ?2, ?3)", &lab, err) < 0 ||
	    insert_kvs(db, lab, n->id, n->labels, n->n_labels, err) < 0 ||
	    prepare(s, "INSERT INTO container_annotations (container_id, key, value) VALUES (?1, ?2, ?3)", &ann,
		    err) < 0 ||
	    insert_kvs(db, ann, n->id, n->annotations, n->n_annotations, err) < 0 ||
	    prepare(s, "INSERT INTO container_layers (container_id, position, chain_id) VALUES (?1, ?2, ?3)", &lay,
		    err) < 0)
		return rollback(db);
	for (size_t i = 0; i < n->n_layers; i++) {
		sqlite3_reset(lay);
		sqlite3_bind_text(lay, 1, n->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(lay, 2, (sqlite3_int64)i);
		sqlite3_bind_text(lay, 3, n->layers[i], -1, SQLITE_STATIC);
		if (step_done(db, lay, err, "record container layer") < 0) {
			/* A layer row deleted by image garbage collection since the image was read: EINVAL
			 * (foreign key) — the caller reports the image as gone. */
			return rollback(db);
		}
	}
	return commit(db, err) < 0 ? lc_wrap(err, "container %s", n->id) : 0;
}

int store_container_created(struct store *s, const char *id, int64_t pid, int64_t created_at, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "UPDATE containers SET creating = 0, pid = ?2, created_at = ?3 WHERE id = ?1 AND creating = 1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, created_at);
	int changed = 0;
	if (run_update(s, st, &changed, err, "record container created", id) < 0)
		return -1;
	if (changed != 1)
		return lc_fail(err, ENOENT, "container %s: no create in flight to finish", id);
	store_notify(s); /* an event CREATED */
	return 0;
}

int store_container_resolve(struct store *s, const char *ref, char id[OBJ_ID_BUF], struct lc_err *err)
{
	return resolve(s, "SELECT id FROM containers WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY id LIMIT 2",
		       "container", ref, id, err);
}

int store_container_get(struct store *s, const char *id, struct arena *a, struct container_row *out,
			struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT " CONTAINER_COLS " FROM containers c WHERE c.id = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return lc_fail(err, ENOENT, "container %s not found", id);
	if (rc != SQLITE_ROW)
		return db_fail(sqlite3_db_handle(st), err, "read container") < 0 ? lc_wrap(err, "%s", id) : -1;
	container_fill(a, st, out);
	return 0;
}

#define CT_LABELS "SELECT l.container_id FROM container_labels l JOIN json_each(?4) j ON l.key = j.key " \
		  "AND l.value = j.value GROUP BY l.container_id HAVING count(*) = ?5"
#define CT_REST                                                                                           \
	" AND c.creating = 0 AND (?1 IS NULL OR (c.id >= ?1 AND c.id < ?1 || 'g')) AND (?2 < 0 OR c.state = ?2) " \
	"AND (?3 IS NULL OR (c.sandbox_id >= ?3 AND c.sandbox_id < ?3 || 'g')) "                             \
	"AND (?4 IS NULL OR c.id IN (" CT_LABELS ")) ORDER BY c.rowid"

/* As SB_LIST, for containers. */
#define CT_LIST(cols, from, all)                                                                         \
	{ "SELECT " cols from " WHERE c.id >= ?1 AND c.id < ?1 || 'g'" CT_REST,                             \
	  "SELECT " cols from " WHERE c.sandbox_id >= ?3 AND c.sandbox_id < ?3 || 'g'" CT_REST,             \
	  "SELECT " cols from " WHERE c.id IN (" CT_LABELS ")" CT_REST,                                     \
	  "SELECT " cols from " WHERE c.state = ?2" CT_REST, all }

static const char *ct_list_sql(const char *const sql[5], const struct obj_filter *f)
{
	return sql[f->id_prefix ? 0 : f->sandbox_id_prefix ? 1 : f->n_labels ? 2 : f->state >= 0 ? 3 : 4];
}

int store_container_list(struct store *s, const struct obj_filter *f, struct arena *a, struct container_row **out,
			 size_t *n, struct lc_err *err)
{
	static const char *const sql[5] =
		CT_LIST(CONTAINER_COLS, " FROM containers c", "SELECT " CONTAINER_COLS " FROM containers c WHERE 1" CT_REST);
	return list_rows(s, ct_list_sql(sql, f), f, a, container_fill, sizeof **out, (void **)out, n, err);
}

int store_container_list_items(struct store *s, const struct obj_filter *f, list_item_fn fn, void *ctx,
			       struct lc_err *err)
{
	static const char *const sql[5] =
		CT_LIST(ITEM_COLS("c"), " FROM containers c JOIN container_entries e ON e.container_id = c.id",
			ITEM_ALL("container_entries", "container_id"));
	struct item_cb cb = { fn, ctx };
	return list_each(s, ct_list_sql(sql, f), f, item_row, &cb, err);
}

int store_container_started(struct store *s, const char *id, int64_t started_at, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE containers SET starting = 0, "
		    "state = CASE WHEN state = " SQL_INT(CTR_CREATED) " THEN " SQL_INT(CTR_RUNNING) " ELSE state END, "
		    "started_at = CASE WHEN finished_at <> 0 AND finished_at < ?2 THEN finished_at ELSE ?2 END "
		    "WHERE id = ?1 AND starting = 1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, started_at);
	return event_update(s, st, NULL, err, "record container started", id);
}

int store_container_start_failed(struct store *s, const char *id, int64_t finished_at, int exit_code,
				 const char *reason, const char *message, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "UPDATE containers SET starting = 0, state = " SQL_INT(CTR_EXITED) ", pid = 0, "
		    "finished_at = ?2, exit_code = ?3, reason = ?4, message = ?5 WHERE id = ?1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, finished_at);
	sqlite3_bind_int(st, 3, exit_code);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, message, -1, SQLITE_STATIC);
	return event_update(s, st, NULL, err, "record container start failure", id);
}

int store_container_exited(struct store *s, const char *id, int exit_code, int64_t finished_at, const char *reason,
			   int *changed, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    /* finished_at comes from the exit file's mtime, a coarse clock: never before the start */
		    "UPDATE containers SET state = " SQL_INT(CTR_EXITED) ", pid = 0, exit_code = ?2, "
		    "finished_at = max(?3, started_at), reason = ?4 "
		    "WHERE id = ?1 AND state <> " SQL_INT(CTR_EXITED),
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, exit_code);
	sqlite3_bind_int64(st, 3, finished_at);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	return event_update(s, st, changed, err, "record container exit", id);
}

int store_container_updated(struct store *s, const char *id, const void *resources, size_t len, struct lc_err *err)
{
	assert(resources || len == 0);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "UPDATE containers SET resources = ?2, updating = 0 WHERE id = ?1 AND updating = 1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, len ? resources : "", (int)len, SQLITE_STATIC);
	return run_update(s, st, NULL, err, "record container resources", id);
}

int store_container_delete(struct store *s, const char *id, struct lc_err *err)
{
	if (update_id(s, "DELETE FROM containers WHERE id = ?1", id, NULL, "delete container", err) < 0)
		return -1;
	store_notify(s); /* an event DELETED, unless its create never finished */
	return 0;
}

/* --- in-flight flags ------------------------------------------------------------------------- */

/*
 * One row per enum store_flag: the flag's column, the predicate the row must meet for the flag to
 * be set, and the refusals reported when it does not, in order: the first that holds is reported.
 * The predicate and the order are two views of one rule: every row the predicate refuses meets one
 * of the order's refusals (asserted when one is refused).
 */
#define FLAG(table, column, read, predicate, ...)                                                       \
	{ "set " #table "." #column, "reset " #table "." #column,                                        \
	  "UPDATE " #table " SET " #column " = 1 WHERE id = ?1 AND " predicate,                           \
	  "UPDATE " #table " SET " #column " = 0 WHERE id = ?1", read, { __VA_ARGS__, REFUSED_NONE } }

static const struct flag_rule {
	const char *set_what, *reset_what;
	const char *set, *reset;         /* ?1: the row's ID */
	const char *read;                /* SANDBOX_FLAGS / CONTAINER_FLAGS */
	enum refusal order[8];       /* ended by REFUSED_NONE */
} FLAGS[] = {
	[FLAG_SANDBOX_STOPPING] = FLAG(sandboxes, stopping, SANDBOX_FLAGS,
				       "creating = 0 AND removing = 0 AND stopping = 0",
				       REFUSED_CREATING, REFUSED_REMOVING, REFUSED_STOPPING),
	[FLAG_SANDBOX_REMOVING] = FLAG(sandboxes, removing, SANDBOX_FLAGS,
				       "creating = 0 AND removing = 0 AND stopping = 0 "
				       "AND network = " SQL_INT(NET_NONE) " AND state = " SQL_INT(SANDBOX_NOTREADY),
				       REFUSED_CREATING, REFUSED_REMOVING, REFUSED_STOPPING, REFUSED_NETWORK,
				       REFUSED_STATE),
	[FLAG_CTR_STARTING] = FLAG(containers, starting, CONTAINER_FLAGS,
				   "creating = 0 AND removing = 0 AND starting = 0 AND state = " SQL_INT(CTR_CREATED),
				   REFUSED_CREATING, REFUSED_REMOVING, REFUSED_STARTING, REFUSED_RUNNING,
				   REFUSED_UNKNOWN, REFUSED_STATE),
	[FLAG_CTR_REMOVING] = FLAG(containers, removing, CONTAINER_FLAGS,
				   "creating = 0 AND removing = 0 AND starting = 0 "
				   "AND state NOT IN (" SQL_INT(CTR_RUNNING) ", " SQL_INT(CTR_UNKNOWN) ")",
				   REFUSED_CREATING, REFUSED_REMOVING, REFUSED_STARTING, REFUSED_RUNNING,
				   REFUSED_UNKNOWN),
	[FLAG_CTR_UPDATING] = FLAG(containers, updating, CONTAINER_FLAGS,
				   "creating = 0 AND removing = 0 AND updating = 0 "
				   "AND state IN (" SQL_INT(CTR_CREATED) ", " SQL_INT(CTR_RUNNING) ")",
				   REFUSED_CREATING, REFUSED_REMOVING, REFUSED_UPDATING, REFUSED_STATE),
};

#define FLAG_ARGS_OK(flag, id) ((size_t)(flag) < sizeof FLAGS / sizeof *FLAGS && strlen(id) == OBJ_ID_LEN)

int store_flag_set(struct store *s, enum store_flag flag, const char *id, enum refusal *why, struct lc_err *err)
{
	assert(FLAG_ARGS_OK(flag, id));
	const struct flag_rule *r = &FLAGS[flag];
	*why = REFUSED_NONE;
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return lc_wrap(err, "%s %s", r->set_what, id);
	int changed = 0;
	if (update_id(s, r->set, id, &changed, r->set_what, err) < 0 ||
	    (!changed && read_refusal(s, r->read, r->order, id, why, err) < 0))
		return rollback(db);
	assert(changed == (*why == REFUSED_NONE)); /* a refusal always has a reason in the order */
	return commit(db, err) < 0 ? lc_wrap(err, "%s %s", r->set_what, id) : 0;
}

int store_flag_reset(struct store *s, enum store_flag flag, const char *id, struct lc_err *err)
{
	assert(FLAG_ARGS_OK(flag, id));
	const struct flag_rule *r = &FLAGS[flag];
	return update_id(s, r->reset, id, NULL, r->reset_what, err);
}

/* --- host ------------------------------------------------------------------------------------ */

int store_host_get(struct store *s, const char *key, char *out, size_t n, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT value FROM host WHERE key = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		copy_text(out, n, st, 0);
	else if (rc == SQLITE_DONE)
		snprintf(out, n, "%s", "");
	else
		return db_fail(sqlite3_db_handle(st), err, "read host fact");
	return 0;
}

int store_host_set(struct store *s, const char *key, const char *value, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "INSERT INTO host (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", &st,
		    err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return run_update(s, st, NULL, err, "record host fact", key);
}

int store_counts(struct store *s, struct store_counts *out, struct lc_err *err)
{
	static const char BY_STATE[] = "SELECT 0, state, count(*) FROM containers GROUP BY state "
				       "UNION ALL SELECT 1, state, count(*) FROM sandboxes GROUP BY state";
	static const char FLAGS_SET[] =
		"SELECT (SELECT total(creating) FROM containers), (SELECT total(starting) FROM containers), "
		"(SELECT total(removing) FROM containers), (SELECT total(updating) FROM containers), "
		"(SELECT total(creating) FROM sandboxes), (SELECT total(stopping) FROM sandboxes), "
		"(SELECT total(removing) FROM sandboxes), "
		"(SELECT count(*) FROM sandboxes WHERE network IN (" SQL_INT(NET_ADDING) ", " SQL_INT(NET_DELETING) ")), "
		"(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())";
	memset(out, 0, sizeof *out);
	sqlite3 *db = store_conn(s, err);
	if (!db || exec(db, "BEGIN", err) < 0)
		return -1;
	int rc = 0;
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s, BY_STATE, &st, err) < 0) {
			rc = -1;
		} else {
			int r;
			while ((r = sqlite3_step(st)) == SQLITE_ROW) {
				int state = sqlite3_column_int(st, 1);
				int64_t n = sqlite3_column_int64(st, 2);
				if (sqlite3_column_int(st, 0) == 0 && state >= 0 && state < 4)
					out->containers[state] = n;
				else if (sqlite3_column_int(st, 0) == 1 && state >= 0 && state < 2)
					out->sandboxes[state] = n;
			}
			if (r != SQLITE_DONE)
				rc = db_fail(db, err, "count objects by state");
		}
	}
	if (rc == 0) {
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s, FLAGS_SET, &st, err) < 0) {
			rc = -1;
		} else if (sqlite3_step(st) != SQLITE_ROW) {
			rc = db_fail(db, err, "count flags set");
		} else {
			int64_t *v[] = { &out->ctr_creating, &out->ctr_starting, &out->ctr_removing, &out->ctr_updating,
					 &out->sb_creating,  &out->sb_stopping,	 &out->sb_removing,  &out->sb_network,
					 &out->db_bytes };
			for (int i = 0; i < 9; i++)
				*v[i] = sqlite3_column_int64(st, i);
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL); /* a read: ends the snapshot */
	return rc;
}
