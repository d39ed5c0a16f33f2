/* notify.c — sd_notify(3)'s datagram over $NOTIFY_SOCKET; see notify.h. */
#include "util/notify.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/cleanup.h"

int notify_send(const char *state, struct lc_err *err)
{
	assert(state);
	const char *name = getenv("NOTIFY_SOCKET");
	if (!name || !*name)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (name[0] != '/' && name[0] != '@')
		return lc_failc(err, EINVAL, "NOTIFY_SOCKET %s: neither an absolute path nor an abstract name (@name)",
				LC_Q(name));
	if (n >= sizeof sa.sun_path)
		return lc_failc(err, ENAMETOOLONG, "NOTIFY_SOCKET %s: longer than %zu bytes", LC_Q(name),
				sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: the name is exactly the n bytes, no terminator */
	else
		n++;
	cleanup_close int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lc_fail(err, errno, "NOTIFY_SOCKET: socket");
	size_t len = strlen(state);
	ssize_t sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	if (sent < 0)
		return lc_fail(err, errno, "send %s to NOTIFY_SOCKET %s", state, LC_Q(name));
	assert((size_t)sent == len); /* a datagram goes whole or not at all */
	return 1;
}
