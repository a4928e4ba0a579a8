/* SPDX-License-Identifier: MIT */
/*
 * Private to the pipe backend: pipe.c (the single format, setup, names),
 * pipe_size.c (pipe sizes and the kernel's limits on them) and pipe_frame.c
 * (the framed format for messages of PIPE_BUF bytes and more).  pipe.c calls
 * into the other two, never the other way round.
 */
#ifndef IPCQ_PIPE_PVT_H
#define IPCQ_PIPE_PVT_H

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ipcq_pvt.h"
#include "plock_pvt.h"

#define PKT	     PIPE_BUF /* the largest write the kernel keeps whole */
#define META_MAGIC   0x6d637069u
#define META_VERSION 1

struct frame {
	uint32_t magic;
	uint32_t seq; /* message number, per queue */
	uint32_t idx; /* packet number within the message */
	uint32_t len; /* message length */
};

#define CHUNK (PKT - sizeof(struct frame))

/* MAP_SHARED: anonymous for anonymous queues, the "meta" file for named ones. */
struct pipe_shared {
	uint32_t magic;
	uint32_t version;
	uint64_t msg_max;
	uint64_t pipe_bytes; /* F_SETPIPE_SZ to re-apply when a FIFO is reopened */
	uint64_t capacity;
	uint32_t framed;
	uint32_t seq;	       /* under wlock */
	struct ipcq_room room; /* writers waiting for several free slots (plock.c) */
	pthread_mutex_t wlock;
	pthread_mutex_t rlock;
};

struct pipe_q {
	int rfd, wfd; /* the same descriptor for a FIFO */
	int bfd;      /* blocking, for IPCQ_FOREVER: see open_blocking(); -1: none */
	bool framed;
	size_t slots;		/* pipe size in packets */
	size_t n_max;		/* packets a msg_max message takes */
	size_t page;		/* the size of one pipe slot */
	struct pipe_shared *sh; /* NULL for anonymous single-format queues */
	int lock_fd;		/* named: the meta file, OFD read-locked (a handle); else -1 */
};

extern const unsigned char __ipcq_pipe_zeros[PKT]; /* padding, and the empty message */

static inline struct pipe_q *pq(struct ipcq *q)
{
	return (struct pipe_q *)q->priv;
}

static inline size_t npackets(size_t len)
{
	return len ? (len + CHUNK - 1) / CHUNK : 1;
}

static inline bool poll_now(int fd, short ev)
{
	struct pollfd pfd = {.fd = fd, .events = ev};

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & ev);
}

/* pipe_size.c ----------------------------------------------------------- */

/*
 * Sizes the pipe p->wfd for @capacity messages and fills p->slots and
 * q->capacity.  capacity 0: the largest the kernel allows (pipe-max-size,
 * less if the user is over pipe-user-pages-soft), but at least one msg_max
 * message.  Returns 0, -EMSGSIZE, -EINVAL (too many), or fcntl's -errno.
 */
int __ipcq_pipe_size(struct ipcq *q, struct pipe_q *p, size_t capacity);

/* ipcq_limits() and ipcq_explain() of the pipe backend (ipcq_ext.h). */
ssize_t __ipcq_pipe_limits(struct ipcq_limit *out, size_t n);
int __ipcq_pipe_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len);

/* pipe_frame.c ---------------------------------------------------------- */

/* Free slots, exact in the framed format where every packet is PKT bytes; or -errno. */
ssize_t __ipcq_pipe_room(struct pipe_q *p);

/*
 * A framed put or get (msg_max >= PIPE_BUF): 0 or the message length,
 * -EAGAIN (NOWAIT, or a lock busy for 5 ms), -ETIMEDOUT, -ENOTRECOVERABLE
 * (a lock left inconsistent), or the kernel's error.
 */
int __ipcq_pipe_framed_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns);
ssize_t __ipcq_pipe_framed_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns);

#endif /* IPCQ_PIPE_PVT_H */
