/* SPDX-License-Identifier: MIT */
/* Private to pool.c and pool_mgr.c: the Pool's state, and what the manager thread does. */
#ifndef POOL_MGR_H
#define POOL_MGR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "group.h"
#include "ipcq.h"
#include "pool.h"

#define DEPTH 2 /* tasks queued per worker: it never waits for the manager */

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

/* A worker's task queue, anonymous, of @backend: 0 or ipcq_create()'s error. */
int mgr_task_queue(const struct pool *p, const char *backend, struct ipcq **out);

/* The manager thread (pthread_create): starts the workers, then feeds, collects, reaps. */
void *mgr_main(void *arg);

/* Lock held.  Puts task @msg of @r (NULL: freed) to a worker; false when none takes it now. */
bool mgr_give(struct pool *p, const unsigned char *msg, size_t len, struct pool_result *r);
/* Lock held.  Makes @it the FIFO's last item (@front: its first). */
void mgr_fifo_add(struct pool *p, struct fifo_item *it, bool front);
/* Lock held.  Takes @r out of the pending list. */
void mgr_pend_unlink(struct pool *p, struct pool_result *r);
/* Lock held.  Everything already in the result queue, without waiting. */
void mgr_drain(struct pool *p);
/* Lock held.  Marks every unfinished task dead (signal 0: unknown). */
void mgr_fail_pending(struct pool *p);
/* Lock held.  Reaps the workers that ended. */
void mgr_reap(struct pool *p);

#endif /* POOL_MGR_H */
