/* SPDX-License-Identifier: MIT */
/*
 * proc: Python's multiprocessing.Process in C.  A child process runs
 * fn(arg) after fork(); globals are not shared (the child has its own copy).
 * Errors are negative errno values; nothing prints.
 */
#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct topo;
struct proc; /* opaque */

/* The child's body; its return value (0..255) becomes the exit code. */
typedef int (*proc_fn)(void *arg);

/* A process that will run fn(arg) once started.  Returns 0, -EINVAL, -ENOMEM. */
int proc_new(struct proc **out, proc_fn fn, void *arg);

/*
 * Before start: bind the child to logical CPU @cpu (OS index) through hwloc
 * topology @t, before fn runs; cpu -1 leaves it unbound.  The binding is
 * verified in the child; if it fails the child exits with code 127 without
 * running fn.  Returns 0, -EINVAL (bad cpu), -EBUSY (already started).
 */
int proc_bind(struct proc *p, struct topo *t, int cpu);

/* fork() and run.  Returns 0, -EBUSY (already started), or fork's -errno. */
int proc_start(struct proc *p);

/* The child's pid; 0 before start. */
pid_t proc_pid(const struct proc *p);

/*
 * Waits up to @timeout_ns (IPCQ-style: 0 no wait, -1 forever) for the child
 * to end and reaps it.  Returns 0 once ended, -ETIMEDOUT, -ECHILD (not started).
 */
int proc_join(struct proc *p, int64_t timeout_ns);

/* True while started and not yet ended (reaps it if it just ended). */
bool proc_alive(struct proc *p);

/*
 * Exit code once ended: fn's return value, or minus the signal number when
 * killed.  Returns 0 and sets *code, -EBUSY (still running), -ECHILD (not started).
 */
int proc_exitcode(struct proc *p, int *code);

/* SIGTERM / SIGKILL the child.  Returns 0, -ECHILD (not started or already reaped). */
int proc_terminate(struct proc *p);
int proc_kill(struct proc *p);

/* Frees the handle; a child still running is killed (SIGKILL) and reaped first. */
void proc_free(struct proc *p);

#endif /* PROC_H */
