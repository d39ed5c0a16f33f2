/*
 * test_daemon.c — integration tests: the real litecri daemon on a temporary socket and database,
 * driven through its unix socket by the C CRI client (src/client/).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <jansson.h>
#include <sqlite3.h>

#include "api.pb-c.h"
#include "client/cri_client.h"
#include "harness.h"

#define V1 "/runtime.v1.RuntimeService/"
#define V1ALPHA2 "/runtime.v1alpha2.RuntimeService/"
#define TIMEOUT_MS 10000

static int db_user_version(const char *path);

/* The daemon shared by the tests that do not need one of their own. */
static struct daemon shared;

static int shared_up(void **state)
{
	(void)state;
	if (harness_init(&shared) < 0)
		return -1;
	if (harness_start(&shared, NULL, NULL) < 0) {
		char *log = harness_slurp(shared.log);
		fprintf(stderr, "daemon did not start; its log:\n%s\n", log ? log : "(none)");
		free(log);
		return -1;
	}
	return 0;
}

static int shared_down(void **state)
{
	(void)state;
	int rc = harness_stop(&shared);
	harness_cleanup(&shared);
	harness_reap_all();
	return rc == 0 ? 0 : -1;
}

/* After each test with daemons of its own: nothing may be left running or on disk; if anything
 * was, the test fails. */
static int reap(void **state)
{
	(void)state;
	int n = harness_reap_all();
	if (n)
		print_error("the test left %d daemon(s) or directories behind; removed\n", n);
	return n ? -1 : 0;
}

/* Typed call on a fresh client; asserts the expected status; returns the response (or NULL). */
static ProtobufCMessage *call(const char *endpoint, const char *method, const ProtobufCMessage *req,
			      const ProtobufCMessageDescriptor *rd, grpc_status_code want, char **details_out)
{
	struct cri_client *c = cri_client_new(endpoint);
	assert_non_null(c);
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st = cri_client_call(c, method, req, rd, &resp, &details, TIMEOUT_MS);
	if (st != want)
		print_error("%s: status %s (%s), wanted %s\n", method, cri_status_name(st), details ? details : "",
			    cri_status_name(want));
	assert_int_equal(st, want);
	cri_client_free(c);
	if (details_out)
		*details_out = details;
	else
		free(details);
	return resp;
}

static Runtime__V1__VersionResponse *version(const char *endpoint, const char *prefix)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "0.1.0";
	char method[128];
	snprintf(method, sizeof method, "%sVersion", prefix);
	return (Runtime__V1__VersionResponse *)call(endpoint, method, &req.base,
						    &runtime__v1__version_response__descriptor, GRPC_STATUS_OK, NULL);
}

/* Raw bytes to a method; returns the status and (optionally) the message. */
static grpc_status_code raw_call(const char *endpoint, const char *method, const void *buf, size_t len, char **details)
{
	struct cri_client *c = cri_client_new(endpoint);
	assert_non_null(c);
	void *resp = NULL;
	size_t resp_len = 0;
	grpc_status_code st = cri_client_call_raw(c, method, buf, len, &resp, &resp_len, details, TIMEOUT_MS);
	free(resp);
	cri_client_free(c);
	return st;
}

static void test_version_v1(void **state)
{
	(void)state;
	Runtime__V1__VersionResponse *r = version(shared.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	assert_string_equal(r->runtime_api_version, "v1");
	assert_string_equal(r->version, "0.1.0");
	assert_true(strlen(r->runtime_version) > 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_version_v1alpha2(void **state)
{
	(void)state;
	Runtime__V1__VersionResponse *r = version(shared.endpoint, V1ALPHA2);
	assert_string_equal(r->runtime_name, "litecri");
	assert_string_equal(r->runtime_api_version, "v1alpha2");
	assert_string_equal(r->version, "0.1.0");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static const Runtime__V1__RuntimeCondition *find_cond(const Runtime__V1__StatusResponse *r, const char *type)
{
	assert_non_null(r->status);
	for (size_t i = 0; i < r->status->n_conditions; i++)
		if (!strcmp(r->status->conditions[i]->type, type))
			return r->status->conditions[i];
	fail_msg("no %s condition", type);
	return NULL;
}

static Runtime__V1__StatusResponse *status(const char *endpoint, const char *prefix, int verbose)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	req.verbose = verbose;
	char method[128];
	snprintf(method, sizeof method, "%sStatus", prefix);
	return (Runtime__V1__StatusResponse *)call(endpoint, method, &req.base,
						   &runtime__v1__status_response__descriptor, GRPC_STATUS_OK, NULL);
}

static void test_status_conditions(void **state)
{
	(void)state;
	const char *prefixes[] = { V1, V1ALPHA2 };
	for (int i = 0; i < 2; i++) {
		Runtime__V1__StatusResponse *r = status(shared.endpoint, prefixes[i], 0);
		const Runtime__V1__RuntimeCondition *rt = find_cond(r, "RuntimeReady");
		if (!rt->status)
			print_error("RuntimeReady false: %s: %s\n", rt->reason, rt->message);
		assert_true(rt->status); /* runc is installed by the setup script; the database is open */
		assert_string_equal(rt->reason, "");
		const Runtime__V1__RuntimeCondition *net = find_cond(r, "NetworkReady");
		assert_true(net->status); /* the harness's loopback-only CNI network (see test_network) */
		assert_string_equal(net->reason, "");
		assert_int_equal(r->n_info, 0); /* info only when verbose */
		assert_int_equal(r->n_runtime_handlers, 2); /* the default and the OCI runtime's own name */
		assert_string_equal(r->runtime_handlers[0]->name, "");
		assert_string_equal(r->runtime_handlers[1]->name, "runc");
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
}

static void test_status_verbose(void **state)
{
	(void)state;
	Runtime__V1__StatusResponse *r = status(shared.endpoint, V1, 1);
	assert_int_equal(r->n_info, 2);
	assert_string_equal(r->info[0]->key, "config");
	assert_string_equal(r->info[1]->key, "cniconfig");
	json_error_t je;
	json_t *o = json_loads(r->info[0]->value, 0, &je);
	if (!o)
		fail_msg("info[config] is not JSON: %s: %s", je.text, r->info[0]->value);
	assert_string_equal(json_string_value(json_object_get(o, "db")), shared.db);
	assert_string_equal(json_string_value(json_object_get(o, "runtime")), "runc");
	assert_int_equal(json_integer_value(json_object_get(o, "schemaVersion")), LITECRI_SCHEMA_VERSION);
	assert_string_equal(json_string_value(json_object_get(o, "cgroupDriver")), "cgroupfs");
	json_decref(o);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* The HTTP status line of a GET on the streaming server (base "http://127.0.0.1:PORT"). */
static int http_get_status(const char *base, const char *path)
{
	int port = atoi(strrchr(base, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	char buf[512];
	int n = snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(write(fd, buf, (size_t)n), n);
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(got > 12);
	buf[got] = 0;
	return atoi(buf + 9); /* "HTTP/1.1 404 ..." */
}

/*
 * The streaming server: listening on 127.0.0.1 (port 0: one picked, shown in Status verbose), its
 * 404 for an unknown token; Exec/Attach/PortForward's validation before any token is minted.
 */
static void test_stream_server(void **state)
{
	(void)state;
	Runtime__V1__StatusResponse *st = status(shared.endpoint, V1, 1);
	json_t *o = json_loads(st->info[0]->value, 0, NULL);
	const char *url = json_string_value(json_object_get(json_object_get(o, "streamServer"), "url"));
	assert_non_null(url);
	assert_int_equal(strncmp(url, "http://127.0.0.1:", 17), 0);
	assert_true(atoi(url + 17) > 0);
	assert_int_equal(http_get_status(url, "/exec/AAAAAAAAAAAAAAAAAAAAAA"), 404);
	assert_int_equal(http_get_status(url, "/nothing"), 404);
	json_decref(o);
	protobuf_c_message_free_unpacked(&st->base, NULL);

	char *cmd[] = { "true" };
	Runtime__V1__ExecRequest ex = RUNTIME__V1__EXEC_REQUEST__INIT;
	ex.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	ex.cmd = cmd;
	ex.n_cmd = 1;
	ex.stdout = 1;
	assert_null(call(shared.endpoint, V1 "Exec", &ex.base, &runtime__v1__exec_response__descriptor,
			 GRPC_STATUS_NOT_FOUND, NULL));
	ex.stdout = 0; /* no stream at all */
	assert_null(call(shared.endpoint, V1 "Exec", &ex.base, &runtime__v1__exec_response__descriptor,
			 GRPC_STATUS_INVALID_ARGUMENT, NULL));
	ex.tty = ex.stdout = ex.stderr = 1; /* a terminal has one output */
	assert_null(call(shared.endpoint, V1 "Exec", &ex.base, &runtime__v1__exec_response__descriptor,
			 GRPC_STATUS_INVALID_ARGUMENT, NULL));
	ex.tty = ex.stderr = 0;
	ex.n_cmd = 0;
	assert_null(call(shared.endpoint, V1 "Exec", &ex.base, &runtime__v1__exec_response__descriptor,
			 GRPC_STATUS_INVALID_ARGUMENT, NULL));
	Runtime__V1__AttachRequest at = RUNTIME__V1__ATTACH_REQUEST__INIT;
	at.container_id = ex.container_id;
	at.stdout = 1;
	assert_null(call(shared.endpoint, V1ALPHA2 "Attach", &at.base, &runtime__v1__attach_response__descriptor,
			 GRPC_STATUS_NOT_FOUND, NULL));
	int32_t ports[] = { 80, 70000 };
	Runtime__V1__PortForwardRequest pf = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
	pf.pod_sandbox_id = ex.container_id;
	pf.port = ports;
	pf.n_port = 1;
	assert_null(call(shared.endpoint, V1 "PortForward", &pf.base, &runtime__v1__port_forward_response__descriptor,
			 GRPC_STATUS_NOT_FOUND, NULL));
	pf.n_port = 2;
	assert_null(call(shared.endpoint, V1 "PortForward", &pf.base, &runtime__v1__port_forward_response__descriptor,
			 GRPC_STATUS_INVALID_ARGUMENT, NULL));
}

static void test_runtime_config(void **state)
{
	(void)state;
	Runtime__V1__RuntimeConfigRequest req = RUNTIME__V1__RUNTIME_CONFIG_REQUEST__INIT;
	Runtime__V1__RuntimeConfigResponse *r = (Runtime__V1__RuntimeConfigResponse *)call(
		shared.endpoint, V1 "RuntimeConfig", &req.base, &runtime__v1__runtime_config_response__descriptor,
		GRPC_STATUS_OK, NULL);
	assert_non_null(r->linux);
	assert_int_equal(r->linux->cgroup_driver, RUNTIME__V1__CGROUP_DRIVER__CGROUPFS);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_unimplemented(void **state)
{
	(void)state;
	/* A CRI method not built yet, under both packages, and a path that is no CRI method at all. */
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	const char *methods[] = { V1 "CheckpointContainer", V1ALPHA2 "UpdateRuntimeConfig",
				  "/runtime.v1.RuntimeService/UpdateRuntimeConfig", "/no.such.Service/Nothing" };
	for (size_t i = 0; i < 4; i++) {
		char *details = NULL;
		ProtobufCMessage *r = call(shared.endpoint, methods[i], &req.base,
					   &runtime__v1__list_containers_response__descriptor,
					   GRPC_STATUS_UNIMPLEMENTED, &details);
		assert_null(r);
		assert_non_null(strstr(details, methods[i])); /* the message names the method */
		free(details);
	}
}

static void test_garbage_is_invalid_argument(void **state)
{
	(void)state;
	/* 0xff... is not a valid protobuf field key: the request cannot be decoded. */
	const unsigned char garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const char *methods[] = { V1 "Version", V1ALPHA2 "Status", V1 "RuntimeConfig" };
	for (size_t i = 0; i < 3; i++) {
		char *details = NULL;
		grpc_status_code st = raw_call(shared.endpoint, methods[i], garbage, sizeof garbage, &details);
		assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
		assert_non_null(strstr(details, "Request")); /* names the message it expected */
		free(details);
	}
	/* And the daemon keeps serving. */
	Runtime__V1__VersionResponse *r = version(shared.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_too_large_request(void **state)
{
	(void)state;
	/* A 17 MiB VersionRequest (field 1, a long string): over the 16 MiB receive limit. */
	size_t body = 17u * 1024 * 1024;
	size_t len = 1 + 4 + body;
	unsigned char *buf = malloc(len);
	assert_non_null(buf);
	buf[0] = 0x0a; /* field 1, length-delimited */
	size_t v = body, i = 1;
	while (v >= 0x80) {
		buf[i++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	buf[i++] = (unsigned char)v;
	memset(buf + i, 'a', len - i);
	grpc_status_code st = raw_call(shared.endpoint, V1 "Version", buf, len, NULL);
	free(buf);
	assert_int_equal(st, GRPC_STATUS_RESOURCE_EXHAUSTED);
	Runtime__V1__VersionResponse *r = version(shared.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_socket_modes(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(stat(shared.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/run", shared.dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700); /* created by the daemon */
}

/* Many threads, many calls, one daemon: every call answered. */
struct hammer { const char *endpoint; int calls; int failures; };

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	struct cri_client *c = cri_client_new(h->endpoint);
	if (!c) {
		h->failures = h->calls;
		return NULL;
	}
	for (int i = 0; i < h->calls; i++) {
		Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
		ProtobufCMessage *resp = NULL;
		grpc_status_code st = cri_client_call(c, i % 2 ? V1 "Status" : V1ALPHA2 "Status", &req.base,
						      &runtime__v1__status_response__descriptor, &resp, NULL, TIMEOUT_MS);
		if (st != GRPC_STATUS_OK)
			h->failures++;
		else
			protobuf_c_message_free_unpacked(resp, NULL);
	}
	cri_client_free(c);
	return NULL;
}

static void test_concurrent_calls(void **state)
{
	(void)state;
	enum { THREADS = 12, CALLS = 150 };
	pthread_t t[THREADS];
	struct hammer h[THREADS];
	for (int i = 0; i < THREADS; i++) {
		h[i] = (struct hammer){ shared.endpoint, CALLS, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
	}
	int failures = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += h[i].failures;
	}
	assert_int_equal(failures, 0);
}

static void test_bench_tool(void **state)
{
	(void)state;
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/bench.out", shared.dir);
	const char *rpcs[] = { "Version", "Status" };
	for (int i = 0; i < 2; i++) {
		unlink(out);
		const char *argv[] = { LITECRI_BENCH_BIN, "--endpoint", shared.endpoint, "--rpc", rpcs[i],
				       "--calls", "300", "--concurrency", "3", NULL };
		int rc = harness_run(argv, out);
		char *text = harness_slurp(out);
		if (rc != 0)
			print_error("litecri-bench exited %d:\n%s\n", rc, text ? text : "");
		assert_int_equal(rc, 0);
		assert_non_null(strstr(text, "calls_per_s="));
		assert_non_null(strstr(text, "p99_us="));
		assert_non_null(strstr(text, "errors=0"));
		free(text);
	}
}

/* ---- tests with daemons of their own -------------------------------------------------------- */

/* A fresh daemon of the test's own, serving: init, start, and one Version answered. */
static void start_serving(struct daemon *d)
{
	assert_int_equal(harness_init(d), 0);
	assert_int_equal(harness_start(d, NULL, NULL), 0);
	Runtime__V1__VersionResponse *r = version(d->endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_sigterm_clean_shutdown(void **state)
{
	(void)state;
	struct daemon d;
	start_serving(&d);
	assert_int_equal(harness_stop(&d), 0);
	struct stat st;
	assert_int_equal(lstat(d.sock, &st), -1); /* socket removed */
	assert_int_equal(errno, ENOENT);
	char *log = harness_slurp(d.log);
	assert_non_null(strstr(log, "received SIGTERM"));
	assert_non_null(strstr(log, "litecri stopped"));
	free(log);
	/* It can start again on the same files (the lock was released, the database is reused). */
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

/*
 * SIGTERM racing a burst of calls.  Threads, each on its own connection, fire slow
 * (StopContainer, ReopenContainerLog: the worker pool) and fast (Status: the polling thread)
 * calls back to back while the daemon gets SIGTERM.  Every call is answered (its ordinary status,
 * or UNAVAILABLE / CANCELLED once the server is going), and the daemon exits long before its 25 s
 * shutdown timeout: no call accepted by gRPC but never handed to a handler holds the shutdown up
 * (gRPC 1.51 strands one such call now and then; before the fix, a round in three or so waited
 * out the whole timeout).
 */
struct storm {
	const char *endpoint;
	atomic_int *go;
	int calls, bad;
	grpc_status_code bad_code;
	char bad_method[64];
};

static void *storm_thread(void *arg)
{
	struct storm *t = arg;
	struct cri_client *c = cri_client_new(t->endpoint);
	if (!c) {
		t->bad = 1;
		return NULL;
	}
	Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	stop.container_id = "0123456789abcdef";
	Runtime__V1__ReopenContainerLogRequest reopen = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	reopen.container_id = "0123456789abcdef";
	Runtime__V1__StatusRequest status = RUNTIME__V1__STATUS_REQUEST__INIT;
	while (atomic_load(t->go)) {
		const char *m;
		const ProtobufCMessage *req;
		const ProtobufCMessageDescriptor *rd;
		grpc_status_code want;
		switch (t->calls++ % 3) {
		case 0:
			m = V1 "StopContainer", req = &stop.base, want = GRPC_STATUS_OK; /* stopping nothing is OK */
			rd = &runtime__v1__stop_container_response__descriptor;
			break;
		case 1:
			m = V1 "ReopenContainerLog", req = &reopen.base, want = GRPC_STATUS_NOT_FOUND;
			rd = &runtime__v1__reopen_container_log_response__descriptor;
			break;
		default:
			m = V1 "Status", req = &status.base, want = GRPC_STATUS_OK;
			rd = &runtime__v1__status_response__descriptor;
			break;
		}
		ProtobufCMessage *resp = NULL;
		grpc_status_code st = cri_client_call(c, m, req, rd, &resp, NULL, 60000);
		if (resp)
			protobuf_c_message_free_unpacked(resp, NULL);
		/* The server is going: UNAVAILABLE; CANCELLED is what gRPC 1.51 gives a call it had
		 * queued for no request yet when the shutdown started (it never reached a handler). */
		if (st == GRPC_STATUS_UNAVAILABLE || st == GRPC_STATUS_CANCELLED)
			break;
		if (st != want) {
			t->bad++;
			t->bad_code = st;
			snprintf(t->bad_method, sizeof t->bad_method, "%s", m);
			break;
		}
	}
	cri_client_free(c);
	return NULL;
}

static void test_sigterm_during_call_burst(void **state)
{
	(void)state;
	enum { THREADS = 12, ROUNDS = 10 };
	for (int round = 0; round < ROUNDS; round++) {
		struct daemon d;
		assert_int_equal(harness_init(&d), 0);
		const char *extra[] = { "--shutdown-timeout", "25", "--workers", "2", NULL };
		assert_int_equal(harness_start(&d, extra, NULL), 0);
		atomic_int go = 1;
		pthread_t t[THREADS];
		struct storm s[THREADS];
		for (int i = 0; i < THREADS; i++) {
			s[i] = (struct storm){ .endpoint = d.endpoint, .go = &go };
			assert_int_equal(pthread_create(&t[i], NULL, storm_thread, &s[i]), 0);
		}
		usleep(150000 + 50000 * (useconds_t)round);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = harness_stop(&d);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		atomic_store(&go, 0);
		int calls = 0, bad = 0;
		for (int i = 0; i < THREADS; i++) {
			pthread_join(t[i], NULL);
			calls += s[i].calls;
			bad += s[i].bad;
			if (s[i].bad)
				print_error("%s: status %s\n", s[i].bad_method, cri_status_name(s[i].bad_code));
		}
		double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (took >= 12) {
			char *log = harness_slurp(d.log);
			print_error("round %d: shutdown took %.1f s (%d calls); daemon log tail:\n%s\n", round, took, calls,
				    log && strlen(log) > 3000 ? log + strlen(log) - 3000 : log ? log : "");
			free(log);
		}
		/* A hang waits out the 25 s shutdown timeout; a sound shutdown takes well under a second. */
		assert_true(took < 12);
		assert_int_equal(bad, 0);
		assert_int_equal(rc, 0);
		harness_cleanup(&d);
	}
}

/*
 * A daemon killed outright restarts on the same files: stale socket replaced, locks free, the
 * database reopened with what it held — a row written while the first daemon ran (no runtime
 * here; pods and containers a daemon recorded before a SIGKILL are test_restart_sigkill's, in
 * test_lifecycle) is still there, in the same file.
 */
static void test_restart_after_sigkill(void **state)
{
	(void)state;
	struct daemon d;
	start_serving(&d);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(d.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO host (key, value) VALUES ('litecri-test', 'kept')", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	struct stat before;
	assert_int_equal(stat(d.db, &before), 0);
	assert_int_equal(harness_kill(&d), 0);
	struct stat st;
	assert_int_equal(lstat(d.sock, &st), 0); /* the crash left the socket file behind */
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	Runtime__V1__VersionResponse *r = version(d.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&d), 0);
	assert_int_equal(db_user_version(d.db), LITECRI_SCHEMA_VERSION);
	struct stat after;
	assert_int_equal(stat(d.db, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	db = NULL;
	assert_int_equal(sqlite3_open_v2(d.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM host WHERE key = 'litecri-test'", -1, &q, NULL),
			 SQLITE_OK);
	int found = sqlite3_step(q) == SQLITE_ROW;
	char value[16] = "";
	if (found)
		snprintf(value, sizeof value, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_true(found);
	assert_string_equal(value, "kept");
	harness_cleanup(&d);
}

/*
 * Started with descriptor 0 closed (as some supervisors do), the daemon takes 0-2 with /dev/null
 * first: otherwise the first descriptor it opens (its database, or a call's cancellation eventfd,
 * which then reads as "not cancelled") would be taken for stdin by everything that uses stdin.
 */
static void test_stdin_closed(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	d.no_stdin = 1;
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	char link[PATH_MAX], p[64];
	snprintf(p, sizeof p, "/proc/%d/fd/0", (int)d.pid);
	ssize_t n = readlink(p, link, sizeof link - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "/dev/null");
	Runtime__V1__VersionResponse *r = version(d.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

/* A datagram socket bound to name: a path, or "@name" for an abstract one (as NOTIFY_SOCKET). */
static int notify_listen(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	assert_true(n < sizeof sa.sun_path);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		n++;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

/* The next datagram on fd, waiting up to ms milliseconds for it, in buf; "" if none came. */
static const char *notify_next(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	buf[0] = '\0';
	if (poll(&p, 1, ms) == 1) {
		ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);
		if (n >= 0)
			buf[n] = '\0';
	}
	return buf;
}

/*
 * systemd's notify protocol (Type=notify) with $NOTIFY_SOCKET a datagram socket of the test's, a
 * path and then an abstract name ("@..."): the daemon's first datagram is READY=1, sent once its
 * socket serves (a call made the moment it arrives is answered); nothing more until SIGTERM, then
 * STOPPING=1.  A NOTIFY_SOCKET nobody listens on is a warning in the log; the daemon serves anyway.
 */
static void test_sd_notify(void **state)
{
	(void)state;
	char msg[256], env[160];
	for (int abstract = 0; abstract <= 1; abstract++) {
		struct daemon d;
		assert_int_equal(harness_init(&d), 0);
		if (abstract)
			snprintf(env, sizeof env, "NOTIFY_SOCKET=@litecri-test-notify-%d", (int)getpid());
		else
			snprintf(env, sizeof env, "NOTIFY_SOCKET=%s/notify", d.dir);
		int fd = notify_listen(env + strlen("NOTIFY_SOCKET="));
		const char *const wrap[] = { "/usr/bin/env", env, NULL };
		d.wrap = wrap;
		assert_int_equal(harness_spawn(&d, NULL), 0);
		assert_string_equal(notify_next(fd, msg, sizeof msg, 20000), "READY=1");
		Runtime__V1__VersionResponse *r = version(d.endpoint, V1);
		assert_string_equal(r->runtime_name, "litecri");
		protobuf_c_message_free_unpacked(&r->base, NULL);
		assert_string_equal(notify_next(fd, msg, sizeof msg, 200), ""); /* nothing while serving */
		assert_int_equal(harness_stop(&d), 0);
		assert_string_equal(notify_next(fd, msg, sizeof msg, 0), "STOPPING=1");
		assert_string_equal(notify_next(fd, msg, sizeof msg, 0), "");
		close(fd);
		harness_cleanup(&d);
	}

	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s/nobody", d.dir);
	const char *const wrap[] = { "/usr/bin/env", env, NULL };
	d.wrap = wrap;
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	assert_int_equal(harness_stop(&d), 0);
	char *log = harness_slurp(d.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "service manager not told READY=1"));
	assert_non_null(strstr(log, "service manager not told STOPPING=1"));
	free(log);
	harness_cleanup(&d);
}

/* Assert that d fails to start (exit 1) and that its log contains `needle`. */
static void assert_start_refused(struct daemon *d, const char *needle)
{
	int rc = 0;
	assert_int_equal(harness_start(d, NULL, &rc), -1);
	assert_int_equal(rc, 1);
	char *log = harness_slurp(d->log);
	if (!strstr(log, needle))
		print_error("log lacks '%s':\n%s\n", needle, log);
	assert_non_null(strstr(log, needle));
	free(log);
}

static void test_second_daemon_refused(void **state)
{
	(void)state;
	struct daemon a, b, c, e;
	start_serving(&a);

	/* Same socket, database and state directory. */
	assert_int_equal(harness_init(&b), 0);
	strcpy(b.sock, a.sock);
	strcpy(b.db, a.db);
	strcpy(b.state, a.state);
	assert_start_refused(&b, "in use by another litecri");

	/* Only the database shared (own state dir and socket): refused by the database lock. */
	assert_int_equal(harness_init(&c), 0);
	strcpy(c.db, a.db);
	char needle[PATH_MAX + 64];
	snprintf(needle, sizeof needle, "database %s is in use by another litecri", a.db);
	assert_start_refused(&c, needle);

	/* Only the socket shared: refused, the socket is not stolen. */
	assert_int_equal(harness_init(&e), 0);
	strcpy(e.sock, a.sock);
	assert_start_refused(&e, "already listening");

	/* `litecri migrate` on a database a daemon is using: refused too. */
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/migrate.out", b.dir);
	const char *argv[] = { LITECRI_BIN, "migrate", "--config", b.config, "--db", a.db, NULL };
	assert_int_equal(harness_run(argv, out), 1);
	char *log = harness_slurp(out);
	assert_non_null(strstr(log, needle));
	free(log);

	/* The first keeps serving. */
	Runtime__V1__VersionResponse *r = version(a.endpoint, V1);
	assert_string_equal(r->runtime_name, "litecri");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&a), 0);
	harness_cleanup(&a);
	harness_cleanup(&b);
	harness_cleanup(&c);
	harness_cleanup(&e);
}

/* Bind a unix socket at path and close it without unlinking: what a crashed daemon leaves. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);
}

static void test_stale_socket_replaced(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/run", d.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	make_stale_socket(d.sock);
	assert_false(harness_can_connect(d.sock));
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	Runtime__V1__VersionResponse *r = version(d.endpoint, V1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&d), 0);

	/* A regular file at the socket path is not ours to delete: refused, file kept. */
	int fd = open(d.sock, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_start_refused(&d, "is not a socket");
	char *content = harness_slurp(d.sock);
	assert_string_equal(content, "keep");
	free(content);
	harness_cleanup(&d);
}

static void test_runtime_missing_from_config_file(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	/* The setting comes from a drop-in of the config file, not from a flag. */
	char dropdir[PATH_MAX + 8], drop[PATH_MAX + 32];
	snprintf(dropdir, sizeof dropdir, "%s.d", d.config);
	assert_int_equal(mkdir(dropdir, 0755), 0);
	snprintf(drop, sizeof drop, "%s/50-runtime.conf", dropdir);
	FILE *f = fopen(drop, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\nruntime = /nonexistent/litecri-test-runtime\n"
		   "[registry \"*\"]\nmirror = https://127.0.0.1:1 ca=/nonexistent/ca.pem\nupstream = false\n");
	fclose(f);
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	Runtime__V1__StatusResponse *r = status(d.endpoint, V1, 0);
	const Runtime__V1__RuntimeCondition *rt = find_cond(r, "RuntimeReady");
	assert_false(rt->status);
	assert_string_equal(rt->reason, "OCIRuntimeNotFound");
	assert_non_null(strstr(rt->message, "/nonexistent/litecri-test-runtime"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&d), 0);

	/* A flag overrides the file; registry flags add to the file's sections.  Status verbose shows them. */
	const char *extra[] = { "--runtime", "runc", "--registry-mirror", "*=http://127.0.0.1:2,insecure",
				"--insecure-registry", "127.0.0.1:3", NULL };
	assert_int_equal(harness_start(&d, extra, NULL), 0);
	r = status(d.endpoint, V1, 1);
	assert_true(find_cond(r, "RuntimeReady")->status);
	assert_int_equal(r->n_info, 2);
	json_t *o = json_loads(r->info[0]->value, 0, NULL);
	assert_non_null(o);
	json_t *star = json_object_get(json_object_get(o, "registries"), "*");
	json_t *mirrors = json_object_get(star, "mirrors");
	assert_int_equal(json_array_size(mirrors), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mirrors, 0), "url")), "https://127.0.0.1:1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(mirrors, 0), "ca")), "/nonexistent/ca.pem");
	assert_true(json_is_false(json_object_get(json_array_get(mirrors, 0), "insecure")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(mirrors, 1), "url")), "http://127.0.0.1:2");
	assert_true(json_is_true(json_object_get(json_array_get(mirrors, 1), "insecure")));
	assert_true(json_is_false(json_object_get(star, "upstream")));
	json_t *own = json_object_get(json_object_get(o, "registries"), "127.0.0.1:3");
	assert_true(json_is_true(json_object_get(own, "insecure")));
	assert_true(json_is_true(json_object_get(own, "upstream")));
	json_decref(o);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

/* Without conmon the daemon serves, says why RuntimeReady is false, and refuses to run pods. */
static void test_conmon_missing(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	const char *extra[] = { "--conmon", "/nonexistent/litecri-test-conmon", NULL };
	assert_int_equal(harness_start(&d, extra, NULL), 0);
	Runtime__V1__StatusResponse *r = status(d.endpoint, V1, 0);
	const Runtime__V1__RuntimeCondition *rt = find_cond(r, "RuntimeReady");
	assert_false(rt->status);
	assert_string_equal(rt->reason, "ContainerRuntimeNotStarted");
	assert_non_null(strstr(rt->message, "/nonexistent/litecri-test-conmon"));
	protobuf_c_message_free_unpacked(&r->base, NULL);

	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md.name = "p";
	md.namespace_ = "ns";
	md.uid = "u";
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg.metadata = &md;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &cfg;
	char *details = NULL;
	assert_null(call(d.endpoint, V1 "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor,
			 GRPC_STATUS_FAILED_PRECONDITION, &details));
	assert_non_null(strstr(details, "RunPodSandbox"));
	free(details);
	/* reads still work */
	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	ProtobufCMessage *l = call(d.endpoint, V1 "ListPodSandbox", &lreq.base,
				   &runtime__v1__list_pod_sandbox_response__descriptor, GRPC_STATUS_OK, NULL);
	assert_non_null(l);
	assert_int_equal(((Runtime__V1__ListPodSandboxResponse *)l)->n_items, 0);
	protobuf_c_message_free_unpacked(l, NULL);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

/*
 * Without conmon (no runtime): every call that would run or change a pod or container answers
 * FAILED_PRECONDITION naming itself, for any ID, before looking at the object; the reads answer.
 */
static void test_no_runtime_calls(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	const char *extra[] = { "--conmon", "/nonexistent/litecri-test-conmon", NULL };
	assert_int_equal(harness_start(&d, extra, NULL), 0);
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	Runtime__V1__ContainerMetadata cmd = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cmd.name = "c";
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	img.image = "busybox";
	Runtime__V1__ContainerConfig cc = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cc.metadata = &cmd;
	cc.image = &img;
	Runtime__V1__CreateContainerRequest create = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	create.pod_sandbox_id = (char *)id;
	create.config = &cc;
	Runtime__V1__StartContainerRequest start = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	start.container_id = (char *)id;
	Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	stop.container_id = (char *)id;
	Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	rm.container_id = (char *)id;
	char *argv[] = { "true" };
	Runtime__V1__ExecSyncRequest exec = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	exec.container_id = (char *)id;
	exec.cmd = argv;
	exec.n_cmd = 1;
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	res.memory_limit_in_bytes = 64 << 20;
	Runtime__V1__UpdateContainerResourcesRequest upd = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	upd.container_id = (char *)id;
	upd.linux = &res;
	Runtime__V1__ReopenContainerLogRequest reopen = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	reopen.container_id = (char *)id;
	Runtime__V1__StopPodSandboxRequest stop_pod = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	stop_pod.pod_sandbox_id = (char *)id;
	Runtime__V1__RemovePodSandboxRequest rm_pod = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rm_pod.pod_sandbox_id = (char *)id;
	const struct {
		const char *name;
		const ProtobufCMessage *req;
		const ProtobufCMessageDescriptor *rd;
	} refused[] = {
		{ "CreateContainer", &create.base, &runtime__v1__create_container_response__descriptor },
		{ "StartContainer", &start.base, &runtime__v1__start_container_response__descriptor },
		{ "StopContainer", &stop.base, &runtime__v1__stop_container_response__descriptor },
		{ "RemoveContainer", &rm.base, &runtime__v1__remove_container_response__descriptor },
		{ "ExecSync", &exec.base, &runtime__v1__exec_sync_response__descriptor },
		{ "UpdateContainerResources", &upd.base, &runtime__v1__update_container_resources_response__descriptor },
		{ "ReopenContainerLog", &reopen.base, &runtime__v1__reopen_container_log_response__descriptor },
		{ "StopPodSandbox", &stop_pod.base, &runtime__v1__stop_pod_sandbox_response__descriptor },
		{ "RemovePodSandbox", &rm_pod.base, &runtime__v1__remove_pod_sandbox_response__descriptor },
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		char method[128], *details = NULL;
		snprintf(method, sizeof method, V1 "%s", refused[i].name);
		assert_null(call(d.endpoint, method, refused[i].req, refused[i].rd, GRPC_STATUS_FAILED_PRECONDITION,
				 &details));
		if (!strstr(details, refused[i].name) || !strstr(details, "RuntimeReady"))
			fail_msg("%s refused with \"%s\": names neither the call nor RuntimeReady", refused[i].name, details);
		free(details);
	}
	/* The reads answer: lists (empty), statuses (NOT_FOUND for what is not there), images. */
	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	ProtobufCMessage *m = call(d.endpoint, V1 "ListContainers", &lc.base,
				   &runtime__v1__list_containers_response__descriptor, GRPC_STATUS_OK, NULL);
	assert_int_equal(((Runtime__V1__ListContainersResponse *)m)->n_containers, 0);
	protobuf_c_message_free_unpacked(m, NULL);
	Runtime__V1__ContainerStatusRequest cs = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	cs.container_id = (char *)id;
	assert_null(call(d.endpoint, V1 "ContainerStatus", &cs.base, &runtime__v1__container_status_response__descriptor,
			 GRPC_STATUS_NOT_FOUND, NULL));
	Runtime__V1__PodSandboxStatusRequest ps = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	ps.pod_sandbox_id = (char *)id;
	assert_null(call(d.endpoint, V1 "PodSandboxStatus", &ps.base, &runtime__v1__pod_sandbox_status_response__descriptor,
			 GRPC_STATUS_NOT_FOUND, NULL));
	Runtime__V1__ListImagesRequest li = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	m = call(d.endpoint, "/runtime.v1.ImageService/ListImages", &li.base, &runtime__v1__list_images_response__descriptor,
		 GRPC_STATUS_OK, NULL);
	assert_int_equal(((Runtime__V1__ListImagesResponse *)m)->n_images, 0);
	protobuf_c_message_free_unpacked(m, NULL);
	Runtime__V1__ImageFsInfoRequest fi = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	m = call(d.endpoint, "/runtime.v1.ImageService/ImageFsInfo", &fi.base, &runtime__v1__image_fs_info_response__descriptor,
		 GRPC_STATUS_OK, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

/* RuntimeReady and its reason, from a Status call. */
static int runtime_ready(const char *endpoint, char **reason, char **message)
{
	Runtime__V1__StatusResponse *r = status(endpoint, V1, 0);
	const Runtime__V1__RuntimeCondition *rt = find_cond(r, "RuntimeReady");
	int ready = rt->status;
	*reason = strdup(rt->reason);
	*message = strdup(rt->message);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return ready;
}

/*
 * The database file taken away under the running daemon (renamed, as a mistaken cleanup or a
 * restore would): Status says RuntimeReady=false with reason DatabaseNotReady naming the file,
 * and no call makes a new empty database in its place; once the file is back, RuntimeReady is
 * true again.  (The daemon's open connections would go on working on the renamed file, whose
 * changes the next start would never see.)
 */
static void test_database_not_ready(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	char *reason, *message;
	assert_true(runtime_ready(d.endpoint, &reason, &message));
	free(reason);
	free(message);
	char moved[PATH_MAX + 8];
	snprintf(moved, sizeof moved, "%s.away", d.db);
	assert_int_equal(rename(d.db, moved), 0);
	int ready = runtime_ready(d.endpoint, &reason, &message);
	/* a call on a worker thread (a fresh connection, unless that worker has one already): no new
	 * database is made at the path */
	Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	stop.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct cri_client *c = cri_client_new(d.endpoint);
	assert_non_null(c);
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	grpc_status_code st = cri_client_call(c, V1 "StopContainer", &stop.base,
					      &runtime__v1__stop_container_response__descriptor, &resp, &details, TIMEOUT_MS);
	cri_client_free(c);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	struct stat sb;
	int recreated = stat(d.db, &sb) == 0;
	if (recreated)
		unlink(d.db);
	assert_int_equal(rename(moved, d.db), 0);
	if (ready || strcmp(reason, "DatabaseNotReady") || !strstr(message, d.db))
		fail_msg("database file renamed away: RuntimeReady %d, reason \"%s\", message \"%s\"", ready, reason,
			 message);
	free(reason);
	free(message);
	if (recreated)
		fail_msg("StopContainer (%s: %s) made a new database at %s", cri_status_name(st), details ? details : "",
			 d.db);
	free(details);
	assert_true(runtime_ready(d.endpoint, &reason, &message));
	free(reason);
	free(message);
	assert_int_equal(harness_stop(&d), 0);
	harness_cleanup(&d);
}

static int db_user_version(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void set_user_version(const char *path, int v)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_migrate_subcommand_and_newer_db(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	const char *argv[] = { LITECRI_BIN, "migrate", "--config", d.config, "--db", d.db, NULL };
	assert_int_equal(harness_run(argv, d.log), 0);
	assert_int_equal(db_user_version(d.db), LITECRI_SCHEMA_VERSION);
	assert_int_equal(harness_run(argv, d.log), 0); /* idempotent */

	/* A database from a newer litecri: the daemon and migrate refuse, naming both versions. */
	set_user_version(d.db, 42);
	char refusal[128];
	snprintf(refusal, sizeof refusal, "schema version 42, newer than the %d this litecri knows", LITECRI_SCHEMA_VERSION);
	assert_start_refused(&d, refusal);
	assert_int_equal(truncate(d.log, 0), 0);
	assert_int_equal(harness_run(argv, d.log), 1);
	char *log = harness_slurp(d.log);
	assert_non_null(strstr(log, refusal));
	free(log);
	assert_int_equal(db_user_version(d.db), 42); /* untouched */
	harness_cleanup(&d);
}

/* Write len bytes of buf at offset off of path (a page of a database, or all of a file). */
static void write_at(const char *path, const void *buf, size_t len, off_t off, int trunc)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/*
 * d's database (as the test left it) is refused at startup (exit 1, nothing served) with one
 * error line naming the file, `problem` and what to do (`advice`), and the file is left as it was;
 * `litecri migrate` refuses it the same way.
 */
static void assert_db_refused(struct daemon *d, const char *problem, const char *advice)
{
	struct stat st0, st1;
	assert_int_equal(stat(d->db, &st0), 0);
	char *before = malloc((size_t)st0.st_size + 1);
	int fd = open(d->db, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, before, (size_t)st0.st_size), st0.st_size);
	close(fd);
	assert_int_equal(truncate(d->log, 0), 0);
	assert_start_refused(d, problem);
	char *log = harness_slurp(d->log);
	char *line = strstr(log, " ERROR ");
	assert_non_null(line);
	assert_null(strstr(line + 1, " ERROR ")); /* one line */
	char *eol = strchr(line, '\n');
	if (eol)
		*eol = '\0';
	char *name = malloc(strlen(d->db) + 16);
	sprintf(name, "database %s ", d->db);
	if (!strstr(line, name) || !strstr(line, problem) || !strstr(line, advice))
		print_error("refusal lacks '%s', '%s' or '%s':\n%s\n", name, problem, advice, line);
	assert_non_null(strstr(line, name));
	assert_non_null(strstr(line, advice));
	assert_non_null(strstr(line, "move the file away"));
	free(name);
	free(log);
	assert_false(harness_can_connect(d->sock));
	/* not a byte changed, no new database in its place */
	assert_int_equal(stat(d->db, &st1), 0);
	assert_int_equal(st1.st_size, st0.st_size);
	char *after = malloc((size_t)st1.st_size + 1);
	fd = open(d->db, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, after, (size_t)st1.st_size), st1.st_size);
	close(fd);
	assert_memory_equal(before, after, (size_t)st0.st_size);
	free(before);
	free(after);
	const char *argv[] = { LITECRI_BIN, "migrate", "--config", d->config, "--db", d->db, NULL };
	assert_int_equal(truncate(d->log, 0), 0);
	assert_int_equal(harness_run(argv, d->log), 1);
	log = harness_slurp(d->log);
	assert_non_null(strstr(log, problem));
	free(log);
}

/*
 * A database file that is not a database or is damaged: a clear refusal naming the file, the
 * problem and the backup to restore (the newest <db>.v<N>.bak, or that there is none) — never a
 * crash, never a silent new database.  An empty (0-byte) file is initialized, with a warning.
 */
static void test_damaged_db_refused(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	/* a real litecri database with rows over many pages */
	const char *argv[] = { LITECRI_BIN, "migrate", "--config", d.config, "--db", d.db, NULL };
	assert_int_equal(harness_run(argv, d.log), 0);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(d.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) "
				      "INSERT INTO host (key, value) SELECT 'k' || i, hex(randomblob(200)) FROM n; "
				      "PRAGMA wal_checkpoint(TRUNCATE);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	struct stat st;
	assert_int_equal(stat(d.db, &st), 0);
	size_t size = (size_t)st.st_size;
	assert_true(size > 40 * 4096);
	int fd = open(d.db, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char *orig = malloc(size);
	assert_int_equal(read(fd, orig, size), (ssize_t)size);
	close(fd);
	char none[PATH_MAX + 64];
	snprintf(none, sizeof none, "backs up to %s.v<N>.bak only before a migration, and there is none", d.db);

	/* random bytes, a text file: not a database */
	char junk[10000];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 7919 % 251);
	write_at(d.db, junk, sizeof junk, 0, 1);
	assert_db_refused(&d, "is not an SQLite database", none);
	write_at(d.db, "hello, world\n", 13, 0, 1);
	assert_db_refused(&d, "is not an SQLite database", none);

	/* a real database cut short */
	write_at(d.db, orig, size / 2, 0, 1);
	assert_db_refused(&d, "is damaged (database disk image is malformed)", none);

	/* pages in the middle overwritten: only PRAGMA quick_check sees it before a call would */
	write_at(d.db, orig, size, 0, 1);
	memset(junk, 0xa5, 4096);
	write_at(d.db, junk, 4096, (off_t)(size / 4096 / 2) * 4096, 0);
	assert_db_refused(&d, "is damaged (quick_check: ", none);

	/* with backups made by migrations, the newest is named */
	char bak[PATH_MAX + 16], older[PATH_MAX + 16];
	snprintf(bak, sizeof bak, "%s.v3.bak", d.db);
	snprintf(older, sizeof older, "%s.v2.bak", d.db);
	write_at(bak, orig, size, 0, 1);
	write_at(older, orig, size, 0, 1);
	char newest[2 * PATH_MAX];
	snprintf(newest, sizeof newest, "the newest backup litecri made, %s (schema version 3", bak);
	assert_db_refused(&d, "is damaged (quick_check: ", newest);

	/* an empty file holds nothing to lose: initialized, and said */
	write_at(d.db, "", 0, 0, 1);
	assert_int_equal(truncate(d.log, 0), 0);
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	assert_int_equal(harness_stop(&d), 0);
	char *log = harness_slurp(d.log);
	char warn[PATH_MAX + 64];
	snprintf(warn, sizeof warn, "database %s is an empty file: initializing it as a new database", d.db);
	assert_non_null(strstr(log, warn));
	free(log);
	assert_int_equal(db_user_version(d.db), LITECRI_SCHEMA_VERSION);
	free(orig);
	harness_cleanup(&d);
}

/*
 * log_format = json in the config file: every line the daemon writes from then on (startup,
 * a refused call's log line, SIGTERM, shutdown) is one JSON object with time, level and msg;
 * --log-format text overrides the file.
 */
static void test_log_format_json(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	FILE *f = fopen(d.config, "w");
	assert_non_null(f);
	fputs("[daemon]\nlog_format = json\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(harness_start(&d, NULL, NULL), 0);
	assert_int_equal(harness_stop(&d), 0);
	char *log = harness_slurp(d.log);
	assert_non_null(log);
	int lines = 0, ready = 0, stopped = 0;
	for (char *line = log, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl); /* every line ends */
		*nl = '\0';
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		if (!o)
			print_error("not a JSON line (%s): %s\n", jerr.text, line);
		assert_non_null(o);
		assert_int_equal(json_object_size(o), 3);
		assert_non_null(json_string_value(json_object_get(o, "time")));
		const char *level = json_string_value(json_object_get(o, "level"));
		const char *msg = json_string_value(json_object_get(o, "msg"));
		assert_non_null(level);
		assert_non_null(msg);
		ready += !strcmp(level, "info") && strstr(msg, " ready (pid ") != NULL;
		stopped += !strcmp(level, "info") && !strcmp(msg, "litecri stopped");
		json_decref(o);
		lines++;
	}
	free(log);
	assert_true(lines >= 3);
	assert_int_equal(ready, 1);
	assert_int_equal(stopped, 1);

	/* the flag overrides the file */
	assert_int_equal(truncate(d.log, 0), 0);
	const char *extra[] = { "--log-format", "text", NULL };
	assert_int_equal(harness_start(&d, extra, NULL), 0);
	assert_int_equal(harness_stop(&d), 0);
	log = harness_slurp(d.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "Z INFO  litecri stopped\n"));
	assert_null(strchr(log, '{'));
	free(log);
	harness_cleanup(&d);
}

static void test_bad_flags(void **state)
{
	(void)state;
	struct daemon d;
	assert_int_equal(harness_init(&d), 0);
	const char *extra[] = { "--log-level", "loud", NULL };
	int rc = 0;
	assert_int_equal(harness_start(&d, extra, &rc), -1);
	assert_int_equal(rc, 2);
	char *log = harness_slurp(d.log);
	assert_non_null(strstr(log, "log_level"));
	free(log);
	harness_cleanup(&d);
}

int main(void)
{
	grpc_init();
	const struct CMUnitTest shared_tests[] = {
		cmocka_unit_test(test_version_v1),
		cmocka_unit_test(test_version_v1alpha2),
		cmocka_unit_test(test_status_conditions),
		cmocka_unit_test(test_status_verbose),
		cmocka_unit_test(test_runtime_config),
		cmocka_unit_test(test_stream_server),
		cmocka_unit_test(test_unimplemented),
		cmocka_unit_test(test_garbage_is_invalid_argument),
		cmocka_unit_test(test_too_large_request),
		cmocka_unit_test(test_socket_modes),
		cmocka_unit_test(test_concurrent_calls),
		cmocka_unit_test(test_bench_tool),
	};
	const struct CMUnitTest own_tests[] = {
		cmocka_unit_test_teardown(test_sigterm_clean_shutdown, reap),
		cmocka_unit_test_teardown(test_sigterm_during_call_burst, reap),
		cmocka_unit_test_teardown(test_restart_after_sigkill, reap),
		cmocka_unit_test_teardown(test_stdin_closed, reap),
		cmocka_unit_test_teardown(test_sd_notify, reap),
		cmocka_unit_test_teardown(test_second_daemon_refused, reap),
		cmocka_unit_test_teardown(test_stale_socket_replaced, reap),
		cmocka_unit_test_teardown(test_runtime_missing_from_config_file, reap),
		cmocka_unit_test_teardown(test_conmon_missing, reap),
		cmocka_unit_test_teardown(test_no_runtime_calls, reap),
		cmocka_unit_test_teardown(test_database_not_ready, reap),
		cmocka_unit_test_teardown(test_migrate_subcommand_and_newer_db, reap),
		cmocka_unit_test_teardown(test_bad_flags, reap),
		cmocka_unit_test_teardown(test_log_format_json, reap),
		cmocka_unit_test_teardown(test_damaged_db_refused, reap),
	};
	int failed = cmocka_run_group_tests_name("daemon (shared)", shared_tests, shared_up, shared_down);
	failed += cmocka_run_group_tests_name("daemon (own)", own_tests, NULL, NULL);
	grpc_shutdown();
	return failed ? 1 : 0;
}
