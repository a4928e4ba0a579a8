/* SPDX-License-Identifier: MIT */
/*
 * Reads a run directory (results.csv and histograms.csv: run_csv.c;
 * benchmarks.json and env.json: run_json.c), indexes its cells by key, and
 * answers the report's questions about it.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_pvt.h"

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
		return run_nomem(err, errlen);
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
	ret = run_load_results(run, path, err, errlen);
	if (ret < 0)
		return ret;
	ret = index_cells(run);
	if (ret < 0)
		return run_nomem(err, errlen);
	if (exists(dir, "histograms.csv", path, sizeof(path))) {
		ret = run_load_hist(run, path, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (exists(dir, "benchmarks.json", path, sizeof(path))) {
		ret = run_load_bench(run, path, err, errlen);
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
		ret = run_check_env(run, path, err, errlen);
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

		run_free_key(c->mode, c->backend, c->placement);
		free(c->status);
		free(c->note);
		free(c->reps);
	}
	for (size_t i = 0; i < run->nhist; i++)
		run_free_key(run->hist[i].mode, run->hist[i].backend, run->hist[i].placement);
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
			     : run_index_of(run_modes, 2, c->mode); /* latency 0, throughput 1 */

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
