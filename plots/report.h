/* SPDX-License-Identifier: MIT */
#ifndef IPCB_REPORT_H
#define IPCB_REPORT_H

/* `ipcbench report DIR [--compare BASE]`: argv[0] is "report".  Returns the exit code. */
int report_main(int argc, char **argv);

#endif
