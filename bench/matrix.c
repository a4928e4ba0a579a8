/* SPDX-License-Identifier: MIT */
/*
 * Planning the matrix and running each cell as one google-benchmark
 * benchmark.  google-benchmark calls a cell's function once per run: first
 * with growing iteration counts until the run lasts --benchmark_min_time,
 * then once per further repetition with that same count.  So the runs it
 * reports are exactly those with the largest iteration count seen; we keep
 * their results (and merged histograms) for results.csv and histograms.csv.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb.h"
#include "ipcq.h"
#include "matrix.h"

/* The mechanisms with a bare loop; pipe-stream has nothing else (not an ipcq backend). */
static const char *const bare_mechs[] = {"pipe", "pipe-stream", "sysv", "mqueue",
					 "shm",	 "unix",	"tcp"};

static struct cell *add(struct cell **cells, int *n, int *cap)
{
	struct cell *c;

	if (*n == *cap) {
		int ncap = *cap ? 2 * *cap : 64;
		c = realloc(*cells, (size_t)ncap * sizeof(*c));
		if (!c)
			return NULL;
		*cells = c;
		*cap = ncap;
	}
	c = &(*cells)[(*n)++];
	memset(c, 0, sizeof(*c));
	return c;
}

static int fill(struct cell *c, enum bench_mode m, const char *backend, size_t size, int p, int q,
		enum topo_rel rel, const int *cpus, const char *why)
{
	c->mode = m;
	snprintf(c->backend, sizeof(c->backend), "%s", backend);
	c->size = size;
	c->producers = p;
	c->consumers = q;
	c->rel = rel;
	c->cpus[0] = cpus[0];
	c->cpus[1] = cpus[1];
	snprintf(c->name, sizeof(c->name), "%s/%s/%zu/%dx%d/%s", bench_mode_name(m), backend, size,
		 p, q, topo_rel_name(rel));
	if (why) {
		c->skip = true;
		snprintf(c->note, sizeof(c->note), "%s", why);
	} else if (bench_probe(c, c->note, sizeof(c->note)) < 0) {
		c->skip = true;
	}
	if (m != MODE_THROUGHPUT) {
		c->merged = malloc(sizeof(*c->merged));
		if (!c->merged)
			return -ENOMEM;
		hist_init(c->merged);
	}
	return 0;
}

/* A rate or wakeup cell: its rate or gap, in its name too (one cell per rate or gap). */
static void param(struct cell *c, double rate, int64_t gap_ns, double duration)
{
	size_t n = strlen(c->name);

	c->rate = rate;
	c->gap_ns = gap_ns;
	c->duration = duration;
	if (c->mode == MODE_WAKEUP)
		snprintf(c->name + n, sizeof(c->name) - n, "/gap_ns=%lld", (long long)gap_ns);
	else if (rate > 0)
		snprintf(c->name + n, sizeof(c->name) - n, "/rate=%.0f", rate);
	else
		snprintf(c->name + n, sizeof(c->name) - n, "/rate=max");
	if (!c->skip && c->size < BENCH_RATE_MIN_SIZE) {
		c->skip = true;
		snprintf(c->note, sizeof(c->note),
			 "%s messages carry their due time in bytes 8..15: at least %d bytes",
			 bench_mode_name(c->mode), BENCH_RATE_MIN_SIZE);
	}
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t k = 0; k < n; k++)
		if (list[k] && !strcmp(list[k], s))
			return true;
	return false;
}

static bool is_bare(const char *backend)
{
	return in_list(bare_mechs, sizeof(bare_mechs) / sizeof(bare_mechs[0]), backend);
}

static bool is_ipcq(const char *backend)
{
	const char *const *b = ipcq_backends();
	size_t n = 0;

	while (b && b[n])
		n++;
	return in_list(b, n, backend);
}

int matrix_plan(const struct matrix_opts *o, struct topo *t, struct cell **out)
{
	struct cell *cells = NULL, *c;
	int n = 0, cap = 0, r, s, b, p;

#define ADD(...)                                                            \
	do {                                                                \
		if (!(c = add(&cells, &n, &cap)) || fill(c, __VA_ARGS__)) { \
			matrix_free(cells, n);                              \
			return -ENOMEM;                                     \
		}                                                           \
	} while (0)

	for (r = 0; r < o->nrels; r++) {
		int cpus[2] = {-1, -1};
		const char *why = NULL;

		if (topo_pair(t, o->rels[r], cpus, &why) < 0 && !why)
			why = "the machine lacks this placement";
		if (o->modes[MODE_FLOOR])
			ADD(MODE_FLOOR, "floor", 64, 1, 1, o->rels[r], cpus, why);
		/* Each bare loop right before its queue: compared under the same load. */
		for (s = 0; s < o->nsizes; s++)
			for (b = 0; b < o->nbackends; b++) {
				if (o->modes[MODE_BARE] && is_bare(o->backends[b]))
					ADD(MODE_BARE, o->backends[b], o->sizes[s], 1, 1,
					    o->rels[r], cpus, why);
				if (o->modes[MODE_LATENCY] && is_ipcq(o->backends[b]))
					ADD(MODE_LATENCY, o->backends[b], o->sizes[s], 1, 1,
					    o->rels[r], cpus, why);
			}
		for (s = 0; o->modes[MODE_THROUGHPUT] && s < o->nsizes; s++)
			for (p = 0; p < o->npairs; p++)
				for (b = 0; b < o->nbackends; b++)
					if (is_ipcq(o->backends[b]))
						ADD(MODE_THROUGHPUT, o->backends[b], o->sizes[s],
						    o->pairs[p][0], o->pairs[p][1], o->rels[r],
						    cpus, why);
		const size_t *ls = o->nload_sizes ? o->load_sizes : o->sizes;
		int nls = o->nload_sizes ? o->nload_sizes : o->nsizes;

		for (s = 0; o->modes[MODE_RATE] && s < nls; s++)
			for (p = 0; p < o->nrates; p++)
				for (b = 0; b < o->nbackends; b++)
					if (is_ipcq(o->backends[b])) {
						ADD(MODE_RATE, o->backends[b], ls[s], 1, 1,
						    o->rels[r], cpus, why);
						param(c, o->rates[p], 0, o->duration);
					}
		for (s = 0; o->modes[MODE_WAKEUP] && s < nls; s++)
			for (p = 0; p < o->ngaps; p++)
				for (b = 0; b < o->nbackends; b++)
					if (is_ipcq(o->backends[b])) {
						ADD(MODE_WAKEUP, o->backends[b], ls[s], 1, 1,
						    o->rels[r], cpus, why);
						param(c, 0, o->gaps[p], o->duration);
					}
	}
#undef ADD
	*out = cells;
	return n;
}

void matrix_free(struct cell *cells, int n)
{
	for (int i = 0; i < n; i++) {
		free(cells[i].reps);
		free(cells[i].merged);
	}
	free(cells);
}

static struct topo *g_topo;
static bool g_progress;
static int g_total, g_reps;
static struct cell *g_cells;
static int64_t g_t0, g_shown;
static struct hist g_hist; /* one run's histogram, before it is kept */

/*
 * One line on stderr, at most once a second: cells done of all, the cell
 * starting now, time left.  Repetitions of all cells are interleaved at
 * random, so a cell is done only when all its repetitions are; time left
 * is reckoned from the repetitions done, which advance evenly, of the cells
 * that take time (a cell skipped before running takes none).
 */
static void progress(const struct cell *now)
{
	int64_t t = pool_now_ns(), units = 0, total = 0;
	double el = (double)(t - g_t0) / 1e9;
	int cells = 0;

	if (!g_progress || (g_shown && t - g_shown < 1000000000))
		return;
	g_shown = t;
	for (int i = 0; i < g_total; i++) {
		const struct cell *c = &g_cells[i];
		int u = c->failed || c->interrupted ? g_reps
						    : (c->nreps < g_reps ? c->nreps : g_reps);

		if (c->skip) {
			cells++;
			continue;
		}
		units += u;
		total += g_reps;
		cells += u == g_reps;
	}
	if (units)
		fprintf(stderr, "[%d/%d cells done] now %s  (%.0f s elapsed, about %.0f s left)\n",
			cells, g_total, now->name, el,
			el / (double)units * (double)(total - units));
	else
		fprintf(stderr, "[%d/%d cells done] now %s\n", cells, g_total, now->name);
}

/* Keeps a run if it is one google-benchmark reports: see the top of this file. */
static int record(struct cell *c, int64_t iters, const struct run_result *r, const struct hist *h)
{
	if (iters > c->final_iters) {
		c->final_iters = iters;
		c->nreps = 0;
		if (c->merged)
			hist_init(c->merged);
	}
	if (c->nreps == c->capreps) {
		int ncap = c->capreps ? 2 * c->capreps : 8;
		struct run_result *n = realloc(c->reps, (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->reps = n;
		c->capreps = ncap;
	}
	c->reps[c->nreps++] = *r;
	if (c->merged)
		hist_merge(c->merged, h);
	return 0;
}

/*
 * Ctrl-C during a run of @iters iterations.  The runs kept so far count only
 * if google-benchmark had already called us again with their count: then
 * they are reported repetitions, not runs it was still sizing.
 */
static void interrupted(struct cell *c, int64_t iters)
{
	if (c->interrupted || (c->nreps && c->note[0]))
		return; /* said already */
	if (c->nreps && iters == c->final_iters) {
		snprintf(c->note, sizeof(c->note), "interrupted after %d repetition%s", c->nreps,
			 c->nreps == 1 ? "" : "s");
		return;
	}
	c->nreps = 0;
	c->interrupted = true;
	if (c->merged)
		hist_init(c->merged);
}

static void cell_bench(struct gb_state *s, void *arg)
{
	static const char *const lat_names[7] = {"lat_min_ns", "lat_mean_ns", "lat_p50_ns",
						 "lat_p90_ns", "lat_p99_ns",  "lat_p999_ns",
						 "lat_max_ns"};
	struct cell *c = arg;
	struct run_result r;
	char err[BENCH_NOTE];
	int64_t iters;
	int rc, i;

	c->started = true;
	progress(c);
	if (c->skip || c->failed) {
		gb_skip(s, c->note);
		return;
	}
	iters = gb_max_iterations(s);
	rc = bench_stop ? -EINTR : bench_measure(c, g_topo, iters, &r, &g_hist, err, sizeof(err));
	if (rc == -EINTR || (rc && bench_stop)) { /* SIGTERM to the group kills workers too */
		interrupted(c, iters);
		gb_skip(s, "interrupted");
		return;
	}
	if (rc) {
		c->failed = true;
		snprintf(c->note, sizeof(c->note), "%s", err);
		gb_skip(s, err);
		return;
	}
	if (record(c, iters, &r, &g_hist)) {
		c->failed = true;
		snprintf(c->note, sizeof(c->note), "out of memory");
		gb_skip(s, c->note);
		return;
	}
	gb_counter(s, "messages", r.messages);
	if (c->mode == MODE_RATE || c->mode == MODE_WAKEUP)
		gb_counter(s, "achieved_rate", r.achieved);
	if (c->mode == MODE_THROUGHPUT) {
		gb_counter(s, "msgs_per_s", r.msgs_per_s);
		gb_counter(s, "bytes_per_s", r.bytes_per_s);
	} else {
		for (i = 0; i < 7; i++)
			gb_counter(s, lat_names[i], r.lat[i]);
	}
	gb_run_measured(s, r.seconds);
	gb_set_items_processed(s, (int64_t)r.messages);
	gb_set_bytes_processed(s, (int64_t)r.messages * (int64_t)c->size);
}

int matrix_register(struct cell *cells, int n, struct topo *t, int reps, bool show)
{
	g_topo = t;
	g_progress = show;
	g_cells = cells;
	g_total = n;
	g_reps = reps > 0 ? reps : 1;
	g_shown = 0;
	g_t0 = pool_now_ns();
	for (int i = 0; i < n; i++) {
		struct gb_bench *b = gb_register(cells[i].name, cell_bench, &cells[i]);

		if (!b)
			return -ENOMEM;
		/* A rate or wakeup run lasts its --duration: google-benchmark must not grow it. */
		if (cells[i].mode == MODE_RATE || cells[i].mode == MODE_WAKEUP)
			gb_bench_iterations(b, 1);
	}
	return 0;
}
