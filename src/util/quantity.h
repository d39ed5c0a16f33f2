/*
 * quantity.h — Kubernetes resource quantities ("10M", "1.5Gi", "100k", "1e6"), as the
 * kubernetes.io/ingress-bandwidth and egress-bandwidth pod annotations give them.
 */
#ifndef LITECRI_UTIL_QUANTITY_H
#define LITECRI_UTIL_QUANTITY_H

#include <stdint.h>

#include "util/err.h"

/*
 * Parse a non-negative quantity: <number><suffix>, number = digits with an optional '.' fraction
 * (and an optional '+'), suffix = one of n u m "" k M G T P E (powers of 1000), Ki Mi Gi Ti Pi Ei
 * (powers of 1024), or e/E<integer> (a power of ten).  *out is its value rounded up to an integer
 * (as Kubernetes' Quantity.Value()), computed exactly.  Not a quantity, or negative: -1 with
 * errnum EINVAL; above INT64_MAX: ERANGE.
 */
int quantity_parse(const char *s, int64_t *out, struct lc_err *err);

#endif
