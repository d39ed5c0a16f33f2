/*
 * tmpdir.h — temporary directories for tests: made fresh under /tmp, removed recursively; the
 * per-test fixture that owns one; counting what is in a directory.
 */
#ifndef LITECRI_TESTS_TMPDIR_H
#define LITECRI_TESTS_TMPDIR_H

#include <stddef.h>
#include <sys/types.h>

/* The size of a fixture's `dir` member (and the least cap tmpdir_make accepts for a tag of a few
 * characters). */
#define TMPDIR_DIR_SIZE 64

/* mkdtemp("/tmp/litecri-test-<tag>-XXXXXX") into buf (cap >= 64).  0 or -1 (errno set). */
int tmpdir_make(char *buf, size_t cap, const char *tag);

/* Remove dir and everything below it (not following links).  0, or -1 naming what failed on stderr. */
int tmpdir_remove(const char *dir);

/* A zeroed block of `size` bytes (a test's fixture struct) whose first member must be
 * `char dir[TMPDIR_DIR_SIZE]` (check with TMPDIR_FIXTURE_CHECK), holding a fresh
 * tmpdir_make(dir, tag).  NULL, after a line on stderr naming what failed, if calloc or mkdtemp
 * fails (nothing is left behind).  Release with tmpdir_fixture_free. */
void *tmpdir_fixture(size_t size, const char *tag);

/* Remove fx's dir (tmpdir_remove) and free fx.  fx may be NULL (0).  0, or -1 as tmpdir_remove;
 * fx is freed either way. */
int tmpdir_fixture_free(void *fx);

/* Compile-time check that `type` starts with char dir[TMPDIR_DIR_SIZE], as tmpdir_fixture needs. */
#define TMPDIR_FIXTURE_CHECK(type)                                                                \
	_Static_assert(offsetof(type, dir) == 0 && sizeof(((type *)0)->dir) == TMPDIR_DIR_SIZE,   \
		       #type " must start with char dir[TMPDIR_DIR_SIZE]")

/* Write text to path as a new file of `mode` renamed into place (as runc and config writers do: a
 * reader sees the old file or the whole new one).  0, or -1 (errno set). */
int tmpdir_write(const char *path, const char *text, mode_t mode);

/* Entries of dir except . and .. (not recursive), or -1 (errno set) if it cannot be opened. */
int tmpdir_count(const char *dir);

#endif
