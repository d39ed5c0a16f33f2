/*
 * test_store.c — the store, the migrator and the schema, on real SQLite files.
 *
 * Every test runs in a fresh temporary directory (mkdtemp under /tmp) that the teardown removes
 * with everything in it (the database, its -wal/-shm files, backups and their -wal/-shm files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/tmpdir.h"
#include "store/events.h"
#include "store/migrate.h"
#include "store/pods.h"
#include "store/store.h"
#include "util/log.h"

#ifndef LITECRI_SOURCE_DIR
#error "LITECRI_SOURCE_DIR must be defined (the repository root)"
#endif

#define LATEST ((int)litecri_migrations_count)

/* Created_at used by the view tests: 2025-11-28T15:33:20.123456789Z. */
#define T_NS 1764344000123456789LL
#define T_ISO "2025-11-28T15:33:20.123456789Z"

/* A config blob with a NUL and a high byte in it, and its hex() as SQLite prints it. */
static const unsigned char CONFIG_BLOB[] = { 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o', 0x00, 0xff };
#define CONFIG_HEX "0A0568656C6C6F00FF"
#define CONFIG_DIGEST "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char db[PATH_MAX];
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "store");
	if (!f)
		return -1;
	snprintf(f->db, sizeof f->db, "%s/litecri.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state) { return tmpdir_fixture_free(*state); }

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN); /* the migrator logs every step at info */
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

static void fx_path(const struct fx *f, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", f->dir, name);
	assert_true(n > 0 && (size_t)n < cap);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Number of files in dir whose name ends with suffix. */
static int count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	size_t sl = strlen(suffix);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l >= sl && !strcmp(e->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static void make_id(char out[65], unsigned n)
{
	int w = snprintf(out, 65, "%032x%032x", 0xc0ffeeu, n);
	assert_int_equal(w, 64);
}

static sqlite3 *db_open(const char *path, int flags)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		print_error("open %s: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		fail();
	}
	sqlite3_extended_result_codes(db, 1);
	return db;
}

static void db_close(sqlite3 *db) { assert_int_equal(sqlite3_close(db), SQLITE_OK); }

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		fail();
	}
}

/* sqlite3_exec's extended result code (the statement is expected to fail). */
static int exec_rc(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(db);
}

/* Prepare the query (sqlite3_mprintf format, so %Q and %q work) and step to its first row. */
static sqlite3_stmt *q_row(sqlite3 *db, const char *fmt, va_list ap)
{
	char *sql = sqlite3_vmprintf(fmt, ap);
	assert_non_null(sql);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
		sqlite3_free(sql);
		fail();
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		print_error("%s: no row (%s)\n", sql, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_free(sql);
		fail();
	}
	sqlite3_free(sql);
	return st;
}

/* The single integer a query returns. */
static sqlite3_int64 q_int(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = q_row(db, fmt, ap);
	va_end(ap);
	sqlite3_int64 v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The single text value a query returns, or NULL for SQL NULL; free with sqlite3_free. */
static char *q_text(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = q_row(db, fmt, ap);
	va_end(ap);
	const unsigned char *t = sqlite3_column_text(st, 0);
	char *v = t ? sqlite3_mprintf("%s", (const char *)t) : NULL;
	if (t)
		assert_non_null(v);
	sqlite3_finalize(st);
	return v;
}

/* Assert that a query returns exactly the text want (NULL: SQL NULL). */
#define assert_q_text(db, want, ...)                                           \
	do {                                                                   \
		char *got_ = q_text(db, __VA_ARGS__);                          \
		const char *want_ = (want);                                    \
		if (want_ == NULL && got_ != NULL)                             \
			print_error("expected NULL, got '%s'\n", got_);        \
		if (want_ == NULL) {                                           \
			assert_null(got_);                                     \
		} else {                                                       \
			assert_non_null(got_);                                 \
			if (strcmp(got_, want_) != 0) {                        \
				print_error("got '%s', want '%s'\n", got_, want_); \
				sqlite3_free(got_);                            \
				fail();                                        \
			}                                                      \
		}                                                              \
		sqlite3_free(got_);                                            \
	} while (0)

static int user_version_of(sqlite3 *db) { return (int)q_int(db, "PRAGMA user_version"); }

static int user_version_at(const char *path)
{
	sqlite3 *db = db_open(path, SQLITE_OPEN_READONLY);
	int v = user_version_of(db);
	db_close(db);
	return v;
}

static int object_exists(sqlite3 *db, const char *type, const char *name)
{
	return (int)q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = %Q AND name = %Q", type, name);
}

static int column_exists(sqlite3 *db, const char *table, const char *column)
{
	return (int)q_int(db, "SELECT count(*) FROM pragma_table_info(%Q) WHERE name = %Q", table, column);
}

/* Insert helpers: return SQLITE_OK or the extended error code (never assert: used in threads). */
static int insert_sandbox(sqlite3 *db, const char *id, const char *name, int state, sqlite3_int64 created_at)
{
	static const char sql[] =
		"INSERT INTO sandboxes (id, name, meta_name, meta_namespace, meta_uid, meta_attempt, state,"
		" created_at, config, config_digest)"
		" VALUES (?1, ?2, 'pod-' || ?2, 'default', 'uid-' || ?2, 0, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, state);
	sqlite3_bind_int64(st, 4, created_at);
	sqlite3_bind_blob(st, 5, CONFIG_BLOB, sizeof CONFIG_BLOB, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, CONFIG_DIGEST, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return rc;
}

static int insert_container(sqlite3 *db, const char *id, const char *sandbox_id, const char *name, int state,
			    sqlite3_int64 created_at, sqlite3_int64 started_at)
{
	static const char sql[] =
		"INSERT INTO containers (id, sandbox_id, name, meta_name, state, created_at, started_at,"
		" image, config, config_digest)"
		" VALUES (?1, ?2, ?3, 'ctr-' || ?3, ?4, ?5, ?6, 'busybox:latest', ?7, ?8)";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sandbox_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, state);
	sqlite3_bind_int64(st, 5, created_at);
	sqlite3_bind_int64(st, 6, started_at);
	sqlite3_bind_blob(st, 7, CONFIG_BLOB, sizeof CONFIG_BLOB, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, CONFIG_DIGEST, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return rc;
}

/* table: sandbox_labels, sandbox_annotations, container_labels or container_annotations. */
static int insert_kv(sqlite3 *db, const char *table, const char *owner, const char *key, const char *value)
{
	const char *col = !strncmp(table, "sandbox", 7) ? "sandbox_id" : "container_id";
	char *sql = sqlite3_mprintf("INSERT INTO %s (%s, key, value) VALUES (?1, ?2, ?3)", table, col);
	if (!sql)
		return SQLITE_NOMEM;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(db);
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return rc;
}

static void migrate_ok(const char *path, const struct migration *m, size_t n, struct migrate_result *res)
{
	struct lc_err err = { 0 };
	if (migrate_db(path, m, n, res, &err) != 0) {
		print_error("migrate_db %s to %zu: %s\n", path, n, err.msg);
		fail();
	}
}

/* The real migrations followed by one extra (its version is set here); free() the result. */
static struct migration *extended_set(const char *name, const char *sql)
{
	struct migration *m = calloc(litecri_migrations_count + 1, sizeof *m);
	assert_non_null(m);
	memcpy(m, litecri_migrations, litecri_migrations_count * sizeof *m);
	m[litecri_migrations_count] = (struct migration){ LATEST + 1, name, sql };
	return m;
}

/*
 * Does msg mention the number n as a whole number, once every occurrence of `strip` (the test
 * directory, whose random name may contain digits) has been removed?
 */
static int names_number(const char *msg, const char *strip, long n)
{
	char buf[2048];
	size_t o = 0, sl = strlen(strip);
	for (const char *p = msg; *p && o < sizeof buf - 1;) {
		if (sl && !strncmp(p, strip, sl)) {
			p += sl;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	char want[32];
	snprintf(want, sizeof want, "%ld", n);
	size_t wl = strlen(want);
	for (const char *p = buf; (p = strstr(p, want)); p++) {
		int before = p > buf && isdigit((unsigned char)p[-1]);
		int after = isdigit((unsigned char)p[wl]);
		if (!before && !after)
			return 1;
	}
	return 0;
}

#define assert_contains(hay, needle)                                                   \
	do {                                                                           \
		if (!strstr((hay), (needle))) {                                        \
			print_error("'%s' does not contain '%s'\n", (hay), (needle));  \
			fail();                                                        \
		}                                                                      \
	} while (0)

/* ------------------------------------------------------------------------------------------ */
/* SQL normalization and schema comparison (test 5)                                          */

static int is_punct(char c) { return c == '(' || c == ')' || c == ',' || c == ';'; }

/*
 * Strip -- and block comments (outside quoted strings and identifiers), collapse white space
 * to one space, drop spaces next to ( ) , ; and trim.  Returns malloc'd text.
 */
static char *sql_normalize(const char *in)
{
	char *out = malloc(strlen(in) + 1); /* never longer: a space replaces >= 1 char */
	assert_non_null(out);
	size_t o = 0;
	int space = 0;
	const char *p = in;
	while (*p) {
		if (isspace((unsigned char)*p)) {
			space = 1;
			p++;
			continue;
		}
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
			space = 1;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e ? e + 2 : p + strlen(p);
			space = 1;
			continue;
		}
		if (space && o > 0 && !is_punct(out[o - 1]) && !is_punct(*p))
			out[o++] = ' ';
		space = 0;
		char close = *p == '\'' ? '\'' : *p == '"' ? '"' : *p == '`' ? '`' : *p == '[' ? ']' : 0;
		out[o++] = *p++;
		if (!close)
			continue;
		/* a quoted string or identifier: copied verbatim; '' (or "", ``) is an escaped quote */
		while (*p) {
			if (*p == close) {
				if (close != ']' && p[1] == close) {
					out[o++] = *p++;
					out[o++] = *p++;
					continue;
				}
				out[o++] = *p++;
				break;
			}
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

struct schema_row {
	char *type, *name, *tbl_name, *sql; /* sql normalized */
};

struct schema {
	struct schema_row *rows;
	size_t n;
};

static void schema_read(sqlite3 *db, struct schema *s)
{
	static const char sql[] = "SELECT type, name, tbl_name, sql FROM sqlite_master"
				  " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name";
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	s->rows = NULL;
	s->n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct schema_row *r = realloc(s->rows, (s->n + 1) * sizeof *r);
		assert_non_null(r);
		s->rows = r;
		r = &s->rows[s->n++];
		const char *t[4];
		for (int i = 0; i < 4; i++) {
			t[i] = (const char *)sqlite3_column_text(st, i);
			if (!t[i])
				t[i] = "";
		}
		r->type = strdup(t[0]);
		r->name = strdup(t[1]);
		r->tbl_name = strdup(t[2]);
		r->sql = sql_normalize(t[3]);
		assert_true(r->type && r->name && r->tbl_name);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
}

static void schema_free(struct schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i].type);
		free(s->rows[i].name);
		free(s->rows[i].tbl_name);
		free(s->rows[i].sql);
	}
	free(s->rows);
	s->rows = NULL;
	s->n = 0;
}

/*
 * Compare two databases' schemas (sqlite_master, normalized) and user_version.  Returns the
 * number of differences; when report, prints each one with both normalized statements.
 */
static int schema_diff(sqlite3 *a, const char *alabel, sqlite3 *b, const char *blabel, int report)
{
	struct schema sa, sb;
	schema_read(a, &sa);
	schema_read(b, &sb);
	int diffs = 0;
	size_t i = 0, j = 0;
	while (i < sa.n || j < sb.n) {
		int c;
		if (i == sa.n)
			c = 1;
		else if (j == sb.n)
			c = -1;
		else if ((c = strcmp(sa.rows[i].type, sb.rows[j].type)) == 0)
			c = strcmp(sa.rows[i].name, sb.rows[j].name);
		if (c < 0) {
			if (report)
				print_error("%s %s is only in %s:\n  %s: %s\n", sa.rows[i].type, sa.rows[i].name,
					    alabel, alabel, sa.rows[i].sql);
			diffs++;
			i++;
		} else if (c > 0) {
			if (report)
				print_error("%s %s is only in %s:\n  %s: %s\n", sb.rows[j].type, sb.rows[j].name,
					    blabel, blabel, sb.rows[j].sql);
			diffs++;
			j++;
		} else {
			const struct schema_row *ra = &sa.rows[i], *rb = &sb.rows[j];
			if (strcmp(ra->tbl_name, rb->tbl_name) || strcmp(ra->sql, rb->sql)) {
				size_t k = 0;
				while (ra->sql[k] && ra->sql[k] == rb->sql[k])
					k++;
				if (report)
					print_error("%s %s differs (normalized SQL, first at character %zu: "
						    "%s '%.20s' vs %s '%.20s'):\n  %s (table %s): %s\n  %s (table %s): %s\n",
						    ra->type, ra->name, k, alabel, ra->sql + k, blabel, rb->sql + k,
						    alabel, ra->tbl_name, ra->sql, blabel, rb->tbl_name, rb->sql);
				diffs++;
			}
			i++;
			j++;
		}
	}
	int va = user_version_of(a), vb = user_version_of(b);
	if (va != vb) {
		if (report)
			print_error("user_version differs: %s %d, %s %d\n", alabel, va, blabel, vb);
		diffs++;
	}
	schema_free(&sa);
	schema_free(&sb);
	return diffs;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			char *nb = realloc(buf, cap * 2);
			assert_non_null(nb);
			buf = nb;
			cap *= 2;
		}
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* A new database file `name` in the test directory holding exactly `sql`. */
static sqlite3 *load_sql(const struct fx *f, const char *name, const char *sql)
{
	char path[PATH_MAX];
	fx_path(f, name, path, sizeof path);
	assert_false(file_exists(path));
	sqlite3 *db = db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	exec_ok(db, sql);
	return db;
}

/* s with the first occurrence of from replaced by to; free() the result. */
static char *replace_first(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	if (!p) {
		print_error("'%s' not found in schema.sql: update the test\n", from);
		fail();
	}
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

/* The comparison's normalizer: comments and white space go, string literals stay as they are. */
static void test_sql_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "  CREATE  TABLE\tt ( a INTEGER -- trailing\n , b TEXT /* block\n */ ) ; ",
		  "CREATE TABLE t(a INTEGER,b TEXT);" },
		{ "SELECT strftime('%Y-%m-%dT%H:%M:%S', x) || printf('.%09dZ', y)",
		  "SELECT strftime('%Y-%m-%dT%H:%M:%S',x)|| printf('.%09dZ',y)" },
		{ "SELECT 'a -- not a comment', '/* nor this */', 'it''s  ( two )'",
		  "SELECT 'a -- not a comment','/* nor this */','it''s  ( two )'" },
		{ "SELECT \"odd -- name\"  ,  [x /* y */]", "SELECT \"odd -- name\",[x /* y */]" },
		{ "a/**/b", "a b" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = sql_normalize(cases[i].in);
		int same = strcmp(got, cases[i].want) == 0;
		if (!same)
			print_error("normalize(%s)\n  got  %s\n  want %s\n", cases[i].in, got, cases[i].want);
		free(got);
		if (!same)
			fail();
	}
}

/* 1. A fresh database migrates to the latest version; running again does nothing. */
static void test_fresh_migrates_to_latest(void **state)
{
	struct fx *f = *state;
	assert_true(LATEST >= 1);
	for (size_t i = 0; i < litecri_migrations_count; i++) {
		assert_int_equal(litecri_migrations[i].version, (int)i + 1);
		assert_non_null(litecri_migrations[i].name);
		assert_non_null(litecri_migrations[i].sql);
	}
	assert_string_equal(litecri_migrations[0].name, "0001_initial.sql");

	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	assert_int_equal(res.from, 0);
	assert_int_equal(res.to, LATEST);
	assert_string_equal(res.backup, "");
	assert_int_equal(count_suffix(f->dir, ".bak"), 0);
	assert_int_equal(count_suffix(f->dir, ".tmp"), 0);

	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	assert_int_equal(user_version_of(db), LATEST);
	int v = -1;
	struct lc_err err = { 0 };
	assert_int_equal(store_user_version(db, &v, &err), 0);
	assert_int_equal(v, LATEST);
	assert_q_text(db, "wal", "PRAGMA journal_mode"); /* persistent in the file */
	static const char *const tables[] = { "sandboxes",       "containers",       "sandbox_labels",
					      "sandbox_annotations", "container_labels", "container_annotations" };
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		if (!object_exists(db, "table", tables[i]))
			print_error("table %s missing\n", tables[i]);
		assert_int_equal(object_exists(db, "table", tables[i]), 1);
	}
	assert_int_equal(object_exists(db, "view", "sandboxes_v"), 1);
	assert_int_equal(object_exists(db, "view", "containers_v"), 1);
	assert_int_equal(object_exists(db, "index", "container_labels_kv"), 1);
	assert_int_equal(object_exists(db, "index", "sandbox_labels_kv"), 1);
	/* the views compile against the tables */
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes_v"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers_v"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
	db_close(db);

	/* again: a no-op */
	memset(&res, 0x55, sizeof res);
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	assert_int_equal(res.from, LATEST);
	assert_int_equal(res.to, LATEST);
	assert_string_equal(res.backup, "");
	assert_int_equal(count_suffix(f->dir, ".bak"), 0);
	assert_int_equal(user_version_at(f->db), LATEST);
}

/* migrate_db on a path that cannot be opened fails and names the path. */
static void test_migrate_unopenable_path(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	fx_path(f, "no/such/dir/litecri.db", path, sizeof path);
	struct migrate_result res;
	struct lc_err err = { 0 };
	assert_int_equal(migrate_db(path, litecri_migrations, litecri_migrations_count, &res, &err), -1);
	assert_contains(err.msg, path);
	assert_string_equal(res.backup, "");
}

/* Rows every version must keep: a user table and (from version 1 on) a sandbox with labels. */
static void fill_version(sqlite3 *db, int v, unsigned salt)
{
	exec_ok(db, "CREATE TABLE t_keep (a TEXT NOT NULL, b INTEGER); "
		    "INSERT INTO t_keep VALUES ('kept', 42);");
	if (v >= 1) {
		char sid[65];
		make_id(sid, salt);
		assert_int_equal(insert_sandbox(db, sid, "keep_default_uid_0", 0, T_NS), SQLITE_OK);
		assert_int_equal(insert_kv(db, "sandbox_labels", sid, "app", "keep"), SQLITE_OK);
	}
}

static void check_version_rows(sqlite3 *db, int v, unsigned salt)
{
	assert_int_equal(q_int(db, "SELECT count(*) FROM t_keep WHERE a = 'kept' AND b = 42"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM t_keep"), 1);
	if (v >= 1) {
		char sid[65];
		make_id(sid, salt);
		assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes WHERE id = %Q AND name = %Q"
					   " AND created_at = %lld AND hex(config) = %Q",
				       sid, "keep_default_uid_0", T_NS, CONFIG_HEX),
				 1);
		assert_int_equal(q_int(db, "SELECT count(*) FROM sandbox_labels WHERE sandbox_id = %Q"
					   " AND key = 'app' AND value = 'keep'", sid),
				 1);
	}
}

/* The backup of a database migrated from version `from`: exists, opens, holds version from. */
static void check_backup(const char *db_path, const struct migrate_result *res, int from, unsigned salt)
{
	char want[PATH_MAX + 32];
	snprintf(want, sizeof want, "%s.v%d.bak", db_path, from);
	assert_string_equal(res->backup, want);
	assert_true(file_exists(res->backup));
	char tmp[PATH_MAX + 40];
	snprintf(tmp, sizeof tmp, "%s.tmp", res->backup);
	assert_false(file_exists(tmp));
	sqlite3 *b = db_open(res->backup, SQLITE_OPEN_READONLY);
	assert_int_equal(user_version_of(b), from);
	assert_int_equal(q_int(b, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
	check_version_rows(b, from, salt);
	db_close(b);
}

/* 2a. A database at each older real version migrates forward with its rows and a backup. */
static void test_older_versions_migrate_forward(void **state)
{
	struct fx *f = *state;
	if (LATEST < 2)
		print_message("only %d migration(s): no older real version to start from "
			      "(see test_synthetic_migration_keeps_rows)\n", LATEST);
	for (int v = 1; v < LATEST; v++) {
		char path[PATH_MAX], name[32];
		snprintf(name, sizeof name, "v%d.db", v);
		fx_path(f, name, path, sizeof path);
		struct migrate_result res;
		migrate_ok(path, litecri_migrations, (size_t)v, &res);
		assert_int_equal(res.from, 0);
		assert_int_equal(res.to, v);
		assert_string_equal(res.backup, "");
		assert_int_equal(user_version_at(path), v);

		sqlite3 *db = db_open(path, SQLITE_OPEN_READWRITE);
		fill_version(db, v, (unsigned)v);
		db_close(db);

		migrate_ok(path, litecri_migrations, litecri_migrations_count, &res);
		assert_int_equal(res.from, v);
		assert_int_equal(res.to, LATEST);
		db = db_open(path, SQLITE_OPEN_READWRITE);
		assert_int_equal(user_version_of(db), LATEST);
		check_version_rows(db, v, (unsigned)v);
		db_close(db);
		check_backup(path, &res, v, (unsigned)v);
	}
}

/* 2b. Real migrations plus a synthetic one that adds a column: rows survive, backup at latest. */
static void test_synthetic_migration_keeps_rows(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	assert_int_equal(res.to, LATEST);

	char sid[65], cid[65];
	make_id(sid, 1);
	make_id(cid, 2);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	exec_ok(db, "PRAGMA foreign_keys = ON");
	fill_version(db, LATEST, 7);
	assert_int_equal(insert_sandbox(db, sid, "web_default_uid1_0", 0, T_NS), SQLITE_OK);
	assert_int_equal(insert_container(db, cid, sid, "nginx_web_default_uid1_0", 1, T_NS, T_NS + 1), SQLITE_OK);
	assert_int_equal(insert_kv(db, "sandbox_labels", sid, "app", "web"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "sandbox_annotations", sid, "note", "a"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "container_labels", cid, "app", "web"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "container_labels", cid, "tier", "front"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "container_annotations", cid, "io.kubernetes.x", "y"), SQLITE_OK);
	db_close(db);

	struct migration *ext = extended_set("9999_test_add_column.sql",
					     "ALTER TABLE containers ADD COLUMN extra TEXT NOT NULL DEFAULT 'x';\n"
					     "CREATE TABLE t_new(a);\n");
	struct lc_err err = { 0 };
	int rc = migrate_db(f->db, ext, litecri_migrations_count + 1, &res, &err);
	free(ext);
	if (rc != 0)
		print_error("migrate_db: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(res.from, LATEST);
	assert_int_equal(res.to, LATEST + 1);

	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: the migrated database; pass 1: its backup, still at version LATEST */
		sqlite3 *d = pass == 0 ? db_open(f->db, SQLITE_OPEN_READWRITE) : db_open(res.backup, SQLITE_OPEN_READONLY);
		assert_int_equal(user_version_of(d), pass == 0 ? LATEST + 1 : LATEST);
		assert_int_equal(q_int(d, "SELECT count(*) FROM sandboxes"), 2);
		assert_int_equal(q_int(d, "SELECT count(*) FROM sandboxes WHERE id = %Q AND name = %Q AND state = 0"
					  " AND created_at = %lld AND hex(config) = %Q AND config_digest = %Q",
				       sid, "web_default_uid1_0", T_NS, CONFIG_HEX, CONFIG_DIGEST),
				 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM containers WHERE id = %Q AND sandbox_id = %Q"
					  " AND name = %Q AND state = 1 AND created_at = %lld AND started_at = %lld"
					  " AND image = 'busybox:latest' AND hex(config) = %Q AND config_digest = %Q",
				       cid, sid, "nginx_web_default_uid1_0", T_NS, T_NS + 1, CONFIG_HEX, CONFIG_DIGEST),
				 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM container_labels WHERE container_id = %Q", cid), 2);
		assert_int_equal(q_int(d, "SELECT count(*) FROM container_labels WHERE container_id = %Q"
					  " AND key = 'tier' AND value = 'front'", cid),
				 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM container_annotations WHERE container_id = %Q", cid), 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM sandbox_labels WHERE sandbox_id = %Q", sid), 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM sandbox_annotations WHERE sandbox_id = %Q", sid), 1);
		assert_int_equal(q_int(d, "SELECT count(*) FROM containers_v WHERE id = %Q AND state = 'RUNNING'", cid), 1);
		check_version_rows(d, LATEST, 7);
		if (pass == 0) {
			assert_int_equal(column_exists(d, "containers", "extra"), 1);
			assert_q_text(d, "x", "SELECT extra FROM containers WHERE id = %Q", cid);
			assert_int_equal(object_exists(d, "table", "t_new"), 1);
			assert_int_equal(q_int(d, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
		} else {
			assert_int_equal(column_exists(d, "containers", "extra"), 0);
			assert_int_equal(object_exists(d, "table", "t_new"), 0);
		}
		db_close(d);
	}
	check_backup(f->db, &res, LATEST, 7);
	assert_int_equal(count_suffix(f->dir, ".bak"), 1);
}

/* 3. A database written by a newer litecri is refused and left alone. */
static void test_newer_version_refused(void **state)
{
	struct fx *f = *state;
	const int newer = LATEST + 5;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", newer);
	exec_ok(db, sql);
	int objects = (int)q_int(db, "SELECT count(*) FROM sqlite_master");
	db_close(db);

	struct lc_err err = { 0 };
	assert_int_equal(migrate_db(f->db, litecri_migrations, litecri_migrations_count, &res, &err), -1);
	assert_int_equal(res.from, newer);
	assert_int_equal(res.to, newer);
	assert_string_equal(res.backup, "");
	if (!names_number(err.msg, f->dir, newer) || !names_number(err.msg, f->dir, LATEST))
		print_error("message does not name %d and %d: %s\n", newer, LATEST, err.msg);
	assert_true(names_number(err.msg, f->dir, newer));
	assert_true(names_number(err.msg, f->dir, LATEST));
	assert_contains(err.msg, f->db);

	db = db_open(f->db, SQLITE_OPEN_READONLY);
	assert_int_equal(user_version_of(db), newer);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master"), objects);
	db_close(db);
	assert_int_equal(count_suffix(f->dir, ".bak"), 0);

	struct store *s = NULL;
	memset(&err, 0, sizeof err);
	assert_int_equal(store_open(f->db, LATEST, &s, &err), -1);
	assert_null(s);
	if (!names_number(err.msg, f->dir, newer) || !names_number(err.msg, f->dir, LATEST))
		print_error("message does not name %d and %d: %s\n", newer, LATEST, err.msg);
	assert_true(names_number(err.msg, f->dir, newer));
	assert_true(names_number(err.msg, f->dir, LATEST));
	assert_int_equal(user_version_at(f->db), newer);
}

/* store_open refuses an older (here: empty, version 0) database too. */
static void test_store_open_older_version_refused(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	struct lc_err err = { 0 };
	assert_int_equal(store_open(f->db, LATEST, &s, &err), -1);
	assert_null(s);
	assert_true(names_number(err.msg, f->dir, 0));
	assert_true(names_number(err.msg, f->dir, LATEST));

	char path[PATH_MAX];
	fx_path(f, "no/such/dir/x.db", path, sizeof path);
	memset(&err, 0, sizeof err);
	assert_int_equal(store_open(path, LATEST, &s, &err), -1);
	assert_null(s);
	assert_contains(err.msg, path);
}

/* 4. A migration that fails halfway leaves nothing of itself behind. */
static const char FAILING_SQL[] = "CREATE TABLE t_partial(a);\n"
				  "INSERT INTO t_partial VALUES(1);\n"
				  "ALTER TABLE containers ADD COLUMN y INTEGER;\n"
				  "INSERT INTO no_such_table VALUES(1);\n";

static void check_not_applied(const char *path, int rows)
{
	sqlite3 *db = db_open(path, SQLITE_OPEN_READONLY);
	assert_int_equal(user_version_of(db), LATEST);
	assert_int_equal(object_exists(db, "table", "t_partial"), 0);
	assert_int_equal(column_exists(db, "containers", "y"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers"), rows);
	db_close(db);
}

/* Migrate path to the latest version and add one sandbox with one container. */
static void migrate_with_rows(const char *path, struct migrate_result *res)
{
	migrate_ok(path, litecri_migrations, litecri_migrations_count, res);
	char sid[65], cid[65];
	make_id(sid, 1);
	make_id(cid, 2);
	sqlite3 *db = db_open(path, SQLITE_OPEN_READWRITE);
	assert_int_equal(insert_sandbox(db, sid, "s", 0, T_NS), SQLITE_OK);
	assert_int_equal(insert_container(db, cid, sid, "c", 0, T_NS, 0), SQLITE_OK);
	db_close(db);
}

static void test_failed_migration_rolls_back(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_with_rows(f->db, &res);
	sqlite3 *db;

	struct migration *ext = extended_set("9999_test_fails.sql", FAILING_SQL);
	struct lc_err err = { 0 };
	int rc = migrate_db(f->db, ext, litecri_migrations_count + 1, &res, &err);
	assert_int_equal(rc, -1);
	assert_contains(err.msg, "9999_test_fails.sql");
	assert_contains(err.msg, "no_such_table");
	assert_int_equal(res.from, LATEST);
	assert_int_equal(res.to, LATEST);
	check_not_applied(f->db, 1);

	/* the database is still usable at its version */
	struct store *s = NULL;
	memset(&err, 0, sizeof err);
	if (store_open(f->db, LATEST, &s, &err) != 0)
		print_error("store_open: %s\n", err.msg);
	assert_non_null(s);
	assert_int_equal(store_ping(s, &err), 0);
	store_close(s);

	/* from scratch: the real migrations commit, the failing one does not */
	char fresh[PATH_MAX];
	fx_path(f, "fresh.db", fresh, sizeof fresh);
	memset(&err, 0, sizeof err);
	assert_int_equal(migrate_db(fresh, ext, litecri_migrations_count + 1, &res, &err), -1);
	assert_contains(err.msg, "9999_test_fails.sql");
	assert_int_equal(res.from, 0);
	assert_int_equal(res.to, LATEST);
	assert_string_equal(res.backup, "");
	check_not_applied(fresh, 0);
	free(ext);

	/* a fixed migration of the same version then applies */
	ext = extended_set("9999_test_fixed.sql", "CREATE TABLE t_partial(a); ALTER TABLE containers ADD COLUMN y INTEGER;");
	migrate_ok(f->db, ext, litecri_migrations_count + 1, &res);
	free(ext);
	assert_int_equal(res.from, LATEST);
	assert_int_equal(res.to, LATEST + 1);
	db = db_open(f->db, SQLITE_OPEN_READONLY);
	assert_int_equal(user_version_of(db), LATEST + 1);
	assert_int_equal(column_exists(db, "containers", "y"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers"), 1);
	db_close(db);
}

/*
 * Crash test: a process killed (SIGKILL) in the middle of a migration leaves the database at its
 * previous version, intact, with the backup in place; the next start migrates normally.
 */
static void test_killed_during_migration(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_with_rows(f->db, &res);
	sqlite3 *db;

	/* Changes first, then a statement that computes for minutes: the kill lands inside it. */
	struct migration *ext = extended_set("9999_test_slow.sql",
		"CREATE TABLE t_partial(a); INSERT INTO t_partial VALUES (1);"
		"ALTER TABLE containers ADD COLUMN y INTEGER;"
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000)"
		" SELECT count(*) FROM c;");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lc_err err = { 0 };
		struct migrate_result r;
		migrate_db(f->db, ext, litecri_migrations_count + 1, &r, &err);
		_exit(0);
	}
	/* Wait until the child holds the write transaction: another writer then gets SQLITE_BUSY. */
	db = db_open(f->db, SQLITE_OPEN_READWRITE);
	sqlite3_busy_timeout(db, 0);
	int busy = 0;
	for (int i = 0; i < 2000 && !busy; i++) {
		int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_BUSY) {
			busy = 1;
		} else {
			assert_int_equal(rc, SQLITE_OK);
			assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		}
	}
	db_close(db);
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL); /* well inside the long statement */
	assert_int_equal(kill(pid, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL); /* it was killed, not finished */
	assert_true(busy);

	check_not_applied(f->db, 1);
	db = db_open(f->db, SQLITE_OPEN_READONLY);
	assert_q_text(db, "ok", "PRAGMA integrity_check");
	db_close(db);
	char bak[PATH_MAX + 16];
	snprintf(bak, sizeof bak, "%s.v%d.bak", f->db, LATEST);
	assert_int_equal(user_version_at(bak), LATEST);
	free(ext);

	/* The next start applies a (fixed) migration normally. */
	ext = extended_set("9999_test_fixed.sql", "CREATE TABLE t_partial(a);");
	migrate_ok(f->db, ext, litecri_migrations_count + 1, &res);
	free(ext);
	assert_int_equal(res.to, LATEST + 1);
	assert_int_equal(user_version_at(f->db), LATEST + 1);
}

/* 4b. A migration that leaves a foreign-key violation is rolled back (foreign_key_check). */
static void test_fk_violating_migration_rolls_back(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);

	char cid[65], missing[65];
	make_id(cid, 10);
	make_id(missing, 11);
	char *sql = sqlite3_mprintf("CREATE TABLE t_partial(a);\n"
				    "INSERT INTO containers (id, sandbox_id, name, meta_name, config, config_digest)"
				    " VALUES (%Q, %Q, 'orphan', 'orphan', x'00', 'd');\n",
				    cid, missing);
	assert_non_null(sql);
	struct migration *ext = extended_set("9999_test_orphan.sql", sql);
	struct lc_err err = { 0 };
	int rc = migrate_db(f->db, ext, litecri_migrations_count + 1, &res, &err);
	free(ext);
	sqlite3_free(sql);
	assert_int_equal(rc, -1);
	assert_contains(err.msg, "9999_test_orphan.sql");
	assert_contains(err.msg, "foreign key");
	assert_contains(err.msg, "containers");
	assert_int_equal(res.to, LATEST);
	check_not_applied(f->db, 0);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READONLY);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers WHERE id = %Q", cid), 0);
	db_close(db);
}

/* 5. schema/schema.sql describes exactly what the migrations build. */
static void test_schema_sql_matches_migrations(void **state)
{
	struct fx *f = *state;
	char *text = read_file(LITECRI_SOURCE_DIR "/schema/schema.sql");
	sqlite3 *doc = load_sql(f, "schema.db", text);

	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	sqlite3 *mig = db_open(f->db, SQLITE_OPEN_READONLY);

	assert_int_equal(user_version_of(doc), LATEST);
	int diffs = schema_diff(doc, "schema.sql", mig, "migrations", 1);
	assert_int_equal(diffs, 0);

	/* The comparison is not vacuous: changes the normalization must not hide are found... */
	char *extra = malloc(strlen(text) + 64);
	assert_non_null(extra);
	sprintf(extra, "%s\nCREATE TABLE extra_x(a);\n", text);
	sqlite3 *d1 = load_sql(f, "neg1.db", extra);
	assert_true(schema_diff(d1, "variant", mig, "migrations", 0) > 0);
	db_close(d1);
	free(extra);

	char *changed_default = replace_first(text, "runtime_handler TEXT    NOT NULL DEFAULT ''",
					      "runtime_handler TEXT    NOT NULL DEFAULT 'runc'");
	sqlite3 *d2 = load_sql(f, "neg2.db", changed_default);
	assert_int_equal(schema_diff(d2, "variant", mig, "migrations", 0), 1);
	db_close(d2);
	free(changed_default);

	char *changed_literal = replace_first(text, "printf('.%09dZ', c.created_at", "printf('.%06dZ', c.created_at");
	sqlite3 *d3 = load_sql(f, "neg3.db", changed_literal);
	assert_int_equal(schema_diff(d3, "variant", mig, "migrations", 0), 1);
	db_close(d3);
	free(changed_literal);

	char *changed_version = replace_first(text, "PRAGMA user_version", "PRAGMA user_version = 99; --");
	sqlite3 *d4 = load_sql(f, "neg4.db", changed_version);
	assert_int_equal(schema_diff(d4, "variant", mig, "migrations", 0), 1);
	db_close(d4);
	free(changed_version);

	/* ...and changes it must hide (comments, white space) are not. */
	char *cosmetic = replace_first(text, "CREATE TABLE sandboxes (",
				       "CREATE   TABLE\tsandboxes /* a comment */ (\n    -- another one, it's fine\n");
	sqlite3 *d5 = load_sql(f, "pos1.db", cosmetic);
	assert_int_equal(schema_diff(d5, "variant", mig, "migrations", 1), 0);
	db_close(d5);
	free(cosmetic);

	db_close(mig);
	db_close(doc);
	free(text);
}

/* 6. store_open: connection settings, one connection per thread, ping, close. */
struct thread_arg {
	struct store *s;
	pthread_barrier_t *barrier;
	unsigned salt;
	sqlite3 *db;
	int ok;
	char msg[1200];
};

static int t_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void *conn_thread(void *p)
{
	struct thread_arg *a = p;
	struct lc_err err = { 0 };
	a->db = store_conn(a->s, &err);
	/* both threads hold their connection at the same time */
	pthread_barrier_wait(a->barrier);
	if (!a->db) {
		snprintf(a->msg, sizeof a->msg, "store_conn: %s", err.msg);
		return NULL;
	}
	if (store_conn(a->s, &err) != a->db) {
		snprintf(a->msg, sizeof a->msg, "store_conn gave this thread a second connection");
		return NULL;
	}
	sqlite3_int64 fk = -1, sync = -1;
	if (t_int(a->db, "PRAGMA foreign_keys", &fk) < 0 || fk != 1 ||
	    t_int(a->db, "PRAGMA synchronous", &sync) < 0 || sync != 2) {
		snprintf(a->msg, sizeof a->msg, "connection settings: foreign_keys=%lld synchronous=%lld", fk, sync);
		return NULL;
	}
	char id[65], name[32];
	snprintf(id, sizeof id, "%032x%032x", 0xc0ffeeu, a->salt);
	snprintf(name, sizeof name, "thread%u_default_uid_0", a->salt);
	int rc = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = insert_sandbox(a->db, id, name, 1, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(a->msg, sizeof a->msg, "insert: %s", sqlite3_errmsg(a->db));
		if (!sqlite3_get_autocommit(a->db))
			sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		return NULL;
	}
	if (store_ping(a->s, &err) != 0) {
		snprintf(a->msg, sizeof a->msg, "store_ping: %s", err.msg);
		return NULL;
	}
	a->ok = 1;
	return NULL;
}

static void test_store_open_settings_and_threads(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);

	struct store *s = NULL;
	struct lc_err err = { 0 };
	if (store_open(f->db, LATEST, &s, &err) != 0)
		print_error("store_open: %s\n", err.msg);
	assert_non_null(s);
	sqlite3 *db = store_conn(s, &err);
	assert_non_null(db);
	assert_ptr_equal(store_conn(s, &err), db);
	assert_q_text(db, "wal", "PRAGMA journal_mode");
	assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(q_int(db, "PRAGMA synchronous"), 2);
	assert_int_equal(q_int(db, "PRAGMA busy_timeout"), 10000); /* the documented 10 s (docs/database.md) */
	assert_int_equal(store_ping(s, &err), 0);

	pthread_barrier_t barrier;
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	struct thread_arg a[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof a[i]);
		a[i].s = s;
		a[i].barrier = &barrier;
		a[i].salt = 100 + (unsigned)i;
		assert_int_equal(pthread_create(&t[i], NULL, conn_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < 2; i++) {
		if (!a[i].ok)
			print_error("thread %d: %s\n", i, a[i].msg);
		assert_true(a[i].ok);
		assert_non_null(a[i].db);
		assert_ptr_not_equal(a[i].db, db);
	}
	assert_ptr_not_equal(a[0].db, a[1].db);
	/* the main thread still has its own connection, and sees both threads' commits */
	assert_ptr_equal(store_conn(s, &err), db);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes"), 2);
	assert_int_equal(store_ping(s, &err), 0);
	store_close(s); /* closes all three connections; LSan checks nothing leaks */
	store_close(NULL);

	/* reopening works after close (the per-thread key is fresh) */
	s = NULL;
	assert_int_equal(store_open(f->db, LATEST, &s, &err), 0);
	db = store_conn(s, &err);
	assert_non_null(db);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes"), 2);
	store_close(s);
}

/* 7. Constraints: foreign keys, name reservation, RESTRICT, CASCADE, id format. */
static void test_constraints(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	struct lc_err err = { 0 };
	sqlite3 *db = store_connect(f->db, &err); /* the daemon's connection settings */
	if (!db)
		print_error("store_connect: %s\n", err.msg);
	assert_non_null(db);
	sqlite3_extended_result_codes(db, 1);

	char s1[65], s2[65], s3[65], c1[65], c2[65], none[65];
	make_id(s1, 1);
	make_id(s2, 2);
	make_id(s3, 3);
	make_id(c1, 11);
	make_id(c2, 12);
	make_id(none, 99);

	assert_int_equal(insert_sandbox(db, s1, "web_default_u1_0", 0, T_NS), SQLITE_OK);
	/* a container needs its sandbox */
	assert_int_equal(insert_container(db, c1, none, "c1", 0, T_NS, 0), SQLITE_CONSTRAINT_FOREIGNKEY);
	assert_int_equal(insert_container(db, c1, s1, "c1", 0, T_NS, 0), SQLITE_OK);
	/* names are reserved: a second sandbox (or container) with the same name is refused */
	assert_int_equal(insert_sandbox(db, s2, "web_default_u1_0", 0, T_NS), SQLITE_CONSTRAINT_UNIQUE);
	assert_int_equal(insert_container(db, c2, s1, "c1", 0, T_NS, 0), SQLITE_CONSTRAINT_UNIQUE);
	/* the same id twice is refused too */
	assert_int_equal(insert_sandbox(db, s1, "other_default_u1_0", 0, T_NS), SQLITE_CONSTRAINT_PRIMARYKEY);
	/* states outside the CRI enums are refused */
	assert_int_equal(insert_sandbox(db, s2, "bad_state", 2, T_NS), SQLITE_CONSTRAINT_CHECK);
	assert_int_equal(insert_container(db, c2, s1, "bad_state", 4, T_NS, 0), SQLITE_CONSTRAINT_CHECK);

	assert_int_equal(insert_kv(db, "container_labels", c1, "app", "web"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "container_labels", c1, "app", "again"), SQLITE_CONSTRAINT_PRIMARYKEY);
	assert_int_equal(insert_kv(db, "container_labels", none, "app", "web"), SQLITE_CONSTRAINT_FOREIGNKEY);
	assert_int_equal(insert_kv(db, "container_annotations", c1, "a", "b"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "sandbox_labels", s1, "app", "web"), SQLITE_OK);
	assert_int_equal(insert_kv(db, "sandbox_annotations", s1, "a", "b"), SQLITE_OK);

	/* a sandbox with containers cannot be deleted (RESTRICT) */
	char *sql = sqlite3_mprintf("DELETE FROM sandboxes WHERE id = %Q", s1);
	assert_non_null(sql);
	/* (SQLite implements RESTRICT as a RAISE trigger: the extended code is ..._TRIGGER) */
	assert_int_equal(exec_rc(db, sql) & 0xff, SQLITE_CONSTRAINT);
	assert_string_equal(sqlite3_errmsg(db), "FOREIGN KEY constraint failed");
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes WHERE id = %Q", s1), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers WHERE id = %Q", c1), 1);

	/* deleting a container deletes its labels and annotations */
	char *del_c = sqlite3_mprintf("DELETE FROM containers WHERE id = %Q", c1);
	assert_non_null(del_c);
	exec_ok(db, del_c);
	sqlite3_free(del_c);
	assert_int_equal(q_int(db, "SELECT count(*) FROM container_labels WHERE container_id = %Q", c1), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM container_annotations WHERE container_id = %Q", c1), 0);
	/* its name is free again */
	assert_int_equal(insert_container(db, c2, s1, "c1", 0, T_NS, 0), SQLITE_OK);
	char *del_c2 = sqlite3_mprintf("DELETE FROM containers WHERE id = %Q", c2);
	assert_non_null(del_c2);
	exec_ok(db, del_c2);
	sqlite3_free(del_c2);

	/* now the sandbox can go, with its labels, and its name is free again */
	exec_ok(db, sql);
	sqlite3_free(sql);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandbox_labels"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandbox_annotations"), 0);
	assert_int_equal(insert_sandbox(db, s2, "web_default_u1_0", 0, T_NS), SQLITE_OK);

	/* ids are exactly 64 lowercase hex digits */
	char upper[65], shorter[65], longer[66], nonhex[65];
	make_id(upper, 0xabcdu);
	for (char *p = upper; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	make_id(shorter, 5);
	shorter[63] = '\0';
	make_id(longer, 6);
	strcat(longer, "0");
	make_id(nonhex, 7);
	nonhex[10] = 'g';
	const char *bad[] = { upper, shorter, longer, nonhex, "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%zu", i);
		assert_int_equal(insert_sandbox(db, bad[i], name, 0, 0), SQLITE_CONSTRAINT_CHECK);
		assert_int_equal(insert_container(db, bad[i], s2, name, 0, 0, 0), SQLITE_CONSTRAINT_CHECK);
	}
	assert_int_equal(insert_sandbox(db, s3, "good", 0, 0), SQLITE_OK);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers"), 0);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* All EXPLAIN QUERY PLAN details of sql, joined by " | "; sqlite3_free() the result. */
static char *query_plan(sqlite3 *db, const char *sql)
{
	char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	assert_non_null(eqp);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", eqp, sqlite3_errmsg(db));
		fail();
	}
	sqlite3_free(eqp);
	assert_int_equal(sqlite3_bind_text(st, 1, "app", -1, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 2, "web", -1, SQLITE_STATIC), SQLITE_OK);
	char *plan = sqlite3_mprintf("%s", "");
	assert_non_null(plan);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *np = sqlite3_mprintf("%s | %s", plan, (const char *)sqlite3_column_text(st, 3));
		assert_non_null(np);
		sqlite3_free(plan);
		plan = np;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	return plan;
}

/* 7b. A label selector is an index lookup on the (key, value) index. */
static void test_label_selector_uses_index(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);

	/* some rows, so the query also returns the right answer */
	char sid[65];
	make_id(sid, 1);
	assert_int_equal(insert_sandbox(db, sid, "s", 0, T_NS), SQLITE_OK);
	assert_int_equal(insert_kv(db, "sandbox_labels", sid, "app", "web"), SQLITE_OK);
	for (unsigned i = 0; i < 20; i++) {
		char cid[65], name[16];
		make_id(cid, 100 + i);
		snprintf(name, sizeof name, "c%u", i);
		assert_int_equal(insert_container(db, cid, sid, name, 0, T_NS, 0), SQLITE_OK);
		assert_int_equal(insert_kv(db, "container_labels", cid, "app", i % 4 ? "db" : "web"), SQLITE_OK);
	}

	static const char csel[] = "SELECT id FROM containers WHERE id IN"
				   " (SELECT container_id FROM container_labels WHERE key = ?1 AND value = ?2)";
	char *plan = query_plan(db, csel);
	if (!strstr(plan, "container_labels_kv"))
		print_error("plan does not use container_labels_kv:%s\n", plan);
	assert_non_null(strstr(plan, "container_labels_kv"));
	sqlite3_free(plan);

	static const char ssel[] = "SELECT id FROM sandboxes WHERE id IN"
				   " (SELECT sandbox_id FROM sandbox_labels WHERE key = ?1 AND value = ?2)";
	plan = query_plan(db, ssel);
	if (!strstr(plan, "sandbox_labels_kv"))
		print_error("plan does not use sandbox_labels_kv:%s\n", plan);
	assert_non_null(strstr(plan, "sandbox_labels_kv"));
	sqlite3_free(plan);

	assert_int_equal(q_int(db, "SELECT count(*) FROM containers WHERE id IN (SELECT container_id FROM"
				   " container_labels WHERE key = 'app' AND value = 'web')"),
			 5);
	db_close(db);
}

/* 8. The operator views: state names and ISO-8601 times with nanoseconds, NULL when unset. */
static void test_views(void **state)
{
	struct fx *f = *state;
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);

	char s1[65], s2[65], c[4][65];
	make_id(s1, 1);
	make_id(s2, 2);
	assert_int_equal(insert_sandbox(db, s1, "web_default_u1_0", 0, T_NS), SQLITE_OK);
	assert_int_equal(insert_sandbox(db, s2, "idle_default_u2_0", 1, 0), SQLITE_OK);
	static const char *const names[] = { "CREATED", "RUNNING", "EXITED", "UNKNOWN" };
	for (int i = 0; i < 4; i++) {
		char name[16];
		make_id(c[i], 10 + (unsigned)i);
		snprintf(name, sizeof name, "c%d", i);
		assert_int_equal(insert_container(db, c[i], s1, name, i, T_NS, 0), SQLITE_OK);
	}
	/* c2: started with a small nanosecond part (zero padded), finished */
	char *sql = sqlite3_mprintf("UPDATE containers SET started_at = 1764344000000000005,"
				    " finished_at = 1764344061500000000, exit_code = 3 WHERE id = %Q", c[2]);
	assert_non_null(sql);
	exec_ok(db, sql);
	sqlite3_free(sql);
	/* c3: never created (time 0) */
	sql = sqlite3_mprintf("UPDATE containers SET created_at = 0 WHERE id = %Q", c[3]);
	assert_non_null(sql);
	exec_ok(db, sql);
	sqlite3_free(sql);

	for (int i = 0; i < 4; i++)
		assert_q_text(db, names[i], "SELECT state FROM containers_v WHERE id = %Q", c[i]);
	assert_q_text(db, T_ISO, "SELECT created FROM containers_v WHERE id = %Q", c[0]);
	assert_q_text(db, NULL, "SELECT started FROM containers_v WHERE id = %Q", c[0]);
	assert_q_text(db, NULL, "SELECT finished FROM containers_v WHERE id = %Q", c[0]);
	assert_q_text(db, "2025-11-28T15:33:20.000000005Z", "SELECT started FROM containers_v WHERE id = %Q", c[2]);
	assert_q_text(db, "2025-11-28T15:34:21.500000000Z", "SELECT finished FROM containers_v WHERE id = %Q", c[2]);
	assert_int_equal(q_int(db, "SELECT exit_code FROM containers_v WHERE id = %Q", c[2]), 3);
	assert_q_text(db, NULL, "SELECT created FROM containers_v WHERE id = %Q", c[3]);
	assert_q_text(db, "default", "SELECT namespace FROM containers_v WHERE id = %Q", c[1]);
	assert_q_text(db, "pod-web_default_u1_0", "SELECT pod FROM containers_v WHERE id = %Q", c[1]);
	assert_q_text(db, "ctr-c1", "SELECT container FROM containers_v WHERE id = %Q", c[1]);
	assert_q_text(db, s1, "SELECT sandbox_id FROM containers_v WHERE id = %Q", c[1]);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers_v"), 4);

	assert_q_text(db, "READY", "SELECT state FROM sandboxes_v WHERE id = %Q", s1);
	assert_q_text(db, "NOTREADY", "SELECT state FROM sandboxes_v WHERE id = %Q", s2);
	assert_q_text(db, T_ISO, "SELECT created FROM sandboxes_v WHERE id = %Q", s1);
	assert_q_text(db, NULL, "SELECT finished FROM sandboxes_v WHERE id = %Q", s1);
	assert_q_text(db, NULL, "SELECT created FROM sandboxes_v WHERE id = %Q", s2);
	assert_int_equal(q_int(db, "SELECT containers FROM sandboxes_v WHERE id = %Q", s1), 4);
	assert_int_equal(q_int(db, "SELECT containers FROM sandboxes_v WHERE id = %Q", s2), 0);
	assert_q_text(db, "default", "SELECT namespace FROM sandboxes_v WHERE id = %Q", s1);
	db_close(db);
}

/* ------------------------------------------------------------------------------------------ */
/* container transitions: UpdateContainerResources (updating, resources; migration 0004)      */

/* A migrated database opened as the daemon opens it, with one READY sandbox (id make_id(1)). */
static struct store *pods_open(struct fx *f, char sandbox[65])
{
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	struct store *s = NULL;
	struct lc_err err = { 0 };
	if (store_open(f->db, LATEST, &s, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	struct obj_new n = { .name = "pod_ns_uid_0", .meta_name = "pod", .meta_namespace = "ns", .meta_uid = "uid",
			     .config = CONFIG_BLOB, .config_len = sizeof CONFIG_BLOB, .config_digest = "sandbox" };
	make_id(n.id, 1);
	struct obj_holder h;
	if (store_sandbox_insert(s, &n, &h, &err) < 0 || store_sandbox_created(s, n.id, 100, "", NULL, T_NS, &err) < 0)
		fail_msg("sandbox: %s", err.msg);
	memcpy(sandbox, n.id, 65);
	return s;
}

/*
 * Container number k of the sandbox in `state`: CTR_CREATED / RUNNING / EXITED through the store's
 * transitions, CTR_UNKNOWN by SQL; -1: still creating (inserted only).
 */
static void pods_container(struct store *s, const char *sandbox, unsigned k, int state, char id[65])
{
	char name[32];
	snprintf(name, sizeof name, "c%u_pod_ns_uid_0", k);
	struct obj_new n = { .sandbox_id = sandbox, .name = name, .meta_name = name, .config = CONFIG_BLOB,
			     .config_len = sizeof CONFIG_BLOB, .config_digest = name, .image = "busybox:latest",
			     .image_ref = "sha256:0123", .log_path = "", .stop_signal = 15 };
	make_id(n.id, 100 + k);
	memcpy(id, n.id, 65);
	struct obj_holder h;
	enum refusal why;
	struct lc_err err = { 0 };
	if (store_container_insert(s, &n, &h, &why, &err) < 0)
		fail_msg("insert %s: %s", name, err.msg);
	if (state < 0)
		return;
	assert_int_equal(store_container_created(s, id, 4242, T_NS, &err), 0);
	if (state == CTR_CREATED)
		return;
	if (state == CTR_UNKNOWN) {
		sqlite3 *db = store_conn(s, &err);
		assert_non_null(db);
		char *sql = sqlite3_mprintf("UPDATE containers SET state = 3 WHERE id = %Q", id);
		assert_non_null(sql);
		exec_ok(db, sql);
		sqlite3_free(sql);
		return;
	}
	assert_int_equal(store_flag_set(s, FLAG_CTR_STARTING, id, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	assert_int_equal(store_container_started(s, id, T_NS + 1, &err), 0);
	if (state == CTR_RUNNING)
		return;
	int changed = 0;
	assert_int_equal(store_container_exited(s, id, 0, T_NS + 2, "Completed", &changed, &err), 0);
	assert_int_equal(changed, 1);
}

struct upd_row {
	int exists, state, updating, removing, starting;
	int has_resources;
	size_t resources_len;
	unsigned char resources[64];
};

static struct upd_row upd_row(struct store *s, const char *id)
{
	struct upd_row r = { 0 };
	struct arena a;
	arena_init(&a);
	struct container_row c;
	struct lc_err err = { 0 };
	if (store_container_get(s, id, &a, &c, &err) == 0) {
		r.exists = 1;
		r.state = c.state;
		r.updating = c.updating;
		r.removing = c.removing;
		r.starting = c.starting;
		r.has_resources = c.resources != NULL;
		r.resources_len = c.resources_len;
		assert_true(c.resources_len <= sizeof r.resources);
		if (c.resources_len)
			memcpy(r.resources, c.resources, c.resources_len);
		/* the config is untouched by updates */
		assert_int_equal(c.config_len, sizeof CONFIG_BLOB);
		assert_memory_equal(c.config, CONFIG_BLOB, sizeof CONFIG_BLOB);
	} else if (err.errnum != ENOENT) {
		arena_release(&a);
		fail_msg("read container %s: %s", id, err.msg);
	}
	arena_release(&a);
	return r;
}

static enum refusal set_updating(struct store *s, const char *id)
{
	enum refusal why = (enum refusal)-1;
	struct lc_err err = { 0 };
	if (store_flag_set(s, FLAG_CTR_UPDATING, id, &why, &err) < 0)
		fail_msg("set updating %s: %s", id, err.msg);
	return why;
}

/* set_updating: allowed for CREATED and RUNNING with nothing in flight; refused otherwise, saying why. */
static void test_container_set_updating(void **state)
{
	struct fx *f = *state;
	char sb[65], created[65], running[65], exited[65], unknown[65], creating[65], removing[65], none[65];
	struct store *s = pods_open(f, sb);
	pods_container(s, sb, 1, CTR_CREATED, created);
	pods_container(s, sb, 2, CTR_RUNNING, running);
	pods_container(s, sb, 3, CTR_EXITED, exited);
	pods_container(s, sb, 4, CTR_UNKNOWN, unknown);
	pods_container(s, sb, 5, -1, creating);
	pods_container(s, sb, 6, CTR_CREATED, removing);
	make_id(none, 999);
	struct lc_err err = { 0 };
	enum refusal why;
	assert_int_equal(store_flag_set(s, FLAG_CTR_REMOVING, removing, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);

	/* never updated: no resources, not updating */
	struct upd_row r = upd_row(s, created);
	assert_int_equal(r.updating, 0);
	assert_false(r.has_resources);

	assert_int_equal(set_updating(s, created), REFUSED_NONE);
	assert_int_equal(upd_row(s, created).updating, 1);
	assert_int_equal(set_updating(s, running), REFUSED_NONE);
	r = upd_row(s, running);
	assert_int_equal(r.updating, 1);
	assert_int_equal(r.state, CTR_RUNNING);
	assert_false(r.has_resources);

	/* one update at a time */
	assert_int_equal(set_updating(s, created), REFUSED_UPDATING);
	assert_int_equal(set_updating(s, running), REFUSED_UPDATING);
	assert_int_equal(upd_row(s, running).updating, 1);

	assert_int_equal(set_updating(s, exited), REFUSED_STATE);
	assert_int_equal(set_updating(s, unknown), REFUSED_STATE);
	assert_int_equal(set_updating(s, creating), REFUSED_CREATING);
	assert_int_equal(set_updating(s, removing), REFUSED_REMOVING);
	assert_int_equal(set_updating(s, none), REFUSED_MISSING);
	/* refusals changed nothing */
	assert_int_equal(upd_row(s, exited).updating, 0);
	assert_int_equal(upd_row(s, unknown).updating, 0);
	assert_int_equal(upd_row(s, creating).updating, 0);
	r = upd_row(s, removing);
	assert_int_equal(r.updating, 0);
	assert_int_equal(r.removing, 1);
	assert_false(upd_row(s, none).exists);

	/* an update in flight does not hold a removal back (RemoveContainer is not refused) */
	assert_int_equal(store_flag_set(s, FLAG_CTR_REMOVING, created, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	r = upd_row(s, created);
	assert_int_equal(r.removing, 1);
	assert_int_equal(r.updating, 1);

	/* The flag is in the operator view too; the column only takes 0 and 1. */
	sqlite3 *db = store_conn(s, &err);
	assert_non_null(db);
	assert_int_equal(q_int(db, "SELECT updating FROM containers_v WHERE id = %Q", running), 1);
	assert_int_equal(q_int(db, "SELECT updating FROM containers_v WHERE id = %Q", exited), 0);
	char *sql = sqlite3_mprintf("UPDATE containers SET updating = 2 WHERE id = %Q", exited);
	assert_non_null(sql);
	assert_int_equal(exec_rc(db, sql), SQLITE_CONSTRAINT_CHECK);
	sqlite3_free(sql);
	store_close(s);
}

/* updated: the blob recorded exactly, the flag cleared; reset: only the flag cleared. */
static void test_container_updated_and_reset(void **state)
{
	struct fx *f = *state;
	char sb[65], id[65], other[65], none[65];
	struct store *s = pods_open(f, sb);
	pods_container(s, sb, 1, CTR_RUNNING, id);
	pods_container(s, sb, 2, CTR_CREATED, other);
	make_id(none, 999);
	struct lc_err err = { 0 };
	static const unsigned char blob1[] = { 0x20, 0x80, 0x80, 0x80, 0x40, 0x00, 0xff, 0x01 };
	static const unsigned char blob2[] = { 0x18, 0x80, 0x04 };

	/* A failed update: reset clears the flag, nothing recorded. */
	assert_int_equal(set_updating(s, id), REFUSED_NONE);
	assert_int_equal(store_flag_reset(s, FLAG_CTR_UPDATING, id, &err), 0);
	struct upd_row r = upd_row(s, id);
	assert_int_equal(r.updating, 0);
	assert_false(r.has_resources);

	/* A successful one: recorded byte for byte (a NUL and a high byte in it), flag cleared. */
	assert_int_equal(set_updating(s, id), REFUSED_NONE);
	assert_int_equal(store_container_updated(s, id, blob1, sizeof blob1, &err), 0);
	r = upd_row(s, id);
	assert_int_equal(r.updating, 0);
	assert_true(r.has_resources);
	assert_int_equal(r.resources_len, sizeof blob1);
	assert_memory_equal(r.resources, blob1, sizeof blob1);
	assert_int_equal(r.state, CTR_RUNNING);

	/* Another failed one leaves the recorded resources as they were. */
	assert_int_equal(set_updating(s, id), REFUSED_NONE);
	assert_int_equal(store_flag_reset(s, FLAG_CTR_UPDATING, id, &err), 0);
	r = upd_row(s, id);
	assert_int_equal(r.updating, 0);
	assert_int_equal(r.resources_len, sizeof blob1);
	assert_memory_equal(r.resources, blob1, sizeof blob1);

	/* A later success replaces them; the other container is untouched. */
	assert_int_equal(set_updating(s, id), REFUSED_NONE);
	assert_int_equal(store_container_updated(s, id, blob2, sizeof blob2, &err), 0);
	r = upd_row(s, id);
	assert_int_equal(r.resources_len, sizeof blob2);
	assert_memory_equal(r.resources, blob2, sizeof blob2);
	assert_false(upd_row(s, other).has_resources);
	assert_int_equal(upd_row(s, other).updating, 0);

	/* An empty encoding (every field default) is recorded as such: present, zero bytes. */
	assert_int_equal(set_updating(s, other), REFUSED_NONE);
	assert_int_equal(store_container_updated(s, other, NULL, 0, &err), 0);
	r = upd_row(s, other);
	assert_int_equal(r.updating, 0);
	assert_true(r.has_resources);
	assert_int_equal(r.resources_len, 0);

	/* Only the update holding the flag records: without it, nothing changes. */
	assert_int_equal(store_container_updated(s, id, blob1, sizeof blob1, &err), 0);
	r = upd_row(s, id);
	assert_int_equal(r.resources_len, sizeof blob2);
	assert_memory_equal(r.resources, blob2, sizeof blob2);

	/* A row deleted meanwhile (removed while its update ran): no error either way. */
	assert_int_equal(set_updating(s, other), REFUSED_NONE);
	enum refusal why;
	assert_int_equal(store_flag_set(s, FLAG_CTR_REMOVING, other, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	assert_int_equal(store_container_delete(s, other, &err), 0);
	assert_int_equal(store_container_updated(s, other, blob1, sizeof blob1, &err), 0);
	assert_int_equal(store_flag_reset(s, FLAG_CTR_UPDATING, other, &err), 0);
	assert_false(upd_row(s, other).exists);
	assert_int_equal(store_flag_reset(s, FLAG_CTR_UPDATING, none, &err), 0);

	/* Updating survives the exit of the container (the runtime update fails then; reset clears it),
	 * and the recorded resources stay with the EXITED row. */
	assert_int_equal(set_updating(s, id), REFUSED_NONE);
	int changed = 0;
	assert_int_equal(store_container_exited(s, id, 137, T_NS + 5, "Error", &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(upd_row(s, id).updating, 1);
	assert_int_equal(store_flag_reset(s, FLAG_CTR_UPDATING, id, &err), 0);
	r = upd_row(s, id);
	assert_int_equal(r.updating, 0);
	assert_int_equal(r.state, CTR_EXITED);
	assert_int_equal(r.resources_len, sizeof blob2);
	assert_int_equal(set_updating(s, id), REFUSED_STATE);

	/* Listed rows carry the columns too. */
	struct arena a;
	arena_init(&a);
	struct obj_filter flt = { .state = -1 };
	struct container_row *rows;
	size_t n;
	assert_int_equal(store_container_list(s, &flt, &a, &rows, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].id, id);
	assert_int_equal(rows[0].resources_len, sizeof blob2);
	assert_memory_equal(rows[0].resources, blob2, sizeof blob2);
	assert_int_equal(rows[0].updating, 0);
	arena_release(&a);
	store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* in-flight flags: every transition of store_flag_set / store_flag_reset                     */

enum { F_CREATING = 1, F_STOPPING = 2, F_STARTING = 4, F_REMOVING = 8, F_UPDATING = 16,
       F_NETWORK = 32 /* sandboxes.network DELETING (3: a DEL is due), else NONE */ };

static int is_sandbox_flag(enum store_flag flag)
{
	return flag == FLAG_SANDBOX_STOPPING || flag == FLAG_SANDBOX_REMOVING;
}

/* The F_ bit of the column a flag sets. */
static int flag_bit(enum store_flag flag)
{
	switch (flag) {
	case FLAG_SANDBOX_STOPPING: return F_STOPPING;
	case FLAG_CTR_STARTING: return F_STARTING;
	case FLAG_SANDBOX_REMOVING:
	case FLAG_CTR_REMOVING: return F_REMOVING;
	case FLAG_CTR_UPDATING: return F_UPDATING;
	}
	fail_msg("flag %d", flag);
	return 0;
}

/* Sandbox number k (READY, through the store), besides pods_open's. */
static void pods_sandbox(struct store *s, unsigned k, char id[65])
{
	char name[32];
	snprintf(name, sizeof name, "pod%u_ns_uid_0", k);
	struct obj_new n = { .name = name, .meta_name = name, .meta_namespace = "ns", .meta_uid = "uid",
			     .config = CONFIG_BLOB, .config_len = sizeof CONFIG_BLOB, .config_digest = name };
	make_id(n.id, 200 + k);
	memcpy(id, n.id, 65);
	struct obj_holder h;
	struct lc_err err = { 0 };
	if (store_sandbox_insert(s, &n, &h, &err) < 0 || store_sandbox_created(s, id, 100, "", NULL, T_NS, &err) < 0)
		fail_msg("sandbox %u: %s", k, err.msg);
}

/* The row's state and flags (F_ bits), by SQL (rows in combinations no transition makes, too). */
static void flags_of(struct store *s, int sandbox, const char *id, int *state, int *flags)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(s, &err);
	assert_non_null(db);
	*state = (int)q_int(db, sandbox ? "SELECT state FROM sandboxes WHERE id = %Q"
				    : "SELECT state FROM containers WHERE id = %Q", id);
	/* (SQLite's | and << bind alike: the parentheses are needed) */
	*flags = (int)q_int(db, sandbox ? "SELECT creating | (stopping << 1) | (removing << 3) | "
					  "((network = 3) << 5) FROM sandboxes WHERE id = %Q"
				    : "SELECT creating | (starting << 2) | (removing << 3) | (updating << 4) FROM containers "
				      "WHERE id = %Q", id);
}

/* Make the row's state and flags so by SQL. */
static void set_flags(struct store *s, int sandbox, const char *id, int state, int flags)
{
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(s, &err);
	assert_non_null(db);
	char *sql = sandbox ? sqlite3_mprintf("UPDATE sandboxes SET state = %d, creating = %d, stopping = %d, "
					      "removing = %d, network = %d WHERE id = %Q", state, !!(flags & F_CREATING),
					      !!(flags & F_STOPPING), !!(flags & F_REMOVING),
					      flags & F_NETWORK ? NET_DELETING : NET_NONE, id)
			    : sqlite3_mprintf("UPDATE containers SET state = %d, creating = %d, starting = %d, "
					      "removing = %d, updating = %d WHERE id = %Q", state, !!(flags & F_CREATING),
					      !!(flags & F_STARTING), !!(flags & F_REMOVING), !!(flags & F_UPDATING), id);
	assert_non_null(sql);
	exec_ok(db, sql);
	sqlite3_free(sql);
	int st, fl;
	flags_of(s, sandbox, id, &st, &fl);
	assert_int_equal(st, state);
	assert_int_equal(fl, flags);
}

/*
 * The table of pods.c, case by case: each flag set where allowed, and each refusal of its order
 * reported with every later one holding too (so the first wins).  Some rows are combinations the
 * transitions never make (creating with removing, ...): they pin the order down.
 */
static const struct flag_case {
	enum store_flag flag;
	int state, flags;      /* the row before; state -1: no such row */
	enum refusal why;  /* REFUSED_NONE: the flag is set */
} FLAG_CASES[] = {
	/* sandboxes.stopping: any state */
	{ FLAG_SANDBOX_STOPPING, SANDBOX_READY, 0, REFUSED_NONE },
	{ FLAG_SANDBOX_STOPPING, SANDBOX_NOTREADY, 0, REFUSED_NONE },
	{ FLAG_SANDBOX_STOPPING, SANDBOX_NOTREADY, F_CREATING | F_REMOVING | F_STOPPING, REFUSED_CREATING },
	{ FLAG_SANDBOX_STOPPING, SANDBOX_READY, F_REMOVING | F_STOPPING, REFUSED_REMOVING },
	{ FLAG_SANDBOX_STOPPING, SANDBOX_READY, F_STOPPING, REFUSED_STOPPING },
	{ FLAG_SANDBOX_STOPPING, SANDBOX_NOTREADY, F_NETWORK, REFUSED_NONE }, /* a DEL due: retried by a stop */
	{ FLAG_SANDBOX_STOPPING, -1, 0, REFUSED_MISSING },
	/* sandboxes.removing: NOTREADY */
	{ FLAG_SANDBOX_REMOVING, SANDBOX_NOTREADY, 0, REFUSED_NONE },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_READY, F_CREATING | F_REMOVING | F_STOPPING, REFUSED_CREATING },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_READY, F_REMOVING | F_STOPPING, REFUSED_REMOVING },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_READY, F_STOPPING | F_NETWORK, REFUSED_STOPPING },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_NOTREADY, F_NETWORK, REFUSED_NETWORK },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_READY, F_NETWORK, REFUSED_NETWORK },
	{ FLAG_SANDBOX_REMOVING, SANDBOX_READY, 0, REFUSED_STATE },
	{ FLAG_SANDBOX_REMOVING, -1, 0, REFUSED_MISSING },
	/* containers.starting: CREATED; an update in flight does not hold it back */
	{ FLAG_CTR_STARTING, CTR_CREATED, 0, REFUSED_NONE },
	{ FLAG_CTR_STARTING, CTR_CREATED, F_UPDATING, REFUSED_NONE },
	{ FLAG_CTR_STARTING, CTR_RUNNING, F_CREATING | F_REMOVING | F_STARTING, REFUSED_CREATING },
	{ FLAG_CTR_STARTING, CTR_RUNNING, F_REMOVING | F_STARTING, REFUSED_REMOVING },
	{ FLAG_CTR_STARTING, CTR_RUNNING, F_STARTING, REFUSED_STARTING },
	{ FLAG_CTR_STARTING, CTR_RUNNING, 0, REFUSED_RUNNING },
	{ FLAG_CTR_STARTING, CTR_UNKNOWN, 0, REFUSED_UNKNOWN },
	{ FLAG_CTR_STARTING, CTR_EXITED, 0, REFUSED_STATE },
	{ FLAG_CTR_STARTING, CTR_EXITED, F_STARTING, REFUSED_STARTING },
	{ FLAG_CTR_STARTING, -1, 0, REFUSED_MISSING },
	/* containers.removing: neither RUNNING nor UNKNOWN; an update in flight does not hold it back */
	{ FLAG_CTR_REMOVING, CTR_CREATED, 0, REFUSED_NONE },
	{ FLAG_CTR_REMOVING, CTR_EXITED, 0, REFUSED_NONE },
	{ FLAG_CTR_REMOVING, CTR_CREATED, F_UPDATING, REFUSED_NONE },
	{ FLAG_CTR_REMOVING, CTR_RUNNING, F_CREATING | F_REMOVING | F_STARTING, REFUSED_CREATING },
	{ FLAG_CTR_REMOVING, CTR_RUNNING, F_REMOVING | F_STARTING, REFUSED_REMOVING },
	{ FLAG_CTR_REMOVING, CTR_RUNNING, F_STARTING, REFUSED_STARTING },
	{ FLAG_CTR_REMOVING, CTR_CREATED, F_STARTING, REFUSED_STARTING },
	{ FLAG_CTR_REMOVING, CTR_RUNNING, 0, REFUSED_RUNNING },
	{ FLAG_CTR_REMOVING, CTR_UNKNOWN, 0, REFUSED_UNKNOWN },
	{ FLAG_CTR_REMOVING, -1, 0, REFUSED_MISSING },
	/* containers.updating: CREATED or RUNNING; a start in flight does not hold it back */
	{ FLAG_CTR_UPDATING, CTR_CREATED, 0, REFUSED_NONE },
	{ FLAG_CTR_UPDATING, CTR_RUNNING, 0, REFUSED_NONE },
	{ FLAG_CTR_UPDATING, CTR_CREATED, F_STARTING, REFUSED_NONE },
	{ FLAG_CTR_UPDATING, CTR_EXITED, F_CREATING | F_REMOVING | F_UPDATING, REFUSED_CREATING },
	{ FLAG_CTR_UPDATING, CTR_EXITED, F_REMOVING | F_UPDATING, REFUSED_REMOVING },
	{ FLAG_CTR_UPDATING, CTR_EXITED, F_UPDATING, REFUSED_UPDATING },
	{ FLAG_CTR_UPDATING, CTR_EXITED, 0, REFUSED_STATE },
	{ FLAG_CTR_UPDATING, CTR_UNKNOWN, 0, REFUSED_STATE },
	{ FLAG_CTR_UPDATING, -1, 0, REFUSED_MISSING },
};

static void test_flag_set(void **state)
{
	struct fx *f = *state;
	char sb[65];
	struct store *s = pods_open(f, sb);
	for (unsigned i = 0; i < sizeof FLAG_CASES / sizeof *FLAG_CASES; i++) {
		const struct flag_case *c = &FLAG_CASES[i];
		int sandbox = is_sandbox_flag(c->flag);
		char id[65];
		if (c->state < 0)
			make_id(id, 9000 + i);
		else if (sandbox)
			pods_sandbox(s, i, id);
		else
			pods_container(s, sb, i, CTR_CREATED, id);
		if (c->state >= 0)
			set_flags(s, sandbox, id, c->state, c->flags);
		enum refusal why = (enum refusal)-1;
		struct lc_err err = { 0 };
		if (store_flag_set(s, c->flag, id, &why, &err) < 0)
			fail_msg("case %u: %s", i, err.msg);
		if (why != c->why)
			fail_msg("case %u (flag %d, state %d, flags %#x): refusal %d, wanted %d", i, c->flag, c->state,
				 c->flags, why, c->why);
		if (c->state < 0)
			continue;
		/* set: that flag and nothing else; refused: nothing */
		int st, fl;
		flags_of(s, sandbox, id, &st, &fl);
		assert_int_equal(st, c->state);
		assert_int_equal(fl, c->flags | (c->why == REFUSED_NONE ? flag_bit(c->flag) : 0));
	}
	store_close(s);
}

/*
 * A pod's CNI attachment through its states: ADDING (only while created, once), recorded with
 * READY (ip, additional_ips, config, result), DELETING (pending until the DEL is recorded; again
 * and again after a failed DEL), NONE with everything cleared; the view names the state.
 */
static void test_sandbox_network(void **state)
{
	struct fx *f = *state;
	char sb[65];
	struct store *s = pods_open(f, sb);
	struct lc_err err = { 0 };
	struct arena a;
	arena_init(&a);
	struct obj_new n = { .name = "net_ns_uid_0", .meta_name = "net", .meta_namespace = "ns", .meta_uid = "uid",
			     .config = CONFIG_BLOB, .config_len = sizeof CONFIG_BLOB, .config_digest = "net" };
	make_id(n.id, 77);
	struct obj_holder h;
	assert_int_equal(store_sandbox_insert(s, &n, &h, &err), 0);
	int pending = -1;
	assert_int_equal(store_sandbox_net_deleting(s, n.id, &pending, &err), 0);
	assert_int_equal(pending, 0); /* nothing attached: nothing to DEL */
	assert_int_equal(store_sandbox_net_adding(s, n.id, "[{\"name\":\"x\"}]", &err), 0);
	assert_int_equal(store_sandbox_net_adding(s, n.id, "[]", &err), -1); /* once */
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(store_sandbox_net_adding(s, sb, "[]", &err), -1); /* not being created */
	struct sandbox_row r;
	assert_int_equal(store_sandbox_get(s, n.id, &a, &r, &err), 0);
	assert_int_equal(r.network, NET_ADDING);
	assert_string_equal(r.net_config, "[{\"name\":\"x\"}]");
	assert_string_equal(r.net_result, "");
	char *ips[] = { "169.254.1.2", "fd00::2", "fd00::3" };
	const struct sandbox_net net = { .config = "[1]", .result = "[2]", .ips = ips, .n_ips = 3 };
	assert_int_equal(store_sandbox_created(s, n.id, 42, "/ns/net", &net, T_NS, &err), 0);
	assert_int_equal(store_sandbox_get(s, n.id, &a, &r, &err), 0);
	assert_int_equal(r.state, SANDBOX_READY);
	assert_int_equal(r.network, NET_ATTACHED);
	assert_string_equal(r.ip, "169.254.1.2");
	assert_string_equal(r.additional_ips, "fd00::2 fd00::3");
	assert_string_equal(r.net_config, "[1]");
	assert_string_equal(r.net_result, "[2]");
	sqlite3 *db = store_conn(s, &err);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes_v WHERE id = %Q AND network = 'ATTACHED' AND "
				   "ip = '169.254.1.2' AND additional_ips = 'fd00::2 fd00::3'", n.id), 1);
	/* removal refused while attached, even when NOTREADY */
	assert_int_equal(store_sandbox_stopped(s, n.id, T_NS, &err), 0);
	enum refusal why;
	assert_int_equal(store_flag_set(s, FLAG_SANDBOX_REMOVING, n.id, &why, &err), 0);
	assert_int_equal(why, REFUSED_NETWORK);
	for (int i = 0; i < 2; i++) { /* a DEL that failed: pending again */
		assert_int_equal(store_sandbox_net_deleting(s, n.id, &pending, &err), 0);
		assert_int_equal(pending, 1);
		assert_int_equal(q_int(db, "SELECT count(*) FROM sandboxes_v WHERE id = %Q AND network = 'DELETING'", n.id), 1);
	}
	assert_int_equal(store_sandbox_net_deleted(s, n.id, &err), 0);
	assert_int_equal(store_sandbox_get(s, n.id, &a, &r, &err), 0);
	assert_int_equal(r.network, NET_NONE);
	assert_string_equal(r.ip, "");
	assert_string_equal(r.additional_ips, "");
	assert_string_equal(r.net_config, "");
	assert_string_equal(r.net_result, "");
	assert_int_equal(store_sandbox_net_deleting(s, n.id, &pending, &err), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(store_flag_set(s, FLAG_SANDBOX_REMOVING, n.id, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	arena_release(&a);
	store_close(s);
}

/* Reset clears its own flag and nothing else, whatever else is set; a missing row is no error. */
static void test_flag_reset(void **state)
{
	struct fx *f = *state;
	char sb[65], ctr[65], sbx[65], none[65];
	struct store *s = pods_open(f, sb);
	pods_container(s, sb, 1, CTR_CREATED, ctr);
	pods_sandbox(s, 1, sbx);
	make_id(none, 999);
	const enum store_flag all[] = { FLAG_SANDBOX_STOPPING, FLAG_SANDBOX_REMOVING, FLAG_CTR_STARTING,
					FLAG_CTR_REMOVING, FLAG_CTR_UPDATING };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
		int sandbox = is_sandbox_flag(all[i]);
		const char *id = sandbox ? sbx : ctr;
		int every = sandbox ? F_CREATING | F_STOPPING | F_REMOVING
				    : F_CREATING | F_STARTING | F_REMOVING | F_UPDATING;
		int row_state = sandbox ? SANDBOX_READY : CTR_RUNNING;
		struct lc_err err = { 0 };
		int st, fl;
		set_flags(s, sandbox, id, row_state, every);
		assert_int_equal(store_flag_reset(s, all[i], id, &err), 0);
		flags_of(s, sandbox, id, &st, &fl);
		assert_int_equal(st, row_state);
		assert_int_equal(fl, every & ~flag_bit(all[i]));
		/* once more: clear already, nothing changes */
		assert_int_equal(store_flag_reset(s, all[i], id, &err), 0);
		flags_of(s, sandbox, id, &st, &fl);
		assert_int_equal(fl, every & ~flag_bit(all[i]));
		assert_int_equal(store_flag_reset(s, all[i], none, &err), 0);
	}
	store_close(s);
}

/* Another connection clears `removing` of the container just as the store starts its refusal read. */
struct interfere {
	sqlite3 *other;
	char *clear; /* the UPDATE */
	int tried, rc;
};

static int interfere_at_read(unsigned type, void *ctx, void *stmt, void *sql)
{
	struct interfere *in = ctx;
	(void)sql;
	if (type != SQLITE_TRACE_STMT || in->tried || strncmp(sqlite3_sql(stmt), "SELECT", 6) != 0)
		return 0;
	in->tried = 1;
	in->rc = sqlite3_exec(in->other, in->clear, NULL, NULL, NULL);
	return 0;
}

/*
 * The refusal is read in the transaction of the refused UPDATE: a writer that comes in between
 * (here, clearing the flag that refused) waits for it, so the reason is the one that refused.
 * Read after the transaction, the row could be free again, reported as REFUSED_STATE.
 */
static void test_flag_refusal_same_transaction(void **state)
{
	struct fx *f = *state;
	char sb[65], id[65];
	struct store *s = pods_open(f, sb);
	pods_container(s, sb, 1, CTR_CREATED, id);
	set_flags(s, 0, id, CTR_CREATED, F_REMOVING);
	struct lc_err err = { 0 };
	sqlite3 *db = store_conn(s, &err);
	assert_non_null(db);
	struct interfere in = { .other = db_open(f->db, SQLITE_OPEN_READWRITE),
				.clear = sqlite3_mprintf("UPDATE containers SET removing = 0 WHERE id = %Q", id) };
	assert_non_null(in.clear);
	assert_int_equal(sqlite3_trace_v2(db, SQLITE_TRACE_STMT, interfere_at_read, &in), SQLITE_OK);
	enum refusal why = REFUSED_NONE;
	int rc = store_flag_set(s, FLAG_CTR_STARTING, id, &why, &err);
	sqlite3_trace_v2(db, 0, NULL, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(in.tried, 1);
	assert_int_equal(in.rc, SQLITE_BUSY); /* the store's transaction holds the write lock */
	assert_int_equal(why, REFUSED_REMOVING);
	int st, fl;
	flags_of(s, 0, id, &st, &fl);
	assert_int_equal(fl, F_REMOVING);
	/* once the transaction is over, the other writer gets through, and the start with it */
	exec_ok(in.other, in.clear);
	assert_int_equal(store_flag_set(s, FLAG_CTR_STARTING, id, &why, &err), 0);
	assert_int_equal(why, REFUSED_NONE);
	sqlite3_free(in.clear);
	db_close(in.other);
	store_close(s);
}

/* Migration 0004 on a version-3 database with containers: resources NULL, updating 0. */
static void test_migration_0004_resources(void **state)
{
	struct fx *f = *state;
	assert_true(LATEST >= 4);
	assert_string_equal(litecri_migrations[3].name, "0004_resources.sql");
	struct migrate_result res;
	migrate_ok(f->db, litecri_migrations, 3, &res);
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	assert_int_equal(column_exists(db, "containers", "resources"), 0);
	assert_int_equal(column_exists(db, "containers", "updating"), 0);
	char sid[65], c1[65], c2[65];
	make_id(sid, 1);
	make_id(c1, 11);
	make_id(c2, 12);
	assert_int_equal(insert_sandbox(db, sid, "pod_ns_uid_0", 0, T_NS), SQLITE_OK);
	assert_int_equal(insert_container(db, c1, sid, "c1", CTR_RUNNING, T_NS, T_NS + 1), SQLITE_OK);
	assert_int_equal(insert_container(db, c2, sid, "c2", CTR_EXITED, T_NS, T_NS + 1), SQLITE_OK);
	exec_ok(db, "UPDATE containers SET creating = 0; UPDATE sandboxes SET creating = 0;");
	db_close(db);

	migrate_ok(f->db, litecri_migrations, litecri_migrations_count, &res);
	assert_int_equal(res.from, 3);
	assert_int_equal(res.to, LATEST);
	db = db_open(f->db, SQLITE_OPEN_READONLY);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers WHERE resources IS NULL AND updating = 0"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM containers_v WHERE updating = 0"), 2);
	db_close(db);

	struct store *s = NULL;
	struct lc_err err = { 0 };
	if (store_open(f->db, LATEST, &s, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	struct upd_row r = upd_row(s, c1);
	assert_true(r.exists);
	assert_int_equal(r.updating, 0);
	assert_false(r.has_resources);
	/* and the migrated rows take part in the transitions */
	assert_int_equal(set_updating(s, c1), REFUSED_NONE);
	assert_int_equal(set_updating(s, c2), REFUSED_STATE);
	assert_int_equal(store_container_updated(s, c1, CONFIG_BLOB, sizeof CONFIG_BLOB, &err), 0);
	r = upd_row(s, c1);
	assert_int_equal(r.resources_len, sizeof CONFIG_BLOB);
	store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* the event history (table events, migration 0006)                                           */

/* A formatted string (static buffer: one at a time). */
static const char *tprintf_(const char *fmt, ...)
{
	static char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return buf;
}

/* The events after `after` as "KIND:container-id-suffix" words (kind names of events_v). */
static char *events_words(struct store *s, int64_t after)
{
	struct arena a;
	arena_init(&a);
	struct event_row *r;
	size_t n;
	struct lc_err err = { 0 };
	if (store_events_after(s, after, 1000, &a, &r, &n, &err) < 0)
		fail_msg("store_events_after: %s", err.msg);
	static const char *const kinds[] = { "CREATED", "STARTED", "STOPPED", "DELETED" };
	char *out = calloc(1, 16 * n + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(r[i].seq > r[i - 1].seq);
		sprintf(out + strlen(out), "%s%s:%s", i ? " " : "", kinds[r[i].kind], r[i].container_id + 62);
	}
	arena_release(&a);
	return out;
}

static void assert_events(struct store *s, int64_t after, const char *want)
{
	char *got = events_words(s, after);
	if (strcmp(got, want) != 0)
		fail_msg("events after %lld: got \"%s\", want \"%s\"", (long long)after, got, want);
	free(got);
}

/* Events are written with the change that commits, and only then: a transition that changes nothing,
 * a rolled-back transaction and a create that never finished leave none; store_notify follows. */
static void test_events_on_commit(void **state)
{
	struct fx *f = *state;
	char sb[65], c1[65], c2[65];
	struct store *s = pods_open(f, sb);
	struct lc_err err = { 0 };
	int64_t last = -1;
	assert_int_equal(store_events_last(s, &last, &err), 0);
	assert_int_equal(last, 2); /* the pod's own: created and started (READY) */
	assert_events(s, 0, tprintf_("CREATED:%s STARTED:%s", sb + 62, sb + 62));
	const int64_t b = last;
	uint64_t g0 = store_gen(s);
	pods_container(s, sb, 1, CTR_EXITED, c1); /* id ends "65" (make_id(101)) */
	assert_true(store_gen(s) >= g0 + 3);
	assert_events(s, b, "CREATED:65 STARTED:65 STOPPED:65");

	/* an exit recorded twice (watcher and recovery): one event */
	int changed = -1;
	assert_int_equal(store_container_exited(s, c1, 1, T_NS + 9, "Error", &changed, &err), 0);
	assert_int_equal(changed, 0);
	/* a create finished twice: refused, no event */
	assert_int_equal(store_container_created(s, c1, 1, T_NS, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_events(s, b, "CREATED:65 STARTED:65 STOPPED:65");

	/* exit code and reason of STOPPED, names copied */
	struct arena a;
	arena_init(&a);
	struct event_row *r;
	size_t n;
	assert_int_equal(store_events_after(s, b + 2, 10, &a, &r, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].seq, b + 3);
	assert_int_equal(r[0].kind, EVENT_STOPPED);
	assert_int_equal(r[0].has_exit, 1);
	assert_int_equal(r[0].exit_code, 0);
	assert_string_equal(r[0].reason, "Completed");
	assert_int_equal(r[0].at, T_NS + 2);
	assert_string_equal(r[0].container, "c1_pod_ns_uid_0");
	assert_string_equal(r[0].pod, "pod");
	assert_string_equal(r[0].namespace, "ns");
	assert_string_equal(r[0].sandbox_id, sb);
	arena_release(&a);

	/* a change rolled back leaves no event (the trigger's row goes with it) */
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	pods_container(s, sb, 2, CTR_RUNNING, c2); /* "66" */
	exec_ok(db, "BEGIN IMMEDIATE");
	char *sql = sqlite3_mprintf("UPDATE containers SET state = 2, exit_code = 137 WHERE id = %Q", c2);
	exec_ok(db, sql);
	sqlite3_free(sql);
	assert_int_equal(q_int(db, "SELECT count(*) FROM events WHERE kind = 2 AND container_id = '%s'", c2), 1);
	exec_ok(db, "ROLLBACK");
	db_close(db);
	assert_events(s, b + 3, "CREATED:66 STARTED:66");

	/* a start failure is STOPPED with StartError; a delete is DELETED */
	uint64_t g1 = store_gen(s);
	assert_int_equal(store_container_start_failed(s, c2, T_NS + 5, 128, "StartError", "no", &err), 0);
	assert_int_equal(store_container_delete(s, c2, &err), 0);
	assert_true(store_gen(s) >= g1 + 2);
	assert_events(s, b + 5, "STOPPED:66 DELETED:66");

	/* a container whose create never finished: neither CREATED nor DELETED */
	char c3[65];
	pods_container(s, sb, 3, -1, c3);
	assert_int_equal(store_container_delete(s, c3, &err), 0);
	assert_events(s, b + 7, "");
	assert_int_equal(store_events_last(s, &last, &err), 0);
	assert_int_equal(last, b + 7);
	store_close(s);
}

/* [events] retain: each insert prunes the rows beyond the bound; lowering it prunes at once;
 * seq goes on after pruning; events_v names kinds and times. */
static void test_events_prune(void **state)
{
	struct fx *f = *state;
	char sb[65], id[65];
	struct store *s = pods_open(f, sb);
	struct lc_err err = { 0 };
	assert_int_equal(store_events_retain(s, 4, &err), 0);
	for (unsigned k = 1; k <= 3; k++)
		pods_container(s, sb, k, CTR_EXITED, id); /* 9 events */
	sqlite3 *db = db_open(f->db, SQLITE_OPEN_READWRITE);
	assert_int_equal(q_int(db, "SELECT count(*) FROM events"), 4);
	assert_int_equal(q_int(db, "SELECT min(seq) FROM events"), 8); /* after the pod's 2 */
	assert_events(s, 0, "STOPPED:66 CREATED:67 STARTED:67 STOPPED:67");
	int64_t last = 0;
	assert_int_equal(store_events_last(s, &last, &err), 0);
	assert_int_equal(last, 11);

	assert_int_equal(store_events_retain(s, 2, &err), 0);
	assert_events(s, 0, "STARTED:67 STOPPED:67");
	assert_int_equal(q_int(db, "SELECT CAST(value AS INTEGER) FROM host WHERE key = 'events_retain'"), 2);

	/* even emptied by hand, seq is not reused */
	exec_ok(db, "DELETE FROM events");
	assert_int_equal(store_container_delete(s, id, &err), 0);
	assert_int_equal(q_int(db, "SELECT seq FROM events"), 12);
	char *v = q_text(db, "SELECT kind || ' ' || container || ' ' || pod || ' ' || namespace || ' ' || "
			     "(time LIKE '____-__-__T__:__:__._________Z') FROM events_v");
	assert_string_equal(v, "DELETED c3_pod_ns_uid_0 pod ns 1");
	sqlite3_free(v);
	db_close(db);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_normalize),
		cmocka_unit_test_setup_teardown(test_fresh_migrates_to_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_unopenable_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_versions_migrate_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synthetic_migration_keeps_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_older_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_during_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fk_violating_migration_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_sql_matches_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_settings_and_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_selector_uses_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_set_updating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_updated_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_0004_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_refusal_same_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_on_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
