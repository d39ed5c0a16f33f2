/*
 * pause.h — installing the program every pod's infra container runs (litecri-pause, built from
 * src/runtime/pause/pause.c) as the root filesystem its infra containers share.
 */
#ifndef LITECRI_RUNTIME_PAUSE_H
#define LITECRI_RUNTIME_PAUSE_H

#include "util/err.h"

/*
 * Make rootfs (and its parents) a root filesystem holding the pause program at "/pause" and the
 * directories runc mounts on (/proc, /dev, /sys, /etc).  The program is copied from `program`, or
 * ("" or NULL) from litecri-pause beside the running executable (a build tree) if there is one,
 * else from LITECRI_PAUSE_PATH (compiled in: <libexecdir>/litecri/litecri-pause, where
 * `cmake --install` puts it).  The copy replaces an old one atomically (a running pod keeps the
 * inode it runs).  ENOENT naming the program when it is not there.
 */
int pause_install(const char *program, const char *rootfs, struct lc_err *err);

#endif
