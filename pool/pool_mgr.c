/* SPDX-License-Identifier: MIT */
/*
 * The Pool's manager thread and its workers (pool_mgr.h): a worker's loop,
 * giving tasks to workers, collecting results, reaping the workers that
 * ended and replacing them.
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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pool_mgr.h"

#define REAP_EVERY_NS (10 * 1000000LL)
#define TAKE_BACK_NS  (10 * 1000000LL) /* a dead worker's last result, behind another */

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
	/* Its own queue only: the others' stay alive with their workers, not with it. */
	for (int j = 0; j < p->n; j++)
		if (j != w->idx && p->w[j].tasks) {
			ipcq_close(p->w[j].tasks);
			p->w[j].tasks = NULL;
		}
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

void mgr_pend_unlink(struct pool *p, struct pool_result *r)
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
	mgr_pend_unlink(p, r);
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
void mgr_drain(struct pool *p)
{
	ssize_t n;

	while ((n = ipcq_get_nowait(p->results, p->dbuf, p->result_cap)) >= 0)
		deliver(p, p->dbuf, (size_t)n);
}

/* Lock held.  Marks every unfinished task dead (signal 0: unknown). */
void mgr_fail_pending(struct pool *p)
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
bool mgr_give(struct pool *p, const unsigned char *msg, size_t len, struct pool_result *r)
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
void mgr_fifo_add(struct pool *p, struct fifo_item *it, bool front)
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

int mgr_task_queue(const struct pool *p, const char *backend, struct ipcq **out)
{
	struct ipcq_opts o = {.backend = backend,
			      .msg_max = sizeof(struct task_hdr) + p->max_arg,
			      .capacity = DEPTH + 1}; /* its tasks and its stop message */

	return ipcq_create(out, &o);
}

/* Lock held.  Worker @i gets a fresh task queue; it keeps its old one when none can be had. */
static void renew_queue(struct pool *p, int i)
{
	struct ipcq *fresh;

	if (mgr_task_queue(p, ipcq_backend(p->w[i].tasks), &fresh) != 0)
		return;
	if (ipcq_msg_max(fresh) != p->task_cap) {
		ipcq_close(fresh); /* workers' buffers are task_cap long */
		return;
	}
	ipcq_close(p->w[i].tasks);
	p->w[i].tasks = fresh;
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
		mgr_fifo_add(p, back[--k], true);
	renew_queue(p, i);
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
	mgr_drain(p);
	/* A result behind one still being written (shm): wait for it a little. */
	while (!ipcq_empty(p->results) &&
	       (n = ipcq_get(p->results, p->dbuf, p->result_cap, TAKE_BACK_NS)) >= 0) {
		deliver(p, p->dbuf, (size_t)n);
		mgr_drain(p);
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
		mgr_fail_pending(p); /* no worker left, none to be had: nothing may wait forever */
}

/* Lock held.  Reaps the workers that ended. */
void mgr_reap(struct pool *p)
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
		if (!mgr_give(p, it->msg, it->len, it->r))
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

void *mgr_main(void *arg)
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
			mgr_drain(p);
		}
		if (n < 0 || pool_now_ns() - last_reap >= REAP_EVERY_NS) {
			mgr_reap(p);
			last_reap = pool_now_ns();
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}
