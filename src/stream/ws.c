/*
 * ws.c — WebSocket (RFC 6455) framing of kubelet's channel protocols: every message starts with
 * its channel number — a byte (channel.k8s.io, v4.channel.k8s.io, v5.channel.k8s.io) or an ASCII
 * digit followed by the data in base64 (base64.channel.k8s.io, v4.base64.channel.k8s.io, sent as
 * text).  v5 adds the close signal: a message on channel 255 whose byte names the channel the
 * client will not write to any more.  The opening handshake is server.c's.
 */
#include <openssl/evp.h>
#include <string.h>

#include "stream/session.h"

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };
#define CLOSE_SIGNAL 255

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding; out holds 4 * ceil(n / 3) bytes. */
static size_t b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

/* Decode in place; the length, or -1 if p is not base64. */
static long b64_decode(uint8_t *p, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=')
			break;
		const char *q = p[i] ? strchr(b64, p[i]) : NULL;
		if (!q)
			return -1;
		acc = acc << 6 | (uint32_t)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

void ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char in[256];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof in, "%s%s", key, guid);
	EVP_Digest(in, (size_t)n < sizeof in ? (size_t)n : sizeof in - 1, md, &mdlen, EVP_sha1(), NULL);
	out[b64_encode(md, 20, out)] = 0;
}

static void frame(struct sess *s, int op, const uint8_t *pre, size_t npre, const void *p, size_t n)
{
	uint8_t h[10];
	size_t hl, len = npre + n;
	h[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[1] = (uint8_t)len;
		hl = 2;
	} else if (len < 65536) {
		h[1] = 126, h[2] = (uint8_t)(len >> 8), h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (buf_put(&s->tx, h, hl) < 0 || buf_put(&s->tx, pre, npre) < 0 || buf_put(&s->tx, p, n) < 0)
		sess_gone(s, "out of memory");
}

/* A whole base64 message: '0'+channel, then the data. */
static void text_message(struct sess *s)
{
	struct buf *m = &s->ws_msg;
	if (!buf_avail(m))
		return;
	uint8_t *p = m->p + m->off;
	size_t n = buf_avail(m);
	int ch = p[0] - '0';
	long len = b64_decode(p + 1, n - 1);
	if (ch < 0 || ch > 9 || len < 0)
		sess_gone(s, "WebSocket protocol error: not a base64 channel message");
	else
		sess_data(s, ch, p + 1, (size_t)len);
	buf_consume(m, n);
}

/* Data of a binary message (the first byte of its first fragment is the channel). */
static void binary_data(struct sess *s, const uint8_t *p, size_t n)
{
	if (s->ws_msg_ch < 0 && n) {
		s->ws_msg_ch = p[0];
		p++, n--;
	}
	if (!n)
		return;
	if (s->ws_msg_ch == CLOSE_SIGNAL && s->version >= 5) {
		for (size_t i = 0; i < n; i++)
			sess_fin(s, p[i]);
		return;
	}
	sess_data(s, s->ws_msg_ch, p, n);
}

static int ws_input(struct sess *s)
{
	while (!s->gone && buf_avail(&s->rx) >= 2) {
		uint8_t *p = s->rx.p + s->rx.off;
		size_t avail = buf_avail(&s->rx), hl = 2;
		int fin = p[0] & 0x80, op = p[0] & 0x0f;
		uint64_t len = p[1] & 0x7f;
		if ((p[0] & 0x70) || !(p[1] & 0x80)) {
			sess_gone(s, "WebSocket protocol error: %s", p[0] & 0x70 ? "reserved bits set" : "unmasked frame");
			return -1;
		}
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			hl = 10;
		}
		if (len > SESS_FRAME_MAX) {
			sess_gone(s, "WebSocket: a frame of %llu bytes", (unsigned long long)len);
			return -1;
		}
		if (avail < hl + 4 + len)
			break;
		const uint8_t *mask = p + hl;
		uint8_t *d = p + hl + 4;
		for (uint64_t i = 0; i < len; i++)
			d[i] ^= mask[i & 3];
		size_t n = (size_t)len;
		switch (op) {
		case OP_CLOSE:
			if (!s->ws_close_sent) { /* answer with the same code */
				frame(s, OP_CLOSE, NULL, 0, d, n >= 2 ? 2 : 0);
				s->ws_close_sent = 1;
			}
			sess_gone(s, "the client closed the WebSocket");
			break;
		case OP_PING:
			frame(s, OP_PONG, NULL, 0, d, n);
			break;
		case OP_PONG:
			break;
		case OP_TEXT:
		case OP_BINARY:
		case OP_CONT:
			if ((op == OP_CONT) != s->ws_in_msg) {
				sess_gone(s, "WebSocket protocol error: unexpected %s frame", op == OP_CONT ? "continuation" : "data");
				return -1;
			}
			if (op != OP_CONT) {
				s->ws_in_msg = 1;
				s->ws_msg_text = op == OP_TEXT;
				s->ws_msg_ch = -1;
			}
			if (s->ws_msg_text) {
				if (buf_avail(&s->ws_msg) + n > SESS_FRAME_MAX) {
					sess_gone(s, "WebSocket: a message over %d bytes", SESS_FRAME_MAX);
					return -1;
				}
				if (buf_put(&s->ws_msg, d, n) < 0)
					sess_gone(s, "out of memory");
				if (fin)
					text_message(s);
			} else {
				binary_data(s, d, n);
			}
			if (fin)
				s->ws_in_msg = 0;
			break;
		default:
			sess_gone(s, "WebSocket protocol error: opcode %d", op);
			return -1;
		}
		buf_consume(&s->rx, hl + 4 + n);
	}
	return s->gone ? -1 : 0;
}

static void ws_send(struct sess *s, int ch, const uint8_t *p, size_t n, int fin)
{
	struct chan *c = &s->ch[ch];
	if (!c->open || c->fin_sent || s->ws_close_sent)
		return;
	if (fin) { /* a WebSocket channel has no end of its own: the session's end is the close */
		c->fin_sent = 1;
		return;
	}
	if (!s->base64) {
		uint8_t b = (uint8_t)ch;
		frame(s, OP_BINARY, &b, 1, p, n);
		return;
	}
	char *t = malloc(4 * (n / 3 + 1) + 1);
	if (!t) {
		sess_gone(s, "out of memory");
		return;
	}
	uint8_t digit = (uint8_t)('0' + ch);
	frame(s, OP_TEXT, &digit, 1, t, b64_encode(p, n, t));
	free(t);
}

static void ws_taken(struct sess *s, int ch, size_t n)
{
	(void)s, (void)ch, (void)n; /* no windows: the socket is not read while a channel is full */
}

static void ws_finish(struct sess *s)
{
	if (s->ws_close_sent)
		return;
	uint8_t code[2] = { 1000 >> 8, 1000 & 0xff };
	frame(s, OP_CLOSE, NULL, 0, code, 2);
	s->ws_close_sent = 1;
}

const struct wire ws_wire = { ws_input, ws_send, ws_taken, ws_finish };
