/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inode.h: layer 8: inodes (inode.c), their times (times.c).
 */
#ifndef PCW_INODE_H
#define PCW_INODE_H

#include "aops.h"
/* inode.c: inodes of every kind, links */
#define PCW_TIME_M	0x1
#define PCW_TIME_A	0x2
#define PCW_TIME_C	0x4
#define PCW_TIME_CR	0x8
#define PCW_TIME_ALL	0xf
errcode_t pcw_init_extent_tree(ext2_filsys fs, ext2_ino_t ino,
			       struct ext2_inode_large *inode);
void pcw_inode_set_owner(struct ext2_inode_large *inode, uint32_t uid,
			 uint32_t gid);
void pcw_inode_set_rdev(struct ext2_inode_large *inode, uint32_t major,
			uint32_t minor);
/* INODE: a whole inode, pcw_inode_buf_size bytes (both use every byte). */
errcode_t pcw_inode_alloc(pcw_fs *pfs, ext2_ino_t parent, unsigned mode,
			  struct ext2_inode_large *inode, ext2_ino_t *ret);
errcode_t pcw_inode_commit_new(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode);
void pcw_inode_uncommit(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode);
errcode_t pcw_inode_release(pcw_fs *pfs, ext2_ino_t ino,
			    struct ext2_inode_large *inode);
/*
 * The releases pcw_inode_release left on the orphan list (too large for
 * the transaction of their last unlink), freed now, each ending with a
 * commit: pfs->evict_hook, run by pcw_fs_commit after a commit.
 */
errcode_t pcw_inode_evict(pcw_fs *pfs);
errcode_t pcw_inode_release_check(pcw_fs *pfs, ext2_ino_t ino,
				  struct ext2_inode_large *inode);
typedef void (*pcw_fill_fn)(struct ext2_inode_large *inode, void *arg);
void pcw_note_symlink(pcw_fs *pfs, ext2_ino_t ino);
bool pcw_made_symlink(const pcw_fs *pfs, ext2_ino_t ino);

/*
 * times.c: the run's now (FIXED >= 0: that second, 0 ns); an inode's times
 * as the kernel stores them, clamped to what the inode holds (counted in
 * pfs->clamps); libarchive's split of a negative pax time into the kernel's.
 */
void pcw_time_init(pcw_fs *pfs, int64_t fixed);
void pcw_inode_set_times(pcw_fs *pfs, struct ext2_inode_large *inode,
			 int which, int64_t sec, uint32_t nsec);
void pcw_inode_set_now(pcw_fs *pfs, struct ext2_inode_large *inode, int which);
bool pcw_inode_ctime_is_now(pcw_fs *pfs, const struct ext2_inode_large *inode);
void pcw_pax_time(int64_t *sec, uint32_t *nsec);

#endif /* PCW_INODE_H */
