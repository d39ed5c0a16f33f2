/*
 * test_config.c — configuration: defaults, the INI file and its drop-ins, validation.
 *
 * Every test writes its files in a fresh temporary directory (mkdtemp under /tmp) that the
 * teardown removes with everything in it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "util/config.h"
#include "util/log.h"

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char conf[PATH_MAX];       /* <dir>/litecri.conf */
	char dropins[PATH_MAX];    /* <dir>/litecri.conf.d */
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "config");
	if (!f)
		return -1;
	snprintf(f->conf, sizeof f->conf, "%s/litecri.conf", f->dir);
	snprintf(f->dropins, sizeof f->dropins, "%s/litecri.conf.d", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state) { return tmpdir_fixture_free(*state); }

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");
	if (!fp) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void make_dropins(const struct fx *f)
{
	if (mkdir(f->dropins, 0755) < 0 && errno != EEXIST) {
		print_error("mkdir %s: %s\n", f->dropins, strerror(errno));
		fail();
	}
}

static void write_dropin(const struct fx *f, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	make_dropins(f);
	snprintf(path, sizeof path, "%s/%s", f->dropins, name);
	write_file(path, text);
}

#define assert_contains(hay, needle)                                                   \
	do {                                                                           \
		if (!strstr((hay), (needle))) {                                        \
			print_error("'%s' does not contain '%s'\n", (hay), (needle));  \
			fail();                                                        \
		}                                                                      \
	} while (0)

/* config_load of `text` (as the main file) must fail with a message containing each needle. */
static void expect_load_error(const struct fx *f, const char *text, const char *const *needles)
{
	write_file(f->conf, text);
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	int rc = config_load(&c, f->conf, 1, &err);
	config_free(&c);
	if (rc != -1)
		print_error("config_load accepted:\n%s\n", text);
	assert_int_equal(rc, -1);
	for (const char *const *n = needles; *n; n++)
		assert_contains(err.msg, *n);
}

/* config_set(key, value) must fail with a message naming the key (and the value). */
static void expect_set_error(const char *key, const char *value)
{
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	int rc = config_set(&c, key, value, &err);
	if (rc != -1)
		print_error("config_set(%s, '%s') accepted\n", key, value);
	assert_int_equal(rc, -1);
	assert_contains(err.msg, key);
	if (*value)
		assert_contains(err.msg, value);
	/* a refused value changes nothing */
	struct lc_config d;
	config_defaults(&d);
	assert_memory_equal(&c, &d, sizeof c);
}

/* ------------------------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	struct lc_config c;
	memset(&c, 0x5a, sizeof c);
	config_defaults(&c);
	assert_string_equal(c.listen, "unix:///run/litecri/litecri.sock");
	assert_string_equal(c.socket_path, "/run/litecri/litecri.sock");
	assert_string_equal(c.db, "/var/lib/litecri/litecri.db");
	assert_string_equal(c.root, "/var/lib/litecri");
	assert_string_equal(c.state, "/run/litecri");
	assert_string_equal(c.runtime, "runc");
	assert_int_equal(c.log_level, LOG_INFO);
	assert_string_equal(log_level_name(c.log_level), "INFO");
	assert_int_equal(c.log_format, LOG_TEXT);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.shutdown_timeout, 10);
	assert_int_equal(c.max_concurrent_downloads, 3);
	assert_string_equal(c.cni_conf_dir, "/etc/cni/net.d");
	assert_string_equal(c.cni_bin_dirs, "/opt/cni/bin:/usr/lib/cni");
	assert_int_equal(c.cni_max_conf_num, 1);
	assert_int_equal(c.cni_plugin_timeout, 60);
	assert_int_equal(c.events_retain, 10000);
	assert_int_equal(c.events_queue, 1024);
	assert_string_equal(c.stream_address, "127.0.0.1"); /* loopback: the endpoint trusts its tokens alone */
	assert_int_equal(c.stream_port, 0);
	assert_string_equal(c.stream_tls_cert, "");
	assert_int_equal(c.stream_idle_timeout, 4 * 3600);
	assert_int_equal(c.stream_max_sessions, 128);
	assert_string_equal(LITECRI_DEFAULT_CONFIG, "/etc/litecri/litecri.conf");
}

static void test_load_file(void **state)
{
	struct fx *f = *state;
	write_file(f->conf, "; litecri configuration\n"
			    "# another comment style\n"
			    "\n"
			    "[daemon]\n"
			    "listen = unix:///x/y.sock\n"
			    "db=/data/litecri.db\n"
			    "root = /data/root   ; inline comment\n"
			    "state = /run/x\n"
			    "log_level = debug\n"
			    "runtime = /usr/bin/crun\n"
			    "workers = 16\n"
			    "shutdown_timeout = 0\n"
			    "[cni]\n"
			    "conf_dir = /etc/x/net.d\n"
			    "bin_dirs = /a:/b/c\n"
			    "max_conf_num = 2\n"
			    "plugin_timeout = 5\n"
			    "[metrics]\n"
			    "address = [::1]:9100\n"
			    "[events]\n"
			    "retain = 50\n"
			    "queue = 8\n"
			    "[stream]\n"
			    "address = ::1\n"
			    "port = 10250\n"
			    "tls_cert = /etc/x/s.pem\n"
			    "tls_key = /etc/x/s.key\n"
			    "idle_timeout = 60\n"
			    "max_sessions = 7\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	if (config_load(&c, f->conf, 1, &err) != 0)
		print_error("config_load: %s\n", err.msg);
	assert_string_equal(c.listen, "unix:///x/y.sock");
	assert_string_equal(c.socket_path, "/x/y.sock");
	assert_string_equal(c.db, "/data/litecri.db");
	assert_string_equal(c.root, "/data/root");
	assert_string_equal(c.state, "/run/x");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_string_equal(c.runtime, "/usr/bin/crun");
	assert_int_equal(c.workers, 16);
	assert_int_equal(c.shutdown_timeout, 0);
	assert_string_equal(c.cni_conf_dir, "/etc/x/net.d");
	assert_string_equal(c.cni_bin_dirs, "/a:/b/c");
	assert_int_equal(c.cni_max_conf_num, 2);
	assert_int_equal(c.cni_plugin_timeout, 5);
	assert_string_equal(c.metrics_address, "[::1]:9100");
	assert_int_equal(c.events_retain, 50);
	assert_int_equal(c.events_queue, 8);
	assert_string_equal(c.stream_address, "::1");
	assert_int_equal(c.stream_port, 10250);
	assert_string_equal(c.stream_tls_cert, "/etc/x/s.pem");
	assert_string_equal(c.stream_tls_key, "/etc/x/s.key");
	assert_int_equal(c.stream_idle_timeout, 60);
	assert_int_equal(c.stream_max_sessions, 7);
	/* --stream-address, --stream-port; values checked */
	assert_int_equal(config_set(&c, "stream_address", "127.0.0.2", &err), 0);
	assert_int_equal(config_set(&c, "stream_port", "0", &err), 0);
	assert_string_equal(c.stream_address, "127.0.0.2");
	assert_int_equal(c.stream_port, 0);
	assert_int_equal(config_set(&c, "stream_address", "localhost", &err), -1);
	assert_int_equal(config_set(&c, "stream_port", "65536", &err), -1);
	assert_int_equal(config_set(&c, "stream_tls_key", "rel.key", &err), -1);
	assert_int_equal(config_set(&c, "stream_max_sessions", "0", &err), -1);
	/* the flags (--cni-conf-dir, --cni-bin-dirs) set the same keys, after the file */
	assert_int_equal(config_set(&c, "cni_conf_dir", "/flag/net.d", &err), 0);
	assert_int_equal(config_set(&c, "cni_bin_dirs", "/flag/bin", &err), 0);
	assert_string_equal(c.cni_conf_dir, "/flag/net.d");
	assert_string_equal(c.cni_bin_dirs, "/flag/bin");
}

/* Keys the file does not set keep their defaults; an empty file changes nothing. */
static void test_partial_and_empty_file(void **state)
{
	struct fx *f = *state;
	struct lc_config c, d;
	struct lc_err err = { 0 };
	config_defaults(&d);

	write_file(f->conf, "");
	config_defaults(&c);
	assert_int_equal(config_load(&c, f->conf, 1, &err), 0);
	assert_memory_equal(&c, &d, sizeof c);

	write_file(f->conf, "[daemon]\nworkers = 2\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, f->conf, 1, &err), 0);
	assert_int_equal(c.workers, 2);
	c.workers = d.workers;
	assert_memory_equal(&c, &d, sizeof c);
}

static void test_dropins_in_name_order(void **state)
{
	struct fx *f = *state;
	write_file(f->conf, "[daemon]\n"
			    "workers = 2\n"
			    "log_level = warn\n"
			    "runtime = main\n"
			    "db = /main.db\n");
	/* written in reverse order, so directory order is not name order by accident */
	write_dropin(f, "20-b.conf", "[daemon]\nworkers = 20\nruntime = b\n");
	write_dropin(f, "10-a.conf", "[daemon]\nworkers = 10\nruntime = a\nlog_level = error\n");
	/* not drop-ins: wrong suffix, hidden, ".conf" alone; each would be an error if read */
	write_dropin(f, "30-c.conf.bak", "[daemon]\nworkers = 99\n");
	write_dropin(f, "40-d.txt", "garbage\n");
	write_dropin(f, ".50-hidden.conf", "[daemon]\nbogus = 1\n");
	write_dropin(f, ".conf", "[daemon]\nbogus = 1\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	if (config_load(&c, f->conf, 1, &err) != 0)
		print_error("config_load: %s\n", err.msg);
	assert_int_equal(c.workers, 20);           /* 20-b.conf after 10-a.conf */
	assert_string_equal(c.runtime, "b");       /* 20-b.conf after 10-a.conf after the file */
	assert_int_equal(c.log_level, LOG_ERROR);  /* 10-a.conf after the file */
	assert_string_equal(c.db, "/main.db");     /* only the file */
	assert_string_equal(c.root, "/var/lib/litecri"); /* nobody: the default */
}

/* The drop-ins apply even when the (optional) main file does not exist. */
static void test_dropins_without_file(void **state)
{
	struct fx *f = *state;
	write_dropin(f, "10-a.conf", "[daemon]\nworkers = 7\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	if (config_load(&c, f->conf, 0, &err) != 0)
		print_error("config_load: %s\n", err.msg);
	assert_int_equal(c.workers, 7);
}

/* An error in a drop-in names the drop-in and its line. */
static void test_dropin_error(void **state)
{
	struct fx *f = *state;
	write_file(f->conf, "[daemon]\nworkers = 2\n");
	write_dropin(f, "10-a.conf", "[daemon]\nworkers = 3\n");
	write_dropin(f, "20-b.conf", "[daemon]\n\n# comment\nlog_level = loud\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	assert_int_equal(config_load(&c, f->conf, 1, &err), -1);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/20-b.conf", f->dropins);
	assert_contains(err.msg, path);
	assert_contains(err.msg, "line 4");
	assert_contains(err.msg, "log_level");
	assert_contains(err.msg, "loud");
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	struct lc_config c, d;
	config_defaults(&c);
	config_defaults(&d);
	struct lc_err err = { 0 };
	/* not required (the default file): fine, nothing changes */
	assert_int_equal(config_load(&c, f->conf, 0, &err), 0);
	assert_memory_equal(&c, &d, sizeof c);
	/* required (--config): an error naming the file and the reason */
	assert_int_equal(config_load(&c, f->conf, 1, &err), -1);
	assert_contains(err.msg, f->conf);
	assert_contains(err.msg, strerror(ENOENT));
	assert_int_equal(err.errnum, ENOENT);
}

static void test_file_errors(void **state)
{
	struct fx *f = *state;
	char line[PATH_MAX + 32];

	/* unknown key: names the key, the file and the line */
	expect_load_error(f, "[daemon]\nworkers = 2\nbogus_key = 1\n",
			  (const char *const[]){ "bogus_key", f->conf, "line 3", NULL });
	/* unknown section */
	expect_load_error(f, "# c\n[network]\nworkers = 2\n",
			  (const char *const[]){ "network", f->conf, "line 3", NULL });
	/* [cni]: its keys without the prefix, only there; bad values name the key */
	expect_load_error(f, "[cni]\nconf_dir = relative\n", (const char *const[]){ "cni_conf_dir", "line 2", NULL });
	expect_load_error(f, "[cni]\nbin_dirs = /a::/b\n", (const char *const[]){ "cni_bin_dirs", "line 2", NULL });
	expect_load_error(f, "[cni]\nbin_dirs = /a:b\n", (const char *const[]){ "cni_bin_dirs", "line 2", NULL });
	expect_load_error(f, "[cni]\nmax_conf_num = 0\n", (const char *const[]){ "cni_max_conf_num", "line 2", NULL });
	expect_load_error(f, "[cni]\nplugin_timeout = 0\n", (const char *const[]){ "cni_plugin_timeout", "line 2", NULL });
	expect_load_error(f, "[cni]\ncni_conf_dir = /x\n", (const char *const[]){ "cni_conf_dir", "line 2", NULL });
	expect_load_error(f, "[cni]\nworkers = 2\n", (const char *const[]){ "workers", "line 2", NULL });
	expect_load_error(f, "[daemon]\ncni_conf_dir = /x\n", (const char *const[]){ "[cni]", "line 2", NULL });
	/* [metrics] likewise */
	expect_load_error(f, "[metrics]\naddress = 1338\n", (const char *const[]){ "metrics_address", "line 2", NULL });
	expect_load_error(f, "[metrics]\nport = 1\n", (const char *const[]){ "metrics_port", "line 2", NULL });
	expect_load_error(f, "[daemon]\nmetrics_address = x:1\n", (const char *const[]){ "[metrics]", "line 2", NULL });
	/* [events] likewise */
	expect_load_error(f, "[events]\nretain = 0\n", (const char *const[]){ "events_retain", "line 2", NULL });
	expect_load_error(f, "[events]\nqueue = 0\n", (const char *const[]){ "events_queue", "line 2", NULL });
	expect_load_error(f, "[events]\nevents_retain = 5\n", (const char *const[]){ "events_retain", "line 2", NULL });
	expect_load_error(f, "[events]\nconf_dir = /x\n", (const char *const[]){ "conf_dir", "line 2", NULL });
	expect_load_error(f, "[daemon]\nevents_queue = 5\n", (const char *const[]){ "[events]", "line 2", NULL });
	/* a key before any section */
	expect_load_error(f, "workers = 2\n", (const char *const[]){ f->conf, "line 1", NULL });
	/* syntax errors */
	expect_load_error(f, "[daemon]\nworkers = 2\nthis line is not ini\n",
			  (const char *const[]){ f->conf, "line 3", NULL });
	expect_load_error(f, "[daemon\nworkers = 2\n", (const char *const[]){ f->conf, "line 1", NULL });
	/* bad values: name the key */
	expect_load_error(f, "[daemon]\nlog_level = loud\n",
			  (const char *const[]){ "log_level", "loud", f->conf, "line 2", NULL });
	expect_load_error(f, "[daemon]\ndb = relative/litecri.db\n",
			  (const char *const[]){ "db", "relative/litecri.db", f->conf, "line 2", NULL });
	expect_load_error(f, "[daemon]\nroot = var/lib\n", (const char *const[]){ "root", "line 2", NULL });
	expect_load_error(f, "[daemon]\nstate = run\n", (const char *const[]){ "state", "line 2", NULL });
	expect_load_error(f, "[daemon]\nlisten = tcp://127.0.0.1:1234\n",
			  (const char *const[]){ "listen", "tcp://127.0.0.1:1234", f->conf, "line 2", NULL });
	expect_load_error(f, "[daemon]\nworkers = 0\n", (const char *const[]){ "workers", "line 2", NULL });
	expect_load_error(f, "[daemon]\nworkers = 257\n", (const char *const[]){ "workers", "257", NULL });
	expect_load_error(f, "[daemon]\nshutdown_timeout = 3601\n",
			  (const char *const[]){ "shutdown_timeout", "3601", NULL });
	/* the first error wins: a later valid line does not hide it */
	expect_load_error(f, "[daemon]\nworkers = 0\nworkers = 4\n",
			  (const char *const[]){ "workers", "line 2", NULL });

	/* a line longer than libinih's buffer is refused, not split into two entries */
	{
		char text[512];
		int n = snprintf(text, sizeof text, "[daemon]\nruntime = /usr/bin/");
		memset(text + n, 'r', 300);
		strcpy(text + n + 300, " log_level = debug\n");
		expect_load_error(f, text, (const char *const[]){ f->conf, "line 2", "too long", NULL });
	}

	/* a directory where the file should be */
	snprintf(line, sizeof line, "%s/dir.conf", f->dir);
	assert_int_equal(mkdir(line, 0755), 0);
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	/* fopen(3) opens a directory for reading; the read fails and must not pass as empty */
	assert_int_equal(config_load(&c, line, 1, &err), -1);
	assert_contains(err.msg, line);
	assert_int_equal(err.errnum, EISDIR);
}

/* With both a syntax error and a bad key in one file, the message describes the first one. */
static void test_first_error_is_reported(void **state)
{
	struct fx *f = *state;
	write_file(f->conf, "[daemon]\nnot an assignment\nbogus_key = 1\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	assert_int_equal(config_load(&c, f->conf, 1, &err), -1);
	assert_contains(err.msg, f->conf);
	assert_contains(err.msg, "line 2");
	if (strstr(err.msg, "bogus_key"))
		print_error("the message pairs line 2 with line 3's error: %s\n", err.msg);
	assert_null(strstr(err.msg, "bogus_key"));
	assert_contains(err.msg, "syntax error");

	/* the other way round: the bad key first, then a syntax error */
	write_file(f->conf, "[daemon]\nbogus_key = 1\nnot an assignment\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, f->conf, 1, &err), -1);
	assert_contains(err.msg, "line 2");
	assert_contains(err.msg, "bogus_key");

	/* two bad keys: the first one, with its line */
	write_file(f->conf, "[daemon]\n\nfirst_bad = 1\nsecond_bad = 2\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, f->conf, 1, &err), -1);
	assert_contains(err.msg, "line 3");
	assert_contains(err.msg, "first_bad");
}

static void test_value_validation(void **state)
{
	(void)state;
	expect_set_error("log_level", "loud");
	expect_set_error("log_level", "");
	expect_set_error("log_format", "JSON");
	expect_set_error("log_format", "logfmt");
	expect_set_error("log_format", "");
	expect_set_error("db", "relative/x.db");
	expect_set_error("db", "");
	expect_set_error("root", "./root");
	expect_set_error("state", "run/litecri");
	expect_set_error("listen", "tcp://127.0.0.1:1234");
	expect_set_error("listen", "127.0.0.1:1234");
	expect_set_error("listen", "relative.sock");
	expect_set_error("listen", "unix://relative.sock");
	expect_set_error("listen", "unix:relative.sock");
	expect_set_error("listen", "unix:");
	expect_set_error("listen", "");
	expect_set_error("workers", "0");
	expect_set_error("workers", "-1");
	expect_set_error("workers", "257");
	expect_set_error("workers", "4x");
	expect_set_error("workers", "four");
	expect_set_error("workers", "99999999999999999999");
	expect_set_error("workers", "");
	expect_set_error("shutdown_timeout", "-1");
	expect_set_error("shutdown_timeout", "3601");
	expect_set_error("max_concurrent_downloads", "0");
	expect_set_error("max_concurrent_downloads", "17");
	expect_set_error("runtime", "");

	/* an unknown key is named (it has no value to check) */
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	assert_int_equal(config_set(&c, "no_such_key", "1", &err), -1);
	assert_contains(err.msg, "no_such_key");
	/* the command-line spelling is translated by the caller, not here */
	assert_int_equal(config_set(&c, "log-level", "info", &err), -1);
	assert_contains(err.msg, "log-level");

	/* a socket path longer than sockaddr_un.sun_path holds */
	char longsock[200] = "/";
	memset(longsock + 1, 'a', 120);
	longsock[121] = '\0';
	strcat(longsock, ".sock");
	expect_set_error("listen", longsock);

	/* a path longer than PATH_MAX */
	char *longpath = malloc(PATH_MAX + 2);
	assert_non_null(longpath);
	longpath[0] = '/';
	memset(longpath + 1, 'p', PATH_MAX);
	longpath[PATH_MAX + 1] = '\0';
	config_defaults(&c);
	assert_int_equal(config_set(&c, "db", longpath, &err), -1);
	assert_contains(err.msg, "db");
	free(longpath);

	/* the accepted ranges, inclusive */
	static const struct {
		const char *key, *value;
		int want;
	} ok[] = {
		{ "workers", "1", 1 },
		{ "workers", "256", 256 },
		{ "shutdown_timeout", "0", 0 },
		{ "shutdown_timeout", "3600", 3600 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		config_defaults(&c);
		if (config_set(&c, ok[i].key, ok[i].value, &err) != 0)
			print_error("config_set(%s, %s): %s\n", ok[i].key, ok[i].value, err.msg);
		int got = !strcmp(ok[i].key, "workers") ? c.workers : c.shutdown_timeout;
		assert_int_equal(got, ok[i].want);
	}
	static const struct {
		const char *name;
		int level;
	} levels[] = { { "error", LOG_ERROR }, { "warn", LOG_WARN }, { "warning", LOG_WARN },
		       { "info", LOG_INFO },   { "debug", LOG_DEBUG }, { "DEBUG", LOG_DEBUG } };
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		config_defaults(&c);
		assert_int_equal(config_set(&c, "log_level", levels[i].name, &err), 0);
		assert_int_equal(c.log_level, levels[i].level);
	}
	config_defaults(&c);
	assert_int_equal(config_set(&c, "log_format", "json", &err), 0);
	assert_int_equal(c.log_format, LOG_JSON);
	assert_int_equal(config_set(&c, "log_format", "text", &err), 0);
	assert_int_equal(c.log_format, LOG_TEXT);
}

static void test_listen_forms(void **state)
{
	struct fx *f = *state;
	static const char *const forms[] = { "unix:///x/y.sock", "unix:/x/y.sock", "/x/y.sock" };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct lc_config c;
		config_defaults(&c);
		struct lc_err err = { 0 };
		if (config_set(&c, "listen", forms[i], &err) != 0)
			print_error("listen %s: %s\n", forms[i], err.msg);
		assert_string_equal(c.socket_path, "/x/y.sock");
		assert_string_equal(c.listen, "unix:///x/y.sock");

		/* and the same through a file */
		char text[128];
		snprintf(text, sizeof text, "[daemon]\nlisten = %s\n", forms[i]);
		write_file(f->conf, text);
		config_defaults(&c);
		if (config_load(&c, f->conf, 1, &err) != 0)
			print_error("listen %s: %s\n", forms[i], err.msg);
		assert_string_equal(c.socket_path, "/x/y.sock");
		assert_string_equal(c.listen, "unix:///x/y.sock");
	}
}

/* Registry sections: mirrors in order, insecure and upstream flags, "*" only for hosts without a section. */
static void test_registry_sections(void **state)
{
	struct fx *f = *state;
	write_file(f->conf,
		   "[registry \"*\"]\n"
		   "mirror = https://mirror.example/prefix/\n"
		   "mirror = http://127.0.0.1:5000 insecure\n"
		   "mirror = https://cache.example ca=/etc/litecri/cache.pem\n"
		   "upstream = false\n"
		   "[registry \"127.0.0.1:6000\"]\n"
		   "insecure = true\n"
		   "[registry \"corp.example\"]\n"
		   "ca = /etc/litecri/corp.pem\n");
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	assert_int_equal(config_load(&c, f->conf, 1, &err), 0);
	/* a flag appends to the file's list */
	assert_int_equal(config_set(&c, "registry_mirror", "*=https://third.example,insecure", &err), 0);
	const struct lc_registry *star = config_registry_for(&c, "registry.k8s.io");
	assert_non_null(star);
	assert_string_equal(star->host, "*");
	assert_int_equal(star->n_mirrors, 4);
	assert_string_equal(star->mirrors[0].url, "https://mirror.example/prefix");
	assert_int_equal(star->mirrors[0].insecure, 0);
	assert_string_equal(star->mirrors[0].ca, "");
	assert_string_equal(star->mirrors[1].url, "http://127.0.0.1:5000");
	assert_int_equal(star->mirrors[1].insecure, 1);
	assert_string_equal(star->mirrors[2].url, "https://cache.example");
	assert_string_equal(star->mirrors[2].ca, "/etc/litecri/cache.pem");
	assert_int_equal(star->mirrors[2].insecure, 0);
	assert_string_equal(star->mirrors[3].url, "https://third.example");
	assert_int_equal(star->mirrors[3].insecure, 1);
	assert_string_equal(config_registry_for(&c, "corp.example")->ca, "/etc/litecri/corp.pem");
	assert_int_equal(config_registry_for(&c, "corp.example")->insecure, 0);
	assert_int_equal(star->upstream, 0);
	const struct lc_registry *own = config_registry_for(&c, "127.0.0.1:6000");
	assert_non_null(own);
	assert_string_equal(own->host, "127.0.0.1:6000");
	assert_int_equal(own->n_mirrors, 0);
	assert_int_equal(own->insecure, 1);
	assert_int_equal(own->upstream, 1);
	assert_int_equal(config_set(&c, "insecure_registry", "docker.io", &err), 0);
	assert_int_equal(config_registry_for(&c, "docker.io")->insecure, 1);
	config_free(&c);

	/* Without a "*" section a host has no settings at all. */
	config_defaults(&c);
	assert_null(config_registry_for(&c, "registry.k8s.io"));
	config_free(&c);

	static const char *const plain_http[] = { "mirror http://10.0.0.1:5000 is plain HTTP", "insecure", NULL };
	expect_load_error(f, "[registry \"*\"]\nmirror = http://10.0.0.1:5000\n", plain_http);
	static const char *const not_url[] = { "line 2", "not an http(s)://host", NULL };
	expect_load_error(f, "[registry \"*\"]\nmirror = ftp://x\n", not_url);
	static const char *const bad_ca[] = { "ca 'rel.pem': not an absolute path", NULL };
	expect_load_error(f, "[registry \"*\"]\nmirror = https://x ca=rel.pem\n", bad_ca);
	expect_load_error(f, "[registry \"x.io\"]\nca = rel.pem\n", bad_ca);
	write_file(f->conf, "[registry \"*\"]\nmirror = https://x insecure,ca=/a.pem\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, f->conf, 1, &err), 0);
	assert_int_equal(config_registry_for(&c, "y")->mirrors[0].insecure, 1);
	assert_string_equal(config_registry_for(&c, "y")->mirrors[0].ca, "/a.pem");
	config_free(&c);
	static const char *const bad_opt[] = { "unknown option 'secure'", NULL };
	expect_load_error(f, "[registry \"*\"]\nmirror = https://x secure\n", bad_opt);
	static const char *const bad_key[] = { "unknown setting 'mirrors'", NULL };
	expect_load_error(f, "[registry \"*\"]\nmirrors = https://x\n", bad_key);
	static const char *const bad_host[] = { "not a registry host", NULL };
	expect_load_error(f, "[registry \"a/b\"]\ninsecure = true\n", bad_host);
	static const char *const bad_bool[] = { "upstream", "'maybe' is not true or false", NULL };
	expect_load_error(f, "[registry \"x.io\"]\nupstream = maybe\n", bad_bool);
	static const char *const bad_section[] = { "unknown section [registry]", NULL };
	expect_load_error(f, "[registry]\ninsecure = true\n", bad_section);
	static const char *const bad_flag[] = { "registry_mirror", "HOST=URL", NULL };
	config_defaults(&c);
	assert_int_equal(config_set(&c, "registry_mirror", "https://x", &err), -1);
	for (const char *const *n = bad_flag; *n; n++)
		assert_contains(err.msg, *n);
	config_free(&c);
}

/*
 * The default config file installed to /etc/litecri (packaging/litecri.conf): loads as it is
 * (all comments) and, with every "#key = value" and "#[section]" line uncommented, still gives
 * exactly the defaults: the values it shows are the defaults.  It shows every key of
 * config_defaults (the pause line, whose default is a lookup, is prose).
 */
static void test_installed_config(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/packaging/litecri.conf", LITECRI_SOURCE_DIR);
	struct lc_config d, c;
	config_defaults(&d);
	config_defaults(&c);
	struct lc_err err = { 0 };
	if (config_load(&c, path, 1, &err) != 0)
		print_error("config_load %s: %s\n", path, err.msg);
	assert_memory_equal(&c, &d, sizeof c);

	FILE *in = fopen(path, "re");
	assert_non_null(in);
	char text[16384] = "", line[512];
	size_t n = 0;
	int settings = 0;
	while (fgets(line, sizeof line, in)) {
		const char *l = line;
		if (line[0] == '#' && (islower((unsigned char)line[1]) || line[1] == '[')) {
			l = line + 1;
			settings += line[1] != '[';
		}
		size_t ll = strlen(l);
		assert_true(n + ll < sizeof text);
		memcpy(text + n, l, ll + 1);
		n += ll;
	}
	fclose(in);
	write_file(f->conf, text);
	config_defaults(&c);
	if (config_load(&c, f->conf, 1, &err) != 0)
		print_error("config_load of the uncommented file: %s\n%s\n", err.msg, text);
	assert_string_equal(c.listen, d.listen);
	assert_string_equal(c.cni_bin_dirs, d.cni_bin_dirs);
	assert_memory_equal(&c, &d, sizeof c);
	/* listen db root state runtime conmon log_level log_format workers shutdown_timeout
	 * max_concurrent_downloads; [cni] conf_dir bin_dirs max_conf_num plugin_timeout; [events]
	 * retain queue; [stream] address port tls_cert tls_key idle_timeout max_sessions; [metrics]
	 * address */
	assert_int_equal(settings, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_and_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropins_in_name_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropins_without_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropin_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_error_is_reported, setup, teardown),
		cmocka_unit_test(test_value_validation),
		cmocka_unit_test_setup_teardown(test_listen_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_installed_config, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
