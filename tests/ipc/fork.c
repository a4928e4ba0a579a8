/* SPDX-License-Identifier: MIT */
/*
 * Conformance, inheritance through fork(): a child uses its parent's
 * anonymous handle both ways, in order; the queue outlives a child that
 * exits without closing, and vanishes when the last handle closes (the leak
 * check at the end).
 *
 * Usage: fork BACKEND
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 512
#define COUNT	200

static const char *backend;

struct two {
	struct ipcq *to_child, *to_parent;
	bool close_at_end;
};

/* Child: echoes COUNT messages back with producer 2, then sends its own COUNT. */
static int child(void *arg)
{
	struct two *t = arg;
	unsigned char m[MSG_MAX];

	for (uint64_t i = 0; i < COUNT; i++) {
		ssize_t n = ipcq_get(t->to_child, m, sizeof(m), 5000 * TU_MS);
		unsigned p;
		uint64_t seq;

		if (n < 0 || tu_msg_check(m, (size_t)n, &p, &seq) || p != 1 || seq != i) {
			fprintf(stderr, "child: message %llu: %zd %s\n", (unsigned long long)i, n,
				tu_errname(n));
			return 1;
		}
		tu_msg_fill(m, (size_t)n, 2, seq);
		if (ipcq_put(t->to_parent, m, (size_t)n, 5000 * TU_MS))
			return 1;
	}
	for (uint64_t i = 0; i < COUNT; i++) {
		size_t len = tu_msg_len(3, i, TU_HDR, MSG_MAX);

		tu_msg_fill(m, len, 3, i);
		if (ipcq_put(t->to_parent, m, len, 5000 * TU_MS))
			return 1;
	}
	if (t->close_at_end) {
		ipcq_close(t->to_child);
		ipcq_close(t->to_parent);
	}
	return 0;
}

static void round_trip(bool close_at_end)
{
	struct two t = {.close_at_end = close_at_end};
	unsigned char m[MSG_MAX];
	int ret, bad = 0;
	pid_t pid;

	tu_section("fork: child uses the parent's anonymous handles both ways (%s)",
		   close_at_end ? "child closes them" : "child exits without closing");
	t.to_child = tu_queue(backend, NULL, 0, MSG_MAX);
	if (!t.to_child)
		return;
	t.to_parent = tu_queue(backend, NULL, 0, MSG_MAX);
	if (!t.to_parent) {
		ipcq_close(t.to_child);
		return;
	}
	pid = tu_fork(child, &t);
	CHECK(pid > 0, "fork: %d", (int)pid);
	/* Interleave: the parent puts one, takes one echo back (queues may be small). */
	for (uint64_t i = 0; i < COUNT && pid > 0; i++) {
		size_t len = tu_msg_len(1, i, TU_HDR, MSG_MAX);
		unsigned p;
		uint64_t seq;
		ssize_t n;

		tu_msg_fill(m, len, 1, i);
		ret = ipcq_put(t.to_child, m, len, 5000 * TU_MS);
		CHECK(ret == 0, "put %llu: %d %s", (unsigned long long)i, ret, tu_errname(ret));
		n = ipcq_get(t.to_parent, m, sizeof(m), 5000 * TU_MS);
		if (n != (ssize_t)len || tu_msg_check(m, (size_t)n, &p, &seq) || p != 2 ||
		    seq != i) {
			CHECK(0, "echo %llu: got %zd %s, want len %zu", (unsigned long long)i, n,
			      tu_errname(n), len);
			if (++bad > 5)
				break;
		}
	}
	for (uint64_t i = 0; i < COUNT && pid > 0 && !bad; i++) {
		ssize_t n = ipcq_get(t.to_parent, m, sizeof(m), 5000 * TU_MS);
		size_t len = tu_msg_len(3, i, TU_HDR, MSG_MAX);
		unsigned p;
		uint64_t seq;

		if (n != (ssize_t)len || tu_msg_check(m, (size_t)n, &p, &seq) || p != 3 ||
		    seq != i) {
			CHECK(0, "child's message %llu: got %zd %s, want len %zu",
			      (unsigned long long)i, n, tu_errname(n), len);
			break;
		}
	}
	if (pid > 0)
		CHECK_EQ(tu_wait(pid, 10000 * TU_MS), 0);
	/* The child is gone: the queues still work for the parent. */
	CHECK_EQ(ipcq_put_nowait(t.to_child, "x", 1), 0);
	CHECK_EQ(ipcq_get_nowait(t.to_child, m, sizeof(m)), 1);
	CHECK_EQ(ipcq_get_nowait(t.to_parent, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_close(t.to_child), 0);
	CHECK_EQ(ipcq_close(t.to_parent), 0);
}

/* Child closes its inherited copy at once; the parent's must stay usable. */
static int close_early(void *arg)
{
	return ipcq_close(arg) == 0 ? 0 : 1;
}

static void test_child_close(void)
{
	struct ipcq *q;
	char m[MSG_MAX];

	tu_section("a child closing its inherited handle leaves the parent's working");
	q = tu_queue(backend, NULL, 2, MSG_MAX);
	if (!q)
		return;
	CHECK_EQ(ipcq_put_nowait(q, "before", 6), 0);
	CHECK_EQ(tu_wait(tu_fork(close_early, q), 5000 * TU_MS), 0);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), 6);
	CHECK_EQ(ipcq_put_nowait(q, "after", 5), 0);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), 5);
	CHECK_EQ(ipcq_close(q), 0);
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "BACKEND");
	round_trip(true);
	round_trip(false);
	test_child_close();
	return tu_end();
}
