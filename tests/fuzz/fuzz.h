/*
 * fuzz.h — what the libFuzzer targets of tests/fuzz share.
 *
 * Each target is one fuzz_<name>.c defining LLVMFuzzerTestOneInput (and, when it needs setup,
 * LLVMFuzzerInitialize); libFuzzer's main drives it.  A bug is a crash: a sanitizer report, a
 * leak, or FUZZ_CHECK failing on an invariant the target states.
 */
#ifndef LITECRI_TESTS_FUZZ_H
#define LITECRI_TESTS_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: abort (a crash libFuzzer records) naming it when false. */
#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* data[0..size) as a malloc'ed NUL-terminated string (embedded NULs kept: C code sees a prefix). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A fresh directory for a target's files (removed with tmpdir_remove): under /dev/shm when it is
 * there (a tmpfs: writing a file per input costs far less than on disk), else /tmp.  buf holds
 * at least 64 bytes.  Exits naming the failure.
 */
static inline void fuzz_tmpdir(char *buf, size_t cap, const char *tag)
{
	const char *parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(buf, cap, "%s/litecri-fuzz-%s-XXXXXX", parent, tag) >= cap || !mkdtemp(buf)) {
		fprintf(stderr, "fuzz: cannot make a directory for %s in %s: %s\n", tag, parent, strerror(errno));
		exit(1);
	}
}

#endif
