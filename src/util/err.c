/* err.c — see err.h. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static void vfill(struct lc_err *err, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (n < 0)
		n = 0;
	if (errnum != 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
	err->errnum = errnum;
}

int lc_fail(struct lc_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfill(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int lc_failc(struct lc_err *err, int cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfill(err, 0, fmt, ap);
	va_end(ap);
	err->errnum = cls;
	return -1;
}

int lc_wrap(struct lc_err *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	size_t n = strlen(prefix);
	if (n > sizeof err->msg - 3)
		n = sizeof err->msg - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t rest = sizeof err->msg - n - 3;
	strncpy(err->msg + n + 2, old, rest);
	err->msg[sizeof err->msg - 1] = '\0';
	return -1;
}

const char *lc_quote(char buf[LC_QUOTE_BUF], const char *s)
{
	if (!s)
		return "";
	size_t n = strnlen(s, LC_QUOTE_MAX + 1);
	if (n <= LC_QUOTE_MAX)
		return s;
	size_t total = n + strlen(s + n);
	n = LC_QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* s[n] continues a character: cut before it */
		n--;
	snprintf(buf, LC_QUOTE_BUF, "%.*s\u2026(%zu bytes)", (int)n, s, total);
	return buf;
}
