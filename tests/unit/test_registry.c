/*
 * test_registry.c — image references and the registry client.
 *
 * The client runs against a small HTTP/1.1 server in this file: a thread accepting on
 * 127.0.0.1:<ephemeral port>, one thread per connection (keep-alive), canned responses by path,
 * every request recorded (method, target, headers, body) for the tests to assert on.  A route can
 * demand an exact Authorization header and answer 401 with its challenge otherwise.  Nothing
 * but 127.0.0.1 is ever contacted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "image/content.h"
#include "image/digest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "util/log.h"

/* ------------------------------------------------------------------------------------------ */
/* the test HTTP server                                                                       */

#define MAX_ROUTES 16
#define MAX_REQS 64
#define MAX_CONNS 32
#define REQ_BUF (64 << 10)

struct route {
	char path[512];         /* exact path, query excluded */
	int status;
	char headers[1024];     /* extra header lines, each ending in \r\n */
	char *body;             /* owned */
	size_t body_len;
	char need_auth[512];    /* if set: Authorization must be exactly this, else 401 */
	char challenge[1024];   /* header lines sent with that 401 */
	int stall;              /* send the head and half the body, then nothing until the client closes */
	int hits;
};

struct recorded {
	char method[16];
	char target[2048];
	char headers[8192];     /* the header block, lines separated by \r\n */
	char body[2048];
};

struct srv {
	int lfd;
	int port;
	pthread_t acceptor;
	atomic_int stop;
	pthread_mutex_t mu;
	struct route routes[MAX_ROUTES];
	int nroutes;
	struct recorded reqs[MAX_REQS];
	int nreqs;
	pthread_t conn_thr[MAX_CONNS];
	int conn_fd[MAX_CONNS];
	int nconns;
};

struct conn_arg {
	struct srv *s;
	int fd;
};

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 307: return "Temporary Redirect";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	default: return "Status";
	}
}

static int respond(int fd, int status, const char *headers, const void *body, size_t len)
{
	char head[4096];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n", status,
			 reason(status), len, headers ? headers : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	if (send_all(fd, head, (size_t)n) < 0)
		return -1;
	return len ? send_all(fd, body, len) : 0;
}

/* Value of header `name` in a header block ("" when absent). */
static void header_get(const char *block, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *line = block; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = len - (size_t)(v - line);
			snprintf(out, n, "%.*s", (int)vl, v);
			return;
		}
		line = end ? end + 2 : NULL;
	}
}

/* Serve one request (already parsed); -1 when the connection should close. */
static int serve(struct srv *s, int fd, const struct recorded *r)
{
	char path[2048];
	snprintf(path, sizeof path, "%s", r->target);
	path[strcspn(path, "?")] = '\0';
	char auth[1024];
	header_get(r->headers, "Authorization", auth, sizeof auth);

	pthread_mutex_lock(&s->mu);
	struct route *rt = NULL;
	for (int i = 0; i < s->nroutes; i++)
		if (strcmp(s->routes[i].path, path) == 0)
			rt = &s->routes[i];
	if (rt)
		rt->hits++;
	/* Copy what the answer needs so the lock is not held while sending. */
	int status = 404, stall = 0;
	char headers[2048] = "Content-Type: application/json\r\n";
	const char *body = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known\"}]}";
	size_t len = strlen(body);
	if (rt && rt->need_auth[0] && strcmp(rt->need_auth, auth) != 0) {
		status = 401;
		snprintf(headers, sizeof headers, "Content-Type: application/json\r\n%s", rt->challenge);
		body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}";
		len = strlen(body);
	} else if (rt) {
		status = rt->status;
		snprintf(headers, sizeof headers, "%s", rt->headers);
		body = rt->body ? rt->body : "";
		len = rt->body_len;
		stall = rt->stall;
	}
	pthread_mutex_unlock(&s->mu);
	if (stall) {
		char head[4096];
		int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n", status,
				 reason(status), len, headers);
		if (send_all(fd, head, (size_t)n) == 0 && send_all(fd, body, len / 2) == 0) {
			char c;
			while (recv(fd, &c, 1, 0) > 0) /* until the client (or srv_stop) closes */
				;
		}
		return -1;
	}
	/* Routes are only changed between requests, so body stays valid while sending. */
	if (respond(fd, status, headers, body, len) < 0)
		return -1;
	char conn[64];
	header_get(r->headers, "Connection", conn, sizeof conn);
	return strcasecmp(conn, "close") == 0 ? -1 : 0;
}

/* A connection: requests one after the other (keep-alive) until the peer closes. */
static void *conn_main(void *arg)
{
	struct conn_arg *ca = arg;
	struct srv *s = ca->s;
	int fd = ca->fd;
	free(ca);
	char *buf = malloc(REQ_BUF);
	struct recorded *r = malloc(sizeof *r);
	size_t have = 0;
	if (!buf || !r)
		goto out;
	for (;;) {
		char *end;
		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == REQ_BUF)
				goto out;
			ssize_t n = recv(fd, buf + have, REQ_BUF - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		size_t hlen = (size_t)(end - buf) + 4;
		memset(r, 0, sizeof *r);
		char *line_end = memmem(buf, hlen, "\r\n", 2);
		char line[4096];
		snprintf(line, sizeof line, "%.*s", (int)(line_end - buf), buf);
		if (sscanf(line, "%15s %2047s", r->method, r->target) != 2)
			goto out;
		size_t hdr_len = hlen - (size_t)(line_end + 2 - buf) - 2;
		snprintf(r->headers, sizeof r->headers, "%.*s", (int)hdr_len, line_end + 2);
		char cl[32];
		header_get(r->headers, "Content-Length", cl, sizeof cl);
		size_t blen = cl[0] ? strtoul(cl, NULL, 10) : 0;
		if (blen > REQ_BUF - hlen)
			goto out;
		while (have < hlen + blen) {
			ssize_t n = recv(fd, buf + have, REQ_BUF - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		snprintf(r->body, sizeof r->body, "%.*s", (int)blen, buf + hlen);
		pthread_mutex_lock(&s->mu);
		if (s->nreqs < MAX_REQS)
			s->reqs[s->nreqs++] = *r;
		pthread_mutex_unlock(&s->mu);
		if (serve(s, fd, r) < 0)
			goto out;
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
out:
	free(buf);
	free(r);
	shutdown(fd, SHUT_RDWR); /* closed by srv_stop, so the number is not reused meanwhile */
	return NULL;
}

static void *accept_main(void *arg)
{
	struct srv *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int k = poll(&p, 1, 50);
		if (k <= 0)
			continue;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		struct conn_arg *ca = malloc(sizeof *ca);
		if (s->nconns == MAX_CONNS || !ca) {
			pthread_mutex_unlock(&s->mu);
			free(ca);
			close(fd);
			continue;
		}
		ca->s = s;
		ca->fd = fd;
		if (pthread_create(&s->conn_thr[s->nconns], NULL, conn_main, ca) != 0) {
			pthread_mutex_unlock(&s->mu);
			free(ca);
			close(fd);
			continue;
		}
		s->conn_fd[s->nconns++] = fd;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->acceptor, NULL, accept_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	if (s->lfd <= 0)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	s->lfd = 0;
	pthread_mutex_lock(&s->mu);
	int n = s->nconns;
	for (int i = 0; i < n; i++)
		shutdown(s->conn_fd[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		pthread_join(s->conn_thr[i], NULL);
		close(s->conn_fd[i]);
	}
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].body);
	pthread_mutex_destroy(&s->mu);
}

/* Add a route answering `status` with headers (lines ending in \r\n) and body[0..len). */
static struct route *srv_route(struct srv *s, const char *path, int status, const char *headers,
			       const void *body, size_t len)
{
	pthread_mutex_lock(&s->mu);
	assert_true(s->nroutes < MAX_ROUTES);
	struct route *r = &s->routes[s->nroutes++];
	memset(r, 0, sizeof *r);
	snprintf(r->path, sizeof r->path, "%s", path);
	r->status = status;
	snprintf(r->headers, sizeof r->headers, "%s", headers ? headers : "");
	r->body = malloc(len + 1);
	assert_non_null(r->body);
	memcpy(r->body, body, len);
	r->body_len = len;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int srv_hits(struct srv *s, const char *path)
{
	int n = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].path, path))
			n = s->routes[i].hits;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int srv_nreqs(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Copy of the i-th recorded request. */
static struct recorded srv_req(struct srv *s, int i)
{
	pthread_mutex_lock(&s->mu);
	assert_true(i >= 0 && i < s->nreqs);
	struct recorded r = s->reqs[i];
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int srv_nconns(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nconns;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

#define REPO "library/busybox"
#define MANIFEST_PATH "/v2/library/busybox/manifests/latest"
#define TOKEN_PATH "/token"
#define BASIC_USER_PASS "Basic dXNlcjpwYXNz" /* user:pass */
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

static const char MANIFEST[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\",\"layers\":[]}";

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char images[128];
	struct content c;
	struct srv a;  /* the registry */
	struct srv b;  /* another "host" (port): a blob CDN */
	struct registry_session *s;
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "registry");
	if (!f)
		return -1;
	snprintf(f->images, sizeof f->images, "%s/images", f->dir);
	srv_start(&f->a);
	srv_start(&f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	registry_session_close(f->s);
	srv_stop(&f->a);
	srv_stop(&f->b);
	return tmpdir_fixture_free(f);
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	/* Never send the test's requests through a proxy. */
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
					       "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
		unsetenv(proxies[i]);
	struct lc_err err = { 0 };
	if (registry_global_init(&err) < 0) {
		print_error("%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	registry_global_cleanup();
	return 0;
}

/* Open f->s on http://127.0.0.1:<port of a><prefix> (insecure) for REPO. */
static void open_session(struct fx *f, const char *prefix, const struct registry_auth *auth)
{
	struct registry_endpoint ep = { .insecure = 1 };
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d%s", f->a.port, prefix ? prefix : "");
	struct lc_err err = { 0 };
	registry_session_close(f->s);
	f->s = NULL;
	if (registry_session_open(&ep, REPO, auth, &f->s, &err) < 0)
		fail_msg("registry_session_open: %s", err.msg);
}

static void content_setup(struct fx *f)
{
	struct lc_err err = { 0 };
	if (content_open(&f->c, f->images, &err) < 0)
		fail_msg("content_open: %s", err.msg);
}

/* Number of entries in <images>/tmp. */
static int tmp_entries(const struct fx *f)
{
	char p[PATH_MAX + 8];
	snprintf(p, sizeof p, "%s/tmp", f->images);
	int n = tmpdir_count(p);
	assert_int_not_equal(n, -1);
	return n;
}

/* Fetch the manifest `ref`; return the registry call's result (body freed). */
static int get_manifest(struct fx *f, const char *ref, char ct[128], char dg[DIGEST_BUF], struct lc_err *err)
{
	char *body = NULL;
	size_t len = 0;
	int rc = registry_get_manifest(f->s, ref, &body, &len, ct, dg, err);
	if (rc == 0) {
		assert_non_null(body);
		assert_int_equal(body[len], '\0');
	} else {
		assert_null(body);
	}
	free(body);
	return rc;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ------------------------------------------------------------------------------------------ */
/* references                                                                                 */

struct ref_case {
	const char *in;
	const char *domain, *path, *tag, *digest;
	const char *full;
};

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG "sha256:" D64

static void test_reference_valid(void **state)
{
	(void)state;
	static const struct ref_case cases[] = {
		{ "busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest" },
		{ "busybox:1.36", "docker.io", "library/busybox", "1.36", "", "docker.io/library/busybox:1.36" },
		{ "user/app:1.0", "docker.io", "user/app", "1.0", "", "docker.io/user/app:1.0" },
		{ "docker.io/busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest" },
		{ "index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", "",
		  "docker.io/library/busybox:1" },
		{ "registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", "", "registry.k8s.io/pause:3.9" },
		{ "localhost/foo", "localhost", "foo", "latest", "", "localhost/foo:latest" },
		{ "localhost:5000/x@" DG, "localhost:5000", "x", "", DG, "localhost:5000/x@" DG },
		{ "127.0.0.1:5000/a/b/c:v1@" DG, "127.0.0.1:5000", "a/b/c", "v1", DG, "127.0.0.1:5000/a/b/c:v1@" DG },
		{ "busybox@" DG, "docker.io", "library/busybox", "", DG, "docker.io/library/busybox@" DG },
		{ "[::1]:5000/foo:bar", "[::1]:5000", "foo", "bar", "", "[::1]:5000/foo:bar" },
		{ "quay.io/a__b/c-d.e---f:Tag_1.0-x", "quay.io", "a__b/c-d.e---f", "Tag_1.0-x", "",
		  "quay.io/a__b/c-d.e---f:Tag_1.0-x" },
		{ "Example.COM/foo", "Example.COM", "foo", "latest", "", "Example.COM/foo:latest" },
		{ "my-registry.example.com:443/team/app:_x", "my-registry.example.com:443", "team/app", "_x", "",
		  "my-registry.example.com:443/team/app:_x" },
		/* docker reads a lone "host:port" as name:tag too */
		{ "localhost:5000", "docker.io", "library/localhost", "5000", "", "docker.io/library/localhost:5000" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ref_case *c = &cases[i];
		struct image_ref r;
		struct lc_err err = { 0 };
		if (image_ref_parse(c->in, &r, &err) < 0)
			fail_msg("'%s': %s", c->in, err.msg);
		assert_string_equal(r.domain, c->domain);
		assert_string_equal(r.path, c->path);
		assert_string_equal(r.tag, c->tag);
		assert_string_equal(r.digest, c->digest);
		char out[1024];
		assert_int_equal(image_ref_string(&r, out, sizeof out), 0);
		assert_string_equal(out, c->full);
		/* The normalized form parses to the same thing. */
		struct image_ref again;
		assert_int_equal(image_ref_parse(out, &again, &err), 0);
		assert_memory_equal(&again, &r, sizeof r);
	}
}

static void test_reference_forms(void **state)
{
	(void)state;
	struct image_ref r;
	struct lc_err err = { 0 };
	char out[512];
	assert_int_equal(image_ref_parse("127.0.0.1:5000/a/b:v1@" DG, &r, &err), 0);
	assert_int_equal(image_ref_name(&r, out, sizeof out), 0);
	assert_string_equal(out, "127.0.0.1:5000/a/b");
	assert_int_equal(image_ref_tagged(&r, out, sizeof out), 0);
	assert_string_equal(out, "127.0.0.1:5000/a/b:v1");
	assert_int_equal(image_ref_digested(&r, DG, out, sizeof out), 0);
	assert_string_equal(out, "127.0.0.1:5000/a/b@" DG);
	/* Too small: -1. */
	assert_int_equal(image_ref_name(&r, out, 5), -1);
	assert_int_equal(image_ref_string(&r, out, 20), -1);
	assert_int_equal(image_ref_digested(&r, DG, out, 30), -1);

	assert_int_equal(image_ref_parse("busybox@" DG, &r, &err), 0);
	strcpy(out, "junk");
	assert_int_equal(image_ref_tagged(&r, out, sizeof out), 0);
	assert_string_equal(out, "");
}

static void test_reference_invalid(void **state)
{
	(void)state;
	char longtag[200], longname[400], okname[400];
	memset(longtag, 0, sizeof longtag);
	strcpy(longtag, "busybox:");
	memset(longtag + 8, 't', 129); /* 129 characters: one too many */

	static const char *const cases[] = {
		"", "Busybox", "user/App", "busybox:", "busybox@", "busybox@sha256:abc",
		"busybox@md5:" D64, "busybox@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		":tag", "/busybox", "busybox/", "a//b", "a..b", "a_-b", "-a", "a-", "_a", "busybox:-tag", "busybox:.x",
		"busybox:tag:x", "host:port:x/foo", "example.com:/foo", "-example.com/foo", "exa_mple.com/foo",
		"[zz]:5000/foo", "a b", "busybox:t t", "busybox\n", D64, "a/b@" DG "x", "ünïcode",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct image_ref r;
		struct lc_err err = { 0 };
		if (image_ref_parse(cases[i], &r, &err) == 0)
			fail_msg("'%s' parsed (as %s/%s)", cases[i], r.domain, r.path);
		assert_int_equal(err.errnum, EINVAL);
		assert_true(strlen(err.msg) > 0);
	}
	struct image_ref r;
	struct lc_err err = { 0 };
	assert_int_equal(image_ref_parse(NULL, &r, &err), -1);
	assert_int_equal(image_ref_parse(longtag, &r, &err), -1);
	longtag[8 + 128] = '\0';
	assert_int_equal(image_ref_parse(longtag, &r, &err), 0); /* 128: fine */

	/* Name length: at most 255 characters of "domain/path" after normalization. */
	snprintf(okname, sizeof okname, "example.com/%0243d", 0);
	assert_int_equal(strlen(okname), 255);
	assert_int_equal(image_ref_parse(okname, &r, &err), 0);
	snprintf(longname, sizeof longname, "example.com/%0244d", 0);
	assert_int_equal(image_ref_parse(longname, &r, &err), -1);
	assert_contains(err.msg, "255");
	/* docker.io/library/ counts: 18 + 237 = 255. */
	snprintf(okname, sizeof okname, "%0237d", 0);
	assert_int_equal(image_ref_parse(okname, &r, &err), 0);
	snprintf(longname, sizeof longname, "%0238d", 0);
	assert_int_equal(image_ref_parse(longname, &r, &err), -1);

	/* Messages are one line, whatever the input. */
	assert_int_equal(image_ref_parse("bad\nname\r", &r, &err), -1);
	assert_null(strpbrk(err.msg, "\r\n"));

	/* The error names the reference. */
	assert_int_equal(image_ref_parse("user/App", &r, &err), -1);
	assert_contains(err.msg, "user/App");
	assert_contains(err.msg, "lowercase");
}

static void test_reference_is_id(void **state)
{
	(void)state;
	char id[DIGEST_BUF];
	assert_int_equal(image_ref_is_id(DG, id), 1);
	assert_string_equal(id, DG);
	memset(id, 0, sizeof id);
	assert_int_equal(image_ref_is_id(D64, id), 1);
	assert_string_equal(id, DG);
	assert_int_equal(image_ref_is_id("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", id), 0);
	assert_int_equal(image_ref_is_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", id), 0);
	assert_int_equal(image_ref_is_id(D64 "0", id), 0);
	assert_int_equal(image_ref_is_id("sha256:" D64 "0", id), 0);
	assert_int_equal(image_ref_is_id("sha512:" D64, id), 0);
	assert_int_equal(image_ref_is_id("busybox", id), 0);
	assert_int_equal(image_ref_is_id("", id), 0);
	assert_int_equal(image_ref_is_id(NULL, id), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* manifests                                                                                  */

static void test_manifest_by_tag(void **state)
{
	struct fx *f = *state;
	srv_route(&f->a, MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "; charset=utf-8\r\n", MANIFEST,
		  strlen(MANIFEST));
	open_session(f, NULL, NULL);

	char *body = NULL, ct[128], dg[DIGEST_BUF], want[DIGEST_BUF];
	size_t len = 0;
	struct lc_err err = { 0 };
	if (registry_get_manifest(f->s, "latest", &body, &len, ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(len, strlen(MANIFEST));
	assert_memory_equal(body, MANIFEST, len);
	assert_string_equal(ct, OCI_MANIFEST);
	digest_buffer(MANIFEST, strlen(MANIFEST), want);
	assert_string_equal(dg, want);
	free(body);

	struct recorded r = srv_req(&f->a, 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.target, MANIFEST_PATH);
	char v[1024];
	header_get(r.headers, "Accept", v, sizeof v);
	assert_string_equal(v, REGISTRY_MANIFEST_ACCEPT);
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "");

	/* Again: the session's connection is reused. */
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), 0);
	assert_int_equal(srv_nreqs(&f->a), 2);
	assert_int_equal(srv_nconns(&f->a), 1);
}

static void test_manifest_by_digest(void **state)
{
	struct fx *f = *state;
	char dg_ok[DIGEST_BUF], path[256];
	digest_buffer(MANIFEST, strlen(MANIFEST), dg_ok);
	snprintf(path, sizeof path, "/v2/" REPO "/manifests/%s", dg_ok);
	srv_route(&f->a, path, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST, strlen(MANIFEST));
	/* A digest whose content the registry gets wrong. */
	static const char other[] = "{\"schemaVersion\":2}";
	char dg_bad[DIGEST_BUF];
	digest_buffer(other, strlen(other), dg_bad);
	snprintf(path, sizeof path, "/v2/" REPO "/manifests/%s", dg_bad);
	srv_route(&f->a, path, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST, strlen(MANIFEST));
	open_session(f, NULL, NULL);

	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, dg_ok, ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(dg, dg_ok);
	assert_string_equal(ct, OCI_MANIFEST);

	assert_int_equal(get_manifest(f, dg_bad, ct, dg, &err), -1);
	assert_int_equal(err.errnum, EBADMSG);
	assert_contains(err.msg, dg_bad);
	assert_contains(err.msg, dg_ok); /* what it actually hashed to */
}

static void test_manifest_errors(void **state)
{
	struct fx *f = *state;
	static const char unknown[] =
		"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{}}]}";
	srv_route(&f->a, "/v2/" REPO "/manifests/gone", 404, "Content-Type: application/json\r\n", unknown,
		  strlen(unknown));
	static const char boom[] = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"boom\"}]}";
	srv_route(&f->a, "/v2/" REPO "/manifests/broken", 500, "Content-Type: application/json\r\n", boom,
		  strlen(boom));
	static const char plain[] = "<html>bad gateway</html>";
	srv_route(&f->a, "/v2/" REPO "/manifests/html", 502, "Content-Type: text/html\r\n", plain, strlen(plain));
	srv_route(&f->a, "/v2/" REPO "/manifests/loop", 307, "Location: /v2/" REPO "/manifests/loop\r\n", "", 0);
	size_t big = REGISTRY_MANIFEST_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	srv_route(&f->a, "/v2/" REPO "/manifests/huge", 200, "Content-Type: " OCI_MANIFEST "\r\n", huge, big);
	free(huge);
	/* A Content-Type of 300 bytes (a media type that fits, then parameters): never cut short. */
	char long_type[512];
	snprintf(long_type, sizeof long_type, "Content-Type: %s; p=%0*d\r\n", OCI_MANIFEST,
		 300 - (int)strlen(OCI_MANIFEST "; p="), 0);
	srv_route(&f->a, "/v2/" REPO "/manifests/longtype", 200, long_type, MANIFEST, strlen(MANIFEST));
	open_session(f, NULL, NULL);

	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	assert_int_equal(get_manifest(f, "gone", ct, dg, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_contains(err.msg, "MANIFEST_UNKNOWN: manifest unknown");
	assert_contains(err.msg, REPO);

	/* No route at all: the server's NAME_UNKNOWN 404. */
	assert_int_equal(get_manifest(f, "nothere", ct, dg, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	assert_int_equal(get_manifest(f, "broken", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	assert_contains(err.msg, "HTTP 500");
	assert_contains(err.msg, "UNKNOWN: boom");

	assert_int_equal(get_manifest(f, "html", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	assert_contains(err.msg, "HTTP 502");
	assert_contains(err.msg, "bad gateway");

	assert_int_equal(get_manifest(f, "loop", ct, dg, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	assert_int_equal(srv_hits(&f->a, "/v2/" REPO "/manifests/loop"), 6);

	assert_int_equal(get_manifest(f, "huge", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EBADMSG);

	assert_int_equal(get_manifest(f, "longtype", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	assert_contains(err.msg, "Content-Type header longer than 255 bytes");

	/* References that are neither tags nor digests never reach the wire. */
	int before = srv_nreqs(&f->a);
	static const char *const bad[] = { "../../x", "a/b", "", "sha256:abc", "x?y", "-tag" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(get_manifest(f, bad[i], ct, dg, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
	assert_int_equal(srv_nreqs(&f->a), before);

	/* The session still works after all that. */
	srv_route(&f->a, MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST, strlen(MANIFEST));
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), 0);
}

static void test_manifest_path_prefix(void **state)
{
	struct fx *f = *state;
	srv_route(&f->a, "/mirror" MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST,
		  strlen(MANIFEST));
	open_session(f, "/mirror/", NULL);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	/* A missing Content-Type is "". */
	srv_route(&f->a, "/mirror/v2/" REPO "/manifests/bare", 200, "", MANIFEST, strlen(MANIFEST));
	assert_int_equal(get_manifest(f, "bare", ct, dg, &err), 0);
	assert_string_equal(ct, "");
}

/* ------------------------------------------------------------------------------------------ */
/* authentication                                                                             */

/* Registry a wants "Bearer <token>" on MANIFEST_PATH; its token endpoint wants need_basic. */
static void bearer_registry(struct fx *f, const char *token, const char *need_basic, const char *challenge_params)
{
	struct route *m = srv_route(&f->a, MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST,
				    strlen(MANIFEST));
	snprintf(m->need_auth, sizeof m->need_auth, "Bearer %s", token);
	if (challenge_params)
		snprintf(m->challenge, sizeof m->challenge, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d"
			 TOKEN_PATH "\",%s\r\n", f->a.port, challenge_params);
	else
		snprintf(m->challenge, sizeof m->challenge,
			 "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d" TOKEN_PATH "\",service=\"test-registry\"\r\n",
			 f->a.port);
	char tok[256];
	snprintf(tok, sizeof tok, "{\"token\":\"%s\",\"expires_in\":300}", token);
	struct route *t = srv_route(&f->a, TOKEN_PATH, 200, "Content-Type: application/json\r\n", tok, strlen(tok));
	if (need_basic) {
		snprintf(t->need_auth, sizeof t->need_auth, "%s", need_basic);
		snprintf(t->challenge, sizeof t->challenge, "WWW-Authenticate: Basic realm=\"token\"\r\n");
	}
}

/* The i-th recorded request whose target starts with prefix (NULL-terminated search). */
static int find_req(struct srv *s, const char *prefix, int nth, struct recorded *out)
{
	int n = srv_nreqs(s);
	for (int i = 0; i < n; i++) {
		struct recorded r = srv_req(s, i);
		if (strncmp(r.target, prefix, strlen(prefix)) == 0 && nth-- == 0) {
			*out = r;
			return 1;
		}
	}
	return 0;
}

static void test_bearer_flow(void **state)
{
	struct fx *f = *state;
	bearer_registry(f, "tok-123", BASIC_USER_PASS, NULL);
	struct registry_auth auth = { .username = "user", .password = "pass" };
	open_session(f, NULL, &auth);

	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);

	struct recorded r;
	char v[1024];
	/* 1: anonymous, 401.  2: the token.  3: the retry with the token. */
	assert_int_equal(srv_nreqs(&f->a), 3);
	assert_true(find_req(&f->a, MANIFEST_PATH, 0, &r));
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "");
	assert_true(find_req(&f->a, TOKEN_PATH, 0, &r));
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.target, TOKEN_PATH "?service=test-registry&scope=repository%3Alibrary%2Fbusybox%3Apull");
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, BASIC_USER_PASS);
	assert_true(find_req(&f->a, MANIFEST_PATH, 1, &r));
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "Bearer tok-123");

	/* The token is kept: the next request carries it at once. */
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), 0);
	assert_int_equal(srv_nreqs(&f->a), 4);
	assert_int_equal(srv_hits(&f->a, TOKEN_PATH), 1);
}

/* docker's config.json "auth" (base64 user:pass) works like username/password. */
static void test_bearer_auth_field(void **state)
{
	struct fx *f = *state;
	bearer_registry(f, "tok-456", BASIC_USER_PASS, NULL);
	struct registry_auth auth = { .auth = "dXNlcjpwYXNz" };
	open_session(f, NULL, &auth);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);

	/* Not base64 of user:password: refused at open. */
	struct registry_endpoint ep = { .insecure = 1 };
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d", f->a.port);
	struct registry_session *s = NULL;
	static const char *const bad[] = { "!!!!", "dXNlcg==" /* "user" */, "abc" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct registry_auth a = { .auth = bad[i] };
		assert_int_equal(registry_session_open(&ep, REPO, &a, &s, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
		assert_null(s);
	}
}

/* Quoted parameters with escapes and commas, a Basic challenge next to the Bearer one. */
static void test_bearer_challenge_parsing(void **state)
{
	struct fx *f = *state;
	bearer_registry(f, "tok-789", NULL, NULL);
	struct route *m = &f->a.routes[0];
	snprintf(m->challenge, sizeof m->challenge,
		 "WWW-Authenticate: Basic realm=\"basic, with comma\"\r\n"
		 "WWW-Authenticate: bearer Service=\"svc \\\"q\\\"\" , realm=\"http://127.0.0.1:%d" TOKEN_PATH
		 "?x=1\",scope=\"repository:library/busybox:pull,push\",error=\"invalid_token\"\r\n",
		 f->a.port);
	open_session(f, NULL, NULL);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	struct recorded r;
	assert_true(find_req(&f->a, TOKEN_PATH, 0, &r));
	assert_string_equal(r.target,
			    TOKEN_PATH "?x=1&service=svc%20%22q%22&scope=repository%3Alibrary%2Fbusybox%3Apull%2Cpush");
	char v[256];
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, ""); /* anonymous */
}

static void test_bearer_wrong_credentials(void **state)
{
	struct fx *f = *state;
	bearer_registry(f, "tok-123", BASIC_USER_PASS, NULL);
	struct registry_auth auth = { .username = "user", .password = "wrong" };
	open_session(f, NULL, &auth);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EKEYREJECTED);
	assert_contains(err.msg, REPO);
	assert_contains(err.msg, TOKEN_PATH);
	assert_int_equal(srv_hits(&f->a, MANIFEST_PATH), 1); /* no retry without a token */

	/* Anonymous: the token server hands one out, but the registry still refuses it. */
	struct route *m = &f->a.routes[0];
	snprintf(m->need_auth, sizeof m->need_auth, "Bearer something-else");
	f->a.routes[1].need_auth[0] = '\0';
	open_session(f, NULL, NULL);
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EKEYREJECTED);
	assert_contains(err.msg, REPO);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", f->a.port);
	assert_contains(err.msg, url);
	assert_contains(err.msg, "authentication required");
	assert_contains(err.msg, "no credentials were given");
}

static void test_identity_token(void **state)
{
	struct fx *f = *state;
	bearer_registry(f, "tok-oauth", NULL, "service=\"test-registry\"");
	/* The POST answers access_token. */
	free(f->a.routes[1].body);
	static const char resp[] = "{\"access_token\":\"tok-oauth\",\"refresh_token\":\"r2\"}";
	f->a.routes[1].body = strdup(resp);
	f->a.routes[1].body_len = strlen(resp);
	struct registry_auth auth = { .username = "<token>", .identity_token = "refresh/me" };
	open_session(f, NULL, &auth);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	struct recorded r;
	assert_true(find_req(&f->a, TOKEN_PATH, 0, &r));
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.target, TOKEN_PATH);
	assert_string_equal(r.body, "grant_type=refresh_token&refresh_token=refresh%2Fme&service=test-registry"
				    "&scope=repository%3Alibrary%2Fbusybox%3Apull&client_id=litecri");
	char v[256];
	header_get(r.headers, "Content-Type", v, sizeof v);
	assert_string_equal(v, "application/x-www-form-urlencoded");
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "");
}

static void test_registry_token(void **state)
{
	struct fx *f = *state;
	struct route *m = srv_route(&f->a, MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST,
				    strlen(MANIFEST));
	snprintf(m->need_auth, sizeof m->need_auth, "Bearer static-tok");
	snprintf(m->challenge, sizeof m->challenge, "WWW-Authenticate: Basic realm=\"x\"\r\n");
	struct registry_auth auth = { .registry_token = "static-tok" };
	open_session(f, NULL, &auth);
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(srv_nreqs(&f->a), 1);

	/* A token that would split the header is refused. */
	struct registry_endpoint ep = { .insecure = 1 };
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d", f->a.port);
	struct registry_session *s = NULL;
	struct registry_auth bad = { .registry_token = "tok\r\nX-Evil: 1" };
	assert_int_equal(registry_session_open(&ep, REPO, &bad, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_null(s);
}

static void test_basic_challenge(void **state)
{
	struct fx *f = *state;
	struct route *m = srv_route(&f->a, MANIFEST_PATH, 200, "Content-Type: " OCI_MANIFEST "\r\n", MANIFEST,
				    strlen(MANIFEST));
	snprintf(m->need_auth, sizeof m->need_auth, BASIC_USER_PASS);
	snprintf(m->challenge, sizeof m->challenge, "WWW-Authenticate: Basic realm=\"Registry Realm\"\r\n");
	char ct[128], dg[DIGEST_BUF];
	struct lc_err err = { 0 };

	struct registry_auth auth = { .username = "user", .password = "pass" };
	open_session(f, NULL, &auth);
	if (get_manifest(f, "latest", ct, dg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(srv_nreqs(&f->a), 2);
	/* Once challenged, the credentials go with every request. */
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), 0);
	assert_int_equal(srv_nreqs(&f->a), 3);

	/* Without credentials. */
	open_session(f, NULL, NULL);
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EKEYREJECTED);
	assert_contains(err.msg, REPO);
	assert_contains(err.msg, "credentials");

	/* Wrong ones: one retry, then EKEYREJECTED. */
	int before = srv_hits(&f->a, MANIFEST_PATH);
	struct registry_auth wrong = { .username = "user", .password = "nope" };
	open_session(f, NULL, &wrong);
	assert_int_equal(get_manifest(f, "latest", ct, dg, &err), -1);
	assert_int_equal(err.errnum, EKEYREJECTED);
	assert_int_equal(srv_hits(&f->a, MANIFEST_PATH), before + 2);
}

/* ------------------------------------------------------------------------------------------ */
/* blobs                                                                                      */

static const char BLOB[] = "layer bytes, not really a tarball\n";

static void blob_path(const char *digest, char *out, size_t n)
{
	snprintf(out, n, "/v2/" REPO "/blobs/%s", digest);
}

static void test_blob_download(void **state)
{
	struct fx *f = *state;
	content_setup(f);
	char dg[DIGEST_BUF], path[256];
	digest_buffer(BLOB, strlen(BLOB), dg);
	blob_path(dg, path, sizeof path);
	srv_route(&f->a, path, 200, "Content-Type: application/octet-stream\r\n", BLOB, strlen(BLOB));
	open_session(f, NULL, NULL);

	struct lc_err err = { 0 };
	if (registry_get_blob(f->s, &f->c, dg, (int64_t)strlen(BLOB), &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(content_has_blob(&f->c, dg), 1);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(content_read(&f->c, dg, 1 << 20, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(BLOB));
	assert_memory_equal(buf, BLOB, len);
	free(buf);
	assert_int_equal(tmp_entries(f), 0);

	/* Present already: no request. */
	assert_int_equal(registry_get_blob(f->s, &f->c, dg, (int64_t)strlen(BLOB), &err), 0);
	assert_int_equal(srv_hits(&f->a, path), 1);

	/* Size unknown. */
	static const char other[] = "another blob";
	char dg2[DIGEST_BUF];
	digest_buffer(other, strlen(other), dg2);
	blob_path(dg2, path, sizeof path);
	srv_route(&f->a, path, 200, "", other, strlen(other));
	if (registry_get_blob(f->s, &f->c, dg2, -1, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(content_has_blob(&f->c, dg2), 1);

	/* Not a digest. */
	assert_int_equal(registry_get_blob(f->s, &f->c, "sha256:xyz", -1, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
}

static void test_blob_bad_content(void **state)
{
	struct fx *f = *state;
	content_setup(f);
	char dg[DIGEST_BUF], path[256];
	struct lc_err err = { 0 };
	open_session(f, NULL, NULL);

	/* Wrong bytes, right size. */
	digest_buffer(BLOB, strlen(BLOB), dg);
	blob_path(dg, path, sizeof path);
	char wrong[sizeof BLOB];
	memcpy(wrong, BLOB, sizeof BLOB);
	wrong[0] = 'L';
	srv_route(&f->a, path, 200, "", wrong, strlen(wrong));
	assert_int_equal(registry_get_blob(f->s, &f->c, dg, (int64_t)strlen(BLOB), &err), -1);
	assert_int_equal(err.errnum, EBADMSG);
	assert_contains(err.msg, dg);
	assert_int_equal(content_has_blob(&f->c, dg), 0);
	assert_int_equal(tmp_entries(f), 0);

	/* Unknown size, wrong bytes. */
	assert_int_equal(registry_get_blob(f->s, &f->c, dg, -1, &err), -1);
	assert_int_equal(err.errnum, EBADMSG);
	assert_int_equal(tmp_entries(f), 0);

	/* More bytes than declared: stopped at the limit. */
	static const char more[] = "layer bytes, not really a tarball\nand then some more";
	char dg2[DIGEST_BUF];
	digest_buffer(more, strlen(more), dg2);
	blob_path(dg2, path, sizeof path);
	srv_route(&f->a, path, 200, "", more, strlen(more));
	assert_int_equal(registry_get_blob(f->s, &f->c, dg2, 10, &err), -1);
	assert_int_equal(err.errnum, EBADMSG);
	assert_int_equal(content_has_blob(&f->c, dg2), 0);
	assert_int_equal(tmp_entries(f), 0);
	/* Fewer bytes than declared. */
	assert_int_equal(registry_get_blob(f->s, &f->c, dg2, (int64_t)strlen(more) + 1, &err), -1);
	assert_int_equal(err.errnum, EBADMSG);
	assert_int_equal(tmp_entries(f), 0);

	/* Missing. */
	char dg3[DIGEST_BUF];
	digest_buffer("missing", 7, dg3);
	assert_int_equal(registry_get_blob(f->s, &f->c, dg3, 7, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_contains(err.msg, dg3);
	assert_int_equal(tmp_entries(f), 0);
}

/* The registry redirects the blob to another host (port): the token stays behind. */
/* Sets the flag at arg after 300 ms (a caller giving up while a transfer is under way). */
static void *set_later(void *arg)
{
	struct timespec ts = { 0, 300 * 1000000L };
	nanosleep(&ts, NULL);
	atomic_store((atomic_int *)arg, 1);
	return NULL;
}

/*
 * registry_session_abort_on: a blob transfer that stalls (the server sends half and then nothing;
 * libcurl alone would wait 60 s) stops within a few seconds of the flag being set, with ECANCELED
 * naming the cause, leaving no blob and no temporary file.  A session cloned afterwards obeys the
 * same flag, and with the flag set sends no request at all.
 */
static void test_blob_abort(void **state)
{
	struct fx *f = *state;
	content_setup(f);
	static char big[256 << 10];
	memset(big, 'x', sizeof big);
	char dg[DIGEST_BUF], path[256];
	digest_buffer(big, sizeof big, dg);
	blob_path(dg, path, sizeof path);
	srv_route(&f->a, path, 200, "", big, sizeof big)->stall = 1;
	open_session(f, NULL, NULL);
	atomic_int flag = 0;
	registry_session_abort_on(f->s, &flag);

	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, set_later, &flag), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct lc_err err = { 0 };
	int rc = registry_get_blob(f->s, &f->c, dg, (int64_t)sizeof big, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	print_message("stalled transfer stopped %lld ms after it began: %s\n", ms, err.msg);
	assert_int_equal(rc, -1);
	assert_int_equal(err.errnum, ECANCELED);
	assert_contains(err.msg, "no caller waits for the pull any more");
	assert_true(ms >= 250 && ms < 5000);
	assert_int_equal(srv_hits(&f->a, path), 1); /* it had begun */
	assert_int_equal(content_has_blob(&f->c, dg), 0);
	assert_int_equal(tmp_entries(f), 0);

	struct registry_session *c = NULL;
	assert_int_equal(registry_session_clone(f->s, &c, &err), 0);
	int before = srv_nreqs(&f->a);
	assert_int_equal(registry_get_blob(c, &f->c, dg, (int64_t)sizeof big, &err), -1);
	registry_session_close(c);
	assert_int_equal(err.errnum, ECANCELED);
	assert_int_equal(srv_nreqs(&f->a), before);
	assert_int_equal(tmp_entries(f), 0);
}

static void test_blob_redirect(void **state)
{
	struct fx *f = *state;
	content_setup(f);
	char dg[DIGEST_BUF], path[256], loc[512];
	digest_buffer(BLOB, strlen(BLOB), dg);
	blob_path(dg, path, sizeof path);
	bearer_registry(f, "tok-cdn", BASIC_USER_PASS, NULL);
	snprintf(loc, sizeof loc, "Location: http://127.0.0.1:%d/cdn/%s?sig=abc\r\n", f->b.port, digest_hex(dg));
	struct route *rb = srv_route(&f->a, path, 307, loc, "", 0);
	snprintf(rb->need_auth, sizeof rb->need_auth, "Bearer tok-cdn");
	snprintf(rb->challenge, sizeof rb->challenge, "%s", f->a.routes[0].challenge);
	char cdn[256];
	snprintf(cdn, sizeof cdn, "/cdn/%s", digest_hex(dg));
	srv_route(&f->b, cdn, 200, "Content-Type: application/octet-stream\r\n", BLOB, strlen(BLOB));

	struct registry_auth auth = { .username = "user", .password = "pass" };
	open_session(f, NULL, &auth);
	struct lc_err err = { 0 };
	if (registry_get_blob(f->s, &f->c, dg, (int64_t)strlen(BLOB), &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(content_has_blob(&f->c, dg), 1);

	struct recorded r;
	char v[256];
	assert_true(find_req(&f->a, path, 1, &r)); /* the authorized retry */
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "Bearer tok-cdn");
	assert_int_equal(srv_nreqs(&f->b), 1);
	r = srv_req(&f->b, 0);
	assert_int_equal(strncmp(r.target, cdn, strlen(cdn)), 0);
	assert_string_equal(r.target + strlen(cdn), "?sig=abc");
	header_get(r.headers, "Authorization", v, sizeof v);
	assert_string_equal(v, "");
	assert_null(strcasestr(r.headers, "authorization"));

	/* A redirect back to the registry's own origin keeps the token. */
	static const char other[] = "second blob";
	char dg2[DIGEST_BUF], path2[256], loc2[512];
	digest_buffer(other, strlen(other), dg2);
	blob_path(dg2, path2, sizeof path2);
	snprintf(loc2, sizeof loc2, "Location: /storage/%s\r\n", digest_hex(dg2));
	struct route *r2 = srv_route(&f->a, path2, 307, loc2, "", 0);
	snprintf(r2->need_auth, sizeof r2->need_auth, "Bearer tok-cdn");
	char store[256];
	snprintf(store, sizeof store, "/storage/%s", digest_hex(dg2));
	struct route *r3 = srv_route(&f->a, store, 200, "", other, strlen(other));
	snprintf(r3->need_auth, sizeof r3->need_auth, "Bearer tok-cdn");
	if (registry_get_blob(f->s, &f->c, dg2, (int64_t)strlen(other), &err) < 0)
		fail_msg("%s", err.msg);
}

/* ------------------------------------------------------------------------------------------ */
/* transport                                                                                  */

static void test_http_needs_insecure(void **state)
{
	struct fx *f = *state;
	struct registry_endpoint ep = { .insecure = 0 };
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d", f->a.port);
	struct registry_session *s = NULL;
	struct lc_err err = { 0 };
	assert_int_equal(registry_session_open(&ep, REPO, NULL, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_null(s);
	assert_contains(err.msg, "insecure");
	assert_int_equal(srv_nreqs(&f->a), 0);

	snprintf(ep.url, sizeof ep.url, "ftp://127.0.0.1:%d", f->a.port);
	ep.insecure = 1;
	assert_int_equal(registry_session_open(&ep, REPO, NULL, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);

	/* Repository names that would escape the /v2/<repo>/ path. */
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d", f->a.port);
	static const char *const bad[] = { "", "../x", "a/../b", "A/b", "a b", "/a", "a//b", "a?b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(registry_session_open(&ep, bad[i], NULL, &s, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
}

static void test_unreachable(void **state)
{
	(void)state;
	/* A port nobody listens on: bind an ephemeral one, then close it. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);

	struct registry_endpoint ep = { .insecure = 1 };
	snprintf(ep.url, sizeof ep.url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	struct registry_session *s = NULL;
	struct lc_err err = { 0 };
	assert_int_equal(registry_session_open(&ep, REPO, NULL, &s, &err), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *body = NULL, ct[128], dg[DIGEST_BUF];
	size_t len;
	assert_int_equal(registry_get_manifest(s, "latest", &body, &len, ct, dg, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_contains(err.msg, ep.url);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	registry_session_close(s);
}

/*
 * docker's `auth` field (base64 of user:password) as a PullImage request carries it.  "====" made
 * the decoder count more padding than decoded bytes and write one byte before its buffer (ASan:
 * heap-buffer-overflow; reproduced by fuzz_request, tests/fuzz/request/regress-auth-padding).
 */
static void test_auth_field_decoding(void **state)
{
	(void)state;
	char *user = NULL, *pass = NULL;
	struct lc_err err = { 0 };
	assert_int_equal(registry_decode_auth("dXNlcjpzZWNyZXQ=", &user, &pass, &err), 0); /* user:secret */
	assert_string_equal(user, "user");
	assert_string_equal(pass, "secret");
	free(user);
	free(pass);
	assert_int_equal(registry_decode_auth("dTpw", &user, &pass, &err), 0); /* u:p, no padding */
	assert_string_equal(user, "u");
	assert_string_equal(pass, "p");
	free(user);
	free(pass);
	static const char *const bad[] = { "====", "A===", "AAAA====", "AA=A", "dXNlcjpzZWNyZXQ", "dXNlcg==" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		user = pass = NULL;
		memset(&err, 0, sizeof err);
		if (registry_decode_auth(bad[i], &user, &pass, &err) == 0)
			fail_msg("\"%s\" decoded to \"%s\" / \"%s\"", bad[i], user, pass);
		assert_int_equal(err.errnum, EINVAL);
		assert_null(user);
		assert_null(pass);
	}
	/* the PullImage path: the session refuses the credentials before sending anything */
	struct registry_endpoint ep = { .url = "http://127.0.0.1:9", .insecure = 1 };
	struct registry_auth auth = { .auth = "====" };
	struct registry_session *s = NULL;
	memset(&err, 0, sizeof err);
	assert_int_equal(registry_session_open(&ep, "library/busybox", &auth, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_field_decoding),
		cmocka_unit_test(test_reference_valid),
		cmocka_unit_test(test_reference_forms),
		cmocka_unit_test(test_reference_invalid),
		cmocka_unit_test(test_reference_is_id),
		cmocka_unit_test_setup_teardown(test_manifest_by_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_by_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_path_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bearer_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bearer_auth_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bearer_challenge_parsing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bearer_wrong_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_challenge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_download, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_bad_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_needs_insecure, setup, teardown),
		cmocka_unit_test(test_unreachable),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
