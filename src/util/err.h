/*
 * err.h — the error object passed down every call that can fail.
 *
 * A function that fails fills *err with a message naming the object involved and returns a
 * negative value (always -1); callers pass the same object up or log it.
 */
#ifndef LITECRI_UTIL_ERR_H
#define LITECRI_UTIL_ERR_H

#include <stdarg.h>

struct lc_err {
	int errnum;      /* errno of the failing system call, or 0 */
	char msg[1024];
};

/* Fill err with the formatted message (and ": strerror(errnum)" when errnum != 0); return -1. */
int lc_fail(struct lc_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to the message already in err; return -1. */
int lc_wrap(struct lc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
