/* mountinfo.c — see mountinfo.h. */
#include "util/mountinfo.h"

#include <errno.h>
#include <libmount.h>
#include <string.h>
#include <sys/mount.h>

int mountinfo_find(const char *path, struct mount_of *out, struct lc_err *err)
{
	struct libmnt_table *tb = mnt_new_table();
	if (!tb)
		return lc_fail(err, ENOMEM, "read /proc/self/mountinfo");
	int rc = mnt_table_parse_file(tb, "/proc/self/mountinfo");
	struct libmnt_fs *fs = rc == 0 ? mnt_table_find_mountpoint(tb, path, MNT_ITER_BACKWARD) : NULL;
	unsigned long prop = 0;
	if (fs) {
		mnt_fs_get_propagation(fs, &prop);
		out->is_root = strcmp(mnt_fs_get_target(fs), path) == 0;
		out->shared = (prop & MS_SHARED) != 0;
		out->slave = (prop & MS_SLAVE) != 0;
	}
	mnt_unref_table(tb);
	if (rc < 0)
		return lc_fail(err, -rc, "read /proc/self/mountinfo");
	return fs ? 0 : lc_failc(err, ENOENT, "no mount holds %s", path);
}

int mountinfo_under(const char *dir, void (*fn)(void *arg, const char *target), void *arg, struct lc_err *err)
{
	struct libmnt_table *tb = mnt_new_table();
	if (!tb)
		return lc_fail(err, ENOMEM, "read /proc/self/mountinfo");
	int rc = mnt_table_parse_file(tb, "/proc/self/mountinfo");
	if (rc < 0) {
		mnt_unref_table(tb);
		return lc_fail(err, -rc, "read /proc/self/mountinfo");
	}
	size_t n = strlen(dir);
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it) {
		mnt_unref_table(tb);
		return lc_fail(err, ENOMEM, "read /proc/self/mountinfo");
	}
	struct libmnt_fs *fs;
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *t = mnt_fs_get_target(fs);
		if (t && strncmp(t, dir, n) == 0 && t[n] == '/')
			fn(arg, t);
	}
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return 0;
}
