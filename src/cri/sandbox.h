/*
 * sandbox.h — the pod sandbox RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
 * PodSandboxStatus, ListPodSandbox.  See docs/lifecycle.md for the behaviour.
 */
#ifndef LITECRI_CRI_SANDBOX_H
#define LITECRI_CRI_SANDBOX_H

#include "cri/cri.h"
#include "cri/spec/spec.h"
#include "store/pods.h"

grpc_status_code cri_run_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp);
grpc_status_code cri_stop_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp);
grpc_status_code cri_remove_pod_sandbox(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					ProtobufCMessage **resp);
grpc_status_code cri_pod_sandbox_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					ProtobufCMessage **resp);

/*
 * What a pod gives its containers (namespaces, files, cgroup parent), from its row and config;
 * strings live in the call's arena.  The pod must have been created (its infra pid is known).
 */
/*
 * The CRI PodSandboxStatus of row sb (PodSandboxStatus, GetContainerEvents), built in the call's
 * arena; its strings are sb's (allocated there too).  NULL when the recorded config does not decode.
 */
Runtime__V1__PodSandboxStatus *sandbox_status_of(struct cri_call *call, const struct sandbox_row *sb);

int sandbox_spec_pod(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
		     const Runtime__V1__PodSandboxConfig *cfg, struct spec_pod *out, struct lc_err *err);

/*
 * Tear down the pod's CNI attachment if it has one (network not NONE): DELETING recorded, the DEL
 * run with the recorded config and result (into the pinned network namespace, or with an empty one
 * when the pin is gone), NONE recorded.  Idempotent; a failed DEL leaves DELETING, for the next
 * StopPodSandbox, RemovePodSandbox or recovery to retry.  A missing row is no error.
 */
int sandbox_net_teardown(struct cri_env *env, struct arena *a, const char *id, struct lc_err *err);

#endif
