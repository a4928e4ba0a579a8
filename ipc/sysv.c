/* SPDX-License-Identifier: MIT */
/*
 * The sysv backend: System V message queues (msgget/msgsnd/msgrcv).
 *
 * Every queue is msgget(IPC_PRIVATE).  The kernel keeps neither msg_max, nor
 * names that can go while the queue stays (a SysV key cannot be detached
 * from its queue, yet ipcq_unlink() must free the name while open handles
 * keep working), nor any notion of "last handle".  So our 0700 private
 * directory's "sysv" subdirectory holds, all 0600:
 *
 *   - <msqid>: the record of each queue we created: msqid, key, creator pid
 *     and start time, msg_max, name.  ipcq_open() learns msg_max from it,
 *     ipcq_clean() tells our queues from anybody else's with it;
 *   - n.<name>: the msqid a name stands for (created and removed under the
 *     flock() of the directory, so create/unlink/clean never race);
 *   - .new-<pid>-<start>-<random>: a file on its way to one of the above.  A new
 *     queue's starts as the note of its msqid, written together with the
 *     msgget() where our death cannot part them (queue_new()), so that
 *     ipcq_clean() finds the queue of a creator killed at any instant;
 *   - the reference count: every handle holds an open file description of
 *     the record with an OFD read lock (the creator's from before the record
 *     is visible, each ipcq_open() its own).  fork() shares descriptions;
 *     exec() (O_CLOEXEC), close and death, SIGKILL included, drop them, and
 *     the kernel releases a lock with the last descriptor of its description.
 *     Whoever then gets a write lock on the record knows no handle is left:
 *     ipcq_close() removes an anonymous or unlinked queue that way,
 *     ipcq_unlink() a named one nobody has open, ipcq_clean() what processes
 *     killed by SIGKILL left.  No atfork counters, no holder lists.
 *
 * Timeouts: SysV calls have none.  A timed wait arms a per-thread POSIX timer
 * (CLOCK_MONOTONIC, SIGEV_THREAD_ID) that sends SYSV_TIMER_SIGNAL to this
 * thread at the deadline and every millisecond after (so a signal that lands
 * just before the blocking call is never lost); our no-op handler makes the
 * blocking msgsnd/msgrcv fail with EINTR (SysV IPC is never restarted).
 * When that signal is already someone else's or no timer can be had, waits
 * fall back to IPC_NOWAIT tries with sleeps growing to 1 ms.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "registry_pvt.h"

#define SYSV_MTYPE     1L
#define SYSV_STACK_MSG 8192 /* kernel.msgmax default: larger messages use the heap */
#define SYSV_REC_MAGIC "ipcq-sysv 1"
/* Highest real-time signals are the least used; glibc keeps the lowest for itself. */
#define SYSV_TIMER_SIGNAL (SIGRTMAX - 2)

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

_Static_assert(IPCQ_NAME_MAX == 200, "record format reads names with %200s");

struct sysv_priv {
	int msqid;
	int lock_fd; /* the record, OFD read-locked: this handle's reference */
	pid_t creator;
	unsigned long long start;
};

struct sysv_rec {
	int msqid;
	unsigned key;
	pid_t pid;
	unsigned long long start;
	size_t msg_max;
	int anon;
	char name[IPCQ_NAME_MAX + 1];
};

/* One msgsnd or msgrcv, described so that the slow paths serve both. */
struct sysv_io {
	int msqid;
	bool rcv;
	void *msg; /* struct msgbuf layout: long mtype, then the text */
	size_t size;
};

static inline struct sysv_priv *priv(struct ipcq *q)
{
	return (struct sysv_priv *)q->priv;
}

/* Records and names ------------------------------------------------------ */

/* @buf: the file @leaf of our "sysv" directory. */
static int sysv_path(char *buf, size_t len, const char *leaf)
{
	return __ipcq_private_file(buf, len, "sysv", "", leaf);
}

static int rec_path(char *buf, size_t len, int msqid)
{
	char leaf[16];

	snprintf(leaf, sizeof(leaf), "%d", msqid);
	return sysv_path(buf, len, leaf);
}

static int name_path(char *buf, size_t len, const char *name)
{
	char leaf[IPCQ_NAME_MAX + 8];

	snprintf(leaf, sizeof(leaf), "n.%s", name);
	return sysv_path(buf, len, leaf);
}

static int rec_parse(int fd, struct sysv_rec *r)
{
	char text[512];
	ssize_t n;

	do
		n = pread(fd, text, sizeof(text) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	if (sscanf(text,
		   SYSV_REC_MAGIC
		   " msqid %d key %x pid %d start %llu msg_max %zu anon %d name %200s",
		   &r->msqid, &r->key, &r->pid, &r->start, &r->msg_max, &r->anon, r->name) != 7)
		return -EBADMSG;
	return 0;
}

/*
 * Creates ".new-<pid>-<start>-<random>" in our directory, 0600 whatever the umask;
 * its path in @tmp.  Returns the descriptor or -errno.  A creator killed
 * before renaming it away leaves it to clean_tmp().
 */
static int tmp_create(char *tmp, size_t len)
{
	char leaf[96];
	int fd, ret;

	ret = __ipcq_reg_tmp_name(leaf, sizeof(leaf), "new");
	if (ret == 0)
		ret = sysv_path(tmp, len, leaf);
	if (ret < 0)
		return ret;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0) {
		ret = -errno;
		unlink(tmp);
		close(fd);
		return ret;
	}
	return fd;
}

/* Writes @text into @fd, the temporary file @tmp, and renames it to @path. */
static int tmp_publish(int fd, const char *tmp, const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n = pwrite(fd, text, len, 0);

	if (n != (ssize_t)len)
		return n < 0 ? -errno : -EIO;
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* Publishes @text as @path: a temporary file renamed into place. */
static int file_publish(const char *path, const char *text)
{
	char tmp[PATH_MAX + 16];
	int fd, ret;

	fd = tmp_create(tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	ret = tmp_publish(fd, tmp, path, text);
	if (ret < 0)
		unlink(tmp);
	close(fd);
	return ret;
}

/* The text of record @r: what rec_parse() reads back. */
static void rec_text(const struct sysv_rec *r, char *text, size_t len)
{
	snprintf(text, len,
		 SYSV_REC_MAGIC "\nmsqid %d\nkey 0x%08x\npid %d\nstart %llu\nmsg_max %zu\n"
				"anon %d\nname %s\n",
		 r->msqid, r->key, (int)r->pid, r->start, r->msg_max, r->anon, r->name);
}

/* Reads the record of @msqid; -ENOENT when there is none. */
static int rec_read(int msqid, struct sysv_rec *r)
{
	char path[PATH_MAX + 16];
	int fd, ret;

	ret = rec_path(path, sizeof(path), msqid);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = __ipcq_fd_ours(fd);
	if (ret == 0)
		ret = rec_parse(fd, r);
	close(fd);
	if (ret == 0 && r->msqid != msqid)
		ret = -EBADMSG;
	return ret;
}

/* The msqid the name @name stands for; -ENOENT when none. */
static int name_read(const char *name, int *msqid)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8], text[32];
	ssize_t n;
	int fd, ret;

	ret = name_path(path, sizeof(path), name);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = __ipcq_fd_ours(fd);
	n = ret < 0 ? 0 : read(fd, text, sizeof(text) - 1);
	close(fd);
	if (ret < 0)
		return ret;
	if (n <= 0)
		return -ENOENT;
	text[n] = '\0';
	return sscanf(text, "%d", msqid) == 1 ? 0 : -ENOENT;
}

static bool name_points(const char *name, int msqid)
{
	int id;

	return name_read(name, &id) == 0 && id == msqid;
}

/* Serializes the name operations of this user (create, unlink, clean). */
static int names_lock(void)
{
	return __ipcq_dir_lock("sysv");
}

/*
 * Our queue, as the kernel sees it: made by us without a key, still owned by
 * us and 0600.  Returns 0, -ENOENT (gone), -EACCES (another user's, or
 * handed to another owner or opened to others since: root may, and the
 * kernel would let root and anyone the mode admits use it), or -errno.
 */
static int queue_check(int msqid, struct msqid_ds *ds)
{
	if (msgctl(msqid, IPC_STAT, ds) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
	if (ds->msg_perm.__key != IPC_PRIVATE || ds->msg_perm.cuid != geteuid() ||
	    ds->msg_perm.uid != geteuid() || (ds->msg_perm.mode & 0777) != 0600)
		return -EACCES;
	return 0;
}

static bool queue_ours(int msqid, struct msqid_ds *ds)
{
	return queue_check(msqid, ds) == 0;
}

/*
 * Finds the named queue @name: the msqid its name file gives, whose record
 * agrees and whose kernel queue is there.  -EACCES when a file or the queue
 * is not ours alone (queue_check()); anything else less: -ENOENT.
 */
static int named_find(const char *name, struct msqid_ds *ds, struct sysv_rec *r)
{
	int msqid, ret;

	ret = name_read(name, &msqid);
	if (ret < 0)
		return ret;
	ret = rec_read(msqid, r);
	if (ret < 0)
		return ret == -EBADMSG ? -ENOENT : ret;
	if (r->anon || strcmp(r->name, name) || r->msg_max == 0)
		return -ENOENT;
	return queue_check(msqid, ds);
}

/*
 * Removes the queue behind record @path when no handle is left and nobody
 * can reach it any more (anonymous, or named but unlinked): a write lock is
 * granted only once every description holding a read lock is gone.
 * @expect (may be NULL) is what the record must say.  Returns 1 when
 * removed, 0 when there is nothing to remove (gone, or still named),
 * -EAGAIN when a handle still holds it, or another -errno.
 */
static int try_remove(const char *path, const struct sysv_rec *expect, struct sysv_rec *got)
{
	struct msqid_ds ds;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = __ipcq_ofd_lock(fd, F_WRLCK, false);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	/* Replaced or removed meanwhile, or still named: not ours to remove. */
	ret = 0;
	if (fstat(fd, &st) < 0 || st.st_nlink == 0 || rec_parse(fd, got) < 0)
		goto out;
	if (expect &&
	    (got->msqid != expect->msqid || got->pid != expect->pid || got->start != expect->start))
		goto out;
	if (!got->anon && name_points(got->name, got->msqid))
		goto out;
	if (queue_ours(got->msqid, &ds)) {
		if (msgctl(got->msqid, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM) {
			ret = -errno;
			goto out;
		}
		ret = 1;
	}
	unlink(path);
out:
	close(fd);
	return ret;
}

/*
 * Queues this process let go of while other handles still held them: most
 * often children that will exit without closing (a child must _exit()), so
 * that no ipcq_close() would ever be the last.  Retried at the next create
 * and at exit(); whatever outlives that is for ipcq_clean().  Lock-free, so
 * that fork() can never inherit a held lock.
 */
#define SYSV_PENDING 64
static atomic_int pending[SYSV_PENDING]; /* msqid + 1; 0: a free slot */

static void pending_add(int msqid)
{
	for (int i = 0; i < SYSV_PENDING; i++) {
		int free_slot = 0;

		if (atomic_compare_exchange_strong(&pending[i], &free_slot, msqid + 1))
			return;
	}
}

static void pending_retry(void)
{
	char path[PATH_MAX + 16];
	struct sysv_rec got;

	for (int i = 0; i < SYSV_PENDING; i++) {
		int v = atomic_load_explicit(&pending[i], memory_order_relaxed);

		if (v == 0 || rec_path(path, sizeof(path), v - 1) < 0)
			continue;
		if (try_remove(path, NULL, &got) != -EAGAIN)
			atomic_compare_exchange_strong(&pending[i], &v, 0);
	}
}

__attribute__((destructor)) static void pending_at_exit(void)
{
	pending_retry();
}

/* Kernel limits ----------------------------------------------------------- */

static long long sysv_msgmax(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmax");
}

static long long sysv_msgmnb(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmnb");
}

static long long sysv_msgmni(void)
{
	return __ipcq_read_sysctl("/proc/sys/kernel/msgmni");
}

/*
 * The most msg_qbytes one queue may pin: kernel.msgmnb, or 64 MiB where that
 * is lower.  Above msgmnb only CAP_SYS_RESOURCE goes, and the kernel sets no
 * bound for it: root asking for capacity 2^40 got a queue that could hold
 * the machine's memory in unswappable kernel buffers.
 */
#define SYSV_QBYTES_CAP (64ULL << 20)

static unsigned long long sysv_qbytes_max(void)
{
	long long mnb = sysv_msgmnb();

	return mnb > 0 && (unsigned long long)mnb > SYSV_QBYTES_CAP ? (unsigned long long)mnb
								    : SYSV_QBYTES_CAP;
}

/*
 * msg_qbytes a queue needs: capacity × msg_max, or the default (msgmnb) for
 * capacity 0 — but always room for one message of msg_max.  0: overflow.
 */
static size_t want_qbytes(const struct ipcq_opts *o, size_t dflt)
{
	size_t n;

	if (o->capacity == 0)
		return dflt > o->msg_max ? dflt : o->msg_max;
	if (__builtin_mul_overflow(o->capacity, o->msg_max, &n))
		return 0;
	return n;
}

/* Create, open, close, unlink ------------------------------------------- */

struct sysv_new {
	int fd;	   /* the temporary file that notes the msqid */
	int msqid; /* or -errno */
};

/*
 * msgget() and a note of its msqid ("<msqid>\n") in the temporary file, in
 * raw system calls: this runs in __ipcq_unkillable().
 */
__attribute__((no_sanitize("address", "undefined"))) static int msgget_noted(void *arg)
{
	struct sysv_new *b = arg;
	char text[16], *t = text + sizeof(text);
	long id = syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
	unsigned long v = (unsigned long)id;

	b->msqid = id < 0 ? -errno : (int)id;
	if (id < 0)
		return 0;
	*--t = '\n';
	do
		*--t = (char)('0' + v % 10);
	while (v /= 10);
	syscall(SYS_pwrite64, b->fd, t, (size_t)(text + sizeof(text) - t), 0L);
	return 0;
}

/*
 * A new IPC_PRIVATE queue holding @o's capacity, its record @r published
 * and read-locked in *lock_fd (this handle's reference); sets r->msqid and
 * *qbytes.  The queue exists from msgget() on, while ipcq_clean() finds it
 * only through a file: a SIGKILL between the two left it for good (half of
 * the creators killed in a create loop did).  So msgget() and a note of
 * its msqid run where our death cannot part them, and clean_tmp() removes
 * the queue a dead creator's note names.
 */
static int queue_new(const struct ipcq_opts *o, struct sysv_rec *r, size_t *qbytes, int *lock_fd)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 16], text[512];
	struct sysv_new b;
	struct msqid_ds ds;
	int fd, ret;

	fd = tmp_create(tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	/* A record is read-locked before anyone can see it (see the top comment). */
	ret = __ipcq_ofd_lock(fd, F_RDLCK, false);
	if (ret < 0)
		goto fail_tmp;
	b = (struct sysv_new){.fd = fd, .msqid = -EIO};
	__ipcq_unkillable(msgget_noted, &b);
	ret = b.msqid;
	if (ret < 0)
		goto fail_tmp;
	r->msqid = b.msqid;
	if (msgctl(r->msqid, IPC_STAT, &ds) < 0)
		goto fail_errno;
	*qbytes = want_qbytes(o, ds.msg_qbytes);
	if (*qbytes != ds.msg_qbytes) {
		/* Above kernel.msgmnb this needs CAP_SYS_RESOURCE: EPERM otherwise. */
		ds.msg_qbytes = *qbytes;
		if (msgctl(r->msqid, IPC_SET, &ds) < 0 || msgctl(r->msqid, IPC_STAT, &ds) < 0)
			goto fail_errno;
		/* The kernel keeps 32 bits of it (2^40 became 0): never claim more. */
		if (ds.msg_qbytes != *qbytes) {
			ret = -EINVAL;
			goto fail_queue;
		}
	}
	/* The record is longer than the note it overwrites: no truncation needed. */
	rec_text(r, text, sizeof(text));
	ret = rec_path(path, sizeof(path), r->msqid);
	if (ret == 0)
		ret = tmp_publish(fd, tmp, path, text);
	if (ret < 0)
		goto fail_queue;
	*lock_fd = fd;
	return 0;
fail_errno:
	ret = -errno;
fail_queue:
	msgctl(r->msqid, IPC_RMID, NULL);
fail_tmp:
	unlink(tmp);
	close(fd);
	return ret;
}

static int sysv_create(struct ipcq *q, const struct ipcq_opts *o)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8], text[32];
	struct sysv_priv *p = priv(q);
	struct sysv_rec r = {.key = IPC_PRIVATE}, old;
	long long msgmax = sysv_msgmax();
	struct msqid_ds ds;
	int lk = -1, ret;
	size_t qbytes = 0;

	/* kernel.msgmax is an int: no setting carries more (ipcq.h's -EMSGSIZE). */
	if (o->msg_max > INT_MAX)
		return -EMSGSIZE;
	/* The kernel would refuse every send (EINVAL): refuse the queue instead. */
	if (msgmax > 0 && o->msg_max > (unsigned long long)msgmax)
		return -EINVAL;
	if (want_qbytes(o, 1) == 0 || want_qbytes(o, 1) > sysv_qbytes_max())
		return -EINVAL;
	pending_retry();
	if (o->name) {
		lk = names_lock();
		if (lk < 0)
			return lk;
		ret = named_find(o->name, &ds, &old);
		if (ret != -ENOENT) {
			ret = ret == 0 ? -EEXIST : ret;
			goto out;
		}
	}
	r.pid = getpid();
	r.start = __ipcq_proc_start(r.pid);
	r.msg_max = o->msg_max;
	r.anon = !o->name;
	snprintf(r.name, sizeof(r.name), "%s", o->name ? o->name : "-");
	ret = queue_new(o, &r, &qbytes, &p->lock_fd);
	if (ret < 0)
		goto out;
	if (o->name) {
		snprintf(text, sizeof(text), "%d\n", r.msqid);
		ret = name_path(path, sizeof(path), o->name);
		if (ret == 0)
			ret = file_publish(path, text);
		if (ret < 0) {
			close(p->lock_fd);
			if (rec_path(path, sizeof(path), r.msqid) == 0)
				unlink(path);
			msgctl(r.msqid, IPC_RMID, NULL);
			goto out;
		}
	}
	p->msqid = r.msqid;
	p->creator = r.pid;
	p->start = r.start;
	q->capacity = qbytes / o->msg_max;
out:
	if (lk >= 0)
		close(lk);
	return ret < 0 ? ret : 0;
}

static int sysv_open(struct ipcq *q, const char *name)
{
	char path[PATH_MAX + 16];
	struct sysv_priv *p = priv(q);
	struct sysv_rec r, now;
	struct msqid_ds ds;
	struct stat st;
	int fd, ret;

	ret = named_find(name, &ds, &r);
	if (ret < 0)
		return ret;
	ret = rec_path(path, sizeof(path), r.msqid);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	/* Our reference; a remover holding the write lock is done in a moment. */
	ret = __ipcq_ofd_lock(fd, F_RDLCK, true);
	if (ret == 0 && (fstat(fd, &st) < 0 || st.st_nlink == 0 || rec_parse(fd, &now) < 0 ||
			 now.pid != r.pid || now.start != r.start))
		ret = -ENOENT; /* unlinked and removed just now */
	if (ret < 0) {
		close(fd);
		return ret;
	}
	p->msqid = r.msqid;
	p->lock_fd = fd;
	p->creator = r.pid;
	p->start = r.start;
	q->msg_max = r.msg_max;
	q->capacity = ds.msg_qbytes / r.msg_max;
	return 0;
}

static int sysv_close(struct ipcq *q)
{
	struct sysv_priv *p = priv(q);
	struct sysv_rec expect = {.msqid = p->msqid, .pid = p->creator, .start = p->start}, got;
	char path[PATH_MAX + 16];
	int ret;

	/* Drop our reference first: the lock goes when the last one does. */
	close(p->lock_fd);
	p->lock_fd = -1;
	/* A named queue lives until unlinked (unlink checks the lock after the name). */
	if (q->named && name_points(q->name, p->msqid))
		return 0;
	ret = rec_path(path, sizeof(path), p->msqid);
	if (ret < 0)
		return ret;
	ret = try_remove(path, &expect, &got);
	if (ret == -EAGAIN)
		pending_add(p->msqid); /* another handle still holds it */
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

/* The name goes at once; the queue with the last handle (maybe now). */
static int sysv_unlink(const char *name)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8];
	struct sysv_rec r, got;
	struct msqid_ds ds;
	int lk, ret;

	lk = names_lock();
	if (lk < 0)
		return lk;
	ret = named_find(name, &ds, &r);
	if (ret == 0 || ret == -ENOENT) {
		/* A stale name (its queue gone) is removed too, but still -ENOENT. */
		if (name_path(path, sizeof(path), name) == 0 && unlink(path) < 0 && ret == 0)
			ret = -errno;
	}
	close(lk);
	if (ret < 0)
		return ret;
	ret = rec_path(path, sizeof(path), r.msqid);
	if (ret == 0)
		ret = try_remove(path, &r, &got);
	if (ret == -EAGAIN)
		pending_add(r.msqid); /* open handles keep it; the last one removes it */
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

/* Waiting ----------------------------------------------------------------- */

static pthread_once_t timer_once = PTHREAD_ONCE_INIT;
static pthread_key_t timer_key;
static bool timer_usable; /* SYSV_TIMER_SIGNAL runs our handler */

struct sysv_timer {
	timer_t id;
	bool ok;
};
static _Thread_local struct sysv_timer thread_timer;

static void timer_noop(int sig)
{
	(void)sig; /* only there to make the blocking call return EINTR */
}

static void timer_atfork_child(void)
{
	thread_timer.ok = false; /* POSIX timers are not inherited by fork() */
}

static void timer_dtor(void *arg)
{
	struct sysv_timer *t = arg;

	if (t->ok)
		timer_delete(t->id);
	t->ok = false;
}

static void timer_init(void)
{
	struct sigaction old, sa = {.sa_handler = timer_noop};

	if (pthread_key_create(&timer_key, timer_dtor) ||
	    pthread_atfork(NULL, NULL, timer_atfork_child))
		return;
	/* Never take over a signal the application uses: fall back to polling. */
	if (sigaction(SYSV_TIMER_SIGNAL, NULL, &old) < 0 || (old.sa_flags & SA_SIGINFO) ||
	    old.sa_handler != SIG_DFL)
		return;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART, although SysV IPC ignores it anyway */
	timer_usable = sigaction(SYSV_TIMER_SIGNAL, &sa, NULL) == 0;
}

/* The application may have taken the signal over since (or set SIG_IGN). */
static bool timer_still_ours(void)
{
	struct sigaction cur;

	return sigaction(SYSV_TIMER_SIGNAL, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_handler == timer_noop;
}

static int timer_arm(int64_t deadline)
{
	struct sysv_timer *t = &thread_timer;
	struct itimerspec its = {
		.it_value = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000},
		.it_interval = {.tv_sec = 0, .tv_nsec = 1000000},
	};

	if (!t->ok) {
		struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID,
				       .sigev_signo = SYSV_TIMER_SIGNAL};

		sev.sigev_notify_thread_id = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) < 0)
			return -errno;
		t->ok = true;
		pthread_setspecific(timer_key, t);
	}
	return timer_settime(t->id, TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static void timer_disarm(void)
{
	struct itimerspec zero = {0};

	timer_settime(thread_timer.id, 0, &zero, NULL);
}

/* One call; the "empty" and "full" answers of IPC_NOWAIT both become -EAGAIN. */
static ssize_t io_once(const struct sysv_io *io, int flags)
{
	ssize_t n;

	if (io->rcv)
		n = msgrcv(io->msqid, io->msg, io->size, SYSV_MTYPE, flags);
	else
		n = msgsnd(io->msqid, io->msg, io->size, flags);
	if (n >= 0)
		return n;
	return errno == ENOMSG ? -EAGAIN : -errno;
}

static ssize_t io_forever(const struct sysv_io *io)
{
	ssize_t n;

	do
		n = io_once(io, 0);
	while (n == -EINTR);
	return n;
}

/* Fallback: IPC_NOWAIT tries, sleeping 20 µs, doubling up to 1 ms. */
static ssize_t io_poll(const struct sysv_io *io, int64_t deadline)
{
	int64_t nap = 20000, left;
	ssize_t n;

	for (;;) {
		n = io_once(io, IPC_NOWAIT);
		if (n != -EAGAIN)
			return n;
		left = __ipcq_left_ns(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		if (left > 0 && nap > left)
			nap = left;
		clock_nanosleep(CLOCK_MONOTONIC, 0,
				&(struct timespec){.tv_sec = 0, .tv_nsec = (long)nap}, NULL);
		nap = nap * 2 > 1000000 ? 1000000 : nap * 2;
	}
}

/*
 * The slow path of a timed put or get, after an IPC_NOWAIT try found the
 * queue full or empty: block until the per-thread timer interrupts us.
 */
static ssize_t io_timed(const struct sysv_io *io, int64_t timeout_ns)
{
	int64_t deadline = __ipcq_deadline(timeout_ns);
	sigset_t set, old;
	ssize_t n;

	/* A deadline past the clock's range (-1) is no deadline at all. */
	if (deadline < 0)
		return io_forever(io);
	pthread_once(&timer_once, timer_init);
	if (!timer_usable || !timer_still_ours())
		return io_poll(io, deadline);
	/* The application may block the signal in this thread: open it for the wait. */
	sigemptyset(&set);
	sigaddset(&set, SYSV_TIMER_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	if (timer_arm(deadline) < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return io_poll(io, deadline);
	}
	for (;;) {
		n = io_once(io, 0);
		if (n != -EINTR)
			break;
		/* Our timer or another signal: decide with a try that cannot block. */
		n = io_once(io, IPC_NOWAIT);
		if (n != -EAGAIN)
			break;
		if (__ipcq_left_ns(deadline) == 0) {
			n = -ETIMEDOUT;
			break;
		}
	}
	/* A tick still pending is delivered (to the no-op) while unblocked. */
	timer_disarm();
	if (sigismember(&old, SYSV_TIMER_SIGNAL))
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

/*
 * One put or get: IPCQ_FOREVER blocks in the kernel; otherwise an IPC_NOWAIT
 * try first (the fast path: one system call), then a timed wait.
 */
static ssize_t io_run(const struct sysv_io *io, int64_t timeout_ns)
{
	ssize_t n;

	if (timeout_ns == IPCQ_FOREVER)
		return io_forever(io);
	n = io_once(io, IPC_NOWAIT);
	if (n == -EAGAIN && timeout_ns > 0)
		n = io_timed(io, timeout_ns);
	return n;
}

/* Put and get ------------------------------------------------------------- */

struct sysv_stack_msg {
	long mtype;
	char mtext[SYSV_STACK_MSG];
};

static int sysv_put(struct ipcq *q, const void *msg, size_t len, int64_t timeout_ns)
{
	struct sysv_stack_msg sbuf;
	struct sysv_io io = {.msqid = priv(q)->msqid, .msg = &sbuf, .size = len};
	ssize_t n;

	if (len > SYSV_STACK_MSG && !(io.msg = malloc(sizeof(long) + len)))
		return -ENOMEM;
	*(long *)io.msg = SYSV_MTYPE;
	if (len)
		memcpy((char *)io.msg + sizeof(long), msg, len);
	n = io_run(&io, timeout_ns);
	if (io.msg != &sbuf)
		free(io.msg);
	return n < 0 ? (int)n : 0;
}

static ssize_t sysv_get(struct ipcq *q, void *buf, size_t cap, int64_t timeout_ns)
{
	struct sysv_stack_msg sbuf;
	struct sysv_io io = {
		.msqid = priv(q)->msqid, .rcv = true, .msg = &sbuf, .size = q->msg_max};
	ssize_t n;

	(void)cap; /* >= msg_max (queue.c): no message can be longer */
	if (io.size > SYSV_STACK_MSG && !(io.msg = malloc(sizeof(long) + io.size)))
		return -ENOMEM;
	n = io_run(&io, timeout_ns);
	if (n > 0)
		memcpy(buf, (char *)io.msg + sizeof(long), (size_t)n);
	if (io.msg != &sbuf)
		free(io.msg);
	return n;
}

/* State ------------------------------------------------------------------- */

static ssize_t sysv_qsize(struct ipcq *q)
{
	struct msqid_ds ds;

	if (msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0)
		return -errno;
	return (ssize_t)ds.msg_qnum;
}

static bool sysv_empty(struct ipcq *q)
{
	struct msqid_ds ds;

	return msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0 || ds.msg_qnum == 0;
}

/* Full: no room for one more message of msg_max (bytes or, in Linux, count). */
static bool sysv_full(struct ipcq *q)
{
	struct msqid_ds ds;

	if (msgctl(priv(q)->msqid, IPC_STAT, &ds) < 0)
		return false;
	return ds.msg_cbytes + q->msg_max > ds.msg_qbytes || ds.msg_qnum >= ds.msg_qbytes;
}

/* Limits, explanations, clean --------------------------------------------- */

static ssize_t sysv_limits(struct ipcq_limit *out, size_t n)
{
	if (n > 0)
		__ipcq_limit_set(&out[0], "kernel.msgmax", sysv_msgmax(), "bytes",
				 "largest SysV message (msg_max)", "sysctl -w kernel.msgmax=N");
	if (n > 1)
		__ipcq_limit_set(&out[1], "kernel.msgmnb", sysv_msgmnb(), "bytes",
				 "bytes one SysV queue holds (capacity x msg_max)",
				 "sysctl -w kernel.msgmnb=N");
	if (n > 2)
		__ipcq_limit_set(&out[2], "kernel.msgmni", sysv_msgmni(), "queues",
				 "SysV queues on the system", "sysctl -w kernel.msgmni=N");
	return 3;
}

static int sysv_explain(const struct ipcq_opts *o, int err, char *buf, size_t len)
{
	long long msgmax = sysv_msgmax(), msgmnb = sysv_msgmnb();
	size_t need = want_qbytes(o, msgmnb > 0 ? (size_t)msgmnb : 0);
	int n = 0;

	if (err > 0)
		err = -err;
	if (err == -EINVAL && msgmax > 0 && o->msg_max > (unsigned long long)msgmax)
		n = snprintf(buf, len,
			     "sysv: msg_max %zu is above kernel.msgmax = %lld bytes; "
			     "raise it: sysctl -w kernel.msgmax=%zu",
			     o->msg_max, msgmax, o->msg_max);
	else if (err == -EINVAL && (need == 0 || need > sysv_qbytes_max()))
		n = snprintf(buf, len,
			     "sysv: capacity %zu x msg_max %zu is above %llu bytes, the most "
			     "one SysV queue may pin (kernel.msgmnb, at least 64 MiB; "
			     "CAP_SYS_RESOURCE would let the kernel pin any amount): ask for a "
			     "smaller capacity",
			     o->capacity, o->msg_max, sysv_qbytes_max());
	else if (err == -EPERM && msgmnb > 0 && need > (unsigned long long)msgmnb)
		n = snprintf(
			buf, len,
			"sysv: %zu bytes per queue (capacity x msg_max) is above kernel.msgmnb = "
			"%lld bytes; going above it needs CAP_SYS_RESOURCE, so raise the "
			"default instead: sysctl -w kernel.msgmnb=%zu",
			need, msgmnb, need);
	else if (err == -ENOSPC)
		n = snprintf(buf, len,
			     "sysv: the system has kernel.msgmni = %lld SysV queues already; "
			     "raise it: sysctl -w kernel.msgmni=N (or remove stale ones: ipcbench "
			     "clean)",
			     sysv_msgmni());
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? (int)len - 1 : n;
}

/*
 * A ".new-<pid>-..." file whose creator died before renaming it: a name or
 * a record not yet published, or queue_new()'s note of a fresh msqid.  The
 * queue a note or an unpublished record names has no published record, so
 * nothing else would ever find it: removed here when it is still ours and
 * untouched (no message ever sent or received: no msqid reused since).
 * A name's note names a queue whose record exists: clean_one() decides.
 * Returns 1 when a queue was removed, else 0.
 */
static int clean_tmp(int dfd, const char *leaf, ipcq_clean_fn fn, void *ctx)
{
	char path[PATH_MAX + 16], text[32], what[128];
	struct msqid_ds ds;
	struct sysv_rec r;
	int fd, msqid = -1, removed = 0;
	ssize_t n;
	pid_t pid;

	if (!__ipcq_reg_tmp_left(leaf, "new", &pid))
		return 0;
	fd = openat(dfd, leaf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/*
	 * queue_new()'s file stays read-locked while the unkillable child that
	 * makes the queue runs on after its creator's death (it shares the
	 * descriptor table): removing the file then, before its note, left
	 * the queue that child was about to make for good.
	 */
	if (fd >= 0 && __ipcq_ofd_unheld(fd, false) == -EAGAIN) {
		close(fd);
		return 0;
	}
	if (fd >= 0) {
		if (rec_parse(fd, &r) == 0) {
			msqid = r.msqid;
		} else if ((n = pread(fd, text, sizeof(text) - 1, 0)) > 0) {
			text[n] = '\0';
			if (sscanf(text, "%d", &msqid) != 1)
				msqid = -1;
		}
		close(fd);
	}
	if (msqid >= 0 && rec_path(path, sizeof(path), msqid) == 0 && access(path, F_OK) < 0 &&
	    errno == ENOENT && queue_ours(msqid, &ds) && ds.msg_lspid == 0 && ds.msg_lrpid == 0 &&
	    msgctl(msqid, IPC_RMID, NULL) == 0) {
		removed = 1;
		if (fn) {
			snprintf(what, sizeof(what),
				 "SysV queue msqid %d (key 0x00000000, its creator pid %d killed "
				 "while creating it)",
				 msqid, pid);
			fn(ctx, "sysv", what);
		}
	}
	unlinkat(dfd, leaf, 0);
	return removed;
}

/* One record: 1 when its queue was removed, 0 when kept, -errno. */
static int clean_one(int msqid, ipcq_clean_fn fn, void *ctx)
{
	char path[PATH_MAX + 16], what[IPCQ_NAME_MAX + 128];
	struct sysv_rec r, got;
	struct msqid_ds ds;
	int ret;

	if (rec_read(msqid, &r) < 0 || rec_path(path, sizeof(path), msqid) < 0)
		return 0; /* not a record of ours: leave it */
	if (msgctl(msqid, IPC_STAT, &ds) < 0) {
		if (errno == EINVAL || errno == EIDRM)
			unlink(path); /* the queue is gone: a stale record */
		return 0;
	}
	if ((unsigned)ds.msg_perm.__key != r.key || ds.msg_perm.cuid != geteuid()) {
		unlink(path); /* the msqid names somebody else's queue now */
		return 0;
	}
	/* Named queues live until unlinked. */
	if (!r.anon && name_points(r.name, msqid))
		return 0;
	/*
	 * No read lock left means no handle left in any process, so nobody can
	 * reach the queue again, whether or not its creator still runs (it may
	 * have closed its handle before a child that exited without closing).
	 */
	ret = try_remove(path, &r, &got);
	if (ret == -EAGAIN)
		return 0; /* a process that inherited or opened a handle still runs */
	if (ret <= 0)
		return ret;
	if (fn) {
		snprintf(what, sizeof(what),
			 "SysV queue msqid %d (key 0x%08x%s%s, created by pid %d, %s)", msqid,
			 r.key, r.anon ? "" : ", unlinked name ", r.anon ? "" : r.name, (int)r.pid,
			 __ipcq_proc_alive(r.pid, r.start) ? "no handle left" : "dead");
		fn(ctx, "sysv", what);
	}
	return 1;
}

/*
 * Removes the queues that no live process holds a handle to (no OFD read
 * lock left on the record: their holders died or exited without closing)
 * and that nobody can reach again (anonymous, or named but unlinked); also records whose queue is gone,
 * names whose queue is gone, and temporary files of dead creators.  A named
 * queue that still has its name is kept: it lives until unlinked.
 */
static ssize_t sysv_clean(ipcq_clean_fn fn, void *ctx)
{
	char dir[PATH_MAX];
	struct dirent *de;
	ssize_t count = 0;
	int lk, ret = 0;
	DIR *d;

	ret = __ipcq_private_dir(dir, sizeof(dir), "sysv");
	if (ret < 0)
		return ret;
	lk = names_lock(); /* no name is being created or unlinked meanwhile */
	if (lk < 0)
		return lk;
	d = opendir(dir);
	if (!d) {
		ret = -errno;
		goto out;
	}
	while ((de = readdir(d))) {
		struct msqid_ds ds;
		struct sysv_rec r;
		char *end;
		long id;

		if (de->d_name[0] == '.') {
			count += clean_tmp(dirfd(d), de->d_name, fn, ctx);
			continue;
		}
		if (!strncmp(de->d_name, "n.", 2)) {
			if (named_find(de->d_name + 2, &ds, &r) == -ENOENT)
				unlinkat(dirfd(d), de->d_name, 0); /* a name whose queue is gone */
			continue;
		}
		id = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || id < 0 || id > INT32_MAX)
			continue;
		ret = clean_one((int)id, fn, ctx);
		if (ret < 0)
			break;
		count += ret;
		ret = 0;
	}
	closedir(d);
out:
	close(lk);
	return count ? count : ret;
}

/*
 * One name of ours: its queue found (named_find), its creator dead, no
 * handle left (no read lock on the record).  With @remove, the write lock
 * is taken first, so that an opener waiting for its read lock finds the
 * record unlinked.  Returns 1 when listed (and removed), 0 when kept.
 */
static int clean_named_one(int dfd, const char *leaf, const struct ipcq_clean_ctx *c)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8], what[IPCQ_NAME_MAX + 128];
	const char *name = leaf + 2; /* "n.<name>" */
	bool remove = c->remove;
	struct msqid_ds ds;
	struct sysv_rec r;
	int fd, ret;

	(void)dfd;
	if (named_find(name, &ds, &r) < 0 || __ipcq_proc_alive(r.pid, r.start) ||
	    rec_path(path, sizeof(path), r.msqid) < 0)
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ret = __ipcq_ofd_unheld(fd, remove);
	if (ret == 0 && remove) {
		if (name_path(path, sizeof(path), name) == 0)
			unlink(path);
		msgctl(r.msqid, IPC_RMID, NULL);
		if (rec_path(path, sizeof(path), r.msqid) == 0)
			unlink(path);
	}
	close(fd);
	if (ret < 0)
		return 0;
	if (c->fn) {
		snprintf(what, sizeof(what),
			 "SysV queue \"%s\" (msqid %d), created by pid %d (dead), no handle left%s",
			 name, r.msqid, (int)r.pid, remove ? ": removed" : "");
		c->fn(c->ctx, "sysv", what);
	}
	return 1;
}

/*
 * Named queues of dead creators that nobody holds (ipcq_clean_named()),
 * under the names lock: no name is created or unlinked meanwhile.
 */
static ssize_t sysv_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	struct ipcq_clean_ctx c = {.remove = remove, .fn = fn, .ctx = ctx};

	return __ipcq_private_each("sysv", "n.", true, clean_named_one, &c);
}

/* Raw users send mtype SYSV_MTYPE (ipcq_ext.h says so): ipcq_get() takes only it. */
static int sysv_kernel_id(const struct ipcq *q)
{
	return ((const struct sysv_priv *)q->priv)->msqid;
}

const struct ipcq_ops __ipcq_sysv_ops = {
	.name = "sysv",
	.priv_size = sizeof(struct sysv_priv),
	.create = sysv_create,
	.open = sysv_open,
	.put = sysv_put,
	.get = sysv_get,
	.qsize = sysv_qsize,
	.empty = sysv_empty,
	.full = sysv_full,
	.close = sysv_close,
	.unlink = sysv_unlink,
	.limits = sysv_limits,
	.explain = sysv_explain,
	.clean = sysv_clean,
	.clean_named = sysv_clean_named,
	.kernel_id = sysv_kernel_id,
};
