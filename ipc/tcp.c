/* SPDX-License-Identifier: MIT */
/*
 * The "tcp" backend: one TCP connection over loopback (TCP_NODELAY), its
 * byte stream cut into frames: a 4-byte length, then the message.  Names,
 * keeper and handles: sock.c, sock_keeper.c.
 *
 * Frames never interleave: writers take the shared wlock for one sendmsg()
 * of a whole frame, readers the rlock (plock.c, as the pipe's framed
 * format).  Both are robust: a holder killed by SIGKILL hands them on.  To
 * keep a kill from tearing a frame, neither side ever stops inside one:
 * - a writer sends only when the queue's own budget has room for the frame,
 *   a budget of half what the connection was measured to hold, so the
 *   kernel takes the frame whole in one call; were it ever to take a part
 *   (memory pressure), the writer finishes the frame, past its timeout;
 * - a reader takes a whole frame in one peek (MSG_PEEK) and one recv(MSG_TRUNC);
 *   a frame only partly there it takes into part[] of the shared header,
 *   where any reader goes on with it.  A reader must not wait for the rest
 *   with the first bytes left in the socket: the kernel charges a partly
 *   read buffer whole, so the rest may never be let in (seen: 1 KiB unread
 *   holding 255 KiB of the 256 KiB receive buffer, the rest dropped).
 * A reader (writer) killed holding its lock is recognised by the next one
 * from the kernel's count of the bytes taken (written) against sh->taken
 * (sh->sent).  A frame that can never be whole — its writer killed inside
 * it, part of it sent — tears the stream for good: sh->torn, and every get
 * and put then says -EBADMSG.
 *
 * Capacity: the budget, in frames of msg_max bytes; 0 asks for buffers of
 * net.core.wmem_max and rmem_max (the most a user may set), a capacity for
 * enough of them, -ENOBUFS beyond.  Counters in the shared header say what
 * the queue holds (qsize); a put that finds no room sleeps on the shared
 * futex that gets bump (plock.c).  Smaller messages take less: more fit.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */

#include "sock_pvt.h"

#define HDR	     sizeof(uint32_t)
#define MID_SLICE_NS 1000000 /* a side inside a frame waits for its rest this often */

/* Bytes the queue holds, by the counters (a SIGKILL between send and count only lowers it). */
static uint64_t queued(const struct sock_shared *sh)
{
	uint64_t put = atomic_load(&sh->sent), got = atomic_load(&sh->taken);

	return put > got ? put - got : 0;
}

/* Free budget in bytes, for __ipcq_room_wait(); an empty queue takes any frame. */
static ssize_t tcp_room(void *arg)
{
	struct sock_shared *sh = arg;
	uint64_t used = queued(sh);

	if (!used)
		return SSIZE_MAX;
	return used >= sh->budget ? 0 : (ssize_t)(sh->budget - used);
}

#define SKB_SLACK 8192 /* what the kernel may charge beyond the bytes of one frame */

/*
 * True when the send end takes @n more bytes whole (tcp_sendmsg stops at
 * SO_SNDBUF, counted in buffer, not bytes): a part sent and then a SIGKILL
 * would tear the stream.  Asked every time: what the send end holds is not
 * what the queue holds (sent data stays until acknowledged, a delayed ACK
 * keeps megabytes there).
 */
static bool kernel_room(const struct sock_q *s, size_t n)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t l = sizeof(mi);

	if (getsockopt(s->wfd, SOL_SOCKET, SO_MEMINFO, mi, &l) < 0)
		return true;
	return (uint64_t)mi[SK_MEMINFO_WMEM_QUEUED] + n + SKB_SLACK < mi[SK_MEMINFO_SNDBUF];
}

/*
 * The stream's bytes as the kernel counts them on @fd: taken by readers
 * (@rx: received minus unread) or written (acknowledged plus unacknowledged).
 * Under rlock (wlock) only arrivals (acknowledgements) move either number,
 * and each moves the queue's, so equal queue counts before and after the
 * other make a consistent pair.
 */
static int kernel_count(int fd, bool rx, uint64_t *out)
{
	unsigned long req = rx ? SIOCINQ : SIOCOUTQ;
	struct tcp_info ti;
	socklen_t l;
	int a, b;

	for (int tries = 0; tries < 1000; tries++) {
		l = sizeof(ti);
		if (ioctl(fd, req, &a) < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 ||
		    ioctl(fd, req, &b) < 0)
			return -errno;
		if (l <
		    offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
			return -ENOTSUP; /* before Linux 4.1 */
		if (a == b) {
			*out = rx ? ti.tcpi_bytes_received - (uint64_t)a
				  : ti.tcpi_bytes_acked + (uint64_t)a;
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * wlock came from a writer killed holding it: had it sent its frame
 * (sh->wframe bytes), none of it, or a part?  The kernel's count of what was
 * written says; a part tears the stream for good (the next frame would fill
 * the rest of it and be read as a message).
 */
static int writer_died(struct sock_q *s)
{
	struct sock_shared *sh = s->sh;
	uint64_t now = 0, was = atomic_load(&sh->sent);
	int ret = kernel_count(s->wfd, false, &now);

	if (ret) {
		atomic_store(&sh->torn, 1); /* unknowable (cannot happen): never risk a tear */
		return ret;
	}
	if (now != was && now - was == sh->wframe) { /* sent whole, not yet counted */
		atomic_fetch_add(&sh->sent, sh->wframe);
		atomic_fetch_add(&sh->put_n, 1);
	} else if (now != was) {
		atomic_store(&sh->torn, 1);
	}
	return 0;
}

/* Sends the rest of a frame the kernel took only part of: never leave it torn. */
static int send_rest(int fd, struct iovec *iov, int n, size_t done)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w;

	for (;;) {
		while (m.msg_iovlen && done >= m.msg_iov->iov_len) {
			done -= m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (!m.msg_iovlen)
			return 0;
		m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + done;
		m.msg_iov->iov_len -= done;
		w = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w >= 0) {
			done = (size_t)w;
			continue;
		}
		done = 0;
		if (errno == EAGAIN)
			__ipcq_wait_fd(fd, POLLOUT, __ipcq_now_ns() + MID_SLICE_NS);
		else if (errno != EINTR)
			return -errno;
	}
}

/* @deadline, or MID_SLICE_NS from now when that comes first. */
static int64_t slice(int64_t deadline)
{
	int64_t soon = __ipcq_now_ns() + MID_SLICE_NS;

	return deadline >= 0 && deadline < soon ? deadline : soon;
}

/*
 * put/get: 0 or the message length, -EAGAIN (NOWAIT, or a lock busy for
 * 5 ms), -ETIMEDOUT, -EBADMSG (a frame longer than msg_max: the stream was
 * torn), or the kernel's error.
 */
static int tcp_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct sock_q *s = sq(q);
	struct sock_shared *sh = s->sh;
	int64_t deadline = __ipcq_deadline(timeout_ns);
	uint32_t hdr = (uint32_t)len;
	struct iovec iov[2] = {{&hdr, HDR}, {(void *)msg, len}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t w;
	int ret;

	for (;;) {
		ret = __ipcq_plock(&sh->wlock, deadline);
		if (ret < 0)
			return ret;
		w = 0;
		ret = ret == 1 ? writer_died(s) : 0;
		if (!ret && atomic_load(&sh->torn))
			ret = -EBADMSG;
		if (ret) {
			; /* torn, or the kernel's error */
		} else if ((size_t)tcp_room(sh) < HDR + len) {
			; /* no room in the budget: wait for gets */
		} else if (!kernel_room(s, HDR + len)) {
			ret = -EAGAIN; /* the kernel is short of what the budget promised */
		} else {
			sh->wframe = HDR + len; /* what writer_died() looks for */
			w = sendmsg(s->wfd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
			ret = w < 0 ? -errno : 0;
		}
		if (w > 0 && (size_t)w < HDR + len && (ret = send_rest(s->wfd, iov, 2, (size_t)w)))
			atomic_store(&sh->torn, 1); /* a part sent, the rest refused */
		if (w > 0 && !ret) {
			atomic_fetch_add(&sh->sent, HDR + len);
			atomic_fetch_add(&sh->put_n, 1);
		}
		pthread_mutex_unlock(&sh->wlock);
		if (w > 0 || (ret && ret != -EAGAIN && ret != -EINTR))
			return ret;
		if (__ipcq_left_ns(deadline) == 0)
			return __ipcq_timeout_err(deadline);
		if (ret == -EAGAIN) /* POLLOUT comes late (a third free): look again soon */
			ret = __ipcq_wait_fd(s->wfd, POLLOUT, slice(deadline));
		else if (!ret)
			ret = __ipcq_room_wait(&sh->room, tcp_room, sh, HDR + len, deadline);
		if (ret < 0)
			return ret;
	}
}

/* True when no writer holds wlock (a dead one's is handed on here). */
static bool writer_gone(struct sock_shared *sh)
{
	int r = pthread_mutex_trylock(&sh->wlock);

	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&sh->wlock);
	if (r == 0 || r == EOWNERDEAD)
		pthread_mutex_unlock(&sh->wlock);
	return r != EBUSY;
}

/*
 * True when the frame in part[] can never be whole: no writer is inside a
 * frame, all that was sent has been acknowledged, so is here (SIOCOUTQ),
 * and nothing is unread (SIOCINQ): its writer was killed inside it.
 */
static bool torn(const struct sock_q *s)
{
	int out = 1, in = 1;

	if (!writer_gone(s->sh))
		return false;
	if (ioctl(s->wfd, SIOCOUTQ, &out) < 0 || out > 0)
		return false;
	return ioctl(s->rfd, SIOCINQ, &in) == 0 && in == 0;
}

#define HAVE_UNKNOWN UINT32_MAX /* sh->have: a dead reader's, not yet recognised */

/*
 * rlock came from a reader killed holding it: what had it taken?  Bytes
 * the kernel counts beyond sh->taken are in part[] (a whole frame is
 * counted before it is consumed); fewer: it counted a frame it did not
 * consume, which is still in the stream.  Until this succeeds every
 * reader tries again (HAVE_UNKNOWN).
 */
static int reader_died(struct ipcq *q)
{
	struct sock_shared *sh = sq(q)->sh;
	uint64_t now = 0, was = atomic_load(&sh->taken);
	int ret;

	sh->have = HAVE_UNKNOWN;
	ret = kernel_count(sq(q)->rfd, true, &now);
	if (ret)
		return ret;
	if ((now > was ? now - was : was - now) > HDR + q->msg_max)
		return -EBADMSG; /* not our numbers */
	if (now < was) {
		atomic_store(&sh->taken, now);
		atomic_fetch_sub(&sh->got_n, 1);
	}
	sh->have = now > was ? (uint32_t)(now - was) : 0;
	return 0;
}

/*
 * Goes on with the frame in part[], taking what the socket has of it (its
 * header first: no byte of the next frame is taken).  Returns its length
 * once whole (the message copied to @buf), -EAGAIN while its rest is on the
 * way, -EBADMSG when the rest never comes or the frame is longer than
 * msg_max, or -errno.
 */
static ssize_t take_rest(struct ipcq *q, void *buf)
{
	struct sock_q *s = sq(q);
	struct sock_shared *sh = s->sh;
	size_t have = sh->have, want;
	uint32_t len = 0;
	ssize_t r;

	for (;;) {
		if (have >= HDR)
			memcpy(&len, sh->part, HDR);
		if (have > HDR + q->msg_max || len > q->msg_max ||
		    (have >= HDR && have > HDR + len))
			return -EBADMSG; /* not what a reader leaves */
		want = have < HDR ? HDR - have : HDR + len - have;
		if (!want) {
			memcpy(buf, sh->part + HDR, len);
			atomic_fetch_add(&sh->got_n, 1);
			atomic_fetch_add(&sh->taken, have);
			sh->have = 0; /* a kill just before: reader_died() finds 0 */
			return len;
		}
		r = recv(s->rfd, sh->part + have, want, MSG_DONTWAIT);
		if (r > 0) {
			have += (size_t)r;
			sh->have = (uint32_t)have;
		} else if (r == 0) {
			return -EIO;
		} else if (errno == EAGAIN) {
			if (!torn(s))
				return -EAGAIN;
			atomic_store(&sh->torn, 1);
			return -EBADMSG;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

/*
 * Takes the next frame (caller holds rlock): its length (the message in
 * @buf), -EAGAIN when there is none or not all of it (what there is then
 * taken into part[]), or as take_rest().  @flags 0: waits for a first byte.
 */
static ssize_t take_frame(struct ipcq *q, void *buf, int flags)
{
	struct sock_q *s = sq(q);
	struct sock_shared *sh = s->sh;
	uint32_t hdr = 0;
	struct iovec iov[2] = {{&hdr, HDR}, {buf, q->msg_max}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n, r;

	if (sh->have)
		return take_rest(q, buf);
	do
		n = recvmsg(s->rfd, &m, flags | MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EIO; /* no writer: cannot happen, we hold one */
	if ((size_t)n >= HDR && hdr > q->msg_max)
		return -EBADMSG;
	if ((size_t)n < HDR + hdr)
		return take_rest(q, buf);
	n = (ssize_t)(HDR + hdr);
	/* Counted first: a kill before the consume is undone by reader_died() (qsize may stay one low). */
	atomic_fetch_add(&sh->got_n, 1);
	atomic_fetch_add(&sh->taken, (uint64_t)n);
	do
		r = recv(s->rfd, NULL, (size_t)n, MSG_TRUNC | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r != n)
		return r < 0 ? -errno : -EIO;
	return hdr;
}

static ssize_t tcp_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct sock_q *s = sq(q);
	struct sock_shared *sh = s->sh;
	int64_t deadline = __ipcq_deadline(timeout_ns);
	/* Forever: wait for a first byte inside recvmsg, holding rlock; others wait for the lock. */
	int flags = timeout_ns == IPCQ_FOREVER ? 0 : MSG_DONTWAIT;
	bool rest;
	ssize_t n;
	int ret;

	(void)cap; /* >= msg_max, and no frame is longer */
	for (;;) {
		ret = __ipcq_plock(&sh->rlock, deadline);
		if (ret < 0)
			return ret;
		n = ret == 1 || sh->have == HAVE_UNKNOWN ? reader_died(q) : 0;
		if (!n)
			n = atomic_load(&sh->torn) ? -EBADMSG : take_frame(q, buf, flags);
		rest = sh->have != 0;
		pthread_mutex_unlock(&sh->rlock);
		if (n >= 0) {
			__ipcq_room_wake(&sh->room);
			return n;
		}
		if (n != -EAGAIN)
			return n;
		if (__ipcq_left_ns(deadline) == 0)
			return __ipcq_timeout_err(deadline);
		/* Without the lock; the rest of a frame in slices, to see whether it is torn. */
		ret = __ipcq_wait_fd(s->rfd, POLLIN, rest ? slice(deadline) : deadline);
		if (ret < 0)
			return ret;
	}
}

static ssize_t tcp_qsize(struct ipcq *q)
{
	struct sock_shared *sh = sq(q)->sh;
	uint64_t put = atomic_load(&sh->put_n), got = atomic_load(&sh->got_n);

	return put > got ? (ssize_t)(put - got) : 0;
}

static bool tcp_full(struct ipcq *q)
{
	return (size_t)tcp_room(sq(q)->sh) < HDR + q->msg_max;
}

/* --- setup -------------------------------------------------------------- */

#define BUF_LEAST  (256 * 1024) /* smaller windows stall a loopback connection */
#define FILL_CHUNK 65536

/*
 * A connected loopback pair: fds[0] (the client) receives, fds[1] (the
 * accepted end) sends.  The receive buffer is set before connect(), which
 * fixes the window scale.  Anyone on this machine can connect to a
 * listener: the accepted end is ours only when its peer is our client.
 */
static int tcp_pair(int fds[2], size_t buf)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in mine, peer;
	socklen_t l = sizeof(a);
	int ls, c = -1, s = -1, one = 1, ret = 0;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &l) < 0)
		ret = -errno;
	if (!ret && (c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		ret = -errno;
	if (!ret && __ipcq_sock_set_buf(c, SO_RCVBUF, buf) < 0)
		ret = -errno;
	while (!ret && connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		if (errno != EINTR)
			ret = -errno;
	l = sizeof(mine);
	if (!ret && getsockname(c, (struct sockaddr *)&mine, &l) < 0)
		ret = -errno;
	for (int tries = 0; !ret && s < 0; tries++) {
		l = sizeof(peer);
		s = accept4(ls, (struct sockaddr *)&peer, &l, SOCK_CLOEXEC);
		if (s < 0 && errno != EINTR)
			ret = -errno;
		if (s >= 0 && (peer.sin_port != mine.sin_port ||
			       peer.sin_addr.s_addr != mine.sin_addr.s_addr)) {
			close(s); /* somebody else's connection */
			s = -1;
			if (tries > 16)
				ret = -EADDRINUSE;
		}
	}
	close(ls);
	if (!ret && (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
		     setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
		     __ipcq_sock_set_buf(s, SO_SNDBUF, buf) < 0))
		ret = -errno;
	if (ret) {
		if (c >= 0)
			close(c);
		if (s >= 0)
			close(s);
		return ret;
	}
	fds[0] = c;
	fds[1] = s;
	return 0;
}

/* Bytes the connection holds before a send would wait, measured by filling it; -errno. */
static ssize_t tcp_fill(const int fds[2])
{
	static const unsigned char zeros[FILL_CHUNK];
	size_t total = 0, got = 0;
	ssize_t n;

	for (;;) {
		n = send(fds[1], zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			total += (size_t)n;
		else if (errno == EAGAIN)
			break;
		else if (errno != EINTR)
			return -errno;
	}
	while (got < total) {
		n = recv(fds[0], NULL, total - got, MSG_TRUNC | MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			return -EIO;
		else if (errno == EAGAIN &&
			 __ipcq_wait_fd(fds[0], POLLIN, __ipcq_now_ns() + 1000000000) < 0)
			return -EIO;
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return (ssize_t)total;
}

static int tcp_make(struct ipcq *q, struct sock_shared *sh, size_t capacity, int fds[2])
{
	long long wmax = __ipcq_sock_mem_max(false), rmax = __ipcq_sock_mem_max(true);
	size_t most = 2 * (size_t)(wmax < rmax ? wmax : rmax), frame = HDR + q->msg_max, buf;
	uint64_t taken, sent;
	ssize_t held;
	int ret;

	if (capacity > INT32_MAX / 4 / frame)
		return -EINVAL; /* beyond any socket buffer */
	/* Each end alone about twice the budget: the budget is half what both hold. */
	buf = capacity ? 2 * capacity * frame : most;
	if (buf < BUF_LEAST)
		buf = BUF_LEAST < most ? BUF_LEAST : most;
	for (;;) {
		if (buf > most)
			return -ENOBUFS;
		ret = tcp_pair(fds, buf);
		if (ret < 0)
			return ret;
		held = tcp_fill(fds);
		/* The byte counts start where the fill left the stream, each end's own. */
		ret = held < 0 ? (int)held : kernel_count(fds[0], true, &taken);
		if (!ret)
			ret = kernel_count(fds[1], false, &sent);
		if (!ret) {
			atomic_store(&sh->taken, taken);
			atomic_store(&sh->sent, sent);
			/* Whole frames: a queue full of msg_max ones takes no small one. */
			sh->capacity = (uint64_t)held / 2 / frame;
			sh->budget = sh->capacity * frame;
			if (sh->capacity >= (capacity ? capacity : 1))
				return 0;
			ret = buf == most ? -ENOBUFS : 1;
		}
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		if (ret < 0)
			return ret;
		buf = 2 * buf < most ? 2 * buf : most;
	}
}

/* Named queues: a directory with "meta", "sock" (the keeper's) and "creator". */
static const char *const tcp_leaves[] = {"meta", "sock", "creator", NULL};
static const struct ipcq_reg_dir tcp_reg = {
	.backend = "tcp",
	.sub = "tcp",
	.kind = "named tcp queue",
	.leaves = tcp_leaves,
	.ref = "meta",
};
static const char *const tcp_limits[] = {"net.core.wmem_max", "net.core.rmem_max", NULL};
static const struct sock_type tcp_type = {
	.name = "tcp",
	.reg = &tcp_reg,
	.domain = AF_INET,
	.type = SOCK_STREAM,
	.make = tcp_make,
	.part_hdr = HDR,
	.limits = tcp_limits,
};

SOCK_DEFINE_OPS(__ipcq_tcp_ops, "tcp", tcp_type, tcp_put, tcp_get, tcp_qsize, tcp_full,
		__ipcq_sock_fd);
