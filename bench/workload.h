/* SPDX-License-Identifier: MIT */
/*
 * The workloads' entry points, called by measure.c only: each workload
 * uses work.c's helpers, and work.c calls none of them back.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include "bench.h"

/* Ping-pong (latency, floor, bare) and throughput runs; see bench_measure. */
int pingpong_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		     struct hist *h, char *err, size_t len);
int pingpong_probe(const struct cell *c, char *why, size_t len);
int throughput_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		       char *err, size_t len);

/* Rate and wakeup runs (rate.c): one run of c->duration seconds, whatever the iterations. */
int rate_measure(const struct cell *c, struct topo *t, struct run_result *r, struct hist *h,
		 char *err, size_t len);

#endif /* BENCH_WORKLOAD_H */
