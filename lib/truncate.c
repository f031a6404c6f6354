/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * truncate.c: free every block of a file (the shell's '>' on an existing
 * file), for extent and block-mapped files alike: in one transaction, or,
 * when that does not fit the journal's, from the end in several under the
 * orphan list (see "from the end" below).
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

#include <stdlib.h>
#include <string.h>

#include "extents.h"

struct truncate_set {
	ext2_filsys		fs;
	ext2fs_block_bitmap	clusters;	/* referenced by the file */
	errcode_t		err;
	blk64_t			meta;		/* tree or indirect blocks */
	bool			raw;		/* mark only, no checks (a
						   tree already checked) */
};

/*
 * Add [pblk, pblk+len) to the set.  The blocks must lie in the filesystem
 * and be in use: the bitmap is about to lose them.
 */
static errcode_t mark_range(struct truncate_set *s, blk64_t pblk, blk64_t len)
{
	ext2_filsys fs = s->fs;
	blk64_t free_blk;

	if (s->raw) {
		ext2fs_mark_block_bitmap_range2(s->clusters, pblk, len);
		return 0;
	}
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
		if (e.e_flags & EXT2_EXTENT_FLAGS_LEAF) {
			err = mark_range(s, e.e_pblk, e.e_len);
		} else {
			err = mark_range(s, e.e_pblk, 1);
			if (!(e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
				s->meta++;
		}
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
	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0)
		s->meta++;
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

/* Free the clusters [first, stop) (cluster-aligned but for the end). */
static void free_run(ext2_filsys fs, blk64_t first, blk64_t stop)
{
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);
	blk64_t len = (stop - first) & ~(blk64_t)(ratio - 1);

	/* Whole clusters, in one update of the counts. */
	if (len)
		pcw_block_alloc_stats_range(fs, first, len, -1);
	/* A last cluster the filesystem ends inside. */
	if (first + len < stop)
		ext2fs_block_alloc_stats2(fs, first + len, -1);
}

/* Free each cluster of the set once. */
static void free_set(struct truncate_set *s)
{
	blk64_t b = s->fs->super->s_first_data_block, first, stop;

	while (next_run(s, &b, &first, &stop))
		free_run(s->fs, first, stop);
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

/*
 * The file empty: i_block cleared, i_blocks what it still holds, its xattr
 * block and the clusters of its values in EA inodes
 * (ext4_xattr_inode_alloc_quota).  Set rather than subtracted: where a
 * cluster was charged twice (e2fsck charges a tree block sharing a
 * cluster with data as one more), the file owns nothing more once the
 * cluster is gone.
 */
static errcode_t set_empty(ext2_filsys fs, struct ext2_inode_large *inode,
			   blk64_t ea)
{
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	errcode_t err;

	err = ext2fs_iblk_set(fs, raw, (ext2fs_file_acl_block(fs, raw) ? 1 : 0) +
			      ea);
	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_EXTENTS_FL;
	return err;
}

errcode_t pcw_truncate_blocks(ext2_filsys fs, ext2_ino_t ino,
			      struct ext2_inode_large *inode)
{
	struct truncate_set s;
	blk64_t ea;
	errcode_t err;

	err = build_set(&s, fs, ino, inode, &ea);
	if (err)
		goto out;

	/* Nothing has changed so far; from here on nothing can fail. */
	free_set(&s);
	err = set_empty(fs, inode, ea);
out:
	if (s.clusters)
		ext2fs_free_block_bitmap(s.clusters);
	return err;
}

/* ---- from the end, in several transactions ------------------------------ */

/*
 * When freeing does not fit the running transaction.  With the journal a
 * transaction holds a quarter of the log, and freeing writes the bitmap
 * and descriptor block of every group the file has blocks in: a
 * fragmented file over more groups than that, freed at once, was logged as
 * several transactions (io_journal.c's split), and a crash between them
 * replayed bitmaps that called free the blocks of a file still mapping
 * them.  ext4_truncate's way instead: the new size (i_disksize) and the
 * inode on the orphan list first, in a transaction of their own; then the
 * map is shortened from its end in pieces (ext4_ext_remove_space, an
 * extent at a time, asking ext4_ext_truncate_extend_restart for room
 * before each; ext4_ind_truncate for block maps), each piece freeing the
 * clusters it took off the map in the same transaction, so that at every
 * commit the bitmaps match the map; the last piece takes the inode off
 * the list.  A crash between two pieces leaves an orphan that replay
 * (e2fsck, the kernel's ext4_orphan_cleanup) truncates to its size.
 *
 * The set is still built and checked first (a damaged file is refused
 * with nothing changed).  On bigalloc a cluster the rest of the map still
 * uses is kept until the piece that takes its last use (the kernel's
 * partial cluster); one freed is never freed again.  Extent files are
 * shortened through the extent handle, leaves and index blocks left empty
 * removed with their entries as ext4_ext_rm_idx does (not ext2fs_punch:
 * see the head comment); block-mapped files (never bigalloc) through
 * ext2fs_punch, whose block-map walk frees indirect blocks left empty.
 */
struct range_trunc {
	pcw_fs			*pfs;
	ext2_filsys		fs;
	ext2_ino_t		ino;
	struct ext2_inode_large	*inode;
	struct truncate_set	piece;		/* taken off the map in this piece */
	ext2fs_block_bitmap	freed;		/* freed by an earlier piece */
	unsigned char		*gseen;		/* per group: in this piece */
	blk64_t			ngroups;	/* groups in this piece */
	blk64_t			nmeta;		/* tree blocks in this piece */
	struct mapped_blk {
		blk64_t		lblk, pblk;
	}			*blk;		/* block-mapped: the data blocks */
	size_t			nblk, cap;
	blk64_t			ea;		/* what its EA values cost it */
	errcode_t		err;		/* collect_block's */
	bool			changed;	/* the orphan step is made */
};

/* Revoke blocks for N freed metadata blocks (8 bytes a record at most). */
static blk64_t revoke_blocks(ext2_filsys fs, blk64_t n)
{
	return (n * 8 + fs->blocksize - 17) / (fs->blocksize - 16);
}

/* Distinct groups the set has clusters in. */
static blk64_t set_groups(struct truncate_set *s)
{
	ext2_filsys fs = s->fs;
	blk64_t b = fs->super->s_first_data_block, first, stop, n = 0;
	dgrp_t last = 0, g0, g1;
	bool any = false;

	while (next_run(s, &b, &first, &stop)) {
		g0 = ext2fs_group_of_blk2(fs, first);
		g1 = ext2fs_group_of_blk2(fs, stop - 1);
		n += g1 - g0 + 1 - (any && g0 == last);
		last = g1;
		any = true;
	}
	return n;
}

/* Groups of [pblk, pblk + len) not in this piece yet; with ADD, added. */
static blk64_t new_groups(struct range_trunc *t, blk64_t pblk, blk64_t len,
			  bool add)
{
	dgrp_t g = ext2fs_group_of_blk2(t->fs, pblk);
	dgrp_t g1 = ext2fs_group_of_blk2(t->fs, pblk + len - 1);
	blk64_t n = 0;

	for (; g <= g1 && g < t->fs->group_desc_count; g++) {
		if (t->gseen[g])
			continue;
		n++;
		if (add)
			t->gseen[g] = 1;
	}
	if (add)
		t->ngroups += n;
	return n;
}

/*
 * Would one more step overflow this piece's transaction: CREDITS blocks
 * more (the path it rewrites; the inode; the list's other inode; the
 * quota files), NEWG new groups, META tree blocks it may free (each a
 * group more, and a revoke)?  A piece takes at least one step.
 */
static bool piece_full(struct range_trunc *t, blk64_t credits, blk64_t newg,
		       blk64_t meta)
{
	credits += 2 + PCW_QUOTA_COMMIT_CREDITS +
		   revoke_blocks(t->fs, t->nmeta + meta);
	return pcw_io_room_short_groups(t->fs, credits,
					t->ngroups + newg + meta);
}

/*
 * Take extents off the end of the tree while the transaction has room;
 * *DONE when the tree is empty.  A node left empty is freed and its entry
 * in the node above removed (ext4_ext_rm_idx), up to the root; the root
 * left empty has depth 0 (ext2fs_extent_delete).
 */
static errcode_t piece_extents(struct range_trunc *t, bool *done)
{
	ext2_filsys fs = t->fs;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	struct ext2_extent_info info;
	blk64_t taken = 0;
	errcode_t err;

	*done = false;
	err = ext2fs_extent_open2(fs, t->ino, (struct ext2_inode *)t->inode,
				  &h);
	if (err)
		return err;
	for (;;) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
		if (err == EXT2_ET_EXTENT_NO_NEXT) {
			err = 0;
			*done = true;
			break;
		}
		if (!err)
			err = ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, &e);
		if (!err)
			err = ext2fs_extent_get_info(h, &info);
		if (err)
			break;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF) || !e.e_len) {
			err = PCW_ET_CORRUPT;
			break;
		}
		if (taken && piece_full(t, info.max_depth,
					new_groups(t, e.e_pblk, e.e_len, false),
					info.max_depth))
			break;
		new_groups(t, e.e_pblk, e.e_len, true);
		ext2fs_mark_block_bitmap_range2(t->piece.clusters, e.e_pblk,
						e.e_len);
		err = ext2fs_extent_delete(h, EXT2_EXTENT_DELETE_KEEP_EMPTY);
		while (!err) {
			err = ext2fs_extent_get_info(h, &info);
			if (err || info.num_entries || !info.curr_level)
				break;
			err = ext2fs_extent_get(h, EXT2_EXTENT_UP, &e);
			if (err)
				break;
			new_groups(t, e.e_pblk, 1, true);
			ext2fs_mark_block_bitmap2(t->piece.clusters, e.e_pblk);
			t->nmeta++;
			err = ext2fs_extent_delete(h,
					EXT2_EXTENT_DELETE_KEEP_EMPTY);
		}
		if (err)
			break;
		taken++;
	}
	ext2fs_extent_free(h);
	return err;
}

/*
 * Free the clusters this piece took off the map: once (not one an earlier
 * piece freed), and on bigalloc not one the rest of the tree still uses.
 * i_blocks loses what was freed.
 */
static errcode_t piece_free(struct range_trunc *t)
{
	ext2_filsys fs = t->fs;
	struct ext2_inode *raw = (struct ext2_inode *)t->inode;
	struct truncate_set keep;
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);
	blk64_t b = fs->super->s_first_data_block, first, stop, c;
	blk64_t rs = 0, re = 0, nfreed = 0;
	errcode_t err = 0;

	memset(&keep, 0, sizeof(keep));
	if (ratio > 1) {
		keep.fs = fs;
		keep.raw = true;
		err = ext2fs_allocate_block_bitmap(fs, "pcwrite truncate",
						   &keep.clusters);
		if (!err)
			err = mark_extent_tree(&keep, t->ino, t->inode);
		if (err)
			goto out;
	}
	while (next_run(&t->piece, &b, &first, &stop)) {
		for (c = first; c < stop; c += ratio) {
			blk64_t ce = c + ratio < stop ? c + ratio : stop;

			if (ext2fs_test_block_bitmap2(t->freed, c) ||
			    (keep.clusters &&
			     ext2fs_test_block_bitmap2(keep.clusters, c)))
				continue;
			if (re != c) {
				if (re > rs)
					free_run(fs, rs, re);
				rs = c;
			}
			re = ce;
			ext2fs_mark_block_bitmap_range2(t->freed, c, ce - c);
			nfreed++;
		}
	}
	if (re > rs)
		free_run(fs, rs, re);
	ext2fs_clear_block_bitmap(t->piece.clusters);
	/* Less than that (a cluster charged twice, see set_empty): what the
	   empty file keeps. */
	if (ext2fs_iblk_sub_blocks(fs, raw, nfreed))
		err = ext2fs_iblk_set(fs, raw, t->ea +
				      (ext2fs_file_acl_block(fs, raw) ? 1 : 0));
out:
	if (keep.clusters)
		ext2fs_free_block_bitmap(keep.clusters);
	return err;
}

static int collect_block(ext2_filsys fs, blk64_t *blocknr,
			 e2_blkcnt_t blockcnt, blk64_t ref_blk, int ref_offset,
			 void *priv)
{
	struct range_trunc *t = priv;

	(void)fs;
	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0)
		return 0;
	t->err = pcw_grow(&t->blk, &t->cap, t->nblk + 1, sizeof(*t->blk), 256);
	if (t->err)
		return BLOCK_ABORT;
	t->blk[t->nblk].lblk = blockcnt;
	t->blk[t->nblk++].pblk = *blocknr;
	return 0;
}

/*
 * A block map: the data blocks from the end while the transaction has
 * room, then ext2fs_punch from the first of them (from 0 for the last
 * piece: every indirect block goes).  ext2fs_punch frees each block and
 * lowers i_blocks.
 */
static errcode_t piece_indirect(struct range_trunc *t, bool *done)
{
	ext2_filsys fs = t->fs;
	blk64_t per = fs->blocksize / 4, taken = 0, start;
	size_t i = t->nblk;

	while (i > 0) {
		blk64_t pb = t->blk[i - 1].pblk, ind = taken / per + 3;

		if (taken && piece_full(t, 3, new_groups(t, pb, 1, false), ind))
			break;
		new_groups(t, pb, 1, true);
		i--;
		taken++;
	}
	*done = i == 0;
	start = i ? t->blk[i].lblk : 0;
	t->nblk = i;
	return ext2fs_punch(fs, t->ino, (struct ext2_inode *)t->inode, NULL,
			    start, ~0ULL);
}

static errcode_t write_inode(struct range_trunc *t)
{
	return ext2fs_write_inode_full(t->fs, t->ino,
				       (struct ext2_inode *)t->inode,
				       sizeof(*t->inode));
}

/*
 * The size an extent file keeps on the orphan list while its pieces are
 * freed: the end of its first extent, not 0 as ext4_truncate's i_disksize.
 * e2fsck 1.47.0 truncates an orphan to its size through a block iteration
 * that frees a leaf, then finds it again ("Already cleared indirect block
 * found in orphaned inode", the truncation abandoned, e2fsck -fn then
 * finding blocks in use marked free) whenever every leaf empties: a file
 * of 200 extents in 3 leaves, i_size 0 on the orphan list, is left so;
 * with its first extent kept it is truncated cleanly (depth 1 and 2 both).
 * So a crash between pieces replays (e2fsck, or the kernel's
 * ext4_orphan_cleanup, which truncates to the same size) to the file's
 * first extent, a prefix of its old content; the last piece, which takes
 * that extent, sets the size to 0 with the inode off the list.
 */
static errcode_t first_extent_end(struct range_trunc *t, uint64_t *end)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	uint64_t size = EXT2_I_SIZE(t->inode);
	errcode_t err;

	*end = 0;
	err = ext2fs_extent_open2(t->fs, t->ino, (struct ext2_inode *)t->inode,
				  &h);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
	while (!err && !(e.e_flags & EXT2_EXTENT_FLAGS_LEAF))
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &e);
	ext2fs_extent_free(h);
	if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_EXTENT_NO_DOWN)
		return 0;
	if (err)
		return err;
	*end = (e.e_lblk + e.e_len) * (uint64_t)t->fs->blocksize;
	if (*end > size)
		*end = size;
	return 0;
}

/*
 * The pieces, after the file's set was checked.  ORPHANED: the inode is on
 * the orphan list already, committed (a released inode, i_nlink 0): no
 * first step, and it stays on the list, its map empty.
 */
static errcode_t truncate_pieces(struct range_trunc *t, bool orphaned)
{
	ext2_filsys fs = t->fs;
	struct ext2_inode *raw = (struct ext2_inode *)t->inode;
	bool extents = t->inode->i_flags & EXT4_EXTENTS_FL, done = false;
	errcode_t err;

	t->gseen = calloc(fs->group_desc_count, 1);
	if (!t->gseen)
		return EXT2_ET_NO_MEMORY;
	err = ext2fs_allocate_block_bitmap(fs, "pcwrite truncate", &t->freed);
	if (!err && !extents) {
		err = ext2fs_block_iterate3(fs, t->ino, BLOCK_FLAG_READ_ONLY |
					    BLOCK_FLAG_DATA_ONLY, NULL,
					    collect_block, t);
		if (!err)
			err = t->err;
	}
	if (err)
		return err;

	/* ext4_truncate: i_disksize, then ext4_orphan_add, one transaction. */
	if (!orphaned) {
		uint64_t keep = 0;

		if (extents)
			err = first_extent_end(t, &keep);
		if (!err)
			err = ext2fs_inode_size_set(fs, raw, keep);
		if (err)
			return err;
		pcw_orphan_add(fs, t->ino, t->inode);
		t->changed = true;
		err = write_inode(t);
		if (!err)
			err = pcw_fs_commit(t->pfs);
	}
	while (!err) {
		memset(t->gseen, 0, fs->group_desc_count);
		t->ngroups = t->nmeta = 0;
		t->changed = true;
		pcw_io_handle_start(fs);
		err = extents ? piece_extents(t, &done) : piece_indirect(t, &done);
		if (!err && extents)
			err = piece_free(t);
		/* The last piece: off the list (ext4_orphan_del). */
		if (!err && done && !orphaned)
			err = pcw_orphan_del(fs, t->ino, t->inode);
		if (!err && done && !orphaned)
			err = ext2fs_inode_size_set(fs, raw, 0);
		if (!err && done)
			err = set_empty(fs, t->inode, t->ea);
		if (!err)
			err = write_inode(t);
		pcw_io_handle_stop(fs);
		if (err || done)
			break;
		err = pcw_fs_commit(t->pfs);
	}
	return err;
}

enum tr_mode { TR_SHELL, TR_FITS, TR_ORPHAN };

static errcode_t truncate_ranged(pcw_fs *pfs, ext2_filsys fs, ext2_ino_t ino,
				 struct ext2_inode_large *inode,
				 enum tr_mode mode, bool *fits)
{
	struct range_trunc t;
	blk64_t ea;
	errcode_t err;

	memset(&t, 0, sizeof(t));
	err = build_set(&t.piece, fs, ino, inode, &ea);
	if (err)
		goto out;
	/*
	 * The common case, one transaction: the inode, the revokes of the
	 * tree blocks, and every group's bitmap and descriptor.  Block maps
	 * on bigalloc (no kernel makes them) always so.
	 */
	*fits = !pcw_io_room_short_groups(fs, 2 + PCW_QUOTA_COMMIT_CREDITS +
					  revoke_blocks(fs, t.piece.meta),
					  set_groups(&t.piece)) ||
		(!(inode->i_flags & EXT4_EXTENTS_FL) &&
		 EXT2FS_CLUSTER_RATIO(fs) > 1);
	if (mode == TR_FITS)
		goto out;
	if (*fits) {
		free_set(&t.piece);
		err = set_empty(fs, inode, ea);
		if (!err && mode == TR_ORPHAN)
			err = ext2fs_write_inode_full(fs, ino,
						      (struct ext2_inode *)inode,
						      sizeof(*inode));
		goto out;
	}
	ext2fs_clear_block_bitmap(t.piece.clusters);
	t.pfs = pfs;
	t.fs = fs;
	t.ino = ino;
	t.inode = inode;
	t.ea = ea;
	err = truncate_pieces(&t, mode == TR_ORPHAN);
	/* Changed part-way: what is held is not a whole update. */
	if (err && t.changed)
		pfs->meta_error = true;
out:
	if (t.piece.clusters)
		ext2fs_free_block_bitmap(t.piece.clusters);
	if (t.freed)
		ext2fs_free_block_bitmap(t.freed);
	free(t.gseen);
	free(t.blk);
	return err;
}

errcode_t pcw_truncate_ranged(pcw_fs *pfs, ext2_ino_t ino,
			      struct ext2_inode_large *inode)
{
	bool fits;

	return truncate_ranged(pfs, pfs->fs, ino, inode, TR_SHELL, &fits);
}

errcode_t pcw_truncate_fits(ext2_filsys fs, ext2_ino_t ino,
			    struct ext2_inode_large *inode, bool *fits)
{
	return truncate_ranged(NULL, fs, ino, inode, TR_FITS, fits);
}

errcode_t pcw_truncate_orphan(pcw_fs *pfs, ext2_ino_t ino,
			      struct ext2_inode_large *inode)
{
	bool fits;

	return truncate_ranged(pfs, pfs->fs, ino, inode, TR_ORPHAN, &fits);
}
