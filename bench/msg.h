/* SPDX-License-Identifier: MIT */
/*
 * The messages the workloads send and verify, throughput and ping-pong
 * alike.  Layout (size >= 8, little endian):
 *   word 0: producer (8 bits) | sequence (40 bits) | check of both (16 bits:
 *           the top bits of their product with an odd constant)
 *   bytes [8, size): a pattern: word k is b + k * MSG_STEP, with b fixed per
 *   producer, plus s in words 7, 15, 23, ... (one in every 64 bytes) and in
 *   the last word, where s is word 0 times an odd constant (a bijection: no
 *   two messages share it); a last word shorter than 8 bytes holds the low
 *   bytes of its value.
 * So every cache line of a message, and its end, differ from those of every
 * other message, and a message is encoded by rewriting the tag and one word
 * in eight of a buffer msg_init filled once.  The check compares every byte
 * with the pattern, 64 bytes at a time in four 16-byte vectors (GCC vector
 * extensions), so it is SIMD at any optimisation level.
 */
#ifndef BENCH_MSG_H
#define BENCH_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_SEQ_BITS 40
#define MSG_SEQ_MASK ((UINT64_C(1) << MSG_SEQ_BITS) - 1)

/* The sequence number the tag of @m claims, unchecked (msg_check checks it). */
static inline uint64_t msg_claimed_seq(const unsigned char *m)
{
	uint64_t tag;

	__builtin_memcpy(&tag, m, 8);
	return (tag >> 16) & MSG_SEQ_MASK;
}

/* Fills the part of @m (@size bytes) fixed for producer @pid, once. */
void msg_init(unsigned char *m, size_t size, unsigned pid);

/*
 * Writes the message of producer @pid, sequence @seq into @m (@size
 * bytes), which msg_init filled for the same @pid and @size.
 */
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
 * one msg_encode and one msg_check (msg_init once), in ns (the least of a few batches of
 * a few ms each).
 */
double msg_cost_ns(size_t size);

#endif /* BENCH_MSG_H */
