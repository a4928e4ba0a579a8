/* SPDX-License-Identifier: MIT */
/*
 * topo: CPU topology through hwloc 2.x, and placement.
 *
 * CPUs are named by OS index.  On a synthetic topology hwloc numbers PUs
 * itself: the OS index of each PU equals its logical index (0, 1, 2, ... in
 * depth-first tree order), so "package:2 core:2 pu:2" has PUs 0-3 in package
 * 0 and 4-7 in package 1, and PUs 0 and 1 are the two threads of core 0.
 *
 * Pair relations (topo_pair) pick the first pair (a, b), a != b except for
 * same-cpu, in hwloc logical order (smallest a, then smallest b) such that:
 *   same-cpu      a == b == the first PU
 *   smt           a and b are two PUs of one core
 *   same-l2       a and b are on different cores that share an L2
 *   same-l3       different cores that share an L3 but no L2
 *   cross-l3      both under an L3, different L3s, same NUMA node(s)
 *   cross-numa    same package, disjoint NUMA nodes
 *   cross-package different packages
 *   none          -1, -1 (unpinned)
 * A machine without Core objects treats each PU as its own core; without
 * Package objects the whole machine counts as one package.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "topo.h"

struct topo {
	hwloc_topology_t h;
	bool real;
	int npus;
	hwloc_obj_t *pus; /* logical order */
};

static const char *const rel_names[TOPO_NREL] = {
	[TOPO_SAME_CPU] = "same-cpu",
	[TOPO_SMT] = "smt",
	[TOPO_SAME_L2] = "same-l2",
	[TOPO_SAME_L3] = "same-l3",
	[TOPO_CROSS_L3] = "cross-l3",
	[TOPO_CROSS_NUMA] = "cross-numa",
	[TOPO_CROSS_PACKAGE] = "cross-package",
	[TOPO_NONE] = "none",
};

static int finish_load(struct topo *t)
{
	int i;

	if (hwloc_topology_load(t->h) < 0)
		return errno ? -errno : -EINVAL;
	t->npus = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PU);
	if (t->npus <= 0)
		return -ENODEV;
	t->pus = calloc((size_t)t->npus, sizeof(*t->pus));
	if (!t->pus)
		return -ENOMEM;
	for (i = 0; i < t->npus; i++)
		t->pus[i] = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, (unsigned)i);
	return 0;
}

static int topo_new(struct topo **out, const char *synthetic)
{
	struct topo *t;
	int ret;

	if (!out)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (hwloc_topology_init(&t->h) < 0) {
		free(t);
		return -ENOMEM;
	}
	if (synthetic) {
		ret = hwloc_topology_set_synthetic(t->h, synthetic) < 0 ? -EINVAL : 0;
	} else {
		/* Only the CPUs this process may run on (cgroup and affinity). */
		unsigned long fl = HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
				   HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING;

		t->real = true;
		ret = hwloc_topology_set_flags(t->h, fl) < 0 ? -errno : 0;
	}
	if (!ret)
		ret = finish_load(t);
	if (ret) {
		topo_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

/* Returns 0, -ENOMEM, -ENODEV (no CPU found), or hwloc's -errno. */
int topo_load(struct topo **out)
{
	return topo_new(out, NULL);
}

/* Returns 0, -EINVAL (NULL or a description hwloc rejects), -ENOMEM. */
int topo_load_synthetic(struct topo **out, const char *desc)
{
	if (!desc)
		return -EINVAL;
	return topo_new(out, desc);
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->h);
	free(t->pus);
	free(t);
}

int topo_npus(const struct topo *t)
{
	return t ? t->npus : 0;
}

static hwloc_obj_t pu_by_os(const struct topo *t, int cpu)
{
	if (!t || cpu < 0)
		return NULL;
	return hwloc_get_pu_obj_by_os_index(t->h, (unsigned)cpu);
}

bool topo_has_cpu(const struct topo *t, int cpu)
{
	return pu_by_os(t, cpu) != NULL;
}

bool topo_is_real(const struct topo *t)
{
	return t && t->real;
}

const char *topo_rel_name(enum topo_rel rel)
{
	if ((int)rel < 0 || rel >= TOPO_NREL)
		return NULL;
	return rel_names[rel];
}

/* Returns 0, -EINVAL (NULL or unknown name). */
int topo_rel_parse(const char *name, enum topo_rel *out)
{
	int i;

	if (!name || !out)
		return -EINVAL;
	for (i = 0; i < TOPO_NREL; i++) {
		if (!strcmp(name, rel_names[i])) {
			*out = (enum topo_rel)i;
			return 0;
		}
	}
	return -EINVAL;
}

static hwloc_obj_t up(const struct topo *t, hwloc_obj_type_t type, hwloc_obj_t pu)
{
	return hwloc_get_ancestor_obj_by_type(t->h, type, pu);
}

static hwloc_obj_t core_of(const struct topo *t, hwloc_obj_t pu)
{
	hwloc_obj_t c = up(t, HWLOC_OBJ_CORE, pu);

	return c ? c : pu;
}

/* Does the pair of distinct PUs (a, b) have relation @rel?  See the top of the file. */
static bool related(const struct topo *t, enum topo_rel rel, hwloc_obj_t a, hwloc_obj_t b)
{
	bool other_core = core_of(t, a) != core_of(t, b);
	hwloc_obj_t l2a = up(t, HWLOC_OBJ_L2CACHE, a), l2b = up(t, HWLOC_OBJ_L2CACHE, b);
	hwloc_obj_t l3a = up(t, HWLOC_OBJ_L3CACHE, a), l3b = up(t, HWLOC_OBJ_L3CACHE, b);
	hwloc_obj_t pka = up(t, HWLOC_OBJ_PACKAGE, a), pkb = up(t, HWLOC_OBJ_PACKAGE, b);

	switch (rel) {
	case TOPO_SMT:
		return !other_core;
	case TOPO_SAME_L2:
		return other_core && l2a && l2a == l2b;
	case TOPO_SAME_L3:
		return other_core && l3a && l3a == l3b && !(l2a && l2a == l2b);
	case TOPO_CROSS_L3:
		return l3a && l3b && l3a != l3b && !hwloc_bitmap_iszero(a->nodeset) &&
		       hwloc_bitmap_isequal(a->nodeset, b->nodeset);
	case TOPO_CROSS_NUMA:
		return pka == pkb && !hwloc_bitmap_intersects(a->nodeset, b->nodeset);
	case TOPO_CROSS_PACKAGE:
		return pka && pkb && pka != pkb;
	default:
		return false;
	}
}

static const char *const lack_reasons[TOPO_NREL] = {
	[TOPO_SMT] = "no core has two hardware threads (no SMT)",
	[TOPO_SAME_L2] = "no L2 cache is shared by two cores",
	[TOPO_SAME_L3] = "no L3 cache is shared by two cores that do not share an L2",
	[TOPO_CROSS_L3] = "no NUMA node holds two L3 caches",
	[TOPO_CROSS_NUMA] = "no package holds two NUMA nodes",
	[TOPO_CROSS_PACKAGE] = "only one package",
};

/*
 * Returns 0, -EINVAL (NULL argument, unknown relation), -ENODEV (the machine
 * lacks the relation; *why says which part is missing).
 */
int topo_pair(struct topo *t, enum topo_rel rel, int cpus[2], const char **why)
{
	int i, j;

	if (why)
		*why = NULL;
	if (!t || !cpus || (int)rel < 0 || rel >= TOPO_NREL) {
		if (why)
			*why = "bad argument";
		return -EINVAL;
	}
	if (rel == TOPO_NONE) {
		cpus[0] = cpus[1] = -1;
		return 0;
	}
	if (rel == TOPO_SAME_CPU) {
		cpus[0] = cpus[1] = (int)t->pus[0]->os_index;
		return 0;
	}
	for (i = 0; i < t->npus; i++) {
		for (j = i + 1; j < t->npus; j++) {
			if (related(t, rel, t->pus[i], t->pus[j])) {
				cpus[0] = (int)t->pus[i]->os_index;
				cpus[1] = (int)t->pus[j]->os_index;
				return 0;
			}
		}
	}
	if (why)
		*why = lack_reasons[rel];
	return -ENODEV;
}

/* Returns 0, -EINVAL (NULL argument, a CPU not in the topology). */
int topo_relation(struct topo *t, int a, int b, enum topo_rel *out)
{
	hwloc_obj_t pa = pu_by_os(t, a), pb = pu_by_os(t, b);
	int r;

	if (!pa || !pb || !out)
		return -EINVAL;
	if (pa == pb) {
		*out = TOPO_SAME_CPU;
		return 0;
	}
	for (r = TOPO_SMT; r < TOPO_NONE && !related(t, (enum topo_rel)r, pa, pb); r++)
		;
	*out = (enum topo_rel)r;
	return 0;
}

/*
 * spread order of the PUs under @o: the orders of its children, interleaved
 * round-robin (first of child 0, first of child 1, ..., second of child 0,
 * ...).  Applied from the root this is round-robin over packages, then NUMA
 * nodes, then L3s, ..., cores, PUs: consecutive entries are as far apart in
 * the tree as the machine allows.  Appends to @out; returns the count or -ENOMEM.
 */
static int spread_order(hwloc_obj_t o, int *out)
{
	int **sub, *len, *pos, n = 0, k = (int)o->arity, i, done, ret = 0;

	if (o->type == HWLOC_OBJ_PU) {
		out[0] = (int)o->os_index;
		return 1;
	}
	if (k == 0)
		return 0;
	sub = calloc((size_t)k, sizeof(*sub));
	len = calloc((size_t)k, sizeof(*len));
	pos = calloc((size_t)k, sizeof(*pos));
	if (!sub || !len || !pos) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < k; i++) {
		int w = hwloc_bitmap_weight(o->children[i]->cpuset);

		sub[i] = malloc(sizeof(int) * (size_t)(w > 0 ? w : 1));
		if (!sub[i]) {
			ret = -ENOMEM;
			goto out;
		}
		len[i] = spread_order(o->children[i], sub[i]);
		if (len[i] < 0) {
			ret = len[i];
			goto out;
		}
	}
	do {
		done = 1;
		for (i = 0; i < k; i++) {
			if (pos[i] < len[i]) {
				out[n++] = sub[i][pos[i]++];
				done = 0;
			}
		}
	} while (!done);
	ret = n;
out:
	for (i = 0; sub && i < k; i++)
		free(sub[i]);
	free(sub);
	free(len);
	free(pos);
	return ret;
}

/* Parses "0,2,4-7" into a malloc'd array of CPUs all in @t.  Returns the count or -errno. */
static int parse_list(const struct topo *t, const char *s, int **out, const char **why)
{
	int *v = NULL, n = 0, cap = 0;

	for (;;) {
		long lo, hi, c;
		char *end;

		if (*s < '0' || *s > '9') {
			*why = "malformed CPU list (expected e.g. \"0,2,4-7\")";
			goto bad;
		}
		lo = hi = strtol(s, &end, 10);
		s = end;
		if (*s == '-') {
			s++;
			if (*s < '0' || *s > '9') {
				*why = "malformed CPU range in list";
				goto bad;
			}
			hi = strtol(s, &end, 10);
			s = end;
			if (hi < lo) {
				*why = "CPU range runs backwards";
				goto bad;
			}
		}
		if (hi - lo >= t->npus) {
			*why = "CPU range larger than the machine";
			goto bad;
		}
		for (c = lo; c <= hi; c++) {
			if (c > 0x7fffffff || !topo_has_cpu(t, (int)c)) {
				*why = "CPU in list is not in the topology (or not allowed to us)";
				goto bad;
			}
			if (n == cap) {
				int *nv = realloc(v,
						  sizeof(int) * (size_t)(cap = cap ? 2 * cap : 16));

				if (!nv) {
					free(v);
					*why = "out of memory";
					return -ENOMEM;
				}
				v = nv;
			}
			v[n++] = (int)c;
		}
		if (*s == '\0')
			break;
		if (*s != ',') {
			*why = "malformed CPU list (expected e.g. \"0,2,4-7\")";
			goto bad;
		}
		s++;
	}
	*out = v;
	return n;
bad:
	free(v);
	return -EINVAL;
}

/* Returns the count, -EINVAL (*why says why), -ENOMEM. */
int topo_cpu_list(struct topo *t, const char *list, int **out, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!t || !list || !out) {
		*why = "bad argument";
		return -EINVAL;
	}
	return parse_list(t, list, out, why);
}

/*
 * Policies, for worker i of n (all cycle when n exceeds the CPUs they name):
 *   compact  PUs in hwloc logical order: both threads of core 0, then core 1
 *            of the same L2/L3, ..., so workers share as much as possible.
 *   spread   the spread_order() above: round-robin over packages, then NUMA
 *            nodes, L3s, cores, PUs; consecutive workers as far apart as
 *            possible (a second thread of a core only once every core has one).
 *   none     -1 for every worker (not pinned); NULL means none.
 *   list     "0,2,4-7": those CPUs in that order.
 * Returns 0, -EINVAL (bad argument, unknown policy, malformed list, CPU not in
 * the topology; *why says which), -ENOMEM.
 */
int topo_place(struct topo *t, const char *policy, int n, int *cpus, const char **why)
{
	const char *dummy;
	int *order = NULL, len, i;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!t || !cpus || n <= 0) {
		*why = n <= 0 ? "number of workers must be positive" : "bad argument";
		return -EINVAL;
	}
	if (!policy || !strcmp(policy, "none")) {
		for (i = 0; i < n; i++)
			cpus[i] = -1;
		return 0;
	}
	if (!strcmp(policy, "compact")) {
		order = malloc(sizeof(int) * (size_t)t->npus);
		if (!order)
			return -ENOMEM;
		for (i = 0; i < t->npus; i++)
			order[i] = (int)t->pus[i]->os_index;
		len = t->npus;
	} else if (!strcmp(policy, "spread")) {
		order = malloc(sizeof(int) * (size_t)t->npus);
		if (!order)
			return -ENOMEM;
		len = spread_order(hwloc_get_root_obj(t->h), order);
	} else if (policy[0] >= '0' && policy[0] <= '9') {
		len = parse_list(t, policy, &order, why);
	} else {
		*why = "unknown policy (compact, spread, none, or a CPU list like \"0,2,4-7\")";
		return -EINVAL;
	}
	if (len <= 0) {
		free(order);
		if (!*why)
			*why = "no CPU to place on";
		return len < 0 ? len : -ENODEV;
	}
	for (i = 0; i < n; i++)
		cpus[i] = order[i % len];
	free(order);
	return 0;
}

/*
 * Binds the calling process (all its threads) to @cpu; -1 binds nothing.
 * On a real topology the binding is read back with sched_getaffinity() and
 * must be exactly {cpu}; a synthetic topology binds nothing and succeeds.
 * Returns 0, -EINVAL (cpu not in the topology), -EIO (affinity differs
 * after binding), or hwloc's -errno.
 */
int topo_bind_self(struct topo *t, int cpu)
{
	hwloc_obj_t pu;
	hwloc_bitmap_t set;
	cpu_set_t got;
	int ret;

	if (cpu == -1 && t)
		return 0;
	pu = pu_by_os(t, cpu);
	if (!pu)
		return -EINVAL;
	set = hwloc_bitmap_dup(pu->cpuset);
	if (!set)
		return -ENOMEM;
	hwloc_bitmap_singlify(set);
	ret = hwloc_set_cpubind(t->h, set, HWLOC_CPUBIND_PROCESS);
	if (ret < 0)
		ret = hwloc_set_cpubind(t->h, set, 0); /* the calling thread at least */
	hwloc_bitmap_free(set);
	if (ret < 0)
		return errno ? -errno : -EIO;
	if (!t->real)
		return 0;
	CPU_ZERO(&got);
	if (sched_getaffinity(0, sizeof(got), &got) < 0)
		return -errno;
	if (CPU_COUNT(&got) != 1 || !CPU_ISSET(cpu, &got))
		return -EIO;
	return 0;
}

static int count(const struct topo *t, hwloc_obj_type_t type)
{
	int n = hwloc_get_nbobjs_by_type(t->h, type);

	return n < 0 ? 0 : n;
}

int topo_nodes(const struct topo *t)
{
	int n = t ? count(t, HWLOC_OBJ_NUMANODE) : 0;

	return n > 0 ? n : 1;
}

bool topo_has_node(const struct topo *t, int node)
{
	return t && node >= 0 && hwloc_get_numanode_obj_by_os_index(t->h, (unsigned)node);
}

/* Returns the length of the line in @buf (truncated to fit @len), -EINVAL. */
int topo_describe(struct topo *t, char *buf, size_t len)
{
	int pk, nn, l3, l2, co, pu, n;
	char smt[32];

	if (!t || !buf || len == 0)
		return -EINVAL;
	pk = count(t, HWLOC_OBJ_PACKAGE);
	nn = count(t, HWLOC_OBJ_NUMANODE);
	l3 = count(t, HWLOC_OBJ_L3CACHE);
	l2 = count(t, HWLOC_OBJ_L2CACHE);
	co = count(t, HWLOC_OBJ_CORE);
	pu = t->npus;
	if (co == 0 || pu <= co)
		snprintf(smt, sizeof(smt), "no SMT");
	else if (pu % co == 0)
		snprintf(smt, sizeof(smt), "SMT, %d per core", pu / co);
	else
		snprintf(smt, sizeof(smt), "SMT");
	n = snprintf(buf, len,
		     "%d package%s, %d NUMA node%s, %d L3, %d L2, %d core%s, %d PU%s (%s)", pk,
		     pk == 1 ? "" : "s", nn, nn == 1 ? "" : "s", l3, l2, co, co == 1 ? "" : "s", pu,
		     pu == 1 ? "" : "s", smt);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)len - 1 : n;
}

/* Returns 0, -EINVAL, or the -errno of writing @path. */
int topo_export_xml(struct topo *t, const char *path)
{
	if (!t || !path)
		return -EINVAL;
	if (hwloc_topology_export_xml(t->h, path, 0) < 0)
		return errno ? -errno : -EIO;
	return 0;
}
