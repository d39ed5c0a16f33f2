/*
 * metrics.h — the Prometheus endpoint: GET /metrics on [metrics] address (HOST:PORT), text
 * exposition format 0.0.4.  What util/metrics keeps in memory (CRI calls by method and code,
 * latency histograms, runtime, database and pull operations, recovery, process RSS and fds), and
 * what the database says at scrape time (pods and containers by state, in-flight flags, size).
 * Served by libmicrohttpd on a thread of its own: a scrape never waits for a CRI call.
 */
#ifndef LITECRI_SERVER_METRICS_H
#define LITECRI_SERVER_METRICS_H

#include "cri/cri.h"
#include "util/err.h"

struct metrics_http;

/* Listen on env->cfg->metrics_address and serve; *out stays NULL when the address is "" (off). */
int metrics_http_start(struct cri_env *env, struct metrics_http **out, struct lc_err *err);

/* Stop serving (NULL-safe): the listening socket is closed when it returns. */
void metrics_http_stop(struct metrics_http *m);

/* The whole exposition, malloc'ed NUL-terminated (what GET /metrics answers); NULL on failure. */
char *metrics_exposition(struct cri_env *env, size_t *len, struct lc_err *err);

#endif
