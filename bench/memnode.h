/* SPDX-License-Identifier: MIT */
/*
 * --mem-node N: the NUMA node a cell's queue memory is put on, where
 * ipcbench owns that memory: the shm backend's ring (ipcq_shm_memory), the
 * bare shm loop's SPSC rings and the floor's cache line.  Each region is
 * bound with mbind(MPOL_BIND, MPOL_MF_MOVE) in the parent before the
 * workers start (pages already there are moved, later ones are made on
 * the node), and after the run move_pages() says on which node each page
 * really is: that count is recorded, per cell (env.json "mem_node").
 * Kernel-backed queues (pipe, sysv, mqueue, their bare loops and any
 * socket) keep their messages in kernel buffers that the kernel allocates
 * itself, as a rule on the node of the CPU that allocates them: the option
 * does not move those, and env.json says so for each such cell instead of
 * claiming a placement.
 */
#ifndef BENCH_MEMNODE_H
#define BENCH_MEMNODE_H

#include <stdbool.h>
#include <stddef.h>

struct ipcq;

#define MEMNODE_MAX   1024 /* nodes the masks hold */
#define MEMNODE_NREGS 4

/* The node asked for with --mem-node; -1 (the default): nothing is bound. */
extern int memnode_want;

/* The regions of one cell's run; zeroed before use. */
struct memnode_set {
	void *addr[MEMNODE_NREGS];
	size_t len[MEMNODE_NREGS];
	int n;
	const char *why_not; /* set when some memory of the cell is the kernel's */
};

/* Adds the memory of @q: the shm ring, or for other backends why_not. */
void memnode_add_queue(struct memnode_set *s, const struct ipcq *q);

/* Adds the pages that hold [@addr, @addr + @len). */
void memnode_add(struct memnode_set *s, const void *addr, size_t len);

/* The same for memory the kernel owns (a pipe, SysV or POSIX queue): why_not. */
void memnode_add_kernel(struct memnode_set *s);

/*
 * With memnode_want >= 0: binds every region of @s to that node, moving
 * its pages.  0, or -errno with @err set (nothing to do is 0).
 */
int memnode_apply(struct memnode_set *s, char *err, size_t len);

/*
 * With memnode_want >= 0: counts the pages of @s on the node (move_pages)
 * and adds them to the record of @key (a cell's name); a set with no
 * region records why_not.
 */
void memnode_verify(const struct memnode_set *s, const char *key);

/* Binds [@addr, @addr + @len) to @node, moving its pages.  0 or -errno. */
int memnode_bind(const void *addr, size_t len, int node);

/*
 * Asks move_pages where the pages of [@addr, @addr + @len) are: *@pages of
 * them, *@on_node on @node (pages not present count as not on it).  0 or
 * -errno.
 */
int memnode_count(const void *addr, size_t len, int node, long *on_node, long *pages);

/*
 * The record for env.json, {"mem_node": {...}} (a json_t *, NULL when the
 * option was not given): the node, the machine's node count, what the
 * option did, and per key (cell) the runs, pages checked and pages found
 * on the node, or why the cell's memory was not placed.  Free it with
 * memnode_json_free.
 */
void *memnode_json(int nodes);
void memnode_json_free(void *j);

struct topo;

/*
 * The value of --mem-node (run, map): a NUMA node of @t, or bad input
 * (exit 2).  On a machine of one node, one line on stderr says that the
 * option has no effect; the binding and its check still run (on node 0).
 * Sets memnode_want.
 */
void memnode_option(const char *v, struct topo *t);

#endif /* BENCH_MEMNODE_H */
