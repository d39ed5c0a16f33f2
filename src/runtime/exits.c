/*
 * exits.c — see exits.h.
 *
 * conmon writes an exit file to "<id>.XXXXXX" and renames it to "<id>" (g_file_set_contents), so
 * IN_MOVED_TO sees it complete; IN_CLOSE_WRITE covers writers that write in place.  A file that is
 * empty or unparsable when an event comes is skipped: the next event for it reads it again.
 */
#include "runtime/exits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"

struct exits {
	char *dir;
	int ifd; /* inotify on dir */
	int efd; /* eventfd: exits_stop wakes the thread */
	exits_cb cb;
	void *arg;
	pthread_t thread;
};

int exit_file_read(const char *dir, const char *id, int *exit_code, int64_t *finished_at, struct lc_err *err)
{
	if (!id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "exit file name %s is not a container ID", id);
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, id) >= (int)sizeof path)
		return lc_fail(err, ENAMETOOLONG, "exit file in %s", dir);
	return exit_path_read(path, exit_code, finished_at, err);
}

int exit_path_read(const char *path, int *exit_code, int64_t *finished_at, struct lc_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return lc_fail(err, errno, "exit file %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lc_fail(err, errno, "stat exit file %s", path);
	if (!S_ISREG(st.st_mode))
		return lc_fail(err, EINVAL, "exit file %s is not a regular file", path);
	char buf[32];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lc_fail(err, errno, "read exit file %s", path);
		if (n == 0 || (len += (size_t)n) == sizeof buf - 1)
			break;
	}
	buf[len] = '\0';
	if (len == 0)
		return lc_fail(err, ENODATA, "exit file %s is empty", path);
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return lc_fail(err, EINVAL, "exit file %s holds \"%.20s\", not an exit code", path, buf);
	*exit_code = (int)v;
	*finished_at = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

int exit_file_remove(const char *dir, const char *id, struct lc_err *err)
{
	if (!id_is_hex(id, ID_HEX_LEN, ID_HEX_LEN))
		return lc_fail(err, EINVAL, "exit file name %s is not a container ID", id);
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, id) >= (int)sizeof path)
		return lc_fail(err, ENAMETOOLONG, "exit file in %s", dir);
	if (unlink(path) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove exit file %s", path);
	return 0;
}

/* Read name and call back; quiet about files gone or not complete yet (unless scanning). */
static void report(struct exits *x, const char *name, int scanning)
{
	if (!id_is_hex(name, ID_HEX_LEN, ID_HEX_LEN))
		return;
	struct lc_err err;
	int code;
	int64_t at;
	if (exit_file_read(x->dir, name, &code, &at, &err) < 0) {
		if (err.errnum == ENOENT)
			return;
		if (scanning)
			log_warn("%s", err.msg);
		else
			log_debug("%s (waiting for the next write)", err.msg);
		return;
	}
	log_debug("container %s exited with code %d", name, code);
	x->cb(name, x->arg);
}

static void scan(struct exits *x)
{
	DIR *d = opendir(x->dir);
	if (!d) {
		log_error("read exit directory %s: %s", x->dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		report(x, e->d_name, 1);
	closedir(d);
}

static void *run(void *p)
{
	struct exits *x = p;
	scan(x);
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		struct pollfd pf[2] = { { .fd = x->efd, .events = POLLIN }, { .fd = x->ifd, .events = POLLIN } };
		int n = poll(pf, 2, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("watch exit directory %s: poll: %s; no more exits are seen", x->dir, strerror(errno));
			return NULL;
		}
		if (pf[0].revents)
			return NULL;
		if (!pf[1].revents)
			continue;
		ssize_t len = read(x->ifd, buf, sizeof buf);
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("watch exit directory %s: read: %s; no more exits are seen", x->dir, strerror(errno));
			return NULL;
		}
		int rescan = 0;
		for (char *q = buf; q < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;
			q += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW)
				rescan = 1;
			else if (ev->mask & IN_IGNORED)
				log_error("exit directory %s was removed; no more exits are seen", x->dir);
			else if (ev->len)
				report(x, ev->name, 0);
		}
		if (rescan) {
			log_warn("exit directory %s: inotify queue overflow, rescanning", x->dir);
			scan(x);
		}
	}
}

int exits_start(const char *dir, exits_cb cb, void *arg, struct exits **out, struct lc_err *err)
{
	*out = NULL;
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	struct exits *x = calloc(1, sizeof *x);
	if (!x || !(x->dir = strdup(dir))) {
		free(x);
		return lc_fail(err, ENOMEM, "exit watcher for %s", dir);
	}
	x->cb = cb;
	x->arg = arg;
	x->efd = -1;
	x->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (x->ifd < 0) {
		lc_fail(err, errno, "inotify for exit directory %s", dir);
		goto fail;
	}
	/* Watch before the scan: an exit between the two is reported twice rather than never. */
	if (inotify_add_watch(x->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
		lc_fail(err, errno, "watch exit directory %s", dir);
		goto fail;
	}
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->efd < 0) {
		lc_fail(err, errno, "eventfd for exit directory %s", dir);
		goto fail;
	}
	int e = pthread_create(&x->thread, NULL, run, x);
	if (e != 0) {
		lc_fail(err, e, "start the exit watcher of %s", dir);
		goto fail;
	}
	*out = x;
	return 0;
fail:
	if (x->ifd >= 0)
		close(x->ifd);
	if (x->efd >= 0)
		close(x->efd);
	free(x->dir);
	free(x);
	return -1;
}

void exits_stop(struct exits *x)
{
	if (!x)
		return;
	uint64_t one = 1;
	ssize_t n;
	do
		n = write(x->efd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof one)
		log_error("wake the exit watcher of %s: %s", x->dir, strerror(errno)); /* cannot happen: fresh eventfd */
	pthread_join(x->thread, NULL);
	close(x->ifd);
	close(x->efd);
	free(x->dir);
	free(x);
}
