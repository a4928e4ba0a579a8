/* SPDX-License-Identifier: MIT */
/*
 * Throughput: P producers -> one ipcq queue -> C consumers, released together
 * at a barrier; messages/s and payload bytes/s from the first put to the
 * last get.  Every message carries its producer, its sequence number and a
 * payload derived from both (msg.h); consumers verify length, every byte and
 * per-producer order, and the parent checks that every message arrived
 * exactly once.  Any loss, duplicate, reordering or corruption fails the run.
 *
 * Nothing is shared on the hot path: each worker writes only its own cache
 * lines (struct wslot, its own struct pstat rows); the parent learns that
 * all messages arrived by summing the consumers' counts every few ms.  The
 * end is the latest consumer's last get.  A zero-length message from the
 * parent tells a consumer to stop.  With --batch N, producers put N
 * messages per ipcq_put_many() and consumers take up to N per
 * ipcq_get_many(); every message is still checked one by one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipcq_ext.h"
#include "memnode.h"
#include "msg.h"
#include "work.h"
#include "workload.h"

#define SLEEPY_NS 1000000 /* FAULT_SLEEPY: awake this long, then asleep twice as long */

struct tp {
	struct ipcq *q;
	struct shared *sh;
	size_t size;
	int producers, consumers;
	size_t batch;  /* messages per ipcq_put_many/ipcq_get_many; 1: ipcq_put/ipcq_get */
	size_t stride; /* bytes between the messages of a batch in a worker's buffer */
	uint64_t total;
	enum work_fault fault;
	pid_t parent;
};

struct tp_arg {
	struct tp *tp;
	int id; /* producers 0..P-1, then consumers 0..C-1 */
};

/*
 * The producer's put, through a deliberately broken wrapper when a test
 * asks for one: producer 0 corrupts, drops or duplicates its first message,
 * or swaps its first two.
 */
static int tp_put(struct tp *t, int id, unsigned char *m, uint64_t seq, uint64_t n,
		  unsigned char *held)
{
	long off = work_fault_offset(t->fault, t->size);
	int rc;

	if (t->fault == FAULT_NONE || id != 0 || seq > 1)
		return ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
	if (off >= 0) {
		if (seq == 0) {
			m[off] ^= 0x40;
			rc = ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
			m[off] ^= 0x40;
			return rc;
		}
		return ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
	}
	switch (t->fault) {
	case FAULT_DROP:
		if (seq == 0)
			return 0;
		break;
	case FAULT_DUP:
		if (seq == 0 && (rc = ipcq_put(t->q, m, t->size, IPCQ_FOREVER)) < 0)
			return rc;
		break;
	case FAULT_REORDER:
		if (seq == 0 && n > 1) {
			memcpy(held, m, t->size);
			return 0;
		}
		if (seq == 1) {
			rc = ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
			return rc < 0 ? rc : ipcq_put(t->q, held, t->size, IPCQ_FOREVER);
		}
		break;
	default:
		break;
	}
	return ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
}

static uint64_t share_of(const struct tp *t, int id)
{
	return t->total / (uint64_t)t->producers +
	       ((uint64_t)id < t->total % (uint64_t)t->producers);
}

/*
 * With --batch N: N messages encoded into the worker's buffer, one
 * ipcq_put_many() for them (and again for what it did not take).  A fault
 * asked for goes through tp_put() with the first two messages alone.
 */
static int put_batch(struct tp *t, int id, unsigned char *m, uint64_t seq, uint64_t n)
{
	struct iovec v[BENCH_MAX_BATCH];
	size_t k = n - seq < t->batch ? (size_t)(n - seq) : t->batch, done = 0;
	ssize_t r;

	for (size_t i = 0; i < k; i++) {
		msg_encode(m + i * t->stride, t->size, (unsigned)id, seq + i);
		v[i] = (struct iovec){.iov_base = m + i * t->stride, .iov_len = t->size};
	}
	while (done < k) {
		r = ipcq_put_many(t->q, v + done, k - done, IPCQ_FOREVER);
		if (r < 0)
			return (int)r;
		done += (size_t)r;
	}
	return (int)k;
}

static int producer(struct tp *t, int id, unsigned char *m, unsigned char *held)
{
	uint64_t n = share_of(t, id), seq;
	struct work_mark start;
	int rc;

	for (size_t i = 0; i < t->batch; i++)
		msg_init(m + i * t->stride, t->size, (unsigned)id);
	group_gate_wait(&t->sh->gate);
	work_mark(&start);
	t->sh->slot[id].t_first = start.t;
	for (seq = 0; seq < n; seq += (uint64_t)rc) {
		if (t->batch > 1 && (t->fault == FAULT_NONE || seq > 1)) {
			rc = put_batch(t, id, m, seq, n);
		} else {
			msg_encode(m, t->size, (unsigned)id, seq);
			rc = tp_put(t, id, m, seq, n, held);
			rc = rc < 0 ? rc : 1;
		}
		if (rc < 0) {
			work_error(t->sh, "producer %d: put #%llu: %s", id, (unsigned long long)seq,
				   strerror(-rc));
			return 1;
		}
	}
	work_mark_end(t->sh, id, &start);
	return 0;
}

/*
 * FAULT_SLEEPY: after SLEEPY_NS awake (looked at every 64 messages), sleep
 * twice as long: the consumer is asleep two thirds of the time, so that its
 * CPU per wall-second is at most a third whatever else the machine runs.
 */
static void sleepy(int64_t *awake_since, uint64_t count)
{
	struct timespec ts = {0, 2 * SLEEPY_NS};

	if (count % 64 || pool_now_ns() - *awake_since < SLEEPY_NS)
		return;
	nanosleep(&ts, NULL);
	*awake_since = pool_now_ns();
}

/* One message a consumer got, checked and counted. */
static void took(struct tp *t, const unsigned char *m, size_t n, struct pstat *st)
{
	char why[BENCH_NOTE];
	const char *bad;
	uint64_t seq;
	unsigned pid;

	bad = msg_check(m, n, t->size, (unsigned)t->producers, &pid, &seq, why, sizeof(why));
	if (bad) {
		work_error(t->sh, "%s (message of %zu bytes)", bad, n);
		return; /* keep draining so that nothing blocks */
	}
	if (st[pid].count && seq <= st[pid].last)
		work_error(t->sh, "%s: producer %u sequence %llu after %llu",
			   seq == st[pid].last ? "duplicate" : "reordered", pid,
			   (unsigned long long)seq, (unsigned long long)st[pid].last);
	st[pid].last = seq;
	st[pid].count++;
	st[pid].sum += seq;
	st[pid].sumsq += seq * seq;
}

/* Up to t->batch messages into @v (one ipcq_get when 1): how many, or -errno. */
static ssize_t get_some(struct tp *t, unsigned char *m, struct iovec *v)
{
	ssize_t n;

	for (size_t i = 0; i < t->batch; i++)
		v[i] = (struct iovec){.iov_base = m + i * t->stride, .iov_len = t->size};
	if (t->batch > 1)
		return ipcq_get_many(t->q, v, t->batch, IPCQ_FOREVER);
	n = ipcq_get(t->q, m, t->size, IPCQ_FOREVER);
	if (n < 0)
		return n;
	v[0].iov_len = (size_t)n;
	return 1;
}

static int consumer(struct tp *t, int cid, unsigned char *m, struct pstat *st)
{
	struct wslot *me = &t->sh->slot[t->producers + cid];
	/* With one consumer, the last message is known: no clock read per message. */
	bool alone = t->consumers == 1, marked = false, stop = false;
	struct iovec v[BENCH_MAX_BATCH];
	struct work_mark start;
	uint64_t count = 0;
	int64_t awake;
	ssize_t n;

	group_gate_wait(&t->sh->gate);
	work_mark(&start);
	awake = start.t;
	while (!stop) {
		bool real = false;

		n = get_some(t, m, v);
		if (n < 0) {
			work_error(t->sh, "consumer %d: get: %s", cid, strerror((int)-n));
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (v[i].iov_len == 0) {
				/* the parent's stop; more of them in our batch are the others' */
				if (stop)
					ipcq_put(t->q, "", 0, IPCQ_FOREVER);
				stop = true;
				continue;
			}
			real = true;
			atomic_store_explicit(&me->count, ++count, memory_order_relaxed);
			if (alone && count == t->total) {
				me->t_last = pool_now_ns();
				work_mark_end(t->sh, t->producers + cid, &start);
				marked = true;
			}
			took(t, v[i].iov_base, v[i].iov_len, st);
			if (t->fault == FAULT_SLEEPY)
				sleepy(&awake, count);
		}
		if (!alone && real) /* once per batch */
			me->t_last = pool_now_ns();
	}
	/* Several consumers: each one's span ends with the stop, a few ms after its last get. */
	if (!marked)
		work_mark_end(t->sh, t->producers + cid, &start);
	memcpy(&t->sh->stats[(size_t)cid * (size_t)t->producers], st,
	       (size_t)t->producers * sizeof(*st));
	return 0;
}

static int tp_child(void *arg)
{
	struct tp_arg *a = arg;
	struct tp *t = a->tp;
	unsigned char *m, *held;
	struct pstat *st;
	int rc;

	group_child_init(t->parent);
	m = aligned_alloc(64, t->stride * t->batch);
	held = aligned_alloc(64, (t->size + 127) / 64 * 64);
	st = aligned_alloc(64, (size_t)t->producers * sizeof(*st));
	if (st)
		memset(st, 0, (size_t)t->producers * sizeof(*st));
	if (!m || !held || !st) {
		work_error(t->sh, "out of memory");
		return 1;
	}
	if (a->id < t->producers)
		rc = producer(t, a->id, m, held);
	else
		rc = consumer(t, a->id - t->producers, m, st);
	free(m);
	free(held);
	free(st);
	return rc;
}

/* Messages the consumers got: their own counters summed, read every few ms. */
static uint64_t consumed(const struct tp *t)
{
	uint64_t n = 0;

	for (int i = 0; i < t->consumers; i++)
		n += atomic_load_explicit(&t->sh->slot[t->producers + i].count,
					  memory_order_relaxed);
	return n;
}

struct tp_watch {
	struct tp *t;
	struct proc **procs;
	int started; /* 0: at the barrier, 1: running, 2: stops sent */
	int64_t producers_done;
	char *err;
	size_t len;
};

/* The parent's part while it waits: release the barrier, then send the stops. */
static int tp_poll(void *ctx)
{
	struct tp_watch *w = ctx;
	struct tp *t = w->t;
	int i, all_done = 1;

	if (w->started == 0) {
		if (group_gate_arrived(&t->sh->gate) < (uint32_t)(t->producers + t->consumers))
			return 0;
		group_gate_open(&t->sh->gate);
		w->started = 1;
		return 0;
	}
	for (i = 0; i < t->producers; i++)
		if (proc_alive(w->procs[i]))
			all_done = 0;
	if (!all_done)
		return 0;
	if (consumed(t) < t->total) {
		/* A message lost: give the consumers 2 s to show it is only late. */
		if (!w->producers_done)
			w->producers_done = pool_now_ns();
		if (pool_now_ns() - w->producers_done < 2 * INT64_C(1000000000))
			return 0;
	}
	/*
	 * IPCQ_SP: the producer's place passes to us once the kernel shows it
	 * gone, a moment after it exited (-EBUSY until then).
	 */
	for (i = 0; i < t->consumers; i++) {
		int64_t until = pool_now_ns() + INT64_C(2000000000);

		while (ipcq_put(t->q, "", 0, INT64_C(2000000000)) == -EBUSY &&
		       pool_now_ns() < until)
			usleep(1000);
	}
	w->started = 2;
	return 1;
}

static void verify(struct tp *t, char *err, size_t len)
{
	uint64_t got = consumed(t);
	int p, c;

	if (atomic_load(&t->sh->nerr)) {
		snprintf(err, len, "%s", t->sh->err);
		return;
	}
	if (got < t->total) {
		snprintf(err, len, "lost: %llu of %llu messages never arrived",
			 (unsigned long long)(t->total - got), (unsigned long long)t->total);
		return;
	}
	if (got > t->total) {
		snprintf(err, len, "duplicate: %llu messages more than the %llu sent",
			 (unsigned long long)(got - t->total), (unsigned long long)t->total);
		return;
	}
	for (p = 0; p < t->producers; p++) {
		uint64_t n = share_of(t, p), cnt = 0, sum = 0, sumsq = 0, i;

		for (c = 0; c < t->consumers; c++) {
			const struct pstat *s =
				&t->sh->stats[(size_t)c * (size_t)t->producers + (size_t)p];

			cnt += s->count;
			sum += s->sum;
			sumsq += s->sumsq;
		}
		for (i = 0; i < n; i++) {
			sum -= i;
			sumsq -= i * i;
		}
		if (cnt != n || sum || sumsq) {
			snprintf(err, len,
				 "producer %d: sent %llu, %llu arrived, not each exactly once", p,
				 (unsigned long long)n, (unsigned long long)cnt);
			return;
		}
	}
}

int throughput_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		       char *err, size_t len)
{
	struct ipcq_opts o = {
		.backend = c->backend, .capacity = 0, .msg_max = c->size, .flags = c->qflags};
	struct tp tp = {.size = c->size,
			.producers = c->producers,
			.consumers = c->consumers,
			.batch = c->batch > 1 ? (size_t)c->batch : 1,
			.stride = (c->size + 127) / 64 * 64,
			.total = (uint64_t)iters,
			.fault = work_fault(),
			.parent = getpid()};
	int nw = c->producers + c->consumers, i, rc;
	struct proc *procs[2 * BENCH_MAX_PROCS];
	int cpus[2 * BENCH_MAX_PROCS];
	struct tp_arg args[2 * BENCH_MAX_PROCS];
	struct tp_watch tw = {.t = &tp, .procs = procs, .err = err, .len = len};
	struct work_watch w = {.stall_ns = 10 * INT64_C(1000000000), .poll = tp_poll, .ctx = &tw};
	struct memnode_set ms = {0};
	size_t shlen;
	int64_t t0, t1;

	err[0] = '\0';
	tp.sh = work_shared_new((size_t)c->producers * (size_t)c->consumers, &shlen);
	if (!tp.sh) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	w.sh = tp.sh;
	rc = work_queue_new(&tp.q, &o, err, len);
	if (rc)
		goto out;
	memnode_add_queue(&ms, tp.q);
	rc = memnode_apply(&ms, err, len);
	if (rc)
		goto out;
	/* Producers on the first CPU of the pair, consumers on the second. */
	for (i = 0; i < nw; i++) {
		args[i] = (struct tp_arg){&tp, i};
		cpus[i] = c->cpus[i < c->producers ? 0 : 1];
	}
	rc = work_run(procs, nw, tp_child, args, sizeof(args[0]), t, cpus, &w, err, len);
	if (rc == -EINTR)
		goto out;
	if (!rc || rc == -EBADMSG) {
		verify(&tp, err, len);
		if (err[0]) {
			rc = -EBADMSG;
			goto out;
		}
	}
	if (rc)
		goto out;
	t0 = tp.sh->slot[0].t_first;
	for (i = 1; i < c->producers; i++)
		if (tp.sh->slot[i].t_first < t0)
			t0 = tp.sh->slot[i].t_first;
	t1 = tp.sh->slot[c->producers].t_last;
	for (i = 1; i < c->consumers; i++)
		if (tp.sh->slot[c->producers + i].t_last > t1)
			t1 = tp.sh->slot[c->producers + i].t_last;
	r->messages = (double)iters;
	r->seconds = (double)(t1 - t0) / 1e9;
	if (r->seconds <= 0)
		r->seconds = 1e-9;
	work_cpu_result(tp.sh, nw, r->seconds, r->messages, r);
	r->msgs_per_s = (double)iters / r->seconds;
	r->bytes_per_s = r->msgs_per_s * (double)c->size;
	memnode_verify(&ms, c->name);
out:
	if (tp.q)
		ipcq_close(tp.q);
	work_shared_free(tp.sh, shlen);
	return rc;
}
