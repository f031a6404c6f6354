/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inode.c: inodes, without directory logic: allocated (near the parent,
 * as ext4's find_group_orlov would), written new and taken back, released
 * at their last link (ext4_evict_inode), their owner, device numbers and
 * empty extent tree; the set of symlinks this run made.  Names, and the
 * order of name and inode on disk, are namei.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "quota.h"

/*
 * Make INODE an empty extent file: ext2fs_extent_open2 gives an all-zero
 * i_block an extent header and sets EXTENTS_FL.
 */
errcode_t pcw_init_extent_tree(ext2_filsys fs, ext2_ino_t ino,
			       struct ext2_inode_large *inode)
{
	ext2_extent_handle_t h;
	errcode_t err;

	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_EXTENTS_FL;
	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (!err)
		ext2fs_extent_free(h);
	return err;
}

void pcw_inode_set_owner(struct ext2_inode_large *inode, uint32_t uid,
			 uint32_t gid)
{
	inode->i_uid = uid & 0xffff;
	ext2fs_set_i_uid_high(*inode, uid >> 16);
	inode->i_gid = gid & 0xffff;
	ext2fs_set_i_gid_high(*inode, gid >> 16);
}

/* ---- a new inode ---------------------------------------------------------------- */

/*
 * Pick a free inode near PARENT and set up INODE for it in memory: MODE
 * (type and permission bits), one link, every time now.  Nothing is marked
 * or written yet (pcw_inode_commit_new does).
 */
errcode_t pcw_inode_alloc(pcw_fs *pfs, ext2_ino_t parent, unsigned mode,
			  struct ext2_inode_large *inode, ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino;
	errcode_t err;

	if (fs->super->s_free_inodes_count == 0)
		return PCW_ET_NO_INODES;
	err = ext2fs_new_inode(fs, parent, mode, NULL, &ino);
	if (err == EXT2_ET_INODE_ALLOC_FAIL)
		return PCW_ET_NO_INODES;
	if (err)
		return err;
	/*
	 * A damaged inode bitmap can offer a live inode: never overwrite one
	 * (an unreadable one, a bad checksum on a never-used slot, is free).
	 */
	if (!ext2fs_read_inode(fs, ino, (struct ext2_inode *)inode) &&
	    inode->i_links_count && !inode->i_dtime)
		return PCW_ET_CORRUPT;

	memset(inode, 0, pcw_inode_buf_size(fs));
	inode->i_mode = mode;
	inode->i_links_count = 1;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_extra_isize = sizeof(struct ext2_inode_large) -
				       EXT2_GOOD_OLD_INODE_SIZE;
	pcw_inode_set_now(pfs, inode, PCW_TIME_ALL);
	err = pcw_inode_init_projid(pfs, parent, inode);
	if (err)
		return err;
	*ret = ino;
	return 0;
}

/*
 * Write a new inode whole (the attribute space after the fixed part
 * zeroed: a deleted inode's attributes must not come back) and mark it in
 * use.
 */
errcode_t pcw_inode_commit_new(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	errcode_t err;

	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				      EXT2_INODE_SIZE(fs->super));
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(fs, ino, +1, LINUX_S_ISDIR(inode->i_mode));
	return 0;
}

/* Undo pcw_inode_commit_new: a deleted inode again, not an orphan. */
void pcw_inode_uncommit(pcw_fs *pfs, ext2_ino_t ino,
			   struct ext2_inode_large *inode)
{
	inode->i_links_count = 0;
	inode->i_dtime = (uint32_t)pfs->now;
	if (ext2fs_write_inode_full(pfs->fs, ino, (struct ext2_inode *)inode,
				    sizeof(struct ext2_inode_large)))
		pfs->meta_error = true;
	ext2fs_inode_alloc_stats2(pfs->fs, ino, -1,
				  LINUX_S_ISDIR(inode->i_mode));
}

/* A symlink: the target in the inode when it fits (a fast symlink), else
   in one block. */
/*
 * A device's numbers in i_block, as the kernel stores them: the old 16-bit
 * form in i_block[0] when both fit a byte, else the new 32-bit form in
 * i_block[1] (ext4_encode_dev / new_encode_dev).
 */
void pcw_inode_set_rdev(struct ext2_inode_large *inode, uint32_t major,
			uint32_t minor)
{
	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_EXTENTS_FL;
	if (major < 256 && minor < 256)
		inode->i_block[0] = ext2fs_cpu_to_le32((major << 8) | minor);
	else
		inode->i_block[1] = ext2fs_cpu_to_le32((minor & 0xff) |
						       (major << 8) |
						       ((minor & ~0xffU) << 12));
}

/* ---- the last link ---------------------------------------------------------------- */

/* Does INODE own blocks (not a fast symlink's or a device's i_block)? */
static bool has_blocks(const struct ext2_inode_large *inode)
{
	unsigned type = inode->i_mode & LINUX_S_IFMT;

	return (type == LINUX_S_IFREG || type == LINUX_S_IFDIR ||
		(type == LINUX_S_IFLNK &&
		 !ext2fs_is_fast_symlink((struct ext2_inode *)inode))) &&
	       !(inode->i_flags & EXT4_INLINE_DATA_FL);
}

/*
 * The last link of INO is gone (ext4_evict_inode): free its blocks (not a
 * fast symlink's or a device's: their i_block holds no block numbers), its
 * references to EA inodes, its attribute block, and the inode.  The caller
 * forgets a directory's cached copy (pcw_dir_forget).  With the journal, a
 * file whose freeing does not fit the running transaction is left on the
 * orphan list instead and freed after its commit (release_later).
 */
/*
 * Too large for the running transaction (truncate.c): i_nlink 0 and on the
 * orphan list in this one, as ext4_unlink leaves an inode whose last link
 * went (ext4_orphan_add), freed after its commit in transactions of its
 * own, as ext4_evict_inode frees it (pcw_inode_evict).  A crash between
 * leaves an orphan that replay (e2fsck, ext4_orphan_cleanup) frees.
 */
static errcode_t release_later(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	errcode_t err;

	err = pcw_grow(&pfs->evict, &pfs->capevict, pfs->nevict + 1,
		       sizeof(*pfs->evict), 8);
	if (err)
		return err;
	inode->i_links_count = 0;
	pcw_orphan_add(fs, ino, inode);
	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	pfs->evict[pfs->nevict++] = ino;
	pfs->evict_hook = pcw_inode_evict;
	return 0;
}

/* What the last link's release frees once the blocks are gone. */
static errcode_t release_rest(pcw_fs *pfs, ext2_ino_t ino,
			      struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	errcode_t err;

	/* Values in EA inodes first: the block names some of them. */
	err = pcw_ea_release(pfs, ino);
	if (!err && ext2fs_file_acl_block(fs, (struct ext2_inode *)inode))
		err = ext2fs_free_ext_attr(fs, ino, inode);
	return err;
}

errcode_t pcw_inode_evict(pcw_fs *pfs)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode;
	errcode_t err = 0;

	while (!err && pfs->nevict) {
		ext2_ino_t ino = pfs->evict[pfs->nevict - 1];

		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
					     sizeof(inode));
		if (!err)
			err = pcw_truncate_orphan(pfs, ino, &inode);
		if (!err)
			err = release_rest(pfs, ino, &inode);
		if (!err)
			err = pcw_orphan_del(fs, ino, &inode);
		if (!err) {
			inode.i_dtime = (uint32_t)pfs->now;
			err = ext2fs_write_inode_full(fs, ino,
						      (struct ext2_inode *)&inode,
						      sizeof(inode));
		}
		if (!err) {
			ext2fs_inode_alloc_stats2(fs, ino, -1,
				LINUX_S_ISDIR(inode.i_mode));
			pfs->nevict--;
			/* An empty transaction for whatever comes next. */
			err = pcw_fs_commit(pfs);
		}
	}
	if (err)
		pfs->meta_error = true;
	return err;
}

errcode_t pcw_inode_release(pcw_fs *pfs, ext2_ino_t ino,
			    struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	unsigned type = inode->i_mode & LINUX_S_IFMT;
	errcode_t err = 0;
	bool fits = true;

	if (has_blocks(inode) && pfs->journaled)
		err = pcw_truncate_fits(fs, ino, inode, &fits);
	if (!err && !fits)
		return release_later(pfs, ino, inode);
	if (!err && has_blocks(inode))
		err = pcw_truncate_blocks(fs, ino, inode);
	if (!err)
		err = release_rest(pfs, ino, inode);
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	inode->i_links_count = 0;
	inode->i_dtime = (uint32_t)pfs->now;
	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	ext2fs_inode_alloc_stats2(fs, ino, -1, type == LINUX_S_IFDIR);
	return 0;
}

/*
 * What pcw_inode_release checks, checked before the last name goes: its
 * block map below the root, its i_blocks, its values' EA inodes.  The
 * kernel drops the name and frees at eviction, where damage is logged and
 * left; pcwrite would stop half-way, the inode left with no name (e2fsck:
 * "Unattached inode").
 */
errcode_t pcw_inode_release_check(pcw_fs *pfs, ext2_ino_t ino,
				  struct ext2_inode_large *inode)
{
	blk64_t ea;

	return has_blocks(inode) ? pcw_truncate_check(pfs->fs, ino, inode) :
				   pcw_ea_charge(pfs->fs, ino, &ea);
}

/* ---- the symlinks this run made ---------------------------------------------------- */

/*
 * A symlink an archive made is never followed by a later entry of the same
 * run (the classic "link -> /etc, then link/passwd" attack): the run keeps
 * the inode numbers of the symlinks it made.
 */
void pcw_note_symlink(pcw_fs *pfs, ext2_ino_t ino)
{
	uint32_t *set = pfs->made_links, k;

	if ((pfs->nmade + 1) * 2 > pfs->made_mask) {
		uint32_t mask = pfs->made_mask ? pfs->made_mask * 2 + 1 : 255, i;
		uint32_t *ns = calloc((size_t)mask + 1, sizeof(*ns));

		if (!ns) {
			/* Refuse every later symlink rather than forget one. */
			pfs->made_overflow = true;
			return;
		}
		for (i = 0; set && i <= pfs->made_mask; i++) {
			if (!set[i])
				continue;
			for (k = (set[i] * 2654435761U) & mask; ns[k];
			     k = (k + 1) & mask)
				;
			ns[k] = set[i];
		}
		free(set);
		pfs->made_links = set = ns;
		pfs->made_mask = mask;
	}
	for (k = (ino * 2654435761U) & pfs->made_mask; set[k];
	     k = (k + 1) & pfs->made_mask)
		if (set[k] == ino)
			return;
	set[k] = ino;
	pfs->nmade++;
}

bool pcw_made_symlink(const pcw_fs *pfs, ext2_ino_t ino)
{
	uint32_t k;

	if (pfs->made_overflow)
		return true;
	if (!pfs->made_links)
		return false;
	for (k = (ino * 2654435761U) & pfs->made_mask; pfs->made_links[k];
	     k = (k + 1) & pfs->made_mask)
		if (pfs->made_links[k] == ino)
			return true;
	return false;
}
