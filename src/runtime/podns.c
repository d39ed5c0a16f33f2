/* podns.c — see podns.h. */
#include "runtime/podns.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"

#define HOST_RESOLV_CONF "/etc/resolv.conf"
#define HOST_RESOLV_MAX (1 << 20) /* larger is not a resolv.conf */

static const struct {
	int kind;
	const char *name;
	int clone_flag;
} KINDS[] = {
	{ PODNS_NET, "net", CLONE_NEWNET },
	{ PODNS_IPC, "ipc", CLONE_NEWIPC },
	{ PODNS_UTS, "uts", CLONE_NEWUTS },
};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

int podns_path(const char *dir, int kind, char *out, size_t n, struct lc_err *err)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (KINDS[i].kind != kind)
			continue;
		int len = snprintf(out, n, "%s/%s", dir, KINDS[i].name);
		if (len < 0 || (size_t)len >= n)
			return lc_fail(err, ENAMETOOLONG, "namespace path %s/%s", dir, KINDS[i].name);
		return 0;
	}
	return lc_fail(err, EINVAL, "namespace kind %d (want one of net=%d, ipc=%d, uts=%d)", kind, PODNS_NET,
		       PODNS_IPC, PODNS_UTS);
}

/* *yes = path (not followed if a symlink) is the root of a mount. */
static int is_mount_root(const char *path, int *yes, struct lc_err *err)
{
	struct statx stx;
	*yes = 0;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
		return lc_fail(err, errno, "statx %s", path);
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return lc_fail(err, ENOSYS, "statx %s: the kernel does not report mount roots (Linux >= 5.8 needed)",
			       path);
	*yes = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	return 0;
}

/*
 * Unmount what is mounted on path: not mounted or missing is fine (*unmounted = 0), busy is
 * detached lazily.  The last component is never followed.
 */
static int unmount_path(const char *path, const char *what, int *unmounted, struct lc_err *err)
{
	*unmounted = 0;
	if (umount2(path, UMOUNT_NOFOLLOW) == 0) {
		*unmounted = 1;
		return 0;
	}
	if (errno == EINVAL || errno == ENOENT)
		return 0; /* not a mount point, or gone */
	if (errno != EBUSY)
		return lc_fail(err, errno, "unmount %s %s", what, path);
	if (umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
		return lc_fail(err, errno, "unmount (detach) busy %s %s", what, path);
	log_warn("%s %s was busy: detached lazily", what, path);
	*unmounted = 1;
	return 0;
}

/* ---- the helper child that makes the namespaces ------------------------------------------- */

enum child_stage { CHILD_READY = 0, CHILD_PDEATHSIG, CHILD_UNSHARE, CHILD_SETHOSTNAME, CHILD_SOCKET,
		   CHILD_GETFLAGS, CHILD_SETFLAGS };

static const char *const STAGE_WHAT[] = {
	[CHILD_READY] = "ready",
	[CHILD_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[CHILD_UNSHARE] = "unshare",
	[CHILD_SETHOSTNAME] = "set the hostname",
	[CHILD_SOCKET] = "socket for bringing up lo",
	[CHILD_GETFLAGS] = "get the flags of lo",
	[CHILD_SETFLAGS] = "bring up lo",
};

struct child_report {
	int stage;  /* enum child_stage reached: CHILD_READY, or where it failed */
	int errnum;
};

/*
 * In the forked child of a possibly multi-threaded process: system calls only (no malloc, no
 * stdio, no locks).  Reports on wfd, then (if ready) waits to be killed by the parent.
 */
static void __attribute__((noreturn)) child_main(int wfd, pid_t parent, int flags, const char *hostname,
						  size_t hostname_len)
{
	struct child_report r = { CHILD_READY, 0 };

	/* Hold no descriptor of the daemon's: other threads' pipes must see EOF when they expect. */
	if (wfd > 3)
		close_range(3, (unsigned)wfd - 1, 0);
	close_range((unsigned)wfd + 1, ~0U, 0);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		r = (struct child_report){ CHILD_PDEATHSIG, errno };
		goto report;
	}
	if (getppid() != parent) /* the parent died before PDEATHSIG was armed */
		_exit(1);
	if (unshare(flags) < 0) {
		r = (struct child_report){ CHILD_UNSHARE, errno };
		goto report;
	}
	if ((flags & CLONE_NEWUTS) && hostname_len > 0 && sethostname(hostname, hostname_len) < 0) {
		r = (struct child_report){ CHILD_SETHOSTNAME, errno };
		goto report;
	}
	if (flags & CLONE_NEWNET) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			r = (struct child_report){ CHILD_SOCKET, errno };
			goto report;
		}
		struct ifreq ifr;
		memset(&ifr, 0, sizeof ifr);
		memcpy(ifr.ifr_name, "lo", 3);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
			r = (struct child_report){ CHILD_GETFLAGS, errno };
			goto report;
		}
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
			r = (struct child_report){ CHILD_SETFLAGS, errno };
			goto report;
		}
		close(s);
	}
report:
	while (write(wfd, &r, sizeof r) < 0 && errno == EINTR)
		;
	if (r.stage != CHILD_READY)
		_exit(1);
	for (;;)
		pause();
}

/* Kill and reap the helper child. */
static void child_stop(pid_t pid)
{
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill namespace helper %d: %s", (int)pid, strerror(errno));
	while (waitpid(pid, NULL, 0) < 0) {
		if (errno != EINTR) {
			log_warn("reap namespace helper %d: %s", (int)pid, strerror(errno));
			break;
		}
	}
}

/* Fork the helper child and wait until it reports the namespaces made (*pid set) or failed (-1). */
static int child_start(int flags, const char *hostname, const char *dir, pid_t *pid, struct lc_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return lc_fail(err, errno, "pipe for the namespace helper of %s", dir);
	size_t hostname_len = strlen(hostname);
	pid_t parent = getpid();
	pid_t c = fork();
	if (c < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return lc_fail(err, e, "fork the namespace helper of %s", dir);
	}
	if (c == 0) {
		close(p[0]);
		child_main(p[1], parent, flags, hostname, hostname_len);
	}
	close(p[1]);
	cleanup_close int rfd = p[0];

	struct child_report r;
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = read(rfd, (char *)&r + got, sizeof r - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EPIPE;
			child_stop(c);
			return lc_fail(err, e, "the namespace helper of %s died before reporting", dir);
		}
		got += (size_t)n;
	}
	if (r.stage != CHILD_READY) {
		child_stop(c);
		const char *what = r.stage > 0 && (size_t)r.stage < sizeof STAGE_WHAT / sizeof STAGE_WHAT[0]
					   ? STAGE_WHAT[r.stage]
					   : "?";
		return lc_fail(err, r.errnum, "namespaces for %s: %s", dir, what);
	}
	*pid = c;
	return 0;
}

/* ---- create / remove ---------------------------------------------------------------------- */

/* What podns_create has done so far, for undoing it on failure. */
struct create_state {
	int made_dir;
	int bound_self;
	int created[N_KINDS];
	int pinned[N_KINDS];
};

static void create_undo(const char *dir, const struct create_state *s)
{
	char path[PATH_MAX];
	for (size_t i = N_KINDS; i-- > 0;) {
		snprintf(path, sizeof path, "%s/%s", dir, KINDS[i].name);
		if (s->pinned[i] && umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
			log_warn("undo: unpin %s: %s", path, strerror(errno));
		if (s->created[i] && unlink(path) < 0)
			log_warn("undo: remove %s: %s", path, strerror(errno));
	}
	if (s->bound_self && umount2(dir, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
		log_warn("undo: unmount the self-bind of %s: %s", dir, strerror(errno));
	if (s->made_dir && rmdir(dir) < 0)
		log_warn("undo: remove %s: %s", dir, strerror(errno));
}

/* The steps of podns_create after the arguments are checked; *s records what was done. */
static int create_steps(const char *dir, int kinds, const char *hostname, struct create_state *s,
			struct lc_err *err)
{
	if (mkdir_parent(dir, 0755, err) < 0)
		return -1;
	if (mkdir(dir, 0755) == 0)
		s->made_dir = 1;
	else if (errno != EEXIST)
		return lc_fail(err, errno, "mkdir %s", dir);
	struct stat st;
	if (lstat(dir, &st) < 0)
		return lc_fail(err, errno, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		return lc_fail(err, ENOTDIR, "namespace directory %s", dir);
	int mounted;
	if (is_mount_root(dir, &mounted, err) < 0)
		return -1;
	if (mounted)
		return lc_fail(err, EEXIST, "namespace directory %s is already a mount point (left pinned?)", dir);

	/* The private self-bind: pins below it do not propagate into other mount namespaces. */
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		return lc_fail(err, errno, "bind-mount namespace directory %s onto itself", dir);
	s->bound_self = 1;
	if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0)
		return lc_fail(err, errno, "make namespace directory %s a private mount", dir);

	int flags = 0;
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds & KINDS[i].kind)
			flags |= KINDS[i].clone_flag;
	pid_t pid = -1;
	if (child_start(flags, hostname, dir, &pid, err) < 0)
		return -1;

	int ret = 0;
	for (size_t i = 0; i < N_KINDS && ret == 0; i++) {
		if (!(kinds & KINDS[i].kind))
			continue;
		char path[PATH_MAX], src[64];
		snprintf(path, sizeof path, "%s/%s", dir, KINDS[i].name); /* fits: checked by podns_create */
		snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, KINDS[i].name);
		int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (fd < 0) {
			ret = lc_fail(err, errno, "create namespace file %s", path);
			break;
		}
		close(fd);
		s->created[i] = 1;
		if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
			ret = lc_fail(err, errno, "pin %s at %s", src, path);
			break;
		}
		s->pinned[i] = 1;
	}
	child_stop(pid);
	return ret;
}

int podns_create(const char *dir, int kinds, const char *hostname, struct lc_err *err)
{
	if (kinds == 0 || (kinds & ~(PODNS_NET | PODNS_IPC | PODNS_UTS)))
		return lc_fail(err, EINVAL, "namespaces for %s: bad kinds %#x", dir, (unsigned)kinds);
	if (!hostname)
		hostname = "";
	if (!(kinds & PODNS_UTS))
		hostname = "";
	if (strpbrk(hostname, "\n\r"))
		return lc_fail(err, EINVAL, "namespaces for %s: the hostname contains a line break", dir);
	if (strlen(hostname) > HOST_NAME_MAX)
		return lc_fail(err, EINVAL, "namespaces for %s: hostname \"%s\" is longer than %d bytes", dir,
			       hostname, HOST_NAME_MAX);
	if (strlen(dir) + 5 >= PATH_MAX) /* "/net" etc. */
		return lc_fail(err, ENAMETOOLONG, "namespace directory %s", dir);

	struct create_state s = { 0 };
	if (create_steps(dir, kinds, hostname, &s, err) < 0) {
		create_undo(dir, &s);
		return -1;
	}
	log_debug("pinned namespaces%s%s%s at %s", kinds & PODNS_NET ? " net" : "", kinds & PODNS_IPC ? " ipc" : "",
		  kinds & PODNS_UTS ? " uts" : "", dir);
	return 0;
}

int podns_remove(const char *dir, struct lc_err *err)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < N_KINDS; i++) {
		if (podns_path(dir, KINDS[i].kind, path, sizeof path, err) < 0)
			return -1;
		int unmounted;
		if (unmount_path(path, "namespace pin", &unmounted, err) < 0)
			return -1;
		if (unlink(path) < 0 && errno != ENOENT)
			return lc_fail(err, errno, "remove namespace file %s", path);
	}
	int unmounted;
	if (unmount_path(dir, "namespace directory", &unmounted, err) < 0)
		return -1;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove namespace directory %s", dir);
	log_debug("unpinned namespaces at %s", dir);
	return 0;
}

/* ---- /dev/shm ----------------------------------------------------------------------------- */

int podns_shm_mount(const char *path, uint64_t size_bytes, struct lc_err *err)
{
	if (size_bytes == 0)
		return lc_fail(err, EINVAL, "shm %s: size 0", path);
	if (mkdir_p(path, 0755, err) < 0)
		return -1;
	int mounted;
	if (is_mount_root(path, &mounted, err) < 0)
		return -1;
	if (mounted) {
		struct statfs sf;
		if (statfs(path, &sf) < 0)
			return lc_fail(err, errno, "statfs %s", path);
		if (sf.f_type != TMPFS_MAGIC)
			return lc_fail(err, EEXIST, "shm %s: another file system (type %#lx) is mounted there", path,
				       (unsigned long)sf.f_type);
		return 0;
	}
	char opts[64];
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)size_bytes);
	if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return lc_fail(err, errno, "mount shm tmpfs (%s) at %s", opts, path);
	log_debug("mounted shm (%s) at %s", opts, path);
	return 0;
}

int podns_shm_unmount(const char *path, struct lc_err *err)
{
	int unmounted;
	if (unmount_path(path, "shm", &unmounted, err) < 0)
		return -1;
	if (rmdir(path) < 0 && errno != ENOENT)
		return lc_fail(err, errno, "remove shm directory %s", path);
	return 0;
}

/* ---- hosts, resolv.conf, hostname --------------------------------------------------------- */

/*
 * A value written into one line: no line breaks; `word` (one of several on a line, or the
 * hostname): no blanks, and (unless `may_be_empty`) not empty.  `field` names it in errors.
 */
static int check_value(const char *v, const char *field, size_t idx, int may_be_empty, struct lc_err *err)
{
	char name[64];
	if (idx)
		snprintf(name, sizeof name, "%s %zu", field, idx);
	else
		snprintf(name, sizeof name, "%s", field);
	if (!v)
		return lc_fail(err, EINVAL, "%s is NULL", name);
	if (strpbrk(v, "\n\r"))
		return lc_fail(err, EINVAL, "%s contains a line break", name);
	if (strpbrk(v, " \t\v\f"))
		return lc_fail(err, EINVAL, "%s (\"%s\") contains blanks", name, v);
	if (!*v && !may_be_empty)
		return lc_fail(err, EINVAL, "%s is empty", name);
	return 0;
}

static int check_list(const char *const *v, size_t n, const char *field, struct lc_err *err)
{
	if (n && !v)
		return lc_fail(err, EINVAL, "%s list is NULL with %zu entries", field, n);
	for (size_t i = 0; i < n; i++)
		if (check_value(v[i], field, i + 1, 0, err) < 0)
			return -1;
	return 0;
}

/* The host's resolv.conf, malloc'ed (NUL-terminated for convenience), in *out / *len. */
static int read_host_resolv(char **out, size_t *len, struct lc_err *err)
{
	cleanup_close int fd = open(HOST_RESOLV_CONF, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "open the host's %s", HOST_RESOLV_CONF);
	size_t cap = 4096, n = 0;
	cleanup_free char *buf = malloc(cap);
	if (!buf)
		return lc_fail(err, ENOMEM, "read %s", HOST_RESOLV_CONF);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= HOST_RESOLV_MAX)
				return lc_fail(err, EFBIG, "the host's %s is larger than %d bytes", HOST_RESOLV_CONF,
					       HOST_RESOLV_MAX);
			char *b = realloc(buf, cap * 2);
			if (!b)
				return lc_fail(err, ENOMEM, "read %s", HOST_RESOLV_CONF);
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return lc_fail(err, errno, "read %s", HOST_RESOLV_CONF);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	*out = buf;
	buf = NULL;
	return 0;
}

/* Append the words of list, separated by blanks, to fp. */
static void put_words(FILE *fp, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(fp, " %s", v[i]);
}

/* resolv.conf from the DNSConfig lists, malloc'ed in *out / *len. */
static int make_resolv(const struct podns_files *f, char **out, size_t *len, struct lc_err *err)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	if (!fp)
		return lc_fail(err, errno, "resolv.conf");
	if (f->n_searches) {
		fputs("search", fp);
		put_words(fp, f->searches, f->n_searches);
		fputc('\n', fp);
	}
	for (size_t i = 0; i < f->n_servers; i++)
		fprintf(fp, "nameserver %s\n", f->servers[i]);
	if (f->n_options) {
		fputs("options", fp);
		put_words(fp, f->options, f->n_options);
		fputc('\n', fp);
	}
	int bad = ferror(fp);
	if (fclose(fp) != 0 || bad) {
		free(buf);
		return lc_fail(err, ENOMEM, "resolv.conf");
	}
	*out = buf;
	*len = n;
	return 0;
}

int podns_write_files(const char *dir, const struct podns_files *f, struct lc_err *err)
{
	const char *hostname = f->hostname ? f->hostname : "";
	if (check_value(hostname, "hostname", 0, 1, err) < 0)
		return -1;
	if (strlen(hostname) > HOST_NAME_MAX)
		return lc_fail(err, EINVAL, "hostname \"%s\" is longer than %d bytes", hostname, HOST_NAME_MAX);
	if (!f->host_dns && (check_list(f->servers, f->n_servers, "dns nameserver", err) < 0 ||
			     check_list(f->searches, f->n_searches, "dns search domain", err) < 0 ||
			     check_list(f->options, f->n_options, "dns option", err) < 0))
		return -1;
	char host_name[HOST_NAME_MAX + 1];
	if (!*hostname) {
		if (gethostname(host_name, sizeof host_name) < 0)
			return lc_fail(err, errno, "gethostname");
		host_name[sizeof host_name - 1] = '\0';
		hostname = host_name;
	}
	if (mkdir_p(dir, 0755, err) < 0)
		return -1;

	char hosts[HOST_NAME_MAX + 512];
	int n = snprintf(hosts, sizeof hosts,
			 "127.0.0.1\tlocalhost\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "fe00::0\tip6-localnet\n"
			 "fe00::0\tip6-mcastprefix\n"
			 "fe00::1\tip6-allnodes\n"
			 "fe00::2\tip6-allrouters\n"
			 "127.0.1.1\t%s\n",
			 hostname);
	assert(n > 0 && (size_t)n < sizeof hosts);
	if (write_file_atomic(dir, "hosts", hosts, (size_t)n, 0644, 0, err) < 0)
		return -1;

	cleanup_free char *resolv = NULL;
	size_t resolv_len = 0;
	if (f->host_dns ? read_host_resolv(&resolv, &resolv_len, err) : make_resolv(f, &resolv, &resolv_len, err))
		return -1;
	if (write_file_atomic(dir, "resolv.conf", resolv, resolv_len, 0644, 0, err) < 0)
		return -1;

	char line[HOST_NAME_MAX + 2];
	n = snprintf(line, sizeof line, "%s\n", hostname);
	assert(n > 0 && (size_t)n < sizeof line);
	if (write_file_atomic(dir, "hostname", line, (size_t)n, 0644, 0, err) < 0)
		return -1;
	return fsync_dir(dir, err);
}

/* --- inside a pod's network namespace ----------------------------------------------------- */

struct in_ns {
	int nsfd;   /* -1: stay in the daemon's namespace */
	int nstype; /* CLONE_NEWNET, CLONE_NEWIPC or CLONE_NEWUTS */
	void (*fn)(void *arg);
	void *arg;
	int errnum; /* setns's */
};

static void *in_ns_main(void *p)
{
	struct in_ns *j = p;
	if (j->nsfd >= 0 && setns(j->nsfd, j->nstype) < 0)
		j->errnum = errno;
	else
		j->fn(j->arg);
	return NULL;
}

/*
 * Run fn(arg) on a short-lived thread that first joins the namespace (network, IPC or UTS: one a
 * thread may join alone) pinned at ns_path (NULL or "": the daemon's own): the one way litecri
 * acts inside a pod's namespaces.  The calling thread's namespaces never change (a thread's setns
 * would stay with it in a pool), and what fn opens there — a socket, /proc/thread-self/net —
 * keeps working from any thread.
 */
static int in_ns(const char *ns_path, int nstype, void (*fn)(void *), void *arg, struct lc_err *err)
{
	assert(nstype == CLONE_NEWNET || nstype == CLONE_NEWIPC || nstype == CLONE_NEWUTS);
	struct in_ns j = { .nsfd = -1, .nstype = nstype, .fn = fn, .arg = arg };
	if (ns_path && *ns_path && (j.nsfd = open(ns_path, O_RDONLY | O_CLOEXEC)) < 0)
		return lc_fail(err, errno, "open the namespace %s", ns_path);
	pthread_t t;
	int rc = pthread_create(&t, NULL, in_ns_main, &j);
	if (rc == 0)
		pthread_join(t, NULL);
	if (j.nsfd >= 0)
		close(j.nsfd);
	if (rc != 0)
		return lc_fail(err, rc, "namespace %s: start a thread", ns_path && *ns_path ? ns_path : "(host)");
	if (j.errnum)
		return lc_fail(err, j.errnum, "join the namespace %s", ns_path);
	return 0;
}

static int in_netns(const char *ns_path, void (*fn)(void *), void *arg, struct lc_err *err)
{
	return in_ns(ns_path, CLONE_NEWNET, fn, arg, err);
}

/* --- sysctls of a pod without an infra process --------------------------------------------- */

struct sysctl_job {
	const char *path; /* under /proc/sys */
	const char *value;
	struct lc_err err;
	int failed;
};

static void sysctl_write(void *arg)
{
	struct sysctl_job *j = arg;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "/proc/sys/%s", j->path);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(j->value);
	ssize_t w = fd < 0 ? -1 : write(fd, j->value, n);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (w != (ssize_t)n)
		j->failed = lc_fail(&j->err, w < 0 ? e : EIO, "write %s", path);
}

int podns_sysctls(const char *dir, const char *const *keys, const char *const *values, size_t n, struct lc_err *err)
{
	for (size_t i = 0; i < n; i++) {
		/* "net.ipv4.ip_forward", or already a path: "net/ipv4/conf/eth0.100/rp_filter" (a name
		 * with a '/' is one, as spec_pause reads it) */
		char path[256];
		if (snprintf(path, sizeof path, "%s", keys[i]) >= (int)sizeof path)
			return lc_failc(err, EINVAL, "sysctl %s: name too long", keys[i]);
		if (!strchr(keys[i], '/'))
			for (char *c = path; *c; c++)
				*c = *c == '.' ? '/' : *c;
		int kind = !strncmp(path, "net/", 4) ? PODNS_NET : !strcmp(path, "kernel/domainname") ? PODNS_UTS
											     : PODNS_IPC;
		int nstype = kind == PODNS_NET ? CLONE_NEWNET : kind == PODNS_UTS ? CLONE_NEWUTS : CLONE_NEWIPC;
		char pin[PATH_MAX];
		struct sysctl_job j = { .path = path, .value = values[i] };
		if (podns_path(dir, kind, pin, sizeof pin, err) < 0 || in_ns(pin, nstype, sysctl_write, &j, err) < 0)
			return lc_wrap(err, "sysctl %s", keys[i]);
		if (j.failed) {
			*err = j.err;
			return lc_wrap(err, "sysctl %s", keys[i]);
		}
	}
	return 0;
}

/* --- interface counters -------------------------------------------------------------------- */

struct net_read {
	char *text; /* malloc'ed /proc/net/dev of the namespace */
	struct lc_err err;
	int failed;
};

static void net_read(void *arg)
{
	struct net_read *r = arg;
	cleanup_fclose FILE *f = fopen("/proc/thread-self/net/dev", "re");
	size_t len = 0;
	FILE *out = open_memstream(&r->text, &len);
	if (!f || !out) {
		r->failed = lc_fail(&r->err, errno, "read /proc/thread-self/net/dev");
		if (out)
			fclose(out);
		return;
	}
	char buf[4096];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, k, out);
	if (fclose(out) != 0 || ferror(f))
		r->failed = lc_fail(&r->err, EIO, "read /proc/thread-self/net/dev");
}

/* /proc/net/dev: two header lines, then "  name: rx_bytes rx_packets rx_errs rx_drop fifo frame
 * compressed multicast tx_bytes tx_packets tx_errs tx_drop fifo colls carrier compressed". */
static int net_dev_parse(const char *text, struct podns_iface **ifs, size_t *n, struct lc_err *err)
{
	*ifs = NULL;
	*n = 0;
	size_t cap = 0;
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
		if (!colon || (nl && colon > nl))
			continue; /* a header line */
		const char *name = line;
		while (*name == ' ')
			name++;
		struct podns_iface f = { 0 };
		size_t len = (size_t)(colon - name);
		if (len == 0 || len >= sizeof f.name)
			continue;
		memcpy(f.name, name, len);
		uint64_t skip;
		if (sscanf(colon + 1,
			   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			   &f.rx_bytes, &f.rx_packets, &f.rx_errors, &f.rx_dropped, &skip, &skip, &skip, &skip,
			   &f.tx_bytes, &f.tx_packets, &f.tx_errors, &f.tx_dropped) != 12)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 4;
			struct podns_iface *p = realloc(*ifs, cap * sizeof *p);
			if (!p) {
				free(*ifs);
				*ifs = NULL;
				*n = 0;
				return lc_fail(err, ENOMEM, "interface counters");
			}
			*ifs = p;
		}
		(*ifs)[(*n)++] = f;
	}
	return 0;
}

int podns_net_stats(const char *dir, struct podns_iface **ifs, size_t *n, struct lc_err *err)
{
	char pin[PATH_MAX];
	*ifs = NULL;
	*n = 0;
	if (podns_path(dir, PODNS_NET, pin, sizeof pin, err) < 0)
		return -1;
	struct net_read r = { 0 };
	int rc = in_netns(pin, net_read, &r, err);
	cleanup_free char *text = r.text;
	if (rc < 0)
		return -1;
	if (r.failed) {
		*err = r.err;
		return lc_wrap(err, "network namespace %s", pin);
	}
	return net_dev_parse(text ? text : "", ifs, n, err);
}

/* --- connecting inside ------------------------------------------------------------------------ */

/* What podns_connect's fn is given and reports. */
struct connect_job {
	int port;
	int fd;     /* the connected socket, or -1 */
	int errnum; /* why not */
};

/* A TCP socket connected to addr, or -1 with errno. */
static int tcp_connect(const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r;
	do
		r = connect(fd, addr, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* 127.0.0.1, then ::1 (in_netns's fn). */
static void connect_local(void *arg)
{
	struct connect_job *j = arg;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)j->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)j->port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	j->fd = tcp_connect((struct sockaddr *)&v4, sizeof v4);
	if (j->fd >= 0)
		return;
	int v4_errnum = errno;
	j->fd = tcp_connect((struct sockaddr *)&v6, sizeof v6);
	if (j->fd < 0)
		j->errnum = v4_errnum; /* IPv4's reason: ::1 may simply not exist there */
}

int podns_connect(const char *netns_path, int port, int *fd, struct lc_err *err)
{
	*fd = -1;
	if (port < 1 || port > 65535)
		return lc_failc(err, EINVAL, "port %d is not a TCP port", port);
	struct connect_job j = { .port = port, .fd = -1 };
	if (in_netns(netns_path, connect_local, &j, err) < 0)
		return lc_wrap(err, "port %d", port);
	if (j.fd < 0)
		return lc_fail(err, j.errnum, "connect to localhost:%d%s%s", port, netns_path && *netns_path ? " in " : "",
			       netns_path && *netns_path ? netns_path : "");
	*fd = j.fd;
	return 0;
}
