/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mtime.c: --mtime=WHEN, in the forms people write a time in.
 *
 *	1700000000			seconds since the epoch
 *	@1700000000			the same, as date(1) and tar take it
 *	2024-01-02			a date alone: midnight UTC
 *	2024-01-02T03:04:05Z		ISO 8601 with its zone: Z, +02:00,
 *	2024-01-02 03:04:05+02:00	+0200 or +02 (a space may come before
 *	2024-01-02T03:04+02:00		 it); seconds may be left out
 *
 * A time of day needs its zone: without one it would be the host's local
 * time, and the same command would make different images in different
 * places.  A date alone is midnight UTC for the same reason (date -d takes
 * it as local midnight).  Fractions of a second are refused: pcwrite's
 * --mtime is whole seconds.  The parsing is libc's (strptime, timegm); a
 * day the calendar does not have (2023-02-29) is refused, as date(1)
 * refuses it, by converting back and comparing.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcwrite_cmd.h"


/* Plain decimal seconds, 0 to CLI_MAX_SECONDS. */
static int seconds(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > CLI_MAX_SECONDS)
		return -1;
	*ret = v;
	return 0;
}

/* S is FMT, whole; *tm as strptime leaves it. */
static bool matches(const char *s, const char *fmt, struct tm *tm)
{
	const char *end;

	memset(tm, 0, sizeof(*tm));
	end = strptime(s, fmt, tm);
	return end && *end == '\0';
}

static int iso8601(const char *s, int64_t *ret)
{
	static const char *const with_zone[] = {
		"%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
		"%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z",
	};
	struct tm tm, check;
	time_t t;
	size_t k;
	bool ok = matches(s, "%Y-%m-%d", &tm);

	for (k = 0; !ok && k < sizeof(with_zone) / sizeof(with_zone[0]); k++)
		ok = matches(s, with_zone[k], &tm);
	if (!ok)
		return -1;
	check = tm;
	t = timegm(&check);
	/* timegm normalizes 2023-02-29 to March 1st, 23:59:60 to the next day */
	if (t == (time_t)-1 || check.tm_year != tm.tm_year ||
	    check.tm_mon != tm.tm_mon || check.tm_mday != tm.tm_mday ||
	    check.tm_hour != tm.tm_hour || check.tm_min != tm.tm_min ||
	    check.tm_sec != tm.tm_sec)
		return -1;
	t -= tm.tm_gmtoff;
	if (t < 0 || t > CLI_MAX_SECONDS)
		return -1;
	*ret = t;
	return 0;
}

int cli_parse_mtime(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return -1;
	if (*s == '@')
		return seconds(s + 1, ret);
	if (strchr(s, '-'))
		return iso8601(s, ret);
	return seconds(s, ret);
}
