/* SPDX-License-Identifier: MIT */
/* Helpers for the libipcq tests; see testutil.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

int tu_failures;

/*
 * In a sanitized build, undefined behaviour fails the test as ./run wants it
 * (halt_on_error), whoever runs the program; UBSAN_OPTIONS still overrides.
 * Unused in other builds.
 */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static struct tu_snap start_snap;
static bool isolated;

const char *tu_errname(long long v)
{
	const char *s;

	if (v >= 0 || v < -4095)
		return "";
	s = strerrorname_np((int)-v);
	return s ? s : "?";
}

void tu_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	tu_failures++;
}

void tu_section(const char *fmt, ...)
{
	va_list ap;

	printf("== ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void tu_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(TU_SKIP);
}

/*
 * Private namespaces make the leak check exact: other tests and other users
 * of this machine create and remove IPC objects at the same time.  The mount
 * tree is made private first so that nothing we mount leaks out.
 */
static bool isolate(void)
{
	char dir[64];

	if (getenv("IPCQ_TEST_NO_ISOLATE") || geteuid() != 0)
		return false;
	if (unshare(CLONE_NEWIPC | CLONE_NEWNS) < 0) {
		printf("note: unshare: %s; checking leaks machine-wide\n", strerror(errno));
		return false;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("note: private mounts: %s; checking leaks machine-wide\n", strerror(errno));
		return false;
	}
	snprintf(dir, sizeof(dir), "/tmp/ipcq-%u", (unsigned)geteuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return false;
	mkdir("/dev/mqueue", 01777);
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0 ||
	    mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
		printf("note: mount: %s; checking leaks machine-wide\n", strerror(errno));
		return false;
	}
	/* The private dir is then /tmp/ipcq-<uid>, which we just made ours. */
	unsetenv("XDG_RUNTIME_DIR");
	return true;
}

bool tu_isolated(void)
{
	return isolated;
}

const char *tu_begin(int argc, char **argv, const char *usage)
{
	const char *const *b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		exit(TU_FAIL);
	}
	for (b = ipcq_backends(); *b; b++)
		if (strcmp(*b, argv[1]) == 0)
			break;
	if (!*b) {
		fprintf(stderr, "%s: backend %s is not built in\n", argv[0], argv[1]);
		exit(TU_FAIL);
	}
	isolated = isolate();
	tu_snap_take(&start_snap);
	return argv[1];
}

int tu_end(void)
{
	tu_check_leaks(&start_snap, "at the end of the test");
	tu_snap_free(&start_snap);
	if (tu_failures)
		printf("%d check(s) failed\n", tu_failures);
	else
		printf("all checks passed\n");
	return tu_failures ? TU_FAIL : TU_PASS;
}

/* ---- snapshots ---- */

static void snap_add(struct tu_snap *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void snap_add(struct tu_snap *s, const char *fmt, ...)
{
	va_list ap;
	char *item;

	va_start(ap, fmt);
	if (vasprintf(&item, fmt, ap) < 0)
		abort();
	va_end(ap);
	s->item = realloc(s->item, (s->n + 1) * sizeof(*s->item));
	if (!s->item)
		abort();
	s->item[s->n++] = item;
}

static void snap_dir(struct tu_snap *s, const char *path, int depth)
{
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			snap_add(s, "dir %s", sub);
			if (depth < 4)
				snap_dir(s, sub, depth + 1);
		} else {
			snap_add(s, "file %s", sub);
		}
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tu_snap_take(struct tu_snap *s)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char path[PATH_MAX], line[512];
	FILE *f;

	memset(s, 0, sizeof(*s));
	/* /proc/sysvipc/msg is what ipcs -q reads, for our IPC namespace. */
	f = fopen("/proc/sysvipc/msg", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			long long key, id;

			if (sscanf(line, "%lld %lld", &key, &id) == 2)
				snap_add(s, "sysv %lld", id);
		}
		fclose(f);
	}
	snap_dir(s, "/dev/shm", 0);
	snap_dir(s, "/dev/mqueue", 0);
	snprintf(path, sizeof(path), "/tmp/ipcq-%u", (unsigned)geteuid());
	snap_dir(s, path, 0);
	if (xdg && xdg[0] == '/') {
		snprintf(path, sizeof(path), "%s/ipcq", xdg);
		snap_dir(s, path, 0);
	}
	if (s->n)
		qsort(s->item, s->n, sizeof(*s->item), cmp_str);
}

void tu_snap_free(struct tu_snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->item[i]);
	free(s->item);
	memset(s, 0, sizeof(*s));
}

size_t tu_snap_new(const struct tu_snap *before, const struct tu_snap *after, bool dirs,
		   struct tu_snap *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < after->n; i++) {
		const char *it = after->item[i];

		if (!dirs && !strncmp(it, "dir ", 4))
			continue;
		if (before->n &&
		    bsearch(&it, before->item, before->n, sizeof(*before->item), cmp_str))
			continue;
		snap_add(out, "%s", it);
	}
	return out->n;
}

size_t tu_check_leaks(const struct tu_snap *before, const char *when)
{
	struct tu_snap now, fresh;
	size_t n = 0;

	/* A child that just died may still be tearing down: give it a moment. */
	for (int tries = 0; tries < 20; tries++) {
		tu_snap_take(&now);
		n = tu_snap_new(before, &now, false, &fresh);
		tu_snap_free(&now);
		if (!n)
			break;
		tu_snap_free(&fresh);
		tu_sleep_ns(50 * TU_MS);
	}
	for (size_t i = 0; i < fresh.n; i++)
		tu_fail(__FILE__, __LINE__, "no IPC object left behind", "%s: %s%s", when,
			fresh.item[i],
			isolated ? "" : " (machine-wide check: may be another program's)");
	tu_snap_free(&fresh);
	return n;
}

/* ---- messages ---- */

#define TU_MAGIC 0x49504351u /* "IPCQ" */

static uint64_t mix(uint64_t x)
{
	/* splitmix64: cheap, and every bit of the seed matters */
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

size_t tu_msg_len(unsigned producer, uint64_t seq, size_t min, size_t max)
{
	uint64_t r = mix(((uint64_t)producer << 40) ^ seq ^ UINT64_C(0x5555));

	if (max <= min)
		return min;
	/* Hit both ends often: they are where framing bugs live. */
	switch (r & 7) {
	case 0:
		return min;
	case 1:
		return max;
	default:
		return min + (size_t)((r >> 3) % (max - min + 1));
	}
}

static void payload(unsigned char *p, size_t n, unsigned producer, uint64_t seq)
{
	uint64_t s = mix(((uint64_t)producer << 40) ^ seq);

	for (size_t i = 0; i < n; i++) {
		if ((i & 7) == 0)
			s = mix(s);
		p[i] = (unsigned char)(s >> ((i & 7) * 8));
	}
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void tu_msg_fill(void *buf, size_t len, unsigned producer, uint64_t seq)
{
	unsigned char *p = buf;
	uint32_t h[6];

	payload(p + TU_HDR, len - TU_HDR, producer, seq);
	h[0] = TU_MAGIC;
	h[1] = producer;
	h[2] = (uint32_t)seq;
	h[3] = (uint32_t)(seq >> 32);
	h[4] = (uint32_t)len;
	h[5] = fnv1a(p + TU_HDR, len - TU_HDR);
	memcpy(p, h, TU_HDR);
}

int tu_msg_check(const void *buf, size_t len, unsigned *producer, uint64_t *seq)
{
	const unsigned char *p = buf;
	uint32_t h[6];

	if (len < TU_HDR)
		return -EBADMSG;
	memcpy(h, p, TU_HDR);
	if (h[0] != TU_MAGIC || h[4] != len || h[5] != fnv1a(p + TU_HDR, len - TU_HDR))
		return -EBADMSG;
	*producer = h[1];
	*seq = (uint64_t)h[2] | (uint64_t)h[3] << 32;
	/* The checksum could collide: compare the bytes themselves. */
	{
		unsigned char *all = malloc(len - TU_HDR + 1);
		int ok;

		if (!all)
			abort();
		payload(all, len - TU_HDR, *producer, *seq);
		ok = memcmp(all, p + TU_HDR, len - TU_HDR) == 0;
		free(all);
		if (!ok)
			return -EBADMSG;
	}
	return 0;
}

/* ---- clocks ---- */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tu_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t tu_cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

void tu_sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- queues and processes ---- */

int tu_create(struct ipcq **out, const char *backend, const char *name, size_t capacity,
	      size_t msg_max)
{
	struct ipcq_opts o = {
		.backend = backend, .name = name, .capacity = capacity, .msg_max = msg_max};
	int64_t end = tu_now_ns() + 5000 * TU_MS;
	int ret;

	for (;;) {
		ret = ipcq_create(out, &o);
		if ((ret != -EMFILE && ret != -ENOSPC && ret != -ENOMEM) || tu_now_ns() > end)
			return ret;
		tu_sleep_ns(50 * TU_MS);
	}
}

void tu_seen_add(void *ctx, const char *backend, const char *what)
{
	struct tu_seen *s = ctx;

	printf("reported: %s: %s\n", backend, what);
	CHECK(!strcmp(backend, s->backend), "reported backend %s, want %s", backend, s->backend);
	if (s->n < 16)
		snprintf(s->what[s->n], sizeof(s->what[0]), "%s", what);
	s->n++;
}

bool tu_seen_has(const struct tu_seen *s, const char *a, const char *b)
{
	for (int i = 0; i < s->n && i < 16; i++)
		if (strstr(s->what[i], a) && (!b || strstr(s->what[i], b)))
			return true;
	return false;
}

struct ipcq *tu_queue(const char *backend, const char *name, size_t capacity, size_t msg_max)
{
	struct ipcq *q = NULL;
	int ret = tu_create(&q, backend, name, capacity, msg_max);

	CHECK(ret == 0, "create %s queue %s (capacity %zu, msg_max %zu): %d %s", backend,
	      name ? name : "(anonymous)", capacity, msg_max, ret, tu_errname(ret));
	return ret ? NULL : q;
}

void tu_name(char *buf, size_t len, const char *tag)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)tu_now_ns();
	snprintf(buf, len, "ipcqt-%s-%d-%08x", tag, (int)getpid(), r);
}

/* fork() of a child that dies with us: its pid, 0 in the child, or -errno. */
static pid_t fork_tied(void)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(TU_FAIL); /* we died before the prctl */
	}
	return pid;
}

pid_t tu_fork(int (*fn)(void *), void *arg)
{
	pid_t pid = fork_tied();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

pid_t tu_spawn(char *const argv[])
{
	pid_t pid = fork_tied();

	if (pid == 0) {
		/* Unrelated: the opener inherits no descriptor of ours. */
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int kid_main(void *arg)
{
	struct tu_kid *k = arg;

	close(k->ready[0]);
	close(k->hold[1]);
	return k->fn(k);
}

int tu_kid_start(struct tu_kid *k, int (*fn)(struct tu_kid *k), int n)
{
	char c;

	if (pipe2(k->ready, O_CLOEXEC) < 0 || pipe2(k->hold, O_CLOEXEC) < 0)
		return -errno;
	k->fn = fn;
	k->pid = tu_fork(kid_main, k);
	close(k->ready[1]);
	close(k->hold[0]);
	if (k->pid < 0)
		return k->pid;
	for (int i = 0; i < n; i++)
		if (read(k->ready[0], &c, 1) != 1)
			return -EIO;
	return 0;
}

int tu_kid_hold(struct tu_kid *k)
{
	char c;

	if (write(k->ready[1], "r", 1) != 1)
		return -1;
	while (read(k->hold[0], &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}

int tu_kid_grandchild(struct tu_kid *k, struct ipcq *q)
{
	pid_t g = fork();

	if (g < 0)
		return -1;
	if (g == 0) {
		tu_kid_hold(k);
		ipcq_close(q);
		_exit(0);
	}
	return 0;
}

void tu_kid_grandchild_end(struct tu_kid *k)
{
	ssize_t r;
	char c;

	close(k->hold[1]);
	/* Its end of ready closes once it exited (the child's already has). */
	do
		r = read(k->ready[0], &c, 1);
	while (r > 0 || (r < 0 && errno == EINTR));
	close(k->ready[0]);
}

int tu_wait(pid_t pid, int64_t timeout_ns)
{
	int64_t end = tu_now_ns() + timeout_ns;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (tu_now_ns() > end) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return TU_TIMEDOUT;
		}
		tu_sleep_ns(2 * TU_MS);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
}

void tu_sibling(char *buf, size_t len, const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		n = 0;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/%s", slash ? self : ".", name);
}

size_t tu_fill(struct ipcq *q, size_t len)
{
	unsigned char *m = calloc(1, len ? len : 1);
	size_t n = 0;

	while (m && n < 100000 && ipcq_put_nowait(q, m, len) == 0)
		n++;
	free(m);
	return n;
}
