/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the backends: the one monotonic clock, deadlines,
 * waits on a descriptor or a shared futex, the one source of random names,
 * kernel limits, and running a few system calls unkillably.  Names and
 * lifetimes of objects are registry.c's.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
