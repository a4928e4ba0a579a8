/* SPDX-License-Identifier: MIT */
/*
 * ipcbench: measures how fast Linux processes pass messages.
 *   ipcbench list | run [options] | clean [--named] | report DIR [--compare BASE] | --help
 * Bad input exits with code 2 and one line naming the flag, the value and
 * what is allowed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli.h"
#include "gb.h"
#include "ipcq_ext.h"
#include "map.h"
#include "matrix.h"
#include "memnode.h"
#include "msg.h"
#include "report.h"

#ifndef IPCB_VERSION
#define IPCB_VERSION "unknown"
#endif

static const char usage[] =
	"usage: ipcbench COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  list                 backends, kernel limits, placements, topology, private dir\n"
	"  run [options]        run the benchmark matrix and write results/<date>-<host>/\n"
	"  clean [--named]      remove IPC objects that killed runs left behind (--named:\n"
	"                       also named queues whose creator died; see clean --help)\n"
	"  report DIR [--compare BASE]   draw a run's results (see ipcbench report --help)\n"
	"  map [options]        the round trip of every pair of CPUs (see ipcbench map --help)\n"
	"  help, -h, --help, --version\n"
	"\n"
	"run options (lists are comma-separated; each replaces the profile's list):\n"
	"  --profile quick|full     quick (default): every backend at 64 B and 4 KiB, both\n"
	"                           modes, 1x1, floor and bare loops (pipe-stream's too), one\n"
	"                           cross-core placement; rate 1k,100k,max and wakeup\n"
	"                           10us,1ms at 64 B for 0.2 s;\n"
	"                           full: sizes 8..64K, pairs 1x1,2x2,4x1, every placement,\n"
	"                           rate 1k,10k,100k,1M,max and wakeup 10us,100us,1ms,10ms\n"
	"                           at 64 B and 4 KiB for 0.5 s\n"
	"  --mode LIST              latency,throughput,floor,bare,rate,wakeup (rate: open loop,\n"
	"                           one-way latency from each message's due time; wakeup:\n"
	"                           one message after an idle gap)\n"
	"  --backends LIST          ipcq backends: %s;\n"
	"                           pipe-stream: the stream pipe's bare loop only\n"
	"  --sizes LIST             message sizes in bytes, 8 to 1M, suffix K or M (64,4K);\n"
	"                           rate and wakeup run at each (from 16 B) when given\n"
	"  --pairs LIST             producers x consumers for throughput, 1..64 each (1x1,4x1)\n"
	"  --rates LIST             rate: messages/s, 1 to 1000M, suffix k or M (1k,10k,1M), or\n"
	"                           max (back to back); a rate not carried is saturated\n"
	"  --gaps LIST              wakeup: idle gaps, 1us to 1s, suffix ns, us, ms or s\n"
	"                           (10us,100us,1ms,10ms)\n"
	"  --duration S             rate, wakeup: seconds per run, >0, <=60 (quick 0.2, full\n"
	"                           0.5; wakeup sends at least 20 messages)\n"
	"  --placement LIST         same-cpu,smt,same-l2,same-l3,cross-l3,cross-numa,\n"
	"                           cross-package,none\n"
	"  --repetitions N          repetitions per cell, 1..1000 (quick 5, full 5)\n"
	"  --min-time S             seconds per repetition, >0, <=3600 (quick 0.15, full 0.5;\n"
	"                           rate and wakeup: --duration)\n"
	"  --batch N                throughput cells put and get N messages per call\n"
	"                           (ipcq_put_many/ipcq_get_many), 1..1024 (default 1: one)\n"
	"  --mpmc                   1x1 throughput cells on queues for many producers and\n"
	"                           consumers too (default: IPCQ_SP|IPCQ_SC, see the note)\n"
	"  --out DIR                where results go (default results/<date>-<host>): a new or\n"
	"                           empty directory, never a symbolic link\n"
	"  --force                  replace the run that --out DIR holds (all of it, report/ too)\n"
	"  --mem-node N             shm rings and the floor's line on NUMA node N (checked,\n"
	"                           env.json mem_node; kernel queues: not placed)\n"
	"  --benchmark_*            passed to google-benchmark (e.g. --benchmark_filter=RE);\n"
	"                           not --benchmark_out*: benchmarks.json goes into --out DIR\n";

/* Apart from usage[]: C17 promises string literals of 4095 bytes only. */
static const char usage_tail[] =
	"\n"
	"Each list entry once, none empty.  The run is written into a fresh directory beside\n"
	"DIR and renamed to DIR at the end, also when SIGINT, SIGTERM, SIGHUP or SIGPIPE\n"
	"(stdout closed) stops it early.\n"
	"\n"
	"exit codes: 0 every cell measured or skipped; 1 some cell failed (lost, duplicated,\n"
	"reordered or corrupted a message) or the results could not be written; 2 bad input\n"
	"(one line on stderr naming the flag, the value and what is allowed); 128+N stopped by\n"
	"signal N (130 Ctrl-C, 129 hang-up, 141 closed pipe, 143 SIGTERM), partial results kept.\n"
	"\n"
	"Latency is the round-trip time (one message there and back), timed with\n"
	"clock_gettime(CLOCK_MONOTONIC); in rate and wakeup it is one-way, from due time\n"
	"to receipt.  Throughput counts messages from the first put to\n"
	"the last get; every message is verified.\n";

static void print_usage(FILE *f)
{
	char list[256] = "";
	const char *const *b;

	for (b = ipcq_backends(); b && *b; b++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? "," : "", *b);
	fprintf(f, usage, list);
	fputs(usage_tail, f);
}

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
static char *keep(char *p)
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

/* A list entry given twice would make the same cells twice. */
static void __attribute__((noreturn)) repeated(const char *flag, const char *entry)
{
	bad(flag, entry, "each entry once (%s is repeated)", entry);
}

static void parse_modes(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX];
	int n = split("--mode", v, t, MATRIX_MAX), i, m;

	memset(o->modes, 0, sizeof(o->modes));
	for (i = 0; i < n; i++) {
		for (m = 0; m < MODE_N && strcmp(t[i], bench_mode_name(m)); m++)
			;
		if (m == MODE_N)
			bad("--mode", t[i], "latency, throughput, floor, bare, rate, wakeup");
		if (o->modes[m])
			repeated("--mode", t[i]);
		o->modes[m] = true;
	}
}

/* Not ipcq backends, but bare loops of their own: the stream pipe. */
static const char *const bare_only[] = {"pipe-stream", NULL};

static void parse_backends(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], list[256] = "";
	const char *const *all = ipcq_backends(), *const * b;
	int n = split("--backends", v, t, MATRIX_MAX), i, j;

	for (b = all; b && *b; b++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? ", " : "", *b);
	o->nbackends = 0;
	for (i = 0; i < n; i++) {
		for (b = all; b && *b && strcmp(*b, t[i]); b++)
			;
		if (!b || !*b)
			for (b = bare_only; *b && strcmp(*b, t[i]); b++)
				;
		if (!*b)
			bad("--backends", t[i], "%s, %s (bare loop only)", list, bare_only[0]);
		for (j = 0; j < o->nbackends; j++)
			if (!strcmp(o->backends[j], *b))
				repeated("--backends", t[i]);
		o->backends[o->nbackends++] = *b;
	}
}

static void parse_sizes(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *end;
	int n = split("--sizes", v, t, MATRIX_MAX), i, j;
	unsigned long long x;
	unsigned shift;

	o->nsizes = 0;
	for (i = 0; i < n; i++) {
		errno = 0;
		shift = 0;
		x = t[i][0] >= '0' && t[i][0] <= '9' ? strtoull(t[i], &end, 10) : 0;
		if (x && (*end == 'K' || *end == 'k'))
			shift = 10, end++;
		else if (x && (*end == 'M' || *end == 'm'))
			shift = 20, end++;
		/* Compared before the shift, which would wrap. */
		if (!x || errno || *end || x > BENCH_MAX_SIZE >> shift ||
		    x << shift < BENCH_MIN_SIZE)
			bad("--sizes", t[i],
			    "sizes in bytes from %d to 1M, optional suffix K or M (e.g. 64,4K)",
			    BENCH_MIN_SIZE);
		x <<= shift;
		for (j = 0; j < o->nsizes; j++)
			if (o->sizes[j] == x)
				bad("--sizes", t[i], "each size once (%llu bytes is repeated)", x);
		o->sizes[o->nsizes++] = (size_t)x;
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

static void parse_pairs(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *x;
	int n = split("--pairs", v, t, MATRIX_MAX), i, j, p, c;

	o->npairs = 0;
	for (i = 0; i < n; i++) {
		x = strchr(t[i], 'x');
		if (x)
			*x = '\0';
		p = x ? parse_count(t[i], 1, BENCH_MAX_PROCS) : -1;
		c = x ? parse_count(x + 1, 1, BENCH_MAX_PROCS) : -1;
		if (x)
			*x = 'x';
		if (p < 0 || c < 0)
			bad("--pairs", t[i], "PxC with P and C from 1 to %d (e.g. 1x1,2x2,4x1)",
			    BENCH_MAX_PROCS);
		for (j = 0; j < o->npairs; j++)
			if (o->pairs[j][0] == p && o->pairs[j][1] == c)
				repeated("--pairs", t[i]);
		o->pairs[o->npairs][0] = p;
		o->pairs[o->npairs++][1] = c;
	}
}

static void parse_placements(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX];
	int n = split("--placement", v, t, MATRIX_MAX), i, j;
	enum topo_rel r;

	o->nrels = 0;
	for (i = 0; i < n; i++) {
		if (topo_rel_parse(t[i], &r) < 0)
			bad("--placement", t[i],
			    "same-cpu, smt, same-l2, same-l3, cross-l3, "
			    "cross-numa, cross-package, none");
		for (j = 0; j < o->nrels; j++)
			if (o->rels[j] == r)
				repeated("--placement", t[i]);
		/* Unreachable with each relation once, but never cut a list silently. */
		if (o->nrels == TOPO_NREL)
			bad("--placement", v, "at most %d placements", TOPO_NREL);
		o->rels[o->nrels++] = r;
	}
}

/*
 * A decimal number at the start of @s (digits, maybe one '.' and more
 * digits, no sign, no exponent) into *v; the rest at *end.  -EINVAL when @s
 * does not start with a digit.
 */
static int parse_decimal(const char *s, double *v, char **end)
{
	if (!(s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	*end = (char *)s + strspn(s, "0123456789");
	if (**end == '.')
		*end += 1 + strspn(*end + 1, "0123456789");
	*v = strtod(s, NULL);
	return 0;
}

static void parse_rates(const char *v, struct matrix_opts *o)
{
	char *t[MATRIX_MAX], *end;
	int n = split("--rates", v, t, MATRIX_MAX), i, j;
	double x;

	o->nrates = 0;
	for (i = 0; i < n; i++) {
		x = 0;
		if (strcmp(t[i], "max")) {
			if (parse_decimal(t[i], &x, &end) < 0)
				x = -1;
			else if (*end == 'k' || *end == 'K')
				x *= 1e3, end++;
			else if (*end == 'M')
				x *= 1e6, end++;
			if (x >= 0 && *end)
				x = -1;
			if (!(x >= 1 && x <= BENCH_MAX_RATE))
				bad("--rates", t[i],
				    "messages/s from 1 to 1000M, optional suffix k or M "
				    "(e.g. 1k,10k,1M), or max");
		}
		for (j = 0; j < o->nrates; j++)
			if (o->rates[j] == x)
				bad("--rates", t[i], "each rate once (%s is repeated)", t[i]);
		o->rates[o->nrates++] = x;
	}
}

static void parse_gaps(const char *v, struct matrix_opts *o)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *t[MATRIX_MAX], *end;
	int n = split("--gaps", v, t, MATRIX_MAX), i, j;
	double x;
	size_t u;

	o->ngaps = 0;
	for (i = 0; i < n; i++) {
		u = 0;
		if (parse_decimal(t[i], &x, &end) == 0)
			for (; u < sizeof(units) / sizeof(units[0]) && strcmp(end, units[u].unit);
			     u++)
				;
		if (u == sizeof(units) / sizeof(units[0]) || parse_decimal(t[i], &x, &end) < 0 ||
		    !((x *= units[u].ns) >= 1e3 && x <= 1e9) || x != floor(x))
			bad("--gaps", t[i],
			    "idle gaps from 1us to 1s, each a number with its unit ns, us, ms or s "
			    "(e.g. 10us,100us,1ms,10ms)");
		for (j = 0; j < o->ngaps; j++)
			if (o->gaps[j] == (int64_t)x)
				bad("--gaps", t[i], "each gap once (%s is repeated)", t[i]);
		o->gaps[o->ngaps++] = (int64_t)x;
	}
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

/* VALUE when @a is --benchmark_NAME=VALUE for @name, else NULL. */
static const char *gb_value(const char *a, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(a, name, n) && a[n] == '=' ? a + n + 1 : NULL;
}

/*
 * The pass-through flags whose values ipcbench depends on.  A value that is
 * not a number is left to google-benchmark, which refuses it (gb_init).
 */
static void check_gb_flag(const char *a, const char **filter)
{
	static const char *const owned[] = {"--benchmark_out", "--benchmark_out_format",
					    "--benchmark_list_tests"};
	size_t n = strcspn(a, "=");
	const char *v;
	double secs;

	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strlen(owned[i]) == n && !strncmp(a, owned[i], n))
			bad(owned[i], a[n] ? a + n + 1 : "",
			    "nothing: ipcbench run writes benchmarks.json into --out DIR itself "
			    "and runs the cells --benchmark_filter=RE selects");
	if ((v = gb_value(a, "--benchmark_min_time")) && parse_seconds(v, false, &secs) == -ERANGE)
		bad("--benchmark_min_time", v, "seconds, more than 0 and at most 3600 (e.g. 0.5)");
	if ((v = gb_value(a, "--benchmark_min_warmup_time")) &&
	    parse_seconds(v, true, &secs) == -ERANGE)
		bad("--benchmark_min_warmup_time", v, "seconds, from 0 to 3600");
	if ((v = gb_value(a, "--benchmark_filter")))
		*filter = v; /* the last one counts, as for google-benchmark */
}

/*
 * Before anything is created: cells --benchmark_filter selects.  An invalid
 * regex or one that selects nothing is bad input (@err says which); else
 * the count.
 */
static int count_selected(const char *filter, const struct cell *cells, int n, char *err,
			  size_t len)
{
	int i, m, k = 0;

	for (i = 0; i < n; i++) {
		m = gb_filter_match(filter, cells[i].name, err, len);
		if (m < 0)
			return m;
		k += m;
	}
	return k;
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

/* The quick profile's placement: the first cross-core relation this machine has. */
static enum topo_rel quick_rel(struct topo *t)
{
	static const enum topo_rel order[] = {TOPO_SAME_L3,    TOPO_SAME_L2,	   TOPO_CROSS_L3,
					      TOPO_CROSS_NUMA, TOPO_CROSS_PACKAGE, TOPO_SMT};
	int cpus[2];

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (topo_pair(t, order[i], cpus, NULL) == 0)
			return order[i];
	return TOPO_NONE;
}

static void profile_defaults(bool full, struct matrix_opts *o, struct topo *t, int *reps,
			     double *min_time)
{
	const char *const *b;
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < MODE_N; i++)
		o->modes[i] = true;
	for (b = ipcq_backends(); b && *b && o->nbackends < MATRIX_MAX - 1; b++)
		o->backends[o->nbackends++] = *b;
	for (b = bare_only; *b && o->nbackends < MATRIX_MAX; b++)
		o->backends[o->nbackends++] = *b;
	o->pairs[0][0] = o->pairs[0][1] = 1;
	o->npairs = 1;
	/* rate and wakeup: a short sweep (quick) or a longer one, at the profile's first sizes. */
	static const double rates[] = {1e3, 1e4, 1e5, 1e6, 0};
	static const int64_t gaps[] = {10000, 100000, 1000000, 10000000};
	for (i = 0; i < 5; i++)
		if (full || (rates[i] != 1e4 && rates[i] != 1e6))
			o->rates[o->nrates++] = rates[i];
	for (i = 0; i < 4; i++)
		if (full || gaps[i] == 10000 || gaps[i] == 1000000)
			o->gaps[o->ngaps++] = gaps[i];
	o->duration = full ? 0.5 : 0.2;
	o->load_sizes[o->nload_sizes++] = 64;
	if (full)
		o->load_sizes[o->nload_sizes++] = 4096;
	if (!full) {
		o->sizes[0] = 64;
		o->sizes[1] = 4096;
		o->nsizes = 2;
		o->rels[0] = quick_rel(t);
		o->nrels = 1;
		*reps = 5;
		*min_time = 0.15;
		return;
	}
	static const size_t sizes[] = {8, 64, 512, 4096, 65536};
	for (i = 0; i < 5; i++)
		o->sizes[i] = sizes[i];
	o->nsizes = 5;
	o->pairs[1][0] = o->pairs[1][1] = 2;
	o->pairs[2][0] = 4;
	o->pairs[2][1] = 1;
	o->npairs = 3;
	for (i = 0; i < TOPO_NREL; i++)
		o->rels[i] = (enum topo_rel)i;
	o->nrels = TOPO_NREL;
	*reps = 5;
	*min_time = 0.5;
}

static char *join_args(int argc, char **argv)
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

/* Counts what the run did and says it on stderr.  Returns the count of failed cells. */
static int summary(const struct cell *cells, int n, int64_t t0, double timer_ns)
{
	int ok = 0, skipped = 0, failed = 0, ran = 0, i;

	for (i = 0; i < n; i++) {
		if (!cells[i].started)
			continue;
		ran++;
		if (cells[i].skip || cells[i].interrupted || (!cells[i].failed && !cells[i].nreps))
			skipped++;
		else if (cells[i].failed)
			failed++;
		else
			ok++;
	}
	fprintf(stderr,
		"ipcbench: %d cells: %d ok, %d skipped, %d failed in %.1f s (timer %.1f ns per "
		"read)\n",
		ran, ok, skipped, failed, (double)(pool_now_ns() - t0) / 1e9, timer_ns);
	for (i = 0; i < n; i++)
		if (cells[i].started && cells[i].failed && !cells[i].skip)
			fprintf(stderr, "ipcbench: failed: %s: %s\n", cells[i].name, cells[i].note);
	return failed;
}

struct run_files {
	struct cell *cells;
	int n;
	const struct bench_env *env;
	const char *json;
};

static int write_run(int fd, void *ctx)
{
	const struct run_files *f = ctx;
	int rc = bench_write_csv(fd, f->cells, f->n);

	if (!rc)
		rc = bench_write_env(fd, f->env);
	if (!rc)
		rc = bench_write_json(fd, f->json);
	return rc;
}

/* Writes the run's files into a fresh directory and puts it in place. */
static int finish_run(struct out_dir *od, struct cell *cells, int n, const struct bench_env *env,
		      const char *json)
{
	struct run_files f = {cells, n, env, json};

	return out_write(od, "results", write_run, &f);
}

/* run's flags with a value: getopt_long's val is the index into val[] of cmd_run. */
enum run_flag {
	F_PROFILE,
	F_MODE,
	F_BACKENDS,
	F_SIZES,
	F_PLACEMENT,
	F_PAIRS,
	F_REPS,
	F_MIN_TIME,
	F_RATES,
	F_GAPS,
	F_DURATION,
	F_BATCH,
	F_OUT,
	F_MEM_NODE,
	F_NVAL,
	F_FORCE = F_NVAL,
	F_MPMC,
	F_HELP
};

static const struct option run_flags[] = {
	{"profile", required_argument, NULL, F_PROFILE},
	{"mode", required_argument, NULL, F_MODE},
	{"backends", required_argument, NULL, F_BACKENDS},
	{"sizes", required_argument, NULL, F_SIZES},
	{"placement", required_argument, NULL, F_PLACEMENT},
	{"pairs", required_argument, NULL, F_PAIRS},
	{"repetitions", required_argument, NULL, F_REPS},
	{"min-time", required_argument, NULL, F_MIN_TIME},
	{"rates", required_argument, NULL, F_RATES},
	{"gaps", required_argument, NULL, F_GAPS},
	{"duration", required_argument, NULL, F_DURATION},
	{"batch", required_argument, NULL, F_BATCH},
	{"out", required_argument, NULL, F_OUT},
	{"mem-node", required_argument, NULL, F_MEM_NODE},
	{"force", no_argument, NULL, F_FORCE},
	{"mpmc", no_argument, NULL, F_MPMC},
	{"help", no_argument, NULL, F_HELP},
	{NULL, 0, NULL, 0},
};

/*
 * True when @a names one of run_flags exactly (getopt_long alone would take
 * an abbreviation such as --pro, which run has always refused), or is -h.
 */
static bool run_flag_exact(const char *a)
{
	size_t n;

	if (!strcmp(a, "-h"))
		return true;
	if (strncmp(a, "--", 2))
		return false;
	n = strcspn(a + 2, "=");
	for (const struct option *f = run_flags; f->name; f++)
		if (strlen(f->name) == n && !strncmp(f->name, a + 2, n))
			return true;
	return false;
}

static void __attribute__((noreturn)) run_unknown(const char *a)
{
	fprintf(stderr,
		"ipcbench: run: unknown flag '%s'; allowed: --profile, --mode, --backends, "
		"--sizes, --pairs, --placement, --repetitions, --min-time, --rates, --gaps, "
		"--duration, --batch, --mpmc, --out, --force, --mem-node, --benchmark_*\n",
		a);
	exit(2);
}

static int cmd_run(int argc, char **argv, char *command)
{
	const char *val[F_NVAL] = {0}, *profile = "quick", *bad_flag = NULL, *filter = "";
	char **gbargv = calloc((size_t)argc + 12, sizeof(char *));
	char outbuf[PATH_MAX], arg_reps[64], arg_min[64], why[512];
	int gbargc = 0, i, reps, n, rc, failed, batch = 1;
	char *json = NULL;
	struct out_dir od;
	bool force = false, mpmc = false;
	struct matrix_opts o;
	struct cell *cells;
	struct topo *t;
	double min_time;
	uint64_t ran;

	if (!gbargv)
		return 1;
	/*
	 * Our defaults first, so that flags given later override them (the last
	 * one counts for google-benchmark), and so that the environment's
	 * BENCHMARK_FILTER and the like do not.  Repetitions of all cells
	 * interleaved at random: a bare loop and its queue see the same machine
	 * over the whole run, not two moments of it (this VM's cross-core
	 * wake-ups drift by tens of percent).  The console shows aggregates; the
	 * JSON keeps every repetition for --compare (gb.cc's tee).
	 */
	gbargv[gbargc++] = argv[0];
	gbargv[gbargc++] = "--benchmark_filter=.";
	gbargv[gbargc++] = "--benchmark_min_warmup_time=0";
	gbargv[gbargc++] = arg_reps;
	gbargv[gbargc++] = arg_min;
	gbargv[gbargc++] = "--benchmark_enable_random_interleaving=true";
	/*
	 * "+": no permuting, every argument is a flag.  The google-benchmark
	 * flags pass through untouched, so each argument is looked at before
	 * getopt_long sees it; getopt_long splits the known ones from their
	 * values (--flag=V or --flag V).
	 */
	opterr = 0;
	optind = 1;
	while (optind < argc) {
		char *a = argv[optind];

		if (!strncmp(a, "--benchmark_", 12)) {
			check_gb_flag(a, &filter);
			gbargv[gbargc++] = a;
			optind++;
			continue;
		}
		if (!run_flag_exact(a))
			run_unknown(a);
		int opt = getopt_long(argc, argv, "+:h", run_flags, NULL);

		if (opt == 'h' || opt == F_HELP) {
			print_usage(stdout);
			free(gbargv);
			return 0;
		}
		if (opt == F_FORCE) {
			force = true;
		} else if (opt == F_MPMC) {
			mpmc = true;
		} else if (opt >= 0 && opt < F_NVAL) {
			val[opt] = optarg;
		} else if (opt == ':' && optopt >= 0 && optopt < F_NVAL) {
			char flag[32];

			snprintf(flag, sizeof(flag), "--%s", run_flags[optopt].name);
			bad(flag, "", "a value after %s", flag);
		} else {
			run_unknown(a); /* --force=x, --help=x */
		}
	}
	/* Ours, never a file google-benchmark would open by its path (see gb_run). */
	gbargv[gbargc++] = "--benchmark_out=";
	gbargv[gbargc++] = "--benchmark_list_tests=false";
	if (val[F_PROFILE] && strcmp(val[F_PROFILE], "quick") && strcmp(val[F_PROFILE], "full"))
		bad("--profile", val[F_PROFILE], "quick, full");
	if (val[F_PROFILE])
		profile = val[F_PROFILE];
	t = load_topo();
	profile_defaults(!strcmp(profile, "full"), &o, t, &reps, &min_time);
	if (val[F_MEM_NODE])
		memnode_option(val[F_MEM_NODE], t);
	if (val[F_MODE])
		parse_modes(val[F_MODE], &o);
	if (val[F_BACKENDS])
		parse_backends(val[F_BACKENDS], &o);
	if (val[F_SIZES])
		parse_sizes(val[F_SIZES], &o), o.nload_sizes = 0; /* then every size */
	if (val[F_PLACEMENT])
		parse_placements(val[F_PLACEMENT], &o);
	if (val[F_PAIRS])
		parse_pairs(val[F_PAIRS], &o);
	if (val[F_REPS] && (reps = parse_count(val[F_REPS], 1, 1000)) < 0)
		bad("--repetitions", val[F_REPS], "an integer from 1 to 1000");
	if (val[F_MIN_TIME] && parse_seconds(val[F_MIN_TIME], false, &min_time))
		bad("--min-time", val[F_MIN_TIME],
		    "seconds, more than 0 and at most 3600 (e.g. 0.5)");
	if (val[F_BATCH] && (batch = parse_count(val[F_BATCH], 1, BENCH_MAX_BATCH)) < 0)
		bad("--batch", val[F_BATCH], "an integer from 1 to %d", BENCH_MAX_BATCH);
	if (val[F_RATES])
		parse_rates(val[F_RATES], &o);
	if (val[F_GAPS])
		parse_gaps(val[F_GAPS], &o);
	if (val[F_DURATION] &&
	    (parse_seconds(val[F_DURATION], false, &o.duration) || o.duration > 60))
		bad("--duration", val[F_DURATION],
		    "seconds per rate or wakeup run, more than 0 and at most 60 (e.g. 0.5)");
	if (val[F_MODE] || val[F_BACKENDS] || val[F_SIZES] || val[F_PLACEMENT] || val[F_PAIRS] ||
	    val[F_REPS] || val[F_MIN_TIME] || val[F_RATES] || val[F_GAPS] || val[F_DURATION] ||
	    val[F_BATCH])
		profile = !strcmp(profile, "full") ? "full (modified)" : "quick (modified)";
	if (val[F_OUT])
		snprintf(outbuf, sizeof(outbuf), "%s", val[F_OUT]);
	else
		default_out(outbuf, sizeof(outbuf));
	snprintf(arg_reps, sizeof(arg_reps), "--benchmark_repetitions=%d", reps);
	snprintf(arg_min, sizeof(arg_min), "--benchmark_min_time=%g", min_time);
	/*
	 * A --benchmark_repetitions given on the command line wins over ours
	 * (the last one counts, as for google-benchmark); gb_init() consumes it.
	 */
	for (i = 1; i < gbargc; i++)
		if (!strncmp(gbargv[i], "--benchmark_repetitions=", 24) &&
		    (reps = parse_count(gbargv[i] + 24, 1, 1000)) < 0)
			bad("--benchmark_repetitions", gbargv[i] + 24, "an integer from 1 to 1000");
	if (gb_init(&gbargc, gbargv, &bad_flag))
		bad("--benchmark_*", bad_flag,
		    "the flags of google-benchmark 1.7.1 "
		    "(--benchmark_filter=RE, --benchmark_repetitions=N, ...)");
	if (out_check(&od, val[F_OUT] ? val[F_OUT] : outbuf, force, why, sizeof(why)))
		bad("--out", val[F_OUT] ? val[F_OUT] : outbuf, "%s", why);

	/* Before planning: its probes create and remove queues. */
	catch_stops();
	n = matrix_plan(&o, t, &cells);
	if (n < 0) {
		fprintf(stderr, "ipcbench: out of memory\n");
		return 1;
	}
	if (!n) {
		topo_free(t);
		free(gbargv);
		free(cells);
		bad("--mode", val[F_MODE] ? val[F_MODE] : "",
		    "modes that make cells with these backends "
		    "(pipe-stream has only a bare loop)");
	}
	/*
	 * A 1x1 throughput cell's queue has one producer and one consumer: it
	 * says so (IPCQ_SP|IPCQ_SC), which the shm ring turns into an SPSC ring
	 * with cached indices (no CAS; batches move one index); the note of each
	 * such cell says it.  Not the round-trip cells (latency, rate, wakeup):
	 * there each message moves the index's line as well as the slot's, and
	 * the SPSC ring's 64 B round trip measured ~100 ns slower than the MPMC
	 * ring's here (ipc/ipcq.h).  --mpmc: no flags anywhere.
	 */
	for (i = 0; i < n; i++) {
		struct cell *c = &cells[i];

		c->batch = c->mode == MODE_THROUGHPUT ? batch : 0;
		if (!mpmc && c->mode == MODE_THROUGHPUT && c->producers == 1 && c->consumers == 1)
			c->qflags = IPCQ_SP | IPCQ_SC;
	}
	rc = count_selected(filter, cells, n, why, sizeof(why));
	if (rc <= 0) {
		matrix_free(cells, n);
		topo_free(t);
		free(gbargv);
		if (rc < 0)
			bad("--benchmark_filter", filter,
			    "a POSIX extended regular expression (%s)", why);
		bad("--benchmark_filter", filter,
		    "a regular expression selecting some cell (no cell matched), names like "
		    "latency/pipe/64/1x1/%s",
		    topo_rel_name(o.rels[0]));
	}

	struct bench_env env = {.profile = profile, .command = command, .topo = t};
	int64_t t0 = pool_now_ns();

	if (out_create(&od, why, sizeof(why))) {
		matrix_free(cells, n);
		topo_free(t);
		free(gbargv);
		bad("--out", od.path, "%s", why);
	}
	env.timer_ns = bench_timer_cost_ns();
	/* The harness's own work per message, per size, without a queue (msg.c). */
	double harness[MATRIX_MAX];
	for (i = 0; i < o.nsizes; i++)
		harness[i] = msg_cost_ns(o.sizes[i]);
	env.sizes = o.sizes;
	env.harness_ns = harness;
	env.nsizes = o.nsizes;
	if (matrix_register(cells, n, t, reps, isatty(2)) < 0) {
		fprintf(stderr, "ipcbench: cannot register the benchmarks\n");
		out_abort(&od);
		return 1;
	}
	rc = gb_run(&json, &ran, why, sizeof(why));
	gb_shutdown();
	if (!ran) {
		/* Selected above, so google-benchmark refused the filter itself. */
		out_abort(&od);
		matrix_free(cells, n);
		topo_free(t);
		free(gbargv);
		free(json);
		bad("--benchmark_filter", filter, "what google-benchmark 1.7.1 accepts (%s)",
		    why[0] ? why : "it ran nothing");
	}
	if (rc) {
		fprintf(stderr, "ipcbench: out of memory\n");
		out_abort(&od);
		return 1;
	}
	env.extra = memnode_json(topo_nodes(t));
	rc = finish_run(&od, cells, n, &env, json);
	memnode_json_free(env.extra);
	free(json);
	failed = summary(cells, n, t0, env.timer_ns);
	if (!rc) {
		fprintf(stderr, "%sresults in %s\n", bench_stop ? "interrupted; partial " : "",
			od.path);
		printf("results: %s\n", od.path);
	}
	matrix_free(cells, n);
	topo_free(t);
	free(gbargv);
	if (bench_stop)
		return 128 + bench_stop; /* as if the signal had killed us: 130 for SIGINT */
	return rc || failed ? 1 : 0;
}

/*
 * For a command that takes no arguments: true after printing its usage and
 * @what for --help; bad input (exit 2) for anything else given.
 */
static bool no_args(const char *cmd, int argc, char **argv, const char *what)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ipcbench %s\n%s", cmd, what);
		return true;
	}
	if (argc > 1)
		bad(cmd, argv[1], "no arguments, or --help");
	return false;
}

/* Where named queues and SysV records live, and why when it is a fallback. */
static void print_private_dir(void)
{
	char path[4096], why[512];
	int r = ipcq_private_dir(path, sizeof(path), why, sizeof(why));

	if (r < 0)
		printf("private directory: unusable: %s\n", strerror(-r));
	else if (r == 1)
		printf("private directory: %s (fallback: %s)\n", path, why);
	else
		printf("private directory: %s\n", path);
}

static int cmd_list(int argc, char **argv)
{
	const char *const *b;
	struct ipcq_limit l[16];
	struct topo *t;
	char buf[512];
	const char *why;
	int cpus[2], r, *place, n;
	ssize_t k, i;

	if (no_args("list", argc, argv,
		    "  backends with their kernel limits (and how to raise each), the pair\n"
		    "  relations and pool policies this machine has, its topology, and\n"
		    "  libipcq's private directory (with the reason when it is a fallback).\n"))
		return 0;
	t = load_topo();
	if (topo_describe(t, buf, sizeof(buf)) >= 0)
		printf("topology: %s\n", buf);
	print_private_dir();
	printf("backends:\n");
	for (b = ipcq_backends(); b && *b; b++) {
		k = ipcq_limits(*b, l, 16);
		printf("  %s%s\n", *b, k == 0 ? " (no kernel limit)" : "");
		for (i = 0; i < k && i < 16; i++)
			printf("    %-24s %lld %s: %s; raise: %s\n", l[i].name, l[i].value,
			       l[i].unit, l[i].what, l[i].raise);
	}
	printf("pair relations:\n");
	for (r = 0; r < TOPO_NREL; r++) {
		why = NULL;
		if (topo_pair(t, (enum topo_rel)r, cpus, &why) == 0)
			printf("  %-14s cpus %d,%d\n", topo_rel_name((enum topo_rel)r), cpus[0],
			       cpus[1]);
		else
			printf("  %-14s unavailable: %s\n", topo_rel_name((enum topo_rel)r),
			       why ? why : "not on this machine");
	}
	printf("pool policies:\n");
	n = topo_npus(t);
	place = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
	const char *pol[] = {"compact", "spread", "none"};
	for (i = 0; place && i < 3; i++) {
		why = NULL;
		if (topo_place(t, pol[i], n, place, &why) < 0) {
			printf("  %-14s unavailable: %s\n", pol[i], why ? why : "");
			continue;
		}
		printf("  %-14s", pol[i]);
		for (r = 0; r < n; r++)
			printf("%s%d", r ? "," : " cpus ", place[r]);
		printf("\n");
	}
	printf("  %-14s explicit CPU list, e.g. 0,2,4-7\n", "LIST");
	free(place);
	topo_free(t);
	return 0;
}

static void clean_cb(void *ctx, const char *backend, const char *what)
{
	(*(int *)ctx)++;
	printf("removed %s: %s\n", backend, what);
}

/* Named queues of dead creators: "removed ..." with --named, else "left ...". */
static void named_cb(void *ctx, const char *backend, const char *what)
{
	bool remove = *(bool *)ctx;

	printf("%s %s: %s\n", remove ? "removed" : "left", backend, what);
}

static const char clean_usage[] =
	"usage: ipcbench clean [--named]\n"
	"  removes what libipcq queues of runs killed by SIGKILL left behind and the\n"
	"  kernel cannot remove by itself (SysV queues nobody holds, the bare SysV loop's\n"
	"  included; leftovers in libipcq's private directory), and only those; says\n"
	"  what it removed.  Then lists named queues whose creator is dead and that no\n"
	"  live process holds (\"left BACKEND: ...\"); --named removes those too, as\n"
	"  ipcq_unlink would.  Never touches another program's or a live queue.\n";

static int cmd_clean(int argc, char **argv)
{
	bool named = false;
	int count = 0;
	ssize_t n, k;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(clean_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--named") != 0)
			bad("clean", argv[i], "--named, or --help");
		named = true;
	}
	n = ipcq_clean(NULL, clean_cb, &count);
	if (n < 0) {
		fprintf(stderr, "ipcbench: clean: %s\n", strerror((int)-n));
		return 1;
	}
	k = ipcq_clean_named(NULL, named, named_cb, &named);
	if (k < 0) {
		fprintf(stderr, "ipcbench: clean: named queues: %s\n", strerror((int)-k));
		return 1;
	}
	if (named)
		n += k;
	printf("ipcbench clean: %zd object%s removed", n, n == 1 ? "" : "s");
	if (!named && k > 0)
		printf("; %zd named queue%s of dead creators left (ipcbench clean --named removes "
		       "them)",
		       k, k == 1 ? "" : "s");
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	char *command = keep(join_args(argc, argv));

	if (argc < 2)
		bad("command", "", "list, run, clean, report, map, --help");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		free(command);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ipcbench %s\n", IPCB_VERSION);
		free(command);
		return 0;
	}
	if (!strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "clean"))
		return cmd_clean(argc - 1, argv + 1);
	if (!strcmp(argv[1], "map"))
		return map_main(argc - 1, argv + 1, command);
	if (!strcmp(argv[1], "run")) {
		int rc = cmd_run(argc - 1, argv + 1, command);

		free(command);
		return rc;
	}
	bad("command", argv[1], "list, run, clean, report, map, --help");
}
