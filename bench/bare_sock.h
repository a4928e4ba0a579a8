/* SPDX-License-Identifier: MIT */
/*
 * The bare loops of the socket backends: what "unix" and "tcp" run on,
 * without libipcq, so that the overhead figures cover them.
 */
#ifndef BENCH_BARE_SOCK_H
#define BENCH_BARE_SOCK_H

#include <stdbool.h>

/* True for the mechanisms bare_sock_pair() makes ("unix", "tcp"). */
bool bare_sock_is(const char *mech);

/*
 * One direction of a ping-pong: fd[0] receives, fd[1] sends.  "unix": an
 * AF_UNIX SOCK_SEQPACKET socketpair (one write, one message); "tcp": a
 * loopback connection with TCP_NODELAY (a stream: the loop reads until the
 * message is whole).  Both blocking, default buffers.  Returns 0 or -errno.
 */
int bare_sock_pair(const char *mech, int fd[2]);

/* What a bare loop of @mech runs on, for the results' notes. */
const char *bare_sock_what(const char *mech);

#endif /* BENCH_BARE_SOCK_H */
