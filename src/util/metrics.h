/*
 * metrics.h — the daemon's own measurements, kept in process memory with relaxed atomics (no lock
 * on any call path: an observation is a few atomic adds), rendered in the Prometheus text
 * exposition format 0.0.4 by metrics_render.  What the database knows (objects by state, flags
 * set) is not kept here: the server reads it at scrape time (src/server/metrics.c).
 */
#ifndef LITECRI_UTIL_METRICS_H
#define LITECRI_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Timed operations below the CRI: each has a duration histogram and an error counter. */
enum metric_op {
	MOP_CONMON_CREATE, /* conmon started + `runc create` under it, until conmon reports the pid */
	MOP_RUNC_START,
	MOP_RUNC_KILL,
	MOP_RUNC_DELETE,
	MOP_RUNC_STATE,
	MOP_RUNC_UPDATE,
	MOP_EXEC,          /* an ExecSync command, conmon exec mode, start to exit */
	MOP_DB_COMMIT,     /* one write transaction's statement(s) + COMMIT */
	MOP_IMAGE_PULL,    /* one PullImage transfer (shared by identical concurrent pulls) */
	MOP_N
};

/* CLOCK_MONOTONIC in microseconds: the clock every duration here is taken with. */
int64_t metrics_now_us(void);

/* Record one op that took us microseconds; ok = 0 counts an error too. */
void metrics_observe(enum metric_op op, int64_t us, int ok);

/*
 * The gRPC methods, by index (the dispatch table's order), named once before serving: names[i]
 * lives as long as the process.  Then metrics_rpc counts a call of method i that ended with
 * gRPC status code (0..16) after us microseconds.  Unknown methods are not counted.
 */
int metrics_rpc_init(const char *const *names, size_t n);
void metrics_rpc(size_t method, int code, int64_t us);

/* Bytes of image layers written by pulls. */
void metrics_pull_bytes(uint64_t n);

/* How long the last startup recovery took. */
void metrics_recovery(int64_t us);

/* Render everything kept here, and the process' RSS, open fds and start time; 0 or -1 (errno). */
int metrics_render(FILE *f);

/* The metric name's HELP/TYPE header lines. */
void metrics_header(FILE *f, const char *name, const char *type, const char *help);

#endif
