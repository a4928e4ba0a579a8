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
 *   struct frame followed by up to CHUNK bytes of the message (the last one
 *   padded).  Writers serialize on a robust process-shared mutex and start a
 *   message only when the pipe has room for all its packets (FIONREAD / PIPE_BUF
 *   is the exact slot count, because every packet is full), so a put never
 *   stops half way; one writev carries up to 64 packets, which the kernel cuts
 *   at page boundaries.  Readers serialize on a second mutex (one read per
 *   packet: a packet-mode read never returns more than one).  A writer killed mid-
 *   message leaves packets that readers recognise by seq/idx and discard.
 *
 * Capacity: one pipe slot (page) per packet, so the pipe gets capacity x
 * packets-per-msg_max pages, which the kernel rounds up to a power of two;
 * capacity() is what that size really holds.  capacity 0 asks for
 * fs.pipe-max-size (1 MiB: 256 slots), halving while the kernel says EPERM
 * (a user over fs.pipe-user-pages-soft), because "as many as the backend
 * allows" is what 0 means and pages are only allocated while they hold data.
 *
 * Approximations: qsize() is -ENOTSUP (a pipe counts bytes, not messages);
 * a framed writer waiting for several free slots while at least one is free
 * is woken by readers through a shared futex (the kernel wakes pollers only
 * when a full pipe gets a slot back), in slices of 10 ms in case a reader
 * dies first; a reader that has begun a framed message waits for its end past
 * its timeout while a live writer still holds the write lock; a named FIFO
 * keeps its messages only while some process holds it open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "registry_pvt.h"

#define PKT	       PIPE_BUF /* the largest write the kernel keeps whole */
#define FRAME_MAGIC    0x71637069u
#define META_MAGIC     0x6d637069u
#define META_VERSION   1
#define MID_SLICE_MS   10      /* a reader mid-message re-checks its writer this often */
#define NOWAIT_LOCK_NS 5000000 /* locks are held only while copying: wait this long */

struct frame {
	uint32_t magic;
	uint32_t seq; /* message number, per queue */
	uint32_t idx; /* packet number within the message */
	uint32_t len; /* message length */
};

#define CHUNK (PKT - sizeof(struct frame))

/* MAP_SHARED: anonymous for anonymous queues, the "meta" file for named ones. */
struct pipe_shared {
	uint32_t magic;
	uint32_t version;
	uint64_t msg_max;
	uint64_t pipe_bytes; /* F_SETPIPE_SZ to re-apply when a FIFO is reopened */
	uint64_t capacity;
	uint32_t framed;
	uint32_t seq;		       /* under wlock */
	_Atomic uint32_t room_seq;     /* bumped by readers when writers wait for room */
	_Atomic uint32_t room_waiters; /* writers waiting for several free slots */
	pthread_mutex_t wlock;
	pthread_mutex_t rlock;
};

struct pipe_q {
	int rfd, wfd; /* the same descriptor for a FIFO */
	int bfd;      /* blocking, for IPCQ_FOREVER: see open_blocking(); -1: none */
	bool framed;
	size_t slots;		/* pipe size in packets */
	size_t n_max;		/* packets a msg_max message takes */
	size_t page;		/* the size of one pipe slot */
	struct pipe_shared *sh; /* NULL for anonymous single-format queues */
	int lock_fd;		/* named: the meta file, OFD read-locked (a handle); else -1 */
};

static const unsigned char zeros[PKT];

static struct pipe_q *pq(struct ipcq *q)
{
	return (struct pipe_q *)q->priv;
}

static size_t npackets(size_t len)
{
	return len ? (len + CHUNK - 1) / CHUNK : 1;
}

/* --- waiting ------------------------------------------------------------ */

static int timeout_err(int64_t deadline)
{
	return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
}

static bool poll_now(int fd, short ev)
{
	struct pollfd pfd = {.fd = fd, .events = ev};

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & ev);
}

/* Robust lock: a holder killed by SIGKILL hands the lock on (EOWNERDEAD). */
static int lock(pthread_mutex_t *m, int64_t deadline)
{
	struct timespec ts;
	int ret;

	if (deadline < 0) {
		ret = pthread_mutex_lock(m);
	} else {
		ret = pthread_mutex_trylock(m);
		if (ret == EBUSY) {
			/* Holders never sleep inside: NOWAIT waits a little too. */
			int64_t d = deadline ? deadline : __ipcq_now_ns() + NOWAIT_LOCK_NS;
			ts.tv_sec = d / 1000000000;
			ts.tv_nsec = d % 1000000000;
			ret = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
		}
	}
	if (ret == EOWNERDEAD) {
		/* Torn packets the dead holder left are recognised by readers. */
		pthread_mutex_consistent(m);
		ret = 0;
	}
	if (ret == ETIMEDOUT)
		return timeout_err(deadline);
	return -ret;
}

/* Free slots, exact in the framed format where every packet is PKT bytes. */
static ssize_t room(struct pipe_q *p)
{
	int bytes;

	if (ioctl(p->rfd, FIONREAD, &bytes) < 0)
		return -errno;
	size_t used = ((size_t)bytes + PKT - 1) / PKT;
	return used >= p->slots ? 0 : (ssize_t)(p->slots - used);
}

/* --- single format: one packet per message, no lock --------------------- */

static int single_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int fd = timeout_ns == IPCQ_FOREVER && p->bfd >= 0 ? p->bfd : p->wfd;
	int64_t deadline = 0;
	int ret;

	if (!len) {
		msg = zeros;
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

/* --- framed format: locked, every packet PKT bytes ---------------------- */

#define BATCH 64 /* packets per writev: 192 iovecs, 1 KiB of headers */

/*
 * Writes the @n packets of one message; the caller holds wlock and saw room.
 * The packets go BATCH at a time in one writev: the kernel cuts a write into
 * page-sized packets, and with room for all of them it writes them all at once.
 */
static int write_frames(struct pipe_q *p, const unsigned char *msg, size_t len, size_t n)
{
	struct frame h[BATCH];
	struct iovec iov[3 * BATCH];
	uint32_t seq = p->sh->seq++;
	size_t i = 0;

	while (i < n) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		ssize_t w;

		if (p->page != PKT)
			k = 1; /* one packet per page only when a page is PIPE_BUF */
		for (size_t j = 0; j < k; j++) {
			size_t off = (i + j) * CHUNK, c = len - off < CHUNK ? len - off : CHUNK;

			h[j] = (struct frame){FRAME_MAGIC, seq, (uint32_t)(i + j), (uint32_t)len};
			iov[3 * j] = (struct iovec){&h[j], sizeof(h[j])};
			iov[3 * j + 1] = (struct iovec){(void *)(msg + off), c};
			iov[3 * j + 2] = (struct iovec){(void *)zeros, CHUNK - c};
		}
		w = writev(p->wfd, iov, (int)(3 * k));
		if (w >= 0 && w % PKT == 0)
			i += (size_t)w / PKT; /* whole packets: go on after the last */
		else if (w >= 0)
			return -EIO; /* cut inside a packet: readers discard it as torn */
		else if (errno == EAGAIN && i == 0)
			return -EAGAIN;	  /* a one-packet message found the pipe full */
		else if (errno == EAGAIN) /* room was checked: only a foreign writer */
			__ipcq_wait_fd(p->wfd, POLLOUT, -1);
		else if (errno != EINTR)
			return -errno; /* torn: readers discard the packets already sent */
	}
	return 0;
}

/*
 * Waits until @n slots are free.  The kernel wakes pollers only when a full
 * pipe gets a slot back, so readers wake us through a shared futex; slices
 * cover a reader killed before it could.
 */
static int wait_room(struct pipe_q *p, size_t n, int64_t deadline)
{
	struct pipe_shared *sh = p->sh;
	int64_t left = __ipcq_left_ns(deadline);
	int64_t ns = left >= 0 && left < MID_SLICE_MS * 1000000 ? left : MID_SLICE_MS * 1000000;
	uint32_t seq;
	ssize_t free_slots;

	atomic_fetch_add(&sh->room_waiters, 1);
	seq = atomic_load(&sh->room_seq);
	free_slots = room(p); /* after announcing ourselves: no wake-up is lost */
	if (free_slots >= 0 && free_slots < (ssize_t)n)
		__ipcq_futex_wait(&sh->room_seq, seq, ns);
	atomic_fetch_sub(&sh->room_waiters, 1);
	return free_slots < 0 ? (int)free_slots : 0;
}

static void wake_room(struct pipe_q *p)
{
	if (atomic_load(&p->sh->room_waiters)) {
		atomic_fetch_add(&p->sh->room_seq, 1);
		__ipcq_futex_wake_all(&p->sh->room_seq);
	}
}

static int framed_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int64_t deadline = __ipcq_deadline(timeout_ns);
	size_t n = npackets(len);
	ssize_t free_slots;
	int ret;

	for (;;) {
		ret = lock(&p->sh->wlock, deadline);
		if (ret < 0)
			return ret;
		/* One packet: a non-blocking write is all or nothing by itself. */
		free_slots = n == 1 ? 1 : room(p);
		if (free_slots >= (ssize_t)n) {
			ret = write_frames(p, msg, len, n);
			pthread_mutex_unlock(&p->sh->wlock);
			if (ret != -EAGAIN)
				return ret;
			free_slots = 0; /* one packet and the pipe was full */
		} else {
			pthread_mutex_unlock(&p->sh->wlock);
		}
		if (free_slots < 0)
			return (int)free_slots;
		if (__ipcq_left_ns(deadline) == 0)
			return timeout_err(deadline);
		if (free_slots == 0) {
			ret = __ipcq_wait_fd(p->wfd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
		} else {
			ret = wait_room(p, n, deadline);
			if (ret < 0)
				return ret;
		}
	}
}

/*
 * A reader mid-message found no next packet.  True when it never will come:
 * no writer holds the lock and nothing is in the pipe.
 */
static bool writer_gone(struct pipe_q *p)
{
	int r = pthread_mutex_trylock(&p->sh->wlock);

	if (r == EBUSY)
		return false;
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&p->sh->wlock);
	if (r == 0 || r == EOWNERDEAD)
		pthread_mutex_unlock(&p->sh->wlock);
	return !poll_now(p->rfd, POLLIN);
}

/* Reads messages until one is whole; the caller holds rlock. */
static ssize_t read_frames(struct ipcq *q, unsigned char *buf, size_t cap, int64_t deadline)
{
	struct pipe_q *p = pq(q);
	unsigned char bounce[CHUNK];
	size_t want = 0, n = 0, len = 0;
	uint32_t seq = 0;
	struct frame h;

	for (;;) {
		size_t off = want * CHUNK;
		/* A chunk that would pass cap lands in bounce, so nothing is lost. */
		unsigned char *dst = cap - off >= CHUNK ? buf + off : bounce;
		struct iovec iov[2] = {{&h, sizeof(h)}, {dst, CHUNK}};
		ssize_t r = readv(p->rfd, iov, 2);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (want == 0)
				return timeout_err(deadline); /* caller waits unlocked */
			if (writer_gone(p))
				want = 0; /* torn: its writer died */
			else
				__ipcq_wait_fd(p->rfd, POLLIN,
					       __ipcq_now_ns() + MID_SLICE_MS * 1000000);
			continue;
		}
		if ((size_t)r != PKT || h.magic != FRAME_MAGIC || h.len > q->msg_max) {
			want = 0; /* not ours: skip it */
			continue;
		}
		if (h.idx == 0) {
			/* A new message; one we were assembling was torn. */
			if (dst != buf)
				memcpy(buf, dst, CHUNK);
			seq = h.seq;
			len = h.len;
			n = npackets(len);
			want = 1;
		} else if (want && h.idx == want && h.seq == seq && h.len == len) {
			if (dst == bounce)
				memcpy(buf + off, bounce, len - off);
			want++;
		} else {
			want = 0; /* rest of a message whose reader died */
			continue;
		}
		if (want == n)
			return (ssize_t)len;
	}
}

static ssize_t framed_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct pipe_q *p = pq(q);
	int64_t deadline = __ipcq_deadline(timeout_ns);
	ssize_t ret;

	for (;;) {
		ret = lock(&p->sh->rlock, deadline);
		if (ret < 0)
			return ret;
		ret = read_frames(q, buf, cap, deadline);
		pthread_mutex_unlock(&p->sh->rlock);
		wake_room(p);
		if (ret != -EAGAIN && ret != -ETIMEDOUT)
			return ret;
		/* Empty: wait without the lock, so other readers are not held up. */
		ret = __ipcq_wait_fd(p->rfd, POLLIN, deadline);
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
		return framed_put(q, msg, len, timeout_ns);
	return single_put(q, msg, len, timeout_ns);
}

static ssize_t pipe_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	if (pq(q)->framed)
		return framed_get(q, buf, cap, timeout_ns);
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
	return room(p) < (ssize_t)p->n_max;
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

/* --- setup -------------------------------------------------------------- */

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

/*
 * Sizes the pipe and fills p->slots.  capacity 0: the largest the kernel
 * allows (pipe-max-size, less if the user is over pipe-user-pages-soft), but
 * at least one msg_max message.
 */
static int size_pipe(struct ipcq *q, struct pipe_q *p, size_t capacity)
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

static int init_shared(struct pipe_shared *sh, const struct ipcq *q, const struct pipe_q *p,
		       size_t pipe_bytes)
{
	pthread_mutexattr_t a;
	int ret;

	sh->magic = META_MAGIC;
	sh->version = META_VERSION;
	sh->msg_max = q->msg_max;
	sh->pipe_bytes = pipe_bytes;
	sh->capacity = q->capacity;
	sh->framed = p->framed;
	ret = -pthread_mutexattr_init(&a);
	if (ret)
		return ret;
	ret = -pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!ret)
		ret = -pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!ret)
		ret = -pthread_mutex_init(&sh->wlock, &a);
	if (!ret)
		ret = -pthread_mutex_init(&sh->rlock, &a);
	pthread_mutexattr_destroy(&a);
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
	ret = size_pipe(q, p, capacity);
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

/* "<private dir>/pipe"; temporary names there: __ipcq_reg_tmp_name(). */
static int base_dir(char *buf, size_t len)
{
	return __ipcq_private_dir(buf, len, "pipe");
}

/* The "<private dir>/pipe" directory, open (O_NOFOLLOW: base_dir() checked it); or -errno. */
static int open_base(void)
{
	char path[PATH_MAX];
	int ret = base_dir(path, sizeof(path)), fd;

	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

static void remove_queue_dir(int base, const char *dir)
{
	int dfd = openat(base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dfd >= 0) {
		unlinkat(dfd, "fifo", 0);
		unlinkat(dfd, "meta", 0);
		unlinkat(dfd, "creator", 0);
		close(dfd);
	}
	unlinkat(base, dir, AT_REMOVEDIR);
}

/* The "creator" file of a new queue's directory @dfd: for ipcq_clean_named(). */
static int creator_write(int dfd)
{
	int fd = openat(dfd, "creator", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fchmod(fd, 0600) < 0 ? -errno : __ipcq_creator_write(fd, 0);
	close(fd);
	return ret;
}

/* Builds the queue in a temporary directory, then renames it into place. */
static int named_create(struct ipcq *q, const char *name, size_t capacity)
{
	struct pipe_q *p = pq(q);
	int base, dfd = -1, ret;
	char tmp[96];

	base = open_base();
	if (base < 0)
		return base;
	if (faccessat(base, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(base);
		return -EEXIST;
	}
	ret = __ipcq_reg_tmp_name(tmp, sizeof(tmp), "tmp");
	if (!ret && mkdirat(base, tmp, 0700) < 0)
		ret = -errno;
	if (ret < 0) {
		close(base);
		return ret;
	}
	dfd = openat(base, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		ret = -errno;
	/* Exactly 0700 and 0600 whatever the umask (0277 would leave 0500 and 0400). */
	if (!ret && fchmod(dfd, 0700) < 0)
		ret = -errno;
	if (!ret && mkfifoat(dfd, "fifo", 0600) < 0)
		ret = -errno;
	if (!ret)
		ret = open_fifo(dfd, p);
	if (!ret && fchmod(p->rfd, 0600) < 0) {
		ret = -errno;
		pipe_close(q);
	}
	if (!ret) {
		ret = size_pipe(q, p, capacity);
		if (ret < 0)
			pipe_close(q);
	}
	if (!ret) {
		ret = map_meta(dfd, O_CREAT | O_EXCL, &p->sh, &p->lock_fd);
		if (!ret)
			ret = init_shared(p->sh, q, p, p->slots * (size_t)sysconf(_SC_PAGESIZE));
		if (!ret)
			ret = creator_write(dfd);
		if (!ret && renameat2(base, tmp, base, name, RENAME_NOREPLACE) < 0)
			ret = -errno;
		if (ret < 0) {
			if (p->sh && p->sh != MAP_FAILED)
				munmap(p->sh, sizeof(*p->sh));
			p->sh = NULL;
			pipe_close(q);
		}
	}
	if (dfd >= 0)
		close(dfd);
	if (ret < 0)
		remove_queue_dir(base, tmp);
	close(base);
	return ret;
}

/*
 * Returns 0, -EEXIST (named, exists), -EMSGSIZE (no pipe holds one message),
 * -EINVAL (capacity beyond any pipe), -EPERM (fs.pipe-max-size, or over
 * fs.pipe-user-pages-*: see pipe_explain()), -EMFILE, -ENOMEM ...
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
	int base, dfd, ret, r;

	p->bfd = -1;
	p->lock_fd = -1;
	base = open_base();
	if (base < 0)
		return base;
	dfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	ret = dfd < 0 ? -errno : 0;
	close(base);
	if (dfd < 0)
		return ret == -ENOTDIR || ret == -ELOOP ? -ENOENT : ret;
	/* The directory, the FIFO and the meta file must all be ours alone. */
	ret = __ipcq_fd_ours(dfd);
	if (!ret)
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
	char tmp[96];
	int base, ret;

	base = open_base();
	if (base < 0)
		return base;
	ret = __ipcq_reg_tmp_name(tmp, sizeof(tmp), "del");
	if (!ret && renameat2(base, name, base, tmp, RENAME_NOREPLACE) < 0)
		ret = -errno;
	if (!ret)
		remove_queue_dir(base, tmp);
	close(base);
	return ret;
}

/* --- ipcq_ext.h --------------------------------------------------------- */

static ssize_t pipe_limits(struct ipcq_limit *out, size_t n)
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

static int pipe_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len)
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

/* One ".tmp-"/".del-" directory: removed when the process that left it is gone. */
static int clean_leftover(int base, const char *leaf, const struct ipcq_clean_ctx *c)
{
	char what[PATH_MAX + 200];
	pid_t pid;

	if (!__ipcq_reg_tmp_left(leaf, "tmp", &pid) && !__ipcq_reg_tmp_left(leaf, "del", &pid))
		return 0;
	remove_queue_dir(base, leaf);
	if (c->fn) {
		snprintf(what, sizeof(what), "directory %s/%.96s, left by pid %d (dead)", c->dir,
			 leaf, pid);
		c->fn(c->ctx, "pipe", what);
	}
	return 1;
}

/*
 * Anonymous queues leave nothing behind.  Only a process killed inside
 * create or unlink leaves a ".tmp-"/".del-" directory; remove those whose
 * process is gone.
 */
static ssize_t pipe_clean(ipcq_clean_fn fn, void *ctx)
{
	struct ipcq_clean_ctx c = {.fn = fn, .ctx = ctx};

	return __ipcq_private_each("pipe", ".", false, clean_leftover, &c);
}

/*
 * The named queue @name of the directory @base: listed when its creator is
 * dead and no handle holds its meta file, and then removed with @remove
 * (renamed away under our write lock first, so that an opener finds it gone;
 * a FIFO nobody holds keeps no message, so nothing is lost).  Returns 1 when
 * listed, else 0.
 */
static int clean_named_one(int base, const char *name, const struct ipcq_clean_ctx *c)
{
	bool remove = c->remove;
	char what[PATH_MAX + 640], tmp[96];
	unsigned long long start, ino;
	int dfd, cfd, mfd = -1, ret = -ENOENT;
	pid_t pid;

	dfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return 0;
	cfd = openat(dfd, "creator", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (__ipcq_fd_ours(dfd) == 0 && cfd >= 0 && __ipcq_fd_ours(cfd) == 0 &&
	    __ipcq_creator_read(cfd, &pid, &start, &ino) == 0 && !__ipcq_proc_alive(pid, start))
		mfd = openat(dfd, "meta", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (mfd >= 0 && __ipcq_fd_ours(mfd) == 0)
		ret = __ipcq_ofd_unheld(mfd, remove);
	if (ret == 0 && remove) {
		ret = __ipcq_reg_tmp_name(tmp, sizeof(tmp), "del");
		if (!ret && renameat2(base, name, base, tmp, RENAME_NOREPLACE) < 0)
			ret = -errno;
		if (!ret)
			remove_queue_dir(base, tmp);
	}
	if (mfd >= 0)
		close(mfd);
	if (cfd >= 0)
		close(cfd);
	close(dfd);
	if (ret < 0)
		return 0;
	if (c->fn) {
		snprintf(what, sizeof(what),
			 "named pipe queue \"%s\" (%s/%s), created by pid %d (dead), no handle "
			 "left%s",
			 name, c->dir, name, (int)pid, remove ? ": removed" : "");
		c->fn(c->ctx, "pipe", what);
	}
	return 1;
}

/* Named queues of dead creators that nobody holds (ipcq_clean_named()). */
static ssize_t pipe_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	struct ipcq_clean_ctx c = {.remove = remove, .fn = fn, .ctx = ctx};

	return __ipcq_private_each("pipe", "", false, clean_named_one, &c);
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
	.close = pipe_close,
	.unlink = pipe_unlink,
	.limits = pipe_limits,
	.explain = pipe_explain,
	.clean = pipe_clean,
	.clean_named = pipe_clean_named,
};
