/* SPDX-License-Identifier: MIT */
/*
 * The seed's Queue demo in C: the parent creates a queue and hands it to two
 * processes through fork(); the writer puts A, B, C (random pauses); once it
 * has ended the reader gets until the queue is empty.
 *
 *   demo-queue [--backend pipe|shm|...]   (default pipe)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcq.h"
#include "proc.h"

static void random_pause(void)
{
	usleep((useconds_t)(rand() % 1000000)); /* random.random() seconds */
}

static int writer(void *arg)
{
	struct ipcq *q = arg;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (const char *v = "ABC"; *v; v++) {
		printf("Put %c to queue...\n", *v);
		if (ipcq_put(q, v, 1, IPCQ_FOREVER) < 0)
			return 1;
		random_pause();
	}
	return 0;
}

static int reader(void *arg)
{
	struct ipcq *q = arg;
	char buf[8192];
	ssize_t n;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	while (!ipcq_empty(q)) {
		n = ipcq_get(q, buf, sizeof(buf), IPCQ_FOREVER);
		if (n < 0)
			return 1;
		printf("Get %.*s from queue.\n", (int)n, buf);
		random_pause();
	}
	return 0;
}

static int run(proc_fn fn, struct ipcq *q)
{
	struct proc *p;
	int ret, code = 1;

	ret = proc_new(&p, fn, q);
	if (!ret)
		ret = proc_start(p);
	if (!ret)
		ret = proc_join(p, -1);
	if (!ret)
		ret = proc_exitcode(p, &code);
	proc_free(p);
	return ret ? ret : code;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"backend", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	struct ipcq_opts o = {.backend = "pipe", .msg_max = 64};
	struct ipcq *q;
	int c, ret;

	while ((c = getopt_long(argc, argv, "b:", longopts, NULL)) != -1) {
		if (c != 'b') {
			fprintf(stderr, "usage: demo-queue [--backend NAME]\n");
			return 2;
		}
		o.backend = optarg;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The parent creates the queue; the children inherit it through fork(). */
	ret = ipcq_create(&q, &o);
	if (ret) {
		fprintf(stderr, "demo-queue: %s queue: %s\n", o.backend, strerror(-ret));
		return 1;
	}
	ret = run(writer, q); /* pw.start(); pw.join() */
	if (!ret)
		ret = run(reader, q); /* pr.start(); pr.join() */
	ipcq_close(q);
	if (ret) {
		fprintf(stderr, "demo-queue: a child failed (%d)\n", ret);
		return 1;
	}
	printf("\nAll data written and read (backend %s)\n", o.backend);
	return 0;
}
