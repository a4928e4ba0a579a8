/* SPDX-License-Identifier: MIT */
/*
 * The command-line helpers every command shares (cli.c): the one-line
 * bad-input exit, strings kept for the program's life, list splitting,
 * numbers, the machine's topology, the default results directory and the
 * stop signals.
 */
#ifndef BENCH_CLI_H
#define BENCH_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "topo.h"

/* Bad input: "ipcbench: FLAG: invalid value 'VALUE'; allowed: ...", exit code 2. */
void __attribute__((noreturn, format(printf, 3, 4)))
bad(const char *flag, const char *value, const char *fmt, ...);

/* Keeps @p (NULL too) as long as the program lives (reachable for LeakSanitizer); returns it. */
char *keep(char *p);

/* argv[0..argc) joined by spaces, malloc'ed (NULL: no memory). */
char *join_args(int argc, char **argv);

/* Splits @s on commas into @out (at most @max entries, none empty; else bad()). */
int split(const char *flag, const char *s, char **out, int max);

/* A decimal integer from @lo to @hi, or -1. */
int parse_count(const char *s, int lo, int hi);

/* Seconds, more than 0 (from 0 with @zero_ok), at most 3600: 0, -EINVAL, -ERANGE. */
int parse_seconds(const char *s, bool zero_ok, double *out);

/* The machine's topology, or exit 1 with one line. */
struct topo *load_topo(void);

/* results/<date>-<host> */
void default_out(char *buf, size_t len);

/* SIGINT, SIGTERM, SIGHUP, SIGPIPE set bench_stop. */
void catch_stops(void);

#endif /* BENCH_CLI_H */
