/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signals.c: the signals that stop a run.  The handler only tells the
 * library (pcw_signal_notify); the write loop stops at the next page and
 * the run commits what it wrote (exit 128+N, or 1 for a closed report).
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "pcwrite_cmd.h"

static void on_signal(int signo)
{
	pcw_signal_notify(signo);
}

/*
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE stop the loop at the next page.  No
 * SA_RESTART, so a blocked read of the source returns.  A signal inherited
 * as ignored stays ignored (the convention for background jobs).
 */
void cli_signals_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}
