/*
 * images.h — the image service: pull, import, resolve, remove and garbage-collect images.
 *
 * Rows (src/store/images.h) and content (content.h) are kept consistent by ordering alone:
 *   pull/import:  blobs (verified) → unpacked layers (published, then a layer row each) →
 *                 one transaction recording the image and its names;
 *   remove:       one transaction deleting the image row → garbage collection outside it:
 *                 layer row deleted (if still unreferenced) → layer directory removed; blobs no
 *                 image references removed.
 * A crash at any point leaves either nothing visible or garbage that the next start collects
 * (tmp/ emptied; layer directories without a row, unreferenced layer rows and unreferenced blobs
 * removed).  Pulls and imports hold a shared lock on <root>/images/gc.lock (flock, so an import
 * run by `litecri image import` beside the daemon counts too); garbage collection takes it
 * exclusively, and when a pull is running it is deferred to the end of the last pull.
 *
 * Concurrent pulls of the same reference are coalesced: one transfer (on a thread of its own),
 * every caller still waiting gets its result; it is aborted when none waits any more.
 */
#ifndef LITECRI_IMAGE_IMAGES_H
#define LITECRI_IMAGE_IMAGES_H

#include <stdint.h>

#include "image/digest.h"
#include "image/registry.h"
#include "util/config.h"
#include "util/err.h"

struct store;
struct content;
struct images;

/*
 * Open the image service on <cfg->root>/images: create the layout, empty tmp/, collect garbage
 * left by a crash.  cfg and store must outlive it.
 */
int images_open(const struct lc_config *cfg, struct store *store, struct images **out, struct lc_err *err);
void images_close(struct images *im);

const struct content *images_content(const struct images *im);

/*
 * Pull `ref` (any reference form; normalized) from its registry's endpoints (mirrors first, see
 * config.h) and record it.  id receives the image ID (config digest).  Errors carry errnum:
 * EINVAL (bad reference or unusable image), ENOENT (no endpoint has it), EKEYREJECTED (refused
 * credentials), EBADMSG (content did not match its digest), ECANCELED (litecri is shutting down),
 * others (transport, disk).
 *
 * The caller waits until the pull ends, its deadline (CLOCK_REALTIME ns; 0: none) passes or
 * cancel_fd (> 0; 0: none) turns readable — cri_call's deadline and cancel_fd.  When it stops
 * waiting first: -1 with errnum ETIMEDOUT (whose status is cri_gone_code's); the transfer goes on
 * for the other callers of the same reference, and is aborted once none waits any more: it then
 * records no image and ends as a failed pull does (temporary files removed; the layers it had
 * published keep their rows for a retry).  A pull started after that is a new one.
 */
int images_pull(struct images *im, const char *ref, const struct registry_auth *auth, int64_t deadline, int cancel_fd,
		char id[DIGEST_BUF], struct lc_err *err);

/* The shortest ID prefix images_resolve takes (crictl shows 13 digits). */
#define IMAGE_ID_PREFIX_MIN 4

/*
 * The image ID `ref` names: an ID ("sha256:<hex>" or the 64 hex digits), a name in any form
 * (normalized, e.g. "busybox" = "docker.io/library/busybox:latest"), name@digest, or — when it
 * names no image — a unique ID prefix of at least IMAGE_ID_PREFIX_MIN hex digits, with or
 * without "sha256:".  Not found: -1 with errnum ENOENT; an ambiguous prefix: EINVAL.
 */
int images_resolve(struct images *im, const char *ref, char id[DIGEST_BUF], struct lc_err *err);

/*
 * Remove the image `ref` names (with all its names) and collect garbage.  *removed = 0 when
 * there was no such image (not an error: RemoveImage is idempotent).
 */
int images_remove(struct images *im, const char *ref, int *removed, struct lc_err *err);

/* Collect garbage now if no pull or import is running, else when the last one ends. */
int images_gc(struct images *im, struct lc_err *err);

/*
 * Import every image of an OCI image layout (directory or tar) or a `docker save` tarball at
 * `path`, with the names it carries.  on_image (may be NULL) is called for each image imported.
 */
int images_import(struct images *im, const char *path,
		  void (*on_image)(const char *id, const char *name, void *arg), void *arg, struct lc_err *err);

#endif
