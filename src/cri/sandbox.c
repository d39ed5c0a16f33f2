/*
 * sandbox.c — RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox.
 *
 * Each mutating call is: one transaction that sets a flag (or inserts the row with creating = 1),
 * the slow work outside any transaction, one transaction that records the outcome or resets the
 * flag.  A pod is: pinned network/IPC/UTS namespaces (unless the host's are asked for), a tmpfs for
 * /dev/shm, the /etc files of its containers, an infra container running litecri-pause (the pod's
 * PID namespace and zombie reaper), supervised by conmon like every container, and unless it uses
 * the host's network, its CNI attachment (src/net): ADDed into the pinned network namespace with the
 * network state ADDING recorded first, recorded as ATTACHED with READY; DELeted by StopPodSandbox
 * (state DELETING until the DEL succeeds, so that a failed or interrupted DEL is retried).
 */
#include "cri/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "cri/lifecycle.h"
#include "cri/list.h"
#include "cri/reserve.h"
#include "cri/runtime_info.h"
#include "cri/spec/spec.h"
#include "net/net.h"
#include "runtime/podns.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"
#include "util/quantity.h"

#define SHM_SIZE (64ULL << 20) /* /dev/shm of a pod, as Docker and containerd size it */
#define RETRY_WAIT_NS (240LL * 1000000000) /* kubelet's RunPodSandbox deadline */
#define INFRA_WAIT_NS (60LL * 1000000000)

static const Runtime__V1__NamespaceOption *ns_options(const Runtime__V1__PodSandboxConfig *cfg)
{
	if (cfg->linux && cfg->linux->security_context)
		return cfg->linux->security_context->namespace_options;
	return NULL;
}

/*
 * Whether the pod needs an infra container: only when its containers share one PID namespace,
 * whose init the pause process is.  Otherwise (kubelet's default, PID mode CONTAINER, or the
 * host's) the pinned namespaces are the pod, and no pause process, conmon or runc container is
 * made for it (as CRI-O's drop_infra_ctr).  No namespace options at all: PID mode POD (the
 * protobuf default).
 */
static int needs_infra(const Runtime__V1__PodSandboxConfig *cfg)
{
	const Runtime__V1__NamespaceOption *o = ns_options(cfg);
	return !o || o->pid == RUNTIME__V1__NAMESPACE_MODE__POD;
}

/* Which namespaces the pod gets of its own (UTS follows the network, as in containerd). */
static int pod_kinds(const Runtime__V1__PodSandboxConfig *cfg)
{
	const Runtime__V1__NamespaceOption *o = ns_options(cfg);
	int kinds = 0;
	if (!o || o->network != RUNTIME__V1__NAMESPACE_MODE__NODE)
		kinds |= PODNS_NET | PODNS_UTS;
	if (!o || o->ipc != RUNTIME__V1__NAMESPACE_MODE__NODE)
		kinds |= PODNS_IPC;
	return kinds;
}

#define NSFS_MAGIC_ 0x6e736673 /* linux/magic.h NSFS_MAGIC */
#define BW_MIN 1000LL             /* the bandwidth limits kubelet accepts: 1 kbit/s .. 1 Pbit/s */
#define BW_MAX 1000000000000000LL

static const char *annotation(const Runtime__V1__PodSandboxConfig *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_annotations; i++)
		if (cfg->annotations[i]->key && !strcmp(cfg->annotations[i]->key, key))
			return cfg->annotations[i]->value ? cfg->annotations[i]->value : "";
	return NULL;
}

/*
 * The pod's bandwidth limits (bits/s, 0: none) from the kubernetes.io/ingress-bandwidth and
 * egress-bandwidth annotations (resource quantities, "10M"), within kubelet's bounds.  A bad value:
 * -1 with errnum EINVAL naming the annotation.
 */
static int pod_bandwidth(const Runtime__V1__PodSandboxConfig *cfg, int64_t *ingress, int64_t *egress,
			 struct lc_err *err)
{
	const char *keys[] = { "kubernetes.io/ingress-bandwidth", "kubernetes.io/egress-bandwidth" };
	int64_t *out[] = { ingress, egress };
	for (int i = 0; i < 2; i++) {
		const char *v = annotation(cfg, keys[i]);
		*out[i] = 0;
		if (!v)
			continue;
		if (quantity_parse(v, out[i], err) < 0)
			return lc_wrap(err, "annotation %s", keys[i]);
		if (*out[i] < BW_MIN || *out[i] > BW_MAX)
			return lc_failc(err, EINVAL, "annotation %s: %s bit/s is outside 1k..1P", keys[i], v);
	}
	return 0;
}

/* 1 if path is a pinned namespace (a mount of nsfs): else a DEL gets an empty CNI_NETNS. */
static int ns_pinned(const char *path)
{
	struct statfs f;
	return path[0] && statfs(path, &f) == 0 && (unsigned long)f.f_type == NSFS_MAGIC_;
}

/*
 * The pod as the CNI plugins see it, from its row and config (ADD and DEL alike: portmap's DEL
 * needs the same runtimeConfig as its ADD); strings live in arena a.  netns: the pinned network
 * namespace, "" when it is gone.
 */
static void pod_for_net(struct arena *a, const struct sandbox_row *sb, const Runtime__V1__PodSandboxConfig *cfg,
			const char *netns, struct net_pod *p)
{
	memset(p, 0, sizeof *p);
	p->id = sb->id;
	p->name = sb->meta_name;
	p->namespace_ = sb->meta_namespace;
	p->uid = sb->meta_uid;
	p->netns = netns;
	p->ifname = "eth0";
	struct net_port *ports = arena_alloc(a, (cfg->n_port_mappings + 1) * sizeof *ports);
	for (size_t i = 0; i < cfg->n_port_mappings; i++) {
		const Runtime__V1__PortMapping *m = cfg->port_mappings[i];
		if (m->host_port <= 0)
			continue;
		struct net_port *o = &ports[p->n_ports++];
		o->protocol = m->protocol == RUNTIME__V1__PROTOCOL__UDP ? "udp"
			      : m->protocol == RUNTIME__V1__PROTOCOL__SCTP ? "sctp" : "tcp";
		o->container_port = m->container_port;
		o->host_port = m->host_port;
		o->host_ip = m->host_ip ? m->host_ip : "";
	}
	p->ports = ports;
	struct lc_err err = { 0 };
	if (pod_bandwidth(cfg, &p->ingress_bps, &p->egress_bps, &err) < 0) /* checked by RunPodSandbox */
		p->ingress_bps = p->egress_bps = 0;
	const Runtime__V1__DNSConfig *dns = cfg->dns_config;
	if (dns) {
		p->dns_servers = dns->servers;
		p->n_dns_servers = dns->n_servers;
		p->dns_searches = dns->searches;
		p->n_dns_searches = dns->n_searches;
		p->dns_options = dns->options;
		p->n_dns_options = dns->n_options;
	}
}

/*
 * RunPodSandbox's CNI ADD into the pod's pinned network namespace: network ADDING recorded first
 * (with the config lists in use, for a DEL by recovery should the daemon die before the outcome is
 * recorded), then the ADD.  A failed ADD undid itself (net_add): network NONE again.
 */
static int sandbox_net_add(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
			   const Runtime__V1__PodSandboxConfig *cfg, const char *netns, struct net_attachment *att,
			   struct lc_err *err)
{
	json_auto_t *info = net_info(env->net);
	cleanup_free char *conf = info ? json_dumps(json_object_get(info, "networks"), JSON_COMPACT) : NULL;
	if (!conf)
		return lc_fail(err, ENOMEM, "network config");
	if (store_sandbox_net_adding(env->store, sb->id, conf, err) < 0)
		return -1;
	struct net_pod p;
	pod_for_net(call->arena, sb, cfg, netns, &p);
	if (net_add(env->net, &p, conf, att, err) == 0) /* what was recorded: the directory may change */
		return 0;
	struct lc_err e2 = { 0 };
	if (store_sandbox_net_deleted(env->store, sb->id, &e2) < 0)
		log_error("sandbox %s: %s", sb->id, e2.msg);
	return -1;
}

int sandbox_net_teardown(struct cri_env *env, struct arena *a, const char *id, struct lc_err *err)
{
	struct sandbox_row sb;
	int pending = 0;
	if (store_sandbox_get(env->store, id, a, &sb, err) < 0)
		return err->errnum == ENOENT ? 0 : -1;
	if (sb.network == NET_NONE)
		return 0;
	if (store_sandbox_net_deleting(env->store, id, &pending, err) < 0)
		return -1;
	if (!pending)
		return 0;
	if (!env->net)
		return lc_failc(err, EAGAIN, "network of sandbox %s: no network module to DEL it with", id);
	const Runtime__V1__PodSandboxConfig *cfg = life_sandbox_config(a, &sb);
	if (!cfg)
		return lc_failc(err, EPROTO, "sandbox %s: the recorded config does not decode", id);
	char ns[PATH_MAX];
	if (life_dir(env, DIR_SB_STATE, id, "ns/net", ns, sizeof ns, err) < 0)
		return -1;
	struct net_pod p;
	pod_for_net(a, &sb, cfg, ns_pinned(ns) ? ns : "", &p);
	/* The recorded config alone serves: one recorded before the ADD (its outcome never was) gets
	 * the pod's runtimeConfig from p in net_del, as the ADD had it. */
	log_info("sandbox %s: network DEL%s", id, p.netns[0] ? "" : " (its network namespace is gone)");
	if (net_del(env->net, &p, sb.net_config[0] ? sb.net_config : NULL, sb.net_result[0] ? sb.net_result : NULL,
		    err) < 0)
		return -1;
	return store_sandbox_net_deleted(env->store, id, err);
}

static int path_clean_abs(const char *p)
{
	return p[0] == '/' && !strstr(p, "/../") && strcmp(p + strlen(p) - (strlen(p) >= 3 ? 3 : 0), "/..") != 0;
}

int sandbox_spec_pod(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
		     const Runtime__V1__PodSandboxConfig *cfg, struct spec_pod *out, struct lc_err *err)
{
	char buf[PATH_MAX];
	int kinds = pod_kinds(cfg);
	memset(out, 0, sizeof *out);
	out->id = sb->id;
	out->config = cfg;
	out->infra_pid = (pid_t)sb->pid;
#define DUP_DIR(field, which, sub)                                                   \
	do {                                                                         \
		if (life_dir(env, which, sb->id, sub, buf, sizeof buf, err) < 0)       \
			return -1;                                                   \
		out->field = arena_strdup(call->arena, buf);                          \
	} while (0)
	if (kinds & PODNS_NET)
		DUP_DIR(netns, DIR_SB_STATE, "ns/net");
	if (kinds & PODNS_IPC) {
		DUP_DIR(ipcns, DIR_SB_STATE, "ns/ipc");
		DUP_DIR(shm, DIR_SB_STATE, "shm");
	} else {
		out->shm = "/dev/shm";
	}
	if (kinds & PODNS_UTS)
		DUP_DIR(utsns, DIR_SB_STATE, "ns/uts");
	DUP_DIR(hosts, DIR_SB_ROOT, "hosts");
	DUP_DIR(resolv_conf, DIR_SB_ROOT, "resolv.conf");
	DUP_DIR(hostname, DIR_SB_ROOT, "hostname");
#undef DUP_DIR
	out->cgroup_parent = cfg->linux && cfg->linux->cgroup_parent ? cfg->linux->cgroup_parent : "";
	return 0;
}

/* The pinned network namespace of the pod ("" when it uses the host's). */
static const char *sandbox_netns(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
				 const Runtime__V1__PodSandboxConfig *cfg)
{
	char buf[PATH_MAX];
	struct lc_err err = { 0 };
	if (!(pod_kinds(cfg) & PODNS_NET) || life_dir(env, DIR_SB_STATE, sb->id, "ns/net", buf, sizeof buf, &err) < 0)
		return "";
	return arena_strdup(call->arena, buf);
}

/* The slow part of RunPodSandbox: everything outside the database.  Undone by life_sandbox_teardown. */
static int sandbox_setup(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
			 const Runtime__V1__PodSandboxConfig *cfg, pid_t *pid, struct lc_err *err)
{
	char dir[PATH_MAX], files[PATH_MAX], ns[PATH_MAX], shm[PATH_MAX];
	if (life_dir(env, DIR_SB_STATE, sb->id, NULL, dir, sizeof dir, err) < 0 ||
	    life_dir(env, DIR_SB_ROOT, sb->id, NULL, files, sizeof files, err) < 0 ||
	    life_dir(env, DIR_SB_STATE, sb->id, "ns", ns, sizeof ns, err) < 0 ||
	    life_dir(env, DIR_SB_STATE, sb->id, "shm", shm, sizeof shm, err) < 0)
		return -1;
	if (mkdir_p(dir, 0700, err) < 0 || mkdir_p(files, 0755, err) < 0)
		return -1;
	int kinds = pod_kinds(cfg);
	const char *hostname = cfg->hostname ? cfg->hostname : "";
	if (kinds && podns_create(ns, kinds, hostname, err) < 0)
		return -1;
	const Runtime__V1__DNSConfig *dns = cfg->dns_config;
	struct podns_files f = {
		.hostname = hostname,
		.servers = dns ? (const char *const *)dns->servers : NULL, .n_servers = dns ? dns->n_servers : 0,
		.searches = dns ? (const char *const *)dns->searches : NULL, .n_searches = dns ? dns->n_searches : 0,
		.options = dns ? (const char *const *)dns->options : NULL, .n_options = dns ? dns->n_options : 0,
		.host_dns = dns == NULL,
	};
	if (podns_write_files(files, &f, err) < 0)
		return -1;
	if ((kinds & PODNS_IPC) && podns_shm_mount(shm, SHM_SIZE, err) < 0)
		return -1;
	struct spec_pod pod;
	if (sandbox_spec_pod(env, call, sb, cfg, &pod, err) < 0)
		return -1;
	if (!sb->infra) {
		/* the sysctls the infra container's runtime would have written, in the pinned namespaces
		 * (checked by RunPodSandbox with spec_pause first) */
		const Runtime__V1__LinuxPodSandboxConfig *l = cfg->linux;
		size_t n = l ? l->n_sysctls : 0;
		const char **keys = arena_alloc(call->arena, (n + 1) * sizeof *keys),
			   **values = arena_alloc(call->arena, (n + 1) * sizeof *values);
		for (size_t i = 0; i < n; i++) {
			keys[i] = l->sysctls[i]->key;
			values[i] = l->sysctls[i]->value;
		}
		*pid = 0;
		return n ? podns_sysctls(ns, keys, values, n, err) : 0;
	}
	json_auto_t *spec = NULL;
	if (spec_pause(&pod, env->lc->pause_rootfs, &spec, err) < 0)
		return -1;
	struct rt_create c = { .id = sb->id, .bundle = dir, .spec = spec, .log_path = "" };
	if (rt_create(env->lc->rt, &c, pid, err) < 0 || rt_start(env->lc->rt, sb->id, err) < 0)
		return lc_wrap(err, "infra container");
	return 0;
}

/* reserve_kind.insert of sandboxes. */
static int sandbox_insert(struct cri_env *env, struct cri_call *call, const struct obj_new *n, struct obj_holder *h,
			  grpc_status_code *code)
{
	struct lc_err err = { 0 };
	if (store_sandbox_insert(env->store, n, h, &err) == 0)
		return 0;
	if (err.errnum == EEXIST)
		return 1;
	*code = cri_fail(call, cri_work_code(err.errnum), "RunPodSandbox %s: %s", LC_Q(n->name), err.msg);
	return -1;
}

static const struct reserve_kind sandbox_kind = {
	.rpc = "RunPodSandbox", .noun = "sandbox", .container = 0, .wait_ns = RETRY_WAIT_NS, .insert = sandbox_insert,
};

static int valid_name(const char *s)
{
	return s && *s && !strpbrk(s, "/\n");
}

grpc_status_code cri_run_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp)
{
	const Runtime__V1__RunPodSandboxRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "RunPodSandbox");
	const Runtime__V1__PodSandboxConfig *cfg = r->config;
	if (!cfg || !cfg->metadata)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "RunPodSandbox: config.metadata is required");
	const Runtime__V1__PodSandboxMetadata *m = cfg->metadata;
	if (!valid_name(m->name) || !valid_name(m->namespace_) || !valid_name(m->uid))
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"RunPodSandbox: metadata name, namespace and uid must be non-empty, without '/' "
				"(got \"%s\", \"%s\", \"%s\")", LC_Q(m->name), LC_Q(m->namespace_), LC_Q(m->uid));
	if (cfg->log_directory && cfg->log_directory[0] && !path_clean_abs(cfg->log_directory))
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"RunPodSandbox %s: log_directory \"%s\" must be an absolute path without \"..\"",
				LC_Q(m->name), LC_Q(cfg->log_directory));
	const char *handler = r->runtime_handler ? r->runtime_handler : "";
	if (!cri_runtime_handler_known(env->cfg, handler))
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"RunPodSandbox %s: no runtime for runtime_handler \"%s\" is configured (this node has \"\" "
				"and \"%s\")", LC_Q(m->name), LC_Q(handler), cri_runtime_handler_name(env->cfg));
	/* Everything the infra container's spec checks (cgroup parent, sysctls, seccomp profile,
	 * hostname), before anything is created: the same spec_pause, for a pod not there yet. */
	{
		struct lc_err err = { 0 };
		struct sandbox_row probe = { .pid = 0 };
		memset(probe.id, '0', OBJ_ID_LEN);
		struct spec_pod pod;
		json_t *spec = NULL;
		if (sandbox_spec_pod(env, call, &probe, cfg, &pod, &err) < 0 ||
		    spec_pause(&pod, env->lc->pause_rootfs, &spec, &err) < 0)
			return cri_fail(call, cri_code(err.errnum),
					"RunPodSandbox %s: %s", LC_Q(m->name), err.msg);
		json_decref(spec);
	}
	int networked = pod_kinds(cfg) & PODNS_NET;
	if (networked) {
		struct lc_err err = { 0 };
		int64_t in, out;
		if (pod_bandwidth(cfg, &in, &out, &err) < 0)
			return cri_fail(call, cri_code(err.errnum), "RunPodSandbox %s: %s", LC_Q(m->name), err.msg);
		char why[1024];
		if (!cri_network_ready(env, why, sizeof why))
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
					"RunPodSandbox %s: cni plugin not initialized: %s", LC_Q(m->name), why);
	}
	const char *name = arena_printf(call->arena, "k8s_POD_%s_%s_%s_%u", m->name, m->namespace_, m->uid, m->attempt);

	struct obj_new n = {
		.name = name, .meta_name = m->name, .meta_namespace = m->namespace_, .meta_uid = m->uid,
		.meta_attempt = m->attempt,
		.labels = life_kvs(call, (void *const *)cfg->labels, cfg->n_labels), .n_labels = cfg->n_labels,
		.annotations = life_kvs(call, (void *const *)cfg->annotations, cfg->n_annotations),
		.n_annotations = cfg->n_annotations, .runtime_handler = handler, .log_directory = cfg->log_directory,
		.no_infra = !needs_infra(cfg),
	};
	n.list_entry = list_sandbox_entry(call->arena, handler, cfg, &n.list_entry_len);
	/* The request as received, and its digest with the runtime handler (after a NUL): an identical
	 * retry is recognised by it. */
	size_t hlen = strlen(handler);
	char *extra = arena_alloc(call->arena, hlen + 1);
	extra[0] = '\0';
	memcpy(extra + 1, handler, hlen);
	grpc_status_code code = reserve_request(call, &sandbox_kind, &cfg->base, extra, hlen + 1, &n);
	if (code != GRPC_STATUS_OK)
		return code;
	int reserved = reserve_name(env, call, &sandbox_kind, &n, &code);
	if (reserved < 0)
		return code;
	if (reserved) { /* else n.id is the sandbox of an identical earlier request */
		struct lc_err err = { 0 };
		log_info("sandbox %s: creating %s", n.id, name);
		struct sandbox_row sb;
		pid_t pid = 0;
		const char *netns = "";
		struct net_attachment att = { 0 };
		int attached = 0;
		int ok = store_sandbox_get(env->store, n.id, call->arena, &sb, &err) == 0 &&
			 sandbox_setup(env, call, &sb, cfg, &pid, &err) == 0;
		if (ok) {
			netns = sandbox_netns(env, call, &sb, cfg);
			ok = !networked || (attached = sandbox_net_add(env, call, &sb, cfg, netns, &att, &err) == 0);
		}
		const struct sandbox_net rec = { .config = att.config, .result = att.result, .ips = att.ips,
						 .n_ips = att.n_ips };
		if (!ok || store_sandbox_created(env->store, n.id, pid, netns, attached ? &rec : NULL, cri_now(), &err) < 0) {
			net_attachment_free(&att);
			code = cri_work_code(err.errnum);
			char *msg = arena_printf(call->arena, "RunPodSandbox %s (sandbox %s): %s", LC_Q(name), n.id, err.msg);
			struct lc_err e2 = { 0 };
			if (sandbox_net_teardown(env, call->arena, n.id, &e2) < 0)
				log_error("sandbox %s: network DEL after failed create: %s (kept for recovery to retry at "
					  "startup)", n.id, e2.msg);
			else if (life_sandbox_teardown(env, n.id, &e2) < 0 || store_sandbox_delete(env->store, n.id, &e2) < 0)
				log_error("sandbox %s: cleanup after failed create: %s (recovery retries at startup)", n.id,
					  e2.msg);
			life_wake(env); /* an identical retry waiting in reserve_name */
			return cri_fail(call, code, "%s", msg);
		}
		if (attached)
			log_info("sandbox %s: network attached (%s)", n.id, att.n_ips ? att.ips[0] : "no IP");
		net_attachment_free(&att);
		if (pid)
			log_info("sandbox %s ready (%s, infra pid %d)", n.id, name, (int)pid);
		else
			log_info("sandbox %s ready (%s, no infra process: its pinned namespaces are the pod)", n.id, name);
		life_wake(env); /* an identical retry waiting in reserve_name */
	}
	Runtime__V1__RunPodSandboxResponse *out = cri_new(call, &runtime__v1__run_pod_sandbox_response__descriptor);
	out->pod_sandbox_id = arena_strdup(call->arena, n.id);
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

static int sandbox_not_stopping(struct cri_env *env, const char *id)
{
	struct arena a;
	arena_init(&a);
	struct sandbox_row r;
	struct lc_err err = { 0 };
	int rc = store_sandbox_get(env->store, id, &a, &r, &err);
	int done = rc < 0 || !r.stopping;
	arena_release(&a);
	return done;
}

/* The infra process is gone: recorded as exited, or the runtime no longer runs it. */
static int infra_gone(struct cri_env *env, const char *id)
{
	struct arena a;
	arena_init(&a);
	struct sandbox_row r;
	struct lc_err err = { 0 };
	int rc = store_sandbox_get(env->store, id, &a, &r, &err);
	int done = rc < 0 || r.state != SANDBOX_READY;
	arena_release(&a);
	if (done)
		return 1;
	enum rt_state st;
	pid_t pid;
	return rt_state(env->lc->rt, id, &st, &pid, &err) == 0 && (st == RT_STOPPED || st == RT_MISSING);
}

/*
 * StopPodSandbox's work on a sandbox whose `stopping` flag this call holds: every container
 * forcibly stopped, then the infra container, then its network DELeted (*net_failed = 1 if that
 * failed); NOTREADY recorded.  Namespaces and files stay until RemovePodSandbox (a stopped pod may
 * still be inspected), so a stop never fails on them.  Its waits end at answer_by (the caller's
 * deadline; 0: none): ETIMEDOUT.
 */
static int sandbox_stop(struct cri_env *env, const char *id, struct arena *a, int64_t answer_by, int *net_failed,
			struct lc_err *err)
{
	char (*ids)[OBJ_ID_BUF];
	size_t n;
	if (store_sandbox_containers(env->store, id, a, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (life_container_stop(env, ids[i], 0, answer_by, err) < 0)
			return -1;
	struct sandbox_row sb;
	if (store_sandbox_get(env->store, id, a, &sb, err) < 0)
		return -1;
	if (sb.infra) {
		if (rt_kill(env->lc->rt, id, SIGKILL, 1, err) < 0 && err->errnum != ESRCH && err->errnum != ENOENT)
			return lc_wrap(err, "stop infra container");
		int callers;
		if (life_wait(env, infra_gone, id, life_wait_end(INFRA_WAIT_NS, answer_by, &callers)) != 0)
			return lc_fail(err, ETIMEDOUT, "infra container of sandbox %s did not exit%s", id,
				       callers ? " before the caller's deadline passed" : "");
	}
	if (sandbox_net_teardown(env, a, id, err) < 0) {
		*net_failed = 1;
		return lc_wrap(err, "network of sandbox %s not torn down", id);
	}
	return store_sandbox_stopped(env->store, id, cri_now(), err);
}

/*
 * Stop with the `stopping` flag: concurrent stops wait for the one in flight.  A failed network DEL
 * fails it with net_code.
 */
static grpc_status_code stop_sandbox(struct cri_env *env, struct cri_call *call, const char *rpc, const char *id,
				     grpc_status_code net_code)
{
	struct lc_err err = { 0 };
	for (;;) {
		enum refusal why;
		if (store_flag_set(env->store, FLAG_SANDBOX_STOPPING, id, &why, &err) < 0)
			return cri_fail(call, cri_work_code(err.errnum), "%s %s: %s", rpc, id, err.msg);
		if (why == REFUSED_NONE)
			break;
		if (why == REFUSED_MISSING || why == REFUSED_REMOVING)
			return GRPC_STATUS_OK; /* gone, or a removal (which stops it) is under way */
		if (why == REFUSED_CREATING)
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "%s: sandbox %s is still being created", rpc,
					id);
		if (why == REFUSED_STOPPING) {
			if (life_wait(env, sandbox_not_stopping, id, call->deadline) != 0)
				return cri_fail(call, GRPC_STATUS_DEADLINE_EXCEEDED, "%s: sandbox %s: another stop was "
						"still in flight when the caller's deadline passed", rpc, id);
			continue; /* stop it again: cheap when it is stopped already, and this call's own result */
		}
	}
	log_info("sandbox %s: stopping", id);
	int net_failed = 0;
	if (sandbox_stop(env, id, call->arena, call->deadline, &net_failed, &err) < 0) {
		struct lc_err e2 = { 0 };
		if (store_flag_reset(env->store, FLAG_SANDBOX_STOPPING, id, &e2) < 0)
			log_error("sandbox %s: failed to reset stopping state: %s", id, e2.msg);
		return cri_fail(call, net_failed ? net_code : cri_work_code(err.errnum), "%s: failed to stop sandbox %s: %s",
				rpc, id, err.msg);
	}
	log_info("sandbox %s stopped", id);
	return GRPC_STATUS_OK;
}

grpc_status_code cri_stop_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp)
{
	const Runtime__V1__StopPodSandboxRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "StopPodSandbox");
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "StopPodSandbox", 0, r->pod_sandbox_id, id, &code);
	if (found < 0)
		return code;
	if (found && (code = stop_sandbox(env, call, "StopPodSandbox", id, GRPC_STATUS_INTERNAL)) != GRPC_STATUS_OK)
		return code;
	*resp = cri_new(call, &runtime__v1__stop_pod_sandbox_response__descriptor);
	return GRPC_STATUS_OK;
}

grpc_status_code cri_remove_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					ProtobufCMessage **resp)
{
	const Runtime__V1__RemovePodSandboxRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "RemovePodSandbox");
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "RemovePodSandbox", 0, r->pod_sandbox_id, id, &code);
	if (found < 0)
		return code;
	*resp = cri_new(call, &runtime__v1__remove_pod_sandbox_response__descriptor);
	if (!found)
		return GRPC_STATUS_OK;
	struct lc_err err = { 0 };
	struct sandbox_row sb;
	if (store_sandbox_get(env->store, id, call->arena, &sb, &err) < 0)
		return err.errnum == ENOENT ? GRPC_STATUS_OK
					    : cri_fail(call, cri_work_code(err.errnum), "RemovePodSandbox %s: %s", id, err.msg);
	/* Forcibly stop it first if it is ready (or a stop is in flight, or its network is not torn
	 * down: the DEL is tried again, and refuses the removal if it fails). */
	if ((sb.state == SANDBOX_READY || sb.stopping || sb.network != NET_NONE) &&
	    (code = stop_sandbox(env, call, "RemovePodSandbox", id, GRPC_STATUS_FAILED_PRECONDITION)) != GRPC_STATUS_OK)
		return code;
	enum refusal why;
	if (store_flag_set(env->store, FLAG_SANDBOX_REMOVING, id, &why, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "RemovePodSandbox %s: %s", id, err.msg);
	switch (why) {
	case REFUSED_NONE:
		break;
	case REFUSED_MISSING:
		return GRPC_STATUS_OK;
	case REFUSED_REMOVING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "sandbox %s is already in removing state", id);
	case REFUSED_CREATING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "sandbox %s is still being created", id);
	case REFUSED_NETWORK:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "sandbox %s: its network is not torn down", id);
	default:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"sandbox %s is being stopped or started again, can't be removed now", id);
	}
	/* Containers first (the rows reference the sandbox), each the RemoveContainer way. */
	char (*ids)[OBJ_ID_BUF];
	size_t n = 0;
	code = GRPC_STATUS_OK;
	if (store_sandbox_containers(env->store, id, call->arena, &ids, &n, &err) < 0)
		code = cri_fail(call, cri_work_code(err.errnum), "RemovePodSandbox %s: %s", id, err.msg);
	for (size_t i = 0; code == GRPC_STATUS_OK && i < n; i++)
		code = life_container_remove(env, call, ids[i]);
	if (code == GRPC_STATUS_OK &&
	    (life_sandbox_teardown(env, id, &err) < 0 || store_sandbox_delete(env->store, id, &err) < 0))
		code = cri_fail(call, cri_work_code(err.errnum), "failed to remove sandbox %s: %s", id, err.msg);
	if (code != GRPC_STATUS_OK) {
		struct lc_err e2 = { 0 };
		if (store_flag_reset(env->store, FLAG_SANDBOX_REMOVING, id, &e2) < 0)
			log_error("sandbox %s: failed to reset removing state: %s", id, e2.msg);
		return code;
	}
	log_info("sandbox %s removed (name %s released)", id, sb.name);
	return GRPC_STATUS_OK;
}

Runtime__V1__PodSandboxStatus *sandbox_status_of(struct cri_call *call, const struct sandbox_row *sb)
{
	const Runtime__V1__PodSandboxConfig *cfg = life_sandbox_config(call->arena, sb);
	if (!cfg)
		return NULL;
	Runtime__V1__PodSandboxStatus *st = cri_new(call, &runtime__v1__pod_sandbox_status__descriptor);
	st->id = arena_strdup(call->arena, sb->id); /* sb may be on the caller's stack; the status is packed later */
	st->metadata = cfg->metadata;
	st->state = sb->state == SANDBOX_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
					       : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	st->created_at = sb->created_at;
	st->network = cri_new(call, &runtime__v1__pod_sandbox_network_status__descriptor);
	st->network->ip = (char *)sb->ip;
	{ /* additional_ips: space-separated in the row */
		char *ips = arena_strdup(call->arena, sb->additional_ips), *save = NULL;
		size_t n = 0;
		for (const char *c = ips; *c; c++)
			n += *c == ' ';
		st->network->additional_ips = arena_alloc(call->arena, (n + 2) * sizeof *st->network->additional_ips);
		for (char *t = strtok_r(ips, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			Runtime__V1__PodIP *ip = cri_new(call, &runtime__v1__pod_ip__descriptor);
			ip->ip = t;
			st->network->additional_ips[st->network->n_additional_ips++] = ip;
		}
	}
	st->linux = cri_new(call, &runtime__v1__linux_pod_sandbox_status__descriptor);
	st->linux->namespaces = cri_new(call, &runtime__v1__namespace__descriptor);
	const Runtime__V1__NamespaceOption *o = ns_options(cfg);
	st->linux->namespaces->options = o ? (Runtime__V1__NamespaceOption *)o
					   : cri_new(call, &runtime__v1__namespace_option__descriptor);
	st->n_labels = cfg->n_labels;
	st->labels = cri_map_copy(call, &runtime__v1__pod_sandbox_status__labels_entry__descriptor,
				  (void *const *)cfg->labels, cfg->n_labels);
	st->n_annotations = cfg->n_annotations;
	st->annotations = cri_map_copy(call, &runtime__v1__pod_sandbox_status__annotations_entry__descriptor,
				       (void *const *)cfg->annotations, cfg->n_annotations);
	st->runtime_handler = (char *)sb->runtime_handler;
	return st;
}

grpc_status_code cri_pod_sandbox_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					ProtobufCMessage **resp)
{
	const Runtime__V1__PodSandboxStatusRequest *r = (const void *)req;
	struct sandbox_row sb;
	grpc_status_code code = life_sandbox_find(env, call, "PodSandboxStatus", r->pod_sandbox_id, &sb);
	if (code != GRPC_STATUS_OK)
		return code;
	const char *id = sb.id;
	Runtime__V1__PodSandboxStatusResponse *out = cri_new(call, &runtime__v1__pod_sandbox_status_response__descriptor);
	out->status = sandbox_status_of(call, &sb);
	if (!out->status)
		return cri_fail(call, GRPC_STATUS_DATA_LOSS, "PodSandboxStatus %s: the recorded config does not decode", id);
	if (r->verbose) {
		static const char *const net_states[] = { "NONE", "ADDING", "ATTACHED", "DELETING" };
		json_t *info = json_pack("{s:s, s:b, s:I, s:s, s:s, s:s, s:b, s:b, s:s, s:o?}", "name", sb.name, "infra",
					 sb.infra, "pid", (json_int_t)sb.pid, "netnsPath", sb.netns_path, "runtimeHandler", sb.runtime_handler,
					 "logDirectory", sb.log_directory, "stopping", sb.stopping, "removing", sb.removing,
					 "network", net_states[sb.network], "cniResult",
					 sb.net_result[0] ? json_loads(sb.net_result, 0, NULL) : NULL);
		out->info = life_verbose_info(env, call, DIR_SB_STATE, sb.id, info,
					    &runtime__v1__pod_sandbox_status_response__info_entry__descriptor, &out->n_info);
	}
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

