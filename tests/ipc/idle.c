/* SPDX-License-Identifier: MIT */
/*
 * No idle burn: a consumer waiting on an empty queue (IPCQ_FOREVER, and a
 * long timeout) and a producer waiting on a full one use well under 1% of a
 * core over about a second: after its short bounded spin a waiter sleeps.
 * The waiter is a child process that measures its own CPU time
 * (getrusage), so that nothing else of the test counts.
 *
 * Usage: idle BACKEND
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 64
#define IDLE_NS (1000 * TU_MS)

struct waiter {
	struct ipcq *q;
	bool put; /* wait for room on a full queue, else for a message */
	int64_t timeout;
	long long ret;	/* what the wait returned */
	int64_t cpu_ns; /* the child's CPU time, user + system, during it */
	int64_t wall_ns;
};

static int64_t self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * INT64_C(1000000000) +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * INT64_C(1000);
}

static int wait_child(void *arg)
{
	struct waiter *w = arg;
	char m[MSG_MAX] = {0};
	int64_t c0 = self_cpu_ns(), t0 = tu_now_ns();

	w->ret = w->put ? ipcq_put(w->q, m, MSG_MAX, w->timeout)
			: ipcq_get(w->q, m, sizeof(m), w->timeout);
	w->wall_ns = tu_now_ns() - t0;
	w->cpu_ns = self_cpu_ns() - c0;
	return 0;
}

static void idle_round(const char *backend, bool put, int64_t timeout)
{
	struct waiter *w =
		mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char m[MSG_MAX] = {0};
	pid_t pid;
	int ret;

	tu_section("a %s waiting %s on %s queue", put ? "producer" : "consumer",
		   timeout < 0 ? "forever" : "with a timeout", put ? "a full" : "an empty");
	if (w == MAP_FAILED) {
		CHECK(0, "mmap failed");
		return;
	}
	ret = tu_create(&w->q, backend, NULL, 4, MSG_MAX);
	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	if (ret)
		goto out;
	if (put)
		tu_fill(w->q, MSG_MAX);
	w->put = put;
	w->timeout = timeout;
	pid = tu_fork(wait_child, w);
	CHECK(pid > 0, "fork: %d", (int)pid);
	tu_sleep_ns(IDLE_NS);
	/* end a wait forever: room for the producer, a message for the consumer */
	if (timeout < 0)
		CHECK_EQ(put ? ipcq_get(w->q, m, sizeof(m), IDLE_NS)
			     : ipcq_put(w->q, m, MSG_MAX, IDLE_NS),
			 put ? MSG_MAX : 0);
	if (pid > 0)
		CHECK_EQ(tu_wait(pid, 10 * IDLE_NS), 0);
	printf("waited %.0f ms, %.2f ms CPU (%.3f%% of a core)\n", w->wall_ns / 1e6,
	       w->cpu_ns / 1e6, 100.0 * (double)w->cpu_ns / (double)w->wall_ns);
	CHECK_EQ(w->ret, timeout >= 0 ? -ETIMEDOUT : put ? 0 : MSG_MAX);
	CHECK(w->wall_ns >= IDLE_NS * 9 / 10, "the wait ended after %lld ms",
	      (long long)(w->wall_ns / TU_MS));
	/* 1% of a core; the spin before sleeping is some microseconds */
	CHECK(w->cpu_ns * 100 < w->wall_ns, "an idle waiter used %.2f ms of CPU in %.0f ms",
	      w->cpu_ns / 1e6, w->wall_ns / 1e6);
	CHECK_EQ(ipcq_close(w->q), 0);
out:
	munmap(w, sizeof(*w));
}

int main(int argc, char **argv)
{
	const char *backend = tu_begin(argc, argv, "idle BACKEND");

	idle_round(backend, false, IPCQ_FOREVER);
	idle_round(backend, false, IDLE_NS * 12 / 10);
	idle_round(backend, true, IPCQ_FOREVER);
	idle_round(backend, true, IDLE_NS * 12 / 10);
	return tu_end();
}
