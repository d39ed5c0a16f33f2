/*
 * fuzz_unpack.c — image layer unpacking (layer_unpack in src/image/unpack.c): a layer's bytes
 * come from a registry, and the unpacker runs as root.
 *
 * Each input (plain tar headers' checksums recomputed, see fix_tar_checksums) is written as the
 * archive and unpacked into a fresh empty directory D =
 * <tmp>/a/b/root; D is removed afterwards.  Invariants: nothing lands outside D — <tmp>/a/b holds
 * only root, <tmp>/a only b, <tmp> only a and the archive (an entry that climbs out with ".." or
 * through a symlink shows up there) — and the unpack never fails with EROFS: before the first
 * input the process moves to a private mount namespace in which every mount but <tmp> and the
 * directories libFuzzer writes (its first corpus directory; the artifact directory, else the
 * working directory) is read-only, so a write anywhere else on the host is refused instead of
 * done, and that refusal is a finding.
 * Files are limited to 16 MiB (RLIMIT_FSIZE), so a compressed bomb fails instead of filling the disk.
 * Without root (no mount namespace) the target runs unprotected and says so.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"
#include "util/fsutil.h"
#include "util/log.h"

static char base[TMPDIR_DIR_SIZE], archive[PATH_MAX], dir_a[PATH_MAX], dir_b[PATH_MAX], root[PATH_MAX];

#define MAX_WRITABLE 16
static char writable[MAX_WRITABLE][PATH_MAX];
static size_t n_writable;

/* Keep `path` (made absolute, created if missing) writable in the namespace. */
static void keep_writable(const char *path)
{
	char abs[PATH_MAX];
	struct lc_err err = { 0 };
	if (n_writable == MAX_WRITABLE || mkdir_p(path, 0755, &err) < 0 || !realpath(path, abs) || !strcmp(abs, "/"))
		return;
	snprintf(writable[n_writable++], PATH_MAX, "%s", abs);
}

/* "\040" escapes of /proc/self/mountinfo, in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* The private, read-only view of the host described above.  0, or -1 when not possible (not root). */
static int confine(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	for (size_t i = 0; i < n_writable; i++)
		if (mount(writable[i], writable[i], NULL, MS_BIND, NULL) < 0)
			return -1;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[8192];
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		char mp[PATH_MAX];
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		int keep = 0;
		for (size_t i = 0; i < n_writable; i++)
			keep |= !strcmp(mp, writable[i]);
		if (keep)
			continue;
		unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
		if (strstr(line, " nosuid") || strstr(line, ",nosuid"))
			flags |= MS_NOSUID;
		if (strstr(line, " nodev") || strstr(line, ",nodev"))
			flags |= MS_NODEV;
		if (strstr(line, " noexec") || strstr(line, ",noexec"))
			flags |= MS_NOEXEC;
		if (mount(NULL, mp, NULL, flags, NULL) < 0 && errno != ENOENT && errno != EACCES) {
			fprintf(stderr, "fuzz_unpack: cannot make %s read-only: %s\n", mp, strerror(errno));
			if (!strcmp(mp, "/"))
				rc = -1;
		}
	}
	fclose(f);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	fuzz_tmpdir(base, sizeof base, "unpack");
	snprintf(archive, sizeof archive, "%s/archive", base);
	snprintf(dir_a, sizeof dir_a, "%s/a", base);
	snprintf(dir_b, sizeof dir_b, "%s/a/b", base);
	snprintf(root, sizeof root, "%s/a/b/root", base);
	if (mkdir(dir_a, 0755) < 0 || mkdir(dir_b, 0755) < 0) {
		perror("fuzz_unpack: mkdir");
		exit(1);
	}
	/* What libFuzzer writes: the first corpus directory, and crashing inputs at -artifact_prefix=
	 * or -exact_artifact_path= (else in the working directory). */
	keep_writable(base);
	int artifacts_placed = 0, corpus_seen = 0;
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];
		char d[PATH_MAX];
		if (!strncmp(a, "-artifact_prefix=", 17) || !strncmp(a, "-exact_artifact_path=", 21)) {
			snprintf(d, sizeof d, "%s", strchr(a, '=') + 1);
			char *slash = strrchr(d, '/');
			if (!slash)
				continue; /* relative to the working directory */
			*slash = '\0';
			keep_writable(d[0] ? d : "/");
			artifacts_placed = 1;
		} else if (a[0] != '-' && !corpus_seen) {
			struct stat st;
			if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
				keep_writable(a);
				corpus_seen = 1;
			}
		}
	}
	char cwd[PATH_MAX];
	if (!artifacts_placed && getcwd(cwd, sizeof cwd))
		keep_writable(cwd);
	if (geteuid() != 0 || confine() < 0)
		fprintf(stderr, "fuzz_unpack: WARNING: no read-only mount namespace (%s): the host is not "
				"protected from an escaping entry\n", geteuid() ? "not root" : strerror(errno));
	struct rlimit fsz = { 16 << 20, 16 << 20 };
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsz);
	return 0;
}

static int has_only(const char *dir, const char *a, const char *b)
{
	int n = tmpdir_count(dir);
	if (n < 0)
		return 0;
	char p[PATH_MAX];
	int want = 0;
	snprintf(p, sizeof p, "%s/%s", dir, a);
	want += access(p, F_OK) == 0;
	if (b) {
		snprintf(p, sizeof p, "%s/%s", dir, b);
		want += access(p, F_OK) == 0;
	}
	return n == want;
}

/*
 * Recompute the header checksums of a plain tar stream in place, so that mutated headers reach
 * the unpacker: libarchive (not instrumented) refuses a header whose checksum is off, and the
 * fuzzer cannot see that comparison.  Walks header, data, header...; stops at an end block or a
 * size it cannot read.  Compressed input (gzip, zstd magic) is left as it is.
 */
static void fix_tar_checksums(uint8_t *t, size_t size)
{
	if (size >= 2 && t[0] == 0x1f && t[1] == 0x8b)
		return;
	if (size >= 4 && t[0] == 0x28 && t[1] == 0xb5 && t[2] == 0x2f && t[3] == 0xfd)
		return;
	for (size_t off = 0; off + 512 <= size;) {
		uint8_t *h = t + off;
		size_t zero = 0;
		while (zero < 512 && !h[zero])
			zero++;
		if (zero == 512)
			return;
		unsigned long sum = 0;
		memset(h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += h[i];
		char ck[8];
		snprintf(ck, sizeof ck, "%06lo", sum & 0777777);
		memcpy(h + 148, ck, 7); /* six digits, NUL, then the space left there */
		uint64_t len = 0;
		for (int i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
			len = len * 8 + (uint64_t)(h[i] - '0');
		if (h[124] & 0x80 || len > size)
			return;
		off += 512 + (size_t)((len + 511) / 512 * 512);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy);
	memcpy(copy, data, size);
	fix_tar_checksums(copy, size);
	int fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, copy, size) == (ssize_t)size);
	close(fd);
	free(copy);
	FUZZ_CHECK(mkdir(root, 0755) == 0);
	struct unpack_result res;
	struct lc_err err = { 0 };
	if (layer_unpack(archive, root, &res, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		if (err.errnum == EROFS) {
			fprintf(stderr, "fuzz_unpack: a write outside the layer directory was refused: %s\n", err.msg);
			abort();
		}
	} else {
		FUZZ_CHECK(!strncmp(res.diff_id, "sha256:", 7) && strlen(res.diff_id) == 71);
	}
	if (!has_only(dir_b, "root", NULL) || !has_only(dir_a, "b", NULL) || !has_only(base, "a", "archive")) {
		fprintf(stderr, "fuzz_unpack: an entry landed outside the layer directory %s\n", root);
		abort();
	}
	struct lc_err rm = { 0 };
	if (rmtree(root, &rm) < 0) {
		fprintf(stderr, "fuzz_unpack: %s\n", rm.msg);
		abort();
	}
	return 0;
}
