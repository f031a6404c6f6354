/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal_int.h: the journal handle, shared by journal.c (open, held
 * blocks, checkpoint, close) and journal_log.c (writing one transaction).
 */
#ifndef PCW_JOURNAL_INT_H
#define PCW_JOURNAL_INT_H

#include "journal.h"

#define PCW_MAGIC_JOURNAL	0x7063776a	/* "pcwj" */
#define PCW_JOURNAL_MEM_CAP	(4U << 20)
#define PCW_JOURNAL_STAGE	(2U << 20)	/* a descriptor and its copies */

/* A run of the journal inode: log blocks [lblk, lblk+len) at pblk. */
struct pcw_jext {
	uint32_t	lblk, len;
	blk64_t		pblk;
};

/* A committed block not yet written in place. */
struct pcw_jheld {
	struct pcw_jheld *next;		/* hash chain */
	blk64_t		blk;
	unsigned char	data[];		/* the block's contents, unescaped */
};

struct pcw_journal {
	int		magic;
	ext2_filsys	fs;
	io_channel	raw;
	unsigned int	bs;
	struct pcw_journal_params params;

	/* Format, from the journal superblock */
	uint32_t	compat, incompat;
	bool		csum_v1, csum_v23, csum_v3, is64;
	uint32_t	csum_seed;	/* crc32c(~0, s_uuid) */
	unsigned char	uuid[16];
	unsigned int	tag_bytes;
	unsigned int	tags_per_desc;
	unsigned int	revoke_rec;	/* 4 or 8 */
	unsigned int	revokes_per_block;
	size_t		max_tx;		/* log blocks a transaction may use */

	/* Geometry: the log is [first, maxlen) */
	uint32_t	first, maxlen;
	struct pcw_jext	*map;
	size_t		nmap;

	/* Log state */
	uint32_t	head;		/* next log block to write */
	uint32_t	tail;		/* oldest transaction not checkpointed */
	uint32_t	next_tid;
	uint32_t	start_head, start_tid;	/* at open: PCW_JOURNAL_WIPE */
	bool		live;		/* s_start != 0 on disk */
	bool		flags_set;	/* needs_recovery written in place */
	bool		touched;	/* needs_recovery or s_start written,
					   perhaps not flushed: a failure
					   from here on leaves them set */
	int64_t		last_sec;	/* last commit time */
	uint32_t	last_nsec;

	/* Held blocks: a hash of committed copies */
	struct pcw_jheld **hash;
	size_t		hash_size;	/* a power of two */
	size_t		nheld;

	unsigned char	*jsb;		/* journal block 0, as on disk */
	blk64_t		sb_blk;		/* the block holding the superblock */
	unsigned int	sb_off;		/* its byte offset in that block */
	errcode_t	aborted;
	struct pcw_journal_stats st;
};

/* journal.c */
errcode_t pcw_jabort(struct pcw_journal *j, errcode_t err);
errcode_t pcw_jlog_write(struct pcw_journal *j, uint32_t pos, uint32_t count,
			 const void *buf);
errcode_t pcw_jflush(struct pcw_journal *j);
errcode_t pcw_jsb_write(struct pcw_journal *j, uint32_t start, bool close);
errcode_t pcw_jsb_set_flags(struct pcw_journal *j, bool set);
void pcw_jsb_patch_flags(const struct pcw_journal *j, unsigned char *sb);
errcode_t pcw_jheld_put(struct pcw_journal *j, blk64_t blk, const void *data);
bool pcw_jheld_drop(struct pcw_journal *j, blk64_t blk);
bool pcw_jlog_owns(const struct pcw_journal *j, blk64_t blk);
uint32_t pcw_jlog_used(const struct pcw_journal *j);
errcode_t pcw_journal_do_checkpoint(struct pcw_journal *j, bool closing);

/* Advance a log position by N, wrapping from maxlen back to first. */
static inline uint32_t pcw_jlog_next(const struct pcw_journal *j,
				     uint32_t pos, uint32_t n)
{
	uint32_t size = j->maxlen - j->first;

	return j->first + (pos - j->first + n) % size;
}

#endif /* PCW_JOURNAL_INT_H */
