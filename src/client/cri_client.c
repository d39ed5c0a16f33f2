/* cri_client.c — see cri_client.h. */
#include "client/cri_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

struct cri_client {
	grpc_channel *channel;
	grpc_completion_queue *cq;
};

struct cri_client *cri_client_new(const char *endpoint)
{
	struct cri_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	char target[4200];
	if (endpoint[0] == '/')
		snprintf(target, sizeof target, "unix://%s", endpoint);
	else
		snprintf(target, sizeof target, "%s", endpoint);
	grpc_arg args[2] = {
		/* kubelet's limits: 16 MiB received; sending is left unlimited so that the server's
		 * own limit is what a too-large request meets. */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = 16 * 1024 * 1024 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = -1 },
	};
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	c->channel = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (!c->channel || !c->cq) {
		cri_client_free(c);
		return NULL;
	}
	return c;
}

void cri_client_free(struct cri_client *c)
{
	if (!c)
		return;
	if (c->channel)
		grpc_channel_destroy(c->channel);
	if (c->cq) {
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(c->cq);
	}
	free(c);
}

static char *dupmsg(const char *s)
{
	char *r = strdup(s);
	if (!r)
		abort();
	return r;
}

grpc_status_code cri_client_call_raw(struct cri_client *c, const char *method,
				     const void *req, size_t len, void **resp, size_t *resp_len,
				     char **details, int timeout_ms)
{
	*resp = NULL;
	*resp_len = 0;
	if (details)
		*details = NULL;
	gpr_timespec deadline = timeout_ms > 0
		? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
		: gpr_inf_future(GPR_CLOCK_REALTIME);
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, mslice,
						   NULL, deadline, NULL);
	grpc_slice_unref(mslice);
	if (!call) {
		if (details)
			*details = dupmsg("cannot create the call");
		return GRPC_STATUS_INTERNAL;
	}
	grpc_slice body = grpc_slice_from_copied_buffer(req, len);
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
	grpc_slice_unref(body);
	grpc_byte_buffer *recv = NULL;
	grpc_metadata_array initial_md, trailing_md;
	grpc_metadata_array_init(&initial_md);
	grpc_metadata_array_init(&trailing_md);
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice status_details = grpc_empty_slice();

	grpc_op ops[6];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &status_details;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;

	int tag;
	grpc_call_error e = grpc_call_start_batch(call, ops, 6, &tag, NULL);
	if (e == GRPC_CALL_OK) {
		grpc_event ev = grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE) {
			status = GRPC_STATUS_INTERNAL;
			grpc_slice_unref(status_details);
			status_details = grpc_slice_from_copied_string("completion queue failed");
		}
	} else {
		status = GRPC_STATUS_INTERNAL;
		grpc_slice_unref(status_details);
		status_details = grpc_slice_from_copied_string("cannot start the call");
	}

	if (status == GRPC_STATUS_OK) {
		if (!recv) {
			status = GRPC_STATUS_INTERNAL;
			grpc_slice_unref(status_details);
			status_details = grpc_slice_from_copied_string("OK status without a response message");
		} else {
			grpc_byte_buffer_reader rd;
			grpc_byte_buffer_reader_init(&rd, recv);
			grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
			grpc_byte_buffer_reader_destroy(&rd);
			*resp_len = GRPC_SLICE_LENGTH(all);
			*resp = malloc(*resp_len ? *resp_len : 1);
			if (!*resp)
				abort();
			memcpy(*resp, GRPC_SLICE_START_PTR(all), *resp_len);
			grpc_slice_unref(all);
		}
	}
	if (details) {
		char *s = grpc_slice_to_c_string(status_details);
		*details = dupmsg(s);
		gpr_free(s);
	}
	grpc_slice_unref(status_details);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_metadata_array_destroy(&initial_md);
	grpc_metadata_array_destroy(&trailing_md);
	grpc_call_unref(call);
	return status;
}

grpc_status_code cri_client_call(struct cri_client *c, const char *method, const ProtobufCMessage *req,
				 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
				 char **details, int timeout_ms)
{
	*resp = NULL;
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	protobuf_c_message_pack(req, buf);
	void *out = NULL;
	size_t out_len = 0;
	grpc_status_code st = cri_client_call_raw(c, method, buf, len, &out, &out_len, details, timeout_ms);
	free(buf);
	if (st != GRPC_STATUS_OK)
		return st;
	*resp = protobuf_c_message_unpack(resp_desc, NULL, out_len, out);
	free(out);
	if (!*resp) {
		if (details) {
			free(*details);
			*details = dupmsg("the response does not decode as the expected message");
		}
		return GRPC_STATUS_INTERNAL;
	}
	return GRPC_STATUS_OK;
}

struct cri_stream {
	struct cri_client *c;
	grpc_call *call;
	grpc_byte_buffer *send, *recv;
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status;
	grpc_slice status_details;
	int tag_send, tag_md, tag_msg, tag_status; /* their addresses are the batches' tags */
	int send_pending, md_pending, msg_pending, status_pending;
};

static gpr_timespec deadline_in(int timeout_ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* Wait for the batch of `tag` until `until`: 1 when it completed. */
static int stream_pluck(struct cri_stream *s, int *tag, int *pending, gpr_timespec until)
{
	if (!*pending)
		return 1;
	grpc_event ev = grpc_completion_queue_pluck(s->c->cq, tag, until, NULL);
	if (ev.type != GRPC_OP_COMPLETE)
		return 0;
	*pending = 0;
	return 1;
}

static int stream_start(struct cri_stream *s, grpc_op *ops, size_t n, int *tag, int *pending)
{
	if (grpc_call_start_batch(s->call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return -1;
	*pending = 1;
	return 0;
}

/* The status, once the call ended (waits for it). */
static void stream_status(struct cri_stream *s, grpc_status_code *code, char **details)
{
	stream_pluck(s, &s->tag_status, &s->status_pending, gpr_inf_future(GPR_CLOCK_REALTIME));
	if (code)
		*code = s->status;
	if (details) {
		char *t = grpc_slice_to_c_string(s->status_details);
		*details = dupmsg(t);
		gpr_free(t);
	}
}

struct cri_stream *cri_client_stream_open(struct cri_client *c, const char *method, const void *req, size_t len,
					  int timeout_ms, grpc_status_code *code, char **details)
{
	if (details)
		*details = NULL;
	struct cri_stream *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->c = c;
	s->status = GRPC_STATUS_UNKNOWN;
	s->status_details = grpc_empty_slice();
	grpc_metadata_array_init(&s->initial_md);
	grpc_metadata_array_init(&s->trailing_md);
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	s->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, mslice, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_slice_unref(mslice);
	if (!s->call) {
		if (code)
			*code = GRPC_STATUS_INTERNAL;
		if (details)
			*details = dupmsg("cannot create the call");
		cri_stream_free(s);
		return NULL;
	}
	grpc_slice body = grpc_slice_from_copied_buffer(req, len);
	s->send = grpc_raw_byte_buffer_create(&body, 1);
	grpc_slice_unref(body);
	grpc_op ops[3];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = s->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	grpc_op md;
	memset(&md, 0, sizeof md);
	md.op = GRPC_OP_RECV_INITIAL_METADATA;
	md.data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
	grpc_op st;
	memset(&st, 0, sizeof st);
	st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	st.data.recv_status_on_client.status = &s->status;
	st.data.recv_status_on_client.status_details = &s->status_details;
	st.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
	if (stream_start(s, ops, 3, &s->tag_send, &s->send_pending) < 0 ||
	    stream_start(s, &md, 1, &s->tag_md, &s->md_pending) < 0 ||
	    stream_start(s, &st, 1, &s->tag_status, &s->status_pending) < 0) {
		if (code)
			*code = GRPC_STATUS_INTERNAL;
		if (details)
			*details = dupmsg("cannot start the call");
		cri_stream_free(s);
		return NULL;
	}
	gpr_timespec until = deadline_in(timeout_ms);
	int got = stream_pluck(s, &s->tag_md, &s->md_pending, until);
	/* A call that failed at once gets its status with (empty) initial metadata: tell them apart. */
	if (got && stream_pluck(s, &s->tag_status, &s->status_pending, gpr_now(GPR_CLOCK_REALTIME))) {
		stream_status(s, code, details);
		cri_stream_free(s);
		return NULL;
	}
	if (!got) {
		if (code)
			*code = GRPC_STATUS_DEADLINE_EXCEEDED;
		if (details)
			*details = dupmsg("no initial metadata within the timeout");
		cri_stream_free(s);
		return NULL;
	}
	return s;
}

int cri_stream_next(struct cri_stream *s, void **msg, size_t *len, int timeout_ms, grpc_status_code *code,
		    char **details)
{
	*msg = NULL;
	*len = 0;
	if (details)
		*details = NULL;
	if (!s->msg_pending) {
		grpc_op op;
		memset(&op, 0, sizeof op);
		op.op = GRPC_OP_RECV_MESSAGE;
		op.data.recv_message.recv_message = &s->recv;
		if (stream_start(s, &op, 1, &s->tag_msg, &s->msg_pending) < 0) {
			stream_status(s, code, details);
			return 0;
		}
	}
	if (!stream_pluck(s, &s->tag_msg, &s->msg_pending, deadline_in(timeout_ms)))
		return -1;
	if (!s->recv) {
		stream_status(s, code, details);
		return 0;
	}
	grpc_byte_buffer_reader rd;
	grpc_byte_buffer_reader_init(&rd, s->recv);
	grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	grpc_byte_buffer_destroy(s->recv);
	s->recv = NULL;
	*len = GRPC_SLICE_LENGTH(all);
	*msg = malloc(*len ? *len : 1);
	if (!*msg)
		abort();
	memcpy(*msg, GRPC_SLICE_START_PTR(all), *len);
	grpc_slice_unref(all);
	return 1;
}

void cri_stream_free(struct cri_stream *s)
{
	if (!s)
		return;
	if (s->call) {
		if (s->status_pending)
			grpc_call_cancel(s->call, NULL);
		gpr_timespec forever = gpr_inf_future(GPR_CLOCK_REALTIME);
		stream_pluck(s, &s->tag_send, &s->send_pending, forever);
		stream_pluck(s, &s->tag_md, &s->md_pending, forever);
		stream_pluck(s, &s->tag_msg, &s->msg_pending, forever);
		stream_pluck(s, &s->tag_status, &s->status_pending, forever);
		grpc_call_unref(s->call);
	}
	if (s->send)
		grpc_byte_buffer_destroy(s->send);
	if (s->recv)
		grpc_byte_buffer_destroy(s->recv);
	grpc_metadata_array_destroy(&s->initial_md);
	grpc_metadata_array_destroy(&s->trailing_md);
	grpc_slice_unref(s->status_details);
	free(s);
}

const char *cri_status_name(grpc_status_code code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};
	return (unsigned)code < sizeof names / sizeof names[0] ? names[code] : "?";
}
