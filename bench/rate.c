/* SPDX-License-Identifier: MIT */
/*
 * Open-loop load (rate) and the first message after an idle gap (wakeup):
 * one producer, one ipcq queue, one consumer, one-way latency.
 *
 * rate: message i is due at t0 + i / R.  The producer waits for each due
 * time (asleep until shortly before it, then spinning) and never stretches
 * the schedule: a message it sends late (the queue was full, it was not
 * scheduled) still carries its own due time, so a stall of the consumer
 * shows in every message it delayed, not in one sample (coordinated
 * omission).  R = max: back to back, each message due when it is sent.
 * wakeup: after the consumer got the previous message the producer waits
 * the gap, then sends one due at that moment: what the first message after
 * an idle pause costs (spin, futex, kernel sleep, CPU idle states).  This is
 * the seed's writer/reader demo (pool/demo-queue.c), timed.
 *
 * Each message carries its due time in bytes 8..15 (CLOCK_MONOTONIC, one
 * clock for every CPU of the machine); the consumer reads the clock right
 * after each get, records receive - due, puts the pattern's bytes back and
 * verifies the message whole (msg.h), its sequence and its due time (on a
 * schedule: exactly t0 + i / R).  A zero-length message ends the run.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcq_ext.h"
#include "msg.h"
#include "work.h"
#include "workload.h"

#define PACE_SPIN_NS INT64_C(100000)  /* spin this long before a due time, sleep before */
#define START_NS     INT64_C(1000000) /* the first message is due this long after the start */
#define WAKE_MIN     20		      /* wakeup: at least this many messages per run */
#define STALL_AT     1000	      /* FAULT_STALL: after this many messages */

struct rt {
	struct ipcq *q;
	struct shared *sh;
	size_t size;
	enum bench_mode mode;
	double rate; /* 0: max */
	int64_t gap_ns, duration_ns;
	unsigned yield_after;
	enum work_fault fault;
	pid_t parent;
};

struct rt_arg {
	struct rt *rt;
	int side; /* 0: producer, 1: consumer */
};

/* Messages on the schedule of a run: R x duration (rate, R > 0); 0 otherwise. */
static uint64_t scheduled(const struct rt *r)
{
	if (r->mode != MODE_RATE || r->rate <= 0)
		return 0;
	return (uint64_t)ceil(r->rate * (double)r->duration_ns / 1e9);
}

/*
 * The achieved rate is judged at the receipt of this many of them (99%):
 * one late message at the very end of a run says nothing of the rate, a
 * backlog delays the last percent too.
 */
static uint64_t judged_at(uint64_t n)
{
	return (uint64_t)ceil(0.99 * (double)n);
}

/* Message @seq's due time on the schedule; the consumer computes the same. */
static int64_t due_of(const struct rt *r, int64_t t0, uint64_t seq)
{
	return t0 + (int64_t)((double)seq * 1e9 / r->rate);
}

/*
 * Bytes 8..15 of a message: its due time after t0 in the low 48 bits (a run
 * lasts minutes, not 78 hours) and a 16-bit check of it above, so that a
 * changed bit of a due time off any schedule (max, wakeup) is seen too.
 */
#define DUE_MASK ((UINT64_C(1) << 48) - 1)

static uint64_t due_check(uint64_t d)
{
	return (d * UINT64_C(0x9e3779b97f4a7c15)) >> 48 << 48;
}

static uint64_t due_word(int64_t due, int64_t t0)
{
	uint64_t d = (uint64_t)(due - t0) & DUE_MASK;

	return d | due_check(d);
}

/* The due time in @w, or -1 when its check fails. */
static int64_t due_read(uint64_t w, int64_t t0)
{
	return due_check(w & DUE_MASK) == (w & ~DUE_MASK) ? t0 + (int64_t)(w & DUE_MASK) : -1;
}

/*
 * The producer's put, through a deliberately broken wrapper when a test
 * asks for one (IPCBENCH_FAULT), like throughput's: a byte of its first
 * message flipped (with corrupt-first, byte 8: the due time), or its second
 * message never sent.  0: put; 1: dropped; or -errno.
 */
static int rt_put(const struct rt *r, unsigned char *m, uint64_t seq)
{
	long off = seq == 0 ? work_fault_offset(r->fault, r->size) : -1;
	int rc;

	if (r->fault == FAULT_DROP && seq == 1)
		return 1;
	if (off >= 0)
		m[off] ^= 0x40;
	rc = ipcq_put(r->q, m, r->size, IPCQ_FOREVER);
	if (off >= 0)
		m[off] ^= 0x40;
	return rc;
}

/* Waits until @due: asleep until PACE_SPIN_NS before it, then spinning.  Returns the spin's ns. */
static int64_t pace(int64_t due, unsigned yield_after)
{
	int64_t t = pool_now_ns(), spun;
	unsigned k = 0;

	if (due - t > PACE_SPIN_NS) {
		struct timespec ts = {.tv_sec = (due - PACE_SPIN_NS) / 1000000000,
				      .tv_nsec = (due - PACE_SPIN_NS) % 1000000000};

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		t = pool_now_ns();
	}
	spun = t;
	while ((t = pool_now_ns()) < due)
		work_relax(&k, yield_after);
	return t - spun;
}

/* wakeup: waits until the consumer got @seq messages.  Returns the wait's ns. */
static int64_t wait_consumed(struct rt *r, uint64_t seq)
{
	_Atomic uint64_t *got = &r->sh->slot[1].count;
	int64_t t = pool_now_ns();
	unsigned k = 0;

	while (atomic_load_explicit(got, memory_order_acquire) < seq &&
	       !atomic_load_explicit(&r->sh->nerr, memory_order_relaxed))
		work_relax(&k, r->yield_after);
	return pool_now_ns() - t;
}

static int producer(struct rt *r, unsigned char *m)
{
	struct wslot *me = &r->sh->slot[0];
	int64_t t0, now, due, end, hard, idle = 0;
	uint64_t seq, n = UINT64_MAX, w, put = 0;
	struct work_mark start;
	int rc;

	msg_init(m, r->size, 0);
	if (scheduled(r))
		n = scheduled(r);
	group_gate_wait(&r->sh->gate);
	work_mark(&start);
	t0 = start.t + (r->mode == MODE_RATE && r->rate > 0 ? START_NS : 0);
	me->t_first = t0;
	end = t0 + r->duration_ns;
	/* A backend that cannot carry the rate: stop, the achieved rate says it. */
	hard = t0 + 2 * r->duration_ns;
	for (seq = 0; seq < n; seq++) {
		now = pool_now_ns();
		if (r->mode == MODE_WAKEUP) {
			if (seq >= WAKE_MIN && now >= end)
				break;
			idle += wait_consumed(r, put);
			due = pool_now_ns() + r->gap_ns;
			idle += pace(due, r->yield_after);
		} else if (r->rate > 0) {
			due = due_of(r, t0, seq);
			if (now < due)
				idle += pace(due, r->yield_after);
			else if (now >= hard)
				break;
		} else {
			if (now >= end)
				break;
			due = now;
		}
		msg_encode(m, r->size, 0, seq);
		w = due_word(due, t0);
		memcpy(m + 8, &w, sizeof(w));
		rc = rt_put(r, m, seq);
		put += rc == 0;
		if (rc < 0) {
			work_error(r->sh, "producer: put #%llu: %s", (unsigned long long)seq,
				   strerror(-rc));
			return 1;
		}
		atomic_store_explicit(&me->count, seq + 1, memory_order_relaxed);
	}
	work_mark_end(r->sh, 0, &start);
	me->idle_ns = idle;
	rc = ipcq_put(r->q, "", 0, IPCQ_FOREVER);
	if (rc < 0)
		work_error(r->sh, "producer: put of the stop: %s", strerror(-rc));
	return rc < 0;
}

/* NULL when @due is right for message @seq received at @t after @prev; else what is wrong. */
static const char *bad_due(const struct rt *r, int64_t due, uint64_t seq, int64_t t, int64_t prev)
{
	int64_t t0 = r->sh->slot[0].t_first;

	if (due < 0)
		return "corrupt: its due time fails its check";
	if (r->mode == MODE_RATE && r->rate > 0)
		return due == due_of(r, t0, seq) ? NULL : "corrupt: not its due time";
	return due >= prev && due <= t ? NULL : "corrupt: a due time out of order";
}

static int consumer(struct rt *r, unsigned char *m, unsigned char *ref)
{
	struct wslot *me = &r->sh->slot[1];
	int64_t t, due, prev = 0;
	uint64_t w;
	struct work_mark start;
	char why[BENCH_NOTE];
	uint64_t count = 0, seq;
	const char *bad;
	unsigned pid;
	ssize_t n;

	msg_init(ref, r->size, 0);
	group_gate_wait(&r->sh->gate);
	work_mark(&start);
	for (;;) {
		n = ipcq_get(r->q, m, r->size, IPCQ_FOREVER);
		t = pool_now_ns();
		if (n < 0) {
			work_error(r->sh, "consumer: get: %s", strerror((int)-n));
			return 1;
		}
		if (n == 0)
			break; /* the producer's stop */
		if ((size_t)n != r->size) {
			work_error(r->sh, "corrupt: a message of %zd bytes, not %zu", n, r->size);
			return 1;
		}
		memcpy(&w, m + 8, sizeof(w));
		due = due_read(w, r->sh->slot[0].t_first);
		/* Bytes 8..15 back to the pattern: they are the last word below 17 bytes. */
		if (r->size <= 16)
			msg_encode(ref, r->size, 0, msg_claimed_seq(m));
		memcpy(m + 8, ref + 8, 8);
		bad = msg_check(m, (size_t)n, r->size, 1, &pid, &seq, why, sizeof(why));
		if (!bad && seq != count)
			bad = seq < count ? "duplicate or reordered" : "lost or reordered";
		if (!bad)
			bad = bad_due(r, due, seq, t, prev);
		if (bad) {
			work_error(r->sh, "message %llu: %s", (unsigned long long)count, bad);
			return 1;
		}
		hist_add(&r->sh->hist, (uint64_t)(t > due ? t - due : 0));
		prev = due;
		me->t_last = t;
		atomic_store_explicit(&me->count, ++count, memory_order_release);
		if (count == judged_at(scheduled(r)))
			me->t_first = t; /* the consumer's: when it got 99% of the schedule */
		if (count == STALL_AT)
			work_stall(r->fault); /* test only: the consumer stops for 20 ms once */
	}
	work_mark_end(r->sh, 1, &start);
	return 0;
}

static int rt_child(void *arg)
{
	struct rt_arg *a = arg;
	struct rt *r = a->rt;
	size_t room = (r->size + 127) / 64 * 64;
	unsigned char *m = aligned_alloc(64, room), *ref = aligned_alloc(64, room);
	int rc = 1;

	group_child_init(r->parent);
	if (!m || !ref)
		work_error(r->sh, "out of memory");
	else
		rc = a->side ? consumer(r, m, ref) : producer(r, m);
	free(m);
	free(ref);
	return rc;
}

/* The parent's part: release the barrier once both wait at it. */
static int rt_poll(void *ctx)
{
	struct rt *r = ctx;

	if (group_gate_arrived(&r->sh->gate) < 2)
		return 0;
	group_gate_open(&r->sh->gate);
	return 1;
}

/* What the run measured, from the shared page; -EBADMSG when a message went missing. */
static int rt_result(const struct rt *r, struct run_result *res, char *err, size_t len)
{
	struct shared *sh = r->sh;
	uint64_t sent = atomic_load(&sh->slot[0].count), got = atomic_load(&sh->slot[1].count);
	double span;

	if (got != sent) {
		snprintf(err, len, "%s: %llu messages sent, %llu arrived",
			 got < sent ? "lost" : "duplicate", (unsigned long long)sent,
			 (unsigned long long)got);
		return -EBADMSG;
	}
	span = got ? (double)(sh->slot[1].t_last - sh->slot[0].t_first) / 1e9 : 0;
	if (span <= 0)
		span = 1e-9;
	res->messages = (double)got;
	res->seconds = span;
	/* On a schedule, k messages take k / R: the last one's period counts too. */
	if (scheduled(r) && got >= judged_at(scheduled(r)))
		res->achieved =
			(double)judged_at(scheduled(r)) /
			((double)(sh->slot[1].t_first - sh->slot[0].t_first) / 1e9 + 1 / r->rate);
	else if (scheduled(r))
		res->achieved = (double)got / (span + 1 / r->rate);
	else
		res->achieved = (double)got / span;
	res->msgs_per_s = res->achieved;
	res->bytes_per_s = res->achieved * (double)r->size;
	/* Keeping the schedule is the harness's, not the queue's: the producer's spin is left out. */
	sh->slot[0].cpu_ns -=
		sh->slot[0].idle_ns < sh->slot[0].cpu_ns ? sh->slot[0].idle_ns : sh->slot[0].cpu_ns;
	work_cpu_result(sh, 2, span, res->messages, res);
	work_lat_result(&sh->hist, res);
	return 0;
}

int rate_measure(const struct cell *c, struct topo *t, struct run_result *r, struct hist *h,
		 char *err, size_t len)
{
	struct ipcq_opts o = {
		.backend = c->backend, .capacity = 0, .msg_max = c->size, .flags = c->qflags};
	struct rt rt = {.size = c->size,
			.mode = c->mode,
			.rate = c->rate,
			.gap_ns = c->gap_ns,
			.duration_ns = (int64_t)(c->duration * 1e9),
			.yield_after = c->cpus[0] >= 0 && c->cpus[0] == c->cpus[1] ? 1 : 4096,
			.fault = work_fault(),
			.parent = getpid()};
	struct rt_arg args[2] = {{&rt, 0}, {&rt, 1}};
	struct work_watch w = {.stall_ns = 10 * INT64_C(1000000000), .poll = rt_poll, .ctx = &rt};
	struct proc *procs[2];
	size_t shlen;
	int rc;

	err[0] = '\0';
	if (c->size < BENCH_RATE_MIN_SIZE) {
		snprintf(err, len, "messages of %s carry their due time: at least %d bytes",
			 bench_mode_name(c->mode), BENCH_RATE_MIN_SIZE);
		return -EINVAL;
	}
	rt.sh = work_shared_new(0, &shlen);
	if (!rt.sh) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	w.sh = rt.sh;
	rc = work_queue_new(&rt.q, &o, err, len);
	if (rc)
		goto out;
	rc = work_run(procs, 2, rt_child, args, sizeof(args[0]), t, c->cpus, &w, err, len);
	if (!rc)
		rc = rt_result(&rt, r, err, len);
	if (!rc && h)
		memcpy(h, &rt.sh->hist, sizeof(*h));
out:
	if (rt.q)
		ipcq_close(rt.q);
	work_shared_free(rt.sh, shlen);
	return rc;
}
