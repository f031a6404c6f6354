/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signal.c: fatal_signal_pending() for a process.
 *
 * The one piece of global mutable state in lib/: a signal handler can only
 * reach a global.  cmd/ installs the handlers; the loop polls.
 */
#include "config.h"

#include <signal.h>
#include <stdatomic.h>

#include "base.h"

/*
 * Set by the handler (in the writer's thread: the source's reader thread
 * takes no signal), read by both threads: a lock-free atomic, which is
 * async-signal-safe where a plain sig_atomic_t shared between threads is
 * a data race.
 */
static atomic_int pcw_pending_signal;

void pcw_signal_notify(int signo)
{
	int none = 0;

	atomic_compare_exchange_strong(&pcw_pending_signal, &none, signo);
}

int pcw_signal_pending(void)
{
	return atomic_load_explicit(&pcw_pending_signal, memory_order_relaxed);
}
