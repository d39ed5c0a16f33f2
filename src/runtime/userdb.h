/*
 * userdb.h — resolve a user as an image names it ("name", "uid", "uid:gid", "name:group",
 * "uid:group", "") through the container rootfs' /etc/passwd and /etc/group, read as the container
 * would see them: symlinks (absolute or with "..") resolve inside the rootfs, never out of it
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).  On kernels without openat2 any symlink on the
 * way is refused (ELOOP) instead.  Only regular files of at most 4 MiB are read (a device, FIFO or
 * directory there is EINVAL, without blocking); a missing file counts as empty.  Thread-safe.
 */
#ifndef LITECRI_RUNTIME_USERDB_H
#define LITECRI_RUNTIME_USERDB_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

struct userdb_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;   /* supplementary groups the user is a member of in /etc/group (malloc'ed) */
	size_t n_groups;
	char home[256];  /* from /etc/passwd, "/" when unknown */
};

/*
 * "" → root (0:0).  A numeric uid not in /etc/passwd is fine (gid 0 unless given).  A name not in
 * /etc/passwd (or a group name not in /etc/group): -1 with errnum ENOENT naming it; "name:" is
 * EINVAL.  The gid is the passwd entry's unless a group is given; groups are the /etc/group entries
 * listing the user's passwd name as a member, but the primary gid.  *out is zeroed first; free it
 * with userdb_user_free after success (nothing to free after failure).
 */
int userdb_resolve(const char *rootfs, const char *user, struct userdb_user *out, struct lc_err *err);
void userdb_user_free(struct userdb_user *u);

#endif
