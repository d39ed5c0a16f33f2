/*
 * registry.c — the OCI distribution client (see registry.h).
 *
 * One libcurl easy handle per session, reset before every request (which keeps its connection
 * cache, so consecutive requests reuse the connection).  Redirects are followed here, not by
 * libcurl: every hop is checked (http/https only, no https→http downgrade for secure endpoints,
 * at most REDIRECT_MAX) and the Authorization header is attached only to requests whose origin
 * (scheme, host, port) is the one the credentials are meant for.  That way neither a registry
 * token nor basic credentials can follow a redirect to a blob CDN or anywhere else.
 *
 * A response body goes to the request's sink (memory or a content_writer) only when the status is
 * 2xx; other bodies are kept (capped) for the error message.
 */
#include "image/registry.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "util/cleanup.h"
#include "util/log.h"

#define REDIRECT_MAX 5
#define CONNECT_TIMEOUT_S 30L
#define LOW_SPEED_TIME_S 60L
#define TOKEN_RESPONSE_MAX (1u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define CHALLENGE_MAX 4096
#define USER_AGENT "litecri/" LITECRI_VERSION

struct registry_session {
	CURL *curl;
	char base[512];     /* endpoint URL without trailing slash */
	char origin[600];   /* "scheme://host:port" of the endpoint, lowercase */
	char host[300];     /* endpoint host, lowercase (TLS verification is skipped only for it) */
	int https;
	int insecure;
	char ca_file[256];  /* CA bundle for the endpoint's own host, "" = system store */
	char repo[512];
	char *username;     /* basic credentials (from username/password or the decoded auth) */
	char *password;
	char *identity_token;
	char *token;        /* the bearer token in use: registry_token or one from the realm */
	int basic;          /* a Basic challenge was seen: send the credentials up front */
	int has_credentials; /* any of username/password, auth, identity or registry token */
	const atomic_int *abort; /* registry_session_abort_on: non-zero stops every transfer */
	char errbuf[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

static void str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int nonempty(const char *s) { return s && *s; }

/*
 * Make err's message one printable line: registries and redirects put text in it, and it ends up
 * in the log.  Returns -1 (for `return clean(err);`).
 */
static int clean(struct lc_err *err)
{
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return -1;
}

/*
 * A URL as messages show it: without its query or fragment (signed blob URLs carry credentials
 * there) and at most 300 characters.  Expands to the two arguments of "%.*s".
 */
static int shown_len(const char *url)
{
	size_t n = strcspn(url, "?#");
	return n > 300 ? 300 : (int)n;
}
#define SHOWN(url) shown_len(url), (url)

/* Free a secret after overwriting it. */
static void free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* base64 of buf (malloc'ed), or NULL on out-of-memory. */
static char *base64_encode(const char *buf, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)buf, (int)len);
	return out;
}

/* See registry.h. */
int registry_decode_auth(const char *auth, char **user, char **pass, struct lc_err *err)
{
	size_t n = strlen(auth);
	while (n > 0 && isspace((unsigned char)auth[n - 1]))
		n--;
	if (n == 0 || n % 4 != 0 || n > 65536)
		return lc_fail(err, EINVAL, "registry credentials: 'auth' is not base64 of user:password");
	cleanup_free char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return lc_fail(err, ENOMEM, "registry credentials: decoding 'auth'");
	int m = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)auth, (int)n);
	if (m < 0) {
		return lc_fail(err, EINVAL, "registry credentials: 'auth' is not base64 of user:password");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes.  Base64 pads with at most two '=', so
	 * m stays >= 1 (n >= 4 gives m >= 3 before); more is not base64 (and "====" would make m
	 * negative: a write before out). */
	size_t pad = 0;
	while (pad < n && auth[n - 1 - pad] == '=')
		pad++;
	if (pad > 2) {
		explicit_bzero(out, (size_t)m);
		return lc_fail(err, EINVAL, "registry credentials: 'auth' is not base64 of user:password");
	}
	m -= (int)pad;
	out[m] = '\0';
	char *colon = memchr(out, ':', (size_t)m);
	if (strlen(out) != (size_t)m || !colon) {
		explicit_bzero(out, (size_t)m);
		return lc_fail(err, EINVAL, "registry credentials: 'auth' does not decode to user:password");
	}
	*colon = '\0';
	*user = strdup(out);
	*pass = strdup(colon + 1);
	explicit_bzero(out, (size_t)m);
	if (!*user || !*pass) {
		free_secret(*user);
		free_secret(*pass);
		*user = *pass = NULL;
		return lc_fail(err, ENOMEM, "registry credentials");
	}
	return 0;
}

/*
 * Split url into its lowercase scheme and host and write its origin "scheme://host:port" (the
 * default port filled in).  -1 with err (EINVAL) when libcurl cannot parse it.
 */
static int url_origin(const char *url, char scheme[16], char *host, size_t hostn, char *origin, size_t n,
		      struct lc_err *err)
{
	CURLU *u = curl_url();
	if (!u)
		return lc_fail(err, ENOMEM, "parsing URL");
	char *sch = NULL, *h = NULL, *port = NULL;
	int ret = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		lc_fail(err, EINVAL, "'%.*s' is not a valid URL", SHOWN(url));
		goto out;
	}
	if (strlen(sch) >= 16 || strlen(h) >= hostn) {
		lc_fail(err, EINVAL, "URL '%.*s': scheme or host too long", SHOWN(url));
		goto out;
	}
	snprintf(scheme, 16, "%s", sch);
	str_lower(scheme);
	snprintf(host, hostn, "%s", h);
	str_lower(host);
	int k = snprintf(origin, n, "%s://%s:%s", scheme, host, port);
	if (k < 0 || (size_t)k >= n) {
		lc_fail(err, EINVAL, "URL '%.*s': host too long", SHOWN(url));
		goto out;
	}
	ret = 0;
out:
	curl_free(sch);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

/* 1 if s is a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
static int tag_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* 1 if repo is safe to put in a URL path: [a-z0-9._/-], no empty or dot-only component. */
static int repo_valid(const char *repo)
{
	if (!nonempty(repo) || repo[0] == '/' || strlen(repo) >= 512)
		return 0;
	for (const char *p = repo; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
			return 0;
	for (const char *c = repo; c;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == 0 || strspn(c, ".") >= len)
			return 0;
		c = end ? end + 1 : NULL;
	}
	return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* one HTTP exchange                                                                          */

enum sink_kind { SINK_MEMORY, SINK_WRITER };

/* A request's response: the 2xx body's sink plus what the caller needs of the headers. */
struct xfer {
	CURL *curl;
	enum sink_kind kind;
	size_t max;                 /* SINK_MEMORY: the cap */
	struct content_writer *w;   /* SINK_WRITER */

	long status;
	char content_type[256];
	int content_type_overflow;      /* a Content-Type longer than content_type: an error at its use */
	char challenge[CHALLENGE_MAX];  /* every WWW-Authenticate value, joined by ", " */
	int challenge_overflow;
	char final_origin[600];     /* origin of the URL that gave the final response */

	char *body;                 /* SINK_MEMORY body */
	size_t len, cap;
	int too_big;

	char *ebody;                /* a non-2xx body, up to ERROR_BODY_MAX */
	size_t elen;
	int ebody_full;

	int write_failed;           /* SINK_WRITER refused bytes: werr says why */
	struct lc_err werr;
};

static void xfer_free(struct xfer *x)
{
	free(x->body);
	free(x->ebody);
	x->body = x->ebody = NULL;
}

/* Forget the previous response's headers and non-2xx body (a new hop or an interim response). */
static void xfer_reset_response(struct xfer *x)
{
	x->status = 0;
	x->content_type[0] = '\0';
	x->content_type_overflow = 0;
	x->challenge[0] = '\0';
	x->challenge_overflow = 0;
	x->elen = 0;
	x->ebody_full = 0;
}

/* If line is "Name: value" for `name`, return a pointer to the value (trimmed on the left). */
static const char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

/* CURLOPT_HEADERFUNCTION: collect Content-Type and WWW-Authenticate of the current response. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nitems;
	char line[CHALLENGE_MAX];
	size_t n = len;
	while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		xfer_reset_response(x);
		return len;
	}
	if (n >= sizeof line) {
		/* A truncated header must not be used: its use fails, naming it. */
		if (n > 17 && strncasecmp(buf, "www-authenticate:", 17) == 0)
			x->challenge_overflow = 1;
		else if (n > 13 && strncasecmp(buf, "content-type:", 13) == 0)
			x->content_type_overflow = 1;
		return len;
	}
	memcpy(line, buf, n);
	line[n] = '\0';
	const char *v;
	if ((v = header_value(line, n, "content-type"))) {
		size_t vn = strlen(v);
		x->content_type_overflow = vn >= sizeof x->content_type;
		if (!x->content_type_overflow)
			memcpy(x->content_type, v, vn + 1);
	} else if ((v = header_value(line, n, "www-authenticate"))) {
		size_t have = strlen(x->challenge);
		int k = snprintf(x->challenge + have, sizeof x->challenge - have, "%s%s", have ? ", " : "", v);
		if (k < 0 || (size_t)k >= sizeof x->challenge - have)
			x->challenge_overflow = 1;
	}
	return len;
}

/* CURLOPT_WRITEFUNCTION: a 2xx body into the sink, any other into ebody (capped). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb;
	long status = 0;
	if (curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (status < 200 || status > 299) {
		if (!x->ebody && !(x->ebody = malloc(ERROR_BODY_MAX + 1)))
			return 0;
		size_t take = len < ERROR_BODY_MAX - x->elen ? len : ERROR_BODY_MAX - x->elen;
		memcpy(x->ebody + x->elen, data, take);
		x->elen += take;
		x->ebody[x->elen] = '\0';
		if (take < len) {
			x->ebody_full = 1; /* enough for a message: stop reading */
			return 0;
		}
		return len;
	}
	if (x->kind == SINK_WRITER) {
		if (content_writer_write(x->w, data, len, &x->werr) < 0) {
			x->write_failed = 1;
			return 0;
		}
		return len;
	}
	if (len > x->max - x->len) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		while (cap < x->len + len + 1)
			cap *= 2;
		char *b = realloc(x->body, cap);
		if (!b)
			return 0;
		x->body = b;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, len);
	x->len += len;
	x->body[x->len] = '\0';
	return len;
}

/* Set by registry_cancel_all: every transfer stops at its next progress callback. */
static atomic_int cancelled;

void registry_cancel_all(void) { atomic_store(&cancelled, 1); }

void registry_session_abort_on(struct registry_session *s, const atomic_int *flag) { s->abort = flag; }

/* Why the transfers of s must stop now (registry_cancel_all, registry_session_abort_on), or NULL. */
static const char *stop_reason(const struct registry_session *s)
{
	if (atomic_load(&cancelled))
		return "litecri is shutting down";
	if (s->abort && atomic_load(s->abort))
		return "no caller waits for the pull any more";
	return NULL;
}

/* libcurl progress callback (arg: the session): non-zero aborts the transfer
 * (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop_reason(arg) != NULL;
}

/* Map a libcurl failure to an errno-ish value. */
static int curl_errnum(CURL *h, CURLcode rc)
{
	long os = 0;
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return ECANCELED;
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os) == CURLE_OK && os > 0)
			return (int)os;
		return ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return EPROTONOSUPPORT;
	case CURLE_URL_MALFORMAT:
		return EINVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return EPROTO;
	default:
		return EIO;
	}
}

/* One request, as perform() is asked to make it. */
struct req {
	const char *method;       /* "GET" or "POST" (for messages; POST iff postfields) */
	const char *url;
	const char *accept;       /* Accept header value, or NULL */
	const char *postfields;   /* form body for POST, NULL for GET */
	const char *auth_header;  /* "Authorization: ..." or NULL ... */
	const char *auth_origin;  /* ... sent only to URLs of this origin */
	int follow;               /* follow redirects */
};

#define SETOPT(h, opt, val)                                                                   \
	do {                                                                                  \
		CURLcode c_ = curl_easy_setopt((h), (opt), (val));                            \
		if (c_ != CURLE_OK && sc == CURLE_OK)                                         \
			sc = c_;                                                              \
	} while (0)

/*
 * Make request q on the session's handle, following redirects when q->follow.  Returns 0 when a
 * final response arrived (whatever its status: x->status), -1 with err on a transport failure, a
 * refused redirect, or a sink failure (x's writer error, or EBADMSG when a memory body exceeds
 * x->max).
 */
static int perform(struct registry_session *s, const struct req *q, struct xfer *x, struct lc_err *err)
{
	assert(q->url && (!q->postfields || !q->follow));
	cleanup_free char *url = strdup(q->url);
	if (!url)
		return lc_fail(err, ENOMEM, "%s %.*s", q->method, SHOWN(q->url));
	x->curl = s->curl;

	for (int hop = 0;; hop++) {
		char scheme[16], host[300], origin[600];
		if (url_origin(url, scheme, host, sizeof host, origin, sizeof origin, err) < 0)
			return -1;
		if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
			return lc_fail(err, EPROTONOSUPPORT, "%s %.*s: only http and https are allowed", q->method,
				       SHOWN(url));
		if (strcmp(scheme, "http") == 0 && s->https && !s->insecure)
			return lc_fail(err, EPROTO,
				       "%s %.*s: refusing plain http for the secure registry %s%s", q->method,
				       SHOWN(url), s->base, hop ? " (redirected)" : "");
		int same_host_insecure = s->insecure && strcmp(host, s->host) == 0;
		int send_auth = q->auth_header && q->auth_origin && strcmp(origin, q->auth_origin) == 0;

		struct curl_slist *hdrs = NULL, *t;
		CURLcode sc = CURLE_OK;
		if (q->accept) {
			char accept[512];
			snprintf(accept, sizeof accept, "Accept: %s", q->accept);
			if (!(t = curl_slist_append(hdrs, accept)))
				goto nomem;
			hdrs = t;
		}
		if (send_auth) {
			if (!(t = curl_slist_append(hdrs, q->auth_header)))
				goto nomem;
			hdrs = t;
		}
		curl_easy_reset(s->curl);
		s->errbuf[0] = '\0';
		SETOPT(s->curl, CURLOPT_URL, url);
		SETOPT(s->curl, CURLOPT_NOSIGNAL, 1L);
		SETOPT(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		SETOPT(s->curl, CURLOPT_REDIR_PROTOCOLS_STR, s->https && !s->insecure ? "https" : "http,https");
		SETOPT(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
		SETOPT(s->curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
		SETOPT(s->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
		SETOPT(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(s->curl, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
		SETOPT(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
		SETOPT(s->curl, CURLOPT_NOPROGRESS, 0L);
		SETOPT(s->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		SETOPT(s->curl, CURLOPT_XFERINFODATA, s);
		SETOPT(s->curl, CURLOPT_USERAGENT, USER_AGENT);
		SETOPT(s->curl, CURLOPT_HEADERFUNCTION, on_header);
		SETOPT(s->curl, CURLOPT_HEADERDATA, x);
		SETOPT(s->curl, CURLOPT_WRITEFUNCTION, on_body);
		SETOPT(s->curl, CURLOPT_WRITEDATA, x);
		SETOPT(s->curl, CURLOPT_SSL_VERIFYPEER, same_host_insecure ? 0L : 1L);
		SETOPT(s->curl, CURLOPT_SSL_VERIFYHOST, same_host_insecure ? 0L : 2L);
		if (s->ca_file[0] && strcmp(host, s->host) == 0)
			SETOPT(s->curl, CURLOPT_CAINFO, s->ca_file);
		if (hdrs)
			SETOPT(s->curl, CURLOPT_HTTPHEADER, hdrs);
		if (q->postfields)
			SETOPT(s->curl, CURLOPT_POSTFIELDS, q->postfields);
		if (sc != CURLE_OK) {
			curl_slist_free_all(hdrs);
			return lc_fail(err, EINVAL, "%s %.*s: setting up libcurl: %s", q->method, SHOWN(url),
				       curl_easy_strerror(sc));
		}

		xfer_reset_response(x);
		const char *stop = stop_reason(s);
		if (stop) {
			curl_slist_free_all(hdrs);
			return lc_failc(err, ECANCELED, "%s %.*s: cancelled: %s", q->method, SHOWN(url), stop);
		}
		CURLcode rc = curl_easy_perform(s->curl);
		/* The handle keeps a pointer to the list until the next reset: detach it first. */
		if (hdrs)
			(void)curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
		curl_slist_free_all(hdrs);

		if (rc == CURLE_ABORTED_BY_CALLBACK && (stop = stop_reason(s)))
			return lc_failc(err, ECANCELED, "%s %.*s: cancelled: %s", q->method, SHOWN(url), stop);
		if (x->write_failed) {
			*err = x->werr;
			return -1;
		}
		if (x->too_big)
			return lc_fail(err, EBADMSG, "%s %.*s: response larger than %zu bytes", q->method,
				       SHOWN(url), x->max);
		if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->ebody_full)) {
			int e = curl_errnum(s->curl, rc);
			/* curl's own timeouts are the registry's slowness, not a deadline of the call */
			return lc_failc(err, e == ETIMEDOUT ? ENETUNREACH : e, "%s %.*s: %s (%s)", q->method,
					SHOWN(url), s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc), strerror(e));
		}
		if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &x->status) != CURLE_OK)
			return lc_fail(err, EPROTO, "%s %.*s: no response code", q->method, SHOWN(url));
		log_debug("registry: %s %.*s%s -> HTTP %ld", q->method, SHOWN(url),
			  send_auth ? " (authorized)" : "", x->status);
		snprintf(x->final_origin, sizeof x->final_origin, "%s", origin);

		int redirect = x->status == 301 || x->status == 302 || x->status == 303 || x->status == 307 ||
			       x->status == 308;
		if (!q->follow || !redirect)
			return 0;
		if (hop >= REDIRECT_MAX)
			return lc_fail(err, ELOOP, "%s %.*s: more than %d redirects", q->method, SHOWN(q->url),
				       REDIRECT_MAX);
		char *next = NULL;
		if (curl_easy_getinfo(s->curl, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || !next)
			return lc_fail(err, EPROTO, "%s %.*s: HTTP %ld without a usable Location", q->method,
				       SHOWN(url), x->status);
		char *copy = strdup(next);
		if (!copy)
			return lc_fail(err, ENOMEM, "%s %.*s", q->method, SHOWN(url));
		free(url);
		url = copy;
		continue;
nomem:
		curl_slist_free_all(hdrs);
		return lc_fail(err, ENOMEM, "%s %.*s", q->method, SHOWN(url));
	}
}

/* ------------------------------------------------------------------------------------------ */
/* errors from the registry                                                                   */

/*
 * Summarize a non-2xx body into msg: the distribution spec's {"errors":[{"code","message"}]},
 * a token server's {"details"} / OAuth2 {"error","error_description"}, or else the start of the
 * text.  *not_found is set when an error code says the manifest/blob/repository is unknown.
 */
static void error_text(const struct xfer *x, char *msg, size_t n, int *not_found)
{
	msg[0] = '\0';
	*not_found = 0;
	if (!x->ebody || x->elen == 0)
		return;
	json_t *root = json_loadb(x->ebody, x->elen, 0, NULL);
	if (root && json_is_object(root)) {
		size_t off = 0;
		json_t *errors = json_object_get(root, "errors");
		if (json_is_array(errors)) {
			size_t i;
			json_t *e;
			json_array_foreach(errors, i, e)
			{
				const char *code = json_string_value(json_object_get(e, "code"));
				const char *m = json_string_value(json_object_get(e, "message"));
				if (code && (!strcmp(code, "MANIFEST_UNKNOWN") || !strcmp(code, "NAME_UNKNOWN") ||
					     !strcmp(code, "BLOB_UNKNOWN")))
					*not_found = 1;
				if (off < n) {
					int k = snprintf(msg + off, n - off, "%s%s%s%s", off ? "; " : "",
							 code ? code : "", code && m ? ": " : "", m ? m : "");
					off += k > 0 ? (size_t)k : 0;
				}
			}
		}
		const char *details = json_string_value(json_object_get(root, "details"));
		const char *oerr = json_string_value(json_object_get(root, "error"));
		const char *odesc = json_string_value(json_object_get(root, "error_description"));
		if (off == 0 && details)
			snprintf(msg, n, "%s", details);
		else if (off == 0 && oerr)
			snprintf(msg, n, "%s%s%s", oerr, odesc ? ": " : "", odesc ? odesc : "");
	}
	json_decref(root);
	if (msg[0] == '\0') {
		size_t k = 0;
		for (size_t i = 0; i < x->elen && k + 1 < n && k < 200; i++)
			msg[k++] = isprint((unsigned char)x->ebody[i]) ? x->ebody[i] : ' ';
		msg[k] = '\0';
	}
}

/*
 * Fail for a final non-success status, naming `what`: EKEYREJECTED for 401/403, ENOENT for 404 or an
 * "unknown" error code (only when not_found_ok; a token server's 404 is not a missing image),
 * EPROTO otherwise.
 */
static int status_fail(const struct xfer *x, const char *what, int not_found_ok, const char *denied_hint,
		       struct lc_err *err)
{
	char text[400];
	int not_found;
	error_text(x, text, sizeof text, &not_found);
	const char *sep = text[0] ? ": " : "";
	if (not_found_ok && (x->status == 404 || (not_found && x->status >= 400 && x->status < 500)))
		return lc_fail(err, ENOENT, "%s: not found (HTTP %ld%s%s)", what, x->status, sep, text);
	if (x->status == 401 || x->status == 403)
		return lc_failc(err, EKEYREJECTED, "%s: access denied (HTTP %ld%s%s)%s", what, x->status, sep, text,
			       denied_hint ? denied_hint : "");
	return lc_fail(err, EPROTO, "%s: HTTP %ld%s%s", what, x->status, sep, text);
}

/* ------------------------------------------------------------------------------------------ */
/* authentication                                                                             */

static int tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* See registry.h. */
void registry_parse_challenges(const char *h, struct registry_challenge *bearer, struct registry_challenge *basic)
{
	memset(bearer, 0, sizeof *bearer);
	memset(basic, 0, sizeof *basic);
	struct registry_challenge *cur = NULL; /* the challenge parameters belong to; NULL: ignore them */
	int in_challenge = 0;
	const char *p = h;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (tchar(*p))
			p++;
		size_t toklen = (size_t)(p - tok);
		if (toklen == 0) {
			p++; /* stray character */
			continue;
		}
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '=' && in_challenge) {
			/* auth-param */
			p = q + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			char val[2048];
			size_t vn = 0;
			int over = 0;
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					if (vn + 1 < sizeof val)
						val[vn++] = *p;
					else
						over = 1;
					p++;
				}
				if (*p == '"')
					p++;
			} else {
				while (*p && *p != ',' && *p != ' ' && *p != '\t') {
					if (vn + 1 < sizeof val)
						val[vn++] = *p;
					else
						over = 1;
					p++;
				}
			}
			val[vn] = '\0';
			if (!cur)
				continue;
			char *dst = NULL;
			size_t dn = 0;
			if (toklen == 5 && strncasecmp(tok, "realm", 5) == 0)
				dst = cur->realm, dn = sizeof cur->realm;
			else if (toklen == 7 && strncasecmp(tok, "service", 7) == 0)
				dst = cur->service, dn = sizeof cur->service;
			else if (toklen == 5 && strncasecmp(tok, "scope", 5) == 0)
				dst = cur->scope, dn = sizeof cur->scope;
			if (dst) {
				if (over || vn >= dn)
					cur->overflow = 1;
				else
					memcpy(dst, val, vn + 1);
			}
			continue;
		}
		/* A new challenge's scheme (anything else after a scheme, e.g. token68, is skipped). */
		in_challenge = 1;
		cur = NULL;
		if (toklen == 6 && strncasecmp(tok, "bearer", 6) == 0 && !bearer->present)
			cur = bearer;
		else if (toklen == 5 && strncasecmp(tok, "basic", 5) == 0 && !basic->present)
			cur = basic;
		if (cur)
			cur->present = 1;
	}
}

/* "Authorization: Basic <base64(user:password)>" (malloc'ed), or NULL on out-of-memory. */
static char *basic_header(const struct registry_session *s)
{
	cleanup_free char *pair = NULL;
	if (asprintf(&pair, "%s:%s", s->username, s->password) < 0)
		return NULL;
	char *b64 = base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	if (!b64)
		return NULL;
	char *h = NULL;
	int k = asprintf(&h, "Authorization: Basic %s", b64);
	free_secret(b64);
	return k < 0 ? NULL : h;
}

/* The Authorization header for the endpoint as the session stands (NULL in *out when none). */
static int endpoint_auth_header(const struct registry_session *s, char **out, struct lc_err *err)
{
	*out = NULL;
	if (s->token) {
		if (asprintf(out, "Authorization: Bearer %s", s->token) < 0) {
			*out = NULL;
			return lc_fail(err, ENOMEM, "registry %s", s->base);
		}
	} else if (s->basic && s->username) {
		if (!(*out = basic_header(s)))
			return lc_fail(err, ENOMEM, "registry %s", s->base);
	}
	return 0;
}

/* "&name=<escaped value>" appended to *buf (malloc'ed, grown); -1 on out-of-memory. */
static int append_param(CURL *h, char **buf, const char *sep, const char *name, const char *value)
{
	char *esc = curl_easy_escape(h, value, 0);
	if (!esc)
		return -1;
	char *n = NULL;
	int k = asprintf(&n, "%s%s%s=%s", *buf ? *buf : "", sep, name, esc);
	curl_free(esc);
	if (k < 0)
		return -1;
	free_secret(*buf);
	*buf = n;
	return 0;
}

/*
 * Get a bearer token for the challenge ch from its realm and store it in s->token: a GET with
 * service and scope (basic credentials when the session has them), or, with an identity token,
 * the OAuth2 refresh-token POST.  Refusal by the token server fails with EKEYREJECTED.
 */
static int fetch_token(struct registry_session *s, const struct registry_challenge *ch, struct lc_err *err)
{
	char scope[1100];
	if (ch->scope[0])
		snprintf(scope, sizeof scope, "%s", ch->scope);
	else
		snprintf(scope, sizeof scope, "repository:%s:pull", s->repo);

	char rscheme[16], rhost[300], rorigin[600];
	if (url_origin(ch->realm, rscheme, rhost, sizeof rhost, rorigin, sizeof rorigin, err) < 0)
		return lc_wrap(err, "token realm of registry %s", s->base);

	cleanup_free char *url = NULL;
	cleanup_free char *form = NULL;
	cleanup_free char *hdr = NULL;
	struct req q = { .method = "GET", .follow = 1 };
	if (nonempty(s->identity_token)) {
		q.method = "POST";
		q.follow = 0;
		if (!(url = strdup(ch->realm)) ||
		    append_param(s->curl, &form, "", "grant_type", "refresh_token") < 0 ||
		    append_param(s->curl, &form, "&", "refresh_token", s->identity_token) < 0 ||
		    (ch->service[0] && append_param(s->curl, &form, "&", "service", ch->service) < 0) ||
		    append_param(s->curl, &form, "&", "scope", scope) < 0 ||
		    append_param(s->curl, &form, "&", "client_id", "litecri") < 0)
			return lc_fail(err, ENOMEM, "token request to %.*s", SHOWN(ch->realm));
		q.postfields = form;
	} else {
		const char *sep = strchr(ch->realm, '?') ? "&" : "?";
		if (!(url = strdup(ch->realm)) ||
		    (ch->service[0] && append_param(s->curl, &url, sep, "service", ch->service) < 0) ||
		    append_param(s->curl, &url, ch->service[0] ? "&" : sep, "scope", scope) < 0)
			return lc_fail(err, ENOMEM, "token request to %.*s", SHOWN(ch->realm));
		if (s->username) {
			if (!(hdr = basic_header(s)))
				return lc_fail(err, ENOMEM, "token request to %.*s", SHOWN(ch->realm));
			q.auth_header = hdr;
			q.auth_origin = rorigin;
		}
	}
	q.url = url;

	struct xfer x = { .kind = SINK_MEMORY, .max = TOKEN_RESPONSE_MAX };
	int ret = perform(s, &q, &x, err);
	if (hdr)
		explicit_bzero(hdr, strlen(hdr));
	if (form)
		explicit_bzero(form, strlen(form));
	if (ret < 0) {
		xfer_free(&x);
		return lc_wrap(err, "token for %s from %.*s", s->repo, SHOWN(ch->realm));
	}
	if (x.status != 200) {
		char what[1536];
		snprintf(what, sizeof what, "token for %s from %.*s (%s)", s->repo, SHOWN(ch->realm),
			 nonempty(s->identity_token) ? "identity token"
			 : s->username               ? "with credentials"
						     : "anonymous");
		status_fail(&x, what, 0, NULL, err);
		xfer_free(&x);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(x.body ? x.body : "", x.len, 0, &jerr);
	xfer_free(&x);
	const char *tok = NULL;
	if (root) {
		tok = json_string_value(json_object_get(root, "token"));
		if (!nonempty(tok))
			tok = json_string_value(json_object_get(root, "access_token"));
	}
	if (!nonempty(tok) || strpbrk(tok, "\r\n")) {
		json_decref(root);
		return lc_fail(err, EPROTO, "token for %s from %.*s: response has no usable token", s->repo,
			       SHOWN(ch->realm));
	}
	char *copy = strdup(tok);
	json_decref(root);
	if (!copy)
		return lc_fail(err, ENOMEM, "token for %s", s->repo);
	free_secret(s->token);
	s->token = copy;
	log_debug("registry: got a token for %s from %.*s", s->repo, SHOWN(ch->realm));
	return 0;
}

/*
 * React to a 401 from the endpoint: get a token (Bearer) or switch to basic credentials (Basic).
 * 0 means "retry the request"; -1 with err (EKEYREJECTED when there is nothing to answer with).
 */
static int authenticate(struct registry_session *s, const struct xfer *x, const char *what, struct lc_err *err)
{
	struct registry_challenge bearer, basic;
	if (x->challenge_overflow)
		return lc_fail(err, EPROTO, "%s: WWW-Authenticate header too long", what);
	registry_parse_challenges(x->challenge, &bearer, &basic);
	if (bearer.present) {
		if (bearer.overflow)
			return lc_fail(err, EPROTO, "%s: a Bearer challenge parameter is too long", what);
		if (!bearer.realm[0])
			return lc_fail(err, EPROTO, "%s: Bearer challenge without a realm", what);
		if (fetch_token(s, &bearer, err) < 0)
			return lc_wrap(err, "%s", what);
		return 0;
	}
	if (basic.present) {
		if (!s->username)
			return lc_failc(err, EKEYREJECTED,
				       "%s: registry %s asks for credentials (Basic) and none were given", what,
				       s->base);
		if (s->basic)
			return lc_failc(err, EKEYREJECTED, "%s: registry %s refused the credentials", what, s->base);
		s->basic = 1;
		return 0;
	}
	return lc_failc(err, EKEYREJECTED, "%s: HTTP 401 from %s without a Bearer or Basic challenge", what, s->base);
}

/*
 * GET url from the endpoint with the session's authorization, answering one 401 challenge and
 * retrying once.  0 with x->status the final status (a second 401 is left to the caller);
 * -1 with err on transport or authentication failure.
 */
static int endpoint_get(struct registry_session *s, const char *url, const char *accept, struct xfer *x,
			const char *what, struct lc_err *err)
{
	for (int attempt = 0;; attempt++) {
		cleanup_free char *hdr = NULL;
		if (endpoint_auth_header(s, &hdr, err) < 0)
			return -1;
		struct req q = { .method = "GET", .url = url, .accept = accept, .auth_header = hdr,
				 .auth_origin = s->origin, .follow = 1 };
		assert(x->kind != SINK_WRITER || x->w->written == 0);
		if (perform(s, &q, x, err) < 0)
			return lc_wrap(err, "%s", what);
		/* Only the endpoint's own challenge is answered (not one from a redirect target). */
		if (x->status != 401 || attempt > 0 || strcmp(x->final_origin, s->origin) != 0)
			return 0;
		if (authenticate(s, x, what, err) < 0)
			return -1;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* the interface                                                                              */

/* Validate the endpoint and repository, keep copies of the credentials, create the handle. */
static int session_open(const struct registry_endpoint *ep, const char *repo, const struct registry_auth *auth,
			struct registry_session **out, struct lc_err *err)
{
	assert(ep && out);
	*out = NULL;
	size_t ulen = strnlen(ep->url, sizeof ep->url);
	if (ulen == sizeof ep->url)
		return lc_fail(err, EINVAL, "registry endpoint URL too long");
	int https = strncasecmp(ep->url, "https://", 8) == 0;
	int http = strncasecmp(ep->url, "http://", 7) == 0;
	if (!https && !http)
		return lc_fail(err, EINVAL, "registry endpoint '%s': must start with https:// or http://", ep->url);
	if (http && !ep->insecure)
		return lc_fail(err, EINVAL,
			       "registry endpoint '%s' is plain http: mark the endpoint insecure to use it",
			       ep->url);
	if (!repo_valid(repo))
		return lc_fail(err, EINVAL, "registry %s: '%s' is not a valid repository name", ep->url,
			       repo ? repo : "");

	struct registry_session *s = calloc(1, sizeof *s);
	if (!s)
		return lc_fail(err, ENOMEM, "registry session for %s", ep->url);
	memcpy(s->base, ep->url, ulen + 1);
	while (ulen > 0 && s->base[ulen - 1] == '/')
		s->base[--ulen] = '\0';
	snprintf(s->repo, sizeof s->repo, "%s", repo);
	s->https = https;
	s->insecure = ep->insecure != 0;
	snprintf(s->ca_file, sizeof s->ca_file, "%s", ep->ca_file);
	char scheme[16];
	if (url_origin(s->base, scheme, s->host, sizeof s->host, s->origin, sizeof s->origin, err) < 0) {
		registry_session_close(s);
		return lc_wrap(err, "registry endpoint");
	}

	if (auth) {
		if (nonempty(auth->username) || nonempty(auth->password)) {
			s->username = strdup(auth->username ? auth->username : "");
			s->password = strdup(auth->password ? auth->password : "");
			if (!s->username || !s->password)
				goto nomem;
		} else if (nonempty(auth->auth)) {
			if (registry_decode_auth(auth->auth, &s->username, &s->password, err) < 0) {
				lc_wrap(err, "registry %s", s->base);
				registry_session_close(s);
				return -1;
			}
		}
		if (nonempty(auth->identity_token) && !(s->identity_token = strdup(auth->identity_token)))
			goto nomem;
		if (nonempty(auth->registry_token)) {
			if (strpbrk(auth->registry_token, "\r\n")) {
				lc_fail(err, EINVAL, "registry %s: registry token contains a line break", s->base);
				registry_session_close(s);
				return -1;
			}
			if (!(s->token = strdup(auth->registry_token)))
				goto nomem;
		}
	}
	s->has_credentials = s->username || s->identity_token || s->token;
	if (!(s->curl = curl_easy_init()))
		goto nomem;
	*out = s;
	return 0;
nomem:
	registry_session_close(s);
	return lc_fail(err, ENOMEM, "registry session for %s", ep->url);
}

int registry_session_open(const struct registry_endpoint *ep, const char *repo,
			  const struct registry_auth *auth, struct registry_session **out, struct lc_err *err)
{
	return session_open(ep, repo, auth, out, err) < 0 ? clean(err) : 0;
}

/* strdup of a secret that may be NULL; 0, or -1 on out-of-memory. */
static int dup_opt(const char *src, char **dst)
{
	*dst = NULL;
	return src && !(*dst = strdup(src)) ? -1 : 0;
}

int registry_session_clone(const struct registry_session *s, struct registry_session **out, struct lc_err *err)
{
	*out = NULL;
	struct registry_session *c = calloc(1, sizeof *c);
	if (!c)
		return lc_fail(err, ENOMEM, "registry session for %s", s->base);
	memcpy(c->base, s->base, sizeof c->base);
	memcpy(c->origin, s->origin, sizeof c->origin);
	memcpy(c->host, s->host, sizeof c->host);
	memcpy(c->ca_file, s->ca_file, sizeof c->ca_file);
	memcpy(c->repo, s->repo, sizeof c->repo);
	c->https = s->https;
	c->insecure = s->insecure;
	c->basic = s->basic;
	c->has_credentials = s->has_credentials;
	c->abort = s->abort;
	if (dup_opt(s->username, &c->username) < 0 || dup_opt(s->password, &c->password) < 0 ||
	    dup_opt(s->identity_token, &c->identity_token) < 0 || dup_opt(s->token, &c->token) < 0 ||
	    !(c->curl = curl_easy_init())) {
		registry_session_close(c);
		return lc_fail(err, ENOMEM, "registry session for %s", s->base);
	}
	*out = c;
	return 0;
}

void registry_session_close(struct registry_session *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free_secret(s->username);
	free_secret(s->password);
	free_secret(s->identity_token);
	free_secret(s->token);
	free(s);
}

/* What to add to an "access denied" for the session's endpoint. */
static const char *denied_hint(const struct registry_session *s)
{
	return s->has_credentials ? "" : "; no credentials were given (private image?)";
}

/* Media type of a Content-Type value: parameters dropped, trimmed, lowercase. */
static int media_type(const char *v, char out[128], const char *what, struct lc_err *err)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strcspn(v, ";");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 128)
		return lc_fail(err, EPROTO, "%s: Content-Type too long", what);
	memcpy(out, v, n);
	out[n] = '\0';
	str_lower(out);
	return 0;
}

/* GET the manifest `reference` into a malloc'ed buffer; verify it when reference is a digest. */
static int get_manifest(struct registry_session *s, const char *reference, char **body, size_t *len,
			char content_type[128], char digest[DIGEST_BUF], struct lc_err *err)
{
	assert(s && reference && body && len && content_type && digest);
	*body = NULL;
	*len = 0;
	content_type[0] = '\0';
	digest[0] = '\0';
	char what[1536];
	snprintf(what, sizeof what, "manifest %.200s of %s from %s", reference, s->repo, s->base);
	int by_digest = digest_valid(reference);
	if (!by_digest && !tag_valid(reference))
		return lc_fail(err, EINVAL, "%s: not a tag or a sha256 digest", what);

	cleanup_free char *url = NULL;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", s->base, s->repo, reference) < 0) {
		url = NULL;
		return lc_fail(err, ENOMEM, "%s", what);
	}
	struct xfer x = { .kind = SINK_MEMORY, .max = REGISTRY_MANIFEST_MAX };
	if (endpoint_get(s, url, REGISTRY_MANIFEST_ACCEPT, &x, what, err) < 0) {
		xfer_free(&x);
		return -1;
	}
	if (x.status != 200) {
		status_fail(&x, what, 1, denied_hint(s), err);
		xfer_free(&x);
		return -1;
	}
	if (x.content_type_overflow) {
		xfer_free(&x);
		return lc_fail(err, EPROTO, "%s: Content-Type header longer than %zu bytes", what,
			       sizeof x.content_type - 1);
	}
	if (media_type(x.content_type, content_type, what, err) < 0) {
		xfer_free(&x);
		return -1;
	}
	if (!x.body && !(x.body = calloc(1, 1))) {
		xfer_free(&x);
		return lc_fail(err, ENOMEM, "%s", what);
	}
	digest_buffer(x.body, x.len, digest);
	if (by_digest && strcmp(digest, reference) != 0) {
		lc_fail(err, EBADMSG, "%s: the registry sent content with digest %s", what, digest);
		digest[0] = '\0';
		content_type[0] = '\0';
		xfer_free(&x);
		return -1;
	}
	*body = x.body;
	*len = x.len;
	x.body = NULL;
	xfer_free(&x);
	return 0;
}

int registry_get_manifest(struct registry_session *s, const char *reference, char **body, size_t *len,
			  char content_type[128], char digest[DIGEST_BUF], struct lc_err *err)
{
	return get_manifest(s, reference, body, len, content_type, digest, err) < 0 ? clean(err) : 0;
}

/* Stream a blob into the content store through a content_writer (verified on commit). */
static int get_blob(struct registry_session *s, const struct content *c, const char *digest, int64_t size,
		    struct lc_err *err)
{
	assert(s && c);
	if (digest_check(digest, "blob digest", err) < 0)
		return lc_wrap(err, "blob of %s from %s", s->repo, s->base);
	if (content_has_blob(c, digest) == 1)
		return 0;
	char what[1536];
	snprintf(what, sizeof what, "blob %s of %s from %s", digest, s->repo, s->base);
	cleanup_free char *url = NULL;
	if (asprintf(&url, "%s/v2/%s/blobs/%s", s->base, s->repo, digest) < 0) {
		url = NULL;
		return lc_fail(err, ENOMEM, "%s", what);
	}

	struct content_writer w;
	if (content_writer_open(c, digest, size < 0 ? -1 : size, &w, err) < 0)
		return lc_wrap(err, "%s", what);
	struct xfer x = { .kind = SINK_WRITER, .w = &w };
	int ret = endpoint_get(s, url, NULL, &x, what, err);
	if (ret == 0 && x.status != 200)
		ret = status_fail(&x, what, 1, denied_hint(s), err);
	xfer_free(&x);
	if (ret < 0) {
		content_writer_abort(&w);
		return -1;
	}
	if (content_writer_commit(&w, err) < 0) {
		content_writer_abort(&w);
		return lc_wrap(err, "%s", what);
	}
	return 0;
}

int registry_get_blob(struct registry_session *s, const struct content *c, const char *digest,
		      int64_t size, struct lc_err *err)
{
	return get_blob(s, c, digest, size, err) < 0 ? clean(err) : 0;
}

int registry_global_init(struct lc_err *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return lc_fail(err, EIO, "libcurl initialization: %s", curl_easy_strerror(rc));
	return 0;
}

void registry_global_cleanup(void) { curl_global_cleanup(); }
