/*
 * container.h — the container RPCs: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, ReopenContainerLog, UpdateContainerResources.  See docs/lifecycle.md.
 */
#ifndef LITECRI_CRI_CONTAINER_H
#define LITECRI_CRI_CONTAINER_H

#include "cri/cri.h"

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
grpc_status_code cri_list_containers(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp);
grpc_status_code cri_reopen_container_log(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp);
grpc_status_code cri_update_container_resources(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
						ProtobufCMessage **resp);

#endif
