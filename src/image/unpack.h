/*
 * unpack.h — apply one image layer archive to an empty directory, in overlayfs form.
 *
 * The archive is a tar stream, uncompressed, gzip or zstd (detected from the bytes, not trusted
 * from the media type).  Entries are written with their owners, modes, times, xattrs, hard links
 * and symlinks.  OCI/Docker whiteouts become what overlayfs understands:
 *   <dir>/.wh.<name>      → <dir>/<name> as a character device 0/0 (the whiteout file is not kept)
 *   <dir>/.wh..wh..opq    → xattr trusted.overlay.opaque=y on <dir> (the marker is not kept)
 * Entries that would land outside the target directory are refused and fail the whole unpack:
 * absolute or ".." paths, paths through a symlink extracted earlier, hard links whose target
 * is outside the layer.  Symlinks themselves may point anywhere (they are resolved inside the
 * container), but are never followed while extracting.  Absolute entry names are taken relative
 * to the layer ("/etc/x" is <dir>/etc/x); the root entry ("./") leaves <dir> as it is; xattrs in
 * trusted.overlay.* from the archive are dropped (overlayfs metadata comes only from whiteouts).
 * The diff_id is not checked here: libarchive does not verify gzip CRCs, so the caller compares
 * it with the image config's rootfs.diff_ids.
 */
#ifndef LITECRI_IMAGE_UNPACK_H
#define LITECRI_IMAGE_UNPACK_H

#include <stdint.h>

#include "image/digest.h"
#include "util/err.h"

struct unpack_result {
	char diff_id[DIGEST_BUF]; /* sha256 of the uncompressed tar stream */
	uint64_t bytes;           /* sum of regular file sizes written */
	uint64_t inodes;          /* entries created (files, dirs, links, devices, whiteouts) */
};

/*
 * Unpack the layer archive at `archive_path` into `dir` (an existing empty directory; the caller
 * renames it into place afterwards).  Thread-safe: never changes the process's cwd or umask.
 * On failure the directory is left half-filled for the caller to remove; err names the entry.
 * A malformed archive or an escaping entry fails with errnum EINVAL.
 */
int layer_unpack(const char *archive_path, const char *dir, struct unpack_result *res, struct lc_err *err);

#endif
