/* SPDX-License-Identifier: MIT */
/*
 * topo: the machine's CPU topology through hwloc, and placement: pair
 * relations for two-process benchmarks and policies for pools of workers.
 * CPUs are named by their OS index (what sched_setaffinity and `taskset` use).
 * A relation the machine lacks is reported, never faked.
 */
#ifndef TOPO_H
#define TOPO_H

#include <stdbool.h>
#include <stddef.h>

struct topo; /* opaque */

enum topo_rel {
	TOPO_SAME_CPU,	    /* "same-cpu": both on one logical CPU */
	TOPO_SMT,	    /* "smt": two hardware threads of one core */
	TOPO_SAME_L2,	    /* "same-l2": two cores sharing an L2 */
	TOPO_SAME_L3,	    /* "same-l3": two cores sharing an L3 but no L2 */
	TOPO_CROSS_L3,	    /* "cross-l3": one NUMA node, different L3s */
	TOPO_CROSS_NUMA,    /* "cross-numa": one package, different NUMA nodes */
	TOPO_CROSS_PACKAGE, /* "cross-package": different packages */
	TOPO_NONE,	    /* "none": unpinned */
	TOPO_NREL
};

/* Loads this machine's topology, restricted to the CPUs we may run on.  0 or -errno. */
int topo_load(struct topo **out);

/* Loads an hwloc synthetic topology ("package:2 numa:1 l3:2 core:4 pu:2"); -EINVAL if bad. */
int topo_load_synthetic(struct topo **out, const char *desc);

void topo_free(struct topo *t);

/* Number of logical CPUs (PUs) usable. */
int topo_npus(const struct topo *t);

/* True when logical CPU @cpu (OS index) is in the topology (and so usable). */
bool topo_has_cpu(const struct topo *t, int cpu);

/*
 * True when @t describes this machine (topo_load), false for a synthetic
 * topology, where binding succeeds without binding anything.
 */
bool topo_is_real(const struct topo *t);

/* "same-cpu", ... ; NULL for an out-of-range value. */
const char *topo_rel_name(enum topo_rel rel);

/* Parses a relation name.  0 or -EINVAL. */
int topo_rel_parse(const char *name, enum topo_rel *out);

/*
 * Placement rules in detail (topo.c has them in full):
 * - Synthetic topologies have no OS numbering: hwloc gives each PU an OS
 *   index equal to its logical index (depth-first order), so in
 *   "package:2 core:2 pu:2" PUs 0-3 are package 0 and PUs 0,1 one core.
 * - topo_pair returns the first pair (a, b) in hwloc logical order, smallest
 *   a then smallest b, that has the relation.  A machine without Core objects
 *   counts each PU as a core; without Package objects, as one package.
 * - compact: PUs in logical order (threads of a core, then the next core of
 *   the same cache, ...).  spread: round-robin over packages, then NUMA nodes,
 *   then L3s, cores and PUs, so consecutive workers are as far apart as the
 *   machine allows.  Both cycle when n exceeds the PUs.
 * - topo_bind_self(t, -1) binds nothing and returns 0.
 */

/*
 * Two CPUs related by @rel (cpus[0] runs the first process, cpus[1] the
 * second; both -1 for TOPO_NONE).  Returns 0, or -ENODEV when the machine
 * lacks the relation, with *why (may be NULL) set to a static reason.
 */
int topo_pair(struct topo *t, enum topo_rel rel, int cpus[2], const char **why);

/*
 * The relation of the pair (@a, @b) of CPUs (OS indexes): same-cpu when
 * a == b, else the first of smt, same-l2, same-l3, cross-l3, cross-numa,
 * cross-package that holds (topo_pair's rules); TOPO_NONE when none of them
 * does (e.g. two cores of one NUMA node that share no cache, on a machine
 * without L3).  Returns 0, or -EINVAL (a CPU not in the topology).
 */
int topo_relation(struct topo *t, int a, int b, enum topo_rel *out);

/*
 * Parses an explicit CPU list ("0-3,8") as topo_place does: each CPU in the
 * topology.  Returns the count with *out malloc'd (free it), or -EINVAL with
 * *why (may be NULL) set to a static reason, -ENOMEM.
 */
int topo_cpu_list(struct topo *t, const char *list, int **out, const char **why);

/* NUMA nodes of the topology (at least 1), and whether node @node (OS index) is one. */
int topo_nodes(const struct topo *t);
bool topo_has_node(const struct topo *t, int node);

/*
 * CPUs for @n workers under @policy: "compact" (fill the hardware threads of
 * a core, then the cores of a cache, ...), "spread" (as far apart as
 * possible), "none" (-1 each), or an explicit list "0,2,4-7" (used in order,
 * cycling when n exceeds it).  Returns 0, -EINVAL (bad policy or list, a CPU
 * not in the topology), with *why (may be NULL) set to a static reason.
 */
int topo_place(struct topo *t, const char *policy, int n, int *cpus, const char **why);

/* Binds the calling process to @cpu and verifies it (sched_getaffinity). 0 or -errno. */
int topo_bind_self(struct topo *t, int cpu);

/*
 * One short line describing the machine, e.g.
 * "1 package, 1 NUMA node, 1 L3, 2 L2, 2 cores, 2 PUs (no SMT)".
 * Returns the length written (truncated to @len) or -errno.
 */
int topo_describe(struct topo *t, char *buf, size_t len);

/* Writes the topology as hwloc XML to @path.  0 or -errno. */
int topo_export_xml(struct topo *t, const char *path);

#endif /* TOPO_H */
