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
 *
 * That is for a name that begins a message ("pcwrite: IMAGE:DEST: ...").
 * A name inside a sentence ("cannot open source 'x': ...") is always
 * quoted, as coreutils does: in single quotes when it needs no escapes and
 * holds no single quote, else in the double-quoted form above.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

/*
 * The results live until the fourth call (of either function) after this
 * one: enough for the names of one message.
 */
static const char *keep(char *out)
{
	static char *ring[4];
	static unsigned next;

	free(ring[next]);
	ring[next] = out;
	next = (next + 1) % 4;
	return out;
}

static bool needs_quotes(const unsigned char *p)
{
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"')
			return true;
	return false;
}

/* NAME in double quotes with C escapes. */
static const char *c_quote(const char *name)
{
	static const char esc[] = "\a\b\t\n\v\f\r";
	static const char letter[] = "abtnvfr";
	const unsigned char *p = (const unsigned char *)name;
	char *out, *o;

	out = malloc(4 * strlen(name) + 3);
	if (!out)
		return "(name not shown: out of memory)";
	o = out;
	*o++ = '"';
	for (; *p; p++) {
		const char *e = strchr(esc, *p);

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
	return keep(out);
}

const char *cli_quote(const char *name)
{
	if (!name)
		return "(null)";
	if (!needs_quotes((const unsigned char *)name))
		return name;
	return c_quote(name);
}

const char *cli_quote_always(const char *name)
{
	char *out;

	if (!name)
		return "(null)";
	if (needs_quotes((const unsigned char *)name) || strchr(name, '\''))
		return c_quote(name);
	out = malloc(strlen(name) + 3);
	if (!out)
		return "(name not shown: out of memory)";
	sprintf(out, "'%s'", name);
	return keep(out);
}
