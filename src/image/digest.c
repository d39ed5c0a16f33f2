/* digest.c — see digest.h. */
#include "image/digest.h"

#include <assert.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/id.h"

struct digester {
	EVP_MD_CTX *ctx;
};

int digest_valid(const char *s)
{
	return s && !strncmp(s, DIGEST_PREFIX, 7) && id_is_hex(s + 7, DIGEST_HEX_LEN, DIGEST_HEX_LEN);
}

int digest_check(const char *s, const char *what, struct lc_err *err)
{
	if (digest_valid(s))
		return 0;
	return lc_fail(err, EINVAL, "%s '%s' is not a sha256 digest (sha256:<64 hex digits>)", what, LC_Q(s));
}

struct digester *digester_new(void)
{
	struct digester *d = malloc(sizeof *d);
	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(d->ctx);
		free(d);
		return NULL;
	}
	return d;
}

void digester_update(struct digester *d, const void *buf, size_t len)
{
	/* EVP_DigestUpdate on an initialised SHA-256 context cannot fail short of memory corruption. */
	int ok = EVP_DigestUpdate(d->ctx, buf, len);
	assert(ok == 1);
	(void)ok;
}

void digester_final(struct digester *d, char out[DIGEST_BUF])
{
	unsigned char md[32];
	unsigned int n = 0;
	int ok = EVP_DigestFinal_ex(d->ctx, md, &n);
	assert(ok == 1 && n == 32);
	(void)ok;
	memcpy(out, DIGEST_PREFIX, 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	assert(digest_valid(out));
}

void digester_free(struct digester *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void digest_buffer(const void *buf, size_t len, char out[DIGEST_BUF])
{
	unsigned char md[32];
	unsigned int n = 0;
	int ok = EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
	assert(ok == 1 && n == 32);
	(void)ok;
	memcpy(out, DIGEST_PREFIX, 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void digest_chain(const char *parent_chain, const char *diff_id, char out[DIGEST_BUF])
{
	assert(digest_valid(diff_id));
	if (!parent_chain) {
		memcpy(out, diff_id, DIGEST_BUF);
		return;
	}
	assert(digest_valid(parent_chain));
	char buf[2 * DIGEST_BUF];
	int n = snprintf(buf, sizeof buf, "%s %s", parent_chain, diff_id);
	assert(n == 2 * DIGEST_LEN + 1);
	digest_buffer(buf, (size_t)n, out);
}
