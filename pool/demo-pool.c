/* SPDX-License-Identifier: MIT */
/*
 * The seed's Pool demo in C: a pool of 3 workers runs 10 tasks; each prints
 * its number and pid, sleeps a random 0-2 s and prints how long it took.
 *
 *   demo-pool [--backend pipe|shm|...]   (default pipe)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"

/* The pool's clock, in seconds. */
static double now(void)
{
	return (double)pool_now_ns() / 1e9;
}

static int worker(const void *arg, size_t len, void *out, size_t *out_len)
{
	static int seeded;
	double t_start = now();
	int msg;

	(void)out;
	*out_len = 0;
	if (len != sizeof(msg))
		return -1;
	memcpy(&msg, arg, sizeof(msg));
	if (!seeded++)
		srand((unsigned)time(NULL) ^ (unsigned)getpid());
	printf("%d started, pid %d\n", msg, (int)getpid());
	usleep((useconds_t)(rand() % 2000000)); /* random.random() * 2 seconds */
	printf("%d finished, took %0.2f s\n", msg, now() - t_start);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"backend", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	struct pool_opts o = {.workers = 3, .backend = "pipe"};
	struct pool_result *r[10];
	struct pool *po;
	int c, i, ret;

	while ((c = getopt_long(argc, argv, "b:", longopts, NULL)) != -1) {
		if (c != 'b') {
			fprintf(stderr, "usage: demo-pool [--backend NAME]\n");
			return 2;
		}
		o.backend = optarg;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* the workers' lines appear as printed */
	ret = pool_create(&po, &o);	  /* Pool(3) */
	if (ret) {
		fprintf(stderr, "demo-pool: pool on %s: %s\n", o.backend, strerror(-ret));
		return 1;
	}
	for (i = 0; i < 10; i++) {
		ret = pool_apply_async(po, worker, &i, sizeof(i), &r[i]);
		if (ret) {
			fprintf(stderr, "demo-pool: apply_async: %s\n", strerror(-ret));
			return 1;
		}
	}
	printf("---start----\n");
	pool_close(po);
	pool_join(po);
	printf("----end----\n");
	for (i = 0; i < 10; i++) {
		if (!pool_result_successful(r[i]))
			ret = 1;
		pool_result_free(r[i]);
	}
	pool_free(po);
	return ret;
}
