/* quantity.c — see quantity.h. */
#include "util/quantity.h"

#include <errno.h>
#include <string.h>

typedef unsigned __int128 u128;

static const char *const DECIMAL[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" }; /* 10^(3(i-3)) */
static const char *const BINARY[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };                /* 2^(10(i+1)) */

#define CAP ((u128)INT64_MAX + 1) /* any value >= CAP is too large: arithmetic saturates there */

static u128 mul_cap(u128 v, u128 m)
{
	return v && m > CAP / v ? CAP : (v * m > CAP ? CAP : v * m);
}

int quantity_parse(const char *s, int64_t *out, struct lc_err *err)
{
	const char *p = s;
	if (*p == '+')
		p++;
	else if (*p == '-')
		return lc_failc(err, EINVAL, "quantity \"%s\" is negative", s);
	/* digits: the significant ones in mant (at most 18, < 2^60: times 2^60 it fits a u128), the
	 * integer part's zeros beyond them as exponent */
	u128 mant = 0;
	int exp10 = 0, digits = 0, sig = 0, frac = 0;
	for (;; p++) {
		if (*p == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		digits++;
		if (mant == 0 && *p == '0') {
			exp10 -= frac;
			continue;
		}
		if (sig < 18) {
			mant = mant * 10 + (u128)(*p - '0');
			sig++;
			exp10 -= frac;
		} else if (*p != '0') {
			return lc_failc(err, EINVAL, "quantity \"%s\" has more than 18 significant digits", s);
		} else if (!frac) {
			exp10++;
		}
	}
	if (!digits)
		return lc_failc(err, EINVAL, "quantity \"%s\" does not start with a number", s);
	int bin = 0;
	const char *q = *p ? p + 1 + (p[1] == '-' || p[1] == '+') : p;
	if ((*p == 'e' || *p == 'E') && *q >= '0' && *q <= '9') { /* an exponent; "E" alone is exa */
		q = p + 1;
		int neg = *q == '-';
		if (*q == '-' || *q == '+')
			q++;
		long e = 0;
		while (*q >= '0' && *q <= '9' && e < 1000)
			e = e * 10 + (*q++ - '0');
		if (*q)
			return lc_failc(err, EINVAL, "quantity \"%s\": bad exponent", s);
		exp10 += neg ? -(int)e : (int)e;
	} else {
		size_t i, n = sizeof DECIMAL / sizeof *DECIMAL;
		for (i = 0; i < n && strcmp(p, DECIMAL[i]); i++)
			;
		if (i < n) {
			exp10 += 3 * ((int)i - 3);
		} else {
			n = sizeof BINARY / sizeof *BINARY;
			for (i = 0; i < n && strcmp(p, BINARY[i]); i++)
				;
			if (i == n)
				return lc_failc(err, EINVAL, "quantity \"%s\": unknown suffix \"%s\"", s, p);
			bin = 10 * ((int)i + 1);
		}
	}
	/* value = mant * 2^bin * 10^exp10, rounded up; mant * 2^bin < 2^120 */
	u128 v = mant << bin;
	for (; exp10 > 0 && v && v < CAP; exp10--)
		v = mul_cap(v, 10);
	if (exp10 < -38) { /* 10^38 > 2^126 > v: the value is in (0, 1) unless 0 */
		v = v != 0;
	} else if (exp10 < 0) {
		u128 div = 1;
		for (; exp10 < 0; exp10++)
			div *= 10;
		v = v / div + (v % div != 0);
	}
	if (v >= CAP)
		return lc_failc(err, ERANGE, "quantity \"%s\" is too large", s);
	*out = (int64_t)v;
	return 0;
}
