/* SPDX-License-Identifier: MIT */
/*
 * The socket backends (unix, tcp) beyond the common contract:
 *  - a named queue's keeper holds the pair: a message put before every
 *    handle closed is there for the next opener; the keeper is ours
 *    (SO_PEERCRED), called ipcq-keeper, and gone when ipcq_unlink returns;
 *  - a keeper killed by SIGKILL: open says -ENOENT, unlink still removes
 *    the name, nothing is left;
 *  - a capacity beyond the socket buffers is -ENOBUFS, and ipcq_explain()
 *    and ipcq_limits() name net.core.wmem_max.
 *
 * Usage: sock_keeper unix|tcp
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

static const char *backend;

/* The pid of the keeper of the named queue @name, through its socket; -1 when none answers. */
static pid_t keeper_pid(const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct ucred cr = {0};
	socklen_t l = sizeof(cr);
	int dfd, c;
	pid_t pid = -1;

	if (ipcq_private_dir(dir, sizeof(dir), NULL, 0) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, backend, name);
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	/* sun_path is short; the directory may be deep */
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/sock", dfd);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.uid == geteuid())
		pid = cr.pid;
	if (c >= 0)
		close(c);
	close(dfd);
	return pid;
}

/* True while @pid runs (a zombie waiting for init does not). */
static bool running(pid_t pid)
{
	char path[64], line[512], *p;
	bool alive = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')))
		alive = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

static bool is_keeper(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "ipcq-keeper\n");
}

static void test_keeper(void)
{
	struct ipcq *q = NULL;
	char name[64], buf[64];
	pid_t pid;
	int ret;

	tu_section("%s: the keeper holds a named queue's messages; unlink ends it", backend);
	tu_name(name, sizeof(name), "keep");
	ret = tu_create(&q, backend, name, 4, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	if (ret)
		return;
	CHECK_EQ(ipcq_put_nowait(q, "kept", 5), 0);
	CHECK_EQ(ipcq_close(q), 0);
	pid = keeper_pid(name);
	CHECK(pid > 0 && pid != getpid(), "no keeper of ours answers on the queue's socket");
	CHECK(pid <= 0 || is_keeper(pid), "pid %d is not named ipcq-keeper", (int)pid);
	ret = ipcq_open(&q, backend, name);
	CHECK(ret == 0, "open after every handle closed: %s", tu_errname(ret));
	if (ret == 0) {
		CHECK_EQ(ipcq_capacity(q) >= 4, 1);
		CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 5);
		CHECK(!strcmp(buf, "kept"), "got \"%.5s\"", buf);
		CHECK_EQ(ipcq_close(q), 0);
	}
	CHECK_EQ(ipcq_unlink(backend, name), 0);
	CHECK(pid <= 0 || !running(pid), "keeper %d still runs after ipcq_unlink returned",
	      (int)pid);
	CHECK_EQ(ipcq_open(&q, backend, name), -ENOENT);
}

static void test_keeper_killed(void)
{
	struct ipcq *q = NULL;
	char name[64];
	pid_t pid;
	int ret;

	tu_section("%s: a keeper killed by SIGKILL: open -ENOENT, unlink removes the name",
		   backend);
	tu_name(name, sizeof(name), "kill");
	ret = tu_create(&q, backend, name, 4, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	if (ret)
		return;
	pid = keeper_pid(name);
	CHECK(pid > 0 && is_keeper(pid), "no keeper found (%d)", (int)pid);
	if (pid > 0 && is_keeper(pid)) {
		kill(pid, SIGKILL);
		for (int i = 0; i < 100 && running(pid); i++)
			tu_sleep_ns(10 * TU_MS);
		/* The handle still works: it holds the pair itself. */
		CHECK_EQ(ipcq_put_nowait(q, "x", 1), 0);
		struct ipcq *o = NULL;
		CHECK_EQ(ipcq_open(&o, backend, name), -ENOENT);
		if (o)
			ipcq_close(o);
	}
	CHECK_EQ(ipcq_close(q), 0);
	CHECK_EQ(ipcq_unlink(backend, name), 0);
	CHECK_EQ(ipcq_unlink(backend, name), -ENOENT);
}

static void test_enobufs(void)
{
	long long wmax = 212992;
	struct ipcq_limit l[4];
	struct ipcq *q = NULL;
	char line[512] = "";
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
	ssize_t n;
	int ret;

	tu_section("%s: a capacity beyond net.core.wmem_max: -ENOBUFS, explained", backend);
	if (f) {
		if (fscanf(f, "%lld", &wmax) != 1)
			wmax = 212992;
		fclose(f);
	}
	/* 64-byte messages take far more than 64 bytes of buffer each: this never fits. */
	struct ipcq_opts o = {
		.backend = backend, .capacity = (size_t)(2 * wmax / 64), .msg_max = 64};
	ret = ipcq_create(&q, &o);
	CHECK_EQ(ret, -ENOBUFS);
	if (q)
		ipcq_close(q);
	n = ipcq_explain(&o, ret, line, sizeof(line));
	printf("explain: %s\n", line);
	CHECK(n > 0 && strstr(line, "net.core.wmem_max"), "explain %zd: \"%s\"", n, line);
	n = ipcq_limits(backend, l, 4);
	CHECK(n >= 1 && !strcmp(l[0].name, "net.core.wmem_max") && l[0].value == wmax,
	      "limits %zd: %s %lld", n, n > 0 ? l[0].name : "", n > 0 ? l[0].value : 0);
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "unix|tcp");
	if (strcmp(backend, "unix") && strcmp(backend, "tcp"))
		tu_skip("backend %s has no keeper", backend);
	test_keeper();
	test_keeper_killed();
	test_enobufs();
	return tu_end();
}
