/* SPDX-License-Identifier: MIT */
/*
 * A shm ring's file shrunk under it: an open of a named ring whose file was
 * cut (to 0, to a few pages, to one byte short, or cut and regrown again and
 * again while the open runs) fails cleanly, never with SIGBUS; an anonymous
 * ring's memfd is sealed, so even someone who reaches it (here through
 * /proc/self/map_files, which needs CAP_SYS_ADMIN) cannot shrink it.  An
 * existing handle of a named ring whose file is cut dies of SIGBUS at its
 * next access (ipcq.h documents it): shown, not asserted.  Every call that
 * could die runs in a child.  Without root the map_files part is skipped
 * (exit 77 once the rest has passed).
 *
 * Usage: shm_shrink shm
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_pvt.h"
#include "testutil.h"

static char name[80], path[128];
static struct ipcq *ring;

/* Opens the named ring and closes it again; exit 0 when that gave @arg's errno. */
static int open_expect(void *arg)
{
	struct ipcq *q = NULL;
	int ret = ipcq_open(&q, "shm", name);

	if (q)
		ipcq_close(q);
	return ret == -(int)(intptr_t)arg ? 0 : 1;
}

/* Opens the ring over and over while another child cuts and regrows it. */
static int open_loop(void *arg)
{
	int64_t end = tu_now_ns() + 500 * TU_MS;

	(void)arg;
	while (tu_now_ns() < end) {
		struct ipcq *q = NULL;
		int ret = ipcq_open(&q, "shm", name);

		if (q)
			ipcq_close(q);
		if (ret != 0 && ret != -EINVAL)
			return 1;
	}
	return 0;
}

static int cut_loop(void *arg)
{
	const struct shm_hdr *good = arg;
	int64_t end = tu_now_ns() + 600 * TU_MS;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 1;
	while (tu_now_ns() < end) {
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)good->map_size) < 0 ||
		    pwrite(fd, good, sizeof(*good), 0) != (ssize_t)sizeof(*good))
			return 1;
	}
	close(fd);
	return 0;
}

/* One get on the ring we hold; the exit status says what it returned. */
static int get_once(void *arg)
{
	char buf[1024];
	ssize_t r;

	(void)arg;
	if (ipcq_put_nowait(ring, "x", 1) < 0)
		return 3;
	r = ipcq_get_nowait(ring, buf, sizeof(buf));
	return r == 1 && buf[0] == 'x' ? 0 : r == -EAGAIN ? 2 : 1;
}

/* The file whole again, with its header: each cut starts from a good ring. */
static void restore(const struct shm_hdr *good)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0 && ftruncate(fd, (off_t)good->map_size) == 0 &&
		      pwrite(fd, good, sizeof(*good), 0) == (ssize_t)sizeof(*good),
	      "restore %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void cut_named(void)
{
	struct ipcq *held = NULL;
	size_t map;
	struct shm_hdr good;
	const off_t sizes[] = {0, 4096, 8192, -1};
	int64_t t0;
	int st;

	tu_section("a named ring whose file was cut");
	tu_name(name, sizeof(name), "shrink");
	snprintf(path, sizeof(path), "/dev/shm/ipcq.s.%s", name);
	CHECK_EQ(tu_create(&ring, "shm", name, 64, 1024), 0);
	if (!ring)
		return;
	CHECK_EQ(ipcq_open(&held, "shm", name), 0);
	map = shm_priv(ring)->map_size;
	memcpy(&good, shm_priv(ring)->base, sizeof(good));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		off_t size = sizes[i] < 0 ? (off_t)map - 1 : sizes[i];

		restore(&good);
		CHECK(truncate(path, size) == 0, "truncate: %s", strerror(errno));
		t0 = tu_now_ns();
		st = tu_wait(tu_fork(open_expect, (void *)(intptr_t)EINVAL), 5000 * TU_MS);
		CHECK(st == 0, "open of a file cut to %lld bytes: status %d (%s)", (long long)size,
		      st, st == -SIGBUS ? "SIGBUS" : "want -EINVAL");
		printf("cut to %lld bytes: open refused in %.0f ms\n", (long long)size,
		       (double)(tu_now_ns() - t0) / 1e6);
	}

	/* cut and regrown while opens run: each open fails or succeeds, none dies */
	restore(&good);
	{
		pid_t cut = tu_fork(cut_loop, &good), op = tu_fork(open_loop, NULL);

		st = tu_wait(op, 10000 * TU_MS);
		CHECK(st == 0, "opens racing a cut: status %d%s", st,
		      st == -SIGBUS ? " (SIGBUS)" : "");
		CHECK_EQ(tu_wait(cut, 10000 * TU_MS), 0);
	}

	/* a handle mapped before the cut: documented, not prevented */
	CHECK(truncate(path, 0) == 0, "truncate: %s", strerror(errno));
	ipcq_close(ring);
	ring = held;
	st = tu_wait(tu_fork(get_once, NULL), 5000 * TU_MS);
	printf("a handle opened before its file was cut to 0: get %s\n",
	       st == -SIGBUS ? "died of SIGBUS (as ipcq.h says)"
	       : st >= 0     ? "returned"
			     : "died otherwise");
	CHECK(st != TU_TIMEDOUT, "a get on a cut ring hung");
	CHECK_EQ(ipcq_unlink("shm", name), 0);
	ipcq_close(held);
	ring = NULL;
}

/* Returns false when this process may not reach the memfd (skip). */
static bool cut_anonymous(void)
{
	char mf[96];
	int fd, seals, st;
	struct shm_priv *p;
	size_t pg;

	tu_section("an anonymous ring: its memfd is sealed");
	CHECK_EQ(tu_create(&ring, "shm", NULL, 64, 1024), 0);
	if (!ring)
		return true;
	p = shm_priv(ring);
	pg = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(mf, sizeof(mf), "/proc/self/map_files/%lx-%lx", (unsigned long)p->base,
		 (unsigned long)(p->base + (p->map_size + pg - 1) / pg * pg));
	fd = open(mf, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("cannot open %s: %s\n", mf, strerror(errno));
		ipcq_close(ring);
		return false;
	}
	seals = fcntl(fd, F_GET_SEALS);
	CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_SEAL),
	      "seals %#x (F_SEAL_SHRINK %#x, F_SEAL_SEAL %#x)", seals, F_SEAL_SHRINK, F_SEAL_SEAL);
	CHECK(ftruncate(fd, 0) < 0 && errno == EPERM, "ftruncate of the memfd: %s",
	      strerror(errno));
	close(fd);
	st = tu_wait(tu_fork(get_once, NULL), 5000 * TU_MS);
	CHECK(st == 0, "a get after the cut: status %d%s", st, st == -SIGBUS ? " (SIGBUS)" : "");
	ipcq_close(ring);
	ring = NULL;
	return true;
}

int main(int argc, char **argv)
{
	bool anon;

	if (strcmp(tu_begin(argc, argv, "shm"), "shm") != 0)
		tu_skip("the shm ring's own test: backend %s", argv[1]);
	cut_named();
	anon = cut_anonymous();
	if (!anon && !tu_failures)
		tu_skip("named rings checked; the memfd of an anonymous ring is out of reach "
			"(/proc/self/map_files needs CAP_SYS_ADMIN)");
	return tu_end();
}
