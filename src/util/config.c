/* config.c — see config.h. */
#include "util/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"

void config_defaults(struct lc_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->listen, "unix:///run/litecri/litecri.sock");
	strcpy(c->socket_path, "/run/litecri/litecri.sock");
	strcpy(c->db, "/var/lib/litecri/litecri.db");
	strcpy(c->root, "/var/lib/litecri");
	strcpy(c->state, "/run/litecri");
	strcpy(c->runtime, "runc");
	strcpy(c->conmon, "conmon");
	c->log_level = LOG_INFO;
	c->log_format = LOG_TEXT;
	c->workers = 4;
	c->shutdown_timeout = 10;
	c->max_concurrent_downloads = 3;
	strcpy(c->boot_id_path, "/proc/sys/kernel/random/boot_id");
	strcpy(c->cni_conf_dir, "/etc/cni/net.d");
	strcpy(c->cni_bin_dirs, "/opt/cni/bin:/usr/lib/cni");
	c->cni_max_conf_num = 1;
	c->cni_plugin_timeout = 60;
	c->events_retain = 10000;
	c->events_queue = 1024;
	strcpy(c->stream_address, "127.0.0.1");
	c->stream_idle_timeout = 4 * 3600; /* kubelet's streamingConnectionIdleTimeout */
	c->stream_max_sessions = 128;
}

void config_free(struct lc_config *c)
{
	for (size_t i = 0; i < c->n_registries; i++)
		free(c->registries[i].mirrors);
	free(c->registries);
	c->registries = NULL;
	c->n_registries = 0;
}

static int parse_bool(const char *key, const char *v, int *out, struct lc_err *err)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		*out = 0;
	else
		return lc_fail(err, 0, "%s: '%s' is not true or false", key, v);
	return 0;
}

/* A registry host: "*" or host[:port] without scheme, path, spaces or quotes. */
static int valid_registry_host(const char *h)
{
	if (!strcmp(h, "*"))
		return 1;
	if (!*h || strlen(h) >= 256)
		return 0;
	for (const char *p = h; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
			return 0;
	return 1;
}

/* The section for host, created (with its defaults) if missing.  NULL with err on failure. */
static struct lc_registry *registry_section(struct lc_config *c, const char *host, struct lc_err *err)
{
	if (!valid_registry_host(host)) {
		lc_fail(err, 0, "registry \"%s\": not a registry host[:port] or \"*\"", host);
		return NULL;
	}
	for (size_t i = 0; i < c->n_registries; i++)
		if (!strcmp(c->registries[i].host, host))
			return &c->registries[i];
	struct lc_registry *r = realloc(c->registries, (c->n_registries + 1) * sizeof *r);
	if (!r) {
		lc_fail(err, ENOMEM, "registry \"%s\"", host);
		return NULL;
	}
	c->registries = r;
	r = &c->registries[c->n_registries++];
	memset(r, 0, sizeof *r);
	strcpy(r->host, host);
	r->upstream = 1;
	return r;
}

/* A CA bundle path: absolute, fitting ca[256]. */
static int set_ca(char *dst, size_t cap, const char *host, const char *v, size_t n, struct lc_err *err)
{
	if (n == 0 || v[0] != '/')
		return lc_fail(err, 0, "registry \"%s\" ca '%.*s': not an absolute path", host, (int)n, v);
	if (n >= cap)
		return lc_fail(err, ENAMETOOLONG, "registry \"%s\" ca %.*s", host, (int)n, v);
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

/* "URL [insecure] [ca=/path]" (options separated by spaces or commas) → a mirror of r. */
static int add_mirror(struct lc_registry *r, const char *v, struct lc_err *err)
{
	struct lc_mirror m = { 0 };
	size_t n = strcspn(v, " \t,");
	for (const char *opt = v + n + strspn(v + n, " \t,"); *opt; opt += strspn(opt, " \t,")) {
		size_t len = strcspn(opt, " \t,");
		if (len == 8 && !strncmp(opt, "insecure", 8))
			m.insecure = 1;
		else if (len > 3 && !strncmp(opt, "ca=", 3)) {
			if (set_ca(m.ca, sizeof m.ca, r->host, opt + 3, len - 3, err) < 0)
				return -1;
		} else
			return lc_fail(err, 0, "registry \"%s\" mirror %s: unknown option '%.*s' (insecure, ca=PATH)",
				       r->host, v, (int)len, opt);
		opt += len;
	}
	while (n > 0 && v[n - 1] == '/')
		n--;
	if (n >= sizeof m.url)
		return lc_fail(err, ENAMETOOLONG, "registry \"%s\" mirror %s", r->host, v);
	memcpy(m.url, v, n);
	int https = !strncmp(m.url, "https://", 8), http = !strncmp(m.url, "http://", 7);
	const char *hostpart = m.url + (https ? 8 : 7);
	if ((!https && !http) || !*hostpart || *hostpart == '/' || strpbrk(m.url, " \t\"'?#@"))
		return lc_fail(err, 0, "registry \"%s\" mirror '%s': not an http(s)://host[:port][/path] URL",
			       r->host, m.url);
	if (http && !m.insecure)
		return lc_fail(err, 0, "registry \"%s\" mirror %s is plain HTTP: mark it 'insecure' to allow that",
			       r->host, m.url);
	struct lc_mirror *ms = realloc(r->mirrors, (r->n_mirrors + 1) * sizeof *ms);
	if (!ms)
		return lc_fail(err, ENOMEM, "registry \"%s\"", r->host);
	r->mirrors = ms;
	r->mirrors[r->n_mirrors++] = m;
	return 0;
}

int config_registry_set(struct lc_config *c, const char *host, const char *key, const char *value,
			struct lc_err *err)
{
	struct lc_registry *r = registry_section(c, host, err);
	if (!r)
		return -1;
	if (!strcmp(key, "mirror"))
		return add_mirror(r, value, err);
	if (!strcmp(key, "insecure"))
		return parse_bool(key, value, &r->insecure, err);
	if (!strcmp(key, "upstream"))
		return parse_bool(key, value, &r->upstream, err);
	if (!strcmp(key, "ca"))
		return set_ca(r->ca, sizeof r->ca, host, value, strlen(value), err);
	return lc_fail(err, 0, "registry \"%s\": unknown setting '%s' (mirror, insecure, ca, upstream)", host, key);
}

const struct lc_registry *config_registry_for(const struct lc_config *c, const char *host)
{
	const struct lc_registry *star = NULL;
	for (size_t i = 0; i < c->n_registries; i++) {
		if (!strcmp(c->registries[i].host, host))
			return &c->registries[i];
		if (!strcmp(c->registries[i].host, "*"))
			star = &c->registries[i];
	}
	return star;
}

/* --registry-mirror HOST=URL[,insecure] */
static int set_registry_mirror_flag(struct lc_config *c, const char *v, struct lc_err *err)
{
	const char *eq = strchr(v, '=');
	char host[256];
	if (!eq || eq == v || (size_t)(eq - v) >= sizeof host)
		return lc_fail(err, 0, "registry_mirror: '%s' is not HOST=URL[,insecure]", v);
	memcpy(host, v, (size_t)(eq - v));
	host[eq - v] = 0;
	return config_registry_set(c, host, "mirror", eq + 1, err);
}

static int set_path(char *dst, size_t cap, const char *key, const char *v, struct lc_err *err)
{
	if (!*v)
		return lc_fail(err, 0, "%s: empty value", key);
	if (strlen(v) >= cap)
		return lc_fail(err, ENAMETOOLONG, "%s: %s", key, v);
	if (v[0] != '/')
		return lc_fail(err, 0, "%s: %s is not an absolute path", key, v);
	strcpy(dst, v);
	return 0;
}

static int set_int(int *dst, const char *key, const char *v, int lo, int hi, struct lc_err *err)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return lc_fail(err, 0, "%s: %s is not a number in %d..%d", key, v, lo, hi);
	*dst = (int)n;
	return 0;
}

/* A key whose value is one of a few names, parse() giving its number (-1: none of them). */
static int set_choice(int *dst, const char *key, const char *v, int (*parse)(const char *), const char *names,
		      struct lc_err *err)
{
	int n = parse(v);
	if (n < 0)
		return lc_fail(err, 0, "%s: '%s' is not one of %s", key, v, names);
	*dst = n;
	return 0;
}

/* cni_bin_dirs: ':'-separated absolute directories, none empty. */
static int set_bin_dirs(struct lc_config *c, const char *v, struct lc_err *err)
{
	if (strlen(v) >= sizeof c->cni_bin_dirs)
		return lc_fail(err, ENAMETOOLONG, "cni_bin_dirs: %s", v);
	for (const char *p = v;; p++) {
		if (*p != '/')
			return lc_fail(err, 0, "cni_bin_dirs: '%s' is not a ':'-separated list of absolute paths", v);
		p = strchr(p, ':');
		if (!p)
			break;
	}
	strcpy(c->cni_bin_dirs, v);
	return 0;
}

static int set_listen(struct lc_config *c, const char *v, struct lc_err *err)
{
	const char *p;
	if (!strncmp(v, "unix://", 7))
		p = v + 7;
	else if (!strncmp(v, "unix:", 5))
		p = v + 5;
	else if (v[0] == '/')
		p = v;
	else
		return lc_fail(err, 0, "listen: %s is not a unix socket address (unix:///path)", v);
	if (p[0] != '/')
		return lc_fail(err, 0, "listen: %s: the socket path must be absolute", v);
	if (strlen(p) >= 108) /* sizeof sockaddr_un.sun_path */
		return lc_fail(err, ENAMETOOLONG, "listen: socket path %s", p);
	if (strlen(v) >= sizeof c->listen)
		return lc_fail(err, ENAMETOOLONG, "listen: %s", v);
	strcpy(c->socket_path, p);
	snprintf(c->listen, sizeof c->listen, "unix://%s", p);
	return 0;
}

/* The [stream] keys (stream_*). */
static int set_stream(struct lc_config *c, const char *key, const char *v, struct lc_err *err)
{
	if (!strcmp(key, "stream_address")) {
		unsigned char a[16];
		if (inet_pton(AF_INET, v, a) != 1 && inet_pton(AF_INET6, v, a) != 1)
			return lc_fail(err, 0, "%s: '%s' is not an IPv4 or IPv6 address", key, v);
		strcpy(c->stream_address, v); /* INET6_ADDRSTRLEN < sizeof */
		return 0;
	}
	if (!strcmp(key, "stream_port"))
		return set_int(&c->stream_port, key, v, 0, 65535, err);
	if (!strcmp(key, "stream_tls_cert"))
		return set_path(c->stream_tls_cert, sizeof c->stream_tls_cert, key, v, err);
	if (!strcmp(key, "stream_tls_key"))
		return set_path(c->stream_tls_key, sizeof c->stream_tls_key, key, v, err);
	if (!strcmp(key, "stream_idle_timeout"))
		return set_int(&c->stream_idle_timeout, key, v, 1, 7 * 24 * 3600, err);
	if (!strcmp(key, "stream_max_sessions"))
		return set_int(&c->stream_max_sessions, key, v, 1, 4096, err);
	return lc_fail(err, 0, "unknown setting '%s'", key);
}

int config_set(struct lc_config *c, const char *key, const char *v, struct lc_err *err)
{
	if (!strncmp(key, "stream_", 7))
		return set_stream(c, key, v, err);
	if (!strcmp(key, "listen"))
		return set_listen(c, v, err);
	if (!strcmp(key, "db"))
		return set_path(c->db, sizeof c->db, key, v, err);
	if (!strcmp(key, "root"))
		return set_path(c->root, sizeof c->root, key, v, err);
	if (!strcmp(key, "state"))
		return set_path(c->state, sizeof c->state, key, v, err);
	if (!strcmp(key, "boot_id_path"))
		return set_path(c->boot_id_path, sizeof c->boot_id_path, key, v, err);
	if (!strcmp(key, "cni_conf_dir"))
		return set_path(c->cni_conf_dir, sizeof c->cni_conf_dir, key, v, err);
	if (!strcmp(key, "cni_bin_dirs"))
		return set_bin_dirs(c, v, err);
	if (!strcmp(key, "cni_max_conf_num"))
		return set_int(&c->cni_max_conf_num, key, v, 1, 64, err);
	if (!strcmp(key, "cni_plugin_timeout"))
		return set_int(&c->cni_plugin_timeout, key, v, 1, 3600, err);
	if (!strcmp(key, "metrics_address")) {
		if (strlen(v) >= sizeof c->metrics_address || (*v && !strrchr(v, ':')))
			return lc_fail(err, 0, "metrics_address: '%s' is not HOST:PORT (or empty: off)", v);
		strcpy(c->metrics_address, v);
		return 0;
	}
	if (!strcmp(key, "events_retain"))
		return set_int(&c->events_retain, key, v, 1, 100000000, err);
	if (!strcmp(key, "events_queue"))
		return set_int(&c->events_queue, key, v, 1, 1000000, err);
	if (!strcmp(key, "conmon") || !strcmp(key, "pause")) {
		char *dst = key[0] == 'c' ? c->conmon : c->pause;
		if (!*v || strlen(v) >= sizeof c->conmon)
			return lc_fail(err, 0, "%s: invalid value '%s'", key, v);
		strcpy(dst, v);
		return 0;
	}
	if (!strcmp(key, "runtime")) {
		if (!*v || strlen(v) >= sizeof c->runtime)
			return lc_fail(err, 0, "runtime: invalid value '%s'", v);
		strcpy(c->runtime, v);
		return 0;
	}
	if (!strcmp(key, "log_level"))
		return set_choice(&c->log_level, key, v, log_level_parse, "error, warn, info, debug", err);
	if (!strcmp(key, "log_format"))
		return set_choice(&c->log_format, key, v, log_format_parse, "text, json", err);
	if (!strcmp(key, "workers"))
		return set_int(&c->workers, key, v, 1, 256, err);
	if (!strcmp(key, "shutdown_timeout"))
		return set_int(&c->shutdown_timeout, key, v, 0, 3600, err);
	if (!strcmp(key, "max_concurrent_downloads"))
		return set_int(&c->max_concurrent_downloads, key, v, 1, 16, err);
	if (!strcmp(key, "registry_mirror"))
		return set_registry_mirror_flag(c, v, err);
	if (!strcmp(key, "insecure_registry"))
		return config_registry_set(c, v, "insecure", "true", err);
	return lc_fail(err, 0, "unknown setting '%s'", key);
}

struct ini_ctx {
	struct lc_config *c;
	struct lc_err *err;
	FILE *f;
	int line;       /* lines read so far, counted as inih counts them */
	int failed;     /* line of the first entry refused here, 0 if none */
	int read_errno; /* errno of a read error (e.g. EISDIR), 0 if none */
	int too_long;   /* line number of a line longer than inih's buffer, 0 if none */
};

/* fgets, counting lines, so that an entry's error can be matched with inih's line number. */
static char *ini_read_line(char *buf, int size, void *user)
{
	struct ini_ctx *x = user;
	char *s = fgets(buf, size, x->f);
	if (s) {
		x->line++;
		/* inih would split a longer line and misread the rest: refuse it instead. */
		if (!strchr(s, '\n') && !feof(x->f)) {
			x->too_long = x->line;
			return NULL;
		}
	} else if (ferror(x->f)) {
		x->read_errno = errno ? errno : EIO;
	}
	return s;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	if (x->failed)
		return 0;
	int rc;
	size_t sl = strlen(section);
	/* [cni], [events], [metrics] and [stream] keys are config_set's keys with the section's name and "_" before them */
	static const char *const prefixed[] = { "cni", "events", "metrics", "stream" };
	const char *pfx = NULL;
	for (size_t i = 0; i < sizeof prefixed / sizeof *prefixed; i++)
		if (!strncmp(name, prefixed[i], strlen(prefixed[i])) && name[strlen(prefixed[i])] == '_')
			pfx = prefixed[i];
	int prefixed_section = 0;
	for (size_t i = 0; i < sizeof prefixed / sizeof *prefixed; i++)
		prefixed_section |= !strcmp(section, prefixed[i]);
	if (!strcmp(section, "daemon") && pfx) {
		rc = lc_fail(x->err, 0, "unknown setting '%s' in [daemon] (it belongs in [%s])", name, pfx);
	} else if (!strcmp(section, "daemon")) {
		rc = config_set(x->c, name, value, x->err);
	} else if (prefixed_section) {
		char key[64];
		if (snprintf(key, sizeof key, "%s_%s", section, name) >= (int)sizeof key || pfx)
			rc = lc_fail(x->err, 0, "unknown setting '%s' in [%s]", name, section);
		else
			rc = config_set(x->c, key, value, x->err);
	} else if (!strncmp(section, "registry \"", 10) && sl > 11 && section[sl - 1] == '"') {
		char host[256];
		if (sl - 11 >= sizeof host) {
			rc = lc_fail(x->err, ENAMETOOLONG, "section [%s]", section);
		} else {
			memcpy(host, section + 10, sl - 11);
			host[sl - 11] = 0;
			rc = config_registry_set(x->c, host, name, value, x->err);
		}
	} else {
		rc = lc_fail(x->err, 0, "unknown section [%s] (expected [daemon], [cni], [events], [metrics], [stream] or [registry \"HOST\"])", section);
	}
	if (rc < 0) {
		x->failed = x->line;
		return 0;
	}
	return 1;
}

static int load_one(struct lc_config *c, const char *path, int required, struct lc_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		return lc_fail(err, errno, "config file %s", path);
	}
	struct ini_ctx x = { .c = c, .err = err, .f = f };
	int rc = ini_parse_stream(ini_read_line, &x, on_ini_entry, &x);
	fclose(f);
	if (x.read_errno)
		return lc_fail(err, x.read_errno, "config file %s", path);
	if (x.too_long)
		return lc_fail(err, 0, "config file %s line %d: line too long (at most %d characters)", path,
			       x.too_long, INI_MAX_LINE - 2);
	if (rc != 0) {
		/* inih reports the first error's line: ours only if no syntax error came before it */
		if (x.failed != rc)
			lc_fail(err, 0, "syntax error");
		return lc_wrap(err, "config file %s line %d", path, rc);
	}
	log_debug("config: loaded %s", path);
	return 0;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

int config_load(struct lc_config *c, const char *path, int required, struct lc_err *err)
{
	if (load_one(c, path, required, err) < 0)
		return -1;
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s.d", path) >= (int)sizeof dir)
		return lc_fail(err, ENAMETOOLONG, "%s.d", path);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, conf_filter, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : lc_fail(err, errno, "config drop-in directory %s", dir);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX];
		if (rc == 0) {
			if (snprintf(file, sizeof file, "%s/%s", dir, list[i]->d_name) >= (int)sizeof file)
				rc = lc_fail(err, ENAMETOOLONG, "%s/%s", dir, list[i]->d_name);
			else
				rc = load_one(c, file, 1, err);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}
