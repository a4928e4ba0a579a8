/* SPDX-License-Identifier: MIT */
/* Encoding and verifying the workloads' messages (layout in msg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "msg.h"

#define MSG_STEP UINT64_C(0x9e3779b97f4a7c15)

/* 16 bytes: what every x86-64 (SSE2) and arm64 (NEON) register holds. */
typedef uint64_t v2u64 __attribute__((vector_size(16)));

/* One multiply each: this runs twice per message, so it must cost next to nothing. */
static uint64_t tag_of(unsigned pid, uint64_t seq)
{
	uint64_t t = (uint64_t)pid << 56 | (seq & MSG_SEQ_MASK) << 16;

	return t | ((t * UINT64_C(0xbf58476d1ce4e5b9)) >> 48);
}

/* The pattern's seed: a bijection of the tag, so no two messages share a pattern. */
static uint64_t seed_of(uint64_t tag)
{
	return tag * UINT64_C(0x94d049bb133111eb);
}

void msg_encode(unsigned char *m, size_t size, unsigned pid, uint64_t seq)
{
	uint64_t tag = tag_of(pid, seq), s = seed_of(tag), w;
	const v2u64 step = {4 * MSG_STEP, 4 * MSG_STEP};
	/* Words 1..4 of the pattern, one per lane of two registers. */
	v2u64 e0 = {s + MSG_STEP, s + 2 * MSG_STEP}, e1 = {s + 3 * MSG_STEP, s + 4 * MSG_STEP};
	size_t off = 8, k = 1;

	memcpy(m, &tag, 8);
	for (; off + 32 <= size; off += 32, k += 4, e0 += step, e1 += step) {
		memcpy(m + off, &e0, 16);
		memcpy(m + off + 16, &e1, 16);
	}
	for (; off + 8 <= size; off += 8, k++) {
		w = s + k * MSG_STEP;
		memcpy(m + off, &w, 8);
	}
	w = s + k * MSG_STEP;
	for (size_t j = 0; off + j < size; j++)
		m[off + j] = (unsigned char)(w >> (8 * j));
}

/* OR of the differences between the payload of @m and the pattern of @s: 0 when equal. */
static uint64_t payload_diff(const unsigned char *m, size_t size, uint64_t s)
{
	const v2u64 step = {4 * MSG_STEP, 4 * MSG_STEP};
	v2u64 e0 = {s + MSG_STEP, s + 2 * MSG_STEP}, e1 = {s + 3 * MSG_STEP, s + 4 * MSG_STEP};
	v2u64 a0 = {0, 0}, a1 = {0, 0}, v0, v1;
	uint64_t d, w;
	size_t off = 8, k = 1;

	/* Two independent accumulators: no chain from one block to the next but the adds. */
	for (; off + 32 <= size; off += 32, k += 4, e0 += step, e1 += step) {
		memcpy(&v0, m + off, 16);
		memcpy(&v1, m + off + 16, 16);
		a0 |= v0 ^ e0;
		a1 |= v1 ^ e1;
	}
	a0 |= a1;
	d = a0[0] | a0[1];
	for (; off + 8 <= size; off += 8, k++) {
		memcpy(&w, m + off, 8);
		d |= w ^ (s + k * MSG_STEP);
	}
	w = s + k * MSG_STEP;
	for (size_t j = 0; off + j < size; j++)
		d |= (unsigned char)(m[off + j] ^ (unsigned char)(w >> (8 * j)));
	return d;
}

/* Only once a message is known bad: where. */
static size_t first_bad_byte(const unsigned char *m, size_t size, uint64_t s)
{
	uint64_t w;

	for (size_t i = 8; i < size; i++) {
		w = s + (i / 8) * MSG_STEP;
		if (m[i] != (unsigned char)(w >> (8 * (i % 8))))
			return i;
	}
	return size;
}

const char *msg_check(const unsigned char *m, size_t n, size_t size, unsigned producers,
		      unsigned *pid, uint64_t *seq, char *why, size_t len)
{
	uint64_t tag, s;

	if (n != size)
		return "corrupt: wrong length";
	memcpy(&tag, m, 8);
	*pid = (unsigned)(tag >> 56);
	*seq = (tag >> 16) & MSG_SEQ_MASK;
	if (tag != tag_of(*pid, *seq) || *pid >= producers)
		return "corrupt: bad tag";
	s = seed_of(tag);
	if (payload_diff(m, size, s)) {
		snprintf(why, len, "corrupt: payload byte %zu of %zu differs",
			 first_bad_byte(m, size, s), size);
		return why;
	}
	return NULL;
}

/* @n messages of @size bytes encoded and checked: ns for all. */
static int64_t cost_batch(unsigned char *m, size_t size, uint64_t n, uint64_t *bad)
{
	int64_t t0 = bench_now_ns();
	unsigned pid;
	uint64_t seq;
	char why[64];

	for (uint64_t i = 0; i < n; i++) {
		msg_encode(m, size, 0, i);
		*bad += msg_check(m, size, size, 1, &pid, &seq, why, sizeof(why)) != NULL;
	}
	return bench_now_ns() - t0;
}

double msg_cost_ns(size_t size)
{
	enum { BATCH_NS = 2000000, BATCHES = 3 };
	unsigned char *m = aligned_alloc(64, (size + 63) / 64 * 64);
	uint64_t n = 16, bad = 0;
	int64_t t, best;

	if (!m)
		return 0;
	/* Grow the batch until it lasts BATCH_NS, then keep the least of a few. */
	while ((t = cost_batch(m, size, n, &bad)) < BATCH_NS && n < (UINT64_C(1) << 40))
		n *= 2;
	best = t;
	for (int b = 1; b < BATCHES; b++)
		if ((t = cost_batch(m, size, n, &bad)) < best)
			best = t;
	free(m);
	(void)bad; /* a fresh message never fails; counted so the check is not optimised out */
	return (double)best / (double)n;
}
