/*
 * test_unpack.c — layer_unpack on real files: metadata, links, devices, xattrs, whiteouts,
 * diff_ids, escapes, malformed archives and two unpacks at once.
 *
 * Every layer is built in the test with libarchive's write API (pax, pax restricted or ustar),
 * then compressed (gzip, zstd or not at all) as a second step so that the uncompressed tar bytes
 * are known and their sha256 can be computed independently of src/image/digest.c (OpenSSL EVP).
 * Each test has a fresh temporary directory with the layer file, the target directory root/
 * and a directory outside/ that escape attempts aim at and that must stay as it was.
 * Runs as root (owners, device nodes, trusted.* xattrs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "image/unpack.h"
#include "util/log.h"

#define T0 1700000000 /* default mtime of test entries */

/* ------------------------------------------------------------------------------------------ */
/* building layers                                                                            */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_append(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static la_ssize_t buf_write(struct archive *a, void *data, const void *bytes, size_t n)
{
	(void)a;
	buf_append(data, bytes, n);
	return (la_ssize_t)n;
}

/* One archive entry.  Zero fields mean: a regular file (a directory if the name ends in "/",
 * a symlink if .symlink is set), mode 0644/0755/0777, owner 0:0, mtime T0. */
struct ent {
	const char *name;
	mode_t type;
	mode_t perm;
	int64_t uid, gid;
	time_t mtime;
	long mtime_ns;
	const char *data;     /* regular file content */
	const char *symlink;  /* symlink target */
	const char *hardlink; /* hard link target */
	unsigned rmajor, rminor;
	const char *xname[2]; /* xattrs */
	const char *xval[2];
	int64_t sparse_size;  /* > 0: a sparse file of this size with .data at offset 0 and at
				 sparse_size - strlen(data) */
};

enum fmt { PAX, PAX_RESTRICTED, USTAR };
enum comp { NONE, GZIP, ZSTD };

static void tar_add(struct archive *a, const struct ent *en)
{
	struct archive_entry *e = archive_entry_new();
	assert_non_null(e);
	archive_entry_set_pathname_utf8(e, en->name);
	mode_t type = en->type;
	size_t nl = strlen(en->name);
	if (!type)
		type = en->symlink ? AE_IFLNK : (nl > 0 && en->name[nl - 1] == '/') ? AE_IFDIR : AE_IFREG;
	mode_t perm = en->perm;
	if (!perm)
		perm = type == AE_IFDIR ? 0755 : type == AE_IFLNK ? 0777 : 0644;
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, en->uid);
	archive_entry_set_gid(e, en->gid);
	archive_entry_set_mtime(e, en->mtime ? en->mtime : T0, en->mtime_ns);
	if (en->symlink)
		archive_entry_set_symlink_utf8(e, en->symlink);
	if (en->hardlink)
		archive_entry_set_hardlink_utf8(e, en->hardlink);
	if (type == AE_IFCHR || type == AE_IFBLK) {
		archive_entry_set_rdevmajor(e, en->rmajor);
		archive_entry_set_rdevminor(e, en->rminor);
	}
	for (int i = 0; i < 2; i++)
		if (en->xname[i])
			archive_entry_xattr_add_entry(e, en->xname[i], en->xval[i], strlen(en->xval[i]));
	size_t dl = en->data ? strlen(en->data) : 0;
	char *content = NULL;
	size_t clen = 0;
	if (en->sparse_size > 0) {
		clen = (size_t)en->sparse_size;
		content = calloc(1, clen);
		assert_non_null(content);
		memcpy(content, en->data, dl);
		memcpy(content + clen - dl, en->data, dl);
		archive_entry_sparse_add_entry(e, 0, (la_int64_t)dl);
		archive_entry_sparse_add_entry(e, (la_int64_t)(clen - dl), (la_int64_t)dl);
	} else if (type == AE_IFREG && !en->hardlink) {
		clen = dl;
	}
	archive_entry_set_size(e, (la_int64_t)clen);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (clen > 0) {
		la_ssize_t w = archive_write_data(a, content ? content : en->data, clen);
		assert_int_equal(w, (la_ssize_t)clen);
	}
	free(content);
	archive_entry_free(e);
}

/*
 * The uncompressed tar of the entries.  Written in a UTF-8 locale (this thread only) so that pax
 * headers carry non-ASCII names as UTF-8, as real image builders write them; layer_unpack itself
 * runs in the test's "C" locale.
 */
static struct buf make_tar(const struct ent *ents, size_t n, enum fmt fmt)
{
	struct buf out = { 0 };
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	assert_true(utf8 != (locale_t)0);
	locale_t old = uselocale(utf8);
	struct archive *a = archive_write_new();
	assert_non_null(a);
	int r = fmt == PAX ? archive_write_set_format_pax(a)
	      : fmt == PAX_RESTRICTED ? archive_write_set_format_pax_restricted(a)
	      : archive_write_set_format_ustar(a);
	assert_int_equal(r, ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &out, NULL, buf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		tar_add(a, &ents[i]);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	uselocale(old);
	freelocale(utf8);
	return out;
}

/* The tar compressed as a whole (a copy when NONE). */
static struct buf compress(const struct buf *tar, enum comp comp)
{
	struct buf out = { 0 };
	if (comp == NONE) {
		buf_append(&out, tar->p, tar->len);
		return out;
	}
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	int r = comp == GZIP ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a);
	assert_int_equal(r, ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &out, NULL, buf_write, NULL), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "layer");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)tar->len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, tar->p, tar->len), (la_ssize_t)tar->len);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	/* really compressed: gzip 1f 8b, zstd 28 b5 2f fd */
	assert_true(out.len > 4);
	if (comp == GZIP)
		assert_true(out.p[0] == 0x1f && out.p[1] == 0x8b);
	else
		assert_true(out.p[0] == 0x28 && out.p[1] == 0xb5 && out.p[2] == 0x2f && out.p[3] == 0xfd);
	return out;
}

/* "sha256:<hex>" of the bytes, with OpenSSL directly. */
static void sha256_of(const struct buf *b, char out[DIGEST_BUF])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	assert_int_equal(EVP_Digest(b->p, b->len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char root[PATH_MAX];       /* the unpack target */
	char outside[PATH_MAX];    /* must stay empty */
	char layer[PATH_MAX];      /* the archive file */
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "unpack");
	if (!f)
		return -1;
	snprintf(f->root, sizeof f->root, "%s/root", f->dir);
	snprintf(f->outside, sizeof f->outside, "%s/outside", f->dir);
	snprintf(f->layer, sizeof f->layer, "%s/layer", f->dir);
	if (mkdir(f->root, 0755) < 0 || mkdir(f->outside, 0755) < 0) {
		print_error("mkdir: %s\n", strerror(errno));
		tmpdir_fixture_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state) { return tmpdir_fixture_free(*state); }

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR); /* the xattr test triggers a warning on purpose */
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Write the layer (built from ents, compressed) to f->layer and unpack it into f->root.
 * tar_out (optional) receives the uncompressed tar. */
static int unpack_ents(struct fx *f, const struct ent *ents, size_t n, enum fmt fmt, enum comp comp,
		       struct unpack_result *res, struct lc_err *err, struct buf *tar_out)
{
	struct buf tar = make_tar(ents, n, fmt);
	struct buf z = compress(&tar, comp);
	write_file(f->layer, z.p, z.len);
	free(z.p);
	if (tar_out)
		*tar_out = tar;
	else
		free(tar.p);
	memset(err, 0, sizeof *err);
	return layer_unpack(f->layer, f->root, res, err);
}

#define UNPACK_OK(f, ents, fmt, comp, res)                                                      \
	do {                                                                                    \
		struct lc_err err_;                                                             \
		if (unpack_ents(f, ents, sizeof(ents) / sizeof(ents[0]), fmt, comp, res, &err_, \
				NULL) != 0) {                                                   \
			print_error("layer_unpack: %s\n", err_.msg);                            \
			fail();                                                                 \
		}                                                                               \
	} while (0)

/* Expect the unpack to fail with EINVAL and a message naming `needle`. */
#define UNPACK_EINVAL(f, ents, fmt, needle)                                                     \
	do {                                                                                    \
		struct lc_err err_;                                                             \
		struct unpack_result res_;                                                      \
		int r_ = unpack_ents(f, ents, sizeof(ents) / sizeof(ents[0]), fmt, NONE, &res_, \
				     &err_, NULL);                                              \
		assert_int_equal(r_, -1);                                                       \
		if (err_.errnum != EINVAL || !strstr(err_.msg, needle)) {                       \
			print_error("errnum %d, msg '%s', wanted EINVAL naming '%s'\n",         \
				    err_.errnum, err_.msg, needle);                              \
			fail();                                                                 \
		}                                                                               \
	} while (0)

static void path_in(const char *base, const char *rel, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", base, rel);
	assert_true(n > 0 && n < PATH_MAX);
}

static struct stat lstat_in(const char *base, const char *rel)
{
	char p[PATH_MAX];
	path_in(base, rel, p);
	struct stat st;
	if (lstat(p, &st) < 0) {
		print_error("lstat %s: %s\n", p, strerror(errno));
		fail();
	}
	return st;
}

static int exists_in(const char *base, const char *rel)
{
	char p[PATH_MAX];
	path_in(base, rel, p);
	struct stat st;
	return lstat(p, &st) == 0;
}

/* The content of base/rel (NUL-terminated, at most cap - 1 bytes). */
static void read_in(const char *base, const char *rel, char *buf, size_t cap)
{
	char p[PATH_MAX];
	path_in(base, rel, p);
	FILE *f = fopen(p, "rb");
	if (!f) {
		print_error("open %s: %s\n", p, strerror(errno));
		fail();
	}
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void assert_content(const char *base, const char *rel, const char *want)
{
	char got[4096];
	read_in(base, rel, got, sizeof got);
	assert_string_equal(got, want);
}

/* The value of xattr name on base/rel (not following it), or "" when absent. */
static void xattr_in(const char *base, const char *rel, const char *name, char *buf, size_t cap)
{
	char p[PATH_MAX];
	path_in(base, rel, p);
	ssize_t n = lgetxattr(p, name, buf, cap - 1);
	if (n < 0) {
		assert_int_equal(errno, ENODATA);
		n = 0;
	}
	buf[n] = '\0';
}

/* Entries of dir except . and .., which must be readable. */
static int count_entries(const char *dir)
{
	int n = tmpdir_count(dir);
	assert_int_not_equal(n, -1);
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

static void test_files_dirs_owners_modes(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "etc/", .mtime = 1000000000 },
		{ .name = "etc/conf", .perm = 0640, .uid = 1000, .gid = 1000, .mtime = 1234567890,
		  .mtime_ns = 500000000, .data = "hello\n" },
		{ .name = "etc/private/", .perm = 0700, .uid = 5, .gid = 6, .mtime = 1500000000 },
		{ .name = "bin/" },
		{ .name = "bin/su", .perm = 04755, .uid = 0, .gid = 0, .data = "#!su" },
		{ .name = "bin/sg", .perm = 02711, .uid = 1000, .gid = 50, .data = "sg" },
		{ .name = "tmp/", .perm = 01777 },
		{ .name = "implicit/sub/file", .data = "x" },
		{ .name = "./dot/file", .data = "dot" },
		{ .name = "./" }, /* the root entry: ignored */
		{ .name = "empty", .perm = 0600 },
		{ .name = "sparse", .data = "edge", .sparse_size = 1 << 20 },
	};
	struct unpack_result res;
	struct stat root_before = lstat_in(f->dir, "root");
	UNPACK_OK(f, ents, PAX, NONE, &res);

	struct stat st = lstat_in(f->root, "etc");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000); /* set after its children were made */

	st = lstat_in(f->root, "etc/conf");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mtim.tv_nsec, 500000000);
	assert_int_equal(st.st_atim.tv_sec, 1234567890); /* no atime in the archive: the mtime */
	assert_content(f->root, "etc/conf", "hello\n");

	st = lstat_in(f->root, "etc/private");
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(st.st_mtim.tv_sec, 1500000000);

	st = lstat_in(f->root, "bin/su");
	assert_int_equal(st.st_mode & 07777, 04755); /* setuid survives the chown */
	st = lstat_in(f->root, "bin/sg");
	assert_int_equal(st.st_mode & 07777, 02711);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 50);
	assert_int_equal(lstat_in(f->root, "tmp").st_mode & 07777, 01777);

	/* parents missing from the archive: 0755, root-owned */
	const char *implicit[] = { "implicit", "implicit/sub", "dot" };
	for (size_t i = 0; i < 3; i++) {
		st = lstat_in(f->root, implicit[i]);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0755);
		assert_int_equal(st.st_uid, 0);
	}
	assert_content(f->root, "implicit/sub/file", "x");
	assert_content(f->root, "dot/file", "dot");
	st = lstat_in(f->root, "empty");
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* sparse: full logical size, data at both ends, zeros between */
	st = lstat_in(f->root, "sparse");
	assert_int_equal(st.st_size, 1 << 20);
	char p[PATH_MAX];
	path_in(f->root, "sparse", p);
	FILE *sf = fopen(p, "rb");
	assert_non_null(sf);
	char *all = malloc(1 << 20);
	assert_non_null(all);
	assert_int_equal(fread(all, 1, 1 << 20, sf), 1 << 20);
	fclose(sf);
	assert_memory_equal(all, "edge", 4);
	assert_memory_equal(all + (1 << 20) - 4, "edge", 4);
	for (size_t i = 4; i < (1 << 20) - 4; i++)
		if (all[i] != 0)
			fail_msg("sparse byte %zu is %d", i, all[i]);
	free(all);

	/* the root entry did not touch the target directory */
	struct stat root_after = lstat_in(f->dir, "root");
	assert_int_equal(root_after.st_mode, root_before.st_mode);

	assert_int_equal(res.bytes, 6 + 4 + 2 + 1 + 3 + 0 + (1 << 20));
	/* etc conf private bin su sg tmp implicit sub file dot file empty sparse */
	assert_int_equal(res.inodes, 14);
	assert_true(strncmp(res.diff_id, "sha256:", 7) == 0 && strlen(res.diff_id) == DIGEST_LEN);
}

static void test_links_and_devices(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "etc/" },
		{ .name = "etc/conf", .data = "conf", .uid = 7 },
		{ .name = "abs", .symlink = "/etc/conf", .uid = 1000, .gid = 1001, .mtime = 1111111111 },
		{ .name = "rel", .symlink = "../etc/conf" },
		{ .name = "dangling", .symlink = "/nonexistent/../x" },
		{ .name = "etc/conf.hard", .hardlink = "etc/conf" },
		{ .name = "hard2", .hardlink = "/etc/conf" }, /* absolute: normalized like any name */
		{ .name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rmajor = 1, .rminor = 3 },
		{ .name = "dev/sda", .type = AE_IFBLK, .perm = 0660, .gid = 6, .rmajor = 8, .rminor = 0 },
		{ .name = "run/fifo", .type = AE_IFIFO, .perm = 0620, .uid = 33, .mtime = 1222222222 },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX_RESTRICTED, GZIP, &res);

	char p[PATH_MAX], target[PATH_MAX];
	const char *links[][2] = { { "abs", "/etc/conf" }, { "rel", "../etc/conf" },
				   { "dangling", "/nonexistent/../x" } };
	for (size_t i = 0; i < 3; i++) {
		path_in(f->root, links[i][0], p);
		ssize_t n = readlink(p, target, sizeof target - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, links[i][1]); /* verbatim */
	}
	struct stat st = lstat_in(f->root, "abs");
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtim.tv_sec, 1111111111);

	struct stat a = lstat_in(f->root, "etc/conf");
	struct stat b = lstat_in(f->root, "etc/conf.hard");
	struct stat c = lstat_in(f->root, "hard2");
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_ino, c.st_ino);
	assert_int_equal(a.st_nlink, 3);
	assert_int_equal(a.st_uid, 7);

	st = lstat_in(f->root, "dev/null");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	st = lstat_in(f->root, "dev/sda");
	assert_true(S_ISBLK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(major(st.st_rdev), 8);
	st = lstat_in(f->root, "run/fifo");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0620);
	assert_int_equal(st.st_uid, 33);
	assert_int_equal(st.st_mtim.tv_sec, 1222222222);

	assert_int_equal(res.bytes, 4);
	/* etc conf abs rel dangling conf.hard hard2 dev null sda run fifo */
	assert_int_equal(res.inodes, 12);
}

static void test_xattrs(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "file", .data = "x", .xname = { "user.foo", "trusted.litecri.test" },
		  .xval = { "bar", "1" } },
		{ .name = "dir/", .perm = 0750, .xname = { "user.dir" }, .xval = { "d" } },
		{ .name = "dir/link", .symlink = "/x", .xname = { "trusted.onlink" }, .xval = { "l" } },
		/* overlayfs's own metadata cannot come from an image */
		{ .name = "sneaky/", .xname = { "trusted.overlay.redirect", "trusted.overlay.opaque" },
		  .xval = { "/etc", "y" } },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, ZSTD, &res);
	char v[256];
	xattr_in(f->root, "file", "user.foo", v, sizeof v);
	assert_string_equal(v, "bar");
	xattr_in(f->root, "file", "trusted.litecri.test", v, sizeof v);
	assert_string_equal(v, "1");
	xattr_in(f->root, "dir", "user.dir", v, sizeof v);
	assert_string_equal(v, "d");
	assert_int_equal(lstat_in(f->root, "dir").st_mode & 07777, 0750);
	xattr_in(f->root, "dir/link", "trusted.onlink", v, sizeof v);
	assert_string_equal(v, "l");
	xattr_in(f->root, "sneaky", "trusted.overlay.redirect", v, sizeof v);
	assert_string_equal(v, "");
	xattr_in(f->root, "sneaky", "trusted.overlay.opaque", v, sizeof v);
	assert_string_equal(v, "");
}

/* The diff_id is the sha256 of the uncompressed tar, whatever the compression. */
static void check_diff_id(struct fx *f, enum fmt fmt, enum comp comp)
{
	/* a file over many read blocks, of bytes that do not compress to nothing */
	enum { BIG = 700001 };
	char *big = malloc(BIG + 1);
	assert_non_null(big);
	unsigned x = 99;
	for (size_t i = 0; i < BIG; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)(' ' + (x >> 16) % 90);
	}
	big[BIG] = '\0';
	const struct ent ents[] = {
		{ .name = "a/" },
		{ .name = "a/b", .data = "some content for the digest\n" },
		{ .name = "c", .symlink = "a/b" },
		{ .name = "big", .data = big },
	};
	struct unpack_result res;
	struct lc_err err;
	struct buf tar;
	if (unpack_ents(f, ents, 4, fmt, comp, &res, &err, &tar) != 0)
		fail_msg("layer_unpack: %s", err.msg);
	char want[DIGEST_BUF];
	sha256_of(&tar, want);
	free(tar.p);
	assert_string_equal(res.diff_id, want);
	assert_content(f->root, "a/b", "some content for the digest\n");
	char *got = malloc(BIG + 1);
	assert_non_null(got);
	read_in(f->root, "big", got, BIG + 1);
	assert_memory_equal(got, big, BIG);
	free(got);
	free(big);
	assert_int_equal(res.inodes, 4);
	assert_int_equal(res.bytes, 28 + BIG);
}

static void test_diff_id_none(void **state) { check_diff_id(*state, USTAR, NONE); }
static void test_diff_id_gzip(void **state) { check_diff_id(*state, PAX_RESTRICTED, GZIP); }
static void test_diff_id_zstd(void **state) { check_diff_id(*state, PAX, ZSTD); }

/* Data after the tar's end-of-archive blocks is part of the stream, hence of the diff_id. */
static void test_diff_id_trailing_bytes(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = { { .name = "f", .data = "x" } };
	struct buf tar = make_tar(ents, 1, USTAR);
	static const char tail[777] = { 0 };
	buf_append(&tar, tail, sizeof tail);
	struct buf z = compress(&tar, GZIP);
	write_file(f->layer, z.p, z.len);
	free(z.p);
	struct unpack_result res;
	struct lc_err err;
	if (layer_unpack(f->layer, f->root, &res, &err) != 0)
		fail_msg("layer_unpack: %s", err.msg);
	char want[DIGEST_BUF];
	sha256_of(&tar, want);
	free(tar.p);
	assert_string_equal(res.diff_id, want);
}

static void test_empty_layer(void **state)
{
	struct fx *f = *state;
	struct unpack_result res;
	struct lc_err err;
	struct buf tar;
	assert_int_equal(unpack_ents(f, NULL, 0, PAX, GZIP, &res, &err, &tar), 0);
	char want[DIGEST_BUF];
	sha256_of(&tar, want);
	free(tar.p);
	assert_string_equal(res.diff_id, want);
	assert_int_equal(res.inodes, 0);
	assert_int_equal(res.bytes, 0);
	assert_int_equal(count_entries(f->root), 0);
}

static void test_whiteouts(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "a/", .mtime = 1300000000 },
		{ .name = "a/keep", .data = "k" },
		{ .name = "a/.wh.gone", .uid = 1000 },
		{ .name = ".wh.topgone" },
		{ .name = "o/", .uid = 1000, .mtime = 1400000000 },
		{ .name = "o/.wh..wh..opq" },
		{ .name = "o/new", .data = "n" },
		{ .name = "p/.wh..wh..opq" },          /* its directory is not in the archive */
		{ .name = ".wh..wh.plnk/", .perm = 0700 }, /* AUFS metadata: skipped */
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, GZIP, &res);

	const char *wh[] = { "a/gone", "topgone" };
	for (size_t i = 0; i < 2; i++) {
		struct stat st = lstat_in(f->root, wh[i]);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(0, 0));
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_gid, 0);
	}
	assert_false(exists_in(f->root, "a/.wh.gone"));
	assert_false(exists_in(f->root, ".wh.topgone"));
	assert_false(exists_in(f->root, ".wh..wh.plnk"));
	assert_content(f->root, "a/keep", "k");
	assert_int_equal(lstat_in(f->root, "a").st_mtim.tv_sec, 1300000000);

	char v[16];
	xattr_in(f->root, "o", "trusted.overlay.opaque", v, sizeof v);
	assert_string_equal(v, "y");
	xattr_in(f->root, "p", "trusted.overlay.opaque", v, sizeof v);
	assert_string_equal(v, "y");
	xattr_in(f->root, "a", "trusted.overlay.opaque", v, sizeof v);
	assert_string_equal(v, "");
	assert_false(exists_in(f->root, "o/.wh..wh..opq"));
	assert_false(exists_in(f->root, "p/.wh..wh..opq"));
	assert_content(f->root, "o/new", "n");
	struct stat st = lstat_in(f->root, "o");
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_mtim.tv_sec, 1400000000);

	/* a keep gone topgone o new p */
	assert_int_equal(res.inodes, 7);
}

static void test_dotdot_refused(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "../evil", "a/../../evil", "./../evil", "a/b/../../../evil", "a/../b" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct ent ents[] = { { .name = "a/b/" }, { .name = names[i], .data = "evil" } };
		UNPACK_EINVAL(f, ents, PAX, names[i]);
		assert_false(exists_in(f->dir, "evil"));
	}
	/* a directory entry too */
	const struct ent dir[] = { { .name = "../evildir/" } };
	UNPACK_EINVAL(f, dir, USTAR, "../evildir/");
	assert_false(exists_in(f->dir, "evildir"));
	assert_int_equal(count_entries(f->outside), 0);
}

static void test_absolute_is_normalized(void **state)
{
	struct fx *f = *state;
	char abs_name[128];
	snprintf(abs_name, sizeof abs_name, "/etc/litecri-unpack-test-%d", (int)getpid());
	assert_int_equal(access(abs_name, F_OK), -1);
	const struct ent ents[] = {
		{ .name = abs_name, .data = "inside" },
		{ .name = "//x///y/./z", .data = "z" },
		{ .name = "/abs-dir/" },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, NONE, &res);
	assert_int_equal(access(abs_name, F_OK), -1);
	assert_content(f->root, abs_name + 1, "inside");
	assert_content(f->root, "x/y/z", "z");
	assert_true(S_ISDIR(lstat_in(f->root, "abs-dir").st_mode));
}

static void test_symlink_parent_refused(void **state)
{
	struct fx *f = *state;
	char rel_out[PATH_MAX];
	snprintf(rel_out, sizeof rel_out, "../../outside");

	/* link -> the outside dir (absolute), then link/evil */
	const struct ent e1[] = { { .name = "link", .symlink = f->outside },
				  { .name = "link/evil", .data = "evil" } };
	UNPACK_EINVAL(f, e1, PAX, "link/evil");
	assert_int_equal(count_entries(f->outside), 0);

	/* a relative symlink deeper in, and missing directories below it */
	const struct ent e2[] = { { .name = "d/" },
				  { .name = "d/l", .symlink = rel_out },
				  { .name = "d/l/sub/evil", .data = "evil" } };
	UNPACK_EINVAL(f, e2, PAX, "d/l/sub/evil");
	assert_int_equal(count_entries(f->outside), 0);

	/* a directory entry, a symlink entry and a hard link through the symlink */
	const struct ent e3[] = { { .name = "file", .data = "f" },
				  { .name = "l3", .symlink = f->outside },
				  { .name = "l3/h", .hardlink = "file" } };
	UNPACK_EINVAL(f, e3, PAX, "l3/h");
	const struct ent e4[] = { { .name = "l4", .symlink = f->outside }, { .name = "l4/dir/" } };
	UNPACK_EINVAL(f, e4, PAX, "l4/dir/");
	const struct ent e5[] = { { .name = "l5", .symlink = f->outside },
				  { .name = "l5/s", .symlink = "/" } };
	UNPACK_EINVAL(f, e5, PAX, "l5/s");
	assert_int_equal(count_entries(f->outside), 0);

	/* the whiteout forms too */
	const struct ent e6[] = { { .name = "l6", .symlink = f->outside },
				  { .name = "l6/.wh.x" } };
	UNPACK_EINVAL(f, e6, PAX, "l6/.wh.x");
	const struct ent e7[] = { { .name = "l7", .symlink = f->outside },
				  { .name = "l7/.wh..wh..opq" } };
	UNPACK_EINVAL(f, e7, PAX, "l7/.wh..wh..opq");
	assert_int_equal(count_entries(f->outside), 0);
	char v[8];
	assert_int_equal(lgetxattr(f->outside, "trusted.overlay.opaque", v, sizeof v), -1);

	/* a file below a regular file */
	const struct ent e8[] = { { .name = "plain", .data = "p" }, { .name = "plain/x", .data = "x" } };
	UNPACK_EINVAL(f, e8, PAX, "plain/x");
}

static void test_hardlink_escape_refused(void **state)
{
	struct fx *f = *state;
	const struct ent e1[] = { { .name = "h", .hardlink = "../../etc/passwd" } };
	UNPACK_EINVAL(f, e1, PAX, "../../etc/passwd");
	assert_false(exists_in(f->root, "h"));

	/* absolute: means the layer's own etc/passwd, which it does not have */
	const struct ent e2[] = { { .name = "h2", .hardlink = "/etc/passwd" } };
	UNPACK_EINVAL(f, e2, PAX, "h2");
	assert_false(exists_in(f->root, "h2"));

	/* through a symlink to /etc */
	const struct ent e3[] = { { .name = "l", .symlink = "/etc" },
				  { .name = "h3", .hardlink = "l/passwd" } };
	UNPACK_EINVAL(f, e3, PAX, "l/passwd");
	assert_false(exists_in(f->root, "h3"));

	/* to a directory */
	const struct ent e4[] = { { .name = "d/" }, { .name = "h4", .hardlink = "d" } };
	UNPACK_EINVAL(f, e4, PAX, "h4");
}

/* A hard link to a symlink is a link to the symlink; nothing is written through it. */
static void test_hardlink_to_symlink_not_followed(void **state)
{
	struct fx *f = *state;
	char target[PATH_MAX];
	path_in(f->outside, "target", target);
	write_file(target, "orig", 4);
	const struct ent ents[] = {
		{ .name = "s", .symlink = target },
		{ .name = "h", .hardlink = "s" },
		{ .name = "h2", .hardlink = "s" },
		{ .name = "h2", .data = "pwned" }, /* replaces the link, does not write through it */
		{ .name = "s", .data = "pwned too" },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, NONE, &res);
	assert_content(f->outside, "target", "orig");
	assert_int_equal(count_entries(f->outside), 1);
	struct stat h = lstat_in(f->root, "h");
	assert_true(S_ISLNK(h.st_mode));
	char p[PATH_MAX], l[PATH_MAX];
	path_in(f->root, "h", p);
	ssize_t n = readlink(p, l, sizeof l - 1);
	assert_true(n > 0);
	l[n] = '\0';
	assert_string_equal(l, target);
	assert_true(S_ISREG(lstat_in(f->root, "h2").st_mode));
	assert_content(f->root, "h2", "pwned");
	assert_true(S_ISREG(lstat_in(f->root, "s").st_mode));
	assert_content(f->root, "s", "pwned too");
}

/* Later entries replace earlier ones of the same name. */
static void test_replace(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "x", .data = "one" },
		{ .name = "x", .data = "two", .perm = 0600 },
		{ .name = "y/" },
		{ .name = "y", .data = "file now" },
		{ .name = "z", .data = "file" },
		{ .name = "z/", .perm = 0711 },
		{ .name = "q/", .mtime = 1000 },
		{ .name = "q/in", .data = "i" },
		{ .name = "q/", .perm = 0700, .mtime = 2000 },
		{ .name = "w", .symlink = "/w" },
		{ .name = "w/" },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, NONE, &res);
	assert_content(f->root, "x", "two");
	assert_int_equal(lstat_in(f->root, "x").st_mode & 07777, 0600);
	assert_content(f->root, "y", "file now");
	struct stat st = lstat_in(f->root, "z");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0711);
	st = lstat_in(f->root, "q");
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_content(f->root, "q/in", "i");
	assert_true(S_ISDIR(lstat_in(f->root, "w").st_mode));
}

/* A pax (UTF-8) name that is not ASCII lands with the same bytes, in the C locale too. */
static void test_non_ascii_names(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{ .name = "donn\xc3\xa9" "es/\xc3\xa9t\xc3\xa9.txt", .data = "utf8" },
		{ .name = "lnk", .symlink = "donn\xc3\xa9" "es/\xc3\xa9t\xc3\xa9.txt" },
	};
	struct unpack_result res;
	UNPACK_OK(f, ents, PAX, NONE, &res);
	assert_content(f->root, "donn\xc3\xa9" "es/\xc3\xa9t\xc3\xa9.txt", "utf8");
	assert_content(f->root, "lnk", "utf8");
}

static void expect_bad_archive(struct fx *f, const void *bytes, size_t len, const char *what)
{
	write_file(f->layer, bytes, len);
	struct unpack_result res;
	struct lc_err err = { 0 };
	int r = layer_unpack(f->layer, f->root, &res, &err);
	if (r != -1 || err.errnum != EINVAL || !strstr(err.msg, f->layer))
		fail_msg("%s: ret %d errnum %d msg '%s'", what, r, err.errnum, err.msg);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	unsigned char junk[65536];
	unsigned x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	expect_bad_archive(f, junk, sizeof junk, "garbage");
	expect_bad_archive(f, "", 0, "empty file");
	expect_bad_archive(f, "hello, not a tar\n", 17, "text");

	/* a real layer, cut short */
	char big[20000];
	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	const struct ent ents[] = { { .name = "d/" }, { .name = "d/big", .data = big },
				    { .name = "d/after", .data = "after" } };
	struct buf tar = make_tar(ents, 3, PAX);
	expect_bad_archive(f, tar.p, 512 + 512 + 512 + 512 + 4000, "tar cut in file data");
	expect_bad_archive(f, tar.p, 1536 + 100, "tar cut in a header");
	for (int c = GZIP; c <= ZSTD; c++) {
		struct buf z = compress(&tar, (enum comp)c);
		expect_bad_archive(f, z.p, z.len / 2, c == GZIP ? "gzip cut in half" : "zstd cut in half");
		expect_bad_archive(f, z.p, 10, "compressed header only");
		/* corrupt the middle of the compressed stream */
		z.p[z.len / 2] ^= 0xff;
		z.p[z.len / 2 + 1] ^= 0x55;
		expect_bad_archive(f, z.p, z.len, c == GZIP ? "gzip corrupted" : "zstd corrupted");
		free(z.p);
	}
	/* gzip magic followed by junk */
	junk[0] = 0x1f;
	junk[1] = 0x8b;
	expect_bad_archive(f, junk, 4096, "gzip magic then junk");
	free(tar.p);

	/* missing archive / target */
	struct unpack_result res;
	struct lc_err err;
	char missing[PATH_MAX];
	path_in(f->dir, "missing", missing);
	assert_int_equal(layer_unpack(missing, f->root, &res, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, missing));
	write_file(f->layer, junk, 10);
	assert_int_equal(layer_unpack(f->layer, missing, &res, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, missing));
}

/* Two layers at once on two threads, into two directories. */
struct job {
	char layer[PATH_MAX];
	char root[PATH_MAX];
	int ret;
	struct unpack_result res;
	struct lc_err err;
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	j->ret = layer_unpack(j->layer, j->root, &j->res, &j->err);
	return NULL;
}

#define NFILES 400

static void test_concurrent(void **state)
{
	struct fx *f = *state;
	struct job jobs[2];
	char want[2][DIGEST_BUF];
	mode_t um = umask(022);
	for (int t = 0; t < 2; t++) {
		struct ent *ents = calloc(NFILES + 2, sizeof *ents);
		char (*names)[64] = calloc(NFILES + 2, sizeof *names);
		char (*data)[64] = calloc(NFILES + 2, sizeof *data);
		assert_true(ents && names && data);
		int n = 0;
		ents[n++] = (struct ent){ .name = "d/", .perm = 0750, .uid = 10 + t };
		for (int i = 0; i < NFILES; i++) {
			snprintf(names[n], sizeof names[n], "d/sub%d/file%d", i % 7, i);
			snprintf(data[n], sizeof data[n], "layer %d file %d", t, i);
			ents[n] = (struct ent){ .name = names[n], .data = data[n], .perm = 0600 + t * 040,
						.uid = 1000 + t };
			n++;
		}
		ents[n++] = (struct ent){ .name = "d/.wh.gone" };
		struct buf tar = make_tar(ents, (size_t)n, PAX);
		sha256_of(&tar, want[t]);
		struct buf z = compress(&tar, t == 0 ? GZIP : ZSTD);
		snprintf(jobs[t].layer, sizeof jobs[t].layer, "%s/layer%d", f->dir, t);
		snprintf(jobs[t].root, sizeof jobs[t].root, "%s/root%d", f->dir, t);
		assert_int_equal(mkdir(jobs[t].root, 0755), 0);
		write_file(jobs[t].layer, z.p, z.len);
		free(z.p);
		free(tar.p);
		free(ents);
		free(names);
		free(data);
	}
	pthread_t th[2];
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_create(&th[t], NULL, job_run, &jobs[t]), 0);
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < 2; t++) {
		if (jobs[t].ret != 0)
			fail_msg("thread %d: %s", t, jobs[t].err.msg);
		assert_string_equal(jobs[t].res.diff_id, want[t]);
		assert_int_equal(jobs[t].res.inodes, 1 + 7 + NFILES + 1);
		for (int i = 0; i < NFILES; i += 37) {
			char rel[64], exp[64];
			snprintf(rel, sizeof rel, "d/sub%d/file%d", i % 7, i);
			snprintf(exp, sizeof exp, "layer %d file %d", t, i);
			assert_content(jobs[t].root, rel, exp);
			struct stat st = lstat_in(jobs[t].root, rel);
			assert_int_equal(st.st_uid, 1000 + t);
			assert_int_equal(st.st_mode & 07777, 0600 + t * 040);
		}
		assert_int_equal(lstat_in(jobs[t].root, "d").st_uid, 10 + t);
		assert_true(S_ISCHR(lstat_in(jobs[t].root, "d/gone").st_mode));
	}
	/* the process umask was never touched */
	assert_int_equal(umask(um), 022);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_files_dirs_owners_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_and_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_id_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_id_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_id_zstd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_id_trailing_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_is_normalized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_parent_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_escape_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_to_symlink_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_ascii_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
