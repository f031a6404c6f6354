/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vlist.c: -v and -vv with -x and -R, tar -v's listing: a line for each
 * entry once it is committed (the reporter, report.c, holds the lines
 * with the file records until their batch is in the image).
 *
 *	-v	/srv/etc/hosts
 *	-vv	-rw-r--r-- 0/0 6 /srv/etc/hosts
 *		lrwxrwxrwx 0/0 0 /srv/bin/sh -> busybox
 *		hrwxr-xr-x 0/0 0 /srv/bin/ls link to /srv/bin/busybox
 *		crw-rw-rw- 0/0 1,3 /srv/dev/null
 *
 * -vv's fields are tar -tvv's but the time: the type and permission bits
 * as ls writes them ('h' for a hard link, as tar), the numeric owner and
 * group written, the size written (0 but for a regular file; MAJOR,MINOR
 * for a device), the name in the image.  Names are quoted as in messages
 * (quote.c).  The lines go to standard output, or to standard error when
 * the JSON report goes to standard output (as tar -v lists on standard
 * error when the archive goes to standard output).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

FILE *cli_vlist_open(const struct cli_control *ctl, bool report_on_stdout)
{
	if (ctl->verbose < 1)
		return NULL;
	return report_on_stdout ? stderr : stdout;
}

/* ls's ten characters: the type, then rwx with s/S and t/T. */
static void mode_string(enum pcw_ftype type, unsigned perm, char out[11])
{
	static const char types[] = {
		[PCW_FT_FILE] = '-', [PCW_FT_DIR] = 'd', [PCW_FT_SYMLINK] = 'l',
		[PCW_FT_HARDLINK] = 'h', [PCW_FT_CHR] = 'c', [PCW_FT_BLK] = 'b',
		[PCW_FT_FIFO] = 'p', [PCW_FT_SOCK] = 's',
	};
	static const char rwx[] = "rwxrwxrwx";
	int k;

	out[0] = (unsigned)type < sizeof(types) ? types[type] : '?';
	for (k = 0; k < 9; k++)
		out[1 + k] = (perm & (0400 >> k)) ? rwx[k] : '-';
	if (perm & 04000)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (perm & 02000)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (perm & 01000)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

/*
 * A hard link's target in the image: DIR/LINK, LINK without leading '/'
 * or "." and empty components, as the tree names its entries.
 */
static char *image_path(const char *dir, const char *link)
{
	size_t dlen = strlen(dir), n;
	char *out = malloc(dlen + strlen(link) + 2);
	const char *p = link;

	if (!out)
		return NULL;
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	memcpy(out, dir, dlen);
	n = dlen;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len && !(len == 1 && p[0] == '.')) {
			if (out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
		p += strspn(p, "/");
	}
	out[n] = '\0';
	return out;
}

char *cli_vlist_line(const struct cli_control *ctl, const struct pcw_entry *e,
		     const struct pcw_entry_result *res)
{
	char mode[11], size[48], *line = NULL, *target = NULL;
	const char *suffix = "", *what = "";
	int rc;

	if (ctl->verbose < 1)
		return NULL;
	if (ctl->verbose == 1)
		return strdup(cli_quote(res->path));
	mode_string(e->type, e->type == PCW_FT_SYMLINK ? 0777 : e->perm, mode);
	if (e->type == PCW_FT_FILE)
		snprintf(size, sizeof(size), "%" PRIu64, res->info.size);
	else if (e->type == PCW_FT_CHR || e->type == PCW_FT_BLK)
		snprintf(size, sizeof(size), "%u,%u", e->rdev_major,
			 e->rdev_minor);
	else
		strcpy(size, "0");
	if (e->type == PCW_FT_SYMLINK && e->link) {
		what = " -> ";
		suffix = e->link;
	} else if (e->type == PCW_FT_HARDLINK && e->link) {
		target = image_path(ctl->dest, e->link);
		if (!target)
			return NULL;
		what = " link to ";
		suffix = target;
	}
	/* cli_quote's results live for four calls: both names are in time. */
	rc = asprintf(&line, "%s %" PRIu32 "/%" PRIu32 " %s %s%s%s", mode,
		      ctl->have_uid ? ctl->uid : e->uid,
		      ctl->have_gid ? ctl->gid : e->gid, size,
		      cli_quote(res->path), what, *what ? cli_quote(suffix) : "");
	free(target);
	return rc < 0 ? NULL : line;
}

void cli_vlist_put(FILE *out, const char *line)
{
	if (!out || !line)
		return;
	if (isatty(fileno(out)))
		cli_progress_clear();
	fprintf(out, "%s\n", line);
}
