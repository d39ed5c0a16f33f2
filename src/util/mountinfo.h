/*
 * mountinfo.h — this process' mount table (/proc/self/mountinfo), read with libmount: which mount
 * holds a path, and its propagation.  The one reader of that file.
 */
#ifndef LITECRI_UTIL_MOUNTINFO_H
#define LITECRI_UTIL_MOUNTINFO_H

#include "util/err.h"

/* The mount holding a path. */
struct mount_of {
	int is_root; /* the path is its mount point */
	int shared;  /* in a peer group ("shared:N"): mounts propagate both ways */
	int slave;   /* has a master ("master:N"): mounts propagate from it */
};

/*
 * The mount holding `path`, an existing canonical path (realpath): of the mounts on the longest
 * mount point at or above it, the one mounted last (the one in view).  -1 with errnum ENOENT when
 * none does (path does not exist), or the class of the failure to read the table.
 */
int mountinfo_find(const char *path, struct mount_of *out, struct lc_err *err);

/*
 * Call fn with the mount point of every mount strictly below dir (a canonical path), in the
 * table's order (a mount before the ones on top of it).  -1 with the class of the failure to read
 * the table.
 */
int mountinfo_under(const char *dir, void (*fn)(void *arg, const char *target), void *arg, struct lc_err *err);

#endif
