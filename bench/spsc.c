/* SPDX-License-Identifier: MIT */
/*
 * A minimal SPSC ring: free-running head and tail on their own cache lines,
 * each side keeping its own copy of the other's index on a line of its own,
 * so it reads the shared one only when its copy says full or empty.  No
 * futex, no timeout, no repair: the floor that a full MPMC queue is
 * measured against.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "spsc.h"
#include "work.h"

struct spsc {
	alignas(64) _Atomic uint64_t head; /* next slot to fill: the producer's */
	alignas(64) uint64_t tail_seen;	   /* the producer's copy of tail */
	alignas(64) _Atomic uint64_t tail; /* next slot to empty: the consumer's */
	alignas(64) uint64_t head_seen;	   /* the consumer's copy of head */
	alignas(64) size_t map_len, slot_len, mask;
	alignas(64) unsigned char slots[]; /* each: a size_t length, then the message */
};

int spsc_new(struct spsc **out, size_t size, unsigned slots)
{
	size_t slot_len = (sizeof(size_t) + size + 63) / 64 * 64;
	size_t len = sizeof(struct spsc) + slot_len * slots;
	struct spsc *r;

	if (!slots || (slots & (slots - 1)))
		return -EINVAL;
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return -errno;
	r->map_len = len;
	r->slot_len = slot_len;
	r->mask = slots - 1;
	*out = r;
	return 0;
}

void *spsc_mem(struct spsc *r, size_t *len)
{
	*len = r->map_len;
	return r;
}

void spsc_free(struct spsc *r)
{
	if (r)
		munmap(r, r->map_len);
}

void spsc_put(struct spsc *r, const void *m, size_t len, unsigned yield_after)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned char *s;
	unsigned n = 0;

	while (h - r->tail_seen > r->mask) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_seen > r->mask)
			work_relax(&n, yield_after);
	}
	s = r->slots + (h & r->mask) * r->slot_len;
	memcpy(s, &len, sizeof(len));
	memcpy(s + sizeof(len), m, len);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

size_t spsc_get(struct spsc *r, void *buf, unsigned yield_after)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	const unsigned char *s;
	unsigned n = 0;
	size_t len;

	while (t == r->head_seen) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (t == r->head_seen)
			work_relax(&n, yield_after);
	}
	s = r->slots + (t & r->mask) * r->slot_len;
	memcpy(&len, s, sizeof(len));
	if (len > r->slot_len - sizeof(len))
		len = r->slot_len - sizeof(len); /* never past the slot, whatever a peer wrote */
	memcpy(buf, s + sizeof(len), len);
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return len;
}
