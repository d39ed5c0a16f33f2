/*
 * test_images.c — image acceptance tests: the real daemon's ImageService (PullImage, ImageStatus,
 * ListImages, RemoveImage, ImageFsInfo) over its unix socket, and `litecri image import`.
 *
 * Every test has its own docker-registry on 127.0.0.1 (tests/common/testimg.h), its own images
 * built from /bin/busybox, and its own daemon whose `*` mirror is that registry (`upstream =
 * false`), so names like registry.k8s.io/litecri-test/busybox:1.0 never leave this machine.
 * The TLS tests serve the registry over https with a CA made for the test and configure the daemon
 * with or without that CA (see enum daemon_conf).  Setup starts them; teardown stops them (also
 * after a failed assertion).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "api.pb-c.h"
#include "client/cri_client.h"
#include "harness.h"
#include "../common/testimg.h"
#include "../common/tmpdir.h"

#define IMG "/runtime.v1.ImageService/"
#define CALL_TIMEOUT_MS 30000
#define PULL_TIMEOUT_MS 300000

#define UPSTREAM "registry.k8s.io/litecri-test/" /* names the tests pull; served by the mirror */
#define MIRROR_REPO "litecri-test/"               /* the same repositories in the registry */

/* What one test runs; all of it is stopped and removed by teardown. */
static struct {
	struct testreg reg;
	struct testproxy proxy;
	struct daemon d;
	char layout[64];        /* OCI layout the test's images are built into */
	char images[PATH_MAX + 16]; /* <root>/images */
} fx;

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

static int down(void **state);

/* The daemon's registry settings (its config file). */
enum daemon_conf {
	/* `*` mirror http://<registry or relay> insecure, upstream = false; the registry's own
	 * section: insecure (usable directly over plain http) */
	CONF_HTTP,
	/* TLS registry as `*` mirror https://<registry> ... (upstream = false), with: */
	CONF_TLS_MIRROR_CA,       /* ca=<its CA> */
	CONF_TLS_MIRROR_PLAIN,    /* nothing: verified against the system store */
	CONF_TLS_MIRROR_INSECURE, /* insecure */
	/* TLS registry's own section (no mirror for it), with: */
	CONF_TLS_REGISTRY_CA,       /* ca = <its CA> */
	CONF_TLS_REGISTRY_OTHER_CA, /* ca = <a CA that did not sign its certificate> */
	/* the http registry's own section: a mirror http://<relay> insecure, then the registry itself
	 * (insecure); `*`: upstream = false */
	CONF_OWN_MIRROR,
};

/* Write the daemon's config file for `conf` (mirror_port: the registry's or the relay's). */
static int write_daemon_conf(enum daemon_conf conf, int mirror_port)
{
	FILE *f = fopen(fx.d.config, "we");
	if (!f)
		return -1;
	const char *mirror_opts = conf == CONF_TLS_MIRROR_CA ? " ca=" : conf == CONF_TLS_MIRROR_INSECURE ? " insecure" : "";
	switch (conf) {
	case CONF_HTTP:
		fprintf(f,
			"[registry \"*\"]\nmirror = http://127.0.0.1:%d insecure\nupstream = false\n\n"
			"[registry \"%s\"]\ninsecure = true\n",
			mirror_port, fx.reg.host);
		break;
	case CONF_TLS_MIRROR_CA:
	case CONF_TLS_MIRROR_PLAIN:
	case CONF_TLS_MIRROR_INSECURE:
		fprintf(f, "[registry \"*\"]\nmirror = https://127.0.0.1:%d%s%s\nupstream = false\n", mirror_port,
			mirror_opts, conf == CONF_TLS_MIRROR_CA ? fx.reg.ca_file : "");
		break;
	case CONF_TLS_REGISTRY_CA:
	case CONF_TLS_REGISTRY_OTHER_CA:
		fprintf(f, "[registry \"*\"]\nupstream = false\n\n[registry \"%s\"]\nca = %s\n", fx.reg.host,
			conf == CONF_TLS_REGISTRY_CA ? fx.reg.ca_file : fx.reg.other_ca_file);
		break;
	case CONF_OWN_MIRROR:
		fprintf(f, "[registry \"*\"]\nupstream = false\n\n[registry \"%s\"]\nmirror = http://127.0.0.1:%d insecure\n"
			   "insecure = true\n", fx.reg.host, mirror_port);
		break;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * Start a registry (auth; serving TLS for every conf but CONF_HTTP), optionally a paced relay in
 * front of it (rate >= 0; the `*` mirror then goes through it), and a daemon configured as `conf`
 * says.
 */
static int fixture_start(enum testreg_auth auth, long relay_rate, enum daemon_conf conf)
{
	memset(&fx, 0, sizeof fx);
	fx.reg.pid = -1;
	fx.d.pid = -1;
	if (tmpdir_make(fx.layout, sizeof fx.layout, "layout") < 0) {
		fx.layout[0] = '\0';
		return -1;
	}
	if ((conf == CONF_HTTP || conf == CONF_OWN_MIRROR ? testreg_start(&fx.reg, auth) : testreg_start_tls(&fx.reg, auth)) < 0)
		return -1;
	int mirror_port = fx.reg.port;
	if (relay_rate >= 0) {
		if (testproxy_start(&fx.proxy, fx.reg.port, relay_rate) < 0)
			return -1;
		mirror_port = fx.proxy.port;
	}
	if (harness_init(&fx.d) < 0)
		return -1;
	snprintf(fx.images, sizeof fx.images, "%s/images", fx.d.root);
	if (write_daemon_conf(conf, mirror_port) < 0)
		return -1;
	if (harness_start(&fx.d, NULL, NULL) < 0) {
		char *log = harness_slurp(fx.d.log);
		fprintf(stderr, "daemon did not start; its log:\n%s\n", log ? log : "(none)");
		free(log);
		return -1;
	}
	return 0;
}

/* What a test runs against: the registry's authentication, the relay's pace, the daemon's config. */
struct setting {
	enum testreg_auth auth;
	long relay_rate; /* bytes/s of the relay in front of the registry; -1: no relay */
	enum daemon_conf conf;
};

static const struct setting
	OPEN = { TESTREG_OPEN, -1, CONF_HTTP },              /* an open registry as the `*` mirror */
	SLOW = { TESTREG_OPEN, 4L << 20, CONF_HTTP },        /* the mirror behind a 4 MiB/s relay */
	PACED = { TESTREG_OPEN, 24L << 20, CONF_HTTP },      /* 24 MiB/s: BIG takes ~3 s */
	BASIC = { TESTREG_BASIC, -1, CONF_HTTP },            /* htpasswd */
	TOKEN = { TESTREG_TOKEN, -1, CONF_HTTP },            /* bearer tokens from the test's server */
	TLS_MIRROR_CA = { TESTREG_OPEN, -1, CONF_TLS_MIRROR_CA },             /* verified (ca=) */
	TLS_MIRROR_PLAIN = { TESTREG_OPEN, -1, CONF_TLS_MIRROR_PLAIN },       /* no CA, not insecure */
	TLS_MIRROR_INSECURE = { TESTREG_OPEN, -1, CONF_TLS_MIRROR_INSECURE }, /* not verified */
	TLS_REGISTRY_CA = { TESTREG_OPEN, -1, CONF_TLS_REGISTRY_CA },         /* by its own name, its CA */
	TLS_REGISTRY_OTHER_CA = { TESTREG_OPEN, -1, CONF_TLS_REGISTRY_OTHER_CA }, /* a CA that did not sign it */
	TLS_BASIC = { TESTREG_BASIC, -1, CONF_TLS_REGISTRY_CA },              /* basic auth over TLS */
	MIRROR_BASIC = { TESTREG_BASIC, 0, CONF_OWN_MIRROR };   /* htpasswd, reached via a mirror (the relay) first */

/*
 * Setup: the registry and daemon of the test's setting (its cmocka prestate), cleaning up after
 * itself when it fails (cmocka then runs no teardown).
 */
static int up(void **state)
{
	const struct setting *st = *state;
	if (fixture_start(st->auth, st->relay_rate, st->conf) == 0)
		return 0;
	down(NULL);
	return -1;
}

/* 1 if the file at path holds a sanitizer report (printed), for the ASan/UBSan build. */
static int sanitizer_report(const char *path)
{
	char *text = harness_slurp(path);
	int bad = text && (strstr(text, "AddressSanitizer") || strstr(text, "LeakSanitizer") ||
			   strstr(text, "runtime error:"));
	if (bad)
		print_error("sanitizer report in %s:\n%s\n", path, text);
	free(text);
	return bad;
}

/* Stop the daemon, the relay, the registry; remove every directory.  Fails the test if the
 * daemon did not exit 0 on SIGTERM, the daemon or an import run reported a sanitizer error, or
 * a daemon or directory was left behind. */
static int down(void **state)
{
	(void)state;
	int rc = 0;
	if (fx.d.pid > 0) {
		int ex = harness_stop(&fx.d);
		if (ex != 0) {
			fprintf(stderr, "teardown: the daemon exited with status %d on SIGTERM (not 0)\n", ex);
			rc = -1;
		}
	}
	if (fx.d.dir[0]) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/import.out", fx.d.dir);
		if (sanitizer_report(fx.d.log) || sanitizer_report(p))
			rc = -1;
	}
	harness_cleanup(&fx.d);
	testproxy_stop(&fx.proxy);
	testreg_stop(&fx.reg);
	if (fx.layout[0])
		tmpdir_remove(fx.layout);
	fx.layout[0] = '\0';
	int n = harness_reap_all();
	if (n) {
		print_error("the test left %d daemon(s) or directories behind; removed\n", n);
		rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* images in the registry                                                                     */

/* Build image `kind` into the layout and push it to the registry as repo:tag. */
static void build_push(enum testimg_kind kind, const char *repo, const char *tag, struct testimg *img)
{
	assert_int_equal(testimg_build(fx.layout, kind, NULL, img), 0);
	assert_int_equal(testreg_push(&fx.reg, fx.layout, img, repo, tag), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* CRI calls                                                                                  */

/* One typed call on a fresh client (any thread).  No assertions. */
static grpc_status_code rpc(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
			    ProtobufCMessage **resp, char **details, int timeout_ms)
{
	*resp = NULL;
	if (details)
		*details = NULL;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	if (!c)
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	grpc_status_code st = cri_client_call(c, method, req, rd, resp, details, timeout_ms);
	cri_client_free(c);
	return st;
}

/* A call that must succeed; returns the response. */
static ProtobufCMessage *call_ok(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd)
{
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(method, req, rd, &resp, &details, CALL_TIMEOUT_MS);
	if (st != GRPC_STATUS_OK)
		print_error("%s: %s: %s\n", method, cri_status_name(st), details ? details : "");
	free(details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(resp);
	return resp;
}

/*
 * PullImage `image` with credentials (user/pass, or auth = base64 "user:pass"; NULL for none),
 * the call's deadline timeout_ms from now.  On OK *ref gets the image_ref (malloc'ed); *details
 * the status message (malloc'ed, may be NULL).  No assertions: usable from other threads.
 */
static grpc_status_code pull_within(const char *image, const char *user, const char *pass, const char *auth,
				    int timeout_ms, char **ref, char **details)
{
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__AuthConfig ac = RUNTIME__V1__AUTH_CONFIG__INIT;
	spec.image = (char *)image;
	req.image = &spec;
	if (user || auth) {
		ac.username = (char *)(user ? user : "");
		ac.password = (char *)(pass ? pass : "");
		ac.auth = (char *)(auth ? auth : "");
		req.auth = &ac;
	}
	*ref = NULL;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(IMG "PullImage", &req.base, &runtime__v1__pull_image_response__descriptor, &resp,
				  details, timeout_ms);
	if (st == GRPC_STATUS_OK) {
		*ref = strdup(((Runtime__V1__PullImageResponse *)resp)->image_ref);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	return st;
}

/* pull_within PULL_TIMEOUT_MS. */
static grpc_status_code pull(const char *image, const char *user, const char *pass, const char *auth, char **ref,
			     char **details)
{
	return pull_within(image, user, pass, auth, PULL_TIMEOUT_MS, ref, details);
}

/* Pull with credentials (as for pull) that must succeed and return `want_id` as image_ref. */
static void pull_as_ok(const char *image, const char *user, const char *pass, const char *auth, const char *want_id)
{
	char *ref = NULL, *details = NULL;
	grpc_status_code st = pull(image, user, pass, auth, &ref, &details);
	if (st != GRPC_STATUS_OK)
		print_error("PullImage %s%s: %s: %s\n", image, user || auth ? " with credentials" : "", cri_status_name(st),
			    details ? details : "");
	free(details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(ref);
	assert_string_equal(ref, want_id);
	free(ref);
}

/* Pull that must succeed and return `want_id` as image_ref. */
static void pull_ok(const char *image, const char *want_id)
{
	pull_as_ok(image, NULL, NULL, NULL, want_id);
}

/* Pull that must fail with `want`; returns the status message (malloc'ed). */
static char *pull_fails(const char *image, const char *user, const char *pass, grpc_status_code want,
			grpc_status_code also_ok)
{
	char *ref = NULL, *details = NULL;
	grpc_status_code st = pull(image, user, pass, NULL, &ref, &details);
	if (st != want && st != also_ok)
		print_error("PullImage %s: %s (%s), wanted %s\n", image, cri_status_name(st), details ? details : "",
			    cri_status_name(want));
	free(ref);
	assert_true(st == want || st == also_ok);
	return details ? details : strdup("");
}

/* ImageStatus (must answer OK); free with protobuf_c_message_free_unpacked. */
static Runtime__V1__ImageStatusResponse *image_status(const char *image, int verbose)
{
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	req.image = &spec;
	req.verbose = verbose;
	return (Runtime__V1__ImageStatusResponse *)call_ok(IMG "ImageStatus", &req.base,
							   &runtime__v1__image_status_response__descriptor);
}

/* 1 if ImageStatus finds `image`, 0 if it answers with no image. */
static int image_known(const char *image)
{
	Runtime__V1__ImageStatusResponse *r = image_status(image, 0);
	int known = r->image != NULL;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return known;
}

/* RemoveImage; the status. */
static grpc_status_code remove_image(const char *image)
{
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	req.image = &spec;
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(IMG "RemoveImage", &req.base, &runtime__v1__remove_image_response__descriptor, &resp,
				  &details, CALL_TIMEOUT_MS);
	if (st != GRPC_STATUS_OK)
		print_error("RemoveImage %s: %s: %s\n", image, cri_status_name(st), details ? details : "");
	free(details);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/* ListImages, filtered by `image` when not NULL. */
static Runtime__V1__ListImagesResponse *list_images(const char *image)
{
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ImageFilter filter = RUNTIME__V1__IMAGE_FILTER__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	if (image) {
		spec.image = (char *)image;
		filter.image = &spec;
		req.filter = &filter;
	}
	return (Runtime__V1__ListImagesResponse *)call_ok(IMG "ListImages", &req.base,
							  &runtime__v1__list_images_response__descriptor);
}

/* ImageFsInfo: the first image filesystem's used bytes and inodes. */
static void fs_info(uint64_t *bytes, uint64_t *inodes)
{
	Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	Runtime__V1__ImageFsInfoResponse *r = (Runtime__V1__ImageFsInfoResponse *)call_ok(
		IMG "ImageFsInfo", &req.base, &runtime__v1__image_fs_info_response__descriptor);
	assert_int_equal(r->n_image_filesystems, 1);
	const Runtime__V1__FilesystemUsage *u = r->image_filesystems[0];
	assert_true(u->timestamp > 0);
	assert_non_null(u->fs_id);
	assert_true(strlen(u->fs_id->mountpoint) > 0);
	assert_non_null(u->used_bytes);
	assert_non_null(u->inodes_used);
	*bytes = u->used_bytes->value;
	*inodes = u->inodes_used->value;
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* 1 if s is among arr[0..n). */
static int has(char **arr, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arr[i], s) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the daemon's disk and database                                                             */

/* <root>/images/<rel> */
static void ipath(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ipath(char *out, size_t n, const char *fmt, ...)
{
	int k = snprintf(out, n, "%s/", fx.images);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + k, n - (size_t)k, fmt, ap);
	va_end(ap);
}

/* Path of `rel` inside the unpacked layer of chain ID `chain`. */
static void lpath(char *out, size_t n, const char *chain, const char *rel)
{
	ipath(out, n, "layers/%s/%s", chain + 7, rel);
}

/* 1 if something (even a dangling link or a device) is at path. */
static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Entries of <root>/images/<rel>, a missing directory counting as empty. */
static int count_in(const char *rel)
{
	char p[PATH_MAX];
	ipath(p, sizeof p, "%s", rel);
	int n = tmpdir_count(p);
	return n < 0 ? 0 : n;
}

/* 1 if blob `digest` is in the daemon's content store. */
static int has_blob(const char *digest)
{
	char p[PATH_MAX];
	ipath(p, sizeof p, "blobs/sha256/%s", digest + 7);
	return exists(p);
}

/* 1 if the unpacked layer of chain ID `chain` exists. */
static int has_layer(const char *chain)
{
	char p[PATH_MAX];
	ipath(p, sizeof p, "layers/%s", chain + 7);
	return exists(p);
}

/* The single integer a query (printf-style) returns from the daemon's database; -1 on error. */
static long long db_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long db_int(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	sqlite3 *db = NULL;
	long long v = -1;
	if (sqlite3_open_v2(fx.d.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		print_error("open %s: %s\n", fx.d.db, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Nothing stored at all: no rows, no blobs, no layers, nothing in tmp. */
static void assert_store_empty(void)
{
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM image_names"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM layers"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM image_layers"), 0);
	assert_int_equal(count_in("blobs/sha256"), 0);
	assert_int_equal(count_in("layers"), 0);
	assert_int_equal(count_in("tmp"), 0);
}

/* Every directory under layers/ has its row in `layers` (no partial layer is left visible). */
static void assert_layer_dirs_have_rows(void)
{
	char p[PATH_MAX];
	ipath(p, sizeof p, "layers");
	DIR *d = opendir(p);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		long long n = db_int("SELECT count(*) FROM layers WHERE chain_id = 'sha256:%s'", e->d_name);
		if (n != 1)
			print_error("layer directory %s has no row in layers\n", e->d_name);
		assert_int_equal(n, 1);
	}
	closedir(d);
	assert_int_equal(count_in("layers"), db_int("SELECT count(*) FROM layers"));
}

/* The verbose ImageStatus info["info"] as JSON. */
static json_t *verbose_info(const char *image)
{
	Runtime__V1__ImageStatusResponse *r = image_status(image, 1);
	assert_non_null(r->image);
	json_t *o = NULL;
	for (size_t i = 0; i < r->n_info; i++)
		if (!strcmp(r->info[i]->key, "info")) {
			json_error_t je;
			o = json_loads(r->info[i]->value, 0, &je);
			if (!o)
				print_error("info is not JSON: %s: %s\n", je.text, r->info[i]->value);
		}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_non_null(o);
	return o;
}

/* ------------------------------------------------------------------------------------------ */
/* pulling through the mirror                                                                  */

/* Pull by tag: ID, names, size, on-disk content, database rows; a second pull is the same image. */
static void test_pull_by_tag(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	const char *name = UPSTREAM "busybox:1.0";
	pull_ok(name, img.config_digest);

	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_string_equal(r->image->id, img.config_digest);
	assert_int_equal(r->image->n_repo_tags, 1);
	assert_string_equal(r->image->repo_tags[0], name);
	char want_digest[256];
	snprintf(want_digest, sizeof want_digest, UPSTREAM "busybox@%s", img.manifest_digest);
	assert_int_equal(r->image->n_repo_digests, 1);
	assert_string_equal(r->image->repo_digests[0], want_digest);
	assert_true(r->image->size > 0);
	assert_null(r->image->uid); /* no User in the config */
	assert_string_equal(r->image->username, "");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* the same image by ID (with and without "sha256:") and by repo digest */
	assert_true(image_known(img.config_digest));
	assert_true(image_known(img.config_digest + 7));
	char short_id[16]; /* as crictl shows it */
	snprintf(short_id, sizeof short_id, "%.13s", img.config_digest + 7);
	assert_true(image_known(short_id));
	assert_true(image_known(want_digest));

	/* content: config, manifest, layer blob; the layer unpacked under its chain ID */
	assert_true(has_blob(img.config_digest));
	assert_true(has_blob(img.manifest_digest));
	assert_true(has_blob(img.layer_digests[0]));
	assert_true(has_layer(img.chain_ids[0]));
	assert_int_equal(count_in("tmp"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM images WHERE id = '%s'", img.config_digest), 1);
	assert_int_equal(db_int("SELECT count(*) FROM image_names WHERE image_id = '%s'", img.config_digest), 2);
	assert_int_equal(db_int("SELECT count(*) FROM image_names WHERE name = '%s'", name), 1);
	assert_int_equal(db_int("SELECT count(*) FROM layers WHERE chain_id = '%s'", img.chain_ids[0]), 1);
	assert_int_equal(db_int("SELECT count(*) FROM image_layers WHERE image_id = '%s' AND position = 0 AND chain_id = '%s'",
				img.config_digest, img.chain_ids[0]),
			 1);

	/* pulling again: the same ID, still one image */
	pull_ok(name, img.config_digest);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 1);
}

/* Pull by digest: the image is known by its repo digest. */
static void test_pull_by_digest(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	char name[256];
	snprintf(name, sizeof name, UPSTREAM "busybox@%s", img.manifest_digest);
	pull_ok(name, img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_string_equal(r->image->id, img.config_digest);
	assert_true(has(r->image->repo_digests, r->image->n_repo_digests, name));
	assert_int_equal(r->image->n_repo_tags, 0); /* no tag was asked for */
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_true(has_layer(img.chain_ids[0]));
}

/* BASE's layer on disk: links, owners, modes, xattrs as in the tar. */
static void test_base_layer_contents(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	pull_ok(UPSTREAM "busybox:1.0", img.config_digest);
	const char *c = img.chain_ids[0];
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st, st2, bb;
	assert_int_equal(stat("/bin/busybox", &bb), 0);

	lpath(p, sizeof p, c, "bin/busybox");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_size, bb.st_size);

	lpath(q, sizeof q, c, "bin/cat"); /* a hard link to bin/busybox */
	assert_int_equal(lstat(q, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	assert_true(st.st_nlink >= 2);

	char target[64] = "";
	lpath(p, sizeof p, c, "bin/sh");
	assert_int_equal(readlink(p, target, sizeof target - 1), 7);
	assert_string_equal(target, "busybox");
	lpath(p, sizeof p, c, "bin/ls");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	lpath(p, sizeof p, c, "home/app/secret");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(st.st_mode & 07777, 0640);
	lpath(p, sizeof p, c, "home/app");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1000);

	lpath(p, sizeof p, c, "tmp");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 01777);

	char val[32] = "";
	lpath(p, sizeof p, c, "etc/xattr-file");
	assert_int_equal(lgetxattr(p, "user.litecri", val, sizeof val - 1), 4);
	assert_string_equal(val, "test");

	lpath(p, sizeof p, c, "etc/passwd");
	char *passwd = harness_slurp(p);
	assert_non_null(passwd);
	assert_non_null(strstr(passwd, "app:x:1000:1000:"));
	free(passwd);
}

/* What the MULTI layers look like stacked by overlayfs (1 = present). */
struct rootfs_view {
	int mounted, busybox, data_a, data_b, keep_x, old_y, old_z, old_new;
};

/*
 * Mount the n layers (bottom first) read-only with overlayfs — lowerdirs only, as a container's
 * rootfs stacks them under its own upper dir — look, and unmount before anything is asserted,
 * so that a failing test never leaves a mount behind.
 */
static void view_rootfs(char chain_ids[][72], int n, struct rootfs_view *v)
{
	memset(v, 0, sizeof *v);
	char mnt[PATH_MAX], opts[4096] = "lowerdir=", p[PATH_MAX + 32];
	snprintf(mnt, sizeof mnt, "%s/rootfs-view", fx.d.dir);
	if (mkdir(mnt, 0700) < 0)
		return;
	for (int i = n - 1; i >= 0; i--) { /* overlayfs lists the top layer first */
		lpath(p, sizeof p, chain_ids[i], "");
		size_t len = strlen(p);
		if (len && p[len - 1] == '/')
			p[len - 1] = 0;
		strncat(opts, p, sizeof opts - strlen(opts) - 2);
		if (i)
			strcat(opts, ":");
	}
	if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0) {
		print_error("mount overlay %s: %s\n", opts, strerror(errno));
		rmdir(mnt);
		return;
	}
	v->mounted = 1;
	struct { const char *rel; int *out; } probes[] = {
		{ "bin/busybox", &v->busybox }, { "data/a", &v->data_a }, { "data/b", &v->data_b },
		{ "data/keep/x", &v->keep_x }, { "opt/old/y", &v->old_y }, { "opt/old/z", &v->old_z },
		{ "opt/old/new", &v->old_new },
	};
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", mnt, probes[i].rel);
		*probes[i].out = exists(p);
	}
	if (umount2(mnt, 0) < 0)
		print_error("umount %s: %s\n", mnt, strerror(errno));
	rmdir(mnt);
}

/* MULTI: gzip + uncompressed + zstd layers, each unpacked alone in overlay form; the config. */
static void test_multi_layers_and_config(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_MULTI, MIRROR_REPO "multi", "2", &img);
	const char *name = UPSTREAM "multi:2";
	pull_ok(name, img.config_digest);
	assert_int_equal(img.n_layers, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(has_layer(img.chain_ids[i]));
		assert_true(has_blob(img.layer_digests[i]));
	}
	assert_int_equal(count_in("layers"), 3);
	assert_int_equal(db_int("SELECT count(*) FROM image_layers WHERE image_id = '%s'", img.config_digest), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(db_int("SELECT count(*) FROM image_layers WHERE image_id = '%s' AND position = %d "
					"AND chain_id = '%s'",
					img.config_digest, i, img.chain_ids[i]),
				 1);

	char p[PATH_MAX];
	struct stat st;
	/* layer 2 (uncompressed): plain files */
	lpath(p, sizeof p, img.chain_ids[1], "data/a");
	char *a = harness_slurp(p);
	assert_non_null(a);
	assert_string_equal(a, "a\n");
	free(a);
	lpath(p, sizeof p, img.chain_ids[1], "data/keep/x");
	assert_true(exists(p));
	lpath(p, sizeof p, img.chain_ids[1], "opt/old/y");
	assert_true(exists(p));
	lpath(p, sizeof p, img.chain_ids[1], "bin");
	assert_false(exists(p)); /* each layer alone: nothing of the layer below */

	/* layer 3 (zstd): whiteout → char device 0/0, opaque dir → trusted.overlay.opaque=y */
	const char *c3 = img.chain_ids[2];
	lpath(p, sizeof p, c3, "data/a");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 0);
	assert_int_equal(minor(st.st_rdev), 0);
	lpath(p, sizeof p, c3, "data/.wh.a");
	assert_false(exists(p));
	lpath(p, sizeof p, c3, "data/b");
	assert_false(exists(p));
	char val[8] = "";
	lpath(p, sizeof p, c3, "opt/old");
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", val, sizeof val - 1), 1);
	assert_string_equal(val, "y");
	lpath(p, sizeof p, c3, "opt/old/.wh..wh..opq");
	assert_false(exists(p));
	lpath(p, sizeof p, c3, "opt/old/y");
	assert_false(exists(p));
	lpath(p, sizeof p, c3, "opt/old/new");
	char *nw = harness_slurp(p);
	assert_non_null(nw);
	assert_string_equal(nw, "new\n");
	free(nw);

	/* Stacked by overlayfs as a container's rootfs will be, the whiteouts take effect. */
	struct rootfs_view v;
	view_rootfs(img.chain_ids, 3, &v);
	assert_int_equal(v.mounted, 1);
	assert_int_equal(v.busybox, 1);   /* layer 1 shows through */
	assert_int_equal(v.data_a, 0);    /* whited out by layer 3 */
	assert_int_equal(v.data_b, 1);    /* layer 2 */
	assert_int_equal(v.keep_x, 1);
	assert_int_equal(v.old_y, 0);     /* hidden by the opaque directory */
	assert_int_equal(v.old_z, 0);
	assert_int_equal(v.old_new, 1);   /* layer 3's own file in the opaque directory */

	/* the config: uid from User "1000"; verbose info carries the config and the chain IDs */
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_non_null(r->image->uid);
	assert_int_equal(r->image->uid->value, 1000);
	assert_string_equal(r->image->username, "");
	assert_int_equal(r->n_info, 0); /* info only when verbose */
	protobuf_c_message_free_unpacked(&r->base, NULL);

	json_t *info = verbose_info(name);
	json_t *spec = json_object_get(info, "imageSpec");
	json_t *cfg = json_object_get(spec, "config");
	assert_non_null(cfg);
	assert_string_equal(json_string_value(json_object_get(spec, "architecture")), testimg_host_arch());
	assert_string_equal(json_string_value(json_object_get(spec, "os")), "linux");
	assert_string_equal(json_string_value(json_object_get(cfg, "User")), "1000");
	assert_string_equal(json_string_value(json_object_get(cfg, "WorkingDir")), "/data");
	assert_string_equal(json_string_value(json_object_get(cfg, "StopSignal")), "SIGUSR1");
	json_t *ep = json_object_get(cfg, "Entrypoint");
	assert_int_equal(json_array_size(ep), 2);
	assert_string_equal(json_string_value(json_array_get(ep, 0)), "/bin/sh");
	assert_string_equal(json_string_value(json_array_get(ep, 1)), "-c");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)), "echo hi");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Env"), 1)), "LITECRI_TEST=multi");
	assert_non_null(json_object_get(json_object_get(cfg, "ExposedPorts"), "8080/tcp"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "Labels"), "org.litecri.test")),
			    "multi");
	json_t *diff_ids = json_object_get(json_object_get(spec, "rootfs"), "diff_ids");
	json_t *chain = json_object_get(info, "chainIDs");
	assert_int_equal(json_array_size(diff_ids), 3);
	assert_int_equal(json_array_size(chain), 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(json_string_value(json_array_get(diff_ids, (size_t)i)), img.diff_ids[i]);
		assert_string_equal(json_string_value(json_array_get(chain, (size_t)i)), img.chain_ids[i]);
	}
	json_decref(info);
}

/* A config User that is a name, not a number → username, no uid. */
static void test_username(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_USERNAME, MIRROR_REPO "named", "1", &img);
	pull_ok(UPSTREAM "named:1", img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(UPSTREAM "named:1", 0);
	assert_non_null(r->image);
	assert_null(r->image->uid);
	assert_string_equal(r->image->username, "app");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* Docker schema 2 media types pull like OCI ones. */
static void test_docker_media_types(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_DOCKER, MIRROR_REPO "docker", "1", &img);
	const char *name = UPSTREAM "docker:1";
	pull_ok(name, img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_string_equal(r->image->id, img.config_digest);
	char want[256];
	snprintf(want, sizeof want, UPSTREAM "docker@%s", img.manifest_digest);
	assert_true(has(r->image->repo_digests, r->image->n_repo_digests, want));
	assert_true(has(r->image->repo_tags, r->image->n_repo_tags, name));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_true(has_layer(img.chain_ids[0]));
	char p[PATH_MAX];
	lpath(p, sizeof p, img.chain_ids[0], "bin/busybox");
	assert_true(exists(p));
}

/* An index: the host-arch image is pulled (its config digest is the ID), not the other one. */
static void test_index_platform(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_INDEX, MIRROR_REPO "multiarch", "3", &img);
	const char *name = UPSTREAM "multiarch:3";
	pull_ok(name, img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	char want[256];
	snprintf(want, sizeof want, UPSTREAM "multiarch@%s", img.digest); /* the index the tag resolved to */
	assert_true(has(r->image->repo_digests, r->image->n_repo_digests, want));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_false(image_known(img.other_config_digest));
	assert_false(has_blob(img.other_config_digest));

	char p[PATH_MAX], want_arch[32];
	lpath(p, sizeof p, img.chain_ids[1], "arch");
	char *arch = harness_slurp(p);
	assert_non_null(arch);
	snprintf(want_arch, sizeof want_arch, "%s\n", testimg_host_arch());
	assert_string_equal(arch, want_arch);
	free(arch);
	json_t *info = verbose_info(name);
	assert_string_equal(json_string_value(json_object_get(json_object_get(info, "imageSpec"), "architecture")),
			    testimg_host_arch());
	json_decref(info);
}

/* BASE and DOCKER have the same layer blob: one chain-ID directory, kept until both are gone. */
static void test_shared_layer(void **state)
{
	(void)state;
	struct testimg base, docker;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &base);
	build_push(TESTIMG_DOCKER, MIRROR_REPO "docker", "1", &docker);
	assert_string_equal(base.chain_ids[0], docker.chain_ids[0]);
	assert_string_not_equal(base.config_digest, docker.config_digest);
	pull_ok(UPSTREAM "busybox:1.0", base.config_digest);
	pull_ok(UPSTREAM "docker:1", docker.config_digest);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 2);
	assert_int_equal(db_int("SELECT count(*) FROM layers"), 1);
	assert_int_equal(db_int("SELECT count(*) FROM image_layers WHERE chain_id = '%s'", base.chain_ids[0]), 2);
	assert_int_equal(count_in("layers"), 1);
	assert_true(has_layer(base.chain_ids[0]));

	assert_int_equal(remove_image(UPSTREAM "busybox:1.0"), GRPC_STATUS_OK);
	assert_false(image_known(base.config_digest));
	assert_true(image_known(docker.config_digest));
	assert_true(has_layer(base.chain_ids[0]));
	assert_true(has_blob(base.layer_digests[0]));
	assert_false(has_blob(base.config_digest));

	assert_int_equal(remove_image(docker.config_digest), GRPC_STATUS_OK);
	assert_store_empty();
}

/* ------------------------------------------------------------------------------------------ */
/* failures                                                                                   */

/* A pull of BIG as UPSTREAM "big:1" that failed left nothing: no image or name, neither blob nor
 * layer of its big layer, tmp empty, no layer directory without its row. */
static void assert_big_pull_left_nothing(const struct testimg *img)
{
	assert_false(image_known(UPSTREAM "big:1"));
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM image_names"), 0);
	assert_false(has_blob(img->layer_digests[1]));
	assert_false(has_layer(img->chain_ids[1]));
	assert_int_equal(count_in("tmp"), 0);
	assert_layer_dirs_have_rows();
}

/* A layer whose bytes do not match its digest: DATA_LOSS naming it, and nothing kept. */
static void test_corrupt_layer(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	/* the middle of the 64 MiB file: the tar stays well-formed, only the digest tells */
	assert_int_equal(testreg_corrupt_blob(&fx.reg, img.layer_digests[1]), 0);
	char *msg = pull_fails(UPSTREAM "big:1", NULL, NULL, GRPC_STATUS_DATA_LOSS, GRPC_STATUS_DATA_LOSS);
	if (!strstr(msg, img.layer_digests[1]))
		print_error("message does not name %s: %s\n", img.layer_digests[1], msg);
	assert_non_null(strstr(msg, img.layer_digests[1]));
	free(msg);
	assert_big_pull_left_nothing(&img);
}

/* A config whose bytes do not match its digest: DATA_LOSS naming it, and nothing kept. */
static void test_corrupt_config(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_MULTI, MIRROR_REPO "multi", "2", &img);
	assert_int_equal(testreg_corrupt_blob(&fx.reg, img.config_digest), 0);
	char *msg = pull_fails(UPSTREAM "multi:2", NULL, NULL, GRPC_STATUS_DATA_LOSS, GRPC_STATUS_DATA_LOSS);
	if (!strstr(msg, img.config_digest))
		print_error("message does not name %s: %s\n", img.config_digest, msg);
	assert_non_null(strstr(msg, img.config_digest));
	free(msg);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	assert_false(has_blob(img.config_digest));
	assert_int_equal(count_in("tmp"), 0);
	assert_layer_dirs_have_rows();
}

/* A tag or repository the registry does not have: NOT_FOUND; ImageStatus of it: OK, no image. */
static void test_missing_image(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	free(pull_fails(UPSTREAM "busybox:nope", NULL, NULL, GRPC_STATUS_NOT_FOUND, GRPC_STATUS_NOT_FOUND));
	free(pull_fails(UPSTREAM "nothing-here:1", NULL, NULL, GRPC_STATUS_NOT_FOUND, GRPC_STATUS_NOT_FOUND));
	assert_false(image_known(UPSTREAM "busybox:nope"));
	assert_false(image_known("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	assert_store_empty();
}

/* Pull in another thread. */
struct bg_pull {
	const char *image;
	int timeout_ms; /* the call's deadline from its start; 0: PULL_TIMEOUT_MS */
	pthread_t thread;
	grpc_status_code st;
	char *ref, *details;
	atomic_int finished; /* the call has returned */
};

/* The thread of a bg_pull: one PullImage, its outcome kept in *arg. */
static void *bg_pull_main(void *arg)
{
	struct bg_pull *b = arg;
	b->st = pull_within(b->image, NULL, NULL, NULL, b->timeout_ms ? b->timeout_ms : PULL_TIMEOUT_MS, &b->ref,
			    &b->details);
	atomic_store(&b->finished, 1);
	return NULL;
}

/* Sleep ms milliseconds. */
static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Start b's pull on its thread and wait (up to 30 s) until its download shows in images/tmp.
 * Returns 1 once it does, 0 if it never did (the thread runs on either way: join it).
 */
static int bg_pull_start(struct bg_pull *b)
{
	assert_int_equal(pthread_create(&b->thread, NULL, bg_pull_main, b), 0);
	for (int i = 0; i < 6000; i++) {
		if (count_in("tmp") > 0)
			return 1;
		sleep_ms(5);
	}
	return 0;
}

/* 1 once the daemon's log has `needle`, waiting up to ms for it; else 0. */
static int wait_log(const char *needle, int ms)
{
	for (int waited = 0;; waited += 20) {
		char *log = harness_slurp(fx.d.log);
		int found = log && strstr(log, needle);
		free(log);
		if (found || waited >= ms)
			return found;
		sleep_ms(20);
	}
}

/*
 * The daemon's log line for the first failed PullImage ("rpc ... failed: status N: ... (Tus)"):
 * 1 with its status N and time T (microseconds from the call's start to the answer), else 0.
 */
static int pull_failure_logged(int *status, long long *us)
{
	static const char start[] = "rpc " IMG "PullImage failed: status ";
	char *log = harness_slurp(fx.d.log);
	char *line = log ? strstr(log, start) : NULL;
	if (line) {
		line[strcspn(line, "\n")] = '\0';
		*status = atoi(line + strlen(start));
		char *paren = strrchr(line, '(');
		*us = paren ? strtoll(paren + 1, NULL, 10) : -1;
	}
	free(log);
	return line != NULL;
}

/*
 * Wait (up to 30 s) for the daemon's answer to a PullImage whose caller left at its deadline: the
 * daemon answered it DEADLINE_EXCEEDED, also when the client's cancellation at its deadline
 * arrived before the daemon's copy of the deadline, which is later by the request's transit time
 * (cri_gone_code's slack).  The client got DEADLINE_EXCEEDED from its own gRPC either way.
 * Returns the answer's time in microseconds.
 */
static long long pull_deadline_answered(void)
{
	int status = -1, found = 0;
	long long us = -1;
	for (int i = 0; i < 1500 && !(found = pull_failure_logged(&status, &us)); i++)
		sleep_ms(20);
	if (!found)
		print_error("the daemon never answered the PullImage that gave up\n");
	assert_true(found);
	print_message("the daemon answered status %d after %lld ms\n", status, us / 1000);
	assert_int_equal(status, GRPC_STATUS_DEADLINE_EXCEEDED);
	return us;
}

/*
 * SIGKILL the daemon while it fetches BIG (paced to 4 MiB/s, so ~16 s): after a restart nothing
 * of the pull is left — tmp empty, no image row, no layer directory without its row, no partial
 * blob — and the pull then succeeds.
 */
static void test_killed_mid_pull(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	struct bg_pull b = { .image = UPSTREAM "big:1" };
	int seen = bg_pull_start(&b);
	if (seen)
		sleep_ms(1500); /* a few MiB into the 64 MiB layer */
	int in_tmp = count_in("tmp");
	assert_int_equal(harness_kill(&fx.d), 0);
	pthread_join(b.thread, NULL);
	print_message("killed the daemon with %d entries in images/tmp; the pull ended %s\n", in_tmp,
		      cri_status_name(b.st));
	if (!seen)
		print_error("nothing appeared in %s/tmp during the pull (status %s)\n", fx.images, cri_status_name(b.st));
	assert_true(seen);
	assert_int_not_equal(b.st, GRPC_STATUS_OK);
	free(b.ref);
	free(b.details);

	testproxy_set_rate(&fx.proxy, 0);
	int rc = harness_start(&fx.d, NULL, NULL);
	if (rc < 0) {
		char *log = harness_slurp(fx.d.log);
		print_error("restart failed; log:\n%s\n", log ? log : "");
		free(log);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count_in("tmp"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	assert_false(has_blob(img.layer_digests[1]));
	assert_false(has_layer(img.chain_ids[1]));
	assert_layer_dirs_have_rows();

	pull_ok(UPSTREAM "big:1", img.config_digest);
	assert_true(has_layer(img.chain_ids[1]));
	char p[PATH_MAX];
	struct stat st;
	lpath(p, sizeof p, img.chain_ids[1], "big");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 64 << 20);
	assert_int_equal(count_in("tmp"), 0);
}

/*
 * While a pull crawls (the relay paces it), status calls are answered: the pull runs on a pool
 * thread, the status calls on the polling thread, and neither waits for the other.
 */
static void test_status_during_pull(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	struct bg_pull b = { .image = UPSTREAM "big:1" };
	int seen = bg_pull_start(&b);
	assert_true(seen);
	for (int i = 0; i < 50; i++) {
		Runtime__V1__ImageStatusResponse *r = image_status(UPSTREAM "big:1", 0);
		assert_null(r->image); /* not there until the pull ends */
		protobuf_c_message_free_unpacked(&r->base, NULL);
		Runtime__V1__ListImagesResponse *l = list_images(NULL);
		assert_int_equal(l->n_images, 0);
		protobuf_c_message_free_unpacked(&l->base, NULL);
	}
	/* All answered while the pull is still under way: its layer is still being written. */
	assert_true(count_in("tmp") > 0);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	testproxy_set_rate(&fx.proxy, 0);
	pthread_join(b.thread, NULL);
	assert_int_equal(b.st, GRPC_STATUS_OK);
	assert_string_equal(b.ref, img.config_digest);
	free(b.ref);
	free(b.details);
}

/*
 * SIGTERM while a pull crawls: after --shutdown-timeout the daemon gives up the transfer and
 * exits 0 at once (it does not wait for the pull); the next start finds nothing half-done.
 */
static void test_sigterm_during_pull(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	assert_int_equal(harness_stop(&fx.d), 0);
	const char *extra[] = { "--shutdown-timeout", "1", NULL };
	assert_int_equal(harness_start(&fx.d, extra, NULL), 0);
	testproxy_set_rate(&fx.proxy, 256L << 10); /* 64 MiB would take minutes */
	struct bg_pull b = { .image = UPSTREAM "big:1" };
	int seen = bg_pull_start(&b);
	assert_true(seen);
	/* harness_stop sends SIGTERM and would SIGKILL after 30 s: a clean 0 means it did not wait. */
	assert_int_equal(harness_stop(&fx.d), 0);
	pthread_join(b.thread, NULL);
	/* docs/daemon.md: the caller of a pull whose transfer was aborted gets UNAVAILABLE (gRPC's
	 * "Cancelling all calls": the server cancels open calls before the handler answers) */
	if (b.st != GRPC_STATUS_UNAVAILABLE)
		print_error("pull during shutdown: %s: %s\n", cri_status_name(b.st), b.details ? b.details : "");
	assert_int_equal(b.st, GRPC_STATUS_UNAVAILABLE);
	free(b.ref);
	free(b.details);
	char *log = harness_slurp(fx.d.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "cancelling them"));
	assert_non_null(strstr(log, "shutting down"));
	free(log);

	testproxy_set_rate(&fx.proxy, 0);
	assert_int_equal(harness_start(&fx.d, NULL, NULL), 0);
	assert_int_equal(count_in("tmp"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 0);
	assert_layer_dirs_have_rows();
	pull_ok(UPSTREAM "big:1", img.config_digest);
}

/*
 * Two pulls of the same image at once: both succeed with the same ID; each blob is fetched once.
 * Overlap is shown, not assumed: the relay crawls, the second pull starts once the first one's
 * download shows in images/tmp, and the daemon logs that the second joined the first one in
 * progress; only then does the relay speed up.  (Whether the first still had a file in images/tmp
 * at that moment is not asserted: between two layers it may have none, which made that check
 * fail now and then in the ASan build.)
 */
static void test_concurrent_pulls(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	testproxy_set_rate(&fx.proxy, 256L << 10);
	struct bg_pull b[2] = { { .image = UPSTREAM "big:1" }, { .image = UPSTREAM "big:1" } };
	assert_true(bg_pull_start(&b[0]));
	assert_int_equal(pthread_create(&b[1].thread, NULL, bg_pull_main, &b[1]), 0);
	const char *joined = "image pull: " UPSTREAM "big:1 already in progress; waiting for it";
	int waiting = wait_log(joined, 30000);
	int first_unrecorded = db_int("SELECT count(*) FROM images") == 0;
	testproxy_set_rate(&fx.proxy, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(b[i].thread, NULL);
	if (!waiting)
		print_error("the daemon never logged \"%s\"\n", joined);
	assert_true(waiting);
	assert_true(first_unrecorded); /* the first pull had not finished when the second joined it */
	for (int i = 0; i < 2; i++) {
		if (b[i].st != GRPC_STATUS_OK)
			print_error("pull %d: %s: %s\n", i, cri_status_name(b[i].st), b[i].details ? b[i].details : "");
		assert_int_equal(b[i].st, GRPC_STATUS_OK);
		assert_string_equal(b[i].ref, img.config_digest);
		free(b[i].ref);
		free(b[i].details);
	}
	assert_int_equal(db_int("SELECT count(*) FROM images"), 1);
	int n = testreg_count_requests(&fx.reg, "GET", img.config_digest);
	if (n != 1)
		print_error("config %s fetched %d times\n", img.config_digest, n);
	assert_int_equal(n, 1);
	for (int i = 0; i < img.n_layers; i++) {
		n = testreg_count_requests(&fx.reg, "GET", img.layer_digests[i]);
		if (n != 1)
			print_error("layer %s fetched %d times\n", img.layer_digests[i], n);
		assert_int_equal(n, 1);
	}
	assert_int_equal(count_in("tmp"), 0);
}

/*
 * A pull whose caller's deadline passes mid-transfer: the caller gets DEADLINE_EXCEEDED, and the
 * daemon answers at the deadline (the client would give up then whatever the daemon did: the
 * daemon's own log shows its answer and when), not when the transfer would have ended (minutes
 * at this pace).  No other
 * caller waits, so the transfer is aborted and ends as a failed pull does: no image, no blob or
 * layer of the big layer, tmp empty.  A pull afterwards starts afresh and succeeds.
 */
static void test_pull_deadline(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	testproxy_set_rate(&fx.proxy, 256L << 10); /* 64 MiB would take minutes */
	char *ref = NULL, *details = NULL;
	grpc_status_code st = pull_within(UPSTREAM "big:1", NULL, NULL, NULL, 2000, &ref, &details);
	if (st != GRPC_STATUS_DEADLINE_EXCEEDED)
		print_error("PullImage with a 2 s deadline: %s: %s\n", cri_status_name(st), details ? details : "");
	assert_int_equal(st, GRPC_STATUS_DEADLINE_EXCEEDED);
	free(ref);
	free(details);
	long long us = pull_deadline_answered();
	assert_true(us >= 1500000 && us < 10000000);
	const char *aborted = "image pull: " UPSTREAM "big:1 aborted, no caller waits for it any more";
	int ended = wait_log(aborted, 30000);
	if (!ended)
		print_error("the daemon never logged \"%s\"\n", aborted);
	assert_true(ended);
	assert_big_pull_left_nothing(&img);

	testproxy_set_rate(&fx.proxy, 0);
	pull_ok(UPSTREAM "big:1", img.config_digest);
	assert_true(has_layer(img.chain_ids[1]));
}

/*
 * Two callers of one pull, the first (which started the transfer) with a 5 s deadline: it gets
 * DEADLINE_EXCEEDED then while the transfer goes on for the second, which gets the image; the
 * transfer was neither aborted nor restarted (each blob fetched once).
 */
static void test_pull_deadline_shared(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	testproxy_set_rate(&fx.proxy, 256L << 10);
	struct bg_pull first = { .image = UPSTREAM "big:1", .timeout_ms = 5000 }, second = { .image = UPSTREAM "big:1" };
	assert_true(bg_pull_start(&first));
	assert_int_equal(pthread_create(&second.thread, NULL, bg_pull_main, &second), 0);
	int joined = wait_log("image pull: " UPSTREAM "big:1 already in progress; waiting for it", 30000);
	int first_waited = !atomic_load(&first.finished);
	pthread_join(first.thread, NULL);
	if (!joined || !first_waited)
		print_error("the second pull %s\n", joined ? "joined after the first had given up" : "never joined");
	assert_true(joined && first_waited);
	if (first.st != GRPC_STATUS_DEADLINE_EXCEEDED)
		print_error("first pull: %s: %s\n", cri_status_name(first.st), first.details ? first.details : "");
	assert_int_equal(first.st, GRPC_STATUS_DEADLINE_EXCEEDED);
	long long us = pull_deadline_answered();
	assert_true(us >= 4000000 && us < 10000000);
	assert_true(wait_log("image pull: " UPSTREAM "big:1: a caller stopped waiting", 0));
	assert_true(wait_log("the pull goes on for the others", 0));
	assert_false(atomic_load(&second.finished)); /* it still waits */
	testproxy_set_rate(&fx.proxy, 0);
	pthread_join(second.thread, NULL);
	if (second.st != GRPC_STATUS_OK)
		print_error("second pull: %s: %s\n", cri_status_name(second.st), second.details ? second.details : "");
	assert_int_equal(second.st, GRPC_STATUS_OK);
	assert_string_equal(second.ref, img.config_digest);
	assert_false(wait_log("no caller waits for it any more", 0));
	assert_int_equal(testreg_count_requests(&fx.reg, "GET", img.config_digest), 1);
	for (int i = 0; i < img.n_layers; i++)
		assert_int_equal(testreg_count_requests(&fx.reg, "GET", img.layer_digests[i]), 1);
	assert_true(image_known(UPSTREAM "big:1"));
	assert_int_equal(count_in("tmp"), 0);
	for (int i = 0; i < 2; i++) {
		struct bg_pull *b = i ? &second : &first;
		free(b->ref);
		free(b->details);
	}
}

/*
 * RemoveImage of an image whose pull is in flight (docs/images.md): it removes what is recorded
 * when it runs — nothing yet: OK — and neither waits for nor stops the pull, which records the
 * image when it ends: the image exists afterwards, complete.  A RemoveImage then removes it.
 */
static void test_remove_during_pull(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &img);
	testproxy_set_rate(&fx.proxy, 256L << 10);
	struct bg_pull b = { .image = UPSTREAM "big:1" };
	assert_true(bg_pull_start(&b));
	assert_int_equal(remove_image(UPSTREAM "big:1"), GRPC_STATUS_OK);
	assert_false(image_known(UPSTREAM "big:1"));
	assert_false(atomic_load(&b.finished)); /* the removal came while the pull was in flight */
	testproxy_set_rate(&fx.proxy, 0);
	pthread_join(b.thread, NULL);
	if (b.st != GRPC_STATUS_OK)
		print_error("pull: %s: %s\n", cri_status_name(b.st), b.details ? b.details : "");
	assert_int_equal(b.st, GRPC_STATUS_OK);
	assert_string_equal(b.ref, img.config_digest);
	free(b.ref);
	free(b.details);
	assert_true(image_known(UPSTREAM "big:1"));
	for (int i = 0; i < img.n_layers; i++) {
		assert_true(has_blob(img.layer_digests[i]));
		assert_true(has_layer(img.chain_ids[i]));
	}
	assert_int_equal(count_in("tmp"), 0);
	assert_layer_dirs_have_rows();
	assert_int_equal(remove_image(UPSTREAM "big:1"), GRPC_STATUS_OK);
	assert_store_empty();
}

/*
 * Garbage collection waits for pulls in flight: MULTI is recorded; BIG (whose bottom layer is
 * MULTI's) is being pulled — its manifest and config are stored but not yet recorded, and it
 * reuses the shared layer without fetching it.  RemoveImage of MULTI triggers a collection: it is
 * deferred (MULTI's own layers are still there right after), so BIG's blobs and the shared layer,
 * unreferenced for now, survive; BIG's pull completes, and the collection then runs at its end:
 * MULTI's own layers and blobs go, all of BIG stays.
 */
static void test_gc_deferred_during_pull(void **state)
{
	(void)state;
	struct testimg multi, big;
	build_push(TESTIMG_MULTI, MIRROR_REPO "multi", "2", &multi);
	build_push(TESTIMG_BIG, MIRROR_REPO "big", "1", &big);
	assert_string_equal(multi.chain_ids[0], big.chain_ids[0]);
	testproxy_set_rate(&fx.proxy, 0);
	pull_ok(UPSTREAM "multi:2", multi.config_digest);
	testproxy_set_rate(&fx.proxy, 256L << 10);
	struct bg_pull b = { .image = UPSTREAM "big:1" };
	assert_true(bg_pull_start(&b));
	for (int i = 0; i < 1500 && !has_blob(big.config_digest); i++) /* up to 30 s; then the big layer */
		sleep_ms(20);
	assert_true(has_blob(big.manifest_digest));
	assert_true(has_blob(big.config_digest));
	assert_int_equal(remove_image(UPSTREAM "multi:2"), GRPC_STATUS_OK);
	assert_false(image_known(multi.config_digest));
	assert_true(wait_log("image gc: deferred, a pull or import is running", 0));
	assert_false(atomic_load(&b.finished));
	/* deferred: nothing collected yet, the pull's unrecorded blobs least of all */
	assert_true(has_blob(big.manifest_digest));
	assert_true(has_blob(big.config_digest));
	assert_true(has_layer(big.chain_ids[0]));
	assert_true(has_layer(multi.chain_ids[2]));
	testproxy_set_rate(&fx.proxy, 0);
	pthread_join(b.thread, NULL);
	if (b.st != GRPC_STATUS_OK)
		print_error("pull: %s: %s\n", cri_status_name(b.st), b.details ? b.details : "");
	assert_int_equal(b.st, GRPC_STATUS_OK);
	free(b.ref);
	free(b.details);
	/* the collection ran as the pull ended */
	for (int i = 1; i < multi.n_layers; i++) {
		assert_false(has_layer(multi.chain_ids[i]));
		assert_false(has_blob(multi.layer_digests[i]));
	}
	assert_false(has_blob(multi.config_digest));
	assert_true(image_known(UPSTREAM "big:1"));
	assert_true(has_blob(big.manifest_digest));
	assert_true(has_blob(big.config_digest));
	for (int i = 0; i < big.n_layers; i++) {
		assert_true(has_blob(big.layer_digests[i]));
		assert_true(has_layer(big.chain_ids[i]));
	}
	assert_int_equal(count_in("tmp"), 0);
	assert_layer_dirs_have_rows();
}

/* ------------------------------------------------------------------------------------------ */
/* remove, list, usage                                                                        */

/* RemoveImage by tag, by ID, by repo digest: the image, its blobs and layers go; idempotent. */
static void test_remove(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	const char *name = UPSTREAM "busybox:1.0";
	char by_digest[256];
	snprintf(by_digest, sizeof by_digest, UPSTREAM "busybox@%s", img.manifest_digest);
	const char *how[3] = { name, img.config_digest, by_digest };
	for (int i = 0; i < 3; i++) {
		pull_ok(name, img.config_digest);
		assert_true(has_layer(img.chain_ids[0]));
		assert_int_equal(remove_image(how[i]), GRPC_STATUS_OK);
		assert_false(image_known(img.config_digest));
		assert_false(image_known(name));
		assert_false(image_known(by_digest));
		assert_store_empty();
		assert_int_equal(remove_image(how[i]), GRPC_STATUS_OK); /* again: nothing to do, OK */
	}
	assert_int_equal(remove_image(UPSTREAM "never-pulled:1"), GRPC_STATUS_OK);
	assert_int_equal(remove_image("sha256:1111111111111111111111111111111111111111111111111111111111111111"),
			 GRPC_STATUS_OK);
}

/* ListImages: everything, or what a filter names (tag or ID). */
static void test_list_images(void **state)
{
	(void)state;
	struct testimg base, multi;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &base);
	build_push(TESTIMG_MULTI, MIRROR_REPO "multi", "2", &multi);
	Runtime__V1__ListImagesResponse *r = list_images(NULL);
	assert_int_equal(r->n_images, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	pull_ok(UPSTREAM "busybox:1.0", base.config_digest);
	pull_ok(UPSTREAM "multi:2", multi.config_digest);

	r = list_images(NULL);
	assert_int_equal(r->n_images, 2);
	int seen_base = 0, seen_multi = 0;
	for (size_t i = 0; i < r->n_images; i++) {
		const Runtime__V1__Image *im = r->images[i];
		assert_true(im->size > 0);
		if (!strcmp(im->id, base.config_digest)) {
			seen_base = 1;
			assert_true(has(im->repo_tags, im->n_repo_tags, UPSTREAM "busybox:1.0"));
		} else if (!strcmp(im->id, multi.config_digest)) {
			seen_multi = 1;
			assert_true(has(im->repo_tags, im->n_repo_tags, UPSTREAM "multi:2"));
			assert_non_null(im->uid);
			assert_int_equal(im->uid->value, 1000);
		}
	}
	assert_true(seen_base && seen_multi);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	const char *filters[2] = { UPSTREAM "multi:2", multi.config_digest };
	for (int f = 0; f < 2; f++) {
		r = list_images(filters[f]);
		assert_int_equal(r->n_images, 1);
		assert_string_equal(r->images[0]->id, multi.config_digest);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	r = list_images(UPSTREAM "nothing-here:1");
	assert_int_equal(r->n_images, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* ImageFsInfo: usage grows with a pull and drops after the removal. */
static void test_image_fs_info(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, MIRROR_REPO "busybox", "1.0", &img);
	uint64_t b0, i0, b1, i1, b2, i2;
	fs_info(&b0, &i0);
	pull_ok(UPSTREAM "busybox:1.0", img.config_digest);
	fs_info(&b1, &i1);
	struct stat bb;
	assert_int_equal(stat("/bin/busybox", &bb), 0);
	if (b1 <= b0 + (uint64_t)bb.st_size)
		print_error("used_bytes %llu before, %llu after pulling (busybox alone is %lld)\n", (unsigned long long)b0,
			    (unsigned long long)b1, (long long)bb.st_size);
	assert_true(b1 > b0 + (uint64_t)bb.st_size);
	assert_true(i1 > i0);
	assert_true(i1 >= 10); /* BASE unpacks 13 entries */
	assert_int_equal(remove_image(img.config_digest), GRPC_STATUS_OK);
	fs_info(&b2, &i2);
	assert_true(b2 < b1);
	assert_true(i2 < i1);
}

/* ------------------------------------------------------------------------------------------ */
/* authentication                                                                             */

/* base64("user:pass") for AuthConfig.auth (static buffer). */
static const char *auth_b64(const char *user, const char *pass)
{
	static char out[128];
	char in[80];
	int n = snprintf(in, sizeof in, "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, n);
	return out;
}

/* Pull from an authenticating registry by its own name: refused without or with wrong
 * credentials, accepted with username/password and with the `auth` form. */
static void auth_pull_cases(void)
{
	struct testimg img;
	build_push(TESTIMG_BASE, "x/busybox", "1", &img);
	char name[128];
	snprintf(name, sizeof name, "%s/x/busybox:1", fx.reg.host);
	free(pull_fails(name, NULL, NULL, GRPC_STATUS_UNAUTHENTICATED, GRPC_STATUS_PERMISSION_DENIED));
	free(pull_fails(name, fx.reg.user, "wrong-password", GRPC_STATUS_UNAUTHENTICATED, GRPC_STATUS_PERMISSION_DENIED));
	assert_store_empty();

	pull_as_ok(name, fx.reg.user, fx.reg.pass, NULL, img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_true(has(r->image->repo_tags, r->image->n_repo_tags, name));
	protobuf_c_message_free_unpacked(&r->base, NULL);

	assert_int_equal(remove_image(name), GRPC_STATUS_OK);
	assert_store_empty();
	pull_as_ok(name, NULL, NULL, auth_b64(fx.reg.user, fx.reg.pass), img.config_digest);
}

/*
 * MULTI (three layers, fetched by three download threads, each with its own connection) from an
 * authenticating registry with credentials: every thread is let in.  Returns the number of
 * tokens the registry's token server issued during the pull.
 */
static int auth_pull_multi(void)
{
	struct testimg img;
	build_push(TESTIMG_MULTI, "x/multi", "1", &img);
	char name[128];
	snprintf(name, sizeof name, "%s/x/multi:1", fx.reg.host);
	int tokens = testreg_tokens_issued(&fx.reg);
	pull_as_ok(name, fx.reg.user, fx.reg.pass, NULL, img.config_digest);
	tokens = testreg_tokens_issued(&fx.reg) - tokens;
	assert_int_equal(count_in("layers"), 3);
	return tokens;
}

/* htpasswd registry: see auth_pull_cases and auth_pull_multi. */
static void test_basic_auth(void **state)
{
	(void)state;
	auth_pull_cases();
	(void)auth_pull_multi();
}

/*
 * Token registry: see auth_pull_cases; the daemon fetched tokens from the realm.  The download
 * threads of one pull start with the token the pull already has: one token per pull.
 */
static void test_token_auth(void **state)
{
	(void)state;
	int before = testreg_tokens_issued(&fx.reg); /* the pushes took some */
	auth_pull_cases();
	assert_true(testreg_tokens_issued(&fx.reg) > before);
	assert_int_equal(auth_pull_multi(), 1);
}

/* Send one request with an Authorization header to the relay (and read the answer). */
static void send_authorized_to_relay(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.proxy.port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *req = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dGVzdDp0ZXN0\r\n"
			  "Connection: close\r\n\r\n";
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	char buf[4096];
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	close(fd);
}

/*
 * Credentials are never sent to a mirror (docs/images.md).  The registry wants basic auth and has
 * a mirror — itself, through the relay, which keeps what it is sent.  A pull with credentials
 * asks the mirror first, without them (refused), then the registry itself, with them: it succeeds,
 * and nothing that reached the mirror carried an Authorization header.  (A request of the test's
 * own with one shows that the relay would have seen it.)
 */
static void test_no_credentials_to_mirror(void **state)
{
	(void)state;
	struct testimg img;
	build_push(TESTIMG_BASE, "x/busybox", "1", &img);
	char name[128];
	snprintf(name, sizeof name, "%s/x/busybox:1", fx.reg.host);
	pull_as_ok(name, fx.reg.user, fx.reg.pass, NULL, img.config_digest);
	int asked = testproxy_count(&fx.proxy, "GET /v2/x/busybox/manifests/1 ");
	int authorized = testproxy_count(&fx.proxy, "authorization:");
	print_message("the mirror was asked %d time(s) for the manifest; %d request(s) to it were authorized\n", asked,
		      authorized);
	assert_true(asked >= 1);
	assert_int_equal(authorized, 0);
	char refused[128];
	snprintf(refused, sizeof refused, "from http://127.0.0.1:%d failed", fx.proxy.port);
	assert_true(wait_log(refused, 0));
	send_authorized_to_relay();
	assert_int_equal(testproxy_count(&fx.proxy, "authorization:"), 1);
}

/* ------------------------------------------------------------------------------------------ */
/* TLS                                                                                        */

/* Pull `name` (pushed as repo:1 of BASE) and check the image is there under that name; the
 * registry served its manifest (over TLS: it serves nothing else). */
static void tls_pull_ok(const char *repo, const char *name)
{
	struct testimg img;
	build_push(TESTIMG_BASE, repo, "1", &img);
	pull_ok(name, img.config_digest);
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	assert_non_null(r->image);
	assert_string_equal(r->image->id, img.config_digest);
	assert_true(has(r->image->repo_tags, r->image->n_repo_tags, name));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_true(has_blob(img.layer_digests[0]));
	assert_true(has_layer(img.chain_ids[0]));
	assert_true(testreg_count_requests(&fx.reg, "GET", "/manifests/1") >= 1);
	assert_int_equal(count_in("tmp"), 0);
}

/* Pull `name` (pushed as repo:1) must fail UNAVAILABLE for want of a trusted certificate: the
 * message names the endpoint and the certificate problem; the registry answered no request of the
 * pull (no handshake completed) and nothing is stored. */
static void tls_pull_untrusted(const char *repo, const char *name)
{
	struct testimg img;
	build_push(TESTIMG_BASE, repo, "1", &img);
	int gets = testreg_count_requests(&fx.reg, "GET", "/v2/");
	char *msg = pull_fails(name, NULL, NULL, GRPC_STATUS_UNAVAILABLE, GRPC_STATUS_UNAVAILABLE);
	print_message("PullImage %s: %s\n", name, msg);
	int names_endpoint = strstr(msg, fx.reg.host) != NULL;
	int names_cert = strstr(msg, "certificate") != NULL || strstr(msg, "SSL") != NULL;
	if (!names_endpoint || !names_cert)
		print_error("the message should name %s and the certificate problem: %s\n", fx.reg.host, msg);
	free(msg);
	assert_true(names_endpoint);
	assert_true(names_cert);
	assert_int_equal(testreg_count_requests(&fx.reg, "GET", "/v2/"), gets);
	assert_int_equal(testreg_count_requests(&fx.reg, "HEAD", "/manifests/"), 0);
	assert_false(image_known(name));
	assert_store_empty();
}

/* https mirror with ca=<the registry's CA>: verified, pulled. */
static void test_tls_mirror_ca(void **state)
{
	(void)state;
	tls_pull_ok(MIRROR_REPO "busybox", UPSTREAM "busybox:1");
}

/* https mirror with neither ca= nor insecure: the system store does not know the test CA. */
static void test_tls_mirror_untrusted(void **state)
{
	(void)state;
	tls_pull_untrusted(MIRROR_REPO "busybox", UPSTREAM "busybox:1");
}

/* https mirror marked insecure, no CA: not verified, pulled (over https: the port speaks nothing
 * else). */
static void test_tls_mirror_insecure(void **state)
{
	(void)state;
	tls_pull_ok(MIRROR_REPO "busybox", UPSTREAM "busybox:1");
}

/* 127.0.0.1:<port>/x/busybox:1 with the section's ca = <the registry's CA>: pulled. */
static void test_tls_registry_ca(void **state)
{
	(void)state;
	char name[128];
	snprintf(name, sizeof name, "%s/x/busybox:1", fx.reg.host);
	tls_pull_ok("x/busybox", name);
}

/* The same with ca = <another CA>: refused. */
static void test_tls_registry_other_ca(void **state)
{
	(void)state;
	char name[128];
	snprintf(name, sizeof name, "%s/x/busybox:1", fx.reg.host);
	tls_pull_untrusted("x/busybox", name);
}

/* Basic auth over TLS (the registry verified with its CA): see auth_pull_cases. */
static void test_tls_basic_auth(void **state)
{
	(void)state;
	auth_pull_cases();
}

/* ------------------------------------------------------------------------------------------ */
/* import                                                                                     */

/* Run `litecri image import` on path beside the running daemon; exit status. */
static int run_import(const char *path)
{
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/import.out", fx.d.dir);
	const char *argv[] = { LITECRI_BIN, "image", "import", "--config", fx.d.config, "--db", fx.d.db,
			       "--root", fx.d.root, path, NULL };
	int rc = harness_run(argv, out);
	if (rc != 0) {
		char *text = harness_slurp(out);
		print_error("litecri image import %s: exit %d:\n%s\n", path, rc, text ? text : "");
		free(text);
	}
	return rc;
}

/* The daemon sees image `name` as `id`, with its layers unpacked. */
static void assert_imported(const char *name, const struct testimg *img)
{
	Runtime__V1__ImageStatusResponse *r = image_status(name, 0);
	if (!r->image)
		print_error("ImageStatus %s: no image after import\n", name);
	assert_non_null(r->image);
	assert_string_equal(r->image->id, img->config_digest);
	assert_true(has(r->image->repo_tags, r->image->n_repo_tags, name));
	assert_true(r->image->size > 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	for (int i = 0; i < img->n_layers; i++)
		assert_true(has_layer(img->chain_ids[i]));
}

/* An OCI layout directory with two images, each under its full ref name. */
static void test_import_layout_dir(void **state)
{
	(void)state;
	struct testimg base, multi;
	assert_int_equal(testimg_build(fx.layout, TESTIMG_BASE, UPSTREAM "imported:1", &base), 0);
	assert_int_equal(testimg_build(fx.layout, TESTIMG_MULTI, UPSTREAM "imported-multi:2", &multi), 0);
	assert_int_equal(run_import(fx.layout), 0);
	assert_imported(UPSTREAM "imported:1", &base);
	assert_imported(UPSTREAM "imported-multi:2", &multi);
	assert_int_equal(db_int("SELECT count(*) FROM images"), 2);
	assert_int_equal(count_in("tmp"), 0);
	/* imported images are removed like pulled ones */
	assert_int_equal(remove_image(UPSTREAM "imported:1"), GRPC_STATUS_OK);
	assert_int_equal(remove_image(multi.config_digest), GRPC_STATUS_OK);
	assert_store_empty();
}

/* The same layout as a tar (blobs first, index.json after), with a Docker manifest and an index. */
static void test_import_layout_tar(void **state)
{
	(void)state;
	struct testimg docker, index;
	assert_int_equal(testimg_build(fx.layout, TESTIMG_DOCKER, UPSTREAM "imported-docker:1", &docker), 0);
	assert_int_equal(testimg_build(fx.layout, TESTIMG_INDEX, UPSTREAM "imported-index:1", &index), 0);
	char tar[PATH_MAX];
	snprintf(tar, sizeof tar, "%s/layout.tar", fx.d.dir);
	assert_int_equal(testimg_layout_tar(fx.layout, tar), 0);
	assert_int_equal(run_import(tar), 0);
	assert_imported(UPSTREAM "imported-docker:1", &docker);
	assert_imported(UPSTREAM "imported-index:1", &index); /* the host-arch image of the index */
	assert_false(image_known(index.other_config_digest));
	assert_int_equal(count_in("tmp"), 0);
}

/* A `docker save` tarball: RepoTags name the image; its ID is the config digest as pulled. */
static void test_import_docker_save(void **state)
{
	(void)state;
	struct testimg multi;
	assert_int_equal(testimg_build(fx.layout, TESTIMG_MULTI, NULL, &multi), 0);
	char tar[PATH_MAX];
	snprintf(tar, sizeof tar, "%s/saved.tar", fx.d.dir);
	assert_int_equal(testimg_docker_save(fx.layout, &multi, UPSTREAM "saved:3", tar), 0);
	assert_int_equal(run_import(tar), 0);
	assert_imported(UPSTREAM "saved:3", &multi);
	/* the layers unpacked from uncompressed layer.tar files are the same as pulled ones */
	char p[PATH_MAX];
	struct stat st;
	lpath(p, sizeof p, multi.chain_ids[2], "data/a");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(count_in("tmp"), 0);
}

int main(void)
{
	/* Only 127.0.0.1 is ever contacted: no proxy may redirect the daemon's or our requests. */
	const char *proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
		unsetenv(proxies[i]);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	grpc_init();
	if (getenv("LITECRI_TEST_FILTER")) /* e.g. LITECRI_TEST_FILTER='test_import*' */
		cmocka_set_test_filter(getenv("LITECRI_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_pull_by_tag, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_pull_by_digest, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_base_layer_contents, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_multi_layers_and_config, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_username, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_docker_media_types, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_index_platform, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_shared_layer, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_corrupt_layer, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_corrupt_config, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_missing_image, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_killed_mid_pull, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_status_during_pull, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_sigterm_during_pull, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_concurrent_pulls, up, down, (void *)&PACED),
		cmocka_unit_test_prestate_setup_teardown(test_pull_deadline, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_pull_deadline_shared, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_remove_during_pull, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_gc_deferred_during_pull, up, down, (void *)&SLOW),
		cmocka_unit_test_prestate_setup_teardown(test_remove, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_list_images, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_image_fs_info, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_basic_auth, up, down, (void *)&BASIC),
		cmocka_unit_test_prestate_setup_teardown(test_token_auth, up, down, (void *)&TOKEN),
		cmocka_unit_test_prestate_setup_teardown(test_no_credentials_to_mirror, up, down, (void *)&MIRROR_BASIC),
		cmocka_unit_test_prestate_setup_teardown(test_tls_mirror_ca, up, down, (void *)&TLS_MIRROR_CA),
		cmocka_unit_test_prestate_setup_teardown(test_tls_mirror_untrusted, up, down, (void *)&TLS_MIRROR_PLAIN),
		cmocka_unit_test_prestate_setup_teardown(test_tls_mirror_insecure, up, down, (void *)&TLS_MIRROR_INSECURE),
		cmocka_unit_test_prestate_setup_teardown(test_tls_registry_ca, up, down, (void *)&TLS_REGISTRY_CA),
		cmocka_unit_test_prestate_setup_teardown(test_tls_registry_other_ca, up, down, (void *)&TLS_REGISTRY_OTHER_CA),
		cmocka_unit_test_prestate_setup_teardown(test_tls_basic_auth, up, down, (void *)&TLS_BASIC),
		cmocka_unit_test_prestate_setup_teardown(test_import_layout_dir, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_import_layout_tar, up, down, (void *)&OPEN),
		cmocka_unit_test_prestate_setup_teardown(test_import_docker_save, up, down, (void *)&OPEN),
	};
	int failed = cmocka_run_group_tests_name("images", tests, NULL, NULL);
	grpc_shutdown();
	return failed ? 1 : 0;
}
