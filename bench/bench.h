/* SPDX-License-Identifier: MIT */
/*
 * The benchmark matrix: cells, the workloads that measure one run of a
 * cell, and the files a run writes.  Internal to the ipcbench program.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "hist.h"
#include "topo.h"

enum bench_mode {
	MODE_LATENCY,
	MODE_THROUGHPUT,
	MODE_FLOOR,
	MODE_BARE,
	MODE_RATE,   /* open loop at a fixed schedule: one-way latency from each due time */
	MODE_WAKEUP, /* one message after an idle gap: one-way latency */
	MODE_N
};

#define BENCH_MAX_PROCS	    64 /* producers or consumers per throughput cell */
#define BENCH_MIN_SIZE	    8  /* a message must hold its tag (producer, sequence, check) */
#define BENCH_MAX_SIZE	    (1u << 20)
#define BENCH_NOTE	    256
#define BENCH_RATE_MIN_SIZE 16	 /* rate, wakeup: the tag, then the due time in bytes 8..15 */
#define BENCH_MAX_RATE	    1e9	 /* messages/s that --rates allows */
#define BENCH_SATURATED	    0.95 /* achieved below this share of the offered rate: saturated */
#define BENCH_MAX_BATCH	    1024 /* --batch */

/* What one run (one call by google-benchmark, N iterations) measured. */
struct run_result {
	double messages; /* round trips (latency, floor, bare) or messages (throughput) */
	double seconds; /* latency: sum of the timed round trips; throughput: first put to last get */
	double msgs_per_s;
	double bytes_per_s;
	double lat[7]; /* min, mean, p50, p90, p99, p99.9, max in ns (round trip) */
	double cpu_ns; /* CPU (user + sys) of all the cell's processes per message or round trip */
	double cpu_util; /* their CPU-seconds per wall-second of the timed part */
	double csw;	 /* their context switches per message or round trip */
	double achieved; /* rate, wakeup: messages/s the consumer got */
};

struct cell {
	enum bench_mode mode;
	char backend[16]; /* ipcq backend, bare mechanism, or "floor" */
	size_t size;
	int producers, consumers;
	enum topo_rel rel;
	int cpus[2];
	double rate;	 /* rate: offered messages/s; 0: max (back to back) */
	int64_t gap_ns;	 /* wakeup: the idle gap before each message */
	double duration; /* rate, wakeup: seconds of one run */
	int batch;	 /* throughput: messages per ipcq_put_many/get_many; 0, 1: single calls */
	unsigned qflags; /* ipcq_opts.flags of its queues: IPCQ_SP|IPCQ_SC where 1 x 1 */
	char name[128];	 /* mode/backend/size/PxC/placement[/rate=R|/gap_ns=G] */

	bool skip; /* known before running: relation or kernel limit */
	bool failed;
	bool saturated; /* rate: the median achieved rate fell short (BENCH_SATURATED) */
	bool interrupted;
	bool started;
	char note[BENCH_NOTE];

	/* The runs google-benchmark reports: the ones with the final iteration count. */
	int64_t final_iters;
	struct run_result *reps;
	int nreps, capreps;
	struct hist *merged; /* latency-like cells: the reported runs merged */
};

/* The signal that stops the run (SIGINT, SIGTERM, SIGHUP, SIGPIPE): stop workers, skip the rest. */
extern volatile sig_atomic_t bench_stop;

/* The cost of one pool_now_ns() call in ns, measured over many calls. */
double bench_timer_cost_ns(void);

const char *bench_mode_name(enum bench_mode m);

/*
 * Tries to create what @c needs (queues of its backend and size, or the
 * bare mechanism's objects) and removes it at once.  Returns 0, or -errno
 * with @why set to one line: the kernel limit that refused it, its value
 * and how to raise it when ipcq_explain() knows.
 */
int bench_probe(const struct cell *c, char *why, size_t len);

/*
 * Measures one run of @c: @iters round trips or messages, workers pinned
 * on c->cpus through @t.  Latency-like modes fill @h.  Returns 0, or -errno
 * with @err set (verification failure: -EBADMSG; interrupted: -EINTR).
 */
int bench_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		  struct hist *h, char *err, size_t len);

/*
 * The directory a run is written to (outdir.c): a fresh one made beside
 * @path once the run is over, renamed to @path.  out_check runs before
 * anything is created; out_create makes the missing parents and proves
 * that the fresh directory can be made; out_begin makes it (so that a
 * SIGKILLed run leaves none); out_file creates one file in it; out_commit
 * puts the run in place; out_abort removes all that was made.
 */
struct out_dir {
	char path[PATH_MAX];   /* where the run goes, without trailing slashes */
	char parent[PATH_MAX]; /* its directory */
	char base[NAME_MAX + 1];
	char tmp[NAME_MAX + 1]; /* the fresh directory in parent; "" when none */
	char made[PATH_MAX];	/* the first parent out_create made; "" when none */
	int fd, pfd;		/* of tmp and of parent */
	bool replace;		/* path holds a run that --force replaces */
};

/*
 * Checks @path: a new directory, an empty one, or with @force one holding
 * a run; never a link.  0, or -errno with @why saying what is allowed.
 */
int out_check(struct out_dir *d, const char *path, bool force, char *why, size_t len);

/* Makes the missing parents, tries the fresh directory.  0, or -errno with @why (all undone). */
int out_create(struct out_dir *d, char *why, size_t len);

/* Makes the fresh directory, d->fd.  0, or -errno with @why. */
int out_begin(struct out_dir *d, char *why, size_t len);

/* A new file @name in @dirfd, created exclusively, never through a link: a descriptor or -errno. */
int out_file(int dirfd, const char *name);

/* out_file as a stream, or NULL with errno set. */
FILE *out_stream(int dirfd, const char *name);

/* Renames the fresh directory to d->path, replacing the old run.  0 or -errno (nothing moved). */
int out_commit(struct out_dir *d);

/* Removes the fresh directory and the parents out_create made. */
void out_abort(struct out_dir *d);

/*
 * out_begin, @write(d->fd, @ctx) of the files, out_commit; a failure is
 * said in one line on stderr ("ipcbench: writing @what to PATH: ...", and
 * where what was written stays).  0 or -errno.
 */
int out_write(struct out_dir *d, const char *what, int (*write)(int fd, void *ctx), void *ctx);

/* Writes results.csv and histograms.csv of @cells into @dirfd.  0 or -errno. */
int bench_write_csv(int dirfd, struct cell *cells, int n);

struct bench_env {
	const char *profile;
	const char *command;
	double timer_ns;
	struct topo *topo;
	const size_t *sizes; /* the run's message sizes, with the harness's cost of each */
	const double *harness_ns;
	int nsizes;
	void *extra; /* a json_t object: more keys for env.json (map, mem_node); NULL: none */
};

/* Writes @json (google-benchmark's) as benchmarks.json into @dirfd.  0 or -errno. */
int bench_write_json(int dirfd, const char *json);

/* Writes env.json and topology.xml into @dirfd.  0 or -errno. */
int bench_write_env(int dirfd, const struct bench_env *e);

#endif /* BENCH_BENCH_H */
