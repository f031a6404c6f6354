/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * progress.c: --progress, a one-line bar on standard error when it is a
 * terminal: bytes committed, the total when the source has a size, the rate.
 * Redrawn at most ten times a second.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

struct pcw_progress {
	const char	*file;
	uint64_t	done, total;	/* total 0: unknown (a pipe) */
	double		start, last;
	int		width;		/* of the last line drawn */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct pcw_progress *pcw_progress_open(void)
{
	struct pcw_progress *p;

	if (!isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	return p;
}

void pcw_progress_start(struct pcw_progress *p, const char *file,
			uint64_t total)
{
	if (!p)
		return;
	p->file = file;
	p->done = 0;
	p->total = total;
	p->start = p->last = now();
	p->width = 0;
}

static void human(char *buf, size_t len, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void draw(struct pcw_progress *p, double t)
{
	char done[32], total[32], rate[32], line[256];
	double secs = t - p->start;
	int n;

	human(done, sizeof(done), (double)p->done);
	human(rate, sizeof(rate), secs > 0 ? p->done / secs : 0);
	if (p->total) {
		unsigned pct = (unsigned)(p->done * 100 / p->total);
		char bar[21];
		unsigned fill = pct / 5;

		memset(bar, '#', fill);
		memset(bar + fill, '.', 20 - fill);
		bar[20] = 0;
		human(total, sizeof(total), (double)p->total);
		n = snprintf(line, sizeof(line), "%s [%s] %3u%% %s / %s %s/s",
			     pcw_quote(p->file), bar, pct, done, total, rate);
	} else {
		n = snprintf(line, sizeof(line), "%s %s %s/s",
			     pcw_quote(p->file), done, rate);
	}
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	p->width = n;
	fflush(stderr);
}

void pcw_progress_page(struct pcw_progress *p, int64_t status)
{
	double t;

	if (!p || status <= 0)
		return;
	p->done += status;
	t = now();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	draw(p, t);
}

void pcw_progress_end(struct pcw_progress *p)
{
	if (!p || !p->file)
		return;
	draw(p, now());
	fputc('\n', stderr);
	p->file = NULL;
}

void pcw_progress_close(struct pcw_progress *p)
{
	free(p);
}
