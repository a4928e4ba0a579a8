/* SPDX-License-Identifier: MIT */
/*
 * The pipe backend's framed format (pipe.c has the rest):
 *
 * - framed (msg_max >= PIPE_BUF): every packet is exactly PIPE_BUF bytes, a
 *   struct frame followed by up to CHUNK bytes of the message (the last one
 *   padded).  Writers serialize on a robust process-shared mutex and start a
 *   message only when the pipe has room for all its packets (FIONREAD / PIPE_BUF
 *   is the exact slot count, because every packet is full), so a put never
 *   stops half way; one writev carries up to 64 packets, which the kernel cuts
 *   at page boundaries.  Readers serialize on a second mutex (one read per
 *   packet: a packet-mode read never returns more than one).  A writer killed mid-
 *   message leaves packets that readers recognise by seq/idx and discard.
 *
 *
 * A framed writer waiting for several free slots while at least one is free
 * is woken by readers through a shared futex (the kernel wakes pollers only
 * when a full pipe gets a slot back), in slices of 10 ms in case a reader
 * dies first; a reader that has begun a framed message waits for its end
 * past its timeout while a live writer still holds the write lock.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pipe_pvt.h"
#include "plock_pvt.h"

#define FRAME_MAGIC  0x71637069u
#define MID_SLICE_MS 10 /* a reader mid-message re-checks its writer this often */

const unsigned char __ipcq_pipe_zeros[PKT];

/* Free slots, exact in the framed format where every packet is PKT bytes. */
ssize_t __ipcq_pipe_room(struct pipe_q *p)
{
	int bytes;

	if (ioctl(p->rfd, FIONREAD, &bytes) < 0)
		return -errno;
	size_t used = ((size_t)bytes + PKT - 1) / PKT;
	return used >= p->slots ? 0 : (ssize_t)(p->slots - used);
}

#define BATCH 64 /* packets per writev: 192 iovecs, 1 KiB of headers */

/*
 * Writes the @n packets of one message; the caller holds wlock and saw room.
 * The packets go BATCH at a time in one writev: the kernel cuts a write into
 * page-sized packets, and with room for all of them it writes them all at once.
 */
static int write_frames(struct pipe_q *p, const unsigned char *msg, size_t len, size_t n)
{
	struct frame h[BATCH];
	struct iovec iov[3 * BATCH];
	uint32_t seq = p->sh->seq++;
	size_t i = 0;

	while (i < n) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		ssize_t w;

		if (p->page != PKT)
			k = 1; /* one packet per page only when a page is PIPE_BUF */
		for (size_t j = 0; j < k; j++) {
			size_t off = (i + j) * CHUNK, c = len - off < CHUNK ? len - off : CHUNK;

			h[j] = (struct frame){FRAME_MAGIC, seq, (uint32_t)(i + j), (uint32_t)len};
			iov[3 * j] = (struct iovec){&h[j], sizeof(h[j])};
			iov[3 * j + 1] = (struct iovec){(void *)(msg + off), c};
			iov[3 * j + 2] = (struct iovec){(void *)__ipcq_pipe_zeros, CHUNK - c};
		}
		w = writev(p->wfd, iov, (int)(3 * k));
		if (w >= 0 && w % PKT == 0)
			i += (size_t)w / PKT; /* whole packets: go on after the last */
		else if (w >= 0)
			return -EIO; /* cut inside a packet: readers discard it as torn */
		else if (errno == EAGAIN && i == 0)
			return -EAGAIN;	  /* a one-packet message found the pipe full */
		else if (errno == EAGAIN) /* room was checked: only a foreign writer */
			__ipcq_wait_fd(p->wfd, POLLOUT, -1);
		else if (errno != EINTR)
			return -errno; /* torn: readers discard the packets already sent */
	}
	return 0;
}

/* Free slots, for __ipcq_room_wait(). */
static ssize_t room_of(void *p)
{
	return __ipcq_pipe_room(p);
}

int __ipcq_pipe_framed_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int64_t deadline = __ipcq_deadline(timeout_ns);
	size_t n = npackets(len);
	ssize_t free_slots;
	int ret;

	for (;;) {
		ret = __ipcq_plock(&p->sh->wlock, deadline);
		if (ret < 0)
			return ret;
		/* One packet: a non-blocking write is all or nothing by itself. */
		free_slots = n == 1 ? 1 : __ipcq_pipe_room(p);
		if (free_slots >= (ssize_t)n) {
			ret = write_frames(p, msg, len, n);
			pthread_mutex_unlock(&p->sh->wlock);
			if (ret != -EAGAIN)
				return ret;
			free_slots = 0; /* one packet and the pipe was full */
		} else {
			pthread_mutex_unlock(&p->sh->wlock);
		}
		if (free_slots < 0)
			return (int)free_slots;
		if (__ipcq_left_ns(deadline) == 0)
			return __ipcq_timeout_err(deadline);
		if (free_slots == 0) {
			ret = __ipcq_wait_fd(p->wfd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
		} else {
			ret = __ipcq_room_wait(&p->sh->room, room_of, p, n, deadline);
			if (ret < 0)
				return ret;
		}
	}
}

/*
 * A reader mid-message found no next packet.  True when it never will come:
 * no writer holds the lock and nothing is in the pipe.
 */
static bool writer_gone(struct pipe_q *p)
{
	int r = pthread_mutex_trylock(&p->sh->wlock);

	if (r == EBUSY)
		return false;
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&p->sh->wlock);
	if (r == 0 || r == EOWNERDEAD)
		pthread_mutex_unlock(&p->sh->wlock);
	return !poll_now(p->rfd, POLLIN);
}

/* Reads messages until one is whole; the caller holds rlock. */
static ssize_t read_frames(struct ipcq *q, unsigned char *buf, size_t cap, int64_t deadline)
{
	struct pipe_q *p = pq(q);
	unsigned char bounce[CHUNK];
	size_t want = 0, n = 0, len = 0;
	uint32_t seq = 0;
	struct frame h;

	for (;;) {
		size_t off = want * CHUNK;
		/* A chunk that would pass cap lands in bounce, so nothing is lost. */
		unsigned char *dst = cap - off >= CHUNK ? buf + off : bounce;
		struct iovec iov[2] = {{&h, sizeof(h)}, {dst, CHUNK}};
		ssize_t r = readv(p->rfd, iov, 2);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (want == 0)
				return __ipcq_timeout_err(deadline); /* caller waits unlocked */
			if (writer_gone(p))
				want = 0; /* torn: its writer died */
			else
				__ipcq_wait_fd(p->rfd, POLLIN,
					       __ipcq_now_ns() + MID_SLICE_MS * 1000000);
			continue;
		}
		if ((size_t)r != PKT || h.magic != FRAME_MAGIC || h.len > q->msg_max) {
			want = 0; /* not ours: skip it */
			continue;
		}
		if (h.idx == 0) {
			/* A new message; one we were assembling was torn. */
			if (dst != buf)
				memcpy(buf, dst, CHUNK);
			seq = h.seq;
			len = h.len;
			n = npackets(len);
			want = 1;
		} else if (want && h.idx == want && h.seq == seq && h.len == len) {
			if (dst == bounce)
				memcpy(buf + off, bounce, len - off);
			want++;
		} else {
			want = 0; /* rest of a message whose reader died */
			continue;
		}
		if (want == n)
			return (ssize_t)len;
	}
}

ssize_t __ipcq_pipe_framed_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int64_t deadline = __ipcq_deadline(timeout_ns);
	ssize_t ret;

	for (;;) {
		ret = __ipcq_plock(&p->sh->rlock, deadline);
		if (ret < 0)
			return ret;
		ret = read_frames(q, buf, cap, deadline);
		pthread_mutex_unlock(&p->sh->rlock);
		__ipcq_room_wake(&p->sh->room);
		if (ret != -EAGAIN && ret != -ETIMEDOUT)
			return ret;
		/* Empty: wait without the lock, so other readers are not held up. */
		ret = __ipcq_wait_fd(p->rfd, POLLIN, deadline);
		if (ret < 0)
			return ret;
	}
}
