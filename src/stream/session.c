/*
 * session.c — one session's relay: the client's channels ↔ the target's descriptors (see
 * session.h), exec/attach (start, resize, exit status) and port forward (pairs, connects).
 *
 * Exit status (on the error channel, as kubelet writes it): protocol v4 and v5 a metav1.Status
 * JSON — Success; Failure with reason NonZeroExitCode and an ExitCode cause; Failure with reason
 * InternalError when the command could not be run — older protocols the failure's message text
 * and nothing on success.  Attach ends Success when the attachment ends (kubelet's behaviour).
 */
#include "stream/session.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

int64_t sess_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		if (b->off) { /* move the valid bytes to the front first */
			memmove(b->p, b->p + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			while (cap < b->len + n)
				cap *= 2;
			uint8_t *q = realloc(b->p, cap);
			if (!q)
				return -1;
			b->p = q;
			b->cap = cap;
		}
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	assert(n <= buf_avail(b));
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void sess_gone(struct sess *s, const char *fmt, ...)
{
	if (!s->gone) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof s->why, fmt, ap);
		va_end(ap);
	}
	s->gone = 1;
}

static void chan_init(struct chan *c)
{
	memset(c, 0, sizeof *c);
	c->sink_fd = c->src_fd = -1;
	c->window = 65536;
}

int sess_chan_reserve(struct sess *s, size_t n)
{
	if (n <= s->n_ch)
		return 0;
	struct chan *c = realloc(s->ch, n * sizeof *c);
	if (!c)
		return -1;
	for (size_t i = s->n_ch; i < n; i++) {
		chan_init(&c[i]);
		c[i].window = s->init_window;
	}
	s->ch = c;
	s->n_ch = n;
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- exec / attach ---------------------------------------------------------------------------- */

/* One terminal size {"Width":W,"Height":H} per JSON object on the resize channel. */
static void resize_input(struct sess *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s->resize_len == sizeof s->resize)
			s->resize_len = 0; /* not a terminal size: dropped */
		s->resize[s->resize_len++] = (char)p[i];
		if (p[i] != '}')
			continue;
		json_error_t je;
		json_t *o = json_loadb(s->resize, s->resize_len, JSON_DISABLE_EOF_CHECK, &je);
		s->resize_len = 0;
		json_int_t w = -1, h = -1;
		if (o && json_unpack(o, "{s:I,s:I}", "Width", &w, "Height", &h) == 0 && w >= 0 && h >= 0 &&
		    w <= 65535 && h <= 65535 && s->have_io && s->io.tty && s->be->resize) {
			struct lc_err err = { 0 };
			if (s->be->resize(s->be->arg, s->io.handle, (unsigned)w, (unsigned)h, &err) < 0)
				log_warn("stream %s: resize to %lldx%lld: %s", s->req->id, (long long)w, (long long)h,
					 err.msg);
		}
		json_decref(o);
	}
}

void sess_data(struct sess *s, int ch, const uint8_t *p, size_t n)
{
	if (ch < 0 || (size_t)ch >= s->n_ch || !n)
		return;
	struct chan *c = &s->ch[ch];
	if (s->req->kind != STREAM_PORTFORWARD && ch == CH_RESIZE) {
		resize_input(s, p, n);
		s->wire->taken(s, ch, n);
		return;
	}
	int can_sink = s->req->kind == STREAM_PORTFORWARD ? (ch % 2 == 0) : ch == CH_STDIN;
	if (!can_sink || c->client_fin || c->sink_done || (c->sink_fd < 0 && s->started)) {
		s->wire->taken(s, ch, n); /* nowhere to go: dropped */
		return;
	}
	if (buf_put(&c->pend, p, n) < 0)
		sess_gone(s, "out of memory");
}

void sess_fin(struct sess *s, int ch)
{
	if (ch >= 0 && (size_t)ch < s->n_ch)
		s->ch[ch].client_fin = 1;
}

/* Everything the client must open before the target starts (kubelet's expected streams). */
static int exec_streams_ready(const struct sess *s)
{
	const struct stream_req *r = s->req;
	return s->ch[CH_ERROR].open && (!r->in || s->ch[CH_STDIN].open) && (!r->out || s->ch[CH_STDOUT].open) &&
	       (!r->err || r->tty || s->ch[CH_STDERR].open) &&
	       (!r->tty || s->version < 3 || s->ch[CH_RESIZE].open);
}

/* The error channel's last message (see the top of the file), then its end. */
static void send_status(struct sess *s, int exit_code, const char *internal)
{
	if (s->status_sent)
		return;
	s->status_sent = 1;
	char msg[1200] = "";
	if (internal)
		snprintf(msg, sizeof msg, "Internal error occurred: %s", internal);
	else if (exit_code)
		snprintf(msg, sizeof msg, "command terminated with non-zero exit code: exit status %d", exit_code);
	if (s->version >= 4) {
		json_t *o;
		if (internal)
			o = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s}]},s:i}", "metadata", "status", "Failure", "message",
				      msg, "reason", "InternalError", "details", "causes", "message", internal, "code", 500);
		else if (exit_code) {
			char code[16];
			snprintf(code, sizeof code, "%d", exit_code);
			o = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure", "message",
				      msg, "reason", "NonZeroExitCode", "details", "causes", "reason", "ExitCode",
				      "message", code);
		} else
			o = json_pack("{s:{},s:s}", "metadata", "status", "Success");
		char *js = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		if (js)
			s->wire->send(s, CH_ERROR, (const uint8_t *)js, strlen(js), 0);
		free(js);
	} else if (msg[0]) {
		s->wire->send(s, CH_ERROR, (const uint8_t *)msg, strlen(msg), 0);
	}
	s->wire->send(s, CH_ERROR, NULL, 0, 1);
}

static void exec_start(struct sess *s)
{
	const struct stream_req *r = s->req;
	s->started = 1;
	struct stream_target t = { .container_id = r->id, .cmd = r->cmd, .n_cmd = r->n_cmd, .tty = r->tty,
				   .in = r->in, .out = r->out, .err = r->err && !r->tty };
	struct lc_err err = { 0 };
	int (*start)(void *, const struct stream_target *, struct stream_io *, struct lc_err *) =
		r->kind == STREAM_EXEC ? s->be->exec_start : s->be->attach_start;
	memset(&s->io, 0, sizeof s->io);
	s->io.in_fd = s->io.out_fd = s->io.err_fd = -1;
	if (!start) {
		lc_failc(&err, ENOSYS, "this daemon has no container backend for streaming");
	} else if (start(s->be->arg, &t, &s->io, &err) == 0) {
		s->have_io = 1;
		int fds[3] = { s->io.in_fd, s->io.out_fd, s->io.err_fd };
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				set_nonblock(fds[i]);
		s->ch[CH_STDIN].sink_fd = s->io.in_fd;
		s->ch[CH_STDOUT].src_fd = s->io.out_fd;
		s->ch[CH_STDERR].src_fd = s->io.err_fd;
		if (s->io.in_fd < 0)
			s->ch[CH_STDIN].sink_done = 1; /* what the client sends to stdin is dropped */
		log_info("stream %s: %s started (tty %d, stdin %d, stdout %d, stderr %d)", r->id,
			 r->kind == STREAM_EXEC ? "exec" : "attach", r->tty, s->io.in_fd >= 0, s->io.out_fd >= 0,
			 s->io.err_fd >= 0);
		return;
	}
	s->start_failed = 1;
	log_info("stream %s: %s failed: %s", r->id, r->kind == STREAM_EXEC ? "exec" : "attach", err.msg);
	char m[1100];
	snprintf(m, sizeof m, "error %s container: %s", r->kind == STREAM_EXEC ? "executing command in" : "attaching to",
		 err.msg);
	send_status(s, 0, m);
	s->wire->finish(s);
}

static void *waiter_main(void *arg)
{
	struct sess *s = arg;
	s->wait_rc = s->be->wait(s->be->arg, s->io.handle, &s->exit_code, &s->wait_err);
	uint64_t one = 1;
	ssize_t n = write(s->wait_fd, &one, sizeof one);
	(void)n;
	return NULL;
}

static int out_done(const struct chan *c)
{
	return c->src_fd < 0 || c->src_eof;
}

/* Exec/attach: start once the streams are there, wait once the output ended, then the status. */
static void exec_step(struct sess *s)
{
	if (!s->started) {
		if (exec_streams_ready(s))
			exec_start(s);
		else if (s->proto == WIRE_SPDY && sess_now_ms() - s->start_ms > s->stream_timeout_ms)
			sess_gone(s, "timed out waiting for the client to create its streams");
		return;
	}
	if (!s->have_io || s->status_sent)
		return;
	if (!s->waiting && s->wait_fd < 0 && out_done(&s->ch[CH_STDOUT]) && out_done(&s->ch[CH_STDERR])) {
		s->wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->wait_fd < 0 || pthread_create(&s->waiter, NULL, waiter_main, s) != 0) {
			sess_gone(s, "cannot start a thread: %s", strerror(errno));
			return;
		}
		s->waiting = 1;
	}
}

/* The waiter reported: join it, send the status, end the session. */
static void exec_waited(struct sess *s)
{
	pthread_join(s->waiter, NULL);
	s->waiting = 0;
	if (s->wait_rc < 0) {
		log_warn("stream %s: waiting for the process: %s", s->req->id, s->wait_err.msg);
		send_status(s, 0, s->wait_err.msg);
	} else {
		log_info("stream %s: %s ended (exit code %d)", s->req->id,
			 s->req->kind == STREAM_EXEC ? "exec" : "attach", s->exit_code);
		send_status(s, s->req->kind == STREAM_EXEC ? s->exit_code : 0, NULL);
	}
	s->wire->finish(s);
}

/* ---- port forward ----------------------------------------------------------------------------- */

static void pf_error(struct sess *s, int k, const char *msg)
{
	struct chan *e = &s->ch[2 * k + 1];
	if (e->open && !e->fin_sent) {
		s->wire->send(s, 2 * k + 1, (const uint8_t *)msg, strlen(msg), 0);
	}
}

/* Close pair k's socket and forget it (its slot is reused by the next requestID). */
static void pf_free(struct sess *s, int k)
{
	struct chan *d = &s->ch[2 * k], *e = &s->ch[2 * k + 1];
	if (d->src_fd >= 0)
		close(d->src_fd);
	buf_free(&d->pend);
	buf_free(&e->pend);
	chan_init(d);
	chan_init(e);
	d->window = e->window = s->init_window;
}

static void pf_connect(struct sess *s, int k)
{
	struct chan *d = &s->ch[2 * k];
	int fd = -1;
	struct lc_err err = { 0 };
	if (d->port < 1 || d->port > 65535)
		lc_failc(&err, EINVAL, "invalid port %d", d->port);
	else if (!s->be->port_connect)
		lc_failc(&err, ENOSYS, "this daemon has no container backend for streaming");
	if (!err.errnum && s->be->port_connect(s->be->arg, s->req->id, d->port, &fd, &err) == 0) {
		set_nonblock(fd);
		d->src_fd = d->sink_fd = fd;
		log_debug("stream %s: forwarding port %d", s->req->id, d->port);
		return;
	}
	char msg[1200];
	snprintf(msg, sizeof msg, "error forwarding port %d to pod %s: %s", d->port, s->req->id, err.msg);
	log_info("stream: %s", msg);
	pf_error(s, k, msg);
	d->src_eof = 1; /* nothing to relay: the pair ends */
	d->sink_done = 1;
}

int sess_pf_stream(struct sess *s, const char *reqid, int is_error, int port, uint32_t sid)
{
	size_t pairs = s->n_ch / 2, k, free_k = pairs;
	for (k = 0; k < pairs; k++) {
		struct chan *d = &s->ch[2 * k], *e = &s->ch[2 * k + 1];
		if ((d->open || e->open) && !strcmp(d->reqid, reqid))
			break;
		if (!d->open && !e->open && free_k == pairs)
			free_k = k;
	}
	if (k == pairs) { /* a new pair */
		k = free_k;
		if (k == pairs) {
			if (pairs >= SESS_MAX_PAIRS || sess_chan_reserve(s, 2 * (pairs + 1)) < 0)
				return -1;
		}
		snprintf(s->ch[2 * k].reqid, sizeof s->ch[2 * k].reqid, "%s", reqid);
		s->ch[2 * k].opened_ms = sess_now_ms();
	}
	struct chan *c = &s->ch[2 * k + (is_error ? 1 : 0)];
	if (c->open)
		return -1;
	c->open = 1;
	c->sid = sid;
	if (!is_error)
		c->port = port;
	return (int)(2 * k + (is_error ? 1 : 0));
}

/* Port forward: connect complete pairs, end finished ones, time out incomplete ones. */
static void pf_step(struct sess *s)
{
	int64_t now = sess_now_ms();
	int live = 0;
	for (size_t k = 0; k < s->n_ch / 2; k++) {
		struct chan *d = &s->ch[2 * k], *e = &s->ch[2 * k + 1];
		if (!d->open && !e->open)
			continue;
		if (!d->open || !e->open) { /* half a pair */
			if (now - d->opened_ms > s->stream_timeout_ms) {
				pf_error(s, (int)k, "timed out waiting for streams");
				s->wire->send(s, (int)(2 * k + 1), NULL, 0, 1);
				s->wire->send(s, (int)(2 * k), NULL, 0, 1);
				pf_free(s, (int)k);
			} else {
				live++;
			}
			continue;
		}
		if (d->src_fd < 0 && !d->src_eof)
			pf_connect(s, (int)k);
		if (d->src_eof && !d->fin_sent)
			s->wire->send(s, (int)(2 * k), NULL, 0, 1);
		if (d->src_eof && !e->fin_sent)
			s->wire->send(s, (int)(2 * k + 1), NULL, 0, 1);
		/* SPDY: done when the client has ended its side too; WebSocket has no such end */
		if (d->src_eof && (s->proto == WIRE_WS || d->reset || (d->client_fin && !buf_avail(&d->pend)) ||
				   d->sink_done))
			pf_free(s, (int)k);
		else
			live++;
	}
	if (s->proto == WIRE_WS && !live && !s->status_sent) {
		s->status_sent = 1;
		s->wire->finish(s);
	}
}

/* WebSocket port forward: every port of the query (or of the CRI request) at once. */
static int pf_ws_open(struct sess *s, const int32_t *ports, size_t n)
{
	if (sess_chan_reserve(s, 2 * n) < 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		struct chan *d = &s->ch[2 * k], *e = &s->ch[2 * k + 1];
		d->open = e->open = 1;
		d->port = ports[k];
		uint8_t le[2] = { (uint8_t)(ports[k] & 0xff), (uint8_t)(ports[k] >> 8) };
		s->wire->send(s, (int)(2 * k), le, 2, 0);
		s->wire->send(s, (int)(2 * k + 1), le, 2, 0);
		pf_connect(s, (int)k);
	}
	return 0;
}

/* ---- the loop --------------------------------------------------------------------------------- */

/* Write what the client sent to the channel's target; end the target's input after the client's
 * end. */
static void sink_flush(struct sess *s, int ch)
{
	struct chan *c = &s->ch[ch];
	while (buf_avail(&c->pend) && c->sink_fd >= 0 && !c->sink_done) {
		ssize_t n = write(c->sink_fd, c->pend.p + c->pend.off, buf_avail(&c->pend));
		if (n > 0) {
			buf_consume(&c->pend, (size_t)n);
			s->wire->taken(s, ch, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		c->sink_done = 1; /* the target stopped taking input (EPIPE...): dropped */
	}
	if (c->sink_done && buf_avail(&c->pend)) {
		s->wire->taken(s, ch, buf_avail(&c->pend));
		buf_consume(&c->pend, buf_avail(&c->pend));
	}
	if (!c->client_fin || buf_avail(&c->pend) || c->sink_done || c->sink_fd < 0)
		return;
	c->sink_done = 1;
	if (s->req->kind == STREAM_PORTFORWARD) {
		shutdown(c->sink_fd, SHUT_WR);
	} else if (c->sink_fd != s->io.out_fd && c->sink_fd != s->io.err_fd) {
		close(c->sink_fd); /* stdin's EOF (a terminal's input is not closed: it is its output too) */
		s->io.in_fd = -1;
		c->sink_fd = -1;
	}
}

/* Read the channel's source and frame it for the client. */
static void src_read(struct sess *s, int ch)
{
	struct chan *c = &s->ch[ch];
	uint8_t b[SESS_CHUNK];
	size_t want = sizeof b;
	if (s->peer_flow && c->window < (int64_t)want)
		want = c->window > 0 ? (size_t)c->window : 0;
	if (s->peer_flow && s->sess_window < (int64_t)want)
		want = s->sess_window > 0 ? (size_t)s->sess_window : 0;
	if (!want)
		return;
	ssize_t n = read(c->src_fd, b, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	s->last_ms = sess_now_ms();
	if (n > 0) {
		s->wire->send(s, ch, b, (size_t)n, 0);
		return;
	}
	c->src_eof = 1; /* EOF, or EIO: a terminal whose last process has gone */
	if (s->req->kind != STREAM_PORTFORWARD)
		s->wire->send(s, ch, NULL, 0, 1);
}

static int rx_allowed(const struct sess *s)
{
	if (buf_avail(&s->tx) >= SESS_TX_HIGH)
		return 0;
	for (size_t i = 0; i < s->n_ch; i++)
		if (buf_avail(&s->ch[i].pend) >= SESS_PEND_MAX)
			return 0;
	return 1;
}

static int src_allowed(const struct sess *s, const struct chan *c)
{
	if (c->src_fd < 0 || c->src_eof || buf_avail(&s->tx) >= SESS_TX_HIGH)
		return 0;
	return !s->peer_flow || (c->window > 0 && s->sess_window > 0);
}

static void sock_read(struct sess *s)
{
	uint8_t b[64 * 1024];
	ssize_t n = recv(s->fd, b, sizeof b, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sess_gone(s, n == 0 ? "the client closed the connection" : "reading from the client: %s", strerror(errno));
		s->sock_dead = 1;
		return;
	}
	s->last_ms = sess_now_ms();
	if (buf_put(&s->rx, b, (size_t)n) < 0) {
		sess_gone(s, "out of memory");
		return;
	}
	s->wire->input(s);
}

/* 0, or -1 once the client cannot be written to. */
static int sock_write(struct sess *s)
{
	while (buf_avail(&s->tx)) {
		ssize_t n = send(s->fd, s->tx.p + s->tx.off, buf_avail(&s->tx), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&s->tx, (size_t)n);
			s->last_ms = sess_now_ms();
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		sess_gone(s, "writing to the client: %s", strerror(errno));
		s->sock_dead = 1;
		return -1;
	}
	return 0;
}

/* Let the client read what was sent and close its side, within a bound: a close with unread
 * input would reset the connection and could lose the last bytes (the exit status). */
static void linger(struct sess *s)
{
	int64_t end = sess_now_ms() + 5000;
	while (buf_avail(&s->tx) && sess_now_ms() < end) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return;
		if (sock_write(s) < 0)
			return;
	}
	shutdown(s->fd, SHUT_WR);
	end = sess_now_ms() + 2000;
	for (;;) {
		int64_t left = end - sess_now_ms();
		if (left <= 0)
			return;
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		uint8_t b[4096];
		ssize_t n = recv(s->fd, b, sizeof b, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

/* End the target: an exec'd command still running is killed by the backend's close. */
static void target_end(struct sess *s)
{
	if (s->have_io) {
		if (s->waiting) {
			/* the backend is waiting for the process: end it (a command that ignores the end of
			 * its input would otherwise hold the session, and a daemon's stop, until it exits) */
			if (s->io.in_fd >= 0 && s->io.in_fd != s->io.out_fd && s->io.in_fd != s->io.err_fd) {
				close(s->io.in_fd);
				s->io.in_fd = -1;
			}
			s->be->kill(s->be->arg, s->io.handle);
			pthread_join(s->waiter, NULL);
			s->waiting = 0;
		}
		s->be->close(s->be->arg, s->io.handle);
		int fds[3] = { s->io.in_fd, s->io.out_fd, s->io.err_fd };
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0 && (i == 0 || fds[i] != fds[0]) && (i < 2 || fds[i] != fds[1]))
				close(fds[i]);
		s->have_io = 0;
	}
	if (s->req->kind == STREAM_PORTFORWARD)
		for (size_t k = 0; k < s->n_ch / 2; k++)
			pf_free(s, (int)k);
}

void sess_run(struct sess *s)
{
	s->start_ms = s->last_ms = sess_now_ms();
	s->wait_fd = -1;
	s->ws_msg_ch = -1;
	set_nonblock(s->fd);
	const struct stream_req *r = s->req;
	int ok = 1;
	if (r->kind == STREAM_PORTFORWARD) {
		if (s->proto == WIRE_WS)
			ok = pf_ws_open(s, s->ports, s->n_ports) == 0;
	} else {
		ok = sess_chan_reserve(s, CH_EXEC_N) == 0;
		if (ok && s->proto == WIRE_WS) {
			/* every channel exists at once; an empty message on the first one the client reads
			 * tells it the session is established (kubelet) */
			s->ch[CH_STDIN].open = r->in;
			s->ch[CH_STDOUT].open = r->out;
			s->ch[CH_STDERR].open = r->err && !r->tty;
			s->ch[CH_ERROR].open = s->ch[CH_RESIZE].open = 1;
			s->wire->send(s, r->out ? CH_STDOUT : s->ch[CH_STDERR].open ? CH_STDERR : CH_ERROR, NULL, 0, 0);
		}
	}
	if (!ok)
		sess_gone(s, "out of memory");
	if (buf_avail(&s->rx)) /* what the client sent with its request */
		s->wire->input(s);

	while (!s->gone && !s->status_sent) {
		if (r->kind == STREAM_PORTFORWARD)
			pf_step(s);
		else
			exec_step(s);
		if (s->gone || s->status_sent)
			break;
		for (size_t i = 0; i < s->n_ch; i++)
			sink_flush(s, (int)i);

		struct pollfd pfd[3 + 2 * 2 * SESS_MAX_PAIRS + 8];
		int idx[sizeof pfd / sizeof pfd[0]];
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->fd,
					    .events = (short)((rx_allowed(s) ? POLLIN : 0) |
							      (buf_avail(&s->tx) ? POLLOUT : 0)) };
		pfd[n++] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->waiting ? s->wait_fd : -1, .events = POLLIN };
		for (size_t i = 0; i < s->n_ch; i++) {
			struct chan *c = &s->ch[i];
			if (src_allowed(s, c)) {
				idx[n] = (int)i;
				pfd[n++] = (struct pollfd){ .fd = c->src_fd, .events = POLLIN };
			}
			if (c->sink_fd >= 0 && !c->sink_done && buf_avail(&c->pend)) {
				idx[n] = (int)i;
				pfd[n++] = (struct pollfd){ .fd = c->sink_fd, .events = POLLOUT };
			}
		}
		int64_t now = sess_now_ms();
		int64_t wait = s->last_ms + s->idle_ms - now;
		if (wait <= 0) {
			sess_gone(s, "idle for %d s", s->idle_ms / 1000);
			break;
		}
		if (wait > 1000)
			wait = 1000; /* stream and pair timeouts are checked each second */
		int rc = poll(pfd, n, (int)wait);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			sess_gone(s, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			sess_gone(s, "the daemon is stopping");
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			sock_read(s);
		if (pfd[2].revents) {
			uint64_t v;
			ssize_t rr = read(s->wait_fd, &v, sizeof v);
			(void)rr;
			exec_waited(s);
		}
		for (nfds_t i = 3; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct chan *c = &s->ch[idx[i]];
			if (pfd[i].events & POLLIN) {
				if (c->src_fd == pfd[i].fd && !c->src_eof)
					src_read(s, idx[i]);
			}
		}
		if (buf_avail(&s->tx))
			sock_write(s);
	}
	if (s->why[0] && !s->status_sent)
		log_info("stream %s: session ended: %s", r->id, s->why);
	target_end(s);
	if (!s->status_sent && !s->sock_dead)
		s->wire->finish(s); /* ended here (idle, stopping, a protocol error): GOAWAY, close frame */
	if (s->wait_fd >= 0)
		close(s->wait_fd);
	if (!s->sock_dead)
		linger(s);
	for (size_t i = 0; i < s->n_ch; i++)
		buf_free(&s->ch[i].pend);
	free(s->ch);
	s->ch = NULL;
	s->n_ch = 0;
}
