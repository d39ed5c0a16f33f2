/*
 * test_podns.c — pinned pod namespaces, the pod's /dev/shm, and its hosts/resolv.conf/hostname
 * files, on real namespaces and mounts (the tests run as root).
 *
 * Every test works in a fresh temporary directory; the teardown unmounts whatever is still mounted
 * below it (read from /proc/self/mountinfo, deepest first) before removing it, so a failing test
 * leaves nothing behind.  Namespaces are inspected from forked children that setns() into the pins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "runtime/podns.h"
#include "util/log.h"

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char ns[PATH_MAX];         /* <dir>/pod/ns: where the tests pin namespaces */
};
TMPDIR_FIXTURE_CHECK(struct fx);

/* ---- mountinfo ---------------------------------------------------------------------------- */

/* Undo mountinfo's octal escapes (\040 etc.) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static int under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

struct mnt {
	char point[PATH_MAX];
	char fstype[64];
	int shared; /* has a shared:N propagation tag */
};

/* The mounts at or below prefix, in mountinfo order (at most cap; the count found is returned). */
static int mounts_under(const char *prefix, struct mnt *out, int cap)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	if (!fp) {
		print_error("open /proc/self/mountinfo: %s\n", strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t len = 0;
	int n = 0;
	while (getline(&line, &len, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL, *tok, *point = NULL, *fstype = NULL;
		int shared = 0, field = 0, after_dash = 0;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
			if (field == 4)
				point = tok;
			else if (field >= 6 && !after_dash && strcmp(tok, "-") == 0)
				after_dash = field;
			else if (field >= 6 && !after_dash && strncmp(tok, "shared:", 7) == 0)
				shared = 1;
			else if (after_dash && field == after_dash + 1)
				fstype = tok;
		}
		if (!point)
			continue;
		unescape(point);
		if (!under(point, prefix))
			continue;
		if (n < cap) {
			snprintf(out[n].point, sizeof out[n].point, "%s", point);
			snprintf(out[n].fstype, sizeof out[n].fstype, "%s", fstype ? fstype : "?");
			out[n].shared = shared;
		}
		n++;
	}
	free(line);
	fclose(fp);
	return n;
}

static int count_mounts(const char *prefix)
{
	struct mnt m[1];
	return mounts_under(prefix, m, 0);
}

/* Unmount everything at or below prefix, deepest (and latest) first. */
static void unmount_all_under(const char *prefix)
{
	for (int round = 0; round < 64; round++) {
		static struct mnt m[64];
		int n = mounts_under(prefix, m, 64);
		if (n <= 0)
			return;
		if (n > 64)
			n = 64;
		int best = 0;
		for (int i = 1; i < n; i++)
			if (strlen(m[i].point) >= strlen(m[best].point))
				best = i;
		if (umount2(m[best].point, MNT_DETACH) < 0)
			print_error("teardown: unmount %s: %s\n", m[best].point, strerror(errno));
	}
}

/* ---- fixture ------------------------------------------------------------------------------ */

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "podns");
	if (!f)
		return -1;
	snprintf(f->ns, sizeof f->ns, "%s/pod/ns", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unmount_all_under(f->dir);
	return tmpdir_fixture_free(f);
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "re");
	if (!fp) {
		print_error("open %s: %s\n", path, strerror(errno));
		fail();
	}
	char *buf = NULL;
	size_t cap = 0;
	FILE *out = open_memstream(&buf, &cap);
	assert_non_null(out);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		assert_int_equal(fwrite(chunk, 1, n, out), n);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	assert_int_equal(fclose(out), 0);
	if (len)
		*len = cap;
	return buf;
}

static void assert_file_text(const char *path, const char *want)
{
	char *got = slurp(path, NULL);
	assert_string_equal(got, want);
	free(got);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		print_error("stat %s: %s\n", path, strerror(errno));
		fail();
	}
	return st.st_ino;
}

/* No child of ours is left (running or zombie): the helper was reaped. */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void pin_path(const char *dir, int kind, char *out)
{
	struct lc_err err = { 0 };
	if (podns_path(dir, kind, out, PATH_MAX, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
}

enum {
	CHK_OPEN = 1 << 0,
	CHK_SETNS = 1 << 1,
	CHK_HOSTNAME = 1 << 2,
	CHK_LO = 1 << 3,
	CHK_INO = 1 << 4,
};

/*
 * In a forked child: setns() into each pin of `kinds` under dir, then check that the hostname is
 * `hostname` (UTS), that lo is up (NET), and that /proc/self/ns/<kind> is now the pinned
 * namespace.  The child's exit status is the OR of the CHK_* checks that failed.
 */
static int check_from_child(const char *dir, int kinds, const char *hostname)
{
	static const struct { int kind; const char *name; int flag; } K[] = {
		{ PODNS_NET, "net", CLONE_NEWNET }, { PODNS_IPC, "ipc", CLONE_NEWIPC }, { PODNS_UTS, "uts", CLONE_NEWUTS },
	};
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		for (size_t i = 0; i < 3; i++) {
			if (!(kinds & K[i].kind))
				continue;
			char path[PATH_MAX], self[64];
			snprintf(path, sizeof path, "%s/%s", dir, K[i].name);
			snprintf(self, sizeof self, "/proc/self/ns/%s", K[i].name);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				bad |= CHK_OPEN;
				continue;
			}
			struct stat pin, now;
			if (fstat(fd, &pin) < 0 || setns(fd, K[i].flag) < 0) {
				bad |= CHK_SETNS;
				close(fd);
				continue;
			}
			close(fd);
			if (stat(self, &now) < 0 || now.st_ino != pin.st_ino || now.st_dev != pin.st_dev)
				bad |= CHK_INO;
		}
		if (kinds & PODNS_UTS) {
			char name[HOST_NAME_MAX + 1] = "";
			if (gethostname(name, sizeof name) < 0 || strcmp(name, hostname) != 0)
				bad |= CHK_HOSTNAME;
		}
		if (kinds & PODNS_NET) {
			int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			struct ifreq ifr;
			memset(&ifr, 0, sizeof ifr);
			strcpy(ifr.ifr_name, "lo");
			if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
				bad |= CHK_LO;
		}
		_exit(bad);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* ---- podns_create / podns_remove ---------------------------------------------------------- */

static void test_create_all(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char host_before[HOST_NAME_MAX + 1], host_after[HOST_NAME_MAX + 1];
	assert_int_equal(gethostname(host_before, sizeof host_before), 0);

	if (podns_create(f->ns, PODNS_NET | PODNS_IPC | PODNS_UTS, "pod-a", &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_no_children();

	/* The self-bind of the directory and three pins, none of them shared. */
	struct mnt m[8];
	assert_int_equal(mounts_under(f->ns, m, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_false(m[i].shared);
	assert_string_equal(m[0].point, f->ns);
	assert_string_equal(m[1].point + strlen(f->ns), "/net");
	assert_string_equal(m[1].fstype, "nsfs");

	/* New namespaces, different from ours. */
	char p[PATH_MAX];
	struct statfs sf;
	pin_path(f->ns, PODNS_NET, p);
	assert_int_equal(statfs(p, &sf), 0);
	assert_int_equal(sf.f_type, NSFS_MAGIC);
	assert_true(ino_of(p) != ino_of("/proc/self/ns/net"));
	pin_path(f->ns, PODNS_IPC, p);
	assert_true(ino_of(p) != ino_of("/proc/self/ns/ipc"));
	pin_path(f->ns, PODNS_UTS, p);
	assert_true(ino_of(p) != ino_of("/proc/self/ns/uts"));

	/* Inside them: the hostname is set, lo is up. */
	assert_int_equal(check_from_child(f->ns, PODNS_NET | PODNS_IPC | PODNS_UTS, "pod-a"), 0);
	/* Our own hostname did not change. */
	assert_int_equal(gethostname(host_after, sizeof host_after), 0);
	assert_string_equal(host_before, host_after);

	assert_int_equal(podns_remove(f->ns, &err), 0);
	assert_int_equal(count_mounts(f->ns), 0);
	assert_false(exists(f->ns));
	/* Twice is fine. */
	if (podns_remove(f->ns, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_false(exists(f->ns));
}

static void test_create_net_only(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	/* Without PODNS_UTS the hostname is ignored. */
	if (podns_create(f->ns, PODNS_NET, "ignored", &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_no_children();
	char p[PATH_MAX];
	pin_path(f->ns, PODNS_NET, p);
	assert_true(exists(p));
	assert_true(ino_of(p) != ino_of("/proc/self/ns/net"));
	pin_path(f->ns, PODNS_IPC, p);
	assert_false(exists(p));
	pin_path(f->ns, PODNS_UTS, p);
	assert_false(exists(p));
	assert_int_equal(count_mounts(f->ns), 2);
	assert_int_equal(check_from_child(f->ns, PODNS_NET, NULL), 0);

	assert_int_equal(podns_remove(f->ns, &err), 0);
	assert_int_equal(count_mounts(f->ns), 0);
	assert_false(exists(f->ns));
	assert_int_equal(podns_remove(f->ns, &err), 0);
}

/* The interface counters of the pinned namespace: lo's grow with traffic sent on it from inside;
 * the caller's own namespace never changes; no pin is ENOENT. */
static const struct podns_iface *find_if(const struct podns_iface *ifs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ifs[i].name, name))
			return &ifs[i];
	return NULL;
}

static void test_net_stats(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	struct podns_iface *ifs;
	size_t n;
	assert_int_equal(podns_net_stats(f->ns, &ifs, &n, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	if (podns_create(f->ns, PODNS_NET, NULL, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	ino_t self = ino_of("/proc/thread-self/ns/net");
	if (podns_net_stats(f->ns, &ifs, &n, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_int_equal(ino_of("/proc/thread-self/ns/net"), self);
	const struct podns_iface *lo = find_if(ifs, n, "lo");
	assert_non_null(lo);
	assert_int_equal(n, 1); /* a new namespace has lo alone */
	uint64_t tx0 = lo->tx_bytes, rx0 = lo->rx_bytes;
	free(ifs);

	/* 10 datagrams of 1000 bytes to 127.0.0.1 from a child in the namespace */
	char pin[PATH_MAX];
	pin_path(f->ns, PODNS_NET, pin);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(pin, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(1);
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		char buf[1000] = { 0 };
		for (int i = 0; i < 10; i++)
			if (sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof buf)
				_exit(2);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(podns_net_stats(f->ns, &ifs, &n, &err), 0);
	lo = find_if(ifs, n, "lo");
	assert_non_null(lo);
	assert_true(lo->tx_bytes >= tx0 + 10 * 1000);
	assert_true(lo->rx_bytes >= rx0 + 10 * 1000);
	assert_true(lo->tx_packets >= 10);
	free(ifs);
	assert_int_equal(podns_remove(f->ns, &err), 0);
}

static void test_create_twice_refused(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	assert_int_equal(podns_create(f->ns, PODNS_NET | PODNS_UTS, "pod-b", &err), 0);
	char p[PATH_MAX];
	pin_path(f->ns, PODNS_NET, p);
	ino_t net = ino_of(p);

	assert_int_equal(podns_create(f->ns, PODNS_NET | PODNS_UTS, "pod-b", &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, f->ns));
	assert_no_children();
	/* The first pins are untouched. */
	assert_int_equal(count_mounts(f->ns), 3);
	assert_int_equal(ino_of(p), net);
	assert_int_equal(check_from_child(f->ns, PODNS_NET | PODNS_UTS, "pod-b"), 0);

	assert_int_equal(podns_remove(f->ns, &err), 0);
	assert_int_equal(count_mounts(f->dir), 0);
}

static void test_create_bad_args(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char long_name[HOST_NAME_MAX + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';

	assert_int_equal(podns_create(f->ns, 0, "", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(podns_create(f->ns, 8, "", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(podns_create(f->ns, PODNS_UTS, "a\nb", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "hostname"));
	assert_int_equal(podns_create(f->ns, PODNS_UTS, long_name, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_false(exists(f->ns));
	assert_int_equal(count_mounts(f->dir), 0);
}

/* A directory that cannot be made: nothing is mounted anywhere. */
static void test_create_fail_mkdir(void **state)
{
	(void)state;
	struct lc_err err = { 0 };
	const char *dir = "/proc/litecri-no-such-dir/ns";
	int before = count_mounts("/proc");
	assert_int_equal(podns_create(dir, PODNS_NET | PODNS_IPC | PODNS_UTS, "x", &err), -1);
	assert_true(err.errnum != 0);
	assert_non_null(strstr(err.msg, "/proc/litecri-no-such-dir"));
	assert_int_equal(count_mounts("/proc/litecri-no-such-dir"), 0);
	assert_int_equal(count_mounts("/proc"), before);
	assert_no_children();
}

/*
 * A failure after some namespaces are pinned ("uts" is a directory, so its pin file cannot be
 * made, after net and ipc were pinned): everything is unpinned, the files made are removed, the
 * self-bind is gone, and the directory (which existed before) stays.
 */
static void test_create_fail_after_pins(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char p[PATH_MAX + 8];
	snprintf(p, sizeof p, "%s/pod", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(f->ns, 0755), 0);
	snprintf(p, sizeof p, "%s/uts", f->ns);
	assert_int_equal(mkdir(p, 0755), 0);

	assert_int_equal(podns_create(f->ns, PODNS_NET | PODNS_IPC | PODNS_UTS, "pod-c", &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, p));
	assert_no_children();
	assert_int_equal(count_mounts(f->dir), 0);
	assert_true(exists(p));
	snprintf(p, sizeof p, "%s/net", f->ns);
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/ipc", f->ns);
	assert_false(exists(p));
	assert_int_equal(tmpdir_count(f->ns), 1);

	/* A symlink in place of the directory is refused and left alone. */
	char pod[PATH_MAX], dir2[PATH_MAX];
	snprintf(pod, sizeof pod, "%s/pod", f->dir);
	snprintf(dir2, sizeof dir2, "%s/pod/ns2", f->dir);
	assert_int_equal(symlink("/nonexistent", dir2), 0);
	assert_int_equal(podns_create(dir2, PODNS_NET, "", &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	assert_int_equal(count_mounts(f->dir), 0);
	assert_int_equal(unlink(dir2), 0);

	/* The self-bind fails (the parent is an unbindable mount): the directory the call made is
	 * removed again. */
	assert_int_equal(mount(pod, pod, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(NULL, pod, NULL, MS_UNBINDABLE, NULL), 0);
	assert_int_equal(podns_create(dir2, PODNS_NET, "", &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, dir2));
	assert_false(exists(dir2));
	assert_int_equal(count_mounts(f->dir), 1);
	assert_no_children();
	assert_int_equal(umount2(pod, 0), 0);
}

/*
 * Propagation: with the pod directory on a shared mount, another mount namespace (a peer) gets a
 * copy of the self-bind but never the pins, and loses that copy when podns_remove removes the
 * directory.
 */
static int read_byte(int fd)
{
	char c;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : -1;
}

static void write_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void test_no_propagation(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	assert_int_equal(mount(f->dir, f->dir, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(NULL, f->dir, NULL, MS_SHARED, NULL), 0);

	int to_child[2], to_parent[2];
	assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
	assert_int_equal(pipe2(to_parent, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* 'r' ready; after 'c' (created): 'y' if it sees the copy of the self-bind and no pin;
		 * after 'd' (removed): exit 0 if it sees nothing mounted there any more. */
		if (unshare(CLONE_NEWNS) < 0)
			_exit(10);
		write_byte(to_parent[1], 'r');
		if (read_byte(to_child[0]) != 'c')
			_exit(11);
		char net[PATH_MAX + 8];
		snprintf(net, sizeof net, "%s/net", f->ns);
		struct statfs sf;
		int ok = count_mounts(f->ns) == 1 && statfs(net, &sf) == 0 && sf.f_type != NSFS_MAGIC;
		write_byte(to_parent[1], ok ? 'y' : 'n');
		if (read_byte(to_child[0]) != 'd')
			_exit(12);
		_exit(count_mounts(f->ns) == 0 ? 0 : 13);
	}
	close(to_child[0]);
	close(to_parent[1]);
	/* No assertion before the child is reaped: it must not outlive a failure. */
	int ready = read_byte(to_parent[0]), rc = -1, seen = -1, rc2 = -1;
	if (ready == 'r') {
		rc = podns_create(f->ns, PODNS_NET | PODNS_IPC | PODNS_UTS, "pod-p", &err);
		if (rc < 0)
			print_error("%s\n", err.msg);
		write_byte(to_child[1], 'c');
		seen = read_byte(to_parent[0]);
		rc2 = podns_remove(f->ns, &err);
		if (rc2 < 0)
			print_error("%s\n", err.msg);
		write_byte(to_child[1], 'd');
	}
	close(to_child[1]); /* EOF for a child still waiting */
	close(to_parent[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);

	assert_int_equal(ready, 'r');
	assert_int_equal(rc, 0);
	assert_int_equal(seen, 'y');
	assert_int_equal(rc2, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_mounts(f->ns), 0);
	assert_int_equal(umount2(f->dir, 0), 0);
}

/* Several threads creating and removing pods at once (as the daemon's gRPC threads do): no
 * helper child waits on another's pipe, and all of them are reaped. */
struct worker {
	char dir[PATH_MAX];
	int failed;
	struct lc_err err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 8 && !w->failed; i++) {
		char pin[PATH_MAX + 8];
		snprintf(pin, sizeof pin, "%s/net", w->dir);
		struct stat a, b;
		if (podns_create(w->dir, PODNS_NET | PODNS_IPC | PODNS_UTS, "pod-t", &w->err) < 0 ||
		    stat(pin, &a) < 0 || stat("/proc/self/ns/net", &b) < 0 || a.st_ino == b.st_ino ||
		    podns_remove(w->dir, &w->err) < 0)
			w->failed = 1;
	}
	return NULL;
}

static void test_create_concurrent(void **state)
{
	struct fx *f = *state;
	enum { N = 4 };
	struct worker w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof w[i]);
		snprintf(w[i].dir, sizeof w[i].dir, "%s/pod%d/ns", f->dir, i);
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < N; i++) {
		if (w[i].failed)
			print_error("worker %d: %s\n", i, w[i].err.msg);
		assert_false(w[i].failed);
	}
	assert_no_children();
	assert_int_equal(count_mounts(f->dir), 0);
}

/* podns_remove on a directory podns_create left half-done by a crash: a plain pin file, the
 * self-bind. */
static void test_remove_leftovers(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char p[PATH_MAX + 8];
	snprintf(p, sizeof p, "%s/pod", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(f->ns, 0755), 0);
	assert_int_equal(mount(f->ns, f->ns, NULL, MS_BIND, NULL), 0);
	snprintf(p, sizeof p, "%s/net", f->ns);
	int fd = open(p, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	assert_true(fd >= 0);
	close(fd);

	if (podns_remove(f->ns, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_int_equal(count_mounts(f->dir), 0);
	assert_false(exists(f->ns));

	/* A missing directory (and parent) is fine. */
	assert_int_equal(podns_remove("/tmp/litecri-no-such-dir/ns", &err), 0);
}

static void test_path(void **state)
{
	(void)state;
	struct lc_err err = { 0 };
	char out[PATH_MAX];
	assert_int_equal(podns_path("/run/x", PODNS_NET, out, sizeof out, &err), 0);
	assert_string_equal(out, "/run/x/net");
	assert_int_equal(podns_path("/run/x", PODNS_IPC, out, sizeof out, &err), 0);
	assert_string_equal(out, "/run/x/ipc");
	assert_int_equal(podns_path("/run/x", PODNS_UTS, out, sizeof out, &err), 0);
	assert_string_equal(out, "/run/x/uts");
	assert_int_equal(podns_path("/run/x", PODNS_NET | PODNS_UTS, out, sizeof out, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(podns_path("/run/x", 0, out, sizeof out, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	char small[8];
	assert_int_equal(podns_path("/run/x", PODNS_NET, small, sizeof small, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
}

/* ---- shm ---------------------------------------------------------------------------------- */

static void test_shm(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char shm[PATH_MAX];
	snprintf(shm, sizeof shm, "%s/pod/shm", f->dir);
	const uint64_t size = 2u << 20;

	if (podns_shm_mount(shm, size, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	struct stat st;
	assert_int_equal(stat(shm, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 01777);
	struct statfs sf;
	assert_int_equal(statfs(shm, &sf), 0);
	assert_int_equal(sf.f_type, TMPFS_MAGIC);
	assert_int_equal((uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize, size);
	struct statvfs sv;
	assert_int_equal(statvfs(shm, &sv), 0);
	assert_true(sv.f_flag & ST_NOSUID);
	assert_true(sv.f_flag & ST_NODEV);
	assert_true(sv.f_flag & ST_NOEXEC);
	struct mnt m[4];
	assert_int_equal(mounts_under(shm, m, 4), 1);
	assert_string_equal(m[0].fstype, "tmpfs");

	/* Idempotent: no second mount. */
	assert_int_equal(podns_shm_mount(shm, size, &err), 0);
	assert_int_equal(count_mounts(shm), 1);

	assert_int_equal(podns_shm_unmount(shm, &err), 0);
	assert_int_equal(count_mounts(shm), 0);
	assert_false(exists(shm));
	assert_int_equal(podns_shm_unmount(shm, &err), 0);

	assert_int_equal(podns_shm_mount(shm, 0, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
}

/* A busy shm (a file open in it) is detached lazily; the directory still goes. */
static void test_shm_busy(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char shm[PATH_MAX], file[PATH_MAX + 8];
	snprintf(shm, sizeof shm, "%s/shm", f->dir);
	assert_int_equal(podns_shm_mount(shm, 1u << 20, &err), 0);
	snprintf(file, sizeof file, "%s/held", shm);
	int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);

	if (podns_shm_unmount(shm, &err) < 0) {
		print_error("%s\n", err.msg);
		close(fd);
		fail();
	}
	close(fd);
	assert_int_equal(count_mounts(shm), 0);
	assert_false(exists(shm));
}

/* Another file system at the path is not taken for a shm. */
static void test_shm_other_fs(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char shm[PATH_MAX];
	snprintf(shm, sizeof shm, "%s/shm", f->dir);
	assert_int_equal(mkdir(shm, 0755), 0);
	assert_int_equal(mount("test", shm, "ramfs", 0, NULL), 0);
	assert_int_equal(podns_shm_mount(shm, 1u << 20, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(count_mounts(shm), 1);
	assert_int_equal(umount2(shm, 0), 0);
}

/* ---- files -------------------------------------------------------------------------------- */

static void file_path(const struct fx *f, const char *name, char *out)
{
	snprintf(out, PATH_MAX, "%s/files/%s", f->dir, name);
}

static void test_files_dns_config(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char dir[PATH_MAX], p[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/files", f->dir);
	const char *servers[] = { "10.96.0.10", "fd00::10" };
	const char *searches[] = { "default.svc.cluster.local", "svc.cluster.local", "cluster.local" };
	const char *options[] = { "ndots:5", "timeout:2" };
	struct podns_files pf = {
		.hostname = "pod-a",
		.servers = servers, .n_servers = 2,
		.searches = searches, .n_searches = 3,
		.options = options, .n_options = 2,
	};
	if (podns_write_files(dir, &pf, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	file_path(f, "resolv.conf", p);
	assert_file_text(p, "search default.svc.cluster.local svc.cluster.local cluster.local\n"
			    "nameserver 10.96.0.10\n"
			    "nameserver fd00::10\n"
			    "options ndots:5 timeout:2\n");
	file_path(f, "hostname", p);
	assert_file_text(p, "pod-a\n");
	file_path(f, "hosts", p);
	assert_file_text(p, "127.0.0.1\tlocalhost\n"
			    "::1\tlocalhost ip6-localhost ip6-loopback\n"
			    "fe00::0\tip6-localnet\n"
			    "fe00::0\tip6-mcastprefix\n"
			    "fe00::1\tip6-allnodes\n"
			    "fe00::2\tip6-allrouters\n"
			    "127.0.1.1\tpod-a\n");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(tmpdir_count(dir), 3); /* no temporary files left */

	/* Only nameservers; written again over the old files. */
	struct podns_files pf2 = { .hostname = "pod-b", .servers = servers, .n_servers = 1 };
	assert_int_equal(podns_write_files(dir, &pf2, &err), 0);
	file_path(f, "resolv.conf", p);
	assert_file_text(p, "nameserver 10.96.0.10\n");
	file_path(f, "hostname", p);
	assert_file_text(p, "pod-b\n");
	assert_int_equal(tmpdir_count(dir), 3);

	/* No lists at all: an empty resolv.conf. */
	struct podns_files pf3 = { .hostname = "pod-c" };
	assert_int_equal(podns_write_files(dir, &pf3, &err), 0);
	file_path(f, "resolv.conf", p);
	assert_file_text(p, "");
}

static void test_files_host_dns(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char dir[PATH_MAX], p[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/files", f->dir);
	/* Host DNS: the lists are ignored; no hostname: the host's. */
	const char *searches[] = { "ignored" };
	struct podns_files pf = { .host_dns = 1, .searches = searches, .n_searches = 1 };
	if (podns_write_files(dir, &pf, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	size_t want_len, got_len;
	char *want = slurp("/etc/resolv.conf", &want_len);
	file_path(f, "resolv.conf", p);
	char *got = slurp(p, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(want);
	free(got);

	char host[HOST_NAME_MAX + 1], line[HOST_NAME_MAX + 2], hosts_line[HOST_NAME_MAX + 16];
	assert_int_equal(gethostname(host, sizeof host), 0);
	snprintf(line, sizeof line, "%s\n", host);
	file_path(f, "hostname", p);
	assert_file_text(p, line);
	snprintf(hosts_line, sizeof hosts_line, "\n127.0.1.1\t%s\n", host);
	file_path(f, "hosts", p);
	char *hosts = slurp(p, NULL);
	assert_non_null(strstr(hosts, hosts_line));
	free(hosts);
}

static void test_files_refused(void **state)
{
	struct fx *f = *state;
	struct lc_err err = { 0 };
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/files", f->dir);
	const char *ok[] = { "a.example" };
	const char *nl[] = { "a.example", "b\n.example" };
	const char *empty[] = { "" };
	const char *blank[] = { "ndots:5 x" };

	struct podns_files h = { .hostname = "pod\nx", .servers = ok, .n_servers = 1 };
	assert_int_equal(podns_write_files(dir, &h, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "hostname"));

	struct podns_files s = { .hostname = "p", .searches = nl, .n_searches = 2 };
	assert_int_equal(podns_write_files(dir, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "dns search domain 2"));

	struct podns_files n = { .hostname = "p", .servers = nl, .n_servers = 2 };
	assert_int_equal(podns_write_files(dir, &n, &err), -1);
	assert_non_null(strstr(err.msg, "dns nameserver 2"));

	struct podns_files e = { .hostname = "p", .servers = empty, .n_servers = 1 };
	assert_int_equal(podns_write_files(dir, &e, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "dns nameserver 1"));

	struct podns_files b = { .hostname = "p", .options = blank, .n_options = 1 };
	assert_int_equal(podns_write_files(dir, &b, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "dns option 1"));

	struct podns_files z = { .hostname = "p", .options = NULL, .n_options = 1 };
	assert_int_equal(podns_write_files(dir, &z, &err), -1);
	assert_int_equal(err.errnum, EINVAL);

	/* Nothing was written. */
	assert_false(exists(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_net_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_twice_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_fail_mkdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_fail_after_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_propagation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_other_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_dns_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_host_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
