/* SPDX-License-Identifier: MIT */
/* Reads a run directory: results.csv, histograms.csv, benchmarks.json, env.json. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "columns.h"
#include "report_pvt.h"

/* The columns of columns.h, by name (a run may have them in any order). */
static const char *const result_cols[] = {IPCB_RESULT_COLUMNS(IPCB_COL_NAME)};
static const char *const cpu_cols[] = {IPCB_CPU_COLUMNS(IPCB_COL_NAME)};
static const char *const rate_cols[] = {IPCB_RATE_COLUMNS(IPCB_COL_NAME)};
static const char *const batch_cols[] = {IPCB_BATCH_COLUMNS(IPCB_COL_NAME)};
static const char *const hist_cols[] = {IPCB_HIST_COLUMNS(IPCB_COL_NAME)};

static const char *const modes[] = {"latency", "throughput", "floor", "bare", "rate", "wakeup"};
static const char *const statuses[] = {"ok", "skipped", "failed", "saturated"};
const char *const rep_placements[REP_NPLACEMENTS] = {
	"same-cpu", "smt", "same-l2", "same-l3", "cross-l3", "cross-numa", "cross-package", "none"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int index_of(const char *const *set, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, set[i]))
			return (int)i;
	return -1;
}

int rep_placement_index(const char *pl)
{
	return index_of(rep_placements, REP_NPLACEMENTS, pl);
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
 * Anything else is refused, not shown as missing: a run that says "inf" CPU
 * per message is broken, and the reader should hear so.
 */
static int parse_cpu(const char *s, double *out)
{
	if (parse_num(s, out) < 0)
		return -EINVAL;
	return (*s && !(isfinite(*out) && *out >= 0)) ? -EINVAL : 0;
}

/* "64", "4K", "4KiB", "1M": bytes; -1 when it is none of those. */
static long parse_size(const char *s)
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

static const char *norm_backend(const char *mode, const char *backend)
{
	return (strcmp(mode, "floor") == 0) ? "floor" : backend;
}

/* S for an error line: printable ASCII only, at most 40 characters. */
static const char *shown(const char *s, char *buf, size_t len)
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

static int nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int refuse(char *err, size_t errlen, const char *path, size_t row, const char *col,
		  const char *val, const char *allowed)
{
	char buf[64];

	snprintf(err, errlen, "%s: row %zu: %s '%s' is not allowed; allowed: %s", path, row, col,
		 shown(val, buf, sizeof(buf)), allowed);
	return -EINVAL;
}

/*
 * The text columns of one row: MODE, BACKEND (the CSV's) and PLACEMENT
 * always, STATUS when not NULL.  Returns 0 or -EINVAL with err set.
 */
static int check_text(const char *path, size_t row, const char *mode, const char *backend,
		      const char *placement, const char *status, char *err, size_t errlen)
{
	if (index_of(modes, NELEM(modes), mode) < 0)
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
	if (status && index_of(statuses, NELEM(statuses), status) < 0)
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
	*b = rep_strdup(norm_backend(mode, backend));
	*p = rep_strdup(placement);
	return *m && *b && *p ? 0 : nomem(err, errlen);
}

/* Frees what copy_key made. */
static void free_key(char *m, char *b, char *p)
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
		ret = nomem(err, errlen);
	return ret;
}

/* A run of more backends than any machine has is not a run: the pictures have one line each. */
static int count_backend(const char **seen, size_t *n, const char *b, const char *path, size_t row,
			 char *err, size_t errlen)
{
	if (!strcmp(b, "floor") || index_of(seen, *n, b) >= 0)
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

static int load_results(struct rep_run *run, const char *path, char *err, size_t errlen)
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
			ret = nomem(err, errlen);
			goto out;
		}
		c->size = parse_size(size);
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

static int load_hist(struct rep_run *run, const char *path, char *err, size_t errlen)
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

		h->size = parse_size(rep_csv_get(&csv, r, idx[IPCB_HIST_SIZE]));
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

bool rep_lower_is_better(const struct rep_cell *c)
{
	return strcmp(c->mode, "throughput") != 0;
}

/* The number a cell is judged by: p50 round trip, or messages per second. */
double rep_cell_metric(const struct rep_cell *c)
{
	return rep_lower_is_better(c) ? c->lat[LAT_P50] : c->msgs_per_s;
}

bool rep_cell_ok(const struct rep_cell *c)
{
	return strcmp(c->status, "ok") == 0 && !isnan(rep_cell_metric(c));
}

/* Rates or gaps: 0 (none) first, INFINITY (max) last. */
static int cmp_load(double a, double b)
{
	return (a > b) - (a < b);
}

static int cmp_key(const struct rep_cell *a, const struct rep_cell *b);

bool rep_cell_same(const struct rep_cell *a, const struct rep_cell *b)
{
	return cmp_key(a, b) == 0;
}

static int cmp_key(const struct rep_cell *a, const struct rep_cell *b)
{
	int d = strcmp(a->mode, b->mode);

	if (!d)
		d = strcmp(a->backend, b->backend);
	if (!d)
		d = strcmp(a->placement, b->placement);
	if (!d)
		d = (a->size > b->size) - (a->size < b->size);
	if (!d)
		d = a->producers != b->producers ? a->producers - b->producers
						 : a->consumers - b->consumers;
	if (!d)
		d = cmp_load(a->offered, b->offered);
	if (!d)
		d = cmp_load(a->gap_ns, b->gap_ns);
	return d;
}

/* By key, then by row: the first of equal cells stays first. */
static int cmp_by_key(const void *pa, const void *pb)
{
	const struct rep_cell *a = *(const struct rep_cell *const *)pa;
	const struct rep_cell *b = *(const struct rep_cell *const *)pb;
	int d = cmp_key(a, b);

	return d ? d : (a > b) - (a < b);
}

static int index_cells(struct rep_run *run)
{
	run->by_key = malloc((run->ncells + 1) * sizeof(*run->by_key));
	if (!run->by_key)
		return -ENOMEM;
	for (size_t i = 0; i < run->ncells; i++)
		run->by_key[i] = &run->cells[i];
	qsort(run->by_key, run->ncells, sizeof(*run->by_key), cmp_by_key);
	return 0;
}

/*
 * The first cell of RUN (in the order of results.csv) that is the same cell
 * as KEY (rep_cell_same), and with OK_ONLY the first such cell that is ok.
 * NULL when there is none.  O(log n).
 */
const struct rep_cell *rep_run_find(const struct rep_run *run, const struct rep_cell *key,
				    bool ok_only)
{
	size_t lo = 0, hi = run->ncells;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_key(run->by_key[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < run->ncells && cmp_key(run->by_key[lo], key) == 0; lo++)
		if (!ok_only || rep_cell_ok(run->by_key[lo]))
			return run->by_key[lo];
	return NULL;
}

/*
 * Attaches one repetition of benchmarks.json to its cell.  The name is
 * mode/backend/size/PxC/placement, maybe followed by what google-benchmark
 * appends (/manual_time, /repeats:N, ...); one of no cell is passed over.
 * Returns 0 or -ENOMEM.
 */
static int attach_rep(struct rep_run *run, json_t *b)
{
	const char *name = json_string_value(json_object_get(b, "run_name"));
	const char *type = json_string_value(json_object_get(b, "run_type"));
	char buf[512], *part[6] = {0};
	struct rep_cell key = {0};
	size_t np = 0;

	if (!name)
		name = json_string_value(json_object_get(b, "name"));
	if (!name || (type && strcmp(type, "iteration") != 0) ||
	    json_is_true(json_object_get(b, "error_occurred")))
		return 0;
	snprintf(buf, sizeof(buf), "%s", name);
	/* strsep, not strtok: a floor's backend may be empty ("floor//64/..."). */
	for (char *s = buf; s && np < 6;)
		part[np++] = strsep(&s, "/");
	/* rate and wakeup cells: one per rate or gap, named in a sixth part */
	if (part[5] && !strcmp(part[5], "rate=max"))
		key.offered = INFINITY;
	else if (part[5] && sscanf(part[5], "rate=%lf", &key.offered) != 1)
		sscanf(part[5], "gap_ns=%lf", &key.gap_ns);
	if (np < 5 || sscanf(part[3], "%dx%d", &key.producers, &key.consumers) != 2)
		return 0;
	key.mode = part[0];
	key.backend = (char *)norm_backend(part[0], part[1]);
	key.size = parse_size(part[2]);
	key.placement = part[4];
	if (key.size < 0)
		return 0;
	struct rep_cell *c = (struct rep_cell *)rep_run_find(run, &key, false);

	if (!c)
		return 0;
	json_t *v = json_object_get(b, rep_lower_is_better(c) ? "lat_p50_ns" : "msgs_per_s");

	if (!json_is_number(v))
		return 0;
	if (c->nreps == c->capreps) {
		size_t cap = c->capreps ? 2 * c->capreps : 8;
		double *nr = realloc(c->reps, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->reps = nr;
		c->capreps = cap;
	}
	c->reps[c->nreps++] = json_number_value(v);
	run->have_bench = true;
	return 0;
}

/*
 * google-benchmark writes a non-finite double as a bare Infinity, -Infinity
 * or NaN (a rate over a zero time, a cv over a zero mean), which is not
 * JSON.  Outside strings each becomes null (no line moves, so errors keep
 * their line numbers); any other text is left to jansson.  @out has room
 * for 2 * @n bytes (NaN grows by one).  Returns the length written.
 */
static size_t json_nonfinite_to_null(const char *s, size_t n, char *out)
{
	static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
	bool in_str = false;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\' && i + 1 < n)
				out[o++] = s[i++];
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else {
			size_t w = 0, l = 0;

			for (; w < sizeof(words) / sizeof(words[0]); w++) {
				l = strlen(words[w]);
				if (l <= n - i && !memcmp(s + i, words[w], l))
					break;
			}
			if (w < sizeof(words) / sizeof(words[0])) {
				memcpy(out + o, "null", 4);
				o += 4;
				i += l - 1;
				continue;
			}
		}
		out[o++] = s[i];
	}
	return o;
}

/*
 * benchmarks.json, read whole and made JSON first, into *DOC.  Returns 0;
 * -ENOMEM; -EINVAL with @jerr set (unreadable, not JSON).
 */
static int load_bench_json(const char *path, json_t **doc, json_error_t *jerr)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *nb, *js = NULL;
	size_t len = 0, cap = 0, got;
	int ret = -EINVAL;

	*doc = NULL;
	memset(jerr, 0, sizeof(*jerr));
	if (!f) {
		snprintf(jerr->text, sizeof(jerr->text), "%s", strerror(errno));
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			nb = realloc(buf, cap);
			if (!nb)
				goto nomem;
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(jerr->text, sizeof(jerr->text), "read error");
		goto out;
	}
	js = malloc(2 * len + 1);
	if (!js)
		goto nomem;
	*doc = json_loadb(js, json_nonfinite_to_null(buf, len, js), 0, jerr);
	ret = *doc ? 0 : -EINVAL;
	goto out;
nomem:
	ret = -ENOMEM;
out:
	fclose(f);
	free(buf);
	free(js);
	return ret;
}

static int load_bench(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *arr, *b;
	size_t i;
	int ret = load_bench_json(path, &doc, &jerr);

	if (ret == -ENOMEM)
		return nomem(err, errlen);
	if (ret < 0) {
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return ret;
	}
	arr = json_object_get(doc, "benchmarks");
	if (!json_is_array(arr)) {
		json_decref(doc);
		snprintf(err, errlen, "%s: no \"benchmarks\" array (not google-benchmark output)",
			 path);
		return -EINVAL;
	}
	json_array_foreach(arr, i, b)
	{
		ret = attach_rep(run, b);
		if (ret < 0)
			break;
	}
	json_decref(doc);
	return ret < 0 ? nomem(err, errlen) : 0;
}

#define REP_MAX_HARNESS 1024 /* sizes in harness_ns_per_msg: a run measures a handful */

/* A message size as env.json's keys spell it: decimal digits, no leading zero, 63 bits. */
static long parse_dec_size(const char *s)
{
	size_t n = strlen(s);
	char *end;
	long v;

	if (n == 0 || n > 19 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return (errno || *end) ? -1 : v;
}

static int env_refuse(char *err, size_t errlen, const char *path, const char *key,
		      const char *allowed)
{
	snprintf(err, errlen, "%s: \"%s\" is not allowed; allowed: %s", path, key, allowed);
	return -EINVAL;
}

/* A number of env.json that must be finite and >= 0 (jansson refuses NaN and inf already). */
static bool env_num_ok(const json_t *v)
{
	return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
}

struct harness_ent {
	long size;
	double ns;
};

static int cmp_harness(const void *a, const void *b)
{
	const struct harness_ent *x = a, *y = b;

	return (x->size > y->size) - (x->size < y->size);
}

/* harness_ns_per_msg: {"64": 12.5, ...}, read into run->harness_* sorted by size. */
static int load_harness(struct rep_run *run, const json_t *h, const char *path, char *err,
			size_t errlen)
{
	struct harness_ent *e;
	const char *allowed = "an object of message sizes in bytes (decimal digits) to ns, each "
			      "a finite number >= 0";
	const char *k;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(h) || json_object_size(h) > REP_MAX_HARNESS)
		return env_refuse(err, errlen, path, "harness_ns_per_msg", allowed);
	e = calloc(json_object_size(h) + 1, sizeof(*e));
	run->harness_size = calloc(json_object_size(h) + 1, sizeof(*run->harness_size));
	run->harness_ns = calloc(json_object_size(h) + 1, sizeof(*run->harness_ns));
	if (!e || !run->harness_size || !run->harness_ns) {
		free(e);
		return nomem(err, errlen);
	}
	json_object_foreach((json_t *)h, k, v)
	{
		e[n].size = parse_dec_size(k);
		if (e[n].size < 0 || !env_num_ok(v)) {
			char buf[64];

			snprintf(err, errlen,
				 "%s: harness_ns_per_msg: '%s' is not allowed; allowed: %s", path,
				 shown(k, buf, sizeof(buf)), allowed);
			free(e);
			return -EINVAL;
		}
		e[n++].ns = json_number_value(v);
	}
	qsort(e, n, sizeof(*e), cmp_harness);
	for (size_t i = 0; i < n; i++) {
		run->harness_size[i] = e[i].size;
		run->harness_ns[i] = e[i].ns;
	}
	run->nharness = n;
	free(e);
	return 0;
}

/*
 * The keys of env.json the report computes with, checked like results.csv:
 * clocksource a string (shown escaped, never drawn), tsc_invariant a
 * boolean, timer_cost_ns a number >= 0, harness_ns_per_msg by size.  Each
 * may be absent (older runs, other architectures).
 */
static int check_env(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	const json_t *v;

	v = json_object_get(run->env, "clocksource");
	if (v && !json_is_string(v))
		return env_refuse(err, errlen, path, "clocksource", "a string");
	v = json_object_get(run->env, "tsc_invariant");
	if (v && !json_is_boolean(v))
		return env_refuse(err, errlen, path, "tsc_invariant", "true or false");
	v = json_object_get(run->env, "timer_cost_ns");
	if (v && !env_num_ok(v))
		return env_refuse(err, errlen, path, "timer_cost_ns", "a finite number >= 0");
	v = json_object_get(run->env, "harness_ns_per_msg");
	return v ? load_harness(run, v, path, err, errlen) : 0;
}

static bool exists(const char *dir, const char *name, char *path, size_t len)
{
	struct stat st;

	snprintf(path, len, "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Loads the run in DIR.  results.csv is required; the other files are read
 * when present.  Returns 0; -ENOTDIR/-ENOENT (not a run), -EINVAL (a file is
 * malformed or lacks a column), -ENOMEM.  On error err holds one line.
 */
int rep_run_load(struct rep_run *run, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	int ret;

	memset(run, 0, sizeof(*run));
	run->dir = rep_strdup(dir);
	if (!run->dir)
		return nomem(err, errlen);
	for (size_t n = strlen(run->dir); n > 1 && run->dir[n - 1] == '/'; n--)
		run->dir[n - 1] = '\0';
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "'%s' is not a directory; allowed: a directory written by ipcbench run",
			 dir);
		return -ENOTDIR;
	}
	if (!exists(dir, "results.csv", path, sizeof(path))) {
		snprintf(err, errlen,
			 "'%s' is not an ipcbench run (no results.csv); allowed: a directory "
			 "written by ipcbench run",
			 dir);
		return -ENOENT;
	}
	ret = load_results(run, path, err, errlen);
	if (ret < 0)
		return ret;
	ret = index_cells(run);
	if (ret < 0)
		return nomem(err, errlen);
	if (exists(dir, "histograms.csv", path, sizeof(path))) {
		ret = load_hist(run, path, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (exists(dir, "benchmarks.json", path, sizeof(path))) {
		ret = load_bench(run, path, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (exists(dir, "env.json", path, sizeof(path))) {
		json_error_t jerr;

		run->env = json_load_file(path, 0, &jerr);
		if (!json_is_object(run->env)) {
			snprintf(err, errlen, "%s: line %d: %s", path, jerr.line,
				 run->env ? "not a JSON object" : jerr.text);
			return -EINVAL;
		}
		ret = check_env(run, path, err, errlen);
		if (ret < 0)
			return ret;
	}
	run->have_topology = exists(dir, "topology.xml", path, sizeof(path));
	return 0;
}

void rep_run_free(struct rep_run *run)
{
	for (size_t i = 0; i < run->ncells; i++) {
		struct rep_cell *c = &run->cells[i];

		free_key(c->mode, c->backend, c->placement);
		free(c->status);
		free(c->note);
		free(c->reps);
	}
	for (size_t i = 0; i < run->nhist; i++)
		free_key(run->hist[i].mode, run->hist[i].backend, run->hist[i].placement);
	free(run->cells);
	free(run->by_key);
	free(run->harness_size);
	free(run->harness_ns);
	free(run->hist);
	free(run->dir);
	json_decref(run->env);
	memset(run, 0, sizeof(*run));
}

/* env.json's KEY as text (numbers and booleans too); "" when absent. */
const char *rep_env_str(const struct rep_run *run, const char *key, char *buf, size_t len)
{
	json_t *v = run->env ? json_object_get(run->env, key) : NULL;

	buf[0] = '\0';
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_object(v)) {
		const char *k;
		json_t *e;
		size_t off = 0;

		json_object_foreach(v, k, e)
		{
			char *s = json_is_string(e) ? NULL
						    : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);

			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%s %s",
							off ? ", " : "", k,
							s		    ? s
							: json_is_string(e) ? json_string_value(e)
									    : "?");
			free(s);
		}
	} else if (v) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(buf, len, "%s", s ? s : "");
		free(s);
	}
	return buf;
}

/* The order backends appear in legends and tables; others follow in order of appearance. */
static const char *const known_backends[] = {"pipe", "sysv", "mqueue", "shm", "unix", "tcp"};

static int backend_rank(const char *b)
{
	for (size_t i = 0; i < sizeof(known_backends) / sizeof(known_backends[0]); i++)
		if (!strcmp(b, known_backends[i]))
			return (int)i;
	return 100;
}

/*
 * The backends of RUN in legend order, without the floor (at most
 * REP_MAX_BACKENDS: rep_run_load counted them), into *OUT and *N.  The
 * names point into RUN; free the array.  Returns 0 or -ENOMEM.
 */
int rep_run_backends(const struct rep_run *run, char ***out, size_t *n)
{
	char **b = calloc(run->ncells + 1, sizeof(*b));

	*out = b;
	*n = 0;
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < run->ncells; i++) {
		const char *name = run->cells[i].backend;
		bool seen = !strcmp(name, "floor");

		for (size_t k = 0; k < *n && !seen; k++)
			seen = !strcmp(b[k], name);
		if (!seen)
			b[(*n)++] = run->cells[i].backend;
	}
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && backend_rank(b[j]) < backend_rank(b[j - 1]); j--) {
			char *t = b[j];

			b[j] = b[j - 1];
			b[j - 1] = t;
		}
	return 0;
}

/* Between placements measured as often, the one a reader expects: cross-core first. */
static const char *const placement_pref[] = {"same-l3",	   "cross-l3",	    "same-l2", "smt",
					     "cross-numa", "cross-package", "none",    "same-cpu"};

/*
 * The placement the one-placement pictures and tables use: the one with the
 * most ok cells of MODE (NULL: latency and throughput, each counted apart),
 * ties broken by placement_pref.  NULL when there is no such cell.
 */
const char *rep_main_placement(const struct rep_run *run, const char *mode)
{
	size_t n[2][REP_NPLACEMENTS] = {{0}}, bestn = 0;
	const char *best = NULL;

	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];
		int m = mode ? (strcmp(c->mode, mode) ? -1 : 0)
			     : index_of(modes, 2, c->mode); /* latency 0, throughput 1 */

		if (m >= 0 && rep_cell_ok(c))
			n[m][rep_placement_index(c->placement)]++;
	}
	for (size_t k = 0; k < NELEM(placement_pref); k++) {
		int pl = rep_placement_index(placement_pref[k]);

		for (int m = 0; m < 2; m++)
			if (n[m][pl] > bestn) {
				bestn = n[m][pl];
				best = rep_placements[pl];
			}
	}
	return best;
}
