/*
 * stats.h — the stats RPCs: ContainerStats, ListContainerStats, PodSandboxStats,
 * ListPodSandboxStats, ListMetricDescriptors, ListPodSandboxMetrics.  See docs/stats.md.
 *
 * The numbers come from the runtime layer (runtime/cgroup.h cgroup_stats, runtime/rootfs.h
 * rootfs_usage, runtime/podns.h podns_net_stats); what this file keeps itself is, per container
 * and per pod (keyed by ID, in memory), the previous CPU sample (usage_nano_cores is the rate
 * since it) and the writable layer's last measure (kept STATS_FS_TTL_S seconds).
 */
#ifndef LITECRI_CRI_STATS_H
#define LITECRI_CRI_STATS_H

#include "cri/cri.h"

/* How long a writable layer's measure (a walk of its upper directory) is served again. */
#define STATS_FS_TTL_S 10

grpc_status_code cri_container_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp);
grpc_status_code cri_list_container_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp);
grpc_status_code cri_pod_sandbox_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				       ProtobufCMessage **resp);
grpc_status_code cri_list_pod_sandbox_stats(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					    ProtobufCMessage **resp);
grpc_status_code cri_list_metric_descriptors(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					     ProtobufCMessage **resp);
grpc_status_code cri_list_pod_sandbox_metrics(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					      ProtobufCMessage **resp);

/*
 * Forget what is kept for container or pod id (its previous CPU sample, its writable layer's
 * measure): called when the object is removed.  Thread-safe; an unknown id is fine.  The memory is
 * bounded anyway (the least recently used entries go first).
 */
void stats_forget(const char *id);

#endif
