/*
 * seccomp.h — the linux.seccomp object of an OCI spec (config.json) for a CRI seccomp profile:
 * litecri's built-in RuntimeDefault profile, or a Localhost profile file on the node converted to
 * the OCI form runc 1.1.5 takes.
 *
 * RuntimeDefault is docker's/containerd's default allow-list (defaultAction SCMP_ACT_ERRNO, the
 * host's architectures): the common system calls, personality(2) for the harmless personas only,
 * the capability-dependent calls only when the process has the capability, and without
 * CAP_SYS_ADMIN clone without namespace flags and clone3 failing with ENOSYS (libc then falls back
 * to clone).
 *
 * A Localhost profile is a JSON file of at most 1 MiB: OCI format (linux.seccomp), or docker's
 * format, whose archMap entry for the host's architecture becomes "architectures" (when the profile
 * has none) and whose "comment"s and other "includes"/"excludes" are dropped; a non-empty
 * conditional (includes/excludes) is EINVAL, as docker's conditions are not supported.
 *
 * Thread-safe.
 */
#ifndef LITECRI_CRI_SPEC_SECCOMP_H
#define LITECRI_CRI_SPEC_SECCOMP_H

#include <jansson.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "util/err.h"

/*
 * linux.seccomp for the profile asked for: the CRI SecurityProfile sp when not NULL (RuntimeDefault,
 * Localhost with localhost_ref the profile's absolute path, Unconfined), else the deprecated string
 * form legacy ("runtime/default" or "docker/default", "localhost/<absolute path>", "unconfined",
 * NULL or "" for none).  caps is the process's capability set (bit n: capability n, as in
 * linux/capability.h); it only shapes the RuntimeDefault profile.
 *
 * *out: a new reference, or NULL when no seccomp is to be applied (Unconfined or unset).  Fails
 * with EINVAL for an unknown profile type or string, a relative Localhost path, a file that is not
 * a regular file of at most 1 MiB, not JSON, without a string defaultAction, with a syscalls member
 * that is not an array of objects, or with docker conditionals; with the stat(2) errno (ENOENT...)
 * for a Localhost file that cannot be found; ENOMEM.  The message names the profile.  *out is NULL
 * on failure.
 */
int seccomp_profile(const Runtime__V1__SecurityProfile *sp, const char *legacy, uint64_t caps, json_t **out,
		    struct lc_err *err);

#endif
