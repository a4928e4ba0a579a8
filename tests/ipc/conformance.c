/* SPDX-License-Identifier: MIT */
/*
 * Conformance, basic part: the Queue contract of ipc/ipcq.h within one
 * process.  FIFO order, nowait on full/empty, -EMSGSIZE, -EINVAL for a small
 * buffer with nothing consumed, zero-length and exact-length messages,
 * qsize/empty/full, capacity(), msg_max(), backend(), the backend list,
 * unknown backends, bad names, 64 KiB messages.
 *
 * Usage: conformance BACKEND.  Uses ipcq.h and ipcq_ext.h only, so the
 * pkg-config test builds it against the installed library.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

static const char *backend;

/* Anonymous queue or a failed check (returns NULL). */
static struct ipcq *make(size_t capacity, size_t msg_max)
{
	struct ipcq *q = NULL;
	int ret = tu_create(&q, backend, NULL, capacity, msg_max);

	CHECK(ret == 0, "create(%s, capacity %zu, msg_max %zu): %d %s", backend, capacity, msg_max,
	      ret, tu_errname(ret));
	return ret == 0 ? q : NULL;
}

static void test_backends(void)
{
	static const char *const want[] = {"pipe", "sysv", "mqueue", "shm", "unix", "tcp"};
	const char *const *b = ipcq_backends();
	struct ipcq *q = (struct ipcq *)1;
	struct ipcq_opts o = {.backend = "carrier-pigeon"};

	tu_section("ipcq_backends() lists all six; unknown backends are -EINVAL");
	CHECK(b != NULL, "ipcq_backends() returned NULL");
	for (size_t i = 0; b && i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (const char *const *p = b; *p; p++)
			found |= strcmp(*p, want[i]) == 0;
		CHECK(found, "backend %s missing from ipcq_backends()", want[i]);
	}
	CHECK_EQ(ipcq_create(&q, &o), -EINVAL);
	CHECK(q == NULL, "*out not cleared on failure");
	o.backend = NULL;
	CHECK_EQ(ipcq_create(&q, &o), -EINVAL);
	CHECK_EQ(ipcq_open(&q, "carrier-pigeon", "x"), -EINVAL);
	CHECK_EQ(ipcq_unlink("carrier-pigeon", "x"), -EINVAL);
	CHECK_EQ(ipcq_open(&q, NULL, "x"), -EINVAL);
}

static void test_bad_names(void)
{
	char long_name[202], max_name[201], base[64];
	const char *bad[] = {"", ".hidden", "a/b", "../x", "a b", "x\n", "caf\xc3\xa9", long_name};
	struct ipcq *q;
	int ret;

	tu_section("bad names are -EINVAL; a 200-character name works");
	memset(long_name, 'n', 201);
	long_name[201] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipcq_opts o = {.backend = backend, .name = bad[i]};

		q = NULL;
		CHECK_EQ(ipcq_create(&q, &o), -EINVAL);
		if (q)
			ipcq_close(q);
		CHECK_EQ(ipcq_open(&q, backend, bad[i]), -EINVAL);
		CHECK_EQ(ipcq_unlink(backend, bad[i]), -EINVAL);
	}
	CHECK_EQ(ipcq_open(&q, backend, NULL), -EINVAL);
	CHECK_EQ(ipcq_unlink(backend, NULL), -EINVAL);

	tu_name(base, sizeof(base), "long");
	memset(max_name, 'L', 200);
	memcpy(max_name, base, strlen(base));
	max_name[200] = '\0';
	ret = tu_create(&q, backend, max_name, 1, 64);
	CHECK(ret == 0, "create with a 200-character name: %d %s", ret, tu_errname(ret));
	if (ret == 0) {
		struct ipcq *o = NULL;

		ret = ipcq_open(&o, backend, max_name);
		CHECK(ret == 0, "open with a 200-character name: %d %s", ret, tu_errname(ret));
		if (o)
			ipcq_close(o);
		ipcq_close(q);
		CHECK_EQ(ipcq_unlink(backend, max_name), 0);
	}
}

static void test_defaults(void)
{
	struct ipcq *q;
	char buf[4096];

	tu_section("defaults: msg_max 0 means 4096, capacity 0 means the backend's bound");
	q = make(0, 0);
	if (!q)
		return;
	CHECK_EQ(ipcq_msg_max(q), 4096);
	CHECK(ipcq_capacity(q) >= 1, "capacity() %zu", ipcq_capacity(q));
	CHECK(ipcq_backend(q) && strcmp(ipcq_backend(q), backend) == 0, "backend() %s",
	      ipcq_backend(q) ? ipcq_backend(q) : "(null)");
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), -EAGAIN);
	CHECK(ipcq_empty(q), "empty() false on a new queue");
	CHECK(!ipcq_full(q), "full() true on a new queue");
	{
		ssize_t n = ipcq_qsize(q);
		CHECK(n == 0 || n == -ENOTSUP, "qsize() %zd (%s) on a new queue", n, tu_errname(n));
	}
	printf("capacity 0, msg_max 4096: capacity() = %zu\n", ipcq_capacity(q));
	CHECK_EQ(ipcq_close(q), 0);
}

/* FIFO order with varied lengths, zero-length ones in between. */
static void test_fifo(void)
{
	size_t msg_max = 512, n;
	struct ipcq *q;
	unsigned char in[512], out[512];

	tu_section("FIFO order and exact lengths (0, 1, msg_max-1, msg_max, varied)");
	q = make(8, msg_max);
	if (!q)
		return;
	n = ipcq_capacity(q) < 8 ? ipcq_capacity(q) : 8;
	CHECK(ipcq_capacity(q) >= 8, "capacity() %zu < 8 asked", ipcq_capacity(q));
	for (int round = 0; round < 3; round++) {
		static const size_t lens[8] = {1, 511, 512, 0, 100, 24, 0, 300};

		for (size_t i = 0; i < n; i++) {
			memset(in, (int)(i + 1 + round * 16), sizeof(in));
			int ret = ipcq_put_nowait(q, in, lens[i]);
			CHECK(ret == 0, "round %d put #%zu len %zu: %d %s", round, i, lens[i], ret,
			      tu_errname(ret));
		}
		for (size_t i = 0; i < n; i++) {
			memset(out, 0xee, sizeof(out));
			ssize_t got = ipcq_get_nowait(q, out, sizeof(out));
			CHECK(got == (ssize_t)lens[i],
			      "round %d get #%zu: got %zd (%s), want len %zu", round, i, got,
			      tu_errname(got), lens[i]);
			if (got > 0) {
				memset(in, (int)(i + 1 + round * 16), sizeof(in));
				CHECK(memcmp(in, out, (size_t)got) == 0,
				      "round %d get #%zu: content differs", round, i);
			}
		}
		CHECK_EQ(ipcq_get_nowait(q, out, sizeof(out)), -EAGAIN);
	}
	/* NULL with zero length is allowed; a NULL buffer for a put of bytes is not. */
	CHECK_EQ(ipcq_put_nowait(q, NULL, 0), 0);
	CHECK_EQ(ipcq_get_nowait(q, out, sizeof(out)), 0);
	CHECK_EQ(ipcq_put_nowait(q, NULL, 1), -EINVAL);
	CHECK_EQ(ipcq_put(q, in, 1, -2), -EINVAL);
	CHECK_EQ(ipcq_get(q, out, sizeof(out), -2), -EINVAL);
	CHECK_EQ(ipcq_get_nowait(q, NULL, sizeof(out)), -EINVAL);
	CHECK_EQ(ipcq_close(q), 0);
}

static void test_sizes(void)
{
	size_t msg_max = 4096;
	struct ipcq *q;
	unsigned char *in = malloc(msg_max + 1), *out = malloc(msg_max + 1);
	ssize_t got;

	tu_section("-EMSGSIZE above msg_max; -EINVAL for a small buffer, nothing consumed");
	q = make(0, 0);
	if (!q || !in || !out)
		goto out;
	for (size_t i = 0; i <= msg_max; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	CHECK_EQ(ipcq_put_nowait(q, in, msg_max + 1), -EMSGSIZE);
	CHECK_EQ(ipcq_put(q, in, msg_max + 1, 10 * TU_MS), -EMSGSIZE);
	CHECK_EQ(ipcq_get_nowait(q, out, msg_max), -EAGAIN); /* the big one went nowhere */

	CHECK_EQ(ipcq_put_nowait(q, in, 10), 0);
	CHECK_EQ(ipcq_get_nowait(q, out, msg_max - 1), -EINVAL);
	CHECK_EQ(ipcq_get(q, out, 10, 10 * TU_MS), -EINVAL);
	CHECK_EQ(ipcq_get_nowait(q, out, 0), -EINVAL);
	got = ipcq_get_nowait(q, out, msg_max);
	CHECK(got == 10, "message gone after -EINVAL: get %zd (%s)", got, tu_errname(got));
	CHECK(got != 10 || memcmp(in, out, 10) == 0, "content differs after -EINVAL");

	/* Exact boundaries; a bigger buffer than msg_max is fine. */
	static const size_t lens[] = {1, 4095, 4096, 0, 2, 4094};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		int ret = ipcq_put_nowait(q, in, lens[i]);

		CHECK(ret == 0, "put len %zu: %d %s", lens[i], ret, tu_errname(ret));
		memset(out, 0, msg_max + 1);
		got = ipcq_get_nowait(q, out, msg_max + 1);
		CHECK(got == (ssize_t)lens[i], "len %zu came back as %zd (%s)", lens[i], got,
		      tu_errname(got));
		CHECK(got < 0 || memcmp(in, out, (size_t)got) == 0, "len %zu: content differs",
		      lens[i]);
	}
out:
	if (q)
		CHECK_EQ(ipcq_close(q), 0);
	free(in);
	free(out);
}

/*
 * Fills the queue with msg_max-byte messages: it must hold capacity()
 * of them before a nowait put says -EAGAIN, with full()/qsize() agreeing,
 * then drain it while qsize()/empty() follow.
 */
static void fill_and_drain(size_t ask, size_t msg_max)
{
	struct ipcq *q;
	unsigned char *in = NULL, *out = NULL;
	size_t cap, n = 0;
	ssize_t qs;
	int ret;

	tu_section("capacity %zu asked, msg_max %zu: fill until full, drain until empty", ask,
		   msg_max);
	q = make(ask, msg_max);
	if (!q)
		return;
	msg_max = ipcq_msg_max(q);
	in = malloc(msg_max);
	out = malloc(msg_max);
	if (!in || !out)
		goto out;
	cap = ipcq_capacity(q);
	printf("capacity() = %zu\n", cap);
	CHECK(cap >= 1, "capacity() %zu", cap);
	if (ask)
		CHECK(cap >= ask, "capacity() %zu < %zu asked", cap, ask);
	if (cap > 65536) {
		printf("note: capacity %zu too large to fill in a test; fill checks skipped\n",
		       cap);
		goto out;
	}
	qs = ipcq_qsize(q);
	CHECK(qs == 0 || qs == -ENOTSUP, "qsize() %zd on an empty queue", qs);
	for (;;) {
		tu_msg_fill(in, msg_max, 1, n);
		ret = ipcq_put_nowait(q, in, msg_max);
		if (ret < 0)
			break;
		n++;
		if (n == 1)
			CHECK(!ipcq_empty(q), "empty() true with one message queued");
		if (qs != -ENOTSUP) {
			qs = ipcq_qsize(q);
			CHECK(qs == (ssize_t)n, "qsize() %zd after %zu puts", qs, n);
		}
		if (n < cap)
			CHECK(!ipcq_full(q), "full() true after %zu of %zu", n, cap);
		if (n > 4 * cap + 64)
			break;
	}
	CHECK(ret == -EAGAIN, "put_nowait on a full queue: %d %s, want -EAGAIN", ret,
	      tu_errname(ret));
	printf("holds %zu messages of %zu bytes (capacity() %zu)\n", n, msg_max, cap);
	CHECK(n >= cap, "only %zu messages of msg_max bytes fit, capacity() says %zu", n, cap);
	CHECK(ipcq_full(q), "full() false when a put_nowait fails with %s", tu_errname(ret));
	CHECK(!ipcq_empty(q), "empty() true on a full queue");
	for (size_t i = 0; i < n; i++) {
		unsigned p;
		uint64_t seq;
		ssize_t got = ipcq_get_nowait(q, out, msg_max);

		CHECK(got == (ssize_t)msg_max, "get #%zu: %zd %s", i, got, tu_errname(got));
		if (got != (ssize_t)msg_max)
			break;
		CHECK(tu_msg_check(out, (size_t)got, &p, &seq) == 0 && seq == i,
		      "get #%zu: corrupt or out of order", i);
		if (i == 0)
			CHECK(!ipcq_full(q), "full() still true after one get");
		if (qs != -ENOTSUP) {
			qs = ipcq_qsize(q);
			CHECK(qs == (ssize_t)(n - i - 1), "qsize() %zd after %zu of %zu gets", qs,
			      i + 1, n);
		}
	}
	CHECK(ipcq_empty(q), "empty() false after draining");
	CHECK_EQ(ipcq_get_nowait(q, out, msg_max), -EAGAIN);
	/* A full queue is reusable: one more round trip. */
	CHECK_EQ(ipcq_put_nowait(q, in, msg_max), 0);
	CHECK_EQ(ipcq_get_nowait(q, out, msg_max), (ssize_t)msg_max);
out:
	if (q)
		CHECK_EQ(ipcq_close(q), 0);
	free(in);
	free(out);
}

static bool names_a_limit(const char *s)
{
	static const char *const limits[] = {"msg_max", "msgsize_max",	   "msgmax",
					     "msgmnb",	"RLIMIT_MSGQUEUE", "queues_max"};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (strstr(s, limits[i]))
			return true;
	return false;
}

/*
 * A msg_max that no setting of any kernel limit lets the backend carry (the
 * largest queue.c lets through) is ipcq.h's -EMSGSIZE, never -EINVAL nor a
 * kernel limit's error: no sysctl could make it work.
 */
static void test_msg_max_never(void)
{
	struct ipcq_opts o = {.backend = backend, .msg_max = (size_t)SSIZE_MAX / 2};
	struct ipcq *q = NULL;

	tu_section("msg_max beyond what the backend can ever carry: -EMSGSIZE");
	CHECK_EQ(ipcq_create(&q, &o), -EMSGSIZE);
	CHECK(q == NULL, "*out set on failure");
	o.capacity = 2;
	CHECK_EQ(ipcq_create(&q, &o), -EMSGSIZE);
	if (q)
		ipcq_close(q);
}

/* 64 KiB: pipe, shm, unix and tcp carry it; sysv and mqueue are refused by default limits. */
static void test_64k(void)
{
	size_t big = 65536;
	struct ipcq_opts o = {.backend = backend, .capacity = 0, .msg_max = big};
	bool kernel_bounded = !strcmp(backend, "sysv") || !strcmp(backend, "mqueue");
	struct ipcq *q = NULL;
	char line[512];
	int ret;

	tu_section("msg_max 64 KiB");
	ret = ipcq_create(&q, &o);
	if (!kernel_bounded) {
		unsigned char *in = malloc(big), *out = malloc(big);

		CHECK(ret == 0, "create msg_max 64 KiB: %d %s", ret, tu_errname(ret));
		if (ret == 0 && in && out) {
			CHECK_EQ(ipcq_msg_max(q), big);
			tu_msg_fill(in, big, 7, 1);
			CHECK_EQ(ipcq_put(q, in, big, 1000 * TU_MS), 0);
			CHECK_EQ(ipcq_get(q, out, big, 1000 * TU_MS), (ssize_t)big);
			CHECK(memcmp(in, out, big) == 0, "64 KiB message corrupted");
			tu_msg_fill(in, 1000, 7, 2);
			CHECK_EQ(ipcq_put(q, in, 1000, 1000 * TU_MS), 0);
			CHECK_EQ(ipcq_get(q, out, big, 1000 * TU_MS), 1000);
		}
		if (q)
			CHECK_EQ(ipcq_close(q), 0);
		free(in);
		free(out);
		return;
	}
	if (ret == 0) {
		/* Raised limits (CAP_SYS_RESOURCE or sysctl) would allow it: say so. */
		printf("note: %s accepted msg_max 64 KiB here (raised limits?)\n", backend);
		ipcq_close(q);
		return;
	}
	CHECK(ret < 0, "create: %d", ret);
	memset(line, 0, sizeof(line));
	int n = ipcq_explain(&o, ret, line, sizeof(line));
	printf("create: %s; explain: %s\n", tu_errname(ret), line);
	CHECK(n > 0 && strlen(line) == (size_t)n, "ipcq_explain() returned %d for %s", n,
	      tu_errname(ret));
	CHECK(!strchr(line, '\n'), "explanation is more than one line");
	CHECK(names_a_limit(line), "explanation names no limit: \"%s\"", line);
	{
		struct ipcq_limit l[8];
		ssize_t nl = ipcq_limits(backend, l, 8);

		CHECK(nl > 0, "ipcq_limits(%s) = %zd", backend, nl);
		for (ssize_t i = 0; i < nl && i < 8; i++)
			printf("limit %s = %lld %s (%s; %s)\n", l[i].name, l[i].value, l[i].unit,
			       l[i].what, l[i].raise);
	}
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "BACKEND");
	test_backends();
	test_bad_names();
	test_defaults();
	test_fifo();
	test_sizes();
	fill_and_drain(3, 4096);
	fill_and_drain(4, 100);
	fill_and_drain(0, 4096);
	fill_and_drain(1, 0);
	test_64k();
	test_msg_max_never();
	return tu_end();
}
