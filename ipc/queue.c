/* SPDX-License-Identifier: MIT */
/*
 * The front end: finds the backend by name, validates arguments once, and
 * dispatches through its ops table.  Backends never see a bad argument that
 * the contract defines for every backend alike.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "registry_pvt.h"

static const struct ipcq_ops *const backends[] = {
	&__ipcq_pipe_ops, &__ipcq_sysv_ops, &__ipcq_mqueue_ops,
	&__ipcq_shm_ops,  &__ipcq_unix_ops, &__ipcq_tcp_ops,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static const struct ipcq_ops *find_backend(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NBACKENDS; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* Names become parts of file and object names: keep them tame. */
static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > IPCQ_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static struct ipcq *alloc_handle(const struct ipcq_ops *ops, const char *name)
{
	struct ipcq *q = calloc(1, sizeof(*q) + ops->priv_size);

	if (!q)
		return NULL;
	q->ops = ops;
	if (name) {
		q->named = true;
		strcpy(q->name, name); /* length checked by name_ok() */
	}
	return q;
}

IPCQ_EXPORT int ipcq_create(struct ipcq **out, const struct ipcq_opts *opts)
{
	const struct ipcq_ops *ops;
	struct ipcq_opts o;
	struct ipcq *q;
	int ret;

	if (!out || !opts)
		return -EINVAL;
	*out = NULL;
	ops = find_backend(opts->backend);
	if (!ops || (opts->name && !name_ok(opts->name)))
		return -EINVAL;
	o = *opts;
	if (o.msg_max == 0)
		o.msg_max = IPCQ_DEFAULT_MSG_MAX;
	if (o.msg_max > SSIZE_MAX / 2 || o.capacity > SSIZE_MAX / 2 ||
	    (o.flags & ~(IPCQ_SP | IPCQ_SC)))
		return -EINVAL;
	q = alloc_handle(ops, o.name);
	if (!q)
		return -ENOMEM;
	q->msg_max = o.msg_max;
	ret = ops->create(q, &o);
	if (ret < 0) {
		free(q);
		return ret;
	}
	*out = q;
	return 0;
}

/*
 * ipcq_create@IPCQ_0.1, for programs linked before ipcq_opts had flags: the
 * struct they pass ends after msg_max, so read only that much (no flags).
 */
struct ipcq_opts_0_1 {
	const char *backend;
	const char *name;
	size_t capacity;
	size_t msg_max;
};

IPCQ_EXPORT int __ipcq_create_0_1(struct ipcq **out, const struct ipcq_opts_0_1 *opts)
{
	struct ipcq_opts o = {0};

	if (opts) {
		o.backend = opts->backend;
		o.name = opts->name;
		o.capacity = opts->capacity;
		o.msg_max = opts->msg_max;
	}
	return ipcq_create(out, opts ? &o : NULL);
}
__asm__(".symver __ipcq_create_0_1, ipcq_create@IPCQ_0.1");

IPCQ_EXPORT int ipcq_open(struct ipcq **out, const char *backend, const char *name)
{
	const struct ipcq_ops *ops;
	struct ipcq *q;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ops = find_backend(backend);
	if (!ops || !name_ok(name))
		return -EINVAL;
	q = alloc_handle(ops, name);
	if (!q)
		return -ENOMEM;
	ret = ops->open(q, name);
	if (ret < 0) {
		free(q);
		return ret;
	}
	*out = q;
	return 0;
}

IPCQ_EXPORT int ipcq_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	if (!q || (!msg && len) || timeout_ns < IPCQ_FOREVER)
		return -EINVAL;
	if (len > q->msg_max)
		return -EMSGSIZE;
	return q->ops->put(q, msg, len, timeout_ns);
}

IPCQ_EXPORT ssize_t ipcq_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	if (!q || (!buf && q->msg_max) || cap < q->msg_max || timeout_ns < IPCQ_FOREVER)
		return -EINVAL;
	return q->ops->get(q, buf, cap, timeout_ns);
}

/* Every message of a batch checked before any is put: -EINVAL, -EMSGSIZE or 0. */
static int msgs_ok(const struct ipcq *q, const struct iovec *msgs, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].iov_base && msgs[i].iov_len)
			return -EINVAL;
		if (msgs[i].iov_len > q->msg_max)
			ret = -EMSGSIZE; /* -EINVAL wins, as for ipcq_put() */
	}
	return ret;
}

static bool bufs_ok(const struct ipcq *q, const struct iovec *bufs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((!bufs[i].iov_base && q->msg_max) || bufs[i].iov_len < q->msg_max)
			return false;
	return true;
}

/*
 * The batch of a backend without its own: the first message waits as
 * ipcq_put(), the others only while there is room.  An error after the
 * first ends the batch; the next call meets it again.
 */
static ssize_t put_loop(struct ipcq *q, const struct iovec *msgs, size_t n, int64_t timeout_ns)
{
	size_t i;
	int ret = q->ops->put(q, msgs[0].iov_base, msgs[0].iov_len, timeout_ns);

	if (ret < 0)
		return ret;
	for (i = 1; i < n; i++)
		if (q->ops->put(q, msgs[i].iov_base, msgs[i].iov_len, IPCQ_NOWAIT) < 0)
			break;
	return (ssize_t)i;
}

static ssize_t get_loop(struct ipcq *q, struct iovec *bufs, size_t n, int64_t timeout_ns)
{
	ssize_t len = q->ops->get(q, bufs[0].iov_base, bufs[0].iov_len, timeout_ns);
	size_t i;

	if (len < 0)
		return len;
	bufs[0].iov_len = (size_t)len;
	for (i = 1; i < n; i++) {
		len = q->ops->get(q, bufs[i].iov_base, bufs[i].iov_len, IPCQ_NOWAIT);
		if (len < 0)
			break;
		bufs[i].iov_len = (size_t)len;
	}
	return (ssize_t)i;
}

IPCQ_EXPORT ssize_t ipcq_put_many(struct ipcq *q, const struct iovec *msgs, size_t n,
				  int64_t timeout_ns)
{
	int ret;

	if (!q || (!msgs && n) || n > SSIZE_MAX || timeout_ns < IPCQ_FOREVER)
		return -EINVAL;
	ret = msgs_ok(q, msgs, n);
	if (ret < 0 || n == 0)
		return ret;
	if (q->ops->put_many)
		return q->ops->put_many(q, msgs, n, timeout_ns);
	return put_loop(q, msgs, n, timeout_ns);
}

IPCQ_EXPORT ssize_t ipcq_get_many(struct ipcq *q, struct iovec *bufs, size_t n, int64_t timeout_ns)
{
	if (!q || (!bufs && n) || n > SSIZE_MAX || timeout_ns < IPCQ_FOREVER ||
	    !bufs_ok(q, bufs, n))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (q->ops->get_many)
		return q->ops->get_many(q, bufs, n, timeout_ns);
	return get_loop(q, bufs, n, timeout_ns);
}

IPCQ_EXPORT int ipcq_fd(struct ipcq *q, short events)
{
	if (!q || (events != POLLIN && events != POLLOUT))
		return -EINVAL;
	return q->ops->fd ? q->ops->fd(q, events) : -ENOTSUP;
}

IPCQ_EXPORT int ipcq_put_nowait(struct ipcq *q, const void *msg, size_t len)
{
	return ipcq_put(q, msg, len, IPCQ_NOWAIT);
}

IPCQ_EXPORT ssize_t ipcq_get_nowait(struct ipcq *q, void *buf, size_t cap)
{
	return ipcq_get(q, buf, cap, IPCQ_NOWAIT);
}

IPCQ_EXPORT ssize_t ipcq_qsize(struct ipcq *q)
{
	if (!q)
		return -EINVAL;
	return q->ops->qsize(q);
}

IPCQ_EXPORT bool ipcq_empty(struct ipcq *q)
{
	if (!q)
		return true;
	if (q->ops->empty)
		return q->ops->empty(q);
	return q->ops->qsize(q) == 0;
}

IPCQ_EXPORT bool ipcq_full(struct ipcq *q)
{
	ssize_t n;

	if (!q)
		return false;
	if (q->ops->full)
		return q->ops->full(q);
	n = q->ops->qsize(q);
	return n >= 0 && (size_t)n >= q->capacity;
}

IPCQ_EXPORT size_t ipcq_capacity(const struct ipcq *q)
{
	return q ? q->capacity : 0;
}

IPCQ_EXPORT size_t ipcq_msg_max(const struct ipcq *q)
{
	return q ? q->msg_max : 0;
}

IPCQ_EXPORT const char *ipcq_backend(const struct ipcq *q)
{
	return q ? q->ops->name : NULL;
}

IPCQ_EXPORT int ipcq_close(struct ipcq *q)
{
	int ret;

	if (!q)
		return -EINVAL;
	ret = q->ops->close(q);
	free(q);
	return ret;
}

IPCQ_EXPORT int ipcq_unlink(const char *backend, const char *name)
{
	const struct ipcq_ops *ops = find_backend(backend);

	if (!ops || !name_ok(name))
		return -EINVAL;
	return ops->unlink(name);
}

static const char *backend_names[NBACKENDS + 1];

/*
 * Filled once when the library is loaded, before any thread of the program
 * can call ipcq_backends(): writing it on every call was a data race between
 * threads calling at once.
 */
__attribute__((constructor)) static void backend_names_init(void)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		backend_names[i] = backends[i]->name;
}

IPCQ_EXPORT const char *const *ipcq_backends(void)
{
	return backend_names;
}

/* ipcq_ext.h ------------------------------------------------------------ */

IPCQ_EXPORT ssize_t ipcq_limits(const char *backend, struct ipcq_limit *out, size_t n)
{
	const struct ipcq_ops *ops = find_backend(backend);

	if (!ops || (!out && n))
		return -EINVAL;
	return ops->limits ? ops->limits(out, n) : 0;
}

IPCQ_EXPORT int ipcq_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len)
{
	const struct ipcq_ops *ops = opts ? find_backend(opts->backend) : NULL;
	struct ipcq_opts o;

	if (!ops || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	o = *opts;
	if (o.msg_max == 0)
		o.msg_max = IPCQ_DEFAULT_MSG_MAX;
	return ops->explain ? ops->explain(&o, err, buf, len) : 0;
}

/* ipcq_clean() (@named false) or ipcq_clean_named() of @backend, NULL: of all. */
static ssize_t clean_each(const char *backend, bool named, bool remove, ipcq_clean_fn fn, void *ctx)
{
	ssize_t total = 0;

	if (backend && !find_backend(backend))
		return -EINVAL;
	for (size_t i = 0; i < NBACKENDS; i++) {
		const struct ipcq_ops *ops = backends[i];
		ssize_t n = 0;

		if (backend && strcmp(backend, ops->name))
			continue;
		if (named && ops->clean_named)
			n = ops->clean_named(remove, fn, ctx);
		else if (!named && ops->clean)
			n = ops->clean(fn, ctx);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

IPCQ_EXPORT ssize_t ipcq_clean(const char *backend, ipcq_clean_fn fn, void *ctx)
{
	return clean_each(backend, false, false, fn, ctx);
}

IPCQ_EXPORT ssize_t ipcq_clean_named(const char *backend, bool remove, ipcq_clean_fn fn, void *ctx)
{
	return clean_each(backend, true, remove, fn, ctx);
}

IPCQ_EXPORT int ipcq_private_dir(char *path, size_t len, char *why, size_t why_len)
{
	if (!path || !len)
		return -EINVAL;
	if (why && why_len)
		why[0] = '\0';
	return __ipcq_private_base(path, len, why, why_len);
}

IPCQ_EXPORT int ipcq_sysv_msqid(const struct ipcq *q)
{
	if (!q || q->ops != &__ipcq_sysv_ops || !q->ops->kernel_id)
		return -EINVAL;
	return q->ops->kernel_id(q);
}
