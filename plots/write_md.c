/* SPDX-License-Identifier: MIT */
/* summary.md: the tables of index.html in Markdown (write_pvt.h). */
#include <stdio.h>
#include <string.h>

#include "write_pvt.h"

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

/* Writes summary.md.  Returns 0 or -errno. */
int rep_write_md(const struct rep_run *run, const struct rep_run *base,
		 const struct rep_compare *cmp, const struct rep_picture *pics, size_t npics,
		 const struct rep_notes *notes, const char *path)
{
	return write_page(path, md_page, run, base, cmp, pics, npics, notes);
}
