/* SPDX-License-Identifier: MIT */
/*
 * What every workload shares: the run's shared page, the barrier, supervision.
 * It calls no workload back (measure.c dispatches to them).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "work.h"

volatile sig_atomic_t bench_stop;

static const char *const mode_names[MODE_N] = {"latency", "throughput", "floor", "bare"};

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

void work_child_init(pid_t parent)
{
	/* A SIGKILLed ipcbench must not leave workers blocked forever. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/*
	 * Ctrl-C and a hang-up reach the whole process group; the parent stops
	 * and reaps us itself, after which it removes the run's queues.  The
	 * parent only notes SIGPIPE; a worker writing to a pipe its peer closed
	 * dies of it, as a worker of any program would, and the parent says so.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
}

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

void work_barrier(struct shared *sh)
{
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		futex(&sh->go, FUTEX_WAIT, 0);
}

void work_go(struct shared *sh)
{
	atomic_store(&sh->go, 1);
	futex(&sh->go, FUTEX_WAKE, INT_MAX);
}

int work_start(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
	       const int *cpus)
{
	int i, rc;

	for (i = 0; i < n; i++)
		procs[i] = NULL;
	for (i = 0; i < n; i++) {
		rc = proc_new(&procs[i], fn, (char *)args + (size_t)i * argsz);
		if (!rc)
			rc = proc_bind(procs[i], t, cpus[i]);
		if (!rc)
			rc = proc_start(procs[i]);
		if (rc) {
			work_reap(procs, n);
			return rc;
		}
	}
	return 0;
}

void work_reap(struct proc **procs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (procs[i])
			proc_free(procs[i]); /* kills and reaps one still running */
		procs[i] = NULL;
	}
}

static void describe_exit(int i, int code, char *err, size_t len)
{
	if (code == 127)
		snprintf(err, len, "worker %d could not be pinned to its CPU", i);
	else if (code < 0)
		snprintf(err, len, "worker %d killed by signal %d", i, -code);
	else
		snprintf(err, len, "worker %d exited with code %d", i, code);
}

/* Anything that moves while a run is alive: ping-pong's progress, the consumers' counts. */
static uint64_t progress_of(struct shared *sh)
{
	uint64_t v = atomic_load_explicit(&sh->progress, memory_order_relaxed);

	for (int i = 0; i < 2 * BENCH_MAX_PROCS; i++)
		v += atomic_load_explicit(&sh->slot[i].count, memory_order_relaxed);
	return v;
}

int work_wait(struct proc **procs, int n, struct work_watch *w, char *err, size_t len)
{
	int64_t last_change = pool_now_ns(), now;
	uint64_t last = progress_of(w->sh);
	int left = n, i, code, rc = 0;
	bool done[2 * BENCH_MAX_PROCS] = {false};

	if (n > 2 * BENCH_MAX_PROCS)
		return -EINVAL;
	while (left > 0) {
		if (bench_stop) {
			snprintf(err, len, "interrupted");
			rc = -EINTR;
			break;
		}
		bool waited = false;
		for (i = 0; i < n; i++) {
			if (done[i])
				continue;
			/* Sleep on the first live worker only; just look at the others. */
			int64_t to = waited ? 0 : 5000000;
			waited = true;
			if (proc_join(procs[i], to) != 0)
				continue;
			done[i] = true;
			left--;
			if (proc_exitcode(procs[i], &code) == 0 && code != 0) {
				if (atomic_load(&w->sh->nerr))
					snprintf(err, len, "%s", w->sh->err);
				else
					describe_exit(i, code, err, len);
				rc = atomic_load(&w->sh->nerr) ? -EBADMSG : -EIO;
				goto out;
			}
		}
		if (w->poll && w->poll(w->ctx))
			w->poll = NULL;
		now = pool_now_ns();
		uint64_t cur = progress_of(w->sh);
		if (cur != last) {
			last = cur;
			last_change = now;
		} else if (left > 0 && now - last_change > w->stall_ns) {
			snprintf(err, len, "stalled: no message moved for %.0f s",
				 (double)w->stall_ns / 1e9);
			rc = -EIO;
			break;
		}
	}
out:
	if (rc)
		work_reap(procs, n);
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
	};
	const char *f = getenv("IPCBENCH_FAULT");

	for (size_t i = 1; f && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(f, names[i]))
			return (enum work_fault)i;
	return FAULT_NONE;
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
