/* wirecheck.c — see wirecheck.h. */
#include "server/wirecheck.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

/* Deeper than any CRI message nests (ContainerConfig → linux → security_context → … is 6). */
#define MAX_DEPTH 32

#define FIELD_NUMBER_MAX ((1u << 29) - 1)

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2, WIRE_32BIT = 5 };

/* Read a base-128 varint at *p (advanced past it).  -1 when it runs past end or over 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

struct walk {
	char *path;
	size_t cap;
	const char *why;
};

/* Append ".name" (or "name" at the top) and "[index]" for a repeated field at path[at..]. */
static void path_set(struct walk *w, size_t at, const ProtobufCFieldDescriptor *f, unsigned index)
{
	if (at >= w->cap)
		return;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		snprintf(w->path + at, w->cap - at, "%s%s[%u]", at ? "." : "", f->name, index);
	else
		snprintf(w->path + at, w->cap - at, "%s%s", at ? "." : "", f->name);
}

/* Walk the fields of one message of type d in [p, end); path[0..at) names it. */
static int walk(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
		size_t at, int depth)
{
	if (depth > MAX_DEPTH) {
		w->why = "nests too deep";
		return -1;
	}
	unsigned seen[d->n_fields ? d->n_fields : 1]; /* occurrences of each field so far: repeated indexes */
	memset(seen, 0, sizeof seen);
	while (p < end) {
		uint64_t tag, n;
		if (varint(&p, end, &tag) < 0)
			goto malformed;
		/* Field numbers run from 1 to 2^29-1.  protobuf-c takes 0 (in an overlong tag) and larger
		 * ones as unknown fields, but packs them again as bytes it cannot decode: a config
		 * recorded as packed would never be read back. */
		if (tag >> 3 == 0 || tag >> 3 > FIELD_NUMBER_MAX)
			goto malformed;
		switch (tag & 7) {
		case WIRE_VARINT:
			if (varint(&p, end, &n) < 0)
				goto malformed;
			continue;
		case WIRE_64BIT:
		case WIRE_32BIT: {
			size_t sz = (tag & 7) == WIRE_64BIT ? 8 : 4;
			if ((size_t)(end - p) < sz)
				goto malformed;
			p += sz;
			continue;
		}
		case WIRE_LEN:
			if (varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
				goto malformed;
			break;
		default: /* groups (3, 4) are not proto3; the decoder refused them already */
			goto malformed;
		}
		const uint8_t *v = p;
		p += n;
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		if (!f)
			continue; /* unknown to us: skipped, as the decoder skips it */
		size_t fi = (size_t)(f - d->fields);
		assert(fi < d->n_fields);
		unsigned index = seen[fi]++;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *why = memchr(v, '\0', n) ? "holds a NUL byte"
					  : !utf8_valid((const char *)v, n) ? "is not valid UTF-8"
									   : NULL;
			if (why) {
				path_set(w, at, f, index);
				w->why = why;
				return -1;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			path_set(w, at, f, index);
			size_t sub = strnlen(w->path, w->cap);
			if (walk(w, f->descriptor, v, v + n, sub, depth + 1) < 0)
				return -1;
			if (at < w->cap)
				w->path[at] = '\0';
		}
		/* bytes and packed scalars: any bytes are fine */
	}
	return 0;
malformed:
	w->why = "is not a well-formed message";
	return -1;
}

int wirecheck_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, char *path, size_t cap,
		      const char **why)
{
	assert(cap > 0);
	struct walk w = { .path = path, .cap = cap };
	path[0] = '\0';
	int rc = walk(&w, d, buf, buf + len, 0, 0);
	*why = w.why;
	return rc;
}
