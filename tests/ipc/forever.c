/* SPDX-License-Identifier: MIT */
/*
 * IPCQ_FOREVER waits under load: P producers and C consumers (processes or
 * threads, anonymous or named queue) put and get FOREVER on a small queue, so
 * both sides block often, while SIGALRM without SA_RESTART fires every
 * millisecond; one more consumer mixes NOWAIT and short timed gets.  Every
 * message arrives exactly once, per-producer order holds per consumer, no
 * -EINTR surfaces, and no descriptor or IPC object is left behind.
 *
 * Usage: forever BACKEND
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "ipcq.h"
#include "testutil.h"

#define P	3
#define C	3 /* FOREVER consumers; one mixed consumer more */
#define N	20000
#define MSG_MAX 64

struct shared {
	_Atomic unsigned char seen[P][N];
	atomic_uint errors;
	atomic_uint stopped;
};

static const char *backend;
static struct shared *sh;
static struct ipcq *q;
static char qname[64];
static bool named, threads;

static void on_alarm(int sig)
{
	(void)sig;
}

static void ticker(void)
{
	struct sigaction sa = {0};
	struct itimerval it = {{0, 1000}, {0, 1000}};

	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void untick(void)
{
	struct itimerval it = {0};

	setitimer(ITIMER_REAL, &it, NULL);
}

static struct ipcq *attach(void)
{
	struct ipcq *h = q;

	if (named && !threads && ipcq_open(&h, backend, qname) < 0)
		return NULL;
	return h;
}

static void detach(struct ipcq *h)
{
	if (h != q)
		ipcq_close(h);
}

static int producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned char m[MSG_MAX];
	struct ipcq *h = attach();

	if (!h)
		return 1;
	for (uint64_t i = 0; i < N; i++) {
		size_t len = tu_msg_len(id, i, TU_HDR, MSG_MAX);
		int ret;

		tu_msg_fill(m, len, id, i);
		ret = ipcq_put(h, m, len, IPCQ_FOREVER);
		if (ret) {
			fprintf(stderr, "producer %u: put %llu: %s\n", id, (unsigned long long)i,
				tu_errname(ret));
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
	}
	detach(h);
	return 0;
}

/* mode 0: FOREVER; 1: NOWAIT and 1 ms timeouts in turn. Ends on a zero-length message. */
static int consume(unsigned mode)
{
	unsigned char m[MSG_MAX];
	uint64_t last[P];
	struct ipcq *h = attach();
	unsigned k = 0;

	if (!h)
		return 1;
	for (unsigned i = 0; i < P; i++)
		last[i] = UINT64_MAX;
	for (;;) {
		int64_t t = mode == 0 ? IPCQ_FOREVER : (k++ & 1) ? IPCQ_NOWAIT : 1000000;
		ssize_t n = ipcq_get(h, m, sizeof(m), t);
		unsigned p;
		uint64_t seq;

		if (n == 0)
			break;
		if ((n == -EAGAIN && t == IPCQ_NOWAIT) || (n == -ETIMEDOUT && t > 0))
			continue;
		if (n < 0 || tu_msg_check(m, (size_t)n, &p, &seq) || p >= P || seq >= N ||
		    (last[p] != UINT64_MAX && seq <= last[p])) {
			fprintf(stderr, "consumer: %zd %s\n", n, tu_errname(n));
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		last[p] = seq;
		atomic_fetch_add(&sh->seen[p][seq], 1);
	}
	atomic_fetch_add(&sh->stopped, 1);
	detach(h);
	return 0;
}

static int consumer(void *arg)
{
	return consume((unsigned)(uintptr_t)arg);
}

static void *thread_main(void *arg)
{
	uintptr_t a = (uintptr_t)arg;

	if (a >= 100)
		return (void *)(intptr_t)consumer((void *)(a - 100));
	return (void *)(intptr_t)producer((void *)a);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void run(bool with_name, bool with_threads)
{
	pid_t pids[P + C + 1];
	pthread_t tids[P + C + 1];
	int fds0 = count_fds(), ret;

	named = with_name;
	threads = with_threads;
	tu_section("%s %s: %d producers, %d FOREVER consumers + 1 mixed, signals",
		   named ? "named" : "anonymous", threads ? "threads" : "processes", P, C);
	memset(sh, 0, sizeof(*sh));
	if (named)
		tu_name(qname, sizeof(qname), "forever");
	ret = tu_create(&q, backend, named ? qname : NULL, 2, MSG_MAX);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	if (ret)
		return;
	ticker();
	for (unsigned i = 0; i < P + C + 1; i++) {
		uintptr_t a = i < P ? i : 100 + (i == P + C);

		if (threads)
			CHECK_EQ(pthread_create(&tids[i], NULL, thread_main, (void *)a), 0);
		else
			pids[i] = tu_fork(i < P ? producer : consumer,
					  (void *)(a >= 100 ? a - 100 : a));
	}
	if (threads) {
		for (unsigned i = 0; i < P; i++)
			pthread_join(tids[i], NULL);
	} else {
		for (unsigned i = 0; i < P; i++)
			CHECK_EQ(tu_wait(pids[i], 60000 * TU_MS), 0);
	}
	for (unsigned i = 0; i < C + 1; i++)
		CHECK_EQ(ipcq_put(q, "", 0, IPCQ_FOREVER), 0);
	if (threads) {
		for (unsigned i = P; i < P + C + 1; i++)
			pthread_join(tids[i], NULL);
	} else {
		for (unsigned i = P; i < P + C + 1; i++)
			CHECK_EQ(tu_wait(pids[i], 60000 * TU_MS), 0);
	}
	untick();
	CHECK_EQ(atomic_load(&sh->errors), 0);
	CHECK_EQ(atomic_load(&sh->stopped), C + 1);
	size_t bad = 0;
	for (unsigned p = 0; p < P; p++)
		for (unsigned i = 0; i < N; i++)
			bad += sh->seen[p][i] != 1;
	CHECK(bad == 0, "%zu messages lost or duplicated", bad);
	unsigned char m[MSG_MAX];
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_close(q), 0);
	if (named)
		CHECK_EQ(ipcq_unlink(backend, qname), 0);
	CHECK(count_fds() == fds0, "descriptors: %d before, %d after", fds0, count_fds());
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "forever BACKEND");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tu_skip("mmap: %s", strerror(errno));
	run(false, false);
	run(false, true);
	run(true, false);
	run(true, true);
	munmap(sh, sizeof(*sh));
	return tu_end();
}
