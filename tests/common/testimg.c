/*
 * testimg.c — see testimg.h.
 *
 * Part 1: images.  Layers are tar streams written by libarchive (pax, restricted: a pax header
 * only where ustar cannot say it, e.g. xattrs) to memory; the same entries are written once
 * without a filter (for the diff_id) and once with the layer's filter (the blob).  Blobs go to
 * <layout>/blobs/sha256/<hex>; configs and manifests are compact JSON with sorted keys.
 *
 * Part 2: the registry.  docker-registry is a child process; its access log (stdout) and its own
 * log go to <dir>/registry.log.  Pushes use libcurl against 127.0.0.1 only (proxies disabled).
 * For TOKEN registries a small HTTP server thread issues RS256 JWTs the way distribution 2.8
 * verifies them: header x5c = [our self-signed certificate, DER base64], which must chain to the
 * configured rootcertbundle (the same certificate); claims iss/aud must equal the configured
 * issuer/service; exp/nbf within 60 s leeway; access lists the granted repository actions.
 */
#include "testimg.h"
#include "tmpdir.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/manifest.h"

#define CREATED "2024-01-01T00:00:00Z"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define BIG_SIZE (64u << 20)

/* The media types are the daemon's (image/manifest.h); this one it has no use for. */
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

#define TOKEN_SERVICE "litecri-test-registry"
#define TOKEN_ISSUER "litecri-test-issuer"

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

/* Print "testimg: <message>" on stderr; return -1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("testimg: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* A growable byte buffer. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* Append n bytes; 0 or -1 on out-of-memory. */
static int buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (!p)
			return fail("out of memory (%zu bytes)", cap);
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0'; /* always NUL-terminated, for text */
	return 0;
}

/* Release the buffer's memory and reset it. */
static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Read a whole file into b (NUL-terminated). */
static int read_file(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return fail("read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, (size_t)n) < 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	if (!b->p && buf_add(b, "", 0) < 0)
		return -1;
	return 0;
}

/* Write data to path atomically (path.tmp, then rename). */
static int write_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return fail("path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("create %s: %s", tmp, strerror(errno));
	const unsigned char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return fail("write %s: %s", tmp, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		unlink(tmp);
		return fail("close %s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return fail("rename %s: %s", path, strerror(e));
	}
	return 0;
}

/* mkdir that accepts an existing directory. */
static int mkdir_ok(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail("mkdir %s: %s", dir, strerror(errno));
	return 0;
}

/* "sha256:<hex>" of data into out (72 bytes). */
static int sha256_digest(const void *data, size_t len, char out[72])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return fail("sha256 failed");
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The hex part of a "sha256:<hex>" digest (NULL if it is not one). */
static const char *hex_of(const char *digest)
{
	if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
		return NULL;
	return digest + 7;
}

/* Dump JSON compact with sorted keys (deterministic bytes); NULL on failure. */
static char *json_bytes(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		fail("json_dumps failed");
	return s;
}

const char *testimg_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* tar layers                                                                                 */

/* One tar entry; zero fields mean "none". */
struct ent {
	const char *path;
	unsigned type; /* AE_IFREG, AE_IFDIR, AE_IFLNK */
	unsigned mode;
	int uid, gid;
	const char *text;       /* regular file content as a string, or: */
	const void *data;       /* regular file content as bytes (size) */
	size_t size;
	const char *symlink;    /* AE_IFLNK target */
	const char *hardlink;   /* regular file that is a hard link to this earlier path */
	const char *xattr_name; /* one extended attribute */
	const char *xattr_value;
};

/* Write one entry (header and data) to a. */
static int tar_add(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	if (!ae)
		return fail("archive_entry_new: out of memory");
	const unsigned char *data = e->text ? (const unsigned char *)e->text : e->data;
	size_t size = e->text ? strlen(e->text) : e->size;
	if (e->type != AE_IFREG || e->hardlink)
		size = 0;
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, e->type);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, TESTIMG_MTIME, 0);
	if (e->symlink)
		archive_entry_set_symlink(ae, e->symlink);
	if (e->hardlink)
		archive_entry_set_hardlink(ae, e->hardlink);
	archive_entry_set_size(ae, (la_int64_t)size);
	if (e->xattr_name)
		archive_entry_xattr_add_entry(ae, e->xattr_name, e->xattr_value, strlen(e->xattr_value));
	int rc = archive_write_header(a, ae);
	archive_entry_free(ae);
	if (rc != ARCHIVE_OK)
		return fail("tar header %s: %s", e->path, archive_error_string(a));
	size_t off = 0;
	while (off < size) {
		size_t n = size - off > (1u << 20) ? (1u << 20) : size - off;
		la_ssize_t w = archive_write_data(a, data + off, n);
		if (w <= 0)
			return fail("tar data %s: %s", e->path, archive_error_string(a));
		off += (size_t)w;
	}
	return 0;
}

/* Write a list of entries (terminated by one with path NULL). */
static int tar_add_all(struct archive *a, const struct ent *list)
{
	for (const struct ent *e = list; e->path; e++)
		if (tar_add(a, e) < 0)
			return -1;
	return 0;
}

/* A layer's entries: writes them to a; arg is the layer's own data. */
typedef int (*layer_fill_fn)(struct archive *a, const void *arg);

/* BASE: busybox with its links, users, a private file, an xattr.  arg: struct buf (busybox). */
static int fill_base(struct archive *a, const void *arg)
{
	const struct buf *bb = arg;
	const struct ent list[] = {
		{ .path = "bin", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "bin/busybox", .type = AE_IFREG, .mode = 0755, .data = bb->p, .size = bb->len },
		{ .path = "bin/cat", .type = AE_IFREG, .mode = 0755, .hardlink = "bin/busybox" },
		{ .path = "bin/ls", .type = AE_IFLNK, .mode = 0777, .symlink = "busybox" },
		{ .path = "bin/sh", .type = AE_IFLNK, .mode = 0777, .symlink = "busybox" },
		{ .path = "etc", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "etc/group", .type = AE_IFREG, .mode = 0644,
		  .text = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n" },
		{ .path = "etc/passwd", .type = AE_IFREG, .mode = 0644,
		  .text = "root:x:0:0:root:/root:/bin/sh\n"
			  "app:x:1000:1000:app:/home/app:/bin/sh\n"
			  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
		{ .path = "etc/xattr-file", .type = AE_IFREG, .mode = 0644, .text = "has an xattr\n",
		  .xattr_name = "user.litecri", .xattr_value = "test" },
		{ .path = "home", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "home/app", .type = AE_IFDIR, .mode = 0755, .uid = 1000, .gid = 1000 },
		{ .path = "home/app/secret", .type = AE_IFREG, .mode = 0640, .uid = 1000, .gid = 1000,
		  .text = "secret\n" },
		{ .path = "tmp", .type = AE_IFDIR, .mode = 01777 },
		{ 0 },
	};
	return tar_add_all(a, list);
}

/* MULTI's second layer (uncompressed): files the third layer deletes or hides. */
static int fill_multi2(struct archive *a, const void *arg)
{
	(void)arg;
	const struct ent list[] = {
		{ .path = "data", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "data/a", .type = AE_IFREG, .mode = 0644, .text = "a\n" },
		{ .path = "data/b", .type = AE_IFREG, .mode = 0644, .text = "b\n" },
		{ .path = "data/keep", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "data/keep/x", .type = AE_IFREG, .mode = 0644, .text = "x\n" },
		{ .path = "opt", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "opt/old", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "opt/old/y", .type = AE_IFREG, .mode = 0644, .text = "y\n" },
		{ .path = "opt/old/z", .type = AE_IFREG, .mode = 0644, .text = "z\n" },
		{ 0 },
	};
	return tar_add_all(a, list);
}

/* MULTI's third layer (zstd): a whiteout for /data/a, an opaque /opt/old with one new file. */
static int fill_multi3(struct archive *a, const void *arg)
{
	(void)arg;
	const struct ent list[] = {
		{ .path = "data", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "data/.wh.a", .type = AE_IFREG, .mode = 0644, .text = "" },
		{ .path = "opt", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "opt/old", .type = AE_IFDIR, .mode = 0755 },
		{ .path = "opt/old/.wh..wh..opq", .type = AE_IFREG, .mode = 0644, .text = "" },
		{ .path = "opt/old/new", .type = AE_IFREG, .mode = 0644, .text = "new\n" },
		{ 0 },
	};
	return tar_add_all(a, list);
}

/* INDEX's second layer: /arch holding the arch name and a newline.  arg: the name. */
static int fill_arch(struct archive *a, const void *arg)
{
	char text[32];
	snprintf(text, sizeof text, "%s\n", (const char *)arg);
	const struct ent e = { .path = "arch", .type = AE_IFREG, .mode = 0644, .text = text };
	return tar_add(a, &e);
}

/* BIG's second layer: /big.  arg: struct buf with the bytes. */
static int fill_big(struct archive *a, const void *arg)
{
	const struct buf *b = arg;
	const struct ent e = { .path = "big", .type = AE_IFREG, .mode = 0644, .data = b->p, .size = b->len };
	return tar_add(a, &e);
}

/* libarchive write callback: append to a struct buf. */
static la_ssize_t buf_write_cb(struct archive *a, void *ud, const void *d, size_t n)
{
	(void)a;
	if (buf_add(ud, d, n) < 0)
		return -1;
	return (la_ssize_t)n;
}

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

/* Write the entries of `fill` as a pax tar with filter c into out (no block padding). */
static int build_tar(layer_fill_fn fill, const void *arg, enum comp c, struct buf *out)
{
	struct archive *a = archive_write_new();
	if (!a)
		return fail("archive_write_new: out of memory");
	int rc = archive_write_set_format_pax_restricted(a);
	if (rc == ARCHIVE_OK) {
		if (c == COMP_GZIP) {
			rc = archive_write_add_filter_gzip(a);
			if (rc == ARCHIVE_OK) /* no mtime in the gzip header: deterministic bytes */
				rc = archive_write_set_options(a, "gzip:!timestamp");
		} else if (c == COMP_ZSTD) {
			rc = archive_write_add_filter_zstd(a);
		} else {
			rc = archive_write_add_filter_none(a);
		}
	}
	if (rc == ARCHIVE_OK)
		rc = archive_write_set_bytes_in_last_block(a, 1);
	if (rc == ARCHIVE_OK)
		rc = archive_write_open(a, out, NULL, buf_write_cb, NULL);
	if (rc != ARCHIVE_OK) {
		fail("tar setup (filter %d): %s", (int)c, archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	if (fill(a, arg) < 0) {
		archive_write_free(a);
		return -1;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fail("tar close: %s", archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	archive_write_free(a);
	return 0;
}

/* Decompress a blob (gzip, zstd or none) into out, with libarchive's raw reader. */
static int decompress(const struct buf *in, struct buf *out)
{
	struct archive *a = archive_read_new();
	if (!a)
		return fail("archive_read_new: out of memory");
	struct archive_entry *ae;
	int rc = archive_read_support_filter_all(a);
	if (rc == ARCHIVE_OK)
		rc = archive_read_support_format_raw(a);
	if (rc == ARCHIVE_OK)
		rc = archive_read_open_memory(a, in->p, in->len);
	if (rc == ARCHIVE_OK)
		rc = archive_read_next_header(a, &ae);
	if (rc != ARCHIVE_OK) {
		fail("decompress: %s", archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	char chunk[65536];
	la_ssize_t n;
	while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0)
		if (buf_add(out, chunk, (size_t)n) < 0) {
			archive_read_free(a);
			return -1;
		}
	if (n < 0) {
		fail("decompress: %s", archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the layout                                                                                 */

/* Create <layout>, <layout>/blobs/sha256 and oci-layout. */
static int layout_init(const char *layout)
{
	char p[PATH_MAX];
	if (mkdir_ok(layout) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/blobs", layout);
	if (mkdir_ok(p) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/blobs/sha256", layout);
	if (mkdir_ok(p) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/oci-layout", layout);
	const char *text = "{\"imageLayoutVersion\":\"1.0.0\"}";
	return write_file(p, text, strlen(text));
}

/* Path of blob `digest` in layout. */
static int blob_path(const char *layout, const char *digest, char *out, size_t cap)
{
	const char *hex = hex_of(digest);
	if (!hex)
		return fail("not a sha256 digest: %s", digest);
	if (snprintf(out, cap, "%s/blobs/sha256/%s", layout, hex) >= (int)cap)
		return fail("path too long: %s", layout);
	return 0;
}

/* Store data as a blob; its digest into digest_out.  An existing blob is left as it is. */
static int put_blob(const char *layout, const void *data, size_t len, char digest_out[72])
{
	if (sha256_digest(data, len, digest_out) < 0)
		return -1;
	char p[PATH_MAX];
	if (blob_path(layout, digest_out, p, sizeof p) < 0)
		return -1;
	struct stat st;
	if (stat(p, &st) == 0 && (size_t)st.st_size == len)
		return 0;
	return write_file(p, data, len);
}

/* Read blob `digest` from layout into b. */
static int get_blob(const char *layout, const char *digest, struct buf *b)
{
	char p[PATH_MAX];
	if (blob_path(layout, digest, p, sizeof p) < 0)
		return -1;
	return read_file(p, b);
}

/* A layer as stored. */
struct layer {
	char digest[72];
	char diff_id[72];
	const char *media_type;
	long long size;
};

/* Build a layer from `fill` with compression c, store its blob, describe it in *l. */
static int make_layer(const char *layout, layer_fill_fn fill, const void *arg, enum comp c, int docker,
		      struct layer *l)
{
	struct buf raw = { 0 }, comp = { 0 };
	int rc = -1;
	if (build_tar(fill, arg, COMP_NONE, &raw) < 0)
		goto out;
	if (sha256_digest(raw.p, raw.len, l->diff_id) < 0)
		goto out;
	const struct buf *blob = &raw;
	if (c != COMP_NONE) {
		if (build_tar(fill, arg, c, &comp) < 0)
			goto out;
		blob = &comp;
	}
	if (put_blob(layout, blob->p, blob->len, l->digest) < 0)
		goto out;
	l->size = (long long)blob->len;
	if (docker)
		l->media_type = c == COMP_GZIP ? MT_DOCKER_LAYER_GZIP : MT_DOCKER_LAYER;
	else
		l->media_type = c == COMP_GZIP ? MT_OCI_LAYER_GZIP : c == COMP_ZSTD ? MT_OCI_LAYER_ZSTD : MT_OCI_LAYER;
	if (docker && c == COMP_ZSTD) {
		fail("no zstd layers in Docker images");
		goto out;
	}
	rc = 0;
out:
	buf_free(&raw);
	buf_free(&comp);
	return rc;
}

/* {"mediaType", "digest", "size"} */
static json_t *descriptor(const char *media_type, const char *digest, long long size)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t)size);
	if (!d)
		fail("json_pack descriptor failed");
	return d;
}

/* Store a JSON document as a blob; digest and size out. */
static int put_json_blob(const char *layout, const json_t *j, char digest[72], long long *size)
{
	char *s = json_bytes(j);
	if (!s)
		return -1;
	int rc = put_blob(layout, s, strlen(s), digest);
	*size = (long long)strlen(s);
	free(s);
	return rc;
}

/* What build_image made. */
struct built {
	char manifest_digest[72];
	long long manifest_size;
	const char *manifest_media_type;
	char config_digest[72];
};

/*
 * Write the config (with `cfg` as its "config" object; cfg is consumed) and the manifest of an
 * image of `arch` made of layers[0..n), OCI or Docker media types.
 */
static int build_image(const char *layout, const char *arch, int docker, json_t *cfg, const struct layer *layers,
		       int n, struct built *b)
{
	int rc = -1;
	json_t *config = NULL, *manifest = NULL;
	json_t *diff_ids = json_array(), *history = json_array(), *mlayers = json_array();
	if (!cfg || !diff_ids || !history || !mlayers) {
		fail("out of memory building the image JSON");
		json_decref(cfg);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char by[64];
		snprintf(by, sizeof by, "litecri testimg layer %d", i);
		json_t *h = json_pack("{s:s, s:s}", "created", CREATED, "created_by", by);
		json_t *d = descriptor(layers[i].media_type, layers[i].digest, layers[i].size);
		if (!h || !d || json_array_append_new(diff_ids, json_string(layers[i].diff_id)) < 0 ||
		    json_array_append_new(history, h) < 0 || json_array_append_new(mlayers, d) < 0) {
			fail("out of memory building the image JSON");
			json_decref(cfg);
			goto out;
		}
	}
	config = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:O}, s:O}", "architecture", arch, "os", "linux", "created",
			   CREATED, "config", cfg, "rootfs", "type", "layers", "diff_ids", diff_ids, "history", history);
	if (!config) {
		fail("json_pack config failed");
		goto out;
	}
	long long config_size;
	if (put_json_blob(layout, config, b->config_digest, &config_size) < 0)
		goto out;
	b->manifest_media_type = docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
	json_t *cdesc = descriptor(docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG, b->config_digest, config_size);
	if (!cdesc)
		goto out;
	manifest = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", b->manifest_media_type, "config",
			     cdesc, "layers", mlayers);
	if (!manifest) {
		fail("json_pack manifest failed");
		goto out;
	}
	if (put_json_blob(layout, manifest, b->manifest_digest, &b->manifest_size) < 0)
		goto out;
	rc = 0;
out:
	json_decref(config);
	json_decref(manifest);
	json_decref(diff_ids);
	json_decref(history);
	json_decref(mlayers);
	return rc;
}

/* Record digest in <layout>/index.json under ref_name (replacing an entry with that name). */
static int layout_add_ref(const char *layout, const char *media_type, const char *digest, long long size,
			  const char *ref_name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/index.json", layout);
	json_t *index = NULL;
	struct stat st;
	if (stat(p, &st) == 0) {
		json_error_t je;
		index = json_load_file(p, 0, &je);
		if (!index)
			return fail("%s: %s", p, je.text);
	} else {
		index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests");
		if (!index)
			return fail("json_pack index failed");
	}
	json_t *ms = json_object_get(index, "manifests");
	if (!json_is_array(ms)) {
		json_decref(index);
		return fail("%s: no manifests array", p);
	}
	for (size_t i = 0; ref_name && i < json_array_size(ms);) {
		json_t *name = json_object_get(json_object_get(json_array_get(ms, i), "annotations"), REF_NAME_ANNOTATION);
		if (json_is_string(name) && strcmp(json_string_value(name), ref_name) == 0)
			json_array_remove(ms, i);
		else
			i++;
	}
	json_t *d = descriptor(media_type, digest, size);
	if (!d || (ref_name && json_object_set_new(d, "annotations", json_pack("{s:s}", REF_NAME_ANNOTATION, ref_name)) < 0) ||
	    json_array_append_new(ms, d) < 0) {
		json_decref(index);
		return fail("out of memory updating %s", p);
	}
	char *s = json_bytes(index);
	json_decref(index);
	if (!s)
		return -1;
	int rc = write_file(p, s, strlen(s));
	free(s);
	return rc;
}

/* The "config" object every image starts from: Cmd ["/bin/sh"], Env [PATH]. */
static json_t *base_cfg(void)
{
	json_t *c = json_pack("{s:[s], s:[s]}", "Cmd", "/bin/sh", "Env", DEFAULT_PATH);
	if (!c)
		fail("json_pack config failed");
	return c;
}

/* Add a label to a config object (consumed and returned; NULL on failure). */
static json_t *with_label(json_t *cfg, const char *key, const char *value)
{
	if (!cfg)
		return NULL;
	json_t *labels = json_pack("{s:s}", key, value);
	if (!labels || json_object_set_new(cfg, "Labels", labels) < 0) {
		json_decref(cfg);
		fail("out of memory adding a label");
		return NULL;
	}
	return cfg;
}

/* PAUSE: the program as /pause.  arg: struct buf (the program). */
static int fill_pause(struct archive *a, const void *arg)
{
	const struct buf *prog = arg;
	const struct ent list[] = {
		{ .path = "pause", .type = AE_IFREG, .mode = 0755, .data = prog->p, .size = prog->len },
		{ 0 },
	};
	return tar_add_all(a, list);
}

/* Deterministic incompressible bytes (xorshift64*). */
static int big_bytes(struct buf *b)
{
	b->p = malloc(BIG_SIZE + 1);
	if (!b->p)
		return fail("out of memory (%u bytes)", BIG_SIZE);
	b->cap = BIG_SIZE + 1;
	b->len = BIG_SIZE;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < BIG_SIZE; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545f4914f6cdd1dull;
		memcpy(b->p + i, &v, 8);
	}
	b->p[BIG_SIZE] = '\0';
	return 0;
}

/* Chain IDs from diff IDs (OCI image spec: ChainID(L0) = DiffID(L0), then sha256 of "prev next"). */
static int chain_ids(struct testimg *img)
{
	for (int i = 0; i < img->n_layers; i++) {
		if (i == 0) {
			strcpy(img->chain_ids[0], img->diff_ids[0]);
			continue;
		}
		char s[160];
		snprintf(s, sizeof s, "%s %s", img->chain_ids[i - 1], img->diff_ids[i]);
		if (sha256_digest(s, strlen(s), img->chain_ids[i]) < 0)
			return -1;
	}
	return 0;
}

/* Copy layers into img's arrays and the image's own digests. */
static void describe(struct testimg *img, const struct layer *layers, int n, const struct built *b)
{
	img->n_layers = n;
	for (int i = 0; i < n; i++) {
		strcpy(img->layer_digests[i], layers[i].digest);
		strcpy(img->diff_ids[i], layers[i].diff_id);
	}
	strcpy(img->config_digest, b->config_digest);
	strcpy(img->manifest_digest, b->manifest_digest);
	strcpy(img->digest, b->manifest_digest);
	snprintf(img->media_type, sizeof img->media_type, "%s", b->manifest_media_type);
	img->size = b->manifest_size;
}

/* The INDEX kind: two images and an index over them. */
static int build_index(const char *layout, const struct layer *base, struct testimg *out)
{
	const char *host = testimg_host_arch();
	const char *other = strcmp(host, "amd64") == 0 ? "arm64" : "amd64";
	const char *arches[2] = { host, other };
	struct built b[2];
	struct layer layers[2][2];
	json_t *manifests = json_array();
	if (!manifests)
		return fail("out of memory");
	for (int i = 0; i < 2; i++) {
		layers[i][0] = *base;
		if (make_layer(layout, fill_arch, arches[i], COMP_GZIP, 0, &layers[i][1]) < 0 ||
		    build_image(layout, arches[i], 0, with_label(base_cfg(), "org.litecri.test.arch", arches[i]),
				layers[i], 2, &b[i]) < 0) {
			json_decref(manifests);
			return -1;
		}
		json_t *d = descriptor(MT_OCI_MANIFEST, b[i].manifest_digest, b[i].manifest_size);
		if (!d || json_object_set_new(d, "platform", json_pack("{s:s, s:s}", "architecture", arches[i], "os", "linux")) < 0 ||
		    json_array_append_new(manifests, d) < 0) {
			json_decref(manifests);
			return fail("out of memory building the index");
		}
	}
	json_t *index = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests", manifests);
	if (!index)
		return fail("json_pack index failed");
	describe(out, layers[0], 2, &b[0]);
	snprintf(out->other_arch, sizeof out->other_arch, "%s", other);
	strcpy(out->other_config_digest, b[1].config_digest);
	int rc = put_json_blob(layout, index, out->digest, &out->size);
	json_decref(index);
	snprintf(out->media_type, sizeof out->media_type, "%s", MT_OCI_INDEX);
	return rc;
}

/* A built image's chain IDs, and its entry in <layout>/index.json under ref_name. */
static int finish(const char *layout, const char *ref_name, struct testimg *out)
{
	if (chain_ids(out) < 0)
		return -1;
	return layout_add_ref(layout, out->media_type, out->digest, out->size, ref_name);
}

int testimg_build(const char *layout, enum testimg_kind kind, const char *ref_name, struct testimg *out)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	snprintf(out->arch, sizeof out->arch, "%s", testimg_host_arch());
	if (layout_init(layout) < 0)
		return -1;
	struct buf bb = { 0 }, big = { 0 };
	struct layer layers[TESTIMG_MAX_LAYERS];
	struct built b;
	int rc = -1;
	memset(layers, 0, sizeof layers);
	if (read_file("/bin/busybox", &bb) < 0)
		goto out;
	if (make_layer(layout, fill_base, &bb, COMP_GZIP, kind == TESTIMG_DOCKER, &layers[0]) < 0)
		goto out;
	switch (kind) {
	case TESTIMG_BASE:
		if (build_image(layout, out->arch, 0, base_cfg(), layers, 1, &b) < 0)
			goto out;
		describe(out, layers, 1, &b);
		break;
	case TESTIMG_DOCKER:
		if (build_image(layout, out->arch, 1, with_label(base_cfg(), "org.litecri.test", "docker"), layers, 1,
				&b) < 0)
			goto out;
		describe(out, layers, 1, &b);
		break;
	case TESTIMG_MULTI: {
		if (make_layer(layout, fill_multi2, NULL, COMP_NONE, 0, &layers[1]) < 0 ||
		    make_layer(layout, fill_multi3, NULL, COMP_ZSTD, 0, &layers[2]) < 0)
			goto out;
		json_t *cfg = json_pack("{s:s, s:[s,s], s:[s], s:[s,s], s:s, s:s, s:{s:{}}, s:{s:s}}", "User", "1000",
					"Entrypoint", "/bin/sh", "-c", "Cmd", "echo hi", "Env", DEFAULT_PATH,
					"LITECRI_TEST=multi", "WorkingDir", "/data", "StopSignal", "SIGUSR1", "ExposedPorts",
					"8080/tcp", "Labels", "org.litecri.test", "multi");
		if (!cfg) {
			fail("json_pack MULTI config failed");
			goto out;
		}
		if (build_image(layout, out->arch, 0, cfg, layers, 3, &b) < 0)
			goto out;
		describe(out, layers, 3, &b);
		break;
	}
	case TESTIMG_INDEX:
		if (build_index(layout, &layers[0], out) < 0)
			goto out;
		break;
	case TESTIMG_BIG:
		if (big_bytes(&big) < 0 || make_layer(layout, fill_big, &big, COMP_NONE, 0, &layers[1]) < 0)
			goto out;
		if (build_image(layout, out->arch, 0, base_cfg(), layers, 2, &b) < 0)
			goto out;
		describe(out, layers, 2, &b);
		break;
	case TESTIMG_USERNAME: {
		json_t *cfg = base_cfg();
		if (!cfg || json_object_set_new(cfg, "User", json_string("app")) < 0) {
			json_decref(cfg);
			fail("out of memory building the USERNAME config");
			goto out;
		}
		if (build_image(layout, out->arch, 0, cfg, layers, 1, &b) < 0)
			goto out;
		describe(out, layers, 1, &b);
		break;
	}
	case TESTIMG_PAUSE:
		fail("TESTIMG_PAUSE is built by testimg_build_pause");
		goto out;
	default:
		fail("unknown image kind %d", (int)kind);
		goto out;
	}
	if (finish(layout, ref_name, out) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&bb);
	buf_free(&big);
	return rc;
}

int testimg_build_pause(const char *layout, const char *program, const char *ref_name, struct testimg *out)
{
	memset(out, 0, sizeof *out);
	out->kind = TESTIMG_PAUSE;
	snprintf(out->arch, sizeof out->arch, "%s", testimg_host_arch());
	struct buf prog = { 0 };
	struct layer layer;
	struct built b;
	int rc = -1;
	memset(&layer, 0, sizeof layer);
	if (layout_init(layout) < 0 || read_file(program, &prog) < 0 ||
	    make_layer(layout, fill_pause, &prog, COMP_GZIP, 0, &layer) < 0)
		goto out;
	json_t *cfg = json_pack("{s:[s], s:[s]}", "Entrypoint", "/pause", "Env", DEFAULT_PATH);
	if (!cfg) {
		fail("json_pack PAUSE config failed");
		goto out;
	}
	if (build_image(layout, out->arch, 0, cfg, &layer, 1, &b) < 0)
		goto out;
	describe(out, &layer, 1, &b);
	if (finish(layout, ref_name, out) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&prog);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* archives of a layout                                                                       */

/* Open a pax tar file for writing. */
static struct archive *tar_create(const char *path)
{
	struct archive *a = archive_write_new();
	if (!a) {
		fail("archive_write_new: out of memory");
		return NULL;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		fail("%s: %s", path, archive_error_string(a));
		archive_write_free(a);
		return NULL;
	}
	return a;
}

/* Finish a tar file; 0 or -1. */
static int tar_finish(struct archive *a, const char *path)
{
	int rc = archive_write_close(a) == ARCHIVE_OK ? 0 : fail("%s: %s", path, archive_error_string(a));
	archive_write_free(a);
	return rc;
}

/* Add a directory entry. */
static int tar_add_dir(struct archive *a, const char *name)
{
	const struct ent e = { .path = name, .type = AE_IFDIR, .mode = 0755 };
	return tar_add(a, &e);
}

/* Add a regular file with content from memory. */
static int tar_add_bytes(struct archive *a, const char *name, const void *data, size_t len)
{
	const struct ent e = { .path = name, .type = AE_IFREG, .mode = 0644, .data = data, .size = len };
	return tar_add(a, &e);
}

/* Add a regular file from disk. */
static int tar_add_path(struct archive *a, const char *name, const char *path)
{
	struct buf b = { 0 };
	if (read_file(path, &b) < 0)
		return -1;
	int rc = tar_add_bytes(a, name, b.p, b.len);
	buf_free(&b);
	return rc;
}

int testimg_layout_tar(const char *layout, const char *tar_path)
{
	char dir[PATH_MAX], p[PATH_MAX + 512], name[512];
	snprintf(dir, sizeof dir, "%s/blobs/sha256", layout);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return fail("scandir %s: %s", dir, strerror(errno));
	struct archive *a = tar_create(tar_path);
	int rc = a ? 0 : -1;
	if (rc == 0)
		rc = tar_add_dir(a, "blobs");
	if (rc == 0)
		rc = tar_add_dir(a, "blobs/sha256");
	for (int i = 0; i < n; i++) {
		if (rc == 0 && list[i]->d_name[0] != '.') {
			snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name);
			snprintf(name, sizeof name, "blobs/sha256/%s", list[i]->d_name);
			rc = tar_add_path(a, name, p);
		}
		free(list[i]);
	}
	free(list);
	if (rc == 0) {
		snprintf(p, sizeof p, "%s/index.json", layout);
		rc = tar_add_path(a, "index.json", p);
	}
	if (rc == 0) {
		snprintf(p, sizeof p, "%s/oci-layout", layout);
		rc = tar_add_path(a, "oci-layout", p);
	}
	if (a && tar_finish(a, tar_path) < 0)
		rc = -1;
	return rc;
}

int testimg_docker_save(const char *layout, const struct testimg *img, const char *repo_tag, const char *tar_path)
{
	struct buf mbuf = { 0 }, cbuf = { 0 };
	json_t *m = NULL, *out = NULL, *layers = json_array();
	struct archive *a = NULL;
	int rc = -1;
	char name[PATH_MAX];
	if (!layers) {
		fail("out of memory");
		goto done;
	}
	if (get_blob(layout, img->manifest_digest, &mbuf) < 0 || get_blob(layout, img->config_digest, &cbuf) < 0)
		goto done;
	json_error_t je;
	m = json_loads((const char *)mbuf.p, 0, &je);
	json_t *ml = json_object_get(m, "layers");
	if (!m || !json_is_array(ml) || (int)json_array_size(ml) != img->n_layers) {
		fail("manifest %s: unexpected content", img->manifest_digest);
		goto done;
	}
	a = tar_create(tar_path);
	if (!a)
		goto done;
	char config_name[96];
	snprintf(config_name, sizeof config_name, "%s.json", hex_of(img->config_digest));
	if (tar_add_bytes(a, config_name, cbuf.p, cbuf.len) < 0)
		goto done;
	for (int i = 0; i < img->n_layers; i++) {
		struct buf blob = { 0 }, raw = { 0 };
		const char *id = hex_of(img->diff_ids[i]);
		int ok = get_blob(layout, img->layer_digests[i], &blob) == 0 && decompress(&blob, &raw) == 0 &&
			 tar_add_dir(a, id) == 0;
		if (ok) {
			snprintf(name, sizeof name, "%s/layer.tar", id);
			ok = tar_add_bytes(a, name, raw.p, raw.len) == 0 && json_array_append_new(layers, json_string(name)) == 0;
		}
		buf_free(&blob);
		buf_free(&raw);
		if (!ok)
			goto done;
	}
	out = json_pack("[{s:s, s:[s], s:O}]", "Config", config_name, "RepoTags", repo_tag, "Layers", layers);
	char *s = out ? json_bytes(out) : NULL;
	if (!s) {
		fail("json for manifest.json failed");
		goto done;
	}
	rc = tar_add_bytes(a, "manifest.json", s, strlen(s));
	free(s);
done:
	if (a && tar_finish(a, tar_path) < 0)
		rc = -1;
	json_decref(m);
	json_decref(out);
	json_decref(layers);
	buf_free(&mbuf);
	buf_free(&cbuf);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP with libcurl (127.0.0.1 only)                                                         */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

/* curl_global_init, once per process. */
static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct http_resp {
	long status;
	struct buf body;
	char location[2048];
	char www_auth[1024];
};

/* Copy a header's value (trimmed) if the line is "<name>: value". */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (vl >= cap)
		vl = cap - 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
}

/* libcurl header callback: keep Location and WWW-Authenticate. */
static size_t header_cb(char *line, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t len = size * n;
	header_value(line, len, "Location", r->location, sizeof r->location);
	header_value(line, len, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
	return len;
}

/* libcurl body callback: append to the response buffer. */
static size_t body_cb(char *data, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	if (buf_add(&r->body, data, size * n) < 0)
		return 0;
	return size * n;
}

/*
 * One request.  method "GET", "HEAD", "POST", "PUT"; `headers` NULL-terminated extra headers;
 * userpwd "user:pass" for basic auth or NULL; body/len for POST and PUT.  `ca`: NULL or "" for
 * plain http only; else https is allowed too, verified (peer and host name) against that PEM CA
 * bundle.  Fills *resp (free its body with buf_free).  Returns 0 when an HTTP answer came (any
 * status), -1 on transport error.
 */
static int http_do(const char *method, const char *url, const char *const *headers, const char *userpwd,
		   const char *ca, const void *body, size_t len, struct http_resp *resp)
{
	memset(resp, 0, sizeof *resp);
	pthread_once(&curl_once, curl_init_once);
	if (!curl_ok)
		return fail("curl_global_init failed");
	int tls = ca && ca[0];
	if (strncmp(url, "http://127.0.0.1:", 17) != 0 && !(tls && strncmp(url, "https://127.0.0.1:", 18) == 0))
		return fail("refusing a request to anything but 127.0.0.1: %s", url);
	CURL *c = curl_easy_init();
	if (!c)
		return fail("curl_easy_init failed");
	struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		if (hl)
			hl = curl_slist_append(hl, headers[i]);
	if (!hl) {
		curl_easy_cleanup(c);
		return fail("out of memory");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, tls ? "http,https" : "http");
	if (tls) {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	if (userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	}
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		buf_free(&resp->body);
		return fail("%s %s: %s", method, url, curl_easy_strerror(cc));
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the token server                                                                           */

struct token_server {
	int fd;             /* listening socket on 127.0.0.1 */
	int stop_pipe[2];   /* written to stop the thread */
	pthread_t thread;
	int thread_started;
	EVP_PKEY *key;
	char *cert_b64;     /* the certificate, DER, standard base64 */
	char userpass[70];  /* "user:pass" */
	atomic_int issued;
};

/* base64 (standard, padded) of data; malloc'ed. */
static char *b64(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out) {
		fail("out of memory");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* base64url without padding (JOSE) of data; malloc'ed. */
static char *b64url(const void *data, size_t len)
{
	char *s = b64(data, len);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return s;
}

/* Decode standard base64 into out (cap bytes, NUL-terminated); -1 if malformed. */
static int unb64(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n % 4 || n / 4 * 3 + 1 > cap)
		return -1;
	int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
	if (len < 0)
		return -1;
	while (n && in[n - 1] == '=')
		n--, len--;
	out[len] = '\0';
	return len;
}

/*
 * A certificate for `key` named CN=cn, valid from an hour ago for a day, signed by issuer's key
 * (self-signed when issuer is NULL).  san NULL: a CA (CA:TRUE; digitalSignature, keyCertSign,
 * cRLSign); else a TLS server certificate (CA:FALSE; digitalSignature, keyEncipherment;
 * serverAuth) with subjectAltName `san` ("IP:...,DNS:...").  NULL on failure.
 */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san)
{
	X509 *x = X509_new();
	uint32_t serial;
	if (!x || RAND_bytes((unsigned char *)&serial, sizeof serial) != 1)
		goto err;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(serial & 0x7fffffff) + 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
		goto err;
	const struct {
		int nid;
		const char *value;
	} ext[] = {
		{ NID_basic_constraints, san ? "critical,CA:FALSE" : "critical,CA:TRUE" },
		{ NID_key_usage, san ? "critical,digitalSignature,keyEncipherment"
				     : "critical,digitalSignature,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
		{ san ? NID_ext_key_usage : NID_undef, "serverAuth" },
		{ san ? NID_subject_alt_name : NID_undef, san },
	};
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		if (ext[i].nid == NID_undef)
			continue;
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, ext[i].nid, ext[i].value);
		int ok = e && X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		if (!ok)
			goto err;
	}
	if (!X509_sign(x, issuer ? issuer_key : key, EVP_sha256()))
		goto err;
	return x;
err:
	X509_free(x);
	return NULL;
}

/* Write certificate x (if not NULL) and private key (if not NULL; PKCS#8, unencrypted) as PEM to
 * a new file at path (mode 0600).  0 or -1. */
static int write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail("create %s: %s", path, strerror(e));
	}
	int ok = (!x || PEM_write_X509(f, x)) && (!key || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	if (fclose(f) != 0 || !ok)
		return fail("write %s failed", path);
	return 0;
}

/* Make an RSA key and a self-signed certificate for it (a CA: the registry's rootcertbundle). */
static int token_keys(struct token_server *ts, const char *cert_path)
{
	int rc = -1;
	X509 *x = NULL;
	unsigned char *der = NULL;
	ts->key = EVP_RSA_gen(2048);
	x = ts->key ? make_cert(ts->key, "litecri-test-token", NULL, NULL, NULL) : NULL;
	int dlen = x ? i2d_X509(x, &der) : -1;
	if (dlen <= 0) {
		fail("making the token signing certificate failed (libcrypto)");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	ts->cert_b64 = b64(der, (size_t)dlen);
	if (ts->cert_b64 && write_pem(cert_path, x, NULL) == 0)
		rc = 0;
out:
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

/* RS256 JWT for `sub` with the given access list (consumed). */
static char *make_jwt(struct token_server *ts, const char *sub, json_t *access)
{
	char *token = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *hs = NULL, *cs = NULL, *input = NULL;
	unsigned char *sig = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char jti[16];
	char jti_hex[33];
	if (RAND_bytes(jti, sizeof jti) != 1) {
		json_decref(access);
		fail("RAND_bytes failed");
		return NULL;
	}
	for (int i = 0; i < 16; i++)
		snprintf(jti_hex + 2 * i, 3, "%02x", jti[i]);
	json_int_t now = (json_int_t)time(NULL);
	json_t *header = json_pack("{s:s, s:s, s:[s]}", "alg", "RS256", "typ", "JWT", "x5c", ts->cert_b64);
	json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:o}", "iss", TOKEN_ISSUER, "sub", sub, "aud",
				   TOKEN_SERVICE, "exp", now + 300, "nbf", now - 10, "iat", now, "jti", jti_hex,
				   "access", access);
	if (!header || !claims)
		goto out;
	hs = json_bytes(header);
	cs = json_bytes(claims);
	if (!hs || !cs)
		goto out;
	h64 = b64url(hs, strlen(hs));
	c64 = b64url(cs, strlen(cs));
	if (!h64 || !c64 || asprintf(&input, "%s.%s", h64, c64) < 0) {
		input = NULL;
		goto out;
	}
	size_t siglen = 0;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ts->key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		fail("signing the token failed");
		goto out;
	}
	s64 = b64url(sig, siglen);
	if (!s64 || asprintf(&token, "%s.%s", input, s64) < 0)
		token = NULL;
out:
	if (!token)
		fail("making a token failed");
	json_decref(header);
	json_decref(claims);
	EVP_MD_CTX_free(md);
	free(sig);
	free(h64);
	free(c64);
	free(s64);
	free(hs);
	free(cs);
	free(input);
	return token;
}

/* Percent-decode s in place. */
static void url_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && s[1] && s[2]) {
			char hex[3] = { s[1], s[2], 0 };
			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
}

/* Send a whole HTTP response and nothing more. */
static void send_response(int fd, const char *status, const char *extra_headers, const char *body)
{
	char *msg = NULL;
	int n = asprintf(&msg,
			 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
			 status, strlen(body), extra_headers, body);
	if (n < 0)
		return;
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = send(fd, msg + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(msg);
}

/*
 * The access list for the requested scopes ("repository:<name>:<a,b>"; several scope parameters
 * or space-separated scopes), granting every pull/push/delete asked for.
 */
static json_t *grant(char *query)
{
	json_t *access = json_array();
	if (!access)
		return NULL;
	char *save = NULL;
	for (char *kv = strtok_r(query, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		if (strncmp(kv, "scope=", 6) != 0)
			continue;
		url_decode(kv + 6);
		char *s2 = NULL;
		for (char *scope = strtok_r(kv + 6, " ", &s2); scope; scope = strtok_r(NULL, " ", &s2)) {
			char *type = scope, *name = strchr(scope, ':'), *acts = strrchr(scope, ':');
			if (!name || name == acts)
				continue;
			*name++ = '\0';
			*acts++ = '\0';
			json_t *list = json_array(), *a3 = NULL;
			char *s3 = NULL;
			for (char *act = strtok_r(acts, ",", &s3); act && list; act = strtok_r(NULL, ",", &s3))
				if (!strcmp(act, "pull") || !strcmp(act, "push") || !strcmp(act, "delete"))
					json_array_append_new(list, json_string(act));
			if (list)
				a3 = json_pack("{s:s, s:s, s:o}", "type", type, "name", name, "actions", list);
			if (a3)
				json_array_append_new(access, a3);
		}
	}
	return access;
}

/* Serve one connection: GET /token?... with basic auth → a token, else 401/400/404. */
static void token_serve(struct token_server *ts, int fd)
{
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char req[16384];
	size_t len = 0;
	while (len < sizeof req - 1) {
		ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	if (!strstr(req, "\r\n\r\n"))
		return;
	char method[8] = "", target[4096] = "";
	if (sscanf(req, "%7s %4095s", method, target) != 2 || strcmp(method, "GET") != 0 ||
	    strncmp(target, "/token", 6) != 0 || (target[6] != '?' && target[6] != '\0')) {
		send_response(fd, "404 Not Found", "", "{\"errors\":[{\"code\":\"NOT_FOUND\"}]}");
		return;
	}
	/* Authorization: Basic <base64 user:pass> */
	int authed = 0;
	for (char *line = strstr(req, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		char *h = line + 2;
		if (strncasecmp(h, "Authorization:", 14) != 0)
			continue;
		char val[512] = "";
		if (sscanf(h + 14, " Basic %511s", val) == 1) {
			char dec[512];
			authed = unb64(val, dec, sizeof dec) > 0 && strcmp(dec, ts->userpass) == 0;
		}
		break;
	}
	if (!authed) {
		send_response(fd, "401 Unauthorized", "WWW-Authenticate: Basic realm=\"litecri-test-token\"\r\n",
			      "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad or missing credentials\"}]}");
		return;
	}
	char *query = strchr(target, '?');
	query = query ? query + 1 : target + strlen(target);
	char service[128] = "";
	char qcopy[4096];
	snprintf(qcopy, sizeof qcopy, "%s", query);
	char *save = NULL;
	for (char *kv = strtok_r(qcopy, "&", &save); kv; kv = strtok_r(NULL, "&", &save))
		if (strncmp(kv, "service=", 8) == 0) {
			url_decode(kv + 8);
			snprintf(service, sizeof service, "%s", kv + 8);
		}
	if (strcmp(service, TOKEN_SERVICE) != 0) {
		send_response(fd, "400 Bad Request", "", "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"unknown service\"}]}");
		return;
	}
	json_t *access = grant(query);
	char user[40];
	snprintf(user, sizeof user, "%.*s", (int)strcspn(ts->userpass, ":"), ts->userpass);
	char *jwt = access ? make_jwt(ts, user, access) : NULL;
	json_t *resp = jwt ? json_pack("{s:s, s:s, s:i, s:s}", "token", jwt, "access_token", jwt, "expires_in", 300,
				       "issued_at", CREATED) : NULL;
	char *body = resp ? json_bytes(resp) : NULL;
	if (body) {
		atomic_fetch_add(&ts->issued, 1);
		send_response(fd, "200 OK", "", body);
	} else {
		send_response(fd, "500 Internal Server Error", "", "{\"errors\":[{\"code\":\"UNKNOWN\"}]}");
	}
	free(body);
	json_decref(resp);
	free(jwt);
}

/* The server thread: accept and serve one connection at a time until the stop pipe is written. */
static void *token_thread(void *arg)
{
	struct token_server *ts = arg;
	for (;;) {
		struct pollfd p[2] = { { ts->fd, POLLIN, 0 }, { ts->stop_pipe[0], POLLIN, 0 } };
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(ts->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		token_serve(ts, c);
		close(c);
	}
	return NULL;
}

/* Stop the thread and release everything. */
static void token_server_free(struct token_server *ts)
{
	if (!ts)
		return;
	if (ts->thread_started) {
		ssize_t w;
		do
			w = write(ts->stop_pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(ts->thread, NULL);
	}
	if (ts->fd >= 0)
		close(ts->fd);
	if (ts->stop_pipe[0] >= 0)
		close(ts->stop_pipe[0]);
	if (ts->stop_pipe[1] >= 0)
		close(ts->stop_pipe[1]);
	EVP_PKEY_free(ts->key);
	free(ts->cert_b64);
	free(ts);
}

/* Listen on 127.0.0.1:<any port>; the socket into *fd, the port returned (-1 on failure). */
static int listen_local(int *fd, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(s, (struct sockaddr *)&sa, &sl) < 0 ||
	    (backlog > 0 && listen(s, backlog) < 0)) {
		int e = errno;
		close(s);
		return fail("bind/listen on 127.0.0.1: %s", strerror(e));
	}
	*fd = s;
	return ntohs(sa.sin_port);
}

/* Start the token server for r (keys, certificate in <dir>/token.crt, thread). */
static int token_server_start(struct testreg *r, const char *cert_path)
{
	struct token_server *ts = calloc(1, sizeof *ts);
	if (!ts)
		return fail("out of memory");
	ts->fd = ts->stop_pipe[0] = ts->stop_pipe[1] = -1;
	atomic_init(&ts->issued, 0);
	snprintf(ts->userpass, sizeof ts->userpass, "%s:%s", r->user, r->pass);
	r->token_server = ts;
	if (token_keys(ts, cert_path) < 0)
		return -1;
	if (pipe2(ts->stop_pipe, O_CLOEXEC) < 0)
		return fail("pipe: %s", strerror(errno));
	r->token_port = listen_local(&ts->fd, 16);
	if (r->token_port < 0)
		return -1;
	int e = pthread_create(&ts->thread, NULL, token_thread, ts);
	if (e)
		return fail("pthread_create: %s", strerror(e));
	ts->thread_started = 1;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the registry                                                                               */

/* A free TCP port on 127.0.0.1 (free now; the registry binds it right after). */
static int free_port(void)
{
	int fd;
	int port = listen_local(&fd, 0);
	if (port >= 0)
		close(fd);
	return port;
}

/* <dir>/htpasswd with user:bcrypt(pass). */
static int write_htpasswd(const struct testreg *r, const char *path)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$2b$", 5, NULL, 0, salt, sizeof salt))
		return fail("crypt_gensalt $2b$: %s", strerror(errno));
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return fail("out of memory");
	const char *hash = crypt_r(r->pass, salt, cd);
	int rc;
	if (!hash || hash[0] != '$') {
		rc = fail("bcrypt failed");
	} else {
		char line[256];
		int n = snprintf(line, sizeof line, "%s:%s\n", r->user, hash);
		rc = write_file(path, line, (size_t)n);
	}
	free(cd);
	return rc;
}

/* The registry's config.yml. */
static int write_registry_config(const struct testreg *r, const char *path)
{
	char auth[PATH_MAX + 512] = "";
	if (r->auth == TESTREG_BASIC)
		snprintf(auth, sizeof auth, "auth:\n  htpasswd:\n    realm: litecri-test\n    path: %s/htpasswd\n", r->dir);
	else if (r->auth == TESTREG_TOKEN)
		snprintf(auth, sizeof auth,
			 "auth:\n  token:\n    realm: http://127.0.0.1:%d/token\n    service: %s\n    issuer: %s\n"
			 "    rootcertbundle: %s/token.crt\n",
			 r->token_port, TOKEN_SERVICE, TOKEN_ISSUER, r->dir);
	char tls[2 * PATH_MAX + 128] = "";
	if (!strcmp(r->scheme, "https"))
		snprintf(tls, sizeof tls, "  tls:\n    certificate: %s/server.pem\n    key: %s/server.key\n", r->dir,
			 r->dir);
	char *text = NULL;
	int n = asprintf(&text,
			 "version: 0.1\n"
			 "log:\n  level: warn\n  formatter: text\n"
			 "storage:\n  filesystem:\n    rootdirectory: %s/storage\n  delete:\n    enabled: true\n"
			 "  maintenance:\n    uploadpurging:\n      enabled: false\n"
			 "http:\n  addr: 127.0.0.1:%d\n  secret: litecri-test-secret\n"
			 "%s"
			 "health:\n  storagedriver:\n    enabled: false\n"
			 "%s",
			 r->dir, r->port, tls, auth);
	if (n < 0)
		return fail("out of memory");
	int rc = write_file(path, text, (size_t)n);
	free(text);
	return rc;
}

/* Fork and exec docker-registry serve <config>, output to <dir>/registry.log. */
static pid_t spawn_registry(const char *config, const char *log)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || nul < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
	    dup2(nul, STDIN_FILENO) < 0)
		_exit(127);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/usr/bin/docker-registry", "docker-registry", "serve", config, (char *)NULL);
	_exit(127);
}

/* Print the registry's log to stderr (for failures). */
static void show_log(const struct testreg *r)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/registry.log", r->dir);
	struct buf b = { 0 };
	if (read_file(p, &b) == 0)
		fprintf(stderr, "--- %s ---\n%s--- end ---\n", p, (const char *)b.p);
	buf_free(&b);
}

/* Wait up to 30 s for /v2/ to answer 200 or 401 (the child must stay alive). */
static int wait_ready(struct testreg *r)
{
	char url[128];
	snprintf(url, sizeof url, "%s://%s/v2/", r->scheme, r->host);
	for (int i = 0; i < 600; i++) {
		int st;
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = -1;
			show_log(r);
			return fail("docker-registry exited (status 0x%x)", st);
		}
		struct http_resp resp;
		/* http_do prints connection errors; stay quiet while it starts up */
		int saved = dup(STDERR_FILENO), nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (saved >= 0 && nul >= 0)
			dup2(nul, STDERR_FILENO);
		int rc = http_do("GET", url, NULL, NULL, r->ca_file, NULL, 0, &resp);
		if (saved >= 0) {
			dup2(saved, STDERR_FILENO);
			close(saved);
		}
		if (nul >= 0)
			close(nul);
		buf_free(&resp.body);
		if (rc == 0 && (resp.status == 200 || resp.status == 401))
			return 0;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	show_log(r);
	return fail("docker-registry on %s did not answer /v2/ within 30 s", r->host);
}

/* The TLS files of testreg_start_tls in r->dir; sets r->ca_file and r->other_ca_file. */
static int tls_files(struct testreg *r)
{
	int rc = -1;
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *srv = NULL, *other = NULL;
	if (!ca_key || !srv_key || !other_key || !(ca = make_cert(ca_key, "litecri-test-ca", NULL, NULL, NULL)) ||
	    !(srv = make_cert(srv_key, "127.0.0.1", ca, ca_key, "IP:127.0.0.1,DNS:localhost")) ||
	    !(other = make_cert(other_key, "litecri-test-other-ca", NULL, NULL, NULL))) {
		fail("making the registry's TLS certificates failed (libcrypto)");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	char p[PATH_MAX + 32];
	snprintf(r->ca_file, sizeof r->ca_file, "%s/ca.pem", r->dir);
	snprintf(r->other_ca_file, sizeof r->other_ca_file, "%s/other-ca.pem", r->dir);
	if (write_pem(r->ca_file, ca, NULL) < 0 || write_pem(r->other_ca_file, other, NULL) < 0)
		goto out;
	snprintf(p, sizeof p, "%s/server.pem", r->dir);
	if (write_pem(p, srv, NULL) < 0)
		goto out;
	snprintf(p, sizeof p, "%s/server.key", r->dir);
	if (write_pem(p, NULL, srv_key) < 0)
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(srv);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(other_key);
	return rc;
}

/* testreg_start (tls 0) and testreg_start_tls (tls 1). */
static int registry_start(struct testreg *r, enum testreg_auth auth, int tls)
{
	memset(r, 0, sizeof *r);
	r->pid = -1;
	r->token_port = -1;
	r->auth = auth;
	snprintf(r->scheme, sizeof r->scheme, "%s", tls ? "https" : "http");
	snprintf(r->user, sizeof r->user, "litecri");
	snprintf(r->pass, sizeof r->pass, "pw-%s", auth == TESTREG_TOKEN ? "token" : "basic");
	if (tmpdir_make(r->dir, sizeof r->dir, "registry") < 0) {
		r->dir[0] = '\0';
		return fail("mkdtemp: %s", strerror(errno));
	}
	char p[PATH_MAX + 32];
	if (tls && tls_files(r) < 0)
		goto fail;
	if (auth == TESTREG_BASIC) {
		snprintf(p, sizeof p, "%s/htpasswd", r->dir);
		if (write_htpasswd(r, p) < 0)
			goto fail;
	} else if (auth == TESTREG_TOKEN) {
		snprintf(p, sizeof p, "%s/token.crt", r->dir);
		if (token_server_start(r, p) < 0)
			goto fail;
	}
	r->port = free_port();
	if (r->port < 0)
		goto fail;
	snprintf(r->host, sizeof r->host, "127.0.0.1:%d", r->port);
	snprintf(p, sizeof p, "%s/config.yml", r->dir);
	if (write_registry_config(r, p) < 0)
		goto fail;
	char log[PATH_MAX + 32];
	snprintf(log, sizeof log, "%s/registry.log", r->dir);
	r->pid = spawn_registry(p, log);
	if (r->pid < 0) {
		fail("fork: %s", strerror(errno));
		goto fail;
	}
	if (wait_ready(r) < 0)
		goto fail;
	return 0;
fail:
	testreg_stop(r);
	return -1;
}

int testreg_start(struct testreg *r, enum testreg_auth auth)
{
	return registry_start(r, auth, 0);
}

int testreg_start_tls(struct testreg *r, enum testreg_auth auth)
{
	return registry_start(r, auth, 1);
}

void testreg_stop(struct testreg *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		int st, gone = 0;
		for (int i = 0; i < 500 && !gone; i++) {
			pid_t w = waitpid(r->pid, &st, WNOHANG);
			if (w == r->pid || (w < 0 && errno == ECHILD))
				gone = 1;
			else {
				struct timespec ts = { 0, 10 * 1000000L };
				nanosleep(&ts, NULL);
			}
		}
		if (!gone) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &st, 0);
		}
	}
	r->pid = -1;
	token_server_free(r->token_server);
	r->token_server = NULL;
	if (r->dir[0])
		tmpdir_remove(r->dir);
	r->dir[0] = '\0';
}

int testreg_tokens_issued(const struct testreg *r)
{
	const struct token_server *ts = r->token_server;
	return ts ? atomic_load(&ts->issued) : 0;
}

/* Authorization for pushing to repo: basic credentials, or a bearer token from our server. */
static int push_credentials(const struct testreg *r, const char *repo, char *hdr, size_t cap, const char **userpwd,
			    char *up, size_t upcap)
{
	hdr[0] = '\0';
	*userpwd = NULL;
	if (r->auth == TESTREG_OPEN)
		return 0;
	snprintf(up, upcap, "%s:%s", r->user, r->pass);
	if (r->auth == TESTREG_BASIC) {
		*userpwd = up;
		return 0;
	}
	char url[512];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/token?service=%s&scope=repository:%s:pull,push", r->token_port,
		 TOKEN_SERVICE, repo);
	struct http_resp resp;
	if (http_do("GET", url, NULL, up, NULL, NULL, 0, &resp) < 0)
		return -1;
	json_t *j = resp.status == 200 ? json_loads((const char *)resp.body.p, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "token"));
	int rc = 0;
	if (!tok || (size_t)snprintf(hdr, cap, "Authorization: Bearer %s", tok) >= cap)
		rc = fail("token server: status %ld, %s", resp.status, resp.body.p ? (const char *)resp.body.p : "");
	json_decref(j);
	buf_free(&resp.body);
	return rc;
}

/* What a push needs on every request. */
struct push_ctx {
	const struct testreg *r;
	const char *layout;
	const char *repo;
	const char *headers[2];
	const char *userpwd;
};

/* Upload one blob unless the registry has it (monolithic: POST, then PUT ?digest=). */
static int push_blob(const struct push_ctx *pc, const char *digest)
{
	char url[4096];
	struct http_resp resp;
	snprintf(url, sizeof url, "%s://%s/v2/%s/blobs/%s", pc->r->scheme, pc->r->host, pc->repo, digest);
	if (http_do("HEAD", url, pc->headers, pc->userpwd, pc->r->ca_file, NULL, 0, &resp) < 0)
		return -1;
	buf_free(&resp.body);
	if (resp.status == 200)
		return 0;
	snprintf(url, sizeof url, "%s://%s/v2/%s/blobs/uploads/", pc->r->scheme, pc->r->host, pc->repo);
	if (http_do("POST", url, pc->headers, pc->userpwd, pc->r->ca_file, NULL, 0, &resp) < 0)
		return -1;
	buf_free(&resp.body);
	if (resp.status != 202 || !resp.location[0])
		return fail("POST %s: status %ld (location \"%s\")", url, resp.status, resp.location);
	const char *sep = strchr(resp.location, '?') ? "&" : "?";
	if (resp.location[0] == '/')
		snprintf(url, sizeof url, "%s://%s%s%sdigest=%s", pc->r->scheme, pc->r->host, resp.location, sep,
			 digest);
	else
		snprintf(url, sizeof url, "%s%sdigest=%s", resp.location, sep, digest);
	struct buf blob = { 0 };
	if (get_blob(pc->layout, digest, &blob) < 0)
		return -1;
	const char *hdrs[3] = { "Content-Type: application/octet-stream", pc->headers[0], NULL };
	int rc = http_do("PUT", url, hdrs, pc->userpwd, pc->r->ca_file, blob.p, blob.len, &resp);
	buf_free(&blob);
	if (rc < 0)
		return -1;
	rc = resp.status == 201 ? 0 : fail("PUT blob %s: status %ld: %s", digest, resp.status, resp.body.p ? (char *)resp.body.p : "");
	buf_free(&resp.body);
	return rc;
}

/* Push the manifest or index `digest` (what it refers to first), under `ref` (tag or digest). */
static int push_manifest(const struct push_ctx *pc, const char *digest, const char *ref, int depth)
{
	struct buf body = { 0 };
	json_t *j = NULL;
	int rc = -1;
	if (depth > 2)
		return fail("index nesting too deep at %s", digest);
	if (get_blob(pc->layout, digest, &body) < 0)
		return -1;
	json_error_t je;
	j = json_loads((const char *)body.p, 0, &je);
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (!j || !mt) {
		fail("blob %s: not a manifest with a mediaType", digest);
		goto out;
	}
	json_t *children = json_object_get(j, "manifests");
	if (json_is_array(children)) {
		size_t i;
		json_t *c;
		json_array_foreach(children, i, c) {
			const char *cd = json_string_value(json_object_get(c, "digest"));
			if (!cd || push_manifest(pc, cd, cd, depth + 1) < 0)
				goto out;
		}
	} else {
		const char *cfg = json_string_value(json_object_get(json_object_get(j, "config"), "digest"));
		if (!cfg || push_blob(pc, cfg) < 0)
			goto out;
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(j, "layers"), i, l) {
			const char *ld = json_string_value(json_object_get(l, "digest"));
			if (!ld || push_blob(pc, ld) < 0)
				goto out;
		}
	}
	char url[4096], ct[160];
	snprintf(url, sizeof url, "%s://%s/v2/%s/manifests/%s", pc->r->scheme, pc->r->host, pc->repo, ref);
	snprintf(ct, sizeof ct, "Content-Type: %s", mt);
	const char *hdrs[3] = { ct, pc->headers[0], NULL };
	struct http_resp resp;
	if (http_do("PUT", url, hdrs, pc->userpwd, pc->r->ca_file, body.p, body.len, &resp) < 0)
		goto out;
	if (resp.status != 201)
		fail("PUT %s: status %ld: %s", url, resp.status, resp.body.p ? (char *)resp.body.p : "");
	else
		rc = 0;
	buf_free(&resp.body);
out:
	json_decref(j);
	buf_free(&body);
	return rc;
}

int testreg_push(const struct testreg *r, const char *layout, const struct testimg *img, const char *repo,
		 const char *tag)
{
	char auth_hdr[8192], up[80];
	struct push_ctx pc = { .r = r, .layout = layout, .repo = repo };
	if (push_credentials(r, repo, auth_hdr, sizeof auth_hdr, &pc.userpwd, up, sizeof up) < 0)
		return -1;
	pc.headers[0] = auth_hdr[0] ? auth_hdr : NULL;
	pc.headers[1] = NULL;
	return push_manifest(&pc, img->digest, tag, 0);
}

int testreg_corrupt_blob(const struct testreg *r, const char *digest)
{
	const char *hex = hex_of(digest);
	if (!hex)
		return fail("not a sha256 digest: %s", digest);
	char p[PATH_MAX + 128];
	snprintf(p, sizeof p, "%s/storage/docker/registry/v2/blobs/sha256/%.2s/%s/data", r->dir, hex, hex);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", p, strerror(errno));
	struct stat st;
	unsigned char c;
	int rc = -1;
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		fail("%s: empty or unreadable", p);
	else if (pread(fd, &c, 1, st.st_size / 2) != 1)
		fail("read %s: %s", p, strerror(errno));
	else if ((c ^= 0xff), pwrite(fd, &c, 1, st.st_size / 2) != 1)
		fail("write %s: %s", p, strerror(errno));
	else
		rc = 0;
	if (close(fd) < 0 && rc == 0)
		rc = fail("close %s: %s", p, strerror(errno));
	return rc;
}

int testreg_count_requests(const struct testreg *r, const char *method, const char *path_part)
{
	char p[PATH_MAX + 16], needle[32];
	snprintf(p, sizeof p, "%s/registry.log", r->dir);
	snprintf(needle, sizeof needle, "\"%s ", method);
	struct buf b = { 0 };
	if (read_file(p, &b) < 0)
		return -1;
	int count = 0;
	char *save = NULL;
	for (char *line = strtok_r((char *)b.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *req = strstr(line, needle);
		if (!req)
			continue;
		char *end = strchr(req + 1, '"'); /* the request line ends at the next quote */
		if (end)
			*end = '\0';
		if (strstr(req, path_part))
			count++;
	}
	buf_free(&b);
	return count;
}

/* ------------------------------------------------------------------------------------------ */
/* the throttling relay                                                                       */

#define PROXY_MAX_CONNS 256

struct proxy;

#define PROXY_SENT_MAX (1 << 20) /* bytes of each connection's requests kept for testproxy_count */

struct proxy_conn {
	struct proxy *p;
	int cfd, ufd; /* client side, upstream (registry) side */
	pthread_t thread;
	char *sent;   /* what the client sent, up to PROXY_SENT_MAX (proxy.mu) */
	size_t sent_len;
};

struct proxy {
	int lfd;
	int target_port;
	int stop_pipe[2];
	atomic_long rate;
	pthread_t thread;
	int thread_started;
	int n_conns; /* started relay threads (written by the accept thread under mu, then by stop) */
	pthread_mutex_t mu;
	struct proxy_conn conns[PROXY_MAX_CONNS];
};

/* Keep the request bytes of c for testproxy_count (as many as fit). */
static void proxy_keep(struct proxy_conn *c, const char *buf, size_t n)
{
	pthread_mutex_lock(&c->p->mu);
	if (!c->sent)
		c->sent = malloc(PROXY_SENT_MAX);
	if (c->sent) {
		size_t take = n < PROXY_SENT_MAX - c->sent_len ? n : PROXY_SENT_MAX - c->sent_len;
		memcpy(c->sent + c->sent_len, buf, take);
		c->sent_len += take;
	}
	pthread_mutex_unlock(&c->p->mu);
}

/* Write all of buf to fd; -1 on error. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sleep for `ns` nanoseconds in slices of at most 50 ms, stopping early when asked. */
static void paced_sleep(struct proxy *pr, long long ns)
{
	while (ns > 0) {
		struct pollfd pf = { pr->stop_pipe[0], POLLIN, 0 };
		long long slice = ns > 50000000LL ? 50000000LL : ns;
		struct timespec ts = { 0, (long)slice };
		if (poll(&pf, 1, 0) > 0)
			return;
		nanosleep(&ts, NULL);
		ns -= slice;
	}
}

/* Relay one connection both ways until either side closes or the proxy stops. */
static void *proxy_conn_thread(void *arg)
{
	struct proxy_conn *c = arg;
	struct proxy *pr = c->p;
	char buf[16384];
	for (;;) {
		struct pollfd pf[3] = { { c->cfd, POLLIN, 0 }, { c->ufd, POLLIN, 0 }, { pr->stop_pipe[0], POLLIN, 0 } };
		int n = poll(pf, 3, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[2].revents)
			break;
		if (pf[0].revents) {
			ssize_t r = recv(c->cfd, buf, sizeof buf, 0);
			if (r > 0)
				proxy_keep(c, buf, (size_t)r);
			if (r <= 0 || write_all(c->ufd, buf, (size_t)r) < 0)
				break;
		}
		if (pf[1].revents) {
			ssize_t r = recv(c->ufd, buf, sizeof buf, 0);
			if (r <= 0 || write_all(c->cfd, buf, (size_t)r) < 0)
				break;
			long rate = atomic_load(&pr->rate);
			if (rate > 0)
				paced_sleep(pr, (long long)r * 1000000000LL / rate);
		}
	}
	close(c->cfd);
	close(c->ufd);
	c->cfd = c->ufd = -1;
	return NULL;
}

/* Connect to 127.0.0.1:port; the socket or -1. */
static int connect_local(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Accept connections and start a relay thread for each. */
static void *proxy_accept_thread(void *arg)
{
	struct proxy *pr = arg;
	for (;;) {
		struct pollfd pf[2] = { { pr->lfd, POLLIN, 0 }, { pr->stop_pipe[0], POLLIN, 0 } };
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		int cfd = accept4(pr->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		int ufd = pr->n_conns < PROXY_MAX_CONNS ? connect_local(pr->target_port) : -1;
		if (ufd < 0) {
			fail("relay: no connection to 127.0.0.1:%d (or too many connections)", pr->target_port);
			close(cfd);
			continue;
		}
		/* Counted before the thread relays a byte (it waits for mu): testproxy_count sees it all. */
		pthread_mutex_lock(&pr->mu);
		struct proxy_conn *c = &pr->conns[pr->n_conns];
		c->p = pr;
		c->cfd = cfd;
		c->ufd = ufd;
		int e = pthread_create(&c->thread, NULL, proxy_conn_thread, c);
		if (e == 0)
			pr->n_conns++;
		pthread_mutex_unlock(&pr->mu);
		if (e != 0) {
			fail("relay: pthread_create failed");
			close(cfd);
			close(ufd);
		}
	}
	return NULL;
}

int testproxy_start(struct testproxy *p, int target_port, long bytes_per_sec)
{
	memset(p, 0, sizeof *p);
	struct proxy *pr = calloc(1, sizeof *pr);
	if (!pr)
		return fail("out of memory");
	pr->lfd = pr->stop_pipe[0] = pr->stop_pipe[1] = -1;
	pr->target_port = target_port;
	pthread_mutex_init(&pr->mu, NULL);
	atomic_init(&pr->rate, bytes_per_sec);
	p->impl = pr;
	if (pipe2(pr->stop_pipe, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		testproxy_stop(p);
		return -1;
	}
	p->port = listen_local(&pr->lfd, 64);
	if (p->port < 0) {
		testproxy_stop(p);
		return -1;
	}
	int e = pthread_create(&pr->thread, NULL, proxy_accept_thread, pr);
	if (e) {
		fail("pthread_create: %s", strerror(e));
		testproxy_stop(p);
		return -1;
	}
	pr->thread_started = 1;
	return 0;
}

void testproxy_set_rate(struct testproxy *p, long bytes_per_sec)
{
	struct proxy *pr = p->impl;
	if (pr)
		atomic_store(&pr->rate, bytes_per_sec);
}

int testproxy_count(struct testproxy *p, const char *needle)
{
	struct proxy *pr = p->impl;
	size_t nl = strlen(needle);
	int count = 0;
	if (!pr || nl == 0)
		return 0;
	pthread_mutex_lock(&pr->mu);
	for (int i = 0; i < pr->n_conns; i++) {
		const struct proxy_conn *c = &pr->conns[i];
		for (size_t at = 0; c->sent && at + nl <= c->sent_len; at++)
			if (strncasecmp(c->sent + at, needle, nl) == 0)
				count++;
	}
	pthread_mutex_unlock(&pr->mu);
	return count;
}

void testproxy_stop(struct testproxy *p)
{
	struct proxy *pr = p->impl;
	if (!pr)
		return;
	if (pr->stop_pipe[1] >= 0) {
		ssize_t w;
		do
			w = write(pr->stop_pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
	}
	if (pr->thread_started)
		pthread_join(pr->thread, NULL);
	for (int i = 0; i < pr->n_conns; i++) {
		pthread_join(pr->conns[i].thread, NULL);
		free(pr->conns[i].sent);
	}
	pthread_mutex_destroy(&pr->mu);
	if (pr->lfd >= 0)
		close(pr->lfd);
	if (pr->stop_pipe[0] >= 0)
		close(pr->stop_pipe[0]);
	if (pr->stop_pipe[1] >= 0)
		close(pr->stop_pipe[1]);
	free(pr);
	p->impl = NULL;
	p->port = 0;
}
