/* SPDX-License-Identifier: MIT */
/* The commands of ipcbench in bench/ (map.h and report.h have the others). */
#ifndef BENCH_COMMANDS_H
#define BENCH_COMMANDS_H

#include <stdio.h>

/* The whole usage text, with the built backends (main.c). */
void print_usage(FILE *f);

/* `ipcbench run ARGS` (argv[0] is "run"); @command, the whole command line for env.json. */
int cmd_run(int argc, char **argv, char *command);

/* `ipcbench list` */
int cmd_list(int argc, char **argv);

/* `ipcbench clean [--named]` */
int cmd_clean(int argc, char **argv);

#endif /* BENCH_COMMANDS_H */
