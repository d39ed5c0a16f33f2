/*
 * stream_backend.h — the container side of the streaming server (src/stream/backend.h) on the
 * runtime layer: Exec, Attach and PortForward sessions of the containers and pods in the store.
 * See docs/exec.md ("Interactive sessions").
 */
#ifndef LITECRI_CRI_STREAM_BACKEND_H
#define LITECRI_CRI_STREAM_BACKEND_H

#include "cri/cri.h"
#include "stream/backend.h"

/*
 * Fill *out with the backend serving env's containers and pods (out->arg is env, which must outlive
 * every session).  Its ops read the database afresh each call (a container must be RUNNING, a pod
 * READY) and return the runtime's errors (ENOENT unknown, ESRCH not running, ENOEXEC a command that
 * could not start).  Without a runtime (env->lc NULL) every op but port_connect fails ESRCH.
 */
void cri_stream_backend(struct cri_env *env, struct stream_backend *out);

#endif
