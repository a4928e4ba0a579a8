/* SPDX-License-Identifier: MIT */
/*
 * group: N processes, each pinned to its CPU, released together at a
 * barrier, supervised while they run (the parent's death, a worker's
 * death or error, a stop signal, no progress) and reaped.  The benchmark's
 * workloads run on it (group_start, group_wait, group_reap), and so does
 * the Pool, whose long-lived workers are started and replaced one at a
 * time (group_start_one) and stopped with a grace period (group_stop).
 * Errors are negative errno values; nothing prints (a failure is
 * described in the caller's buffer).
 */
#ifndef POOL_GROUP_H
#define POOL_GROUP_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

/* The start barrier; lives in memory the workers share with the parent (MAP_SHARED, zeroed). */
struct group_gate {
	_Atomic uint32_t ready; /* workers at the barrier */
	_Atomic uint32_t go;	/* futex word: 1 once all may start */
};

/* In a worker, first thing: die with @parent (PR_SET_PDEATHSIG), leave SIGINT and SIGHUP to it. */
void group_child_init(pid_t parent);

/*
 * In a long-lived worker (the Pool's), first thing: die with @parent,
 * every signal unblocked and at its default (Ctrl-C ends it with its
 * program).  Returns 0, or -ESRCH when @parent is gone already.
 */
int group_worker_init(pid_t parent);

/* In a worker: arrive at the barrier and sleep until the parent opens it. */
void group_gate_wait(struct group_gate *g);

/* In the parent: how many workers wait at the barrier. */
uint32_t group_gate_arrived(struct group_gate *g);

/* In the parent: release every worker waiting at the barrier. */
void group_gate_open(struct group_gate *g);

/*
 * Starts @n workers running fn(args + i * argsz) on cpus[i] (OS index,
 * through @t; a worker that cannot be pinned exits with 127).  Returns 0,
 * or -errno from proc_new/proc_bind/proc_start with every worker reaped.
 */
int group_start(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
		const int *cpus);

/*
 * Starts worker @i alone, running fn(arg) on @cpu (-1: unpinned); procs[i]
 * may hold the handle of the worker it replaces, which must have ended.
 * Returns 0, or -errno from proc_new/proc_bind/proc_start with procs[i] NULL.
 */
int group_start_one(struct proc **procs, int i, proc_fn fn, void *arg, struct topo *t, int cpu);

/* Kills and reaps every worker still running, frees the handles. */
void group_reap(struct proc **procs, int n);

/*
 * Asks every running worker to end (SIGTERM), waits up to @grace_ns for
 * them, then kills (SIGKILL) and reaps the rest.  The handles stay, with
 * each worker's exit code (proc_exitcode).
 */
void group_stop(struct proc **procs, int n, int64_t grace_ns);

/*
 * What the parent watches while it waits: *@stop set (by a signal
 * handler) stops the run; @progress returns a value that moves while the
 * run is alive; @failed copies a worker's own report of its error into
 * its buffer and returns 1, or returns 0 when there is none; @poll every
 * few ms returns 1 once the run reached a phase where the parent must
 * act (then it is not called again), 0 to keep waiting.
 */
struct group_watch {
	const volatile sig_atomic_t *stop;
	int64_t stall_ns; /* no progress for this long: the run failed */
	uint64_t (*progress)(void *ctx);
	int (*failed)(void *ctx, char *err, size_t len);
	int (*poll)(void *ctx);
	void *ctx;
};

#define GROUP_MAX 128 /* workers group_wait supervises */

/*
 * Waits until workers [0, n) have exited.  Returns 0 when all exited with
 * 0; -EINTR (stopped), -EBADMSG (a worker failed and said why) or -EIO (a
 * worker died, could not be pinned, or the run stalled) with @err set, and
 * then every worker is killed and reaped; -EINVAL when n > GROUP_MAX.
 */
int group_wait(struct proc **procs, int n, struct group_watch *w, char *err, size_t len);

#endif /* POOL_GROUP_H */
