/* utf8.h — UTF-8 well-formedness (RFC 3629): what proto3 requires of every string field. */
#ifndef LITECRI_UTIL_UTF8_H
#define LITECRI_UTIL_UTF8_H

#include <stddef.h>

/*
 * 1 if the n bytes at s are well-formed UTF-8: no overlong form, no surrogate (U+D800..DFFF),
 * nothing above U+10FFFF, no sequence cut short.  NUL bytes are valid UTF-8; callers that need
 * C strings check for them apart.  s may be NULL when n is 0.
 */
int utf8_valid(const char *s, size_t n);

#endif
