/* images.c — see images.h. */
#include "store/images.h"

#include <assert.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sql.h"
#include "store/store.h"
#include "util/id.h"

int store_layer_add(struct store *s, const char *chain_id, const char *diff_id, uint64_t size, uint64_t inodes,
		    struct lc_err *err)
{
	assert(digest_valid(chain_id) && digest_valid(diff_id));
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "INSERT OR IGNORE INTO layers (chain_id, diff_id, size, inodes, created_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, diff_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)inodes);
	sqlite3_bind_int64(st, 5, now_ns());
	return step_done(db, st, err, "record layer") < 0 ? lc_wrap(err, "layer %s", chain_id) : 0;
}

int store_layer_exists(struct store *s, const char *chain_id, int *exists, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT 1 FROM layers WHERE chain_id = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, err, "look up layer");
	*exists = rc == SQLITE_ROW;
	return 0;
}

/* The body of store_image_put, inside its transaction. */
static int image_put_tx(struct store *s, sqlite3 *db, const struct image_put *p, int *orphaned,
			struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *ins = NULL, *del_layers = NULL, *ins_layer = NULL, *ins_name = NULL,
				 *orphans = NULL;
	if (prepare(s,
		    "INSERT INTO images (id, manifest_digest, media_type, config, uid, username, created_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		    "ON CONFLICT (id) DO UPDATE SET manifest_digest = excluded.manifest_digest, "
		    "media_type = excluded.media_type, config = excluded.config, "
		    "uid = excluded.uid, username = excluded.username",
		    &ins, err) < 0)
		return -1;
	sqlite3_bind_text(ins, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, p->manifest_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, p->media_type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 4, p->config, (int)p->config_len, SQLITE_STATIC);
	if (p->uid >= 0)
		sqlite3_bind_int64(ins, 5, p->uid);
	else
		sqlite3_bind_null(ins, 5);
	sqlite3_bind_text(ins, 6, p->username ? p->username : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 7, now_ns());
	if (step_done(db, ins, err, "record image") < 0)
		return -1;

	if (prepare(s, "DELETE FROM image_layers WHERE image_id = ?1", &del_layers, err) < 0)
		return -1;
	sqlite3_bind_text(del_layers, 1, p->id, -1, SQLITE_STATIC);
	if (step_done(db, del_layers, err, "replace image layers") < 0)
		return -1;
	if (prepare(s,
		    "INSERT INTO image_layers (image_id, position, chain_id, blob_digest, blob_size, media_type) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		    &ins_layer, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_layers; i++) {
		const struct image_layer *l = &p->layers[i];
		sqlite3_reset(ins_layer);
		sqlite3_bind_text(ins_layer, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins_layer, 2, (sqlite3_int64)i);
		sqlite3_bind_text(ins_layer, 3, l->chain_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_layer, 4, l->blob_digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins_layer, 5, l->blob_size);
		sqlite3_bind_text(ins_layer, 6, l->media_type, -1, SQLITE_STATIC);
		if (step_done(db, ins_layer, err, "record image layer") < 0)
			return lc_wrap(err, "layer %zu (%s)", i, l->chain_id);
	}

	/* Names: taken from whichever image held them. */
	if (prepare(s,
		    "INSERT INTO image_names (name, image_id, kind) VALUES (?1, ?2, ?3) "
		    "ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, kind = excluded.kind",
		    &ins_name, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_names; i++) {
		sqlite3_reset(ins_name);
		sqlite3_bind_text(ins_name, 1, p->names[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_name, 2, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins_name, 3, (int)p->kinds[i]);
		if (step_done(db, ins_name, err, "record image name") < 0)
			return lc_wrap(err, "name %s", p->names[i]);
	}
	/* An image that lost its last name to this one is gone (never the image just stored). */
	if (prepare(s,
		    "DELETE FROM images WHERE id <> ?1 AND pinned = 0 "
		    "AND NOT EXISTS (SELECT 1 FROM image_names n WHERE n.image_id = images.id)",
		    &orphans, err) < 0)
		return -1;
	sqlite3_bind_text(orphans, 1, p->id, -1, SQLITE_STATIC);
	if (step_done(db, orphans, err, "remove images left without a name") < 0)
		return -1;
	*orphaned = sqlite3_changes(db);
	return 0;
}

int store_image_put(struct store *s, const struct image_put *p, int *orphaned, struct lc_err *err)
{
	int n = 0;
	assert(digest_valid(p->id) && digest_valid(p->manifest_digest));
	assert(p->n_names == 0 || (p->names && p->kinds));
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return lc_wrap(err, "image %s", p->id);
	if (image_put_tx(s, db, p, &n, err) < 0 || exec(db, "COMMIT", err) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return lc_wrap(err, "image %s", p->id);
	}
	if (orphaned)
		*orphaned = n;
	return 0;
}

int store_image_unchanged(struct store *s, const struct image_put *p, int *same, struct lc_err *err)
{
	*same = 0;
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *img = NULL, *name = NULL;
	if (prepare(s, "SELECT 1 FROM images WHERE id = ?1 AND manifest_digest = ?2", &img, err) < 0 ||
	    prepare(s, "SELECT 1 FROM image_names WHERE name = ?1 AND image_id = ?2 AND kind = ?3", &name, err) < 0)
		return -1;
	sqlite3_bind_text(img, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(img, 2, p->manifest_digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(img);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(db, err, "look up image");
	for (size_t i = 0; i < p->n_names; i++) {
		sqlite3_reset(name);
		sqlite3_bind_text(name, 1, p->names[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(name, 2, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(name, 3, (int)p->kinds[i]);
		rc = sqlite3_step(name);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return db_fail(db, err, "look up image name");
	}
	*same = 1;
	return 0;
}

int store_image_lookup(struct store *s, const char *ref, char id[DIGEST_BUF], struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "SELECT id FROM images WHERE id = ?1 "
		    "UNION ALL SELECT image_id FROM image_names WHERE name = ?1 LIMIT 1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return lc_fail(err, ENOENT, "image %s not found", LC_Q(ref));
	if (rc != SQLITE_ROW)
		return db_fail(db, err, "look up image");
	copy_text(id, DIGEST_BUF, st, 0);
	return 0;
}

int store_image_lookup_prefix(struct store *s, const char *hex, char id[DIGEST_BUF], struct lc_err *err)
{
	assert(id_is_hex(hex, 1, DIGEST_HEX_LEN));
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	/* A range on the primary key: 'sha256:<hex>' <= id < 'sha256:<hex>g' ('g' follows every hex digit). */
	if (prepare(s,
		    "SELECT id FROM images WHERE id >= 'sha256:' || ?1 AND id < 'sha256:' || ?1 || 'g' "
		    "ORDER BY id LIMIT 2",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return lc_fail(err, ENOENT, "no image ID starts with %s", hex);
	if (rc != SQLITE_ROW)
		return db_fail(db, err, "look up image ID prefix");
	copy_text(id, DIGEST_BUF, st, 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return lc_fail(err, EINVAL, "image ID prefix %s is ambiguous: %s and %s match", hex, id,
			       (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "look up image ID prefix");
	return 0;
}

void image_info_free(struct image_info *im)
{
	if (!im)
		return;
	free(im->config);
	for (size_t i = 0; i < im->n_names; i++)
		free(im->names[i]);
	free(im->names);
	free(im->kinds);
	free(im->layers);
	memset(im, 0, sizeof *im);
}

/* Fill names and layers of im (whose scalar fields are set). */
static int image_fill(struct store *s, sqlite3 *db, struct image_info *im, struct lc_err *err)
{
	cleanup_stmt sqlite3_stmt *n = NULL, *l = NULL;
	if (prepare(s, "SELECT name, kind FROM image_names WHERE image_id = ?1 ORDER BY kind, name", &n, err) < 0)
		return -1;
	sqlite3_bind_text(n, 1, im->id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(n)) == SQLITE_ROW) {
		char **names = realloc(im->names, (im->n_names + 1) * sizeof *names);
		if (names)
			im->names = names;
		enum image_name_kind *kinds = realloc(im->kinds, (im->n_names + 1) * sizeof *kinds);
		if (kinds)
			im->kinds = kinds;
		char *name = strdup((const char *)sqlite3_column_text(n, 0));
		if (!names || !kinds || !name) {
			free(name);
			return lc_fail(err, ENOMEM, "image %s", im->id);
		}
		im->names[im->n_names] = name;
		im->kinds[im->n_names] = (enum image_name_kind)sqlite3_column_int(n, 1);
		im->n_names++;
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "read image names");
	if (prepare(s,
		    "SELECT il.chain_id, ly.diff_id, il.blob_digest, il.blob_size, il.media_type "
		    "FROM image_layers il JOIN layers ly ON ly.chain_id = il.chain_id "
		    "WHERE il.image_id = ?1 ORDER BY il.position",
		    &l, err) < 0)
		return -1;
	sqlite3_bind_text(l, 1, im->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(l)) == SQLITE_ROW) {
		struct image_layer *ls = realloc(im->layers, (im->n_layers + 1) * sizeof *ls);
		if (!ls)
			return lc_fail(err, ENOMEM, "image %s", im->id);
		im->layers = ls;
		struct image_layer *x = &ls[im->n_layers++];
		copy_text(x->chain_id, sizeof x->chain_id, l, 0);
		copy_text(x->diff_id, sizeof x->diff_id, l, 1);
		copy_text(x->blob_digest, sizeof x->blob_digest, l, 2);
		x->blob_size = sqlite3_column_int64(l, 3);
		copy_text(x->media_type, sizeof x->media_type, l, 4);
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "read image layers");
	return 0;
}

/* The image's size is computed: its config plus its layer blobs. */
#define IMAGE_COLUMNS                                                                             \
	"id, manifest_digest, media_type, config, length(config) + (SELECT coalesce(sum(blob_size), 0) " \
	"FROM image_layers l WHERE l.image_id = images.id), uid, username, pinned, created_at"

/* The scalar columns of the current row of st (IMAGE_COLUMNS order) into im. */
static int image_row(sqlite3_stmt *st, struct image_info *im, struct lc_err *err)
{
	memset(im, 0, sizeof *im);
	copy_text(im->id, sizeof im->id, st, 0);
	copy_text(im->manifest_digest, sizeof im->manifest_digest, st, 1);
	copy_text(im->media_type, sizeof im->media_type, st, 2);
	int len = sqlite3_column_bytes(st, 3);
	const void *cfg = sqlite3_column_blob(st, 3);
	im->config = malloc((size_t)len + 1);
	if (!im->config)
		return lc_fail(err, ENOMEM, "image %s", im->id);
	if (len)
		memcpy(im->config, cfg, (size_t)len);
	im->config[len] = 0;
	im->size = sqlite3_column_int64(st, 4);
	im->uid = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	copy_text(im->username, sizeof im->username, st, 6);
	im->pinned = sqlite3_column_int(st, 7);
	im->created_at = sqlite3_column_int64(st, 8);
	return 0;
}

int store_image_get(struct store *s, const char *id, struct image_info *out, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	memset(out, 0, sizeof *out);
	/* One read transaction, so the image, its names and its layers are one snapshot. */
	if (exec(db, "BEGIN", err) < 0)
		return -1;
	int rc = -1;
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s, "SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?1", &st, err) == 0) {
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			int r = sqlite3_step(st);
			if (r == SQLITE_DONE)
				lc_fail(err, ENOENT, "image %s not found", id);
			else if (r != SQLITE_ROW)
				db_fail(db, err, "read image");
			else if (image_row(st, out, err) == 0 && image_fill(s, db, out, err) == 0)
				rc = 0;
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc < 0)
		image_info_free(out);
	return rc;
}

int store_image_list(struct store *s, struct image_info **out, size_t *n, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	*out = NULL;
	*n = 0;
	if (exec(db, "BEGIN", err) < 0)
		return -1;
	struct image_info *v = NULL;
	size_t cnt = 0;
	int rc = 0;
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(s, "SELECT " IMAGE_COLUMNS " FROM images ORDER BY id", &st, err) < 0) {
			rc = -1;
		} else {
			int r;
			while ((r = sqlite3_step(st)) == SQLITE_ROW) {
				struct image_info *nv = realloc(v, (cnt + 1) * sizeof *nv);
				if (!nv) {
					rc = lc_fail(err, ENOMEM, "list images");
					break;
				}
				v = nv;
				if (image_row(st, &v[cnt], err) < 0) {
					rc = -1;
					break;
				}
				cnt++;
				if (image_fill(s, db, &v[cnt - 1], err) < 0) {
					rc = -1;
					break;
				}
			}
			if (rc == 0 && r != SQLITE_DONE)
				rc = db_fail(db, err, "list images");
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc < 0) {
		for (size_t i = 0; i < cnt; i++)
			image_info_free(&v[i]);
		free(v);
		return -1;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_image_delete(struct store *s, const char *id, int *deleted, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "DELETE FROM images WHERE id = ?1", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	/* A single statement is its own transaction; names and layer lists go with it (CASCADE). */
	if (step_done(db, st, err, "delete image") < 0)
		return lc_wrap(err, "image %s", id);
	*deleted = sqlite3_changes(db) > 0;
	return 0;
}

#define LAYER_UNREFERENCED                                                                        \
	"NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.chain_id = layers.chain_id) "          \
	"AND NOT EXISTS (SELECT 1 FROM container_layers cl WHERE cl.chain_id = layers.chain_id)"

int store_layers_unreferenced(struct store *s, char (**ids)[DIGEST_BUF], size_t *n, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	*ids = NULL;
	*n = 0;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "SELECT chain_id FROM layers WHERE " LAYER_UNREFERENCED, &st, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char(*v)[DIGEST_BUF] = realloc(*ids, (*n + 1) * sizeof *v);
		if (!v) {
			free(*ids);
			*ids = NULL;
			*n = 0;
			return lc_fail(err, ENOMEM, "list unreferenced layers");
		}
		*ids = v;
		copy_text(v[(*n)++], DIGEST_BUF, st, 0);
	}
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return db_fail(db, err, "list unreferenced layers");
	}
	return 0;
}

int store_layer_delete_unreferenced(struct store *s, const char *chain_id, int *deleted, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s, "DELETE FROM layers WHERE chain_id = ?1 AND " LAYER_UNREFERENCED, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
	if (step_done(db, st, err, "delete layer") < 0)
		return lc_wrap(err, "layer %s", chain_id);
	*deleted = sqlite3_changes(db) > 0;
	return 0;
}

int store_blob_referenced(struct store *s, const char *digest, int *referenced, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "SELECT EXISTS (SELECT 1 FROM images WHERE id = ?1) "
		    "OR EXISTS (SELECT 1 FROM images WHERE manifest_digest = ?1) "
		    "OR EXISTS (SELECT 1 FROM image_layers WHERE blob_digest = ?1)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(db, err, "look up blob");
	*referenced = sqlite3_column_int(st, 0);
	return 0;
}

int store_image_usage(struct store *s, uint64_t *bytes, uint64_t *inodes, struct lc_err *err)
{
	sqlite3 *db = store_conn(s, err);
	if (!db)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(s,
		    "SELECT (SELECT coalesce(sum(size), 0) FROM layers)"
		    "     + (SELECT coalesce(sum(blob_size), 0) FROM"
		    "          (SELECT DISTINCT blob_digest, blob_size FROM image_layers))"
		    "     + (SELECT coalesce(sum(length(config)), 0) FROM images),"
		    "       (SELECT coalesce(sum(inodes), 0) + count(*) FROM layers)"
		    "     + (SELECT count(DISTINCT blob_digest) FROM image_layers)"
		    "     + (SELECT 2 * count(*) FROM images)",
		    &st, err) < 0)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(db, err, "image usage");
	*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	*inodes = (uint64_t)sqlite3_column_int64(st, 1);
	return 0;
}
