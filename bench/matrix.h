/* SPDX-License-Identifier: MIT */
/* The matrix a run covers, built from the profile and the command line. */
#ifndef BENCH_MATRIX_H
#define BENCH_MATRIX_H

#include "bench.h"

#define MATRIX_MAX 16 /* entries per list option */

struct matrix_opts {
	bool modes[MODE_N];
	const char *backends[MATRIX_MAX];
	int nbackends;
	size_t sizes[MATRIX_MAX];
	int nsizes;
	int pairs[MATRIX_MAX][2];
	int npairs;
	enum topo_rel rels[TOPO_NREL];
	int nrels;
	double rates[MATRIX_MAX]; /* rate: offered messages/s; 0: max */
	int nrates;
	int64_t gaps[MATRIX_MAX]; /* wakeup: idle gaps in ns */
	int ngaps;
	double duration;	       /* rate, wakeup: seconds per run */
	size_t load_sizes[MATRIX_MAX]; /* rate, wakeup: these sizes; none: sizes[] */
	int nload_sizes;
};

/*
 * The cells of @o in run order (per placement: floor, then per size each
 * backend's bare loop next to its latency cell, then throughput, rate per
 * rate and wakeup per gap), each
 * probed: a relation the machine lacks or a queue the kernel refuses makes
 * the cell skipped with its reason.  Returns the count
 * and sets *out (free with matrix_free), or -ENOMEM.
 */
int matrix_plan(const struct matrix_opts *o, struct topo *t, struct cell **out);

/*
 * Registers every cell with google-benchmark, each run @reps times; progress
 * on stderr when @progress.  0 or -ENOMEM.
 */
int matrix_register(struct cell *cells, int n, struct topo *t, int reps, bool progress);

void matrix_free(struct cell *cells, int n);

#endif /* BENCH_MATRIX_H */
