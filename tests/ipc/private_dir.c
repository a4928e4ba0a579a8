/* SPDX-License-Identifier: MIT */
/*
 * The private directory /tmp/ipcq-<uid> (no XDG_RUNTIME_DIR: root, cron) is
 * predictable: another user who creates it first made every SysV create and
 * every named pipe create of ours fail (-EPERM).  Now libipcq falls back to
 * a /tmp/ipcq-<uid>.XXXXXX of ours, the same for every process of this user:
 *   - with /tmp/ipcq-<uid> owned by uid 65534, SysV and named pipe creates
 *     work, an unrelated process (fork+exec) finds the named queues, and
 *     ipcq_private_dir() names the fallback (ours, 0700) and why;
 *   - a look-alike of another user, or one of ours open to others, is never
 *     taken; a later directory of ours does not displace the one in use;
 *   - processes that find no fallback at the same instant agree on one;
 *   - a symlink in place of /tmp/ipcq-<uid> is refused the same way.
 * Runs as root in private mount and IPC namespaces with a tmpfs on /tmp, so
 * that nothing of the machine's /tmp is touched; elsewhere it skips.
 *
 * Usage: private_dir BACKEND (any; the test covers pipe and sysv)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

#define OTHER_UID 65534

static char primary[64];

/* A fresh, empty tmpfs on /tmp (over any before it). */
static int fresh_tmp(void)
{
	return mount("ipcq-test-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0
		       ? -errno
		       : 0;
}

/* How many directories of the fallback's name are in /tmp. */
static int fallbacks(void)
{
	char prefix[32];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/tmp");

	snprintf(prefix, sizeof(prefix), "ipcq-%u.", (unsigned)geteuid());
	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

/* ipcq_private_dir() must report a fallback of ours, 0700; its path in @dir. */
static void check_fallback(char *dir, size_t len, const char *what)
{
	char why[512];
	struct stat st;
	int ret;

	ret = ipcq_private_dir(dir, len, why, sizeof(why));
	printf("%s: ipcq_private_dir: %d %s (%s)\n", what, ret, ret >= 0 ? dir : "", why);
	CHECK(ret == 1, "%s: ipcq_private_dir gave %d (%s), want 1 (a fallback)", what, ret,
	      tu_errname(ret));
	CHECK(ret < 0 || strncmp(dir, primary, strlen(primary)) == 0, "%s: fallback %s", what, dir);
	CHECK(ret < 0 || strlen(why) > 0, "%s: no reason given", what);
	if (ret < 0)
		return;
	CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode), "%s: %s is no directory", what, dir);
	CHECK(st.st_uid == geteuid(), "%s: %s owned by %u", what, dir, (unsigned)st.st_uid);
	CHECK((st.st_mode & 07777) == 0700, "%s: %s mode %o", what, dir,
	      (unsigned)st.st_mode & 07777);
}

/* Named and anonymous queues of @backend work, and an unrelated process finds the named one. */
static void queues_work(const char *backend, const char *what)
{
	char name[64], helper[PATH_MAX];
	struct ipcq *q = NULL, *a = NULL;
	int ret;

	tu_name(name, sizeof(name), "pdir");
	ret = tu_create(&q, backend, name, 4, 64);
	CHECK(ret == 0, "%s: named %s create: %d (%s)", what, backend, ret, tu_errname(ret));
	ret = tu_create(&a, backend, NULL, 4, 64);
	CHECK(ret == 0, "%s: anonymous %s create: %d (%s)", what, backend, ret, tu_errname(ret));
	if (a)
		CHECK_EQ(ipcq_close(a), 0);
	if (!q)
		return;
	CHECK_EQ(ipcq_put_nowait(q, "hello", 5), 0);
	tu_sibling(helper, sizeof(helper), "ipctest-open_helper");
	{
		char *argv[] = {helper, (char *)backend, name, "get", "hello", NULL};
		pid_t pid = tu_spawn(argv);
		int code = pid > 0 ? tu_wait(pid, 10000 * TU_MS) : -1;

		CHECK(code == 0, "%s: an unrelated process did not find %s queue %s: exit %d", what,
		      backend, name, code);
	}
	CHECK_EQ(ipcq_close(q), 0);
	CHECK_EQ(ipcq_unlink(backend, name), 0);
}

/* Children that all look for the fallback at once must name the same one. */
static int race_kid(void *arg)
{
	int *fds = arg;
	char dir[PATH_MAX], c;

	if (read(fds[0], &c, 1) != 1 || ipcq_private_dir(dir, sizeof(dir), NULL, 0) != 1)
		return 2;
	return write(fds[1], dir, strlen(dir) + 1) == (ssize_t)strlen(dir) + 1 ? 0 : 3;
}

static void race(void)
{
	enum { KIDS = 8 };
	int go[2], back[2], fds[2], codes = 0;
	char buf[KIDS * PATH_MAX], *p;
	pid_t pid[KIDS];
	ssize_t n, got = 0;

	tu_section("%d processes that find no fallback at once agree on one", KIDS);
	CHECK(fresh_tmp() == 0, "mount /tmp: %s", strerror(errno));
	CHECK(mkdir(primary, 0700) == 0 && chown(primary, OTHER_UID, OTHER_UID) == 0, "squat");
	if (pipe(go) < 0 || pipe(back) < 0)
		return;
	fds[0] = go[0];
	fds[1] = back[1];
	for (int i = 0; i < KIDS; i++)
		pid[i] = tu_fork(race_kid, fds);
	close(go[0]);
	close(back[1]);
	CHECK(write(go[1], "gggggggg", KIDS) == KIDS, "start");
	close(go[1]);
	for (int i = 0; i < KIDS; i++)
		codes += pid[i] > 0 && tu_wait(pid[i], 10000 * TU_MS) == 0;
	CHECK(codes == KIDS, "%d of %d children found a fallback", codes, KIDS);
	while ((n = read(back[0], buf + got, sizeof(buf) - (size_t)got - 1)) > 0)
		got += n;
	close(back[0]);
	buf[got] = '\0';
	for (p = buf; p < buf + got; p += strlen(p) + 1)
		CHECK(!strcmp(p, buf), "children disagree: %s and %s", buf, p);
	printf("all chose %s; %d fallback(s) in /tmp\n", buf, fallbacks());
	CHECK(fallbacks() == 1, "%d fallback directories made, want 1", fallbacks());
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], again[PATH_MAX], fake[PATH_MAX];

	tu_begin(argc, argv, "BACKEND");
	if (geteuid() != 0 || !tu_isolated())
		tu_skip("needs root and private namespaces: it mounts a tmpfs on /tmp");
	snprintf(primary, sizeof(primary), "/tmp/ipcq-%u", (unsigned)geteuid());
	umask(022);

	tu_section("%s made first by uid %d", primary, OTHER_UID);
	CHECK(fresh_tmp() == 0, "mount /tmp: %s", strerror(errno));
	CHECK(mkdir(primary, 0700) == 0 && chown(primary, OTHER_UID, OTHER_UID) == 0, "squat");
	queues_work("sysv", "squatted");
	queues_work("pipe", "squatted");
	check_fallback(dir, sizeof(dir), "squatted");
	CHECK(ipcq_clean(NULL, NULL, NULL) >= 0, "ipcq_clean with a fallback");

	tu_section("look-alikes are never taken; the one in use stays");
	/* Smaller names than any mkdtemp suffix: they would win were they taken. */
	snprintf(fake, sizeof(fake), "%s.000000", primary);
	CHECK(mkdir(fake, 0700) == 0 && chown(fake, OTHER_UID, OTHER_UID) == 0, "foreign");
	snprintf(fake, sizeof(fake), "%s.000001", primary);
	CHECK(mkdir(fake, 0700) == 0 && chmod(fake, 0755) == 0, "ours, open to others");
	snprintf(fake, sizeof(fake), "%s.zzzzzz", primary);
	CHECK(mkdir(fake, 0700) == 0, "ours, later");
	check_fallback(again, sizeof(again), "with look-alikes");
	CHECK(!strcmp(dir, again), "the fallback moved from %s to %s", dir, again);
	queues_work("sysv", "with look-alikes");

	race();

	tu_section("a symlink in place of %s", primary);
	CHECK(fresh_tmp() == 0, "mount /tmp: %s", strerror(errno));
	CHECK(mkdir("/tmp/elsewhere", 0700) == 0 && symlink("/tmp/elsewhere", primary) == 0,
	      "symlink");
	queues_work("pipe", "symlink");
	check_fallback(dir, sizeof(dir), "symlink");

	/* The test's tmpfs mounts go with its mount namespace. */
	return tu_end();
}
