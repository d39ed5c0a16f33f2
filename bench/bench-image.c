/*
 * bench-image.c — write the tests' busybox image (TESTIMG_BASE of tests/common/testimg.c: one
 * layer made from the host's /bin/busybox) as an OCI layout, for the bench scripts to import.
 *
 *   bench-image LAYOUT-DIR REF-NAME
 */
#include <stdio.h>

#include "testimg.h"

int main(int argc, char **argv)
{
	struct testimg img;
	if (argc != 3) {
		fprintf(stderr, "usage: bench-image LAYOUT-DIR REF-NAME\n");
		return 2;
	}
	return testimg_build(argv[1], TESTIMG_BASE, argv[2], &img) == 0 ? 0 : 1;
}
