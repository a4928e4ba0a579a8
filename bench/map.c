/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench map`: the p50 round trip of every ordered pair of CPUs, for the
 * floor and for a few backends, each pair measured by the latency mode's
 * ping-pong (pingpong.c through bench_measure: pinned processes of
 * pool/group, every echo checked) for about --pair-time seconds.  The pairs
 * come from mapplan.c; a pair (a, a) is measured too: both processes on one
 * CPU taking turns (the same-cpu placement of `run`).  For each pair the
 * backends are measured one after the other, so that they sample the same
 * moment of the machine.
 *
 * Writes into a fresh directory (outdir.c, as `run`): map-BACKEND.csv (a
 * matrix of p50 ns: row = the CPU of the timing process, column = the CPU
 * of the echoing one; empty where pairs.csv gives the reason),
 * relations.csv (the hwloc relation of each pair), pairs.csv (every pair of
 * every backend: status, p50, p99, round trips, note), env.json and
 * topology.xml.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ipcq.h"
#include "map.h"
#include "mapplan.h"
#include "memnode.h"
#include "msg.h"

#define MAP_MAX_BACKENDS 8
#define CAL_ROUNDS	 100  /* the first, calibrating run of a pair */
#define CAL_FLOOR	 2000 /* the floor's rounds are much shorter */
#define MAX_ROUNDS	 INT64_C(100000000)

enum map_status { MS_TODO, MS_OK, MS_SKIPPED, MS_FAILED };

struct map_res {
	enum map_status status;
	double p50, p99, rounds;
	char note[BENCH_NOTE];
};

struct map_run {
	const char *backends[MAP_MAX_BACKENDS]; /* "floor" or ipcq backends */
	int nb;
	size_t size;
	double pair_time;
	struct map_plan plan;
	struct map_res *res;			  /* nb x n x n */
	char probe[MAP_MAX_BACKENDS][BENCH_NOTE]; /* why a backend cannot run here; "" */
};

static const char map_usage[] =
	"usage: ipcbench map [options]\n"
	"  The p50 round trip of every ordered pair of CPUs (a, b): the first process\n"
	"  on a times, the second on b echoes; (a, a) too, both on one CPU taking turns.\n"
	"  --backends LIST   floor and ipcq backends (%s);\n"
	"                    default floor,shm,pipe\n"
	"  --cpus LIST       CPUs on each axis, e.g. 0-3,8 (default: all, in hwloc order)\n"
	"  --size N          message size in bytes, 8 to 1M, suffix K or M (default 64;\n"
	"                    the floor is always one 64-byte line)\n"
	"  --pair-time S     seconds per pair and backend, more than 0, at most 60\n"
	"                    (default 0.1)\n"
	"  --mem-node N      put the queue memory ipcbench owns on NUMA node N (see\n"
	"                    bench/README.md)\n"
	"  --out DIR         where the map goes (default results/<date>-<host>-map), as\n"
	"                    for run: new or empty, never a symbolic link\n"
	"  --force           replace the map or run that DIR holds\n"
	"  Writes map-BACKEND.csv (p50 ns, rows: CPU a, columns: CPU b), relations.csv,\n"
	"  pairs.csv, env.json, topology.xml; `ipcbench report DIR` draws the heatmaps.\n"
	"  Exit codes as for run: 0, 1 a pair failed, 2 bad input, 128+N signal N.\n";

static void backend_list(char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *const *b = ipcq_backends(); b && *b; b++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", *b);
}

static void parse_map_backends(struct map_run *m, const char *v)
{
	char *t[MAP_MAX_BACKENDS], list[256];
	int n = split("--backends", v, t, MAP_MAX_BACKENDS), i, j;
	const char *const *b;

	backend_list(list, sizeof(list));
	for (i = 0; i < n; i++) {
		for (b = ipcq_backends(); b && *b && strcmp(*b, t[i]); b++)
			;
		if (strcmp(t[i], "floor") && (!b || !*b))
			bad("--backends", t[i], "floor, %s", list);
		for (j = 0; j < i; j++)
			if (!strcmp(t[j], t[i]))
				bad("--backends", t[i], "each entry once (%s is repeated)", t[i]);
		m->backends[i] = strcmp(t[i], "floor") ? *b : "floor";
	}
	m->nb = n;
}

static size_t parse_one_size(const char *v)
{
	unsigned long long x = 0;
	unsigned shift = 0;
	char *end = NULL;

	errno = 0;
	if (v[0] >= '0' && v[0] <= '9')
		x = strtoull(v, &end, 10);
	if (x && (*end == 'K' || *end == 'k'))
		shift = 10, end++;
	else if (x && (*end == 'M' || *end == 'm'))
		shift = 20, end++;
	if (!x || errno || *end || x > BENCH_MAX_SIZE >> shift || x << shift < BENCH_MIN_SIZE)
		bad("--size", v, "a size in bytes from %d to 1M, optional suffix K or M (e.g. 4K)",
		    BENCH_MIN_SIZE);
	return (size_t)(x << shift);
}

/* The cell that measures pair @i of backend @b (row-major over the plan). */
static void pair_cell(const struct map_run *m, int b, int i, struct cell *c)
{
	int n = m->plan.n;

	memset(c, 0, sizeof(*c));
	c->mode = strcmp(m->backends[b], "floor") ? MODE_LATENCY : MODE_FLOOR;
	snprintf(c->backend, sizeof(c->backend), "%s", m->backends[b]);
	c->size = c->mode == MODE_FLOOR ? 64 : m->size;
	c->producers = c->consumers = 1;
	c->cpus[0] = m->plan.cpus[i / n];
	c->cpus[1] = m->plan.cpus[i % n];
	c->rel = m->plan.rel[i];
	/* One key for all pairs: --mem-node's record counts them together. */
	snprintf(c->name, sizeof(c->name), "map/%s/%zu", c->backend, c->size);
}

/*
 * One pair: a short run says how long a round trip takes, then a run of
 * about the rest of --pair-time is the measurement (the short one when it
 * already took that long).
 */
static void measure_pair(struct map_run *m, int b, int i, struct topo *t)
{
	struct map_res *r = &m->res[(size_t)b * (size_t)m->plan.n * (size_t)m->plan.n + (size_t)i];
	struct run_result rr;
	struct cell c;
	int64_t rounds, t0 = pool_now_ns();
	double per, left;
	int rc;

	pair_cell(m, b, i, &c);
	if (m->probe[b][0]) {
		r->status = MS_SKIPPED;
		snprintf(r->note, sizeof(r->note), "%s", m->probe[b]);
		return;
	}
	rounds = c.mode == MODE_FLOOR ? CAL_FLOOR : CAL_ROUNDS;
	rc = bench_measure(&c, t, rounds, &rr, NULL, r->note, sizeof(r->note));
	left = m->pair_time - (double)(pool_now_ns() - t0) / 1e9;
	per = rr.seconds / (double)rounds;
	if (!rc && left > 0.2 * m->pair_time && per > 0) {
		rounds = (int64_t)(left / per);
		rounds = rounds < CAL_ROUNDS   ? CAL_ROUNDS
			 : rounds > MAX_ROUNDS ? MAX_ROUNDS
					       : rounds;
		rc = bench_measure(&c, t, rounds, &rr, NULL, r->note, sizeof(r->note));
	}
	if (rc == -EINTR) {
		r->status = MS_SKIPPED;
		snprintf(r->note, sizeof(r->note), "interrupted while it was measured");
		return;
	}
	if (rc) {
		r->status = MS_FAILED;
		return;
	}
	r->status = MS_OK;
	r->p50 = rr.lat[2];
	r->p99 = rr.lat[4];
	r->rounds = (double)rounds;
	r->note[0] = '\0';
}

/* At most one line a second on stderr, and the last. */
static void progress(int done, int all, int64_t t0, int64_t *last, const struct map_plan *p)
{
	int64_t now = pool_now_ns();
	double el = (double)(now - t0) / 1e9;
	int n = p->n;

	if (done < all && now - *last < INT64_C(1000000000))
		return;
	*last = now;
	if (done < all)
		fprintf(stderr,
			"ipcbench map: [%d/%d pairs] now CPU %d -> CPU %d (%.0f s elapsed, "
			"about %.0f s left)\n",
			done, all, p->cpus[done / n], p->cpus[done % n], el,
			done ? el / done * (all - done) : 0.0);
	else
		fprintf(stderr, "ipcbench map: %d pairs measured in %.1f s\n", all, el);
}

static void measure_all(struct map_run *m, struct topo *t)
{
	int all = m->plan.n * m->plan.n, i, b;
	int64_t t0 = pool_now_ns(), last = 0;

	for (i = 0; i < all; i++) {
		if (!bench_stop)
			progress(i, all, t0, &last, &m->plan);
		for (b = 0; b < m->nb; b++) {
			struct map_res *r = &m->res[(size_t)b * (size_t)all + (size_t)i];

			if (bench_stop) {
				r->status = MS_SKIPPED;
				snprintf(r->note, sizeof(r->note),
					 "interrupted before it was measured");
				continue;
			}
			measure_pair(m, b, i, t);
		}
	}
	if (!bench_stop)
		progress(all, all, t0, &last, &m->plan);
}

static int end_file(FILE *f)
{
	int bad_write = ferror(f);

	return fclose(f) || bad_write ? -EIO : 0;
}

/* A note as one CSV field that needs no quoting: no comma, quote or line break. */
static void put_note(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ',' ? ';' : *s == '"' ? '\'' : (unsigned char)*s < 0x20 ? ' ' : *s, f);
}

static int write_matrix(int dirfd, const struct map_run *m, int b)
{
	const struct map_res *r = &m->res[(size_t)b * (size_t)m->plan.n * (size_t)m->plan.n];
	char name[64];
	FILE *f;
	int i, j, n = m->plan.n;

	snprintf(name, sizeof(name), "map-%s.csv", m->backends[b]);
	if (!(f = out_stream(dirfd, name)))
		return -errno;
	fputs("cpu", f);
	for (j = 0; j < n; j++)
		fprintf(f, ",%d", m->plan.cpus[j]);
	for (i = 0; i < n; i++) {
		fprintf(f, "\n%d", m->plan.cpus[i]);
		for (j = 0; j < n; j++, r++)
			if (r->status == MS_OK)
				fprintf(f, ",%.1f", r->p50);
			else
				fputc(',', f);
	}
	fputc('\n', f);
	return end_file(f);
}

static const char *const status_names[] = {"skipped", "ok", "skipped", "failed"};

static int write_pairs(int dirfd, const struct map_run *m)
{
	int all = m->plan.n * m->plan.n, b, i, n = m->plan.n;
	FILE *f = out_stream(dirfd, "pairs.csv");

	if (!f)
		return -errno;
	fputs("backend,cpu_a,cpu_b,relation,status,round_trips,lat_p50_ns,lat_p99_ns,note\n", f);
	for (b = 0; b < m->nb; b++)
		for (i = 0; i < all; i++) {
			const struct map_res *r = &m->res[(size_t)b * (size_t)all + (size_t)i];

			fprintf(f, "%s,%d,%d,%s,%s,", m->backends[b], m->plan.cpus[i / n],
				m->plan.cpus[i % n], topo_rel_name(m->plan.rel[i]),
				status_names[r->status]);
			if (r->status == MS_OK)
				fprintf(f, "%.0f,%.1f,%.1f,", r->rounds, r->p50, r->p99);
			else
				fputs(",,,", f);
			put_note(f, r->note);
			fputc('\n', f);
		}
	return end_file(f);
}

/* env.json's "map": what was asked for. */
static json_t *map_json(const struct map_run *m)
{
	json_t *o = json_object(), *b = json_array(), *c = json_array();

	for (int i = 0; i < m->nb; i++)
		json_array_append_new(b, json_string(m->backends[i]));
	for (int i = 0; i < m->plan.n; i++)
		json_array_append_new(c, json_integer(m->plan.cpus[i]));
	json_object_set_new(o, "backends", b);
	json_object_set_new(o, "cpus", c);
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "pair_time_s", json_real(m->pair_time));
	json_object_set_new(o, "rows", json_string("CPU of the process that times (ping)"));
	json_object_set_new(o, "columns", json_string("CPU of the process that echoes (pong)"));
	json_object_set_new(o, "same_cpu",
			    json_string("measured: both processes on one CPU, taking turns"));
	json_object_set_new(o, "value", json_string("p50 round trip in ns"));
	return o;
}

struct map_files {
	const struct map_run *m;
	struct bench_env *env;
};

static int write_map_files(int fd, void *ctx)
{
	const struct map_files *mf = ctx;
	int rc = 0, b;
	FILE *f;

	for (b = 0; b < mf->m->nb && !rc; b++)
		rc = write_matrix(fd, mf->m, b);
	if (!rc)
		rc = write_pairs(fd, mf->m);
	if (!rc && !(f = out_stream(fd, "relations.csv")))
		rc = -errno;
	else if (!rc)
		rc = map_plan_write(&mf->m->plan, f) ? (fclose(f), -EIO) : end_file(f);
	if (!rc)
		rc = bench_write_env(fd, mf->env);
	return rc;
}

static int write_map(struct out_dir *od, const struct map_run *m, struct bench_env *env)
{
	struct map_files mf = {m, env};

	return out_write(od, "the map", write_map_files, &mf);
}

/* Small maps on stdout too, a matrix per backend. */
static void print_map(const struct map_run *m)
{
	int n = m->plan.n, all = n * n;

	if (n > 16)
		return;
	for (int b = 0; b < m->nb; b++) {
		printf("%s: p50 round trip (ns), rows: CPU that times, columns: CPU that echoes\n",
		       m->backends[b]);
		printf("%8s", "cpu");
		for (int j = 0; j < n; j++)
			printf(" %9d", m->plan.cpus[j]);
		for (int i = 0; i < all; i++) {
			const struct map_res *r = &m->res[(size_t)b * (size_t)all + (size_t)i];

			if (i % n == 0)
				printf("\n%8d", m->plan.cpus[i / n]);
			if (r->status == MS_OK)
				printf(" %9.0f", r->p50);
			else
				printf(" %9s", status_names[r->status]);
		}
		printf("\n");
	}
}

/* The flags of map; --force and --help take no value. */
static const char *const map_flags[] = {"backends", "cpus", "size",  "pair-time",
					"mem-node", "out",  "force", "help"};
enum { M_BACKENDS, M_CPUS, M_SIZE, M_PAIR_TIME, M_MEM_NODE, M_OUT, M_FORCE, M_HELP, M_N };

static void parse_flags(int argc, char **argv, const char **val, bool *force)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		int k;

		if (!strcmp(a, "-h"))
			k = M_HELP;
		else
			for (k = 0; k < M_N; k++)
				if (len == strlen(map_flags[k]) + 2 && !strncmp(a, "--", 2) &&
				    !strncmp(a + 2, map_flags[k], len - 2))
					break;
		if (k == M_N || (k >= M_FORCE && eq))
			bad("map", a,
			    "--backends, --cpus, --size, --pair-time, --mem-node, --out, --force, "
			    "--help");
		if (k == M_HELP) {
			char list[256];

			backend_list(list, sizeof(list));
			printf(map_usage, list);
			exit(0);
		}
		if (k == M_FORCE) {
			*force = true;
			continue;
		}
		if (!eq && i + 1 == argc)
			bad(a, "", "a value after %s", a);
		val[k] = eq ? eq + 1 : argv[++i];
	}
}

int map_main(int argc, char **argv, char *command)
{
	struct map_run m = {
		.backends = {"floor", "shm", "pipe"}, .nb = 3, .size = 64, .pair_time = 0.1};
	const char *val[M_N] = {0}, *why = NULL;
	char out[PATH_MAX], whybuf[512];
	bool force = false;
	struct out_dir od;
	struct topo *t;
	int rc, failed = 0, all, b;

	parse_flags(argc, argv, val, &force);
	if (val[M_BACKENDS])
		parse_map_backends(&m, val[M_BACKENDS]);
	if (val[M_SIZE])
		m.size = parse_one_size(val[M_SIZE]);
	if (val[M_PAIR_TIME] &&
	    (parse_seconds(val[M_PAIR_TIME], false, &m.pair_time) || m.pair_time > 60))
		bad("--pair-time", val[M_PAIR_TIME],
		    "seconds, more than 0 and at most 60 (e.g. 0.1)");
	t = load_topo();
	if (val[M_MEM_NODE])
		memnode_option(val[M_MEM_NODE], t);
	rc = map_plan_new(&m.plan, t, val[M_CPUS], &why);
	if (rc == -ENOMEM) {
		fprintf(stderr, "ipcbench: out of memory\n");
		return 1;
	}
	if (rc)
		bad("--cpus", val[M_CPUS],
		    "a list of distinct CPUs of this machine, e.g. 0-3,8 (%s)",
		    why ? why : "malformed");
	if (val[M_OUT])
		snprintf(out, sizeof(out), "%s", val[M_OUT]);
	else
		default_out(out, sizeof(out) - 4), strcat(out, "-map");
	if (out_check(&od, out, force, whybuf, sizeof(whybuf)))
		bad("--out", out, "%s", whybuf);
	all = m.plan.n * m.plan.n;
	m.res = calloc((size_t)all * (size_t)m.nb, sizeof(*m.res));
	if (!m.res) {
		fprintf(stderr, "ipcbench: out of memory\n");
		return 1;
	}
	catch_stops();
	/* One probe per backend: a queue this kernel refuses skips all its pairs. */
	for (b = 0; b < m.nb; b++) {
		struct cell c;

		pair_cell(&m, b, 0, &c);
		if (c.mode != MODE_FLOOR && bench_probe(&c, m.probe[b], sizeof(m.probe[b])) == 0)
			m.probe[b][0] = '\0';
	}
	if (out_create(&od, whybuf, sizeof(whybuf)))
		bad("--out", od.path, "%s", whybuf);

	double harness = msg_cost_ns(m.size);
	json_t *extra = json_object();
	struct bench_env env = {.profile = "map",
				.command = command,
				.topo = t,
				.timer_ns = bench_timer_cost_ns(),
				.sizes = &m.size,
				.harness_ns = &harness,
				.nsizes = 1,
				.extra = extra};

	measure_all(&m, t);
	json_object_set_new(extra, "map", map_json(&m));
	json_t *mem = memnode_json(topo_nodes(t));

	if (mem)
		json_object_update(extra, mem);
	memnode_json_free(mem);
	rc = write_map(&od, &m, &env);
	for (int i = 0; i < all * m.nb; i++)
		failed += m.res[i].status == MS_FAILED;
	for (int i = 0; i < all * m.nb; i++)
		if (m.res[i].status == MS_FAILED)
			fprintf(stderr, "ipcbench: failed: %s CPU %d -> CPU %d: %s\n",
				m.backends[i / all], m.plan.cpus[i % all / m.plan.n],
				m.plan.cpus[i % m.plan.n], m.res[i].note);
	if (!rc) {
		print_map(&m);
		fprintf(stderr, "%sresults in %s\n", bench_stop ? "interrupted; partial " : "",
			od.path);
		printf("results: %s\n", od.path);
	}
	json_decref(extra);
	free(m.res);
	map_plan_free(&m.plan);
	topo_free(t);
	if (bench_stop)
		return 128 + bench_stop;
	return rc || failed ? 1 : 0;
}
