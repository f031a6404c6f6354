/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * may.c: what the kernel refuses for an inode's immutable and append-only
 * flags (chattr +i, +a), whoever asks: it refuses root too.
 *
 *	a new name in DIR	may_create -> inode_permission(dir, MAY_WRITE):
 *				an immutable directory, EPERM; an append-only
 *				one takes new names
 *	removing a name		may_delete: an append-only or immutable
 *				directory, or victim, EPERM (a replaced
 *				entry's old name is removed first)
 *	a hard link		vfs_link: may_create on the directory, then an
 *				append-only or immutable target, EPERM
 *	mode, owner, times,	notify_change, xattr_permission: an immutable
 *	xattrs of an inode	or append-only inode, EPERM (what merging an
 *				existing directory does: GNU tar's chmod,
 *				chown and utimensat fail there the same way)
 *	writing a file		do_dentry_open/may_open: immutable, EPERM;
 *				append-only, EPERM unless opened O_APPEND and
 *				without O_TRUNC
 *
 * The times the kernel updates itself (a directory's mtime when a name is
 * added to an append-only one, a file's on an append) are not refused.
 *
 * And the one read-and-check before a name is removed (pcw_may_remove),
 * whoever removes it: unlink, rm -r's rmdir, a replacing swap.
 */
#include "config.h"

#include <string.h>

#include "namei.h"

#define FLAGS_RO	(EXT2_IMMUTABLE_FL | EXT2_APPEND_FL)

/* A refusal about directory D: remembered for pcw_fs_error_dir(). */
static errcode_t dir_refuses(pcw_fs *pfs, struct pcw_dir *d, errcode_t err)
{
	pfs->error_dir = pcw_dir_ino(d);
	return err;
}

errcode_t pcw_may_create(pcw_fs *pfs, struct pcw_dir *dir)
{
	if (pcw_dir_inode(dir)->i_flags & EXT2_IMMUTABLE_FL)
		return dir_refuses(pfs, dir, PCW_ET_DIR_IMMUTABLE);
	return 0;
}

static errcode_t may_delete(pcw_fs *pfs, struct pcw_dir *dir,
			    const struct ext2_inode_large *victim)
{
	uint32_t flags = pcw_dir_inode(dir)->i_flags;

	if (flags & EXT2_IMMUTABLE_FL)
		return dir_refuses(pfs, dir, PCW_ET_DIR_IMMUTABLE);
	if (flags & EXT2_APPEND_FL)
		return dir_refuses(pfs, dir, PCW_ET_DIR_APPEND);
	return (victim->i_flags & FLAGS_RO) ? PCW_ET_IMMUTABLE : 0;
}

/* INO read into INODE and checked as ext4_iget checks it. */
static errcode_t iget(ext2_filsys fs, ext2_ino_t ino,
		      struct ext2_inode_large *inode)
{
	errcode_t err;

	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
				     sizeof(*inode));
	return err ? err : pcw_iget_check(fs, inode);
}

/*
 * INO, which must not be a directory (hard links never name one), read
 * and checked as ext4_iget checks it (no block of its map on metadata):
 * the kernel's link(2) and unlink(2) meet the inode through a lookup that
 * fails there, so neither a new name nor a removed one reaches an inode
 * e2fsck would clear.
 */
errcode_t pcw_read_nondir(ext2_filsys fs, ext2_ino_t ino,
			  struct ext2_inode_large *inode)
{
	errcode_t err = iget(fs, ino, inode);

	if (err)
		return err;
	return LINUX_S_ISDIR(inode->i_mode) ? PCW_ET_IS_DIR : 0;
}

/*
 * Everything that can refuse the removal of a name, checked before the
 * caller changes anything, so that a refusal leaves the image as it was:
 * INO read into INODE and checked (pcw_read_nondir; IS_RMDIR: the empty
 * directory rm -r removes, opened as one already), may_delete, and, where
 * the removal frees the inode (its last link; a directory always), that
 * its blocks and attribute values can be freed.  unlink(2), rmdir(2) and
 * the old name a replacing swap drops (atomic.c) all come here.
 */
errcode_t pcw_may_remove(pcw_fs *pfs, struct pcw_dir *dir, ext2_ino_t ino,
			 bool is_rmdir, struct ext2_inode_large *inode)
{
	errcode_t err;

	err = is_rmdir ? iget(pfs->fs, ino, inode)
		    : pcw_read_nondir(pfs->fs, ino, inode);
	if (!err)
		err = may_delete(pfs, dir, inode);
	if (err)
		return err;
	/* Attribute values in inodes of their own: not ours to free. */
	if (!is_rmdir && (inode->i_flags & EXT4_EA_INODE_FL))
		return PCW_ET_UNSUPP_INODE;
	if (is_rmdir || inode->i_links_count <= 1)
		return pcw_inode_release_check(pfs, ino, inode);
	return 0;
}

errcode_t pcw_may_link(pcw_fs *pfs, struct pcw_dir *dir,
		       const struct ext2_inode_large *target)
{
	errcode_t err = pcw_may_create(pfs, dir);

	if (!err && (target->i_flags & FLAGS_RO))
		err = PCW_ET_IMMUTABLE;
	return err;
}

errcode_t pcw_may_setattr(const struct ext2_inode_large *inode)
{
	return (inode->i_flags & FLAGS_RO) ? PCW_ET_IMMUTABLE : 0;
}

errcode_t pcw_may_write(const struct ext2_inode_large *inode, bool append)
{
	if (inode->i_flags & EXT2_IMMUTABLE_FL)
		return PCW_ET_IMMUTABLE;
	if ((inode->i_flags & EXT2_APPEND_FL) && !append)
		return PCW_ET_IMMUTABLE;
	return 0;
}
