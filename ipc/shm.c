/* SPDX-License-Identifier: MIT */
/*
 * shm: a bounded MPMC ring in shared memory (layout in shm_pvt.h).
 *
 * Fast path: claim a slot (or a batch) with one CAS (IPCQ_SP/IPCQ_SC: a
 * plain store; both: the SPSC ring of shm_spsc_pvt.h), copy, publish with
 * one release store and a read of the other side's sleeper flag (no fence:
 * a sleeper issues a membarrier before it sleeps, shm_wait.c): no system
 * call unless somebody sleeps.  The slow path (spin, sleep, wake, repair of the
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
#include <poll.h>
#include <string.h>
#include <sys/uio.h>

#include "shm_pvt.h"
#include "shm_spsc_pvt.h"

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

static inline void intend(_Atomic uint64_t *in, uint64_t pos, size_t k, unsigned role)
{
	if (likely(in != NULL))
		atomic_store_explicit(in, intent_of(pos, k, role), memory_order_relaxed);
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

/* Owner tags of the @k slots from @pos on, just claimed in @role. */
static inline void tag(struct shm_priv *p, uint64_t pos, size_t k, unsigned role)
{
	for (size_t i = 0; i < k; i++)
		atomic_store_explicit(&shm_slot(p, pos + i)->owner, owner_tag(pos + i, role),
				      memory_order_relaxed);
}

/*
 * IPCQ_SP, IPCQ_SC: the sole mover of @idx claims @k slots from @pos with
 * a plain store, no intent and no CAS.  Owner tags first, then the index
 * with release: a repairer that sees the index moved sees the tags too,
 * and a claimant killed before the index moved claimed nothing.
 */
static inline void claim_sole(struct shm_priv *p, _Atomic uint64_t *idx, uint64_t pos, size_t k,
			      unsigned role)
{
	tag(p, pos, k, role);
	atomic_store_explicit(idx, pos + k, memory_order_release);
}

/* A round of an attempt lost (or a hole skipped): go on from the index now. */
#define SHM_RETRY (-EINPROGRESS)

/*
 * One round of a put of up to @want (1..SHM_BATCH_MAX) messages at *@pos:
 * how many were put (>= 1), -EAGAIN (full), -EBADMSG, or SHM_RETRY with
 * *@pos where to go on.  A batch takes the free slots in a row from *@pos
 * with one CAS and wakes consumers once.  A producer killed by SIGKILL
 * between its claim and its publish leaves an intent (before the CAS) and
 * owner tags (after it) by which a waiter repairs the slots: see repair().
 * No system call and, with the messages' pages touched first, rarely a
 * page fault between claim and publish.
 */
static inline __attribute__((always_inline)) ssize_t put_round(struct shm_priv *p,
							       const struct iovec *m, size_t want,
							       _Atomic uint64_t *in, uint64_t *pos,
							       bool sole)
{
	struct shm_slot *s = shm_slot(p, *pos);
	/* acquire: the consumer that freed this slot is done reading it. */
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	int64_t dif = (int64_t)(seq - *pos);
	size_t k = 1, i;

	if (likely(dif == 0)) {
		while (k < want && atomic_load_explicit(&shm_slot(p, *pos + k)->seq,
							memory_order_acquire) == *pos + k)
			k++;
		if (sole) {
			claim_sole(p, p->tail, *pos, k, SHM_OWN_PUT);
		} else {
			intend(in, *pos, k, SHM_OWN_PUT);
			/*
			 * release: publishes our intent to whoever sees the new
			 * tail; the CAS only arbitrates ownership, seq orders
			 * data.  On failure *pos is the tail now.
			 */
			if (unlikely(!atomic_compare_exchange_weak_explicit(p->tail, pos, *pos + k,
									    memory_order_release,
									    memory_order_relaxed)))
				return SHM_RETRY;
			tag(p, *pos, k, SHM_OWN_PUT);
		}
		for (i = 0; i < k; i++) {
			s = shm_slot(p, *pos + i);
			atomic_store_explicit(&s->len, m[i].iov_len, memory_order_relaxed);
			if (m[i].iov_len) /* iov_base may be NULL then */
				memcpy(s->data, m[i].iov_base, m[i].iov_len);
			/* release: the consumer that acquires seq sees len and the payload. */
			atomic_store_explicit(&s->seq, *pos + i + 1, memory_order_release);
		}
		shm_wake(p, p->not_empty);
		return (ssize_t)k;
	}
	if (likely((uint64_t)(dif + (int64_t)(p->mask + 1)) <= 1))
		return -EAGAIN; /* the slot still holds the previous lap */
	if (sole)
		return -EBADMSG; /* nobody else moves tail: a seq no healthy ring shows */
	/* another producer was first (or the ring is damaged) */
	return retry_from(p, p->tail, pos, false) < 0 ? -EBADMSG : SHM_RETRY;
}

static __attribute__((noinline)) ssize_t put_retry(struct shm_priv *p, const struct iovec *m,
						   size_t want, _Atomic uint64_t *in, uint64_t pos)
{
	ssize_t ret = SHM_RETRY;

	for (unsigned tries = 1; ret == SHM_RETRY && tries < SHM_TRIES; tries++)
		ret = put_round(p, m, want, in, &pos, false);
	return ret == SHM_RETRY ? -EAGAIN : ret;
}

/*
 * One attempt to put up to @want messages: how many, -EAGAIN (full, or
 * SHM_TRIES rounds lost) or -EBADMSG.  The first round inline, the others
 * (contention) out of line.
 */
static inline __attribute__((always_inline)) ssize_t try_put(struct shm_priv *p,
							     const struct iovec *m, size_t want)
{
	_Atomic uint64_t *in;
	uint64_t pos;
	ssize_t ret;

	if (p->sp) {
		ret = shm_sole(p->tail_sole);
		if (unlikely(ret < 0))
			return ret;
		if (p->spsc)
			return spsc_put(p, m, want);
		pos = atomic_load_explicit(p->tail, memory_order_relaxed);
		return put_round(p, m, want, NULL, &pos, true); /* never SHM_RETRY */
	}
	in = intent_word(p);
	pos = atomic_load_explicit(p->tail, memory_order_relaxed);
	ret = put_round(p, m, want, in, &pos, false);
	if (likely(ret != SHM_RETRY))
		return ret;
	return put_retry(p, m, want, in, pos);
}

/* Gives the slot at @pos, read, back to the producers of its next lap (wake them after). */
static inline void slot_free(struct shm_priv *p, struct shm_slot *s, uint64_t pos)
{
	/* release: the producer of the next lap sees our read done. */
	atomic_store_explicit(&s->seq, pos + p->mask + 1, memory_order_release);
}

/*
 * One round of a get of up to @want (1..SHM_BATCH_MAX) messages at *@pos
 * into @b[i] (iov_len set to each length): how many (>= 1), -EAGAIN
 * (empty), -EBADMSG (a damaged ring; a slot whose length is beyond
 * msg_max is freed, its message dropped), or SHM_RETRY with *@pos where to
 * go on (also after skipping repaired holes).  A batch takes the published
 * slots in a row with one CAS and wakes producers once; a bad length among
 * messages got is kept in p->pending for the next call.
 */
static inline __attribute__((always_inline)) ssize_t get_round(struct shm_priv *p, struct iovec *b,
							       size_t want, _Atomic uint64_t *in,
							       uint64_t *pos, bool sole)
{
	struct shm_slot *s = shm_slot(p, *pos);
	/* acquire: pairs with the producer's publish of this slot. */
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	int64_t dif = (int64_t)(seq - (*pos + 1));
	size_t k = 1, got = 0, i;
	uint64_t len;
	int bad = 0;

	if (likely(dif == 0)) {
		while (k < want && atomic_load_explicit(&shm_slot(p, *pos + k)->seq,
							memory_order_acquire) == *pos + k + 1)
			k++;
		if (sole) {
			claim_sole(p, p->head, *pos, k, SHM_OWN_GET);
		} else {
			intend(in, *pos, k, SHM_OWN_GET);
			/* release: as in put_round(), for our intent */
			if (unlikely(!atomic_compare_exchange_weak_explicit(p->head, pos, *pos + k,
									    memory_order_release,
									    memory_order_relaxed)))
				return SHM_RETRY;
			tag(p, *pos, k, SHM_OWN_GET);
		}
		for (i = 0; i < k; i++) {
			s = shm_slot(p, *pos + i);
			len = atomic_load_explicit(&s->len, memory_order_relaxed);
			if (unlikely(len > p->msg_max)) {
				/* a dead producer's hole, or a length no producer wrote */
				if (len != SHM_HOLE)
					bad = -EBADMSG; /* never overrun a buffer */
				slot_free(p, s, *pos + i);
				continue;
			}
			if (len) /* iov_base may be NULL when msg_max is 0 */
				memcpy(b[got].iov_base, s->data, len);
			b[got++].iov_len = (size_t)len;
			slot_free(p, s, *pos + i);
		}
		shm_wake(p, p->not_full);
		if (likely(got)) {
			if (unlikely(bad))
				atomic_store_explicit(&p->pending, bad, memory_order_relaxed);
			return (ssize_t)got;
		}
		*pos = atomic_load_explicit(p->head, memory_order_relaxed);
		return bad ? bad : SHM_RETRY;
	}
	if (likely(dif == -1 || dif == -(int64_t)(p->mask + 1)))
		return -EAGAIN; /* not published yet */
	if (sole)
		return -EBADMSG; /* nobody else moves head: a seq no healthy ring shows */
	/* another consumer was first (or the ring is damaged) */
	return retry_from(p, p->head, pos, true) < 0 ? -EBADMSG : SHM_RETRY;
}

static __attribute__((noinline)) ssize_t get_retry(struct shm_priv *p, struct iovec *b, size_t want,
						   _Atomic uint64_t *in, uint64_t pos, bool sole)
{
	ssize_t ret = SHM_RETRY;

	for (unsigned tries = 1; ret == SHM_RETRY && tries < SHM_TRIES; tries++)
		ret = sole ? get_round(p, b, want, NULL, &pos, true)
			   : get_round(p, b, want, in, &pos, false);
	return ret == SHM_RETRY ? -EAGAIN : ret;
}

/*
 * One attempt to get up to @want messages: how many, -EAGAIN (empty, or
 * SHM_TRIES rounds lost) or -EBADMSG.  The first round inline, the others
 * out of line.
 */
static inline __attribute__((always_inline)) ssize_t try_get(struct shm_priv *p, struct iovec *b,
							     size_t want)
{
	_Atomic uint64_t *in = NULL;
	uint64_t pos;
	ssize_t ret;

	if (p->sc) {
		ret = shm_sole(p->head_sole);
		if (unlikely(ret < 0))
			return ret;
		if (p->spsc)
			return spsc_get(p, b, want);
		pos = atomic_load_explicit(p->head, memory_order_relaxed);
		ret = get_round(p, b, want, NULL, &pos, true);
	} else {
		in = intent_word(p);
		pos = atomic_load_explicit(p->head, memory_order_relaxed);
		ret = get_round(p, b, want, in, &pos, false);
	}
	if (likely(ret != SHM_RETRY))
		return ret;
	return get_retry(p, b, want, in, pos, p->sc); /* contention, or holes skipped */
}

static inline size_t batch_want(size_t n)
{
	return n < SHM_BATCH_MAX ? n : SHM_BATCH_MAX;
}

static ssize_t io_put_one(struct shm_priv *p, struct shm_io *io)
{
	struct iovec m = {.iov_base = (void *)io->src, .iov_len = io->len};

	return try_put(p, &m, 1);
}

static ssize_t io_get_one(struct shm_priv *p, struct shm_io *io)
{
	struct iovec b = {.iov_base = io->dst};
	ssize_t ret = try_get(p, &b, 1);

	return ret == 1 ? (ssize_t)b.iov_len : ret;
}

static ssize_t io_put_many(struct shm_priv *p, struct shm_io *io)
{
	return try_put(p, io->msgs, batch_want(io->n));
}

static ssize_t io_get_many(struct shm_priv *p, struct shm_io *io)
{
	return try_get(p, io->bufs, batch_want(io->n));
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

/*
 * A call that found the queue full (empty) and was polling the doorbell:
 * the doorbell settles (drained, armed again).  Returns @ret.
 */
static __attribute__((noinline)) ssize_t settle(struct shm_priv *p, struct shm_wait *w, ssize_t ret)
{
	if ((ret == -EAGAIN || ret == -ETIMEDOUT) &&
	    atomic_load_explicit(&p->polled[w == p->not_full], memory_order_relaxed))
		__ipcq_shm_bell_arm(p, w);
	return ret;
}

/* The slow path of every call: wait, if asked to, and settle the doorbell. */
static ssize_t wait_or_settle(struct shm_priv *p, struct shm_wait *w, int64_t timeout_ns, shm_op op,
			      struct shm_io *io)
{
	ssize_t ret = -EAGAIN;

	if (timeout_ns != IPCQ_NOWAIT)
		ret = __ipcq_shm_wait_for(p, w, __ipcq_deadline(timeout_ns), op, io);
	return settle(p, w, ret);
}

static int shm_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.src = msg, .len = len};
	ssize_t ret;

	touch(msg, len);
	ret = io_put_one(p, &io);
	if (unlikely(ret == -EAGAIN))
		ret = wait_or_settle(p, p->not_full, timeout_ns, io_put_one, &io);
	return ret < 0 ? (int)ret : 0;
}

/* A bad length met inside an earlier batch, reported once. */
static inline int take_pending(struct shm_priv *p)
{
	return atomic_exchange_explicit(&p->pending, 0, memory_order_relaxed);
}

static ssize_t shm_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.dst = buf};
	ssize_t ret;

	(void)cap; /* queue.c checked cap >= msg_max */
	if (unlikely(atomic_load_explicit(&p->pending, memory_order_relaxed)) &&
	    (ret = take_pending(p)) < 0)
		return ret;
	touch_w(buf, p->msg_max);
	ret = io_get_one(p, &io);
	if (unlikely(ret == -EAGAIN))
		ret = wait_or_settle(p, p->not_empty, timeout_ns, io_get_one, &io);
	return ret;
}

/*
 * Batches: the first claim waits as a put would, the next ones (a batch
 * over SHM_BATCH_MAX, or one that met a claim of another producer) only
 * take what is free.  An error after the first claim ends the batch.
 */
static ssize_t shm_put_many(struct ipcq *q, const struct iovec *msgs, size_t n, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.msgs = msgs, .n = n};
	ssize_t ret;
	size_t done;

	for (size_t i = 0; i < n; i++)
		touch(msgs[i].iov_base, msgs[i].iov_len);
	ret = io_put_many(p, &io);
	if (ret == -EAGAIN)
		ret = wait_or_settle(p, p->not_full, timeout_ns, io_put_many, &io);
	if (ret < 0)
		return ret;
	for (done = (size_t)ret; done < n; done += (size_t)ret) {
		ret = try_put(p, msgs + done, batch_want(n - done));
		if (ret < 0)
			break;
	}
	return (ssize_t)done;
}

static ssize_t shm_get_many(struct ipcq *q, struct iovec *bufs, size_t n, int64_t timeout_ns)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_io io = {.bufs = bufs, .n = n};
	ssize_t ret;
	size_t done;

	if (unlikely(atomic_load_explicit(&p->pending, memory_order_relaxed)) &&
	    (ret = take_pending(p)) < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		touch_w(bufs[i].iov_base, p->msg_max);
	ret = io_get_many(p, &io);
	if (ret == -EAGAIN)
		ret = wait_or_settle(p, p->not_empty, timeout_ns, io_get_many, &io);
	if (ret < 0)
		return ret;
	for (done = (size_t)ret;
	     done < n && !atomic_load_explicit(&p->pending, memory_order_relaxed);
	     done += (size_t)ret) {
		ret = try_get(p, bufs + done, batch_want(n - done));
		if (ret < 0)
			break;
	}
	return (ssize_t)done;
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

/* ipcq_fd(): the doorbell of the side asked for, armed (anonymous rings only). */
static int shm_fd(struct ipcq *q, short events)
{
	struct shm_priv *p = shm_priv(q);

	return __ipcq_shm_bell_arm(p, events == POLLIN ? p->not_empty : p->not_full);
}

const struct ipcq_ops __ipcq_shm_ops = {
	.name = "shm",
	.priv_size = sizeof(struct shm_priv),
	.create = __ipcq_shm_create,
	.open = __ipcq_shm_open,
	.put = shm_put,
	.get = shm_get,
	.put_many = shm_put_many,
	.get_many = shm_get_many,
	.fd = shm_fd,
	.qsize = shm_qsize,
	.close = __ipcq_shm_close,
	.unlink = __ipcq_shm_unlink,
	.limits = __ipcq_shm_limits,
	.explain = __ipcq_shm_explain,
	.clean_named = __ipcq_shm_clean_named,
};
