/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench run`: its list flags into the matrix's options (run_parse.h),
 * each value checked; bad input exits 2 with one line (cli.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipcq_ext.h"
#include "run_parse.h"

/* A list entry given twice would make the same cells twice. */
static void __attribute__((noreturn)) repeated(const char *flag, const char *entry)
{
	bad(flag, entry, "each entry once (%s is repeated)", entry);
}

void parse_modes(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX];
	int n = split("--mode", v, t, MATRIX_MAX), i, m;

	memset(o->modes, 0, sizeof(o->modes));
	for (i = 0; i < n; i++) {
		for (m = 0; m < MODE_N && strcmp(t[i], bench_mode_name(m)); m++)
			;
		if (m == MODE_N)
			bad("--mode", t[i], "latency, throughput, floor, bare, rate, wakeup");
		if (o->modes[m])
			repeated("--mode", t[i]);
		o->modes[m] = true;
	}
}

/* Not ipcq backends, but bare loops of their own: the stream pipe. */
const char *const bare_only[] = {"pipe-stream", NULL};

void parse_backends(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], list[256] = "";
	const char *const *all = ipcq_backends(), *const * b;
	int n = split("--backends", v, t, MATRIX_MAX), i, j;

	for (b = all; b && *b; b++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? ", " : "", *b);
	o->nbackends = 0;
	for (i = 0; i < n; i++) {
		for (b = all; b && *b && strcmp(*b, t[i]); b++)
			;
		if (!b || !*b)
			for (b = bare_only; *b && strcmp(*b, t[i]); b++)
				;
		if (!*b)
			bad("--backends", t[i], "%s, %s (bare loop only)", list, bare_only[0]);
		for (j = 0; j < o->nbackends; j++)
			if (!strcmp(o->backends[j], *b))
				repeated("--backends", t[i]);
		o->backends[o->nbackends++] = *b;
	}
}

void parse_sizes(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *end;
	int n = split("--sizes", v, t, MATRIX_MAX), i, j;
	unsigned long long x;
	unsigned shift;

	o->nsizes = 0;
	for (i = 0; i < n; i++) {
		errno = 0;
		shift = 0;
		x = t[i][0] >= '0' && t[i][0] <= '9' ? strtoull(t[i], &end, 10) : 0;
		if (x && (*end == 'K' || *end == 'k'))
			shift = 10, end++;
		else if (x && (*end == 'M' || *end == 'm'))
			shift = 20, end++;
		/* Compared before the shift, which would wrap. */
		if (!x || errno || *end || x > BENCH_MAX_SIZE >> shift ||
		    x << shift < BENCH_MIN_SIZE)
			bad("--sizes", t[i],
			    "sizes in bytes from %d to 1M, optional suffix K or M (e.g. 64,4K)",
			    BENCH_MIN_SIZE);
		x <<= shift;
		for (j = 0; j < o->nsizes; j++)
			if (o->sizes[j] == x)
				bad("--sizes", t[i], "each size once (%llu bytes is repeated)", x);
		o->sizes[o->nsizes++] = (size_t)x;
	}
}

void parse_pairs(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *x;
	int n = split("--pairs", v, t, MATRIX_MAX), i, j, p, c;

	o->npairs = 0;
	for (i = 0; i < n; i++) {
		x = strchr(t[i], 'x');
		if (x)
			*x = '\0';
		p = x ? parse_count(t[i], 1, BENCH_MAX_PROCS) : -1;
		c = x ? parse_count(x + 1, 1, BENCH_MAX_PROCS) : -1;
		if (x)
			*x = 'x';
		if (p < 0 || c < 0)
			bad("--pairs", t[i], "PxC with P and C from 1 to %d (e.g. 1x1,2x2,4x1)",
			    BENCH_MAX_PROCS);
		for (j = 0; j < o->npairs; j++)
			if (o->pairs[j][0] == p && o->pairs[j][1] == c)
				repeated("--pairs", t[i]);
		o->pairs[o->npairs][0] = p;
		o->pairs[o->npairs++][1] = c;
	}
}

void parse_placements(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX];
	int n = split("--placement", v, t, MATRIX_MAX), i, j;
	enum topo_rel r;

	o->nrels = 0;
	for (i = 0; i < n; i++) {
		if (topo_rel_parse(t[i], &r) < 0)
			bad("--placement", t[i],
			    "same-cpu, smt, same-l2, same-l3, cross-l3, "
			    "cross-numa, cross-package, none");
		for (j = 0; j < o->nrels; j++)
			if (o->rels[j] == r)
				repeated("--placement", t[i]);
		/* Unreachable with each relation once, but never cut a list silently. */
		if (o->nrels == TOPO_NREL)
			bad("--placement", v, "at most %d placements", TOPO_NREL);
		o->rels[o->nrels++] = r;
	}
}

/*
 * A decimal number at the start of @s (digits, maybe one '.' and more
 * digits, no sign, no exponent) into *v; the rest at *end.  -EINVAL when @s
 * does not start with a digit.
 */
static int parse_decimal(const char *s, double *v, char **end)
{
	if (!(s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	*end = (char *)s + strspn(s, "0123456789");
	if (**end == '.')
		*end += 1 + strspn(*end + 1, "0123456789");
	*v = strtod(s, NULL);
	return 0;
}

void parse_rates(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *end;
	int n = split("--rates", v, t, MATRIX_MAX), i, j;
	double x;

	o->nrates = 0;
	for (i = 0; i < n; i++) {
		x = 0;
		if (strcmp(t[i], "max")) {
			if (parse_decimal(t[i], &x, &end) < 0)
				x = -1;
			else if (*end == 'k' || *end == 'K')
				x *= 1e3, end++;
			else if (*end == 'M')
				x *= 1e6, end++;
			if (x >= 0 && *end)
				x = -1;
			if (!(x >= 1 && x <= BENCH_MAX_RATE))
				bad("--rates", t[i],
				    "messages/s from 1 to 1000M, optional suffix k or M "
				    "(e.g. 1k,10k,1M), or max");
		}
		for (j = 0; j < o->nrates; j++)
			if (o->rates[j] == x)
				bad("--rates", t[i], "each rate once (%s is repeated)", t[i]);
		o->rates[o->nrates++] = x;
	}
}

void parse_gaps(const char *v, struct matrix_opts *o)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *t[MATRIX_MAX], *end;
	int n = split("--gaps", v, t, MATRIX_MAX), i, j;
	double x;
	size_t u;

	o->ngaps = 0;
	for (i = 0; i < n; i++) {
		u = 0;
		if (parse_decimal(t[i], &x, &end) == 0)
			for (; u < sizeof(units) / sizeof(units[0]) && strcmp(end, units[u].unit);
			     u++)
				;
		if (u == sizeof(units) / sizeof(units[0]) || parse_decimal(t[i], &x, &end) < 0 ||
		    !((x *= units[u].ns) >= 1e3 && x <= 1e9) || x != floor(x))
			bad("--gaps", t[i],
			    "idle gaps from 1us to 1s, each a number with its unit ns, us, ms or s "
			    "(e.g. 10us,100us,1ms,10ms)");
		for (j = 0; j < o->ngaps; j++)
			if (o->gaps[j] == (int64_t)x)
				bad("--gaps", t[i], "each gap once (%s is repeated)", t[i]);
		o->gaps[o->ngaps++] = (int64_t)x;
	}
}
