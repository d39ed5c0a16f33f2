/*
 * cri.h — what every CRI handler gets and returns.  One file per CRI area implements handlers
 * (runtime_info.c: Version/Status/RuntimeConfig; sandbox.c: pod sandboxes; container.c: containers;
 * image.c: images; lifecycle.c and recover.c: what sandboxes and containers share);
 * src/server/dispatch.c maps method names to them.
 *
 * A handler decodes nothing and encodes nothing: it receives the decoded request, builds the
 * response message (allocating from call->arena only) and returns a gRPC status code.  On a
 * non-OK status it sets call->status_msg (cri_fail) naming the object concerned and returns no
 * response.
 */
#ifndef LITECRI_CRI_CRI_H
#define LITECRI_CRI_CRI_H

#include <stdint.h>

#include <grpc/status.h>
#include <jansson.h>

#include "api.pb-c.h"
#include "util/arena.h"
#include "util/config.h"

struct store;
struct images;
struct lifecycle;
struct stream_server;

/* Process-wide state shared by all handlers (read-only after startup, or internally locked). */
struct cri_env {
	const struct lc_config *cfg;
	struct store *store;
	struct images *images; /* the image service (src/image/images.h) */
	struct lifecycle *lc;  /* pods and containers (src/cri/lifecycle.h) */
	struct net *net;       /* pod networking (src/net/net.h); NULL in unit tests without one */
	struct stream_server *stream; /* Exec/Attach/PortForward sessions (src/stream/); NULL: none */
	int schema_version;
};

enum cri_api { CRI_API_V1 = 0, CRI_API_V1ALPHA2 = 1 };

struct cri_call {
	struct arena *arena;  /* request, response and strings: freed when the call ends */
	enum cri_api api;     /* which package the method was called under */
	const char *method;   /* full path, for messages */
	char *status_msg;     /* set by cri_fail */
	int64_t deadline;     /* the caller's gRPC deadline, CLOCK_REALTIME ns (cri_now's clock); 0: none */
	/*
	 * > 0: a descriptor that turns readable (and stays so) once the caller is gone — it cancelled,
	 * disconnected or its deadline passed — for a handler's waits to poll (proc_opts.cancel_fd).
	 * 0: not watched (fast methods, unit tests).  Owned by the server.
	 */
	int cancel_fd;
	/* A handler that answers OK with *resp NULL sets this: the response message already encoded
	 * (cri/list.c splices lists), malloc'd; the server sends it as it is, without a copy, and
	 * frees it. */
	void *raw_response;
	size_t raw_response_len;
};

typedef grpc_status_code (*cri_handler)(struct cri_env *env, struct cri_call *call,
					const ProtobufCMessage *req, ProtobufCMessage **resp);

/* Nanoseconds since the epoch (CLOCK_REALTIME: the clock of struct cri_call.deadline). */
int64_t cri_now(void);

/* The status for a call whose caller went away: DEADLINE_EXCEEDED once its deadline passed (or is
 * at most 100 ms away: the caller's own copy of it runs that much ahead), else CANCELLED. */
grpc_status_code cri_gone_code(const struct cri_call *call);

/*
 * The one mapping from an error class (struct lc_err.errnum, see util/err.h) to a gRPC status,
 * for every handler.  cri_work_code is for the failure of work on an object the call already
 * holds (creating, starting, stopping, removing it): a file or runtime object missing then
 * (ENOENT) is litecri's trouble, INTERNAL, not the caller's NOT_FOUND.
 */
grpc_status_code cri_code(int errnum);
grpc_status_code cri_work_code(int errnum);

/* Set call's status message (formatted, in the arena) and return code. */
grpc_status_code cri_fail(struct cri_call *call, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Encode o compactly, keys sorted, as a string in the call's arena (for the `verbose` info maps).
 * o is a new reference and is released here; NULL when o is NULL or cannot be encoded.
 */
char *cri_json(struct cri_call *call, json_t *o);

/* A map<string,string> entry of any message: every generated entry struct has this layout. */
struct cri_map_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

/*
 * Copy n map entries (of any entry type) into new entries of descriptor d, for a response's map
 * field; strings are shared, not copied (both live in the call's arena or longer).
 */
void *cri_map_copy(struct cri_call *call, const ProtobufCMessageDescriptor *d, void *const *src, size_t n);

/*
 * A thread that ran handlers ends: release what it holds per thread (its database connection).
 * Called by the server's pool workers as they leave.
 */
void cri_thread_end(struct cri_env *env);

/* Allocate and initialise a message of the given descriptor in the call's arena. */
void *cri_new(struct cri_call *call, const ProtobufCMessageDescriptor *d);

#endif
