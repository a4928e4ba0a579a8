/* SPDX-License-Identifier: MIT */
/*
 * The sysv backend: System V message queues (msgget/msgsnd/msgrcv).
 *
 * This file: put and get (one IPC_NOWAIT try, then a wait), the queue's
 * state, create/open/close/unlink, the kernel limits and their
 * explanations, and the ops table.  The records that stand in for names and
 * handles, and the cleanup behind ipcq_clean(), are in sysv_rec.c; timed
 * waits (SysV calls have no timeout) in sysv_wait.c.  Neither calls back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysv_pvt.h"

/* Put and get ------------------------------------------------------------- */

struct sysv_stack_msg {
	long mtype;
	char mtext[SYSV_STACK_MSG];
};

static int sysv_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct sysv_stack_msg sbuf;
	struct sysv_io io = {.msqid = priv(q)->msqid, .msg = &sbuf, .size = len};
	ssize_t n;

	if (len > SYSV_STACK_MSG && !(io.msg = malloc(sizeof(long) + len)))
		return -ENOMEM;
	*(long *)io.msg = SYSV_MTYPE;
	if (len)
		memcpy((char *)io.msg + sizeof(long), msg, len);
	n = __ipcq_sysv_io_run(&io, timeout_ns);
	if (io.msg != &sbuf)
		free(io.msg);
	return n < 0 ? (int)n : 0;
}

static ssize_t sysv_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct sysv_stack_msg sbuf;
	struct sysv_io io = {
		.msqid = priv(q)->msqid, .rcv = true, .msg = &sbuf, .size = q->msg_max};
	ssize_t n;

	(void)cap; /* >= msg_max (queue.c): no message can be longer */
	if (io.size > SYSV_STACK_MSG && !(io.msg = malloc(sizeof(long) + io.size)))
		return -ENOMEM;
	n = __ipcq_sysv_io_run(&io, timeout_ns);
	if (n > 0)
		memcpy(buf, (char *)io.msg + sizeof(long), (size_t)n);
	if (io.msg != &sbuf)
		free(io.msg);
	return n;
}

/* State ------------------------------------------------------------------- */

static ssize_t sysv_qsize(struct ipcq *q)
{
	struct msqid_ds ds;

	if (msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0)
		return -errno;
	return (ssize_t)ds.msg_qnum;
}

static bool sysv_empty(struct ipcq *q)
{
	struct msqid_ds ds;

	return msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0 || ds.msg_qnum == 0;
}

/* Full: no room for one more message of msg_max (bytes or, in Linux, count). */
static bool sysv_full(struct ipcq *q)
{
	struct msqid_ds ds;

	if (msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0)
		return false;
	return ds.msg_cbytes + q->msg_max > ds.msg_qbytes || ds.msg_qnum >= ds.msg_qbytes;
}

/* Setup: kernel limits, create, open, close, unlink ------------------------ */

static long long sysv_msgmax(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmax");
}

static long long sysv_msgmnb(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmnb");
}

static long long sysv_msgmni(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmni");
}

/*
 * The most msg_qbytes one queue may pin: kernel.msgmnb, or 64 MiB where that
 * is lower.  Above msgmnb only CAP_SYS_RESOURCE goes, and the kernel sets no
 * bound for it: root asking for capacity 2^40 got a queue that could hold
 * the machine's memory in unswappable kernel buffers.
 */
#define SYSV_QBYTES_CAP (64ULL << 20)

static unsigned long long sysv_qbytes_max(void)
{
	long long mnb = sysv_msgmnb();

	return mnb > 0 && (unsigned long long)mnb > SYSV_QBYTES_CAP ? (unsigned long long)mnb
								    : SYSV_QBYTES_CAP;
}

static int sysv_create(struct ipcq *q, const struct ipcq_opts *o)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8], text[32];
	struct sysv_priv *p = priv(q);
	struct sysv_rec r = {.key = IPC_PRIVATE}, old;
	long long msgmax = sysv_msgmax();
	struct msqid_ds ds;
	int lk = -1, ret;
	size_t qbytes = 0;

	/* kernel.msgmax is an int: no setting carries more (ipcq.h's -EMSGSIZE). */
	if (o->msg_max > INT_MAX)
		return -EMSGSIZE;
	/* The kernel would refuse every send (EINVAL): refuse the queue instead. */
	if (msgmax > 0 && o->msg_max > (unsigned long long)msgmax)
		return -EINVAL;
	if (want_qbytes(o, 1) == 0 || want_qbytes(o, 1) > sysv_qbytes_max())
		return -EINVAL;
	__ipcq_sysv_pending_retry();
	if (o->name) {
		lk = __ipcq_sysv_names_lock();
		if (lk < 0)
			return lk;
		ret = __ipcq_sysv_named_find(o->name, &ds, &old);
		if (ret != -ENOENT) {
			ret = ret == 0 ? -EEXIST : ret;
			goto out;
		}
	}
	r.pid = getpid();
	r.start = __ipcq_proc_start(r.pid);
	r.msg_max = o->msg_max;
	r.anon = !o->name;
	snprintf(r.name, sizeof(r.name), "%s", o->name ? o->name : "-");
	ret = __ipcq_sysv_queue_new(o, &r, &qbytes, &p->lock_fd);
	if (ret < 0)
		goto out;
	if (o->name) {
		snprintf(text, sizeof(text), "%d\n", r.msqid);
		ret = __ipcq_sysv_name_path(path, sizeof(path), o->name);
		if (ret == 0)
			ret = __ipcq_reg_file_publish("sysv", path, text);
		if (ret < 0) {
			close(p->lock_fd);
			if (__ipcq_sysv_rec_path(path, sizeof(path), r.msqid) == 0)
				unlink(path);
			msgctl(r.msqid, IPC_RMID, NULL);
			goto out;
		}
	}
	p->msqid = r.msqid;
	p->creator = r.pid;
	p->start = r.start;
	q->capacity = qbytes / o->msg_max;
out:
	if (lk >= 0)
		close(lk);
	return ret < 0 ? ret : 0;
}

static int sysv_open(struct ipcq *q, const char *name)
{
	char path[PATH_MAX + 16];
	struct sysv_priv *p = priv(q);
	struct sysv_rec r, now;
	struct msqid_ds ds;
	struct stat st;
	int fd, ret;

	ret = __ipcq_sysv_named_find(name, &ds, &r);
	if (ret < 0)
		return ret;
	ret = __ipcq_sysv_rec_path(path, sizeof(path), r.msqid);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	/* Our reference; a remover holding the write lock is done in a moment. */
	ret = __ipcq_ofd_lock(fd, F_RDLCK, true);
	if (ret == 0 &&
	    (fstat(fd, &st) < 0 || st.st_nlink == 0 || __ipcq_sysv_rec_parse(fd, &now) < 0 ||
	     now.pid != r.pid || now.start != r.start))
		ret = -ENOENT; /* unlinked and removed just now */
	if (ret < 0) {
		close(fd);
		return ret;
	}
	p->msqid = r.msqid;
	p->lock_fd = fd;
	p->creator = r.pid;
	p->start = r.start;
	q->msg_max = r.msg_max;
	q->capacity = ds.msg_qbytes / r.msg_max;
	return 0;
}

static int sysv_close(struct ipcq *q)
{
	struct sysv_priv *p = priv(q);
	struct sysv_rec expect = {.msqid = p->msqid, .pid = p->creator, .start = p->start}, got;
	char path[PATH_MAX + 16];
	int ret;

	/* Drop our reference first: the lock goes when the last one does. */
	close(p->lock_fd);
	p->lock_fd = -1;
	/* A named queue lives until unlinked (unlink checks the lock after the name). */
	if (q->named && __ipcq_sysv_name_points(q->name, p->msqid))
		return 0;
	ret = __ipcq_sysv_rec_path(path, sizeof(path), p->msqid);
	if (ret < 0)
		return ret;
	ret = __ipcq_sysv_try_remove(path, &expect, &got);
	if (ret == -EAGAIN)
		__ipcq_sysv_pending_add(p->msqid); /* another handle still holds it */
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

/* The name goes at once; the queue with the last handle (maybe now). */
static int sysv_unlink(const char *name)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8];
	struct sysv_rec r, got;
	struct msqid_ds ds;
	int lk, ret;

	lk = __ipcq_sysv_names_lock();
	if (lk < 0)
		return lk;
	ret = __ipcq_sysv_named_find(name, &ds, &r);
	if (ret == 0 || ret == -ENOENT) {
		/* A stale name (its queue gone) is removed too, but still -ENOENT. */
		if (__ipcq_sysv_name_path(path, sizeof(path), name) == 0 && unlink(path) < 0 &&
		    ret == 0)
			ret = -errno;
	}
	close(lk);
	if (ret < 0)
		return ret;
	ret = __ipcq_sysv_rec_path(path, sizeof(path), r.msqid);
	if (ret == 0)
		ret = __ipcq_sysv_try_remove(path, &r, &got);
	if (ret == -EAGAIN)
		__ipcq_sysv_pending_add(
			r.msqid); /* open handles keep it; the last one removes it */
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

/* Limits and explanations ------------------------------------------------- */

static ssize_t sysv_limits(struct ipcq_limit *out, size_t n)
{
	if (n > 0)
		__ipcq_limit_set(&out[0], "kernel.msgmax", sysv_msgmax(), "bytes",
				 "largest SysV message (msg_max)", "sysctl -w kernel.msgmax=N");
	if (n > 1)
		__ipcq_limit_set(&out[1], "kernel.msgmnb", sysv_msgmnb(), "bytes",
				 "bytes one SysV queue holds (capacity x msg_max)",
				 "sysctl -w kernel.msgmnb=N");
	if (n > 2)
		__ipcq_limit_set(&out[2], "kernel.msgmni", sysv_msgmni(), "queues",
				 "SysV queues on the system", "sysctl -w kernel.msgmni=N");
	return 3;
}

static int sysv_explain(const struct ipcq_opts *o, int err, char *buf, size_t len)
{
	long long msgmax = sysv_msgmax(), msgmnb = sysv_msgmnb();
	size_t need = want_qbytes(o, msgmnb > 0 ? (size_t)msgmnb : 0);
	int n = 0;

	if (err > 0)
		err = -err;
	if (err == -EINVAL && msgmax > 0 && o->msg_max > (unsigned long long)msgmax)
		n = snprintf(buf, len,
			     "sysv: msg_max %zu is above kernel.msgmax = %lld bytes; "
			     "raise it: sysctl -w kernel.msgmax=%zu",
			     o->msg_max, msgmax, o->msg_max);
	else if (err == -EINVAL && (need == 0 || need > sysv_qbytes_max()))
		n = snprintf(buf, len,
			     "sysv: capacity %zu x msg_max %zu is above %llu bytes, the most "
			     "one SysV queue may pin (kernel.msgmnb, at least 64 MiB; "
			     "CAP_SYS_RESOURCE would let the kernel pin any amount): ask for a "
			     "smaller capacity",
			     o->capacity, o->msg_max, sysv_qbytes_max());
	else if (err == -EPERM && msgmnb > 0 && need > (unsigned long long)msgmnb)
		n = snprintf(
			buf, len,
			"sysv: %zu bytes per queue (capacity x msg_max) is above kernel.msgmnb = "
			"%lld bytes; going above it needs CAP_SYS_RESOURCE, so raise the "
			"default instead: sysctl -w kernel.msgmnb=%zu",
			need, msgmnb, need);
	else if (err == -ENOSPC)
		n = snprintf(buf, len,
			     "sysv: the system has kernel.msgmni = %lld SysV queues already; "
			     "raise it: sysctl -w kernel.msgmni=N (or remove stale ones: ipcbench "
			     "clean)",
			     sysv_msgmni());
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)len - 1 : n;
}

/* Raw users send mtype SYSV_MTYPE (ipcq_ext.h says so): ipcq_get() takes only it. */
static int sysv_kernel_id(const struct ipcq *q)
{
	return ((const struct sysv_priv *)q->priv)->msqid;
}

const struct ipcq_ops __ipcq_sysv_ops = {
	.name = "sysv",
	.priv_size = sizeof(struct sysv_priv),
	.create = sysv_create,
	.open = sysv_open,
	.put = sysv_put,
	.get = sysv_get,
	.qsize = sysv_qsize,
	.empty = sysv_empty,
	.full = sysv_full,
	.close = sysv_close,
	.unlink = sysv_unlink,
	.limits = sysv_limits,
	.explain = sysv_explain,
	.clean = __ipcq_sysv_clean,
	.clean_named = __ipcq_sysv_clean_named,
	.kernel_id = sysv_kernel_id,
};
