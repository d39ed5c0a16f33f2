/*
 * cri_client.h — a small CRI client over the gRPC C core: unary calls to any CRI endpoint.
 * Used by the integration tests and by bench/litecri-bench.
 *
 * A client is one channel (one connection) plus a completion queue; use one client per thread.
 * grpc_init() must have been called.
 */
#ifndef LITECRI_CLIENT_CRI_CLIENT_H
#define LITECRI_CLIENT_CRI_CLIENT_H

#include <stddef.h>
#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

struct cri_client;

/* Endpoint: "unix:///path", "unix:/path" or "/path".  NULL on allocation failure. */
struct cri_client *cri_client_new(const char *endpoint);
void cri_client_free(struct cri_client *c);

/*
 * One unary call of `method` (full path, e.g. "/runtime.v1.RuntimeService/Version") with the
 * request bytes req[0..len).  On GRPC_STATUS_OK, *resp and *resp_len hold the response bytes
 * (malloc'ed; free them).  *details, if details != NULL, gets the status message (malloc'ed).
 * timeout_ms <= 0 means no deadline.
 */
grpc_status_code cri_client_call_raw(struct cri_client *c, const char *method,
				     const void *req, size_t len, void **resp, size_t *resp_len,
				     char **details, int timeout_ms);

/*
 * Typed unary call: packs req, unpacks the response as `resp_desc` into *resp (free it with
 * protobuf_c_message_free_unpacked(*resp, NULL)).  A response that does not decode gives
 * GRPC_STATUS_INTERNAL with a message saying so.
 */
grpc_status_code cri_client_call(struct cri_client *c, const char *method, const ProtobufCMessage *req,
				 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
				 char **details, int timeout_ms);

/*
 * A server-streaming call (GetContainerEvents).  cri_client_stream_open sends the request and
 * waits up to timeout_ms for the server's initial metadata (a server that subscribes the call sends
 * them at once): the stream, or NULL when none came (then *code and *details, if not NULL, say why;
 * a call that failed at once also gives NULL with its status).  The client must outlive it.
 */
struct cri_stream;
struct cri_stream *cri_client_stream_open(struct cri_client *c, const char *method, const void *req, size_t len,
					  int timeout_ms, grpc_status_code *code, char **details);

/*
 * The next message: 1 with *msg, *len (malloc'ed); 0 when the stream ended, *code and *details
 * (malloc'ed, if details != NULL) its status; -1 when nothing came within timeout_ms (the read
 * stays pending: the next call goes on with it).
 */
int cri_stream_next(struct cri_stream *s, void **msg, size_t *len, int timeout_ms, grpc_status_code *code,
		    char **details);

/* Cancel the stream if it is still open, and free it. */
void cri_stream_free(struct cri_stream *s);

/* Name of a status code, e.g. "UNIMPLEMENTED". */
const char *cri_status_name(grpc_status_code code);

#endif
