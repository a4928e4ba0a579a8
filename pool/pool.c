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
 * that ended; pool_terminate stops them with group_stop.
 *
 * Dead workers: the manager knows which tasks it gave each worker.  When it
 * reaps one, it first drains the result queue (a task may have finished just
 * before the death), then takes back what is still in the worker's own
 * queue (to the front of the FIFO, for the others); whatever else the worker
 * was given, it had taken: those tasks died with it (-ECHILD and the
 * signal), however far its get had gone — no window where a task is lost
 * unattributed, which one shared queue had (a worker killed between the
 * kernel's copy and ours).  A worker killed by a signal, or one that ended
 * inside a task, is replaced.  Any task left unfinished when the workers are
 * gone is marked -ECHILD at pool_join() or pool_terminate(), so neither
 * hangs.
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

#define DEPTH	      2 /* tasks queued per worker: it never waits for the manager */
#define REAP_EVERY_NS (10 * 1000000LL)
#define TAKE_BACK_NS  (10 * 1000000LL) /* a dead worker's last result, behind another */
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
	uint32_t worker; /* its index: the manager counts what each one holds */
};

struct pool_result {
	struct pool *pool;
	uint64_t id;
	atomic_bool ready;
	bool died;
	int status, signo;
	void *data;
	size_t len;
	int worker;			 /* the worker given its task; -1 none yet */
	struct fifo_item *item;		 /* its task while it waits in the FIFO */
	struct pool_result *prev, *next; /* in the pool's pending list until ready */
};

struct fifo_item {
	struct fifo_item *next;
	struct pool_result *r; /* NULL once its owner freed it (the task still runs) */
	size_t len;
	unsigned char msg[];
};

/* What worker_main gets; the process itself is in pool->procs[idx]. */
struct worker {
	struct pool *pool;
	int idx, cpu;
	pid_t parent;
	bool alive;
	struct ipcq *tasks; /* its own: only it gets from it */
	int queued;	    /* tasks given and not yet answered */
	bool stop_sent;	    /* its stop message is in its queue: no more tasks */
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
	struct proc **procs; /* the group; a handle stays after its worker ended */
	struct ipcq *results;
	size_t max_arg, max_result, task_cap, result_cap;
	unsigned char *rbuf;	    /* the manager's, for its unlocked get */
	unsigned char *dbuf, *tbuf; /* for drain() and take_back(), under the lock */
	uint64_t next_id;
	struct pool_result *pend_head, *pend_tail;
	struct fifo_item *fifo_head, *fifo_tail;
};

/* ---- the worker (runs in the child) ---- */

/* Its exit code: 0 stopped (or its parent is gone), 2 and 3 a broken queue, 126 no memory. */
static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	unsigned char *in, *out;
	struct task_hdr th;
	struct result_hdr rh;
	ssize_t n;

	if (group_worker_init(w->parent))
		return 0;
	in = malloc(p->task_cap);
	out = malloc(sizeof(rh) + p->max_result);
	if (!in || !out)
		return 126;
	for (;;) {
		size_t out_len = p->max_result;

		n = ipcq_get(w->tasks, in, p->task_cap, IPCQ_FOREVER);
		if (n < 0)
			return 2;
		if ((size_t)n < sizeof(th))
			continue;
		memcpy(&th, in, sizeof(th));
		if (th.id == 0)
			return 0; /* stop; proc_start flushes stdio */
		rh.status = th.fn(in + sizeof(th), th.len, out + sizeof(rh), &out_len);
		rh.id = th.id;
		rh.pid = (int32_t)getpid();
		rh.len = (uint32_t)(out_len > p->max_result ? p->max_result : out_len);
		rh.worker = (uint32_t)w->idx;
		memcpy(out, &rh, sizeof(rh));
		fflush(NULL); /* what the task printed appears now, not at exit */
		if (ipcq_put(p->results, out, sizeof(rh) + rh.len, IPCQ_FOREVER) < 0)
			return 3;
	}
}

/* Called with the lock held, from the manager thread; the worker's queue is empty. */
static int spawn(struct pool *p, int i)
{
	int ret;

	p->w[i].queued = 0;
	p->w[i].stop_sent = false;
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
	if (r->item) /* still waiting in the FIFO: the task goes on without it */
		r->item->r = NULL;
	r->item = NULL;
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
	/* Counted for the worker that sent it, not for a replacement. */
	if (rh.worker < (uint32_t)p->n && p->w[rh.worker].alive && p->w[rh.worker].queued > 0 &&
	    proc_pid(p->procs[rh.worker]) == rh.pid)
		p->w[rh.worker].queued--;
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

	while ((n = ipcq_get_nowait(p->results, p->dbuf, p->result_cap)) >= 0)
		deliver(p, p->dbuf, (size_t)n);
}

/* Lock held.  Marks every unfinished task dead (signal 0: unknown). */
static void fail_pending(struct pool *p)
{
	while (p->pend_head)
		finish(p, p->pend_head, -ECHILD, true, 0);
}

/* ---- tasks ---- */

/* Lock held.  The live worker taking tasks with the fewest queued, below DEPTH; -1: none. */
static int pick(const struct pool *p)
{
	int i, best = -1;

	for (i = 0; i < p->n; i++)
		if (p->w[i].alive && !p->w[i].stop_sent && p->w[i].queued < DEPTH &&
		    (best < 0 || p->w[i].queued < p->w[best].queued))
			best = i;
	return best;
}

/* Lock held.  Puts task @msg of @r (NULL: freed) to a worker; false when none takes it now. */
static bool give(struct pool *p, const unsigned char *msg, size_t len, struct pool_result *r)
{
	int i = pick(p);

	if (i < 0 || ipcq_put_nowait(p->w[i].tasks, msg, len) < 0)
		return false;
	p->w[i].queued++;
	if (r) {
		r->worker = i;
		r->item = NULL;
	}
	return true;
}

/* Lock held.  Makes @it the FIFO's last item (@front: its first). */
static void fifo_add(struct pool *p, struct fifo_item *it, bool front)
{
	if (it->r)
		it->r->item = it;
	if (front) {
		it->next = p->fifo_head;
		p->fifo_head = it;
		if (!p->fifo_tail)
			p->fifo_tail = it;
		return;
	}
	it->next = NULL;
	if (p->fifo_tail)
		p->fifo_tail->next = it;
	else
		p->fifo_head = it;
	p->fifo_tail = it;
}

/* Lock held.  The pending result of task @id given to worker @i, or NULL. */
static struct pool_result *given_to(struct pool *p, int i, uint64_t id)
{
	struct pool_result *r;

	for (r = p->pend_head; r; r = r->next)
		if (r->worker == i && r->id == id)
			return r;
	return NULL;
}

/*
 * Lock held, worker @i reaped and its results drained.  Takes back the
 * tasks still in its queue, oldest first, to the front of the FIFO; the
 * other tasks given to it died with it (@sig).  The queue is then replaced:
 * what the dead reader may have left half done in it (a claimed shm slot
 * that only a waiting put would repair) goes with it.  Returns how many died.
 */
static int take_back(struct pool *p, int i, int sig)
{
	struct fifo_item *back[DEPTH + 1], *it;
	struct pool_result *r, *next;
	struct ipcq_opts o = {.backend = ipcq_backend(p->w[i].tasks),
			      .msg_max = p->task_cap,
			      .capacity = DEPTH + 1};
	struct ipcq *fresh = NULL;
	struct task_hdr th;
	int k = 0, died = 0, tries;
	ssize_t n;

	for (tries = 0; k <= DEPTH && tries < 4 * (DEPTH + 1); tries++) {
		n = ipcq_get_nowait(p->w[i].tasks, p->tbuf, p->task_cap);
		if (n == -EBADMSG)
			continue; /* a damaged message dropped: the next */
		if (n < 0)
			break;
		if ((size_t)n < sizeof(th))
			continue;
		memcpy(&th, p->tbuf, sizeof(th));
		if (th.id == 0)
			continue; /* its stop message: a replacement gets its own */
		r = given_to(p, i, th.id);
		it = malloc(sizeof(*it) + (size_t)n);
		if (!it) {
			if (r)
				finish(p, r, -ENOMEM, false, 0);
			continue;
		}
		it->r = r;
		it->len = (size_t)n;
		memcpy(it->msg, p->tbuf, (size_t)n);
		if (r)
			r->worker = -1;
		back[k++] = it;
	}
	while (k > 0)
		fifo_add(p, back[--k], true);
	if (ipcq_create(&fresh, &o) != 0)
		fresh = NULL; /* keep the old one */
	if (fresh && ipcq_msg_max(fresh) != p->task_cap) {
		ipcq_close(fresh); /* workers' buffers are task_cap long: keep the old one */
		fresh = NULL;
	}
	if (fresh) {
		ipcq_close(p->w[i].tasks);
		p->w[i].tasks = fresh;
	}
	for (r = p->pend_head; r; r = next) {
		next = r->next;
		if (r->worker == i) {
			finish(p, r, -ECHILD, true, sig);
			died++;
		}
	}
	p->w[i].queued = 0;
	return died;
}

/* Lock held.  Worker @i ended (reaped): what it held is answered, taken back or dead. */
static void worker_ended(struct pool *p, int i)
{
	int code = 0, sig, died;
	ssize_t n;

	proc_exitcode(p->procs[i], &code);
	sig = code < 0 ? -code : 0;

	p->w[i].alive = false;
	p->live--;
	drain(p);
	/* A result behind one still being written (shm): wait for it a little. */
	while (!ipcq_empty(p->results) &&
	       (n = ipcq_get(p->results, p->dbuf, p->result_cap, TAKE_BACK_NS)) >= 0) {
		deliver(p, p->dbuf, (size_t)n);
		drain(p);
	}
	died = take_back(p, i, sig);
	pthread_cond_broadcast(&p->cond);
	/*
	 * Replace a worker killed by a signal, or one that ended inside a
	 * task; one that ended by itself while idle (its stop message, a broken
	 * queue, a failed binding) is not replaced: that could loop forever.
	 */
	if (p->state != POOL_RUN && p->state != POOL_CLOSED)
		return;
	if (!sig && !died)
		return;
	if (spawn(p, i) != 0 && p->live == 0)
		fail_pending(p); /* no worker left, none to be had: nothing may wait forever */
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

/* Lock held.  Gives waiting tasks to workers; once closed and none wait, a stop to each. */
static void feed(struct pool *p)
{
	struct fifo_item *it;
	struct task_hdr stop = {0};
	int i;

	while ((it = p->fifo_head)) {
		if (!give(p, it->msg, it->len, it->r))
			return;
		p->fifo_head = it->next;
		if (!p->fifo_head)
			p->fifo_tail = NULL;
		free(it);
	}
	if (p->state != POOL_CLOSED)
		return;
	for (i = 0; i < p->n; i++)
		if (p->w[i].alive && !p->w[i].stop_sent &&
		    ipcq_put_nowait(p->w[i].tasks, &stop, sizeof(stop)) == 0)
			p->w[i].stop_sent = true;
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
	qo.capacity = DEPTH + 1; /* its tasks and its stop message */
	for (i = 0; i < p->n; i++) {
		ret = ipcq_create(&p->w[i].tasks, &qo);
		if (ret)
			goto fail;
	}
	qo.msg_max = sizeof(struct result_hdr) + p->max_result;
	qo.capacity = 0;
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
	if (!p->fifo_head && give(p, it->msg, it->len, r))
		free(it);
	else
		fifo_add(p, it, false);
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
			pend_unlink(r->pool, r);
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
