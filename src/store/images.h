/*
 * images.h — image, name and layer records (tables images, image_names, layers, image_layers,
 * container_layers of migrations/0002_images.sql).  All image SQL lives here.
 *
 * Every write is one short BEGIN IMMEDIATE transaction; nothing here touches the filesystem.
 * The callers (src/image/images.c) keep the rule that a row is written only after the content
 * it describes is complete on disk, and deleted before that content is removed.
 */
#ifndef LITECRI_STORE_IMAGES_H
#define LITECRI_STORE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "util/err.h"

struct store;

enum image_name_kind { IMAGE_NAME_TAG = 0, IMAGE_NAME_DIGEST = 1 };

/* One layer of an image, bottom first. */
struct image_layer {
	char chain_id[DIGEST_BUF];
	char diff_id[DIGEST_BUF];
	char blob_digest[DIGEST_BUF];
	int64_t blob_size;
	char media_type[128];
};

/* What store_image_put records. */
struct image_put {
	const char *id;               /* config digest */
	const char *manifest_digest;
	const char *media_type;       /* of the manifest */
	const char *config;           /* config JSON */
	size_t config_len;
	int64_t uid;                  /* -1: none / not numeric */
	const char *username;         /* "" when uid is set or no user */
	const struct image_layer *layers;
	size_t n_layers;
	const char *const *names;     /* normalized repo tags / repo digests */
	const enum image_name_kind *kinds;
	size_t n_names;
};

/* An image as recorded.  Free with image_info_free. */
struct image_info {
	char id[DIGEST_BUF];
	char manifest_digest[DIGEST_BUF];
	char media_type[128];
	char *config;                 /* NUL-terminated JSON */
	int64_t size;                 /* config + layer blobs (computed, not stored) */
	int64_t uid;                  /* -1: none */
	char username[256];
	int pinned;
	int64_t created_at;
	char **names;
	enum image_name_kind *kinds;
	size_t n_names;
	struct image_layer *layers;
	size_t n_layers;
};
void image_info_free(struct image_info *im);

/*
 * Record a layer whose directory has just been published (INSERT OR IGNORE: a layer recorded
 * by a concurrent pull is fine).
 */
int store_layer_add(struct store *s, const char *chain_id, const char *diff_id, uint64_t size, uint64_t inodes,
		    struct lc_err *err);

/* *exists = 1 if the layer row is there. */
int store_layer_exists(struct store *s, const char *chain_id, int *exists, struct lc_err *err);

/*
 * One transaction: insert the image (or refresh it, keeping created_at), its layer list, and
 * its names — a name held by another image moves to this one, and an image left without any
 * name is deleted (its layers become garbage; *orphaned, if not NULL, counts such images).
 * Every layer row must exist already (FOREIGN KEY).
 */
int store_image_put(struct store *s, const struct image_put *p, int *orphaned, struct lc_err *err);

/*
 * *same = 1 if p is recorded already exactly as far as a pull can change it: the image with
 * p's ID and manifest digest, and every one of p's names pointing at it.  Read-only: a pull
 * of an image that has not changed (kubelet's "Always" policy) then writes nothing.
 */
int store_image_unchanged(struct store *s, const struct image_put *p, int *same, struct lc_err *err);

/*
 * Find the image `ref` names: an image ID ("sha256:<hex>"), or a normalized name (repo tag or repo
 * digest).  Not found: -1 with errnum ENOENT.
 */
int store_image_lookup(struct store *s, const char *ref, char id[DIGEST_BUF], struct lc_err *err);

/*
 * Find the one image whose ID's hex digits start with `hex` (lowercase hex, 1..64 digits).
 * None: -1 with errnum ENOENT; more than one: -1 with errnum EINVAL ("ambiguous", naming two).
 */
int store_image_lookup_prefix(struct store *s, const char *hex, char id[DIGEST_BUF], struct lc_err *err);

/* Read one image with its names and layers.  Missing: -1 with errnum ENOENT. */
int store_image_get(struct store *s, const char *id, struct image_info *out, struct lc_err *err);

/* Every image (id order), with names and layers; free each and the array. */
int store_image_list(struct store *s, struct image_info **out, size_t *n, struct lc_err *err);

/* Delete the image and its names and layer list (one transaction).  *deleted = 0 if missing. */
int store_image_delete(struct store *s, const char *id, int *deleted, struct lc_err *err);

/* Chain IDs of layers no image and no container references (malloc'ed array). */
int store_layers_unreferenced(struct store *s, char (**ids)[DIGEST_BUF], size_t *n, struct lc_err *err);

/* Delete the layer's row if it is still unreferenced; *deleted says whether it was. */
int store_layer_delete_unreferenced(struct store *s, const char *chain_id, int *deleted, struct lc_err *err);

/* *referenced = 1 if an image uses digest as its ID (config), manifest or a layer blob. */
int store_blob_referenced(struct store *s, const char *digest, int *referenced, struct lc_err *err);

/* Bytes and inodes the image content uses: unpacked layers + blobs, each counted once. */
int store_image_usage(struct store *s, uint64_t *bytes, uint64_t *inodes, struct lc_err *err);

#endif
