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
