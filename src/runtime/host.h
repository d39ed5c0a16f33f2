/*
 * host.h — what the kernel and the daemon's own process offer the containers litecri runs: the
 * host facts the OCI spec builder (src/cri/spec/) checks a request against, read here from /proc
 * and /sys so that the CRI layer reads no host file itself (cgroup facts: cgroup.h; the mount
 * table: util/mountinfo.h).  Each call
 * reads anew; nothing is cached.
 */
#ifndef LITECRI_RUNTIME_HOST_H
#define LITECRI_RUNTIME_HOST_H

#include <stddef.h>

#include "util/err.h"

/* The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap); -1 if unreadable. */
int host_cap_last_cap(void);

/* The daemon's own oom_score_adj (/proc/self/oom_score_adj). */
int host_oom_score_adj(long *adj, struct lc_err *err);

/*
 * 0 when sysctl `dotted` (dots between components, a '/' inside one: "net.ipv4.conf.eth0/100.rp_filter")
 * is a writable file under /proc/sys, as runc needs it to set it; else -1, EINVAL, the message
 * naming that file and "does not exist" or "is not a writable file".  Looked up in the daemon's
 * own namespaces: the namespaced sysctls a new namespace has are the same.
 */
int host_sysctl_writable(const char *dotted, struct lc_err *err);

/*
 * The highest number in a kernel list file such as /sys/devices/system/cpu/possible ("0-3,8");
 * -1 if unreadable.
 */
long host_list_max(const char *path);

/*
 * The boot ID in the file at path (the kernel's /proc/sys/kernel/random/boot_id, unless a test
 * fakes a reboot), its first line into out: "" when there is none or it cannot be read.
 */
void host_boot_id(const char *path, char *out, size_t n);

/* 1 when the kernel has AppArmor enabled (/sys/module/apparmor/parameters/enabled says Y). */
int host_apparmor_enabled(void);

#endif
