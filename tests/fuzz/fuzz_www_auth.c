/*
 * fuzz_www_auth.c — the WWW-Authenticate challenge parser of the registry client
 * (registry_parse_challenges in src/image/registry.c): the header comes from any registry an
 * image is pulled from, or from anything between.
 *
 * Invariants: never overruns; every parameter is NUL-terminated inside its field; a challenge not
 * present has no parameters.
 */
#include "fuzz.h"

#include "image/registry.h"

static void check(const struct registry_challenge *c)
{
	FUZZ_CHECK(memchr(c->realm, '\0', sizeof c->realm) && memchr(c->service, '\0', sizeof c->service) &&
		   memchr(c->scope, '\0', sizeof c->scope));
	if (!c->present)
		FUZZ_CHECK(!c->realm[0] && !c->service[0] && !c->scope[0] && !c->overflow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fuzz_cstr(data, size);
	struct registry_challenge bearer, basic;
	memset(&bearer, 0xa5, sizeof bearer); /* the parser must set every byte it leaves meaning in */
	memset(&basic, 0xa5, sizeof basic);
	registry_parse_challenges(h, &bearer, &basic);
	check(&bearer);
	check(&basic);
	free(h);
	return 0;
}
