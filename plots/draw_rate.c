/* SPDX-License-Identifier: MIT */
/*
 * The pictures of the rate and wakeup modes: one-way latency (p50, p99)
 * against offered rate (the "hockey stick", saturated cells marked), against
 * the idle gap, and CPU per message against offered rate; a line per
 * backend, at one size and one placement.  Data as draw.c writes it:
 * numbers in .vars and .csv, texts in .txt (draw_pvt.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw_pvt.h"

/* What one picture draws: the cells of MODE at PL and SIZE, 1 x 1. */
struct load_pic {
	const char *mode, *pl;
	long size;
	bool cpu; /* y: CPU per message (else p50 and p99) */
	double xmin, xmax, ymax;
};

/* The x of a cell: its idle gap (wakeup), its offered rate, or for max the rate it reached. */
static double load_x(const struct rep_cell *c)
{
	if (!strcmp(c->mode, "wakeup"))
		return c->gap_ns;
	return isinf(c->offered) ? c->achieved : c->offered;
}

static bool in_pic(const struct rep_cell *c, const struct load_pic *l, const char *backend)
{
	return !strcmp(c->mode, l->mode) && !strcmp(c->placement, l->pl) && c->size == l->size &&
	       c->producers == 1 && c->consumers == 1 && (!backend || !strcmp(c->backend, backend));
}

static bool is_saturated(const struct rep_cell *c)
{
	return !strcmp(c->status, "saturated") && isfinite(c->offered) && c->offered > 0;
}

static int cmp_x(const void *a, const void *b)
{
	double x = load_x(*(const struct rep_cell *const *)a);
	double y = load_x(*(const struct rep_cell *const *)b);

	return (x > y) - (x < y);
}

static void put_xy(FILE *f, double xv, double a, double b)
{
	fmt_val(f, xv);
	fputc(',', f);
	fmt_val(f, a);
	fputc(',', f);
	fmt_val(f, b);
	fputc('\n', f);
}

static void widen(struct load_pic *l, double xv, double yv)
{
	if (xv > 0 && isfinite(xv)) {
		l->xmin = fmin(l->xmin, xv);
		l->xmax = fmax(l->xmax, xv);
	}
	if (yv > 0 && isfinite(yv))
		l->ymax = fmax(l->ymax, yv);
}

/*
 * One series per backend: data/NAME_B.csv (x,p50,p99 or x,cpu_ns,cpu_util
 * of its ok cells, by x); for rate, data/NAME-max_B.csv (its max cell) and
 * data/NAME-sat_B.csv (the offered rates it did not carry).  The backends
 * of each kind go into BL, BM and BS.  Returns 0 or -errno.
 */
static int write_series(struct draw_ctx *x, const char *name, struct load_pic *l, char *bl,
			char *bm, char *bs, const struct rep_cell **cells)
{
	char mname[64], sname[64];

	snprintf(mname, sizeof(mname), "%s-max", name);
	snprintf(sname, sizeof(sname), "%s-sat", name);
	for (size_t b = 0; b < x->nbackends; b++) {
		size_t n = 0;
		FILE *f = NULL, *fm = NULL, *fs = NULL;

		for (size_t i = 0; i < x->run->ncells; i++)
			if (in_pic(&x->run->cells[i], l, x->backends[b]))
				cells[n++] = &x->run->cells[i];
		qsort(cells, n, sizeof(*cells), cmp_x);
		for (size_t i = 0; i < n; i++) {
			const struct rep_cell *c = cells[i];
			double ya = l->cpu ? c->cpu_ns : c->lat[LAT_P50];
			double yb = l->cpu ? c->cpu_util : c->lat[LAT_P99];

			if (is_saturated(c) && !l->cpu) {
				if (!fs &&
				    !(fs = open_series(x, sname, x->backends[b], bs, BLIST_LEN)))
					goto io;
				put_xy(fs, c->offered, NAN, NAN);
				widen(l, c->offered, NAN);
				continue;
			}
			if (!rep_cell_ok(c) || !(ya > 0) || !(load_x(c) > 0))
				continue;
			if (!f && !(f = open_series(x, name, x->backends[b], bl, BLIST_LEN)))
				goto io;
			put_xy(f, load_x(c), ya, yb);
			widen(l, load_x(c), l->cpu ? ya : yb);
			if (!isinf(c->offered))
				continue;
			if (!fm && !(fm = open_series(x, mname, x->backends[b], bm, BLIST_LEN)))
				goto io;
			put_xy(fm, load_x(c), ya, yb);
		}
		if ((f && fclose(f)) | (fm && fclose(fm)) | (fs && fclose(fs)))
			return data_err();
		continue;
	io:
		if (f)
			fclose(f);
		if (fm)
			fclose(fm);
		if (fs)
			fclose(fs);
		return data_err();
	}
	return 0;
}

/* The picture P of MODE's cells: its series, XMIN, XMAX, SATY, and its texts. */
static int load_picture(struct draw_ctx *x, struct rep_picture *p, const char *mode, bool cpu)
{
	struct load_pic l = {.mode = mode, .cpu = cpu, .xmin = INFINITY, .xmax = 0, .ymax = 0};
	char bl[BLIST_LEN] = "", bm[BLIST_LEN] = "", bs[BLIST_LEN] = "", sl[32];
	const struct rep_cell **cells;
	int ret;

	if (cpu && !x->run->have_cpu)
		return not_drawn(p, "the run has no CPU columns");
	l.pl = choose_placement(x, mode, x->placement);
	if (!l.pl)
		return not_drawn(p, "the run has no ok %s cell", mode);
	l.size = choose_size(x, mode, l.pl);
	cells = calloc(x->run->ncells + 1, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	ret = write_series(x, p->name, &l, bl, bm, bs, cells);
	free(cells);
	if (ret < 0)
		return ret;
	if (!bl[0] && !bs[0])
		return not_drawn(p, "no ok %s cell at %s has a%s value", mode, l.pl,
				 cpu ? " CPU" : " latency");
	if (!(l.ymax > 0))
		l.ymax = 1e3;
	rep_size_label(l.size, sl, sizeof(sl));
	/* Saturated rates are marked above every latency drawn: they have none. */
	if (write_vars(x, p->name, 3, "XMIN", l.xmin / 1.6, "XMAX", l.xmax * 1.6, "SATY",
		       l.ymax * 3e-9) < 0 ||
	    write_text(x, p->name, 5, bl, bm, bs, l.pl, sl) < 0)
		return data_err();
	return 0;
}

int pic_rate_latency(struct draw_ctx *x, struct rep_picture *p)
{
	return load_picture(x, p, "rate", false);
}

int pic_wakeup_latency(struct draw_ctx *x, struct rep_picture *p)
{
	return load_picture(x, p, "wakeup", false);
}

int pic_rate_cpu(struct draw_ctx *x, struct rep_picture *p)
{
	return load_picture(x, p, "rate", true);
}
