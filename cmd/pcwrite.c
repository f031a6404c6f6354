/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcwrite.c: main(): the process's setup, the options, and the mode that
 * runs (write.c, tree.c for -x and -R, list.c for --list).
 *
 *	0	everything written and committed
 *	1	failed (the message says how many bytes were committed)
 *	2	usage error; the image was not written
 *	128+N	stopped by signal N after committing what was written
 */
#include "config.h"

#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

#include "pcwrite_cmd.h"

/*
 * Names are bytes, written as the archive has them.  libarchive converts a
 * pax or zip entry's UTF-8 name into the current locale's character set
 * and warns ("Pathname can't be converted from UTF-8 to current locale")
 * when it cannot: in the C locale, for every name that is not ASCII.  So
 * LC_CTYPE is the environment's when that is UTF-8, else C.UTF-8 (the
 * conversion is then the identity).  Only LC_CTYPE: messages (strerror,
 * com_err) and the report's numbers stay as they are in every locale.
 */
static void set_ctype(void)
{
	const char *cs;

	if (setlocale(LC_CTYPE, "") && (cs = nl_langinfo(CODESET)) &&
	    !strcmp(cs, "UTF-8"))
		return;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C");
}

/* --partition=N: the filesystem's offset and size, from the table. */
static int find_partition(struct cli_control *ctl)
{
	struct pcw_partition part;
	char extra[32];
	errcode_t err;

	err = pcw_partition_find(ctl->image, ctl->partition, &part);
	if (err) {
		snprintf(extra, sizeof(extra), " (--partition=%u)",
			 ctl->partition);
		cli_msg_error(ctl->image, NULL, err, extra);
		return 1;
	}
	ctl->image_offset = part.start;
	ctl->image_size = part.size;
	return 0;
}

int main(int argc, const char **argv)
{
	struct cli_control ctl;
	unsigned closed;
	int status;

	/* Before anything is opened: see cli_occupy_std_fds. */
	closed = cli_occupy_std_fds();
	set_ctype();
	/*
	 * A write at or past the file size limit (RLIMIT_FSIZE) would kill
	 * the run with SIGXFSZ between two writes, the image half-updated.
	 * Ignored, it is EFBIG: the run stops as on any write error, and the
	 * message names the limit.  The image itself is checked against the
	 * limit when it is opened.
	 */
	signal(SIGXFSZ, SIG_IGN);
	atexit(cli_close_stdout);
	initialize_ext2_error_table();
	initialize_pcw_error_table();
	cli_parse_options(argc, argv, &ctl);
	cli_msg_init(ctl.verbose);
	if (ctl.partition && find_partition(&ctl)) {
		cli_control_free(&ctl);
		return 1;
	}
	switch (ctl.run) {
	case MODE_LIST:
		status = cli_list_main(&ctl);
		break;
	case MODE_EXTRACT:
	case MODE_TREE:
		status = cli_tree_main(&ctl, closed);
		break;
	case MODE_WRITE:
	default:
		status = cli_write_main(&ctl, closed);
		break;
	}
	cli_control_free(&ctl);
	return status;
}
