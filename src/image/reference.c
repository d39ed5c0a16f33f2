/*
 * reference.c — parsing and normalizing image references (see reference.h).
 *
 * The grammar is docker/distribution's:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host [ ":" port ]     host := domain-name | "[" IPv6 "]"
 *   domain-name      := domain-component [ "." domain-component ]*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * and the normalization is docker's ParseNormalizedNamed: a name whose first component is not a
 * domain lives on docker.io, a single-component docker.io name under library/, index.docker.io
 * is docker.io, and the normalized "domain/path" may not exceed 255 characters.
 */
#include "image/reference.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/id.h"

#define NAME_TOTAL_MAX 255
#define TAG_MAX 128
#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static int is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alnum(char c) { return isascii((unsigned char)c) && isalnum((unsigned char)c); }

/* 1 if s[0..n) is one domain-component: alphanumerics and inner '-'. */
static int domain_component_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* 1 if s (NUL-terminated) is a valid domain: a host name or bracketed IPv6, then an optional port. */
static int domain_ok(const char *s)
{
	const char *port = NULL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close == s + 1)
			return 0;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return 0;
	} else {
		const char *colon = strchr(s, ':');
		size_t hostlen = colon ? (size_t)(colon - s) : strlen(s);
		size_t start = 0;
		for (size_t i = 0; i <= hostlen; i++) {
			if (i == hostlen || s[i] == '.') {
				if (!domain_component_ok(s + start, i - start))
					return 0;
				start = i + 1;
			}
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		if (*port == '\0')
			return 0;
		for (const char *p = port; *p; p++)
			if (*p < '0' || *p > '9')
				return 0;
	}
	return 1;
}

/*
 * Check a repository path ("library/busybox"): '/'-separated path-components.  On failure
 * returns a short reason (static string); NULL when valid.
 */
static const char *path_problem(const char *s)
{
	if (*s == '\0')
		return "empty repository name";
	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return "repository name must be lowercase";
	const char *p = s;
	for (;;) {
		/* One path-component: alnum+ (separator alnum+)*. */
		if (!is_lower_alnum(*p))
			return "invalid repository name component";
		while (is_lower_alnum(*p))
			p++;
		while (*p == '.' || *p == '_' || *p == '-') {
			if (*p == '.') {
				p++;
			} else if (*p == '_') {
				p += (p[1] == '_') ? 2 : 1;
			} else {
				while (*p == '-')
					p++;
			}
			if (!is_lower_alnum(*p))
				return "invalid repository name component";
			while (is_lower_alnum(*p))
				p++;
		}
		if (*p == '\0')
			return NULL;
		if (*p != '/')
			return "invalid character in repository name";
		p++;
	}
}

/* 1 if s is a valid tag. */
static int tag_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TAG_MAX)
		return 0;
	if (!is_alnum(s[0]) && s[0] != '_')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * Parse s into r.  Works on a private copy: splits off "@digest", then ":tag" (a ':' after the
 * last '/'), then the domain (first component, if it looks like one), then validates each part.
 */
static int parse(const char *s, struct image_ref *r, struct lc_err *err)
{
	assert(r);
	memset(r, 0, sizeof *r);
	if (!s || *s == '\0')
		return lc_fail(err, EINVAL, "invalid image reference '': empty");

	char buf[NAME_TOTAL_MAX + 1 + TAG_MAX + 1 + DIGEST_LEN + 1];
	size_t slen = strlen(s);
	if (slen >= sizeof buf)
		return lc_fail(err, EINVAL, "invalid image reference '%s': too long (%zu characters)", LC_Q(s),
			       slen);
	memcpy(buf, s, slen + 1);

	if (id_is_hex(buf, DIGEST_HEX_LEN, DIGEST_HEX_LEN))
		return lc_fail(err, EINVAL,
			       "invalid image reference '%s': a 64-digit hexadecimal string is an image ID, "
			       "not a repository name",
			       s);

	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (!digest_valid(at + 1))
			return lc_fail(err, EINVAL,
				       "invalid image reference '%s': digest '%s' is not sha256:<64 hex digits>", s,
				       at + 1);
		memcpy(r->digest, at + 1, DIGEST_BUF);
	}

	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return lc_fail(err, EINVAL,
				       "invalid image reference '%s': invalid tag '%s' (allowed: "
				       "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})",
				       s, colon + 1);
		memcpy(r->tag, colon + 1, strlen(colon + 1) + 1);
	}

	/* buf is now the name. */
	const char *domain = DEFAULT_DOMAIN;
	const char *path = buf;
	char *first = strchr(buf, '/');
	if (first) {
		*first = '\0';
		if (strpbrk(buf, ".:") || strcmp(buf, "localhost") == 0) {
			domain = buf;
			path = first + 1;
			if (!domain_ok(domain))
				return lc_fail(err, EINVAL,
					       "invalid image reference '%s': invalid registry domain '%s'", s,
					       domain);
		} else {
			*first = '/';
		}
	}
	if (strcmp(domain, LEGACY_DOMAIN) == 0)
		domain = DEFAULT_DOMAIN;

	const char *problem = path_problem(path);
	if (problem)
		return lc_fail(err, EINVAL, "invalid image reference '%s': %s", s, problem);

	int official = strcmp(domain, DEFAULT_DOMAIN) == 0 && !strchr(path, '/');
	size_t total = strlen(domain) + 1 + (official ? strlen(OFFICIAL_PREFIX) : 0) + strlen(path);
	if (total > NAME_TOTAL_MAX)
		return lc_fail(err, EINVAL,
			       "invalid image reference '%s': repository name longer than %d characters", LC_Q(s),
			       NAME_TOTAL_MAX);
	/* total <= 255 bounds both parts: they fit r->domain and r->path. */
	size_t dlen = strlen(domain), plen = strlen(path);
	assert(dlen < sizeof r->domain && total < sizeof r->path);
	memcpy(r->domain, domain, dlen + 1);
	if (official)
		memcpy(r->path, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX));
	memcpy(r->path + (official ? strlen(OFFICIAL_PREFIX) : 0), path, plen + 1);

	if (r->tag[0] == '\0' && r->digest[0] == '\0')
		memcpy(r->tag, "latest", sizeof "latest");
	return 0;
}

/* See reference.h.  The message quotes s with control characters made '?' (one log line). */
int image_ref_parse(const char *s, struct image_ref *r, struct lc_err *err)
{
	if (parse(s, r, err) == 0)
		return 0;
	memset(r, 0, sizeof *r);
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

/* snprintf into out; 0, or -1 when it does not fit. */
static int put(char *out, size_t n, int len)
{
	if (len < 0 || (size_t)len >= n) {
		if (n > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* "domain/path". */
int image_ref_name(const struct image_ref *r, char *out, size_t n)
{
	return put(out, n, snprintf(out, n, "%s/%s", r->domain, r->path));
}

/* "domain/path:tag", or "" when there is no tag. */
int image_ref_tagged(const struct image_ref *r, char *out, size_t n)
{
	if (r->tag[0] == '\0') {
		if (n == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	return put(out, n, snprintf(out, n, "%s/%s:%s", r->domain, r->path, r->tag));
}

/* "domain/path@digest". */
int image_ref_digested(const struct image_ref *r, const char *digest, char *out, size_t n)
{
	assert(digest);
	return put(out, n, snprintf(out, n, "%s/%s@%s", r->domain, r->path, digest));
}

/* The full normalized form, tag and digest both when both are present. */
int image_ref_string(const struct image_ref *r, char *out, size_t n)
{
	return put(out, n,
		   snprintf(out, n, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
			    r->digest[0] ? "@" : "", r->digest));
}

/* "sha256:<64 hex>" or the bare 64 hex (lowercase): an image ID. */
int image_ref_is_id(const char *s, char id[DIGEST_BUF])
{
	if (!s)
		return 0;
	if (digest_valid(s)) {
		memcpy(id, s, DIGEST_BUF);
		return 1;
	}
	if (id_is_hex(s, DIGEST_HEX_LEN, DIGEST_HEX_LEN)) {
		memcpy(id, DIGEST_PREFIX, 7);
		memcpy(id + 7, s, DIGEST_HEX_LEN + 1);
		return 1;
	}
	return 0;
}
