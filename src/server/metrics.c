/* metrics.c — see metrics.h. */
#include "server/metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "store/pods.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"

struct metrics_http {
	struct MHD_Daemon *d;
	struct cri_env *env;
};

static void gauge(FILE *f, const char *name, const char *label, const char *value, int64_t v)
{
	if (label)
		fprintf(f, "%s{%s=\"%s\"} %lld\n", name, label, value, (long long)v);
	else
		fprintf(f, "%s %lld\n", name, (long long)v);
}

char *metrics_exposition(struct cri_env *env, size_t *len, struct lc_err *err)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f) {
		lc_fail(err, errno, "metrics");
		return NULL;
	}
	int rc = metrics_render(f);
	struct store_counts c;
	if (rc == 0 && env->store && store_counts(env->store, &c, err) == 0) {
		static const char *const ctr[] = { "created", "running", "exited", "unknown" };
		metrics_header(f, "litecri_containers", "gauge", "Containers recorded in the database, by state.");
		for (int i = 0; i < 4; i++)
			gauge(f, "litecri_containers", "state", ctr[i], c.containers[i]);
		metrics_header(f, "litecri_pods", "gauge", "Pod sandboxes recorded in the database, by state.");
		gauge(f, "litecri_pods", "state", "ready", c.sandboxes[0]);
		gauge(f, "litecri_pods", "state", "notready", c.sandboxes[1]);
		metrics_header(f, "litecri_inflight_flags", "gauge",
			       "In-flight flags set in the database (a call at work, or one a crash interrupted).");
		const struct {
			const char *flag;
			int64_t v;
		} fl[] = { { "container_creating", c.ctr_creating }, { "container_starting", c.ctr_starting },
			   { "container_removing", c.ctr_removing }, { "container_updating", c.ctr_updating },
			   { "pod_creating", c.sb_creating },	     { "pod_stopping", c.sb_stopping },
			   { "pod_removing", c.sb_removing },	     { "pod_network", c.sb_network } };
		for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
			gauge(f, "litecri_inflight_flags", "flag", fl[i].flag, fl[i].v);
		metrics_header(f, "litecri_db_size_bytes", "gauge", "Size of the database file (its pages; the WAL not included).");
		gauge(f, "litecri_db_size_bytes", NULL, NULL, c.db_bytes);
	} else if (rc == 0 && env->store) {
		log_warn("metrics: database counts left out: %s", err->msg);
	}
	if (env->store)
		store_conn_release(env->store); /* scrapes are rare: no connection kept on this thread */
	if (fclose(f) != 0 || rc < 0) {
		lc_fail(err, errno ? errno : EIO, "metrics");
		free(buf);
		return NULL;
	}
	return buf;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)req_cls;
	struct metrics_http *m = cls;
	unsigned code = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	char *body = NULL;
	size_t len = 0;
	struct lc_err err = { 0 };
	if (strcmp(url, "/metrics") != 0) {
		code = MHD_HTTP_NOT_FOUND;
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!(body = metrics_exposition(m->env, &len, &err))) {
		log_error("metrics: %s", err.msg);
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (code != MHD_HTTP_OK) {
		static const char *const text[] = { "not found: the one path is /metrics\n", "only GET\n", "error\n" };
		const char *t = text[code == MHD_HTTP_NOT_FOUND ? 0 : code == MHD_HTTP_METHOD_NOT_ALLOWED ? 1 : 2];
		body = strdup(t);
		len = body ? strlen(body) : 0;
		type = "text/plain; charset=utf-8";
	}
	if (!body)
		return MHD_NO;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* "HOST:PORT" or "[V6]:PORT" → a numeric socket address (no name lookup). */
static int parse_address(const char *a, struct addrinfo **out, struct lc_err *err)
{
	char host[128];
	const char *colon = strrchr(a, ':');
	if (!colon || colon == a || !colon[1] || (size_t)(colon - a) >= sizeof host)
		return lc_failc(err, EINVAL, "metrics address \"%s\" is not HOST:PORT", a);
	size_t hl = (size_t)(colon - a);
	memcpy(host, a, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM };
	int e = getaddrinfo(host, colon + 1, &hints, out);
	if (e)
		return lc_failc(err, EINVAL, "metrics address \"%s\": %s (a numeric address and port)", a, gai_strerror(e));
	return 0;
}

int metrics_http_start(struct cri_env *env, struct metrics_http **out, struct lc_err *err)
{
	*out = NULL;
	const char *a = env->cfg->metrics_address;
	if (!*a)
		return 0;
	struct addrinfo *ai;
	if (parse_address(a, &ai, err) < 0)
		return -1;
	struct metrics_http *m = calloc(1, sizeof *m);
	if (!m) {
		freeaddrinfo(ai);
		return lc_fail(err, ENOMEM, "metrics");
	}
	m->env = env;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_POLL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!m->d) {
		free(m);
		return lc_fail(err, EADDRINUSE, "metrics: cannot listen on %s", a);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	char host[128];
	snprintf(host, sizeof host, "%.*s", (int)(strrchr(a, ':') - a), a);
	/* the port actually bound: with port 0, any free one */
	log_info("metrics: Prometheus endpoint at http://%s:%u/metrics", host, di ? (unsigned)di->port : 0);
	*out = m;
	return 0;
}

void metrics_http_stop(struct metrics_http *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
