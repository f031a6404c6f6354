/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * image.c: opening the image for a write run (a file, -x, -R), the same
 * for each: the command line's open parameters, the signals, the report's
 * start record, then what can only be checked on the open image
 * (--page-size against its block size, -u/-g names in its /etc/passwd and
 * /etc/group).  A refusal leaves the image as it was.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pcwrite_cmd.h"

int cli_image_open(const struct cli_control *ctl, struct pcw_guard *guard,
		   struct cli_render *render, const char *mode,
		   struct pcw_conflict *conflict, struct cli_image *img)
{
	struct pcw_open_params params;
	struct pcw_fs_info fi;
	errcode_t err;
	int status;

	memset(img, 0, sizeof(*img));
	memset(&params, 0, sizeof(params));
	memset(conflict, 0, sizeof(*conflict));
	params.flags = (ctl->no_sync ? PCW_OPEN_NO_SYNC : 0) |
		       (ctl->have_project ? PCW_OPEN_PROJECT : 0) |
		       (ctl->no_journal ? PCW_OPEN_NO_JOURNAL : 0);
	params.commit_sec = ctl->commit_sec;
	params.project = ctl->project;
	params.image_offset = ctl->image_offset;
	params.image_size = ctl->image_size;
	params.now = ctl->mtime;
	params.undo_file = ctl->undo_file;
	cli_msg_set_undo_file(ctl->undo_file);
	params.undo_fd = cli_host_files_undo(ctl, guard);
	params.guard = guard;
	params.conflict = conflict;
	cli_host_files_keep();
	cli_signals_install();
	err = pcw_fs_open(ctl->image, &params, &img->pfs);
	cli_render_start(render, mode, ctl, err ? NULL : img->pfs);
	if (err) {
		cli_msg_open(ctl, err, conflict);
		img->pfs = NULL;
		img->end_err = err;
		return 1;
	}
	cli_msg_fs = img->pfs;
	pcw_fs_get_info(img->pfs, &fi);
	/* An external journal is refused at open: this one is internal. */
	cli_msg_set_journaled((fi.feature_compat & 0x0004) &&	/* has_journal */
			      !ctl->no_journal);
	if (ctl->page_size && ctl->page_size < pcw_fs_block_size(img->pfs)) {
		char bs[32];

		snprintf(bs, sizeof(bs), "%u", pcw_fs_block_size(img->pfs));
		cli_msg_usage("--page-size is below the image's block size (%s)",
			      bs);
		img->end_msg = "--page-size is below the image's block size";
		status = EXIT_USAGE;
		goto abort;
	}
	/* --atomic swaps in one journal transaction: no journal, no swap */
	if (ctl->atomic) {
		if (!(fi.feature_compat & 0x0004)) {	/* has_journal */
			cli_msg_usage("--atomic needs a journal; the image has "
				      "none%s", "");
			img->end_msg = "--atomic needs a journal";
			status = EXIT_USAGE;
			goto abort;
		}
	}
	/* -u/-g names, in the image as it is before the first write */
	status = cli_owner_names(ctl, img->pfs, &img->uid, &img->gid,
				 &img->end_err);
	if (status)
		goto abort;
	return 0;
abort:
	cli_msg_fs = NULL;
	pcw_fs_abort(img->pfs);
	img->pfs = NULL;
	return status;
}
