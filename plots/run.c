/* SPDX-License-Identifier: MIT */
/* Reads a run directory: results.csv, histograms.csv, benchmarks.json, env.json. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_pvt.h"

static const char *const result_cols[] = {
	"mode",	      "backend",     "size",	   "producers",	 "consumers",  "placement",
	"status",     "repetitions", "messages",   "seconds",	 "msgs_per_s", "bytes_per_s",
	"lat_min_ns", "lat_mean_ns", "lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns",
	"lat_max_ns", "cv",	     "note",
};
enum { NRESULT_COLS = sizeof(result_cols) / sizeof(result_cols[0]) };

static const char *const hist_cols[] = {"mode",	     "backend",	  "size",
					"placement", "bucket_ns", "count"};

char *rep_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort(); /* a report cannot go on without memory; nothing to clean in the run */
	return d;
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

/* "64", "4K", "4KiB", "1M": bytes; -1 when it is none of those. */
static long parse_size(const char *s)
{
	char *end;
	long v;

	if (!*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
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

static int load_results(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	struct rep_csv csv;
	int idx[NRESULT_COLS];
	int ret = rep_csv_read(&csv, path, err, errlen);

	if (ret < 0)
		return ret;
	ret = require_cols(&csv, result_cols, NRESULT_COLS, idx, path, err, errlen);
	if (ret < 0)
		goto out;
	run->cells = calloc(csv.nrows ? csv.nrows : 1, sizeof(*run->cells));
	if (!run->cells) {
		ret = -ENOMEM;
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
		double p, q;

		c->mode = rep_strdup(rep_csv_get(&csv, r, idx[0]));
		c->backend = rep_strdup(norm_backend(c->mode, rep_csv_get(&csv, r, idx[1])));
		c->placement = rep_strdup(rep_csv_get(&csv, r, idx[5]));
		c->status = rep_strdup(rep_csv_get(&csv, r, idx[6]));
		c->note = rep_strdup(rep_csv_get(&csv, r, idx[20]));
		c->size = parse_size(rep_csv_get(&csv, r, idx[2]));
		if (c->size < 0 || parse_num(rep_csv_get(&csv, r, idx[3]), &p) < 0 ||
		    parse_num(rep_csv_get(&csv, r, idx[4]), &q) < 0) {
			snprintf(err, errlen, "%s: row %zu: bad size, producers or consumers", path,
				 r + 2);
			ret = -EINVAL;
			goto out;
		}
		/* Latency cells are one pair whether or not the CSV says so. */
		c->producers = isnan(p) ? 1 : (int)p;
		c->consumers = isnan(q) ? 1 : (int)q;
		for (size_t k = 0; k < sizeof(num) / sizeof(num[0]); k++) {
			int col = idx[7 + k];

			if (parse_num(rep_csv_get(&csv, r, col), num[k]) < 0) {
				snprintf(err, errlen, "%s: row %zu: column %s is not a number",
					 path, r + 2, result_cols[7 + k]);
				ret = -EINVAL;
				goto out;
			}
		}
	}
out:
	rep_csv_free(&csv);
	return ret;
}

static int load_hist(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	struct rep_csv csv;
	int idx[6];
	int ret = rep_csv_read(&csv, path, err, errlen);

	if (ret < 0)
		return ret;
	ret = require_cols(&csv, hist_cols, 6, idx, path, err, errlen);
	if (ret < 0)
		goto out;
	run->hist = calloc(csv.nrows ? csv.nrows : 1, sizeof(*run->hist));
	if (!run->hist) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < csv.nrows; r++) {
		struct rep_hist *h = &run->hist[run->nhist];

		h->size = parse_size(rep_csv_get(&csv, r, idx[2]));
		if (h->size < 0 || parse_num(rep_csv_get(&csv, r, idx[4]), &h->bucket_ns) < 0 ||
		    parse_num(rep_csv_get(&csv, r, idx[5]), &h->count) < 0 || isnan(h->count) ||
		    isnan(h->bucket_ns)) {
			snprintf(err, errlen, "%s: row %zu: bad size, bucket_ns or count", path,
				 r + 2);
			ret = -EINVAL;
			goto out;
		}
		h->mode = rep_strdup(rep_csv_get(&csv, r, idx[0]));
		h->backend = rep_strdup(norm_backend(h->mode, rep_csv_get(&csv, r, idx[1])));
		h->placement = rep_strdup(rep_csv_get(&csv, r, idx[3]));
		run->nhist++;
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

bool rep_cell_same(const struct rep_cell *a, const struct rep_cell *b)
{
	return a->size == b->size && a->producers == b->producers && a->consumers == b->consumers &&
	       strcmp(a->mode, b->mode) == 0 && strcmp(a->backend, b->backend) == 0 &&
	       strcmp(a->placement, b->placement) == 0;
}

/*
 * Attaches one repetition of benchmarks.json to its cell.  The name is
 * mode/backend/size/PxC/placement, maybe followed by what google-benchmark
 * appends (/manual_time, /repeats:N, ...).
 */
static void attach_rep(struct rep_run *run, json_t *b)
{
	const char *name = json_string_value(json_object_get(b, "run_name"));
	const char *type = json_string_value(json_object_get(b, "run_type"));
	char buf[512], *part[5];
	struct rep_cell key = {0};
	size_t np = 0;

	if (!name)
		name = json_string_value(json_object_get(b, "name"));
	if (!name || (type && strcmp(type, "iteration") != 0) ||
	    json_is_true(json_object_get(b, "error_occurred")))
		return;
	snprintf(buf, sizeof(buf), "%s", name);
	/* strsep, not strtok: a floor's backend may be empty ("floor//64/..."). */
	for (char *s = buf; s && np < 5;)
		part[np++] = strsep(&s, "/");
	if (np < 5 || sscanf(part[3], "%dx%d", &key.producers, &key.consumers) != 2)
		return;
	key.mode = part[0];
	key.backend = (char *)norm_backend(part[0], part[1]);
	key.size = parse_size(part[2]);
	key.placement = part[4];
	for (size_t i = 0; i < run->ncells; i++) {
		struct rep_cell *c = &run->cells[i];

		if (!rep_cell_same(c, &key))
			continue;
		json_t *v =
			json_object_get(b, rep_lower_is_better(c) ? "lat_p50_ns" : "msgs_per_s");

		if (!json_is_number(v))
			return;
		double *nr = realloc(c->reps, (c->nreps + 1) * sizeof(*nr));

		if (!nr)
			return;
		c->reps = nr;
		c->reps[c->nreps++] = json_number_value(v);
		run->have_bench = true;
		return;
	}
}

static int load_bench(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr), *arr, *b;
	size_t i;

	if (!doc) {
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	arr = json_object_get(doc, "benchmarks");
	if (!json_is_array(arr)) {
		json_decref(doc);
		snprintf(err, errlen, "%s: no \"benchmarks\" array (not google-benchmark output)",
			 path);
		return -EINVAL;
	}
	json_array_foreach(arr, i, b) attach_rep(run, b);
	json_decref(doc);
	return 0;
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
	}
	run->have_topology = exists(dir, "topology.xml", path, sizeof(path));
	return 0;
}

void rep_run_free(struct rep_run *run)
{
	for (size_t i = 0; i < run->ncells; i++) {
		struct rep_cell *c = &run->cells[i];

		free(c->mode);
		free(c->backend);
		free(c->placement);
		free(c->status);
		free(c->note);
		free(c->reps);
	}
	for (size_t i = 0; i < run->nhist; i++) {
		free(run->hist[i].mode);
		free(run->hist[i].backend);
		free(run->hist[i].placement);
	}
	free(run->cells);
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
static const char *const known_backends[] = {"pipe", "sysv", "mqueue", "shm"};

static int backend_rank(const char *b)
{
	for (size_t i = 0; i < sizeof(known_backends) / sizeof(known_backends[0]); i++)
		if (!strcmp(b, known_backends[i]))
			return (int)i;
	return 100;
}

/*
 * The backends of RUN in legend order, without the floor and without names
 * that are unsafe inside a gnuplot string.  The names point into RUN; free
 * the array.
 */
char **rep_run_backends(const struct rep_run *run, size_t *n)
{
	char **b = calloc(run->ncells + 1, sizeof(*b));

	*n = 0;
	if (!b)
		abort();
	for (size_t i = 0; i < run->ncells; i++) {
		const char *name = run->cells[i].backend;
		bool seen = !strcmp(name, "floor") || !*name || strpbrk(name, "\"'\\/ @$");

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
	return b;
}

/* Between placements measured as often, the one a reader expects: cross-core first. */
static const char *const placement_pref[] = {"same-l3",	   "cross-l3",	    "same-l2", "smt",
					     "cross-numa", "cross-package", "none",    "same-cpu"};

static int placement_pref_rank(const char *pl)
{
	for (size_t i = 0; i < sizeof(placement_pref) / sizeof(placement_pref[0]); i++)
		if (!strcmp(pl, placement_pref[i]))
			return (int)i;
	return 100;
}

/*
 * The placement the one-placement pictures and tables use: the one with the
 * most ok cells of MODE (NULL: latency and throughput), ties broken by
 * placement_pref.  NULL when there is no such cell.
 */
const char *rep_main_placement(const struct rep_run *run, const char *mode)
{
	const char *best = NULL;
	size_t bestn = 0;

	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];
		size_t n = 0;

		if (!rep_cell_ok(c) ||
		    (mode ? strcmp(c->mode, mode) != 0
			  : strcmp(c->mode, "latency") && strcmp(c->mode, "throughput")))
			continue;
		for (size_t j = 0; j < run->ncells; j++) {
			const struct rep_cell *d = &run->cells[j];

			n += rep_cell_ok(d) && !strcmp(d->mode, c->mode) &&
			     !strcmp(d->placement, c->placement);
		}
		if (n > bestn ||
		    (n == bestn && placement_pref_rank(c->placement) < placement_pref_rank(best))) {
			bestn = n;
			best = c->placement;
		}
	}
	return best;
}
