/* SPDX-License-Identifier: MIT */
/*
 * The seed's "Queue in a Pool" demo in C.  Python needs Manager().Queue()
 * there: a plain Queue made after the pool started cannot reach the workers.
 *
 * Part 1 shows why, with facts: the parent creates an anonymous queue after
 * the pool's workers were forked, notes the kernel objects that queue added
 * to the parent (file descriptors, shared mappings), and asks a worker to
 * look for them in its own /proc/self: they are not there.
 * Part 2 is the working way: a named queue that a writer task and a reader
 * task open by name, as Manager().Queue() is reached by address; removed
 * (unlinked) at the end.
 *
 *   demo-pool-queue [--backend pipe|shm|...]   (default pipe)
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcq.h"
#include "pool.h"

#define MAX_IDS 32
#define ARG_MAX 1024

static const char *backend = "pipe";

/* ---- what kernel objects does this process hold? ---- */

struct ids {
	int n;
	char id[MAX_IDS][96];
};

static void add_id(struct ids *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->id[i], id))
			return;
	if (s->n < MAX_IDS)
		snprintf(s->id[s->n++], sizeof(s->id[0]), "%s", id);
}

/* Every open file ("pipe:[1234]", "/dev/mqueue/x") and shared mapping (by inode). */
static void snapshot(struct ids *s)
{
	char path[300], target[256], line[512];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	FILE *f;
	ssize_t n;

	s->n = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			add_id(s, target);
		}
	}
	if (d)
		closedir(d);
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long inode = 0;
		char perms[8], name[256] = "";

		if (sscanf(line, "%*s %7s %*s %*s %lu %255[^\n]", perms, &inode, name) >= 2 &&
		    inode && perms[3] == 's') {
			snprintf(target, sizeof(target), "mapping of inode %lu %s", inode, name);
			add_id(s, target);
		}
	}
	if (f)
		fclose(f);
}

static bool has_id(const struct ids *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->id[i], id))
			return true;
	return false;
}

/* Task: which of the ids in @arg (one per line) does this worker hold? */
static int probe(const void *arg, size_t len, void *out, size_t *out_len)
{
	char want[ARG_MAX + 1], *save, *id;
	struct ids mine;
	size_t used = 0;
	int found = 0;

	memcpy(want, arg, len);
	want[len] = '\0';
	snapshot(&mine);
	for (id = strtok_r(want, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
		int k = snprintf((char *)out + used, *out_len - used, "  worker pid %d: %s: %s\n",
				 (int)getpid(), id, has_id(&mine, id) ? "PRESENT" : "not here");

		if (k > 0 && used + (size_t)k < *out_len)
			used += (size_t)k;
		found += has_id(&mine, id);
	}
	*out_len = used;
	return found;
}

/* ---- the working way: tasks that open a named queue ---- */

/* A task's start: says who it is (it returns no data) and opens the queue named @arg. */
static int task_open(const char *who, const void *arg, size_t len, size_t *out_len, struct ipcq **q)
{
	char name[256];

	*out_len = 0;
	printf("%s started (%d), parent is (%d)\n", who, (int)getpid(), (int)getppid());
	if (len >= sizeof(name))
		return -EINVAL;
	memcpy(name, arg, len);
	name[len] = '\0';
	return ipcq_open(q, backend, name);
}

static int writer(const void *arg, size_t len, void *out, size_t *out_len)
{
	struct ipcq *q;
	int ret;

	(void)out;
	ret = task_open("writer", arg, len, out_len, &q);
	if (ret)
		return ret;
	for (const char *c = "itcast"; *c && !ret; c++)
		ret = ipcq_put(q, c, 1, IPCQ_FOREVER);
	ipcq_close(q);
	return ret;
}

static int reader(const void *arg, size_t len, void *out, size_t *out_len)
{
	char buf[8192];
	struct ipcq *q;
	ssize_t n, size;
	int ret;

	(void)out;
	ret = task_open("reader", arg, len, out_len, &q);
	if (ret)
		return ret;
	/* for i in range(q.qsize()); a backend that cannot count: until empty. */
	size = ipcq_qsize(q);
	for (ssize_t i = 0; size < 0 || i < size; i++) {
		n = ipcq_get(q, buf, sizeof(buf), size < 0 ? IPCQ_NOWAIT : IPCQ_FOREVER);
		if (n < 0)
			break;
		printf("reader got message from Queue: %.*s\n", (int)n, buf);
	}
	ipcq_close(q);
	return 0;
}

static int wait_task(struct pool *po, pool_fn fn, const void *arg, size_t len, char *text,
		     size_t cap)
{
	struct pool_result *r;
	const void *d;
	size_t dl = 0;
	int ret;

	ret = pool_apply_async(po, fn, arg, len, &r);
	if (ret)
		return ret;
	pool_result_wait(r, IPCQ_FOREVER);
	ret = pool_result_status(r, NULL);
	d = pool_result_data(r, &dl);
	if (text && cap) {
		dl = dl < cap - 1 ? dl : cap - 1;
		memcpy(text, d ? d : "", dl);
		text[dl] = '\0';
	}
	pool_result_free(r);
	return ret;
}

/* Part 1: an anonymous queue made after the pool started. */
static int wrong_way(void)
{
	struct pool_opts po_opts = {.workers = 2, .backend = backend, .max_result = 4096};
	struct ipcq_opts qo = {.backend = backend, .msg_max = 64};
	struct ids before, after;
	char arg[ARG_MAX], text[4096];
	size_t used = 0;
	struct pool *po;
	struct ipcq *q;
	int ret, found;

	printf("== 1. An anonymous queue created after the pool started ==\n");
	ret = pool_create(&po, &po_opts);
	if (ret)
		return ret;
	snapshot(&before);
	ret = ipcq_create(&q, &qo);
	if (ret) {
		pool_free(po);
		return ret;
	}
	ipcq_put(q, "x", 1, IPCQ_NOWAIT);
	snapshot(&after);
	printf("parent (%d) created an anonymous %s queue; it holds these new kernel objects:\n",
	       (int)getpid(), backend);
	arg[0] = '\0';
	for (int i = 0; i < after.n; i++) {
		if (has_id(&before, after.id[i]))
			continue;
		printf("  parent: %s\n", after.id[i]);
		used += (size_t)snprintf(arg + used, sizeof(arg) - used, "%s\n", after.id[i]);
		if (used >= sizeof(arg))
			break;
	}
	if (!used) {
		printf("  (none kept per process: this backend's objects are global, so the\n"
		       "   queue might be found by its id, but a task still gets no handle)\n");
	} else {
		found = wait_task(po, probe, arg, strlen(arg), text, sizeof(text));
		printf("a worker looks for them in its own /proc/self:\n%s", text);
		if (found == 0)
			printf("the worker holds none of them: it cannot reach this queue.\n");
	}
	printf("Why: a pool worker is a fork() of the parent taken when the pool started.\n"
	       "It inherited every file descriptor and shared mapping that existed then,\n"
	       "and nothing created later.  A task receives bytes, so a pointer to the\n"
	       "parent's queue handle would name memory and descriptors the worker does not\n"
	       "have.  Python refuses the same thing with \"RuntimeError: Queue objects should\n"
	       "only be shared between processes through inheritance\" and offers\n"
	       "Manager().Queue(), a queue reached by address.  Our equivalent: a named "
	       "queue.\n\n");
	ipcq_close(q);
	pool_free(po);
	return 0;
}

/* Part 2: a named queue that the writer and reader tasks open by name. */
static int right_way(void)
{
	struct pool_opts po_opts = {.backend = backend};
	struct ipcq_opts qo = {.backend = backend, .msg_max = 64};
	char name[64];
	struct pool *po;
	struct ipcq *q;
	int ret;

	printf("== 2. A named queue, opened by name in the tasks ==\n");
	printf("(%d) start\n", (int)getpid());
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(name, sizeof(name), "demo-pool-queue-%d-%08x", (int)getpid(), (unsigned)rand());
	qo.name = name;
	ret = ipcq_create(&q, &qo); /* Manager().Queue() */
	if (ret)
		return ret;
	ret = pool_create(&po, &po_opts); /* Pool() */
	if (ret)
		goto out;
	ret = wait_task(po, writer, name, strlen(name), NULL, 0);
	if (ret)
		printf("writer failed: %s\n", strerror(-ret));
	usleep(100000);
	if (!ret)
		ret = wait_task(po, reader, name, strlen(name), NULL, 0);
	pool_close(po);
	pool_join(po);
	pool_free(po);
	printf("(%d) End\n", (int)getpid());
out:
	ipcq_close(q);
	ipcq_unlink(backend, name);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"backend", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	int c, ret;

	while ((c = getopt_long(argc, argv, "b:", longopts, NULL)) != -1) {
		if (c != 'b') {
			fprintf(stderr, "usage: demo-pool-queue [--backend NAME]\n");
			return 2;
		}
		backend = optarg;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = wrong_way();
	if (!ret)
		ret = right_way();
	if (ret) {
		fprintf(stderr, "demo-pool-queue (%s): %s\n", backend, strerror(-ret));
		return 1;
	}
	return 0;
}
