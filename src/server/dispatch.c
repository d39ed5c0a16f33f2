/* dispatch.c — see dispatch.h.  Add a line here when a CRI area implements a method. */
#include "server/dispatch.h"

#include <string.h>

#include "cri/container.h"
#include "cri/events.h"
#include "cri/exec.h"
#include "cri/image.h"
#include "cri/list.h"
#include "cri/runtime_info.h"
#include "cri/sandbox.h"
#include "cri/stats.h"
#include "cri/stream.h"
#include "util/log.h"

static struct dispatch_method table[] = {
	/* service          method           handler            kind: 0 fast, 1 slow (DISPATCH_*) */
	{ "RuntimeService", "Version", cri_version, 0, NULL, NULL },
	{ "RuntimeService", "Status", cri_status, 0, NULL, NULL },
	{ "RuntimeService", "RuntimeConfig", cri_runtime_config, 0, NULL, NULL },
	{ "RuntimeService", "RunPodSandbox", cri_run_pod_sandbox, 1, NULL, NULL },
	{ "RuntimeService", "StopPodSandbox", cri_stop_pod_sandbox, 1, NULL, NULL },
	{ "RuntimeService", "RemovePodSandbox", cri_remove_pod_sandbox, 1, NULL, NULL },
	{ "RuntimeService", "PodSandboxStatus", cri_pod_sandbox_status, 0, NULL, NULL },
	{ "RuntimeService", "ListPodSandbox", cri_list_pod_sandbox, 0, NULL, NULL },
	{ "RuntimeService", "CreateContainer", cri_create_container, 1, NULL, NULL },
	{ "RuntimeService", "StartContainer", cri_start_container, 1, NULL, NULL },
	{ "RuntimeService", "StopContainer", cri_stop_container, 1, NULL, NULL },
	{ "RuntimeService", "RemoveContainer", cri_remove_container, 1, NULL, NULL },
	{ "RuntimeService", "ContainerStatus", cri_container_status, 0, NULL, NULL },
	{ "RuntimeService", "ListContainers", cri_list_containers, 0, NULL, NULL },
	{ "RuntimeService", "ReopenContainerLog", cri_reopen_container_log, 1, NULL, NULL },
	{ "RuntimeService", "UpdateContainerResources", cri_update_container_resources, 1, NULL, NULL },
	{ "RuntimeService", "ExecSync", cri_exec_sync, 1, NULL, NULL },
	{ "RuntimeService", "ContainerStats", cri_container_stats, 1, NULL, NULL },
	{ "RuntimeService", "ListContainerStats", cri_list_container_stats, 1, NULL, NULL },
	{ "RuntimeService", "PodSandboxStats", cri_pod_sandbox_stats, 1, NULL, NULL },
	{ "RuntimeService", "ListPodSandboxStats", cri_list_pod_sandbox_stats, 1, NULL, NULL },
	{ "RuntimeService", "ListMetricDescriptors", cri_list_metric_descriptors, 0, NULL, NULL },
	{ "RuntimeService", "ListPodSandboxMetrics", cri_list_pod_sandbox_metrics, 1, NULL, NULL },
	{ "RuntimeService", "GetContainerEvents", cri_get_container_events, DISPATCH_STREAM, NULL, NULL },
	{ "RuntimeService", "Exec", cri_exec, 0, NULL, NULL },
	{ "RuntimeService", "Attach", cri_attach, 0, NULL, NULL },
	{ "RuntimeService", "PortForward", cri_port_forward, 0, NULL, NULL },
	{ "ImageService", "PullImage", cri_pull_image, 1, NULL, NULL },
	{ "ImageService", "ListImages", cri_list_images, 0, NULL, NULL },
	{ "ImageService", "ImageStatus", cri_image_status, 0, NULL, NULL },
	{ "ImageService", "RemoveImage", cri_remove_image, 1, NULL, NULL },
	{ "ImageService", "ImageFsInfo", cri_image_fs_info, 0, NULL, NULL },
};

#define N_METHODS (sizeof table / sizeof table[0])
static const char *names[N_METHODS];

const char *const *dispatch_names(void)
{
	for (size_t i = 0; i < N_METHODS; i++)
		names[i] = table[i].name;
	return names;
}

int dispatch_init(void)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		struct dispatch_method *m = &table[i];
		const ProtobufCServiceDescriptor *sd =
			!strcmp(m->service, "RuntimeService") ? &runtime__v1__runtime_service__descriptor
			: !strcmp(m->service, "ImageService") ? &runtime__v1__image_service__descriptor
			: NULL;
		const ProtobufCMethodDescriptor *md = sd ? protobuf_c_service_descriptor_get_method_by_name(sd, m->name) : NULL;
		if (!md) {
			log_error("dispatch: %s/%s is not a method of the CRI", m->service, m->name);
			return -1;
		}
		m->input = md->input;
		m->output = md->output;
	}
	return 0;
}

const struct dispatch_method *dispatch_methods(size_t *n)
{
	*n = sizeof table / sizeof table[0];
	return table;
}

const char *dispatch_package(enum cri_api api)
{
	return api == CRI_API_V1ALPHA2 ? "runtime.v1alpha2" : "runtime.v1";
}
