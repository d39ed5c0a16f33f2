/* fsutil.c — see fsutil.h. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

int mkdir_p(const char *dir, mode_t mode, struct lc_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof buf)
		return lc_fail(err, ENAMETOOLONG, "mkdir %s", dir);
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return lc_fail(err, errno, "mkdir %s", buf);
			*p = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return lc_fail(err, errno, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		return lc_fail(err, ENOTDIR, "%s", dir);
	return 0;
}

int mkdir_parent(const char *path, mode_t mode, struct lc_err *err)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return lc_fail(err, ENAMETOOLONG, "%s", path);
	strcpy(buf, path);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	return mkdir_p(buf, mode, err);
}

int lock_file(const char *path, const char *what, int *fd, struct lc_err *err)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return lc_fail(err, errno, "open lock file %s", path);
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(f);
		if (e == EWOULDBLOCK) {
			lc_fail(err, 0, "%s is in use by another litecri (lock %s is held)", what, path);
			err->errnum = EWOULDBLOCK;
			return -1;
		}
		return lc_fail(err, e, "lock %s", path);
	}
	*fd = f;
	return 0;
}

static int is_executable(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int find_executable(const char *name, char *out, size_t outlen, struct lc_err *err)
{
	if (!name || !*name)
		return lc_fail(err, EINVAL, "empty executable name");
	if (strchr(name, '/')) {
		char real[PATH_MAX];
		if (!realpath(name, real))
			return lc_fail(err, errno, "%s", name);
		if (!is_executable(real))
			return lc_fail(err, EACCES, "%s is not an executable file", name);
		if (strlen(real) >= outlen)
			return lc_fail(err, ENAMETOOLONG, "%s", real);
		strcpy(out, real);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	cleanup_free char *copy = strdup(path);
	if (!copy)
		return lc_fail(err, ENOMEM, "find %s", name);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		if (snprintf(cand, sizeof cand, "%s/%s", dir, name) >= (int)sizeof cand)
			continue;
		if (is_executable(cand)) {
			if (strlen(cand) >= outlen)
				return lc_fail(err, ENAMETOOLONG, "%s", cand);
			strcpy(out, cand);
			return 0;
		}
	}
	return lc_fail(err, ENOENT, "%s not found in PATH", name);
}

int unix_socket_claim(const char *path, struct lc_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return lc_fail(err, errno, "stat socket path %s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return lc_fail(err, EEXIST, "socket path %s exists and is not a socket; not removing it", path);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return lc_fail(err, ENAMETOOLONG, "socket path %s", path);
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lc_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return lc_fail(err, 0, "another server is already listening on %s", path);
	if (errno != ECONNREFUSED)
		return lc_fail(err, errno, "probe socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove stale socket %s", path);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT) {
		log_warn("cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Remove path and everything below it.  Physical walk (symlinks are removed, never followed),
 * depth first, staying on path's filesystem.  Missing is fine.
 */
int rmtree(const char *path, struct lc_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : lc_fail(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return lc_fail(err, errno, "remove %s", path);
		return 0;
	}
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return lc_fail(err, errno, "remove directory tree %s", path);
	return 0;
}

int fsync_dir(const char *dir, struct lc_err *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "open %s", dir);
	if (fsync(fd) < 0)
		return lc_fail(err, errno, "fsync %s", dir);
	return 0;
}

int write_file_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode, int sync_dir,
		      struct lc_err *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int n1 = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
	int n2 = snprintf(dst, sizeof dst, "%s/%s", dir, name);
	if (n1 < 0 || (size_t)n1 >= sizeof tmp || n2 < 0 || (size_t)n2 >= sizeof dst)
		return lc_fail(err, ENAMETOOLONG, "%s/%s", dir, name);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "create a temporary file for %s", dst);
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lc_fail(err, errno, "write %s", tmp);
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0) {
		lc_fail(err, errno, "chmod %s", tmp);
		goto fail;
	}
	if (fsync(fd) < 0) {
		lc_fail(err, errno, "fsync %s", tmp);
		goto fail;
	}
	int rc = close(fd);
	fd = -1;
	if (rc < 0) {
		lc_fail(err, errno, "close %s", tmp);
		goto fail;
	}
	if (rename(tmp, dst) < 0) {
		lc_fail(err, errno, "rename %s to %s", tmp, dst);
		goto fail;
	}
	return sync_dir ? fsync_dir(dir, err) : 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

ssize_t read_small(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	errno = e;
	buf[n > 0 ? n : 0] = '\0';
	return n;
}
