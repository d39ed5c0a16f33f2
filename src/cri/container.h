/*
 * container.h — the container RPCs: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, ReopenContainerLog, UpdateContainerResources.  See docs/lifecycle.md.
 */
#ifndef LITECRI_CRI_CONTAINER_H
#define LITECRI_CRI_CONTAINER_H

#include "cri/cri.h"
#include "store/pods.h"

grpc_status_code cri_create_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp);
grpc_status_code cri_start_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp);
grpc_status_code cri_stop_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				    ProtobufCMessage **resp);
grpc_status_code cri_remove_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp);
grpc_status_code cri_container_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp);
/*
 * The CRI ContainerStatus of row c (ContainerStatus, GetContainerEvents), built in the call's
 * arena; its strings are c's (allocated there too).  NULL when the recorded config does not decode.
 */
Runtime__V1__ContainerStatus *container_status_of(struct cri_call *call, const struct container_row *c);

grpc_status_code cri_reopen_container_log(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp);
grpc_status_code cri_update_container_resources(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
						ProtobufCMessage **resp);

#endif
