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

/* 19.0 MB/s, 8.1 GB/s */
static void fmt_bps(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "–");
	else if (v >= 1e9)
		snprintf(buf, len, "%.3g GB/s", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.3g MB/s", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3g kB/s", v / 1e3);
	else
		snprintf(buf, len, "%.3g B/s", v);
}

/* The cells of one table row, as text (both writers escape them their own way). */
struct row_text {
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
	rep_size_label(c->size, t->size, sizeof(t->size));
	snprintf(t->pc, sizeof(t->pc), "%d×%d", c->producers, c->consumers);
	rep_fmt_ns(c->lat[LAT_P50], t->p50, sizeof(t->p50));
	rep_fmt_ns(c->lat[LAT_P99], t->p99, sizeof(t->p99));
	rep_fmt_ns(c->lat[LAT_MAX], t->max, sizeof(t->max));
	rep_fmt_num(c->msgs_per_s, t->msgs, sizeof(t->msgs));
	fmt_bps(c->bytes_per_s, t->bytes, sizeof(t->bytes));
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

static void counts(const struct rep_run *run, size_t *ok, size_t *skipped, size_t *failed)
{
	*ok = *skipped = *failed = 0;
	for (size_t i = 0; i < run->ncells; i++) {
		const char *s = run->cells[i].status;

		if (!strcmp(s, "ok"))
			(*ok)++;
		else if (!strcmp(s, "skipped"))
			(*skipped)++;
		else
			(*failed)++;
	}
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
	fmt_bps(p ? p->bytes_per_s : NAN, t[3], 48);
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

/* ---- HTML ---- */

static void html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

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

static void html_env(FILE *f, const struct rep_run *run)
{
	char buf[2048];

	if (!run->env) {
		fputs("<p class=\"why\">The run has no env.json: the machine is unknown.</p>\n", f);
		return;
	}
	fputs("<table>\n", f);
	for (size_t i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
		rep_env_str(run, env_keys[i][0], buf, sizeof(buf));
		if (!buf[0])
			continue;
		fputs("<tr><th>", f);
		html_esc(f, env_keys[i][1]);
		fputs("</th><td>", f);
		html_esc(f, buf);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	clock_warnings(f, run, html_esc, "<p class=\"warn\"><strong>Warning:</strong> ", ".</p>\n");
}

static void html_harness(FILE *f, const struct rep_run *run)
{
	const char *pl = rep_main_placement(run, "throughput");

	if (!run->nharness)
		return;
	fputs("<h2>Harness cost</h2>\n<p>", f);
	html_esc(f, harness_title);
	fputs(": the benchmark's own work on each message, measured alone; share: of the time per "
	      "message of the shm throughput cell (1×1",
	      f);
	if (pl) {
		fputs(", ", f);
		html_esc(f, pl);
	}
	fputs(") at that size.</p>\n<table>\n<tr><th>size</th><th>encode+verify per msg</th>"
	      "<th>shm 1×1 time per msg</th><th>share of shm</th></tr>\n",
	      f);
	for (size_t i = 0; i < run->nharness; i++) {
		char t[4][48];

		harness_text(run, i, pl, t);
		fprintf(f,
			"<tr><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%s</td></tr>\n",
			t[0], t[1], t[2], t[3]);
	}
	fputs("</table>\n", f);
}

static void html_glance(FILE *f, const struct rep_run *run, const struct glance *g)
{
	char sl[32];

	if (!g->n) {
		fputs("<p class=\"why\">No cell was measured.</p>\n", f);
		return;
	}
	rep_size_label(g->size, sl, sizeof(sl));
	fprintf(f, "<p>%s messages, one producer and one consumer, placement ", sl);
	html_esc(f, g->placement);
	fputs(".</p>\n<table>\n<tr><th>backend</th><th>p50 round trip</th><th>p99 round trip</th>"
	      "<th>msgs/s</th><th>bytes/s</th><th>p50 ÷ floor</th>",
	      f);
	for (int k = 0; run->have_cpu && k < GLANCE_COLS - GLANCE_CPU; k++)
		fprintf(f, "<th>%s</th>", glance_cpu_head[k]);
	fputs("<th>note</th></tr>\n", f);
	for (size_t i = 0; i < g->n; i++) {
		char t[GLANCE_COLS][48];
		const char *why;

		glance_text(&g->row[i], t, &why);
		fputs("<tr><td>", f);
		html_esc(f, g->row[i].backend);
		fputs("</td>", f);
		for (int k = 0; k < (run->have_cpu ? GLANCE_COLS : GLANCE_CPU); k++)
			fprintf(f, "<td class=\"n\">%s</td>", t[k]);
		fputs("<td>", f);
		html_esc(f, why);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_results(FILE *f, const struct rep_run *run)
{
	size_t ok, skipped, failed;

	counts(run, &ok, &skipped, &failed);
	fprintf(f,
		"<p>%zu cells: %zu ok, %zu skipped, %zu failed. Latency is the round trip "
		"(median over repetitions); cv is the coefficient of variation across "
		"repetitions.</p>\n",
		run->ncells, ok, skipped, failed);
	fputs("<table>\n<tr><th>mode</th><th>backend</th><th>size</th><th>P×C</th>"
	      "<th>placement</th><th>status</th><th>p50</th><th>p99</th><th>max</th>"
	      "<th>msgs/s</th><th>bytes/s</th><th>cv</th><th>reps</th>",
	      f);
	if (run->have_cpu)
		fputs("<th>CPU/msg</th><th>CPU util</th><th>csw/msg</th>", f);
	fputs("<th>note</th></tr>\n", f);
	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];
		struct row_text t;
		const char *cls = !strcmp(c->status, "ok")	  ? "ok"
				  : !strcmp(c->status, "skipped") ? "skipped"
								  : "failed";

		row_text(c, &t);
		fprintf(f, "<tr class=\"%s\"><td>", cls);
		html_esc(f, c->mode);
		fputs("</td><td>", f);
		html_esc(f, c->backend);
		fprintf(f, "</td><td class=\"n\">%s</td><td>%s</td><td>", t.size, t.pc);
		html_esc(f, c->placement);
		fputs("</td><td>", f);
		html_esc(f, c->status);
		fprintf(f,
			"</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%s</td>",
			t.p50, t.p99, t.max, t.msgs, t.bytes, t.cv, t.reps);
		if (run->have_cpu)
			fprintf(f,
				"<td class=\"n\">%s</td><td class=\"n\">%s</td>"
				"<td class=\"n\">%s</td>",
				t.cpu, t.util, t.csw);
		fputs("<td>", f);
		html_esc(f, c->note);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void cell_name(const struct rep_cell *c, char *buf, size_t len)
{
	char sl[32];

	rep_size_label(c->size, sl, sizeof(sl));
	snprintf(buf, len, "%s %s %s %d×%d %s", c->mode, c->backend, sl, c->producers, c->consumers,
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
	fputs("<table>\n<tr><th>cell</th><th>metric</th><th>base</th><th>this run</th>"
	      "<th>ratio</th><th>speed</th><th>verdict</th><th>p</th><th>method</th></tr>\n",
	      f);
	for (size_t i = 0; i < cmp->n; i++) {
		const struct rep_compare_row *r = &cmp->rows[i];
		char name[256], vb[48], vc[48], p[32];

		cell_name(r->cur, name, sizeof(name));
		fmt_metric(r, r->vbase, vb, sizeof(vb));
		fmt_metric(r, r->vcur, vc, sizeof(vc));
		p_text(r, p, sizeof(p));
		fputs("<tr><td>", f);
		html_esc(f, name);
		fprintf(f,
			"</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%.3f</td><td class=\"n\">%.2f×</td><td "
			"class=\"%s\">%s</td>"
			"<td class=\"n\">%s</td><td>%s</td></tr>\n",
			r->metric, vb, vc, r->ratio, r->speedup,
			!strcmp(r->verdict, "within noise") ? "same" : r->verdict, r->verdict, p,
			r->method);
	}
	fputs("</table>\n", f);
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
 * Writes index.html: machine, command, pictures, comparison, results, notes.
 * Pictures are <img> of files in the same directory, so the page needs no
 * server and nothing from the network.  Returns 0 or -errno.
 */
int rep_write_html(const struct rep_run *run, const struct rep_run *base,
		   const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		   const struct rep_notes *notes, const char *path)
{
	struct glance g;
	char cmd[2048];
	FILE *f;

	if (glance_build(run, &g) < 0)
		return -ENOMEM;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "ipcbench report: ",
	      f);
	html_esc(f, rep_basename(run->dir));
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>ipcbench report: ", css);
	html_esc(f, rep_basename(run->dir));
	fputs("</h1>\n<h2>Machine</h2>\n", f);
	html_env(f, run);
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
	html_glance(f, run, &g);
	html_harness(f, run);
	fputs("<h2>Pictures</h2>\n", f);
	html_pictures(f, pics, npics, false);
	fputs("<h2>Results</h2>\n", f);
	html_results(f, run);
	if (notes->n) {
		fputs("<h2>Notes</h2>\n<ul>\n", f);
		for (size_t i = 0; i < notes->n; i++) {
			fputs("<li>", f);
			html_esc(f, notes->line[i]);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	fputs("<p><small>The data behind each picture is in <code>data/</code>; redraw one in this "
	      "directory with <code>GNUPLOT_LIB=PLOTS gnuplot -e \"in='data/NAME';out='NAME'\" "
	      "PLOTS/NAME.gp</code>, PLOTS being ipcbench's <code>plots/</code> directory."
	      "</small></p>\n</body>\n</html>\n",
	      f);
	return fclose(f) ? -errno : 0;
}

/* ---- Markdown ---- */

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
	size_t ok, skipped, failed;

	counts(run, &ok, &skipped, &failed);
	fprintf(f,
		"%zu cells: %zu ok, %zu skipped, %zu failed. Latency is the round trip (median "
		"over repetitions).\n\n",
		run->ncells, ok, skipped, failed);
	fputs("| mode | backend | size | P×C | placement | status | p50 | p99 | max | msgs/s | "
	      "bytes/s | cv | reps | ",
	      f);
	fputs(run->have_cpu
		      ? "CPU/msg | CPU util | csw/msg | note |\n"
			"|---|---|--:|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"
		      : "note |\n|---|---|--:|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n",
	      f);
	for (size_t i = 0; i < run->ncells; i++) {
		const struct rep_cell *c = &run->cells[i];
		bool bad = strcmp(c->status, "ok") != 0;
		struct row_text t;

		row_text(c, &t);
		fputs("| ", f);
		md_esc(f, c->mode);
		fputs(" | ", f);
		md_esc(f, c->backend);
		fprintf(f, " | %s | %s | ", t.size, t.pc);
		md_esc(f, c->placement);
		fputs(bad ? " | **" : " | ", f);
		md_esc(f, c->status);
		fprintf(f, "%s | %s | %s | %s | %s | %s | %s | %s | ", bad ? "**" : "", t.p50,
			t.p99, t.max, t.msgs, t.bytes, t.cv, t.reps);
		if (run->have_cpu)
			fprintf(f, "%s | %s | %s | ", t.cpu, t.util, t.csw);
		md_esc(f, c->note);
		fputs(" |\n", f);
	}
}

static void md_harness(FILE *f, const struct rep_run *run)
{
	const char *pl = rep_main_placement(run, "throughput");

	if (!run->nharness)
		return;
	fputs("\n## Harness cost\n\n", f);
	md_esc(f, harness_title);
	fputs(": the benchmark's own work on each message, measured alone; share: of the time per "
	      "message of the shm throughput cell (1×1",
	      f);
	if (pl) {
		fputs(", ", f);
		md_esc(f, pl);
	}
	fputs(") at that size.\n\n| size | encode+verify per msg | shm 1×1 time per msg | "
	      "share of shm |\n|--:|--:|--:|--:|\n",
	      f);
	for (size_t i = 0; i < run->nharness; i++) {
		char t[4][48];

		harness_text(run, i, pl, t);
		fprintf(f, "| %s | %s | %s | %s |\n", t[0], t[1], t[2], t[3]);
	}
}

/* Writes summary.md: the tables of index.html in Markdown.  Returns 0 or -errno. */
int rep_write_md(const struct rep_run *run, const struct rep_run *base,
		 const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		 const struct rep_notes *notes, const char *path)
{
	struct glance g;
	char buf[2048];
	FILE *f;

	if (glance_build(run, &g) < 0)
		return -ENOMEM;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs("# ipcbench report: ", f);
	md_esc(f, rep_basename(run->dir));
	fputs("\n\n## Machine\n\n", f);
	if (run->env) {
		fputs("| | |\n|---|---|\n", f);
		for (size_t i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
			rep_env_str(run, env_keys[i][0], buf, sizeof(buf));
			if (!buf[0])
				continue;
			fprintf(f, "| %s | ", env_keys[i][1]);
			md_esc(f, buf);
			fputs(" |\n", f);
		}
		clock_warnings(f, run, md_esc, "\n**Warning:** ", ".\n");
	} else {
		fputs("The run has no env.json: the machine is unknown.\n", f);
	}
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
		fputs("| cell | metric | base | this run | ratio | speed | verdict | p | method |\n"
		      "|---|---|--:|--:|--:|--:|---|--:|---|\n",
		      f);
		for (size_t i = 0; i < cmp->n; i++) {
			const struct rep_compare_row *r = &cmp->rows[i];
			char name[256], vb[48], vc[48], p[32];

			cell_name(r->cur, name, sizeof(name));
			fmt_metric(r, r->vbase, vb, sizeof(vb));
			fmt_metric(r, r->vcur, vc, sizeof(vc));
			p_text(r, p, sizeof(p));
			fputs("| ", f);
			md_esc(f, name);
			fputs(" | ", f);
			md_esc(f, r->metric);
			fprintf(f, " | %s | %s | %.3f | %.2f× | %s%s%s | %s | %s |\n", vb, vc,
				r->ratio, r->speedup,
				strcmp(r->verdict, "within noise") ? "**" : "", r->verdict,
				strcmp(r->verdict, "within noise") ? "**" : "", p, r->method);
		}
	}
	fputs("\n## At a glance\n\n", f);
	if (g.n) {
		char sl[32];

		rep_size_label(g.size, sl, sizeof(sl));
		fprintf(f, "%s messages, one producer and one consumer, placement ", sl);
		md_esc(f, g.placement);
		fputs(".\n\n| backend | p50 round trip | p99 round trip | msgs/s | bytes/s | "
		      "p50 ÷ floor | ",
		      f);
		for (int k = 0; run->have_cpu && k < GLANCE_COLS - GLANCE_CPU; k++)
			fprintf(f, "%s | ", glance_cpu_head[k]);
		fputs("note |\n|---|--:|--:|--:|--:|--:|", f);
		for (int k = 0; run->have_cpu && k < GLANCE_COLS - GLANCE_CPU; k++)
			fputs("--:|", f);
		fputs("---|\n", f);
		for (size_t i = 0; i < g.n; i++) {
			char t[GLANCE_COLS][48];
			const char *why;

			glance_text(&g.row[i], t, &why);
			fputs("| ", f);
			md_esc(f, g.row[i].backend);
			fputs(" | ", f);
			for (int k = 0; k < (run->have_cpu ? GLANCE_COLS : GLANCE_CPU); k++)
				fprintf(f, "%s | ", t[k]);
			md_esc(f, why);
			fputs(" |\n", f);
		}
	} else {
		fputs("No cell was measured.\n", f);
	}
	md_harness(f, run);
	fputs("\n## Pictures\n\n", f);
	for (size_t i = 0; i < npics; i++) {
		const struct rep_picture *p = &pics[i];

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
	if (notes->n) {
		fputs("\n## Notes\n\n", f);
		for (size_t i = 0; i < notes->n; i++) {
			fputs("- ", f);
			md_esc(f, notes->line[i]);
			fputc('\n', f);
		}
	}
	return fclose(f) ? -errno : 0;
}
