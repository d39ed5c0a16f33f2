/* podfix.c — the pod and container test fixture (podfix.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "podfix.h"
#include "../common/tmpdir.h"

struct podfix_group grp;
struct podfix fx;

static void track_procs(const char *id, int pod);

/* ------------------------------------------------------------------------------------------ */
/* memory a test hands to teardown (a failed assertion longjmps past any free)                */

/* Tests call it (and track_pid) from threads of their own too (test_network's pods made in
 * parallel): locked. */
static pthread_mutex_t owned_mu = PTHREAD_MUTEX_INITIALIZER;

void own(void *p, void (*free_fn)(void *))
{
	if (!p)
		return;
	pthread_mutex_lock(&owned_mu);
	if (fx.n_owned == fx.cap_owned) {
		size_t cap = fx.cap_owned ? fx.cap_owned * 2 : 256;
		struct owned *n = realloc(fx.owned, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&owned_mu);
			fail_msg("out of memory");
		}
		fx.owned = n;
		fx.cap_owned = cap;
	}
	fx.owned[fx.n_owned++] = (struct owned){ p, free_fn };
	pthread_mutex_unlock(&owned_mu);
}

void free_msg(void *m)
{
	protobuf_c_message_free_unpacked(m, NULL);
}

void free_json(void *j)
{
	json_decref(j);
}

void free_owned(void)
{
	for (size_t i = fx.n_owned; i-- > 0;)
		fx.owned[i].free_fn(fx.owned[i].p);
	free(fx.owned);
	fx.owned = NULL;
	fx.n_owned = fx.cap_owned = 0;
}

void *talloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	assert_non_null(p);
	own(p, free);
	return p;
}

char *tprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	own(s, free);
	return s;
}

/* A message of type desc, initialized to its defaults, owned by the test. */
void *tmsg(const ProtobufCMessageDescriptor *desc)
{
	void *m = talloc(desc->sizeof_message);
	protobuf_c_message_init(desc, m);
	return m;
}

/* Every protobuf-c map entry: { base, key, value }. */
struct kv_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

/* A map field (entries of type desc) from a NULL-terminated key, value, ... list; *n its size. */
void *map_of(const ProtobufCMessageDescriptor *desc, const char *const *kv, size_t *n)
{
	assert_int_equal(desc->sizeof_message, sizeof(struct kv_entry));
	size_t cnt = 0;
	while (kv && kv[2 * cnt])
		cnt++;
	struct kv_entry **arr = talloc((cnt + 1) * sizeof *arr);
	for (size_t i = 0; i < cnt; i++) {
		arr[i] = tmsg(desc);
		arr[i]->key = (char *)kv[2 * i];
		arr[i]->value = (char *)kv[2 * i + 1];
	}
	*n = cnt;
	return arr;
}

/* 1 if the map (entries, n) holds exactly the pairs of kv (NULL-terminated); else prints why. */
int map_equal(const char *what, const void *entries, size_t n, const char *const *kv)
{
	struct kv_entry *const *e = entries;
	size_t cnt = 0;
	while (kv && kv[2 * cnt])
		cnt++;
	int ok = n == cnt;
	for (size_t i = 0; ok && i < cnt; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(e[j]->key, kv[2 * i]) == 0)
				found = strcmp(e[j]->value, kv[2 * i + 1]) == 0 ? 1 : -1;
		ok = found == 1;
	}
	if (!ok) {
		print_error("%s: got {", what);
		for (size_t j = 0; j < n; j++)
			print_error(" %s=%s", e[j]->key, e[j]->value);
		print_error(" }, wanted {");
		for (size_t i = 0; i < cnt; i++)
			print_error(" %s=%s", kv[2 * i], kv[2 * i + 1]);
		print_error(" }\n");
	}
	return ok;
}

/* 64 random hex digits (an ID nothing has). */
char *random_id(void)
{
	unsigned char b[32];
	assert_int_equal(getrandom(b, sizeof b, 0), (ssize_t)sizeof b);
	char *s = talloc(65);
	for (size_t i = 0; i < sizeof b; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* CRI calls                                                                                  */

/* One typed call on a fresh client (a restarted daemon needs a new connection).  The response
 * and the message are owned by the test.  No assertions. */
grpc_status_code rpc(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
			    ProtobufCMessage **resp, char **details, int timeout_ms)
{
	*resp = NULL;
	char *msg = NULL;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	if (!c) {
		if (details)
			*details = (char *)"cannot create a client";
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	}
	grpc_status_code st = cri_client_call(c, method, req, rd, resp, &msg, timeout_ms);
	cri_client_free(c);
	if (*resp)
		own(*resp, free_msg);
	own(msg, free);
	if (details)
		*details = msg ? msg : (char *)"";
	return st;
}

/*
 * Call `method` with req packed and every placeholder byte (0x7f) in it replaced by `bad`: the C
 * client packs C strings, so a NUL or a byte that is not UTF-8 can only be put in the wire bytes.
 * *marks (if not NULL) gets how many bytes were replaced.
 */
grpc_status_code rpc_patched(const char *method, const ProtobufCMessage *req, char bad, char **details, int *marks)
{
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = talloc(len ? len : 1);
	assert_int_equal(protobuf_c_message_pack(req, buf), len);
	int n = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == 0x7f) {
			buf[i] = (uint8_t)bad;
			n++;
		}
	if (marks)
		*marks = n;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	assert_non_null(c);
	void *resp = NULL;
	size_t resp_len = 0;
	char *msg = NULL;
	grpc_status_code st = cri_client_call_raw(c, method, buf, len, &resp, &resp_len, &msg, CALL_TIMEOUT_MS);
	cri_client_free(c);
	free(resp);
	own(msg, free);
	*details = msg ? msg : (char *)"";
	return st;
}

/* A call that must succeed; returns the response. */
void *call_ok_t(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		       int timeout_ms)
{
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(method, req, rd, &resp, &details, timeout_ms);
	if (st != GRPC_STATUS_OK)
		print_error("%s: %s: %s\n", method, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(resp);
	return resp;
}

void *call_ok(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd)
{
	return call_ok_t(method, req, rd, CALL_TIMEOUT_MS);
}

const char *ctr_state_name(int s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&runtime__v1__container_state__descriptor, s);
	return v ? v->name : "?";
}

/* --- pods --- */

const char *const DNS_SERVERS[] = { "127.0.0.10", "127.0.0.11" };
const char *const DNS_SEARCHES[] = { "svc.cluster.local", "cluster.local" };
const char *const DNS_OPTIONS[] = { "ndots:5", "timeout:2" };
const char *const POD_ANNOTATIONS[] = { "litecri.test/annotation", "a value, with spaces", "kubernetes.io/config.source",
					       "api", NULL };

/*
 * A pod config as kubelet sends it: metadata (name, uid, namespace POD_NAMESPACE, attempt 0),
 * hostname = name, log_directory = the test's, dns_config, labels, POD_ANNOTATIONS, the test's
 * cgroup parent, namespace options network=POD ipc=POD pid=CONTAINER.
 */
Runtime__V1__PodSandboxConfig *pod_config(const char *name, const char *const *labels)
{
	Runtime__V1__PodSandboxConfig *c = TNEW(Runtime__V1__PodSandboxConfig, runtime__v1__pod_sandbox_config__descriptor);
	c->metadata = TNEW(Runtime__V1__PodSandboxMetadata, runtime__v1__pod_sandbox_metadata__descriptor);
	c->metadata->name = (char *)name;
	c->metadata->uid = tprintf("uid-%s%s", name, fx.cgparent + strlen("/litecri-test"));
	c->metadata->namespace_ = POD_NAMESPACE;
	c->metadata->attempt = 0;
	c->hostname = (char *)name;
	c->log_directory = fx.logdir;
	c->dns_config = TNEW(Runtime__V1__DNSConfig, runtime__v1__dnsconfig__descriptor);
	c->dns_config->servers = (char **)DNS_SERVERS;
	c->dns_config->n_servers = 2;
	c->dns_config->searches = (char **)DNS_SEARCHES;
	c->dns_config->n_searches = 2;
	c->dns_config->options = (char **)DNS_OPTIONS;
	c->dns_config->n_options = 2;
	c->labels = map_of(&runtime__v1__pod_sandbox_config__labels_entry__descriptor, labels, &c->n_labels);
	c->annotations = map_of(&runtime__v1__pod_sandbox_config__annotations_entry__descriptor, POD_ANNOTATIONS,
				&c->n_annotations);
	c->linux = TNEW(Runtime__V1__LinuxPodSandboxConfig, runtime__v1__linux_pod_sandbox_config__descriptor);
	c->linux->cgroup_parent = fx.cgparent;
	c->linux->security_context =
		TNEW(Runtime__V1__LinuxSandboxSecurityContext, runtime__v1__linux_sandbox_security_context__descriptor);
	Runtime__V1__NamespaceOption *ns = TNEW(Runtime__V1__NamespaceOption, runtime__v1__namespace_option__descriptor);
	ns->network = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	c->linux->security_context->namespace_options = ns;
	return c;
}

Runtime__V1__PodSandboxConfig *pod_config_infra(const char *name, const char *const *labels)
{
	Runtime__V1__PodSandboxConfig *c = pod_config(name, labels);
	c->linux->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	return c;
}

grpc_status_code run_pod_st(const Runtime__V1__PodSandboxConfig *cfg, char **id, char **details)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = (Runtime__V1__PodSandboxConfig *)cfg;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp,
				  details, CALL_TIMEOUT_MS);
	*id = st == GRPC_STATUS_OK ? ((Runtime__V1__RunPodSandboxResponse *)resp)->pod_sandbox_id : NULL;
	if (st == GRPC_STATUS_OK)
		track_procs(*id, 1);
	return st;
}

/* RunPodSandbox that must succeed; the pod's ID (64 hex digits). */
char *run_pod(const Runtime__V1__PodSandboxConfig *cfg)
{
	char *id, *details;
	grpc_status_code st = run_pod_st(cfg, &id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("RunPodSandbox %s: %s: %s\n", cfg->metadata ? cfg->metadata->name : "(no metadata)",
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
	return id;
}

grpc_status_code pod_call(const char *rpc_name, const char *id, char **details)
{
	ProtobufCMessage *resp;
	if (strcmp(rpc_name, "StopPodSandbox") == 0) {
		Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		req.pod_sandbox_id = (char *)id;
		return rpc(RT "StopPodSandbox", &req.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &resp,
			   details, 3 * CALL_TIMEOUT_MS);
	}
	Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	return rpc(RT "RemovePodSandbox", &req.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &resp, details,
		   3 * CALL_TIMEOUT_MS);
}

void pod_call_ok(const char *rpc_name, const char *id)
{
	char *details;
	grpc_status_code st = pod_call(rpc_name, id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("%s %s: %s: %s\n", rpc_name, id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

void stop_pod(const char *id)
{
	pod_call_ok("StopPodSandbox", id);
}

void remove_pod(const char *id)
{
	pod_call_ok("RemovePodSandbox", id);
}

grpc_status_code pod_status_st(const char *id, Runtime__V1__PodSandboxStatusResponse **out, char **details)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "PodSandboxStatus", &req.base, &runtime__v1__pod_sandbox_status_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*out = (Runtime__V1__PodSandboxStatusResponse *)resp;
	return st;
}

/* PodSandboxStatus that must succeed (with a status). */
Runtime__V1__PodSandboxStatus *pod_status(const char *id)
{
	Runtime__V1__PodSandboxStatusResponse *r;
	char *details;
	grpc_status_code st = pod_status_st(id, &r, &details);
	if (st != GRPC_STATUS_OK)
		print_error("PodSandboxStatus %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(r->status);
	assert_string_equal(r->status->id, id);
	return r->status;
}

void assert_pod_not_found(const char *id)
{
	Runtime__V1__PodSandboxStatusResponse *r;
	char *details;
	grpc_status_code st = pod_status_st(id, &r, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("PodSandboxStatus %s: %s (%s), wanted NOT_FOUND\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
}

Runtime__V1__ListPodSandboxResponse *list_pods(Runtime__V1__PodSandboxFilter *filter)
{
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = filter;
	return call_ok(RT "ListPodSandbox", &req.base, &runtime__v1__list_pod_sandbox_response__descriptor);
}

/* --- containers --- */

/*
 * A container config: metadata (name, attempt 0), IMAGE, command /bin/sh -c script, log_path
 * "<name>.log" (in the pod's log directory), labels, annotation litecri.test/ctr=name.
 */
Runtime__V1__ContainerConfig *ctr_config(const char *name, const char *script, const char *const *labels)
{
	Runtime__V1__ContainerConfig *c = TNEW(Runtime__V1__ContainerConfig, runtime__v1__container_config__descriptor);
	c->metadata = TNEW(Runtime__V1__ContainerMetadata, runtime__v1__container_metadata__descriptor);
	c->metadata->name = (char *)name;
	c->image = TNEW(Runtime__V1__ImageSpec, runtime__v1__image_spec__descriptor);
	c->image->image = IMAGE;
	char **cmd = talloc(3 * sizeof *cmd);
	cmd[0] = "/bin/sh";
	cmd[1] = "-c";
	cmd[2] = (char *)script;
	c->command = cmd;
	c->n_command = 3;
	c->log_path = tprintf("%s.log", name);
	c->labels = map_of(&runtime__v1__container_config__labels_entry__descriptor, labels, &c->n_labels);
	const char **ann = talloc(3 * sizeof *ann);
	ann[0] = "litecri.test/ctr";
	ann[1] = name;
	c->annotations = map_of(&runtime__v1__container_config__annotations_entry__descriptor, ann, &c->n_annotations);
	return c;
}

/* CreateContainer of cfg in pod_id: the status; *id the new ID when OK, *details the message. */
grpc_status_code create_ctr_st(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
				      const Runtime__V1__PodSandboxConfig *pod_cfg, char **id, char **details)
{
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = (char *)pod_id;
	req.config = (Runtime__V1__ContainerConfig *)cfg;
	req.sandbox_config = (Runtime__V1__PodSandboxConfig *)pod_cfg;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "CreateContainer", &req.base, &runtime__v1__create_container_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*id = st == GRPC_STATUS_OK ? ((Runtime__V1__CreateContainerResponse *)resp)->container_id : NULL;
	return st;
}

/* CreateContainer that must succeed; the container's ID (64 hex digits). */
char *create_ctr(const char *pod_id, const Runtime__V1__ContainerConfig *cfg,
			const Runtime__V1__PodSandboxConfig *pod_cfg)
{
	char *id, *details;
	grpc_status_code st = create_ctr_st(pod_id, cfg, pod_cfg, &id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("CreateContainer %s: %s: %s\n", cfg->metadata ? cfg->metadata->name : "(no metadata)",
			    cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
	return id;
}

/* A READY pod (labels) and one RUNNING container of it running script (its config adjusted by fn,
 * its labels ctr_labels); the pod's ID in *pod_out and its config in *pc_out unless NULL. */
char *running_ctr(const char *const *labels, const char *pod_name, const char *name, const char *script,
		  void (*fn)(Runtime__V1__ContainerConfig *), char **pod_out, const char *const *ctr_labels,
		  Runtime__V1__PodSandboxConfig **pc_out)
{
	Runtime__V1__PodSandboxConfig *pc = pod_config(pod_name, labels);
	char *pod = run_pod(pc);
	Runtime__V1__ContainerConfig *cc = ctr_config(name, script, ctr_labels);
	if (fn)
		fn(cc);
	char *c = create_ctr(pod, cc, pc);
	start_ctr(c);
	wait_ctr_state(c, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	if (pod_out)
		*pod_out = pod;
	if (pc_out)
		*pc_out = pc;
	return c;
}

grpc_status_code start_ctr_st(const char *id, char **details)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "StartContainer", &req.base, &runtime__v1__start_container_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	if (st == GRPC_STATUS_OK)
		track_procs(id, 0);
	return st;
}

void start_ctr(const char *id)
{
	char *details;
	grpc_status_code st = start_ctr_st(id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("StartContainer %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

grpc_status_code stop_ctr_st(const char *id, int64_t timeout, char **details)
{
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = timeout;
	ProtobufCMessage *resp;
	return rpc(RT "StopContainer", &req.base, &runtime__v1__stop_container_response__descriptor, &resp, details,
		   (int)timeout * 1000 + 2 * CALL_TIMEOUT_MS);
}

void stop_ctr(const char *id, int64_t timeout)
{
	char *details;
	grpc_status_code st = stop_ctr_st(id, timeout, &details);
	if (st != GRPC_STATUS_OK)
		print_error("StopContainer %s (timeout %lld): %s: %s\n", id, (long long)timeout, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

grpc_status_code remove_ctr_st(const char *id, char **details)
{
	Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp;
	return rpc(RT "RemoveContainer", &req.base, &runtime__v1__remove_container_response__descriptor, &resp, details,
		   2 * CALL_TIMEOUT_MS);
}

void remove_ctr(const char *id)
{
	char *details;
	grpc_status_code st = remove_ctr_st(id, &details);
	if (st != GRPC_STATUS_OK)
		print_error("RemoveContainer %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
}

grpc_status_code ctr_status_st(const char *id, int verbose, Runtime__V1__ContainerStatusResponse **out,
				      char **details)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.verbose = verbose;
	ProtobufCMessage *resp;
	grpc_status_code st = rpc(RT "ContainerStatus", &req.base, &runtime__v1__container_status_response__descriptor,
				  &resp, details, CALL_TIMEOUT_MS);
	*out = (Runtime__V1__ContainerStatusResponse *)resp;
	return st;
}

/* ContainerStatus that must succeed (with a status). */
Runtime__V1__ContainerStatusResponse *ctr_status_v(const char *id, int verbose)
{
	Runtime__V1__ContainerStatusResponse *r;
	char *details;
	grpc_status_code st = ctr_status_st(id, verbose, &r, &details);
	if (st != GRPC_STATUS_OK)
		print_error("ContainerStatus %s: %s: %s\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_OK);
	assert_non_null(r->status);
	assert_string_equal(r->status->id, id);
	return r;
}

Runtime__V1__ContainerStatus *ctr_status(const char *id)
{
	return ctr_status_v(id, 0)->status;
}

void assert_ctr_not_found(const char *id)
{
	Runtime__V1__ContainerStatusResponse *r;
	char *details;
	grpc_status_code st = ctr_status_st(id, 0, &r, &details);
	if (st != GRPC_STATUS_NOT_FOUND)
		print_error("ContainerStatus %s: %s (%s), wanted NOT_FOUND\n", id, cri_status_name(st), details);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
}

/* Poll ContainerStatus every 50 ms until the state is `want`; that status. */
Runtime__V1__ContainerStatus *wait_ctr_state(const char *id, Runtime__V1__ContainerState want)
{
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		Runtime__V1__ContainerStatus *s = ctr_status(id);
		if (s->state == want)
			return s;
		if (now_ms() > deadline) {
			print_error("container %s still %s after %d s, wanted %s\n", id, ctr_state_name(s->state),
				    WAIT_MS / 1000, ctr_state_name(want));
			fail();
		}
		sleep_ms(50);
	}
}

/* Check an EXITED status: exit code, reason, finished_at >= started_at >= created_at > 0. */
void assert_exited(const Runtime__V1__ContainerStatus *s, int code, const char *reason)
{
	if (s->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED || s->exit_code != code ||
	    strcmp(s->reason, reason) != 0)
		print_error("container %s: %s exit_code %d reason \"%s\" message \"%s\"; wanted EXITED %d \"%s\"\n", s->id,
			    ctr_state_name(s->state), s->exit_code, s->reason, s->message, code, reason);
	assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	assert_int_equal(s->exit_code, code);
	assert_string_equal(s->reason, reason);
	assert_true(s->created_at > 0);
	assert_true(s->started_at >= s->created_at);
	assert_true(s->finished_at >= s->started_at);
}

Runtime__V1__ListContainersResponse *list_ctrs(Runtime__V1__ContainerFilter *filter)
{
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	req.filter = filter;
	return call_ok(RT "ListContainers", &req.base, &runtime__v1__list_containers_response__descriptor);
}

/* The ids of a list are exactly the NULL-terminated varargs (as a set). */
int ids_match(const char *what, char **got, size_t n, va_list ap)
{
	const char *want[16];
	size_t nw = 0;
	const char *s;
	while ((s = va_arg(ap, const char *)) != NULL && nw < 16)
		want[nw++] = s;
	int ok = n == nw;
	for (size_t i = 0; ok && i < nw; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			found |= strcmp(got[j], want[i]) == 0;
		ok = found;
	}
	if (!ok) {
		print_error("%s: got %zu [", what, n);
		for (size_t j = 0; j < n; j++)
			print_error(" %.12s", got[j]);
		print_error(" ], wanted %zu [", nw);
		for (size_t i = 0; i < nw; i++)
			print_error(" %.12s", want[i]);
		print_error(" ]\n");
	}
	return ok;
}

void assert_ctr_list(const char *what, Runtime__V1__ContainerFilter *filter, ...)
{
	Runtime__V1__ListContainersResponse *r = list_ctrs(filter);
	char **ids = talloc((r->n_containers + 1) * sizeof *ids);
	for (size_t i = 0; i < r->n_containers; i++)
		ids[i] = r->containers[i]->id;
	va_list ap;
	va_start(ap, filter);
	int ok = ids_match(what, ids, r->n_containers, ap);
	va_end(ap);
	assert_true(ok);
}

void assert_pod_list(const char *what, Runtime__V1__PodSandboxFilter *filter, ...)
{
	Runtime__V1__ListPodSandboxResponse *r = list_pods(filter);
	char **ids = talloc((r->n_items + 1) * sizeof *ids);
	for (size_t i = 0; i < r->n_items; i++)
		ids[i] = r->items[i]->id;
	va_list ap;
	va_start(ap, filter);
	int ok = ids_match(what, ids, r->n_items, ap);
	va_end(ap);
	assert_true(ok);
}

/* --- the same call from several threads at once --- */

struct par_call {
	const char *method;
	const ProtobufCMessage *req;
	const ProtobufCMessageDescriptor *rd;
	int timeout_ms;
	pthread_barrier_t *go;
	grpc_status_code st;
	ProtobufCMessage *resp;
	char *details;
};

/* One call on its own client once every thread is ready; nothing shared but the request. */
void *par_main(void *arg)
{
	struct par_call *p = arg;
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	pthread_barrier_wait(p->go);
	p->st = c ? cri_client_call(c, p->method, p->req, p->rd, &p->resp, &p->details, p->timeout_ms)
		  : GRPC_STATUS_RESOURCE_EXHAUSTED;
	cri_client_free(c);
	return NULL;
}

/*
 * PAR_N threads make the same call at the same time.  Each must answer OK, or `also` (a code a
 * concurrent call may get while another one is in flight; GRPC_STATUS_OK for none); at least one
 * must answer OK.  The responses (owned; NULL where not OK).
 */
ProtobufCMessage **parallel_ok(const char *method, const ProtobufCMessage *req,
				      const ProtobufCMessageDescriptor *rd, int timeout_ms, grpc_status_code also)
{
	struct par_call calls[PAR_N];
	pthread_t th[PAR_N];
	pthread_barrier_t go;
	assert_int_equal(pthread_barrier_init(&go, NULL, PAR_N), 0);
	for (int i = 0; i < PAR_N; i++) {
		calls[i] = (struct par_call){ method, req, rd, timeout_ms, &go, GRPC_STATUS_UNKNOWN, NULL, NULL };
		assert_int_equal(pthread_create(&th[i], NULL, par_main, &calls[i]), 0);
	}
	for (int i = 0; i < PAR_N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	ProtobufCMessage **out = talloc(PAR_N * sizeof *out);
	int bad = 0, ok = 0;
	for (int i = 0; i < PAR_N; i++) {
		own(calls[i].resp, free_msg);
		own(calls[i].details, free);
		out[i] = calls[i].st == GRPC_STATUS_OK ? calls[i].resp : NULL;
		ok += calls[i].st == GRPC_STATUS_OK;
		if (calls[i].st != GRPC_STATUS_OK && calls[i].st != also) {
			print_error("%s (call %d of %d at once): %s: %s\n", method, i + 1, PAR_N,
				    cri_status_name(calls[i].st), calls[i].details ? calls[i].details : "");
			bad = 1;
		}
	}
	assert_false(bad);
	assert_true(ok > 0);
	return out;
}

/* --- verbose info --- */

/* The JSON object among ContainerStatus(verbose) info values that has "pid". */
json_t *ctr_info(const char *id)
{
	Runtime__V1__ContainerStatusResponse *r = ctr_status_v(id, 1);
	for (size_t i = 0; i < r->n_info; i++) {
		json_t *j = json_loads(r->info[i]->value, 0, NULL);
		if (!j)
			continue;
		own(j, free_json);
		if (json_is_object(j) && json_object_get(j, "pid"))
			return j;
	}
	print_error("ContainerStatus %s verbose: no info value is a JSON object with \"pid\" (%zu entries:", id, r->n_info);
	for (size_t i = 0; i < r->n_info; i++)
		print_error(" %s", r->info[i]->key);
	print_error(")\n");
	fail();
	return NULL;
}

/* The container's init process (host PID) as verbose info reports it. */
pid_t ctr_pid(const char *id)
{
	json_t *pid = json_object_get(ctr_info(id), "pid");
	assert_true(json_is_integer(pid));
	assert_true(json_integer_value(pid) > 0);
	return (pid_t)json_integer_value(pid);
}

/* An OCI runtime spec (an object with "ociVersion" and "process") anywhere inside j. */
json_t *find_spec(json_t *j)
{
	if (json_is_object(j)) {
		if (json_is_string(json_object_get(j, "ociVersion")) && json_is_object(json_object_get(j, "process")))
			return j;
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			json_t *s = find_spec(v);
			if (s)
				return s;
		}
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			json_t *s = find_spec(v);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* 1 if pid no longer runs: no such process, or only a zombie left. */
int proc_gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	char *s = harness_slurp(p);
	if (!s)
		return 1;
	char *rp = strrchr(s, ')');
	int dead = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	free(s);
	return dead;
}

/* ------------------------------------------------------------------------------------------ */
/* the daemon's database, read from the side                                                  */

/* The integer the SQL query gives on the daemon's database (read-only; `arg`, if not NULL, bound
 * to its one parameter); -1 when the query fails (printed). */
long long db_int(const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_open_v2(fx.d.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 10000) != SQLITE_OK || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    (arg && sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) != SQLITE_OK)) {
		print_error("%s: %s: %s\n", fx.d.db, sql, db ? sqlite3_errmsg(db) : "cannot open");
	} else {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		else
			print_error("%s: %s: %s\n", fx.d.db, sql, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ------------------------------------------------------------------------------------------ */
/* processes the daemon recorded for the test's pods and containers                           */

/* The start time (clock ticks after boot, /proc/<pid>/stat field 22) of a running process, or 0
 * when it is gone or a zombie: with the pid it names one process even if the pid is reused. */
static unsigned long long proc_start(pid_t pid)
{
	char *s = harness_slurp(tprintf("/proc/%d/stat", (int)pid));
	if (!s)
		return 0;
	unsigned long long start = 0;
	char *rp = strrchr(s, ')');
	/* after "(comm) ": state is field 3, starttime field 22 */
	if (rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X') {
		char *save = NULL, *tok = strtok_r(rp + 2, " ", &save);
		for (int field = 3; tok && field < 22; field++)
			tok = strtok_r(NULL, " ", &save);
		if (tok)
			start = strtoull(tok, NULL, 10);
	}
	free(s);
	return start;
}

static void track_pid(const char *id, pid_t pid, const char *what)
{
	unsigned long long start = pid > 0 ? proc_start(pid) : 0;
	pthread_mutex_lock(&owned_mu); /* pods made on threads of a test's own, as own() */
	if (start && fx.n_procs < sizeof fx.procs / sizeof *fx.procs) {
		struct tracked_proc *t = &fx.procs[fx.n_procs++];
		snprintf(t->id, sizeof t->id, "%s", id);
		t->pid = pid;
		t->start = start;
		t->what = what;
	} /* else exited already (a short-lived container), or enough to go on */
	pthread_mutex_unlock(&owned_mu);
}

/* Once a pod or container runs: remember its init (pause) process as the database records it and
 * its conmon as conmon's pid file says, so that assert_nothing_left can look for them directly. */
static void track_procs(const char *id, int pod)
{
	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return;
	long long pid = db_int(pod ? "SELECT pid FROM sandboxes WHERE id = ?" : "SELECT pid FROM containers WHERE id = ?",
			       id);
	track_pid(id, pid > 0 && pid < INT32_MAX ? (pid_t)pid : 0, pod ? "infra (pause) process" : "container init");
	char *cp = harness_slurp(tprintf("%s/%s/%s/conmon.pid", fx.d.state, pod ? "sandboxes" : "containers", id));
	if (cp)
		track_pid(id, (pid_t)atoi(cp), "conmon");
	free(cp);
}

/* Recorded processes of ids (NULL-terminated) that still run; printed. */
static int tracked_alive(const char *const *ids, const char *what)
{
	int n = 0;
	for (size_t i = 0; i < fx.n_procs; i++) {
		const struct tracked_proc *t = &fx.procs[i];
		int mine = 0;
		for (size_t k = 0; ids[k] && !mine; k++)
			mine = strcmp(ids[k], t->id) == 0;
		if (!mine || (what ? strcmp(t->what, what) != 0 : strcmp(t->what, "conmon") == 0))
			continue;
		if (proc_start(t->pid) == t->start) {
			print_error("still running: %s %d of %s\n", t->what, (int)t->pid, t->id);
			n++;
		}
	}
	return n;
}

/* Processes (not zombies) in a cgroup below the test's cgroup parent, in any hierarchy (cgroup v1
 * or v2): every container and pause process of the test's pods; printed. */
static int procs_in_cgparent(void)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	int n = 0;
	size_t cl = strlen(fx.cgparent);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char *cg = harness_slurp(tprintf("/proc/%s/cgroup", e->d_name));
		if (!cg)
			continue;
		/* lines "hierarchy-id:controllers:path"; the path is at or below cgparent */
		int in = 0;
		char *save = NULL;
		for (char *l = strtok_r(cg, "\n", &save); l && !in; l = strtok_r(NULL, "\n", &save)) {
			char *c1 = strchr(l, ':'), *path = c1 ? strchr(c1 + 1, ':') : NULL;
			in = path && strncmp(path + 1, fx.cgparent, cl) == 0 && (path[1 + cl] == '/' || path[1 + cl] == '\0');
		}
		free(cg);
		if (in && !proc_gone(atoi(e->d_name))) {
			char *cmd = harness_slurp(tprintf("/proc/%s/cmdline", e->d_name));
			print_error("still running in the test's cgroup %s: pid %s (%s)\n", fx.cgparent, e->d_name,
				    cmd ? cmd : "?");
			free(cmd);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Rows of the daemon's database that name one of ids (NULL-terminated): the pods and containers
 * themselves, their labels, annotations and layer references; printed. */
static int db_rows_naming(const char *const *ids)
{
	static const char *const q[] = {
		"SELECT count(*) FROM sandboxes WHERE id = ?1",
		"SELECT count(*) FROM sandbox_labels WHERE sandbox_id = ?1",
		"SELECT count(*) FROM sandbox_annotations WHERE sandbox_id = ?1",
		"SELECT count(*) FROM containers WHERE id = ?1 OR sandbox_id = ?1",
		"SELECT count(*) FROM container_labels WHERE container_id = ?1",
		"SELECT count(*) FROM container_annotations WHERE container_id = ?1",
		"SELECT count(*) FROM container_layers WHERE container_id = ?1",
	};
	int n = 0;
	for (size_t i = 0; ids[i]; i++)
		for (size_t k = 0; k < sizeof q / sizeof *q; k++) {
			long long c = db_int(q[k], ids[i]);
			if (c != 0) {
				print_error("left in the database: %s: %lld (id %s)\n", q[k], c, ids[i]);
				n++;
			}
		}
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* container logs                                                                             */

const char *log_path_of(const char *name)
{
	return tprintf("%s/%s.log", fx.logdir, name);
}

/* Poll the file at path until it contains needle; its content. */
char *wait_log(const char *path, const char *needle)
{
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		char *s = harness_slurp(path);
		if (s && strstr(s, needle)) {
			own(s, free);
			return s;
		}
		if (now_ms() > deadline) {
			own(s, free);
			print_error("%s: no \"%s\" after %d s; it holds:\n%s\n", path, needle, WAIT_MS / 1000,
				    s ? s : "(no file)");
			fail();
		}
		free(s);
		sleep_ms(50);
	}
}

/* The rest of the line after the first "key=" in log (owned), or NULL. */
char *log_value(const char *log, const char *key)
{
	const char *k = tprintf("%s=", key);
	const char *p = strstr(log, k);
	if (!p)
		return NULL;
	p += strlen(k);
	size_t n = strcspn(p, "\n");
	char *v = talloc(n + 1);
	memcpy(v, p, n);
	return v;
}

/*
 * Every line of the CRI log at path matches "<RFC3339Nano> <stdout|stderr> <F|P> <msg>", and
 * `stream` F msg is a line of it for each (stream, msg) pair of the NULL-terminated varargs.
 */
void assert_cri_log(const char *path, ...)
{
	char *text = harness_slurp(path);
	own(text, free);
	if (!text)
		print_error("%s: cannot read the container log\n", path);
	assert_non_null(text);
	regex_t re;
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
				 " (stdout|stderr) (F|P)( .*)?$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	int bad = 0;
	char *save = NULL, *copy = strdup(text);
	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (regexec(&re, line, 0, NULL, 0) != 0) {
			print_error("%s: line not in CRI log format: \"%s\"\n", path, line);
			bad = 1;
		}
	free(copy);
	regfree(&re);
	va_list ap;
	va_start(ap, path);
	const char *stream;
	while ((stream = va_arg(ap, const char *)) != NULL) {
		const char *msg = va_arg(ap, const char *);
		/* " <stream> F <msg>\n" after a timestamp, as a whole line */
		const char *want = tprintf(" %s F %s\n", stream, msg);
		const char *p = strstr(text, want);
		if (!p) {
			print_error("%s: no line \"<time>%s\"; the log:\n%s\n", path, want, text);
			bad = 1;
		}
	}
	va_end(ap);
	assert_false(bad);
}

/* ------------------------------------------------------------------------------------------ */
/* what is left on the host                                                                   */

/* Mount points at or under dir (from /proc/self/mountinfo), newline-separated, owned ("" = none). */
char *mounts_under(const char *dir)
{
	char *mi = harness_slurp("/proc/self/mountinfo");
	own(mi, free);
	assert_non_null(mi);
	size_t dl = strlen(dir);
	char *out = talloc(strlen(mi) + 1), *o = out;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent major:minor root mount-point ... */
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strncmp(mp, dir, dl) == 0 && (mp[dl] == '/' || mp[dl] == '\0'))
			o += sprintf(o, "%s\n", mp);
	}
	return out;
}

/* The daemon's runc root (runtime.h: <state>/runc). */
const char *runc_root(void)
{
	return tprintf("%s/runc", fx.d.state);
}

/* IDs runc knows in the daemon's runc root, newline-separated ("" = none or no root), or NULL
 * when `runc list` failed (printed). */
static char *runc_list(void)
{
	struct stat st;
	if (stat(runc_root(), &st) < 0)
		return (char *)"";
	char out[PATH_MAX + 16];
	snprintf(out, sizeof out, "%s/runc-list.out", fx.d.dir);
	unlink(out);
	const char *argv[] = { RUNC, "--root", runc_root(), "list", "-q", NULL };
	int rc = harness_run(argv, out);
	char *s = harness_slurp(out);
	own(s, free);
	unlink(out);
	if (rc != 0) {
		print_error("runc list: exit %d: %s\n", rc, s ? s : "");
		return NULL;
	}
	return s ? s : (char *)"";
}

/* IDs runc knows in the daemon's runc root, newline-separated, owned ("" = none or no root); a
 * `runc list` that fails fails the test (it does not mean "none"). */
char *runc_ids(void)
{
	char *s = runc_list();
	if (!s)
		fail_msg("runc list failed: cannot tell which containers runc has");
	return s;
}

/* Number of subdirectories of dir (0 if it does not exist); their names printed. */
int subdirs(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			print_error("left behind: %s\n", p);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Number of entries of dir (0 if it does not exist); their names printed. */
int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		print_error("left behind: %s/%s\n", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Files anywhere under dir whose name contains one of the NULL-terminated ids; printed. */
int files_naming(const char *dir, const char *const *ids)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		for (size_t i = 0; ids[i]; i++)
			if (strstr(e->d_name, ids[i])) {
				print_error("left behind: %s\n", p);
				n++;
				break;
			}
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			n += files_naming(p, ids);
	}
	closedir(d);
	return n;
}

/* Processes (not zombies) whose command line mentions id (conmon has "-c <id>"); printed. */
int procs_naming(const char *id)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char p[300];
		if (snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name) >= (int)sizeof p)
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[8192];
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, id) && !proc_gone(atoi(e->d_name))) {
			print_error("still running: pid %s: %s\n", e->d_name, buf);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Poll until no process mentions id (conmon exits after its container). */
void wait_no_procs(const char *id)
{
	int64_t deadline = now_ms() + WAIT_MS;
	while (procs_naming(id) > 0) {
		if (now_ms() > deadline) {
			print_error("processes of %s still run after %d s\n", id, WAIT_MS / 1000);
			fail();
		}
		sleep_ms(200);
	}
}

/*
 * The test's cgroup parent in every mounted cgroup hierarchy (cgroup v1 controllers and named
 * hierarchies, the cgroup2 mount whether it is /sys/fs/cgroup itself or a hybrid host's
 * /sys/fs/cgroup/unified), from /proc/self/mountinfo: <mount point><cgparent>.  Returns how many.
 */
int cgroup_dirs(char out[][PATH_MAX], int max)
{
	char *mi = harness_slurp("/proc/self/mountinfo");
	if (!mi)
		return 0;
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		/* id parent major:minor root mount-point options... - fstype source super-options */
		char mp[PATH_MAX], fstype[32];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || sscanf(dash + 3, "%31s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		int dup = 0; /* one hierarchy mounted twice */
		char want[PATH_MAX];
		if (snprintf(want, sizeof want, "%.*s%s", (int)(sizeof want - sizeof fx.cgparent), mp, fx.cgparent) >=
		    (int)sizeof want)
			continue;
		for (int i = 0; i < n; i++)
			dup |= strcmp(out[i], want) == 0;
		if (!dup)
			snprintf(out[n++], PATH_MAX, "%s", want);
	}
	free(mi);
	return n;
}

/* Remove a cgroup directory tree (children first, rmdir only).  The number of cgroups below dir
 * it found (printed) plus those it could not remove: the parent itself, made for the test, is not
 * counted when it goes. */
int cgroup_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			fprintf(stderr, "teardown: cgroup %s left; removing it\n", p);
			n += 1 + cgroup_rmtree(p);
		}
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT) {
		fprintf(stderr, "teardown: rmdir %s: %s\n", dir, strerror(errno));
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* fixture                                                                                    */


/* Group: build the base image and push it to a registry on 127.0.0.1. */
int group_up(void **state)
{
	(void)state;
	memset(&grp, 0, sizeof grp);
	grp.reg.pid = -1;
	if (tmpdir_make(grp.layout, sizeof grp.layout, "layout") < 0) {
		grp.layout[0] = '\0';
		return -1;
	}
	if (testimg_build(grp.layout, TESTIMG_BASE, NULL, &grp.img) < 0 || testreg_start(&grp.reg, TESTREG_OPEN) < 0 ||
	    testreg_push(&grp.reg, grp.layout, &grp.img, MIRROR_REPO "busybox", "1.0") < 0) {
		testreg_stop(&grp.reg);
		tmpdir_remove(grp.layout);
		return -1;
	}
	return 0;
}

int group_down(void **state)
{
	(void)state;
	testreg_stop(&grp.reg);
	if (grp.layout[0])
		tmpdir_remove(grp.layout);
	grp.layout[0] = '\0';
	return 0;
}

int start_daemon(void)
{
	if (harness_start(&fx.d, NULL, NULL) == 0)
		return 0;
	char *log = harness_slurp(fx.d.log);
	fprintf(stderr, "daemon did not start; its log:\n%s\n", log ? log : "(none)");
	free(log);
	return -1;
}

static int small_root_next; /* up_small_root → up */

int up_small_root(void **state)
{
	small_root_next = 1;
	return up(state);
}

/* Setup: directories, a daemon with the registry as `*` mirror, the test image pulled. */
int up(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof fx);
	fx.small_root = small_root_next;
	small_root_next = 0;
	fx.d.pid = -1;
	unsigned char r[6];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	snprintf(fx.cgparent, sizeof fx.cgparent, "/litecri-test-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
		 r[5]);
	ssize_t n = readlink("/proc/self/ns/net", fx.host_netns, sizeof fx.host_netns - 1);
	if (n <= 0)
		return -1;
	if (tmpdir_make(fx.logdir, sizeof fx.logdir, "logs") < 0 ||
	    tmpdir_make(fx.hostdir, sizeof fx.hostdir, "hostdir") < 0 || harness_init(&fx.d) < 0)
		goto fail;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/greeting", fx.hostdir);
	FILE *f = fopen(p, "we");
	if (!f || fputs("hello from the host\n", f) < 0 || fclose(f) != 0)
		goto fail;
	f = fopen(fx.d.config, "we");
	if (!f)
		goto fail;
	fprintf(f, "[registry \"*\"]\nmirror = http://127.0.0.1:%d insecure\nupstream = false\n", grp.reg.port);
	if (fclose(f) != 0)
		goto fail;
	if (fx.small_root) {
		char opts[64];
		snprintf(opts, sizeof opts, "size=%dm,mode=0700", SMALL_ROOT_MB);
		if (mkdir(fx.d.root, 0700) < 0 || mount("tmpfs", fx.d.root, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
			fprintf(stderr, "tmpfs on %s: %s\n", fx.d.root, strerror(errno));
			fx.small_root = 0;
			goto fail;
		}
	}
	if (start_daemon() < 0)
		goto fail;
	/* the pull goes through the API so that image_ref is what PullImage returned */
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = IMAGE;
	req.image = &spec;
	ProtobufCMessage *resp;
	char *details;
	grpc_status_code st = rpc(IMG "PullImage", &req.base, &runtime__v1__pull_image_response__descriptor, &resp,
				  &details, PULL_TIMEOUT_MS);
	if (st != GRPC_STATUS_OK) {
		fprintf(stderr, "PullImage %s: %s: %s\n", IMAGE, cri_status_name(st), details);
		goto fail;
	}
	snprintf(fx.image_ref, sizeof fx.image_ref, "%s", ((Runtime__V1__PullImageResponse *)resp)->image_ref);
	return 0;
fail:
	down(NULL);
	return -1;
}

/* Through the API, with no assertions: remove every container and pod the daemon knows.  The
 * number of calls that failed (printed). */
int api_cleanup(void)
{
	int bad = 0;
	ProtobufCMessage *resp;
	char *details;
	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	grpc_status_code st = rpc(RT "ListContainers", &lc.base, &runtime__v1__list_containers_response__descriptor,
				  &resp, &details, CALL_TIMEOUT_MS);
	if (st == GRPC_STATUS_OK) {
		Runtime__V1__ListContainersResponse *r = (Runtime__V1__ListContainersResponse *)resp;
		for (size_t i = 0; i < r->n_containers; i++) {
			st = remove_ctr_st(r->containers[i]->id, &details);
			if (st != GRPC_STATUS_OK) {
				fprintf(stderr, "teardown: RemoveContainer %s: %s: %s\n", r->containers[i]->id,
					cri_status_name(st), details);
				bad++;
			}
		}
	} else {
		fprintf(stderr, "teardown: ListContainers: %s: %s\n", cri_status_name(st), details);
		bad++;
	}
	Runtime__V1__ListPodSandboxRequest lp = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	st = rpc(RT "ListPodSandbox", &lp.base, &runtime__v1__list_pod_sandbox_response__descriptor, &resp, &details,
		 CALL_TIMEOUT_MS);
	if (st == GRPC_STATUS_OK) {
		Runtime__V1__ListPodSandboxResponse *r = (Runtime__V1__ListPodSandboxResponse *)resp;
		for (size_t i = 0; i < r->n_items; i++) {
			const char *id = r->items[i]->id;
			st = pod_call("StopPodSandbox", id, &details);
			if (st == GRPC_STATUS_OK)
				st = pod_call("RemovePodSandbox", id, &details);
			if (st != GRPC_STATUS_OK) {
				fprintf(stderr, "teardown: Stop/RemovePodSandbox %s: %s: %s\n", id, cri_status_name(st),
					details);
				bad++;
			}
		}
	} else {
		fprintf(stderr, "teardown: ListPodSandbox: %s: %s\n", cri_status_name(st), details);
		bad++;
	}
	return bad;
}

/* After the daemon stopped: delete what runc still runs, unmount what is mounted under the
 * daemon's directory, remove the test's cgroups.  The number of things it found to clean (or
 * could not clean), each printed: 0 when the daemon left nothing behind. */
int safety_net(void)
{
	int found = 0;
	if (fx.d.dir[0]) {
		char *list = runc_list();
		if (!list)
			found++;
		char *ids = strdup(list ? list : "");
		char *save = NULL;
		for (char *id = ids ? strtok_r(ids, "\n", &save) : NULL; id; id = strtok_r(NULL, "\n", &save)) {
			fprintf(stderr, "teardown: runc container %s left; deleting it\n", id);
			found++;
			char out[PATH_MAX + 16];
			snprintf(out, sizeof out, "%s/runc-delete.out", fx.d.dir);
			const char *argv[] = { RUNC, "--root", runc_root(), "delete", "--force", id, NULL };
			if (harness_run(argv, out) != 0)
				fprintf(stderr, "teardown: runc delete --force %s failed\n", id);
		}
		free(ids);
		for (int round = 0; round < 8; round++) {
			char *m = mounts_under(fx.d.dir);
			if (!*m)
				break;
			/* innermost (latest) first */
			char *lines[512];
			int n = 0;
			char *save2 = NULL;
			for (char *l = strtok_r(m, "\n", &save2); l && n < 512; l = strtok_r(NULL, "\n", &save2))
				lines[n++] = l;
			for (int i = n - 1; i >= 0; i--) {
				if (round == 0) {
					fprintf(stderr, "teardown: unmounting %s\n", lines[i]);
					found++;
				}
				umount2(lines[i], MNT_DETACH);
			}
		}
	}
	if (fx.cgparent[0]) {
		char dirs[32][PATH_MAX];
		int n = cgroup_dirs(dirs, 32);
		for (int i = 0; i < n; i++)
			found += cgroup_rmtree(dirs[i]);
	}
	return found;
}

/* 1 if the file at path holds a sanitizer report (printed), for the ASan/UBSan build. */
int sanitizer_report(const char *path)
{
	char *text = harness_slurp(path);
	int bad = text && (strstr(text, "AddressSanitizer") || strstr(text, "LeakSanitizer") ||
			   strstr(text, "runtime error:"));
	if (bad)
		print_error("sanitizer report in %s:\n%s\n", path, text);
	free(text);
	return bad;
}

/* Remove every pod and container, stop the daemon, clean whatever is left; remove directories.
 * Fails the test (-1) if a removal through the API failed, the daemon did not exit 0 on SIGTERM,
 * anything was left behind the daemon (runc containers, mounts, cgroups, daemons, directories),
 * or the daemon reported a sanitizer error. */
int down(void **state)
{
	(void)state;
	int rc = 0;
	if (fx.d.pid > 0) {
		if (api_cleanup() > 0)
			rc = -1;
		int ex = harness_stop(&fx.d);
		if (ex != 0) {
			fprintf(stderr, "teardown: the daemon exited with status %d on SIGTERM (not 0)\n", ex);
			rc = -1;
		}
	}
	/* the small root's tmpfs quietly, unless something is still mounted on it (safety_net's job) */
	if (fx.small_root && umount2(fx.d.root, 0) == 0)
		fx.small_root = 0;
	if (safety_net() > 0) {
		fprintf(stderr, "teardown: the daemon left the above behind\n");
		rc = -1;
	}
	if (fx.d.dir[0] && sanitizer_report(fx.d.log))
		rc = -1;
	if (getenv("LITECRI_TEST_KEEP_LOG") && fx.d.dir[0]) {
		char *log = harness_slurp(fx.d.log);
		fprintf(stderr, "---- daemon log ----\n%s\n---- end ----\n", log ? log : "");
		free(log);
	} else if (rc < 0 && fx.d.dir[0]) {
		print_daemon_log_tail();
	}
	harness_cleanup(&fx.d);
	if (fx.logdir[0])
		tmpdir_remove(fx.logdir);
	if (fx.hostdir[0])
		tmpdir_remove(fx.hostdir);
	fx.logdir[0] = fx.hostdir[0] = '\0';
	free_owned();
	int n = harness_reap_all();
	if (n) {
		print_error("the test left %d daemon(s) or directories behind; removed\n", n);
		rc = -1;
	}
	return rc;
}

/* The tail of the daemon log (for failure reports). */
void print_daemon_log_tail(void)
{
	char *log = harness_slurp(fx.d.log);
	if (!log)
		return;
	size_t len = strlen(log);
	print_error("---- daemon log (last 6000 bytes) ----\n%s\n----\n", len > 6000 ? log + len - 6000 : log);
	free(log);
}

/*
 * Once every pod is removed, nothing of ids (NULL-terminated pod and container IDs) is left:
 *   - no container or pause process: none in a cgroup below the test's cgroup parent (any
 *     hierarchy, v1 or v2), none of the init / infra processes the daemon recorded;
 *   - no conmon: neither the recorded ones nor any process naming one of ids;
 *   - no mounts under the daemon's root and state (rootfs, /dev/shm, pinned namespaces), no runc
 *     containers (a `runc list` that fails fails), no cgroups below the cgroup parent in any
 *     hierarchy, nothing in <root|state>/<containers|sandboxes>, no file naming one of ids under
 *     root or state (exit files, conmon's files);
 *   - no row naming one of ids in the database: pods, containers, labels, annotations, layers.
 * A removal returns once the container's processes are gone (the runtime's delete kills and waits
 * for them), so they are looked for at once.  It does not wait for conmon, which exits by itself
 * right after writing the exit file: conmon alone gets a short bounded wait (CONMON_EXIT_MS).
 */
#define CONMON_EXIT_MS 10000
void assert_nothing_left(const char *const *ids)
{
	int left = procs_in_cgparent() + tracked_alive(ids, NULL);
	for (int64_t deadline = now_ms() + CONMON_EXIT_MS;;) {
		int conmons = tracked_alive(ids, "conmon");
		for (size_t i = 0; ids[i]; i++)
			conmons += procs_naming(ids[i]);
		if (!conmons)
			break;
		if (now_ms() > deadline) {
			print_error("conmon (or another process naming an ID) still runs %d s after the removal\n",
				    CONMON_EXIT_MS / 1000);
			left += conmons;
			break;
		}
		sleep_ms(50);
	}
	char *m = mounts_under(fx.d.root);
	const char *own_mount = fx.small_root ? tprintf("%s\n", fx.d.root) : ""; /* up_small_root's tmpfs */
	if (*own_mount && strncmp(m, own_mount, strlen(own_mount)) == 0)
		m += strlen(own_mount);
	if (*m) {
		print_error("mounts left under %s:\n%s", fx.d.root, m);
		left++;
	}
	m = mounts_under(fx.d.state);
	if (*m) {
		print_error("mounts left under %s:\n%s", fx.d.state, m);
		left++;
	}
	char *runc = runc_list();
	if (!runc || *runc) {
		if (runc)
			print_error("runc containers left in %s:\n%s", runc_root(), runc);
		left++;
	}
	char cg[32][PATH_MAX];
	int n = cgroup_dirs(cg, 32);
	if (n == 0) {
		print_error("no cgroup hierarchy is mounted: cannot tell whether cgroups are left\n");
		left++;
	}
	for (int i = 0; i < n; i++)
		left += subdirs(cg[i]);
	const char *dirs[] = { "containers", "sandboxes" };
	for (size_t i = 0; i < 2; i++) {
		left += entries(tprintf("%s/%s", fx.d.root, dirs[i]));
		left += entries(tprintf("%s/%s", fx.d.state, dirs[i]));
	}
	left += files_naming(fx.d.root, ids);
	left += files_naming(fx.d.state, ids);
	left += db_rows_naming(ids);
	if (left)
		print_daemon_log_tail();
	assert_int_equal(left, 0);
}

int podfix_main(const char *name, const struct CMUnitTest *tests, size_t n)
{
	/* Every daemon of these tests ends extra pool workers after 1 s idle (the default is 60 s). */
	setenv("LITECRI_WORKER_IDLE_S", "1", 1);
	/* Only 127.0.0.1 is ever contacted: no proxy may redirect the daemon's or our requests. */
	const char *proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
		unsetenv(proxies[i]);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	grpc_init();
	if (getenv("LITECRI_TEST_FILTER")) /* e.g. LITECRI_TEST_FILTER='test_restart*' */
		cmocka_set_test_filter(getenv("LITECRI_TEST_FILTER"));
	int failed = _cmocka_run_group_tests(name, tests, n, group_up, group_down);
	grpc_shutdown();
	return failed ? 1 : 0;
}

/* daemon_fd_count once it is at most `bound`, or after 10 s whatever it is then: what the daemon
 * holds for work in the background (the reaper's runtime delete after an exit: its pipes, conmon's
 * pidfd) goes when that work ends. */
int daemon_fd_count_settled(int bound)
{
	int fds = daemon_fd_count();
	for (int64_t until = now_ms() + 10000; fds > bound && now_ms() < until; fds = daemon_fd_count())
		sleep_ms(100);
	return fds;
}

/* The daemon's open descriptors, leaving out its SQLite files (one connection per thread that used
 * the database, opened on first use: a count that follows the worker pool, not the calls). */
int daemon_fd_count(void)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)fx.d.pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX], target[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		ssize_t l = readlink(p, target, sizeof target - 1);
		target[l > 0 ? l : 0] = '\0';
		if (!strstr(target, fx.d.db))
			n++;
	}
	closedir(d);
	return n;
}
