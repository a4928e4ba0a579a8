/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench report` out of memory: the report's allocations (malloc, calloc,
 * realloc, strdup, wrapped at link time by --wrap) fail from the Nth on, for
 * every N the whole report makes.  Each time the report must exit 1 with
 * one line on stderr that says so, and leave no .report.* directory in the
 * run: never abort, never go on without what it could not allocate.
 *
 * usage: test_oom FIXTURES_DIR
 * gnuplot is a script that fails (the pictures are not what this tests,
 * and a real one would make each of the hundreds of reports slow).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

/* Shared with the forked reports: how many allocations so far, and from which one they fail. */
static struct {
	size_t calls, fail_from;
} * counter;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

static int fail_now(void)
{
	if (!counter)
		return 0;
	if (counter->calls++ < counter->fail_from)
		return 0;
	errno = ENOMEM;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

/* Copies the fixture FROM into TMP/NAME (the report is written into the run). */
static int copy_run(const char *from, const char *tmp, const char *name, char *to, size_t len)
{
	static const char *const files[] = {"results.csv", "histograms.csv", "benchmarks.json",
					    "env.json", "topology.xml"};

	snprintf(to, len, "%s/%s", tmp, name);
	if (mkdir(to, 0755) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char a[PATH_MAX], b[PATH_MAX];

		snprintf(a, sizeof(a), "%s/%s", from, files[i]);
		snprintf(b, sizeof(b), "%s/%s", to, files[i]);
		if (access(a, R_OK) == 0 && copy_file(a, b) < 0)
			return -1;
	}
	return 0;
}

/* Runs the report in a child with allocations failing from FAIL_FROM on; its stderr into ERR. */
static int run_report(char **argv, int argc, size_t fail_from, const char *err)
{
	int status;
	pid_t pid;

	counter->calls = 0;
	counter->fail_from = fail_from;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_WRONLY);

		if (fd < 0 || nul < 0)
			_exit(99);
		dup2(fd, 2);
		dup2(nul, 1);
		exit(report_main(argc, argv));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* A .report.tmp.* or .report.old.* directory left in DIR: its name, or NULL. */
static const char *leftover(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	const char *found = NULL;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, ".report.", 8)) {
			snprintf(name, len, "%s", e->d_name);
			found = name;
		}
	if (d)
		closedir(d);
	return found;
}

/* The whole of stderr, one line that names the lack of memory. */
static int one_line_oom(const char *path, char *text, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, len - 1, f) : 0;
	char *nl;

	if (f)
		fclose(f);
	text[n] = '\0';
	nl = strchr(text, '\n');
	return nl && nl[1] == '\0' && !strncmp(text, "ipcbench report: ", 17) &&
	       (strstr(text, "memory") != NULL);
}

/* Every N for one report command.  Returns how many N failed the check. */
static int each_n(const char *what, char **argv, int argc, const char *run, const char *err)
{
	char text[4096], name[256];
	int status = run_report(argv, argc, SIZE_MAX, err), bad = 0;
	size_t total = counter->calls;

	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("FAIL %s: exit %d without a failing allocation\n", what, status);
		return 1;
	}
	printf("%s: %zu allocations\n", what, total);
	for (size_t n = 0; n < total && bad < 5; n++) {
		status = run_report(argv, argc, n, err);
		if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 1) {
			printf("FAIL %s, allocation %zu fails: %s %d, want exit 1\n", what, n,
			       status >= 0 && WIFSIGNALED(status) ? "signal" : "exit",
			       status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status)
								  : WEXITSTATUS(status));
			bad++;
		} else if (!one_line_oom(err, text, sizeof(text))) {
			printf("FAIL %s, allocation %zu fails: stderr is not one line about "
			       "memory: "
			       "%s\n",
			       what, n, text);
			bad++;
		}
		if (leftover(run, name, sizeof(name))) {
			printf("FAIL %s, allocation %zu fails: %s left in the run\n", what, n,
			       name);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/ipcb-test-oom.XXXXXX", bin[PATH_MAX], path[PATH_MAX * 2 + 16];
	char src[PATH_MAX], single[PATH_MAX], slow[PATH_MAX], base[PATH_MAX], err[PATH_MAX];
	int bad = 0;
	FILE *g;

	if (argc != 2) {
		fprintf(stderr, "usage: test_oom FIXTURES_DIR\n");
		return 1;
	}
	counter = mmap(NULL, sizeof(*counter), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (counter == MAP_FAILED || !mkdtemp(tmp)) {
		perror("test_oom: setup");
		return 1;
	}
	/* A gnuplot that fails: each picture is "not drawn", every allocation still made. */
	snprintf(bin, sizeof(bin), "%s/bin", tmp);
	snprintf(path, sizeof(path), "%s/gnuplot", bin);
	if (mkdir(bin, 0755) < 0 || !(g = fopen(path, "w"))) {
		perror("test_oom: gnuplot");
		return 1;
	}
	fputs("#!/bin/sh\nexit 1\n", g);
	fclose(g);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s:/usr/bin:/bin", bin);
	setenv("PATH", path, 1);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	snprintf(src, sizeof(src), "%s/single", argv[1]);
	if (copy_run(src, tmp, "single", single, sizeof(single)) < 0)
		goto setup;
	snprintf(src, sizeof(src), "%s/cmp-slow", argv[1]);
	if (copy_run(src, tmp, "slow", slow, sizeof(slow)) < 0)
		goto setup;
	snprintf(src, sizeof(src), "%s/cmp-base", argv[1]);
	if (copy_run(src, tmp, "base", base, sizeof(base)) < 0)
		goto setup;

	char *a1[] = {"report", single, "--svg-only", NULL};
	char *a2[] = {"report", slow, "--compare", base, "--svg-only", NULL};

	bad += each_n("single", a1, 3, single, err);
	bad += each_n("compare", a2, 5, slow, err);
	if (!bad) {
		/* Only a passing run cleans up: a failing one keeps its files for a look. */
		snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
		if (system(path) != 0)
			printf("note: could not remove %s\n", tmp);
	} else {
		printf("the runs are in %s\n", tmp);
	}
	puts(bad ? "FAIL" : "ok");
	return bad ? 1 : 0;
setup:
	perror("test_oom: copying the fixtures");
	return 1;
}
