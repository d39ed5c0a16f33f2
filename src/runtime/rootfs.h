/*
 * rootfs.h — a container's root filesystem: an overlayfs of the image's unpacked layers with a
 * per-container writable upper directory.
 */
#ifndef LITECRI_RUNTIME_ROOTFS_H
#define LITECRI_RUNTIME_ROOTFS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * Mount at `target` (created) an overlay of `lower` (n directories, lowest layer FIRST, as images
 * list them; n == 0: an empty lower directory "<rw_dir>/empty") with upper and work directories
 * "<rw_dir>/upper" and "<rw_dir>/work" (created).  Already a mount point: fine (idempotent, not
 * checked to be the same overlay).  Too many layers for one mount option string (one page):
 * ENAMETOOLONG.  Paths must be absolute and free of ',', ':' and backslashes (overlay's option
 * syntax): EINVAL.
 */
int rootfs_mount(const char *const *lower, size_t n, const char *rw_dir, const char *target, struct lc_err *err);

/* Unmount target if mounted (lazily, MNT_DETACH, when busy; a symlink is not followed); not mounted
 * or missing is fine. */
int rootfs_unmount(const char *target, struct lc_err *err);

/* 1 if path is a mount point (statx STATX_ATTR_MOUNT_ROOT, else /proc/self/mountinfo), 0 if not
 * (or missing). */
int rootfs_is_mounted(const char *path);

/*
 * What the container's writes take: the disk space (allocated blocks, as du counts them) and the
 * inodes of "<rw_dir>/upper", the overlay's writable upper directory (rootfs_mount's rw_dir),
 * walked physically (links not followed), without crossing into another file system.  A full walk:
 * its cost grows with what the container wrote; callers cache the result (docs/stats.md).  ENOENT
 * when there is no upper directory (the container is gone).  Files that vanish during the walk
 * are not counted; a hard-linked file is counted once per link.
 */
int rootfs_usage(const char *rw_dir, uint64_t *bytes, uint64_t *inodes, struct lc_err *err);

#endif
