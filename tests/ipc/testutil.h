/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libipcq tests (tests/ipc): checks that report and go on,
 * IPC-object snapshots for the leak and permission checks, self-checking
 * messages, clocks, and child processes that can never hang the test.
 * Written against the public headers only (ipcq.h, ipcq_ext.h).
 *
 * Exit codes: 0 pass, 1 fail, 77 skip (meson's convention).
 */
#ifndef IPCQ_TESTUTIL_H
#define IPCQ_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcq.h"

#define TU_PASS 0
#define TU_FAIL 1
#define TU_SKIP 77

/* Generous upper tolerance for timed waits on this loaded 2-core box. */
#define TU_SLACK_NS (250 * INT64_C(1000000))
#define TU_MS	    INT64_C(1000000)

extern int tu_failures;

void tu_fail(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports a failed check and goes on (so one run shows every failure). */
#define CHECK(cond, ...)                                                 \
	do {                                                             \
		if (!(cond))                                             \
			tu_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/* Integer equality; negative values are also shown as errno names. */
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			tu_fail(__FILE__, __LINE__, #a " == " #b, "got %lld (%s), want %lld (%s)", \
				a_, tu_errname(a_), b_, tu_errname(b_));                           \
	} while (0)

/* "ETIMEDOUT" for -ETIMEDOUT, "" for values >= 0. */
const char *tu_errname(long long v);

/* Prints a section title, so failures read in context. */
void tu_section(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints why and exits 77. */
void tu_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Starts a test: checks that argv[1] names a built-in backend, isolates the
 * process in private IPC and mount namespaces when it can (root: fresh
 * /dev/shm, /dev/mqueue, /tmp/ipcq-<uid> and SysV namespace, so that the leak
 * and permission checks see only this test's objects although other programs
 * use IPC at the same time), and snapshots the IPC objects.
 * Returns the backend name.
 */
const char *tu_begin(int argc, char **argv, const char *usage);

/* Ends a test: checks that no IPC object was left behind; returns the exit code. */
int tu_end(void);

/* True when tu_begin() could isolate this process. */
bool tu_isolated(void);

/* ---- IPC object snapshots ---- */

struct tu_snap {
	size_t n;
	char **item; /* "sysv <msqid>", or "<kind> <path>" (kind: file, dir) */
};

/* Lists SysV queues, /dev/shm, /dev/mqueue and the private libipcq dirs. */
void tu_snap_take(struct tu_snap *s);
void tu_snap_free(struct tu_snap *s);
/* Items of @after not in @before (directories too when @dirs). Returns count, prints none. */
size_t tu_snap_new(const struct tu_snap *before, const struct tu_snap *after, bool dirs,
		   struct tu_snap *out);
/* Fails the test for every non-directory object in now-minus-@before; returns how many. */
size_t tu_check_leaks(const struct tu_snap *before, const char *when);

/* ---- self-checking messages ---- */

#define TU_HDR 24 /* bytes of header every test message carries */

/* A deterministic length in [min, max] for message (producer, seq). */
size_t tu_msg_len(unsigned producer, uint64_t seq, size_t min, size_t max);
/* Writes message (producer, seq) of @len >= TU_HDR bytes into @buf. */
void tu_msg_fill(void *buf, size_t len, unsigned producer, uint64_t seq);
/* 0 when @buf holds a whole, intact message (sets producer and seq), else -EBADMSG. */
int tu_msg_check(const void *buf, size_t len, unsigned *producer, uint64_t *seq);

/* ---- what a clean call reported ---- */

/* ipcq_clean()/ipcq_clean_named()'s reports: the first 16 texts, and how many. */
struct tu_seen {
	const char *backend; /* every report must name it */
	int n;
	char what[16][512];
};

/* An ipcq_clean_fn (@ctx: struct tu_seen): prints the report, checks its backend, keeps it. */
void tu_seen_add(void *ctx, const char *backend, const char *what);

/* True when a report contains @a and @b (NULL: anything). */
bool tu_seen_has(const struct tu_seen *s, const char *a, const char *b);

/* ---- clocks ---- */

int64_t tu_now_ns(void); /* CLOCK_MONOTONIC */
int64_t tu_cpu_ns(void); /* CPU time of this process, all threads */
void tu_sleep_ns(int64_t ns);

/* ---- queues and processes ---- */

/*
 * ipcq_create() that waits out a transient -EMFILE/-ENOSPC/-ENOMEM (up to
 * 5 s): RLIMIT_MSGQUEUE is per user, and other programs of the same user
 * may hold mqueue bytes for a moment.
 */
int tu_create(struct ipcq **out, const char *backend, const char *name, size_t capacity,
	      size_t msg_max);

/*
 * tu_create() of a queue the test cannot go on without: a failure is a
 * failed check that names the backend, name and sizes, and gives NULL.
 */
struct ipcq *tu_queue(const char *backend, const char *name, size_t capacity, size_t msg_max);
/* Fills @q with nowait puts of @len zero bytes until one fails; returns how many went in. */
size_t tu_fill(struct ipcq *q, size_t len);

/* A random queue name "ipcqt-<tag>-<pid>-<hex>". */
void tu_name(char *buf, size_t len, const char *tag);

/*
 * Forks a child that runs fn(arg) and _exit()s with its return value; the
 * child dies with the parent (PR_SET_PDEATHSIG).  Returns the pid or -errno.
 */
pid_t tu_fork(int (*fn)(void *), void *arg);

/* fork + exec of @argv (children close inherited descriptors above 2 first). */
pid_t tu_spawn(char *const argv[]);

/*
 * A child that makes its queues, says so and holds them until released,
 * maybe with a grandchild that inherits a handle and outlives it (the
 * clean tests' dead and live creators).  fn(k) runs in the child.
 */
struct tu_kid {
	pid_t pid;
	int ready[2]; /* child (and grandchild) -> parent: a byte each once made */
	int hold[2];  /* parent -> child: EOF releases them */
	int (*fn)(struct tu_kid *k);
};

/* Starts fn(k) in a child (tu_fork); 0 once @n processes said they are ready, or -errno. */
int tu_kid_start(struct tu_kid *k, int (*fn)(struct tu_kid *k), int n);

/* In the child: says it is ready and waits until released; 0, or -1 when it cannot say. */
int tu_kid_hold(struct tu_kid *k);

/* In the child: forks a grandchild that says it is ready, holds @q until released, closes it. */
int tu_kid_grandchild(struct tu_kid *k, struct ipcq *q);

/* Releases the grandchild (and child) and waits until the grandchild has gone. */
void tu_kid_grandchild_end(struct tu_kid *k);

/*
 * Waits for @pid up to @timeout_ns; on timeout kills it (SIGKILL) and reaps
 * it.  Returns the exit code (>= 0), minus the signal number when a signal
 * killed it, or TU_TIMEDOUT when it had to be killed for running too long.
 */
#define TU_TIMEDOUT (-1000)
int tu_wait(pid_t pid, int64_t timeout_ns);

/* Path of the program @name next to this executable (tests/ipc in the build). */
void tu_sibling(char *buf, size_t len, const char *name);

#endif /* IPCQ_TESTUTIL_H */
