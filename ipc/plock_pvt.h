/* SPDX-License-Identifier: MIT */
/*
 * Private to libipcq: process-shared locks and room waits (plock.c), for
 * the backends whose writers (readers) must not interleave on one kernel
 * object: the pipe's framed format and the tcp byte stream.  Both live in
 * memory that the queue's processes share (MAP_SHARED).
 */
#ifndef IPCQ_PLOCK_PVT_H
#define IPCQ_PLOCK_PVT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "ipcq_pvt.h"

/* -EAGAIN for the deadline 0 (IPCQ_NOWAIT), else -ETIMEDOUT. */
int __ipcq_timeout_err(int64_t deadline);

/* A robust, process-shared mutex for @m (pthread_mutex_init); 0 or -errno. */
int __ipcq_plock_init(pthread_mutex_t *m);

/*
 * Takes @m by @deadline (absolute, __ipcq_deadline()); holders never sleep
 * inside, so a NOWAIT caller waits a few milliseconds too.  A holder killed
 * by SIGKILL hands the lock on (EOWNERDEAD, made consistent here).  Returns
 * 0, 1 (taken from a holder that died: what it left half done is the
 * caller's to recognise), -EAGAIN, -ETIMEDOUT, or -ENOTRECOVERABLE.
 */
int __ipcq_plock(pthread_mutex_t *m, int64_t deadline);

/*
 * Writers waiting for room that only readers can make (the kernel wakes
 * pollers too late or never): readers bump @seq and wake them through a
 * shared futex.  A waiter announces itself in @waiters, checks @room(@arg)
 * again (no wake-up is lost), and sleeps at most 10 ms (a reader killed
 * before it could wake us) or until @deadline.  Returns 0 (look again), or
 * the negative errno @room returned.
 */
struct ipcq_room {
	_Atomic uint32_t seq;
	_Atomic uint32_t waiters;
};

int __ipcq_room_wait(struct ipcq_room *r, ssize_t (*room)(void *arg), void *arg, size_t n,
		     int64_t deadline);

/* After a get: wakes the waiting writers, if any (one atomic load when none). */
static inline void __ipcq_room_wake(struct ipcq_room *r)
{
	if (atomic_load_explicit(&r->waiters, memory_order_seq_cst)) {
		atomic_fetch_add(&r->seq, 1);
		__ipcq_futex_wake_all(&r->seq);
	}
}

#endif /* IPCQ_PLOCK_PVT_H */
