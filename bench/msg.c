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

/* The part of the pattern fixed per producer. */
static uint64_t base_of(unsigned pid)
{
	return ((uint64_t)pid + 1) * UINT64_C(0xd6e8feb86659fd93);
}

/*
 * Word @k >= 1 of the message of producer base @b and seed @s whose last
 * (maybe partial) word is @kl: the seed in words 7, 15, ... and the last.
 */
static uint64_t word_at(uint64_t b, uint64_t s, size_t k, size_t kl)
{
	return b + k * MSG_STEP + ((k & 7) == 7 || k == kl ? s : 0);
}

/* Word @k (full, or the tail of @size) into @m. */
static void put_word(unsigned char *m, size_t size, size_t k, uint64_t w)
{
	if (8 * k + 8 <= size) {
		memcpy(m + 8 * k, &w, 8);
		return;
	}
	for (size_t j = 0; 8 * k + j < size; j++)
		m[8 * k + j] = (unsigned char)(w >> (8 * j));
}

void msg_init(unsigned char *m, size_t size, unsigned pid)
{
	size_t kl = (size - 1) / 8;

	for (size_t k = 1; k <= kl; k++)
		put_word(m, size, k, word_at(base_of(pid), 0, k, kl));
}

void msg_encode(unsigned char *m, size_t size, unsigned pid, uint64_t seq)
{
	uint64_t tag = tag_of(pid, seq), s = seed_of(tag), b = base_of(pid);
	size_t kl = (size - 1) / 8, k;

	memcpy(m, &tag, 8);
	for (k = 7; k < kl; k += 8)
		put_word(m, size, k, word_at(b, s, k, kl));
	if (kl)
		put_word(m, size, kl, word_at(b, s, kl, kl));
}

/* OR of the differences between the payload of @m and its pattern: 0 when equal. */
static uint64_t payload_diff(const unsigned char *m, size_t size, uint64_t b, uint64_t s)
{
	const v2u64 step = {8 * MSG_STEP, 8 * MSG_STEP}, sv = {s, 0};
	/* Words 1..8 of the pattern, two per register; word 7 also holds the seed. */
	v2u64 f0 = {b + MSG_STEP, b + 2 * MSG_STEP}, f1 = {b + 3 * MSG_STEP, b + 4 * MSG_STEP};
	v2u64 f2 = {b + 5 * MSG_STEP, b + 6 * MSG_STEP}, f3 = {b + 7 * MSG_STEP, b + 8 * MSG_STEP};
	v2u64 a0 = {0, 0}, a1 = {0, 0}, v0, v1, v2, v3;
	size_t kl = (size - 1) / 8, k = 1, j;
	uint64_t d, w;

	/* Blocks of 8 words before the last word; two independent accumulators. */
	for (; 8 * k + 64 <= 8 * kl; k += 8) {
		memcpy(&v0, m + 8 * k, 16);
		memcpy(&v1, m + 8 * k + 16, 16);
		memcpy(&v2, m + 8 * k + 32, 16);
		memcpy(&v3, m + 8 * k + 48, 16);
		a0 |= (v0 ^ f0) | (v2 ^ f2);
		a1 |= (v1 ^ f1) | (v3 ^ (f3 + sv));
		f0 += step;
		f1 += step;
		f2 += step;
		f3 += step;
	}
	a0 |= a1;
	d = a0[0] | a0[1];
	for (; k < kl; k++) {
		memcpy(&w, m + 8 * k, 8);
		d |= w ^ word_at(b, s, k, kl);
	}
	if (!kl)
		return d;
	w = word_at(b, s, kl, kl);
	for (j = 0; 8 * kl + j < size; j++)
		d |= (unsigned char)(m[8 * kl + j] ^ (unsigned char)(w >> (8 * j)));
	return d;
}

/* Only once a message is known bad: where. */
static size_t first_bad_byte(const unsigned char *m, size_t size, uint64_t b, uint64_t s)
{
	size_t kl = (size - 1) / 8;

	for (size_t i = 8; i < size; i++)
		if (m[i] != (unsigned char)(word_at(b, s, i / 8, kl) >> (8 * (i % 8))))
			return i;
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
	*seq = msg_claimed_seq(m);
	if (tag != tag_of(*pid, *seq) || *pid >= producers)
		return "corrupt: bad tag";
	s = seed_of(tag);
	if (payload_diff(m, size, base_of(*pid), s)) {
		snprintf(why, len, "corrupt: payload byte %zu of %zu differs",
			 first_bad_byte(m, size, base_of(*pid), s), size);
		return why;
	}
	return NULL;
}

/* @n messages of @size bytes encoded and checked: ns for all. */
static int64_t cost_batch(unsigned char *m, size_t size, uint64_t n, uint64_t *bad)
{
	int64_t t0 = pool_now_ns();
	unsigned pid;
	uint64_t seq;
	char why[64];

	msg_init(m, size, 0);
	for (uint64_t i = 0; i < n; i++) {
		msg_encode(m, size, 0, i);
		*bad += msg_check(m, size, size, 1, &pid, &seq, why, sizeof(why)) != NULL;
	}
	return pool_now_ns() - t0;
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
