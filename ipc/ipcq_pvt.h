/* SPDX-License-Identifier: MIT */
/*
 * Private to libipcq: the backend ops table, the handle layout, and small
 * helpers shared by the backends.  Internal names start with "__ipcq_".
 */
#ifndef IPCQ_PVT_H
#define IPCQ_PVT_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "relax_pvt.h"

#define IPCQ_EXPORT __attribute__((visibility("default")))
#define IPCQ_HIDDEN __attribute__((visibility("hidden")))

#define IPCQ_NAME_MAX	     200  /* longest queue name accepted */
#define IPCQ_DEFAULT_MSG_MAX 4096 /* msg_max when the caller passes 0 */

/*
 * One backend.  queue.c validates arguments once (backend, name, msg_max,
 * len <= msg_max, cap >= msg_max, timeout >= -1) before calling through
 * here, so backends check only what is theirs.  Modelled on Linux ipc/'s
 * ops tables and SQLite's VFS (priv_size: the core allocates one block).
 */
struct ipcq_ops {
	const char *name;
	size_t priv_size; /* bytes of backend state at the end of struct ipcq */

	/* opts->msg_max is already defaulted; set q->capacity to the bound in force. */
	int (*create)(struct ipcq *q, const struct ipcq_opts *opts);
	/* Attach to a named queue; set q->capacity and q->msg_max. */
	int (*open)(struct ipcq *q, const char *name);
	/* timeout_ns: IPCQ_NOWAIT, IPCQ_FOREVER or > 0. */
	int (*put)(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns);
	ssize_t (*get)(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns);
	/*
	 * Batches, each may be NULL: queue.c then loops over put/get, waiting
	 * for the first message only.  Called with n >= 1 and every message
	 * checked (lengths, buffers); the semantics of ipcq.h.
	 */
	ssize_t (*put_many)(struct ipcq *q, const struct iovec *msgs, size_t n, int64_t timeout_ns);
	ssize_t (*get_many)(struct ipcq *q, struct iovec *bufs, size_t n, int64_t timeout_ns);
	/* ipcq_fd(), @events exactly POLLIN or POLLOUT; NULL: -ENOTSUP. */
	int (*fd)(struct ipcq *q, short events);
	ssize_t (*qsize)(struct ipcq *q); /* may return -ENOTSUP */
	bool (*empty)(struct ipcq *q);	  /* NULL: qsize() == 0 */
	bool (*full)(struct ipcq *q);	  /* NULL: qsize() >= capacity */
	int (*close)(struct ipcq *q);	  /* release backend state; the core frees q */
	int (*unlink)(const char *name);

	/* ipcq_ext.h; each may be NULL when the backend has nothing to say. */
	ssize_t (*limits)(struct ipcq_limit *out, size_t n);
	int (*explain)(const struct ipcq_opts *opts, int err, char *buf, size_t len);
	ssize_t (*clean)(ipcq_clean_fn fn, void *ctx);
	/* ipcq_clean_named(): named queues of dead creators that nobody holds. */
	ssize_t (*clean_named)(bool remove, ipcq_clean_fn fn, void *ctx);
	/* The kernel object's id (ipcq_sysv_msqid()); NULL where there is none. */
	int (*kernel_id)(const struct ipcq *q);
};

struct ipcq {
	const struct ipcq_ops *ops;
	size_t capacity; /* bound in force, set by the backend */
	size_t msg_max;
	bool named;
	char name[IPCQ_NAME_MAX + 1];	  /* "" for anonymous queues */
	alignas(64) unsigned char priv[]; /* ops->priv_size bytes */
};

/* Each backend exports exactly this one symbol; add yours to queue.c. */
extern const struct ipcq_ops __ipcq_pipe_ops;
extern const struct ipcq_ops __ipcq_sysv_ops;
extern const struct ipcq_ops __ipcq_mqueue_ops;
extern const struct ipcq_ops __ipcq_shm_ops;
extern const struct ipcq_ops __ipcq_unix_ops;
extern const struct ipcq_ops __ipcq_tcp_ops;

/* util.c ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t __ipcq_now_ns(void);

/*
 * Absolute monotonic deadline for a relative timeout: IPCQ_FOREVER stays -1,
 * IPCQ_NOWAIT stays 0 (a deadline already passed), else now + timeout.
 */
int64_t __ipcq_deadline(int64_t timeout_ns);

/*
 * Nanoseconds left until @deadline: -1 forever, 0 when passed.
 */
int64_t __ipcq_left_ns(int64_t deadline);

/*
 * Milliseconds for poll() until @deadline, rounded up so that we never
 * wake early; -1 forever; capped at @slice_ms when slice_ms > 0.
 */
int __ipcq_poll_ms(int64_t deadline, int slice_ms);

/*
 * Sleeps in poll() until @fd reports @events or @deadline passes.  Returns 0
 * (ready, a signal, or a slice over: try again), -EAGAIN (@deadline 0: no
 * waiting at all), -ETIMEDOUT (passed; never earlier), or poll()'s -errno.
 */
int __ipcq_wait_fd(int fd, short events, int64_t deadline);

/*
 * The slow path of a non-blocking try on @fd that failed with errno @err,
 * shared by the backends whose descriptors poll (pipe, mqueue).  Returns 0
 * to try again (EINTR, or @fd ready), else what put/get returns: -@err for
 * any error but EAGAIN, -EAGAIN for IPCQ_NOWAIT, -ETIMEDOUT once @timeout_ns
 * has passed.  *deadline must start at 0: it is set at the first wait, so
 * that the fast path makes no clock call.
 */
int __ipcq_retry_fd(int fd, short events, int err, int64_t timeout_ns, int64_t *deadline);

/*
 * Shared futexes (never FUTEX_PRIVATE_FLAG: the words live in memory that
 * processes share).  __ipcq_futex_wait() sleeps while *@w == @val, at most
 * @ns nanoseconds (relative); returns 0 (woken) or -1 with errno (EAGAIN:
 * the word moved, EINTR, ETIMEDOUT), as the system call does.
 */
long __ipcq_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t ns);
void __ipcq_futex_wake_all(_Atomic uint32_t *w);

/*
 * Fills @buf with @prefix followed by 16 random hex digits (getrandom):
 * the one source of unpredictable names; fails (-errno) rather than fall
 * back to anything guessable.
 */
int __ipcq_random_name(char *buf, size_t len, const char *prefix);

/*
 * Runs @fn(@arg) to its end even if we are killed by SIGKILL meanwhile: in a
 * child that shares our memory and descriptor table and suspends us until it
 * exits, as posix_spawn's vfork does; our death does not stop it.  For the
 * few system calls between making a kernel object and putting it where the
 * kernel or ipcq_clean() can find it (a SIGKILL that arrives during the
 * first strikes as it returns, so the window is no rare one).  @fn makes raw
 * system calls only (syscall()) and is no_sanitize("address", "undefined"):
 * neither libc's state nor the sanitizers' bookkeeping is its own.  Where
 * clone() is refused (seccomp, RLIMIT_NPROC) @fn runs here: the window stays.
 */
void __ipcq_unkillable(int (*fn)(void *), void *arg);

/* Reads one integer from a /proc/sys file; -1 when unreadable. */
long long __ipcq_read_sysctl(const char *path);

/* Fills one struct ipcq_limit (strings truncated to fit). */
void __ipcq_limit_set(struct ipcq_limit *l, const char *name, long long value, const char *unit,
		      const char *what, const char *raise);

#endif /* IPCQ_PVT_H */
