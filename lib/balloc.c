/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * balloc.c: space, as fs/ext4/balloc.c and mballoc.c keep it: free clusters
 * and the room everyone's reservations leave (ext4_has_free_clusters),
 * delayed-allocation reservations (ext4_da_reserve_space and its release),
 * the switch to allocating at once near a full filesystem
 * (ext4_nonda_switch), runs allocated and freed (mballoc in miniature) and
 * the pending blocks of block-mapped files under nodelalloc.
 *
 * Every function takes the filesystem, the file (struct pcw_inode_info:
 * its inode, its reservation and its goal), never a mapping: space knows
 * nothing of pages.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "balloc.h"

/*
 * Space is counted in clusters (a cluster is a block but on bigalloc).
 * Room is kept for the extent-tree (or indirect) blocks the reserved data
 * may need.
 */
static blk64_t pcw_reserve_slack(ext2_filsys fs, blk64_t reserved)
{
	/* Entries a tree block maps: extents (12 bytes after a 12-byte
	   header) or block numbers of an indirect block. */
	blk64_t per = ext2fs_has_feature_extents(fs->super) ?
		      (fs->blocksize - 12) / 12 : fs->blocksize / 4;
	blk64_t slack = 4, level = reserved;

	/* Every level of the tree, up to the root (worst case: one extent
	   a block). */
	while (level > 1) {
		level = (level + per - 1) / per;
		slack += level;
	}
	return slack;
}

blk64_t pcw_free_clusters(ext2_filsys fs)
{
	return EXT2FS_B2C(fs, ext2fs_free_blocks_count(fs->super));
}

/*
 * The clusters a request for N more can have: free space less everyone's
 * reservations and the tree-block slack they and the N would need.
 * pcwrite writes as the filesystem's root would, so the root-reserved
 * blocks count as free.
 */
static blk64_t pcw_room(const pcw_fs *pfs, blk64_t n)
{
	blk64_t free_clusters = pcw_free_clusters(pfs->fs);
	/* Pending blocks are allocated, but their indirect blocks not yet. */
	blk64_t keep = pfs->reserved +
		       pcw_reserve_slack(pfs->fs, pfs->reserved + pfs->pending +
					 n) + pfs->quota_reserve;

	return free_clusters > keep ? free_clusters - keep : 0;
}

/*
 * Would N clusters (and their tree-block slack) be short now, for want of
 * blocks this transaction freed and holds busy until it commits?  Busy
 * blocks are counted free (pcw_room counts them: the free counts moved
 * when they were freed, as the kernel's s_freeclusters_counter does, so
 * ext4_has_free_clusters sees them), but the bitmap still has them: a
 * reservation passes and the allocation behind it finds nothing.  A
 * caller that can commit at a consistent point before it allocates
 * (nodelalloc's write_begin) asks this; writeback retries after its
 * failure instead (writeback.c).
 */
bool pcw_busy_short(const pcw_fs *pfs, blk64_t n)
{
	ext2_filsys fs = pfs->fs;
	blk64_t busy = EXT2FS_NUM_B2C(fs, pcw_io_busy_blocks(fs));
	blk64_t free_clusters = pcw_free_clusters(fs);
	blk64_t usable = free_clusters > busy ? free_clusters - busy : 0;

	return busy && usable < n + pcw_reserve_slack(fs, n);
}

/*
 * Commit when N clusters are short only for want of busy blocks: before a
 * tree's entry, for the blocks its own metadata may take
 * (PCW_ENTRY_META_CLUSTERS: a directory's first block, its parent's
 * growth, an htree split, a symlink or attribute block).  The kernel
 * retries a failed mkdir, create or symlink after a forced commit
 * (ext4_should_retry_alloc; the handle stopped, the transaction
 * consistent); an entry here undoes itself on failure but cannot read its
 * source again, so the commit comes first, at the boundary where the
 * transaction is whole.  File data retries in writeback (writeback.c); an
 * attribute value in EA inodes larger than this can still fail where a
 * commit would have made room.
 */
errcode_t pcw_commit_for_room(pcw_fs *pfs, blk64_t n)
{
	if (!pfs->fs || !pcw_busy_short(pfs, n))
		return 0;
	return pcw_fs_commit(pfs);
}

/* Could N clusters be allocated now without touching anyone's reservation? */
errcode_t pcw_fs_check_space(pcw_fs *pfs, blk64_t n)
{
	return pcw_room(pfs, n) < n ? ENOSPC : 0;
}

/* ext4_da_reserve_space(): account N clusters against free space. */
errcode_t pcw_reserve(struct pcw_inode_info *ei, blk64_t n)
{
	errcode_t err = pcw_fs_check_space(ei->pfs, n);

	if (err)
		return err;
	ei->pfs->reserved += n;
	ei->reserved += n;
	return 0;
}

void pcw_release_reservation(struct pcw_inode_info *ei, blk64_t n)
{
	if (n > ei->reserved)
		n = ei->reserved;
	ei->reserved -= n;
	ei->pfs->reserved -= n;
}

/*
 * The first free extent at or after GOAL (wrapping to the start) at least
 * WANT blocks long, or failing that the longest one.  One pass over the
 * bitmap's free extents.  (ext2fs_new_range with EXT2_NEWRANGE_MIN_LENGTH
 * would do the first half, but in 1.47.0 it loops forever when no free
 * extent is long enough and the bitmap ends in used blocks.)
 */
static errcode_t longest_free(ext2_filsys fs, blk64_t goal, blk64_t want,
			      blk64_t *start)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1;
	blk64_t best = 0, best_len = 0;
	int pass;

	if (goal < first || goal > end)
		goal = first;

	for (pass = 0; pass < 2; pass++) {
		blk64_t b = pass ? first : goal;
		blk64_t stop = pass ? goal : end + 1;

		while (b < stop) {
			blk64_t zero, set;

			if (ext2fs_find_first_zero_block_bitmap2(fs->block_map,
								 b, end, &zero))
				break;
			if (zero >= stop)
				break;
			if (ext2fs_find_first_set_block_bitmap2(fs->block_map,
								zero, end, &set))
				set = end + 1;
			if (set - zero >= want) {
				*start = zero;
				return 0;
			}
			if (set - zero > best_len) {
				best = zero;
				best_len = set - zero;
			}
			b = set;
		}
	}
	if (!best_len)
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	*start = best;
	return 0;
}

/*
 * Where WANT blocks go (mballoc in miniature).  A run that continues the
 * file's previous one takes what is free right at the goal: it extends the
 * last extent.  Otherwise the first free extent at or after the goal long
 * enough for the whole run, as mballoc looks for a free extent of the
 * request's size before settling for less, or else the longest there is.
 * ext2fs_new_range then takes it from its exact start.
 */
static errcode_t find_range(struct pcw_inode_info *ei, blk64_t want, bool extend,
			    bool background, blk64_t *start, blk64_t *got)
{
	ext2_filsys fs = ei->fs;
	blk64_t where;
	errcode_t err;

	if (extend) {
		err = ext2fs_new_range(fs, EXT2_NEWRANGE_FIXED_GOAL, ei->goal,
				       want, NULL, start, got);
		if (err != EXT2_ET_BLOCK_ALLOC_FAIL)
			return err;
	}
	/*
	 * A piece of a stream written back while more is coming: look for
	 * room for all an extent can hold, not just this piece, so that the
	 * next pieces can extend it in place (mballoc normalises a request to
	 * the file's expected size in the same spirit; the kernel's writeback
	 * knows the whole dirty file, pcwrite's only a piece of it).
	 */
	err = longest_free(fs, ei->goal, background &&
			   want < PCW_MAX_EXTENT_LEN ? PCW_MAX_EXTENT_LEN : want,
			   &where);
	if (err)
		return err;
	return ext2fs_new_range(fs, EXT2_NEWRANGE_FIXED_GOAL, where, want,
				NULL, start, got);
}

/*
 * ext4_mb_new_blocks() for the LEN blocks from logical block LBLK (at most
 * one run, none of them in an allocated cluster: pcw_alloc_run sees to
 * that): the first free range at or after the goal, marked in the bitmaps
 * and the group counts, new clusters whole, the logical and physical
 * offsets in the cluster equal.  Blocks with a reservation (delalloc
 * writeback) have their space already; any other allocation (nodelalloc)
 * must leave the reserved clusters and their slack alone, as
 * ext4_claim_free_clusters() does.  BACKGROUND: a piece of a stream, more
 * to come (find_range).
 */
errcode_t pcw_new_blocks(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			 bool reserved, bool background, struct pcw_alloc *a)
{
	ext2_filsys fs = ei->fs;
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);
	blk64_t off = lblk & EXT2FS_CLUSTER_MASK(fs), want, start, got;
	errcode_t err;

	want = EXT2FS_C2B(fs, EXT2FS_B2C(fs, off + len + ratio - 1));
	if (!reserved) {
		blk64_t room = pcw_room(ei->pfs, EXT2FS_B2C(fs, want));

		if (!room)
			return ENOSPC;
		if (EXT2FS_B2C(fs, want) > room)
			want = EXT2FS_C2B(fs, room);
	}

	if (!ei->goal) {
		/*
		 * The block after the extent before LBLK, or for a file with
		 * no blocks the start of its inode's (flex) group.
		 */
		ei->goal = ext2fs_find_inode_goal(fs, ei->ino,
						 (struct ext2_inode *)ei->inode,
						 lblk);
		ei->goal_extends = ei->extent_end > 0;
	}
	ei->goal &= ~(blk64_t)EXT2FS_CLUSTER_MASK(fs);
	err = find_range(ei, want, ei->goal_extends, background, &start, &got);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		return ENOSPC;
	if (err)
		return err;
	if ((start & EXT2FS_CLUSTER_MASK(fs)) || got <= off)
		return PCW_ET_CORRUPT;	/* cannot happen with a cluster bitmap */
	pcw_block_alloc_stats_range(fs, start, got, +1);
	/* i_blocks is counted in clusters on bigalloc. */
	err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)ei->inode,
				     EXT2FS_B2C(fs, got + ratio - 1));
	if (err) {
		pcw_block_alloc_stats_range(fs, start, got, -1);
		return err;
	}
	a->cstart = start;
	a->clen = got;
	a->clusters = EXT2FS_B2C(fs, got + ratio - 1);
	a->pblk = start + off;
	a->len = got - off < len ? got - off : len;
	ei->goal = start + got;
	ei->goal_extends = true;
	ei->dirty_inode = true;
	return 0;
}

/* Undo pcw_alloc_run: free the clusters it allocated, if any. */
void pcw_free_run(struct pcw_inode_info *ei, const struct pcw_alloc *a)
{
	if (!a->clen)
		return;
	pcw_block_alloc_stats_range(ei->fs, a->cstart, a->clen, -1);
	ext2fs_iblk_sub_blocks(ei->fs, (struct ext2_inode *)ei->inode,
			       a->clusters);
	if (ei->goal == a->cstart + a->clen)
		ei->goal = a->cstart;
}

/*
 * ext4_nonda_switch(): near a full filesystem, stop reserving and allocate
 * at once, so the last blocks go to data rather than to estimates.  The
 * kernel switches when free space is under 150% of the dirty (reserved)
 * blocks or under a per-CPU watermark.
 */
#define PCW_FREE_WATERMARK	256

bool pcw_nonda_switch(const pcw_fs *pfs)
{
	blk64_t free_clusters = pcw_free_clusters(pfs->fs);
	blk64_t dirty = pfs->reserved;

	/*
	 * Not on bigalloc: a block allocated at once could not join the
	 * cluster its delayed siblings will get at writeback.
	 */
	if (EXT2FS_CLUSTER_RATIO(pfs->fs) > 1)
		return false;
	return 2 * free_clusters < 3 * dirty ||
	       free_clusters < dirty + PCW_FREE_WATERMARK;
}

/*
 * Pending blocks (nd_aops.c): allocated for a block-mapped file under
 * nodelalloc, out of its map until writeback has written their data.
 * pcw_pending_add counts N more, pcw_pending_mapped N that entered the
 * map, pcw_pending_free gives back one whose data never got there (the
 * page cache's list of them stays with the mapping: pcw_free_pending).
 */
void pcw_pending_add(struct pcw_inode_info *ei, blk64_t n)
{
	ei->pending += n;
	ei->pfs->pending += n;
}

void pcw_pending_mapped(struct pcw_inode_info *ei, blk64_t n)
{
	ei->pending -= n;
	ei->pfs->pending -= n;
}

void pcw_pending_free(struct pcw_inode_info *ei, blk64_t pblk)
{
	ext2fs_block_alloc_stats2(ei->fs, pblk, -1);
	ext2fs_iblk_sub_blocks(ei->fs, (struct ext2_inode *)ei->inode, 1);
	/* last block first (the caller's order): the goal walks back */
	if (ei->goal == pblk + 1)
		ei->goal = pblk;
	pcw_pending_mapped(ei, 1);
	ei->dirty_inode = true;
}
