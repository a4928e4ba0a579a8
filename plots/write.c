/* SPDX-License-Identifier: MIT */
/*
 * index.html (one self-contained page) and summary.md: the same tables
 * twice.  Here the model both pages share (write_pvt.h): the texts of the
 * cells, the sections as tables of one model, and writing a page; how HTML
 * and Markdown write them: write_html.c, write_md.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "write_pvt.h"

/* Keys of env.json shown under "Machine", in this order, with their labels. */
static const char *const env_keys[][2] = {
	{"host", "host"},
	{"date", "date"},
	{"kernel", "kernel"},
	{"cpu_model", "CPU"},
	{"cores", "cores"},
	{"pus", "hardware threads"},
	{"smt", "SMT"},
	{"numa_nodes", "NUMA nodes"},
	{"topology", "topology"},
	{"governor", "governor"},
	{"clocksource", "clocksource"},
	{"tsc_invariant", "invariant TSC"},
	{"timer", "timer"},
	{"timer_cost_ns", "clock read (ns)"},
	{"ipc_limits", "IPC limits"},
	{"compiler", "compiler"},
	{"cflags", "flags"},
	{"git_revision", "git revision"},
	{"profile", "profile"},
	{"ipcbench_version", "ipcbench"},
};

/* The cells of one table row, as text (both writers escape them their own way). */
struct row_text {
	char mode[48]; /* rate and wakeup: with their rate or gap */
	char size[32], pc[32], p50[32], p99[32], max[32], msgs[32], bytes[40], cv[32], reps[16];
	char cpu[32], util[32], csw[32]; /* shown when the run has the CPU columns */
};

/* CPU-seconds per wall-second: 1.96 */
static void fmt_util(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "–");
	else
		snprintf(buf, len, "%.2f", v);
}

static void row_text(const struct rep_cell *c, struct row_text *t)
{
	rep_mode_label(c, t->mode, sizeof(t->mode));
	rep_size_label(c->size, t->size, sizeof(t->size));
	snprintf(t->pc, sizeof(t->pc), "%d×%d", c->producers, c->consumers);
	rep_fmt_ns(c->lat[LAT_P50], t->p50, sizeof(t->p50));
	rep_fmt_ns(c->lat[LAT_P99], t->p99, sizeof(t->p99));
	rep_fmt_ns(c->lat[LAT_MAX], t->max, sizeof(t->max));
	/* rate, wakeup: the rate the consumer got (a saturated cell's too) */
	rep_fmt_num(isnan(c->msgs_per_s) && !isnan(c->achieved) ? c->achieved : c->msgs_per_s,
		    t->msgs, sizeof(t->msgs));
	rep_fmt_bps(c->bytes_per_s, t->bytes, sizeof(t->bytes));
	if (isnan(c->cv))
		snprintf(t->cv, sizeof(t->cv), "–");
	else
		snprintf(t->cv, sizeof(t->cv), "%.1f%%", c->cv * 100);
	if (isnan(c->repetitions))
		snprintf(t->reps, sizeof(t->reps), "–");
	else
		snprintf(t->reps, sizeof(t->reps), "%.0f", c->repetitions);
	rep_fmt_ns(c->cpu_ns, t->cpu, sizeof(t->cpu));
	fmt_util(c->cpu_util, t->util, sizeof(t->util));
	if (isnan(c->csw))
		snprintf(t->csw, sizeof(t->csw), "–");
	else
		snprintf(t->csw, sizeof(t->csw), "%.3g", c->csw);
}

/* Saturated rate cells are counted apart: measured, but the load was not carried. */
static void counts(const struct rep_run *run, size_t *ok, size_t *skipped, size_t *failed,
		   size_t *saturated)
{
	*ok = *skipped = *failed = *saturated = 0;
	for (size_t i = 0; i < run->ncells; i++) {
		const char *s = run->cells[i].status;

		if (!strcmp(s, "ok"))
			(*ok)++;
		else if (!strcmp(s, "skipped"))
			(*skipped)++;
		else if (!strcmp(s, "saturated"))
			(*saturated)++;
		else
			(*failed)++;
	}
}

/* "N cells: a ok, b skipped, c failed[, d saturated]" into @buf: the pages' first line. */
void counts_line(const struct rep_run *run, char *buf, size_t len)
{
	size_t ok, skipped, failed, sat;

	counts(run, &ok, &skipped, &failed, &sat);
	snprintf(buf, len, "%zu cells: %zu ok, %zu skipped, %zu failed", run->ncells, ok, skipped,
		 failed);
	if (sat)
		snprintf(buf + strlen(buf), len - strlen(buf), ", %zu saturated", sat);
}

/* ---- At a glance: one row per backend at one size and placement ---- */

static const struct rep_cell *lookup(const struct rep_run *run, const char *mode,
				     const char *backend, long size, const char *pl)
{
	struct rep_cell key = {.mode = (char *)mode,
			       .backend = (char *)backend,
			       .placement = (char *)pl,
			       .size = size,
			       .producers = 1,
			       .consumers = 1};

	return rep_run_find(run, &key, false);
}

/* The most measured placement, and 64 bytes there when measured, else its smallest size. */
static bool glance_pick(const struct rep_run *run, struct glance *g)
{
	memset(g, 0, sizeof(*g));
	g->size = -1;
	g->placement = rep_main_placement(run, NULL);
	if (!g->placement)
		return false;
	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];

		if (!rep_cell_ok(c) || strcmp(c->placement, g->placement) ||
		    (strcmp(c->mode, "latency") && strcmp(c->mode, "throughput")))
			continue;
		if (g->size != 64 && (g->size < 0 || c->size == 64 || c->size < g->size))
			g->size = c->size;
	}
	return g->size >= 0;
}

/* The glance table of RUN into G (no row: nothing was measured).  Returns 0 or -ENOMEM. */
static int glance_build(const struct rep_run *run, struct glance *g)
{
	size_t nb;
	char **b;

	if (!glance_pick(run, g))
		return 0;
	const struct rep_cell *fl = lookup(run, "floor", "floor", g->size, g->placement);

	if (rep_run_backends(run, &b, &nb) < 0)
		return -ENOMEM;
	for (size_t i = 0; i <= nb && g->n < sizeof(g->row) / sizeof(g->row[0]); i++) {
		struct glance_row *r = &g->row[g->n];

		r->backend = i < nb ? b[i] : "floor";
		r->lat = i < nb ? lookup(run, "latency", r->backend, g->size, g->placement) : fl;
		r->tput = i < nb ? lookup(run, "throughput", r->backend, g->size, g->placement)
				 : NULL;
		r->vs_floor = NAN;
		if (r->lat && rep_cell_ok(r->lat) && fl && rep_cell_ok(fl))
			r->vs_floor = r->lat->lat[LAT_P50] / fl->lat[LAT_P50];
		if (r->lat || r->tput)
			g->n++;
	}
	free(b);
	return 0;
}

enum { GLANCE_COLS = 9, GLANCE_CPU = 5 /* the first CPU column */ };

/*
 * Text of one glance row: p50, p99, msgs/s, bytes/s, x floor, then CPU per
 * round trip and CPU util of the latency cell, CPU per message and CPU util
 * of the throughput cell; and the reason when not ok.
 */
static void glance_text(const struct glance_row *r, char t[GLANCE_COLS][48], const char **why)
{
	const struct rep_cell *l = r->lat && rep_cell_ok(r->lat) ? r->lat : NULL;
	const struct rep_cell *p = r->tput && rep_cell_ok(r->tput) ? r->tput : NULL;

	rep_fmt_ns(l ? l->lat[LAT_P50] : NAN, t[0], 48);
	rep_fmt_ns(l ? l->lat[LAT_P99] : NAN, t[1], 48);
	rep_fmt_num(p ? p->msgs_per_s : NAN, t[2], 48);
	rep_fmt_bps(p ? p->bytes_per_s : NAN, t[3], 48);
	if (isnan(r->vs_floor))
		snprintf(t[4], 48, "–");
	else
		snprintf(t[4], 48, r->vs_floor >= 10 ? "%.0f×" : "%.2g×", r->vs_floor);
	rep_fmt_ns(l ? l->cpu_ns : NAN, t[5], 48);
	fmt_util(l ? l->cpu_util : NAN, t[6], 48);
	rep_fmt_ns(p ? p->cpu_ns : NAN, t[7], 48);
	fmt_util(p ? p->cpu_util : NAN, t[8], 48);
	*why = "";
	if (r->lat && !rep_cell_ok(r->lat))
		*why = r->lat->note;
	else if (r->tput && !rep_cell_ok(r->tput))
		*why = r->tput->note;
}

/* Column headers of the glance table's CPU columns: which cell each figure is of. */
static const char *const glance_cpu_head[GLANCE_COLS - GLANCE_CPU] = {
	"CPU ns/msg (latency, per round trip)", "CPU util (latency)", "CPU ns/msg (throughput)",
	"CPU util (throughput)"};

/* ---- Clock and harness (env.json, checked by rep_run_load) ---- */

/*
 * The warnings about the clock, each as PRE, the text through ESC, POST:
 * a clocksource other than tsc makes every timestamp a slow read, a TSC
 * that is not invariant may tick at another rate or stop.  Nothing when
 * env.json does not say (older runs, other architectures).
 */
static void clock_warnings(FILE *f, const struct rep_run *run, esc_fn esc, const char *pre,
			   const char *post)
{
	const json_t *cs = run->env ? json_object_get(run->env, "clocksource") : NULL;
	const json_t *inv = run->env ? json_object_get(run->env, "tsc_invariant") : NULL;
	const json_t *tc = run->env ? json_object_get(run->env, "timer_cost_ns") : NULL;
	char buf[128];

	if (json_is_string(cs) && strcmp(json_string_value(cs), "tsc") != 0) {
		fputs(pre, f);
		esc(f, "the clocksource is ");
		esc(f, json_string_value(cs));
		if (json_is_number(tc))
			snprintf(buf, sizeof(buf),
				 ", not tsc: every latency includes a slow clock read: %.0f ns "
				 "(timer_cost_ns)",
				 json_number_value(tc));
		else
			snprintf(buf, sizeof(buf),
				 ", not tsc: every latency includes a slow clock read (its cost "
				 "was not measured)");
		esc(f, buf);
		fputs(post, f);
	}
	if (json_is_false(inv)) {
		fputs(pre, f);
		esc(f, "the TSC is not invariant (constant_tsc and nonstop_tsc are not both in "
		       "/proc/cpuinfo): its rate may follow the CPU frequency or stop in idle "
		       "states, and times read from it may be wrong");
		fputs(post, f);
	}
}

/*
 * Text of harness row I: size, ns per message, the time per message of the
 * shm 1 x 1 throughput cell of that size at PL, and the harness's share of it.
 */
static void harness_text(const struct rep_run *run, size_t i, const char *pl, char t[4][48])
{
	const struct rep_cell *c =
		pl ? lookup(run, "throughput", "shm", run->harness_size[i], pl) : NULL;
	double per = c && rep_cell_ok(c) && c->msgs_per_s > 0 ? 1e9 / c->msgs_per_s : NAN;

	rep_size_label(run->harness_size[i], t[0], 48);
	rep_fmt_ns(run->harness_ns[i], t[1], 48);
	rep_fmt_ns(per, t[2], 48);
	if (isnan(per))
		snprintf(t[3], 48, "–");
	else
		snprintf(t[3], 48, "%.1f%%", 100 * run->harness_ns[i] / per);
}

static const char harness_title[] = "harness: encode+verify per message, no queue";

/* ---- The comparison's figures as text ---- */

static void cell_name(const struct rep_cell *c, char *buf, size_t len)
{
	char sl[32], ml[48];

	rep_size_label(c->size, sl, sizeof(sl));
	rep_mode_label(c, ml, sizeof(ml));
	snprintf(buf, len, "%s %s %s %d×%d %s", ml, c->backend, sl, c->producers, c->consumers,
		 c->placement);
}

static void fmt_metric(const struct rep_compare_row *r, double v, char *buf, size_t len)
{
	if (!strcmp(r->metric, "lat_p50_ns"))
		rep_fmt_ns(v, buf, len);
	else {
		rep_fmt_num(v, buf, len);
		strncat(buf, " msg/s", len - strlen(buf) - 1);
	}
}

void cmp_summary(const struct rep_compare *cmp, char *buf, size_t len)
{
	size_t fast = 0, slow = 0, same = 0;

	for (size_t i = 0; i < cmp->n; i++) {
		const char *v = cmp->rows[i].verdict;

		fast += !strcmp(v, "faster");
		slow += !strcmp(v, "slower");
		same += !strcmp(v, "within noise");
	}
	snprintf(buf, len,
		 "%zu cells compared: %zu faster, %zu slower, %zu within noise, %zu undecided; "
		 "%zu not ok in one of the runs, %zu only in this run, %zu only in the base",
		 cmp->n, fast, slow, same, cmp->n - fast - slow - same, cmp->not_ok, cmp->only_cur,
		 cmp->only_base);
}

static void p_text(const struct rep_compare_row *r, char *buf, size_t len)
{
	if (isnan(r->p))
		snprintf(buf, len, "–");
	else
		snprintf(buf, len, "%.3g", r->p);
}

/* ---- Tables: one model, written as HTML or Markdown ---- */

static void tab_col(struct tab *t, const char *head, bool num)
{
	t->head[t->ncols] = head;
	t->num[t->ncols++] = num;
}

/* ---- The sections of both pages ---- */

/* The machine (env.json), and the warnings about its clock. */
void env_section(FILE *f, const struct writer *w, const struct rep_run *run)
{
	struct tab t = {.ncols = 2, .row_head = true};
	char buf[2048];

	if (!run->env) {
		fprintf(f, "%sThe run has no env.json: the machine is unknown.%s", w->why_open,
			w->why_end);
		return;
	}
	w->head(f, w, &t);
	for (size_t i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
		struct tab_row r = {.text = {env_keys[i][1], buf}};

		rep_env_str(run, env_keys[i][0], buf, sizeof(buf));
		if (buf[0])
			w->row(f, w, &t, &r);
	}
	fputs(w->tab_end, f);
	clock_warnings(f, run, w->esc, w->warn_open, w->warn_end);
}

/* The notes for the reader, when there are any. */
void notes_section(FILE *f, const struct writer *w, const struct rep_notes *notes)
{
	if (!notes->n)
		return;
	fprintf(f, w->h2, "Notes");
	fputs(w->ul_open, f);
	for (size_t i = 0; i < notes->n; i++) {
		fputs(w->li_open, f);
		w->esc(f, notes->line[i]);
		fputs(w->li_end, f);
	}
	fputs(w->ul_end, f);
}

/* Every cell of the run, in the order of results.csv. */
void results_table(FILE *f, const struct writer *w, const struct rep_run *run)
{
	static const char *const head[] = {"mode",    "backend", "size", "P×C",	    "placement",
					   "status",  "p50",	 "p99",	 "max",	    "msgs/s",
					   "bytes/s", "cv",	 "reps", "CPU/msg", "CPU util",
					   "csw/msg", "note"};
	static const bool num[] = {false, false, true, false, false, false, true, true, true,
				   true,  true,	 true, true,  true,  true,  true, false};
	struct tab t = {0};

	for (size_t k = 0; k < sizeof(head) / sizeof(head[0]); k++)
		if (run->have_cpu || k < 13 || k == 16)
			tab_col(&t, head[k], num[k]);
	w->head(f, w, &t);
	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];
		struct row_text x;
		struct tab_row r = {0};
		size_t k = 0;
		const char *cpu[] = {x.cpu, x.util, x.csw};

		row_text(c, &x);
		const char *text[] = {x.mode,	 c->backend, x.size, x.pc,  c->placement,
				      c->status, x.p50,	     x.p99,  x.max, x.msgs,
				      x.bytes,	 x.cv,	     x.reps};

		for (; k < sizeof(text) / sizeof(text[0]); k++)
			r.text[k] = text[k];
		for (size_t j = 0; run->have_cpu && j < 3; j++)
			r.text[k++] = cpu[j];
		r.text[k] = c->note;
		r.row_cls = !strcmp(c->status, "ok")	    ? "ok"
			    : !strcmp(c->status, "skipped") ? "skipped"
							    : "failed";
		r.strong[5] = strcmp(c->status, "ok") != 0;
		w->row(f, w, &t, &r);
	}
	fputs(w->tab_end, f);
}

/* One row per backend at one size and placement, 1 x 1 (G from glance_build). */
void glance_table(FILE *f, const struct writer *w, const struct rep_run *run,
		  const struct glance *g)
{
	static const char *const head[GLANCE_CPU] = {"p50 round trip", "p99 round trip", "msgs/s",
						     "bytes/s", "p50 ÷ floor"};
	struct tab t = {0};
	char sl[32];

	if (!g->n) {
		fprintf(f, "%sNo cell was measured.%s", w->why_open, w->why_end);
		return;
	}
	rep_size_label(g->size, sl, sizeof(sl));
	fprintf(f, "%s%s messages, one producer and one consumer, placement ", w->p_open, sl);
	w->esc(f, g->placement);
	fprintf(f, ".%s", w->p_end);
	tab_col(&t, "backend", false);
	for (int k = 0; k < GLANCE_CPU; k++)
		tab_col(&t, head[k], true);
	for (int k = 0; run->have_cpu && k < GLANCE_COLS - GLANCE_CPU; k++)
		tab_col(&t, glance_cpu_head[k], true);
	tab_col(&t, "note", false);
	w->head(f, w, &t);
	for (size_t i = 0; i < g->n; i++) {
		char text[GLANCE_COLS][48];
		struct tab_row r = {0};
		size_t k = 0;

		r.text[k++] = g->row[i].backend;
		glance_text(&g->row[i], text, &r.text[t.ncols - 1]);
		for (int j = 0; j < (run->have_cpu ? GLANCE_COLS : GLANCE_CPU); j++)
			r.text[k++] = text[j];
		w->row(f, w, &t, &r);
	}
	fputs(w->tab_end, f);
}

/* The benchmark's own cost per message (env.json's harness_ns_per_msg), when the run has it. */
void harness_section(FILE *f, const struct writer *w, const struct rep_run *run)
{
	const char *pl = rep_main_placement(run, "throughput");
	struct tab t = {0};

	if (!run->nharness)
		return;
	fprintf(f, w->h2, "Harness cost");
	fputs(w->p_open, f);
	w->esc(f, harness_title);
	fputs(": the benchmark's own work on each message, measured alone; share: of the time per "
	      "message of the shm throughput cell (1×1",
	      f);
	if (pl) {
		fputs(", ", f);
		w->esc(f, pl);
	}
	fprintf(f, ") at that size.%s", w->p_end);
	tab_col(&t, "size", true);
	tab_col(&t, "encode+verify per msg", true);
	tab_col(&t, "shm 1×1 time per msg", true);
	tab_col(&t, "share of shm", true);
	w->head(f, w, &t);
	for (size_t i = 0; i < run->nharness; i++) {
		char text[4][48];
		struct tab_row r = {.text = {text[0], text[1], text[2], text[3]}};

		harness_text(run, i, pl, text);
		w->row(f, w, &t, &r);
	}
	fputs(w->tab_end, f);
}

/* Each cell measured in both runs: the medians, the ratio, the verdict and how it was reached. */
void compare_table(FILE *f, const struct writer *w, const struct rep_compare *cmp)
{
	static const char *const head[] = {"cell",  "metric",  "base", "this run", "ratio",
					   "speed", "verdict", "p",    "method"};
	static const bool num[] = {false, false, true, true, true, true, false, true, false};
	struct tab t = {0};

	for (size_t k = 0; k < sizeof(head) / sizeof(head[0]); k++)
		tab_col(&t, head[k], num[k]);
	w->head(f, w, &t);
	for (size_t i = 0; i < cmp->n; i++) {
		const struct rep_compare_row *c = &cmp->rows[i];
		char name[256], vb[48], vc[48], ratio[32], speed[32], p[32];
		bool same = !strcmp(c->verdict, "within noise");
		struct tab_row r = {
			.text = {name, c->metric, vb, vc, ratio, speed, c->verdict, p, c->method}};

		cell_name(c->cur, name, sizeof(name));
		fmt_metric(c, c->vbase, vb, sizeof(vb));
		fmt_metric(c, c->vcur, vc, sizeof(vc));
		snprintf(ratio, sizeof(ratio), "%.3f", c->ratio);
		snprintf(speed, sizeof(speed), "%.2f×", c->speedup);
		p_text(c, p, sizeof(p));
		r.cls[6] = same ? "same" : c->verdict;
		r.strong[6] = !same;
		w->row(f, w, &t, &r);
	}
	fputs(w->tab_end, f);
}

/* Writes PATH with PAGE (write_html.c, write_md.c).  Returns 0 or -errno. */
int write_page(const char *path, void (*page)(FILE *f, const struct page *pg),
	       const struct rep_run *run, const struct rep_run *base, const struct rep_compare *cmp,
	       const struct rep_picture *pics, size_t npics, const struct rep_notes *notes)
{
	struct page pg = {
		.run = run, .base = base, .cmp = cmp, .pics = pics, .npics = npics, .notes = notes};
	FILE *f;

	if (glance_build(run, &pg.glance) < 0)
		return -ENOMEM;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	page(f, &pg);
	return fclose(f) ? -errno : 0;
}
