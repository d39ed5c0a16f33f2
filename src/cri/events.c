/* events.c — see events.h. */
#include "cri/events.h"

#include <assert.h>
#include <errno.h>

#include "cri/container.h"
#include "cri/sandbox.h"
#include "store/events.h"
#include "store/pods.h"
#include "store/store.h"
#include "util/log.h"

_Static_assert(RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT == EVENT_CREATED &&
		       RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT == EVENT_STARTED &&
		       RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT == EVENT_STOPPED &&
		       RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT == EVENT_DELETED,
	       "events.kind is the CRI ContainerEventType");

grpc_status_code cri_get_container_events(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp)
{
	(void)env;
	(void)call;
	(void)req; /* GetEventsRequest has no fields */
	*resp = NULL;
	return GRPC_STATUS_OK;
}

int cri_events_start(struct cri_env *env, int64_t *cursor, struct lc_err *err)
{
	return store_events_last(env->store, cursor, err);
}

/* The response of event e: the pod's and its containers' statuses as they are now. */
static Runtime__V1__ContainerEventResponse *event_response(struct cri_env *env, struct cri_call *call,
							   const struct event_row *e, struct lc_err *err)
{
	Runtime__V1__ContainerEventResponse *r = cri_new(call, &runtime__v1__container_event_response__descriptor);
	r->container_id = arena_strdup(call->arena, e->container_id);
	r->container_event_type = (Runtime__V1__ContainerEventType)e->kind;
	r->created_at = e->at;
	struct sandbox_row sb;
	if (store_sandbox_get(env->store, e->sandbox_id, call->arena, &sb, err) == 0) {
		if (!sb.creating && !(r->pod_sandbox_status = sandbox_status_of(call, &sb)))
			log_error("sandbox %s: the recorded config does not decode; event %lld without its status",
				  sb.id, (long long)e->seq);
	} else if (err->errnum != ENOENT) {
		return NULL;
	}
	struct obj_filter f = { .state = -1, .sandbox_id_prefix = e->sandbox_id };
	struct container_row *rows;
	size_t n;
	if (store_container_list(env->store, &f, call->arena, &rows, &n, err) < 0)
		return NULL;
	r->containers_statuses = arena_alloc(call->arena, (n + 1) * sizeof *r->containers_statuses);
	for (size_t i = 0; i < n; i++) {
		Runtime__V1__ContainerStatus *st = container_status_of(call, &rows[i]);
		if (st)
			r->containers_statuses[r->n_containers_statuses++] = st;
		else
			log_error("container %s: the recorded config does not decode; left out of event %lld", rows[i].id,
				  (long long)e->seq);
	}
	return r;
}

int cri_events_next(struct cri_env *env, struct cri_call *call, int64_t *cursor, int timeout_ms, size_t max,
		    int (*readers)(void *arg), void *arg, Runtime__V1__ContainerEventResponse ***out, size_t *n,
		    int64_t *lost, struct lc_err *err)
{
	*out = NULL;
	*n = 0;
	*lost = 0;
	uint64_t gen = store_gen(env->store); /* before any read: a commit after it ends the wait */
	if (!readers(arg)) {
		int64_t last;
		if (store_events_last(env->store, &last, err) < 0)
			return -1;
		/* asked after the read: one who subscribes from here on missed none of the rows up to last */
		if (!readers(arg)) {
			assert(last >= *cursor);
			if (last > *cursor)
				log_debug("events: %lld committed with no client subscribed: not read (up to %lld)",
					  (long long)(last - *cursor), (long long)last);
			*cursor = last;
			store_gen_wait(env->store, gen, timeout_ms);
			return 0;
		}
	}
	struct event_row *rows = NULL;
	size_t nrows = 0;
	if (store_events_after(env->store, *cursor, max, call->arena, &rows, &nrows, err) < 0)
		return -1;
	if (nrows == 0) {
		store_gen_wait(env->store, gen, timeout_ms);
		return 0;
	}
	/* seq is gap-free in commit order: a jump is rows pruned before this read */
	int64_t skipped = rows[0].seq - *cursor - 1;
	Runtime__V1__ContainerEventResponse **v = arena_alloc(call->arena, nrows * sizeof *v);
	for (size_t i = 0; i < nrows; i++)
		if (!(v[i] = event_response(env, call, &rows[i], err)))
			return lc_wrap(err, "event %lld", (long long)rows[i].seq);
	*cursor = rows[nrows - 1].seq;
	*lost = skipped;
	*out = v;
	*n = nrows;
	return 0;
}

void cri_events_wake(struct cri_env *env)
{
	store_notify(env->store);
}
