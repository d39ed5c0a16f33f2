/*
 * litecri-bench.c — a load generator for any CRI endpoint (litecri, containerd, CRI-O).
 *
 *   litecri-bench --endpoint unix:///path/to.sock --rpc RPC --calls N --concurrency C
 *                 [--api v1|v1alpha2] [--timeout-ms MS] [--warmup N] [--image REF]
 *
 * RPC: Version, Status, PullImage, ImageStatus, ListImages, RemoveImage, ImageFsInfo.  The
 * image RPCs act on --image (required for PullImage, ImageStatus and RemoveImage).  Repeated
 * PullImage calls of a present image measure what kubelet's "Always" pull policy costs (the
 * manifest is fetched again, nothing else); RemoveImage removes the image on the first call and
 * measures the idempotent no-op on the others.
 *
 * It makes N unary calls of one standard CRI RPC over C connections: C threads, each with its
 * own struct cri_client (one channel, one connection), take call indices from a shared atomic
 * counter until all N are handed out.  Each call's latency (request packing, the call, response
 * decoding) is measured with CLOCK_MONOTONIC; failed calls count too.  Before the measurement
 * each thread makes its share of the --warmup calls (which connects its channel); those calls
 * are neither timed nor counted, and their errors are ignored.  The threads then start together.
 *
 * Output: one line on stdout, keys in a fixed order, e.g.
 *   rpc=Version api=v1 calls=10000 concurrency=4 errors=0 elapsed_s=0.612 calls_per_s=16339.9
 *   p50_us=210 p90_us=330 p99_us=610 max_us=2100
 * (on one line).  elapsed_s runs from the common start to the end of the last thread;
 * percentiles are nearest-rank over all N calls.  The first failed call's status and message
 * go to stderr.  Exit status: 0 if every call returned OK, 1 if any failed (or the tool itself
 * failed), 2 on bad usage.
 *
 * Adding an RPC is one entry in rpcs[] below.  Only the v1 messages are generated; an entry
 * may be used with --api v1alpha2 because the v1alpha2 messages of these RPCs are
 * wire-identical to v1 (true of every RuntimeService/ImageService message so far).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* --- the RPCs ------------------------------------------------------------------------------ */

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

/* --image, for the image RPCs. */
static const char *bench_image;

static const ProtobufCMessage *build_pull_image(void)
{
	static Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	static Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	spec.image = (char *)bench_image;
	req.image = &spec;
	return &req.base;
}

static const ProtobufCMessage *build_image_status(void)
{
	static Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	static Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	spec.image = (char *)bench_image;
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
	spec.image = (char *)bench_image;
	req.image = &spec;
	return &req.base;
}

static const ProtobufCMessage *build_image_fs_info(void)
{
	static Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	return &req.base;
}

struct rpc {
	const char *name;                                /* --rpc value and rpc= in the output */
	bool needs_image;                                /* --image is required */
	const char *method;                              /* after "/runtime.<api>." */
	const ProtobufCMessage *(*build_request)(void);
	const ProtobufCMessageDescriptor *response;
};

static const struct rpc rpcs[] = {
	{ "Version", false, "RuntimeService/Version", build_version, &runtime__v1__version_response__descriptor },
	{ "Status", false, "RuntimeService/Status", build_status, &runtime__v1__status_response__descriptor },
	{ "PullImage", true, "ImageService/PullImage", build_pull_image, &runtime__v1__pull_image_response__descriptor },
	{ "ImageStatus", true, "ImageService/ImageStatus", build_image_status,
	  &runtime__v1__image_status_response__descriptor },
	{ "ListImages", false, "ImageService/ListImages", build_list_images,
	  &runtime__v1__list_images_response__descriptor },
	{ "RemoveImage", true, "ImageService/RemoveImage", build_remove_image,
	  &runtime__v1__remove_image_response__descriptor },
	{ "ImageFsInfo", false, "ImageService/ImageFsInfo", build_image_fs_info,
	  &runtime__v1__image_fs_info_response__descriptor },
};
#define N_RPCS (sizeof rpcs / sizeof rpcs[0])

static const char *const apis[] = { "v1", "v1alpha2" };
#define N_APIS (sizeof apis / sizeof apis[0])

/* --- usage and arguments ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: litecri-bench --endpoint ADDR --rpc NAME --calls N --concurrency C [OPTIONS]\n"
		"\n"
		"Makes N unary calls of one CRI RPC over C connections (one thread each) and prints\n"
		"one line: rpc= api= calls= concurrency= errors= elapsed_s= calls_per_s= p50_us=\n"
		"p90_us= p99_us= max_us=.  Exit status 0 if every call succeeded, 1 if any failed,\n"
		"2 on bad usage.\n"
		"\n"
		"  --endpoint ADDR     CRI socket: unix:///path, unix:/path or /path\n"
		"  --rpc NAME          ");
	for (size_t i = 0; i < N_RPCS; i++)
		fprintf(f, "%s%s", i ? ", " : "", rpcs[i].name);
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
		"  --image REF         the image of PullImage, ImageStatus, RemoveImage\n"
		"  -h, --help          this text\n",
		apis[0], MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, MAX_WARMUP);
}

struct options {
	const char *endpoint;
	const struct rpc *rpc;
	const char *api;
	unsigned long long calls;
	unsigned long long concurrency;
	unsigned long long timeout_ms;
	unsigned long long warmup;
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

enum { OPT_ENDPOINT = 256, OPT_RPC, OPT_CALLS, OPT_CONCURRENCY, OPT_API, OPT_TIMEOUT, OPT_WARMUP, OPT_IMAGE };

static const struct option long_options[] = {
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "rpc", required_argument, NULL, OPT_RPC },
	{ "calls", required_argument, NULL, OPT_CALLS },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "api", required_argument, NULL, OPT_API },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* 0: run; 1: --help was printed; -1: bad usage (message printed). */
static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .api = apis[0], .timeout_ms = DEFAULT_TIMEOUT_MS };
	bool have_calls = false, have_concurrency = false;
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
			bench_image = optarg;
			break;
		default:    /* getopt_long printed the message */
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "litecri-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	const char *missing = !o->endpoint ? "--endpoint"
			      : !o->rpc ? "--rpc"
			      : !have_calls ? "--calls"
			      : !have_concurrency ? "--concurrency"
			      : o->rpc->needs_image && !bench_image ? "--image"
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
	const ProtobufCMessage *req;
	char method[256];
	int timeout_ms;
	uint64_t calls;
	uint64_t *lat_ns;                   /* [calls], each slot written by the thread that made it */
	atomic_uint_fast64_t next;          /* next call index to hand out */
	atomic_uint_fast64_t errors;
	atomic_flag first_error_taken;
	uint64_t first_error_index;         /* written by the thread that took the flag, read after join */
	grpc_status_code first_error_code;
	char *first_error_details;

	/* The start gate: workers report ready after their warmup, then wait for go (or abort). */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t ready;
	bool go, abort;
};

struct worker {
	struct run *run;
	struct cri_client *client;
	pthread_t thread;
	uint64_t warmup;
	uint64_t start_ns, end_ns;
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

/* One call; its status, and its message in *details (malloc'ed, may be NULL). */
static grpc_status_code one_call(struct run *r, struct cri_client *client, char **details)
{
	ProtobufCMessage *resp = NULL;
	grpc_status_code st = cri_client_call(client, r->method, r->req, r->rpc->response, &resp, details,
					      r->timeout_ms);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	for (uint64_t i = 0; i < w->warmup; i++) {
		char *details = NULL;
		one_call(r, w->client, &details);
		free(details);
	}

	check_pthread(pthread_mutex_lock(&r->mu), "pthread_mutex_lock");
	r->ready++;
	check_pthread(pthread_cond_broadcast(&r->cond), "pthread_cond_broadcast");
	while (!r->go && !r->abort)
		check_pthread(pthread_cond_wait(&r->cond, &r->mu), "pthread_cond_wait");
	bool aborted = r->abort;
	check_pthread(pthread_mutex_unlock(&r->mu), "pthread_mutex_unlock");
	if (aborted)
		return NULL;

	w->start_ns = now_ns();
	for (;;) {
		uint64_t i = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
		if (i >= r->calls)
			break;
		char *details = NULL;
		uint64_t t0 = now_ns();
		grpc_status_code st = one_call(r, w->client, &details);
		r->lat_ns[i] = now_ns() - t0;
		if (st != GRPC_STATUS_OK) {
			atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
			if (!atomic_flag_test_and_set(&r->first_error_taken)) {
				r->first_error_index = i;
				r->first_error_code = st;
				r->first_error_details = details;
				details = NULL;
			}
		}
		free(details);
	}
	w->end_ns = now_ns();
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

	int ret = 1;
	struct run r = {
		.rpc = o.rpc,
		.req = o.rpc->build_request(),
		.timeout_ms = (int)o.timeout_ms,
		.calls = o.calls,
		.first_error_taken = ATOMIC_FLAG_INIT,
	};
	atomic_init(&r.next, 0);
	atomic_init(&r.errors, 0);
	int n = snprintf(r.method, sizeof r.method, "/runtime.%s.%s", o.api, o.rpc->method);
	if (n < 0 || (size_t)n >= sizeof r.method) {
		fprintf(stderr, "litecri-bench: method path too long\n");
		return 1;
	}

	size_t nthreads = (size_t)o.concurrency;
	r.lat_ns = calloc((size_t)o.calls, sizeof *r.lat_ns);
	struct worker *workers = calloc(nthreads, sizeof *workers);
	if (!r.lat_ns || !workers) {
		fprintf(stderr, "litecri-bench: out of memory\n");
		free(r.lat_ns);
		free(workers);
		return 1;
	}
	int rc = pthread_mutex_init(&r.mu, NULL);
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: pthread_mutex_init: %s\n", strerror(rc));
		free(r.lat_ns);
		free(workers);
		return 1;
	}
	rc = pthread_cond_init(&r.cond, NULL);
	if (rc != 0) {
		fprintf(stderr, "litecri-bench: pthread_cond_init: %s\n", strerror(rc));
		check_pthread(pthread_mutex_destroy(&r.mu), "pthread_mutex_destroy");
		free(r.lat_ns);
		free(workers);
		return 1;
	}

	grpc_init();
	size_t started = 0;

	for (size_t i = 0; i < nthreads; i++) {
		workers[i].run = &r;
		workers[i].warmup = o.warmup / nthreads + (i < o.warmup % nthreads ? 1 : 0);
		workers[i].client = cri_client_new(o.endpoint);
		if (!workers[i].client) {
			fprintf(stderr, "litecri-bench: cannot create a client for %s\n", o.endpoint);
			goto out;
		}
	}
	for (; started < nthreads; started++) {
		rc = pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]);
		if (rc != 0) {
			fprintf(stderr, "litecri-bench: pthread_create: %s\n", strerror(rc));
			break;
		}
	}

	/* Start every thread at once, or release the started ones to exit if one failed to start. */
	check_pthread(pthread_mutex_lock(&r.mu), "pthread_mutex_lock");
	if (started == nthreads) {
		while (r.ready < nthreads)
			check_pthread(pthread_cond_wait(&r.cond, &r.mu), "pthread_cond_wait");
		r.go = true;
	} else {
		r.abort = true;
	}
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
	if (r.abort || join_failed)
		goto out;

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
	printf("rpc=%s api=%s calls=%" PRIu64 " concurrency=%zu errors=%" PRIu64
	       " elapsed_s=%.3f calls_per_s=%.1f p50_us=%" PRIu64 " p90_us=%" PRIu64
	       " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
	       r.rpc->name, o.api, r.calls, nthreads, errors, elapsed_s,
	       elapsed_s > 0 ? (double)r.calls / elapsed_s : 0.0,
	       percentile_us(r.lat_ns, r.calls, 50), percentile_us(r.lat_ns, r.calls, 90),
	       percentile_us(r.lat_ns, r.calls, 99), (r.lat_ns[r.calls - 1] + 500) / 1000);
	if (fflush(stdout) != 0) {
		perror("litecri-bench: stdout");
		goto out;
	}
	if (errors > 0) {
		fprintf(stderr, "litecri-bench: %" PRIu64 " of %" PRIu64 " calls failed; first: call %" PRIu64
			" (%s): %s: %s\n",
			errors, r.calls, r.first_error_index, r.method, cri_status_name(r.first_error_code),
			r.first_error_details ? r.first_error_details : "");
		goto out;
	}
	ret = 0;

out:
	for (size_t i = 0; i < nthreads; i++)
		cri_client_free(workers[i].client);
	grpc_shutdown();
	free(r.first_error_details);
	check_pthread(pthread_cond_destroy(&r.cond), "pthread_cond_destroy");
	check_pthread(pthread_mutex_destroy(&r.mu), "pthread_mutex_destroy");
	free(r.lat_ns);
	free(workers);
	return ret;
}
