/* SPDX-License-Identifier: MIT */
/*
 * Many producers and consumers on one queue: 4 x 4, as processes or as
 * threads.  Every message carries producer id, sequence number and a
 * checksum of its varied-length payload; consumers verify each one and mark
 * it in a shared table; the parent then checks no loss, no duplicate,
 * per-producer order as each consumer saw it, content intact.
 *
 * Usage: mpmc BACKEND [procs|threads|named] [MESSAGES] [MSG_MAX] [BATCH]
 *   named: processes, each attaching with ipcq_open() to a named queue
 *   BATCH > 1: producers put batches of 1..BATCH messages (ipcq_put_many),
 *   consumers get up to BATCH at once (ipcq_get_many)
 *   (defaults: procs 20000 1024 1; env IPCQ_MPMC_COUNT overrides MESSAGES)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "ipcq.h"
#include "testutil.h"

#define NPROD	  4
#define NCONS	  4
#define STOP	  NPROD /* producer id of the stop messages */
#define WAIT_NS	  (20000 * TU_MS)
#define BATCH_MAX 64

struct shared {
	atomic_uint bad_msg;	 /* corrupt or unknown messages */
	atomic_uint bad_order;	 /* a consumer saw a producer's seq go backwards */
	atomic_uint timeouts;	 /* gets/puts that waited WAIT_NS */
	atomic_uint errors;	 /* other errors */
	atomic_ulong got[NCONS]; /* messages per consumer */
	atomic_uchar seen[];	 /* [NPROD][per_prod]: times each message arrived */
};

static const char *backend;
static struct ipcq *q;
static char qname[64]; /* "" unless the named variant */
static struct shared *sh;
static uint64_t per_prod;
static size_t msg_max;
static size_t batch = 1;

static void complain(atomic_uint *c, const char *fmt, long long a, long long b)
{
	/* Only the first few: a broken queue would print millions. */
	if (atomic_fetch_add(c, 1) < 5) {
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

/* The handle a worker uses: its own ipcq_open() one in the named variant. */
static struct ipcq *attach(void)
{
	struct ipcq *h = NULL;
	int ret;

	if (!qname[0])
		return q;
	ret = ipcq_open(&h, backend, qname);
	if (ret < 0) {
		complain(&sh->errors, "open %lld: %lld", 0, ret);
		return NULL;
	}
	return h;
}

static void detach(struct ipcq *h)
{
	if (h && h != q)
		ipcq_close(h);
}

static int producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned char *m = malloc(msg_max * batch);
	struct iovec v[BATCH_MAX];
	struct ipcq *h = attach();
	ssize_t ret = 0;

	for (uint64_t i = 0; m && h && i < per_prod; i += (uint64_t)ret) {
		/* batches of 1..batch messages, varied */
		size_t k = batch == 1 ? 1 : 1 + (size_t)(i % batch);

		if (k > per_prod - i)
			k = (size_t)(per_prod - i);
		for (size_t j = 0; j < k; j++) {
			size_t len = tu_msg_len(id, i + j, TU_HDR, msg_max);

			tu_msg_fill(m + j * msg_max, len, id, i + j);
			v[j] = (struct iovec){.iov_base = m + j * msg_max, .iov_len = len};
		}
		if (batch == 1 && (ret = ipcq_put(h, m, v[0].iov_len, WAIT_NS)) == 0)
			ret = 1;
		else if (batch > 1)
			ret = ipcq_put_many(h, v, k, WAIT_NS);
		if (ret < 0) {
			complain(ret == -ETIMEDOUT ? &sh->timeouts : &sh->errors,
				 "producer %lld: put: %lld", id, ret);
			break;
		}
	}
	detach(h);
	free(m);
	return 0;
}

/* One message got: 1 for a stop, else 0 (recorded, or complained about). */
static int took(unsigned id, const unsigned char *m, ssize_t n, int64_t *last)
{
	unsigned p;
	uint64_t seq;

	if (tu_msg_check(m, (size_t)n, &p, &seq) || p > STOP || (p < STOP && seq >= per_prod)) {
		complain(&sh->bad_msg, "consumer %lld: bad message of %lld bytes", id, n);
		return 0;
	}
	if (p == STOP)
		return 1;
	if ((int64_t)seq <= last[p])
		complain(&sh->bad_order, "consumer: producer %lld seq %lld out of order", p,
			 (long long)seq);
	last[p] = (int64_t)seq;
	atomic_fetch_add(&sh->seen[p * per_prod + seq], 1);
	atomic_fetch_add(&sh->got[id], 1);
	return 0;
}

static int consumer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned char *m = malloc(msg_max * batch);
	struct iovec v[BATCH_MAX];
	struct ipcq *h = attach();
	int64_t last[NPROD];
	int stop = 0;

	for (int i = 0; i < NPROD; i++)
		last[i] = -1;
	while (m && h && !stop) {
		ssize_t n;

		for (size_t j = 0; j < batch; j++)
			v[j] = (struct iovec){.iov_base = m + j * msg_max, .iov_len = msg_max};
		if (batch == 1) {
			n = ipcq_get(h, m, msg_max, WAIT_NS);
			v[0].iov_len = n < 0 ? 0 : (size_t)n;
			n = n < 0 ? n : 1;
		} else {
			n = ipcq_get_many(h, v, batch, WAIT_NS);
		}
		if (n < 0) {
			complain(n == -ETIMEDOUT ? &sh->timeouts : &sh->errors,
				 "consumer %lld: get: %lld", id, n);
			break;
		}
		for (ssize_t j = 0; j < n; j++) {
			/* after our stop, only stops follow: hand them on */
			if (stop)
				CHECK_EQ(ipcq_put(h, v[j].iov_base, v[j].iov_len, WAIT_NS), 0);
			else
				stop = took(id, v[j].iov_base, (ssize_t)v[j].iov_len, last);
		}
	}
	detach(h);
	free(m);
	return 0;
}

static void *thread_main(void *arg)
{
	uintptr_t v = (uintptr_t)arg;

	if (v & 0x100)
		consumer((void *)(v & 0xff));
	else
		producer((void *)v);
	return NULL;
}

/* Stop messages, after every producer is done: one per consumer. */
static void put_stops(void)
{
	unsigned char m[TU_HDR];

	for (int i = 0; i < NCONS; i++) {
		tu_msg_fill(m, TU_HDR, STOP, (uint64_t)i);
		int ret = ipcq_put(q, m, TU_HDR, WAIT_NS);
		CHECK(ret == 0, "stop message: %d %s", ret, tu_errname(ret));
	}
}

static void run_procs(int64_t deadline)
{
	pid_t prod[NPROD], cons[NCONS];

	for (int i = 0; i < NCONS; i++)
		cons[i] = tu_fork(consumer, (void *)(uintptr_t)i);
	for (int i = 0; i < NPROD; i++)
		prod[i] = tu_fork(producer, (void *)(uintptr_t)i);
	for (int i = 0; i < NPROD; i++) {
		int ret = tu_wait(prod[i], deadline - tu_now_ns());
		CHECK(ret == 0, "producer %d: exit %d%s", i, ret,
		      ret == TU_TIMEDOUT ? " (hung: killed)" : "");
	}
	put_stops();
	for (int i = 0; i < NCONS; i++) {
		int ret = tu_wait(cons[i], deadline - tu_now_ns() + WAIT_NS);
		CHECK(ret == 0, "consumer %d: exit %d%s", i, ret,
		      ret == TU_TIMEDOUT ? " (hung: killed)" : "");
	}
}

static void run_threads(void)
{
	pthread_t prod[NPROD], cons[NCONS];

	/* Threads cannot be killed: every wait in them has WAIT_NS instead. */
	for (uintptr_t i = 0; i < NCONS; i++)
		CHECK_EQ(pthread_create(&cons[i], NULL, thread_main, (void *)(i | 0x100)), 0);
	for (uintptr_t i = 0; i < NPROD; i++)
		CHECK_EQ(pthread_create(&prod[i], NULL, thread_main, (void *)i), 0);
	for (int i = 0; i < NPROD; i++)
		pthread_join(prod[i], NULL);
	put_stops();
	for (int i = 0; i < NCONS; i++)
		pthread_join(cons[i], NULL);
}

int main(int argc, char **argv)
{
	bool threads = false;
	uint64_t total = 20000, lost = 0, dup = 0;
	size_t bytes;
	int64_t t0, wall;
	int ret;

	backend = tu_begin(argc, argv, "BACKEND [procs|threads|named] [MESSAGES] [MSG_MAX]");
	if (argc > 2)
		threads = !strcmp(argv[2], "threads");
	if (argc > 2 && !strcmp(argv[2], "named"))
		tu_name(qname, sizeof(qname), "mpmc");
	if (argc > 3)
		total = strtoull(argv[3], NULL, 10);
	if (getenv("IPCQ_MPMC_COUNT"))
		total = strtoull(getenv("IPCQ_MPMC_COUNT"), NULL, 10);
	msg_max = argc > 4 ? strtoul(argv[4], NULL, 10) : 1024;
	if (msg_max < TU_HDR)
		msg_max = TU_HDR;
	batch = argc > 5 ? strtoul(argv[5], NULL, 10) : 1;
	if (batch < 1 || batch > BATCH_MAX)
		tu_skip("BATCH %zu: 1..%d", batch, BATCH_MAX);
	per_prod = (total + NPROD - 1) / NPROD;

	bytes = sizeof(*sh) + NPROD * per_prod;
	sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return TU_FAIL;
	}
	ret = tu_create(&q, backend, qname[0] ? qname : NULL, 0, msg_max);
	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	if (ret)
		return tu_end();
	tu_section("%s: %d producers x %d consumers (%s), %llu messages of %d..%zu bytes, "
		   "capacity %zu, batches of up to %zu",
		   backend, NPROD, NCONS,
		   threads    ? "threads"
		   : qname[0] ? "processes, named queue"
			      : "processes",
		   (unsigned long long)(per_prod * NPROD), TU_HDR, msg_max, ipcq_capacity(q),
		   batch);
	t0 = tu_now_ns();
	if (threads)
		run_threads();
	else
		run_procs(t0 + 600000 * TU_MS);
	wall = tu_now_ns() - t0;

	for (uint64_t i = 0; i < NPROD * per_prod; i++) {
		unsigned c = atomic_load(&sh->seen[i]);

		if (c == 0 && lost++ < 5)
			fprintf(stderr, "lost: producer %llu seq %llu\n",
				(unsigned long long)(i / per_prod),
				(unsigned long long)(i % per_prod));
		if (c > 1 && dup++ < 5)
			fprintf(stderr, "duplicated x%u: producer %llu seq %llu\n", c,
				(unsigned long long)(i / per_prod),
				(unsigned long long)(i % per_prod));
	}
	printf("%.2f s, %.0f msg/s; per consumer:", wall / 1e9,
	       (double)(NPROD * per_prod) / (wall / 1e9));
	for (int i = 0; i < NCONS; i++)
		printf(" %lu", (unsigned long)atomic_load(&sh->got[i]));
	putchar('\n');
	CHECK_EQ(lost, 0);
	CHECK_EQ(dup, 0);
	CHECK_EQ(atomic_load(&sh->bad_msg), 0);
	CHECK_EQ(atomic_load(&sh->bad_order), 0);
	CHECK_EQ(atomic_load(&sh->timeouts), 0);
	CHECK_EQ(atomic_load(&sh->errors), 0);
	{
		unsigned char *m = malloc(msg_max);
		CHECK_EQ(ipcq_get_nowait(q, m, msg_max), -EAGAIN); /* nothing extra */
		free(m);
	}
	CHECK_EQ(ipcq_close(q), 0);
	if (qname[0])
		CHECK_EQ(ipcq_unlink(backend, qname), 0);
	munmap(sh, bytes);
	return tu_end();
}
