/* tmpdir.c — see tmpdir.h. */
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tmpdir_make(char *buf, size_t cap, const char *tag)
{
	int n = snprintf(buf, cap, "/tmp/litecri-test-%s-XXXXXX", tag);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(buf) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (remove(path) < 0) {
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int tmpdir_remove(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

void *tmpdir_fixture(size_t size, const char *tag)
{
	if (size < TMPDIR_DIR_SIZE) {
		fprintf(stderr, "tmpdir_fixture: size %zu has no room for dir\n", size);
		return NULL;
	}
	char *fx = calloc(1, size); /* its first member is char dir[TMPDIR_DIR_SIZE] */
	if (!fx) {
		fprintf(stderr, "calloc: %s\n", strerror(errno));
		return NULL;
	}
	if (tmpdir_make(fx, TMPDIR_DIR_SIZE, tag) < 0) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		free(fx);
		return NULL;
	}
	return fx;
}

int tmpdir_fixture_free(void *fx)
{
	if (!fx)
		return 0;
	int ret = tmpdir_remove(fx);
	free(fx);
	return ret;
}

int tmpdir_count(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int tmpdir_write(const char *path, const char *text, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int bad = fputs(text, f) < 0;
	if (fclose(f) != 0 || bad || chmod(tmp, mode) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
