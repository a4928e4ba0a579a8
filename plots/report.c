/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench report DIR [--compare BASE]`: draws the run in DIR into DIR/report/
 * (pictures, index.html, summary.md, and with --compare a comparison with the
 * run in BASE, compare.csv).  Everything is written into a temporary directory
 * beside it and renamed at the end, so a failed report leaves nothing behind.
 *
 * Exit codes: 0 done; 2 bad usage or bad input (not a run, a malformed file,
 * a BASE with no cell in common); 1 anything else (no gnuplot, I/O).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "report_pvt.h"

#ifndef IPCB_PLOTS_DIR
#define IPCB_PLOTS_DIR "plots"
#endif

#define PROG "ipcbench report"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* rm -rf PATH (our own temporary directories only). */
void rep_rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void usage(FILE *f)
{
	fputs("usage: ipcbench report DIR [--compare BASE] [--svg-only]\n"
	      "  Draws the run in DIR (results.csv, histograms.csv, benchmarks.json, env.json)\n"
	      "  into DIR/report/: pictures (SVG, PNG), index.html, summary.md.\n"
	      "  A DIR written by ipcbench map (relations.csv, map-BACKEND.csv) is drawn as one\n"
	      "  heatmap per backend, with index.html and summary.md.\n"
	      "  --compare BASE  also compare each cell with the same cell of the run BASE\n"
	      "                  (compare.csv, a table and a picture).\n"
	      "  --svg-only      no PNG files (for a report that is committed)\n"
	      "  IPCB_PLOTS_DIR  where the gnuplot scripts are (default: " IPCB_PLOTS_DIR ")\n",
	      f);
}

/* The plots directory as an absolute path (gnuplot runs in the report directory). */
static int plots_dir(char *out)
{
	const char *dir = getenv("IPCB_PLOTS_DIR");
	char probe[PATH_MAX + 16];

	if (!dir || !*dir)
		dir = IPCB_PLOTS_DIR;
	if (!realpath(dir, out))
		return -errno;
	snprintf(probe, sizeof(probe), "%s/common.gp", out);
	return access(probe, R_OK) < 0 ? -ENOENT : 0;
}

/* Notes the reader needs about what the run lacks.  Returns 0 or -ENOMEM. */
static int run_notes(const struct rep_run *run, struct rep_notes *notes, const char *what,
		     bool compare)
{
	int ret = 0;

	if (!run->env)
		ret = rep_note(notes, "%s has no env.json", what);
	if (!ret && !run->have_topology)
		ret = rep_note(notes, "%s has no topology.xml", what);
	if (!ret && compare && !run->have_bench)
		ret = rep_note(notes,
			       "%s has no per-repetition values (benchmarks.json absent or without "
			       "counters): spread is the cv of results.csv",
			       what);
	return ret;
}

/* Replaces DIR/report with TMP.  Returns 0 or -errno. */
int rep_install(const char *dir, const char *tmp)
{
	char final[PATH_MAX], old[PATH_MAX];
	struct stat st;

	snprintf(final, sizeof(final), "%s/report", dir);
	if (lstat(final, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		/* rename() replaces an empty directory: move the old report aside first. */
		snprintf(old, sizeof(old), "%s/.report.old.XXXXXX", dir);
		if (!mkdtemp(old))
			return -errno;
		if (rename(final, old) < 0) {
			int err = -errno;

			rmdir(old);
			return err;
		}
		if (rename(tmp, final) < 0) {
			int err = -errno;

			rename(old, final);
			return err;
		}
		rep_rm_tree(old);
		return 0;
	}
	return rename(tmp, final) < 0 ? -errno : 0;
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int generate(const char *dir, const char *base_dir, const char *plots, bool png)
{
	struct rep_run run, base;
	struct rep_compare cmp = {0};
	struct rep_notes notes = {0};
	struct rep_picture *pics = NULL;
	size_t npics = 0;
	char err[1024], tmp[PATH_MAX], path[PATH_MAX + 32];
	int ret, code = 1;
	bool have_base = base_dir != NULL, made = false;

	ret = rep_run_load(&run, dir, err, sizeof(err));
	if (ret < 0) {
		rep_run_free(&run);
		return fail(ret == -ENOMEM ? 1 : 2, "DIR: %s", err);
	}
	if (have_base) {
		ret = rep_run_load(&base, base_dir, err, sizeof(err));
		if (ret < 0) {
			code = fail(ret == -ENOMEM ? 1 : 2, "--compare: %s", err);
			rep_run_free(&base);
			have_base = false;
			goto out;
		}
		ret = rep_compare_runs(&run, &base, &cmp, &notes);
		if (ret == -EINVAL) {
			code = fail(2, "%s and %s have no cell in common (another matrix)", dir,
				    base_dir);
			goto out;
		}
		if (ret < 0) {
			code = fail(1, "compare: %s", strerror(-ret));
			goto out;
		}
	}
	ret = run_notes(&run, &notes, "this run", have_base);
	if (!ret && have_base)
		ret = run_notes(&base, &notes, "the base run", true);
	if (ret < 0) {
		code = fail(1, "%s", strerror(-ret));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.report.tmp.XXXXXX", run.dir);
	if (!mkdtemp(tmp)) {
		code = fail(1, "cannot create a directory in %s: %s", run.dir, strerror(errno));
		goto out;
	}
	made = true;
	chmod(tmp, 0755);
	ret = rep_draw_all(&run, have_base ? &cmp : NULL, tmp, plots, png, &pics, &npics);
	if (ret == -ENOENT) {
		code = fail(1, "gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)");
		goto out;
	}
	if (ret < 0) {
		code = fail(1, "cannot draw: %s", strerror(-ret));
		goto out;
	}
	if (have_base) {
		snprintf(path, sizeof(path), "%s/compare.csv", tmp);
		ret = rep_compare_csv(&cmp, path);
		if (ret < 0)
			goto io;
	}
	snprintf(path, sizeof(path), "%s/index.html", tmp);
	ret = rep_write_html(&run, have_base ? &base : NULL, have_base ? &cmp : NULL, pics, npics,
			     &notes, path);
	if (ret < 0)
		goto io;
	snprintf(path, sizeof(path), "%s/summary.md", tmp);
	ret = rep_write_md(&run, have_base ? &base : NULL, have_base ? &cmp : NULL, pics, npics,
			   &notes, path);
	if (ret < 0)
		goto io;
	ret = rep_install(run.dir, tmp);
	if (ret < 0) {
		code = fail(1, "cannot install %s/report: %s", run.dir, strerror(-ret));
		goto out;
	}
	made = false;
	for (size_t i = 0; i < npics; i++)
		if (!pics[i].drawn)
			fprintf(stderr, PROG ": %s not drawn: %s\n", pics[i].name, pics[i].why);
	printf("%s/report/index.html\n", run.dir);
	code = 0;
	goto out;
io:
	code = fail(1, "cannot write %s: %s", path, strerror(-ret));
out:
	if (made)
		rep_rm_tree(tmp);
	free(pics);
	rep_compare_free(&cmp);
	rep_notes_free(&notes);
	if (have_base)
		rep_run_free(&base);
	rep_run_free(&run);
	return code;
}

int report_main(int argc, char **argv)
{
	const char *dir = NULL, *base = NULL;
	char plots[PATH_MAX];
	bool png = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--compare") || !strncmp(a, "--compare=", 10)) {
			base = a[9] == '=' ? a + 10 : ++i < argc ? argv[i] : "";
			if (!*base)
				return fail(2,
					    "--compare: missing value; allowed: a BASE directory "
					    "written by ipcbench run");
		} else if (!strcmp(a, "--svg-only")) {
			png = false;
		} else if (a[0] == '-' && a[1]) {
			return fail(
				2,
				"unknown option '%s'; allowed: --compare BASE, --svg-only, --help",
				a);
		} else if (dir) {
			return fail(
				2, "DIR: invalid value '%s' after '%s'; allowed: one run directory",
				a, dir);
		} else {
			dir = a;
		}
	}
	if (!dir)
		return fail(2, "DIR: missing; usage: ipcbench report DIR [--compare BASE] "
			       "[--svg-only]");
	if (plots_dir(plots) < 0)
		return fail(1,
			    "no gnuplot scripts in %s (set IPCB_PLOTS_DIR to the plots directory)",
			    getenv("IPCB_PLOTS_DIR") ? getenv("IPCB_PLOTS_DIR") : IPCB_PLOTS_DIR);
	if (rep_map_is(dir))
		return base ? fail(2, "--compare: %s is a map (ipcbench map), not a run", dir)
			    : rep_map_report(dir, plots, png);
	return generate(dir, base, plots, png);
}
