/* devices.c — linux.devices and the device cgroup rules of config.json; see spec.h. */
#include "cri/spec/spec_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"

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

json_t *device_rule(struct jb *b, int allow, const char *type, const struct stat *st, const char *access)
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

/*
 * linux.resources holding the device cgroup rules (deny all — privileged: allow all —, then the
 * CRI devices') and linux.devices (the CRI devices, privileged: and the host's; no member when
 * none), into lnx; *resources: the linux.resources object (borrowed).
 */
int devices_json(struct jb *b, const cri_container *cc, int privileged, json_t *lnx, json_t **resources,
		 struct lc_err *err)
{
	json_t *res = jb_obj(b), *rules = jb_arr(b), *devices = jb_arr(b);
	jb_set(b, res, "devices", rules); /* rules and devices stay referenced below */
	jb_set(b, lnx, "resources", res);
	jb_set(b, lnx, "devices", devices);
	*resources = res;
	jb_push(b, rules, device_rule(b, privileged, NULL, NULL, "rwm")); /* deny all (privileged: allow all) */
	char **dev_paths;
	size_t n_dev_paths;
	int rc = cri_devices(b, cc, devices, rules, &dev_paths, &n_dev_paths, err);
	if (rc == 0 && privileged && !b->failed)
		rc = host_devices(b, "/dev", 0, devices, dev_paths, n_dev_paths, err);
	free_strv(dev_paths, n_dev_paths);
	if (rc == 0 && !b->failed && json_array_size(devices) == 0)
		json_object_del(lnx, "devices");
	return rc;
}
