/*
 * attach.h — conmon's attach socket as plain descriptors (oci.c's attach).
 *
 * conmon 2.1 listens on <bundle>/attach (SOCK_SEQPACKET).  Each packet it sends is one read of the
 * container's output: a byte naming the pipe (2 stdout — a terminal's output too —, 3 stderr)
 * followed by up to 8192 bytes of data; it sends every attached socket each read, blocking while
 * one is full.  What a client sends is written raw to the container's stdin, one packet at a time
 * (read into a 32 KiB buffer: a longer packet would be cut).  EOF from a client (shutdown or close)
 * closes the container's stdin unless conmon was started with --leave-stdin-open.  conmon closes
 * every attached socket when the container has exited, before it writes the exit file.
 *
 * A relay thread per attachment turns that into pipes: one the caller writes stdin into (sent in
 * packets of at most 32 KiB - 1; its EOF shuts the socket's write side), and one each for stdout
 * and stderr (what was not asked for is read and dropped).  It holds at most one packet each way:
 * a reader that stops reading stops the relay reading the socket, and so holds conmon back (the
 * container's output, its log, its exit being recorded) — for STALL_MS (10 s) at most: then that
 * packet, and what comes while the reader's pipe stays full, is dropped, until it reads again.
 */
#ifndef LITECRI_RUNTIME_ATTACH_H
#define LITECRI_RUNTIME_ATTACH_H

#include "runtime/runtime.h"

struct attach;

/*
 * Connect to the attach socket at path (at most 107 bytes) and start the relay: fds as
 * runtime.h's attach describes them (with io->tty, conmon's one stream goes to fds[1]).  errnum
 * of connect(2) when it fails (ENOENT, ECONNREFUSED: no conmon listens).
 */
int attach_open(const char *path, const struct rt_stdio *io, struct attach **a, int fds[3], struct lc_err *err);

/* Stop the relay (it may be blocked on a full pipe), close the socket and the relay's ends, free a. */
void attach_close(struct attach *a);

#endif
