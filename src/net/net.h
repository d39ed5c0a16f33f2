/*
 * net.h — pod networking through CNI (spec 1.0.0; 0.3.x/0.4.0 results read too): the network
 * configuration found in a directory, the plugins that run it, and ADD / DEL of a pod's network
 * namespace.  The CRI layer (src/cri/sandbox.c) calls it between a sandbox's flag and its outcome,
 * like every other slow step; nothing here touches the database or knows CRI wire types.
 *
 * Layer: includes util/ and jansson only.  Thread-safe: any number of ADD/DEL run at once (the
 * plugins themselves serialise what they share, e.g. host-local's lease files).
 *
 * Errors: -1 with *err filled, the message naming the network and the plugin ("network
 * litecri-test: plugin bridge: <the plugin's msg> (CNI code 7)"); classes: ENOENT no usable
 * network config or plugin (NetworkReady is false), ETIMEDOUT a plugin ran past the timeout
 * (killed), EPROTO a plugin's output is not a CNI result or error, EIO a plugin failed.
 */
#ifndef LITECRI_NET_NET_H
#define LITECRI_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct net;

struct net_config {
	const char *conf_dir; /* where the network configs are: /etc/cni/net.d */
	const char *bin_dirs; /* ':'-separated plugin directories; the first holding a plugin wins */
	int max_conf_num;     /* how many configs are used (1: the first in name order) */
	int timeout_s;        /* one plugin run is killed after this many seconds (> 0) */
};

/*
 * Read the configuration and start watching conf_dir (inotify): a config that appears, changes or
 * disappears is picked up without a restart, and a change of readiness is logged.  A missing or
 * empty conf_dir is not an error (not ready).  *out is freed with net_close.
 */
int net_open(const struct net_config *c, struct net **out, struct lc_err *err);
void net_close(struct net *n); /* NULL-safe; stops the watch */

/*
 * 1 when a valid network config is present and every plugin it names is found: then pods can be
 * networked.  Else 0 with why in msg ("no network config found in /etc/cni/net.d", "network X:
 * plugin bridge not found in /opt/cni/bin:/usr/lib/cni", the parse error naming the file).
 */
int net_ready(struct net *n, char *msg, size_t len);

/* The active configuration for Status.verbose: {"confDir", "binDirs", "networks": [the config
 * lists in use]} (a new reference). */
json_t *net_info(struct net *n);

/* A hostPort mapping (runtimeConfig.portMappings). */
struct net_port {
	const char *protocol; /* "tcp", "udp", "sctp" */
	int32_t container_port, host_port;
	const char *host_ip;  /* "" = any */
};

/* The pod as the plugins see it. */
struct net_pod {
	const char *id;                 /* sandbox ID: CNI_CONTAINERID, K8S_POD_INFRA_CONTAINER_ID */
	const char *name, *namespace_, *uid; /* K8S_POD_NAME / _NAMESPACE / _UID */
	const char *netns;              /* path of the pod's pinned network namespace ("" on a DEL
	                                 * whose namespace is gone: the spec allows it) */
	const char *ifname;             /* "eth0" */
	const struct net_port *ports;   /* runtimeConfig.portMappings (the mappings with a hostPort) */
	size_t n_ports;
	int64_t ingress_bps, egress_bps; /* runtimeConfig.bandwidth, bits/s; 0: none */
	char *const *dns_servers, *const *dns_searches, *const *dns_options; /* runtimeConfig.dns */
	size_t n_dns_servers, n_dns_searches, n_dns_options;
	char *const *ips;               /* runtimeConfig.ips: addresses asked for (CIDR); none: any */
	size_t n_ips;
};

/* What an ADD made, to record in the sandbox's row (malloc'ed; net_attachment_free). */
struct net_attachment {
	char *config;   /* the network config lists the ADD ran: a JSON array of them (one per network
	                 * used), for the DEL: the directory may change or be emptied meanwhile */
	char *result;   /* the ADD's results: a JSON array, one per list (its last plugin's result),
	                 * the DEL's prevResults */
	char **ips;     /* the pod's addresses on ifname (or tied to no interface, loopback excluded),
	                 * without prefix length, IPv4 first (from result) */
	size_t n_ips;
};
void net_attachment_free(struct net_attachment *a);

/*
 * ADD the pod to the network: the lists `config` names (a JSON array of config lists, as
 * net_info's "networks": the caller records it first, so that a DEL after a crash mid-ADD runs
 * exactly what the ADD ran), or the current ones when config is NULL; each plugin in order,
 * prevResult chained.  On failure the lists already added, and the failing one, are DELeted before returning: nothing
 * is left (lease, interface, rules) unless that DEL fails too, which is logged.
 */
int net_add(struct net *n, const struct net_pod *p, const char *config, struct net_attachment *a,
	    struct lc_err *err);

/*
 * DEL the pod from the networks `config` as recorded at ADD (net_attachment.config; lists in
 * reverse order, plugins in reverse order, prevResult from `result`, which may be NULL when the
 * ADD's outcome was never recorded: a daemon killed between ADD and its commit).  Idempotent:
 * a DEL of what is already gone succeeds (as the spec requires of plugins).
 *
 * The config recorded with the ADD's outcome holds each plugin's runtimeConfig as the ADD passed
 * it (portMappings...: a plugin like portmap finds what to remove there), and it is used as is;
 * a plugin recorded without one (a config recorded before the ADD, whose outcome never was) gets
 * its runtimeConfig from p, as the ADD did: the recorded config alone always serves.  config NULL
 * (nothing was recorded): the current configuration, with runtimeConfig from p, as containerd
 * does.  Every plugin is run even when one fails (what
 * the others hold is released); the first failure is returned.  A plugin that is not found fails
 * the DEL (ENOENT, naming it): what it holds would be leaked.
 */
int net_del(struct net *n, const struct net_pod *p, const char *config, const char *result, struct lc_err *err);

#endif
