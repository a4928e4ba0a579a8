/* SPDX-License-Identifier: MIT */
/*
 * The pipe backend's sizes and the kernel's limits on them: how many bytes
 * of pipe a capacity needs (one page a packet), the size the kernel grants
 * (fs.pipe-max-size, fs.pipe-user-pages-*), and what to say when it refuses
 * (ipcq_limits(), ipcq_explain()).  Called from pipe.c's setup; calls
 * nothing of it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "pipe_pvt.h"

static long long pipe_max_size(void)
{
	long long v = __ipcq_read_sysctl("/proc/sys/fs/pipe-max-size");

	return v > 0 ? v : 1048576;
}

#define PIPE_BYTES_MAX (1UL << 30) /* fits fcntl's int; far above any pipe-max-size */

/* Bytes of pipe that @capacity messages of @n_max packets need; 0: too many. */
static size_t pipe_bytes_for(size_t capacity, size_t n_max)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (capacity > PIPE_BYTES_MAX / page / n_max)
		return 0;
	return capacity * n_max * page;
}

int __ipcq_pipe_size(struct ipcq *q, struct pipe_q *p, size_t capacity)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t least = pipe_bytes_for(1, p->n_max);
	size_t bytes;
	int r;

	if (!least)
		return -EMSGSIZE; /* no pipe can ever hold one message */
	if (capacity) {
		bytes = pipe_bytes_for(capacity, p->n_max);
		if (!bytes)
			return -EINVAL;
		if (fcntl(p->wfd, F_SETPIPE_SZ, (int)bytes) < 0)
			return -errno;
	} else {
		bytes = (size_t)pipe_max_size();
		if (bytes > PIPE_BYTES_MAX)
			bytes = PIPE_BYTES_MAX;
		if (bytes < least)
			bytes = least;
		while (fcntl(p->wfd, F_SETPIPE_SZ, (int)bytes) < 0) {
			if ((errno != EPERM && errno != ENOMEM) || bytes / 2 < least)
				return -errno;
			bytes /= 2;
		}
	}
	r = fcntl(p->wfd, F_GETPIPE_SZ);
	if (r < 0)
		return -errno;
	p->slots = (size_t)r / page;
	q->capacity = p->slots / p->n_max;
	return q->capacity ? 0 : -EMSGSIZE;
}

ssize_t __ipcq_pipe_limits(struct ipcq_limit *out, size_t n)
{
	if (n > 0)
		__ipcq_limit_set(&out[0], "fs.pipe-max-size", pipe_max_size(), "bytes",
				 "largest pipe: capacity x packets x 4096",
				 "sysctl -w fs.pipe-max-size=N");
	if (n > 1)
		__ipcq_limit_set(&out[1], "fs.pipe-user-pages-soft",
				 __ipcq_read_sysctl("/proc/sys/fs/pipe-user-pages-soft"), "pages",
				 "pipe pages of one user before pipes shrink",
				 "sysctl -w fs.pipe-user-pages-soft=N");
	if (n > 2)
		__ipcq_limit_set(&out[2], "fs.pipe-user-pages-hard",
				 __ipcq_read_sysctl("/proc/sys/fs/pipe-user-pages-hard"), "pages",
				 "pipe pages of one user (0: no limit)",
				 "sysctl -w fs.pipe-user-pages-hard=N");
	return 3;
}

int __ipcq_pipe_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n_max = opts->msg_max >= PKT ? npackets(opts->msg_max) : 1;
	size_t want = pipe_bytes_for(opts->capacity ? opts->capacity : 1, n_max);
	long long max = pipe_max_size();
	size_t pow2 = page;
	int r;

	if (err < 0)
		err = -err;
	/* The kernel rounds a pipe to a power of two pages, and so must the limit. */
	while (want && pow2 < want)
		pow2 *= 2;
	if (err == EPERM && want && (long long)pow2 > max)
		r = snprintf(buf, len,
			     "fs.pipe-max-size is %lld bytes; this queue needs %zu bytes "
			     "(%zu messages of %zu pipe pages, rounded up to a power of two): "
			     "sysctl -w fs.pipe-max-size=%zu",
			     max, pow2, opts->capacity ? opts->capacity : 1, n_max, pow2);
	else if (err == EPERM || err == ENOMEM)
		r = snprintf(buf, len,
			     "this user's pipes hold more than fs.pipe-user-pages-soft=%lld "
			     "(or -hard=%lld) pages: close some, or sysctl -w "
			     "fs.pipe-user-pages-soft=N",
			     __ipcq_read_sysctl("/proc/sys/fs/pipe-user-pages-soft"),
			     __ipcq_read_sysctl("/proc/sys/fs/pipe-user-pages-hard"));
	else
		return 0;
	if (r < 0)
		return 0;
	return (size_t)r >= len ? (int)len - 1 : r;
}
