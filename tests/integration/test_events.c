/*
 * test_events.c — GetContainerEvents and the events table through the real daemon over its socket,
 * with real containers (podfix.h):
 *
 *   two clients subscribed at once receive the same events, in order, for a container's whole
 *   life (create, start, stop, remove), each with the pod's and its containers' statuses, and the
 *   events table holds the same history (events_v); runtime.v1alpha2 has no such method;
 *   an exit noticed by the exit watcher (not by a call) is sent while the client is connected;
 *   events committed while no client is subscribed are not read; a client that subscribes after a
 *   quiet period gets every later event, in order;
 *   a client that never reads is cut off (RESOURCE_EXHAUSTED) once [events] queue messages wait
 *   for it, while another client gets every event; the latency of other RPCs meanwhile is measured
 *   and printed (docs/events.md), never asserted;
 *   SIGTERM ends a stream with UNAVAILABLE and the daemon exits 0;
 *   the table is pruned to [events] retain rows.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "podfix.h"

#define EVENTS RT "GetContainerEvents"

static const char *const KIND[] = { "CREATED", "STARTED", "STOPPED", "DELETED" };

/* A client subscribed to the events (asserted). */
struct sub {
	struct cri_client *c;
	struct cri_stream *s;
};

static void sub_free(void *p)
{
	struct sub *s = p;
	cri_stream_free(s->s);
	cri_client_free(s->c);
	free(s);
}

static struct sub *subscribe_to(const char *method)
{
	struct sub *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->c = cri_client_new(fx.d.endpoint);
	assert_non_null(s->c);
	own(s, sub_free);
	grpc_status_code code;
	char *details = NULL;
	s->s = cri_client_stream_open(s->c, method, "", 0, CALL_TIMEOUT_MS, &code, &details);
	if (!s->s)
		fail_msg("%s: %s: %s", method, cri_status_name(code), details ? details : "");
	return s;
}

/* The next event of s, its wire bytes in *raw (if not NULL); fails the test when the stream ends. */
static Runtime__V1__ContainerEventResponse *next_event(struct sub *s, void **raw, size_t *raw_len)
{
	void *msg;
	size_t len;
	grpc_status_code code = GRPC_STATUS_OK;
	char *details = NULL;
	int rc = cri_stream_next(s->s, &msg, &len, WAIT_MS, &code, &details);
	if (rc == 0)
		fail_msg("the stream ended: %s: %s", cri_status_name(code), details ? details : "");
	if (rc < 0)
		fail_msg("no event within %d ms", WAIT_MS);
	Runtime__V1__ContainerEventResponse *e = (void *)protobuf_c_message_unpack(
		&runtime__v1__container_event_response__descriptor, NULL, len, msg);
	assert_non_null(e);
	own(e, free_msg);
	if (raw) {
		*raw = msg;
		*raw_len = len;
		own(msg, free);
	} else {
		free(msg);
	}
	return e;
}

/* Read until the stream ends: its status (details in *details, owned); *n = the events before it. */
static grpc_status_code stream_end_status(struct sub *s, char **details, int *n)
{
	*n = 0;
	for (;;) {
		void *msg;
		size_t len;
		grpc_status_code code;
		int rc = cri_stream_next(s->s, &msg, &len, WAIT_MS, &code, details);
		if (rc < 0)
			fail_msg("the stream did not end within %d ms", WAIT_MS);
		if (rc == 0) {
			if (*details)
				own(*details, free);
			return code;
		}
		free(msg);
		++*n;
	}
}

/* Assert e is `kind` of container id in pod `pod`, its statuses holding the container in `state`
 * (-1: the container is not among them). */
static void assert_event(const Runtime__V1__ContainerEventResponse *e, int kind, const char *id, const char *pod,
			 int state)
{
	if ((int)e->container_event_type != kind || strcmp(e->container_id, id) != 0)
		fail_msg("event %s of %s, expected %s of %s", KIND[e->container_event_type], e->container_id, KIND[kind], id);
	assert_true(e->created_at > 0);
	assert_non_null(e->pod_sandbox_status);
	assert_string_equal(e->pod_sandbox_status->id, pod);
	assert_non_null(e->pod_sandbox_status->metadata);
	int found = -1;
	for (size_t i = 0; i < e->n_containers_statuses; i++)
		if (!strcmp(e->containers_statuses[i]->id, id))
			found = (int)e->containers_statuses[i]->state;
	if (found != state)
		fail_msg("%s event of %s: the container's state in it is %d, expected %d", KIND[kind], id, found, state);
}

/* Assert e is `kind` of pod `pod` itself (container_id = the sandbox's ID), with the pod's status but
 * for DELETED (the row is gone). */
static void assert_pod_event(const Runtime__V1__ContainerEventResponse *e, int kind, const char *pod)
{
	if ((int)e->container_event_type != kind || strcmp(e->container_id, pod) != 0)
		fail_msg("event %s of %s, expected %s of pod %s", KIND[e->container_event_type], e->container_id, KIND[kind],
			 pod);
	assert_true(e->created_at > 0);
	if (kind == 3) {
		assert_null(e->pod_sandbox_status);
		return;
	}
	assert_non_null(e->pod_sandbox_status);
	assert_string_equal(e->pod_sandbox_status->id, pod);
	assert_int_equal(e->pod_sandbox_status->state, kind == 2 ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY
								  : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
}

/* The next event of a and of b: the same, to the byte; a's decoded. */
static Runtime__V1__ContainerEventResponse *next_both(struct sub *a, struct sub *b)
{
	void *ra, *rb;
	size_t la, lb;
	Runtime__V1__ContainerEventResponse *ea = next_event(a, &ra, &la);
	next_event(b, &rb, &lb);
	assert_true(la == lb && memcmp(ra, rb, la) == 0);
	return ea;
}

/* One text value of the daemon's database (read-only), owned. */
static char *db_text(const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_open_v2(fx.d.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 10000) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (!arg || sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) == SQLITE_OK) && sqlite3_step(st) == SQLITE_ROW)
		v = tprintf("%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
	else
		fail_msg("%s: %s", sql, db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Restart the daemon with `section` appended to its config. */
static void restart_with(const char *section)
{
	assert_int_equal(harness_stop(&fx.d), 0);
	FILE *f = fopen(fx.d.config, "ae");
	assert_non_null(f);
	fputs(section, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(start_daemon(), 0);
}

/* create, start, stop, remove a container `name` of pod (cfg) */
static char *ctr_life(const char *pod, const Runtime__V1__PodSandboxConfig *pcfg, Runtime__V1__ContainerConfig *cfg)
{
	char *id = create_ctr(pod, cfg, pcfg);
	start_ctr(id);
	stop_ctr(id, 0);
	remove_ctr(id);
	return id;
}

static void test_two_clients_lifecycle(void **state)
{
	(void)state;
	/* runtime.v1alpha2 was dropped before the CRI had GetContainerEvents */
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	assert_non_null(c);
	grpc_status_code code;
	char *details = NULL;
	struct cri_stream *none = cri_client_stream_open(c, "/runtime.v1alpha2.RuntimeService/GetContainerEvents", "", 0,
							 CALL_TIMEOUT_MS, &code, &details);
	assert_null(none);
	assert_int_equal(code, GRPC_STATUS_UNIMPLEMENTED);
	free(details);
	cri_client_free(c);

	struct sub *a = subscribe_to(EVENTS), *b = subscribe_to(EVENTS);
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("evpod", NULL);
	char *pod = run_pod(pcfg);
	assert_pod_event(next_both(a, b), 0, pod);
	assert_pod_event(next_both(a, b), 1, pod);
	char *id = ctr_life(pod, pcfg, ctr_config("web", SLEEP_FOREVER, NULL));
	static const int states[] = { RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED,
				      RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
				      RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, -1 };
	for (int k = 0; k < 4; k++) {
		Runtime__V1__ContainerEventResponse *ea = next_both(a, b);
		assert_event(ea, k, id, pod, states[k]);
		if (k == 2) { /* the stop: exit code and reason in the container's status */
			for (size_t i = 0; i < ea->n_containers_statuses; i++)
				if (!strcmp(ea->containers_statuses[i]->id, id))
					assert_string_equal(ea->containers_statuses[i]->reason, "Error"); /* SIGKILLed: 137 */
		}
	}
	stop_pod(pod);
	assert_pod_event(next_both(a, b), 2, pod);
	remove_pod(pod);
	assert_pod_event(next_both(a, b), 3, pod);
	/* the table holds the same history; events_v answers by container name, a pod's rows by '' */
	assert_string_equal(db_text("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM events_v WHERE container = "
				    "'web' ORDER BY seq)", NULL),
			    "CREATED STARTED STOPPED DELETED");
	assert_string_equal(db_text("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM events_v WHERE container = '' "
				    "AND pod = 'evpod' ORDER BY seq)", NULL),
			    "CREATED STARTED STOPPED DELETED");
	assert_string_equal(db_text("SELECT group_concat(DISTINCT container_id) FROM events WHERE container <> ''", NULL),
			    id);
	assert_string_equal(db_text("SELECT exit_code || ' ' || reason || ' ' || pod || ' ' || namespace FROM events_v "
				    "WHERE kind = 'STOPPED' AND container = 'web'", NULL),
			    tprintf("137 Error evpod %s", POD_NAMESPACE));
}

/*
 * Events committed while no client is subscribed are passed over, not read or built (the daemon
 * logs how many); a client that subscribes after such a quiet period gets the events committed
 * from then on, all of them and in order, and none of before.
 */
static void test_late_subscriber(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("latepod", NULL);
	char *pod = run_pod(pcfg);
	char *early = ctr_life(pod, pcfg, ctr_config("early", SLEEP_FOREVER, NULL));
	/* the pod's CREATED and STARTED and the 4 of "early": followed, not read */
	char *log = wait_log(fx.d.log, "with no client subscribed: not read");
	assert_non_null(strstr(log, "not read (up to "));
	sleep_ms(1500); /* quiet: the feed's wait (1 s) ends with nothing committed */
	struct sub *a = subscribe_to(EVENTS);
	char *late = create_ctr(pod, ctr_config("late", SLEEP_FOREVER, NULL), pcfg);
	assert_event(next_event(a, NULL, NULL), 0, late, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	start_ctr(late);
	assert_event(next_event(a, NULL, NULL), 1, late, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	stop_ctr(late, 0);
	assert_event(next_event(a, NULL, NULL), 2, late, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	remove_ctr(late);
	assert_event(next_event(a, NULL, NULL), 3, late, pod, -1);
	stop_pod(pod);
	assert_pod_event(next_event(a, NULL, NULL), 2, pod);
	remove_pod(pod);
	assert_pod_event(next_event(a, NULL, NULL), 3, pod);
	/* the quiet period's events are in the table, as always */
	assert_int_equal(db_int("SELECT count(*) FROM events WHERE container_id = ?1", early), 4);
}

/* An exit the exit watcher notices, while the client is connected: STOPPED with its exit code. */
static void test_exit_watcher_event(void **state)
{
	(void)state;
	struct sub *a = subscribe_to(EVENTS);
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("exitpod", NULL);
	char *pod = run_pod(pcfg);
	assert_pod_event(next_event(a, NULL, NULL), 0, pod);
	assert_pod_event(next_event(a, NULL, NULL), 1, pod);
	char *id = create_ctr(pod, ctr_config("quits", "sleep 1; exit 3", NULL), pcfg);
	start_ctr(id);
	assert_event(next_event(a, NULL, NULL), 0, id, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	assert_event(next_event(a, NULL, NULL), 1, id, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	Runtime__V1__ContainerEventResponse *e = next_event(a, NULL, NULL); /* no call made it */
	assert_event(e, 2, id, pod, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	for (size_t i = 0; i < e->n_containers_statuses; i++)
		if (!strcmp(e->containers_statuses[i]->id, id)) {
			assert_int_equal(e->containers_statuses[i]->exit_code, 3);
			assert_string_equal(e->containers_statuses[i]->reason, "Error");
		}
	remove_ctr(id);
	assert_event(next_event(a, NULL, NULL), 3, id, pod, -1);
	stop_pod(pod);
	remove_pod(pod);
}

/* p50 of n Version calls, in µs */
static long long version_p50_us(struct cri_client *c, int n)
{
	long long *v = talloc((size_t)n * sizeof *v);
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ProtobufCMessage *resp = NULL;
		assert_int_equal(cri_client_call(c, RT "Version", &req.base, &runtime__v1__version_response__descriptor, &resp,
						 NULL, CALL_TIMEOUT_MS),
				 GRPC_STATUS_OK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		protobuf_c_message_free_unpacked(resp, NULL);
		v[i] = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
	}
	for (int i = 1; i < n; i++) /* insertion sort: n is small */
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			long long t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* A reading client's thread: up to 22 events, the pod's 2 and 20 of containers (no assertions off
 * the main thread). */
struct reader {
	struct sub *sub;
	Runtime__V1__ContainerEventResponse *ev[22];
	int n;
};

static void *read_22(void *p)
{
	struct reader *r = p;
	while (r->n < 22) {
		void *msg;
		size_t len;
		grpc_status_code code;
		char *details = NULL;
		if (cri_stream_next(r->sub->s, &msg, &len, WAIT_MS, &code, &details) != 1) {
			free(details);
			break;
		}
		r->ev[r->n++] = (void *)protobuf_c_message_unpack(&runtime__v1__container_event_response__descriptor, NULL,
								  len, msg);
		free(msg);
	}
	return NULL;
}

/*
 * A client that never reads: each event is ~800 KB (large annotations), so the transport's flow
 * control window fills after a few and the daemon's queue for it ([events] queue = 4) after a few
 * more; it is then cut off with RESOURCE_EXHAUSTED.  A reading client meanwhile gets all 22 events,
 * and Version calls of a third client are timed before and while the stuck client is connected.
 */
static void test_slow_client_cut_off(void **state)
{
	(void)state;
	restart_with("[events]\nqueue = 4\n");
	struct cri_client *c = cri_client_new(fx.d.endpoint);
	assert_non_null(c);
	own(c, (void (*)(void *))cri_client_free);
	long long before = version_p50_us(c, 200);
	struct sub *stuck = subscribe_to(EVENTS);
	struct reader rd = { .sub = subscribe_to(EVENTS) };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_22, &rd), 0);
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("slowpod", NULL);
	char *pod = run_pod(pcfg);
	char *big = talloc(200 * 1024 + 1);
	memset(big, 'x', 200 * 1024);
	big[200 * 1024] = 0;
	char *ids[5];
	long long during = 0;
	for (int k = 0; k < 5; k++) {
		Runtime__V1__ContainerConfig *cfg = ctr_config(tprintf("big%d", k), SLEEP_FOREVER, NULL);
		const char *ann[] = { "a1", big, "a2", big, "a3", big, "a4", big, NULL };
		cfg->annotations = map_of(&runtime__v1__container_config__annotations_entry__descriptor, ann,
					  &cfg->n_annotations);
		ids[k] = ctr_life(pod, pcfg, cfg);
		if (k == 1) /* 8 events: the stuck client holds some, its queue the next, not yet full */
			during = version_p50_us(c, 200);
	}
	pthread_join(t, NULL);
	for (int i = 0; i < rd.n; i++) {
		assert_non_null(rd.ev[i]);
		own(rd.ev[i], free_msg);
	}
	assert_int_equal(rd.n, 22);
	assert_pod_event(rd.ev[0], 0, pod);
	assert_pod_event(rd.ev[1], 1, pod);
	for (int k = 0; k < 5; k++)
		for (int j = 0; j < 4; j++)
			assert_event(rd.ev[2 + 4 * k + j], j, ids[k], pod,
				     j == 0 ? RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED
				     : j == 1 ? RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING
				     : j == 2 ? RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
					      : -1);
	char *details = NULL;
	int got = 0;
	grpc_status_code code = stream_end_status(stuck, &details, &got);
	print_message("a client that never reads: cut off with %s (\"%s\") after %d of 22 events reached it; "
		      "Version p50 of another client: %lld us before, %lld us while it was stuck\n",
		      cri_status_name(code), details ? details : "", got, before, during);
	assert_int_equal(code, GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_true(got < 22);
	char *log = harness_slurp(fx.d.log);
	assert_non_null(log);
	own(log, free);
	assert_non_null(strstr(log, "fell 4 events behind: disconnected"));
	stop_pod(pod);
	remove_pod(pod);
}

/* SIGTERM: the stream ends with UNAVAILABLE and the daemon exits 0. */
static void test_sigterm_ends_stream(void **state)
{
	(void)state;
	struct sub *a = subscribe_to(EVENTS);
	assert_int_equal(harness_stop(&fx.d), 0);
	char *details = NULL;
	int got = 0;
	assert_int_equal(stream_end_status(a, &details, &got), GRPC_STATUS_UNAVAILABLE);
	assert_non_null(details);
	if (!strstr(details, "litecri is shutting down"))
		fail_msg("the stream ended with \"%s\"", details);
	assert_int_equal(start_daemon(), 0); /* for the teardown */
}

/* An exit that happened while the daemon was down: recorded at the next start (from conmon's exit
 * file), and that records its STOPPED event like any other, code and reason included. */
static void test_exit_while_down_event(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("downpod", NULL);
	char *pod = run_pod(pcfg);
	char *id = create_ctr(pod, ctr_config("lost", SLEEP_FOREVER, NULL), pcfg);
	start_ctr(id);
	pid_t init = 0;
	for (size_t i = 0; i < fx.n_procs; i++)
		if (!strcmp(fx.procs[i].id, id) && !strcmp(fx.procs[i].what, "container init"))
			init = fx.procs[i].pid;
	assert_true(init > 0);
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(kill(init, SIGKILL), 0); /* the container this test started */
	/* conmon writes the exit file once it reaped the process */
	for (int64_t deadline = now_ms() + WAIT_MS; access(tprintf("%s/exits/%s", fx.d.state, id), F_OK) != 0;) {
		assert_true(now_ms() < deadline);
		sleep_ms(20);
	}
	assert_int_equal(db_int("SELECT count(*) FROM events WHERE container_id = ?1 AND kind = 2", id), 0);
	assert_int_equal(start_daemon(), 0);
	assert_string_equal(db_text("SELECT exit_code || ' ' || reason FROM events_v WHERE container_id = ?1 AND "
				    "kind = 'STOPPED'", id),
			    "137 Error");
	stop_pod(pod);
	remove_ctr(id);
	remove_pod(pod);
}

/* [events] retain = 6: after 3 container lives (12 events) the table holds the last 6. */
static void test_table_pruned(void **state)
{
	(void)state;
	restart_with("[events]\nretain = 6\n");
	Runtime__V1__PodSandboxConfig *pcfg = pod_config("prunepod", NULL);
	char *pod = run_pod(pcfg);
	for (int k = 0; k < 3; k++)
		ctr_life(pod, pcfg, ctr_config(tprintf("p%d", k), SLEEP_FOREVER, NULL));
	assert_int_equal(db_int("SELECT count(*) FROM events", NULL), 6);
	assert_int_equal(db_int("SELECT max(seq) - min(seq) FROM events", NULL), 5);
	assert_string_equal(db_text("SELECT group_concat(e, ' ') FROM (SELECT container || ':' || kind AS e FROM events_v "
				    "ORDER BY seq)", NULL),
			    "p1:STOPPED p1:DELETED p2:CREATED p2:STARTED p2:STOPPED p2:DELETED");
	stop_pod(pod);
	remove_pod(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_clients_lifecycle, up, down),
		cmocka_unit_test_setup_teardown(test_exit_watcher_event, up, down),
		cmocka_unit_test_setup_teardown(test_late_subscriber, up, down),
		cmocka_unit_test_setup_teardown(test_exit_while_down_event, up, down),
		cmocka_unit_test_setup_teardown(test_slow_client_cut_off, up, down),
		cmocka_unit_test_setup_teardown(test_sigterm_ends_stream, up, down),
		cmocka_unit_test_setup_teardown(test_table_pruned, up, down),
	};
	return podfix_main("events", tests, sizeof tests / sizeof *tests);
}
