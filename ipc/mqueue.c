/* SPDX-License-Identifier: MIT */
/*
 * The "mqueue" backend: POSIX message queues (mq_*).
 *
 * The kernel does the queueing, message boundaries, ordering and MPMC
 * locking; this file adds what POSIX mq lacks for our contract:
 *  - anonymous queues: created under a random name and unlinked at once, so
 *    the queue lives exactly as long as its descriptors (also under SIGKILL:
 *    __ipcq_unkillable() does both, so that our death cannot come between;
 *    clean() removes what is left where that child could not run);
 *  - monotonic timeouts: mq_timed{send,receive} take CLOCK_REALTIME and are
 *    fooled by wall-clock jumps, so the descriptor stays O_NONBLOCK and we
 *    wait with poll() (an mq descriptor is pollable on Linux) up to a
 *    CLOCK_MONOTONIC deadline, then try again;
 *  - IPCQ_FOREVER needs no clock: a second, blocking descriptor of the same
 *    queue (its own open file description, as O_NONBLOCK is one's flag) lets
 *    mq_send/mq_receive wait in the kernel, one system call as in a bare
 *    loop.  It is opened before an anonymous queue loses its name;
 *  - explanations of the kernel limits that refuse a queue.
 * Every message has priority 0, so the kernel keeps them in FIFO order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "registry_pvt.h"

#define PREFIX_ANON  "/ipcq."	/* + 16 hex digits: never "n.", so never a named one */
#define PREFIX_NAMED "/ipcq.n." /* + the caller's name */
#define PATH_LEN     (sizeof(PREFIX_NAMED) + IPCQ_NAME_MAX)

#define SYSCTL_DIR   "/proc/sys/fs/mqueue/"
#define DFLT_MSG_MAX 10 /* the kernel's default fs.mqueue.msg_max */

/* Beyond these even CAP_SYS_RESOURCE or a sysctl cannot go (HARD_MSGMAX, HARD_MSGSIZEMAX). */
#define HARD_MSG_MAX	 65536
#define HARD_MSGSIZE_MAX (16L * 1024 * 1024)

/*
 * What the kernel charges to RLIMIT_MSGQUEUE per queue (ipc/mqueue.c,
 * mqueue_get_inode): maxmsg * (sizeof(struct msg_msg) + msgsize) plus
 * min(maxmsg, MQ_PRIO_MAX) * sizeof(struct posix_msg_tree_node).  Both
 * structs are 6 pointer-sized words (48 bytes on 64-bit, 24 on 32-bit).
 */
#define MSG_OVERHEAD  (6 * sizeof(void *))
#define NODE_OVERHEAD (6 * sizeof(void *))
#define PRIO_MAX_K    32768 /* MQ_PRIO_MAX */

#define OPEN_FLAGS (O_RDWR | O_NONBLOCK | O_CLOEXEC)

struct mq_priv {
	mqd_t mqd;
	mqd_t blk;   /* the same queue without O_NONBLOCK, for IPCQ_FOREVER; -1: none */
	int lock_fd; /* named: its creator record, OFD read-locked (a handle); else -1 */
};

static inline struct mq_priv *priv(struct ipcq *q)
{
	return (struct mq_priv *)q->priv;
}

/* Data path ------------------------------------------------------------- */

/*
 * put/get: mq_send/mq_receive on the O_NONBLOCK descriptor, poll()ing up to a
 * CLOCK_MONOTONIC deadline between tries (another process may still win the
 * message or the slot); IPCQ_FOREVER on the blocking one, where the kernel
 * waits.  Fast path: one system call.
 */
static int mq_put_q(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	mqd_t mqd = priv(q)->mqd;
	int64_t deadline = 0;
	int ret;

	if (!msg) /* len 0: mq_send's prototype wants a pointer all the same */
		msg = "";
	if (timeout_ns == IPCQ_FOREVER && priv(q)->blk >= 0)
		mqd = priv(q)->blk;
	while (mq_send(mqd, msg, len, 0) < 0) {
		ret = __ipcq_retry_fd(mqd, POLLOUT, errno, timeout_ns, &deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static ssize_t mq_get_q(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	mqd_t mqd = priv(q)->mqd;
	int64_t deadline = 0;
	ssize_t n;
	int ret;

	if (timeout_ns == IPCQ_FOREVER && priv(q)->blk >= 0)
		mqd = priv(q)->blk;
	/* queue.c checked cap >= msg_max == mq_msgsize, which mq_receive needs. */
	while ((n = mq_receive(mqd, buf, cap, NULL)) < 0) {
		ret = __ipcq_retry_fd(mqd, POLLIN, errno, timeout_ns, &deadline);
		if (ret < 0)
			return ret;
	}
	return n;
}

static ssize_t mq_qsize_q(struct ipcq *q)
{
	struct mq_attr attr;

	if (mq_getattr(priv(q)->mqd, &attr) < 0)
		return -errno;
	return attr.mq_curmsgs;
}

static bool mq_full_q(struct ipcq *q)
{
	struct mq_attr attr;

	return mq_getattr(priv(q)->mqd, &attr) == 0 && attr.mq_curmsgs >= attr.mq_maxmsg;
}

/* Setup ----------------------------------------------------------------- */

static int named_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s%s", PREFIX_NAMED, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Saturates at ULLONG_MAX: a capacity near SSIZE_MAX must not wrap to a small need. */
static unsigned long long queue_bytes(unsigned long long maxmsg, unsigned long long msgsize)
{
	unsigned long long nodes = maxmsg < PRIO_MAX_K ? maxmsg : PRIO_MAX_K, n;

	if (__builtin_mul_overflow(maxmsg, MSG_OVERHEAD + msgsize, &n) ||
	    __builtin_add_overflow(n, nodes * NODE_OVERHEAD, &n))
		return ULLONG_MAX;
	return n;
}

static long long sysctl_msg_max(void)
{
	long long v = __ipcq_read_sysctl(SYSCTL_DIR "msg_max");

	return v > 0 ? v : DFLT_MSG_MAX;
}

/* The soft RLIMIT_MSGQUEUE in bytes; -1 for none. */
static long long rlimit_bytes(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MSGQUEUE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > LLONG_MAX)
		return -1;
	return (long long)rl.rlim_cur;
}

/*
 * capacity 0: as many messages as the kernel lets this user have in one
 * queue: fs.mqueue.msg_max, shrunk to what RLIMIT_MSGQUEUE can hold on its
 * own (at least 1) rather than failing.  The user's other queues share the
 * rlimit too; create() shrinks further when the kernel says EMFILE.
 */
static long default_maxmsg(size_t msgsize)
{
	long long m = sysctl_msg_max(), rl = rlimit_bytes();

	/* Charged 96 B each (nodes never outnumber messages), this many always fit. */
	if (rl >= 0 && queue_bytes((unsigned long long)m, msgsize) > (unsigned long long)rl) {
		m = (long long)((unsigned long long)rl / (MSG_OVERHEAD + NODE_OVERHEAD + msgsize));
		if (m < 1)
			m = 1;
	}
	return m > LONG_MAX ? LONG_MAX : (long)m;
}

struct mq_new {
	const char *path; /* "/ipcq..." */
	struct mq_attr *attr;
	bool unlink;   /* anonymous: remove the name at once */
	bool want_blk; /* open a blocking descriptor too */
	int ret;       /* the descriptor, or -errno */
	int blk;       /* the blocking descriptor, or -1 */
};

/*
 * mq_open(O_CREAT|O_EXCL) with raw system calls (the kernel wants the name
 * without its '/'): an anonymous queue's runs in __ipcq_unkillable().
 */
__attribute__((no_sanitize("address", "undefined"))) static int mq_create_raw(void *arg)
{
	struct mq_new *b = arg;
	long fd = syscall(SYS_mq_open, b->path + 1, OPEN_FLAGS | O_CREAT | O_EXCL, 0600, b->attr);
	long blk = -1;

	b->ret = fd < 0 ? -errno : (int)fd;
	/* While it still has a name; the umask may have taken the owner's write bit. */
	if (fd >= 0 && b->want_blk && syscall(SYS_fchmod, fd, 0600) == 0)
		blk = syscall(SYS_mq_open, b->path + 1, O_RDWR | O_CLOEXEC, 0, NULL);
	b->blk = blk < 0 ? -1 : (int)blk;
	if (fd >= 0 && b->unlink)
		syscall(SYS_mq_unlink, b->path + 1);
	return 0;
}

/*
 * Creates the queue @name, or an anonymous one (NULL) that has lost its
 * name before we return.  Returns 0 and sets *out, or -errno.  With @blk,
 * also a blocking descriptor of it there (-1 when the kernel refused one).
 */
static int create_one(const char *name, struct mq_attr *attr, mqd_t *out, mqd_t *blk)
{
	char path[PATH_LEN];
	struct mq_new b = {.path = path, .attr = attr, .unlink = !name, .want_blk = blk != NULL};
	int ret, tries = 0;

	do {
		ret = name ? named_path(path, sizeof(path), name)
			   : __ipcq_random_name(path, sizeof(path), PREFIX_ANON);
		if (ret < 0)
			return ret;
		if (name)
			mq_create_raw(&b);
		else /* a name from mq_open to mq_unlink: were we killed between, it stayed */
			__ipcq_unkillable(mq_create_raw, &b);
		/* A clash of 64 random bits means someone guesses: try other ones. */
	} while (b.ret == -EEXIST && !name && ++tries < 8);
	if (b.ret < 0)
		return b.ret;
	/* The umask may have taken bits we need (an owner without write). */
	if (name && fchmod(b.ret, 0600) < 0) {
		ret = -errno;
		if (b.blk >= 0)
			close(b.blk);
		close(b.ret);
		mq_unlink(path);
		return ret;
	}
	*out = b.ret;
	if (blk)
		*blk = b.blk;
	return 0;
}

/*
 * The largest maxmsg below @above that RLIMIT_MSGQUEUE still lets this user
 * have now, found by creating and dropping anonymous queues; 0 when none.
 */
static long largest_fitting(long above, long msgsize)
{
	long lo = 0, hi = above - 1;

	while (lo < hi) {
		struct mq_attr attr = {.mq_maxmsg = lo + (hi - lo + 1) / 2, .mq_msgsize = msgsize};
		mqd_t mqd;

		if (create_one(NULL, &attr, &mqd, NULL) == 0) {
			mq_close(mqd);
			lo = attr.mq_maxmsg;
		} else {
			hi = attr.mq_maxmsg - 1;
		}
	}
	return lo;
}

/* Named queues: creator records and references through the registry. */
static int mq_look(const char *path)
{
	mqd_t mqd = mq_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	return mqd == (mqd_t)-1 ? -errno : (int)mqd; /* a descriptor on Linux */
}

static int mq_remove(const char *path)
{
	return mq_unlink(path) < 0 ? -errno : 0;
}

static const struct ipcq_reg_ops mq_reg = {
	.backend = "mqueue",
	.sub = "mqueue",
	.kind = "POSIX queue",
	.path = named_path,
	.look = mq_look,
	.remove = mq_remove,
};

struct mq_make {
	const char *name;
	struct mq_attr *attr;
	struct mq_priv *p;
};

static int mq_make_one(void *arg)
{
	struct mq_make *m = arg;
	int ret = create_one(m->name, m->attr, &m->p->mqd, &m->p->blk);

	return ret < 0 ? ret : (int)m->p->mqd;
}

/* A named queue, with its creator record (registry.c). */
static int create_named(const char *name, struct mq_attr *attr, struct mq_priv *p)
{
	struct mq_make m = {.name = name, .attr = attr, .p = p};
	int ret;

	p->mqd = (mqd_t)-1;
	p->blk = -1;
	ret = __ipcq_reg_create(&mq_reg, name, mq_make_one, &m, &p->lock_fd);
	if (ret < 0 && p->mqd != (mqd_t)-1) {
		if (p->blk >= 0)
			mq_close(p->blk);
		mq_close(p->mqd);
		p->blk = -1;
	}
	return ret;
}

static int mq_create_q(struct ipcq *q, const struct ipcq_opts *opts)
{
	const char *name = q->named ? q->name : NULL;
	struct mq_attr attr = {0};
	int ret, tries = 0;

	priv(q)->blk = -1;
	priv(q)->lock_fd = -1;
	/* Beyond HARD_MSGSIZEMAX no sysctl or capability helps: ipcq.h's -EMSGSIZE. */
	if (opts->msg_max > HARD_MSGSIZE_MAX)
		return -EMSGSIZE;
	if (opts->capacity > LONG_MAX)
		return -EINVAL;
	attr.mq_msgsize = (long)opts->msg_max;
	attr.mq_maxmsg = opts->capacity ? (long)opts->capacity : default_maxmsg(opts->msg_max);
	ret = name ? create_named(name, &attr, priv(q))
		   : create_one(name, &attr, &priv(q)->mqd, &priv(q)->blk);
	/*
	 * capacity 0 and the user's other queues hold most of RLIMIT_MSGQUEUE:
	 * take as many as still fit rather than fail (others may take some
	 * meanwhile: a few tries).  A capacity asked for is never shrunk: the
	 * kernel's error is returned.
	 */
	while (ret == -EMFILE && !opts->capacity && attr.mq_maxmsg > 1 && tries++ < 3) {
		attr.mq_maxmsg = largest_fitting(attr.mq_maxmsg, attr.mq_msgsize);
		if (!attr.mq_maxmsg)
			break;
		ret = name ? create_named(name, &attr, priv(q))
			   : create_one(name, &attr, &priv(q)->mqd, &priv(q)->blk);
	}
	if (ret < 0)
		return ret;
	q->capacity = (size_t)attr.mq_maxmsg;
	return 0;
}

static int mq_open_q(struct ipcq *q, const char *name)
{
	char path[PATH_LEN];
	struct mq_attr attr;
	mqd_t mqd;
	int ret;

	ret = named_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	mqd = mq_open(path, OPEN_FLAGS);
	if (mqd == (mqd_t)-1)
		return -errno;
	/*
	 * The kernel lets root, and anybody the mode lets in, open another
	 * user's queue: "any process of the same user" means ours alone
	 * (an mqd_t is a descriptor on Linux).
	 */
	ret = __ipcq_fd_ours(mqd);
	if (ret == 0 && mq_getattr(mqd, &attr) < 0)
		ret = -errno;
	if (ret == 0)
		ret = __ipcq_reg_hold(&mq_reg, name, mqd, &priv(q)->lock_fd);
	if (ret < 0) {
		mq_close(mqd);
		return ret;
	}
	priv(q)->mqd = mqd;
	priv(q)->blk = mq_open(path, O_RDWR | O_CLOEXEC); /* -1: FOREVER polls */
	q->capacity = (size_t)attr.mq_maxmsg;
	q->msg_max = (size_t)attr.mq_msgsize;
	return 0;
}

static int mq_close_q(struct ipcq *q)
{
	if (priv(q)->lock_fd >= 0)
		close(priv(q)->lock_fd);
	if (priv(q)->blk >= 0)
		mq_close(priv(q)->blk);
	return mq_close(priv(q)->mqd) < 0 ? -errno : 0;
}

/* Removes the name and its record; -EACCES for another user's queue. */
static int mq_unlink_q(const char *name)
{
	return __ipcq_reg_unlink(&mq_reg, name);
}

static ssize_t mq_limits(struct ipcq_limit *out, size_t n)
{
	struct ipcq_limit l[4];

	__ipcq_limit_set(&l[0], "fs.mqueue.msg_max", __ipcq_read_sysctl(SYSCTL_DIR "msg_max"),
			 "messages", "messages in one queue: the most capacity",
			 "sysctl -w fs.mqueue.msg_max=N (at most 65536)");
	__ipcq_limit_set(&l[1], "fs.mqueue.msgsize_max",
			 __ipcq_read_sysctl(SYSCTL_DIR "msgsize_max"), "bytes",
			 "bytes in one message: the most msg_max",
			 "sysctl -w fs.mqueue.msgsize_max=N (at most 16777216)");
	__ipcq_limit_set(&l[2], "fs.mqueue.queues_max", __ipcq_read_sysctl(SYSCTL_DIR "queues_max"),
			 "queues", "queues of all users in this IPC namespace",
			 "sysctl -w fs.mqueue.queues_max=N");
	/* -1 here means unlimited: the rlimit itself is always readable. */
	__ipcq_limit_set(&l[3], "RLIMIT_MSGQUEUE", rlimit_bytes(), "bytes",
			 "bytes of all queues of a user: maxmsg x (msgsize + 96); -1 unlimited",
			 "ulimit -q N, msgqueue in limits.conf, or CAP_SYS_RESOURCE");
	for (size_t i = 0; i < n && i < 4; i++)
		out[i] = l[i];
	return 4;
}

/* Writes one line; returns its length as it fits in @buf (explain's result). */
__attribute__((format(printf, 3, 4))) static int say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)(len - 1) : n;
}

static int mq_explain(const struct ipcq_opts *o, int err, char *buf, size_t len)
{
	long long msg_max = sysctl_msg_max(), rl = rlimit_bytes();
	long long size_max = __ipcq_read_sysctl(SYSCTL_DIR "msgsize_max");
	long long queues_max = __ipcq_read_sysctl(SYSCTL_DIR "queues_max");
	size_t maxmsg = o->capacity ? o->capacity : (size_t)default_maxmsg(o->msg_max);
	unsigned long long need = queue_bytes(maxmsg, o->msg_max);

	switch (err < 0 ? -err : err) {
	case EINVAL:
		if (o->capacity > HARD_MSG_MAX)
			return say(buf, len,
				   "capacity %zu is above the kernel's hard limit of %d messages "
				   "per POSIX queue (HARD_MSGMAX): no setting raises it",
				   o->capacity, HARD_MSG_MAX);
		if (o->capacity > (size_t)msg_max)
			return say(buf, len,
				   "fs.mqueue.msg_max is %lld (capacity %zu asked): raise it with "
				   "sysctl -w fs.mqueue.msg_max=%zu",
				   msg_max, o->capacity, o->capacity);
		if (size_max > 0 && o->msg_max > (size_t)size_max)
			return say(
				buf, len,
				"fs.mqueue.msgsize_max is %lld (msg_max %zu asked): raise it with "
				"sysctl -w fs.mqueue.msgsize_max=%zu",
				size_max, o->msg_max, o->msg_max);
		return 0;
	case EMSGSIZE:
		if (o->msg_max <= (size_t)HARD_MSGSIZE_MAX)
			return 0;
		return say(buf, len,
			   "msg_max %zu is above the kernel's hard limit of %ld bytes per POSIX "
			   "message (HARD_MSGSIZEMAX): no setting raises it",
			   o->msg_max, HARD_MSGSIZE_MAX);
	case EMFILE:
		if (rl < 0)
			return 0;
		if (need > (unsigned long long)rl)
			return say(
				buf, len,
				"RLIMIT_MSGQUEUE is %lld bytes (a queue of %zu x %zu B takes %llu "
				"with the kernel's 96 B per message): raise it with ulimit -q "
				"%llu, msgqueue in limits.conf, or as root with CAP_SYS_RESOURCE",
				rl, maxmsg, o->msg_max, need, need);
		return say(buf, len,
			   "RLIMIT_MSGQUEUE is %lld bytes for all queues of this user (this one "
			   "takes %llu; the others hold the rest, or the process ran out of "
			   "descriptors): close queues, or raise it with ulimit -q, msgqueue in "
			   "limits.conf, or CAP_SYS_RESOURCE",
			   rl, need);
	case ENOSPC:
		return say(buf, len,
			   "fs.mqueue.queues_max is %lld (queues of all users): raise it with "
			   "sysctl -w fs.mqueue.queues_max=%lld",
			   queues_max, queues_max > 0 ? queues_max * 2 : 1024);
	case ENOMEM:
		return say(buf, len,
			   "the kernel could not pin %llu bytes for a queue of %zu x %zu B: ask "
			   "for a smaller capacity or msg_max",
			   need, maxmsg, o->msg_max);
	}
	return 0;
}

/*
 * An anonymous queue has a name only between its mq_open and mq_unlink in
 * create_one(): one still named after CLEAN_AGE_S lost its creator to a
 * SIGKILL in that window (only where clone() was refused).  Removing one
 * whose creator merely stopped there would harm nobody: its descriptor
 * stays valid.  Finding them needs the mqueue filesystem mounted.
 */
#define MQUEUE_MNT  "/dev/mqueue"
#define CLEAN_AGE_S 10

static bool anonymous_name(const char *s)
{
	size_t n = strlen(PREFIX_ANON) - 1; /* no '/' in directory entries */

	if (strncmp(s, PREFIX_ANON + 1, n) || strlen(s + n) != 16)
		return false;
	return strspn(s + n, "0123456789abcdef") == 16;
}

static ssize_t mq_clean(ipcq_clean_fn fn, void *ctx)
{
	DIR *dir = opendir(MQUEUE_MNT);
	time_t now = time(NULL);
	struct dirent *de;
	ssize_t removed = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		char path[32], what[128]; /* the name was checked: 21 characters */
		struct stat st;

		if (!anonymous_name(de->d_name) ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid != geteuid() || now - st.st_ctime < CLEAN_AGE_S)
			continue;
		/* The entry we saw, whatever IPC namespace the mount belongs to. */
		if (unlinkat(dirfd(dir), de->d_name, 0) < 0)
			continue;
		snprintf(path, sizeof(path), "/%.30s", de->d_name);
		removed++;
		if (fn) {
			snprintf(what, sizeof(what),
				 "POSIX queue %s, its creator killed while creating it", path);
			fn(ctx, "mqueue", what);
		}
	}
	closedir(dir);
	return removed;
}

/* Named queues of dead creators that nobody holds (ipcq_clean_named()). */
static ssize_t mq_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	return __ipcq_reg_clean_named(&mq_reg, remove, fn, ctx);
}

/* ipcq_fd(): on Linux a message queue descriptor polls (POLLIN, POLLOUT). */
static int mq_fd_q(struct ipcq *q, short events)
{
	(void)events;
	return priv(q)->mqd;
}

const struct ipcq_ops __ipcq_mqueue_ops = {
	.name = "mqueue",
	.priv_size = sizeof(struct mq_priv),
	.create = mq_create_q,
	.open = mq_open_q,
	.put = mq_put_q,
	.get = mq_get_q,
	.qsize = mq_qsize_q,
	.full = mq_full_q,
	.fd = mq_fd_q,
	.close = mq_close_q,
	.unlink = mq_unlink_q,
	.limits = mq_limits,
	.explain = mq_explain,
	.clean = mq_clean,
	.clean_named = mq_clean_named,
};
