/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the backends: clocks, deadlines, waits on a
 * descriptor, names, directories, and running a few system calls unkillably.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
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

/*
 * mkdir 0700 if missing, then refuse anything that is not our own directory
 * closed to others.  Checked and fixed through one O_NOFOLLOW descriptor, so
 * what we check is what we chmod, never a symlink's target.  The umask may
 * have taken our own bits (0277 makes 0500, where we could create nothing):
 * the mode is ours to choose, so it becomes exactly 0700.
 */
static int safe_dir(const char *path)
{
	struct stat st;
	int fd, ret = 0;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (st.st_uid != geteuid() || (st.st_mode & 0077))
		ret = -EPERM;
	else if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int __ipcq_private_dir(char *buf, size_t len, const char *sub)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int ret;

	if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && access(xdg, W_OK) == 0)
		ret = snprintf(buf, len, "%s/ipcq", xdg);
	else
		ret = snprintf(buf, len, "/tmp/ipcq-%u", (unsigned)geteuid());
	if (ret < 0 || (size_t)ret >= len)
		return -ENAMETOOLONG;
	ret = safe_dir(buf);
	if (ret < 0 || !sub)
		return ret;
	size_t n = strlen(buf);
	ret = snprintf(buf + n, len - n, "/%s", sub);
	if (ret < 0 || (size_t)ret >= len - n)
		return -ENAMETOOLONG;
	return safe_dir(buf);
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
