/* SPDX-License-Identifier: MIT */
/*
 * The pictures: for each, the data it needs is written as small CSV files
 * under report/data/, then its script plots/NAME.gp runs as
 * `gnuplot -e "in='data/NAME';out='NAME'" NAME.gp` in the report directory.
 * A picture without data is not drawn; the reason goes into the report.
 *
 * No text of a run ever becomes gnuplot code: NAME.vars (which the script
 * `load`s) holds numbers we format ourselves; every text (backend lists,
 * placement, run names, tic labels) goes into NAME.txt and NAME.tics, data
 * files the script reads with `stats` into string variables.  rep_run_load
 * has already refused any backend or placement outside its allow-lists.
 *
 * Here: the helpers every picture uses (draw_pvt.h) and the list of the
 * pictures; the pictures themselves are in draw_size.c (against size and
 * producers x consumers, overhead, CPU), draw_lat.c (percentiles,
 * placement, distribution), draw_rate.c and draw_compare.c; gnuplot.c runs
 * their scripts.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "draw_pvt.h"

/* A data function's error after a failed call: -errno (-EIO should errno not say). */
int data_err(void)
{
	return errno ? -errno : -EIO;
}

FILE *open_data(const struct draw_ctx *x, const char *name, const char *suffix)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/data/%s%s", x->outdir, name, suffix);
	return fopen(path, "w");
}

/*
 * Writes data/NAME.vars, which the script loads as code: numeric gnuplot
 * assignments "VAR = %g" only, N of them, given as name, value, name, ...
 */
int write_vars(const struct draw_ctx *x, const char *name, int n, ...)
{
	FILE *f = open_data(x, name, ".vars");
	va_list ap;

	if (!f)
		return -errno;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *var = va_arg(ap, const char *);
		double v = va_arg(ap, double);

		fprintf(f, "%s = %.9g\n", var, isfinite(v) ? v : 0.0);
	}
	va_end(ap);
	return fclose(f) ? -errno : 0;
}

/*
 * One field of a tab-separated data file that gnuplot reads as a string:
 * no tab or line break (they end the field), no double quote (gnuplot's
 * data reader takes it for quoting).  What it shows is only ever data.
 */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s == '"' ? '\'' : *s, f);
}

/*
 * Writes data/NAME.txt: the N strings a script reads with stats, on one line,
 * tab-separated, from column 2 on: column 1 is a fixed word, so that no text
 * can make the line a comment or a blank line.
 */
int write_text(const struct draw_ctx *x, const char *name, int n, ...)
{
	FILE *f = open_data(x, name, ".txt");
	va_list ap;

	if (!f)
		return -errno;
	fputs("text", f);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		fputc('\t', f);
		put_text(f, va_arg(ap, const char *));
	}
	va_end(ap);
	fputc('\n', f);
	return fclose(f) ? -errno : 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Sorted distinct sizes in SIZES[N]; returns how many. */
size_t uniq_sizes(long *sizes, size_t n)
{
	size_t k = 0;

	qsort(sizes, n, sizeof(*sizes), cmp_long);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || sizes[k - 1] != sizes[i])
			sizes[k++] = sizes[i];
	return k;
}

/* Opens data/NAME.tics: "position<TAB>label" lines that plots/tics.gp turns into tics. */
FILE *open_tics(const struct draw_ctx *x, const char *name)
{
	return open_data(x, name, ".tics");
}

void put_tic(FILE *f, double pos, const char *label)
{
	fprintf(f, "%.9g\t", pos);
	put_text(f, label);
	fputc('\n', f);
}

/*
 * The size axis: a tic at each size of SIZES[N] (sorted), and in XMIN, XMAX
 * a range a little wider than the data.  Returns 0 or -errno.
 */
static int size_axis(const struct draw_ctx *x, const char *name, const long *sizes, size_t n,
		     double *xmin, double *xmax)
{
	FILE *f = open_tics(x, name);

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		char l[32];

		rep_size_label(sizes[i], l, sizeof(l));
		put_tic(f, (double)sizes[i], l);
	}
	*xmin = n ? (double)sizes[0] / 1.6 : 1.0;
	*xmax = n ? (double)sizes[n - 1] * 1.6 : 2.0;
	return fclose(f) ? -errno : 0;
}

/* size_axis, and XMIN, XMAX in data/NAME.vars: the size axis of a picture.  0 or -errno. */
int size_axis_vars(const struct draw_ctx *x, const char *name, const long *sizes, size_t n)
{
	double xmin = 1, xmax = 2;

	if (size_axis(x, name, sizes, n, &xmin, &xmax) < 0)
		return -errno;
	return write_vars(x, name, 2, "XMIN", xmin, "XMAX", xmax);
}

const struct rep_cell *find_cell(const struct draw_ctx *x, const char *mode, const char *backend,
				 long size, int p, int c, const char *placement)
{
	struct rep_cell key = {.mode = (char *)mode,
			       .backend = (char *)backend,
			       .size = size,
			       .producers = p,
			       .consumers = c,
			       .placement = (char *)placement};

	return rep_run_find(x->run, &key, true);
}

/* Room for one entry per cell of the run (never on the stack: a run may have millions). */
void *per_cell(const struct draw_ctx *x, size_t size)
{
	return calloc(x->run->ncells + 1, size);
}

bool mode_is(const struct rep_cell *c, const char *mode)
{
	return strcmp(c->mode, mode) == 0;
}

/* An ok cell of MODE measured at PLACEMENT. */
bool ok_at(const struct rep_cell *c, const char *mode, const char *placement)
{
	return mode_is(c, mode) && rep_cell_ok(c) && !strcmp(c->placement, placement);
}

/*
 * The floor at PLACEMENT: one cache line bounced, the same whatever the
 * message size, so a run measures it at one size (64) and every size of a
 * queue is divided by it.  The floor at SIZE when the run has that.
 */
const struct rep_cell *find_floor(const struct draw_ctx *x, long size, const char *placement)
{
	const struct rep_cell *f = find_cell(x, "floor", "floor", size, 1, 1, placement);

	return f ? f : x->any_floor[rep_placement_index(placement)];
}

/* PREFER when it has ok cells of MODE, else the main placement of MODE. */
const char *choose_placement(const struct draw_ctx *x, const char *mode, const char *prefer)
{
	for (size_t i = 0; prefer && i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, mode, prefer))
			return prefer;
	}
	return rep_main_placement(x->run, mode);
}

/* 64 bytes when latency cells at PLACEMENT have it, else the smallest size they have. */
long choose_size(const struct draw_ctx *x, const char *mode, const char *placement)
{
	long best = -1;

	for (size_t i = 0; i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (!ok_at(c, mode, placement))
			continue;
		if (c->size == 64)
			return 64;
		if (best < 0 || c->size < best)
			best = c->size;
	}
	return best;
}

void add_word(char *list, size_t len, const char *w)
{
	size_t off = strlen(list);

	snprintf(list + off, len - off, "%s%s", off ? " " : "", w);
}

void fmt_val(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("?", f);
	else
		fprintf(f, "%.6g", v);
}

/* Opens data/NAME_BACKEND.csv, one line of a picture, and adds BACKEND to BLIST. */
FILE *open_series(const struct draw_ctx *x, const char *name, const char *backend, char *blist,
		  size_t len)
{
	char suf[300];
	FILE *f;

	snprintf(suf, sizeof(suf), "_%s.csv", backend);
	f = open_data(x, name, suf);
	if (f && blist)
		add_word(blist, len, backend);
	return f;
}

/* One row "X,A,B" of a series; "?" (gnuplot: missing) where a value is not a number. */
void put_row(FILE *f, long xv, double a, double b)
{
	fprintf(f, "%ld,", xv);
	fmt_val(f, a);
	fputc(',', f);
	fmt_val(f, b);
	fputc('\n', f);
}

/* A log axis bottom a decade boundary below V (ns), in seconds: bars need room under them. */
static double log_floor_s(double v_ns)
{
	if (!(v_ns > 0) || isinf(v_ns))
		return 1e-9;
	return pow(10, floor(log10(v_ns * 0.7))) * 1e-9;
}

/*
 * A bar chart's data: data/NAME.csv with a row per LABEL[NROWS] and a
 * column per line, V[row * NCOLS + col] (NAN: not measured), and YMIN in
 * data/NAME.vars: a log axis bottom under the smallest positive value.
 * Returns 0 or -errno.
 */
int write_bars(const struct draw_ctx *x, const char *name, const char *const *label, size_t nrows,
	       const double *v, size_t ncols)
{
	FILE *f = open_data(x, name, ".csv");
	double vmin = INFINITY;

	if (!f)
		return data_err();
	for (size_t r = 0; r < nrows; r++) {
		fputs(label[r], f);
		for (size_t c = 0; c < ncols; c++) {
			fputc(',', f);
			fmt_val(f, v[r * ncols + c]);
			if (v[r * ncols + c] > 0)
				vmin = fmin(vmin, v[r * ncols + c]);
		}
		fputc('\n', f);
	}
	if (fclose(f))
		return data_err();
	return write_vars(x, name, 1, "YMIN", log_floor_s(vmin));
}

/* Line B of a latency picture: backend B, and after the last backend (B == nbackends) the floor. */
const char *line_name(const struct draw_ctx *x, size_t b)
{
	return b < x->nbackends ? x->backends[b] : "floor";
}

const char *line_mode(const struct draw_ctx *x, size_t b)
{
	return b < x->nbackends ? "latency" : "floor";
}

/* The ok 1 x 1 cell of line B at SIZE and PL: a latency cell, or the floor's. */
const struct rep_cell *find_line(const struct draw_ctx *x, size_t b, long size, const char *pl)
{
	return find_cell(x, line_mode(x, b), line_name(x, b), size, 1, 1, pl);
}

/* Marks P not drawn, for the reason FMT.  Returns NOT_DRAWN. */
int not_drawn(struct rep_picture *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	p->drawn = false;
	return NOT_DRAWN;
}

static void plot(struct draw_ctx *x, struct rep_picture *p)
{
	if (rep_gnuplot(x->outdir, x->plots_dir, p->name, p->name, x->png, p->why, sizeof(p->why)) <
	    0)
		return;
	p->drawn = true;
	p->png = x->png;
}

bool lat_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->lat[LAT_P50];
	*b = c->lat[LAT_P99];
	return true;
}

/* Messages and bytes per second (bytes from the messages in an older run). */
bool tput_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->msgs_per_s;
	*b = isnan(c->bytes_per_s) ? c->msgs_per_s * (double)c->size : c->bytes_per_s;
	return true;
}

bool cpu_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->cpu_ns;
	*b = c->cpu_util;
	return c->cpu_ns > 0;
}

/* The distinct sizes of the cells of L that have a row, sorted, into SIZES (room for one per cell). */
size_t line_sizes(const struct draw_ctx *x, const struct lines *l, long *sizes)
{
	size_t n = 0;
	double a, b;

	for (size_t i = 0; i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, l->mode, l->pl) && c->producers == l->p && c->consumers == l->c &&
		    l->row(c, &a, &b))
			sizes[n++] = c->size;
	}
	return uniq_sizes(sizes, n);
}

/*
 * For each backend with a cell of L, data/NAME_BACKEND.csv: a row per size of
 * SIZES[N] where it has one; the backends drawn go into BLIST.  Returns 0 or -errno.
 */
int write_lines(const struct draw_ctx *x, const char *name, const struct lines *l,
		const long *sizes, size_t n, char *blist, size_t len)
{
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;

		for (size_t s = 0; s < n; s++) {
			const struct rep_cell *c =
				find_cell(x, l->mode, x->backends[b], sizes[s], l->p, l->c, l->pl);
			double va, vb;

			if (!c || !l->row(c, &va, &vb))
				continue;
			if (!f && !(f = open_series(x, name, x->backends[b], blist, len)))
				return data_err();
			put_row(f, c->size, va, vb);
		}
		if (f && fclose(f))
			return data_err();
	}
	return 0;
}

/*
 * The pictures in the order of the report.  Each data function writes the
 * picture's data and returns 0 (draw it), NOT_DRAWN (p->why says why) or
 * -errno (its data could not be written).
 */
static const struct picture {
	const char *name, *title;
	int (*data)(struct draw_ctx *x, struct rep_picture *p);
	bool compare; /* drawn with --compare only */
} pictures[] = {
	{"latency_vs_size", "Latency against message size", pic_latency_vs_size, false},
	{"throughput_vs_size", "Throughput against message size", pic_throughput_vs_size, false},
	{"throughput_vs_pc", "Throughput against producers × consumers", pic_throughput_vs_pc,
	 false},
	{"latency_percentiles", "Latency percentiles at one message size", pic_latency_percentiles,
	 false},
	{"placement", "Placement of the two processes", pic_placement, false},
	{"latency_cdf", "Latency distribution (CDF)", pic_latency_cdf, false},
	{"overhead", "Overhead against the bare mechanism and the floor", pic_overhead, false},
	{"cpu_per_msg", "CPU time per message against size", pic_cpu_per_msg, false},
	{"rate_latency", "One-way latency against offered rate", pic_rate_latency, false},
	{"wakeup_latency", "One-way latency of the first message after an idle gap",
	 pic_wakeup_latency, false},
	{"rate_cpu", "CPU time per message against offered rate", pic_rate_cpu, false},
	{"compare", "Comparison with the base run", pic_compare, true},
};

/* Writes the data of picture D and draws it.  Returns 0 or -ENOMEM. */
static int draw_one(struct draw_ctx *x, const struct picture *d)
{
	struct rep_picture *p = &x->pics[x->npics++];
	int ret;

	p->name = d->name;
	p->title = d->title;
	errno = 0;
	ret = d->data(x, p);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0)
		not_drawn(p, "cannot write its data: %s", strerror(-ret));
	else if (ret == 0)
		plot(x, p);
	return 0;
}

/*
 * Draws every picture of RUN (and of CMP when not NULL) into OUTDIR, data in
 * OUTDIR/data; *PICS (free it) says which were drawn.  Returns 0, -ENOENT
 * when gnuplot is not on PATH, -ENOMEM, or -errno when OUTDIR/data cannot
 * be made.  A picture that cannot be drawn is reported in PICS with its
 * reason, not as an error.
 */
int rep_draw_all(const struct rep_run *run, const struct rep_compare *cmp, const char *outdir,
		 const char *plots_dir, bool png, struct rep_picture **pics, size_t *npics)
{
	struct draw_ctx x = {
		.run = run, .cmp = cmp, .outdir = outdir, .plots_dir = plots_dir, .png = png};
	char path[4096];
	int ret = 0;

	*pics = NULL;
	*npics = 0;
	if (!rep_have_gnuplot())
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/data", outdir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	x.pics = calloc(sizeof(pictures) / sizeof(pictures[0]), sizeof(*x.pics));
	x.sizes = calloc(2 * run->ncells + 2, sizeof(*x.sizes));
	if (rep_run_backends(run, &x.backends, &x.nbackends) < 0 || !x.pics || !x.sizes)
		ret = -ENOMEM;
	x.placement = rep_main_placement(run, NULL);
	for (size_t i = run->ncells; i-- > 0;)
		if (mode_is(&run->cells[i], "floor") && rep_cell_ok(&run->cells[i]))
			x.any_floor[rep_placement_index(run->cells[i].placement)] = &run->cells[i];
	for (size_t i = 0; i < sizeof(pictures) / sizeof(pictures[0]) && ret == 0; i++)
		if (!pictures[i].compare || cmp)
			ret = draw_one(&x, &pictures[i]);
	free(x.backends);
	free(x.sizes);
	if (ret < 0) {
		free(x.pics);
		return ret;
	}
	*pics = x.pics;
	*npics = x.npics;
	return 0;
}
