/* SPDX-License-Identifier: MIT */
/*
 * Comparing two runs cell by cell.  Whether a difference is real is decided
 * from the repetitions: a Mann-Whitney U test (exact when there are no ties)
 * when there are enough of them for the test to reach ALPHA, else whether the
 * ranges of the repetitions overlap, else (no per-repetition values) the cv of
 * results.csv; and the change must exceed the repetitions' own spread.  Never
 * a fixed percentage.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_pvt.h"

#define ALPHA	  0.05
#define EXACT_MAX 25 /* repetitions per side up to which the exact distribution is used */

/* log of C(n, k) */
static double log_choose(int n, int k)
{
	return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

/*
 * Exact P(U <= u) under H0 for sample sizes n, m without ties: counts the
 * arrangements with cnt[m'][u'] built up one element of the first sample at a time.
 * NAN when out of memory.
 */
static double exact_cdf(int n, int m, double u)
{
	int umax = n * m;
	double *prev = calloc((size_t)(m + 1) * (umax + 1), sizeof(double));
	double *cur = calloc((size_t)(m + 1) * (umax + 1), sizeof(double));
	double total = 0, below = 0;

	if (!prev || !cur) {
		free(prev);
		free(cur);
		return NAN;
	}
	/* f(i, j, u): arrangements of i x's and j y's with U = u; f(0, j, 0) = 1. */
	for (int j = 0; j <= m; j++)
		prev[j * (umax + 1)] = 1;
	for (int i = 1; i <= n; i++) {
		memset(cur, 0, (size_t)(m + 1) * (umax + 1) * sizeof(double));
		for (int j = 0; j <= m; j++)
			for (int k = 0; k <= i * j; k++) {
				/* the largest element is an x (adds j) or a y */
				double v = 0;

				if (k - j >= 0)
					v += prev[j * (umax + 1) + k - j];
				if (j > 0)
					v += cur[(j - 1) * (umax + 1) + k];
				cur[j * (umax + 1) + k] = v;
			}
		double *t = prev;

		prev = cur;
		cur = t;
	}
	for (int k = 0; k <= umax; k++) {
		total += prev[m * (umax + 1) + k];
		if (k <= u + 1e-9)
			below += prev[m * (umax + 1) + k];
	}
	free(prev);
	free(cur);
	return below / total;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * U of sample a against b (a pair where a > b counts 1, a tie 1/2), the tie
 * term sum(t^3 - t) over groups of equal values, and whether a value of a
 * equals one of b, from one sort of both samples: O(n log n).  Returns
 * -ENOMEM or 0.
 */
static int rank_sums(const double *a, size_t na, const double *b, size_t nb, double *u, double *tie,
		     bool *cross_tie)
{
	size_t n = na + nb;
	struct tagged {
		double v;
		bool in_a;
	} *all = malloc(n * sizeof(*all));
	double ra = 0;

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		all[i] = (struct tagged){i < na ? a[i] : b[i - na], i < na};
	/* The value is the first member: sort the pairs by it. */
	qsort(all, n, sizeof(*all), cmp_double);
	*tie = 0;
	*cross_tie = false;
	for (size_t i = 0; i < n;) {
		size_t j = i, ka = 0;

		while (j < n && all[j].v == all[i].v)
			ka += all[j++].in_a;
		/* Ranks i+1 .. j share their mean. */
		double t = (double)(j - i);

		ra += (double)ka * ((double)i + 1 + (double)j) / 2;
		*cross_tie |= ka > 0 && ka < j - i;
		*tie += t * t * t - t;
		i = j;
	}
	free(all);
	*u = ra - (double)na * ((double)na + 1) / 2;
	return 0;
}

/*
 * Two-sided p-value of the Mann-Whitney U test of samples a and b into *P:
 * exact for small samples without a tie between them, else the normal
 * approximation with the tie correction and a continuity correction.
 * O(n log n) in the sample sizes.  Returns 0 (*P is NAN for an empty
 * sample) or -ENOMEM.
 */
int rep_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb, double *p)
{
	double u, tie, n = (double)(na + nb);
	bool cross_tie;

	*p = NAN;
	if (na == 0 || nb == 0)
		return 0;
	if (rank_sums(a, na, b, nb, &u, &tie, &cross_tie) < 0)
		return -ENOMEM;
	if (!cross_tie && na <= EXACT_MAX && nb <= EXACT_MAX) {
		double lo = exact_cdf((int)na, (int)nb, u);
		double hi = 1 - exact_cdf((int)na, (int)nb, u - 1);

		if (isnan(lo) || isnan(hi))
			return -ENOMEM;
		*p = fmin(2 * fmin(lo, hi), 1);
		return 0;
	}
	/* Ties: the variance shrinks by sum(t^3 - t) over groups of equal values. */
	double mu = (double)na * (double)nb / 2.0;
	double var = (double)na * (double)nb / 12.0 * ((n + 1) - tie / (n * (n - 1)));

	if (var <= 0) {
		*p = 1;
		return 0;
	}
	double z = (fabs(u - mu) - 0.5) / sqrt(var);

	*p = erfc(fmax(z, 0) / sqrt(2));
	return 0;
}

static void range(const double *v, size_t n, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		*lo = fmin(*lo, v[i]);
		*hi = fmax(*hi, v[i]);
	}
}

/* Half the relative range of the repetitions: how far one repetition strays from another. */
static double half_range(const double *v, size_t n)
{
	double lo, hi;

	range(v, n, &lo, &hi);
	return lo > 0 ? (hi - lo) / (hi + lo) : INFINITY;
}

/*
 * A difference is real when the repetitions say so (a rank test, or disjoint
 * ranges when there are too few of them for the test) and the change is
 * larger than the repetitions' own spread: a shift of 0.5 % that the test
 * finds significant is not a change anyone should act on.
 */
static int judge(struct rep_compare_row *r)
{
	const struct rep_cell *a = r->base, *b = r->cur;
	size_t na = a->nreps, nb = b->nreps;
	bool differ = false;

	r->p = NAN;
	/* The smallest p the exact test can give is 2 / C(na + nb, na). */
	if (na >= 3 && nb >= 3 && log(2) - log_choose((int)(na + nb), (int)na) < log(ALPHA)) {
		if (rep_mann_whitney_p(b->reps, nb, a->reps, na, &r->p) < 0)
			return -ENOMEM;
		differ = r->p < ALPHA;
		snprintf(r->method, sizeof(r->method), "Mann-Whitney, %zu+%zu reps", nb, na);
	} else if (na >= 2 && nb >= 2) {
		double alo, ahi, blo, bhi;

		range(a->reps, na, &alo, &ahi);
		range(b->reps, nb, &blo, &bhi);
		differ = bhi < alo || blo > ahi;
		snprintf(r->method, sizeof(r->method), "ranges, %zu+%zu reps", nb, na);
	} else if (!isnan(a->cv) && !isnan(b->cv) && (a->cv > 0 || b->cv > 0)) {
		/* Medians only: a difference beyond three combined standard deviations. */
		double sd = sqrt(a->cv * a->cv + b->cv * b->cv);

		differ = fabs(log(r->ratio)) > 3 * sd;
		snprintf(r->method, sizeof(r->method), "median and cv (no repetitions)");
		r->verdict = !differ ? "within noise" : r->speedup > 1 ? "faster" : "slower";
		return 0;
	} else {
		snprintf(r->method, sizeof(r->method), "one repetition: no spread");
		r->verdict = "unknown";
		return 0;
	}
	if (differ) {
		double spread = fmax(half_range(a->reps, na), half_range(b->reps, nb));

		if (fabs(r->ratio - 1) <= spread) {
			differ = false;
			snprintf(r->method + strlen(r->method),
				 sizeof(r->method) - strlen(r->method), "; change < spread %.1f%%",
				 spread * 100);
		}
	}
	r->verdict = !differ ? "within noise" : r->speedup > 1 ? "faster" : "slower";
	return 0;
}

/*
 * Pairs every cell of CUR with the same cell of BASE and judges the change.
 * Returns 0; -EINVAL when the runs have no cell in common (another matrix);
 * -ENOMEM.
 */
int rep_compare_runs(const struct rep_run *cur, const struct rep_run *base, struct rep_compare *out,
		     struct rep_notes *notes)
{
	size_t common = 0;
	bool fallback = false;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->base_dir = base->dir;
	out->cur_dir = cur->dir;
	out->rows = calloc(cur->ncells ? cur->ncells : 1, sizeof(*out->rows));
	if (!out->rows)
		return -ENOMEM;
	for (size_t i = 0; i < cur->ncells; i++) {
		const struct rep_cell *c = &cur->cells[i], *b = rep_run_find(base, c, false);

		if (!b) {
			out->only_cur++;
			continue;
		}
		common++;
		if (!rep_cell_ok(c) || !rep_cell_ok(b)) {
			out->not_ok++;
			continue;
		}
		struct rep_compare_row *r = &out->rows[out->n++];

		r->base = b;
		r->cur = c;
		r->metric = rep_lower_is_better(c) ? "lat_p50_ns" : "msgs_per_s";
		r->vbase = rep_cell_metric(b);
		r->vcur = rep_cell_metric(c);
		r->ratio = r->vcur / r->vbase;
		r->speedup = rep_lower_is_better(c) ? 1 / r->ratio : r->ratio;
		if (c->nreps < 2 || b->nreps < 2)
			fallback = true;
		ret = judge(r);
		if (ret < 0)
			goto fail;
	}
	out->only_base = base->ncells - common;
	if (common == 0) {
		ret = -EINVAL;
		goto fail;
	}
	if (fallback)
		ret = rep_note(notes,
			       "compare: some cells lack per-repetition values in benchmarks.json; "
			       "they are judged from the median and cv of results.csv");
	if (ret < 0)
		goto fail;
	return 0;
fail:
	rep_compare_free(out);
	return ret;
}

void rep_compare_free(struct rep_compare *cmp)
{
	free(cmp->rows);
	memset(cmp, 0, sizeof(*cmp));
}

/*
 * One text field of compare.csv: quoted when it holds a comma, a quote or a
 * line break, and with a leading ' when a spreadsheet would take it for a
 * formula (= + - @, tab, CR).
 */
static void csv_text(FILE *f, const char *s)
{
	bool formula = *s && strchr("=+-@\t\r", *s);

	if (!formula && !s[strcspn(s, ",\"\r\n")]) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Writes compare.csv.  Returns 0 or -errno. */
int rep_compare_csv(const struct rep_compare *cmp, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "mode,backend,size,producers,consumers,placement,metric,base,new,ratio,speedup,"
		   "verdict,p_value,method,base_reps,new_reps\n");
	for (size_t i = 0; i < cmp->n; i++) {
		const struct rep_compare_row *r = &cmp->rows[i];
		const struct rep_cell *c = r->cur;

		csv_text(f, c->mode);
		fputc(',', f);
		csv_text(f, c->backend);
		fprintf(f, ",%ld,%d,%d,", c->size, c->producers, c->consumers);
		csv_text(f, c->placement);
		fputc(',', f);
		csv_text(f, r->metric);
		fprintf(f, ",%.6g,%.6g,%.4f,%.4f,", r->vbase, r->vcur, r->ratio, r->speedup);
		csv_text(f, r->verdict);
		fputc(',', f);
		if (!isnan(r->p))
			fprintf(f, "%.4g", r->p);
		fputc(',', f);
		csv_text(f, r->method);
		fprintf(f, ",%zu,%zu\n", r->base->nreps, c->nreps);
	}
	return fclose(f) ? -errno : 0;
}
