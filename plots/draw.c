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
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
static size_t uniq_sizes(long *sizes, size_t n)
{
	size_t k = 0;

	qsort(sizes, n, sizeof(*sizes), cmp_long);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || sizes[k - 1] != sizes[i])
			sizes[k++] = sizes[i];
	return k;
}

/* Opens data/NAME.tics: "position<TAB>label" lines that plots/tics.gp turns into tics. */
static FILE *open_tics(const struct draw_ctx *x, const char *name)
{
	return open_data(x, name, ".tics");
}

static void put_tic(FILE *f, double pos, const char *label)
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
static int size_axis_vars(const struct draw_ctx *x, const char *name, const long *sizes, size_t n)
{
	double xmin = 1, xmax = 2;

	if (size_axis(x, name, sizes, n, &xmin, &xmax) < 0)
		return -errno;
	return write_vars(x, name, 2, "XMIN", xmin, "XMAX", xmax);
}

static const struct rep_cell *find(const struct draw_ctx *x, const char *mode, const char *backend,
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
static void *per_cell(const struct draw_ctx *x, size_t size)
{
	return calloc(x->run->ncells + 1, size);
}

static bool mode_is(const struct rep_cell *c, const char *mode)
{
	return strcmp(c->mode, mode) == 0;
}

/* An ok cell of MODE measured at PLACEMENT. */
static bool ok_at(const struct rep_cell *c, const char *mode, const char *placement)
{
	return mode_is(c, mode) && rep_cell_ok(c) && !strcmp(c->placement, placement);
}

/*
 * The floor at PLACEMENT: one cache line bounced, the same whatever the
 * message size, so a run measures it at one size (64) and every size of a
 * queue is divided by it.  The floor at SIZE when the run has that.
 */
static const struct rep_cell *find_floor(const struct draw_ctx *x, long size, const char *placement)
{
	const struct rep_cell *f = find(x, "floor", "floor", size, 1, 1, placement);

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
static void put_row(FILE *f, long xv, double a, double b)
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
static int write_bars(const struct draw_ctx *x, const char *name, const char *const *label,
		      size_t nrows, const double *v, size_t ncols)
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
static const char *line_name(const struct draw_ctx *x, size_t b)
{
	return b < x->nbackends ? x->backends[b] : "floor";
}

static const char *line_mode(const struct draw_ctx *x, size_t b)
{
	return b < x->nbackends ? "latency" : "floor";
}

/* The ok 1 x 1 cell of line B at SIZE and PL: a latency cell, or the floor's. */
static const struct rep_cell *find_line(const struct draw_ctx *x, size_t b, long size,
					const char *pl)
{
	return find(x, line_mode(x, b), line_name(x, b), size, 1, 1, pl);
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

/* Searches PATH for gnuplot.  Returns true when it is there and executable. */
bool rep_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static bool nonempty(const char *dir, const char *name, const char *ext)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	return stat(path, &st) == 0 && st.st_size > 0;
}

/* Runs plots/NAME.gp in the report directory; its output goes to data/NAME.log. */
/*
 * Runs SCRIPT.gp of PLOTS_DIR in OUTDIR as `gnuplot -e "in='data/STEM';
 * out='STEM';FORMATS=..."` (STEM: a name we made, never text of a run) and
 * checks that STEM.svg (and with PNG STEM.png) came out.  Returns 0, or -1
 * with WHY set to one line.
 */
int rep_gnuplot(const char *outdir, const char *plots_dir, const char *script, const char *stem,
		bool png, char *why, size_t len)
{
	char path[4096], expr[512], log[4096];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s.gp", plots_dir, script);
	snprintf(expr, sizeof(expr), "in='data/%s';out='%s';FORMATS='%s'", stem, stem,
		 png ? "svg png" : "svg");
	snprintf(log, sizeof(log), "%s/data/%s.log", outdir, stem);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || chdir(outdir) < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		/* common.gp and term.gp are found through gnuplot's load path. */
		setenv("GNUPLOT_LIB", plots_dir, 1);
		execlp("gnuplot", "gnuplot", "-e", expr, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, len, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !nonempty(outdir, stem, "svg") ||
	    (png && !nonempty(outdir, stem, "png"))) {
		snprintf(why, len, "gnuplot failed on %s.gp (see data/%s.log)", script, stem);
		return -1;
	}
	/* Keep the log only when gnuplot had something to say. */
	struct stat st;

	if (stat(log, &st) == 0 && st.st_size == 0)
		unlink(log);
	return 0;
}

static void plot(struct draw_ctx *x, struct rep_picture *p)
{
	if (rep_gnuplot(x->outdir, x->plots_dir, p->name, p->name, x->png, p->why, sizeof(p->why)) <
	    0)
		return;
	p->drawn = true;
	p->png = x->png;
}

/* The two values of a line's row from cell C; false: C has none (no row). */
typedef bool (*row_fn)(const struct rep_cell *c, double *a, double *b);

static bool lat_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->lat[LAT_P50];
	*b = c->lat[LAT_P99];
	return true;
}

/* Messages and bytes per second (bytes from the messages in an older run). */
static bool tput_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->msgs_per_s;
	*b = isnan(c->bytes_per_s) ? c->msgs_per_s * (double)c->size : c->bytes_per_s;
	return true;
}

static bool cpu_row(const struct rep_cell *c, double *a, double *b)
{
	*a = c->cpu_ns;
	*b = c->cpu_util;
	return c->cpu_ns > 0;
}

/* The cells of a picture's lines against size: ok MODE cells P x C at PL, each a row by ROW. */
struct lines {
	const char *mode, *pl;
	int p, c;
	row_fn row;
};

/* The distinct sizes of the cells of L that have a row, sorted, into SIZES (room for one per cell). */
static size_t line_sizes(const struct draw_ctx *x, const struct lines *l, long *sizes)
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
static int write_lines(const struct draw_ctx *x, const char *name, const struct lines *l,
		       const long *sizes, size_t n, char *blist, size_t len)
{
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;

		for (size_t s = 0; s < n; s++) {
			const struct rep_cell *c =
				find(x, l->mode, x->backends[b], sizes[s], l->p, l->c, l->pl);
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

static int pic_latency_vs_size(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	struct lines l = {"latency", pl, 1, 1, lat_row}, fl = {"floor", pl, 1, 1, lat_row};
	long *sizes = x->sizes, *fsizes = x->sizes + x->run->ncells;
	size_t ns, nfs;
	char blist[BLIST_LEN] = "";

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	ns = line_sizes(x, &l, sizes);
	if (write_lines(x, p->name, &l, sizes, ns, blist, sizeof(blist)) < 0)
		goto io;
	/* The floor, per size where measured; measured at one size only, it is drawn across. */
	nfs = line_sizes(x, &fl, fsizes);
	if (nfs > 0) {
		FILE *f = open_data(x, p->name, "_floor.csv");
		const struct rep_cell *last = NULL;

		if (!f)
			goto io;
		for (size_t i = 0; i < nfs; i++) {
			last = find(x, "floor", "floor", fsizes[i], 1, 1, pl);
			if (last)
				put_row(f, last->size, last->lat[LAT_P50], last->lat[LAT_P99]);
		}
		if (nfs == 1 && last && ns > 1) {
			for (size_t i = 0; i < 2; i++)
				put_row(f, sizes[i ? ns - 1 : 0], last->lat[LAT_P50],
					last->lat[LAT_P99]);
		}
		if (fclose(f))
			goto io;
		add_word(blist, sizeof(blist), "floor");
	}
	if (size_axis_vars(x, p->name, sizes, ns) < 0 || write_text(x, p->name, 2, blist, pl) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

static int pic_throughput_vs_size(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "throughput", x->placement);
	long *sizes = x->sizes;
	size_t ns = 0;
	int pp = 1, cc = 1;
	char blist[BLIST_LEN] = "", pc[32];

	if (!pl)
		return not_drawn(p, "no throughput cell measured");
	/* One producer and one consumer when measured, else the first P x C there is. */
	bool have11 = false;

	for (size_t i = 0; i < x->run->ncells && !have11; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, "throughput", pl)) {
			if (c->producers == 1 && c->consumers == 1)
				have11 = true;
			else if (pp == 1 && cc == 1)
				pp = c->producers, cc = c->consumers;
		}
	}
	if (have11)
		pp = cc = 1;
	struct lines l = {"throughput", pl, pp, cc, tput_row};

	ns = line_sizes(x, &l, sizes);
	if (write_lines(x, p->name, &l, sizes, ns, blist, sizeof(blist)) < 0)
		goto io;
	snprintf(pc, sizeof(pc), "%dx%d", pp, cc);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 ||
	    write_text(x, p->name, 3, blist, pl, pc) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

struct pc {
	long size;
	int p, c;
};

/* By size, then by P x C (products at most 4096 x 4096: no overflow), P, C. */
static int cmp_pc(const void *a, const void *b)
{
	const struct pc *x = a, *y = b;

	if (x->size != y->size)
		return (x->size > y->size) - (x->size < y->size);
	if (x->p * x->c != y->p * y->c)
		return x->p * x->c - y->p * y->c;
	return x->p != y->p ? x->p - y->p : x->c - y->c;
}

/*
 * The distinct (size, P x C) of ok throughput cells at PL, sorted, into OUT
 * (room for one per cell).  Returns how many.
 */
static size_t pcs_at(const struct draw_ctx *x, const char *pl, struct pc *out)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, "throughput", pl))
			out[n++] = (struct pc){c->size, c->producers, c->consumers};
	}
	qsort(out, n, sizeof(*out), cmp_pc);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || cmp_pc(&out[k - 1], &out[i]))
			out[k++] = out[i];
	return k;
}

static int pic_throughput_vs_pc(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "throughput", x->placement);
	struct pc *all, *pcs = NULL;
	size_t npc = 0, nall;
	char blist[BLIST_LEN] = "", sl[32];

	if (!pl)
		return not_drawn(p, "no throughput cell measured");
	all = per_cell(x, sizeof(*all));
	if (!all)
		goto io;
	nall = pcs_at(x, pl, all);
	/* The size with the most P x C, 64 bytes among equals, else the smallest. */
	for (size_t i = 0, j; i < nall; i = j) {
		for (j = i; j < nall && all[j].size == all[i].size;)
			j++;
		if (j - i > npc || (j - i == npc && all[i].size == 64)) {
			npc = j - i;
			pcs = &all[i];
		}
	}
	if (npc < 2) {
		free(all);
		return not_drawn(p, "the run has one producers × consumers configuration only");
	}
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;

		for (size_t k = 0; k < npc; k++) {
			const struct rep_cell *c = find(x, "throughput", x->backends[b],
							pcs[0].size, pcs[k].p, pcs[k].c, pl);

			if (!c)
				continue;
			if (!f &&
			    !(f = open_series(x, p->name, x->backends[b], blist, sizeof(blist))))
				goto io;
			fprintf(f, "%zu,%dx%d,", k, pcs[k].p, pcs[k].c);
			fmt_val(f, c->msgs_per_s);
			fputc('\n', f);
		}
		if (f && fclose(f))
			goto io;
	}
	FILE *t = open_tics(x, p->name);

	if (!t)
		goto io;
	for (size_t k = 0; k < npc; k++) {
		char l[32];

		snprintf(l, sizeof(l), "%d×%d", pcs[k].p, pcs[k].c);
		put_tic(t, (double)k, l);
	}
	if (fclose(t))
		goto io;
	rep_size_label(pcs[0].size, sl, sizeof(sl));
	if (write_vars(x, p->name, 2, "XMIN", -0.4, "XMAX", (double)npc - 0.6) < 0 ||
	    write_text(x, p->name, 3, blist, pl, sl) < 0)
		goto io;
	free(all);
	return 0;
io:
	free(all);
	return data_err();
}

static int pic_latency_percentiles(struct draw_ctx *x, struct rep_picture *p)
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

static int pic_placement(struct draw_ctx *x, struct rep_picture *p)
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

static int pic_latency_cdf(struct draw_ctx *x, struct rep_picture *p)
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

static int pic_overhead(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	long *sizes = x->sizes;
	size_t ns = 0;
	char bb[BLIST_LEN] = "", bf[BLIST_LEN] = "";

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;
		bool vs_bare = false, vs_floor = false;

		for (size_t i = 0; i < x->run->ncells; i++) {
			const struct rep_cell *c = &x->run->cells[i], *bare, *floor;

			if (!ok_at(c, "latency", pl) || strcmp(c->backend, x->backends[b]) ||
			    c->producers != 1 || c->consumers != 1)
				continue;
			bare = find(x, "bare", c->backend, c->size, 1, 1, pl);
			floor = find_floor(x, c->size, pl);
			if (!bare && !floor)
				continue;
			if (!f && !(f = open_series(x, p->name, x->backends[b], NULL, 0)))
				goto io;
			put_row(f, c->size, bare ? c->lat[LAT_P50] / bare->lat[LAT_P50] : NAN,
				floor ? c->lat[LAT_P50] / floor->lat[LAT_P50] : NAN);
			vs_bare |= bare != NULL;
			vs_floor |= floor != NULL;
			sizes[ns++] = c->size;
		}
		if (f && fclose(f))
			goto io;
		if (vs_bare)
			add_word(bb, sizeof(bb), x->backends[b]);
		if (vs_floor)
			add_word(bf, sizeof(bf), x->backends[b]);
	}
	if (!bb[0] && !bf[0])
		return not_drawn(p, "the run has neither bare-mechanism nor floor cells at %s", pl);
	ns = uniq_sizes(sizes, ns);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 || write_text(x, p->name, 3, bb, bf, pl) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

/*
 * One panel of cpu_per_msg: for each backend, data/NAME_BACKEND.csv with
 * size,cpu_ns,cpu_util of its ok 1 x 1 MODE cells at PL that have a CPU
 * figure, sorted by size; the backends drawn go into BLIST, the sizes into
 * SIZES from *NS on.  Returns 0 or -errno.
 */
static int cpu_panel(struct draw_ctx *x, const char *name, const char *mode, const char *pl,
		     char *blist, size_t len, long *sizes, size_t *ns)
{
	struct lines l = {mode, pl, 1, 1, cpu_row};
	size_t n = pl ? line_sizes(x, &l, sizes + *ns) : 0;
	int ret = write_lines(x, name, &l, sizes + *ns, n, blist, len);

	*ns += n;
	return ret;
}

/*
 * CPU time of all a cell's processes per message against size: latency
 * cells (per round trip) on the left, 1 x 1 throughput cells on the right,
 * each at its own main placement.
 */
static int pic_cpu_per_msg(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pll = choose_placement(x, "latency", x->placement);
	const char *plt = choose_placement(x, "throughput", x->placement);
	char bl[BLIST_LEN] = "", bt[BLIST_LEN] = "";
	long *sizes = x->sizes;
	size_t ns = 0;

	if (!x->run->have_cpu)
		return not_drawn(p, "the run has no CPU columns");
	if (cpu_panel(x, "cpu_per_msg_lat", "latency", pll, bl, sizeof(bl), sizes, &ns) < 0 ||
	    cpu_panel(x, "cpu_per_msg_tput", "throughput", plt, bt, sizeof(bt), sizes, &ns) < 0)
		goto io;
	if (!bl[0] && !bt[0])
		return not_drawn(p, "no ok latency or 1×1 throughput cell has CPU values");
	ns = uniq_sizes(sizes, ns);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 ||
	    write_text(x, p->name, 4, bl, bt, pll ? pll : "", plt ? plt : "") < 0)
		goto io;
	return 0;
io:
	return data_err();
}

static const char *mode_short(const char *mode)
{
	return !strcmp(mode, "latency") ? "lat" : !strcmp(mode, "throughput") ? "tput" : mode;
}

static int pic_compare(struct draw_ctx *x, struct rep_picture *p)
{
	const struct rep_compare *cmp = x->cmp;
	bool many_pl = false;
	double ymax = 2;
	FILE *f, *t;

	if (cmp->n == 0)
		return not_drawn(p, "no cell measured in both runs");
	for (size_t i = 1; i < cmp->n; i++)
		many_pl |= strcmp(cmp->rows[i].cur->placement, cmp->rows[0].cur->placement) != 0;
	f = open_data(x, p->name, ".csv");
	if (!f)
		goto io;
	t = open_tics(x, p->name);
	if (!t) {
		fclose(f);
		goto io;
	}
	for (size_t i = 0; i < cmp->n; i++) {
		const struct rep_compare_row *r = &cmp->rows[i];
		const struct rep_cell *c = r->cur;
		unsigned rgb = !strcmp(r->verdict, "faster")   ? 0x009E73
			       : !strcmp(r->verdict, "slower") ? 0xD55E00
							       : 0xBBBBBB;
		char sl[32], pc[32] = "", ml[48], label[200];

		fprintf(f, "%zu,", i);
		fmt_val(f, r->speedup);
		fprintf(f, ",%u\n", rgb);
		if (isfinite(r->speedup) && r->speedup > 0)
			ymax = fmax(ymax, 1.4 * fmax(r->speedup, 1 / r->speedup));
		rep_size_label(c->size, sl, sizeof(sl));
		if (c->producers != 1 || c->consumers != 1)
			snprintf(pc, sizeof(pc), " %dx%d", c->producers, c->consumers);
		/* rate and wakeup cells: one per rate or gap, told apart by it */
		rep_mode_label(c, ml, sizeof(ml));
		snprintf(label, sizeof(label), "%s %s %s%s%s%s",
			 c->offered || c->gap_ns ? ml : mode_short(c->mode), c->backend, sl, pc,
			 many_pl ? " " : "", many_pl ? c->placement : "");
		put_tic(t, (double)i, label);
	}
	if (fclose(t)) {
		fclose(f);
		goto io;
	}
	if (fclose(f) || write_vars(x, p->name, 2, "NCELLS", (double)cmp->n, "YMAX", ymax) < 0 ||
	    write_text(x, p->name, 2, rep_basename(cmp->base_dir), rep_basename(cmp->cur_dir)) < 0)
		goto io;
	return 0;
io:
	return data_err();
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
