/* image.c — the CRI ImageService; see image.h. */
#include "cri/image.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/images.h"
#include "store/images.h"
#include "util/log.h"

static const char *spec_image(const Runtime__V1__ImageSpec *s) { return s && s->image ? s->image : ""; }

grpc_status_code cri_pull_image(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				ProtobufCMessage **resp)
{
	const Runtime__V1__PullImageRequest *rq = (const Runtime__V1__PullImageRequest *)req;
	const char *ref = spec_image(rq->image);
	if (!*ref)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "PullImage: image is empty");
	struct registry_auth auth = { 0 }, *ap = NULL;
	if (rq->auth) {
		auth.username = rq->auth->username;
		auth.password = rq->auth->password;
		auth.auth = rq->auth->auth;
		auth.identity_token = rq->auth->identity_token;
		auth.registry_token = rq->auth->registry_token;
		ap = &auth;
	}
	char id[DIGEST_BUF];
	struct lc_err err = { 0 };
	if (images_pull(env->images, ref, ap, call->deadline, call->cancel_fd, id, &err) < 0) {
		grpc_status_code code = cri_code(err.errnum);
		if (err.errnum == ETIMEDOUT) /* this caller stopped waiting (see images_pull, which logs it) */
			code = cri_gone_code(call);
		else
			log_warn("PullImage %s: %s", LC_Q(ref), err.msg);
		return cri_fail(call, code, "PullImage %s: %s", LC_Q(ref), err.msg);
	}
	Runtime__V1__PullImageResponse *r = cri_new(call, &runtime__v1__pull_image_response__descriptor);
	r->image_ref = arena_strdup(call->arena, id);
	*resp = &r->base;
	return GRPC_STATUS_OK;
}

/* A CRI Image from a recorded image (strings copied into the arena). */
static Runtime__V1__Image *to_cri_image(struct cri_call *call, const struct image_info *im)
{
	Runtime__V1__Image *x = cri_new(call, &runtime__v1__image__descriptor);
	x->id = arena_strdup(call->arena, im->id);
	size_t nt = 0, nd = 0;
	for (size_t i = 0; i < im->n_names; i++)
		im->kinds[i] == IMAGE_NAME_TAG ? nt++ : nd++;
	x->repo_tags = arena_alloc(call->arena, (nt + 1) * sizeof(char *));
	x->repo_digests = arena_alloc(call->arena, (nd + 1) * sizeof(char *));
	for (size_t i = 0; i < im->n_names; i++) {
		char *s = arena_strdup(call->arena, im->names[i]);
		if (im->kinds[i] == IMAGE_NAME_TAG)
			x->repo_tags[x->n_repo_tags++] = s;
		else
			x->repo_digests[x->n_repo_digests++] = s;
	}
	x->size = (uint64_t)im->size;
	if (im->uid >= 0) {
		x->uid = cri_new(call, &runtime__v1__int64_value__descriptor);
		x->uid->value = im->uid;
	}
	x->username = arena_strdup(call->arena, im->username);
	x->spec = cri_new(call, &runtime__v1__image_spec__descriptor);
	x->spec->image = x->id;
	x->pinned = im->pinned;
	return x;
}

grpc_status_code cri_list_images(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				 ProtobufCMessage **resp)
{
	const Runtime__V1__ListImagesRequest *rq = (const Runtime__V1__ListImagesRequest *)req;
	const char *filter = rq->filter ? spec_image(rq->filter->image) : "";
	Runtime__V1__ListImagesResponse *r = cri_new(call, &runtime__v1__list_images_response__descriptor);
	struct lc_err err = { 0 };
	if (*filter) {
		char id[DIGEST_BUF];
		struct image_info im;
		if (images_resolve(env->images, filter, id, &err) < 0 || store_image_get(env->store, id, &im, &err) < 0) {
			if (err.errnum == ENOENT) {
				*resp = &r->base;
				return GRPC_STATUS_OK;
			}
			return cri_fail(call, cri_code(err.errnum),
					"ListImages %s: %s", LC_Q(filter), err.msg);
		}
		r->images = arena_alloc(call->arena, sizeof *r->images);
		r->images[r->n_images++] = to_cri_image(call, &im);
		image_info_free(&im);
		*resp = &r->base;
		return GRPC_STATUS_OK;
	}
	struct image_info *v;
	size_t n;
	if (store_image_list(env->store, &v, &n, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "ListImages: %s", err.msg);
	r->images = arena_alloc(call->arena, (n + 1) * sizeof *r->images);
	for (size_t i = 0; i < n; i++) {
		r->images[r->n_images++] = to_cri_image(call, &v[i]);
		image_info_free(&v[i]);
	}
	free(v);
	*resp = &r->base;
	return GRPC_STATUS_OK;
}

/* The verbose "info" entry: the image config and how the image is stored, as JSON. */
static char *verbose_info(struct cri_call *call, const struct image_info *im)
{
	json_t *spec = json_loads(im->config, 0, NULL);
	json_t *chain = json_array(), *layers = json_array();
	for (size_t i = 0; i < im->n_layers; i++) {
		const struct image_layer *l = &im->layers[i];
		json_array_append_new(chain, json_string(l->chain_id));
		json_array_append_new(layers, json_pack("{s:s, s:s, s:s, s:I, s:s}", "chainID", l->chain_id, "diffID",
							l->diff_id, "digest", l->blob_digest, "size",
							(json_int_t)l->blob_size, "mediaType", l->media_type));
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "id", im->id, "manifestDigest",
			      im->manifest_digest, "mediaType", im->media_type, "size", (json_int_t)im->size,
			      "imageSpec", spec ? spec : json_null(), "chainIDs", chain, "layers", layers);
	return cri_json(call, o);
}

grpc_status_code cri_image_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp)
{
	const Runtime__V1__ImageStatusRequest *rq = (const Runtime__V1__ImageStatusRequest *)req;
	const char *ref = spec_image(rq->image);
	if (!*ref)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "ImageStatus: image is empty");
	Runtime__V1__ImageStatusResponse *r = cri_new(call, &runtime__v1__image_status_response__descriptor);
	char id[DIGEST_BUF];
	struct image_info im;
	struct lc_err err = { 0 };
	if (images_resolve(env->images, ref, id, &err) < 0 || store_image_get(env->store, id, &im, &err) < 0) {
		if (err.errnum == ENOENT) { /* the CRI contract: a missing image is not an error */
			*resp = &r->base;
			return GRPC_STATUS_OK;
		}
		return cri_fail(call, cri_code(err.errnum), "ImageStatus %s: %s", LC_Q(ref), err.msg);
	}
	r->image = to_cri_image(call, &im);
	grpc_status_code rc = GRPC_STATUS_OK;
	if (rq->verbose) {
		char *info = verbose_info(call, &im);
		if (!info) {
			rc = cri_fail(call, GRPC_STATUS_INTERNAL,
					"ImageStatus %s: cannot encode the verbose info", LC_Q(ref));
		} else {
			Runtime__V1__ImageStatusResponse__InfoEntry *e =
				cri_new(call, &runtime__v1__image_status_response__info_entry__descriptor);
			e->key = "info";
			e->value = info;
			r->info = arena_alloc(call->arena, sizeof *r->info);
			r->info[r->n_info++] = e;
		}
	}
	image_info_free(&im);
	if (rc == GRPC_STATUS_OK)
		*resp = &r->base;
	return rc;
}

grpc_status_code cri_remove_image(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp)
{
	const Runtime__V1__RemoveImageRequest *rq = (const Runtime__V1__RemoveImageRequest *)req;
	const char *ref = spec_image(rq->image);
	if (!*ref)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "RemoveImage: image is empty");
	int removed = 0;
	struct lc_err err = { 0 };
	if (images_remove(env->images, ref, &removed, &err) < 0)
		return cri_fail(call, cri_code(err.errnum), "RemoveImage %s: %s", LC_Q(ref), err.msg);
	*resp = cri_new(call, &runtime__v1__remove_image_response__descriptor);
	return GRPC_STATUS_OK;
}

grpc_status_code cri_image_fs_info(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				   ProtobufCMessage **resp)
{
	(void)req;
	uint64_t bytes = 0, inodes = 0;
	struct lc_err err = { 0 };
	if (store_image_usage(env->store, &bytes, &inodes, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "ImageFsInfo: %s", err.msg);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	Runtime__V1__FilesystemUsage *u = cri_new(call, &runtime__v1__filesystem_usage__descriptor);
	u->timestamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	u->fs_id = cri_new(call, &runtime__v1__filesystem_identifier__descriptor);
	u->fs_id->mountpoint = arena_printf(call->arena, "%s/images", env->cfg->root);
	u->used_bytes = cri_new(call, &runtime__v1__uint64_value__descriptor);
	u->used_bytes->value = bytes;
	u->inodes_used = cri_new(call, &runtime__v1__uint64_value__descriptor);
	u->inodes_used->value = inodes;
	Runtime__V1__ImageFsInfoResponse *r = cri_new(call, &runtime__v1__image_fs_info_response__descriptor);
	r->image_filesystems = arena_alloc(call->arena, sizeof *r->image_filesystems);
	r->image_filesystems[r->n_image_filesystems++] = u;
	*resp = &r->base;
	return GRPC_STATUS_OK;
}
