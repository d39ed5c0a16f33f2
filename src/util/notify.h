/*
 * notify.h — the service manager's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram of "NAME=value" lines to the unix socket named by $NOTIFY_SOCKET, a path or, starting
 * with '@', an abstract name.  The daemon sends READY=1 once its socket serves and STOPPING=1
 * when it is told to stop, for a systemd unit of Type=notify.
 */
#ifndef LITECRI_UTIL_NOTIFY_H
#define LITECRI_UTIL_NOTIFY_H

#include "util/err.h"

/*
 * Send `state` (e.g. "READY=1") to $NOTIFY_SOCKET.  Returns 1 when sent, 0 when $NOTIFY_SOCKET
 * is unset or empty (not run by a service manager), -1 with err otherwise (a name that is
 * neither an absolute path nor "@name", too long, or nobody listening).  The environment is
 * left as it is: the runtime keeps NOTIFY_SOCKET from runc and conmon (oci.c).
 */
int notify_send(const char *state, struct lc_err *err);

#endif
