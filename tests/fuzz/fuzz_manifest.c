/*
 * fuzz_manifest.c — manifests and indexes (manifest_parse, manifest_select in
 * src/image/manifest.c): the documents a registry (or an image archive) hands to PullImage.
 *
 * Input: one byte choosing the transport's content type (none, "", or one of the media types),
 * then the body.  Invariants: a parsed manifest is an index with entries or an image manifest with
 * a config, digests are well formed ("sha256:" + 64 hex), sizes are not negative; selecting a
 * platform returns an entry of the index; nothing leaks.
 */
#include "fuzz.h"

#include "image/manifest.h"

static const char *const types[] = {
	NULL, "", MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_CONFIG, "text/plain",
};

static void check_descriptor(const struct descriptor *d)
{
	FUZZ_CHECK(d->size >= 0);
	FUZZ_CHECK(!strncmp(d->digest, "sha256:", 7) && strlen(d->digest) == 71 &&
		   strspn(d->digest + 7, "0123456789abcdef") == 64);
	FUZZ_CHECK(memchr(d->media_type, '\0', sizeof d->media_type) && memchr(d->os, '\0', sizeof d->os) &&
		   memchr(d->arch, '\0', sizeof d->arch) && memchr(d->variant, '\0', sizeof d->variant));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = types[data[0] % (sizeof types / sizeof types[0])];
	/* The registry client hands out bodies NUL-terminated (registry_get_manifest). */
	char *body = fuzz_cstr(data + 1, size - 1);
	struct manifest m;
	struct lc_err err = { 0 };
	if (manifest_parse(body, size - 1, ct, &m, &err) == 0) {
		if (m.is_index) {
			for (size_t i = 0; i < m.n_manifests; i++)
				check_descriptor(&m.manifests[i]);
			static const char *const plats[][2] = { { "amd64", "" }, { "arm64", "v8" }, { "arm", "v7" } };
			for (size_t p = 0; p < sizeof plats / sizeof plats[0]; p++) {
				const struct descriptor *d = NULL;
				struct lc_err e2 = { 0 };
				if (manifest_select(&m, plats[p][0], plats[p][1], &d, &e2) == 0)
					FUZZ_CHECK(d >= m.manifests && d < m.manifests + m.n_manifests);
				else
					FUZZ_CHECK(e2.msg[0] != '\0');
			}
		} else {
			check_descriptor(&m.config);
			for (size_t i = 0; i < m.n_layers; i++)
				check_descriptor(&m.layers[i]);
		}
		manifest_free(&m);
	} else {
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	free(body);
	return 0;
}
