/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quote.c: how a name is written into a message.
 *
 * Host paths and paths inside the image may hold any byte but '\0' and '/'
 * (in a name): a newline would split a message in two, an escape sequence
 * would reach the terminal.  A name is written as it is unless it holds a
 * control byte (below 0x20, or 0x7f), a backslash or a double quote; then
 * it is written in double quotes with C escapes (\n, \t, \\, \", \ooo for
 * the other control bytes), as `ls --quoting-style=c-maybe` does.  Reading
 * back is unambiguous: a name written as it is never starts with '"'.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

static bool needs_quotes(const unsigned char *p)
{
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"')
			return true;
	return false;
}

/*
 * The result lives until the fourth call after this one: enough for the
 * names of one message.
 */
const char *pcw_quote(const char *name)
{
	static char *ring[4];
	static unsigned next;
	static const char esc[] = "\a\b\t\n\v\f\r";
	static const char letter[] = "abtnvfr";
	const unsigned char *p = (const unsigned char *)name;
	char *out, *o;

	if (!name)
		return "(null)";
	if (!needs_quotes(p))
		return name;
	out = malloc(4 * strlen(name) + 3);
	if (!out)
		return "(name not shown: out of memory)";
	o = out;
	*o++ = '"';
	for (; *p; p++) {
		const char *e = *p ? strchr(esc, *p) : NULL;

		if (*p == '\\' || *p == '"') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (e) {
			*o++ = '\\';
			*o++ = letter[e - esc];
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\%03o", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	free(ring[next]);
	ring[next] = out;
	next = (next + 1) % 4;
	return out;
}
