/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * validate.c: the system zone, and the check every block pcwrite uses goes
 * through: the kernel's fs/ext4/block_validity.c.
 *
 * The system zone is the blocks no file may own: superblocks and descriptor
 * blocks with their backups and reserved GDT blocks, block and inode
 * bitmaps, inode tables, the journal.  The kernel refuses a mapping, a free
 * or an allocation that lands there (ext4_inode_block_valid,
 * ext4_data_block_valid); so does pcwrite, for every block it allocates
 * (through libext2fs's allocation callbacks, so the blocks libext2fs
 * allocates itself -- extent-tree, indirect, directory, symlink and xattr
 * blocks -- are checked too), every block of an existing file or directory
 * it writes into, and every block it frees.  pcwrite also puts the bad
 * blocks inode's blocks in the zone (the kernel leaves them to the bitmap):
 * e2fsck would find such a block claimed twice.
 *
 * The zone is built at the first block checked, one pass over the
 * descriptors, as the kernel builds it at mount.  What is checked once at
 * open -- each group's bitmaps against its descriptor, the bad blocks list
 * -- is in check.c.
 *
 * What no cheap check can see is damage only a full scan finds: a block two
 * files claim, a file's indirect block inside an inode table, a directory
 * entry naming a free inode.  A run can make that worse, as the kernel
 * would (README, Reliability).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "host.h"

struct zone_range {
	blk64_t start, end;	/* [start, end) */
};

struct pcw_validity {
	struct zone_range *zone;	/* sorted, merged; NULL until built */
	size_t		nzone, cap;
};

static struct pcw_validity *validity_of(ext2_filsys fs)
{
	pcw_fs *pfs = fs ? fs->priv_data : NULL;

	return pfs && pfs->magic == PCW_MAGIC_FS && pfs->fs == fs ?
	       pfs->validity : NULL;
}

/* ---- the system zone ---------------------------------------------------- */

static errcode_t zone_add(struct pcw_validity *v, blk64_t start, blk64_t len)
{
	if (!len)
		return 0;
	/* Adjacent to the last one (flex_bg packs a group's metadata). */
	if (v->nzone && v->zone[v->nzone - 1].end == start) {
		v->zone[v->nzone - 1].end += len;
		return 0;
	}
	if (pcw_grow(&v->zone, &v->cap, v->nzone + 1, sizeof(*v->zone), 256))
		return ENOMEM;
	v->zone[v->nzone].start = start;
	v->zone[v->nzone].end = start + len;
	v->nzone++;
	return 0;
}

/* The superblock and descriptor blocks of group G, as libext2fs places them. */
static errcode_t zone_add_super(ext2_filsys fs, struct pcw_validity *v,
				dgrp_t g)
{
	blk64_t super, old_desc, new_desc, n, total = ext2fs_blocks_count(fs->super);
	blk_t used;
	errcode_t err;

	ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
	err = (super || g == 0) ? zone_add(v, super, 1) : 0;
	if (!err && old_desc) {
		n = ext2fs_has_feature_meta_bg(fs->super) ?
		    fs->super->s_first_meta_bg :
		    fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
		if (old_desc + n > total)
			n = total - old_desc;
		err = zone_add(v, old_desc, n);
	}
	if (!err && new_desc)
		err = zone_add(v, new_desc, 1);
	return err;
}

static int zone_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t bcnt,
		      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct pcw_validity *v = priv;

	(void)bcnt; (void)ref_blk; (void)ref_offset;
	/* Outside the filesystem: nothing can be allocated there anyway. */
	if (*blocknr < fs->super->s_first_data_block ||
	    *blocknr >= ext2fs_blocks_count(fs->super))
		return 0;
	return zone_add(v, *blocknr, 1) ? BLOCK_ABORT : 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct zone_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The kernel's ext4_setup_system_zone: every group's metadata and the
 * journal's blocks, plus (pcwrite) the bad blocks inode's blocks, sorted
 * and merged.
 */
static errcode_t setup_system_zone(ext2_filsys fs, struct pcw_validity *v)
{
	ext2_ino_t journal = fs->super->s_journal_inum;
	size_t i, n;
	dgrp_t g;
	errcode_t err = 0;

	for (g = 0; g < fs->group_desc_count && !err; g++) {
		err = zone_add_super(fs, v, g);
		if (!err)
			err = zone_add(v, ext2fs_block_bitmap_loc(fs, g), 1);
		if (!err)
			err = zone_add(v, ext2fs_inode_bitmap_loc(fs, g), 1);
		if (!err)
			err = zone_add(v, ext2fs_inode_table_loc(fs, g),
				       fs->inode_blocks_per_group);
	}
	if (!err && ext2fs_has_feature_journal(fs->super) && journal)
		err = ext2fs_block_iterate3(fs, journal, BLOCK_FLAG_READ_ONLY,
					    NULL, zone_block, v);
	/* The bad blocks and the indirect blocks listing them. */
	if (!err)
		err = ext2fs_block_iterate3(fs, EXT2_BAD_INO,
					    BLOCK_FLAG_READ_ONLY, NULL,
					    zone_block, v);
	if (err)
		return err;
	qsort(v->zone, v->nzone, sizeof(*v->zone), range_cmp);
	for (i = 1, n = v->nzone ? 1 : 0; i < v->nzone; i++) {
		if (v->zone[i].start <= v->zone[n - 1].end) {
			if (v->zone[i].end > v->zone[n - 1].end)
				v->zone[n - 1].end = v->zone[i].end;
		} else {
			v->zone[n++] = v->zone[i];
		}
	}
	v->nzone = n;
	/* A filesystem with no metadata at all is not one: never empty. */
	return n ? 0 : PCW_ET_CORRUPT;
}

/* Does [start, start+len) meet the zone? */
static bool in_zone(const struct pcw_validity *v, blk64_t start, blk64_t len)
{
	size_t lo = 0, hi = v->nzone;

	/* The first range that ends after START. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->zone[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->nzone && v->zone[lo].start < start + len;
}

errcode_t pcw_inode_block_valid(ext2_filsys fs, blk64_t start, blk64_t len)
{
	struct pcw_validity *v = validity_of(fs);
	errcode_t err;

	if (!len)
		return 0;
	if (start < fs->super->s_first_data_block ||
	    start + len < start || start + len > ext2fs_blocks_count(fs->super))
		return PCW_ET_CORRUPT;
	if (!v)
		return 0;
	if (!v->zone) {
		err = setup_system_zone(fs, v);
		if (err) {
			free(v->zone);
			v->zone = NULL;
			v->nzone = v->cap = 0;
			return err;
		}
	}
	return in_zone(v, start, len) ? PCW_ET_CORRUPT : 0;
}

/*
 * What the kernel's ext4_iget checks of an inode it is about to use: its
 * xattr block, and the root of its block map -- the entries of an extent
 * root (ext4_ext_check_inode) or a block-mapped file's fifteen pointers,
 * indirect blocks included (ext4_ind_check_inode) -- lie inside the
 * filesystem and outside the system zone.  The levels below are checked as
 * they are reached: data blocks by pcw_map_lookup, every block a truncate
 * frees by truncate.c, directory blocks when the directory is loaded.
 */
errcode_t pcw_iget_check(ext2_filsys fs, const struct ext2_inode_large *inode)
{
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	const struct ext3_extent_header *eh = (const void *)inode->i_block;
	blk64_t acl = ext2fs_file_acl_block(fs, raw);
	unsigned i, n, depth;

	if (acl && pcw_inode_block_valid(fs, acl, 1))
		return PCW_ET_CORRUPT;
	if ((inode->i_flags & EXT4_INLINE_DATA_FL) ||
	    !ext2fs_inode_has_valid_blocks2(fs, raw))
		return 0;
	if (!(inode->i_flags & EXT4_EXTENTS_FL)) {
		for (i = 0; i < EXT2_N_BLOCKS; i++)
			if (inode->i_block[i] &&
			    pcw_inode_block_valid(fs, inode->i_block[i], 1))
				return PCW_ET_CORRUPT;
		return 0;
	}
	/* A header libext2fs cannot read is refused where it is read. */
	if (ext2fs_le16_to_cpu(eh->eh_magic) != EXT3_EXT_MAGIC)
		return 0;
	n = ext2fs_le16_to_cpu(eh->eh_entries);
	depth = ext2fs_le16_to_cpu(eh->eh_depth);
	if (n > 4)
		return PCW_ET_CORRUPT;
	for (i = 0; i < n; i++) {
		blk64_t start, len = 1;

		if (depth) {
			const struct ext3_extent_idx *ix = EXT_FIRST_INDEX(eh) + i;

			start = ext2fs_le32_to_cpu(ix->ei_leaf) |
				(blk64_t)ext2fs_le16_to_cpu(ix->ei_leaf_hi) << 32;
		} else {
			const struct ext3_extent *ex = EXT_FIRST_EXTENT(eh) + i;

			start = ext2fs_le32_to_cpu(ex->ee_start) |
				(blk64_t)ext2fs_le16_to_cpu(ex->ee_start_hi) << 32;
			len = ext2fs_le16_to_cpu(ex->ee_len);
			/* an unwritten extent's length has its top bit set */
			if (len > EXT_INIT_MAX_LEN)
				len -= EXT_INIT_MAX_LEN;
		}
		if (len && pcw_inode_block_valid(fs, start, len))
			return PCW_ET_CORRUPT;
	}
	return 0;
}

/* ---- libext2fs's allocations -------------------------------------------- */

/*
 * Every block libext2fs allocates for pcwrite comes through these two: a
 * NULL map in ext2fs_new_block2/ext2fs_alloc_block (extent-tree, indirect,
 * directory, symlink and xattr blocks) and ext2fs_new_range (file data).
 * They allocate as libext2fs would, from the filesystem's bitmap, and
 * check the result.
 */
static errcode_t get_alloc_block(ext2_filsys fs, blk64_t goal, blk64_t *ret)
{
	errcode_t err;

	err = ext2fs_new_block2(fs, goal, fs->block_map, ret);
	if (!err)
		err = pcw_inode_block_valid(fs, *ret & ~(blk64_t)
					    EXT2FS_CLUSTER_MASK(fs),
					    EXT2FS_CLUSTER_RATIO(fs));
	return err;
}

static errcode_t new_range(ext2_filsys fs, int flags, blk64_t goal,
			   blk64_t len, blk64_t *pblk, blk64_t *plen)
{
	errcode_t err;

	err = ext2fs_new_range(fs, flags, goal, len, fs->block_map, pblk,
			       plen);
	if (!err)
		err = pcw_inode_block_valid(fs, *pblk, *plen);
	return err;
}

errcode_t pcw_validity_attach(pcw_fs *pfs)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_validity *v = pfs->validity;

	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return ENOMEM;
		pfs->validity = v;
	}
	/* The filesystem handle may be new (--undo reopens the image). */
	fs->priv_data = pfs;
	ext2fs_set_alloc_block_callback(fs, get_alloc_block, NULL);
	ext2fs_set_new_range_callback(fs, new_range, NULL);
	return 0;
}

void pcw_validity_free(pcw_fs *pfs)
{
	struct pcw_validity *v = pfs->validity;

	if (!v)
		return;
	free(v->zone);
	free(v);
	pfs->validity = NULL;
}
