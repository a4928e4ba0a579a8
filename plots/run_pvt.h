/* SPDX-License-Identifier: MIT */
/* Private to the readers of a run directory: run.c, run_csv.c, run_json.c. */
#ifndef IPCB_RUN_PVT_H
#define IPCB_RUN_PVT_H

#include <stdbool.h>
#include <stddef.h>

#include "report_pvt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The modes a run's rows may have, in the order of columns.h. */
extern const char *const run_modes[6];

/* -ENOMEM, with "out of memory" in ERR. */
int run_nomem(char *err, size_t errlen);
/* S for an error line: printable ASCII only, at most 40 characters (in BUF). */
const char *run_shown(const char *s, char *buf, size_t len);
/* The index of S in SET[N], or -1. */
int run_index_of(const char *const *set, size_t n, const char *s);
/* "64", "4K", "4KiB", "1M": bytes; -1 when it is none of those. */
long run_parse_size(const char *s);
/* BACKEND as the report keys it for MODE: "floor" for floor rows. */
const char *run_norm_backend(const char *mode, const char *backend);
/* Frees the key strings a cell was given (mode, backend, placement). */
void run_free_key(char *m, char *b, char *p);

/* run_csv.c: results.csv and histograms.csv into RUN.  0, -EINVAL, -ENOMEM (ERR says). */
int run_load_results(struct rep_run *run, const char *path, char *err, size_t errlen);
int run_load_hist(struct rep_run *run, const char *path, char *err, size_t errlen);

/* run_json.c: benchmarks.json's repetitions onto the cells; env.json checked.  Same returns. */
int run_load_bench(struct rep_run *run, const char *path, char *err, size_t errlen);
int run_check_env(struct rep_run *run, const char *path, char *err, size_t errlen);

#endif /* IPCB_RUN_PVT_H */
