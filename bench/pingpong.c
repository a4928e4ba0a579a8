/* SPDX-License-Identifier: MIT */
/*
 * Ping-pong between two pinned processes: one message there and back, every
 * round trip timed with CLOCK_MONOTONIC.  The same loop runs over an ipcq
 * queue pair (latency), over the bare mechanisms without ipcq (bare: pipe
 * write/read in packet mode as the pipe backend uses, and in stream mode;
 * msgsnd/msgrcv; mq_send/mq_receive; a minimal SPSC ring in shared memory,
 * spsc.c) and, as the hardware floor, over one cache line in shared memory
 * with no system call at all.  Every echo is checked whole: its length and
 * every byte (msg.h), outside the timed span.  Latency is the round-trip
 * time (RTT), never halved.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#include "bare_sock.h"
#include "ipcq_ext.h"
#include "memnode.h"
#include "msg.h"
#include "spsc.h"
#include "work.h"
#include "workload.h"

enum pp_kind { PP_IPCQ, PP_PIPE, PP_PIPE_STREAM, PP_SYSV, PP_MQUEUE, PP_SHM, PP_SOCK, PP_FLOOR };

#define PP_WARM	      200  /* round trips before timing starts */
#define PP_FLOOR_WARM 2000 /* the floor's rounds are much shorter */

struct pp {
	enum pp_kind kind;
	struct ipcq *q[2]; /* [0]: ping -> pong, [1]: pong -> ping */
	int fd[2][2];
	int msqid[2];
	mqd_t mq[2];
	struct spsc *ring[2];
	size_t size;
	int64_t warm, rounds;
	unsigned yield_after; /* floor and bare shm: spins before sched_yield */
	enum work_fault fault;
	struct shared *sh;
	pid_t parent;
};

struct pp_arg {
	struct pp *pp;
	int side; /* 0: ping (times), 1: pong (echoes) */
};

static int write_full(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* @buf has room for a long before it: SysV's mtype. */
static int pp_send(struct pp *p, int dir, unsigned char *buf, size_t len)
{
	long *m;

	switch (p->kind) {
	case PP_IPCQ:
		return ipcq_put(p->q[dir], buf, len, IPCQ_FOREVER);
	case PP_PIPE:
	case PP_PIPE_STREAM:
	case PP_SOCK:
		/* Packet mode: the kernel cuts a write into packets of a page each. */
		return write_full(p->fd[dir][1], buf, len);
	case PP_SHM:
		spsc_put(p->ring[dir], buf, len, p->yield_after);
		return 0;
	case PP_SYSV:
		m = (long *)(void *)(buf - sizeof(long));
		*m = 1;
		while (msgsnd(p->msqid[dir], m, len, 0) < 0)
			if (errno != EINTR)
				return -errno;
		return 0;
	case PP_MQUEUE:
		while (mq_send(p->mq[dir], (const char *)buf, len, 0) < 0)
			if (errno != EINTR)
				return -errno;
		return 0;
	default:
		return -EINVAL;
	}
}

static ssize_t pp_recv(struct pp *p, int dir, unsigned char *buf, size_t cap)
{
	ssize_t n;

	switch (p->kind) {
	case PP_IPCQ:
		return ipcq_get(p->q[dir], buf, cap, IPCQ_FOREVER);
	case PP_PIPE:
	case PP_PIPE_STREAM:
	case PP_SOCK:
		/* Packet mode: each read returns one packet, whole. */
		return read_full(p->fd[dir][0], buf, p->size);
	case PP_SHM:
		return (ssize_t)spsc_get(p->ring[dir], buf, p->yield_after);
	case PP_SYSV:
		while ((n = msgrcv(p->msqid[dir], buf - sizeof(long), cap, 0, 0)) < 0)
			if (errno != EINTR)
				return -errno;
		return n;
	case PP_MQUEUE:
		while ((n = mq_receive(p->mq[dir], (char *)buf, cap, NULL)) < 0)
			if (errno != EINTR)
				return -errno;
		return n;
	default:
		return -EINVAL;
	}
}

/* @yield_after spins, then sched_yield: on one CPU (same-cpu) the other side must run. */
static void spin_until(_Atomic uint64_t *line, uint64_t v, unsigned yield_after)
{
	unsigned n = 0;

	while (atomic_load_explicit(line, memory_order_acquire) != v)
		work_relax(&n, yield_after);
}

static int floor_side(struct pp *p, int side)
{
	struct shared *sh = p->sh;
	int64_t i, total = p->warm + p->rounds, t0, t1;
	struct work_mark start;
	uint64_t sum = 0;

	for (i = 0; i < total; i++) {
		if (i == p->warm)
			work_mark(&start);
		if (side) {
			spin_until(&sh->line, 2 * (uint64_t)i + 1, p->yield_after);
			atomic_store_explicit(&sh->line, 2 * (uint64_t)i + 2, memory_order_release);
			continue;
		}
		t0 = pool_now_ns();
		atomic_store_explicit(&sh->line, 2 * (uint64_t)i + 1, memory_order_release);
		spin_until(&sh->line, 2 * (uint64_t)i + 2, p->yield_after);
		t1 = pool_now_ns();
		if (i >= p->warm) {
			hist_add(&sh->hist, (uint64_t)(t1 - t0));
			sum += (uint64_t)(t1 - t0);
		}
		if (!(i & 1023))
			atomic_store_explicit(&sh->progress, (uint64_t)i, memory_order_relaxed);
	}
	work_mark_end(sh, side, &start);
	if (!side)
		sh->rtt_sum = sum; /* the pong's is 0: were it last, the run would look free */
	return 0;
}

/* NULL when @in (@n bytes) is the echo of round @i, whole; else what is wrong. */
static const char *check_echo(const struct pp *p, const unsigned char *in, ssize_t n, int64_t i,
			      char *why, size_t len)
{
	const char *bad;
	unsigned pid;
	uint64_t seq;

	bad = msg_check(in, (size_t)n, p->size, 1, &pid, &seq, why, len);
	if (!bad && seq != ((uint64_t)i & MSG_SEQ_MASK))
		bad = "corrupt: the echo of another round trip";
	return bad;
}

static int ping(struct pp *p, unsigned char *out, unsigned char *in)
{
	struct shared *sh = p->sh;
	int64_t i, total = p->warm + p->rounds, t0, t1;
	struct work_mark start;
	char why[BENCH_NOTE];
	const char *bad;
	uint64_t sum = 0;
	ssize_t n;
	int rc;

	msg_init(out, p->size, 0);
	for (i = 0; i < total; i++) {
		if (i == p->warm)
			work_mark(&start);
		msg_encode(out, p->size, 0, (uint64_t)i); /* the echo must carry it back whole */
		t0 = pool_now_ns();
		rc = pp_send(p, 0, out, p->size);
		n = rc < 0 ? rc : pp_recv(p, 1, in, p->size);
		t1 = pool_now_ns();
		if (n < 0) {
			work_error(sh, "round trip %lld: %s", (long long)i, strerror((int)-n));
			return 1;
		}
		if ((bad = check_echo(p, in, n, i, why, sizeof(why)))) {
			work_error(sh, "round trip %lld: echo of %zd bytes: %s", (long long)i, n,
				   bad);
			return 1;
		}
		if (i >= p->warm) {
			hist_add(&sh->hist, (uint64_t)(t1 - t0));
			sum += (uint64_t)(t1 - t0);
		}
		if (!(i & 255))
			atomic_store_explicit(&sh->progress, (uint64_t)i, memory_order_relaxed);
	}
	work_mark_end(sh, 0, &start);
	sh->rtt_sum = sum;
	return 0;
}

static int pong(struct pp *p, unsigned char *buf)
{
	int64_t i, total = p->warm + p->rounds;
	long bad = work_fault_offset(p->fault, p->size);
	struct work_mark start;
	ssize_t n;
	int rc;

	for (i = 0; i < total; i++) {
		if (i == p->warm)
			work_mark(&start);
		n = pp_recv(p, 0, buf, p->size);
		if (i == p->warm + p->rounds / 2)
			work_stall(p->fault); /* test only: one slow round trip of many */
		if (i == 0 && bad >= 0 && n > bad)
			buf[bad] ^= 0x40; /* test only: a broken echo (IPCBENCH_FAULT) */
		rc = n < 0 ? (int)n : pp_send(p, 1, buf, (size_t)n);
		if (rc < 0) {
			work_error(p->sh, "echo %lld: %s", (long long)i, strerror(-rc));
			return 1;
		}
	}
	work_mark_end(p->sh, 1, &start);
	return 0;
}

static int pp_child(void *arg)
{
	struct pp_arg *a = arg;
	struct pp *p = a->pp;
	unsigned char *raw[2];
	int rc;

	group_child_init(p->parent);
	if (p->kind == PP_FLOOR)
		return floor_side(p, a->side);
	/* 64 bytes of head room: SysV's mtype goes just before the payload. */
	raw[0] = aligned_alloc(64, p->size + 128);
	raw[1] = aligned_alloc(64, p->size + 128);
	if (!raw[0] || !raw[1]) {
		work_error(p->sh, "out of memory");
		return 1;
	}
	memset(raw[0], 0, p->size + 128);
	memset(raw[1], 0, p->size + 128);
	rc = a->side ? pong(p, raw[0] + 64) : ping(p, raw[0] + 64, raw[1] + 64);
	free(raw[0]);
	free(raw[1]);
	return rc;
}

static enum pp_kind kind_of(const struct cell *c)
{
	if (c->mode == MODE_FLOOR)
		return PP_FLOOR;
	if (c->mode == MODE_LATENCY)
		return PP_IPCQ;
	if (!strcmp(c->backend, "sysv"))
		return PP_SYSV;
	if (!strcmp(c->backend, "mqueue"))
		return PP_MQUEUE;
	if (!strcmp(c->backend, "shm"))
		return PP_SHM;
	if (!strcmp(c->backend, "pipe-stream"))
		return PP_PIPE_STREAM;
	if (bare_sock_is(c->backend))
		return PP_SOCK;
	return PP_PIPE;
}

static void pp_close(struct pp *p)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (p->q[d])
			ipcq_close(p->q[d]);
		if (p->fd[d][0] >= 0)
			close(p->fd[d][0]);
		if (p->fd[d][1] >= 0)
			close(p->fd[d][1]);
		if (p->mq[d] != (mqd_t)-1)
			mq_close(p->mq[d]);
		spsc_free(p->ring[d]);
		p->ring[d] = NULL;
		p->q[d] = NULL;
		p->fd[d][0] = p->fd[d][1] = p->msqid[d] = -1;
		p->mq[d] = (mqd_t)-1;
	}
}

/* A POSIX queue nobody else can name: created exclusively, unlinked at once. */
static int bare_mq_open(mqd_t *out, size_t size)
{
	struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = (long)size};
	char name[64] = "/ipcbench-bare-";
	int rc = work_random_hex(name + strlen(name), 16);

	if (rc)
		return rc;
	*out = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (*out == (mqd_t)-1)
		return -errno;
	mq_unlink(name);
	return 0;
}

static int pp_open(struct pp *p, const struct cell *c)
{
	struct ipcq_opts o = {
		.backend = c->backend, .capacity = 1, .msg_max = c->size, .flags = c->qflags};
	int d, rc = 0;

	for (d = 0; d < 2; d++) {
		p->q[d] = NULL;
		p->ring[d] = NULL;
		p->fd[d][0] = p->fd[d][1] = p->msqid[d] = -1;
		p->mq[d] = (mqd_t)-1;
	}
	for (d = 0; d < 2 && !rc; d++) {
		switch (p->kind) {
		case PP_IPCQ:
			rc = ipcq_create(&p->q[d], &o);
			break;
		case PP_PIPE:
			/* Packet mode, as the pipe backend's: one write, one packet. */
			rc = pipe2(p->fd[d], O_CLOEXEC | O_DIRECT) ? -errno : 0;
			break;
		case PP_PIPE_STREAM:
			rc = pipe2(p->fd[d], O_CLOEXEC) ? -errno : 0;
			break;
		case PP_SOCK:
			rc = bare_sock_pair(c->backend, p->fd[d]);
			break;
		case PP_SHM:
			rc = spsc_new(&p->ring[d], c->size, 2);
			break;
		case PP_SYSV:
			/*
			 * Made by libipcq, used raw: its records let ipcbench clean
			 * remove the queue after a SIGKILL, which a bare msgget's
			 * could not; ipcq_close() removes it.
			 */
			rc = ipcq_create(&p->q[d], &o);
			if (!rc)
				rc = p->msqid[d] = ipcq_sysv_msqid(p->q[d]);
			rc = rc < 0 ? rc : 0;
			break;
		case PP_MQUEUE:
			rc = bare_mq_open(&p->mq[d], c->size);
			break;
		case PP_FLOOR:
			break;
		}
	}
	if (rc)
		pp_close(p);
	return rc;
}

/* --mem-node: the memory of this run that ipcbench can place (memnode.h). */
static void pp_mem(struct pp *p, struct memnode_set *s)
{
	size_t n;
	void *a;

	for (int d = 0; d < 2; d++) {
		if (p->ring[d]) {
			a = spsc_mem(p->ring[d], &n);
			memnode_add(s, a, n);
		}
		memnode_add_queue(s, p->q[d]);
	}
	if (p->kind == PP_FLOOR)
		memnode_add(s, (const void *)&p->sh->line, sizeof(p->sh->line));
	else if (p->kind != PP_IPCQ && p->kind != PP_SHM)
		memnode_add_kernel(s);
}

/* One line saying why the kernel refused: ipcq_explain's, or ours for the bare loops. */
static void explain(const struct cell *c, int err, char *why, size_t len)
{
	struct ipcq_opts o = {
		.backend = c->backend, .capacity = 1, .msg_max = c->size, .flags = c->qflags};

	if (ipcq_explain(&o, err, why, len) > 0)
		return;
	if (c->mode == MODE_BARE && !strcmp(c->backend, "sysv") && err == -EINVAL)
		snprintf(why, len,
			 "%zu-byte messages exceed kernel.msgmax; raise it: sysctl -w "
			 "kernel.msgmax=%zu",
			 c->size, c->size);
	else if (c->mode == MODE_BARE && !strcmp(c->backend, "mqueue") && err == -EINVAL)
		snprintf(why, len,
			 "%zu-byte messages exceed fs.mqueue.msgsize_max; raise it: sysctl -w "
			 "fs.mqueue.msgsize_max=%zu",
			 c->size, c->size);
	else
		snprintf(why, len, "%s: %s", c->mode == MODE_BARE ? c->backend : "ipcq_create",
			 strerror(-err));
}

int pingpong_probe(const struct cell *c, char *why, size_t len)
{
	struct ipcq_opts o = {
		.backend = c->backend, .capacity = 1, .msg_max = c->size, .flags = c->qflags};
	struct pp p = {.kind = kind_of(c), .size = c->size};
	unsigned char *m;
	int rc;

	if (c->mode == MODE_THROUGHPUT || c->mode == MODE_RATE || c->mode == MODE_WAKEUP)
		o.capacity = 0;
	if (c->mode != MODE_FLOOR && c->mode != MODE_BARE) {
		struct ipcq *q;

		rc = ipcq_create(&q, &o);
		if (rc) {
			explain(c, rc, why, len);
			return rc;
		}
		ipcq_close(q);
		return 0;
	}
	rc = pp_open(&p, c);
	if (!rc && p.kind == PP_SYSV) {
		/* msgget takes no size: one message of this size must go through. */
		m = calloc(1, sizeof(long) + c->size);
		if (!m)
			rc = -ENOMEM;
		else if ((*(long *)(void *)m = 1, msgsnd(p.msqid[0], m, c->size, IPC_NOWAIT)) < 0)
			rc = -errno;
		free(m);
	}
	pp_close(&p);
	if (rc)
		explain(c, rc, why, len);
	return rc;
}

int pingpong_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		     struct hist *h, char *err, size_t len)
{
	struct pp p = {.kind = kind_of(c),
		       .size = c->size,
		       .rounds = iters,
		       .parent = getpid(),
		       .fault = work_fault()};
	struct pp_arg args[2] = {{&p, 0}, {&p, 1}};
	struct work_watch w = {.stall_ns = 10 * INT64_C(1000000000)};
	struct memnode_set ms = {0};
	struct proc *procs[2];
	size_t shlen;
	int rc;

	p.warm = p.kind == PP_FLOOR ? PP_FLOOR_WARM : PP_WARM;
	p.yield_after = c->cpus[0] >= 0 && c->cpus[0] == c->cpus[1] ? 1 : 4096;
	p.sh = work_shared_new(0, &shlen);
	if (!p.sh) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	w.sh = p.sh;
	rc = pp_open(&p, c);
	if (rc) {
		explain(c, rc, err, len);
		goto out;
	}
	pp_mem(&p, &ms);
	rc = memnode_apply(&ms, err, len);
	if (rc)
		goto out;
	rc = work_run(procs, 2, pp_child, args, sizeof(args[0]), t, c->cpus, &w, err, len);
	if (rc)
		goto out;
	r->messages = (double)iters;
	r->seconds = (double)p.sh->rtt_sum / 1e9;
	/* CPU over the ping's span of the timed round trips, both sides summed. */
	work_cpu_result(p.sh, 2, (double)p.sh->slot[0].wall_ns / 1e9, r->messages, r);
	work_lat_result(&p.sh->hist, r);
	if (h)
		memcpy(h, &p.sh->hist, sizeof(*h));
	memnode_verify(&ms, c->name);
out:
	pp_close(&p);
	work_shared_free(p.sh, shlen);
	return rc;
}
