/* SPDX-License-Identifier: MIT */
/* The rank test behind `report --compare`, against values computed by hand. */
#include <math.h>
#include <stdio.h>

#include "report_pvt.h"

static int failed;

static void expect(const char *what, double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol)) {
		printf("FAIL %s: p = %.6g, want %.6g\n", what, got, want);
		failed = 1;
	}
}

int main(void)
{
	const double lo[] = {1, 2, 3, 4, 5}, hi[] = {6, 7, 8, 9, 10};
	const double a[] = {1, 3, 5, 7, 9}, b[] = {2, 4, 6, 8, 10};
	const double t1[] = {1, 2, 2, 3}, t2[] = {2, 3, 3, 4};
	const double s3[] = {1, 2, 3}, l3[] = {4, 5, 6};

	/* Complete separation of 5 and 5: 2 of C(10,5) = 252 arrangements. */
	expect("separated 5+5", rep_mann_whitney_p(hi, 5, lo, 5), 2.0 / 252, 1e-12);
	expect("separated 5+5, other side", rep_mann_whitney_p(lo, 5, hi, 5), 2.0 / 252, 1e-12);
	/* Interleaved: U = 10 of 25, P(U <= 10) = 0.3452, two-sided 0.6905. */
	expect("interleaved 5+5", rep_mann_whitney_p(a, 5, b, 5), 0.690476, 1e-5);
	/* 3+3 can never reach 0.05: 2 / C(6,3) = 0.1. */
	expect("separated 3+3", rep_mann_whitney_p(l3, 3, s3, 3), 0.1, 1e-12);
	/* Ties (three 2s, three 3s): the normal approximation with the tie and
	   continuity corrections.  U = 3, mu = 8, sum(t^3 - t) = 48,
	   var = 16/12 * (9 - 48/56) = 10.857: z = 4.5/3.2950 = 1.3657, p = 0.1720. */
	expect("ties 4+4", rep_mann_whitney_p(t1, 4, t2, 4), 0.172034, 1e-5);
	/* The same values on both sides: nothing to see. */
	expect("identical", rep_mann_whitney_p(a, 5, a, 5), 1.0, 1e-12);
	if (!failed)
		printf("ok\n");
	return failed;
}
