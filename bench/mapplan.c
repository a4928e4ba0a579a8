/* SPDX-License-Identifier: MIT */
/* The pairs of `ipcbench map` and their relations (mapplan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapplan.h"

static int fail(struct map_plan *p, int err, const char **why, const char *reason)
{
	map_plan_free(p);
	if (why && reason)
		*why = reason;
	return err;
}

/* Returns 0, -EINVAL (*why says why), -ENOMEM. */
int map_plan_new(struct map_plan *p, struct topo *t, const char *list, const char **why)
{
	const char *dummy;
	int n, i, j;

	if (!why)
		why = &dummy;
	*why = NULL;
	memset(p, 0, sizeof(*p));
	if (list)
		n = topo_cpu_list(t, list, &p->cpus, why);
	else if ((n = topo_npus(t)) > 0 && (p->cpus = malloc(sizeof(int) * (size_t)n)))
		n = topo_place(t, "compact", n, p->cpus, why) < 0 ? -EINVAL : n;
	else
		n = -ENOMEM;
	if (n < 0)
		return fail(p, n, why, NULL);
	p->n = n;
	if (n > MAP_MAX_CPUS)
		return fail(p, -EINVAL, why, "more than 1024 CPUs (a million pairs)");
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (p->cpus[i] == p->cpus[j])
				return fail(p, -EINVAL, why, "a CPU given twice");
	p->rel = malloc(sizeof(*p->rel) * (size_t)n * (size_t)n);
	if (!p->rel)
		return fail(p, -ENOMEM, why, "out of memory");
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (topo_relation(t, p->cpus[i], p->cpus[j], &p->rel[i * n + j]) < 0)
				return fail(p, -EINVAL, why, "a CPU not in the topology");
	return 0;
}

void map_plan_free(struct map_plan *p)
{
	free(p->cpus);
	free(p->rel);
	memset(p, 0, sizeof(*p));
}

int map_plan_write(const struct map_plan *p, FILE *f)
{
	int i, j;

	fputs("cpu", f);
	for (j = 0; j < p->n; j++)
		fprintf(f, ",%d", p->cpus[j]);
	fputc('\n', f);
	for (i = 0; i < p->n; i++) {
		fprintf(f, "%d", p->cpus[i]);
		for (j = 0; j < p->n; j++)
			fprintf(f, ",%s", topo_rel_name(p->rel[i * p->n + j]));
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}
