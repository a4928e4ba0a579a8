/* SPDX-License-Identifier: MIT */
/*
 * Permissions: every IPC object a backend creates is mode 0600, every
 * directory 0700.  Compares the objects visible before and after creating
 * named and anonymous queues (/dev/shm, /dev/mqueue, the private libipcq
 * dirs, SysV queues through msgctl(IPC_STAT)); the umask is cleared first so
 * that the library, not the umask, must choose the mode.
 *
 * Usage: perms BACKEND
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcq.h"
#include "testutil.h"

static const char *backend;

/* Checks the mode of every object in now-minus-@before; returns how many it saw. */
static size_t check_new(const struct tu_snap *before, const char *what)
{
	struct tu_snap now, fresh;
	size_t n;

	tu_snap_take(&now);
	n = tu_snap_new(before, &now, true, &fresh);
	for (size_t i = 0; i < fresh.n; i++) {
		const char *it = fresh.item[i];
		struct stat st;

		if (!strncmp(it, "sysv ", 5)) {
			struct msqid_ds ds;
			int id = atoi(it + 5);

			if (msgctl(id, IPC_STAT, &ds) < 0) {
				CHECK(errno == EINVAL || errno == EIDRM, "msgctl %d: %s", id,
				      strerror(errno));
				continue;
			}
			printf("%s: %s mode %03o\n", what, it, (unsigned)ds.msg_perm.mode & 0777);
			CHECK((ds.msg_perm.mode & 0777) == 0600, "%s: SysV queue %d mode %03o",
			      what, id, (unsigned)ds.msg_perm.mode & 0777);
			CHECK(ds.msg_perm.uid == geteuid(), "%s: SysV queue %d owner %u", what, id,
			      (unsigned)ds.msg_perm.uid);
			continue;
		}
		const char *path = strchr(it, ' ') + 1;
		if (lstat(path, &st) < 0)
			continue;
		printf("%s: %s mode %03o\n", what, it, (unsigned)st.st_mode & 07777);
		if (S_ISDIR(st.st_mode))
			CHECK((st.st_mode & 07777) == 0700, "%s: directory %s mode %03o", what,
			      path, (unsigned)st.st_mode & 07777);
		else
			CHECK((st.st_mode & 07777) == 0600, "%s: %s mode %03o", what, path,
			      (unsigned)st.st_mode & 07777);
		CHECK(st.st_uid == geteuid(), "%s: %s owner %u", what, path, (unsigned)st.st_uid);
	}
	tu_snap_free(&now);
	tu_snap_free(&fresh);
	return n;
}

int main(int argc, char **argv)
{
	struct tu_snap before;
	struct ipcq *q = NULL, *a = NULL;
	char name[64], buf[128];
	size_t n;
	int ret;

	backend = tu_begin(argc, argv, "BACKEND");

	/*
	 * A umask that takes the owner's own bits (0277) first, while the
	 * private directories are still to be made: the modes are the
	 * library's all the same, and the queue works.
	 */
	tu_section("under umask 0277: still 0600 objects, 0700 directories, a working queue");
	umask(0277);
	tu_snap_take(&before);
	tu_name(name, sizeof(name), "perms-umask");
	ret = tu_create(&q, backend, name, 2, 128);
	CHECK(ret == 0, "create %s: %d %s", name, ret, tu_errname(ret));
	check_new(&before, "named, umask 0277");
	tu_snap_free(&before);
	if (q) {
		CHECK_EQ(ipcq_put_nowait(q, "x", 1), 0);
		CHECK_EQ(ipcq_get_nowait(q, buf, sizeof(buf)), 1);
		CHECK_EQ(ipcq_close(q), 0);
		CHECK_EQ(ipcq_unlink(backend, name), 0);
		q = NULL;
	}
	umask(0);

	tu_section("a named queue's objects are 0600, directories 0700");
	tu_snap_take(&before);
	tu_name(name, sizeof(name), "perms");
	ret = tu_create(&q, backend, name, 2, 128);
	CHECK(ret == 0, "create %s: %d %s", name, ret, tu_errname(ret));
	n = check_new(&before, "named");
	/* A named queue must be findable by other processes: something is visible. */
	CHECK(ret || n > 0, "no object of the named queue is visible");
	tu_snap_free(&before);

	tu_section("an anonymous queue's visible objects are 0600");
	tu_snap_take(&before);
	ret = tu_create(&a, backend, NULL, 2, 128);
	CHECK(ret == 0, "create anonymous: %d %s", ret, tu_errname(ret));
	n = check_new(&before, "anonymous");
	printf("anonymous queue: %zu visible object(s)\n", n);
	tu_snap_free(&before);

	if (a)
		CHECK_EQ(ipcq_close(a), 0);
	if (q) {
		CHECK_EQ(ipcq_close(q), 0);
		CHECK_EQ(ipcq_unlink(backend, name), 0);
	}
	return tu_end();
}
