/* SPDX-License-Identifier: MIT */
/*
 * The seed's Process demo in C: a child given arguments (a name, an age and
 * keyword arguments) prints its pid five times, 0.2 s apart; the parent
 * terminates it after one second and joins it.  Then the seed's note:
 * processes do not share global variables.
 *
 *   demo-process [--seconds S] [--loops N]   (defaults 1 and 5, as in the seed)
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

struct person {
	const char *name;
	int age;
	const char *kwargs; /* Python's **kwargs, printed as the seed prints them */
	int loops;
};

static int counter; /* a global: each process has its own copy */

static int pro_func(void *arg)
{
	const struct person *p = arg;

	for (int i = 0; i < p->loops; i++) {
		printf("child process running, name=%s, age=%d, pid=%d\n", p->name, p->age,
		       (int)getpid());
		printf("%s\n", p->kwargs);
		usleep(200000);
	}
	return 0;
}

static int bump(void *arg)
{
	(void)arg;
	counter += 100;
	printf("child pid=%d: counter = %d in the child\n", (int)getpid(), counter);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: demo-process [--seconds S] [--loops N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"loops", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct person xm = {"Xiaoming", 18, "{'m': 20}", 5};
	double seconds = 1.0;
	struct proc *p;
	int c, ret, code;

	while ((c = getopt_long(argc, argv, "s:n:", longopts, NULL)) != -1) {
		if (c == 's')
			seconds = atof(optarg);
		else if (c == 'n')
			xm.loops = atoi(optarg);
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = proc_new(&p, pro_func, &xm);
	if (!ret)
		ret = proc_start(p);
	if (ret) {
		fprintf(stderr, "demo-process: cannot start the child: %s\n", strerror(-ret));
		return 1;
	}
	printf("parent pid=%d started child pid=%d with name=%s, age=%d, kwargs=%s\n",
	       (int)getpid(), (int)proc_pid(p), xm.name, xm.age, xm.kwargs);
	usleep((useconds_t)(seconds * 1e6));
	printf("parent: %.1f s passed, terminating the child at once\n", seconds);
	proc_terminate(p);
	proc_join(p, -1);
	proc_exitcode(p, &code);
	if (code == -SIGTERM)
		printf("parent: child joined, exit code %d (terminated by SIGTERM)\n", code);
	else
		printf("parent: child joined, exit code %d (it had finished before terminate)\n",
		       code);
	proc_free(p);

	/* The seed's note: processes do not share global variables. */
	counter = 1;
	ret = proc_new(&p, bump, NULL);
	if (!ret)
		ret = proc_start(p);
	if (ret) {
		fprintf(stderr, "demo-process: cannot start the child: %s\n", strerror(-ret));
		return 1;
	}
	proc_join(p, -1);
	proc_free(p);
	printf("parent pid=%d: counter = %d in the parent: globals are not shared\n", (int)getpid(),
	       counter);
	return 0;
}
