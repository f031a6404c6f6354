/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * balloc.h: layer 4, space (balloc.c), and struct pcw_inode_info, the file
 * as the layers under the page cache know it.
 */
#ifndef PCW_BALLOC_H
#define PCW_BALLOC_H

#include "io_run.h"
/* The physical extent a logical block falls in (or the hole). */
struct pcw_map {
	blk64_t		lblk;
	blk64_t		pblk;		/* 0 for a hole */
	blk64_t		len;
	bool		unwritten;
};

/*
 * ext4_inode_info: what the layers under the page cache (space, block
 * maps, the inode's own fields) know of an open file; the mapping holds one
 * (mapping->host in the kernel, EXT4_I() of it).  Space functions and the
 * block map take this, never the mapping.
 */
struct pcw_inode_info {
	pcw_fs		*pfs;
	ext2_filsys	fs;
	ext2_ino_t	ino;
	struct ext2_inode_large	*inode;	/* EXT2_INODE_SIZE bytes */
	ext2_extent_handle_t	handle;	/* aliases *inode (extent files) */
	blk64_t		goal;		/* where the next run should go */
	bool		goal_extends;	/* goal continues the file's last run */
	blk64_t		reserved;	/* this file's delayed blocks */
	blk64_t		pending;	/* this file's pending blocks */
	blk64_t		extent_end;	/* first block past the last extent */
	bool		dirty_inode;
	/* block lookup cache: the last extent (or hole) found */
	struct pcw_map	cached;
	bool		cached_valid;
};

/* balloc.c: space (fs, file, goal: never a mapping) */
/* What pcw_alloc_run gave: blocks for the data, and the clusters it took. */
struct pcw_alloc {
	blk64_t		pblk, len;	/* physical blocks for the run's head */
	blk64_t		cstart, clen;	/* newly allocated blocks (whole clusters) */
	blk64_t		clusters;	/* clusters newly allocated */
};
errcode_t pcw_new_blocks(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			 bool reserved, bool background, struct pcw_alloc *a);
void pcw_free_run(struct pcw_inode_info *ei, const struct pcw_alloc *a);
blk64_t pcw_free_clusters(ext2_filsys fs);
errcode_t pcw_fs_check_space(pcw_fs *pfs, blk64_t n);
bool pcw_busy_short(const pcw_fs *pfs, blk64_t n);
#define PCW_ENTRY_META_CLUSTERS	8
errcode_t pcw_commit_for_room(pcw_fs *pfs, blk64_t n);
errcode_t pcw_reserve(struct pcw_inode_info *ei, blk64_t n);
void pcw_release_reservation(struct pcw_inode_info *ei, blk64_t n);
bool pcw_nonda_switch(const pcw_fs *pfs);
void pcw_pending_add(struct pcw_inode_info *ei, blk64_t n);
void pcw_pending_mapped(struct pcw_inode_info *ei, blk64_t n);
void pcw_pending_free(struct pcw_inode_info *ei, blk64_t pblk);

/* The longest run mapped as one extent and written with one I/O. */
static inline blk64_t pcw_max_run(ext2_filsys fs)
{
	blk64_t io = PCW_MAX_IO_BYTES / fs->blocksize;

	return io < PCW_MAX_EXTENT_LEN ? io : PCW_MAX_EXTENT_LEN;
}

#endif /* PCW_BALLOC_H */
