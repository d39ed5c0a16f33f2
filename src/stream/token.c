/* token.c — see token.h. */
#include "stream/token.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct entry {
	struct entry *next;
	char tok[TOKEN_LEN + 1];
	int64_t expires; /* CLOCK_MONOTONIC ms */
	struct stream_req *req;
};

struct tokens {
	pthread_mutex_t mu;
	struct entry *head;
	size_t n;
	int ttl_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tokens_new(int ttl_ms, struct tokens **out, struct lc_err *err)
{
	struct tokens *t = calloc(1, sizeof *t);
	if (!t)
		return lc_fail(err, ENOMEM, "stream tokens");
	pthread_mutex_init(&t->mu, NULL);
	t->ttl_ms = ttl_ms > 0 ? ttl_ms : 60000;
	*out = t;
	return 0;
}

void tokens_free(struct tokens *t)
{
	if (!t)
		return;
	for (struct entry *e = t->head, *next; e; e = next) {
		next = e->next;
		free(e->req);
		free(e);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* Drop the expired entries; t->mu held. */
static void sweep(struct tokens *t, int64_t now)
{
	for (struct entry **pp = &t->head; *pp;) {
		struct entry *e = *pp;
		if (e->expires <= now) {
			*pp = e->next;
			free(e->req);
			free(e);
			t->n--;
		} else {
			pp = &e->next;
		}
	}
}

/* One allocation holding the request, its strings and ports; cmd is NULL-terminated too. */
static struct stream_req *req_copy(const struct stream_request *r)
{
	size_t need = sizeof(struct stream_req) + strlen(r->id) + 1 + (r->n_cmd + 1) * sizeof(char *) +
		      r->n_ports * sizeof(int32_t) + 8;
	for (size_t i = 0; i < r->n_cmd; i++)
		need += strlen(r->cmd[i]) + 1;
	struct stream_req *q = calloc(1, need);
	if (!q)
		return NULL;
	char *p = (char *)(q + 1);
	q->kind = r->kind;
	q->tty = r->tty, q->in = r->in, q->out = r->out, q->err = r->err;
	q->ports = (int32_t *)p;
	q->n_ports = r->n_ports;
	if (r->n_ports)
		memcpy(q->ports, r->ports, r->n_ports * sizeof(int32_t));
	p += r->n_ports * sizeof(int32_t);
	q->cmd = (char **)(p + (-(uintptr_t)p & 7)); /* aligned for pointers */
	q->n_cmd = r->n_cmd;
	q->cmd[r->n_cmd] = NULL; /* as execv wants it */
	p = (char *)(q->cmd + r->n_cmd + 1);
	for (size_t i = 0; i < r->n_cmd; i++) {
		q->cmd[i] = p;
		p = stpcpy(p, r->cmd[i]) + 1;
	}
	q->id = p;
	strcpy(p, r->id);
	return q;
}

int tokens_add(struct tokens *t, const struct stream_request *req, char tok[TOKEN_LEN + 1], struct lc_err *err)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char rnd[17] = { 0 }; /* 16 random bytes; the 17th pads the last group */
	for (size_t got = 0; got < 16;) {
		ssize_t n = getrandom(rnd + got, 16 - got, 0);
		if (n < 0 && errno != EINTR)
			return lc_fail(err, errno, "stream token: getrandom");
		if (n > 0)
			got += (size_t)n;
	}
	for (int i = 0; i < TOKEN_LEN; i++) {
		int bit = i * 6, byte = bit / 8, shift = bit % 8;
		unsigned v = ((unsigned)rnd[byte] << 8 | rnd[byte + 1]) >> (10 - shift);
		tok[i] = b64url[v & 63];
	}
	tok[TOKEN_LEN] = 0;
	struct entry *e = calloc(1, sizeof *e);
	struct stream_req *q = req_copy(req);
	if (!e || !q) {
		free(e);
		free(q);
		return lc_fail(err, ENOMEM, "stream token");
	}
	memcpy(e->tok, tok, TOKEN_LEN + 1);
	e->req = q;
	pthread_mutex_lock(&t->mu);
	int64_t now = now_ms();
	sweep(t, now);
	if (t->n >= TOKEN_MAX_WAITING) {
		pthread_mutex_unlock(&t->mu);
		free(e->req);
		free(e);
		return lc_failc(err, EAGAIN, "%d streaming requests are waiting for their client already",
				TOKEN_MAX_WAITING);
	}
	e->expires = now + t->ttl_ms;
	e->next = t->head;
	t->head = e;
	t->n++;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/* Compare two tokens in a time that does not depend on where they differ. */
static int tok_equal(const char *a, const char *b)
{
	unsigned char d = 0;
	for (int i = 0; i < TOKEN_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

struct stream_req *tokens_take(struct tokens *t, const char *tok)
{
	if (strlen(tok) != TOKEN_LEN)
		return NULL;
	struct stream_req *q = NULL;
	pthread_mutex_lock(&t->mu);
	sweep(t, now_ms());
	for (struct entry **pp = &t->head; *pp; pp = &(*pp)->next) {
		struct entry *e = *pp;
		if (tok_equal(e->tok, tok)) {
			*pp = e->next;
			q = e->req;
			free(e);
			t->n--;
			break;
		}
	}
	assert(t->n < TOKEN_MAX_WAITING + 1);
	pthread_mutex_unlock(&t->mu);
	return q;
}
