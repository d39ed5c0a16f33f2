/* id.c — see id.h. */
#include "util/id.h"

int id_is_hex(const char *s, size_t min, size_t max)
{
	if (!s)
		return 0;
	size_t n = 0;
	for (; s[n]; n++)
		if (n == max || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n >= min;
}
