/*
 * bench-image.c — the tests' images for the bench scripts, from tests/common/testimg.c.
 *
 *   bench-image LAYOUT-DIR REF-NAME
 *   bench-image --registry PAUSE-PROGRAM REPO-PREFIX
 *
 * The first form writes the tests' busybox image (TESTIMG_BASE: one layer made from the host's
 * /bin/busybox) as an OCI layout, for the bench scripts to import.
 *
 * The second starts the tests' registry (Debian's docker-registry on 127.0.0.1, a free port,
 * its directory under /tmp: testreg_start) and pushes two images to it: the busybox image as
 * REPO-PREFIX/busybox:1 and a pause image made from PAUSE-PROGRAM (a static program, the
 * build's litecri-pause: testimg_build_pause) as REPO-PREFIX/pause:1.  It then prints one line,
 * "127.0.0.1:<port> <registry dir>" (the directory holds the access log, registry.log), and
 * serves until SIGTERM, SIGINT or SIGHUP, when it stops the registry and removes its directory.
 * Exit status 0 after a signal, 1 if the registry or a push failed (nothing left running).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "testimg.h"
#include "tmpdir.h"

/* Push img from layout to <prefix>/<name>:1. */
static int push(const struct testreg *reg, const char *layout, const struct testimg *img, const char *prefix,
		const char *name)
{
	char repo[256];
	if (snprintf(repo, sizeof repo, "%s/%s", prefix, name) >= (int)sizeof repo) {
		fprintf(stderr, "bench-image: repository prefix too long\n");
		return -1;
	}
	return testreg_push(reg, layout, img, repo, "1");
}

static int serve(const char *pause, const char *prefix)
{
	/* blocked before the registry starts: its child unblocks them; sigwait gets them here */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	struct testreg reg;
	char dir[TMPDIR_DIR_SIZE] = "";
	char layout[TMPDIR_DIR_SIZE + 16];
	struct testimg busybox, pauseimg;
	int rc = 1;
	if (testreg_start(&reg, TESTREG_OPEN) < 0)
		return 1;
	if (tmpdir_make(dir, sizeof dir, "bench-image") < 0) {
		perror("bench-image: mkdtemp");
		dir[0] = '\0';
		goto out;
	}
	snprintf(layout, sizeof layout, "%s/layout", dir);
	if (testimg_build(layout, TESTIMG_BASE, "busybox", &busybox) < 0 ||
	    testimg_build_pause(layout, pause, "pause", &pauseimg) < 0 ||
	    push(&reg, layout, &busybox, prefix, "busybox") < 0 || push(&reg, layout, &pauseimg, prefix, "pause") < 0)
		goto out;
	printf("%s %s\n", reg.host, reg.dir);
	fflush(stdout);
	int sig;
	sigwait(&stop, &sig);
	rc = 0;
out:
	if (dir[0])
		tmpdir_remove(dir);
	testreg_stop(&reg);
	return rc;
}

int main(int argc, char **argv)
{
	struct testimg img;
	if (argc == 4 && !strcmp(argv[1], "--registry"))
		return serve(argv[2], argv[3]);
	if (argc != 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: bench-image LAYOUT-DIR REF-NAME\n"
				"       bench-image --registry PAUSE-PROGRAM REPO-PREFIX\n");
		return 2;
	}
	return testimg_build(argv[1], TESTIMG_BASE, argv[2], &img) == 0 ? 0 : 1;
}
