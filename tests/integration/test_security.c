/*
 * test_security.c — the CRI security context as containers see it: each field of the container
 * and pod security contexts (capabilities, users and groups, read-only rootfs, no_new_privs,
 * masked and read-only paths, seccomp, AppArmor, privileged, namespaces, sysctls, mount
 * propagation, the pod's /etc files) is checked from INSIDE real runc containers, whose scripts
 * print what they see (/proc/self/status, /proc/self/mountinfo, the results of writes) into their
 * CRI logs; and the bad inputs, which CreateContainer / RunPodSandbox must refuse with
 * INVALID_ARGUMENT naming the field, creating nothing.  The fixture is podfix.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "podfix.h"
#include "../common/tmpdir.h"

/* What a script prints: selected /proc/self/status lines as "Key=value" (tabs as spaces). */
#define STATUS_SH                                                                                          \
	"awk -F'\\t' '/^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Uid|Gid|Groups):/"                    \
	"{k=$1; sub(\":\",\"\",k); v=$2; for(i=3;i<=NF;i++) v=v\" \"$i; sub(/ +$/,\"\",v);"             \
	" print k\"=\"v}' /proc/self/status; "
/* Every mount as "mnt:<mount point>=<root> <options> [<optional fields>]". */
#define MOUNTS_SH                                                                                          \
	"awk '{o=\"\"; for(i=7;$i!=\"-\";i++) o=o\" \"$i; print \"mnt:\"$5\"=\"$4\" \"$6 o}' "         \
	"/proc/self/mountinfo; "
/* "w:<path>=ok" if a file can be created at path, else "w:<path>=fail". */
#define WRITE_SH(path) "if touch " path " 2>/dev/null; then echo w:" path "=ok; else echo w:" path "=fail; fi; "
#define END_SH "echo script-end"
#define END_LINE "stdout F script-end\n"

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

/* This test's own files: seccomp profiles, a shared tmpfs mount (teardown removes both). */
static struct {
	char dir[64];
	char shared[PATH_MAX]; /* <dir>/shared: a tmpfs, made shared (MS_SHARED) */
	int mounted;
} sx;

static int sec_up(void **state)
{
	memset(&sx, 0, sizeof sx);
	if (tmpdir_make(sx.dir, sizeof sx.dir, "sec") < 0)
		return -1;
	if (up(state) < 0) {
		tmpdir_remove(sx.dir);
		sx.dir[0] = '\0';
		return -1;
	}
	return 0;
}

static int sec_down(void **state)
{
	int rc = down(state);
	if (sx.mounted && umount2(sx.shared, MNT_DETACH) < 0) {
		fprintf(stderr, "teardown: umount %s: %s\n", sx.shared, strerror(errno));
		rc = -1;
	}
	sx.mounted = 0;
	if (sx.dir[0] && tmpdir_remove(sx.dir) < 0)
		rc = -1;
	sx.dir[0] = '\0';
	return rc;
}

/* The container security context of cc (made when missing). */
static Runtime__V1__LinuxContainerSecurityContext *sec(Runtime__V1__ContainerConfig *cc)
{
	if (!cc->linux)
		cc->linux = TNEW(Runtime__V1__LinuxContainerConfig, runtime__v1__linux_container_config__descriptor);
	if (!cc->linux->security_context)
		cc->linux->security_context = TNEW(Runtime__V1__LinuxContainerSecurityContext,
						   runtime__v1__linux_container_security_context__descriptor);
	return cc->linux->security_context;
}

static Runtime__V1__Int64Value *i64(int64_t v)
{
	Runtime__V1__Int64Value *x = TNEW(Runtime__V1__Int64Value, runtime__v1__int64_value__descriptor);
	x->value = v;
	return x;
}

static Runtime__V1__SecurityProfile *profile(Runtime__V1__SecurityProfile__ProfileType type, const char *ref)
{
	Runtime__V1__SecurityProfile *p = TNEW(Runtime__V1__SecurityProfile, runtime__v1__security_profile__descriptor);
	p->profile_type = type;
	p->localhost_ref = ref ? (char *)ref : p->localhost_ref;
	return p;
}

/* A NULL-terminated list as an owned char ** (count in *n). */
static char **strv(const char *const *v, size_t *n)
{
	size_t k = 0;
	while (v[k])
		k++;
	char **out = talloc((k + 1) * sizeof *out);
	for (size_t i = 0; i < k; i++)
		out[i] = (char *)v[i];
	*n = k;
	return out;
}

static void set_caps(Runtime__V1__ContainerConfig *cc, const char *const *add, const char *const *drop,
		     const char *const *ambient)
{
	Runtime__V1__Capability *c = TNEW(Runtime__V1__Capability, runtime__v1__capability__descriptor);
	if (add)
		c->add_capabilities = strv(add, &c->n_add_capabilities);
	if (drop)
		c->drop_capabilities = strv(drop, &c->n_drop_capabilities);
	if (ambient)
		c->add_ambient_capabilities = strv(ambient, &c->n_add_ambient_capabilities);
	sec(cc)->capabilities = c;
}

static Runtime__V1__Mount *add_mount(Runtime__V1__ContainerConfig *cc, const char *host, const char *ctr,
				     int readonly, Runtime__V1__MountPropagation prop)
{
	Runtime__V1__Mount *m = TNEW(Runtime__V1__Mount, runtime__v1__mount__descriptor);
	m->host_path = (char *)host;
	m->container_path = (char *)ctr;
	m->readonly = readonly;
	m->propagation = prop;
	Runtime__V1__Mount **v = talloc((cc->n_mounts + 1) * sizeof *v);
	for (size_t i = 0; i < cc->n_mounts; i++)
		v[i] = cc->mounts[i];
	v[cc->n_mounts++] = m;
	cc->mounts = v;
	return m;
}

/* Create and start containers (NULL-terminated configs) in pod; their IDs (owned). */
static char **start_all(const char *pod, const Runtime__V1__PodSandboxConfig *pc, Runtime__V1__ContainerConfig **cc)
{
	size_t n = 0;
	while (cc[n])
		n++;
	char **ids = talloc((n + 1) * sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = create_ctr(pod, cc[i], pc);
	for (size_t i = 0; i < n; i++)
		start_ctr(ids[i]);
	return ids;
}

/* The log of container `name` once its script printed END_SH. */
static char *output_of(const char *name)
{
	return wait_log(log_path_of(name), END_LINE);
}

/* The rest of the first log line (CRI format) whose message starts with "key=" (owned), or NULL. */
static const char *line_value(const char *log, const char *key)
{
	const char *k = tprintf(" F %s=", key);
	const char *p = strstr(log, k);
	if (!p)
		return NULL;
	p += strlen(k);
	size_t n = strcspn(p, "\n");
	char *v = talloc(n + 1);
	memcpy(v, p, n);
	return v;
}

/* The value of "key=" in the log of container `name` (must be there). */
static const char *val(const char *log, const char *name, const char *key)
{
	const char *v = line_value(log, key);
	if (!v)
		fprintf(stderr, "container %s printed no \"%s=\"; its log:\n%s\n", name, key, log);
	assert_non_null(v);
	return v;
}

/* "key=" in the log of `name` is exactly want. */
static void expect(const char *log, const char *name, const char *key, const char *want)
{
	const char *v = val(log, name, key);
	if (strcmp(v, want) != 0)
		print_error("container %s: %s=\"%s\", wanted \"%s\"\n", name, key, v, want);
	assert_string_equal(v, want);
}

/* The mount at `path` as the container `name` saw it: "<root> <options> [<optional fields>]";
 * NULL if there is none (when may_miss). */
static const char *mnt_of(const char *log, const char *name, const char *path, int may_miss)
{
	const char *v = line_value(log, tprintf("mnt:%s", path));
	if (!v && !may_miss) {
		fprintf(stderr, "container %s has no mount at %s; its log:\n%s\n", name, path, log);
		fail();
	}
	return v;
}

/* The mount options of `path` in the container start with "ro," (1) or "rw," (0). */
static int mnt_readonly(const char *log, const char *name, const char *path)
{
	const char *v = mnt_of(log, name, path, 0);
	const char *opts = strchr(v, ' ');
	assert_non_null(opts);
	opts++;
	if (strncmp(opts, "ro,", 3) != 0 && strncmp(opts, "rw,", 3) != 0 && strcmp(opts, "ro") != 0 &&
	    strcmp(opts, "rw") != 0) {
		print_error("container %s: mount %s has options \"%s\"\n", name, path, opts);
		fail();
	}
	return opts[1] == 'o';
}

static void expect_mnt_ro(const char *log, const char *name, const char *path, int ro);

/* The cgroup file system(s) inside: on cgroup v1 the hierarchies (runc's tmpfs holding them stays
 * read-write, as with docker), else the cgroup2 mount. */
static void expect_cgroup_ro(const char *log, const char *name, int ro)
{
	if (mnt_of(log, name, "/sys/fs/cgroup/memory", 1)) {
		expect_mnt_ro(log, name, "/sys/fs/cgroup/memory", ro);
		expect_mnt_ro(log, name, "/sys/fs/cgroup/cpu", ro);
	} else {
		expect_mnt_ro(log, name, "/sys/fs/cgroup", ro);
	}
}

static void expect_mnt_ro(const char *log, const char *name, const char *path, int ro)
{
	int got = mnt_readonly(log, name, path);
	if (got != ro)
		fprintf(stderr, "container %s: %s is mounted %s, wanted %s (%s); its log:\n%s\n", name, path,
			got ? "ro" : "rw", ro ? "ro" : "rw", mnt_of(log, name, path, 0), log);
	assert_int_equal(got, ro);
}

/* A capability mask as /proc/<pid>/status shows it (16 hex digits). */
static const char *caps_hex(uint64_t mask)
{
	return tprintf("%016llx", (unsigned long long)mask);
}

#define BIT(c) (UINT64_C(1) << (c))
static const uint64_t DEFAULT_CAPS = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
				     BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
				     BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
				     BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

/* A capability set of this process from /proc/self/status ("CapBnd" ...). */
static uint64_t own_caps(const char *which)
{
	char *s = harness_slurp("/proc/self/status");
	own(s, free);
	assert_non_null(s);
	const char *p = strstr(s, tprintf("%s:\t", which));
	assert_non_null(p);
	return strtoull(p + strlen(which) + 2, NULL, 16);
}

static void expect_caps(const char *log, const char *name, uint64_t eff, uint64_t bnd, uint64_t amb)
{
	expect(log, name, "CapEff", caps_hex(eff));
	expect(log, name, "CapPrm", caps_hex(eff));
	expect(log, name, "CapBnd", caps_hex(bnd));
	expect(log, name, "CapAmb", caps_hex(amb));
}

/*
 * CreateContainer of cc in pod must fail with INVALID_ARGUMENT and a message containing each of
 * the NULL-terminated needles; and nothing is created: no container listed, no container
 * directories, runc knows no container (the pod has no infra container: its PID mode is
 * CONTAINER).
 */
static void expect_refused(const char *pod, const Runtime__V1__PodSandboxConfig *pc, Runtime__V1__ContainerConfig *cc,
			   const char *const *needles)
{
	char *id, *details;
	grpc_status_code st = create_ctr_st(pod, cc, pc, &id, &details);
	if (st != GRPC_STATUS_INVALID_ARGUMENT)
		print_error("CreateContainer %s: %s (%s), wanted INVALID_ARGUMENT\n", cc->metadata->name,
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(details, needles[i])) {
			print_error("CreateContainer %s: the message \"%s\" does not name \"%s\"\n", cc->metadata->name,
				    details, needles[i]);
			fail();
		}
	assert_ctr_list(tprintf("containers after refusing %s", cc->metadata->name), NULL, NULL);
	const char *dirs[] = { tprintf("%s/containers", fx.d.root), tprintf("%s/containers", fx.d.state) };
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(entries(dirs[i]), 0);
	const char *runc = runc_ids();
	if (*runc)
		print_error("runc containers after refusing %s (pod %s):\n%s(wanted none)\n", cc->metadata->name, pod,
			    runc);
	assert_string_equal(runc, "");
	struct stat st_;
	if (stat(log_path_of(cc->metadata->name), &st_) == 0)
		print_error("refused container %s has a log file\n", cc->metadata->name);
	assert_int_not_equal(stat(log_path_of(cc->metadata->name), &st_), 0);
}

/* The number of entries in dir (0 if it cannot be read). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

/* RunPodSandbox of pc with runtime handler `handler`: the status (and details). */
static grpc_status_code run_pod_handler_st(const Runtime__V1__PodSandboxConfig *pc, const char *handler, char **id,
					   char **details)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = (Runtime__V1__PodSandboxConfig *)pc;
	req.runtime_handler = (char *)handler;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp,
				  details, CALL_TIMEOUT_MS);
	*id = st == GRPC_STATUS_OK ? ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id : NULL;
	return st;
}

/*
 * RunPodSandbox of pc with runtime handler `handler` must fail with INVALID_ARGUMENT naming each
 * needle; only pods_left are left: listed, known to runc, with sandbox directories.
 */
static void expect_pod_refused_h(const Runtime__V1__PodSandboxConfig *pc, const char *handler,
				 const char *const *needles, const char *const *pods_left)
{
	char *id, *details;
	grpc_status_code st = run_pod_handler_st(pc, handler, &id, &details);
	if (st != GRPC_STATUS_INVALID_ARGUMENT)
		print_error("RunPodSandbox %s: %s (%s), wanted INVALID_ARGUMENT\n", pc->metadata->name,
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(details, needles[i])) {
			print_error("RunPodSandbox %s: the message \"%s\" does not name \"%s\"\n", pc->metadata->name,
				    details, needles[i]);
			fail();
		}
	Runtime__V1__ListPodSandboxResponse *r = list_pods(NULL);
	size_t n = 0;
	while (pods_left[n])
		n++;
	if (r->n_items != n)
		print_error("pods after refusing %s: %zu, wanted %zu\n", pc->metadata->name, r->n_items, n);
	assert_int_equal(r->n_items, n);
	/* no runc container: the refused pod left none, and the pods (PID mode CONTAINER) have no
	 * infra container */
	const char *runc = runc_ids();
	if (*runc)
		print_error("runc containers after refusing pod %s:\n%s", pc->metadata->name, runc);
	assert_string_equal(runc, "");
	assert_int_equal(count_entries(tprintf("%s/sandboxes", fx.d.root)), (int)n);
	assert_int_equal(count_entries(tprintf("%s/sandboxes", fx.d.state)), (int)n);
}

static void expect_pod_refused(const Runtime__V1__PodSandboxConfig *pc, const char *const *needles,
			       const char *const *pods_left)
{
	expect_pod_refused_h(pc, "", needles, pods_left);
}

/* Cgroup directories named `rel` (relative to each hierarchy's root) that exist. */
static int cgroups_named(const char *rel)
{
	static const char *const hier[] = { "cpu,cpuacct", "cpu", "memory", "pids", "cpuset", "devices", "freezer",
					    "blkio", "hugetlb", "unified", "systemd", NULL };
	int n = 0;
	struct stat st;
	for (size_t i = 0; hier[i]; i++)
		if (stat(tprintf("/sys/fs/cgroup/%s/%s", hier[i], rel), &st) == 0) {
			print_error("cgroup /sys/fs/cgroup/%s/%s exists\n", hier[i], rel);
			n++;
		}
	return n;
}

/* Write `text` to <sx.dir>/<name>; its path (owned). */
static const char *write_file(const char *name, const char *text)
{
	const char *p = tprintf("%s/%s", sx.dir, name);
	FILE *f = fopen(p, "we");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return p;
}

static const char *seccomp_arch(void)
{
#if defined(__x86_64__)
	return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
	return "SCMP_ARCH_AARCH64";
#else
	return "";
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

static const char *const POD_LABELS[] = { "app", "security", NULL };

/* Without a security context: root, the default capabilities, no no_new_privs, no seccomp, the
 * default masked and read-only paths, /sys read-only, the pod's /etc files bind-mounted
 * read-write, a private PID namespace, no host devices, a writable rootfs. */
static void test_defaults(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-defaults", POD_LABELS);
	char *pod = run_pod(pc);
	const char *script = STATUS_SH MOUNTS_SH
		"echo \"self=$$\"; echo \"timer_list=$(wc -c < /proc/timer_list)\";"
		" echo \"firmware=$(ls /sys/firmware | wc -l)\";"
		" if echo 1 > /proc/sys/kernel/shm_rmid_forced; then echo procsys=rw; else echo procsys=ro; fi;"
		" if [ -e /dev/loop-control ]; then echo loopctl=yes; else echo loopctl=no; fi;"
		" if cat /home/app/secret >/dev/null; then echo secret=read; else echo secret=denied; fi;"
		" if echo x >> /etc/hosts; then echo hosts=rw; else echo hosts=ro; fi;"
		WRITE_SH("/rootfile") WRITE_SH("/tmp/tmpfile") END_SH;
	Runtime__V1__ContainerConfig *cc[] = { ctr_config("plain", script, NULL), NULL };
	start_all(pod, pc, cc);
	const char *log = output_of("plain"), *n = "plain";

	expect(log, n, "Uid", "0 0 0 0");
	expect(log, n, "Gid", "0 0 0 0");
	expect_caps(log, n, DEFAULT_CAPS, DEFAULT_CAPS, 0);
	expect(log, n, "NoNewPrivs", "0");
	expect(log, n, "Seccomp", "0");
	expect(log, n, "self", "1");
	/* masked: /proc/timer_list is /dev/null, /sys/firmware an empty read-only tmpfs */
	expect(log, n, "timer_list", "0");
	expect(log, n, "firmware", "0");
	assert_non_null(mnt_of(log, n, "/proc/timer_list", 0));
	expect_mnt_ro(log, n, "/sys/firmware", 1);
	/* read-only */
	expect(log, n, "procsys", "ro");
	expect_mnt_ro(log, n, "/proc/sys", 1);
	expect_mnt_ro(log, n, "/sys", 1);
	expect_cgroup_ro(log, n, 1);
	expect(log, n, "loopctl", "no");
	expect(log, n, "secret", "read"); /* CAP_DAC_OVERRIDE */
	/* the pod's files: bind mounts (their root is a file of the daemon, not "/"), read-write */
	const char *files[] = { "/etc/hosts", "/etc/resolv.conf", "/etc/hostname" };
	for (size_t i = 0; i < 3; i++) {
		const char *m = mnt_of(log, n, files[i], 0);
		if (strncmp(m, "/ ", 2) == 0)
			print_error("%s is not a bind mount of a file: %s\n", files[i], m);
		assert_true(strncmp(m, "/ ", 2) != 0);
		expect_mnt_ro(log, n, files[i], 0);
	}
	expect(log, n, "hosts", "rw");
	expect(log, n, "w:/rootfile", "ok");
	expect(log, n, "w:/tmp/tmpfile", "ok");
}

/* Capabilities added and dropped (with and without CAP_, any case), "ALL" dropped then one added,
 * "ALL" added, everything dropped (and what root then cannot do), ambient ones for a non-root
 * user. */
static void test_capabilities(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-caps", POD_LABELS);
	char *pod = run_pod(pc);
	const char *script = STATUS_SH
		"touch /tmp/f; if chown 1000 /tmp/f; then echo chown=ok; else echo chown=denied; fi;"
		" if cat /home/app/secret >/dev/null; then echo secret=read; else echo secret=denied; fi; " END_SH;
	Runtime__V1__ContainerConfig *mixed = ctr_config("mixed", script, NULL);
	set_caps(mixed, LBL("NET_ADMIN", "cap_sys_time"), LBL("CAP_CHOWN", "kill"), NULL);
	Runtime__V1__ContainerConfig *one = ctr_config("only-one", script, NULL);
	set_caps(one, LBL("CAP_NET_BIND_SERVICE"), LBL("ALL"), NULL);
	Runtime__V1__ContainerConfig *all = ctr_config("all", script, NULL);
	set_caps(all, LBL("ALL"), NULL, NULL);
	Runtime__V1__ContainerConfig *none = ctr_config("none", script, NULL);
	set_caps(none, NULL, LBL("all"), NULL);
	Runtime__V1__ContainerConfig *amb = ctr_config("ambient", script, NULL);
	set_caps(amb, NULL, NULL, LBL("NET_BIND_SERVICE"));
	sec(amb)->run_as_user = i64(1000);
	Runtime__V1__ContainerConfig *cc[] = { mixed, one, all, none, amb, NULL };
	start_all(pod, pc, cc);

	const char *log = output_of("mixed");
	uint64_t want = (DEFAULT_CAPS | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_TIME)) & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL));
	expect_caps(log, "mixed", want, want, 0);
	expect(log, "mixed", "chown", "denied");
	expect(log, "mixed", "secret", "read");

	log = output_of("only-one");
	expect_caps(log, "only-one", BIT(CAP_NET_BIND_SERVICE), BIT(CAP_NET_BIND_SERVICE), 0);
	expect(log, "only-one", "chown", "denied");
	expect(log, "only-one", "secret", "denied");

	/* every capability there is — that this process can hand on */
	uint64_t host = own_caps("CapBnd");
	log = output_of("all");
	expect_caps(log, "all", host, host, 0);
	expect(log, "all", "chown", "ok");

	log = output_of("none");
	expect_caps(log, "none", 0, 0, 0);
	expect(log, "none", "chown", "denied");
	expect(log, "none", "secret", "denied"); /* root without CAP_DAC_OVERRIDE: mode 0640 of 1000:1000 */

	/* ambient: a non-root user keeps NET_BIND_SERVICE across exec, and nothing else */
	log = output_of("ambient");
	expect(log, "ambient", "Uid", "1000 1000 1000 1000");
	expect_caps(log, "ambient", BIT(CAP_NET_BIND_SERVICE), DEFAULT_CAPS, BIT(CAP_NET_BIND_SERVICE));
	expect(log, "ambient", "CapInh", caps_hex(BIT(CAP_NET_BIND_SERVICE)));
}

/* run_as_user + run_as_group + supplemental_groups; run_as_username resolved in the image's
 * /etc/passwd ("app", "root"); a uid alone (in /etc/passwd: its gid and home; not: gid 0); file
 * access as these users. */
static void test_users(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-users", POD_LABELS);
	char *pod = run_pod(pc);
	const char *script = STATUS_SH "echo \"home=$HOME\";"
		" if cat /home/app/secret >/dev/null 2>&1; then echo secret=read; else echo secret=denied; fi; " END_SH;
	Runtime__V1__ContainerConfig *full = ctr_config("uid-gid-groups", script, NULL);
	sec(full)->run_as_user = i64(1000);
	sec(full)->run_as_group = i64(3000);
	static const int64_t groups[] = { 5000, 4000 };
	sec(full)->supplemental_groups = (int64_t *)groups;
	sec(full)->n_supplemental_groups = 2;
	Runtime__V1__ContainerConfig *app = ctr_config("name-app", script, NULL);
	sec(app)->run_as_username = "app";
	Runtime__V1__ContainerConfig *root = ctr_config("name-root", script, NULL);
	sec(root)->run_as_username = "root";
	Runtime__V1__ContainerConfig *known = ctr_config("uid-known", script, NULL);
	sec(known)->run_as_user = i64(1000);
	Runtime__V1__ContainerConfig *unknown = ctr_config("uid-unknown", script, NULL);
	sec(unknown)->run_as_user = i64(4242);
	Runtime__V1__ContainerConfig *grp = ctr_config("uid-with-group-1000", script, NULL);
	sec(grp)->run_as_user = i64(4242);
	static const int64_t g1000[] = { 1000 };
	sec(grp)->supplemental_groups = (int64_t *)g1000;
	sec(grp)->n_supplemental_groups = 1;
	Runtime__V1__ContainerConfig *cc[] = { full, app, root, known, unknown, grp, NULL };
	start_all(pod, pc, cc);

	const char *n = "uid-gid-groups", *log = output_of(n);
	expect(log, n, "Uid", "1000 1000 1000 1000");
	expect(log, n, "Gid", "3000 3000 3000 3000");
	expect(log, n, "Groups", "4000 5000");
	expect(log, n, "home", "/home/app");
	expect(log, n, "secret", "read"); /* the owner */
	expect_caps(log, n, 0, DEFAULT_CAPS, 0); /* a non-root user keeps no capability across exec */

	n = "name-app", log = output_of(n);
	expect(log, n, "Uid", "1000 1000 1000 1000");
	expect(log, n, "Gid", "1000 1000 1000 1000");
	expect(log, n, "Groups", "");
	expect(log, n, "home", "/home/app");

	n = "name-root", log = output_of(n);
	expect(log, n, "Uid", "0 0 0 0");
	expect(log, n, "Gid", "0 0 0 0");
	expect(log, n, "home", "/root");
	expect_caps(log, n, DEFAULT_CAPS, DEFAULT_CAPS, 0);

	n = "uid-known", log = output_of(n);
	expect(log, n, "Uid", "1000 1000 1000 1000");
	expect(log, n, "Gid", "1000 1000 1000 1000");
	expect(log, n, "home", "/home/app");

	n = "uid-unknown", log = output_of(n);
	expect(log, n, "Uid", "4242 4242 4242 4242");
	expect(log, n, "Gid", "0 0 0 0");
	expect(log, n, "home", "/");
	expect(log, n, "secret", "denied");

	n = "uid-with-group-1000", log = output_of(n);
	expect(log, n, "Uid", "4242 4242 4242 4242");
	expect(log, n, "Groups", "1000");
	expect(log, n, "secret", "read"); /* through the supplemental group */
}

/* readonly_rootfs: / and /tmp not writable, the pod's /etc files read-only bind mounts, /dev/shm
 * and a read-write CRI mount still writable, a read-only CRI mount not. */
static void test_readonly_rootfs(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-ro", POD_LABELS);
	char *pod = run_pod(pc);
	const char *script = MOUNTS_SH WRITE_SH("/rootfile") WRITE_SH("/tmp/tmpfile") WRITE_SH("/dev/shm/shmfile")
		WRITE_SH("/mnt/rw/rwfile") WRITE_SH("/mnt/ro/rofile")
		"if echo x >> /etc/hosts; then echo hosts=rw; else echo hosts=ro; fi;"
		" if echo x >> /etc/resolv.conf; then echo resolv=rw; else echo resolv=ro; fi; " END_SH;
	Runtime__V1__ContainerConfig *cc = ctr_config("readonly", script, NULL);
	sec(cc)->readonly_rootfs = 1;
	const char *rwdir = tprintf("%s/rw", sx.dir);
	assert_int_equal(mkdir(rwdir, 0755), 0);
	add_mount(cc, rwdir, "/mnt/rw", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	add_mount(cc, fx.hostdir, "/mnt/ro", 1, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	Runtime__V1__ContainerConfig *v[] = { cc, NULL };
	start_all(pod, pc, v);
	const char *n = "readonly", *log = output_of(n);
	expect_mnt_ro(log, n, "/", 1);
	expect(log, n, "w:/rootfile", "fail");
	expect(log, n, "w:/tmp/tmpfile", "fail");
	expect(log, n, "w:/dev/shm/shmfile", "ok");
	expect(log, n, "w:/mnt/rw/rwfile", "ok");
	expect(log, n, "w:/mnt/ro/rofile", "fail");
	expect_mnt_ro(log, n, "/mnt/rw", 0);
	expect_mnt_ro(log, n, "/mnt/ro", 1);
	const char *files[] = { "/etc/hosts", "/etc/resolv.conf", "/etc/hostname" };
	for (size_t i = 0; i < 3; i++) {
		assert_true(strncmp(mnt_of(log, n, files[i], 0), "/ ", 2) != 0); /* a bind mount of a file */
		expect_mnt_ro(log, n, files[i], 1);
	}
	expect(log, n, "hosts", "ro");
	expect(log, n, "resolv", "ro");
	struct stat st;
	assert_int_equal(stat(tprintf("%s/rwfile", rwdir), &st), 0); /* really on the host */
	assert_int_not_equal(stat(tprintf("%s/rofile", fx.hostdir), &st), 0);
}

/* no_new_privs; seccomp RuntimeDefault (filter mode, and a call it forbids), Unconfined, Localhost
 * profiles (OCI format; docker format with archMap through the deprecated seccomp_profile_path)
 * that deny what they name; AppArmor RuntimeDefault / Unconfined accepted. */
static void test_nnp_seccomp_apparmor(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-seccomp", POD_LABELS);
	char *pod = run_pod(pc);
	const char *oci = write_file("deny-mkdir.json",
				     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\", "
				     "\"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}");
	const char *docker = write_file(
		"deny-chmod.json",
		tprintf("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": \"%s\", "
			"\"subArchitectures\": []}], \"syscalls\": [{\"names\": [\"chmod\", \"fchmodat\"], "
			"\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13, \"comment\": \"no chmod\", "
			"\"includes\": {}, \"excludes\": {}}]}",
			seccomp_arch()));
	const char *script = STATUS_SH
		"if unshare -U true 2>/dev/null; then echo userns=ok; else echo userns=denied; fi;"
		" if mkdir /tmp/d 2>/tmp/err; then echo mkdir=ok; else echo \"mkdir=$(cat /tmp/err)\"; fi;"
		" if chmod 600 /etc/passwd 2>/tmp/err; then echo chmod=ok; else echo \"chmod=$(cat /tmp/err)\"; fi; " END_SH;
	Runtime__V1__ContainerConfig *nnp = ctr_config("nnp", script, NULL);
	sec(nnp)->no_new_privs = 1;
	sec(nnp)->apparmor = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
	Runtime__V1__ContainerConfig *def = ctr_config("runtime-default", script, NULL);
	sec(def)->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
	Runtime__V1__ContainerConfig *unc = ctr_config("unconfined", script, NULL);
	sec(unc)->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined, NULL);
	sec(unc)->apparmor = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined, NULL);
	Runtime__V1__ContainerConfig *loc = ctr_config("localhost", script, NULL);
	sec(loc)->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, oci);
	Runtime__V1__ContainerConfig *leg = ctr_config("legacy", script, NULL);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	sec(leg)->seccomp_profile_path = tprintf("localhost/%s", docker);
	sec(leg)->apparmor_profile = "unconfined";
#pragma GCC diagnostic pop
	Runtime__V1__ContainerConfig *cc[] = { nnp, def, unc, loc, leg, NULL };
	start_all(pod, pc, cc);

	const char *n = "nnp", *log = output_of(n);
	expect(log, n, "NoNewPrivs", "1");
	expect(log, n, "Seccomp", "0");

	n = "runtime-default", log = output_of(n);
	expect(log, n, "NoNewPrivs", "0");
	expect(log, n, "Seccomp", "2");
	expect(log, n, "userns", "denied");
	expect(log, n, "mkdir", "ok");
	expect(log, n, "chmod", "ok");

	n = "unconfined", log = output_of(n);
	expect(log, n, "Seccomp", "0");
	expect(log, n, "userns", "ok"); /* what RuntimeDefault forbids is allowed without seccomp */

	n = "localhost", log = output_of(n);
	expect(log, n, "Seccomp", "2");
	const char *v = val(log, n, "mkdir");
	if (!strstr(v, "Operation not permitted"))
		print_error("localhost profile: mkdir=%s, wanted EPERM\n", v);
	assert_non_null(strstr(v, "Operation not permitted"));
	expect(log, n, "chmod", "ok");

	n = "legacy", log = output_of(n);
	expect(log, n, "Seccomp", "2");
	expect(log, n, "mkdir", "ok");
	v = val(log, n, "chmod");
	if (!strstr(v, "Permission denied"))
		print_error("docker-format profile: chmod=%s, wanted EACCES\n", v);
	assert_non_null(strstr(v, "Permission denied"));
}

/* Explicit masked_paths / readonly_paths replace the defaults: a masked file reads empty, a masked
 * directory is empty, a read-only path is not writable; the default ones are then not masked. */
static void test_masked_readonly_paths(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-paths", POD_LABELS);
	char *pod = run_pod(pc);
	const char *script = MOUNTS_SH "echo \"group=$(wc -c < /etc/group)\"; echo \"homeapp=$(ls -A /home/app | wc -l)\";"
		" echo \"timer_list=$(wc -c < /proc/timer_list)\"; " WRITE_SH("/tmp/tmpfile") WRITE_SH("/rootfile") END_SH;
	Runtime__V1__ContainerConfig *cc = ctr_config("paths", script, NULL);
	sec(cc)->masked_paths = strv(LBL("/etc/group", "/home//app/"), &sec(cc)->n_masked_paths);
	sec(cc)->readonly_paths = strv(LBL("/tmp"), &sec(cc)->n_readonly_paths);
	Runtime__V1__ContainerConfig *v[] = { cc, NULL };
	start_all(pod, pc, v);
	const char *n = "paths", *log = output_of(n);
	expect(log, n, "group", "0");
	expect(log, n, "homeapp", "0");
	expect(log, n, "w:/tmp/tmpfile", "fail");
	expect(log, n, "w:/rootfile", "ok");
	expect_mnt_ro(log, n, "/tmp", 1);
	expect_mnt_ro(log, n, "/home/app", 1);
	/* the defaults no longer apply */
	const char *tl = val(log, n, "timer_list");
	if (atoi(tl) <= 0)
		print_error("/proc/timer_list is still masked (%s bytes)\n", tl);
	assert_true(atoi(tl) > 0);
	assert_null(mnt_of(log, n, "/proc/sys", 1));
	assert_null(mnt_of(log, n, "/proc/timer_list", 1));
}

/* A privileged container (in a privileged pod): every capability, the host's devices, nothing
 * masked or read-only, /sys and its cgroups writable, no seccomp even when asked; a
 * non-privileged container of the same pod keeps the defaults. */
static void test_privileged(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-priv", POD_LABELS);
	pc->linux->security_context->privileged = 1;
	char *pod = run_pod(pc);
	const char *script = STATUS_SH MOUNTS_SH
		"echo \"timer_list=$(wc -c < /proc/timer_list)\"; echo \"firmware=$(ls /sys/firmware | wc -l)\";"
		" if [ -c /dev/loop-control ]; then echo loopctl=yes; else echo loopctl=no; fi;"
		" if [ -c /dev/kmsg ]; then echo kmsg=yes; else echo kmsg=no; fi; " END_SH;
	Runtime__V1__ContainerConfig *priv = ctr_config("privileged", script, NULL);
	sec(priv)->privileged = 1;
	sec(priv)->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
	set_caps(priv, NULL, LBL("ALL"), NULL); /* privileged wins */
	Runtime__V1__ContainerConfig *plain = ctr_config("unprivileged", script, NULL);
	Runtime__V1__ContainerConfig *cc[] = { priv, plain, NULL };
	start_all(pod, pc, cc);

	uint64_t host = own_caps("CapBnd");
	const char *n = "privileged", *log = output_of(n);
	expect_caps(log, n, host, host, 0);
	expect(log, n, "Seccomp", "0");
	expect(log, n, "loopctl", "yes");
	expect(log, n, "kmsg", "yes");
	const char *tl = val(log, n, "timer_list");
	assert_true(atoi(tl) > 0);
	assert_int_not_equal(atoi(val(log, n, "firmware")), 0);
	assert_null(mnt_of(log, n, "/proc/sys", 1));
	assert_null(mnt_of(log, n, "/proc/timer_list", 1));
	assert_null(mnt_of(log, n, "/sys/firmware", 1));
	expect_mnt_ro(log, n, "/sys", 0);
	expect_cgroup_ro(log, n, 0);

	n = "unprivileged", log = output_of(n);
	expect_caps(log, n, DEFAULT_CAPS, DEFAULT_CAPS, 0);
	expect(log, n, "loopctl", "no");
	expect(log, n, "timer_list", "0");
	expect_mnt_ro(log, n, "/sys", 1);
	expect_mnt_ro(log, n, "/proc/sys", 1);
}

/* PID namespace POD: the containers and the infra process share one; PID 1 is the pause process
 * (uid 65535, no_new_privs, the pod's RuntimeDefault seccomp); the pod's IPC namespace is shared
 * and not the host's. */
static void test_pid_pod(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-pidpod", POD_LABELS);
	pc->linux->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	pc->linux->security_context->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
	char *pod = run_pod(pc);
	const char *sleeper = "echo \"ipc=$(readlink /proc/self/ns/ipc)\"; echo \"pidns=$(readlink /proc/self/ns/pid)\";"
			      " echo sleeper-ready; exec sleep 4242";
	Runtime__V1__ContainerConfig *a = ctr_config("sleeper", sleeper, NULL);
	Runtime__V1__ContainerConfig *av[] = { a, NULL };
	start_all(pod, pc, av);
	char *la = wait_log(log_path_of("sleeper"), "sleeper-ready");
	const char *script = "echo \"self=$$\"; echo \"pid1=$(cat /proc/1/cmdline)\";"
		" awk -F'\\t' '/^(Uid|NoNewPrivs|Seccomp):/{print \"pid1\"$1\"=\"$2}' /proc/1/status;"
		" echo \"sleepers=$(pidof sleep)\"; echo \"ipc=$(readlink /proc/self/ns/ipc)\";"
		" echo \"pidns=$(readlink /proc/self/ns/pid)\"; " END_SH;
	Runtime__V1__ContainerConfig *b = ctr_config("looker", script, NULL);
	Runtime__V1__ContainerConfig *bv[] = { b, NULL };
	start_all(pod, pc, bv);
	const char *n = "looker", *log = output_of(n);
	assert_int_not_equal(atoi(val(log, n, "self")), 1);
	expect(log, n, "pid1", "/pause");
	expect(log, n, "pid1Uid:", "65535");
	expect(log, n, "pid1NoNewPrivs:", "1");
	expect(log, n, "pid1Seccomp:", "2");
	const char *s = val(log, n, "sleepers");
	if (!*s || atoi(s) <= 1)
		print_error("looker does not see the sleeper's process: \"%s\"\n", s);
	assert_true(atoi(s) > 1);
	expect(log, n, "pidns", val(la, "sleeper", "pidns"));
	expect(log, n, "ipc", val(la, "sleeper", "ipc"));
	char host_ipc[64] = "", host_pid[64] = "";
	assert_true(readlink("/proc/self/ns/ipc", host_ipc, sizeof host_ipc - 1) > 0);
	assert_true(readlink("/proc/self/ns/pid", host_pid, sizeof host_pid - 1) > 0);
	assert_string_not_equal(val(log, n, "ipc"), host_ipc);
	assert_string_not_equal(val(log, n, "pidns"), host_pid);
}

/* PID mode TARGET (kubectl debug --target): a container of a pod whose containers each have their
 * own PID namespace joins its target's and sees its process as PID 1; a missing, stopped or other
 * pod's target is INVALID_ARGUMENT. */
static void test_pid_target(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-target", POD_LABELS); /* PID mode CONTAINER */
	char *pod = run_pod(pc);
	Runtime__V1__ContainerConfig *a = ctr_config("app", "echo \"pidns=$(readlink /proc/self/ns/pid)\"; "
							 "echo app-ready; exec sleep 4343", NULL);
	Runtime__V1__ContainerConfig *av[] = { a, NULL };
	char *app = start_all(pod, pc, av)[0];
	char *la = wait_log(log_path_of("app"), "app-ready");

	Runtime__V1__ContainerConfig *d = ctr_config("debugger", "echo \"pid1=$(cat /proc/1/cmdline | tr '\\000' ' ')\"; "
							   "echo \"pidns=$(readlink /proc/self/ns/pid)\"; " END_SH, NULL);
	Runtime__V1__NamespaceOption *ns = TNEW(Runtime__V1__NamespaceOption, runtime__v1__namespace_option__descriptor);
	ns->network = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
	ns->target_id = app;
	sec(d)->namespace_options = ns;
	Runtime__V1__ContainerConfig *dv[] = { d, NULL };
	start_all(pod, pc, dv);
	const char *log = output_of("debugger");
	expect(log, "debugger", "pid1", "sleep 4343 ");
	expect(log, "debugger", "pidns", val(la, "app", "pidns"));

	/* bad targets: no such container, one of another pod, one that is not running */
	Runtime__V1__ContainerConfig *bad = ctr_config("bad-target", SLEEP_FOREVER, NULL);
	Runtime__V1__NamespaceOption *bns = TNEW(Runtime__V1__NamespaceOption, runtime__v1__namespace_option__descriptor);
	*bns = *ns;
	bns->target_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	sec(bad)->namespace_options = bns;
	char *id, *details;
	assert_int_equal(create_ctr_st(pod, bad, pc, &id, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(details, "target_id"));
	Runtime__V1__PodSandboxConfig *pc2 = pod_config("pod-target-other", POD_LABELS);
	char *pod2 = run_pod(pc2);
	bns->target_id = app;
	assert_int_equal(create_ctr_st(pod2, bad, pc2, &id, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(details, "another pod"));
	stop_ctr(app, 0);
	assert_int_equal(create_ctr_st(pod, bad, pc, &id, &details), GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(details, "not running"));
	assert_int_equal(list_ctrs(NULL)->n_containers, 2); /* app and debugger only */
}

/* A pod with the host's network, IPC and PID namespaces: the container's are this process's; it
 * sees the host's processes (this one among them) and has the host's hostname; and a pod with
 * its own PID-per-container mode: PID 1 is the container's process. */
static void test_host_namespaces(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-host", POD_LABELS);
	Runtime__V1__NamespaceOption *o = pc->linux->security_context->namespace_options;
	o->network = o->ipc = o->pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	char *pod = run_pod(pc);
	const char *script = tprintf("echo \"self=$$\"; echo \"net=$(readlink /proc/self/ns/net)\";"
				     " echo \"ipc=$(readlink /proc/self/ns/ipc)\"; echo \"pidns=$(readlink /proc/self/ns/pid)\";"
				     " echo \"uts=$(readlink /proc/self/ns/uts)\"; echo \"host=$(hostname)\";"
				     " if [ -d /proc/%d ]; then echo tester=visible; else echo tester=hidden; fi; " END_SH,
				     (int)getpid());
	Runtime__V1__ContainerConfig *cc = ctr_config("hostns", script, NULL);
	Runtime__V1__NamespaceOption *co = TNEW(Runtime__V1__NamespaceOption, runtime__v1__namespace_option__descriptor);
	co->network = co->ipc = co->pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sec(cc)->namespace_options = co;
	Runtime__V1__ContainerConfig *v[] = { cc, NULL };
	start_all(pod, pc, v);
	const char *n = "hostns", *log = output_of(n);
	char ns[64];
	const char *kinds[] = { "net", "ipc", "pid", "uts" }, *keys[] = { "net", "ipc", "pidns", "uts" };
	for (size_t i = 0; i < 4; i++) {
		memset(ns, 0, sizeof ns);
		assert_true(readlink(tprintf("/proc/self/ns/%s", kinds[i]), ns, sizeof ns - 1) > 0);
		expect(log, n, keys[i], ns);
	}
	expect(log, n, "net", fx.host_netns);
	assert_int_not_equal(atoi(val(log, n, "self")), 1);
	expect(log, n, "tester", "visible");
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	expect(log, n, "host", u.nodename);

	/* a container of a pod with its own namespaces (PID mode CONTAINER) */
	Runtime__V1__PodSandboxConfig *pc2 = pod_config("pod-own", POD_LABELS);
	char *pod2 = run_pod(pc2);
	Runtime__V1__ContainerConfig *own_ns = ctr_config("ownns", script, NULL);
	Runtime__V1__ContainerConfig *v2[] = { own_ns, NULL };
	start_all(pod2, pc2, v2);
	n = "ownns", log = output_of(n);
	expect(log, n, "self", "1");
	expect(log, n, "tester", "hidden");
	expect(log, n, "host", "pod-own");
	for (size_t i = 0; i < 4; i++) {
		memset(ns, 0, sizeof ns);
		assert_true(readlink(tprintf("/proc/self/ns/%s", kinds[i]), ns, sizeof ns - 1) > 0);
		assert_string_not_equal(val(log, n, keys[i]), ns);
	}
}

/* The pod's sysctls (dotted and slash-separated names) as its containers read them back; the
 * host's values are untouched. */
static void test_sysctls(void **state)
{
	(void)state;
	char host_port[32] = "", host_rmid[32] = "", host_ttl[32] = "";
	char *s = harness_slurp("/proc/sys/net/ipv4/ip_unprivileged_port_start");
	snprintf(host_port, sizeof host_port, "%s", s ? s : "");
	free(s);
	s = harness_slurp("/proc/sys/kernel/shm_rmid_forced");
	snprintf(host_rmid, sizeof host_rmid, "%s", s ? s : "");
	free(s);
	s = harness_slurp("/proc/sys/net/ipv4/ip_default_ttl");
	snprintf(host_ttl, sizeof host_ttl, "%s", s ? s : "");
	free(s);
	assert_string_not_equal(host_port, "80\n");
	assert_string_not_equal(host_rmid, "1\n");
	assert_string_not_equal(host_ttl, "77\n");

	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-sysctl", POD_LABELS);
	static const char *const sysctls[] = { "net.ipv4.ip_unprivileged_port_start", "80", "kernel.shm_rmid_forced", "1",
					       "net/ipv4/ip_default_ttl", "77", NULL };
	pc->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, sysctls,
				    &pc->linux->n_sysctls);
	char *pod = run_pod(pc);
	const char *script = "echo \"port=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)\";"
			     " echo \"rmid=$(cat /proc/sys/kernel/shm_rmid_forced)\";"
			     " echo \"ttl=$(cat /proc/sys/net/ipv4/ip_default_ttl)\"; " END_SH;
	Runtime__V1__ContainerConfig *v[] = { ctr_config("sysctl", script, NULL), NULL };
	start_all(pod, pc, v);
	const char *n = "sysctl", *log = output_of(n);
	expect(log, n, "port", "80");
	expect(log, n, "rmid", "1");
	expect(log, n, "ttl", "77");
	s = harness_slurp("/proc/sys/net/ipv4/ip_unprivileged_port_start");
	own(s, free);
	assert_string_equal(s, host_port);
	s = harness_slurp("/proc/sys/kernel/shm_rmid_forced");
	own(s, free);
	assert_string_equal(s, host_rmid);
	s = harness_slurp("/proc/sys/net/ipv4/ip_default_ttl");
	own(s, free);
	assert_string_equal(s, host_ttl);
}

/* Host path mounts with each propagation: PRIVATE (neither shared nor slave inside),
 * HOST_TO_CONTAINER (a slave: a mount made on the host later appears inside), BIDIRECTIONAL (shared:
 * a mount made inside appears on the host); the latter two refused on a private host mount. */
static void test_mount_propagation(void **state)
{
	(void)state;
	snprintf(sx.shared, sizeof sx.shared, "%s/shared", sx.dir);
	assert_int_equal(mkdir(sx.shared, 0755), 0);
	assert_int_equal(mount("tmpfs", sx.shared, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755"), 0);
	sx.mounted = 1;
	assert_int_equal(mount(NULL, sx.shared, NULL, MS_SHARED, NULL), 0);
	FILE *f = fopen(tprintf("%s/greeting", sx.shared), "we");
	assert_non_null(f);
	fputs("hello from the shared mount\n", f);
	assert_int_equal(fclose(f), 0);

	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-prop", POD_LABELS);
	char *pod = run_pod(pc);

	/* a private host mount cannot propagate */
	Runtime__V1__ContainerConfig *bad = ctr_config("bad-h2c", "true", NULL);
	add_mount(bad, fx.hostdir, "/mnt/x", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER);
	expect_refused(pod, pc, bad, LBL("mounts[0]", "propagation"));
	bad = ctr_config("bad-bidi", "true", NULL);
	add_mount(bad, fx.hostdir, "/mnt/x", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL);
	expect_refused(pod, pc, bad, LBL("mounts[0]", "bidirectional"));

	Runtime__V1__ContainerConfig *priv = ctr_config("private", MOUNTS_SH "cat /mnt/p/greeting; " END_SH, NULL);
	add_mount(priv, fx.hostdir, "/mnt/p", 1, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	Runtime__V1__ContainerConfig *h2c = ctr_config(
		"h2c", MOUNTS_SH "cat /mnt/h/greeting; echo h2c-ready; while [ ! -e /mnt/h/late/marker ]; do sleep 0.05; done;"
			       " echo \"late=$(cat /mnt/h/late/marker)\"; " END_SH, NULL);
	add_mount(h2c, sx.shared, "/mnt/h", 1, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER);
	Runtime__V1__ContainerConfig *bidi = ctr_config(
		"bidi", MOUNTS_SH "cat /mnt/b/greeting; mkdir -p /mnt/b/inner && mount -t tmpfs inner /mnt/b/inner &&"
				" echo from-the-container > /mnt/b/inner/marker && echo bidi=mounted; " END_SH, NULL);
	add_mount(bidi, sx.shared, "/mnt/b", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL);
	set_caps(bidi, LBL("SYS_ADMIN"), NULL, NULL);
	Runtime__V1__ContainerConfig *cc[] = { priv, h2c, bidi, NULL };
	start_all(pod, pc, cc);

	const char *n = "private", *log = output_of(n);
	assert_non_null(strstr(log, "stdout F hello from the host\n"));
	const char *m = mnt_of(log, n, "/mnt/p", 0);
	if (strstr(m, "shared:") || strstr(m, "master:"))
		print_error("private mount propagates: %s\n", m);
	assert_null(strstr(m, "shared:"));
	assert_null(strstr(m, "master:"));
	expect_mnt_ro(log, n, "/mnt/p", 1);

	n = "bidi", log = output_of(n);
	assert_non_null(strstr(log, "stdout F hello from the shared mount\n"));
	expect(log, n, "bidi", "mounted");
	m = mnt_of(log, n, "/mnt/b", 0);
	if (!strstr(m, "shared:"))
		print_error("bidirectional mount is not shared inside: %s\n", m);
	assert_non_null(strstr(m, "shared:"));
	/* the container's mount reached the host */
	char *marker = harness_slurp(tprintf("%s/inner/marker", sx.shared));
	own(marker, free);
	if (!marker)
		print_error("the container's mount at /mnt/b/inner did not propagate to %s/inner\n", sx.shared);
	assert_non_null(marker);
	assert_string_equal(marker, "from-the-container\n");
	assert_non_null(strstr(mounts_under(sx.shared), tprintf("%s/inner\n", sx.shared)));

	n = "h2c";
	log = wait_log(log_path_of(n), "h2c-ready");
	assert_non_null(strstr(log, "stdout F hello from the shared mount\n"));
	m = mnt_of(log, n, "/mnt/h", 0);
	if (!strstr(m, "master:"))
		print_error("host-to-container mount is not a slave inside: %s\n", m);
	assert_non_null(strstr(m, "master:"));
	assert_null(strstr(m, "shared:"));
	expect_mnt_ro(log, n, "/mnt/h", 1);
	/* a mount made on the host now shows inside */
	const char *late = tprintf("%s/late", sx.shared);
	assert_int_equal(mkdir(late, 0755), 0);
	assert_int_equal(mount("tmpfs", late, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"), 0);
	f = fopen(tprintf("%s/marker", late), "we");
	assert_non_null(f);
	fputs("from-the-host\n", f);
	assert_int_equal(fclose(f), 0);
	log = output_of(n);
	expect(log, n, "late", "from-the-host");
}

/* Bad input: each refused with INVALID_ARGUMENT naming the field, creating nothing. */
static void test_bad_input(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-bad", POD_LABELS);
	char *pod = run_pod(pc);

	Runtime__V1__ContainerConfig *cc = ctr_config("bad-add", SLEEP_FOREVER, NULL);
	set_caps(cc, LBL("NET_ADMIN", "CAP_NO_SUCH_THING"), NULL, NULL);
	expect_refused(pod, pc, cc, LBL("add_capabilities", "CAP_NO_SUCH_THING"));

	/* a capability the daemon does not hold cannot be granted: refused, not dropped.  On any host:
	 * the daemon is restarted without CAP_SYS_MODULE in its bounding set (setpriv), then as before.
	 * (A capability every root host grants; this one has none of CAP_SYS_RESOURCE anyway.) */
	assert_int_equal(harness_stop(&fx.d), 0);
	static const char *const no_sys_module[] = { "/usr/bin/setpriv", "--bounding-set=-sys_module", NULL };
	fx.d.wrap = no_sys_module;
	int started = start_daemon();
	fx.d.wrap = NULL;
	assert_int_equal(started, 0);
	char *status = harness_slurp(tprintf("/proc/%d/status", (int)fx.d.pid));
	assert_non_null(status);
	own(status, free);
	const char *bnd = strstr(status, "CapBnd:\t");
	assert_non_null(bnd);
	assert_false(strtoull(bnd + 8, NULL, 16) & (1ULL << 16)); /* CAP_SYS_MODULE */
	cc = ctr_config("bad-unheld", SLEEP_FOREVER, NULL);
	set_caps(cc, LBL("SYS_MODULE"), NULL, NULL);
	expect_refused(pod, pc, cc, LBL("add_capabilities", "CAP_SYS_MODULE", "not held"));
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(start_daemon(), 0);

	cc = ctr_config("bad-drop", SLEEP_FOREVER, NULL);
	set_caps(cc, NULL, LBL("chown", "MAKE_COFFEE"), NULL);
	expect_refused(pod, pc, cc, LBL("drop_capabilities", "MAKE_COFFEE"));

	const char *missing = tprintf("%s/no-such-profile.json", sx.dir);
	cc = ctr_config("bad-seccomp", SLEEP_FOREVER, NULL);
	sec(cc)->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, missing);
	expect_refused(pod, pc, cc, LBL("seccomp", missing));

	cc = ctr_config("bad-memory", SLEEP_FOREVER, NULL);
	sec(cc); /* linux */
	cc->linux->resources =
		TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	cc->linux->resources->memory_limit_in_bytes = -1;
	expect_refused(pod, pc, cc, LBL("memory -1"));

	cc = ctr_config("bad-shares", SLEEP_FOREVER, NULL);
	sec(cc);
	cc->linux->resources =
		TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	cc->linux->resources->cpu_shares = -5;
	expect_refused(pod, pc, cc, LBL("cpu_shares -5"));

	cc = ctr_config("bad-privileged", SLEEP_FOREVER, NULL);
	sec(cc)->privileged = 1;
	expect_refused(pod, pc, cc, LBL("privileged"));

	cc = ctr_config("bad-group", SLEEP_FOREVER, NULL);
	sec(cc)->run_as_group = i64(1000);
	expect_refused(pod, pc, cc, LBL("run_as_group"));

	cc = ctr_config("bad-username", SLEEP_FOREVER, NULL);
	sec(cc)->run_as_username = "no-such-user";
	expect_refused(pod, pc, cc, LBL("run_as_username", "no-such-user"));

	cc = ctr_config("bad-apparmor", SLEEP_FOREVER, NULL);
	sec(cc)->apparmor = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, "litecri-test-profile");
	expect_refused(pod, pc, cc, LBL("AppArmor", "litecri-test-profile"));

	/* pods: a sysctl of no namespace; a network sysctl in a pod on the host's network */
	Runtime__V1__PodSandboxConfig *bp = pod_config("pod-bad-sysctl", POD_LABELS);
	static const char *const hostname_sysctl[] = { "kernel.hostname", "evil", NULL };
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, hostname_sysctl,
				    &bp->linux->n_sysctls);
	expect_pod_refused(bp, LBL("sysctl", "kernel.hostname"), LBL(pod));
	bp = pod_config("pod-bad-netsysctl", POD_LABELS);
	bp->linux->security_context->namespace_options->network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	static const char *const net_sysctl[] = { "net.ipv4.ip_default_ttl", "5", NULL };
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, net_sysctl,
				    &bp->linux->n_sysctls);
	expect_pod_refused(bp, LBL("sysctl", "net.ipv4.ip_default_ttl", "network"), LBL(pod));
	/* pods: a sysctl this kernel does not have (runc: "open /proc/sys/...: no such file"), a value
	 * it refuses (runc: "write /proc/sys/...: invalid argument"): INVALID_ARGUMENT, not INTERNAL */
	static const char *const unknown_sysctl[] = { "net.ipv4.no_such_sysctl", "1", NULL };
	bp = pod_config("pod-unknown-sysctl", POD_LABELS);
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, unknown_sysctl,
				    &bp->linux->n_sysctls);
	expect_pod_refused(bp, LBL("sysctl", "net.ipv4.no_such_sysctl"), LBL(pod));
	static const char *const bad_value[] = { "net.ipv4.ip_default_ttl", "not-a-number", NULL };
	/* the kernel refuses it: written by litecri into the pod's pinned namespace (no infra
	 * container), and by runc for a pod that has one */
	bp = pod_config("pod-bad-sysctl-value", POD_LABELS);
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, bad_value,
				    &bp->linux->n_sysctls);
	expect_pod_refused(bp, LBL("ip_default_ttl", "Invalid argument"), LBL(pod));
	bp = pod_config_infra("pod-bad-sysctl-value-infra", POD_LABELS);
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, bad_value,
				    &bp->linux->n_sysctls);
	expect_pod_refused(bp, LBL("ip_default_ttl", "invalid argument"), LBL(pod));
	/* pods: a Localhost seccomp profile that is not there (as for a container) */
	bp = pod_config("pod-bad-seccomp", POD_LABELS);
	bp->linux->security_context->seccomp = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, missing);
	expect_pod_refused(bp, LBL("seccomp", missing), LBL(pod));
	/* pods: a runtime handler this node does not have (containerd: no runtime for "X" is
	 * configured); the OCI runtime's own name, as Status reports it, is one */
	bp = pod_config("pod-bad-handler", POD_LABELS);
	expect_pod_refused_h(bp, "no-such-runtime", LBL("runtime_handler", "no-such-runtime"), LBL(pod));
	/* pods: a cgroup parent that is relative, climbs out, or is not clean; runc would make
	 * (and leave) cgroups of whatever it became */
	const char *rel = tprintf("%s-relative", fx.cgparent + 1);
	const char *const bad_parents[] = { rel, tprintf("%s/../litecri-escape", fx.cgparent),
					    tprintf("%s//x", fx.cgparent), tprintf("%s/./x", fx.cgparent),
					    tprintf("%s/", fx.cgparent), NULL };
	for (size_t i = 0; bad_parents[i]; i++) {
		bp = pod_config(tprintf("pod-bad-cgroup-%zu", i), POD_LABELS);
		bp->linux->cgroup_parent = (char *)bad_parents[i];
		expect_pod_refused(bp, LBL("cgroup_parent", bad_parents[i]), LBL(pod));
	}
	assert_int_equal(cgroups_named(rel), 0);
	assert_int_equal(cgroups_named("litecri-escape"), 0);

	/* containers: what runc refuses only once it runs */
	cc = ctr_config("bad-proc", SLEEP_FOREVER, NULL);
	add_mount(cc, fx.hostdir, "/proc", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	expect_refused(pod, pc, cc, LBL("mounts[0].container_path", "/proc"));
	cc = ctr_config("bad-proc-sys", SLEEP_FOREVER, NULL);
	add_mount(cc, fx.hostdir, "/proc/sys/kernel", 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	expect_refused(pod, pc, cc, LBL("mounts[0].container_path", "/proc/sys/kernel"));
	cc = ctr_config("bad-quota", SLEEP_FOREVER, NULL);
	sec(cc);
	cc->linux->resources =
		TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	cc->linux->resources->cpu_quota = 1;
	expect_refused(pod, pc, cc, LBL("cpu_quota 1"));
	cc = ctr_config("bad-cpuset", SLEEP_FOREVER, NULL);
	sec(cc);
	cc->linux->resources =
		TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
	cc->linux->resources->cpuset_cpus = "0-99999";
	expect_refused(pod, pc, cc, LBL("cpuset_cpus", "0-99999"));
	/* the container's program is not in the image: runc's own words, INVALID_ARGUMENT */
	cc = ctr_config("bad-binary", SLEEP_FOREVER, NULL);
	cc->command[0] = "/no/such/binary";
	cc->n_command = 1;
	expect_refused(pod, pc, cc, LBL("/no/such/binary", "no such file or directory"));
	cc = ctr_config("bad-program", SLEEP_FOREVER, NULL);
	cc->command[0] = "no-such-program";
	cc->n_command = 1;
	expect_refused(pod, pc, cc, LBL("no-such-program", "executable file not found"));

	/* and the pod still works; the runtime's own name is a handler too */
	Runtime__V1__PodSandboxConfig *rp = pod_config("pod-runc-handler", POD_LABELS);
	char *rpod, *details;
	grpc_status_code hst = run_pod_handler_st(rp, "runc", &rpod, &details);
	if (hst != GRPC_STATUS_OK)
		print_error("RunPodSandbox with handler runc: %s (%s)\n", cri_status_name(hst), details);
	assert_int_equal(hst, GRPC_STATUS_OK);
	assert_string_equal(pod_status(rpod)->runtime_handler, "runc");
	remove_pod(rpod);
	Runtime__V1__ContainerConfig *v[] = { ctr_config("good", "echo good; " END_SH, NULL), NULL };
	start_all(pod, pc, v);
	output_of("good");
}

/* A refusal quoting a 64 KiB value: status `want`, a message under 1 KiB naming each needle. */
static void expect_short(const char *what, grpc_status_code st, grpc_status_code want, const char *details,
			 const char *const *needles)
{
	if (st != want)
		print_error("%s: %s (%.300s), wanted %s\n", what, cri_status_name(st), details, cri_status_name(want));
	assert_int_equal(st, want);
	size_t n = strlen(details);
	if (n >= 1024)
		print_error("%s: a %zu-byte message: %.300s...\n", what, n, details);
	assert_true(n < 1024);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(details, needles[i])) {
			print_error("%s: the message \"%s\" does not name \"%s\"\n", what, details, needles[i]);
			fail();
		}
}

/* expect_short of a call that sets `details` (read once the call has returned). */
#define EXPECT_SHORT(what, call, want, needles)                                   \
	do {                                                                      \
		grpc_status_code st_ = (call);                                     \
		expect_short(what, st_, want, details, needles);                  \
	} while (0)

/* Messages quote at most a bounded prefix of what a request holds: 64 KiB names, IDs, references,
 * handlers, cgroup parents and sysctl values are each refused with a message under 1 KiB that names
 * the field; nothing is created and the daemon goes on answering. */
static void test_long_values(void **state)
{
	(void)state;
	enum { BIG = 65536 };
	char *big = talloc(BIG + 1), *hex = talloc(BIG + 1);
	memset(big, 'x', BIG);
	memset(hex, 'a', BIG);
	big[BIG] = hex[BIG] = '\0';
	char *slashed = tprintf("%s/", big);
	const char *sized = tprintf("(%d bytes)", BIG + 1);
	Runtime__V1__PodSandboxConfig *pc = pod_config("pod-long", POD_LABELS);
	char *pod = run_pod(pc);
	char *id, *details;

	Runtime__V1__PodSandboxConfig *bp = pod_config(slashed, POD_LABELS);
	EXPECT_SHORT("RunPodSandbox with a long bad name", run_pod_st(bp, &id, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("metadata name", sized));
	bp = pod_config("pod-long-handler", POD_LABELS);
	EXPECT_SHORT("RunPodSandbox with a long handler", run_pod_handler_st(bp, big, &id, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("runtime_handler", "(65536 bytes)"));
	bp = pod_config("pod-long-cgroup", POD_LABELS);
	bp->linux->cgroup_parent = big;
	EXPECT_SHORT("RunPodSandbox with a long cgroup parent", run_pod_st(bp, &id, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("cgroup_parent"));
	bp = pod_config("pod-long-sysctl", POD_LABELS);
	const char *sysctl[] = { "net.ipv4.ip_default_ttl", tprintf("1\n%s", big), NULL };
	bp->linux->sysctls = map_of(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, sysctl,
				    &bp->linux->n_sysctls);
	EXPECT_SHORT("RunPodSandbox with a long sysctl value", run_pod_st(bp, &id, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("sysctl", "net.ipv4.ip_default_ttl", "(65538 bytes)"));

	Runtime__V1__PodSandboxStatusResponse *ps;
	EXPECT_SHORT("PodSandboxStatus of a long ID", pod_status_st(hex, &ps, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("sandbox ID", "(65536 bytes)"));
	Runtime__V1__ContainerStatusResponse *cs;
	EXPECT_SHORT("ContainerStatus of a long ID", ctr_status_st(hex, 0, &cs, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("container ID", "(65536 bytes)"));
	EXPECT_SHORT("StartContainer of a long ID", start_ctr_st(hex, &details), GRPC_STATUS_INVALID_ARGUMENT,
		     LBL("container ID"));
	EXPECT_SHORT("CreateContainer in a long sandbox ID", create_ctr_st(hex, ctr_config("c", "true", NULL), pc, &id,
		     &details), GRPC_STATUS_INVALID_ARGUMENT, LBL("sandbox", "(65536 bytes)"));
	Runtime__V1__ContainerConfig *cc = ctr_config(big, "true", NULL);
	cc->image->image = UPSTREAM "not-pulled:1.0";
	EXPECT_SHORT("CreateContainer with a long name", create_ctr_st(pod, cc, pc, &id, &details),
		     GRPC_STATUS_NOT_FOUND, LBL("image", "not-pulled", "(65536 bytes)"));
	cc = ctr_config("long-image", "true", NULL);
	cc->image->image = big;
	EXPECT_SHORT("CreateContainer with a long image", create_ctr_st(pod, cc, pc, &id, &details),
		     GRPC_STATUS_NOT_FOUND, LBL("image", "(65536 bytes)"));
	cc = ctr_config("long-mount", "true", NULL);
	add_mount(cc, fx.hostdir, tprintf("/proc/%s", big), 0, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE);
	EXPECT_SHORT("CreateContainer with a long mount", create_ctr_st(pod, cc, pc, &id, &details),
		     GRPC_STATUS_INVALID_ARGUMENT, LBL("mounts[0].container_path"));

	/* nothing was made, and the daemon still answers */
	assert_ctr_list("containers after the long refusals", NULL, NULL);
	assert_pod_list("pods after the long refusals", NULL, pod, NULL);
	assert_int_equal(count_entries(tprintf("%s/containers", fx.d.root)), 0);
	assert_int_equal(count_entries(tprintf("%s/sandboxes", fx.d.root)), 1);
	Runtime__V1__ContainerConfig *v[] = { ctr_config("after-long", "echo fine; " END_SH, NULL), NULL };
	start_all(pod, pc, v);
	output_of("after-long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_capabilities, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_users, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_readonly_rootfs, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_nnp_seccomp_apparmor, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_masked_readonly_paths, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_privileged, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_pid_pod, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_pid_target, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_host_namespaces, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_sysctls, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_mount_propagation, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_bad_input, sec_up, sec_down),
		cmocka_unit_test_setup_teardown(test_long_values, sec_up, sec_down),
	};
	return podfix_main("security", tests, sizeof tests / sizeof *tests);
}
