/* SPDX-License-Identifier: MIT */
/* `ipcbench clean [--named]`: IPC objects that killed runs left behind. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ipcq_ext.h"

static void clean_cb(void *ctx, const char *backend, const char *what)
{
	(*(int *)ctx)++;
	printf("removed %s: %s\n", backend, what);
}

/* Named queues of dead creators: "removed ..." with --named, else "left ...". */
static void named_cb(void *ctx, const char *backend, const char *what)
{
	bool remove = *(bool *)ctx;

	printf("%s %s: %s\n", remove ? "removed" : "left", backend, what);
}

static const char clean_usage[] =
	"usage: ipcbench clean [--named]\n"
	"  removes what libipcq queues of runs killed by SIGKILL left behind and the\n"
	"  kernel cannot remove by itself (SysV queues nobody holds, the bare SysV loop's\n"
	"  included; leftovers in libipcq's private directory), and only those; says\n"
	"  what it removed.  Then lists named queues whose creator is dead and that no\n"
	"  live process holds (\"left BACKEND: ...\"); --named removes those too, as\n"
	"  ipcq_unlink would.  Never touches another program's or a live queue.\n";

int cmd_clean(int argc, char **argv)
{
	bool named = false;
	int count = 0;
	ssize_t n, k;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(clean_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--named") != 0)
			bad("clean", argv[i], "--named, or --help");
		named = true;
	}
	n = ipcq_clean(NULL, clean_cb, &count);
	if (n < 0) {
		fprintf(stderr, "ipcbench: clean: %s\n", strerror((int)-n));
		return 1;
	}
	k = ipcq_clean_named(NULL, named, named_cb, &named);
	if (k < 0) {
		fprintf(stderr, "ipcbench: clean: named queues: %s\n", strerror((int)-k));
		return 1;
	}
	if (named)
		n += k;
	printf("ipcbench clean: %zd object%s removed", n, n == 1 ? "" : "s");
	if (!named && k > 0)
		printf("; %zd named queue%s of dead creators left (ipcbench clean --named removes "
		       "them)",
		       k, k == 1 ? "" : "s");
	printf("\n");
	return 0;
}
