/* SPDX-License-Identifier: MIT */
/*
 * A run's results.csv and histograms.csv, read strictly (run_pvt.h): the
 * columns of columns.h by name, every value checked, the first bad one
 * refused with its file, row, column and what is allowed.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "run_pvt.h"

/* The columns of columns.h, by name (a run may have them in any order). */
static const char *const result_cols[] = {IPCB_RESULT_COLUMNS(IPCB_COL_NAME)};
static const char *const cpu_cols[] = {IPCB_CPU_COLUMNS(IPCB_COL_NAME)};
static const char *const rate_cols[] = {IPCB_RATE_COLUMNS(IPCB_COL_NAME)};
static const char *const batch_cols[] = {IPCB_BATCH_COLUMNS(IPCB_COL_NAME)};
static const char *const hist_cols[] = {IPCB_HIST_COLUMNS(IPCB_COL_NAME)};

const char *const run_modes[] = {"latency", "throughput", "floor", "bare", "rate", "wakeup"};
static const char *const statuses[] = {"ok", "skipped", "failed", "saturated"};
const char *const rep_placements[REP_NPLACEMENTS] = {
	"same-cpu", "smt", "same-l2", "same-l3", "cross-l3", "cross-numa", "cross-package", "none"};

int run_index_of(const char *const *set, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, set[i]))
			return (int)i;
	return -1;
}

int rep_placement_index(const char *pl)
{
	return run_index_of(rep_placements, REP_NPLACEMENTS, pl);
}

/* Empty: NAN.  Otherwise the whole field must be a number. */
static int parse_num(const char *s, double *out)
{
	char *end;

	if (!*s) {
		*out = NAN;
		return 0;
	}
	errno = 0;
	*out = strtod(s, &end);
	while (*end == ' ')
		end++;
	return (*end || errno == ERANGE) ? -EINVAL : 0;
}

/*
 * A CPU figure: empty (not measured: NAN), else a finite number >= 0.
 * Anything else is refused, not run_shown as missing: a run that says "inf" CPU
 * per message is broken, and the reader should hear so.
 */
static int parse_cpu(const char *s, double *out)
{
	if (parse_num(s, out) < 0)
		return -EINVAL;
	return (*s && !(isfinite(*out) && *out >= 0)) ? -EINVAL : 0;
}

/* "64", "4K", "4KiB", "1M": bytes; -1 when it is none of those. */
long run_parse_size(const char *s)
{
	char *end;
	long v;

	if (!*s)
		return 0;
	int shift = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M')
		shift = 20, end++;
	/* 9007199254740993K does not fit a long: refused, not wrapped. */
	if (v > LONG_MAX >> shift)
		return -1;
	v <<= shift;
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	return *end ? -1 : v;
}

const char *run_norm_backend(const char *mode, const char *backend)
{
	return (strcmp(mode, "floor") == 0) ? "floor" : backend;
}

/* S for an error line: printable ASCII only, at most 40 characters. */
const char *run_shown(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 4 < len && n < 40; s++)
		buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s && n + 4 <= len)
		memcpy(buf + n, "...", 3), n += 3;
	buf[n] = '\0';
	return buf;
}

/* [a-z][a-z0-9_-]*, at most REP_BACKEND_MAX characters: a word in gnuplot and a file name. */
static bool backend_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > REP_BACKEND_MAX || b[0] < 'a' || b[0] > 'z')
		return false;
	return strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int run_nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int refuse(char *err, size_t errlen, const char *path, size_t row, const char *col,
		  const char *val, const char *allowed)
{
	char buf[64];

	snprintf(err, errlen, "%s: row %zu: %s '%s' is not allowed; allowed: %s", path, row, col,
		 run_shown(val, buf, sizeof(buf)), allowed);
	return -EINVAL;
}

/*
 * The text columns of one row: MODE, BACKEND (the CSV's) and PLACEMENT
 * always, STATUS when not NULL.  Returns 0 or -EINVAL with err set.
 */
static int check_text(const char *path, size_t row, const char *mode, const char *backend,
		      const char *placement, const char *status, char *err, size_t errlen)
{
	if (run_index_of(run_modes, NELEM(run_modes), mode) < 0)
		return refuse(err, errlen, path, row, "mode", mode,
			      "latency, throughput, floor, bare, rate, wakeup");
	/* The floor is one mechanism whatever the CSV calls it; older runs leave it empty. */
	if (!backend_ok(backend) && !(strcmp(mode, "floor") == 0 && !*backend))
		return refuse(err, errlen, path, row, "backend", backend,
			      "a lower-case letter, then up to 31 of a-z 0-9 _ -");
	if (rep_placement_index(placement) < 0)
		return refuse(err, errlen, path, row, "placement", placement,
			      "same-cpu, smt, same-l2, same-l3, cross-l3, cross-numa, "
			      "cross-package, none");
	if (status && run_index_of(statuses, NELEM(statuses), status) < 0)
		return refuse(err, errlen, path, row, "status", status,
			      "ok, skipped, failed, saturated");
	if (status && !strcmp(status, "saturated") && strcmp(mode, "rate"))
		return refuse(err, errlen, path, row, "status", status,
			      "ok, skipped, failed (saturated: rate rows only)");
	return 0;
}

/*
 * A row's key texts, checked by check_text, copied into *M, *B (the
 * floor's whatever the CSV says) and *P.  Returns 0, -EINVAL or -ENOMEM
 * with err set.
 */
static int copy_key(const char *path, size_t row, const char *mode, const char *backend,
		    const char *placement, const char *status, char **m, char **b, char **p,
		    char *err, size_t errlen)
{
	int ret = check_text(path, row, mode, backend, placement, status, err, errlen);

	if (ret < 0)
		return ret;
	*m = rep_strdup(mode);
	*b = rep_strdup(run_norm_backend(mode, backend));
	*p = rep_strdup(placement);
	return *m && *b && *p ? 0 : run_nomem(err, errlen);
}

/* Frees what copy_key made. */
void run_free_key(char *m, char *b, char *p)
{
	free(m);
	free(b);
	free(p);
}

/* Producers or consumers: empty (1: a latency cell is one pair), else 1..REP_MAX_PROCS. */
static int parse_procs(const char *s, int *out)
{
	double v;

	if (!*s) {
		*out = 1;
		return 0;
	}
	if (parse_num(s, &v) < 0)
		return -EINVAL;
	if (!(v >= 1 && v <= REP_MAX_PROCS) || v != floor(v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int require_cols(const struct rep_csv *csv, const char *const *cols, size_t n, int *idx,
			const char *path, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		idx[i] = rep_csv_col(csv, cols[i]);
		if (idx[i] < 0) {
			snprintf(err, errlen, "%s: missing column '%s'", path, cols[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Reads the CSV file PATH, the index in it of each of the columns COLS[N]
 * it must have into IDX, and allocates *ROWS: room for one element of SIZE
 * bytes per row.  Returns 0 or -errno with err set; free CSV either way.
 */
static int read_table(struct rep_csv *csv, const char *path, const char *const *cols, size_t n,
		      int *idx, void **rows, size_t size, char *err, size_t errlen)
{
	int ret = rep_csv_read(csv, path, err, errlen);

	*rows = NULL;
	if (ret == 0)
		ret = require_cols(csv, cols, n, idx, path, err, errlen);
	if (ret == 0 && !(*rows = calloc(csv->nrows ? csv->nrows : 1, size)))
		ret = run_nomem(err, errlen);
	return ret;
}

/* A run of more backends than any machine has is not a run: the pictures have one line each. */
static int count_backend(const char **seen, size_t *n, const char *b, const char *path, size_t row,
			 char *err, size_t errlen)
{
	if (!strcmp(b, "floor") || run_index_of(seen, *n, b) >= 0)
		return 0;
	if (*n == REP_MAX_BACKENDS) {
		snprintf(err, errlen, "%s: row %zu: more than %d backends; allowed: at most %d",
			 path, row, REP_MAX_BACKENDS, REP_MAX_BACKENDS);
		return -EINVAL;
	}
	seen[(*n)++] = b;
	return 0;
}

/* The CPU columns of row R into C (NAN each when the run has none). */
static int load_cpu(const struct rep_csv *csv, size_t r, const int *cidx, bool have,
		    struct rep_cell *c, const char *path, char *err, size_t errlen)
{
	double *v[IPCB_CPU_NCOLS] = {&c->cpu_ns, &c->cpu_util, &c->csw};

	for (size_t k = 0; k < IPCB_CPU_NCOLS; k++) {
		const char *s = have ? rep_csv_get(csv, r, cidx[k]) : "";

		if (parse_cpu(s, v[k]) < 0)
			return refuse(err, errlen, path, r + 2, cpu_cols[k], s,
				      "empty, or a finite number >= 0");
	}
	return 0;
}

/*
 * The load columns of row R into C: offered_rate empty, "max" (INFINITY)
 * or a finite number > 0, and set in every rate row and only there;
 * achieved_rate empty (NAN) or a finite number >= 0; gap_ns a finite
 * number > 0 in every wakeup row, empty elsewhere.  offered and gap_ns are
 * 0 where empty (part of the key: a zeroed key means none).
 */
static int load_rate(const struct rep_csv *csv, size_t r, const int *ridx, bool have,
		     struct rep_cell *c, const char *path, char *err, size_t errlen)
{
	const char *v[IPCB_RATE_NCOLS];

	for (size_t k = 0; k < IPCB_RATE_NCOLS; k++)
		v[k] = have ? rep_csv_get(csv, r, ridx[k]) : "";
	c->offered = INFINITY;
	if (strcmp(v[IPCB_RATE_OFFERED], "max") &&
	    (parse_num(v[IPCB_RATE_OFFERED], &c->offered) < 0 ||
	     (*v[IPCB_RATE_OFFERED] && !(isfinite(c->offered) && c->offered > 0)) ||
	     !*v[IPCB_RATE_OFFERED] == !strcmp(c->mode, "rate")))
		return refuse(err, errlen, path, r + 2, rate_cols[IPCB_RATE_OFFERED],
			      v[IPCB_RATE_OFFERED],
			      "in rate rows, max or a finite number > 0; empty in others");
	if (parse_cpu(v[IPCB_RATE_ACHIEVED], &c->achieved) < 0)
		return refuse(err, errlen, path, r + 2, rate_cols[IPCB_RATE_ACHIEVED],
			      v[IPCB_RATE_ACHIEVED], "empty, or a finite number >= 0");
	c->offered = isnan(c->offered) ? 0 : c->offered;
	if (parse_num(v[IPCB_RATE_GAP_NS], &c->gap_ns) < 0 ||
	    (*v[IPCB_RATE_GAP_NS] && !(isfinite(c->gap_ns) && c->gap_ns > 0)) ||
	    !*v[IPCB_RATE_GAP_NS] == !strcmp(c->mode, "wakeup"))
		return refuse(err, errlen, path, r + 2, rate_cols[IPCB_RATE_GAP_NS],
			      v[IPCB_RATE_GAP_NS],
			      "in wakeup rows, a finite number > 0; empty in others");
	c->gap_ns = isnan(c->gap_ns) ? 0 : c->gap_ns;
	return 0;
}

/*
 * The batch column of row R (a run before it: none, NAN): empty for
 * latency-like cells and cells not measured, a whole number from 1 to 1024
 * for measured throughput ones; anything else is refused.
 */
static int load_batch(const struct rep_csv *csv, size_t r, int col, struct rep_cell *c,
		      const char *path, char *err, size_t errlen)
{
	const char *s = col >= 0 ? rep_csv_get(csv, r, col) : "";
	bool tp = !strcmp(c->mode, "throughput");
	double v;

	if (parse_num(s, &v) < 0 || (*s && (!tp || v != floor(v) || v < 1 || v > 1024)))
		return refuse(err, errlen, path, r + 2, batch_cols[0], s,
			      tp ? "a whole number from 1 to 1024"
				 : "empty (batches are for throughput cells)");
	c->batch = v;
	return 0;
}

int run_load_results(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	struct rep_csv csv;
	const char *seen[REP_MAX_BACKENDS];
	size_t nseen = 0;
	int idx[IPCB_RESULT_NCOLS], cidx[IPCB_CPU_NCOLS], ridx[IPCB_RATE_NCOLS], bcol;
	void *rows;
	int ret = read_table(&csv, path, result_cols, IPCB_RESULT_NCOLS, idx, &rows,
			     sizeof(*run->cells), err, errlen);

	run->cells = rows;
	if (ret < 0)
		goto out;
	bcol = rep_csv_col(&csv, batch_cols[0]);
	for (size_t k = 0; k < IPCB_CPU_NCOLS; k++)
		run->have_cpu |= rep_csv_col(&csv, cpu_cols[k]) >= 0;
	if (run->have_cpu) {
		ret = require_cols(&csv, cpu_cols, IPCB_CPU_NCOLS, cidx, path, err, errlen);
		if (ret < 0)
			goto out;
	}
	for (size_t k = 0; k < IPCB_RATE_NCOLS; k++)
		run->have_rate |= rep_csv_col(&csv, rate_cols[k]) >= 0;
	if (run->have_rate) {
		ret = require_cols(&csv, rate_cols, IPCB_RATE_NCOLS, ridx, path, err, errlen);
		if (ret < 0)
			goto out;
	}
	for (size_t r = 0; r < csv.nrows; r++) {
		struct rep_cell *c = &run->cells[run->ncells++];
		double *num[] = {&c->repetitions,
				 &c->messages,
				 &c->seconds,
				 &c->msgs_per_s,
				 &c->bytes_per_s,
				 &c->lat[LAT_MIN],
				 &c->lat[LAT_MEAN],
				 &c->lat[LAT_P50],
				 &c->lat[LAT_P90],
				 &c->lat[LAT_P99],
				 &c->lat[LAT_P999],
				 &c->lat[LAT_MAX],
				 &c->cv};

		const char *mode = rep_csv_get(&csv, r, idx[IPCB_RES_MODE]);
		const char *backend = rep_csv_get(&csv, r, idx[IPCB_RES_BACKEND]);
		const char *placement = rep_csv_get(&csv, r, idx[IPCB_RES_PLACEMENT]);
		const char *status = rep_csv_get(&csv, r, idx[IPCB_RES_STATUS]);
		const char *size = rep_csv_get(&csv, r, idx[IPCB_RES_SIZE]);

		ret = copy_key(path, r + 2, mode, backend, placement, status, &c->mode, &c->backend,
			       &c->placement, err, errlen);
		if (ret < 0)
			goto out;
		c->status = rep_strdup(status);
		c->note = rep_strdup(rep_csv_get(&csv, r, idx[IPCB_RES_NOTE]));
		if (!c->status || !c->note) {
			ret = run_nomem(err, errlen);
			goto out;
		}
		c->size = run_parse_size(size);
		if (c->size < 0) {
			ret = refuse(err, errlen, path, r + 2, "size", size,
				     "bytes, maybe with K or M, that fit 63 bits");
			goto out;
		}
		for (int k = 0; k < 2; k++) {
			int *n = k ? &c->consumers : &c->producers;
			int col = k ? IPCB_RES_CONSUMERS : IPCB_RES_PRODUCERS;
			const char *v = rep_csv_get(&csv, r, idx[col]);

			if (parse_procs(v, n) < 0) {
				ret = refuse(err, errlen, path, r + 2, result_cols[col], v,
					     "a whole number from 1 to 4096");
				goto out;
			}
		}
		ret = count_backend(seen, &nseen, c->backend, path, r + 2, err, errlen);
		if (ret < 0)
			goto out;
		/* num[] is the columns from repetitions to cv, in file order. */
		_Static_assert(sizeof(num) / sizeof(num[0]) ==
				       IPCB_RES_CV - IPCB_RES_REPETITIONS + 1,
			       "num[] and the numeric columns of columns.h");
		for (size_t k = 0; k < sizeof(num) / sizeof(num[0]); k++) {
			size_t col = IPCB_RES_REPETITIONS + k;

			if (parse_num(rep_csv_get(&csv, r, idx[col]), num[k]) < 0) {
				snprintf(err, errlen, "%s: row %zu: column %s is not a number",
					 path, r + 2, result_cols[col]);
				ret = -EINVAL;
				goto out;
			}
		}
		ret = load_cpu(&csv, r, cidx, run->have_cpu, c, path, err, errlen);
		if (ret == 0)
			ret = load_rate(&csv, r, ridx, run->have_rate, c, path, err, errlen);
		if (ret == 0)
			ret = load_batch(&csv, r, bcol, c, path, err, errlen);
		if (ret < 0)
			goto out;
	}
out:
	rep_csv_free(&csv);
	return ret;
}

int run_load_hist(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	struct rep_csv csv;
	int idx[IPCB_HIST_NCOLS];
	void *rows;
	int ret = read_table(&csv, path, hist_cols, IPCB_HIST_NCOLS, idx, &rows, sizeof(*run->hist),
			     err, errlen);

	run->hist = rows;
	if (ret < 0)
		goto out;
	for (size_t r = 0; r < csv.nrows; r++) {
		struct rep_hist *h = &run->hist[run->nhist++];
		const char *mode = rep_csv_get(&csv, r, idx[IPCB_HIST_MODE]);
		const char *backend = rep_csv_get(&csv, r, idx[IPCB_HIST_BACKEND]);
		const char *placement = rep_csv_get(&csv, r, idx[IPCB_HIST_PLACEMENT]);

		h->size = run_parse_size(rep_csv_get(&csv, r, idx[IPCB_HIST_SIZE]));
		if (h->size < 0 ||
		    parse_num(rep_csv_get(&csv, r, idx[IPCB_HIST_BUCKET_NS]), &h->bucket_ns) < 0 ||
		    parse_num(rep_csv_get(&csv, r, idx[IPCB_HIST_COUNT]), &h->count) < 0 ||
		    isnan(h->count) || isnan(h->bucket_ns)) {
			snprintf(err, errlen, "%s: row %zu: bad size, bucket_ns or count", path,
				 r + 2);
			ret = -EINVAL;
			goto out;
		}
		ret = copy_key(path, r + 2, mode, backend, placement, NULL, &h->mode, &h->backend,
			       &h->placement, err, errlen);
		if (ret < 0)
			goto out;
	}
	run->have_hist = true;
out:
	rep_csv_free(&csv);
	return ret;
}
