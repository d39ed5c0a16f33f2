/*
 * test_quantity.c — Kubernetes resource quantities (util/quantity.h), as the bandwidth annotations
 * of pods give them: values exact and rounded up, every suffix, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/quantity.h"

static const struct {
	const char *in;
	int64_t want;
} GOOD[] = {
	{ "0", 0 }, { "1", 1 }, { "+5", 5 }, { "10M", 10000000 }, { "100k", 100000 }, { "1G", 1000000000 },
	{ "2T", 2000000000000LL }, { "1P", 1000000000000000LL }, { "9E", 9000000000000000000LL },
	{ "1Ki", 1024 }, { "1.5Ki", 1536 }, { "10Mi", 10485760 }, { "1Gi", 1073741824 }, { "1Pi", 1125899906842624LL },
	{ "1e3", 1000 }, { "1E3", 1000 }, { "1e+2", 100 }, { "25e-1", 3 }, { "1E", 1000000000000000000LL },
	{ "1.5M", 1500000 }, { ".5k", 500 }, { "5.", 5 }, { "0.5", 1 }, { "100m", 1 }, { "1000m", 1 }, { "1001m", 2 },
	{ "1n", 1 }, { "0n", 0 }, { "1u", 1 }, { "0.000000000000000000000000000000000000000000001", 1 },
	{ "1000000000000000000", 1000000000000000000LL }, { "0000000000000000000000001k", 1000 },
	{ "123456789012345678", 123456789012345678LL }, { "1.23456789123456789k", 1235 },
};

static const struct {
	const char *in;
	int errnum;
} BAD[] = {
	{ "", EINVAL }, { "M", EINVAL }, { "-1", EINVAL }, { "-0", EINVAL }, { "1.2.3", EINVAL }, { "10MB", EINVAL },
	{ "10 M", EINVAL }, { " 10M", EINVAL }, { "1e", EINVAL }, { "1e-", EINVAL }, { "2e5x", EINVAL }, { "1ki", EINVAL },
	{ "1K", EINVAL }, { "0x10", EINVAL }, { ".", EINVAL }, { "1..", EINVAL },
	{ "1234567890123456789", EINVAL }, /* 19 significant digits */
	{ "10E", ERANGE }, { "8Ei", ERANGE }, { "1e19", ERANGE }, { "1e999", ERANGE }, { "9223372036854775808000", EINVAL },
	{ "10000000000000000000", ERANGE },
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++) {
		struct lc_err err = { 0 };
		int64_t v = -7;
		if (quantity_parse(GOOD[i].in, &v, &err) < 0)
			fail_msg("\"%s\": %s", GOOD[i].in, err.msg);
		if (v != GOOD[i].want)
			fail_msg("\"%s\": %lld, wanted %lld", GOOD[i].in, (long long)v, (long long)GOOD[i].want);
	}
}

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
		struct lc_err err = { 0 };
		int64_t v = -7;
		if (quantity_parse(BAD[i].in, &v, &err) == 0)
			fail_msg("\"%s\" accepted as %lld", BAD[i].in, (long long)v);
		if (err.errnum != BAD[i].errnum || !strstr(err.msg, "quantity"))
			fail_msg("\"%s\": class %d (%s), wanted %d", BAD[i].in, err.errnum, err.msg, BAD[i].errnum);
		assert_int_equal(v, -7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
