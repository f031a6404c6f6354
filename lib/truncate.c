/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * truncate.c: free every block of a file (the shell's '>' on an existing
 * file), for extent and block-mapped files alike.
 *
 * The kernel frees an extent file leaf by leaf (ext4_ext_remove_space) and
 * carries a "partial cluster" from one extent to the next so that on bigalloc
 * a cluster shared by two extents is freed once.  Remembering only the last
 * cluster is not enough once the walk has other blocks in between: two
 * extents of one cluster at the end of one leaf and the start of the next
 * have the next leaf's tree block between them, and were freed twice.
 *
 * pcwrite frees through a set instead.  Every cluster the file references,
 * data and tree (or indirect) blocks, is marked in a scratch cluster bitmap;
 * then each marked cluster is freed once, and i_blocks keeps only the xattr
 * block and the values in EA inodes.  A cluster referenced twice, whatever
 * the shape of the tree, is still one bit.  The set is complete before
 * anything is freed, so a file whose blocks lie outside the filesystem or in
 * its metadata, are free in the block bitmap, or outnumber its i_blocks is
 * refused with nothing changed.
 *
 * Not ext2fs_punch: for extent files in 1.47.0 it fails part-way with
 * "Illegal block number" on a file owning the filesystem's last block, and
 * for either layout it frees as it walks, so a damaged file is left half
 * freed.
 */
#include "config.h"

#include <string.h>

#include "extents.h"

struct truncate_set {
	ext2_filsys		fs;
	ext2fs_block_bitmap	clusters;	/* referenced by the file */
	errcode_t		err;
};

/*
 * Add [pblk, pblk+len) to the set.  The blocks must lie in the filesystem
 * and be in use: the bitmap is about to lose them.
 */
static errcode_t mark_range(struct truncate_set *s, blk64_t pblk, blk64_t len)
{
	ext2_filsys fs = s->fs;
	blk64_t free_blk;

	if (!len || pblk < fs->super->s_first_data_block ||
	    pblk >= ext2fs_blocks_count(fs->super) ||
	    len > ext2fs_blocks_count(fs->super) - pblk)
		return PCW_ET_CORRUPT;
	if (!ext2fs_find_first_zero_block_bitmap2(fs->block_map, pblk,
						  pblk + len - 1, &free_blk))
		return PCW_ET_CORRUPT;
	/*
	 * Not metadata, as ext4_free_blocks checks ("Freeing blocks not in
	 * datazone"): freed, it would be allocated again and overwritten.
	 */
	if (pcw_inode_block_valid(fs, pblk, len))
		return PCW_ET_CORRUPT;
	ext2fs_mark_block_bitmap_range2(s->clusters, pblk, len);
	return 0;
}

/*
 * An extent file: every leaf extent's blocks and every tree block.  The walk
 * visits an index entry twice (down, and up again from its subtree); in a
 * set that is harmless.
 */
static errcode_t mark_extent_tree(struct truncate_set *s, ext2_ino_t ino,
				  struct ext2_inode_large *inode)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;

	err = ext2fs_extent_open2(s->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
	while (!err) {
		if (e.e_flags & EXT2_EXTENT_FLAGS_LEAF)
			err = mark_range(s, e.e_pblk, e.e_len);
		else
			err = mark_range(s, e.e_pblk, 1);
		if (!err)
			err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &e);
	}
	ext2fs_extent_free(h);
	/* An empty tree: EXT2_EXTENT_ROOT finds no entry. */
	if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_EXTENT_NO_DOWN)
		err = 0;
	return err;
}

static int mark_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct truncate_set *s = priv;

	(void)fs;
	(void)blockcnt;
	(void)ref_blk;
	(void)ref_offset;
	s->err = mark_range(s, *blocknr, 1);
	return s->err ? BLOCK_ABORT : 0;
}

/* A block-mapped file: data blocks and the indirect blocks above them. */
static errcode_t mark_indirect(struct truncate_set *s, ext2_ino_t ino)
{
	errcode_t err;

	err = ext2fs_block_iterate3(s->fs, ino, BLOCK_FLAG_READ_ONLY, NULL,
				    mark_block, s);
	if (s->err)
		return s->err;
	/* An indirect block outside the filesystem is not handed to us. */
	if (err == EXT2_ET_BAD_IND_BLOCK || err == EXT2_ET_BAD_DIND_BLOCK ||
	    err == EXT2_ET_BAD_TIND_BLOCK)
		return PCW_ET_CORRUPT;
	return err;
}

/*
 * The next run of marked clusters at or after *B: blocks [*first, *stop),
 * cluster-aligned but for the filesystem's end.
 */
static bool next_run(struct truncate_set *s, blk64_t *b, blk64_t *first,
		     blk64_t *stop)
{
	ext2_filsys fs = s->fs;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1;

	if (*b > end ||
	    ext2fs_find_first_set_block_bitmap2(s->clusters, *b, end, first))
		return false;
	*first &= ~(blk64_t)EXT2FS_CLUSTER_MASK(fs);
	if (ext2fs_find_first_zero_block_bitmap2(s->clusters, *first, end,
						 stop))
		*stop = end + 1;
	*b = *stop;
	return true;
}

static blk64_t count_set(struct truncate_set *s)
{
	blk64_t b = s->fs->super->s_first_data_block, first, stop, n = 0;

	while (next_run(s, &b, &first, &stop))
		n += EXT2FS_B2C(s->fs, stop - 1) - EXT2FS_B2C(s->fs, first) + 1;
	return n;
}

/* Free each cluster of the set once. */
static void free_set(struct truncate_set *s)
{
	ext2_filsys fs = s->fs;
	blk64_t b = fs->super->s_first_data_block, first, stop;
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);

	while (next_run(s, &b, &first, &stop)) {
		blk64_t len = (stop - first) & ~(blk64_t)(ratio - 1);

		/* Whole clusters, in one update of the counts. */
		if (len)
			pcw_block_alloc_stats_range(fs, first, len, -1);
		/* A last cluster the filesystem ends inside. */
		if (first + len < stop)
			ext2fs_block_alloc_stats2(fs, first + len, -1);
	}
}

/*
 * The set of INODE's clusters, every check made: S->clusters holds them
 * (the caller frees it), *EA the clusters its values in EA inodes cost it.
 * Nothing is changed.
 */
static errcode_t build_set(struct truncate_set *s, ext2_filsys fs,
			   ext2_ino_t ino, struct ext2_inode_large *inode,
			   blk64_t *ea)
{
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	unsigned long long need;
	blk64_t count;
	errcode_t err;

	memset(s, 0, sizeof(*s));
	s->fs = fs;
	/*
	 * A tree of extents, not one bit per block of the filesystem: the
	 * run's default bitmap type (pcw_fs_open), so the set costs what the
	 * file's extents cost, not the filesystem's size.
	 */
	err = ext2fs_allocate_block_bitmap(fs, "pcwrite truncate",
					   &s->clusters);
	if (err)
		return err;

	if (inode->i_flags & EXT4_EXTENTS_FL)
		err = mark_extent_tree(s, ino, inode);
	else if (ext2fs_inode_has_valid_blocks2(fs, raw))
		err = mark_indirect(s, ino);
	if (err)
		return err;

	/*
	 * i_blocks must hold what is about to be taken from it; it keeps
	 * the extended-attribute block, if any.
	 */
	count = count_set(s) + (ext2fs_file_acl_block(fs, raw) ? 1 : 0);
	need = (unsigned long long)count * EXT2FS_CLUSTER_RATIO(fs) *
	       (fs->blocksize / 512);
	if (need > ext2fs_get_stat_i_blocks(fs, raw))
		return PCW_ET_CORRUPT;
	/* The values it keeps in EA inodes are charged to it too. */
	return pcw_ea_charge(fs, ino, ea);
}

errcode_t pcw_truncate_check(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode)
{
	struct truncate_set s;
	blk64_t ea;
	errcode_t err;

	err = build_set(&s, fs, ino, inode, &ea);
	if (s.clusters)
		ext2fs_free_block_bitmap(s.clusters);
	return err;
}

errcode_t pcw_truncate_blocks(ext2_filsys fs, ext2_ino_t ino,
			      struct ext2_inode_large *inode)
{
	struct truncate_set s;
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	blk64_t ea;
	errcode_t err;

	err = build_set(&s, fs, ino, inode, &ea);
	if (err)
		goto out;

	/* Nothing has changed so far; from here on nothing can fail. */
	free_set(&s);
	/*
	 * What the empty file still holds: its xattr block and the clusters
	 * of its values in EA inodes (ext4_xattr_inode_alloc_quota).  Set
	 * rather than subtracted: where a cluster was charged twice (e2fsck
	 * charges a tree block sharing a cluster with data as one more), the
	 * file owns nothing more once the cluster is gone.
	 */
	err = ext2fs_iblk_set(fs, raw, (ext2fs_file_acl_block(fs, raw) ? 1 : 0) +
			      ea);
	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_EXTENTS_FL;
out:
	if (s.clusters)
		ext2fs_free_block_bitmap(s.clusters);
	return err;
}
