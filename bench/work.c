/* SPDX-License-Identifier: MIT */
/*
 * What every workload shares: the run's shared page, its marks and faults, and
 * its supervision on pool/group.  It calls no workload back (measure.c does).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include "work.h"

volatile sig_atomic_t bench_stop;

static const char *const mode_names[MODE_N] = {"latency", "throughput", "floor",
					       "bare",	  "rate",	"wakeup"};

const char *bench_mode_name(enum bench_mode m)
{
	return (unsigned)m < MODE_N ? mode_names[m] : NULL;
}

double bench_timer_cost_ns(void)
{
	enum { N = 20000, BATCHES = 10 };
	int64_t t0, t1, sink = 0, best = INT64_MAX;
	int i, b;

	/* The least of several batches: preemption only ever adds. */
	for (b = 0; b < BATCHES; b++) {
		t0 = pool_now_ns();
		for (i = 0; i < N; i++)
			sink += pool_now_ns();
		t1 = pool_now_ns();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	(void)sink;
	return (double)best / N;
}

struct shared *work_shared_new(size_t nstats, size_t *len)
{
	void *p;

	*len = sizeof(struct shared) + nstats * sizeof(struct pstat);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	hist_init(&((struct shared *)p)->hist); /* the rest is zero */
	return p;
}

void work_shared_free(struct shared *sh, size_t len)
{
	if (sh)
		munmap(sh, len);
}

void work_error(struct shared *sh, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&sh->nerr, 1) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sh->err, sizeof(sh->err), fmt, ap);
	va_end(ap);
}

/* Anything that moves while a run is alive: ping-pong's progress, the consumers' counts. */
static uint64_t progress_of(struct shared *sh)
{
	uint64_t v = atomic_load_explicit(&sh->progress, memory_order_relaxed);

	for (int i = 0; i < 2 * BENCH_MAX_PROCS; i++)
		v += atomic_load_explicit(&sh->slot[i].count, memory_order_relaxed);
	return v;
}

static uint64_t watch_progress(void *ctx)
{
	return progress_of(((struct work_watch *)ctx)->sh);
}

/* A worker that failed says why in the shared page (work_error). */
static int watch_failed(void *ctx, char *err, size_t len)
{
	struct shared *sh = ((struct work_watch *)ctx)->sh;

	if (!atomic_load(&sh->nerr))
		return 0;
	snprintf(err, len, "%s", sh->err);
	return 1;
}

static int watch_poll(void *ctx)
{
	struct work_watch *w = ctx;

	return w->poll(w->ctx);
}

_Static_assert(2 * BENCH_MAX_PROCS <= GROUP_MAX, "a throughput cell's workers fit one group");

int work_wait(struct proc **procs, int n, struct work_watch *w, char *err, size_t len)
{
	struct group_watch g = {
		.stop = &bench_stop,
		.stall_ns = w->stall_ns,
		.progress = watch_progress,
		.failed = watch_failed,
		.poll = w->poll ? watch_poll : NULL,
		.ctx = w,
	};

	return group_wait(procs, n, &g, err, len);
}

int work_run(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
	     const int *cpus, struct work_watch *w, char *err, size_t len)
{
	int rc = group_start(procs, n, fn, args, argsz, t, cpus);

	if (rc) {
		snprintf(err, len, "starting workers: %s", strerror(-rc));
		return rc;
	}
	rc = work_wait(procs, n, w, err, len);
	group_reap(procs, n);
	return rc;
}

int work_queue_new(struct ipcq **q, const struct ipcq_opts *o, char *err, size_t len)
{
	int rc = ipcq_create(q, o);

	if (rc && ipcq_explain(o, rc, err, len) <= 0)
		snprintf(err, len, "ipcq_create: %s", strerror(-rc));
	return rc;
}

void work_mark(struct work_mark *m)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	m->t = pool_now_ns();
	m->cpu_ns = ((int64_t)u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000 +
		    ((int64_t)u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000;
	m->csw = u.ru_nvcsw + u.ru_nivcsw;
}

void work_mark_end(struct shared *sh, int i, const struct work_mark *start)
{
	struct work_mark e;

	work_mark(&e);
	sh->slot[i].cpu_ns = e.cpu_ns - start->cpu_ns;
	sh->slot[i].csw = e.csw - start->csw;
	sh->slot[i].wall_ns = e.t - start->t;
}

void work_cpu_result(const struct shared *sh, int n, double wall_s, double msgs,
		     struct run_result *r)
{
	double cpu = 0, csw = 0;

	for (int i = 0; i < n; i++) {
		cpu += (double)sh->slot[i].cpu_ns;
		csw += (double)sh->slot[i].csw;
	}
	r->cpu_ns = msgs > 0 ? cpu / msgs : 0;
	r->csw = msgs > 0 ? csw / msgs : 0;
	r->cpu_util = wall_s > 0 ? cpu / 1e9 / wall_s : 0;
}

void work_lat_result(const struct hist *h, struct run_result *r)
{
	static const double pct[] = {50, 90, 99, 99.9};

	r->lat[0] = (double)h->min;
	r->lat[1] = hist_mean(h);
	for (int i = 0; i < 4; i++)
		r->lat[2 + i] = (double)hist_percentile(h, pct[i]);
	r->lat[6] = (double)h->max;
}

enum work_fault work_fault(void)
{
	static const char *const names[] = {
		[FAULT_CORRUPT] = "corrupt",
		[FAULT_CORRUPT_FIRST] = "corrupt-first",
		[FAULT_CORRUPT_MID] = "corrupt-mid",
		[FAULT_CORRUPT_LAST] = "corrupt-last",
		[FAULT_DROP] = "drop",
		[FAULT_DUP] = "dup",
		[FAULT_REORDER] = "reorder",
		[FAULT_SLEEPY] = "sleepy",
		[FAULT_STALL] = "stall",
	};
	const char *f = getenv("IPCBENCH_FAULT");

	for (size_t i = 1; f && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(f, names[i]))
			return (enum work_fault)i;
	return FAULT_NONE;
}

void work_stall(enum work_fault f)
{
	struct timespec ts = {0, WORK_STALL_NS};

	if (f != FAULT_STALL)
		return;
	/* The whole stall, signals or not: a shorter one would hide what it shows. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

long work_fault_offset(enum work_fault f, size_t size)
{
	/* The payload is [8, size); a message of 8 bytes has only its tag. */
	size_t first = size > 8 ? 8 : size - 1;

	switch (f) {
	case FAULT_CORRUPT:
	case FAULT_CORRUPT_LAST:
		return (long)size - 1;
	case FAULT_CORRUPT_FIRST:
		return (long)first;
	case FAULT_CORRUPT_MID:
		return (long)(first + (size - 1 - first) / 2);
	default:
		return -1;
	}
}

int work_random_hex(char *buf, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	size_t i, n;
	ssize_t got;

	if (nhex > 2 * sizeof(r))
		nhex = 2 * sizeof(r);
	n = (nhex + 1) / 2;
	do
		got = getrandom(r, n, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if ((size_t)got < n)
		return -EAGAIN;
	for (i = 0; i < nhex; i++)
		buf[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	buf[nhex] = '\0';
	return 0;
}
