/*
 * seed_request.c — writes the seed corpus of fuzz_request (tests/fuzz/request/): for each method
 * of the dispatch table one or two valid requests, as a byte choosing the method (its index in
 * the table) followed by the packed message.  Run by hand when the table or the CRI messages
 * change:  build-fuzz/tests/fuzz/fuzz_seed_request tests/fuzz/request
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/dispatch.h"

static const char *outdir;

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void emit(const char *method, const char *variant, const ProtobufCMessage *msg)
{
	size_t n;
	const struct dispatch_method *t = dispatch_methods(&n);
	size_t i = 0;
	while (i < n && strcmp(t[i].name, method))
		i++;
	if (i == n || msg->descriptor != t[i].input) {
		fprintf(stderr, "seed_request: %s is not in the table or takes another message\n", method);
		exit(1);
	}
	size_t len = protobuf_c_message_get_packed_size(msg);
	unsigned char *buf = malloc(len + 1);
	buf[0] = (unsigned char)i;
	protobuf_c_message_pack(msg, buf + 1);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%s%s", outdir, method, variant ? "-" : "", variant ? variant : "");
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len + 1, f) != len + 1 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	free(buf);
}

#define EMIT(method, variant, msg) emit(method, variant, &(msg).base)

/* A generic message of type d, zeroed and initialised. */
static void *new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);
	d->message_init(m);
	return m;
}
#define NEW(type, lower) ((Runtime__V1__##type *)new_msg(&runtime__v1__##lower##__descriptor))

/* map<string,string> entries (every entry type has the layout of cri_map_entry). */
struct entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};
static void *map(const ProtobufCMessageDescriptor *d, size_t n, const char *const *kv)
{
	struct entry **v = calloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		v[i] = new_msg(d);
		v[i]->key = (char *)kv[2 * i];
		v[i]->value = (char *)kv[2 * i + 1];
	}
	return v;
}

static Runtime__V1__PodSandboxConfig *pod_config(int host_network)
{
	Runtime__V1__PodSandboxConfig *c = NEW(PodSandboxConfig, pod_sandbox_config);
	c->metadata = NEW(PodSandboxMetadata, pod_sandbox_metadata);
	c->metadata->name = "web";
	c->metadata->namespace_ = "default";
	c->metadata->uid = "5f0b2c1e-0d6f-4b6e-9a43-7b1d2a0e9c11";
	c->metadata->attempt = 1;
	c->hostname = "web-0";
	c->log_directory = "/var/log/pods/default_web_5f0b2c1e";
	c->dns_config = NEW(DNSConfig, dnsconfig);
	static char *servers[] = { "10.96.0.10" }, *searches[] = { "default.svc.cluster.local" }, *opts[] = { "ndots:5" };
	c->dns_config->n_servers = 1, c->dns_config->servers = servers;
	c->dns_config->n_searches = 1, c->dns_config->searches = searches;
	c->dns_config->n_options = 1, c->dns_config->options = opts;
	static const char *labels[] = { "app", "web", "io.kubernetes.pod.name", "web" };
	c->n_labels = 2;
	c->labels = map(&runtime__v1__pod_sandbox_config__labels_entry__descriptor, 2, labels);
	static const char *ann[] = { "kubernetes.io/config.source", "api" };
	c->n_annotations = 1;
	c->annotations = map(&runtime__v1__pod_sandbox_config__annotations_entry__descriptor, 1, ann);
	c->linux = NEW(LinuxPodSandboxConfig, linux_pod_sandbox_config);
	c->linux->cgroup_parent = "/kubepods/besteffort/pod5f0b2c1e";
	static const char *sysctls[] = { "net.ipv4.ip_unprivileged_port_start", "0", "kernel.shm_rmid_forced", "1" };
	c->linux->n_sysctls = host_network ? 0 : 2;
	c->linux->sysctls = map(&runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, 2, sysctls);
	Runtime__V1__LinuxSandboxSecurityContext *sc = NEW(LinuxSandboxSecurityContext, linux_sandbox_security_context);
	c->linux->security_context = sc;
	sc->namespace_options = NEW(NamespaceOption, namespace_option);
	sc->namespace_options->network = host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
	sc->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sc->seccomp = NEW(SecurityProfile, security_profile);
	sc->seccomp->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	sc->run_as_user = NEW(Int64Value, int64_value);
	sc->run_as_user->value = 65535;
	return c;
}

static Runtime__V1__LinuxContainerResources *resources(void)
{
	Runtime__V1__LinuxContainerResources *r = NEW(LinuxContainerResources, linux_container_resources);
	r->cpu_period = 100000;
	r->cpu_quota = 50000;
	r->cpu_shares = 512;
	r->memory_limit_in_bytes = 128 << 20;
	r->oom_score_adj = 900;
	r->cpuset_cpus = "0-1";
	r->cpuset_mems = "0";
	r->n_hugepage_limits = 1;
	r->hugepage_limits = calloc(1, sizeof *r->hugepage_limits);
	r->hugepage_limits[0] = NEW(HugepageLimit, hugepage_limit);
	r->hugepage_limits[0]->page_size = "2MB";
	r->hugepage_limits[0]->limit = 0;
	return r;
}

static Runtime__V1__ContainerConfig *container_config(int variant)
{
	Runtime__V1__ContainerConfig *c = NEW(ContainerConfig, container_config);
	c->metadata = NEW(ContainerMetadata, container_metadata);
	c->metadata->name = "app";
	c->image = NEW(ImageSpec, image_spec);
	c->image->image = variant ? "registry.k8s.io/pause@sha256:" HEX64 : "docker.io/library/busybox:1.36";
	static char *cmd[] = { "/bin/sh" }, *args[] = { "-c", "sleep 3600" };
	c->n_command = variant ? 0 : 1, c->command = cmd;
	c->n_args = 2, c->args = args;
	c->working_dir = "/srv";
	c->n_envs = 2;
	c->envs = calloc(2, sizeof *c->envs);
	for (int i = 0; i < 2; i++) {
		c->envs[i] = NEW(KeyValue, key_value);
		c->envs[i]->key = i ? "PATH" : "MODE";
		c->envs[i]->value.data = (uint8_t *)(i ? "/bin" : "prod");
		c->envs[i]->value.len = 4;
	}
	c->n_mounts = 2;
	c->mounts = calloc(2, sizeof *c->mounts);
	for (int i = 0; i < 2; i++) {
		c->mounts[i] = NEW(Mount, mount);
		c->mounts[i]->container_path = i ? "/data/cache" : "/data";
		c->mounts[i]->host_path = i ? "/var/lib/kubelet/pods/x/volumes/cache" : "/var/lib/kubelet/pods/x/volumes/data";
		c->mounts[i]->readonly = i;
		c->mounts[i]->propagation = i ? RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER
					      : RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
	}
	c->n_devices = 1;
	c->devices = calloc(1, sizeof *c->devices);
	c->devices[0] = NEW(Device, device);
	c->devices[0]->container_path = "/dev/xnull";
	c->devices[0]->host_path = "/dev/null";
	c->devices[0]->permissions = "rw";
	static const char *labels[] = { "io.kubernetes.container.name", "app" };
	c->n_labels = 1;
	c->labels = map(&runtime__v1__container_config__labels_entry__descriptor, 1, labels);
	c->log_path = "app/0.log";
	c->linux = NEW(LinuxContainerConfig, linux_container_config);
	c->linux->resources = resources();
	Runtime__V1__LinuxContainerSecurityContext *sc = NEW(LinuxContainerSecurityContext, linux_container_security_context);
	c->linux->security_context = sc;
	sc->capabilities = NEW(Capability, capability);
	static char *add[] = { "NET_ADMIN", "CAP_SYS_TIME" }, *drop[] = { "MKNOD" }, *ambient[] = { "NET_BIND_SERVICE" };
	sc->capabilities->n_add_capabilities = 2, sc->capabilities->add_capabilities = add;
	sc->capabilities->n_drop_capabilities = 1, sc->capabilities->drop_capabilities = drop;
	sc->capabilities->n_add_ambient_capabilities = 1, sc->capabilities->add_ambient_capabilities = ambient;
	sc->namespace_options = NEW(NamespaceOption, namespace_option);
	sc->namespace_options->pid = variant ? RUNTIME__V1__NAMESPACE_MODE__TARGET : RUNTIME__V1__NAMESPACE_MODE__POD;
	sc->namespace_options->target_id = variant ? HEX64 : "";
	if (variant) {
		sc->run_as_username = "app";
	} else {
		sc->run_as_user = NEW(Int64Value, int64_value);
		sc->run_as_user->value = 1000;
		sc->run_as_group = NEW(Int64Value, int64_value);
		sc->run_as_group->value = 50;
	}
	static int64_t groups[] = { 50, 1000 };
	sc->n_supplemental_groups = 2, sc->supplemental_groups = groups;
	sc->readonly_rootfs = variant;
	sc->no_new_privs = 1;
	static char *masked[] = { "/proc/kcore" }, *ro[] = { "/proc/sys" };
	sc->n_masked_paths = 1, sc->masked_paths = masked;
	sc->n_readonly_paths = 1, sc->readonly_paths = ro;
	sc->seccomp = NEW(SecurityProfile, security_profile);
	sc->seccomp->profile_type = variant ? RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost
					    : RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	sc->seccomp->localhost_ref = variant ? "/var/lib/kubelet/seccomp/profile.json" : "";
	return c;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (dispatch_init() < 0)
		return 1;

	Runtime__V1__VersionRequest ver = RUNTIME__V1__VERSION_REQUEST__INIT;
	ver.version = "v1";
	EMIT("Version", NULL, ver);
	Runtime__V1__StatusRequest st = RUNTIME__V1__STATUS_REQUEST__INIT;
	st.verbose = 1;
	EMIT("Status", NULL, st);
	Runtime__V1__RuntimeConfigRequest rc = RUNTIME__V1__RUNTIME_CONFIG_REQUEST__INIT;
	EMIT("RuntimeConfig", NULL, rc);

	Runtime__V1__RunPodSandboxRequest run = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	run.config = pod_config(0);
	run.runtime_handler = "runc";
	EMIT("RunPodSandbox", NULL, run);
	run.config = pod_config(1);
	run.runtime_handler = "";
	EMIT("RunPodSandbox", "hostnet", run);

	Runtime__V1__StopPodSandboxRequest sps = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	sps.pod_sandbox_id = HEX64;
	EMIT("StopPodSandbox", NULL, sps);
	Runtime__V1__RemovePodSandboxRequest rps = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rps.pod_sandbox_id = "0123abc";
	EMIT("RemovePodSandbox", NULL, rps);
	Runtime__V1__PodSandboxStatusRequest pss = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	pss.pod_sandbox_id = HEX64;
	pss.verbose = 1;
	EMIT("PodSandboxStatus", NULL, pss);

	Runtime__V1__ListPodSandboxRequest lps = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__PodSandboxFilter psf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue psv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
	static const char *sel[] = { "app", "web" };
	psf.id = "0123";
	psf.state = &psv;
	psf.n_label_selector = 1;
	psf.label_selector = map(&runtime__v1__pod_sandbox_filter__label_selector_entry__descriptor, 1, sel);
	lps.filter = &psf;
	EMIT("ListPodSandbox", NULL, lps);

	Runtime__V1__CreateContainerRequest cc = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cc.pod_sandbox_id = HEX64;
	cc.config = container_config(0);
	cc.sandbox_config = pod_config(0);
	EMIT("CreateContainer", NULL, cc);
	cc.config = container_config(1);
	cc.sandbox_config = pod_config(1);
	EMIT("CreateContainer", "target", cc);

	Runtime__V1__StartContainerRequest sc = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	sc.container_id = HEX64;
	EMIT("StartContainer", NULL, sc);
	Runtime__V1__StopContainerRequest stc = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	stc.container_id = "abc";
	stc.timeout = 30;
	EMIT("StopContainer", NULL, stc);
	Runtime__V1__RemoveContainerRequest rmc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rmc.container_id = HEX64;
	EMIT("RemoveContainer", NULL, rmc);
	Runtime__V1__ContainerStatusRequest cs = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	cs.container_id = HEX64;
	cs.verbose = 1;
	EMIT("ContainerStatus", NULL, cs);

	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	Runtime__V1__ContainerStateValue csv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
	csv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	cf.id = "01";
	cf.pod_sandbox_id = "23";
	cf.state = &csv;
	cf.n_label_selector = 1;
	cf.label_selector = map(&runtime__v1__container_filter__label_selector_entry__descriptor, 1, sel);
	lc.filter = &cf;
	EMIT("ListContainers", NULL, lc);

	Runtime__V1__ReopenContainerLogRequest rl = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	rl.container_id = HEX64;
	EMIT("ReopenContainerLog", NULL, rl);
	Runtime__V1__UpdateContainerResourcesRequest ucr = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	ucr.container_id = HEX64;
	ucr.linux = resources();
	EMIT("UpdateContainerResources", NULL, ucr);
	Runtime__V1__ExecSyncRequest ex = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	static char *excmd[] = { "sh", "-c", "echo ok" };
	ex.container_id = HEX64;
	ex.n_cmd = 3, ex.cmd = excmd;
	ex.timeout = 5;
	EMIT("ExecSync", NULL, ex);

	Runtime__V1__PullImageRequest pull = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__AuthConfig auth = RUNTIME__V1__AUTH_CONFIG__INIT;
	img.image = "127.0.0.1:5000/team/app:v1.2";
	auth.username = "user";
	auth.password = "secret";
	auth.auth = "dXNlcjpzZWNyZXQ="; /* user:secret */
	auth.server_address = "127.0.0.1:5000";
	pull.image = &img;
	pull.auth = &auth;
	pull.sandbox_config = pod_config(0);
	EMIT("PullImage", NULL, pull);

	Runtime__V1__ListImagesRequest li = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ImageFilter imf = RUNTIME__V1__IMAGE_FILTER__INIT;
	Runtime__V1__ImageSpec img2 = RUNTIME__V1__IMAGE_SPEC__INIT;
	img2.image = "busybox";
	imf.image = &img2;
	li.filter = &imf;
	EMIT("ListImages", NULL, li);
	Runtime__V1__ImageStatusRequest is = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageSpec img3 = RUNTIME__V1__IMAGE_SPEC__INIT;
	img3.image = "busybox@sha256:" HEX64;
	is.image = &img3;
	is.verbose = 1;
	EMIT("ImageStatus", NULL, is);
	Runtime__V1__RemoveImageRequest ri = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec img4 = RUNTIME__V1__IMAGE_SPEC__INIT;
	img4.image = "sha256:" HEX64;
	ri.image = &img4;
	EMIT("RemoveImage", NULL, ri);
	Runtime__V1__ImageFsInfoRequest fs = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	EMIT("ImageFsInfo", NULL, fs);
	return 0;
}
