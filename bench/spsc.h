/* SPDX-License-Identifier: MIT */
/*
 * The bare shm loop's ring: the textbook single-producer single-consumer
 * ring in shared memory that libipcq's shm backend is compared with.
 */
#ifndef BENCH_SPSC_H
#define BENCH_SPSC_H

#include <stddef.h>

struct spsc;

/* A ring of @slots (a power of two) messages of up to @size bytes, MAP_SHARED: 0 or -errno. */
int spsc_new(struct spsc **out, size_t size, unsigned slots);
void spsc_free(struct spsc *r);

/* The ring's mapping (page-aligned) and its length in *@len: for --mem-node. */
void *spsc_mem(struct spsc *r, size_t *len);

/*
 * Busy-polls until there is room (or a message), with a sched_yield after
 * every @yield_after polls (1 when both sides share one CPU); never sleeps,
 * never times out: the parent kills a worker whose peer died.
 */
void spsc_put(struct spsc *r, const void *m, size_t len, unsigned yield_after);
size_t spsc_get(struct spsc *r, void *buf, unsigned yield_after);

#endif /* BENCH_SPSC_H */
