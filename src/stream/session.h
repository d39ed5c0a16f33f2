/*
 * session.h — one upgraded connection of the streaming server (internal to src/stream/).
 *
 * A session is a thread polling the client's socket and the descriptors of its target (the exec'd
 * process's, an attachment's, forwarded sockets).  The bytes are carried on numbered channels, as
 * kubelet's WebSocket protocol numbers them:
 *   exec/attach   0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize
 *   port forward  2k data, 2k+1 error of the k-th port (WebSocket: the k-th port of the query;
 *                 SPDY: the k-th requestID pair open now)
 * The wire protocol (spdy.c, ws.c) turns frames into channel events (sess_data, sess_fin) and
 * channel output into frames (struct wire.send); session.c relays.
 *
 * Memory is bounded: the socket is not read while a channel still holds SESS_PEND_MAX bytes the
 * target has not taken or while SESS_TX_HIGH bytes wait for the client; a target descriptor is
 * not read while SESS_TX_HIGH bytes wait for the client (nor, in SPDY, while the client's window
 * for the channel is closed, once the client has shown it keeps windows).
 */
#ifndef LITECRI_STREAM_SESSION_H
#define LITECRI_STREAM_SESSION_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "stream/backend.h"
#include "stream/token.h"

#define SESS_TX_HIGH (256 * 1024) /* bytes waiting for the client before targets are not read */
#define SESS_PEND_MAX (64 * 1024) /* bytes one channel holds for its target before the socket is not read */
#define SESS_CHUNK (32 * 1024)    /* one read from a target: one frame */
#define SESS_FRAME_MAX (1 << 20)  /* the largest frame accepted from a client */
#define SESS_MAX_PAIRS 64         /* port forward: connections forwarded at once in one session */

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_EXEC_N = 5 };

enum wire_kind { WIRE_SPDY, WIRE_WS };

struct buf {
	uint8_t *p;
	size_t off, len, cap; /* valid bytes are p[off .. len) */
};

int buf_put(struct buf *b, const void *p, size_t n);
static inline size_t buf_avail(const struct buf *b) { return b->len - b->off; }
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

struct chan {
	int open;        /* the client has this channel (its SPDY stream arrived; WebSocket: always) */
	uint32_t sid;    /* SPDY stream ID */
	int sink_fd;     /* client bytes go here (-1: none) */
	int src_fd;      /* bytes read here go to the client (-1: none) */
	struct buf pend; /* client bytes not yet taken by sink_fd */
	int client_fin;  /* the client ended its side (FIN, v5 close, reset) */
	int sink_done;   /* sink_fd closed or shut down for writing */
	int src_eof;     /* src_fd reached EOF */
	int fin_sent;    /* our side ended (FIN sent) */
	int reset;       /* the client reset the stream: what we would send is dropped */
	int64_t window;  /* SPDY: what the client still accepts on this stream */
	uint32_t unacked; /* SPDY: bytes taken by the target, not yet returned with WINDOW_UPDATE */
	/* port forward */
	int port;
	char reqid[64];
	int64_t opened_ms; /* the first stream of the pair arrived (its partner gets stream_timeout) */
};

struct stream_server;
struct wire;

struct sess {
	struct stream_server *srv;
	const struct stream_backend *be;
	struct stream_req *req; /* owned */
	enum wire_kind proto;
	const struct wire *wire;
	int sock_dead; /* the client closed the connection or it failed: nothing more is written */
	int version;  /* exec/attach: 1..5 (channel.k8s.io .. v5.channel.k8s.io); port forward: 1 */
	int base64;   /* WebSocket base64.channel.k8s.io flavours */
	int fd;       /* the client's socket (MHD's: closed through urh) */
	void *urh;    /* struct MHD_UpgradeResponseHandle */
	int stop_fd;  /* the server's: readable once it stops */
	int idle_ms, stream_timeout_ms;
	struct buf rx, tx;
	struct chan *ch;
	size_t n_ch;
	int64_t start_ms, last_ms;
	int gone;     /* the client left (EOF, error, GOAWAY, close frame): stop */
	char why[160]; /* why the session ended early, for the log */

	/* exec/attach */
	int started;          /* the backend's start was called */
	int start_failed;
	struct stream_io io;
	int have_io;
	pthread_t waiter;
	int waiting;          /* the waiter thread runs backend wait */
	int wait_fd;          /* eventfd: the waiter is done */
	int wait_rc, exit_code;
	struct lc_err wait_err;
	char resize[256];
	size_t resize_len;
	int status_sent;

	/* SPDY */
	z_stream zin, zout;
	int z_ready;
	int peer_flow;        /* the client sent WINDOW_UPDATE: its windows are kept */
	int64_t init_window;  /* SETTINGS_INITIAL_WINDOW_SIZE of the client */
	int64_t sess_window;  /* SPDY/3.1 session window of the client */
	uint32_t last_sid;    /* the highest stream ID the client opened */

	/* WebSocket */
	int ws_in_msg;        /* a data message is being received (fragments follow) */
	int ws_msg_ch;        /* its channel (-1: not known yet) */
	int ws_msg_text;
	struct buf ws_msg;    /* base64 message being assembled */
	int ws_close_sent;
	int32_t *ports;       /* port forward over WebSocket: the ports, in channel order */
	size_t n_ports;
};

/* The wire protocol's side of a session. */
struct wire {
	/* Parse frames from s->rx, calling sess_data/sess_fin/sess_open; -1 (s->why set) on a protocol
	 * error. */
	int (*input)(struct sess *s);
	/* Frame n bytes (n may be 0) of channel ch into s->tx; fin: our side of ch ends with them. */
	void (*send)(struct sess *s, int ch, const uint8_t *p, size_t n, int fin);
	/* The target took n bytes of channel ch (SPDY returns them to the window). */
	void (*taken)(struct sess *s, int ch, size_t n);
	/* The session ends normally (GOAWAY, close frame). */
	void (*finish)(struct sess *s);
};

extern const struct wire spdy_wire, ws_wire;

/* Client → session events. */
void sess_data(struct sess *s, int ch, const uint8_t *p, size_t n);
void sess_fin(struct sess *s, int ch);
/* SPDY port forward: a data (is_error 0) or error stream of pair reqid for port arrived: the
 * channel it is, or -1 (too many pairs: refused). */
int sess_pf_stream(struct sess *s, const char *reqid, int is_error, int port, uint32_t sid);
/* A channel index, growing the table; -1 on ENOMEM. */
int sess_chan_reserve(struct sess *s, size_t n);
int64_t sess_now_ms(void);
/* Stop with a reason (first one kept), as a protocol error or a client that left. */
void sess_gone(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run the session to its end and free it (the thread's body). */
void sess_run(struct sess *s);

/* SPDY: zlib streams of the connection. */
int spdy_init(struct sess *s);
void spdy_free(struct sess *s);

/* WebSocket: Sec-WebSocket-Accept for key (28 characters + NUL). */
void ws_accept_key(const char *key, char out[29]);

#endif
