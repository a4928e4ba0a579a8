/* SPDX-License-Identifier: MIT */
/* index.html (one self-contained page) and summary.md: the same tables twice. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_pvt.h"

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
static void counts_line(const struct rep_run *run, char *buf, size_t len)
{
	size_t ok, skipped, failed, sat;

	counts(run, &ok, &skipped, &failed, &sat);
	snprintf(buf, len, "%zu cells: %zu ok, %zu skipped, %zu failed", run->ncells, ok, skipped,
		 failed);
	if (sat)
		snprintf(buf + strlen(buf), len - strlen(buf), ", %zu saturated", sat);
}

/* ---- At a glance: one row per backend at one size and placement ---- */

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

/* Escapes text for one writer: html_esc or md_esc. */
typedef void (*esc_fn)(FILE *f, const char *s);

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

/* ---- Text: escaped for HTML, or for Markdown ---- */

static void html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '<'    ? "&lt;"
				: *s == '>'  ? "&gt;"
				: *s == '&'  ? "&amp;"
				: *s == '"'  ? "&quot;"
				: *s == '\'' ? "&#39;"
					     : NULL;

		if (e)
			fputs(e, f);
		else
			fputc(*s, f);
	}
}

/* Text in a paragraph or a table cell: one line, no markup of its own (no link either). */
static void md_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '*' || *s == '`' || *s == '<' || *s == '[' ||
		    *s == ']')
			fputc('\\', f);
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
	}
}

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

static void cmp_summary(const struct rep_compare *cmp, char *buf, size_t len)
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

static void tab_col(struct tab *t, const char *head, bool num)
{
	t->head[t->ncols] = head;
	t->num[t->ncols++] = num;
}

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

static void html_head(FILE *f, const struct writer *w, const struct tab *t)
{
	fputs("<table>\n", f);
	if (!t->head[0])
		return;
	fputs("<tr>", f);
	for (size_t k = 0; k < t->ncols; k++) {
		fputs("<th>", f);
		w->esc(f, t->head[k]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
}

static void html_row(FILE *f, const struct writer *w, const struct tab *t, const struct tab_row *r)
{
	fputs("<tr", f);
	if (r->row_cls)
		fprintf(f, " class=\"%s\"", r->row_cls);
	fputc('>', f);
	for (size_t k = 0; k < t->ncols; k++) {
		const char *cls = r->cls[k] ? r->cls[k] : t->num[k] ? "n" : NULL;
		const char *tag = t->row_head && k == 0 ? "th" : "td";

		fprintf(f, "<%s", tag);
		if (cls)
			fprintf(f, " class=\"%s\"", cls);
		fputc('>', f);
		w->esc(f, r->text[k]);
		fprintf(f, "</%s>", tag);
	}
	fputs("</tr>\n", f);
}

static void md_head(FILE *f, const struct writer *w, const struct tab *t)
{
	fputc('|', f);
	for (size_t k = 0; k < t->ncols; k++) {
		if (t->head[k]) {
			fputc(' ', f);
			w->esc(f, t->head[k]);
		}
		fputs(" |", f);
	}
	fputs("\n|", f);
	for (size_t k = 0; k < t->ncols; k++)
		fputs(t->num[k] ? "--:|" : "---|", f);
	fputc('\n', f);
}

static void md_row(FILE *f, const struct writer *w, const struct tab *t, const struct tab_row *r)
{
	fputc('|', f);
	for (size_t k = 0; k < t->ncols; k++) {
		const char *b = r->strong[k] ? "**" : "";

		fprintf(f, " %s", b);
		w->esc(f, r->text[k]);
		fprintf(f, "%s |", b);
	}
	fputc('\n', f);
}

static const struct writer html = {
	.esc = html_esc,
	.head = html_head,
	.row = html_row,
	.tab_end = "</table>\n",
	.h2 = "<h2>%s</h2>\n",
	.p_open = "<p>",
	.p_end = "</p>\n",
	.why_open = "<p class=\"why\">",
	.why_end = "</p>\n",
	.warn_open = "<p class=\"warn\"><strong>Warning:</strong> ",
	.warn_end = ".</p>\n",
	.ul_open = "<ul>\n",
	.ul_end = "</ul>\n",
	.li_open = "<li>",
	.li_end = "</li>\n",
};

static const struct writer md = {
	.esc = md_esc,
	.head = md_head,
	.row = md_row,
	.tab_end = "",
	.h2 = "\n## %s\n\n",
	.p_open = "",
	.p_end = "\n\n",
	.why_open = "",
	.why_end = "\n",
	.warn_open = "\n**Warning:** ",
	.warn_end = ".\n",
	.ul_open = "",
	.ul_end = "",
	.li_open = "- ",
	.li_end = "\n",
};

/* ---- The sections of both pages ---- */

/* The machine (env.json), and the warnings about its clock. */
static void env_section(FILE *f, const struct writer *w, const struct rep_run *run)
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
static void notes_section(FILE *f, const struct writer *w, const struct rep_notes *notes)
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
static void results_table(FILE *f, const struct writer *w, const struct rep_run *run)
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
static void glance_table(FILE *f, const struct writer *w, const struct rep_run *run,
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
static void harness_section(FILE *f, const struct writer *w, const struct rep_run *run)
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
static void compare_table(FILE *f, const struct writer *w, const struct rep_compare *cmp)
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

/* What both pages show. */
struct page {
	const struct rep_run *run, *base; /* base: NULL without --compare */
	const struct rep_compare *cmp;
	const struct rep_picture *pics;
	size_t npics;
	const struct rep_notes *notes;
	struct glance glance;
};

/* ---- HTML ---- */

static const char css[] =
	"body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:2em auto;max-width:1250px;"
	"padding:0 1em;color:#222}\n"
	"h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\n"
	"table{border-collapse:collapse;font-size:.88em;margin:.5em 0}\n"
	"th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"th{background:#f2f2f2}tr.skipped td{background:#fff8e1;color:#6d5d00}\n"
	"tr.failed td{background:#fde8e8;color:#9b1c1c}\n"
	"td.faster{background:#e3f6ee;color:#05603a}td.slower{background:#fde8e0;color:#9a3412}\n"
	"figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\n"
	"figcaption{font-size:.9em;color:#555}.why{color:#8a6d00}\n"
	".warn{background:#fff3cd;border:1px solid #e0b000;padding:.4em .6em}\n"
	"pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\n";

static void html_results(FILE *f, const struct rep_run *run)
{
	char line[160];

	counts_line(run, line, sizeof(line));
	fprintf(f,
		"<p>%s. Latency is the round trip (median over repetitions), one-way in rate "
		"and wakeup cells; cv is the coefficient of variation across repetitions.</p>\n",
		line);
	results_table(f, &html, run);
}

static void html_compare(FILE *f, const struct rep_run *base, const struct rep_compare *cmp)
{
	char buf[512];

	fputs("<p>Base: <code>", f);
	html_esc(f, base->dir);
	cmp_summary(cmp, buf, sizeof(buf));
	fprintf(f,
		"</code>. %s. Ratio is this run ÷ base of the cell's metric (p50 round trip, or "
		"messages/s); the verdict comes from the repetitions (Mann–Whitney U test at "
		"p &lt; 0.05, or whether their ranges overlap), not from a fixed percentage. "
		"Also in <a href=\"compare.csv\">compare.csv</a>.</p>\n",
		buf);
	compare_table(f, &html, cmp);
}

static void html_pictures(FILE *f, const struct rep_picture *pics, size_t npics, bool compare)
{
	for (size_t i = 0; i < npics; i++) {
		const struct rep_picture *p = &pics[i];

		if ((strcmp(p->name, "compare") == 0) != compare)
			continue;
		if (!p->drawn) {
			fputs("<p class=\"why\">Not drawn: ", f);
			html_esc(f, p->title);
			fputs(" — ", f);
			html_esc(f, p->why);
			fputs(".</p>\n", f);
			continue;
		}
		fprintf(f, "<figure id=\"%s\"><img src=\"%s.svg\" alt=\"", p->name, p->name);
		html_esc(f, p->title);
		fputs("\"><figcaption>", f);
		html_esc(f, p->title);
		fprintf(f, " (<a href=\"%s.svg\">SVG</a>", p->name);
		if (p->png)
			fprintf(f, ", <a href=\"%s.png\">PNG</a>", p->name);
		fputs(")</figcaption></figure>\n", f);
	}
}

/*
 * index.html: machine, command, pictures, comparison, results, notes.
 * Pictures are <img> of files in the same directory, so the page needs no
 * server and nothing from the network.
 */
static void html_page(FILE *f, const struct page *pg)
{
	const struct rep_run *run = pg->run, *base = pg->base;
	const struct rep_compare *cmp = pg->cmp;
	const struct rep_picture *pics = pg->pics;
	size_t npics = pg->npics;
	char cmd[2048];

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "ipcbench report: ",
	      f);
	html_esc(f, rep_basename(run->dir));
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>ipcbench report: ", css);
	html_esc(f, rep_basename(run->dir));
	fputs("</h1>\n<h2>Machine</h2>\n", f);
	env_section(f, &html, run);
	rep_env_str(run, "command", cmd, sizeof(cmd));
	fputs("<h2>Command</h2>\n<pre>", f);
	html_esc(f, cmd[0] ? cmd : "(unknown: no env.json)");
	fputs("</pre>\n", f);
	if (cmp) {
		fputs("<h2>Comparison with the base run</h2>\n", f);
		html_pictures(f, pics, npics, true);
		html_compare(f, base, cmp);
	}
	fputs("<h2>At a glance</h2>\n", f);
	glance_table(f, &html, run, &pg->glance);
	harness_section(f, &html, run);
	fputs("<h2>Pictures</h2>\n", f);
	html_pictures(f, pics, npics, false);
	fputs("<h2>Results</h2>\n", f);
	html_results(f, run);
	notes_section(f, &html, pg->notes);
	fputs("<p><small>The data behind each picture is in <code>data/</code>; redraw one in this "
	      "directory with <code>GNUPLOT_LIB=PLOTS gnuplot -e \"in='data/NAME';out='NAME'\" "
	      "PLOTS/NAME.gp</code>, PLOTS being ipcbench's <code>plots/</code> directory."
	      "</small></p>\n</body>\n</html>\n",
	      f);
}

/* ---- Markdown ---- */

/* The longest run of backticks in S. */
static size_t longest_ticks(const char *s)
{
	size_t best = 0;

	for (size_t n; *s; s += n ? n : 1) {
		n = strspn(s, "`");
		if (n > best)
			best = n;
	}
	return best;
}

static void put_ticks(FILE *f, size_t n)
{
	while (n--)
		fputc('`', f);
}

/*
 * S verbatim in a code block (BLOCK) or a code span: fenced by more
 * backticks than any run in S, so that S cannot close it, and on one line
 * (line breaks and other control characters become spaces), so that it
 * cannot start a line of Markdown of its own.
 */
static void md_code(FILE *f, const char *s, bool block)
{
	size_t n = longest_ticks(s) + 1;

	if (block && n < 3)
		n = 3;
	put_ticks(f, n);
	fputs(block ? "\n" : " ", f);
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
	fputs(block ? "\n" : " ", f);
	put_ticks(f, n);
	if (block)
		fputc('\n', f);
}

static void md_results(FILE *f, const struct rep_run *run)
{
	char line[160];

	counts_line(run, line, sizeof(line));
	fprintf(f,
		"%s. Latency is the round trip (median over repetitions), one-way in rate and "
		"wakeup cells.\n\n",
		line);
	results_table(f, &md, run);
}

/* summary.md: the tables of index.html in Markdown. */
static void md_page(FILE *f, const struct page *pg)
{
	const struct rep_run *run = pg->run, *base = pg->base;
	const struct rep_compare *cmp = pg->cmp;
	char buf[2048];

	fputs("# ipcbench report: ", f);
	md_esc(f, rep_basename(run->dir));
	fputc('\n', f);
	fprintf(f, md.h2, "Machine");
	env_section(f, &md, run);
	rep_env_str(run, "command", buf, sizeof(buf));
	fputs("\n## Command\n\n", f);
	md_code(f, buf[0] ? buf : "(unknown: no env.json)", true);
	if (cmp) {
		fputs("\n## Comparison with the base run\n\nBase: ", f);
		md_code(f, base->dir, false);
		cmp_summary(cmp, buf, sizeof(buf));
		fprintf(f,
			". %s. Ratio is this run ÷ base (p50 round trip, or messages/s); the "
			"verdict comes from the repetitions, not from a fixed percentage.\n\n",
			buf);
		compare_table(f, &md, cmp);
	}
	fputs("\n## At a glance\n\n", f);
	glance_table(f, &md, run, &pg->glance);
	harness_section(f, &md, run);
	fputs("\n## Pictures\n\n", f);
	for (size_t i = 0; i < pg->npics; i++) {
		const struct rep_picture *p = &pg->pics[i];

		if (p->drawn) {
			fputs("![", f);
			md_esc(f, p->title);
			fprintf(f, "](%s.svg)\n\n", p->name);
		} else {
			fputs("- not drawn: ", f);
			md_esc(f, p->title);
			fputs(" — ", f);
			md_esc(f, p->why);
			fputs(".\n", f);
		}
	}
	fputs("\n## Results\n\n", f);
	md_results(f, run);
	notes_section(f, &md, pg->notes);
}

/* Writes PATH with PAGE (html_page, md_page).  Returns 0 or -errno. */
static int write_page(const char *path, void (*page)(FILE *f, const struct page *pg),
		      const struct rep_run *run, const struct rep_run *base,
		      const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		      const struct rep_notes *notes)
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

/* Writes index.html.  Returns 0 or -errno. */
int rep_write_html(const struct rep_run *run, const struct rep_run *base,
		   const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		   const struct rep_notes *notes, const char *path)
{
	return write_page(path, html_page, run, base, cmp, pics, npics, notes);
}

/* Writes summary.md.  Returns 0 or -errno. */
int rep_write_md(const struct rep_run *run, const struct rep_run *base,
		 const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		 const struct rep_notes *notes, const char *path)
{
	return write_page(path, md_page, run, base, cmp, pics, npics, notes);
}
