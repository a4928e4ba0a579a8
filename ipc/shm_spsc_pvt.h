/* SPDX-License-Identifier: MIT */
/*
 * Private to ipc/shm.c: the data path of a ring made IPCQ_SP|IPCQ_SC, kept
 * inline beside the MPMC one that shm.c holds.
 */
#ifndef IPCQ_SHM_SPSC_PVT_H
#define IPCQ_SHM_SPSC_PVT_H

#include <errno.h>
#include <string.h>

#include "shm_pvt.h"

/*
 * IPCQ_SP|IPCQ_SC: the textbook single-producer single-consumer ring on the
 * same slots (rigtorp's SPSCQueue, our bare loop's spsc.c): the producer
 * writes slots and then tail, the consumer reads them and then head, each
 * with release, and each side looks at the other's index only when its own
 * copy (head_seen, tail_seen: lower bounds, indices only grow) says full or
 * empty.  No slot word is written by both sides, no seq, no claim: a side
 * killed mid-call moved no index, so there is nothing to repair (the next
 * producer writes the slots again; the next consumer reads the messages a
 * killed one had copied, which it never returned).  An index the other
 * side could not have written (behind ours, or more than the ring ahead)
 * is -EBADMSG; a length beyond msg_max is dropped as in get_round().
 */
static inline __attribute__((always_inline)) ssize_t spsc_put(struct shm_priv *p,
							      const struct iovec *m, size_t want)
{
	uint64_t pos = atomic_load_explicit(p->tail, memory_order_relaxed), cap = p->mask + 1;
	uint64_t room = cap - (pos - p->head_seen);
	size_t k;

	if (unlikely(room < want || room > cap)) {
		/* acquire: the consumer's reads of the slots it freed are done */
		p->head_seen = atomic_load_explicit(p->head, memory_order_acquire);
		room = cap - (pos - p->head_seen);
		if (unlikely(room > cap))
			return -EBADMSG;
		if (room == 0)
			return -EAGAIN;
	}
	k = want < room ? want : (size_t)room;
	for (size_t i = 0; i < k; i++) {
		struct shm_slot *s = shm_slot(p, pos + i);

		atomic_store_explicit(&s->len, m[i].iov_len, memory_order_relaxed);
		if (m[i].iov_len)
			memcpy(s->data, m[i].iov_base, m[i].iov_len);
	}
	/* release: the consumer that acquires tail sees the lengths and payloads */
	atomic_store_explicit(p->tail, pos + k, memory_order_release);
	shm_wake(p, p->not_empty);
	return (ssize_t)k;
}

static inline __attribute__((always_inline)) ssize_t spsc_get(struct shm_priv *p, struct iovec *b,
							      size_t want)
{
	uint64_t pos = atomic_load_explicit(p->head, memory_order_relaxed), cap = p->mask + 1;
	uint64_t avail = p->tail_seen - pos, len;
	size_t k, got = 0;
	int bad = 0;

	if (unlikely(avail < want || avail > cap)) {
		p->tail_seen = atomic_load_explicit(p->tail, memory_order_acquire);
		avail = p->tail_seen - pos;
		if (unlikely(avail > cap))
			return -EBADMSG;
		if (avail == 0)
			return -EAGAIN;
	}
	k = want < avail ? want : (size_t)avail;
	for (size_t i = 0; i < k; i++) {
		struct shm_slot *s = shm_slot(p, pos + i);

		len = atomic_load_explicit(&s->len, memory_order_relaxed);
		if (unlikely(len > p->msg_max)) {
			bad = -EBADMSG; /* never overrun a buffer */
			continue;
		}
		if (len)
			memcpy(b[got].iov_base, s->data, len);
		b[got++].iov_len = (size_t)len;
	}
	/* release: the producer that acquires head sees our reads done */
	atomic_store_explicit(p->head, pos + k, memory_order_release);
	shm_wake(p, p->not_full);
	if (unlikely(bad) && got)
		atomic_store_explicit(&p->pending, bad, memory_order_relaxed);
	return got ? (ssize_t)got : bad;
}

#endif /* IPCQ_SHM_SPSC_PVT_H */
