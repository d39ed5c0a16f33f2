/* server.c — gRPC plumbing only; see server.h.  No CRI logic lives here. */
#include "server/server.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "cri/events.h"
#include "server/dispatch.h"
#include "server/wirecheck.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/metrics.h"

#define REQUESTS_PER_METHOD 2 /* calls requested ahead per registered path */

/* One registered path: a dispatch entry under one API package. */
struct route {
	const struct dispatch_method *m;
	enum cri_api api;
	void *handle; /* grpc_server_register_method */
	char path[128];
};

enum tag_kind { TAG_NEW_CALL, TAG_NEW_UNKNOWN, TAG_DONE, TAG_CLOSED, TAG_SENT, TAG_SHUTDOWN };

/*
 * A call from request to completion of its final batch.  The struct is the completion tag of the
 * request and of the final batch; &closed_kind is that of the close watch (see watch_close),
 * &sent_kind that of a stream's send batch.  Every tag starts with its enum tag_kind.
 */
struct call {
	enum tag_kind kind;
	enum tag_kind closed_kind; /* TAG_CLOSED */
	enum tag_kind sent_kind;   /* TAG_SENT */
	/* the request / final batch holds one (a subscribed stream: its subscription), a running close
	 * watch one, a stream's send batch one */
	atomic_int refs;
	int watching;              /* a close watch runs: the final batch must not receive the close */
	int cancel_fd;             /* watched calls: eventfd written once the caller is gone; else 0 */
	struct server *srv;
	const struct route *route; /* NULL for unknown methods */
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details; /* unknown methods only */
	grpc_byte_buffer *payload;
	grpc_byte_buffer *response;
	grpc_slice status_details;
	int cancelled;
	struct arena arena;
	int md_sent;               /* initial metadata went out (streams: at subscription) */
	/* DISPATCH_STREAM calls, under srv->sub_lock (see the feed below): */
	int subscribed;            /* on srv->subs: the feed's messages are queued for it */
	int sending;               /* a send batch (initial metadata or a message) is in flight */
	struct call *sub_next;
	grpc_slice *q;             /* queued messages: a ring of srv->queue_max */
	size_t q_head, q_len;
};

struct server {
	struct cri_env *env;
	grpc_server *server;
	grpc_completion_queue *cq;      /* polling: fast calls, unknown methods, shutdown (the poller) */
	grpc_completion_queue *cq_slow; /* non-polling: slow calls (the worker pool) */
	pthread_t poller;
	int poller_started;
	struct route *routes;
	size_t nroutes;
	char socket_path[108];

	pthread_mutex_t lock;   /* guards nthreads, shutdown_done, busy; orders requests against stopping */
	pthread_cond_t cond;
	int nthreads;           /* live worker threads (detached; each decrements it as it ends) */
	int base;               /* workers kept however idle (--workers) */
	int idle_s;             /* seconds an extra worker waits for a call before it ends */
	int shutdown_done;      /* the server's shutdown tag completed */
	int busy;               /* handlers running (lock); server_stop waits for 0 before the queues go */
	atomic_int held;        /* struct calls alive: requests outstanding + calls in the daemon's hands */
	atomic_int idle;        /* workers waiting on the queue */
	atomic_int stopping;    /* no more requests are made (set under lock) */
	struct call shutdown_tag;

	/* Streams: the feed thread sends each event to every subscribed call (see the feed below). */
	pthread_mutex_t sub_lock; /* guards subs, subs_closed and the stream fields of their calls */
	struct call *subs;        /* subscribed calls */
	int subs_closed;          /* server_stop ended the streams: no more subscribe */
	size_t queue_max;         /* [events] queue */
	int64_t feed_cursor;      /* the last event the feed read */
	pthread_t feed;
	int feed_started;
	atomic_int feed_stop;
};

static void *worker(void *arg);

/* An extra worker idle this long ends: 60 s, or $LITECRI_WORKER_IDLE_S (1..3600; tests set it low). */
#define WORKER_IDLE_S 60

/* Once no call is in the daemon's hands at shutdown, what connections closing may still take. */
#define SHUTDOWN_GRACE_MS 200

/*
 * The queue a route's new calls arrive on: slow methods go to the pool, the rest stay.  Every
 * call's own operations (its final batch, its close watch) complete on the polling queue: the
 * poller always answers, so a caller going away is noticed even when every worker is busy.
 */
static grpc_completion_queue *route_cq(const struct server *s, const struct route *r)
{
	return r && r->m->kind == DISPATCH_SLOW ? s->cq_slow : s->cq;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct call *call_new(struct server *s, enum tag_kind kind, const struct route *r)
{
	struct call *c = calloc(1, sizeof *c);
	if (!c) {
		log_error("server: out of memory");
		abort();
	}
	c->kind = kind;
	c->closed_kind = TAG_CLOSED;
	c->sent_kind = TAG_SENT;
	atomic_init(&c->refs, 1);
	c->srv = s;
	atomic_fetch_add(&s->held, 1);
	c->route = r;
	grpc_metadata_array_init(&c->md);
	grpc_call_details_init(&c->details);
	c->status_details = grpc_empty_slice();
	arena_init(&c->arena);
	return c;
}

static void call_free(struct call *c)
{
	struct server *s = c->srv;
	if (atomic_fetch_sub(&s->held, 1) == 1 && atomic_load(&s->stopping)) {
		pthread_mutex_lock(&s->lock); /* server_stop may be waiting for the last one */
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	if (c->call)
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	grpc_call_details_destroy(&c->details);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->response)
		grpc_byte_buffer_destroy(c->response);
	grpc_slice_unref(c->status_details);
	arena_release(&c->arena);
	if (c->cancel_fd > 0)
		close(c->cancel_fd);
	assert(!c->subscribed && c->q_len == 0);
	free(c->q);
	free(c);
}

static void call_unref(struct call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		call_free(c);
}

/* The call whose tag is `tag` and the kind of that tag. */
static struct call *tag_call(void *tag, enum tag_kind *kind)
{
	*kind = *(enum tag_kind *)tag;
	if (*kind == TAG_CLOSED)
		return (struct call *)((char *)tag - offsetof(struct call, closed_kind));
	if (*kind == TAG_SENT)
		return (struct call *)((char *)tag - offsetof(struct call, sent_kind));
	return tag;
}

/*
 * Ask gRPC for the next call on route r (or, r == NULL, on any unregistered path).  Under s->lock:
 * a request is either made before server_stop sets `stopping` (and then fails at the shutdown,
 * coming back as a tag) or not at all — never one that slips into gRPC after its shutdown
 * failed the requests it had, which would stay outstanding.
 */
static void request_call(struct server *s, const struct route *r)
{
	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->stopping)) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	struct call *c = call_new(s, r ? TAG_NEW_CALL : TAG_NEW_UNKNOWN, r);
	grpc_call_error e;
	if (r)
		e = grpc_server_request_registered_call(s->server, r->handle, &c->call, &c->deadline, &c->md,
							&c->payload, s->cq, route_cq(s, r), c);
	else
		e = grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq, c);
	pthread_mutex_unlock(&s->lock);
	if (e != GRPC_CALL_OK) {
		log_warn("server: cannot request a call on %s: grpc_call_error %d", r ? r->path : "(unknown methods)", e);
		call_free(c);
	}
}

/* Send the final batch: initial metadata (unless sent), the response if any, the status; c completes
 * as TAG_DONE. */
static void finish(struct call *c, grpc_status_code code, const char *msg)
{
	grpc_op ops[4];
	memset(ops, 0, sizeof ops);
	size_t n = 0;
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
	}
	if (code == GRPC_STATUS_OK && c->response) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->response;
		n++;
	}
	c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n].data.send_status_from_server.status_details = &c->status_details;
	n++;
	if (!c->watching) {
		ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
		n++;
	}
	c->kind = TAG_DONE;
	grpc_call_error e = grpc_call_start_batch(c->call, ops, n, c, NULL);
	if (e != GRPC_CALL_OK) {
		log_error("server: %s: cannot send the response: grpc_call_error %d",
			  c->route ? c->route->path : "call", e);
		call_unref(c);
	}
}

/*
 * Watch a slow call for its caller going away while the handler runs: a batch of
 * GRPC_OP_RECV_CLOSE_ON_SERVER alone, started before the handler, completes with cancelled = 1
 * when the client cancels, disconnects or its deadline passes (and with 0 after the answer went
 * out).  The handler sees it as c->cancel_fd turning readable (closed_watch).  Without an eventfd
 * the call is simply not watched.
 */
static void watch_close(struct call *c)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd <= 0) { /* 0 would read as "none"; only possible with stdin closed */
		if (fd < 0)
			log_warn("server: %s: eventfd: %s; cancellation by the caller goes unnoticed", c->route->path,
				 strerror(errno));
		else
			close(fd);
		return;
	}
	c->cancel_fd = fd;
	c->watching = 1;
	atomic_fetch_add(&c->refs, 1);
	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	grpc_call_error e = grpc_call_start_batch(c->call, &op, 1, &c->closed_kind, NULL);
	if (e != GRPC_CALL_OK) {
		log_warn("server: %s: cannot watch for cancellation: grpc_call_error %d", c->route->path, e);
		c->watching = 0;
		atomic_fetch_sub(&c->refs, 1);
	}
}

/* The close watch of c completed (on the poller): if the caller went away, tell the handler. */
static void closed_watch(struct call *c, int success)
{
	if (success && c->cancelled) {
		uint64_t one = 1;
		if (write(c->cancel_fd, &one, sizeof one) < 0)
			log_warn("server: %s: signal cancellation: %s", c->route->path, strerror(errno));
		log_debug("rpc %s: the caller went away (cancelled, disconnected or past its deadline)", c->route->path);
	}
	call_unref(c);
}

/* A gRPC deadline (any clock) as a time of CLOCK_REALTIME in ns, the handlers' clock; 0: none. */
static int64_t deadline_ns(gpr_timespec d)
{
	if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) >= 0)
		return 0;
	gpr_timespec left = gpr_time_sub(d, gpr_now(d.clock_type));
	if (left.tv_sec > 3155760000LL) /* beyond a century: none */
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + left.tv_sec * 1000000000 + left.tv_nsec;
	return ns > 0 ? ns : 1;
}

/* Decode, run the handler, encode.  Returns the status; *msg is the status message. */
static grpc_status_code run_handler(struct server *s, struct call *c, const char **msg)
{
	const struct route *r = c->route;
	const struct dispatch_method *m = r->m;
	*msg = NULL;
	if (!c->payload) {
		*msg = arena_printf(&c->arena, "%s: the request carries no %s message", r->path, m->input->name);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	grpc_byte_buffer_reader rd;
	if (!grpc_byte_buffer_reader_init(&rd, c->payload)) {
		*msg = arena_printf(&c->arena, "%s: unreadable request", r->path);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	grpc_slice in = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	ProtobufCMessage *req = protobuf_c_message_unpack(m->input, &c->arena.pb, GRPC_SLICE_LENGTH(in),
							  GRPC_SLICE_START_PTR(in));
	char field[256];
	const char *why = NULL;
	int bad = req && wirecheck_strings(m->input, GRPC_SLICE_START_PTR(in), GRPC_SLICE_LENGTH(in), field,
					   sizeof field, &why) < 0;
	grpc_slice_unref(in);
	if (!req) {
		*msg = arena_printf(&c->arena, "%s: the request is not a valid %s message", r->path, m->input->name);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	if (bad) {
		*msg = arena_printf(&c->arena, "%s: %s %s %s", r->path, field[0] ? "field" : "the request",
				    field[0] ? field : m->input->name, why);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}

	struct cri_call cc = { .arena = &c->arena, .api = r->api, .method = r->path,
			       .deadline = deadline_ns(c->deadline), .cancel_fd = c->cancel_fd };
	ProtobufCMessage *resp = NULL;
	grpc_status_code code = m->fn(s->env, &cc, req, &resp);
	if (code != GRPC_STATUS_OK) {
		*msg = cc.status_msg ? cc.status_msg : "";
		return code;
	}
	if (m->kind == DISPATCH_STREAM) {
		assert(!resp); /* accepted: the feed answers */
		return GRPC_STATUS_OK;
	}
	assert(resp ? resp->descriptor == m->output : cc.raw_response != NULL);
	size_t len = resp ? protobuf_c_message_get_packed_size(resp) : cc.raw_response_len;
	if (len > SERVER_MAX_MESSAGE) {
		free(cc.raw_response);
		*msg = arena_printf(&c->arena, "%s: the response (%zu bytes) exceeds the %d-byte message limit",
				    r->path, len, SERVER_MAX_MESSAGE);
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	}
	grpc_slice out;
	if (resp) {
		out = grpc_slice_malloc(len);
		size_t packed = protobuf_c_message_pack(resp, GRPC_SLICE_START_PTR(out));
		assert(packed == len);
		(void)packed;
	} else if (len) {
		out = grpc_slice_new(cc.raw_response, len, free); /* gRPC owns it now */
	} else {
		free(cc.raw_response);
		out = grpc_empty_slice();
	}
	c->response = grpc_raw_byte_buffer_create(&out, 1);
	grpc_slice_unref(out);
	return GRPC_STATUS_OK;
}

static void subscribe(struct server *s, struct call *c);

static void handle_call(struct server *s, struct call *c)
{
	int64_t t0 = now_ns();
	const char *msg = NULL;
	grpc_status_code code = run_handler(s, c, &msg);
	if (code == GRPC_STATUS_OK && c->route->m->kind == DISPATCH_STREAM) {
		subscribe(s, c);
		return;
	}
	int64_t us = (now_ns() - t0) / 1000;
	size_t nm;
	metrics_rpc((size_t)(c->route->m - dispatch_methods(&nm)), (int)code, us);
	if (code == GRPC_STATUS_OK)
		log_debug("rpc %s OK %lldus", c->route->path, (long long)us);
	else
		log_info("rpc %s failed: status %d: %s (%lldus)", c->route->path, code, msg, (long long)us);
	finish(c, code, msg);
}

/*
 * Streams (DISPATCH_STREAM: GetContainerEvents).  No thread waits on a stream: a subscribed call
 * is a struct call on s->subs with a bounded queue of packed messages.  The feed thread appends
 * each event to every queue and starts a send batch on a call that has none in flight; the poller,
 * when a send batch completes, starts the next one from the queue.  So a client that reads slowly
 * only lengthens its own queue, and one that falls s->queue_max messages behind is cut off
 * (RESOURCE_EXHAUSTED: kubelet then relists).  A stream ends with a status: RESOURCE_EXHAUSTED when
 * its client falls behind, UNAVAILABLE at shutdown; or it ends with its client (cancelled,
 * disconnected: the close watch).  Everything here runs under s->sub_lock.
 */

/* Start a one-op batch on c with `tag` (one of c's tags), holding a reference for it.  0 or -1. */
static int start_op(struct call *c, grpc_op *op, void *tag)
{
	atomic_fetch_add(&c->refs, 1);
	grpc_call_error e = grpc_call_start_batch(c->call, op, 1, tag, NULL);
	if (e == GRPC_CALL_OK)
		return 0;
	log_error("server: %s: cannot start a batch (op %d): grpc_call_error %d", c->route->path, (int)op->op, e);
	atomic_fetch_sub(&c->refs, 1);
	return -1;
}

/*
 * End c's stream with code and msg: off s->subs, its queue dropped.  With no send in flight, a
 * final batch carries the status; else the call is cancelled with it (its client is not reading:
 * the status, a HEADERS frame, is not held behind the unsent data).  Drops the subscription's
 * reference: c may be gone on return.
 */
static void stream_end(struct server *s, struct call *c, grpc_status_code code, const char *msg)
{
	if (!c->subscribed)
		return;
	c->subscribed = 0;
	struct call **pp = &s->subs;
	while (*pp != c)
		pp = &(*pp)->sub_next;
	*pp = c->sub_next;
	for (; c->q_len; c->q_len--, c->q_head = (c->q_head + 1) % s->queue_max)
		grpc_slice_unref(c->q[c->q_head]);
	if (!c->sending) {
		finish(c, code, msg); /* its completion drops the reference */
		return;
	}
	grpc_call_cancel_with_status(c->call, code, msg, NULL);
	call_unref(c);
}

/* Send c's next queued message, if any and none is in flight. */
static void stream_send(struct server *s, struct call *c)
{
	if (!c->subscribed || c->sending || !c->q_len)
		return;
	grpc_slice msg = c->q[c->q_head];
	c->q_head = (c->q_head + 1) % s->queue_max;
	c->q_len--;
	assert(!c->response);
	c->response = grpc_raw_byte_buffer_create(&msg, 1);
	grpc_slice_unref(msg);
	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = c->response;
	c->sending = 1;
	if (start_op(c, &op, &c->sent_kind) < 0) {
		c->sending = 0;
		stream_end(s, c, GRPC_STATUS_INTERNAL, "litecri could not send an event");
	}
}

/*
 * The stream handler accepted c (on the poller): subscribe it.  Its initial metadata goes out at
 * once, so a client knows it is subscribed when they arrive; the close watch tells when it goes.
 */
static void subscribe(struct server *s, struct call *c)
{
	c->q = calloc(s->queue_max, sizeof *c->q);
	if (!c->q) {
		log_error("server: out of memory");
		abort();
	}
	pthread_mutex_lock(&s->sub_lock);
	if (s->subs_closed) {
		pthread_mutex_unlock(&s->sub_lock);
		finish(c, GRPC_STATUS_UNAVAILABLE, "litecri is shutting down");
		return;
	}
	c->subscribed = 1;
	c->sub_next = s->subs;
	s->subs = c;
	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	c->watching = start_op(c, &op, &c->closed_kind) == 0;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	c->md_sent = c->sending = 1;
	if (!c->watching || start_op(c, &op, &c->sent_kind) < 0) {
		c->sending = 0;
		stream_end(s, c, GRPC_STATUS_INTERNAL, "litecri could not start the stream");
	} else {
		log_debug("rpc %s: subscribed", c->route->path);
	}
	pthread_mutex_unlock(&s->sub_lock);
}

/* A send batch of c completed (on the poller): the next message, or the end of a broken call. */
static void stream_sent(struct server *s, struct call *c, int success)
{
	pthread_mutex_lock(&s->sub_lock);
	c->sending = 0;
	if (c->response) {
		grpc_byte_buffer_destroy(c->response);
		c->response = NULL;
	}
	if (!success)
		stream_end(s, c, GRPC_STATUS_CANCELLED, "the stream broke");
	else
		stream_send(s, c);
	pthread_mutex_unlock(&s->sub_lock);
	call_unref(c);
}

/* c's close watch completed (on the poller): its client went away, or its status went out. */
static void stream_closed(struct server *s, struct call *c)
{
	pthread_mutex_lock(&s->sub_lock);
	if (c->subscribed)
		log_debug("rpc %s: the client went away", c->route->path);
	stream_end(s, c, GRPC_STATUS_CANCELLED, "the client went away");
	pthread_mutex_unlock(&s->sub_lock);
	call_unref(c);
}

/* End every stream (the feed cannot go on for any of them). */
static void streams_end_all(struct server *s, grpc_status_code code, const char *msg)
{
	pthread_mutex_lock(&s->sub_lock);
	while (s->subs)
		stream_end(s, s->subs, code, msg);
	pthread_mutex_unlock(&s->sub_lock);
}

/* Queue msg for every subscribed call; a call whose queue is full is cut off instead. */
static void streams_publish(struct server *s, grpc_slice msg)
{
	pthread_mutex_lock(&s->sub_lock);
	for (struct call *c = s->subs, *next; c; c = next) {
		next = c->sub_next;
		if (c->q_len == s->queue_max) {
			log_warn("rpc %s: the client fell %zu events behind: disconnected", c->route->path, s->queue_max);
			stream_end(s, c, GRPC_STATUS_RESOURCE_EXHAUSTED,
				   "the client fell behind the events ([events] queue): disconnected; relist");
			continue;
		}
		c->q[(c->q_head + c->q_len++) % s->queue_max] = grpc_slice_ref(msg);
		stream_send(s, c);
	}
	pthread_mutex_unlock(&s->sub_lock);
}

#define FEED_BATCH 64     /* events read and built at once */
#define FEED_WAIT_MS 1000 /* a wait for events ends this often (server_stop also wakes it) */

/* For cri_events_next: 1 while a call is subscribed (the feed reads and builds events only then). */
static int streams_any(void *arg)
{
	struct server *s = arg;
	pthread_mutex_lock(&s->sub_lock);
	int any = s->subs != NULL;
	pthread_mutex_unlock(&s->sub_lock);
	return any;
}

/* The feed thread: reads the events as they commit (cri_events_next) and publishes each; while no
 * call is subscribed it only follows where they are. */
static void *feed(void *arg)
{
	struct server *s = arg;
	while (!atomic_load(&s->feed_stop)) {
		struct arena a;
		arena_init(&a);
		struct cri_call cc = { .arena = &a, .api = CRI_API_V1, .method = "GetContainerEvents" };
		Runtime__V1__ContainerEventResponse **ev;
		size_t n;
		int64_t lost;
		struct lc_err err = { 0 };
		if (cri_events_next(s->env, &cc, &s->feed_cursor, FEED_WAIT_MS, FEED_BATCH, streams_any, s, &ev, &n, &lost,
				    &err) < 0) {
			log_error("server: events not read: %s (retried in a second)", err.msg);
			arena_release(&a);
			struct timespec t = { .tv_sec = 1 };
			nanosleep(&t, NULL);
			continue;
		}
		if (lost > 0) {
			log_warn("server: %lld events were pruned ([events] retain) before they were sent: ending every "
				 "GetContainerEvents stream", (long long)lost);
			streams_end_all(s, GRPC_STATUS_RESOURCE_EXHAUSTED,
					"events were pruned ([events] retain) before they were sent; relist");
		}
		for (size_t i = 0; i < n; i++) {
			size_t len = protobuf_c_message_get_packed_size(&ev[i]->base);
			if (len > SERVER_MAX_MESSAGE) {
				log_error("server: the event of container %s (%zu bytes) exceeds the %d-byte message limit: "
					  "ending every GetContainerEvents stream", ev[i]->container_id, len, SERVER_MAX_MESSAGE);
				streams_end_all(s, GRPC_STATUS_RESOURCE_EXHAUSTED, "an event exceeds the message limit; relist");
				continue;
			}
			grpc_slice msg = grpc_slice_malloc(len);
			protobuf_c_message_pack(&ev[i]->base, GRPC_SLICE_START_PTR(msg));
			streams_publish(s, msg);
			grpc_slice_unref(msg);
		}
		arena_release(&a);
	}
	cri_thread_end(s->env);
	return NULL;
}

static void handle_unknown(struct call *c)
{
	char *path = grpc_slice_to_c_string(c->details.method);
	char *msg = arena_printf(&c->arena, "unknown method %s", path);
	log_info("rpc %s: UNIMPLEMENTED", path);
	gpr_free(path);
	finish(c, GRPC_STATUS_UNIMPLEMENTED, msg);
}

/* Start one more (detached) worker thread (caller holds s->lock).  Returns 0 or an errno. */
static int spawn_worker_locked(struct server *s)
{
	if (s->nthreads >= SERVER_MAX_WORKERS)
		return EAGAIN;
	pthread_attr_t attr;
	pthread_t t;
	int e = pthread_attr_init(&attr);
	if (e == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&t, &attr, worker, s);
		pthread_attr_destroy(&attr);
	}
	if (e == 0) {
		s->nthreads++;
		atomic_fetch_add(&s->idle, 1);
	}
	return e;
}

/*
 * A worker leaves: at shutdown, or (shrink = 1) after s->idle_s idle seconds when the pool
 * holds more than --workers threads.  Returns 1 if the caller must end its thread now; it must
 * not touch s after that (server_stop may free it as soon as nthreads reaches 0).
 */
static int worker_leave(struct server *s, int shrink)
{
	pthread_mutex_lock(&s->lock);
	if (shrink) {
		/* Leave only while another worker stays idle: a worker taking a call makes idle 0 and
		 * grows the pool (see worker()), so a call is never left without one to take it. */
		int v = atomic_load(&s->idle);
		do {
			if (atomic_load(&s->stopping) || s->nthreads <= s->base || v <= 1) {
				pthread_mutex_unlock(&s->lock);
				return 0;
			}
		} while (!atomic_compare_exchange_weak(&s->idle, &v, v - 1));
	} else {
		atomic_fetch_sub(&s->idle, 1);
	}
	cri_thread_end(s->env); /* before nthreads drops: then server_stop may return and the store close */
	s->nthreads--;
	if (shrink)
		log_debug("server: idle worker ended, pool shrunk to %d", s->nthreads);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 1;
}

/*
 * Run a new call's handler and send its answer, counted in s->busy: the completion queues must
 * outlive every handler (a cancelled call still gets its final batch).
 */
static void serve(struct server *s, struct call *c)
{
	pthread_mutex_lock(&s->lock);
	s->busy++;
	pthread_mutex_unlock(&s->lock);
	if (c->kind == TAG_NEW_CALL)
		handle_call(s, c);
	else
		handle_unknown(c);
	pthread_mutex_lock(&s->lock);
	if (--s->busy == 0)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The polling thread: it alone polls the socket (the slow queue does not poll), and it runs
 * each fast call to completion the moment it arrives — no hand-over to another thread, which
 * costs more than a short handler.  Slow calls reach the pool through cq_slow.
 */
static void *poller(void *arg)
{
	struct server *s = arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		enum tag_kind kind;
		struct call *c = tag_call(ev.tag, &kind);
		if (kind == TAG_SHUTDOWN) {
			pthread_mutex_lock(&s->lock);
			s->shutdown_done = 1;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (kind == TAG_CLOSED) {
			if (c->route && c->route->m->kind == DISPATCH_STREAM)
				stream_closed(s, c);
			else
				closed_watch(c, ev.success);
			continue;
		}
		if (kind == TAG_SENT) {
			stream_sent(s, c, ev.success);
			continue;
		}
		if (kind == TAG_DONE || !ev.success) {
			call_unref(c); /* final batch done (any call's), or a request failed at shutdown */
			continue;
		}
		request_call(s, c->route);
		serve(s, c);
	}
	return NULL;
}

/* A pool thread: slow calls, each on its own thread; the pool grows when every one is busy. */
static void *worker(void *arg)
{
	struct server *s = arg;
	for (;;) {
		gpr_timespec idle_until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
						       gpr_time_from_seconds(s->idle_s, GPR_TIMESPAN));
		grpc_event ev = grpc_completion_queue_next(s->cq_slow, idle_until, NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN) {
			worker_leave(s, 0);
			return NULL;
		}
		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			if (worker_leave(s, 1))
				return NULL;
			continue;
		}
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct call *c = ev.tag;
		assert(c->kind == TAG_NEW_CALL); /* the calls' own operations complete on the poller's queue */
		if (!ev.success) {
			/* A request that ended because the server shuts down. */
			call_free(c);
			continue;
		}
		/* A new call: keep a request outstanding for its path before doing the slow work. */
		request_call(s, c->route);
		watch_close(c);
		if (atomic_fetch_sub(&s->idle, 1) == 1) {
			pthread_mutex_lock(&s->lock);
			if (!atomic_load(&s->stopping)) {
				int e = spawn_worker_locked(s);
				if (e == 0)
					log_debug("server: all workers busy, pool grown to %d", s->nthreads);
				else if (e != EAGAIN)
					log_warn("server: cannot add a worker thread: %s", strerror(e));
			}
			pthread_mutex_unlock(&s->lock);
		}
		serve(s, c);
		atomic_fetch_add(&s->idle, 1);
	}
}

int server_start(struct cri_env *env, struct server **out, struct lc_err *err)
{
	const struct lc_config *cfg = env->cfg;
	if (dispatch_init() < 0)
		return lc_fail(err, 0, "the dispatch table names a method the CRI does not have");
	if (strlen(cfg->socket_path) >= sizeof((struct server *)0)->socket_path)
		return lc_fail(err, ENAMETOOLONG, "socket path %s", cfg->socket_path);
	if (mkdir_parent(cfg->socket_path, 0700, err) < 0)
		return lc_wrap(err, "socket directory");

	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return lc_fail(err, ENOMEM, "server");
	s->env = env;
	strcpy(s->socket_path, cfg->socket_path);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->sub_lock, NULL);
	s->shutdown_tag.kind = TAG_SHUTDOWN;
	s->queue_max = (size_t)cfg->events_queue;
	assert(s->queue_max >= 1);

	grpc_arg args[2] = {
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = SERVER_MAX_MESSAGE },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = SERVER_MAX_MESSAGE },
	};
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	s->server = grpc_server_create(&cargs, NULL);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	grpc_completion_queue_attributes attr = { .version = 1, .cq_completion_type = GRPC_CQ_NEXT,
						  .cq_polling_type = GRPC_CQ_NON_POLLING };
	s->cq_slow = grpc_completion_queue_create(grpc_completion_queue_factory_lookup(&attr), &attr, NULL);
	grpc_server_register_completion_queue(s->server, s->cq_slow, NULL);

	size_t nm;
	const struct dispatch_method *methods = dispatch_methods(&nm);
	s->routes = calloc(2 * nm, sizeof *s->routes);
	if (!s->routes || metrics_rpc_init(dispatch_names(), nm) < 0) {
		lc_fail(err, ENOMEM, "server routes");
		goto fail_early;
	}
	for (size_t i = 0; i < nm; i++) {
		for (int api = CRI_API_V1; api <= CRI_API_V1ALPHA2; api++) {
			if (methods[i].kind == DISPATCH_STREAM && api == CRI_API_V1ALPHA2)
				continue; /* v1alpha2 has no such method: UNIMPLEMENTED, as any unknown one */
			struct route *r = &s->routes[s->nroutes++];
			r->m = &methods[i];
			r->api = api;
			snprintf(r->path, sizeof r->path, "/%s.%s/%s", dispatch_package(api), methods[i].service, methods[i].name);
			r->handle = grpc_server_register_method(s->server, r->path, NULL,
								GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
			if (!r->handle) {
				lc_fail(err, 0, "cannot register method %s", r->path);
				goto fail_early;
			}
		}
	}

	char addr[128];
	snprintf(addr, sizeof addr, "unix:%s", s->socket_path);
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	mode_t old = umask(0117); /* the socket is born 0660: no window with wider access */
	int port = grpc_server_add_http2_port(s->server, addr, creds);
	umask(old);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		lc_fail(err, 0, "cannot listen on %s", addr);
		goto fail_early;
	}
	grpc_server_start(s->server);

	int e = pthread_create(&s->poller, NULL, poller, s);
	if (e != 0) {
		/* Nothing polls: shut down by hand (no call can have arrived without a poller). */
		lc_fail(err, e, "start the polling thread");
		grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
		grpc_server_cancel_all_calls(s->server);
		while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).tag !=
		       &s->shutdown_tag)
			;
		goto fail_early;
	}
	s->poller_started = 1;
	if (cri_events_start(env, &s->feed_cursor, err) < 0 ||
	    ((e = pthread_create(&s->feed, NULL, feed, s)) != 0 && lc_fail(err, e, "start the event feed thread"))) {
		lc_wrap(err, "GetContainerEvents");
		server_stop(s, 0, NULL);
		return -1;
	}
	s->feed_started = 1;
	const char *idle_env = getenv("LITECRI_WORKER_IDLE_S");
	s->idle_s = idle_env && atoi(idle_env) >= 1 && atoi(idle_env) <= 3600 ? atoi(idle_env) : WORKER_IDLE_S;
	pthread_mutex_lock(&s->lock);
	s->base = cfg->workers;
	for (int i = 0; i < cfg->workers && e == 0; i++)
		e = spawn_worker_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (e != 0) {
		lc_fail(err, e, "start worker threads");
		server_stop(s, 0, NULL);
		return -1;
	}
	if (chmod(s->socket_path, 0660) < 0) {
		lc_fail(err, errno, "chmod 0660 %s", s->socket_path);
		server_stop(s, 0, NULL);
		return -1;
	}
	for (size_t i = 0; i < s->nroutes; i++)
		for (int k = 0; k < REQUESTS_PER_METHOD; k++)
			request_call(s, &s->routes[i]);
	for (int k = 0; k < REQUESTS_PER_METHOD; k++)
		request_call(s, NULL);
	log_info("server: listening on %s (%zu methods, %d workers)", cfg->listen, s->nroutes, cfg->workers);
	*out = s;
	return 0;

fail_early:
	grpc_server_destroy(s->server);
	grpc_completion_queue *cqs[2] = { s->cq, s->cq_slow };
	for (int i = 0; i < 2; i++) {
		grpc_completion_queue_shutdown(cqs[i]);
		while (grpc_completion_queue_next(cqs[i], gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(cqs[i]);
	}
	free(s->routes);
	free(s);
	return -1;
}

/*
 * Wait for the shutdown tag until `deadline` (CLOCK_REALTIME; NULL: no limit) or, if until_idle,
 * until no struct call is left (s->held == 0).  1 if the tag came.
 */
static int wait_shutdown(struct server *s, const struct timespec *deadline, int until_idle)
{
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	while (!s->shutdown_done && rc != ETIMEDOUT && !(until_idle && atomic_load(&s->held) == 0))
		rc = deadline ? pthread_cond_timedwait(&s->cond, &s->lock, deadline)
			      : pthread_cond_wait(&s->cond, &s->lock);
	int done = s->shutdown_done;
	pthread_mutex_unlock(&s->lock);
	return done;
}

/* now (CLOCK_REALTIME) + ms, but not after `cap` */
static struct timespec realtime_in(int64_t ms, const struct timespec *cap)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	if (cap && (t.tv_sec > cap->tv_sec || (t.tv_sec == cap->tv_sec && t.tv_nsec > cap->tv_nsec)))
		t = *cap;
	return t;
}

void server_stop(struct server *s, int timeout_s, void (*on_timeout)(void))
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock); /* no request_call is half-way through from here on */
	atomic_store(&s->stopping, 1);
	pthread_mutex_unlock(&s->lock);
	assert(s->poller_started); /* it takes the shutdown tag */
	int64_t t0 = now_ns();
	grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
	/* Streams never end by themselves: end them now, each with a status. */
	if (s->feed_started) {
		atomic_store(&s->feed_stop, 1);
		cri_events_wake(s->env);
		pthread_join(s->feed, NULL);
	}
	pthread_mutex_lock(&s->sub_lock);
	s->subs_closed = 1;
	pthread_mutex_unlock(&s->sub_lock);
	streams_end_all(s, GRPC_STATUS_UNAVAILABLE, "litecri is shutting down");
	struct timespec dl = realtime_in((int64_t)timeout_s * 1000, NULL);
	if (!wait_shutdown(s, &dl, 1) && atomic_load(&s->held) == 0) {
		/*
		 * Every call gRPC handed over is answered and every request came back (the shutdown
		 * failed them), so no call can reach a handler any more.  What the shutdown still waits
		 * for is connections closing (a moment) or a call gRPC accepted but never handed over:
		 * gRPC 1.51 can queue a call that arrives just as the shutdown begins after the shutdown
		 * cleared its queue of waiting calls (a race in its request matcher), and then waits
		 * for that call until its connection closes.  Close the connections: such a call gets
		 * UNAVAILABLE now, not at the timeout.
		 */
		struct timespec grace = realtime_in(SHUTDOWN_GRACE_MS, &dl);
		if (!wait_shutdown(s, &grace, 0)) {
			log_info("server: shutdown: every call handed over is answered, yet gRPC holds calls it never "
				 "handed over after %lld ms; closing the connections (those calls get UNAVAILABLE)",
				 (long long)((now_ns() - t0) / 1000000));
			grpc_server_cancel_all_calls(s->server);
			wait_shutdown(s, NULL, 0);
		}
	}
	if (!wait_shutdown(s, &dl, 0)) {
		log_warn("server: in-flight calls did not finish within %ds; cancelling them", timeout_s);
		if (on_timeout)
			on_timeout(); /* make the handlers still at work give up */
		grpc_server_cancel_all_calls(s->server);
		wait_shutdown(s, NULL, 0);
	}
	/* The shutdown tag comes once calls are cancelled, handlers may still be at work: wait. */
	pthread_mutex_lock(&s->lock);
	while (s->busy > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	grpc_server_destroy(s->server);
	grpc_completion_queue_shutdown(s->cq);
	grpc_completion_queue_shutdown(s->cq_slow);
	pthread_join(s->poller, NULL);
	pthread_mutex_lock(&s->lock); /* no more workers are spawned: stopping is set */
	while (s->nthreads > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	grpc_completion_queue_destroy(s->cq);
	grpc_completion_queue_destroy(s->cq_slow);
	if (unlink(s->socket_path) < 0 && errno != ENOENT)
		log_warn("server: remove socket %s: %s", s->socket_path, strerror(errno));
	log_info("server: stopped; socket %s removed", s->socket_path);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->sub_lock);
	free(s->routes);
	free(s);
}
