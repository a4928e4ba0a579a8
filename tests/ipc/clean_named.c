/* SPDX-License-Identifier: MIT */
/*
 * ipcq_clean_named(): the named queues that a program killed while it
 * owned one left behind (ipcq_clean() keeps named queues: they live until
 * unlinked).  Four named queues, each made by a child:
 *   A  its creator SIGKILLed, nobody holds it: listed, then removed;
 *   B  its creator alive (it holds no handle either): never listed;
 *   C  its creator SIGKILLed, a live grandchild holds the inherited handle:
 *      never listed;
 *   D  its creator SIGKILLed, this process opened it: not listed while
 *      open, listed and removed once closed.
 * Listing removes nothing; removal removes exactly what the listing named,
 * and the others still open.  A create that finds A's name taken leaves A
 * (and its creator record) alone.  Creators killed at random instants of a
 * named create/unlink loop leave nothing that the two clean calls miss.
 *
 * Usage: clean_named BACKEND
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

static const char *backend;

struct kid {
	struct tu_kid tk; /* first: kid_main gets it */
	const char *name;
	bool grandchild; /* a grandchild inherits the handle and outlives us */
	bool keep;	 /* stay alive, holding no handle */
};

static int kid_main(struct tu_kid *tk)
{
	struct kid *k = (struct kid *)tk;
	struct ipcq *q;

	if (tu_create(&q, backend, k->name, 4, 64) < 0 || ipcq_put_nowait(q, "x", 1) < 0)
		return 1;
	if (k->keep && ipcq_close(q) < 0)
		return 1;
	if (k->grandchild && tu_kid_grandchild(tk, q) < 0)
		return 1;
	return tu_kid_hold(tk) < 0;
}

static bool kid_start(struct kid *k)
{
	return tu_kid_start(&k->tk, kid_main, k->grandchild ? 2 : 1) == 0;
}

/* SIGKILL (creator dies, keeping any grandchild) or release (0). */
static void kid_end(struct kid *k, int sig)
{
	if (sig)
		kill(k->tk.pid, sig);
	else
		close(k->tk.hold[1]);
	CHECK_EQ(tu_wait(k->tk.pid, 10000 * TU_MS), sig ? -sig : 0);
}

static int opens(const char *name)
{
	struct ipcq *q = NULL;
	int ret = ipcq_open(&q, backend, name);

	if (q)
		ipcq_close(q);
	return ret;
}

/* One pass; @want: the names that must be found (NULL-terminated), the others must not. */
static void pass(bool remove, const char *const *want, const char *const *all)
{
	struct tu_seen s = {.backend = backend};
	ssize_t n = ipcq_clean_named(backend, remove, tu_seen_add, &s);
	int wanted = 0;

	CHECK(n >= 0 && n == s.n, "ipcq_clean_named returned %zd, reported %d", n, s.n);
	for (const char *const *w = want; *w; w++, wanted++)
		CHECK(tu_seen_has(&s, *w, NULL), "%s was not %s", *w,
		      remove ? "removed" : "listed");
	for (const char *const *a = all; *a; a++) {
		bool is_wanted = false;

		for (const char *const *w = want; *w; w++)
			is_wanted |= !strcmp(*w, *a);
		if (!is_wanted)
			CHECK(!tu_seen_has(&s, *a, NULL), "%s was %s", *a,
			      remove ? "removed" : "listed");
		/* Listing removes nothing; removal exactly what it names. */
		CHECK_EQ(opens(*a), remove && is_wanted ? -ENOENT : 0);
	}
	if (tu_isolated())
		CHECK(n == wanted, "found %zd, want %d", n, wanted);
}

/* Creates, closes and unlinks named queues until killed. */
static int create_loop(void *arg)
{
	char name[64];

	(void)arg;
	for (;;) {
		struct ipcq *q;

		tu_name(name, sizeof(name), "cn-loop");
		if (tu_create(&q, backend, name, 2, 64) == 0) {
			ipcq_close(q);
			ipcq_unlink(backend, name);
		}
	}
	return 0;
}

/*
 * Creators SIGKILLed at random instants of a named create/unlink loop:
 * ipcq_clean_named() with removal, then ipcq_clean(), leave nothing (the
 * leak check of tu_end() counts every object; only when isolated).
 */
static void kill_in_create(void)
{
	ssize_t named = 0, anon = 0;

	if (!tu_isolated()) {
		printf("note: not isolated: the kill-in-create check needs its own namespaces\n");
		return;
	}
	tu_section("creators killed at random instants of a named create/unlink loop");
	srand((unsigned)getpid());
	for (int i = 0; i < 40; i++) {
		pid_t pid = tu_fork(create_loop, NULL);

		if (pid < 0)
			break;
		tu_sleep_ns((rand() % 3000) * INT64_C(1000));
		kill(pid, SIGKILL);
		tu_wait(pid, 10000 * TU_MS);
	}
	named = ipcq_clean_named(backend, true, NULL, NULL);
	anon = ipcq_clean(backend, NULL, NULL);
	printf("removed %zd named queue(s), %zd other leftover(s)\n", named, anon);
	CHECK(named >= 0 && anon >= 0, "clean: %zd %zd", named, anon);
}

int main(int argc, char **argv)
{
	char a[64], b[64], c[64], d[64];
	const char *all[] = {a, b, c, d, NULL};
	struct kid ka = {.name = a}, kb = {.name = b, .keep = true},
		   kc = {.name = c, .grandchild = true}, kd = {.name = d};
	struct ipcq *qd = NULL;

	backend = tu_begin(argc, argv, "BACKEND");
	tu_name(a, sizeof(a), "cn-dead");
	tu_name(b, sizeof(b), "cn-alive");
	tu_name(c, sizeof(c), "cn-held");
	tu_name(d, sizeof(d), "cn-opened");
	if (!kid_start(&ka) || !kid_start(&kb) || !kid_start(&kc) || !kid_start(&kd)) {
		CHECK(0, "could not start the children");
		return tu_end();
	}
	kid_end(&ka, SIGKILL);
	kid_end(&kc, SIGKILL);
	CHECK_EQ(ipcq_open(&qd, backend, d), 0);
	kid_end(&kd, SIGKILL);

	/* A create that finds the name taken leaves the queue and its record alone. */
	{
		struct ipcq *x = NULL;

		CHECK_EQ(tu_create(&x, backend, a, 4, 64), -EEXIST);
		if (x)
			ipcq_close(x);
	}
	tu_section("listing: only the dead creator's queue that nobody holds");
	pass(false, (const char *[]){a, NULL}, all);
	if (qd)
		CHECK_EQ(ipcq_close(qd), 0);
	tu_section("once closed here, D is listed too");
	pass(false, (const char *[]){a, d, NULL}, all);
	tu_section("removal: exactly those");
	pass(true, (const char *[]){a, d, NULL}, all);
	tu_section("a second pass finds nothing");
	pass(false, (const char *[]){NULL}, (const char *[]){b, c, NULL});

	/* The grandchild first: every later child holds B's end of its pipe too. */
	tu_kid_grandchild_end(&kc.tk);
	kid_end(&kb, 0);
	close(ka.tk.ready[0]);
	close(kb.tk.ready[0]);
	close(kd.tk.ready[0]);
	tu_section("B once its creator exited, C once its grandchild is gone");
	pass(false, (const char *[]){b, c, NULL}, (const char *[]){b, c, NULL});
	CHECK_EQ(ipcq_unlink(backend, b), 0);
	CHECK_EQ(ipcq_unlink(backend, c), 0);
	kill_in_create();
	return tu_end();
}
