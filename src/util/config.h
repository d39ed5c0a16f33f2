/*
 * config.h — daemon configuration: built-in defaults, then the INI config file and its drop-ins,
 * then command-line flags (each later source overrides the earlier one).
 *
 * File format (libinih), all keys optional:
 *   [daemon]
 *   listen = unix:///run/litecri/litecri.sock
 *   db = /var/lib/litecri/litecri.db
 *   root = /var/lib/litecri
 *   state = /run/litecri
 *   log_level = info
 *   log_format = text              text or json (one JSON object per line)
 *   runtime = runc
 *   conmon = conmon                   name or path of the container monitor
 *   pause = /usr/libexec/litecri/litecri-pause   the pods' infra program (default: litecri-pause
 *                                  beside litecri if there, else LITECRI_PAUSE_PATH)
 *   workers = 4
 *   shutdown_timeout = 10
 *   max_concurrent_downloads = 3   layers one pull fetches and unpacks at once
 *
 *   [cni]                          pod networking (see docs/network.md)
 *   conf_dir = /etc/cni/net.d      network configs (.conflist, .conf, .json), watched
 *   bin_dirs = /opt/cni/bin:/usr/lib/cni   plugin directories, the first holding a plugin wins
 *   max_conf_num = 1               how many configs (in name order) a pod is added to
 *   plugin_timeout = 60            seconds one plugin run may take (then it is killed)
 *
 *   [events]                       container events (see docs/events.md)
 *   retain = 10000                 rows the events table keeps (older ones are pruned)
 *   queue = 1024                   events a GetContainerEvents client may fall behind by before
 *                                  it is disconnected
 *   [stream]                       Exec/Attach/PortForward sessions (see docs/streaming.md)
 *   address = 127.0.0.1            listen address (IPv4 or IPv6 literal); loopback by default
 *   port = 0                       0: any free port (logged, and in Status's verbose info)
 *   tls_cert = /etc/litecri/stream.pem   both or neither: HTTPS instead of HTTP
 *   tls_key = /etc/litecri/stream.key
 *   idle_timeout = 14400           seconds without a byte either way before a session is ended
 *   max_sessions = 128             sessions at once (more are answered 503)
 *
 *   [registry "*"]                 where images are fetched from (see docs/images.md)
 *   mirror = https://mirror.example:5000          tried in order, before the registry itself
 *   mirror = http://127.0.0.1:5000 insecure       plain HTTP / unverified TLS only when marked
 *   mirror = https://m.internal ca=/etc/litecri/m.pem   verified with this CA bundle
 *   upstream = false                              do not fall back to the image's own registry
 *   [registry "registry.k8s.io"]   a registry's own section replaces "*" for it entirely
 *   insecure = true                               the registry itself may be plain HTTP
 *   ca = /etc/litecri/registry-ca.pem             CA bundle for the registry itself
 * Drop-ins: every "*.conf" in "<config file>.d/", in byte order of their names, after the file.
 */
#ifndef LITECRI_UTIL_CONFIG_H
#define LITECRI_UTIL_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "util/err.h"

#define LITECRI_DEFAULT_CONFIG "/etc/litecri/litecri.conf"

/* One endpoint images may be fetched from instead of their own registry. */
struct lc_mirror {
	char url[512]; /* http(s)://host[:port][/prefix], no trailing '/' */
	int insecure;  /* plain HTTP allowed, TLS not verified */
	char ca[256];  /* CA certificates (PEM) that verify it, "" = the system store */
};

/* Settings for one registry host ("*": every host without a section of its own). */
struct lc_registry {
	char host[256];
	struct lc_mirror *mirrors; /* in the order given */
	size_t n_mirrors;
	int insecure; /* the host itself: plain HTTP allowed, TLS not verified */
	char ca[256]; /* the host itself: CA certificates (PEM), "" = the system store */
	int upstream; /* after the mirrors, try the host itself (default 1) */
};

struct lc_config {
	char listen[PATH_MAX + 16]; /* as given: unix:///path, unix:/path or /path */
	char socket_path[PATH_MAX]; /* derived from listen */
	char db[PATH_MAX];
	char root[PATH_MAX];
	char state[PATH_MAX];
	char runtime[PATH_MAX];
	char conmon[PATH_MAX]; /* name or path of conmon (default "conmon", searched in $PATH) */
	char pause[PATH_MAX];  /* litecri-pause program; "" = beside litecri, else LITECRI_PAUSE_PATH */
	int log_level;        /* enum log_level */
	int log_format;       /* enum log_format */
	int workers;          /* slow-call threads started at once (the pool grows when all are busy) */
	int shutdown_timeout; /* seconds in-flight calls get to finish after SIGTERM */
	int max_concurrent_downloads; /* layers one pull fetches and unpacks at once */
	/* [cni]: keys cni_conf_dir, cni_bin_dirs, cni_max_conf_num, cni_plugin_timeout (flags
	 * --cni-conf-dir, --cni-bin-dirs) */
	char cni_conf_dir[PATH_MAX];
	char cni_bin_dirs[PATH_MAX];
	int cni_max_conf_num;
	int cni_plugin_timeout; /* seconds */
	/* [metrics] address (key metrics_address, flag --metrics-address): HOST:PORT of the Prometheus
	 * endpoint, IPv6 as [ADDR]:PORT; "" = off (the default) */
	char metrics_address[128];
	/* [events]: keys events_retain, events_queue */
	int events_retain;
	int events_queue;
	/* [stream]: keys stream_address, stream_port, stream_tls_cert, stream_tls_key,
	 * stream_idle_timeout, stream_max_sessions (flags --stream-address, --stream-port) */
	char stream_address[64];
	int stream_port;
	char stream_tls_cert[PATH_MAX];
	char stream_tls_key[PATH_MAX];
	int stream_idle_timeout; /* seconds */
	int stream_max_sessions;
	/* Where the kernel's boot ID is read at startup (default /proc/sys/kernel/random/boot_id).  For
	 * tests only, which fake a reboot with a file of their own: the hidden flag --boot-id-path (not
	 * in --help) or the key boot_id_path. */
	char boot_id_path[PATH_MAX];
	struct lc_registry *registries; /* malloc'ed; config_free releases */
	size_t n_registries;
};

void config_defaults(struct lc_config *c);

/* Release what config_set/config_load allocated (c may be reused after config_defaults). */
void config_free(struct lc_config *c);

/*
 * Registry settings.  `host` is "*" or a registry host[:port].  value forms:
 *   config_registry_set(c, host, "mirror", "URL [insecure] [ca=/path.pem]")   append a mirror
 *   config_registry_set(c, host, "insecure" | "upstream", "true" | "false")
 *   config_registry_set(c, host, "ca", "/path.pem")
 * The flags --registry-mirror HOST=URL[,insecure] and --insecure-registry HOST map onto it
 * (config_set keys "registry_mirror" and "insecure_registry").
 */
int config_registry_set(struct lc_config *c, const char *host, const char *key, const char *value,
			struct lc_err *err);

/* The section for host if there is one, else the "*" section, else NULL (defaults apply). */
const struct lc_registry *config_registry_for(const struct lc_config *c, const char *host);

/*
 * Set one key (as named in the file; flags use the same names with '-' for '_').
 * Validates the value; on error names the key and value.
 */
int config_set(struct lc_config *c, const char *key, const char *value, struct lc_err *err);

/*
 * Load `path` and then every "*.conf" file in "<path>.d".  A missing file is fine when !required (the default
 * file), an error when required (given with --config).  Parse errors name file and line.
 */
int config_load(struct lc_config *c, const char *path, int required, struct lc_err *err);

#endif
