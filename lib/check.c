/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.c: what pcw_fs_open checks before it lets anything be written: the
 * state and features of the filesystem, and that the metadata the allocator
 * trusts agrees with itself -- the block bitmap with where the metadata is,
 * each group's bitmaps with its descriptor (whose checksum must hold), the
 * bad blocks list with both.  A damaged image is refused here, before the
 * first write, so it stays byte-identical.  The checks made as blocks are
 * used are in validate.c.
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
 * Each group's bitmaps against its descriptor, as the kernel checks a group
 * when it first loads it (mballoc's "block bitmap and bg descriptor
 * inconsistent", ext4_mb_generate_buddy): the clusters and inodes the
 * bitmaps show free are what the descriptor counts, no more directories
 * are counted than inodes are in use, and (with group
 * checksums) no inode is in use in the inode table's unused tail
 * (bg_itable_unused), which the kernel and e2fsck never read.  The kernel
 * marks such a group corrupt, skips it and marks the filesystem with
 * errors; pcwrite refuses the run.  The bitmaps' checksums were verified
 * when libext2fs read them.
 *
 * The kernel checks a group at its first use; pcwrite checks every group at
 * open, so that a refused image is byte-identical.  It costs next to
 * nothing beside reading the bitmaps (a 2 TiB image, 16384 groups: no
 * measurable difference).
 */
static blk64_t free_clusters(ext2_filsys fs, blk64_t first, blk64_t last)
{
	blk64_t b = first, zero, set, n = 0;

	while (b <= last &&
	       !ext2fs_find_first_zero_block_bitmap2(fs->block_map, b, last,
						     &zero)) {
		if (ext2fs_find_first_set_block_bitmap2(fs->block_map, zero,
							last, &set))
			set = last + 1;
		n += EXT2FS_B2C(fs, set - 1) - EXT2FS_B2C(fs, zero) + 1;
		b = set;
	}
	return n;
}

static ext2_ino_t free_inodes(ext2_filsys fs, ext2_ino_t first,
			      ext2_ino_t last)
{
	ext2_ino_t b = first, zero, set, n = 0;

	while (b <= last &&
	       !ext2fs_find_first_zero_inode_bitmap2(fs->inode_map, b, last,
						     &zero)) {
		if (ext2fs_find_first_set_inode_bitmap2(fs->inode_map, zero,
							last, &set))
			set = last + 1;
		n += set - zero;
		b = set;
	}
	return n;
}

static bool group_agrees(ext2_filsys fs, dgrp_t g)
{
	ext2_ino_t ipg = fs->super->s_inodes_per_group;
	ext2_ino_t first = g * ipg + 1, last = first + ipg - 1, unused, set;
	ext2_ino_t nfree = free_inodes(fs, first, last);

	if (free_clusters(fs, ext2fs_group_first_block2(fs, g),
			  ext2fs_group_last_block2(fs, g)) !=
	    ext2fs_bg_free_blocks_count(fs, g) ||
	    nfree != ext2fs_bg_free_inodes_count(fs, g))
		return false;
	/* No more directories than inodes in use (a count a mkdir raises). */
	if (ext2fs_bg_used_dirs_count(fs, g) > ipg - nfree)
		return false;
	if (!ext2fs_has_group_desc_csum(fs) ||
	    ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))
		return true;
	unused = ext2fs_bg_itable_unused(fs, g);
	if (unused > nfree)
		return false;
	return !unused ||
	       ext2fs_find_first_set_inode_bitmap2(fs->inode_map,
						   last - unused + 1, last,
						   &set) != 0;
}

/*
 * The bad blocks inode (inode 1) lists blocks no file may have.  Each one,
 * and each indirect block holding the list, must be in use in the bitmap
 * (or the allocator hands it out, and e2fsck finds it claimed twice) and
 * must not be metadata (e2fsck relocates a bitmap or an inode table that
 * lies on a bad block: an inode pcwrite wrote there would be lost).  A list
 * that names its own indirect block is damaged too.
 */
struct bad_blocks {
	ext2fs_block_bitmap	meta;		/* every group's metadata */
	ext2fs_block_bitmap	listed;		/* the bad blocks */
	blk64_t			ind[64];	/* the list's indirect blocks */
	unsigned		nind;
	bool			ok;
};

static int bad_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t bcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct bad_blocks *bb = priv;
	blk64_t b = *blocknr;

	(void)ref_blk;
	(void)ref_offset;
	if (!all_in_use(fs, b, 1) || ext2fs_test_block_bitmap2(bb->meta, b) ||
	    (bcnt < 0 && bb->nind == sizeof(bb->ind) / sizeof(bb->ind[0]))) {
		bb->ok = false;
		return BLOCK_ABORT;
	}
	if (bcnt < 0)
		bb->ind[bb->nind++] = b;
	else
		ext2fs_mark_block_bitmap2(bb->listed, b);
	return 0;
}

static errcode_t check_bad_blocks(ext2_filsys fs, ext2fs_block_bitmap meta,
				  bool *ok)
{
	struct bad_blocks bb = { .meta = meta, .ok = true };
	struct ext2_inode inode;
	unsigned i;
	errcode_t err;

	err = ext2fs_read_inode(fs, EXT2_BAD_INO, &inode);
	if (err)
		return err;
	/* The common case: no bad blocks. */
	if (!inode.i_blocks && !inode.i_size) {
		for (i = 0; i < EXT2_N_BLOCKS; i++)
			if (inode.i_block[i])
				break;
		if (i == EXT2_N_BLOCKS)
			return 0;
	}
	/* Block-mapped, as e2fsck wants it: anything else is damage. */
	if (inode.i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) {
		*ok = false;
		return 0;
	}
	err = ext2fs_allocate_block_bitmap(fs, "pcwrite bad blocks",
					   &bb.listed);
	if (err)
		return err;
	err = ext2fs_block_iterate3(fs, EXT2_BAD_INO, BLOCK_FLAG_READ_ONLY,
				    NULL, bad_block, &bb);
	for (i = 0; i < bb.nind && bb.ok; i++)
		bb.ok = !ext2fs_test_block_bitmap2(bb.listed, bb.ind[i]);
	ext2fs_free_block_bitmap(bb.listed);
	/* Blocks out of range, an unreadable indirect block: damage. */
	if (err || !bb.ok)
		*ok = false;
	return 0;
}

/*
 * The descriptors' checksums, which the kernel verifies at mount
 * (ext4_check_descriptors) and libext2fs does not: a descriptor that fails
 * may hold any counts and locations.
 */
static bool descriptors_verify(ext2_filsys fs)
{
	dgrp_t g;

	if (!ext2fs_has_group_desc_csum(fs))
		return true;
	for (g = 0; g < fs->group_desc_count; g++)
		if (!ext2fs_group_desc_csum_verify(fs, g))
			return false;
	return true;
}

/*
 * The allocator trusts the block bitmap: a damaged one would hand out the
 * superblock, the descriptors, the inode tables or the journal, and the data
 * would overwrite them.  Check that every block the filesystem's own
 * metadata needs is marked in use (what e2fsck's pass 5 would find); if not,
 * refuse.  So with the descriptors' checksums, the groups' free counts and
 * the bad blocks list.
 */
errcode_t pcw_check_metadata_in_use(ext2_filsys fs)
{
	ext2fs_block_bitmap meta;
	blk64_t b, first_free, itable_len = fs->inode_blocks_per_group;
	bool ok = descriptors_verify(fs);
	dgrp_t g;
	errcode_t err;

	if (!ok)
		return PCW_ET_CORRUPT;
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
	/* With the bitmaps and inode tables: what no bad block may be. */
	for (g = 0; g < fs->group_desc_count && ok; g++) {
		ext2fs_mark_block_bitmap2(meta, ext2fs_block_bitmap_loc(fs, g));
		ext2fs_mark_block_bitmap2(meta, ext2fs_inode_bitmap_loc(fs, g));
		ext2fs_mark_block_bitmap_range2(meta,
			ext2fs_inode_table_loc(fs, g), itable_len);
	}
	for (g = 0; g < fs->group_desc_count && ok; g++)
		ok = group_agrees(fs, g);
	if (ok)
		err = check_bad_blocks(fs, meta, &ok);
	ext2fs_free_block_bitmap(meta);
	if (err)
		return err;
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
