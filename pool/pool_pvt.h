/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by proc.c and pool.c; not part of any public API. */
#ifndef POOL_PVT_H
#define POOL_PVT_H

#include <sys/types.h>

/* pidfd_open(2): a file descriptor for @pid, or -errno (-ENOSYS before Linux 5.3). */
int proc_pidfd_open(pid_t pid);

/* Call first in a freshly forked child: drops stdio output inherited unflushed. */
void proc_child_init(void);

/*
 * In a child: SIGKILL when @parent dies (PR_SET_PDEATHSIG), so that a killed
 * parent leaves no worker blocked forever.  0, or -ESRCH when @parent died
 * already (before the prctl, which then never fires): the caller exits.
 */
int proc_die_with(pid_t parent);

/* A waitpid() status as an exit code: the exit status, or minus the signal. */
int proc_status_code(int status);

#endif /* POOL_PVT_H */
