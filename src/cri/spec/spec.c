/* spec.c — see spec.h: the builder core (spec_container, spec_pause), the JSON builder, the helpers the
 * section files share (spec_int.h), annotations. */
#include "cri/spec/spec_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri/spec/seccomp.h"
#include "runtime/userdb.h"
#include "util/cleanup.h"
#include "util/utf8.h"

#define OCI_VERSION "1.0.2"
#define PAUSE_ID 65535
#define SANDBOX_OOM_SCORE_ADJ (-998) /* as containerd: the infra process is the last to go */
#define SANDBOX_CPU_SHARES 2

/* The deprecated CRI fields (string forms of the seccomp profiles), still honoured when the
 * SecurityProfile message is absent. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const char *legacy_seccomp(const cri_secctx *sc) { return sc ? sc->seccomp_profile_path : NULL; }
static const char *legacy_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc)
{
	return sc ? sc->seccomp_profile_path : NULL;
}
#pragma GCC diagnostic pop

/* ------------------------------------------------------------------------------------------ */
/* building JSON                                                                              */

void jb_oom(struct jb *b)
{
	if (!b->failed)
		lc_fail(b->err, ENOMEM, "building config.json");
	b->failed = 1;
}

json_t *jb_new(struct jb *b, json_t *v)
{
	if (!v)
		jb_oom(b);
	return v;
}

json_t *jb_strn(struct jb *b, const char *s, size_t n, const char *what)
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

json_t *jb_str(struct jb *b, const char *s, const char *what)
{
	return jb_strn(b, S(s), strlen(S(s)), what);
}

void jb_set(struct jb *b, json_t *o, const char *k, json_t *v)
{
	if (b->failed || !o || !v) {
		json_decref(v);
		jb_oom(b);
		return;
	}
	if (json_object_set_new(o, k, v) < 0)
		jb_oom(b);
}

void jb_push(struct jb *b, json_t *a, json_t *v)
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
json_t *jb_strv(struct jb *b, const char *const *v)
{
	json_t *a = jb_arr(b);
	for (; *v; v++)
		jb_push(b, a, jb_str(b, *v, *v));
	return a;
}

/* ------------------------------------------------------------------------------------------ */
/* validation helpers                                                                         */

/*
 * Check that `in` is an absolute path without ".." components and return it cleaned (no "//", no
 * "." components, no trailing '/') in a malloc'ed *out.  `what` names the field in errors.
 */
int clean_abs_path(const char *in, const char *what, char **out, struct lc_err *err)
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

/* ------------------------------------------------------------------------------------------ */
/* the image config                                                                           */

void image_cfg_release(struct image_cfg *ic) { json_decref(ic->root); }

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
int image_cfg_parse(const char *text, struct image_cfg *ic, struct lc_err *err)
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
/* annotations                                                                                */

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

/* ------------------------------------------------------------------------------------------ */
/* the specs                                                                                  */

static int pod_privileged(const struct spec_pod *p)
{
	const cri_pod *pc = p->config;
	return pc && pc->linux && pc->linux->security_context && pc->linux->security_context->privileged;
}

/* What a request names that is not there (a user, a device, a profile) is bad input: EINVAL. */
static int bad_input(int rc, struct lc_err *err)
{
	if (rc < 0 && err->errnum == ENOENT)
		err->errnum = EINVAL;
	return rc;
}

/* linux.seccomp of a container that is not privileged, whose process has the capabilities caps. */
static int seccomp_json(struct jb *b, const cri_secctx *sc, uint64_t caps, json_t *lnx, struct lc_err *err)
{
	json_t *seccomp;
	if (seccomp_profile(sc ? sc->seccomp : NULL, legacy_seccomp(sc), caps, &seccomp, err) < 0)
		return -1;
	if (seccomp)
		jb_set(b, lnx, "seccomp", seccomp);
	return 0;
}

/* The container's annotations in a new *out: the CRI ones, then io.kubernetes.cri.* (winning). */
static int container_annotations(struct jb *b, const struct spec_pod *p, const struct spec_container *c, json_t **out,
				 struct lc_err *err)
{
	const cri_container *cc = c->config;
	json_t *ann = jb_obj(b);
	*out = NULL;
	for (size_t i = 0; i < cc->n_annotations; i++)
		if (put_annotation(b, ann, cc->annotations[i]->key, cc->annotations[i]->value, err) < 0) {
			json_decref(ann);
			return -1;
		}
	if (put_annotation(b, ann, "io.kubernetes.cri.container-type", "container", err) < 0 ||
	    pod_cri_annotations(b, ann, p, err) < 0 ||
	    put_annotation(b, ann, "io.kubernetes.cri.container-name", cc->metadata ? cc->metadata->name : "", err) < 0 ||
	    put_annotation(b, ann, "io.kubernetes.cri.image-name", c->image_name, err) < 0) {
		json_decref(ann);
		return -1;
	}
	*out = ann;
	return 0;
}

/* The container's config.json: the checks that concern the whole spec, then one section after the
 * other, in the order their errors take precedence. */
static int build_container(const struct spec_pod *p, const struct spec_container *c, json_t **out,
			   struct lc_err *err)
{
	assert(p && c && out && p->id && c->id && c->config && c->rootfs);
	*out = NULL;
	const cri_container *cc = c->config;
	const cri_secctx *sc = cc->linux ? cc->linux->security_context : NULL;
	int privileged = sc && sc->privileged;
	int readonly = sc && sc->readonly_rootfs;

	if (privileged && !pod_privileged(p))
		return lc_fail(err, EINVAL, "privileged container in a pod that is not privileged");
	if (cc->n_cdi_devices)
		return lc_fail(err, EINVAL, "CDI devices (%s) are not supported", LC_Q(cc->cdi_devices[0]->name));
	Runtime__V1__NamespaceMode pid_mode;
	if (container_pid_mode(p, c, &pid_mode, err) < 0)
		return -1;

	cleanup_image_cfg struct image_cfg ic = { 0 };
	if (image_cfg_parse(c->image_config, &ic, err) < 0)
		return -1;

	struct jb b = { .err = err };
	char hostname[256];
	if (container_hostname(p, hostname, sizeof hostname, err) < 0 ||
	    (p->utsns && check_hostname(hostname, err) < 0))
		return -1;

	json_auto_t *process = jb_obj(&b), *lnx = NULL, *mounts = NULL, *ann = NULL;
	json_t *resources;
	uint64_t caps;
	if (process_json(&b, c, &ic, hostname, process, &caps, err) < 0)
		return -1;
	lnx = jb_obj(&b);
	if (devices_json(&b, cc, privileged, lnx, &resources, err) < 0 ||
	    container_resources_json(&b, p, c, lnx, resources, process, err) < 0)
		return -1;
	container_namespaces_json(&b, p, c, pid_mode, lnx);
	if (!privileged && (paths_json(&b, sc, lnx, err) < 0 || seccomp_json(&b, sc, caps, lnx, err) < 0))
		return -1;
	if (mounts_json(&b, p, cc, privileged, readonly, lnx, &mounts, err) < 0 ||
	    container_annotations(&b, p, c, &ann, err) < 0)
		return -1;

	json_auto_t *spec = jb_obj(&b);
	jb_set(&b, spec, "ociVersion", jb_str(&b, OCI_VERSION, "ociVersion"));
	jb_set(&b, spec, "process", json_incref(process));
	json_t *root = jb_obj(&b);
	jb_set(&b, root, "path", jb_str(&b, c->rootfs, "rootfs"));
	jb_set(&b, root, "readonly", jb_bool(&b, readonly));
	jb_set(&b, spec, "root", root);
	if (p->utsns && p->config && *S(p->config->hostname))
		jb_set(&b, spec, "hostname", jb_str(&b, hostname, "hostname"));
	jb_set(&b, spec, "mounts", json_incref(mounts));
	jb_set(&b, spec, "annotations", json_incref(ann));
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
	if (spec_cgroups_path(p->cgroup_parent, p->id, &cgpath, err) < 0)
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
