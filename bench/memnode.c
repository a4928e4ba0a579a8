/* SPDX-License-Identifier: MIT */
/* --mem-node: binding a cell's queue memory to a NUMA node and checking it (memnode.h). */
#include <errno.h>
#include <jansson.h>
#include <linux/mempolicy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "ipcq_ext.h"
#include "memnode.h"

#define QUERY_PAGES 512 /* pages per move_pages call */

int memnode_want = -1;

/* What was checked, per key; kept for env.json. */
static json_t *record;

static const char kernel_note[] =
	"not placed: the kernel allocates this mechanism's buffers itself (as a rule on the "
	"NUMA node of the CPU that allocates them); --mem-node does not move them";

static uintptr_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uintptr_t)p : 4096;
}

/* [@addr, @addr + @len) widened to whole pages. */
static void pages_of(const void *addr, size_t len, uintptr_t *start, size_t *span)
{
	uintptr_t ps = page_size(), a = (uintptr_t)addr & ~(ps - 1);
	uintptr_t end = ((uintptr_t)addr + len + ps - 1) & ~(ps - 1);

	*start = a;
	*span = end - a;
}

void memnode_add(struct memnode_set *s, const void *addr, size_t len)
{
	if (s->n < MEMNODE_NREGS && addr && len) {
		s->addr[s->n] = (void *)addr;
		s->len[s->n++] = len;
	}
}

void memnode_add_kernel(struct memnode_set *s)
{
	s->why_not = kernel_note;
}

void memnode_add_queue(struct memnode_set *s, const struct ipcq *q)
{
	void *addr;
	size_t len;

	if (q && ipcq_shm_memory(q, &addr, &len) == 0)
		memnode_add(s, addr, len);
	else if (q)
		memnode_add_kernel(s);
}

int memnode_bind(const void *addr, size_t len, int node)
{
	unsigned long mask[MEMNODE_MAX / (8 * sizeof(unsigned long))] = {0};
	const unsigned bits = 8 * sizeof(unsigned long);
	uintptr_t start;
	size_t span;

	if (node < 0 || node >= MEMNODE_MAX)
		return -EINVAL;
	mask[node / bits] = 1UL << (node % bits);
	pages_of(addr, len, &start, &span);
	/* maxnode: the kernel reads one bit less than it is told. */
	if (syscall(SYS_mbind, start, span, MPOL_BIND, mask, (unsigned long)MEMNODE_MAX + 1,
		    MPOL_MF_MOVE) < 0)
		return -errno;
	return 0;
}

int memnode_count(const void *addr, size_t len, int node, long *on_node, long *pages)
{
	void *page[QUERY_PAGES];
	int status[QUERY_PAGES];
	uintptr_t ps = page_size(), start;
	size_t span, total, done, k, i;

	pages_of(addr, len, &start, &span);
	total = span / ps;
	*on_node = *pages = 0;
	for (done = 0; done < total; done += k) {
		k = total - done < QUERY_PAGES ? total - done : QUERY_PAGES;
		for (i = 0; i < k; i++)
			page[i] = (void *)(start + (done + i) * ps);
		/* nodes NULL: only asks; status[i] is the node, or -errno (-ENOENT: not present) */
		if (syscall(SYS_move_pages, 0, k, page, NULL, status, 0) < 0)
			return -errno;
		for (i = 0; i < k; i++)
			*on_node += status[i] == node;
	}
	*pages = (long)total;
	return 0;
}

int memnode_apply(struct memnode_set *s, char *err, size_t len)
{
	int i, rc;

	for (i = 0; memnode_want >= 0 && i < s->n; i++) {
		rc = memnode_bind(s->addr[i], s->len[i], memnode_want);
		if (rc) {
			snprintf(err, len, "--mem-node %d: mbind: %s", memnode_want, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* record[key], made when missing; NULL when out of memory. */
static json_t *entry(const char *key)
{
	json_t *e;

	if (!record && !(record = json_object()))
		return NULL;
	e = json_object_get(record, key);
	if (!e && (e = json_object()) && json_object_set_new(record, key, e) < 0)
		return NULL;
	return e;
}

static void add_int(json_t *e, const char *name, long v)
{
	json_t *old = json_object_get(e, name);

	json_object_set_new(e, name, json_integer((old ? json_integer_value(old) : 0) + v));
}

void memnode_verify(const struct memnode_set *s, const char *key)
{
	long on, pages, sum_on = 0, sum_pages = 0;
	json_t *e;
	int i, rc;

	if (memnode_want < 0 || !(e = entry(key)))
		return;
	if (s->why_not)
		json_object_set_new(e, "note", json_string(s->why_not));
	for (i = 0; i < s->n; i++) {
		rc = memnode_count(s->addr[i], s->len[i], memnode_want, &on, &pages);
		if (rc < 0) {
			json_object_set_new(e, "error", json_string(strerror(-rc)));
			return;
		}
		sum_on += on;
		sum_pages += pages;
	}
	if (!s->n)
		return;
	add_int(e, "runs", 1);
	add_int(e, "pages", sum_pages);
	add_int(e, "pages_on_node", sum_on);
}

void *memnode_json(int nodes)
{
	json_t *o;

	if (memnode_want < 0 || !(o = json_object()))
		return NULL;
	json_object_set_new(o, "node", json_integer(memnode_want));
	json_object_set_new(o, "nodes", json_integer(nodes));
	json_object_set_new(
		o, "effect",
		json_string(nodes > 1
				    ? "queue memory ipcbench owns bound to the node (mbind "
				      "MPOL_BIND, MPOL_MF_MOVE), checked after each run "
				      "(move_pages)"
				    : "none: one NUMA node; the binding and its check ran anyway"));
	json_object_set_new(o, "cells", record ? json_incref(record) : json_object());
	return json_pack("{s:o}", "mem_node", o);
}

void memnode_json_free(void *j)
{
	json_decref(j);
}

void memnode_option(const char *v, struct topo *t)
{
	int n = parse_count(v, 0, MEMNODE_MAX - 1), nodes = topo_nodes(t);

	if (n < 0 || !topo_has_node(t, n))
		bad("--mem-node", v, "a NUMA node of this machine (it has %d%s)", nodes,
		    nodes == 1 ? ": node 0" : "; ipcbench list shows the topology");
	if (nodes == 1)
		fprintf(stderr,
			"ipcbench: --mem-node %d: this machine has one NUMA node, the "
			"option has no effect (the binding and its check run anyway)\n",
			n);
	memnode_want = n;
}
