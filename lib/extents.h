/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extents.h: layer 5: block maps (extents.c), truncation (truncate.c), values
 * in EA inodes (ea_refs.c, ea_inode.c); the quota files are quota.h's.
 */
#ifndef PCW_EXTENTS_H
#define PCW_EXTENTS_H

#include "balloc.h"
/* extents.c: logical -> physical, for extent and block-mapped files */
errcode_t pcw_map_lookup(struct pcw_inode_info *ei, blk64_t lblk,
			 struct pcw_map *map);
errcode_t pcw_map_insert(struct pcw_inode_info *ei, blk64_t lblk,
			 blk64_t pblk, blk64_t len, bool unwritten);
errcode_t pcw_map_convert(struct pcw_inode_info *ei, blk64_t lblk,
			  blk64_t len);
/*
 * The blocks of metadata mapping LEN blocks can dirty at most: writeback's
 * credits for pcw_fs_journal_start (a quota commit's among them).
 */
#define PCW_QUOTA_COMMIT_CREDITS	16
blk64_t pcw_map_credits(struct pcw_inode_info *ei, blk64_t len);
errcode_t pcw_extent_end(struct pcw_inode_info *ei, blk64_t *end);
errcode_t pcw_count_extents(struct pcw_inode_info *ei, uint64_t *count);
blk64_t pcw_cluster_pblk(struct pcw_inode_info *ei, blk64_t lc);
errcode_t pcw_alloc_run(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			bool reserved, bool background, struct pcw_alloc *a);

errcode_t pcw_extent_insert(ext2_extent_handle_t h, blk64_t lblk,
			    blk64_t pblk, blk64_t len, bool unwritten);

/*
 * orphan.c: the classic orphan list, ext4_orphan_add and ext4_orphan_del:
 * INODE (in memory; the caller writes it) first on the list, or taken off
 * it (another orphan in front of it is rewritten; a list that does not
 * lead to it is PCW_ET_CORRUPT).
 */
void pcw_orphan_add(ext2_filsys fs, ext2_ino_t ino,
		    struct ext2_inode_large *inode);
errcode_t pcw_orphan_del(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode);

/*
 * truncate.c: free every block of INODE (data, extent-tree or indirect
 * blocks), each cluster once.  On success i_block is empty (zeroed,
 * EXTENTS_FL cleared) and i_blocks keeps only the xattr block and the
 * values in EA inodes (pcw_ea_charge); the caller writes the inode.  A file
 * whose blocks are outside the filesystem or in its metadata (the system
 * zone), free in the bitmap or more than i_blocks counts is refused with
 * PCW_ET_CORRUPT, nothing changed.
 */
errcode_t pcw_truncate_blocks(ext2_filsys fs, ext2_ino_t ino,
			      struct ext2_inode_large *inode);
/*
 * The same for a file that keeps its inode (the shell's '>'): in the
 * running transaction when it has room for the bitmaps and descriptors of
 * every group the file has blocks in (the common case: pcw_truncate_blocks,
 * the caller writes the inode); else as ext4_truncate does (truncate.c):
 * i_size 0 and the inode on the orphan list committed first, then the map
 * shortened from its end in pieces, each freeing what it took off the map
 * in its own transaction, the last one taking the inode off the list and
 * writing it (the caller may write it again).  Refusals as
 * pcw_truncate_blocks', nothing changed.
 */
errcode_t pcw_truncate_ranged(pcw_fs *pfs, ext2_ino_t ino,
			      struct ext2_inode_large *inode);
/*
 * For an inode whose last link goes (ext4_evict_inode): *FITS when its
 * blocks can be freed in the running transaction (pcw_truncate_blocks);
 * else the caller puts it on the orphan list, i_nlink 0, and once that is
 * committed pcw_truncate_orphan frees its map from the end, in
 * transactions of its own, leaving it on the list with an empty map,
 * written (the caller then frees the inode).  The checks of
 * pcw_truncate_check, nothing changed.
 */
errcode_t pcw_truncate_fits(ext2_filsys fs, ext2_ino_t ino,
			    struct ext2_inode_large *inode, bool *fits);
errcode_t pcw_truncate_orphan(pcw_fs *pfs, ext2_ino_t ino,
			      struct ext2_inode_large *inode);
/* The same checks, nothing freed: 0 when pcw_truncate_blocks would succeed. */
errcode_t pcw_truncate_check(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode);

/*
 * ea_inode.c: attribute values in inodes of their own (ea_inode), charged
 * to their owner and released with it as the kernel does.
 *
 * Every libext2fs change of INO's attributes (ext2fs_xattr_set, _remove,
 * ext2fs_punch of inline data) goes between pcw_ea_change_begin and
 * pcw_ea_change_end, N values X about to be set (none for a removal).
 * begin checks the room the values could need (ENOSPC, nothing changed),
 * refuses an owner whose references are damaged (PCW_ET_CORRUPT) or
 * Lustre-style (PCW_ET_UNSUPP_INODE); end runs whenever begin succeeded,
 * after a failed change too.  Both are no-ops without ea_inode.
 */
struct pcw_ea_change {
	bool		active;
	blk64_t		charge;		/* the owner's value clusters before */
	ext2_ino_t	*pinned;	/* EA inodes held during the change */
	size_t		npinned;
};
errcode_t pcw_ea_change_begin(pcw_fs *pfs, ext2_ino_t ino,
			      const struct pcw_xattr *x, size_t n,
			      struct pcw_ea_change *c);
errcode_t pcw_ea_change_end(pcw_fs *pfs, ext2_ino_t ino,
			    struct pcw_ea_change *c);
/* The clusters INO's EA-inode values cost it (beside data and block). */
errcode_t pcw_ea_charge(ext2_filsys fs, ext2_ino_t ino, blk64_t *clusters);
/*
 * INO's last link is gone: drop the references its body holds, and its
 * block's if INO is the block's last owner, freeing an EA inode left with
 * none.  Before ext2fs_free_ext_attr.
 */
errcode_t pcw_ea_release(pcw_fs *pfs, ext2_ino_t ino);

#endif /* PCW_EXTENTS_H */
