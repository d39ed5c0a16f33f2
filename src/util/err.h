/*
 * err.h — the error object passed down every call that can fail.
 *
 * A function that fails fills *err with a message naming the object involved and returns a
 * negative value (always -1); callers pass the same object up or log it.
 */
#ifndef LITECRI_UTIL_ERR_H
#define LITECRI_UTIL_ERR_H

#include <stdarg.h>

/*
 * errnum is the failure's class, an errno value, whether a system call set it or the code chose
 * it.  The CRI layer turns it into a gRPC status in one place (cri_code, src/cri/cri.h); the
 * classes with a meaning of their own there:
 *   ENOENT            the named object does not exist               NOT_FOUND
 *   EINVAL, ENAMETOOLONG  the request is at fault                   INVALID_ARGUMENT
 *   EEXIST            the object already exists                     ALREADY_EXISTS
 *   EBUSY, EAGAIN     another call holds the object                 FAILED_PRECONDITION
 *   ESRCH             the container is not running                  FAILED_PRECONDITION
 *   ETIMEDOUT         a deadline passed (the caller's or litecri's) DEADLINE_EXCEEDED
 *   EKEYREJECTED      a registry refused the credentials            UNAUTHENTICATED
 *   EBADMSG           content does not match its digest or size     DATA_LOSS
 *   ENETUNREACH, ECONNREFUSED, EHOSTUNREACH, ECONNRESET, EPROTO, ECANCELED
 *                     a registry cannot be used now (network, TLS, protocol; a transfer
 *                     aborted by shutdown)                           UNAVAILABLE
 *   ENOSPC, EDQUOT, ENOMEM  out of disk or memory                   RESOURCE_EXHAUSTED
 * Any other value (EIO, EACCES from a file, EMSGSIZE, ...) is litecri's own trouble: INTERNAL.
 */
struct lc_err {
	int errnum;      /* the class (above), or 0 */
	char msg[1024];
};

/* Fill err with the formatted message and ": strerror(errnum)" (errnum set by a system call, or
 * 0 for none); return -1. */
int lc_fail(struct lc_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill err with the formatted message alone and class cls (a class the code chose: the message
 * says what went wrong); return -1. */
int lc_failc(struct lc_err *err, int cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
