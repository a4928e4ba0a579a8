/* SPDX-License-Identifier: MIT */
/*
 * tcp: frames that arrive in parts (tcp.c, "a reader takes ..."), built by
 * hand on the queue's own stream, as a writer inside its frame leaves it:
 *  - a get that finds a frame only partly there takes that part off the
 *    socket into part[] and returns (-EAGAIN, -ETIMEDOUT) without waiting
 *    for the rest; whoever gets next finishes the frame, in another process
 *    too, with its header split or not, also waiting forever;
 *  - a reader killed holding rlock, after taking bytes into part[] but
 *    before saying so, or after counting a whole frame but before consuming
 *    it: the next get delivers the frame intact, once, and the counts agree;
 *  - the writer killed inside its frame: -EBADMSG at once, not a timeout,
 *    and for good: the next put may not fill the torn frame's rest; a
 *    writer killed after sending its whole frame, or before sending any of
 *    it, tears nothing (the next writer counts what it sent);
 *  - impossible shared words (part[]'s length, its header, a count that
 *    does not match the kernel's after a reader died): -EBADMSG, and a
 *    queue that works again once they are right.
 * White-box: it reads and writes the shared header of sock_pvt.h.
 *
 * Usage: tcp_part tcp
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "sock_pvt.h"
#include "testutil.h"

#define MSG_MAX 8192
#define HDR	4
#define LEN	5000 /* the message of a hand-made frame */

static struct ipcq *q;
static unsigned char frame[HDR + LEN];

static struct sock_q *sock(void)
{
	return sq(q);
}

static int unread(void)
{
	int n = -1;

	return ioctl(sock()->rfd, SIOCINQ, &n) < 0 ? -1 : n;
}

/*
 * Sends frame[from, to) on the stream, as a writer holding wlock does, and
 * (@arrive) waits until it is there to read: loopback delivers at once, or
 * nearly.
 */
static void send_bytes(size_t from, size_t to, bool arrive)
{
	ssize_t w = send(sock()->wfd, frame + from, to - from, MSG_NOSIGNAL);
	int64_t end = tu_now_ns() + 1000 * TU_MS;

	CHECK(w == (ssize_t)(to - from), "send of %zu bytes: %zd", to - from, w);
	while (arrive && unread() < (int)(to - from) && tu_now_ns() < end)
		tu_sleep_ns(TU_MS);
}

/* The writer leaves its frame, counted as tcp_put counts one. */
static void frame_done(void)
{
	atomic_fetch_add(&sock()->sh->sent, sizeof(frame));
	atomic_fetch_add(&sock()->sh->put_n, 1);
	pthread_mutex_unlock(&sock()->sh->wlock);
}

static void frame_begin(uint64_t seq)
{
	uint32_t len = LEN;

	memcpy(frame, &len, HDR);
	tu_msg_fill(frame + HDR, LEN, 1, seq);
	CHECK_EQ(pthread_mutex_lock(&sock()->sh->wlock), 0);
}

/* A get must return the hand-made message @seq whole. */
static void check_whole(int64_t timeout_ns, uint64_t seq)
{
	unsigned char m[MSG_MAX];
	ssize_t n = ipcq_get(q, m, sizeof(m), timeout_ns);
	unsigned p = 0;
	uint64_t s = 0;

	CHECK_EQ(n, LEN);
	if (n == LEN) {
		CHECK(tu_msg_check(m, LEN, &p, &s) == 0 && p == 1 && s == seq,
		      "the frame taken in parts came out damaged (producer %u seq %llu)", p,
		      (unsigned long long)s);
	}
}

/* After each case: nothing more, and the byte counts agree again. */
static void check_settled(void)
{
	unsigned char m[MSG_MAX];

	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN);
	CHECK_EQ(ipcq_qsize(q), 0);
	CHECK_EQ(sock()->sh->have, 0);
	CHECK_EQ(atomic_load(&sock()->sh->put_n), atomic_load(&sock()->sh->got_n));
	CHECK(atomic_load(&sock()->sh->taken) == atomic_load(&sock()->sh->sent),
	      "taken %llu, sent %llu", (unsigned long long)atomic_load(&sock()->sh->taken),
	      (unsigned long long)atomic_load(&sock()->sh->sent));
	CHECK_EQ(ipcq_put(q, "after", 5, 1000 * TU_MS), 0);
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 1000 * TU_MS), 5);
}

static int get_nowait_child(void *arg)
{
	unsigned char m[MSG_MAX];

	(void)arg;
	return ipcq_get_nowait(q, m, sizeof(m)) == -EAGAIN ? 0 : 1;
}

static int get_forever_child(void *arg)
{
	unsigned char m[MSG_MAX];
	unsigned p;
	uint64_t s;

	(void)arg;
	return ipcq_get(q, m, sizeof(m), IPCQ_FOREVER) == LEN && !tu_msg_check(m, LEN, &p, &s) &&
			       s == 3
		       ? 0
		       : 1;
}

static void test_half(size_t cut, uint64_t seq)
{
	int64_t t0;
	pid_t pid;

	tu_section("a frame with %zu of its %zu bytes there (writer inside it)", cut,
		   sizeof(frame));
	frame_begin(seq);
	send_bytes(0, cut, true);
	/* Another process's nowait get: returns at once, having taken the part. */
	t0 = tu_now_ns();
	pid = tu_fork(get_nowait_child, NULL);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), 0);
	CHECK((tu_now_ns() - t0) < 1000 * TU_MS, "a nowait get waited %lld ms for a frame's rest",
	      (long long)((tu_now_ns() - t0) / TU_MS));
	CHECK_EQ(unread(), 0);
	CHECK_EQ(sock()->sh->have, cut);
	/* The writer is still inside: a timed get times out, the frame is not torn. */
	{
		unsigned char m[MSG_MAX];

		CHECK_EQ(ipcq_get(q, m, sizeof(m), 50 * TU_MS), -ETIMEDOUT);
	}
	send_bytes(cut, sizeof(frame), true);
	frame_done();
	check_whole(1000 * TU_MS, seq);
	check_settled();
}

static void test_forever(void)
{
	pid_t pid;

	tu_section("a get waiting forever while a frame comes in parts");
	frame_begin(3);
	send_bytes(0, 1500, true);
	pid = tu_fork(get_forever_child, NULL);
	tu_sleep_ns(50 * TU_MS);
	send_bytes(1500, 3000, false);
	tu_sleep_ns(50 * TU_MS);
	send_bytes(3000, sizeof(frame), false);
	frame_done();
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), 0);
	check_settled();
}

/* Dies holding rlock after taking 1000 bytes into part[], before saying so. */
static int die_after_recv(void *arg)
{
	struct sock_shared *sh = sock()->sh;

	(void)arg;
	pthread_mutex_lock(&sh->rlock);
	if (recv(sock()->rfd, sh->part + sh->have, 1000, MSG_DONTWAIT) != 1000)
		return 1;
	raise(SIGKILL);
	return 1;
}

/* Dies holding rlock after counting the whole frame, before consuming it. */
static int die_after_count(void *arg)
{
	struct sock_shared *sh = sock()->sh;

	(void)arg;
	pthread_mutex_lock(&sh->rlock);
	atomic_fetch_add(&sh->got_n, 1);
	atomic_fetch_add(&sh->taken, sizeof(frame));
	raise(SIGKILL);
	return 1;
}

static void test_dead_reader(void)
{
	pid_t pid;

	tu_section("a reader killed after taking part of a frame, before recording it");
	frame_begin(4);
	send_bytes(0, 2500, true);
	CHECK_EQ(ipcq_get_nowait(q, (unsigned char[MSG_MAX]){0}, MSG_MAX), -EAGAIN);
	CHECK_EQ(sock()->sh->have, 2500);
	send_bytes(2500, 3500, true);
	pid = tu_fork(die_after_recv, NULL);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	CHECK_EQ(sock()->sh->have, 2500); /* what it took is in part[], unsaid */
	CHECK_EQ(unread(), 0);
	send_bytes(3500, sizeof(frame), true);
	frame_done();
	check_whole(1000 * TU_MS, 4);
	check_settled();

	tu_section("a reader killed after counting a whole frame, before consuming it");
	frame_begin(5);
	send_bytes(0, sizeof(frame), true);
	frame_done();
	pid = tu_fork(die_after_count, NULL);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	check_whole(1000 * TU_MS, 5);
	check_settled();
}

/* A writer killed holding wlock after sending @arg bytes of its frame (tcp_put's order). */
static int die_writing(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;

	frame_begin(6);
	sock()->sh->wframe = sizeof(frame);
	if (n && send(sock()->wfd, frame, n, MSG_NOSIGNAL) != (ssize_t)n)
		return 1;
	raise(SIGKILL);
	return 1;
}

static void test_dead_writer(void)
{
	pid_t pid;

	tu_section("a writer killed after sending its whole frame, before counting it");
	pid = tu_fork(die_writing, (void *)(uintptr_t)sizeof(frame));
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	CHECK_EQ(ipcq_put(q, "next", 4, 1000 * TU_MS), 0); /* takes wlock over: counts it */
	check_whole(1000 * TU_MS, 6);
	{
		unsigned char m[MSG_MAX];

		CHECK_EQ(ipcq_get(q, m, sizeof(m), 1000 * TU_MS), 4);
	}
	check_settled();

	tu_section("a writer killed holding wlock before sending anything");
	pid = tu_fork(die_writing, (void *)(uintptr_t)0);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	check_settled();
}

static void test_torn(void)
{
	unsigned char m[MSG_MAX];
	int64_t t0;
	pid_t pid;

	tu_section("the writer killed inside its frame");
	pid = tu_fork(die_writing, (void *)(uintptr_t)3000);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	t0 = tu_now_ns();
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 2000 * TU_MS), -EBADMSG);
	CHECK((tu_now_ns() - t0) < 1000 * TU_MS, "the torn frame took %lld ms to be seen",
	      (long long)((tu_now_ns() - t0) / TU_MS));
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);	   /* and stays so */
	CHECK_EQ(ipcq_put(q, "filler", 6, 100 * TU_MS), -EBADMSG); /* may not fill its rest */
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 100 * TU_MS), -EBADMSG);
}

/* The same, seen first by a writer: it takes wlock from the dead one. */
static void test_torn_put(void)
{
	unsigned char m[MSG_MAX];
	pid_t pid;

	tu_section("the writer killed inside its frame, the next put first");
	pid = tu_fork(die_writing, (void *)(uintptr_t)3000);
	CHECK_EQ(tu_wait(pid, 2000 * TU_MS), -SIGKILL);
	CHECK_EQ(ipcq_put(q, "filler", 6, 100 * TU_MS), -EBADMSG);
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 100 * TU_MS), -EBADMSG);
}

static void test_hostile(void)
{
	unsigned char m[MSG_MAX];
	uint32_t big = MSG_MAX + 1;

	tu_section("impossible words in part[]: -EBADMSG, nothing written out of bounds");
	/* A length word of 0 with more bytes than that: the rest's size would wrap. */
	CHECK_EQ(ipcq_put(q, frame, 3000, 1000 * TU_MS), 0);
	memset(sock()->sh->part, 0, HDR);
	sock()->sh->have = HDR + MSG_MAX;
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);
	CHECK_EQ(sock()->sh->have, HDR + MSG_MAX); /* nothing taken into part[] */
	CHECK_EQ(unread(), HDR + 3000);
	sock()->sh->have = 0;
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 1000 * TU_MS), 3000);
	sock()->sh->have = HDR + MSG_MAX + 1;
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);
	CHECK_EQ(ipcq_get(q, m, sizeof(m), 50 * TU_MS), -EBADMSG);
	sock()->sh->have = 0;
	atomic_fetch_add(&sock()->sh->taken, UINT64_C(1) << 40); /* a reader died, then this */
	sock()->sh->have = UINT32_MAX;				 /* "not yet recognised" */
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);
	atomic_fetch_sub(&sock()->sh->taken, UINT64_C(1) << 40);
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EAGAIN); /* recognised: nothing there */
	CHECK_EQ(sock()->sh->have, 0);
	memcpy(sock()->sh->part, &big, HDR);
	sock()->sh->have = HDR;
	CHECK_EQ(ipcq_get_nowait(q, m, sizeof(m)), -EBADMSG);
	sock()->sh->have = 0;
}

int main(int argc, char **argv)
{
	tu_begin(argc, argv, "tcp");
	q = tu_queue("tcp", NULL, 4, MSG_MAX);
	if (!q)
		return tu_end();
	test_half(2000, 1);
	test_half(2, 2); /* the header itself split */
	test_forever();
	test_dead_reader();
	test_dead_writer();
	test_torn();
	CHECK_EQ(ipcq_close(q), 0);
	q = tu_queue("tcp", NULL, 4, MSG_MAX);
	if (!q)
		return tu_end();
	test_torn_put();
	CHECK_EQ(ipcq_close(q), 0);
	q = tu_queue("tcp", NULL, 4, MSG_MAX);
	if (!q)
		return tu_end();
	test_hostile();
	CHECK_EQ(ipcq_close(q), 0);
	return tu_end();
}
