/*
 * test_images.c — the image records (src/store/images.c) and the image service's garbage
 * collection and crash cleanup (src/image/images.c), on a real SQLite file and a real content
 * directory.  Pulling over HTTP is tested in tests/integration/test_images.c.
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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>

#include "../common/testimg.h"
#include "../common/tmpdir.h"
#include "image/content.h"
#include "image/digest.h"
#include "image/images.h"
#include "store/images.h"
#include "store/migrate.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char db[PATH_MAX];
	struct lc_config cfg;
	struct store *store;
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "images");
	if (!f)
		return -1;
	config_defaults(&f->cfg);
	snprintf(f->db, sizeof f->db, "%s/litecri.db", f->dir);
	snprintf(f->cfg.root, sizeof f->cfg.root, "%s/lib", f->dir);
	snprintf(f->cfg.db, sizeof f->cfg.db, "%s", f->db);
	struct migrate_result res;
	struct lc_err err = { 0 };
	if (migrate_db(f->db, litecri_migrations, litecri_migrations_count, &res, &err) < 0 ||
	    store_open(f->db, (int)litecri_migrations_count, &f->store, &err) < 0) {
		print_error("%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->store);
	config_free(&f->cfg);
	return tmpdir_fixture_free(f);
}

/* A digest made from a label, for test records. */
static void dg(const char *label, char out[DIGEST_BUF]) { digest_buffer(label, strlen(label), out); }

static sqlite3 *db_open(const struct fx *f)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return db;
}

static long long q_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = db_open(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Record layers "<label>0".."<label>{n-1}" (a chain) and fill ls. */
static void add_layers(struct fx *f, const char *label, struct image_layer *ls, size_t n)
{
	struct lc_err err = { 0 };
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s%zu", label, i);
		memset(&ls[i], 0, sizeof ls[i]);
		dg(name, ls[i].diff_id);
		digest_chain(i ? ls[i - 1].chain_id : NULL, ls[i].diff_id, ls[i].chain_id);
		snprintf(name, sizeof name, "%s%zu-blob", label, i);
		dg(name, ls[i].blob_digest);
		ls[i].blob_size = 100;
		strcpy(ls[i].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
		assert_int_equal(store_layer_add(f->store, ls[i].chain_id, ls[i].diff_id, 1000, 10, &err), 0);
	}
}

/* Images the last put() removed because they lost their last name to it. */
static int last_orphaned;

/* Put image `label` with the given layers and names (tags unless they contain '@'). */
static int put(struct fx *f, const char *label, const struct image_layer *ls, size_t n, const char *const *names,
	       size_t n_names, char id[DIGEST_BUF], struct lc_err *err)
{
	char md[DIGEST_BUF], mlabel[64];
	dg(label, id);
	snprintf(mlabel, sizeof mlabel, "%s-manifest", label);
	dg(mlabel, md);
	enum image_name_kind kinds[8];
	for (size_t i = 0; i < n_names; i++)
		kinds[i] = strchr(names[i], '@') ? IMAGE_NAME_DIGEST : IMAGE_NAME_TAG;
	struct image_put p = { .id = id, .manifest_digest = md, .media_type = "application/vnd.oci.image.manifest.v1+json",
			       .config = "{\"config\":{\"User\":\"1000\"}}", .config_len = 26, .uid = 1000,
			       .username = "", .layers = ls, .n_layers = n, .names = names, .kinds = kinds,
			       .n_names = n_names };
	return store_image_put(f->store, &p, &last_orphaned, err);
}

/* 1. An image is recorded with its names and layers, found by ID and by each name. */
static void test_put_get_lookup(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[2];
	add_layers(f, "a", ls, 2);
	char id[DIGEST_BUF], got[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *names[] = { "r.io/x/a:1", "r.io/x/a@sha256:0000000000000000000000000000000000000000000000000000000000000001" };
	assert_int_equal(put(f, "imgA", ls, 2, names, 2, id, &err), 0);

	assert_int_equal(store_image_lookup(f->store, id, got, &err), 0);
	assert_string_equal(got, id);
	assert_int_equal(store_image_lookup(f->store, names[0], got, &err), 0);
	assert_string_equal(got, id);
	assert_int_equal(store_image_lookup(f->store, names[1], got, &err), 0);
	assert_int_equal(store_image_lookup(f->store, "r.io/x/a:2", got, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	struct image_info im;
	assert_int_equal(store_image_get(f->store, id, &im, &err), 0);
	assert_int_equal(im.n_names, 2);
	assert_int_equal(im.kinds[0], IMAGE_NAME_TAG);
	assert_string_equal(im.names[0], names[0]);
	assert_int_equal(im.n_layers, 2);
	assert_string_equal(im.layers[1].chain_id, ls[1].chain_id);
	assert_string_equal(im.layers[0].diff_id, ls[0].diff_id);
	assert_int_equal(im.uid, 1000);
	assert_int_equal(im.size, 26 + 2 * 100); /* config + layer blobs, computed */
	assert_string_equal(im.config, "{\"config\":{\"User\":\"1000\"}}");
	assert_true(im.created_at > 0);
	image_info_free(&im);

	struct image_info *v;
	size_t n;
	assert_int_equal(store_image_list(f->store, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	image_info_free(&v[0]);
	free(v);
}

/* 2. A tag moves to the image pulled last; an image left without any name is deleted with it. */
static void test_tag_moves(void **state)
{
	struct fx *f = *state;
	struct image_layer la[1], lb[1];
	add_layers(f, "a", la, 1);
	add_layers(f, "b", lb, 1);
	char a[DIGEST_BUF], b[DIGEST_BUF], c[DIGEST_BUF], got[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *tag[] = { "r.io/x:latest" };
	const char *tag_and_digest[] = { "r.io/x:latest",
					 "r.io/x@sha256:00000000000000000000000000000000000000000000000000000000000000aa" };
	assert_int_equal(put(f, "A", la, 1, tag, 1, a, &err), 0);
	assert_int_equal(last_orphaned, 0);
	assert_int_equal(put(f, "B", lb, 1, tag_and_digest, 2, b, &err), 0);
	assert_int_equal(last_orphaned, 1);
	/* A lost its only name: gone; B holds the tag. */
	assert_int_equal(store_image_lookup(f->store, a, got, &err), -1);
	assert_int_equal(store_image_lookup(f->store, "r.io/x:latest", got, &err), 0);
	assert_string_equal(got, b);
	/* C takes the tag from B, but B keeps its repo digest and so stays. */
	assert_int_equal(put(f, "C", la, 1, tag, 1, c, &err), 0);
	assert_int_equal(last_orphaned, 0);
	assert_int_equal(store_image_lookup(f->store, b, got, &err), 0);
	assert_int_equal(store_image_lookup(f->store, "r.io/x:latest", got, &err), 0);
	assert_string_equal(got, c);
	assert_int_equal(q_int(f, "SELECT count(*) FROM images"), 2);
}

/* 3. A put naming a layer that has no row fails as a whole: nothing of it is recorded. */
static void test_put_missing_layer_rolls_back(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[2];
	add_layers(f, "m", ls, 1);
	ls[1] = ls[0];
	dg("not recorded", ls[1].chain_id);
	char id[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *names[] = { "r.io/missing:1" };
	assert_int_equal(put(f, "M", ls, 2, names, 1, id, &err), -1);
	assert_non_null(strstr(err.msg, id));
	assert_int_equal(q_int(f, "SELECT count(*) FROM images"), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM image_names"), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM image_layers"), 0);
}

/* 4. Deleting an image frees its layers unless another image or a container uses them. */
static void test_delete_and_references(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[2];
	add_layers(f, "d", ls, 2);
	char a[DIGEST_BUF], b[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *na[] = { "r.io/a:1" }, *nb[] = { "r.io/b:1" };
	assert_int_equal(put(f, "A", ls, 2, na, 1, a, &err), 0);
	assert_int_equal(put(f, "B", ls, 1, nb, 1, b, &err), 0); /* shares the bottom layer */

	/* A container uses the top layer (CreateContainer records its rootfs layers). */
	sqlite3 *db = db_open(f);
	char sql[2048];
	const char *sid = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *cid = "2222222222222222222222222222222222222222222222222222222222222222";
	snprintf(sql, sizeof sql,
		 "INSERT INTO sandboxes (id, name, meta_name, meta_namespace, meta_uid, config, config_digest) "
		 "VALUES ('%s', 'pod', 'pod', 'ns', 'uid', x'00', 'd');"
		 "INSERT INTO containers (id, sandbox_id, name, meta_name, config, config_digest) "
		 "VALUES ('%s', '%s', 'ctr', 'ctr', x'00', 'd');"
		 "INSERT INTO container_layers (container_id, position, chain_id) VALUES ('%s', 0, '%s');",
		 sid, cid, sid, cid, ls[1].chain_id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);

	int deleted = 0;
	assert_int_equal(store_image_delete(f->store, a, &deleted, &err), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(store_image_delete(f->store, a, &deleted, &err), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM image_names WHERE name = 'r.io/a:1'"), 0);

	char(*ids)[DIGEST_BUF] = NULL;
	size_t n = 0;
	assert_int_equal(store_layers_unreferenced(f->store, &ids, &n, &err), 0);
	assert_int_equal(n, 0); /* bottom: image B; top: the container */
	free(ids);
	assert_int_equal(store_layer_delete_unreferenced(f->store, ls[1].chain_id, &deleted, &err), 0);
	assert_int_equal(deleted, 0);

	/* The container goes: its layer is garbage now; B still holds the bottom one. */
	snprintf(sql, sizeof sql, "DELETE FROM containers WHERE id = '%s'", cid);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_layers_unreferenced(f->store, &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], ls[1].chain_id);
	free(ids);
	assert_int_equal(store_layer_delete_unreferenced(f->store, ls[1].chain_id, &deleted, &err), 0);
	assert_int_equal(deleted, 1);

	int ref = 0;
	assert_int_equal(store_blob_referenced(f->store, ls[0].blob_digest, &ref, &err), 0);
	assert_int_equal(ref, 1);
	assert_int_equal(store_blob_referenced(f->store, ls[1].blob_digest, &ref, &err), 0);
	assert_int_equal(ref, 0);
	assert_int_equal(store_blob_referenced(f->store, b, &ref, &err), 0);
	assert_int_equal(ref, 1);
}

/* 5. Usage counts shared layers and blobs once. */
static void test_usage(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[2];
	add_layers(f, "u", ls, 2);
	char a[DIGEST_BUF], b[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *na[] = { "r.io/a:1" }, *nb[] = { "r.io/b:1" };
	assert_int_equal(put(f, "A", ls, 2, na, 1, a, &err), 0);
	assert_int_equal(put(f, "B", ls, 2, nb, 1, b, &err), 0);
	uint64_t bytes = 0, inodes = 0;
	assert_int_equal(store_image_usage(f->store, &bytes, &inodes, &err), 0);
	/* 2 layers x 1000 bytes + 2 distinct blobs x 100 + 2 configs x 26 */
	assert_int_equal(bytes, 2000 + 200 + 52);
	/* 2 layers x (10 + 1) + 2 blobs + 2 images x 2 */
	assert_int_equal(inodes, 22 + 2 + 4);
}

/* Write a file with content. */
static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/*
 * 6. What a crash leaves — a half-written blob and a half-unpacked layer in tmp/, a published
 * layer whose row was never written, a blob no image references, an unreferenced layer row —
 * is collected when the image service opens; everything referenced is kept.
 */
static void test_open_collects_crash_leftovers(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	struct images *im = NULL;
	assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
	const struct content *c = images_content(im);

	/* A referenced image: its layer directory, layer blob and config blob. */
	struct image_layer ls[1];
	char p[PATH_MAX], keep_layer[PATH_MAX], keep_blob[PATH_MAX], keep_cfg[PATH_MAX];
	const char *cfg_text = "{\"rootfs\":{}}";
	char cfg_dg[DIGEST_BUF];
	digest_buffer(cfg_text, strlen(cfg_text), cfg_dg);
	assert_int_equal(content_put(c, cfg_dg, cfg_text, strlen(cfg_text), &err), 0);
	add_layers(f, "k", ls, 1);
	assert_int_equal(content_put(c, ls[0].blob_digest, "x", 1, &err), -1); /* wrong bytes: refused */
	assert_int_equal(err.errnum, EBADMSG);
	const char *blob_text = "layer-bytes";
	digest_buffer(blob_text, strlen(blob_text), ls[0].blob_digest);
	assert_int_equal(content_put(c, ls[0].blob_digest, blob_text, strlen(blob_text), &err), 0);
	assert_int_equal(content_tmpdir(c, "layer-", p, sizeof p, &err), 0);
	assert_int_equal(content_publish_layer(c, p, ls[0].chain_id, &err), 0);
	char md[DIGEST_BUF];
	dg("K-manifest", md);
	enum image_name_kind kind = IMAGE_NAME_TAG;
	const char *name = "r.io/keep:1";
	struct image_put put = { .id = cfg_dg, .manifest_digest = md, .media_type = "m", .config = cfg_text,
				 .config_len = strlen(cfg_text), .uid = -1, .username = "", .layers = ls,
				 .n_layers = 1, .names = &name, .kinds = &kind, .n_names = 1 };
	assert_int_equal(store_image_put(f->store, &put, NULL, &err), 0);
	content_layer_path(c, ls[0].chain_id, keep_layer, sizeof keep_layer, &err);
	content_blob_path(c, ls[0].blob_digest, keep_blob, sizeof keep_blob, &err);
	content_blob_path(c, cfg_dg, keep_cfg, sizeof keep_cfg, &err);

	/* Garbage of every kind. */
	char tmp_file[PATH_MAX], orphan_layer[PATH_MAX], orphan_blob[PATH_MAX], orphan_dg[DIGEST_BUF];
	snprintf(tmp_file, sizeof tmp_file, "%s/tmp/blob-abc-XXXXXX", c->dir);
	write_file(tmp_file, "half a blob");
	assert_int_equal(content_tmpdir(c, "layer-", p, sizeof p, &err), 0);
	char half[PATH_MAX + 8];
	snprintf(half, sizeof half, "%s/bin", p);
	assert_int_equal(mkdir(half, 0755), 0);
	struct image_layer orphan[1];
	dg("orphan dir", orphan_dg);
	assert_int_equal(content_tmpdir(c, "layer-", p, sizeof p, &err), 0);
	assert_int_equal(content_publish_layer(c, p, orphan_dg, &err), 0);
	content_layer_path(c, orphan_dg, orphan_layer, sizeof orphan_layer, &err);
	const char *junk = "unreferenced";
	digest_buffer(junk, strlen(junk), orphan_dg);
	assert_int_equal(content_put(c, orphan_dg, junk, strlen(junk), &err), 0);
	content_blob_path(c, orphan_dg, orphan_blob, sizeof orphan_blob, &err);
	add_layers(f, "unref", orphan, 1); /* a row, no image */
	images_close(im);

	im = NULL;
	assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
	c = images_content(im);
	assert_int_equal(q_int(f, "SELECT count(*) FROM layers"), 1);
	assert_false(exists(tmp_file));
	assert_false(exists(half));
	assert_false(exists(orphan_layer));
	assert_false(exists(orphan_blob));
	assert_true(exists(keep_layer));
	assert_true(exists(keep_blob));
	assert_true(exists(keep_cfg));

	/* Removing the image collects its layer and blobs at once (no pull is running). */
	int removed = 0;
	assert_int_equal(images_remove(im, "r.io/keep:1", &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists(keep_layer));
	assert_false(exists(keep_blob));
	assert_false(exists(keep_cfg));
	assert_int_equal(q_int(f, "SELECT count(*) FROM layers"), 0);
	/* Idempotent. */
	assert_int_equal(images_remove(im, "r.io/keep:1", &removed, &err), 0);
	assert_int_equal(removed, 0);
	images_close(im);
}

/* Write a tar at path with regular files {name, content}... (NULL-terminated pairs). */
static void write_tar(const char *path, const char *const *files)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (const char *const *f = files; *f; f += 2) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, f[0]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(f[1]));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, f[1], strlen(f[1])), (la_ssize_t)strlen(f[1]));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/*
 * 7. `litecri image import` of a hostile archive: an entry that climbs out of the archive, or a
 * docker-save manifest.json that names a file outside it, fails with EINVAL, writes nothing
 * outside, records nothing and leaves tmp/ empty.
 */
static void test_import_refuses_escapes(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	struct images *im = NULL;
	assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
	char tar[PATH_MAX], outside[PATH_MAX], tmp[PATH_MAX];
	snprintf(tar, sizeof tar, "%s/evil.tar", f->dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", images_content(im)->dir);

	/* "../../evil" from tmp/import-XXXXXX/ would land in <root>/images. */
	snprintf(outside, sizeof outside, "%s/evil", images_content(im)->dir);
	const char *climb[] = { "oci-layout", "{}", "../../evil", "gotcha", NULL };
	write_tar(tar, climb);
	assert_int_equal(images_import(im, tar, NULL, NULL, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "escapes"));
	assert_false(exists(outside));
	assert_int_equal(tmpdir_count(tmp), 0);

	/* A docker-save manifest naming a file outside the archive as its config. */
	const char *save[] = { "manifest.json",
			       "[{\"Config\":\"../../../../../../etc/passwd\",\"RepoTags\":[\"r.io/x:1\"],\"Layers\":[]}]",
			       NULL };
	write_tar(tar, save);
	assert_int_equal(images_import(im, tar, NULL, NULL, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "bad path"));
	assert_int_equal(tmpdir_count(tmp), 0);

	/* Neither an OCI layout nor a docker-save archive. */
	const char *neither[] = { "hello.txt", "hi", NULL };
	write_tar(tar, neither);
	assert_int_equal(images_import(im, tar, NULL, NULL, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "neither an OCI image layout"));
	assert_int_equal(q_int(f, "SELECT count(*) FROM images"), 0);
	assert_int_equal(tmpdir_count(tmp), 0);
	images_close(im);
}

/* Each image: its config and manifest blobs, and each layer's row, directory and blob, are present. */
static void check_consistent(struct fx *f, struct images *im, size_t *n_images)
{
	const struct content *c = images_content(im);
	struct lc_err err = { 0 };
	struct image_info *v = NULL;
	size_t n = 0;
	assert_int_equal(store_image_list(f->store, &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(content_has_blob(c, v[i].id));
		assert_true(content_has_blob(c, v[i].manifest_digest));
		for (size_t j = 0; j < v[i].n_layers; j++) {
			assert_true(content_has_layer(c, v[i].layers[j].chain_id));
			assert_true(content_has_blob(c, v[i].layers[j].blob_digest));
		}
		image_info_free(&v[i]);
	}
	free(v);
	*n_images = n;
	/* Every layer row has its directory, every directory its row. */
	char(*ids)[DIGEST_BUF] = NULL;
	size_t nl = 0;
	assert_int_equal(store_layers_unreferenced(f->store, &ids, &nl, &err), 0);
	assert_int_equal(nl, 0); /* garbage was collected at open */
	free(ids);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/layers", c->dir);
	assert_int_equal(tmpdir_count(dir), (int)q_int(f, "SELECT count(*) FROM layers"));
	snprintf(dir, sizeof dir, "%s/tmp", c->dir);
	assert_int_equal(tmpdir_count(dir), 0);
}

/*
 * 8. Crash test: `image import` of a 64 MiB image SIGKILLed at many points.  Every time, the
 * next open leaves the store consistent — no image, or the whole image — and the import then
 * completes.
 */
static void test_import_killed_anywhere(void **state)
{
	struct fx *f = *state;
	char layout[PATH_MAX];
	snprintf(layout, sizeof layout, "%s/layout", f->dir);
	struct testimg img;
	assert_int_equal(testimg_build(layout, TESTIMG_BIG, "registry.k8s.io/litecri-test/big:1", &img), 0);

	/* How long an undisturbed import takes (the faster of two: caches warm), to spread the kills. */
	long full_us = -1;
	struct lc_err err = { 0 };
	struct images *im = NULL;
	int removed = 0;
	for (int round = 0; round < 2; round++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
		assert_int_equal(images_import(im, layout, NULL, NULL, &err), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (full_us < 0 || us < full_us)
			full_us = us;
		assert_int_equal(images_remove(im, "registry.k8s.io/litecri-test/big:1", &removed, &err), 0);
		images_close(im);
	}

	int completed = 0, interrupted = 0;
	for (int k = 0; k < 10; k++) {
		long delay_us = full_us * k / 6; /* 0 %, 17 %, ... 150 % of an import */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* The child: its own connection, an import, then exit. */
			struct store *s = NULL;
			struct images *ci = NULL;
			struct lc_err e = { 0 };
			if (store_open(f->db, (int)litecri_migrations_count, &s, &e) < 0 ||
			    images_open(&f->cfg, s, &ci, &e) < 0 || images_import(ci, layout, NULL, NULL, &e) < 0)
				_exit(1);
			_exit(0);
		}
		usleep((useconds_t)delay_us);
		kill(pid, SIGKILL);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			completed++;
		} else {
			interrupted++;
		}

		/* The next start: consistent, then the import completes, then remove for the next round. */
		im = NULL;
		assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
		size_t n = 0;
		check_consistent(f, im, &n);
		assert_true(n <= 1);
		assert_int_equal(images_import(im, layout, NULL, NULL, &err), 0);
		check_consistent(f, im, &n);
		assert_int_equal(n, 1);
		assert_int_equal(images_remove(im, "registry.k8s.io/litecri-test/big:1", &removed, &err), 0);
		assert_int_equal(removed, 1);
		images_close(im);
	}
	/* The kills really landed inside imports (the first at once; the last ones after it ended). */
	assert_true(interrupted >= 3);
	print_message("import killed %d times, completed %d times (an import takes %ld ms)\n", interrupted,
		      completed, full_us / 1000);
}

/*
 * 9. An import that takes the only name of another image removes that image and, once the
 * import ends, collects the layers only it used.
 */
static void test_import_takes_last_name(void **state)
{
	struct fx *f = *state;
	char layout[PATH_MAX], multi_tar[PATH_MAX], base_tar[PATH_MAX];
	snprintf(layout, sizeof layout, "%s/layout", f->dir);
	snprintf(multi_tar, sizeof multi_tar, "%s/multi.tar", f->dir);
	snprintf(base_tar, sizeof base_tar, "%s/base.tar", f->dir);
	struct testimg multi, base;
	assert_int_equal(testimg_build(layout, TESTIMG_MULTI, "registry.k8s.io/litecri-test/multi:1", &multi), 0);
	assert_int_equal(testimg_build(layout, TESTIMG_BASE, "registry.k8s.io/litecri-test/base:1", &base), 0);
	/* docker save archives carry tags only, no repo digest: the tag is each image's one name. */
	assert_int_equal(testimg_docker_save(layout, &multi, "r.io/app:1", multi_tar), 0);
	assert_int_equal(testimg_docker_save(layout, &base, "r.io/app:1", base_tar), 0);

	struct lc_err err = { 0 };
	struct images *im = NULL;
	assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);
	assert_int_equal(images_import(im, multi_tar, NULL, NULL, &err), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM layers"), 3);
	assert_int_equal(images_import(im, base_tar, NULL, NULL, &err), 0);
	/* MULTI lost r.io/app:1 and with it its last name; its two upper layers were collected. */
	char id[DIGEST_BUF];
	assert_int_equal(images_resolve(im, "r.io/app:1", id, &err), 0);
	assert_string_equal(id, base.config_digest);
	assert_int_equal(images_resolve(im, multi.config_digest, id, &err), -1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM images"), 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM layers"), 1);
	const struct content *c = images_content(im);
	assert_true(content_has_layer(c, multi.chain_ids[0])); /* BASE's layer, shared */
	assert_false(content_has_layer(c, multi.chain_ids[1]));
	assert_false(content_has_layer(c, multi.chain_ids[2]));
	assert_false(content_has_blob(c, multi.config_digest));
	images_close(im);
}

/* 10. A short ID resolves when unique; an ambiguous one is refused naming both; names come first. */
static void test_short_ids(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[1];
	add_layers(f, "s", ls, 1);
	/* Find two labels whose digests share their first hex digit but not the first four. */
	char a[DIGEST_BUF], b[DIGEST_BUF], la[32], lb[32];
	int found = 0;
	for (int i = 0; i < 200 && !found; i++)
		for (int j = i + 1; j < 200 && !found; j++) {
			snprintf(la, sizeof la, "img%d", i);
			snprintf(lb, sizeof lb, "img%d", j);
			dg(la, a);
			dg(lb, b);
			found = a[7] == b[7] && strncmp(a + 7, b + 7, 4) != 0;
		}
	assert_true(found);
	struct lc_err err = { 0 };
	const char *na[] = { "r.io/a:1" }, *nb[] = { "r.io/b:1" };
	char id[DIGEST_BUF];
	assert_int_equal(put(f, la, ls, 1, na, 1, id, &err), 0);
	assert_int_equal(put(f, lb, ls, 1, nb, 1, id, &err), 0);
	struct images *im = NULL;
	assert_int_equal(images_open(&f->cfg, f->store, &im, &err), 0);

	char got[DIGEST_BUF], short_a[32], prefixed_b[40];
	snprintf(short_a, sizeof short_a, "%.12s", a + 7);
	snprintf(prefixed_b, sizeof prefixed_b, "sha256:%.13s", b + 7);
	assert_int_equal(images_resolve(im, short_a, got, &err), 0);
	assert_string_equal(got, a);
	assert_int_equal(images_resolve(im, prefixed_b, got, &err), 0);
	assert_string_equal(got, b);
	/* Four digits are the least taken; a shared first digit alone is too short to try. */
	char four[8];
	snprintf(four, sizeof four, "%.4s", a + 7);
	assert_int_equal(images_resolve(im, four, got, &err), 0);
	assert_string_equal(got, a);
	char one[4];
	snprintf(one, sizeof one, "%.1s", a + 7);
	assert_int_equal(images_resolve(im, one, got, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	/* Ambiguous, straight from the store. */
	assert_int_equal(store_image_lookup_prefix(f->store, one, got, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "ambiguous"));
	assert_non_null(strstr(err.msg, a));
	assert_non_null(strstr(err.msg, b));
	/* No such ID: A's first twelve digits with the last one changed (B differs in the first four). */
	char none[32];
	snprintf(none, sizeof none, "%s", short_a);
	none[11] = none[11] == '0' ? '1' : '0';
	assert_int_equal(images_resolve(im, none, got, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	/* A name wins over an ID prefix: a repository named with hex digits. */
	const char *hexname[] = { "docker.io/library/deadbeef0000:latest" };
	assert_int_equal(put(f, "hexnamed", ls, 1, hexname, 1, id, &err), 0);
	assert_int_equal(images_resolve(im, "deadbeef0000", got, &err), 0);
	assert_string_equal(got, id);
	/* Removing by short ID. */
	int removed = 0;
	assert_int_equal(images_remove(im, short_a, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(images_resolve(im, a, got, &err), -1);
	images_close(im);
}

/* 11. store_image_unchanged: true only for the same image, manifest and names. */
static void test_unchanged(void **state)
{
	struct fx *f = *state;
	struct image_layer ls[1];
	add_layers(f, "u", ls, 1);
	char id[DIGEST_BUF], md[DIGEST_BUF], other_md[DIGEST_BUF];
	struct lc_err err = { 0 };
	const char *names[] = { "r.io/u:1", "r.io/u@sha256:00000000000000000000000000000000000000000000000000000000000000cc" };
	assert_int_equal(put(f, "U", ls, 1, names, 2, id, &err), 0);
	dg("U-manifest", md); /* what put() used */
	dg("another manifest", other_md);
	enum image_name_kind kinds[] = { IMAGE_NAME_TAG, IMAGE_NAME_DIGEST, IMAGE_NAME_TAG };
	const char *more[] = { names[0], names[1], "r.io/u:2" };
	struct image_put p = { .id = id, .manifest_digest = md, .media_type = "m", .config = "{}", .config_len = 2,
			       .uid = -1, .username = "", .layers = ls, .n_layers = 1, .names = more,
			       .kinds = kinds, .n_names = 2 };
	int same = -1;
	assert_int_equal(store_image_unchanged(f->store, &p, &same, &err), 0);
	assert_int_equal(same, 1);
	p.n_names = 1;
	assert_int_equal(store_image_unchanged(f->store, &p, &same, &err), 0);
	assert_int_equal(same, 1); /* a subset of its names: nothing to write */
	p.n_names = 3;
	assert_int_equal(store_image_unchanged(f->store, &p, &same, &err), 0);
	assert_int_equal(same, 0); /* a new tag */
	p.n_names = 2;
	p.manifest_digest = other_md;
	assert_int_equal(store_image_unchanged(f->store, &p, &same, &err), 0);
	assert_int_equal(same, 0); /* the same config from another manifest */
	p.manifest_digest = md;
	dg("not recorded", id);
	assert_int_equal(store_image_unchanged(f->store, &p, &same, &err), 0);
	assert_int_equal(same, 0);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_missing_layer_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_references, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_collects_crash_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_refuses_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_killed_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_takes_last_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
