/* SPDX-License-Identifier: MIT */
/* bench_probe and bench_measure: one cell, dispatched to its workload. */
#include <string.h>

#include "workload.h"

int bench_probe(const struct cell *c, char *why, size_t len)
{
	return pingpong_probe(c, why, len);
}

int bench_measure(const struct cell *c, struct topo *t, int64_t iters, struct run_result *r,
		  struct hist *h, char *err, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (c->mode == MODE_THROUGHPUT)
		return throughput_measure(c, t, iters, r, err, len);
	if (c->mode == MODE_RATE || c->mode == MODE_WAKEUP)
		return rate_measure(c, t, r, h, err, len); /* one run: c->duration seconds */
	return pingpong_measure(c, t, iters, r, h, err, len);
}
