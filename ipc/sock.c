/* SPDX-License-Identifier: MIT */
/*
 * What the socket backends (unix.c, tcp.c) share: handles, the shared
 * header, named queues (a directory of registry.c with a keeper, see
 * sock_keeper.c), buffer sizes and the net.core limits.  sock_pvt.h says
 * how a queue is laid out.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sock_pvt.h"

#define MEM_MAX_DEFAULT 212992 /* the kernel's default net.core.[rw]mem_max */

long long __ipcq_sock_mem_max(bool rmem)
{
	long long v = __ipcq_read_sysctl(rmem ? "/proc/sys/net/core/rmem_max"
					      : "/proc/sys/net/core/wmem_max");

	return v > 0 ? v : MEM_MAX_DEFAULT;
}

ssize_t __ipcq_sock_set_buf(int fd, int opt, size_t bytes)
{
	int v = bytes / 2 > INT32_MAX ? INT32_MAX : (int)((bytes + 1) / 2);
	socklen_t l = sizeof(v);

	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0)
		return -errno;
	return v;
}

static int init_shared(struct sock_shared *sh, const struct ipcq *q)
{
	int ret;

	sh->magic = SOCK_MAGIC;
	sh->version = SOCK_VERSION;
	sh->msg_max = q->msg_max;
	ret = __ipcq_plock_init(&sh->wlock);
	return ret ? ret : __ipcq_plock_init(&sh->rlock);
}

/* The shared mapping of a queue of @t with @msg_max: the header, then part[]. */
static size_t shared_len(const struct sock_type *t, size_t msg_max)
{
	return sizeof(struct sock_shared) + (t->part_hdr ? t->part_hdr + msg_max : 0);
}

/*
 * Maps "meta" of the queue directory @dfd, all of it, into *@out and
 * *@len: created @create bytes long, or as it is when @create is 0 (then
 * at most shared_len() of the largest msg_max).  Its descriptor is
 * read-locked in *@lock_fd: the handle's reference that ipcq_clean_named()
 * looks for.  An opener waits for a remover's write lock, then finds the
 * file unlinked: -ENOENT.
 */
static int meta_map(int dfd, const struct sock_type *t, size_t create, struct sock_shared **out,
		    size_t *len, int *lock_fd)
{
	int flags = create ? O_CREAT | O_EXCL : 0;
	int fd = openat(dfd, "meta", flags | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t most = create ? create : shared_len(t, INT32_MAX / 4);
	struct stat st;
	int ret = 0;

	if (fd < 0)
		return -errno;
	/* fchmod: exactly 0600 whatever the umask */
	if (create && (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)create) < 0))
		ret = -errno;
	if (!ret && !create)
		ret = __ipcq_fd_ours(fd);
	if (!ret)
		ret = __ipcq_ofd_lock(fd, F_RDLCK, true);
	/* Once locked: a remover unlinks it before it lets go. */
	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	if (!ret && st.st_nlink == 0)
		ret = -ENOENT;
	if (!ret && (st.st_size < (off_t)sizeof(**out) || (size_t)st.st_size > most))
		ret = -EINVAL;
	if (!ret) {
		*len = (size_t)st.st_size;
		*out = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*out == MAP_FAILED) {
			*out = NULL;
			ret = -errno;
		}
	}
	if (ret) {
		close(fd);
		return ret;
	}
	*lock_fd = fd;
	return 0;
}

static void drop(struct sock_q *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->sh)
		munmap(s->sh, s->sh_len);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->rfd = s->wfd = s->lock_fd = -1;
	s->sh = NULL;
}

int __ipcq_sock_close(struct ipcq *q)
{
	drop(sq(q));
	return 0;
}

struct sock_build {
	struct ipcq *q;
	const struct sock_type *t;
	size_t capacity;
};

/* Fills the new queue's directory @dfd: "meta", the pair, and its keeper on "sock". */
static int named_build(int dfd, void *arg)
{
	struct sock_build *b = arg;
	struct sock_q *s = sq(b->q);
	int fds[2] = {-1, -1};
	int ret;

	ret = meta_map(dfd, b->t, shared_len(b->t, b->q->msg_max), &s->sh, &s->sh_len, &s->lock_fd);
	if (!ret)
		ret = init_shared(s->sh, b->q);
	if (!ret)
		ret = b->t->make(b->q, s->sh, b->capacity, fds);
	s->rfd = fds[0];
	s->wfd = fds[1];
	if (!ret)
		ret = __ipcq_keeper_start(dfd, fds);
	if (ret)
		drop(s);
	return ret;
}

/*
 * Returns 0, -EEXIST, -EMSGSIZE (msg_max beyond any socket buffer), -ENOBUFS
 * (beyond net.core.wmem_max or rmem_max: ipcq_explain() says which), -EINVAL
 * (a capacity no buffer can hold), or the kernel's error.
 */
int __ipcq_sock_create(struct ipcq *q, const struct ipcq_opts *opts, const struct sock_type *t)
{
	struct sock_q *s = sq(q);
	struct sock_build b = {.q = q, .t = t, .capacity = opts->capacity};
	int fds[2] = {-1, -1};
	int ret;

	s->rfd = s->wfd = s->lock_fd = -1;
	s->sh = NULL;
	if (q->msg_max > INT32_MAX / 4)
		return -EMSGSIZE; /* no socket buffer (an int) ever holds one */
	if (opts->name) {
		ret = __ipcq_reg_dir_create(t->reg, opts->name, named_build, &b);
		if (ret < 0)
			drop(s); /* built, then the record or the rename failed */
	} else {
		s->sh_len = shared_len(t, q->msg_max);
		s->sh = mmap(NULL, s->sh_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
		if (s->sh == MAP_FAILED) {
			s->sh = NULL;
			return -errno;
		}
		ret = init_shared(s->sh, q);
		if (!ret)
			ret = t->make(q, s->sh, opts->capacity, fds);
		s->rfd = fds[0];
		s->wfd = fds[1];
		if (ret)
			drop(s);
	}
	if (!ret)
		q->capacity = s->sh->capacity;
	return ret;
}

/*
 * Returns 0, -ENOENT, -EINVAL (not a queue of this version), -EACCES (its
 * directory, meta file, socket or keeper is another user's or open to
 * others), or the kernel's error.
 */
int __ipcq_sock_open(struct ipcq *q, const char *name, const struct sock_type *t)
{
	struct sock_q *s = sq(q);
	uint64_t msg_max = 0;
	int dfd, fds[2], ret;

	s->rfd = s->wfd = s->lock_fd = -1;
	s->sh = NULL;
	dfd = __ipcq_reg_dir_open(t->reg, name);
	if (dfd < 0)
		return dfd;
	ret = meta_map(dfd, t, 0, &s->sh, &s->sh_len, &s->lock_fd);
	if (!ret)
		msg_max = s->sh->msg_max; /* read once: the file is anyone's of ours to write */
	if (!ret && (s->sh->magic != SOCK_MAGIC || s->sh->version != SOCK_VERSION ||
		     msg_max > INT32_MAX / 4 || shared_len(t, msg_max) > s->sh_len))
		ret = -EINVAL;
	if (!ret)
		ret = __ipcq_keeper_fetch(dfd, t->domain, t->type, fds);
	close(dfd);
	if (ret) {
		drop(s);
		return ret;
	}
	s->rfd = fds[0];
	s->wfd = fds[1];
	q->msg_max = msg_max;
	q->capacity = s->sh->capacity;
	return 0;
}

/* Stops the keeper, then renames the directory away and removes it: 0, -ENOENT, -errno. */
int __ipcq_sock_unlink(const struct sock_type *t, const char *name)
{
	/* Not ours alone: nothing to tell its keeper (it would refuse us anyway). */
	int dfd = __ipcq_reg_dir_open(t->reg, name);

	if (dfd >= 0) {
		__ipcq_keeper_stop(dfd);
		close(dfd);
	}
	return __ipcq_reg_dir_unlink(t->reg, name);
}

bool __ipcq_sock_empty(struct ipcq *q)
{
	struct pollfd p = {.fd = sq(q)->rfd, .events = POLLIN};

	return !(poll(&p, 1, 0) > 0 && (p.revents & POLLIN));
}

int __ipcq_sock_fd(struct ipcq *q, short events)
{
	const struct sock_q *s = (const struct sock_q *)q->priv;

	return events == POLLIN ? s->rfd : -ENOTSUP;
}

/* --- ipcq_ext.h --------------------------------------------------------- */

ssize_t __ipcq_sock_limits(const struct sock_type *t, struct ipcq_limit *out, size_t n)
{
	size_t k = 0;

	for (; t->limits[k]; k++) {
		bool rmem = strstr(t->limits[k], "rmem") != NULL;
		char raise[64];

		if (k >= n)
			continue;
		snprintf(raise, sizeof(raise), "sysctl -w %s=N", t->limits[k]);
		__ipcq_limit_set(&out[k], t->limits[k], __ipcq_sock_mem_max(rmem), "bytes",
				 rmem ? "largest SO_RCVBUF (doubled): bounds capacity, msg_max"
				      : "largest SO_SNDBUF (doubled): bounds capacity, msg_max",
				 raise);
	}
	return (ssize_t)k;
}

/*
 * -ENOBUFS is what make() says when the buffers the queue needs pass a
 * limit; the estimate of the bytes needed is the one make() starts from.
 */
int __ipcq_sock_explain(const struct sock_type *t, const struct ipcq_opts *opts, int err, char *buf,
			size_t len)
{
	size_t per = opts->msg_max + 1024, n = opts->capacity ? opts->capacity : 1;
	unsigned long long want = (unsigned long long)per * n;
	int r;

	if (err != -ENOBUFS && err != ENOBUFS)
		return 0;
	r = snprintf(buf, len,
		     "%s is %lld bytes%s; %zu messages of %zu bytes need about %llu bytes of "
		     "socket buffer: sysctl -w %s=%llu",
		     t->limits[0], __ipcq_sock_mem_max(false),
		     t->limits[1] ? " (and net.core.rmem_max bounds the receive end)" : "", n,
		     opts->msg_max, want, t->limits[0], want);
	if (r < 0)
		return 0;
	return (size_t)r >= len ? (int)len - 1 : r;
}
