/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the backends: clocks, deadlines, names, directories. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
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

/* mkdir 0700 if missing, then refuse anything that is not our own 0700 directory. */
static int safe_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EPERM;
	return 0;
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
