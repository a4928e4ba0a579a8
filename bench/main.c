/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: being written. */
#include <stdio.h>
#include <string.h>

#include "report.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	fprintf(stderr, "ipcbench: not built yet\n");
	return 2;
}
