/* SPDX-License-Identifier: MIT */
/*
 * Faults: processes killed by SIGKILL at bad moments.
 *  - a consumer killed while blocked in get: the next consumer gets the
 *    next message, the queue stays usable;
 *  - a producer killed while blocked in put on a full queue: the queue
 *    drains and stays usable, nothing of the dead producer appears later;
 *  - a producer (a consumer) killed mid-stream while the others go on: they
 *    finish, every delivered message is whole, none is duplicated,
 *    per-producer order holds; only the message in flight at the moment of
 *    the kill may be lost.  Messages up to 8 KiB, so that the pipe backend
 *    frames and locks;
 *    The same with batches of BATCH (then a batch in flight may be lost);
 *  - every holder of an anonymous queue killed: nothing remains (SysV: what
 *    remains is what ipcq_clean() removes).
 * Every wait has a timeout: a hang is a failure, not a stuck test.
 *
 * Usage: faults BACKEND
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

#define MSG_MAX 256
#define WAIT_NS (10000 * TU_MS)

static const char *backend;

static struct ipcq *make(size_t cap)
{
	struct ipcq *q = NULL;
	int ret = tu_create(&q, backend, NULL, cap, MSG_MAX);

	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	return q;
}

/* Blocks in get (put when @arg's low bit says so) forever; only SIGKILL ends it. */
static struct ipcq *blocked_q;
static int block_forever(void *arg)
{
	char m[MSG_MAX] = {0};

	if ((uintptr_t)arg & 1)
		ipcq_put(blocked_q, m, MSG_MAX, IPCQ_FOREVER);
	else
		ipcq_get(blocked_q, m, sizeof(m), IPCQ_FOREVER);
	return 3; /* it was never meant to return */
}

static int get_one(void *arg)
{
	char m[MSG_MAX];
	ssize_t n = ipcq_get(blocked_q, m, sizeof(m), WAIT_NS);

	(void)arg;
	return n == 5 && !memcmp(m, "hello", 5) ? 0 : 1;
}

static void kill_and_reap(pid_t pid, const char *who)
{
	int ret;

	CHECK(kill(pid, SIGKILL) == 0, "kill %s", who);
	ret = tu_wait(pid, 5000 * TU_MS);
	CHECK(ret == -SIGKILL, "%s: status %d, want killed by SIGKILL (it returned early?)", who,
	      ret);
}

static void test_blocked_consumer(void)
{
	char m[MSG_MAX];
	pid_t pid;
	int ret;

	tu_section("a consumer killed by SIGKILL while blocked in get");
	blocked_q = make(4);
	if (!blocked_q)
		return;
	pid = tu_fork(block_forever, (void *)0);
	tu_sleep_ns(200 * TU_MS); /* let it block */
	kill_and_reap(pid, "blocked consumer");
	/* Another consumer waits; our put must reach it. */
	pid = tu_fork(get_one, NULL);
	tu_sleep_ns(100 * TU_MS);
	CHECK_EQ(ipcq_put(blocked_q, "hello", 5, WAIT_NS), 0);
	ret = tu_wait(pid, WAIT_NS + 5000 * TU_MS);
	CHECK(ret == 0, "the next consumer did not get the message: exit %d%s", ret,
	      ret == TU_TIMEDOUT ? " (hung)" : "");
	if (ret)
		while (ipcq_get_nowait(blocked_q, m, sizeof(m)) >= 0)
			;
	CHECK_EQ(ipcq_put_nowait(blocked_q, "again", 5), 0);
	CHECK_EQ(ipcq_get(blocked_q, m, sizeof(m), WAIT_NS), 5);
	CHECK_EQ(ipcq_get_nowait(blocked_q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_close(blocked_q), 0);
}

static void test_blocked_producer(void)
{
	char m[MSG_MAX] = {0};
	size_t n = 0, got = 0;
	pid_t pid;

	tu_section("a producer killed by SIGKILL while blocked in put on a full queue");
	blocked_q = make(4);
	if (!blocked_q)
		return;
	while (n < 100000 && ipcq_put_nowait(blocked_q, m, MSG_MAX) == 0)
		n++;
	pid = tu_fork(block_forever, (void *)1);
	tu_sleep_ns(200 * TU_MS);
	kill_and_reap(pid, "blocked producer");
	while (ipcq_get(blocked_q, m, sizeof(m), 200 * TU_MS) >= 0 && got <= n)
		got++;
	CHECK(got == n, "queued %zu before the kill, drained %zu after it", n, got);
	CHECK_EQ(ipcq_put_nowait(blocked_q, "again", 5), 0);
	CHECK_EQ(ipcq_get(blocked_q, m, sizeof(m), WAIT_NS), 5);
	CHECK_EQ(ipcq_get_nowait(blocked_q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_close(blocked_q), 0);
}

/* ---- a producer or a consumer killed mid-stream ---- */

#define NPROD	   3 /* producer 0 is the victim when a producer dies */
#define NCONS	   3 /* consumer 0 is the victim when a consumer dies */
#define PER	   4000
#define VICTIM_MAX 100000000ull
#define BIG	   8192 /* above PIPE_BUF: the pipe backend must frame and lock */
#define BATCH	   4	/* messages per ipcq_put_many/ipcq_get_many in the batch rounds */

struct stream {
	struct ipcq *q;
	size_t msg_max;
	bool victim_producer;
	size_t batch;		    /* 1: ipcq_put/ipcq_get; more: the batch calls */
	atomic_ullong done[NPROD];  /* puts that returned 0 */
	atomic_ullong taken[NCONS]; /* messages each consumer recorded */
	atomic_uint bad, order, errs;
	atomic_uchar seen[NPROD][PER];
	atomic_ullong victim_seen_max; /* highest victim seq delivered + 1 */
	atomic_uchar victim_dup;
	atomic_uchar victim_seen[1 << 20];
};

static struct stream *st;

static int stream_producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	static unsigned char m[BATCH][BIG];
	struct iovec v[BATCH];
	uint64_t n = id == 0 && st->victim_producer ? VICTIM_MAX : PER;
	ssize_t r;

	for (uint64_t i = 0; i < n; i += (uint64_t)r) {
		size_t k = n - i < st->batch ? (size_t)(n - i) : st->batch;

		for (size_t j = 0; j < k; j++) {
			size_t len = tu_msg_len(id, i + j, TU_HDR, st->msg_max);

			tu_msg_fill(m[j], len, id, i + j);
			v[j] = (struct iovec){.iov_base = m[j], .iov_len = len};
		}
		if (st->batch == 1)
			r = ipcq_put(st->q, m[0], v[0].iov_len, WAIT_NS) ? -1 : 1;
		else
			r = ipcq_put_many(st->q, v, k, WAIT_NS);
		if (r < 1) {
			atomic_fetch_add(&st->errs, 1);
			return 1;
		}
		atomic_store(&st->done[id], i + (uint64_t)r);
	}
	return 0;
}

static void victim_seen(uint64_t seq)
{
	unsigned long long prev = atomic_load(&st->victim_seen_max);

	while (seq + 1 > prev &&
	       !atomic_compare_exchange_weak(&st->victim_seen_max, &prev, seq + 1))
		;
	if (seq < (1 << 20) && atomic_fetch_add(&st->victim_seen[seq], 1))
		atomic_store(&st->victim_dup, 1);
}

/* Records one message a consumer got; returns 1 for the stop message. */
static int stream_took(unsigned id, const unsigned char *m, size_t n, int64_t *last)
{
	unsigned p;
	uint64_t seq;

	if (tu_msg_check(m, n, &p, &seq) || p > NPROD ||
	    (p < NPROD && !(p == 0 && st->victim_producer) && seq >= PER)) {
		atomic_fetch_add(&st->bad, 1);
		return 0;
	}
	if (p == NPROD) /* stop */
		return 1;
	if ((int64_t)seq <= last[p])
		atomic_fetch_add(&st->order, 1);
	last[p] = (int64_t)seq;
	if (p == 0 && st->victim_producer)
		victim_seen(seq);
	else
		atomic_fetch_add(&st->seen[p][seq], 1);
	atomic_fetch_add(&st->taken[id], 1);
	return 0;
}

static int stream_consumer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	static unsigned char m[BATCH][BIG];
	struct iovec v[BATCH];
	int64_t last[NPROD] = {-1, -1, -1};
	int stop = 0;

	while (!stop) {
		ssize_t n;

		for (size_t j = 0; j < st->batch; j++)
			v[j] = (struct iovec){.iov_base = m[j], .iov_len = BIG};
		if (st->batch == 1) {
			n = ipcq_get(st->q, m[0], BIG, WAIT_NS);
			v[0].iov_len = n >= 0 ? (size_t)n : 0;
			n = n < 0 ? n : 1;
		} else {
			n = ipcq_get_many(st->q, v, st->batch, WAIT_NS);
		}
		if (n < 0) {
			fprintf(stderr, "consumer %u: get: %s\n", id, tu_errname(n));
			atomic_fetch_add(&st->errs, 1);
			return 1;
		}
		/* a stop ends this consumer; what its batch held after it goes to the others */
		for (ssize_t j = 0; j < n; j++) {
			if (stop) {
				CHECK_EQ(ipcq_put(st->q, m[j], v[j].iov_len, WAIT_NS), 0);
				continue;
			}
			stop = stream_took(id, m[j], v[j].iov_len, last);
		}
	}
	return 0;
}

/*
 * NPROD producers, NCONS consumers; once the victim (producer 0 or consumer
 * 0) has done @kill_at messages, SIGKILL it.  The others must finish.
 */
static void stream_round(bool victim_producer, unsigned kill_at, size_t batch)
{
	pid_t prod[NPROD], cons[NCONS];
	unsigned char m[BIG];
	unsigned long long victim_done, lost = 0, dup = 0, missing_victim = 0;
	atomic_ullong *progress;
	int live_cons = victim_producer ? NCONS : NCONS - 1;
	int64_t end;
	int ret;

	tu_section("a %s killed by SIGKILL mid-stream after %u messages (%d producers, %d "
		   "consumers, batches of %zu)",
		   victim_producer ? "producer" : "consumer", kill_at, NPROD, NCONS, batch);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		CHECK(0, "mmap: %s", strerror(errno));
		return;
	}
	st->victim_producer = victim_producer;
	st->batch = batch;
	/* sysv: 4 messages of 4096 fit under the default msgmnb. */
	st->msg_max = strcmp(backend, "sysv") ? BIG : 4096;
	ret = tu_create(&st->q, backend, NULL, 4, st->msg_max);
	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	if (ret)
		goto out;
	for (int i = 0; i < NCONS; i++)
		cons[i] = tu_fork(stream_consumer, (void *)(uintptr_t)i);
	for (int i = 0; i < NPROD; i++)
		prod[i] = tu_fork(stream_producer, (void *)(uintptr_t)i);
	progress = victim_producer ? &st->done[0] : &st->taken[0];
	/* A starved consumer may never reach kill_at: then kill it near the end. */
	end = tu_now_ns() + WAIT_NS;
	while (atomic_load(progress) < kill_at && tu_now_ns() < end &&
	       (victim_producer ||
		atomic_load(&st->done[0]) + atomic_load(&st->done[1]) + atomic_load(&st->done[2]) <
			NPROD * PER * 3 / 4))
		tu_sleep_ns(TU_MS / 4);
	CHECK(tu_now_ns() < end, "no progress in %lld ms: %llu messages",
	      (long long)(WAIT_NS / TU_MS), (unsigned long long)atomic_load(progress));
	kill_and_reap(victim_producer ? prod[0] : cons[0], "victim");
	victim_done = atomic_load(progress);
	for (int i = victim_producer; i < NPROD; i++) {
		ret = tu_wait(prod[i], 60000 * TU_MS);
		CHECK(ret == 0, "producer %d after the kill: exit %d%s", i, ret,
		      ret == TU_TIMEDOUT ? " (hung)" : "");
	}
	for (int i = 0; i < live_cons; i++) {
		tu_msg_fill(m, TU_HDR, NPROD, (uint64_t)i);
		ret = ipcq_put(st->q, m, TU_HDR, WAIT_NS);
		CHECK(ret == 0, "stop message: %d %s", ret, tu_errname(ret));
	}
	for (int i = !victim_producer; i < NCONS; i++) {
		ret = tu_wait(cons[i], 2 * WAIT_NS);
		CHECK(ret == 0, "consumer %d after the kill: exit %d%s", i, ret,
		      ret == TU_TIMEDOUT ? " (hung)" : "");
	}
	for (int p = victim_producer; p < NPROD; p++)
		for (int i = 0; i < PER; i++) {
			lost += st->seen[p][i] == 0;
			dup += st->seen[p][i] > 1;
		}
	if (victim_producer) {
		/* Every victim put that returned must have arrived; one more may have. */
		for (unsigned long long i = 0; i < victim_done && i < (1 << 20); i++)
			missing_victim += st->victim_seen[i] == 0;
		printf("victim: %llu puts returned before the kill, highest delivered seq + 1 = "
		       "%llu\n",
		       victim_done, (unsigned long long)atomic_load(&st->victim_seen_max));
		CHECK_EQ(lost, 0);
		CHECK_EQ(missing_victim, 0);
		CHECK(atomic_load(&st->victim_seen_max) <= victim_done + batch,
		      "a victim message beyond the last put in flight arrived");
		CHECK_EQ(atomic_load(&st->victim_dup), 0);
	} else {
		/* The messages the victim was taking when it died may be lost; no other. */
		printf("victim consumer recorded %llu messages; %llu lost in all\n", victim_done,
		       lost);
		CHECK(lost <= batch,
		      "%llu messages lost when one consumer died (at most %zu may be)", lost,
		      batch);
	}
	CHECK_EQ(dup, 0);
	CHECK_EQ(atomic_load(&st->bad), 0);
	CHECK_EQ(atomic_load(&st->order), 0);
	CHECK_EQ(atomic_load(&st->errs), 0);
	/* The queue is still usable, and holds nothing more. */
	CHECK_EQ(ipcq_get_nowait(st->q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_put(st->q, "fresh", 5, WAIT_NS), 0);
	CHECK_EQ(ipcq_get(st->q, m, sizeof(m), WAIT_NS), 5);
	CHECK_EQ(ipcq_close(st->q), 0);
out:
	munmap(st, sizeof(*st));
}

/* ---- every holder killed ---- */

static int hold_anonymous(void *arg)
{
	struct ipcq *q;
	int *ready = arg;

	if (tu_create(&q, backend, NULL, 2, MSG_MAX))
		return 1;
	ipcq_put_nowait(q, "orphan", 6);
	atomic_store((atomic_int *)ready, 1);
	pause();
	return 0;
}

static void count_clean(void *ctx, const char *b, const char *what)
{
	printf("ipcq_clean removed: %s: %s\n", b, what);
	(*(int *)ctx)++;
}

static void test_all_killed(void)
{
	struct tu_snap before, after, fresh;
	atomic_int *ready;
	pid_t pid;
	int removed = 0;
	ssize_t r;

	tu_section("the only holder of an anonymous queue killed by SIGKILL");
	ready = mmap(NULL, sizeof(*ready), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if (ready == MAP_FAILED)
		return;
	tu_snap_take(&before);
	pid = tu_fork(hold_anonymous, ready);
	for (int i = 0; i < 5000 && !atomic_load(ready); i++)
		tu_sleep_ns(TU_MS);
	CHECK(atomic_load(ready), "holder never created its queue");
	kill_and_reap(pid, "holder");
	tu_sleep_ns(50 * TU_MS);
	tu_snap_take(&after);
	tu_snap_new(&before, &after, false, &fresh);
	for (size_t i = 0; i < fresh.n; i++)
		printf("left by the killed holder: %s\n", fresh.item[i]);
	if (!strcmp(backend, "sysv")) {
		/* The kernel cannot know; ipcq_clean() must find it. */
		r = ipcq_clean(backend, count_clean, &removed);
		CHECK(r >= 0, "ipcq_clean: %zd %s", r, tu_errname(r));
		CHECK(r == removed, "ipcq_clean returned %zd, reported %d", r, removed);
		size_t queues = 0;

		for (size_t i = 0; i < fresh.n; i++)
			queues += !strncmp(fresh.item[i], "sysv ", 5);
		/* Isolated, every leftover is ours; else others' may be removed too. */
		if (tu_isolated())
			CHECK((size_t)removed >= queues,
			      "%zu SysV queue(s) left, ipcq_clean removed %d", queues, removed);
	} else {
		CHECK(fresh.n == 0, "%zu object(s) outlived every holder of an anonymous queue",
		      fresh.n);
	}
	tu_check_leaks(&before, "after the holder was killed");
	tu_snap_free(&before);
	tu_snap_free(&after);
	tu_snap_free(&fresh);
	munmap(ready, sizeof(*ready));
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "BACKEND");
	test_blocked_consumer();
	test_blocked_producer();
	/* Several moments of death: the later ones land mid-put or mid-get more often. */
	stream_round(true, 500, 1);
	stream_round(true, 2000, 1);
	stream_round(false, 300, 1);
	stream_round(false, 1500, 1);
	/* The same with batches: a batch in flight is what may be lost. */
	stream_round(true, 700, BATCH);
	stream_round(false, 900, BATCH);
	test_all_killed();
	return tu_end();
}
