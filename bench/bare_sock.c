/* SPDX-License-Identifier: MIT */
/* The socket mechanisms' bare loops: see bare_sock.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bare_sock.h"

bool bare_sock_is(const char *mech)
{
	return !strcmp(mech, "unix") || !strcmp(mech, "tcp");
}

/* A loopback connection; the accepted end is ours only when its peer is our client. */
static int tcp_pair(int fd[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in mine, peer;
	socklen_t l = sizeof(a);
	int ls, c = -1, s = -1, one = 1, rc = 0;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &l) < 0 ||
	    (c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(c, (struct sockaddr *)&mine, &(socklen_t){sizeof(mine)}) < 0)
		rc = -errno;
	for (int tries = 0; !rc && s < 0 && tries < 16; tries++) {
		l = sizeof(peer);
		s = accept4(ls, (struct sockaddr *)&peer, &l, SOCK_CLOEXEC);
		if (s < 0)
			rc = -errno;
		else if (peer.sin_port != mine.sin_port) {
			close(s); /* somebody else's */
			s = -1;
		}
	}
	close(ls);
	if (!rc && s < 0)
		rc = -EADDRINUSE;
	if (!rc && (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
		    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0))
		rc = -errno;
	if (rc) {
		if (c >= 0)
			close(c);
		if (s >= 0)
			close(s);
		return rc;
	}
	fd[0] = c;
	fd[1] = s;
	return 0;
}

int bare_sock_pair(const char *mech, int fd[2])
{
	if (!strcmp(mech, "tcp"))
		return tcp_pair(fd);
	if (strcmp(mech, "unix"))
		return -EINVAL;
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fd) < 0 ? -errno : 0;
}

const char *bare_sock_what(const char *mech)
{
	return !strcmp(mech, "tcp") ? "two loopback TCP connections (TCP_NODELAY), write/read"
				    : "two AF_UNIX SOCK_SEQPACKET socketpairs, write/read";
}
