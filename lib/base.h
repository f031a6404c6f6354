/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * base.h: layer 1 of libpcwrite (README's Layout): the run's state (struct
 * pcw_fs, which every layer reads) and the leaf helpers: errors.c,
 * maxbytes.c, attrs.c (signal.c and iter.c: pcwrite.h, iter.h).
 *
 * The names follow the kernel's so that lib/ reads beside mm/filemap.c,
 * fs/buffer.c and fs/ext4/: each layer's header includes the one below it,
 * and a file includes its own layer's header; tests/layers.py checks that
 * nothing reaches up.
 */
#ifndef PCW_BASE_H
#define PCW_BASE_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <ext2fs/ext2fs.h>

#include "pcwrite.h"
#define PCW_MAGIC_FS		0x70637766	/* "pcwf" */
#define PCW_MAGIC_MAPPING	0x7063776d	/* "pcwm" */

/* The largest initialized extent. */
#define PCW_MAX_EXTENT_LEN	32768U
/* One I/O stays at 1 GiB: unix_io computes a byte count in an int. */
#define PCW_MAX_IO_BYTES	(1ULL << 30)

/*
 * The array at *V (pass the address of the pointer; SIZE-byte elements,
 * room for *CAP) made to hold NEED: the room doubles, from FIRST, so that
 * N appends cost O(N).  ENOMEM leaves the array as it was.
 */
static inline errcode_t pcw_grow(void *v, size_t *cap, size_t need,
				 size_t size, size_t first)
{
	void **pv = v, *p;
	size_t c = *cap ? *cap : first;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = realloc(*pv, c * size);
	if (!p)
		return ENOMEM;
	*pv = p;
	*cap = c;
	return 0;
}

/*
 * The bytes of a buffer for one whole on-disk inode: EXT2_INODE_SIZE, and
 * never less than struct ext2_inode_large.  Every buffer a function reads,
 * fills or writes EXT2_INODE_SIZE bytes of (pcw_inode_alloc,
 * pcw_inode_commit_new, ext2fs_*_inode_full with that size) has this size.
 */
static inline size_t pcw_inode_buf_size(ext2_filsys fs)
{
	size_t isize = EXT2_INODE_SIZE(fs->super);

	return isize > sizeof(struct ext2_inode_large) ?
	       isize : sizeof(struct ext2_inode_large);
}

struct pcw_bdev;
struct pcw_pagecache;
struct pcw_dcache;

struct pcw_fs {
	int		magic;
	ext2_filsys	fs;
	char		*image;
	char		*undo_file;
	char		io_options[64];
	int		open_flags;	/* for ext2fs_open2 */
	int		lock_fd;
	int		excl_fd;	/* a block device IMAGE, held O_EXCL */
	int		backing_fd;	/* the file under a loop IMAGE, flocked */
	int		undo_fd;	/* the undo file we created, or -1 */
	uint64_t	image_offset;
	uint64_t	fs_end;		/* image_offset + the filesystem's bytes */
	bool		image_is_file;	/* IMAGE is a regular file (it can be
					   truncated under us, and RLIMIT_FSIZE
					   applies to it) */
	uint64_t	data_bytes;	/* written around the channel */
	bool		fixed_time;	/* a reproducible run (--mtime,
					   SOURCE_DATE_EPOCH) */
	struct pcw_bdev	*devs;		/* other block devices over the image */
	size_t		ndevs;
	struct pcw_conflict *conflict;	/* the caller's, or NULL */
	int		flags;		/* PCW_OPEN_* */
	bool		writing;	/* superblock marked not clean */
	bool		was_valid;	/* s_state had EXT2_VALID_FS at open */
	bool		meta_error;	/* a metadata update failed part-way:
					   leave the filesystem marked not clean */
	blk64_t		reserved;	/* delayed blocks of every mapping */
	blk64_t		pending;	/* pending blocks of every mapping */
	time_t		now;		/* the run's time (pcw_time_init) */
	uint32_t	now_nsec;
	struct pcw_time_clamps clamps;	/* times the inodes could not hold */
	ext2_ino_t	error_dir;	/* the directory of the last
					   PCW_ET_DIR_* refusal */
	struct pcw_dcache *dcache;	/* the directories this run touched */
	struct pcw_pagecache *pcache;	/* lent to the open mapping */
	uint32_t	*made_links;	/* symlinks this run made (a set) */
	uint32_t	made_mask, nmade;
	bool		made_overflow;
	pcw_report_fn	report;
	void		*report_arg;
	unsigned	in_report;	/* inside the report callback: no
					   commit (PCW_ET_COMMIT_IN_CALLBACK) */
	uint64_t	uncommitted;	/* tree entries since the last commit */
	bool		order_events;	/* PCW_TREE_ORDER_EVENTS */
	bool		hold_events;	/* PCW_TREE_HOLD_EVENTS */
	bool		plug;		/* a tree is open: small files' data
					   may be gathered (pcw_io_write_data) */
	uint32_t	held_events;	/* since the last commit event */
	struct pcw_idnames *idnames;	/* the image's passwd and group,
					   as read (idnames.c), or NULL */
	struct pcw_dquot *dquot;	/* quota usage (quota.h), or NULL */
	blk64_t		quota_reserve;	/* blocks its next sync may need */
	bool		set_project;	/* new inodes get project */
	uint32_t	project;
	unsigned	dcache_dirs;	/* directories the run's cache holds
					   (written at the close: --undo's
					   estimate counts them) */
	/*
	 * The layers above, called by the I/O layer (io_run.c), set by
	 * pcw_fs_open: at the first write, and before each commit.
	 */
	errcode_t	(*begin_hook)(pcw_fs *pfs);
	errcode_t	(*commit_hook)(pcw_fs *pfs);
	/*
	 * After a commit (inode.c): the releases too large for the
	 * transaction of their unlink, put on the orphan list there and
	 * freed now in transactions of their own (ext4_evict_inode).
	 */
	errcode_t	(*evict_hook)(pcw_fs *pfs);
	ext2_ino_t	*evict;		/* those inodes */
	size_t		nevict, capevict;
	bool		in_evict;
	struct pcw_validity *validity;	/* validate.c: the system zone */
	bool		journaled;	/* commits go through the jbd2 journal */
	uint32_t	commit_sec;	/* a transaction's longest life */
};

/* fs.c: ext2fs_open2's error for IMAGE at OFFSET, as callers see it */
errcode_t pcw_open_error(const char *image, uint64_t offset, errcode_t err);

/* errno for a page record's status */
int pcw_errno(errcode_t err);

/* maxbytes.c: the kernel's largest file size for an extent or
   block-mapped file (s_maxbytes, s_bitmap_maxbytes) */
uint64_t pcw_max_file_bytes(ext2_filsys fs, bool extent_file);

/* attrs.c: what INODE holds, as a report shows it */
void pcw_inode_attrs(ext2_ino_t ino, const struct ext2_inode_large *inode,
		     struct pcw_attrs *a);

#endif /* PCW_BASE_H */
