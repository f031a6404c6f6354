/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tarpath.c: tar's path options for -x and -R (--strip-components,
 * --exclude, --exclude-from, --transform) into the library's names
 * (lib/names.c), as options.c reads them.  An option that cannot be used
 * is a usage error with a message that says why.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

/*
 * An --exclude-from file: one pattern a line, trailing white space off,
 * lines left empty skipped, as tar reads it (leading white space stays
 * part of the pattern).
 */
static int read_patterns(struct pcw_names *n, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while (!rc && (len = getline(&line, &cap, f)) >= 0) {
		len = strlen(line);	/* a NUL byte ends the pattern */
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		if (len && pcw_names_add_exclude(n, line))
			rc = ENOMEM;
	}
	if (!rc && ferror(f))
		rc = errno ? errno : EIO;
	free(line);
	return rc;
}

static char *msg_printf(const char *fmt, const char *a, const char *b)
{
	char *m = NULL;

	if (asprintf(&m, fmt, a, b) < 0)
		return NULL;
	return m;
}

char *cli_tarpath_option(struct cli_control *ctl, enum tarpath_opt which,
			 const char *arg)
{
	uint64_t v = 0;
	errcode_t err = 0;
	const char *p;
	FILE *f;
	int rc;

	if (!ctl->names && pcw_names_new(&ctl->names))
		return strdup("out of memory");
	switch (which) {
	case TARPATH_STRIP:
		/* A count, as tar takes it. */
		for (p = arg; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint64_t)(*p - '0');
		if (!*arg || *p || p - arg > 9)
			return msg_printf("invalid --strip-components %s (a "
					  "number of components)%s",
					  cli_quote_always(arg), "");
		err = pcw_names_set_strip(ctl->names, (unsigned)v);
		break;
	case TARPATH_EXCLUDE:
		err = pcw_names_add_exclude(ctl->names, arg);
		break;
	case TARPATH_EXCLUDE_FROM:
		if (!strcmp(arg, "-")) {
			ctl->names_stdin = true;
			f = stdin;
		} else {
			f = fopen(arg, "re");
			if (!f)
				return msg_printf("cannot open exclude file %s: %s",
						  cli_quote_always(arg),
						  strerror(errno));
		}
		rc = read_patterns(ctl->names, f);
		if (f != stdin)
			fclose(f);
		if (rc)
			return msg_printf("cannot read exclude file %s: %s",
					  !strcmp(arg, "-") ? "(standard input)"
					  : cli_quote_always(arg), strerror(rc));
		break;
	case TARPATH_TRANSFORM:
		err = pcw_names_add_transform(ctl->names, arg);
		if (err == PCW_ET_BAD_TRANSFORM)
			return msg_printf("invalid --transform %s: %s",
					  cli_quote_always(arg),
					  pcw_names_message(ctl->names));
		break;
	}
	return err ? strdup(error_message(err)) : NULL;
}
