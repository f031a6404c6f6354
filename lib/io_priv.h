/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_priv.h: the holding layer's state, shared by io.c (the io_manager and
 * its held blocks), io_data.c (file data written beside them) and
 * io_commit.c (building a commit from the filesystem).
 * Nothing else includes it.
 */
#ifndef PCW_IO_PRIV_H
#define PCW_IO_PRIV_H

#include "io.h"

#define PCW_MAGIC_HOLD	0x70637768	/* "pcwh" */

/* File data written between two writeback kicks (pcw_io_write_data). */
#define PCW_IO_KICK_BYTES	((uint64_t)8 << 20)

/* The most file data one plug gathers (io_data.c). */
#define PCW_IO_PLUG_BYTES	(256U << 10)

/* One block the layer holds: changed (dirty) or a clean copy of the disk. */
struct hold_entry {
	blk64_t		blk;
	unsigned char	*buf;		/* unit bytes */
	uint32_t	lo, hi;		/* changed bytes [lo, hi); hi == 0: clean */
	bool		dir;		/* pcw_io_mark_dir */
	ext2_ino_t	csum_ino;	/* a directory leaf of this inode whose
					   checksum is still to be set
					   (pcw_io_write_dir_block); 0: none */
	int32_t		hnext;		/* hash chain; the free list */
	int32_t		prev, next;	/* on the clean (LRU) or dirty list */
};

struct hold_list {
	int32_t		head, tail;
	size_t		n;
};

/* Sorted block ranges. */
struct hold_ranges {
	blk64_t		*start, *len;
	size_t		n, cap;
};

/* Where one group's inode table is, for the commit's phases. */
struct hold_itable {
	blk64_t		start;
	dgrp_t		group;
};

struct pcw_hold {
	int		magic;
	io_channel	lower;		/* the channel libext2fs opened */
	ext2_filsys	fs;
	unsigned	unit;		/* fs->blocksize: what is held */
	int		data_fd;
	uint64_t	data_offset;
	size_t		ncsum;		/* entries with csum_ino set */
	uint64_t	unkicked;	/* data bytes written since the last
					   writeback kick (pcw_io_write_data) */
	unsigned char	*plug;		/* file data gathered, not yet written:
					   plug_n blocks from plug_start */
	blk64_t		plug_start, plug_n;
	errcode_t	plug_err;	/* a gathered write failed: the data
					   of what is uncommitted is not on
					   disk, so nothing commits any more */
	blk64_t		mmp_blk;	/* 0: none */
	struct pcw_io_writer *writer;

	struct hold_entry *e;
	int32_t		cap, free_head;
	int32_t		*hash;
	uint32_t	hmask;
	struct hold_list clean, dirty;
	size_t		max_dirty, max_clean;	/* entries */
	bool		holding;	/* else every write goes straight down */
	bool		in_commit;
	bool		dead;		/* a failed journal: drop every write */
	unsigned	handles;	/* pcw_io_handle_start: no early commit */

	/* io_commit.c */
	struct hold_ranges fresh;	/* allocated since the last commit */
	struct hold_ranges busy;	/* freed since the last commit, with an
					   atomic writer: still marked in the
					   bitmap in memory, clear in the one a
					   commit writes (io_commit.c) */
	blk64_t		nbusy;		/* blocks in busy */
	blk64_t		*revoked;	/* held metadata freed since then */
	size_t		nrev, caprev;
	unsigned char	*touched;	/* per group: a bitmap may have changed
					   (bit 0: this commit, bit 1: the one
					   before, for inode tables) */
	size_t		now_groups;	/* groups with TOUCH_NOW */
	size_t		now_descs;	/* descriptor blocks of those */
	unsigned char	*desc_now;	/* per descriptor block: one of its
					   groups has TOUCH_NOW */
	unsigned char	*disk_desc;	/* the descriptor blocks as on disk */
	struct hold_itable *itables;	/* sorted by start */
	blk64_t		*special;	/* bitmap and descriptor blocks, sorted */
	size_t		nspecial;
	blk64_t		sb_unit;	/* the unit holding the primary superblock */
	void		(*old_stats)(ext2_filsys, blk64_t, int);
	void		(*old_stats_range)(ext2_filsys, blk64_t, blk_t, int);
	struct pcw_io_stats stats;
};

#define TOUCH_NOW	0x1
#define TOUCH_BEFORE	0x2

/* io.c */
struct pcw_hold *pcw_hold_of(ext2_filsys fs);
int32_t pcw_hold_find(struct pcw_hold *h, blk64_t blk);
/* One unit as the image will hold it: held, the writer's, or read. */
errcode_t pcw_hold_read_unit(struct pcw_hold *h, blk64_t blk, void *buf);
/* Forget what is held of blocks [blk, blk + n) (dirty ones too). */
void pcw_hold_drop(struct pcw_hold *h, blk64_t blk, blk64_t n);
/* After a commit wrote them: every dirty entry becomes a clean copy. */
void pcw_hold_all_clean(struct pcw_hold *h);
/* Remember BUF as what the image holds at BLK now (a written bitmap). */
void pcw_hold_note_clean(struct pcw_hold *h, blk64_t blk, const void *buf);

/* io_data.c */
/* Write what the plug gathered; the plug's error, now or from before. */
errcode_t pcw_hold_unplug(struct pcw_hold *h);
/* Does the plug hold any of blocks [blk, blk + n)? */
bool pcw_hold_plugged(const struct pcw_hold *h, blk64_t blk, blk64_t n);
/* Forget what the plug gathered (a run that will not commit), and free it. */
void pcw_hold_plug_drop(struct pcw_hold *h);

/* io_commit.c */
errcode_t pcw_hold_setup(struct pcw_hold *h);
void pcw_hold_teardown(struct pcw_hold *h);
void pcw_hold_note_write(struct pcw_hold *h, blk64_t blk);
errcode_t pcw_hold_commit(struct pcw_hold *h);
errcode_t pcw_hold_settle_csums(struct pcw_hold *h);
/* The most blocks a commit now would write (pcw_io_room_short_groups). */
size_t pcw_hold_footprint(const struct pcw_hold *h);

#endif /* PCW_IO_PRIV_H */
