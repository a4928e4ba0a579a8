/* SPDX-License-Identifier: MIT */
/*
 * The messages the workloads send and verify, throughput and ping-pong
 * alike.  Layout (size >= 8, little endian):
 *   word 0: producer (8 bits) | sequence (40 bits) | check of both (16 bits:
 *           the top bits of their product with an odd constant)
 *   bytes [8, size): a pattern derived from word 0, so that every message of
 *   every producer differs in every word: word k is s + k * MSG_STEP with
 *   s = word 0 times an odd constant (a bijection); a tail shorter than a
 *   word holds the low bytes of the next word.
 * The check compares every byte with the pattern 32 bytes at a time in two
 * 16-byte vectors (GCC vector extensions), so it is SIMD at any optimisation
 * level; encoding writes the pattern the same way.
 */
#ifndef BENCH_MSG_H
#define BENCH_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_SEQ_BITS 40
#define MSG_SEQ_MASK ((UINT64_C(1) << MSG_SEQ_BITS) - 1)

/* Writes the message of producer @pid, sequence @seq into @m (@size bytes). */
void msg_encode(unsigned char *m, size_t size, unsigned pid, uint64_t seq);

/*
 * Verifies @n bytes at @m as a message of @size bytes from one of
 * @producers producers; sets *pid and *seq.  NULL, or what is wrong with
 * it ("corrupt: ...", with the first differing byte for the payload),
 * written into @why when it needs a number.
 */
const char *msg_check(const unsigned char *m, size_t n, size_t size, unsigned producers,
		      unsigned *pid, uint64_t *seq, char *why, size_t len);

/*
 * The benchmark's own work per message of @size bytes, without a queue:
 * one msg_encode and one msg_check, in ns (the least of a few batches of
 * a few ms each).
 */
double msg_cost_ns(size_t size);

#endif /* BENCH_MSG_H */
