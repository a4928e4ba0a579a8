/* SPDX-License-Identifier: MIT */
/*
 * The "pipe" backend: a pipe in packet mode (O_DIRECT).  Anonymous queues are
 * pipe2(); named queues are a FIFO in <private dir>/pipe/<name>/ beside a small
 * "meta" file that holds msg_max, the pipe size and the two locks.
 *
 * Two wire formats, chosen by msg_max when the queue is created:
 *
 * - single (msg_max < PIPE_BUF): one message is one packet, written by one
 *   write() of at most PIPE_BUF bytes, which the kernel keeps whole and a read
 *   returns whole: no lock, one system call per put or get.  A packet cannot be
 *   empty, so a zero-length message travels as a packet of msg_max + 1 bytes,
 *   a length no real message has.  One slot (page) of the pipe per message.
 *   An IPCQ_FOREVER put or get blocks in write()/read() on a second, blocking
 *   descriptor of the pipe (open_blocking()): one system call, like a bare
 *   loop; timed ones try, poll() and try again on the O_NONBLOCK one.
 *
 * - framed (msg_max >= PIPE_BUF): every packet is exactly PIPE_BUF bytes, a
 *   header and a chunk of the message, under process-shared locks: see
 *   pipe_frame.c.
 *
 * Capacity: one pipe slot (page) per packet, so the pipe gets capacity x
 * packets-per-msg_max pages, which the kernel rounds up to a power of two;
 * capacity() is what that size really holds.  capacity 0 asks for
 * fs.pipe-max-size (1 MiB: 256 slots), halving while the kernel says EPERM
 * (a user over fs.pipe-user-pages-soft), because "as many as the backend
 * allows" is what 0 means and pages are only allocated while they hold data.
 *
 * Approximations: qsize() is -ENOTSUP (a pipe counts bytes, not messages);
 * a named FIFO keeps its messages only while some process holds it open;
 * the framed format's are in pipe_frame.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipe_pvt.h"
#include "registry_pvt.h"

/* --- single format: one packet per message, no lock --------------------- */

static int single_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int fd = timeout_ns == IPCQ_FOREVER && p->bfd >= 0 ? p->bfd : p->wfd;
	int64_t deadline = 0;
	int ret;

	if (!len) {
		msg = __ipcq_pipe_zeros;
		len = q->msg_max + 1;
	}
	/* On bfd a full pipe makes write() itself wait: no EAGAIN, no poll. */
	while (write(fd, msg, len) < 0) {
		ret = __ipcq_retry_fd(p->wfd, POLLOUT, errno, timeout_ns, &deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#define BOUNCE_MAX 2048 /* below this msg_max, read + memcpy beats readv (measured) */

static ssize_t single_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	unsigned char bounce[BOUNCE_MAX + 1];
	struct iovec iov[2] = {{buf, cap}, {bounce, 1}};
	/* On bfd an empty pipe makes read() itself wait: one call, as a bare loop. */
	int fd = timeout_ns == IPCQ_FOREVER && p->bfd >= 0 ? p->bfd : p->rfd;
	int64_t deadline = 0;
	ssize_t n;
	int ret;

	for (;;) {
		/* With cap == msg_max, one byte more tells msg_max + 1 (empty) apart. */
		if (cap > q->msg_max)
			n = read(fd, buf, cap);
		else if (q->msg_max < BOUNCE_MAX)
			n = read(fd, bounce, q->msg_max + 1);
		else
			n = readv(fd, iov, 2);
		if (n > 0) {
			if ((size_t)n == q->msg_max + 1)
				return 0;
			if (cap <= q->msg_max && q->msg_max < BOUNCE_MAX)
				memcpy(buf, bounce, (size_t)n);
			return n;
		}
		if (n == 0)
			return -EIO; /* no writer: cannot happen, we hold one */
		ret = __ipcq_retry_fd(p->rfd, POLLIN, errno, timeout_ns, &deadline);
		if (ret < 0)
			return ret;
	}
}

/* --- ops ---------------------------------------------------------------- */

/*
 * put/get: 0 or the message length, -EAGAIN (NOWAIT, or a framed lock busy for
 * 5 ms), -ETIMEDOUT, -ENOTRECOVERABLE (a lock left inconsistent), or the
 * kernel's error from write/read/poll.
 */
static int pipe_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	if (pq(q)->framed)
		return __ipcq_pipe_framed_put(q, msg, len, timeout_ns);
	return single_put(q, msg, len, timeout_ns);
}

static ssize_t pipe_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	if (pq(q)->framed)
		return __ipcq_pipe_framed_get(q, buf, cap, timeout_ns);
	return single_get(q, buf, cap, timeout_ns);
}

static ssize_t pipe_qsize(struct ipcq *q)
{
	(void)q;
	return -ENOTSUP;
}

static bool pipe_empty(struct ipcq *q)
{
	return !poll_now(pq(q)->rfd, POLLIN);
}

static bool pipe_full(struct ipcq *q)
{
	struct pipe_q *p = pq(q);

	if (!p->framed)
		return !poll_now(p->wfd, POLLOUT);
	return __ipcq_pipe_room(p) < (ssize_t)p->n_max;
}

static int pipe_close(struct ipcq *q)
{
	struct pipe_q *p = pq(q);

	if (p->sh)
		munmap(p->sh, sizeof(*p->sh));
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	if (p->bfd >= 0)
		close(p->bfd);
	if (p->wfd != p->rfd)
		close(p->wfd);
	close(p->rfd);
	return 0;
}

/* Undoes a create that failed half way; a meta mapping that failed is none. */
static void pipe_drop(struct ipcq *q)
{
	struct pipe_q *p = pq(q);

	if (p->sh == MAP_FAILED)
		p->sh = NULL;
	pipe_close(q);
	p->sh = NULL;
	p->rfd = p->wfd = -1;
	p->lock_fd = p->bfd = -1;
}

/* --- setup -------------------------------------------------------------- */

static int init_shared(struct pipe_shared *sh, const struct ipcq *q, const struct pipe_q *p,
		       size_t pipe_bytes)
{
	int ret;

	sh->magic = META_MAGIC;
	sh->version = META_VERSION;
	sh->msg_max = q->msg_max;
	sh->pipe_bytes = pipe_bytes;
	sh->capacity = q->capacity;
	sh->framed = p->framed;
	ret = __ipcq_plock_init(&sh->wlock);
	if (!ret)
		ret = __ipcq_plock_init(&sh->rlock);
	return ret;
}

static void set_format(struct ipcq *q, struct pipe_q *p)
{
	p->page = (size_t)sysconf(_SC_PAGESIZE);
	p->framed = q->msg_max >= PKT;
	p->n_max = p->framed ? npackets(q->msg_max) : 1;
}

/*
 * A second, blocking descriptor of the same pipe, so that an IPCQ_FOREVER
 * put or get waits inside write()/read() itself: one system call, as in a
 * bare loop, instead of EAGAIN, poll() and a retry.  O_NONBLOCK belongs to
 * the open file description, which dup() and fork() share, so this must be a
 * new one: opened again through /proc (O_RDWR: one serves both ends, and
 * never blocks in open on a FIFO), O_DIRECT again because the writer's
 * description decides packets.  It lives and dies with rfd (closed in
 * pipe_close, inherited through fork like rfd), so the pipe lives no longer.
 * Where /proc is missing, bfd stays -1 and FOREVER polls.
 */
static void open_blocking(struct pipe_q *p)
{
	char path[32];
	int fd;

	if (p->framed)
		return; /* framed readers must not sleep holding rlock */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->rfd);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	if (fcntl(fd, F_SETFL, O_DIRECT) < 0) {
		close(fd);
		return;
	}
	p->bfd = fd;
}

static int anon_create(struct ipcq *q, size_t capacity)
{
	struct pipe_q *p = pq(q);
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC | O_DIRECT | O_NONBLOCK) < 0)
		return -errno;
	p->rfd = fds[0];
	p->wfd = fds[1];
	ret = __ipcq_pipe_size(q, p, capacity);
	if (!ret && p->framed) {
		p->sh = mmap(NULL, sizeof(*p->sh), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p->sh == MAP_FAILED) {
			p->sh = NULL;
			ret = -errno;
		} else {
			ret = init_shared(p->sh, q, p, p->slots * (size_t)sysconf(_SC_PAGESIZE));
		}
	}
	if (ret)
		pipe_close(q);
	return ret;
}

/* Opens the FIFO of directory @dfd non-blocking (a reader always exists) in packet mode. */
static int open_fifo(int dfd, struct pipe_q *p)
{
	int fd = openat(dfd, "fifo", O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISFIFO(st.st_mode))
		ret = -EINVAL;
	if (!ret)
		ret = __ipcq_fd_ours(fd);
	if (!ret && fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK | O_DIRECT) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	p->rfd = p->wfd = fd;
	return 0;
}

/*
 * Maps the "meta" file of the queue directory @dfd; its descriptor in *lock_fd,
 * read-locked: the handle's reference that ipcq_clean_named() looks for (like
 * the FIFO, it goes with close, exec and death; fork shares it).  An opener
 * waits for a remover's write lock, then finds the file unlinked: -ENOENT.
 */
static int map_meta(int dfd, int flags, struct pipe_shared **out, int *lock_fd)
{
	int fd = openat(dfd, "meta", flags | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret = 0;

	if (fd < 0)
		return -errno;
	/* fchmod: exactly 0600 whatever the umask */
	if ((flags & O_CREAT) && (fchmod(fd, 0600) < 0 || ftruncate(fd, sizeof(**out)) < 0))
		ret = -errno;
	/* Another user's file is no queue of ours, whatever its mode lets us do. */
	if (!ret && !(flags & O_CREAT))
		ret = __ipcq_fd_ours(fd);
	if (!ret) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			ret = -errno;
		else if ((size_t)st.st_size < sizeof(**out))
			ret = -EINVAL;
	}
	if (!ret)
		ret = __ipcq_ofd_lock(fd, F_RDLCK, true);
	if (!ret) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			ret = -errno;
		else if (st.st_nlink == 0)
			ret = -ENOENT; /* removed while we waited */
	}
	if (!ret) {
		*out = mmap(NULL, sizeof(**out), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*out == MAP_FAILED)
			ret = -errno;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	*lock_fd = fd;
	return 0;
}

/* Named queues: a directory with the FIFO, "meta" and "creator" (registry.c). */
static const char *const pipe_leaves[] = {"fifo", "meta", "creator", NULL};
static const struct ipcq_reg_dir pipe_reg = {
	.backend = "pipe",
	.sub = "pipe",
	.kind = "named pipe queue",
	.leaves = pipe_leaves,
	.ref = "meta",
};

struct pipe_build {
	struct ipcq *q;
	size_t capacity;
};

/* Fills the new queue's directory @dfd: the FIFO, sized, and its meta file. */
static int named_build(int dfd, void *arg)
{
	struct pipe_build *b = arg;
	struct ipcq *q = b->q;
	struct pipe_q *p = pq(q);
	int ret = 0;

	/* Exactly 0600 whatever the umask (0277 would leave 0400). */
	if (mkfifoat(dfd, "fifo", 0600) < 0)
		return -errno;
	ret = open_fifo(dfd, p);
	if (ret < 0)
		return ret;
	if (fchmod(p->rfd, 0600) < 0)
		ret = -errno;
	if (!ret)
		ret = __ipcq_pipe_size(q, p, b->capacity);
	if (!ret)
		ret = map_meta(dfd, O_CREAT | O_EXCL, &p->sh, &p->lock_fd);
	if (!ret)
		ret = init_shared(p->sh, q, p, p->slots * (size_t)sysconf(_SC_PAGESIZE));
	if (ret < 0)
		pipe_drop(q);
	return ret;
}

/* Builds the queue in a temporary directory, then renames it into place. */
static int named_create(struct ipcq *q, const char *name, size_t capacity)
{
	struct pipe_build b = {.q = q, .capacity = capacity};
	int ret;

	pq(q)->rfd = -1;
	ret = __ipcq_reg_dir_create(&pipe_reg, name, named_build, &b);
	if (ret < 0 && pq(q)->rfd >= 0)
		pipe_drop(q); /* built, then the record or the rename failed */
	return ret;
}

/*
 * Returns 0, -EEXIST (named, exists), -EMSGSIZE (no pipe holds one message),
 * -EINVAL (capacity beyond any pipe), -EPERM (fs.pipe-max-size, or over
 * fs.pipe-user-pages-*: see __ipcq_pipe_explain()), -EMFILE, -ENOMEM ...
 */
static int pipe_create(struct ipcq *q, const struct ipcq_opts *opts)
{
	struct pipe_q *p = pq(q);
	int ret;

	p->bfd = -1;
	p->lock_fd = -1;
	set_format(q, p);
	if (q->msg_max > UINT32_MAX)
		return -EMSGSIZE;
	if (opts->name)
		ret = named_create(q, opts->name, opts->capacity);
	else
		ret = anon_create(q, opts->capacity);
	if (!ret)
		open_blocking(p);
	return ret;
}

/*
 * Returns 0, -ENOENT, -EINVAL (not a queue of this version), -EACCES (its
 * directory, FIFO or meta file is another user's or open to others), or the
 * kernel's error.
 */
static int pipe_open(struct ipcq *q, const char *name)
{
	struct pipe_q *p = pq(q);
	struct pipe_shared *sh = NULL;
	int dfd, ret, r;

	p->bfd = -1;
	p->lock_fd = -1;
	/* The directory, the FIFO and the meta file must all be ours alone. */
	dfd = __ipcq_reg_dir_open(&pipe_reg, name);
	if (dfd < 0)
		return dfd;
	ret = map_meta(dfd, 0, &sh, &p->lock_fd);
	if (!ret && (sh->magic != META_MAGIC || sh->version != META_VERSION))
		ret = -EINVAL;
	if (!ret) {
		q->msg_max = sh->msg_max;
		q->capacity = sh->capacity;
		set_format(q, p);
		p->sh = sh;
		ret = open_fifo(dfd, p);
	}
	/* A FIFO nobody holds open is a fresh pipe of the default size. */
	if (!ret) {
		r = fcntl(p->wfd, F_GETPIPE_SZ);
		if (r >= 0 && (uint64_t)r < sh->pipe_bytes)
			r = fcntl(p->wfd, F_SETPIPE_SZ, (int)sh->pipe_bytes);
		if (r < 0) {
			ret = -errno;
			close(p->rfd);
		}
		p->slots = sh->pipe_bytes / (size_t)sysconf(_SC_PAGESIZE);
	}
	if (ret && sh && sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	if (ret && p->lock_fd >= 0) {
		close(p->lock_fd);
		p->lock_fd = -1;
	}
	close(dfd);
	if (!ret)
		open_blocking(p);
	return ret;
}

/*
 * Renames the directory away first, so that openers see all of it or nothing.
 * Returns 0, -ENOENT, or the kernel's error.
 */
static int pipe_unlink(const char *name)
{
	return __ipcq_reg_dir_unlink(&pipe_reg, name);
}

/* --- ipcq_ext.h: clean (limits and explain: pipe_size.c) ------------------ */

/*
 * Anonymous queues leave nothing behind.  Only a process killed inside
 * create or unlink leaves a ".tmp-"/".del-" directory; remove those whose
 * process is gone.
 */
static ssize_t pipe_clean(ipcq_clean_fn fn, void *ctx)
{
	return __ipcq_reg_dir_clean(&pipe_reg, fn, ctx);
}

/* Named queues of dead creators that nobody holds (ipcq_clean_named()). */
static ssize_t pipe_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	return __ipcq_reg_dir_clean_named(&pipe_reg, remove, fn, ctx);
}

/* ipcq_fd(): the pipe's own ends, readable or writable as the kernel says. */
static int pipe_fd(struct ipcq *q, short events)
{
	return events == POLLIN ? pq(q)->rfd : pq(q)->wfd;
}

const struct ipcq_ops __ipcq_pipe_ops = {
	.name = "pipe",
	.priv_size = sizeof(struct pipe_q),
	.create = pipe_create,
	.open = pipe_open,
	.put = pipe_put,
	.get = pipe_get,
	.qsize = pipe_qsize,
	.empty = pipe_empty,
	.full = pipe_full,
	.fd = pipe_fd,
	.close = pipe_close,
	.unlink = pipe_unlink,
	.limits = __ipcq_pipe_limits,
	.explain = __ipcq_pipe_explain,
	.clean = pipe_clean,
	.clean_named = pipe_clean_named,
};
