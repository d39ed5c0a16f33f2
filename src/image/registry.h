/*
 * registry.h — the OCI distribution (Docker registry v2) client: manifests and blobs over
 * HTTP(S) with libcurl, Bearer-token and basic authentication.
 *
 * One session talks to one endpoint about one repository (it keeps its connection and its
 * token).  Sessions are not shared between threads; any number may run at once.
 *
 * Transport rules:
 *   - https:// endpoints verify certificates against the system CA store, unless `insecure`.
 *   - http:// endpoints are refused unless `insecure` (registry_session_open fails).
 *   - Redirects (blob CDNs) are followed, http/https only, at most 5; an https endpoint never
 *     follows a redirect to http unless insecure.  Credentials are never sent to another host.
 *   - Timeouts: 30 s to connect; a transfer that moves no byte for 60 s is aborted.
 *
 * Authentication: on 401 with `WWW-Authenticate: Bearer realm=..,service=..,scope=..` the
 * session fetches a token from the realm (GET ?service=&scope=repository:<repo>:pull, with basic
 * credentials when it has them, or POSTing identity_token as an OAuth2 refresh token) and
 * retries once; `Basic` challenges are answered with the credentials.  registry_token is used as
 * the Bearer token directly.
 */
#ifndef LITECRI_IMAGE_REGISTRY_H
#define LITECRI_IMAGE_REGISTRY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "image/content.h"
#include "image/digest.h"
#include "util/err.h"

/* Where to fetch from: "https://host[:port][/prefix]" or "http://..." (no trailing slash). */
struct registry_endpoint {
	char url[512];
	int insecure; /* allow plain http, skip TLS verification */
	char ca_file[256]; /* "" = the system CA store; else PEM CA certificates to verify the
			      endpoint's own host with (token realms and redirects elsewhere still
			      use the system store) */
};

/* Credentials from the CRI AuthConfig (any field may be NULL or ""). */
struct registry_auth {
	const char *username;
	const char *password;
	const char *auth;            /* base64("user:password"), as in docker's config.json */
	const char *identity_token;  /* OAuth2 refresh token */
	const char *registry_token;  /* a bearer token to send as is */
};

/* Accept header for manifests: OCI and Docker schema 2, images and indexes. */
#define REGISTRY_MANIFEST_ACCEPT                                                              \
	"application/vnd.oci.image.index.v1+json, "                                           \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                         \
	"application/vnd.oci.image.manifest.v1+json, "                                        \
	"application/vnd.docker.distribution.manifest.v2+json"

#define REGISTRY_MANIFEST_MAX (4u << 20) /* manifests larger than 4 MiB are refused */

struct registry_session;

/*
 * Open a session on endpoint ep for repository `repo` (the path part of the image name, e.g.
 * "library/busybox"; the endpoint URL's path prefix, if any, goes before "/v2/").  auth may be
 * NULL.  Nothing is sent yet.
 */
int registry_session_open(const struct registry_endpoint *ep, const char *repo,
			  const struct registry_auth *auth, struct registry_session **out, struct lc_err *err);
void registry_session_close(struct registry_session *s);

/*
 * A second session like s — same endpoint, repository, credentials and the token s holds now —
 * with its own connection, for another thread (parallel layer downloads).  s may not be in use
 * by another thread while it is copied.
 */
int registry_session_clone(const struct registry_session *s, struct registry_session **out, struct lc_err *err);

/*
 * GET /v2/<repo>/manifests/<reference> (a tag or a digest).  On success *body is malloc'ed
 * (NUL-terminated, *len without the NUL), content_type holds the response media type (without
 * parameters, "" if none) and digest the sha256 of the body.  When reference is a digest the body
 * must hash to it (else errnum EBADMSG).
 * Errors carry errnum: ENOENT (404 / MANIFEST_UNKNOWN / NAME_UNKNOWN), EKEYREJECTED (401/403
 * after authenticating, or a token server refusing), EBADMSG (digest mismatch, oversized), EPROTO
 * (other HTTP status; message has the status and the registry's error text; also TLS failures),
 * ECONNREFUSED/EHOSTUNREACH/ENETUNREACH (also libcurl's own timeouts)/ECONNRESET/EIO (transport),
 * ECANCELED (registry_cancel_all, registry_session_abort_on), ELOOP (more than 5 redirects),
 * EINVAL (reference neither a tag nor a sha256 digest; nothing is sent).  Messages are one line
 * and name the repository and endpoint; URLs in them are shown without their query string.
 */
int registry_get_manifest(struct registry_session *s, const char *reference, char **body, size_t *len,
			  char content_type[128], char digest[DIGEST_BUF], struct lc_err *err);

/*
 * GET /v2/<repo>/blobs/<digest> streamed into the content store, verified against digest and
 * size (size < 0: unknown).  Already in the store: returns 0 without a request.  Errors as for
 * manifests; a body that does not match the digest or the size (the transfer stops at the first
 * byte past it) fails with EBADMSG.  On any failure nothing is left behind (the writer is
 * aborted: no blob, no temp file).
 */
int registry_get_blob(struct registry_session *s, const struct content *c, const char *digest,
		      int64_t size, struct lc_err *err);

/*
 * Make every transfer in progress, and every one started later, fail at once with errnum
 * ECANCELED (the daemon is shutting down and will not wait for slow pulls).  Irreversible.
 */
void registry_cancel_all(void);

/*
 * Make every transfer of s (and of the sessions cloned from it afterwards) fail with errnum
 * ECANCELED once *flag is non-zero — at once if it is set before a request, else within about a
 * second (libcurl's progress callback) — e.g. when no caller waits for the pull any more.  flag
 * must outlive s and its clones; NULL: none.  Not to be called while s is in use.
 */
void registry_session_abort_on(struct registry_session *s, const atomic_int *flag);

/*
 * Decode docker's "auth" (base64 of "user:password", as a CRI AuthConfig carries it) into *user
 * and *pass (malloc'ed; the caller frees them).  -1 with err (EINVAL) when it is not base64 or
 * has no ':', leaving *user and *pass untouched.  Exposed for the fuzzer.
 */
int registry_decode_auth(const char *auth, char **user, char **pass, struct lc_err *err);

/* One challenge of a 401 response's WWW-Authenticate header, as authentication uses it. */
struct registry_challenge {
	int present;         /* the header has a challenge of this scheme */
	char realm[2048];    /* its parameters ("" when absent), NUL-terminated */
	char service[512];
	char scope[1024];
	int overflow;        /* one of them was longer than its field: it was left out */
};

/*
 * Parse the WWW-Authenticate values h (NUL-terminated, several joined by ", ":
 * "Bearer realm=\"..\",service=\"..\", Basic realm=\"..\"") into the first Bearer and the first
 * Basic challenge (both zeroed first).  Scheme and parameter names are case-insensitive, values
 * are tokens or quoted strings with backslash escapes; unknown parameters and schemes are
 * skipped.  Never fails: any bytes give some (possibly empty) result.  Exposed for the fuzzer.
 */
void registry_parse_challenges(const char *h, struct registry_challenge *bearer, struct registry_challenge *basic);

/* Global libcurl setup; call once at startup before any thread uses a session. */
int registry_global_init(struct lc_err *err);
void registry_global_cleanup(void);

#endif
