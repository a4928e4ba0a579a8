/* SPDX-License-Identifier: MIT */
/*
 * The files a run writes: results.csv (one row per cell, medians over the
 * repetitions), histograms.csv (the merged round-trip histograms),
 * env.json (the machine and the build) and topology.xml (hwloc).
 * cmd_run.c writes benchmarks.json, google-benchmark's JSON (gb_run).  All are
 * created exclusively in the fresh directory of the run (outdir.c).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bare_sock.h"
#include "bench.h"
#include "columns.h" /* the column lists, shared with the report reader */
#include "ipcq_ext.h"

#ifndef IPCB_SOURCE_ROOT
#define IPCB_SOURCE_ROOT "."
#endif
#ifndef IPCB_CFLAGS
#define IPCB_CFLAGS ""
#endif
#ifndef IPCB_VERSION
#define IPCB_VERSION "unknown"
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of field @off (a double in struct run_result) over the repetitions. */
static double median(const struct cell *c, size_t off)
{
	double v[c->nreps];
	int i;

	for (i = 0; i < c->nreps; i++)
		memcpy(&v[i], (const char *)&c->reps[i] + off, sizeof(double));
	qsort(v, (size_t)c->nreps, sizeof(double), cmp_double);
	return c->nreps % 2 ? v[c->nreps / 2] : (v[c->nreps / 2 - 1] + v[c->nreps / 2]) / 2;
}

static double cv(const struct cell *c, size_t off)
{
	double s = 0, ss = 0, x, mean;
	int i;

	if (c->nreps < 2)
		return 0;
	for (i = 0; i < c->nreps; i++) {
		memcpy(&x, (const char *)&c->reps[i] + off, sizeof(double));
		s += x;
	}
	mean = s / c->nreps;
	for (i = 0; i < c->nreps; i++) {
		memcpy(&x, (const char *)&c->reps[i] + off, sizeof(double));
		ss += (x - mean) * (x - mean);
	}
	return mean > 0 ? sqrt(ss / (c->nreps - 1)) / mean : 0;
}

/* CSV field: quoted when it holds a comma, a quote or a line break. */
static void put_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
	fputc('"', f);
}

/* What a bare loop runs on. */
static const char *bare_what(const struct cell *c)
{
	if (!strcmp(c->backend, "pipe"))
		return c->size < 4096 ? "two pipes in packet mode (O_DIRECT), one write/read"
				      : "two pipes in packet mode (O_DIRECT), one write cut into "
					"4096-byte packets, one read per packet";
	if (!strcmp(c->backend, "pipe-stream"))
		return "two stream pipes, write/read";
	if (!strcmp(c->backend, "sysv"))
		return "two SysV queues, msgsnd/msgrcv";
	if (!strcmp(c->backend, "mqueue"))
		return "two POSIX queues, mq_send/mq_receive";
	if (!strcmp(c->backend, "shm"))
		return "two minimal SPSC rings in shared memory (busy polling, no futex)";
	if (bare_sock_is(c->backend))
		return bare_sock_what(c->backend);
	return c->backend;
}

/* What an ok row measured, said once per row so that the CSV reads alone. */
/* How the cell's queues were made, when not for many producers and consumers. */
static const char *sole_note(const struct cell *c)
{
	return c->qflags == (IPCQ_SP | IPCQ_SC)
		       ? " made IPCQ_SP|IPCQ_SC (one producer, one consumer)"
		       : "";
}

static const char *ok_note(const struct cell *c, char *buf, size_t len)
{
	switch (c->mode) {
	case MODE_FLOOR:
		snprintf(buf, len,
			 "RTT of one cache line bounced through shared memory (no system call); "
			 "cpus %d,%d",
			 c->cpus[0], c->cpus[1]);
		break;
	case MODE_BARE:
		snprintf(buf, len,
			 "RTT of %s without ipcq; every echo checked: length, all %zu bytes; "
			 "cpus %d,%d",
			 bare_what(c), c->size, c->cpus[0], c->cpus[1]);
		break;
	case MODE_LATENCY:
		snprintf(buf, len,
			 "RTT through two ipcq %s queues%s; every echo checked: length, all %zu "
			 "bytes; "
			 "cpus %d,%d",
			 c->backend, sole_note(c), c->size, c->cpus[0], c->cpus[1]);
		break;
	case MODE_RATE:
	case MODE_WAKEUP:
		snprintf(buf, len,
			 "one-way latency from each message's due time (%s) through one ipcq %s "
			 "queue%s; every message verified: length, all %zu bytes, order, due "
			 "time; producer on cpu %d, consumer on cpu %d",
			 c->mode == MODE_RATE ? "open loop on a fixed schedule"
					      : "sent after an idle gap",
			 c->backend, sole_note(c), c->size, c->cpus[0], c->cpus[1]);
		break;
	default:
		snprintf(buf, len,
			 "every message verified: length, all bytes, order per producer, each "
			 "exactly once; producers on cpu %d, consumers on cpu %d; queue%s",
			 c->cpus[0], c->cpus[1],
			 c->qflags ? sole_note(c) : " for many producers and consumers");
		break;
	}
	return buf;
}

#define RR(field) offsetof(struct run_result, field)

/* offered_rate,achieved_rate,gap_ns (no leading comma, no newline); achieved only when measured. */
static void put_rate(FILE *f, const struct cell *c, bool measured)
{
	if (c->mode == MODE_RATE && c->rate > 0)
		fprintf(f, "%.0f", c->rate);
	else if (c->mode == MODE_RATE)
		fputs("max", f);
	fputc(',', f);
	if (measured && (c->mode == MODE_RATE || c->mode == MODE_WAKEUP))
		fprintf(f, "%.1f", median(c, RR(achieved)));
	fputc(',', f);
	if (c->mode == MODE_WAKEUP)
		fprintf(f, "%lld", (long long)c->gap_ns);
}

/*
 * A rate cell whose consumer got less than BENCH_SATURATED of the offered
 * rate (the median over repetitions) did not carry the load: its latency
 * would pretend it did.  Says so in @buf.
 */
static bool saturated(const struct cell *c, char *buf, size_t len)
{
	double got;

	if (c->mode != MODE_RATE || c->rate <= 0 || !c->nreps)
		return false;
	got = median(c, RR(achieved));
	if (got >= BENCH_SATURATED * c->rate)
		return false;
	snprintf(buf, len,
		 "saturated: reached %.0f messages/s of the %.0f offered (%.3g%%); the backlog, "
		 "not the queue, set the latency",
		 got, c->rate, 100 * got / c->rate);
	return true;
}

/* The batch column, last of the row, and the newline: measured throughput cells only. */
static void put_batch(FILE *f, const struct cell *c)
{
	if (c->mode == MODE_THROUGHPUT)
		fprintf(f, ",%d\n", c->batch > 1 ? c->batch : 1);
	else
		fputs(",\n", f);
}

static void write_row(FILE *f, const struct cell *c)
{
	const char *status = "ok", *note = c->note;
	char buf[BENCH_NOTE];
	int i;

	if (c->skip || c->interrupted || (!c->failed && c->nreps == 0))
		status = "skipped";
	else if (c->failed)
		status = "failed";
	else if (saturated(c, buf, sizeof(buf)))
		status = "saturated", note = buf;
	if (!strcmp(status, "skipped") && !note[0])
		note = c->interrupted ? "interrupted before it was measured" : "not measured";
	if (!strcmp(status, "ok") && !note[0])
		note = ok_note(c, buf, sizeof(buf));
	fprintf(f, "%s,%s,%zu,%d,%d,%s,%s,", bench_mode_name(c->mode), c->backend, c->size,
		c->producers, c->consumers, topo_rel_name(c->rel), status);
	if (strcmp(status, "ok")) {
		fputs(",,,,,,,,,,,,,", f);
		put_field(f, note);
		fputs(",,,,", f);
		put_rate(f, c, !strcmp(status, "saturated"));
		fputs(",\n", f); /* batch: nothing measured */
		return;
	}
	fprintf(f, "%d,%.0f,%.6f,", c->nreps, median(c, RR(messages)), median(c, RR(seconds)));
	if (c->mode == MODE_THROUGHPUT)
		fprintf(f, "%.1f,%.1f,,,,,,,,%.4f,", median(c, RR(msgs_per_s)),
			median(c, RR(bytes_per_s)), cv(c, RR(msgs_per_s)));
	else {
		fputs(",,", f);
		for (i = 0; i < 7; i++)
			fprintf(f, "%.0f,", median(c, RR(lat) + (size_t)i * sizeof(double)));
		fprintf(f, "%.4f,", cv(c, RR(lat) + 2 * sizeof(double)));
	}
	put_field(f, note);
	fprintf(f, ",%.1f,%.3f,%.4g,", median(c, RR(cpu_ns)), median(c, RR(cpu_util)),
		median(c, RR(csw)));
	put_rate(f, c, true);
	put_batch(f, c);
}

FILE *out_stream(int dirfd, const char *name)
{
	int fd = out_file(dirfd, name);
	FILE *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

int bench_write_csv(int dirfd, struct cell *cells, int n)
{
	FILE *f, *h;
	size_t b;
	int i, rc = 0;

	f = out_stream(dirfd, "results.csv");
	if (!f)
		return -errno;
	h = out_stream(dirfd, "histograms.csv");
	if (!h) {
		rc = -errno;
		fclose(f);
		return rc;
	}
	fputs(IPCB_CSV_HEADER(IPCB_RESULTS_CSV), f);
	fputs(IPCB_CSV_HEADER(IPCB_HIST_COLUMNS), h);
	for (i = 0; i < n; i++) {
		const struct cell *c = &cells[i];

		if (!c->started)
			continue; /* not selected by --benchmark_filter */
		write_row(f, c);
		/* histograms.csv has no column for a rate or a gap: one cell per key only. */
		if (!c->merged || !c->merged->count || c->failed || c->mode == MODE_RATE ||
		    c->mode == MODE_WAKEUP)
			continue;
		for (b = 0; b < HIST_NBUCKETS; b++)
			if (c->merged->buckets[b])
				fprintf(h, "%s,%s,%zu,%s,%llu,%llu\n", bench_mode_name(c->mode),
					c->backend, c->size, topo_rel_name(c->rel),
					(unsigned long long)hist_bucket_upper(b),
					(unsigned long long)c->merged->buckets[b]);
	}
	if (ferror(f) || ferror(h))
		rc = -EIO;
	if (fclose(f) || fclose(h))
		rc = rc ? rc : -errno;
	return rc;
}

int bench_write_json(int dirfd, const char *json)
{
	FILE *f = out_stream(dirfd, "benchmarks.json");
	int rc;

	if (!f)
		return -errno;
	rc = fputs(json, f) < 0 ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* First line of @cmd's output, or "" (for git). */
static void run_cmd(const char *cmd, char *buf, size_t len)
{
	FILE *p = popen(cmd, "r");

	buf[0] = '\0';
	if (!p)
		return;
	if (!fgets(buf, (int)len, p))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}

static void read_line(const char *path, char *buf, size_t len, const char *dflt)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "%s", dflt);
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	else
		snprintf(buf, len, "%s", dflt);
	fclose(f);
}

static void cpu_model(char *buf, size_t len)
{
	char line[512], *v;
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) || !(v = strchr(line, ':')))
			continue;
		v += strspn(v + 1, " \t") + 1;
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

/* Physical cores: distinct (package, core) pairs among the CPUs in sysfs; NUMA nodes. */
static int count_cores(int *numa)
{
	char path[512], a[32], b[32];
	long keys[1024];
	int n = 0, i;
	DIR *d = opendir("/sys/devices/system/cpu");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "cpu", 3) || e->d_name[3] < '0' || e->d_name[3] > '9')
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/topology/core_id",
			 e->d_name);
		read_line(path, a, sizeof(a), "");
		if (!a[0])
			continue; /* offline */
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/%s/topology/physical_package_id", e->d_name);
		read_line(path, b, sizeof(b), "0");
		long k = atol(b) * 100000 + atol(a);
		for (i = 0; i < n && keys[i] != k; i++)
			;
		if (i == n && n < 1024)
			keys[n++] = k;
	}
	if (d)
		closedir(d);
	*numa = 0;
	d = opendir("/sys/devices/system/node");
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			(*numa)++;
	if (d)
		closedir(d);
	if (!*numa)
		*numa = 1;
	return n;
}

static json_t *ipc_limits(void)
{
	const char *const *b = ipcq_backends();
	struct ipcq_limit l[16];
	json_t *o = json_object();
	ssize_t n, i;

	for (; b && *b; b++) {
		n = ipcq_limits(*b, l, 16);
		for (i = 0; i < n && i < 16; i++)
			json_object_set_new(o, l[i].name, json_integer(l[i].value));
	}
	return o;
}

#if defined(__x86_64__) || defined(__i386__)
/* Whether the flags line @line has the word @flag (nonstop_tsc_s3 is not nonstop_tsc). */
static bool has_flag(const char *line, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = strstr(line, flag); p; p = strstr(p + 1, flag))
		if ((p[-1] == ' ' || p[-1] == '\t') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* Whether /proc/cpuinfo's flags hold both constant_tsc and nonstop_tsc. */
static bool tsc_invariant(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool constant = false, nonstop = false;
	char line[16384];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		constant = has_flag(line, "constant_tsc");
		nonstop = has_flag(line, "nonstop_tsc");
		break;
	}
	fclose(f);
	return constant && nonstop;
}
#endif

/* {"64": ns, ...}: the harness's encode + verify per message of each size of the run. */
static json_t *harness(const struct bench_env *e)
{
	json_t *o = json_object();
	char key[32];

	for (int i = 0; i < e->nsizes; i++) {
		snprintf(key, sizeof(key), "%zu", e->sizes[i]);
		json_object_set_new(o, key, json_real(e->harness_ns[i]));
	}
	return o;
}

int bench_write_env(int dirfd, const struct bench_env *e)
{
	char path[64], buf[512], rev[128], dirty[128], date[64];
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;
	int cores, numa, rc, fd;
	json_t *o = json_object();

	uname(&u);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "date", json_string(date));
	json_object_set_new(o, "host", json_string(u.nodename));
	snprintf(buf, sizeof(buf), "%s %s", u.release, u.version);
	json_object_set_new(o, "kernel", json_string(buf));
	cpu_model(buf, sizeof(buf));
	json_object_set_new(o, "cpu_model", json_string(buf));
	cores = count_cores(&numa);
	json_object_set_new(o, "cores", json_integer(cores));
	json_object_set_new(o, "pus", json_integer(topo_npus(e->topo)));
	json_object_set_new(o, "smt", json_boolean(topo_npus(e->topo) > cores));
	json_object_set_new(o, "numa_nodes", json_integer(numa));
	if (topo_describe(e->topo, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "unknown");
	json_object_set_new(o, "topology", json_string(buf));
	read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", buf, sizeof(buf),
		  "none (no cpufreq)");
	json_object_set_new(o, "governor", json_string(buf));
	json_object_set_new(o, "ipc_limits", ipc_limits());
#if defined(__clang__)
	json_object_set_new(o, "compiler", json_string("clang " __clang_version__));
#elif defined(__GNUC__)
	json_object_set_new(o, "compiler", json_string("gcc " __VERSION__));
#else
	json_object_set_new(o, "compiler", json_string("unknown"));
#endif
	json_object_set_new(o, "cflags", json_string(IPCB_CFLAGS));
	run_cmd("git -C '" IPCB_SOURCE_ROOT "' rev-parse --short HEAD 2>/dev/null", rev,
		sizeof(rev));
	run_cmd("git -C '" IPCB_SOURCE_ROOT "' status --porcelain --untracked-files=no 2>/dev/null",
		dirty, sizeof(dirty));
	if (rev[0] && dirty[0])
		strcat(rev, "-dirty");
	json_object_set_new(o, "git_revision", json_string(rev[0] ? rev : "unknown"));
	json_object_set_new(o, "command", json_string(e->command));
	json_object_set_new(o, "profile", json_string(e->profile));
	json_object_set_new(o, "ipcbench_version", json_string(IPCB_VERSION));
	json_object_set_new(o, "timer", json_string("clock_gettime(CLOCK_MONOTONIC) via vDSO"));
	json_object_set_new(o, "timer_cost_ns", json_real(e->timer_ns));
	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", buf,
		  sizeof(buf), "unknown");
	json_object_set_new(o, "clocksource", json_string(buf));
#if defined(__x86_64__) || defined(__i386__)
	bool inv = tsc_invariant();

	json_object_set_new(o, "tsc_invariant", json_boolean(inv));
	json_object_set_new(
		o, "one_way_clock",
		json_string(inv ? "CLOCK_MONOTONIC on an invariant TSC: one clock at one rate on "
				  "every CPU, so the rate and wakeup modes' one-way latencies "
				  "(receive on one CPU minus due time on another) hold"
				: "the TSC is not invariant (constant_tsc and nonstop_tsc not both "
				  "in /proc/cpuinfo): CLOCK_MONOTONIC stays one clock for every "
				  "CPU, but the kernel may fall back to a slower clocksource, and "
				  "one-way latencies across CPUs include any skew it leaves"));
#endif
	json_object_set_new(o, "harness_ns_per_msg", harness(e));
	json_object_set_new(o, "latency", json_string("round-trip time (RTT), not halved"));
	if (e->extra)
		json_object_update(o, e->extra);
	fd = out_file(dirfd, "env.json");
	rc = fd < 0 ? fd : json_dumpfd(o, fd, JSON_INDENT(2) | JSON_SORT_KEYS) ? -EIO : 0;
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	json_decref(o);
	if (rc)
		return rc;
	/* hwloc opens a path: the descriptor's own, which names the file just made. */
	fd = out_file(dirfd, "topology.xml");
	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = topo_export_xml(e->topo, path);
	close(fd);
	return rc;
}
