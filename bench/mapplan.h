/* SPDX-License-Identifier: MIT */
/*
 * The CPU pairs of `ipcbench map`: every ordered pair (a, b) of a list of
 * CPUs, a == b included, with the hwloc relation of each (topo_relation).
 * Kept apart from the measuring (map.c) so that it is tested on hwloc
 * synthetic topologies (tests/cli/test-mapplan.c).
 */
#ifndef BENCH_MAPPLAN_H
#define BENCH_MAPPLAN_H

#include <stdio.h>

#include "topo.h"

#define MAP_MAX_CPUS 1024 /* a 1024 x 1024 map is a million pairs already */

struct map_plan {
	int n;		    /* CPUs on each axis */
	int *cpus;	    /* OS indexes, in axis order */
	enum topo_rel *rel; /* n * n: rel[i * n + j] of the pair (cpus[i], cpus[j]) */
};

/*
 * The plan of @list ("0-3,8": in that order; NULL: every CPU of @t in
 * hwloc logical order, so that CPUs sharing caches sit side by side).
 * Returns 0, -EINVAL (a malformed list, a CPU not in @t or given twice,
 * more than MAP_MAX_CPUS), with *why set to a static reason, or -ENOMEM.
 */
int map_plan_new(struct map_plan *p, struct topo *t, const char *list, const char **why);
void map_plan_free(struct map_plan *p);

/*
 * Writes the relations as a CSV matrix: header "cpu,A,B,...", then one row
 * per CPU a, "a,REL(a,A),REL(a,B),...".  0 or -errno.
 */
int map_plan_write(const struct map_plan *p, FILE *f);

#endif /* BENCH_MAPPLAN_H */
