/*
 * server.h — the gRPC (C core) server: registered methods from the dispatch table,
 * UNIMPLEMENTED for everything else.
 *
 * Two completion queues.  One polling thread owns the socket and runs every fast method
 * (dispatch.h: DISPATCH_FAST — database reads, small answers) start to finish the moment it arrives,
 * with no hand-over to another thread.  Slow methods (DISPATCH_SLOW: pulls, removals, runtime work)
 * are requested on a non-polling queue served by a pool of worker threads; a call occupies one
 * worker, and when every worker is busy the pool grows (up to SERVER_MAX_WORKERS), so a slow
 * call never holds up the others, fast or slow; workers beyond --workers end after a minute idle.
 *
 * Server-streaming methods (dispatch.h: DISPATCH_STREAM, GetContainerEvents) hold no thread: a
 * subscribed call has a bounded queue ([events] queue) that one feed thread fills with each event
 * (cri/events.h) and the poller drains, one send batch at a time; a client whose queue is full is
 * cut off (RESOURCE_EXHAUSTED), and server_stop ends every stream (UNAVAILABLE).  See docs/events.md.
 */
#ifndef LITECRI_SERVER_SERVER_H
#define LITECRI_SERVER_SERVER_H

#include "cri/cri.h"
#include "util/err.h"

#define SERVER_MAX_MESSAGE (16 * 1024 * 1024) /* send and receive limit, as kubelet's */
#define SERVER_MAX_WORKERS 256

struct server;

/*
 * Listen on env->cfg->socket_path (mode 0660; the parent directory is created 0700 if missing)
 * and start serving.  grpc_init() must have been called.  The caller must already own the
 * socket path (unix_socket_claim).
 */
int server_start(struct cri_env *env, struct server **out, struct lc_err *err);

/*
 * Stop accepting calls, give in-flight calls up to `timeout_s` seconds to finish, then call
 * on_timeout (if not NULL: it must make running handlers return soon, e.g. abort transfers) and
 * cancel what is left; wait for the handlers, stop the threads and free everything.  The socket
 * file is removed.  Only calls handed to a handler are waited for: once they are all answered,
 * calls gRPC still holds (accepted, never handed over) are cancelled at once (UNAVAILABLE).
 */
void server_stop(struct server *s, int timeout_s, void (*on_timeout)(void));

#endif
