/*
 * stats.c — ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats,
 * ListMetricDescriptors, ListPodSandboxMetrics.  See stats.h and docs/stats.md.
 *
 * Rows come from the store (the List filters are ListContainers' and ListPodSandbox's); the
 * numbers from the runtime layer: cgroups by cgroupsPath (spec_cgroups_path of the pod's
 * cgroup_parent, as CreateContainer wrote it), the writable layer by rootfs_usage of the
 * container's rw directory, interface counters by podns_net_stats of the pod's pinned namespaces.
 */
#include "cri/stats.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri/lifecycle.h"
#include "cri/spec/spec.h"
#include "runtime/cgroup.h"
#include "runtime/podns.h"
#include "runtime/rootfs.h"
#include "store/pods.h"
#include "util/log.h"

#define NS_PER_S 1000000000LL
#define DEFAULT_IFACE "eth0" /* the interface CNI plugins are given (kubelet's default) */

/* --- what is kept between calls ------------------------------------------------------------ */

#define SAMPLES_MAX 16384 /* entries kept at most: far more than a node's containers and pods */
#define BUCKETS 1024

struct sample {
	struct sample *next;
	char id[OBJ_ID_BUF];
	uint64_t cpu_ns;  /* the previous CPU sample: cumulative usage ... */
	int64_t cpu_at;   /* ... and when it was read (0: none yet) */
	uint64_t fs_bytes, fs_inodes;
	int64_t fs_at;    /* when the writable layer was measured (0: never) */
	uint64_t used;    /* the tick of its last use, for eviction */
};

static struct {
	pthread_mutex_t mu;
	struct sample *b[BUCKETS];
	size_t n;
	uint64_t tick;
} kept = { .mu = PTHREAD_MUTEX_INITIALIZER };

static unsigned bucket(const char *id)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % BUCKETS;
}

/* Drop the least recently used entry.  Under kept.mu. */
static void evict_one(void)
{
	struct sample **victim = NULL;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct sample **p = &kept.b[i]; *p; p = &(*p)->next)
			if (!victim || (*p)->used < (*victim)->used)
				victim = p;
	if (victim) {
		struct sample *s = *victim;
		*victim = s->next;
		free(s);
		kept.n--;
	}
}

/* The entry of id, made when `make` (NULL when not there and not made, or out of memory).  Under
 * kept.mu. */
static struct sample *sample_of(const char *id, int make)
{
	struct sample **head = &kept.b[bucket(id)];
	for (struct sample *s = *head; s; s = s->next)
		if (!strcmp(s->id, id)) {
			s->used = ++kept.tick;
			return s;
		}
	if (!make)
		return NULL;
	if (kept.n >= SAMPLES_MAX)
		evict_one();
	struct sample *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->id, sizeof s->id, "%s", id);
	s->used = ++kept.tick;
	s->next = *head;
	*head = s;
	kept.n++;
	return s;
}

void stats_forget(const char *id)
{
	pthread_mutex_lock(&kept.mu);
	for (struct sample **p = &kept.b[bucket(id)]; *p; p = &(*p)->next)
		if (!strcmp((*p)->id, id)) {
			struct sample *s = *p;
			*p = s->next;
			free(s);
			kept.n--;
			break;
		}
	pthread_mutex_unlock(&kept.mu);
}

/*
 * usage_nano_cores as containerd computes it: the CPU time used since the previous sample kept for
 * id, per second of the time between the two; 0 for the first sample (none kept yet), when no time
 * has passed, and when the counter went back (the cgroup was made anew).  The new sample replaces
 * the kept one.
 */
static uint64_t nano_cores(const char *id, uint64_t usage_ns, int64_t at)
{
	uint64_t rate = 0;
	pthread_mutex_lock(&kept.mu);
	struct sample *s = sample_of(id, 1);
	if (s && (!s->cpu_at || at > s->cpu_at)) {
		if (s->cpu_at && usage_ns >= s->cpu_ns)
			rate = (uint64_t)((double)(usage_ns - s->cpu_ns) * NS_PER_S / (double)(at - s->cpu_at));
		s->cpu_ns = usage_ns;
		s->cpu_at = at;
	}
	pthread_mutex_unlock(&kept.mu);
	return rate;
}

/*
 * The writable layer of container id: the measure kept when it is younger than STATS_FS_TTL_S,
 * else a new walk (outside the lock).  0 with *at its time, or -1 when there is no upper directory
 * to measure.
 */
static int writable_layer(struct cri_env *env, const char *id, int64_t now, uint64_t *bytes, uint64_t *inodes,
			  int64_t *at)
{
	pthread_mutex_lock(&kept.mu);
	struct sample *s = sample_of(id, 1);
	int fresh = s && s->fs_at && now - s->fs_at < STATS_FS_TTL_S * NS_PER_S;
	if (fresh) {
		*bytes = s->fs_bytes;
		*inodes = s->fs_inodes;
		*at = s->fs_at;
	}
	pthread_mutex_unlock(&kept.mu);
	if (fresh)
		return 0;
	char rw[PATH_MAX];
	struct lc_err err = { 0 };
	if (life_dir(env, DIR_CTR_ROOT, id, NULL, rw, sizeof rw, &err) < 0 || rootfs_usage(rw, bytes, inodes, &err) < 0) {
		if (err.errnum != ENOENT)
			log_warn("container %s: writable layer not measured: %s", id, err.msg);
		return -1;
	}
	*at = now;
	pthread_mutex_lock(&kept.mu);
	if ((s = sample_of(id, 0))) { /* not when forgotten meanwhile (removed) */
		s->fs_bytes = *bytes;
		s->fs_inodes = *inodes;
		s->fs_at = now;
	}
	pthread_mutex_unlock(&kept.mu);
	return 0;
}

/* --- building blocks --------------------------------------------------------------------------- */

static Runtime__V1__UInt64Value *u64(struct cri_call *call, uint64_t v)
{
	Runtime__V1__UInt64Value *u = cri_new(call, &runtime__v1__uint64_value__descriptor);
	u->value = v;
	return u;
}

/* The cgroupsPaths of a call's pods, decoded once per pod per call. */
struct pod_memo {
	struct cri_env *env;
	struct cri_call *call;
	size_t n;
	struct {
		char id[OBJ_ID_BUF];
		const char *parent; /* the pod's linux.cgroup_parent ("" when none); NULL: pod unreadable */
	} v[64];
};

/* The cgroupsPath of container (or infra) id of pod sandbox_id, in the call's arena; NULL when the
 * pod or its config cannot be read (logged). */
static const char *cgroup_of(struct pod_memo *m, const char *sandbox_id, const char *id)
{
	const char *parent = NULL;
	size_t i;
	for (i = 0; i < m->n && strcmp(m->v[i].id, sandbox_id); i++)
		;
	if (i < m->n) {
		parent = m->v[i].parent;
	} else {
		struct sandbox_row sb;
		struct lc_err err = { 0 };
		const Runtime__V1__PodSandboxConfig *cfg = NULL;
		if (store_sandbox_get(m->env->store, sandbox_id, m->call->arena, &sb, &err) < 0)
			log_warn("sandbox %s: not read for the stats of container %s: %s", sandbox_id, id, err.msg);
		else if (!(cfg = life_sandbox_config(m->call->arena, &sb)))
			log_error("sandbox %s: the recorded config does not decode", sandbox_id);
		else
			parent = cfg->linux && cfg->linux->cgroup_parent ? cfg->linux->cgroup_parent : "";
		if (m->n < sizeof m->v / sizeof m->v[0]) {
			snprintf(m->v[m->n].id, sizeof m->v[m->n].id, "%s", sandbox_id);
			m->v[m->n++].parent = parent;
		}
	}
	if (!parent)
		return NULL;
	char *path = NULL;
	struct lc_err err = { 0 };
	if (spec_cgroups_path(parent, id, &path, &err) < 0) {
		log_warn("container %s: no cgroup path: %s", id, err.msg);
		return NULL;
	}
	const char *out = arena_strdup(m->call->arena, path);
	free(path);
	return out;
}

static Runtime__V1__CpuUsage *cpu_usage(struct cri_call *call, const char *id, const struct cg_stats *s, int64_t at)
{
	Runtime__V1__CpuUsage *c = cri_new(call, &runtime__v1__cpu_usage__descriptor);
	c->timestamp = at;
	if (s && s->have_cpu) {
		c->usage_core_nano_seconds = u64(call, s->cpu_usage_ns);
		c->usage_nano_cores = u64(call, nano_cores(id, s->cpu_usage_ns, at));
	}
	return c;
}

static Runtime__V1__MemoryUsage *memory_usage(struct cri_call *call, const struct cg_stats *s, int64_t at)
{
	Runtime__V1__MemoryUsage *m = cri_new(call, &runtime__v1__memory_usage__descriptor);
	m->timestamp = at;
	if (s && s->have_memory) {
		m->working_set_bytes = u64(call, s->mem_working_set);
		m->usage_bytes = u64(call, s->mem_usage);
		m->rss_bytes = u64(call, s->mem_rss);
		m->page_faults = u64(call, s->mem_pgfault);
		m->major_page_faults = u64(call, s->mem_pgmajfault);
		if (s->mem_limit)
			m->available_bytes =
				u64(call, s->mem_limit > s->mem_working_set ? s->mem_limit - s->mem_working_set : 0);
	}
	return m;
}

static Runtime__V1__SwapUsage *swap_usage(struct cri_call *call, const struct cg_stats *s, int64_t at)
{
	if (!s || !s->have_swap)
		return NULL;
	Runtime__V1__SwapUsage *w = cri_new(call, &runtime__v1__swap_usage__descriptor);
	w->timestamp = at;
	w->swap_usage_bytes = u64(call, s->swap_usage);
	if (s->swap_limit)
		w->swap_available_bytes = u64(call, s->swap_limit > s->swap_usage ? s->swap_limit - s->swap_usage : 0);
	return w;
}

/* A container's config and cgroup read done ahead (ctrs_prefetch): its result, and when. */
struct prefetched {
	const Runtime__V1__ContainerConfig *cfg; /* decoded once, for ctr_stats_pre too; NULL: it does not */
	const char *path; /* NULL: no cgroup to read (EXITED, or its pod unreadable) */
	unsigned what;
	int read;	  /* 1: s holds it */
	struct cg_stats s;
	int64_t at;
};

/* `what` for container c of config cfg: without its limit files when litecri set it no memory
 * limit (its recorded resources, else its config's) — the cgroup's limit is the one it applied. */
static unsigned ctr_what(struct cri_call *call, const struct container_row *c, const Runtime__V1__ContainerConfig *cfg,
			 unsigned what)
{
	const Runtime__V1__LinuxContainerResources *r = life_container_resources(call->arena, c, cfg);
	return (what & CGS_MEMORY) && (!r || r->memory_limit_in_bytes <= 0) ? what | CGS_NO_LIMIT : what;
}

/*
 * The stats of container c: 1 *out filled; 0 its cgroup vanished (an exit between the row's read
 * and the cgroup's: the List calls skip it); -1 its config does not decode (logged).  EXITED
 * containers, and with keep_vanished those whose cgroup vanished, have CPU and memory present
 * but empty, as containerd answers.  *cg (unless NULL) receives what the cgroup read (with
 * `what`).  With pre (ctrs_prefetch's, for c), its config and cgroup read are used: nothing is
 * decoded or read again.
 */
static int ctr_stats_pre(struct pod_memo *m, const struct container_row *c, unsigned what, int keep_vanished,
			 const struct prefetched *pre, Runtime__V1__ContainerStats **out, struct cg_stats *cg)
{
	struct cri_call *call = m->call;
	const Runtime__V1__ContainerConfig *cfg = pre ? pre->cfg : life_container_config(call->arena, c);
	if (!cfg) {
		log_error("container %s: the recorded config does not decode; no stats", c->id);
		return -1;
	}
	struct cg_stats s_, *s = cg ? cg : &s_;
	memset(s, 0, sizeof *s);
	int64_t at = pre ? pre->at : cri_now();
	int read = 0;
	if (c->state != CTR_EXITED) {
		if (pre) {
			read = pre->read;
			if (read)
				*s = pre->s;
		} else {
			const char *path = cgroup_of(m, c->sandbox_id, c->id);
			read = path && cgroup_stats(path, ctr_what(call, c, cfg, what), s) == 0;
		}
		if (!read && !keep_vanished)
			return 0;
	}
	Runtime__V1__ContainerStats *st = cri_new(call, &runtime__v1__container_stats__descriptor);
	Runtime__V1__ContainerAttributes *a = cri_new(call, &runtime__v1__container_attributes__descriptor);
	a->id = arena_strdup(call->arena, c->id);
	a->metadata = cfg->metadata;
	a->n_labels = cfg->n_labels;
	a->labels = cri_map_copy(call, &runtime__v1__container_attributes__labels_entry__descriptor,
				 (void *const *)cfg->labels, cfg->n_labels);
	a->n_annotations = cfg->n_annotations;
	a->annotations = cri_map_copy(call, &runtime__v1__container_attributes__annotations_entry__descriptor,
				      (void *const *)cfg->annotations, cfg->n_annotations);
	st->attributes = a;
	st->cpu = cpu_usage(call, c->id, read ? s : NULL, at);
	st->memory = memory_usage(call, read ? s : NULL, at);
	st->swap = swap_usage(call, read ? s : NULL, at);
	uint64_t bytes, inodes;
	int64_t fs_at;
	if (writable_layer(m->env, c->id, at, &bytes, &inodes, &fs_at) == 0) {
		Runtime__V1__FilesystemUsage *fs = cri_new(call, &runtime__v1__filesystem_usage__descriptor);
		fs->timestamp = fs_at;
		fs->fs_id = cri_new(call, &runtime__v1__filesystem_identifier__descriptor);
		fs->fs_id->mountpoint = arena_printf(call->arena, "%s/containers", m->env->cfg->root);
		fs->used_bytes = u64(call, bytes);
		fs->inodes_used = u64(call, inodes);
		st->writable_layer = fs;
	}
	*out = st;
	return 1;
}

static int ctr_stats(struct pod_memo *m, const struct container_row *c, unsigned what, int keep_vanished,
		     Runtime__V1__ContainerStats **out, struct cg_stats *cg)
{
	return ctr_stats_pre(m, c, what, keep_vanished, NULL, out, cg);
}

/*
 * Read the cgroups of many containers at once, on two threads: the reads are the kernel's cgroup
 * files, 30-40 µs per container on this machine type, and are all a list of 100 costs beyond the
 * database; a second core halves them.  Paths are resolved first, on the caller's thread (the
 * pod memo and the arena are not shared).
 */
struct prefetch_job {
	struct prefetched *p;
	size_t from, n, step;
};

static void *prefetch_main(void *arg)
{
	struct prefetch_job *j = arg;
	for (size_t i = j->from; i < j->n; i += j->step) {
		struct prefetched *p = &j->p[i];
		p->at = cri_now();
		p->read = p->path && cgroup_stats(p->path, p->what, &p->s) == 0;
	}
	return NULL;
}

#define PREFETCH_MIN 16 /* fewer: a thread's start (~50 µs) is not worth it */

static struct prefetched *ctrs_prefetch(struct pod_memo *m, const struct container_row *rows, size_t n, unsigned what)
{
	struct prefetched *p = arena_alloc(m->call->arena, (n + 1) * sizeof *p);
	memset(p, 0, (n + 1) * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		/* every row's config decoded here, once: ctr_stats_pre takes it from p[i] */
		if (!(p[i].cfg = life_container_config(m->call->arena, &rows[i])) || rows[i].state == CTR_EXITED)
			continue; /* no stats at all (ctr_stats_pre logs it); or no cgroup */
		p[i].path = cgroup_of(m, rows[i].sandbox_id, rows[i].id);
		p[i].what = ctr_what(m->call, &rows[i], p[i].cfg, what);
	}
	struct prefetch_job odd = { .p = p, .from = 1, .n = n, .step = 2 }, even = { .p = p, .from = 0, .n = n, .step = 2 };
	pthread_t t;
	int two = n >= PREFETCH_MIN && pthread_create(&t, NULL, prefetch_main, &odd) == 0;
	if (!two)
		even.step = 1; /* all of them here */
	prefetch_main(&even);
	if (two)
		pthread_join(t, NULL);
	return p;
}

grpc_status_code cri_container_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp)
{
	const Runtime__V1__ContainerStatsRequest *r = (const void *)req;
	struct container_row c;
	grpc_status_code code = life_container_find(env, call, "ContainerStats", r->container_id, &c);
	if (code != GRPC_STATUS_OK)
		return code;
	struct pod_memo m = { .env = env, .call = call };
	Runtime__V1__ContainerStatsResponse *out = cri_new(call, &runtime__v1__container_stats_response__descriptor);
	if (ctr_stats(&m, &c, CGS_CPU | CGS_MEMORY, 1, &out->stats, NULL) < 0)
		return cri_fail(call, GRPC_STATUS_DATA_LOSS, "ContainerStats %s: the recorded config does not decode", c.id);
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_list_container_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp)
{
	const Runtime__V1__ListContainerStatsRequest *r = (const void *)req;
	const Runtime__V1__ContainerStatsFilter *f = r->filter;
	Runtime__V1__ListContainerStatsResponse *out = cri_new(call, &runtime__v1__list_container_stats_response__descriptor);
	*resp = &out->base;
	struct obj_filter pf = { .state = -1 };
	if (f && life_list_filter(call, f->id, f->pod_sandbox_id, -1, (void *const *)f->label_selector,
				  f->n_label_selector, &pf))
		return GRPC_STATUS_OK; /* nothing has such an ID */
	struct lc_err err = { 0 };
	struct container_row *rows;
	size_t n;
	if (store_container_list(env->store, &pf, call->arena, &rows, &n, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "ListContainerStats: %s", err.msg);
	struct pod_memo m = { .env = env, .call = call };
	out->stats = arena_alloc(call->arena, (n + 1) * sizeof *out->stats);
	const struct prefetched *pre = ctrs_prefetch(&m, rows, n, CGS_CPU | CGS_MEMORY);
	for (size_t i = 0; i < n; i++)
		if (ctr_stats_pre(&m, &rows[i], CGS_CPU | CGS_MEMORY, 0, &pre[i], &out->stats[out->n_stats], NULL) > 0)
			out->n_stats++;
	return GRPC_STATUS_OK;
}

/* --- pods -------------------------------------------------------------------------------------- */

static Runtime__V1__NetworkInterfaceUsage *iface_usage(struct cri_call *call, const struct podns_iface *f)
{
	Runtime__V1__NetworkInterfaceUsage *u = cri_new(call, &runtime__v1__network_interface_usage__descriptor);
	u->name = arena_strdup(call->arena, f->name);
	u->rx_bytes = u64(call, f->rx_bytes);
	u->rx_errors = u64(call, f->rx_errors);
	u->tx_bytes = u64(call, f->tx_bytes);
	u->tx_errors = u64(call, f->tx_errors);
	return u;
}

/* The interface counters of pod id's own network namespace: 0 with *ifs (free) filled; -1 when it
 * has none (host network, or gone), a failure logged. */
static int pod_ifaces(struct cri_env *env, const char *id, struct podns_iface **ifs, size_t *n)
{
	char ns[PATH_MAX];
	struct lc_err err = { 0 };
	if (life_dir(env, DIR_SB_STATE, id, "ns", ns, sizeof ns, &err) < 0 || podns_net_stats(ns, ifs, n, &err) < 0) {
		if (err.errnum != ENOENT)
			log_warn("sandbox %s: network counters not read: %s", id, err.msg);
		return -1;
	}
	return 0;
}

static Runtime__V1__NetworkUsage *network_usage(struct cri_call *call, const struct podns_iface *ifs, size_t n,
						int64_t at)
{
	Runtime__V1__NetworkUsage *u = cri_new(call, &runtime__v1__network_usage__descriptor);
	u->timestamp = at;
	u->interfaces = arena_alloc(call->arena, (n + 1) * sizeof *u->interfaces);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ifs[i].name, DEFAULT_IFACE))
			u->default_interface = iface_usage(call, &ifs[i]);
		else
			u->interfaces[u->n_interfaces++] = iface_usage(call, &ifs[i]);
	}
	return u;
}

/* a += b, for the pods without a cgroup of their own. */
static void cg_add(struct cg_stats *a, const struct cg_stats *b)
{
	a->have_cpu |= b->have_cpu;
	a->cpu_usage_ns += b->cpu_usage_ns;
	a->cpu_user_ns += b->cpu_user_ns;
	a->cpu_system_ns += b->cpu_system_ns;
	a->have_memory |= b->have_memory;
	a->mem_usage += b->mem_usage;
	a->mem_working_set += b->mem_working_set;
	a->mem_rss += b->mem_rss;
	a->mem_cache += b->mem_cache;
	a->mem_pgfault += b->mem_pgfault;
	a->mem_pgmajfault += b->mem_pgmajfault;
	a->have_swap |= b->have_swap;
	a->swap_usage += b->swap_usage;
	a->have_pids |= b->have_pids;
	a->pids += b->pids;
}

/*
 * The stats of pod sb (its containers: ctrs, n_ctrs rows).  The pod's totals are those of its
 * cgroup_parent when it has one (kubelet gives every pod its own), as containerd reads them; a pod
 * without one (its containers under litecri's shared "/litecri") gets the sum of its containers'
 * and its infra container's cgroups.  Network: the interfaces of its own network namespace.
 * NULL when its config does not decode (logged).
 */
static Runtime__V1__PodSandboxStats *pod_stats(struct pod_memo *m, const struct sandbox_row *sb,
					       const struct container_row *ctrs, size_t n_ctrs)
{
	struct cri_call *call = m->call;
	const Runtime__V1__PodSandboxConfig *cfg = life_sandbox_config(call->arena, sb);
	if (!cfg) {
		log_error("sandbox %s: the recorded config does not decode; no stats", sb->id);
		return NULL;
	}
	Runtime__V1__PodSandboxStats *ps = cri_new(call, &runtime__v1__pod_sandbox_stats__descriptor);
	Runtime__V1__PodSandboxAttributes *a = cri_new(call, &runtime__v1__pod_sandbox_attributes__descriptor);
	a->id = arena_strdup(call->arena, sb->id);
	a->metadata = cfg->metadata;
	a->n_labels = cfg->n_labels;
	a->labels = cri_map_copy(call, &runtime__v1__pod_sandbox_attributes__labels_entry__descriptor,
				 (void *const *)cfg->labels, cfg->n_labels);
	a->n_annotations = cfg->n_annotations;
	a->annotations = cri_map_copy(call, &runtime__v1__pod_sandbox_attributes__annotations_entry__descriptor,
				      (void *const *)cfg->annotations, cfg->n_annotations);
	ps->attributes = a;
	Runtime__V1__LinuxPodSandboxStats *l = cri_new(call, &runtime__v1__linux_pod_sandbox_stats__descriptor);
	ps->linux = l;

	const char *parent = cfg->linux && cfg->linux->cgroup_parent ? cfg->linux->cgroup_parent : "";
	struct cg_stats pod = { 0 }, one;
	int own = *parent != '\0', read = 0;
	l->containers = arena_alloc(call->arena, (n_ctrs + 1) * sizeof *l->containers);
	for (size_t i = 0; i < n_ctrs; i++)
		if (ctr_stats(m, &ctrs[i], CGS_CPU | CGS_MEMORY | (own ? 0 : CGS_PIDS), 0, &l->containers[l->n_containers],
			      &one) > 0) {
			l->n_containers++;
			if (!own)
				cg_add(&pod, &one);
		}
	int64_t at = cri_now();
	if (own) {
		read = cgroup_stats(parent, CGS_CPU | CGS_MEMORY | CGS_PIDS, &pod) == 0;
	} else {
		const char *infra = sb->infra ? cgroup_of(m, sb->id, sb->id) : NULL;
		read = l->n_containers > 0;
		if (infra && cgroup_stats(infra, CGS_CPU | CGS_MEMORY | CGS_PIDS, &one) == 0) {
			cg_add(&pod, &one);
			read = 1;
		}
	}
	l->cpu = cpu_usage(call, sb->id, read ? &pod : NULL, at);
	l->memory = memory_usage(call, read ? &pod : NULL, at);
	if (read && pod.have_pids) {
		l->process = cri_new(call, &runtime__v1__process_usage__descriptor);
		l->process->timestamp = at;
		l->process->process_count = u64(call, pod.pids);
	}
	struct podns_iface *ifs;
	size_t n;
	if (pod_ifaces(m->env, sb->id, &ifs, &n) == 0) {
		l->network = network_usage(call, ifs, n, at);
		free(ifs);
	}
	return ps;
}

/* The containers of pod id (all states), in the call's arena. */
static int pod_containers(struct cri_env *env, struct cri_call *call, const char *id, struct container_row **rows,
			  size_t *n, struct lc_err *err)
{
	struct obj_filter f = { .state = -1, .sandbox_id_prefix = id };
	return store_container_list(env->store, &f, call->arena, rows, n, err);
}

grpc_status_code cri_pod_sandbox_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				       ProtobufCMessage **resp)
{
	const Runtime__V1__PodSandboxStatsRequest *r = (const void *)req;
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "PodSandboxStats", 0, r->pod_sandbox_id, id, &code);
	if (found < 0)
		return code;
	struct lc_err err = { 0 };
	struct sandbox_row sb;
	if (!found || store_sandbox_get(env->store, id, call->arena, &sb, &err) < 0 || sb.creating) {
		if (err.errnum && err.errnum != ENOENT)
			return cri_fail(call, cri_work_code(err.errnum), "PodSandboxStats %s: %s", id, err.msg);
		return cri_fail(call, GRPC_STATUS_NOT_FOUND, "PodSandboxStats: sandbox %s not found",
				LC_Q(r->pod_sandbox_id));
	}
	struct container_row *ctrs;
	size_t n;
	if (pod_containers(env, call, id, &ctrs, &n, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "PodSandboxStats %s: %s", id, err.msg);
	struct pod_memo m = { .env = env, .call = call };
	Runtime__V1__PodSandboxStatsResponse *out = cri_new(call, &runtime__v1__pod_sandbox_stats_response__descriptor);
	if (!(out->stats = pod_stats(&m, &sb, ctrs, n)))
		return cri_fail(call, GRPC_STATUS_DATA_LOSS, "PodSandboxStats %s: the recorded config does not decode", id);
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

/* The READY pods a List call covers (filter f, NULL: all) and every container (creation order). */
static grpc_status_code list_pods(struct cri_env *env, struct cri_call *call, const char *rpc,
				  const Runtime__V1__PodSandboxStatsFilter *f, struct sandbox_row **pods, size_t *n_pods,
				  struct container_row **ctrs, size_t *n_ctrs)
{
	struct obj_filter pf = { .state = -1 };
	*n_pods = *n_ctrs = 0;
	if (f && life_list_filter(call, f->id, NULL, SANDBOX_READY, (void *const *)f->label_selector,
				  f->n_label_selector, &pf))
		return GRPC_STATUS_OK; /* nothing has such an ID */
	pf.state = SANDBOX_READY;
	struct obj_filter all = { .state = -1 };
	struct lc_err err = { 0 };
	if (store_sandbox_list(env->store, &pf, call->arena, pods, n_pods, &err) < 0 ||
	    (*n_pods && store_container_list(env->store, &all, call->arena, ctrs, n_ctrs, &err) < 0))
		return cri_fail(call, cri_work_code(err.errnum), "%s: %s", rpc, err.msg);
	return GRPC_STATUS_OK;
}

/* The containers of pod id among ctrs (grouped: rows of one pod are moved together at the front of
 * what is left). */
static size_t take_pod(const char *id, struct container_row *ctrs, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ctrs[i].sandbox_id, id)) {
			struct container_row t = ctrs[i];
			memmove(&ctrs[k + 1], &ctrs[k], (i - k) * sizeof *ctrs);
			ctrs[k++] = t;
		}
	return k;
}

grpc_status_code cri_list_pod_sandbox_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					    ProtobufCMessage **resp)
{
	const Runtime__V1__ListPodSandboxStatsRequest *r = (const void *)req;
	struct sandbox_row *pods;
	struct container_row *ctrs = NULL;
	size_t n_pods, n_ctrs;
	grpc_status_code code = list_pods(env, call, "ListPodSandboxStats", r->filter, &pods, &n_pods, &ctrs, &n_ctrs);
	if (code != GRPC_STATUS_OK)
		return code;
	Runtime__V1__ListPodSandboxStatsResponse *out =
		cri_new(call, &runtime__v1__list_pod_sandbox_stats_response__descriptor);
	struct pod_memo m = { .env = env, .call = call };
	out->stats = arena_alloc(call->arena, (n_pods + 1) * sizeof *out->stats);
	for (size_t i = 0; i < n_pods; i++) {
		size_t k = take_pod(pods[i].id, ctrs, n_ctrs);
		Runtime__V1__PodSandboxStats *ps = pod_stats(&m, &pods[i], ctrs, k);
		ctrs += k;
		n_ctrs -= k;
		if (ps)
			out->stats[out->n_stats++] = ps;
	}
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

/* --- metrics (cAdvisor's names, as CRI-O publishes them) ------------------------------------ */

/* Label keys: every metric has the base ones (the container's ID, name and image; for the pod's
 * own metrics its ID, "POD" and ""); some one more. */
enum mlabel { ML_BASE, ML_CPU, ML_IFACE };
static char *const BASE_KEYS[] = { "id", "name", "image" };
static char *const CPU_KEYS[] = { "id", "name", "image", "cpu" };
static char *const IFACE_KEYS[] = { "id", "name", "image", "interface" };

enum metric {
	M_CPU_USAGE, M_CPU_USER, M_CPU_SYSTEM,
	M_MEM_USAGE, M_MEM_WORKING_SET, M_MEM_RSS, M_MEM_CACHE, M_MEM_SWAP, M_SPEC_MEM_LIMIT, M_OOM,
	M_PROCESSES, M_FS_USAGE,
	M_NET_RX_BYTES, M_NET_RX_PACKETS, M_NET_RX_DROPPED, M_NET_RX_ERRORS,
	M_NET_TX_BYTES, M_NET_TX_PACKETS, M_NET_TX_DROPPED, M_NET_TX_ERRORS,
	M_COUNT
};

static const struct {
	const char *name, *help;
	enum mlabel labels;
	Runtime__V1__MetricType type;
} METRICS[M_COUNT] = {
#define C RUNTIME__V1__METRIC_TYPE__COUNTER
#define G RUNTIME__V1__METRIC_TYPE__GAUGE
	[M_CPU_USAGE] = { "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", ML_CPU, C },
	[M_CPU_USER] = { "container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", ML_BASE, C },
	[M_CPU_SYSTEM] = { "container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", ML_BASE, C },
	[M_MEM_USAGE] = { "container_memory_usage_bytes",
			  "Current memory usage in bytes, including all memory regardless of when it was accessed", ML_BASE, G },
	[M_MEM_WORKING_SET] = { "container_memory_working_set_bytes", "Current working set in bytes.", ML_BASE, G },
	[M_MEM_RSS] = { "container_memory_rss", "Size of RSS in bytes.", ML_BASE, G },
	[M_MEM_CACHE] = { "container_memory_cache", "Number of bytes of page cache memory.", ML_BASE, G },
	[M_MEM_SWAP] = { "container_memory_swap", "Container swap usage in bytes.", ML_BASE, G },
	[M_SPEC_MEM_LIMIT] = { "container_spec_memory_limit_bytes", "Memory limit for the container in bytes.", ML_BASE, G },
	[M_OOM] = { "container_oom_events_total", "Count of out of memory events observed for the container", ML_BASE, C },
	[M_PROCESSES] = { "container_processes", "Number of processes running inside the container.", ML_BASE, G },
	[M_FS_USAGE] = { "container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.",
			 ML_BASE, G },
	[M_NET_RX_BYTES] = { "container_network_receive_bytes_total", "Cumulative count of bytes received", ML_IFACE, C },
	[M_NET_RX_PACKETS] = { "container_network_receive_packets_total", "Cumulative count of packets received", ML_IFACE, C },
	[M_NET_RX_DROPPED] = { "container_network_receive_packets_dropped_total",
			       "Cumulative count of packets dropped while receiving", ML_IFACE, C },
	[M_NET_RX_ERRORS] = { "container_network_receive_errors_total",
			      "Cumulative count of errors encountered while receiving", ML_IFACE, C },
	[M_NET_TX_BYTES] = { "container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", ML_IFACE, C },
	[M_NET_TX_PACKETS] = { "container_network_transmit_packets_total", "Cumulative count of packets transmitted",
			       ML_IFACE, C },
	[M_NET_TX_DROPPED] = { "container_network_transmit_packets_dropped_total",
			       "Cumulative count of packets dropped while transmitting", ML_IFACE, C },
	[M_NET_TX_ERRORS] = { "container_network_transmit_errors_total",
			      "Cumulative count of errors encountered while transmitting", ML_IFACE, C },
#undef C
#undef G
};

static char *const *label_keys(enum mlabel l, size_t *n)
{
	*n = l == ML_BASE ? 3 : 4;
	return l == ML_CPU ? CPU_KEYS : l == ML_IFACE ? IFACE_KEYS : BASE_KEYS;
}

grpc_status_code cri_list_metric_descriptors(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					     ProtobufCMessage **resp)
{
	(void)env;
	(void)req;
	Runtime__V1__ListMetricDescriptorsResponse *out =
		cri_new(call, &runtime__v1__list_metric_descriptors_response__descriptor);
	out->descriptors = arena_alloc(call->arena, M_COUNT * sizeof *out->descriptors);
	for (size_t i = 0; i < M_COUNT; i++) {
		Runtime__V1__MetricDescriptor *d = cri_new(call, &runtime__v1__metric_descriptor__descriptor);
		d->name = (char *)METRICS[i].name;
		d->help = (char *)METRICS[i].help;
		d->label_keys = (char **)label_keys(METRICS[i].labels, &d->n_label_keys);
		out->descriptors[out->n_descriptors++] = d;
	}
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

/* A list of metrics being built (in the call's arena, grown by doubling). */
struct mlist {
	struct cri_call *call;
	Runtime__V1__Metric **v;
	size_t n, cap;
	const char *base[3]; /* id, name, image */
};

static void metric(struct mlist *l, enum metric k, const char *extra, uint64_t value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		Runtime__V1__Metric **v = arena_alloc(l->call->arena, cap * sizeof *v);
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	Runtime__V1__Metric *m = cri_new(l->call, &runtime__v1__metric__descriptor);
	m->name = (char *)METRICS[k].name;
	m->metric_type = METRICS[k].type;
	m->timestamp = 0; /* gathered live */
	label_keys(METRICS[k].labels, &m->n_label_values);
	m->label_values = arena_alloc(l->call->arena, 4 * sizeof *m->label_values);
	for (size_t i = 0; i < 3; i++)
		m->label_values[i] = (char *)l->base[i];
	if (m->n_label_values == 4)
		m->label_values[3] = (char *)extra;
	m->value = u64(l->call, value);
	l->v[l->n++] = m;
}

/* The metrics of a running container. */
static Runtime__V1__ContainerMetrics *ctr_metrics(struct pod_memo *m, const struct container_row *c)
{
	struct cri_call *call = m->call;
	Runtime__V1__ContainerStats *st;
	struct cg_stats s;
	if (ctr_stats(m, c, CGS_CPU | CGS_CPU_TIMES | CGS_MEMORY | CGS_PIDS, 0, &st, &s) <= 0)
		return NULL;
	struct mlist l = { .call = call, .base = { c->id, c->name, c->image } };
	if (s.have_cpu) {
		metric(&l, M_CPU_USAGE, "total", s.cpu_usage_ns / NS_PER_S);
		metric(&l, M_CPU_USER, NULL, s.cpu_user_ns / NS_PER_S);
		metric(&l, M_CPU_SYSTEM, NULL, s.cpu_system_ns / NS_PER_S);
	}
	if (s.have_memory) {
		metric(&l, M_MEM_USAGE, NULL, s.mem_usage);
		metric(&l, M_MEM_WORKING_SET, NULL, s.mem_working_set);
		metric(&l, M_MEM_RSS, NULL, s.mem_rss);
		metric(&l, M_MEM_CACHE, NULL, s.mem_cache);
		metric(&l, M_SPEC_MEM_LIMIT, NULL, s.mem_limit);
		const char *path = cgroup_of(m, c->sandbox_id, c->id);
		long oom = path ? cgroup_oom_kills(path) : -1;
		if (oom >= 0)
			metric(&l, M_OOM, NULL, (uint64_t)oom);
	}
	if (s.have_swap)
		metric(&l, M_MEM_SWAP, NULL, s.swap_usage);
	if (s.have_pids)
		metric(&l, M_PROCESSES, NULL, s.pids);
	if (st->writable_layer)
		metric(&l, M_FS_USAGE, NULL, st->writable_layer->used_bytes->value);
	Runtime__V1__ContainerMetrics *cm = cri_new(call, &runtime__v1__container_metrics__descriptor);
	cm->container_id = (char *)c->id;
	cm->metrics = l.v;
	cm->n_metrics = l.n;
	return cm;
}

grpc_status_code cri_list_pod_sandbox_metrics(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					      ProtobufCMessage **resp)
{
	(void)req;
	struct sandbox_row *pods;
	struct container_row *ctrs = NULL;
	size_t n_pods, n_ctrs;
	grpc_status_code code = list_pods(env, call, "ListPodSandboxMetrics", NULL, &pods, &n_pods, &ctrs, &n_ctrs);
	if (code != GRPC_STATUS_OK)
		return code;
	Runtime__V1__ListPodSandboxMetricsResponse *out =
		cri_new(call, &runtime__v1__list_pod_sandbox_metrics_response__descriptor);
	out->pod_metrics = arena_alloc(call->arena, (n_pods + 1) * sizeof *out->pod_metrics);
	struct pod_memo m = { .env = env, .call = call };
	for (size_t i = 0; i < n_pods; i++) {
		size_t k = take_pod(pods[i].id, ctrs, n_ctrs);
		Runtime__V1__PodSandboxMetrics *pm = cri_new(call, &runtime__v1__pod_sandbox_metrics__descriptor);
		pm->pod_sandbox_id = pods[i].id;
		pm->container_metrics = arena_alloc(call->arena, (k + 1) * sizeof *pm->container_metrics);
		for (size_t j = 0; j < k; j++)
			if (ctrs[j].state == CTR_RUNNING && (pm->container_metrics[pm->n_container_metrics] = ctr_metrics(&m, &ctrs[j])))
				pm->n_container_metrics++;
		ctrs += k;
		n_ctrs -= k;
		struct mlist l = { .call = call, .base = { pods[i].id, "POD", "" } };
		struct podns_iface *ifs;
		size_t n;
		if (pod_ifaces(env, pods[i].id, &ifs, &n) == 0) {
			for (size_t j = 0; j < n; j++) {
				const struct podns_iface *f = &ifs[j];
				const char *name = arena_strdup(call->arena, f->name);
				metric(&l, M_NET_RX_BYTES, name, f->rx_bytes);
				metric(&l, M_NET_RX_PACKETS, name, f->rx_packets);
				metric(&l, M_NET_RX_DROPPED, name, f->rx_dropped);
				metric(&l, M_NET_RX_ERRORS, name, f->rx_errors);
				metric(&l, M_NET_TX_BYTES, name, f->tx_bytes);
				metric(&l, M_NET_TX_PACKETS, name, f->tx_packets);
				metric(&l, M_NET_TX_DROPPED, name, f->tx_dropped);
				metric(&l, M_NET_TX_ERRORS, name, f->tx_errors);
			}
			free(ifs);
		}
		pm->metrics = l.v;
		pm->n_metrics = l.n;
		out->pod_metrics[out->n_pod_metrics++] = pm;
	}
	*resp = &out->base;
	return GRPC_STATUS_OK;
}
