/* SPDX-License-Identifier: MIT */
/*
 * The shm backend's slow path (shm.c has the fast one): spin a few
 * microseconds, then sleep on a shared futex in slices of at most
 * SHM_SLICE_NS, so that a missed wake-up or a dead peer never holds a caller
 * past its timeout; wake sleepers; register the intent records; and repair a
 * slot left claimed but unfinished by a process killed by SIGKILL, once its
 * claimant is certainly dead (repair()).  Pids read from the ring are only
 * passed to kill(0) and /proc.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_pvt.h"

/* spin before sleeping, see spin_for(); -DSHM_..._NS=... to experiment */
#ifndef SHM_SPIN_NS
#define SHM_SPIN_NS 20000
#endif
#define SHM_SLICE_NS 50000000 /* longest single futex sleep */

pid_t __ipcq_shm_self;
static pthread_once_t shm_self_once = PTHREAD_ONCE_INIT;

__thread pid_t __ipcq_shm_tid __attribute__((tls_model("initial-exec")));

static void self_update(void)
{
	__ipcq_shm_self = getpid();
	__ipcq_shm_tid = 0; /* the child's one thread has a tid of its own */
}

__attribute__((noinline)) pid_t __ipcq_shm_tid_slow(void)
{
	__ipcq_shm_tid = gettid();
	return __ipcq_shm_tid;
}

__attribute__((noinline)) int __ipcq_shm_sole_slow(_Atomic uint64_t *sole)
{
	uint64_t me = (uint64_t)shm_tid(), was = atomic_load_explicit(sole, memory_order_acquire);

	for (int tries = 0; tries < 8; tries++) {
		if (was == me)
			return 0;
		/* a tid read from the ring is any value: only kill(0) and /proc see it */
		if (was != 0 && was <= INT32_MAX && (pid_t)was != __ipcq_shm_self &&
		    __ipcq_proc_alive((pid_t)was, 0))
			return -EBUSY;
		if (was != 0 && (pid_t)was == __ipcq_shm_self && me != was)
			return -EBUSY; /* our main thread: alive, since we run */
		if (atomic_compare_exchange_strong_explicit(sole, &was, me, memory_order_acq_rel,
							    memory_order_acquire))
			return 0;
	}
	return -EBUSY;
}

bool __ipcq_shm_light, __ipcq_shm_heavy;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

/* shm_pvt.h, shm_wake(): can we make the heavy barrier, and skip the light one? */
static void barrier_init(void)
{
	long cmds = membarrier(MEMBARRIER_CMD_QUERY);
	long need = MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;

	__ipcq_shm_heavy = cmds >= 0 && (cmds & need) == need;
	/* again in a child of fork(): a new mm, whatever the kernel copies */
	__ipcq_shm_light =
		__ipcq_shm_heavy && membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

static void child_update(void)
{
	self_update();
	barrier_init();
}

static void self_init(void)
{
	self_update();
	barrier_init();
	pthread_atfork(NULL, NULL, child_update);
}

/*
 * Without the heavy barrier, we make every waker of @w fence from now on,
 * before our first sleep (a waker that had not seen it yet may miss us
 * once: the slice, SHM_SLICE_NS, bounds that).
 */
void __ipcq_shm_heavy_fence(struct shm_wait *w)
{
	if (!__ipcq_shm_heavy && !atomic_load_explicit(&w->fenced, memory_order_relaxed))
		atomic_store_explicit(&w->fenced, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (__ipcq_shm_heavy)
		membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}

void __ipcq_shm_self_init(void)
{
	pthread_once(&shm_self_once, self_init);
}

/*
 * Intent records (shm_pvt.h).  Each thread gets an index once, the same in
 * every ring; each process registers once per handle (again after fork()).
 */
static _Atomic int shm_nthreads;
__thread int __ipcq_shm_tidx __attribute__((tls_model("initial-exec"))) = -1;

/*
 * True when @pid (read from the shared ring: any value) is certainly gone or
 * a zombie: it will never finish a slot.  Never for ourselves (our pid
 * without a getpid() call) nor for what is no pid: a repair must never
 * overtake a live process, so what we cannot tell counts as alive.
 */
static bool pid_dead(pid_t pid)
{
	return pid > 0 && pid != __ipcq_shm_self && !__ipcq_proc_alive(pid, 0);
}

/* Does one of @r's intents name a claim still unfinished?  repair() needs it. */
static bool rec_pending(struct shm_priv *p, struct shm_rec *r)
{
	for (int t = 0; t < SHM_REC_THREADS; t++) {
		uint64_t in = atomic_load_explicit(&r->intent[t], memory_order_relaxed);
		_Atomic uint64_t *idx = (in & 1) ? p->head : p->tail;
		uint64_t now, pos, seq;

		if (in == UINT64_MAX)
			continue;
		now = atomic_load_explicit(idx, memory_order_acquire);
		pos = intent_pos(in, now);
		for (size_t k = 0; k < intent_count(in); k++, pos++) {
			seq = atomic_load_explicit(&shm_slot(p, pos)->seq, memory_order_acquire);
			if (seq == pos + (in & 1) && (int64_t)(now - pos) > 0)
				return true;
		}
	}
	return false;
}

__attribute__((noinline)) _Atomic uint64_t *__ipcq_shm_intent_slow(struct shm_priv *p)
{
	struct shm_rec *recs = shm_map(p)->recs, *r = NULL;

	if (__ipcq_shm_tidx < 0)
		__ipcq_shm_tidx = atomic_fetch_add_explicit(&shm_nthreads, 1, memory_order_relaxed);
	if (atomic_load_explicit(&p->rec_pid, memory_order_acquire) != __ipcq_shm_self) {
		for (int i = 0; i < SHM_RECS && !r; i++) {
			uint64_t pid = atomic_load_explicit(&recs[i].pid, memory_order_relaxed);

			/* a dead process's record is free again, unless it is evidence */
			if ((pid == 0 || (pid_dead((pid_t)pid) && !rec_pending(p, &recs[i]))) &&
			    atomic_compare_exchange_strong_explicit(
				    &recs[i].pid, &pid, (uint64_t)__ipcq_shm_self,
				    memory_order_acq_rel, memory_order_relaxed))
				r = &recs[i];
		}
		if (!r) {
			/* remember the failure: no rescans on every put */
			atomic_store_explicit(&p->hdr->norec, 1, memory_order_seq_cst);
			atomic_store_explicit(&p->rec, NULL, memory_order_relaxed);
			atomic_store_explicit(&p->rec_pid, __ipcq_shm_self, memory_order_release);
			return NULL;
		}
		for (int t = 0; t < SHM_REC_THREADS; t++)
			atomic_store_explicit(&r->intent[t], UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&p->rec, r, memory_order_relaxed);
		atomic_store_explicit(&p->rec_pid, __ipcq_shm_self, memory_order_release);
	}
	if (__ipcq_shm_tidx >= SHM_REC_THREADS) {
		if (!atomic_load_explicit(&p->hdr->norec, memory_order_relaxed))
			atomic_store_explicit(&p->hdr->norec, 1, memory_order_seq_cst);
		return NULL;
	}
	r = atomic_load_explicit(&p->rec, memory_order_relaxed);
	return r ? &r->intent[__ipcq_shm_tidx] : NULL;
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

static int bell_of(const struct shm_priv *p, const struct shm_wait *w)
{
	return p->bell[w == p->not_full];
}

/*
 * An eventfd polls readable while its counter is above 0 and writable
 * while it is below its maximum: the POLLIN bell rings by a write of 1 and
 * settles by a read; the POLLOUT bell the other way round, its counter at
 * the maximum while it is silent.  EAGAIN: it was so already.
 */
static void bell_move(int fd, bool up)
{
	uint64_t v = up ? 1 : 0;
	ssize_t r;

	if (fd < 0)
		return;
	do
		r = up ? write(fd, &v, sizeof(v)) : read(fd, &v, sizeof(v));
	while (r < 0 && errno == EINTR);
}

static void bell_ring(struct shm_priv *p, struct shm_wait *w)
{
	bell_move(bell_of(p, w), w == p->not_empty);
}

static void bell_settle(struct shm_priv *p, struct shm_wait *w)
{
	int fd = bell_of(p, w);
	uint64_t v = UINT64_MAX - 1;
	ssize_t r;

	if (w == p->not_empty) {
		bell_move(fd, false);
		return;
	}
	do /* from 0 (rung) to the maximum; EAGAIN: silent already */
		r = write(fd, &v, sizeof(v));
	while (r < 0 && errno == EINTR);
}

/* May a get (@w: not_empty) or a put (not_full) succeed now?  Reads, never claims. */
static bool ready(struct shm_priv *p, struct shm_wait *w)
{
	bool get = w == p->not_empty;
	uint64_t pos = atomic_load_explicit(get ? p->head : p->tail, memory_order_acquire);

	if (p->spsc) {
		uint64_t t = atomic_load_explicit(p->tail, memory_order_acquire);
		uint64_t h = atomic_load_explicit(p->head, memory_order_acquire);

		return get ? t != h : t - h <= p->mask;
	}

	return atomic_load_explicit(&shm_slot(p, pos)->seq, memory_order_acquire) == pos + get;
}

int __ipcq_shm_bell_arm(struct shm_priv *p, struct shm_wait *w)
{
	int fd = bell_of(p, w);

	if (fd < 0)
		return -ENOTSUP;
	atomic_store_explicit(&p->polled[w == p->not_full], true, memory_order_relaxed);
	/* settle first, then arm and look: a publish after our look rings again */
	bell_settle(p, w);
	atomic_fetch_or_explicit(&w->flag, SHM_POLLER, memory_order_seq_cst);
	__ipcq_shm_heavy_fence(w); /* the other half of shm_wake() */
	if (ready(p, w))
		bell_ring(p, w);
	return fd;
}

__attribute__((noinline)) void __ipcq_shm_wake_slow(struct shm_priv *p, struct shm_wait *w)
{
	uint32_t was;
	int cpu;

	/* Only the waker that clears the flag bumps and wakes: one syscall. */
	was = atomic_exchange_explicit(&w->flag, 0, memory_order_acq_rel);
	if (was & SHM_POLLER)
		bell_ring(p, w);
	if (!(was & ~SHM_POLLER))
		return; /* no sleeper (any other bit: a scribbled word, wake to be safe) */
	cpu = sched_getcpu();
	/* for the sleeper's learn_peer(); 0: unknown */
	atomic_store_explicit(&w->waker_cpu, cpu >= 0 ? (uint32_t)cpu + 1 : 0,
			      memory_order_relaxed);
	/* release: a sleeper that reads the new seq also sees our publish. */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	futex_wake_all(p, &w->seq);
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
			has = intent_covers(
				atomic_load_explicit(&recs[i].intent[t], memory_order_relaxed), pos,
				role);
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

/*
 * Before a waiter sleeps, it spins: a futex sleep and a wake-up from another
 * CPU cost ~50 us on the 2-vCPU VM we measured on, a cross-core round trip
 * ~0.5 us; a 64 B ping-pong slept on 3% of its round trips with a 5 us spin,
 * on under 0.05% with 20 us.  But a spin only pays while the peer runs on
 * another CPU.  When both share one CPU (pinned there, or placed there by the
 * scheduler) the spinner only delays the one process that can make
 * progress: a 64 B ping-pong on one CPU took 44 us, each side spinning out
 * its 20 us before sleeping.  So each handle learns where its peer runs:
 * the waker writes its CPU next to the futex (__ipcq_shm_wake_slow(), which runs only
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
static ssize_t spin_for(struct shm_priv *p, int64_t deadline, shm_op op, struct shm_io *io)
{
	uint32_t lone = atomic_load_explicit(&p->lone, memory_order_relaxed);
	int64_t end = 0, now;
	ssize_t ret;

	if (!p->spin || lone >= SHM_LONE_AFTER)
		return -EAGAIN;
	for (unsigned i = 1;; i++) {
		__ipcq_cpu_relax();
		ret = op(p, io);
		if (ret != -EAGAIN) {
			if (lone) /* threads of a process may race here: harmless */
				atomic_store_explicit(&p->lone, 0, memory_order_relaxed);
			return ret;
		}
		if (i & 31)
			continue;
		/*
		 * The clock only from the 32nd poll on: a stream whose consumer
		 * is a little faster than its producer finds the ring empty at
		 * nearly every get, and a clock read (29 ns on the VM we
		 * measured on) per wait was as much as the rest of the get.
		 */
		now = __ipcq_now_ns();
		if (!end) {
			end = now + SHM_SPIN_NS;
			if (deadline >= 0 && deadline < end)
				end = deadline;
		}
		if (now >= end)
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
ssize_t __ipcq_shm_wait_for(struct shm_priv *p, struct shm_wait *w, int64_t deadline, shm_op op,
			    struct shm_io *io)
{
	ssize_t ret = spin_for(p, deadline, op, io);
	bool woken = false;

	if (ret != -EAGAIN)
		return ret;
	for (;;) {
		uint32_t seq = atomic_load_explicit(&w->seq, memory_order_acquire);
		int64_t left;
		long r;

		atomic_fetch_or_explicit(&w->flag, SHM_SLEEPER, memory_order_relaxed);
		__ipcq_shm_heavy_fence(w); /* the other half of shm_wake() */
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
		if (!p->spsc) /* an spsc ring has no claims to repair */
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
