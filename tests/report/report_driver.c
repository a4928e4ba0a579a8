/* SPDX-License-Identifier: MIT */
/* Runs `ipcbench report ...` without the rest of ipcbench, so the report tests do not depend on bench/. */
#include "report.h"

int main(int argc, char **argv)
{
	argv[0] = "report";
	return report_main(argc, argv);
}
