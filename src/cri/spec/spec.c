/* spec.c — see spec.h. */
#include "cri/spec/spec.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cri/spec/seccomp.h"
#include "runtime/userdb.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/utf8.h"

#define OCI_VERSION "1.0.2"
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_CGROUP_PARENT "/litecri"
#define PAUSE_ID 65535
#define SANDBOX_OOM_SCORE_ADJ (-998) /* as containerd: the infra process is the last to go */
#define SANDBOX_CPU_SHARES 2

typedef Runtime__V1__ContainerConfig cri_container;
typedef Runtime__V1__PodSandboxConfig cri_pod;
typedef Runtime__V1__LinuxContainerSecurityContext cri_secctx;
typedef Runtime__V1__LinuxContainerResources cri_resources;
typedef Runtime__V1__SecurityProfile cri_profile;

static const char *S(const char *s) { return s ? s : ""; }

/* The deprecated CRI fields (string forms of the seccomp / AppArmor profiles), still honoured when
 * the SecurityProfile message is absent. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const char *legacy_seccomp(const cri_secctx *sc) { return sc ? sc->seccomp_profile_path : NULL; }
static const char *legacy_apparmor(const cri_secctx *sc) { return sc ? sc->apparmor_profile : NULL; }
static const char *legacy_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc)
{
	return sc ? sc->seccomp_profile_path : NULL;
}
#pragma GCC diagnostic pop

/* ------------------------------------------------------------------------------------------ */
/* building JSON                                                                              */

/*
 * A JSON builder with a sticky failure: the first failure fills err (ENOMEM, or EINVAL for a
 * string that is not UTF-8); afterwards every call only releases what it is handed, so building
 * code can run on and check b.failed once.  jb_set/jb_push steal v.
 */
struct jb {
	struct lc_err *err;
	int failed;
};

static void jb_oom(struct jb *b)
{
	if (!b->failed)
		lc_fail(b->err, ENOMEM, "building config.json");
	b->failed = 1;
}

static json_t *jb_new(struct jb *b, json_t *v)
{
	if (!v)
		jb_oom(b);
	return v;
}

#define jb_obj(b) jb_new(b, json_object())
#define jb_arr(b) jb_new(b, json_array())
#define jb_int(b, v) jb_new(b, json_integer((json_int_t)(v)))
#define jb_bool(b, v) jb_new(b, json_boolean(v))

static json_t *jb_strn(struct jb *b, const char *s, size_t n, const char *what)
{
	json_t *v = json_stringn(s, n);
	if (!v && !b->failed) {
		if (!utf8_valid(s, n) || memchr(s, '\0', n))
			lc_fail(b->err, EINVAL, "%s is not a valid UTF-8 string", what);
		else
			lc_fail(b->err, ENOMEM, "building config.json");
		b->failed = 1;
	}
	return v;
}

static json_t *jb_str(struct jb *b, const char *s, const char *what)
{
	return jb_strn(b, S(s), strlen(S(s)), what);
}

static void jb_set(struct jb *b, json_t *o, const char *k, json_t *v)
{
	if (b->failed || !o || !v) {
		json_decref(v);
		jb_oom(b);
		return;
	}
	if (json_object_set_new(o, k, v) < 0)
		jb_oom(b);
}

static void jb_push(struct jb *b, json_t *a, json_t *v)
{
	if (b->failed || !a || !v) {
		json_decref(v);
		jb_oom(b);
		return;
	}
	if (json_array_append_new(a, v) < 0)
		jb_oom(b);
}

/* An array of the NULL-terminated strings v. */
static json_t *jb_strv(struct jb *b, const char *const *v)
{
	json_t *a = jb_arr(b);
	for (; *v; v++)
		jb_push(b, a, jb_str(b, *v, *v));
	return a;
}

/* {"destination", "type", "source", "options"} appended to mounts. */
static void add_mount(struct jb *b, json_t *mounts, const char *dst, const char *type, const char *src,
		      const char *const *opts)
{
	json_t *m = jb_obj(b);
	jb_set(b, m, "destination", jb_str(b, dst, "mount destination"));
	jb_set(b, m, "type", jb_str(b, type, "mount type"));
	jb_set(b, m, "source", jb_str(b, src, "mount source"));
	jb_set(b, m, "options", jb_strv(b, opts));
	jb_push(b, mounts, m);
}

/* ------------------------------------------------------------------------------------------ */
/* validation helpers                                                                         */

/*
 * Check that `in` is an absolute path without ".." components and return it cleaned (no "//", no
 * "." components, no trailing '/') in a malloc'ed *out.  `what` names the field in errors.
 */
static int clean_abs_path(const char *in, const char *what, char **out, struct lc_err *err)
{
	in = S(in);
	if (in[0] != '/')
		return lc_fail(err, EINVAL, "%s \"%s\" is not an absolute path", what, LC_Q(in));
	size_t len = strlen(in);
	if (len >= PATH_MAX)
		return lc_fail(err, ENAMETOOLONG, "%s is longer than %d bytes", what, PATH_MAX - 1);
	if (!utf8_valid(in, len))
		return lc_fail(err, EINVAL, "%s is not valid UTF-8", what);
	char *res = malloc(len + 2);
	if (!res)
		return lc_fail(err, ENOMEM, "%s", what);
	size_t w = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(res);
			return lc_fail(err, EINVAL, "%s \"%s\" has a \"..\" component", what, LC_Q(in));
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			res[w++] = '/';
			memcpy(res + w, p, n);
			w += n;
		}
		p = e;
	}
	if (w == 0)
		res[w++] = '/';
	res[w] = '\0';
	*out = res;
	return 0;
}

/* Number of components of a cleaned absolute path ("/" has none). */
static int path_depth(const char *p)
{
	int n = 0;
	for (; *p; p++)
		if (*p == '/' && p[1])
			n++;
	return n;
}

/* Is `p` (cleaned) `dir` or below it? */
static int path_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static int read_int_file(const char *path, long *out, struct lc_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return lc_fail(err, errno, "open %s", path);
	if (fscanf(f, "%ld", out) != 1)
		return lc_fail(err, EINVAL, "%s does not hold a number", path);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the image config                                                                           */

struct image_cfg {
	json_t *root;
	json_t *entrypoint, *cmd, *env; /* borrowed from root: arrays of strings, or NULL */
	const char *workdir, *user, *stop_signal;
};

static void image_cfg_release(struct image_cfg *ic) { json_decref(ic->root); }
#define cleanup_image_cfg __attribute__((cleanup(image_cfg_release)))

static int image_strings(json_t *cfg, const char *key, json_t **out, struct lc_err *err)
{
	json_t *v = json_object_get(cfg, key), *e;
	size_t i;
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return lc_fail(err, EINVAL, "image config: %s is not an array", key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return lc_fail(err, EINVAL, "image config: %s[%zu] is not a string", key, i);
	}
	*out = v;
	return 0;
}

static int image_string(json_t *cfg, const char *key, const char **out, struct lc_err *err)
{
	json_t *v = json_object_get(cfg, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return lc_fail(err, EINVAL, "image config: %s is not a string", key);
	*out = json_string_value(v);
	return 0;
}

/* Parse the image config JSON (NULL or "": an image without config). */
static int image_cfg_parse(const char *text, struct image_cfg *ic, struct lc_err *err)
{
	memset(ic, 0, sizeof *ic);
	if (!text || !*text)
		return 0;
	json_error_t je;
	ic->root = json_loads(text, 0, &je);
	if (!ic->root)
		return lc_fail(err, EINVAL, "image config: %s (line %d)", je.text, je.line);
	if (!json_is_object(ic->root))
		return lc_fail(err, EINVAL, "image config is not a JSON object");
	json_t *cfg = json_object_get(ic->root, "config");
	if (!cfg || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg))
		return lc_fail(err, EINVAL, "image config: config is not an object");
	if (image_strings(cfg, "Entrypoint", &ic->entrypoint, err) < 0 ||
	    image_strings(cfg, "Cmd", &ic->cmd, err) < 0 || image_strings(cfg, "Env", &ic->env, err) < 0 ||
	    image_string(cfg, "WorkingDir", &ic->workdir, err) < 0 ||
	    image_string(cfg, "User", &ic->user, err) < 0 ||
	    image_string(cfg, "StopSignal", &ic->stop_signal, err) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* stop signal                                                                                */

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "ABRT", SIGABRT },     { "ALRM", SIGALRM },     { "BUS", SIGBUS },	  { "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD },      { "CONT", SIGCONT },     { "FPE", SIGFPE },	  { "HUP", SIGHUP },
	{ "ILL", SIGILL },       { "INT", SIGINT },       { "IO", SIGIO },	  { "IOT", SIGIOT },
	{ "KILL", SIGKILL },     { "PIPE", SIGPIPE },     { "POLL", SIGPOLL },	  { "PROF", SIGPROF },
	{ "PWR", SIGPWR },       { "QUIT", SIGQUIT },     { "SEGV", SIGSEGV },	  { "STKFLT", SIGSTKFLT },
	{ "STOP", SIGSTOP },     { "SYS", SIGSYS },       { "TERM", SIGTERM },	  { "TRAP", SIGTRAP },
	{ "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },	  { "URG", SIGURG },
	{ "USR1", SIGUSR1 },     { "USR2", SIGUSR2 },     { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
	{ "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ },
};

/* "3", "QUIT", "SIGQUIT", "sigquit", "RTMIN+2", "SIGRTMAX-1" → the number; 0 when not a signal. */
static int parse_signal(const char *s)
{
	if (!s || !*s)
		return 0;
	if (s[0] >= '0' && s[0] <= '9') {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		return (*end || errno || v < 1 || v > SIGRTMAX) ? 0 : (int)v;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (strcasecmp(s, signal_names[i].name) == 0)
			return signal_names[i].sig;
	int base, dir;
	if (strncasecmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN, dir = 1;
	else if (strncasecmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX, dir = -1;
	else
		return 0;
	s += 5;
	if (!*s)
		return base;
	if (*s != (dir > 0 ? '+' : '-') || s[1] < '0' || s[1] > '9')
		return 0;
	char *end;
	long off = strtol(s + 1, &end, 10); /* >= 0: a digit follows the sign; LONG_MAX when too long */
	if (*end || off > SIGRTMAX)
		return 0;
	long v = base + dir * off;
	return v < SIGRTMIN || v > SIGRTMAX ? 0 : (int)v;
}

int spec_stop_signal(const char *image_config)
{
	struct lc_err err;
	cleanup_image_cfg struct image_cfg ic = { 0 };
	if (image_cfg_parse(image_config, &ic, &err) < 0 || !ic.stop_signal)
		return SIGTERM;
	int sig = parse_signal(ic.stop_signal);
	if (!sig) {
		log_warn("image StopSignal \"%s\" is not a signal; using SIGTERM", ic.stop_signal);
		return SIGTERM;
	}
	return sig;
}

/* ------------------------------------------------------------------------------------------ */
/* the process: args, env, cwd, user                                                          */

static json_t *build_args(struct jb *b, const cri_container *cc, const struct image_cfg *ic, struct lc_err *err)
{
	json_t *args = jb_arr(b), *e;
	size_t i;
	if (cc->n_command > 0) {
		for (i = 0; i < cc->n_command; i++)
			jb_push(b, args, jb_str(b, cc->command[i], "command"));
	} else if (ic->entrypoint && !(json_array_size(ic->entrypoint) == 1 &&
				       !*json_string_value(json_array_get(ic->entrypoint, 0)))) {
		/* Entrypoint [""] is how an image says "no entrypoint". */
		json_array_foreach(ic->entrypoint, i, e) jb_push(b, args, json_incref(e));
	}
	if (cc->n_args > 0) {
		for (i = 0; i < cc->n_args; i++)
			jb_push(b, args, jb_str(b, cc->args[i], "args"));
	} else if (cc->n_command == 0 && ic->cmd) {
		json_array_foreach(ic->cmd, i, e) jb_push(b, args, json_incref(e));
	}
	if (b->failed) {
		json_decref(args);
		return NULL;
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		lc_fail(err, EINVAL, "no command: neither the container config nor the image gives one");
		return NULL;
	}
	if (!*json_string_value(json_array_get(args, 0))) {
		json_decref(args);
		lc_fail(err, EINVAL, "the command to run is an empty string");
		return NULL;
	}
	return args;
}

/* An environment: "KEY=value" strings, one per key, in first-set order. */
struct envl {
	char **v;
	size_t n;
};

static void envl_release(struct envl *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}
#define cleanup_envl __attribute__((cleanup(envl_release)))

static ssize_t envl_find(const struct envl *e, const char *key, size_t keylen)
{
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, keylen) == 0 && e->v[i][keylen] == '=')
			return (ssize_t)i;
	return -1;
}

/* Set key (keylen bytes of entry) to entry ("KEY=value", taken over); -1 only on ENOMEM. */
static int envl_put(struct envl *e, char *entry, size_t keylen)
{
	if (!entry)
		return -1;
	ssize_t i = envl_find(e, entry, keylen);
	if (i >= 0) {
		free(e->v[i]);
		e->v[i] = entry;
		return 0;
	}
	char **nv = realloc(e->v, (e->n + 1) * sizeof *nv);
	if (!nv) {
		free(entry);
		return -1;
	}
	e->v = nv;
	e->v[e->n++] = entry;
	return 0;
}

static int env_add_default(struct envl *e, const char *key, const char *value)
{
	if (envl_find(e, key, strlen(key)) >= 0)
		return 0;
	char *entry;
	if (asprintf(&entry, "%s=%s", key, value) < 0)
		return -1;
	return envl_put(e, entry, strlen(key));
}

/* The hostname the container sees. */
static int container_hostname(const struct spec_pod *p, char *buf, size_t n, struct lc_err *err)
{
	const char *h = p->config ? S(p->config->hostname) : "";
	if (p->utsns && *h) {
		if (strlen(h) >= n)
			return lc_fail(err, EINVAL, "pod hostname is longer than %zu bytes", n - 1);
		strcpy(buf, h);
		return 0;
	}
	if (gethostname(buf, n) < 0)
		return lc_fail(err, errno, "gethostname");
	buf[n - 1] = '\0';
	return 0;
}

static int check_hostname(const char *h, struct lc_err *err)
{
	if (strlen(h) > 64)
		return lc_fail(err, EINVAL, "pod hostname \"%s\" is longer than 64 bytes", LC_Q(h));
	for (const char *c = h; *c; c++)
		if (*c == '/' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return lc_fail(err, EINVAL,
					"pod hostname \"%s\" has a character a hostname cannot hold", LC_Q(h));
	return 0;
}

static json_t *build_env(struct jb *b, const cri_container *cc, const struct image_cfg *ic, const char *hostname,
			 const char *home, struct lc_err *err)
{
	cleanup_envl struct envl env = { 0 };
	json_t *e;
	size_t i;
	if (ic->env) {
		json_array_foreach(ic->env, i, e) {
			const char *s = json_string_value(e), *eq = strchr(s, '=');
			if (!eq || eq == s) {
				lc_fail(err, EINVAL, "image config: Env[%zu] \"%s\" is not KEY=value", i, LC_Q(s));
				return NULL;
			}
			if (envl_put(&env, strdup(s), (size_t)(eq - s)) < 0)
				goto oom;
		}
	}
	for (i = 0; i < cc->n_envs; i++) {
		const Runtime__V1__KeyValue *kv = cc->envs[i];
		const char *key = S(kv->key);
		size_t klen = strlen(key);
		if (!klen || strchr(key, '=') || !utf8_valid(key, klen)) {
			lc_fail(err, EINVAL, "envs[%zu]: key \"%s\" is empty, holds '=' or is not UTF-8", i, LC_Q(key));
			return NULL;
		}
		if ((kv->value.len && memchr(kv->value.data, '\0', kv->value.len)) ||
		    !utf8_valid((const char *)kv->value.data, kv->value.len)) {
			lc_fail(err, EINVAL,
					"envs[%zu]: the value of %s holds a NUL byte or is not UTF-8", i, LC_Q(key));
			return NULL;
		}
		char *entry = malloc(klen + 1 + kv->value.len + 1);
		if (!entry)
			goto oom;
		memcpy(entry, key, klen);
		entry[klen] = '=';
		if (kv->value.len)
			memcpy(entry + klen + 1, kv->value.data, kv->value.len);
		entry[klen + 1 + kv->value.len] = '\0';
		if (envl_put(&env, entry, klen) < 0)
			goto oom;
	}
	if (env_add_default(&env, "PATH", &DEFAULT_PATH_ENV[5]) < 0 ||
	    env_add_default(&env, "HOSTNAME", hostname) < 0 || env_add_default(&env, "HOME", home) < 0)
		goto oom;
	json_t *a = jb_arr(b);
	for (i = 0; i < env.n; i++)
		jb_push(b, a, jb_str(b, env.v[i], "an environment variable"));
	return a;
oom:
	lc_fail(err, ENOMEM, "building the environment");
	return NULL;
}

/* A CRI Int64Value holding a uid or gid. */
static int cri_id(const Runtime__V1__Int64Value *v, const char *what, uint32_t *out, struct lc_err *err)
{
	if (v->value < 0 || v->value >= (int64_t)UINT32_MAX)
		return lc_fail(err, EINVAL, "%s %lld is not a valid id", what, (long long)v->value);
	*out = (uint32_t)v->value;
	return 0;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * The container's user: the security context's run_as_username / run_as_user (+ run_as_group),
 * else the image's User, resolved in the rootfs; supplementary groups per the policy.
 */
static int resolve_user(const struct spec_container *c, const cri_secctx *sc, const struct image_cfg *ic,
			struct userdb_user *u, struct lc_err *err)
{
	char spec[512];
	const char *uname = sc ? S(sc->run_as_username) : "";
	uint32_t id = 0;
	if (sc && sc->run_as_group && !sc->run_as_user && !*uname)
		return lc_fail(err, EINVAL, "run_as_group is set without run_as_user or run_as_username");
	if (*uname && sc->run_as_user)
		return lc_fail(err, EINVAL, "run_as_user and run_as_username are both set");
	if (*uname) {
		if (strchr(uname, ':') || strlen(uname) > 256)
			return lc_fail(err, EINVAL, "run_as_username \"%s\" is not a user name", LC_Q(uname));
		snprintf(spec, sizeof spec, "%s", uname);
	} else if (sc && sc->run_as_user) {
		if (cri_id(sc->run_as_user, "run_as_user", &id, err) < 0)
			return -1;
		snprintf(spec, sizeof spec, "%u", id);
	} else {
		const char *iu = S(ic->user);
		if (strlen(iu) >= sizeof spec)
			return lc_fail(err, EINVAL, "image config: User is too long");
		strcpy(spec, iu);
	}
	if (sc && sc->run_as_group) {
		if (cri_id(sc->run_as_group, "run_as_group", &id, err) < 0)
			return -1;
		size_t n = strlen(spec);
		snprintf(spec + n, sizeof spec - n, ":%u", id);
	}
	if (userdb_resolve(c->rootfs, spec, u, err) < 0)
		return lc_wrap(err, "%s: container user \"%s\"",
			       *uname ? "run_as_username" : sc && sc->run_as_user ? "run_as_user" : "image config User",
			       spec);

	if (!sc || sc->n_supplemental_groups == 0)
		return 0;
	if (sc->supplemental_groups_policy == RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict) {
		u->n_groups = 0;
	} else if (sc->supplemental_groups_policy != RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge) {
		userdb_user_free(u);
		return lc_fail(err, EINVAL, "unknown supplemental_groups_policy %d",
			       (int)sc->supplemental_groups_policy);
	}
	gid_t *g = realloc(u->groups, (u->n_groups + sc->n_supplemental_groups) * sizeof *g);
	if (!g) {
		userdb_user_free(u);
		return lc_fail(err, ENOMEM, "supplemental groups");
	}
	u->groups = g;
	for (size_t i = 0; i < sc->n_supplemental_groups; i++) {
		int64_t v = sc->supplemental_groups[i];
		if (v < 0 || v >= (int64_t)UINT32_MAX) {
			userdb_user_free(u);
			return lc_fail(err, EINVAL, "supplemental group %lld is not a valid gid", (long long)v);
		}
		size_t k;
		for (k = 0; k < u->n_groups && u->groups[k] != (gid_t)v; k++)
			;
		if (k == u->n_groups)
			u->groups[u->n_groups++] = (gid_t)v;
	}
	return 0;
}

static json_t *user_json(struct jb *b, const struct userdb_user *u)
{
	json_t *o = jb_obj(b);
	jb_set(b, o, "uid", jb_int(b, u->uid));
	jb_set(b, o, "gid", jb_int(b, u->gid));
	if (u->n_groups) {
		gid_t sorted[u->n_groups];
		memcpy(sorted, u->groups, sizeof sorted);
		qsort(sorted, u->n_groups, sizeof sorted[0], cmp_gid);
		json_t *a = jb_arr(b);
		for (size_t i = 0; i < u->n_groups; i++)
			jb_push(b, a, jb_int(b, sorted[i]));
		jb_set(b, o, "additionalGids", a);
	}
	return o;
}

/* ------------------------------------------------------------------------------------------ */
/* capabilities                                                                               */

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
	"LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
	"CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

#define CAPBIT(c) (UINT64_C(1) << (c))
static const uint64_t default_caps = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) |
				     CAPBIT(CAP_FOWNER) | CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) |
				     CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETFCAP) |
				     CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(CAP_SYS_CHROOT) |
				     CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);

/*
 * Every capability this kernel knows (and we have a name for) that this process can hand on: in
 * its permitted and bounding sets.  runc, started by us, cannot raise one beyond them (capset
 * fails with EPERM), so "ALL" and privileged mean what we hold, as containerd's current set.
 */
static uint64_t all_caps(void)
{
	long last = N_CAPS - 1;
	struct lc_err ignored;
	if (read_int_file("/proc/sys/kernel/cap_last_cap", &last, &ignored) < 0 || last >= N_CAPS || last < 0)
		last = N_CAPS - 1;
	uint64_t known = last >= 63 ? UINT64_MAX : (CAPBIT(last + 1) - 1);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return known;
	uint64_t held = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
	for (int c = 0; c <= last && c < 64; c++)
		if ((held & CAPBIT(c)) && prctl(PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) != 1)
			held &= ~CAPBIT(c);
	return known & held;
}

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" → its number; -1 if unknown. */
static int cap_lookup(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < N_CAPS; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

static int cap_list(char **names, size_t n, const char *field, uint64_t *mask, int *all, struct lc_err *err)
{
	*mask = 0;
	*all = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(S(names[i]), "ALL") == 0) {
			*all = 1;
			continue;
		}
		int c = cap_lookup(S(names[i]));
		if (c < 0)
			return lc_fail(err, EINVAL, "%s: unknown capability \"%s\"", field, LC_Q(names[i]));
		*mask |= CAPBIT(c);
	}
	return 0;
}

/*
 * The container's capability sets: the defaults, then "ALL" added / dropped, then single ones
 * added / dropped (a drop wins), ambient ones in every set; privileged: every capability.  "ALL"
 * and privileged mean every capability litecri holds; a single one it does not hold is EINVAL.
 */
static int compute_caps(const cri_secctx *sc, uint64_t *main, uint64_t *ambient, struct lc_err *err)
{
	*main = default_caps;
	*ambient = 0;
	const Runtime__V1__Capability *cr = sc ? sc->capabilities : NULL;
	if (cr) {
		uint64_t add, drop, amb;
		int add_all, drop_all, amb_all;
		if (cap_list(cr->add_capabilities, cr->n_add_capabilities, "add_capabilities", &add, &add_all, err) < 0 ||
		    cap_list(cr->drop_capabilities, cr->n_drop_capabilities, "drop_capabilities", &drop, &drop_all,
			     err) < 0 ||
		    cap_list(cr->add_ambient_capabilities, cr->n_add_ambient_capabilities, "add_ambient_capabilities",
			     &amb, &amb_all, err) < 0)
			return -1;
		if (amb_all)
			return lc_fail(err, EINVAL, "add_ambient_capabilities: \"ALL\" is not allowed");
		uint64_t missing = (add | amb) & ~drop & ~all_caps();
		for (int i = 0; missing && i < N_CAPS; i++)
			if (missing & CAPBIT(i))
				return lc_fail(err, EINVAL,
					       "%s: CAP_%s is not held by litecri, so no container of this node can have it",
					       (amb & CAPBIT(i)) ? "add_ambient_capabilities" : "add_capabilities",
					       cap_names[i]);
		if (add_all)
			*main = all_caps();
		if (drop_all)
			*main = 0;
		*main = ((*main | add) & ~drop) | amb;
		*ambient = amb & ~drop;
	}
	if (sc && sc->privileged)
		*main = all_caps();
	*main &= all_caps();
	*ambient &= *main;
	return 0;
}

static json_t *cap_array(struct jb *b, uint64_t mask)
{
	json_t *a = jb_arr(b);
	char name[64];
	for (int i = 0; i < N_CAPS; i++) {
		if (!(mask & CAPBIT(i)))
			continue;
		snprintf(name, sizeof name, "CAP_%s", cap_names[i]);
		jb_push(b, a, jb_str(b, name, "capability"));
	}
	return a;
}

static json_t *caps_json(struct jb *b, uint64_t main, uint64_t ambient)
{
	json_t *o = jb_obj(b);
	jb_set(b, o, "bounding", cap_array(b, main));
	jb_set(b, o, "effective", cap_array(b, main));
	jb_set(b, o, "permitted", cap_array(b, main));
	if (ambient) {
		jb_set(b, o, "inheritable", cap_array(b, ambient));
		jb_set(b, o, "ambient", cap_array(b, ambient));
	}
	return o;
}

/* Does this process have CAP_SYS_RESOURCE (may it lower oom_score_adj)? */
static int have_sys_resource(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
}

/* oom_score_adj as the runtime can apply it: not below the daemon's own without CAP_SYS_RESOURCE. */
static int clamp_oom_score_adj(long want, long *out, struct lc_err *err)
{
	if (want < -1000 || want > 1000)
		return lc_fail(err, EINVAL, "oom_score_adj %ld is outside -1000..1000", want);
	*out = want;
	if (have_sys_resource())
		return 0;
	long own;
	if (read_int_file("/proc/self/oom_score_adj", &own, err) < 0)
		return -1;
	if (want < own) {
		log_debug("oom_score_adj %ld raised to the daemon's own %ld (no CAP_SYS_RESOURCE)", want, own);
		*out = own;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* mounts                                                                                     */

/* Undo mountinfo's octal escapes (\040 for a space etc.) in place. */
static void mountinfo_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Propagation of the mount holding the canonical path `path`: *shared / *slave set from its
 * optional fields in /proc/self/mountinfo. */
static int mount_propagation(const char *path, int *shared, int *slave, struct lc_err *err)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return lc_fail(err, errno, "open /proc/self/mountinfo");
	cleanup_free char *line = NULL;
	size_t cap = 0, best = 0;
	int found = 0;
	*shared = *slave = 0;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *fld[6];
		int n = 0;
		while (n < 6 && (fld[n] = strtok_r(n ? NULL : line, " \n", &save)))
			n++;
		if (n < 6)
			continue;
		char *mp = fld[4];
		mountinfo_unescape(mp);
		size_t len = strlen(mp);
		if (!path_under(path, mp) || (found && len < best))
			continue;
		found = 1;
		best = len;
		*shared = *slave = 0;
		/* optional fields up to "-" */
		for (char *t = strtok_r(NULL, " \n", &save); t && strcmp(t, "-") != 0; t = strtok_r(NULL, " \n", &save)) {
			if (strncmp(t, "shared:", 7) == 0)
				*shared = 1;
			else if (strncmp(t, "master:", 7) == 0)
				*slave = 1;
		}
	}
	if (!found)
		return lc_fail(err, ENOENT, "no mount holds %s", path);
	return 0;
}

static const char *const bind_flag_options[] = {
	"atime", "noatime", "diratime", "nodiratime", "dev", "nodev", "exec", "noexec", "suid", "nosuid",
	"relatime", "norelatime", "strictatime", "nostrictatime", "sync", "async", "dirsync", "symfollow",
	"nosymfollow", NULL,
};

static int known_bind_option(const char *o)
{
	for (const char *const *k = bind_flag_options; *k; k++)
		if (strcmp(o, *k) == 0)
			return 1;
	return 0;
}

struct cri_mount {
	const Runtime__V1__Mount *m;
	char *dst, *src;
	size_t idx;
	int depth;
};

static void cri_mounts_free(struct cri_mount *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].dst);
		free(v[i].src);
	}
	free(v);
}

static int cmp_cri_mount(const void *a, const void *b)
{
	const struct cri_mount *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * May a bind mount go to dst (cleaned)?  Not on /proc or inside it, as runc refuses, except the
 * files lxcfs emulates (runc's own exceptions).
 */
static int proc_mount_allowed(const char *dst)
{
	static const char *const lxcfs[] = { "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
					     "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
					     "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", NULL };
	if (!path_under(dst, "/proc"))
		return 1;
	for (const char *const *p = lxcfs; *p; p++)
		if (strcmp(dst, *p) == 0)
			return 1;
	return 0;
}

/*
 * Validate the CRI mounts into v (sorted by depth so that a parent is mounted before what is
 * inside it): destinations cleaned, sources canonical.  A missing host path is created as a
 * directory (what kubelet's hostPath volumes of type "" rely on, as containerd and CRI-O do).
 */
static int prepare_cri_mounts(const cri_container *cc, struct cri_mount **out, struct lc_err *err)
{
	*out = NULL;
	if (cc->n_mounts == 0)
		return 0;
	struct cri_mount *v = calloc(cc->n_mounts, sizeof *v);
	if (!v)
		return lc_fail(err, ENOMEM, "mounts");
	for (size_t i = 0; i < cc->n_mounts; i++) {
		const Runtime__V1__Mount *m = cc->mounts[i];
		char what[64];
		v[i].m = m;
		v[i].idx = i;
		snprintf(what, sizeof what, "mounts[%zu].container_path", i);
		if (clean_abs_path(m->container_path, what, &v[i].dst, err) < 0)
			goto fail;
		if (strcmp(v[i].dst, "/") == 0) {
			lc_fail(err, EINVAL, "%s: cannot mount over the container's root", what);
			goto fail;
		}
		if (!proc_mount_allowed(v[i].dst)) {
			lc_fail(err, EINVAL, "%s %s: runc mounts nothing but a proc filesystem on or inside /proc", what,
				LC_Q(v[i].dst));
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(v[k].dst, v[i].dst) == 0) {
				lc_fail(err, EINVAL, "mounts[%zu] and mounts[%zu] both mount %s", k, i, LC_Q(v[i].dst));
				goto fail;
			}
		v[i].depth = path_depth(v[i].dst);
		if (m->image && *S(m->image->image)) {
			lc_fail(err, EINVAL, "mounts[%zu] (%s): image volumes are not supported", i, LC_Q(v[i].dst));
			goto fail;
		}
		if (m->n_uidmappings || m->n_gidmappings) {
			lc_fail(err, EINVAL, "mounts[%zu] (%s): id-mapped mounts are not supported", i, LC_Q(v[i].dst));
			goto fail;
		}
		const char *host = S(m->host_path);
		if (host[0] != '/') {
			lc_fail(err, EINVAL, "mounts[%zu].host_path \"%s\" is not an absolute path", i, LC_Q(host));
			goto fail;
		}
		if (!utf8_valid(host, strlen(host))) {
			lc_fail(err, EINVAL, "mounts[%zu].host_path is not valid UTF-8", i);
			goto fail;
		}
		struct stat st;
		if (stat(host, &st) < 0) {
			if (errno != ENOENT) {
				lc_fail(err, errno, "mounts[%zu]: stat host path %s", i, LC_Q(host));
				goto fail;
			}
			if (mkdir_p(host, 0755, err) < 0) {
				lc_wrap(err, "mounts[%zu]: create missing host path", i);
				goto fail;
			}
			log_info("created missing host path %s for mount %s", host, v[i].dst);
		}
		v[i].src = realpath(host, NULL);
		if (!v[i].src) {
			lc_fail(err, errno, "mounts[%zu]: resolve host path %s", i, LC_Q(host));
			goto fail;
		}
		if (m->recursive_read_only) {
			if (!m->readonly) {
				lc_fail(err, EINVAL,
						"mounts[%zu] (%s): recursive_read_only needs readonly", i, LC_Q(v[i].dst));
				goto fail;
			}
			if (m->propagation != RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE) {
				lc_fail(err, EINVAL, "mounts[%zu] (%s): recursive_read_only needs private propagation", i,
					LC_Q(v[i].dst));
				goto fail;
			}
		}
		int shared = 0, slave = 0; /* set by mount_propagation; gcc -O2 cannot tell */
		switch (m->propagation) {
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE:
			break;
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER:
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL:
			if (mount_propagation(v[i].src, &shared, &slave, err) < 0)
				goto fail;
			if (m->propagation == RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL && !shared) {
				lc_fail(err, EINVAL, "mounts[%zu]: bidirectional propagation needs %s on a shared mount",
					i, v[i].src);
				goto fail;
			}
			if (!shared && !slave) {
				lc_fail(err, EINVAL,
					"mounts[%zu]: host-to-container propagation needs %s on a shared or slave mount", i,
					v[i].src);
				goto fail;
			}
			break;
		default:
			lc_fail(err, EINVAL,
					"mounts[%zu] (%s): unknown propagation %d", i, LC_Q(v[i].dst), (int)m->propagation);
			goto fail;
		}
		for (size_t k = 0; k < m->n_mount_options; k++)
			if (!known_bind_option(S(m->mount_options[k]))) {
				lc_fail(err, EINVAL,
						"mounts[%zu] (%s): mount option \"%s\" is not supported", i, LC_Q(v[i].dst),
					LC_Q(m->mount_options[k]));
				goto fail;
			}
	}
	qsort(v, cc->n_mounts, sizeof *v, cmp_cri_mount);
	*out = v;
	return 0;
fail:
	cri_mounts_free(v, cc->n_mounts);
	return -1;
}

/* Is a default mount at dst replaced by a CRI mount (same destination, or under a CRI /dev)? */
static int overridden(const struct cri_mount *v, size_t n, const char *dst)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].dst, dst) == 0)
			return 1;
		if (strcmp(v[i].dst, "/dev") == 0 && path_under(dst, "/dev"))
			return 1;
	}
	return 0;
}

/* The kernel filesystems and the pod's files every container gets. */
static void default_mounts(struct jb *b, json_t *mounts, const struct spec_pod *p, int privileged, int readonly,
			   int pause, const struct cri_mount *cm, size_t n_cm)
{
	static const char *const proc_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev_o[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts_o[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
					     "gid=5", NULL };
	static const char *const shm_o[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const shm_bind_o[] = { "rbind", "rprivate", "nosuid", "noexec", "nodev", "rw", NULL };
	static const char *const mq_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys_ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rw[] = { "nosuid", "noexec", "nodev", "rw", NULL };
	static const char *const cg_ro[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	static const char *const cg_rw[] = { "nosuid", "noexec", "nodev", "relatime", "rw", NULL };
	static const char *const file_ro[] = { "rbind", "rprivate", "ro", NULL };
	static const char *const file_rw[] = { "rbind", "rprivate", "rw", NULL };
	const struct {
		const char *dst, *type, *src;
		const char *const *opts;
	} m[] = {
		{ "/proc", "proc", "proc", proc_o },
		{ "/dev", "tmpfs", "tmpfs", dev_o },
		{ "/dev/pts", "devpts", "devpts", pts_o },
		{ "/dev/shm", p->shm ? "bind" : "tmpfs", p->shm ? p->shm : "shm", p->shm ? shm_bind_o : shm_o },
		{ "/dev/mqueue", "mqueue", "mqueue", mq_o },
		{ "/sys", "sysfs", "sysfs", privileged ? sys_rw : sys_ro },
		{ "/sys/fs/cgroup", pause ? NULL : "cgroup", "cgroup", privileged ? cg_rw : cg_ro },
		{ "/etc/hosts", pause ? NULL : "bind", p->hosts, readonly ? file_ro : file_rw },
		{ "/etc/resolv.conf", pause ? NULL : "bind", p->resolv_conf, readonly ? file_ro : file_rw },
		{ "/etc/hostname", pause ? NULL : "bind", p->hostname, readonly ? file_ro : file_rw },
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		if (!m[i].type || !m[i].src || overridden(cm, n_cm, m[i].dst))
			continue;
		add_mount(b, mounts, m[i].dst, m[i].type, m[i].src, m[i].opts);
	}
}

/* The CRI mounts as OCI bind mounts; *root_prop: the rootfs propagation they need ("" none). */
static void cri_mounts_json(struct jb *b, json_t *mounts, const struct cri_mount *v, size_t n, const char **root_prop)
{
	*root_prop = "";
	for (size_t i = 0; i < n; i++) {
		const Runtime__V1__Mount *m = v[i].m;
		json_t *o = jb_obj(b), *opts = jb_arr(b);
		const char *prop = "rprivate";
		if (m->propagation == RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL) {
			prop = "rshared";
			*root_prop = "rshared";
		} else if (m->propagation == RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER) {
			prop = "rslave";
			if (!**root_prop)
				*root_prop = "rslave";
		}
		jb_push(b, opts, jb_str(b, "rbind", "option"));
		jb_push(b, opts, jb_str(b, prop, "option"));
		jb_push(b, opts, jb_str(b, m->recursive_read_only ? "rro" : m->readonly ? "ro" : "rw", "option"));
		for (size_t k = 0; k < m->n_mount_options; k++)
			jb_push(b, opts, jb_str(b, m->mount_options[k], "mount option"));
		jb_set(b, o, "destination", jb_str(b, v[i].dst, "container_path"));
		jb_set(b, o, "type", jb_str(b, "bind", "type"));
		jb_set(b, o, "source", jb_str(b, v[i].src, "host_path"));
		jb_set(b, o, "options", opts);
		jb_push(b, mounts, o);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* devices                                                                                    */

static json_t *device_json(struct jb *b, const char *path, const struct stat *st)
{
	json_t *d = jb_obj(b);
	jb_set(b, d, "path", jb_str(b, path, "device path"));
	jb_set(b, d, "type", jb_str(b, S_ISBLK(st->st_mode) ? "b" : "c", "type"));
	jb_set(b, d, "major", jb_int(b, major(st->st_rdev)));
	jb_set(b, d, "minor", jb_int(b, minor(st->st_rdev)));
	jb_set(b, d, "fileMode", jb_int(b, st->st_mode & 07777));
	jb_set(b, d, "uid", jb_int(b, st->st_uid));
	jb_set(b, d, "gid", jb_int(b, st->st_gid));
	return d;
}

static json_t *device_rule(struct jb *b, int allow, const char *type, const struct stat *st, const char *access)
{
	json_t *r = jb_obj(b);
	jb_set(b, r, "allow", jb_bool(b, allow));
	if (type)
		jb_set(b, r, "type", jb_str(b, type, "type"));
	if (st) {
		jb_set(b, r, "major", jb_int(b, major(st->st_rdev)));
		jb_set(b, r, "minor", jb_int(b, minor(st->st_rdev)));
	}
	jb_set(b, r, "access", jb_str(b, access, "access"));
	return r;
}

/*
 * The CRI devices: linux.devices entries (created by the runtime with the host node's mode and
 * owner) and the device cgroup rules allowing them with the requested permissions.  *paths gets
 * the container paths (malloc'ed array of malloc'ed strings, *n_paths of them).
 */
static int cri_devices(struct jb *b, const cri_container *cc, json_t *devices, json_t *rules, char ***paths,
		       size_t *n_paths, struct lc_err *err)
{
	*paths = NULL;
	*n_paths = 0;
	if (cc->n_devices == 0)
		return 0;
	char **v = calloc(cc->n_devices, sizeof *v);
	if (!v)
		return lc_fail(err, ENOMEM, "devices");
	*paths = v;
	for (size_t i = 0; i < cc->n_devices; i++) {
		const Runtime__V1__Device *d = cc->devices[i];
		char what[64];
		snprintf(what, sizeof what, "devices[%zu].container_path", i);
		if (clean_abs_path(d->container_path, what, &v[i], err) < 0)
			return -1;
		*n_paths = i + 1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(v[k], v[i]) == 0)
				return lc_fail(err, EINVAL,
						"devices[%zu] and devices[%zu] both create %s", k, i, LC_Q(v[i]));
		const char *host = S(d->host_path);
		if (host[0] != '/')
			return lc_fail(err, EINVAL,
					"devices[%zu].host_path \"%s\" is not an absolute path", i, LC_Q(host));
		struct stat st;
		if (stat(host, &st) < 0)
			return lc_fail(err, errno, "devices[%zu]: host device %s", i, LC_Q(host));
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			return lc_fail(err, EINVAL,
					"devices[%zu]: %s is not a character or block device", i, LC_Q(host));
		const char *perm = *S(d->permissions) ? d->permissions : "rwm";
		if (strlen(perm) > 3 || strspn(perm, "rwm") != strlen(perm))
			return lc_fail(err, EINVAL, "devices[%zu] (%s): permissions \"%s\" are not a subset of \"rwm\"",
				       i, LC_Q(host), LC_Q(perm));
		jb_push(b, devices, device_json(b, v[i], &st));
		jb_push(b, rules, device_rule(b, 1, S_ISBLK(st.st_mode) ? "b" : "c", &st, perm));
	}
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Privileged containers get the host's device nodes (as containerd/docker do): /dev walked
 * without following links, skipping what the runtime mounts itself. */
static int host_devices(struct jb *b, const char *dir, int depth, json_t *devices, char **skip, size_t n_skip,
			struct lc_err *err)
{
	static const char *const skip_dirs[] = { "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", NULL };
	DIR *d = opendir(dir);
	if (!d)
		return lc_fail(err, errno, "open %s", dir);
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d)) && ret == 0) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		struct stat st;
		if (lstat(path, &st) < 0)
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			int skipped = 0;
			for (const char *const *s = skip_dirs; *s && depth == 0; s++)
				skipped |= strcmp(e->d_name, *s) == 0;
			if (!skipped && depth < 8)
				ret = host_devices(b, path, depth + 1, devices, skip, n_skip, err);
			continue;
		}
		if ((!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) || strcmp(path, "/dev/console") == 0)
			continue;
		int taken = 0;
		for (size_t i = 0; i < n_skip; i++)
			taken |= strcmp(skip[i], path) == 0;
		if (!taken)
			jb_push(b, devices, device_json(b, path, &st));
	}
	closedir(d);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* resources                                                                                  */

static int swap_accounting(void)
{
	if (!cgroup2_unified())
		return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
	/* cgroup v2: the controller file exists below the root only; look at our own cgroup. */
	cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.swap.max", line + 3) >= (int)sizeof path)
			return 0;
		return access(path, F_OK) == 0;
	}
	return 0;
}

/* The highest number in a kernel list file like /sys/devices/system/cpu/possible ("0-3,8"); -1 if unreadable. */
static long list_file_max(const char *path)
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

/*
 * A cpuset list as the kernel takes it ("0-3,6", "" = unset): comma-separated numbers and
 * ascending ranges, each at most the highest one `possible` (a kernel list file) names, as runc
 * would otherwise fail writing cpuset.cpus / cpuset.mems.  EINVAL naming `field`.
 */
static int check_cpuset(const char *s, const char *field, const char *possible, struct lc_err *err)
{
	if (!*s)
		return 0;
	long max = list_file_max(possible);
	for (const char *p = s;;) {
		char *end;
		if (*p < '0' || *p > '9')
			return lc_fail(err, EINVAL,
				       "resources.%s \"%s\" is not a list of numbers and ranges like \"0-3,6\"", field,
				       LC_Q(s));
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return lc_fail(err, EINVAL, "resources.%s \"%s\" has a range without an end", field,
					       LC_Q(s));
			hi = strtoul(p, &end, 10);
			if (hi < lo)
				return lc_fail(err, EINVAL, "resources.%s \"%s\": range %lu-%lu is descending", field,
					       LC_Q(s), lo, hi);
		}
		if (max >= 0 && hi > (unsigned long)max)
			return lc_fail(err, EINVAL,
				       "resources.%s \"%s\": %lu is above the highest possible on this host (%ld, %s)",
				       field, LC_Q(s), hi, max, possible);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return lc_fail(err, EINVAL,
				       "resources.%s \"%s\" is not a list of numbers and ranges like \"0-3,6\"", field,
				       LC_Q(s));
		p = end + 1;
	}
}

static int valid_pagesize(const char *s)
{
	size_t d = strspn(s, "0123456789");
	return d > 0 && (s[d] == 'K' || s[d] == 'M' || s[d] == 'G') && s[d + 1] == 'B' && !s[d + 2];
}

/* linux.resources cpu/memory/hugepageLimits/unified from the CRI resources (rules: the device
 * rules already built, attached here) and process.oomScoreAdj. */
static int resources_json(struct jb *b, const cri_resources *r, json_t *res, json_t *process, struct lc_err *err)
{
	if (!r)
		return 0;
	json_t *cpu = jb_obj(b), *mem = jb_obj(b);
	if (r->cpu_period < 0 || r->cpu_shares < 0 || r->cpu_quota < -1 || r->memory_limit_in_bytes < 0 ||
	    r->memory_swap_limit_in_bytes < -1) {
		json_decref(cpu);
		json_decref(mem);
		return lc_fail(err, EINVAL,
			       "resources: a negative value (cpu_period %lld, cpu_quota %lld, cpu_shares %lld, "
			       "memory %lld, swap %lld)",
			       (long long)r->cpu_period, (long long)r->cpu_quota, (long long)r->cpu_shares,
			       (long long)r->memory_limit_in_bytes, (long long)r->memory_swap_limit_in_bytes);
	}
	/* The kernel's CFS bounds (runc would fail writing cpu.cfs_quota_us / cpu.cfs_period_us):
	 * 0 = unset, quota -1 = unlimited. */
	if ((r->cpu_quota > 0 && r->cpu_quota < 1000) ||
	    (r->cpu_period && (r->cpu_period < 1000 || r->cpu_period > 1000000))) {
		json_decref(cpu);
		json_decref(mem);
		return lc_fail(err, EINVAL,
			       "resources: cpu_quota %lld / cpu_period %lld out of range (quota 0, -1 or at least 1000 us; "
			       "period 0 or 1000 to 1000000 us)", (long long)r->cpu_quota, (long long)r->cpu_period);
	}
	if (check_cpuset(S(r->cpuset_cpus), "cpuset_cpus", "/sys/devices/system/cpu/possible", err) < 0 ||
	    check_cpuset(S(r->cpuset_mems), "cpuset_mems", "/sys/devices/system/node/possible", err) < 0) {
		json_decref(cpu);
		json_decref(mem);
		return -1;
	}
	if (r->cpu_shares)
		jb_set(b, cpu, "shares", jb_int(b, r->cpu_shares));
	if (r->cpu_quota)
		jb_set(b, cpu, "quota", jb_int(b, r->cpu_quota));
	if (r->cpu_period)
		jb_set(b, cpu, "period", jb_int(b, r->cpu_period));
	if (*S(r->cpuset_cpus))
		jb_set(b, cpu, "cpus", jb_str(b, r->cpuset_cpus, "cpuset_cpus"));
	if (*S(r->cpuset_mems))
		jb_set(b, cpu, "mems", jb_str(b, r->cpuset_mems, "cpuset_mems"));
	int swap = (r->memory_limit_in_bytes || r->memory_swap_limit_in_bytes) && swap_accounting();
	if (r->memory_limit_in_bytes) {
		jb_set(b, mem, "limit", jb_int(b, r->memory_limit_in_bytes));
		if (swap && !r->memory_swap_limit_in_bytes) /* no swapping unless asked, as containerd */
			jb_set(b, mem, "swap", jb_int(b, r->memory_limit_in_bytes));
	}
	if (r->memory_swap_limit_in_bytes) {
		if (swap)
			jb_set(b, mem, "swap", jb_int(b, r->memory_swap_limit_in_bytes));
		else
			log_warn("memory_swap_limit_in_bytes %lld ignored: no swap accounting on this host",
				 (long long)r->memory_swap_limit_in_bytes);
	}
	if (json_object_size(cpu))
		jb_set(b, res, "cpu", cpu);
	else
		json_decref(cpu);
	if (json_object_size(mem))
		jb_set(b, res, "memory", mem);
	else
		json_decref(mem);

	if (r->n_hugepage_limits) {
		json_t *hl = jb_arr(b);
		for (size_t i = 0; i < r->n_hugepage_limits; i++) {
			const Runtime__V1__HugepageLimit *h = r->hugepage_limits[i];
			if (!valid_pagesize(S(h->page_size))) {
				json_decref(hl);
				return lc_fail(err, EINVAL, "hugepage_limits[%zu]: page size \"%s\" is not like \"2MB\"", i,
					       LC_Q(h->page_size));
			}
			json_t *o = jb_obj(b);
			jb_set(b, o, "pageSize", jb_str(b, h->page_size, "page_size"));
			jb_set(b, o, "limit", jb_int(b, h->limit > INT64_MAX ? INT64_MAX : h->limit));
			jb_push(b, hl, o);
		}
		jb_set(b, res, "hugepageLimits", hl);
	}
	if (r->n_unified) {
		if (!cgroup2_unified())
			return lc_fail(err, EINVAL, "resources: unified (cgroup v2) settings on a cgroup v1 host");
		json_t *u = jb_obj(b);
		for (size_t i = 0; i < r->n_unified; i++) {
			const char *k = S(r->unified[i]->key);
			if (!*k || strchr(k, '/') || !utf8_valid(k, strlen(k))) {
				json_decref(u);
				return lc_fail(err, EINVAL,
						"resources: unified key \"%s\" is not a cgroup file name", LC_Q(k));
			}
			jb_set(b, u, k, jb_str(b, r->unified[i]->value, "unified value"));
		}
		jb_set(b, res, "unified", u);
	}
	long adj;
	if (clamp_oom_score_adj((long)r->oom_score_adj, &adj, err) < 0)
		return -1;
	jb_set(b, process, "oomScoreAdj", jb_int(b, adj));
	return 0;
}

int spec_resources(const Runtime__V1__LinuxContainerResources *r, json_t **out, struct lc_err *err)
{
	assert(r && out);
	*out = NULL;
	struct jb b = { .err = err };
	json_auto_t *res = jb_obj(&b), *process = jb_obj(&b);
	if (b.failed || resources_json(&b, r, res, process, err) < 0 || b.failed)
		return -1;
	*out = json_incref(res);
	return 0;
}

/*
 * "<cgroup_parent>/<id>" (cgroupfs).  The pod's cgroup_parent must be a clean absolute path (no
 * "..", ".", empty components or trailing '/'), as the cgroupfs managers of containerd and CRI-O
 * take it, and no systemd slice: EINVAL naming linux.cgroup_parent.
 */
static int cgroups_path(const struct spec_pod *p, const char *id, char **out, struct lc_err *err)
{
	const char *parent = p->cgroup_parent && *p->cgroup_parent ? p->cgroup_parent : DEFAULT_CGROUP_PARENT;
	const char *what = "linux.cgroup_parent";
	size_t n = strlen(parent);
	if (n > 6 && strcmp(parent + n - 6, ".slice") == 0)
		return lc_fail(err, EINVAL,
				"%s %s is a systemd slice; litecri uses cgroupfs paths", what, LC_Q(parent));
	cleanup_free char *clean = NULL;
	if (clean_abs_path(parent, what, &clean, err) < 0)
		return -1;
	if (strcmp(clean, parent) != 0)
		return lc_fail(err, EINVAL, "%s \"%s\" is not a clean path (it would be %s)", what, LC_Q(parent),
			       LC_Q(clean));
	if (asprintf(out, "%s/%s", strcmp(clean, "/") == 0 ? "" : clean, id) < 0)
		return lc_fail(err, ENOMEM, "cgroup path");
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* AppArmor (seccomp: seccomp.h)                                                              */

static int apparmor_enabled(void)
{
	char c = 0;
	cleanup_fclose FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
	return f && fread(&c, 1, 1, f) == 1 && c == 'Y';
}

/* The AppArmor profile to apply (NULL: none).  Only a node's named profile (Localhost) is applied;
 * litecri has no default profile of its own. */
static int apparmor_profile(const cri_profile *ap, const char *legacy, const char **out, struct lc_err *err)
{
	*out = NULL;
	const char *name = NULL;
	if (ap) {
		if (ap->profile_type == RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost)
			name = S(ap->localhost_ref);
		else if (ap->profile_type != RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault &&
			 ap->profile_type != RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined)
			return lc_fail(err, EINVAL, "unknown AppArmor profile type %d", (int)ap->profile_type);
	} else {
		legacy = S(legacy);
		if (strncmp(legacy, "localhost/", 10) == 0)
			name = legacy + 10;
		else if (*legacy && strcmp(legacy, "runtime/default") != 0 && strcmp(legacy, "unconfined") != 0)
			return lc_fail(err, EINVAL, "AppArmor profile \"%s\" is not known", LC_Q(legacy));
	}
	if (!name)
		return 0;
	if (!*name)
		return lc_fail(err, EINVAL, "AppArmor profile of type Localhost without a name");
	if (!apparmor_enabled())
		return lc_fail(err, EINVAL, "AppArmor profile %s requested, but AppArmor is not enabled on this host",
			       LC_Q(name));
	*out = name;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* namespaces, annotations, sysctls                                                           */

static void add_ns(struct jb *b, json_t *nss, const char *type, const char *path)
{
	json_t *o = jb_obj(b);
	jb_set(b, o, "type", jb_str(b, type, "namespace type"));
	if (path)
		jb_set(b, o, "path", jb_str(b, path, "namespace path"));
	jb_push(b, nss, o);
}

/* The network/IPC mode a container asks for must be the pod's. */
static int check_pod_ns(Runtime__V1__NamespaceMode mode, const char *pinned, const char *kind, struct lc_err *err)
{
	if (mode == RUNTIME__V1__NAMESPACE_MODE__POD)
		return 0;
	if (mode == RUNTIME__V1__NAMESPACE_MODE__NODE && !pinned)
		return 0;
	if (mode == RUNTIME__V1__NAMESPACE_MODE__NODE)
		return lc_fail(err, EINVAL, "%s namespace mode NODE, but the pod has its own %s namespace", kind, kind);
	return lc_fail(err, EINVAL, "%s namespace mode %d is not supported (only POD or NODE)", kind, (int)mode);
}

static void pod_namespaces(struct jb *b, json_t *nss, const struct spec_pod *p)
{
	if (p->netns)
		add_ns(b, nss, "network", p->netns);
	if (p->ipcns)
		add_ns(b, nss, "ipc", p->ipcns);
	if (p->utsns)
		add_ns(b, nss, "uts", p->utsns);
	add_ns(b, nss, "mount", NULL);
	if (cgroup2_unified())
		add_ns(b, nss, "cgroup", NULL);
}

static int put_annotation(struct jb *b, json_t *a, const char *k, const char *v, struct lc_err *err)
{
	if (!*S(k) || !utf8_valid(S(k), strlen(S(k))))
		return lc_fail(err, EINVAL, "annotation key \"%s\" is empty or not UTF-8", LC_Q(k));
	jb_set(b, a, S(k), jb_str(b, v, "an annotation value"));
	return 0;
}

static int pod_cri_annotations(struct jb *b, json_t *a, const struct spec_pod *p, struct lc_err *err)
{
	const Runtime__V1__PodSandboxMetadata *md = p->config ? p->config->metadata : NULL;
	if (put_annotation(b, a, "io.kubernetes.cri.sandbox-id", p->id, err) < 0 ||
	    put_annotation(b, a, "io.kubernetes.cri.sandbox-name", md ? md->name : "", err) < 0 ||
	    put_annotation(b, a, "io.kubernetes.cri.sandbox-namespace", md ? md->namespace_ : "", err) < 0 ||
	    put_annotation(b, a, "io.kubernetes.cri.sandbox-uid", md ? md->uid : "", err) < 0)
		return -1;
	return 0;
}

static int is_ipc_sysctl(const char *k)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
					   "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
					   NULL };
	for (const char *const *s = ipc; *s; s++)
		if (strcmp(k, *s) == 0)
			return 1;
	return strncmp(k, "fs.mqueue.", 10) == 0;
}

/*
 * The pod's sysctls, for its infra process, checked as runc would refuse them: only the ones of
 * namespaces the pod has, that exist as writable files under /proc/sys (looked up in the daemon's
 * own namespaces: the namespaced sysctls a new namespace has are the same), with a value runc can
 * write (one line).
 */
static int sysctls_json(struct jb *b, const struct spec_pod *p, json_t **out, struct lc_err *err)
{
	*out = NULL;
	const Runtime__V1__LinuxPodSandboxConfig *l = p->config ? p->config->linux : NULL;
	if (!l || l->n_sysctls == 0)
		return 0;
	json_t *o = jb_obj(b);
	for (size_t i = 0; i < l->n_sysctls; i++) {
		const char *k = S(l->sysctls[i]->key), *v = S(l->sysctls[i]->value);
		char dotted[256];
		if (!*k || strlen(k) >= sizeof dotted || strspn(k, "abcdefghijklmnopqrstuvwxyz"
							       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != strlen(k) ||
		    strchr(v, '\n')) {
			json_decref(o);
			return lc_fail(err, EINVAL, "sysctl \"%s\" = \"%s\" is malformed (a name of letters, digits and "
				       "._-/, a value of one line)", LC_Q(k), LC_Q(v));
		}
		/* "net/ipv4/conf/eth0.100/rp_filter" and the dotted form name the same sysctl */
		strcpy(dotted, k);
		if (strchr(k, '/'))
			for (char *c = dotted; *c; c++)
				*c = *c == '/' ? '.' : *c == '.' ? '/' : *c;
		const char *need = NULL;
		if (is_ipc_sysctl(dotted))
			need = p->ipcns ? NULL : "IPC";
		else if (strncmp(dotted, "net.", 4) == 0)
			need = p->netns ? NULL : "network";
		else if (strcmp(dotted, "kernel.domainname") == 0)
			need = p->utsns ? NULL : "UTS";
		else if (strcmp(dotted, "kernel.hostname") == 0)
			need = "hostname";
		else
			need = "";
		if (need) {
			json_decref(o);
			if (!*need)
				return lc_fail(err, EINVAL, "sysctl %s is not namespaced; a pod cannot set it", k);
			if (!strcmp(need, "hostname"))
				return lc_fail(err, EINVAL, "sysctl %s is not namespaced for a pod: set the pod's hostname",
					       k);
			return lc_fail(err, EINVAL, "sysctl %s needs the pod's own %s namespace", k, need);
		}
		char file[sizeof dotted + 16];
		snprintf(file, sizeof file, "/proc/sys/%s", dotted);
		for (char *c = file + 10; *c; c++)
			*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
		struct stat st;
		int missing = stat(file, &st) < 0;
		if (missing || !S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR)) {
			json_decref(o);
			return lc_fail(err, EINVAL, "sysctl %s is not a sysctl this kernel lets a pod set (%s %s)", k, file,
				       missing ? "does not exist" : "is not a writable file");
		}
		jb_set(b, o, k, jb_str(b, v, "a sysctl value"));
	}
	*out = o;
	return 0;
}

static const char *const default_masked[] = {
	"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};
static const char *const default_readonly[] = {
	"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* maskedPaths / readonlyPaths: the CRI list when given, else the defaults. */
static json_t *path_list(struct jb *b, char **cri, size_t n, const char *field, const char *const *defaults,
			 struct lc_err *err)
{
	if (n == 0)
		return jb_strv(b, defaults);
	json_t *a = jb_arr(b);
	for (size_t i = 0; i < n; i++) {
		char *clean;
		if (clean_abs_path(cri[i], field, &clean, err) < 0) {
			json_decref(a);
			return NULL;
		}
		jb_push(b, a, jb_str(b, clean, field));
		free(clean);
	}
	return a;
}

/* ------------------------------------------------------------------------------------------ */
/* the specs                                                                                  */

static int pod_privileged(const struct spec_pod *p)
{
	const cri_pod *pc = p->config;
	return pc && pc->linux && pc->linux->security_context && pc->linux->security_context->privileged;
}

static Runtime__V1__NamespaceMode pod_pid_mode(const struct spec_pod *p)
{
	const cri_pod *pc = p->config;
	if (pc && pc->linux && pc->linux->security_context && pc->linux->security_context->namespace_options)
		return pc->linux->security_context->namespace_options->pid;
	return RUNTIME__V1__NAMESPACE_MODE__POD;
}

/* What a request names that is not there (a user, a device, a profile) is bad input: EINVAL. */
static int bad_input(int rc, struct lc_err *err)
{
	if (rc < 0 && err->errnum == ENOENT)
		err->errnum = EINVAL;
	return rc;
}

static int build_container(const struct spec_pod *p, const struct spec_container *c, json_t **out,
			   struct lc_err *err)
{
	assert(p && c && out && p->id && c->id && c->config && c->rootfs);
	*out = NULL;
	const cri_container *cc = c->config;
	const cri_secctx *sc = cc->linux ? cc->linux->security_context : NULL;
	const cri_resources *res = cc->linux ? cc->linux->resources : NULL;
	const Runtime__V1__NamespaceOption *nso = sc ? sc->namespace_options : NULL;
	int privileged = sc && sc->privileged;
	int readonly = sc && sc->readonly_rootfs;

	if (privileged && !pod_privileged(p))
		return lc_fail(err, EINVAL, "privileged container in a pod that is not privileged");
	if (cc->n_cdi_devices)
		return lc_fail(err, EINVAL, "CDI devices (%s) are not supported", LC_Q(cc->cdi_devices[0]->name));
	if (nso && nso->userns_options && nso->userns_options->mode != RUNTIME__V1__NAMESPACE_MODE__NODE)
		return lc_fail(err, EINVAL, "user namespaces are not supported");
	/* No container-level options: the pod's PID mode applies. */
	Runtime__V1__NamespaceMode pid_mode = nso ? nso->pid : pod_pid_mode(p);
	if (check_pod_ns(nso ? nso->network : RUNTIME__V1__NAMESPACE_MODE__POD, p->netns, "network", err) < 0 ||
	    check_pod_ns(nso ? nso->ipc : RUNTIME__V1__NAMESPACE_MODE__POD, p->ipcns, "IPC", err) < 0)
		return -1;
	if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__POD && p->infra_pid <= 0)
		return lc_fail(err, EINVAL, "PID namespace mode POD, but the pod has no infra process");
	if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__TARGET && c->target_pid <= 0)
		return lc_fail(err, EINVAL, "PID namespace mode TARGET without a running target container");
	if (pid_mode != RUNTIME__V1__NAMESPACE_MODE__POD && pid_mode != RUNTIME__V1__NAMESPACE_MODE__CONTAINER &&
	    pid_mode != RUNTIME__V1__NAMESPACE_MODE__NODE && pid_mode != RUNTIME__V1__NAMESPACE_MODE__TARGET)
		return lc_fail(err, EINVAL, "unknown PID namespace mode %d", (int)pid_mode);

	cleanup_image_cfg struct image_cfg ic = { 0 };
	if (image_cfg_parse(c->image_config, &ic, err) < 0)
		return -1;

	struct jb b = { .err = err };
	char hostname[256];
	if (container_hostname(p, hostname, sizeof hostname, err) < 0 ||
	    (p->utsns && check_hostname(hostname, err) < 0))
		return -1;

	/* process */
	json_auto_t *process = jb_obj(&b);
	jb_set(&b, process, "terminal", jb_bool(&b, cc->tty));
	struct userdb_user user;
	if (resolve_user(c, sc, &ic, &user, err) < 0)
		return -1;
	jb_set(&b, process, "user", user_json(&b, &user));
	json_t *args = build_args(&b, cc, &ic, err);
	json_t *env = args ? build_env(&b, cc, &ic, hostname, user.home, err) : NULL;
	userdb_user_free(&user);
	if (!args || !env) {
		json_decref(args);
		return -1;
	}
	jb_set(&b, process, "args", args);
	jb_set(&b, process, "env", env);
	cleanup_free char *cwd = NULL;
	if (*S(cc->working_dir)) {
		if (clean_abs_path(cc->working_dir, "working_dir", &cwd, err) < 0)
			return -1;
	} else if (ic.workdir && *ic.workdir) {
		cleanup_free char *abs = NULL;
		if (asprintf(&abs, "%s%s", ic.workdir[0] == '/' ? "" : "/", ic.workdir) < 0)
			return lc_fail(err, ENOMEM, "working directory");
		if (clean_abs_path(abs, "image config WorkingDir", &cwd, err) < 0)
			return -1;
	}
	jb_set(&b, process, "cwd", jb_str(&b, cwd ? cwd : "/", "working_dir"));
	uint64_t caps, ambient;
	if (compute_caps(sc, &caps, &ambient, err) < 0)
		return -1;
	jb_set(&b, process, "capabilities", caps_json(&b, caps, ambient));
	jb_set(&b, process, "noNewPrivileges", jb_bool(&b, sc && sc->no_new_privs));
	if (!privileged) {
		const char *aa;
		if (apparmor_profile(sc ? sc->apparmor : NULL, legacy_apparmor(sc), &aa, err) < 0)
			return -1;
		if (aa)
			jb_set(&b, process, "apparmorProfile", jb_str(&b, aa, "AppArmor profile"));
	}

	/* linux */
	json_auto_t *lnx = jb_obj(&b);
	json_t *resources = jb_obj(&b), *rules = jb_arr(&b), *devices = jb_arr(&b);
	jb_set(&b, resources, "devices", rules); /* rules and devices stay referenced below */
	jb_set(&b, lnx, "resources", resources);
	jb_set(&b, lnx, "devices", devices);
	jb_push(&b, rules, device_rule(&b, privileged, NULL, NULL, "rwm")); /* deny all (privileged: allow all) */
	char **dev_paths;
	size_t n_dev_paths;
	int rc = cri_devices(&b, cc, devices, rules, &dev_paths, &n_dev_paths, err);
	if (rc == 0 && privileged && !b.failed)
		rc = host_devices(&b, "/dev", 0, devices, dev_paths, n_dev_paths, err);
	free_strv(dev_paths, n_dev_paths);
	if (rc < 0 || resources_json(&b, res, resources, process, err) < 0)
		return -1;
	cleanup_free char *cgpath = NULL;
	if (cgroups_path(p, c->id, &cgpath, err) < 0)
		return -1;
	jb_set(&b, lnx, "cgroupsPath", jb_str(&b, cgpath, "cgroup path"));

	json_t *nss = jb_arr(&b);
	if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__POD) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)p->infra_pid);
		add_ns(&b, nss, "pid", path);
	} else if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__TARGET) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)c->target_pid);
		add_ns(&b, nss, "pid", path);
	} else if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__CONTAINER) {
		add_ns(&b, nss, "pid", NULL);
	}
	pod_namespaces(&b, nss, p);
	jb_set(&b, lnx, "namespaces", nss);
	if (!privileged) {
		json_t *masked = path_list(&b, sc ? sc->masked_paths : NULL, sc ? sc->n_masked_paths : 0, "masked_paths",
					   default_masked, err);
		if (!masked)
			return -1;
		jb_set(&b, lnx, "maskedPaths", masked);
		json_t *ro = path_list(&b, sc ? sc->readonly_paths : NULL, sc ? sc->n_readonly_paths : 0,
				       "readonly_paths", default_readonly, err);
		if (!ro)
			return -1;
		jb_set(&b, lnx, "readonlyPaths", ro);
		json_t *seccomp;
		if (seccomp_profile(sc ? sc->seccomp : NULL, legacy_seccomp(sc), caps, &seccomp, err) < 0)
			return -1;
		if (seccomp)
			jb_set(&b, lnx, "seccomp", seccomp);
	}

	/* mounts */
	struct cri_mount *cm;
	if (prepare_cri_mounts(cc, &cm, err) < 0)
		return -1;
	json_t *mounts = jb_arr(&b);
	const char *root_prop;
	default_mounts(&b, mounts, p, privileged, readonly, 0, cm, cc->n_mounts);
	cri_mounts_json(&b, mounts, cm, cc->n_mounts, &root_prop);
	cri_mounts_free(cm, cc->n_mounts);
	if (*root_prop)
		jb_set(&b, lnx, "rootfsPropagation", jb_str(&b, root_prop, "rootfs propagation"));

	/* annotations */
	json_t *ann = jb_obj(&b);
	for (size_t i = 0; i < cc->n_annotations; i++)
		if (put_annotation(&b, ann, cc->annotations[i]->key, cc->annotations[i]->value, err) < 0) {
			json_decref(ann);
			json_decref(mounts);
			return -1;
		}
	if (put_annotation(&b, ann, "io.kubernetes.cri.container-type", "container", err) < 0 ||
	    pod_cri_annotations(&b, ann, p, err) < 0 ||
	    put_annotation(&b, ann, "io.kubernetes.cri.container-name", cc->metadata ? cc->metadata->name : "", err) < 0 ||
	    put_annotation(&b, ann, "io.kubernetes.cri.image-name", c->image_name, err) < 0) {
		json_decref(ann);
		json_decref(mounts);
		return -1;
	}

	json_auto_t *spec = jb_obj(&b);
	jb_set(&b, spec, "ociVersion", jb_str(&b, OCI_VERSION, "ociVersion"));
	jb_set(&b, spec, "process", json_incref(process));
	json_t *root = jb_obj(&b);
	jb_set(&b, root, "path", jb_str(&b, c->rootfs, "rootfs"));
	jb_set(&b, root, "readonly", jb_bool(&b, readonly));
	jb_set(&b, spec, "root", root);
	if (p->utsns && p->config && *S(p->config->hostname))
		jb_set(&b, spec, "hostname", jb_str(&b, hostname, "hostname"));
	jb_set(&b, spec, "mounts", mounts);
	jb_set(&b, spec, "annotations", ann);
	if (!b.failed && json_array_size(devices) == 0)
		json_object_del(lnx, "devices");
	jb_set(&b, spec, "linux", json_incref(lnx));
	if (b.failed)
		return -1;
	*out = spec;
	spec = NULL;
	return 0;
}

int spec_container(const struct spec_pod *p, const struct spec_container *c, json_t **out, struct lc_err *err)
{
	return bad_input(build_container(p, c, out, err), err);
}

static int build_pause(const struct spec_pod *p, const char *rootfs, json_t **out, struct lc_err *err)
{
	assert(p && p->id && rootfs && out);
	*out = NULL;
	const cri_pod *pc = p->config;
	const Runtime__V1__LinuxSandboxSecurityContext *sc = pc && pc->linux ? pc->linux->security_context : NULL;
	const char *hostname = pc ? S(pc->hostname) : "";
	if (p->utsns && *hostname && check_hostname(hostname, err) < 0)
		return -1;
	struct jb b = { .err = err };
	json_auto_t *spec = NULL;

	json_auto_t *process = jb_obj(&b);
	jb_set(&b, process, "terminal", jb_bool(&b, 0));
	static const struct userdb_user pause_user = { .uid = PAUSE_ID, .gid = PAUSE_ID };
	jb_set(&b, process, "user", user_json(&b, &pause_user));
	static const char *const args[] = { "/pause", NULL }, *const env[] = { DEFAULT_PATH_ENV, NULL };
	jb_set(&b, process, "args", jb_strv(&b, args));
	jb_set(&b, process, "env", jb_strv(&b, env));
	jb_set(&b, process, "cwd", jb_str(&b, "/", "cwd"));
	jb_set(&b, process, "capabilities", caps_json(&b, 0, 0));
	jb_set(&b, process, "noNewPrivileges", jb_bool(&b, 1));
	long adj;
	if (clamp_oom_score_adj(SANDBOX_OOM_SCORE_ADJ, &adj, err) < 0)
		return -1;
	jb_set(&b, process, "oomScoreAdj", jb_int(&b, adj));

	json_auto_t *lnx = jb_obj(&b);
	json_t *resources = jb_obj(&b), *rules = jb_arr(&b), *cpu = jb_obj(&b);
	jb_push(&b, rules, device_rule(&b, 0, NULL, NULL, "rwm"));
	jb_set(&b, resources, "devices", rules);
	jb_set(&b, cpu, "shares", jb_int(&b, SANDBOX_CPU_SHARES));
	jb_set(&b, resources, "cpu", cpu);
	jb_set(&b, lnx, "resources", resources);
	cleanup_free char *cgpath = NULL;
	if (cgroups_path(p, p->id, &cgpath, err) < 0)
		return -1;
	jb_set(&b, lnx, "cgroupsPath", jb_str(&b, cgpath, "cgroup path"));
	json_t *nss = jb_arr(&b);
	if (pod_pid_mode(p) != RUNTIME__V1__NAMESPACE_MODE__NODE)
		add_ns(&b, nss, "pid", NULL);
	pod_namespaces(&b, nss, p);
	jb_set(&b, lnx, "namespaces", nss);
	jb_set(&b, lnx, "maskedPaths", jb_strv(&b, default_masked));
	jb_set(&b, lnx, "readonlyPaths", jb_strv(&b, default_readonly));
	json_t *sysctl, *seccomp;
	if (sysctls_json(&b, p, &sysctl, err) < 0)
		return -1;
	if (sysctl)
		jb_set(&b, lnx, "sysctl", sysctl);
	if (!(sc && sc->privileged)) {
		if (seccomp_profile(sc ? sc->seccomp : NULL, legacy_pod_seccomp(sc), 0, &seccomp, err) < 0)
			return -1;
		if (seccomp)
			jb_set(&b, lnx, "seccomp", seccomp);
	}

	json_t *mounts = jb_arr(&b);
	default_mounts(&b, mounts, p, 0, 1, 1, NULL, 0);

	json_t *ann = jb_obj(&b);
	for (size_t i = 0; pc && i < pc->n_annotations; i++)
		if (put_annotation(&b, ann, pc->annotations[i]->key, pc->annotations[i]->value, err) < 0)
			goto fail;
	if (put_annotation(&b, ann, "io.kubernetes.cri.container-type", "sandbox", err) < 0 ||
	    pod_cri_annotations(&b, ann, p, err) < 0 ||
	    put_annotation(&b, ann, "io.kubernetes.cri.sandbox-log-directory", pc ? pc->log_directory : "", err) < 0)
		goto fail;

	spec = jb_obj(&b);
	jb_set(&b, spec, "ociVersion", jb_str(&b, OCI_VERSION, "ociVersion"));
	jb_set(&b, spec, "process", json_incref(process));
	json_t *root = jb_obj(&b);
	jb_set(&b, root, "path", jb_str(&b, rootfs, "rootfs"));
	jb_set(&b, root, "readonly", jb_bool(&b, 1));
	jb_set(&b, spec, "root", root);
	if (p->utsns && *hostname)
		jb_set(&b, spec, "hostname", jb_str(&b, hostname, "hostname"));
	jb_set(&b, spec, "mounts", mounts);
	jb_set(&b, spec, "annotations", ann);
	jb_set(&b, spec, "linux", json_incref(lnx));
	if (b.failed)
		return -1;
	*out = spec;
	spec = NULL;
	return 0;
fail:
	json_decref(ann);
	json_decref(mounts);
	return -1;
}

int spec_pause(const struct spec_pod *p, const char *rootfs, json_t **out, struct lc_err *err)
{
	return bad_input(build_pause(p, rootfs, out, err), err);
}

/* ------------------------------------------------------------------------------------------ */
/* writing                                                                                    */

int spec_write(const char *bundle, json_t *spec, struct lc_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.config.json.XXXXXX", bundle) >= (int)sizeof tmp)
		return lc_fail(err, ENAMETOOLONG, "bundle %s", bundle);
	cleanup_free char *text = json_dumps(spec, JSON_INDENT(2));
	if (!text)
		return lc_fail(err, ENOMEM, "serialize %s", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "create %s", tmp);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lc_fail(err, errno, "write %s", tmp);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		lc_fail(err, errno, "sync %s", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		lc_fail(err, errno, "close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		lc_fail(err, errno, "rename %s to %s", tmp, path);
		goto fail;
	}
	int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		lc_fail(err, errno, "sync bundle %s", bundle);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}
