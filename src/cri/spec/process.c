/* process.c — the process of a container's config.json: args, env, user, cwd, oom_score_adj, AppArmor,
 * and the image's stop signal; see spec.h. */
#include "cri/spec/spec_int.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/host.h"
#include "runtime/userdb.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/utf8.h"

/* The deprecated CRI field (string form of the AppArmor profile), still honoured when the
 * SecurityProfile message is absent. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const char *legacy_apparmor(const cri_secctx *sc) { return sc ? sc->apparmor_profile : NULL; }
#pragma GCC diagnostic pop

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

json_t *user_json(struct jb *b, const struct userdb_user *u)
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
int clamp_oom_score_adj(long want, long *out, struct lc_err *err)
{
	if (want < -1000 || want > 1000)
		return lc_fail(err, EINVAL, "oom_score_adj %ld is outside -1000..1000", want);
	*out = want;
	if (have_sys_resource())
		return 0;
	long own;
	if (host_oom_score_adj(&own, err) < 0)
		return -1;
	if (want < own) {
		log_debug("oom_score_adj %ld raised to the daemon's own %ld (no CAP_SYS_RESOURCE)", want, own);
		*out = own;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* AppArmor (seccomp: seccomp.h)                                                              */

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
	if (!host_apparmor_enabled())
		return lc_fail(err, EINVAL, "AppArmor profile %s requested, but AppArmor is not enabled on this host",
			       LC_Q(name));
	*out = name;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the section                                                                                */

/*
 * The process of a container: terminal, user, args, env, cwd, capabilities, noNewPrivileges and
 * (not privileged) the AppArmor profile, into process; *caps: its capability set.
 */
int process_json(struct jb *b, const struct spec_container *c, const struct image_cfg *ic, const char *hostname,
		 json_t *process, uint64_t *caps, struct lc_err *err)
{
	const cri_container *cc = c->config;
	const cri_secctx *sc = cc->linux ? cc->linux->security_context : NULL;
	jb_set(b, process, "terminal", jb_bool(b, cc->tty));
	struct userdb_user user;
	if (resolve_user(c, sc, ic, &user, err) < 0)
		return -1;
	jb_set(b, process, "user", user_json(b, &user));
	json_t *args = build_args(b, cc, ic, err);
	json_t *env = args ? build_env(b, cc, ic, hostname, user.home, err) : NULL;
	userdb_user_free(&user);
	if (!args || !env) {
		json_decref(args);
		return -1;
	}
	jb_set(b, process, "args", args);
	jb_set(b, process, "env", env);
	cleanup_free char *cwd = NULL;
	if (*S(cc->working_dir)) {
		if (clean_abs_path(cc->working_dir, "working_dir", &cwd, err) < 0)
			return -1;
	} else if (ic->workdir && *ic->workdir) {
		cleanup_free char *abs = NULL;
		if (asprintf(&abs, "%s%s", ic->workdir[0] == '/' ? "" : "/", ic->workdir) < 0)
			return lc_fail(err, ENOMEM, "working directory");
		if (clean_abs_path(abs, "image config WorkingDir", &cwd, err) < 0)
			return -1;
	}
	jb_set(b, process, "cwd", jb_str(b, cwd ? cwd : "/", "working_dir"));
	uint64_t ambient;
	if (compute_caps(sc, caps, &ambient, err) < 0)
		return -1;
	jb_set(b, process, "capabilities", caps_json(b, *caps, ambient));
	jb_set(b, process, "noNewPrivileges", jb_bool(b, sc && sc->no_new_privs));
	if (!(sc && sc->privileged)) {
		const char *aa;
		if (apparmor_profile(sc ? sc->apparmor : NULL, legacy_apparmor(sc), &aa, err) < 0)
			return -1;
		if (aa)
			jb_set(b, process, "apparmorProfile", jb_str(b, aa, "AppArmor profile"));
	}
	return 0;
}
