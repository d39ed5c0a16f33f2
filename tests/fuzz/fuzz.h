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
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/tmpdir.h"

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
 * A fresh directory for a target's files, under /dev/shm when it is there (a tmpfs: writing a
 * file per input costs far less than on disk), else /tmp; buf holds at least 64 bytes.  It is
 * removed when the process ends, however it ends (a crash too): a helper process waits for the
 * end of a pipe only this process holds, then removes the directory — from the mount namespace
 * the target started in (fuzz_unpack leaves it).  Exits naming the failure.
 */
static inline void fuzz_tmpdir(char *buf, size_t cap, const char *tag)
{
	const char *parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(buf, cap, "%s/litecri-fuzz-%s-XXXXXX", parent, tag) >= cap || !mkdtemp(buf)) {
		fprintf(stderr, "fuzz: cannot make a directory for %s in %s: %s\n", tag, parent, strerror(errno));
		exit(1);
	}
	int p[2];
	pid_t pid = pipe2(p, O_CLOEXEC) < 0 ? -1 : fork();
	if (pid < 0) {
		fprintf(stderr, "fuzz: cannot start the remover of %s: %s\n", buf, strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(tmpdir_remove(buf) < 0);
	}
	close(p[0]); /* p[1] stays open, unused, until this process ends */
}

#endif
