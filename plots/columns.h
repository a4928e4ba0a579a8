/* SPDX-License-Identifier: MIT */
/*
 * The columns of a run's results.csv and histograms.csv, once, for the
 * writer (bench/results.c) and the reader (plots/run_csv.c).  Each list is an
 * X-macro: LIST(X) expands X(ID, "name") for each column in file order.
 *
 *   enum { IPCB_RESULT_COLUMNS(IPCB_COL_ENUM) IPCB_RESULT_NCOLS };  (in this header)
 *   static const char *const names[] = {IPCB_RESULT_COLUMNS(IPCB_COL_NAME)};
 *   fputs(IPCB_CSV_HEADER(IPCB_RESULTS_CSV), f);  "mode,backend,...,csw_per_msg\n"
 */
#ifndef IPCB_COLUMNS_H
#define IPCB_COLUMNS_H

/* results.csv: one row per cell of the matrix. */
#define IPCB_RESULT_COLUMNS(X)            \
	X(RES_MODE, "mode")               \
	X(RES_BACKEND, "backend")         \
	X(RES_SIZE, "size")               \
	X(RES_PRODUCERS, "producers")     \
	X(RES_CONSUMERS, "consumers")     \
	X(RES_PLACEMENT, "placement")     \
	X(RES_STATUS, "status")           \
	X(RES_REPETITIONS, "repetitions") \
	X(RES_MESSAGES, "messages")       \
	X(RES_SECONDS, "seconds")         \
	X(RES_MSGS_PER_S, "msgs_per_s")   \
	X(RES_BYTES_PER_S, "bytes_per_s") \
	X(RES_LAT_MIN, "lat_min_ns")      \
	X(RES_LAT_MEAN, "lat_mean_ns")    \
	X(RES_LAT_P50, "lat_p50_ns")      \
	X(RES_LAT_P90, "lat_p90_ns")      \
	X(RES_LAT_P99, "lat_p99_ns")      \
	X(RES_LAT_P999, "lat_p999_ns")    \
	X(RES_LAT_MAX, "lat_max_ns")      \
	X(RES_CV, "cv")                   \
	X(RES_NOTE, "note")

/*
 * The CPU columns, after those of IPCB_RESULT_COLUMNS: all three or none
 * (a run written before they existed).  Empty where not measured.
 */
#define IPCB_CPU_COLUMNS(X)                 \
	X(CPU_NS_PER_MSG, "cpu_ns_per_msg") \
	X(CPU_UTIL, "cpu_util")             \
	X(CPU_CSW_PER_MSG, "csw_per_msg")

/*
 * The load columns, after the CPU columns: all three or none (a run
 * written before they existed).  offered_rate: rate cells, messages/s or
 * "max"; achieved_rate: rate and wakeup cells, messages/s the consumer got;
 * gap_ns: wakeup cells, the idle gap before each message.  Empty elsewhere.
 */
#define IPCB_RATE_COLUMNS(X)              \
	X(RATE_OFFERED, "offered_rate")   \
	X(RATE_ACHIEVED, "achieved_rate") \
	X(RATE_GAP_NS, "gap_ns")

/*
 * After the load columns: the messages per ipcq_put_many/ipcq_get_many call
 * of a throughput cell (1: ipcq_put/ipcq_get), empty for the other modes
 * and in runs written before it existed.
 */
#define IPCB_BATCH_COLUMNS(X) X(BATCH, "batch")

/* The columns a run writes into results.csv today. */
#define IPCB_RESULTS_CSV(X) \
	IPCB_RESULT_COLUMNS(X) IPCB_CPU_COLUMNS(X) IPCB_RATE_COLUMNS(X) IPCB_BATCH_COLUMNS(X)

/* histograms.csv: one row per bucket of a cell's latency histogram. */
#define IPCB_HIST_COLUMNS(X)           \
	X(HIST_MODE, "mode")           \
	X(HIST_BACKEND, "backend")     \
	X(HIST_SIZE, "size")           \
	X(HIST_PLACEMENT, "placement") \
	X(HIST_BUCKET_NS, "bucket_ns") \
	X(HIST_COUNT, "count")

#define IPCB_COL_ENUM(id, name) IPCB_##id,
#define IPCB_COL_NAME(id, name) name,
#define IPCB_COL_CSV(id, name)	"," name

/* The header line of LIST: the names joined by commas, then a newline (skips the first ','). */
#define IPCB_CSV_HEADER(LIST) (&LIST(IPCB_COL_CSV) "\n"[1])

/* IPCB_RES_MODE = 0, ...; IPCB_RESULT_NCOLS: how many. */
enum ipcb_result_col { IPCB_RESULT_COLUMNS(IPCB_COL_ENUM) IPCB_RESULT_NCOLS };
enum ipcb_cpu_col { IPCB_CPU_COLUMNS(IPCB_COL_ENUM) IPCB_CPU_NCOLS };
enum ipcb_rate_col { IPCB_RATE_COLUMNS(IPCB_COL_ENUM) IPCB_RATE_NCOLS };
enum ipcb_batch_col { IPCB_BATCH_COLUMNS(IPCB_COL_ENUM) IPCB_BATCH_NCOLS };
enum ipcb_hist_col { IPCB_HIST_COLUMNS(IPCB_COL_ENUM) IPCB_HIST_NCOLS };

#endif
