/* SPDX-License-Identifier: MIT */
/*
 * Internals of the pictures shared by draw.c and the files of the pictures
 * (draw_size.c, draw_lat.c, draw_rate.c, draw_compare.c): the drawing
 * context and the helpers that find cells and write a picture's data
 * (numbers in .vars, texts in .txt, series in .csv).
 */
#ifndef IPCB_DRAW_PVT_H
#define IPCB_DRAW_PVT_H

#include "report_pvt.h"

/* A list of backends, space-separated: REP_MAX_BACKENDS names and the floor. */
#define BLIST_LEN ((REP_MAX_BACKENDS + 1) * (REP_BACKEND_MAX + 1) + 1)

/* What a picture's data function returns when the picture is not drawn (p->why says why). */
#define NOT_DRAWN 1

struct draw_ctx {
	const struct rep_run *run;
	const struct rep_compare *cmp;
	const char *outdir;
	const char *plots_dir;
	bool png;
	struct rep_picture *pics;
	size_t npics;
	char **backends; /* in drawing order, without the floor */
	size_t nbackends;
	const char *placement; /* the placement the one-placement pictures use */
	/* room for two sizes per cell, shared by the pictures (one at a time) */
	long *sizes;
	/* per placement, the first ok floor cell of the run: find_floor's fallback */
	const struct rep_cell *any_floor[REP_NPLACEMENTS];
};

/* A data function's error after a failed call: -errno (-EIO should errno not say). */
int data_err(void);
/* data/NAME SUFFIX, opened for writing; NULL with errno. */
FILE *open_data(const struct draw_ctx *x, const char *name, const char *suffix);
/* data/NAME.vars: N numeric assignments, given as name, value (double), ... */
int write_vars(const struct draw_ctx *x, const char *name, int n, ...);
/* data/NAME.txt: N strings on one tab-separated line, read by the script's stats. */
int write_text(const struct draw_ctx *x, const char *name, int n, ...);
/* PREFER when it has ok cells of MODE, else the main placement of MODE. */
const char *choose_placement(const struct draw_ctx *x, const char *mode, const char *prefer);
/* 64 bytes when ok MODE cells at PLACEMENT have it, else the smallest size they have; -1. */
long choose_size(const struct draw_ctx *x, const char *mode, const char *placement);
/* Appends word W to the space-separated LIST. */
void add_word(char *list, size_t len, const char *w);
/* V, or "?" (gnuplot: missing) where it is not a finite number. */
void fmt_val(FILE *f, double v);
/* data/NAME_BACKEND.csv, one line of a picture; adds BACKEND to BLIST (when not NULL). */
FILE *open_series(const struct draw_ctx *x, const char *name, const char *backend, char *blist,
		  size_t len);
/* Marks P not drawn, for the reason FMT.  Returns NOT_DRAWN. */
int not_drawn(struct rep_picture *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The two values of a line's row from cell C; false: C has none (no row). */
typedef bool (*row_fn)(const struct rep_cell *c, double *a, double *b);
bool lat_row(const struct rep_cell *c, double *a, double *b);  /* p50, p99 */
bool tput_row(const struct rep_cell *c, double *a, double *b); /* msgs/s, bytes/s */
bool cpu_row(const struct rep_cell *c, double *a, double *b);  /* CPU ns/msg, utilisation */

/* The cells of a picture's lines against size: ok MODE cells P x C at PL, each a row by ROW. */
struct lines {
	const char *mode, *pl;
	int p, c;
	row_fn row;
};
/* The distinct sizes of the cells of L that have a row, sorted, into SIZES. */
size_t line_sizes(const struct draw_ctx *x, const struct lines *l, long *sizes);
/* data/NAME_BACKEND.csv per backend with a cell of L, a row per size of SIZES[N]. */
int write_lines(const struct draw_ctx *x, const char *name, const struct lines *l,
		const long *sizes, size_t n, char *blist, size_t len);

/* The cell of MODE, BACKEND, SIZE, P x C at PLACEMENT, or NULL. */
const struct rep_cell *find_cell(const struct draw_ctx *x, const char *mode, const char *backend,
				 long size, int p, int c, const char *placement);
/* The floor at SIZE and PLACEMENT (its one size, else the run's first floor there). */
const struct rep_cell *find_floor(const struct draw_ctx *x, long size, const char *placement);
/* Room for one entry per cell of the run (calloc). */
void *per_cell(const struct draw_ctx *x, size_t size);
bool mode_is(const struct rep_cell *c, const char *mode); /* C's mode is MODE */
/* An ok cell of MODE measured at PLACEMENT. */
bool ok_at(const struct rep_cell *c, const char *mode, const char *placement);
/* Sorted distinct sizes in SIZES[N]; returns how many. */
size_t uniq_sizes(long *sizes, size_t n);
/* size_axis, and XMIN, XMAX in data/NAME.vars: the size axis of a picture.  0 or -errno. */
int size_axis_vars(const struct draw_ctx *x, const char *name, const long *sizes, size_t n);
/* data/NAME.tics, and one tic "POS LABEL" in it (LABEL as text, never code). */
FILE *open_tics(const struct draw_ctx *x, const char *name);
void put_tic(FILE *f, double pos, const char *label);
/* One row "X,A,B" of a series; "?" where a value is not a number. */
void put_row(FILE *f, long xv, double a, double b);
/* NROWS labelled rows of NCOLS values in data/NAME.csv, a log axis bottom in .vars. */
int write_bars(const struct draw_ctx *x, const char *name, const char *const *label, size_t nrows,
	       const double *v, size_t ncols);
/* Line B of a latency picture: backend B, after the last one the floor; its mode; its cell. */
const char *line_name(const struct draw_ctx *x, size_t b);
const char *line_mode(const struct draw_ctx *x, size_t b);
const struct rep_cell *find_line(const struct draw_ctx *x, size_t b, long size, const char *pl);

/* The pictures of draw_size.c, draw_lat.c and draw_compare.c. */
int pic_latency_vs_size(struct draw_ctx *x, struct rep_picture *p);
int pic_throughput_vs_size(struct draw_ctx *x, struct rep_picture *p);
int pic_throughput_vs_pc(struct draw_ctx *x, struct rep_picture *p);
int pic_overhead(struct draw_ctx *x, struct rep_picture *p);
int pic_cpu_per_msg(struct draw_ctx *x, struct rep_picture *p);
int pic_latency_percentiles(struct draw_ctx *x, struct rep_picture *p);
int pic_placement(struct draw_ctx *x, struct rep_picture *p);
int pic_latency_cdf(struct draw_ctx *x, struct rep_picture *p);
int pic_compare(struct draw_ctx *x, struct rep_picture *p);

/* draw_rate.c: the rate and wakeup pictures. */
int pic_rate_latency(struct draw_ctx *x, struct rep_picture *p);
int pic_wakeup_latency(struct draw_ctx *x, struct rep_picture *p);
int pic_rate_cpu(struct draw_ctx *x, struct rep_picture *p);

#endif
