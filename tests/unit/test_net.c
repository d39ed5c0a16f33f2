/*
 * test_net.c — the CNI module (src/net): config selection, wrapping, validation and readiness,
 * the watch of the config dir, the protocol (environment, stdin, runtimeConfig, prevResult, the
 * order of DEL, errors, timeouts) with script plugins, and real ADD / DEL with Debian's
 * containernetworking-plugins (bridge, host-local, portmap, bandwidth) into a pinned namespace.
 *
 * Safety (issue 14): the whole test runs in a network namespace of its own (unshare at start), so
 * the bridge, the iptables chains portmap makes and the ip_forward the bridge plugin turns on
 * with isGateway all live and die there; the host's are checked unchanged at the end.  The test
 * network: a bridge "lcnt<pid>", subnet 169.254.77.0/24, isGateway, no ipMasq, no routes, hostPort
 * on 127.0.0.1 only, host-local's dataDir in the test's temporary dir.  Runs as root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/tmpdir.h"
#include "net/net.h"
#include "runtime/podns.h"
#include "util/log.h"
#include "util/proc.h"

#define PLUGINS "/usr/lib/cni"

struct fx {
	char dir[TMPDIR_DIR_SIZE]; /* first: see tmpdir_fixture */
	char conf[256], bin[256], bin2[256], rec[256], pod[256], ipam[256];
	char bins[1024]; /* "<bin>:<bin2>:/usr/lib/cni" */
	char bridge[IFNAMSIZ];
	struct net *net;
	int pod_made;
};
TMPDIR_FIXTURE_CHECK(struct fx);

static int host_forward_fd = -1; /* the host's /proc/sys/net/ipv4/ip_forward, opened before unshare */
static char host_forward[8];

/* ---- helpers ------------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text, mode_t mode)
{
	assert_int_equal(tmpdir_write(path, text, mode), 0); /* whole, as a config writer should */
}

static void writef(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void writef(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
{
	char path[PATH_MAX], *text;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	write_file(path, text, mode);
	free(text);
}

static char *read_text(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll net_ready until it says `want`, at most ms. */
static int wait_ready(struct net *n, int want, int ms, char *msg, size_t len)
{
	int64_t end = now_ms() + ms;
	for (;;) {
		int r = net_ready(n, msg, len);
		if (r == want || now_ms() > end)
			return r;
		usleep(20 * 1000);
	}
}

/* Poll net_ready until its reason holds `want`, at most ms; 0 when it did. */
static int wait_reason(struct net *n, const char *want, int ms, char *msg, size_t len)
{
	int64_t end = now_ms() + ms;
	for (;;) {
		if (net_ready(n, msg, len) == 0 && strstr(msg, want))
			return 0;
		if (now_ms() > end)
			return -1;
		usleep(20 * 1000);
	}
}

/* Run a shell command; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void open_net(struct fx *f, int max, int timeout_s)
{
	struct net_config c = { .conf_dir = f->conf, .bin_dirs = f->bins, .max_conf_num = max, .timeout_s = timeout_s };
	struct lc_err err = { 0 };
	assert_int_equal(net_open(&c, &f->net, &err), 0);
}

/* A script plugin: records its command, environment and stdin in rec/, then runs `body`. */
static void script_plugin(const char *bindir, const char *type, const char *rec, const char *body)
{
	writef(bindir, type, 0755,
	       "#!/bin/sh\n"
	       "echo \"$CNI_COMMAND %s\" >> %s/order\n"
	       "cat > %s/$CNI_COMMAND-%s.stdin\n"
	       "env | grep '^CNI_' | sort > %s/$CNI_COMMAND-%s.env\n"
	       "%s\n",
	       type, rec, rec, type, rec, type, body);
}

/* A script plugin whose ADD prints `result` (one line of JSON). */
static void result_plugin(const char *bindir, const char *type, const char *rec, const char *result)
{
	char body[1024];
	snprintf(body, sizeof body, "[ \"$CNI_COMMAND\" = ADD ] && echo '%s'\nexit 0", result);
	script_plugin(bindir, type, rec, body);
}

/* A script plugin whose ADD fails with `error` (a CNI error, one line of JSON); its DEL succeeds. */
static void error_plugin(const char *bindir, const char *type, const char *rec, const char *error)
{
	char body[1024];
	snprintf(body, sizeof body, "[ \"$CNI_COMMAND\" = DEL ] && exit 0\necho '%s'\nexit 1", error);
	script_plugin(bindir, type, rec, body);
}

static int setup(void **state)
{
	struct fx *f = tmpdir_fixture(sizeof *f, "net");
	if (!f)
		return -1;
	snprintf(f->conf, sizeof f->conf, "%s/net.d", f->dir);
	snprintf(f->bin, sizeof f->bin, "%s/bin", f->dir);
	snprintf(f->bin2, sizeof f->bin2, "%s/bin2", f->dir);
	snprintf(f->rec, sizeof f->rec, "%s/rec", f->dir);
	snprintf(f->pod, sizeof f->pod, "%s/pod", f->dir);
	snprintf(f->ipam, sizeof f->ipam, "%s/ipam", f->dir);
	snprintf(f->bins, sizeof f->bins, "%s:%s:%s", f->bin, f->bin2, PLUGINS);
	snprintf(f->bridge, sizeof f->bridge, "lcnt%d", (int)getpid() % 1000000);
	if (mkdir(f->conf, 0755) < 0 || mkdir(f->bin, 0755) < 0 || mkdir(f->bin2, 0755) < 0 || mkdir(f->rec, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	net_close(f->net);
	if (f->pod_made) {
		struct lc_err err;
		if (podns_remove(f->pod, &err) < 0)
			fprintf(stderr, "teardown: %s\n", err.msg);
	}
	/* the bridge, if a test made one (its own netns would drop it anyway) */
	sh("ip link del %s 2>/dev/null", f->bridge);
	return tmpdir_fixture_free(f);
}

/* ---- configuration and readiness ---------------------------------------------------------- */

static void test_missing_and_empty_dir(void **state)
{
	struct fx *f = *state;
	char msg[1024], want[PATH_MAX + 64];
	assert_int_equal(rmdir(f->conf), 0);
	open_net(f, 1, 10);
	snprintf(want, sizeof want, "no network config found in %s", f->conf);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	assert_string_equal(msg, want);
	net_close(f->net);
	f->net = NULL;

	assert_int_equal(mkdir(f->conf, 0755), 0);
	writef(f->conf, "README", 0644, "not a config\n");
	writef(f->conf, "notes.txt", 0644, "{}\n");
	open_net(f, 1, 10);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	assert_string_equal(msg, want);
	struct lc_err err;
	struct net_attachment a;
	struct net_pod p = { .id = "abc", .ifname = "eth0", .netns = "" };
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(err.msg, want);
}

static void test_conf_wrapped_and_order(void **state)
{
	struct fx *f = *state;
	char msg[1024];
	writef(f->conf, "20-b.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"netb\",\"plugins\":[{\"type\":\"bridge\"},{\"type\":\"portmap\"}]}");
	writef(f->conf, "10-a.conf", 0644, "{\"cniVersion\":\"0.4.0\",\"name\":\"neta\",\"type\":\"bridge\",\"bridge\":\"x0\"}");
	writef(f->conf, "30-c.json", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"netc\",\"type\":\"loopback\"}");
	open_net(f, 1, 10);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 1);
	assert_string_equal(msg, "");
	json_t *info = net_info(f->net);
	assert_string_equal(json_string_value(json_object_get(info, "confDir")), f->conf);
	assert_string_equal(json_string_value(json_object_get(info, "binDirs")), f->bins);
	json_t *nets = json_object_get(info, "networks");
	assert_int_equal(json_array_size(nets), 1);
	json_t *l = json_array_get(nets, 0);
	/* the .conf, first in name order, wrapped into a list */
	assert_string_equal(json_string_value(json_object_get(l, "name")), "neta");
	assert_string_equal(json_string_value(json_object_get(l, "cniVersion")), "0.4.0");
	json_t *pl = json_array_get(json_object_get(l, "plugins"), 0);
	assert_string_equal(json_string_value(json_object_get(pl, "type")), "bridge");
	assert_string_equal(json_string_value(json_object_get(pl, "bridge")), "x0");
	json_decref(info);
	net_close(f->net);
	f->net = NULL;

	/* max_conf_num 3: all three, in name order (.json is a single config too) */
	open_net(f, 3, 10);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 1);
	info = net_info(f->net);
	nets = json_object_get(info, "networks");
	assert_int_equal(json_array_size(nets), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 1), "name")), "netb");
	assert_int_equal(json_array_size(json_object_get(json_array_get(nets, 1), "plugins")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 2), "name")), "netc");
	json_decref(info);
}

/* Each broken config gives a reason naming the file and what is wrong. */
static void test_invalid_configs(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}", "invalid JSON" },
		{ "10-x.conflist", "[1]", "not a JSON object" },
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}", "no \"name\"" },
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"a b\",\"plugins\":[{\"type\":\"bridge\"}]}",
		  "\"name\" is not a network name" },
		{ "10-x.conflist", "{\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}", "network x: no \"cniVersion\"" },
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[]}", "network x: no \"plugins\"" },
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"},{}]}",
		  "network x: plugin 1 has no \"type\"" },
		{ "10-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"../bin/sh\"}]}",
		  "network x: plugin 0 has no \"type\"" },
		{ "10-x.conf", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}",
		  "no \"type\" (a list of plugins is a .conflist)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[PATH_MAX], msg[1024];
		snprintf(path, sizeof path, "%s/%s", f->conf, cases[i].name);
		write_file(path, cases[i].text, 0644);
		open_net(f, 1, 10);
		assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
		if (!strstr(msg, path) || !strstr(msg, cases[i].want))
			fail_msg("case %zu: reason \"%s\" does not name %s and \"%s\"", i, msg, path, cases[i].want);
		net_close(f->net);
		f->net = NULL;
		assert_int_equal(unlink(path), 0);
	}
}

/* A plugin that is not there: the reason names it and the dirs; once installed, ready. */
static void test_missing_plugin(void **state)
{
	struct fx *f = *state;
	char msg[1024], want[4 * PATH_MAX];
	writef(f->conf, "10-x.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"},{\"type\":\"lcnt-none\"}]}");
	open_net(f, 1, 10);
	snprintf(want, sizeof want, "network x: plugin lcnt-none not found in %s", f->bins);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	assert_string_equal(msg, want);
	/* not executable: still missing */
	writef(f->bin2, "lcnt-none", 0644, "#!/bin/sh\nexit 0\n");
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	writef(f->bin2, "lcnt-none", 0755, "#!/bin/sh\nexit 0\n");
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 1);
}

/* The sample config shipped in docs/ (for operators; never run here: its isGateway would turn on
 * ip_forward) is a valid config whose plugins Debian's containernetworking-plugins has, and its
 * subnet is link-local (issue 14's rules for docs). */
static void test_docs_sample(void **state)
{
	struct fx *f = *state;
	char src[PATH_MAX], dst[PATH_MAX], msg[1024];
	snprintf(src, sizeof src, "%s/docs/10-litecri-bridge.conflist", LITECRI_SOURCE_DIR);
	snprintf(dst, sizeof dst, "%s/10-litecri-bridge.conflist", f->conf);
	assert_int_equal(symlink(src, dst), 0);
	open_net(f, 1, 10);
	if (net_ready(f->net, msg, sizeof msg) != 1)
		fail_msg("%s: %s", src, msg);
	json_t *info = net_info(f->net);
	json_t *l = json_array_get(json_object_get(info, "networks"), 0);
	assert_string_equal(json_string_value(json_object_get(l, "name")), "litecri");
	json_t *bridge = json_array_get(json_object_get(l, "plugins"), 0);
	json_t *range = json_array_get(json_array_get(json_object_get(json_object_get(bridge, "ipam"), "ranges"), 0), 0);
	const char *subnet = json_string_value(json_object_get(range, "subnet"));
	assert_non_null(subnet);
	assert_int_equal(strncmp(subnet, "169.254.", 8), 0);
	assert_true(json_is_false(json_object_get(bridge, "ipMasq")));
	json_decref(info);
}

/* The watch: a config that appears, changes, disappears; a conf dir that appears later. */
static void test_watch(void **state)
{
	struct fx *f = *state;
	char msg[1024];
	open_net(f, 1, 10);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	writef(f->conf, "10-x.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}");
	assert_int_equal(wait_ready(f->net, 1, 3000, msg, sizeof msg), 1);
	/* changed to a broken one, then to one with a missing plugin */
	writef(f->conf, "10-x.conflist", 0644, "{");
	assert_int_equal(wait_reason(f->net, "invalid JSON", 3000, msg, sizeof msg), 0);
	writef(f->conf, "10-x.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"lcnt-none\"}]}");
	assert_int_equal(wait_reason(f->net, "plugin lcnt-none not found", 3000, msg, sizeof msg), 0);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/10-x.conflist", f->conf);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(wait_reason(f->net, "no network config found", 3000, msg, sizeof msg), 0);
	net_close(f->net);
	f->net = NULL;

	/* the dir itself missing at start, made later, removed again */
	assert_int_equal(rmdir(f->conf), 0);
	open_net(f, 1, 10);
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0);
	assert_int_equal(mkdir(f->conf, 0755), 0);
	writef(f->conf, "10-x.conf", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"type\":\"bridge\"}");
	assert_int_equal(wait_ready(f->net, 1, 4000, msg, sizeof msg), 1);
	assert_int_equal(unlink(path) == 0 || errno == ENOENT, 1);
	snprintf(path, sizeof path, "%s/10-x.conf", f->conf);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(f->conf), 0);
	assert_int_equal(wait_ready(f->net, 0, 3000, msg, sizeof msg), 0);
	assert_int_equal(mkdir(f->conf, 0755), 0);
	writef(f->conf, "10-x.conf", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"type\":\"bridge\"}");
	assert_int_equal(wait_ready(f->net, 1, 4000, msg, sizeof msg), 1);
}

/* ---- the protocol, with script plugins ---------------------------------------------------- */

static json_t *load_rec(struct fx *f, const char *name)
{
	char *t = read_text(f->rec, name);
	if (!t)
		fail_msg("%s/%s was not written", f->rec, name);
	json_t *j = json_loads(t, 0, NULL);
	free(t);
	assert_non_null(j);
	return j;
}

static void test_protocol(void **state)
{
	struct fx *f = *state;
	/* reca is found in bin (bin2's copy must not run), recb in bin2 */
	result_plugin(f->bin, "reca", f->rec, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"169.254.1.1/24\"}]}");
	writef(f->bin2, "reca", 0755, "#!/bin/sh\necho wrong >> %s/order\nexit 1\n", f->rec);
	result_plugin(f->bin2, "recb", f->rec,
		      /* the pod's addresses are eth0's: not lo's, nor a loopback one tied to no interface */
		      "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\",\"sandbox\":\"/x\"},"
		      "{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":[{\"interface\":0,\"address\":\"127.0.0.1/8\"},"
		      "{\"interface\":1,\"address\":\"fd00::2/64\"},{\"interface\":1,\"address\":\"169.254.1.2/24\"},"
		      "{\"address\":\"::1/128\"}]}");
	writef(f->conf, "10-p.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"plugins\":["
	       "{\"type\":\"reca\",\"capabilities\":{\"portMappings\":true}},"
	       "{\"type\":\"recb\",\"capabilities\":{\"bandwidth\":true,\"dns\":true,\"ips\":true},\"extra\":7}]}");
	open_net(f, 1, 10);

	struct net_port ports[] = { { "tcp", 80, 8080, "127.0.0.1" }, { "udp", 53, 5353, "" } };
	char *servers[] = { "169.254.1.53" }, *searches[] = { "svc.local", "local" }, *options[] = { "ndots:5" };
	char *ips[] = { "169.254.1.2/24" };
	struct net_pod p = {
		.id = "0123abcd", .name = "web", .namespace_ = "default", .uid = "u-1", .netns = "/var/run/x/net",
		.ifname = "eth0", .ports = ports, .n_ports = 2, .ingress_bps = 1000000, .egress_bps = 0,
		.dns_servers = servers, .n_dns_servers = 1, .dns_searches = searches, .n_dns_searches = 2,
		.dns_options = options, .n_dns_options = 1, .ips = ips, .n_ips = 1,
	};
	struct net_attachment a;
	struct lc_err err = { 0 };
	if (net_add(f->net, &p, NULL, &a, &err) < 0)
		fail_msg("net_add: %s", err.msg);
	assert_int_equal(a.n_ips, 2);
	assert_string_equal(a.ips[0], "169.254.1.2"); /* IPv4 first */
	assert_string_equal(a.ips[1], "fd00::2");

	/* the environment */
	char *env = read_text(f->rec, "ADD-reca.env");
	assert_non_null(env);
	char want[4 * PATH_MAX];
	assert_non_null(strstr(env, "CNI_COMMAND=ADD\n"));
	assert_non_null(strstr(env, "CNI_CONTAINERID=0123abcd\n"));
	assert_non_null(strstr(env, "CNI_NETNS=/var/run/x/net\n"));
	assert_non_null(strstr(env, "CNI_IFNAME=eth0\n"));
	assert_non_null(strstr(env, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
				    "K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=u-1\n"));
	snprintf(want, sizeof want, "CNI_PATH=%s\n", f->bins);
	assert_non_null(strstr(env, want));
	free(env);

	/* stdin: name and cniVersion from the list, runtimeConfig for the declared capabilities only */
	json_t *a_in = load_rec(f, "ADD-reca.stdin");
	assert_string_equal(json_string_value(json_object_get(a_in, "name")), "p");
	assert_string_equal(json_string_value(json_object_get(a_in, "cniVersion")), "1.0.0");
	assert_null(json_object_get(a_in, "prevResult"));
	json_t *rc = json_object_get(a_in, "runtimeConfig");
	assert_int_equal(json_object_size(rc), 1);
	json_t *pm = json_object_get(rc, "portMappings");
	assert_int_equal(json_array_size(pm), 2);
	json_t *m0 = json_array_get(pm, 0), *m1 = json_array_get(pm, 1);
	assert_int_equal(json_integer_value(json_object_get(m0, "hostPort")), 8080);
	assert_int_equal(json_integer_value(json_object_get(m0, "containerPort")), 80);
	assert_string_equal(json_string_value(json_object_get(m0, "protocol")), "tcp");
	assert_string_equal(json_string_value(json_object_get(m0, "hostIP")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(m1, "protocol")), "udp");
	assert_null(json_object_get(m1, "hostIP"));
	json_decref(a_in);

	json_t *b_in = load_rec(f, "ADD-recb.stdin");
	assert_int_equal(json_integer_value(json_object_get(b_in, "extra")), 7);
	json_t *prev = json_object_get(b_in, "prevResult"); /* reca's result, chained */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(prev, "ips"), 0), "address")),
			    "169.254.1.1/24");
	rc = json_object_get(b_in, "runtimeConfig");
	assert_null(json_object_get(rc, "portMappings"));
	json_t *bw = json_object_get(rc, "bandwidth");
	assert_int_equal(json_integer_value(json_object_get(bw, "ingressRate")), 1000000);
	assert_int_equal(json_integer_value(json_object_get(bw, "ingressBurst")), 4294967295LL);
	assert_null(json_object_get(bw, "egressRate"));
	json_t *dns = json_object_get(rc, "dns");
	assert_string_equal(json_string_value(json_array_get(json_object_get(dns, "servers"), 0)), "169.254.1.53");
	assert_string_equal(json_string_value(json_array_get(json_object_get(dns, "searches"), 1)), "local");
	assert_string_equal(json_string_value(json_array_get(json_object_get(dns, "options"), 0)), "ndots:5");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rc, "ips"), 0)), "169.254.1.2/24");
	json_decref(b_in);

	/* the recorded config and result */
	json_t *cfg = json_loads(a.config, 0, NULL), *res = json_loads(a.result, 0, NULL);
	assert_int_equal(json_array_size(cfg), 1);
	assert_int_equal(json_array_size(res), 1);
	assert_null(json_object_get(json_array_get(cfg, 0), "litecriFile"));
	json_decref(cfg);
	json_decref(res);

	/* DEL from the record, after the config dir was emptied: reverse order, prevResult the
	 * recorded result, runtimeConfig as the ADD had it (the pod passed to DEL has no ports) */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/10-p.conflist", f->conf);
	assert_int_equal(unlink(path), 0);
	struct net_pod d = { .id = "0123abcd", .name = "web", .namespace_ = "default", .uid = "u-1", .netns = "", .ifname = "eth0" };
	if (net_del(f->net, &d, a.config, a.result, &err) < 0)
		fail_msg("net_del: %s", err.msg);
	char *order = read_text(f->rec, "order");
	assert_string_equal(order, "ADD reca\nADD recb\nDEL recb\nDEL reca\n");
	free(order);
	env = read_text(f->rec, "DEL-reca.env");
	assert_non_null(strstr(env, "CNI_COMMAND=DEL\n"));
	assert_non_null(strstr(env, "CNI_NETNS=\n"));
	free(env);
	json_t *del_in = load_rec(f, "DEL-reca.stdin");
	prev = json_object_get(del_in, "prevResult");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(prev, "ips"), 1), "address")),
			    "fd00::2/64");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(json_object_get(del_in, "runtimeConfig"), "portMappings"), 0),
				 "hostPort")),
			 8080);
	json_decref(del_in);
	/* without a result (a crash before it was recorded): no prevResult */
	assert_int_equal(net_del(f->net, &d, a.config, NULL, &err), 0);
	del_in = load_rec(f, "DEL-reca.stdin");
	assert_null(json_object_get(del_in, "prevResult"));
	json_decref(del_in);
	net_attachment_free(&a);
}

/*
 * DEL with a config recorded before the ADD (a daemon killed before the ADD's outcome was
 * recorded): its plugins have no runtimeConfig, and get the pod's, as the ADD did; a plugin whose
 * recorded config has one keeps it.  The directory is empty: the record alone serves.
 */
static void test_del_recorded_without_runtime(void **state)
{
	struct fx *f = *state;
	result_plugin(f->bin, "reca", f->rec, "{\"cniVersion\":\"1.0.0\"}");
	result_plugin(f->bin, "recb", f->rec, "{\"cniVersion\":\"1.0.0\"}");
	open_net(f, 1, 10);
	char msg[1024];
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0); /* no config in the directory */
	const char *cfg = "[{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"plugins\":["
			  "{\"type\":\"reca\",\"capabilities\":{\"portMappings\":true}},"
			  "{\"type\":\"recb\",\"capabilities\":{\"portMappings\":true},"
			  "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":9090,\"containerPort\":90,\"protocol\":\"tcp\"}]}}]}]";
	struct net_port ports[] = { { "tcp", 80, 8080, "127.0.0.1" }, { "udp", 53, 5353, "" } };
	struct net_pod p = { .id = "0123abcd", .name = "web", .namespace_ = "default", .uid = "u-1", .netns = "",
			     .ifname = "eth0", .ports = ports, .n_ports = 2 };
	struct lc_err err = { 0 };
	if (net_del(f->net, &p, cfg, NULL, &err) < 0)
		fail_msg("net_del: %s", err.msg);
	char *order = read_text(f->rec, "order");
	assert_string_equal(order, "DEL recb\nDEL reca\n");
	free(order);
	json_t *in = load_rec(f, "DEL-reca.stdin");
	assert_null(json_object_get(in, "prevResult"));
	json_t *pm = json_object_get(json_object_get(in, "runtimeConfig"), "portMappings");
	assert_int_equal(json_array_size(pm), 2);
	json_t *m0 = json_array_get(pm, 0), *m1 = json_array_get(pm, 1);
	assert_int_equal(json_integer_value(json_object_get(m0, "hostPort")), 8080);
	assert_int_equal(json_integer_value(json_object_get(m0, "containerPort")), 80);
	assert_string_equal(json_string_value(json_object_get(m0, "hostIP")), "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(m1, "hostPort")), 5353);
	assert_string_equal(json_string_value(json_object_get(m1, "protocol")), "udp");
	json_decref(in);
	in = load_rec(f, "DEL-recb.stdin"); /* recorded with one: kept */
	pm = json_object_get(json_object_get(in, "runtimeConfig"), "portMappings");
	assert_int_equal(json_array_size(pm), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(pm, 0), "hostPort")), 9090);
	json_decref(in);
}

/*
 * An ADD of recorded lists runs those, not what the directory holds now (empty here): what the
 * caller recorded before the ADD is exactly what a DEL after a crash mid-ADD will run.
 */
static void test_add_recorded_lists(void **state)
{
	struct fx *f = *state;
	result_plugin(f->bin, "reca", f->rec, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"169.254.1.7/24\"}]}");
	open_net(f, 1, 10);
	char msg[1024];
	assert_int_equal(net_ready(f->net, msg, sizeof msg), 0); /* no config in the directory */
	const char *cfg = "[{\"cniVersion\":\"1.0.0\",\"name\":\"rec\",\"plugins\":[{\"type\":\"reca\"}]}]";
	struct net_pod p = { .id = "0123abcd", .name = "web", .namespace_ = "default", .uid = "u-1",
			     .netns = "/var/run/x/net", .ifname = "eth0" };
	struct net_attachment a;
	struct lc_err err = { 0 };
	if (net_add(f->net, &p, cfg, &a, &err) < 0)
		fail_msg("net_add: %s", err.msg);
	assert_int_equal(a.n_ips, 1);
	assert_string_equal(a.ips[0], "169.254.1.7");
	json_t *ran = json_loads(a.config, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ran, 0), "name")), "rec");
	json_decref(ran);
	net_attachment_free(&a);
	char *order = read_text(f->rec, "order");
	assert_string_equal(order, "ADD reca\n");
	free(order);
	/* a record that is not a list of config lists: refused, nothing run */
	assert_int_equal(net_add(f->net, &p, "{\"name\":\"x\"}", &a, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
}

/* An ADD whose second plugin fails: a CNI error becomes the message, and the list is DELeted. */
static void test_cni_error(void **state)
{
	struct fx *f = *state;
	result_plugin(f->bin, "reca", f->rec, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"169.254.1.1/24\"}]}");
	error_plugin(f->bin, "errp", f->rec, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"no luck\",\"details\":\"at all\"}");
	script_plugin(f->bin, "junk", f->rec, "echo 'this is not json'\nexit 0");
	script_plugin(f->bin, "crash", f->rec, "echo 'panic: nil map' >&2\nexit 2");
	writef(f->conf, "10-e.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"e\",\"plugins\":[{\"type\":\"reca\"},{\"type\":\"errp\"}]}");
	open_net(f, 1, 10);
	struct net_pod p = { .id = "c1", .name = "n", .namespace_ = "ns", .uid = "u", .netns = "/x", .ifname = "eth0" };
	struct net_attachment a;
	struct lc_err err = { 0 };
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, EIO);
	assert_string_equal(err.msg, "network e: plugin errp: no luck: at all (CNI code 7)");
	char *order = read_text(f->rec, "order");
	assert_string_equal(order, "ADD reca\nADD errp\nDEL errp\nDEL reca\n");
	free(order);
	/* the DEL of the failed list had reca's result as prevResult */
	json_t *in = load_rec(f, "DEL-reca.stdin");
	assert_non_null(json_object_get(in, "prevResult"));
	json_decref(in);
	net_close(f->net);
	f->net = NULL;

	/* output that is no result: EPROTO; a crash without a CNI error: its stderr */
	writef(f->conf, "10-e.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"e\",\"plugins\":[{\"type\":\"junk\"}]}");
	open_net(f, 1, 10);
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	assert_non_null(strstr(err.msg, "network e: plugin junk: its ADD output is not a CNI result"));
	net_close(f->net);
	f->net = NULL;
	writef(f->conf, "10-e.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"e\",\"plugins\":[{\"type\":\"crash\"}]}");
	open_net(f, 1, 10);
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, EIO);
	assert_string_equal(err.msg, "network e: plugin crash failed (exit status 2): panic: nil map");

	/* a DEL naming a plugin that is gone fails, naming it; the other plugins still run */
	char *cfg = "[{\"cniVersion\":\"1.0.0\",\"name\":\"e\",\"plugins\":[{\"type\":\"reca\"},{\"type\":\"lcnt-gone\"}]}]";
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/order", f->rec);
	unlink(path);
	assert_int_equal(net_del(f->net, &p, cfg, NULL, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	char want[4 * PATH_MAX];
	snprintf(want, sizeof want, "network e: plugin lcnt-gone not found in %s", f->bins);
	assert_string_equal(err.msg, want);
	order = read_text(f->rec, "order");
	assert_string_equal(order, "DEL reca\n");
	free(order);

	/* two lists, the second failing: the first is DELeted too, with its result */
	net_close(f->net);
	f->net = NULL;
	writef(f->conf, "10-e.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"e\",\"plugins\":[{\"type\":\"reca\"}]}");
	writef(f->conf, "20-f.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"f\",\"plugins\":[{\"type\":\"errp\"}]}");
	open_net(f, 2, 10);
	unlink(path);
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_string_equal(err.msg, "network f: plugin errp: no luck: at all (CNI code 7)");
	order = read_text(f->rec, "order");
	assert_string_equal(order, "ADD reca\nADD errp\nDEL errp\nDEL reca\n");
	free(order);
	in = load_rec(f, "DEL-reca.stdin");
	assert_string_equal(json_string_value(json_object_get(in, "name")), "e");
	assert_non_null(json_object_get(in, "prevResult"));
	json_decref(in);

	/* a ';' would split CNI_ARGS */
	struct net_pod bad = p;
	bad.name = "a;K8S_POD_NAMESPACE=x";
	assert_int_equal(net_add(f->net, &bad, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
}

/* A plugin that hangs (and has a child) is killed with its process group at the timeout. */
static void test_timeout(void **state)
{
	struct fx *f = *state;
	char body[PATH_MAX + 128];
	snprintf(body, sizeof body, "[ \"$CNI_COMMAND\" = DEL ] && exit 0\nsleep 600 & echo $! > %s/child\nwait", f->rec);
	script_plugin(f->bin, "hang", f->rec, body);
	writef(f->conf, "10-h.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"h\",\"plugins\":[{\"type\":\"hang\"}]}");
	open_net(f, 1, 1);
	struct net_pod p = { .id = "c1", .netns = "/x", .ifname = "eth0" };
	struct net_attachment a;
	struct lc_err err = { 0 };
	int64_t t0 = now_ms();
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	int64_t took = now_ms() - t0;
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "network h: plugin hang ADD: "));
	assert_non_null(strstr(err.msg, "did not finish within 1000 ms (killed)"));
	assert_true(took >= 900 && took < 5000);
	char *child = read_text(f->rec, "child");
	assert_non_null(child);
	pid_t pid = (pid_t)atoi(child);
	free(child);
	assert_true(pid > 0);
	assert_int_equal(proc_wait_gone(-1, pid, 2000), 1); /* the plugin's child died with it */
	char *order = read_text(f->rec, "order");
	assert_string_equal(order, "ADD hang\nDEL hang\n"); /* and the failed ADD was undone */
	free(order);
}

/* ---- real plugins ------------------------------------------------------------------------- */

/* The test network (see the top): bridge + host-local + portmap + bandwidth, or with `extra`
 * appended as another plugin. */
static void real_config(struct fx *f, const char *extra)
{
	writef(f->conf, "10-lcnt.conflist", 0644,
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"lcnt\",\"plugins\":["
	       "{\"type\":\"bridge\",\"bridge\":\"%s\",\"isGateway\":true,\"ipMasq\":false,"
	       " \"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s\",\"ranges\":[[{\"subnet\":\"169.254.77.0/24\"}]]}},"
	       "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}},"
	       "{\"type\":\"bandwidth\",\"capabilities\":{\"bandwidth\":true}}%s]}",
	       f->bridge, f->ipam, extra);
}

/* Interfaces enslaved to the bridge (the pods' host-side veths).  (Not /sys/class/net: sysfs
 * shows the namespace it was mounted in, the host's.) */
static int bridge_members(const char *bridge)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ip -o link show master %s 2>/dev/null | wc -l", bridge);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* A TCP server in the pod's network namespace answering one connection with "hello". */
static pid_t serve_in(const char *netns_path, int port)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nsfd = open(netns_path, O_RDONLY);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
			_exit(1);
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 4) < 0)
			_exit(2);
		alarm(20);
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c >= 0) {
				(void)!write(c, "hello", 5);
				close(c);
			}
		}
	}
	return pid;
}

/* Connect to ip:port (retrying for a while) and read what the server says. */
static int fetch(const char *ip, int port, char *buf, size_t len)
{
	int64_t end = now_ms() + 5000;
	do {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, ip, &sa.sin_addr);
		struct timeval tv = { 1, 0 };
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
			ssize_t n = read(s, buf, len - 1);
			close(s);
			if (n > 0) {
				buf[n] = '\0';
				return 0;
			}
		} else {
			close(s);
		}
		usleep(100 * 1000);
	} while (now_ms() < end);
	return -1;
}

static void make_pod(struct fx *f, char *netns, size_t len)
{
	struct lc_err err;
	if (podns_create(f->pod, PODNS_NET, NULL, &err) < 0)
		fail_msg("podns_create: %s", err.msg);
	f->pod_made = 1;
	assert_int_equal(podns_path(f->pod, PODNS_NET, netns, len, &err), 0);
}

/* iptables chains of the nat table whose name starts with prefix. */
static int nat_chains(const char *prefix)
{
	return sh("iptables -t nat -S 2>/dev/null | grep -q -- '^-N %s'", prefix) == 0;
}

static void test_real_add_del(void **state)
{
	struct fx *f = *state;
	real_config(f, "");
	open_net(f, 1, 30);
	char msg[1024];
	if (net_ready(f->net, msg, sizeof msg) != 1)
		fail_msg("not ready: %s", msg);
	char netns[PATH_MAX];
	make_pod(f, netns, sizeof netns);

	struct net_port ports[] = { { "tcp", 8080, 18080, "127.0.0.1" } };
	struct net_pod p = { .id = "lcntpod1", .name = "web", .namespace_ = "default", .uid = "u-1", .netns = netns,
			     .ifname = "eth0", .ports = ports, .n_ports = 1, .ingress_bps = 100000000,
			     .egress_bps = 100000000 };
	struct net_attachment a;
	struct lc_err err = { 0 };
	if (net_add(f->net, &p, NULL, &a, &err) < 0)
		fail_msg("net_add: %s", err.msg);
	assert_int_equal(a.n_ips, 1);
	assert_int_equal(strncmp(a.ips[0], "169.254.77.", 11), 0);
	assert_string_not_equal(a.ips[0], "169.254.77.1"); /* the gateway: the bridge's */
	char lease[PATH_MAX];
	snprintf(lease, sizeof lease, "%s/lcnt/%s", f->ipam, a.ips[0]);
	assert_true(exists(lease));
	assert_int_equal(bridge_members(f->bridge), 1);
	assert_true(nat_chains("CNI-DN-"));

	/* the pod answers on its IP, and through the hostPort on 127.0.0.1 */
	pid_t srv = serve_in(netns, 8080);
	char buf[64];
	assert_int_equal(fetch(a.ips[0], 8080, buf, sizeof buf), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(fetch("127.0.0.1", 18080, buf, sizeof buf), 0);
	assert_string_equal(buf, "hello");
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);

	/* DEL from the record; again (idempotent); then with the namespace gone */
	struct net_pod d = { .id = "lcntpod1", .name = "web", .namespace_ = "default", .uid = "u-1", .netns = netns, .ifname = "eth0" };
	if (net_del(f->net, &d, a.config, a.result, &err) < 0)
		fail_msg("net_del: %s", err.msg);
	assert_false(exists(lease));
	assert_int_equal(bridge_members(f->bridge), 0);
	assert_false(nat_chains("CNI-DN-"));
	if (net_del(f->net, &d, a.config, a.result, &err) < 0)
		fail_msg("net_del again: %s", err.msg);
	assert_int_equal(podns_remove(f->pod, &err), 0);
	f->pod_made = 0;
	d.netns = "";
	if (net_del(f->net, &d, a.config, NULL, &err) < 0)
		fail_msg("net_del without netns: %s", err.msg);
	net_attachment_free(&a);
}

/* An ADD that fails after bridge and host-local did their part leaves no lease, no veth. */
static void test_real_add_failure_undone(void **state)
{
	struct fx *f = *state;
	error_plugin(f->bin, "errp", f->rec, "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"try later\"}");
	real_config(f, ",{\"type\":\"errp\"}");
	open_net(f, 1, 30);
	char netns[PATH_MAX];
	make_pod(f, netns, sizeof netns);
	struct net_port ports[] = { { "tcp", 8080, 18081, "127.0.0.1" } };
	struct net_pod p = { .id = "lcntpod2", .name = "web", .namespace_ = "default", .uid = "u-2", .netns = netns,
			     .ifname = "eth0", .ports = ports, .n_ports = 1 };
	struct net_attachment a;
	struct lc_err err = { 0 };
	assert_int_equal(net_add(f->net, &p, NULL, &a, &err), -1);
	assert_string_equal(err.msg, "network lcnt: plugin errp: try later (CNI code 11)");
	char lease_dir[PATH_MAX];
	snprintf(lease_dir, sizeof lease_dir, "%s/lcnt", f->ipam);
	/* host-local keeps last_reserved_ip.0 and its lock; no lease file (named by an address) */
	assert_int_equal(sh("ls %s | grep -q '^169\\.254\\.'", lease_dir), 1);
	assert_int_equal(bridge_members(f->bridge), 0);
	assert_false(nat_chains("CNI-DN-"));
}

/* ---- main --------------------------------------------------------------------------------- */

/* Drop what portmap leaves in the nat table of the test's own namespace (its shared chains and
 * their jumps), as the safety rules ask, though the namespace goes with the process. */
static void clean_iptables(void)
{
	sh("for c in PREROUTING OUTPUT POSTROUTING; do "
	   "iptables -t nat -S $c 2>/dev/null | grep -- '-j CNI-HOSTPORT-' | sed 's/^-A/-D/' | "
	   "while read -r r; do eval iptables -t nat $r; done; done; "
	   "for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do "
	   "iptables -t nat -F $c 2>/dev/null; iptables -t nat -X $c 2>/dev/null; done; true");
}

int main(void)
{
	log_set_level(getenv("LITECRI_TEST_LOG") ? LOG_DEBUG : LOG_ERROR);
	if (getenv("LITECRI_TEST_FILTER"))
		cmocka_set_test_filter(getenv("LITECRI_TEST_FILTER"));
	if (geteuid() != 0) {
		fprintf(stderr, "test_net: needs root\n");
		return 1;
	}
	/* The host's ip_forward is read again at the end: the bridge plugin sets it in the test's
	 * namespace (isGateway), never in the host's.  A /proc/sys/net file speaks for the network
	 * namespace it was opened in. */
	host_forward_fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY);
	if (host_forward_fd < 0 || pread(host_forward_fd, host_forward, sizeof host_forward - 1, 0) <= 0) {
		perror("test_net: /proc/sys/net/ipv4/ip_forward");
		return 1;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("test_net: unshare(CLONE_NEWNET)");
		return 1;
	}
	if (sh("ip link set lo up") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_and_empty_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_wrapped_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_configs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_plugin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docs_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_recorded_without_runtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_recorded_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cni_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_add_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_add_failure_undone, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	clean_iptables();
	char now[8] = "";
	if (pread(host_forward_fd, now, sizeof now - 1, 0) <= 0 || strcmp(now, host_forward) != 0) {
		fprintf(stderr, "test_net: the host's ip_forward changed: %s -> %s\n", host_forward, now);
		rc = 1;
	}
	return rc;
}
