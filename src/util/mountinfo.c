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
