/* SPDX-License-Identifier: MIT */
/*
 * proc: Python's multiprocessing.Process.  fork(), optionally bind through
 * topo, run fn(arg), _exit(ret & 0xff).  The parent watches the child through
 * a pidfd (Linux >= 5.3) so join can wait with a timeout and signals go to
 * exactly our child; without pidfds it falls back to waitpid(WNOHANG) and
 * short sleeps.  The child stays a zombie until we reap it, so its pid cannot
 * be reused under us while the handle says "running".
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pool_pvt.h"
#include "proc.h"
#include "topo.h"

enum proc_state { PROC_NEW, PROC_RUNNING, PROC_ENDED };

struct proc {
	proc_fn fn;
	void *arg;
	struct topo *topo;
	int cpu;
	enum proc_state state;
	pid_t pid;
	int pidfd; /* -1 when the kernel has none */
	int code;
};

int proc_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

int proc_new(struct proc **out, proc_fn fn, void *arg)
{
	struct proc *p;

	if (!out || !fn)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	p->cpu = -1;
	p->pidfd = -1;
	*out = p;
	return 0;
}

int proc_bind(struct proc *p, struct topo *t, int cpu)
{
	if (!p || cpu < -1 || (cpu >= 0 && !t))
		return -EINVAL;
	if (p->state != PROC_NEW)
		return -EBUSY;
	if (cpu >= 0 && !topo_has_cpu(t, cpu))
		return -EINVAL;
	p->topo = t;
	p->cpu = cpu;
	return 0;
}

/*
 * In the child: drop the stdio output the parent had not flushed yet (the
 * parent still prints it; flushing it here too would print it twice).
 */
void proc_child_init(void)
{
	__fpurge(stdout);
	__fpurge(stderr);
}

int proc_die_with(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return getppid() == parent ? 0 : -ESRCH;
}

int proc_start(struct proc *p)
{
	pid_t pid;

	if (!p)
		return -EINVAL;
	if (p->state != PROC_NEW)
		return -EBUSY;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ret;

		proc_child_init();
		if (p->cpu >= 0 && topo_bind_self(p->topo, p->cpu) < 0)
			_exit(127);
		ret = p->fn(p->arg);
		fflush(NULL);
		_exit(ret & 0xff);
	}
	p->pid = pid;
	p->state = PROC_RUNNING;
	/* Race-free: the child cannot be reaped by anyone but us. */
	p->pidfd = proc_pidfd_open(pid);
	if (p->pidfd < 0)
		p->pidfd = -1;
	return 0;
}

pid_t proc_pid(const struct proc *p)
{
	return p ? p->pid : 0;
}

int proc_status_code(int status)
{
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Reaps the child if it has ended; 1 when it had, 0 when still running. */
static int reap(struct proc *p, int flags)
{
	int status;
	pid_t r;

	do
		r = waitpid(p->pid, &status, flags);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0) {
		/* Someone else reaped it (SIGCHLD ignored): the code is lost. */
		p->code = 0;
	} else {
		p->code = proc_status_code(status);
	}
	p->state = PROC_ENDED;
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
	return 1;
}

/* Sleeps until the pidfd is readable or @left_ns passes (-1: forever). */
static void wait_pidfd(int fd, int64_t left_ns)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct timespec ts, *tsp = NULL;

	if (left_ns >= 0) {
		ts.tv_sec = left_ns / 1000000000;
		ts.tv_nsec = left_ns % 1000000000;
		tsp = &ts;
	}
	ppoll(&pfd, 1, tsp, NULL);
}

int proc_join(struct proc *p, int64_t timeout_ns)
{
	int64_t deadline, left = -1;

	if (!p || timeout_ns < -1)
		return -EINVAL;
	if (p->state == PROC_NEW)
		return -ECHILD;
	if (p->state == PROC_ENDED)
		return 0;
	deadline = timeout_ns > 0 ? pool_now_ns() + timeout_ns : 0;
	for (;;) {
		if (reap(p, WNOHANG))
			return 0;
		if (timeout_ns == 0)
			return -ETIMEDOUT;
		if (timeout_ns > 0) {
			left = deadline - pool_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		if (p->pidfd >= 0) {
			wait_pidfd(p->pidfd, left);
		} else {
			/* No pidfd: poll every millisecond, never past the deadline. */
			int64_t step = 1000000;
			struct timespec ts;

			if (left >= 0 && left < step)
				step = left;
			ts.tv_sec = 0;
			ts.tv_nsec = step;
			nanosleep(&ts, NULL);
		}
	}
}

bool proc_alive(struct proc *p)
{
	if (!p || p->state != PROC_RUNNING)
		return false;
	return !reap(p, WNOHANG);
}

int proc_exitcode(struct proc *p, int *code)
{
	if (!p || !code)
		return -EINVAL;
	if (p->state == PROC_NEW)
		return -ECHILD;
	if (p->state == PROC_RUNNING && !reap(p, WNOHANG))
		return -EBUSY;
	*code = p->code;
	return 0;
}

static int send_signal(struct proc *p, int sig)
{
	if (!p)
		return -EINVAL;
	if (p->state != PROC_RUNNING)
		return -ECHILD;
#ifdef SYS_pidfd_send_signal
	if (p->pidfd >= 0 && syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0)
		return 0;
#endif
	/* Not reaped yet, so the pid is still ours even if it is a zombie. */
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

int proc_terminate(struct proc *p)
{
	return send_signal(p, SIGTERM);
}

int proc_kill(struct proc *p)
{
	return send_signal(p, SIGKILL);
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->state == PROC_RUNNING) {
		send_signal(p, SIGKILL);
		reap(p, 0);
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}
