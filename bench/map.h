/* SPDX-License-Identifier: MIT */
/* `ipcbench map` (map.c): the round trip of every pair of CPUs. */
#ifndef BENCH_MAP_H
#define BENCH_MAP_H

#include "bench.h"

/* argv[0] is "map"; @command the whole command line, for env.json.  Returns the exit code. */
int map_main(int argc, char **argv, char *command);

#endif /* BENCH_MAP_H */
