/* SPDX-License-Identifier: MIT */
/*
 * Conformance, named queues: create/open/unlink, -EEXIST and -ENOENT, with
 * the opener an unrelated process (fork+exec of open_helper, no inherited
 * descriptor); handles keep working after unlink; a name can be reused.
 *
 * Usage: named BACKEND
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcq.h"
#include "testutil.h"

static const char *backend;
static char helper[PATH_MAX];

/* Runs open_helper BACKEND NAME args... and returns its exit code. */
static int run_helper(const char *name, const char *a, const char *b, const char *c, const char *d)
{
	char *argv[] = {helper,	   (char *)backend, (char *)name, (char *)a,
			(char *)b, (char *)c,	    (char *)d,	  NULL};
	pid_t pid = tu_spawn(argv);

	if (pid < 0)
		return pid;
	return tu_wait(pid, 10000 * TU_MS);
}

static void test_named(void)
{
	struct ipcq *q = NULL, *q2 = NULL, *o = NULL;
	char name[64], buf[256], s_msg_max[32], s_cap[32];
	struct ipcq_opts opts;
	ssize_t n;
	int ret;

	tu_name(name, sizeof(name), "named");
	tu_section("missing name: open and unlink say -ENOENT (here and in another process)");
	CHECK_EQ(ipcq_open(&o, backend, name), -ENOENT);
	CHECK(o == NULL, "*out set on failure");
	CHECK_EQ(ipcq_unlink(backend, name), -ENOENT);
	CHECK_EQ(run_helper(name, "enoent", NULL, NULL, NULL), 0);

	tu_section("create, then -EEXIST on a second create of the name");
	q = tu_queue(backend, name, 4, 256);
	if (!q)
		return;
	CHECK_EQ(ipcq_msg_max(q), 256);
	CHECK(ipcq_capacity(q) >= 4, "capacity() %zu", ipcq_capacity(q));
	opts = (struct ipcq_opts){.backend = backend, .name = name, .capacity = 2, .msg_max = 128};
	CHECK_EQ(ipcq_create(&q2, &opts), -EEXIST);
	CHECK(q2 == NULL, "*out set on -EEXIST");
	opts.capacity = 4;
	opts.msg_max = 256;
	CHECK_EQ(ipcq_create(&q2, &opts), -EEXIST);

	tu_section("an unrelated process (fork+exec) opens by name, gets and puts");
	snprintf(s_msg_max, sizeof(s_msg_max), "%zu", ipcq_msg_max(q));
	snprintf(s_cap, sizeof(s_cap), "%zu", ipcq_capacity(q));
	CHECK_EQ(ipcq_put_nowait(q, "from the creator", 16), 0);
	ret = run_helper(name, "get", "from the creator", s_msg_max, s_cap);
	CHECK(ret == 0, "helper get: exit %d (2 open, 3 get, 4 wrong message or attributes)", ret);
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), -EAGAIN);
	ret = run_helper(name, "put", "from the opener", NULL, NULL);
	CHECK(ret == 0, "helper put: exit %d", ret);
	n = ipcq_get(q, buf, sizeof(buf), 2000 * TU_MS);
	CHECK(n == 15 && memcmp(buf, "from the opener", 15) == 0, "creator got %zd %s", n,
	      tu_errname(n));
	/* The helper exited: the queue is still there, and empty. */
	CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), -EAGAIN);

	tu_section("a second handle in this process shares the queue");
	ret = ipcq_open(&o, backend, name);
	CHECK(ret == 0, "open %s: %d %s", name, ret, tu_errname(ret));
	if (o) {
		CHECK_EQ(ipcq_msg_max(o), 256);
		CHECK_EQ(ipcq_capacity(o), ipcq_capacity(q));
		CHECK(!strcmp(ipcq_backend(o), backend), "backend() %s", ipcq_backend(o));
		CHECK_EQ(ipcq_put_nowait(o, "abc", 3), 0);
		CHECK_EQ(ipcq_put_nowait(q, "", 0), 0);
		CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 3);
		CHECK_EQ(ipcq_get_nowait(o, buf, sizeof(buf)), 0);
		CHECK_EQ(ipcq_close(o), 0);
		o = NULL;
	}
	/*
	 * Closing every handle keeps a named queue until unlink.  Its messages
	 * too, except on pipe: the kernel empties a FIFO when nobody has it open.
	 */
	CHECK_EQ(ipcq_put_nowait(q, "kept", 4), 0);
	CHECK_EQ(ipcq_close(q), 0);
	q = NULL;
	ret = ipcq_open(&q, backend, name);
	CHECK(ret == 0, "reopen after closing every handle: %d %s", ret, tu_errname(ret));
	if (q) {
		n = ipcq_get_nowait(q, buf, sizeof(buf));
		if (!strcmp(backend, "pipe"))
			printf("known limit: pipe: a message queued while no handle is open: %s\n",
			       n == 4 ? "kept" : "lost (FIFO semantics)");
		else
			CHECK(n == 4 && !memcmp(buf, "kept", 4),
			      "message kept while no handle was open: %zd %s", n, tu_errname(n));
	}

	tu_section("unlink: -ENOENT afterwards, open handles keep working, the name is free");
	CHECK_EQ(ipcq_unlink(backend, name), 0);
	CHECK_EQ(ipcq_open(&o, backend, name), -ENOENT);
	CHECK_EQ(run_helper(name, "enoent", NULL, NULL, NULL), 0);
	CHECK_EQ(ipcq_unlink(backend, name), -ENOENT);
	if (q && strcmp(backend, "sysv")) {
		ret = ipcq_put_nowait(q, "after unlink", 12);
		CHECK(ret == 0, "put on a handle open across unlink: %d %s", ret, tu_errname(ret));
		n = ipcq_get_nowait(q, buf, sizeof(buf));
		CHECK(n == 12, "get on a handle open across unlink: %zd %s", n, tu_errname(n));
	} else if (q) {
		/* IPC_RMID removes a SysV queue at once: the contract's -EIDRM, then. */
		ret = ipcq_put_nowait(q, "after unlink", 12);
		CHECK(ret == 0 || ret == -EIDRM, "sysv put across unlink: %d %s, want 0 or -EIDRM",
		      ret, tu_errname(ret));
		n = ipcq_get_nowait(q, buf, sizeof(buf));
		CHECK(n == 12 || n == -EIDRM, "sysv get across unlink: %zd %s, want 12 or -EIDRM",
		      n, tu_errname(n));
	}
	ret = tu_create(&q2, backend, name, 2, 64);
	CHECK(ret == 0, "create again after unlink: %d %s", ret, tu_errname(ret));
	if (q2) {
		CHECK_EQ(ipcq_msg_max(q2), 64);
		CHECK_EQ(ipcq_get_nowait(q2, buf, sizeof(buf)), -EAGAIN); /* a new, empty queue */
		ret = run_helper(name, "put", "new", NULL, NULL);
		CHECK(ret == 0, "helper put into the new queue: exit %d", ret);
		n = ipcq_get(q2, buf, sizeof(buf), 2000 * TU_MS);
		CHECK(n == 3, "new queue: get %zd %s", n, tu_errname(n));
		CHECK_EQ(ipcq_close(q2), 0);
		CHECK_EQ(ipcq_unlink(backend, name), 0);
	}
	if (q)
		CHECK_EQ(ipcq_close(q), 0);
	CHECK_EQ(ipcq_open(&o, backend, name), -ENOENT);
}

int main(int argc, char **argv)
{
	backend = tu_begin(argc, argv, "BACKEND");
	tu_sibling(helper, sizeof(helper), "ipctest-open_helper");
	test_named();
	return tu_end();
}
