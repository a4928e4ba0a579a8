/* SPDX-License-Identifier: MIT */
/*
 * shm: a bounded MPMC ring in shared memory (layout in shm_pvt.h).
 *
 * Fast path: claim a slot with one CAS, copy, publish with one release store,
 * one fence and a read of the other side's sleeper flag: no system call
 * unless somebody sleeps.  Slow path: spin a few microseconds, then sleep on
 * a shared futex in slices of at most SHM_SLICE_NS, so that a missed wake-up
 * or a dead peer never holds a caller past its timeout.  A slot left claimed
 * but unfinished by a process killed by SIGKILL is repaired by a waiter once
 * its claimant is certainly dead (repair()).
 *
 * Anonymous queues live in a memfd, sealed against resizing and closed once
 * mapped: the ring reaches children through fork() and vanishes with the
 * last mapping, also when its processes die by SIGKILL.  Named queues are
 * /dev/shm/ipcq.s.<name>, opened only when the file is the caller's alone.
 *
 * The ring's words are shared with every process of the user, so none of
 * them is trusted: a state no healthy interleaving produces (a seq from the
 * future or the past, a length beyond msg_max, head and tail further apart
 * than the ring) makes the call fail with -EBADMSG (seq_live()), every loop
 * is bounded, timeouts hold whatever the ring holds, and indices are masked
 * and pids only passed to kill(0) and /proc.  What cannot be caught: a
 * peer that shrinks a named ring's file (shm_open_q()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm_pvt.h"

#define SHM_PREFIX	  "/ipcq.s."
#define SHM_DEFAULT_SLOTS 1024u
#define SHM_DEFAULT_BYTES (16u << 20) /* capacity 0: at most this much ring */
/* spin before sleeping, see spin_for(); -DSHM_..._NS=... to experiment */
#ifndef SHM_SPIN_NS
#define SHM_SPIN_NS 20000
#endif
#define SHM_SLICE_NS	 50000000   /* longest single futex sleep */
#define SHM_OPEN_WAIT_NS 1000000000 /* ipcq_open() of a half-made queue */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Our pid, for the slots' owner tags, kept without a getpid() system call on
 * the fast path: set once, and again in every child of fork().
 */
static pid_t shm_self;
static pthread_once_t shm_self_once = PTHREAD_ONCE_INIT;

static void self_update(void)
{
	shm_self = getpid();
}

static void self_init(void)
{
	self_update();
	pthread_atfork(NULL, NULL, self_update);
}

static inline uint64_t owner_tag(uint64_t pos, unsigned role)
{
	return (uint64_t)(uint32_t)shm_self << 32 | (uint32_t)(pos << 2 | role);
}

/*
 * Intent records (shm_pvt.h).  Each thread gets an index once, the same in
 * every ring; each process registers once per handle (again after fork()).
 */
static _Atomic int shm_nthreads;
static __thread int shm_tidx __attribute__((tls_model("initial-exec"))) = -1;

static bool pid_dead(pid_t pid);

/* Does one of @r's intents name a claim still unfinished?  repair() needs it. */
static bool rec_pending(struct shm_priv *p, struct shm_rec *r)
{
	for (int t = 0; t < SHM_REC_THREADS; t++) {
		uint64_t in = atomic_load_explicit(&r->intent[t], memory_order_relaxed);
		uint64_t pos = in >> 1, seq;
		_Atomic uint64_t *idx = (in & 1) ? p->head : p->tail;

		if (in == UINT64_MAX)
			continue;
		seq = atomic_load_explicit(&shm_slot(p, pos)->seq, memory_order_acquire);
		if (seq == pos + (in & 1) &&
		    (int64_t)(atomic_load_explicit(idx, memory_order_acquire) - pos) > 0)
			return true;
	}
	return false;
}

static __attribute__((noinline)) _Atomic uint64_t *intent_slow(struct shm_priv *p)
{
	struct shm_rec *recs = shm_map(p)->recs, *r = NULL;

	if (shm_tidx < 0)
		shm_tidx = atomic_fetch_add_explicit(&shm_nthreads, 1, memory_order_relaxed);
	if (atomic_load_explicit(&p->rec_pid, memory_order_acquire) != shm_self) {
		for (int i = 0; i < SHM_RECS && !r; i++) {
			uint64_t pid = atomic_load_explicit(&recs[i].pid, memory_order_relaxed);

			/* a dead process's record is free again, unless it is evidence */
			if ((pid == 0 || (pid_dead((pid_t)pid) && !rec_pending(p, &recs[i]))) &&
			    atomic_compare_exchange_strong_explicit(
				    &recs[i].pid, &pid, (uint64_t)shm_self, memory_order_acq_rel,
				    memory_order_relaxed))
				r = &recs[i];
		}
		if (!r) {
			/* remember the failure: no rescans on every put */
			atomic_store_explicit(&p->hdr->norec, 1, memory_order_seq_cst);
			atomic_store_explicit(&p->rec, NULL, memory_order_relaxed);
			atomic_store_explicit(&p->rec_pid, shm_self, memory_order_release);
			return NULL;
		}
		for (int t = 0; t < SHM_REC_THREADS; t++)
			atomic_store_explicit(&r->intent[t], UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&p->rec, r, memory_order_relaxed);
		atomic_store_explicit(&p->rec_pid, shm_self, memory_order_release);
	}
	if (shm_tidx >= SHM_REC_THREADS) {
		if (!atomic_load_explicit(&p->hdr->norec, memory_order_relaxed))
			atomic_store_explicit(&p->hdr->norec, 1, memory_order_seq_cst);
		return NULL;
	}
	r = atomic_load_explicit(&p->rec, memory_order_relaxed);
	return r ? &r->intent[shm_tidx] : NULL;
}

/* This thread's intent word in this ring, or NULL (then repairs of gaps stop). */
static inline _Atomic uint64_t *intent_word(struct shm_priv *p)
{
	int t = shm_tidx;

	if (likely(atomic_load_explicit(&p->rec_pid, memory_order_acquire) == shm_self)) {
		struct shm_rec *r = atomic_load_explicit(&p->rec, memory_order_relaxed);

		if (likely(r && t >= 0 && t < SHM_REC_THREADS))
			return &r->intent[t];
		if (!r || t >= SHM_REC_THREADS)
			return NULL; /* no record for us: norec is set */
	}
	return intent_slow(p);
}

static inline void intend(_Atomic uint64_t *in, uint64_t pos, unsigned role)
{
	if (likely(in != NULL))
		atomic_store_explicit(in, pos << 1 | role, memory_order_relaxed);
}

/* Futexes: shared, never FUTEX_PRIVATE_FLAG, since processes share the word. */
static long futex_wait(struct shm_priv *p, _Atomic uint32_t *w, uint32_t val, int64_t ns)
{
	atomic_fetch_add_explicit(&p->futex_calls, 1, memory_order_relaxed);
	return __ipcq_futex_wait(w, val, ns);
}

static void futex_wake_all(struct shm_priv *p, _Atomic uint32_t *w)
{
	atomic_fetch_add_explicit(&p->futex_calls, 1, memory_order_relaxed);
	__ipcq_futex_wake_all(w);
}

static __attribute__((noinline)) void wake_slow(struct shm_priv *p, struct shm_wait *w)
{
	int cpu;

	/* Only the waker that clears the flag bumps and wakes: one syscall. */
	if (atomic_exchange_explicit(&w->flag, 0, memory_order_acq_rel) == 0)
		return;
	cpu = sched_getcpu();
	/* for the sleeper's learn_peer(); 0: unknown */
	atomic_store_explicit(&w->waker_cpu, cpu >= 0 ? (uint32_t)cpu + 1 : 0,
			      memory_order_relaxed);
	/* release: a sleeper that reads the new seq also sees our publish. */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	futex_wake_all(p, &w->seq);
}

/*
 * After publishing (a slot for consumers, or a free slot for producers):
 * wake the other side if it sleeps.  The seq_cst fence orders our publish
 * before the read of the flag (store->load, which even x86 reorders); the
 * sleeper has the twin fence between setting the flag and re-checking the
 * ring, so either it sees our publish or we see its flag (Dekker).
 */
static inline void shm_wake(struct shm_priv *p, struct shm_wait *w)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (unlikely(atomic_load_explicit(&w->flag, memory_order_relaxed)))
		wake_slow(p, w);
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

/* In the waits only: head and tail out of each other's reach. */
static int idx_check(struct shm_priv *p)
{
	uint64_t h = atomic_load_explicit(p->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(p->tail, memory_order_acquire);
	uint64_t h2 = atomic_load_explicit(p->head, memory_order_acquire);

	if ((int64_t)(t - h) < 0 || (int64_t)(t - h2) > (int64_t)(p->mask + 1))
		return -EBADMSG;
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

/*
 * True when @pid (read from the shared ring: any value) is certainly gone or
 * a zombie: it will never finish a slot.  Never for ourselves (our pid
 * without a getpid() call) nor for what is no pid: a repair must never
 * overtake a live process, so what we cannot tell counts as alive.
 */
static bool pid_dead(pid_t pid)
{
	return pid > 0 && pid != shm_self && !__ipcq_proc_alive(pid, 0);
}

/*
 * Who claimed @pos in @role and never finished?  With an owner tag for this
 * very claim: its pid.  Without (the claimant died right after its CAS):
 * the intent records, where a live claimant always shows.  True only when
 * the claimant is certainly dead.
 */
static bool claimant_dead(struct shm_priv *p, uint64_t pos, unsigned role, uint64_t own)
{
	struct shm_rec *recs = shm_map(p)->recs;
	unsigned orole = own & 3;
	bool dead = false;

	if (((uint32_t)own & ~3u) == (uint32_t)(pos << 2) &&
	    (orole == role || (role == SHM_OWN_PUT && orole == SHM_OWN_FIX)))
		return pid_dead((pid_t)(own >> 32));
	if (atomic_load_explicit(&p->hdr->norec, memory_order_seq_cst))
		return false; /* someone claims without a record: cannot tell */
	for (int i = 0; i < SHM_RECS; i++) {
		uint64_t pid = atomic_load_explicit(&recs[i].pid, memory_order_acquire);
		bool has = false;

		if (pid == 0)
			continue;
		for (int t = 0; t < SHM_REC_THREADS && !has; t++)
			has = atomic_load_explicit(&recs[i].intent[t], memory_order_relaxed) ==
			      (pos << 1 | role);
		if (!has)
			continue;
		if (!pid_dead((pid_t)pid))
			return false; /* a live thread intends it: maybe the claimant */
		dead = true;
	}
	return dead;
}

/*
 * Called by a waiter: repairs the slot in its way when the process that
 * claimed it was killed before finishing (Vyukov's ring stalls on such a
 * slot for good).  Only when its claimant is certainly dead, so a slow but
 * live peer is never overtaken.  A dead producer's slot becomes a hole that
 * consumers skip (its message is lost with it); a dead consumer's is freed.
 */
static void repair(struct shm_priv *p, bool producer)
{
	uint64_t cap = p->mask + 1, pos, seq, own;
	_Atomic uint64_t *idx;
	struct shm_slot *s;
	unsigned role;

	/* acquire on the index: we then see the claimant's intent (its CAS released it) */
	if (producer)
		pos = atomic_load_explicit(p->tail, memory_order_acquire) - cap;
	else
		pos = atomic_load_explicit(p->head, memory_order_acquire);
	s = shm_slot(p, pos);
	seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (seq == pos) {
		role = SHM_OWN_PUT, idx = p->tail;
	} else if (seq == pos + 1 && producer) {
		role = SHM_OWN_GET, idx = p->head;
	} else {
		return;
	}
	if ((int64_t)(atomic_load_explicit(idx, memory_order_acquire) - pos) <= 0)
		return; /* nobody claimed it: plain empty or full */
	own = atomic_load_explicit(&s->owner, memory_order_relaxed);
	if (!claimant_dead(p, pos, role, own))
		return;
	if (role == SHM_OWN_GET) {
		/* the CAS alone decides: it fails if the consumer did free it */
		if (!atomic_compare_exchange_strong_explicit(
			    &s->seq, &seq, pos + cap, memory_order_release, memory_order_relaxed))
			return;
		atomic_fetch_add_explicit(&p->repairs, 1, memory_order_relaxed);
		shm_wake(p, p->not_full);
		return;
	}
	/* one repairer wins the owner word; it dies? the next takes over */
	if (!atomic_compare_exchange_strong_explicit(&s->owner, &own, owner_tag(pos, SHM_OWN_FIX),
						     memory_order_acq_rel, memory_order_relaxed))
		return;
	/* the dead producer may have published just before it died */
	if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos)
		return;
	atomic_store_explicit(&s->len, SHM_HOLE, memory_order_relaxed);
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	atomic_fetch_add_explicit(&p->repairs, 1, memory_order_relaxed);
	shm_wake(p, p->not_empty);
}

struct shm_io {
	const void *src;
	void *dst;
	size_t len;
};

static ssize_t io_put(struct shm_priv *p, struct shm_io *io)
{
	return try_put(p, io->src, io->len);
}

static ssize_t io_get(struct shm_priv *p, struct shm_io *io)
{
	return try_get(p, io->dst);
}

/*
 * Before a waiter sleeps, it spins: a futex sleep and a wake-up from another
 * CPU cost ~50 us on the 2-vCPU VM we measured on, a cross-core round trip
 * ~0.5 us; a 64 B ping-pong slept on 3% of its round trips with a 5 us spin,
 * on under 0.05% with 20 us.  But a spin only pays while the peer runs on
 * another CPU.  When both share one CPU (pinned there, or placed there by the
 * scheduler) the spinner only delays the one process that can make
 * progress: a 64 B ping-pong on one CPU took 44 us, each side spinning out
 * its 20 us before sleeping.  So each handle learns where its peer runs:
 * the waker writes its CPU next to the futex (wake_slow(), which runs only
 * when somebody sleeps), and a waiter woken by a process on its own CPU
 * counts one more; after SHM_LONE_AFTER such waits in a row it stops
 * spinning and sleeps at once.  A wake from another CPU, or a wait that a
 * spin served, ends the streak, so spinning resumes as soon as the peer
 * moves; so does a wake after which another waiter had taken the slot:
 * several producers (or consumers) on one CPU, woken together by every
 * slot freed, thrashed it (-35% at 4x1), where spinning first let them
 * wake in batches.  One-CPU results: 64 B round trip 44 -> 2.1 us (a pipe:
 * 2.2), 64 B 1x1 throughput +55%, but 4 KiB 1x1 and 2x2 -11% (a sleeper
 * that did not spin preempts its waker sooner: smaller batches).  The
 * streak lives in this handle (process-local): the fast path has no new
 * shared write and no system call; sched_getcpu() is read from rseq or the
 * vDSO, only after a sleep.
 *
 * Measured and not chosen: sched_yield() between polls (1.4 us a one-CPU
 * round trip, but with a CPU-bound task beside us each yield handed it a
 * whole time slice: 4 ms round trips, cross-core ones too); the CPU
 * affinity (a benchmark pins the two sides of a cross-core pair to one CPU
 * each, so "one CPU allowed" says nothing about the peer).
 * Returns @op's result, or -EAGAIN.
 */
static ssize_t spin_for(struct shm_priv *p, int64_t deadline,
			ssize_t (*op)(struct shm_priv *, struct shm_io *), struct shm_io *io)
{
	uint32_t lone = atomic_load_explicit(&p->lone, memory_order_relaxed);
	int64_t end = __ipcq_now_ns() + SHM_SPIN_NS;
	ssize_t ret;

	if (!p->spin || lone >= SHM_LONE_AFTER)
		return -EAGAIN;
	if (deadline >= 0 && deadline < end)
		end = deadline;
	for (unsigned i = 1;; i++) {
		__ipcq_cpu_relax();
		ret = op(p, io);
		if (ret != -EAGAIN) {
			if (lone) /* threads of a process may race here: harmless */
				atomic_store_explicit(&p->lone, 0, memory_order_relaxed);
			return ret;
		}
		if (!(i & 31) && __ipcq_now_ns() >= end)
			return -EAGAIN;
	}
}

/* After a wait that slept: did the process that woke us run on our CPU? */
static void learn_peer(struct shm_priv *p, struct shm_wait *w)
{
	uint32_t waker = atomic_load_explicit(&w->waker_cpu, memory_order_relaxed);
	uint32_t lone = atomic_load_explicit(&p->lone, memory_order_relaxed);
	int cpu = sched_getcpu();

	if (waker == 0 || cpu < 0)
		return; /* unknown */
	if (waker == (uint32_t)cpu + 1) {
		if (lone < SHM_LONE_AFTER)
			atomic_store_explicit(&p->lone, lone + 1, memory_order_relaxed);
	} else if (lone) {
		atomic_store_explicit(&p->lone, 0, memory_order_relaxed);
	}
}

/*
 * Waits until @op succeeds or @deadline passes (-ETIMEDOUT; never earlier),
 * or fails (-EBADMSG: a damaged ring, also when only its indices show it).
 * Spins first (spin_for()), then sleeps on @w:
 *   read w->seq; set the flag; fence; re-try; FUTEX_WAIT(seq) for one slice.
 * seq is read BEFORE the flag is set: a waker that clears our flag bumps seq
 * afterwards, so our FUTEX_WAIT then fails at once instead of sleeping.
 */
static ssize_t wait_for(struct shm_priv *p, struct shm_wait *w, int64_t deadline,
			ssize_t (*op)(struct shm_priv *, struct shm_io *), struct shm_io *io)
{
	ssize_t ret = spin_for(p, deadline, op, io);
	bool woken = false;

	if (ret != -EAGAIN)
		return ret;
	for (;;) {
		uint32_t seq = atomic_load_explicit(&w->seq, memory_order_acquire);
		int64_t left;
		long r;

		atomic_store_explicit(&w->flag, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst); /* twin of shm_wake()'s */
		ret = op(p, io);
		if (ret != -EAGAIN) {
			if (woken)
				learn_peer(p, w);
			return ret;
		}
		/* woken, but another waiter was first: we are a herd, spin_for() */
		if (woken && atomic_load_explicit(&p->lone, memory_order_relaxed))
			atomic_store_explicit(&p->lone, 0, memory_order_relaxed);
		left = __ipcq_left_ns(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		/* a wild head or tail looks empty or full to op(): tell it here */
		ret = idx_check(p);
		if (ret < 0)
			return ret;
		repair(p, w == p->not_full);
		if (left < 0 || left > SHM_SLICE_NS)
			left = SHM_SLICE_NS;
		r = futex_wait(p, &w->seq, seq, left);
		/* EAGAIN (seq moved), EINTR, ETIMEDOUT (slice over): re-check. */
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return -errno;
		woken = r == 0 || errno == EAGAIN;
	}
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
	return (int)wait_for(p, p->not_full, __ipcq_deadline(timeout_ns), io_put, &io);
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
	return wait_for(p, p->not_empty, __ipcq_deadline(timeout_ns), io_get, &io);
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

/* Setup ----------------------------------------------------------------- */

static uint64_t pow2_up(uint64_t n)
{
	return n <= 2 ? 2 : UINT64_C(1) << (64 - __builtin_clzll(n - 1));
}

/* Slots for @want (0: the default), and the size of the mapping. */
static int ring_size(size_t msg_max, size_t want, uint64_t *cap, size_t *slot, size_t *map)
{
	size_t s;
	uint64_t c;

	/* Not even the smallest ring (2 slots) fits an off_t: ipcq.h's -EMSGSIZE. */
	if (msg_max > ((uint64_t)INT64_MAX - SHM_HDR_SIZE) / 2 - SHM_SLOT_HDR - SHM_LINE)
		return -EMSGSIZE;
	s = (SHM_SLOT_HDR + msg_max + SHM_LINE - 1) & ~(size_t)(SHM_LINE - 1);
	if (want == 0) {
		c = SHM_DEFAULT_SLOTS;
		while (c > 2 && c * s > SHM_DEFAULT_BYTES)
			c >>= 1;
	} else {
		if (want > SHM_MAX_SLOTS)
			return -EINVAL;
		c = pow2_up(want);
	}
	if (__builtin_mul_overflow(c, s, map) || __builtin_add_overflow(*map, SHM_HDR_SIZE, map) ||
	    *map > (size_t)INT64_MAX)
		return -EINVAL;
	*cap = c;
	*slot = s;
	return 0;
}

/* @h: the header, validated (hdr_ok()) or just written; never re-read from the ring. */
static void attach(struct ipcq *q, unsigned char *base, const struct shm_hdr *h)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_map *m = (struct shm_map *)base;

	p->base = base;
	p->hdr = &m->hdr;
	p->tail = &m->tail;
	p->head = &m->head;
	p->not_empty = &m->not_empty;
	p->not_full = &m->not_full;
	p->slots = m->slots;
	p->mask = h->capacity - 1;
	p->slot_size = h->slot_size;
	p->msg_max = h->msg_max;
	p->map_size = h->map_size;
	p->spin = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	pthread_once(&shm_self_once, self_init);
	q->capacity = h->capacity;
	q->msg_max = h->msg_max;
}

/* @seal: an anonymous ring's memfd, which nobody may resize once made. */
static int map_new(struct ipcq *q, int fd, size_t msg_max, size_t want, bool seal)
{
	struct statvfs sv;
	struct shm_hdr *h;
	unsigned char *base;
	uint64_t cap;
	size_t slot, map;
	int ret;

	ret = ring_size(msg_max, want, &cap, &slot, &map);
	if (ret < 0)
		return ret;
	/*
	 * /dev/shm's free space bounds every ring, anonymous ones too: a memfd
	 * has no size limit of its own, and fallocate() of more than the
	 * machine has would end in the OOM killer rather than in ENOMEM.
	 */
	if (statvfs("/dev/shm", &sv) == 0 && map / sv.f_frsize > sv.f_bavail)
		return -ENOSPC;
	if (ftruncate(fd, (off_t)map) < 0)
		return -errno;
	/* Allocate now: a full tmpfs fails here, not with SIGBUS in a put. */
	do
		ret = posix_fallocate(fd, 0, (off_t)map);
	while (ret == EINTR);
	if (ret)
		return -ret;
	/*
	 * A shrunk file raises SIGBUS in every process that then touches the
	 * lost pages; the seals make the anonymous ring's size final, even for
	 * someone who reaches its memfd (/proc/<pid>/map_files, a descriptor
	 * caught before our close).  Named rings: see shm_open_q().
	 */
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	h = (struct shm_hdr *)base;
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->hdr_size = SHM_HDR_SIZE;
	h->msg_max = msg_max;
	h->slot_size = slot;
	h->capacity = cap;
	h->map_size = map;
	attach(q, base, h);
	ring_init_slots(shm_priv(q), 0);
	/* release: an opener that sees ready sees the header and the slots. */
	atomic_store_explicit(&h->ready, 1, memory_order_release);
	return 0;
}

static int shm_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, SHM_PREFIX "%s", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int shm_look(const char *path)
{
	int fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int shm_remove(const char *path)
{
	return shm_unlink(path) < 0 ? -errno : 0;
}

/* Named rings: creator records and references (registry.c). */
static const struct ipcq_reg_ops shm_reg = {
	.backend = "shm",
	.sub = "shm",
	.kind = "shm ring",
	.path = shm_path,
	.look = shm_look,
	.remove = shm_remove,
	.unlink_foreign = true, /* as ever: the owner checks guard opens, not unlink */
};

struct shm_make {
	struct ipcq *q;
	const struct ipcq_opts *opts;
	int fd;
	bool mapped;
};

/* The named ring's file, made and mapped; its descriptor for the record's inode. */
static int shm_make_named(void *arg)
{
	char path[sizeof(SHM_PREFIX) + IPCQ_NAME_MAX];
	struct shm_make *m = arg;
	int ret = shm_path(path, sizeof(path), m->opts->name);

	if (ret < 0)
		return ret;
	m->fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return -errno;
	/* fchmod: exactly 0600 whatever the umask */
	ret = fchmod(m->fd, 0600) < 0 ? -errno : 0;
	if (!ret)
		ret = map_new(m->q, m->fd, m->opts->msg_max, m->opts->capacity, false);
	if (ret < 0) {
		shm_unlink(path);
		return ret;
	}
	m->mapped = true;
	return m->fd;
}

static int shm_create(struct ipcq *q, const struct ipcq_opts *opts)
{
	struct shm_make m = {.q = q, .opts = opts, .fd = -1};
	int fd, ret;

	shm_priv(q)->lock_fd = -1;
	if (opts->name) {
		ret = __ipcq_reg_create(&shm_reg, opts->name, shm_make_named, &m,
					&shm_priv(q)->lock_fd);
		if (m.fd >= 0)
			close(m.fd); /* the mapping keeps the memory */
		if (ret < 0 && m.mapped)
			munmap(shm_priv(q)->base, shm_priv(q)->map_size);
		return ret;
	}
	fd = memfd_create("ipcq.shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	ret = map_new(q, fd, opts->msg_max, opts->capacity, true);
	close(fd); /* the mapping keeps the memory */
	return ret;
}

/* The header must describe exactly a ring we could have made, of @size bytes. */
static bool hdr_ok(const struct shm_hdr *h, size_t size)
{
	uint64_t cap;
	size_t slot, map;

	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION || h->hdr_size != SHM_HDR_SIZE ||
	    h->capacity < 2 || (h->capacity & (h->capacity - 1)) || h->msg_max > SSIZE_MAX / 2)
		return false;
	if (ring_size(h->msg_max, h->capacity, &cap, &slot, &map) < 0)
		return false;
	return cap == h->capacity && slot == h->slot_size && map == h->map_size && map <= size;
}

static void nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Reads a named ring's header into @h and its file's status into @st, with
 * pread(), never through a mapping: a file shrunk meanwhile fails the open
 * instead of raising SIGBUS.  Returns 0, -EAGAIN while the header is not
 * ready (a creator between shm_open() and setting ready), -EACCES when the
 * file is not ours alone: another user's (root's included), or open to our
 * group or others, so that nobody else can have written it.
 */
static int hdr_read(int fd, struct shm_hdr *h, struct stat *st)
{
	ssize_t n;
	int ret = __ipcq_fd_ours(fd);

	if (ret < 0)
		return ret;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	do
		n = pread(fd, h, sizeof(*h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*h) || !atomic_load_explicit(&h->ready, memory_order_relaxed))
		return -EAGAIN;
	return 0;
}

/*
 * A same-user peer with write access can still shrink a named ring's file
 * after we mapped it (tmpfs files other than memfds cannot be sealed): each
 * process then gets SIGBUS at its next access beyond the new end, which a
 * library cannot turn into an error without a SIGBUS handler of its own.
 * What we check is that the file is ours and big enough when we map it.
 */
static int shm_open_q(struct ipcq *q, const char *name)
{
	char path[sizeof(SHM_PREFIX) + IPCQ_NAME_MAX];
	int64_t deadline = __ipcq_deadline(SHM_OPEN_WAIT_NS);
	unsigned char *base;
	struct shm_hdr h;
	struct stat st;
	bool seen = false;
	int fd, ret;

	shm_priv(q)->lock_fd = -1;
	ret = shm_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		ret = hdr_read(fd, &h, &st);
		if (ret == 0 && seen)
			break;
		if (ret == 0) {
			/*
			 * ready seen: pairs with the creator's release of it; then
			 * read the words written before it once more, after it
			 */
			atomic_thread_fence(memory_order_acquire);
			seen = true;
			continue;
		}
		if (ret != -EAGAIN)
			goto out;
		if (__ipcq_left_ns(deadline) == 0) {
			ret = -EINVAL; /* never finished: not a queue we can use */
			goto out;
		}
		nap_ms(1);
	}
	if (!hdr_ok(&h, (size_t)st.st_size)) {
		ret = -EINVAL;
		goto out;
	}
	/* MAP_POPULATE: no page faults later inside a put's claim window */
	base = mmap(NULL, h.map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	/*
	 * Nothing here reads the mapping (a file cut meanwhile would make it
	 * SIGBUS): the fence after the pread() that saw ready orders our later
	 * reads of the slots after it.
	 */
	attach(q, base, &h);
	/* this handle's reference; -ENOENT: a remover took the ring meanwhile */
	ret = __ipcq_reg_hold(&shm_reg, name, fd, &shm_priv(q)->lock_fd);
	if (ret < 0)
		munmap(base, h.map_size);
out:
	close(fd);
	return ret;
}

static int shm_close(struct ipcq *q)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_rec *r = atomic_load_explicit(&p->rec, memory_order_relaxed);

	/* our intent record, if this process registered one, is free again */
	if (r && atomic_load_explicit(&p->rec_pid, memory_order_relaxed) == shm_self) {
		for (int t = 0; t < SHM_REC_THREADS; t++)
			atomic_store_explicit(&r->intent[t], UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&r->pid, 0, memory_order_release);
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);

	return munmap(p->base, p->map_size) < 0 ? -errno : 0;
}

static int shm_unlink_q(const char *name)
{
	return __ipcq_reg_unlink(&shm_reg, name);
}

/* Named rings of dead creators that nobody holds (ipcq_clean_named()). */
static ssize_t shm_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	return __ipcq_reg_clean_named(&shm_reg, remove, fn, ctx);
}

/* ipcq_ext.h ------------------------------------------------------------ */

/* /dev/shm is the only bound: named rings live there, anonymous ones are checked against it. */
static ssize_t shm_limits(struct ipcq_limit *out, size_t n)
{
	struct statvfs sv;
	long long size = -1, avail = -1;

	if (statvfs("/dev/shm", &sv) == 0) {
		size = (long long)sv.f_blocks * (long long)sv.f_frsize;
		avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
	}
	if (n > 0)
		__ipcq_limit_set(&out[0], "/dev/shm size", size, "bytes", "all shm rings together",
				 "mount -o remount,size=NG /dev/shm");
	if (n > 1)
		__ipcq_limit_set(&out[1], "/dev/shm free", avail, "bytes",
				 "room left for new shm rings",
				 "mount -o remount,size=NG /dev/shm");
	return 2;
}

static int shm_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len)
{
	struct statvfs sv;
	uint64_t cap;
	size_t slot, map = 0;
	int n;

	if (err < 0)
		err = -err;
	if (err != ENOSPC && err != ENOMEM)
		return 0;
	if (ring_size(opts->msg_max, opts->capacity, &cap, &slot, &map) < 0)
		map = 0;
	if (statvfs("/dev/shm", &sv) < 0)
		n = snprintf(buf, len, "shm: a ring of %zu bytes did not fit in shared memory (%s)",
			     map, strerror(err));
	else
		n = snprintf(
			buf, len,
			"shm: a ring of %zu bytes did not fit: /dev/shm has %llu of %llu bytes "
			"free; raise it with: mount -o remount,size=NG /dev/shm",
			map, (unsigned long long)sv.f_bavail * sv.f_frsize,
			(unsigned long long)sv.f_blocks * sv.f_frsize);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)len - 1 : n;
}

const struct ipcq_ops __ipcq_shm_ops = {
	.name = "shm",
	.priv_size = sizeof(struct shm_priv),
	.create = shm_create,
	.open = shm_open_q,
	.put = shm_put,
	.get = shm_get,
	.qsize = shm_qsize,
	.close = shm_close,
	.unlink = shm_unlink_q,
	.limits = shm_limits,
	.explain = shm_explain,
	.clean_named = shm_clean_named,
};
