/*
 * cleanup.h — scope-bound release of resources (the crun idiom).
 *
 *   cleanup_free char *s = strdup(x);      freed on every exit path
 *   cleanup_close int fd = open(...);      closed on every exit path (if >= 0)
 *
 * To hand ownership out of a scope, take the value and reset the variable:
 *   char *ret = s; s = NULL; return ret;
 */
#ifndef LITECRI_UTIL_CLEANUP_H
#define LITECRI_UTIL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void lc_freep(void *p) { free(*(void **)p); }
static inline void lc_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void lc_fclosep(FILE **f) { if (*f) fclose(*f); }

#define cleanup_free __attribute__((cleanup(lc_freep)))
#define cleanup_close __attribute__((cleanup(lc_closep)))
#define cleanup_fclose __attribute__((cleanup(lc_fclosep)))

#endif
