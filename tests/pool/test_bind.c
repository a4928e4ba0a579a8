/* SPDX-License-Identifier: MIT */
/*
 * Real binding on this machine.  Whatever hwloc reports, each relation's
 * pair is checked against Linux's own view in sysfs where it exists, and
 * children bound through proc_bind() read their affinity back: it must be
 * exactly the CPU asked.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "topo.h"
#include "test_util.h"

/* Is @cpu in the sysfs list file @path ("0-3,8")?  -1 when unreadable. */
static int in_sysfs_list(const char *path, int cpu)
{
	char buf[4096], *s, *tok;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (tok = strtok_r(buf, ",\n", &s); tok; tok = strtok_r(NULL, ",\n", &s)) {
		int lo, hi;

		if (sscanf(tok, "%d-%d", &lo, &hi) != 2)
			hi = lo = atoi(tok);
		if (cpu >= lo && cpu <= hi)
			return 1;
	}
	return 0;
}

/* Linux's view of a pair: 1 related, 0 not, -1 sysfs cannot tell. */
static int sysfs_says(enum topo_rel rel, int a, int b)
{
	char path[256];

	switch (rel) {
	case TOPO_SMT:
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", a);
		return in_sysfs_list(path, b);
	case TOPO_SAME_L2:
	case TOPO_SAME_L3: {
		/* index2 is L2 on x86 and most arm64; index3 L3. */
		int lvl = rel == TOPO_SAME_L2 ? 2 : 3;
		char lp[256];
		FILE *f;
		int got = 0;

		snprintf(lp, sizeof(lp), "/sys/devices/system/cpu/cpu%d/cache/index%d/level", a,
			 lvl);
		f = fopen(lp, "r");
		if (!f || fscanf(f, "%d", &got) != 1 || got != lvl) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/cache/index%d/shared_cpu_list", a, lvl);
		return in_sysfs_list(path, b);
	}
	case TOPO_CROSS_PACKAGE:
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/package_cpus_list", a);
		{
			int r = in_sysfs_list(path, b);

			return r < 0 ? -1 : !r;
		}
	default:
		return -1;
	}
}

static int check_affinity(void *arg)
{
	int cpu = *(int *)arg;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 2;
	if (CPU_COUNT(&set) != 1 || !CPU_ISSET(cpu, &set))
		return 3;
	return sched_getcpu() == cpu ? 0 : 4;
}

static void bound_child(struct topo *t, int cpu)
{
	struct proc *p;
	int code = -999;

	CHECK_EQ(proc_new(&p, check_affinity, &cpu), 0);
	CHECK_EQ(proc_bind(p, t, cpu), 0);
	CHECK_EQ(proc_start(p), 0);
	CHECK_EQ(proc_join(p, 10 * 1000000000LL), 0);
	CHECK_EQ(proc_exitcode(p, &code), 0);
	CHECK_EQ(code, 0);
	proc_free(p);
}

int main(void)
{
	struct topo *t;
	char line[256];
	int cpus[2], i, n, ret;
	const char *why;
	int place[64];
	cpu_set_t mine;

	ret = topo_load(&t);
	if (ret) {
		printf("SKIP: topo_load failed: %s\n", strerror(-ret));
		return 77;
	}
	CHECK(topo_is_real(t));
	CHECK(topo_describe(t, line, sizeof(line)) > 0);
	printf("this machine: %s\n", line);
	n = topo_npus(t);
	CHECK_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
	CHECK_EQ(n, CPU_COUNT(&mine)); /* restricted to what we may use */

	for (i = 0; i < TOPO_NREL; i++) {
		enum topo_rel rel = (enum topo_rel)i;

		ret = topo_pair(t, rel, cpus, &why);
		if (ret) {
			printf("  %-13s absent: %s\n", topo_rel_name(rel), why);
			CHECK_EQ(ret, -ENODEV);
			CHECK(why && *why);
			continue;
		}
		printf("  %-13s %d,%d\n", topo_rel_name(rel), cpus[0], cpus[1]);
		if (rel == TOPO_NONE) {
			CHECK(cpus[0] == -1 && cpus[1] == -1);
			continue;
		}
		CHECK(topo_has_cpu(t, cpus[0]) && topo_has_cpu(t, cpus[1]));
		CHECK(CPU_ISSET(cpus[0], &mine) && CPU_ISSET(cpus[1], &mine));
		CHECK((rel == TOPO_SAME_CPU) == (cpus[0] == cpus[1]));
		if (sysfs_says(rel, cpus[0], cpus[1]) == 0) {
			fprintf(stderr, "sysfs disagrees with %s %d,%d\n", topo_rel_name(rel),
				cpus[0], cpus[1]);
			test_failures++;
		}
		/* Both ends bind for real. */
		bound_child(t, cpus[0]);
		bound_child(t, cpus[1]);
	}

	/* Every PU we may use (up to 64), through the compact policy. */
	if (n > 64)
		n = 64;
	CHECK_EQ(topo_place(t, "compact", n, place, &why), 0);
	for (i = 0; i < n; i++) {
		CHECK(CPU_ISSET(place[i], &mine));
		bound_child(t, place[i]);
	}
	CHECK_EQ(topo_place(t, "spread", n, place, &why), 0);
	for (i = 0; i < n; i++)
		CHECK(CPU_ISSET(place[i], &mine));

	/* A CPU the topology lacks is refused before fork. */
	{
		struct proc *p;
		int cpu = 4095;

		CHECK_EQ(proc_new(&p, check_affinity, &cpu), 0);
		CHECK_EQ(proc_bind(p, t, cpu), -EINVAL);
		proc_free(p);
	}
	topo_free(t);
	return test_result("test_bind");
}
