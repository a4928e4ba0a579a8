/* SPDX-License-Identifier: MIT */
/*
 * ipcbench: measures how fast Linux processes pass messages.
 *   ipcbench list | run [options] | clean [--named] | report DIR [--compare BASE] | map | --help
 * Each command in its own file (commands.h, map.h, report.h).  Bad input
 * exits with code 2 and one line naming the flag, the value and what is
 * allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ipcq_ext.h"
#include "map.h"
#include "report.h"

#ifndef IPCB_VERSION
#define IPCB_VERSION "unknown"
#endif

static const char usage[] =
	"usage: ipcbench COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  list                 backends, kernel limits, placements, topology, private dir\n"
	"  run [options]        run the benchmark matrix and write results/<date>-<host>/\n"
	"  clean [--named]      remove IPC objects that killed runs left behind (--named:\n"
	"                       also named queues whose creator died; see clean --help)\n"
	"  report DIR [--compare BASE]   draw a run's results (see ipcbench report --help)\n"
	"  map [options]        the round trip of every pair of CPUs (see ipcbench map --help)\n"
	"  help, -h, --help, --version\n"
	"\n"
	"run options (lists are comma-separated; each replaces the profile's list):\n"
	"  --profile quick|full     quick (default): every backend at 64 B and 4 KiB, both\n"
	"                           modes, 1x1, floor and bare loops (pipe-stream's too), one\n"
	"                           cross-core placement; rate 1k,100k,max and wakeup\n"
	"                           10us,1ms at 64 B for 0.2 s;\n"
	"                           full: sizes 8..64K, pairs 1x1,2x2,4x1, every placement,\n"
	"                           rate 1k,10k,100k,1M,max and wakeup 10us,100us,1ms,10ms\n"
	"                           at 64 B and 4 KiB for 0.5 s\n"
	"  --mode LIST              latency,throughput,floor,bare,rate,wakeup (rate: open loop,\n"
	"                           one-way latency from each message's due time; wakeup:\n"
	"                           one message after an idle gap)\n"
	"  --backends LIST          ipcq backends: %s;\n"
	"                           pipe-stream: the stream pipe's bare loop only\n"
	"  --sizes LIST             message sizes in bytes, 8 to 1M, suffix K or M (64,4K);\n"
	"                           rate and wakeup run at each (from 16 B) when given\n"
	"  --pairs LIST             producers x consumers for throughput, 1..64 each (1x1,4x1)\n"
	"  --rates LIST             rate: messages/s, 1 to 1000M, suffix k or M (1k,10k,1M), or\n"
	"                           max (back to back); a rate not carried is saturated\n"
	"  --gaps LIST              wakeup: idle gaps, 1us to 1s, suffix ns, us, ms or s\n"
	"                           (10us,100us,1ms,10ms)\n"
	"  --duration S             rate, wakeup: seconds per run, >0, <=60 (quick 0.2, full\n"
	"                           0.5; wakeup sends at least 20 messages)\n"
	"  --placement LIST         same-cpu,smt,same-l2,same-l3,cross-l3,cross-numa,\n"
	"                           cross-package,none\n"
	"  --repetitions N          repetitions per cell, 1..1000 (quick 5, full 5)\n"
	"  --min-time S             seconds per repetition, >0, <=3600 (quick 0.15, full 0.5;\n"
	"                           rate and wakeup: --duration)\n"
	"  --batch N                throughput cells put and get N messages per call\n"
	"                           (ipcq_put_many/ipcq_get_many), 1..1024 (default 1: one)\n"
	"  --mpmc                   1x1 throughput cells on queues for many producers and\n"
	"                           consumers too (default: IPCQ_SP|IPCQ_SC, see the note)\n"
	"  --out DIR                where results go (default results/<date>-<host>): a new or\n"
	"                           empty directory, never a symbolic link\n"
	"  --force                  replace the run that --out DIR holds (all of it, report/ too)\n"
	"  --mem-node N             shm rings and the floor's line on NUMA node N (checked,\n"
	"                           env.json mem_node; kernel queues: not placed)\n"
	"  --benchmark_*            passed to google-benchmark (e.g. --benchmark_filter=RE);\n"
	"                           not --benchmark_out*: benchmarks.json goes into --out DIR\n";

/* Apart from usage[]: C17 promises string literals of 4095 bytes only. */
static const char usage_tail[] =
	"\n"
	"Each list entry once, none empty.  The run is written into a fresh directory beside\n"
	"DIR and renamed to DIR at the end, also when SIGINT, SIGTERM, SIGHUP or SIGPIPE\n"
	"(stdout closed) stops it early.\n"
	"\n"
	"exit codes: 0 every cell measured or skipped; 1 some cell failed (lost, duplicated,\n"
	"reordered or corrupted a message) or the results could not be written; 2 bad input\n"
	"(one line on stderr naming the flag, the value and what is allowed); 128+N stopped by\n"
	"signal N (130 Ctrl-C, 129 hang-up, 141 closed pipe, 143 SIGTERM), partial results kept.\n"
	"\n"
	"Latency is the round-trip time (one message there and back), timed with\n"
	"clock_gettime(CLOCK_MONOTONIC); in rate and wakeup it is one-way, from due time\n"
	"to receipt.  Throughput counts messages from the first put to\n"
	"the last get; every message is verified.\n";

void print_usage(FILE *f)
{
	char list[256] = "";
	const char *const *b;

	for (b = ipcq_backends(); b && *b; b++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? "," : "", *b);
	fprintf(f, usage, list);
	fputs(usage_tail, f);
}

int main(int argc, char **argv)
{
	char *command = keep(join_args(argc, argv));

	if (argc < 2)
		bad("command", "", "list, run, clean, report, map, --help");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		free(command);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ipcbench %s\n", IPCB_VERSION);
		free(command);
		return 0;
	}
	if (!strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "clean"))
		return cmd_clean(argc - 1, argv + 1);
	if (!strcmp(argv[1], "map"))
		return map_main(argc - 1, argv + 1, command);
	if (!strcmp(argv[1], "run")) {
		int rc = cmd_run(argc - 1, argv + 1, command);

		free(command);
		return rc;
	}
	bad("command", argv[1], "list, run, clean, report, map, --help");
}
