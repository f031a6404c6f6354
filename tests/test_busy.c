/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_busy.c: a block freed in a journaled transaction is not handed out
 * again before that transaction commits (issue 13, item 3), for
 * tests/journal.bats.
 *
 *   test_busy IMAGE
 *
 * IMAGE is an ext4 filesystem with a journal.  The holding layer is pushed
 * with the jbd2 writer (as pcw_fs_begin_write does); N blocks are
 * allocated and committed; then freed, and the allocator asked for N
 * blocks at the same goal: none may be one of the freed ones.  After the
 * commit that frees them, the same request may have them.  The image is
 * closed through the journal: e2fsck -fn is the judge afterwards.
 * Exit: 0; 1 usage or a libext2fs failure; 3 a freed block handed out
 * before its commit.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "held.h"
#include "io.h"
#include "journal.h"

#define N	16

static int fail(const char *what, errcode_t err)
{
	fprintf(stderr, "test_busy: %s: %s\n", what, error_message(err));
	return 1;
}

int main(int argc, char **argv)
{
	ext2_filsys fs;
	blk64_t blk[N], again, goal;
	int i, j, reused = 0;
	errcode_t err;

	if (argc != 2) {
		fprintf(stderr, "usage: test_busy IMAGE\n");
		return 1;
	}
	if (open_held("test_busy", argv[1], &fs))
		return 1;
	goal = ext2fs_blocks_count(fs->super) / 2;
	for (i = 0; i < N; i++) {
		err = ext2fs_new_block2(fs, i ? blk[i - 1] : goal, NULL, &blk[i]);
		if (err)
			return fail("new_block", err);
		ext2fs_block_alloc_stats2(fs, blk[i], +1);
	}
	err = pcw_io_commit(fs);
	if (err)
		return fail("commit 1", err);
	for (i = 0; i < N; i++)
		ext2fs_block_alloc_stats2(fs, blk[i], -1);
	/* Before the commit that frees them: none of them. */
	for (i = 0; i < N; i++) {
		err = ext2fs_new_block2(fs, blk[0], NULL, &again);
		if (err)
			return fail("new_block again", err);
		for (j = 0; j < N; j++)
			if (again == blk[j]) {
				printf("block %llu freed and handed out again "
				       "before its transaction committed\n",
				       (unsigned long long)again);
				return 3;
			}
		ext2fs_block_alloc_stats2(fs, again, +1);
		ext2fs_block_alloc_stats2(fs, again, -1);
	}
	err = pcw_io_commit(fs);
	if (err)
		return fail("commit 2", err);
	/* After it: free again, the allocator may use them. */
	err = ext2fs_new_block2(fs, blk[0], NULL, &again);
	if (err)
		return fail("new_block after", err);
	for (j = 0; j < N; j++)
		reused |= again == blk[j];
	printf("after the commit: block %llu (%s)\n", (unsigned long long)again,
	       reused ? "one of the freed" : "another");
	err = pcw_io_finish(fs);
	if (!err)
		err = ext2fs_close2(fs, 0);
	if (err)
		return fail("close", err);
	return reused ? 0 : 3;
}
