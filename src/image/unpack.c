/*
 * unpack.c — see unpack.h.
 *
 * Reading: two libarchive readers in a chain.  The outer one detects the compression (gzip, zstd
 * or none) from the bytes and yields the decompressed stream as one "raw" entry; every byte it
 * yields is hashed, which gives the diff_id in the same single pass.  The inner one reads the tar
 * format from the outer one through a read callback.  Only gzip and zstd are registered, not
 * archive_read_support_filter_all(): that one also registers filters (lzop, lrzip, grzip) that
 * fork an external program when libarchive was built without the library, which a daemon must
 * not do on bytes from a registry.
 *
 * Writing: by hand, with *at() system calls relative to directory descriptors, not with
 * archive_write_disk.  libarchive 3.6's archive_write_disk calls umask(0) and umask(old) on every
 * entry — a process-wide race with every other thread that creates files — and chdir()s for
 * paths over PATH_MAX.  Here every parent directory is opened one component at a time from the
 * layer root with O_NOFOLLOW|O_DIRECTORY, so a path through a symlink (or a file) fails instead
 * of being followed, and nothing can be written outside the layer: no realpath, no cwd, no umask
 * (every created object gets its exact mode with fchmod afterwards).
 *
 * Order of metadata per object: data, owner (chown clears setuid bits and security.capability),
 * xattrs, mode, times.  Directory times are set after the last entry (creating children changes
 * them), together with the opaque xattrs of ".wh..wh..opq" markers.
 */
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

#define WH_PREFIX ".wh."          /* OCI whiteout: ".wh.<name>" */
#define WH_META_PREFIX ".wh..wh." /* AUFS metadata; only the opaque marker means something */
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"

#define READ_BLOCK (128 * 1024)

/* Work left for after the last entry, on one directory (a clean relative path, "" = root). */
struct fixup {
	char *dir;
	bool times;                /* set ts (the entry's atime, mtime) */
	struct timespec ts[2];
	bool opaque;               /* set trusted.overlay.opaque=y */
};

struct unpacker {
	const char *archive_path;  /* for messages */
	int rootfd;                /* the target directory */
	struct archive *outer;     /* decompression: the tar stream as one raw entry */
	struct archive *inner;     /* tar, reading from outer through tar_read() */
	struct digester *dg;       /* sha256 of every byte outer yields */
	uint64_t tar_bytes;        /* bytes outer yielded so far */
	char *cache_dir;           /* the parent directory of the previous entry ... */
	int cache_fd;              /* ... and its descriptor (-1: none) */
	struct fixup *fix;
	size_t nfix, capfix;
	bool warned_notsup;        /* logged once that the filesystem refused an xattr namespace */
	struct unpack_result *res;
	struct lc_err *err;
};

/*
 * Fill err with "layer <archive>: entry <entry>: <message>" and errnum; returns -1.  EINVAL is
 * the verdict on the archive itself, so its strerror is not appended.  fmt may be NULL (just
 * the errno's text).
 */
static int efail(struct unpacker *u, int errnum, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int efail(struct unpacker *u, int errnum, const char *entry, const char *fmt, ...)
{
	if (!fmt)
		return lc_fail(u->err, errnum, "layer %s: entry %s", u->archive_path, entry);
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (errnum == EINVAL)
		return lc_failc(u->err, EINVAL, "layer %s: entry %s: %s", u->archive_path, entry, msg);
	return lc_fail(u->err, errnum, "layer %s: entry %s: %s", u->archive_path, entry, msg);
}

/* ------------------------------------------------------------------------------------------ */
/* reading                                                                                    */

/*
 * Next block of the decompressed stream into *buf, *len (valid until the next call), hashed.
 * 1: a block (len > 0); 0: end of stream; -1: a read or decompression error, left in u->outer.
 */
static int outer_next(struct unpacker *u, const void **buf, size_t *len)
{
	for (;;) {
		la_int64_t off;
		int r = archive_read_data_block(u->outer, buf, len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return -1;
		if (off < 0 || (uint64_t)off != u->tar_bytes) {
			/* the raw format has no holes; anything else is a libarchive surprise */
			archive_set_error(u->outer, EINVAL, "decompressed stream not contiguous at %lld",
					  (long long)off);
			return -1;
		}
		if (*len == 0)
			continue;
		digester_update(u->dg, *buf, *len);
		u->tar_bytes += *len;
		return 1;
	}
}

/* libarchive read callback of the inner (tar) reader: the next decompressed block. */
static la_ssize_t tar_read(struct archive *inner, void *data, const void **buf)
{
	struct unpacker *u = data;
	size_t len = 0;
	int r = outer_next(u, buf, &len);
	if (r < 0) {
		const char *msg = archive_error_string(u->outer);
		archive_set_error(inner, archive_errno(u->outer), "%s", msg ? msg : "decompression failed");
		return -1;
	}
	return r == 0 ? 0 : (la_ssize_t)len;
}

/*
 * Fill err from a reading failure of archive a (the tar or the decompression), naming the entry
 * when there is one.  A malformed or truncated archive is EINVAL; an I/O or memory error keeps
 * its errno.  Returns -1.
 */
static int read_fail(struct unpacker *u, struct archive *a, const char *entry)
{
	int e = archive_errno(a);
	int errnum = (e == EIO || e == ENOMEM) ? e : EINVAL;
	const char *msg = archive_error_string(a);
	if (!msg)
		msg = "unreadable archive";
	if (entry)
		return lc_failc(u->err, errnum, "layer %s: entry %s: %s", u->archive_path, entry, msg);
	return lc_failc(u->err, errnum, "layer %s: %s", u->archive_path, msg);
}

/* The entry's path, link target and hard link target, in the locale's charset or else UTF-8. */
static const char *entry_name(struct archive_entry *e)
{
	const char *p = archive_entry_pathname(e);
	return p ? p : archive_entry_pathname_utf8(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
	const char *p = archive_entry_symlink(e);
	return p ? p : archive_entry_symlink_utf8(e);
}

static const char *entry_hardlink(struct archive_entry *e)
{
	const char *p = archive_entry_hardlink(e);
	return p ? p : archive_entry_hardlink_utf8(e);
}

/* ------------------------------------------------------------------------------------------ */
/* names and directories                                                                      */

/*
 * The clean relative form of an archive path: leading "/", empty and "." components dropped,
 * components joined by single "/" ("" is the layer root).  NULL with *escapes set when a
 * component is ".." (refused, not resolved), NULL with *escapes clear on out-of-memory.
 */
static char *clean_name(const char *raw, bool *escapes)
{
	*escapes = false;
	char *out = malloc(strlen(raw) + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = raw;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t l = (size_t)(p - s);
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			free(out);
			*escapes = true;
			return NULL;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, s, l);
		o += l;
	}
	out[o] = '\0';
	return out;
}

/*
 * Split a clean, non-empty name in place into its directory (cut at the last "/"; "" for a
 * top-level name) and its last component.
 */
static void split_name(char *name, const char **dir, char **leaf)
{
	assert(name[0] != '\0');
	char *slash = strrchr(name, '/');
	if (!slash) {
		*dir = "";
		*leaf = name;
		return;
	}
	*slash = '\0';
	*dir = name;
	*leaf = slash + 1;
}

/*
 * Open directory `dir` (a clean relative path, "" for the root) below the layer root, one
 * component at a time with O_NOFOLLOW, so no symlink is ever followed.  With `create`, missing
 * components are made (mode 0755, owned by us) and counted.  On success *out is a new
 * descriptor.  A component that is a symlink or not a directory fails with EINVAL, naming
 * `entry` (the archive path being extracted); a missing one without `create` fails with ENOENT.
 */
static int walk(struct unpacker *u, const char *dir, bool create, const char *entry, int *out)
{
	int cur = openat(u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return lc_fail(u->err, errno, "layer %s: open target directory", u->archive_path);
	const char *p = dir;
	while (*p) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t l = (size_t)(p - s);
		int plen = (int)(s + l - dir); /* dir up to this component, for messages */
		char comp[NAME_MAX + 1];
		if (l > NAME_MAX) {
			close(cur);
			return efail(u, ENAMETOOLONG, entry, NULL);
		}
		memcpy(comp, s, l);
		comp[l] = '\0';
		if (*p == '/')
			p++;

		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return efail(u, e, entry, "mkdir %.*s", plen, dir);
			}
			next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0) {
				if (fchmod(next, 0755) < 0) {
					int e = errno;
					close(next);
					close(cur);
					return efail(u, e, entry, "chmod %.*s", plen, dir);
				}
				u->res->inodes++;
			}
		}
		if (next < 0) {
			int e = errno;
			close(cur);
			if (e == ELOOP || e == ENOTDIR)
				return efail(u, EINVAL, entry, "%.*s is a symlink or not a directory", plen,
					     dir);
			return efail(u, e, entry, "open %.*s", plen, dir);
		}
		close(cur);
		cur = next;
	}
	*out = cur;
	return 0;
}

/*
 * The descriptor of directory `dir` (created as walk() does), kept open for the next entries in
 * the same directory.  The descriptor belongs to the cache.  The cache can never go stale: an
 * entry only removes its own leaf, a child of the cached directory, never the directory itself.
 */
static int parent_fd(struct unpacker *u, const char *dir, const char *entry, int *out)
{
	if (u->cache_fd >= 0 && strcmp(u->cache_dir, dir) == 0) {
		*out = u->cache_fd;
		return 0;
	}
	if (u->cache_fd >= 0) {
		close(u->cache_fd);
		u->cache_fd = -1;
	}
	free(u->cache_dir);
	u->cache_dir = strdup(dir);
	if (!u->cache_dir)
		return efail(u, ENOMEM, entry, NULL);
	if (walk(u, dir, true, entry, &u->cache_fd) < 0) {
		u->cache_fd = -1;
		return -1;
	}
	*out = u->cache_fd;
	return 0;
}

/* Remove whatever is at pfd/leaf (an empty directory or any non-directory); absent is fine. */
static int remove_leaf(struct unpacker *u, int pfd, const char *leaf, const char *entry)
{
	struct stat st;
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return efail(u, errno, entry, "stat");
	}
	if (unlinkat(pfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return efail(u, errno, entry, "replace existing %s",
			     S_ISDIR(st.st_mode) ? "directory" : "file");
	return 0;
}

/* Remember work for directory `dir` after the last entry. */
static int add_fixup(struct unpacker *u, const char *dir, const struct timespec *ts, bool opaque,
		     const char *entry)
{
	if (u->nfix == u->capfix) {
		size_t cap = u->capfix ? u->capfix * 2 : 64;
		struct fixup *f = realloc(u->fix, cap * sizeof *f);
		if (!f)
			return efail(u, ENOMEM, entry, NULL);
		u->fix = f;
		u->capfix = cap;
	}
	struct fixup *f = &u->fix[u->nfix];
	memset(f, 0, sizeof *f);
	f->dir = strdup(dir);
	if (!f->dir)
		return efail(u, ENOMEM, entry, NULL);
	if (ts) {
		f->times = true;
		f->ts[0] = ts[0];
		f->ts[1] = ts[1];
	}
	f->opaque = opaque;
	u->nfix++;
	return 0;
}

/*
 * Apply the remembered directory work, in archive order (a later entry for the same directory
 * wins).  A directory that a later entry replaced by something else is skipped.
 */
static int apply_fixups(struct unpacker *u)
{
	for (size_t i = 0; i < u->nfix; i++) {
		const struct fixup *f = &u->fix[i];
		cleanup_close int fd = -1;
		if (walk(u, f->dir, false, f->dir, &fd) < 0) {
			log_debug("layer %s: directory %s gone before its fixup: %s", u->archive_path,
				  f->dir, u->err->msg);
			continue;
		}
		if (f->opaque && fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
			return lc_fail(u->err, errno, "layer %s: directory %s: set %s", u->archive_path,
				       f->dir[0] ? f->dir : ".", OPAQUE_XATTR);
		if (f->times && futimens(fd, f->ts) < 0)
			return lc_fail(u->err, errno, "layer %s: directory %s: set times", u->archive_path,
				       f->dir[0] ? f->dir : ".");
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* metadata                                                                                   */

/* The entry's atime (its mtime when the archive has none) and mtime. */
static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

/*
 * Set the entry's xattrs on the object: through fd when fd >= 0, else on pfd/leaf without
 * following it (through /proc/self/fd, as there is no lsetxattrat).  Skipped: overlayfs's own
 * trusted.overlay.* (a layer says "opaque" or "whited out" with its marker files, nothing else
 * of overlayfs's may come from an image), user.* on objects other than files and directories
 * (the kernel refuses them), and namespaces the filesystem does not support (logged once).
 */
static int set_xattrs(struct unpacker *u, struct archive_entry *e, int fd, int pfd, const char *leaf,
		      bool user_ok, const char *entry)
{
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	const char *name;
	const void *value;
	size_t size;
	char proc[64 + NAME_MAX];
	if (fd < 0) {
		int n = snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", pfd, leaf);
		assert(n > 0 && (size_t)n < sizeof proc);
		(void)n;
	}
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!name || !*name)
			continue;
		if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0) {
			log_warn("layer %s: entry %s: xattr %s ignored (overlayfs metadata)",
				 u->archive_path, entry, name);
			continue;
		}
		if (!user_ok && strncmp(name, "user.", 5) == 0)
			continue;
		int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc, name, value, size, 0);
		if (r < 0 && errno == EOPNOTSUPP) {
			if (!u->warned_notsup)
				log_warn("layer %s: entry %s: xattr %s not supported here, ignored (and others "
					 "like it in this layer)", u->archive_path, entry, name);
			u->warned_notsup = true;
			continue;
		}
		if (r < 0)
			return efail(u, errno, entry, "set xattr %s", name);
	}
	return 0;
}

/* Owner, xattrs, mode of an open file or directory (times are the caller's). */
static int set_meta_fd(struct unpacker *u, struct archive_entry *e, int fd, const char *entry)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return efail(u, errno, entry, "chown %lld:%lld", (long long)archive_entry_uid(e),
			     (long long)archive_entry_gid(e));
	if (set_xattrs(u, e, fd, -1, NULL, true, entry) < 0)
		return -1;
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return efail(u, errno, entry, "chmod %04o", (unsigned)archive_entry_perm(e));
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* one entry                                                                                  */

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int make_file(struct unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
		     const char *entry)
{
	if (remove_leaf(u, pfd, leaf, entry) < 0)
		return -1;
	cleanup_close int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return efail(u, errno, entry, "create");
	u->res->inodes++;

	uint64_t end = 0; /* past the last byte written; holes of sparse files are skipped */
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(u->inner, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return read_fail(u, u->inner, entry);
		if (off < 0)
			return efail(u, EINVAL, entry, "negative data offset");
		if (len > 0 && pwrite_all(fd, buf, len, (off_t)off) < 0)
			return efail(u, errno, entry, "write");
		if ((uint64_t)off + len > end)
			end = (uint64_t)off + len;
	}
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	if (size > 0 && (uint64_t)size > end && ftruncate(fd, (off_t)size) < 0)
		return efail(u, errno, entry, "extend to %lld bytes", (long long)size);
	u->res->bytes += (uint64_t)size > end ? (uint64_t)size : end;

	if (set_meta_fd(u, e, fd, entry) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return efail(u, errno, entry, "set times");
	return 0;
}

/* A directory: an existing one is kept (its metadata replaced); times are set at the end. */
static int make_dir(struct unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
		    const char *dir, const char *entry)
{
	struct stat st;
	bool exists = fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT)
		return efail(u, errno, entry, "stat");
	if (exists && !S_ISDIR(st.st_mode)) {
		if (unlinkat(pfd, leaf, 0) < 0)
			return efail(u, errno, entry, "replace existing file");
		exists = false;
	}
	if (!exists) {
		if (mkdirat(pfd, leaf, 0700) < 0)
			return efail(u, errno, entry, "mkdir");
		u->res->inodes++;
	}
	cleanup_close int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return efail(u, errno, entry, "open");
	if (set_meta_fd(u, e, fd, entry) < 0)
		return -1;

	/* the full clean name, for the fixup */
	size_t dl = strlen(dir), ll = strlen(leaf);
	cleanup_free char *full = malloc(dl + ll + 2);
	if (!full)
		return efail(u, ENOMEM, entry, NULL);
	if (dl)
		sprintf(full, "%s/%s", dir, leaf);
	else
		memcpy(full, leaf, ll + 1);
	struct timespec ts[2];
	entry_times(e, ts);
	return add_fixup(u, full, ts, false, entry);
}

/* Owner, xattrs, mode (unless a symlink) and times of pfd/leaf, never following it. */
static int set_meta_at(struct unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
		       bool is_link, const char *entry)
{
	if (fchownat(pfd, leaf, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return efail(u, errno, entry, "chown %lld:%lld", (long long)archive_entry_uid(e),
			     (long long)archive_entry_gid(e));
	if (set_xattrs(u, e, -1, pfd, leaf, false, entry) < 0)
		return -1;
	if (!is_link && fchmodat(pfd, leaf, archive_entry_perm(e), AT_SYMLINK_NOFOLLOW) < 0)
		return efail(u, errno, entry, "chmod %04o", (unsigned)archive_entry_perm(e));
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return efail(u, errno, entry, "set times");
	return 0;
}

/* A symlink, its target kept verbatim (it is resolved inside the container, never here). */
static int make_symlink(struct unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
			const char *entry)
{
	const char *target = entry_symlink(e);
	if (!target || !*target)
		return efail(u, EINVAL, entry, "symlink without a target");
	if (remove_leaf(u, pfd, leaf, entry) < 0)
		return -1;
	if (symlinkat(target, pfd, leaf) < 0)
		return efail(u, errno, entry, "symlink to %s", target);
	u->res->inodes++;
	return set_meta_at(u, e, pfd, leaf, true, entry);
}

/* A device node, fifo or socket. */
static int make_node(struct unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
		     const char *entry)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = 0;
	if (type == AE_IFCHR || type == AE_IFBLK)
		dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	if (remove_leaf(u, pfd, leaf, entry) < 0)
		return -1;
	if (mknodat(pfd, leaf, type | 0600, dev) < 0)
		return efail(u, errno, entry, "mknod");
	u->res->inodes++;
	return set_meta_at(u, e, pfd, leaf, false, entry);
}

/*
 * A hard link to an entry extracted earlier.  The target's path is cleaned and walked like any
 * entry's (so it cannot be outside the layer, nor reached through a symlink), and linkat() does
 * not follow a target that is itself a symlink: the link is to the symlink.  Data a pax archive
 * may carry with a hard link is ignored (the target has its own).
 */
static int make_hardlink(struct unpacker *u, const char *raw_target, int pfd, const char *leaf,
			 const char *name, const char *entry)
{
	bool escapes;
	cleanup_free char *tname = clean_name(raw_target, &escapes);
	if (!tname && escapes)
		return efail(u, EINVAL, entry, "hard link target %s is outside the layer", raw_target);
	if (!tname)
		return efail(u, ENOMEM, entry, NULL);
	if (!*tname)
		return efail(u, EINVAL, entry, "hard link to the layer root");
	if (strcmp(tname, name) == 0) {
		log_debug("layer %s: entry %s: hard link to itself skipped", u->archive_path, entry);
		return 0;
	}
	const char *tdir;
	char *tleaf;
	split_name(tname, &tdir, &tleaf);
	cleanup_close int tfd = -1;
	if (walk(u, tdir, false, entry, &tfd) < 0) {
		if (u->err->errnum != ENOENT && u->err->errnum != EINVAL)
			return -1;
		return efail(u, EINVAL, entry, "hard link target %s is not in the layer (missing, or "
			     "reached through a symlink)", raw_target);
	}
	struct stat st;
	if (fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return efail(u, EINVAL, entry, "hard link target %s is not in the layer", raw_target);
		return efail(u, errno, entry, "hard link target %s", raw_target);
	}
	if (S_ISDIR(st.st_mode))
		return efail(u, EINVAL, entry, "hard link target %s is a directory", raw_target);
	if (remove_leaf(u, pfd, leaf, entry) < 0)
		return -1;
	if (linkat(tfd, tleaf, pfd, leaf, 0) < 0)
		return efail(u, errno, entry, "link to %s", raw_target);
	u->res->inodes++;
	return 0;
}

/* ".wh.<name>" → <name> as a character device 0/0 owned by 0:0; the opaque marker → a fixup. */
static int make_whiteout(struct unpacker *u, int pfd, const char *dir, const char *leaf,
			 const char *entry)
{
	if (strcmp(leaf, WH_OPAQUE) == 0)
		return add_fixup(u, dir, NULL, true, entry);
	if (strncmp(leaf, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) {
		log_debug("layer %s: entry %s: AUFS metadata skipped", u->archive_path, entry);
		return 0;
	}
	const char *name = leaf + strlen(WH_PREFIX);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return efail(u, EINVAL, entry, "whiteout of nothing");
	if (remove_leaf(u, pfd, name, entry) < 0)
		return -1;
	if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return efail(u, errno, entry, "mknod whiteout");
	if (fchownat(pfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		return efail(u, errno, entry, "chown whiteout");
	u->res->inodes++;
	return 0;
}

/* Extract the entry the inner reader is positioned on. */
static int extract(struct unpacker *u, struct archive_entry *e)
{
	const char *entry = entry_name(e);
	if (!entry || !*entry)
		return efail(u, EINVAL, "\"\"", "entry without a name");
	bool escapes;
	cleanup_free char *name = clean_name(entry, &escapes);
	if (!name && escapes)
		return efail(u, EINVAL, entry, "path outside the layer (\"..\")");
	if (!name)
		return efail(u, ENOMEM, entry, NULL);
	const char *hardlink = entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);

	if (!*name) {
		/* "./" or "/": the layer root, which belongs to the caller */
		if (type == AE_IFDIR && !hardlink)
			return 0;
		return efail(u, EINVAL, entry, "the layer root must be a directory");
	}

	cleanup_free char *full = strdup(name); /* kept whole for hard link self-checks */
	if (!full)
		return efail(u, ENOMEM, entry, NULL);
	const char *dir;
	char *leaf;
	split_name(name, &dir, &leaf);
	int pfd = -1;
	if (parent_fd(u, dir, entry, &pfd) < 0)
		return -1;

	if (strncmp(leaf, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return make_whiteout(u, pfd, dir, leaf, entry);
	if (hardlink)
		return make_hardlink(u, hardlink, pfd, leaf, full, entry);
	switch (type) {
	case AE_IFREG:
		return make_file(u, e, pfd, leaf, entry);
	case AE_IFDIR:
		return make_dir(u, e, pfd, leaf, dir, entry);
	case AE_IFLNK:
		return make_symlink(u, e, pfd, leaf, entry);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		return make_node(u, e, pfd, leaf, entry);
	default:
		return efail(u, EINVAL, entry, "unsupported file type 0%o", (unsigned)type);
	}
}

/* ------------------------------------------------------------------------------------------ */

/* Read every entry and extract it, then hash what follows the tar's end in the stream. */
static int run(struct unpacker *u, int archive_fd)
{
	u->outer = archive_read_new();
	u->inner = archive_read_new();
	if (!u->outer || !u->inner)
		return lc_fail(u->err, ENOMEM, "layer %s", u->archive_path);
	if (archive_read_support_filter_gzip(u->outer) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(u->outer) != ARCHIVE_OK ||
	    archive_read_support_format_raw(u->outer) != ARCHIVE_OK ||
	    archive_read_support_format_tar(u->inner) != ARCHIVE_OK)
		return lc_fail(u->err, ENOTSUP, "layer %s: libarchive without gzip, zstd or tar: %s",
			       u->archive_path, archive_error_string(u->outer) ?: "?");

	if (archive_read_open_fd(u->outer, archive_fd, READ_BLOCK) != ARCHIVE_OK)
		return read_fail(u, u->outer, NULL);
	struct archive_entry *e;
	int r = archive_read_next_header(u->outer, &e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return read_fail(u, u->outer, NULL);
	if (archive_read_open(u->inner, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		return read_fail(u, u->inner, NULL);

	for (;;) {
		r = archive_read_next_header(u->inner, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return read_fail(u, u->inner, NULL);
		if (r == ARCHIVE_WARN)
			log_debug("layer %s: entry %s: %s", u->archive_path, entry_name(e) ?: "?",
				  archive_error_string(u->inner) ?: "warning");
		if (extract(u, e) < 0)
			return -1;
	}

	const void *buf;
	size_t len;
	while ((r = outer_next(u, &buf, &len)) > 0)
		;
	if (r < 0)
		return read_fail(u, u->outer, NULL);
	return apply_fixups(u);
}

int layer_unpack(const char *archive_path, const char *dir, struct unpack_result *res, struct lc_err *err)
{
	assert(archive_path && dir && res && err);
	memset(res, 0, sizeof *res);

	cleanup_close int afd = open(archive_path, O_RDONLY | O_CLOEXEC);
	if (afd < 0)
		return lc_fail(err, errno, "open layer %s", archive_path);
	cleanup_close int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lc_fail(err, errno, "open unpack directory %s", dir);

	struct unpacker u = {
		.archive_path = archive_path,
		.rootfd = rootfd,
		.cache_fd = -1,
		.res = res,
		.err = err,
	};
	u.dg = digester_new();
	int ret;
	if (!u.dg)
		ret = lc_fail(err, ENOMEM, "layer %s: digest", archive_path);
	else
		ret = run(&u, afd);
	if (ret == 0)
		digester_final(u.dg, res->diff_id);

	if (u.inner)
		archive_read_free(u.inner);
	if (u.outer)
		archive_read_free(u.outer);
	if (u.dg)
		digester_free(u.dg);
	if (u.cache_fd >= 0)
		close(u.cache_fd);
	free(u.cache_dir);
	for (size_t i = 0; i < u.nfix; i++)
		free(u.fix[i].dir);
	free(u.fix);
	if (ret == 0)
		log_debug("layer %s unpacked into %s: %s, %llu bytes, %llu inodes", archive_path, dir,
			  res->diff_id, (unsigned long long)res->bytes, (unsigned long long)res->inodes);
	return ret;
}
