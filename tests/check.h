/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.h: the C tests' one assertion.  CHECK(cond, fmt, ...) counts a
 * check, and a failed one with where it is, the condition and a message;
 * a test's main prints "N passed, M failed" from the two counters (the
 * line .ci/run adds up).
 */
#ifndef PCW_TEST_CHECK_H
#define PCW_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <ext2fs/ext2_err.h>

#include "pcwrite.h"

static int failures, checks;

#define CHECK(cond, ...)						\
	do {								\
		checks++;						\
		if (!(cond)) {						\
			failures++;					\
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

/*
 * The error tables, the tools the checks read back with, and TMPDIR (a
 * mkdtemp template) made: 0, or what main returns (77: skip).
 */
static int check_begin(char *tmpdir)
{
	initialize_ext2_error_table();
	initialize_pcw_error_table();
	if (system("command -v mke2fs >/dev/null && "
		   "command -v debugfs >/dev/null") != 0) {
		printf("SKIP: mke2fs or debugfs missing\n");
		return 77;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	return 0;
}

#endif /* PCW_TEST_CHECK_H */
