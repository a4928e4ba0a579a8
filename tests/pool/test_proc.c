/* SPDX-License-Identifier: MIT */
/*
 * proc: exit codes, signals as negative codes, join timeouts, terminate and
 * kill, pid 0 before start, and globals not shared between parent and child.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "proc.h"
#include "test_util.h"

#define MS 1000000LL

static int global_counter = 1;

static int ret_arg(void *arg)
{
	return *(int *)arg;
}

static int bump_global(void *arg)
{
	(void)arg;
	global_counter = 2;
	return global_counter; /* the child's copy */
}

static int raise_sig(void *arg)
{
	raise(*(int *)arg);
	return 0;
}

static int sleep_long(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++)
		usleep(100000); /* 30 s at most: terminated long before */
	return 0;
}

/* Seed: a child given a name and an age prints them with its pid. */
struct person {
	const char *name;
	int age;
};

static int with_args(void *arg)
{
	struct person *pp = arg;

	return pp->age == 18 && pp->name[0] == 'X' ? 18 : 1;
}

static int run_code(proc_fn fn, void *arg, int *code)
{
	struct proc *p;
	int ret;

	ret = proc_new(&p, fn, arg);
	if (ret)
		return ret;
	ret = proc_start(p);
	if (!ret)
		ret = proc_join(p, -1);
	if (!ret)
		ret = proc_exitcode(p, code);
	proc_free(p);
	return ret;
}

int main(void)
{
	struct proc *p;
	int code = -999, v, sig;
	int64_t t0, dt;
	pid_t pid;
	struct person xm = {"Xiaoming", 18};

	/* Before start. */
	CHECK_EQ(proc_new(&p, ret_arg, &v), 0);
	CHECK_EQ(proc_pid(p), 0);
	CHECK_EQ(proc_join(p, 0), -ECHILD);
	CHECK_EQ(proc_exitcode(p, &code), -ECHILD);
	CHECK_EQ(proc_terminate(p), -ECHILD);
	CHECK_EQ(proc_kill(p), -ECHILD);
	CHECK(!proc_alive(p));
	CHECK_EQ(proc_bind(p, NULL, 0), -EINVAL);
	CHECK_EQ(proc_bind(p, NULL, -2), -EINVAL);
	CHECK_EQ(proc_bind(p, NULL, -1), 0);
	proc_free(p);
	CHECK_EQ(proc_new(&p, NULL, NULL), -EINVAL);

	/* Exit codes are fn's return value. */
	for (v = 0; v < 256; v += 85) {
		CHECK_EQ(run_code(ret_arg, &v, &code), 0);
		CHECK_EQ(code, v);
	}
	v = 300; /* only the low 8 bits reach the parent */
	CHECK_EQ(run_code(ret_arg, &v, &code), 0);
	CHECK_EQ(code, 300 & 0xff);
	CHECK_EQ(run_code(with_args, &xm, &code), 0);
	CHECK_EQ(code, 18);

	/* Signals give minus the signal number. */
	sig = SIGUSR1;
	CHECK_EQ(run_code(raise_sig, &sig, &code), 0);
	CHECK_EQ(code, -SIGUSR1);
	sig = SIGKILL;
	CHECK_EQ(run_code(raise_sig, &sig, &code), 0);
	CHECK_EQ(code, -SIGKILL);

	/* Globals are not shared: the child changed its own copy. */
	CHECK_EQ(run_code(bump_global, NULL, &code), 0);
	CHECK_EQ(code, 2);
	CHECK_EQ(global_counter, 1);

	/* Join timeout: never early, not much late; then terminate. */
	CHECK_EQ(proc_new(&p, sleep_long, NULL), 0);
	CHECK_EQ(proc_start(p), 0);
	CHECK(proc_pid(p) > 0);
	CHECK_EQ(proc_start(p), -EBUSY);
	CHECK_EQ(proc_bind(p, NULL, -1), -EBUSY);
	CHECK(proc_alive(p));
	CHECK_EQ(proc_join(p, 0), -ETIMEDOUT);
	t0 = pool_now_ns();
	CHECK_EQ(proc_join(p, 100 * MS), -ETIMEDOUT);
	dt = pool_now_ns() - t0;
	CHECK(dt >= 100 * MS);
	CHECK(dt < 2000 * MS);
	printf("join(100 ms) timed out after %.1f ms\n", (double)dt / 1e6);
	CHECK_EQ(proc_exitcode(p, &code), -EBUSY);
	CHECK_EQ(proc_terminate(p), 0);
	t0 = pool_now_ns();
	CHECK_EQ(proc_join(p, 5000 * MS), 0);
	CHECK(pool_now_ns() - t0 < 3000 * MS);
	CHECK_EQ(proc_exitcode(p, &code), 0);
	CHECK_EQ(code, -SIGTERM);
	CHECK(!proc_alive(p));
	CHECK_EQ(proc_terminate(p), -ECHILD); /* reaped */
	CHECK_EQ(proc_join(p, 0), 0);	      /* joining again is fine */
	proc_free(p);

	/* kill */
	CHECK_EQ(proc_new(&p, sleep_long, NULL), 0);
	CHECK_EQ(proc_start(p), 0);
	CHECK_EQ(proc_kill(p), 0);
	CHECK_EQ(proc_join(p, -1), 0);
	CHECK_EQ(proc_exitcode(p, &code), 0);
	CHECK_EQ(code, -SIGKILL);
	proc_free(p);

	/* proc_free of a running child kills and reaps it. */
	CHECK_EQ(proc_new(&p, sleep_long, NULL), 0);
	CHECK_EQ(proc_start(p), 0);
	pid = proc_pid(p);
	proc_free(p);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);

	return test_result("test_proc");
}
