/* SPDX-License-Identifier: MIT */
/*
 * topo on hwloc synthetic topologies: every relation and policy against a
 * pair or list worked out by hand from the description.  On a synthetic
 * topology PU OS indices are hwloc's logical (depth-first) indices.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topo.h"
#include "test_util.h"

#define ABSENT -2 /* in an expectation: topo_pair must say -ENODEV */

struct expect {
	const char *desc;
	int npus;
	int pair[TOPO_NREL][2]; /* {ABSENT, ABSENT} when the machine lacks it */
	const char *describe;
	int n_spread;
	int spread[16];
};

static const struct expect cases[] = {
	{
		/* One package, 4 cores, no SMT, no caches: only same-cpu. */
		.desc = "package:1 core:4 pu:1",
		.npus = 4,
		.pair = {[TOPO_SAME_CPU] = {0, 0},
			 [TOPO_SMT] = {ABSENT, ABSENT},
			 [TOPO_SAME_L2] = {ABSENT, ABSENT},
			 [TOPO_SAME_L3] = {ABSENT, ABSENT},
			 [TOPO_CROSS_L3] = {ABSENT, ABSENT},
			 [TOPO_CROSS_NUMA] = {ABSENT, ABSENT},
			 [TOPO_CROSS_PACKAGE] = {ABSENT, ABSENT},
			 [TOPO_NONE] = {-1, -1}},
		.describe = "1 package, 1 NUMA node, 0 L3, 0 L2, 4 cores, 4 PUs (no SMT)",
		.n_spread = 5,
		.spread = {0, 1, 2, 3, 0},
	},
	{
		/*
		 * 64 PUs: package p, NUMA node m, L3 l, core c, thread h is PU
		 * 32p + 16m + 8l + 2c + h.  No L2 level, so same-l2 is absent
		 * and any two cores of one L3 are same-l3.
		 */
		.desc = "pack:2 numa:2 l3:2 core:4 pu:2",
		.npus = 64,
		.pair = {[TOPO_SAME_CPU] = {0, 0},
			 [TOPO_SMT] = {0, 1},
			 [TOPO_SAME_L2] = {ABSENT, ABSENT},
			 [TOPO_SAME_L3] = {0, 2},
			 [TOPO_CROSS_L3] = {0, 8},
			 [TOPO_CROSS_NUMA] = {0, 16},
			 [TOPO_CROSS_PACKAGE] = {0, 32},
			 [TOPO_NONE] = {-1, -1}},
		.describe =
			"2 packages, 4 NUMA nodes, 8 L3, 0 L2, 32 cores, 64 PUs (SMT, 2 per core)",
		/* package varies fastest, then NUMA node, L3, core; thread last. */
		.n_spread = 16,
		.spread = {0, 32, 16, 48, 8, 40, 24, 56, 2, 34, 18, 50, 10, 42, 26, 58},
	},
	{
		/* No L2 sharing: every core has its own L2, all share one L3. */
		.desc = "pack:1 l3:1 l2:4 core:1 pu:2",
		.npus = 8,
		.pair = {[TOPO_SAME_CPU] = {0, 0},
			 [TOPO_SMT] = {0, 1},
			 [TOPO_SAME_L2] = {ABSENT, ABSENT},
			 [TOPO_SAME_L3] = {0, 2},
			 [TOPO_CROSS_L3] = {ABSENT, ABSENT},
			 [TOPO_CROSS_NUMA] = {ABSENT, ABSENT},
			 [TOPO_CROSS_PACKAGE] = {ABSENT, ABSENT},
			 [TOPO_NONE] = {-1, -1}},
		.describe = "1 package, 1 NUMA node, 1 L3, 4 L2, 4 cores, 8 PUs (SMT, 2 per core)",
		.n_spread = 8,
		.spread = {0, 2, 4, 6, 1, 3, 5, 7},
	},
	{
		/*
		 * L2 shared by two cores: L2 0 = PUs 0,1 and L2 1 = PUs 2,3.
		 * same-l3 must skip (0,1), which share an L2, and give (0,2).
		 */
		.desc = "pack:1 l3:1 l2:2 core:2 pu:1",
		.npus = 4,
		.pair = {[TOPO_SAME_CPU] = {0, 0},
			 [TOPO_SMT] = {ABSENT, ABSENT},
			 [TOPO_SAME_L2] = {0, 1},
			 [TOPO_SAME_L3] = {0, 2},
			 [TOPO_CROSS_L3] = {ABSENT, ABSENT},
			 [TOPO_CROSS_NUMA] = {ABSENT, ABSENT},
			 [TOPO_CROSS_PACKAGE] = {ABSENT, ABSENT},
			 [TOPO_NONE] = {-1, -1}},
		.describe = "1 package, 1 NUMA node, 1 L3, 2 L2, 4 cores, 4 PUs (no SMT)",
		.n_spread = 4,
		.spread = {0, 2, 1, 3},
	},
	{
		/* Two packages, one NUMA node each: cross-package but no cross-numa. */
		.desc = "pack:2 numa:1 l3:1 core:2 pu:1",
		.npus = 4,
		.pair = {[TOPO_SAME_CPU] = {0, 0},
			 [TOPO_SMT] = {ABSENT, ABSENT},
			 [TOPO_SAME_L2] = {ABSENT, ABSENT},
			 [TOPO_SAME_L3] = {0, 1},
			 [TOPO_CROSS_L3] = {ABSENT, ABSENT},
			 [TOPO_CROSS_NUMA] = {ABSENT, ABSENT},
			 [TOPO_CROSS_PACKAGE] = {0, 2},
			 [TOPO_NONE] = {-1, -1}},
		.describe = "2 packages, 2 NUMA nodes, 2 L3, 0 L2, 4 cores, 4 PUs (no SMT)",
		.n_spread = 4,
		.spread = {0, 2, 1, 3},
	},
};

static void check_case(const struct expect *e)
{
	struct topo *t;
	char line[256];
	int cpus[2], place[80], i, ret;
	const char *why;

	printf("-- %s\n", e->desc);
	ret = topo_load_synthetic(&t, e->desc);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	CHECK_EQ(topo_npus(t), e->npus);
	CHECK(topo_describe(t, line, sizeof(line)) > 0);
	printf("   %s\n", line);
	CHECK(!strcmp(line, e->describe));
	CHECK(!topo_is_real(t));

	for (i = 0; i < TOPO_NREL; i++) {
		cpus[0] = cpus[1] = 99;
		why = NULL;
		ret = topo_pair(t, (enum topo_rel)i, cpus, &why);
		printf("   %-13s %s", topo_rel_name((enum topo_rel)i), ret ? "absent: " : "");
		if (ret)
			printf("%s\n", why ? why : "(no reason!)");
		else
			printf("%d,%d\n", cpus[0], cpus[1]);
		if (e->pair[i][0] == ABSENT) {
			CHECK_EQ(ret, -ENODEV);
			CHECK(why && *why);
		} else {
			CHECK_EQ(ret, 0);
			CHECK_EQ(cpus[0], e->pair[i][0]);
			CHECK_EQ(cpus[1], e->pair[i][1]);
		}
	}

	/* compact: logical order, cycling. */
	CHECK_EQ(topo_place(t, "compact", e->npus + 2, place, &why), 0);
	for (i = 0; i < e->npus + 2; i++)
		CHECK_EQ(place[i], i % e->npus);
	/* spread: the hand-worked prefix. */
	CHECK_EQ(topo_place(t, "spread", e->n_spread, place, &why), 0);
	for (i = 0; i < e->n_spread; i++)
		CHECK_EQ(place[i], e->spread[i]);
	/* spread over all PUs: a permutation, then it cycles. */
	if (e->npus * 2 <= 80) {
		char seen[80] = {0};

		CHECK_EQ(topo_place(t, "spread", e->npus * 2, place, &why), 0);
		for (i = 0; i < e->npus; i++) {
			CHECK(place[i] >= 0 && place[i] < e->npus && !seen[place[i]]);
			if (place[i] >= 0 && place[i] < e->npus)
				seen[place[i]] = 1;
			CHECK_EQ(place[i + e->npus], place[i]);
		}
	}
	/* none (and NULL): unpinned. */
	CHECK_EQ(topo_place(t, "none", 3, place, &why), 0);
	CHECK(place[0] == -1 && place[1] == -1 && place[2] == -1);
	CHECK_EQ(topo_place(t, NULL, 2, place, &why), 0);
	CHECK(place[0] == -1 && place[1] == -1);
	topo_free(t);
}

/* The 64-PU machine: spread in full against the formula in its comment. */
static void check_spread_formula(void)
{
	struct topo *t;
	int place[64], i;

	CHECK_EQ(topo_load_synthetic(&t, "pack:2 numa:2 l3:2 core:4 pu:2"), 0);
	CHECK_EQ(topo_place(t, "spread", 64, place, NULL), 0);
	for (i = 0; i < 64; i++) {
		int pk = i % 2, nm = (i / 2) % 2, l3 = (i / 4) % 2, co = (i / 8) % 4, h = i / 32;

		CHECK_EQ(place[i], 32 * pk + 16 * nm + 8 * l3 + 2 * co + h);
	}
	topo_free(t);
}

static void check_lists_and_errors(void)
{
	static const char *const bad[] = {"",	"0,64", "1-", ",1",  "1,,2", "3-1",
					  "1,", "0-99", "2x", "abc", "-1",   "0 1"};
	struct topo *t;
	int place[8], i, cpus[2];
	const char *why;
	enum topo_rel rel;
	char path[] = "/tmp/ipcb-topo-XXXXXX", buf[256];
	FILE *f;
	cpu_set_t before, after;

	CHECK_EQ(topo_load_synthetic(&t, "pack:2 numa:2 l3:2 core:4 pu:2"), 0);
	CHECK_EQ(topo_place(t, "0,2,4-7", 8, place, &why), 0);
	{
		static const int want[8] = {0, 2, 4, 5, 6, 7, 0, 2};

		for (i = 0; i < 8; i++)
			CHECK_EQ(place[i], want[i]);
	}
	CHECK_EQ(topo_place(t, "63", 2, place, &why), 0);
	CHECK(place[0] == 63 && place[1] == 63);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		why = NULL;
		CHECK_EQ(topo_place(t, bad[i], 2, place, &why), -EINVAL);
		CHECK(why && *why);
		printf("   policy \"%s\" refused: %s\n", bad[i], why ? why : "?");
	}
	CHECK_EQ(topo_place(t, "compact", 0, place, &why), -EINVAL);
	CHECK_EQ(topo_place(t, "compact", -1, place, &why), -EINVAL);
	CHECK_EQ(topo_pair(t, TOPO_NREL, cpus, &why), -EINVAL);

	for (i = 0; i < TOPO_NREL; i++) {
		CHECK_EQ(topo_rel_parse(topo_rel_name((enum topo_rel)i), &rel), 0);
		CHECK_EQ(rel, i);
	}
	CHECK_EQ(topo_rel_parse("same-l4", &rel), -EINVAL);
	CHECK(topo_rel_name(TOPO_NREL) == NULL);

	CHECK(topo_has_cpu(t, 0) && topo_has_cpu(t, 63));
	CHECK(!topo_has_cpu(t, 64) && !topo_has_cpu(t, -1));

	/* Binding on a synthetic machine succeeds and binds nothing. */
	CHECK_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
	CHECK_EQ(topo_bind_self(t, 63), 0);
	CHECK_EQ(topo_bind_self(t, 64), -EINVAL);
	CHECK_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
	CHECK(CPU_EQUAL(&before, &after));

	/* XML export. */
	i = mkstemp(path);
	CHECK(i >= 0);
	if (i >= 0) {
		close(i);
		CHECK_EQ(topo_export_xml(t, path), 0);
		f = fopen(path, "r");
		CHECK(f != NULL);
		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);

			buf[n] = '\0';
			CHECK(strstr(buf, "<topology") != NULL);
			fclose(f);
		}
		unlink(path);
	}
	CHECK(topo_export_xml(t, "/nonexistent-dir/x.xml") < 0);
	/* A truncated description still ends in '\0'. */
	CHECK_EQ(topo_describe(t, buf, 8), 7);
	CHECK_EQ(strlen(buf), 7);
	topo_free(t);

	CHECK_EQ(topo_load_synthetic(&t, "foo:3 bar"), -EINVAL);
	CHECK_EQ(topo_load_synthetic(&t, NULL), -EINVAL);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	check_spread_formula();
	check_lists_and_errors();
	return test_result("test_topo");
}
