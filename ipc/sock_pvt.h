/* SPDX-License-Identifier: MIT */
/*
 * Private to the socket backends, unix.c (AF_UNIX SOCK_SEQPACKET) and tcp.c
 * (TCP over loopback, framed): what they share, in sock.c (handles, names,
 * buffers, limits) and sock_keeper.c (the keeper process of named queues).
 *
 * A queue is one connected pair of sockets: every handle holds both, puts
 * send on the send end, gets receive on the receive end, so several
 * producers and consumers in several processes share one kernel queue.
 * Anonymous queues reach children through fork() and vanish with their
 * last holder.  A socket has no name a process could open, so a named queue
 * is a directory <private dir>/<backend>/<name>/ (registry.c) with "meta"
 * (the shared header below, which every handle read-locks), "creator", and
 * "sock", where a small keeper process listens: it holds the pair while the
 * name lives and hands it to openers of the same user over SCM_RIGHTS.
 */
#ifndef IPCQ_SOCK_PVT_H
#define IPCQ_SOCK_PVT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <pthread.h>

#include "plock_pvt.h"
#include "registry_pvt.h"

#define SOCK_MAGIC   0x6b636f73u
#define SOCK_VERSION 2

/* Shared by every handle (MAP_SHARED: anonymous, or the named queue's "meta"). */
struct sock_shared {
	uint32_t magic;
	uint32_t version;
	uint64_t msg_max;
	uint64_t capacity;
	uint64_t sndbuf;       /* unix: SO_SNDBUF in force; a put waits while SIOCOUTQ >= it */
	uint64_t budget;       /* tcp: bytes of frames the queue may hold */
	struct ipcq_room room; /* writers waiting for room that readers make */
	alignas(64) pthread_mutex_t wlock; /* tcp: one frame at a time on the stream */
	/*
	 * tcp, under wlock: @sent, the stream's bytes in whole frames, as the
	 * kernel counts what was written (tcp.c); @wframe, the length of the
	 * frame being sent.  @put_n: frames.
	 */
	_Atomic uint64_t sent, put_n;
	uint32_t wframe;
	alignas(64) pthread_mutex_t rlock;
	/*
	 * tcp, under rlock: @taken, where the frame in @part begins: the
	 * stream's bytes readers have taken, as the kernel counts them;
	 * @have, that frame's bytes in @part.  @got_n: frames.
	 */
	_Atomic uint64_t taken, got_n;
	uint32_t have;
	_Atomic uint32_t torn;		 /* tcp: a frame will never be whole: every call -EBADMSG */
	alignas(8) unsigned char part[]; /* tcp: a frame taken in parts: part_hdr + msg_max */
};

struct sock_q {
	int rfd, wfd; /* the receive end and the send end of the pair */
	int lock_fd;  /* named: "meta", OFD read-locked (the handle's reference); else -1 */
	struct sock_shared *sh;
	size_t sh_len; /* its mapping: the header and part[] */
};

static inline struct sock_q *sq(struct ipcq *q)
{
	return (struct sock_q *)q->priv;
}

/* What a socket backend gives sock.c. */
struct sock_type {
	const char *name;
	const struct ipcq_reg_dir *reg; /* its named queues */
	int domain, type;		/* checked on the descriptors an opener receives */
	size_t part_hdr; /* a frame's header: sh->part holds part_hdr + msg_max; 0: no part */
	/*
	 * Makes the connected pair for q->msg_max and @capacity (0: as large as
	 * the limits allow): fds[0] receives, fds[1] sends; fills sh->capacity
	 * (and sndbuf or budget).  0 or -errno (-ENOBUFS: net.core.*mem_max).
	 */
	int (*make)(struct ipcq *q, struct sock_shared *sh, size_t capacity, int fds[2]);
	/* The limits that bound it, in order: "net.core.wmem_max" first. */
	const char *const *limits;
};

/* sock.c ---------------------------------------------------------------- */

int __ipcq_sock_create(struct ipcq *q, const struct ipcq_opts *opts, const struct sock_type *t);
int __ipcq_sock_open(struct ipcq *q, const char *name, const struct sock_type *t);
int __ipcq_sock_close(struct ipcq *q);
int __ipcq_sock_unlink(const struct sock_type *t, const char *name);
bool __ipcq_sock_empty(struct ipcq *q);
ssize_t __ipcq_sock_limits(const struct sock_type *t, struct ipcq_limit *out, size_t n);
int __ipcq_sock_explain(const struct sock_type *t, const struct ipcq_opts *opts, int err, char *buf,
			size_t len);

/*
 * ipcq_fd(): POLLIN only, the receive end: readable when a message (tcp:
 * the first bytes of a frame, a spurious wake the get answers with
 * -EAGAIN) is there.  The send ends say nothing true about room: the kernel
 * reports a unix one writable only once at most a quarter of its buffer is
 * in use (unix_writable()), and a tcp queue holds less than its connection
 * does, so that POLLOUT would come late or never settle: -ENOTSUP.
 */
int __ipcq_sock_fd(struct ipcq *q, short events);

/* net.core.wmem_max or rmem_max (@rmem), in bytes; 212992 when unreadable. */
long long __ipcq_sock_mem_max(bool rmem);

/*
 * Sets SO_SNDBUF (SO_RCVBUF) of @fd to @bytes, as the kernel counts them
 * (it doubles what it is given); returns the size in force or -errno.
 */
ssize_t __ipcq_sock_set_buf(int fd, int opt, size_t bytes);

/* sock_keeper.c --------------------------------------------------------- */

/*
 * Starts the keeper of the queue being built in the directory @dfd: binds
 * and listens on "sock" (0600), and leaves a process that holds @fds until
 * the directory is removed or ipcq_unlink() tells it to go.  0 or -errno.
 */
int __ipcq_keeper_start(int dfd, const int fds[2]);

/*
 * Asks the keeper of @dfd for the pair: fds[0] receives, fds[1] sends, both
 * checked to be sockets of @domain and @type.  Returns 0, -ENOENT (no keeper
 * listens: the queue is being removed, or its keeper was killed), -EACCES
 * (the keeper or its socket is not ours), or -errno.
 */
int __ipcq_keeper_fetch(int dfd, int domain, int type, int fds[2]);

/* Tells the keeper of @dfd to exit and waits until it has; 0 or -errno. */
int __ipcq_keeper_stop(int dfd);

/*
 * Defines the ops table @ops of the socket backend @name_str, described by @t: its own
 * hot path (@put, @get, @qsize, @full), sock.c and registry.c for the rest.
 */
#define SOCK_DEFINE_OPS(ops, name_str, t, put_fn, get_fn, qsize_fn, full_fn, fd_fn)              \
	static int ops##_create(struct ipcq *q, const struct ipcq_opts *o)                       \
	{                                                                                        \
		return __ipcq_sock_create(q, o, &(t));                                           \
	}                                                                                        \
	static int ops##_open(struct ipcq *q, const char *name)                                  \
	{                                                                                        \
		return __ipcq_sock_open(q, name, &(t));                                          \
	}                                                                                        \
	static int ops##_unlink(const char *name)                                                \
	{                                                                                        \
		return __ipcq_sock_unlink(&(t), name);                                           \
	}                                                                                        \
	static ssize_t ops##_limits(struct ipcq_limit *out, size_t n)                            \
	{                                                                                        \
		return __ipcq_sock_limits(&(t), out, n);                                         \
	}                                                                                        \
	static int ops##_explain(const struct ipcq_opts *o, int err, char *buf, size_t len)      \
	{                                                                                        \
		return __ipcq_sock_explain(&(t), o, err, buf, len);                              \
	}                                                                                        \
	/* A creator killed mid-create leaves a temporary directory; its keeper goes with it. */ \
	static ssize_t ops##_clean(ipcq_clean_fn fn, void *ctx)                                  \
	{                                                                                        \
		return __ipcq_reg_dir_clean((t).reg, fn, ctx);                                   \
	}                                                                                        \
	static ssize_t ops##_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)               \
	{                                                                                        \
		return __ipcq_reg_dir_clean_named((t).reg, remove, fn, ctx);                     \
	}                                                                                        \
	const struct ipcq_ops ops = {                                                            \
		.name = name_str,                                                                \
		.priv_size = sizeof(struct sock_q),                                              \
		.create = ops##_create,                                                          \
		.open = ops##_open,                                                              \
		.put = put_fn,                                                                   \
		.get = get_fn,                                                                   \
		.qsize = qsize_fn,                                                               \
		.empty = __ipcq_sock_empty,                                                      \
		.full = full_fn,                                                                 \
		.close = __ipcq_sock_close,                                                      \
		.unlink = ops##_unlink,                                                          \
		.limits = ops##_limits,                                                          \
		.explain = ops##_explain,                                                        \
		.clean = ops##_clean,                                                            \
		.clean_named = ops##_clean_named,                                                \
		.fd = fd_fn,                                                                     \
	}

#endif /* IPCQ_SOCK_PVT_H */
