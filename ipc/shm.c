/* SPDX-License-Identifier: MIT */
/*
 * shm: a bounded MPMC ring in shared memory (layout in shm_pvt.h).
 *
 * Fast path: claim a slot with one CAS, copy, publish with one release store,
 * one fence and a read of the other side's sleeper flag: no system call
 * unless somebody sleeps.  The slow path (spin, sleep, wake, repair of the
 * slots of killed peers) is shm_wait.c's; the mapping (create, open, close,
 * unlink) shm_map.c's.
 *
 * The ring's words are shared with every process of the user, so none of
 * them is trusted: a state no healthy interleaving produces (a seq from the
 * future or the past, a length beyond msg_max, head and tail further apart
 * than the ring) makes the call fail with -EBADMSG (seq_live()), every loop
 * is bounded, timeouts hold whatever the ring holds, and indices are masked.
 * What cannot be caught: a peer that shrinks a named ring's file (shm_map.c).
 */
#include <errno.h>
#include <string.h>

#include "shm_pvt.h"

/* This thread's intent word in this ring, or NULL (then repairs of gaps stop). */
static inline _Atomic uint64_t *intent_word(struct shm_priv *p)
{
	int t = __ipcq_shm_tidx;

	if (likely(atomic_load_explicit(&p->rec_pid, memory_order_acquire) == __ipcq_shm_self)) {
		struct shm_rec *r = atomic_load_explicit(&p->rec, memory_order_relaxed);

		if (likely(r && t >= 0 && t < SHM_REC_THREADS))
			return &r->intent[t];
		if (!r || t >= SHM_REC_THREADS)
			return NULL; /* no record for us: norec is set */
	}
	return __ipcq_shm_intent_slow(p);
}

static inline void intend(_Atomic uint64_t *in, uint64_t pos, unsigned role)
{
	if (likely(in != NULL))
		atomic_store_explicit(in, pos << 1 | role, memory_order_relaxed);
}

/*
 * Which words a healthy ring can show, and so which ones it cannot.
 *
 * Read with @idx (tail for producers, head for consumers) still at @pos, the
 * slot at @pos holds one of three seqs, as d = seq - pos:
 *   producers  d = 0 free; -cap: the last lap's producer has claimed it and
 *              not yet published; 1 - cap: published, not yet consumed;
 *   consumers  d = 1 published; 0: not yet published; 1 - cap: the last
 *              lap's consumer has claimed it and is still reading.
 * A seq above these is written (with release) only by a thread that had
 * seen the index beyond @pos, and we read seq with acquire before reading
 * the index again: that read then finds the index moved.  A seq below them
 * or between them no healthy ring shows at all once the index was read
 * with acquire (the claims up to it were made after their slots' last
 * publishes, and seqs only grow).  So an index still at @pos after a seq
 * outside these three proves the ring damaged.  Likewise tail - head lies
 * in [0, cap] when head is read before tail for the lower bound and after
 * it for the upper one (idx_check()).
 *
 * Every loop is bounded: a peer that keeps moving an index (or a ring of
 * holes) makes an attempt give up after SHM_TRIES rounds with -EAGAIN, and
 * the caller's wait then honours its deadline.  A healthy attempt loses a
 * round only to a peer that won one, so SHM_TRIES lost in a row do not
 * happen in practice; if they did, the attempt would just look full or
 * empty once.
 */
#define SHM_TRIES 256

/* One of the three seqs above, for role @get at a current index. */
static inline bool seq_live(uint64_t seq, uint64_t pos, uint64_t cap, bool get)
{
	int64_t d = (int64_t)(seq - pos);

	return get ? d == 1 || d == 0 || d == (int64_t)(1 - cap)
		   : d == 0 || d == -(int64_t)cap || d == (int64_t)(1 - cap);
}

/*
 * The slot at *@pos showed a seq no healthy ring shows with @idx at *@pos.
 * Returns 0 with *@pos where @idx is now when it moved meanwhile (or
 * unchanged when the slot turned out live after all), -EBADMSG when it did
 * not move: the ring is damaged.  Acquire on the first re-read: a current
 * index bounds the seq we read next from below.
 */
static __attribute__((noinline)) int slot_odd(struct shm_priv *p, _Atomic uint64_t *idx,
					      uint64_t *pos, bool get)
{
	uint64_t now = atomic_load_explicit(idx, memory_order_acquire), seq;

	if (now != *pos)
		goto moved;
	seq = atomic_load_explicit(&shm_slot(p, now)->seq, memory_order_acquire);
	if (seq_live(seq, now, p->mask + 1, get))
		return 0;
	now = atomic_load_explicit(idx, memory_order_relaxed);
	if (now == *pos)
		return -EBADMSG;
moved:
	*pos = now;
	return 0;
}

/*
 * The slot at *@pos is not ours to take, yet not full or empty either:
 * mostly another thread took it first.  Sets *@pos to where @idx is now;
 * returns 0, or -EBADMSG when @idx has not moved (slot_odd()).
 */
static inline int retry_from(struct shm_priv *p, _Atomic uint64_t *idx, uint64_t *pos, bool get)
{
	uint64_t now = atomic_load_explicit(idx, memory_order_relaxed);

	if (unlikely(now == *pos) && slot_odd(p, idx, &now, get) < 0)
		return -EBADMSG;
	*pos = now;
	return 0;
}

/* A round of an attempt lost (or a hole skipped): go on from the index now. */
#define SHM_RETRY (-EINPROGRESS)

/*
 * One round of a put at *@pos: 0, -EAGAIN (full), -EBADMSG, or SHM_RETRY
 * with *@pos where to go on.  A producer killed by SIGKILL between its
 * claim and its publish leaves an intent (before the CAS) and an owner tag
 * (after it) by which a waiter repairs the slot: see repair().  No system
 * call and, with the message's pages touched first, rarely a page fault
 * between claim and publish.
 */
static inline __attribute__((always_inline)) int
put_round(struct shm_priv *p, const void *msg, size_t len, _Atomic uint64_t *in, uint64_t *pos)
{
	struct shm_slot *s = shm_slot(p, *pos);
	/* acquire: the consumer that freed this slot is done reading it. */
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	int64_t dif = (int64_t)(seq - *pos);

	if (likely(dif == 0)) {
		intend(in, *pos, SHM_OWN_PUT);
		/*
		 * release: publishes our intent to whoever sees the new tail;
		 * the CAS only arbitrates ownership, seq orders data.  On
		 * failure *pos is the tail now.
		 */
		if (unlikely(!atomic_compare_exchange_weak_explicit(
			    p->tail, pos, *pos + 1, memory_order_release, memory_order_relaxed)))
			return SHM_RETRY;
		atomic_store_explicit(&s->owner, owner_tag(*pos, SHM_OWN_PUT),
				      memory_order_relaxed);
		atomic_store_explicit(&s->len, len, memory_order_relaxed);
		if (len) /* msg may be NULL then */
			memcpy(s->data, msg, len);
		/* release: the consumer that acquires seq sees len and the payload. */
		atomic_store_explicit(&s->seq, *pos + 1, memory_order_release);
		shm_wake(p, p->not_empty);
		return 0;
	}
	if (likely((uint64_t)(dif + (int64_t)(p->mask + 1)) <= 1))
		return -EAGAIN; /* the slot still holds the previous lap */
	/* another producer was first (or the ring is damaged) */
	return retry_from(p, p->tail, pos, false) < 0 ? -EBADMSG : SHM_RETRY;
}

static __attribute__((noinline)) int put_retry(struct shm_priv *p, const void *msg, size_t len,
					       _Atomic uint64_t *in, uint64_t pos)
{
	int ret = SHM_RETRY;

	for (unsigned tries = 1; ret == SHM_RETRY && tries < SHM_TRIES; tries++)
		ret = put_round(p, msg, len, in, &pos);
	return ret == SHM_RETRY ? -EAGAIN : ret;
}

/*
 * One attempt to put: 0, -EAGAIN (full, or SHM_TRIES rounds lost) or
 * -EBADMSG.  The first round inline, the others (contention) out of line.
 */
static inline int try_put(struct shm_priv *p, const void *msg, size_t len)
{
	_Atomic uint64_t *in = intent_word(p);
	uint64_t pos = atomic_load_explicit(p->tail, memory_order_relaxed);
	int ret = put_round(p, msg, len, in, &pos);

	if (likely(ret != SHM_RETRY))
		return ret;
	return put_retry(p, msg, len, in, pos);
}

/* Gives the slot at @pos, read, back to the producers of its next lap. */
static inline void slot_free(struct shm_priv *p, struct shm_slot *s, uint64_t pos)
{
	/* release: the producer of the next lap sees our read done. */
	atomic_store_explicit(&s->seq, pos + p->mask + 1, memory_order_release);
	shm_wake(p, p->not_full);
}

/*
 * One round of a get at *@pos: the length, -EAGAIN (empty), -EBADMSG (a
 * damaged ring; a slot whose length is beyond msg_max is freed, its message
 * dropped), or SHM_RETRY with *@pos where to go on (also after skipping a
 * repaired hole).
 */
static inline __attribute__((always_inline)) ssize_t get_round(struct shm_priv *p, void *buf,
							       _Atomic uint64_t *in, uint64_t *pos)
{
	struct shm_slot *s = shm_slot(p, *pos);
	/* acquire: pairs with the producer's publish of this slot. */
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	int64_t dif = (int64_t)(seq - (*pos + 1));
	uint64_t len;

	if (likely(dif == 0)) {
		intend(in, *pos, SHM_OWN_GET);
		/* release: as in put_round(), for our intent */
		if (unlikely(!atomic_compare_exchange_weak_explicit(
			    p->head, pos, *pos + 1, memory_order_release, memory_order_relaxed)))
			return SHM_RETRY;
		atomic_store_explicit(&s->owner, owner_tag(*pos, SHM_OWN_GET),
				      memory_order_relaxed);
		len = atomic_load_explicit(&s->len, memory_order_relaxed);
		if (unlikely(len > p->msg_max)) {
			/* a dead producer's slot made a hole, or a length no producer wrote */
			slot_free(p, s, *pos);
			*pos = atomic_load_explicit(p->head, memory_order_relaxed);
			return len == SHM_HOLE ? SHM_RETRY : -EBADMSG; /* never overrun buf */
		}
		if (len) /* buf may be NULL when msg_max is 0 */
			memcpy(buf, s->data, len);
		slot_free(p, s, *pos);
		return (ssize_t)len;
	}
	if (likely(dif == -1 || dif == -(int64_t)(p->mask + 1)))
		return -EAGAIN; /* not published yet */
	/* another consumer was first (or the ring is damaged) */
	return retry_from(p, p->head, pos, true) < 0 ? -EBADMSG : SHM_RETRY;
}

static __attribute__((noinline)) ssize_t get_retry(struct shm_priv *p, void *buf,
						   _Atomic uint64_t *in, uint64_t pos)
{
	ssize_t ret = SHM_RETRY;

	for (unsigned tries = 1; ret == SHM_RETRY && tries < SHM_TRIES; tries++)
		ret = get_round(p, buf, in, &pos);
	return ret == SHM_RETRY ? -EAGAIN : ret;
}

/*
 * One attempt to get: the length, -EAGAIN (empty, or SHM_TRIES rounds lost)
 * or -EBADMSG.  The first round inline, the others out of line.
 */
static inline ssize_t try_get(struct shm_priv *p, void *buf)
{
	_Atomic uint64_t *in = intent_word(p);
	uint64_t pos = atomic_load_explicit(p->head, memory_order_relaxed);
	ssize_t ret = get_round(p, buf, in, &pos);

	if (likely(ret != SHM_RETRY))
		return ret;
	return get_retry(p, buf, in, pos);
}

static ssize_t io_put(struct shm_priv *p, struct shm_io *io)
{
	return try_put(p, io->src, io->len);
}

static ssize_t io_get(struct shm_priv *p, struct shm_io *io)
{
	return try_get(p, io->dst);
}

/*
 * Fault the ends of the caller's buffer in before claiming a slot, to keep
 * the claim-publish window free of page faults (whole for one page or less).
 * Writes store back what they read: @b is the caller's output buffer.
 */
static inline void touch(const volatile unsigned char *b, size_t len)
{
	if (len) {
		(void)b[0];
		(void)b[len - 1];
	}
}

static inline void touch_w(volatile unsigned char *b, size_t len)
{
	if (len) {
		b[0] = b[0];
		b[len - 1] = b[len - 1];
	}
}

static int shm_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.src = msg, .len = len};
	int ret;

	touch(msg, len);
	ret = try_put(p, msg, len);
	if (likely(ret != -EAGAIN) || timeout_ns == IPCQ_NOWAIT)
		return ret;
	return (int)__ipcq_shm_wait_for(p, p->not_full, __ipcq_deadline(timeout_ns), io_put, &io);
}

static ssize_t shm_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.dst = buf};
	ssize_t ret;

	(void)cap; /* queue.c checked cap >= msg_max */
	touch_w(buf, p->msg_max);
	ret = try_get(p, buf);
	if (likely(ret != -EAGAIN) || timeout_ns == IPCQ_NOWAIT)
		return ret;
	return __ipcq_shm_wait_for(p, p->not_empty, __ipcq_deadline(timeout_ns), io_get, &io);
}

/* tail - head: head first, so the difference is never negative. */
static ssize_t shm_qsize(struct ipcq *q)
{
	struct shm_priv *p = shm_priv(q);
	uint64_t h = atomic_load_explicit(p->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(p->tail, memory_order_acquire);
	uint64_t n = t - h;

	if ((int64_t)n < 0)
		n = 0;
	return (ssize_t)(n > p->mask + 1 ? p->mask + 1 : n);
}

const struct ipcq_ops __ipcq_shm_ops = {
	.name = "shm",
	.priv_size = sizeof(struct shm_priv),
	.create = __ipcq_shm_create,
	.open = __ipcq_shm_open,
	.put = shm_put,
	.get = shm_get,
	.qsize = shm_qsize,
	.close = __ipcq_shm_close,
	.unlink = __ipcq_shm_unlink,
	.limits = __ipcq_shm_limits,
	.explain = __ipcq_shm_explain,
	.clean_named = __ipcq_shm_clean_named,
};
