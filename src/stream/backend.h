/*
 * backend.h — what the streaming server (src/stream/) asks of the rest of the daemon to serve a
 * session: processes whose bytes it relays, and sockets it forwards to.  The split: src/stream/
 * knows HTTP, SPDY/3.1 and WebSocket and nothing of containers; the backend
 * (src/cri/stream_backend.c, on the runtime layer) knows containers, conmon and runc and nothing
 * of wire protocols.  Descriptors cross the boundary, never protocol frames.
 *
 * Threads: every op may block (a process start, a connect); the streaming server calls them from
 * its own threads, never from gRPC's.  arg is stream_backend.arg.
 */
#ifndef LITECRI_STREAM_BACKEND_H
#define LITECRI_STREAM_BACKEND_H

#include <stddef.h>

#include "util/err.h"

/* A running exec'd command or an attachment to a container's main process. */
struct stream_io {
	int in_fd;    /* written with the client's stdin; -1: the session has no stdin */
	int out_fd;   /* read: stdout (with a tty: the terminal's output); -1: not asked for */
	int err_fd;   /* read: stderr; -1: not asked for, or a tty (one stream) */
	int tty;      /* 1: in_fd/out_fd are a terminal; resize applies */
	void *handle; /* the backend's; passed back to resize, wait and close */
};

/* What a session asks for (copied from the CRI request the token stands for). */
struct stream_target {
	const char *container_id; /* exec, attach */
	char *const *cmd;         /* exec: n_cmd >= 1 */
	size_t n_cmd;
	int tty, in, out, err;    /* as the CRI request's tty/stdin/stdout/stderr */
};

struct stream_backend {
	void *arg;
	/* Start target->cmd in the container (Exec).  ESRCH: the container is not running; ENOENT:
	 * it does not exist; ENOEXEC: the command could not be started (the message says why).  The
	 * descriptors in io are the session's to close (after close()).  With a tty, out_fd is a
	 * terminal's master side: its end reads as EIO rather than 0. */
	int (*exec_start)(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err);
	/* Attach to the container's main process (Attach); stdin only if the container was created
	 * with stdin.  Errors as exec_start. */
	int (*attach_start)(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err);
	/* Set the terminal size of a tty session. */
	int (*resize)(void *arg, void *handle, unsigned width, unsigned height, struct lc_err *err);
	/* Block until the session's process has ended: exec → the command's exit code (0..255);
	 * attach → the main process's.  Called once out_fd/err_fd reached EOF. */
	int (*wait)(void *arg, void *handle, int *exit_code, struct lc_err *err);
	/* End an exec'd command now, with every process it started, while wait may block on another
	 * thread (which then returns); an attachment: nothing.  close still follows. */
	void (*kill)(void *arg, void *handle);
	/* End the session (normally or because the client went away): an exec'd command still running
	 * is killed with every process it started; an attachment is detached (the container runs on).
	 * Frees handle.  The session closes its descriptors itself. */
	void (*close)(void *arg, void *handle);
	/* A socket connected to localhost:port inside the pod's network namespace (the host's for a
	 * host-network pod).  ECONNREFUSED etc. as connect(2) reports them; ENOENT: no such pod. */
	int (*port_connect)(void *arg, const char *pod_id, int port, int *fd, struct lc_err *err);
};

#endif
