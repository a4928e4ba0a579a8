/* SPDX-License-Identifier: MIT */
/*
 * shm ring internals (through ipc/shm_pvt.h): layout, slot sequence numbers,
 * wrap of the 64-bit indices past UINT64_MAX, no futex call on the
 * uncontended path, a futex sleep woken by a put from another process, a
 * waiter that stops spinning when its peer shares its CPU, and a named ring
 * seen by an opener.  Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_pvt.h"

static int failures;

#define CHECK(c)                                                                      \
	do {                                                                          \
		if (!(c)) {                                                           \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static uint64_t futex_calls(struct ipcq *q)
{
	return atomic_load(&shm_priv(q)->futex_calls);
}

static struct ipcq *mk(size_t cap, size_t msg_max)
{
	struct ipcq_opts o = {.backend = "shm", .capacity = cap, .msg_max = msg_max};
	struct ipcq *q = NULL;
	int ret = ipcq_create(&q, &o);

	if (ret < 0) {
		fprintf(stderr, "ipcq_create(shm, %zu, %zu): %s\n", cap, msg_max, strerror(-ret));
		exit(1);
	}
	return q;
}

static void test_layout(void)
{
	struct ipcq *q = mk(5, 64);
	struct shm_priv *p = shm_priv(q);
	const struct shm_hdr *h = (const struct shm_hdr *)p->base;

	CHECK(ipcq_capacity(q) == 8); /* rounded up to a power of two */
	CHECK(h->magic == SHM_MAGIC && h->version == SHM_VERSION && atomic_load(&h->ready) == 1);
	CHECK(p->slot_size % SHM_LINE == 0 && p->slot_size >= SHM_SLOT_HDR + 64);
	CHECK((unsigned char *)p->tail - (unsigned char *)p->head != 0);
	CHECK((uintptr_t)p->tail % SHM_LINE == 0 && (uintptr_t)p->head % SHM_LINE == 0);
	CHECK((unsigned char *)p->head - (unsigned char *)p->tail >= (long)SHM_REGION);
	for (uint64_t i = 0; i < 8; i++)
		CHECK(atomic_load(&shm_slot(p, i)->seq) == i);
	ipcq_close(q);

	q = mk(0, 4096);
	CHECK(ipcq_capacity(q) == 1024); /* the default */
	ipcq_close(q);
	q = mk(0, 1 << 20);
	CHECK(ipcq_capacity(q) >= 2 && ipcq_capacity(q) * (1 << 20) <= (32u << 20));
	ipcq_close(q);
	q = mk(1, 8);
	CHECK(ipcq_capacity(q) == 2); /* Vyukov's ring needs two slots */
	ipcq_close(q);
}

/* Fill and drain across the wrap of the 64-bit indices; check slot seqs. */
static void test_wrap(void)
{
	struct ipcq *q = mk(4, 32);
	struct shm_priv *p = shm_priv(q);
	uint64_t start = UINT64_MAX - 5, calls;
	char buf[32];
	int round, i;

	shm_test_set_pos(p, start);
	calls = futex_calls(q);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 4; i++) {
			char m[32];
			int n = snprintf(m, sizeof(m), "r%d-%d", round, i);
			CHECK(ipcq_put_nowait(q, m, (size_t)n) == 0);
		}
		CHECK(ipcq_put_nowait(q, "x", 1) == -EAGAIN);
		CHECK(ipcq_qsize(q) == 4 && ipcq_full(q));
		/* the slot at head holds a message: seq == pos + 1 */
		uint64_t h = atomic_load(p->head);
		CHECK(atomic_load(&shm_slot(p, h)->seq) == h + 1);
		for (i = 0; i < 4; i++) {
			char m[32];
			int n = snprintf(m, sizeof(m), "r%d-%d", round, i);
			ssize_t r = ipcq_get_nowait(q, buf, sizeof(buf));
			CHECK(r == n && memcmp(buf, m, (size_t)n) == 0);
		}
		/* a freed slot waits for the next lap: seq == pos + capacity */
		CHECK(atomic_load(&shm_slot(p, h)->seq) == h + 4);
		CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) == -EAGAIN);
		CHECK(ipcq_qsize(q) == 0 && ipcq_empty(q));
	}
	CHECK(atomic_load(p->head) == start + 20 && atomic_load(p->head) < start); /* wrapped */
	CHECK(futex_calls(q) == calls); /* uncontended: no system call at all */
	ipcq_close(q);
}

/* Zero-length and full-size messages keep their exact length. */
static void test_lengths(void)
{
	struct ipcq *q = mk(4, 100);
	unsigned char m[100], b[100];

	for (int i = 0; i < 100; i++)
		m[i] = (unsigned char)(i * 7 + 1);
	CHECK(ipcq_put_nowait(q, m, 0) == 0);
	CHECK(ipcq_put_nowait(q, m, 100) == 0);
	CHECK(ipcq_put_nowait(q, m, 101) == -EMSGSIZE);
	CHECK(ipcq_get_nowait(q, b, sizeof(b)) == 0);
	CHECK(ipcq_get_nowait(q, b, sizeof(b)) == 100 && memcmp(m, b, 100) == 0);
	CHECK(ipcq_get_nowait(q, b, 99) == -EINVAL);
	ipcq_close(q);
}

/*
 * A get that sleeps on the futex is woken by a put from another process,
 * long before its timeout; a get that times out never returns early.
 */
static void test_futex(void)
{
	struct ipcq *q = mk(4, 16);
	char buf[16];
	int64_t t0;
	ssize_t r;
	pid_t pid;
	int st;

	t0 = __ipcq_now_ns();
	CHECK(ipcq_get(q, buf, sizeof(buf), 30000000) == -ETIMEDOUT);
	CHECK(__ipcq_now_ns() - t0 >= 30000000);
	CHECK(futex_calls(q) > 0); /* it slept instead of spinning */

	pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(ipcq_put_nowait(q, "wake", 4) == 0 ? 0 : 1);
	}
	t0 = __ipcq_now_ns();
	r = ipcq_get(q, buf, sizeof(buf), 5000000000);
	CHECK(r == 4 && memcmp(buf, "wake", 4) == 0);
	CHECK(__ipcq_now_ns() - t0 < 3000000000); /* woken, not timed out */
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* a sleeper killed by SIGKILL leaves its flag set: one wake clears it */
	pid = fork();
	if (pid == 0) {
		ipcq_get(q, buf, sizeof(buf), IPCQ_FOREVER);
		_exit(1);
	}
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK(ipcq_put_nowait(q, "a", 1) == 0);
	uint64_t calls = futex_calls(q);
	CHECK(ipcq_put_nowait(q, "b", 1) == 0);
	CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) == 1 && buf[0] == 'a');
	CHECK(futex_calls(q) == calls); /* healed: no more wake calls */
	ipcq_close(q);
}

/* A child claims a slot like a producer (or consumer) would, then dies unfinished. */
static pid_t die_claiming(struct shm_priv *p, bool consumer)
{
	pid_t pid = fork();

	if (pid == 0) {
		_Atomic uint64_t *idx = consumer ? p->head : p->tail;
		uint64_t pos = atomic_fetch_add(idx, 1);
		uint64_t tag = (uint64_t)(uint32_t)getpid() << 32 |
			       (uint32_t)(pos << 2 | (consumer ? SHM_OWN_GET : SHM_OWN_PUT));

		atomic_store(&shm_slot(p, pos)->owner, tag);
		_exit(0);
	}
	return pid;
}

/*
 * A producer or consumer that dies between its claim and its publish no
 * longer stalls the ring: a waiter repairs the slot (zombie or reaped).
 */
static void test_repair(void)
{
	struct ipcq *q = mk(4, 16);
	struct shm_priv *p = shm_priv(q);
	char buf[16];
	pid_t pid;
	int i;

	/* dead producer, still a zombie: its slot becomes a hole consumers skip */
	pid = die_claiming(p, false);
	usleep(50000);
	CHECK(ipcq_put_nowait(q, "after", 5) == 0);
	CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) == -EAGAIN); /* the stalled slot */
	CHECK(ipcq_get(q, buf, sizeof(buf), 2000000000) == 5 && !memcmp(buf, "after", 5));
	CHECK(atomic_load(&p->repairs) == 1);
	waitpid(pid, NULL, 0);

	/* dead consumer, reaped: producers of the next lap get its slot back */
	for (i = 0; i < 4; i++)
		CHECK(ipcq_put_nowait(q, "m", 1) == 0);
	pid = die_claiming(p, true);
	waitpid(pid, NULL, 0);
	for (i = 0; i < 3; i++)
		CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) == 1);
	CHECK(ipcq_put_nowait(q, "n", 1) == -EAGAIN); /* the next slot is the stalled one */
	CHECK(ipcq_put(q, "z", 1, 2000000000) == 0);
	CHECK(atomic_load(&p->repairs) == 2);
	for (i = 0; i < 3; i++)
		CHECK(ipcq_put_nowait(q, "n", 1) == 0);
	CHECK(ipcq_put_nowait(q, "n", 1) == -EAGAIN);
	for (i = 0; i < 4; i++)
		CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) == 1 && buf[0] == (i ? 'n' : 'z'));
	CHECK(ipcq_qsize(q) == 0);

	/*
	 * dead right after its CAS, before its owner tag: its intent record
	 * (registered by a first put) names the claim
	 */
	pid = fork();
	if (pid == 0) {
		struct shm_rec *recs = shm_map(p)->recs;
		uint64_t pos;

		ipcq_put_nowait(q, "r", 1);
		ipcq_get_nowait(q, buf, sizeof(buf));
		pos = atomic_load(p->tail);
		for (int r = 0; r < SHM_RECS; r++)
			if (atomic_load(&recs[r].pid) == (uint64_t)getpid())
				for (int t = 0; t < SHM_REC_THREADS; t++)
					atomic_store(&recs[r].intent[t], pos << 1);
		atomic_fetch_add(p->tail, 1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHECK(ipcq_put_nowait(q, "gap", 3) == 0);
	CHECK(ipcq_get(q, buf, sizeof(buf), 2000000000) == 3 && !memcmp(buf, "gap", 3));
	CHECK(atomic_load(&p->repairs) == 3);

	/* a live claimant (this process) is never overtaken */
	atomic_store(&shm_slot(p, atomic_fetch_add(p->tail, 1))->owner,
		     (uint64_t)(uint32_t)getpid() << 32 |
			     (uint32_t)((atomic_load(p->tail) - 1) << 2));
	CHECK(ipcq_get(q, buf, sizeof(buf), 60000000) == -ETIMEDOUT);
	CHECK(atomic_load(&p->repairs) == 3);
	ipcq_close(q);
}

/* The child of ping_pong(): echoes @n messages, each after @delay_us. */
static void echo(struct ipcq *q[2], int n, unsigned delay_us)
{
	char buf[16];

	for (int i = 0; i < n; i++) {
		ssize_t r = ipcq_get(q[0], buf, sizeof(buf), 5000000000);

		if (r < 0)
			_exit(1);
		if (delay_us)
			usleep(delay_us);
		if (ipcq_put(q[1], buf, (size_t)r, 5000000000) != 0)
			_exit(1);
	}
	_exit(0);
}

/* @n round trips with a child pinned to @cpu; false on any failure. */
static bool ping_pong(struct ipcq *q[2], int cpu, int n, unsigned delay_us)
{
	cpu_set_t one;
	char buf[16];
	bool ok = true;
	pid_t pid;
	int st;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pid = fork();
	if (pid == 0) {
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			_exit(1);
		echo(q, n, delay_us);
	}
	for (int i = 0; pid > 0 && ok && i < n; i++) {
		char m[4] = {'p', (char)i, (char)(i >> 8), 'q'};

		ok = ipcq_put(q[0], m, 4, 5000000000) == 0 &&
		     ipcq_get(q[1], buf, sizeof(buf), 5000000000) == 4 && !memcmp(buf, m, 4);
	}
	if (!ok && pid > 0)
		kill(pid, SIGKILL);
	return pid > 0 && waitpid(pid, &st, 0) == pid && ok && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

/*
 * A waiter woken by a peer on its own CPU learns that spinning is useless
 * there (the peer cannot run while it spins) and sleeps at once; one wake
 * from another CPU makes it spin again.  Internal state, not timing: the
 * handle's streak (shm.c: spin_for()).
 */
static void test_same_cpu(void)
{
	struct ipcq *q[2] = {mk(4, 16), mk(4, 16)};
	cpu_set_t old, one;
	int cpu = sched_getcpu(), other = -1;

	if (cpu < 0 || sched_getaffinity(0, sizeof(old), &old) < 0) {
		printf("shm_ring: same-cpu test skipped: no affinity (%s)\n", strerror(errno));
		goto out;
	}
	for (int c = 0; c < CPU_SETSIZE && other < 0; c++)
		if (c != cpu && CPU_ISSET(c, &old))
			other = c;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0) {
		printf("shm_ring: same-cpu test skipped: cannot pin (%s)\n", strerror(errno));
		goto out;
	}
	CHECK(atomic_load(&shm_priv(q[1])->lone) == 0);
	CHECK(ping_pong(q, cpu, 500, 0));
	CHECK(atomic_load(&shm_priv(q[1])->lone) >= SHM_LONE_AFTER);
	if (other >= 0) {
		/* the echo sleeps 20 ms: our wait sleeps, woken from @other */
		CHECK(ping_pong(q, other, 2, 20000));
		CHECK(atomic_load(&shm_priv(q[1])->lone) == 0);
	} else {
		printf("shm_ring: one CPU: no cross-CPU wake to test\n");
	}
	CHECK(sched_setaffinity(0, sizeof(old), &old) == 0);
out:
	ipcq_close(q[0]);
	ipcq_close(q[1]);
}

static void test_named(void)
{
	struct ipcq_opts o = {.backend = "shm", .capacity = 16, .msg_max = 256};
	struct ipcq *a = NULL, *b = NULL;
	char name[64], path[96], buf[256];

	CHECK(__ipcq_random_name(name, sizeof(name), "shmring-") == 0);
	o.name = name;
	CHECK(ipcq_open(&b, "shm", name) == -ENOENT);
	CHECK(ipcq_create(&a, &o) == 0);
	CHECK(ipcq_create(&b, &o) == -EEXIST);
	CHECK(ipcq_open(&b, "shm", name) == 0);
	if (a && b) {
		CHECK(ipcq_capacity(b) == 16 && ipcq_msg_max(b) == 256);
		CHECK(ipcq_put_nowait(a, "hello", 5) == 0);
		CHECK(ipcq_get_nowait(b, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5));
		snprintf(path, sizeof(path), "/dev/shm/ipcq.s.%s", name);
		struct stat st;
		CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	}
	CHECK(ipcq_unlink("shm", name) == 0);
	CHECK(ipcq_unlink("shm", name) == -ENOENT);
	if (b)
		ipcq_close(b);
	if (a)
		ipcq_close(a);

	/* not ours: a /dev/shm object of the right name but garbage inside */
	snprintf(path, sizeof(path), "/ipcq.s.%s", name);
	int fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(ftruncate(fd, 4096) == 0);
		struct shm_hdr h = {.magic = 42};
		atomic_store(&h.ready, 1);
		CHECK(pwrite(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h));
		close(fd);
		CHECK(ipcq_open(&b, "shm", name) == -EINVAL);
		shm_unlink(path);
	}
}

int main(void)
{
	test_layout();
	test_wrap();
	test_lengths();
	test_futex();
	test_repair();
	test_same_cpu();
	test_named();
	if (failures) {
		fprintf(stderr, "shm_ring: %d failure(s)\n", failures);
		return 1;
	}
	printf("shm_ring: ok\n");
	return 0;
}
