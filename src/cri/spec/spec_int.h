/*
 * spec_int.h — what the files of the CRI→OCI translation share (spec.c: the builder core and the
 * JSON builder; process.c, caps.c, mounts.c, devices.c, resources.c, namespaces.c: one section of
 * config.json each; seccomp.c).  Not for use outside src/cri/spec: the contract is spec.h's.
 */
#ifndef LITECRI_CRI_SPEC_SPEC_INT_H
#define LITECRI_CRI_SPEC_SPEC_INT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "api.pb-c.h"
#include "cri/spec/bits.h"
#include "cri/spec/spec.h"
#include "util/err.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef Runtime__V1__ContainerConfig cri_container;
typedef Runtime__V1__PodSandboxConfig cri_pod;
typedef Runtime__V1__LinuxContainerSecurityContext cri_secctx;
typedef Runtime__V1__LinuxContainerResources cri_resources;
typedef Runtime__V1__SecurityProfile cri_profile;

struct cri_mount;
struct userdb_user;

/* ---- spec.c: building JSON ---------------------------------------------------------------- */

/*
 * A JSON builder with a sticky failure: the first failure fills err (ENOMEM, or EINVAL for a
 * string that is not UTF-8); afterwards every call only releases what it is handed, so building
 * code can run on and check b.failed once.  jb_set/jb_push steal v.
 */
struct jb {
	struct lc_err *err;
	int failed;
};

/* Record ENOMEM (the first failure only) and mark b failed. */
void jb_oom(struct jb *b);
/* v, after recording ENOMEM when it is NULL. */
json_t *jb_new(struct jb *b, json_t *v);
#define jb_obj(b) jb_new(b, json_object())
#define jb_arr(b) jb_new(b, json_array())
#define jb_int(b, v) jb_new(b, json_integer((json_int_t)(v)))
#define jb_bool(b, v) jb_new(b, json_boolean(v))
/* A JSON string of n bytes of s; NULL and b failed (EINVAL naming `what` when not UTF-8). */
json_t *jb_strn(struct jb *b, const char *s, size_t n, const char *what);
/* jb_strn of the NUL-terminated s (NULL: ""). */
json_t *jb_str(struct jb *b, const char *s, const char *what);
/* o[k] = v (stolen); releases v when b has failed. */
void jb_set(struct jb *b, json_t *o, const char *k, json_t *v);
/* Append v (stolen) to a; releases v when b has failed. */
void jb_push(struct jb *b, json_t *a, json_t *v);
/* An array of the NULL-terminated strings v. */
json_t *jb_strv(struct jb *b, const char *const *v);

/* ---- spec.c: validation helpers, the image config ------------------------------------------- */

/*
 * Check that `in` is an absolute path without ".." components and return it cleaned (no "//", no
 * "." components, no trailing '/') in a malloc'ed *out.  `what` names the field in errors.
 */
int clean_abs_path(const char *in, const char *what, char **out, struct lc_err *err);

/* The parts of an image config (OCI/Docker) a spec uses. */
struct image_cfg {
	json_t *root;
	json_t *entrypoint, *cmd, *env; /* borrowed from root: arrays of strings, or NULL */
	const char *workdir, *user, *stop_signal;
};
/* Release what image_cfg_parse filled in. */
void image_cfg_release(struct image_cfg *ic);
#define cleanup_image_cfg __attribute__((cleanup(image_cfg_release)))
/* Parse the image config JSON (NULL or "": an image without config); EINVAL for a malformed one.
 * ic is to be released (cleanup_image_cfg) even after failure. */
int image_cfg_parse(const char *text, struct image_cfg *ic, struct lc_err *err);

/* ---- process.c ------------------------------------------------------------------------------ */

/*
 * The process of a container: terminal, user, args, env, cwd, capabilities, noNewPrivileges and
 * (not privileged) the AppArmor profile, into process; *caps: its capability set.
 */
int process_json(struct jb *b, const struct spec_container *c, const struct image_cfg *ic, const char *hostname,
		 json_t *process, uint64_t *caps, struct lc_err *err);
/* process.user of u. */
json_t *user_json(struct jb *b, const struct userdb_user *u);
/* oom_score_adj as the runtime can apply it: not below the daemon's own without CAP_SYS_RESOURCE;
 * EINVAL outside -1000..1000. */
int clamp_oom_score_adj(long want, long *out, struct lc_err *err);

/* ---- caps.c --------------------------------------------------------------------------------- */

/*
 * The container's capability sets: the defaults, then "ALL" added / dropped, then single ones
 * added / dropped (a drop wins), ambient ones in every set; privileged: every capability.  "ALL"
 * and privileged mean every capability litecri holds; a single one it does not hold is EINVAL.
 */
int compute_caps(const cri_secctx *sc, uint64_t *main, uint64_t *ambient, struct lc_err *err);
/* process.capabilities of the sets (bit n: capability n). */
json_t *caps_json(struct jb *b, uint64_t main, uint64_t ambient);

/* ---- namespaces.c --------------------------------------------------------------------------- */

/* The hostname the container sees (the pod's with its own UTS namespace, else the node's). */
int container_hostname(const struct spec_pod *p, char *buf, size_t n, struct lc_err *err);
/* EINVAL for a pod hostname a hostname cannot be. */
int check_hostname(const char *h, struct lc_err *err);
/* Append {"type", "path"} (path NULL: a new namespace) to nss. */
void add_ns(struct jb *b, json_t *nss, const char *type, const char *path);
/* The pod's network/IPC/UTS namespaces, a new mount and (cgroup v2) cgroup namespace. */
void pod_namespaces(struct jb *b, json_t *nss, const struct spec_pod *p);
/* The pod's PID namespace mode (POD when not set). */
Runtime__V1__NamespaceMode pod_pid_mode(const struct spec_pod *p);
/*
 * Check the container's namespace options against the pod (user namespaces, a network or IPC mode
 * other than the pod's, a PID mode without what it needs: EINVAL); *pid_mode: its PID mode.
 */
int container_pid_mode(const struct spec_pod *p, const struct spec_container *c, Runtime__V1__NamespaceMode *pid_mode,
		       struct lc_err *err);
/* linux.namespaces of a container: its PID namespace (pid_mode, checked by container_pid_mode),
 * then the pod's. */
void container_namespaces_json(struct jb *b, const struct spec_pod *p, const struct spec_container *c,
			       Runtime__V1__NamespaceMode pid_mode, json_t *lnx);
/* linux.sysctl of the pod's infra process (*out NULL: none), checked as runc would refuse them. */
int sysctls_json(struct jb *b, const struct spec_pod *p, json_t **out, struct lc_err *err);

/* ---- mounts.c ------------------------------------------------------------------------------- */

/* The kernel filesystems and the pod's files every container gets. */
void default_mounts(struct jb *b, json_t *mounts, const struct spec_pod *p, int privileged, int readonly, int pause,
		    const struct cri_mount *cm, size_t n_cm);
/* The default maskedPaths / readonlyPaths (NULL-terminated). */
extern const char *const default_masked[];
extern const char *const default_readonly[];
/* linux.maskedPaths and linux.readonlyPaths of a container: the CRI lists when given, else the
 * defaults. */
int paths_json(struct jb *b, const cri_secctx *sc, json_t *lnx, struct lc_err *err);
/* The mounts of a container in a new *out (the defaults a CRI mount does not replace, then the CRI
 * mounts), and linux.rootfsPropagation into lnx when they need one. */
int mounts_json(struct jb *b, const struct spec_pod *p, const cri_container *cc, int privileged, int readonly,
		json_t *lnx, json_t **out, struct lc_err *err);

/* ---- devices.c ------------------------------------------------------------------------------ */

/* A device cgroup rule (type NULL: all; st NULL: any major/minor). */
json_t *device_rule(struct jb *b, int allow, const char *type, const struct stat *st, const char *access);
/*
 * linux.resources holding the device cgroup rules (deny all — privileged: allow all —, then the
 * CRI devices') and linux.devices (the CRI devices, privileged: and the host's; no member when
 * none), into lnx; *resources: the linux.resources object (borrowed).
 */
int devices_json(struct jb *b, const cri_container *cc, int privileged, json_t *lnx, json_t **resources,
		 struct lc_err *err);

/* ---- resources.c ---------------------------------------------------------------------------- */

/* linux.resources cpu/memory/hugepageLimits/unified of the container's CRI resources into res (its
 * linux.resources), process.oomScoreAdj, and linux.cgroupsPath into lnx. */
int container_resources_json(struct jb *b, const struct spec_pod *p, const struct spec_container *c, json_t *lnx,
			     json_t *res, json_t *process, struct lc_err *err);

#endif
