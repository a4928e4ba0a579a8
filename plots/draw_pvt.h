/* SPDX-License-Identifier: MIT */
/*
 * Internals of the pictures shared by draw.c and the files of further
 * pictures (draw_rate.c): the drawing context and the helpers that write a
 * picture's data (numbers in .vars, texts in .txt, series in .csv).
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

/* draw_rate.c: the rate and wakeup pictures. */
int pic_rate_latency(struct draw_ctx *x, struct rep_picture *p);
int pic_wakeup_latency(struct draw_ctx *x, struct rep_picture *p);
int pic_rate_cpu(struct draw_ctx *x, struct rep_picture *p);

#endif
