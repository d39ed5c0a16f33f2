/* cgroup.c — see cgroup.h. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"

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

/* --- stats --------------------------------------------------------------------------------- */

/* A memory limit of cgroup v1 above this is "none": the kernel's unlimited value, rounded down to
 * pages (9223372036854771712 on 4 KiB pages), as containerd tells them. */
#define V1_UNLIMITED (UINT64_C(1) << 62)

/* memory.stat / cpu.stat are a few dozen "key value" lines; 4 KiB holds them (more is cut). */
#define STAT_BUF 4096

/* The directory of cgroupsPath path for controller ctrl under root (ctrl NULL: v2, no controller). */
static int stats_dir(const char *root, const char *ctrl, const char *path, char *out, size_t n)
{
	if (path[0] != '/' || strstr(path, ".."))
		return -1;
	int r = ctrl ? snprintf(out, n, "%s/%s%s", root, ctrl, path) : snprintf(out, n, "%s%s", root, path);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* One unsigned number of the file dir/name: 0, or -1 (missing, empty, not a number). "max" reads
 * as 0 when max_is_zero. */
static int read_u64(const char *dir, const char *name, int max_is_zero, uint64_t *v)
{
	char buf[64], *end;
	if (read_small(dir, name, buf, sizeof buf) <= 0)
		return -1;
	if (max_is_zero && !strncmp(buf, "max", 3)) {
		*v = 0;
		return 0;
	}
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	*v = x;
	return 0;
}

/* The value of "key N" in a flat-keyed file's text (memory.stat, cpu.stat, cpuacct.stat); 0 when
 * the key is not there. */
static uint64_t stat_key(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	return 0;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* The number of lines of dir/cgroup.procs (its processes); -1 when unreadable. */
static int count_procs(const char *dir, uint64_t *n)
{
	char path[PATH_MAX + 16];
	if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path)
		return -1;
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[32];
	*n = 0;
	while (fgets(line, sizeof line, f))
		if (strchr(line, '\n'))
			(*n)++;
	return 0;
}

static int stats_v1(const char *root, const char *path, unsigned what, struct cg_stats *o)
{
	char dir[PATH_MAX], buf[STAT_BUF];
	if (what & CGS_CPU) {
		if (stats_dir(root, "cpuacct", path, dir, sizeof dir) < 0 ||
		    read_u64(dir, "cpuacct.usage", 0, &o->cpu_usage_ns) < 0)
			return -1;
		o->have_cpu = 1;
		if ((what & CGS_CPU_TIMES) && read_small(dir, "cpuacct.stat", buf, sizeof buf) > 0) {
			static long hz;
			if (!hz)
				hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
			o->cpu_user_ns = stat_key(buf, "user") * (1000000000 / (uint64_t)hz);
			o->cpu_system_ns = stat_key(buf, "system") * (1000000000 / (uint64_t)hz);
		}
	}
	if (what & CGS_MEMORY) {
		if (stats_dir(root, "memory", path, dir, sizeof dir) < 0 ||
		    read_u64(dir, "memory.usage_in_bytes", 0, &o->mem_usage) < 0 ||
		    read_small(dir, "memory.stat", buf, sizeof buf) <= 0) {
			if (!(what & CGS_CPU))
				return -1;
		} else {
			o->have_memory = 1;
			o->mem_working_set = sub0(o->mem_usage, stat_key(buf, "total_inactive_file"));
			o->mem_rss = stat_key(buf, "total_rss");
			o->mem_cache = stat_key(buf, "total_cache");
			o->mem_pgfault = stat_key(buf, "total_pgfault");
			o->mem_pgmajfault = stat_key(buf, "total_pgmajfault");
			uint64_t lim = 0, sw_lim;
			if (!(what & CGS_NO_LIMIT) && read_u64(dir, "memory.limit_in_bytes", 0, &lim) == 0 &&
			    lim < V1_UNLIMITED)
				o->mem_limit = lim;
			/* with swap accounting on, memory.stat has the swap lines (memory.memsw.usage_in_bytes
			 * - memory.usage_in_bytes, without two more files to open); a memory+swap limit is
			 * at least the memory limit, so there is none without one */
			if (strstr(buf, "\ntotal_swap ")) {
				o->have_swap = 1;
				o->swap_usage = stat_key(buf, "total_swap");
				if (o->mem_limit && read_u64(dir, "memory.memsw.limit_in_bytes", 0, &sw_lim) == 0 &&
				    sw_lim < V1_UNLIMITED)
					o->swap_limit = sub0(sw_lim, o->mem_limit);
			}
		}
	}
	if (what & CGS_PIDS) {
		if (stats_dir(root, "pids", path, dir, sizeof dir) == 0 && read_u64(dir, "pids.current", 0, &o->pids) == 0)
			o->have_pids = 1;
		else if (stats_dir(root, "cpuacct", path, dir, sizeof dir) == 0 && count_procs(dir, &o->pids) == 0)
			o->have_pids = 1;
	}
	return 0;
}

static int stats_v2(const char *root, const char *path, unsigned what, struct cg_stats *o)
{
	char dir[PATH_MAX], buf[STAT_BUF];
	if (stats_dir(root, NULL, path, dir, sizeof dir) < 0)
		return -1;
	if (what & CGS_CPU) {
		if (read_small(dir, "cpu.stat", buf, sizeof buf) <= 0)
			return -1;
		o->have_cpu = 1;
		o->cpu_usage_ns = stat_key(buf, "usage_usec") * 1000;
		if (what & CGS_CPU_TIMES) {
			o->cpu_user_ns = stat_key(buf, "user_usec") * 1000;
			o->cpu_system_ns = stat_key(buf, "system_usec") * 1000;
		}
	}
	if (what & CGS_MEMORY) {
		if (read_u64(dir, "memory.current", 0, &o->mem_usage) < 0 || read_small(dir, "memory.stat", buf, sizeof buf) <= 0) {
			if (!(what & CGS_CPU))
				return -1;
		} else {
			o->have_memory = 1;
			o->mem_working_set = sub0(o->mem_usage, stat_key(buf, "inactive_file"));
			o->mem_rss = stat_key(buf, "anon");
			o->mem_cache = stat_key(buf, "file");
			o->mem_pgfault = stat_key(buf, "pgfault");
			o->mem_pgmajfault = stat_key(buf, "pgmajfault");
			if ((what & CGS_NO_LIMIT) || read_u64(dir, "memory.max", 1, &o->mem_limit) < 0)
				o->mem_limit = 0;
			if (read_u64(dir, "memory.swap.current", 0, &o->swap_usage) == 0) {
				o->have_swap = 1;
				if ((what & CGS_NO_LIMIT) || read_u64(dir, "memory.swap.max", 1, &o->swap_limit) < 0)
					o->swap_limit = 0;
			}
		}
	}
	if ((what & CGS_PIDS) && (read_u64(dir, "pids.current", 0, &o->pids) == 0 || count_procs(dir, &o->pids) == 0))
		o->have_pids = 1;
	return 0;
}

int cgroup_stats_at(const char *root, int unified, const char *path, unsigned what, struct cg_stats *out)
{
	memset(out, 0, sizeof *out);
	int r = unified ? stats_v2(root, path, what, out) : stats_v1(root, path, what, out);
	if (r < 0)
		memset(out, 0, sizeof *out);
	return r;
}

int cgroup_stats(const char *path, unsigned what, struct cg_stats *out)
{
	/* the host's layout, probed once: it does not change while the daemon runs */
	static _Atomic int unified = -1; /* callers run on several threads at once (stats lists) */
	int u = unified;
	if (u < 0)
		unified = u = cgroup2_unified();
	return cgroup_stats_at(CGROUP_ROOT, u, path, what, out);
}
