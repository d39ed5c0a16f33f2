/*
 * arena.h — per-call bump allocator.
 *
 * Every gRPC call gets one arena: the decoded request, the response message and every string the
 * handler puts in it are allocated here and released at once when the call ends, so handlers never
 * free piecemeal and a response may point at static strings safely.
 */
#ifndef LITECRI_UTIL_ARENA_H
#define LITECRI_UTIL_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	ProtobufCAllocator pb; /* protobuf-c allocator backed by this arena (free is a no-op) */
};

void arena_init(struct arena *a);
/* Release every allocation made from a; a may be reused after arena_init. */
void arena_release(struct arena *a);

/* Zeroed, 16-byte aligned memory valid until arena_release; aborts on out-of-memory. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
