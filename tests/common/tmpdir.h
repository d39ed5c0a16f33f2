/*
 * tmpdir.h — temporary directories for tests: made fresh under /tmp, removed recursively.
 */
#ifndef LITECRI_TESTS_TMPDIR_H
#define LITECRI_TESTS_TMPDIR_H

#include <stddef.h>

/* mkdtemp("/tmp/litecri-test-<tag>-XXXXXX") into buf (cap >= 64).  0 or -1 (errno set). */
int tmpdir_make(char *buf, size_t cap, const char *tag);

/* Remove dir and everything below it (not following links).  0, or -1 naming what failed on stderr. */
int tmpdir_remove(const char *dir);

#endif
