/* SPDX-License-Identifier: MIT */
/*
 * The sysv backend's waits (sysv.c has the rest).
 *
 * Timeouts: SysV calls have none.  A timed wait arms a per-thread POSIX timer
 * (CLOCK_MONOTONIC, SIGEV_THREAD_ID) that sends SYSV_TIMER_SIGNAL to this
 * thread at the deadline and every millisecond after (so a signal that lands
 * just before the blocking call is never lost); our no-op handler makes the
 * blocking msgsnd/msgrcv fail with EINTR (SysV IPC is never restarted).
 * When that signal is already someone else's or no timer can be had, waits
 * fall back to IPC_NOWAIT tries with sleeps growing to 1 ms.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "sysv_pvt.h"

/* Highest real-time signals are the least used; glibc keeps the lowest for itself. */
#define SYSV_TIMER_SIGNAL (SIGRTMAX - 2)

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

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
ssize_t __ipcq_sysv_io_run(const struct sysv_io *io, int64_t timeout_ns)
{
	ssize_t n;

	if (timeout_ns == IPCQ_FOREVER)
		return io_forever(io);
	n = io_once(io, IPC_NOWAIT);
	if (n == -EAGAIN && timeout_ns > 0)
		n = io_timed(io, timeout_ns);
	return n;
}
