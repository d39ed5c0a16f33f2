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
#include "cri/spec/spec.h"
#include "util/err.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef Runtime__V1__ContainerConfig cri_container;
typedef Runtime__V1__PodSandboxConfig cri_pod;
typedef Runtime__V1__LinuxContainerSecurityContext cri_secctx;
typedef Runtime__V1__LinuxContainerResources cri_resources;
typedef Runtime__V1__SecurityProfile cri_profile;

struct userdb_user;

/* s, or "" for NULL (protobuf-c leaves unset strings NULL or ""). */
static inline const char *S(const char *s) { return s ? s : ""; }

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
/* The number at the start of the file at path. */
int read_int_file(const char *path, long *out, struct lc_err *err);

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

/* process.args: CRI command/args, else the image's Entrypoint/Cmd; NULL (err filled) on failure. */
json_t *build_args(struct jb *b, const cri_container *cc, const struct image_cfg *ic, struct lc_err *err);
/* process.env: image Env, CRI envs, then PATH, HOSTNAME and HOME defaults; NULL on failure. */
json_t *build_env(struct jb *b, const cri_container *cc, const struct image_cfg *ic, const char *hostname,
		  const char *home, struct lc_err *err);
/*
 * The container's user: the security context's run_as_username / run_as_user (+ run_as_group),
 * else the image's User, resolved in the rootfs; supplementary groups per the policy.  *u is to be
 * freed with userdb_user_free after success.
 */
int resolve_user(const struct spec_container *c, const cri_secctx *sc, const struct image_cfg *ic,
		 struct userdb_user *u, struct lc_err *err);
/* process.user of u. */
json_t *user_json(struct jb *b, const struct userdb_user *u);
/* oom_score_adj as the runtime can apply it: not below the daemon's own without CAP_SYS_RESOURCE;
 * EINVAL outside -1000..1000. */
int clamp_oom_score_adj(long want, long *out, struct lc_err *err);
/* The AppArmor profile to apply (NULL: none).  Only a node's named profile (Localhost) is applied;
 * litecri has no default profile of its own. */
int apparmor_profile(const cri_profile *ap, const char *legacy, const char **out, struct lc_err *err);

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
/* The network/IPC mode a container asks for must be the pod's. */
int check_pod_ns(Runtime__V1__NamespaceMode mode, const char *pinned, const char *kind, struct lc_err *err);
/* The pod's network/IPC/UTS namespaces, a new mount and (cgroup v2) cgroup namespace. */
void pod_namespaces(struct jb *b, json_t *nss, const struct spec_pod *p);
/* linux.sysctl of the pod's infra process (*out NULL: none), checked as runc would refuse them. */
int sysctls_json(struct jb *b, const struct spec_pod *p, json_t **out, struct lc_err *err);

/* ---- mounts.c ------------------------------------------------------------------------------- */

/* A CRI mount, checked: destination cleaned, source canonical. */
struct cri_mount {
	const Runtime__V1__Mount *m;
	char *dst, *src;
	size_t idx;
	int depth;
};
/* Free v (n entries; NULL is fine). */
void cri_mounts_free(struct cri_mount *v, size_t n);
/*
 * Validate the CRI mounts into v (sorted by depth so that a parent is mounted before what is
 * inside it): destinations cleaned, sources canonical.  A missing host path is created as a
 * directory (what kubelet's hostPath volumes of type "" rely on, as containerd and CRI-O do).
 */
int prepare_cri_mounts(const cri_container *cc, struct cri_mount **out, struct lc_err *err);
/* The kernel filesystems and the pod's files every container gets. */
void default_mounts(struct jb *b, json_t *mounts, const struct spec_pod *p, int privileged, int readonly, int pause,
		    const struct cri_mount *cm, size_t n_cm);
/* The CRI mounts as OCI bind mounts; *root_prop: the rootfs propagation they need ("" none). */
void cri_mounts_json(struct jb *b, json_t *mounts, const struct cri_mount *v, size_t n, const char **root_prop);
/* The default maskedPaths / readonlyPaths (NULL-terminated). */
extern const char *const default_masked[];
extern const char *const default_readonly[];
/* maskedPaths / readonlyPaths: the CRI list when given, else the defaults. */
json_t *path_list(struct jb *b, char **cri, size_t n, const char *field, const char *const *defaults,
		  struct lc_err *err);

/* ---- devices.c ------------------------------------------------------------------------------ */

/* A device cgroup rule (type NULL: all; st NULL: any major/minor). */
json_t *device_rule(struct jb *b, int allow, const char *type, const struct stat *st, const char *access);
/*
 * The CRI devices: linux.devices entries (created by the runtime with the host node's mode and
 * owner) and the device cgroup rules allowing them with the requested permissions.  *paths gets
 * the container paths (malloc'ed array of malloc'ed strings, *n_paths of them).
 */
int cri_devices(struct jb *b, const cri_container *cc, json_t *devices, json_t *rules, char ***paths,
		size_t *n_paths, struct lc_err *err);
/* Free the n strings of v and v. */
void free_strv(char **v, size_t n);
/* Privileged containers get the host's device nodes: dir walked, skipping the n_skip paths skip. */
int host_devices(struct jb *b, const char *dir, int depth, json_t *devices, char **skip, size_t n_skip,
		 struct lc_err *err);

/* ---- resources.c ---------------------------------------------------------------------------- */

/* linux.resources cpu/memory/hugepageLimits/unified from the CRI resources r (NULL: none) into
 * res, and process.oomScoreAdj. */
int resources_json(struct jb *b, const cri_resources *r, json_t *res, json_t *process, struct lc_err *err);
/* "<cgroup_parent>/<id>" (cgroupfs), malloc'ed; EINVAL naming linux.cgroup_parent. */
int cgroups_path(const struct spec_pod *p, const char *id, char **out, struct lc_err *err);

#endif
