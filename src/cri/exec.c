/*
 * exec.c — ExecSync: the command runs in the container through the OCI runtime's exec (its
 * namespaces, cgroup and the process settings of its config.json), with stdout and stderr
 * captured separately, each bounded by EXEC_SYNC_OUTPUT_MAX.
 *
 * Outcomes: the command's exit code (OK, whatever it is); a command that cannot be started (not
 * found, not executable) is exit code 127 / 126 with the runtime's reason on stderr, as a shell
 * reports it; a timeout kills the command and fails with DEADLINE_EXCEEDED (kubelet turns that
 * into a probe timeout); a caller that goes away (cancels, disconnects, or its gRPC deadline passes)
 * kills the command too, whatever the timeout, and the call ends CANCELLED or DEADLINE_EXCEEDED;
 * a container that is missing is NOT_FOUND, one that is not RUNNING is FAILED_PRECONDITION.
 * Nothing is recorded in the database.
 */
#include "cri/exec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cri/lifecycle.h"
#include "store/pods.h"
#include "util/log.h"

/* A response stream: the bytes kept, plus a line saying how many were dropped. */
static ProtobufCBinaryData stream(struct cri_call *call, const char *p, size_t len, size_t dropped)
{
	char note[128] = "";
	if (dropped)
		snprintf(note, sizeof note, "\n[litecri: output truncated: %zu more bytes were dropped]\n", dropped);
	size_t n = strlen(note);
	uint8_t *d = arena_alloc(call->arena, len + n + 1);
	if (len)
		memcpy(d, p, len);
	memcpy(d + len, note, n + 1);
	return (ProtobufCBinaryData){ .len = len + n, .data = d };
}

grpc_status_code cri_exec_sync(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			       ProtobufCMessage **resp)
{
	const Runtime__V1__ExecSyncRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "ExecSync");
	if (r->n_cmd == 0 || !r->cmd[0] || !*r->cmd[0])
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "ExecSync %s: cmd is empty", LC_Q(r->container_id));
	if (r->timeout < 0)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "ExecSync %s: negative timeout %lld",
				LC_Q(r->container_id), (long long)r->timeout);
	struct container_row c;
	grpc_status_code code = life_container_find(env, call, "ExecSync", r->container_id, &c);
	if (code != GRPC_STATUS_OK)
		return code;
	const char *id = c.id;
	struct lc_err err = { 0 };
	if (c.state != CTR_RUNNING)
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "ExecSync: container %s is not running (state %s)",
				id, life_ctr_state_name(c.state));

	char bundle[PATH_MAX];
	if (life_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "ExecSync %s: %s", id, err.msg);
	struct rt_exec x = {
		.id = id,
		.bundle = bundle,
		.args = r->cmd,
		.n_args = r->n_cmd,
		.timeout_ms = r->timeout == 0 ? 0 : r->timeout > INT_MAX / 1000 ? INT_MAX : (int)r->timeout * 1000,
		.out_max = EXEC_SYNC_OUTPUT_MAX,
		.cancel_fd = call->cancel_fd,
	};
	struct rt_exec_result res;
	int rc = rt_exec(env->lc->rt, &x, &res, &err);
	if (rc < 0 && err.errnum != ENOEXEC) {
		switch (err.errnum) {
		case ETIMEDOUT:
			log_info("container %s: ExecSync %s timed out after %lld s (killed)", id, r->cmd[0],
				 (long long)r->timeout);
			return cri_fail(call, GRPC_STATUS_DEADLINE_EXCEEDED,
					"ExecSync %s: command \"%s\" timed out after %lld s (killed)", id, LC_Q(r->cmd[0]),
					(long long)r->timeout);
		case ECANCELED:
			code = cri_gone_code(call);
			log_info("container %s: ExecSync %s: the caller has gone (%s); command killed", id, r->cmd[0],
				 code == GRPC_STATUS_DEADLINE_EXCEEDED ? "deadline passed" : "cancelled or disconnected");
			return cri_fail(call, code, "ExecSync %s: command \"%s\" killed: the caller has gone", id, r->cmd[0]);
		case ESRCH:
		case ENOENT: /* the runtime no longer has it: not running either */
			return cri_fail(call, cri_code(ESRCH), "ExecSync: container %s is not running: %s", id,
					err.msg);
		default:
			return cri_fail(call, cri_code(err.errnum), "ExecSync %s: %s", id, err.msg);
		}
	}
	if (rc < 0)
		log_debug("container %s: ExecSync %s could not start: %s", id, r->cmd[0], err.msg);
	Runtime__V1__ExecSyncResponse *out = cri_new(call, &runtime__v1__exec_sync_response__descriptor);
	out->stdout = stream(call, res.out, res.out_len, res.out_dropped);
	out->stderr = stream(call, res.errout, res.errout_len, res.errout_dropped);
	out->exit_code = res.exit_code;
	log_debug("container %s: ExecSync %s: exit code %d, %zu + %zu bytes of output", id, r->cmd[0], res.exit_code,
		  res.out_len, res.errout_len);
	rt_exec_result_free(&res);
	*resp = &out->base;
	return GRPC_STATUS_OK;
}
