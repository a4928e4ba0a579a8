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
 * their name, or queues a live process holds a handle to.  @backend NULL
 * means all backends.  Calls @fn (may be NULL) for each removal.
 * Returns the number of objects removed, or a negative errno.
 */
ssize_t ipcq_clean(const char *backend, ipcq_clean_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* IPCQ_EXT_H */
