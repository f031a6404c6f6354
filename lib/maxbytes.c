/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maxbytes.c: the largest file the kernel accepts (fs/ext4/super.c's
 * ext4_max_size() for extent files, ext4_max_bitmap_size() for block-mapped
 * ones), written from their rules.
 *
 * The kernel refuses to open a file whose i_size passes its limit
 * (__ext4_iget: "iget: bad i_size value"), and its writes stop there with
 * EFBIG, so pcwrite keeps to the same limits.  e2fsck is more lenient: for a
 * block-mapped file it allows what the indirect tree can address, ignoring
 * that i_blocks must also count the indirect blocks; where the two disagree
 * the kernel's limit, the lower one, is the one kept.
 */
#include "config.h"

#include "base.h"

/* MAX_LFS_FILESIZE on a 64-bit kernel: loff_t's largest value. */
#define PCW_MAX_LFS_FILESIZE	((uint64_t)INT64_MAX)

/*
 * The most fs blocks i_blocks can count.  Without huge_file it is a 32-bit
 * count of 512-byte sectors; with it 48 bits (in fs blocks once the inode
 * has HUGE_FILE_FL, which the kernel assumes for the limit).
 */
static uint64_t i_blocks_limit(unsigned blkbits, bool huge_file)
{
	if (!huge_file)
		return ((1ULL << 32) - 1) >> (blkbits - 9);
	return (1ULL << 48) - 1;
}

/*
 * ext4_max_size(): an extent's first block is a 32-bit ee_block, and the
 * extent reaching the largest size must still have a length, so the last
 * block is 2^32 - 2 and the size (2^32 - 1) blocks.  Without huge_file the
 * file's blocks must also fit i_blocks (tree blocks are not counted here).
 */
static uint64_t max_extent_bytes(unsigned blkbits, bool huge_file)
{
	uint64_t res = ((1ULL << 32) - 1) << blkbits;
	uint64_t upper = PCW_MAX_LFS_FILESIZE;

	if (!huge_file)
		upper = i_blocks_limit(blkbits, false) << blkbits;
	return res < upper ? res : upper;
}

static uint64_t div_round_up(uint64_t n, uint64_t d)
{
	return (n + d - 1) / d;
}

/*
 * ext4_max_bitmap_size(): a block-mapped file addresses 12 direct blocks,
 * then ppb, ppb^2 and ppb^3 through the single, double and triple indirect
 * blocks (ppb: block numbers per block).  i_blocks counts the indirect
 * blocks too, so when i_blocks is the tighter limit the file is that limit
 * less the indirect blocks needed to address that many blocks (counted, as
 * the kernel does, for the whole limit's worth of data).
 */
static uint64_t max_bitmap_bytes(unsigned blkbits, bool huge_file)
{
	uint64_t ppb = 1ULL << (blkbits - 2);
	uint64_t limit = i_blocks_limit(blkbits, huge_file);
	uint64_t res = EXT2_NDIR_BLOCKS + ppb + ppb * ppb + ppb * ppb * ppb;
	/* the indirect blocks of a full tree: ind, dind, tind */
	uint64_t meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
	uint64_t rest;

	if (res + meta > limit) {
		res = limit;
		/* the direct blocks, and the indirect block's ppb */
		rest = limit - EXT2_NDIR_BLOCKS - ppb;
		meta = 1;
		if (rest < ppb * ppb) {
			/* the double indirect block and part of its children */
			meta += 1 + div_round_up(rest, ppb);
		} else {
			/* all of the double indirect tree; the rest under the
			   triple indirect block, at both of its levels */
			meta += 1 + ppb;
			rest -= ppb * ppb;
			meta += 1 + div_round_up(rest, ppb) +
				div_round_up(rest, ppb * ppb);
		}
		res -= meta;
	}
	if (res > PCW_MAX_LFS_FILESIZE >> blkbits)
		return PCW_MAX_LFS_FILESIZE;
	return res << blkbits;
}

/*
 * The limit for a file of the kind given: ext4_get_maxbytes() (what iget
 * checks), and for a block-mapped file also s_maxbytes, which
 * generic_write_checks() applies to every write.
 */
uint64_t pcw_max_file_bytes(ext2_filsys fs, bool extent_file)
{
	unsigned blkbits = EXT2_BLOCK_SIZE_BITS(fs->super);
	bool huge = ext2fs_has_feature_huge_file(fs->super);
	uint64_t s_maxbytes = max_extent_bytes(blkbits, huge);
	uint64_t bitmap;

	if (extent_file)
		return s_maxbytes;
	bitmap = max_bitmap_bytes(blkbits, huge);
	return bitmap < s_maxbytes ? bitmap : s_maxbytes;
}
