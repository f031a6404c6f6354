/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * progress.c: --progress, a one-line bar on standard error when it is a
 * terminal: bytes committed, the total when the source has a size, the rate;
 * for -x and -R, the entries and bytes done and the entry being written.
 * Redrawn at most ten times a second.
 *
 * The line is never wider than the terminal (TIOCGWINSZ, asked again after
 * SIGWINCH, and redrawn then): the name is cut first, from the left, then
 * the bar, the rate and the total go.  It never shares a line with anything
 * else: a message, or a report row on the same terminal, takes the bar off
 * first (cli_progress_clear) and the next update draws it again below.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

struct cli_progress {
	const char	*file;
	uint64_t	done, total;	/* total 0: unknown (a pipe) */
	double		start, last;
	int		width;		/* of the line on the terminal, 0: none */
	int		cols;		/* the terminal's */
	bool		tree;		/* -x, -R: entries and bytes */
	uint64_t	entries;	/* entries done */
	uint64_t	tree_bytes;	/* bytes of the entries done */
	double		tree_start;
};

/* The bar on the terminal now, for cli_progress_clear. */
static struct cli_progress *current;
static volatile sig_atomic_t resized;

static void on_winch(int signo)
{
	(void)signo;
	resized = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ask_size(struct cli_progress *p)
{
	struct winsize ws;

	resized = 0;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		p->cols = ws.ws_col;
	else
		p->cols = 80;
}

struct cli_progress *cli_progress_open(bool is_tree)
{
	struct cli_progress *p;
	struct sigaction sa;

	if (!isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tree = is_tree;
	p->tree_start = now();
	ask_size(p);
	/* SA_RESTART: a read of the source must not see EINTR for this. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	current = p;
	return p;
}

void cli_progress_start(struct cli_progress *p, const char *file,
			uint64_t total)
{
	if (!p)
		return;
	p->file = file;
	p->done = 0;
	p->total = total;
	p->start = p->last = now();
	if (!p->tree)
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

/*
 * Terminal columns of the UTF-8 text S (cli_quote has made every control
 * byte printable): a character of three or four bytes is counted as two
 * columns, as an East Asian wide one takes, so the count is never short.
 */
static int columns(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	int n = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((u[i] & 0xc0) == 0x80)
			continue;
		n += u[i] >= 0xe0 ? 2 : 1;
	}
	return n;
}

/* The bytes of S's tail that fit in COLS columns (whole characters). */
static size_t tail_fitting(const char *s, int cols)
{
	size_t len = strlen(s), start = len;

	while (start > 0) {
		size_t c = start - 1;

		while (c > 0 && ((unsigned char)s[c] & 0xc0) == 0x80)
			c--;
		if (columns(s + c, len - c) > cols)
			break;
		start = c;
	}
	return len - start;
}

/*
 * LINE = NAME then STATS, in at most MAX columns: the name is cut from the
 * left ("...tail") to what is left after the stats, but keeps ten columns;
 * false when even that does not fit.
 */
static bool compose(char *line, size_t size, const char *name,
		    const char *stats, int max)
{
	int sw = columns(stats, strlen(stats));
	int nw = columns(name, strlen(name));
	int room = max - sw - 1;

	if (!*name && sw <= max) {
		snprintf(line, size, "%s", stats);
		return true;
	}
	if (nw <= room) {
		snprintf(line, size, "%s %s", name, stats);
		return true;
	}
	if (room < 10)
		return false;
	snprintf(line, size, "...%s %s",
		 name + strlen(name) - tail_fitting(name, room - 3), stats);
	return true;
}

static void draw(struct cli_progress *p, double t)
{
	char done[32], total[32], rate[32], stats[4][128], line[4608];
	const char *name = cli_quote(p->file ? p->file : "");
	int max, n, k;

	if (resized)
		ask_size(p);
	/* The last column would wrap on some terminals: never use it. */
	max = p->cols > 1 ? p->cols - 1 : 1;
	/* Narrower now: what was drawn wider is the terminal's to rewrap. */
	if (p->width > max)
		p->width = max;
	if (p->tree) {
		double secs = t - p->tree_start;
		uint64_t bytes = p->tree_bytes + p->done;

		human(done, sizeof(done), (double)bytes);
		human(rate, sizeof(rate), secs > 0 ? bytes / secs : 0);
		snprintf(stats[0], sizeof(stats[0]), "%" PRIu64 " entries, "
			 "%s, %s/s", p->entries, done, rate);
		snprintf(stats[1], sizeof(stats[1]), "%" PRIu64 " entries, %s",
			 p->entries, done);
		snprintf(stats[2], sizeof(stats[2]), "%" PRIu64 " ent, %s",
			 p->entries, done);
		snprintf(stats[3], sizeof(stats[3]), "%" PRIu64, p->entries);
	} else {
		double secs = t - p->start;

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
			snprintf(stats[0], sizeof(stats[0]), "[%s] %3u%% %s / "
				 "%s %s/s", bar, pct, done, total, rate);
			snprintf(stats[1], sizeof(stats[1]), "%3u%% %s / %s "
				 "%s/s", pct, done, total, rate);
			snprintf(stats[2], sizeof(stats[2]), "%3u%% %s", pct,
				 done);
			snprintf(stats[3], sizeof(stats[3]), "%3u%%", pct);
		} else {
			snprintf(stats[0], sizeof(stats[0]), "%s %s/s", done,
				 rate);
			snprintf(stats[1], sizeof(stats[1]), "%s", done);
			snprintf(stats[2], sizeof(stats[2]), "%s", done);
			snprintf(stats[3], sizeof(stats[3]), "%s", done);
		}
	}
	for (k = 0; k < 4; k++)
		if (compose(line, sizeof(line), name, stats[k], max))
			break;
	if (k == 4)	/* a terminal narrower than 15 columns: the numbers */
		snprintf(line, sizeof(line), "%s", stats[3]);
	/* ASCII from here on when cut: the stats are. */
	if (columns(line, strlen(line)) > max)
		line[max] = '\0';
	n = columns(line, strlen(line));
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	if (p->width > n)	/* back over the spaces: the cursor ends the text */
		fprintf(stderr, "\r%s", line);
	p->width = n;
	fflush(stderr);
}

void cli_progress_page(struct cli_progress *p, int64_t status)
{
	double t;

	if (!p || status <= 0)
		return;
	p->done += status;
	t = now();
	if (t - p->last < 0.1 && !resized)
		return;
	p->last = t;
	draw(p, t);
}

void cli_progress_end(struct cli_progress *p)
{
	if (!p || !p->file)
		return;
	if (p->tree) {
		/* One line for the whole run: the next entry goes on it. */
		p->entries++;
		p->tree_bytes += p->done;
		p->done = 0;
		if (now() - p->last >= 0.1 || resized) {
			p->last = now();
			draw(p, p->last);
		}
		return;
	}
	draw(p, now());
	fputc('\n', stderr);
	p->width = 0;
	p->file = NULL;
}

void cli_progress_clear(void)
{
	struct cli_progress *p = current;

	if (!p || !p->width)
		return;
	if (resized)
		ask_size(p);
	if (p->width > p->cols - 1)
		p->width = p->cols > 1 ? p->cols - 1 : 1;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	/* Drawn again at the next update, on the line below what was said. */
	p->width = 0;
}

void cli_progress_close(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->tree && p->file) {
		p->file = NULL;
		draw(p, now());
		fputc('\n', stderr);
	}
	if (current == p)
		current = NULL;
	signal(SIGWINCH, SIG_DFL);
	free(p);
}
