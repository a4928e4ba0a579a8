/* SPDX-License-Identifier: MIT */
/*
 * The one CPU-relax hint of libipcq, for spin loops: tells the core that we
 * wait (x86 PAUSE, arm64 YIELD), so that an SMT sibling gets the pipeline
 * and the loop exit does not pay a memory-order flush.  Nothing elsewhere:
 * a plain compiler barrier.  Self-contained (no includes), so that other
 * parts of the tree may include it.
 */
#ifndef IPCQ_RELAX_PVT_H
#define IPCQ_RELAX_PVT_H

static inline void __ipcq_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

#endif /* IPCQ_RELAX_PVT_H */
