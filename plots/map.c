/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench report DIR` for a directory `ipcbench map` wrote: one heatmap
 * per backend (plots/map.gp), an index.html and a summary.md, into
 * DIR/report/ as for a run (a temporary directory renamed at the end).
 *
 * The input is read with strict checks: relations.csv and every
 * map-BACKEND.csv are square matrices over the same CPUs in the same
 * order (header "cpu,A,B,...", row k starting with the k-th CPU), CPU ids
 * whole numbers from 0 to MAP_CPU_MAX, each once; relation cells one of
 * the relation names, value cells empty or a number of ns (more than 0,
 * at most 1e12); backend names (from the file names) [a-z][a-z0-9_-]*.
 * Nothing read reaches gnuplot as code: the data files hold numbers we
 * format, the pictures are drawn under names we make (map1, map2, ...)
 * and renamed to map-BACKEND afterwards, the backend name reaches the
 * script only as data (mapK.txt, read with stats).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_pvt.h"

#define PROG	       "ipcbench report"
#define MAP_CPU_MAX    65535
#define MAP_MAX_N      1024 /* CPUs per axis */
#define MAP_VALUE_MAX  1e12 /* ns: over 16 minutes per round trip is no measurement */
#define MAP_LABELS_MAX 8    /* values printed in the cells up to this many CPUs */
#define MAP_MARKS_MAX  64   /* relation marks in the cells up to this many */

struct map_in {
	int n;
	int *cpus;
	int *rel; /* n * n indexes into rep_placements */
	size_t nb;
	char *backend[REP_MAX_BACKENDS];
	double *p50[REP_MAX_BACKENDS]; /* n * n, NAN where not measured */
};

bool rep_map_is(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/relations.csv", dir);
	if (lstat(path, &st) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	return lstat(path, &st) < 0 && errno == ENOENT;
}

static void map_free(struct map_in *m)
{
	free(m->cpus);
	free(m->rel);
	for (size_t b = 0; b < m->nb; b++) {
		free(m->backend[b]);
		free(m->p50[b]);
	}
	memset(m, 0, sizeof(*m));
}

/* A CPU id: decimal digits only, 0 to MAP_CPU_MAX; -1 otherwise. */
static int cpu_id(const char *s)
{
	long v = 0;

	if (!*s || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= MAP_CPU_MAX ? (int)v : -1;
}

/*
 * The axis of a matrix file: square, header "cpu" then CPU ids (each once),
 * row k labelled with the k-th of them.  With m->cpus set, the same CPUs
 * in the same order.  Returns 0 or -EINVAL / -ENOMEM with ERR set.
 */
static int check_axis(struct map_in *m, const struct rep_csv *c, const char *name, char *err,
		      size_t len)
{
	size_t n = c->ncols - 1, i, j;
	int *cpus;

	if (c->ncols < 2 || strcmp(c->field[0], "cpu") || c->nrows != n || n > MAP_MAX_N) {
		snprintf(err, len,
			 "%s: not a map matrix (header \"cpu,A,B,...\", one row per CPU, at most "
			 "%d CPUs)",
			 name, MAP_MAX_N);
		return -EINVAL;
	}
	cpus = calloc(n, sizeof(*cpus));
	if (!cpus)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cpus[i] = cpu_id(c->field[i + 1]);
		for (j = 0; j < i && cpus[i] >= 0; j++)
			if (cpus[j] == cpus[i])
				cpus[i] = -1;
		if (cpus[i] < 0 || cpu_id(rep_csv_get(c, i, 0)) != cpus[i] ||
		    (m->cpus && ((size_t)m->n != n || m->cpus[i] != cpus[i]))) {
			snprintf(err, len,
				 "%s: CPU %zu of the axis: CPU ids are whole numbers from 0 to %d, "
				 "each once, rows in the order of the header%s",
				 name, i + 1, MAP_CPU_MAX, m->cpus ? ", as in relations.csv" : "");
			free(cpus);
			return -EINVAL;
		}
	}
	if (m->cpus)
		free(cpus);
	else
		m->cpus = cpus, m->n = (int)n;
	return 0;
}

static int read_matrix(struct map_in *m, const char *dir, const char *name, struct rep_csv *c,
		       char *err, size_t len)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = rep_csv_read(c, path, err, len);
	if (!ret)
		ret = check_axis(m, c, name, err, len);
	if (ret == -ENOMEM)
		snprintf(err, len, "out of memory");
	return ret;
}

static int load_relations(struct map_in *m, const char *dir, char *err, size_t len)
{
	struct rep_csv c;
	int ret = read_matrix(m, dir, "relations.csv", &c, err, len), n = m->n;

	if (!ret && !(m->rel = calloc((size_t)n * (size_t)n, sizeof(*m->rel))))
		ret = -ENOMEM, snprintf(err, len, "out of memory");
	for (int i = 0; !ret && i < n * n; i++) {
		m->rel[i] = rep_placement_index(rep_csv_get(&c, (size_t)(i / n), i % n + 1));
		if (m->rel[i] < 0) {
			snprintf(err, len, "relations.csv: row %d, column %d: not a relation (%s)",
				 i / n + 1, i % n + 2,
				 "same-cpu, smt, same-l2, same-l3, cross-l3, cross-numa, "
				 "cross-package, none");
			ret = -EINVAL;
		}
	}
	rep_csv_free(&c);
	return ret;
}

/* A value cell: empty (NAN) or ns, more than 0, at most MAP_VALUE_MAX.  0 or -EINVAL. */
static int value(const char *s, double *out)
{
	char *end;

	if (!*s) {
		*out = NAN;
		return 0;
	}
	/* A decimal number only: strtod would also take hex, "inf" and "nan". */
	if (!((*s >= '0' && *s <= '9') || *s == '.') || strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL;
	*out = strtod(s, &end);
	return *end || !isfinite(*out) || *out <= 0 || *out > MAP_VALUE_MAX ? -EINVAL : 0;
}

static int load_backend(struct map_in *m, const char *dir, const char *file, char *err, size_t len)
{
	struct rep_csv c;
	int ret = read_matrix(m, dir, file, &c, err, len), n = m->n;
	double *v = NULL;

	if (!ret && !(v = calloc((size_t)n * (size_t)n, sizeof(*v))))
		ret = -ENOMEM, snprintf(err, len, "out of memory");
	for (int i = 0; !ret && i < n * n; i++)
		if (value(rep_csv_get(&c, (size_t)(i / n), i % n + 1), &v[i])) {
			snprintf(err, len,
				 "%s: row %d, column %d: not a round trip (empty, or ns more than "
				 "0 and at most 1e12)",
				 file, i / n + 1, i % n + 2);
			ret = -EINVAL;
		}
	rep_csv_free(&c);
	if (ret) {
		free(v);
		return ret;
	}
	m->p50[m->nb - 1] = v;
	return 0;
}

/* NAME of map-NAME.csv when it is one: [a-z][a-z0-9_-]*, at most REP_BACKEND_MAX. */
static bool backend_name(const char *file, char *out)
{
	size_t n = strlen(file);

	if (n < 9 || strncmp(file, "map-", 4) || strcmp(file + n - 4, ".csv"))
		return false;
	n -= 8;
	if (n > REP_BACKEND_MAX || file[4] < 'a' || file[4] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = file[4 + i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return false;
		out[i] = ch;
	}
	out[n] = '\0';
	return true;
}

/* The floor first, then by name. */
static int cmp_backend(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	if (strcmp(x, y) && (!strcmp(x, "floor") || !strcmp(y, "floor")))
		return strcmp(x, "floor") ? 1 : -1;
	return strcmp(x, y);
}

static int load_backends(struct map_in *m, const char *dir, char *err, size_t len)
{
	char name[REP_BACKEND_MAX + 1], file[REP_BACKEND_MAX + 16];
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	while (!ret && (e = readdir(d))) {
		if (strncmp(e->d_name, "map-", 4))
			continue;
		if (!backend_name(e->d_name, name)) {
			snprintf(
				err, len,
				"a file map-*.csv whose backend name is not [a-z][a-z0-9_-]* of at "
				"most %d characters",
				REP_BACKEND_MAX);
			ret = -EINVAL;
		} else if (m->nb == REP_MAX_BACKENDS) {
			snprintf(err, len, "more than %d map-*.csv files", REP_MAX_BACKENDS);
			ret = -EINVAL;
		} else if (!(m->backend[m->nb++] = rep_strdup(name))) {
			snprintf(err, len, "out of memory");
			ret = -ENOMEM;
		}
	}
	closedir(d);
	if (!ret && !m->nb) {
		snprintf(err, len, "%s: relations.csv but no map-BACKEND.csv", dir);
		ret = -EINVAL;
	}
	if (ret)
		return ret;
	qsort(m->backend, m->nb, sizeof(m->backend[0]), cmp_backend);
	size_t nb = m->nb;

	for (m->nb = 0; !ret && m->nb < nb;) {
		snprintf(file, sizeof(file), "map-%s.csv", m->backend[m->nb++]);
		ret = load_backend(m, dir, file, err, len);
	}
	m->nb = nb;
	return ret;
}

static int map_load(struct map_in *m, const char *dir, char *err, size_t len)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = load_relations(m, dir, err, len);
	if (!ret)
		ret = load_backends(m, dir, err, len);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of the ok values of backend @b over the pairs of relation @r; NAN when none. */
static double rel_median(const struct map_in *m, size_t b, int r, double *tmp)
{
	size_t k = 0;

	for (int i = 0; i < m->n * m->n; i++)
		if (m->rel[i] == r && !isnan(m->p50[b][i]))
			tmp[k++] = m->p50[b][i];
	if (!k)
		return NAN;
	qsort(tmp, k, sizeof(*tmp), cmp_double);
	return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "w");
}

static int close_ok(FILE *f)
{
	int bad = ferror(f);

	return fclose(f) || bad ? -EIO : 0;
}

/*
 * data/mapK.*: csv (column, row, p50 ns or NaN, relation index, 1 when
 * measured: every cell, for `with image`), tics (CPU numbers), txt (the backend, as
 * data), vars (numbers only).
 */
static int write_data(const struct map_in *m, size_t b, const char *data, int k)
{
	char name[64];
	double lo = INFINITY, hi = 0;
	int n = m->n, i, have[REP_NPLACEMENTS] = {0};
	FILE *f[4];
	static const char *const ext[4] = {"csv", "tics", "txt", "vars"};

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "map%d.%s", k, ext[i]);
		f[i] = open_in(data, name);
		if (!f[i]) {
			while (i-- > 0)
				fclose(f[i]);
			return -errno;
		}
	}
	for (i = 0; i < n * n; i++) {
		double v = m->p50[b][i];

		if (isnan(v))
			fprintf(f[0], "%d,%d,NaN,%d,0\n", i % n, i / n, m->rel[i]);
		else
			fprintf(f[0], "%d,%d,%.1f,%d,1\n", i % n, i / n, v, m->rel[i]);
		have[m->rel[i]] = 1;
		if (!isnan(v))
			lo = v < lo ? v : lo, hi = v > hi ? v : hi;
	}
	/* At most about 32 tics an axis: every CPU's number would not be readable. */
	for (i = 0; i < n; i += (n + 31) / 32)
		fprintf(f[1], "%d\t%d\n", i, m->cpus[i]);
	fprintf(f[2], "text\t%s\n", m->backend[b]); /* [a-z][a-z0-9_-]*: checked */
	if (!(hi > 0))
		lo = 1, hi = 10;
	else if (hi <= lo * 1.01)
		lo /= 1.5, hi *= 1.5;
	fprintf(f[3], "N = %d\nZMIN = %.6g\nZMAX = %.6g\nLABELS = %d\nMARKS = %d\n", n, lo, hi,
		n <= MAP_LABELS_MAX, n <= MAP_MARKS_MAX);
	for (i = 0; i < REP_NPLACEMENTS; i++)
		fprintf(f[3], "HAVE%d = %d\n", i + 1, have[i]);
	int ret = 0;

	for (i = 0; i < 4; i++)
		if (close_ok(f[i]))
			ret = -EIO;
	return ret;
}

/* Draws backend @b as map-BACKEND.svg (and .png) in @tmp.  0, 1 (not drawn: @why), -errno. */
static int draw(const struct map_in *m, size_t b, const char *tmp, const char *plots, bool png,
		char *why, size_t len)
{
	char data[PATH_MAX + 64], stem[32], from[PATH_MAX + 128], to[PATH_MAX + 128];
	int ret, k = (int)b + 1;

	snprintf(data, sizeof(data), "%s/data", tmp);
	ret = write_data(m, b, data, k);
	if (ret)
		return ret;
	snprintf(stem, sizeof(stem), "map%d", k);
	if (rep_gnuplot(tmp, plots, "map", stem, png, why, len) < 0)
		return 1;
	for (int i = 0; i < 1 + png; i++) {
		snprintf(from, sizeof(from), "%s/%s.%s", tmp, stem, i ? "png" : "svg");
		snprintf(to, sizeof(to), "%s/map-%s.%s", tmp, m->backend[b], i ? "png" : "svg");
		if (rename(from, to) < 0)
			return -errno;
	}
	return 0;
}

/* The page, in HTML (@html) or Markdown: per relation the median p50, then each picture. */
static void write_page(FILE *f, const struct map_in *m, const bool *drawn, bool html, double *tmp)
{
	char v[32];
	int r, i, n = m->n;

	fprintf(f,
		html ? "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ipcbench "
		       "map</title></head><body>\n<h1>ipcbench map: %d CPUs</h1>\n"
		     : "# ipcbench map: %d CPUs\n\n",
		n);
	fprintf(f, html ? "<p>p50 round trip (one message there and back) of every ordered pair "
			  "of CPUs: rows the CPU of the process that times, columns the one that "
			  "echoes; the diagonal: both on one CPU, taking turns.</p>\n"
			: "p50 round trip (one message there and back) of every ordered pair of "
			  "CPUs: rows the CPU of the process that times, columns the one that "
			  "echoes; the diagonal: both on one CPU, taking turns.\n\n");
	fputs(html ? "<h2>Median p50 per relation</h2>\n<table border=\"1\">\n<tr><th>relation</th>"
		   : "## Median p50 per relation\n\n| relation |",
	      f);
	for (size_t b = 0; b < m->nb; b++)
		fprintf(f, html ? "<th>%s</th>" : " %s |", m->backend[b]);
	fputs(html ? "</tr>\n" : "\n|---|", f);
	for (size_t b = 0; !html && b < m->nb; b++)
		fputs("--:|", f);
	if (!html)
		fputc('\n', f);
	for (r = 0; r < REP_NPLACEMENTS; r++) {
		for (i = 0; i < n * n && m->rel[i] != r; i++)
			;
		if (i == n * n)
			continue;
		fprintf(f, html ? "<tr><td>%s</td>" : "| %s |", rep_placements[r]);
		for (size_t b = 0; b < m->nb; b++) {
			rep_fmt_ns(rel_median(m, b, r, tmp), v, sizeof(v));
			fprintf(f, html ? "<td align=\"right\">%s</td>" : " %s |", v);
		}
		fputs(html ? "</tr>\n" : "\n", f);
	}
	fputs(html ? "</table>\n" : "\n", f);
	for (size_t b = 0; b < m->nb; b++) {
		fprintf(f, html ? "<h2>%s</h2>\n" : "## %s\n\n", m->backend[b]);
		if (drawn[b])
			fprintf(f,
				html ? "<p><img src=\"map-%s.svg\" alt=\"map of %s\"></p>\n"
				     : "![map of %s](map-%s.svg)\n\n",
				m->backend[b], m->backend[b]);
		else
			fputs(html ? "<p>not drawn (see data/*.log)</p>\n"
				   : "not drawn (see data/*.log)\n\n",
			      f);
	}
	fputs(html ? "<p>Relations: relations.csv; every pair with its status and note: "
		     "pairs.csv.</p>\n</body></html>\n"
		   : "Relations: relations.csv; every pair with its status and note: pairs.csv.\n",
	      f);
}

static int write_pages(const struct map_in *m, const char *tmp, const bool *drawn)
{
	double *scratch = calloc((size_t)m->n * (size_t)m->n + 1, sizeof(double));
	FILE *f;
	int ret = 0;

	if (!scratch)
		return -ENOMEM;
	for (int html = 1; html >= 0 && !ret; html--) {
		f = open_in(tmp, html ? "index.html" : "summary.md");
		if (!f) {
			ret = -errno;
			break;
		}
		write_page(f, m, drawn, html, scratch);
		ret = close_ok(f);
	}
	free(scratch);
	return ret;
}

static int map_fail(int code, const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return code;
}

/* Exit codes as for a run: 0, 2 bad input, 1 anything else. */
int rep_map_report(const char *dir, const char *plots, bool png)
{
	char err[1024], tmp[PATH_MAX], data[PATH_MAX + 64];
	bool drawn[REP_MAX_BACKENDS] = {0}, made = false;
	struct map_in m;
	int ret, code = 1;

	ret = map_load(&m, dir, err, sizeof(err));
	if (ret) {
		map_free(&m);
		return map_fail(ret == -ENOMEM ? 1 : 2, "DIR", err);
	}
	if (!rep_have_gnuplot()) {
		map_free(&m);
		return map_fail(1, "gnuplot",
				"not found on PATH (Debian: apt-get install gnuplot-nox)");
	}
	snprintf(tmp, sizeof(tmp), "%s/.report.tmp.XXXXXX", dir);
	if (!mkdtemp(tmp)) {
		code = map_fail(1, dir, strerror(errno));
		goto out;
	}
	made = true;
	chmod(tmp, 0755);
	snprintf(data, sizeof(data), "%s/data", tmp);
	if (mkdir(data, 0755) < 0) {
		code = map_fail(1, data, strerror(errno));
		goto out;
	}
	for (size_t b = 0; b < m.nb; b++) {
		ret = draw(&m, b, tmp, plots, png, err, sizeof(err));
		if (ret < 0) {
			code = map_fail(1, "cannot draw", strerror(-ret));
			goto out;
		}
		drawn[b] = ret == 0;
		if (ret)
			fprintf(stderr, PROG ": map-%s not drawn: %s\n", m.backend[b], err);
	}
	ret = write_pages(&m, tmp, drawn);
	if (!ret)
		ret = rep_install(dir, tmp);
	if (ret) {
		code = map_fail(1, "cannot write the report", strerror(-ret));
		goto out;
	}
	made = false;
	printf("%s/report/index.html\n", dir);
	code = 0;
out:
	if (made)
		rep_rm_tree(tmp);
	map_free(&m);
	return code;
}
