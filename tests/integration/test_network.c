/*
 * test_network.c — pod networking through CNI against the real daemon, real runc containers and the
 * real plugins of Debian's containernetworking-plugins (/usr/lib/cni); fixture: podfix.h.
 *
 *   NetworkReady follows the config directory (no restart); a non-host-network pod is refused
 *   while it is false, a host-network pod still runs; two pods on a bridge get distinct IPs of the
 *   subnet and reach each other and the host (busybox httpd / wget), a hostPort on 127.0.0.1 reaches
 *   a pod's port; stop + remove leave no lease, veth or portmap rule; a failing plugin leaves
 *   nothing, and so does one that hangs past [cni] plugin_timeout (killed); a daemon SIGKILLed between ADD and its commit DELs at restart (lease gone), one
 *   SIGKILLed after the commit leaves a pod whose stop + remove still leave nothing, one SIGKILLed
 *   during a DEL completes it at restart; 20 pods started at once get distinct IPs.
 *
 * Safety (issue 14): every network is the test's own — a bridge it names and makes, host-local
 * IPAM in 169.254.88.0/24 with its leases in the test's temporary directory, no ipMasq, no default
 * route, no route beyond the subnet, hostPorts on 127.0.0.1 only.  isGateway is false: the bridge
 * plugin's isGateway writes 1 to /proc/sys/net/ipv4/ip_forward, which the tests must never change;
 * the test gives the bridge the gateway address itself (169.254.88.1) instead, which is what makes
 * the host reach the pods.  Teardown deletes the bridge and portmap's chains.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podfix.h"
#include "../common/tmpdir.h"

#define SUBNET_PREFIX "169.254.88."
#define SUBNET SUBNET_PREFIX "0/24"
#define GATEWAY SUBNET_PREFIX "1"
#define PLUGINS "/usr/lib/cni"
#define HTTP_PORT 8080

static struct {
	char bridge[16];   /* lctb<hex>: the test's bridge */
	char name[32];     /* the network's name */
	char tmp[64];      /* the test's directory: ipam/ (leases), bin/ (test plugins) */
	char ipam[PATH_MAX];
	char bin[PATH_MAX];
	char extra_bins[PATH_MAX + 32];
	int bridge_made;
	char ip_forward[8]; /* /proc/sys/net/ipv4/ip_forward at setup: unchanged at teardown */
	int serial;         /* "testSerial" of the config conf_bridge wrote last */
	const char *bridge_type; /* the plugin conf_bridge names for the bridge: "bridge", or "bridgewrap" */
} net;

static void read_ip_forward(char out[8])
{
	char *v = harness_slurp("/proc/sys/net/ipv4/ip_forward");
	snprintf(out, 8, "%s", v ? v : "?");
	free(v);
}

static int sh(const char *cmd)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	return harness_run(argv, "/dev/null");
}

/* Output of a shell command (talloc'ed; "" on failure). */
static char *sh_out(const char *cmd)
{
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/out.txt", net.tmp);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	unlink(out);
	harness_run(argv, out);
	char *s = harness_slurp(out);
	char *t = tprintf("%s", s ? s : "");
	free(s);
	return t;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* The daemon of this test: podfix's flags, plugins from the test's bin dir, then /usr/lib/cni. */
static int start_net_daemon(void)
{
	const char *extra[] = { "--cni-bin-dirs", net.extra_bins, NULL };
	if (harness_start(&fx.d, extra, NULL) == 0)
		return 0;
	print_daemon_log_tail();
	return -1;
}

/* Empty the daemon's config directory (the harness's loopback network included). */
static void conf_clear(void)
{
	assert_int_equal(sh(tprintf("rm -f '%s'/*", fx.d.cni)), 0);
}

/*
 * The test network as the only config: bridge (+ host-local), then `extra_plugin` (a test plugin's
 * type, or NULL), portmap and bandwidth.  Written to a temporary name and renamed: the daemon never
 * reads half a file.
 */
static void conf_bridge_first(const char *extra_plugin, const char *first_plugin)
{
	conf_clear();
	char *extra = extra_plugin ? tprintf("{\"type\": \"%s\"}, ", extra_plugin) : "";
	char *first = first_plugin ? tprintf("{\"type\": \"%s\"}, ", first_plugin) : "";
	char *text = tprintf(
		"{\"cniVersion\": \"1.0.0\", \"name\": \"%s\", \"testSerial\": %d, \"plugins\": [\n"
		" %s{\"type\": \"%s\", \"bridge\": \"%s\", \"isGateway\": false, \"ipMasq\": false,\n"
		"  \"hairpinMode\": true,\n"
		"  \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"" SUBNET "\", \"gateway\": \"" GATEWAY "\"}]],\n"
		"           \"dataDir\": \"%s\"}},\n"
		" %s{\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}},\n"
		" {\"type\": \"bandwidth\", \"capabilities\": {\"bandwidth\": true}}]}\n",
		net.name, ++net.serial, first, net.bridge_type, net.bridge, net.ipam, extra);
	char *tmp = tprintf("%s/.10-test.tmp", fx.d.cni);
	write_text(tmp, text, 0644);
	assert_int_equal(rename(tmp, tprintf("%s/10-litecri-test.conflist", fx.d.cni)), 0);
}

static void conf_bridge(const char *extra_plugin)
{
	conf_bridge_first(extra_plugin, NULL);
}

static const Runtime__V1__RuntimeCondition *network_cond(Runtime__V1__StatusResponse *r)
{
	for (size_t i = 0; i < r->status->n_conditions; i++)
		if (!strcmp(r->status->conditions[i]->type, "NetworkReady"))
			return r->status->conditions[i];
	fail_msg("no NetworkReady condition");
	return NULL;
}

/* Wait until NetworkReady is `want` (and, when false, its message names `needle`). */
static void wait_network(int want, const char *needle)
{
	for (int64_t end = now_ms() + 20000;;) {
		Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
		Runtime__V1__StatusResponse *r = call_ok(RT "Status", &req.base, &runtime__v1__status_response__descriptor);
		const Runtime__V1__RuntimeCondition *c = network_cond(r);
		if (c->status == want && (want || strstr(c->message, needle))) {
			if (!want)
				assert_string_equal(c->reason, "NetworkPluginNotReady");
			return;
		}
		if (now_ms() > end)
			fail_msg("NetworkReady stayed %d for 20 s (%s: %s), wanted %d%s%s", c->status, c->reason, c->message,
				 want, want ? "" : " naming ", want ? "" : needle);
		sleep_ms(100);
	}
}

/* Wait until the config conf_bridge wrote last is the one in use (Status verbose) and ready. */
static void wait_bridge(void)
{
	char *want = tprintf("\"testSerial\":%d", net.serial);
	for (int64_t end = now_ms() + 20000;;) {
		Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
		req.verbose = 1;
		Runtime__V1__StatusResponse *r = call_ok(RT "Status", &req.base, &runtime__v1__status_response__descriptor);
		const Runtime__V1__RuntimeCondition *c = network_cond(r);
		const char *conf = "";
		for (size_t i = 0; i < r->n_info; i++)
			if (!strcmp(r->info[i]->key, "cniconfig"))
				conf = r->info[i]->value;
		if (c->status && strstr(conf, want))
			return;
		if (now_ms() > end)
			fail_msg("the test network was not in use after 20 s (NetworkReady %d: %s; %s)", c->status, c->message,
				 conf);
		sleep_ms(100);
	}
}

/* Leases host-local holds in the test network (files named by IP). */
static int leases(void)
{
	char dir[PATH_MAX + 64];
	snprintf(dir, sizeof dir, "%s/%s", net.ipam, net.name);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, SUBNET_PREFIX, strlen(SUBNET_PREFIX));
	closedir(d);
	return n;
}

/* Interfaces enslaved to the test bridge (the pods' host-side veths). */
static int veths(void)
{
	char *out = sh_out(tprintf("ip -o link show master %s", net.bridge));
	int n = 0;
	for (char *p = out; (p = strstr(p, "master ")); p++)
		n++;
	return n;
}

/* Lines of the nat table naming s (portmap's rules carry the pod's ID and IP). */
static int nat_rules_naming(const char *s)
{
	char *out = sh_out("iptables -w -t nat -S");
	int n = 0;
	for (char *p = out; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

static const char *pod_ip(const char *id)
{
	Runtime__V1__PodSandboxStatus *s = pod_status(id);
	assert_non_null(s->network);
	return s->network->ip;
}

static int in_subnet(const char *ip)
{
	return !strncmp(ip, SUBNET_PREFIX, strlen(SUBNET_PREFIX)) && strcmp(ip, GATEWAY) != 0 &&
	       strcmp(ip, SUBNET_PREFIX "255") != 0;
}

static char *running(const char *pod, Runtime__V1__PodSandboxConfig *pc, const char *name, const char *script)
{
	char *c = create_ctr(pod, ctr_config(name, script, NULL), pc);
	start_ctr(c);
	return c;
}

static Runtime__V1__ExecSyncResponse *exec_in(const char *id, const char *const *cmd)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	while (cmd[req.n_cmd])
		req.n_cmd++;
	req.cmd = (char **)cmd;
	req.timeout = 30;
	return call_ok(RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor);
}

/* GET url from the host (busybox wget: its -q and -T crash, hence timeout(1)), its body ("" on
 * failure), retried for 10 s (httpd starting). */
static char *host_get(const char *url)
{
	for (int64_t end = now_ms() + 10000;;) {
		char *body = sh_out(tprintf("timeout 10 /bin/busybox wget -O - '%s' 2>/dev/null", url));
		if (*body || now_ms() > end)
			return body;
		sleep_ms(200);
	}
}

/* pc maps hostPort host_port on 127.0.0.1 to the pod's HTTP_PORT. */
static void with_host_port(Runtime__V1__PodSandboxConfig *pc, int host_port)
{
	Runtime__V1__PortMapping *pm = TNEW(Runtime__V1__PortMapping, runtime__v1__port_mapping__descriptor);
	pm->protocol = RUNTIME__V1__PROTOCOL__TCP;
	pm->container_port = HTTP_PORT;
	pm->host_port = host_port;
	pm->host_ip = "127.0.0.1";
	Runtime__V1__PortMapping **pms = talloc(sizeof *pms);
	pms[0] = pm;
	pc->port_mappings = pms;
	pc->n_port_mappings = 1;
}

/* The only pod on the test network, with a hostPort (portmap's rules name its IP): its ID, its IP
 * in *ip. */
static char *hostport_pod(const char *name, const char **ip)
{
	Runtime__V1__PodSandboxConfig *pc = pod_config(name, NULL);
	with_host_port(pc, 20000 + (int)(getpid() % 20000));
	char *id = run_pod(pc);
	*ip = tprintf("%s", pod_ip(id));
	assert_true(in_subnet(*ip));
	assert_int_equal(leases(), 1);
	assert_int_equal(veths(), 1);
	assert_true(nat_rules_naming(*ip) > 0);
	return id;
}

/* Pod id (IP ip) is off the test network: no lease, veth or portmap rule. */
static void assert_torn_down(const char *id, const char *ip)
{
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
	assert_int_equal(nat_rules_naming(ip), 0);
	assert_int_equal(nat_rules_naming(id), 0);
}

/* Wait until the blocking plugin wrote its PID to <tmp>/blocked.pid. */
static void wait_blocked(void)
{
	char *pidfile = tprintf("%s/blocked.pid", net.tmp);
	for (int64_t end = now_ms() + 30000; access(pidfile, F_OK) != 0; sleep_ms(50))
		if (now_ms() > end)
			fail_msg("the blocking plugin never ran");
}

/* SIGKILL the daemon, then the blocked plugin (its own process group: it outlives the daemon). */
static void kill_daemon_and_blocked(void)
{
	assert_int_equal(harness_kill(&fx.d), 0);
	char *pidfile = tprintf("%s/blocked.pid", net.tmp);
	char *pid = harness_slurp(pidfile);
	assert_non_null(pid);
	kill(atoi(pid), SIGKILL);
	free(pid);
	unlink(pidfile);
}

static void stop_remove(const char *id)
{
	stop_pod(id);
	remove_pod(id);
}

/* ---------------------------------------------------------------------------------------------- */

static int up_net(void **state)
{
	memset(&net, 0, sizeof net);
	unsigned char r[3];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r || tmpdir_make(net.tmp, sizeof net.tmp, "net") < 0)
		return -1;
	snprintf(net.bridge, sizeof net.bridge, "lctb%02x%02x%02x", r[0], r[1], r[2]);
	snprintf(net.name, sizeof net.name, "litecri-test-%02x%02x%02x", r[0], r[1], r[2]);
	snprintf(net.ipam, sizeof net.ipam, "%s/ipam", net.tmp);
	snprintf(net.bin, sizeof net.bin, "%s/bin", net.tmp);
	snprintf(net.extra_bins, sizeof net.extra_bins, "%s:" PLUGINS, net.bin);
	net.bridge_type = "bridge";
	read_ip_forward(net.ip_forward);
	if (mkdir(net.bin, 0755) < 0)
		return -1;
	/* failplug: an ADD that fails with a CNI error; blockplug: an ADD that never answers (its PID in
	 * blocked.pid); both DEL successfully. */
	const char *fail = "#!/bin/sh\ncat >/dev/null\ncase \"$CNI_COMMAND\" in\n"
			   "ADD) echo '{\"cniVersion\": \"1.0.0\", \"code\": 11, \"msg\": \"injected failure\"}'; exit 1;;\n"
			   "VERSION) echo '{\"cniVersion\": \"1.0.0\", \"supportedVersions\": [\"0.4.0\", \"1.0.0\"]}';;\n"
			   "esac\nexit 0\n";
	char *block = tprintf("#!/bin/sh\ncat >/dev/null\ncase \"$CNI_COMMAND\" in\n"
			      "ADD) echo $$ > '%s/blocked.pid.tmp'; mv '%s/blocked.pid.tmp' '%s/blocked.pid'; exec sleep 100000;;\n"
			      "VERSION) echo '{\"cniVersion\": \"1.0.0\", \"supportedVersions\": [\"0.4.0\", \"1.0.0\"]}';;\n"
			      "esac\nexit 0\n", net.tmp, net.tmp, net.tmp);
	/* delfail (first in its list): ADD gives an empty result, DEL fails while <tmp>/faildel exists */
	char *delfail = tprintf("#!/bin/sh\ncat >/dev/null\ncase \"$CNI_COMMAND\" in\n"
				"ADD) echo '{\"cniVersion\": \"1.0.0\"}';;\n"
				"DEL) if [ -e '%s/faildel' ]; then echo '{\"cniVersion\": \"1.0.0\", \"code\": 11, \"msg\": \"DEL refused\"}'; exit 1; fi;;\n"
				"VERSION) echo '{\"cniVersion\": \"1.0.0\", \"supportedVersions\": [\"0.4.0\", \"1.0.0\"]}';;\n"
				"esac\nexit 0\n", net.tmp);
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/delfail", net.bin);
	write_text(p, delfail, 0755);
	snprintf(p, sizeof p, "%s/failplug", net.bin);
	write_text(p, fail, 0755);
	snprintf(p, sizeof p, "%s/blockplug", net.bin);
	write_text(p, block, 0755);
	/* bridgewrap: the bridge plugin, but a DEL blocks (its PID in blocked.pid) while <tmp>/blockdel
	 * exists */
	char *wrap = tprintf("#!/bin/sh\n"
			     "if [ \"$CNI_COMMAND\" = DEL ] && [ -e '%s/blockdel' ]; then\n"
			     "  cat >/dev/null; echo $$ > '%s/blocked.pid.tmp'; mv '%s/blocked.pid.tmp' '%s/blocked.pid'; exec sleep 100000\n"
			     "fi\nexec " PLUGINS "/bridge\n", net.tmp, net.tmp, net.tmp, net.tmp);
	snprintf(p, sizeof p, "%s/bridgewrap", net.bin);
	write_text(p, wrap, 0755);
	/* The test's bridge, with the gateway address (see the top of this file). */
	if (sh(tprintf("ip link add name %s type bridge && ip addr add " GATEWAY "/24 dev %s && ip link set %s up",
		       net.bridge, net.bridge, net.bridge)) != 0)
		return -1;
	net.bridge_made = 1;
	free_owned(); /* the scripts above are written: up() starts a fixture of its own */
	if (up(state) < 0)
		return -1;
	/* podfix started its daemon with the harness's flags only: again with the test's plugins */
	if (harness_stop(&fx.d) != 0)
		return -1;
	return start_net_daemon();
}

static int down_net(void **state)
{
	int rc = down(state);
	/* the blocked plugin, if a test left it */
	char *pid = harness_slurp(tprintf("%s/blocked.pid", net.tmp));
	if (pid && atoi(pid) > 0)
		kill(atoi(pid), SIGKILL);
	free(pid);
	if (net.bridge_made && sh(tprintf("ip link del %s", net.bridge)) != 0)
		rc = -1;
	/* portmap's chains: per pod CNI-DN-* (none should be left), and its shared CNI-HOSTPORT-* ones
	 * with the jumps to them, deleted unless another pod's CNI-DN-* chain still uses them */
	sh("iptables -w -t nat -S | sed -n 's/^-N \\(CNI-DN-[0-9a-f]*\\)$/\\1/p' | while read c; do "
	   "  iptables -w -t nat -S | grep -q \"^-A .*-j $c\" || { iptables -w -t nat -F $c; iptables -w -t nat -X $c; }; "
	   "done; "
	   "iptables -w -t nat -S | grep -q '^-N CNI-DN-' || { "
	   "  iptables -w -t nat -S | grep -e '-j CNI-HOSTPORT-' | sed 's/^-A/-D/' | while read r; do eval iptables -w -t nat $r; done; "
	   "  for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do "
	   "    iptables -w -t nat -F $c 2>/dev/null; iptables -w -t nat -X $c 2>/dev/null; done; }; true");
	if (net.tmp[0])
		tmpdir_remove(net.tmp);
	char now[8];
	read_ip_forward(now);
	if (strcmp(now, net.ip_forward)) {
		print_error("net.ipv4.ip_forward changed from %s to %s\n", net.ip_forward, now);
		rc = -1;
	}
	free_owned(); /* down() freed the fixture's; this frees what was allocated since */
	return rc;
}

/* NetworkReady false → true → false as configs disappear and appear, no restart; while false a
 * pod is refused (FAILED_PRECONDITION, as containerd's "cni plugin not initialized"), a host-network
 * pod still runs. */
static void test_network_ready_follows_config(void **state)
{
	(void)state;
	wait_network(1, NULL); /* the harness's loopback network */
	conf_clear();
	wait_network(0, "no network config");
	Runtime__V1__PodSandboxConfig *pc = pod_config("refused", NULL);
	char *id = NULL, *details = NULL;
	assert_int_equal(run_pod_st(pc, &id, &details), GRPC_STATUS_FAILED_PRECONDITION);
	if (!details || !strstr(details, "cni plugin not initialized"))
		fail_msg("refusal says \"%s\"", details ? details : "");
	assert_int_equal(list_pods(NULL)->n_items, 0);
	Runtime__V1__PodSandboxConfig *hc = pod_config("hostnet", NULL);
	hc->linux->security_context->namespace_options->network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	char *h = run_pod(hc);
	assert_string_equal(pod_ip(h), "");
	stop_remove(h);

	conf_bridge(NULL);
	wait_bridge();
	/* a broken config: not ready, the parse error named */
	conf_clear();
	write_text(tprintf("%s/20-broken.conflist", fx.d.cni), "{\"cniVersion\": \"1.0.0\", \"name\": ", 0644);
	wait_network(0, "20-broken.conflist");
	/* a missing plugin: named */
	conf_bridge("no-such-plugin");
	wait_network(0, "no-such-plugin");
	conf_clear();
	wait_network(0, "no network config");
}

/* Two pods on the bridge: IPs from the subnet, pod B reaches pod A's httpd by its IP, so does the
 * host, and a hostPort on 127.0.0.1 too; stop + remove leave no lease, veth or portmap rule. */
static void test_two_pods_talk(void **state)
{
	(void)state;
	conf_bridge(NULL);
	wait_bridge();
	int host_port = 20000 + (int)(getpid() % 20000);
	Runtime__V1__PodSandboxConfig *pa = pod_config("web-a", NULL);
	with_host_port(pa, host_port);
	char *a = run_pod(pa);
	Runtime__V1__PodSandboxConfig *pb = pod_config("web-b", NULL);
	pb->annotations = map_of(&runtime__v1__pod_sandbox_config__annotations_entry__descriptor,
				 LBL("kubernetes.io/ingress-bandwidth", "100M"), &pb->n_annotations);
	char *b = run_pod(pb);
	const char *ip_a = pod_ip(a), *ip_b = pod_ip(b);
	if (!in_subnet(ip_a) || !in_subnet(ip_b) || !strcmp(ip_a, ip_b))
		fail_msg("pod IPs %s and %s: not two addresses of " SUBNET, ip_a, ip_b);
	assert_int_equal(leases(), 2);
	assert_int_equal(veths(), 2);
	char *ca = running(a, pa, "httpd",
			   "mkdir -p /www && echo hello-from-a > /www/index.html && exec httpd -f -p 8080 -h /www");
	char *cb = running(b, pb, "client", SLEEP_FOREVER);
	char *url = tprintf("http://%s:%d/", ip_a, HTTP_PORT);
	char *body = host_get(url);
	if (strcmp(body, "hello-from-a\n"))
		fail_msg("host: wget %s gave \"%s\"", url, body);
	Runtime__V1__ExecSyncResponse *r = exec_in(cb, (const char *const[]){ "/bin/busybox", "wget", "-O", "-", url, NULL });
	if (r->exit_code != 0 || r->stdout.len != 13 || memcmp(r->stdout.data, "hello-from-a\n", 13))
		fail_msg("pod B: wget %s: exit %d, \"%.*s\" \"%.*s\"", url, r->exit_code, (int)r->stdout.len,
			 (char *)r->stdout.data, (int)r->stderr.len, (char *)r->stderr.data);
	char *hp = tprintf("http://127.0.0.1:%d/", host_port);
	body = host_get(hp);
	if (strcmp(body, "hello-from-a\n"))
		fail_msg("host: wget %s (hostPort) gave \"%s\"", hp, body);
	assert_true(nat_rules_naming(ip_a) > 0);
	/* the database: IP and network state in the operators' view */
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'ATTACHED' AND ip <> ''", a), 1);

	stop_ctr(ca, 0);
	stop_ctr(cb, 0);
	stop_pod(a);
	assert_int_equal(leases(), 1); /* the stop DELs: lease, veth and rules gone */
	assert_int_equal(veths(), 1);
	assert_int_equal(nat_rules_naming(ip_a), 0);
	assert_int_equal(nat_rules_naming(a), 0);
	stop_pod(a); /* idempotent */
	remove_ctr(ca);
	remove_ctr(cb);
	remove_pod(a);
	stop_remove(b);
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
	assert_nothing_left((const char *const[]){ a, b, ca, cb, NULL });
}

/* An ADD that fails (a plugin after bridge returns a CNI error): the call fails naming the network
 * and the plugin, and nothing is left — no row, no lease, no veth, no namespace. */
static void test_add_fails_leaves_nothing(void **state)
{
	(void)state;
	conf_bridge("failplug");
	wait_bridge();
	char *id = NULL, *details = NULL;
	grpc_status_code st = run_pod_st(pod_config("doomed", NULL), &id, &details);
	assert_int_not_equal(st, GRPC_STATUS_OK);
	if (!details || !strstr(details, "failplug") || !strstr(details, "injected failure") || !strstr(details, net.name))
		fail_msg("a failed ADD says \"%s\"", details ? details : "");
	assert_int_equal(list_pods(NULL)->n_items, 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes WHERE ?1 = ?1", "x"), 0);
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
	assert_int_equal(subdirs(tprintf("%s/sandboxes", fx.d.state)), 0);
}

/* A plugin whose ADD hangs (after bridge took a lease), with [cni] plugin_timeout = 5: killed at
 * the timeout, and RunPodSandbox fails with DEADLINE_EXCEEDED naming the network and the plugin,
 * leaving nothing — no row, no lease, no veth, no netns pin or other mount, no process. */
static void test_hanging_plugin_times_out(void **state)
{
	(void)state;
	assert_int_equal(harness_stop(&fx.d), 0);
	write_text(fx.d.config, "[cni]\nplugin_timeout = 5\n", 0644);
	assert_int_equal(start_net_daemon(), 0);
	conf_bridge("blockplug");
	wait_bridge();
	char *id = NULL, *details = NULL;
	grpc_status_code st = run_pod_st(pod_config("hung", NULL), &id, &details);
	assert_int_equal(st, GRPC_STATUS_DEADLINE_EXCEEDED);
	if (!details || !strstr(details, tprintf("network %s: plugin blockplug ADD", net.name)) ||
	    !strstr(details, "did not finish within 5000 ms (killed)"))
		fail_msg("a hanging plugin's ADD says \"%s\"", details ? details : "");
	char *pid = harness_slurp(tprintf("%s/blocked.pid", net.tmp));
	assert_non_null(pid);
	int gone = kill(atoi(pid), 0) < 0 && errno == ESRCH; /* killed (and reaped) by the daemon */
	free(pid);
	assert_true(gone);
	assert_int_equal(list_pods(NULL)->n_items, 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes WHERE ?1 = ?1", "x"), 0);
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
	assert_int_equal(subdirs(tprintf("%s/sandboxes", fx.d.state)), 0);
	assert_nothing_left((const char *const[]){ NULL });
}

/* The daemon SIGKILLed while a plugin of the ADD runs (after bridge took a lease): the restart's
 * recovery DELs it — lease and veth gone, the pod's row gone. */
static void test_kill_during_add_recovered(void **state)
{
	(void)state;
	conf_bridge("blockplug");
	wait_bridge();
	char *id = NULL, *details = NULL;
	/* the call gives up after 2 s; the daemon's ADD goes on until the kill */
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = pod_config("killed", NULL);
	ProtobufCMessage *resp = NULL;
	rpc(RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, &resp, &details, 2000);
	(void)id;
	wait_blocked();
	assert_int_equal(leases(), 1);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE network = ?1", "ADDING"), 1);
	kill_daemon_and_blocked();
	assert_int_equal(start_net_daemon(), 0);
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes WHERE ?1 = ?1", "x"), 0);
	char *log = harness_slurp(fx.d.log);
	assert_non_null(log);
	int said = strstr(log, "network ADD interrupted or failed: recovery runs the CNI DEL") != NULL;
	free(log);
	assert_true(said);
}

/* The daemon SIGKILLed after the READY commit: the pod is still ATTACHED after the restart, and
 * its stop DELs it from the record — lease, veth and portmap's rules gone; then it is removed. */
static void test_kill_after_commit(void **state)
{
	(void)state;
	conf_bridge(NULL);
	wait_bridge();
	const char *ip;
	char *id = hostport_pod("committed", &ip);
	assert_int_equal(harness_kill(&fx.d), 0);
	conf_clear(); /* the DEL needs only the record */
	assert_int_equal(start_net_daemon(), 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'ATTACHED'", id), 1);
	assert_string_equal(pod_ip(id), ip);
	stop_pod(id);
	assert_torn_down(id, ip);
	remove_pod(id);
	assert_pod_not_found(id);
}

/* The daemon SIGKILLed during a DEL (the bridge's DEL blocks: its lease is still held; portmap's and
 * bandwidth's DELs, run first, are done): recovery at the restart runs the DEL again — lease, veth
 * and rules gone, the network state NONE — and the pod is then stopped and removed. */
static void test_kill_during_del_recovered(void **state)
{
	(void)state;
	net.bridge_type = "bridgewrap";
	conf_bridge(NULL);
	wait_bridge();
	const char *ip;
	char *id = hostport_pod("unplugged", &ip);
	char *blockdel = tprintf("%s/blockdel", net.tmp);
	write_text(blockdel, "", 0644);
	/* the call gives up after 2 s; the daemon's DEL goes on until the kill */
	Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = id;
	ProtobufCMessage *resp = NULL;
	char *details = NULL;
	rpc(RT "StopPodSandbox", &req.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &resp, &details, 2000);
	wait_blocked();
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'DELETING'", id), 1);
	assert_int_equal(leases(), 1);
	kill_daemon_and_blocked();
	unlink(blockdel);
	assert_int_equal(start_net_daemon(), 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'NONE' AND ip = ''", id), 1);
	assert_torn_down(id, ip);
	char *log = harness_slurp(fx.d.log);
	assert_non_null(log);
	int said = strstr(log, "network DEL interrupted or failed: recovery runs the CNI DEL") != NULL;
	free(log);
	assert_true(said);
	stop_remove(id);
	assert_pod_not_found(id);
}

/* A DEL that fails fails the stop and stays due: the pod keeps state DELETING, RemovePodSandbox is
 * refused (FAILED_PRECONDITION), also after a restart; once the plugin lets it, the next stop or
 * remove DELs and succeeds. */
static void test_failed_del_retried(void **state)
{
	(void)state;
	conf_bridge_first(NULL, "delfail");
	wait_bridge();
	char *id = run_pod(pod_config("sticky", NULL));
	assert_int_equal(leases(), 1);
	char *faildel = tprintf("%s/faildel", net.tmp);
	write_text(faildel, "", 0644);
	char *details = NULL;
	assert_int_not_equal(pod_call("StopPodSandbox", id, &details), GRPC_STATUS_OK);
	if (!details || !strstr(details, "DEL refused") || !strstr(details, "delfail"))
		fail_msg("the failed stop says \"%s\"", details ? details : "");
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'DELETING'", id), 1);
	assert_int_equal(leases(), 0); /* the other plugins' DELs ran */
	details = NULL;
	assert_int_equal(pod_call("RemovePodSandbox", id, &details), GRPC_STATUS_FAILED_PRECONDITION);
	/* a restart: recovery tries again, fails, keeps it */
	assert_int_equal(harness_stop(&fx.d), 0);
	assert_int_equal(start_net_daemon(), 0);
	assert_int_equal(db_int("SELECT count(*) FROM sandboxes_v WHERE id = ?1 AND network = 'DELETING'", id), 1);
	assert_int_equal(pod_call("RemovePodSandbox", id, &details), GRPC_STATUS_FAILED_PRECONDITION);
	unlink(faildel);
	remove_pod(id);
	assert_pod_not_found(id);
	assert_int_equal(veths(), 0);
}

struct par_pod {
	pthread_t t;
	Runtime__V1__PodSandboxConfig *cfg;
	char *id, *details;
	grpc_status_code st;
};

static void *par_run(void *arg)
{
	struct par_pod *p = arg;
	p->st = run_pod_st(p->cfg, &p->id, &p->details);
	return NULL;
}

/* 20 pods started at once: 20 distinct IPs of the subnet. */
static void test_twenty_pods_distinct_ips(void **state)
{
	(void)state;
	conf_bridge(NULL);
	wait_bridge();
	enum { N = 20 };
	struct par_pod *p = talloc(N * sizeof *p);
	for (int i = 0; i < N; i++) {
		p[i].cfg = pod_config(tprintf("many-%d", i), NULL);
		assert_int_equal(pthread_create(&p[i].t, NULL, par_run, &p[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(p[i].t, NULL);
	for (int i = 0; i < N; i++)
		if (p[i].st != GRPC_STATUS_OK)
			fail_msg("pod %d: status %d: %s", i, p[i].st, p[i].details ? p[i].details : "");
	const char *ips[N];
	for (int i = 0; i < N; i++) {
		ips[i] = pod_ip(p[i].id);
		if (!in_subnet(ips[i]))
			fail_msg("pod %d: IP \"%s\"", i, ips[i]);
		for (int j = 0; j < i; j++)
			if (!strcmp(ips[i], ips[j]))
				fail_msg("pods %d and %d share IP %s", j, i, ips[i]);
	}
	assert_int_equal(leases(), N);
	for (int i = 0; i < N; i++)
		stop_remove(p[i].id);
	assert_int_equal(leases(), 0);
	assert_int_equal(veths(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_network_ready_follows_config, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_two_pods_talk, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_add_fails_leaves_nothing, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_hanging_plugin_times_out, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_kill_during_add_recovered, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_kill_after_commit, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_kill_during_del_recovered, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_failed_del_retried, up_net, down_net),
		cmocka_unit_test_setup_teardown(test_twenty_pods_distinct_ips, up_net, down_net),
	};
	return podfix_main("network", tests, sizeof tests / sizeof *tests);
}
