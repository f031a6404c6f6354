/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.c: what pcw_fs_open checks before it lets anything be written: the
 * state and features of the filesystem, and that the metadata the allocator
 * trusts (the block bitmap) agrees with where the metadata is.  A damaged
 * image is refused here, before the first write, so it stays byte-identical.
 */
#include "config.h"

#include <stdbool.h>

#include "host.h"

/*
 * The geometry every other computation rests on, as e2fsck's superblock
 * check wants it.  libext2fs opens a superblock whose first data block is
 * wrong: the group of every block is then off, ext2fs_check_desc marks
 * blocks outside the filesystem (and libext2fs prints warnings about it),
 * and with bigalloc a descriptor check can even pass.
 */
static errcode_t check_geometry(ext2_filsys fs)
{
	struct ext2_super_block *sb = fs->super;
	blk64_t first = (fs->blocksize == 1024 && EXT2FS_CLUSTER_RATIO(fs) == 1);
	blk64_t groups;

	if (sb->s_first_data_block != first ||
	    sb->s_first_data_block >= ext2fs_blocks_count(sb))
		return PCW_ET_CORRUPT;
	if (!sb->s_blocks_per_group || !sb->s_clusters_per_group ||
	    sb->s_clusters_per_group > 8 * fs->blocksize ||
	    sb->s_blocks_per_group !=
	    (blk64_t)sb->s_clusters_per_group * EXT2FS_CLUSTER_RATIO(fs))
		return PCW_ET_CORRUPT;
	if (!sb->s_inodes_per_group || sb->s_inodes_per_group > 8 * fs->blocksize)
		return PCW_ET_CORRUPT;
	groups = ext2fs_div64_ceil(ext2fs_blocks_count(sb) -
				   sb->s_first_data_block, sb->s_blocks_per_group);
	if (groups != fs->group_desc_count ||
	    (uint64_t)sb->s_inodes_per_group * groups != sb->s_inodes_count)
		return PCW_ET_CORRUPT;
	return 0;
}

/*
 * The state and features pcwrite will not write into: pcw_check_state,
 * then (fs.c) the quota files' (dquot.c: pcwrite keeps quota usage in v2r1
 * files it can read), then pcw_check_layout, in this order.
 */
errcode_t pcw_check_state(ext2_filsys fs)
{
	struct ext2_super_block *sb = fs->super;

	if (ext2fs_has_feature_journal_dev(sb))
		return PCW_ET_NOT_EXT;
	if (ext2fs_has_feature_journal_needs_recovery(sb))
		return PCW_ET_NEEDS_RECOVERY;
	if (sb->s_state & EXT2_ERROR_FS)
		return PCW_ET_HAS_ERRORS;
	if (!(sb->s_state & EXT2_VALID_FS))
		return PCW_ET_NOT_CLEAN;
	if (sb->s_last_orphan || ext2fs_has_feature_orphan_present(sb))
		return PCW_ET_ORPHANS;
	if (ext2fs_has_feature_readonly(sb))
		return PCW_ET_READONLY_FS;
	return 0;
}

errcode_t pcw_check_layout(ext2_filsys fs)
{
	struct ext2_super_block *sb = fs->super;

	if (ext2fs_has_feature_shared_blocks(sb))
		return PCW_ET_UNSUPP_FEATURE;
	/* bigalloc without extents is not a layout ext4 can mount. */
	if (ext2fs_has_feature_bigalloc(sb) && !ext2fs_has_feature_extents(sb))
		return PCW_ET_UNSUPP_FEATURE;
	if (ext2fs_free_blocks_count(sb) > ext2fs_blocks_count(sb) ||
	    sb->s_free_inodes_count > sb->s_inodes_count)
		return PCW_ET_CORRUPT;
	return check_geometry(fs);
}

/* Is every block of [start, start+len) marked in use?  0 counts as in use. */
static bool all_in_use(ext2_filsys fs, blk64_t start, blk64_t len)
{
	blk64_t first_free;

	if (!start || !len)
		return true;
	if (start + len > ext2fs_blocks_count(fs->super))
		return false;
	return ext2fs_find_first_zero_block_bitmap2(fs->block_map, start,
						    start + len - 1,
						    &first_free) != 0;
}

static int journal_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t bcnt,
			 blk64_t ref_blk, int ref_offset, void *priv)
{
	bool *ok = priv;

	if (!all_in_use(fs, *blocknr, 1)) {
		*ok = false;
		return BLOCK_ABORT;
	}
	return 0;
}

/*
 * The allocator trusts the block bitmap: a damaged one would hand out the
 * superblock, the descriptors, the inode tables or the journal, and the data
 * would overwrite them.  Check that every block the filesystem's own
 * metadata needs is marked in use (what e2fsck's pass 5 would find); if not,
 * refuse.
 */
errcode_t pcw_check_metadata_in_use(ext2_filsys fs)
{
	ext2fs_block_bitmap meta;
	blk64_t b, first_free, itable_len = fs->inode_blocks_per_group;
	bool ok = true;
	dgrp_t g;
	errcode_t err;

	err = ext2fs_allocate_block_bitmap(fs, "pcwrite metadata", &meta);
	if (err)
		return err;
	for (g = 0; g < fs->group_desc_count && ok; g++) {
		ext2fs_reserve_super_and_bgd(fs, g, meta);
		ok = all_in_use(fs, ext2fs_block_bitmap_loc(fs, g), 1) &&
		     all_in_use(fs, ext2fs_inode_bitmap_loc(fs, g), 1) &&
		     all_in_use(fs, ext2fs_inode_table_loc(fs, g), itable_len);
	}
	/* Superblocks and descriptors: every block set in META is in use. */
	for (b = fs->super->s_first_data_block;
	     ok && b < ext2fs_blocks_count(fs->super); b = first_free + 1) {
		blk64_t set;

		if (ext2fs_find_first_set_block_bitmap2(meta, b,
				ext2fs_blocks_count(fs->super) - 1, &set))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(meta, set,
				ext2fs_blocks_count(fs->super) - 1, &first_free))
			first_free = ext2fs_blocks_count(fs->super);
		ok = all_in_use(fs, set, first_free - set);
	}
	ext2fs_free_block_bitmap(meta);
	if (ok && ext2fs_has_feature_journal(fs->super) &&
	    fs->super->s_journal_inum) {
		err = ext2fs_block_iterate3(fs, fs->super->s_journal_inum,
					    BLOCK_FLAG_READ_ONLY, NULL,
					    journal_block, &ok);
		if (err)
			return err;
	}
	return ok ? 0 : PCW_ET_CORRUPT;
}
