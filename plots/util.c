/* SPDX-License-Identifier: MIT */
/* The report's small helpers: notes for the reader, copies of text, numbers as text. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_pvt.h"

/* Adds a line to NOTES.  Returns 0 or -ENOMEM (NOTES as it was). */
int rep_note(struct rep_notes *notes, const char *fmt, ...)
{
	char buf[1024], *line;
	va_list ap;
	char **l = realloc(notes->line, (notes->n + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	notes->line = l;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	line = rep_strdup(buf);
	if (!line)
		return -ENOMEM;
	notes->line[notes->n++] = line;
	return 0;
}

void rep_notes_free(struct rep_notes *notes)
{
	for (size_t i = 0; i < notes->n; i++)
		free(notes->line[i]);
	free(notes->line);
	notes->line = NULL;
	notes->n = 0;
}

/* A copy of S ("" for NULL); NULL when out of memory. */
char *rep_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* The last component of PATH (rep_run_load strips trailing slashes). */
const char *rep_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && s[1] ? s + 1 : path;
}

/* 64 B, 4 KiB, 1 MiB */
void rep_size_label(long size, char *buf, size_t len)
{
	if (size >= (1L << 20) && size % (1L << 20) == 0)
		snprintf(buf, len, "%ld MiB", size >> 20);
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, len, "%ld KiB", size >> 10);
	else
		snprintf(buf, len, "%ld B", size);
}

/*
 * V over the largest step of 1e9, 1e6, 1e3 it reaches whose UNIT is not
 * NULL, with that unit; below them V itself with UNIT[3].  "–" for NAN.
 */
static void fmt_scaled(double v, const char *const unit[4], char *buf, size_t len)
{
	static const double step[4] = {1e9, 1e6, 1e3, 1};
	size_t k = 0;

	if (isnan(v)) {
		snprintf(buf, len, "–");
		return;
	}
	while (k < 3 && (!unit[k] || !(v >= step[k])))
		k++;
	snprintf(buf, len, "%.3g%s", v / step[k], unit[k]);
}

/* 23.4 µs, 105 ns, 1.25 ms */
void rep_fmt_ns(double v, char *buf, size_t len)
{
	static const char *const unit[4] = {NULL, " ms", " µs", " ns"};

	fmt_scaled(v, unit, buf, len);
}

/* 310k, 4.2M, 8.1G */
void rep_fmt_num(double v, char *buf, size_t len)
{
	static const char *const unit[4] = {"G", "M", "k", ""};

	fmt_scaled(v, unit, buf, len);
}

/* 19.0 MB/s, 8.1 GB/s */
void rep_fmt_bps(double v, char *buf, size_t len)
{
	static const char *const unit[4] = {" GB/s", " MB/s", " kB/s", " B/s"};

	fmt_scaled(v, unit, buf, len);
}

/* MODE, and for rate and wakeup cells their load: "rate 10k/s", "rate max", "wakeup 1 ms". */
void rep_mode_label(const struct rep_cell *c, char *buf, size_t len)
{
	char v[32];

	if (!strcmp(c->mode, "rate") && isinf(c->offered)) {
		snprintf(buf, len, "rate max");
	} else if (!strcmp(c->mode, "rate")) {
		rep_fmt_num(c->offered, v, sizeof(v));
		snprintf(buf, len, "rate %s/s", v);
	} else if (!strcmp(c->mode, "wakeup")) {
		rep_fmt_ns(c->gap_ns, v, sizeof(v));
		snprintf(buf, len, "wakeup %s", v);
	} else {
		snprintf(buf, len, "%s", c->mode);
	}
}
