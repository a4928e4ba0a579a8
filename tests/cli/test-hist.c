/* SPDX-License-Identifier: MIT */
/* Unit test of bench/hist.c: bucket layout, resolution, percentiles, merge. */
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			failures++;                                          \
		}                                                            \
	} while (0)

static double rel_err(double got, double want)
{
	return got > want ? (got - want) / want : (want - got) / want;
}

static void test_layout(void)
{
	size_t i;
	uint64_t prev = 0;

	for (i = 0; i < HIST_SUB; i++)
		CHECK(hist_bucket(i) == i, "value %zu has bucket %zu", i, hist_bucket(i));
	for (i = 0; i + 1 < HIST_NBUCKETS; i++) {
		uint64_t up = hist_bucket_upper(i);

		CHECK(i == 0 || up > prev, "bucket %zu upper %llu not above %llu", i,
		      (unsigned long long)up, (unsigned long long)prev);
		CHECK(hist_bucket(up) == i, "upper bound of %zu lands in %zu", i, hist_bucket(up));
		CHECK(hist_bucket(up + 1) == i + 1, "upper+1 of %zu lands in %zu", i,
		      hist_bucket(up + 1));
		/* ~1% resolution: a bucket is at most 1/128 of its values wide. */
		if (i >= HIST_SUB)
			CHECK((double)(up - prev) / (double)up < 0.0079, "bucket %zu too wide", i);
		prev = up;
	}
	CHECK(hist_bucket(UINT64_MAX) == HIST_NBUCKETS - 1, "huge value not in last bucket");
	CHECK(sizeof(struct hist) < 64 * 1024, "histogram larger than 64 KiB");
}

static void test_percentiles(void)
{
	struct hist *h = malloc(sizeof(*h));
	uint64_t v;

	hist_init(h);
	CHECK(hist_percentile(h, 50) == 0 && hist_mean(h) == 0, "empty histogram not 0");
	for (v = 1; v <= 100000; v++)
		hist_add(h, v);
	CHECK(h->count == 100000, "count %llu", (unsigned long long)h->count);
	CHECK(h->min == 1 && h->max == 100000, "min/max %llu/%llu", (unsigned long long)h->min,
	      (unsigned long long)h->max);
	CHECK(hist_mean(h) == 50000.5, "mean %f", hist_mean(h));
	CHECK(rel_err((double)hist_percentile(h, 50), 50000) < 0.01, "p50 %llu",
	      (unsigned long long)hist_percentile(h, 50));
	CHECK(rel_err((double)hist_percentile(h, 90), 90000) < 0.01, "p90 %llu",
	      (unsigned long long)hist_percentile(h, 90));
	CHECK(rel_err((double)hist_percentile(h, 99), 99000) < 0.01, "p99");
	CHECK(rel_err((double)hist_percentile(h, 99.9), 99900) < 0.01, "p99.9");
	CHECK(hist_percentile(h, 100) == 100000 && hist_percentile(h, 0) == 1, "p0/p100");
	/* Percentiles never decrease. */
	for (double p = 1; p < 100; p += 1)
		CHECK(hist_percentile(h, p) <= hist_percentile(h, p + 1), "p%g > p%g", p, p + 1);
	free(h);
}

static void test_merge(void)
{
	struct hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	hist_init(a);
	hist_init(b);
	hist_add(a, 10);
	hist_add(a, 1000);
	hist_add(b, 5);
	hist_add(b, 1u << 30);
	hist_merge(a, b);
	CHECK(a->count == 4 && a->min == 5 && a->max == (1u << 30), "merge");
	CHECK(a->sum == 10 + 1000 + 5 + (1u << 30), "merged sum");
	CHECK(hist_percentile(a, 25) == 5 && hist_percentile(a, 50) == 10, "merged ranks");
	/* A single value: every percentile is that value, not its bucket's bound. */
	hist_init(b);
	hist_add(b, 123457);
	CHECK(hist_percentile(b, 50) == 123457 && hist_percentile(b, 99.9) == 123457,
	      "single value p50 %llu", (unsigned long long)hist_percentile(b, 50));
	free(a);
	free(b);
}

int main(void)
{
	test_layout();
	test_percentiles();
	test_merge();
	if (failures)
		return 1;
	printf("hist: ok\n");
	return 0;
}
