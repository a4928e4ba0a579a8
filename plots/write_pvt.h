/* SPDX-License-Identifier: MIT */
/*
 * Private to the page writers (write.c, write_html.c, write_md.c): one
 * model of tables and sections, written by two formats.
 */
#ifndef IPCB_WRITE_PVT_H
#define IPCB_WRITE_PVT_H

#include <stdbool.h>
#include <stdio.h>

#include "report_pvt.h"

/* At a glance: one row per backend at one size and placement. */
struct glance_row {
	const char *backend;
	const struct rep_cell *lat, *tput; /* either may be NULL or not ok */
	double vs_floor;
};

struct glance {
	const char *placement;
	long size;
	struct glance_row row[64];
	size_t n;
};

/* Escapes text for one writer: html_esc or md_esc. */
typedef void (*esc_fn)(FILE *f, const char *s);

/* ---- Tables: one model, written as HTML or Markdown ---- */

#define TAB_MAXCOLS 20

/* A table's columns: their headers (none: NULL), and which hold numbers (right-aligned). */
struct tab {
	size_t ncols;
	const char *head[TAB_MAXCOLS];
	bool num[TAB_MAXCOLS];
	bool row_head; /* the first column names the row (HTML: <th>) */
};

/* One row of a table: its texts, each written escaped, and how they stand out. */
struct tab_row {
	const char *text[TAB_MAXCOLS];
	const char *cls[TAB_MAXCOLS]; /* HTML: the cell's class (numbers: "n" when NULL) */
	bool strong[TAB_MAXCOLS];     /* Markdown: in bold */
	const char *row_cls;	      /* HTML: the row's class */
};

/* How one format writes text, a paragraph, and a table of the model above. */
struct writer {
	void (*esc)(FILE *f, const char *s);
	void (*head)(FILE *f, const struct writer *w, const struct tab *t);
	void (*row)(FILE *f, const struct writer *w, const struct tab *t, const struct tab_row *r);
	const char *tab_end;		  /* after the last row */
	const char *h2;			  /* a section's heading: a format with one %s */
	const char *p_open, *p_end;	  /* around a paragraph */
	const char *why_open, *why_end;	  /* around a paragraph that says what is missing */
	const char *warn_open, *warn_end; /* around a warning */
	const char *ul_open, *ul_end, *li_open, *li_end; /* a list and its items */
};

/* What both pages show. */
struct page {
	const struct rep_run *run, *base; /* base: NULL without --compare */
	const struct rep_compare *cmp;
	const struct rep_picture *pics;
	size_t npics;
	const struct rep_notes *notes;
	struct glance glance;
};

/* The sections of both pages, through @w. */
void env_section(FILE *f, const struct writer *w, const struct rep_run *run);
void notes_section(FILE *f, const struct writer *w, const struct rep_notes *notes);
void results_table(FILE *f, const struct writer *w, const struct rep_run *run);
void glance_table(FILE *f, const struct writer *w, const struct rep_run *run,
		  const struct glance *g);
void harness_section(FILE *f, const struct writer *w, const struct rep_run *run);
void compare_table(FILE *f, const struct writer *w, const struct rep_compare *cmp);
/* "N cells: N ok, N skipped, N failed[, N saturated]" */
void counts_line(const struct rep_run *run, char *buf, size_t len);
/* The comparison in one sentence: how many cells faster, slower, within noise. */
void cmp_summary(const struct rep_compare *cmp, char *buf, size_t len);

/* Writes PATH with PAGE (html_page, md_page).  Returns 0 or -errno. */
int write_page(const char *path, void (*page)(FILE *f, const struct page *pg),
	       const struct rep_run *run, const struct rep_run *base, const struct rep_compare *cmp,
	       const struct rep_picture *pics, size_t npics, const struct rep_notes *notes);

#endif /* IPCB_WRITE_PVT_H */
