/* SPDX-License-Identifier: MIT */
/*
 * libipcq: one message-queue interface for Linux processes, modelled on
 * Python's multiprocessing.Queue, with interchangeable backends
 * ("pipe", "sysv", "mqueue", "shm", "unix", "tcp").
 *
 * Every function returns 0 (or a non-negative count) on success and a
 * negative errno value on failure; nothing prints, nothing exits, and
 * EINTR never surfaces.  Timeouts are relative, in nanoseconds:
 * IPCQ_NOWAIT (0) does not wait, IPCQ_FOREVER (-1) waits without limit.
 */
#ifndef IPCQ_H
#define IPCQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h> /* struct iovec, for the batches */

#ifdef __cplusplus
extern "C" {
#endif

struct ipcq; /* opaque */

struct ipcq_opts {
	const char *backend; /* "pipe", "sysv", "mqueue", "shm", "unix", "tcp" */
	const char *name;    /* NULL: anonymous, reaches children through fork();
	                        else any process of the same user attaches with ipcq_open() */
	size_t capacity;     /* at least this many messages of msg_max bytes fit; 0: as many as
	                        the backend allows. Byte-bounded backends may hold more small ones */
	size_t msg_max;	     /* largest message in bytes; 0: 4096 */
	unsigned flags;	     /* IPCQ_SP, IPCQ_SC; 0: any number of producers and consumers */
};

/*
 * Single-producer and single-consumer modes (ipcq_opts.flags), a promise
 * the caller makes at create time so that a backend may take a cheaper
 * path (shm: no compare-and-swap on the index it alone moves).  The shm
 * backend holds every handle to it: the first thread to put (IPCQ_SP) or
 * get (IPCQ_SC) takes the place, and a put (get) by any other live thread,
 * in any process, fails with -EBUSY; once that thread has ended, been
 * killed, or closed its handle, the next one takes over.  ipcq_open() of a
 * named ring adopts its mode.  Backends without a cheaper path accept the
 * flags and ignore them.  (Programs linked to IPCQ_0.1, before flags
 * existed, create queues without them.)  Both flags make the shm ring an
 * SPSC ring with cached indices: faster streams, batches above all; but a
 * lone message moves its index's cache line as well as its slot's, so a
 * 64 B round trip measured ~100 ns slower than without flags (2-CPU VM).
 * For request/response on one ring pair, leave the flags out.
 */
#define IPCQ_SP 1u /* one producer thread at a time */
#define IPCQ_SC 2u /* one consumer thread at a time */

#define IPCQ_NOWAIT  INT64_C(0) /* timeouts are in nanoseconds, relative */
#define IPCQ_FOREVER INT64_C(-1)

/*
 * Creates a queue.  A named queue must not exist yet; names are 1 to 200
 * characters of [A-Za-z0-9._-], not starting with '.'.
 * Returns 0 and sets *out, or:
 *   -EINVAL   unknown backend, bad name, flags other than IPCQ_SP and IPCQ_SC,
 *             or options the backend cannot honour
 *   -EEXIST   a queue of that name exists
 *   -EMSGSIZE msg_max above what the backend can ever carry
 *   -ENOMEM, -EMFILE, -ENOSPC, -EPERM ...  the kernel refused; for a kernel
 *             limit (mqueue msg_max/msgsize_max, RLIMIT_MSGQUEUE, SysV
 *             msgmax/msgmnb) ipcq_explain() in ipcq_ext.h names it
 *   -ENOBUFS  unix, tcp: the socket buffers this queue needs pass
 *             net.core.wmem_max (tcp: or rmem_max); ipcq_explain() says so
 */
int ipcq_create(struct ipcq **out, const struct ipcq_opts *opts);

/*
 * Attaches to the named queue @name of @backend, created by any process of
 * the same user.  Returns 0 and sets *out, or:
 *   -ENOENT   no such queue
 *   -EINVAL   unknown backend, bad name; shm: not a ring, or its header is
 *             damaged
 *   -EACCES   the object of that name is not ours alone: another user owns
 *             it (or one of its files), or its mode lets group or others in.
 *             Refused also where the kernel would let us in (root, a 0666
 *             object): a queue of the same user is the contract
 *   or another kernel error.
 * A named shm ring is a file in /dev/shm: a process of the same user that
 * shrinks it (ftruncate) after it was opened makes every process using the
 * ring die of SIGBUS at its next access to the lost pages; the library
 * installs no signal handler that could turn this into an error.  Anonymous
 * shm rings are sealed against it.
 */
int ipcq_open(struct ipcq **out, const char *backend, const char *name);

/*
 * Puts one message of @len bytes (0 allowed), waiting up to @timeout_ns for
 * room.  Returns 0, or:
 *   -EMSGSIZE len > ipcq_msg_max(q)
 *   -EAGAIN   queue full and timeout_ns == IPCQ_NOWAIT
 *   -ETIMEDOUT queue still full after timeout_ns > 0
 *   -EINVAL   NULL msg with len > 0, or timeout_ns < -1
 *   -EIDRM    the queue was removed under us
 *   -EBADMSG  shm: the ring's shared words are impossible (damaged, or a
 *             hostile peer of the same user wrote them); returned at once,
 *             or at the latest when the wait sleeps for the first time
 *   -EBUSY    shm, a ring made with IPCQ_SP: another live thread is its producer
 */
int ipcq_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns);

/*
 * Takes the oldest available message into @buf, waiting up to @timeout_ns.
 * Returns its length (>= 0), or:
 *   -EINVAL   cap < ipcq_msg_max(q) (nothing consumed), NULL buf, timeout_ns < -1
 *   -EAGAIN   queue empty and timeout_ns == IPCQ_NOWAIT
 *   -ETIMEDOUT queue still empty after timeout_ns > 0
 *   -EIDRM    the queue was removed under us
 *   -EBADMSG  shm: as for ipcq_put(); a message whose length word is beyond
 *             msg_max is dropped (the next get goes on with the next one); tcp: the
 *             byte stream was torn (a producer killed inside a frame that
 *             the kernel took only part of: memory pressure), for good, or
 *             the queue's shared header is damaged
 *   -EBUSY    shm, a ring made with IPCQ_SC: another live thread is its consumer
 */
ssize_t ipcq_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns);

/* ipcq_put(q, msg, len, IPCQ_NOWAIT). */
int ipcq_put_nowait(struct ipcq *q, const void *msg, size_t len);

/* ipcq_get(q, buf, cap, IPCQ_NOWAIT). */
ssize_t ipcq_get_nowait(struct ipcq *q, void *buf, size_t cap);

/*
 * Approximate number of messages queued (other processes may change it at
 * any moment).  Returns the count, or -ENOTSUP where the backend cannot tell.
 */
ssize_t ipcq_qsize(struct ipcq *q);

/* True when no message is queued (approximate, like qsize). */
bool ipcq_empty(struct ipcq *q);

/* True when a put of a msg_max-byte message would have to wait (approximate). */
bool ipcq_full(struct ipcq *q);

/* The capacity really in force, in messages of msg_max bytes. */
size_t ipcq_capacity(const struct ipcq *q);

/* The largest message this queue carries, in bytes. */
size_t ipcq_msg_max(const struct ipcq *q);

/* The backend's name ("pipe", "sysv", ...). */
const char *ipcq_backend(const struct ipcq *q);

/*
 * Frees this handle.  An anonymous queue vanishes with its last handle in
 * any process; a named queue stays until ipcq_unlink().  Returns 0, or a
 * negative errno (the handle is freed all the same).
 */
int ipcq_close(struct ipcq *q);

/*
 * Removes the named queue @name of @backend; handles still open keep
 * working until closed.  Returns 0, -ENOENT (no such queue), -EACCES (an
 * object of that name that is not ours alone: another user's, or opened to
 * group or others; refused as ipcq_open() refuses it, also for root),
 * -EINVAL.
 */
int ipcq_unlink(const char *backend, const char *name);

/* NULL-terminated names of the backends built in. */
const char *const *ipcq_backends(void);

/* ---- IPCQ_0.3: batches and a descriptor to poll ---- */

/*
 * Puts msgs[0..n) in order.  Waits as ipcq_put() for room for the first
 * message only; the others go in while there is room without waiting.
 * Returns how many were put (1..n; 0 when n is 0), or a negative errno as
 * ipcq_put() (then none was put):
 *   -EMSGSIZE some msgs[i].iov_len > ipcq_msg_max(q) (checked before any put)
 *   -EINVAL   NULL msgs with n > 0, a NULL iov_base with iov_len > 0,
 *             n > SSIZE_MAX, timeout_ns < -1
 *   -EAGAIN, -ETIMEDOUT, -EIDRM, -EBADMSG, -EBUSY as ipcq_put()
 * An error after the first message (a damaged ring, a removed queue) ends
 * the batch: the count put so far is returned, the error shows again at
 * the next call.  The shm ring claims and publishes a batch with one
 * index update and at most one wake-up.
 */
ssize_t ipcq_put_many(struct ipcq *q, const struct iovec *msgs, size_t n, int64_t timeout_ns);

/*
 * Gets up to n messages: message i into bufs[i].iov_base, whose iov_len
 * must be >= ipcq_msg_max(q) on entry and is set to the message's length.
 * Waits as ipcq_get() for the first message only.  Returns how many were
 * got (1..n; 0 when n is 0), or a negative errno as ipcq_get() (then none
 * was got):
 *   -EINVAL   some bufs[i].iov_len < ipcq_msg_max(q), a NULL iov_base
 *             (msg_max > 0), NULL bufs with n > 0, n > SSIZE_MAX,
 *             timeout_ns < -1; checked before anything is consumed
 *   -EAGAIN, -ETIMEDOUT, -EIDRM, -EBADMSG, -EBUSY as ipcq_get()
 * Entries from the count on are left as they were.  An error after the
 * first message ends the batch as for ipcq_put_many().
 */
ssize_t ipcq_get_many(struct ipcq *q, struct iovec *bufs, size_t n, int64_t timeout_ns);

/*
 * A file descriptor to poll()/epoll for @events, exactly one of POLLIN and
 * POLLOUT: it reports POLLIN (readable) when a get may succeed, POLLOUT
 * (writable) when a put may succeed.  It may report so spuriously (another
 * consumer was first): the get or put then says -EAGAIN, and the
 * descriptor settles again.  It belongs to the handle: never read, write
 * or close it; ipcq_close() closes it.  pipe, mqueue, unix and tcp return
 * their own descriptor; shm returns an eventfd doorbell per direction,
 * made with an anonymous ring and reaching its children through fork()
 * with it, that the other side rings only while somebody polls (the put
 * and get paths pay nothing otherwise; they already read the word that
 * says so).
 * Returns the descriptor (the same one at every call), or:
 *   -EINVAL   @events not exactly POLLIN or POLLOUT
 *   -ENOTSUP  the backend has none (sysv), nor has a named shm ring (its
 *             processes share no descriptor); unix and tcp have POLLIN only
 *             (their socket's receive end: tcp may wake for part of a
 *             frame), as their send ends do not tell when a put fits
 */
int ipcq_fd(struct ipcq *q, short events);

#ifdef __cplusplus
}
#endif

#endif /* IPCQ_H */
