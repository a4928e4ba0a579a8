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

/* 23.4 µs, 105 ns, 1.25 ms */
void rep_fmt_ns(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "–");
	else if (v >= 1e6)
		snprintf(buf, len, "%.3g ms", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3g µs", v / 1e3);
	else
		snprintf(buf, len, "%.3g ns", v);
}

/* 310k, 4.2M, 8.1G */
void rep_fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "–");
	else if (v >= 1e9)
		snprintf(buf, len, "%.3gG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else
		snprintf(buf, len, "%.3g", v);
}
