/*
 * exec.h — running commands in a container: ExecSync (kubelet's exec probes).  See docs/exec.md.
 */
#ifndef LITECRI_CRI_EXEC_H
#define LITECRI_CRI_EXEC_H

#include "cri/cri.h"

/* The most bytes of stdout, and of stderr, an ExecSync response carries; the rest is dropped and
 * the stream ends with a line saying how much was. */
#define EXEC_SYNC_OUTPUT_MAX (4u << 20)

grpc_status_code cri_exec_sync(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
			       ProtobufCMessage **resp);

#endif
