/* SPDX-License-Identifier: MIT */
/*
 * group: workers pinned where asked, released together at the barrier,
 * and group_wait's verdicts: all exited 0, a worker's own error, a
 * worker's bad exit, a stall, a stop; on each failure every worker reaped;
 * and the workers die with a SIGKILLed parent (PR_SET_PDEATHSIG); the
 * Pool's part: one worker started and replaced alone (group_start_one),
 * group_worker_init's signals, group_stop's grace period.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "group.h"
#include "topo.h"
#include "test_util.h"

#define N 3

struct page {
	struct group_gate gate;
	_Atomic uint64_t progress;
	_Atomic int released; /* workers past the barrier */
	int cpu[N];
	int arrived_before_go[N];
	char err[64];
	int nerr;
	_Atomic pid_t pid[N]; /* the orphan check's workers */
};

struct arg {
	struct page *pg;
	int i;
	int how; /* 0: barrier then exit 0; 1: exit 3; 2: report, exit 1; 3: sleep */
};

static int worker(void *a)
{
	struct arg *w = a;

	group_child_init(getppid());
	switch (w->how) {
	case 1:
		return 3;
	case 2:
		snprintf(w->pg->err, sizeof(w->pg->err), "worker %d says no", w->i);
		__atomic_store_n(&w->pg->nerr, 1, __ATOMIC_SEQ_CST);
		return 1;
	case 3:
		atomic_store(&w->pg->pid[w->i], getpid());
		for (;;)
			pause();
	}
	group_gate_wait(&w->pg->gate);
	/* Everybody had arrived when the gate opened. */
	w->pg->arrived_before_go[w->i] = (int)group_gate_arrived(&w->pg->gate);
	w->pg->cpu[w->i] = sched_getcpu();
	atomic_fetch_add(&w->pg->released, 1);
	return 0;
}

/* A long-lived worker: polite (SIGTERM ends it) or deaf to SIGTERM. */
static int lasting(void *a)
{
	const int *deaf = a;

	if (group_worker_init(getppid()))
		return 1;
	if (*deaf)
		signal(SIGTERM, SIG_IGN);
	for (;;)
		pause();
}

static void check_stop_and_restart(struct topo *t, int cpu)
{
	static const int polite = 0, deaf = 1;
	struct proc *procs[2] = {NULL, NULL};
	sigset_t term, old;
	pid_t first;
	int code[2] = {0, 0};

	/* Started with SIGTERM blocked, as the Pool's manager thread may have it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	CHECK_EQ(group_start_one(procs, 0, lasting, (void *)&polite, t, cpu), 0);
	CHECK_EQ(group_start_one(procs, 1, lasting, (void *)&deaf, t, cpu), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!procs[0] || !procs[1]) {
		group_reap(procs, 2);
		return;
	}
	usleep(100000); /* both past group_worker_init */
	first = proc_pid(procs[0]);

	int64_t t0 = pool_now_ns();
	group_stop(procs, 2, 300000000);
	int64_t took = pool_now_ns() - t0;
	CHECK(!proc_alive(procs[0]) && !proc_alive(procs[1]));
	CHECK_EQ(proc_exitcode(procs[0], &code[0]), 0);
	CHECK_EQ(proc_exitcode(procs[1], &code[1]), 0);
	CHECK_EQ(code[0], -SIGTERM); /* unblocked and default in the worker */
	CHECK_EQ(code[1], -SIGKILL); /* after the grace period */
	CHECK(took >= 250000000 && took < 5 * INT64_C(1000000000));

	/* Replaced alone: a new process in the ended one's place. */
	CHECK_EQ(group_start_one(procs, 0, lasting, (void *)&polite, t, cpu), 0);
	CHECK(procs[0] && proc_pid(procs[0]) != first && proc_alive(procs[0]));
	CHECK(cpu < 0 || !procs[0] || proc_join(procs[0], 100000000) == -ETIMEDOUT);
	/* An unknown CPU: refused, the slot left empty. */
	group_reap(procs, 2);
	CHECK_EQ(group_start_one(procs, 0, lasting, (void *)&polite, t, 1 << 20), -EINVAL);
	CHECK(procs[0] == NULL);
}

static uint64_t progress(void *ctx)
{
	return atomic_load(&((struct page *)ctx)->progress);
}

static int failed(void *ctx, char *err, size_t len)
{
	struct page *pg = ctx;

	if (!__atomic_load_n(&pg->nerr, __ATOMIC_SEQ_CST))
		return 0;
	snprintf(err, len, "%s", pg->err);
	return 1;
}

/* The parent's phase: open the gate once all arrived. */
static int open_when_all(void *ctx)
{
	struct page *pg = ctx;

	if (group_gate_arrived(&pg->gate) < N)
		return 0;
	CHECK_EQ(atomic_load(&pg->released), 0); /* nobody passed a closed gate */
	group_gate_open(&pg->gate);
	return 1;
}

static volatile sig_atomic_t stop;

static int run(struct topo *t, int cpu, const int how[N], int64_t stall_ns, char *err, size_t len)
{
	struct page *pg =
		mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct proc *procs[N];
	struct arg args[N];
	int cpus[N], i, rc;

	if (pg == MAP_FAILED)
		return -ENOMEM;
	for (i = 0; i < N; i++) {
		args[i] = (struct arg){pg, i, how[i]};
		cpus[i] = cpu;
	}
	struct group_watch w = {.stop = &stop,
				.stall_ns = stall_ns,
				.progress = progress,
				.failed = failed,
				.poll = open_when_all,
				.ctx = pg};
	rc = group_start(procs, N, worker, args, sizeof(args[0]), t, cpus);
	if (!rc)
		rc = group_wait(procs, N, &w, err, len);
	if (rc)
		for (i = 0; i < N; i++)
			CHECK(procs[i] == NULL); /* all reaped on failure */
	if (!rc) {
		CHECK_EQ(atomic_load(&pg->released), N);
		for (i = 0; i < N; i++) {
			CHECK_EQ(pg->cpu[i], cpu);
			CHECK_EQ(pg->arrived_before_go[i], N);
		}
	}
	group_reap(procs, N);
	munmap(pg, sizeof(*pg));
	return rc;
}

/* Gone, or a zombie nobody reaped yet: either way no longer running. */
static bool ended(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z' || state == 'X';
}

/* A parent SIGKILLed while its group runs: its workers must not outlive it. */
static void check_orphans(struct topo *t, int cpu)
{
	struct page *pg =
		mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t mid;
	int i, seen = 0;

	CHECK(pg != MAP_FAILED);
	if (pg == MAP_FAILED)
		return;
	mid = fork();
	if (mid == 0) {
		struct proc *procs[N];
		struct arg args[N];
		int cpus[N];

		for (i = 0; i < N; i++) {
			args[i] = (struct arg){pg, i, 3};
			cpus[i] = cpu;
		}
		if (group_start(procs, N, worker, args, sizeof(args[0]), t, cpus))
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(mid > 0);
	for (int64_t end = pool_now_ns() + 5 * INT64_C(1000000000);
	     mid > 0 && seen < N && pool_now_ns() < end;) {
		for (seen = 0, i = 0; i < N; i++)
			seen += atomic_load(&pg->pid[i]) != 0;
		usleep(1000);
	}
	CHECK_EQ(seen, N);
	if (mid > 0) {
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
	}
	for (i = 0; i < N; i++) {
		pid_t pid = atomic_load(&pg->pid[i]);
		int64_t end = pool_now_ns() + 5 * INT64_C(1000000000);

		while (pid > 0 && !ended(pid) && pool_now_ns() < end)
			usleep(1000);
		CHECK(pid <= 0 || ended(pid));
		if (pid > 0 && !ended(pid))
			kill(pid, SIGKILL); /* leave nothing behind */
	}
	munmap(pg, sizeof(*pg));
}

int main(void)
{
	static const int ok[N] = {0, 0, 0}, bad_exit[N] = {0, 1, 0}, said[N] = {3, 2, 3},
			 sleepy[N] = {3, 3, 3};
	struct topo *t;
	cpu_set_t set;
	char err[128];
	int cpu = -1, rc;

	rc = topo_load(&t);
	if (rc) {
		printf("SKIP: topo_load failed: %s\n", strerror(-rc));
		return 77;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = CPU_SETSIZE - 1; c >= 0; c--)
			if (CPU_ISSET(c, &set))
				cpu = c;

	rc = run(t, cpu, ok, 5 * INT64_C(1000000000), err, sizeof(err));
	CHECK_EQ(rc, 0);

	rc = run(t, cpu, bad_exit, 5 * INT64_C(1000000000), err, sizeof(err));
	CHECK_EQ(rc, -EIO);
	CHECK(rc != -EIO || !strcmp(err, "worker 1 exited with code 3"));

	rc = run(t, cpu, said, 5 * INT64_C(1000000000), err, sizeof(err));
	CHECK_EQ(rc, -EBADMSG);
	CHECK(rc != -EBADMSG || !strcmp(err, "worker 1 says no"));

	int64_t t0 = pool_now_ns();
	rc = run(t, cpu, sleepy, 200000000, err, sizeof(err));
	CHECK_EQ(rc, -EIO);
	CHECK(strstr(err, "stalled") != NULL);
	CHECK(pool_now_ns() - t0 < 5 * INT64_C(1000000000));

	stop = 1;
	rc = run(t, cpu, sleepy, 5 * INT64_C(1000000000), err, sizeof(err));
	CHECK_EQ(rc, -EINTR);
	CHECK(!strcmp(err, "interrupted"));

	stop = 0;
	check_orphans(t, cpu);
	check_stop_and_restart(t, cpu);

	topo_free(t);
	return test_result("test_group");
}
