/*
 * list.h — ListContainers and ListPodSandbox answered by splicing bytes.
 *
 * kubelet relists every second.  Each object keeps its entry of these lists protobuf-encoded (tables
 * container_entries and sandbox_entries, migration 0008): the CRI Container (PodSandbox) message
 * without id, state and created_at, built once by the create from the request.  A list reads only
 * the entry and those three columns (from an index, never the object's row) and writes the response itself — per row the repeated field's tag and length, the entry, then
 * id, state and created_at as fields of their own (protobuf allows a message's fields in any
 * order; every parser takes them so).  No config is decoded and no message packed per row.  An
 * object inserted before 0007 has no entry (NULL): its own is built from its config on the way.
 */
#ifndef LITECRI_CRI_LIST_H
#define LITECRI_CRI_LIST_H

#include "cri/cri.h"
#include "store/pods.h"

/* The list entry of a container to be inserted (sandbox ID, image ref, its config), in a. */
void *list_container_entry(struct arena *a, const char *sandbox_id, const char *image_ref,
			   const Runtime__V1__ContainerConfig *cfg, size_t *len);

/* The list entry of a pod sandbox (its runtime handler and config), in a. */
void *list_sandbox_entry(struct arena *a, const char *runtime_handler, const Runtime__V1__PodSandboxConfig *cfg,
			 size_t *len);

/* The handlers (dispatch.c). */
grpc_status_code cri_list_containers(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp);
grpc_status_code cri_list_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp);

#endif
