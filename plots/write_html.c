/* SPDX-License-Identifier: MIT */
/* index.html: the page, its pictures and the model's tables in HTML (write_pvt.h). */
#include <stdio.h>
#include <string.h>

#include "write_pvt.h"

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

/* Writes index.html.  Returns 0 or -errno. */
int rep_write_html(const struct rep_run *run, const struct rep_run *base,
		   const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		   const struct rep_notes *notes, const char *path)
{
	return write_page(path, html_page, run, base, cmp, pics, npics, notes);
}
