/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signal.c: fatal_signal_pending() for a process.
 *
 * The one piece of global mutable state in lib/: a signal handler can only
 * reach a global.  cmd/ installs the handlers; the loop polls.
 */
#include "config.h"

#include <signal.h>

#include "base.h"

static volatile sig_atomic_t pcw_pending_signal;

void pcw_signal_notify(int signo)
{
	if (!pcw_pending_signal)
		pcw_pending_signal = signo;
}

int pcw_signal_pending(void)
{
	return pcw_pending_signal;
}
