/* SPDX-License-Identifier: MIT */
/*
 * Single-producer and single-consumer rings (IPCQ_SP, IPCQ_SC): the first
 * thread to put (get) is the producer (consumer); a put (get) by any other
 * live thread, in this process or another, by ipcq_open() or fork(), fails
 * with -EBUSY and leaves the ring as it was; once that thread has ended (or
 * its process was SIGKILLed), the next one takes over and finds every
 * message in order.  Unknown flags: -EINVAL; other backends accept the
 * flags and ignore them.
 *
 * Usage: shm_sole shm
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 64

static struct ipcq *q;

static struct ipcq *make(const char *name, unsigned flags)
{
	struct ipcq_opts o = {
		.backend = "shm", .name = name, .capacity = 8, .msg_max = MSG_MAX, .flags = flags};
	struct ipcq *r = NULL;
	int ret = ipcq_create(&r, &o);

	CHECK(ret == 0, "create flags %u: %d %s", flags, ret, tu_errname(ret));
	return r;
}

static void put_seq(struct ipcq *h, uint64_t seq, int want)
{
	unsigned char m[MSG_MAX];

	tu_msg_fill(m, TU_HDR, 0, seq);
	CHECK_EQ(ipcq_put(h, m, TU_HDR, IPCQ_NOWAIT), want);
}

static void get_seq(struct ipcq *h, uint64_t seq)
{
	unsigned char m[MSG_MAX];
	unsigned pr;
	uint64_t got = UINT64_MAX;
	ssize_t n = ipcq_get(h, m, sizeof(m), 1000 * TU_MS);

	CHECK(n == TU_HDR && tu_msg_check(m, (size_t)n, &pr, &got) == 0 && got == seq,
	      "get: %zd %s, message %llu, want %llu", n, tu_errname(n), (unsigned long long)got,
	      (unsigned long long)seq);
}

/*
 * get_seq() by a thread taking over from one that has just ended: -EBUSY
 * for the moment the kernel still shows the ended thread (pthread_join()
 * returns when it has left user space, a little before it is gone).
 */
static void get_seq_taking_over(struct ipcq *h, uint64_t seq)
{
	unsigned char m[MSG_MAX];
	uint64_t got = UINT64_MAX;
	unsigned pr;
	ssize_t n = -EBUSY;

	for (int i = 0; i < 1000 && n == -EBUSY; i++) {
		n = ipcq_get(h, m, sizeof(m), 1000 * TU_MS);
		if (n == -EBUSY)
			tu_sleep_ns(TU_MS);
	}
	CHECK(n == TU_HDR && tu_msg_check(m, (size_t)n, &pr, &got) == 0 && got == seq,
	      "get: %zd %s, message %llu, want %llu", n, tu_errname(n), (unsigned long long)got,
	      (unsigned long long)seq);
}

/* A second thread: every get (and with @arg every put) refused while the main thread holds them. */
static void *intruder(void *arg)
{
	unsigned char m[MSG_MAX] = {0};
	struct iovec v = {.iov_base = m, .iov_len = MSG_MAX};

	if (arg) {
		CHECK_EQ(ipcq_put(q, m, 8, IPCQ_NOWAIT), -EBUSY);
		CHECK_EQ(ipcq_put(q, m, 8, 20 * TU_MS), -EBUSY);
		CHECK_EQ(ipcq_put_many(q, &v, 1, IPCQ_NOWAIT), -EBUSY);
	}
	CHECK_EQ(ipcq_get(q, m, sizeof(m), IPCQ_NOWAIT), -EBUSY);
	CHECK_EQ(ipcq_get_many(q, &v, 1, 20 * TU_MS), -EBUSY);
	return NULL;
}

/* A thread that becomes the consumer, gets one message and ends. */
static void *consumer_once(void *arg)
{
	get_seq(q, (uint64_t)(uintptr_t)arg);
	return NULL;
}

static int child_refused(void *arg)
{
	unsigned char m[MSG_MAX] = {0};
	struct ipcq *h = arg;

	if (ipcq_put(h, m, 8, IPCQ_NOWAIT) != -EBUSY || ipcq_get(h, m, sizeof(m), 0) != -EBUSY)
		return 1;
	return 0;
}

/* Through its own ipcq_open() handle of an IPCQ_SP ring: a put refused, a get allowed. */
static int child_named(void *arg)
{
	unsigned char m[MSG_MAX] = {0};
	struct ipcq *h = NULL;

	if (ipcq_open(&h, "shm", arg) < 0)
		return 2;
	if (ipcq_put(h, m, 8, IPCQ_NOWAIT) != -EBUSY)
		return 1;
	return ipcq_get(h, m, sizeof(m), 1000 * TU_MS) == TU_HDR ? 0 : 3;
}

static int child_producer(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < 3; i++)
		put_seq(q, 100 + i, 0);
	pause(); /* SIGKILL ends it, still the producer */
	return 0;
}

static void test_threads_and_children(void)
{
	pthread_t t;

	tu_section("IPCQ_SP|IPCQ_SC: other threads and processes refused, the ring intact");
	q = make(NULL, IPCQ_SP | IPCQ_SC);
	if (!q)
		return;
	for (uint64_t i = 0; i < 3; i++)
		put_seq(q, i, 0);
	get_seq(q, 0); /* the main thread is producer and consumer now */
	CHECK_EQ(pthread_create(&t, NULL, intruder, q), 0);
	pthread_join(t, NULL);
	pid_t pid = tu_fork(child_refused, q);
	CHECK_EQ(tu_wait(pid, 5000 * TU_MS), 0);
	get_seq(q, 1);
	get_seq(q, 2);
	CHECK_EQ(ipcq_qsize(q), 0);
	CHECK_EQ(ipcq_close(q), 0);

	tu_section("IPCQ_SC: a consumer thread that ended makes room for the next one");
	q = make(NULL, IPCQ_SC);
	if (!q)
		return;
	for (uint64_t i = 0; i < 3; i++)
		put_seq(q, i, 0);
	CHECK_EQ(pthread_create(&t, NULL, consumer_once, (void *)(uintptr_t)0), 0);
	pthread_join(t, NULL);
	/* the main thread takes over once the kernel has let the thread go */
	get_seq_taking_over(q, 1);
	CHECK_EQ(pthread_create(&t, NULL, intruder, NULL), 0);
	pthread_join(t, NULL);
	get_seq(q, 2);
	CHECK_EQ(ipcq_close(q), 0);

	tu_section("IPCQ_SP: a producer killed by SIGKILL, its messages kept, the next takes over");
	q = make(NULL, IPCQ_SP);
	if (!q)
		return;
	pid = tu_fork(child_producer, NULL);
	while (ipcq_qsize(q) < 3)
		tu_sleep_ns(TU_MS);
	put_seq(q, 7, -EBUSY); /* the child lives: refused */
	kill(pid, SIGKILL);
	CHECK_EQ(tu_wait(pid, 5000 * TU_MS), -SIGKILL);
	put_seq(q, 103, 0);
	for (uint64_t i = 0; i < 4; i++)
		get_seq(q, 100 + i);
	CHECK_EQ(ipcq_close(q), 0);
}

static int streamer(void *arg)
{
	unsigned char m[MSG_MAX];

	(void)arg;
	for (uint64_t i = 0;; i++) {
		tu_msg_fill(m, MSG_MAX, 1, i);
		if (ipcq_put(q, m, MSG_MAX, 5000 * TU_MS))
			return 1;
	}
}

/*
 * The sole producer killed mid-stream (in a put, or waiting for room) while
 * the sole consumer (us) reads on: the ring is repaired, no message is
 * corrupt or out of order, and a new producer takes over.
 */
static void test_killed_streams(void)
{
	unsigned char m[MSG_MAX];

	tu_section("IPCQ_SP|IPCQ_SC: the producer SIGKILLed mid-stream, five times");
	for (int round = 0; round < 5; round++) {
		int64_t last = -1;
		unsigned pr;
		uint64_t seq;
		ssize_t n;
		pid_t pid;

		q = make(NULL, IPCQ_SP | IPCQ_SC);
		if (!q)
			return;
		pid = tu_fork(streamer, NULL);
		for (int i = 0; i < 500 + 700 * round; i++) {
			n = ipcq_get(q, m, sizeof(m), 5000 * TU_MS);
			CHECK(n == MSG_MAX && tu_msg_check(m, MSG_MAX, &pr, &seq) == 0 &&
				      (int64_t)seq == last + 1,
			      "round %d: get %zd %s after %lld", round, n, tu_errname(n),
			      (long long)last);
			if (n != MSG_MAX)
				break;
			last = (int64_t)seq;
		}
		kill(pid, SIGKILL);
		CHECK_EQ(tu_wait(pid, 5000 * TU_MS), -SIGKILL);
		/* what the dead producer left, a slot it died in repaired on the way */
		while ((n = ipcq_get(q, m, sizeof(m), 300 * TU_MS)) >= 0) {
			CHECK(n == MSG_MAX && tu_msg_check(m, MSG_MAX, &pr, &seq) == 0 &&
				      (int64_t)seq > last,
			      "round %d: after the kill: %zd bytes, seq %llu after %lld", round, n,
			      (unsigned long long)seq, (long long)last);
			last = (int64_t)seq;
		}
		CHECK_EQ(n, -ETIMEDOUT);
		tu_msg_fill(m, MSG_MAX, 2, 0);
		CHECK_EQ(ipcq_put(q, m, MSG_MAX, 1000 * TU_MS), 0); /* we take over */
		n = ipcq_get(q, m, sizeof(m), 1000 * TU_MS);
		CHECK(n == MSG_MAX && tu_msg_check(m, MSG_MAX, &pr, &seq) == 0 && pr == 2,
		      "round %d: the new producer's message: %zd %s", round, n, tu_errname(n));
		CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
		CHECK_EQ(ipcq_close(q), 0);
	}
}

static _Atomic int64_t *child_last; /* MAP_SHARED: the killed consumer's last message */

static int slow_consumer(void *arg)
{
	unsigned char m[MSG_MAX];
	unsigned pr;
	uint64_t seq;

	(void)arg;
	for (;;) {
		if (ipcq_get(q, m, sizeof(m), 5000 * TU_MS) != MSG_MAX ||
		    tu_msg_check(m, MSG_MAX, &pr, &seq))
			return 1;
		atomic_store(child_last, (int64_t)seq);
	}
}

/*
 * IPCQ_SP|IPCQ_SC: the consumer killed mid-stream; we take its place and
 * go on from where it stopped: nothing lost, nothing out of order (the
 * message it was copying when it died may come again: it never returned).
 */
/* One get in the killed consumer's place: 1, or 0 when nothing came. */
static int take(int64_t *first, int64_t *next)
{
	unsigned char m[MSG_MAX];
	unsigned pr;
	uint64_t seq;

	if (ipcq_get(q, m, sizeof(m), 200 * TU_MS) != MSG_MAX)
		return 0;
	CHECK(tu_msg_check(m, MSG_MAX, &pr, &seq) == 0, "a corrupt message");
	if (*first < 0)
		*first = *next = (int64_t)seq;
	CHECK((int64_t)seq == *next, "got %llu, want %lld", (unsigned long long)seq,
	      (long long)*next);
	*next = (int64_t)seq + 1;
	return 1;
}

static void test_killed_consumer(void)
{
	unsigned char m[MSG_MAX];
	int64_t next = 0, first = -1;
	pid_t pid;

	tu_section("IPCQ_SP|IPCQ_SC: the consumer SIGKILLed mid-stream, we take over");
	child_last = mmap(NULL, sizeof(*child_last), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	q = make(NULL, IPCQ_SP | IPCQ_SC);
	if (!q || child_last == MAP_FAILED)
		return;
	*child_last = -1;
	pid = tu_fork(slow_consumer, NULL);
	for (uint64_t i = 0; i < 3000; i++) {
		if (i == 1500) { /* mid-stream: it is in a get, or between two */
			kill(pid, SIGKILL);
			CHECK_EQ(tu_wait(pid, 5000 * TU_MS), -SIGKILL);
		}
		tu_msg_fill(m, MSG_MAX, 1, i);
		/* full after the kill: we take the consumer's place */
		while (i >= 1500 && ipcq_put(q, m, MSG_MAX, IPCQ_NOWAIT) == -EAGAIN)
			take(&first, &next);
		if (i < 1500)
			CHECK_EQ(ipcq_put(q, m, MSG_MAX, 5000 * TU_MS), 0);
	}
	while (take(&first, &next))
		;
	printf("the consumer had got up to %lld; we got %lld..%lld\n",
	       (long long)atomic_load(child_last), (long long)first, (long long)next - 1);
	/* its last one again, or the one after (it may die before it noted it) */
	CHECK(first < 0 ||
		      (first >= atomic_load(child_last) && first <= atomic_load(child_last) + 2),
	      "a gap: the consumer got %lld, we start at %lld", (long long)atomic_load(child_last),
	      (long long)first);
	CHECK(first < 0 ? atomic_load(child_last) == 2999 : next == 3000,
	      "messages lost at the end");
	/* a doorbell on this ring too */
	int fd = ipcq_fd(q, POLLIN);
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	CHECK(fd >= 0 && poll(&pf, 1, 0) == 0, "readable while empty");
	CHECK_EQ(ipcq_put(q, m, MSG_MAX, IPCQ_NOWAIT), 0);
	CHECK(poll(&pf, 1, 1000) == 1, "not readable with a message");
	CHECK_EQ(ipcq_get(q, m, sizeof(m), IPCQ_NOWAIT), MSG_MAX);
	CHECK_EQ(ipcq_get(q, m, sizeof(m), IPCQ_NOWAIT), -EAGAIN);
	CHECK(poll(&pf, 1, 0) == 0, "readable once empty again");
	CHECK_EQ(ipcq_close(q), 0);
	munmap(child_last, sizeof(*child_last));
}

static void test_named_and_flags(void)
{
	struct ipcq_opts o = {.backend = "shm", .capacity = 8, .msg_max = MSG_MAX, .flags = 4};
	struct ipcq *h = NULL;
	char name[64];
	int ret;

	tu_section("a named IPCQ_SP ring: its openers adopt the mode; bad flags refused");
	CHECK_EQ(ipcq_create(&h, &o), -EINVAL);
	for (const char *const *b = ipcq_backends(); *b; b++) {
		o = (struct ipcq_opts){.backend = *b,
				       .capacity = 4,
				       .msg_max = MSG_MAX,
				       .flags = IPCQ_SP | IPCQ_SC};
		ret = ipcq_create(&h, &o);
		CHECK(ret == 0, "%s with IPCQ_SP|IPCQ_SC: %d %s", *b, ret, tu_errname(ret));
		if (ret == 0) {
			CHECK_EQ(ipcq_put(h, "ab", 2, IPCQ_NOWAIT), 0);
			CHECK_EQ(ipcq_close(h), 0);
		}
	}
	tu_name(name, sizeof(name), "sole");
	q = make(name, IPCQ_SP);
	if (!q)
		return;
	put_seq(q, 0, 0);
	CHECK_EQ(tu_wait(tu_fork(child_named, name), 5000 * TU_MS), 0);
	CHECK_EQ(ipcq_qsize(q), 0);
	CHECK_EQ(ipcq_close(q), 0);
	CHECK_EQ(ipcq_unlink("shm", name), 0);
}

int main(int argc, char **argv)
{
	tu_begin(argc, argv, "shm_sole shm");
	test_threads_and_children();
	test_killed_streams();
	test_killed_consumer();
	test_named_and_flags();
	return tu_end();
}
