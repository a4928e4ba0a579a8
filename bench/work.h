/* SPDX-License-Identifier: MIT */
/*
 * Internal to the workloads: the page the workers and the parent share for
 * one run, the start barrier, and the parent's supervision of the workers.
 */
#ifndef BENCH_WORK_H
#define BENCH_WORK_H

#include <stdalign.h>
#include <stdatomic.h>

#include "bench.h"
#include "proc.h"

/* Per consumer and producer: what the consumer saw of that producer. */
struct pstat {
	uint64_t count;
	uint64_t sum;	/* of sequence numbers */
	uint64_t sumsq; /* of their squares (mod 2^64) */
	uint64_t last;
};

struct shared {
	_Atomic uint32_t ready; /* workers at the barrier */
	_Atomic uint32_t go;	/* futex word: 1 once all may start */
	alignas(64) _Atomic uint64_t progress;
	alignas(64) _Atomic uint64_t consumed;
	alignas(64) _Atomic uint64_t line; /* the floor's cache line */
	alignas(64) int64_t t_start[BENCH_MAX_PROCS];
	int64_t t_end;
	uint64_t rtt_sum;
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

/* In a worker, first thing: die with the parent, leave SIGINT and SIGHUP to the parent. */
void work_child_init(pid_t parent);

/* In a worker: arrive at the barrier and sleep until the parent says go. */
void work_barrier(struct shared *sh);

/* In the parent: release every worker waiting at the barrier. */
void work_go(struct shared *sh);

/* Starts @n workers running fn(args + i * argsz) on cpus[i]; 0 or -errno (all reaped). */
int work_start(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
	       const int *cpus);

/* Kills and reaps every worker still running, frees the handles. */
void work_reap(struct proc **procs, int n);

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
 * Waits until workers [0, n) have exited, checking for Ctrl-C, a worker
 * that failed, and a stall.  Returns 0 when all exited with 0, -EINTR
 * (stopped), -EBADMSG or -EIO with @err set; on error every worker is killed.
 */
int work_wait(struct proc **procs, int n, struct work_watch *w, char *err, size_t len);

/* Random hex for object names. */
void work_random_hex(char *buf, size_t nhex);

/* Ping-pong (latency, floor, bare) and throughput runs; see bench_measure. */
int pingpong_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		     struct hist *h, char *err, size_t len);
int pingpong_probe(const struct cell *c, char *why, size_t len);
int throughput_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		       char *err, size_t len);

#endif /* BENCH_WORK_H */
