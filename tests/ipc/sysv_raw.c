/* SPDX-License-Identifier: MIT */
/*
 * ipcq_sysv_msqid(): the msqid behind a "sysv" queue, for the benchmark's
 * bare loops, which msgsnd/msgrcv raw but must leave nothing behind a
 * SIGKILL (their raw msgget queues did: ipcq_clean could not see them).
 *   - raw messages of mtype 1 and ipcq_put/ipcq_get mix both ways;
 *   - a raw ping-pong between two processes over two such queues works;
 *   - a child that made its queues with ipcq_create, used them raw and was
 *     SIGKILLed leaves queues that ipcq_clean finds and removes;
 *   - other backends and NULL: -EINVAL.
 *
 * Usage: sysv_raw sysv
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

#define ROUNDS 2000

struct raw_msg {
	long mtype;
	char text[64];
};

static bool exists(int msqid)
{
	struct msqid_ds ds;

	return msgctl(msqid, IPC_STAT, &ds) == 0;
}

static void mixed(void)
{
	struct raw_msg m = {.mtype = 1};
	struct ipcq *q = NULL;
	char buf[64];
	int id;

	tu_section("raw mtype 1 and ipcq_put/get mix");
	CHECK_EQ(tu_create(&q, "sysv", NULL, 4, 64), 0);
	if (!q)
		return;
	id = ipcq_sysv_msqid(q);
	CHECK(id >= 0, "ipcq_sysv_msqid: %d", id);
	memcpy(m.text, "raw", 3);
	CHECK(msgsnd(id, &m, 3, IPC_NOWAIT) == 0, "msgsnd: %s", strerror(errno));
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 3);
	CHECK(!memcmp(buf, "raw", 3), "ipcq_get took another text");
	CHECK_EQ(ipcq_put_nowait(q, "lib!", 4), 0);
	memset(&m, 0, sizeof(m));
	CHECK_EQ(msgrcv(id, &m, sizeof(m.text), 0, IPC_NOWAIT), 4);
	CHECK(m.mtype == 1 && !memcmp(m.text, "lib!", 4), "msgrcv: mtype %ld", m.mtype);
	CHECK(ipcq_empty(q), "not empty");
	CHECK_EQ(ipcq_close(q), 0);
	CHECK(!exists(id), "queue %d outlived its last handle", id);
}

struct pp {
	int id[2];
};

/* The child of the ping-pong: echoes every message back, raw. */
static int echo(void *arg)
{
	struct pp *p = arg;
	struct raw_msg m;

	for (int i = 0; i < ROUNDS; i++) {
		ssize_t n = msgrcv(p->id[0], &m, sizeof(m.text), 0, 0);

		if (n < 0 || msgsnd(p->id[1], &m, (size_t)n, 0) < 0)
			return 1;
	}
	return 0;
}

static void pingpong(void)
{
	struct ipcq *q[2] = {NULL, NULL};
	struct raw_msg m = {.mtype = 1};
	struct pp p;
	pid_t pid;
	int bad = 0;

	tu_section("a raw ping-pong of %d rounds over two queues", ROUNDS);
	for (int d = 0; d < 2; d++) {
		CHECK_EQ(tu_create(&q[d], "sysv", NULL, 1, 64), 0);
		if (!q[d])
			return;
		p.id[d] = ipcq_sysv_msqid(q[d]);
	}
	pid = tu_fork(echo, &p);
	for (int i = 0; i < ROUNDS && pid > 0; i++) {
		int len = snprintf(m.text, sizeof(m.text), "%d", i);

		memset(&m, 0, sizeof(m));
		m.mtype = 1;
		snprintf(m.text, sizeof(m.text), "%d", i);
		if (msgsnd(p.id[0], &m, (size_t)len, 0) < 0 ||
		    msgrcv(p.id[1], &m, sizeof(m.text) - 1, 0, 0) != len || m.mtype != 1 ||
		    atoi(m.text) != i) {
			bad++;
			break;
		}
	}
	CHECK(bad == 0, "the ping-pong broke");
	CHECK(pid > 0 && tu_wait(pid, 20000 * TU_MS) == 0, "the echo child failed");
	for (int d = 0; d < 2; d++)
		CHECK_EQ(ipcq_close(q[d]), 0);
}

/* A bare-loop child: its queues from ipcq_create, used raw, until killed. */
static int bare(void *arg)
{
	int *fds = arg;
	struct raw_msg m = {.mtype = 1};
	struct ipcq *q[2];
	int id[2];

	for (int d = 0; d < 2; d++) {
		struct ipcq_opts o = {.backend = "sysv", .capacity = 1, .msg_max = 64};

		if (ipcq_create(&q[d], &o) < 0)
			return 1;
		id[d] = ipcq_sysv_msqid(q[d]);
	}
	if (msgsnd(id[0], &m, 1, 0) < 0 || write(fds[1], id, sizeof(id)) != sizeof(id))
		return 1;
	pause();
	return 0;
}

static void killed(void)
{
	int fds[2], id[2] = {-1, -1};
	ssize_t n;
	pid_t pid;

	tu_section("a bare loop SIGKILLed: ipcq_clean finds its queues");
	if (pipe(fds) < 0)
		return;
	pid = tu_fork(bare, fds);
	close(fds[1]);
	CHECK(pid > 0 && read(fds[0], id, sizeof(id)) == sizeof(id), "the child failed");
	close(fds[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		CHECK_EQ(tu_wait(pid, 10000 * TU_MS), -SIGKILL);
	}
	CHECK(id[0] >= 0 && exists(id[0]) && exists(id[1]), "no queues to find");
	n = ipcq_clean("sysv", NULL, NULL);
	CHECK(n >= 2, "ipcq_clean removed %zd", n);
	CHECK(!exists(id[0]) && !exists(id[1]), "queues %d %d left", id[0], id[1]);
}

int main(int argc, char **argv)
{
	struct ipcq *q = NULL;

	tu_begin(argc, argv, "sysv");
	{
		int probe = msgget(IPC_PRIVATE, 0600);

		if (probe < 0)
			tu_skip("no SysV message queues here: %s", strerror(errno));
		msgctl(probe, IPC_RMID, NULL);
	}
	tu_section("other backends and NULL: -EINVAL");
	CHECK_EQ(ipcq_sysv_msqid(NULL), -EINVAL);
	CHECK_EQ(tu_create(&q, "pipe", NULL, 1, 64), 0);
	if (q) {
		CHECK_EQ(ipcq_sysv_msqid(q), -EINVAL);
		ipcq_close(q);
	}
	mixed();
	pingpong();
	killed();
	return tu_end();
}
