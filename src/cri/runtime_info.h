/*
 * runtime_info.h — RuntimeService.Version, .Status and .RuntimeConfig: what the runtime is and
 * whether it is ready.
 */
#ifndef LITECRI_CRI_RUNTIME_INFO_H
#define LITECRI_CRI_RUNTIME_INFO_H

#include "cri/cri.h"

grpc_status_code cri_version(struct cri_env *env, struct cri_call *call,
			     const ProtobufCMessage *req, ProtobufCMessage **resp);
grpc_status_code cri_status(struct cri_env *env, struct cri_call *call,
			    const ProtobufCMessage *req, ProtobufCMessage **resp);
/*
 * The runtime handler this daemon serves besides the default "": its OCI runtime's name, the
 * basename of the `runtime` setting ("runc", "crun").  Status reports both; RunPodSandbox accepts
 * only these two (cri_runtime_handler_known) and refuses any other handler.
 */
const char *cri_runtime_handler_name(const struct lc_config *cfg);
int cri_runtime_handler_known(const struct lc_config *cfg, const char *handler);

/*
 * 1 when pods can be networked (NetworkReady): the network module found a valid config and its
 * plugins.  Else 0 with why in msg (also when env has no network module).
 */
int cri_network_ready(struct cri_env *env, char *msg, size_t len);

grpc_status_code cri_runtime_config(struct cri_env *env, struct cri_call *call,
				    const ProtobufCMessage *req, ProtobufCMessage **resp);

#endif
