/* manifest.c — see manifest.h. */
#include "image/manifest.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static int is_layer_type(const char *t)
{
	return !strcmp(t, MT_OCI_LAYER) || !strcmp(t, MT_OCI_LAYER_GZIP) || !strcmp(t, MT_OCI_LAYER_ZSTD) ||
	       !strcmp(t, MT_DOCKER_LAYER_GZIP) || !strcmp(t, MT_DOCKER_LAYER_FOREIGN) ||
	       !strcmp(t, "application/vnd.oci.image.layer.nondistributable.v1.tar") ||
	       !strcmp(t, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") ||
	       !strcmp(t, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd");
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Fill d from a descriptor object; `what` names it in errors. */
static int parse_descriptor(json_t *o, struct descriptor *d, const char *what, struct lc_err *err)
{
	memset(d, 0, sizeof *d);
	if (!json_is_object(o))
		return lc_fail(err, EINVAL, "%s is not a descriptor object", what);
	const char *mt = jstr(o, "mediaType"), *dg = jstr(o, "digest");
	json_t *sz = json_object_get(o, "size");
	if (!dg)
		return lc_fail(err, EINVAL, "%s has no digest", what);
	if (digest_check(dg, what, err) < 0)
		return -1;
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return lc_fail(err, EINVAL, "%s %s has no valid size", what, dg);
	snprintf(d->media_type, sizeof d->media_type, "%s", mt ? mt : "");
	strcpy(d->digest, dg);
	d->size = json_integer_value(sz);
	json_t *p = json_object_get(o, "platform");
	if (json_is_object(p)) {
		const char *os = jstr(p, "os"), *arch = jstr(p, "architecture"), *var = jstr(p, "variant");
		snprintf(d->os, sizeof d->os, "%s", os ? os : "");
		snprintf(d->arch, sizeof d->arch, "%s", arch ? arch : "");
		snprintf(d->variant, sizeof d->variant, "%s", var ? var : "");
	}
	return 0;
}

void manifest_free(struct manifest *m)
{
	free(m->layers);
	free(m->manifests);
	memset(m, 0, sizeof *m);
}

static int parse_list(json_t *arr, struct descriptor **out, size_t *n, const char *what, struct lc_err *err)
{
	if (!json_is_array(arr))
		return lc_fail(err, EINVAL, "manifest has no %s list", what);
	size_t cnt = json_array_size(arr);
	*out = calloc(cnt ? cnt : 1, sizeof **out);
	if (!*out)
		return lc_fail(err, ENOMEM, "manifest");
	*n = cnt;
	for (size_t i = 0; i < cnt; i++) {
		char w[64];
		snprintf(w, sizeof w, "%s[%zu]", what, i);
		if (parse_descriptor(json_array_get(arr, i), &(*out)[i], w, err) < 0)
			return -1;
	}
	return 0;
}

static int manifest_parse_json(json_t *root, const char *content_type, struct manifest *m, struct lc_err *err)
{
	if (!json_is_object(root))
		return lc_fail(err, EINVAL, "manifest is not a JSON object");
	json_t *sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return lc_fail(err, EINVAL, "manifest schemaVersion is not 2 (Docker schema 1 images are not supported)");
	const char *mt = jstr(root, "mediaType");
	if (!mt || !*mt)
		mt = content_type && *content_type ? content_type : NULL;
	if (!mt) /* an OCI document may omit mediaType: tell by its shape */
		mt = json_object_get(root, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	snprintf(m->media_type, sizeof m->media_type, "%s", mt);
	if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)) {
		m->is_index = 1;
		return parse_list(json_object_get(root, "manifests"), &m->manifests, &m->n_manifests, "manifests", err);
	}
	if (strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return lc_fail(err, EINVAL, "unsupported manifest media type %s", mt);
	if (parse_descriptor(json_object_get(root, "config"), &m->config, "config", err) < 0)
		return -1;
	const char *ct = m->config.media_type;
	if (*ct && strcmp(ct, MT_OCI_CONFIG) != 0 && strcmp(ct, MT_DOCKER_CONFIG) != 0)
		return lc_fail(err, EINVAL, "config %s has media type %s: not a container image", m->config.digest, ct);
	if (parse_list(json_object_get(root, "layers"), &m->layers, &m->n_layers, "layers", err) < 0)
		return -1;
	for (size_t i = 0; i < m->n_layers; i++)
		if (!is_layer_type(m->layers[i].media_type))
			return lc_fail(err, EINVAL, "layer %s has unsupported media type '%s'", m->layers[i].digest,
				       m->layers[i].media_type);
	return 0;
}

int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *m, struct lc_err *err)
{
	memset(m, 0, sizeof *m);
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return lc_fail(err, EINVAL, "manifest is not valid JSON: %s (line %d)", je.text, je.line);
	int rc = manifest_parse_json(root, content_type, m, err);
	json_decref(root);
	if (rc < 0)
		manifest_free(m);
	return rc;
}

void platform_host(const char **arch, const char **variant)
{
	static const struct {
		const char *uname, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", "" },   { "aarch64", "arm64", "" }, { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },   { "i686", "386", "" },      { "i386", "386", "" },
		{ "ppc64le", "ppc64le", "" }, { "s390x", "s390x", "" },   { "riscv64", "riscv64", "" },
	};
	struct utsname u;
	*arch = "amd64";
	*variant = "";
	if (uname(&u) != 0)
		return;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(u.machine, map[i].uname)) {
			*arch = map[i].arch;
			*variant = map[i].variant;
			return;
		}
}

int manifest_select(const struct manifest *idx, const char *arch, const char *variant,
		    const struct descriptor **out, struct lc_err *err)
{
	assert(idx->is_index);
	const struct descriptor *any_variant = NULL;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct descriptor *d = &idx->manifests[i];
		if (strcmp(d->os, "linux") != 0 || strcmp(d->arch, arch) != 0)
			continue;
		if (!*variant || !strcmp(d->variant, variant)) {
			*out = d;
			return 0;
		}
		if (!*d->variant && !any_variant)
			any_variant = d;
	}
	if (any_variant) {
		*out = any_variant;
		return 0;
	}
	char have[512] = "";
	size_t off = 0;
	for (size_t i = 0; i < idx->n_manifests && off < sizeof have - 1; i++) {
		const struct descriptor *d = &idx->manifests[i];
		int n = snprintf(have + off, sizeof have - off, "%s%s/%s%s%s", i ? ", " : "", d->os[0] ? d->os : "?",
				 d->arch[0] ? d->arch : "?", d->variant[0] ? "/" : "", d->variant);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return lc_fail(err, ENOENT, "no image for linux/%s%s%s in the index (it has: %s)", arch, *variant ? "/" : "",
		       variant, idx->n_manifests ? have : "nothing");
}

void image_config_free(struct image_config *c)
{
	free(c->diff_ids);
	memset(c, 0, sizeof *c);
}

static int image_config_json(json_t *root, struct image_config *c, struct lc_err *err)
{
	if (!json_is_object(root))
		return lc_fail(err, EINVAL, "image config is not a JSON object");
	const char *os = jstr(root, "os"), *arch = jstr(root, "architecture");
	snprintf(c->os, sizeof c->os, "%s", os ? os : "");
	snprintf(c->arch, sizeof c->arch, "%s", arch ? arch : "");
	json_t *rootfs = json_object_get(root, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	const char *type = jstr(rootfs, "type");
	if (!json_is_object(rootfs) || !json_is_array(ids) || (type && strcmp(type, "layers") != 0))
		return lc_fail(err, EINVAL, "image config has no rootfs.diff_ids of type layers");
	c->n_diff_ids = json_array_size(ids);
	c->diff_ids = calloc(c->n_diff_ids ? c->n_diff_ids : 1, sizeof *c->diff_ids);
	if (!c->diff_ids)
		return lc_fail(err, ENOMEM, "image config");
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		json_t *v = json_array_get(ids, i);
		char w[48];
		snprintf(w, sizeof w, "rootfs.diff_ids[%zu]", i);
		if (digest_check(json_is_string(v) ? json_string_value(v) : NULL, w, err) < 0)
			return -1;
		strcpy(c->diff_ids[i], json_string_value(v));
	}
	json_t *cfg = json_object_get(root, "config");
	const char *user = json_is_object(cfg) ? jstr(cfg, "User") : NULL;
	const char *sig = json_is_object(cfg) ? jstr(cfg, "StopSignal") : NULL;
	if (user && strlen(user) >= sizeof c->user)
		return lc_fail(err, EINVAL, "image config User is too long");
	snprintf(c->user, sizeof c->user, "%s", user ? user : "");
	snprintf(c->stop_signal, sizeof c->stop_signal, "%s", sig ? sig : "");
	return 0;
}

int image_config_parse(const char *json, size_t len, struct image_config *c, struct lc_err *err)
{
	memset(c, 0, sizeof *c);
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);
	if (!root)
		return lc_fail(err, EINVAL, "image config is not valid JSON: %s (line %d)", je.text, je.line);
	int rc = image_config_json(root, c, err);
	json_decref(root);
	if (rc < 0)
		image_config_free(c);
	return rc;
}

void image_user_split(const char *user, int64_t *uid, char *name, size_t name_cap)
{
	size_t n = strcspn(user, ":");
	char u[256];
	snprintf(u, sizeof u, "%.*s", (int)(n < sizeof u ? n : sizeof u - 1), user);
	*uid = -1;
	name[0] = 0;
	if (!u[0])
		return;
	char *end;
	errno = 0;
	long long v = strtoll(u, &end, 10);
	if (!errno && !*end && v >= 0 && v <= 0xffffffffLL && u[0] >= '0' && u[0] <= '9') {
		*uid = v;
		return;
	}
	snprintf(name, name_cap, "%s", u);
}
