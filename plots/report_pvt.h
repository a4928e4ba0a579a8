/* SPDX-License-Identifier: MIT */
/* Internals of `ipcbench report`: a run read into memory, the pictures, the writers. */
#ifndef IPCB_REPORT_PVT_H
#define IPCB_REPORT_PVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Latency statistics in the order of results.csv. */
enum rep_lat { LAT_MIN, LAT_MEAN, LAT_P50, LAT_P90, LAT_P99, LAT_P999, LAT_MAX, LAT_N };

/*
 * What a run's text columns may hold: rep_run_load refuses anything else, so
 * that no text of a results file can mean anything to gnuplot, HTML,
 * Markdown or CSV.  Placements (rep_placements) in order from near to far.
 */
#define REP_NPLACEMENTS	 8
#define REP_MAX_BACKENDS 64   /* distinct backends in one run */
#define REP_BACKEND_MAX	 32   /* characters of a backend name: [a-z][a-z0-9_-]* */
#define REP_MAX_PROCS	 4096 /* producers, consumers */

/* One row of results.csv: one cell of the matrix.  Numbers absent in the CSV are NAN. */
struct rep_cell {
	char *mode;    /* latency, throughput, floor, bare, rate, wakeup */
	char *backend; /* "floor" for the floor whatever the CSV says */
	char *placement;
	char *status; /* ok, skipped, failed, saturated (rate only) */
	char *note;   /* free text: only ever written escaped */
	long size;
	int producers, consumers; /* 1..REP_MAX_PROCS */
	double repetitions, messages, seconds, msgs_per_s, bytes_per_s, cv;
	double lat[LAT_N];
	/* CPU of all the cell's processes over the timed part (NAN: not measured, or an old run) */
	double cpu_ns;	 /* CPU ns per message, per round trip for latency, floor and bare cells */
	double cpu_util; /* CPU-seconds per wall-second: 2.0 is two cores busy */
	double csw;	 /* context switches per message or round trip */
	/* rate: offered messages/s (INFINITY: max); wakeup: idle gap in ns; 0 elsewhere */
	double offered, gap_ns;
	double achieved; /* rate, wakeup: messages/s the consumer got (NAN: none) */
	double batch;	 /* throughput: messages per batch call, 1: none; NAN otherwise */
	double *reps;	 /* per-repetition values of the cell's metric (benchmarks.json) */
	size_t nreps, capreps;
};

struct rep_hist {
	char *mode, *backend, *placement;
	long size;
	double bucket_ns, count;
};

struct rep_run {
	char *dir;
	struct rep_cell *cells;
	size_t ncells;
	struct rep_hist *hist;
	size_t nhist;
	const struct rep_cell **by_key; /* every cell sorted by rep_cell_same's key, then row */
	json_t *env;			/* NULL when env.json is absent */
	/* env.json's harness_ns_per_msg, checked and sorted by size (none in older runs) */
	long *harness_size;
	double *harness_ns;
	size_t nharness;
	bool have_cpu; /* results.csv has the CPU columns (cpu_ns_per_msg, cpu_util, csw_per_msg) */
	bool have_rate;	 /* results.csv has offered_rate, achieved_rate, gap_ns */
	bool have_bench; /* benchmarks.json with per-repetition values was read */
	bool have_hist;
	bool have_topology;
};

/* A line of explanation for the reader: why a picture is missing, what a fallback did. */
struct rep_notes {
	char **line;
	size_t n;
};

struct rep_picture {
	const char *name; /* file stem: NAME.svg, NAME.png */
	const char *title;
	bool drawn;
	bool png;      /* a PNG was drawn too */
	char why[512]; /* not drawn: the reason */
};

struct rep_compare_row {
	const struct rep_cell *base, *cur;
	const char *metric;  /* lat_p50_ns or msgs_per_s */
	double vbase, vcur;  /* the medians */
	double ratio;	     /* vcur / vbase */
	double speedup;	     /* > 1: the new run is faster */
	const char *verdict; /* faster, slower, within noise */
	double p;	     /* two-sided p of the rank test; NAN for other methods */
	char method[64];
};

struct rep_compare {
	const char *base_dir, *cur_dir;
	struct rep_compare_row *rows;
	size_t n;
	size_t only_cur, only_base, not_ok;
};

/* csv.c */
struct rep_csv {
	char **field; /* (nrows + 1) * ncols: the header, then nrows data rows */
	size_t nrows, ncols;
};
int rep_csv_read(struct rep_csv *csv, const char *path, char *err, size_t errlen);
int rep_csv_col(const struct rep_csv *csv, const char *name);
const char *rep_csv_get(const struct rep_csv *csv, size_t row, int col);
void rep_csv_free(struct rep_csv *csv);

/* run.c (rep_placements, rep_placement_index: run_csv.c) */
extern const char *const rep_placements[REP_NPLACEMENTS];
int rep_placement_index(const char *pl); /* -1 when not one of rep_placements */
int rep_run_load(struct rep_run *run, const char *dir, char *err, size_t errlen);
void rep_run_free(struct rep_run *run);
bool rep_cell_ok(const struct rep_cell *c);
bool rep_cell_same(const struct rep_cell *a, const struct rep_cell *b);
const struct rep_cell *rep_run_find(const struct rep_run *run, const struct rep_cell *key,
				    bool ok_only);
bool rep_lower_is_better(const struct rep_cell *c);
double rep_cell_metric(const struct rep_cell *c);
int rep_run_backends(const struct rep_run *run, char ***out, size_t *n);
const char *rep_main_placement(const struct rep_run *run, const char *mode);
const char *rep_env_str(const struct rep_run *run, const char *key, char *buf, size_t len);

/* draw.c */
int rep_draw_all(const struct rep_run *run, const struct rep_compare *cmp, const char *outdir,
		 const char *plots_dir, bool png, struct rep_picture **pics, size_t *npics);

/* gnuplot.c */
int rep_gnuplot(const char *outdir, const char *plots_dir, const char *script, const char *stem,
		bool png, char *why, size_t len);
bool rep_have_gnuplot(void); /* on PATH and executable */

/* report.c */
void rep_rm_tree(const char *path);
int rep_install(const char *dir, const char *tmp);

/* map.c: a directory written by `ipcbench map`, drawn as heatmaps */
bool rep_map_is(const char *dir);
int rep_map_report(const char *dir, const char *plots_dir, bool png);

/* compare.c */
int rep_compare_runs(const struct rep_run *cur, const struct rep_run *base, struct rep_compare *out,
		     struct rep_notes *notes);
void rep_compare_free(struct rep_compare *cmp);
int rep_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb, double *p);
int rep_compare_csv(const struct rep_compare *cmp, const char *path);

/* write_html.c, write_md.c */
int rep_write_html(const struct rep_run *run, const struct rep_run *base,
		   const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		   const struct rep_notes *notes, const char *path);
int rep_write_md(const struct rep_run *run, const struct rep_run *base,
		 const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		 const struct rep_notes *notes, const char *path);

/* util.c */
int rep_note(struct rep_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rep_notes_free(struct rep_notes *notes);
char *rep_strdup(const char *s);
const char *rep_basename(const char *path);
void rep_size_label(long size, char *buf, size_t len);
void rep_fmt_num(double v, char *buf, size_t len);
void rep_fmt_ns(double v, char *buf, size_t len);
void rep_fmt_bps(double v, char *buf, size_t len);
void rep_mode_label(const struct rep_cell *c, char *buf, size_t len);

#endif
