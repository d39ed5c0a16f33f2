/*
 * migrate.h — schema migrations (migrations/NNNN_name.sql, embedded at build time).
 *
 * The schema version is PRAGMA user_version: version N means migrations 1..N have been applied.
 * Migration N is applied in its own transaction together with `PRAGMA user_version = N`, so a
 * failure leaves the database at N-1 with nothing of N written.
 */
#ifndef LITECRI_STORE_MIGRATE_H
#define LITECRI_STORE_MIGRATE_H

#include <limits.h>
#include <stddef.h>

#include "util/err.h"

struct migration {
	int version;      /* 1, 2, 3, ... in array order */
	const char *name; /* file name, e.g. "0001_initial.sql" */
	const char *sql;  /* one or more statements */
};

/* The project's migrations (generated from the .sql files in migrations/). */
extern const struct migration litecri_migrations[];
extern const size_t litecri_migrations_count;

struct migrate_result {
	int from;               /* schema version found */
	int to;                 /* schema version now */
	char backup[PATH_MAX];  /* backup made before migrating, or "" when none was needed */
};

/*
 * Bring the database at `path` (created if missing) to version n (the last of m[0..n-1]).
 *
 *   - version == n: nothing to do;
 *   - version  > n: refused, naming both versions (a newer litecri wrote it);
 *   - 0 < version < n: first copied with the online backup API to "<path>.v<version>.bak";
 *   - then each missing migration in order, each in its own BEGIN IMMEDIATE transaction, run with
 *     foreign-key enforcement off and checked with PRAGMA foreign_key_check before COMMIT.
 *
 * On failure *err names the migration and SQLite's message; the database stays at the version
 * of the last migration that committed (res->to).
 */
int migrate_db(const char *path, const struct migration *m, size_t n,
	       struct migrate_result *res, struct lc_err *err);

#endif
