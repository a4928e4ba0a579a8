/* SPDX-License-Identifier: MIT */
/*
 * A hostile peer scribbles over a named shm ring while readers and writers
 * use it: random bytes and random words anywhere in the ring's /dev/shm
 * file, plausible-but-wrong words (a seq a few positions ahead or behind,
 * head and tail moved, lengths beyond msg_max) on the hot words, and now
 * and then a "repair" that makes the ring look consistent again, so the
 * callers also meet fresh states.  Readers and writers are separate
 * processes that open the ring by name (and re-open it now and then) and
 * call get/put with timeouts from IPCQ_NOWAIT to 20 ms.  Checked: no call
 * takes longer than its timeout plus a margin, every result is a message
 * within msg_max, -EAGAIN/-ETIMEDOUT or -EBADMSG, no child crashes (ASan
 * included) or hangs (each child has an alarm(), and the parent a watchdog
 * that kills it and fails the test).
 *
 * Usage: shm_fuzz shm [milliseconds, default 3000]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_pvt.h"
#include "testutil.h"

#define CAP	8
#define MSG_MAX 48
#define READERS 2
#define WRITERS 2
#define MARGIN	TU_SLACK_NS   /* over a call's timeout: late */
#define STORM	(50 * TU_MS)  /* of scribbling, then */
#define FREEZE	(400 * TU_MS) /* of the ring left as it is: a spin outlasts MARGIN */

static const int64_t timeouts[] = {IPCQ_NOWAIT, 1 * TU_MS, 5 * TU_MS, 20 * TU_MS};

/* Counted by the children in shared memory. */
struct stats {
	_Atomic uint64_t calls, msgs, empty, bad, other, late, opens, open_fail, rounds;
	_Atomic int attached; /* workers with a handle: the scribbler starts then */
	_Atomic int64_t worst_over_ns;
	_Atomic long long other_ret;
};

static struct stats *st;
static char name[80];
static int64_t stop_at;

/* xorshift64*: per child, seeded from its pid */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void child_init(unsigned secs)
{
	rng_state = (uint64_t)getpid() * UINT64_C(0x9e3779b97f4a7c15) | 1;
	alarm(secs); /* a hung child dies of SIGALRM: the parent sees the signal */
}

static void note_worst(int64_t over)
{
	int64_t w = atomic_load(&st->worst_over_ns);

	while (over > w && !atomic_compare_exchange_weak(&st->worst_over_ns, &w, over))
		;
}

/* Checks one call's result and duration; @get: ret may be a length. */
static void account(long long ret, int64_t timeout, int64_t ns, bool get)
{
	atomic_fetch_add(&st->calls, 1);
	if (ns - timeout > 0)
		note_worst(ns - timeout);
	if (ns > timeout + MARGIN)
		atomic_fetch_add(&st->late, 1);
	if (ret >= 0 && (get ? ret <= MSG_MAX : ret == 0)) {
		atomic_fetch_add(&st->msgs, 1);
	} else if (ret == (timeout == IPCQ_NOWAIT ? -EAGAIN : -ETIMEDOUT)) {
		atomic_fetch_add(&st->empty, 1);
	} else if (ret == -EBADMSG) {
		atomic_fetch_add(&st->bad, 1);
	} else {
		atomic_fetch_add(&st->other, 1);
		atomic_store(&st->other_ret, ret);
	}
}

/* A new handle now and then: the open reads a header that may be scribbled. */
static void reopen(void)
{
	struct ipcq *q = NULL;
	int ret = ipcq_open(&q, "shm", name);

	atomic_fetch_add(&st->opens, 1);
	if (ret == 0) {
		ipcq_close(q);
	} else if (ret == -EINVAL) {
		atomic_fetch_add(&st->open_fail, 1);
	} else {
		atomic_fetch_add(&st->other, 1);
		atomic_store(&st->other_ret, ret);
	}
}

static int worker(void *arg)
{
	bool get = arg != NULL;
	unsigned char msg[MSG_MAX];
	unsigned char *buf = malloc(MSG_MAX); /* exactly msg_max: ASan sees an overrun */
	struct ipcq *q = NULL;

	child_init((unsigned)((stop_at - tu_now_ns()) / 1000000000) + 10);
	if (!buf || ipcq_open(&q, "shm", name) < 0)
		return TU_FAIL;
	atomic_fetch_add(&st->attached, 1);
	for (uint64_t n = 1; tu_now_ns() < stop_at; n++) {
		int64_t timeout = timeouts[rnd() % 4], t0 = tu_now_ns();
		long long ret;

		if (get) {
			ret = ipcq_get(q, buf, MSG_MAX, timeout);
		} else {
			size_t len = rnd() % (MSG_MAX + 1);

			memset(msg, (int)n, len);
			ret = ipcq_put(q, msg, len, timeout);
		}
		account(ret, timeout, tu_now_ns() - t0, get);
		if (ret == -EBADMSG)
			usleep(50); /* the ring stays damaged for a while: spare the CPUs */
		if (n % 256 == 0)
			reopen();
	}
	ipcq_close(q);
	free(buf);
	return 0;
}

/* A word near @base: a few positions or laps off, or a plain random one. */
static uint64_t near(uint64_t base)
{
	switch (rnd() % 4) {
	case 0:
		return base + rnd() % 8 - 4;
	case 1:
		return base + (rnd() % 5 - 2) * CAP + rnd() % 2;
	case 2:
		return base + MSG_MAX + rnd() % 4; /* for lengths */
	default:
		return rnd();
	}
}

/* Head, tail, slots and their seqs consistent again, around @pos. */
static void heal(unsigned char *base, uint64_t pos)
{
	size_t slot = ((const struct shm_hdr *)base)->slot_size;

	for (uint64_t i = 0; i < CAP; i++) {
		struct shm_slot *s =
			(struct shm_slot *)(base + SHM_HDR_SIZE + ((pos + i) % CAP) * slot);
		atomic_store(&s->seq, pos + i);
		atomic_store(&s->len, 0);
	}
	atomic_store(&((struct shm_map *)base)->head, pos);
	atomic_store(&((struct shm_map *)base)->tail, pos);
}

/*
 * One change to the ring: by @r (0-99), a random word or random bytes
 * anywhere, a slot's seq or length, head or tail near where they should
 * be, or (85-99) everything consistent again, the header too.
 */
static void scribble(unsigned char *base, const struct shm_hdr *good, uint64_t r)
{
	_Atomic uint64_t *head = &((struct shm_map *)base)->head;
	_Atomic uint64_t *tail = &((struct shm_map *)base)->tail;
	unsigned char *s = base + SHM_HDR_SIZE + (rnd() % CAP) * good->slot_size;
	uint64_t h = atomic_load(head);

	if (r < 25) {
		size_t off = (rnd() % (good->map_size / 8)) * 8;

		atomic_store((_Atomic uint64_t *)(base + off), rnd());
	} else if (r < 40) {
		size_t n = 1 + rnd() % 32, off = rnd() % (good->map_size - n);

		for (size_t i = 0; i < n; i++)
			base[off + i] = (unsigned char)rnd();
	} else if (r < 60) {
		atomic_store((_Atomic uint64_t *)s, near(h + rnd() % CAP));
	} else if (r < 70) {
		atomic_store((_Atomic uint64_t *)(s + 16), near(0));
	} else if (r < 78) {
		atomic_store(head, near(atomic_load(tail)));
	} else if (r < 85) {
		atomic_store(tail, near(h));
	} else {
		memcpy(base, good, offsetof(struct shm_hdr, ready));
		heal(base, near(h));
	}
	atomic_fetch_add(&st->rounds, 1);
}

static int scribbler(void *arg)
{
	char path[128];
	struct shm_hdr good;
	struct stat sb;
	unsigned char *base;
	size_t size;
	int fd;

	(void)arg;
	child_init((unsigned)((stop_at - tu_now_ns()) / 1000000000) + 10);
	snprintf(path, sizeof(path), "/ipcq.s.%s", name);
	fd = shm_open(path, O_RDWR, 0);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return TU_FAIL;
	size = (size_t)sb.st_size;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return TU_FAIL;
	while (atomic_load(&st->attached) < READERS + WRITERS && tu_now_ns() < stop_at)
		usleep(1000);
	memcpy(&good, base, sizeof(good));
	if (size < good.map_size)
		return TU_FAIL;
	while (tu_now_ns() < stop_at) {
		int64_t storm_end = tu_now_ns() + STORM;

		while (tu_now_ns() < storm_end) {
			scribble(base, &good, rnd() % 100);
			if (rnd() % 2 == 0)
				usleep(20); /* let the callers meet this state */
		}
		/* then a hot word wrong, left so for a while: a spin shows now */
		scribble(base, &good, 40 + rnd() % 45);
		usleep(FREEZE / 1000);
	}
	munmap(base, size);
	return 0;
}

int main(int argc, char **argv)
{
	int64_t ms = argc > 2 ? atoll(argv[2]) : 3000;
	pid_t pids[READERS + WRITERS + 1];
	struct ipcq *q = NULL;
	int n = 0, ret;

	if (strcmp(tu_begin(argc, argv, "shm [ms]"), "shm") != 0)
		tu_skip("the shm ring's own test: backend %s has no ring", argv[1]);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return TU_FAIL;
	tu_name(name, sizeof(name), "fuzz");
	ret = tu_create(&q, "shm", name, CAP, MSG_MAX);
	if (ret < 0) {
		fprintf(stderr, "create: %s\n", strerror(-ret));
		return TU_FAIL;
	}
	stop_at = tu_now_ns() + ms * TU_MS;
	for (int i = 0; i < READERS + WRITERS; i++)
		pids[n++] = tu_fork(worker, i < READERS ? (void *)1 : NULL);
	pids[n++] = tu_fork(scribbler, NULL);
	for (int i = 0; i < n; i++) {
		/* the longest call is 20 ms plus a margin: past that, a child hangs */
		int64_t left = stop_at - tu_now_ns();
		int rc = pids[i] > 0 ? tu_wait(pids[i], (left > 0 ? left : 0) + 5000 * TU_MS)
				     : TU_FAIL;

		CHECK(rc == 0, "child %d (%s): %s %d", i,
		      i < READERS ? "reader"
		      : i < n - 1 ? "writer"
				  : "scribbler",
		      rc == TU_TIMEDOUT ? "hung: killed, status" : "exit status", rc);
	}
	printf("%llu scribbles; %llu calls: %llu done, %llu empty/full, %llu -EBADMSG, %llu other; "
	       "%llu opens (%llu refused); worst overshoot %.1f ms\n",
	       (unsigned long long)st->rounds, (unsigned long long)st->calls,
	       (unsigned long long)st->msgs, (unsigned long long)st->empty,
	       (unsigned long long)st->bad, (unsigned long long)st->other,
	       (unsigned long long)st->opens, (unsigned long long)st->open_fail,
	       (double)st->worst_over_ns / 1e6);
	CHECK(st->rounds >= 1000, "only %llu scribbles", (unsigned long long)st->rounds);
	CHECK(st->calls >= 1000, "only %llu calls", (unsigned long long)st->calls);
	CHECK(st->other == 0, "%llu unexpected results, e.g. %lld (%s)",
	      (unsigned long long)st->other, st->other_ret, tu_errname(st->other_ret));
	CHECK(st->late == 0, "%llu calls took more than their timeout + %lld ms",
	      (unsigned long long)st->late, (long long)(MARGIN / TU_MS));
	CHECK_EQ(ipcq_unlink("shm", name), 0);
	ipcq_close(q);
	return tu_end();
}
