/* images.c — see images.h. */
#include "image/images.h"

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/content.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "store/images.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"

#define CONFIG_MAX (8u << 20) /* image configs larger than 8 MiB are refused */

/*
 * A pull in progress, shared by every caller asking for the same reference.  Its transfer runs on
 * a thread of its own (pull_thread), so that any caller, the first one included, may stop waiting
 * while the others go on; the transfer is aborted once no caller waits any more.
 */
struct inflight {
	struct inflight *next;     /* in images.inflight until the transfer ends (mu) */
	struct images *im;
	char key[1024];
	struct image_ref ref;
	struct registry_auth auth; /* the first caller's credentials, copied (the transfer's own) */
	int has_auth;
	int waiters;               /* callers waiting for the result (mu) */
	atomic_int abort;          /* set when the last caller left before the end: stop the transfer */
	int done_fd;               /* eventfd, readable once done */
	int done;                  /* the transfer ended: rc, id, err hold its result (mu) */
	int rc;
	char id[DIGEST_BUF];
	struct lc_err err;
};

struct images {
	const struct lc_config *cfg;
	struct store *store;
	struct content content;
	char lock_path[PATH_MAX + 16];
	pthread_mutex_t mu;
	pthread_cond_t cond;       /* a transfer thread ended (transfers dropped) */
	struct inflight *inflight; /* guarded by mu */
	int transfers;             /* pull threads running (mu) */
	int active;                /* pulls/imports of this process holding the shared lock (mu) */
	int gc_pending;            /* a collection was asked for while active > 0 (mu) */
};

const struct content *images_content(const struct images *im) { return &im->content; }

/* ---- the garbage-collection lock ------------------------------------------------------- */

/* Take the shared lock for a pull or import: fd to pass to work_end. */
static int work_begin(struct images *im, int *fd, struct lc_err *err)
{
	*fd = open(im->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return lc_fail(err, errno, "open %s", im->lock_path);
	while (flock(*fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(*fd);
			*fd = -1;
			return lc_fail(err, e, "lock %s", im->lock_path);
		}
	}
	pthread_mutex_lock(&im->mu);
	im->active++;
	pthread_mutex_unlock(&im->mu);
	return 0;
}

/* Release the shared lock; the last one out runs a collection that was deferred. */
static void work_end(struct images *im, int fd)
{
	pthread_mutex_lock(&im->mu);
	assert(im->active > 0);
	int run = --im->active == 0 && im->gc_pending;
	pthread_mutex_unlock(&im->mu);
	close(fd);
	if (run) {
		struct lc_err err = { 0 };
		if (images_gc(im, &err) < 0)
			log_warn("image gc: %s", err.msg);
	}
}

/* ---- garbage collection ------------------------------------------------------------------ */

/*
 * One kind of content a collection walks on disk: layer directories (kept while they have a
 * row) or blobs (kept while an image references them).
 */
struct sweep {
	struct images *im;
	const char *what;
	int (*wanted)(struct store *s, const char *digest, int *yes, struct lc_err *err);
	int (*remove)(const struct content *c, const char *digest, struct lc_err *err);
};

/* content_each_* callback: remove digest unless it is still wanted. */
static int sweep_one(const char *digest, void *arg)
{
	const struct sweep *w = arg;
	struct lc_err err = { 0 };
	int yes = 1;
	if (w->wanted(w->im->store, digest, &yes, &err) < 0) {
		log_warn("image gc: %s", err.msg);
		return -1;
	}
	if (!yes) {
		log_info("image gc: removing %s %s", w->what, digest);
		if (w->remove(&w->im->content, digest, &err) < 0)
			log_warn("image gc: %s", err.msg);
	}
	return 0;
}

/* Collect with the exclusive lock held: rows first, then what they described. */
static int gc_locked(struct images *im, struct lc_err *err)
{
	char(*ids)[DIGEST_BUF] = NULL;
	size_t n = 0;
	if (store_layers_unreferenced(im->store, &ids, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int deleted = 0;
		if (store_layer_delete_unreferenced(im->store, ids[i], &deleted, err) < 0) {
			rc = -1;
			break;
		}
		if (deleted) {
			log_info("image gc: removing layer %s", ids[i]);
			rc = content_remove_layer(&im->content, ids[i], err);
		}
	}
	free(ids);
	if (rc < 0)
		return -1;
	struct sweep dirs = { im, "layer directory without a record", store_layer_exists, content_remove_layer };
	struct sweep blobs = { im, "unreferenced blob", store_blob_referenced, content_remove_blob };
	if (content_each_layer(&im->content, sweep_one, &dirs, err) < 0 ||
	    content_each_blob(&im->content, sweep_one, &blobs, err) < 0)
		return -1;
	return 0;
}

int images_gc(struct images *im, struct lc_err *err)
{
	cleanup_close int fd = open(im->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return lc_fail(err, errno, "open %s", im->lock_path);
	pthread_mutex_lock(&im->mu);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK)
			im->gc_pending = 1; /* the last pull of this process to end runs it */
		pthread_mutex_unlock(&im->mu);
		if (e == EWOULDBLOCK) {
			log_debug("image gc: deferred, a pull or import is running");
			return 0;
		}
		return lc_fail(err, e, "lock %s", im->lock_path);
	}
	im->gc_pending = 0;
	pthread_mutex_unlock(&im->mu);
	return gc_locked(im, err);
}

/* ---- open / close -------------------------------------------------------------------------- */

int images_open(const struct lc_config *cfg, struct store *store, struct images **out, struct lc_err *err)
{
	struct images *im = calloc(1, sizeof *im);
	if (!im)
		return lc_fail(err, ENOMEM, "image service");
	im->cfg = cfg;
	im->store = store;
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cond, NULL);
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s/images", cfg->root) >= (int)sizeof dir) {
		images_close(im);
		return lc_fail(err, ENAMETOOLONG, "%s/images", cfg->root);
	}
	snprintf(im->lock_path, sizeof im->lock_path, "%s/gc.lock", dir);
	if (content_open(&im->content, dir, err) < 0 || images_gc(im, err) < 0) {
		images_close(im);
		return -1;
	}
	*out = im;
	return 0;
}

void images_close(struct images *im)
{
	if (!im)
		return;
	/* Every caller has gone (the server stopped first): end what is still under way. */
	pthread_mutex_lock(&im->mu);
	for (struct inflight *f = im->inflight; f; f = f->next) {
		assert(f->waiters == 0);
		atomic_store(&f->abort, 1);
	}
	while (im->transfers > 0)
		pthread_cond_wait(&im->cond, &im->mu);
	pthread_mutex_unlock(&im->mu);
	assert(im->inflight == NULL && im->active == 0);
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cond);
	free(im);
}

/* ---- sources: where manifests and blobs come from ------------------------------------------ */

struct source {
	/* A manifest by tag or digest (a digest reference must be verified by the source). */
	int (*manifest)(struct source *s, const char *ref, char **body, size_t *len, char ct[128],
			char digest[DIGEST_BUF], struct lc_err *err);
	/* A blob into the content store, verified. */
	int (*blob)(struct source *s, const struct content *c, const char *digest, int64_t size, struct lc_err *err);
	/* A source for another thread (its own connection); NULL with err on failure.  Release with put. */
	struct source *(*clone)(struct source *s, struct lc_err *err);
	void (*put)(struct source *s);
	const atomic_int *abort; /* NULL, or set once no caller waits for the pull: stop (ECANCELED) */
	char what[600]; /* for messages */
};

/* Fail with ECANCELED if the pull src serves has been aborted; else 0. */
static int check_abort(const struct source *src, struct lc_err *err)
{
	if (src->abort && atomic_load(src->abort))
		return lc_failc(err, ECANCELED, "aborted: no caller waits for the pull any more");
	return 0;
}

struct registry_source {
	struct source base;
	struct registry_session *sess;
};

static int reg_manifest(struct source *s, const char *ref, char **body, size_t *len, char ct[128],
			char digest[DIGEST_BUF], struct lc_err *err)
{
	return registry_get_manifest(((struct registry_source *)s)->sess, ref, body, len, ct, digest, err);
}

static int reg_blob(struct source *s, const struct content *c, const char *digest, int64_t size, struct lc_err *err)
{
	return registry_get_blob(((struct registry_source *)s)->sess, c, digest, size, err);
}

static struct source *reg_clone(struct source *s, struct lc_err *err)
{
	struct registry_source *r = malloc(sizeof *r);
	if (!r) {
		lc_fail(err, ENOMEM, "%s", s->what);
		return NULL;
	}
	*r = *(struct registry_source *)s;
	if (registry_session_clone(((struct registry_source *)s)->sess, &r->sess, err) < 0) {
		free(r);
		return NULL;
	}
	return &r->base;
}

static void reg_put(struct source *s)
{
	registry_session_close(((struct registry_source *)s)->sess);
	free(s);
}

/* A directory of blobs (an OCI layout, or an unpacked docker-save tarball with a file map). */
struct file_map {
	char digest[DIGEST_BUF];
	char path[PATH_MAX];
};

struct dir_source {
	struct source base;
	char dir[PATH_MAX];
	struct file_map *files; /* digests that are not at blobs/sha256/<hex> */
	size_t n_files;
};

static int dir_blob_path(struct dir_source *d, const char *digest, char *out, size_t n, struct lc_err *err)
{
	if (digest_check(digest, "blob digest", err) < 0)
		return -1;
	for (size_t i = 0; i < d->n_files; i++)
		if (!strcmp(d->files[i].digest, digest))
			return snprintf(out, n, "%s", d->files[i].path) >= (int)n ? lc_fail(err, ENAMETOOLONG, "%s", digest) : 0;
	if (snprintf(out, n, "%s/blobs/sha256/%s", d->dir, digest_hex(digest)) >= (int)n)
		return lc_fail(err, ENAMETOOLONG, "%s", digest);
	return 0;
}

/* Copy a file into the content store through a verifying writer. */
static int copy_file_blob(const char *path, const struct content *c, const char *digest, int64_t size,
			  struct lc_err *err)
{
	if (content_has_blob(c, digest))
		return 0;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return lc_fail(err, errno == ENOENT ? ENOENT : errno, "blob %s (%s)", digest, path);
	struct content_writer w;
	if (content_writer_open(c, digest, size, &w, err) < 0)
		return -1;
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lc_fail(err, errno, "read %s", path);
			content_writer_abort(&w);
			return -1;
		}
		if (n == 0)
			break;
		if (content_writer_write(&w, buf, (size_t)n, err) < 0) {
			content_writer_abort(&w);
			return -1;
		}
	}
	return content_writer_commit(&w, err);
}

/* A directory source only reads files: every thread may share it. */
static struct source *dir_clone(struct source *s, struct lc_err *err)
{
	(void)err;
	return s;
}

static void dir_put(struct source *s) { (void)s; }

static int dir_blob(struct source *s, const struct content *c, const char *digest, int64_t size, struct lc_err *err)
{
	char p[PATH_MAX];
	if (dir_blob_path((struct dir_source *)s, digest, p, sizeof p, err) < 0)
		return -1;
	return copy_file_blob(p, c, digest, size, err);
}

static int dir_manifest(struct source *s, const char *ref, char **body, size_t *len, char ct[128],
			char digest[DIGEST_BUF], struct lc_err *err)
{
	char p[PATH_MAX];
	if (dir_blob_path((struct dir_source *)s, ref, p, sizeof p, err) < 0)
		return -1;
	if (content_read_file(p, ref, REGISTRY_MANIFEST_MAX, body, len, err) < 0)
		return lc_wrap(err, "manifest in %s", s->what);
	strcpy(digest, ref);
	ct[0] = 0;
	return 0;
}

/* ---- fetching one image from a source ------------------------------------------------------- */

/* One layer to fetch: set up by the pull's thread, done by any of its download threads. */
struct layer_job {
	const struct descriptor *d;
	const char *diff_id;
	const char *chain;
	struct unpack_result res; /* filled when done */
	int rc;                   /* 0 done, -1 failed (err), 1 not run */
	struct lc_err err;
};

/*
 * Fetch, unpack, check and publish one layer.  No database access: the download threads have
 * no connection of their own; the pull's thread records the layers afterwards.
 */
static int fetch_unpack(struct images *im, struct source *src, struct layer_job *j, struct lc_err *err)
{
	const struct descriptor *d = j->d;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_debug("image: fetching layer %s (%lld bytes) from %s", d->digest, (long long)d->size, src->what);
	if (check_abort(src, err) < 0 || src->blob(src, &im->content, d->digest, d->size, err) < 0 ||
	    check_abort(src, err) < 0)
		return -1;
	char blob[PATH_MAX], tmp[PATH_MAX];
	if (content_blob_path(&im->content, d->digest, blob, sizeof blob, err) < 0 ||
	    content_tmpdir(&im->content, "layer-", tmp, sizeof tmp, err) < 0)
		return -1;
	struct lc_err e2;
	if (layer_unpack(blob, tmp, &j->res, err) < 0) {
		rmtree(tmp, &e2);
		return lc_wrap(err, "unpack layer %s", d->digest);
	}
	if (strcmp(j->res.diff_id, j->diff_id) != 0) {
		rmtree(tmp, &e2);
		return lc_fail(err, EBADMSG, "layer %s unpacks to %s, but the image config says %s", d->digest,
			       j->res.diff_id, j->diff_id);
	}
	if (content_publish_layer(&im->content, tmp, j->chain, err) < 0) {
		rmtree(tmp, &e2);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_pull_bytes(d->size > 0 ? (uint64_t)d->size : 0);
	log_info("image: layer %s (%lld bytes from %s, %llu bytes unpacked) ready in %lld ms as %s", d->digest,
		 (long long)d->size, src->what, (unsigned long long)j->res.bytes,
		 (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000), j->chain);
	return 0;
}

/* The jobs of one pull, shared by its download threads. */
struct layer_pool {
	struct images *im;
	struct source *src;
	struct layer_job *jobs;
	size_t n;
	size_t next;   /* next job to take (mu) */
	int failed;    /* a job failed: take no more (mu) */
	pthread_mutex_t mu;
};

/* Take and run jobs until none is left or one has failed. */
static void pool_run(struct layer_pool *p, struct source *src)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t i = p->failed ? p->n : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			return;
		struct layer_job *j = &p->jobs[i];
		j->rc = fetch_unpack(p->im, src, j, &j->err);
		if (j->rc < 0) {
			pthread_mutex_lock(&p->mu);
			p->failed = 1;
			pthread_mutex_unlock(&p->mu);
		}
	}
}

/* A download thread: its own source (connection), then jobs. */
static void *pool_thread(void *arg)
{
	struct layer_pool *p = arg;
	struct lc_err err = { 0 };
	struct source *src = p->src->clone(p->src, &err);
	if (!src) { /* the other threads carry on */
		log_warn("image: no extra connection to %s: %s", p->src->what, err.msg);
		return NULL;
	}
	pool_run(p, src);
	if (src != p->src)
		src->put(src);
	return NULL;
}

/*
 * Fetch the n jobs with up to cfg->max_concurrent_downloads threads (this one included), then
 * record each published layer, bottom first.  On failure, the error of the lowest failed layer
 * (the layers that did complete are recorded all the same).
 */
static int fetch_layers(struct images *im, struct source *src, struct layer_job *jobs, size_t n, struct lc_err *err)
{
	struct layer_pool p = { .im = im, .src = src, .jobs = jobs, .n = n };
	pthread_mutex_init(&p.mu, NULL);
	size_t want = (size_t)im->cfg->max_concurrent_downloads;
	size_t extra = (n < want ? n : want) - 1, started = 0;
	pthread_t threads[16];
	assert(extra < sizeof threads / sizeof threads[0]);
	for (size_t i = 0; i < extra; i++) {
		if (pthread_create(&threads[started], NULL, pool_thread, &p) != 0) {
			log_warn("image: cannot start a download thread: %s", strerror(errno));
			break;
		}
		started++;
	}
	pool_run(&p, src);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.mu);
	/* Every layer that was published gets its row, even when another failed: a retry reuses it. */
	int failed = -1;
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].rc < 0 && failed < 0)
			failed = (int)i;
		if (jobs[i].rc == 0 && store_layer_add(im->store, jobs[i].chain, jobs[i].diff_id, jobs[i].res.bytes,
						       jobs[i].res.inodes, err) < 0)
			return -1;
	}
	if (failed >= 0) {
		*err = jobs[failed].err;
		return -1;
	}
	return 0;
}

/*
 * Fetch the image `top` (a tag or digest) from src and record it under the names derived from
 * name: its tag, and — when digest_name — name@<digest of the top manifest> (a repo digest is
 * only true of manifests a registry or layout really has, not of one synthesized on import).
 * id receives the image ID.
 */
static int fetch_image(struct images *im, struct source *src, const char *top, const struct image_ref *name,
		       int digest_name, char id[DIGEST_BUF], struct lc_err *err)
{
	cleanup_free char *body = NULL, *config = NULL;
	size_t len = 0, config_len = 0;
	char ct[128] = "", top_digest[DIGEST_BUF], digest[DIGEST_BUF];
	struct manifest m = { 0 };
	struct image_config cfg = { 0 };
	struct image_layer *layers = NULL;
	struct layer_job *jobs = NULL;
	int rc = -1;

	if (src->manifest(src, top, &body, &len, ct, top_digest, err) < 0)
		return -1;
	strcpy(digest, top_digest);
	if (manifest_parse(body, len, ct, &m, err) < 0)
		goto out;
	if (m.is_index) {
		const char *arch, *variant;
		const struct descriptor *d;
		platform_host(&arch, &variant);
		if (manifest_select(&m, arch, variant, &d, err) < 0)
			goto out;
		strcpy(digest, d->digest);
		manifest_free(&m);
		free(body);
		body = NULL;
		char got[DIGEST_BUF];
		if (src->manifest(src, digest, &body, &len, ct, got, err) < 0)
			goto out;
		assert(strcmp(got, digest) == 0); /* a digest reference is verified by the source */
		if (manifest_parse(body, len, ct, &m, err) < 0)
			goto out;
		if (m.is_index) {
			lc_fail(err, EINVAL, "index %s points at another index %s", top_digest, digest);
			goto out;
		}
	}
	if (content_put(&im->content, digest, body, len, err) < 0)
		goto out;
	if (src->blob(src, &im->content, m.config.digest, m.config.size, err) < 0 ||
	    content_read(&im->content, m.config.digest, CONFIG_MAX, &config, &config_len, err) < 0 ||
	    image_config_parse(config, config_len, &cfg, err) < 0)
		goto out;
	if (cfg.n_diff_ids != m.n_layers) {
		lc_fail(err, EINVAL, "image %s: the manifest has %zu layers, the config %zu diff IDs", m.config.digest,
			m.n_layers, cfg.n_diff_ids);
		goto out;
	}
	layers = calloc(m.n_layers ? m.n_layers : 1, sizeof *layers);
	if (!layers) {
		lc_fail(err, ENOMEM, "image %s", m.config.digest);
		goto out;
	}
	jobs = calloc(m.n_layers ? m.n_layers : 1, sizeof *jobs);
	if (!jobs) {
		lc_fail(err, ENOMEM, "image %s", m.config.digest);
		goto out;
	}
	size_t n_jobs = 0;
	for (size_t i = 0; i < m.n_layers; i++) {
		struct image_layer *l = &layers[i];
		digest_chain(i ? layers[i - 1].chain_id : NULL, cfg.diff_ids[i], l->chain_id);
		strcpy(l->diff_id, cfg.diff_ids[i]);
		strcpy(l->blob_digest, m.layers[i].digest);
		l->blob_size = m.layers[i].size;
		snprintf(l->media_type, sizeof l->media_type, "%s", m.layers[i].media_type);
		int exists = 0;
		if (store_layer_exists(im->store, l->chain_id, &exists, err) < 0)
			goto out;
		if (exists && content_has_layer(&im->content, l->chain_id))
			continue;
		jobs[n_jobs++] = (struct layer_job){ .d = &m.layers[i], .diff_id = l->diff_id, .chain = l->chain_id,
						     .rc = 1 };
	}
	if (n_jobs && fetch_layers(im, src, jobs, n_jobs, err) < 0)
		goto out;

	char tagged[1024] = "", digested[1024];
	const char *names[2];
	enum image_name_kind kinds[2];
	size_t n_names = 0;
	if (name->tag[0] && image_ref_tagged(name, tagged, sizeof tagged) == 0 && tagged[0]) {
		names[n_names] = tagged;
		kinds[n_names++] = IMAGE_NAME_TAG;
	}
	if (digest_name && image_ref_digested(name, top_digest, digested, sizeof digested) == 0) {
		names[n_names] = digested;
		kinds[n_names++] = IMAGE_NAME_DIGEST;
	}
	char username[256];
	int64_t uid;
	image_user_split(cfg.user, &uid, username, sizeof username);
	struct image_put p = {
		.id = m.config.digest, .manifest_digest = digest, .media_type = m.media_type,
		.config = config, .config_len = config_len, .uid = uid, .username = username,
		.layers = layers, .n_layers = m.n_layers, .names = names, .kinds = kinds, .n_names = n_names,
	};
	int orphaned = 0, same = 0;
	if (check_abort(src, err) < 0) /* an aborted pull records nothing (its layers have their rows) */
		goto out;
	if (n_jobs == 0 && store_image_unchanged(im->store, &p, &same, err) < 0)
		goto out;
	if (same) {
		log_debug("image %s: recorded already, unchanged", m.config.digest);
	} else if (store_image_put(im->store, &p, &orphaned, err) < 0) {
		goto out;
	}
	if (orphaned) { /* a tag moved here from an image that had no other name: collect it */
		log_info("image %s took the last name of %d other image(s): they are removed", m.config.digest, orphaned);
		pthread_mutex_lock(&im->mu);
		im->gc_pending = 1; /* run by work_end, once no pull or import of this process is active */
		pthread_mutex_unlock(&im->mu);
	}
	strcpy(id, m.config.digest);
	rc = 0;
out:
	free(jobs);
	free(layers);
	image_config_free(&cfg);
	manifest_free(&m);
	return rc;
}

/* ---- pull -------------------------------------------------------------------------------- */

/* Endpoints for a registry host: its mirrors (or those of "*"), then the host itself. */
static size_t endpoints_for(const struct lc_config *cfg, const char *domain, struct registry_endpoint *eps,
			    size_t max, int *is_upstream)
{
	const struct lc_registry *r = config_registry_for(cfg, domain);
	size_t n = 0;
	for (size_t i = 0; r && i < r->n_mirrors && n < max; i++) {
		snprintf(eps[n].url, sizeof eps[n].url, "%s", r->mirrors[i].url);
		eps[n].insecure = r->mirrors[i].insecure;
		snprintf(eps[n].ca_file, sizeof eps[n].ca_file, "%s", r->mirrors[i].ca);
		is_upstream[n++] = 0;
	}
	if (r && !r->upstream)
		return n;
	/* The host's own settings: only when the section is its own ("*" is about mirrors). */
	int own = r && !strcmp(r->host, domain);
	int insecure = own && r->insecure;
	const char *host = !strcmp(domain, "docker.io") ? "registry-1.docker.io" : domain;
	if (n < max) {
		snprintf(eps[n].url, sizeof eps[n].url, "https://%s", host);
		eps[n].insecure = insecure;
		snprintf(eps[n].ca_file, sizeof eps[n].ca_file, "%s", own ? r->ca : "");
		is_upstream[n++] = 1;
	}
	if (insecure && n < max) {
		snprintf(eps[n].url, sizeof eps[n].url, "http://%s", host);
		eps[n].insecure = 1;
		eps[n].ca_file[0] = 0;
		is_upstream[n++] = 1;
	}
	return n;
}

/* Rank of an error for reporting: the most telling failure of all endpoints wins. */
static int error_rank(int errnum)
{
	switch (errnum) {
	case EBADMSG: return 5;
	case EKEYREJECTED: return 4;
	case EINVAL: return 3;
	case ENOENT: return 2;
	default: return 1; /* transport */
	}
}

/* Pull r from its endpoints in order until one has it; *aborted set stops it (no other endpoint is tried). */
static int pull_from_endpoints(struct images *im, const struct image_ref *r, const struct registry_auth *auth,
			       const atomic_int *aborted, char id[DIGEST_BUF], struct lc_err *err)
{
	struct registry_endpoint eps[34];
	int upstream[34];
	size_t n = endpoints_for(im->cfg, r->domain, eps, 34, upstream);
	char full[1024];
	image_ref_string(r, full, sizeof full);
	if (n == 0)
		return lc_fail(err, ENOENT, "image %s: no endpoint to fetch it from (registry \"%s\" has no mirror and upstream = false)",
			       full, r->domain);
	int best = 0;
	for (size_t i = 0; i < n; i++) {
		struct lc_err e = { 0 };
		struct registry_source src = {
			.base = { .manifest = reg_manifest, .blob = reg_blob, .clone = reg_clone, .put = reg_put,
				  .abort = aborted }
		};
		snprintf(src.base.what, sizeof src.base.what, "%.*s", (int)sizeof eps[i].url - 1, eps[i].url);
		if (check_abort(&src.base, err) < 0)
			return lc_wrap(err, "pull %s", full);
		/* Credentials kubelet gives are for the image's own registry, never for a mirror. */
		if (registry_session_open(&eps[i], r->path, upstream[i] ? auth : NULL, &src.sess, &e) == 0) {
			registry_session_abort_on(src.sess, aborted);
			int rc = fetch_image(im, &src.base, r->digest[0] ? r->digest : r->tag, r, 1, id, &e);
			registry_session_close(src.sess);
			if (rc == 0) {
				log_info("image pull: %s from %s: %s", full, eps[i].url, id);
				return 0;
			}
		}
		log_info("image pull: %s from %s failed: %s", full, eps[i].url, e.msg);
		int rank = error_rank(e.errnum);
		if (rank > best) {
			best = rank;
			*err = e;
			lc_wrap(err, "pull %s from %s", full, eps[i].url);
		}
	}
	return -1;
}

/* Free f (its transfer has ended and no caller waits). */
static void inflight_free(struct inflight *f)
{
	const char **secrets[] = { &f->auth.username, &f->auth.password, &f->auth.auth, &f->auth.identity_token,
				   &f->auth.registry_token };
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
		if (*secrets[i]) {
			explicit_bzero((char *)*secrets[i], strlen(*secrets[i]));
			free((char *)*secrets[i]);
		}
	}
	if (f->done_fd >= 0)
		close(f->done_fd);
	free(f);
}

/* The transfer of f, on a thread of its own: pull, publish the result, wake the callers. */
static void *pull_thread(void *arg)
{
	struct inflight *f = arg;
	struct images *im = f->im;
	struct lc_err err = { 0 };
	char id[DIGEST_BUF] = "";
	int fd, rc = -1;
	int64_t t0 = metrics_now_us();
	if (work_begin(im, &fd, &err) == 0) {
		rc = pull_from_endpoints(im, &f->ref, f->has_auth ? &f->auth : NULL, &f->abort, id, &err);
		work_end(im, fd);
	}
	metrics_observe(MOP_IMAGE_PULL, metrics_now_us() - t0, rc == 0);
	if (rc < 0 && atomic_load(&f->abort))
		log_info("image pull: %s aborted, no caller waits for it any more: %s", f->key, err.msg);
	store_conn_release(im->store); /* this thread's database connection */

	pthread_mutex_lock(&im->mu);
	struct inflight **pp;
	for (pp = &im->inflight; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	f->done = 1;
	f->rc = rc;
	if (rc == 0)
		strcpy(f->id, id);
	else
		f->err = err;
	uint64_t one = 1;
	ssize_t w = write(f->done_fd, &one, sizeof one); /* once, far from an eventfd's limit: cannot fail */
	assert(w == sizeof one);
	(void)w;
	int orphan = f->waiters == 0;
	im->transfers--;
	pthread_cond_broadcast(&im->cond);
	pthread_mutex_unlock(&im->mu);
	if (orphan)
		inflight_free(f);
	return NULL;
}

/* strdup of a credential that may be NULL into *dst: 0, or -1 out of memory. */
static int copy_secret(const char *src, const char **dst)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -1 : 0;
}

/* A new pull of r (key its name) with the first caller waiting, its transfer started; mu held. */
static struct inflight *pull_start(struct images *im, const struct image_ref *r, const char *key,
				   const struct registry_auth *auth, struct lc_err *err)
{
	struct inflight *f = calloc(1, sizeof *f);
	if (!f) {
		lc_fail(err, ENOMEM, "pull %s", key);
		return NULL;
	}
	f->im = im;
	f->ref = *r;
	strcpy(f->key, key);
	f->waiters = 1;
	f->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->done_fd < 0) {
		lc_fail(err, errno, "pull %s: eventfd", key);
		goto fail;
	}
	if (auth) {
		f->has_auth = 1;
		if (copy_secret(auth->username, &f->auth.username) < 0 || copy_secret(auth->password, &f->auth.password) < 0 ||
		    copy_secret(auth->auth, &f->auth.auth) < 0 ||
		    copy_secret(auth->identity_token, &f->auth.identity_token) < 0 ||
		    copy_secret(auth->registry_token, &f->auth.registry_token) < 0) {
			lc_fail(err, ENOMEM, "pull %s", key);
			goto fail;
		}
	}
	pthread_attr_t attr;
	pthread_t t;
	int e = pthread_attr_init(&attr);
	if (e == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&t, &attr, pull_thread, f);
		pthread_attr_destroy(&attr);
	}
	if (e != 0) {
		lc_fail(err, e, "pull %s: start its thread", key);
		goto fail;
	}
	f->next = im->inflight;
	im->inflight = f;
	im->transfers++;
	return f;
fail:
	inflight_free(f);
	return NULL;
}

/* Now, CLOCK_REALTIME in ns (the clock of a call's deadline). */
static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Wait until f is done or its caller leaves (deadline passed, cancel_fd readable): 0 when done,
 * else -1 with err (ETIMEDOUT).  Done wins when both are true.
 */
static int pull_wait(const struct inflight *f, int64_t deadline, int cancel_fd, struct lc_err *err)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = f->done_fd, .events = POLLIN },
					{ .fd = cancel_fd > 0 ? cancel_fd : -1, .events = POLLIN } };
		int ms = -1;
		if (deadline) {
			int64_t left = deadline - now_ns();
			ms = left <= 0 ? 0 : left / 1000000 >= INT_MAX ? INT_MAX : (int)((left + 999999) / 1000000);
		}
		int n = poll(pf, 2, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lc_fail(err, errno, "pull %s: wait for it", f->key);
		if (pf[0].revents)
			return 0;
		if (pf[1].revents)
			return lc_failc(err, ETIMEDOUT, "the caller has gone (cancelled, disconnected or past its deadline)");
		if (n == 0 && deadline && now_ns() >= deadline)
			return lc_failc(err, ETIMEDOUT, "the caller's deadline passed");
	}
}

int images_pull(struct images *im, const char *ref, const struct registry_auth *auth, int64_t deadline, int cancel_fd,
		char id[DIGEST_BUF], struct lc_err *err)
{
	struct image_ref r;
	if (image_ref_parse(ref, &r, err) < 0)
		return -1;
	char key[1024];
	if (image_ref_string(&r, key, sizeof key) < 0)
		return lc_fail(err, EINVAL, "image reference %s is too long", LC_Q(ref));

	/* Join a pull of the same reference in progress (one still wanted), or start one. */
	pthread_mutex_lock(&im->mu);
	struct inflight *f;
	for (f = im->inflight; f && (strcmp(f->key, key) != 0 || atomic_load(&f->abort)); f = f->next)
		;
	if (f) {
		f->waiters++;
		log_debug("image pull: %s already in progress; waiting for it", key);
	} else if (!(f = pull_start(im, &r, key, auth, err))) {
		pthread_mutex_unlock(&im->mu);
		return -1;
	}
	pthread_mutex_unlock(&im->mu);

	struct lc_err gone = { 0 };
	int waited = pull_wait(f, deadline, cancel_fd, &gone);

	pthread_mutex_lock(&im->mu);
	int rc = -1, others = --f->waiters, last = others == 0 && f->done, left = !f->done;
	if (f->done) { /* also when the caller left just as it ended: the result is there */
		rc = f->rc;
		if (rc == 0)
			strcpy(id, f->id);
		else
			*err = f->err;
	} else {
		assert(waited < 0); /* done_fd is written after done is set */
		(void)waited;
		*err = gone;
		if (others == 0)
			atomic_store(&f->abort, 1); /* the transfer stops; a new caller starts another */
	}
	pthread_mutex_unlock(&im->mu);
	if (last)
		inflight_free(f);
	if (left)
		log_info("image pull: %s: a caller stopped waiting: %s; %s", key, err->msg,
			 others ? "the pull goes on for the others" : "no caller is left: the transfer is aborted");
	return rc;
}

/* ---- resolve / remove ------------------------------------------------------------------------ */

int images_resolve(struct images *im, const char *ref, char id[DIGEST_BUF], struct lc_err *err)
{
	char want[DIGEST_BUF];
	if (image_ref_is_id(ref, want))
		return store_image_lookup(im->store, want, id, err);
	struct image_ref r;
	char name[1024];
	if (image_ref_parse(ref, &r, err) == 0 &&
	    (r.digest[0] ? image_ref_digested(&r, r.digest, name, sizeof name)
			 : image_ref_tagged(&r, name, sizeof name)) == 0 &&
	    store_image_lookup(im->store, name, id, err) == 0)
		return 0;
	if (err->errnum != ENOENT && err->errnum != EINVAL)
		return -1; /* the database failed */
	/* Not a name of an image: a short ID ("3f57d9401f8d", "sha256:3f57..."), as crictl shows them? */
	const char *hex = !strncmp(ref, DIGEST_PREFIX, 7) ? ref + 7 : ref;
	if (id_is_hex(hex, IMAGE_ID_PREFIX_MIN, DIGEST_HEX_LEN))
		return store_image_lookup_prefix(im->store, hex, id, err);
	return lc_fail(err, ENOENT, "image %s not found", LC_Q(ref));
}

int images_remove(struct images *im, const char *ref, int *removed, struct lc_err *err)
{
	char id[DIGEST_BUF];
	*removed = 0;
	if (images_resolve(im, ref, id, err) < 0)
		return err->errnum == ENOENT ? 0 : -1;
	if (store_image_delete(im->store, id, removed, err) < 0)
		return -1;
	if (*removed)
		log_info("image %s (%s) removed", id, ref);
	/* The image is gone whatever happens next: a failed collection is retried by the next one. */
	struct lc_err gc_err = { 0 };
	if (images_gc(im, &gc_err) < 0)
		log_warn("image gc after removing %s: %s", id, gc_err.msg);
	return 0;
}

/* ---- import ------------------------------------------------------------------------------- */

/* A tar entry path made safe: "./" and "/" prefixes dropped; NULL if it has a ".." component. */
static const char *safe_rel(const char *p)
{
	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p += p[0] == '/' ? 1 : 2;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return NULL;
		c += n;
		while (*c == '/')
			c++;
	}
	return p;
}

/* Extract the regular files and directories of the tar at path into dir (nothing else is created). */
static int extract_tar(const char *path, const char *dir, struct lc_err *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return lc_fail(err, ENOMEM, "%s", path);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = 0;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		rc = lc_fail(err, EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *rel = name ? safe_rel(name) : NULL;
		if (!rel) {
			rc = lc_fail(err, EINVAL, "%s: entry '%s' escapes the archive", path, name ? name : "");
			goto out;
		}
		if (!*rel)
			continue;
		char dst[PATH_MAX];
		if (snprintf(dst, sizeof dst, "%s/%s", dir, rel) >= (int)sizeof dst) {
			rc = lc_fail(err, ENAMETOOLONG, "%s: entry %s", path, rel);
			goto out;
		}
		mode_t type = archive_entry_filetype(e);
		if (type == AE_IFDIR) {
			if (mkdir_p(dst, 0700, err) < 0)
				goto fail;
			continue;
		}
		if (type != AE_IFREG)
			continue; /* links and devices have no place in an image archive's metadata */
		if (mkdir_parent(dst, 0700, err) < 0)
			goto fail;
		cleanup_close int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = lc_fail(err, errno, "%s: extract %s", path, rel);
			goto out;
		}
		if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK) {
			rc = lc_fail(err, EINVAL, "%s: entry %s: %s", path, rel, archive_error_string(a));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		rc = lc_fail(err, EINVAL, "%s: %s", path, archive_error_string(a));
	goto out;
fail:
	rc = -1;
out:
	archive_read_free(a);
	return rc;
}

/* The name an imported image is recorded under; -1 if it has none usable. */
static int import_name(const char *s, struct image_ref *r, struct lc_err *err)
{
	if (!s || !*s)
		return lc_fail(err, EINVAL, "no image name");
	return image_ref_parse(s, r, err);
}

/* One import under way: its source, what to do with each image, what it read. */
struct import {
	struct images *im;
	struct dir_source src;
	void (*on_image)(const char *id, const char *name, void *arg);
	void *arg;
	int count;                /* images imported */
	char meta[PATH_MAX + 16]; /* the archive's index.json or manifest.json */
};

/* One image of an archive is in: say so (log, caller's callback) and count it. */
static void imported(struct import *x, const char *id, const char *name)
{
	log_info("image import: %s as %s: %s", x->src.base.what, name, id);
	if (x->on_image)
		x->on_image(id, name, x->arg);
	x->count++;
}

/* Import each entry of an OCI layout's index.json (root). */
static int import_oci(struct import *x, json_t *root, struct lc_err *err)
{
	json_t *ms = json_object_get(root, "manifests");
	if (!json_is_array(ms))
		return lc_fail(err, EINVAL, "%s has no manifests", x->meta);
	for (size_t i = 0; i < json_array_size(ms); i++) {
		json_t *d = json_array_get(ms, i), *ann = json_object_get(d, "annotations");
		const char *dg = json_string_value(json_object_get(d, "digest"));
		const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
		if (!name)
			name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		struct image_ref r;
		char id[DIGEST_BUF];
		if (digest_check(dg, "index.json manifest", err) < 0 || import_name(name, &r, err) < 0)
			return lc_wrap(err, "%s: manifests[%zu] (import needs a full image name in its "
					    "org.opencontainers.image.ref.name annotation)", x->meta, i);
		if (fetch_image(x->im, &x->src.base, dg, &r, 1, id, err) < 0)
			return -1;
		imported(x, id, name);
	}
	return 0;
}

/* Add path (inside the docker-save dir) to the source's file map; its digest into digest. */
static int map_file(struct dir_source *src, const char *rel, char digest[DIGEST_BUF], int64_t *size, struct lc_err *err)
{
	const char *safe = rel ? safe_rel(rel) : NULL;
	if (!safe || !*safe)
		return lc_fail(err, EINVAL, "manifest.json names a bad path '%s'", rel ? rel : "");
	struct file_map fm;
	if (snprintf(fm.path, sizeof fm.path, "%s/%s", src->dir, safe) >= (int)sizeof fm.path)
		return lc_fail(err, ENAMETOOLONG, "%s", safe);
	cleanup_close int fd = open(fm.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return lc_fail(err, errno, "%s", safe);
	struct digester *d = digester_new();
	if (!d)
		return lc_fail(err, ENOMEM, "%s", safe);
	char buf[65536];
	int64_t total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			digester_free(d);
			return lc_fail(err, errno, "read %s", safe);
		}
		digester_update(d, buf, (size_t)n);
		total += n;
	}
	digester_final(d, digest);
	digester_free(d);
	strcpy(fm.digest, digest);
	struct file_map *v = realloc(src->files, (src->n_files + 1) * sizeof *v);
	if (!v)
		return lc_fail(err, ENOMEM, "%s", safe);
	src->files = v;
	src->files[src->n_files++] = fm;
	*size = total;
	return 0;
}

/* The OCI media type of a layer file, from its first bytes. */
static const char *layer_type_of(const char *path)
{
	unsigned char m[4] = { 0 };
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(m, 1, 4, f) : 0;
	if (f)
		fclose(f);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return MT_OCI_LAYER_GZIP;
	if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return MT_OCI_LAYER_ZSTD;
	return MT_OCI_LAYER;
}

/* Import a `docker save` directory: synthesize an OCI manifest per entry of its manifest.json (root). */
static int import_docker(struct import *x, json_t *root, struct lc_err *err)
{
	struct images *im = x->im;
	struct dir_source *src = &x->src;
	const char *p = x->meta;
	if (!json_is_array(root))
		return lc_fail(err, EINVAL, "%s is not a list", p);
	int rc = 0;
	for (size_t i = 0; i < json_array_size(root) && rc == 0; i++) {
		json_t *e = json_array_get(root, i), *layers = json_object_get(e, "Layers"),
		       *tags = json_object_get(e, "RepoTags");
		char cdg[DIGEST_BUF];
		int64_t csize;
		if (map_file(src, json_string_value(json_object_get(e, "Config")), cdg, &csize, err) < 0) {
			rc = lc_wrap(err, "%s entry %zu", p, i);
			break;
		}
		json_t *ls = json_array();
		for (size_t j = 0; json_is_array(layers) && j < json_array_size(layers) && rc == 0; j++) {
			char ldg[DIGEST_BUF];
			int64_t lsize;
			const char *lp = json_string_value(json_array_get(layers, j));
			if (map_file(src, lp, ldg, &lsize, err) < 0) {
				rc = lc_wrap(err, "%s entry %zu", p, i);
				break;
			}
			json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType",
							    layer_type_of(src->files[src->n_files - 1].path), "digest", ldg,
							    "size", (json_int_t)lsize));
		}
		if (rc < 0) {
			json_decref(ls);
			break;
		}
		json_t *man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
					MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", cdg, "size",
					(json_int_t)csize, "layers", ls);
		char *text = man ? json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(man);
		if (!text) {
			rc = lc_fail(err, ENOMEM, "%s entry %zu", p, i);
			break;
		}
		char mdg[DIGEST_BUF];
		digest_buffer(text, strlen(text), mdg);
		rc = content_put(&im->content, mdg, text, strlen(text), err);
		free(text);
		if (rc < 0)
			break;
		/* The manifest is in the store now: the source serves it from there. */
		struct file_map fm;
		strcpy(fm.digest, mdg);
		content_blob_path(&im->content, mdg, fm.path, sizeof fm.path, err);
		struct file_map *v = realloc(src->files, (src->n_files + 1) * sizeof *v);
		if (!v) {
			rc = lc_fail(err, ENOMEM, "%s", p);
			break;
		}
		src->files = v;
		src->files[src->n_files++] = fm;
		size_t nt = json_is_array(tags) ? json_array_size(tags) : 0;
		if (nt == 0) {
			rc = lc_fail(err, EINVAL, "%s entry %zu has no RepoTags: import needs a name", p, i);
			break;
		}
		for (size_t t = 0; t < nt && rc == 0; t++) {
			const char *name = json_string_value(json_array_get(tags, t));
			struct image_ref r;
			char id[DIGEST_BUF];
			if (import_name(name, &r, err) < 0 || fetch_image(im, &src->base, mdg, &r, 0, id, err) < 0) {
				rc = lc_wrap(err, "%s entry %zu", src->base.what, i);
				break;
			}
			imported(x, id, name);
		}
	}
	return rc;
}

int images_import(struct images *im, const char *path,
		  void (*on_image)(const char *id, const char *name, void *arg), void *arg, struct lc_err *err)
{
	static const struct {
		const char *file;
		int (*each)(struct import *x, json_t *root, struct lc_err *err);
	} kinds[] = { { "manifest.json", import_docker }, { "index.json", import_oci } };
	struct stat st;
	if (stat(path, &st) < 0)
		return lc_fail(err, errno, "%s", path);
	struct import x = {
		.im = im, .on_image = on_image, .arg = arg,
		.src = { .base = { .manifest = dir_manifest, .blob = dir_blob, .clone = dir_clone, .put = dir_put } },
	};
	char tmp[PATH_MAX] = "";
	int fd, rc = -1;
	if (work_begin(im, &fd, err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		snprintf(x.src.dir, sizeof x.src.dir, "%s", path);
	} else {
		if (content_tmpdir(&im->content, "import-", tmp, sizeof tmp, err) < 0 || extract_tar(path, tmp, err) < 0)
			goto out;
		snprintf(x.src.dir, sizeof x.src.dir, "%s", tmp);
	}
	snprintf(x.src.base.what, sizeof x.src.base.what, "%s", path);
	size_t k;
	for (k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		snprintf(x.meta, sizeof x.meta, "%s/%s", x.src.dir, kinds[k].file);
		if (access(x.meta, F_OK) == 0)
			break;
	}
	if (k == sizeof kinds / sizeof *kinds) {
		lc_fail(err, EINVAL, "%s is neither an OCI image layout (index.json) nor a docker save archive "
				     "(manifest.json)", path);
		goto out;
	}
	json_error_t je;
	json_t *root = json_load_file(x.meta, 0, &je);
	if (!root) {
		lc_fail(err, EINVAL, "%s: %s", x.meta, je.text);
		goto out;
	}
	rc = kinds[k].each(&x, root, err);
	if (rc == 0 && x.count == 0)
		rc = lc_fail(err, EINVAL, "%s lists no image", x.meta);
	json_decref(root);
out:
	if (tmp[0]) {
		struct lc_err e2;
		rmtree(tmp, &e2);
	}
	free(x.src.files);
	work_end(im, fd);
	return rc;
}
