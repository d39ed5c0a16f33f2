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
grpc_status_code cri_runtime_config(struct cri_env *env, struct cri_call *call,
				    const ProtobufCMessage *req, ProtobufCMessage **resp);

#endif
