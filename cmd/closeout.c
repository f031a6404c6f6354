/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * closeout.c: an error writing standard output is an error of the run, as
 * coreutils' close_stdout makes it: `pcwrite --help > /dev/full` exits 1
 * with a message, not 0.  Registered with atexit() first thing in main(),
 * so that every exit() -- --help, --version, a usage error -- goes through
 * it.  A run stopped by a signal (SIGPIPE on the JSON report) keeps its
 * 128+N: the signal already says it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

static bool reported;

void cli_stdout_error_reported(void)
{
	reported = true;
}

/* "pcwrite: write error on standard output: REASON", once. */
void cli_stdout_error(int err)
{
	if (reported)
		return;
	reported = true;
	cli_progress_clear();
	fprintf(stderr, "pcwrite: write error on standard output: %s%s\n",
		strerror(err ? err : EIO), cli_fsize_note(err));
}

void cli_close_stdout(void)
{
	bool failed = ferror(stdout) != 0;
	int err = 0;

	if (fclose(stdout) != 0) {
		failed = true;
		err = errno;
	}
	if (!failed || pcw_signal_pending())
		return;
	cli_stdout_error(err);
	/* As gnulib's close_stdout: the status exit() was given is not known. */
	_exit(1);
}
