/*
 * events.h — GetContainerEvents: the container event history (store/events.h) as the CRI's
 * ContainerEventResponses, in commit order.
 *
 * The server streams them (server.c): its feed thread takes each batch cri_events_next returns and
 * sends it to every subscribed call.  A response carries the state at the time it is built, not at
 * the event: the pod's sandbox status (none once the pod is removed) and the statuses of all its
 * containers, built by the code PodSandboxStatus and ContainerStatus use.
 */
#ifndef LITECRI_CRI_EVENTS_H
#define LITECRI_CRI_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "cri/cri.h"
#include "util/err.h"

/* GetContainerEvents as a handler: it accepts the (empty) request; the server subscribes the call. */
grpc_status_code cri_get_container_events(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp);

/* Where a feed starts: the last event written so far (later ones are new). */
int cri_events_start(struct cri_env *env, int64_t *cursor, struct lc_err *err);

/*
 * The responses of up to `max` events after *cursor, built in call's arena; *cursor moves past
 * them.  *lost = events pruned (the [events] retain bound passed them) before they were read:
 * skipped, not in *out.  With none to send (*n = 0) it waits up to timeout_ms for the next commit
 * (cri_events_wake ends the wait early) and returns: the caller asks again.
 *
 * While readers(arg) is 0 (no client subscribed), nothing is read or built: *cursor moves to the
 * last event written, and it waits as above.  readers is asked after that event was read, so a
 * client for which it answers 1 gets every event committed after it subscribed.
 * -1 when the database fails (*cursor stays: retry later).
 */
int cri_events_next(struct cri_env *env, struct cri_call *call, int64_t *cursor, int timeout_ms, size_t max,
		    int (*readers)(void *arg), void *arg, Runtime__V1__ContainerEventResponse ***out, size_t *n,
		    int64_t *lost, struct lc_err *err);

/* End a cri_events_next wait now (at shutdown). */
void cri_events_wake(struct cri_env *env);

#endif
