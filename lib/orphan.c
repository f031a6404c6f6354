/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * orphan.c: the classic orphan list (ext4_orphan_add / ext4_orphan_del):
 * s_last_orphan names the first inode, each inode's i_dtime the next one.
 * An inode on it is finished by whoever mounts or checks the filesystem
 * next (the kernel's ext4_orphan_cleanup, e2fsck's release_orphan_inodes):
 * freed when it has no link, else truncated to its i_size.  Used by
 * --atomic's unnamed inode (atomic.c) and by a truncation too large for one
 * transaction (truncate.c).  pcwrite always uses the classic list, which
 * the kernel and e2fsck also process on a filesystem with orphan_file.
 */
#include "config.h"

#include "extents.h"

void pcw_orphan_add(ext2_filsys fs, ext2_ino_t ino,
		    struct ext2_inode_large *inode)
{
	inode->i_dtime = fs->super->s_last_orphan;
	fs->super->s_last_orphan = ino;
	ext2fs_mark_super_dirty(fs);
}

errcode_t pcw_orphan_del(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode)
{
	ext2_ino_t cur = fs->super->s_last_orphan, next = inode->i_dtime;
	struct ext2_inode_large prev;
	unsigned steps = 0;
	errcode_t err;

	inode->i_dtime = 0;
	if (cur == ino) {
		fs->super->s_last_orphan = next;
		ext2fs_mark_super_dirty(fs);
		return 0;
	}
	/* Someone else's orphan in front of ours: unlink ours from the chain. */
	while (cur && steps++ < fs->super->s_inodes_count) {
		err = ext2fs_read_inode_full(fs, cur, (struct ext2_inode *)&prev,
					     sizeof(prev));
		if (err)
			return err;
		if (prev.i_dtime == ino) {
			prev.i_dtime = next;
			return ext2fs_write_inode_full(fs, cur,
					(struct ext2_inode *)&prev,
					sizeof(prev));
		}
		cur = prev.i_dtime;
	}
	return PCW_ET_CORRUPT;
}
