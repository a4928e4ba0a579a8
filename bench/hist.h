/* SPDX-License-Identifier: MIT */
/*
 * hist: a log-linear (HDR-style) latency histogram with bounded memory.
 * Values below 128 ns have a bucket each; above, every power of two is split
 * into 128 linear sub-buckets, so a bucket is at most 1/128 (0.8%) of its
 * value wide.  Values from 2^40 ns (18 minutes) up share the last bucket.
 * A plain struct with no pointers: it may live in a MAP_SHARED page and be
 * filled by one child while the parent reads it after the child ends.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP  40
#define HIST_NBUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t sum; /* exact, for the mean */
	uint64_t min;
	uint64_t max;
	uint64_t buckets[HIST_NBUCKETS];
};

void hist_init(struct hist *h);

/* The bucket index of value @v. */
static inline size_t hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (size_t)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e >= HIST_MAX_EXP)
		return HIST_NBUCKETS - 1;
	return HIST_SUB + (size_t)(e - HIST_SUB_BITS) * HIST_SUB +
	       (size_t)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Records one value; inline because it sits in the timed loop. */
static inline void hist_add(struct hist *h, uint64_t v)
{
	h->buckets[hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* The largest value bucket @i holds (inclusive upper bound). */
uint64_t hist_bucket_upper(size_t i);

/* Adds every value of @src into @dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The value below or at which @pct percent (0..100) of the values lie: the
 * upper bound of the bucket holding that rank, clamped to [min, max].
 * 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct hist *h, double pct);

/* The exact mean; 0 for an empty histogram. */
double hist_mean(const struct hist *h);

#endif /* BENCH_HIST_H */
