/* cri.c — helpers shared by the CRI handlers; see cri.h. */
#include "cri/cri.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store/store.h"

grpc_status_code cri_fail(struct cri_call *call, grpc_status_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = arena_alloc(call->arena, n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(p, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	call->status_msg = p;
	return code;
}

grpc_status_code cri_code(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return GRPC_STATUS_NOT_FOUND;
	case EINVAL:
	case ENAMETOOLONG:
		return GRPC_STATUS_INVALID_ARGUMENT;
	case EEXIST:
		return GRPC_STATUS_ALREADY_EXISTS;
	case EAGAIN:
	case EBUSY:
	case ESRCH:
		return GRPC_STATUS_FAILED_PRECONDITION;
	case ETIMEDOUT:
		return GRPC_STATUS_DEADLINE_EXCEEDED;
	case EKEYREJECTED:
		return GRPC_STATUS_UNAUTHENTICATED;
	case EBADMSG:
		return GRPC_STATUS_DATA_LOSS;
	case ENETUNREACH:
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ECONNRESET:
	case EPROTO:
	case ECANCELED:
		return GRPC_STATUS_UNAVAILABLE;
	case ENOSPC:
	case EDQUOT:
	case ENOMEM:
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	default:
		return GRPC_STATUS_INTERNAL;
	}
}

grpc_status_code cri_work_code(int errnum)
{
	grpc_status_code code = cri_code(errnum);
	return code == GRPC_STATUS_NOT_FOUND ? GRPC_STATUS_INTERNAL : code;
}

int64_t cri_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* How early before its deadline a caller that leaves is taken to have left for it. */
#define DEADLINE_SLACK_NS (100 * 1000000LL)

grpc_status_code cri_gone_code(const struct cri_call *call)
{
	int64_t ns = cri_now();
	/* The server's copy of the deadline is the client's plus the request's transit: a client that
	 * cancels at its own deadline is seen here a little before ours passes. */
	return call->deadline && ns >= call->deadline - DEADLINE_SLACK_NS ? GRPC_STATUS_DEADLINE_EXCEEDED
									  : GRPC_STATUS_CANCELLED;
}

void *cri_new(struct cri_call *call, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = arena_alloc(call->arena, d->sizeof_message);
	d->message_init(m);
	return m;
}

char *cri_json(struct cri_call *call, json_t *o)
{
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return NULL;
	char *r = arena_strdup(call->arena, s);
	free(s);
	return r;
}

void *cri_map_copy(struct cri_call *call, const ProtobufCMessageDescriptor *d, void *const *src, size_t n)
{
	if (!n)
		return NULL;
	struct cri_map_entry **out = arena_alloc(call->arena, n * sizeof *out);
	for (size_t i = 0; i < n; i++) {
		const struct cri_map_entry *e = src[i];
		out[i] = cri_new(call, d);
		out[i]->key = e->key;
		out[i]->value = e->value;
	}
	return out;
}

void cri_thread_end(struct cri_env *env)
{
	store_conn_release(env->store);
}
