/* namespaces.c — the namespaces, hostname and sysctls of config.json; see spec.h. */
#include "cri/spec/spec_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/host.h"

/* The hostname the container sees. */
int container_hostname(const struct spec_pod *p, char *buf, size_t n, struct lc_err *err)
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

int check_hostname(const char *h, struct lc_err *err)
{
	if (strlen(h) > 64)
		return lc_fail(err, EINVAL, "pod hostname \"%s\" is longer than 64 bytes", LC_Q(h));
	for (const char *c = h; *c; c++)
		if (*c == '/' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return lc_fail(err, EINVAL,
					"pod hostname \"%s\" has a character a hostname cannot hold", LC_Q(h));
	return 0;
}

void add_ns(struct jb *b, json_t *nss, const char *type, const char *path)
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

void pod_namespaces(struct jb *b, json_t *nss, const struct spec_pod *p)
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

/* The pod's PID namespace mode (POD when not set). */
Runtime__V1__NamespaceMode pod_pid_mode(const struct spec_pod *p)
{
	const cri_pod *pc = p->config;
	if (pc && pc->linux && pc->linux->security_context && pc->linux->security_context->namespace_options)
		return pc->linux->security_context->namespace_options->pid;
	return RUNTIME__V1__NAMESPACE_MODE__POD;
}

/*
 * Check the container's namespace options against the pod (user namespaces, a network or IPC mode
 * other than the pod's, a PID mode without what it needs: EINVAL); *pid_mode: its PID mode.
 */
int container_pid_mode(const struct spec_pod *p, const struct spec_container *c, Runtime__V1__NamespaceMode *pid_mode,
		       struct lc_err *err)
{
	const cri_container *cc = c->config;
	const cri_secctx *sc = cc->linux ? cc->linux->security_context : NULL;
	const Runtime__V1__NamespaceOption *nso = sc ? sc->namespace_options : NULL;
	if (nso && nso->userns_options && nso->userns_options->mode != RUNTIME__V1__NAMESPACE_MODE__NODE)
		return lc_fail(err, EINVAL, "user namespaces are not supported");
	/* No container-level options: the pod's PID mode applies. */
	Runtime__V1__NamespaceMode mode = nso ? nso->pid : pod_pid_mode(p);
	if (check_pod_ns(nso ? nso->network : RUNTIME__V1__NAMESPACE_MODE__POD, p->netns, "network", err) < 0 ||
	    check_pod_ns(nso ? nso->ipc : RUNTIME__V1__NAMESPACE_MODE__POD, p->ipcns, "IPC", err) < 0)
		return -1;
	if (mode == RUNTIME__V1__NAMESPACE_MODE__POD && p->infra_pid <= 0)
		return lc_fail(err, EINVAL, "PID namespace mode POD, but the pod has no infra process");
	if (mode == RUNTIME__V1__NAMESPACE_MODE__TARGET && c->target_pid <= 0)
		return lc_fail(err, EINVAL, "PID namespace mode TARGET without a running target container");
	if (mode != RUNTIME__V1__NAMESPACE_MODE__POD && mode != RUNTIME__V1__NAMESPACE_MODE__CONTAINER &&
	    mode != RUNTIME__V1__NAMESPACE_MODE__NODE && mode != RUNTIME__V1__NAMESPACE_MODE__TARGET)
		return lc_fail(err, EINVAL, "unknown PID namespace mode %d", (int)mode);
	*pid_mode = mode;
	return 0;
}

/* linux.namespaces of a container: its PID namespace (pid_mode, checked by container_pid_mode),
 * then the pod's. */
void container_namespaces_json(struct jb *b, const struct spec_pod *p, const struct spec_container *c,
			       Runtime__V1__NamespaceMode pid_mode, json_t *lnx)
{
	json_t *nss = jb_arr(b);
	if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__POD) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)p->infra_pid);
		add_ns(b, nss, "pid", path);
	} else if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__TARGET) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)c->target_pid);
		add_ns(b, nss, "pid", path);
	} else if (pid_mode == RUNTIME__V1__NAMESPACE_MODE__CONTAINER) {
		add_ns(b, nss, "pid", NULL);
	}
	pod_namespaces(b, nss, p);
	jb_set(b, lnx, "namespaces", nss);
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
int sysctls_json(struct jb *b, const struct spec_pod *p, json_t **out, struct lc_err *err)
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
		struct lc_err why;
		if (host_sysctl_writable(dotted, &why) < 0) {
			json_decref(o);
			return lc_fail(err, EINVAL, "sysctl %s is not a sysctl this kernel lets a pod set (%s)", k, why.msg);
		}
		jb_set(b, o, k, jb_str(b, v, "a sysctl value"));
	}
	*out = o;
	return 0;
}
