/* list.c — see list.h. */
#include "cri/list.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cri/lifecycle.h"
#include "util/log.h"

/* The database's states are the CRI's numbers (schema.sql): a state column is spliced as it is. */
_Static_assert(CTR_CREATED == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED &&
		       CTR_RUNNING == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING &&
		       CTR_EXITED == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED &&
		       CTR_UNKNOWN == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN &&
		       SANDBOX_READY == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY &&
		       SANDBOX_NOTREADY == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY,
	       "database states are CRI states");

/* Pack m into a. */
static void *pack(struct arena *a, const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = arena_alloc(a, *len + 1);
	size_t n = protobuf_c_message_pack(m, b);
	assert(n == *len);
	(void)n;
	return b;
}

/* Map entries of a config copied as another message's map entries (same key/value layout). */
static void *map_as(struct arena *a, const ProtobufCMessageDescriptor *d, void *const *src, size_t n)
{
	struct cri_call c = { .arena = a };
	return cri_map_copy(&c, d, src, n);
}

void *list_container_entry(struct arena *a, const char *sandbox_id, const char *image_ref,
			   const Runtime__V1__ContainerConfig *cfg, size_t *len)
{
	Runtime__V1__Container c = RUNTIME__V1__CONTAINER__INIT;
	c.pod_sandbox_id = (char *)sandbox_id;
	c.metadata = cfg->metadata;
	c.image = cfg->image;
	c.image_ref = (char *)image_ref;
	c.image_id = (char *)image_ref;
	c.n_labels = cfg->n_labels;
	c.labels = map_as(a, &runtime__v1__container__labels_entry__descriptor, (void *const *)cfg->labels, cfg->n_labels);
	c.n_annotations = cfg->n_annotations;
	c.annotations = map_as(a, &runtime__v1__container__annotations_entry__descriptor,
			       (void *const *)cfg->annotations, cfg->n_annotations);
	return pack(a, &c.base, len);
}

void *list_sandbox_entry(struct arena *a, const char *runtime_handler, const Runtime__V1__PodSandboxConfig *cfg,
			 size_t *len)
{
	Runtime__V1__PodSandbox p = RUNTIME__V1__POD_SANDBOX__INIT;
	p.metadata = cfg->metadata;
	p.n_labels = cfg->n_labels;
	p.labels = map_as(a, &runtime__v1__pod_sandbox__labels_entry__descriptor, (void *const *)cfg->labels,
			  cfg->n_labels);
	p.n_annotations = cfg->n_annotations;
	p.annotations = map_as(a, &runtime__v1__pod_sandbox__annotations_entry__descriptor,
			       (void *const *)cfg->annotations, cfg->n_annotations);
	p.runtime_handler = (char *)runtime_handler;
	return pack(a, &p.base, len);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Field numbers of the list messages: the entry's own fields and the response's repeated one. */
struct list_fields {
	unsigned id, state, created_at; /* in Container / PodSandbox */
};
#define RESPONSE_FIELD 1 /* ListContainersResponse.containers, ListPodSandboxResponse.items */
#define TAG(field, wire) ((uint8_t)((field) << 3 | (wire)))

/* The length of item's message: its entry, then id, state and created_at as splice writes them. */
static size_t item_len(const struct list_item *it)
{
	size_t len = it->entry_len + 1 + varint_size(it->id_len) + it->id_len;
	if (it->state)
		len += 1 + varint_size((uint64_t)it->state);
	if (it->created_at)
		len += 1 + varint_size((uint64_t)it->created_at);
	return len;
}

/*
 * The response as its rows come: for each item, field 1 (length-delimited) holding the entry, then
 * id (a string), state and created_at (varints; left out when 0, as protobuf's own packing leaves
 * a proto3 default out), written straight into one malloc'd buffer that the server hands to gRPC
 * as it is (struct cri_call.raw_response).  An unfiltered list's first size is the last one's
 * length, so that a relist of an unchanged set never grows it.
 */
struct splice {
	struct cri_env *env;
	struct cri_call *call;
	int containers;
	const struct list_fields *f;
	uint8_t *b;
	size_t len, cap;
};

static _Atomic size_t last_len[2]; /* [containers]: the last response's length */

/* Room for n more bytes in sp's buffer.  0, or -1 (ENOMEM) in err. */
static int splice_room(struct splice *sp, size_t n, struct lc_err *err)
{
	if (sp->cap - sp->len >= n)
		return 0;
	size_t cap = sp->cap * 2 > sp->len + n ? sp->cap * 2 : sp->len + n;
	uint8_t *b = realloc(sp->b, cap);
	if (!b)
		return lc_fail(err, ENOMEM, "list response (%zu bytes)", cap);
	sp->b = b;
	sp->cap = cap;
	return 0;
}

/* Append it to sp's response. */
static int splice_item(struct splice *sp, const struct list_item *it, struct lc_err *err)
{
	size_t len = item_len(it);
	if (splice_room(sp, 1 + varint_size(len) + len, err) < 0)
		return -1;
	const struct list_fields *f = sp->f;
	uint8_t *p = sp->b + sp->len, *start = p;
	*p++ = TAG(RESPONSE_FIELD, 2);
	p = put_varint(p, len);
	if (it->entry_len)
		memcpy(p, it->entry, it->entry_len);
	p += it->entry_len;
	*p++ = TAG(f->id, 2);
	p = put_varint(p, it->id_len);
	memcpy(p, it->id, it->id_len);
	p += it->id_len;
	if (it->state) {
		*p++ = TAG(f->state, 0);
		p = put_varint(p, (uint64_t)it->state);
	}
	if (it->created_at) {
		*p++ = TAG(f->created_at, 0);
		p = put_varint(p, (uint64_t)it->created_at);
	}
	assert((size_t)(p - start) == 1 + varint_size(len) + len);
	(void)start;
	sp->len = (size_t)(p - sp->b);
	return 0;
}

/*
 * One row of the list (list_item_fn).  A row without an entry (from before migration 0007) gets
 * its entry from its config; one whose object went meanwhile or whose config does not decode is
 * left out.
 */
static int splice_row(void *ctx, const struct list_item *row, struct lc_err *err)
{
	struct splice *sp = ctx;
	if (row->entry)
		return splice_item(sp, row, err);
	struct list_item it = *row;
	struct cri_call *call = sp->call;
	struct lc_err gerr = { 0 };
	struct container_row c;
	struct sandbox_row s;
	if (sp->containers && store_container_get(sp->env->store, it.id, call->arena, &c, &gerr) == 0) {
		const Runtime__V1__ContainerConfig *cfg = life_container_config(call->arena, &c);
		if (cfg)
			it.entry = list_container_entry(call->arena, c.sandbox_id, c.image_ref, cfg, &it.entry_len);
	} else if (!sp->containers && store_sandbox_get(sp->env->store, it.id, call->arena, &s, &gerr) == 0) {
		const Runtime__V1__PodSandboxConfig *cfg = life_sandbox_config(call->arena, &s);
		if (cfg)
			it.entry = list_sandbox_entry(call->arena, s.runtime_handler, cfg, &it.entry_len);
	}
	if (!it.entry) {
		log_error("%s %s: no list entry (%s); left out of the list", sp->containers ? "container" : "sandbox",
			  it.id, gerr.msg[0] ? gerr.msg : "its recorded config does not decode");
		return 0;
	}
	return splice_item(sp, &it, err);
}

/* A list request's filter, whichever message it came in. */
typedef struct {
	int given;
	const char *id, *pod_sandbox_id;
	int state; /* -1: any */
	void *const *labels;
	size_t n_labels;
} list_filter;

/* A list: the rows matching the filter (life_list_filter's arguments), spliced. */
static grpc_status_code list(struct cri_env *env, struct cri_call *call, int containers, const char *rpc,
			     const list_filter *f)
{
	static const struct list_fields ctr = { .id = 1, .state = 6, .created_at = 7 },
					pod = { .id = 1, .state = 3, .created_at = 4 };
	struct lc_err err = { 0 };
	struct splice sp = { env, call, containers, containers ? &ctr : &pod, NULL, 0, 0 };
	struct obj_filter pf = { .state = -1 };
	int none = f->given && life_list_filter(call, f->id, f->pod_sandbox_id, f->state, f->labels, f->n_labels, &pf);
	/* never a NULL response, even an empty one; a filtered list starts small */
	size_t first = none ? 1 : f->given ? 4096 : atomic_load(&last_len[containers]) + 1;
	if (splice_room(&sp, first, &err) < 0 ||
	    (!none && (containers ? store_container_list_items : store_sandbox_list_items)(env->store, &pf, splice_row,
											     &sp, &err) < 0)) {
		free(sp.b);
		return cri_fail(call, cri_work_code(err.errnum), "%s: %s", rpc, err.msg);
	}
	if (!none && !f->given)
		atomic_store(&last_len[containers], sp.len);
	call->raw_response = sp.b;
	call->raw_response_len = sp.len;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_list_containers(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp)
{
	const Runtime__V1__ContainerFilter *f = ((const Runtime__V1__ListContainersRequest *)req)->filter;
	*resp = NULL;
	list_filter fl = { 0 };
	if (f)
		fl = (list_filter){ 1, f->id, f->pod_sandbox_id, f->state ? (int)f->state->state : -1,
						(void *const *)f->label_selector, f->n_label_selector };
	return list(env, call, 1, "ListContainers", &fl);
}

grpc_status_code cri_list_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp)
{
	const Runtime__V1__PodSandboxFilter *f = ((const Runtime__V1__ListPodSandboxRequest *)req)->filter;
	*resp = NULL;
	list_filter fl = { 0 };
	if (f)
		fl = (list_filter){ 1, f->id, NULL, f->state ? (int)f->state->state : -1,
						(void *const *)f->label_selector, f->n_label_selector };
	return list(env, call, 0, "ListPodSandbox", &fl);
}
