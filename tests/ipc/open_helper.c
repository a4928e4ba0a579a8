/* SPDX-License-Identifier: MIT */
/*
 * An unrelated process for the named-queue tests: started by fork+exec with
 * no descriptor of its parent, it attaches to a queue by name only.
 *
 * Usage: open_helper BACKEND NAME get TEXT [MSG_MAX CAPACITY]
 *        open_helper BACKEND NAME put TEXT
 *        open_helper BACKEND NAME enoent
 * Exit: 0 done, 2 open failed, 3 get/put failed, 4 wrong message or
 * attributes, 1 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcq.h"

int main(int argc, char **argv)
{
	struct ipcq *q = NULL;
	char buf[65536];
	int ret, code = 0;

	if (argc < 4)
		return 1;
	ret = ipcq_open(&q, argv[1], argv[2]);
	if (!strcmp(argv[3], "enoent")) {
		if (ret == 0)
			ipcq_close(q);
		if (ret != -ENOENT)
			fprintf(stderr, "open_helper: open of a missing queue: %d, want -ENOENT\n",
				ret);
		return ret == -ENOENT ? 0 : 4;
	}
	if (ret < 0) {
		fprintf(stderr, "open_helper: open %s %s: %d\n", argv[1], argv[2], ret);
		return 2;
	}
	if (argc < 5) {
		code = 1;
	} else if (!strcmp(argv[3], "get")) {
		ssize_t n = ipcq_get(q, buf, sizeof(buf), INT64_C(5000000000));

		if (n < 0) {
			fprintf(stderr, "open_helper: get: %zd\n", n);
			code = 3;
		} else if ((size_t)n != strlen(argv[4]) || memcmp(buf, argv[4], (size_t)n)) {
			fprintf(stderr, "open_helper: got %zd bytes \"%.*s\", want \"%s\"\n", n,
				(int)n, buf, argv[4]);
			code = 4;
		}
		if (argc >= 7 && (ipcq_msg_max(q) != strtoul(argv[5], NULL, 10) ||
				  ipcq_capacity(q) != strtoul(argv[6], NULL, 10))) {
			fprintf(stderr,
				"open_helper: opener sees msg_max %zu capacity %zu, creator %s "
				"%s\n",
				ipcq_msg_max(q), ipcq_capacity(q), argv[5], argv[6]);
			code = 4;
		}
	} else if (!strcmp(argv[3], "put")) {
		ret = ipcq_put(q, argv[4], strlen(argv[4]), INT64_C(5000000000));
		if (ret < 0) {
			fprintf(stderr, "open_helper: put: %d\n", ret);
			code = 3;
		}
	} else {
		code = 1;
	}
	ipcq_close(q);
	return code;
}
