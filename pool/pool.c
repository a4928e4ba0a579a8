/* SPDX-License-Identifier: MIT */
/*
 * pool: Python's multiprocessing.Pool.
 *
 * Shape: one anonymous ipcq queue of tasks shared by all workers, one queue
 * of results back, and one manager thread in the parent.  The workers are
 * a pinned process group (group.h): the manager starts every one of them
 * (the first ones and the replacements, group_start_one), feeds tasks that
 * did not fit into the task queue, collects results, and every few
 * milliseconds reaps the workers that ended; pool_terminate stops them
 * with group_stop.
 *
 * Dead workers: before running a task a worker stores its id in its slot of
 * a small MAP_SHARED array (0 while idle, SLOT_STOP once it took the stop
 * message).  When the manager reaps a worker that died with a task id in its
 * slot, it first drains the result queue (the task may have finished just
 * before the death), then marks the task -ECHILD with the signal and forks a
 * replacement.  The slot also holds the worker's receive buffer, whose task
 * id the worker zeroes before each get: a worker killed after a get returned
 * but before it stored the id still shows which task it took.  Any task left
 * unfinished when the workers are gone is marked -ECHILD at pool_join() or
 * pool_terminate(), so neither hangs.
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "group.h"
#include "ipcq.h"
#include "pool.h"
#include "topo.h"

#define SLOT_STOP     UINT64_MAX
#define REAP_EVERY_NS (10 * 1000000LL)
#define TERM_GRACE_NS (500 * 1000000LL)

struct task_hdr {
	uint64_t id; /* 0: stop */
	pool_fn fn;
	uint32_t len;
};

struct result_hdr {
	uint64_t id;
	int32_t pid;
	int32_t status;
	uint32_t len;
};

/* Per worker, shared with it: the task it runs, and its receive buffer. */
struct slot {
	_Atomic uint64_t cur; /* task id; 0 idle; SLOT_STOP stopping */
	uint64_t pad[7];      /* buf on its own cache line */
	unsigned char buf[];  /* task_cap bytes: the last message taken */
};

struct pool_result {
	struct pool *pool;
	uint64_t id;
	atomic_bool ready;
	bool died;
	int status, signo;
	void *data;
	size_t len;
	struct pool_result *prev, *next; /* in the pool's pending list until ready */
};

struct fifo_item {
	struct fifo_item *next;
	size_t len;
	unsigned char msg[];
};

/* What worker_main gets; the process itself is in pool->procs[idx]. */
struct worker {
	struct pool *pool;
	int idx, cpu;
	pid_t parent;
	bool alive;
};

enum pool_state { POOL_RUN, POOL_CLOSED, POOL_TERMINATED, POOL_JOINED };

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any result ready, worker count changed, manager started */
	pthread_t mgr;
	bool mgr_started, mgr_stop, spawned;
	int spawn_err;
	enum pool_state state;
	struct topo *topo;
	bool own_topo;
	int n, live;
	struct worker *w;
	struct proc **procs;  /* the group; a handle stays after its worker ended */
	unsigned char *slots; /* MAP_SHARED, one struct slot per worker */
	size_t slot_size;
	struct ipcq *tasks, *results;
	size_t max_arg, max_result, task_cap, result_cap;
	unsigned char *rbuf; /* the manager's receive buffer */
	uint64_t next_id;
	struct pool_result *pend_head, *pend_tail;
	struct fifo_item *fifo_head, *fifo_tail;
	int stops_owed; /* stop messages still to put */
	bool stops_queued;
};

static struct slot *slot(const struct pool *p, int i)
{
	return (struct slot *)(p->slots + (size_t)i * p->slot_size);
}

/* ---- the worker (runs in the child) ---- */

/* Its exit code: 0 stopped (or its parent is gone), 2 and 3 a broken queue, 126 no memory. */
static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	struct slot *sl = slot(p, w->idx);
	unsigned char *in = sl->buf, *out;
	struct task_hdr th;
	struct result_hdr rh;
	ssize_t n;

	if (group_worker_init(w->parent))
		return 0;
	out = malloc(sizeof(rh) + p->max_result);
	if (!out)
		return 126;
	for (;;) {
		size_t out_len = p->max_result;

		memset(in, 0, sizeof(th)); /* see "Dead workers" above */
		n = ipcq_get(p->tasks, in, p->task_cap, IPCQ_FOREVER);
		if (n < 0)
			return 2;
		if ((size_t)n < sizeof(th))
			continue;
		memcpy(&th, in, sizeof(th));
		if (th.id == 0) {
			atomic_store(&sl->cur, SLOT_STOP);
			return 0; /* proc_start flushes stdio */
		}
		atomic_store(&sl->cur, th.id);
		rh.status = th.fn(in + sizeof(th), th.len, out + sizeof(rh), &out_len);
		rh.id = th.id;
		rh.pid = (int32_t)getpid();
		rh.len = (uint32_t)(out_len > p->max_result ? p->max_result : out_len);
		memcpy(out, &rh, sizeof(rh));
		fflush(NULL); /* what the task printed appears now, not at exit */
		if (ipcq_put(p->results, out, sizeof(rh) + rh.len, IPCQ_FOREVER) < 0)
			return 3;
		atomic_store(&sl->cur, 0);
	}
}

/* Called with the lock held, from the manager thread. */
static int spawn(struct pool *p, int i)
{
	int ret;

	atomic_store(&slot(p, i)->cur, 0);
	memset(slot(p, i)->buf, 0, sizeof(struct task_hdr));
	p->w[i].parent = getpid();
	ret = group_start_one(p->procs, i, worker_main, &p->w[i], p->topo, p->w[i].cpu);
	if (ret)
		return ret;
	p->w[i].alive = true;
	p->live++;
	return 0;
}

/* ---- results ---- */

static void pend_unlink(struct pool *p, struct pool_result *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		p->pend_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		p->pend_tail = r->prev;
	r->prev = r->next = NULL;
}

static struct pool_result *pend_find(struct pool *p, uint64_t id)
{
	struct pool_result *r;

	/* Results mostly come back in order: the oldest is usually it. */
	for (r = p->pend_head; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* Lock held.  Makes @r ready and wakes the waiters. */
static void finish(struct pool *p, struct pool_result *r, int status, bool died, int signo)
{
	r->status = status;
	r->died = died;
	r->signo = signo;
	pend_unlink(p, r);
	atomic_store(&r->ready, true);
	pthread_cond_broadcast(&p->cond);
}

/* Lock held.  One message from the result queue. */
static void deliver(struct pool *p, const unsigned char *buf, size_t n)
{
	struct result_hdr rh;
	struct pool_result *r;

	if (n < sizeof(rh))
		return;
	memcpy(&rh, buf, sizeof(rh));
	r = pend_find(p, rh.id);
	if (!r || rh.len > n - sizeof(rh))
		return; /* freed by its owner, or already marked dead */
	r->data = malloc(rh.len ? rh.len : 1);
	if (!r->data) {
		finish(p, r, -ENOMEM, false, 0);
		return;
	}
	memcpy(r->data, buf + sizeof(rh), rh.len);
	r->len = rh.len;
	finish(p, r, rh.status, false, 0);
}

/* Lock held.  Everything already in the result queue, without waiting. */
static void drain(struct pool *p)
{
	ssize_t n;

	while ((n = ipcq_get_nowait(p->results, p->rbuf, p->result_cap)) >= 0)
		deliver(p, p->rbuf, (size_t)n);
}

/* Lock held.  Marks every unfinished task dead (signal 0: unknown). */
static void fail_pending(struct pool *p)
{
	while (p->pend_head)
		finish(p, p->pend_head, -ECHILD, true, 0);
}

/* Lock held.  The task worker @i was running when it ended (reaped). */
static void worker_ended(struct pool *p, int i)
{
	uint64_t id = atomic_load(&slot(p, i)->cur);
	struct pool_result *r;
	struct task_hdr th;
	int code = 0, sig;

	proc_exitcode(p->procs[i], &code);
	sig = code < 0 ? -code : 0;

	p->w[i].alive = false;
	p->live--;
	drain(p);
	if (id == 0) {
		/* Killed between its get and storing the id?  The buffer says. */
		memcpy(&th, slot(p, i)->buf, sizeof(th));
		id = th.id;
	}
	if (id != 0 && id != SLOT_STOP) {
		r = pend_find(p, id);
		if (r)
			finish(p, r, -ECHILD, true, sig);
	}
	pthread_cond_broadcast(&p->cond);
	/*
	 * Replace a worker that died mid-task or was killed while idle; one
	 * that took its stop message, or exited by itself while idle (a broken
	 * queue, a failed binding), is not replaced: that could loop forever.
	 */
	if (p->state != POOL_RUN && p->state != POOL_CLOSED)
		return;
	if (id == SLOT_STOP || (id == 0 && !sig))
		return;
	if (spawn(p, i) == 0 && p->stops_queued)
		p->stops_owed++; /* the replacement needs a stop message too */
}

/* Lock held.  Reaps the workers that ended. */
static void reap_workers(struct pool *p)
{
	int i;

	for (i = 0; i < p->n; i++) {
		if (p->w[i].alive && proc_join(p->procs[i], 0) == 0)
			worker_ended(p, i);
	}
}

/* Lock held.  Moves waiting tasks, then stop messages, into the task queue. */
static void feed(struct pool *p)
{
	struct fifo_item *it;
	struct task_hdr stop = {0};

	while ((it = p->fifo_head)) {
		if (ipcq_put_nowait(p->tasks, it->msg, it->len) < 0)
			return;
		p->fifo_head = it->next;
		if (!p->fifo_head)
			p->fifo_tail = NULL;
		free(it);
	}
	if (p->state == POOL_CLOSED && !p->stops_queued) {
		p->stops_queued = true;
		p->stops_owed += p->n;
	}
	while (p->stops_owed > 0 && ipcq_put_nowait(p->tasks, &stop, sizeof(stop)) == 0)
		p->stops_owed--;
}

static void *manager(void *arg)
{
	struct pool *p = arg;
	int64_t last_reap = 0;
	int i, ret = 0;
	ssize_t n;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n && !ret; i++)
		ret = spawn(p, i);
	p->spawn_err = ret;
	p->spawned = true;
	pthread_cond_broadcast(&p->cond);
	while (!p->mgr_stop && !ret) {
		bool busy;

		feed(p);
		busy = p->pend_head || p->fifo_head;
		pthread_mutex_unlock(&p->lock);
		n = ipcq_get(p->results, p->rbuf, p->result_cap,
			     busy ? 2 * 1000000LL : 20 * 1000000LL);
		pthread_mutex_lock(&p->lock);
		if (n >= 0) {
			deliver(p, p->rbuf, (size_t)n);
			drain(p);
		}
		if (n < 0 || pool_now_ns() - last_reap >= REAP_EVERY_NS) {
			reap_workers(p);
			last_reap = pool_now_ns();
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

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
	if (p->tasks)
		ipcq_close(p->tasks);
	if (p->results)
		ipcq_close(p->results);
	if (p->procs)
		group_reap(p->procs, p->n);
	if (p->slots)
		munmap(p->slots, p->slot_size * (size_t)p->n);
	if (p->own_topo)
		topo_free(p->topo);
	free(p->rbuf);
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
	reap_workers(p);
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
	qo.msg_max = sizeof(struct task_hdr) + p->max_arg;
	ret = ipcq_create(&p->tasks, &qo);
	if (ret)
		goto fail;
	qo.msg_max = sizeof(struct result_hdr) + p->max_result;
	ret = ipcq_create(&p->results, &qo);
	if (ret)
		goto fail;
	p->task_cap = ipcq_msg_max(p->tasks);
	p->result_cap = ipcq_msg_max(p->results);
	/* Slots hold a receive buffer: sized once the queue says its msg_max. */
	p->slot_size = (sizeof(struct slot) + p->task_cap + 63) & ~(size_t)63;
	p->slots = mmap(NULL, p->slot_size * (size_t)p->n, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->slots == MAP_FAILED) {
		p->slots = NULL;
		ret = -errno;
		goto fail;
	}
	p->rbuf = malloc(p->result_cap);
	ret = -ENOMEM;
	if (!p->rbuf)
		goto fail;
	ret = -pthread_create(&p->mgr, NULL, manager, p);
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
	th.id = r->id;
	th.fn = fn;
	th.len = (uint32_t)len;
	memcpy(it->msg, &th, sizeof(th));
	if (len)
		memcpy(it->msg + sizeof(th), arg, len);
	it->len = sizeof(th) + len;
	it->next = NULL;
	r->prev = p->pend_tail;
	if (p->pend_tail)
		p->pend_tail->next = r;
	else
		p->pend_head = r;
	p->pend_tail = r;
	/* Straight into the queue unless older tasks wait for room (order). */
	if (!p->fifo_head && ipcq_put_nowait(p->tasks, it->msg, it->len) == 0) {
		free(it);
	} else {
		if (p->fifo_tail)
			p->fifo_tail->next = it;
		else
			p->fifo_head = it;
		p->fifo_tail = it;
	}
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
		if (!atomic_load(&r->ready))
			pend_unlink(r->pool, r);
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
	drain(p);
	fail_pending(p); /* lost in the window described at the top */
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
		drain(p);
		fail_pending(p);
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
	fail_pending(p);
	pthread_mutex_unlock(&p->lock);
	pool_release(p);
}
