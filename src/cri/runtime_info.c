/* runtime_info.c — Version, Status, RuntimeConfig; see runtime_info.h. */
#include "cri/runtime_info.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "store/store.h"
#include "util/log.h"
#include "util/fsutil.h"
#include "stream/stream.h"

/* The version of the kubelet runtime API (VersionResponse.version): "0.1.0" for every CRI version. */
#define KUBELET_API_VERSION "0.1.0"

grpc_status_code cri_version(struct cri_env *env, struct cri_call *call,
			     const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	(void)env;
	(void)req;
	Runtime__V1__VersionResponse *r = cri_new(call, &runtime__v1__version_response__descriptor);
	r->version = KUBELET_API_VERSION;
	r->runtime_name = "litecri";
	r->runtime_version = LITECRI_VERSION;
	r->runtime_api_version = call->api == CRI_API_V1ALPHA2 ? "v1alpha2" : "v1";
	*resp = &r->base;
	return GRPC_STATUS_OK;
}

const char *cri_runtime_handler_name(const struct lc_config *cfg)
{
	const char *slash = strrchr(cfg->runtime, '/');
	return slash ? slash + 1 : cfg->runtime;
}

int cri_runtime_handler_known(const struct lc_config *cfg, const char *handler)
{
	return !*handler || strcmp(handler, cri_runtime_handler_name(cfg)) == 0;
}

int cri_network_ready(struct cri_env *env, char *msg, size_t len)
{
	if (!env->net) {
		snprintf(msg, len, "no network module (src/net) was opened");
		return 0;
	}
	return net_ready(env->net, msg, len);
}

static Runtime__V1__RuntimeCondition *condition(struct cri_call *call, const char *type, int ok,
						const char *reason, const char *message)
{
	Runtime__V1__RuntimeCondition *c = cri_new(call, &runtime__v1__runtime_condition__descriptor);
	c->type = (char *)type;
	c->status = ok;
	c->reason = arena_strdup(call->arena, ok ? "" : reason);
	c->message = arena_strdup(call->arena, ok ? "" : message);
	return c;
}

/* The registry sections: {"HOST": {"mirrors": [{"url", "insecure", "ca"}], "insecure", "ca", "upstream"}}. */
static json_t *registries_json(const struct lc_config *cfg)
{
	json_t *regs = json_object();
	for (size_t i = 0; regs && i < cfg->n_registries; i++) {
		const struct lc_registry *r = &cfg->registries[i];
		json_t *mirrors = json_array();
		for (size_t j = 0; mirrors && j < r->n_mirrors; j++)
			json_array_append_new(mirrors, json_pack("{s:s, s:b, s:s}", "url", r->mirrors[j].url, "insecure",
								 r->mirrors[j].insecure, "ca", r->mirrors[j].ca));
		json_object_set_new(regs, r->host, json_pack("{s:o*, s:b, s:s, s:b}", "mirrors", mirrors, "insecure",
							    r->insecure, "ca", r->ca, "upstream", r->upstream));
	}
	return regs;
}

/* The verbose "config" info entry: the daemon's effective settings, as JSON. */
static char *config_json(struct cri_env *env, struct cri_call *call, const char *runtime_path)
{
	const struct lc_config *cfg = env->cfg;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
			      "version", LITECRI_VERSION,
			      "listen", cfg->listen,
			      "db", cfg->db,
			      "root", cfg->root,
			      "state", cfg->state,
			      "runtime", cfg->runtime,
			      "runtimePath", runtime_path,
			      "schemaVersion", env->schema_version,
			      "cgroupDriver", "cgroupfs",
			      "logLevel", log_level_name(cfg->log_level));
	if (o) {
		json_object_set_new(o, "registries", registries_json(cfg));
		json_object_set_new(o, "maxConcurrentDownloads", json_integer(cfg->max_concurrent_downloads));
		json_object_set_new(o, "logFormat", json_string(log_format_name(cfg->log_format)));
		if (env->stream) /* where Exec/Attach/PortForward URLs point (port 0 picks one) */
			json_object_set_new(o, "streamServer",
					    json_pack("{s:s, s:i, s:i, s:i}", "url", stream_server_url(env->stream),
						      "sessions", stream_server_sessions(env->stream), "idleTimeout",
						      cfg->stream_idle_timeout, "maxSessions", cfg->stream_max_sessions));
	}
	return cri_json(call, o);
}

grpc_status_code cri_status(struct cri_env *env, struct cri_call *call,
			    const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Runtime__V1__StatusRequest *rq = (const Runtime__V1__StatusRequest *)req;
	Runtime__V1__StatusResponse *r = cri_new(call, &runtime__v1__status_response__descriptor);
	Runtime__V1__RuntimeStatus *st = cri_new(call, &runtime__v1__runtime_status__descriptor);

	/* RuntimeReady: the database answers, the OCI runtime binary is there and pods can be run. */
	struct lc_err err = { 0 };
	char runtime_path[PATH_MAX] = "";
	const char *why = NULL;
	char *msg = NULL;
	if (store_ping(env->store, &err) < 0) {
		why = "DatabaseNotReady";
		msg = arena_printf(call->arena, "database %s: %s", env->cfg->db, err.msg);
	} else if (find_executable(env->cfg->runtime, runtime_path, sizeof runtime_path, &err) < 0) {
		why = "OCIRuntimeNotFound";
		msg = arena_printf(call->arena, "OCI runtime %s: %s", env->cfg->runtime, err.msg);
	} else if (!env->lc) { /* the runtime appeared after startup, or conmon is missing */
		why = "ContainerRuntimeNotStarted";
		msg = arena_printf(call->arena, "no OCI runtime or conmon (%s) was found when litecri started: restart it",
				   env->cfg->conmon);
	}
	/* NetworkReady: a valid CNI network config and its plugins are there (src/net). */
	char net_msg[1024] = "";
	int net_ok = cri_network_ready(env, net_msg, sizeof net_msg);
	st->n_conditions = 2;
	st->conditions = arena_alloc(call->arena, 2 * sizeof *st->conditions);
	st->conditions[0] = condition(call, "RuntimeReady", why == NULL, why, msg);
	st->conditions[1] = condition(call, "NetworkReady", net_ok, "NetworkPluginNotReady", net_msg);
	r->status = st;

	/* The runtime handlers, the default ("") and the OCI runtime's name, and what they support. */
	const char *names[] = { "", cri_runtime_handler_name(env->cfg) };
	r->n_runtime_handlers = 2;
	r->runtime_handlers = arena_alloc(call->arena, 2 * sizeof *r->runtime_handlers);
	for (size_t i = 0; i < 2; i++) {
		Runtime__V1__RuntimeHandler *h = cri_new(call, &runtime__v1__runtime_handler__descriptor);
		h->name = (char *)names[i];
		h->features = cri_new(call, &runtime__v1__runtime_handler_features__descriptor);
		r->runtime_handlers[i] = h;
	}
	r->features = cri_new(call, &runtime__v1__runtime_features__descriptor);

	if (rq->verbose) {
		char *cfg = config_json(env, call, runtime_path);
		if (!cfg)
			return cri_fail(call, GRPC_STATUS_INTERNAL, "Status: cannot encode the verbose info");
		char *cni = env->net ? cri_json(call, net_info(env->net)) : NULL;
		if (env->net && !cni)
			return cri_fail(call, GRPC_STATUS_INTERNAL, "Status: cannot encode the network config");
		r->info = arena_alloc(call->arena, 2 * sizeof *r->info);
		const char *keys[] = { "config", "cniconfig" }, *values[] = { cfg, cni };
		for (size_t i = 0; i < 2 && values[i]; i++) {
			Runtime__V1__StatusResponse__InfoEntry *e =
				cri_new(call, &runtime__v1__status_response__info_entry__descriptor);
			e->key = (char *)keys[i];
			e->value = (char *)values[i];
			r->info[r->n_info++] = e;
		}
	}
	*resp = &r->base;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_runtime_config(struct cri_env *env, struct cri_call *call,
				    const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	(void)env;
	(void)req;
	Runtime__V1__RuntimeConfigResponse *r = cri_new(call, &runtime__v1__runtime_config_response__descriptor);
	r->linux = cri_new(call, &runtime__v1__linux_runtime_configuration__descriptor);
	r->linux->cgroup_driver = RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
	*resp = &r->base;
	return GRPC_STATUS_OK;
}
