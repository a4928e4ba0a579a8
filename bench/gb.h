/* SPDX-License-Identifier: MIT */
/*
 * gb: a small C API over google-benchmark (Debian's libbenchmark 1.7.1),
 * which cannot be included from C.  gb.cc holds the C++; nothing else in the
 * project includes C++.
 *
 * A benchmark is a C function fn(state, arg) registered under a name.  It
 * either reports a skip (gb_skip, which also ends the iteration loop) or
 * runs the loop: while (gb_keep_running(s)) { ...; gb_set_iteration_time(s,
 * seconds); } with exactly one gb_set_iteration_time per iteration (every
 * benchmark registered here uses manual time).
 */
#ifndef BENCH_GB_H
#define BENCH_GB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gb_state; /* benchmark::State */
struct gb_bench; /* benchmark::internal::Benchmark */

typedef void (*gb_fn)(struct gb_state *s, void *arg);

/*
 * benchmark::Initialize: consumes the --benchmark_* flags of argv (argv[0]
 * is the program name) and leaves the rest in place, updating *argc.
 * Returns 0, or -EINVAL when a --benchmark_* flag was not recognised
 * (*bad then points at it).
 */
int gb_init(int *argc, char **argv, const char **bad);

/* Registers fn(state, arg) as benchmark @name, with manual time in ns. NULL on failure. */
struct gb_bench *gb_register(const char *name, gb_fn fn, void *arg);

/* Repetitions for this benchmark (overrides --benchmark_repetitions). */
void gb_bench_repetitions(struct gb_bench *b, int n);

/* A fixed iteration count per run: google-benchmark does not grow it (overrides min time). */
void gb_bench_iterations(struct gb_bench *b, int64_t n);

/* Minimum manual time per run in seconds (overrides --benchmark_min_time). */
void gb_bench_min_time(struct gb_bench *b, double seconds);

/* How many iterations this run must do (State::max_iterations). */
int64_t gb_max_iterations(const struct gb_state *s);

/* The iteration loop: true while another iteration is due. */
bool gb_keep_running(struct gb_state *s);

/* Manual time of the iteration that just ran, in seconds. */
void gb_set_iteration_time(struct gb_state *s, double seconds);

/*
 * Runs the whole iteration loop for a run measured beforehand as one block
 * of @seconds: every iteration is given seconds / max_iterations, so the
 * totals google-benchmark adds up equal what was measured.
 */
void gb_run_measured(struct gb_state *s, double seconds);

void gb_set_items_processed(struct gb_state *s, int64_t items);
void gb_set_bytes_processed(struct gb_state *s, int64_t bytes);

/* A named counter reported with the run (and in aggregates over repetitions). */
void gb_counter(struct gb_state *s, const char *name, double value);

/* Marks the run skipped or failed with @reason and runs the (empty) loop; call it instead of the loop. */
void gb_skip(struct gb_state *s, const char *reason);

/*
 * Runs the registered benchmarks selected by --benchmark_filter; *ran: how
 * many ran.  Names are shown and written as registered (no "/manual_time").
 * The console gets the table; *json (free it) google-benchmark's JSON, kept
 * in memory instead of --benchmark_out, which the library would open by its
 * path.  @err gets the first line of what google-benchmark said was wrong
 * ("" if nothing).  Returns 0, or -ENOMEM (*json NULL).
 */
int gb_run(char **json, uint64_t *ran, char *err, size_t len);

/*
 * Whether --benchmark_filter=@spec selects the benchmark registered as
 * @name, decided as google-benchmark 1.7.1 does (POSIX extended regex
 * searched in the name plus "/manual_time"; a leading '-' selects what does
 * not match; "" and "all" select everything).  1, 0, or -EINVAL for an
 * invalid regex with @err saying why.
 */
int gb_filter_match(const char *spec, const char *name, char *err, size_t len);

/* benchmark::Shutdown. */
void gb_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_GB_H */
