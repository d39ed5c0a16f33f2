/* attach.c — see attach.h. */
#include "runtime/attach.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

#define PIPE_STDOUT 2       /* conmon's stdpipe_t */
#define PIPE_STDERR 3
#define OUT_PACKET_MAX 8193 /* its STDIO_BUF_SIZE + the pipe byte */
#define IN_PACKET_MAX 32767 /* its CONN_SOCK_BUF_SIZE - 1: what one read of a client takes */
#define STALL_MS 10000      /* the longest a reader that does not read holds conmon back */

struct attach {
	int sock;
	int in_r;         /* the caller's stdin (read side); -1: none or ended */
	int out_w, err_w; /* where stdout / stderr go; -1: dropped */
	int tty;
	int stop;         /* eventfd: attach_close wants the relay to end */
	pthread_t thread;
	int started;
	int lagging;      /* a reader stalled past STALL_MS: output dropped while its pipe is full */
	size_t dropped;   /* bytes of output dropped so */
	char obuf[OUT_PACKET_MAX + 1], ibuf[IN_PACKET_MAX]; /* the packet in flight each way */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * The relay: one output packet and one stdin packet in flight at most.  Ends when the socket has
 * ended (conmon closed it: the container exited) or attach_close asks; the output pipes are closed
 * then, so the caller reads EOF.
 */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *relay(void *arg)
{
	struct attach *a = arg;
	char *obuf = a->obuf, *ibuf = a->ibuf;
	size_t olen = 0, ooff = 0, ilen = 0;
	int *odst = NULL;
	int64_t held_since = 0; /* when the output packet in flight was received */
	for (;;) {
		int timeout = -1;
		if (olen) {
			int64_t left = held_since + STALL_MS - mono_ms();
			if (left <= 0) {
				/* conmon is not held back any longer: the rest of this packet is dropped, and so is
				 * whatever comes while the reader's pipe stays full */
				log_warn("attach: a reader has not read for %d ms: output dropped while it lags", STALL_MS);
				a->lagging = 1;
				a->dropped += olen - ooff;
				olen = 0;
			} else {
				timeout = (int)left;
			}
		}
		struct pollfd pf[4] = {
			{ .fd = a->stop, .events = POLLIN },
			{ .fd = a->sock, .events = (short)((olen ? 0 : POLLIN) | (ilen ? POLLOUT : 0)) },
			{ .fd = olen ? *odst : -1, .events = POLLOUT },
			{ .fd = ilen ? -1 : a->in_r, .events = POLLIN },
		};
		if (!pf[1].events)
			pf[1].fd = -1;
		if (poll(pf, 4, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("attach relay: poll: %s", strerror(errno));
			break;
		}
		if (pf[0].revents)
			break;
		if (pf[2].revents) {
			ssize_t n = write(*odst, obuf + ooff, olen - ooff);
			if (n > 0) {
				ooff += (size_t)n;
				if (ooff == olen) {
					olen = 0;
					a->lagging = 0; /* it reads again */
				}
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				close_fd(odst); /* the reader has gone: the rest of that stream is dropped */
				olen = 0;
			}
		}
		if (pf[3].revents) {
			ssize_t n = read(a->in_r, ibuf, sizeof a->ibuf);
			if (n > 0) {
				ilen = (size_t)n;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				shutdown(a->sock, SHUT_WR); /* conmon: end of this client's stdin */
				close_fd(&a->in_r);
			}
		}
		if (ilen && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = send(a->sock, ibuf, ilen, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == (ssize_t)ilen) {
				ilen = 0;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				ilen = 0; /* conmon has gone: nothing takes stdin any more */
				close_fd(&a->in_r);
			}
		}
		if (!olen && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(a->sock, obuf, sizeof a->obuf, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				break; /* EOF: the container has exited */
			int *dst = obuf[0] == PIPE_STDOUT || a->tty ? &a->out_w : obuf[0] == PIPE_STDERR ? &a->err_w : NULL;
			if (n > 1 && dst && *dst >= 0) {
				odst = dst;
				ooff = 1;
				olen = (size_t)n;
				held_since = mono_ms();
			}
			if (olen && a->lagging) { /* what the pipe takes now, or dropped */
				ssize_t w = write(*odst, obuf + ooff, olen - ooff);
				if (w == (ssize_t)(olen - ooff))
					a->lagging = 0;
				else
					a->dropped += olen - ooff - (size_t)(w > 0 ? w : 0);
				olen = 0;
			}
		}
	}
	if (a->dropped)
		log_warn("attach: %zu bytes of output dropped for a reader that lagged", a->dropped);
	close_fd(&a->out_w);
	close_fd(&a->err_w);
	return NULL;
}

/* A pipe whose end `ours` (0 read, 1 write) is non-blocking: that end into *mine, the other into *theirs. */
static int relay_pipe(int ours, int *mine, int *theirs, struct lc_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return lc_fail(err, errno, "attach: pipe");
	if (fcntl(p[ours], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return lc_fail(err, e, "attach: pipe");
	}
	*mine = p[ours];
	*theirs = p[!ours];
	return 0;
}

int attach_open(const char *path, const struct rt_stdio *io, struct attach **out, int fds[3], struct lc_err *err)
{
	*out = NULL;
	fds[0] = fds[1] = fds[2] = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return lc_fail(err, ENAMETOOLONG, "attach socket %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	struct attach *a = calloc(1, sizeof *a);
	if (!a)
		return lc_fail(err, ENOMEM, "attach");
	*a = (struct attach){ .sock = -1, .in_r = -1, .out_w = -1, .err_w = -1, .stop = -1, .tty = io->tty };
	int rc = 0;
	if ((a->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		rc = lc_fail(err, errno, "attach: socket");
	else if (connect(a->sock, (struct sockaddr *)&sa, sizeof sa) < 0)
		rc = lc_fail(err, errno, "attach: connect to %s", path);
	else if ((a->stop = eventfd(0, EFD_CLOEXEC)) < 0)
		rc = lc_fail(err, errno, "attach: eventfd");
	if (rc == 0 && io->in)
		rc = relay_pipe(0, &a->in_r, &fds[0], err);
	if (rc == 0 && io->out)
		rc = relay_pipe(1, &a->out_w, &fds[1], err);
	if (rc == 0 && io->err && !io->tty)
		rc = relay_pipe(1, &a->err_w, &fds[2], err);
	if (rc == 0 && (rc = pthread_create(&a->thread, NULL, relay, a)) != 0)
		rc = lc_fail(err, rc, "attach: relay thread");
	if (rc != 0) {
		for (int i = 0; i < 3; i++)
			close_fd(&fds[i]);
		attach_close(a);
		return -1;
	}
	a->started = 1;
	*out = a;
	return 0;
}

void attach_close(struct attach *a)
{
	if (!a)
		return;
	if (a->started) {
		uint64_t one = 1;
		if (write(a->stop, &one, sizeof one) != (ssize_t)sizeof one)
			log_warn("attach: stop the relay: %s", strerror(errno));
		pthread_join(a->thread, NULL);
	}
	close_fd(&a->sock);
	close_fd(&a->in_r);
	close_fd(&a->out_w);
	close_fd(&a->err_w);
	close_fd(&a->stop);
	free(a);
}
