/*
 * digest.h — content digests ("sha256:<64 lowercase hex>"), the only algorithm litecri accepts.
 *
 * Every byte litecri stores under <root>/images is named by its digest and checked against it.
 */
#ifndef LITECRI_IMAGE_DIGEST_H
#define LITECRI_IMAGE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX_LEN 64
#define DIGEST_LEN 71         /* strlen("sha256:") + 64 */
#define DIGEST_BUF 72         /* DIGEST_LEN + NUL */

/* 1 if s is exactly "sha256:" followed by 64 lowercase hex digits. */
int digest_valid(const char *s);

/* Like digest_valid, but fills err naming `what` ("manifest digest", "layer", ...) when not. */
int digest_check(const char *s, const char *what, struct lc_err *err);

/* The 64 hex digits of a valid digest (a pointer into s). */
static inline const char *digest_hex(const char *s) { return s + 7; }

/* Incremental SHA-256 (OpenSSL libcrypto underneath). */
struct digester;
struct digester *digester_new(void);                     /* NULL on out-of-memory */
void digester_update(struct digester *d, const void *buf, size_t len);
/* Write "sha256:<hex>" to out (DIGEST_BUF bytes); the digester may not be updated afterwards. */
void digester_final(struct digester *d, char out[DIGEST_BUF]);
void digester_free(struct digester *d);

/* Digest of a buffer, in one call. */
void digest_buffer(const void *buf, size_t len, char out[DIGEST_BUF]);

/*
 * Chain ID of a layer stack (OCI image spec): chain(L0) = diffid(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diffid(Ln)).  parent_chain is NULL for the bottom layer.
 */
void digest_chain(const char *parent_chain, const char *diff_id, char out[DIGEST_BUF]);

#endif
