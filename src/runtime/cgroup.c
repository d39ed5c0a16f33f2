/* cgroup.c — see cgroup.h. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

int cgroup2_unified(void)
{
	struct statfs sf;
	return statfs(CGROUP_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_swap_accounting(void)
{
	if (!cgroup2_unified())
		return access(CGROUP_ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
	char v1[PATH_MAX], v2[PATH_MAX], file[PATH_MAX + 32];
	struct lc_err err;
	if (cgroup_proc_dirs(getpid(), "memory", v1, v2, &err) < 0 || !v2[0])
		return 0;
	snprintf(file, sizeof file, "%s/memory.swap.max", v2);
	return access(file, F_OK) == 0;
}

int cgroup_dir(const char *path, const char *ctrl, char *out, size_t n)
{
	if (path[0] != '/' || strstr(path, ".."))
		return -1;
	int r = cgroup2_unified() ? snprintf(out, n, CGROUP_ROOT "%s", path)
				  : snprintf(out, n, CGROUP_ROOT "/%s%s", ctrl, path);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* 1 if the comma-separated list `ctrls` names ctrl. */
static int names(const char *ctrls, const char *ctrl)
{
	size_t n = strlen(ctrl);
	for (const char *p = ctrls;; p++) {
		if (!strncmp(p, ctrl, n) && (p[n] == ',' || p[n] == '\0'))
			return 1;
		if (!(p = strchr(p, ',')))
			return 0;
	}
}

int cgroup_proc_dirs(pid_t pid, const char *ctrl, char v1[PATH_MAX], char v2[PATH_MAX], struct lc_err *err)
{
	char path[64];
	v1[0] = v2[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return lc_fail(err, errno, "read %s", path);
	const char *v2_root = access(CGROUP_ROOT "/unified", F_OK) == 0 ? CGROUP_ROOT "/unified" : CGROUP_ROOT;
	/* "<hierarchy ID>:<controllers>:<path>"; cgroup v2's line is "0::<path>" */
	char line[PATH_MAX + 64];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (*ctrls && names(ctrls, ctrl))
			snprintf(v1, PATH_MAX, CGROUP_ROOT "/%s%s", ctrl, cg);
		else if (!strcmp(line, "0") && !*ctrls)
			snprintf(v2, PATH_MAX, "%s%s", v2_root, cg);
	}
	return 0;
}

/* The "oom_kill N" counter of memory.oom_control (v1) or memory.events (v2); -1 if unreadable. */
static long oom_kill_line(const char *file)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	char line[128];
	long n;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %ld", &n) == 1)
			return n;
	return -1;
}

long cgroup_oom_kills(const char *path)
{
	char dir[PATH_MAX], file[PATH_MAX + 32];
	if (cgroup_dir(path, "memory", dir, sizeof dir) < 0)
		return -1;
	snprintf(file, sizeof file, "%s/%s", dir, cgroup2_unified() ? "memory.events" : "memory.oom_control");
	return oom_kill_line(file);
}

int cgroup_hugetlb_set(const char *v1, const char *v2, const char *page_size, long long limit,
		       struct lc_err *err)
{
	char file[PATH_MAX + 64] = "";
	if (v1[0])
		snprintf(file, sizeof file, "%s/hugetlb.%s.limit_in_bytes", v1, page_size);
	if ((!file[0] || access(file, W_OK) != 0) && v2[0])
		snprintf(file, sizeof file, "%s/hugetlb.%s.max", v2, page_size);
	if (!file[0] || access(file, W_OK) != 0)
		return 1;
	char val[32];
	int n = snprintf(val, sizeof val, "%lld", limit);
	cleanup_close int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)n) != n)
		return lc_fail(err, errno, "write %s to %s", val, file);
	return 0;
}
