/* SPDX-License-Identifier: MIT */
/*
 * Private to the sysv backend: sysv.c (data path, setup, ops), sysv_rec.c
 * (records, names, references, cleanup) and sysv_wait.c (timed waits).
 * sysv.c calls the other two; they call nothing of sysv.c.
 */
#ifndef IPCQ_SYSV_PVT_H
#define IPCQ_SYSV_PVT_H

#include <sys/msg.h>

#include "registry_pvt.h"

#define SYSV_MTYPE     1L
#define SYSV_STACK_MSG 8192 /* kernel.msgmax default: larger messages use the heap */
#define SYSV_REC_MAGIC "ipcq-sysv 1"

_Static_assert(IPCQ_NAME_MAX == 200, "record format reads names with %200s");

struct sysv_priv {
	int msqid;
	int lock_fd; /* the record, OFD read-locked: this handle's reference */
	pid_t creator;
	unsigned long long start;
};

struct sysv_rec {
	int msqid;
	unsigned key;
	pid_t pid;
	unsigned long long start;
	size_t msg_max;
	int anon;
	char name[IPCQ_NAME_MAX + 1];
};

/* One msgsnd or msgrcv, described so that the slow paths serve both. */
struct sysv_io {
	int msqid;
	bool rcv;
	void *msg; /* struct msgbuf layout: long mtype, then the text */
	size_t size;
};

static inline struct sysv_priv *priv(struct ipcq *q)
{
	return (struct sysv_priv *)q->priv;
}

/*
 * msg_qbytes a queue needs: capacity × msg_max, or the default (msgmnb) for
 * capacity 0 — but always room for one message of msg_max.  0: overflow.
 */
static inline size_t want_qbytes(const struct ipcq_opts *o, size_t dflt)
{
	size_t n;

	if (o->capacity == 0)
		return dflt > o->msg_max ? dflt : o->msg_max;
	if (__builtin_mul_overflow(o->capacity, o->msg_max, &n))
		return 0;
	return n;
}

/* sysv_wait.c ----------------------------------------------------------- */

/*
 * One put or get: IPCQ_FOREVER blocks in the kernel; otherwise an
 * IPC_NOWAIT try first (the fast path: one system call), then a timed wait.
 * Returns what msgsnd/msgrcv give (>= 0) or -errno: -EAGAIN, -ETIMEDOUT.
 */
ssize_t __ipcq_sysv_io_run(const struct sysv_io *io, int64_t timeout_ns);

/* sysv_rec.c: records and names (the top of sysv_rec.c says what is where) */

int __ipcq_sysv_rec_path(char *buf, size_t len, int msqid);
int __ipcq_sysv_name_path(char *buf, size_t len, const char *name);
/* Parses the record in @fd: 0, -EBADMSG, -errno. */
int __ipcq_sysv_rec_parse(int fd, struct sysv_rec *r);
/* Does the name @name stand for @msqid? */
bool __ipcq_sysv_name_points(const char *name, int msqid);
/* Serializes the name operations of this user (create, unlink, clean): a descriptor or -errno. */
int __ipcq_sysv_names_lock(void);
/* The named queue @name: 0, -ENOENT, -EACCES (not ours alone), -errno. */
int __ipcq_sysv_named_find(const char *name, struct msqid_ds *ds, struct sysv_rec *r);
/*
 * Removes the queue behind record @path when no handle is left and nobody
 * can reach it: 1 removed, 0 nothing to remove, -EAGAIN held, -errno.
 */
int __ipcq_sysv_try_remove(const char *path, const struct sysv_rec *expect, struct sysv_rec *got);
/* Queues let go of while other handles held them: retried later. */
void __ipcq_sysv_pending_add(int msqid);
void __ipcq_sysv_pending_retry(void);
/* A new IPC_PRIVATE queue for @o, its record @r published and read-locked in *@lock_fd. */
int __ipcq_sysv_queue_new(const struct ipcq_opts *o, struct sysv_rec *r, size_t *qbytes,
			  int *lock_fd);
/* ipcq_clean() and ipcq_clean_named() of this backend. */
ssize_t __ipcq_sysv_clean(ipcq_clean_fn fn, void *ctx);
ssize_t __ipcq_sysv_clean_named(bool remove, ipcq_clean_fn fn, void *ctx);

#endif /* IPCQ_SYSV_PVT_H */
