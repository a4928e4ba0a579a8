/* SPDX-License-Identifier: MIT */
/*
 * ipcq_fd(): a descriptor that poll() and epoll report readable when a get
 * may succeed and writable when a put may, on every backend that has one
 * (-ENOTSUP otherwise: sysv, named shm rings, POLLOUT of unix and tcp): not ready on an empty (full)
 * queue, ready once a message (room) is there, also when another process
 * made it so while we slept in poll()/epoll_wait(), and settled again once
 * a get (put) found the queue empty (full).
 *
 * Usage: pollfd BACKEND
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ipcq.h"
#include "testutil.h"

#define MSG_MAX 128

static const char *backend;

/* poll() of @fd for @ev up to @ms: true when reported. */
static bool ready(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & ev);
}

static int late_put(void *arg)
{
	tu_sleep_ns(150 * TU_MS);
	return ipcq_put(arg, "late", 4, 2000 * TU_MS) ? 1 : 0;
}

static int late_get(void *arg)
{
	char m[MSG_MAX];

	tu_sleep_ns(150 * TU_MS);
	return ipcq_get(arg, m, sizeof(m), 2000 * TU_MS) < 0 ? 1 : 0;
}

static void drain(struct ipcq *q)
{
	char m[MSG_MAX];

	while (ipcq_get(q, m, sizeof(m), 20 * TU_MS) >= 0)
		;
}

static void test_pollin(struct ipcq *q)
{
	char m[MSG_MAX];
	int fd = ipcq_fd(q, POLLIN), ep;
	struct epoll_event ev = {.events = EPOLLIN}, got;
	int64_t t0;
	pid_t pid;

	tu_section("POLLIN: poll and epoll");
	CHECK(fd >= 0, "ipcq_fd(POLLIN): %d %s", fd, tu_errname(fd));
	if (fd < 0)
		return;
	CHECK_EQ(ipcq_fd(q, POLLIN), fd); /* the same descriptor each time */
	CHECK(!ready(fd, POLLIN, 0), "readable on an empty queue");
	CHECK_EQ(ipcq_put_nowait(q, "x", 1), 0);
	CHECK(ready(fd, POLLIN, 1000), "not readable with a message queued");
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), 1);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
	CHECK(!ready(fd, POLLIN, 0), "still readable after a get found the queue empty");

	/* another process puts while we sleep in poll() */
	t0 = tu_now_ns();
	pid = tu_fork(late_put, q);
	CHECK(ready(fd, POLLIN, 3000), "poll() not woken by another process's put");
	CHECK(tu_now_ns() - t0 >= 100 * TU_MS, "readable before the put");
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), 4);
	CHECK_EQ(tu_wait(pid, 3000 * TU_MS), 0);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);

	/* the same through epoll */
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0, "epoll_create1: %s", strerror(errno));
	ev.data.fd = fd;
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	CHECK_EQ(epoll_wait(ep, &got, 1, 0), 0);
	t0 = tu_now_ns();
	pid = tu_fork(late_put, q);
	CHECK_EQ(epoll_wait(ep, &got, 1, 3000), 1);
	CHECK(tu_now_ns() - t0 >= 100 * TU_MS, "epoll reported before the put");
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 1000 * TU_MS), 4);
	CHECK_EQ(tu_wait(pid, 3000 * TU_MS), 0);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(epoll_wait(ep, &got, 1, 0), 0);
	close(ep);
}

static void test_pollout(struct ipcq *q)
{
	int fd = ipcq_fd(q, POLLOUT);
	int64_t t0;
	size_t n;
	pid_t pid;

	tu_section("POLLOUT: writable while there is room");
	CHECK(fd >= 0, "ipcq_fd(POLLOUT): %d %s", fd, tu_errname(fd));
	if (fd < 0)
		return;
	CHECK(ready(fd, POLLOUT, 1000), "not writable on an empty queue");
	n = tu_fill(q, MSG_MAX);
	CHECK(n >= 1, "nothing fit");
	CHECK(!ready(fd, POLLOUT, 0), "writable on a full queue (%zu messages)", n);
	t0 = tu_now_ns();
	pid = tu_fork(late_get, q);
	CHECK(ready(fd, POLLOUT, 3000), "poll() not woken by another process's get");
	CHECK(tu_now_ns() - t0 >= 100 * TU_MS, "writable before the get");
	CHECK_EQ(tu_wait(pid, 3000 * TU_MS), 0);
	CHECK_EQ(ipcq_put_nowait(q, "y", 1), 0);
	drain(q);
}

int main(int argc, char **argv)
{
	struct ipcq *q;
	char name[64];
	int ret;

	backend = tu_begin(argc, argv, "pollfd BACKEND");
	ret = tu_create(&q, backend, NULL, 4, MSG_MAX);
	CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
	if (ret)
		return tu_end();
	CHECK_EQ(ipcq_fd(q, 0), -EINVAL);
	CHECK_EQ(ipcq_fd(q, POLLIN | POLLOUT), -EINVAL);
	CHECK_EQ(ipcq_fd(NULL, POLLIN), -EINVAL);
	if (!strcmp(backend, "sysv")) {
		CHECK_EQ(ipcq_fd(q, POLLIN), -ENOTSUP);
		CHECK_EQ(ipcq_fd(q, POLLOUT), -ENOTSUP);
	} else if (!strcmp(backend, "unix") || !strcmp(backend, "tcp")) {
		test_pollin(q);
		CHECK_EQ(ipcq_fd(q, POLLOUT), -ENOTSUP); /* sock_pvt.h: their send ends lie */
	} else {
		test_pollin(q);
		test_pollout(q);
	}
	CHECK_EQ(ipcq_close(q), 0);
	if (!strcmp(backend, "shm")) {
		tu_section("a named shm ring has no doorbell");
		tu_name(name, sizeof(name), "pollfd");
		ret = tu_create(&q, backend, name, 4, MSG_MAX);
		CHECK(ret == 0, "create: %d %s", ret, tu_errname(ret));
		if (ret == 0) {
			CHECK_EQ(ipcq_fd(q, POLLIN), -ENOTSUP);
			CHECK_EQ(ipcq_close(q), 0);
			CHECK_EQ(ipcq_unlink(backend, name), 0);
		}
	}
	return tu_end();
}
