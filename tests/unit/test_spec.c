/*
 * test_spec.c — the OCI spec of containers and pod infra processes (src/cri/spec/), user
 * resolution in a rootfs (userdb.c) and the overlay rootfs (rootfs.c), on real files and mounts.
 *
 * Each test has a fresh temporary directory holding a small rootfs (etc/passwd, etc/group) that
 * users resolve through.  The last test runs a generated spec with runc 1.1.5 on an overlay of a
 * busybox rootfs and checks what `id` and `env` print inside.  Runs as root (mounts, mknod, runc).
 * Everything a test mounts or creates is undone in its teardown, even when it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "cri/spec/spec.h"
#include "runtime/rootfs.h"
#include "runtime/userdb.h"
#include "util/log.h"

#define STR(s) ((char *)(s))
#define SANDBOX_ID "5a11d0b0a0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b"
#define CTR_ID "c0417a1e0a0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6"
#define RUNC "/usr/sbin/runc"
#define BUSYBOX "/bin/busybox"

#define PASSWD "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n"
#define GROUP "root:x:0:\napp:x:1000:\nextra:x:2000:app\nthird:x:3000:other,app\n"

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char rootfs[PATH_MAX];     /* etc/passwd, etc/group */
	char undo_mounts[8][PATH_MAX];
	size_t n_undo;
	char runc_root[PATH_MAX];  /* set once a runc container may exist */
	char cgroup_parent[64];

	Runtime__V1__PodSandboxConfig pod;
	Runtime__V1__PodSandboxMetadata pod_md;
	Runtime__V1__ContainerConfig cc;
	Runtime__V1__ContainerMetadata cc_md;
	Runtime__V1__LinuxContainerConfig lc;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__NamespaceOption nso;
	char *command[4];
	struct spec_pod p;
	struct spec_container c;
};
TMPDIR_FIXTURE_CHECK(struct fx);

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

/* snprintf into an array, failing the test if it does not fit. */
#define PATHF(buf, ...) \
	do { \
		if (snprintf(buf, sizeof buf, __VA_ARGS__) >= (int)sizeof buf) \
			fail_msg("path too long: " #buf); \
	} while (0)

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void mkdirs(const char *base, const char *rel)
{
	char path[PATH_MAX];
	PATHF(path, "%s/%s", base, rel);
	for (char *p = path + strlen(base) + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				fail_msg("mkdir %s: %s", path, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
}

static void put(const char *base, const char *rel, const char *content)
{
	char path[PATH_MAX];
	PATHF(path, "%s/%s", base, rel);
	write_file(path, content);
}

static void link_to(const char *base, const char *rel, const char *target)
{
	char path[PATH_MAX];
	PATHF(path, "%s/%s", base, rel);
	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

/* Remember a mount the teardown must undo. */
static void undo_mount(struct fx *f, const char *path)
{
	assert_true(f->n_undo < sizeof f->undo_mounts / sizeof f->undo_mounts[0]);
	snprintf(f->undo_mounts[f->n_undo++], PATH_MAX, "%s", path);
}

/* `path` bind-mounted onto itself with the given propagation (MS_SHARED, MS_PRIVATE, ...). */
static void bind_self(struct fx *f, const char *path, unsigned long prop)
{
	if (mount(path, path, NULL, MS_BIND, NULL) < 0)
		fail_msg("bind %s: %s", path, strerror(errno));
	undo_mount(f, path);
	if (mount(NULL, path, NULL, prop, NULL) < 0)
		fail_msg("propagation of %s: %s", path, strerror(errno));
}

/* o["a"]["b"]... for "a.b" */
static json_t *jget(json_t *o, const char *path)
{
	char buf[256];
	PATHF(buf, "%s", path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o;
}

static const char *jstr(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

static long long jint(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static int has_str(json_t *arr, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) return 1;
	return 0;
}

/* The array arr is exactly the NULL-terminated strings want. */
static void assert_strv(json_t *arr, const char *const *want)
{
	size_t n = 0;
	for (; want[n]; n++) {
		json_t *e = json_array_get(arr, n);
		if (!json_is_string(e) || strcmp(json_string_value(e), want[n]) != 0)
			fail_msg("element %zu: got %s, want %s", n, json_is_string(e) ? json_string_value(e) : "(none)",
				 want[n]);
	}
	assert_int_equal(json_array_size(arr), n);
}

/* The mounts of spec at destination dst (how many in *count); the last one. */
static json_t *find_mount(json_t *spec, const char *dst, int *count)
{
	json_t *found = NULL, *m;
	size_t i;
	int n = 0;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0) {
			found = m;
			n++;
		}
	}
	if (count)
		*count = n;
	return found;
}

static size_t mount_index(json_t *spec, const char *dst)
{
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) if (strcmp(json_string_value(json_object_get(m, "destination")),
									       dst) == 0) return i;
	fail_msg("no mount at %s", dst);
	return 0;
}

/* The namespace entry of that type (NULL if none). */
static json_t *find_ns(json_t *spec, const char *type)
{
	json_t *n;
	size_t i;
	json_array_foreach(jget(spec, "linux.namespaces"), i, n) if (strcmp(jstr(n, "type"), type) == 0) return n;
	return NULL;
}

static json_t *ok_spec(struct fx *f)
{
	struct lc_err err = { 0 };
	json_t *spec = NULL;
	if (spec_container(&f->p, &f->c, &spec, &err) < 0)
		fail_msg("spec_container: %s", err.msg);
	assert_non_null(spec);
	/* always serializable */
	char *text = json_dumps(spec, 0);
	assert_non_null(text);
	free(text);
	return spec;
}

/* spec_container must fail: returns errnum, message in msg (if not NULL). */
static int bad_spec(struct fx *f, const char *must_mention)
{
	struct lc_err err = { 0 };
	json_t *spec = NULL;
	if (spec_container(&f->p, &f->c, &spec, &err) == 0) {
		char *text = json_dumps(spec, JSON_INDENT(1));
		print_error("spec_container accepted it:\n%s\n", text);
		free(text);
		json_decref(spec);
		fail();
	}
	assert_null(spec);
	if (must_mention && !strstr(err.msg, must_mention))
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, must_mention);
	return err.errnum;
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "spec");
	if (!f)
		return -1;
	/* dir is shorter than TMPDIR_DIR_SIZE: these fit */
	snprintf(f->rootfs, sizeof f->rootfs, "%s/rootfs", f->dir);
	char etc[PATH_MAX + 8], passwd[PATH_MAX + 16], group[PATH_MAX + 16];
	snprintf(etc, sizeof etc, "%s/etc", f->rootfs);
	snprintf(passwd, sizeof passwd, "%s/passwd", etc);
	snprintf(group, sizeof group, "%s/group", etc);
	FILE *pw = NULL, *gr = NULL;
	int ok = mkdir(f->rootfs, 0755) == 0 && mkdir(etc, 0755) == 0 && (pw = fopen(passwd, "w")) &&
		 (gr = fopen(group, "w")) && fputs(PASSWD, pw) >= 0 && fputs(GROUP, gr) >= 0;
	if ((pw && fclose(pw) != 0) || (gr && fclose(gr) != 0))
		ok = 0;
	if (!ok) {
		print_error("rootfs %s: %s\n", f->rootfs, strerror(errno));
		tmpdir_fixture_free(f);
		return -1;
	}

	Runtime__V1__PodSandboxConfig pod = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxMetadata pod_md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__ContainerConfig cc = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerMetadata cc_md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__LinuxContainerConfig lc = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	Runtime__V1__LinuxContainerSecurityContext sc;
	/* clang takes the _INIT macro for a use of the deprecated fields */
	runtime__v1__linux_container_security_context__init(&sc);
	Runtime__V1__NamespaceOption nso = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	f->pod = pod;
	f->pod_md = pod_md;
	f->cc = cc;
	f->cc_md = cc_md;
	f->lc = lc;
	f->sc = sc;
	f->nso = nso;
	f->pod_md.name = STR("pod1");
	f->pod_md.namespace_ = STR("default");
	f->pod_md.uid = STR("uid-1");
	f->pod.metadata = &f->pod_md;
	f->pod.hostname = STR("podhost");
	f->pod.log_directory = STR("/var/log/pods/x");
	f->cc_md.name = STR("ctr1");
	f->cc.metadata = &f->cc_md;
	f->command[0] = STR("/bin/sh");
	f->cc.command = f->command;
	f->cc.n_command = 1;
	f->cc.linux = &f->lc;
	f->lc.security_context = &f->sc;
	f->sc.namespace_options = &f->nso;
	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	f->nso.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->nso.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->p.id = SANDBOX_ID;
	f->p.config = &f->pod;
	f->c.id = CTR_ID;
	f->c.config = &f->cc;
	f->c.image_name = "docker.io/library/busybox:latest";
	f->c.rootfs = f->rootfs;
	*state = f;
	return 0;
}

static void run_quiet(const char *const *argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int ret = 0;
	if (f->runc_root[0]) {
		const char *argv[] = { RUNC, "--root", f->runc_root, "delete", "--force", CTR_ID, NULL };
		run_quiet(argv);
	}
	for (size_t i = f->n_undo; i-- > 0;) {
		struct lc_err err;
		if (rootfs_unmount(f->undo_mounts[i], &err) < 0) {
			print_error("%s\n", err.msg);
			ret = -1;
		}
	}
	if (f->cgroup_parent[0]) {
		/* runc removed the container's cgroups; their parent is ours */
		DIR *d = opendir("/sys/fs/cgroup");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[PATH_MAX];
			if (e->d_name[0] == '.')
				continue;
			PATHF(path, "/sys/fs/cgroup/%s%s", e->d_name, f->cgroup_parent);
			if (rmdir(path) < 0 && errno != ENOENT && errno != ENOTDIR) {
				print_error("rmdir %s: %s\n", path, strerror(errno));
				ret = -1;
			}
		}
		if (d)
			closedir(d);
	}
	if (tmpdir_fixture_free(f) < 0)
		ret = -1;
	return ret;
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* process                                                                                    */

#define IMAGE_EP_CMD "{\"config\": {\"Entrypoint\": [\"/ep\", \"e1\"], \"Cmd\": [\"c1\", \"c2\"]}}"

static void test_args_merge(void **state)
{
	struct fx *f = *state;
	char *cmd[] = { STR("/cmd") }, *args[] = { STR("a1") };
	f->c.image_config = IMAGE_EP_CMD;
	struct {
		size_t n_cmd, n_args;
		const char *want[5];
	} cases[] = {
		{ 0, 0, { "/ep", "e1", "c1", "c2", NULL } },
		{ 1, 0, { "/cmd", NULL } },
		{ 0, 1, { "/ep", "e1", "a1", NULL } },
		{ 1, 1, { "/cmd", "a1", NULL } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		f->cc.command = cmd;
		f->cc.n_command = cases[i].n_cmd;
		f->cc.args = args;
		f->cc.n_args = cases[i].n_args;
		json_t *spec = ok_spec(f);
		assert_strv(jget(spec, "process.args"), cases[i].want);
		json_decref(spec);
	}

	/* Entrypoint [""] means none */
	f->c.image_config = "{\"config\": {\"Entrypoint\": [\"\"], \"Cmd\": [\"/c\"]}}";
	f->cc.n_command = f->cc.n_args = 0;
	json_t *spec = ok_spec(f);
	assert_strv(jget(spec, "process.args"), (const char *const[]){ "/c", NULL });
	json_decref(spec);

	/* nothing to run */
	f->c.image_config = "{\"config\": {}}";
	assert_int_equal(bad_spec(f, "no command"), EINVAL);
	f->c.image_config = NULL;
	assert_int_equal(bad_spec(f, "no command"), EINVAL);

	/* malformed image configs */
	f->cc.command = cmd;
	f->cc.n_command = 1;
	f->c.image_config = "{\"config\": {\"Cmd\": \"not an array\"}}";
	assert_int_equal(bad_spec(f, "Cmd"), EINVAL);
	f->c.image_config = "not json";
	assert_int_equal(bad_spec(f, "image config"), EINVAL);

	/* a command that is not UTF-8 */
	f->c.image_config = NULL;
	char *bad[] = { STR("/bin/\xff") };
	f->cc.command = bad;
	assert_int_equal(bad_spec(f, "UTF-8"), EINVAL);
}

static void test_env(void **state)
{
	struct fx *f = *state;
	char host[256];
	assert_int_equal(gethostname(host, sizeof host), 0);
	char want_host[300];
	PATHF(want_host, "HOSTNAME=%s", host);

	f->c.image_config = "{\"config\": {\"Env\": [\"PATH=/img/bin\", \"A=1\", \"B=2\", \"HOME=/img\"]}}";
	Runtime__V1__KeyValue a = RUNTIME__V1__KEY_VALUE__INIT, c = RUNTIME__V1__KEY_VALUE__INIT;
	a.key = STR("A");
	a.value.data = (uint8_t *)"x=y";
	a.value.len = 3;
	c.key = STR("C");
	Runtime__V1__KeyValue *envs[] = { &a, &c };
	f->cc.envs = envs;
	f->cc.n_envs = 2;
	json_t *spec = ok_spec(f);
	json_t *env = jget(spec, "process.env");
	assert_true(has_str(env, "PATH=/img/bin"));
	assert_true(has_str(env, "A=x=y"));
	assert_false(has_str(env, "A=1"));
	assert_true(has_str(env, "B=2"));
	assert_true(has_str(env, "C="));
	assert_true(has_str(env, "HOME=/img"));
	assert_true(has_str(env, want_host));
	assert_int_equal(json_array_size(env), 6);
	assert_null(json_object_get(spec, "hostname")); /* the host's UTS namespace */
	json_decref(spec);

	/* defaults: PATH, HOME of the user; the pod's hostname in its own UTS namespace */
	f->c.image_config = "{\"config\": {\"User\": \"app\"}}";
	f->cc.n_envs = 0;
	f->p.utsns = "/run/litecri/ns/x/uts";
	spec = ok_spec(f);
	env = jget(spec, "process.env");
	assert_true(has_str(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	assert_true(has_str(env, "HOSTNAME=podhost"));
	assert_true(has_str(env, "HOME=/home/app"));
	assert_string_equal(jstr(spec, "hostname"), "podhost");
	json_decref(spec);

	/* bad keys and values */
	f->cc.envs = envs;
	f->cc.n_envs = 1;
	a.key = STR("");
	assert_int_equal(bad_spec(f, "envs[0]"), EINVAL);
	a.key = STR("A=B");
	assert_int_equal(bad_spec(f, "envs[0]"), EINVAL);
	a.key = STR("A");
	a.value.data = (uint8_t *)"x\0y";
	assert_int_equal(bad_spec(f, "envs[0]"), EINVAL);
	a.value.data = (uint8_t *)"\xc3\x28y";
	assert_int_equal(bad_spec(f, "envs[0]"), EINVAL);
	f->cc.n_envs = 0;
	f->c.image_config = "{\"config\": {\"Env\": [\"NOEQUALS\"]}}";
	assert_int_equal(bad_spec(f, "Env[0]"), EINVAL);
}

static void test_cwd_terminal(void **state)
{
	struct fx *f = *state;
	json_t *spec = ok_spec(f);
	assert_string_equal(jstr(spec, "process.cwd"), "/");
	assert_false(json_is_true(jget(spec, "process.terminal")));
	json_decref(spec);

	f->c.image_config = "{\"config\": {\"WorkingDir\": \"/app\"}}";
	spec = ok_spec(f);
	assert_string_equal(jstr(spec, "process.cwd"), "/app");
	json_decref(spec);

	f->cc.working_dir = STR("/work//dir/./");
	f->cc.tty = 1;
	spec = ok_spec(f);
	assert_string_equal(jstr(spec, "process.cwd"), "/work/dir");
	assert_true(json_is_true(jget(spec, "process.terminal")));
	json_decref(spec);

	f->cc.working_dir = STR("rel/dir");
	assert_int_equal(bad_spec(f, "working_dir"), EINVAL);
	f->cc.working_dir = STR("/a/../etc");
	assert_int_equal(bad_spec(f, "working_dir"), EINVAL);
}

/* process.user of a spec built with image User `user` (and the fixture's security context). */
static void assert_user(struct fx *f, const char *user, long long uid, long long gid, const char *const *groups)
{
	char cfg[256];
	PATHF(cfg, "{\"config\": {\"User\": \"%s\"}}", user);
	f->c.image_config = cfg;
	json_t *spec = ok_spec(f);
	assert_int_equal(jint(spec, "process.user.uid"), uid);
	assert_int_equal(jint(spec, "process.user.gid"), gid);
	json_t *add = jget(spec, "process.user.additionalGids");
	size_t n = 0;
	for (; groups[n]; n++)
		assert_int_equal(json_integer_value(json_array_get(add, n)), atoll(groups[n]));
	assert_int_equal(json_array_size(add), n);
	json_decref(spec);
}

static void test_user(void **state)
{
	struct fx *f = *state;
	assert_user(f, "", 0, 0, (const char *const[]){ NULL });
	assert_user(f, "app", 1000, 1000, (const char *const[]){ "2000", "3000", NULL });
	assert_user(f, "1000", 1000, 1000, (const char *const[]){ "2000", "3000", NULL });
	assert_user(f, "1000:3000", 1000, 3000, (const char *const[]){ "2000", NULL });
	assert_user(f, "app:extra", 1000, 2000, (const char *const[]){ "3000", NULL });
	assert_user(f, "app:third", 1000, 3000, (const char *const[]){ "2000", NULL }); /* named after its members */
	assert_user(f, "4242", 4242, 0, (const char *const[]){ NULL });
	assert_user(f, "4242:7", 4242, 7, (const char *const[]){ NULL });

	f->c.image_config = "{\"config\": {\"User\": \"nobody2\"}}";
	assert_int_equal(bad_spec(f, "nobody2"), EINVAL);
	f->c.image_config = "{\"config\": {\"User\": \"app:nogroup\"}}";
	assert_int_equal(bad_spec(f, "nogroup"), EINVAL);

	/* the security context wins over the image */
	Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT, gid = RUNTIME__V1__INT64_VALUE__INIT;
	uid.value = 1000;
	gid.value = 5;
	f->sc.run_as_user = &uid;
	assert_user(f, "root", 1000, 1000, (const char *const[]){ "2000", "3000", NULL });
	f->sc.run_as_group = &gid;
	assert_user(f, "root", 1000, 5, (const char *const[]){ "2000", "3000", NULL });
	int64_t supp[] = { 7, 2000 };
	f->sc.supplemental_groups = supp;
	f->sc.n_supplemental_groups = 2;
	assert_user(f, "root", 1000, 5, (const char *const[]){ "7", "2000", "3000", NULL });
	f->sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict;
	assert_user(f, "root", 1000, 5, (const char *const[]){ "7", "2000", NULL });
	f->sc.n_supplemental_groups = 0;
	f->sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge;
	f->sc.run_as_user = NULL;
	f->sc.run_as_username = STR("app");
	assert_user(f, "root", 1000, 5, (const char *const[]){ "2000", "3000", NULL });
	f->sc.run_as_username = STR("ghost");
	f->c.image_config = NULL;
	assert_int_equal(bad_spec(f, "ghost"), EINVAL);
	f->sc.run_as_username = STR("");
	assert_int_equal(bad_spec(f, "run_as_group"), EINVAL); /* group without user */
	f->sc.run_as_group = NULL;
	uid.value = -1;
	f->sc.run_as_user = &uid;
	assert_int_equal(bad_spec(f, "run_as_user"), EINVAL);
}

/* ------------------------------------------------------------------------------------------ */
/* mounts                                                                                     */

static void test_mounts(void **state)
{
	struct fx *f = *state;
	char data[PATH_MAX], missing[PATH_MAX], hosts[PATH_MAX], podhosts[PATH_MAX], shm[PATH_MAX];
	PATHF(data, "%s/data", f->dir);
	PATHF(missing, "%s/not/there", f->dir);
	PATHF(hosts, "%s/myhosts", f->dir);
	PATHF(podhosts, "%s/podhosts", f->dir);
	PATHF(shm, "%s/shm", f->dir);
	assert_int_equal(mkdir(data, 0755), 0);
	write_file(hosts, "1.2.3.4 mine\n");
	write_file(podhosts, "127.0.0.1 localhost\n");
	f->p.hosts = podhosts;
	f->p.resolv_conf = podhosts;
	f->p.shm = shm;

	Runtime__V1__Mount m1 = RUNTIME__V1__MOUNT__INIT, m2 = RUNTIME__V1__MOUNT__INIT, m3 = RUNTIME__V1__MOUNT__INIT,
			   m4 = RUNTIME__V1__MOUNT__INIT;
	m1.container_path = STR("/data/deep/er");
	m1.host_path = data;
	m2.container_path = STR("/data/");
	m2.host_path = data;
	m2.readonly = 1;
	char *noexec[] = { STR("noexec"), STR("nosuid") };
	m2.mount_options = noexec;
	m2.n_mount_options = 2;
	m3.container_path = STR("/etc/hosts");
	m3.host_path = hosts;
	m4.container_path = STR("/new");
	m4.host_path = missing;
	Runtime__V1__Mount *mounts[] = { &m1, &m2, &m3, &m4 };
	f->cc.mounts = mounts;
	f->cc.n_mounts = 4;
	json_t *spec = ok_spec(f);

	/* the defaults, in order */
	const char *defaults[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
				   "/etc/resolv.conf" };
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		assert_int_equal(mount_index(spec, defaults[i]), i);
	assert_null(find_mount(spec, "/etc/hostname", NULL)); /* the pod has none */
	json_t *m = find_mount(spec, "/dev/shm", NULL);
	assert_string_equal(jstr(m, "type"), "bind");
	assert_string_equal(jstr(m, "source"), shm);
	m = find_mount(spec, "/sys", NULL);
	assert_true(has_str(json_object_get(m, "options"), "ro"));

	/* CRI mounts: parents first, readonly, options */
	assert_true(mount_index(spec, "/data") < mount_index(spec, "/data/deep/er"));
	m = find_mount(spec, "/data", NULL);
	assert_string_equal(jstr(m, "type"), "bind");
	assert_string_equal(jstr(m, "source"), data);
	assert_strv(json_object_get(m, "options"),
		    (const char *const[]){ "rbind", "rprivate", "ro", "noexec", "nosuid", NULL });
	m = find_mount(spec, "/data/deep/er", NULL);
	assert_strv(json_object_get(m, "options"), (const char *const[]){ "rbind", "rprivate", "rw", NULL });

	/* a CRI mount replaces the pod's /etc/hosts */
	int count;
	m = find_mount(spec, "/etc/hosts", &count);
	assert_int_equal(count, 1);
	assert_string_equal(jstr(m, "source"), hosts);

	/* a missing host path was created as a directory */
	struct stat st;
	assert_int_equal(stat(missing, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(jstr(find_mount(spec, "/new", NULL), "source"), missing);
	assert_null(jget(spec, "linux.rootfsPropagation"));
	json_decref(spec);

	/* a symlinked host path is mounted as its target */
	char ln[PATH_MAX];
	PATHF(ln, "%s/link", f->dir);
	assert_int_equal(symlink(data, ln), 0);
	m2.host_path = ln;
	f->cc.n_mounts = 2;
	spec = ok_spec(f);
	assert_string_equal(jstr(find_mount(spec, "/data", NULL), "source"), data);
	json_decref(spec);

	/* readonly rootfs: the pod's files read-only too */
	f->sc.readonly_rootfs = 1;
	f->cc.n_mounts = 0;
	spec = ok_spec(f);
	assert_true(json_is_true(jget(spec, "root.readonly")));
	assert_true(has_str(json_object_get(find_mount(spec, "/etc/hosts", NULL), "options"), "ro"));
	assert_string_equal(jstr(spec, "root.path"), f->rootfs);
	json_decref(spec);

	/* a CRI /dev drops every default mount below /dev */
	m1.container_path = STR("/dev");
	f->cc.n_mounts = 1;
	spec = ok_spec(f);
	assert_null(find_mount(spec, "/dev/pts", NULL));
	assert_null(find_mount(spec, "/dev/shm", NULL));
	assert_string_equal(jstr(find_mount(spec, "/dev", NULL), "type"), "bind");
	json_decref(spec);

	/* bad input */
	m1.container_path = STR("relative");
	assert_int_equal(bad_spec(f, "mounts[0].container_path"), EINVAL);
	m1.container_path = STR("/a/../etc");
	assert_int_equal(bad_spec(f, "mounts[0].container_path"), EINVAL);
	m1.container_path = STR("/");
	assert_int_equal(bad_spec(f, "mounts[0]"), EINVAL);
	/* runc mounts nothing but proc on /proc or inside it (except the files lxcfs emulates) */
	m1.container_path = STR("/proc");
	assert_int_equal(bad_spec(f, "mounts[0].container_path /proc"), EINVAL);
	m1.container_path = STR("/proc/sys/kernel//");
	assert_int_equal(bad_spec(f, "mounts[0].container_path /proc/sys/kernel"), EINVAL);
	m1.container_path = STR("/proc/meminfo");
	spec = ok_spec(f);
	assert_non_null(find_mount(spec, "/proc/meminfo", NULL));
	json_decref(spec);
	m1.container_path = STR("/procfs");
	spec = ok_spec(f);
	assert_non_null(find_mount(spec, "/procfs", NULL));
	json_decref(spec);
	m1.container_path = STR("/ok");
	m1.host_path = STR("relative/host");
	assert_int_equal(bad_spec(f, "host_path"), EINVAL);
	m1.host_path = data;
	char *bogus[] = { STR("bogus") };
	m1.mount_options = bogus;
	m1.n_mount_options = 1;
	assert_int_equal(bad_spec(f, "bogus"), EINVAL);
	m1.n_mount_options = 0;
	m1.propagation = 7;
	assert_int_equal(bad_spec(f, "propagation"), EINVAL);
	m1.propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
	m1.recursive_read_only = 1;
	assert_int_equal(bad_spec(f, "recursive_read_only"), EINVAL);
	m1.readonly = 1;
	spec = ok_spec(f);
	assert_true(has_str(json_object_get(find_mount(spec, "/ok", NULL), "options"), "rro"));
	json_decref(spec);
	m1.recursive_read_only = 0;
	m2.container_path = STR("/ok/");
	m2.host_path = data;
	f->cc.n_mounts = 2;
	assert_int_equal(bad_spec(f, "both mount /ok"), EINVAL);
}

static void test_mount_propagation(void **state)
{
	struct fx *f = *state;
	char shared[PATH_MAX], private[PATH_MAX], slave[PATH_MAX];
	PATHF(shared, "%s/shared", f->dir);
	PATHF(private, "%s/private", f->dir);
	PATHF(slave, "%s/slave", f->dir);
	assert_int_equal(mkdir(shared, 0755), 0);
	assert_int_equal(mkdir(private, 0755), 0);
	assert_int_equal(mkdir(slave, 0755), 0);
	bind_self(f, shared, MS_SHARED);
	bind_self(f, private, MS_PRIVATE);
	/* a slave of the shared mount: bind it (joins its peer group), then make it a slave */
	if (mount(shared, slave, NULL, MS_BIND, NULL) < 0)
		fail_msg("bind %s: %s", slave, strerror(errno));
	undo_mount(f, slave);
	assert_int_equal(mount(NULL, slave, NULL, MS_SLAVE, NULL), 0);
	char sub[PATH_MAX + 8];
	PATHF(sub, "%s/sub", shared);
	assert_int_equal(mkdir(sub, 0755), 0);

	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = { &m };
	m.container_path = STR("/vol");
	f->cc.mounts = mounts;
	f->cc.n_mounts = 1;
	struct {
		const char *host;
		Runtime__V1__MountPropagation prop;
		const char *opt, *root; /* NULL opt: refused */
	} cases[] = {
		{ shared, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, "rshared", "rshared" },
		{ sub, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, "rshared", "rshared" },
		{ shared, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, "rslave", "rslave" },
		{ slave, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, "rslave", "rslave" },
		{ slave, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, NULL, NULL },
		{ private, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, NULL, NULL },
		{ private, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, NULL, NULL },
		{ private, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE, "rprivate", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		m.host_path = STR(cases[i].host);
		m.propagation = cases[i].prop;
		if (!cases[i].opt) {
			assert_int_equal(bad_spec(f, "propagation"), EINVAL);
			continue;
		}
		json_t *spec = ok_spec(f);
		json_t *opts = json_object_get(find_mount(spec, "/vol", NULL), "options");
		assert_true(has_str(opts, cases[i].opt));
		if (cases[i].root)
			assert_string_equal(jstr(spec, "linux.rootfsPropagation"), cases[i].root);
		else
			assert_null(jget(spec, "linux.rootfsPropagation"));
		json_decref(spec);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* devices, namespaces, resources, security                                                   */

static void test_devices(void **state)
{
	struct fx *f = *state;
	Runtime__V1__Device d = RUNTIME__V1__DEVICE__INIT;
	Runtime__V1__Device *devs[] = { &d };
	d.container_path = STR("/dev/mynull");
	d.host_path = STR("/dev/null");
	d.permissions = STR("rw");
	f->cc.devices = devs;
	f->cc.n_devices = 1;
	json_t *spec = ok_spec(f);
	json_t *dev = json_array_get(jget(spec, "linux.devices"), 0);
	assert_int_equal(json_array_size(jget(spec, "linux.devices")), 1);
	assert_string_equal(jstr(dev, "path"), "/dev/mynull");
	assert_string_equal(jstr(dev, "type"), "c");
	assert_int_equal(jint(dev, "major"), 1);
	assert_int_equal(jint(dev, "minor"), 3);
	assert_int_equal(jint(dev, "fileMode"), 0666);
	json_t *rules = jget(spec, "linux.resources.devices");
	assert_int_equal(json_array_size(rules), 2);
	json_t *r0 = json_array_get(rules, 0), *r1 = json_array_get(rules, 1);
	assert_true(json_is_false(json_object_get(r0, "allow")));
	assert_string_equal(jstr(r0, "access"), "rwm");
	assert_null(json_object_get(r0, "type"));
	assert_true(json_is_true(json_object_get(r1, "allow")));
	assert_string_equal(jstr(r1, "type"), "c");
	assert_int_equal(jint(r1, "major"), 1);
	assert_int_equal(jint(r1, "minor"), 3);
	assert_string_equal(jstr(r1, "access"), "rw");
	json_decref(spec);

	d.permissions = STR("");
	spec = ok_spec(f);
	assert_string_equal(jstr(json_array_get(jget(spec, "linux.resources.devices"), 1), "access"), "rwm");
	json_decref(spec);

	d.host_path = STR("/dev/litecri-no-such-device");
	assert_int_equal(bad_spec(f, "/dev/litecri-no-such-device"), EINVAL);
	char file[PATH_MAX];
	PATHF(file, "%s/plain", f->dir);
	write_file(file, "x");
	d.host_path = file;
	assert_int_equal(bad_spec(f, file), EINVAL);
	d.host_path = STR("/dev/null");
	d.permissions = STR("rx");
	assert_int_equal(bad_spec(f, "permissions"), EINVAL);
	d.permissions = STR("r");
	d.container_path = STR("dev/null");
	assert_int_equal(bad_spec(f, "devices[0].container_path"), EINVAL);
	d.container_path = STR("/dev/../null");
	assert_int_equal(bad_spec(f, "devices[0].container_path"), EINVAL);
	d.container_path = STR("/dev/x");
	d.host_path = STR("dev/null");
	assert_int_equal(bad_spec(f, "host_path"), EINVAL);
}

static void test_namespaces(void **state)
{
	struct fx *f = *state;
	/* host namespaces: only pid (per mode) and mount */
	json_t *spec = ok_spec(f);
	assert_null(find_ns(spec, "network"));
	assert_null(find_ns(spec, "ipc"));
	assert_null(find_ns(spec, "uts"));
	assert_non_null(find_ns(spec, "mount"));
	assert_null(json_object_get(find_ns(spec, "mount"), "path"));
	assert_non_null(find_ns(spec, "pid"));
	assert_null(json_object_get(find_ns(spec, "pid"), "path"));
	json_decref(spec);

	f->p.netns = "/run/litecri/pods/x/net";
	f->p.ipcns = "/run/litecri/pods/x/ipc";
	f->p.utsns = "/run/litecri/pods/x/uts";
	f->p.infra_pid = 4321;
	f->nso.network = f->nso.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	spec = ok_spec(f);
	assert_string_equal(jstr(find_ns(spec, "network"), "path"), "/run/litecri/pods/x/net");
	assert_string_equal(jstr(find_ns(spec, "ipc"), "path"), "/run/litecri/pods/x/ipc");
	assert_string_equal(jstr(find_ns(spec, "uts"), "path"), "/run/litecri/pods/x/uts");
	assert_string_equal(jstr(find_ns(spec, "pid"), "path"), "/proc/4321/ns/pid");
	assert_string_equal(jstr(spec, "hostname"), "podhost");
	json_decref(spec);

	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	spec = ok_spec(f);
	assert_null(find_ns(spec, "pid"));
	json_decref(spec);

	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->p.infra_pid = 0;
	assert_int_equal(bad_spec(f, "infra"), EINVAL);
	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
	assert_int_equal(bad_spec(f, "TARGET"), EINVAL);
	f->nso.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	f->nso.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	assert_int_equal(bad_spec(f, "network"), EINVAL);
	f->nso.network = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	assert_int_equal(bad_spec(f, "network"), EINVAL);
	f->nso.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	Runtime__V1__UserNamespace userns = RUNTIME__V1__USER_NAMESPACE__INIT;
	userns.mode = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->nso.userns_options = &userns;
	assert_int_equal(bad_spec(f, "user namespace"), EINVAL);
	userns.mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
	spec = ok_spec(f);
	assert_null(find_ns(spec, "user"));
	json_decref(spec);

	/* a hostname a UTS namespace cannot hold */
	f->pod.hostname = STR("bad/host");
	assert_int_equal(bad_spec(f, "hostname"), EINVAL);
}

static long own_oom_score_adj(void)
{
	char *s = read_file("/proc/self/oom_score_adj");
	assert_non_null(s);
	long v = atol(s);
	free(s);
	return v;
}

static int have_cap_sys_resource(void)
{
	char *s = read_file("/proc/self/status");
	assert_non_null(s);
	char *p = strstr(s, "CapEff:");
	assert_non_null(p);
	unsigned long long eff = strtoull(p + 7, NULL, 16);
	free(s);
	return (eff >> 24) & 1;
}

static void test_resources_oom_cgroups(void **state)
{
	struct fx *f = *state;
	Runtime__V1__LinuxContainerResources r = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	f->lc.resources = &r;
	r.cpu_shares = 512;
	r.cpu_quota = 50000;
	r.cpu_period = 100000;
	r.cpuset_cpus = STR("0-1");
	r.memory_limit_in_bytes = 64 << 20;
	r.oom_score_adj = 500;
	json_t *spec = ok_spec(f);
	assert_int_equal(jint(spec, "linux.resources.cpu.shares"), 512);
	assert_int_equal(jint(spec, "linux.resources.cpu.quota"), 50000);
	assert_int_equal(jint(spec, "linux.resources.cpu.period"), 100000);
	assert_string_equal(jstr(spec, "linux.resources.cpu.cpus"), "0-1");
	assert_null(jget(spec, "linux.resources.cpu.mems"));
	assert_int_equal(jint(spec, "linux.resources.memory.limit"), 64 << 20);
	assert_int_equal(jint(spec, "process.oomScoreAdj"), 500);
	assert_string_equal(jstr(spec, "linux.cgroupsPath"), "/litecri/" CTR_ID);
	json_decref(spec);

	/* below the daemon's own: clamped unless it has CAP_SYS_RESOURCE */
	long own = own_oom_score_adj();
	r.oom_score_adj = own > -1000 ? own - 1 : own;
	long want = have_cap_sys_resource() ? r.oom_score_adj : own;
	spec = ok_spec(f);
	assert_int_equal(jint(spec, "process.oomScoreAdj"), want);
	json_decref(spec);
	r.oom_score_adj = -1001;
	assert_int_equal(bad_spec(f, "oom_score_adj"), EINVAL);
	r.oom_score_adj = 0;

	r.cpuset_cpus = STR("0-1; rm -rf");
	assert_int_equal(bad_spec(f, "cpuset_cpus"), EINVAL);
	/* what runc would fail to write: CPUs the host cannot have, descending or open ranges, the
	 * kernel's CFS bounds */
	r.cpuset_cpus = STR("0-99999");
	assert_int_equal(bad_spec(f, "cpuset_cpus \"0-99999\": 99999"), EINVAL);
	r.cpuset_cpus = STR("1-0");
	assert_int_equal(bad_spec(f, "cpuset_cpus"), EINVAL);
	r.cpuset_cpus = STR("0-");
	assert_int_equal(bad_spec(f, "cpuset_cpus"), EINVAL);
	r.cpuset_cpus = STR("0,");
	assert_int_equal(bad_spec(f, "cpuset_cpus"), EINVAL);
	r.cpuset_cpus = STR("0,0-0");
	json_decref(ok_spec(f));
	r.cpuset_cpus = STR("");
	r.cpuset_mems = STR("99999");
	assert_int_equal(bad_spec(f, "cpuset_mems"), EINVAL);
	r.cpuset_mems = STR("");
	r.cpu_quota = 1;
	assert_int_equal(bad_spec(f, "cpu_quota 1"), EINVAL);
	r.cpu_quota = 999;
	assert_int_equal(bad_spec(f, "cpu_quota 999"), EINVAL);
	r.cpu_quota = -1;
	json_decref(ok_spec(f));
	r.cpu_quota = 1000;
	json_decref(ok_spec(f));
	r.cpu_period = 999;
	assert_int_equal(bad_spec(f, "cpu_period 999"), EINVAL);
	r.cpu_period = 1000001;
	assert_int_equal(bad_spec(f, "cpu_period 1000001"), EINVAL);
	r.cpu_period = 100000;
	r.memory_limit_in_bytes = -5;
	assert_int_equal(bad_spec(f, "negative"), EINVAL);
	r.memory_limit_in_bytes = 0;
	Runtime__V1__HugepageLimit hp = RUNTIME__V1__HUGEPAGE_LIMIT__INIT;
	Runtime__V1__HugepageLimit *hps[] = { &hp };
	hp.page_size = STR("2MB");
	hp.limit = 1 << 21;
	r.hugepage_limits = hps;
	r.n_hugepage_limits = 1;
	spec = ok_spec(f);
	assert_string_equal(jstr(json_array_get(jget(spec, "linux.resources.hugepageLimits"), 0), "pageSize"), "2MB");
	json_decref(spec);
	hp.page_size = STR("2 MB");
	assert_int_equal(bad_spec(f, "page size"), EINVAL);
	r.n_hugepage_limits = 0;

	/* cgroup parents: clean absolute paths only */
	f->p.cgroup_parent = "/kubepods/burstable/pod-1";
	spec = ok_spec(f);
	assert_string_equal(jstr(spec, "linux.cgroupsPath"), "/kubepods/burstable/pod-1/" CTR_ID);
	json_decref(spec);
	f->p.cgroup_parent = "kubepods-burstable.slice";
	assert_int_equal(bad_spec(f, "slice"), EINVAL);
	const char *bad_parents[] = { "kubepods", "/kubepods/../../etc", "/kubepods/", "/kubepods//pod-1",
				      "/kubepods/./pod-1", "./kubepods", NULL };
	for (size_t i = 0; bad_parents[i]; i++) {
		f->p.cgroup_parent = bad_parents[i];
		assert_int_equal(bad_spec(f, "linux.cgroup_parent"), EINVAL);
	}
}

static void test_annotations(void **state)
{
	struct fx *f = *state;
	Runtime__V1__ContainerConfig__AnnotationsEntry a = RUNTIME__V1__CONTAINER_CONFIG__ANNOTATIONS_ENTRY__INIT,
							b = RUNTIME__V1__CONTAINER_CONFIG__ANNOTATIONS_ENTRY__INIT;
	a.key = STR("example.com/a");
	a.value = STR("1");
	b.key = STR("io.kubernetes.cri.sandbox-id");
	b.value = STR("spoofed");
	Runtime__V1__ContainerConfig__AnnotationsEntry *anns[] = { &a, &b };
	f->cc.annotations = anns;
	f->cc.n_annotations = 2;
	json_t *spec = ok_spec(f);
	json_t *an = json_object_get(spec, "annotations");
	assert_string_equal(json_string_value(json_object_get(an, "example.com/a")), "1");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.container-type")), "container");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-id")), SANDBOX_ID);
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-name")), "pod1");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-namespace")), "default");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-uid")), "uid-1");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.container-name")), "ctr1");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.image-name")),
			    "docker.io/library/busybox:latest");
	assert_string_equal(jstr(spec, "ociVersion"), "1.0.2");
	json_decref(spec);
	a.key = STR("");
	assert_int_equal(bad_spec(f, "annotation"), EINVAL);
}

static void test_capabilities_privileged(void **state)
{
	struct fx *f = *state;
	static const char *const defaults[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
						"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
						"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",
						"CAP_AUDIT_WRITE", "CAP_SETFCAP", NULL };
	json_t *spec = ok_spec(f);
	assert_strv(jget(spec, "process.capabilities.bounding"), defaults);
	assert_strv(jget(spec, "process.capabilities.effective"), defaults);
	assert_strv(jget(spec, "process.capabilities.permitted"), defaults);
	assert_null(jget(spec, "process.capabilities.ambient"));
	assert_false(json_is_true(jget(spec, "process.noNewPrivileges")));
	json_t *masked = jget(spec, "linux.maskedPaths"), *ro = jget(spec, "linux.readonlyPaths");
	const char *want_masked[] = { "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
				      "/sys/firmware" };
	for (size_t i = 0; i < sizeof want_masked / sizeof want_masked[0]; i++)
		assert_true(has_str(masked, want_masked[i]));
	const char *want_ro[] = { "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
	for (size_t i = 0; i < sizeof want_ro / sizeof want_ro[0]; i++)
		assert_true(has_str(ro, want_ro[i]));
	assert_null(jget(spec, "linux.seccomp"));
	json_decref(spec);

	Runtime__V1__Capability caps = RUNTIME__V1__CAPABILITY__INIT;
	char *add[] = { STR("NET_ADMIN"), STR("cap_sys_time") }, *drop[] = { STR("CHOWN"), STR("SYS_TIME") },
	     *amb[] = { STR("NET_BIND_SERVICE") };
	caps.add_capabilities = add;
	caps.n_add_capabilities = 2;
	caps.drop_capabilities = drop;
	caps.n_drop_capabilities = 2;
	caps.add_ambient_capabilities = amb;
	caps.n_add_ambient_capabilities = 1;
	f->sc.capabilities = &caps;
	f->sc.no_new_privs = 1;
	char *masked_cri[] = { STR("/proc/one") };
	f->sc.masked_paths = masked_cri;
	f->sc.n_masked_paths = 1;
	spec = ok_spec(f);
	json_t *eff = jget(spec, "process.capabilities.effective");
	assert_true(has_str(eff, "CAP_NET_ADMIN"));
	assert_false(has_str(eff, "CAP_CHOWN"));
	assert_false(has_str(eff, "CAP_SYS_TIME"));
	assert_strv(jget(spec, "process.capabilities.ambient"), (const char *const[]){ "CAP_NET_BIND_SERVICE", NULL });
	assert_strv(jget(spec, "process.capabilities.inheritable"), (const char *const[]){ "CAP_NET_BIND_SERVICE", NULL });
	assert_true(json_is_true(jget(spec, "process.noNewPrivileges")));
	assert_strv(jget(spec, "linux.maskedPaths"), (const char *const[]){ "/proc/one", NULL });
	json_decref(spec);

	char *all[] = { STR("ALL") };
	caps.add_capabilities = all;
	caps.n_add_capabilities = 1;
	caps.n_drop_capabilities = 1;
	caps.n_add_ambient_capabilities = 0;
	spec = ok_spec(f);
	eff = jget(spec, "process.capabilities.effective");
	assert_true(has_str(eff, "CAP_SYS_ADMIN"));
	assert_false(has_str(eff, "CAP_CHOWN"));
	json_decref(spec);
	caps.drop_capabilities = all;
	caps.n_add_capabilities = 0;
	spec = ok_spec(f);
	assert_int_equal(json_array_size(jget(spec, "process.capabilities.effective")), 0);
	json_decref(spec);
	char *unknown[] = { STR("CAP_FLY") };
	caps.add_capabilities = unknown;
	caps.n_add_capabilities = 1;
	assert_int_equal(bad_spec(f, "CAP_FLY"), EINVAL);
	f->sc.capabilities = NULL;

	/* privileged: refused unless the pod is privileged */
	f->sc.privileged = 1;
	assert_int_equal(bad_spec(f, "privileged"), EINVAL);
	Runtime__V1__LinuxPodSandboxConfig pl = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__LinuxSandboxSecurityContext psc;
	runtime__v1__linux_sandbox_security_context__init(&psc);
	psc.privileged = 1;
	pl.security_context = &psc;
	f->pod.linux = &pl;
	spec = ok_spec(f);
	eff = jget(spec, "process.capabilities.effective");
	assert_true(has_str(eff, "CAP_SYS_ADMIN"));
	assert_true(has_str(eff, "CAP_CHOWN"));
	assert_null(jget(spec, "linux.maskedPaths"));
	assert_null(jget(spec, "linux.readonlyPaths"));
	assert_true(has_str(json_object_get(find_mount(spec, "/sys", NULL), "options"), "rw"));
	json_t *r0 = json_array_get(jget(spec, "linux.resources.devices"), 0);
	assert_true(json_is_true(json_object_get(r0, "allow")));
	/* the host's devices */
	int has_null = 0;
	json_t *d;
	size_t i;
	json_array_foreach(jget(spec, "linux.devices"), i, d) has_null |= strcmp(jstr(d, "path"), "/dev/null") == 0;
	assert_true(has_null);
	json_decref(spec);
}

static void test_seccomp(void **state)
{
	struct fx *f = *state;
	Runtime__V1__SecurityProfile sp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	f->sc.seccomp = &sp;
	json_t *spec = ok_spec(f);
	assert_string_equal(jstr(spec, "linux.seccomp.defaultAction"), "SCMP_ACT_ERRNO");
	json_t *rule0 = json_array_get(jget(spec, "linux.seccomp.syscalls"), 0);
	assert_true(has_str(json_object_get(rule0, "names"), "read"));
	assert_false(has_str(json_object_get(rule0, "names"), "mount"));
	/* without CAP_SYS_ADMIN, clone is filtered and clone3 says ENOSYS */
	int clone3 = 0;
	json_t *r;
	size_t i;
	json_array_foreach(jget(spec, "linux.seccomp.syscalls"), i, r) {
		if (has_str(json_object_get(r, "names"), "clone3")) {
			clone3 = 1;
			assert_string_equal(jstr(r, "action"), "SCMP_ACT_ERRNO");
			assert_int_equal(jint(r, "errnoRet"), ENOSYS);
		}
	}
	assert_true(clone3);
	json_decref(spec);

	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	spec = ok_spec(f);
	assert_null(jget(spec, "linux.seccomp"));
	json_decref(spec);

	char prof[PATH_MAX];
	PATHF(prof, "%s/profile.json", f->dir);
	write_file(prof, "{\"defaultAction\": \"SCMP_ACT_LOG\", \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", "
			 "\"subArchitectures\": [\"SCMP_ARCH_X86\"]}], \"syscalls\": [{\"names\": [\"read\"], "
			 "\"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"x\", \"includes\": {}}]}");
	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	sp.localhost_ref = prof;
	spec = ok_spec(f);
	assert_string_equal(jstr(spec, "linux.seccomp.defaultAction"), "SCMP_ACT_LOG");
	assert_null(jget(spec, "linux.seccomp.archMap"));
	assert_null(json_object_get(json_array_get(jget(spec, "linux.seccomp.syscalls"), 0), "comment"));
#if defined(__x86_64__)
	assert_strv(jget(spec, "linux.seccomp.architectures"),
		    (const char *const[]){ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", NULL });
#endif
	json_decref(spec);
	write_file(prof, "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"mount\"], "
			 "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}");
	assert_int_equal(bad_spec(f, "includes"), EINVAL);
	sp.localhost_ref = STR("/litecri/no/such/profile.json");
	assert_int_equal(bad_spec(f, "profile"), EINVAL);

	/* the deprecated string */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	f->sc.seccomp = NULL;
	f->sc.seccomp_profile_path = STR("runtime/default");
	spec = ok_spec(f);
	assert_non_null(jget(spec, "linux.seccomp"));
	json_decref(spec);
	f->sc.seccomp_profile_path = STR("weird/profile");
	assert_int_equal(bad_spec(f, "seccomp"), EINVAL);
	f->sc.seccomp_profile_path = STR("");
#pragma GCC diagnostic pop

	/* AppArmor: no default profile; a named one needs AppArmor */
	Runtime__V1__SecurityProfile aa = RUNTIME__V1__SECURITY_PROFILE__INIT;
	f->sc.apparmor = &aa;
	spec = ok_spec(f);
	assert_null(jget(spec, "process.apparmorProfile"));
	json_decref(spec);
	if (access("/sys/module/apparmor", F_OK) != 0) {
		aa.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
		aa.localhost_ref = STR("my-profile");
		assert_int_equal(bad_spec(f, "AppArmor"), EINVAL);
	}
}

static void test_stop_signal(void **state)
{
	(void)state;
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"SIGQUIT\"}}"), SIGQUIT);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"QUIT\"}}"), SIGQUIT);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"sigusr1\"}}"), SIGUSR1);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"3\"}}"), 3);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"9\"}}"), SIGKILL);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"SIGRTMIN+2\"}}"), SIGRTMIN + 2);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"RTMAX\"}}"), SIGRTMAX);
	/* an offset strtol saturates (LONG_MAX) overflowed base + offset: UBSan abort (fuzz_image_config) */
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"SIGRTMIN+622222222222222222222222\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"RTMAX-99999999999999999999\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"RTMIN+9223372036854775807\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{}"), SIGTERM);
	assert_int_equal(spec_stop_signal(NULL), SIGTERM);
	assert_int_equal(spec_stop_signal("garbage"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"SIGNOPE\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"0\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"99\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"3x\"}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": 3}}"), SIGTERM);
	assert_int_equal(spec_stop_signal("{\"config\": {\"StopSignal\": \"RTMIN+99\"}}"), SIGTERM);
}

static void test_pause_spec(void **state)
{
	struct fx *f = *state;
	struct lc_err err;
	json_t *spec = NULL;
	char pause_root[PATH_MAX];
	PATHF(pause_root, "%s/pause-rootfs", f->dir);
	f->p.netns = "/run/litecri/pods/x/net";
	f->p.ipcns = "/run/litecri/pods/x/ipc";
	f->p.utsns = "/run/litecri/pods/x/uts";
	f->p.cgroup_parent = "/kubepods/pod-1";
	Runtime__V1__LinuxPodSandboxConfig pl = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry s1 = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT,
							 s2 = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT;
	s1.key = STR("net.ipv4.ip_unprivileged_port_start");
	s1.value = STR("0");
	s2.key = STR("kernel.shm_rmid_forced");
	s2.value = STR("1");
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *sysctls[] = { &s1, &s2 };
	pl.sysctls = sysctls;
	pl.n_sysctls = 2;
	f->pod.linux = &pl;
	Runtime__V1__PodSandboxConfig__AnnotationsEntry a = RUNTIME__V1__POD_SANDBOX_CONFIG__ANNOTATIONS_ENTRY__INIT;
	a.key = STR("pod.example.com/x");
	a.value = STR("y");
	Runtime__V1__PodSandboxConfig__AnnotationsEntry *anns[] = { &a };
	f->pod.annotations = anns;
	f->pod.n_annotations = 1;

	if (spec_pause(&f->p, pause_root, &spec, &err) < 0)
		fail_msg("spec_pause: %s", err.msg);
	/* valid JSON once written */
	char bundle[PATH_MAX], path[PATH_MAX + 16];
	PATHF(bundle, "%s/pause-bundle", f->dir);
	assert_int_equal(mkdir(bundle, 0700), 0);
	PATHF(path, "%s/config.json", bundle);
	assert_int_equal(json_dump_file(spec, path, JSON_INDENT(2)), 0);
	json_decref(spec);
	json_error_t je;
	spec = json_load_file(path, 0, &je);
	if (!spec)
		fail_msg("%s: %s", path, je.text);
	assert_string_equal(jstr(spec, "ociVersion"), "1.0.2");
	assert_strv(jget(spec, "process.args"), (const char *const[]){ "/pause", NULL });
	assert_int_equal(jint(spec, "process.user.uid"), 65535);
	assert_int_equal(jint(spec, "process.user.gid"), 65535);
	assert_int_equal(json_array_size(jget(spec, "process.capabilities.bounding")), 0);
	assert_int_equal(json_array_size(jget(spec, "process.capabilities.effective")), 0);
	assert_true(json_is_true(jget(spec, "process.noNewPrivileges")));
	assert_string_equal(jstr(spec, "root.path"), pause_root);
	assert_true(json_is_true(jget(spec, "root.readonly")));
	assert_string_equal(jstr(spec, "hostname"), "podhost");
	assert_string_equal(jstr(find_ns(spec, "network"), "path"), "/run/litecri/pods/x/net");
	assert_string_equal(jstr(find_ns(spec, "ipc"), "path"), "/run/litecri/pods/x/ipc");
	assert_string_equal(jstr(find_ns(spec, "uts"), "path"), "/run/litecri/pods/x/uts");
	assert_non_null(find_ns(spec, "pid"));
	assert_null(json_object_get(find_ns(spec, "pid"), "path"));
	assert_non_null(find_ns(spec, "mount"));
	assert_string_equal(jstr(spec, "linux.cgroupsPath"), "/kubepods/pod-1/" SANDBOX_ID);
	assert_string_equal(json_string_value(json_object_get(jget(spec, "linux.sysctl"),
							      "net.ipv4.ip_unprivileged_port_start")), "0");
	json_t *an = json_object_get(spec, "annotations");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.container-type")), "sandbox");
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-id")), SANDBOX_ID);
	assert_string_equal(json_string_value(json_object_get(an, "io.kubernetes.cri.sandbox-log-directory")),
			    "/var/log/pods/x");
	assert_string_equal(json_string_value(json_object_get(an, "pod.example.com/x")), "y");
	assert_null(find_mount(spec, "/etc/hosts", NULL));
	assert_non_null(find_mount(spec, "/proc", NULL));
	json_decref(spec);

	/* sysctls of namespaces the pod does not have are refused */
	f->p.netns = NULL;
	assert_int_equal(spec_pause(&f->p, pause_root, &spec, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "net.ipv4"));
	f->p.netns = "/run/litecri/pods/x/net";
	s1.key = STR("vm.swappiness");
	assert_int_equal(spec_pause(&f->p, pause_root, &spec, &err), -1);
	assert_non_null(strstr(err.msg, "vm.swappiness"));
	/* what runc would fail to write: no such sysctl, a directory, the hostname (the pod's hostname
	 * field sets it) */
	const char *bad_sysctls[] = { "net.ipv4.no_such_sysctl", "net/ipv4/no_such_sysctl", "net.ipv4", "kernel.hostname",
				      NULL };
	for (size_t i = 0; bad_sysctls[i]; i++) {
		s1.key = (char *)bad_sysctls[i];
		assert_int_equal(spec_pause(&f->p, pause_root, &spec, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
		if (!strstr(err.msg, bad_sysctls[i]))
			fail_msg("\"%s\" does not name %s", err.msg, bad_sysctls[i]);
	}
	s1.key = STR("net.ipv4.ip_unprivileged_port_start");
	s1.value = STR("0\n1");
	assert_int_equal(spec_pause(&f->p, pause_root, &spec, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "net.ipv4.ip_unprivileged_port_start"));
	s1.value = STR("0");

	/* host PID namespace for a hostPID pod; host UTS: no hostname */
	pl.n_sysctls = 0;
	Runtime__V1__LinuxSandboxSecurityContext psc;
	runtime__v1__linux_sandbox_security_context__init(&psc);
	Runtime__V1__NamespaceOption pns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	pns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	psc.namespace_options = &pns;
	pl.security_context = &psc;
	f->p.utsns = NULL;
	if (spec_pause(&f->p, pause_root, &spec, &err) < 0)
		fail_msg("spec_pause: %s", err.msg);
	assert_null(find_ns(spec, "pid"));
	assert_null(find_ns(spec, "uts"));
	assert_null(json_object_get(spec, "hostname"));
	json_decref(spec);
}

/* ------------------------------------------------------------------------------------------ */
/* userdb: symlinks cannot lead out of the rootfs                                             */

/* A rootfs at <dir>/<name> with an outside directory holding an "evil" passwd next to it. */
static void escape_rootfs(struct fx *f, const char *name, char *root, size_t n)
{
	snprintf(root, n, "%s/%s", f->dir, name);
	mkdirs(f->dir, name);
	mkdirs(root, "etc");
	mkdirs(f->dir, "outside");
	put(f->dir, "outside/passwd", "evil:x:666:666::/evil:/bin/sh\n");
	put(f->dir, "outside/group", "evilg:x:666:evil\n");
}

static int resolve(const char *root, const char *user, struct userdb_user *u, struct lc_err *err)
{
	memset(u, 0, sizeof *u);
	return userdb_resolve(root, user, u, err);
}

static void test_userdb_escapes(void **state)
{
	struct fx *f = *state;
	char root[PATH_MAX], abs[PATH_MAX + 32];
	struct userdb_user u;
	struct lc_err err;

	/* relative escape */
	escape_rootfs(f, "r1", root, sizeof root);
	link_to(root, "etc/passwd", "../../../../../../../outside/passwd");
	assert_int_equal(resolve(root, "evil", &u, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	/* absolute link to the host file */
	escape_rootfs(f, "r2", root, sizeof root);
	PATHF(abs, "%s/outside/passwd", f->dir);
	link_to(root, "etc/passwd", abs);
	assert_int_equal(resolve(root, "evil", &u, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	/* the same path inside the rootfs is what it reads (made as directories, the last replaced) */
	mkdirs(root, abs + 1);
	char inner[PATH_MAX * 3];
	PATHF(inner, "%s%s", root, abs);
	rmdir(inner);
	write_file(inner, "inner:x:77:77::/:/bin/sh\n");
	assert_int_equal(resolve(root, "inner", &u, &err), 0);
	assert_int_equal(u.uid, 77);
	userdb_user_free(&u);

	/* etc itself a link out */
	escape_rootfs(f, "r3", root, sizeof root);
	char etc[PATH_MAX + 8];
	PATHF(etc, "%s/etc", root);
	assert_int_equal(rmdir(etc), 0);
	PATHF(abs, "%s/outside", f->dir);
	link_to(root, "etc", abs);
	assert_int_equal(resolve(root, "evil", &u, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	/* numeric users work without the files */
	assert_int_equal(resolve(root, "1234:55", &u, &err), 0);
	assert_int_equal(u.uid, 1234);
	assert_int_equal(u.gid, 55);
	assert_int_equal(u.n_groups, 0);
	assert_string_equal(u.home, "/");
	userdb_user_free(&u);
	assert_int_equal(resolve(root, "1234:evilg", &u, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	/* a link that stays inside is followed there */
	escape_rootfs(f, "r4", root, sizeof root);
	mkdirs(root, "data");
	put(root, "data/passwd", PASSWD);
	link_to(root, "etc/passwd", "../data/passwd");
	assert_int_equal(resolve(root, "app", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_string_equal(u.home, "/home/app");
	userdb_user_free(&u);

	/* device nodes and FIFOs are refused without blocking */
	escape_rootfs(f, "r5", root, sizeof root);
	mkdirs(root, "dev");
	char node[PATH_MAX + 16];
	PATHF(node, "%s/dev/zero", root);
	assert_int_equal(mknod(node, S_IFCHR | 0666, makedev(1, 5)), 0);
	link_to(root, "etc/passwd", "/dev/zero");
	assert_int_equal(resolve(root, "app", &u, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(resolve(root, "0", &u, &err), -1); /* numeric users are looked up too */
	assert_int_equal(err.errnum, EINVAL);
	PATHF(node, "%s/etc/passwd", root);
	assert_int_equal(unlink(node), 0);
	PATHF(node, "%s/etc/group", root);
	assert_int_equal(mkfifo(node, 0644), 0);
	assert_int_equal(resolve(root, "0:somegroup", &u, &err), -1);
	assert_int_equal(err.errnum, EINVAL); /* the FIFO */
	assert_non_null(strstr(err.msg, "etc/group"));

	/* malformed lines are skipped, not fatal */
	escape_rootfs(f, "r6", root, sizeof root);
	put(root, "etc/passwd", "# comment\n\nbroken\nx:x:notanumber:1::/:\n+nis\napp:x:1000:1000::/home/app:/bin/sh");
	assert_int_equal(resolve(root, "app", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	userdb_user_free(&u);
	assert_int_equal(resolve(root, "x", &u, &err), -1);
	assert_int_equal(resolve(root, "app:", &u, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(resolve(root, "4294967295", &u, &err), -1); /* (uid_t)-1 is not a uid: a name */
	assert_int_equal(err.errnum, ENOENT);

	/* a missing rootfs */
	PATHF(abs, "%s/no-rootfs", f->dir);
	assert_int_equal(resolve(abs, "0", &u, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
}

/* In a child whose openat2 fails with ENOSYS (seccomp), so userdb takes its fallback path:
 * symlinks anywhere on the way are refused, plain files still read. */
static void test_userdb_fallback(void **state)
{
	struct fx *f = *state;
	char r1[PATH_MAX], r3[PATH_MAX], r4[PATH_MAX], out[PATH_MAX];
	escape_rootfs(f, "r1", r1, sizeof r1);
	link_to(r1, "etc/passwd", "../../outside/passwd");
	escape_rootfs(f, "r3", r3, sizeof r3);
	PATHF(out, "%s/etc", r3);
	assert_int_equal(rmdir(out), 0);
	PATHF(out, "%s/outside", f->dir);
	link_to(r3, "etc", out);
	escape_rootfs(f, "r4", r4, sizeof r4);
	mkdirs(r4, "data");
	put(r4, "data/passwd", PASSWD);
	link_to(r4, "etc/passwd", "../data/passwd");

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_filter filter[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(10);
		if (syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) >= 0 || errno != ENOSYS)
			_exit(11);
		struct userdb_user u;
		struct lc_err err;
		memset(&u, 0, sizeof u);
		if (userdb_resolve(r1, "evil", &u, &err) == 0 || err.errnum != ELOOP)
			_exit(12);
		if (userdb_resolve(r4, "app", &u, &err) == 0 || err.errnum != ELOOP)
			_exit(13);
		if (userdb_resolve(r3, "evil", &u, &err) == 0 || err.errnum != ELOOP)
			_exit(15);
		if (userdb_resolve(f->rootfs, "app", &u, &err) != 0 || u.uid != 1000 || u.n_groups != 2)
			_exit(14);
		userdb_user_free(&u);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* rootfs                                                                                     */

static int count_mounts(const char *path)
{
	char *mi = read_file("/proc/self/mountinfo");
	assert_non_null(mi);
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
			n++;
	}
	free(mi);
	return n;
}

/* rootfs_usage: the blocks and inodes of <rw>/upper, a symlink not followed; none is ENOENT. */
static void test_rootfs_usage(void **state)
{
	struct fx *f = *state;
	char rw[PATH_MAX], p[PATH_MAX * 2];
	struct lc_err err;
	uint64_t bytes, inodes;
	PATHF(rw, "%s/rw", f->dir);
	assert_int_equal(rootfs_usage(rw, &bytes, &inodes, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	mkdirs(f->dir, "rw/upper/sub");
	PATHF(p, "%s/upper/sub/big", rw);
	FILE *fp = fopen(p, "we");
	assert_non_null(fp);
	static char mib[1 << 20];
	memset(mib, 'x', sizeof mib);
	assert_int_equal(fwrite(mib, 1, sizeof mib, fp), sizeof mib);
	assert_int_equal(fclose(fp), 0);
	PATHF(p, "%s/upper/link", rw);
	assert_int_equal(symlink(f->dir, p), 0); /* to the whole test directory: not followed */
	assert_int_equal(rootfs_usage(rw, &bytes, &inodes, &err), 0);
	assert_int_equal(inodes, 4); /* upper, sub, big, link */
	assert_true(bytes >= sizeof mib);
	assert_true(bytes < 2 * sizeof mib);
}

static void test_rootfs(void **state)
{
	struct fx *f = *state;
	char l0[PATH_MAX], l1[PATH_MAX], rw[PATH_MAX], mnt[PATH_MAX], p[PATH_MAX * 2];
	PATHF(l0, "%s/l0", f->dir);
	PATHF(l1, "%s/l1", f->dir);
	PATHF(rw, "%s/rw", f->dir);
	PATHF(mnt, "%s/mnt", f->dir);
	mkdirs(f->dir, "l0");
	mkdirs(f->dir, "l1");
	put(l0, "a", "from l0");
	put(l0, "shadow", "l0");
	put(l0, "gone", "gone");
	put(l1, "shadow", "l1");
	PATHF(p, "%s/gone", l1);
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0); /* whiteout */

	assert_int_equal(rootfs_is_mounted(mnt), 0);
	const char *lower[] = { l0, l1 };
	struct lc_err err;
	if (rootfs_mount(lower, 2, rw, mnt, &err) < 0)
		fail_msg("rootfs_mount: %s", err.msg);
	undo_mount(f, mnt);
	assert_int_equal(rootfs_is_mounted(mnt), 1);
	assert_int_equal(rootfs_mount(lower, 2, rw, mnt, &err), 0); /* idempotent */
	assert_int_equal(count_mounts(mnt), 1);

	PATHF(p, "%s/shadow", mnt);
	char *s = read_file(p);
	assert_string_equal(s, "l1");
	free(s);
	PATHF(p, "%s/a", mnt);
	s = read_file(p);
	assert_string_equal(s, "from l0");
	free(s);
	PATHF(p, "%s/gone", mnt);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	PATHF(p, "%s/written", mnt);
	write_file(p, "new");
	PATHF(p, "%s/upper/written", rw);
	s = read_file(p);
	assert_string_equal(s, "new");
	free(s);
	PATHF(p, "%s/written", l1);
	assert_int_equal(access(p, F_OK), -1);

	assert_int_equal(rootfs_unmount(mnt, &err), 0);
	assert_int_equal(rootfs_is_mounted(mnt), 0);
	assert_int_equal(rootfs_unmount(mnt, &err), 0);
	PATHF(p, "%s/never", f->dir);
	assert_int_equal(rootfs_unmount(p, &err), 0);
	assert_int_equal(rootfs_is_mounted(p), 0);
	assert_int_equal(rootfs_is_mounted("/"), 1);
	assert_int_equal(rootfs_is_mounted(f->dir), 0);

	/* busy: detached lazily */
	if (rootfs_mount(lower, 2, rw, mnt, &err) < 0)
		fail_msg("rootfs_mount: %s", err.msg);
	PATHF(p, "%s/a", mnt);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(rootfs_unmount(mnt, &err), 0);
	assert_int_equal(rootfs_is_mounted(mnt), 0);
	close(fd);

	/* no layers: an empty lower directory */
	if (rootfs_mount(NULL, 0, rw, mnt, &err) < 0)
		fail_msg("rootfs_mount: %s", err.msg);
	PATHF(p, "%s/written", mnt);
	s = read_file(p);
	assert_string_equal(s, "new"); /* the upper directory stays */
	free(s);
	assert_int_equal(rootfs_unmount(mnt, &err), 0);

	/* too many layers for one page of options */
	const char *many[200];
	char names[200][80];
	for (int i = 0; i < 200; i++) {
		snprintf(names[i], sizeof names[i], "/var/lib/litecri/layers/sha256-%032d", i);
		many[i] = names[i];
	}
	assert_int_equal(rootfs_mount(many, 200, rw, mnt, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_int_equal(rootfs_is_mounted(mnt), 0);

	/* paths overlay options cannot hold */
	const char *comma[] = { "/tmp/a,b" };
	assert_int_equal(rootfs_mount(comma, 1, rw, mnt, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	const char *rel[] = { "relative" };
	assert_int_equal(rootfs_mount(rel, 1, rw, mnt, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	/* a missing layer: the mount fails and names the target */
	PATHF(p, "%s/no-layer", f->dir);
	const char *missing[] = { p };
	assert_int_equal(rootfs_mount(missing, 1, rw, mnt, &err), -1);
	assert_non_null(strstr(err.msg, mnt));
	assert_int_equal(rootfs_is_mounted(mnt), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* end to end: runc runs the spec                                                             */

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY);
	assert_true(in >= 0);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

/* Run argv with stdout to out_path and stderr to err_path; the exit status. */
static int run_to_files(const char *const *argv, const char *out_path, const char *err_path)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int errf = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || out < 0 || errf < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errf, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_runc_runs_spec(void **state)
{
	struct fx *f = *state;
	if (access(RUNC, X_OK) != 0 || access(BUSYBOX, X_OK) != 0) {
		print_message("skipping: %s or %s missing\n", RUNC, BUSYBOX);
		skip();
	}
	char l0[PATH_MAX], l1[PATH_MAX], rw[PATH_MAX], mnt[PATH_MAX], bundle[PATH_MAX], data[PATH_MAX], hosts[PATH_MAX];
	char p[PATH_MAX * 2], out[PATH_MAX], errp[PATH_MAX];
	PATHF(l0, "%s/e2e-l0", f->dir);
	PATHF(l1, "%s/e2e-l1", f->dir);
	PATHF(rw, "%s/e2e-rw", f->dir);
	PATHF(mnt, "%s/e2e-rootfs", f->dir);
	PATHF(bundle, "%s/bundle", f->dir);
	PATHF(data, "%s/data", f->dir);
	PATHF(hosts, "%s/hosts", f->dir);
	PATHF(out, "%s/out", f->dir);
	PATHF(errp, "%s/err", f->dir);

	/* the image: busybox and its users (bottom), a file of the top layer */
	mkdirs(f->dir, "e2e-l0/bin");
	mkdirs(f->dir, "e2e-l0/etc");
	mkdirs(f->dir, "e2e-l1/etc");
	PATHF(p, "%s/bin/busybox", l0);
	copy_file(BUSYBOX, p, 0755);
	static const char *const applets[] = { "sh", "id", "env", "cat" };
	for (size_t i = 0; i < 4; i++) {
		PATHF(p, "bin/%s", applets[i]);
		link_to(l0, p, "busybox");
	}
	put(l0, "etc/passwd", PASSWD);
	put(l0, "etc/group", GROUP);
	put(l1, "etc/motd", "from the top layer\n");
	mkdirs(f->dir, "data");
	put(data, "f", "host data\n");
	write_file(hosts, "127.0.0.1 localhost e2e-pod\n");

	const char *lower[] = { l0, l1 };
	struct lc_err err;
	if (rootfs_mount(lower, 2, rw, mnt, &err) < 0)
		fail_msg("rootfs_mount: %s", err.msg);
	undo_mount(f, mnt);

	/* the container: host network/IPC/UTS, its own PID namespace, the image's user */
	snprintf(f->cgroup_parent, sizeof f->cgroup_parent, "/litecri-test-spec-%d", (int)getpid());
	f->p.cgroup_parent = f->cgroup_parent;
	f->p.hosts = hosts;
	f->c.rootfs = mnt;
	f->c.image_config = "{\"config\": {\"User\": \"app\", \"Env\": [\"FROM_IMAGE=1\"], \"WorkingDir\": \"/tmp\"}}";
	char *cmd[] = { STR("/bin/sh"), STR("-c"), STR("id; env; pwd; cat /etc/hosts /etc/motd /data/f") };
	f->cc.command = cmd;
	f->cc.n_command = 3;
	Runtime__V1__KeyValue kv = RUNTIME__V1__KEY_VALUE__INIT;
	kv.key = STR("FROM_CRI");
	kv.value.data = (uint8_t *)"yes";
	kv.value.len = 3;
	Runtime__V1__KeyValue *envs[] = { &kv };
	f->cc.envs = envs;
	f->cc.n_envs = 1;
	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = { &m };
	m.container_path = STR("/data");
	m.host_path = data;
	m.readonly = 1;
	f->cc.mounts = mounts;
	f->cc.n_mounts = 1;
	Runtime__V1__SecurityProfile sp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	f->sc.seccomp = &sp;
	Runtime__V1__LinuxContainerResources r = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	r.memory_limit_in_bytes = 64 << 20;
	r.cpu_shares = 256;
	f->lc.resources = &r;

	json_t *spec = ok_spec(f);
	assert_int_equal(mkdir(bundle, 0700), 0);
	char config[PATH_MAX + 16];
	PATHF(config, "%s/config.json", bundle);
	assert_int_equal(json_dump_file(spec, config, JSON_INDENT(2)), 0);
	json_decref(spec);

	snprintf(f->runc_root, sizeof f->runc_root, "%s/runc", f->dir);
	const char *argv[] = { RUNC, "--root", f->runc_root, "run", "--bundle", bundle, CTR_ID, NULL };
	int status = run_to_files(argv, out, errp);
	char *o = read_file(out), *e = read_file(errp);
	if (status != 0)
		fail_msg("runc run exited %d\nstdout:\n%s\nstderr:\n%s", status, o ? o : "", e ? e : "");
	char host[256], want[300];
	assert_int_equal(gethostname(host, sizeof host), 0);
	PATHF(want, "HOSTNAME=%s\n", host);
	const char *expect[] = { "uid=1000(app) gid=1000(app)", "2000(extra)", "3000(third)", "FROM_IMAGE=1\n",
				 "FROM_CRI=yes\n", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
				 "HOME=/home/app\n", want, "\n/tmp\n", "127.0.0.1 localhost e2e-pod\n",
				 "from the top layer\n", "host data\n" };
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
		if (!strstr(o, expect[i]))
			fail_msg("output lacks \"%s\":\n%s\nstderr:\n%s", expect[i], o, e);
	free(o);
	free(e);

	/* the container wrote nothing into the image layers; runc's mount points went to the upper dir */
	PATHF(p, "%s/proc", l0);
	assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_args_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwd_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_propagation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resources_oom_cgroups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_annotations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities_privileged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seccomp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userdb_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userdb_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runc_runs_spec, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
