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

/*
 * How a message quotes a value it did not choose (a name, ID, path, reference, sysctl value... of
 * a request, up to the 4 MiB a gRPC message may hold): s itself when it has at most LC_QUOTE_MAX
 * bytes, else its first LC_QUOTE_MAX bytes (cut before a partial UTF-8 character) followed by
 * "…(N bytes)", written into buf.  The one way every message bounds what it echoes; use LC_Q.
 */
#define LC_QUOTE_MAX 128
#define LC_QUOTE_BUF (LC_QUOTE_MAX + 48)
const char *lc_quote(char buf[LC_QUOTE_BUF], const char *s);
/* lc_quote with a buffer living until the end of the enclosing block: lc_fail(err, EINVAL,
 * "name %s ...", LC_Q(name)).  NULL quotes as "". */
#define LC_Q(s) lc_quote((char[LC_QUOTE_BUF]){ 0 }, (s))

#endif
