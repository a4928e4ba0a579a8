/* SPDX-License-Identifier: MIT */
/* `ipcbench list`: backends and their limits, relations, pool policies, topology, private dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ipcq_ext.h"

/*
 * For a command that takes no arguments: true after printing its usage and
 * @what for --help; bad input (exit 2) for anything else given.
 */
static bool no_args(const char *cmd, int argc, char **argv, const char *what)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ipcbench %s\n%s", cmd, what);
		return true;
	}
	if (argc > 1)
		bad(cmd, argv[1], "no arguments, or --help");
	return false;
}

/* Where named queues and SysV records live, and why when it is a fallback. */
static void print_private_dir(void)
{
	char path[4096], why[512];
	int r = ipcq_private_dir(path, sizeof(path), why, sizeof(why));

	if (r < 0)
		printf("private directory: unusable: %s\n", strerror(-r));
	else if (r == 1)
		printf("private directory: %s (fallback: %s)\n", path, why);
	else
		printf("private directory: %s\n", path);
}

int cmd_list(int argc, char **argv)
{
	const char *const *b;
	struct ipcq_limit l[16];
	struct topo *t;
	char buf[512];
	const char *why;
	int cpus[2], r, *place, n;
	ssize_t k, i;

	if (no_args("list", argc, argv,
		    "  backends with their kernel limits (and how to raise each), the pair\n"
		    "  relations and pool policies this machine has, its topology, and\n"
		    "  libipcq's private directory (with the reason when it is a fallback).\n"))
		return 0;
	t = load_topo();
	if (topo_describe(t, buf, sizeof(buf)) >= 0)
		printf("topology: %s\n", buf);
	print_private_dir();
	printf("backends:\n");
	for (b = ipcq_backends(); b && *b; b++) {
		k = ipcq_limits(*b, l, 16);
		printf("  %s%s\n", *b, k == 0 ? " (no kernel limit)" : "");
		for (i = 0; i < k && i < 16; i++)
			printf("    %-24s %lld %s: %s; raise: %s\n", l[i].name, l[i].value,
			       l[i].unit, l[i].what, l[i].raise);
	}
	printf("pair relations:\n");
	for (r = 0; r < TOPO_NREL; r++) {
		why = NULL;
		if (topo_pair(t, (enum topo_rel)r, cpus, &why) == 0)
			printf("  %-14s cpus %d,%d\n", topo_rel_name((enum topo_rel)r), cpus[0],
			       cpus[1]);
		else
			printf("  %-14s unavailable: %s\n", topo_rel_name((enum topo_rel)r),
			       why ? why : "not on this machine");
	}
	printf("pool policies:\n");
	n = topo_npus(t);
	place = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
	const char *pol[] = {"compact", "spread", "none"};
	for (i = 0; place && i < 3; i++) {
		why = NULL;
		if (topo_place(t, pol[i], n, place, &why) < 0) {
			printf("  %-14s unavailable: %s\n", pol[i], why ? why : "");
			continue;
		}
		printf("  %-14s", pol[i]);
		for (r = 0; r < n; r++)
			printf("%s%d", r ? "," : " cpus ", place[r]);
		printf("\n");
	}
	printf("  %-14s explicit CPU list, e.g. 0,2,4-7\n", "LIST");
	free(place);
	topo_free(t);
	return 0;
}
