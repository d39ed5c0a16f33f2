/* pause.c — see pause.h. */
#include "runtime/pause.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"

#define PAUSE_MAX (64 << 20) /* a static binary of a few hundred KiB: anything this large is not it */

/* The whole of file path (at most PAUSE_MAX bytes) into *data (malloc'ed), *len bytes. */
static int read_all(const char *path, char **data, size_t *len, struct lc_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return lc_fail(err, errno, "pause program %s (see --pause)", path);
	if (!S_ISREG(st.st_mode) || st.st_size > PAUSE_MAX)
		return lc_failc(err, EINVAL, "pause program %s is not a regular file of at most %d bytes", path,
				PAUSE_MAX);
	cleanup_free char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return lc_fail(err, ENOMEM, "pause program %s", path);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lc_fail(err, errno, "read %s", path);
		if (n == 0)
			break;
		if ((got += (size_t)n) > (size_t)st.st_size)
			return lc_failc(err, EIO, "pause program %s grew while it was read", path);
	}
	*data = buf;
	buf = NULL;
	*len = got;
	return 0;
}

int pause_install(const char *program, const char *rootfs, struct lc_err *err)
{
	char src[PATH_MAX];
	if (program && program[0]) {
		if (snprintf(src, sizeof src, "%s", program) >= (int)sizeof src)
			return lc_fail(err, ENAMETOOLONG, "pause program path");
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0)
			return lc_fail(err, errno, "readlink /proc/self/exe");
		self[n] = '\0';
		if (snprintf(src, sizeof src, "%s/litecri-pause", dirname(self)) >= (int)sizeof src)
			return lc_fail(err, ENAMETOOLONG, "pause program path");
		if (access(src, F_OK) < 0) /* not a build tree: the installed one */
			snprintf(src, sizeof src, "%s", LITECRI_PAUSE_PATH);
	}
	static const char *const dirs[] = { "", "/proc", "/dev", "/sys", "/etc" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char d[PATH_MAX + 8];
		if (snprintf(d, sizeof d, "%s%s", rootfs, dirs[i]) >= (int)sizeof d)
			return lc_fail(err, ENAMETOOLONG, "pause rootfs %s", rootfs);
		if (mkdir_p(d, 0755, err) < 0)
			return -1;
	}
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (read_all(src, &data, &len, err) < 0 || write_file_atomic(rootfs, "pause", data, len, 0755, 0, err) < 0)
		return -1;
	log_info("pause program %s installed in %s", src, rootfs);
	return 0;
}
