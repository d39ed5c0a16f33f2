/* userdb.c — see userdb.h. */
#include "runtime/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* /etc/passwd or /etc/group larger than this is refused (EFBIG). */
#define USERDB_MAX_FILE (4u << 20)

/*
 * Open rel ("etc/passwd") below the directory rootfd as the container would see it: symlinks,
 * absolute or with "..", resolve inside rootfd (openat2 RESOLVE_IN_ROOT; /proc magic links refused).
 * Kernels without openat2 (ENOSYS): every component is opened with O_NOFOLLOW, so any symlink on
 * the way is refused (ELOOP/ENOTDIR) instead of followed.  Never blocks on a FIFO (O_NONBLOCK).
 * Returns the descriptor, or -1 with errno set.
 */
static int open_in_root(int rootfd, const char *rel)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -1;

	char buf[PATH_MAX];
	if (strlen(rel) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	int dirfd = dup(rootfd);
	if (dirfd < 0)
		return -1;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, "..") == 0) {
			close(dirfd);
			errno = EXDEV;
			return -1;
		}
		int nfd = next ? openat(dirfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			       : openat(dirfd, comp, flags | O_NOFOLLOW);
		int e = errno;
		struct stat st;
		if (nfd < 0 && e == ENOTDIR && fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP; /* a symlinked directory: refused, not "missing" */
		close(dirfd);
		if (nfd < 0) {
			errno = e;
			return -1;
		}
		if (!next)
			return nfd;
		dirfd = nfd;
		comp = next;
	}
	close(dirfd);
	errno = EISDIR;
	return -1;
}

/*
 * Read <rootfs>/<rel> into a malloc'ed NUL-terminated buffer (*out).  A missing file (or a missing
 * /etc) leaves *out NULL and returns 0.  Anything but a regular file is refused.
 */
static int read_db(int rootfd, const char *rootfs, const char *rel, char **out, struct lc_err *err)
{
	*out = NULL;
	cleanup_close int fd = open_in_root(rootfd, rel);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno == ELOOP)
			return lc_fail(err, ELOOP, "open %s/%s (symlinks are not followed here)", rootfs, rel);
		return lc_fail(err, errno, "open %s/%s", rootfs, rel);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return lc_fail(err, errno, "stat %s/%s", rootfs, rel);
	if (!S_ISREG(st.st_mode))
		return lc_fail(err, EINVAL, "%s/%s is not a regular file", rootfs, rel);
	if ((uint64_t)st.st_size > USERDB_MAX_FILE)
		return lc_fail(err, EFBIG, "%s/%s is larger than %u bytes", rootfs, rel, USERDB_MAX_FILE);
	size_t cap = (size_t)st.st_size + 1, len = 0;
	cleanup_free char *buf = malloc(cap);
	if (!buf)
		return lc_fail(err, ENOMEM, "read %s/%s", rootfs, rel);
	for (;;) {
		if (len + 1 == cap) { /* the file grew while we read it: read no more than the limit */
			if (cap > USERDB_MAX_FILE)
				return lc_fail(err, EFBIG, "%s/%s is larger than %u bytes", rootfs, rel,
					       USERDB_MAX_FILE);
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return lc_fail(err, ENOMEM, "read %s/%s", rootfs, rel);
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lc_fail(err, errno, "read %s/%s", rootfs, rel);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	return 0;
}

/* Parse a decimal id (uid or gid): digits only, at most 2^32 - 2 ((uid_t)-1 is not an id). */
static int parse_id(const char *s, uint32_t *out)
{
	if (!*s || strlen(s) > 10)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/*
 * Split the next line of a passwd/group buffer (advancing *cursor) into at most max ':'-separated
 * fields (modifies the buffer).  Returns the number of fields, 0 at the end.  Blank lines, comments
 * and NIS "+"/"-" entries are skipped.
 */
static size_t next_entry(char **cursor, char **fields, size_t max)
{
	while (*cursor && **cursor) {
		char *line = *cursor;
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
			*cursor = nl + 1;
		} else {
			*cursor = line + strlen(line);
		}
		if (!*line || *line == '#' || *line == '+' || *line == '-')
			continue;
		size_t n = 0;
		char *p = line;
		while (n < max) {
			fields[n++] = p;
			char *colon = strchr(p, ':');
			if (!colon)
				break;
			*colon = '\0';
			p = colon + 1;
		}
		return n;
	}
	return 0;
}

struct pwent {
	char *name, *home;
	uint32_t uid, gid;
};

/* Find the passwd entry with that name (by_name) or uid in a private copy of db. */
static int find_passwd(const char *db, const char *name, uint32_t uid, int by_name, char **copy, struct pwent *out)
{
	*copy = db ? strdup(db) : NULL;
	if (!*copy)
		return db ? -ENOMEM : 0;
	char *cur = *copy, *f[7] = { 0 };
	size_t n;
	while ((n = next_entry(&cur, f, 7)) > 0) {
		uint32_t u, g;
		if (n < 4 || parse_id(f[2], &u) < 0 || parse_id(f[3], &g) < 0)
			continue;
		if (by_name ? strcmp(f[0], name) == 0 : u == uid) {
			out->name = f[0];
			out->uid = u;
			out->gid = g;
			out->home = n >= 6 ? f[5] : NULL;
			return 1;
		}
	}
	return 0;
}

static int has_gid(const gid_t *v, size_t n, gid_t g)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == g)
			return 1;
	return 0;
}

/*
 * One pass over the group db: the gid of the first group named `name` into *gid (name NULL: none
 * wanted), and every group listing `user` as a member added once to out->groups (user NULL: none).
 * 1 if `name` was found, else 0; -ENOMEM.
 */
static int scan_groups(const char *db, const char *name, uint32_t *gid, const char *user, struct userdb_user *out)
{
	if (!db)
		return 0;
	cleanup_free char *copy = strdup(db);
	if (!copy)
		return -ENOMEM;
	char *cur = copy, *f[4] = { 0 };
	size_t n;
	int found = 0;
	while ((n = next_entry(&cur, f, 4)) > 0) {
		uint32_t g;
		if (n < 3 || parse_id(f[2], &g) < 0)
			continue;
		if (name && !found && strcmp(f[0], name) == 0) {
			*gid = g;
			found = 1;
		}
		if (!user || n < 4 || has_gid(out->groups, out->n_groups, g))
			continue;
		char *save = NULL;
		for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (strcmp(m, user) != 0)
				continue;
			gid_t *ng = realloc(out->groups, (out->n_groups + 1) * sizeof *ng);
			if (!ng)
				return -ENOMEM;
			out->groups = ng;
			out->groups[out->n_groups++] = g;
			break;
		}
	}
	return found;
}

int userdb_resolve(const char *rootfs, const char *user, struct userdb_user *out, struct lc_err *err)
{
	memset(out, 0, sizeof *out);
	strcpy(out->home, "/");

	cleanup_free char *spec = strdup(user ? user : "");
	if (!spec)
		return lc_fail(err, ENOMEM, "user %s", user);
	char *uname = spec, *gname = strchr(spec, ':');
	if (gname)
		*gname++ = '\0';
	if (!*uname)
		uname = "0"; /* "" and ":group": root */
	if (gname && !*gname)
		return lc_fail(err, EINVAL, "user \"%s\": empty group after ':'", LC_Q(user));

	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lc_fail(err, errno, "open rootfs %s", rootfs);
	cleanup_free char *passwd = NULL, *group = NULL;
	if (read_db(rootfd, rootfs, "etc/passwd", &passwd, err) < 0)
		return -1;

	uint32_t id = 0;
	int numeric = parse_id(uname, &id) == 0;
	struct pwent pw = { 0 };
	cleanup_free char *pwcopy = NULL;
	int found = find_passwd(passwd, uname, id, !numeric, &pwcopy, &pw);
	if (found < 0)
		return lc_fail(err, ENOMEM, "user %s", user);
	if (!found && !numeric)
		return lc_fail(err, ENOENT, "user \"%s\" not found in %s/etc/passwd%s", LC_Q(uname), rootfs,
			       passwd ? "" : " (no such file)");
	out->uid = numeric ? id : pw.uid;
	out->gid = found ? pw.gid : 0;
	if (found && pw.home && *pw.home == '/' && strlen(pw.home) < sizeof out->home)
		strcpy(out->home, pw.home);

	if (!gname && !found)
		return 0;
	if (read_db(rootfd, rootfs, "etc/group", &group, err) < 0)
		return -1;
	uint32_t g = 0;
	int named = gname && parse_id(gname, &g) < 0; /* a group name, looked up in /etc/group */
	if (gname && !named)
		out->gid = g;
	int r = scan_groups(group, named ? gname : NULL, &g, found ? pw.name : NULL, out);
	if (r < 0 || (named && r == 0)) {
		userdb_user_free(out);
		if (r < 0)
			return lc_fail(err, ENOMEM, "user %s", user);
		return lc_fail(err, ENOENT, "group \"%s\" not found in %s/etc/group%s", LC_Q(gname), rootfs,
			       group ? "" : " (no such file)");
	}
	if (named)
		out->gid = g;
	/* the primary group is no supplementary one */
	size_t k = 0;
	for (size_t i = 0; i < out->n_groups; i++)
		if (out->groups[i] != out->gid)
			out->groups[k++] = out->groups[i];
	out->n_groups = k;
	return 0;
}

void userdb_user_free(struct userdb_user *u)
{
	if (!u)
		return;
	free(u->groups);
	u->groups = NULL;
	u->n_groups = 0;
}
