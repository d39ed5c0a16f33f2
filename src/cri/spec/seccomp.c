/* seccomp.c — see seccomp.h. */
#include "cri/spec/seccomp.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/spec/bits.h"

#define SECCOMP_PROFILE_MAX (1u << 20)

/* Allowed for every container by the runtime-default profile (the docker/containerd default). */
static const char *const seccomp_allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
	"chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
	"clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
	"flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
	"fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
	"futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
	"getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
	"get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
	"inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
	"io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
	"kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
	"memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
	"msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
	"open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
	"prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
	"readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
	"recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
	"rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
	"semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
	"sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	"setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
	"setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
	"setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
	"shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
	"sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
	"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
	"timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
	"unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
	"waitpid", "write", "writev",
	/* kernel >= 4.8 makes these safe without CAP_SYS_PTRACE (docker's minKernel rule) */
	"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
#if defined(__x86_64__) || defined(__i386__)
	"arch_prctl", "modify_ldt",
#endif
	NULL,
};

/* Allowed when the container has the capability. */
static const struct {
	int cap;
	const char *const names[24];
} seccomp_by_cap[] = {
	{ CAP_SYS_ADMIN,
	  { "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
	    "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
	    "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare", NULL } },
	{ CAP_SYS_BOOT, { "reboot", NULL } },
	{ CAP_SYS_CHROOT, { "chroot", NULL } },
	{ CAP_SYS_MODULE, { "delete_module", "init_module", "finit_module", NULL } },
	{ CAP_SYS_PACCT, { "acct", NULL } },
	{ CAP_SYS_PTRACE, { "userfaultfd", NULL } },
	{ CAP_SYS_RAWIO, { "iopl", "ioperm", NULL } },
	{ CAP_SYS_TIME, { "settimeofday", "stime", "clock_settime", "clock_settime64", NULL } },
	{ CAP_SYS_TTY_CONFIG, { "vhangup", NULL } },
	{ CAP_SYS_NICE, { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL } },
	{ CAP_SYSLOG, { "syslog", NULL } },
	{ CAP_BPF, { "bpf", NULL } },
	{ CAP_PERFMON, { "perf_event_open", NULL } },
};

/* An array of the NULL-terminated strings v; NULL on ENOMEM. */
static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (; a && *v; v++)
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* {"names", "action"}; NULL on ENOMEM. */
static json_t *seccomp_rule(const char *const *names, const char *action)
{
	json_t *r = json_object();
	if (!r || json_object_set_new(r, "names", strv_json(names)) < 0 ||
	    json_object_set_new(r, "action", json_string(action)) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* seccomp_rule with "args": [{"index": 0, "value", "valueTwo": 0, "op"}]; NULL on ENOMEM. */
static json_t *seccomp_rule_arg0(const char *const *names, const char *action, uint64_t value, const char *op)
{
	json_t *r = seccomp_rule(names, action), *args = json_array(), *a = json_object();
	if (!r || !args || !a || json_object_set_new(a, "index", json_integer(0)) < 0 ||
	    json_object_set_new(a, "value", json_integer((json_int_t)value)) < 0 ||
	    json_object_set_new(a, "valueTwo", json_integer(0)) < 0 ||
	    json_object_set_new(a, "op", json_string(op)) < 0 || json_array_append(args, a) < 0 ||
	    json_object_set(r, "args", args) < 0) {
		json_decref(a);
		json_decref(args);
		json_decref(r);
		return NULL;
	}
	json_decref(a);
	json_decref(args);
	return r;
}

/* The runtime-default seccomp profile for a process with capabilities caps; NULL on ENOMEM. */
static json_t *seccomp_default(uint64_t caps)
{
#if defined(__x86_64__)
	static const char *const arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
#elif defined(__aarch64__)
	static const char *const arches[] = { "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", NULL };
#else
	static const char *const arches[] = { NULL }; /* the native architecture only */
#endif
	json_auto_t *s = json_object();
	json_t *rules; /* borrowed from s */
	if (!s || json_object_set_new(s, "defaultAction", json_string("SCMP_ACT_ERRNO")) < 0 ||
	    json_object_set_new(s, "architectures", strv_json(arches)) < 0 ||
	    json_object_set_new(s, "syscalls", rules = json_array()) < 0 ||
	    json_array_append_new(rules, seccomp_rule(seccomp_allowed, "SCMP_ACT_ALLOW")) < 0)
		return NULL;

	/* personality(2) only for the harmless personas (PER_LINUX, PER_LINUX32, UNAME26 variants, query) */
	static const uint64_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
	static const char *const personality[] = { "personality", NULL };
	for (size_t i = 0; i < sizeof personas / sizeof personas[0]; i++)
		if (json_array_append_new(rules, seccomp_rule_arg0(personality, "SCMP_ACT_ALLOW", personas[i],
								   "SCMP_CMP_EQ")) < 0)
			return NULL;
	for (size_t i = 0; i < sizeof seccomp_by_cap / sizeof seccomp_by_cap[0]; i++)
		if ((caps & CAPBIT(seccomp_by_cap[i].cap)) &&
		    json_array_append_new(rules, seccomp_rule(seccomp_by_cap[i].names, "SCMP_ACT_ALLOW")) < 0)
			return NULL;
	if (!(caps & CAPBIT(CAP_SYS_ADMIN))) {
		/* clone without namespace flags; clone3 (flags out of reach) fails with ENOSYS so that
		 * libc falls back to clone */
		static const char *const clone[] = { "clone", NULL }, *const clone3[] = { "clone3", NULL };
		const uint64_t ns_flags = 0x7E020000; /* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
		if (json_array_append_new(rules, seccomp_rule_arg0(clone, "SCMP_ACT_ALLOW", ns_flags,
								   "SCMP_CMP_MASKED_EQ")) < 0)
			return NULL;
		json_t *r = seccomp_rule(clone3, "SCMP_ACT_ERRNO");
		if (r && json_object_set_new(r, "errnoRet", json_integer(ENOSYS)) < 0) {
			json_decref(r);
			r = NULL;
		}
		if (json_array_append_new(rules, r) < 0) /* releases r */
			return NULL;
	}
	json_t *ret = s;
	s = NULL;
	return ret;
}

#if defined(__x86_64__)
#define HOST_SECCOMP_ARCH "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define HOST_SECCOMP_ARCH "SCMP_ARCH_AARCH64"
#else
#define HOST_SECCOMP_ARCH ""
#endif

/*
 * A seccomp profile file on the node: OCI format (linux.seccomp), or docker's format whose
 * archMap is turned into architectures; docker's conditional rules (includes/excludes) are refused.
 */
static int seccomp_localhost(const char *path, json_t **out, struct lc_err *err)
{
	*out = NULL;
	struct stat st;
	if (path[0] != '/')
		return lc_fail(err, EINVAL, "seccomp profile \"%s\" is not an absolute path", LC_Q(path));
	if (stat(path, &st) < 0)
		return lc_fail(err, errno, "seccomp profile %s", LC_Q(path));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SECCOMP_PROFILE_MAX)
		return lc_fail(err, EINVAL, "seccomp profile %s is not a regular file of at most %u bytes", LC_Q(path),
			       SECCOMP_PROFILE_MAX);
	json_error_t je;
	json_auto_t *s = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!s)
		return lc_fail(err, EINVAL, "seccomp profile %s: %s (line %d)", LC_Q(path), je.text, je.line);
	if (!json_is_object(s) || !json_is_string(json_object_get(s, "defaultAction")))
		return lc_fail(err, EINVAL, "seccomp profile %s has no defaultAction", LC_Q(path));
	json_t *archmap = json_object_get(s, "archMap");
	if (archmap && !json_object_get(s, "architectures")) {
		json_t *arches = json_array(), *e;
		size_t i;
		if (!arches)
			return lc_fail(err, ENOMEM, "seccomp profile %s", LC_Q(path));
		int oom = 0;
		json_array_foreach(archmap, i, e) {
			json_t *arch = json_object_get(e, "architecture"), *sub = json_object_get(e, "subArchitectures");
			if (strcmp(S(json_string_value(arch)), HOST_SECCOMP_ARCH) != 0)
				continue;
			oom |= json_array_append(arches, arch) < 0;
			if (json_is_array(sub))
				oom |= json_array_extend(arches, sub) < 0;
		}
		if (oom) {
			json_decref(arches);
			return lc_fail(err, ENOMEM, "seccomp profile %s", LC_Q(path));
		}
		if (json_object_set_new(s, "architectures", arches) < 0)
			return lc_fail(err, ENOMEM, "seccomp profile %s", LC_Q(path));
	}
	json_object_del(s, "archMap");
	json_t *calls = json_object_get(s, "syscalls"), *c;
	size_t i;
	if (calls && !json_is_array(calls))
		return lc_fail(err, EINVAL, "seccomp profile %s: syscalls is not an array", LC_Q(path));
	json_array_foreach(calls, i, c) {
		if (!json_is_object(c))
			return lc_fail(err, EINVAL,
					"seccomp profile %s: syscalls[%zu] is not an object", LC_Q(path), i);
		static const char *const cond[] = { "includes", "excludes" };
		for (int k = 0; k < 2; k++) {
			json_t *v = json_object_get(c, cond[k]);
			if (v && json_is_object(v) && json_object_size(v) > 0)
				return lc_fail(err, EINVAL,
					       "seccomp profile %s: syscalls[%zu] has conditional %s, which is not supported",
					       path, i, cond[k]);
			json_object_del(c, cond[k]);
		}
		json_object_del(c, "comment");
	}
	*out = s;
	s = NULL;
	return 0;
}

int seccomp_profile(const Runtime__V1__SecurityProfile *sp, const char *legacy, uint64_t caps, json_t **out,
		    struct lc_err *err)
{
	*out = NULL;
	const char *ref = NULL;
	int def = 0;
	if (sp) {
		switch (sp->profile_type) {
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault:
			def = 1;
			break;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined:
			break;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost:
			ref = S(sp->localhost_ref);
			break;
		default:
			return lc_fail(err, EINVAL, "unknown seccomp profile type %d", (int)sp->profile_type);
		}
	} else {
		legacy = S(legacy);
		if (strcmp(legacy, "runtime/default") == 0 || strcmp(legacy, "docker/default") == 0)
			def = 1;
		else if (strncmp(legacy, "localhost/", 10) == 0)
			ref = legacy + 10;
		else if (*legacy && strcmp(legacy, "unconfined") != 0)
			return lc_fail(err, EINVAL, "seccomp profile \"%s\" is not known", LC_Q(legacy));
	}
	if (def) {
		*out = seccomp_default(caps);
		if (!*out)
			return lc_fail(err, ENOMEM, "building the runtime-default seccomp profile");
	} else if (ref) {
		return seccomp_localhost(ref, out, err);
	}
	return 0;
}
