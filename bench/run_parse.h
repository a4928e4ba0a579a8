/* SPDX-License-Identifier: MIT */
/*
 * `ipcbench run`'s list flags (run_parse.c): each fills its part of @o or
 * exits 2 with one line naming the flag, the value and what is allowed.
 */
#ifndef BENCH_RUN_PARSE_H
#define BENCH_RUN_PARSE_H

#include "matrix.h"

/* Backends that have a bare loop only (no ipcq backend of that name). */
extern const char *const bare_only[];

void parse_modes(const char *v, struct matrix_opts *o);
void parse_backends(const char *v, struct matrix_opts *o);
void parse_sizes(const char *v, struct matrix_opts *o);
void parse_pairs(const char *v, struct matrix_opts *o);
void parse_placements(const char *v, struct matrix_opts *o);
void parse_rates(const char *v, struct matrix_opts *o);
void parse_gaps(const char *v, struct matrix_opts *o);

#endif /* BENCH_RUN_PARSE_H */
