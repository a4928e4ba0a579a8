/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: being written. */
#include <stdio.h>

#include "report.h"

int report_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ipcbench report: not built yet\n");
	return 1;
}
