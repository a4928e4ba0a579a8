/* SPDX-License-Identifier: MIT */
/*
 * Names and lifetimes of named objects, once for every backend (the way the
 * kernel's ipc/util.c ipcget() serves msg, sem and shm): the private 0700
 * directory and its fallback, owner checks, liveness markers (pid plus start
 * time), creator records, reference records (OFD read locks, one per
 * handle), exclusive create (a temporary name renamed into place) and the
 * walks behind ipcq_clean() and ipcq_clean_named().  Declared in
 * registry_pvt.h; the backends keep their transport and fill struct
 * ipcq_reg_ops where their objects have names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry_pvt.h"

int __ipcq_fd_ours(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return st.st_uid == geteuid() && !(st.st_mode & 0077) ? 0 : -EACCES;
}

int __ipcq_open_ours(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW), ret;

	if (fd < 0)
		return -errno;
	ret = __ipcq_fd_ours(fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * What we found at a directory's path: ours (0), or why not.  Checked through
 * one O_NOFOLLOW descriptor, so what we check is what we chmod, never a
 * symlink's target.  The umask may have taken our own bits (0277 makes 0500,
 * where we could create nothing): the mode is ours to choose, so it becomes
 * exactly 0700.
 */
enum dir_state { DIR_OURS, DIR_NOT_DIR, DIR_FOREIGN, DIR_OPEN };

static int dir_check(const char *path, enum dir_state *state, struct stat *st)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ELOOP && errno != ENOTDIR)
			return -errno;
		*state = DIR_NOT_DIR;
		return 0;
	}
	if (fstat(fd, st) < 0)
		ret = -errno;
	else if (st->st_uid != geteuid())
		*state = DIR_FOREIGN;
	else if (st->st_mode & 0077)
		*state = DIR_OPEN;
	else if ((*state = DIR_OURS, (st->st_mode & 07777) != 0700) && fchmod(fd, 0700) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* mkdir 0700 if missing, then refuse (-EPERM) anything that is not ours alone. */
static int safe_dir(const char *path)
{
	enum dir_state state;
	struct stat st;
	int ret;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	ret = dir_check(path, &state, &st);
	return ret < 0 ? ret : state == DIR_OURS ? 0 : -EPERM;
}

/*
 * The fallback private directories live in /tmp as "ipcq-<uid>.XXXXXX"
 * (mkdtemp).  Why this is safe and found by every process of this user:
 *  - nobody else can make a directory that we own (only we and root can),
 *    nor rename or remove ours in the sticky /tmp, so a directory of that
 *    name that we own and that is closed to others is ours: an attacker can
 *    neither spoof one nor steal one, and has no name to squat (the suffix
 *    is random; the owner is what we look for, not the name);
 *  - a pointer file somewhere would itself need a place only we can write,
 *    which is what we lack: /dev/shm is as open to squatting as /tmp;
 *  - every process looks for such directories and takes the one of the
 *    smallest name, so all agree whatever order they come in.  Only the
 *    first creation is a race (two processes finding none and each making
 *    one): it runs under flock() of /tmp, so a second comes after the first
 *    is visible.  Anyone may hold that lock; after FALLBACK_LOCK_MS we go on
 *    without it (the race window reopens, nothing worse).
 * The choice is remembered per thread (and inherited through fork), checked
 * again at every use.
 */
#define FALLBACK_PARENT	 "/tmp"
#define FALLBACK_LOCK_MS 2000

/* A longer primary is not remembered (a truncated one never matches): looked up each time. */
static _Thread_local char fallback_for[256]; /* the refused primary */
static _Thread_local char fallback_dir[64];  /* "/tmp/ipcq-<uid>.XXXXXX" */

/* Of ours: a directory owned by us and closed to others, not a symlink. */
static bool fallback_ours(int dfd, const char *leaf)
{
	struct stat st;

	return fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == geteuid() && !(st.st_mode & 0077);
}

/* Fills @buf with the smallest-named fallback of ours in @dfd; false when none. */
static bool fallback_find(int dfd, char *buf, size_t len)
{
	char prefix[32], best[NAME_MAX + 1] = "";
	struct dirent *de;
	size_t n;
	DIR *d;
	int fd;

	fd = dup(dfd);
	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	rewinddir(d);
	n = (size_t)snprintf(prefix, sizeof(prefix), "ipcq-%u.", (unsigned)geteuid());
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, n) || strlen(de->d_name) != n + 6 ||
		    (best[0] && strcmp(de->d_name, best) >= 0) || !fallback_ours(dfd, de->d_name))
			continue;
		snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return false;
	return (size_t)snprintf(buf, len, "%s/%s", FALLBACK_PARENT, best) < len;
}

/* flock(LOCK_EX) of @fd for at most FALLBACK_LOCK_MS; true when held. */
static bool lock_bounded(int fd)
{
	for (int ms = 0; ms < FALLBACK_LOCK_MS; ms++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return false;
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 1000000}, NULL);
	}
	return false;
}

/* Finds or makes our fallback directory; its path in @buf. */
static int fallback(char *buf, size_t len)
{
	char tmpl[64];
	bool locked;
	int dfd, ret = 0;

	dfd = open(FALLBACK_PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fallback_find(dfd, buf, len))
		goto out;
	locked = lock_bounded(dfd);
	if (!fallback_find(dfd, buf, len)) {
		snprintf(tmpl, sizeof(tmpl), "%s/ipcq-%u.XXXXXX", FALLBACK_PARENT,
			 (unsigned)geteuid());
		if (!mkdtemp(tmpl))
			ret = -errno;
		else if ((size_t)snprintf(buf, len, "%s", tmpl) >= len)
			ret = -ENAMETOOLONG;
	}
	if (locked)
		flock(dfd, LOCK_UN);
out:
	close(dfd);
	return ret < 0 ? ret : safe_dir(buf);
}

/* Copies @s into @dst when it fits, else leaves "" (never a truncated path). */
static void remember(char *dst, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n < len)
		memcpy(dst, s, n + 1);
	else
		dst[0] = '\0';
}

/* The fallback this thread found before for @primary, when still ours. */
static bool fallback_cached(const char *primary, char *buf, size_t len)
{
	if (strcmp(fallback_for, primary) || !fallback_ours(AT_FDCWD, fallback_dir) ||
	    (size_t)snprintf(buf, len, "%s", fallback_dir) >= len)
		return false;
	return safe_dir(buf) == 0;
}

/* The directory a fallback replaces: $XDG_RUNTIME_DIR/ipcq, else /tmp/ipcq-<uid>. */
static int primary_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int ret;

	if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && access(xdg, W_OK) == 0)
		ret = snprintf(buf, len, "%s/ipcq", xdg);
	else
		ret = snprintf(buf, len, "/tmp/ipcq-%u", (unsigned)geteuid());
	return ret < 0 || (size_t)ret >= len ? -ENAMETOOLONG : 0;
}

int __ipcq_private_base(char *buf, size_t len, char *why, size_t why_len)
{
	static const char *const reason[] = {
		[DIR_NOT_DIR] = "is not a directory (a symlink or another file)",
		[DIR_FOREIGN] = "belongs to another user",
		[DIR_OPEN] = "is open to other users",
	};
	char primary[PATH_MAX];
	enum dir_state state;
	struct stat st = {0};
	int ret;

	ret = primary_dir(primary, sizeof(primary));
	if (ret < 0)
		return ret;
	if (mkdir(primary, 0700) < 0 && errno != EEXIST)
		return -errno;
	ret = dir_check(primary, &state, &st);
	if (ret < 0)
		return ret;
	if (state == DIR_OURS)
		return (size_t)snprintf(buf, len, "%s", primary) < len ? 0 : -ENAMETOOLONG;
	/* Not ours: another user made it first (or a link, or it was opened up). */
	if (!fallback_cached(primary, buf, len)) {
		ret = fallback(buf, len);
		if (ret < 0)
			return ret;
		remember(fallback_dir, sizeof(fallback_dir), buf);
		remember(fallback_for, sizeof(fallback_for), primary);
	}
	if (why && why_len) {
		if (state == DIR_FOREIGN)
			snprintf(why, why_len, "%s belongs to uid %u, not to us (uid %u)", primary,
				 (unsigned)st.st_uid, (unsigned)geteuid());
		else
			snprintf(why, why_len, "%s %s", primary, reason[state]);
	}
	return 1;
}

int __ipcq_private_dir(char *buf, size_t len, const char *sub)
{
	size_t n;
	int ret;

	ret = __ipcq_private_base(buf, len, NULL, 0);
	if (ret < 0 || !sub)
		return ret < 0 ? ret : 0;
	n = strlen(buf);
	ret = snprintf(buf + n, len - n, "/%s", sub);
	if (ret < 0 || (size_t)ret >= len - n)
		return -ENAMETOOLONG;
	return safe_dir(buf);
}

int __ipcq_private_file(char *buf, size_t len, const char *sub, const char *prefix,
			const char *leaf)
{
	int ret = __ipcq_private_dir(buf, len, sub);
	size_t n;

	if (ret < 0)
		return ret;
	n = strlen(buf);
	ret = snprintf(buf + n, len - n, "/%s%s", prefix, leaf);
	return ret < 0 || (size_t)ret >= len - n ? -ENAMETOOLONG : 0;
}

int __ipcq_dir_lock(const char *sub)
{
	char dir[PATH_MAX];
	int fd, ret;

	ret = __ipcq_private_dir(dir, sizeof(dir), sub);
	if (ret < 0)
		return ret;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	return fd;
}

ssize_t __ipcq_private_each(const char *sub, const char *prefix, bool lock,
			    int (*one)(int dfd, const char *leaf, const struct ipcq_clean_ctx *c),
			    struct ipcq_clean_ctx *c)
{
	char dir[PATH_MAX];
	size_t n = strlen(prefix);
	struct dirent *de;
	ssize_t count = 0;
	int lk = -1, ret;
	DIR *d;

	ret = __ipcq_private_dir(dir, sizeof(dir), sub);
	if (ret < 0)
		return ret;
	if (lock && (lk = __ipcq_dir_lock(sub)) < 0)
		return lk;
	d = opendir(dir);
	if (!d) {
		ret = -errno;
		if (lk >= 0)
			close(lk);
		return ret;
	}
	c->dir = dir;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, n) && (de->d_name[0] != '.' || prefix[0] == '.'))
			count += one(dirfd(d), de->d_name, c);
	closedir(d);
	if (lk >= 0)
		close(lk);
	return count;
}

int __ipcq_ofd_lock(int fd, short type, bool wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};

	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int __ipcq_ofd_unheld(int fd, bool take)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int ret;

	if (take) {
		ret = __ipcq_ofd_lock(fd, F_WRLCK, false);
		return ret == -EACCES ? -EAGAIN : ret;
	}
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type == F_UNLCK ? 0 : -EAGAIN;
}

#define CREATOR_FMT "ipcq-creator 1 pid %d start %llu ino %llu\n"

int __ipcq_creator_write(int fd, unsigned long long ino)
{
	char text[128];
	pid_t pid = getpid();
	int n = snprintf(text, sizeof(text), CREATOR_FMT, (int)pid, __ipcq_proc_start(pid), ino);
	ssize_t w;

	do
		w = pwrite(fd, text, (size_t)n, 0);
	while (w < 0 && errno == EINTR);
	if (w != n)
		return w < 0 ? -errno : -EIO;
	return 0;
}

ssize_t __ipcq_read_text(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = pread(fd, buf, len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int __ipcq_creator_read(int fd, pid_t *pid, unsigned long long *start, unsigned long long *ino)
{
	char text[128];
	ssize_t n = __ipcq_read_text(fd, text, sizeof(text));
	int p;

	if (n < 0)
		return (int)n;
	if (sscanf(text, CREATOR_FMT, &p, start, ino) != 3)
		return -EBADMSG;
	*pid = p;
	return 0;
}

/* Reads the state letter and start time of @pid from /proc; false if gone. */
static bool proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], line[1024], *p;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		/* comm may hold spaces and ')': fields resume after the last ')' */
		p = strrchr(line, ')');
		ok = p && sscanf(p + 2,
				 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				 "%*d %*d %*d %*d %llu",
				 state, start) == 2;
	}
	fclose(f);
	return ok;
}

unsigned long long __ipcq_proc_start(pid_t pid)
{
	unsigned long long start;
	char state;

	return proc_stat(pid, &state, &start) ? start : 0;
}

bool __ipcq_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;
	char state;

	if (pid <= 0)
		return false;
	if (!proc_stat(pid, &state, &now))
		/* No /proc entry we can read: trust kill(). */
		return !(kill(pid, 0) < 0 && errno == ESRCH);
	/*
	 * A zombie has released everything it held; its parent just has not
	 * reaped it yet (an init that reaps late, a test harness): dead to us.
	 */
	if (state == 'Z' || state == 'X')
		return false;
	return !start || now == start;
}

int __ipcq_reg_tmp_name(char *buf, size_t len, const char *kind)
{
	char prefix[64];
	pid_t pid = getpid();

	snprintf(prefix, sizeof(prefix), ".%s-%d-%llu-", kind, (int)pid, __ipcq_proc_start(pid));
	return __ipcq_random_name(buf, len, prefix);
}

bool __ipcq_reg_tmp_left(const char *leaf, const char *kind, pid_t *pid)
{
	size_t n = strlen(kind);
	unsigned long long start = 0;
	const char *p = leaf + 1 + n, *dash;
	char *end;
	long v;

	if (leaf[0] != '.' || strncmp(leaf + 1, kind, n) || *p != '-')
		return false;
	v = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != '-' || v <= 0 || v > INT_MAX)
		return false;
	/* ".<kind>-<pid>-<start>-<random>"; without the start: an older libipcq's */
	dash = strchr(end + 1, '-');
	if (dash)
		start = strtoull(end + 1, NULL, 10);
	*pid = (pid_t)v;
	return !__ipcq_proc_alive(*pid, start);
}

int __ipcq_reg_tmp_file(const char *sub, const char *kind, char *tmp, size_t len)
{
	char leaf[96];
	int fd, ret;

	ret = __ipcq_reg_tmp_name(leaf, sizeof(leaf), kind);
	if (ret == 0)
		ret = __ipcq_private_file(tmp, len, sub, "", leaf);
	if (ret < 0)
		return ret;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* exactly 0600 whatever the umask */
	if (fchmod(fd, 0600) < 0) {
		ret = -errno;
		unlink(tmp);
		close(fd);
		return ret;
	}
	return fd;
}

int __ipcq_reg_publish(int fd, const char *tmp, const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n = pwrite(fd, text, len, 0);

	if (n != (ssize_t)len)
		return n < 0 ? -errno : -EIO;
	return rename(tmp, path) < 0 ? -errno : 0;
}

int __ipcq_reg_file_publish(const char *sub, const char *path, const char *text)
{
	char tmp[PATH_MAX + 128];
	int fd, ret;

	fd = __ipcq_reg_tmp_file(sub, "new", tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	ret = __ipcq_reg_publish(fd, tmp, path, text);
	if (ret < 0)
		unlink(tmp);
	close(fd);
	return ret;
}

/* Tells @c's callback about one object found (printf-style @fmt); returns 1. */
__attribute__((format(printf, 3, 4))) static int report(const struct ipcq_clean_ctx *c,
							const char *backend, const char *fmt, ...)
{
	char what[PATH_MAX + 640];
	va_list ap;

	if (c->fn) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		c->fn(c->ctx, backend, what);
	}
	return 1;
}

/* Named objects with creator records ------------------------------------ */

static int rec_path(const struct ipcq_reg_ops *r, char *buf, size_t len, const char *name)
{
	return __ipcq_private_file(buf, len, r->sub, "n.", name);
}

static unsigned long long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Inode 0: its creator died between making the object and noting it; the object is its. */
static bool ino_matches(unsigned long long ino, int obj_fd)
{
	return ino == 0 || ino == fd_ino(obj_fd);
}

/* @name's object, through r->look() or r->remove() (@op) with its path. */
static int obj_op(const struct ipcq_reg_ops *r, int (*op)(const char *path), const char *name)
{
	char path[IPCQ_NAME_MAX + 64];
	int ret = r->path(path, sizeof(path), name);

	return ret < 0 ? ret : op(path);
}

/* Does @name's object exist?  Anything but -ENOENT counts as yes. */
static bool obj_exists(const struct ipcq_reg_ops *r, const char *name)
{
	int fd = obj_op(r, r->look, name);

	if (fd >= 0)
		close(fd);
	return fd != -ENOENT;
}

/*
 * The record of an object about to be made: "ino 0" until the inode is
 * noted, which only this creator can have made (the caller holds the
 * directory lock).  Write-locked meanwhile: an opener waits until it is
 * whole.  Any record there before is a stale one.  Returns the descriptor
 * or -errno; @path receives the record's path.
 */
static int rec_begin(const struct ipcq_reg_ops *r, const char *name, char *path, size_t len)
{
	int fd, ret;

	ret = rec_path(r, path, len, name);
	if (ret < 0)
		return ret;
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = fchmod(fd, 0600) < 0 ? -errno : __ipcq_ofd_lock(fd, F_WRLCK, false);
	if (!ret)
		ret = __ipcq_creator_write(fd, 0);
	if (ret) {
		unlink(path);
		close(fd);
		return ret;
	}
	return fd;
}

int __ipcq_reg_create(const struct ipcq_reg_ops *r, const char *name, int (*make)(void *arg),
		      void *arg, int *lock_fd)
{
	char rec[PATH_MAX + IPCQ_NAME_MAX + 8];
	int lk, fd, obj = -1, ret;

	lk = __ipcq_dir_lock(r->sub);
	if (lk < 0)
		return lk;
	/* The record of an object that exists is not ours to replace. */
	fd = obj_exists(r, name) ? -EEXIST : rec_begin(r, name, rec, sizeof(rec));
	ret = fd < 0 ? fd : (obj = make(arg));
	if (obj >= 0) {
		/* The inode noted; the write lock becomes this handle's read lock. */
		ret = __ipcq_creator_write(fd, fd_ino(obj));
		if (!ret)
			ret = __ipcq_ofd_lock(fd, F_RDLCK, false);
		if (ret < 0)
			obj_op(r, r->remove, name);
	}
	if (ret < 0 && fd >= 0) {
		unlink(rec);
		close(fd);
	} else if (ret >= 0) {
		*lock_fd = fd;
		ret = 0;
	}
	close(lk);
	return ret;
}

int __ipcq_reg_hold(const struct ipcq_reg_ops *r, const char *name, int obj_fd, int *lock_fd)
{
	char path[PATH_MAX + IPCQ_NAME_MAX + 8];
	unsigned long long start, ino;
	struct stat st;
	pid_t pid;
	int fd, ret;

	*lock_fd = -1;
	if (rec_path(r, path, sizeof(path), name) < 0)
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ret = __ipcq_fd_ours(fd);
	if (!ret)
		ret = __ipcq_ofd_lock(fd, F_RDLCK, true);
	if (!ret && fstat(fd, &st) == 0 && st.st_nlink == 0)
		ret = -ENOENT;
	if (!ret && (__ipcq_creator_read(fd, &pid, &start, &ino) < 0 || !ino_matches(ino, obj_fd)))
		ret = 1; /* not this object's record */
	if (ret) {
		close(fd);
		return ret < 0 ? ret : 0;
	}
	*lock_fd = fd;
	return 0;
}

/* -EACCES when the file @leaf of @dfd exists and is not ours alone, else 0. */
static int leaf_not_ours(int dfd, const char *leaf)
{
	int fd = openat(dfd, leaf, O_PATH | O_CLOEXEC | O_NOFOLLOW), ret;

	if (fd < 0)
		return 0;
	ret = __ipcq_fd_ours(fd) == -EACCES ? -EACCES : 0;
	close(fd);
	return ret;
}

/*
 * The unlink rule, for every backend: what ipcq_open() would refuse as not
 * ours alone (-EACCES), ipcq_unlink() refuses to remove, root included
 * (sysv applies it through its open's own checks, sysv_rec.c).
 */
static int obj_removable(const struct ipcq_reg_ops *r, const char *name)
{
	char rec[PATH_MAX + IPCQ_NAME_MAX + 8];
	int fd = obj_op(r, r->look, name), ret;

	ret = fd < 0 ? fd : __ipcq_fd_ours(fd);
	if (fd >= 0)
		close(fd);
	if (!ret && rec_path(r, rec, sizeof(rec), name) == 0)
		ret = leaf_not_ours(AT_FDCWD, rec);
	return ret;
}

int __ipcq_reg_unlink(const struct ipcq_reg_ops *r, const char *name)
{
	char rec[PATH_MAX + IPCQ_NAME_MAX + 8];
	int lk, ret;

	lk = __ipcq_dir_lock(r->sub);
	if (lk < 0)
		return lk;
	ret = obj_removable(r, name);
	if (!ret)
		ret = obj_op(r, r->remove, name);
	if ((!ret || ret == -ENOENT) && rec_path(r, rec, sizeof(rec), name) == 0)
		unlink(rec); /* a stale record goes too */
	close(lk);
	return ret;
}

/*
 * The record @leaf ("n.<name>") of the directory @dfd: its object listed when
 * the creator is dead and no handle holds the record, removed with @remove.
 * A record whose object is gone (or replaced by one it does not name) is
 * stale: removed with @remove, never listed.  Returns 1 when listed, else 0.
 */
static int clean_named_one(int dfd, const char *leaf, const struct ipcq_clean_ctx *c)
{
	const struct ipcq_reg_ops *r = c->reg;
	const char *name = leaf + 2;
	char path[IPCQ_NAME_MAX + 64];
	unsigned long long start, ino;
	int fd, obj = -1, ret = -ENOENT;
	pid_t pid = 0;

	fd = openat(dfd, leaf, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || r->path(path, sizeof(path), name) < 0 || __ipcq_fd_ours(fd) < 0 ||
	    __ipcq_creator_read(fd, &pid, &start, &ino) < 0 || __ipcq_proc_alive(pid, start))
		goto out;
	obj = obj_op(r, r->look, name);
	if (obj < 0 || !ino_matches(ino, obj)) {
		if (c->remove && __ipcq_ofd_unheld(fd, true) == 0)
			unlinkat(dfd, leaf, 0);
		goto out;
	}
	if (__ipcq_fd_ours(obj) < 0)
		goto out;
	ret = __ipcq_ofd_unheld(fd, c->remove);
	if (ret == 0 && c->remove) {
		ret = obj_op(r, r->remove, name);
		unlinkat(dfd, leaf, 0);
	}
out:
	if (obj >= 0)
		close(obj);
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		return 0;
	return report(c, r->backend, "%s %s, created by pid %d (dead), no handle left%s", r->kind,
		      path, (int)pid, c->remove ? ": removed" : "");
}

ssize_t __ipcq_reg_clean_named(const struct ipcq_reg_ops *r, bool remove, ipcq_clean_fn fn,
			       void *ctx)
{
	struct ipcq_clean_ctx c = {.remove = remove, .fn = fn, .ctx = ctx, .reg = r};

	return __ipcq_private_each(r->sub, "n.", true, clean_named_one, &c);
}

/* Named objects that are a directory ------------------------------------ */

int __ipcq_reg_dir_base(const struct ipcq_reg_dir *r)
{
	char path[PATH_MAX];
	int ret = __ipcq_private_dir(path, sizeof(path), r->sub), fd;

	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* @name's directory under @base, open, when it and each of its leaves are ours alone. */
static int dir_open_ours(const struct ipcq_reg_dir *r, int base, const char *name)
{
	int dfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), ret;

	if (dfd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
	ret = __ipcq_fd_ours(dfd);
	for (const char *const *l = r->leaves; *l && !ret; l++)
		ret = leaf_not_ours(dfd, *l);
	if (ret < 0) {
		close(dfd);
		return ret;
	}
	return dfd;
}

int __ipcq_reg_dir_open(const struct ipcq_reg_dir *r, const char *name)
{
	int base = __ipcq_reg_dir_base(r), dfd;

	if (base < 0)
		return base;
	dfd = dir_open_ours(r, base, name);
	close(base);
	return dfd;
}

static void dir_remove(const struct ipcq_reg_dir *r, int base, const char *dir)
{
	int dfd = openat(base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dfd >= 0) {
		for (const char *const *l = r->leaves; *l; l++)
			unlinkat(dfd, *l, 0);
		close(dfd);
	}
	unlinkat(base, dir, AT_REMOVEDIR);
}

/* The "creator" file of a new object's directory @dfd: for ipcq_clean_named(). */
static int dir_creator_write(int dfd)
{
	int fd = openat(dfd, "creator", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fchmod(fd, 0600) < 0 ? -errno : __ipcq_creator_write(fd, 0);
	close(fd);
	return ret;
}

int __ipcq_reg_dir_create(const struct ipcq_reg_dir *r, const char *name,
			  int (*build)(int dfd, void *arg), void *arg)
{
	int base, dfd = -1, ret;
	char tmp[96];

	base = __ipcq_reg_dir_base(r);
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
	/* Exactly 0700 whatever the umask (0277 would leave 0500). */
	if (!ret && fchmod(dfd, 0700) < 0)
		ret = -errno;
	if (!ret)
		ret = build(dfd, arg);
	if (!ret)
		ret = dir_creator_write(dfd);
	if (!ret && renameat2(base, tmp, base, name, RENAME_NOREPLACE) < 0)
		ret = -errno;
	if (dfd >= 0)
		close(dfd);
	if (ret < 0)
		dir_remove(r, base, tmp);
	close(base);
	return ret;
}

/* Renames @name of @base away, then removes it: 0 or -errno. */
static int dir_take_away(const struct ipcq_reg_dir *r, int base, const char *name)
{
	char tmp[96];
	int ret = __ipcq_reg_tmp_name(tmp, sizeof(tmp), "del");

	if (!ret && renameat2(base, name, base, tmp, RENAME_NOREPLACE) < 0)
		ret = -errno;
	if (!ret)
		dir_remove(r, base, tmp);
	return ret;
}

/* The unlink rule (obj_removable) for a directory: it and its files ours alone. */
static int dir_removable(const struct ipcq_reg_dir *r, int base, const char *name)
{
	int dfd = dir_open_ours(r, base, name);

	if (dfd < 0)
		return dfd;
	close(dfd);
	return 0;
}

int __ipcq_reg_dir_unlink(const struct ipcq_reg_dir *r, const char *name)
{
	int base = __ipcq_reg_dir_base(r), ret;

	if (base < 0)
		return base;
	ret = dir_removable(r, base, name);
	if (!ret)
		ret = dir_take_away(r, base, name);
	close(base);
	return ret;
}

/* One ".tmp-"/".del-" directory: removed when the process that left it is gone. */
static int dir_clean_leftover(int base, const char *leaf, const struct ipcq_clean_ctx *c)
{
	pid_t pid;

	if (!__ipcq_reg_tmp_left(leaf, "tmp", &pid) && !__ipcq_reg_tmp_left(leaf, "del", &pid))
		return 0;
	dir_remove(c->dreg, base, leaf);
	return report(c, c->dreg->backend, "directory %s/%.96s, left by pid %d (dead)", c->dir,
		      leaf, (int)pid);
}

ssize_t __ipcq_reg_dir_clean(const struct ipcq_reg_dir *r, ipcq_clean_fn fn, void *ctx)
{
	struct ipcq_clean_ctx c = {.fn = fn, .ctx = ctx, .dreg = r};

	return __ipcq_private_each(r->sub, ".", false, dir_clean_leftover, &c);
}

/*
 * The object @name of the directory @base: listed when its creator is dead
 * and no handle holds its ref file, and then removed with @remove (renamed
 * away under our write lock first, so that an opener finds it gone).
 * Returns 1 when listed, else 0.
 */
static int dir_clean_named_one(int base, const char *name, const struct ipcq_clean_ctx *c)
{
	const struct ipcq_reg_dir *r = c->dreg;
	unsigned long long start, ino;
	int dfd, cfd, mfd = -1, ret = -ENOENT;
	pid_t pid = 0;

	dfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return 0;
	cfd = openat(dfd, "creator", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (__ipcq_fd_ours(dfd) == 0 && cfd >= 0 && __ipcq_fd_ours(cfd) == 0 &&
	    __ipcq_creator_read(cfd, &pid, &start, &ino) == 0 && !__ipcq_proc_alive(pid, start))
		mfd = openat(dfd, r->ref, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (mfd >= 0 && __ipcq_fd_ours(mfd) == 0)
		ret = __ipcq_ofd_unheld(mfd, c->remove);
	if (ret == 0 && c->remove)
		ret = dir_take_away(r, base, name);
	if (mfd >= 0)
		close(mfd);
	if (cfd >= 0)
		close(cfd);
	close(dfd);
	if (ret < 0)
		return 0;
	return report(c, r->backend,
		      "%s \"%s\" (%s/%s), created by pid %d (dead), no handle left%s", r->kind,
		      name, c->dir, name, (int)pid, c->remove ? ": removed" : "");
}

ssize_t __ipcq_reg_dir_clean_named(const struct ipcq_reg_dir *r, bool remove, ipcq_clean_fn fn,
				   void *ctx)
{
	struct ipcq_clean_ctx c = {.remove = remove, .fn = fn, .ctx = ctx, .dreg = r};

	return __ipcq_private_each(r->sub, "", false, dir_clean_named_one, &c);
}
