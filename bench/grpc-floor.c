/*
 * grpc-floor.c — the floor under litecri's fast calls: the least a gRPC C-core server on this
 * machine can do to answer `/runtime.v1.RuntimeService/Version` (and the v1alpha2 path) over a
 * unix socket.  One thread, one completion queue, registered methods with the payload read at
 * arrival (what litecri's server does), and a constant response packed once.  No database, no
 * arena, no logging.  litecri-bench --rpc Version against it gives the floor; docs/bench.md puts
 * litecri's Version and ContainerStatus beside it.
 *
 *   grpc-floor unix:///tmp/floor.sock        (runs until SIGTERM or SIGINT)
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.pb-c.h"

#define INFLIGHT 8 /* calls requested ahead per path */

struct call {
	void *method;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	int sent; /* 0: the tag is the request; 1: the tag is the answer's batch */
	grpc_slice details;
	grpc_metadata_array trailing;
};

static grpc_server *server;
static grpc_completion_queue *cq;
static grpc_byte_buffer *answer_bytes;

static void request(void *method)
{
	struct call *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->method = method;
	grpc_metadata_array_init(&c->md);
	if (grpc_server_request_registered_call(server, method, &c->call, &c->deadline, &c->md, &c->payload, cq, cq,
						c) != GRPC_CALL_OK)
		abort();
}

static void answer(struct call *c)
{
	grpc_op ops[3];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = answer_bytes;
	ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
	c->details = grpc_empty_slice();
	ops[2].data.send_status_from_server.status_details = &c->details;
	c->sent = 1;
	if (grpc_call_start_batch(c->call, ops, 3, c, NULL) != GRPC_CALL_OK)
		abort();
}

static void done(struct call *c)
{
	if (c->call) /* NULL: a request the shutdown failed */
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	free(c);
}

int main(int argc, char **argv)
{
	if (argc != 2 || strncmp(argv[1], "unix:", 5) != 0) {
		fprintf(stderr, "usage: grpc-floor unix:///path/to.sock\n");
		return 2;
	}
	/* blocked in every thread (gRPC's inherit the mask), taken with sigtimedwait between events */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	grpc_init();
	Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
	v.version = "0.1.0";
	v.runtime_name = "grpc-floor";
	v.runtime_version = "0.1.0";
	v.runtime_api_version = "v1";
	size_t len = runtime__v1__version_response__get_packed_size(&v);
	grpc_slice s = grpc_slice_malloc(len);
	runtime__v1__version_response__pack(&v, GRPC_SLICE_START_PTR(s));
	answer_bytes = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);

	server = grpc_server_create(NULL, NULL);
	cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(server, cq, NULL);
	void *m[2] = {
		grpc_server_register_method(server, "/runtime.v1.RuntimeService/Version", NULL,
					    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0),
		grpc_server_register_method(server, "/runtime.v1alpha2.RuntimeService/Version", NULL,
					    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0),
	};
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	if (!m[0] || !m[1] || grpc_server_add_http2_port(server, argv[1], creds) == 0) {
		fprintf(stderr, "grpc-floor: cannot listen on %s\n", argv[1]);
		return 1;
	}
	grpc_server_credentials_release(creds);
	grpc_server_start(server);
	for (int i = 0; i < INFLIGHT; i++) {
		request(m[0]);
		request(m[1]);
	}
	fprintf(stderr, "grpc-floor: serving %s\n", argv[1]);
	const struct timespec now = { 0, 0 };
	while (sigtimedwait(&sigs, NULL, &now) < 0) {
		grpc_event ev = grpc_completion_queue_next(cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
									   gpr_time_from_millis(200, GPR_TIMESPAN)),
							   NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct call *c = ev.tag;
		if (c->sent) {
			done(c);
		} else if (ev.success) {
			request(c->method); /* the next one first: keep INFLIGHT requested */
			answer(c);
		} else {
			done(c);
		}
	}
	grpc_server_shutdown_and_notify(server, cq, NULL);
	grpc_server_cancel_all_calls(server);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_OP_COMPLETE && !ev.tag)
			break;
		if (ev.type == GRPC_OP_COMPLETE)
			done(ev.tag);
	}
	grpc_server_destroy(server);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_byte_buffer_destroy(answer_bytes);
	grpc_shutdown();
	return 0;
}
