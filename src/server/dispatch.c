/* dispatch.c — see dispatch.h.  Add a line here when a CRI area implements a method. */
#include "server/dispatch.h"

#include <string.h>

#include "cri/image.h"
#include "cri/runtime_info.h"
#include "util/log.h"

static struct dispatch_method table[] = {
	/* service          method           handler            slow */
	{ "RuntimeService", "Version", cri_version, 0, NULL, NULL },
	{ "RuntimeService", "Status", cri_status, 0, NULL, NULL },
	{ "RuntimeService", "RuntimeConfig", cri_runtime_config, 0, NULL, NULL },
	{ "ImageService", "PullImage", cri_pull_image, 1, NULL, NULL },
	{ "ImageService", "ListImages", cri_list_images, 0, NULL, NULL },
	{ "ImageService", "ImageStatus", cri_image_status, 0, NULL, NULL },
	{ "ImageService", "RemoveImage", cri_remove_image, 1, NULL, NULL },
	{ "ImageService", "ImageFsInfo", cri_image_fs_info, 0, NULL, NULL },
};

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
