/*
 * fuzz_reference.c — image references (src/image/reference.c): the string a CRI request names an
 * image with (PullImage, ImageStatus, RemoveImage, CreateContainer).
 *
 * Invariants: parsing never overruns; a parsed reference formats (image_ref_string) and the
 * normalized form parses again to the same fields (normalization is idempotent); an image ID
 * (image_ref_is_id) is "sha256:" and 64 lowercase hex digits.
 */
#include "fuzz.h"

#include "image/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char id[DIGEST_BUF];
	if (image_ref_is_id(s, id))
		FUZZ_CHECK(strlen(id) == 71 && !strncmp(id, "sha256:", 7) &&
			   strspn(id + 7, "0123456789abcdef") == 64);
	struct image_ref r;
	struct lc_err err = { 0 };
	if (image_ref_parse(s, &r, &err) == 0) {
		char full[2048], name[1024], tagged[1024];
		FUZZ_CHECK(image_ref_string(&r, full, sizeof full) == 0);
		FUZZ_CHECK(image_ref_name(&r, name, sizeof name) == 0);
		FUZZ_CHECK(image_ref_tagged(&r, tagged, sizeof tagged) == 0);
		if (r.digest[0]) {
			char dg[2048];
			FUZZ_CHECK(image_ref_digested(&r, r.digest, dg, sizeof dg) == 0);
		}
		struct image_ref again;
		struct lc_err err2 = { 0 };
		if (image_ref_parse(full, &again, &err2) != 0) {
			fprintf(stderr, "\"%s\" normalized to \"%s\", which does not parse: %s\n", s, full, err2.msg);
			abort();
		}
		FUZZ_CHECK(!strcmp(r.domain, again.domain) && !strcmp(r.path, again.path) &&
			   !strcmp(r.tag, again.tag) && !strcmp(r.digest, again.digest));
	} else {
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	free(s);
	return 0;
}
