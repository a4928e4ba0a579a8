/* SPDX-License-Identifier: MIT */
/* A small RFC 4180 reader: commas, double quotes, "" inside quotes, LF or CRLF. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_pvt.h"

struct csv_buf {
	char **v;
	size_t n, cap;
};

static int push(struct csv_buf *b, char *s)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char **v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = s;
	return 0;
}

static char *slurp(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		*err = -errno;
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				*err = -ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	*err = ferror(f) ? -EIO : 0;
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Reads a whole CSV file; row 0 is the header.  Every row must have the
 * header's number of fields.  Returns 0, -ENOENT (no file), -ENOMEM, -EIO, or
 * -EINVAL (malformed; err says where).
 */
int rep_csv_read(struct rep_csv *csv, const char *path, char *err, size_t errlen)
{
	struct csv_buf fields = {0};
	size_t len, line = 1, rowstart = 0, ncols = 0;
	int ret;
	char *text = slurp(path, &len, &ret);

	memset(csv, 0, sizeof(*csv));
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (ret < 0) {
		free(text);
		snprintf(err, errlen, "%s: read error", path);
		return ret;
	}
	const char *p = text, *end = text + len;

	while (p < end) {
		/* One record. */
		for (;;) {
			size_t cap = 64, n = 0;
			char *f = malloc(cap);

			if (!f)
				goto nomem;
			bool quoted = *p == '"';

			if (quoted)
				p++;
			while (p < end) {
				char c = *p;

				if (quoted) {
					if (c == '"' && p + 1 < end && p[1] == '"') {
						p += 2;
					} else if (c == '"') {
						p++;
						quoted = false;
						continue;
					} else {
						if (c == '\n')
							line++;
						p++;
					}
				} else {
					if (c == ',' || c == '\n' || c == '\r')
						break;
					p++;
				}
				if (n + 2 > cap) {
					char *nf = realloc(f, cap *= 2);

					if (!nf) {
						free(f);
						goto nomem;
					}
					f = nf;
				}
				f[n++] = c;
			}
			f[n] = '\0';
			if (quoted) {
				free(f);
				snprintf(err, errlen, "%s: line %zu: unterminated quote", path,
					 line);
				ret = -EINVAL;
				goto fail;
			}
			if (push(&fields, f) < 0) {
				free(f);
				goto nomem;
			}
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			break;
		}
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		size_t got = fields.n - rowstart;

		if (got == 1 && fields.v[rowstart][0] == '\0') {
			/* An empty line: ignore it. */
			free(fields.v[--fields.n]);
		} else if (rowstart == 0) {
			ncols = got;
			rowstart = fields.n;
		} else if (got != ncols) {
			snprintf(err, errlen, "%s: line %zu: %zu fields where the header has %zu",
				 path, line, got, ncols);
			ret = -EINVAL;
			goto fail;
		} else {
			rowstart = fields.n;
		}
		line++;
	}
	if (ncols == 0) {
		snprintf(err, errlen, "%s: empty file", path);
		ret = -EINVAL;
		goto fail;
	}
	free(text);
	csv->field = fields.v;
	csv->ncols = ncols;
	csv->nrows = fields.n / ncols - 1;
	return 0;
nomem:
	ret = -ENOMEM;
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	for (size_t i = 0; i < fields.n; i++)
		free(fields.v[i]);
	free(fields.v);
	free(text);
	return ret;
}

/* Index of the header column NAME, or -1. */
int rep_csv_col(const struct rep_csv *csv, const char *name)
{
	for (size_t i = 0; i < csv->ncols; i++)
		if (strcmp(csv->field[i], name) == 0)
			return (int)i;
	return -1;
}

/* Field of data row ROW (0 is the first row after the header). */
const char *rep_csv_get(const struct rep_csv *csv, size_t row, int col)
{
	return csv->field[(row + 1) * csv->ncols + (size_t)col];
}

void rep_csv_free(struct rep_csv *csv)
{
	for (size_t i = 0; i < (csv->nrows + 1) * csv->ncols; i++)
		free(csv->field[i]);
	free(csv->field);
	memset(csv, 0, sizeof(*csv));
}
