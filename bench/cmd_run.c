/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench run`: flags and profiles into a matrix of cells, the matrix run
 * through google-benchmark, its files written (outdir.c) and a summary.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "gb.h"
#include "ipcq_ext.h"
#include "matrix.h"
#include "memnode.h"
#include "msg.h"
#include "run_parse.h"

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

int cmd_run(int argc, char **argv, char *command)
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
	keep((char *)gbargv); /* reachable until exit: bad() exits from anywhere below */
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
	if (bench_stop)
		return 128 + bench_stop; /* as if the signal had killed us: 130 for SIGINT */
	return rc || failed ? 1 : 0;
}
