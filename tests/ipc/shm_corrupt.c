/* SPDX-License-Identifier: MIT */
/*
 * An shm ring whose shared words are impossible (a slot's seq from the
 * future or the past, a length beyond msg_max, head or tail out of every
 * healthy range, a scribbled header, futex words and intent records) never
 * makes a call spin or crash: each of get_nowait, get with a timeout,
 * put_nowait and put with a timeout returns within its timeout, with
 * -EBADMSG where the state can be told impossible, else an ordinary result.
 * Every call runs in a child under a watchdog, so a spin fails the test
 * instead of hanging it.  The ring starts at two positions: a low one and
 * one just below the wrap of the 64-bit indices.
 *
 * Usage: shm_corrupt shm
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_pvt.h"
#include "testutil.h"

#define CAP	8
#define MSG_MAX 64
#define TIMED	(100 * TU_MS)
#define WATCH	(2000 * TU_MS) /* a call still running after its timeout plus this: hung */

/* What a call may return: bits of these. */
#define RES_OK	  1 /* a message (get), 0 (put) */
#define RES_EMPTY 2 /* -EAGAIN with IPCQ_NOWAIT, -ETIMEDOUT with a timeout */
#define RES_BAD	  4 /* -EBADMSG */

enum op { GET_NOWAIT, GET_TIMED, PUT_NOWAIT, PUT_TIMED, NOPS };

static const char *const op_name[NOPS] = {"get_nowait", "get(100 ms)", "put_nowait", "put(100 ms)"};

struct scase {
	const char *name;
	int fill; /* messages put before the damage */
	void (*damage)(struct shm_priv *p);
	int want[NOPS];
};

static uint64_t head(struct shm_priv *p)
{
	return atomic_load(p->head);
}

static uint64_t tail(struct shm_priv *p)
{
	return atomic_load(p->tail);
}

static void seq_set(struct shm_priv *p, uint64_t pos, uint64_t seq)
{
	atomic_store(&shm_slot(p, pos)->seq, seq);
}

/* The reproducer: slot[head].seq = head + 5, on an empty ring. */
static void head_seq_ahead(struct shm_priv *p)
{
	seq_set(p, head(p), head(p) + 5);
}

static void tail_seq_ahead(struct shm_priv *p)
{
	seq_set(p, tail(p), tail(p) + 3);
}

static void head_seq_past(struct shm_priv *p)
{
	seq_set(p, head(p), head(p) - 3);
}

static void tail_seq_past(struct shm_priv *p)
{
	seq_set(p, tail(p), tail(p) - 2 * CAP);
}

static void every_seq_ahead(struct shm_priv *p)
{
	for (uint64_t i = 0; i < CAP; i++)
		seq_set(p, head(p) + i, head(p) + i + 5 * CAP);
}

static void len_beyond(struct shm_priv *p)
{
	atomic_store(&shm_slot(p, head(p))->len, MSG_MAX + 1);
}

static void len_huge(struct shm_priv *p)
{
	atomic_store(&shm_slot(p, head(p))->len, UINT64_C(1) << 40);
}

static void head_ahead(struct shm_priv *p)
{
	atomic_store(p->head, tail(p) + 3);
}

static void head_far_ahead(struct shm_priv *p)
{
	atomic_store(p->head, tail(p) + 1000 * CAP + 1);
}

static void tail_beyond_cap(struct shm_priv *p)
{
	atomic_store(p->tail, head(p) + CAP + 3);
}

static void tail_wild(struct shm_priv *p)
{
	atomic_store(p->tail, tail(p) + (UINT64_C(1) << 40));
}

static void tail_behind_head(struct shm_priv *p)
{
	atomic_store(p->tail, head(p) - 5);
}

static void fill_random(void *b, size_t n, unsigned seed)
{
	unsigned char *c = b;

	srand(seed);
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)rand();
}

/* Every header word but ready: the handles keep their own copies. */
static void header_scribbled(struct shm_priv *p)
{
	fill_random(p->base, offsetof(struct shm_hdr, ready), 1);
}

/* Futex words, sleeper flags and every intent record: random. */
static void waits_and_recs(struct shm_priv *p)
{
	fill_random(p->base + offsetof(struct shm_map, not_empty),
		    SHM_HDR_SIZE - offsetof(struct shm_map, not_empty), 2);
}

static const struct scase cases[] = {
	{"seq ahead at head, empty", 0, head_seq_ahead, {RES_BAD, RES_BAD, RES_BAD, RES_BAD}},
	{"seq ahead at tail", 2, tail_seq_ahead, {RES_OK, RES_OK, RES_BAD, RES_BAD}},
	{"seq from the past at head", 2, head_seq_past, {RES_BAD, RES_BAD, RES_OK, RES_OK}},
	{"seq from the past at tail", 2, tail_seq_past, {RES_OK, RES_OK, RES_BAD, RES_BAD}},
	{"every seq ahead", 2, every_seq_ahead, {RES_BAD, RES_BAD, RES_BAD, RES_BAD}},
	{"len = msg_max + 1", 2, len_beyond, {RES_BAD, RES_BAD, RES_OK, RES_OK}},
	{"len = 2^40", 2, len_huge, {RES_BAD, RES_BAD, RES_OK, RES_OK}},
	/* the slot at the wild head looks empty: only the wait can tell */
	{"head = tail + 3", 0, head_ahead, {RES_EMPTY | RES_BAD, RES_BAD, RES_OK, RES_OK}},
	{"head = tail + 1000 laps + 1", 0, head_far_ahead, {RES_BAD, RES_BAD, RES_OK, RES_OK}},
	{"tail = head + capacity + 3",
	 0,
	 tail_beyond_cap,
	 {RES_EMPTY | RES_BAD, RES_BAD, RES_EMPTY | RES_BAD, RES_BAD}},
	{"tail + 2^40", 0, tail_wild, {RES_EMPTY | RES_BAD, RES_BAD, RES_BAD, RES_BAD}},
	{"tail = head - 5", 2, tail_behind_head, {RES_OK, RES_OK, RES_BAD, RES_BAD}},
	{"header scribbled", 2, header_scribbled, {RES_OK, RES_OK, RES_OK, RES_OK}},
	{"futex words and intent records scribbled, empty",
	 0,
	 waits_and_recs,
	 {RES_EMPTY, RES_EMPTY, RES_OK, RES_OK}},
	{"futex words and intent records scribbled, full",
	 CAP,
	 waits_and_recs,
	 {RES_OK, RES_OK, RES_EMPTY, RES_EMPTY}},
};

/* Written by the child that makes the call. */
struct outcome {
	long long ret;
	int64_t ns;
};

static struct outcome *out; /* MAP_SHARED: the child's result reaches us */
static struct ipcq *ring;
static enum op cur_op;

static int do_call(void *arg)
{
	char msg[MSG_MAX] = "payload";
	char *buf = malloc(MSG_MAX); /* exactly msg_max: ASan sees any overrun */
	int64_t t0 = tu_now_ns();

	(void)arg;
	alarm(10); /* a second guard besides the parent's watchdog */
	switch (cur_op) {
	case GET_NOWAIT:
		out->ret = ipcq_get_nowait(ring, buf, MSG_MAX);
		break;
	case GET_TIMED:
		out->ret = ipcq_get(ring, buf, MSG_MAX, TIMED);
		break;
	case PUT_NOWAIT:
		out->ret = ipcq_put_nowait(ring, msg, 7);
		break;
	default:
		out->ret = ipcq_put(ring, msg, 7, TIMED);
		break;
	}
	out->ns = tu_now_ns() - t0;
	free(buf);
	return 0;
}

static int classify(enum op op, long long ret)
{
	bool nowait = op == GET_NOWAIT || op == PUT_NOWAIT;

	if (ret == -EBADMSG)
		return RES_BAD;
	if (ret == (nowait ? -EAGAIN : -ETIMEDOUT))
		return RES_EMPTY;
	if (op <= GET_TIMED ? ret >= 0 && ret <= MSG_MAX : ret == 0)
		return RES_OK;
	return 0;
}

static struct ipcq *fresh(uint64_t start, int fill)
{
	struct ipcq *q = NULL;
	int ret = tu_create(&q, "shm", NULL, CAP, MSG_MAX);

	if (ret < 0) {
		fprintf(stderr, "create: %s\n", strerror(-ret));
		exit(TU_FAIL);
	}
	shm_test_set_pos(shm_priv(q), start);
	for (int i = 0; i < fill; i++)
		CHECK_EQ(ipcq_put_nowait(q, "fill", 4), 0);
	return q;
}

static void run_case(const struct scase *c, uint64_t start)
{
	for (enum op op = 0; op < NOPS; op++) {
		int64_t limit = (op == GET_TIMED || op == PUT_TIMED ? TIMED : 0) + TU_SLACK_NS;
		pid_t pid;
		int st;

		ring = fresh(start, c->fill);
		c->damage(shm_priv(ring));
		cur_op = op;
		memset(out, 0, sizeof(*out));
		out->ret = 1LL << 40;
		pid = tu_fork(do_call, NULL);
		CHECK(pid > 0, "fork: %s", strerror((int)-pid));
		st = pid > 0 ? tu_wait(pid, limit + WATCH) : 0;
		if (st == TU_TIMEDOUT) {
			CHECK(0, "%s: %s hung (killed after %lld ms)", c->name, op_name[op],
			      (long long)((limit + WATCH) / TU_MS));
		} else if (st != 0) {
			CHECK(0, "%s: %s: the caller died (status %d)", c->name, op_name[op], st);
		} else {
			int got = classify(op, out->ret);

			CHECK(got & c->want[op], "%s: %s returned %lld (%s), want mask %d", c->name,
			      op_name[op], out->ret, tu_errname(out->ret), c->want[op]);
			CHECK(out->ns <= limit, "%s: %s took %lld ms", c->name, op_name[op],
			      (long long)(out->ns / TU_MS));
		}
		ipcq_close(ring);
	}
}

/* A message with an impossible length is dropped: the ring goes on with the next. */
static void len_then_next(uint64_t start)
{
	char buf[MSG_MAX];
	struct ipcq *q = fresh(start, 0);

	CHECK_EQ(ipcq_put_nowait(q, "first", 5), 0);
	CHECK_EQ(ipcq_put_nowait(q, "second", 6), 0);
	len_beyond(shm_priv(q));
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), -EBADMSG);
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "second", 6), "the next message");
	CHECK_EQ(ipcq_put_nowait(q, "third", 5), 0);
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 5);
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), -EAGAIN);
	ipcq_close(q);
}

/* A named ring whose header was scribbled is refused by a new opener. */
static void open_scribbled(void)
{
	struct ipcq *a = NULL, *b = NULL;
	char name[80];

	tu_name(name, sizeof(name), "corrupt");
	CHECK_EQ(tu_create(&a, "shm", name, CAP, MSG_MAX), 0);
	if (!a)
		return;
	header_scribbled(shm_priv(a));
	CHECK_EQ(ipcq_open(&b, "shm", name), -EINVAL);
	if (b)
		ipcq_close(b);
	CHECK_EQ(ipcq_put_nowait(a, "still", 5), 0); /* the creator's handle goes on */
	CHECK_EQ(ipcq_unlink("shm", name), 0);
	ipcq_close(a);
}

int main(int argc, char **argv)
{
	static const uint64_t starts[] = {1000, UINT64_MAX - 3};

	if (strcmp(tu_begin(argc, argv, "shm"), "shm") != 0)
		tu_skip("the shm ring's own test: backend %s has no ring", argv[1]);
	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED)
		return TU_FAIL;
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		tu_section("ring starting at %llu", (unsigned long long)starts[s]);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(&cases[i], starts[s]);
		len_then_next(starts[s]);
	}
	tu_section("a new opener of a scribbled header");
	open_scribbled();
	return tu_end();
}
