/* SPDX-License-Identifier: MIT */
/*
 * Private to the shm backend (ipc/shm.c) and its ring test: the layout of the
 * shared mapping and of the per-handle state.
 *
 * The mapping is struct shm_map: each region (SHM_REGION = one cache line
 * plus one guard line, so that the adjacent-line prefetcher never couples two
 * hot words) starts on its own SHM_REGION boundary, laid out by the compiler
 * and pinned by the _Static_asserts below (the offsets are the on-disk
 * layout of SHM_VERSION):
 *
 *   0     struct shm_hdr     written once by the creator, read-only after
 *   128   tail               producers' index (free-running u64), its sole producer
 *   256   head               consumers' index (free-running u64), its sole consumer
 *   384   not_empty          futex word, sleeper flag, waker's CPU: consumers sleep here
 *   512   not_full           futex word, sleeper flag, waker's CPU: producers sleep here
 *   640   recs[SHM_RECS]     per process: pid + each thread's claim intent
 *   4736  slots[capacity]    each: seq, owner, len, payload; slot_size bytes
 *
 * The ring is Vyukov's bounded MPMC queue: slot i starts with seq = i; a
 * producer owns position pos when slots[pos & mask].seq == pos and it wins
 * the CAS tail: pos -> pos + 1; it publishes with seq = pos + 1.  A consumer
 * owns pos when seq == pos + 1 and it wins the CAS head: pos -> pos + 1; it
 * frees the slot with seq = pos + capacity.  Indices never wrap in practice
 * (2^64), and all comparisons are done on signed differences so they would.
 */
#ifndef IPCQ_SHM_PVT_H
#define IPCQ_SHM_PVT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "registry_pvt.h"

#define SHM_MAGIC   UINT64_C(0x69706371726e6731) /* "ipcqrng1" */
#define SHM_VERSION 4u
#define SHM_LINE    64u
#define SHM_REGION  128u /* a line and its guard line */

#define SHM_RECS 32 /* processes that may claim slots at once (more: no repair) */
#define SHM_REC_THREADS \
	15 /* threads per process that record intents: pid + 15 words fill a region */

#define SHM_SLOT_HDR   24u		   /* seq + owner + len before the payload */
#define SHM_HOLE       UINT64_MAX	   /* len of a slot repaired after its producer died */
#define SHM_MAX_SLOTS  (UINT64_C(1) << 28) /* owner tags tell laps apart */
#define SHM_LONE_AFTER 4u /* wakes in a row from a waiter's own CPU: it stops spinning */

struct shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size; /* offsetof(struct shm_map, slots) */
	uint64_t msg_max;
	uint64_t slot_size;	/* multiple of SHM_LINE, >= SHM_SLOT_HDR + msg_max */
	uint64_t capacity;	/* power of two, >= 2 */
	uint64_t map_size;	/* hdr_size + capacity * slot_size */
	_Atomic uint32_t ready; /* 1 once everything above and the slots are set */
	_Atomic uint32_t norec; /* sticky: a claimer had no intent record */
	uint32_t flags;		/* IPCQ_SP, IPCQ_SC: the ring's mode, fixed at create */
};

/*
 * A process's intent record (one SHM_REGION).  Before each claiming CAS a
 * thread stores intent_of(pos, k, role) in its own intent word: a claim of
 * the k slots from pos on (a batch: k <= SHM_BATCH_MAX); the CAS, with
 * release, publishes it.  This covers the instant between the CAS and the
 * owner tag: a claimed, unfinished slot with no matching owner tag is
 * repaired only when no live process's thread intends that claim and a dead
 * one does.  0 pid: free record; intents start at UINT64_MAX (none).
 */
#define SHM_BATCH_MAX 64u /* slots one claim takes at most */
#define SHM_IPOS_BITS 57  /* of a position in an intent word: 7 bits hold k - 1 and role */
#define SHM_IPOS_MASK ((UINT64_C(1) << SHM_IPOS_BITS) - 1)

static inline uint64_t intent_of(uint64_t pos, size_t k, unsigned role)
{
	return pos << 7 | (uint64_t)(k - 1) << 1 | role;
}

/* How many slots intent @in claims (1..SHM_BATCH_MAX), from its position intent_pos(). */
static inline size_t intent_count(uint64_t in)
{
	return (size_t)((in >> 1) & (SHM_BATCH_MAX - 1)) + 1;
}

/*
 * The full position of intent @in, near @idx (the index of its role now):
 * the intent word keeps the low SHM_IPOS_BITS bits only.
 */
static inline uint64_t intent_pos(uint64_t in, uint64_t idx)
{
	return idx - ((idx - (in >> 7)) & SHM_IPOS_MASK);
}

/* Does intent @in claim position @pos in @role?  UINT64_MAX: no intent. */
static inline bool intent_covers(uint64_t in, uint64_t pos, unsigned role)
{
	return in != UINT64_MAX && (in & 1) == role &&
	       ((pos - (in >> 7)) & SHM_IPOS_MASK) < intent_count(in);
}

struct shm_rec {
	alignas(SHM_REGION) _Atomic uint64_t pid;
	_Atomic uint64_t intent[SHM_REC_THREADS];
};

/*
 * A futex word and its flag: SHM_SLEEPER while somebody sleeps on seq,
 * SHM_POLLER while somebody polls the doorbell (ipcq_fd()); the fast path
 * reads the one word either way.  A waker that sees a bit clears the word;
 * for sleepers it notes its CPU, bumps seq and wakes everyone, for pollers
 * it rings the doorbell (an eventfd).  A sleeper
 * killed by SIGKILL leaves the flag set, which costs the next waker one
 * futex call, no more.  waker_cpu (1 + CPU, 0: unknown) is a hint: a woken
 * sleeper that finds its own CPU there stops spinning (shm.c: spin_for()).
 */
#define SHM_SLEEPER 1u
#define SHM_POLLER  2u

struct shm_wait {
	_Atomic uint32_t seq;
	_Atomic uint32_t flag;
	_Atomic uint32_t waker_cpu;
	_Atomic uint32_t fenced; /* sticky: every waker fences (see shm_wake()) */
};

/*
 * owner: who claimed the slot last, written right after the claiming CAS:
 * pid << 32 | (uint32_t)(pos << 2 | role).  A waiter that finds a slot
 * claimed but never finished, whose owner tag matches and whose pid is
 * dead, repairs it (shm.c: repair()).
 */
#define SHM_OWN_PUT 0u /* a producer claimed it */
#define SHM_OWN_GET 1u /* a consumer claimed it */
#define SHM_OWN_FIX 2u /* a waiter is turning a dead producer's claim into a hole */

struct shm_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t owner;
	_Atomic uint64_t len; /* relaxed everywhere: seq orders it */
	unsigned char data[];
};

/* The shared mapping; slots[] holds capacity slots of hdr.slot_size bytes. */
/*
 * Each index shares its region with, for a single-producer
 * (single-consumer) ring, the thread that alone moves it: its kernel tid,
 * 0 for none yet (shm_sole()).
 */
struct shm_map {
	struct shm_hdr hdr;
	alignas(SHM_REGION) _Atomic uint64_t tail;
	_Atomic uint64_t tail_sole;
	alignas(SHM_REGION) _Atomic uint64_t head;
	_Atomic uint64_t head_sole;
	alignas(SHM_REGION) struct shm_wait not_empty;
	alignas(SHM_REGION) struct shm_wait not_full;
	alignas(SHM_REGION) struct shm_rec recs[SHM_RECS];
	alignas(SHM_REGION) unsigned char slots[];
};

#define SHM_HDR_SIZE offsetof(struct shm_map, slots) /* the bytes before the slots */

/*
 * Each region fits its SHM_REGION (one more intent word would grow every
 * record and move the slots), and the offsets are those of SHM_VERSION: a
 * layout change must bump it, so that no old peer maps the new ring.
 */
_Static_assert(SHM_REGION % SHM_LINE == 0 && SHM_REGION >= 2 * SHM_LINE, "a line and its guard");
_Static_assert(sizeof(struct shm_hdr) <= SHM_REGION, "the header fits its region");
_Static_assert(sizeof(struct shm_wait) <= SHM_LINE, "a wait word fits one line");
_Static_assert(sizeof(struct shm_rec) == SHM_REGION, "an intent record is one region");
_Static_assert(SHM_SLOT_HDR == offsetof(struct shm_slot, data), "slot header size");
_Static_assert(offsetof(struct shm_map, tail) == 1 * SHM_REGION &&
		       offsetof(struct shm_map, head) == 2 * SHM_REGION &&
		       offsetof(struct shm_map, not_empty) == 3 * SHM_REGION &&
		       offsetof(struct shm_map, not_full) == 4 * SHM_REGION &&
		       offsetof(struct shm_map, recs) == 5 * SHM_REGION &&
		       offsetof(struct shm_map, slots) == 4736 && SHM_VERSION == 4,
	       "the layout of SHM_VERSION 4: bump it with any change");
_Static_assert(offsetof(struct shm_map, slots) <= UINT32_MAX, "hdr_size is 32 bits");

/* Per handle, in struct ipcq's priv[]: everything the hot path needs, local. */
struct shm_priv {
	unsigned char *base; /* the mapping: struct shm_map */
	_Atomic uint64_t *tail;
	_Atomic uint64_t *head;
	_Atomic uint64_t *tail_sole; /* IPCQ_SP: the producer thread's tid */
	_Atomic uint64_t *head_sole; /* IPCQ_SC: the consumer thread's tid */
	bool sp, sc;		     /* the ring's mode (hdr.flags) */
	bool spsc;		     /* both: the indices alone say full and empty (shm.c) */
	uint64_t head_seen;	     /* spsc: the producer's last look at head (a lower bound) */
	uint64_t tail_seen;	     /* spsc: the consumer's last look at tail */
	struct shm_wait *not_empty;
	struct shm_wait *not_full;
	unsigned char *slots;
	uint64_t mask;
	size_t slot_size;
	size_t msg_max;
	size_t map_size;
	int spin;		      /* 0 on a single CPU: spinning only delays the peer */
	_Atomic uint32_t lone;	      /* wakes in a row from this CPU (shm.c: spin_for()) */
	_Atomic uint64_t futex_calls; /* counted on the slow path, for tests */
	_Atomic uint64_t repairs;     /* slots this handle repaired after a dead peer */
	struct shm_rec *_Atomic rec;  /* this process's intent record */
	_Atomic int rec_pid;	      /* the process rec belongs to (fork: re-register) */
	struct shm_hdr *hdr;
	int lock_fd; /* named: its creator record, OFD read-locked (a handle); else -1 */
	int bell[2]; /* doorbells, eventfds: [0] get may succeed, [1] put may; -1: none */
	_Atomic bool polled[2]; /* ipcq_fd() asked for bell[i]: failed calls re-arm it */
	_Atomic int pending;	/* -EBADMSG met inside a batch that got messages: the next get's */
};

static inline struct shm_priv *shm_priv(struct ipcq *q)
{
	return (struct shm_priv *)q->priv;
}

static inline struct shm_slot *shm_slot(const struct shm_priv *p, uint64_t pos)
{
	return (struct shm_slot *)(p->slots + (size_t)(pos & p->mask) * p->slot_size);
}

static inline struct shm_map *shm_map(const struct shm_priv *p)
{
	return (struct shm_map *)p->base;
}

/*
 * Sets up an empty ring whose next position is @pos: slot pos + i gets seq
 * pos + i, head = tail = pos.  The creator's map_new() starts at 0; nobody
 * may use the ring meanwhile.
 */
static inline void ring_init_slots(struct shm_priv *p, uint64_t pos)
{
	for (uint64_t i = 0; i <= p->mask; i++)
		atomic_store(&shm_slot(p, pos + i)->seq, pos + i);
	atomic_store(p->head, pos);
	atomic_store(p->tail, pos);
}

/*
 * Test hook: moves an EMPTY, idle ring to start at position @pos (e.g. close
 * to UINT64_MAX to test the wrap of the indices).  Nobody may use the queue
 * meanwhile.
 */
static inline void shm_test_set_pos(struct shm_priv *p, uint64_t pos)
{
	ring_init_slots(p, pos);
}

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * The shm backend's files: shm.c (the data path and the ops table; the
 * IPCQ_SP|IPCQ_SC one in shm_spsc_pvt.h), shm_wait.c
 * (spinning, sleeping, waking, intent records and the repair of slots a
 * killed peer left) and shm_map.c (the mapping: create, open, close,
 * unlink, limits).  shm.c calls the other two, shm_map.c calls shm_wait.c,
 * nothing calls back.
 */

/* shm_wait.c ------------------------------------------------------------ */

/*
 * Our pid, for the slots' owner tags, kept without a getpid() system call on
 * the fast path: set by __ipcq_shm_self_init() (once, from attach), and again
 * in every child of fork().
 */
extern IPCQ_HIDDEN pid_t __ipcq_shm_self;
void __ipcq_shm_self_init(void);

/* This thread's kernel tid, 0 until __ipcq_shm_tid_slow() asked (and again after fork()). */
extern IPCQ_HIDDEN __thread pid_t __ipcq_shm_tid __attribute__((tls_model("initial-exec")));
pid_t __ipcq_shm_tid_slow(void);

static inline pid_t shm_tid(void)
{
	pid_t t = __ipcq_shm_tid;

	return likely(t) ? t : __ipcq_shm_tid_slow();
}

/*
 * IPCQ_SP/IPCQ_SC: makes this thread the sole mover of @sole's index, or
 * confirms it.  0, or -EBUSY while another live thread is (the first one
 * to call wins; a dead one's place is taken over).
 */
int __ipcq_shm_sole_slow(_Atomic uint64_t *sole);

static inline int shm_sole(_Atomic uint64_t *sole)
{
	if (likely(atomic_load_explicit(sole, memory_order_relaxed) == (uint64_t)shm_tid()))
		return 0;
	return __ipcq_shm_sole_slow(sole);
}

/* This thread's index among the intent words of every ring; -1: none yet. */
extern IPCQ_HIDDEN __thread int __ipcq_shm_tidx __attribute__((tls_model("initial-exec")));

static inline uint64_t owner_tag(uint64_t pos, unsigned role)
{
	return (uint64_t)(uint32_t)__ipcq_shm_self << 32 | (uint32_t)(pos << 2 | role);
}

/* Registers this process (and thread) in @p's intent records: its word, or NULL. */
_Atomic uint64_t *__ipcq_shm_intent_slow(struct shm_priv *p);

/* Wakes the sleepers of @w and rings its doorbell (shm_wake() found its flag set). */
void __ipcq_shm_wake_slow(struct shm_priv *p, struct shm_wait *w);

/*
 * The doorbell of @w (not_empty: POLLIN, not_full: POLLOUT): drains it,
 * arms it (SHM_POLLER), then rings it at once if a get (put) may succeed
 * already.  Returns the eventfd, or -ENOTSUP (the ring has none).
 */
int __ipcq_shm_bell_arm(struct shm_priv *p, struct shm_wait *w);

/*
 * The sleeper's check against the wakers' (Dekker): publish, then read the
 * sleeper flag, on the waker's side; set the flag, then re-check the ring,
 * on the sleeper's.  Each side needs its store ordered before its load
 * (store->load, which even x86 reorders), so that either the sleeper sees
 * the publish or the waker sees the flag.  A fence on both sides did it,
 * but the waker's fence on every message waits for its stores to the slot
 * to reach a line the other CPU holds: at 64 B it was half the time of a
 * message in a 1x1 stream.  So the heavy half is the sleeper's, which
 * sleeps only after its spin anyway: membarrier(MEMBARRIER_CMD_GLOBAL_
 * EXPEDITED) runs a full barrier on every CPU that runs a thread of a
 * process registered for it (each process that maps a ring registers,
 * __ipcq_shm_self_init()), and a waker of such a process needs only a
 * compiler barrier.  A process whose kernel (before 4.16) or seccomp
 * filter refuses membarrier() sets fenced before it first sleeps on a
 * ring's word: from then on every waker of it fences, as before.
 */
extern IPCQ_HIDDEN bool __ipcq_shm_light; /* registered: our wakers may skip the fence */
extern IPCQ_HIDDEN bool __ipcq_shm_heavy; /* our sleepers can make the heavy barrier */

/* The sleeper's (and a doorbell poller's) half: after setting @w's flag, before re-checking. */
void __ipcq_shm_heavy_fence(struct shm_wait *w);

/*
 * After publishing (a slot for consumers, or a free slot for producers):
 * wake the other side if it sleeps (or polls).
 */
static inline void shm_wake(struct shm_priv *p, struct shm_wait *w)
{
	if (likely(__ipcq_shm_light) &&
	    likely(!atomic_load_explicit(&w->fenced, memory_order_relaxed)))
		atomic_signal_fence(memory_order_seq_cst); /* the compiler's order only */
	else
		atomic_thread_fence(memory_order_seq_cst);
	if (unlikely(atomic_load_explicit(&w->flag, memory_order_relaxed)))
		__ipcq_shm_wake_slow(p, w);
}

/* One try of a put or a get, as the wait retries it. */
struct shm_io {
	const void *src;
	void *dst;
	size_t len;
	const struct iovec *msgs; /* a batch: its messages, or its buffers */
	struct iovec *bufs;
	size_t n;
};
typedef ssize_t (*shm_op)(struct shm_priv *p, struct shm_io *io);

/*
 * Waits until @op succeeds or @deadline passes (-ETIMEDOUT; never earlier),
 * or fails (-EBADMSG: a damaged ring, also when only its indices show it).
 */
ssize_t __ipcq_shm_wait_for(struct shm_priv *p, struct shm_wait *w, int64_t deadline, shm_op op,
			    struct shm_io *io);

/* shm_map.c: setup, and what ipcq_ext.h asks (the ops of the same names) - */

int __ipcq_shm_create(struct ipcq *q, const struct ipcq_opts *opts);
int __ipcq_shm_open(struct ipcq *q, const char *name);
int __ipcq_shm_close(struct ipcq *q);
int __ipcq_shm_unlink(const char *name);
ssize_t __ipcq_shm_clean_named(bool remove, ipcq_clean_fn fn, void *ctx);
ssize_t __ipcq_shm_limits(struct ipcq_limit *out, size_t n);
int __ipcq_shm_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len);

#endif /* IPCQ_SHM_PVT_H */
