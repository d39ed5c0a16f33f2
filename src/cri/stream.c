/*
 * stream.c — Exec, Attach, PortForward.  Each validates its request as kubelet's streaming server
 * and the CRI contract ask — the container exists (NOT_FOUND) and is RUNNING
 * (FAILED_PRECONDITION), the pod exists and is READY, at least one of stdin/stdout/stderr, not tty
 * with stderr (INVALID_ARGUMENT) — then keeps the request under a token of the streaming server
 * and answers its URL.  Nothing runs until the client connects there; a token not used within a
 * minute expires.  Nothing is recorded in the database.
 */
#include "cri/stream.h"

#include <errno.h>
#include <string.h>

#include "cri/lifecycle.h"
#include "store/pods.h"
#include "stream/stream.h"
#include "util/log.h"

/* UNIMPLEMENTED when the daemon has no streaming server serving kind. */
static grpc_status_code require_server(struct cri_env *env, struct cri_call *call, const char *rpc,
				       enum stream_kind kind)
{
	if (!env->stream || !stream_server_serves(env->stream, kind))
		return cri_fail(call, GRPC_STATUS_UNIMPLEMENTED, "%s: this daemon has no container backend for streaming",
				rpc);
	return GRPC_STATUS_OK;
}

/* Mint the token: the session's URL, in the call's arena, or NULL with the failure set. */
static char *mint(struct cri_env *env, struct cri_call *call, const char *rpc, const struct stream_request *sr,
		  grpc_status_code *code)
{
	if ((*code = require_server(env, call, rpc, sr->kind)) != GRPC_STATUS_OK)
		return NULL;
	char url[512];
	struct lc_err err = { 0 };
	if (stream_server_mint(env->stream, sr, url, sizeof url, &err) < 0) {
		/* EAGAIN: too many tokens waiting, a resource exhausted rather than a busy object */
		*code = cri_fail(call, cri_code(err.errnum == EAGAIN ? ENOMEM : err.errnum), "%s %s: %s", rpc, sr->id,
				 err.msg);
		return NULL;
	}
	log_debug("%s %s: session URL minted", rpc, sr->id);
	return arena_strdup(call->arena, url);
}

/* Exec and Attach: the streams asked for and a running container, then the URL (as mint). */
static char *container_url(struct cri_env *env, struct cri_call *call, const char *rpc, const char *ref,
			   struct stream_request *sr, grpc_status_code *code)
{
	if (!sr->in && !sr->out && !sr->err) {
		*code = cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s %s: one of stdin, stdout, or stderr must be set",
				 rpc, LC_Q(ref));
		return NULL;
	}
	if (sr->tty && sr->err) {
		*code = cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s %s: tty and stderr cannot both be true", rpc,
				 LC_Q(ref));
		return NULL;
	}
	struct container_row c;
	if ((*code = life_container_find(env, call, rpc, ref, &c)) != GRPC_STATUS_OK)
		return NULL;
	if (c.state != CTR_RUNNING) {
		*code = cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "%s: container %s is not running (state %s)", rpc,
				 c.id, life_ctr_state_name(c.state));
		return NULL;
	}
	sr->id = c.id;
	return mint(env, call, rpc, sr, code);
}

grpc_status_code cri_exec(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **resp)
{
	const Runtime__V1__ExecRequest *r = (const void *)req;
	grpc_status_code code;
	if (r->n_cmd == 0 || !r->cmd[0] || !*r->cmd[0])
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "Exec %s: cmd is empty", LC_Q(r->container_id));
	struct stream_request sr = { .kind = STREAM_EXEC, .cmd = r->cmd, .n_cmd = r->n_cmd, .tty = r->tty,
				     .in = r->stdin, .out = r->stdout, .err = r->stderr };
	char *url = container_url(env, call, "Exec", r->container_id, &sr, &code);
	if (!url)
		return code;
	Runtime__V1__ExecResponse *out = cri_new(call, &runtime__v1__exec_response__descriptor);
	out->url = url;
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_attach(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			    ProtobufCMessage **resp)
{
	const Runtime__V1__AttachRequest *r = (const void *)req;
	grpc_status_code code;
	struct stream_request sr = { .kind = STREAM_ATTACH, .tty = r->tty, .in = r->stdin, .out = r->stdout,
				     .err = r->stderr };
	char *url = container_url(env, call, "Attach", r->container_id, &sr, &code);
	if (!url)
		return code;
	Runtime__V1__AttachResponse *out = cri_new(call, &runtime__v1__attach_response__descriptor);
	out->url = url;
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_port_forward(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp)
{
	const Runtime__V1__PortForwardRequest *r = (const void *)req;
	grpc_status_code code;
	for (size_t i = 0; i < r->n_port; i++)
		if (r->port[i] < 1 || r->port[i] > 65535)
			return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "PortForward %s: port %d is not in 1..65535",
					LC_Q(r->pod_sandbox_id), r->port[i]);
	struct sandbox_row sb;
	code = life_sandbox_find(env, call, "PortForward", r->pod_sandbox_id, &sb);
	if (code != GRPC_STATUS_OK)
		return code;
	if (sb.state != SANDBOX_READY)
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "PortForward: sandbox %s is not ready", sb.id);
	struct stream_request sr = { .kind = STREAM_PORTFORWARD, .id = sb.id, .ports = r->port, .n_ports = r->n_port };
	char *url = mint(env, call, "PortForward", &sr, &code);
	if (!url)
		return code;
	Runtime__V1__PortForwardResponse *out = cri_new(call, &runtime__v1__port_forward_response__descriptor);
	out->url = url;
	*resp = &out->base;
	return GRPC_STATUS_OK;
}
