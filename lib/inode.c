/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inode.c: making inodes of every kind, linking and unlinking them.
 *
 * Each operation checks the room it needs (an inode, the blocks) before its
 * first change, and undoes what it did when a later step fails: a failed
 * mkdir leaves no inode, no block and no name behind (the kernel gets the
 * same from its journal).  The order on disk is the kernel's: the new
 * inode is written before the name that points to it, and a name is removed
 * before the inode it pointed to is freed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
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

	memset(inode, 0, isize > sizeof(*inode) ? isize : sizeof(*inode));
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
static void inode_uncommit(pcw_fs *pfs, ext2_ino_t ino,
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

static int ftype_of(unsigned mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:	return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR:	return EXT2_FT_DIR;
	case LINUX_S_IFCHR:	return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK:	return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO:	return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK:	return EXT2_FT_SOCK;
	case LINUX_S_IFLNK:	return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

/*
 * The last step of every create: the name.  On failure the new inode (and
 * its blocks, for a directory) goes again.
 */
static errcode_t link_new(pcw_fs *pfs, struct pcw_dir *parent,
			  const char *name, ext2_ino_t ino,
			  struct ext2_inode_large *inode)
{
	errcode_t err = pcw_dir_add(pfs, parent, name, strlen(name), ino,
				    ftype_of(inode->i_mode));

	if (err)
		inode_uncommit(pfs, ino, inode);
	return err;
}

/*
 * Room for a new inode, BLOCKS of its own and its name in PARENT, checked
 * before anything is written: a refused create leaves the image as it was.
 */
static errcode_t check_room(pcw_fs *pfs, struct pcw_dir *parent,
			    const char *name, blk64_t blocks)
{
	errcode_t err = pcw_may_create(pfs, parent);

	if (err)
		return err;
	if (pfs->fs->super->s_free_inodes_count == 0)
		return PCW_ET_NO_INODES;
	return pcw_dir_can_add(pfs, parent, name, strlen(name), blocks);
}

/* Could NAME (with EXTRA blocks of its own) be made in directory PARENT? */
errcode_t pcw_check_create(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			   blk64_t extra)
{
	struct pcw_dir *d;
	errcode_t err = pcw_dir_open(pfs, parent, &d);

	if (!err)
		err = check_room(pfs, d, name, extra);
	return err;
}

/*
 * A new inode of MODE named NAME in PARENT, written and linked.  INODE
 * comes back as written; FILL, when given, sets it up further (owner,
 * times, device numbers, a fast symlink's target) before it is written.
 */
errcode_t pcw_create(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     unsigned mode, void (*fill)(struct ext2_inode_large *,
						 void *), void *arg,
		     struct ext2_inode_large *inode, ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	ext2_ino_t ino;
	errcode_t err;

	err = check_room(pfs, parent, name, 0);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent), mode, inode,
				      &ino);
	if (err)
		return err;
	if (LINUX_S_ISREG(mode) && ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, ino, inode);
		if (err)
			return err;
	}
	if (fill)
		fill(inode, arg);
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (!err)
		err = link_new(pfs, parent, name, ino, inode);
	if (err)
		return err;
	*ret = ino;
	return 0;
}

/*
 * mkdir: the inode, its first block ("." and ".."), the name in PARENT, and
 * the parent's link count, in that order; undone step by step on failure.
 */
errcode_t pcw_mkdir(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		    unsigned perm, void (*fill)(struct ext2_inode_large *,
						void *), void *arg,
		    struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode_buf, *inode;
	struct pcw_dir *d = NULL;
	ext2_ino_t ino;
	errcode_t err;

	inode = calloc(1, EXT2_INODE_SIZE(fs->super) > sizeof(inode_buf) ?
			  EXT2_INODE_SIZE(fs->super) : sizeof(inode_buf));
	if (!inode)
		return ENOMEM;
	err = pcw_dir_check_link(pfs, parent);
	if (!err)
		err = check_room(pfs, parent, name, 1);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent),
				      LINUX_S_IFDIR | (perm & 07777), inode, &ino);
	if (err)
		goto out;
	inode->i_links_count = 2;
	if (ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, ino, inode);
		if (err)
			goto out;
	}
	if (fill)
		fill(inode, arg);
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (err)
		goto out;
	err = pcw_dir_new(pfs, ino, inode, pcw_dir_ino(parent), &d);
	if (err) {
		inode_uncommit(pfs, ino, inode);
		goto out;
	}
	err = pcw_dir_add(pfs, parent, name, strlen(name), ino, EXT2_FT_DIR);
	if (err) {
		pcw_dir_discard(pfs, d);
		inode_uncommit(pfs, ino, inode);
		goto out;
	}
	err = pcw_dir_inc_link(pfs, parent);
	if (!err)
		*ret = d;
out:
	free(inode);
	return err;
}

/* A symlink: the target in the inode when it fits (a fast symlink), else
   in one block. */
struct symlink_arg {
	const char	*target;
	size_t		len;
	void		(*fill)(struct ext2_inode_large *, void *);
	void		*arg;
};

static void fill_symlink(struct ext2_inode_large *inode, void *p)
{
	struct symlink_arg *s = p;

	if (s->fill)
		s->fill(inode, s->arg);
	inode->i_size = s->len;
	if (s->len < sizeof(inode->i_block)) {
		inode->i_flags &= ~EXT4_EXTENTS_FL;
		memset(inode->i_block, 0, sizeof(inode->i_block));
		memcpy(inode->i_block, s->target, s->len);
	}
}

errcode_t pcw_symlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		      const char *target, void (*fill)(struct ext2_inode_large *,
						       void *), void *arg,
		      ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	struct symlink_arg s = { target, strlen(target), fill, arg };
	struct ext2_inode_large *inode;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino;
	blk64_t cluster = 0, pblk;
	unsigned char *blk = NULL;
	errcode_t err;

	if (s.len == 0 || s.len >= fs->blocksize || s.len >= 4096)
		return ENAMETOOLONG;
	inode = calloc(1, isize > sizeof(*inode) ? isize : sizeof(*inode));
	if (!inode)
		return ENOMEM;
	err = check_room(pfs, parent, name,
			 s.len < sizeof(inode->i_block) ? 0 : 1);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent),
				      LINUX_S_IFLNK | 0777, inode, &ino);
	if (err)
		goto out;
	fill_symlink(inode, &s);
	if (s.len >= sizeof(inode->i_block)) {
		/* A slow symlink: its block, mapped like file data. */
		blk = calloc(1, fs->blocksize);
		err = blk ? 0 : ENOMEM;
		if (!err)
			err = ext2fs_new_block2(fs, ext2fs_find_inode_goal(fs, ino,
					(struct ext2_inode *)inode, 0), NULL,
					&cluster);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			err = ENOSPC;
		if (err)
			goto out;
		pblk = cluster;
		memcpy(blk, target, s.len);
		err = io_channel_write_blk64(fs->io, pblk, 1, blk);
		if (err)
			goto out;
		ext2fs_block_alloc_stats2(fs, cluster, +1);
		err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)inode, 1);
		if (!err && ext2fs_has_feature_extents(fs->super)) {
			ext2_extent_handle_t h;

			err = pcw_init_extent_tree(fs, ino, inode);
			if (!err)
				err = ext2fs_extent_open2(fs, ino,
						(struct ext2_inode *)inode, &h);
			if (!err) {
				err = pcw_extent_insert(h, 0, pblk, 1, false);
				ext2fs_extent_free(h);
			}
		} else if (!err) {
			inode->i_block[0] = pblk;
		}
		if (err) {
			ext2fs_block_alloc_stats2(fs, cluster, -1);
			goto out;
		}
	}
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (!err)
		err = link_new(pfs, parent, name, ino, inode);
	if (err) {
		if (cluster)
			ext2fs_block_alloc_stats2(fs, cluster, -1);
		goto out;
	}
	pcw_note_symlink(pfs, ino);
	*ret = ino;
out:
	free(blk);
	free(inode);
	return err;
}

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

/* ---- links ------------------------------------------------------------------------ */

/*
 * INO, which must not be a directory (hard links never name one), read
 * and checked as ext4_iget checks it (no block of its map on metadata):
 * the kernel's link(2) and unlink(2) meet the inode through a lookup that
 * fails there, so neither a new name nor a removed one reaches an inode
 * e2fsck would clear.
 */
static errcode_t read_nondir(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode)
{
	errcode_t err;

	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
				     sizeof(*inode));
	if (!err)
		err = pcw_iget_check(fs, inode);
	if (err)
		return err;
	return LINUX_S_ISDIR(inode->i_mode) ? PCW_ET_IS_DIR : 0;
}

/* INO gained or lost a name: its link count and change time. */
static errcode_t relink(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode, int delta)
{
	errcode_t err;

	inode->i_links_count += delta;
	pcw_inode_set_now(pfs, inode, PCW_TIME_C);
	err = ext2fs_write_inode_full(pfs->fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	if (err)
		pfs->meta_error = true;
	return err;
}

/* A hard link: NAME in PARENT for the existing non-directory INO. */
errcode_t pcw_link(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		   ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	err = read_nondir(pfs->fs, ino, &inode);
	if (!err)
		err = pcw_may_link(pfs, parent, &inode);
	if (err)
		return err;
	if (!inode.i_links_count)
		return PCW_ET_CORRUPT;
	if (inode.i_links_count >= EXT2_LINK_MAX)
		return EMLINK;
	err = pcw_dir_can_add(pfs, parent, name, strlen(name), 0);
	if (!err)
		err = pcw_dir_add(pfs, parent, name, strlen(name), ino,
				  ftype_of(inode.i_mode));
	if (err)
		return err;
	return relink(pfs, ino, &inode, 1);
}

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
 * The last link of INO is gone: free its blocks (not a fast symlink's or a
 * device's: their i_block holds no block numbers), its references to
 * EA inodes, its attribute block, and the inode.
 */
errcode_t pcw_inode_release(pcw_fs *pfs, ext2_ino_t ino,
			     struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	unsigned type = inode->i_mode & LINUX_S_IFMT;
	errcode_t err = 0;

	if (has_blocks(inode))
		err = pcw_truncate_blocks(fs, ino, inode);
	/* Values in EA inodes first: the block names some of them. */
	if (!err)
		err = pcw_ea_release(pfs, ino);
	if (!err && ext2fs_file_acl_block(fs, (struct ext2_inode *)inode))
		err = ext2fs_free_ext_attr(fs, ino, inode);
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
	if (type == LINUX_S_IFDIR)
		pcw_dir_forget(pfs, ino);
	return 0;
}

/*
 * Remove NAME (the non-directory INO) from PARENT: the name first, then the
 * link count, then, at the last link, the inode and its blocks.
 */
errcode_t pcw_unlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	err = read_nondir(pfs->fs, ino, &inode);
	if (!err)
		err = pcw_may_delete(pfs, parent, &inode);
	if (err)
		return err;
	/* Attribute values in inodes of their own: not ours to free. */
	if (inode.i_flags & EXT4_EA_INODE_FL)
		return PCW_ET_UNSUPP_INODE;
	/*
	 * At the last link, what inode_release checks is checked before the
	 * name goes: its block map below the root, its i_blocks, its values'
	 * EA inodes.  The kernel drops the name and frees at eviction, where
	 * damage is logged and left; pcwrite would stop half-way, the inode
	 * left with no name (e2fsck: "Unattached inode").
	 */
	if (inode.i_links_count <= 1) {
		blk64_t ea;

		err = has_blocks(&inode) ?
		      pcw_truncate_check(pfs->fs, ino, &inode) :
		      pcw_ea_charge(pfs->fs, ino, &ea);
		if (err)
			return err;
	}
	err = pcw_dir_remove(pfs, parent, name, strlen(name));
	if (err)
		return err;
	if (inode.i_links_count > 1)
		return relink(pfs, ino, &inode, -1);
	return pcw_inode_release(pfs, ino, &inode);
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
