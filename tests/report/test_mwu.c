/* SPDX-License-Identifier: MIT */
/* The rank test behind `report --compare`, against values computed by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "report_pvt.h"

static int failed;

static void expect(const char *what, double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol)) {
		printf("FAIL %s: p = %.6g, want %.6g\n", what, got, want);
		failed = 1;
	}
}

/* The library's p (NAN, and a failure, when it returns an error). */
static double mwu(const double *a, size_t na, const double *b, size_t nb)
{
	double p;

	if (rep_mann_whitney_p(a, na, b, nb, &p) < 0) {
		printf("FAIL rep_mann_whitney_p returned an error\n");
		failed = 1;
		return NAN;
	}
	return p;
}

/* The normal approximation counted pair by pair, as the test used to: O(n^2), for reference. */
static double brute_p(const double *a, size_t na, const double *b, size_t nb)
{
	double u = 0, tie = 0, n = (double)(na + nb);

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
	for (size_t i = 0; i < na + nb; i++) {
		double v = i < na ? a[i] : b[i - na], t = 0;
		bool first = true;

		for (size_t j = 0; j < na + nb; j++) {
			double w = j < na ? a[j] : b[j - na];

			if (w == v) {
				t++;
				first &= j >= i;
			}
		}
		if (first)
			tie += t * t * t - t;
	}
	double var = (double)na * nb / 12.0 * ((n + 1) - tie / (n * (n - 1)));
	double z = fmax(0, (fabs(u - (double)na * nb / 2.0) - 0.5) / sqrt(var));

	return erfc(z / sqrt(2));
}

/* Large samples with many ties (values on a coarse grid), shifted by SHIFT. */
static void large(const char *what, size_t na, size_t nb, int shift)
{
	double *a = malloc(na * sizeof(*a)), *b = malloc(nb * sizeof(*b));

	srand(7);
	for (size_t i = 0; i < na; i++)
		a[i] = rand() % 40;
	for (size_t i = 0; i < nb; i++)
		b[i] = rand() % 40 + shift;
	expect(what, mwu(a, na, b, nb), brute_p(a, na, b, nb), 1e-9);
	free(a);
	free(b);
}

int main(void)
{
	const double lo[] = {1, 2, 3, 4, 5}, hi[] = {6, 7, 8, 9, 10};
	const double a[] = {1, 3, 5, 7, 9}, b[] = {2, 4, 6, 8, 10};
	const double t1[] = {1, 2, 2, 3}, t2[] = {2, 3, 3, 4};
	const double s3[] = {1, 2, 3}, l3[] = {4, 5, 6};

	/* Complete separation of 5 and 5: 2 of C(10,5) = 252 arrangements. */
	expect("separated 5+5", mwu(hi, 5, lo, 5), 2.0 / 252, 1e-12);
	expect("separated 5+5, other side", mwu(lo, 5, hi, 5), 2.0 / 252, 1e-12);
	/* Interleaved: U = 10 of 25, P(U <= 10) = 0.3452, two-sided 0.6905. */
	expect("interleaved 5+5", mwu(a, 5, b, 5), 0.690476, 1e-5);
	/* 3+3 can never reach 0.05: 2 / C(6,3) = 0.1. */
	expect("separated 3+3", mwu(l3, 3, s3, 3), 0.1, 1e-12);
	/* Ties (three 2s, three 3s): the normal approximation with the tie and
	   continuity corrections.  U = 3, mu = 8, sum(t^3 - t) = 48,
	   var = 16/12 * (9 - 48/56) = 10.857: z = 4.5/3.2950 = 1.3657, p = 0.1720. */
	expect("ties 4+4", mwu(t1, 4, t2, 4), 0.172034, 1e-5);
	/* The same values on both sides: nothing to see. */
	expect("identical", mwu(a, 5, a, 5), 1.0, 1e-12);
	/* Beyond the exact test: the same p as counting every pair. */
	large("ties 700+500, no shift", 700, 500, 0);
	large("ties 700+500, shifted", 700, 500, 2);
	large("ties 30+3000, shifted", 30, 3000, -1);
	if (!failed)
		printf("ok\n");
	return failed;
}
