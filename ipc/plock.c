/* SPDX-License-Identifier: MIT */
/*
 * Process-shared locks and room waits, once for the backends that frame
 * messages on a shared kernel object (pipe_frame.c, tcp.c): see plock_pvt.h.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "plock_pvt.h"

#define NOWAIT_LOCK_NS 5000000 /* locks are held only while copying: wait this long */
#define ROOM_SLICE_NS  10000000

int __ipcq_timeout_err(int64_t deadline)
{
	return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
}

int __ipcq_plock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int ret;

	ret = -pthread_mutexattr_init(&a);
	if (ret)
		return ret;
	ret = -pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!ret)
		ret = -pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!ret)
		ret = -pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return ret;
}

int __ipcq_plock(pthread_mutex_t *m, int64_t deadline)
{
	struct timespec ts;
	int ret;

	if (deadline < 0) {
		ret = pthread_mutex_lock(m);
	} else {
		ret = pthread_mutex_trylock(m);
		if (ret == EBUSY) {
			/* Holders never sleep inside: NOWAIT waits a little too. */
			int64_t d = deadline ? deadline : __ipcq_now_ns() + NOWAIT_LOCK_NS;
			ts.tv_sec = d / 1000000000;
			ts.tv_nsec = d % 1000000000;
			ret = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
		}
	}
	if (ret == EOWNERDEAD) {
		/* What the dead holder left half done is the caller's to recognise. */
		pthread_mutex_consistent(m);
		return 1;
	}
	if (ret == ETIMEDOUT)
		return __ipcq_timeout_err(deadline);
	return -ret;
}

int __ipcq_room_wait(struct ipcq_room *r, ssize_t (*room)(void *arg), void *arg, size_t n,
		     int64_t deadline)
{
	int64_t left = __ipcq_left_ns(deadline);
	int64_t ns = left >= 0 && left < ROOM_SLICE_NS ? left : ROOM_SLICE_NS;
	ssize_t have;
	uint32_t seq;

	atomic_fetch_add(&r->waiters, 1);
	seq = atomic_load(&r->seq);
	have = room(arg); /* after announcing ourselves: no wake-up is lost */
	if (have >= 0 && (size_t)have < n && ns > 0)
		__ipcq_futex_wait(&r->seq, seq, ns);
	atomic_fetch_sub(&r->waiters, 1);
	return have < 0 ? (int)have : 0;
}
