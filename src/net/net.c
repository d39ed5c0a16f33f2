/*
 * net.c — see net.h.  The configuration (read, validated, watched) and ADD / DEL of config lists;
 * one plugin run is cni.c's.
 */
#include "net/net.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/cni.h"
#include "util/cleanup.h"
#include "util/log.h"

#define CONF_MAX_BYTES (1 << 20)
/* While conf_dir is missing (or cannot be watched), how often it is looked for again. */
#define WATCH_RETRY_MS 1000
/* After a change, how long the directory must stay quiet before it is read (a file being written
 * is read once, whole). */
#define WATCH_SETTLE_MS 100

struct net {
	char *conf_dir, *bin_dirs;
	int max_conf_num, timeout_ms;

	pthread_mutex_t mu;   /* guards the fields below */
	json_t *lists;        /* the valid config lists in use (a JSON array), NULL when there is none */
	char why[1024];       /* lists NULL: why */
	int logged_ready;     /* the readiness last logged (-1: none yet) and its reason */
	char logged_why[1024];

	int ifd, stop_fd, wd; /* inotify, eventfd that stops the watch, conf_dir's watch (-1: none) */
	pthread_t watch;
	int watching;
};

/* snprintf into a reason buffer (cut at its size: a reason is read by people). */
static void why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The config list names a network the way the spec allows: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
static int name_ok(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return 0;
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] == '\0';
}

/* A config list that can be run: name, cniVersion, plugins each with a type.  0, or -1 and why. */
static int list_valid(const char *path, json_t *l, char *why, size_t len)
{
	const char *name = json_string_value(json_object_get(l, "name"));
	if (!name_ok(name)) {
		why_set(why, len, "%s: %s", path,
			 name ? "\"name\" is not a network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" : "no \"name\"");
		return -1;
	}
	const char *v = json_string_value(json_object_get(l, "cniVersion"));
	if (!v || !*v) {
		why_set(why, len, "%s: network %s: no \"cniVersion\"", path, name);
		return -1;
	}
	json_t *plugins = json_object_get(l, "plugins");
	if (!json_is_array(plugins) || json_array_size(plugins) == 0) {
		why_set(why, len, "%s: network %s: no \"plugins\"", path, name);
		return -1;
	}
	size_t i;
	json_t *pl;
	json_array_foreach(plugins, i, pl) {
		const char *type = json_string_value(json_object_get(pl, "type"));
		if (!type || !*type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, "..")) {
			why_set(why, len, "%s: network %s: plugin %zu has no \"type\" naming a plugin", path, name, i);
			return -1;
		}
	}
	return 0;
}

/* One config file as a config list (a .conf / .json is one plugin: it is wrapped into a list).
 * 0, or -1 and why (naming the file). */
static int load_file(const char *path, int is_list, json_t **out, char *why, size_t len)
{
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > CONF_MAX_BYTES) {
		why_set(why, len, "%s: larger than %d bytes", path, CONF_MAX_BYTES);
		return -1;
	}
	json_error_t je;
	json_auto_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		why_set(why, len, "%s: invalid JSON: %s (line %d)", path, je.text, je.line);
		return -1;
	}
	if (!json_is_object(j)) {
		why_set(why, len, "%s: not a JSON object", path);
		return -1;
	}
	if (!is_list) {
		if (!json_is_string(json_object_get(j, "type"))) {
			why_set(why, len, "%s: no \"type\" (a list of plugins is a .conflist)", path);
			return -1;
		}
		json_t *l = json_pack("{s:O?, s:O?, s:[O]}", "cniVersion", json_object_get(j, "cniVersion"), "name",
				      json_object_get(j, "name"), "plugins", j);
		json_decref(j);
		j = l;
		if (!j) {
			why_set(why, len, "%s: out of memory", path);
			return -1;
		}
	}
	if (list_valid(path, j, why, len) < 0)
		return -1;
	*out = j;
	j = NULL;
	return 0;
}

static int ext_of(const char *name)
{
	size_t n = strlen(name);
	if (n > 9 && !strcmp(name + n - 9, ".conflist"))
		return 2;
	if ((n > 5 && !strcmp(name + n - 5, ".conf")) || (n > 5 && !strcmp(name + n - 5, ".json")))
		return 1;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first max .conflist / .conf / .json files of dir in name order, as config lists (a new
 * JSON array), or NULL and why: none, or the first of them that is not valid. */
static json_t *load_dir(const char *dir, int max, char *why, size_t len)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			why_set(why, len, "no network config found in %s", dir);
		else
			why_set(why, len, "cannot read %s: %s", dir, strerror(errno));
		return NULL;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ext_of(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	json_t *lists = json_array();
	for (size_t i = 0; i < n && lists; i++) {
		if (json_array_size(lists) >= (size_t)max)
			break;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue; /* a directory, a dangling link, or gone meanwhile */
		json_t *l;
		if (load_file(path, ext_of(names[i]) == 2, &l, why, len) < 0) {
			json_decref(lists);
			lists = NULL;
			break;
		}
		json_object_set_new(l, "litecriFile", json_string(path));
		json_array_append_new(lists, l);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (lists && json_array_size(lists) == 0) {
		json_decref(lists);
		lists = NULL;
		why_set(why, len, "no network config found in %s", dir);
	}
	return lists;
}

/* Readiness now (n->mu held): the lists are valid and every plugin they name is found. */
static int ready_locked(struct net *n, char *msg, size_t len)
{
	if (!n->lists) {
		snprintf(msg, len, "%s", n->why);
		return 0;
	}
	size_t i, k;
	json_t *l, *pl;
	json_array_foreach(n->lists, i, l) {
		json_array_foreach(json_object_get(l, "plugins"), k, pl) {
			const char *type = json_string_value(json_object_get(pl, "type"));
			char path[4096];
			if (!cni_find(n->bin_dirs, type, path, sizeof path)) {
				snprintf(msg, len, "network %s: plugin %s not found in %s",
					 json_string_value(json_object_get(l, "name")), type, n->bin_dirs);
				return 0;
			}
		}
	}
	if (len)
		msg[0] = '\0';
	return 1;
}

/* Log a change of readiness or of its reason (n->mu held). */
static void note_locked(struct net *n, int ready, const char *msg)
{
	if (ready == n->logged_ready && (ready || !strcmp(msg, n->logged_why)))
		return;
	n->logged_ready = ready;
	snprintf(n->logged_why, sizeof n->logged_why, "%s", msg);
	if (!ready) {
		log_warn("network not ready (config dir %s): %s", n->conf_dir, msg);
		return;
	}
	char names[512] = "";
	size_t i, off = 0;
	json_t *l;
	json_array_foreach(n->lists, i, l) {
		int w = snprintf(names + off, sizeof names - off, "%s%s (%s)", i ? ", " : "",
				 json_string_value(json_object_get(l, "name")),
				 json_string_value(json_object_get(l, "litecriFile")));
		if (w < 0 || (size_t)w >= sizeof names - off)
			break;
		off += (size_t)w;
	}
	log_info("network ready (config dir %s): %s", n->conf_dir, names);
}

/* Read conf_dir again and log what changed. */
static void reload(struct net *n)
{
	char why[1024];
	json_t *lists = load_dir(n->conf_dir, n->max_conf_num, why, sizeof why);
	char msg[1024];
	pthread_mutex_lock(&n->mu);
	json_decref(n->lists);
	n->lists = lists;
	if (!lists)
		snprintf(n->why, sizeof n->why, "%s", why);
	note_locked(n, ready_locked(n, msg, sizeof msg), msg);
	pthread_mutex_unlock(&n->mu);
}

#define WATCH_MASK                                                                                  \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
	 IN_DELETE_SELF | IN_MOVE_SELF)

/* Drain the inotify events; 1 when conf_dir itself went away (its watch is gone). */
static int drain_events(struct net *n)
{
	int gone = 0;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t len = read(n->ifd, buf, sizeof buf);
		if (len <= 0)
			return gone;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->wd == n->wd && (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)))
				gone = 1;
			p += sizeof *ev + ev->len;
		}
	}
}

/*
 * The watch: inotify on conf_dir; while conf_dir is missing (or was removed or moved away) it is
 * looked for again every WATCH_RETRY_MS, and read once it appears.
 */
static void *watch_main(void *arg)
{
	struct net *n = arg;
	for (;;) {
		if (n->wd < 0) {
			n->wd = inotify_add_watch(n->ifd, n->conf_dir, WATCH_MASK | IN_ONLYDIR);
			if (n->wd >= 0)
				reload(n); /* it appeared: what is in it now */
		}
		struct pollfd pf[2] = { { .fd = n->ifd, .events = POLLIN }, { .fd = n->stop_fd, .events = POLLIN } };
		if (poll(pf, 2, n->wd < 0 ? WATCH_RETRY_MS : -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!pf[0].revents)
			continue;
		int gone = drain_events(n);
		/* let a writer finish: quiet for WATCH_SETTLE_MS (at most ten times that) */
		for (int i = 0; i < 10 && !gone; i++) {
			struct pollfd q = { .fd = n->ifd, .events = POLLIN };
			if (poll(&q, 1, WATCH_SETTLE_MS) <= 0)
				break;
			gone = drain_events(n);
		}
		if (gone) {
			inotify_rm_watch(n->ifd, n->wd); /* moved away: stop following it */
			n->wd = -1;
		}
		reload(n);
	}
	return NULL;
}

int net_open(const struct net_config *c, struct net **out, struct lc_err *err)
{
	assert(c && c->conf_dir && c->bin_dirs && c->max_conf_num > 0 && c->timeout_s > 0);
	*out = NULL;
	struct net *n = calloc(1, sizeof *n);
	if (!n)
		return lc_failc(err, ENOMEM, "network config in %s", c->conf_dir);
	n->ifd = n->stop_fd = n->wd = -1;
	n->logged_ready = -1;
	pthread_mutex_init(&n->mu, NULL);
	n->max_conf_num = c->max_conf_num;
	n->timeout_ms = c->timeout_s * 1000;
	n->conf_dir = strdup(c->conf_dir);
	n->bin_dirs = strdup(c->bin_dirs);
	if (!n->conf_dir || !n->bin_dirs) {
		net_close(n);
		return lc_failc(err, ENOMEM, "network config in %s", c->conf_dir);
	}
	n->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->ifd < 0 || n->stop_fd < 0) {
		int e = errno;
		net_close(n);
		return lc_fail(err, e, "watch network config dir %s", c->conf_dir);
	}
	/* watch first, then read: a change in between is not missed */
	n->wd = inotify_add_watch(n->ifd, n->conf_dir, WATCH_MASK | IN_ONLYDIR);
	reload(n);
	int e = pthread_create(&n->watch, NULL, watch_main, n);
	if (e) {
		net_close(n);
		return lc_fail(err, e, "start the watch of network config dir %s", c->conf_dir);
	}
	n->watching = 1;
	*out = n;
	return 0;
}

void net_close(struct net *n)
{
	if (!n)
		return;
	if (n->watching) {
		uint64_t one = 1;
		while (write(n->stop_fd, &one, sizeof one) < 0 && errno == EINTR)
			;
		pthread_join(n->watch, NULL);
	}
	if (n->ifd >= 0)
		close(n->ifd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	json_decref(n->lists);
	pthread_mutex_destroy(&n->mu);
	free(n->conf_dir);
	free(n->bin_dirs);
	free(n);
}

int net_ready(struct net *n, char *msg, size_t len)
{
	char m[1024];
	pthread_mutex_lock(&n->mu);
	int r = ready_locked(n, m, sizeof m); /* plugins are looked for again: one may be installed now */
	note_locked(n, r, m);
	pthread_mutex_unlock(&n->mu);
	if (len)
		snprintf(msg, len, "%s", m);
	return r;
}

/* A copy of the config lists without litecri's own key. */
static json_t *lists_copy(json_t *lists)
{
	json_t *c = json_deep_copy(lists);
	size_t i;
	json_t *l;
	json_array_foreach(c, i, l)
		json_object_del(l, "litecriFile");
	return c;
}

json_t *net_info(struct net *n)
{
	pthread_mutex_lock(&n->mu);
	json_t *lists = n->lists ? lists_copy(n->lists) : json_array();
	json_t *files = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(n->lists, i, l)
		json_array_append(files, json_object_get(l, "litecriFile"));
	pthread_mutex_unlock(&n->mu);
	return json_pack("{s:s, s:s, s:o?, s:o?}", "confDir", n->conf_dir, "binDirs", n->bin_dirs, "files", files,
			 "networks", lists);
}

void net_attachment_free(struct net_attachment *a)
{
	if (!a)
		return;
	free(a->config);
	free(a->result);
	for (size_t i = 0; i < a->n_ips; i++)
		free(a->ips[i]);
	free(a->ips);
	memset(a, 0, sizeof *a);
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The runtimeConfig of the capabilities a plugin declares ({"capabilities": {"portMappings":
 * true, ...}}), from the pod; NULL when it gets none. */
static json_t *runtime_config(json_t *caps, const struct net_pod *p)
{
	json_t *rc = json_object();
	if (json_is_true(json_object_get(caps, "portMappings")) && p->n_ports) {
		json_t *pm = json_array();
		for (size_t i = 0; i < p->n_ports; i++) {
			const struct net_port *m = &p->ports[i];
			json_t *o = json_pack("{s:i, s:i, s:s}", "hostPort", (int)m->host_port, "containerPort",
					      (int)m->container_port, "protocol", m->protocol ? m->protocol : "tcp");
			if (m->host_ip && *m->host_ip)
				json_object_set_new(o, "hostIP", json_string(m->host_ip));
			json_array_append_new(pm, o);
		}
		json_object_set_new(rc, "portMappings", pm);
	}
	if (json_is_true(json_object_get(caps, "bandwidth")) && (p->ingress_bps > 0 || p->egress_bps > 0)) {
		/* burst as containerd sets it (toCNIBandWidth): math.MaxUint32 bits */
		json_t *bw = json_object();
		if (p->ingress_bps > 0) {
			json_object_set_new(bw, "ingressRate", json_integer(p->ingress_bps));
			json_object_set_new(bw, "ingressBurst", json_integer(UINT32_MAX));
		}
		if (p->egress_bps > 0) {
			json_object_set_new(bw, "egressRate", json_integer(p->egress_bps));
			json_object_set_new(bw, "egressBurst", json_integer(UINT32_MAX));
		}
		json_object_set_new(rc, "bandwidth", bw);
	}
	if (json_is_true(json_object_get(caps, "dns")) && (p->n_dns_servers || p->n_dns_searches || p->n_dns_options))
		json_object_set_new(rc, "dns",
				    json_pack("{s:o, s:o, s:o}", "servers", str_array(p->dns_servers, p->n_dns_servers),
					      "searches", str_array(p->dns_searches, p->n_dns_searches), "options",
					      str_array(p->dns_options, p->n_dns_options)));
	if (json_is_true(json_object_get(caps, "ips")) && p->n_ips)
		json_object_set_new(rc, "ips", str_array(p->ips, p->n_ips));
	if (json_object_size(rc) == 0) {
		json_decref(rc);
		return NULL;
	}
	return rc;
}

/* Each plugin of list l gets its runtimeConfig from p (l is a copy: changed in place); with
 * `keep`, a plugin that has one keeps it (a recorded ADD's: what that ADD passed). */
static void inject_runtime(json_t *l, const struct net_pod *p, int keep)
{
	size_t i;
	json_t *pl;
	json_array_foreach(json_object_get(l, "plugins"), i, pl) {
		if (keep && json_object_get(pl, "runtimeConfig"))
			continue;
		json_t *rc = runtime_config(json_object_get(pl, "capabilities"), p);
		if (rc)
			json_object_set_new(pl, "runtimeConfig", rc);
	}
}

/* What plugin i of list l reads on stdin: its config with the list's name and cniVersion, and
 * prevResult (may be NULL). */
static json_t *plugin_conf(json_t *l, json_t *pl, json_t *prev)
{
	json_t *c = json_copy(pl);
	json_object_set(c, "name", json_object_get(l, "name"));
	json_object_set(c, "cniVersion", json_object_get(l, "cniVersion"));
	if (prev)
		json_object_set(c, "prevResult", prev);
	return c;
}

static const char *list_name(json_t *l)
{
	return json_string_value(json_object_get(l, "name"));
}

/* DEL list l: its plugins in reverse order, each with prevResult prev (may be NULL); every plugin
 * runs, the first failure is returned. */
static int del_list(struct net *n, const struct net_pod *p, json_t *l, json_t *prev, struct lc_err *err)
{
	struct cni_call c = { "DEL", list_name(l), n->bin_dirs, n->timeout_ms, p };
	json_t *plugins = json_object_get(l, "plugins");
	int rc = 0;
	for (size_t i = json_array_size(plugins); i-- > 0;) {
		json_t *pl = json_array_get(plugins, i);
		json_auto_t *conf = plugin_conf(l, pl, prev);
		struct lc_err e;
		if (cni_exec(&c, json_string_value(json_object_get(pl, "type")), conf, NULL, rc ? &e : err) < 0) {
			if (rc)
				log_warn("sandbox %s: %s", p->id, e.msg);
			rc = -1;
		}
	}
	return rc;
}

/* ADD list l, prevResult chained; *res the last plugin's result.  On failure l is DELeted. */
static int add_list(struct net *n, const struct net_pod *p, json_t *l, json_t **res, struct lc_err *err)
{
	struct cni_call c = { "ADD", list_name(l), n->bin_dirs, n->timeout_ms, p };
	json_t *prev = NULL;
	size_t i;
	json_t *pl;
	json_array_foreach(json_object_get(l, "plugins"), i, pl) {
		json_auto_t *conf = plugin_conf(l, pl, prev);
		json_t *out;
		if (cni_exec(&c, json_string_value(json_object_get(pl, "type")), conf, &out, err) < 0) {
			struct lc_err e;
			if (del_list(n, p, l, prev, &e) < 0)
				log_warn("sandbox %s: undoing a failed ADD: %s", p->id, e.msg);
			json_decref(prev);
			return -1;
		}
		json_decref(prev);
		prev = out;
	}
	*res = prev;
	return 0;
}

/*
 * The pod's addresses in a result (1.0.0 / 0.3.x / 0.4.0 "ips", 0.2.0 "ip4" / "ip6"), without
 * prefix length, appended to ips: those of the pod's interface ifname (as containerd takes them),
 * or, for an address the result ties to no interface, any but a loopback one (a loopback-only
 * network gives the pod no IP, not 127.0.0.1).
 */
static void result_ips(json_t *r, const char *ifname, json_t *ips)
{
	size_t i;
	json_t *ip, *ifs = json_object_get(r, "interfaces");
	json_array_foreach(json_object_get(r, "ips"), i, ip) {
		const char *a = json_string_value(json_object_get(ip, "address"));
		json_t *idx = json_object_get(ip, "interface");
		if (!a)
			continue;
		if (json_is_integer(idx)) {
			json_t *itf = json_array_get(ifs, (size_t)json_integer_value(idx));
			const char *name = json_string_value(json_object_get(itf, "name"));
			if (json_integer_value(idx) < 0 || !name || strcmp(name, ifname) != 0)
				continue;
		} else if (strncmp(a, "127.", 4) == 0 || strncmp(a, "::1/", 4) == 0) {
			continue;
		}
		json_array_append_new(ips, json_stringn(a, strcspn(a, "/")));
	}
	const char *v[] = { "ip4", "ip6" };
	for (int k = 0; k < 2; k++) {
		const char *a = json_string_value(json_object_get(json_object_get(r, v[k]), "ip"));
		if (a)
			json_array_append_new(ips, json_stringn(a, strcspn(a, "/")));
	}
}

static int fill_attachment(json_t *ran, json_t *results, const char *ifname, struct net_attachment *a)
{
	a->config = json_dumps(ran, JSON_COMPACT);
	a->result = json_dumps(results, JSON_COMPACT);
	json_auto_t *ips = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		result_ips(r, ifname, ips);
	a->ips = calloc(json_array_size(ips) + 1, sizeof *a->ips);
	if (!a->config || !a->result || !a->ips)
		return -1;
	for (int v6 = 0; v6 < 2; v6++) /* IPv4 first */
		json_array_foreach(ips, i, r) {
			const char *s = json_string_value(r);
			if (!!strchr(s, ':') != v6)
				continue;
			if (!(a->ips[a->n_ips] = strdup(s)))
				return -1;
			a->n_ips++;
		}
	return 0;
}

/* The pod's fields that go into CNI_ARGS and CNI_CONTAINERID: ';' would split CNI_ARGS. */
static int pod_valid(const struct net_pod *p, struct lc_err *err)
{
	if (!p->id || !*p->id || !p->ifname || !*p->ifname)
		return lc_failc(err, EINVAL, "network: a pod needs an ID and an interface name");
	const char *v[] = { p->id, p->name, p->namespace_, p->uid };
	for (size_t i = 0; i < 4; i++)
		if (v[i] && strchr(v[i], ';'))
			return lc_failc(err, EINVAL, "network: pod %s: %s has a ';' (CNI_ARGS)", LC_Q(p->id), LC_Q(v[i]));
	return 0;
}

/* A copy of the lists in use, or NULL with why (ENOENT). */
static json_t *current_lists(struct net *n, struct lc_err *err)
{
	pthread_mutex_lock(&n->mu);
	json_t *lists = n->lists ? lists_copy(n->lists) : NULL;
	if (!n->lists)
		lc_failc(err, ENOENT, "%s", n->why);
	else if (!lists)
		lc_failc(err, ENOMEM, "network config in %s", n->conf_dir);
	pthread_mutex_unlock(&n->mu);
	return lists;
}

/* DEL the lists an ADD ran (ran[k] with its result results[k]), last first; failures are logged. */
static void undo_add(struct net *n, const struct net_pod *p, json_t *ran, json_t *results)
{
	for (size_t k = json_array_size(ran); k-- > 0;) {
		struct lc_err e;
		if (del_list(n, p, json_array_get(ran, k), json_array_get(results, k), &e) < 0)
			log_warn("sandbox %s: undoing a failed ADD: %s", p->id, e.msg);
	}
}

/* The network config lists `config` names (a JSON array, as net_attachment.config), or the
 * current ones when it is NULL; NULL with why. */
static json_t *lists_of(struct net *n, const struct net_pod *p, const char *config, struct lc_err *err)
{
	if (!config)
		return current_lists(n, err);
	json_error_t je;
	json_t *lists = json_loads(config, 0, &je);
	if (json_is_array(lists))
		return lists;
	lc_failc(err, EPROTO, "network: pod %s: the recorded network config is not a list: %s", p->id,
		 lists ? "" : je.text);
	json_decref(lists);
	return NULL;
}

int net_add(struct net *n, const struct net_pod *p, const char *config, struct net_attachment *a, struct lc_err *err)
{
	memset(a, 0, sizeof *a);
	if (pod_valid(p, err) < 0)
		return -1;
	json_auto_t *lists = lists_of(n, p, config, err);
	if (!lists)
		return -1;
	json_auto_t *ran = json_array();
	json_auto_t *results = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(lists, i, l) {
		inject_runtime(l, p, 0);
		json_t *res;
		if (add_list(n, p, l, &res, err) < 0) {
			undo_add(n, p, ran, results);
			return -1;
		}
		json_array_append(ran, l);
		json_array_append_new(results, res);
	}
	if (fill_attachment(ran, results, p->ifname, a) < 0) {
		net_attachment_free(a);
		undo_add(n, p, ran, results); /* done, but it cannot be handed out */
		return lc_failc(err, ENOMEM, "network: pod %s: the ADD's result", p->id);
	}
	return 0;
}

int net_del(struct net *n, const struct net_pod *p, const char *config, const char *result, struct lc_err *err)
{
	if (pod_valid(p, err) < 0)
		return -1;
	json_auto_t *lists = lists_of(n, p, config, err);
	if (!lists)
		return config ? -1 : lc_wrap(err, "network: pod %s: DEL without a recorded config", p->id);
	/* A config recorded before the ADD (the daemon died before its outcome was recorded) has no
	 * runtimeConfig: p's is what the ADD passed.  One recorded with the outcome is kept. */
	size_t k;
	json_t *l;
	json_array_foreach(lists, k, l)
		inject_runtime(l, p, config != NULL);
	json_auto_t *results = result ? json_loads(result, 0, NULL) : NULL;
	int rc = 0;
	for (size_t i = json_array_size(lists); i-- > 0;) {
		struct lc_err e;
		json_t *prev = json_array_get(results, i);
		if (del_list(n, p, json_array_get(lists, i), json_is_object(prev) ? prev : NULL, rc ? &e : err) < 0) {
			if (rc)
				log_warn("sandbox %s: %s", p->id, e.msg);
			rc = -1;
		}
	}
	return rc;
}
