/* host.c — see host.h. */
#include "runtime/host.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"

static int read_long(const char *path, long *out, struct lc_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return lc_fail(err, errno, "open %s", path);
	if (fscanf(f, "%ld", out) != 1)
		return lc_fail(err, EINVAL, "%s does not hold a number", path);
	return 0;
}

int host_cap_last_cap(void)
{
	long last;
	struct lc_err ignored;
	if (read_long("/proc/sys/kernel/cap_last_cap", &last, &ignored) < 0 || last < 0 || last > INT_MAX)
		return -1;
	return (int)last;
}

int host_oom_score_adj(long *adj, struct lc_err *err)
{
	return read_long("/proc/self/oom_score_adj", adj, err);
}

int host_sysctl_writable(const char *dotted, struct lc_err *err)
{
	char file[PATH_MAX];
	if (snprintf(file, sizeof file, "/proc/sys/%s", dotted) >= (int)sizeof file)
		return lc_failc(err, EINVAL, "sysctl name %.64s... is too long", dotted);
	for (char *c = file + 10; *c; c++) /* components become directories; a '/' inside one is a '.' */
		*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
	struct stat st;
	int missing = stat(file, &st) < 0;
	if (missing || !S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR))
		return lc_failc(err, EINVAL, "%s %s", file, missing ? "does not exist" : "is not a writable file");
	return 0;
}

long host_list_max(const char *path)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	char buf[256];
	if (!f || !fgets(buf, sizeof buf, f))
		return -1;
	long max = -1;
	for (char *p = buf; *p;) {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		long v = strtol(p, &p, 10);
		if (v > max)
			max = v;
	}
	return max;
}

void host_boot_id(const char *path, char *out, size_t n)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f || !fgets(out, (int)n, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

int host_apparmor_enabled(void)
{
	char c = 0;
	cleanup_fclose FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
	return f && fread(&c, 1, 1, f) == 1 && c == 'Y';
}
