/* SPDX-License-Identifier: MIT */
/*
 * The command-line helpers every command shares (cli.h): the one-line
 * bad-input exit, strings kept for the program's life, list splitting,
 * numbers, the machine's topology, the default results directory and the
 * stop signals.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"
#include "cli.h"

/* Bad input: one line, exit code 2. */
void __attribute__((noreturn, format(printf, 3, 4)))
bad(const char *flag, const char *value, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipcbench: %s: invalid value '%s'; allowed: ", flag, value);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Copies that live as long as the program, reachable so LeakSanitizer knows. */
static char **kept;
static size_t nkept, capkept;

static void __attribute__((noreturn)) out_of_memory(void)
{
	fprintf(stderr, "ipcbench: out of memory\n");
	exit(1);
}

/* Keeps @p (NULL too) as long as the program lives; returns it. */
char *keep(char *p)
{
	if (nkept == capkept) {
		char **k = realloc(kept, (capkept + 16) * sizeof(*kept));

		if (!k)
			out_of_memory();
		kept = k;
		capkept += 16;
	}
	kept[nkept++] = p;
	return p;
}

/* Splits @s on commas into @out, pointing into a copy of @s that is kept; no entry empty. */
int split(const char *flag, const char *s, char **out, int max)
{
	char *copy = keep(strdup(s)), *tok, *comma;
	int n = 0;

	if (!copy)
		out_of_memory();
	for (tok = copy;; tok = comma + 1) {
		comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		if (!*tok)
			bad(flag, s, "a comma-separated list without empty entries");
		if (n == max)
			bad(flag, s, "at most %d entries", max);
		out[n++] = tok;
		if (!comma)
			return n;
	}
}

int parse_count(const char *s, int lo, int hi)
{
	char *end;
	long v;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	return (int)v;
}

/*
 * Seconds: a finite number more than 0 (from 0 with @zero_ok) and at most
 * 3600.  -EINVAL: not a number at all; -ERANGE: a number out of range.
 */
int parse_seconds(const char *s, bool zero_ok, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return -EINVAL;
	if (errno || !isfinite(v) || v < 0 || v > 3600 || (v == 0 && !zero_ok))
		return -ERANGE;
	*out = v;
	return 0;
}

static void on_signal(int sig)
{
	bench_stop = sig;
}

struct topo *load_topo(void)
{
	struct topo *t;
	int rc = topo_load(&t);

	if (rc < 0) {
		fprintf(stderr, "ipcbench: cannot read the machine's topology (hwloc): %s\n",
			strerror(-rc));
		exit(1);
	}
	return t;
}

char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* results/<date>-<host> */
void default_out(char *buf, size_t len)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;
	char date[32];

	uname(&u);
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d-%H%M%S", &tm);
	snprintf(buf, len, "results/%s-%s", date, u.nodename);
}

/* Ends the run on SIGINT, SIGTERM, SIGHUP (terminal gone) and SIGPIPE (stdout gone). */
void catch_stops(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	/*
	 * SIGPIPE too is only noted: a write to a closed stdout then fails with
	 * EPIPE instead of killing us, and the run stops, writes its files and
	 * removes its queues like after Ctrl-C.
	 */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
