/*
 * raw-cycle.c — the runtime work of one container cycle without the daemon, timed per step, so
 * that litecri's cycle can be stated as a ratio to it (docs/bench.md, issue "Speed").
 *
 *   raw-cycle [--cycles N] [--mode runc|conmon|both]
 *
 * The bundle: a busybox rootfs (the host's /bin/busybox, as the tests' image) and runc's default
 * spec (`runc spec`) with the process `busybox sleep 100000`, no terminal, new PID, IPC, UTS and
 * mount namespaces and no network namespace, a cgroup /litecri-raw/<id>.  Each cycle, on a fresh
 * ID:
 *   runc    `runc create`, `runc start`, `runc kill KILL` + wait for the init's exit (pidfd),
 *           `runc delete` — runc alone, spawned directly;
 *   conmon  the same through litecri's runtime layer (src/runtime/oci.c: conmon + runc create,
 *           runc start, kill, delete), exactly what the daemon runs for a container.
 * Output, per mode and step (create, start, kill, delete, cycle): one line
 *   mode=runc step=create cycles=N p50_us= p90_us= max_us=
 * Everything is made under a temporary directory and removed; a failed step stops the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/metrics.h"
#include "util/proc.h"

extern char **environ;

enum { STEP_CREATE, STEP_START, STEP_KILL, STEP_DELETE, STEP_CYCLE, N_STEPS };
static const char *const STEP[N_STEPS] = { "create", "start", "kill", "delete", "cycle" };

static const char *runc = "/usr/sbin/runc", *conmon = "/usr/bin/conmon";
static char dir[64], bundle[PATH_MAX], root[PATH_MAX];

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "raw-cycle: %s: %s\n", what, msg);
	exit(1);
}

/* argv with stdio on /dev/null, to completion: its exit status. */
static int run(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	for (int fd = 0; fd < 3; fd++)
		posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	pid_t pid;
	int e = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		die(argv[0], strerror(e));
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The bundle: rootfs with busybox, config.json from `runc spec` adjusted. */
static json_t *make_bundle(void)
{
	char p[PATH_MAX + 64];
	snprintf(bundle, sizeof bundle, "%s/bundle", dir);
	snprintf(p, sizeof p, "%s/rootfs/bin", bundle);
	struct lc_err err;
	if (mkdir_p(p, 0755, &err) < 0)
		die("bundle", err.msg);
	snprintf(p, sizeof p, "%s/rootfs/bin/busybox", bundle);
	const char *cp[] = { "/bin/cp", "/bin/busybox", p, NULL };
	const char *spec[] = { runc, "spec", "--bundle", bundle, NULL };
	if (run(cp) != 0 || run(spec) != 0)
		die("bundle", "cp busybox / runc spec failed");
	snprintf(p, sizeof p, "%s/config.json", bundle);
	json_t *cfg = json_load_file(p, 0, NULL);
	if (!cfg)
		die("bundle", "config.json does not load");
	json_t *proc = json_object_get(cfg, "process"), *linux_ = json_object_get(cfg, "linux");
	json_object_set_new(proc, "args", json_pack("[sss]", "/bin/busybox", "sleep", "100000"));
	json_object_set_new(proc, "terminal", json_false());
	json_t *ns = json_array();
	const char *kinds[] = { "pid", "ipc", "uts", "mount" };
	for (size_t i = 0; i < 4; i++)
		json_array_append_new(ns, json_pack("{ss}", "type", kinds[i]));
	json_object_set_new(linux_, "namespaces", ns);
	return cfg;
}

static int64_t lap(int64_t *t)
{
	int64_t now = metrics_now_us(), d = now - *t;
	*t = now;
	return d;
}

/* Wait until the init process pid (pidfd opened before the kill) has exited. */
static void wait_exit(int pidfd, pid_t pid)
{
	if (!proc_wait_gone(pidfd, pid, 10000))
		die("kill", "the init outlived SIGKILL for 10 s");
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = 0;
	if (!f || fscanf(f, "%ld", &v) != 1)
		die(path, "no pid");
	fclose(f);
	return (pid_t)v;
}

static void cycle_runc(json_t *cfg, const char *id, int64_t *t)
{
	char path[PATH_MAX + 64], pidf[PATH_MAX + 64];
	json_object_set_new(json_object_get(cfg, "linux"), "cgroupsPath",
			    json_string_nocheck(strcat(strcpy(path, "/litecri-raw/"), id)));
	snprintf(path, sizeof path, "%s/config.json", bundle);
	if (json_dump_file(cfg, path, JSON_COMPACT) < 0)
		die("config.json", "write");
	snprintf(pidf, sizeof pidf, "%s/%s.pid", dir, id);
	int64_t t0 = metrics_now_us(), c = t0;
	const char *create[] = { runc, "--root", root, "create", "--bundle", bundle, "--pid-file", pidf, id, NULL };
	if (run(create) != 0)
		die("runc create", id);
	t[STEP_CREATE] = lap(&c);
	const char *start[] = { runc, "--root", root, "start", id, NULL };
	if (run(start) != 0)
		die("runc start", id);
	t[STEP_START] = lap(&c);
	pid_t pid = read_pid(pidf);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	const char *kill_[] = { runc, "--root", root, "kill", id, "KILL", NULL };
	if (run(kill_) != 0)
		die("runc kill", id);
	wait_exit(pfd, pid);
	close(pfd);
	t[STEP_KILL] = lap(&c);
	const char *del[] = { runc, "--root", root, "delete", id, NULL };
	if (run(del) != 0)
		die("runc delete", id);
	t[STEP_DELETE] = lap(&c);
	t[STEP_CYCLE] = c - t0;
	unlink(pidf);
}

static void cycle_conmon(struct runtime *rt, json_t *cfg, const char *id, int64_t *t)
{
	char cg[128];
	snprintf(cg, sizeof cg, "/litecri-raw/%s", id);
	json_object_set_new(json_object_get(cfg, "linux"), "cgroupsPath", json_string(cg));
	/* one bundle directory per container: conmon leaves its files there (as the daemon's) */
	char b[PATH_MAX + 80], rootfs[PATH_MAX + 96];
	snprintf(b, sizeof b, "%s/c-%s", dir, id);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	struct lc_err err;
	if (mkdir(b, 0700) < 0)
		die(b, strerror(errno));
	json_object_set_new(json_object_get(cfg, "root"), "path", json_string(rootfs));
	struct rt_create rc = { .id = id, .bundle = b, .spec = cfg, .log_path = "" };
	pid_t pid;
	int64_t t0 = metrics_now_us(), c = t0;
	if (rt_create(rt, &rc, &pid, &err) < 0)
		die("create", err.msg);
	t[STEP_CREATE] = lap(&c);
	if (rt_start(rt, id, &err) < 0)
		die("start", err.msg);
	t[STEP_START] = lap(&c);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (rt_kill(rt, id, SIGKILL, 0, &err) < 0)
		die("kill", err.msg);
	wait_exit(pfd, pid);
	close(pfd);
	t[STEP_KILL] = lap(&c);
	if (rt_delete(rt, id, &err) < 0)
		die("delete", err.msg);
	t[STEP_DELETE] = lap(&c);
	t[STEP_CYCLE] = c - t0;
	if (rmtree(b, &err) < 0)
		die(b, err.msg);
	json_object_set_new(json_object_get(cfg, "root"), "path", json_string("rootfs"));
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void report(const char *mode, int64_t (*t)[N_STEPS], int n)
{
	int64_t *v = calloc((size_t)n, sizeof *v);
	for (int s = 0; s < N_STEPS; s++) {
		for (int i = 0; i < n; i++)
			v[i] = t[i][s];
		qsort(v, (size_t)n, sizeof *v, cmp64);
		printf("mode=%s step=%s cycles=%d p50_us=%lld p90_us=%lld max_us=%lld\n", mode, STEP[s], n,
		       (long long)v[(n - 1) / 2], (long long)v[(n * 9 + 9) / 10 - 1], (long long)v[n - 1]);
	}
	free(v);
}

static void new_id(char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	FILE *f = fopen("/dev/urandom", "re");
	if (!f || fread(r, 1, sizeof r, f) != sizeof r)
		die("/dev/urandom", "read");
	fclose(f);
	for (int i = 0; i < 32; i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[64] = '\0';
}

int main(int argc, char **argv)
{
	int n = 30, c;
	const char *mode = "both";
	static const struct option opts[] = { { "cycles", required_argument, NULL, 'n' },
					      { "mode", required_argument, NULL, 'm' },
					      { NULL, 0, NULL, 0 } };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'm')
			mode = optarg;
		else
			return 2;
	}
	if (n < 1 || (strcmp(mode, "runc") && strcmp(mode, "conmon") && strcmp(mode, "both"))) {
		fprintf(stderr, "usage: raw-cycle [--cycles N] [--mode runc|conmon|both]\n");
		return 2;
	}
	strcpy(dir, "/tmp/litecri-raw-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(root, sizeof root, "%s/runc", dir);
	char exits[PATH_MAX], sockets[PATH_MAX];
	snprintf(exits, sizeof exits, "%s/exits", dir);
	snprintf(sockets, sizeof sockets, "%s/attach", dir);
	json_t *cfg = make_bundle();
	struct runtime *rt = NULL;
	struct rt_oci_config oc = { .runtime_path = runc, .conmon_path = conmon, .root = root, .exit_dir = exits,
				    .socket_dir = sockets };
	struct lc_err err;
	if (runtime_oci_new(&oc, &rt, &err) < 0)
		die("runtime", err.msg);
	int64_t(*t)[N_STEPS] = calloc((size_t)n, sizeof *t);
	char id[65];
	/* alternating, so that both modes see the same machine */
	int do_runc = strcmp(mode, "conmon") != 0, do_conmon = strcmp(mode, "runc") != 0;
	int64_t(*u)[N_STEPS] = calloc((size_t)n, sizeof *u);
	for (int i = 0; i < n; i++) {
		if (do_runc) {
			new_id(id);
			cycle_runc(cfg, id, t[i]);
		}
		if (do_conmon) {
			new_id(id);
			cycle_conmon(rt, cfg, id, u[i]);
		}
	}
	if (do_runc)
		report("runc", t, n);
	if (do_conmon)
		report("conmon", u, n);
	runtime_free(rt);
	json_decref(cfg);
	free(t);
	free(u);
	if (rmtree(dir, &err) < 0)
		die(dir, err.msg);
	/* runc removes each container's cgroup, not the parent it made: the now empty /litecri-raw */
	glob_t g;
	if (glob("/sys/fs/cgroup/{litecri-raw,*/litecri-raw}", GLOB_BRACE | GLOB_ONLYDIR, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (rmdir(g.gl_pathv[i]) < 0)
				fprintf(stderr, "raw-cycle: rmdir %s: %s\n", g.gl_pathv[i], strerror(errno));
		globfree(&g);
	}
	return 0;
}
