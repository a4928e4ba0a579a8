/* SPDX-License-Identifier: MIT */
/*
 * The one monotonic clock of pool/ and bench/ (bench may include pool's
 * headers, never the reverse).  Inline, so that the benchmark's timed
 * loops pay only the vDSO read of clock_gettime, no call and no system
 * call.  libipcq keeps its own (__ipcq_now_ns): it sits below pool/ and
 * exports nothing private.
 */
#ifndef POOL_CLOCK_H
#define POOL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns. */
static inline int64_t pool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* POOL_CLOCK_H */
