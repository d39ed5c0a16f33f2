/*
 * test_badinput.c — the bad-input table (issue 16): every RPC with empty, unknown, non-hex,
 * NUL-holding and over-long IDs, and a NUL byte or invalid UTF-8 in every string field of every
 * request message, generated from the CRI descriptors.  Each case asserts the exact status code;
 * afterwards the daemon still answers and nothing was created, removed or changed: a pod and a
 * running container made first are still there, untouched, and no other object exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podfix.h"

static const ProtobufCServiceDescriptor *const services[] = {
	&runtime__v1__runtime_service__descriptor,
	&runtime__v1__image_service__descriptor,
};

/* --- the ID table --- */

enum idkind { ID_EMPTY, ID_UNKNOWN, ID_NONHEX, ID_DOTS, ID_LONG, ID_HUGE, ID_NUL, ID_BADUTF8, N_IDKINDS };
static const char *const idkind_name[N_IDKINDS] = { "empty", "unknown", "non-hex", "../..", "65 hex digits",
						    "1 MiB", "NUL", "invalid UTF-8" };

/* The ID of each kind; for ID_NUL and ID_BADUTF8 with the 0x7f placeholder that rpc_patched patches. */
static char *id_of(enum idkind k, const char *real)
{
	static char huge[1 << 20];
	switch (k) {
	case ID_EMPTY:
		return "";
	case ID_UNKNOWN:
		return "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	case ID_NONHEX:
		return "ZZZZ456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	case ID_DOTS:
		return "../../../etc";
	case ID_LONG:
		return tprintf("%s0", real);
	case ID_HUGE:
		memset(huge, 'a', sizeof huge - 1);
		huge[sizeof huge - 1] = '\0';
		return huge;
	case ID_NUL:
	case ID_BADUTF8:
		return tprintf("%s\x7fjunk", real);
	default:
		return "";
	}
}

struct idcase {
	const char *rpc;     /* RuntimeService method */
	int container;       /* 1: the ID names a container, 0: a pod */
	grpc_status_code unknown; /* what an unknown, well-formed ID gets */
};

/* Every RPC that takes an object ID and is implemented. */
static const struct idcase id_rpcs[] = {
	{ "StartContainer", 1, GRPC_STATUS_NOT_FOUND },
	{ "StopContainer", 1, GRPC_STATUS_OK }, /* idempotent: a missing container is stopped */
	{ "RemoveContainer", 1, GRPC_STATUS_OK },
	{ "ContainerStatus", 1, GRPC_STATUS_NOT_FOUND },
	{ "UpdateContainerResources", 1, GRPC_STATUS_NOT_FOUND },
	{ "ReopenContainerLog", 1, GRPC_STATUS_NOT_FOUND },
	{ "ExecSync", 1, GRPC_STATUS_NOT_FOUND },
	{ "Exec", 1, GRPC_STATUS_NOT_FOUND },
	{ "Attach", 1, GRPC_STATUS_NOT_FOUND },
	{ "PortForward", 0, GRPC_STATUS_NOT_FOUND },
	{ "StopPodSandbox", 0, GRPC_STATUS_OK },
	{ "RemovePodSandbox", 0, GRPC_STATUS_OK },
	{ "PodSandboxStatus", 0, GRPC_STATUS_NOT_FOUND },
	{ "CreateContainer", 0, GRPC_STATUS_NOT_FOUND },
};

/* The request of rpc naming id (a request otherwise valid, so that only the ID is wrong). */
static ProtobufCMessage *id_request(const char *rpc, char *id, Runtime__V1__PodSandboxConfig *pc)
{
	if (!strcmp(rpc, "StartContainer")) {
		Runtime__V1__StartContainerRequest *r = TNEW(Runtime__V1__StartContainerRequest,
							     runtime__v1__start_container_request__descriptor);
		r->container_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "StopContainer")) {
		Runtime__V1__StopContainerRequest *r = TNEW(Runtime__V1__StopContainerRequest,
							    runtime__v1__stop_container_request__descriptor);
		r->container_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "RemoveContainer")) {
		Runtime__V1__RemoveContainerRequest *r = TNEW(Runtime__V1__RemoveContainerRequest,
							      runtime__v1__remove_container_request__descriptor);
		r->container_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "ContainerStatus")) {
		Runtime__V1__ContainerStatusRequest *r = TNEW(Runtime__V1__ContainerStatusRequest,
							      runtime__v1__container_status_request__descriptor);
		r->container_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "UpdateContainerResources")) {
		Runtime__V1__UpdateContainerResourcesRequest *r =
			TNEW(Runtime__V1__UpdateContainerResourcesRequest,
			     runtime__v1__update_container_resources_request__descriptor);
		r->container_id = id;
		r->linux = TNEW(Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__descriptor);
		r->linux->cpu_shares = 512;
		return &r->base;
	}
	if (!strcmp(rpc, "ReopenContainerLog")) {
		Runtime__V1__ReopenContainerLogRequest *r = TNEW(Runtime__V1__ReopenContainerLogRequest,
								 runtime__v1__reopen_container_log_request__descriptor);
		r->container_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "ExecSync")) {
		Runtime__V1__ExecSyncRequest *r = TNEW(Runtime__V1__ExecSyncRequest, runtime__v1__exec_sync_request__descriptor);
		r->container_id = id;
		r->cmd = talloc(sizeof(char *));
		r->cmd[0] = "/bin/true";
		r->n_cmd = 1;
		r->timeout = 10;
		return &r->base;
	}
	if (!strcmp(rpc, "Exec")) {
		Runtime__V1__ExecRequest *r = TNEW(Runtime__V1__ExecRequest, runtime__v1__exec_request__descriptor);
		r->container_id = id;
		r->cmd = talloc(sizeof(char *));
		r->cmd[0] = "/bin/true";
		r->n_cmd = 1;
		r->stdout = 1;
		return &r->base;
	}
	if (!strcmp(rpc, "Attach")) {
		Runtime__V1__AttachRequest *r = TNEW(Runtime__V1__AttachRequest, runtime__v1__attach_request__descriptor);
		r->container_id = id;
		r->stdout = 1;
		return &r->base;
	}
	if (!strcmp(rpc, "PortForward")) {
		Runtime__V1__PortForwardRequest *r = TNEW(Runtime__V1__PortForwardRequest,
							  runtime__v1__port_forward_request__descriptor);
		r->pod_sandbox_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "CreateContainer")) {
		Runtime__V1__CreateContainerRequest *r = TNEW(Runtime__V1__CreateContainerRequest,
							      runtime__v1__create_container_request__descriptor);
		r->pod_sandbox_id = id;
		r->config = ctr_config("badid", SLEEP_FOREVER, NULL);
		r->sandbox_config = pc;
		return &r->base;
	}
	if (!strcmp(rpc, "PodSandboxStatus")) {
		Runtime__V1__PodSandboxStatusRequest *r = TNEW(Runtime__V1__PodSandboxStatusRequest,
							       runtime__v1__pod_sandbox_status_request__descriptor);
		r->pod_sandbox_id = id;
		return &r->base;
	}
	if (!strcmp(rpc, "StopPodSandbox")) {
		Runtime__V1__StopPodSandboxRequest *r = TNEW(Runtime__V1__StopPodSandboxRequest,
							     runtime__v1__stop_pod_sandbox_request__descriptor);
		r->pod_sandbox_id = id;
		return &r->base;
	}
	Runtime__V1__RemovePodSandboxRequest *r = TNEW(Runtime__V1__RemovePodSandboxRequest,
						       runtime__v1__remove_pod_sandbox_request__descriptor);
	r->pod_sandbox_id = id;
	return &r->base;
}

/* The pod and container every case must leave untouched, and what they looked like. */
struct witness {
	char *pod, *ctr;
	pid_t pid;
	Runtime__V1__PodSandboxConfig *pc;
};

static void assert_untouched(const struct witness *w, const char *after)
{
	Runtime__V1__ContainerStatus *s = ctr_status(w->ctr);
	if (s->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING || ctr_pid(w->ctr) != w->pid)
		fail_msg("after %s: the witness container is %s", after, ctr_state_name(s->state));
	if (pod_status(w->pod)->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
		fail_msg("after %s: the witness pod is not READY", after);
	if (list_ctrs(NULL)->n_containers != 1 || list_pods(NULL)->n_items != 1)
		fail_msg("after %s: %zu containers and %zu pods exist, wanted the witnesses only",
			 after, list_ctrs(NULL)->n_containers, list_pods(NULL)->n_items);
}

static struct witness make_witness(void)
{
	struct witness w;
	w.pc = pod_config("pod-badinput", LBL("app", "badinput"));
	w.pod = run_pod(w.pc);
	w.ctr = create_ctr(w.pod, ctr_config("witness", SLEEP_FOREVER, NULL), w.pc);
	start_ctr(w.ctr);
	w.pid = ctr_pid(w.ctr);
	return w;
}

/* Every ID-taking RPC with every kind of bad ID: the exact code, and nothing touched. */
static void test_bad_ids(void **state)
{
	(void)state;
	struct witness w = make_witness();
	int bad = 0;
	for (size_t r = 0; r < sizeof id_rpcs / sizeof *id_rpcs; r++) {
		const struct idcase *c = &id_rpcs[r];
		const char *real = c->container ? w.ctr : w.pod;
		for (int k = 0; k < N_IDKINDS; k++) {
			char *details;
			ProtobufCMessage *req = id_request(c->rpc, id_of((enum idkind)k, real), w.pc);
			char patch = k == ID_NUL ? '\0' : k == ID_BADUTF8 ? (char)0xfe : 0x7f;
			grpc_status_code want = k == ID_UNKNOWN ? c->unknown : GRPC_STATUS_INVALID_ARGUMENT;
			grpc_status_code got = rpc_patched(tprintf(RT "%s", c->rpc), req, patch, &details, NULL);
			if (got != want) {
				print_error("%s with a %s ID: %s (%s), wanted %s\n", c->rpc, idkind_name[k],
					    cri_status_name(got), details, cri_status_name(want));
				bad++;
			} else if (got != GRPC_STATUS_OK && strlen(details) > 2048) {
				print_error("%s with a %s ID: a %zu-byte message\n", c->rpc, idkind_name[k], strlen(details));
				bad++;
			}
		}
		assert_untouched(&w, c->rpc);
	}
	assert_int_equal(bad, 0);
	stop_ctr(w.ctr, 0);
	remove_ctr(w.ctr);
}

/* --- NUL and invalid UTF-8 in every string field of every request --- */

#define MAX_DEPTH 8

struct gen {
	const ProtobufCMethodDescriptor *method;
	const char *service;
	int cases, bad;
	/* the chain of fields from the request down to the string field being set */
	const ProtobufCFieldDescriptor *chain[MAX_DEPTH];
	const ProtobufCMessageDescriptor *owner[MAX_DEPTH];
	int depth;
};

/* A message of type d in test memory, initialised. */
static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = talloc(d->sizeof_message);
	protobuf_c_message_init(d, m);
	return m;
}

/* Set field f of m to hold v (a string or a message), as the only element if repeated. */
static void set_field(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, void *v)
{
	char *base = (char *)m;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		void **arr = talloc(sizeof(void *));
		arr[0] = v;
		*(size_t *)(base + f->quantifier_offset) = 1;
		*(void ***)(base + f->offset) = arr;
	} else {
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(base + f->quantifier_offset) = f->id;
		*(void **)(base + f->offset) = v;
	}
}

/* The request with only the chain set: the last field a string holding the placeholder; the
 * other field of a map entry set to a plain string (a map entry needs both). */
static ProtobufCMessage *build(const struct gen *g)
{
	ProtobufCMessage *top = new_msg(g->method->input), *m = top;
	for (int i = 0; i < g->depth; i++) {
		const ProtobufCFieldDescriptor *f = g->chain[i];
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			set_field(m, f, "bad\x7f");
			const ProtobufCMessageDescriptor *d = g->owner[i];
			if (d->n_fields == 2 && !strcmp(d->fields[0].name, "key")) /* map entry */
				for (unsigned j = 0; j < 2; j++)
					if (&d->fields[j] != f && d->fields[j].type == PROTOBUF_C_TYPE_STRING)
						set_field(m, &d->fields[j], "ok");
			break;
		}
		ProtobufCMessage *sub = new_msg(f->descriptor);
		set_field(m, f, sub);
		m = sub;
	}
	return top;
}

/* The path wirecheck names: fields joined by '.', repeated ones with "[0]". */
static const char *path_of(const struct gen *g)
{
	char *p = talloc(1024);
	p[0] = '\0';
	for (int i = 0; i < g->depth; i++) {
		const ProtobufCFieldDescriptor *f = g->chain[i];
		size_t n = strlen(p);
		snprintf(p + n, 1024 - n, "%s%s%s", i ? "." : "", f->name,
			 f->label == PROTOBUF_C_LABEL_REPEATED ? "[0]" : "");
	}
	return p;
}

static void try_field(struct gen *g)
{
	ProtobufCMessage *req = build(g);
	const char *path = path_of(g);
	const char *method = tprintf("/%s/%s", g->service, g->method->name);
	for (int v = 0; v < 2; v++) {
		char *details;
		grpc_status_code got = rpc_patched(method, req, v ? (char)0xc0 : '\0', &details, NULL);
		g->cases++;
		/* methods not implemented answer UNIMPLEMENTED before decoding anything */
		if (got == GRPC_STATUS_UNIMPLEMENTED && strstr(details, "unknown method"))
			return;
		if (got != GRPC_STATUS_INVALID_ARGUMENT || !strstr(details, path)) {
			print_error("%s with %s in %s: %s: %s\n", method, v ? "invalid UTF-8" : "a NUL byte", path,
				    cri_status_name(got), details);
			g->bad++;
		}
	}
}

/* Every string field reachable from the message type d (the chain so far leads to it). */
static void walk(struct gen *g, const ProtobufCMessageDescriptor *d)
{
	if (g->depth == MAX_DEPTH)
		return;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		int seen = 0; /* a message type already on the chain: no recursion */
		for (int j = 0; j < g->depth && f->type == PROTOBUF_C_TYPE_MESSAGE; j++)
			seen |= g->owner[j] == f->descriptor;
		if (seen || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE))
			continue;
		g->chain[g->depth] = f;
		g->owner[g->depth] = d;
		g->depth++;
		if (f->type == PROTOBUF_C_TYPE_STRING)
			try_field(g);
		else
			walk(g, f->descriptor);
		g->depth--;
	}
}

static void test_bad_strings_everywhere(void **state)
{
	(void)state;
	struct witness w = make_witness();
	int cases = 0, bad = 0;
	for (size_t s = 0; s < sizeof services / sizeof *services; s++) {
		for (unsigned m = 0; m < services[s]->n_methods; m++) {
			struct gen g = { .method = &services[s]->methods[m], .service = services[s]->name };
			walk(&g, g.method->input);
			cases += g.cases;
			bad += g.bad;
		}
	}
	print_message("%d string-field cases over %zu services\n", cases, sizeof services / sizeof *services);
	assert_true(cases > 200);
	assert_int_equal(bad, 0);
	assert_untouched(&w, "the string cases");
	/* and the same holds under v1alpha2 */
	Runtime__V1__RemoveContainerRequest rc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rc.container_id = tprintf("%s\x7f", w.ctr);
	char *details;
	assert_int_equal(rpc_patched("/runtime.v1alpha2.RuntimeService/RemoveContainer", &rc.base, '\0', &details, NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_untouched(&w, "v1alpha2 RemoveContainer");
	stop_ctr(w.ctr, 0);
	remove_ctr(w.ctr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_ids, up, down),
		cmocka_unit_test_setup_teardown(test_bad_strings_everywhere, up, down),
	};
	return podfix_main("badinput", tests, sizeof tests / sizeof *tests);
}
