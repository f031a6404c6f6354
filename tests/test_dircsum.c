/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_dircsum.c: a directory leaf written through the holding layer with
 * its checksum left to do (pcw_io_write_dir_block) is summed before anything
 * sees it: a read through the layer before the commit, and the commit
 * itself (issue 17), for tests/journal.bats.
 *
 *   test_dircsum IMAGE
 *
 * IMAGE is an ext4 filesystem with metadata_csum and a journal.  The root
 * directory's first block is read, its tail's checksum overwritten with a
 * wrong value, and the block written with pcw_io_write_dir_block; libext2fs
 * then reads it back (ext2fs_read_dir_block4 verifies the checksum).  It is
 * written so again and committed through the journal without a read: the
 * image is closed, and e2fsck -fn is the judge of what the commit wrote.
 * Exit: 0; 1 usage or a libext2fs failure; 3 a read saw the block unsummed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "held.h"
#include "io.h"

static int fail(const char *what, errcode_t err)
{
	fprintf(stderr, "test_dircsum: %s: %s\n", what, error_message(err));
	return 1;
}

/* BUF's tail checksum made wrong, then written with it left to do. */
static errcode_t write_unsummed(ext2_filsys fs, blk64_t pblk, char *buf)
{
	struct ext2_dir_entry_tail *t = EXT2_DIRENT_TAIL(buf, fs->blocksize);

	t->det_checksum ^= 0x5a5a5a5a;
	return pcw_io_write_dir_block(fs, pblk, buf, EXT2_ROOT_INO);
}

int main(int argc, char **argv)
{
	ext2_filsys fs;
	blk64_t pblk = 0;
	char *buf, *back;
	errcode_t err;

	if (argc != 2) {
		fprintf(stderr, "usage: test_dircsum IMAGE\n");
		return 1;
	}
	if (open_held("test_dircsum", argv[1], &fs))
		return 1;
	if (!ext2fs_has_feature_metadata_csum(fs->super)) {
		fprintf(stderr, "test_dircsum: needs metadata_csum\n");
		return 1;
	}
	buf = malloc(fs->blocksize);
	back = malloc(fs->blocksize);
	if (!buf || !back)
		return fail("malloc", EXT2_ET_NO_MEMORY);
	/* Read through the layer: nothing held yet, the block as on disk. */
	err = ext2fs_bmap2(fs, EXT2_ROOT_INO, NULL, NULL, 0, 0, NULL, &pblk);
	if (!err)
		err = ext2fs_read_dir_block4(fs, pblk, buf, 0, EXT2_ROOT_INO);
	if (!err && !ext2fs_dirent_has_tail(fs, (struct ext2_dir_entry *)buf))
		err = EXT2_ET_DIR_NO_SPACE_FOR_CSUM;
	if (err)
		return fail("the root's first block", err);

	/* A read before the commit: summed first. */
	err = write_unsummed(fs, pblk, buf);
	if (err)
		return fail("write 1", err);
	err = ext2fs_read_dir_block4(fs, pblk, back, 0, EXT2_ROOT_INO);
	if (err == EXT2_ET_DIR_CSUM_INVALID) {
		printf("block %llu read back unsummed\n",
		       (unsigned long long)pblk);
		return 3;
	}
	if (err)
		return fail("read back", err);
	printf("read back before the commit: checksum valid\n");

	/* Written again, no read: the commit sums it. */
	memcpy(buf, back, fs->blocksize);
	err = write_unsummed(fs, pblk, buf);
	if (!err)
		err = pcw_io_commit(fs);
	if (err)
		return fail("commit", err);
	err = pcw_io_finish(fs);
	if (!err)
		err = ext2fs_close2(fs, 0);
	if (err)
		return fail("close", err);
	free(buf);
	free(back);
	return 0;
}
