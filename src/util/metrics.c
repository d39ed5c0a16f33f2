/* metrics.c — see metrics.h. */
#include "util/metrics.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bucket bounds in microseconds: 100 µs (a status read) to 60 s (a slow pull). */
static const int64_t BOUNDS_US[] = { 100,    250,    500,     1000,    2500,    5000,    10000,
				     25000,  50000,  100000,  250000,  500000,  1000000, 2500000,
				     5000000, 10000000, 30000000, 60000000 };
#define N_BOUNDS (sizeof BOUNDS_US / sizeof BOUNDS_US[0])

struct hist {
	_Atomic uint64_t bucket[N_BOUNDS]; /* not cumulative: the bucket the value fell in */
	_Atomic uint64_t count, sum_us, errors;
};

static const char *const OP_NAME[MOP_N] = {
	[MOP_CONMON_CREATE] = "conmon_create", [MOP_RUNC_START] = "runc_start", [MOP_RUNC_KILL] = "runc_kill",
	[MOP_RUNC_DELETE] = "runc_delete",     [MOP_RUNC_STATE] = "runc_state", [MOP_RUNC_UPDATE] = "runc_update",
	[MOP_EXEC] = "exec",		       [MOP_DB_COMMIT] = "db_commit",   [MOP_IMAGE_PULL] = "image_pull",
};

#define N_CODES 17 /* gRPC status codes 0..16 */
static const char *const CODE_NAME[N_CODES] = {
	"OK",		  "CANCELLED",	    "UNKNOWN",		  "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE",	  "UNIMPLEMENTED",  "INTERNAL",		  "UNAVAILABLE",      "DATA_LOSS",	   "UNAUTHENTICATED",
};

static struct hist ops[MOP_N];
static const char *const *rpc_names;
static size_t n_rpcs;
static struct hist *rpc_hist;		     /* [n_rpcs] */
static _Atomic uint64_t (*rpc_codes)[N_CODES]; /* [n_rpcs][N_CODES] */
static _Atomic uint64_t pull_bytes;
static _Atomic int64_t recovery_us = -1;
static time_t started = 0;

int64_t metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void hist_add(struct hist *h, int64_t us, int ok)
{
	if (us < 0)
		us = 0;
	size_t i = 0;
	while (i < N_BOUNDS && us > BOUNDS_US[i])
		i++;
	if (i < N_BOUNDS)
		atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
	if (!ok)
		atomic_fetch_add_explicit(&h->errors, 1, memory_order_relaxed);
}

void metrics_observe(enum metric_op op, int64_t us, int ok)
{
	assert(op >= 0 && op < MOP_N);
	hist_add(&ops[op], us, ok);
}

int metrics_rpc_init(const char *const *names, size_t n)
{
	if (rpc_names) { /* a server started again in the same process (tests): counts go on */
		assert(n == n_rpcs);
		return 0;
	}
	rpc_hist = calloc(n, sizeof *rpc_hist);
	rpc_codes = calloc(n, sizeof *rpc_codes);
	if (!rpc_hist || !rpc_codes) {
		free(rpc_hist);
		free((void *)rpc_codes);
		rpc_hist = NULL;
		rpc_codes = NULL;
		errno = ENOMEM;
		return -1;
	}
	rpc_names = names;
	n_rpcs = n;
	started = time(NULL);
	return 0;
}

void metrics_rpc(size_t method, int code, int64_t us)
{
	if (method >= n_rpcs || code < 0 || code >= N_CODES)
		return;
	hist_add(&rpc_hist[method], us, code == 0);
	atomic_fetch_add_explicit(&rpc_codes[method][code], 1, memory_order_relaxed);
}

void metrics_pull_bytes(uint64_t n)
{
	atomic_fetch_add_explicit(&pull_bytes, n, memory_order_relaxed);
}

void metrics_recovery(int64_t us)
{
	atomic_store_explicit(&recovery_us, us, memory_order_relaxed);
}

void metrics_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels: `key="value"` text (no braces), or NULL. */
static void hist_render(FILE *f, const char *name, const char *labels, const struct hist *h)
{
	uint64_t cum = 0;
	const char *sep = labels ? "," : "";
	labels = labels ? labels : "";
	for (size_t i = 0; i < N_BOUNDS; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, (double)BOUNDS_US[i] / 1e6,
			(unsigned long long)cum);
	}
	uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
	/* count is read last: with concurrent adds, +Inf must not be below the last bucket */
	if (count < cum)
		count = cum;
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)count);
	const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
	fprintf(f, "%s_sum%s%s%s %.6f\n", name, open, labels, close,
		(double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	fprintf(f, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)count);
}

/* VmRSS of /proc/self/status in bytes, 0 when unreadable. */
static unsigned long long rss_bytes(void)
{
	FILE *s = fopen("/proc/self/status", "re");
	unsigned long long kb = 0;
	char line[256];
	while (s && fgets(line, sizeof line, s))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	if (s)
		fclose(s);
	return kb * 1024;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int metrics_render(FILE *f)
{
	if (n_rpcs) {
		metrics_header(f, "litecri_grpc_requests_total", "counter",
			       "CRI calls answered, by method and gRPC status code.");
		for (size_t m = 0; m < n_rpcs; m++)
			for (int c = 0; c < N_CODES; c++) {
				uint64_t v = atomic_load_explicit(&rpc_codes[m][c], memory_order_relaxed);
				if (v)
					fprintf(f, "litecri_grpc_requests_total{method=\"%s\",code=\"%s\"} %llu\n",
						rpc_names[m], CODE_NAME[c], (unsigned long long)v);
			}
		metrics_header(f, "litecri_grpc_request_duration_seconds", "histogram",
			       "Time from a CRI call's arrival to its answer, by method (methods called at least once).");
		for (size_t m = 0; m < n_rpcs; m++) {
			if (!atomic_load_explicit(&rpc_hist[m].count, memory_order_relaxed))
				continue;
			char l[128];
			snprintf(l, sizeof l, "method=\"%s\"", rpc_names[m]);
			hist_render(f, "litecri_grpc_request_duration_seconds", l, &rpc_hist[m]);
		}
	}
	metrics_header(f, "litecri_operation_duration_seconds", "histogram",
		       "Runtime, database and image operations below the CRI, by operation.");
	for (int o = 0; o < MOP_N; o++) {
		char l[64];
		snprintf(l, sizeof l, "operation=\"%s\"", OP_NAME[o]);
		hist_render(f, "litecri_operation_duration_seconds", l, &ops[o]);
	}
	metrics_header(f, "litecri_operation_errors_total", "counter", "Operations below the CRI that failed.");
	for (int o = 0; o < MOP_N; o++)
		fprintf(f, "litecri_operation_errors_total{operation=\"%s\"} %llu\n", OP_NAME[o],
			(unsigned long long)atomic_load_explicit(&ops[o].errors, memory_order_relaxed));
	metrics_header(f, "litecri_image_pull_bytes_total", "counter", "Bytes of image layers fetched by pulls.");
	fprintf(f, "litecri_image_pull_bytes_total %llu\n",
		(unsigned long long)atomic_load_explicit(&pull_bytes, memory_order_relaxed));
	int64_t rec = atomic_load_explicit(&recovery_us, memory_order_relaxed);
	if (rec >= 0) {
		metrics_header(f, "litecri_recovery_duration_seconds", "gauge",
			       "How long startup recovery took before the daemon served its first call.");
		fprintf(f, "litecri_recovery_duration_seconds %.6f\n", (double)rec / 1e6);
	}
	metrics_header(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	fprintf(f, "process_resident_memory_bytes %llu\n", rss_bytes());
	metrics_header(f, "process_open_fds", "gauge", "Number of open file descriptors.");
	fprintf(f, "process_open_fds %ld\n", open_fds());
	if (started) {
		metrics_header(f, "process_start_time_seconds", "gauge", "Start time of the process since the epoch.");
		fprintf(f, "process_start_time_seconds %lld\n", (long long)started);
	}
	return ferror(f) ? -1 : 0;
}
