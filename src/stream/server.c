/*
 * server.c — the streaming server's HTTP side (libmicrohttpd): routes, tokens, protocol
 * negotiation and the upgrade, after which a session thread (session.c) owns the socket.
 *
 * Answers, as kubelet's server gives them:
 *   404  unknown path; a token never minted, used already, expired, or minted for another kind
 *   405  a method other than GET or POST
 *   400  SPDY without X-Stream-Protocol-Version; neither a SPDY/3.1 nor a WebSocket upgrade;
 *        WebSocket version other than 13 or no key; port forward over WebSocket without ports
 *   403  no protocol in common (SPDY: X-Accepted-Stream-Protocol-Versions lists ours)
 *   503  max_sessions sessions run already (the token is not used up: the client may retry)
 *   101  the upgrade: SPDY/3.1 with X-Stream-Protocol-Version, or websocket with the subprotocol
 */
#include "stream/stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "stream/session.h"
#include "stream/token.h"
#include "util/log.h"

struct stream_server {
	struct MHD_Daemon *d;
	struct stream_backend be;
	struct tokens *tokens;
	char url[128];
	int stop_fd;
	int idle_ms, stream_timeout_ms, max_sessions;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int reserved; /* sessions counted against max_sessions: upgrades under way + threads */
	int running;  /* session threads */
	int stopping;
	char *cert, *key;
};

/* A request answered with 101, until MHD hands over the socket (or drops the connection). */
struct pending {
	struct stream_server *srv;
	struct sess *s;
	int upgraded;
};

static const char *const spdy_exec_protocols[] = { "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
						   "channel.k8s.io", NULL };
static const char *const spdy_pf_protocols[] = { "portforward.k8s.io", NULL };

struct ws_protocol {
	const char *name;
	int version, base64;
};
/* "" stands for a client that names no subprotocol. */
static const struct ws_protocol ws_exec_protocols[] = {
	{ "v5.channel.k8s.io", 5, 0 }, { "v4.channel.k8s.io", 4, 0 }, { "v4.base64.channel.k8s.io", 4, 1 },
	{ "base64.channel.k8s.io", 1, 1 }, { "channel.k8s.io", 1, 0 }, { "", 1, 0 }, { NULL, 0, 0 },
};
static const struct ws_protocol ws_pf_protocols[] = {
	{ "v4.channel.k8s.io", 4, 0 }, { "v4.base64.channel.k8s.io", 4, 1 }, { "portforward.k8s.io", 1, 0 },
	{ "", 1, 0 }, { NULL, 0, 0 },
};

static void sess_free(struct sess *s)
{
	if (!s)
		return;
	spdy_free(s);
	buf_free(&s->rx);
	buf_free(&s->tx);
	buf_free(&s->ws_msg);
	free(s->ports);
	free(s->req);
	free(s);
}

static void release(struct stream_server *srv, int was_running)
{
	pthread_mutex_lock(&srv->mu);
	srv->reserved--;
	if (was_running)
		srv->running--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

static void *session_thread(void *arg)
{
	struct sess *s = arg;
	struct stream_server *srv = s->srv;
	sess_run(s);
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	sess_free(s);
	release(srv, 1);
	return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in, size_t extra_n,
		       MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)c, (void)req_cls;
	struct pending *p = cls;
	struct stream_server *srv = p->srv;
	struct sess *s = p->s;
	p->upgraded = 1;
	p->s = NULL;
	s->fd = sock;
	s->urh = urh;
	pthread_mutex_lock(&srv->mu);
	int stopping = srv->stopping;
	if (!stopping)
		srv->running++;
	pthread_mutex_unlock(&srv->mu);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!stopping && buf_put(&s->rx, extra_in, extra_n) == 0 && pthread_create(&t, &attr, session_thread, s) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	if (!stopping)
		log_warn("stream %s: session not started (%s)", s->req->id, "no thread");
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	sess_free(s);
	release(srv, !stopping);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	(void)c, (void)toe;
	struct pending *p = *req_cls;
	if (!p)
		return;
	*req_cls = NULL;
	if (!p->upgraded && p->s) { /* the 101 never went out: the slot is free again */
		sess_free(p->s);
		release(cls, 0);
	}
	free(p);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text, const char *hname,
			     const char *const *hvalues)
{
	char body[512];
	snprintf(body, sizeof body, "%s\n", text);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	for (size_t i = 0; hname && hvalues[i]; i++)
		MHD_add_response_header(r, hname, hvalues[i]);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Does a comma-separated header value hold token word (case-insensitive)? */
static int header_has(const char *v, const char *word)
{
	size_t wl = strlen(word);
	while (v && *v) {
		v += strspn(v, " \t,");
		size_t n = strcspn(v, ",");
		size_t m = n;
		while (m && (v[m - 1] == ' ' || v[m - 1] == '\t'))
			m--;
		if (m == wl && !strncasecmp(v, word, wl))
			return 1;
		v += n;
	}
	return 0;
}

/* Every value of a header that may be repeated and comma-separated, in order. */
struct values {
	const char *name;
	char list[16][64];
	int n;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct values *v = cls;
	if (!key || !value || strcasecmp(key, v->name))
		return MHD_YES;
	for (const char *p = value; *p && v->n < 16;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m && m < sizeof v->list[0]) {
			memcpy(v->list[v->n], p, m);
			v->list[v->n++][m] = 0;
		}
		p += n;
	}
	return MHD_YES;
}

/* Port forward over WebSocket: the ports of the query (?port=80&port=8080 or ?port=80,8080), else
 * those of the CRI request. */
static int query_ports(struct MHD_Connection *c, struct sess *s, char *why, size_t wn)
{
	struct values v = { .name = "port" };
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &v);
	if (!v.n && !s->req->n_ports) {
		snprintf(why, wn, "query parameter \"port\" is required");
		return -1;
	}
	size_t n = v.n ? (size_t)v.n : s->req->n_ports;
	s->ports = calloc(n, sizeof *s->ports);
	if (!s->ports) {
		snprintf(why, wn, "out of memory");
		return -1;
	}
	s->n_ports = n;
	for (size_t i = 0; i < n; i++) {
		long port = s->req->ports[i];
		char *end = "";
		if (v.n)
			port = strtol(v.list[i], &end, 10);
		if (*end || port < 1 || port > 65535) {
			snprintf(why, wn, "unable to parse \"%s\" as a port", v.n ? v.list[i] : "");
			return -1;
		}
		s->ports[i] = (int32_t)port;
	}
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_n, void **req_cls)
{
	(void)version, (void)upload;
	struct stream_server *srv = cls;
	if (*req_cls) { /* answered already: the body, if any, is ignored */
		*upload_n = 0;
		return MHD_YES;
	}
	static const char *const kinds[] = { "/exec/", "/attach/", "/portforward/" };
	int kind = -1;
	for (int i = 0; i < 3; i++)
		if (!strncmp(url, kinds[i], strlen(kinds[i])))
			kind = i;
	const char *tok = kind >= 0 ? url + strlen(kinds[kind]) : NULL;
	if (!tok || !*tok || strchr(tok, '/'))
		return reply(c, MHD_HTTP_NOT_FOUND, "404 page not found", NULL, NULL);
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "405: Method Not Allowed", NULL, NULL);

	pthread_mutex_lock(&srv->mu);
	int full = srv->stopping || srv->reserved >= srv->max_sessions;
	if (!full)
		srv->reserved++;
	pthread_mutex_unlock(&srv->mu);
	if (full)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many streaming sessions", NULL, NULL);

	struct stream_req *req = tokens_take(srv->tokens, tok);
	if (!req || (int)req->kind != kind) {
		free(req);
		release(srv, 0);
		return reply(c, MHD_HTTP_NOT_FOUND, "404 page not found", NULL, NULL);
	}
	struct sess *s = calloc(1, sizeof *s);
	struct pending *p = calloc(1, sizeof *p);
	char why[256] = "";
	unsigned status = MHD_HTTP_BAD_REQUEST;
	const char *hname = NULL, *const *hvalues = NULL;
	const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
	const char *connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
	int is_upgrade = connection && header_has(connection, "upgrade");
	struct MHD_Response *r = NULL;
	if (!s || !p) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		snprintf(why, sizeof why, "out of memory");
		goto fail;
	}
	s->srv = srv;
	s->be = &srv->be;
	s->req = req;
	s->stop_fd = srv->stop_fd;
	s->idle_ms = srv->idle_ms;
	s->stream_timeout_ms = srv->stream_timeout_ms;
	s->init_window = s->sess_window = 65536;
	p->srv = srv;
	p->s = s;
	const char *chosen;
	if (is_upgrade && upgrade && header_has(upgrade, "websocket")) {
		const char *wsv = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
		const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
		static const char *const v13[] = { "13", NULL };
		if (!wsv || strcmp(wsv, "13")) {
			snprintf(why, sizeof why, "unsupported WebSocket version (13 only)");
			hname = "Sec-WebSocket-Version", hvalues = v13;
			goto fail;
		}
		if (!key || !*key || strlen(key) > 64) {
			snprintf(why, sizeof why, "missing Sec-WebSocket-Key");
			goto fail;
		}
		struct values offered = { .name = "Sec-WebSocket-Protocol" };
		MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &offered);
		if (!offered.n)
			offered.n = 1; /* list[0] is "": no subprotocol */
		const struct ws_protocol *table = kind == STREAM_PORTFORWARD ? ws_pf_protocols : ws_exec_protocols,
					 *pick = NULL;
		for (int i = 0; i < offered.n && !pick; i++)
			for (const struct ws_protocol *t = table; t->name && !pick; t++)
				if (!strcmp(t->name, offered.list[i]))
					pick = t;
		if (!pick) {
			status = MHD_HTTP_FORBIDDEN;
			snprintf(why, sizeof why, "requested protocol(s) are not supported");
			goto fail;
		}
		if (kind == STREAM_PORTFORWARD && query_ports(c, s, why, sizeof why) < 0)
			goto fail;
		s->proto = WIRE_WS;
		s->wire = &ws_wire;
		s->version = pick->version;
		s->base64 = pick->base64;
		char accept[29];
		ws_accept_key(key, accept);
		r = MHD_create_response_for_upgrade(on_upgrade, p);
		if (!r)
			goto oom;
		MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
		if (pick->name[0])
			MHD_add_response_header(r, "Sec-WebSocket-Protocol", pick->name);
		chosen = pick->name[0] ? pick->name : "(none)";
	} else {
		const char *const *ours = kind == STREAM_PORTFORWARD ? spdy_pf_protocols : spdy_exec_protocols;
		struct values offered = { .name = "X-Stream-Protocol-Version" };
		MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &offered);
		if (!offered.n) {
			snprintf(why, sizeof why, "unable to upgrade: X-Stream-Protocol-Version is required");
			goto fail;
		}
		int v = -1;
		for (int i = 0; i < offered.n && v < 0; i++)
			for (int j = 0; ours[j] && v < 0; j++)
				if (!strcmp(offered.list[i], ours[j]))
					v = j;
		if (v < 0) {
			status = MHD_HTTP_FORBIDDEN;
			snprintf(why, sizeof why, "unable to upgrade: unable to negotiate protocol: client supports %s%s, server accepts %s%s",
				 offered.list[0], offered.n > 1 ? ", ..." : "", ours[0], ours[1] ? ", ..." : "");
			hname = "X-Accepted-Stream-Protocol-Versions", hvalues = ours;
			goto fail;
		}
		if (!is_upgrade || !upgrade || strcasecmp(upgrade, "SPDY/3.1")) {
			snprintf(why, sizeof why, "unable to upgrade: missing upgrade headers in request");
			goto fail;
		}
		s->proto = WIRE_SPDY;
		s->wire = &spdy_wire;
		s->version = kind == STREAM_PORTFORWARD ? 1 : 4 - v;
		if (spdy_init(s) < 0)
			goto oom;
		r = MHD_create_response_for_upgrade(on_upgrade, p);
		if (!r)
			goto oom;
		MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
		MHD_add_response_header(r, "X-Stream-Protocol-Version", ours[v]);
		chosen = ours[v];
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
	*req_cls = p;
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	log_debug("stream %s: %s upgrade to %s, protocol %s", req->id, kinds[kind], s->proto == WIRE_WS ? "WebSocket" : "SPDY/3.1",
		  chosen);
	return ret; /* on MHD_NO the connection is dropped: on_completed frees p and the slot */
oom:
	status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	snprintf(why, sizeof why, "out of memory");
fail:
	log_info("stream %s: %s refused: %u %s", req->id, kinds[kind], status, why);
	if (s)
		s->req = NULL; /* freed below */
	sess_free(s);
	free(p);
	free(req);
	release(srv, 0);
	return reply(c, status, why, hname, hvalues);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	log_debug("stream server (libmicrohttpd): %s", msg);
}

static char *read_pem(const char *path, struct lc_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		lc_fail(err, errno, "stream TLS file %s", path);
		return NULL;
	}
	char *data = malloc(1 << 20);
	size_t n = data ? fread(data, 1, (1 << 20) - 1, f) : 0;
	int bad = !data || ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		free(data);
		lc_failc(err, data ? EFBIG : ENOMEM, "stream TLS file %s: unreadable or over 1 MiB", path);
		return NULL;
	}
	data[n] = 0;
	return data;
}

int stream_server_start(const struct stream_config *cfg, const struct stream_backend *be,
			struct stream_server **out, struct lc_err *err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	int v6 = strchr(cfg->address, ':') != NULL;
	if (cfg->port < 0 || cfg->port > 65535)
		return lc_failc(err, EINVAL, "stream port %d is not in 0..65535", cfg->port);
	if (v6 ? inet_pton(AF_INET6, cfg->address, &in6->sin6_addr) != 1
	       : inet_pton(AF_INET, cfg->address, &in4->sin_addr) != 1)
		return lc_failc(err, EINVAL, "stream address %s is not an IPv4 or IPv6 address", LC_Q(cfg->address));
	if (v6) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->port);
	} else {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)cfg->port);
	}
	int tls = cfg->tls_cert && *cfg->tls_cert;
	if (tls != (cfg->tls_key && *cfg->tls_key))
		return lc_failc(err, EINVAL, "stream TLS needs both tls_cert and tls_key");

	struct stream_server *s = calloc(1, sizeof *s);
	if (!s)
		return lc_fail(err, ENOMEM, "stream server");
	s->be = *be;
	s->stop_fd = -1;
	s->idle_ms = (cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : 4 * 3600) * 1000;
	s->stream_timeout_ms = (cfg->stream_timeout_s > 0 ? cfg->stream_timeout_s : 30) * 1000;
	s->max_sessions = cfg->max_sessions > 0 ? cfg->max_sessions : 128;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (tokens_new(cfg->token_ttl_ms, &s->tokens, err) < 0)
		goto fail;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		lc_fail(err, errno, "stream server: eventfd");
		goto fail;
	}
	if (tls && (!(s->cert = read_pem(cfg->tls_cert, err)) || !(s->key = read_pem(cfg->tls_key, err))))
		goto fail;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG |
			 (v6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, s->max_sessions + 64, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert },
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->key },
		{ MHD_OPTION_END, 0, NULL },
	};
	errno = 0;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!s->d) {
		lc_fail(err, errno ? errno : EADDRNOTAVAIL, "stream server on %s port %d%s", cfg->address, cfg->port,
			tls ? " (TLS: check the certificate and key)" : "");
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	int port = info ? info->port : cfg->port;
	snprintf(s->url, sizeof s->url, "%s://%s%s%s:%d", tls ? "https" : "http", v6 ? "[" : "", cfg->address,
		 v6 ? "]" : "", port);
	*out = s;
	return 0;
fail:
	stream_server_stop(s);
	return -1;
}

void stream_server_stop(struct stream_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_mutex_unlock(&s->mu);
	if (s->stop_fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(s->stop_fd, &one, sizeof one);
		(void)n;
	}
	pthread_mutex_lock(&s->mu);
	while (s->running > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (s->d)
		MHD_stop_daemon(s->d);
	tokens_free(s->tokens);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->cert);
	free(s->key);
	free(s);
}

const char *stream_server_url(const struct stream_server *s)
{
	return s->url;
}

int stream_server_mint(struct stream_server *s, const struct stream_request *req, char *url, size_t n,
		       struct lc_err *err)
{
	static const char *const paths[] = { "exec", "attach", "portforward" };
	char tok[TOKEN_LEN + 1];
	if (tokens_add(s->tokens, req, tok, err) < 0)
		return -1;
	if ((size_t)snprintf(url, n, "%s/%s/%s", s->url, paths[req->kind], tok) >= n)
		return lc_failc(err, ENAMETOOLONG, "stream URL");
	return 0;
}

int stream_server_serves(const struct stream_server *s, enum stream_kind kind)
{
	return kind == STREAM_EXEC	 ? s->be.exec_start && s->be.wait && s->be.close
	       : kind == STREAM_ATTACH ? s->be.attach_start && s->be.wait && s->be.close
				       : s->be.port_connect != NULL;
}

int stream_server_sessions(struct stream_server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->running;
	pthread_mutex_unlock(&s->mu);
	return n;
}
