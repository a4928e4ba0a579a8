/* SPDX-License-Identifier: MIT */
/*
 * ringcmp: a 1x1 stream of SIZE-byte messages between two processes pinned
 * on CPUs 0 and 1, through the bare SPSC ring (spsc.c, the yardstick),
 * the ipcq shm ring one message per call, and the shm ring in batches;
 * the rounds alternate so that all of them sample the same (loaded)
 * machine, and each prints msgs/s and its ratio to the bare ring of the
 * same round, then the mean and the best round of each (on a loaded
 * machine the best is the nearest to a quiet one).  Every message is encoded and checked whole (msg.c) on every
 * path alike.  A development tool for the ring's speed (issue 12), not part
 * of the matrix.
 *
 * usage: ipcbench-ringcmp SIZE COUNT ROUNDS [BATCH [FLAGS]]
 *   FLAGS: the ipcq_opts.flags of the shm rows (1 IPCQ_SP, 2 IPCQ_SC, 3 both)
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipcq.h"
#include "msg.h"
#include "spsc.h"

#define MAXB 256

struct shared {
	_Atomic int ready;
	_Atomic int go;
	int64_t t0, t1;
	_Atomic int bad;
};

enum path { P_BARE, P_SHM, P_BATCH, P_N };
static const char *const names[P_N] = {"bare spsc", "shm", "shm batch"};

static size_t size, batch = 32;
static unsigned flags;
static uint64_t count;
static struct shared *sh;
static struct spsc *ring;
static struct ipcq *q;

static int64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void gate(void)
{
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		;
}

static void produce(enum path p)
{
	unsigned char *m = malloc(size * MAXB);
	struct iovec v[MAXB];

	for (size_t i = 0; i < batch; i++)
		msg_init(m + i * size, size, 0);
	gate();
	sh->t0 = now();
	for (uint64_t s = 0; s < count;) {
		if (p == P_BARE) {
			msg_encode(m, size, 0, s++);
			spsc_put(ring, m, size, 1u << 30);
		} else if (p == P_SHM) {
			msg_encode(m, size, 0, s++);
			ipcq_put(q, m, size, IPCQ_FOREVER);
		} else {
			size_t k = count - s < batch ? (size_t)(count - s) : batch, done = 0;

			for (size_t i = 0; i < k; i++) {
				msg_encode(m + i * size, size, 0, s + i);
				v[i] = (struct iovec){m + i * size, size};
			}
			while (done < k)
				done += (size_t)ipcq_put_many(q, v + done, k - done, IPCQ_FOREVER);
			s += k;
		}
	}
	free(m);
}

static void consume(enum path p)
{
	unsigned char *m = malloc(size * MAXB);
	struct iovec v[MAXB];
	unsigned pid;
	uint64_t seq;
	char why[128];

	gate();
	for (uint64_t s = 0; s < count;) {
		ssize_t n = 1;

		if (p == P_BARE) {
			v[0].iov_len = spsc_get(ring, m, 1u << 30);
		} else if (p == P_SHM) {
			v[0].iov_len = (size_t)ipcq_get(q, m, size, IPCQ_FOREVER);
		} else {
			for (size_t i = 0; i < batch; i++)
				v[i] = (struct iovec){m + i * size, size};
			n = ipcq_get_many(q, v, batch, IPCQ_FOREVER);
		}
		for (ssize_t i = 0; i < n; i++, s++)
			if (msg_check(m + (size_t)i * size, v[i].iov_len, size, 1, &pid, &seq, why,
				      sizeof(why)) ||
			    seq != s)
				atomic_fetch_add(&sh->bad, 1);
	}
	sh->t1 = now();
	free(m);
}

static double one(enum path p)
{
	struct ipcq_opts o = {.backend = "shm", .msg_max = size, .flags = flags};
	pid_t a, b;

	if (p == P_BARE ? spsc_new(&ring, size, 1024) : ipcq_create(&q, &o))
		return -1;
	sh->ready = sh->go = 0;
	if ((a = fork()) == 0) {
		pin(0);
		produce(p);
		_exit(0);
	}
	if ((b = fork()) == 0) {
		pin(1);
		consume(p);
		_exit(0);
	}
	while (atomic_load(&sh->ready) < 2)
		usleep(100);
	atomic_store(&sh->go, 1);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	if (p == P_BARE)
		spsc_free(ring);
	else
		ipcq_close(q);
	return (double)count / ((double)(sh->t1 - sh->t0) / 1e9);
}

int main(int argc, char **argv)
{
	double sum[P_N] = {0}, ratio[P_N] = {0}, best[P_N] = {0};
	int rounds;

	if (argc < 4) {
		fprintf(stderr, "usage: %s SIZE COUNT ROUNDS [BATCH [FLAGS]]\n", argv[0]);
		return 2;
	}
	size = strtoul(argv[1], NULL, 10);
	count = strtoull(argv[2], NULL, 10);
	rounds = atoi(argv[3]);
	if (argc > 4)
		batch = strtoul(argv[4], NULL, 10);
	if (argc > 5)
		flags = (unsigned)strtoul(argv[5], NULL, 10);
	if (size < 8 || batch < 1 || batch > MAXB || rounds < 1)
		return 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (int r = 0; r < rounds; r++) {
		double v[P_N];

		for (int p = 0; p < P_N; p++)
			v[p] = one((enum path)p);
		printf("round %d:", r);
		for (int p = 0; p < P_N; p++) {
			printf("  %s %.3gM/s (%.2fx)", names[p], v[p] / 1e6, v[p] / v[P_BARE]);
			sum[p] += v[p];
			ratio[p] += v[p] / v[P_BARE];
			if (v[p] > best[p])
				best[p] = v[p];
		}
		putchar('\n');
	}
	printf("mean:   ");
	for (int p = 0; p < P_N; p++)
		printf("  %s %.3gM/s (%.2fx)", names[p], sum[p] / rounds / 1e6, ratio[p] / rounds);
	/* on a loaded machine the best round is the nearest to a quiet one */
	printf("\nbest:   ");
	for (int p = 0; p < P_N; p++)
		printf("  %s %.3gM/s (%.2fx)", names[p], best[p] / 1e6, best[p] / best[P_BARE]);
	printf("\nbad messages: %d\n", atomic_load(&sh->bad));
	return atomic_load(&sh->bad) ? 1 : 0;
}
