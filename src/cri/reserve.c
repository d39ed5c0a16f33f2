/* reserve.c — see reserve.h. */
#include "cri/reserve.h"

#include <string.h>

#include "cri/lifecycle.h"
#include "image/digest.h"
#include "util/log.h"

grpc_status_code reserve_request(struct cri_call *call, const struct reserve_kind *k, const ProtobufCMessage *config,
				 const void *extra, size_t extra_len, struct obj_new *n)
{
	size_t len = protobuf_c_message_get_packed_size(config);
	uint8_t *bytes = arena_alloc(call->arena, len + 1);
	protobuf_c_message_pack(config, bytes);
	struct digester *d = digester_new();
	if (!d)
		return cri_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s %s: out of memory", k->rpc, LC_Q(n->name));
	char *digest = arena_alloc(call->arena, DIGEST_BUF);
	digester_update(d, bytes, len);
	digester_update(d, extra, extra_len);
	digester_final(d, digest);
	digester_free(d);
	n->config = bytes;
	n->config_len = len;
	n->config_digest = digest_hex(digest);
	return GRPC_STATUS_OK;
}

/* 1 while the create of row id (a container's when container, else a sandbox's) is in flight, 0
 * once it finished, -1 when the row is gone (its create failed) or cannot be read. */
static int create_state(struct cri_env *env, int container, const char *id)
{
	struct arena a;
	arena_init(&a);
	struct container_row c;
	struct sandbox_row s;
	struct lc_err err = { 0 };
	int rc = container ? store_container_get(env->store, id, &a, &c, &err)
			   : store_sandbox_get(env->store, id, &a, &s, &err);
	int state = rc < 0 ? -1 : (container ? c.creating : s.creating) != 0;
	arena_release(&a);
	return state;
}

/* life_wait's predicates: the create of a name's holder is over (finished, or failed and gone). */
static int container_settled(struct cri_env *env, const char *id)
{
	return create_state(env, 1, id) != 1;
}

static int sandbox_settled(struct cri_env *env, const char *id)
{
	return create_state(env, 0, id) != 1;
}

int reserve_name(struct cri_env *env, struct cri_call *call, const struct reserve_kind *k, struct obj_new *n,
		 grpc_status_code *code)
{
	struct lc_err err = { 0 };
	for (int attempt = 0;; attempt++) {
		struct obj_holder h;
		if (life_new_id(n->id, &err) < 0) {
			*code = cri_fail(call, cri_work_code(err.errnum), "%s %s: %s", k->rpc, LC_Q(n->name), err.msg);
			return -1;
		}
		int r = k->insert(env, call, n, &h, code);
		if (r <= 0)
			return r == 0 ? 1 : -1;
		if (!h.same) {
			*code = cri_fail(call, GRPC_STATUS_ALREADY_EXISTS,
					 "%s: name %s is reserved for %s %s, created from a different request", k->rpc,
					 LC_Q(n->name), k->noun, h.id);
			return -1;
		}
		/* kubelet retrying after its deadline: the same request.  Wait for the first one if it is
		 * still in flight, then hand out its object. */
		if (h.creating) {
			log_debug("%s %s: waits for the identical create in flight (%s %s)", k->rpc, n->name, k->noun,
				  h.id);
			if (life_wait(env, k->container ? container_settled : sandbox_settled, h.id,
				    life_wait_end(k->wait_ns, call->deadline, NULL)) != 0) {
				*code = cri_fail(call, GRPC_STATUS_DEADLINE_EXCEEDED, "%s %s: %s %s is still being created",
						 k->rpc, LC_Q(n->name), k->noun, h.id);
				return -1;
			}
		}
		if (create_state(env, k->container, h.id) == 0) {
			log_info("%s %s: identical to %s %s's request: returning it", k->rpc, n->name, k->noun, h.id);
			memcpy(n->id, h.id, sizeof n->id);
			return 0;
		}
		if (attempt >= 3) { /* the holder failed and released the name, four times: give up */
			*code = cri_fail(call, GRPC_STATUS_ABORTED, "%s %s: name held by changing %ss", k->rpc,
					 LC_Q(n->name), k->noun);
			return -1;
		}
	}
}
