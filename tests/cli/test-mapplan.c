/* SPDX-License-Identifier: MIT */
/*
 * The pairs of `ipcbench map` and their relation labels (bench/mapplan.c)
 * on hwloc synthetic topologies, every pair against the relation worked
 * out by hand from the description; CPU lists and their errors; the
 * relations CSV.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapplan.h"
#include "test_util.h"

/* pack:2 numa:2 l3:2 core:4 pu:2, PU i: package i/32, node i/16, L3 i/8, core i/2. */
static enum topo_rel want_64(int i, int j)
{
	if (i == j)
		return TOPO_SAME_CPU;
	if (i / 2 == j / 2)
		return TOPO_SMT;
	if (i / 8 == j / 8)
		return TOPO_SAME_L3; /* no L2 objects: cores of one L3 share no L2 */
	if (i / 16 == j / 16)
		return TOPO_CROSS_L3;
	if (i / 32 == j / 32)
		return TOPO_CROSS_NUMA;
	return TOPO_CROSS_PACKAGE;
}

/* pack:1 l3:1 l2:2 core:2 pu:2, PU i: L2 i/4, core i/2. */
static enum topo_rel want_l2(int i, int j)
{
	if (i == j)
		return TOPO_SAME_CPU;
	if (i / 2 == j / 2)
		return TOPO_SMT;
	return i / 4 == j / 4 ? TOPO_SAME_L2 : TOPO_SAME_L3;
}

/* pack:1 core:4 pu:1: no cache, one node: cores share nothing named. */
static enum topo_rel want_flat(int i, int j)
{
	return i == j ? TOPO_SAME_CPU : TOPO_NONE;
}

static void check_all_pairs(const char *desc, int npus, enum topo_rel (*want)(int, int))
{
	struct map_plan p;
	struct topo *t;
	int i, j, bad = 0, counts[TOPO_NREL] = {0};

	CHECK_EQ(topo_load_synthetic(&t, desc), 0);
	CHECK_EQ(map_plan_new(&p, t, NULL, NULL), 0);
	CHECK_EQ(p.n, npus);
	for (i = 0; i < p.n; i++)
		CHECK_EQ(p.cpus[i], i); /* hwloc order: OS index = logical index here */
	for (i = 0; i < p.n; i++)
		for (j = 0; j < p.n; j++) {
			enum topo_rel r = p.rel[i * p.n + j];

			counts[r]++;
			if (r != want(i, j) || r != p.rel[j * p.n + i]) {
				if (bad++ < 5)
					fprintf(stderr, "%s: pair %d,%d: %s, want %s\n", desc, i, j,
						topo_rel_name(r), topo_rel_name(want(i, j)));
			}
		}
	CHECK_EQ(bad, 0);
	printf("%s:", desc);
	for (i = 0; i < TOPO_NREL; i++)
		if (counts[i])
			printf(" %s %d", topo_rel_name((enum topo_rel)i), counts[i]);
	printf("\n");
	map_plan_free(&p);
	topo_free(t);
}

static void check_lists(void)
{
	static const char *const bad[] = {"0,0", "1-2,2", "64", "", "a", "1-0", "0,", "-1"};
	struct map_plan p;
	struct topo *t;
	const char *why;
	char buf[256] = "";
	FILE *f;

	CHECK_EQ(topo_load_synthetic(&t, "pack:2 numa:2 l3:2 core:4 pu:2"), 0);
	/* --mem-node's check of a node: 4 nodes, 0 to 3. */
	CHECK_EQ(topo_nodes(t), 4);
	CHECK(topo_has_node(t, 0) && topo_has_node(t, 3));
	CHECK(!topo_has_node(t, 4) && !topo_has_node(t, -1));
	CHECK_EQ(map_plan_new(&p, t, "33,0-1", &why), 0);
	CHECK_EQ(p.n, 3);
	CHECK(p.cpus[0] == 33 && p.cpus[1] == 0 && p.cpus[2] == 1);
	CHECK_EQ(p.rel[0 * 3 + 1], TOPO_CROSS_PACKAGE);
	CHECK_EQ(p.rel[1 * 3 + 2], TOPO_SMT);
	CHECK_EQ(p.rel[2 * 3 + 2], TOPO_SAME_CPU);
	map_plan_free(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CHECK_EQ(map_plan_new(&p, t, bad[i], &why), -EINVAL);
		CHECK(why && *why);
		CHECK(p.cpus == NULL && p.rel == NULL);
		printf("   --cpus \"%s\" refused: %s\n", bad[i], why ? why : "?");
	}
	/* The relations CSV: header of CPUs, one row per CPU. */
	CHECK_EQ(map_plan_new(&p, t, "0,1,16", &why), 0);
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(map_plan_write(&p, f), 0);
		fclose(f);
	}
	CHECK(!strcmp(buf, "cpu,0,1,16\n"
			   "0,same-cpu,smt,cross-numa\n"
			   "1,smt,same-cpu,cross-numa\n"
			   "16,cross-numa,cross-numa,same-cpu\n"));
	map_plan_free(&p);
	topo_free(t);
}

int main(void)
{
	check_all_pairs("pack:2 numa:2 l3:2 core:4 pu:2", 64, want_64);
	check_all_pairs("pack:1 l3:1 l2:2 core:2 pu:2", 8, want_l2);
	check_all_pairs("pack:1 core:4 pu:1", 4, want_flat);
	check_lists();
	return test_result("mapplan");
}
