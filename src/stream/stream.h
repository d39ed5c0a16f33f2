/*
 * stream.h — the streaming server: the HTTP endpoint kubelet's clients (kubectl, client-go) connect
 * to for Exec, Attach and PortForward, with the URL the CRI call returned.  See docs/streaming.md.
 *
 * A CRI handler validates the request and mints a token for it (stream_server_mint): the request
 * is kept in memory, under a random 128-bit token, for one use within the token lifetime (1
 * minute).  The client then upgrades a GET/POST on /exec/TOKEN, /attach/TOKEN or
 * /portforward/TOKEN to SPDY/3.1 or to a WebSocket (RFC 6455); a thread of the server runs the
 * session, relaying bytes between the client and the descriptors the backend (stream/backend.h)
 * hands out.  The layer knows HTTP, SPDY and WebSocket and nothing of containers.
 */
#ifndef LITECRI_STREAM_STREAM_H
#define LITECRI_STREAM_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "stream/backend.h"
#include "util/err.h"

struct stream_server;

struct stream_config {
	const char *address;   /* IPv4 or IPv6 literal to listen on (e.g. "127.0.0.1") */
	int port;              /* 0: any free port (stream_server_url tells which) */
	const char *tls_cert;  /* PEM files; both or neither (NULL/""): then plain HTTP */
	const char *tls_key;
	int idle_timeout_s;    /* a session without a byte either way for this long is ended */
	int max_sessions;      /* upgraded connections at once; more are answered 503 */
	int token_ttl_ms;      /* an unused token expires after this (0: 60000) */
	int stream_timeout_s;  /* SPDY: time the client gets to open its streams (0: 30) */
};

enum stream_kind { STREAM_EXEC, STREAM_ATTACH, STREAM_PORTFORWARD };

/* What a token stands for, as the CRI handler validated it. */
struct stream_request {
	enum stream_kind kind;
	const char *id;           /* exec, attach: the container's full ID; port forward: the pod's */
	char *const *cmd;         /* exec: n_cmd >= 1 */
	size_t n_cmd;
	int tty, in, out, err;    /* exec, attach */
	const int32_t *ports;     /* port forward: the CRI request's ports (WebSocket clients may
				   * name theirs in the query instead) */
	size_t n_ports;
};

/*
 * Listen on cfg->address:cfg->port and serve sessions with backend be (copied; be->arg must live
 * until stream_server_stop).  Fails (EADDRINUSE, EACCES, a TLS file unreadable...) naming the
 * address.
 */
int stream_server_start(const struct stream_config *cfg, const struct stream_backend *be,
			struct stream_server **out, struct lc_err *err);

/*
 * End every session (an exec'd command is killed through the backend's close, an attachment
 * detached, forwarded connections closed), wait for their threads, stop listening, free s.
 * NULL-safe.
 */
void stream_server_stop(struct stream_server *s);

/* "http://ADDR:PORT" (https with TLS; IPv6 in brackets): the base of every URL minted. */
const char *stream_server_url(const struct stream_server *s);

/*
 * Keep a copy of req under a new single-use token and write the session's URL
 * ("<base>/exec/TOKEN", ".../attach/TOKEN", ".../portforward/TOKEN") to url.  ENOMEM; EAGAIN when
 * too many tokens are waiting to be used (each expires after the token lifetime).
 */
int stream_server_mint(struct stream_server *s, const struct stream_request *req, char *url, size_t n,
		       struct lc_err *err);

/* 1 when the backend has what sessions of kind need (exec_start, attach_start, port_connect). */
int stream_server_serves(const struct stream_server *s, enum stream_kind kind);

/* Sessions running now (for Status and tests). */
int stream_server_sessions(struct stream_server *s);

#endif
