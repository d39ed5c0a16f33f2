/* utf8.c — see utf8.h. */
#include "util/utf8.h"

#include <stdint.h>

int utf8_valid(const char *s, size_t n)
{
	if (n == 0)
		return 1; /* s may be NULL then (an empty protobuf `bytes` field): NULL + 0 is undefined */
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		uint32_t c = *p, min;
		size_t len;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2, c &= 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, c &= 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, c &= 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if ((size_t)(end - p) < len)
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		p += len;
	}
	return 1;
}
