/* SPDX-License-Identifier: MIT */
/*
 * Running gnuplot on one picture's script (report_pvt.h): found on PATH,
 * run in the report directory with only the names we give it, its output
 * checked; for the pictures (draw.c) and the map (map.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_pvt.h"

/* Searches PATH for gnuplot.  Returns true when it is there and executable. */
bool rep_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static bool nonempty(const char *dir, const char *name, const char *ext)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	return stat(path, &st) == 0 && st.st_size > 0;
}

/* Runs plots/NAME.gp in the report directory; its output goes to data/NAME.log. */
/*
 * Runs SCRIPT.gp of PLOTS_DIR in OUTDIR as `gnuplot -e "in='data/STEM';
 * out='STEM';FORMATS=..."` (STEM: a name we made, never text of a run) and
 * checks that STEM.svg (and with PNG STEM.png) came out.  Returns 0, or -1
 * with WHY set to one line.
 */
int rep_gnuplot(const char *outdir, const char *plots_dir, const char *script, const char *stem,
		bool png, char *why, size_t len)
{
	char path[4096], expr[512], log[4096];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s.gp", plots_dir, script);
	snprintf(expr, sizeof(expr), "in='data/%s';out='%s';FORMATS='%s'", stem, stem,
		 png ? "svg png" : "svg");
	snprintf(log, sizeof(log), "%s/data/%s.log", outdir, stem);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || chdir(outdir) < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		/* common.gp and term.gp are found through gnuplot's load path. */
		setenv("GNUPLOT_LIB", plots_dir, 1);
		execlp("gnuplot", "gnuplot", "-e", expr, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, len, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !nonempty(outdir, stem, "svg") ||
	    (png && !nonempty(outdir, stem, "png"))) {
		snprintf(why, len, "gnuplot failed on %s.gp (see data/%s.log)", script, stem);
		return -1;
	}
	/* Keep the log only when gnuplot had something to say. */
	struct stat st;

	if (stat(log, &st) == 0 && st.st_size == 0)
		unlink(log);
	return 0;
}
