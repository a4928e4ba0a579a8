/* SPDX-License-Identifier: MIT */
/*
 * A named queue is "any process of the same user"'s: ipcq_open() refuses
 * with -EACCES an object of that name that another user owns, or whose mode
 * lets group or others in, although root (which this test must be) could
 * open it.  Per backend:
 *   mqueue: a queue that a uid-65534 child created and chmod 0666'd, and
 *           one of ours opened to others;
 *   pipe:   the FIFO, the meta file or the queue's directory handed to uid
 *           65534 or opened up (a user cannot plant into our 0700 private
 *           directory, so chown stands in for another user's object);
 *   sysv:   the kernel queue handed to uid 65534 with mode 0666 (IPC_SET),
 *           and its record or name file handed over;
 *   shm:    the ring's file in /dev/shm, or its creator record, handed to
 *           uid 65534 or opened up.
 * ipcq_unlink() refuses each of them with -EACCES as well (one rule for
 * every backend, root included), and removes nothing: after each, the
 * object restored to ours opens again, so the refusal is the owner's, not
 * a broken or half-removed queue.  The last unlink, of our own, works.
 *
 * Usage: owner BACKEND
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

#define OTHER_UID 65534

static const char *backend;

/* ipcq_open() must give @want; a handle it gives is closed again. */
static void open_gives(const char *name, int want, const char *what)
{
	struct ipcq *q = NULL;
	int ret = ipcq_open(&q, backend, name);

	printf("%s: open %s\n", what, ret ? tu_errname(ret) : "ok");
	CHECK(ret == want, "%s: ipcq_open gave %d (%s), want %d (%s)", what, ret, tu_errname(ret),
	      want, tu_errname(want));
	if (q)
		ipcq_close(q);
}

/* ipcq_unlink() must give @want. */
static void unlink_gives(const char *name, int want, const char *what)
{
	int ret = ipcq_unlink(backend, name);

	printf("%s: unlink %s\n", what, ret ? tu_errname(ret) : "ok");
	CHECK(ret == want, "%s: ipcq_unlink gave %d (%s), want %d (%s)", what, ret, tu_errname(ret),
	      want, tu_errname(want));
}

/* Neither opened nor removed: what is not ours alone. */
static void refused(const char *name, const char *what)
{
	open_gives(name, -EACCES, what);
	unlink_gives(name, -EACCES, what);
}

/* chown + chmod of @path; returns 0 or -errno. */
static int hand_over(const char *path, uid_t uid, mode_t mode)
{
	if (lchown(path, uid, (gid_t)-1) < 0 || chmod(path, mode) < 0)
		return -errno;
	return 0;
}

/* Hands @path to @uid with @mode, checks the open, then gives it back as @orig. */
static void file_case(const char *name, const char *path, uid_t uid, mode_t mode, mode_t orig,
		      const char *what)
{
	CHECK(hand_over(path, uid, mode) == 0, "%s: chown/chmod %s: %s", what, path,
	      strerror(errno));
	refused(name, what);
	CHECK(hand_over(path, 0, orig) == 0, "restore %s", path);
	open_gives(name, 0, "restored");
}

struct mq_kid {
	const char *path;
};

/* As uid 65534: a queue of our naming scheme, opened to all. */
static int mq_kid(void *arg)
{
	struct mq_kid *k = arg;
	struct mq_attr attr = {.mq_maxmsg = 2, .mq_msgsize = 64};
	mqd_t mqd;

	if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
		return 2;
	mqd = mq_open(k->path, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (mqd == (mqd_t)-1 || fchmod(mqd, 0666) < 0)
		return 3;
	return 0;
}

static void mqueue_cases(const char *name)
{
	char path[256];
	struct mq_kid k = {.path = path};
	struct ipcq *q = NULL;
	mqd_t mqd;
	pid_t pid;
	int ret;

	tu_section("mqueue: a queue uid %d created and opened to all", OTHER_UID);
	snprintf(path, sizeof(path), "/ipcq.n.%s", name);
	pid = tu_fork(mq_kid, &k);
	CHECK(pid > 0 && tu_wait(pid, 10000 * TU_MS) == 0, "the uid %d child failed", OTHER_UID);
	refused(name, "uid 65534's queue, 0666");
	CHECK(mq_unlink(path) == 0, "remove %s: %s", path, strerror(errno));

	tu_section("mqueue: a queue of ours opened to others");
	ret = tu_create(&q, backend, name, 2, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	mqd = mq_open(path, O_RDWR);
	CHECK(mqd != (mqd_t)-1 && fchmod(mqd, 0666) == 0, "chmod %s: %s", path, strerror(errno));
	refused(name, "ours, 0666");
	CHECK(fchmod(mqd, 0600) == 0, "chmod back");
	open_gives(name, 0, "ours, 0600");
	if (mqd != (mqd_t)-1)
		mq_close(mqd);
	if (q)
		ipcq_close(q);
	CHECK_EQ(ipcq_unlink(backend, name), 0);
}

/*
 * pipe, unix, tcp: a directory per queue holding @leaf (the FIFO, the
 * keeper's socket) and its meta file: each not ours alone, in turn.
 */
static void dir_cases(const char *name, const char *dir, const char *leaf, mode_t foreign_mode)
{
	char qdir[PATH_MAX + 128], path[PATH_MAX + 160], what[96];
	struct ipcq *q = NULL;
	int ret;

	ret = tu_create(&q, backend, name, 2, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	if (q)
		ipcq_close(q);
	snprintf(qdir, sizeof(qdir), "%s/%s/%s", dir, backend, name);
	tu_section("%s: the %s, the meta file, the directory not ours alone", backend, leaf);
	snprintf(path, sizeof(path), "%s/%s", qdir, leaf);
	snprintf(what, sizeof(what), "%s of uid 65534, 0%o", leaf, (unsigned)foreign_mode);
	file_case(name, path, OTHER_UID, foreign_mode, 0600, what);
	snprintf(what, sizeof(what), "%s of ours, 0666", leaf);
	file_case(name, path, 0, 0666, 0600, what);
	snprintf(path, sizeof(path), "%s/meta", qdir);
	file_case(name, path, OTHER_UID, 0600, 0600, "meta of uid 65534");
	file_case(name, qdir, OTHER_UID, 0700, 0700, "directory of uid 65534");
	file_case(name, qdir, 0, 0777, 0700, "directory of ours, 0777");
	CHECK_EQ(ipcq_unlink(backend, name), 0);
}

static void shm_cases(const char *name, const char *dir)
{
	char path[PATH_MAX + 128];
	struct ipcq *q = NULL;
	int ret;

	ret = tu_create(&q, backend, name, 2, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	tu_section("shm: the ring's file and its creator record not ours alone");
	snprintf(path, sizeof(path), "/dev/shm/ipcq.s.%s", name);
	file_case(name, path, OTHER_UID, 0666, 0600, "ring of uid 65534, 0666");
	file_case(name, path, OTHER_UID, 0600, 0600, "ring of uid 65534, 0600");
	file_case(name, path, 0, 0666, 0600, "ring of ours, 0666");
	snprintf(path, sizeof(path), "%s/shm/n.%s", dir, name);
	file_case(name, path, OTHER_UID, 0600, 0600, "record of uid 65534");
	file_case(name, path, 0, 0644, 0600, "record of ours, 0644");
	if (q)
		ipcq_close(q);
	CHECK_EQ(ipcq_unlink(backend, name), 0);
}

/* IPC_SET of the queue's owner and mode. */
static int msq_set(int msqid, uid_t uid, mode_t mode)
{
	struct msqid_ds ds;

	if (msgctl(msqid, IPC_STAT, &ds) < 0)
		return -errno;
	ds.msg_perm.uid = uid;
	ds.msg_perm.mode = mode;
	return msgctl(msqid, IPC_SET, &ds) < 0 ? -errno : 0;
}

static void sysv_cases(const char *name, const char *dir)
{
	char path[PATH_MAX + 128];
	struct ipcq *q = NULL;
	int ret, msqid;

	ret = tu_create(&q, backend, name, 2, 64);
	CHECK(ret == 0, "create: %s", tu_errname(ret));
	if (!q)
		return;
	msqid = ipcq_sysv_msqid(q);
	CHECK(msqid >= 0, "ipcq_sysv_msqid: %d", msqid);

	tu_section("sysv: the kernel queue handed to uid %d, 0666", OTHER_UID);
	CHECK_EQ(msq_set(msqid, OTHER_UID, 0666), 0);
	refused(name, "queue of uid 65534, 0666");
	CHECK_EQ(msq_set(msqid, 0, 0666), 0);
	refused(name, "queue of ours, 0666");
	CHECK_EQ(msq_set(msqid, 0, 0600), 0);
	open_gives(name, 0, "restored");

	tu_section("sysv: its record and name file handed to uid %d", OTHER_UID);
	snprintf(path, sizeof(path), "%s/sysv/%d", dir, msqid);
	file_case(name, path, OTHER_UID, 0600, 0600, "record of uid 65534");
	file_case(name, path, 0, 0644, 0600, "record of ours, 0644");
	snprintf(path, sizeof(path), "%s/sysv/n.%s", dir, name);
	file_case(name, path, OTHER_UID, 0600, 0600, "name file of uid 65534");
	ipcq_close(q);
	CHECK_EQ(ipcq_unlink(backend, name), 0);
}

int main(int argc, char **argv)
{
	char name[64], dir[PATH_MAX];
	int ret;

	backend = tu_begin(argc, argv, "BACKEND");
	if (geteuid() != 0)
		tu_skip("making objects of another user (uid %d) needs root", OTHER_UID);
	ret = ipcq_private_dir(dir, sizeof(dir), NULL, 0);
	CHECK(ret >= 0, "ipcq_private_dir: %s", tu_errname(ret));
	umask(0);
	tu_name(name, sizeof(name), "owner");
	if (!strcmp(backend, "mqueue"))
		mqueue_cases(name);
	else if (!strcmp(backend, "pipe"))
		dir_cases(name, dir, "fifo", 0666);
	else if (!strcmp(backend, "sysv"))
		sysv_cases(name, dir);
	else if (!strcmp(backend, "shm"))
		shm_cases(name, dir);
	else if (!strcmp(backend, "unix") || !strcmp(backend, "tcp"))
		dir_cases(name, dir, "sock", 0600);
	else
		tu_skip("no owner cases for backend %s", backend);
	return tu_end();
}
