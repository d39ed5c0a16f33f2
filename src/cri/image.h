/*
 * image.h — the CRI ImageService: PullImage, ListImages, ImageStatus, RemoveImage, ImageFsInfo.
 * The work is done by src/image/images.h; these handlers translate requests, responses and
 * errors (errnum → gRPC status).
 */
#ifndef LITECRI_CRI_IMAGE_H
#define LITECRI_CRI_IMAGE_H

#include "cri/cri.h"

grpc_status_code cri_pull_image(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				ProtobufCMessage **resp);
grpc_status_code cri_list_images(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				 ProtobufCMessage **resp);
grpc_status_code cri_image_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp);
grpc_status_code cri_remove_image(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp);
grpc_status_code cri_image_fs_info(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				   ProtobufCMessage **resp);

#endif
