/*
 * token.h — the tokens of the streaming server (internal to src/stream/): each stands for one
 * validated CRI request, kept in memory only, for one use within its lifetime.
 */
#ifndef LITECRI_STREAM_TOKEN_H
#define LITECRI_STREAM_TOKEN_H

#include <stdint.h>

#include "stream/stream.h"

#define TOKEN_LEN 22 /* 128 random bits, base64url without padding */
#define TOKEN_MAX_WAITING 4096

/* A request as stored under a token (one allocation; free with free()). */
struct stream_req {
	enum stream_kind kind;
	char *id;
	char **cmd;
	size_t n_cmd;
	int tty, in, out, err;
	int32_t *ports;
	size_t n_ports;
};

struct tokens;

int tokens_new(int ttl_ms, struct tokens **out, struct lc_err *err);
void tokens_free(struct tokens *t);

/* Store a copy of req under a fresh token written to tok (NUL-terminated).  EAGAIN: too many
 * waiting; ENOMEM; the getrandom(2) failure. */
int tokens_add(struct tokens *t, const struct stream_request *req, char tok[TOKEN_LEN + 1], struct lc_err *err);

/* The request stored under tok, removed (a token is used once); NULL when there is none: never
 * minted, used already, or expired. */
struct stream_req *tokens_take(struct tokens *t, const char *tok);

#endif
