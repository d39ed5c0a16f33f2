/*
 * spdy.c — SPDY/3.1 (the framing of kubelet's and kubectl's "SPDY/3.1" upgrade, spdystream's):
 * frames, zlib header compression with SPDY/3's dictionary, streams named by their streamType
 * header, flow control.
 *
 * The client opens every stream (odd IDs) and the server answers each with SYN_REPLY.  Windows:
 * what a client sends is returned to it with WINDOW_UPDATE (stream and session) as the target
 * takes it; what the server sends is held to the client's windows once the client has sent a
 * WINDOW_UPDATE — spdystream, under kubectl and kubelet alike, never sends one and ignores
 * windows, so with it TCP alone pushes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream/session.h"
#include "util/log.h"

enum {
	SYN_STREAM = 1, SYN_REPLY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, HEADERS = 8,
	WINDOW_UPDATE = 9,
};
enum { FLAG_FIN = 1 };
enum { RST_PROTOCOL_ERROR = 1, RST_REFUSED_STREAM = 3 };
#define SETTINGS_INITIAL_WINDOW_SIZE 7
#define HEADER_BLOCK_MAX (64 * 1024) /* the largest decompressed header block accepted */

/* SPDY/3's header compression dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1). */
static const unsigned char dictionary[] =
	"\000\000\000\007options\000\000\000\004head\000\000\000\004post\000\000\000\003put\000"
	"\000\000\006delete\000\000\000\005trace\000\000\000\006accept\000\000\000\016accept-c"
	"harset\000\000\000\017accept-encoding\000\000\000\017accept-language\000\000\000\015a"
	"ccept-ranges\000\000\000\003age\000\000\000\005allow\000\000\000\015authorization\000"
	"\000\000\015cache-control\000\000\000\012connection\000\000\000\014content-base\000\000"
	"\000\020content-encoding\000\000\000\020content-language\000\000\000\016content-lengt"
	"h\000\000\000\020content-location\000\000\000\013content-md5\000\000\000\015content-r"
	"ange\000\000\000\014content-type\000\000\000\004date\000\000\000\004etag\000\000\000\006"
	"expect\000\000\000\007expires\000\000\000\004from\000\000\000\004host\000\000\000\010"
	"if-match\000\000\000\021if-modified-since\000\000\000\015if-none-match\000\000\000\010"
	"if-range\000\000\000\023if-unmodified-since\000\000\000\015last-modified\000\000\000\010"
	"location\000\000\000\014max-forwards\000\000\000\006pragma\000\000\000\022proxy-authe"
	"nticate\000\000\000\023proxy-authorization\000\000\000\005range\000\000\000\007refere"
	"r\000\000\000\013retry-after\000\000\000\006server\000\000\000\002te\000\000\000\007t"
	"railer\000\000\000\021transfer-encoding\000\000\000\007upgrade\000\000\000\012user-ag"
	"ent\000\000\000\004vary\000\000\000\003via\000\000\000\007warning\000\000\000\020www-"
	"authenticate\000\000\000\006method\000\000\000\003get\000\000\000\006status\000\000\000"
	"\006200 OK\000\000\000\007version\000\000\000\010HTTP/1.1\000\000\000\003url\000\000\000"
	"\006public\000\000\000\012set-cookie\000\000\000\012keep-alive\000\000\000\006origin1"
	"0010120120220520630030230330430530630740240540640740840941041141241341441541641750250"
	"4505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Reque"
	"st401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemen"
	"ted503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 M"
	"on, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
	"application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age"
	"=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

int spdy_init(struct sess *s)
{
	memset(&s->zin, 0, sizeof s->zin);
	memset(&s->zout, 0, sizeof s->zout);
	if (inflateInit(&s->zin) != Z_OK)
		return -1;
	if (deflateInit(&s->zout, Z_BEST_COMPRESSION) != Z_OK) {
		inflateEnd(&s->zin);
		return -1;
	}
	if (deflateSetDictionary(&s->zout, dictionary, sizeof dictionary - 1) != Z_OK) {
		inflateEnd(&s->zin);
		deflateEnd(&s->zout);
		return -1;
	}
	s->z_ready = 1;
	s->init_window = s->sess_window = 65536;
	return 0;
}

void spdy_free(struct sess *s)
{
	if (!s->z_ready)
		return;
	inflateEnd(&s->zin);
	deflateEnd(&s->zout);
	s->z_ready = 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void control(struct sess *s, int type, int flags, const uint8_t *body, size_t n)
{
	uint8_t h[8] = { 0x80, 3, (uint8_t)(type >> 8), (uint8_t)type, (uint8_t)flags, (uint8_t)(n >> 16),
			 (uint8_t)(n >> 8), (uint8_t)n };
	if (buf_put(&s->tx, h, 8) < 0 || buf_put(&s->tx, body, n) < 0)
		sess_gone(s, "out of memory");
}

static void rst(struct sess *s, uint32_t sid, uint32_t status)
{
	uint8_t b[8];
	put32(b, sid);
	put32(b + 4, status);
	control(s, RST_STREAM, 0, b, 8);
}

static void window_update(struct sess *s, uint32_t sid, uint32_t delta)
{
	uint8_t b[8];
	put32(b, sid);
	put32(b + 4, delta);
	control(s, WINDOW_UPDATE, 0, b, 8);
}

/* SYN_REPLY without headers: the stream is accepted (spdystream's reply). */
static void syn_reply(struct sess *s, uint32_t sid)
{
	uint8_t raw[4] = { 0 }, out[64 + 4];
	put32(out, sid);
	s->zout.next_in = raw;
	s->zout.avail_in = sizeof raw;
	s->zout.next_out = out + 4;
	s->zout.avail_out = sizeof out - 4;
	if (deflate(&s->zout, Z_SYNC_FLUSH) != Z_OK || s->zout.avail_in || !s->zout.avail_out) {
		sess_gone(s, "SPDY header compression failed");
		return;
	}
	control(s, SYN_REPLY, 0, out, sizeof out - s->zout.avail_out);
}

/* Inflate a header block (the connection's one zlib stream) into out; its length, or -1. */
static long inflate_block(struct sess *s, const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	s->zin.next_in = (uint8_t *)p;
	s->zin.avail_in = (uInt)n;
	size_t used = 0;
	while (s->zin.avail_in) {
		if (used == cap)
			return -1;
		s->zin.next_out = out + used;
		s->zin.avail_out = (uInt)(cap - used);
		int r = inflate(&s->zin, Z_SYNC_FLUSH);
		if (r == Z_NEED_DICT) {
			if (inflateSetDictionary(&s->zin, dictionary, sizeof dictionary - 1) != Z_OK)
				return -1;
			r = Z_OK;
		}
		used = cap - s->zin.avail_out;
		if (r == Z_BUF_ERROR && s->zin.avail_in == 0)
			break;
		if (r != Z_OK)
			return -1;
	}
	return (long)used;
}

struct hdrs {
	char type[16], port[16], reqid[64];
};

/* Copy the first value of a header we use (values may hold several, NUL-separated). */
static void hdr_value(char *dst, size_t cap, const uint8_t *v, uint32_t vl)
{
	size_t n = strnlen((const char *)v, vl);
	if (n >= cap)
		n = 0; /* too long to be valid: as if absent */
	memcpy(dst, v, n);
	dst[n] = 0;
}

/* The header block of a SYN_STREAM/HEADERS; -1 when it does not decode. */
static int headers(struct sess *s, const uint8_t *p, size_t n, struct hdrs *h)
{
	uint8_t block[HEADER_BLOCK_MAX]; /* on the session thread's stack */
	long len = inflate_block(s, p, n, block, sizeof block);
	if (len < 4)
		return -1;
	memset(h, 0, sizeof *h);
	uint32_t count = get32(block);
	size_t at = 4;
	for (uint32_t i = 0; i < count; i++) {
		if (at + 4 > (size_t)len)
			return -1;
		uint32_t nl = get32(block + at);
		if (nl > (size_t)len - at - 4)
			return -1;
		const char *name = (const char *)block + at + 4;
		at += 4 + nl;
		if (at + 4 > (size_t)len)
			return -1;
		uint32_t vl = get32(block + at);
		if (vl > (size_t)len - at - 4)
			return -1;
		const uint8_t *v = block + at + 4;
		at += 4 + vl;
		if (nl == 10 && !strncasecmp(name, "streamtype", 10))
			hdr_value(h->type, sizeof h->type, v, vl);
		else if (nl == 4 && !strncasecmp(name, "port", 4))
			hdr_value(h->port, sizeof h->port, v, vl);
		else if (nl == 9 && !strncasecmp(name, "requestid", 9))
			hdr_value(h->reqid, sizeof h->reqid, v, vl);
	}
	return 0;
}

static int chan_of(struct sess *s, uint32_t sid)
{
	for (size_t i = 0; i < s->n_ch; i++)
		if (s->ch[i].open && s->ch[i].sid == sid)
			return (int)i;
	return -1;
}

static void syn_stream(struct sess *s, int flags, const uint8_t *p, size_t n)
{
	if (n < 10) {
		sess_gone(s, "SPDY protocol error: short SYN_STREAM");
		return;
	}
	uint32_t sid = get32(p) & 0x7fffffff;
	struct hdrs h;
	if (headers(s, p + 10, n - 10, &h) < 0) {
		sess_gone(s, "SPDY protocol error: a header block does not decode");
		return;
	}
	if (sid % 2 == 0 || sid <= s->last_sid) {
		rst(s, sid, RST_PROTOCOL_ERROR);
		return;
	}
	s->last_sid = sid;
	int ch = -1;
	if (s->req->kind == STREAM_PORTFORWARD) {
		int is_error = !strcmp(h.type, "error");
		if (!is_error && strcmp(h.type, "data")) {
			log_debug("stream %s: SPDY stream %u of unknown type \"%s\" ignored", s->req->id, sid, h.type);
		} else {
			char reqid[64];
			if (h.reqid[0]) /* old clients send none: streams come in pairs, error first */
				snprintf(reqid, sizeof reqid, "%s", h.reqid);
			else
				snprintf(reqid, sizeof reqid, "%u", is_error ? sid : sid - 2);
			char *end;
			long port = strtol(h.port, &end, 10);
			if (!h.port[0] || *end || port < 0 || port > 65535)
				port = -1;
			ch = sess_pf_stream(s, reqid, is_error, (int)port, sid);
			if (ch < 0) {
				rst(s, sid, RST_REFUSED_STREAM);
				return;
			}
		}
	} else {
		static const char *const names[CH_EXEC_N] = { "stdin", "stdout", "stderr", "error", "resize" };
		for (int i = 0; i < CH_EXEC_N; i++)
			if (!strcmp(h.type, names[i]))
				ch = i;
		if (ch >= 0 && s->ch[ch].open)
			ch = -1; /* a second stream of a type: ignored, as kubelet does */
		if (ch >= 0) {
			s->ch[ch].open = 1;
			s->ch[ch].sid = sid;
			s->ch[ch].window = s->init_window;
		} else {
			log_debug("stream %s: SPDY stream %u (\"%s\") ignored", s->req->id, sid, h.type);
		}
	}
	syn_reply(s, sid);
	if (ch >= 0 && (flags & FLAG_FIN))
		sess_fin(s, ch);
}

static void control_frame(struct sess *s, int type, int flags, const uint8_t *p, size_t n)
{
	switch (type) {
	case SYN_STREAM:
		syn_stream(s, flags, p, n);
		return;
	case HEADERS: { /* nothing we use, but the compression state must follow */
		struct hdrs h;
		if (n < 4 || headers(s, p + 4, n - 4, &h) < 0)
			sess_gone(s, "SPDY protocol error: a header block does not decode");
		return;
	}
	case RST_STREAM:
		if (n >= 8) {
			int ch = chan_of(s, get32(p) & 0x7fffffff);
			if (ch >= 0) {
				s->ch[ch].reset = s->ch[ch].client_fin = 1;
				s->ch[ch].fin_sent = 1; /* nothing more may be sent on it */
			}
		}
		return;
	case SETTINGS:
		if (n >= 4) {
			uint32_t count = get32(p);
			for (uint32_t i = 0; i < count && 4 + 8 * (size_t)(i + 1) <= n; i++) {
				const uint8_t *e = p + 4 + 8 * i;
				if ((get32(e) & 0xffffff) == SETTINGS_INITIAL_WINDOW_SIZE) {
					int64_t v = get32(e + 4) & 0x7fffffff, d = v - s->init_window;
					s->init_window = v;
					for (size_t c = 0; c < s->n_ch; c++)
						s->ch[c].window += d;
				}
			}
		}
		return;
	case PING:
		if (n == 4 && (get32(p) & 1)) /* the client's (odd); even IDs would answer ours */
			control(s, PING, 0, p, 4);
		return;
	case GOAWAY:
		sess_gone(s, "the client sent GOAWAY");
		return;
	case WINDOW_UPDATE:
		if (n >= 8) {
			uint32_t sid = get32(p) & 0x7fffffff, delta = get32(p + 4) & 0x7fffffff;
			s->peer_flow = 1;
			if (sid == 0) {
				s->sess_window += delta;
			} else {
				int ch = chan_of(s, sid);
				if (ch >= 0)
					s->ch[ch].window += delta;
			}
		}
		return;
	default: /* SYN_REPLY (we open no stream), unknown types: ignored */
		return;
	}
}

static int spdy_input(struct sess *s)
{
	while (!s->gone && buf_avail(&s->rx) >= 8) {
		const uint8_t *p = s->rx.p + s->rx.off;
		size_t len = (size_t)p[5] << 16 | (size_t)p[6] << 8 | p[7];
		if (len > SESS_FRAME_MAX) {
			sess_gone(s, "SPDY protocol error: a frame of %zu bytes", len);
			return -1;
		}
		if (buf_avail(&s->rx) < 8 + len)
			break;
		int flags = p[4];
		if (p[0] & 0x80) {
			int version = (p[0] & 0x7f) << 8 | p[1];
			if (version != 3) {
				sess_gone(s, "SPDY protocol error: version %d", version);
				return -1;
			}
			control_frame(s, p[2] << 8 | p[3], flags, p + 8, len);
		} else {
			uint32_t sid = get32(p) & 0x7fffffff;
			int ch = chan_of(s, sid);
			if (ch < 0) {
				if (sid && sid <= s->last_sid)
					spdy_wire.taken(s, -1, len); /* a stream we refused or ended: the session window */
				else
					rst(s, sid, RST_PROTOCOL_ERROR);
			} else {
				sess_data(s, ch, p + 8, len);
				if (flags & FLAG_FIN)
					sess_fin(s, ch);
			}
		}
		buf_consume(&s->rx, 8 + len);
	}
	return s->gone ? -1 : 0;
}

static void spdy_send(struct sess *s, int ch, const uint8_t *p, size_t n, int fin)
{
	struct chan *c = &s->ch[ch];
	if (!c->open || c->fin_sent)
		return;
	if (!n && !fin)
		return; /* an empty DATA frame says nothing */
	uint8_t h[8];
	put32(h, c->sid);
	h[4] = fin ? FLAG_FIN : 0;
	h[5] = (uint8_t)(n >> 16), h[6] = (uint8_t)(n >> 8), h[7] = (uint8_t)n;
	if (buf_put(&s->tx, h, 8) < 0 || buf_put(&s->tx, p, n) < 0)
		sess_gone(s, "out of memory");
	c->window -= (int64_t)n;
	s->sess_window -= (int64_t)n;
	if (fin)
		c->fin_sent = 1;
}

static void spdy_taken(struct sess *s, int ch, size_t n)
{
	if (!n)
		return;
	if (ch >= 0 && s->ch[ch].open && !s->ch[ch].reset && !s->ch[ch].client_fin)
		window_update(s, s->ch[ch].sid, (uint32_t)n);
	window_update(s, 0, (uint32_t)n); /* SPDY/3.1's session window */
}

static void spdy_finish(struct sess *s)
{
	uint8_t b[8];
	put32(b, s->last_sid);
	put32(b + 4, 0); /* OK */
	control(s, GOAWAY, 0, b, 8);
}

const struct wire spdy_wire = { spdy_input, spdy_send, spdy_taken, spdy_finish };
