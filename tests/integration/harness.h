/*
 * harness.h — run the real litecri daemon for integration tests.
 *
 * Each daemon gets its own temporary directory holding its socket, database, root, state, an
 * empty config file and its log (stderr).  Tests stop only the daemons they started, by PID.
 */
#ifndef LITECRI_TESTS_HARNESS_H
#define LITECRI_TESTS_HARNESS_H

#include <limits.h>
#include <sys/types.h>

struct daemon {
	pid_t pid;
	char dir[64];            /* /tmp/litecri-test-daemon-XXXXXX */
	char sock[PATH_MAX];     /* <dir>/run/litecri.sock */
	char endpoint[PATH_MAX + 8]; /* unix://<sock> */
	char db[PATH_MAX];       /* <dir>/lib/litecri.db */
	char root[PATH_MAX];     /* <dir>/lib */
	char state[PATH_MAX];    /* <dir>/state */
	char config[PATH_MAX];   /* <dir>/litecri.conf (empty unless the test writes it) */
	char log[PATH_MAX];      /* <dir>/daemon.log */
	char cni[PATH_MAX];      /* <dir>/cni: the daemon's --cni-conf-dir, holding a loopback-only
				  * network (99-loopback.conflist): pods run as before CNI, and
				  * NetworkReady is true; plugins from /usr/lib/cni (a test may pass
				  * --cni-conf-dir / --cni-bin-dirs of its own: the later flag wins) */
	int no_stdin;            /* start it with descriptor 0 closed (default: /dev/null) */
	long log_from;           /* the log's size when this daemon was started (its lines follow) */
	const char *const *wrap; /* run it through this command (argv, NULL-terminated; it must exec
				  * the daemon in the same process), e.g. setpriv; NULL: directly */
};

/* Make a fresh temporary directory and fill in the paths (nothing is started). */
int harness_init(struct daemon *d);

/*
 * Start litecri with --config/--listen/--db/--root/--state of d, then `extra` (NULL-terminated,
 * may be NULL), and wait until the daemon logs that it is ready and its socket accepts connections.  Returns 0 when serving; -1 if
 * the daemon exited (its exit status in *exit_status, if not NULL) or did not come up in 20 s.
 */
int harness_start(struct daemon *d, const char *const *extra, int *exit_status);

/* harness_start in two steps: start the daemon (no wait), then wait until it is serving and, when
 * its log shows recovery (info level), until the work recovery left to the background is done:
 * tests see what recovery repaired (the unit tests show calls served before). */
int harness_spawn(struct daemon *d, const char *const *extra);
int harness_wait_ready(struct daemon *d, int *exit_status);

/* Run a command to completion (argv NULL-terminated), stderr+stdout to `out_file`; exit status or -1. */
int harness_run(const char *const *argv, const char *out_file);

/* SIGTERM the daemon and wait (SIGKILL after 30 s).  Returns its exit status (0..255), 128+sig, or -1. */
int harness_stop(struct daemon *d);

/* SIGKILL the daemon (a crash) and reap it.  Returns 0 once it is gone. */
int harness_kill(struct daemon *d);

/* Remove d's temporary directory recursively (stop the daemon first). */
void harness_cleanup(struct daemon *d);

/*
 * Stop (SIGKILL) every daemon this process started that is still running and remove every
 * directory harness_init made that is still there: for teardowns, so that a test that fails
 * half-way leaves no daemon and no files behind.  Returns the number of leftovers it found.
 */
int harness_reap_all(void);

/* Read a whole file into a malloc'ed NUL-terminated string (NULL on failure). */
char *harness_slurp(const char *path);

/* 1 if a unix-socket connect to path succeeds. */
int harness_can_connect(const char *path);

#endif
