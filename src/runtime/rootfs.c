/* rootfs.c — see rootfs.h. */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mountinfo.h"

/* A path usable inside overlayfs' option string: absolute, none of its separators ',' ':' and no
 * backslash (its escape character). */
static int check_option_path(const char *what, const char *p, struct lc_err *err)
{
	if (!p || p[0] != '/')
		return lc_fail(err, EINVAL, "%s \"%s\" is not an absolute path", what, p ? p : "");
	if (strpbrk(p, ",:\\"))
		return lc_fail(err, EINVAL, "%s %s contains ',', ':' or '\\', which overlay options cannot hold",
			       what, p);
	return 0;
}

/* Append s to buf (capacity cap, length *len); 0, or -1 when it does not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > cap)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

int rootfs_mount(const char *const *lower, size_t n, const char *rw_dir, const char *target, struct lc_err *err)
{
	if (check_option_path("rootfs rw directory", rw_dir, err) < 0 ||
	    check_option_path("rootfs target", target, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (check_option_path("image layer", lower[i], err) < 0)
			return -1;

	char upper[PATH_MAX], work[PATH_MAX], empty[PATH_MAX];
	if (snprintf(upper, sizeof upper, "%s/upper", rw_dir) >= (int)sizeof upper ||
	    snprintf(work, sizeof work, "%s/work", rw_dir) >= (int)sizeof work ||
	    snprintf(empty, sizeof empty, "%s/empty", rw_dir) >= (int)sizeof empty)
		return lc_fail(err, ENAMETOOLONG, "rootfs rw directory %s", rw_dir);
	if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0700, err) < 0 || mkdir_p(target, 0755, err) < 0)
		return -1;
	if (n == 0 && mkdir_p(empty, 0755, err) < 0)
		return -1;

	if (rootfs_is_mounted(target)) {
		log_debug("rootfs %s is already mounted", target);
		return 0;
	}

	/* The kernel copies at most one page of mount data. */
	long page = sysconf(_SC_PAGESIZE);
	size_t cap = page > 0 ? (size_t)page : 4096;
	cleanup_free char *opts = malloc(cap);
	if (!opts)
		return lc_fail(err, ENOMEM, "mount rootfs %s", target);
	size_t len = 0;
	opts[0] = '\0';
	int fits = append(opts, cap, &len, "lowerdir=") == 0;
	if (n == 0) {
		fits = fits && append(opts, cap, &len, empty) == 0;
	} else {
		/* overlayfs stacks lowerdir left (top) to right (bottom); images list bottom first. */
		for (size_t i = n; fits && i-- > 0;) {
			fits = append(opts, cap, &len, lower[i]) == 0 &&
			       (i == 0 || append(opts, cap, &len, ":") == 0);
		}
	}
	fits = fits && append(opts, cap, &len, ",upperdir=") == 0 && append(opts, cap, &len, upper) == 0 &&
	       append(opts, cap, &len, ",workdir=") == 0 && append(opts, cap, &len, work) == 0;
	if (!fits)
		return lc_fail(err, ENAMETOOLONG, "rootfs %s: the overlay options for %zu layers exceed %zu bytes",
			       target, n, cap - 1);

	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return lc_fail(err, errno, "mount overlay of %zu layers at %s", n, target);
	log_debug("rootfs %s mounted (%zu layers, upper %s)", target, n, upper);
	return 0;
}

int rootfs_unmount(const char *target, struct lc_err *err)
{
	if (umount2(target, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT) /* not a mount point, or gone */
		return 0;
	if (errno != EBUSY)
		return lc_fail(err, errno, "unmount rootfs %s", target);
	if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return lc_fail(err, errno, "unmount (detach) busy rootfs %s", target);
	log_warn("rootfs %s was busy; detached it lazily", target);
	return 0;
}

int rootfs_is_mounted(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return 0;
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	/* Kernels before 5.8 do not report mount roots. */
	char real[PATH_MAX];
	struct mount_of m;
	struct lc_err ignored;
	return realpath(path, real) && mountinfo_find(real, &m, &ignored) == 0 && m.is_root;
}

int rootfs_usage(const char *rw_dir, uint64_t *bytes, uint64_t *inodes, struct lc_err *err)
{
	char upper[PATH_MAX];
	*bytes = *inodes = 0;
	if (snprintf(upper, sizeof upper, "%s/upper", rw_dir) >= (int)sizeof upper)
		return lc_fail(err, ENAMETOOLONG, "rootfs rw directory %s", rw_dir);
	struct stat st;
	if (lstat(upper, &st) < 0)
		return lc_fail(err, errno, "%s", upper);
	char *const roots[] = { upper, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return lc_fail(err, errno, "walk %s", upper);
	FTSENT *e;
	while ((e = fts_read(fts))) {
		switch (e->fts_info) {
		case FTS_DP: /* a directory again, after its entries: counted before them */
		case FTS_DNR: /* an unreadable directory, or one that vanished: counted before */
		case FTS_NS:  /* vanished between readdir and stat */
		case FTS_ERR:
			continue;
		default:
			*bytes += (uint64_t)e->fts_statp->st_blocks * 512;
			(*inodes)++;
		}
	}
	int e2 = errno;
	fts_close(fts);
	if (e2 && e2 != ENOENT)
		return lc_fail(err, e2, "walk %s", upper);
	return 0;
}
