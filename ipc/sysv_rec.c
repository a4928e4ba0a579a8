/* SPDX-License-Identifier: MIT */
/*
 * The sysv backend's records: names and lifetimes of SysV queues (sysv.c
 * has the data path and the ops).
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
 *     msgget() where our death cannot part them (__ipcq_sysv_queue_new()), so that
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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysv_pvt.h"

/* Records and names ------------------------------------------------------ */

/* @buf: the file @leaf of our "sysv" directory. */
static int sysv_path(char *buf, size_t len, const char *leaf)
{
	return __ipcq_private_file(buf, len, "sysv", "", leaf);
}

int __ipcq_sysv_rec_path(char *buf, size_t len, int msqid)
{
	char leaf[16];

	snprintf(leaf, sizeof(leaf), "%d", msqid);
	return sysv_path(buf, len, leaf);
}

int __ipcq_sysv_name_path(char *buf, size_t len, const char *name)
{
	char leaf[IPCQ_NAME_MAX + 8];

	snprintf(leaf, sizeof(leaf), "n.%s", name);
	return sysv_path(buf, len, leaf);
}

int __ipcq_sysv_rec_parse(int fd, struct sysv_rec *r)
{
	char text[512];
	ssize_t n = __ipcq_read_text(fd, text, sizeof(text));

	if (n < 0)
		return (int)n;
	if (sscanf(text,
		   SYSV_REC_MAGIC
		   " msqid %d key %x pid %d start %llu msg_max %zu anon %d name %200s",
		   &r->msqid, &r->key, &r->pid, &r->start, &r->msg_max, &r->anon, r->name) != 7)
		return -EBADMSG;
	return 0;
}

/* The text of record @r: what __ipcq_sysv_rec_parse() reads back. */
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

	ret = __ipcq_sysv_rec_path(path, sizeof(path), msqid);
	fd = ret < 0 ? ret : __ipcq_open_ours(path, O_RDONLY);
	if (fd < 0)
		return fd;
	ret = __ipcq_sysv_rec_parse(fd, r);
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

	ret = __ipcq_sysv_name_path(path, sizeof(path), name);
	fd = ret < 0 ? ret : __ipcq_open_ours(path, O_RDONLY);
	if (fd < 0)
		return fd;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	text[n] = '\0';
	return sscanf(text, "%d", msqid) == 1 ? 0 : -ENOENT;
}

bool __ipcq_sysv_name_points(const char *name, int msqid)
{
	int id;

	return name_read(name, &id) == 0 && id == msqid;
}

/* Serializes the name operations of this user (create, unlink, clean). */
int __ipcq_sysv_names_lock(void)
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
int __ipcq_sysv_named_find(const char *name, struct msqid_ds *ds, struct sysv_rec *r)
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
int __ipcq_sysv_try_remove(const char *path, const struct sysv_rec *expect, struct sysv_rec *got)
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
	if (fstat(fd, &st) < 0 || st.st_nlink == 0 || __ipcq_sysv_rec_parse(fd, got) < 0)
		goto out;
	if (expect &&
	    (got->msqid != expect->msqid || got->pid != expect->pid || got->start != expect->start))
		goto out;
	if (!got->anon && __ipcq_sysv_name_points(got->name, got->msqid))
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

void __ipcq_sysv_pending_add(int msqid)
{
	for (int i = 0; i < SYSV_PENDING; i++) {
		int free_slot = 0;

		if (atomic_compare_exchange_strong(&pending[i], &free_slot, msqid + 1))
			return;
	}
}

void __ipcq_sysv_pending_retry(void)
{
	char path[PATH_MAX + 16];
	struct sysv_rec got;

	for (int i = 0; i < SYSV_PENDING; i++) {
		int v = atomic_load_explicit(&pending[i], memory_order_relaxed);

		if (v == 0 || __ipcq_sysv_rec_path(path, sizeof(path), v - 1) < 0)
			continue;
		if (__ipcq_sysv_try_remove(path, NULL, &got) != -EAGAIN)
			atomic_compare_exchange_strong(&pending[i], &v, 0);
	}
}

__attribute__((destructor)) static void pending_at_exit(void)
{
	__ipcq_sysv_pending_retry();
}

/* New queues ------------------------------------------------------------- */

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
int __ipcq_sysv_queue_new(const struct ipcq_opts *o, struct sysv_rec *r, size_t *qbytes,
			  int *lock_fd)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 16], text[512];
	struct sysv_new b;
	struct msqid_ds ds;
	int fd, ret;

	fd = __ipcq_reg_tmp_file("sysv", "new", tmp, sizeof(tmp));
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
	ret = __ipcq_sysv_rec_path(path, sizeof(path), r->msqid);
	if (ret == 0)
		ret = __ipcq_reg_publish(fd, tmp, path, text);
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

/* Clean ------------------------------------------------------------------ */

/*
 * A ".new-<pid>-..." file whose creator died before renaming it: a name or
 * a record not yet published, or __ipcq_sysv_queue_new()'s note of a fresh msqid.  The
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
	 * __ipcq_sysv_queue_new()'s file stays read-locked while the unkillable child that
	 * makes the queue runs on after its creator's death (it shares the
	 * descriptor table): removing the file then, before its note, left
	 * the queue that child was about to make for good.
	 */
	if (fd >= 0 && __ipcq_ofd_unheld(fd, false) == -EAGAIN) {
		close(fd);
		return 0;
	}
	if (fd >= 0) {
		if (__ipcq_sysv_rec_parse(fd, &r) == 0) {
			msqid = r.msqid;
		} else if ((n = pread(fd, text, sizeof(text) - 1, 0)) > 0) {
			text[n] = '\0';
			if (sscanf(text, "%d", &msqid) != 1)
				msqid = -1;
		}
		close(fd);
	}
	if (msqid >= 0 && __ipcq_sysv_rec_path(path, sizeof(path), msqid) == 0 &&
	    access(path, F_OK) < 0 && errno == ENOENT && queue_ours(msqid, &ds) &&
	    ds.msg_lspid == 0 && ds.msg_lrpid == 0 && msgctl(msqid, IPC_RMID, NULL) == 0) {
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

	if (rec_read(msqid, &r) < 0 || __ipcq_sysv_rec_path(path, sizeof(path), msqid) < 0)
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
	if (!r.anon && __ipcq_sysv_name_points(r.name, msqid))
		return 0;
	/*
	 * No read lock left means no handle left in any process, so nobody can
	 * reach the queue again, whether or not its creator still runs (it may
	 * have closed its handle before a child that exited without closing).
	 */
	ret = __ipcq_sysv_try_remove(path, &r, &got);
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
ssize_t __ipcq_sysv_clean(ipcq_clean_fn fn, void *ctx)
{
	char dir[PATH_MAX];
	struct dirent *de;
	ssize_t count = 0;
	int lk, ret = 0;
	DIR *d;

	ret = __ipcq_private_dir(dir, sizeof(dir), "sysv");
	if (ret < 0)
		return ret;
	lk = __ipcq_sysv_names_lock(); /* no name is being created or unlinked meanwhile */
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
			if (__ipcq_sysv_named_find(de->d_name + 2, &ds, &r) == -ENOENT)
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
	if (__ipcq_sysv_named_find(name, &ds, &r) < 0 || __ipcq_proc_alive(r.pid, r.start) ||
	    __ipcq_sysv_rec_path(path, sizeof(path), r.msqid) < 0)
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ret = __ipcq_ofd_unheld(fd, remove);
	if (ret == 0 && remove) {
		if (__ipcq_sysv_name_path(path, sizeof(path), name) == 0)
			unlink(path);
		msgctl(r.msqid, IPC_RMID, NULL);
		if (__ipcq_sysv_rec_path(path, sizeof(path), r.msqid) == 0)
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
ssize_t __ipcq_sysv_clean_named(bool remove, ipcq_clean_fn fn, void *ctx)
{
	struct ipcq_clean_ctx c = {.remove = remove, .fn = fn, .ctx = ctx};

	return __ipcq_private_each("sysv", "n.", true, clean_named_one, &c);
}
