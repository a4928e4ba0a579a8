/* SPDX-License-Identifier: MIT */
/*
 * pool: Python's multiprocessing.Pool in C.  N worker processes, each pinned
 * by a placement policy, take tasks (a function pointer and argument bytes;
 * the pointer is valid because workers are forked from the same program) and
 * send results back through ipcq queues.  A worker that dies is noticed: its
 * task's result says so, a new worker replaces it, nothing hangs.
 * Errors are negative errno values; nothing prints.
 */
#ifndef POOL_H
#define POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct topo;
struct pool;	    /* opaque */
struct pool_result; /* opaque: one apply_async's outcome */

/*
 * A task, run in a worker: reads @arg (@len bytes), may write up to *out_len
 * bytes of result into @out and sets *out_len to what it wrote.  Returns a
 * status (0 for success, by convention); a negative status marks the task
 * failed.
 */
typedef int (*pool_fn)(const void *arg, size_t len, void *out, size_t *out_len);

struct pool_opts {
	int workers;	     /* 0: one per PU this process may use */
	const char *policy;  /* "none" (NULL), "compact", "spread", or a CPU list */
	const char *backend; /* ipcq backend for tasks and results; NULL: "pipe" */
	struct topo *topo;   /* NULL: this machine's topology */
	size_t max_arg;	     /* largest argument, bytes; 0: 1024 */
	size_t max_result;   /* largest result, bytes; 0: 1024 */
};

/* Starts the workers.  Returns 0, -EINVAL (bad options), or -errno. */
int pool_create(struct pool **out, const struct pool_opts *opts);

/* Number of workers, and worker @i's pid and CPU (-1 unpinned). */
int pool_workers(const struct pool *p);
pid_t pool_worker_pid(const struct pool *p, int i);
int pool_worker_cpu(const struct pool *p, int i);

/*
 * Queues fn(arg) for a worker.  Returns 0 and sets *out, or -EINVAL (closed
 * or terminated pool, len > max_arg), -ENOMEM.
 */
int pool_apply_async(struct pool *p, pool_fn fn, const void *arg, size_t len,
		     struct pool_result **out);

/*
 * Runs fn over @n arguments of @size bytes each (args[i*size]), waits for
 * all, and stores the results in order: results[i] (free each with
 * pool_result_free).  Returns 0, or -errno (nothing stored).
 */
int pool_map(struct pool *p, pool_fn fn, const void *args, size_t size, size_t n,
	     struct pool_result **results);

/* Waits up to @timeout_ns for the result.  0 when ready, -ETIMEDOUT. */
int pool_result_wait(struct pool_result *r, int64_t timeout_ns);

/* True once the task finished, failed, or its worker died. */
bool pool_result_ready(struct pool_result *r);

/* True when ready and fn returned a status >= 0 (its worker did not die). */
bool pool_result_successful(struct pool_result *r);

/*
 * The task's status: fn's return value; -ECHILD when its worker died (then
 * *signo, if not NULL, holds the signal that killed it or 0); -EBUSY when
 * not ready yet.
 */
int pool_result_status(struct pool_result *r, int *signo);

/* The result bytes (valid until pool_result_free); NULL when not ready. */
const void *pool_result_data(struct pool_result *r, size_t *len);

void pool_result_free(struct pool_result *r);

/* No new tasks; workers end once the queued ones are done.  0 or -EINVAL. */
int pool_close(struct pool *p);

/* Waits for the workers to end.  -EINVAL unless closed or terminated first. */
int pool_join(struct pool *p);

/* Stops the workers at once (SIGTERM, then SIGKILL); unfinished results say so. */
int pool_terminate(struct pool *p);

/* Frees the pool; terminates it first when still running. */
void pool_free(struct pool *p);

#endif /* POOL_H */
