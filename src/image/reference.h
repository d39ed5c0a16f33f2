/*
 * reference.h — image references, normalized the way kubelet, docker and containerd do.
 *
 *   busybox                      → docker.io/library/busybox:latest
 *   user/app:1.0                 → docker.io/user/app:1.0
 *   registry.k8s.io/pause:3.9    → as is
 *   localhost:5000/x@sha256:...  → as is (a digest reference; a tag next to it is kept but
 *                                  the digest wins when fetching)
 * The first path component is a registry domain when it contains '.' or ':' or is "localhost";
 * otherwise the domain is docker.io.  Repository path components are lowercase
 * [a-z0-9]+ separated by '.', '_', '__' or '-'+; tags [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 */
#ifndef LITECRI_IMAGE_REFERENCE_H
#define LITECRI_IMAGE_REFERENCE_H

#include <stddef.h>

#include "image/digest.h"
#include "util/err.h"

struct image_ref {
	char domain[256];      /* "docker.io", "registry.k8s.io", "127.0.0.1:5000" */
	char path[512];        /* "library/busybox" */
	char tag[129];         /* "" when none ("latest" is filled in only when there is no digest) */
	char digest[DIGEST_BUF]; /* "" when none */
};

/* Parse and normalize s.  A malformed reference fails with errnum EINVAL and a message naming s. */
int image_ref_parse(const char *s, struct image_ref *r, struct lc_err *err);

/* "domain/path" (the repository name, no tag or digest). */
int image_ref_name(const struct image_ref *r, char *out, size_t n);

/* "domain/path:tag" ("" into out, returns 0, when r has no tag). */
int image_ref_tagged(const struct image_ref *r, char *out, size_t n);

/* "domain/path@digest" for the given digest (e.g. the manifest digest a tag resolved to). */
int image_ref_digested(const struct image_ref *r, const char *digest, char *out, size_t n);

/*
 * The full normalized form: "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest".
 * Each returns 0, or -1 when out is too small.
 */
int image_ref_string(const struct image_ref *r, char *out, size_t n);

/*
 * If s names an image by ID rather than by reference — "sha256:<64 hex>" or the bare 64 hex
 * digits — write the "sha256:<hex>" form to id and return 1; else 0.
 */
int image_ref_is_id(const char *s, char id[DIGEST_BUF]);

#endif
