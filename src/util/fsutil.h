/*
 * fsutil.h — filesystem helpers: directories, atomic files, lock files, executables, unix socket
 * paths.  Each that can fail returns 0 on success or -1 with *err filled (naming the path).
 */
#ifndef LITECRI_UTIL_FSUTIL_H
#define LITECRI_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Create dir and its missing parents with `mode` (existing ones are left as they are). */
int mkdir_p(const char *dir, mode_t mode, struct lc_err *err);

/* Create the parent directory of `path` (mode as mkdir_p). */
int mkdir_parent(const char *path, mode_t mode, struct lc_err *err);

/* fsync directory dir, so that a rename, creation or unlink in it survives a crash. */
int fsync_dir(const char *dir, struct lc_err *err);

/*
 * Replace <dir>/<name> with len bytes of data, file mode `mode`, atomically: written to a
 * temporary file in dir, fsynced, renamed over the old one, dir fsynced (sync_dir = 1; 0 when the
 * caller writes several files and syncs dir once).  A reader sees the old file or the new one,
 * never a part; a crash leaves at most a ".<name>.XXXXXX" beside it.  Nothing is left on failure.
 */
int write_file_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode, int sync_dir,
		      struct lc_err *err);

/*
 * Open (creating 0600) `path` and take an exclusive, non-blocking flock on it.
 * On success *fd holds the lock until closed.  If another process holds it: -1 with
 * err->errnum = EWOULDBLOCK and a message naming `what` (e.g. "state directory /run/litecri").
 */
int lock_file(const char *path, const char *what, int *fd, struct lc_err *err);

/*
 * Resolve an OCI runtime name or path to an executable file.  A name without '/' is searched in
 * $PATH.  On success the absolute path is written to out (size outlen).
 */
int find_executable(const char *name, char *out, size_t outlen, struct lc_err *err);

/*
 * Make `path` available for a new unix socket listener:
 *   - missing: fine;
 *   - a socket nobody accepts on (left by a crash): removed;
 *   - a socket something accepts on: refused ("already serving");
 *   - anything else (regular file, directory): refused, never deleted.
 */
int unix_socket_claim(const char *path, struct lc_err *err);

/*
 * Up to cap - 1 bytes (cap > 0) of the file <dir>/<name> into buf, NUL-terminated: their number,
 * or -1 with errno set (ENOENT: no such file; ENAMETOOLONG: the path does not fit PATH_MAX).  One
 * read(2): meant for small kernel files (cgroup, /proc) that are read whole at once.
 */
ssize_t read_small(const char *dir, const char *name, char *buf, size_t cap);

/*
 * Remove path and everything below it: a physical walk (symlinks are removed, never followed),
 * depth first, never crossing into another filesystem (a mount point below path makes it fail with
 * EBUSY instead of emptying what is mounted there).  Missing is fine.
 */
int rmtree(const char *path, struct lc_err *err);

#endif
