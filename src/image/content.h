/*
 * content.h — the on-disk content store under <root>/images.
 *
 *   blobs/sha256/<hex>     verified blobs: manifests, indexes, image configs, layer archives
 *   layers/<hex>/          an unpacked layer, named by the hex of its chain ID, in overlayfs
 *                          form (whiteouts are 0/0 char devices, opaque dirs carry
 *                          trusted.overlay.opaque=y); the lowerdirs of a container rootfs
 *   tmp/                   downloads and unpacks in progress; emptied at every start
 *
 * Nothing becomes visible under blobs/ or layers/ before it is complete and checked: writers
 * work in tmp/ and rename into place.  What the database does not reference is garbage
 * (images.c collects it); the store itself never deletes a blob or layer on its own.
 */
#ifndef LITECRI_IMAGE_CONTENT_H
#define LITECRI_IMAGE_CONTENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "util/err.h"

struct content {
	char dir[PATH_MAX - 256]; /* <root>/images (room left for the names below it) */
};

/* Create the layout under `images_dir` if missing and empty its tmp/.  */
int content_open(struct content *c, const char *images_dir, struct lc_err *err);

/* Path of a blob / an unpacked layer (whether or not it exists).  -1 if the digest is invalid. */
int content_blob_path(const struct content *c, const char *digest, char *out, size_t n, struct lc_err *err);
int content_layer_path(const struct content *c, const char *chain_id, char *out, size_t n, struct lc_err *err);

/* 1 if the blob / layer directory is present, 0 if not. */
int content_has_blob(const struct content *c, const char *digest);
int content_has_layer(const struct content *c, const char *chain_id);

/*
 * A blob being written: bytes go to a temp file in tmp/ while being hashed; commit checks the
 * digest (and the size when known), fsyncs and renames into blobs/.  Exceeding the expected size
 * fails at once.  A writer that is not committed must be aborted (removes the temp file).
 */
struct content_writer {
	int fd;
	char tmp[PATH_MAX];
	char expected[DIGEST_BUF];
	int64_t expected_size;  /* -1: unknown */
	int64_t written;
	struct digester *d;
	const struct content *c;
};
int content_writer_open(const struct content *c, const char *expected_digest, int64_t expected_size,
			struct content_writer *w, struct lc_err *err);
int content_writer_write(struct content_writer *w, const void *buf, size_t len, struct lc_err *err);
/* Verify and publish.  A digest mismatch fails with err->errnum = EBADMSG, naming both digests. */
int content_writer_commit(struct content_writer *w, struct lc_err *err);
void content_writer_abort(struct content_writer *w);

/* Write a whole in-memory blob (verified against expected_digest).  Present already: no-op. */
int content_put(const struct content *c, const char *expected_digest, const void *buf, size_t len,
		struct lc_err *err);

/*
 * Read a whole blob of at most max bytes into a malloc'ed buffer (NUL-terminated, *len excludes
 * the NUL), re-checking its digest.  Missing: -1 with errnum ENOENT.
 */
int content_read(const struct content *c, const char *digest, size_t max, char **buf, size_t *len,
		 struct lc_err *err);

/* The same for a file anywhere (an image archive's blob), checked against digest. */
int content_read_file(const char *path, const char *digest, size_t max, char **buf, size_t *len,
		      struct lc_err *err);

/* A fresh empty directory tmp/<prefix>XXXXXX for an unpack in progress; its path in out. */
int content_tmpdir(const struct content *c, const char *prefix, char *out, size_t n, struct lc_err *err);

/*
 * Publish an unpacked layer: fsync and rename tmpdir to layers/<hex of chain_id>.  If the layer
 * is already there (another pull won the race), tmpdir is removed and 0 returned.
 */
int content_publish_layer(const struct content *c, const char *tmpdir, const char *chain_id,
			  struct lc_err *err);

/*
 * Delete a blob / a layer directory.  A layer is first renamed into tmp/ and then removed, so a
 * crash never leaves a half-deleted layer under layers/.  Missing is fine.
 */
int content_remove_blob(const struct content *c, const char *digest, struct lc_err *err);
int content_remove_layer(const struct content *c, const char *chain_id, struct lc_err *err);

/*
 * Call fn for every blob digest / layer chain ID present on disk (for garbage collection).
 * Stops at and returns the first negative return of fn.
 */
int content_each_blob(const struct content *c, int (*fn)(const char *digest, void *arg), void *arg,
		      struct lc_err *err);
int content_each_layer(const struct content *c, int (*fn)(const char *chain_id, void *arg), void *arg,
		       struct lc_err *err);

#endif
