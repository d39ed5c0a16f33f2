/*
 * podns.h — what a pod shares besides its processes: pinned namespaces, /dev/shm, and the
 * /etc/hosts, /etc/resolv.conf, /etc/hostname files its containers bind-mount.
 *
 * Namespaces are pinned by bind-mounting /proc/<pid>/ns/<kind> of a short-lived helper child
 * onto "<dir>/<kind>", so they outlive every process of the pod.  Mount layout of one pod:
 *
 *   <dir>            bind mount of itself, made MS_PRIVATE (by podns_create, removed by podns_remove)
 *   <dir>/net        bind mount of the helper's /proc/<pid>/ns/net (private, as its parent)
 *   <dir>/ipc, /uts  likewise
 *
 * The private self-bind keeps the pins from propagating into other mount namespaces whatever the
 * propagation of the file system <dir> lives on (systemd makes / shared).  Copies that other mount
 * namespaces made anyway (of the self-bind while it was still shared, or of the whole tree by a
 * later unshare(CLONE_NEWNS)) are detached by the kernel when podns_remove unlinks the pin files
 * and removes <dir> (Linux >= 3.18).  Hence <dir> must be dedicated to the pins: keep /dev/shm and
 * the hosts/resolv.conf/hostname files elsewhere.
 *
 * All functions are safe in a multi-threaded process, idempotent where the contract says so, and
 * never touch anything outside the paths they are given.
 */
#ifndef LITECRI_RUNTIME_PODNS_H
#define LITECRI_RUNTIME_PODNS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum { PODNS_NET = 1, PODNS_IPC = 2, PODNS_UTS = 4 };

/*
 * Create new namespaces of the kinds in `kinds` (a non-empty OR of PODNS_*) and pin them at
 * <dir>/net, <dir>/ipc, <dir>/uts (files mode 0444); dir and its parents are created, and dir is
 * made a private bind mount of itself (see the layout above).  In a new UTS namespace the hostname
 * is set to `hostname` (if not NULL or ""; at most 64 bytes, no line breaks); without PODNS_UTS it
 * is ignored.  In a new network namespace the loopback interface is brought up.
 *
 * The namespaces are made by a forked helper child (the calling process's own namespaces are never
 * changed), which is killed and reaped before this returns.
 *
 * dir must not already be a mount point nor hold pin files (EEXIST): after a crash, podns_remove
 * first.  On failure nothing stays mounted, the pin files made are removed, and so is dir if this
 * call created it.
 */
int podns_create(const char *dir, int kinds, const char *hostname, struct lc_err *err);

/*
 * Unpin (unmount) and delete <dir>/{net,ipc,uts}, unmount the self-bind of dir, and remove dir
 * (which must then be empty: ENOTEMPTY otherwise).  Missing pins or a missing dir are fine
 * (idempotent); a busy pin or self-bind is detached lazily (MNT_DETACH); any other failing unmount
 * is an error.
 */
int podns_remove(const char *dir, struct lc_err *err);

/* Path of a pinned namespace file: "<dir>/net" etc. (kind is one PODNS_* value, else EINVAL). */
int podns_path(const char *dir, int kind, char *out, size_t n, struct lc_err *err);

/*
 * Set namespaced sysctls in the namespaces pinned at dir (podns_create's): keys[i] (dotted,
 * "net.ipv4.ip_unprivileged_port_start", or with '/', as the CRI allows) to values[i] — net.* in
 * the network namespace, kernel.domainname in the UTS one, the rest (kernel.shm*, kernel.msg*,
 * kernel.sem, fs.mqueue.*) in the IPC one, each written by a thread that joins it.  For a pod
 * without an infra process, whose runtime would otherwise have written them; the caller has
 * checked them (spec_pause's check).  Stops at the first that fails.
 */
int podns_sysctls(const char *dir, const char *const *keys, const char *const *values, size_t n, struct lc_err *err);

/*
 * Mount a tmpfs ("shm") of size_bytes (> 0, rounded up to pages by the kernel; mode 1777, nosuid,
 * nodev, noexec) at path (created with its parents).  Idempotent: if a tmpfs is already mounted
 * at path, 0 (whatever its size); another file system mounted there is an error (EEXIST).
 */
int podns_shm_mount(const char *path, uint64_t size_bytes, struct lc_err *err);

/* Unmount (lazily if busy) and remove path; missing (or not mounted) is fine. */
int podns_shm_unmount(const char *path, struct lc_err *err);

/* What RunPodSandbox writes for its containers. */
struct podns_files {
	const char *hostname; /* NULL or "": the host's hostname (as containerd does) */
	const char *const *servers; size_t n_servers;   /* DNSConfig: nameservers */
	const char *const *searches; size_t n_searches; /* search domains */
	const char *const *options; size_t n_options;   /* resolver options */
	int host_dns; /* no DNSConfig given: copy the host's /etc/resolv.conf (the lists are ignored) */
};

/*
 * Write <dir>/hosts, <dir>/resolv.conf, <dir>/hostname (mode 0644; dir is created), each atomically
 * (temporary file in dir, fsync, rename).
 *
 *   hosts:        127.0.0.1 localhost, ::1 localhost ip6-localhost ip6-loopback, the usual ip6 names
 *                 (as kubelet's managed hosts file), and "127.0.1.1 <hostname>" (the pod has no
 *                 other address here).
 *   resolv.conf:  host_dns: a copy of the host's /etc/resolv.conf; otherwise "search a b" (if any),
 *                 one "nameserver x" per server, "options x y" (if any), as containerd writes it
 *                 (no lists at all: an empty file).
 *   hostname:     "<hostname>\n".
 *
 * Values with line breaks are refused (EINVAL, naming the field, e.g. "dns search domain 2"), and
 * so are empty list entries, entries with blanks (one line holds several), a NULL list with a
 * non-zero count, and blanks in the hostname.
 */
int podns_write_files(const char *dir, const struct podns_files *f, struct lc_err *err);

/* One network interface's counters (/proc/net/dev of the namespace). */
struct podns_iface {
	char name[16]; /* IFNAMSIZ */
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/*
 * The counters of every interface of the network namespace pinned at <dir>/net (podns_create's
 * dir), loopback included, in the kernel's order: *ifs malloc'ed (n entries; NULL when none).
 * Read by a short-lived thread that joins the namespace (setns) and reads its own
 * /proc/thread-self/net/dev; the calling thread's namespaces never change.  ENOENT when there is no
 * such pin (the pod has the host's network, or was removed).
 */
int podns_net_stats(const char *dir, struct podns_iface **ifs, size_t *n, struct lc_err *err);
/*
 * A TCP socket (close-on-exec) connected to localhost port `port` (127.0.0.1, else ::1) inside the
 * network namespace pinned at netns_path (NULL or "": the daemon's own, the host's).  A short-lived
 * thread enters the namespace (setns) to create and connect the socket, which then works from any
 * thread; the caller's namespaces never change.  errnum: connect(2)'s for 127.0.0.1 when neither
 * address accepts (ECONNREFUSED ...); EINVAL for a port outside 1..65535; open(2)'s for the pin.
 */
int podns_connect(const char *netns_path, int port, int *fd, struct lc_err *err);

#endif
