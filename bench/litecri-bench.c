/*
 * litecri-bench.c — a load generator for any CRI endpoint (litecri, containerd, CRI-O).
 *
 *   litecri-bench --endpoint unix:///path/to.sock --rpc RPC --calls N --concurrency C
 *                 [--api v1|v1alpha2] [--timeout-ms MS] [--warmup N] [--image REF] [...]
 *
 * RPC: Version, Status, PullImage, ImageStatus, ListImages, RemoveImage, ImageFsInfo; the pod and
 * container RPCs RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * ListPodSandbox, CreateContainer, StartContainer, StopContainer, RemoveContainer,
 * ContainerStatus, ListContainers, ListContainerStats, and ExecSync, Exec and
 * UpdateContainerResources (on a running container: Exec times the URL and then a whole session on
 * it — a WebSocket client of the v5.channel.k8s.io protocol, no stdin, until the exit status
 * arrives); and "lifecycle" (RunPodSandbox, CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, StopPodSandbox, RemovePodSandbox as one unit).
 * The image RPCs act on --image.  Repeated PullImage calls of a present image measure what
 * kubelet's "Always" pull policy costs; RemoveImage removes the image on the first call and
 * measures the idempotent no-op on the others.
 *
 * It makes N timed calls of one standard CRI RPC over C connections: C threads, each with its
 * own struct cri_client (one channel, one connection), take call indices from a shared atomic
 * counter until all N are handed out.  Each call's latency (request packing, the call, response
 * decoding) is measured with CLOCK_MONOTONIC; failed calls count too.  Before the measurement
 * each thread makes its share of the --warmup calls (which connects its channel); those calls
 * are neither timed nor counted, and their errors are ignored.  The threads then start together.
 *
 * Pod and container RPCs need objects to act on; the bench makes them itself, untimed:
 *  - setup, per thread before the start: for the container RPCs one pod per thread; for the read
 *    RPCs --objects pods (PodSandboxStatus, ListPodSandbox) or --objects containers, created
 *    and not started (with --start: started), in the threads' pods (ContainerStatus,
 *    ListContainers, ListContainerStats); for ExecSync and
 *    UpdateContainerResources one running container in each thread's pod, which every call of
 *    that thread acts on (ExecSync runs --exec-command in it, and counts an exit code other
 *    than 0 as a failed call; UpdateContainerResources alternates between two memory limits
 *    and CPU shares);
 *  - per call, around the one timed RPC: e.g. StartContainer creates a container untimed, times
 *    StartContainer, then stops and removes it untimed.  So with these RPCs elapsed_s and
 *    calls_per_s include that untimed work; the percentiles are of the timed RPC only.
 *  - at the end, after every thread finished timing: everything still there is removed.
 * Every pod carries the label litecri-bench/run=<run id> and a name and UID with that random run
 * id, so concurrent runs never collide.  Container logs go to a temporary directory the bench
 * makes and removes.  A failed setup or per-call preparation stops the run (no result line);
 * failed removals are counted and reported, and what could not be removed is listed.  SIGINT,
 * SIGTERM and SIGHUP stop the run after the calls in flight and clean up (a second one exits at
 * once).  --keep leaves every object (and the log directory) in place.
 *
 * Output: one line on stdout, keys in a fixed order, e.g.
 *   rpc=Version api=v1 calls=10000 concurrency=4 errors=0 elapsed_s=0.612 calls_per_s=16339.9
 *   p50_us=210 p90_us=330 p99_us=610 max_us=2100
 * (on one line); the read RPCs with objects add " objects=N".  lifecycle adds one line per step:
 *   step=RunPodSandbox calls=N errors=E p50_us= p90_us= p99_us= max_us=
 * elapsed_s runs from the common start to the end of the last thread; percentiles are
 * nearest-rank over all N calls.  The first failed call's status and message go to stderr.
 * Exit status: 0 if every call returned OK and every object was removed, 1 otherwise (or if the
 * tool itself failed or was interrupted), 2 on bad usage.
 *
 * Adding a plain RPC is one entry in rpcs[] below.  Only the v1 messages are generated; an entry
 * may be used with --api v1alpha2 because the v1alpha2 messages of these RPCs are
 * wire-identical to v1 for the fields this tool sets.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "api.pb-c.h"
#include "client/cri_client.h"

/* Limits that keep a typo from asking for gigabytes of latencies or thousands of threads. */
#define MAX_CALLS 100000000ULL    /* 800 MB of latencies */
#define MAX_CONCURRENCY 1024ULL
#define MAX_WARMUP 100000000ULL
#define MAX_TIMEOUT_MS ((unsigned long long)INT_MAX)
#define MAX_ENDPOINT 4096        /* cri_client_new's target buffer is a little larger */
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_OBJECTS 1000000ULL
#define DEFAULT_OBJECTS 10
#define MAX_STOP_TIMEOUT 3600ULL
#define DEFAULT_STOP_TIMEOUT 10
#define MAX_EXEC_TIMEOUT 3600ULL
#define DEFAULT_EXEC_TIMEOUT 10
#define MAX_COMMAND_ARGS 256
#define PULL_TIMEOUT_MS 600000
#define LIST_LEFT_MAX 10         /* IDs of objects left behind printed at most */
#define RUN_LABEL "litecri-bench/run"
#define POD_NAMESPACE "litecri-bench"

/*
 * The default container command: sleeps for an hour and exits 0 on SIGTERM (the shell is PID 1
 * of the container, which ignores signals it has no handler for, so a plain "sleep 3600" would
 * make every graceful StopContainer wait out its timeout).
 */
static char *default_command[] = { "sh", "-c", "trap 'kill $!; exit 0' TERM; sleep 3600 & wait" };

/* ExecSync's default command: the cheapest thing a probe can run (a shell that exits 0). */
static char *default_exec_command[] = { "/bin/sh", "-c", "true" };

/*
 * UpdateContainerResources alternates between these two sets, so that every call changes the
 * container's memory limit and CPU shares (both far above what the default command uses).
 */
static const struct {
	int64_t memory_limit_in_bytes;
	int64_t cpu_shares;
} update_sets[2] = { { 128LL << 20, 512 }, { 256LL << 20, 1024 } };

/* --- the RuntimeService calls the pod and container RPCs are made of ----------------------- */

enum op {
	OP_RUN_POD, OP_STOP_POD, OP_REMOVE_POD, OP_POD_STATUS, OP_LIST_PODS,
	OP_CREATE, OP_START, OP_STOP, OP_REMOVE, OP_STATUS, OP_LIST, OP_EXEC, OP_UPDATE,
	OP_IMAGE_STATUS, OP_PULL, OP_EXEC_URL,
	N_OPS
};

static const struct {
	const char *method;                           /* after "/runtime.<api>." */
	const ProtobufCMessageDescriptor *response;
} ops[N_OPS] = {
	[OP_RUN_POD] = { "RuntimeService/RunPodSandbox", &runtime__v1__run_pod_sandbox_response__descriptor },
	[OP_STOP_POD] = { "RuntimeService/StopPodSandbox", &runtime__v1__stop_pod_sandbox_response__descriptor },
	[OP_REMOVE_POD] = { "RuntimeService/RemovePodSandbox", &runtime__v1__remove_pod_sandbox_response__descriptor },
	[OP_POD_STATUS] = { "RuntimeService/PodSandboxStatus", &runtime__v1__pod_sandbox_status_response__descriptor },
	[OP_LIST_PODS] = { "RuntimeService/ListPodSandbox", &runtime__v1__list_pod_sandbox_response__descriptor },
	[OP_CREATE] = { "RuntimeService/CreateContainer", &runtime__v1__create_container_response__descriptor },
	[OP_START] = { "RuntimeService/StartContainer", &runtime__v1__start_container_response__descriptor },
	[OP_STOP] = { "RuntimeService/StopContainer", &runtime__v1__stop_container_response__descriptor },
	[OP_REMOVE] = { "RuntimeService/RemoveContainer", &runtime__v1__remove_container_response__descriptor },
	[OP_STATUS] = { "RuntimeService/ContainerStatus", &runtime__v1__container_status_response__descriptor },
	[OP_LIST] = { "RuntimeService/ListContainers", &runtime__v1__list_containers_response__descriptor },
	[OP_EXEC] = { "RuntimeService/ExecSync", &runtime__v1__exec_sync_response__descriptor },
	[OP_UPDATE] = { "RuntimeService/UpdateContainerResources",
			&runtime__v1__update_container_resources_response__descriptor },
	[OP_IMAGE_STATUS] = { "ImageService/ImageStatus", &runtime__v1__image_status_response__descriptor },
	[OP_PULL] = { "ImageService/PullImage", &runtime__v1__pull_image_response__descriptor },
	[OP_EXEC_URL] = { "RuntimeService/Exec", &runtime__v1__exec_response__descriptor },
};

/* The RPC's own name, e.g. "RunPodSandbox". */
static const char *op_name(enum op op)
{
	return strchr(ops[op].method, '/') + 1;
}

/* What every thread reads and nobody writes once the threads run. */
static struct {
	const char *endpoint;
	const char *api;
	int timeout_ms;
	char method[N_OPS][96];     /* "/runtime.<api>.<service>/<rpc>" */
	char run_id[17];            /* 16 random hex digits */
	char log_dir[PATH_MAX];     /* the pods' log_directory ("" until made) */
	const char *image;          /* --image */
	char **command;             /* the containers' command; n_command 0: the image's own */
	size_t n_command;
	bool host_network;
	int64_t stop_timeout;       /* StopContainer's timeout in seconds */
	uint64_t remove_after_ms;   /* lifecycle: untimed pause between StopContainer and RemoveContainer */
	char **exec_command;        /* ExecSync's cmd */
	size_t n_exec_command;
	int64_t exec_timeout;       /* ExecSync's timeout in seconds (0: none) */
	bool keep;
	bool start;                 /* --start: the read RPCs' containers are started too */
	uint64_t objects;
} ctx = { .command = default_command, .n_command = 3, .stop_timeout = DEFAULT_STOP_TIMEOUT,
	  .exec_command = default_exec_command, .n_exec_command = 3, .exec_timeout = DEFAULT_EXEC_TIMEOUT,
	  .objects = DEFAULT_OBJECTS };

/* Set by the signal thread; the threads stop taking calls. */
static atomic_bool interrupted;

/* Failed removals (per call and at the end) and what --keep left; reported after the run. */
static atomic_uint_fast64_t cleanup_failed_calls;
static atomic_flag cleanup_first_taken = ATOMIC_FLAG_INIT;
static char *cleanup_first;         /* written by the thread that took the flag, read after join */
static atomic_uint_fast64_t kept_pods, kept_containers;

/* --- requests built once (the plain RPCs) ------------------------------------------------- */

/*
 * A request builder returns a message in static storage; it is called once, before the threads
 * start, and the message is only read afterwards (packed by every call).
 */
static const ProtobufCMessage *build_version(void)
{
	static Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = (char *)"0.1.0";    /* what the kubelet sends */
	return &req.base;
}

static const ProtobufCMessage *build_status(void)
{
	static Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	req.verbose = 0;
	return &req.base;
}

static const ProtobufCMessage *build_pull_image(void)
{
	static Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	static Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	spec.image = (char *)ctx.image;
	req.image = &spec;
	return &req.base;
}

static const ProtobufCMessage *build_image_status(void)
{
	static Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	static Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	spec.image = (char *)ctx.image;
	req.image = &spec;
	return &req.base;
}

static const ProtobufCMessage *build_list_images(void)
{
	static Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	return &req.base;
}

static const ProtobufCMessage *build_remove_image(void)
{
	static Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	static Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	spec.image = (char *)ctx.image;
	req.image = &spec;
	return &req.base;
}

static const ProtobufCMessage *build_image_fs_info(void)
{
	static Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	return &req.base;
}

/* Every pod and container of every run: kubelet's relist asks with no filter. */
static const ProtobufCMessage *build_list_pods(void)
{
	static Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	return &req.base;
}

static const ProtobufCMessage *build_list_containers(void)
{
	static Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	return &req.base;
}

static const ProtobufCMessage *build_list_container_stats(void)
{
	static Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
	return &req.base;
}

/* --- pod and container requests ------------------------------------------------------------ */

/*
 * A PodSandboxConfig with its parts (it points into itself: initialize in place, never copy).
 * tag makes the name and UID unique within the run: name "bench-<run id>-<tag>" (also the
 * hostname, except with --host-network: kubelet sets none for a pod in the node's network, whose
 * UTS namespace is the node's too, and runc refuses a hostname there), UID "<run id>-<tag>", namespace "litecri-bench", label litecri-bench/run=<run id>,
 * namespaces as kubelet sets them for a pod without hostPID/shareProcessNamespace (PID per
 * container; network of the pod, or the node's with --host-network).
 */
struct podcfg {
	Runtime__V1__PodSandboxConfig config;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__LinuxPodSandboxConfig linux_;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__PodSandboxConfig__LabelsEntry label;
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[1];
	char name[64], uid[48];
};

static void podcfg_init(struct podcfg *p, const char *tag)
{
	*p = (struct podcfg){
		.config = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT,
		.md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT,
		.linux_ = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT,
		.ns = RUNTIME__V1__NAMESPACE_OPTION__INIT,
		.label = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	};
	/* The security contexts have deprecated fields, which clang reports the _INIT macro's
	 * positional initialisation as using (-Wdeprecated-declarations); the generated init
	 * function sets the same defaults without naming them here. */
	runtime__v1__linux_sandbox_security_context__init(&p->sc);
	/* The tags are short ("t3", "w1-17", "123456"): truncation would be a bug. */
	int n = snprintf(p->name, sizeof p->name, "bench-%s-%s", ctx.run_id, tag);
	if (n < 0 || (size_t)n >= sizeof p->name)
		abort();
	n = snprintf(p->uid, sizeof p->uid, "%s-%s", ctx.run_id, tag);
	if (n < 0 || (size_t)n >= sizeof p->uid)
		abort();
	p->md.name = p->name;
	p->md.uid = p->uid;
	p->md.namespace_ = (char *)POD_NAMESPACE;
	p->config.metadata = &p->md;
	if (!ctx.host_network)
		p->config.hostname = p->name;
	p->config.log_directory = ctx.log_dir;
	p->label.key = (char *)RUN_LABEL;
	p->label.value = ctx.run_id;
	p->labels[0] = &p->label;
	p->config.labels = p->labels;
	p->config.n_labels = 1;
	/* kubelet's defaults: a PID namespace per container, IPC per pod, the pod's network or the node's */
	p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	if (ctx.host_network)
		p->ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	p->sc.namespace_options = &p->ns;
	p->linux_.security_context = &p->sc;
	p->config.linux = &p->linux_;
}

/*
 * A CreateContainerRequest for a container named `name` in pod pod_id (whose config is pod),
 * with --image, the command, log_path "<pod name>_<name>.log", label litecri-bench/run and the
 * pod's network mode.  Initialize in place.
 */
struct ctrcfg {
	Runtime__V1__CreateContainerRequest req;
	Runtime__V1__ContainerConfig config;
	Runtime__V1__ContainerMetadata md;
	Runtime__V1__ImageSpec image;
	Runtime__V1__LinuxContainerConfig linux_;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__ContainerConfig__LabelsEntry label;
	Runtime__V1__ContainerConfig__LabelsEntry *labels[1];
	char name[32], log_path[112];
};

static void ctrcfg_init(struct ctrcfg *c, const char *pod_id, struct podcfg *pod, const char *name)
{
	*c = (struct ctrcfg){
		.req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT,
		.config = RUNTIME__V1__CONTAINER_CONFIG__INIT,
		.md = RUNTIME__V1__CONTAINER_METADATA__INIT,
		.image = RUNTIME__V1__IMAGE_SPEC__INIT,
		.linux_ = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT,
		.ns = RUNTIME__V1__NAMESPACE_OPTION__INIT,
		.label = RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT,
	};
	runtime__v1__linux_container_security_context__init(&c->sc); /* not the macro: see podcfg_init */
	int n = snprintf(c->name, sizeof c->name, "%s", name);
	if (n < 0 || (size_t)n >= sizeof c->name)
		abort();
	n = snprintf(c->log_path, sizeof c->log_path, "%s_%s.log", pod->name, name);
	if (n < 0 || (size_t)n >= sizeof c->log_path)
		abort();
	c->md.name = c->name;
	c->config.metadata = &c->md;
	c->image.image = (char *)ctx.image;
	c->config.image = &c->image;
	c->config.command = ctx.command;
	c->config.n_command = ctx.n_command;
	c->config.log_path = c->log_path;
	c->label.key = (char *)RUN_LABEL;
	c->label.value = ctx.run_id;
	c->labels[0] = &c->label;
	c->config.labels = c->labels;
	c->config.n_labels = 1;
	c->ns.network = pod->ns.network;
	c->ns.pid = pod->ns.pid;
	c->sc.namespace_options = &c->ns;
	c->linux_.security_context = &c->sc;
	c->config.linux = &c->linux_;
	c->req.pod_sandbox_id = (char *)pod_id;
	c->req.config = &c->config;
	c->req.sandbox_config = &pod->config;
}

/*
 * One call of op with req; its status, the response in *resp if resp != NULL (free it), and the
 * status message in *details (malloc'ed, may be NULL; free it).  extra_ms is added to the deadline
 * (StopContainer's own timeout).
 */
static grpc_status_code call_op(struct cri_client *cl, enum op op, const ProtobufCMessage *req,
				ProtobufCMessage **resp, char **details, long long extra_ms)
{
	long long t = (long long)ctx.timeout_ms + extra_ms;
	ProtobufCMessage *r = NULL;
	grpc_status_code st = cri_client_call(cl, ctx.method[op], req, ops[op].response, &r, details,
					      t > INT_MAX ? INT_MAX : (int)t);
	if (resp)
		*resp = r;
	else if (r)
		protobuf_c_message_free_unpacked(r, NULL);
	return st;
}

/* RunPodSandbox; on OK the new pod's ID in *id (malloc'ed).  An OK without an ID is INTERNAL. */
static grpc_status_code run_pod(struct cri_client *cl, struct podcfg *pod, char **id, char **details)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &pod->config;
	ProtobufCMessage *resp = NULL;
	*id = NULL;
	grpc_status_code st = call_op(cl, OP_RUN_POD, &req.base, &resp, details, 0);
	if (st == GRPC_STATUS_OK) {
		const char *got = ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id;
		if (!got || !got[0]) {
			st = GRPC_STATUS_INTERNAL;
			*details = strdup("the response has no pod_sandbox_id");
		} else if (!(*id = strdup(got))) {
			st = GRPC_STATUS_RESOURCE_EXHAUSTED;
			*details = strdup("litecri-bench: out of memory");
		}
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/* CreateContainer; on OK the new container's ID in *id (malloc'ed). */
static grpc_status_code create_container(struct cri_client *cl, const char *pod_id, struct podcfg *pod,
					 const char *name, char **id, char **details)
{
	struct ctrcfg c;
	ctrcfg_init(&c, pod_id, pod, name);
	ProtobufCMessage *resp = NULL;
	*id = NULL;
	grpc_status_code st = call_op(cl, OP_CREATE, &c.req.base, &resp, details, 0);
	if (st == GRPC_STATUS_OK) {
		const char *got = ((Runtime__V1__CreateContainerResponse *)resp)->container_id;
		if (!got || !got[0]) {
			st = GRPC_STATUS_INTERNAL;
			*details = strdup("the response has no container_id");
		} else if (!(*id = strdup(got))) {
			st = GRPC_STATUS_RESOURCE_EXHAUSTED;
			*details = strdup("litecri-bench: out of memory");
		}
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/*
 * One of the calls that take an object's ID: StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * StartContainer, StopContainer (with stop_timeout seconds), RemoveContainer, ContainerStatus.
 */
static grpc_status_code id_call(struct cri_client *cl, enum op op, const char *id, int64_t stop_timeout,
				char **details)
{
	char *i = (char *)id;
	switch (op) {
	case OP_STOP_POD: {
		Runtime__V1__StopPodSandboxRequest r = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	case OP_REMOVE_POD: {
		Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	case OP_POD_STATUS: {
		Runtime__V1__PodSandboxStatusRequest r = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		r.pod_sandbox_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	case OP_START: {
		Runtime__V1__StartContainerRequest r = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		r.container_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	case OP_STOP: {
		Runtime__V1__StopContainerRequest r = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		r.container_id = i;
		r.timeout = stop_timeout;
		return call_op(cl, op, &r.base, NULL, details, stop_timeout * 1000);
	}
	case OP_REMOVE: {
		Runtime__V1__RemoveContainerRequest r = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		r.container_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	case OP_STATUS: {
		Runtime__V1__ContainerStatusRequest r = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
		r.container_id = i;
		return call_op(cl, op, &r.base, NULL, details, 0);
	}
	default:
		abort();    /* not an ID call: a bug */
	}
}

/*
 * ExecSync of --exec-command in container id with --exec-timeout (added to the deadline).  An OK
 * whose exit_code is not 0 is returned as UNKNOWN with the exit code and the start of the
 * command's stderr in *details: every call must run the command successfully.
 */
static grpc_status_code exec_call(struct cri_client *cl, const char *id, char **details)
{
	Runtime__V1__ExecSyncRequest r = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	r.container_id = (char *)id;
	r.cmd = ctx.exec_command;
	r.n_cmd = ctx.n_exec_command;
	r.timeout = ctx.exec_timeout;
	ProtobufCMessage *resp = NULL;
	grpc_status_code st = call_op(cl, OP_EXEC, &r.base, &resp, details, ctx.exec_timeout * 1000);
	if (st == GRPC_STATUS_OK) {
		const Runtime__V1__ExecSyncResponse *x = (const Runtime__V1__ExecSyncResponse *)resp;
		if (x->exit_code != 0) {
			/* the first 200 bytes of stderr on one line: control characters become spaces */
			char excerpt[201];
			size_t n = x->stderr.len > 200 ? 200 : x->stderr.len;
			for (size_t k = 0; k < n; k++)
				excerpt[k] = x->stderr.data[k] < 0x20 || x->stderr.data[k] == 0x7f ? ' '
										      : (char)x->stderr.data[k];
			while (n > 0 && excerpt[n - 1] == ' ')
				n--;
			excerpt[n] = '\0';
			st = GRPC_STATUS_UNKNOWN;
			free(*details);
			if (asprintf(details, "the command exited %d (stderr: \"%s\")", (int)x->exit_code, excerpt) < 0)
				*details = NULL;
		}
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/* --- Exec: the URL, then a whole session over WebSocket ------------------------------------- */

/* A connected TCP socket to the http://HOST:PORT of url (HOST an IPv4 or [IPv6] literal); *path
 * points into url at the path.  -1 with *details on failure. */
static int ws_connect(const char *url, const char **path, char **details)
{
	char host[64], port[8];
	const char *h = url + strlen("http://");
	if (strncmp(url, "http://", 7) != 0 || !(*path = strchr(h, '/'))) {
		if (asprintf(details, "Exec: URL %s is not http://HOST:PORT/PATH", url) < 0)
			*details = NULL;
		return -1;
	}
	const char *colon = memrchr(h, ':', (size_t)(*path - h));
	if (!colon || (size_t)(colon - h) >= sizeof host || (size_t)(*path - colon - 1) >= sizeof port) {
		if (asprintf(details, "Exec: URL %s has no port", url) < 0)
			*details = NULL;
		return -1;
	}
	size_t hl = (size_t)(colon - h);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, hl);
		host[strlen(host) - 1] = '\0';
	}
	memcpy(port, colon + 1, (size_t)(*path - colon - 1));
	port[*path - colon - 1] = '\0';
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		if (asprintf(details, "Exec: URL %s: not a numeric address", url) < 0)
			*details = NULL;
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0 && asprintf(details, "Exec: connect to %s: %s", url, strerror(errno)) < 0)
		*details = NULL;
	return fd;
}

/* Read exactly n bytes (buffered: *have bytes wait at buf). */
static int ws_read(int fd, uint8_t *buf, size_t *have, size_t cap, size_t n)
{
	while (*have < n) {
		ssize_t r = read(fd, buf + *have, cap - *have);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	return 0;
}

static void ws_take(uint8_t *buf, size_t *have, size_t n)
{
	memmove(buf, buf + n, *have - n);
	*have -= n;
}

/*
 * One session on an Exec URL as a WebSocket client (subprotocol v5.channel.k8s.io, no stdin): the
 * upgrade, every frame until the status on channel 3 (metav1.Status: Success, or the exit code),
 * then the close.  What kubectl does for `kubectl exec POD -- true`, minus kubectl.
 */
static grpc_status_code ws_session(const char *url, char **details)
{
	const char *path;
	int fd = ws_connect(url, &path, details);
	if (fd < 0)
		return GRPC_STATUS_UNAVAILABLE;
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: bGl0ZWNyaS1iZW5jaC1rZXk=\r\nSec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n",
			 path);
	static __thread uint8_t buf[1 << 16];
	size_t have = 0;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	const char *why = "the session ended without a status";
	if (n <= 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
		why = "the upgrade request could not be sent";
		goto out;
	}
	/* the 101 response: up to its blank line */
	for (;;) {
		uint8_t *end = have >= 4 ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
		if (end) {
			if (have < 12 || memcmp(buf + 9, "101", 3) != 0) {
				why = "the server did not switch protocols";
				goto out;
			}
			ws_take(buf, &have, (size_t)(end + 4 - buf));
			break;
		}
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r <= 0 || have + (size_t)r >= sizeof buf) {
			why = "no upgrade response";
			goto out;
		}
		have += (size_t)r;
	}
	for (;;) {
		if (ws_read(fd, buf, &have, sizeof buf, 2) < 0)
			goto out;
		int op = buf[0] & 0x0f;
		uint64_t len = buf[1] & 0x7f;
		size_t hdr = 2;
		if (len == 126 || len == 127) {
			size_t ext = len == 126 ? 2 : 8;
			if (ws_read(fd, buf, &have, sizeof buf, 2 + ext) < 0)
				goto out;
			len = 0;
			for (size_t k = 0; k < ext; k++)
				len = len << 8 | buf[2 + k];
			hdr += ext;
		}
		if (len > sizeof buf - hdr || ws_read(fd, buf, &have, sizeof buf, hdr + (size_t)len) < 0) {
			why = "a frame too large for the bench";
			goto out;
		}
		const uint8_t *p = buf + hdr;
		if (op == 8) /* close */
			goto out;
		if ((op == 1 || op == 2) && len >= 1 && p[0] == 3) { /* the error channel: the status */
			if (memmem(p, (size_t)len, "\"Success\"", 9)) {
				st = GRPC_STATUS_OK;
			} else {
				why = "the command failed";
				if (asprintf(details, "Exec %s: %.*s", url, (int)(len - 1), (const char *)p + 1) < 0)
					*details = NULL;
			}
			static const uint8_t close_frame[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };
			(void)!write(fd, close_frame, sizeof close_frame);
			goto out;
		}
		ws_take(buf, &have, hdr + (size_t)len);
	}
out:
	close(fd);
	if (st != GRPC_STATUS_OK && !*details && asprintf(details, "Exec session %s: %s", url, why) < 0)
		*details = NULL;
	return st;
}

/* Exec of --exec-command in container id (stdout only, no tty): the URL, then its session. */
static grpc_status_code exec_session_call(struct cri_client *cl, const char *id, char **details)
{
	Runtime__V1__ExecRequest r = RUNTIME__V1__EXEC_REQUEST__INIT;
	r.container_id = (char *)id;
	r.cmd = ctx.exec_command;
	r.n_cmd = ctx.n_exec_command;
	r.stdout = true;
	ProtobufCMessage *resp = NULL;
	grpc_status_code st = call_op(cl, OP_EXEC_URL, &r.base, &resp, details, 0);
	if (st == GRPC_STATUS_OK)
		st = ws_session(((const Runtime__V1__ExecResponse *)resp)->url, details);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/* UpdateContainerResources of container id to update_sets[set]. */
static grpc_status_code update_call(struct cri_client *cl, const char *id, unsigned set, char **details)
{
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	res.memory_limit_in_bytes = update_sets[set].memory_limit_in_bytes;
	res.cpu_shares = update_sets[set].cpu_shares;
	Runtime__V1__UpdateContainerResourcesRequest r = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	r.container_id = (char *)id;
	r.linux = &res;
	return call_op(cl, OP_UPDATE, &r.base, NULL, details, 0);
}

/* "<Op>[ <id>]: <STATUS>: <details>", malloc'ed (NULL if out of memory). */
static char *describe_failure(enum op op, const char *id, grpc_status_code st, const char *details)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s: %s: %s", op_name(op), id ? " " : "", id ? id : "", cri_status_name(st),
		     details ? details : "") < 0)
		return NULL;
	return s;
}

/* The hint printed after a failure whose status is UNIMPLEMENTED. */
static void hint_unimplemented(enum op op, grpc_status_code st)
{
	if (st == GRPC_STATUS_UNIMPLEMENTED)
		fprintf(stderr, "litecri-bench: the endpoint does not implement %s (it answered UNIMPLEMENTED)\n",
			ctx.method[op]);
}

/* --- the objects a thread made ------------------------------------------------------------- */

/* A list of malloc'ed IDs, owned by the list. */
struct idlist {
	char **v;
	size_t n, cap;
};

/* Append id (the list takes it).  False if out of memory (the caller still owns id). */
static bool idlist_push(struct idlist *l, char *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return true;
}

static void idlist_free(struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct idlist){ 0 };
}

/* Count a failed removal; the first one's description is kept for the report. */
static void cleanup_failed(enum op op, const char *id, grpc_status_code st, const char *details)
{
	atomic_fetch_add(&cleanup_failed_calls, 1);
	if (!atomic_flag_test_and_set(&cleanup_first_taken))
		cleanup_first = describe_failure(op, id, st, details);
}

/* A stop or remove call of the cleanup, where NOT_FOUND counts as done (gone already): true if
 * done; a failure is counted. */
static bool remove_call(struct cri_client *cl, enum op op, const char *id, int64_t stop_timeout)
{
	char *details = NULL;
	grpc_status_code st = id_call(cl, op, id, stop_timeout, &details);
	bool ok = st == GRPC_STATUS_OK || st == GRPC_STATUS_NOT_FOUND;
	if (!ok)
		cleanup_failed(op, id, st, details);
	free(details);
	return ok;
}

/*
 * Remove container id (which the caller gives up): StopContainer with timeout 0 first unless
 * `stopped` (never started, or stopped already), then RemoveContainer, also if the stop failed
 * (the CRI has RemoveContainer remove a running container too).  Every failed call is counted.
 * With --keep it is only counted as kept.  If RemoveContainer fails, id goes to *left for the
 * final sweep (whose own *left is the list of what could not be removed).
 */
static void drop_container(struct cri_client *cl, char *id, bool stopped, struct idlist *left)
{
	if (ctx.keep) {
		atomic_fetch_add(&kept_containers, 1);
		free(id);
		return;
	}
	if (!stopped)
		remove_call(cl, OP_STOP, id, 0);
	if (remove_call(cl, OP_REMOVE, id, 0)) {
		free(id);
		return;
	}
	if (!idlist_push(left, id)) {
		fprintf(stderr, "litecri-bench: out of memory; container %s is left behind\n", id);
		free(id);
	}
}

/* Remove pod id likewise: StopPodSandbox unless `stopped`, then RemovePodSandbox. */
static void drop_pod(struct cri_client *cl, char *id, bool stopped, struct idlist *left)
{
	if (ctx.keep) {
		atomic_fetch_add(&kept_pods, 1);
		free(id);
		return;
	}
	if (!stopped)
		remove_call(cl, OP_STOP_POD, id, 0);
	if (remove_call(cl, OP_REMOVE_POD, id, 0)) {
		free(id);
		return;
	}
	if (!idlist_push(left, id)) {
		fprintf(stderr, "litecri-bench: out of memory; pod %s is left behind\n", id);
		free(id);
	}
}

/* --- the RPCs ------------------------------------------------------------------------------ */

struct worker;

/* The lifecycle's steps, in order. */
static const enum op lifecycle_steps[] = { OP_RUN_POD, OP_CREATE, OP_START, OP_STOP, OP_REMOVE,
					   OP_STOP_POD, OP_REMOVE_POD };
#define N_STEPS (sizeof lifecycle_steps / sizeof lifecycle_steps[0])

/* What one call of a stateful RPC gives: the timed part's latency and status. */
struct sample {
	uint64_t lat_ns;
	grpc_status_code st;
	enum op failed_op;          /* which call failed, when st != OK */
	char *details;              /* its message (malloc'ed, may be NULL) */
	char *prep_error;           /* the untimed preparation failed: what (malloc'ed); nothing timed */
	grpc_status_code prep_st;
	enum op prep_op;
	/* lifecycle only: each step's latency and status; steps after a failed one are not made */
	bool step_made[N_STEPS];
	uint64_t step_ns[N_STEPS];
	grpc_status_code step_st[N_STEPS];
};

/* One call of a stateful RPC: untimed preparation, the timed RPC, untimed removal.  tag names
 * the call's objects. */
typedef void (*iteration_fn)(struct worker *w, uint64_t i, const char *tag, struct sample *s);

enum objects { OBJ_NONE, OBJ_PODS, OBJ_CONTAINERS };

struct rpc {
	const char *name;                                /* --rpc value and rpc= in the output */
	bool needs_image;                                /* --image is required */
	/* plain RPCs: one request built once */
	const char *method;                              /* after "/runtime.<api>." */
	const ProtobufCMessage *(*build_request)(void);
	const ProtobufCMessageDescriptor *response;
	/* stateful RPCs (build_request NULL): one call is this */
	iteration_fn iteration;
	enum objects objects;                            /* what setup makes --objects of */
	bool thread_pod;                                 /* setup runs a pod per thread */
	bool steps;                                      /* lifecycle: per-step lines */
	bool thread_container;                           /* setup also starts a container in that pod */
};

static void it_run_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_stop_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_remove_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_pod_status(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_create(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_start(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_stop(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_remove(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_status(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_lifecycle(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_exec(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_exec_session(struct worker *w, uint64_t i, const char *tag, struct sample *s);
static void it_update(struct worker *w, uint64_t i, const char *tag, struct sample *s);

#define PLAIN(name, img, method, build, resp) { name, img, method, build, resp, NULL, OBJ_NONE, false, false, false }
#define STATEFUL(name, img, it, objects, pod, steps) { name, img, NULL, NULL, NULL, it, objects, pod, steps, false }
/* An RPC on the running container setup starts in each thread's pod. */
#define ON_CONTAINER(name, it) { name, true, NULL, NULL, NULL, it, OBJ_NONE, true, false, true }

static const struct rpc rpcs[] = {
	PLAIN("Version", false, "RuntimeService/Version", build_version, &runtime__v1__version_response__descriptor),
	PLAIN("Status", false, "RuntimeService/Status", build_status, &runtime__v1__status_response__descriptor),
	PLAIN("PullImage", true, "ImageService/PullImage", build_pull_image,
	      &runtime__v1__pull_image_response__descriptor),
	PLAIN("ImageStatus", true, "ImageService/ImageStatus", build_image_status,
	      &runtime__v1__image_status_response__descriptor),
	PLAIN("ListImages", false, "ImageService/ListImages", build_list_images,
	      &runtime__v1__list_images_response__descriptor),
	PLAIN("RemoveImage", true, "ImageService/RemoveImage", build_remove_image,
	      &runtime__v1__remove_image_response__descriptor),
	PLAIN("ImageFsInfo", false, "ImageService/ImageFsInfo", build_image_fs_info,
	      &runtime__v1__image_fs_info_response__descriptor),
	STATEFUL("RunPodSandbox", false, it_run_pod, OBJ_NONE, false, false),
	STATEFUL("StopPodSandbox", false, it_stop_pod, OBJ_NONE, false, false),
	STATEFUL("RemovePodSandbox", false, it_remove_pod, OBJ_NONE, false, false),
	STATEFUL("PodSandboxStatus", false, it_pod_status, OBJ_PODS, false, false),
	{ "ListPodSandbox", false, "RuntimeService/ListPodSandbox", build_list_pods,
	  &runtime__v1__list_pod_sandbox_response__descriptor, NULL, OBJ_PODS, false, false, false },
	STATEFUL("CreateContainer", true, it_create, OBJ_NONE, true, false),
	STATEFUL("StartContainer", true, it_start, OBJ_NONE, true, false),
	STATEFUL("StopContainer", true, it_stop, OBJ_NONE, true, false),
	STATEFUL("RemoveContainer", true, it_remove, OBJ_NONE, true, false),
	STATEFUL("ContainerStatus", true, it_status, OBJ_CONTAINERS, false, false),
	{ "ListContainers", true, "RuntimeService/ListContainers", build_list_containers,
	  &runtime__v1__list_containers_response__descriptor, NULL, OBJ_CONTAINERS, false, false, false },
	{ "ListContainerStats", true, "RuntimeService/ListContainerStats", build_list_container_stats,
	  &runtime__v1__list_container_stats_response__descriptor, NULL, OBJ_CONTAINERS, false, false, false },
	ON_CONTAINER("ExecSync", it_exec),
	ON_CONTAINER("Exec", it_exec_session),
	ON_CONTAINER("UpdateContainerResources", it_update),
	STATEFUL("lifecycle", true, it_lifecycle, OBJ_NONE, false, true),
};
#define N_RPCS (sizeof rpcs / sizeof rpcs[0])

/* The RPC makes pods (and so needs the log directory and the cleanup machinery). */
static bool rpc_stateful(const struct rpc *rpc)
{
	return rpc->iteration || rpc->objects != OBJ_NONE || rpc->thread_pod;
}

static const char *const apis[] = { "v1", "v1alpha2" };
#define N_APIS (sizeof apis / sizeof apis[0])

/* --- usage and arguments ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: litecri-bench --endpoint ADDR --rpc NAME --calls N --concurrency C [OPTIONS]\n"
		"\n"
		"Makes N timed calls of one CRI RPC over C connections (one thread each) and prints\n"
		"one line: rpc= api= calls= concurrency= errors= elapsed_s= calls_per_s= p50_us=\n"
		"p90_us= p99_us= max_us= (objects= for the read RPCs that need objects; lifecycle adds\n"
		"a step= line per step).  Exit status 0 if every call succeeded and everything the\n"
		"bench made was removed, 1 otherwise, 2 on bad usage.\n"
		"\n"
		"  --endpoint ADDR     CRI socket: unix:///path, unix:/path or /path\n"
		"  --rpc NAME          ");
	size_t col = 22;
	for (size_t i = 0; i < N_RPCS; i++) {
		size_t len = strlen(rpcs[i].name) + (i + 1 < N_RPCS ? 1 : 0);
		if (i > 0 && col + 1 + len > 90) {
			fprintf(f, "\n                     ");
			col = 21;
		}
		fprintf(f, "%s%s%s", i > 0 ? " " : "", rpcs[i].name, i + 1 < N_RPCS ? "," : "");
		col += (i > 0 ? 1 : 0) + len;
	}
	fprintf(f,
		"\n"
		"  --calls N           total calls to time, 1..%llu\n"
		"  --concurrency C     threads, each with its own connection, 1..%llu\n"
		"  --api VERSION       ",
		MAX_CALLS, MAX_CONCURRENCY);
	for (size_t i = 0; i < N_APIS; i++)
		fprintf(f, "%s%s", i ? " or " : "", apis[i]);
	fprintf(f,
		" (default %s)\n"
		"  --timeout-ms MS     deadline of each call, 1..%llu (default %d)\n"
		"  --warmup N          untimed calls before the measurement, split across the\n"
		"                      threads, 0..%llu (default 0)\n"
		"  --image REF         the image of the image RPCs, and of the containers the\n"
		"                      container RPCs and lifecycle make (it must be present)\n"
		"  --pull              pull --image first (untimed) instead of requiring it\n"
		"  --objects N         pods (PodSandboxStatus, ListPodSandbox) or containers\n"
		"                      (ContainerStatus, ListContainers, ListContainerStats)\n"
		"                      made before timing,\n"
		"                      1..%llu (default %d)\n"
		"  --start             start those containers too (default: created only)\n"
		"  --command ARG       the containers' command, one argument per --command\n"
		"                      (default: sh -c \"trap 'kill $!; exit 0' TERM; sleep 3600 & wait\")\n"
		"  --image-command     run the image's own entrypoint and command instead\n"
		"  --host-network      pods in the node's network namespace (no CNI needed)\n"
		"  --stop-timeout S    StopContainer's timeout in the StopContainer and lifecycle\n"
		"                      calls, 0..%llu seconds (default %d)\n"
		"  --remove-after MS   lifecycle: wait MS (untimed) between StopContainer and\n"
		"                      RemoveContainer, as kubelet removes an exited container\n"
		"                      long after its stop, 0..60000 (default 0)\n"
		"  --exec-command ARG  ExecSync's command, one argument per --exec-command\n"
		"                      (default: /bin/sh -c true); it must exit 0\n"
		"  --exec-timeout S    ExecSync's timeout, 0..%llu seconds, 0: none (default %d)\n"
		"  --keep              leave every pod, container and log the bench made\n"
		"  -h, --help          this text\n",
		apis[0], MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, MAX_WARMUP, MAX_OBJECTS, DEFAULT_OBJECTS,
		MAX_STOP_TIMEOUT, DEFAULT_STOP_TIMEOUT, MAX_EXEC_TIMEOUT, DEFAULT_EXEC_TIMEOUT);
}

struct options {
	const char *endpoint;
	const struct rpc *rpc;
	const char *api;
	unsigned long long calls;
	unsigned long long concurrency;
	unsigned long long timeout_ms;
	unsigned long long warmup;
	bool pull;
};

/* Decimal digits only (no sign, no spaces), min..max.  False with a message otherwise. */
static bool parse_count(const char *opt, const char *s, unsigned long long min, unsigned long long max,
			unsigned long long *out)
{
	if (s[0] < '0' || s[0] > '9') {
		fprintf(stderr, "litecri-bench: --%s: '%s' is not a decimal integer\n", opt, s);
		return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0') {
		fprintf(stderr, "litecri-bench: --%s: '%s' is not a decimal integer\n", opt, s);
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		fprintf(stderr, "litecri-bench: --%s: '%s' is out of range %llu..%llu\n", opt, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

enum {
	OPT_ENDPOINT = 256, OPT_RPC, OPT_CALLS, OPT_CONCURRENCY, OPT_API, OPT_TIMEOUT, OPT_WARMUP, OPT_IMAGE,
	OPT_PULL, OPT_OBJECTS, OPT_COMMAND, OPT_IMAGE_COMMAND, OPT_HOST_NETWORK, OPT_STOP_TIMEOUT, OPT_REMOVE_AFTER, OPT_KEEP,
	OPT_EXEC_COMMAND, OPT_EXEC_TIMEOUT, OPT_START
};

static const struct option long_options[] = {
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "rpc", required_argument, NULL, OPT_RPC },
	{ "calls", required_argument, NULL, OPT_CALLS },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "api", required_argument, NULL, OPT_API },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "pull", no_argument, NULL, OPT_PULL },
	{ "objects", required_argument, NULL, OPT_OBJECTS },
	{ "command", required_argument, NULL, OPT_COMMAND },
	{ "image-command", no_argument, NULL, OPT_IMAGE_COMMAND },
	{ "host-network", no_argument, NULL, OPT_HOST_NETWORK },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "remove-after", required_argument, NULL, OPT_REMOVE_AFTER },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "start", no_argument, NULL, OPT_START },
	{ "exec-command", required_argument, NULL, OPT_EXEC_COMMAND },
	{ "exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --command and --exec-command arguments (pointers into argv). */
static char *command_args[MAX_COMMAND_ARGS];
static char *exec_command_args[MAX_COMMAND_ARGS];

/* 0: run; 1: --help was printed; -1: bad usage (message printed).  Fills *o and ctx. */
static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .api = apis[0], .timeout_ms = DEFAULT_TIMEOUT_MS };
	bool have_calls = false, have_concurrency = false, image_command = false;
	size_t n_command = 0, n_exec_command = 0;
	unsigned long long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			return 1;
		case OPT_ENDPOINT:
			if (optarg[0] == '\0' || strlen(optarg) > MAX_ENDPOINT) {
				fprintf(stderr, "litecri-bench: --endpoint: empty or longer than %d bytes\n",
					MAX_ENDPOINT);
				return -1;
			}
			o->endpoint = optarg;
			break;
		case OPT_RPC:
			o->rpc = NULL;
			for (size_t i = 0; i < N_RPCS; i++)
				if (strcmp(optarg, rpcs[i].name) == 0)
					o->rpc = &rpcs[i];
			if (!o->rpc) {
				fprintf(stderr, "litecri-bench: --rpc: unknown RPC '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_API:
			o->api = NULL;
			for (size_t i = 0; i < N_APIS; i++)
				if (strcmp(optarg, apis[i]) == 0)
					o->api = apis[i];
			if (!o->api) {
				fprintf(stderr, "litecri-bench: --api: unknown API version '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_CALLS:
			if (!parse_count("calls", optarg, 1, MAX_CALLS, &o->calls))
				return -1;
			have_calls = true;
			break;
		case OPT_CONCURRENCY:
			if (!parse_count("concurrency", optarg, 1, MAX_CONCURRENCY, &o->concurrency))
				return -1;
			have_concurrency = true;
			break;
		case OPT_TIMEOUT:
			if (!parse_count("timeout-ms", optarg, 1, MAX_TIMEOUT_MS, &o->timeout_ms))
				return -1;
			break;
		case OPT_WARMUP:
			if (!parse_count("warmup", optarg, 0, MAX_WARMUP, &o->warmup))
				return -1;
			break;
		case OPT_IMAGE:
			if (optarg[0] == '\0') {
				fprintf(stderr, "litecri-bench: --image: empty\n");
				return -1;
			}
			ctx.image = optarg;
			break;
		case OPT_PULL:
			o->pull = true;
			break;
		case OPT_OBJECTS:
			if (!parse_count("objects", optarg, 1, MAX_OBJECTS, &v))
				return -1;
			ctx.objects = v;
			break;
		case OPT_COMMAND:
			if (n_command == MAX_COMMAND_ARGS) {
				fprintf(stderr, "litecri-bench: --command: more than %d arguments\n", MAX_COMMAND_ARGS);
				return -1;
			}
			command_args[n_command++] = optarg;
			break;
		case OPT_IMAGE_COMMAND:
			image_command = true;
			break;
		case OPT_HOST_NETWORK:
			ctx.host_network = true;
			break;
		case OPT_STOP_TIMEOUT:
			if (!parse_count("stop-timeout", optarg, 0, MAX_STOP_TIMEOUT, &v))
				return -1;
			ctx.stop_timeout = (int64_t)v;
			break;
		case OPT_REMOVE_AFTER:
			if (!parse_count("remove-after", optarg, 0, 60000, &v))
				return -1;
			ctx.remove_after_ms = (uint64_t)v;
			break;
		case OPT_KEEP:
			ctx.keep = true;
			break;
		case OPT_START:
			ctx.start = true;
			break;
		case OPT_EXEC_COMMAND:
			if (n_exec_command == MAX_COMMAND_ARGS) {
				fprintf(stderr, "litecri-bench: --exec-command: more than %d arguments\n",
					MAX_COMMAND_ARGS);
				return -1;
			}
			exec_command_args[n_exec_command++] = optarg;
			break;
		case OPT_EXEC_TIMEOUT:
			if (!parse_count("exec-timeout", optarg, 0, MAX_EXEC_TIMEOUT, &v))
				return -1;
			ctx.exec_timeout = (int64_t)v;
			break;
		default:    /* getopt_long printed the message */
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "litecri-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (image_command && n_command > 0) {
		fprintf(stderr, "litecri-bench: --command and --image-command exclude each other\n");
		return -1;
	}
	if (n_command > 0) {
		ctx.command = command_args;
		ctx.n_command = n_command;
	} else if (image_command) {
		ctx.command = NULL;
		ctx.n_command = 0;
	}
	if (n_exec_command > 0) {
		ctx.exec_command = exec_command_args;
		ctx.n_exec_command = n_exec_command;
	}
	const char *missing = !o->endpoint ? "--endpoint"
			      : !o->rpc ? "--rpc"
			      : !have_calls ? "--calls"
			      : !have_concurrency ? "--concurrency"
			      : (o->rpc->needs_image || o->pull) && !ctx.image ? "--image"
			      : NULL;
	if (missing) {
		fprintf(stderr, "litecri-bench: %s is required\n", missing);
		return -1;
	}
	return 0;
}

/* --- the run ------------------------------------------------------------------------------- */

struct run {
	const struct rpc *rpc;
	const ProtobufCMessage *req;        /* plain RPCs */
	char method[256];                   /* plain RPCs */
	int timeout_ms;
	uint64_t calls;
	uint64_t *lat_ns;                   /* [calls], each slot written by the thread that made it */
	uint64_t *step_ns[N_STEPS];         /* lifecycle: [calls] each, UINT64_MAX: step not made */
	atomic_uint_fast64_t step_errors[N_STEPS];
	atomic_uint_fast64_t next;          /* next call index to hand out */
	atomic_uint_fast64_t errors;
	atomic_flag first_error_taken;
	uint64_t first_error_index;         /* written by the thread that took the flag, read after join */
	grpc_status_code first_error_code;
	const char *first_error_method;
	enum op first_error_op;
	char *first_error_details;
	/* a call's preparation failed: the run stops (written by the thread that took the flag) */
	atomic_bool halt;
	atomic_flag halt_taken;
	uint64_t halt_index;
	char *halt_error;
	grpc_status_code halt_code;
	enum op halt_op;

	atomic_bool setup_failed;           /* a thread's setup failed: the others stop theirs */

	/* the objects the read RPCs act on, collected from every thread before the start */
	const char **ids;
	uint64_t n_ids;

	/* The gates: workers report set_up after their setup and wait for warm (the read RPCs' objects
	 * are collected meanwhile), report ready after their warmup and wait for go; abort releases
	 * both.  After timing they report finished and wait for sweep before removing their objects. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t set_up, ready, finished;
	bool warm, go, abort, sweep;
};

struct worker {
	struct run *run;
	struct cri_client *client;
	pthread_t thread;
	size_t index;
	uint64_t warmup;
	uint64_t objects;           /* this thread's share of --objects */
	uint64_t start_ns, end_ns;
	/* what setup made: the thread's pod, its setup pods and containers */
	struct podcfg pod;
	char *pod_id;
	char *ctr_id;               /* the running container of ExecSync and UpdateContainerResources */
	uint64_t updates;           /* UpdateContainerResources calls made: the next set is updates % 2 */
	struct idlist setup_pods, setup_containers;
	char *setup_error;          /* the first setup failure (malloc'ed); the run is aborted */
	grpc_status_code setup_code;
	enum op setup_op;
	/* per-call objects whose removal failed: tried again at the end, and what still failed */
	struct idlist left_pods, left_containers;
	struct idlist lost_pods, lost_containers;
};

/* For pthread calls that cannot fail when used correctly: a failure is a bug, so stop. */
static void check_pthread(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: %s: %s\n", what, strerror(rc));
		abort();
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("litecri-bench: clock_gettime");
		abort();
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One call of a plain RPC; its status, and its message in *details (malloc'ed, may be NULL). */
static grpc_status_code one_call(struct run *r, struct cri_client *client, char **details)
{
	ProtobufCMessage *resp = NULL;
	grpc_status_code st = cri_client_call(client, r->method, r->req, r->rpc->response, &resp, details,
					      r->timeout_ms);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

/* --- the stateful calls -------------------------------------------------------------------- */

/* The preparation of the call failed on op: nothing is timed, the run stops. */
static void prep_failed(struct sample *s, enum op op, const char *id, grpc_status_code st, char *details)
{
	s->prep_error = describe_failure(op, id, st, details);
	s->prep_st = st;
	s->prep_op = op;
	free(details);
}

/* Time one ID call into s. */
static void timed_id_call(struct worker *w, enum op op, const char *id, int64_t stop_timeout, struct sample *s)
{
	uint64_t t0 = now_ns();
	s->st = id_call(w->client, op, id, stop_timeout, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = op;
}

static void it_run_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	struct podcfg pod;
	podcfg_init(&pod, tag);
	char *id = NULL;
	uint64_t t0 = now_ns();
	s->st = run_pod(w->client, &pod, &id, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = OP_RUN_POD;
	if (id)
		drop_pod(w->client, id, false, &w->left_pods);
}

static void it_stop_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	struct podcfg pod;
	podcfg_init(&pod, tag);
	char *id = NULL, *details = NULL;
	grpc_status_code st = run_pod(w->client, &pod, &id, &details);
	if (st != GRPC_STATUS_OK) {
		prep_failed(s, OP_RUN_POD, NULL, st, details);
		return;
	}
	free(details);
	timed_id_call(w, OP_STOP_POD, id, 0, s);
	drop_pod(w->client, id, s->st == GRPC_STATUS_OK, &w->left_pods);
}

static void it_remove_pod(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	struct podcfg pod;
	podcfg_init(&pod, tag);
	char *id = NULL, *details = NULL;
	grpc_status_code st = run_pod(w->client, &pod, &id, &details);
	if (st != GRPC_STATUS_OK) {
		prep_failed(s, OP_RUN_POD, NULL, st, details);
		return;
	}
	free(details);
	details = NULL;
	st = id_call(w->client, OP_STOP_POD, id, 0, &details);
	if (st != GRPC_STATUS_OK) {
		prep_failed(s, OP_STOP_POD, id, st, details);
		drop_pod(w->client, id, false, &w->left_pods);
		return;
	}
	free(details);
	timed_id_call(w, OP_REMOVE_POD, id, 0, s);
	if (s->st == GRPC_STATUS_OK)
		free(id);
	else
		drop_pod(w->client, id, true, &w->left_pods);
}

/* The object call i reads: the run's objects in turn. */
static const char *object_of(struct worker *w, uint64_t i)
{
	return w->run->ids[i % w->run->n_ids];
}

static void it_pod_status(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)tag;
	timed_id_call(w, OP_POD_STATUS, object_of(w, i), 0, s);
}

static void it_status(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)tag;
	timed_id_call(w, OP_STATUS, object_of(w, i), 0, s);
}

/* The name of call tag's container in the thread's pod. */
static void container_name(char *buf, size_t n, const char *tag)
{
	int len = snprintf(buf, n, "c-%s", tag);
	if (len < 0 || (size_t)len >= n)
		abort();
}

static void it_create(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	char name[32], *id = NULL;
	container_name(name, sizeof name, tag);
	uint64_t t0 = now_ns();
	s->st = create_container(w->client, w->pod_id, &w->pod, name, &id, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = OP_CREATE;
	if (id)
		drop_container(w->client, id, true, &w->left_containers);
}

/* Untimed: create (and start, if `start`) a container in the thread's pod.  NULL if that failed
 * (s says why; a created container that did not start is removed). */
static char *prepare_container(struct worker *w, const char *tag, bool start, struct sample *s)
{
	char name[32], *id = NULL, *details = NULL;
	container_name(name, sizeof name, tag);
	grpc_status_code st = create_container(w->client, w->pod_id, &w->pod, name, &id, &details);
	if (st != GRPC_STATUS_OK) {
		prep_failed(s, OP_CREATE, NULL, st, details);
		return NULL;
	}
	free(details);
	details = NULL;
	if (start) {
		st = id_call(w->client, OP_START, id, 0, &details);
		if (st != GRPC_STATUS_OK) {
			prep_failed(s, OP_START, id, st, details);
			drop_container(w->client, id, false, &w->left_containers);
			return NULL;
		}
		free(details);
	}
	return id;
}

static void it_start(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	char *id = prepare_container(w, tag, false, s);
	if (!id)
		return;
	timed_id_call(w, OP_START, id, 0, s);
	drop_container(w->client, id, false, &w->left_containers);
}

static void it_stop(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	char *id = prepare_container(w, tag, true, s);
	if (!id)
		return;
	timed_id_call(w, OP_STOP, id, ctx.stop_timeout, s);
	drop_container(w->client, id, s->st == GRPC_STATUS_OK, &w->left_containers);
}

static void it_remove(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	char *id = prepare_container(w, tag, true, s);
	if (!id)
		return;
	char *details = NULL;
	grpc_status_code st = id_call(w->client, OP_STOP, id, 0, &details);
	if (st != GRPC_STATUS_OK) {
		prep_failed(s, OP_STOP, id, st, details);
		drop_container(w->client, id, false, &w->left_containers);
		return;
	}
	free(details);
	timed_id_call(w, OP_REMOVE, id, 0, s);
	if (s->st == GRPC_STATUS_OK)
		free(id);
	else
		drop_container(w->client, id, true, &w->left_containers);
}

/*
 * The whole cycle, each step timed; the call's latency is their sum.  After a failed step the
 * rest is not made; what exists is removed untimed.
 */
static void it_lifecycle(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	struct podcfg pod;
	podcfg_init(&pod, tag);
	char *pod_id = NULL, *ctr_id = NULL;
	bool pod_stopped = false, ctr_stopped = true;
	s->lat_ns = 0;
	s->st = GRPC_STATUS_OK;
	for (size_t k = 0; k < N_STEPS && s->st == GRPC_STATUS_OK; k++) {
		enum op op = lifecycle_steps[k];
		char *details = NULL;
		grpc_status_code st;
		if (op == OP_REMOVE && ctx.remove_after_ms) {
			struct timespec ts = { .tv_sec = (time_t)(ctx.remove_after_ms / 1000),
					       .tv_nsec = (long)(ctx.remove_after_ms % 1000) * 1000000 };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		uint64_t t0 = now_ns();
		switch (op) {
		case OP_RUN_POD:
			st = run_pod(w->client, &pod, &pod_id, &details);
			break;
		case OP_CREATE:
			st = create_container(w->client, pod_id, &pod, "c", &ctr_id, &details);
			break;
		case OP_STOP:
			st = id_call(w->client, op, ctr_id, ctx.stop_timeout, &details);
			break;
		case OP_START:
		case OP_REMOVE:
			st = id_call(w->client, op, ctr_id, 0, &details);
			break;
		case OP_STOP_POD:
		case OP_REMOVE_POD:
			st = id_call(w->client, op, pod_id, 0, &details);
			break;
		default:
			abort();
		}
		uint64_t dt = now_ns() - t0;
		s->step_made[k] = true;
		s->step_ns[k] = dt;
		s->step_st[k] = st;
		s->lat_ns += dt;
		if (st != GRPC_STATUS_OK) {
			s->st = st;
			s->failed_op = op;
			s->details = details;
			if (op == OP_START)
				ctr_stopped = false;    /* it may have started */
			break;
		}
		free(details);
		switch (op) {
		case OP_START:
			ctr_stopped = false;
			break;
		case OP_STOP:
			ctr_stopped = true;
			break;
		case OP_REMOVE:
			free(ctr_id);
			ctr_id = NULL;
			break;
		case OP_STOP_POD:
			pod_stopped = true;
			break;
		case OP_REMOVE_POD:
			free(pod_id);
			pod_id = NULL;
			break;
		default:
			break;
		}
	}
	if (ctr_id)
		drop_container(w->client, ctr_id, ctr_stopped, &w->left_containers);
	if (pod_id)
		drop_pod(w->client, pod_id, pod_stopped, &w->left_pods);
}

/* ExecSync of --exec-command in the thread's running container; nothing to prepare or remove. */
static void it_exec(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	(void)tag;
	uint64_t t0 = now_ns();
	s->st = exec_call(w->client, w->ctr_id, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = OP_EXEC;
}

/* Exec of --exec-command in the thread's running container: the URL and the whole session. */
static void it_exec_session(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	(void)tag;
	uint64_t t0 = now_ns();
	s->st = exec_session_call(w->client, w->ctr_id, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = OP_EXEC_URL;
}

/* UpdateContainerResources of the thread's running container, to the other of update_sets than
 * its previous call (warmup calls included), so every call changes the limits. */
static void it_update(struct worker *w, uint64_t i, const char *tag, struct sample *s)
{
	(void)i;
	(void)tag;
	unsigned set = (unsigned)(w->updates++ % 2);
	uint64_t t0 = now_ns();
	s->st = update_call(w->client, w->ctr_id, set, &s->details);
	s->lat_ns = now_ns() - t0;
	s->failed_op = OP_UPDATE;
}

/* --- setup and sweep (per thread) ---------------------------------------------------------- */

static void setup_failed(struct worker *w, enum op op, const char *id, grpc_status_code st, char *details)
{
	w->setup_error = describe_failure(op, id, st, details);
	w->setup_code = st;
	w->setup_op = op;
	free(details);
	atomic_store(&w->run->setup_failed, true);
}

/* Make the thread's objects: its pod and its share of --objects.  A failure is left in
 * w->setup_error (and setup_code, setup_op). */
static void setup(struct worker *w)
{
	const struct rpc *rpc = w->run->rpc;
	char tag[32], *id, *details = NULL;
	grpc_status_code st;
	if (rpc->thread_pod || (rpc->objects == OBJ_CONTAINERS && w->objects > 0)) {
		snprintf(tag, sizeof tag, "t%zu", w->index);
		podcfg_init(&w->pod, tag);
		st = run_pod(w->client, &w->pod, &w->pod_id, &details);
		if (st != GRPC_STATUS_OK) {
			setup_failed(w, OP_RUN_POD, NULL, st, details);
			return;
		}
		free(details);
		details = NULL;
	}
	if (rpc->thread_container) {
		char name[32];
		container_name(name, sizeof name, tag);
		st = create_container(w->client, w->pod_id, &w->pod, name, &id, &details);
		if (st != GRPC_STATUS_OK) {
			setup_failed(w, OP_CREATE, NULL, st, details);
			return;
		}
		free(details);
		details = NULL;
		w->ctr_id = id;
		st = id_call(w->client, OP_START, id, 0, &details);
		if (st != GRPC_STATUS_OK) {
			setup_failed(w, OP_START, id, st, details);
			return;    /* the sweep removes it */
		}
		free(details);
	}
	for (uint64_t k = 0; k < w->objects && !atomic_load(&interrupted) && !atomic_load(&w->run->setup_failed);
	     k++) {
		details = NULL;
		snprintf(tag, sizeof tag, "s%zu-%" PRIu64, w->index, k);
		enum op op;
		if (rpc->objects == OBJ_PODS) {
			struct podcfg pod;
			podcfg_init(&pod, tag);
			op = OP_RUN_POD;
			st = run_pod(w->client, &pod, &id, &details);
		} else {
			char name[32];
			container_name(name, sizeof name, tag);
			op = OP_CREATE;
			st = create_container(w->client, w->pod_id, &w->pod, name, &id, &details);
		}
		if (st != GRPC_STATUS_OK) {
			setup_failed(w, op, NULL, st, details);
			return;
		}
		free(details);
		if (!idlist_push(rpc->objects == OBJ_PODS ? &w->setup_pods : &w->setup_containers, id)) {
			/* cannot track it: remove it at once */
			if (rpc->objects == OBJ_PODS)
				drop_pod(w->client, id, false, &w->lost_pods);
			else
				drop_container(w->client, id, true, &w->lost_containers);
			setup_failed(w, op, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, strdup("litecri-bench: out of memory"));
			return;
		}
		if (rpc->objects == OBJ_CONTAINERS && ctx.start) {
			details = NULL;
			st = id_call(w->client, OP_START, id, 0, &details);
			if (st != GRPC_STATUS_OK) {
				setup_failed(w, OP_START, id, st, details);
				return;    /* the sweep removes it */
			}
			free(details);
		}
	}
}

/* Remove every object the thread still has; what fails to go ends up in lost_*. */
static void sweep(struct worker *w)
{
	if (w->ctr_id) {
		drop_container(w->client, w->ctr_id, false, &w->lost_containers);
		w->ctr_id = NULL;
	}
	for (size_t k = 0; k < w->setup_containers.n; k++)
		drop_container(w->client, w->setup_containers.v[k], !ctx.start, &w->lost_containers);
	w->setup_containers.n = 0;
	for (size_t k = 0; k < w->left_containers.n; k++)
		drop_container(w->client, w->left_containers.v[k], false, &w->lost_containers);
	w->left_containers.n = 0;
	for (size_t k = 0; k < w->setup_pods.n; k++)
		drop_pod(w->client, w->setup_pods.v[k], false, &w->lost_pods);
	w->setup_pods.n = 0;
	for (size_t k = 0; k < w->left_pods.n; k++)
		drop_pod(w->client, w->left_pods.v[k], false, &w->lost_pods);
	w->left_pods.n = 0;
	if (w->pod_id) {
		drop_pod(w->client, w->pod_id, false, &w->lost_pods);
		w->pod_id = NULL;
	}
}

/* --- the threads --------------------------------------------------------------------------- */

/* Record call i's failure (the first one's details are kept; else details is freed). */
static void count_error(struct run *r, uint64_t i, grpc_status_code st, enum op op, const char *method,
			char *details)
{
	atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
	if (!atomic_flag_test_and_set(&r->first_error_taken)) {
		r->first_error_index = i;
		r->first_error_code = st;
		r->first_error_method = method;
		r->first_error_op = op;
		r->first_error_details = details;
		return;
	}
	free(details);
}

/* One untimed call (warmup): everything made is removed, failures are ignored. */
static void warmup_call(struct worker *w, uint64_t k)
{
	struct run *r = w->run;
	if (!r->rpc->iteration) {
		char *details = NULL;
		one_call(r, w->client, &details);
		free(details);
		return;
	}
	char tag[32];
	snprintf(tag, sizeof tag, "w%zu-%" PRIu64, w->index, k);
	struct sample s = { 0 };
	r->rpc->iteration(w, k, tag, &s);
	free(s.details);
	free(s.prep_error);
}

/* Timed call i. */
static void timed_call(struct worker *w, uint64_t i)
{
	struct run *r = w->run;
	if (!r->rpc->iteration) {
		char *details = NULL;
		uint64_t t0 = now_ns();
		grpc_status_code st = one_call(r, w->client, &details);
		r->lat_ns[i] = now_ns() - t0;
		if (st != GRPC_STATUS_OK)
			count_error(r, i, st, N_OPS, r->method, details);
		else
			free(details);
		return;
	}
	char tag[32];
	snprintf(tag, sizeof tag, "%" PRIu64, i);
	struct sample s = { 0 };
	r->rpc->iteration(w, i, tag, &s);
	if (s.prep_error || s.prep_st != GRPC_STATUS_OK) {
		if (!atomic_flag_test_and_set(&r->halt_taken)) {
			r->halt_index = i;
			r->halt_error = s.prep_error;
			r->halt_code = s.prep_st;
			r->halt_op = s.prep_op;
			s.prep_error = NULL;
		}
		atomic_store(&r->halt, true);
		free(s.prep_error);
		free(s.details);
		return;
	}
	r->lat_ns[i] = s.lat_ns;
	if (r->rpc->steps)
		for (size_t k = 0; k < N_STEPS; k++) {
			r->step_ns[k][i] = s.step_made[k] ? s.step_ns[k] : UINT64_MAX;
			if (s.step_made[k] && s.step_st[k] != GRPC_STATUS_OK)
				atomic_fetch_add_explicit(&r->step_errors[k], 1, memory_order_relaxed);
		}
	if (s.st != GRPC_STATUS_OK)
		count_error(r, i, s.st, s.failed_op, ctx.method[s.failed_op], s.details);
	else
		free(s.details);
}

/* Wait under r->mu until *flag or r->abort. */
static void wait_for(struct run *r, const bool *flag)
{
	while (!*flag && !r->abort)
		check_pthread(pthread_cond_wait(&r->cond, &r->mu), "pthread_cond_wait");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	setup(w);    /* the main thread aborts the run if it failed */

	check_pthread(pthread_mutex_lock(&r->mu), "pthread_mutex_lock");
	r->set_up++;
	check_pthread(pthread_cond_broadcast(&r->cond), "pthread_cond_broadcast");
	wait_for(r, &r->warm);
	bool aborted = r->abort;
	check_pthread(pthread_mutex_unlock(&r->mu), "pthread_mutex_unlock");

	for (uint64_t k = 0; !aborted && k < w->warmup && !atomic_load(&interrupted); k++)
		warmup_call(w, k);

	check_pthread(pthread_mutex_lock(&r->mu), "pthread_mutex_lock");
	r->ready++;
	check_pthread(pthread_cond_broadcast(&r->cond), "pthread_cond_broadcast");
	wait_for(r, &r->go);
	aborted = r->abort;
	check_pthread(pthread_mutex_unlock(&r->mu), "pthread_mutex_unlock");

	if (!aborted) {
		w->start_ns = now_ns();
		while (!atomic_load_explicit(&interrupted, memory_order_relaxed) &&
		       !atomic_load_explicit(&r->halt, memory_order_relaxed)) {
			uint64_t i = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
			if (i >= r->calls)
				break;
			timed_call(w, i);
		}
		w->end_ns = now_ns();
	}

	/* Remove nothing while another thread still times calls. */
	check_pthread(pthread_mutex_lock(&r->mu), "pthread_mutex_lock");
	r->finished++;
	check_pthread(pthread_cond_broadcast(&r->cond), "pthread_cond_broadcast");
	while (!r->sweep)
		check_pthread(pthread_cond_wait(&r->cond, &r->mu), "pthread_cond_wait");
	check_pthread(pthread_mutex_unlock(&r->mu), "pthread_mutex_unlock");
	sweep(w);
	return NULL;
}

/*
 * Signals: every thread (gRPC's too) blocks SIGINT, SIGTERM and SIGHUP; this thread takes them.
 * The first stops the run (the threads finish their calls in flight and clean up); the second
 * exits at once, leaving whatever exists.
 */
static sigset_t stop_signals;

static void *signal_main(void *arg)
{
	(void)arg;
	for (int n = 0;; n++) {
		int sig;
		if (sigwait(&stop_signals, &sig) != 0)
			continue;
		if (n > 0) {
			static const char msg[] = "litecri-bench: interrupted again; exiting without cleaning up\n";
			ssize_t wr = write(STDERR_FILENO, msg, sizeof msg - 1);
			(void)wr;
			_exit(1);
		}
		atomic_store(&interrupted, true);
		fprintf(stderr, "litecri-bench: %s: stopping after the calls in flight and cleaning up "
			"(again to exit at once)\n", strsignal(sig));
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0, in whole microseconds (rounded). */
static uint64_t percentile_us(const uint64_t *v, uint64_t n, unsigned pct)
{
	uint64_t rank = (n * pct + 99) / 100;    /* ceil(n * pct / 100), >= 1 for pct >= 1 */
	if (rank < 1)
		rank = 1;
	return (v[rank - 1] + 500) / 1000;
}

/* " p50_us=.. p90_us=.. p99_us=.. max_us=.." of sorted v[0..n) (all 0 when n is 0). */
static void print_percentiles(const uint64_t *v, uint64_t n)
{
	if (n == 0) {
		printf(" p50_us=0 p90_us=0 p99_us=0 max_us=0");
		return;
	}
	printf(" p50_us=%" PRIu64 " p90_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64,
	       percentile_us(v, n, 50), percentile_us(v, n, 90), percentile_us(v, n, 99), (v[n - 1] + 500) / 1000);
}

/* The lifecycle's step lines; the step arrays are compacted and sorted in place. */
static void print_steps(struct run *r)
{
	for (size_t k = 0; k < N_STEPS; k++) {
		uint64_t n = 0;
		for (uint64_t i = 0; i < r->calls; i++)
			if (r->step_ns[k][i] != UINT64_MAX)
				r->step_ns[k][n++] = r->step_ns[k][i];
		qsort(r->step_ns[k], (size_t)n, sizeof *r->step_ns[k], cmp_u64);
		printf("step=%s calls=%" PRIu64 " errors=%" PRIu64, op_name(lifecycle_steps[k]), n,
		       (uint64_t)atomic_load(&r->step_errors[k]));
		print_percentiles(r->step_ns[k], n);
		printf("\n");
	}
}

/* nftw callback: remove everything below the log directory, depth first. */
static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	if (rc != 0)
		fprintf(stderr, "litecri-bench: cannot remove %s: %s\n", path, strerror(errno));
	return 0;    /* go on; the directory's own rmdir reports what is left */
}

/* Ask the endpoint whether --image is there (or pull it with --pull).  False with a message. */
static bool check_image(const char *endpoint, bool pull)
{
	struct cri_client *cl = cri_client_new(endpoint);
	if (!cl) {
		fprintf(stderr, "litecri-bench: cannot create a client for %s\n", endpoint);
		return false;
	}
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ctx.image;
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st;
	enum op op;
	bool ok = false;
	if (pull) {
		Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
		req.image = &spec;
		op = OP_PULL;
		st = call_op(cl, op, &req.base, NULL, &details, PULL_TIMEOUT_MS);
		ok = st == GRPC_STATUS_OK;
	} else {
		Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
		req.image = &spec;
		op = OP_IMAGE_STATUS;
		st = call_op(cl, op, &req.base, &resp, &details, 0);
		ok = st == GRPC_STATUS_OK;
		if (ok && !((Runtime__V1__ImageStatusResponse *)resp)->image) {
			fprintf(stderr, "litecri-bench: image %s is not present on %s; pull it first or pass --pull\n",
				ctx.image, endpoint);
			st = GRPC_STATUS_OK;
			ok = false;
			op = N_OPS;
		}
	}
	if (!ok && op != N_OPS) {
		fprintf(stderr, "litecri-bench: %s %s: %s: %s\n", op_name(op), ctx.image, cri_status_name(st),
			details ? details : "");
		hint_unimplemented(op, st);
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(details);
	cri_client_free(cl);
	return ok;
}

/* What was left behind or kept; false if something the bench made is still there unasked. */
static bool report_cleanup(struct worker *workers, size_t nthreads)
{
	bool ok = true;
	uint64_t failed = atomic_load(&cleanup_failed_calls);
	if (failed > 0) {
		fprintf(stderr, "litecri-bench: cleanup: %" PRIu64 " removal call%s failed; first: %s\n", failed,
			failed == 1 ? "" : "s", cleanup_first ? cleanup_first : "(out of memory)");
		ok = false;
	}
	uint64_t lost_pods = 0, lost_ctrs = 0;
	for (size_t t = 0; t < nthreads; t++) {
		lost_pods += workers[t].lost_pods.n;
		lost_ctrs += workers[t].lost_containers.n;
	}
	if (lost_pods + lost_ctrs > 0) {
		fprintf(stderr, "litecri-bench: left behind: %" PRIu64 " pods, %" PRIu64 " containers (label "
			RUN_LABEL "=%s):", lost_pods, lost_ctrs, ctx.run_id);
		unsigned shown = 0;
		for (size_t t = 0; t < nthreads && shown < LIST_LEFT_MAX; t++) {
			for (size_t k = 0; k < workers[t].lost_containers.n && shown < LIST_LEFT_MAX; k++, shown++)
				fprintf(stderr, " container %s", workers[t].lost_containers.v[k]);
			for (size_t k = 0; k < workers[t].lost_pods.n && shown < LIST_LEFT_MAX; k++, shown++)
				fprintf(stderr, " pod %s", workers[t].lost_pods.v[k]);
		}
		fprintf(stderr, "%s\n", lost_pods + lost_ctrs > shown ? " ..." : "");
		ok = false;
	}
	if (ctx.keep && atomic_load(&kept_pods) + atomic_load(&kept_containers) > 0)
		fprintf(stderr, "litecri-bench: --keep: left %" PRIu64 " pods and %" PRIu64 " containers (label "
			RUN_LABEL "=%s), logs in %s\n", (uint64_t)atomic_load(&kept_pods),
			(uint64_t)atomic_load(&kept_containers), ctx.run_id, ctx.log_dir);
	return ok;
}

int main(int argc, char **argv)
{
	struct options o;
	int pr = parse_args(argc, argv, &o);
	if (pr == 1) {
		usage(stdout);
		return 0;
	}
	if (pr < 0) {
		usage(stderr);
		return 2;
	}

	ctx.endpoint = o.endpoint;
	ctx.api = o.api;
	ctx.timeout_ms = (int)o.timeout_ms;
	for (size_t k = 0; k < N_OPS; k++) {
		int n = snprintf(ctx.method[k], sizeof ctx.method[k], "/runtime.%s.%s", o.api, ops[k].method);
		if (n < 0 || (size_t)n >= sizeof ctx.method[k])
			abort();    /* the paths are constants: a bug */
	}
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		perror("litecri-bench: getrandom");
		return 1;
	}
	for (size_t k = 0; k < sizeof rnd; k++)
		snprintf(ctx.run_id + 2 * k, 3, "%02x", rnd[k]);

	int ret = 1;
	struct run r = {
		.rpc = o.rpc,
		.timeout_ms = (int)o.timeout_ms,
		.calls = o.calls,
		.first_error_taken = ATOMIC_FLAG_INIT,
		.halt_taken = ATOMIC_FLAG_INIT,
	};
	atomic_init(&r.next, 0);
	atomic_init(&r.errors, 0);
	atomic_init(&r.halt, false);
	atomic_init(&r.setup_failed, false);
	for (size_t k = 0; k < N_STEPS; k++)
		atomic_init(&r.step_errors[k], 0);
	if (o.rpc->build_request) {
		r.req = o.rpc->build_request();
		int n = snprintf(r.method, sizeof r.method, "/runtime.%s.%s", o.api, o.rpc->method);
		if (n < 0 || (size_t)n >= sizeof r.method) {
			fprintf(stderr, "litecri-bench: method path too long\n");
			return 1;
		}
	}
	const bool stateful = rpc_stateful(o.rpc);

	size_t nthreads = (size_t)o.concurrency;
	r.lat_ns = calloc((size_t)o.calls, sizeof *r.lat_ns);
	struct worker *workers = calloc(nthreads, sizeof *workers);
	bool oom = !r.lat_ns || !workers;
	if (o.rpc->steps)
		for (size_t k = 0; k < N_STEPS; k++)
			if (!(r.step_ns[k] = calloc((size_t)o.calls, sizeof *r.step_ns[k])))
				oom = true;
	if (oom) {
		fprintf(stderr, "litecri-bench: out of memory\n");
		goto free_mem;
	}
	int rc = pthread_mutex_init(&r.mu, NULL);
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: pthread_mutex_init: %s\n", strerror(rc));
		goto free_mem;
	}
	rc = pthread_cond_init(&r.cond, NULL);
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: pthread_cond_init: %s\n", strerror(rc));
		check_pthread(pthread_mutex_destroy(&r.mu), "pthread_mutex_destroy");
		goto free_mem;
	}

	/* Before grpc_init, so that gRPC's threads inherit the mask too. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	check_pthread(pthread_sigmask(SIG_BLOCK, &stop_signals, NULL), "pthread_sigmask");
	pthread_t sig_thread;
	rc = pthread_create(&sig_thread, NULL, signal_main, NULL);
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: pthread_create: %s\n", strerror(rc));
		goto destroy_sync;
	}
	check_pthread(pthread_detach(sig_thread), "pthread_detach");

	grpc_init();
	size_t started = 0;

	if (stateful) {
		if (o.rpc->needs_image && !check_image(o.endpoint, o.pull))
			goto out;
		const char *tmp = getenv("TMPDIR");
		int n = snprintf(ctx.log_dir, sizeof ctx.log_dir, "%s/litecri-bench.XXXXXX",
				 tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (n < 0 || (size_t)n >= sizeof ctx.log_dir || !mkdtemp(ctx.log_dir)) {
			fprintf(stderr, "litecri-bench: cannot make a log directory %s: %s\n", ctx.log_dir,
				strerror(errno));
			ctx.log_dir[0] = '\0';
			goto out;
		}
	} else if (o.pull && !check_image(o.endpoint, true)) {
		goto out;
	}

	for (size_t i = 0; i < nthreads; i++) {
		workers[i].run = &r;
		workers[i].index = i;
		workers[i].warmup = o.warmup / nthreads + (i < o.warmup % nthreads ? 1 : 0);
		if (o.rpc->objects != OBJ_NONE)
			workers[i].objects = ctx.objects / nthreads + (i < ctx.objects % nthreads ? 1 : 0);
		workers[i].client = cri_client_new(o.endpoint);
		if (!workers[i].client) {
			fprintf(stderr, "litecri-bench: cannot create a client for %s\n", o.endpoint);
			goto out;
		}
	}
	uint64_t setup_start = now_ns();
	for (; started < nthreads; started++) {
		rc = pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]);
		if (rc != 0) {
			fprintf(stderr, "litecri-bench: pthread_create: %s\n", strerror(rc));
			break;
		}
	}

	/* Let the threads warm up once every setup is done, then start them at once; or release the
	 * started ones to clean up and exit if one failed to start, a setup failed or a signal came. */
	check_pthread(pthread_mutex_lock(&r.mu), "pthread_mutex_lock");
	while (r.set_up < started)
		check_pthread(pthread_cond_wait(&r.cond, &r.mu), "pthread_cond_wait");
	bool setup_ok = started == nthreads && !atomic_load(&interrupted);
	for (size_t i = 0; i < started; i++)
		if (workers[i].setup_error || (workers[i].setup_code != GRPC_STATUS_OK))
			setup_ok = false;
	if (setup_ok && o.rpc->objects != OBJ_NONE) {
		/* The threads wait for go: their setup lists are stable from here to the sweep. */
		r.ids = calloc((size_t)ctx.objects, sizeof *r.ids);
		if (!r.ids) {
			fprintf(stderr, "litecri-bench: out of memory\n");
			setup_ok = false;
		}
		for (size_t i = 0; i < started && r.ids; i++) {
			const struct idlist *l = o.rpc->objects == OBJ_PODS ? &workers[i].setup_pods
									    : &workers[i].setup_containers;
			for (size_t k = 0; k < l->n; k++)
				r.ids[r.n_ids++] = l->v[k];
		}
		if (r.ids)
			fprintf(stderr, "litecri-bench: setup: %" PRIu64 " %s made in %.3f s\n", r.n_ids,
				o.rpc->objects == OBJ_PODS ? "pods" : "containers",
				(double)(now_ns() - setup_start) / 1e9);
	}
	if (setup_ok)
		r.warm = true;
	else
		r.abort = true;
	check_pthread(pthread_cond_broadcast(&r.cond), "pthread_cond_broadcast");
	if (!r.abort) {
		while (r.ready < started)
			check_pthread(pthread_cond_wait(&r.cond, &r.mu), "pthread_cond_wait");
		if (atomic_load(&interrupted))
			r.abort = true;
		else
			r.go = true;
		check_pthread(pthread_cond_broadcast(&r.cond), "pthread_cond_broadcast");
	}
	while (r.finished < started)
		check_pthread(pthread_cond_wait(&r.cond, &r.mu), "pthread_cond_wait");
	r.sweep = true;
	check_pthread(pthread_cond_broadcast(&r.cond), "pthread_cond_broadcast");
	check_pthread(pthread_mutex_unlock(&r.mu), "pthread_mutex_unlock");

	bool join_failed = false;
	for (size_t i = 0; i < started; i++) {
		rc = pthread_join(workers[i].thread, NULL);
		if (rc != 0) {
			fprintf(stderr, "litecri-bench: pthread_join: %s\n", strerror(rc));
			join_failed = true;
		}
	}
	if (join_failed)
		goto out;
	for (size_t i = 0; i < started; i++)
		if (workers[i].setup_error || workers[i].setup_code != GRPC_STATUS_OK) {
			fprintf(stderr, "litecri-bench: setup of %s (thread %zu) failed: %s\n", o.rpc->name, i,
				workers[i].setup_error ? workers[i].setup_error : "(out of memory)");
			hint_unimplemented(workers[i].setup_op, workers[i].setup_code);
			break;    /* the others most likely failed alike */
		}
	if (r.abort && !atomic_load(&interrupted))
		goto out;
	if (atomic_load(&r.halt)) {
		fprintf(stderr, "litecri-bench: call %" PRIu64 ": preparing %s failed, the run stopped: %s\n",
			r.halt_index, o.rpc->name, r.halt_error ? r.halt_error : "(out of memory)");
		hint_unimplemented(r.halt_op, r.halt_code);
		goto out;
	}
	if (atomic_load(&interrupted)) {
		fprintf(stderr, "litecri-bench: interrupted after %" PRIu64 " of %" PRIu64 " calls; no result\n",
			(uint64_t)atomic_load(&r.next) < r.calls ? (uint64_t)atomic_load(&r.next) : r.calls, r.calls);
		goto out;
	}

	uint64_t start = UINT64_MAX, end = 0;
	for (size_t i = 0; i < nthreads; i++) {
		if (workers[i].start_ns < start)
			start = workers[i].start_ns;
		if (workers[i].end_ns > end)
			end = workers[i].end_ns;
	}
	double elapsed_s = (double)(end - start) / 1e9;
	uint64_t errors = atomic_load(&r.errors);

	qsort(r.lat_ns, (size_t)r.calls, sizeof *r.lat_ns, cmp_u64);
	printf("rpc=%s api=%s calls=%" PRIu64 " concurrency=%zu errors=%" PRIu64 " elapsed_s=%.3f calls_per_s=%.1f",
	       r.rpc->name, o.api, r.calls, nthreads, errors, elapsed_s,
	       elapsed_s > 0 ? (double)r.calls / elapsed_s : 0.0);
	print_percentiles(r.lat_ns, r.calls);
	if (o.rpc->objects != OBJ_NONE)
		printf(" objects=%" PRIu64, r.n_ids);
	printf("\n");
	if (o.rpc->steps)
		print_steps(&r);
	if (fflush(stdout) != 0) {
		perror("litecri-bench: stdout");
		goto out;
	}
	if (errors > 0) {
		fprintf(stderr, "litecri-bench: %" PRIu64 " of %" PRIu64 " calls failed; first: call %" PRIu64
			" (%s): %s: %s\n",
			errors, r.calls, r.first_error_index, r.first_error_method, cri_status_name(r.first_error_code),
			r.first_error_details ? r.first_error_details : "");
		if (r.first_error_op != N_OPS)
			hint_unimplemented(r.first_error_op, r.first_error_code);
		else if (r.first_error_code == GRPC_STATUS_UNIMPLEMENTED)
			fprintf(stderr, "litecri-bench: the endpoint does not implement %s (it answered UNIMPLEMENTED)\n",
				r.method);
		goto out;
	}
	ret = 0;

out:
	if (stateful && !report_cleanup(workers, nthreads))
		ret = 1;
	for (size_t i = 0; i < nthreads; i++) {
		cri_client_free(workers[i].client);
		idlist_free(&workers[i].setup_pods);
		idlist_free(&workers[i].setup_containers);
		idlist_free(&workers[i].left_pods);
		idlist_free(&workers[i].left_containers);
		idlist_free(&workers[i].lost_pods);
		idlist_free(&workers[i].lost_containers);
		free(workers[i].pod_id);
		free(workers[i].ctr_id);
		free(workers[i].setup_error);
	}
	grpc_shutdown();
	if (ctx.log_dir[0] && !ctx.keep) {
		if (nftw(ctx.log_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			fprintf(stderr, "litecri-bench: cannot remove %s: %s\n", ctx.log_dir, strerror(errno));
			ret = 1;
		} else if (access(ctx.log_dir, F_OK) == 0) {
			ret = 1;    /* rm_entry said what stayed */
		}
	}
	free(r.ids);
	free(r.first_error_details);
	free(r.halt_error);
	free(cleanup_first);
destroy_sync:
	check_pthread(pthread_cond_destroy(&r.cond), "pthread_cond_destroy");
	check_pthread(pthread_mutex_destroy(&r.mu), "pthread_mutex_destroy");
free_mem:
	for (size_t k = 0; k < N_STEPS; k++)
		free(r.step_ns[k]);
	free(r.lat_ns);
	free(workers);
	return ret;
}
