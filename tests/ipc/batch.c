/* SPDX-License-Identifier: MIT */
/*
 * Batches (ipcq_put_many/ipcq_get_many) on every backend: order, partial
 * batches, a batch larger than the capacity, zero-length messages inside a
 * batch, timeouts (the first message waits, the others do not), arguments
 * checked before anything is put or consumed (-EINVAL for a too small
 * buffer, -EMSGSIZE for a too long message), and a batch that waits for a
 * producer in another process.
 *
 * Usage: batch BACKEND
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 128
#define NMAX	300
/* A batch beyond every room of make(4): tcp grants 1488 frames of MSG_MAX, more small ones. */
#define NBIG 8192

static const char *backend;
static unsigned char out[NBIG][MSG_MAX], in[NBIG][MSG_MAX];
static struct iovec om[NBIG], im[NBIG];

/* Messages @first..@first+n of lengths tu_msg_len() (>= TU_HDR), or 0 where @zero says. */
static void prepare(uint64_t first, size_t n, bool zero)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = tu_msg_len(0, first + i, TU_HDR, MSG_MAX);

		if (zero && i % 3 == 1)
			len = 0;
		else
			tu_msg_fill(out[i], len, 0, first + i);
		om[i] = (struct iovec){.iov_base = out[i], .iov_len = len};
	}
}

static void reset_in(size_t n)
{
	for (size_t i = 0; i < n; i++)
		im[i] = (struct iovec){.iov_base = in[i], .iov_len = MSG_MAX};
}

/* The @n got messages are messages @first.. of prepare(), in order. */
static void check_got(uint64_t first, size_t n, bool zero)
{
	for (size_t i = 0; i < n; i++) {
		unsigned pr;
		uint64_t seq;

		if (zero && i % 3 == 1) {
			CHECK(im[i].iov_len == 0, "message %zu: %zu bytes, want 0", i,
			      im[i].iov_len);
			continue;
		}
		CHECK(im[i].iov_len == tu_msg_len(0, first + i, TU_HDR, MSG_MAX) &&
			      tu_msg_check(in[i], im[i].iov_len, &pr, &seq) == 0 &&
			      seq == first + i,
		      "message %zu of the batch: %zu bytes, not message %llu", i, im[i].iov_len,
		      (unsigned long long)(first + i));
	}
}

static struct ipcq *make(size_t cap)
{
	struct ipcq *q;
	int ret = tu_create(&q, backend, NULL, cap, MSG_MAX);

	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	return ret ? NULL : q;
}

/* Messages in batches of @per, got in batches of @take: all of them, in order. */
static void round_trip(struct ipcq *q, size_t n, size_t per, size_t take, bool zero)
{
	size_t put = 0, got = 0;
	ssize_t r;

	prepare(0, n, zero);
	reset_in(n);
	while (got < n) {
		if (put < n) {
			r = ipcq_put_many(q, om + put, n - put < per ? n - put : per, IPCQ_NOWAIT);
			CHECK(r >= 1 || (r == -EAGAIN && put > got), "put_many: %zd %s", r,
			      tu_errname(r));
			if (r < 1 && r != -EAGAIN)
				break;
			put += r > 0 ? (size_t)r : 0;
		}
		r = ipcq_get_many(q, im + got, n - got < take ? n - got : take, 100 * TU_MS);
		CHECK(r >= 1 && (size_t)r <= put - got, "get_many: %zd %s", r, tu_errname(r));
		if (r < 1)
			break;
		got += (size_t)r;
	}
	check_got(0, got, zero);
}

static void test_order(void)
{
	struct ipcq *q = make(8);

	tu_section("batches arrive whole and in order, zero-length messages too");
	if (!q)
		return;
	round_trip(q, 8, 8, 8, true);
	round_trip(q, 100, 5, 7, true);
	round_trip(q, 200, 3, 64, false);
	reset_in(4);
	CHECK_EQ(ipcq_get_many(q, im, 4, IPCQ_NOWAIT), -EAGAIN);
	CHECK_EQ(ipcq_put_many(q, om, 0, IPCQ_NOWAIT), 0);
	CHECK_EQ(ipcq_get_many(q, im, 0, IPCQ_NOWAIT), 0);
	ipcq_close(q);
	/* the largest ring the backend makes: batches beyond SHM_BATCH_MAX */
	q = make(0);
	if (q) {
		round_trip(q, NMAX, NMAX, NMAX, false);
		ipcq_close(q);
	}
}

/* A batch larger than the room: partial, the rest not waited for. */
static void test_partial(void)
{
	struct ipcq *q = make(4);
	size_t cap;
	ssize_t r, got = 0, put;
	int64_t t0;

	tu_section("a batch larger than the capacity: partial, no wait after the first");
	if (!q)
		return;
	cap = ipcq_capacity(q);
	CHECK(cap < NBIG, "capacity %zu: no batch of %d is larger", cap, NBIG);
	prepare(0, NBIG, false);
	t0 = tu_now_ns();
	put = ipcq_put_many(q, om, NBIG, 2000 * TU_MS);
	CHECK(tu_now_ns() - t0 < 1000 * TU_MS, "put_many waited %lld ms for later messages",
	      (long long)((tu_now_ns() - t0) / TU_MS));
	CHECK(put >= (ssize_t)cap && put < NBIG, "put_many of %d into capacity %zu: %zd %s", NBIG,
	      cap, put, tu_errname(put));
	if (put < 1) {
		ipcq_close(q);
		return;
	}
	/* full now: a batch waits for the first only, and times out with none put */
	t0 = tu_now_ns();
	r = ipcq_put_many(q, om + put, 3, 50 * TU_MS);
	CHECK_EQ(r, -ETIMEDOUT);
	CHECK(tu_now_ns() - t0 >= 50 * TU_MS, "timed out early");
	CHECK_EQ(ipcq_put_many(q, om + put, 3, IPCQ_NOWAIT), -EAGAIN);
	reset_in(NBIG);
	while (got < put) {
		r = ipcq_get_many(q, im + got, NBIG - (size_t)got, IPCQ_NOWAIT);
		CHECK(r >= 1, "get_many after %zd of %zd: %zd %s", got, put, r, tu_errname(r));
		if (r < 1)
			break;
		got += r;
	}
	CHECK_EQ(got, put);
	check_got(0, (size_t)got, false);
	t0 = tu_now_ns();
	reset_in(5);
	CHECK_EQ(ipcq_get_many(q, im, 5, 50 * TU_MS), -ETIMEDOUT);
	CHECK(tu_now_ns() - t0 >= 50 * TU_MS, "timed out early");
	ipcq_close(q);
}

/* Bad arguments: refused before anything is put or consumed. */
static void test_args(void)
{
	struct ipcq *q = make(8);
	unsigned char big[MSG_MAX + 1];

	tu_section("arguments checked first: -EINVAL, -EMSGSIZE, nothing put or consumed");
	if (!q)
		return;
	prepare(0, 3, false);
	CHECK_EQ(ipcq_put_many(q, NULL, 1, IPCQ_NOWAIT), -EINVAL);
	CHECK_EQ(ipcq_put_many(q, om, 3, -2), -EINVAL);
	om[1] = (struct iovec){.iov_base = big, .iov_len = sizeof(big)};
	CHECK_EQ(ipcq_put_many(q, om, 3, IPCQ_NOWAIT), -EMSGSIZE);
	om[1] = (struct iovec){.iov_base = NULL, .iov_len = 5};
	CHECK_EQ(ipcq_put_many(q, om, 3, IPCQ_NOWAIT), -EINVAL);
	CHECK(ipcq_empty(q), "a refused batch put something");
	prepare(0, 3, false);
	CHECK_EQ(ipcq_put_many(q, om, 3, IPCQ_NOWAIT), 3);
	reset_in(3);
	im[2].iov_len = MSG_MAX - 1;
	CHECK_EQ(ipcq_get_many(q, im, 3, IPCQ_NOWAIT), -EINVAL);
	reset_in(3);
	im[1].iov_base = NULL;
	CHECK_EQ(ipcq_get_many(q, im, 3, IPCQ_NOWAIT), -EINVAL);
	CHECK_EQ(ipcq_get_many(q, NULL, 3, IPCQ_NOWAIT), -EINVAL);
	reset_in(3);
	CHECK_EQ(ipcq_get_many(q, im, 3, -7), -EINVAL);
	CHECK_EQ(ipcq_get_many(q, im, 3, 100 * TU_MS), 3);
	check_got(0, 3, false);
	ipcq_close(q);
}

static int late_producer(void *arg)
{
	struct ipcq *q = arg;

	tu_sleep_ns(100 * TU_MS);
	prepare(7, 5, false);
	return ipcq_put_many(q, om, 5, 2000 * TU_MS) == 5 ? 0 : 1;
}

/* The first message is waited for: woken by another process's batch. */
static void test_wait(void)
{
	struct ipcq *q = make(8);
	ssize_t r, got = 0;
	int64_t t0 = tu_now_ns();
	pid_t pid;

	tu_section("a get batch waits for the first message from another process");
	if (!q)
		return;
	pid = tu_fork(late_producer, q);
	CHECK(pid > 0, "fork: %d", (int)pid);
	reset_in(8);
	r = ipcq_get_many(q, im, 8, IPCQ_FOREVER);
	CHECK(r >= 1 && r <= 5, "get_many forever: %zd %s", r, tu_errname(r));
	CHECK(tu_now_ns() - t0 >= 90 * TU_MS, "returned before the producer put");
	got = r > 0 ? r : 0;
	while (got < 5 && r > 0) {
		r = ipcq_get_many(q, im + got, 8 - (size_t)got, 2000 * TU_MS);
		got += r > 0 ? r : 0;
	}
	CHECK_EQ(got, 5);
	check_got(7, (size_t)got, false);
	if (pid > 0)
		CHECK_EQ(tu_wait(pid, 5000 * TU_MS), 0);
	ipcq_close(q);
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "batch BACKEND");
	test_order();
	test_partial();
	test_args();
	test_wait();
	return tu_end();
}
