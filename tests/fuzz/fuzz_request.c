/*
 * fuzz_request.c — request decoding and the request checks that need no daemon, for every method
 * of the dispatch table (src/server/dispatch.c).
 *
 * Input: one byte choosing the method (index modulo the table's length), then the request bytes.
 * What runs, as run_handler in src/server/server.c does it:
 *   - protobuf_c_message_unpack with the method's input descriptor (into a call arena), and
 *     wirecheck_strings on the same bytes;
 *   - for a request both accept: it packs again, and the packed bytes pass wirecheck and decode
 *     (what the handlers re-pack, e.g. RunPodSandbox's recorded config, stays acceptable);
 *   - the pure parts of each handler's checks, on the decoded request:
 *       RunPodSandbox             spec_pause (the infra container's OCI spec: sysctls, seccomp,
 *                                 namespaces, annotations) with a fake pod;
 *       CreateContainer           spec_container (the whole OCI spec: args, env, user resolved in
 *                                 a small fake rootfs, capabilities, mounts, devices, namespaces,
 *                                 resources, seccomp, AppArmor, masked paths) with the request's
 *                                 sandbox_config as the pod and a fixed image config; every
 *                                 absolute mount host_path is replaced by one existing temporary
 *                                 directory, as the builder creates missing host paths;
 *                                 image_ref_parse of the image;
 *       UpdateContainerResources  spec_resources of the requested linux resources;
 *       PullImage                 image_ref_parse, registry_decode_auth of auth.auth;
 *       ImageStatus, RemoveImage  image_ref_is_id, image_ref_parse;
 *       List* filters, IDs        id_is_hex, life_kvs.
 * Not run: anything that reads or writes the database or the runtime (ID resolution, the
 * handlers' name/log-path checks that sit between database calls, pulls).  Invariants: the
 * sanitizers' (memory errors, undefined behaviour, leaks); wirecheck names a reason whenever it
 * refuses; what is accepted packs again into bytes that are accepted (handlers record requests
 * packed and decode them later); a failed check names what is wrong.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "cri/lifecycle.h"
#include "cri/spec/spec.h"
#include "image/reference.h"
#include "image/registry.h"
#include "server/dispatch.h"
#include "server/wirecheck.h"
#include "util/arena.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"

#define FAKE_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct dispatch_method *methods;
static size_t n_methods;
static char base[TMPDIR_DIR_SIZE], rootfs[PATH_MAX], hostdir[PATH_MAX], shm[PATH_MAX];

static const char image_config[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/sh\"],"
	"\"Cmd\":[\"-c\",\"true\"],\"Env\":[\"PATH=/usr/bin:/bin\",\"A=b\"],\"WorkingDir\":\"work\","
	"\"User\":\"app\",\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(p);
		exit(1);
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	if (dispatch_init() < 0)
		exit(1);
	methods = dispatch_methods(&n_methods);
	fuzz_tmpdir(base, sizeof base, "request");
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", base);
	snprintf(hostdir, sizeof hostdir, "%s/host", base);
	snprintf(shm, sizeof shm, "%s/shm", base);
	char etc[PATH_MAX];
	snprintf(etc, sizeof etc, "%s/etc", rootfs);
	struct lc_err err = { 0 };
	if (mkdir_p(etc, 0755, &err) < 0 || mkdir_p(hostdir, 0755, &err) < 0 || mkdir_p(shm, 0755, &err) < 0) {
		fprintf(stderr, "fuzz_request: %s\n", err.msg);
		exit(1);
	}
	write_file(etc, "passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
	write_file(etc, "group", "root:x:0:\napp:x:1000:app\nstaff:x:50:app,root\n");
	return 0;
}

/* What sandbox_spec_pod gives a pod's containers, with made-up paths (none is opened). */
static void fake_pod(const Runtime__V1__PodSandboxConfig *cfg, struct spec_pod *p)
{
	static const Runtime__V1__PodSandboxConfig empty = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	memset(p, 0, sizeof *p);
	p->id = FAKE_ID;
	p->config = cfg ? cfg : &empty;
	p->infra_pid = 1;
	const Runtime__V1__NamespaceOption *o =
		cfg && cfg->linux && cfg->linux->security_context ? cfg->linux->security_context->namespace_options : NULL;
	if (!o || o->network != RUNTIME__V1__NAMESPACE_MODE__NODE) {
		p->netns = "/run/litecri/sandboxes/" FAKE_ID "/ns/net";
		p->utsns = "/run/litecri/sandboxes/" FAKE_ID "/ns/uts";
	}
	if (!o || o->ipc != RUNTIME__V1__NAMESPACE_MODE__NODE) {
		p->ipcns = "/run/litecri/sandboxes/" FAKE_ID "/ns/ipc";
		p->shm = shm;
	} else {
		p->shm = "/dev/shm";
	}
	p->hosts = "/var/lib/litecri/sandboxes/" FAKE_ID "/hosts";
	p->resolv_conf = "/var/lib/litecri/sandboxes/" FAKE_ID "/resolv.conf";
	p->hostname = "/var/lib/litecri/sandboxes/" FAKE_ID "/hostname";
	p->cgroup_parent = cfg && cfg->linux && cfg->linux->cgroup_parent ? cfg->linux->cgroup_parent : "";
}

static void check_err(int rc, const struct lc_err *err)
{
	if (rc < 0)
		FUZZ_CHECK(err->msg[0] != '\0');
}

static void image_ref(const char *s)
{
	if (!s || !*s)
		return;
	char id[DIGEST_BUF];
	struct image_ref r;
	struct lc_err err = { 0 };
	if (!image_ref_is_id(s, id))
		check_err(image_ref_parse(s, &r, &err), &err);
}

static void hex_id(const char *s)
{
	if (s && *s)
		(void)id_is_hex(s, 1, OBJ_ID_LEN);
}

static void run_pod_sandbox(struct cri_call *call, const Runtime__V1__RunPodSandboxRequest *r)
{
	(void)call;
	if (!r->config || !r->config->metadata)
		return; /* the handler's first refusal */
	struct spec_pod pod;
	fake_pod(r->config, &pod);
	json_t *spec = NULL;
	struct lc_err err = { 0 };
	int rc = spec_pause(&pod, rootfs, &spec, &err);
	check_err(rc, &err);
	FUZZ_CHECK(rc < 0 || spec);
	json_decref(spec);
}

static void create_container(struct cri_call *call, const Runtime__V1__CreateContainerRequest *r)
{
	Runtime__V1__ContainerConfig *cfg = r->config;
	if (!cfg || !cfg->metadata || !cfg->image || !cfg->image->image || !*cfg->image->image)
		return;
	image_ref(cfg->image->image);
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i]->host_path && cfg->mounts[i]->host_path[0] == '/')
			cfg->mounts[i]->host_path = arena_strdup(call->arena, hostdir);
	struct spec_pod pod;
	fake_pod(r->sandbox_config, &pod);
	struct spec_container c = { .id = FAKE_ID, .config = cfg, .image_config = image_config,
				    .image_name = cfg->image->image, .rootfs = rootfs, .target_pid = 1 };
	json_t *spec = NULL;
	struct lc_err err = { 0 };
	int rc = spec_container(&pod, &c, &spec, &err);
	check_err(rc, &err);
	FUZZ_CHECK(rc < 0 || spec);
	json_decref(spec);
}

static void update_resources(const Runtime__V1__UpdateContainerResourcesRequest *r)
{
	hex_id(r->container_id);
	if (!r->linux)
		return;
	json_t *res = NULL;
	struct lc_err err = { 0 };
	int rc = spec_resources(r->linux, &res, &err);
	check_err(rc, &err);
	json_decref(res);
}

static void pull_image(const Runtime__V1__PullImageRequest *r)
{
	image_ref(r->image ? r->image->image : NULL);
	if (r->auth && r->auth->auth && *r->auth->auth) {
		char *user = NULL, *pass = NULL;
		struct lc_err err = { 0 };
		if (registry_decode_auth(r->auth->auth, &user, &pass, &err) == 0) {
			FUZZ_CHECK(user && pass);
			free(user);
			free(pass);
		} else {
			FUZZ_CHECK(err.msg[0] && !user && !pass);
		}
	}
}

/* The pure checks of method m's handler on request req (see the top of this file). */
static void validate(struct cri_call *call, const char *m, ProtobufCMessage *req)
{
	if (!strcmp(m, "RunPodSandbox")) {
		run_pod_sandbox(call, (void *)req);
	} else if (!strcmp(m, "CreateContainer")) {
		create_container(call, (void *)req);
	} else if (!strcmp(m, "UpdateContainerResources")) {
		update_resources((void *)req);
	} else if (!strcmp(m, "PullImage")) {
		pull_image((void *)req);
	} else if (!strcmp(m, "ImageStatus")) {
		const Runtime__V1__ImageStatusRequest *r = (void *)req;
		image_ref(r->image ? r->image->image : NULL);
	} else if (!strcmp(m, "RemoveImage")) {
		const Runtime__V1__RemoveImageRequest *r = (void *)req;
		image_ref(r->image ? r->image->image : NULL);
	} else if (!strcmp(m, "ListPodSandbox")) {
		const Runtime__V1__ListPodSandboxRequest *r = (void *)req;
		if (r->filter) {
			hex_id(r->filter->id);
			life_kvs(call, (void *const *)r->filter->label_selector, r->filter->n_label_selector);
		}
	} else if (!strcmp(m, "ListContainers")) {
		const Runtime__V1__ListContainersRequest *r = (void *)req;
		if (r->filter) {
			hex_id(r->filter->id);
			hex_id(r->filter->pod_sandbox_id);
			life_kvs(call, (void *const *)r->filter->label_selector, r->filter->n_label_selector);
		}
	}
	/* The object ID a request names, whatever its type. */
	static const char *const id_fields[] = { "pod_sandbox_id", "container_id" };
	for (size_t i = 0; i < sizeof id_fields / sizeof id_fields[0]; i++) {
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(req->descriptor, id_fields[i]);
		if (f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED)
			hex_id(*(const char *const *)((const char *)req + f->offset));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct dispatch_method *m = &methods[data[0] % n_methods];
	const uint8_t *buf = data + 1;
	size_t len = size - 1;

	struct arena a;
	arena_init(&a);
	ProtobufCMessage *req = protobuf_c_message_unpack(m->input, &a.pb, len, buf);
	char field[256];
	const char *why = NULL;
	int bad = wirecheck_strings(m->input, buf, len, field, sizeof field, &why) < 0;
	FUZZ_CHECK(memchr(field, '\0', sizeof field));
	FUZZ_CHECK(!bad == !why);
	if (req && !bad) {
		FUZZ_CHECK(req->descriptor == m->input);
		size_t plen = protobuf_c_message_get_packed_size(req);
		uint8_t *packed = arena_alloc(&a, plen + 1);
		FUZZ_CHECK(protobuf_c_message_pack(req, packed) == plen);
		FUZZ_CHECK(wirecheck_strings(m->input, packed, plen, field, sizeof field, &why) == 0);
		FUZZ_CHECK(protobuf_c_message_unpack(m->input, &a.pb, plen, packed) != NULL);
		struct cri_call call = { .arena = &a, .api = CRI_API_V1, .method = m->name };
		validate(&call, m->name, req);
	}
	arena_release(&a);
	return 0;
}
