/*
 * id.h — what an object ID looks like: lowercase hexadecimal digits.  Pod and container IDs are
 * 64 of them, image IDs and blob digests 64 after "sha256:"; a request may name an object by a
 * prefix of its ID.  The one check of that shape.
 */
#ifndef LITECRI_UTIL_ID_H
#define LITECRI_UTIL_ID_H

#include <stddef.h>

/* Hex digits of a full pod or container ID (and of an image ID or blob digest after "sha256:"). */
#define ID_HEX_LEN 64

/*
 * 1 if s is min to max lowercase hex digits and nothing else ("0-9a-f", no sign, no "0x"), else 0.
 * id_is_hex(s, 64, 64): a full ID; id_is_hex(s, 1, 64): an ID or a prefix
 * of one.  Reads at most max + 1 bytes of s; s may be NULL (0).
 */
int id_is_hex(const char *s, size_t min, size_t max);

#endif
