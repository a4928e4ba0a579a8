/* SPDX-License-Identifier: MIT */
/*
 * The pictures of latency at one size: percentiles per backend, per
 * placement, and the distribution (CDF) from the histograms (draw.c has the
 * helpers and how a picture is drawn).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw_pvt.h"

int pic_latency_percentiles(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	static const struct {
		const char *label;
		enum rep_lat k;
	} pct[] = {{"p50", LAT_P50},
		   {"p90", LAT_P90},
		   {"p99", LAT_P99},
		   {"p99.9", LAT_P999},
		   {"max", LAT_MAX}};
	enum { NPCT = sizeof(pct) / sizeof(pct[0]) };
	const struct rep_cell *cols[REP_MAX_BACKENDS + 1];
	const char *labels[NPCT];
	double v[NPCT * (REP_MAX_BACKENDS + 1)];
	size_t ncols = 0;
	char blist[BLIST_LEN] = "", sl[32];
	long size;

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	size = choose_size(x, "latency", pl);
	for (size_t b = 0; b <= x->nbackends; b++) {
		const struct rep_cell *c = find_line(x, b, size, pl);

		if (c) {
			cols[ncols++] = c;
			add_word(blist, sizeof(blist), line_name(x, b));
		}
	}
	for (size_t k = 0; k < NPCT; k++) {
		labels[k] = pct[k].label;
		for (size_t b = 0; b < ncols; b++)
			v[k * ncols + b] = cols[b]->lat[pct[k].k];
	}
	rep_size_label(size, sl, sizeof(sl));
	if (write_bars(x, p->name, labels, NPCT, v, ncols) < 0 ||
	    write_text(x, p->name, 3, blist, pl, sl) < 0)
		return data_err();
	return 0;
}

int pic_placement(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	const char *pls[REP_NPLACEMENTS];
	bool have[REP_NPLACEMENTS] = {false}, use[REP_MAX_BACKENDS + 1];
	double v[REP_NPLACEMENTS * (REP_MAX_BACKENDS + 1)];
	size_t npl = 0, nuse = 0;
	char blist[BLIST_LEN] = "", sl[32];
	long size;

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	size = choose_size(x, "latency", pl);
	for (size_t i = 0; i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if ((mode_is(c, "latency") || mode_is(c, "floor")) && rep_cell_ok(c) &&
		    c->size == size)
			have[rep_placement_index(c->placement)] = true;
	}
	/* From near to far: the order of rep_placements. */
	for (size_t k = 0; k < REP_NPLACEMENTS; k++)
		if (have[k])
			pls[npl++] = rep_placements[k];
	if (npl < 2)
		return not_drawn(p, "the run measured one placement only (%s)", pl);
	/* A line for each backend (and the floor) measured at one of the placements at least. */
	for (size_t b = 0; b <= x->nbackends; b++) {
		use[b] = false;
		for (size_t k = 0; k < npl && !use[b]; k++)
			use[b] = find_line(x, b, size, pls[k]) != NULL;
		if (use[b]) {
			add_word(blist, sizeof(blist), line_name(x, b));
			nuse++;
		}
	}
	for (size_t k = 0; k < npl; k++)
		for (size_t b = 0, col = 0; b <= x->nbackends; b++) {
			const struct rep_cell *c = use[b] ? find_line(x, b, size, pls[k]) : NULL;

			if (use[b])
				v[k * nuse + col++] = c ? c->lat[LAT_P50] : NAN;
		}
	rep_size_label(size, sl, sizeof(sl));
	if (write_bars(x, p->name, pls, npl, v, nuse) < 0 ||
	    write_text(x, p->name, 2, blist, sl) < 0)
		return data_err();
	return 0;
}

struct bucket {
	double ub, count;
};

static int cmp_bucket(const void *a, const void *b)
{
	double x = ((const struct bucket *)a)->ub, y = ((const struct bucket *)b)->ub;

	return (x > y) - (x < y);
}

int pic_latency_cdf(struct draw_ctx *x, struct rep_picture *p)
{
	const struct rep_run *run = x->run;
	const char *pl = NULL;
	long size = -1;
	char blist[BLIST_LEN] = "", sl[32];

	if (!run->have_hist)
		return not_drawn(p, "the run has no histograms.csv");
	/* The placement of the other pictures when the histograms have it, and 64 B if there. */
	for (size_t i = 0; i < run->nhist; i++) {
		const struct rep_hist *h = &run->hist[i];

		if (strcmp(h->mode, "latency") && strcmp(h->mode, "floor"))
			continue;
		if (!pl || (x->placement && !strcmp(h->placement, x->placement)))
			pl = h->placement;
	}
	if (!pl)
		return not_drawn(p, "histograms.csv has no latency histogram");
	for (size_t i = 0; i < run->nhist; i++) {
		const struct rep_hist *h = &run->hist[i];

		if (!strcmp(h->placement, pl) && !strcmp(h->mode, "latency") &&
		    (size < 0 || h->size == 64 || (size != 64 && h->size < size)))
			size = h->size;
	}
	if (size < 0)
		return not_drawn(p, "histograms.csv has no latency histogram at %s", pl);
	struct bucket *bk = calloc(run->nhist + 1, sizeof(*bk));

	if (!bk)
		goto io;
	for (size_t b = 0; b <= x->nbackends; b++) {
		const char *name = line_name(x, b), *mode = line_mode(x, b);
		double total = 0, cum = 0;
		size_t n = 0;

		for (size_t i = 0; i < run->nhist; i++) {
			const struct rep_hist *h = &run->hist[i];

			if (strcmp(h->mode, mode) || strcmp(h->backend, name) || h->size != size ||
			    strcmp(h->placement, pl) || !(h->count > 0))
				continue;
			/* An overflow bucket (inf) counts, but has no place on the axis. */
			if (h->bucket_ns > 0 && !isinf(h->bucket_ns))
				bk[n++] = (struct bucket){h->bucket_ns, h->count};
			total += h->count;
		}
		if (n == 0 || total <= 0)
			continue;
		qsort(bk, n, sizeof(*bk), cmp_bucket);
		FILE *f = open_series(x, p->name, name, NULL, 0);

		if (!f) {
			free(bk);
			goto io;
		}
		/* Start at 0 one bucket below the first: steps rise at each upper bound. */
		fprintf(f, "%.6g,0\n", n > 1 ? bk[0].ub * bk[0].ub / bk[1].ub : bk[0].ub / 1.2);
		for (size_t i = 0; i < n; i++) {
			cum += bk[i].count;
			fprintf(f, "%.6g,%.6f\n", bk[i].ub, cum / total);
		}
		if (fclose(f)) {
			free(bk);
			goto io;
		}
		add_word(blist, sizeof(blist), name);
	}
	free(bk);
	if (!blist[0])
		return not_drawn(p, "histograms.csv has only empty latency histograms");
	rep_size_label(size, sl, sizeof(sl));
	if (write_text(x, p->name, 3, blist, pl, sl) < 0)
		goto io;
	return 0;
io:
	return data_err();
}
