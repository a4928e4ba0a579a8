/* SPDX-License-Identifier: MIT */
/*
 * The shm backend's mapping (shm.c has the data path): ring sizes, the
 * header, create, open, close, unlink, and what ipcq_ext.h asks.
 *
 * Anonymous queues live in a memfd, sealed against resizing and closed once
 * mapped: the ring reaches children through fork() and vanishes with the
 * last mapping, also when its processes die by SIGKILL.  Named queues are
 * /dev/shm/ipcq.s.<name>, opened only when the file is the caller's alone.
 *  Named rings have a creator record
 * and a reference per handle (registry.c), for ipcq_clean_named().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "shm_pvt.h"

#define SHM_PREFIX	  "/ipcq.s."
#define SHM_DEFAULT_SLOTS 1024u
#define SHM_DEFAULT_BYTES (16u << 20) /* capacity 0: at most this much ring */
#define SHM_OPEN_WAIT_NS  1000000000  /* ipcq_open() of a half-made queue */

static uint64_t pow2_up(uint64_t n)
{
	return n <= 2 ? 2 : UINT64_C(1) << (64 - __builtin_clzll(n - 1));
}

/* Slots for @want (0: the default), and the size of the mapping. */
static int ring_size(size_t msg_max, size_t want, uint64_t *cap, size_t *slot, size_t *map)
{
	size_t s;
	uint64_t c;

	/* Not even the smallest ring (2 slots) fits an off_t: ipcq.h's -EMSGSIZE. */
	if (msg_max > ((uint64_t)INT64_MAX - SHM_HDR_SIZE) / 2 - SHM_SLOT_HDR - SHM_LINE)
		return -EMSGSIZE;
	s = (SHM_SLOT_HDR + msg_max + SHM_LINE - 1) & ~(size_t)(SHM_LINE - 1);
	if (want == 0) {
		c = SHM_DEFAULT_SLOTS;
		while (c > 2 && c * s > SHM_DEFAULT_BYTES)
			c >>= 1;
	} else {
		if (want > SHM_MAX_SLOTS)
			return -EINVAL;
		c = pow2_up(want);
	}
	if (__builtin_mul_overflow(c, s, map) || __builtin_add_overflow(*map, SHM_HDR_SIZE, map) ||
	    *map > (size_t)INT64_MAX)
		return -EINVAL;
	*cap = c;
	*slot = s;
	return 0;
}

/* @h: the header, validated (hdr_ok()) or just written; never re-read from the ring. */
static void attach(struct ipcq *q, unsigned char *base, const struct shm_hdr *h)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_map *m = (struct shm_map *)base;

	p->base = base;
	p->hdr = &m->hdr;
	p->tail = &m->tail;
	p->head = &m->head;
	p->tail_sole = &m->tail_sole;
	p->head_sole = &m->head_sole;
	p->sp = h->flags & IPCQ_SP;
	p->sc = h->flags & IPCQ_SC;
	p->spsc = p->sp && p->sc;
	p->head_seen = p->tail_seen = 0; /* lower bounds: indices only grow */
	p->not_empty = &m->not_empty;
	p->not_full = &m->not_full;
	p->slots = m->slots;
	p->mask = h->capacity - 1;
	p->slot_size = h->slot_size;
	p->msg_max = h->msg_max;
	p->map_size = h->map_size;
	p->spin = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	__ipcq_shm_self_init();
	q->capacity = h->capacity;
	q->msg_max = h->msg_max;
}

/* @seal: an anonymous ring's memfd, which nobody may resize once made. */
static int map_new(struct ipcq *q, int fd, size_t msg_max, size_t want, unsigned flags, bool seal)
{
	struct statvfs sv;
	struct shm_hdr *h;
	unsigned char *base;
	uint64_t cap;
	size_t slot, map;
	int ret;

	ret = ring_size(msg_max, want, &cap, &slot, &map);
	if (ret < 0)
		return ret;
	/*
	 * /dev/shm's free space bounds every ring, anonymous ones too: a memfd
	 * has no size limit of its own, and fallocate() of more than the
	 * machine has would end in the OOM killer rather than in ENOMEM.
	 */
	if (statvfs("/dev/shm", &sv) == 0 && map / sv.f_frsize > sv.f_bavail)
		return -ENOSPC;
	if (ftruncate(fd, (off_t)map) < 0)
		return -errno;
	/* Allocate now: a full tmpfs fails here, not with SIGBUS in a put. */
	do
		ret = posix_fallocate(fd, 0, (off_t)map);
	while (ret == EINTR);
	if (ret)
		return -ret;
	/*
	 * A shrunk file raises SIGBUS in every process that then touches the
	 * lost pages; the seals make the anonymous ring's size final, even for
	 * someone who reaches its memfd (/proc/<pid>/map_files, a descriptor
	 * caught before our close).  Named rings: see shm_open_q().
	 */
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	h = (struct shm_hdr *)base;
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->hdr_size = SHM_HDR_SIZE;
	h->msg_max = msg_max;
	h->slot_size = slot;
	h->capacity = cap;
	h->flags = flags;
	h->map_size = map;
	attach(q, base, h);
	ring_init_slots(shm_priv(q), 0);
	/* release: an opener that sees ready sees the header and the slots. */
	atomic_store_explicit(&h->ready, 1, memory_order_release);
	return 0;
}

static int shm_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, SHM_PREFIX "%s", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int shm_look(const char *path)
{
	int fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int shm_remove(const char *path)
{
	return shm_unlink(path) < 0 ? -errno : 0;
}

/* Named rings: creator records and references (registry.c). */
static const struct ipcq_reg_ops shm_reg = {
	.backend = "shm",
	.sub = "shm",
	.kind = "shm ring",
	.path = shm_path,
	.look = shm_look,
	.remove = shm_remove,
};

struct shm_make {
	struct ipcq *q;
	const struct ipcq_opts *opts;
	int fd;
	bool mapped;
};

/* The named ring's file, made and mapped; its descriptor for the record's inode. */
static int shm_make_named(void *arg)
{
	char path[sizeof(SHM_PREFIX) + IPCQ_NAME_MAX];
	struct shm_make *m = arg;
	int ret = shm_path(path, sizeof(path), m->opts->name);

	if (ret < 0)
		return ret;
	m->fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return -errno;
	/* fchmod: exactly 0600 whatever the umask */
	ret = fchmod(m->fd, 0600) < 0 ? -errno : 0;
	if (!ret)
		ret = map_new(m->q, m->fd, m->opts->msg_max, m->opts->capacity, m->opts->flags,
			      false);
	if (ret < 0) {
		shm_unlink(path);
		return ret;
	}
	m->mapped = true;
	return m->fd;
}

static void bells_none(struct shm_priv *p)
{
	p->bell[0] = p->bell[1] = -1;
}

static void bells_close(struct shm_priv *p)
{
	for (int i = 0; i < 2; i++)
		if (p->bell[i] >= 0)
			close(p->bell[i]);
	bells_none(p);
}

/*
 * An anonymous ring's doorbells (ipcq_fd()), made with it so that they
 * reach its children through fork() as the ring does; a named ring's
 * processes share no descriptor, so it has none.  On failure the ring goes.
 */
static int bells_new(struct ipcq *q)
{
	struct shm_priv *p = shm_priv(q);

	for (int i = 0; i < 2; i++) {
		p->bell[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->bell[i] < 0) {
			int err = -errno;

			bells_close(p);
			munmap(p->base, p->map_size);
			return err;
		}
	}
	return 0;
}

int __ipcq_shm_create(struct ipcq *q, const struct ipcq_opts *opts)
{
	struct shm_make m = {.q = q, .opts = opts, .fd = -1};
	int fd, ret;

	shm_priv(q)->lock_fd = -1;
	bells_none(shm_priv(q));
	if (opts->name) {
		ret = __ipcq_reg_create(&shm_reg, opts->name, shm_make_named, &m,
					&shm_priv(q)->lock_fd);
		if (m.fd >= 0)
			close(m.fd); /* the mapping keeps the memory */
		if (ret < 0 && m.mapped)
			munmap(shm_priv(q)->base, shm_priv(q)->map_size);
		return ret;
	}
	fd = memfd_create("ipcq.shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	ret = map_new(q, fd, opts->msg_max, opts->capacity, opts->flags, true);
	close(fd); /* the mapping keeps the memory */
	if (ret == 0)
		ret = bells_new(q);
	return ret;
}

/* The header must describe exactly a ring we could have made, of @size bytes. */
static bool hdr_ok(const struct shm_hdr *h, size_t size)
{
	uint64_t cap;
	size_t slot, map;

	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION || h->hdr_size != SHM_HDR_SIZE ||
	    h->capacity < 2 || (h->capacity & (h->capacity - 1)) || h->msg_max > SSIZE_MAX / 2 ||
	    (h->flags & ~(IPCQ_SP | IPCQ_SC)))
		return false;
	if (ring_size(h->msg_max, h->capacity, &cap, &slot, &map) < 0)
		return false;
	return cap == h->capacity && slot == h->slot_size && map == h->map_size && map <= size;
}

static void nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Reads a named ring's header into @h and its file's status into @st, with
 * pread(), never through a mapping: a file shrunk meanwhile fails the open
 * instead of raising SIGBUS.  Returns 0, -EAGAIN while the header is not
 * ready (a creator between shm_open() and setting ready), -EACCES when the
 * file is not ours alone: another user's (root's included), or open to our
 * group or others, so that nobody else can have written it.
 */
static int hdr_read(int fd, struct shm_hdr *h, struct stat *st)
{
	ssize_t n;
	int ret = __ipcq_fd_ours(fd);

	if (ret < 0)
		return ret;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	do
		n = pread(fd, h, sizeof(*h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*h) || !atomic_load_explicit(&h->ready, memory_order_relaxed))
		return -EAGAIN;
	return 0;
}

/*
 * A same-user peer with write access can still shrink a named ring's file
 * after we mapped it (tmpfs files other than memfds cannot be sealed): each
 * process then gets SIGBUS at its next access beyond the new end, which a
 * library cannot turn into an error without a SIGBUS handler of its own.
 * What we check is that the file is ours and big enough when we map it.
 */
int __ipcq_shm_open(struct ipcq *q, const char *name)
{
	char path[sizeof(SHM_PREFIX) + IPCQ_NAME_MAX];
	int64_t deadline = __ipcq_deadline(SHM_OPEN_WAIT_NS);
	unsigned char *base;
	struct shm_hdr h;
	struct stat st;
	bool seen = false;
	int fd, ret;

	shm_priv(q)->lock_fd = -1;
	bells_none(shm_priv(q));
	ret = shm_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		ret = hdr_read(fd, &h, &st);
		if (ret == 0 && seen)
			break;
		if (ret == 0) {
			/*
			 * ready seen: pairs with the creator's release of it; then
			 * read the words written before it once more, after it
			 */
			atomic_thread_fence(memory_order_acquire);
			seen = true;
			continue;
		}
		if (ret != -EAGAIN)
			goto out;
		if (__ipcq_left_ns(deadline) == 0) {
			ret = -EINVAL; /* never finished: not a queue we can use */
			goto out;
		}
		nap_ms(1);
	}
	if (!hdr_ok(&h, (size_t)st.st_size)) {
		ret = -EINVAL;
		goto out;
	}
	/* MAP_POPULATE: no page faults later inside a put's claim window */
	base = mmap(NULL, h.map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	/*
	 * Nothing here reads the mapping (a file cut meanwhile would make it
	 * SIGBUS): the fence after the pread() that saw ready orders our later
	 * reads of the slots after it.
	 */
	attach(q, base, &h);
	/* this handle's reference; -ENOENT: a remover took the ring meanwhile */
	ret = __ipcq_reg_hold(&shm_reg, name, fd, &shm_priv(q)->lock_fd);
	if (ret < 0)
		munmap(base, h.map_size);
out:
	close(fd);
	return ret;
}

int __ipcq_shm_close(struct ipcq *q)
{
	struct shm_priv *p = shm_priv(q);
	struct shm_rec *r = atomic_load_explicit(&p->rec, memory_order_relaxed);

	/* a sole producer's (consumer's) place, if this thread holds it, is free again */
	for (int i = 0; i < 2 && (p->sp || p->sc); i++) {
		uint64_t me = (uint64_t)shm_tid();

		if (i ? p->sc : p->sp)
			atomic_compare_exchange_strong(i ? p->head_sole : p->tail_sole, &me, 0);
	}
	/* our intent record, if this process registered one, is free again */
	if (r && atomic_load_explicit(&p->rec_pid, memory_order_relaxed) == __ipcq_shm_self) {
		for (int t = 0; t < SHM_REC_THREADS; t++)
			atomic_store_explicit(&r->intent[t], UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&r->pid, 0, memory_order_release);
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	bells_close(p);

	return munmap(p->base, p->map_size) < 0 ? -errno : 0;
}

int __ipcq_shm_unlink(const char *name)
{
	return __ipcq_reg_unlink(&shm_reg, name);
}

/* Named rings of dead creators that nobody holds (ipcq_clean_named()). */
ssize_t __ipcq_shm_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	return __ipcq_reg_clean_named(&shm_reg, remove, fn, ctx);
}

/* ipcq_ext.h ------------------------------------------------------------ */

IPCQ_EXPORT int ipcq_shm_memory(const struct ipcq *q, void **addr, size_t *len)
{
	if (!q || !addr || !len)
		return -EINVAL;
	if (q->ops != &__ipcq_shm_ops)
		return -ENOTSUP;
	*addr = shm_priv((struct ipcq *)q)->base;
	*len = shm_priv((struct ipcq *)q)->map_size;
	return 0;
}

/* /dev/shm is the only bound: named rings live there, anonymous ones are checked against it. */
ssize_t __ipcq_shm_limits(struct ipcq_limit *out, size_t n)
{
	struct statvfs sv;
	long long size = -1, avail = -1;

	if (statvfs("/dev/shm", &sv) == 0) {
		size = (long long)sv.f_blocks * (long long)sv.f_frsize;
		avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
	}
	if (n > 0)
		__ipcq_limit_set(&out[0], "/dev/shm size", size, "bytes", "all shm rings together",
				 "mount -o remount,size=NG /dev/shm");
	if (n > 1)
		__ipcq_limit_set(&out[1], "/dev/shm free", avail, "bytes",
				 "room left for new shm rings",
				 "mount -o remount,size=NG /dev/shm");
	return 2;
}

int __ipcq_shm_explain(const struct ipcq_opts *opts, int err, char *buf, size_t len)
{
	struct statvfs sv;
	uint64_t cap;
	size_t slot, map = 0;
	int n;

	if (err < 0)
		err = -err;
	if (err != ENOSPC && err != ENOMEM)
		return 0;
	if (ring_size(opts->msg_max, opts->capacity, &cap, &slot, &map) < 0)
		map = 0;
	if (statvfs("/dev/shm", &sv) < 0)
		n = snprintf(buf, len, "shm: a ring of %zu bytes did not fit in shared memory (%s)",
			     map, strerror(err));
	else
		n = snprintf(
			buf, len,
			"shm: a ring of %zu bytes did not fit: /dev/shm has %llu of %llu bytes "
			"free; raise it with: mount -o remount,size=NG /dev/shm",
			map, (unsigned long long)sv.f_bavail * sv.f_frsize,
			(unsigned long long)sv.f_blocks * sv.f_frsize);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)len - 1 : n;
}
