/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extents.c: logical to physical block mapping (ext4_map_blocks' two halves):
 * lookup for write_begin, insert for writeback.
 *
 * Extent files are mapped one run at a time: a run becomes one extent, or
 * extends the extent it continues (ext2fs_extent_replace), never block by
 * block (ext2fs_extent_set_bmap is slow and can corrupt deep trees in
 * 1.47.0).  Block-mapped files (ext2, ext3) have no range API; ext2fs_bmap2
 * with BMAP_SET is cheap there and builds the indirect blocks.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "extents.h"

static bool is_extent_file(const struct pcw_inode_info *ei)
{
	return ei->handle != NULL;
}

/*
 * An empty tree needs care: EXT2_EXTENT_LAST_LEAF on it leaves the handle's
 * current entry pointing at the header itself, and an insert there would
 * overwrite the header.
 */
static bool handle_is_empty(ext2_extent_handle_t h)
{
	struct ext2_extent_info info;

	return !ext2fs_extent_get_info(h, &info) &&
	       info.max_depth == 0 && info.num_entries == 0;
}

static bool tree_is_empty(struct pcw_inode_info *ei)
{
	return handle_is_empty(ei->handle);
}

static void cache_map(struct pcw_inode_info *ei, const struct pcw_map *map)
{
	ei->cached = *map;
	ei->cached_valid = true;
}

errcode_t pcw_map_lookup(struct pcw_inode_info *ei, blk64_t lblk,
			 struct pcw_map *map)
{
	struct ext2fs_extent e;
	errcode_t err;

	if (ei->cached_valid && lblk >= ei->cached.lblk &&
	    lblk - ei->cached.lblk < ei->cached.len) {
		*map = ei->cached;
		return 0;
	}
	memset(map, 0, sizeof(*map));
	map->lblk = lblk;
	map->len = 1;

	if (!is_extent_file(ei)) {
		blk64_t pblk = 0;

		err = ext2fs_bmap2(ei->fs, ei->ino, (struct ext2_inode *)ei->inode,
				   NULL, 0, lblk, NULL, &pblk);
		if (!err && pblk)
			err = pcw_inode_block_valid(ei->fs, pblk, 1);
		if (err)
			return err;
		map->pblk = pblk;
		return 0;
	}

	if (lblk >= ei->extent_end) {
		/*
		 * Past the last extent (a stream, an append) the hole runs to
		 * the end of the file's range: remember that.
		 */
		map->len = (1ULL << 32) - lblk;
		cache_map(ei, map);
		return 0;
	}
	err = ext2fs_extent_goto2(ei->handle, 0, lblk);
	if (err == EXT2_ET_EXTENT_NOT_FOUND)
		return 0;	/* a hole before the last extent */
	if (err)
		return err;
	err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_CURRENT, &e);
	if (err)
		return err;
	/*
	 * A block written into or read from must be the file's, as the
	 * kernel's check_block_validity has it: not metadata.
	 */
	err = pcw_inode_block_valid(ei->fs, e.e_pblk, e.e_len);
	if (err)
		return err;
	map->lblk = e.e_lblk;
	map->pblk = e.e_pblk;
	map->len = e.e_len;
	map->unwritten = !!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT);
	cache_map(ei, map);
	return 0;
}

/* Longest extent of a kind: unwritten extents have one bit less. */
static blk64_t max_len(bool unwritten)
{
	return unwritten ? PCW_MAX_EXTENT_LEN - 1 : PCW_MAX_EXTENT_LEN;
}

/* Can E take LEN more blocks of the same kind? */
static bool same_kind(const struct ext2fs_extent *e, bool unwritten,
		      blk64_t len)
{
	bool uninit = e->e_flags & EXT2_EXTENT_FLAGS_UNINIT;

	return uninit == unwritten && e->e_len + len <= max_len(unwritten);
}

/*
 * Map the unmapped range [lblk, lblk+len) of the tree H to [pblk, pblk+len):
 * extend the extent it continues (before or after), or insert a new one.
 * Used for file data and for directory blocks alike.
 */
errcode_t pcw_extent_insert(ext2_extent_handle_t h, blk64_t lblk,
			    blk64_t pblk, blk64_t len, bool unwritten)
{
	struct ext2fs_extent e, ne;
	errcode_t err;

	ne.e_lblk = lblk;
	ne.e_pblk = pblk;
	ne.e_len = len;
	ne.e_flags = unwritten ? EXT2_EXTENT_FLAGS_UNINIT : 0;

	if (handle_is_empty(h)) {
		/* EXT2_EXTENT_ROOT resets the current entry (and fails). */
		ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
		return ext2fs_extent_insert(h, 0, &ne);
	}

	err = ext2fs_extent_goto2(h, 0, lblk);
	if (err == 0)
		return PCW_ET_CORRUPT;	/* already mapped */
	if (err != EXT2_ET_EXTENT_NOT_FOUND)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e);
	if (err)
		return err;

	if (e.e_lblk < lblk) {
		/* e ends before the run: extend it, or insert after it. */
		if (same_kind(&e, unwritten, len) &&
		    e.e_lblk + e.e_len == lblk && e.e_pblk + e.e_len == pblk) {
			e.e_len += len;
			err = ext2fs_extent_replace(h, 0, &e);
		} else {
			err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER,
						   &ne);
		}
	} else {
		/* The run comes before the first extent of this leaf. */
		if (same_kind(&e, unwritten, len) &&
		    lblk + len == e.e_lblk && pblk + len == e.e_pblk) {
			e.e_lblk = lblk;
			e.e_pblk = pblk;
			e.e_len += len;
			err = ext2fs_extent_replace(h, 0, &e);
		} else {
			err = ext2fs_extent_insert(h, 0, &ne);
		}
	}
	if (err)
		return err;
	return ext2fs_extent_fix_parents(h);
}

static errcode_t insert_extent(struct pcw_inode_info *ei, blk64_t lblk,
			       blk64_t pblk, blk64_t len, bool unwritten)
{
	if (lblk + len > ei->extent_end)
		ei->extent_end = lblk + len;
	return pcw_extent_insert(ei->handle, lblk, pblk, len, unwritten);
}

/*
 * Data was written into [lblk, lblk+len) of unwritten extents: make that
 * range initialized (ext4_convert_unwritten_extents).  Each unwritten extent
 * is carved around the range, leaving its head and tail unwritten, and the
 * range is mapped again as initialized, merging with an initialized extent
 * before it when the two are adjacent.
 */
static errcode_t convert_unwritten(struct pcw_inode_info *ei, blk64_t lblk,
				   blk64_t len)
{
	struct ext2fs_extent e, head, tail;
	blk64_t n, pblk;
	errcode_t err;

	while (len) {
		err = ext2fs_extent_goto2(ei->handle, 0, lblk);
		if (err)
			return err;
		err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_CURRENT, &e);
		if (err)
			return err;
		n = e.e_lblk + e.e_len - lblk;
		if (n > len)
			n = len;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			lblk += n;
			len -= n;
			continue;
		}
		pblk = e.e_pblk + (lblk - e.e_lblk);
		head = e;
		head.e_len = lblk - e.e_lblk;
		tail = e;
		tail.e_lblk = lblk + n;
		tail.e_pblk = pblk + n;
		tail.e_len = e.e_lblk + e.e_len - tail.e_lblk;

		if (head.e_len && tail.e_len) {
			err = ext2fs_extent_replace(ei->handle, 0, &head);
			if (!err)
				err = ext2fs_extent_insert(ei->handle,
						EXT2_EXTENT_INSERT_AFTER, &tail);
		} else if (head.e_len) {
			err = ext2fs_extent_replace(ei->handle, 0, &head);
		} else if (tail.e_len) {
			err = ext2fs_extent_replace(ei->handle, 0, &tail);
		} else {
			err = ext2fs_extent_delete(ei->handle, 0);
		}
		/* Deleting the only extent leaves no current entry to fix. */
		if (!err && !tree_is_empty(ei))
			err = ext2fs_extent_fix_parents(ei->handle);
		if (!err)
			err = insert_extent(ei, lblk, pblk, n, false);
		if (err)
			return err;
		lblk += n;
		len -= n;
	}
	return 0;
}

/* Data landed in unwritten blocks [lblk, lblk+len): they read as data now. */
errcode_t pcw_map_convert(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len)
{
	errcode_t err;

	ei->cached_valid = false;
	ei->dirty_inode = true;
	if (!is_extent_file(ei))
		return 0;
	err = convert_unwritten(ei, lblk, len);
	if (err)
		ei->pfs->meta_error = true;	/* the tree may be half-changed */
	return err;
}

/*
 * ext4_meta_trans_blocks(): the most blocks of metadata one mapping of LEN
 * blocks can dirty (the groups' bitmaps and descriptors and the superblock
 * are a commit's own, io.c's dirty_limit).  An extent: each level of the
 * tree can split (the old block and a new one), the root can grow a level,
 * and the inode; converting unwritten blocks maps up to three pieces.
 * Block-mapped: the indirect blocks over LEN blocks, each end's partial
 * ones, and the inode.  Then room for the quota files a commit writes.
 */
blk64_t pcw_map_credits(struct pcw_inode_info *ei, blk64_t len)
{
	struct ext2_extent_info info;
	blk64_t apb = ei->fs->blocksize / 4, n;

	if (is_extent_file(ei)) {
		unsigned depth = 0;

		if (!ext2fs_extent_get_info(ei->handle, &info))
			depth = info.max_depth;
		n = 3 * (2 * (blk64_t)depth + 3);
	} else {
		n = len / apb + len / (apb * apb) + 7;
	}
	return n + PCW_QUOTA_COMMIT_CREDITS;
}

/*
 * Map the unmapped range [lblk, lblk+len) to [pblk, pblk+len).  UNWRITTEN:
 * as an unwritten extent (reads as zeroes until the data is written and
 * the range converted); ignored for block-mapped files.
 */
errcode_t pcw_map_insert(struct pcw_inode_info *ei, blk64_t lblk, blk64_t pblk,
			 blk64_t len, bool unwritten)
{
	errcode_t err = 0;
	blk64_t k;

	ei->cached_valid = false;
	ei->dirty_inode = true;
	if (!is_extent_file(ei)) {
		/* BMAP_ALLOC: indirect blocks are allocated as needed. */
		for (k = 0; k < len; k++) {
			blk64_t p = pblk + k;

			err = ext2fs_bmap2(ei->fs, ei->ino,
					   (struct ext2_inode *)ei->inode, NULL,
					   BMAP_SET | BMAP_ALLOC, lblk + k,
					   NULL, &p);
			if (err)
				break;
		}
		if (err) {
			ei->pfs->meta_error = true;
			/* Unmap what was mapped: the caller frees the run. */
			while (k-- > 0) {
				blk64_t zero = 0;

				ext2fs_bmap2(ei->fs, ei->ino,
					     (struct ext2_inode *)ei->inode,
					     NULL, BMAP_SET, lblk + k, NULL,
					     &zero);
			}
		}
		return err;
	}
	err = insert_extent(ei, lblk, pblk, len, unwritten);
	if (err)
		ei->pfs->meta_error = true;	/* a split may have failed part-way */
	return err;
}

static int count_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		       blk64_t ref_blk, int ref_offset, void *priv)
{
	uint64_t *st = priv;	/* [0]: runs, [1]: next expected pblk */

	if (blockcnt < 0)
		return 0;
	if (*blocknr != st[1])
		st[0]++;
	st[1] = *blocknr + 1;
	return 0;
}

/*
 * Where the extent tree ends: one walk over the leaves when the file is
 * opened.  (EXT2_EXTENT_LAST_LEAF is not used: on a deeper tree it can
 * stop in the current leaf.)
 */
errcode_t pcw_extent_end(struct pcw_inode_info *ei, blk64_t *end)
{
	struct ext2fs_extent e;
	errcode_t err;

	*end = 0;
	if (!is_extent_file(ei))
		return 0;
	err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_ROOT, &e);
	while (!err) {
		if ((e.e_flags & EXT2_EXTENT_FLAGS_LEAF) &&
		    e.e_lblk + e.e_len > *end)
			*end = e.e_lblk + e.e_len;
		err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_NEXT_LEAF, &e);
	}
	return (err == EXT2_ET_EXTENT_NO_NEXT) ? 0 : err;
}

/* Extents of the file (for a block-mapped file: physically contiguous runs). */
errcode_t pcw_count_extents(struct pcw_inode_info *ei, uint64_t *count)
{
	struct ext2fs_extent e;
	errcode_t err;

	*count = 0;
	if (!is_extent_file(ei)) {
		uint64_t st[2] = { 0, 0 };

		if (ei->inode->i_flags & EXT4_INLINE_DATA_FL)
			return 0;
		err = ext2fs_block_iterate3(ei->fs, ei->ino, BLOCK_FLAG_READ_ONLY,
					    NULL, count_block, st);
		*count = st[0];
		return err;
	}
	err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_ROOT, &e);
	while (!err) {
		if (e.e_flags & EXT2_EXTENT_FLAGS_LEAF)
			(*count)++;
		err = ext2fs_extent_get(ei->handle, EXT2_EXTENT_NEXT, &e);
	}
	return (err == EXT2_ET_EXTENT_NO_NEXT) ? 0 : err;
}

/*
 * The physical cluster already backing logical cluster LC (bigalloc: one
 * block of the cluster is mapped), or 0.  Blocks of a logical cluster all
 * live in one physical cluster, at the same offset.
 */
blk64_t pcw_cluster_pblk(struct pcw_inode_info *ei, blk64_t lc)
{
	unsigned ratio = EXT2FS_CLUSTER_RATIO(ei->fs), k;
	blk64_t first = lc * ratio;

	for (k = 0; k < ratio; k++) {
		struct pcw_map map;

		if (pcw_map_lookup(ei, first + k, &map) || !map.pblk)
			continue;
		return map.pblk + (first + k - map.lblk) - k;
	}
	return 0;
}

/*
 * Allocate for the LEN blocks from logical block LBLK, as many as one range
 * gives (pcw_new_blocks).  On bigalloc a logical cluster that already has a
 * physical cluster takes its blocks from it, as ext4_ext_map_blocks() asks
 * get_implied_cluster_alloc() before the allocator.  BACKGROUND: a piece of
 * a stream written back while more is coming.
 */
errcode_t pcw_alloc_run(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			bool reserved, bool background, struct pcw_alloc *a)
{
	ext2_filsys fs = ei->fs;
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);
	blk64_t off = lblk & EXT2FS_CLUSTER_MASK(fs);

	memset(a, 0, sizeof(*a));
	if (len > pcw_max_run(fs) - off)
		len = pcw_max_run(fs) - off;
	if (ratio > 1) {
		blk64_t lc = EXT2FS_B2C(fs, lblk);
		blk64_t lc_end = EXT2FS_B2C(fs, lblk + len - 1);
		blk64_t pc = pcw_cluster_pblk(ei, lc);

		if (pc) {
			a->pblk = pc + off;
			a->len = ratio - off < len ? ratio - off : len;
			return 0;
		}
		/*
		 * New clusters only up to the next logical cluster that has
		 * a physical one already (written earlier, at an offset).
		 */
		for (lc++; lc <= lc_end; lc++)
			if (pcw_cluster_pblk(ei, lc)) {
				len = EXT2FS_C2B(fs, lc) - lblk;
				break;
			}
	}
	return pcw_new_blocks(ei, lblk, len, reserved, background, a);
}
