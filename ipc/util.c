/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the backends: clocks, deadlines, waits on a
 * descriptor, names, directories, and running a few system calls unkillably.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipcq_pvt.h"

int64_t __ipcq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t __ipcq_deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return -1;
	if (timeout_ns == 0)
		return 0;
	int64_t now = __ipcq_now_ns();
	/* Beyond the clock's range is as good as forever. */
	return timeout_ns > INT64_MAX - now ? -1 : now + timeout_ns;
}

int64_t __ipcq_left_ns(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	if (deadline == 0)
		return 0;
	left = deadline - __ipcq_now_ns();
	return left > 0 ? left : 0;
}

int __ipcq_poll_ms(int64_t deadline, int slice_ms)
{
	int64_t left = __ipcq_left_ns(deadline);
	int64_t ms;

	if (left < 0)
		return slice_ms > 0 ? slice_ms : -1;
	ms = (left + 999999) / 1000000;
	if (slice_ms > 0 && ms > slice_ms)
		ms = slice_ms;
	return (int)(ms > INT32_MAX ? INT32_MAX : ms);
}

int __ipcq_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	if (__ipcq_left_ns(deadline) == 0)
		return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
	if (poll(&pfd, 1, __ipcq_poll_ms(deadline, 0)) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int __ipcq_retry_fd(int fd, short events, int err, int64_t timeout_ns, int64_t *deadline)
{
	if (err == EINTR)
		return 0; /* a handler without SA_RESTART: try again */
	if (err != EAGAIN)
		return -err;
	if (timeout_ns == IPCQ_NOWAIT)
		return -EAGAIN;
	/* Never 0 now: IPCQ_FOREVER gives -1, a timeout a time past boot. */
	if (*deadline == 0)
		*deadline = __ipcq_deadline(timeout_ns);
	return __ipcq_wait_fd(fd, events, *deadline);
}

long __ipcq_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	return syscall(SYS_futex, w, FUTEX_WAIT, val, &ts, NULL, 0);
}

void __ipcq_futex_wake_all(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int __ipcq_random_name(char *buf, size_t len, const char *prefix)
{
	uint64_t r;
	ssize_t n;
	int ret;

	do
		n = getrandom(&r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(r))
		return n < 0 ? -errno : -EIO;
	ret = snprintf(buf, len, "%s%016llx", prefix, (unsigned long long)r);
	return ret < 0 || (size_t)ret >= len ? -ENAMETOOLONG : 0;
}

int __ipcq_fd_ours(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return st.st_uid == geteuid() && !(st.st_mode & 0077) ? 0 : -EACCES;
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

int __ipcq_creator_read(int fd, pid_t *pid, unsigned long long *start, unsigned long long *ino)
{
	char text[128];
	ssize_t n;
	int p;

	do
		n = pread(fd, text, sizeof(text) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	if (sscanf(text, CREATOR_FMT, &p, start, ino) != 3)
		return -EBADMSG;
	*pid = p;
	return 0;
}

void __ipcq_unkillable(int (*fn)(void *), void *arg)
{
	alignas(16) char stack[16384];
	pid_t pid;

	/* Exit signal 0: no SIGCHLD, and wait(-1) elsewhere never reaps it. */
	pid = clone(fn, stack + sizeof(stack), CLONE_VM | CLONE_FILES | CLONE_VFORK, arg);
	if (pid < 0) {
		fn(arg);
		return;
	}
	while (waitpid(pid, NULL, __WCLONE) < 0 && errno == EINTR)
		;
}

long long __ipcq_read_sysctl(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

void __ipcq_limit_set(struct ipcq_limit *l, const char *name, long long value, const char *unit,
		      const char *what, const char *raise)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->value = value;
	snprintf(l->unit, sizeof(l->unit), "%s", unit);
	snprintf(l->what, sizeof(l->what), "%s", what);
	snprintf(l->raise, sizeof(l->raise), "%s", raise);
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
