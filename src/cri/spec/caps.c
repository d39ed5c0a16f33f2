/* caps.c — the capability sets of a container's process (names, defaults, add/drop/ALL); see spec.h. */
#include "cri/spec/spec_int.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/host.h"

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
	"LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
	"CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

static const uint64_t default_caps = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) |
				     CAPBIT(CAP_FOWNER) | CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) |
				     CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETFCAP) |
				     CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(CAP_SYS_CHROOT) |
				     CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);

/*
 * Every capability this kernel knows (and we have a name for) that this process can hand on: in
 * its permitted and bounding sets.  runc, started by us, cannot raise one beyond them (capset
 * fails with EPERM), so "ALL" and privileged mean what we hold, as containerd's current set.
 */
static uint64_t all_caps(void)
{
	long last = host_cap_last_cap();
	if (last >= N_CAPS || last < 0)
		last = N_CAPS - 1;
	uint64_t known = last >= 63 ? UINT64_MAX : (CAPBIT(last + 1) - 1);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return known;
	uint64_t held = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
	for (int c = 0; c <= last && c < 64; c++)
		if ((held & CAPBIT(c)) && prctl(PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) != 1)
			held &= ~CAPBIT(c);
	return known & held;
}

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" → its number; -1 if unknown. */
static int cap_lookup(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < N_CAPS; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

static int cap_list(char **names, size_t n, const char *field, uint64_t *mask, int *all, struct lc_err *err)
{
	*mask = 0;
	*all = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(S(names[i]), "ALL") == 0) {
			*all = 1;
			continue;
		}
		int c = cap_lookup(S(names[i]));
		if (c < 0)
			return lc_fail(err, EINVAL, "%s: unknown capability \"%s\"", field, LC_Q(names[i]));
		*mask |= CAPBIT(c);
	}
	return 0;
}

/*
 * The container's capability sets: the defaults, then "ALL" added / dropped, then single ones
 * added / dropped (a drop wins), ambient ones in every set; privileged: every capability.  "ALL"
 * and privileged mean every capability litecri holds; a single one it does not hold is EINVAL.
 */
int compute_caps(const cri_secctx *sc, uint64_t *main, uint64_t *ambient, struct lc_err *err)
{
	*main = default_caps;
	*ambient = 0;
	const Runtime__V1__Capability *cr = sc ? sc->capabilities : NULL;
	if (cr) {
		uint64_t add, drop, amb;
		int add_all, drop_all, amb_all;
		if (cap_list(cr->add_capabilities, cr->n_add_capabilities, "add_capabilities", &add, &add_all, err) < 0 ||
		    cap_list(cr->drop_capabilities, cr->n_drop_capabilities, "drop_capabilities", &drop, &drop_all,
			     err) < 0 ||
		    cap_list(cr->add_ambient_capabilities, cr->n_add_ambient_capabilities, "add_ambient_capabilities",
			     &amb, &amb_all, err) < 0)
			return -1;
		if (amb_all)
			return lc_fail(err, EINVAL, "add_ambient_capabilities: \"ALL\" is not allowed");
		uint64_t missing = (add | amb) & ~drop & ~all_caps();
		for (int i = 0; missing && i < N_CAPS; i++)
			if (missing & CAPBIT(i))
				return lc_fail(err, EINVAL,
					       "%s: CAP_%s is not held by litecri, so no container of this node can have it",
					       (amb & CAPBIT(i)) ? "add_ambient_capabilities" : "add_capabilities",
					       cap_names[i]);
		if (add_all)
			*main = all_caps();
		if (drop_all)
			*main = 0;
		*main = ((*main | add) & ~drop) | amb;
		*ambient = amb & ~drop;
	}
	if (sc && sc->privileged)
		*main = all_caps();
	*main &= all_caps();
	*ambient &= *main;
	return 0;
}

static json_t *cap_array(struct jb *b, uint64_t mask)
{
	json_t *a = jb_arr(b);
	char name[64];
	for (int i = 0; i < N_CAPS; i++) {
		if (!(mask & CAPBIT(i)))
			continue;
		snprintf(name, sizeof name, "CAP_%s", cap_names[i]);
		jb_push(b, a, jb_str(b, name, "capability"));
	}
	return a;
}

json_t *caps_json(struct jb *b, uint64_t main, uint64_t ambient)
{
	json_t *o = jb_obj(b);
	jb_set(b, o, "bounding", cap_array(b, main));
	jb_set(b, o, "effective", cap_array(b, main));
	jb_set(b, o, "permitted", cap_array(b, main));
	if (ambient) {
		jb_set(b, o, "inheritable", cap_array(b, ambient));
		jb_set(b, o, "ambient", cap_array(b, ambient));
	}
	return o;
}
