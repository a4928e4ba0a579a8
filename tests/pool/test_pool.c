/* SPDX-License-Identifier: MIT */
/*
 * pool semantics, like Python's Pool: apply_async and results, map order,
 * close/join/terminate order errors, and a worker killed by SIGKILL in the
 * middle of a task: reported as -ECHILD/SIGKILL and replaced within a second,
 * after which tasks still run.  argv[1]: ipcq backend (default "pipe").
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipcq.h"
#include "pool.h"
#include "test_util.h"

#define MS  1000000LL
#define SEC 1000000000LL

/* Squares an int; the result is the square, the status 7. */
static int square(const void *arg, size_t len, void *out, size_t *out_len)
{
	int v;

	if (len != sizeof(v) || *out_len < sizeof(v))
		return -EINVAL;
	memcpy(&v, arg, sizeof(v));
	v *= v;
	memcpy(out, &v, sizeof(v));
	*out_len = sizeof(v);
	return 7;
}

/* Returns its pid as result, after sleeping arg milliseconds. */
static int nap_pid(const void *arg, size_t len, void *out, size_t *out_len)
{
	int ms = 0;
	pid_t pid = getpid();

	if (len == sizeof(ms))
		memcpy(&ms, arg, sizeof(ms));
	usleep((useconds_t)ms * 1000);
	memcpy(out, &pid, sizeof(pid));
	*out_len = sizeof(pid);
	return 0;
}

/* Tells the parent its pid through shared memory, then sleeps "forever". */
static volatile pid_t *victim_pid;

static int victim(const void *arg, size_t len, void *out, size_t *out_len)
{
	(void)arg;
	(void)len;
	(void)out;
	*out_len = 0;
	*victim_pid = getpid();
	for (int i = 0; i < 300; i++)
		usleep(100000);
	return 0;
}

static int fail_status(const void *arg, size_t len, void *out, size_t *out_len)
{
	(void)arg;
	(void)len;
	(void)out;
	*out_len = 0;
	return -5;
}

static const char *backend = "pipe";

static int make(struct pool **p, int workers)
{
	struct pool_opts o = {.workers = workers, .backend = backend};

	return pool_create(p, &o);
}

static void test_basic(void)
{
	struct pool *p;
	struct pool_result *r, *bad;
	int v = 12, st, sig = -1;
	size_t len;
	const void *d;

	CHECK_EQ(make(&p, 2), 0);
	CHECK_EQ(pool_workers(p), 2);
	CHECK(pool_worker_pid(p, 0) > 0 && pool_worker_pid(p, 1) > 0);
	CHECK(pool_worker_pid(p, 0) != pool_worker_pid(p, 1));
	CHECK_EQ(pool_worker_cpu(p, 0), -1);
	CHECK_EQ(pool_apply_async(p, square, &v, sizeof(v), &r), 0);
	CHECK_EQ(pool_result_wait(r, 10 * SEC), 0);
	CHECK(pool_result_ready(r));
	CHECK(pool_result_successful(r));
	st = pool_result_status(r, &sig);
	CHECK_EQ(st, 7);
	CHECK_EQ(sig, 0);
	d = pool_result_data(r, &len);
	CHECK(d && len == sizeof(int));
	if (d && len == sizeof(int)) {
		memcpy(&v, d, sizeof(v));
		CHECK_EQ(v, 144);
	}
	pool_result_free(r);

	CHECK_EQ(pool_apply_async(p, fail_status, NULL, 0, &bad), 0);
	CHECK_EQ(pool_result_wait(bad, 10 * SEC), 0);
	CHECK(!pool_result_successful(bad));
	CHECK_EQ(pool_result_status(bad, NULL), -5);
	pool_result_free(bad);

	/* Argument too large; a result not ready times out without waiting less. */
	{
		static char big[2048];
		int ms = 300;
		int64_t t0;

		CHECK_EQ(pool_apply_async(p, square, big, sizeof(big), &r), -EINVAL);
		CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r), 0);
		CHECK_EQ(pool_result_status(r, NULL), -EBUSY);
		CHECK(pool_result_data(r, NULL) == NULL);
		t0 = pool_now_ns();
		CHECK_EQ(pool_result_wait(r, 50 * MS), -ETIMEDOUT);
		CHECK(pool_now_ns() - t0 >= 50 * MS);
		CHECK_EQ(pool_result_wait(r, 10 * SEC), 0);
		pool_result_free(r);
	}

	/* join before close: refused, like Python's "Pool is still running". */
	CHECK_EQ(pool_join(p), -EINVAL);
	CHECK_EQ(pool_close(p), 0);
	CHECK_EQ(pool_apply_async(p, square, &v, sizeof(v), &r), -EINVAL);
	CHECK_EQ(pool_join(p), 0);
	CHECK_EQ(pool_close(p), -EINVAL); /* joined */
	pool_free(p);
}

static void test_map_and_close(void)
{
	enum { N = 200 };
	struct pool *p;
	struct pool_result *res[N];
	int args[N], i, v;
	size_t len;
	const void *d;

	for (i = 0; i < N; i++)
		args[i] = i - 50;
	CHECK_EQ(make(&p, 3), 0);
	CHECK_EQ(pool_map(p, square, args, sizeof(int), N, res), 0);
	for (i = 0; i < N; i++) {
		CHECK(pool_result_ready(res[i]));
		CHECK_EQ(pool_result_status(res[i], NULL), 7);
		d = pool_result_data(res[i], &len);
		v = -1;
		if (d && len == sizeof(v))
			memcpy(&v, d, sizeof(v));
		CHECK_EQ(v, args[i] * args[i]);
		pool_result_free(res[i]);
	}

	/* close: queued tasks still finish before join returns. */
	for (i = 0; i < 20; i++) {
		int ms = 5;

		CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &res[i]), 0);
	}
	CHECK_EQ(pool_close(p), 0);
	CHECK_EQ(pool_join(p), 0);
	for (i = 0; i < 20; i++) {
		CHECK(pool_result_successful(res[i]));
		pool_result_free(res[i]);
	}
	pool_free(p);
}

static void test_terminate(void)
{
	struct pool *p;
	struct pool_result *r[6];
	int i, ms = 20000, sig, st;
	int64_t t0;

	CHECK_EQ(make(&p, 2), 0);
	for (i = 0; i < 6; i++)
		CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r[i]), 0);
	usleep(200000); /* let two of them start */
	t0 = pool_now_ns();
	CHECK_EQ(pool_terminate(p), 0);
	CHECK(pool_now_ns() - t0 < 3 * SEC);
	for (i = 0; i < 6; i++) {
		CHECK(pool_result_ready(r[i]));
		CHECK(!pool_result_successful(r[i]));
		sig = -1;
		st = pool_result_status(r[i], &sig);
		CHECK_EQ(st, -ECHILD);
		if (sig != SIGTERM && sig != 0)
			fprintf(stderr, "task %d: signal %d\n", i, sig);
		CHECK(sig == SIGTERM || sig == 0);
		pool_result_free(r[i]);
	}
	CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r[0]), -EINVAL);
	CHECK_EQ(pool_close(p), -EINVAL);
	CHECK_EQ(pool_join(p), 0); /* join after terminate is fine */
	pool_free(p);

	/* pool_free of a running pool terminates it. */
	CHECK_EQ(make(&p, 2), 0);
	CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r[0]), 0);
	pool_free(p);
	CHECK(pool_result_ready(r[0]));
	CHECK_EQ(pool_result_status(r[0], NULL), -ECHILD);
	pool_result_free(r[0]);
}

static void test_killed_worker(void)
{
	struct pool *p;
	struct pool_result *r, *more[8];
	pid_t vp, newpid;
	int sig = 0, i, ms = 1;
	int64_t t0, dt;

	victim_pid = mmap(NULL, sizeof(*victim_pid), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(victim_pid != MAP_FAILED);
	if (victim_pid == MAP_FAILED)
		return;
	*victim_pid = 0;
	CHECK_EQ(make(&p, 2), 0);
	CHECK_EQ(pool_apply_async(p, victim, NULL, 0, &r), 0);
	t0 = pool_now_ns();
	while (!*victim_pid && pool_now_ns() - t0 < 10 * SEC)
		usleep(1000);
	vp = *victim_pid;
	CHECK(vp > 0);
	CHECK(vp == pool_worker_pid(p, 0) || vp == pool_worker_pid(p, 1));
	t0 = pool_now_ns();
	CHECK_EQ(kill(vp, SIGKILL), 0);
	CHECK_EQ(pool_result_wait(r, 5 * SEC), 0);
	dt = pool_now_ns() - t0;
	printf("killed worker %d noticed after %.1f ms\n", (int)vp, (double)dt / 1e6);
	CHECK(dt < 1 * SEC);
	CHECK_EQ(pool_result_status(r, &sig), -ECHILD);
	CHECK_EQ(sig, SIGKILL);
	CHECK(!pool_result_successful(r));
	pool_result_free(r);

	/* Replaced: two live workers again, the victim among neither. */
	t0 = pool_now_ns();
	do {
		newpid = 0;
		for (i = 0; i < 2; i++)
			if (pool_worker_pid(p, i) > 0 && pool_worker_pid(p, i) != vp)
				newpid++;
		if (newpid == 2)
			break;
		usleep(1000);
	} while (pool_now_ns() - t0 < 1 * SEC);
	CHECK_EQ(newpid, 2);

	/* Further tasks still run, on both workers. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &more[i]), 0);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(pool_result_wait(more[i], 10 * SEC), 0);
		CHECK(pool_result_successful(more[i]));
		pool_result_free(more[i]);
	}
	CHECK_EQ(pool_close(p), 0);
	CHECK_EQ(pool_join(p), 0);
	pool_free(p);
	munmap((void *)victim_pid, sizeof(*victim_pid));
}

/*
 * Kill storm: workers die by SIGKILL at random moments (every @gap_us to
 * twice that and more) while @n tasks of @ms milliseconds flow.  Every task
 * must still become ready (done, or -ECHILD/SIGKILL), no more of them dead
 * than kills, and none may be lost before join: a worker killed inside its
 * get (the message out of the queue, not yet in the worker's hands) must
 * not lose the task unattributed.
 */
static void test_kill_storm(int n, int kills, int ms, int gap_us)
{
	struct pool *p;
	struct pool_result **r = calloc((size_t)n, sizeof(*r));
	int i, dead = 0, sig, ok = 0;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ(make(&p, 2), 0);
	for (i = 0; i < n; i++)
		CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r[i]), 0);
	srand((unsigned)getpid());
	for (i = 0; i < kills; i++) {
		pid_t w;

		usleep((useconds_t)(gap_us + rand() % (4 * gap_us)));
		w = pool_worker_pid(p, rand() % 2); /* now: the one before may be replaced */
		if (w > 0)
			kill(w, SIGKILL);
	}
	for (i = 0; i < n; i++) {
		CHECK_EQ(pool_result_wait(r[i], 20 * SEC), 0);
		if (pool_result_successful(r[i])) {
			ok++;
		} else {
			sig = 0;
			CHECK_EQ(pool_result_status(r[i], &sig), -ECHILD);
			CHECK_EQ(sig, SIGKILL);
			dead++;
		}
		pool_result_free(r[i]);
	}
	printf("kill storm: %d tasks of %d ms done, %d died with their worker (%d kills)\n", ok, ms,
	       dead, kills);
	CHECK(dead <= kills);
	CHECK_EQ(ok + dead, n);
	CHECK_EQ(pool_close(p), 0);
	CHECK_EQ(pool_join(p), 0);
	pool_free(p);
	free(r);
}

/* A worker killed while idle after close is replaced, and join still returns. */
static void test_killed_idle_after_close(void)
{
	struct pool *p;
	struct pool_result *r;
	int ms = 300;

	CHECK_EQ(make(&p, 2), 0);
	CHECK_EQ(pool_apply_async(p, nap_pid, &ms, sizeof(ms), &r), 0);
	usleep(50000);
	CHECK_EQ(pool_close(p), 0);
	/* One of the two is idle or stopping; kill both: nothing may hang. */
	kill(pool_worker_pid(p, 0), SIGKILL);
	kill(pool_worker_pid(p, 1), SIGKILL);
	CHECK_EQ(pool_join(p), 0);
	CHECK(pool_result_ready(r));
	pool_result_free(r);
	pool_free(p);
}

/* Result: the worker's pid and the one CPU it may run on (-1: several). */
static int where(const void *arg, size_t len, void *out, size_t *out_len)
{
	int v[2] = {(int)getpid(), -1};
	cpu_set_t set;

	(void)arg;
	(void)len;
	usleep(2000);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				v[1] = c;
	memcpy(out, v, sizeof(v));
	*out_len = sizeof(v);
	return 0;
}

/* Workers pinned by a policy really run where pool_worker_cpu() says. */
static void test_policy(void)
{
	enum { N = 16 };
	struct pool *p;
	struct pool_opts o = {.workers = 2, .policy = "compact", .backend = backend};
	struct pool_result *r[N];
	int i, j, v[2], ret, matched = 0;
	const void *d;
	size_t len;

	ret = pool_create(&p, &o);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	for (i = 0; i < 2; i++)
		CHECK(pool_worker_cpu(p, i) >= 0);
	for (i = 0; i < N; i++)
		CHECK_EQ(pool_apply_async(p, where, NULL, 0, &r[i]), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ(pool_result_wait(r[i], 10 * SEC), 0);
		d = pool_result_data(r[i], &len);
		CHECK(d && len == sizeof(v));
		if (d && len == sizeof(v)) {
			memcpy(v, d, sizeof(v));
			for (j = 0; j < 2; j++) {
				if (pool_worker_pid(p, j) == v[0]) {
					CHECK_EQ(v[1], pool_worker_cpu(p, j));
					matched++;
				}
			}
		}
		pool_result_free(r[i]);
	}
	CHECK_EQ(matched, N);
	pool_free(p);

	o.policy = "0,99999";
	CHECK_EQ(pool_create(&p, &o), -EINVAL);
	o.policy = "bogus";
	CHECK_EQ(pool_create(&p, &o), -EINVAL);
	o.policy = NULL;
	o.workers = -1;
	CHECK_EQ(pool_create(&p, &o), -EINVAL);
	o.workers = 1;
	o.backend = "nosuch";
	CHECK_EQ(pool_create(&p, &o), -EINVAL);
}

int main(int argc, char **argv)
{
	struct pool *p;
	int ret;

	if (argc > 1)
		backend = argv[1];
	ret = make(&p, 1);
	if (ret == -ENOSYS) {
		printf("SKIP: backend %s not built yet (-ENOSYS)\n", backend);
		return 77;
	}
	CHECK_EQ(ret, 0);
	if (ret)
		return test_result("test_pool");
	pool_free(p);
	printf("backend %s\n", backend);
	test_basic();
	test_map_and_close();
	test_terminate();
	test_killed_worker();
	test_killed_idle_after_close();
	test_kill_storm(400, 12, 1, 5000);
	test_kill_storm(4000, 60, 0, 500); /* kills land inside gets too */
	test_policy();
	return test_result("test_pool");
}
