/* SPDX-License-Identifier: MIT */
/*
 * The "unix" backend: an AF_UNIX SOCK_SEQPACKET socketpair.  The kernel
 * keeps message boundaries and sends and receives each message whole, in
 * one system call, so many producers and consumers need no lock; a
 * zero-length message is a packet like any other (no handle ever closes the
 * send end while it holds the receive end, so a 0 from recv is never EOF).
 * Names, keeper and handles: sock.c, sock_keeper.c.
 *
 * Capacity: a SEQPACKET pair charges each queued message's whole buffer
 * (skb truesize, about twice a 4 KiB message) to the send end's SO_SNDBUF,
 * and a send waits while what is charged reaches it.  make() sends one
 * msg_max message to measure that cost, then sizes SO_SNDBUF for capacity
 * of them (0: 2 x net.core.wmem_max, the most a user may set); capacity()
 * is what that buffer holds.  Smaller messages cost less: more fit.
 *
 * Waits: a get that may wait forever blocks in recv() itself (one system
 * call, like a bare loop); a timed one polls.  The kernel wakes a waiting
 * writer only once three quarters of SO_SNDBUF are free, so a put that finds
 * the queue full sleeps on the shared futex that every get bumps when
 * writers wait (plock.c), in slices of 10 ms; qsize() is -ENOTSUP.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "sock_pvt.h"

/* What the send end has charged, in bytes; -errno. */
static ssize_t outq(int fd)
{
	int v;

	return ioctl(fd, SIOCOUTQ, &v) < 0 ? -errno : v;
}

/* 1 when a put would not wait (room for one message), for __ipcq_room_wait(). */
static ssize_t unix_room(void *arg)
{
	struct sock_q *s = arg;
	ssize_t used = outq(s->wfd);

	return used < 0 ? used : (uint64_t)used < s->sh->sndbuf;
}

/*
 * put/get: 0 or the message length, -EAGAIN (NOWAIT), -ETIMEDOUT, or the
 * kernel's error from send/recv/poll.
 */
static int unix_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct sock_q *s = sq(q);
	int64_t deadline = 0;
	int ret;

	while (send(s->wfd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (timeout_ns == IPCQ_NOWAIT)
			return -EAGAIN;
		if (!deadline)
			deadline = __ipcq_deadline(timeout_ns);
		if (__ipcq_left_ns(deadline) == 0)
			return -ETIMEDOUT;
		ret = __ipcq_room_wait(&s->sh->room, unix_room, s, 1, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static ssize_t unix_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct sock_q *s = sq(q);
	int flags = timeout_ns == IPCQ_FOREVER ? 0 : MSG_DONTWAIT;
	int64_t deadline = 0;
	ssize_t n;
	int ret;

	for (;;) {
		n = recv(s->rfd, buf, cap, flags);
		if (n >= 0) {
			__ipcq_room_wake(&s->sh->room);
			return n;
		}
		ret = __ipcq_retry_fd(s->rfd, POLLIN, errno, timeout_ns, &deadline);
		if (ret < 0)
			return ret;
	}
}

static ssize_t unix_qsize(struct ipcq *q)
{
	(void)q;
	return -ENOTSUP;
}

static bool unix_full(struct ipcq *q)
{
	return unix_room(sq(q)) == 0;
}

/* The buffer one msg_max message takes on the send end of @fds. */
static ssize_t msg_cost(const int fds[2], size_t msg_max)
{
	void *m = calloc(1, msg_max ? msg_max : 1);
	ssize_t cost;
	char c;

	if (!m)
		return -ENOMEM;
	cost = send(fds[1], m, msg_max, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : outq(fds[1]);
	free(m);
	if (recv(fds[0], &c, 1, MSG_DONTWAIT) < 0 && cost >= 0)
		cost = -errno;
	return cost;
}

/* Sizes the send end of @fds for @capacity messages of q->msg_max bytes. */
static int size_pair(struct ipcq *q, struct sock_shared *sh, size_t capacity, const int fds[2])
{
	long long wmax = __ipcq_sock_mem_max(false);
	ssize_t most, cost, got;

	/* The largest buffer a user may have: it must take one message at least. */
	most = __ipcq_sock_set_buf(fds[1], SO_SNDBUF, 2 * (size_t)wmax);
	if (most < 0)
		return (int)most;
	if (q->msg_max + 32 > (size_t)most) /* unix_dgram_sendmsg: len > sndbuf - 32 */
		return -ENOBUFS;
	cost = msg_cost(fds, q->msg_max);
	if (cost <= 0)
		return cost < 0 ? (int)cost : -EIO;
	got = most;
	if (capacity) {
		if (capacity > INT32_MAX / (size_t)cost)
			return -EINVAL; /* beyond any socket buffer */
		if (capacity * (size_t)cost > (size_t)most)
			return -ENOBUFS;
		got = __ipcq_sock_set_buf(fds[1], SO_SNDBUF, capacity * (size_t)cost);
		if (got < 0)
			return (int)got;
	}
	sh->sndbuf = (uint64_t)got;
	sh->capacity = (size_t)got / (size_t)cost ? (size_t)got / (size_t)cost : 1;
	return 0;
}

static int unix_make(struct ipcq *q, struct sock_shared *sh, size_t capacity, int fds[2])
{
	int ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	ret = size_pair(q, sh, capacity, fds);
	if (ret) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
	}
	return ret;
}

/* Named queues: a directory with "meta", "sock" (the keeper's) and "creator". */
static const char *const unix_leaves[] = {"meta", "sock", "creator", NULL};
static const struct ipcq_reg_dir unix_reg = {
	.backend = "unix",
	.sub = "unix",
	.kind = "named unix socket queue",
	.leaves = unix_leaves,
	.ref = "meta",
};
static const char *const unix_limits[] = {"net.core.wmem_max", NULL};
static const struct sock_type unix_type = {
	.name = "unix",
	.reg = &unix_reg,
	.domain = AF_UNIX,
	.type = SOCK_SEQPACKET,
	.make = unix_make,
	.limits = unix_limits,
};

SOCK_DEFINE_OPS(__ipcq_unix_ops, "unix", unix_type, unix_put, unix_get, unix_qsize, unix_full,
		__ipcq_sock_fd);
