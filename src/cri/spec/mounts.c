/* mounts.c — the mounts of config.json (kernel filesystems, the pod's /etc files, the CRI mounts and
 * their propagation) and the masked / read-only paths; see spec.h. */
#include "cri/spec/spec_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "util/utf8.h"

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
		struct mount_of holder = { 0 }; /* set by mountinfo_find; gcc -O2 cannot tell */
		switch (m->propagation) {
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE:
			break;
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER:
		case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL:
			if (mountinfo_find(v[i].src, &holder, err) < 0)
				goto fail;
			if (m->propagation == RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL && !holder.shared) {
				lc_fail(err, EINVAL, "mounts[%zu]: bidirectional propagation needs %s on a shared mount",
					i, v[i].src);
				goto fail;
			}
			if (!holder.shared && !holder.slave) {
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
void default_mounts(struct jb *b, json_t *mounts, const struct spec_pod *p, int privileged, int readonly,
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

const char *const default_masked[] = {
	"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};
const char *const default_readonly[] = {
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

/* linux.maskedPaths and linux.readonlyPaths of a container: the CRI lists when given, else the
 * defaults. */
int paths_json(struct jb *b, const cri_secctx *sc, json_t *lnx, struct lc_err *err)
{
	json_t *masked = path_list(b, sc ? sc->masked_paths : NULL, sc ? sc->n_masked_paths : 0, "masked_paths",
				   default_masked, err);
	if (!masked)
		return -1;
	jb_set(b, lnx, "maskedPaths", masked);
	json_t *ro = path_list(b, sc ? sc->readonly_paths : NULL, sc ? sc->n_readonly_paths : 0, "readonly_paths",
			       default_readonly, err);
	if (!ro)
		return -1;
	jb_set(b, lnx, "readonlyPaths", ro);
	return 0;
}

/* The mounts of a container in a new *out (the defaults a CRI mount does not replace, then the CRI
 * mounts), and linux.rootfsPropagation into lnx when they need one. */
int mounts_json(struct jb *b, const struct spec_pod *p, const cri_container *cc, int privileged, int readonly,
		json_t *lnx, json_t **out, struct lc_err *err)
{
	*out = NULL;
	struct cri_mount *cm;
	if (prepare_cri_mounts(cc, &cm, err) < 0)
		return -1;
	json_t *mounts = jb_arr(b);
	const char *root_prop;
	default_mounts(b, mounts, p, privileged, readonly, 0, cm, cc->n_mounts);
	cri_mounts_json(b, mounts, cm, cc->n_mounts, &root_prop);
	cri_mounts_free(cm, cc->n_mounts);
	if (*root_prop)
		jb_set(b, lnx, "rootfsPropagation", jb_str(b, root_prop, "rootfs propagation"));
	*out = mounts;
	return 0;
}
