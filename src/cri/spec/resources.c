/* resources.c — linux.resources (cpu, memory, hugepages, unified) and cgroupsPath of config.json, and
 * spec_resources; see spec.h. */
#include "cri/spec/spec_int.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgroup.h"
#include "runtime/host.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/utf8.h"

#define DEFAULT_CGROUP_PARENT "/litecri"

/*
 * A cpuset list as the kernel takes it ("0-3,6", "" = unset): comma-separated numbers and
 * ascending ranges, each at most the highest one `possible` (a kernel list file) names, as runc
 * would otherwise fail writing cpuset.cpus / cpuset.mems.  EINVAL naming `field`.
 */
static int check_cpuset(const char *s, const char *field, const char *possible, struct lc_err *err)
{
	if (!*s)
		return 0;
	long max = host_list_max(possible);
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
	int swap = (r->memory_limit_in_bytes || r->memory_swap_limit_in_bytes) && cgroup_swap_accounting();
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

/* linux.resources cpu/memory/hugepageLimits/unified of the container's CRI resources into res (its
 * linux.resources), process.oomScoreAdj, and linux.cgroupsPath into lnx. */
int container_resources_json(struct jb *b, const struct spec_pod *p, const struct spec_container *c, json_t *lnx,
			     json_t *res, json_t *process, struct lc_err *err)
{
	const cri_container *cc = c->config;
	if (resources_json(b, cc->linux ? cc->linux->resources : NULL, res, process, err) < 0)
		return -1;
	cleanup_free char *cgpath = NULL;
	if (spec_cgroups_path(p->cgroup_parent, c->id, &cgpath, err) < 0)
		return -1;
	jb_set(b, lnx, "cgroupsPath", jb_str(b, cgpath, "cgroup path"));
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

int spec_cgroups_path(const char *cgroup_parent, const char *id, char **out, struct lc_err *err)
{
	const char *parent = cgroup_parent && *cgroup_parent ? cgroup_parent : DEFAULT_CGROUP_PARENT;
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
