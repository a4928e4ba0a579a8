/* SPDX-License-Identifier: MIT */
/*
 * Conformance, timeouts: timed get on empty and put on full give -ETIMEDOUT
 * no sooner than the timeout and not much later, burning no CPU meanwhile;
 * a blocked get (put) is woken by a put (get) from another process; signals
 * without SA_RESTART firing during a wait never surface (no -EINTR, no early
 * return).
 *
 * Usage: timeouts BACKEND
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 256

static const char *backend;
static volatile sig_atomic_t ticks;

/* One timed wait that must time out: checks the error, the time and the CPU. */
static void timed_out(struct ipcq *q, bool put, int64_t timeout, bool check_cpu)
{
	char m[MSG_MAX] = {0};
	int64_t t0 = tu_now_ns(), c0 = tu_cpu_ns(), wall, cpu;
	long long ret;

	ret = put ? ipcq_put(q, m, MSG_MAX, timeout) : ipcq_get(q, m, sizeof(m), timeout);
	wall = tu_now_ns() - t0;
	cpu = tu_cpu_ns() - c0;
	printf("%s timeout %lld ms: %s after %.1f ms, %.2f ms CPU\n", put ? "put" : "get",
	       (long long)(timeout / TU_MS), tu_errname(ret), wall / 1e6, cpu / 1e6);
	CHECK(ret == -ETIMEDOUT, "%s with timeout %lld ns on a %s queue: %lld %s",
	      put ? "put" : "get", (long long)timeout, put ? "full" : "empty", ret,
	      tu_errname(ret));
	CHECK(wall >= timeout, "%s returned after %lld ns, before its timeout %lld ns",
	      put ? "put" : "get", (long long)wall, (long long)timeout);
	CHECK(wall <= timeout + TU_SLACK_NS, "%s returned after %lld ms, timeout %lld ms",
	      put ? "put" : "get", (long long)(wall / TU_MS), (long long)(timeout / TU_MS));
	/* A short bounded spin is allowed; a busy wait is not. */
	if (check_cpu)
		CHECK(cpu < wall / 4, "%s burnt %.1f ms CPU in a %.1f ms wait", put ? "put" : "get",
		      cpu / 1e6, wall / 1e6);
}

static void test_timeouts(void)
{
	static const int64_t short_ones[] = {1 * TU_MS, 10 * TU_MS, 50 * TU_MS};
	struct ipcq *q;
	size_t n;

	tu_section("timed get on empty, timed put on full: -ETIMEDOUT, time waited, CPU");
	q = tu_queue(backend, NULL, 4, MSG_MAX);
	if (!q)
		return;
	for (size_t i = 0; i < 3; i++)
		timed_out(q, false, short_ones[i], false);
	timed_out(q, false, 200 * TU_MS, true);
	{
		char m[MSG_MAX];
		CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
	}
	n = tu_fill(q, MSG_MAX);
	CHECK(n >= ipcq_capacity(q), "filled with %zu, capacity() %zu", n, ipcq_capacity(q));
	for (size_t i = 0; i < 3; i++)
		timed_out(q, true, short_ones[i], false);
	timed_out(q, true, 200 * TU_MS, true);
	{
		char m[MSG_MAX] = {0};
		CHECK_EQ(ipcq_put_nowait(q, m, MSG_MAX), -EAGAIN);
		/* With data (room) there, a timed call does not wait. */
		int64_t t0 = tu_now_ns();
		CHECK_EQ(ipcq_get(q, m, sizeof(m), 5000 * TU_MS), MSG_MAX);
		CHECK_EQ(ipcq_put(q, m, 10, 5000 * TU_MS), 0);
		CHECK(tu_now_ns() - t0 < 1000 * TU_MS, "timed get/put with data waited %lld ms",
		      (long long)((tu_now_ns() - t0) / TU_MS));
	}
	CHECK_EQ(ipcq_close(q), 0);
}

struct peer {
	struct ipcq *q;
	int64_t delay;
	int64_t timeout;
	bool put;
};

/* Child: after @delay, puts one message (or takes one). */
static int peer_act(void *arg)
{
	struct peer *p = arg;
	char m[MSG_MAX] = "wake up";

	tu_sleep_ns(p->delay);
	if (p->put)
		return ipcq_put(p->q, m, 8, 5000 * TU_MS) == 0 ? 0 : 1;
	return ipcq_get(p->q, m, sizeof(m), 5000 * TU_MS) >= 0 ? 0 : 1;
}

/* Child: blocks (FOREVER or @timeout) in get (or put on a full queue) and must come back with success. */
static int peer_block(void *arg)
{
	struct peer *p = arg;
	char m[MSG_MAX] = {0};
	long long r;

	if (p->put)
		r = ipcq_put(p->q, m, 5, p->timeout);
	else
		r = ipcq_get(p->q, m, sizeof(m), p->timeout);
	if (!p->put && r == 8 && strcmp(m, "wake up") == 0)
		return 0;
	if (p->put && r == 0)
		return 0;
	fprintf(stderr, "child: blocked %s returned %lld %s\n", p->put ? "put" : "get", r,
		tu_errname(r));
	return 1;
}

/* The parent blocks in a timed put (@put) or get; a child does the other after 150 ms. */
static void parent_woken(struct peer *p, bool put)
{
	const char *op = put ? "put" : "get", *other = put ? "get" : "put";
	char m[MSG_MAX] = {0};
	int64_t t0, wall;
	long long r;
	pid_t pid;

	p->put = !put;
	pid = tu_fork(peer_act, p);
	t0 = tu_now_ns();
	r = put ? ipcq_put(p->q, m, 3, 5000 * TU_MS) : ipcq_get(p->q, m, sizeof(m), 5000 * TU_MS);
	wall = tu_now_ns() - t0;
	CHECK(r == (put ? 0 : 8) && (put || strcmp(m, "wake up") == 0),
	      "%s woken by a child's %s: %lld %s", op, other, r, tu_errname(r));
	CHECK(wall < 5000 * TU_MS - TU_SLACK_NS, "woken %s waited its whole timeout", op);
	printf("%s woken after %.1f ms (%s at ~150 ms)\n", op, wall / 1e6, other);
	CHECK_EQ(tu_wait(pid, 5000 * TU_MS), 0);
}

/* A child blocks in put (@put, on a full queue) or get FOREVER; the parent does the other. */
static void child_woken(struct peer *p, bool put)
{
	char m[MSG_MAX] = "wake up";
	pid_t pid;
	int ret;

	p->put = put;
	p->timeout = IPCQ_FOREVER;
	pid = tu_fork(peer_block, p);
	tu_sleep_ns(150 * TU_MS);
	if (put)
		CHECK(ipcq_get(p->q, m, sizeof(m), 1000 * TU_MS) >= 0, "get from a full queue");
	else
		CHECK_EQ(ipcq_put(p->q, m, 8, 1000 * TU_MS), 0);
	ret = tu_wait(pid, 5000 * TU_MS);
	CHECK(ret == 0, "child blocked in %s(FOREVER) not woken by a %s: %s", put ? "put" : "get",
	      put ? "get" : "put", ret == TU_TIMEDOUT ? "still blocked after 5 s" : "failed");
}

static void test_wakeups(void)
{
	struct peer p = {.delay = 150 * TU_MS};
	char m[MSG_MAX];
	size_t n;

	tu_section("blocked get/put woken by another process");
	p.q = tu_queue(backend, NULL, 2, MSG_MAX);
	if (!p.q)
		return;
	parent_woken(&p, false);
	child_woken(&p, false);
	n = tu_fill(p.q, MSG_MAX);
	CHECK(n >= 2, "filled with %zu", n);
	parent_woken(&p, true);
	child_woken(&p, true);
	while (ipcq_get_nowait(p.q, m, sizeof(m)) >= 0)
		;
	CHECK_EQ(ipcq_close(p.q), 0);
}

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

/* SIGALRM every 20 ms, without SA_RESTART, for the duration of a wait. */
static void ticker(bool on)
{
	struct itimerval it = {0};
	struct sigaction sa = {0};

	if (on) {
		sa.sa_handler = on_tick;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0; /* no SA_RESTART: the library must retry EINTR itself */
		sigaction(SIGALRM, &sa, NULL);
		it.it_value.tv_usec = 20000;
		it.it_interval.tv_usec = 20000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	if (!on) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGALRM, &sa, NULL);
	}
}

static void test_eintr(void)
{
	struct peer p = {.delay = 250 * TU_MS, .put = true};
	char m[MSG_MAX] = {0};
	int64_t t0, wall;
	long long r;
	pid_t pid;

	tu_section("signals without SA_RESTART during waits never surface");
	p.q = tu_queue(backend, NULL, 2, MSG_MAX);
	if (!p.q)
		return;

	ticks = 0;
	ticker(true);
	t0 = tu_now_ns();
	r = ipcq_get(p.q, m, sizeof(m), 300 * TU_MS);
	wall = tu_now_ns() - t0;
	ticker(false);
	printf("get, 300 ms, %d signals: %s after %.1f ms\n", (int)ticks, tu_errname(r),
	       wall / 1e6);
	CHECK(ticks >= 3, "only %d signals fired", (int)ticks);
	CHECK(r == -ETIMEDOUT, "timed get under signals: %lld %s", r, tu_errname(r));
	CHECK(wall >= 300 * TU_MS, "timed get under signals returned early, after %lld ms",
	      (long long)(wall / TU_MS));
	/* Restarting the whole timeout after each signal would never end. */
	CHECK(wall <= 300 * TU_MS + TU_SLACK_NS, "timed get under signals took %lld ms",
	      (long long)(wall / TU_MS));

	/* FOREVER get under signals: only the child's put ends it. */
	pid = tu_fork(peer_act, &p);
	ticks = 0;
	ticker(true);
	t0 = tu_now_ns();
	r = ipcq_get(p.q, m, sizeof(m), IPCQ_FOREVER);
	wall = tu_now_ns() - t0;
	ticker(false);
	printf("get FOREVER, %d signals: %lld after %.1f ms (put at ~250 ms)\n", (int)ticks, r,
	       wall / 1e6);
	CHECK(r == 8 && strcmp(m, "wake up") == 0, "get(FOREVER) under signals: %lld %s", r,
	      tu_errname(r));
	CHECK(wall >= 200 * TU_MS, "get(FOREVER) returned after %lld ms, before the put",
	      (long long)(wall / TU_MS));
	CHECK_EQ(tu_wait(pid, 5000 * TU_MS), 0);

	/* Timed put on a full queue under signals. */
	tu_fill(p.q, MSG_MAX);
	ticks = 0;
	ticker(true);
	t0 = tu_now_ns();
	r = ipcq_put(p.q, m, 4, 300 * TU_MS);
	wall = tu_now_ns() - t0;
	ticker(false);
	printf("put, 300 ms, %d signals: %s after %.1f ms\n", (int)ticks, tu_errname(r),
	       wall / 1e6);
	CHECK(r == -ETIMEDOUT, "timed put under signals: %lld %s", r, tu_errname(r));
	CHECK(wall >= 300 * TU_MS, "timed put under signals returned early, after %lld ms",
	      (long long)(wall / TU_MS));
	/* Restarting the whole timeout after each signal would never end. */
	CHECK(wall <= 300 * TU_MS + TU_SLACK_NS, "timed put under signals took %lld ms",
	      (long long)(wall / TU_MS));
	while (ipcq_get_nowait(p.q, m, sizeof(m)) >= 0)
		;
	CHECK_EQ(ipcq_close(p.q), 0);
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "BACKEND");
	test_timeouts();
	test_wakeups();
	test_eintr();
	return tu_end();
}
