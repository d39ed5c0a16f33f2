/*
 * cgroup.h — the cgroup filesystem as litecri reads and writes it itself: the one home of cgroup
 * code outside the OCI runtime (which creates, configures, freezes and deletes the containers'
 * cgroups; nothing here creates, moves or deletes one).
 *
 * Host layouts, told apart as runc tells them (cgroup2_unified):
 *   v1       one hierarchy per controller at /sys/fs/cgroup/<controller> (a co-mounted pair such
 *            as cpu,cpuacct is reachable by each name);
 *   hybrid   v1 as above, plus a cgroup2 hierarchy at /sys/fs/cgroup/unified, which holds the
 *            controllers no v1 hierarchy has (on some hosts hugetlb);
 *   unified  cgroup v2 alone at /sys/fs/cgroup.
 *
 * A container's cgroup is named one of two ways:
 *   - by its cgroupsPath, as litecri writes it into the OCI spec (cgroupfs driver: an absolute
 *     path "/<parent>/<id>" relative to each hierarchy's root): cgroup_dir resolves it for a
 *     controller;
 *   - by a process in it (/proc/<pid>/cgroup): cgroup_proc_dirs.
 * A reader takes a cgroupsPath or a resolved directory, reads one file, and fails softly (-1 or
 * 0, never an error object) when the file is not there: a cgroup already deleted, or a
 * controller the host lacks.  The stats readers (cgroup_stats) are of that shape too.
 */
#ifndef LITECRI_RUNTIME_CGROUP_H
#define LITECRI_RUNTIME_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/*
 * 1 when the host runs cgroup v2 alone (a cgroup2 filesystem at /sys/fs/cgroup, as runc decides
 * it), 0 for cgroup v1 or hybrid.
 */
int cgroup2_unified(void);

/*
 * 1 when the memory controller accounts swap, so that a container's memory+swap limit can be
 * set: cgroup v1 has memory.memsw.limit_in_bytes; cgroup v2 has memory.swap.max (looked for in
 * the daemon's own cgroup: the root cgroup has no such file).  0 otherwise.
 */
int cgroup_swap_accounting(void);

/*
 * The directory of cgroupsPath `path` (absolute, without "..") in the hierarchy of controller
 * `ctrl` ("memory", "hugetlb", ...): "/sys/fs/cgroup/<ctrl><path>" on a v1 or hybrid host,
 * "/sys/fs/cgroup<path>" on a unified one.  -1 when path is not such a path or does not fit.
 */
int cgroup_dir(const char *path, const char *ctrl, char *out, size_t n);

/*
 * Where process pid's cgroup is for controller ctrl, from /proc/<pid>/cgroup: v1 its directory
 * in the v1 hierarchy that has ctrl ("" when none has it), v2 its directory in the cgroup2
 * hierarchy (/sys/fs/cgroup/unified/... on a hybrid host, /sys/fs/cgroup/... on a unified one;
 * "" when pid is in none).  Which one holds ctrl's files depends on the host: look in v1 first.
 * -1 with errno's class when /proc/<pid>/cgroup cannot be read (ENOENT: no such process).
 */
int cgroup_proc_dirs(pid_t pid, const char *ctrl, char v1[PATH_MAX], char v2[PATH_MAX], struct lc_err *err);

/*
 * The number of processes the OOM killer killed in cgroupsPath `path` (its memory controller's
 * "oom_kill" counter: memory.oom_control on cgroup v1, memory.events on v2): >= 0, or -1 when
 * the cgroup or the counter is not there (deleted already, or a kernel without the counter).
 */
long cgroup_oom_kills(const char *path);

/*
 * Set the hugetlb limit of page size `page_size` ("2MB") to `limit` bytes in the cgroup whose
 * directories cgroup_proc_dirs(pid, "hugetlb") found: the v1 file hugetlb.<size>.limit_in_bytes
 * when it is there and writable, else the v2 file hugetlb.<size>.max.  0 written; 1 neither file
 * is there (the host has no hugetlb controller for the cgroup, or not that page size): nothing
 * written; -1 the write failed.
 */
int cgroup_hugetlb_set(const char *v1, const char *v2, const char *page_size, long long limit,
		       struct lc_err *err);

/* What cgroup_stats reads (an OR of them). */
enum {
	CGS_CPU = 1,
	CGS_CPU_TIMES = 2, /* user and system too */
	CGS_MEMORY = 4,
	CGS_PIDS = 8,
	CGS_NO_LIMIT = 16, /* with CGS_MEMORY: the caller set no memory limit on this cgroup, so its limit
			    * files are not read (mem_limit, swap_limit 0): one file in four of a container */
};

/*
 * A cgroup's usage, as kubelet's summary API wants it (CRI ContainerStats, PodSandboxStats).
 * Counters are cumulative since the cgroup was made (hierarchical: a cgroup's own processes and
 * those of every cgroup below it).  A have_* flag is 0 when that part was not asked for or its
 * file was not there.
 */
struct cg_stats {
	int have_cpu;
	uint64_t cpu_usage_ns;   /* v1 cpuacct.usage; v2 cpu.stat usage_usec * 1000 */
	uint64_t cpu_user_ns;    /* CGS_CPU_TIMES: v1 cpuacct.stat user (USER_HZ ticks, as ns); v2 user_usec * 1000 */
	uint64_t cpu_system_ns;  /* ... system */

	int have_memory;
	uint64_t mem_usage;      /* v1 memory.usage_in_bytes; v2 memory.current */
	uint64_t mem_working_set;/* mem_usage - inactive file pages (v1 total_inactive_file, v2
	                          * inactive_file), floored at 0: what kubelet/cAdvisor call working set */
	uint64_t mem_rss;        /* v1 total_rss; v2 anon */
	uint64_t mem_cache;      /* v1 total_cache; v2 file */
	uint64_t mem_pgfault, mem_pgmajfault; /* v1 total_pgfault / total_pgmajfault; v2 pgfault / pgmajfault */
	uint64_t mem_limit;      /* v1 memory.limit_in_bytes; v2 memory.max; 0: none (unlimited) */

	int have_swap;           /* v1: swap accounting on (memory.stat has total_swap); v2: memory.swap.current */
	uint64_t swap_usage;     /* v1 total_swap (= memsw usage - memory usage); v2 memory.swap.current */
	uint64_t swap_limit;     /* v1 memory.memsw.limit_in_bytes - memory limit; v2 memory.swap.max; 0: none */

	int have_pids;
	uint64_t pids;           /* pids.current (tasks), else the lines of cgroup.procs */
};

/*
 * Read what `what` (CGS_*) asks for of the cgroup named by cgroupsPath `path` (cgroup_dir's
 * rules) on this host: cgroup_stats_at("/sys/fs/cgroup", cgroup2_unified(), ...).  0 read (each
 * part whose files are there: its have_* set); -1 the cgroup is not there or path is no cgroupsPath
 * (deleted meanwhile: not an error, the caller skips it).  Never an error object: a file missing
 * is a part not had.
 */
int cgroup_stats(const char *path, unsigned what, struct cg_stats *out);

/*
 * cgroup_stats below `root` instead of /sys/fs/cgroup, with the layout given (unified = 1: cgroup
 * v2 files in <root><path>; 0: v1 files in <root>/<controller><path>, the controller cpuacct,
 * memory or pids): what the unit tests run against a fixture tree.  The cgroup is "not there"
 * when the CPU part (v1 cpuacct.usage, v2 cpu.stat), or the memory part when CPU is not asked
 * for, cannot be read.
 */
int cgroup_stats_at(const char *root, int unified, const char *path, unsigned what, struct cg_stats *out);

#endif
