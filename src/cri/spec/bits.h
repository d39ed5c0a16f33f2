/*
 * bits.h — the two one-liners every file of the CRI→OCI translation uses (spec_int.h includes it;
 * seccomp.c, which needs nothing else of spec_int.h, includes it alone).
 */
#ifndef LITECRI_CRI_SPEC_BITS_H
#define LITECRI_CRI_SPEC_BITS_H

#include <stdint.h>

/* s, or "" for NULL (protobuf-c leaves unset strings NULL or ""). */
static inline const char *S(const char *s) { return s ? s : ""; }

/* The bit of capability c (a CAP_* number of linux/capability.h) in a 64-bit capability set. */
#define CAPBIT(c) (UINT64_C(1) << (c))

#endif
