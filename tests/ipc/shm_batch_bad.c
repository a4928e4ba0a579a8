/* SPDX-License-Identifier: MIT */
/*
 * Batches and the single-producer/consumer paths on a damaged shm ring:
 * ipcq_get_many() stops at a slot no healthy ring shows and never overruns
 * a buffer; a length beyond msg_max inside a batch is dropped and reported
 * (-EBADMSG) by the next call, the messages after it still arrive; a seq
 * from the future (MPMC, IPCQ_SP, IPCQ_SC rings), or an index out of the
 * other side's reach (IPCQ_SP|IPCQ_SC rings, which have no seq), makes
 * put_many/get_many fail with -EBADMSG, or time out in time, never spin.  Each case runs in a
 * child under a watchdog, so that a spin fails the test instead of hanging it.
 *
 * Usage: shm_batch_bad shm
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "shm_pvt.h"
#include "testutil.h"

#define CAP	8
#define MSG_MAX 64
#define WATCH	(3000 * TU_MS)

static unsigned char bufs[CAP][MSG_MAX];
static struct iovec v[CAP];

static struct ipcq *fresh(unsigned flags, int fill)
{
	struct ipcq_opts o = {
		.backend = "shm", .capacity = CAP, .msg_max = MSG_MAX, .flags = flags};
	unsigned char m[MSG_MAX];
	struct ipcq *q = NULL;

	if (ipcq_create(&q, &o))
		return NULL;
	for (int i = 0; i < fill; i++) {
		tu_msg_fill(m, MSG_MAX, 0, (uint64_t)i);
		ipcq_put(q, m, MSG_MAX, IPCQ_NOWAIT);
	}
	return q;
}

static void reset(void)
{
	for (int i = 0; i < CAP; i++)
		v[i] = (struct iovec){.iov_base = bufs[i], .iov_len = MSG_MAX};
}

static void seq_add(struct ipcq *q, uint64_t off, uint64_t add)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_slot *s = shm_slot(p, atomic_load(p->head) + off);

	atomic_fetch_add(&s->seq, add);
}

/* The second of three messages has a length beyond msg_max. */
static int bad_len_inside(void *arg)
{
	struct ipcq *q = fresh((unsigned)(uintptr_t)arg, 3);
	struct shm_priv *p = shm_priv(q);
	unsigned pr;
	uint64_t seq;

	atomic_store(&shm_slot(p, atomic_load(p->head) + 1)->len, MSG_MAX + 1000);
	reset();
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), 2);
	CHECK(tu_msg_check(bufs[0], v[0].iov_len, &pr, &seq) == 0 && seq == 0, "first");
	CHECK(tu_msg_check(bufs[1], v[1].iov_len, &pr, &seq) == 0 && seq == 2, "third");
	reset();
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), -EBADMSG); /* reported once */
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), -EAGAIN);
	return tu_failures ? 1 : 0;
}

/* The slot after the first one shows a seq from the future: the batch stops before it. */
static int seq_ahead_inside(void *arg)
{
	struct ipcq *q = fresh((unsigned)(uintptr_t)arg, 3);

	seq_add(q, 1, 5 * CAP);
	reset();
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), 1);
	reset();
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), -EBADMSG);
	CHECK_EQ(ipcq_get_many(q, v, CAP, 100 * TU_MS), -EBADMSG);
	return tu_failures ? 1 : 0;
}

/* Every seq from the future: puts and gets of any kind fail in time. */
static int every_seq_ahead(void *arg)
{
	struct ipcq *q = fresh((unsigned)(uintptr_t)arg, 2);
	int64_t t0;
	ssize_t r;

	for (uint64_t i = 0; i < CAP; i++)
		seq_add(q, i, 3 * CAP);
	reset();
	t0 = tu_now_ns();
	r = ipcq_put_many(q, v, 3, 100 * TU_MS);
	CHECK(r == -EBADMSG || r == -ETIMEDOUT, "put_many: %zd %s", r, tu_errname(r));
	r = ipcq_get_many(q, v, 3, 100 * TU_MS);
	CHECK(r == -EBADMSG || r == -ETIMEDOUT, "get_many: %zd %s", r, tu_errname(r));
	CHECK(tu_now_ns() - t0 < 1000 * TU_MS, "took %lld ms",
	      (long long)((tu_now_ns() - t0) / TU_MS));
	return tu_failures ? 1 : 0;
}

/* IPCQ_SP|IPCQ_SC rings use no seq: an index out of the other's reach instead. */
static int index_out_of_reach(void *arg)
{
	struct ipcq *q = fresh((unsigned)(uintptr_t)arg, 2);
	struct shm_priv *p = shm_priv(q);
	uint64_t h = atomic_load(p->head);
	ssize_t r = 0;

	atomic_store(p->tail, h + 5 * CAP); /* more than the ring ahead */
	reset();
	CHECK_EQ(ipcq_get_many(q, v, CAP, IPCQ_NOWAIT), -EBADMSG);
	CHECK_EQ(ipcq_get_many(q, v, CAP, 100 * TU_MS), -EBADMSG);
	atomic_store(p->tail, h + 1);
	atomic_store(p->head, h + 3 * CAP); /* a consumer far beyond the producer */
	/* the producer trusts its copy of head (a lower bound) until it runs out */
	for (int i = 0; i < 2 * CAP && (r = ipcq_put_many(q, v, 2, IPCQ_NOWAIT)) > 0; i++)
		;
	CHECK_EQ(r, -EBADMSG);
	CHECK_EQ(ipcq_put_many(q, v, 2, 100 * TU_MS), -EBADMSG);
	return tu_failures ? 1 : 0;
}

static void run(const char *what, int (*fn)(void *), unsigned flags)
{
	pid_t pid;
	int ret;

	tu_section("%s (flags %u)", what, flags);
	pid = tu_fork(fn, (void *)(uintptr_t)flags);
	ret = tu_wait(pid, WATCH);
	CHECK(ret == 0, "%s: exit %d%s", what, ret, ret == TU_TIMEDOUT ? " (hung: killed)" : "");
}

int main(int argc, char **argv)
{
	tu_begin(argc, argv, "shm_batch_bad shm");
	for (unsigned flags = 0; flags <= (IPCQ_SP | IPCQ_SC); flags++) {
		run("a length beyond msg_max inside a batch", bad_len_inside, flags);
		if (flags == (IPCQ_SP | IPCQ_SC)) {
			run("an index out of the other's reach", index_out_of_reach, flags);
			continue;
		}
		run("a seq from the future inside a batch", seq_ahead_inside, flags);
		run("every seq from the future", every_seq_ahead, flags);
	}
	return tu_end();
}
