/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: the shm backend is being written; every call fails with -ENOSYS. */
#include <errno.h>

#include "ipcq_pvt.h"

static int nosys_create(struct ipcq *q, const struct ipcq_opts *o) { (void)q; (void)o; return -ENOSYS; }
static int nosys_open(struct ipcq *q, const char *n) { (void)q; (void)n; return -ENOSYS; }
static int nosys_put(struct ipcq *q, const void *m, size_t l, int64_t t) { (void)q; (void)m; (void)l; (void)t; return -ENOSYS; }
static ssize_t nosys_get(struct ipcq *q, void *b, size_t c, int64_t t) { (void)q; (void)b; (void)c; (void)t; return -ENOSYS; }
static ssize_t nosys_qsize(struct ipcq *q) { (void)q; return -ENOSYS; }
static int nosys_close(struct ipcq *q) { (void)q; return 0; }
static int nosys_unlink(const char *n) { (void)n; return -ENOSYS; }

const struct ipcq_ops __ipcq_shm_ops = {
	.name = "shm",
	.create = nosys_create,
	.open = nosys_open,
	.put = nosys_put,
	.get = nosys_get,
	.qsize = nosys_qsize,
	.close = nosys_close,
	.unlink = nosys_unlink,
};
