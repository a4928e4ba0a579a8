/* SPDX-License-Identifier: MIT */
/*
 * What one SysV queue may pin is bounded: capacity x msg_max above
 * max(kernel.msgmnb, 64 MiB) is -EINVAL with an explanation, for root too
 * (CAP_SYS_RESOURCE lets the kernel raise msg_qbytes without bound: root
 * got a queue of capacity 2^40).  Without that capability too the queue
 * was a lie: the kernel keeps 32 bits of msg_qbytes, so capacity 2^40 x 1
 * byte became a queue of 0 bytes that ipcq_capacity() called 2^40.  Up to
 * the bound, root still gets what it asks for.
 *
 * Usage: sysv_cap sysv
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipcq.h"
#include "ipcq_ext.h"
#include "testutil.h"

#define BOUND (64ULL << 20)

/* kernel.msgmnb as libipcq reads it; -1 when unreadable. */
static long long msgmnb(void)
{
	struct ipcq_limit l[8];
	ssize_t n = ipcq_limits("sysv", l, 8);

	for (ssize_t i = 0; i < n && i < 8; i++)
		if (!strcmp(l[i].name, "kernel.msgmnb"))
			return l[i].value;
	return -1;
}

/* CAP_SYS_RESOURCE (24) in the effective set: msg_qbytes may pass msgmnb. */
static bool has_sys_resource(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ULL << 24);
}

/* ipcq_create must refuse @capacity x @msg_max with -EINVAL and say why. */
static void refused(size_t capacity, size_t msg_max)
{
	struct ipcq_opts o = {.backend = "sysv", .capacity = capacity, .msg_max = msg_max};
	struct ipcq *q = NULL;
	char why[512];
	int ret, n;

	ret = ipcq_create(&q, &o);
	printf("capacity %zu x msg_max %zu: %s\n", capacity, msg_max, tu_errname(ret));
	CHECK(ret == -EINVAL, "capacity %zu x %zu: got %d (%s), want EINVAL", capacity, msg_max,
	      ret, tu_errname(ret));
	if (q) {
		printf("capacity in force: %zu\n", ipcq_capacity(q));
		ipcq_close(q);
	}
	n = ipcq_explain(&o, ret, why, sizeof(why));
	printf("explain: %s\n", n > 0 ? why : "(nothing)");
	CHECK(n > 0 && strstr(why, "pin"), "no explanation of the bound: %d '%s'", n, why);
}

int main(int argc, char **argv)
{
	long long mnb;
	size_t top;

	tu_begin(argc, argv, "sysv");
	mnb = msgmnb();
	if (mnb < 0)
		tu_skip("no kernel.msgmnb: no SysV message queues here");
	top = (size_t)(mnb > (long long)BOUND ? (unsigned long long)mnb : BOUND);
	printf("kernel.msgmnb %lld, bound %zu bytes, euid %u\n", mnb, top, (unsigned)geteuid());

	tu_section("beyond the bound: -EINVAL, explained");
	refused((size_t)1 << 40, 1);
	refused((size_t)1 << 28, 4096);
	refused(top / 4096 + 1, 4096);

	tu_section("at the bound (above msgmnb with CAP_SYS_RESOURCE)");
	if (has_sys_resource()) {
		struct ipcq *q = NULL;
		int ret = tu_create(&q, "sysv", NULL, top / 4096, 4096);

		CHECK(ret == 0, "capacity %zu x 4096: %s", top / 4096, tu_errname(ret));
		if (q) {
			CHECK_EQ(ipcq_capacity(q), top / 4096);
			CHECK_EQ(ipcq_close(q), 0);
		}
	} else {
		printf("note: no CAP_SYS_RESOURCE: a queue above kernel.msgmnb is the kernel's "
		       "EPERM\n");
	}
	return tu_end();
}
