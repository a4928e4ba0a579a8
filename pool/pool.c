/* SPDX-License-Identifier: MIT */
/*
 * pool: Python's multiprocessing.Pool.
 *
 * Shape: an anonymous ipcq queue of tasks per worker, one queue of results
 * back, and one manager thread in the parent.  The workers are a pinned
 * process group (group.h): the manager starts every one of them (the first
 * ones and the replacements, group_start_one), hands each task to the live
 * worker with the fewest queued (at most DEPTH each; the rest wait in a
 * FIFO), collects results, and every few milliseconds reaps the workers
 * that ended (pool_mgr.c); pool_terminate stops them with group_stop.
 *
 * Forking from a process with threads: the worker is forked by the manager
 * thread, so only that thread exists in the child.  The child touches no lock
 * of the pool; it uses the inherited queue handles, malloc and stdio (which
 * glibc makes safe across fork()), is bound by proc_start and loops.  Workers
 * get PR_SET_PDEATHSIG(SIGKILL) (group_worker_init): they die with the
 * manager thread, which only ends after they did, so a parent killed by
 * SIGKILL leaves no orphans.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pool_mgr.h"
#include "topo.h"

#define TERM_GRACE_NS (500 * 1000000LL)

/* ---- the public API ---- */

static int count_allowed_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

static void pool_release(struct pool *p)
{
	struct fifo_item *it;

	while ((it = p->fifo_head)) {
		p->fifo_head = it->next;
		free(it);
	}
	for (int i = 0; p->w && i < p->n; i++)
		if (p->w[i].tasks)
			ipcq_close(p->w[i].tasks);
	if (p->results)
		ipcq_close(p->results);
	if (p->procs)
		group_reap(p->procs, p->n);
	if (p->own_topo)
		topo_free(p->topo);
	free(p->rbuf);
	free(p->dbuf);
	free(p->tbuf);
	free(p->w);
	free(p->procs);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Lock held.  SIGTERM to every live worker, SIGKILL after a grace period; all reaped. */
static void stop_workers(struct pool *p)
{
	group_stop(p->procs, p->n, TERM_GRACE_NS);
	mgr_reap(p);
}

static void stop_manager(struct pool *p)
{
	if (!p->mgr_started)
		return;
	p->mgr_stop = true;
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->mgr, NULL);
	pthread_mutex_lock(&p->lock);
	p->mgr_started = false;
}

/*
 * Returns 0, -EINVAL (workers < 0, bad policy or CPU list, unknown backend),
 * -ENOMEM, or the -errno of loading the topology, creating a queue (e.g.
 * -ENOSYS for a backend not built), mmap, pthread_create or fork.
 */
int pool_create(struct pool **out, const struct pool_opts *opts)
{
	static const struct pool_opts defaults = {0};
	struct ipcq_opts qo = {0};
	pthread_condattr_t ca;
	struct pool *p;
	int *cpus = NULL, ret, i;
	bool pinned;

	if (!out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->workers < 0 || opts->max_arg > (1u << 30) || opts->max_result > (1u << 30))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->next_id = 1;
	p->max_arg = opts->max_arg ? opts->max_arg : 1024;
	p->max_result = opts->max_result ? opts->max_result : 1024;
	pinned = opts->policy && strcmp(opts->policy, "none") != 0;
	p->topo = opts->topo;
	if (!p->topo && (pinned || opts->workers == 0)) {
		ret = pinned ? topo_load(&p->topo) : 0;
		if (ret)
			goto fail;
		p->own_topo = pinned;
	}
	p->n = opts->workers ? opts->workers
			     : (p->topo ? topo_npus(p->topo) : count_allowed_cpus());
	p->w = calloc((size_t)p->n, sizeof(*p->w));
	p->procs = calloc((size_t)p->n, sizeof(*p->procs));
	cpus = calloc((size_t)p->n, sizeof(*cpus));
	ret = -ENOMEM;
	if (!p->w || !p->procs || !cpus)
		goto fail;
	for (i = 0; i < p->n; i++)
		cpus[i] = -1;
	if (pinned) {
		ret = topo_place(p->topo, opts->policy, p->n, cpus, NULL);
		if (ret)
			goto fail;
	}
	for (i = 0; i < p->n; i++) {
		p->w[i].pool = p;
		p->w[i].idx = i;
		p->w[i].cpu = cpus[i];
	}
	qo.backend = opts->backend ? opts->backend : "pipe";
	for (i = 0; i < p->n; i++) {
		ret = mgr_task_queue(p, qo.backend, &p->w[i].tasks);
		if (ret)
			goto fail;
	}
	qo.msg_max = sizeof(struct result_hdr) + p->max_result;
	ret = ipcq_create(&p->results, &qo);
	if (ret)
		goto fail;
	p->task_cap = ipcq_msg_max(p->w[0].tasks);
	p->result_cap = ipcq_msg_max(p->results);
	p->rbuf = malloc(p->result_cap);
	p->dbuf = malloc(p->result_cap);
	p->tbuf = malloc(p->task_cap);
	ret = -ENOMEM;
	if (!p->rbuf || !p->dbuf || !p->tbuf)
		goto fail;
	ret = -pthread_create(&p->mgr, NULL, mgr_main, p);
	if (ret)
		goto fail;
	pthread_mutex_lock(&p->lock);
	p->mgr_started = true;
	while (!p->spawned)
		pthread_cond_wait(&p->cond, &p->lock);
	ret = p->spawn_err;
	if (ret) {
		p->state = POOL_TERMINATED;
		stop_workers(p);
		stop_manager(p);
		pthread_mutex_unlock(&p->lock);
		goto fail;
	}
	pthread_mutex_unlock(&p->lock);
	free(cpus);
	*out = p;
	return 0;
fail:
	free(cpus);
	pool_release(p);
	return ret;
}

int pool_workers(const struct pool *p)
{
	return p ? p->n : 0;
}

/* Worker @i's pid (0 while it is being replaced, or out of range). */
pid_t pool_worker_pid(const struct pool *p, int i)
{
	pid_t pid;

	if (!p || i < 0 || i >= p->n)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	pid = p->w[i].alive ? proc_pid(p->procs[i]) : 0;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return pid;
}

int pool_worker_cpu(const struct pool *p, int i)
{
	if (!p || i < 0 || i >= p->n)
		return -1;
	return p->w[i].cpu;
}

/* Returns 0, -EINVAL (NULL fn/out, closed or terminated pool, len > max_arg), -ENOMEM. */
int pool_apply_async(struct pool *p, pool_fn fn, const void *arg, size_t len,
		     struct pool_result **out)
{
	struct task_hdr th = {0};
	struct pool_result *r;
	struct fifo_item *it;

	if (!p || !fn || !out || (len && !arg) || len > p->max_arg)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	it = malloc(sizeof(*it) + sizeof(th) + len);
	if (!r || !it) {
		free(r);
		free(it);
		return -ENOMEM;
	}
	pthread_mutex_lock(&p->lock);
	if (p->state != POOL_RUN) {
		pthread_mutex_unlock(&p->lock);
		free(r);
		free(it);
		return -EINVAL;
	}
	r->pool = p;
	r->id = p->next_id++;
	r->worker = -1;
	th.id = r->id;
	th.fn = fn;
	th.len = (uint32_t)len;
	memcpy(it->msg, &th, sizeof(th));
	if (len)
		memcpy(it->msg + sizeof(th), arg, len);
	it->len = sizeof(th) + len;
	it->r = r;
	r->prev = p->pend_tail;
	if (p->pend_tail)
		p->pend_tail->next = r;
	else
		p->pend_head = r;
	p->pend_tail = r;
	/* Straight to a worker unless older tasks wait (order). */
	if (!p->fifo_head && mgr_give(p, it->msg, it->len, r))
		free(it);
	else
		mgr_fifo_add(p, it, false);
	pthread_mutex_unlock(&p->lock);
	*out = r;
	return 0;
}

/*
 * Returns 0 with all @n results stored in order (a task whose worker died has
 * a result saying so), or -EINVAL, -ENOMEM with nothing stored.
 */
int pool_map(struct pool *p, pool_fn fn, const void *args, size_t size, size_t n,
	     struct pool_result **results)
{
	size_t i;
	int ret;

	if (!p || !fn || !results || (n && size && !args))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = pool_apply_async(p, fn, (const unsigned char *)args + i * size, size,
				       &results[i]);
		if (ret) {
			while (i > 0)
				pool_result_free(results[--i]);
			return ret;
		}
	}
	for (i = 0; i < n; i++)
		pool_result_wait(results[i], IPCQ_FOREVER);
	return 0;
}

/* Returns 0 once ready, -ETIMEDOUT, -EINVAL (NULL, timeout < -1). */
int pool_result_wait(struct pool_result *r, int64_t timeout_ns)
{
	struct pool *p;
	struct timespec ts;
	int64_t deadline;
	int ret = 0;

	if (!r || timeout_ns < -1)
		return -EINVAL;
	if (atomic_load(&r->ready))
		return 0;
	if (timeout_ns == 0)
		return -ETIMEDOUT;
	p = r->pool;
	deadline = pool_now_ns() + timeout_ns;
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	pthread_mutex_lock(&p->lock);
	while (!atomic_load(&r->ready) && ret != ETIMEDOUT) {
		if (timeout_ns < 0)
			pthread_cond_wait(&p->cond, &p->lock);
		else
			ret = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return atomic_load(&r->ready) ? 0 : -ETIMEDOUT;
}

bool pool_result_ready(struct pool_result *r)
{
	return r && atomic_load(&r->ready);
}

bool pool_result_successful(struct pool_result *r)
{
	return pool_result_ready(r) && !r->died && r->status >= 0;
}

int pool_result_status(struct pool_result *r, int *signo)
{
	if (!pool_result_ready(r))
		return -EBUSY;
	if (signo)
		*signo = r->signo;
	return r->status;
}

const void *pool_result_data(struct pool_result *r, size_t *len)
{
	if (!pool_result_ready(r) || r->died) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = r->len;
	return r->data;
}

/* A result freed before it is ready is forgotten; its task still runs. */
void pool_result_free(struct pool_result *r)
{
	if (!r)
		return;
	if (!atomic_load(&r->ready)) {
		pthread_mutex_lock(&r->pool->lock);
		if (!atomic_load(&r->ready)) {
			mgr_pend_unlink(r->pool, r);
			if (r->item)
				r->item->r = NULL;
		}
		pthread_mutex_unlock(&r->pool->lock);
	}
	free(r->data);
	free(r);
}

/* Returns 0 (also when already closed), -EINVAL (terminated or joined). */
int pool_close(struct pool *p)
{
	int ret = 0;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->state == POOL_RUN)
		p->state = POOL_CLOSED;
	else if (p->state != POOL_CLOSED)
		ret = -EINVAL;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/*
 * Waits until every worker has ended (after close: once the queued tasks
 * are done).  Returns 0, -EINVAL (neither closed nor terminated).
 */
int pool_join(struct pool *p)
{
	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->state == POOL_RUN) {
		pthread_mutex_unlock(&p->lock);
		return -EINVAL;
	}
	while (p->state == POOL_CLOSED && p->live > 0)
		pthread_cond_wait(&p->cond, &p->lock);
	stop_manager(p);
	mgr_drain(p);
	mgr_fail_pending(p); /* lost in the window described at the top */
	if (p->state == POOL_CLOSED)
		p->state = POOL_JOINED;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/*
 * Stops the workers now: SIGTERM, SIGKILL to those still alive after half a
 * second.  Finished results stay; the others become ready with -ECHILD (the
 * signal that ended a running task's worker, 0 for tasks never started).
 * Returns 0, -EINVAL (NULL).
 */
int pool_terminate(struct pool *p)
{
	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->state == POOL_RUN || p->state == POOL_CLOSED) {
		p->state = POOL_TERMINATED;
		/* Workers first: they die with the manager thread (PDEATHSIG). */
		stop_workers(p);
		stop_manager(p);
		mgr_drain(p);
		mgr_fail_pending(p);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Results not yet freed stay valid (ready) after the pool is gone. */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_terminate(p);
	pthread_mutex_lock(&p->lock);
	stop_manager(p);
	mgr_fail_pending(p);
	pthread_mutex_unlock(&p->lock);
	pool_release(p);
}
