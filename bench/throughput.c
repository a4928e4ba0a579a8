/* SPDX-License-Identifier: MIT */
/*
 * Throughput: P producers -> one ipcq queue -> C consumers, released together
 * at a barrier; messages/s and payload bytes/s from the first put to the
 * last get.  Every message carries its producer, its sequence number and a
 * checksum; consumers verify length, content and per-producer order, and
 * the parent checks that every message arrived exactly once.  Any loss,
 * duplicate, reordering or corruption fails the run.
 *
 * Message layout (size >= 8, little endian):
 *   word 0: producer (8 bits) | sequence (40 bits) | check of both (16 bits)
 *   word 1: (size >= 16) checksum over word 0 and the payload bytes [16, size)
 *   bytes [16, size): a pattern fixed per producer
 * A zero-length message from the parent tells a consumer to stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcq_ext.h"
#include "work.h"

#define SEQ_BITS 40
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)

/* Test-only fault injection in the harness (never in libipcq): IPCBENCH_FAULT. */
enum fault { FAULT_NONE, FAULT_CORRUPT, FAULT_DROP, FAULT_DUP, FAULT_REORDER };

struct tp {
	struct ipcq *q;
	struct shared *sh;
	size_t size;
	int producers, consumers;
	uint64_t total;
	enum fault fault;
	pid_t parent;
};

struct tp_arg {
	struct tp *tp;
	int id; /* producers 0..P-1, then consumers 0..C-1 */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Sum of the payload as 64-bit words plus the tail: fast, and any flipped bit shows. */
static uint64_t payload_sum(const unsigned char *p, size_t len)
{
	uint64_t s = 0, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		s += w;
	}
	for (; i < len; i++)
		s += (uint64_t)p[i] << (8 * (i & 7));
	return s;
}

static uint64_t tag_of(unsigned pid, uint64_t seq)
{
	uint64_t t = (uint64_t)pid << 56 | (seq & SEQ_MASK) << 16;

	return t | (mix64(t) & 0xffff);
}

static void encode(unsigned char *m, size_t size, unsigned pid, uint64_t seq, uint64_t psum)
{
	uint64_t tag = tag_of(pid, seq), sum;

	memcpy(m, &tag, 8);
	if (size >= 16) {
		sum = mix64(tag ^ psum);
		memcpy(m + 8, &sum, 8);
	}
}

static enum fault fault_from_env(void)
{
	const char *f = getenv("IPCBENCH_FAULT");

	if (!f)
		return FAULT_NONE;
	if (!strcmp(f, "corrupt"))
		return FAULT_CORRUPT;
	if (!strcmp(f, "drop"))
		return FAULT_DROP;
	if (!strcmp(f, "dup"))
		return FAULT_DUP;
	if (!strcmp(f, "reorder"))
		return FAULT_REORDER;
	return FAULT_NONE;
}

/*
 * The producer's put, through a deliberately broken wrapper when a test
 * asks for one: producer 0 corrupts, drops or duplicates its first message,
 * or swaps its first two.
 */
static int tp_put(struct tp *t, int id, unsigned char *m, uint64_t seq, uint64_t n,
		  unsigned char *held)
{
	int rc;

	if (t->fault == FAULT_NONE || id != 0 || seq > 1)
		return ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
	switch (t->fault) {
	case FAULT_CORRUPT:
		if (seq == 0) {
			m[t->size - 1] ^= 0x40;
			rc = ipcq_put(t->q, m, t->size, IPCQ_FOREVER);
			m[t->size - 1] ^= 0x40;
			return rc;
		}
		break;
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

static int producer(struct tp *t, int id, unsigned char *m, unsigned char *held)
{
	uint64_t n = t->total / (uint64_t)t->producers +
		     ((uint64_t)id < t->total % (uint64_t)t->producers);
	uint64_t seq, psum = 0;
	int rc;

	for (size_t k = 16; k < t->size; k++)
		m[k] = (unsigned char)(k * 31 + (size_t)id * 101 + 7);
	if (t->size > 16)
		psum = payload_sum(m + 16, t->size - 16);
	work_barrier(t->sh);
	t->sh->t_start[id] = bench_now_ns();
	for (seq = 0; seq < n; seq++) {
		encode(m, t->size, (unsigned)id, seq, psum);
		rc = tp_put(t, id, m, seq, n, held);
		if (rc < 0) {
			work_error(t->sh, "producer %d: put #%llu: %s", id, (unsigned long long)seq,
				   strerror(-rc));
			return 1;
		}
	}
	return 0;
}

/* Verifies one message; returns NULL or what is wrong with it. */
static const char *check(struct tp *t, const unsigned char *m, ssize_t n, unsigned *pid,
			 uint64_t *seq)
{
	uint64_t tag, sum;

	if ((size_t)n != t->size)
		return "corrupt: wrong length";
	memcpy(&tag, m, 8);
	*pid = (unsigned)(tag >> 56);
	*seq = (tag >> 16) & SEQ_MASK;
	if (tag != tag_of(*pid, *seq) || *pid >= (unsigned)t->producers)
		return "corrupt: bad tag";
	if (t->size >= 16) {
		memcpy(&sum, m + 8, 8);
		if (sum != mix64(tag ^ (t->size > 16 ? payload_sum(m + 16, t->size - 16) : 0)))
			return "corrupt: payload checksum mismatch";
	}
	return NULL;
}

static int consumer(struct tp *t, int cid, unsigned char *m)
{
	struct pstat *st = &t->sh->stats[(size_t)cid * (size_t)t->producers];
	const char *bad;
	unsigned pid;
	uint64_t seq;
	ssize_t n;

	work_barrier(t->sh);
	for (;;) {
		n = ipcq_get(t->q, m, t->size, IPCQ_FOREVER);
		if (n < 0) {
			work_error(t->sh, "consumer %d: get: %s", cid, strerror((int)-n));
			return 1;
		}
		if (n == 0)
			return 0; /* the parent's stop */
		if (atomic_fetch_add(&t->sh->consumed, 1) + 1 == t->total)
			t->sh->t_end = bench_now_ns();
		bad = check(t, m, n, &pid, &seq);
		if (bad) {
			work_error(t->sh, "%s (message of %zd bytes)", bad, n);
			continue; /* keep draining so that nothing blocks */
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
}

static int tp_child(void *arg)
{
	struct tp_arg *a = arg;
	struct tp *t = a->tp;
	unsigned char *m, *held;
	int rc;

	work_child_init(t->parent);
	m = calloc(1, t->size + 64);
	held = calloc(1, t->size + 64);
	if (!m || !held) {
		work_error(t->sh, "out of memory");
		return 1;
	}
	if (a->id < t->producers)
		rc = producer(t, a->id, m, held);
	else
		rc = consumer(t, a->id - t->producers, m);
	free(m);
	free(held);
	return rc;
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
		if (atomic_load(&t->sh->ready) < (uint32_t)(t->producers + t->consumers))
			return 0;
		work_go(t->sh);
		w->started = 1;
		return 0;
	}
	for (i = 0; i < t->producers; i++)
		if (proc_alive(w->procs[i]))
			all_done = 0;
	if (!all_done)
		return 0;
	if (atomic_load(&t->sh->consumed) < t->total) {
		/* A message lost: give the consumers 2 s to show it is only late. */
		if (!w->producers_done)
			w->producers_done = bench_now_ns();
		if (bench_now_ns() - w->producers_done < 2 * INT64_C(1000000000))
			return 0;
	}
	for (i = 0; i < t->consumers; i++)
		ipcq_put(t->q, "", 0, INT64_C(2000000000));
	w->started = 2;
	return 1;
}

static void verify(struct tp *t, char *err, size_t len)
{
	uint64_t consumed = atomic_load(&t->sh->consumed);
	int p, c;

	if (atomic_load(&t->sh->nerr)) {
		snprintf(err, len, "%s", t->sh->err);
		return;
	}
	if (consumed < t->total) {
		snprintf(err, len, "lost: %llu of %llu messages never arrived",
			 (unsigned long long)(t->total - consumed), (unsigned long long)t->total);
		return;
	}
	if (consumed > t->total) {
		snprintf(err, len, "duplicate: %llu messages more than the %llu sent",
			 (unsigned long long)(consumed - t->total), (unsigned long long)t->total);
		return;
	}
	for (p = 0; p < t->producers; p++) {
		uint64_t n = t->total / (uint64_t)t->producers +
			     ((uint64_t)p < t->total % (uint64_t)t->producers);
		uint64_t cnt = 0, sum = 0, sumsq = 0, i;

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
	struct ipcq_opts o = {.backend = c->backend, .capacity = 0, .msg_max = c->size};
	struct tp tp = {.size = c->size,
			.producers = c->producers,
			.consumers = c->consumers,
			.total = (uint64_t)iters,
			.fault = fault_from_env(),
			.parent = getpid()};
	int nw = c->producers + c->consumers, i, rc;
	struct proc *procs[2 * BENCH_MAX_PROCS];
	int cpus[2 * BENCH_MAX_PROCS];
	struct tp_arg args[2 * BENCH_MAX_PROCS];
	struct tp_watch tw = {.t = &tp, .procs = procs, .err = err, .len = len};
	struct work_watch w = {.stall_ns = 10 * INT64_C(1000000000), .poll = tp_poll, .ctx = &tw};
	size_t shlen;
	int64_t t0;

	err[0] = '\0';
	tp.sh = work_shared_new((size_t)c->producers * (size_t)c->consumers, &shlen);
	if (!tp.sh) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	w.sh = tp.sh;
	rc = ipcq_create(&tp.q, &o);
	if (rc) {
		if (ipcq_explain(&o, rc, err, len) <= 0)
			snprintf(err, len, "ipcq_create: %s", strerror(-rc));
		goto out;
	}
	/* Producers on the first CPU of the pair, consumers on the second. */
	for (i = 0; i < nw; i++) {
		args[i] = (struct tp_arg){&tp, i};
		cpus[i] = c->cpus[i < c->producers ? 0 : 1];
	}
	rc = work_start(procs, nw, tp_child, args, sizeof(args[0]), t, cpus);
	if (rc) {
		snprintf(err, len, "starting workers: %s", strerror(-rc));
		goto out;
	}
	rc = work_wait(procs, nw, &w, err, len);
	work_reap(procs, nw);
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
	t0 = tp.sh->t_start[0];
	for (i = 1; i < c->producers; i++)
		if (tp.sh->t_start[i] < t0)
			t0 = tp.sh->t_start[i];
	r->messages = (double)iters;
	r->seconds = (double)(tp.sh->t_end - t0) / 1e9;
	if (r->seconds <= 0)
		r->seconds = 1e-9;
	r->msgs_per_s = (double)iters / r->seconds;
	r->bytes_per_s = r->msgs_per_s * (double)c->size;
out:
	if (tp.q)
		ipcq_close(tp.q);
	work_shared_free(tp.sh, shlen);
	return rc;
}
