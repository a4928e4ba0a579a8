/* SPDX-License-Identifier: MIT */
/* group: pinned workers started together, supervised, reaped (see group.h). */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "group.h"
#include "pool_pvt.h"

void group_child_init(pid_t parent)
{
	if (proc_die_with(parent))
		_exit(1);
	/*
	 * Ctrl-C and a hang-up reach the whole process group; the parent stops
	 * and reaps us itself, after which it removes what the run made.  The
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

void group_gate_wait(struct group_gate *g)
{
	atomic_fetch_add(&g->ready, 1);
	while (!atomic_load(&g->go))
		futex(&g->go, FUTEX_WAIT, 0);
}

uint32_t group_gate_arrived(struct group_gate *g)
{
	return atomic_load(&g->ready);
}

void group_gate_open(struct group_gate *g)
{
	atomic_store(&g->go, 1);
	futex(&g->go, FUTEX_WAKE, INT_MAX);
}

int group_worker_init(pid_t parent)
{
	sigset_t all;

	/* The manager thread that forks us may have signals blocked. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (proc_die_with(parent))
		return -ESRCH;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	return 0;
}

int group_start_one(struct proc **procs, int i, proc_fn fn, void *arg, struct topo *t, int cpu)
{
	int rc;

	proc_free(procs[i]);
	rc = proc_new(&procs[i], fn, arg);
	if (rc) {
		procs[i] = NULL;
		return rc;
	}
	rc = proc_bind(procs[i], t, cpu);
	if (!rc)
		rc = proc_start(procs[i]);
	if (rc) {
		proc_free(procs[i]);
		procs[i] = NULL;
	}
	return rc;
}

int group_start(struct proc **procs, int n, proc_fn fn, void *args, size_t argsz, struct topo *t,
		const int *cpus)
{
	int i, rc;

	for (i = 0; i < n; i++)
		procs[i] = NULL;
	for (i = 0; i < n; i++) {
		rc = group_start_one(procs, i, fn, (char *)args + (size_t)i * argsz, t, cpus[i]);
		if (rc) {
			group_reap(procs, n);
			return rc;
		}
	}
	return 0;
}

void group_reap(struct proc **procs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (procs[i])
			proc_free(procs[i]); /* kills and reaps one still running */
		procs[i] = NULL;
	}
}

void group_stop(struct proc **procs, int n, int64_t grace_ns)
{
	int64_t deadline = pool_now_ns() + grace_ns, left;
	int i;

	for (i = 0; i < n; i++)
		if (procs[i])
			proc_terminate(procs[i]); /* -ECHILD for one already reaped */
	for (i = 0; i < n; i++) {
		if (!procs[i])
			continue;
		left = deadline - pool_now_ns();
		if (proc_join(procs[i], left > 0 ? left : 0) == 0)
			continue;
		proc_kill(procs[i]);
		proc_join(procs[i], -1);
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

int group_wait(struct proc **procs, int n, struct group_watch *w, char *err, size_t len)
{
	int64_t last_change = pool_now_ns(), now;
	uint64_t last = w->progress(w->ctx);
	int left = n, i, code, rc = 0;
	bool done[GROUP_MAX] = {false};

	if (n > GROUP_MAX)
		return -EINVAL;
	while (left > 0) {
		if (*w->stop) {
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
				if (w->failed(w->ctx, err, len)) {
					rc = -EBADMSG;
				} else {
					describe_exit(i, code, err, len);
					rc = -EIO;
				}
				goto out;
			}
		}
		if (w->poll && w->poll(w->ctx))
			w->poll = NULL;
		now = pool_now_ns();
		uint64_t cur = w->progress(w->ctx);
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
		group_reap(procs, n);
	return rc;
}
