/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * held.h: the holding-layer tests' start (test_busy, test_dircsum): IMAGE
 * opened read-write with its bitmaps, the holding layer pushed over it with
 * the jbd2 writer, as pcw_fs_begin_write does, and started.
 */
#ifndef PCW_TEST_HELD_H
#define PCW_TEST_HELD_H

#include <stdio.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "io.h"

/* 0, or 1 with PROG's message on stderr. */
static int open_held(const char *prog, const char *image, ext2_filsys *ret)
{
	struct pcw_io_params io = { .data_fd = -1 };
	const char *what = "open";
	ext2_filsys fs = NULL;
	errcode_t err;

	add_error_table(&et_ext2_error_table);
	err = ext2fs_open(image, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			  unix_io_manager, &fs);
	if (!err)
		err = ext2fs_read_bitmaps(fs);
	if (!err) {
		what = "journal";
		err = pcw_io_journal_writer(fs, NULL, &io.writer);
	}
	if (!err)
		err = pcw_io_push(fs, &io);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, what, error_message(err));
		return 1;
	}
	pcw_io_start(fs);
	*ret = fs;
	return 0;
}

#endif
