/* SPDX-License-Identifier: MIT */
/*
 * mqueue_limits: the kernel limits of the "mqueue" backend.
 *  1. Under the default limits a capacity-0, msg_max-4096 queue works.
 *  2. A capacity above fs.mqueue.msg_max fails with the kernel's own error,
 *     and ipcq_explain() names fs.mqueue.msg_max with its current value.
 *  3. Likewise a msg_max above fs.mqueue.msgsize_max.
 *  4. ipcq_limits() reports the values the kernel has.
 *  As root:
 *  5. Raising fs.mqueue.msg_max makes the refused capacity work; the
 *     original value is restored on every path (exit, signal, failure).
 *  6. RLIMIT_MSGQUEUE: capacity 0 shrinks to what the rlimit holds (the
 *     kernel charges msgsize + 96 bytes per message), a capacity that does
 *     not fit fails with EMFILE, and ipcq_explain() names the rlimit.
 * Exit 0 pass, 1 fail, 77 when not root (1-4 still ran and passed).
 *
 * As root the test first moves into a private IPC namespace: the mqueue
 * sysctls are per namespace, so raising one there cannot disturb other
 * programs, and the values start from the kernel's defaults.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"

#define MSG_MAX_PATH	 "/proc/sys/fs/mqueue/msg_max"
#define MSGSIZE_MAX_PATH "/proc/sys/fs/mqueue/msgsize_max"
#define QUEUES_MAX_PATH	 "/proc/sys/fs/mqueue/queues_max"
#define LOCK_PATH	 "/tmp/ipcq-mqueue-limits.lock"
#define NOBODY		 65534

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static long long read_ll(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* What the kernel itself answers to mq_open of these attributes: 0 or an errno. */
static int kernel_answer(long maxmsg, long msgsize)
{
	struct mq_attr attr = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
	char name[64];
	mqd_t mqd;

	snprintf(name, sizeof(name), "/ipcq-limits-probe-%d", (int)getpid());
	mqd = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (mqd == (mqd_t)-1)
		return errno;
	mq_close(mqd);
	mq_unlink(name);
	return 0;
}

/* Fills the queue to its capacity, checks it refuses one more, drains it in order. */
static void fill_and_drain(struct ipcq *q, size_t len)
{
	size_t cap = ipcq_capacity(q), n = ipcq_msg_max(q);
	unsigned char *msg = malloc(len > 0 ? len : 1), *buf = malloc(n);

	if (!msg || !buf) {
		CHECK(0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cap; i++) {
		memset(msg, (int)(i & 0xff), len);
		CHECK(ipcq_put_nowait(q, msg, len) == 0, "put %zu of %zu", i, cap);
	}
	CHECK(ipcq_full(q), "full after %zu puts", cap);
	CHECK(ipcq_put_nowait(q, msg, len) == -EAGAIN, "put beyond capacity %zu", cap);
	for (size_t i = 0; i < cap; i++) {
		ssize_t got = ipcq_get_nowait(q, buf, n);

		CHECK(got == (ssize_t)len, "get %zu: %zd", i, got);
		CHECK(got <= 0 || (buf[0] == (i & 0xff) && buf[got - 1] == (i & 0xff)),
		      "message %zu out of order or torn", i);
	}
	CHECK(ipcq_empty(q), "empty after draining");
out:
	free(msg);
	free(buf);
}

/* ipcq_create must fail exactly as the kernel does, and explain must say @want. */
static void check_refused(const char *what, size_t capacity, size_t msg_max, const char *want)
{
	struct ipcq_opts o = {.backend = "mqueue", .capacity = capacity, .msg_max = msg_max};
	int kerr = kernel_answer((long)capacity, (long)msg_max);
	struct ipcq *q = NULL;
	char line[512];
	int ret, n;

	ret = ipcq_create(&q, &o);
	if (kerr == 0) {
		/* CAP_SYS_RESOURCE lifts the sysctl bounds: nothing to refuse. */
		printf("note: %s: the kernel allows it here (CAP_SYS_RESOURCE?)\n", what);
		CHECK(ret == 0, "%s: ipcq_create %d where the kernel allows it", what, ret);
		if (q)
			ipcq_close(q);
		return;
	}
	CHECK(ret == -kerr, "%s: ipcq_create returned %d, the kernel says -%d", what, ret, kerr);
	if (ret == 0)
		ipcq_close(q);
	n = ipcq_explain(&o, ret, line, sizeof(line));
	printf("%s: %s\n", what, n > 0 ? line : "(no explanation)");
	CHECK(n > 0 && (size_t)n == strlen(line), "%s: explain returned %d", what, n);
	CHECK(strstr(line, want) != NULL, "%s: explanation lacks \"%s\"", what, want);
}

/*
 * A capacity near SSIZE_MAX: the bytes the queue would need must not wrap
 * around to a small number that ulimit -q could grant.
 */
static void test_explain_huge(void)
{
	struct ipcq_opts o = {.backend = "mqueue", .capacity = SSIZE_MAX / 2, .msg_max = 4096};
	unsigned long long need = 0;
	struct rlimit rl;
	char line[512];
	const char *t;
	int n;

	printf("-- explain EMFILE for capacity %zu\n", o.capacity);
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) {
		printf("note: RLIMIT_MSGQUEUE unlimited: nothing to explain\n");
		return;
	}
	n = ipcq_explain(&o, -EMFILE, line, sizeof(line));
	printf("%s\n", n > 0 ? line : "(no explanation)");
	CHECK(n > 0, "explain returned %d", n);
	t = strstr(line, " takes ");
	CHECK(t && sscanf(t, " takes %llu", &need) == 1, "no byte count in \"%s\"", line);
	CHECK(need >= o.capacity, "need %llu bytes for %zu messages of 4096: wrapped", need,
	      o.capacity);
}

static void test_defaults(void)
{
	struct ipcq_opts o = {.backend = "mqueue"};
	long long msg_max = read_ll(MSG_MAX_PATH);
	struct ipcq *q;
	int ret;

	printf("-- capacity 0, msg_max 4096 under the default limits\n");
	ret = ipcq_create(&q, &o);
	CHECK(ret == 0, "ipcq_create: %d", ret);
	if (ret)
		return;
	printf("capacity %zu, msg_max %zu\n", ipcq_capacity(q), ipcq_msg_max(q));
	CHECK(ipcq_msg_max(q) == 4096, "msg_max %zu", ipcq_msg_max(q));
	CHECK(ipcq_capacity(q) >= 1 && (long long)ipcq_capacity(q) <= msg_max,
	      "capacity %zu outside [1, fs.mqueue.msg_max %lld]", ipcq_capacity(q), msg_max);
	fill_and_drain(q, 4096);
	CHECK(ipcq_close(q) == 0, "close");
}

static void test_refusals(void)
{
	long long msg_max = read_ll(MSG_MAX_PATH), size_max = read_ll(MSGSIZE_MAX_PATH);
	char want[96];

	printf("-- capacity above fs.mqueue.msg_max, msg_max above fs.mqueue.msgsize_max\n");
	CHECK(msg_max > 0 && size_max > 0, "cannot read the mqueue sysctls");
	if (msg_max <= 0 || size_max <= 0)
		return;
	snprintf(want, sizeof(want), "fs.mqueue.msg_max is %lld", msg_max);
	check_refused("capacity", (size_t)msg_max + 1, 64, want);
	snprintf(want, sizeof(want), "fs.mqueue.msgsize_max is %lld", size_max);
	check_refused("msg_max", 1, (size_t)size_max + 1, want);
}

static void test_limits(void)
{
	static const char *const names[] = {"fs.mqueue.msg_max", "fs.mqueue.msgsize_max",
					    "fs.mqueue.queues_max", "RLIMIT_MSGQUEUE"};
	struct ipcq_limit l[8];
	struct rlimit rl;
	long long want[4];
	ssize_t n;

	printf("-- ipcq_limits\n");
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	want[0] = read_ll(MSG_MAX_PATH);
	want[1] = read_ll(MSGSIZE_MAX_PATH);
	want[2] = read_ll(QUEUES_MAX_PATH);
	want[3] = rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
	n = ipcq_limits("mqueue", l, 8);
	CHECK(n == 4, "ipcq_limits returned %zd", n);
	for (ssize_t i = 0; i < n && i < 4; i++) {
		printf("%s = %lld %s; raise: %s\n", l[i].name, l[i].value, l[i].unit, l[i].raise);
		CHECK(strcmp(l[i].name, names[i]) == 0, "limit %zd is %s", i, l[i].name);
		CHECK(l[i].value == want[i], "%s = %lld, the kernel says %lld", l[i].name,
		      l[i].value, want[i]);
		CHECK(l[i].raise[0] != '\0', "%s: no way to raise it", l[i].name);
	}
}

/* ---- as root: fs.mqueue.msg_max raised, restored on every path ---- */

static char saved[32]; /* the original fs.mqueue.msg_max; "" when nothing to restore */

static void restore_msg_max(void)
{
	/* Async-signal-safe: only open/write/close on a string made beforehand. */
	if (saved[0]) {
		int fd = open(MSG_MAX_PATH, O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, saved, strlen(saved)) < 0) {
				/* nothing more we can do from here */
			}
			close(fd);
		}
		saved[0] = '\0';
	}
}

static void on_signal(int sig)
{
	restore_msg_max();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void test_raise_msg_max(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGSEGV, SIGABRT};
	struct ipcq_opts o = {.backend = "mqueue", .msg_max = 64};
	long long orig = read_ll(MSG_MAX_PATH), target;
	struct ipcq *q;
	char val[32];
	int lock, ret;

	printf("-- raising fs.mqueue.msg_max\n");
	if (orig <= 0 || orig >= 65536) {
		printf("note: fs.mqueue.msg_max is %lld: cannot raise it\n", orig);
		return;
	}
	target = orig * 2 < 65536 ? orig * 2 : 65536;
	/* Other runs of this test (a second build) must not save our raised value. */
	lock = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	orig = read_ll(MSG_MAX_PATH);
	snprintf(saved, sizeof(saved), "%lld\n", orig);
	atexit(restore_msg_max);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);

	snprintf(val, sizeof(val), "%lld\n", target);
	ret = write_str(MSG_MAX_PATH, val);
	CHECK(ret == 0, "writing %s: %s", MSG_MAX_PATH, strerror(-ret));
	if (ret == 0) {
		CHECK(read_ll(MSG_MAX_PATH) == target, "fs.mqueue.msg_max did not become %lld",
		      target);
		o.capacity = (size_t)target;
		ret = ipcq_create(&q, &o);
		CHECK(ret == 0, "capacity %lld after the raise: %d", target, ret);
		if (ret == 0) {
			printf("fs.mqueue.msg_max %lld -> %lld: capacity %zu works\n", orig, target,
			       ipcq_capacity(q));
			CHECK((long long)ipcq_capacity(q) == target, "capacity %zu",
			      ipcq_capacity(q));
			fill_and_drain(q, 64);
			ipcq_close(q);
		}
	}
	restore_msg_max();
	CHECK(read_ll(MSG_MAX_PATH) == orig, "fs.mqueue.msg_max not restored to %lld", orig);
	if (lock >= 0)
		close(lock); /* also drops the lock */
}

/* ---- as root: RLIMIT_MSGQUEUE, in a child that is another user ---- */

static int rlimit_child(void)
{
	const rlim_t bytes = 20000;
	const size_t size = 4096, per = size + 96; /* the kernel's charge per message */
	struct rlimit rl = {bytes, bytes};
	struct ipcq_opts o = {.backend = "mqueue", .msg_max = size};
	long long msg_max = read_ll(MSG_MAX_PATH);
	size_t fit = bytes / per, want_cap = fit < (size_t)msg_max ? fit : (size_t)msg_max;
	struct ipcq *q;
	char want[64];
	int ret;

	/* The rlimit counts all queues of a user: be a user nobody else uses here. */
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0 || setrlimit(RLIMIT_MSGQUEUE, &rl) < 0) {
		printf("note: cannot become uid %d with RLIMIT_MSGQUEUE %llu: %s\n", NOBODY,
		       (unsigned long long)bytes, strerror(errno));
		return 77;
	}
	ret = ipcq_create(&q, &o);
	CHECK(ret == 0, "capacity 0 under RLIMIT_MSGQUEUE %llu: %d", (unsigned long long)bytes,
	      ret);
	if (ret == 0) {
		printf("capacity 0 at %zu B under RLIMIT_MSGQUEUE %llu: %zu\n", size,
		       (unsigned long long)bytes, ipcq_capacity(q));
		CHECK(ipcq_capacity(q) == want_cap, "capacity %zu, want %zu", ipcq_capacity(q),
		      want_cap);
		fill_and_drain(q, size);
		ipcq_close(q);
	}
	/* One message more than fits: the kernel's accounting, checked exactly. */
	o.capacity = fit + 1;
	if (o.capacity <= (size_t)msg_max) {
		snprintf(want, sizeof(want), "RLIMIT_MSGQUEUE is %llu", (unsigned long long)bytes);
		check_refused("rlimit", o.capacity, size, want);
		CHECK(kernel_answer((long)fit, (long)size) == 0, "%zu x %zu B should fit", fit,
		      size);
	}
	return failures ? 1 : 0;
}

static void test_rlimit(void)
{
	int status;
	pid_t pid;

	printf("-- RLIMIT_MSGQUEUE\n");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		CHECK(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int code = rlimit_child();

		fflush(stdout);
		_exit(code);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77),
	      "rlimit child: status %#x", status);
}

int main(void)
{
	bool root = geteuid() == 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (root && unshare(CLONE_NEWIPC) == 0)
		printf("in a private IPC namespace: the kernel's default mqueue limits\n");
	test_defaults();
	test_refusals();
	test_explain_huge();
	test_limits();
	if (root) {
		test_raise_msg_max();
		test_rlimit();
	}
	printf("%d failure(s)\n", failures);
	if (failures)
		return 1;
	if (!root) {
		printf("SKIP: not root: cannot raise fs.mqueue.msg_max or switch user\n");
		return 77;
	}
	return 0;
}
