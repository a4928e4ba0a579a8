/* SPDX-License-Identifier: MIT */
/*
 * libipcq extensions beyond the Queue contract of ipcq.h: the kernel limits
 * that bound each backend, an explanation when one of them refused a queue,
 * and the removal of objects that processes killed by SIGKILL left behind.
 * Same conventions as ipcq.h: negative errno on failure, nothing prints.
 */
#ifndef IPCQ_EXT_H
#define IPCQ_EXT_H

#include "ipcq.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ipcq_limit {
	char name[48];	 /* "fs.mqueue.msg_max", "RLIMIT_MSGQUEUE", "kernel.msgmnb" */
	long long value; /* current value; -1 when it cannot be read */
	char unit[16];	 /* "messages", "bytes" */
	char what[80];	 /* what it bounds, in a few words */
	char raise[96];	 /* how to raise it: "sysctl -w fs.mqueue.msg_max=N" */
};

/*
 * Fills up to @n entries of @out with the kernel limits that bound @backend
 * on this machine.  Returns how many limits the backend has (may exceed @n),
 * 0 for a backend no kernel limit bounds, or -EINVAL (unknown backend).
 */
ssize_t ipcq_limits(const char *backend, struct ipcq_limit *out, size_t n);

/*
 * After ipcq_create(opts) failed with @err, writes into @buf one line that
 * names the kernel limit that refused the queue, its current value and how
 * to raise it.  Returns the length of that line (truncated to fit @len), 0
 * when no kernel limit explains @err, or -EINVAL.
 */
int ipcq_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len);

/*
 * Reports one object removed by ipcq_clean(): @backend and a short
 * description (e.g. "SysV queue msqid 32769, created by pid 4242 (dead)").
 */
typedef void (*ipcq_clean_fn)(void *ctx, const char *backend, const char *what);

/*
 * Removes the IPC objects of this user that libipcq created and that nobody
 * can reach any more, which the kernel could not remove by itself: SysV
 * queues of anonymous (or unlinked) ipcq queues whose every handle holder is
 * gone (killed by SIGKILL, or exited without closing) or whose creator was
 * killed while creating them, and leftovers of the private directories.
 * Never touches objects libipcq did not create, named queues that still have
 * their name (ipcq_clean_named() finds those whose creator died), or queues
 * a live process holds a handle to.  @backend NULL
 * means all backends.  Calls @fn (may be NULL) for each removal.
 * Returns the number of objects removed, or a negative errno.
 */
ssize_t ipcq_clean(const char *backend, ipcq_clean_fn fn, void *ctx);

/*
 * Named queues that a dead process created and that no live process holds
 * a handle to: what a program killed while it owned one leaves behind (a
 * named queue lives until unlinked, so ipcq_clean() keeps it).  Calls @fn
 * (may be NULL) for each; with @remove also removes it, as ipcq_unlink()
 * would, and says so in the description.  Never lists a queue whose creator
 * still runs, one that a live process holds (also a handle inherited through
 * fork(); an exec() drops it), one whose creator no record names (made by
 * an earlier libipcq, or a creator killed before its record was written),
 * or objects libipcq did not make.  Backends pipe, sysv, mqueue, unix and
 * tcp record their creators; @backend NULL means all backends.
 * Returns how many were found (and, with @remove, removed), -EINVAL (unknown
 * backend), or another negative errno.
 */
ssize_t ipcq_clean_named(const char *backend, bool remove, ipcq_clean_fn fn, void *ctx);

/*
 * The private directory of this user that holds named pipe queues and the
 * records of SysV (and named POSIX) queues: $XDG_RUNTIME_DIR/ipcq when that
 * is set and ours, else /tmp/ipcq-<uid>; created 0700 when missing.  When
 * the one found is not ours alone (another user created /tmp/ipcq-<uid>
 * first, it is a symlink, or it is open to others), libipcq uses a
 * directory /tmp/ipcq-<uid>.XXXXXX of ours instead, the same for every
 * process of this user: nobody else can own one, so none can be planted.
 * Writes the path in use into @path and, for a fallback, the reason into
 * @why (may be NULL; "" otherwise).  Returns 0 (the usual directory), 1 (a
 * fallback was taken), -EINVAL (NULL @path or @len 0), -ENAMETOOLONG, or the
 * kernel's error.
 */
int ipcq_private_dir(char *path, size_t len, char *why, size_t why_len);

/*
 * The SysV message queue id behind @q, a queue of the "sysv" backend, for
 * raw msgsnd()/msgrcv() by benchmarks; the queue keeps owning the object's
 * lifetime (its records, ipcq_close(), ipcq_clean() after a SIGKILL), so
 * use the id only while a handle is open.  Raw messages must have mtype 1,
 * the type ipcq_put() sends and ipcq_get() takes (any other positive type
 * works between raw users only: ipcq_get() never takes it), and at most
 * ipcq_msg_max(q) bytes; the queue holds capacity x msg_max bytes.
 * Returns the msqid (>= 0), or -EINVAL (NULL, or another backend).
 */
int ipcq_sysv_msqid(const struct ipcq *q);

/*
 * The shared memory of an shm queue, for a program that places it on a
 * NUMA node (mbind) and checks where its pages are (move_pages): *addr
 * (page-aligned) and *len of this handle's mapping of the ring, header
 * included.  Returns 0, -EINVAL (NULL), or -ENOTSUP (another backend:
 * the kernel owns those queues' memory).
 */
int ipcq_shm_memory(const struct ipcq *q, void **addr, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* IPCQ_EXT_H */
