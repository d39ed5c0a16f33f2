/*
 * spec.h — the OCI runtime spec (config.json, ociVersion 1.0.2, as runc 1.1.5 takes it) of a
 * container or of a pod's infra process, built from the CRI request merged with the image config.
 *
 * Container process: args = CRI command (else image Entrypoint, an Entrypoint of [""] counting as
 * none) + CRI args (else, when no CRI command, image Cmd); nothing to run is EINVAL.  env = image
 * Env overridden by CRI envs (same key: the CRI value, in the image's position), then PATH (the
 * default /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), HOSTNAME (the pod's
 * hostname when it has its own UTS namespace, else the node's) and HOME (the user's home from
 * /etc/passwd, "/" if unknown) when not set by either.  cwd = CRI working_dir (absolute), else image
 * WorkingDir (made absolute), else "/".  terminal = CRI tty (a runtime then needs a console socket:
 * conmon -t); stdin/stdin_once are not used.
 * User: security context run_as_username or run_as_user (+ run_as_group; a group alone is EINVAL),
 * else the image's User ("name", "uid", "uid:gid", "name:group"), resolved through the rootfs'
 * /etc/passwd and /etc/group (userdb.h); supplementary groups from /etc/group plus the security
 * context's supplemental_groups (policy Merge), or only the latter (Strict).
 * Capabilities: the default set (CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE) in bounding/effective/permitted, then CRI
 * add/drop ("ALL" first, then single names, with or without CAP_, a drop winning); ambient ones
 * also go to inheritable and ambient.  Unknown names are EINVAL.  "ALL" (and privileged) means every
 * capability litecri itself holds (runc cannot grant more); a single added one it does not hold is
 * EINVAL.  noNewPrivileges = no_new_privs.
 * Mounts: /proc, /dev (tmpfs), /dev/pts, /dev/shm (the pod's directory bound, else a private tmpfs),
 * /dev/mqueue, /sys and /sys/fs/cgroup (read-only unless privileged), the pod's /etc/hosts,
 * /etc/resolv.conf, /etc/hostname (read-only with a read-only rootfs), then the CRI mounts sorted by
 * depth (parents first; none on or inside /proc but runc's lxcfs files) as "rbind" with
 * propagation PRIVATE→rprivate, HOST_TO_CONTAINER→rslave
 * (its host mount must be shared or slave, rootfsPropagation rslave), BIDIRECTIONAL→rshared (host
 * mount shared, rootfsPropagation rshared); readonly → "ro" (recursive_read_only → "rro"),
 * mount_options from the usual flag names.  A CRI mount replaces a default one at the same
 * destination (a CRI /dev replaces every default below /dev).  A CRI host_path that does not exist
 * is created as a directory (0755) as containerd and CRI-O do for kubelet's hostPath volumes; an
 * existing symlink is mounted as its target.  Image volumes, id-mapped mounts: EINVAL.
 * Devices: each CRI device (host path followed, must be a char/block device: ENOENT/EINVAL) becomes
 * a linux.devices node with the host node's mode and owner and a cgroup rule allowing its
 * permissions (default "rwm") after a leading deny-all rule; runc appends its own default allow
 * list (null, zero, full, tty, random, urandom, ptmx, pts, mknod).  CDI devices: EINVAL.
 * Namespaces: network/IPC/UTS of the pod (pinned paths) or the host's (a container mode of NODE while
 * the pod has its own, or CONTAINER/TARGET, is EINVAL), PID per NamespaceOption (POD: the infra
 * process's /proc/<infra_pid>/ns/pid, EINVAL without one; CONTAINER: new; NODE: host's; TARGET:
 * EINVAL; TARGET: the target container's, /proc/<target_pid>/ns/pid, EINVAL without one), a new
 * mount namespace, a new cgroup namespace on cgroup v2 hosts.  User namespaces
 * (userns mode POD): EINVAL.  "hostname" only when the pod has its own UTS namespace.
 * Linux resources from the CRI request (cpu shares/quota/period/cpuset, memory limit — swap limited
 * to it when the host accounts swap —, hugepage limits, unified on cgroup v2 hosts), oom_score_adj
 * (-1000..1000, only when resources are given) raised to the daemon's own when it lacks
 * CAP_SYS_RESOURCE, cgroupsPath "<cgroup_parent>/<id>" (cgroupfs; the parent must be a clean
 * absolute path, no systemd ".slice": else EINVAL).  Masked paths: CRI masked_paths, else
 * /proc/acpi /proc/kcore /proc/keys
 * /proc/latency_stats /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware
 * /sys/devices/virtual/powercap; read-only paths: CRI readonly_paths, else /proc/asound /proc/bus
 * /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger.
 * Seccomp (security context seccomp, else the deprecated seccomp_profile_path): RuntimeDefault →
 * litecri's default profile (docker's allow-list; capability-dependent calls only with the
 * capability; clone without namespace flags and clone3 → ENOSYS unless CAP_SYS_ADMIN); Localhost →
 * the JSON file on the node (OCI format, or docker's with archMap; conditional includes/excludes
 * are EINVAL); Unconfined or unset → none.  AppArmor: only a Localhost profile is applied (EINVAL
 * when AppArmor is disabled on the host); RuntimeDefault means none.  SELinux options and
 * selinux_relabel are ignored (no SELinux support).
 * Privileged (only in a pod whose config is privileged, else EINVAL): every capability held, no masked or
 * read-only paths, /sys and /sys/fs/cgroup read-write, every device allowed and the host's /dev
 * nodes created, no seccomp or AppArmor.
 * Annotations: the CRI annotations plus io.kubernetes.cri.* (container-type, sandbox-id,
 * sandbox-name, sandbox-namespace, sandbox-uid, container-name, image-name), the latter winning.
 *
 * Bad input (a relative or ".." container path, a device, user or profile that does not exist, a
 * string that is not UTF-8, and what runc would refuse only once it runs: a mount on or inside /proc,
 * cpu_quota below 1000 us, a cpuset beyond the host's possible CPUs or memory nodes, a sysctl that
 * is not a writable file under /proc/sys) fails with errnum EINVAL and a message naming the field
 * (quoting request values with LC_Q): the CRI layer turns it into INVALID_ARGUMENT.  Nothing is
 * left behind on failure except a created
 * missing host_path directory.  Thread-safe.
 */
#ifndef LITECRI_CRI_SPEC_SPEC_H
#define LITECRI_CRI_SPEC_SPEC_H

#include <jansson.h>
#include <sys/types.h>

#include "api.pb-c.h"
#include "util/err.h"

/* What a pod provides to each of its containers. */
struct spec_pod {
	const char *id;                              /* sandbox ID */
	const Runtime__V1__PodSandboxConfig *config; /* as RunPodSandbox received it */
	const char *netns, *ipcns, *utsns;           /* pinned namespace files; NULL = the host's */
	pid_t infra_pid;                             /* for a POD-mode PID namespace: /proc/<pid>/ns/pid */
	const char *hosts, *resolv_conf, *hostname;  /* files to bind-mount at /etc/...; NULL = none */
	const char *shm;                             /* directory bind-mounted at /dev/shm; NULL = a private tmpfs */
	const char *cgroup_parent;                   /* "" or NULL: "/litecri" */
};

struct spec_container {
	const char *id;
	const Runtime__V1__ContainerConfig *config;  /* as CreateContainer received it */
	const char *image_config;                    /* the image's config JSON (OCI/Docker), NULL = none */
	const char *image_name;                      /* as requested, for annotations */
	const char *rootfs;                          /* mounted rootfs (absolute), read to resolve users */
	pid_t target_pid;                            /* PID mode TARGET: the target container's init process */
};

/* config.json for a container of pod p.  *out is a new reference. */
int spec_container(const struct spec_pod *p, const struct spec_container *c, json_t **out, struct lc_err *err);

/*
 * The cgroupsPath of container (or infra container) id of a pod whose linux.cgroup_parent is
 * cgroup_parent (NULL or "": "/litecri"): "<cgroup_parent>/<id>" (cgroupfs), malloc'ed.  The
 * parent must be a clean absolute path (no "..", ".", empty components or trailing '/'), as the
 * cgroupfs managers of containerd and CRI-O take it, and no systemd slice: EINVAL naming
 * linux.cgroup_parent.
 */
int spec_cgroups_path(const char *cgroup_parent, const char *id, char **out, struct lc_err *err);

/*
 * config.json for the pod's infra process: litecri-pause at "/pause" in `rootfs` (read-only), new
 * PID (the host's when the pod's PID mode is NODE) and mount namespaces, the pod's network/IPC/UTS
 * namespaces, hostname (own UTS namespace only), cgroupsPath "<cgroup_parent>/<sandbox id>", cpu
 * shares 2, no capabilities, noNewPrivileges, user 65535:65535, oom_score_adj -998 (raised as for
 * containers), the pod's sysctls (only those of a namespace the pod has: net.* with its own network,
 * kernel.shm and msg and sem and fs.mqueue.* with its own IPC, kernel.domainname with its own UTS;
 * and only one that is a writable file under /proc/sys; any other is EINVAL), the pod's seccomp
 * profile, the pod annotations plus io.kubernetes.cri.*
 * (container-type "sandbox", sandbox-id/-name/-namespace/-uid/-log-directory).
 */
int spec_pause(const struct spec_pod *p, const char *rootfs, json_t **out, struct lc_err *err);

/*
 * The OCI linux.resources object (cpu, memory, hugepageLimits, unified; no devices) of r, checked
 * as for a container (negative values, cpusets, page sizes, oom_score_adj range: EINVAL), for
 * `runtime update`.  *out is a new reference.
 */
int spec_resources(const Runtime__V1__LinuxContainerResources *r, json_t **out, struct lc_err *err);

/*
 * The signal that stops a container of this image: the config's StopSignal ("SIGQUIT", "QUIT",
 * "quit", "3", "SIGRTMIN+3", "RTMAX-1"), SIGTERM when absent, unknown or unparsable.
 */
int spec_stop_signal(const char *image_config);

#endif
