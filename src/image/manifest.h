/*
 * manifest.h — OCI / Docker schema 2 manifests, indexes (manifest lists) and image configs.
 *
 * Parsing checks what litecri relies on (schemaVersion 2, digests valid, sizes non-negative,
 * media types it can handle) and fails with errnum EINVAL naming what is wrong.
 */
#ifndef LITECRI_IMAGE_MANIFEST_H
#define LITECRI_IMAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "util/err.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

struct descriptor {
	char media_type[128];
	char digest[DIGEST_BUF];
	int64_t size;
	char os[32], arch[32], variant[32]; /* platform, for index entries ("" if none) */
};

struct manifest {
	int is_index;
	char media_type[128];        /* from the document, else the transport's content type */
	struct descriptor config;    /* image manifests */
	struct descriptor *layers;   /* image manifests, bottom first */
	size_t n_layers;
	struct descriptor *manifests; /* indexes */
	size_t n_manifests;
};

/* Parse a manifest or index.  content_type (may be NULL or "") is used when the body has no mediaType. */
int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *m, struct lc_err *err);
void manifest_free(struct manifest *m);

/* The host's platform in OCI terms: arch "amd64", "arm64", ...; variant "" or "v7"... */
void platform_host(const char **arch, const char **variant);

/*
 * The entry of index idx for linux/arch[/variant] (variant "" matches any).  None: -1 with errnum
 * ENOENT and a message listing the platforms the index has.
 */
int manifest_select(const struct manifest *idx, const char *arch, const char *variant,
		    const struct descriptor **out, struct lc_err *err);

/* What litecri uses of an image config. */
struct image_config {
	char (*diff_ids)[DIGEST_BUF];
	size_t n_diff_ids;
	char user[256];     /* config.User, "" if none */
	char os[32], arch[32];
	char stop_signal[32];
};
int image_config_parse(const char *json, size_t len, struct image_config *c, struct lc_err *err);
void image_config_free(struct image_config *c);

/*
 * Split a config User ("1000", "1000:1000", "app", "app:staff") into a numeric uid (-1 if the
 * user part is not a number) and a user name ("" when numeric).
 */
void image_user_split(const char *user, int64_t *uid, char *name, size_t name_cap);

#endif
