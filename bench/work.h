/* SPDX-License-Identifier: MIT */
/*
 * Internal to the workloads: the page the workers and the parent share for
 * one run (with the group's start barrier in it), the workers' marks and
 * faults, and work_wait, which supervises them through pool/group.
 */
#ifndef BENCH_WORK_H
#define BENCH_WORK_H

#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "bench.h"
#include "ipcq.h"
#include "ipcq_ext.h"
#include "group.h"
#include "proc.h"
#include "relax_pvt.h"

/* Per consumer and producer: what the consumer saw of that producer (a line each). */
struct pstat {
	alignas(64) uint64_t count;
	uint64_t sum;	/* of sequence numbers */
	uint64_t sumsq; /* of their squares (mod 2^64) */
	uint64_t last;
};

/*
 * One per worker, on a cache line of its own that only that worker writes
 * (the parent reads it every few ms, never per message).
 */
struct wslot {
	alignas(64) _Atomic uint64_t count; /* consumer: messages got so far (relaxed store) */
	int64_t t_first;		    /* producer: its first put may start */
	int64_t t_last;			    /* consumer: its last get */
	int64_t cpu_ns;			    /* user + system CPU over the timed part */
	int64_t csw;	 /* voluntary + involuntary context switches, same span */
	int64_t wall_ns; /* the timed part */
	int64_t idle_ns; /* rate, wakeup producer: spent keeping its schedule, not in IPC */
};

/* A worker's clock and CPU at one moment (work_mark). */
struct work_mark {
	int64_t t, cpu_ns, csw;
};

struct shared {
	struct group_gate gate; /* the start barrier */
	alignas(64) _Atomic uint64_t progress;
	alignas(64) _Atomic uint64_t line;	/* the floor's cache line */
	struct wslot slot[2 * BENCH_MAX_PROCS]; /* producers, then consumers; ping, pong */
	alignas(64) uint64_t rtt_sum;
	_Atomic int nerr;
	char err[BENCH_NOTE];
	struct hist hist;
	struct pstat stats[]; /* consumers x producers */
};

/* A MAP_SHARED anonymous area for one run with room for @nstats pstats; NULL on failure. */
struct shared *work_shared_new(size_t nstats, size_t *len);
void work_shared_free(struct shared *sh, size_t len);

/* In a worker: the first error of the run wins; later ones are dropped. */
void work_error(struct shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Hooks the parent calls while it waits: @poll every few ms returns 1 once
 * the run reached a phase where the parent must act, 0 to keep waiting.
 */
struct work_watch {
	struct shared *sh;
	int64_t stall_ns; /* no progress for this long: the run failed */
	int (*poll)(void *ctx);
	void *ctx;
};

/*
 * group_wait on the run's shared page: stopped by bench_stop, progress
 * from ping-pong's counter and the consumers' counts, a worker's error
 * from work_error.  Returns as group_wait.
 */
int work_wait(struct proc **procs, int n, struct work_watch *w, char *err, size_t len);

/*
 * The whole life of a run's workers: group_start of @n workers running
 * fn(args + i * argsz) on cpus[i], work_wait, group_reap.  Returns as
 * work_wait, or group_start's -errno with "starting workers: ..." in @err.
 */
int work_run(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
	     const int *cpus, struct work_watch *w, char *err, size_t len);

/* ipcq_create(@q, @o), or -errno with ipcq_explain()'s line (or strerror) in @err. */
int work_queue_new(struct ipcq **q, const struct ipcq_opts *o, char *err, size_t len);

/*
 * In a worker, at the start and at the end of its timed part (a system
 * call each: never per message): the clock and getrusage(RUSAGE_SELF).
 * work_mark_end stores the span since @start in slot @i.
 */
void work_mark(struct work_mark *m);
void work_mark_end(struct shared *sh, int i, const struct work_mark *start);

/*
 * In the parent: the CPU columns of a run from slots [0, n), over @wall_s
 * seconds of the timed part and @msgs messages or round trips.
 */
void work_cpu_result(const struct shared *sh, int n, double wall_s, double msgs,
		     struct run_result *r);

/* The latency columns of @r from @h: min, mean, p50, p90, p99, p99.9, max. */
void work_lat_result(const struct hist *h, struct run_result *r);

/* Test-only faults in the harness (never in libipcq): IPCBENCH_FAULT. */
enum work_fault {
	FAULT_NONE,
	FAULT_CORRUPT,	     /* throughput: the last byte of producer 0's first message */
	FAULT_CORRUPT_FIRST, /* the first, a middle or the last payload byte: producer 0's */
	FAULT_CORRUPT_MID,   /* first message, or the pong's first echo */
	FAULT_CORRUPT_LAST,
	FAULT_DROP,
	FAULT_DUP,
	FAULT_REORDER,
	FAULT_SLEEPY, /* throughput: consumers sleep two thirds of their time */
	FAULT_STALL,  /* rate, wakeup consumer and latency pong: stall once for WORK_STALL_NS */
};

#define WORK_STALL_NS INT64_C(20000000)

/* FAULT_STALL: sleeps WORK_STALL_NS once (the caller picks the moment); else nothing. */
void work_stall(enum work_fault f);

enum work_fault work_fault(void);

/* The byte a corrupting @f flips in a message of @size bytes, or -1. */
long work_fault_offset(enum work_fault f, size_t size);

/*
 * One poll of a busy wait: the CPU-relax hint of libipcq (relax_pvt.h, self-
 * contained, so that the workloads spin as the queues do, on every
 * architecture), and sched_yield after every @yield_after.
 */
static inline void work_relax(unsigned *n, unsigned yield_after)
{
	__ipcq_cpu_relax();
	if (++*n >= yield_after) {
		*n = 0;
		sched_yield();
	}
}

/*
 * @nhex (at most 64) random hex digits and a NUL into @buf, for object
 * names.  0, or -errno from getrandom (never a fixed pattern: two runs
 * would then race for one name).
 */
int work_random_hex(char *buf, size_t nhex);

#endif /* BENCH_WORK_H */
