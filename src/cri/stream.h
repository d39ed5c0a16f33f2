/*
 * stream.h — Exec, Attach and PortForward: the CRI calls that validate a streaming request and
 * answer the URL of the streaming server (src/stream/) where the client runs the session.  See
 * docs/streaming.md.
 */
#ifndef LITECRI_CRI_STREAM_H
#define LITECRI_CRI_STREAM_H

#include "cri/cri.h"

grpc_status_code cri_exec(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage **resp);
grpc_status_code cri_attach(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			    ProtobufCMessage **resp);
grpc_status_code cri_port_forward(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				  ProtobufCMessage **resp);

#endif
