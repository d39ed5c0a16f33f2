/*
 * fuzz_image_config.c — image configs (image_config_parse and image_user_split in
 * src/image/manifest.c; spec_stop_signal in src/cri/spec/process.c): the JSON an image brings, read
 * at pull time and again for every container made from it.
 *
 * Invariants: diff_ids are well-formed digests, strings are NUL-terminated inside their fields, a
 * split user is a uid or a name (not both), the stop signal is a valid signal number; no leak.
 */
#include "fuzz.h"

#include <signal.h>

#include "cri/spec/spec.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_cstr(data, size);
	struct image_config c;
	struct lc_err err = { 0 };
	if (image_config_parse(json, size, &c, &err) == 0) {
		for (size_t i = 0; i < c.n_diff_ids; i++)
			FUZZ_CHECK(!strncmp(c.diff_ids[i], "sha256:", 7) && strlen(c.diff_ids[i]) == 71);
		FUZZ_CHECK(memchr(c.user, '\0', sizeof c.user) && memchr(c.os, '\0', sizeof c.os) &&
			   memchr(c.arch, '\0', sizeof c.arch) && memchr(c.stop_signal, '\0', sizeof c.stop_signal));
		int64_t uid;
		char name[256];
		image_user_split(c.user, &uid, name, sizeof name);
		FUZZ_CHECK(memchr(name, '\0', sizeof name));
		FUZZ_CHECK(uid < 0 || name[0] == '\0');
		image_config_free(&c);
	} else {
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	int sig = spec_stop_signal(json);
	FUZZ_CHECK(sig > 0 && sig < NSIG);
	free(json);
	return 0;
}
