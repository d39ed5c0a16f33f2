/* content.c — see content.h. */
#include "image/content.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"

/* Remove every entry of dir (the directory itself stays). */
static int empty_dir(const char *dir, struct lc_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return lc_fail(err, errno, "open %s", dir);
	struct dirent *e;
	int rc = 0, n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) {
			rc = lc_fail(err, ENAMETOOLONG, "%s/%s", dir, e->d_name);
			break;
		}
		if (rmtree(p, err) < 0) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		log_info("content: removed %d leftover(s) of interrupted pulls in %s", n, dir);
	return rc;
}

int content_open(struct content *c, const char *images_dir, struct lc_err *err)
{
	if (strlen(images_dir) >= sizeof c->dir)
		return lc_fail(err, ENAMETOOLONG, "image directory %s", images_dir);
	strcpy(c->dir, images_dir);
	char p[PATH_MAX];
	static const char *const subdirs[] = { "blobs/sha256", "layers", "tmp" };
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", c->dir, subdirs[i]);
		if (mkdir_p(p, 0700, err) < 0)
			return -1;
	}
	snprintf(p, sizeof p, "%s/tmp", c->dir);
	return empty_dir(p, err);
}

int content_blob_path(const struct content *c, const char *digest, char *out, size_t n, struct lc_err *err)
{
	if (digest_check(digest, "blob digest", err) < 0)
		return -1;
	if (snprintf(out, n, "%s/blobs/sha256/%s", c->dir, digest_hex(digest)) >= (int)n)
		return lc_fail(err, ENAMETOOLONG, "blob path for %s", digest);
	return 0;
}

int content_layer_path(const struct content *c, const char *chain_id, char *out, size_t n, struct lc_err *err)
{
	if (digest_check(chain_id, "layer chain ID", err) < 0)
		return -1;
	if (snprintf(out, n, "%s/layers/%s", c->dir, digest_hex(chain_id)) >= (int)n)
		return lc_fail(err, ENAMETOOLONG, "layer path for %s", chain_id);
	return 0;
}

int content_has_blob(const struct content *c, const char *digest)
{
	char p[PATH_MAX];
	struct lc_err e;
	struct stat st;
	return content_blob_path(c, digest, p, sizeof p, &e) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int content_has_layer(const struct content *c, const char *chain_id)
{
	char p[PATH_MAX];
	struct lc_err e;
	struct stat st;
	return content_layer_path(c, chain_id, p, sizeof p, &e) == 0 && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int content_writer_open(const struct content *c, const char *expected_digest, int64_t expected_size,
			struct content_writer *w, struct lc_err *err)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	if (digest_check(expected_digest, "blob digest", err) < 0)
		return -1;
	strcpy(w->expected, expected_digest);
	w->expected_size = expected_size;
	w->c = c;
	snprintf(w->tmp, sizeof w->tmp, "%s/tmp/blob-%.12s-XXXXXX", c->dir, digest_hex(expected_digest));
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0)
		return lc_fail(err, errno, "create temporary file for blob %s in %s/tmp", expected_digest, c->dir);
	w->d = digester_new();
	if (!w->d) {
		content_writer_abort(w);
		return lc_fail(err, ENOMEM, "blob %s", expected_digest);
	}
	return 0;
}

int content_writer_write(struct content_writer *w, const void *buf, size_t len, struct lc_err *err)
{
	assert(w->fd >= 0);
	if (w->expected_size >= 0 && w->written + (int64_t)len > w->expected_size)
		return lc_fail(err, EBADMSG, "blob %s is larger than its declared size %lld", w->expected,
			       (long long)w->expected_size);
	const char *p = buf;
	size_t left = len;
	while (left) {
		ssize_t n = write(w->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lc_fail(err, errno, "write blob %s to %s", w->expected, w->tmp);
		}
		p += n;
		left -= (size_t)n;
	}
	digester_update(w->d, buf, len);
	w->written += (int64_t)len;
	return 0;
}

int content_writer_commit(struct content_writer *w, struct lc_err *err)
{
	assert(w->fd >= 0);
	char got[DIGEST_BUF];
	digester_final(w->d, got);
	if (strcmp(got, w->expected) != 0) {
		lc_fail(err, EBADMSG, "blob %s: the %lld bytes received hash to %s", w->expected, (long long)w->written, got);
		content_writer_abort(w);
		return -1;
	}
	if (w->expected_size >= 0 && w->written != w->expected_size) {
		lc_fail(err, EBADMSG, "blob %s: %lld bytes received, %lld declared", w->expected, (long long)w->written,
			(long long)w->expected_size);
		content_writer_abort(w);
		return -1;
	}
	char dst[PATH_MAX], dir[PATH_MAX];
	if (fsync(w->fd) < 0 || fchmod(w->fd, 0600) < 0) {
		lc_fail(err, errno, "fsync %s", w->tmp);
		content_writer_abort(w);
		return -1;
	}
	close(w->fd);
	w->fd = -1;
	if (content_blob_path(w->c, w->expected, dst, sizeof dst, err) < 0) {
		content_writer_abort(w);
		return -1;
	}
	if (rename(w->tmp, dst) < 0) {
		lc_fail(err, errno, "rename %s to %s", w->tmp, dst);
		content_writer_abort(w);
		return -1;
	}
	w->tmp[0] = 0;
	digester_free(w->d);
	w->d = NULL;
	snprintf(dir, sizeof dir, "%s/blobs/sha256", w->c->dir);
	return fsync_dir(dir, err);
}

void content_writer_abort(struct content_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp[0])
		unlink(w->tmp);
	w->tmp[0] = 0;
	digester_free(w->d);
	w->d = NULL;
}

int content_put(const struct content *c, const char *expected_digest, const void *buf, size_t len,
		struct lc_err *err)
{
	if (content_has_blob(c, expected_digest))
		return 0;
	struct content_writer w;
	if (content_writer_open(c, expected_digest, (int64_t)len, &w, err) < 0)
		return -1;
	if (content_writer_write(&w, buf, len, err) < 0) {
		content_writer_abort(&w);
		return -1;
	}
	return content_writer_commit(&w, err);
}

int content_read_file(const char *path, const char *digest, size_t max, char **buf, size_t *len,
		      struct lc_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "blob %s (%s)", digest, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lc_fail(err, errno, "stat %s", path);
	if ((size_t)st.st_size > max)
		return lc_fail(err, EFBIG, "blob %s is %lld bytes, more than %zu", digest, (long long)st.st_size, max);
	cleanup_free char *b = malloc((size_t)st.st_size + 1);
	if (!b)
		return lc_fail(err, ENOMEM, "blob %s", digest);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return lc_fail(err, n < 0 ? errno : EIO, "read %s", path);
		got += (size_t)n;
	}
	b[got] = 0;
	char d[DIGEST_BUF];
	digest_buffer(b, got, d);
	if (strcmp(d, digest) != 0)
		return lc_fail(err, EBADMSG, "blob %s (%s) is corrupt: its bytes hash to %s", digest, path, d);
	*len = got;
	*buf = b;
	b = NULL;
	return 0;
}

int content_read(const struct content *c, const char *digest, size_t max, char **buf, size_t *len,
		 struct lc_err *err)
{
	char p[PATH_MAX];
	if (content_blob_path(c, digest, p, sizeof p, err) < 0)
		return -1;
	return content_read_file(p, digest, max, buf, len, err);
}

int content_tmpdir(const struct content *c, const char *prefix, char *out, size_t n, struct lc_err *err)
{
	if (snprintf(out, n, "%s/tmp/%sXXXXXX", c->dir, prefix) >= (int)n)
		return lc_fail(err, ENAMETOOLONG, "temporary directory in %s/tmp", c->dir);
	if (!mkdtemp(out))
		return lc_fail(err, errno, "create temporary directory in %s/tmp", c->dir);
	return 0;
}

/* fsync every directory and regular file below root (before a layer becomes visible). */
static int sync_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F && type != FTW_D && type != FTW_DP)
		return 0;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int content_publish_layer(const struct content *c, const char *tmpdir, const char *chain_id, struct lc_err *err)
{
	char dst[PATH_MAX], dir[PATH_MAX];
	if (content_layer_path(c, chain_id, dst, sizeof dst, err) < 0)
		return -1;
	if (nftw(tmpdir, sync_entry, 16, FTW_PHYS | FTW_MOUNT) != 0)
		return lc_fail(err, errno, "fsync unpacked layer %s in %s", chain_id, tmpdir);
	if (rename(tmpdir, dst) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST) {
			/* Another pull published the same layer first: keep theirs. */
			log_debug("content: layer %s already present; discarding %s", chain_id, tmpdir);
			return rmtree(tmpdir, err);
		}
		return lc_fail(err, errno, "rename %s to %s", tmpdir, dst);
	}
	snprintf(dir, sizeof dir, "%s/layers", c->dir);
	return fsync_dir(dir, err);
}

int content_remove_blob(const struct content *c, const char *digest, struct lc_err *err)
{
	char p[PATH_MAX];
	if (content_blob_path(c, digest, p, sizeof p, err) < 0)
		return -1;
	if (unlink(p) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove blob %s", p);
	return 0;
}

int content_remove_layer(const struct content *c, const char *chain_id, struct lc_err *err)
{
	char p[PATH_MAX], tmp[PATH_MAX];
	if (content_layer_path(c, chain_id, p, sizeof p, err) < 0)
		return -1;
	if (snprintf(tmp, sizeof tmp, "%s/tmp/del-%s", c->dir, digest_hex(chain_id)) >= (int)sizeof tmp)
		return lc_fail(err, ENAMETOOLONG, "%s", chain_id);
	if (rmtree(tmp, err) < 0) /* a previous removal of the same layer that died */
		return -1;
	if (rename(p, tmp) < 0)
		return errno == ENOENT ? 0 : lc_fail(err, errno, "rename %s to %s", p, tmp);
	return rmtree(tmp, err);
}

/* Call fn(digest, arg) for each name in dir that, with prefix, forms a valid digest. */
static int each_entry(const char *dir, int (*fn)(const char *, void *), void *arg, struct lc_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return lc_fail(err, errno, "open %s", dir);
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		char dg[DIGEST_BUF + 8];
		if (snprintf(dg, sizeof dg, DIGEST_PREFIX "%s", e->d_name) >= (int)sizeof dg || !digest_valid(dg))
			continue; /* ".", "..", or something that is not ours */
		if ((rc = fn(dg, arg)) < 0) {
			lc_fail(err, 0, "%s: stopped at %s", dir, dg);
			break;
		}
	}
	closedir(d);
	return rc < 0 ? -1 : 0;
}

int content_each_blob(const struct content *c, int (*fn)(const char *digest, void *arg), void *arg,
		      struct lc_err *err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/blobs/sha256", c->dir);
	return each_entry(p, fn, arg, err);
}

int content_each_layer(const struct content *c, int (*fn)(const char *chain_id, void *arg), void *arg,
		       struct lc_err *err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/layers", c->dir);
	return each_entry(p, fn, arg, err);
}
