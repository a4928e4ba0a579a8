/* SPDX-License-Identifier: MIT */
/*
 * A named shm ring is opened only when it is the caller's alone: one that
 * another user made (here uid 65534, chmod 0666) is refused with -EACCES,
 * by root and by a third user (uid 12345) alike, and root's ipcq_unlink()
 * refuses to remove it (-EACCES) while its owner may; so is one of our own
 * whose mode lets group or others in.  The other-user part needs root (it makes
 * the ring as another uid in a child); without root it is skipped with
 * exit 77 once the mode part has passed.
 *
 * Usage: shm_owner shm
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcq.h"
#include "testutil.h"

#define NOBODY 65534
#define OTHER  12345

static char name[80];

static void ring_path(char *buf, size_t len)
{
	snprintf(buf, len, "/dev/shm/ipcq.s.%s", name);
}

/* Drops to @uid (and group) for good: the rest of this child runs as it. */
static int become(uid_t uid)
{
	gid_t g = (gid_t)uid;

	if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 || setresuid(uid, uid, uid) < 0) {
		fprintf(stderr, "become %u: %s\n", (unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* As uid 65534: make the ring and open it to everyone. */
static int make_as_nobody(void *arg)
{
	struct ipcq *q = NULL;
	char path[128];

	(void)arg;
	if (become(NOBODY) < 0 || tu_create(&q, "shm", name, 4, 64) < 0)
		return TU_FAIL;
	ring_path(path, sizeof(path));
	if (chmod(path, 0666) < 0 || ipcq_put_nowait(q, "secret", 6) < 0)
		return TU_FAIL;
	ipcq_close(q);
	return 0;
}

/* As uid 65534 again: its own ring, back to 0600, is its to remove. */
static int unlink_as_nobody(void *arg)
{
	char path[128];

	(void)arg;
	if (become(NOBODY) < 0)
		return TU_FAIL;
	ring_path(path, sizeof(path));
	if (chmod(path, 0600) < 0 || ipcq_unlink("shm", name) < 0)
		return TU_FAIL;
	return 0;
}

/* As uid 12345: the ring is 0666, but not ours. */
static int open_as_other(void *arg)
{
	struct ipcq *q = NULL;
	int ret;

	(void)arg;
	if (become(OTHER) < 0)
		return 2;
	ret = ipcq_open(&q, "shm", name);
	if (q)
		ipcq_close(q);
	return ret == -EACCES ? 0 : 1;
}

/* Our own ring with a wider mode: refused; back to 0600: opened. */
static void wide_modes(void)
{
	static const mode_t modes[] = {0640, 0606, 0660, 0666, 0700 | 0060};
	struct ipcq *a = NULL, *b = NULL;
	char path[128];

	tu_section("our own ring, mode wider than 0600");
	tu_name(name, sizeof(name), "mode");
	CHECK_EQ(tu_create(&a, "shm", name, 4, 64), 0);
	ring_path(path, sizeof(path));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK(chmod(path, modes[i]) == 0, "chmod: %s", strerror(errno));
		CHECK(ipcq_open(&b, "shm", name) == -EACCES, "mode %03o opened",
		      (unsigned)modes[i]);
		if (b) {
			ipcq_close(b);
			b = NULL;
		}
	}
	CHECK(chmod(path, 0600) == 0, "chmod: %s", strerror(errno));
	CHECK_EQ(ipcq_open(&b, "shm", name), 0);
	if (b)
		ipcq_close(b);
	CHECK_EQ(ipcq_unlink("shm", name), 0);
	if (a)
		ipcq_close(a);
}

static void other_user(void)
{
	struct ipcq *q = NULL;
	char buf[64];
	pid_t pid;
	int ret;

	tu_section("a ring of uid %d, mode 0666", NOBODY);
	tu_name(name, sizeof(name), "owner");
	pid = tu_fork(make_as_nobody, NULL);
	CHECK_EQ(pid > 0 ? tu_wait(pid, 10000 * TU_MS) : -1, 0);
	ret = ipcq_open(&q, "shm", name);
	CHECK_EQ(ret, -EACCES); /* root is refused too */
	if (q) {
		CHECK(ipcq_get_nowait(q, buf, sizeof(buf)) < 0, "root read another user's message");
		ipcq_close(q);
	}
	pid = tu_fork(open_as_other, NULL);
	CHECK_EQ(pid > 0 ? tu_wait(pid, 10000 * TU_MS) : -1, 0);
	CHECK_EQ(ipcq_unlink("shm", name), -EACCES); /* nor removed by root */
	pid = tu_fork(unlink_as_nobody, NULL);
	CHECK_EQ(pid > 0 ? tu_wait(pid, 10000 * TU_MS) : -1, 0);
}

int main(int argc, char **argv)
{
	if (strcmp(tu_begin(argc, argv, "shm"), "shm") != 0)
		tu_skip("the shm ring's own test: backend %s", argv[1]);
	wide_modes();
	if (geteuid() != 0) {
		if (tu_failures)
			return tu_end();
		tu_skip("modes checked; another user's ring needs root (to create it as uid %d)",
			NOBODY);
	}
	other_user();
	return tu_end();
}
