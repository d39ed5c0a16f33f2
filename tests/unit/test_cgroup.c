/*
 * test_cgroup.c — the cgroup stats readers (runtime/cgroup.h cgroup_stats_at) against fixture
 * trees: a cgroup v2 directory and the v1 controller hierarchies (cpuacct, memory, pids) written
 * under a temporary root, with the values kubelet's summary API derives from them (working set,
 * limits, swap), and a cgroup that is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "runtime/cgroup.h"
#include "util/err.h"
#include "util/fsutil.h"

struct fixture {
	char dir[TMPDIR_DIR_SIZE];
};
TMPDIR_FIXTURE_CHECK(struct fixture);

static int setup(void **state)
{
	*state = tmpdir_fixture(sizeof(struct fixture), "cgroup");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return tmpdir_fixture_free(*state);
}

/* Write text to <root><sub>/<name>, making the directories. */
static void put(const char *root, const char *sub, const char *name, const char *text)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct lc_err err;
	assert_true(snprintf(dir, sizeof dir, "%s%s", root, sub) < (int)sizeof dir);
	assert_int_equal(mkdir_p(dir, 0755, &err), 0);
	assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
	assert_int_equal(tmpdir_write(path, text, 0644), 0);
}

#define CG "/kubepods/pod1/ctr"

static const char V2_MEMORY_STAT[] = "anon 52428800\n"
				     "file 20971520\n"
				     "kernel_stack 16384\n"
				     "anon_thp 0\n"
				     "active_file 4194304\n"
				     "inactive_file 16777216\n"
				     "pgfault 12345\n"
				     "pgmajfault 7\n";

static void test_v2(void **state)
{
	struct fixture *f = *state;
	put(f->dir, CG, "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n");
	put(f->dir, CG, "memory.current", "75497472\n");
	put(f->dir, CG, "memory.stat", V2_MEMORY_STAT);
	put(f->dir, CG, "memory.max", "134217728\n");
	put(f->dir, CG, "memory.swap.current", "4096\n");
	put(f->dir, CG, "memory.swap.max", "max\n");
	put(f->dir, CG, "pids.current", "3\n");
	struct cg_stats s;
	assert_int_equal(cgroup_stats_at(f->dir, 1, CG, CGS_CPU | CGS_CPU_TIMES | CGS_MEMORY | CGS_PIDS, &s), 0);
	assert_true(s.have_cpu && s.have_memory && s.have_swap && s.have_pids);
	assert_int_equal(s.cpu_usage_ns, 2500000000ULL);
	assert_int_equal(s.cpu_user_ns, 2000000000ULL);
	assert_int_equal(s.cpu_system_ns, 500000000ULL);
	assert_int_equal(s.mem_usage, 75497472);
	assert_int_equal(s.mem_working_set, 75497472 - 16777216); /* usage - inactive_file */
	assert_int_equal(s.mem_rss, 52428800);                     /* anon */
	assert_int_equal(s.mem_cache, 20971520);                   /* file */
	assert_int_equal(s.mem_pgfault, 12345);
	assert_int_equal(s.mem_pgmajfault, 7);
	assert_int_equal(s.mem_limit, 134217728);
	assert_int_equal(s.swap_usage, 4096);
	assert_int_equal(s.swap_limit, 0); /* "max": none */
	assert_int_equal(s.pids, 3);
	/* CGS_NO_LIMIT: the limit files are not read, the rest is */
	assert_int_equal(cgroup_stats_at(f->dir, 1, CG, CGS_MEMORY | CGS_NO_LIMIT, &s), 0);
	assert_int_equal(s.mem_limit, 0);
	assert_int_equal(s.mem_pgmajfault, 7);

	/* no limit, no swap accounting, more inactive file than usage (floor 0), pids counted from
	 * cgroup.procs */
	put(f->dir, CG, "memory.max", "max\n");
	put(f->dir, CG, "memory.current", "1000\n");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s/memory.swap.current", f->dir, CG);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof path, "%s%s/pids.current", f->dir, CG);
	assert_int_equal(unlink(path), 0);
	put(f->dir, CG, "cgroup.procs", "10\n11\n");
	assert_int_equal(cgroup_stats_at(f->dir, 1, CG, CGS_CPU | CGS_MEMORY | CGS_PIDS, &s), 0);
	assert_int_equal(s.mem_limit, 0);
	assert_int_equal(s.mem_working_set, 0);
	assert_false(s.have_swap);
	assert_true(s.have_pids);
	assert_int_equal(s.pids, 2);

	/* only what is asked for */
	assert_int_equal(cgroup_stats_at(f->dir, 1, CG, CGS_CPU, &s), 0);
	assert_int_equal(s.cpu_usage_ns, 2500000000ULL);
	assert_int_equal(s.cpu_user_ns, 0);
	assert_false(s.have_memory);
	assert_int_equal(cgroup_stats_at(f->dir, 1, CG, CGS_MEMORY, &s), 0);
	assert_false(s.have_cpu);
	assert_false(s.have_pids);
	assert_true(s.have_memory);
}

static void test_v1(void **state)
{
	struct fixture *f = *state;
	char sub[PATH_MAX];
	snprintf(sub, sizeof sub, "/cpuacct%s", CG);
	put(f->dir, sub, "cpuacct.usage", "3000000000\n");
	put(f->dir, sub, "cpuacct.stat", "user 250\nsystem 50\n");
	snprintf(sub, sizeof sub, "/memory%s", CG);
	put(f->dir, sub, "memory.usage_in_bytes", "104857600\n");
	put(f->dir, sub, "memory.stat",
	    "cache 1\nrss 2\ninactive_file 3\n"
	    "total_cache 41943040\ntotal_rss 62914560\ntotal_pgfault 999\ntotal_pgmajfault 4\n"
	    "total_inactive_file 20971520\ntotal_active_file 1048576\nswap 0\ntotal_swap 0\n");
	put(f->dir, sub, "memory.limit_in_bytes", "9223372036854771712\n"); /* unlimited */
	put(f->dir, sub, "memory.memsw.usage_in_bytes", "104857600\n");
	put(f->dir, sub, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	snprintf(sub, sizeof sub, "/pids%s", CG);
	put(f->dir, sub, "pids.current", "5\n");
	struct cg_stats s;
	assert_int_equal(cgroup_stats_at(f->dir, 0, CG, CGS_CPU | CGS_CPU_TIMES | CGS_MEMORY | CGS_PIDS, &s), 0);
	assert_true(s.have_cpu && s.have_memory && s.have_swap && s.have_pids);
	assert_int_equal(s.cpu_usage_ns, 3000000000ULL);
	long hz = sysconf(_SC_CLK_TCK);
	assert_int_equal(s.cpu_user_ns, 250 * (1000000000 / (uint64_t)hz));
	assert_int_equal(s.cpu_system_ns, 50 * (1000000000 / (uint64_t)hz));
	assert_int_equal(s.mem_usage, 104857600);
	assert_int_equal(s.mem_working_set, 104857600 - 20971520); /* usage - total_inactive_file */
	assert_int_equal(s.mem_rss, 62914560);
	assert_int_equal(s.mem_cache, 41943040);
	assert_int_equal(s.mem_pgfault, 999);
	assert_int_equal(s.mem_pgmajfault, 4);
	assert_int_equal(s.mem_limit, 0);
	assert_int_equal(s.swap_usage, 0);
	assert_int_equal(s.swap_limit, 0);
	assert_int_equal(s.pids, 5);

	/* a limit, and memory+swap: swap in use (total_swap = memsw usage - memory usage), its limit
	 * memsw - memory */
	snprintf(sub, sizeof sub, "/memory%s", CG);
	put(f->dir, sub, "memory.limit_in_bytes", "209715200\n");
	put(f->dir, sub, "memory.memsw.usage_in_bytes", "115343360\n");
	put(f->dir, sub, "memory.memsw.limit_in_bytes", "314572800\n");
	put(f->dir, sub, "memory.stat", "total_rss 1\ntotal_inactive_file 0\nswap 10485760\ntotal_swap 10485760\n");
	assert_int_equal(cgroup_stats_at(f->dir, 0, CG, CGS_MEMORY, &s), 0);
	assert_int_equal(s.mem_limit, 209715200);
	assert_true(s.have_swap);
	assert_int_equal(s.swap_usage, 115343360 - 104857600);
	assert_int_equal(s.swap_limit, 314572800 - 209715200);
	assert_int_equal(cgroup_stats_at(f->dir, 0, CG, CGS_MEMORY | CGS_NO_LIMIT, &s), 0);
	assert_int_equal(s.mem_limit, 0);
	assert_int_equal(s.swap_limit, 0);
	assert_int_equal(s.swap_usage, 115343360 - 104857600);
	/* swap accounting off: no swap lines */
	put(f->dir, sub, "memory.stat", "total_rss 1\ntotal_inactive_file 0\n");
	assert_int_equal(cgroup_stats_at(f->dir, 0, CG, CGS_MEMORY, &s), 0);
	assert_false(s.have_swap);
	assert_int_equal(s.swap_limit, 0);

	/* no pids hierarchy: cgroup.procs of the cpuacct one */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/pids%s/pids.current", f->dir, CG);
	assert_int_equal(unlink(path), 0);
	snprintf(sub, sizeof sub, "/cpuacct%s", CG);
	put(f->dir, sub, "cgroup.procs", "1\n2\n3\n");
	assert_int_equal(cgroup_stats_at(f->dir, 0, CG, CGS_PIDS | CGS_CPU, &s), 0);
	assert_int_equal(s.pids, 3);
}

/* A cgroup that is not there (deleted meanwhile), and paths that are no cgroupsPath. */
static void test_missing(void **state)
{
	struct fixture *f = *state;
	struct cg_stats s;
	memset(&s, 0xff, sizeof s);
	assert_int_equal(cgroup_stats_at(f->dir, 1, "/gone", CGS_CPU | CGS_MEMORY, &s), -1);
	assert_false(s.have_cpu || s.have_memory || s.have_swap || s.have_pids);
	assert_int_equal(cgroup_stats_at(f->dir, 0, "/gone", CGS_CPU, &s), -1);
	assert_int_equal(cgroup_stats_at(f->dir, 0, "/gone", CGS_MEMORY, &s), -1);
	assert_int_equal(cgroup_stats_at(f->dir, 1, "relative", CGS_CPU, &s), -1);
	assert_int_equal(cgroup_stats_at(f->dir, 1, "/a/../b", CGS_CPU, &s), -1);
	/* CPU there, memory gone: the memory part is not had, the call succeeds */
	put(f->dir, "/half", "cpu.stat", "usage_usec 1\n");
	assert_int_equal(cgroup_stats_at(f->dir, 1, "/half", CGS_CPU | CGS_MEMORY, &s), 0);
	assert_true(s.have_cpu);
	assert_false(s.have_memory);
	assert_int_equal(s.cpu_usage_ns, 1000);
}

/* This host's own cgroup as the daemon would read it: the root's usage is not zero. */
static void test_host(void **state)
{
	(void)state;
	struct cg_stats s;
	assert_int_equal(cgroup_stats("/", CGS_CPU | CGS_MEMORY, &s), 0);
	assert_true(s.have_cpu);
	assert_true(s.cpu_usage_ns > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_host),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
