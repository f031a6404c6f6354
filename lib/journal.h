/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal.h: the jbd2 journal writer (journal.c, journal_log.c); internal
 * to lib/, not exported from libpcwrite.
 *
 * What fs/jbd2 does for a mounted ext4 in data=ordered mode, for a writer
 * that already knows each transaction's blocks: the caller (the holding
 * io_manager) collects every metadata block a commit unit changed and hands
 * them over at once; the journal logs them, commits, and later writes them
 * in place (checkpoint).  There is no running transaction and no handle:
 * pcw_journal_commit is jbd2_journal_commit_transaction for one closed
 * transaction, synchronous, with the kernel's order.
 *
 * The protocol, per transaction T (the caller has already written T's file
 * data in place, not flushed):
 *   0. (the session's first transaction only) the filesystem superblock's
 *      needs_recovery flag in place (never orphan_present: journal.c says
 *      why), flush; then the journal superblock's s_start pointing at T;
 *   1. revoke blocks, descriptor blocks and T's blocks in the log;
 *   2. flush: T's data, log blocks and the journal superblock are durable;
 *   3. the commit block (never async_commit: the kernel refuses it with
 *      data=ordered);
 *   4. flush: T is durable.  pcw_journal_commit returns only now.
 * A crash before 4 replays up to T-1; after 4, up to T.  Nothing of T is
 * written in place before step 4: the blocks stay in memory (the journal's
 * "held" copies) until a checkpoint.
 *
 * Checkpoint (lazily: when the log passes three quarters full, when the held
 * copies pass a memory cap, and at close): every held block in place
 * (sorted by block number), flush, then the journal superblock's tail moved
 * on (s_start = log head, s_sequence = next tid), flush.
 *
 * Flushes: two a commit (three for the session's first), two a checkpoint,
 * three at close (in-place blocks, empty log, flag cleared).
 *
 * Memory: committed blocks are kept in memory until checkpointed (not read
 * back from the log).  A commit that would take them past mem_cap bytes
 * (default 4 MiB) checkpoints first, so at most mem_cap plus one
 * transaction are held; a descriptor and its copies are built in a buffer
 * of at most 2 MiB.  The holding io_manager must answer
 * reads of a block from its open transaction first, then from
 * pcw_journal_lookup (committed, not yet checkpointed: the copy in place is
 * stale), then from the device.
 */
#ifndef PCW_JOURNAL_H
#define PCW_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>

struct pcw_journal;

/* One metadata block of a transaction: its home block and new contents. */
struct pcw_jblock {
	blk64_t		blk;
	const void	*data;		/* fs->blocksize bytes */
};

#define PCW_JOURNAL_FIXED_TIME	0x1	/* every commit block at commit_sec */
/*
 * At close, once the log is empty: zero every log block this session wrote
 * and put the journal superblock's sequence and head back as they were, so
 * that the image does not depend on where transactions were cut (a
 * reproducible run: a pipe that ran dry cuts one).
 */
#define PCW_JOURNAL_WIPE	0x2

struct pcw_journal_params {
	unsigned int	flags;
	int64_t		commit_sec;	/* with PCW_JOURNAL_FIXED_TIME */
	size_t		mem_cap;	/* bytes of held blocks; 0: 4 MiB */
};

struct pcw_journal_stats {
	uint32_t	next_tid;	/* tid the next commit will have */
	uint32_t	head, tail;	/* log blocks; equal when all is checkpointed */
	uint32_t	log_blocks;	/* size of the log (s_maxlen - s_first) */
	uint64_t	transactions;	/* committed this session */
	uint64_t	journal_blocks;	/* log blocks written: descriptors, copies,
					   revokes, commits */
	uint64_t	revoke_records;
	uint64_t	checkpoints;
	uint64_t	checkpoint_blocks;	/* blocks written in place */
	uint64_t	flushes;
	size_t		held_blocks;	/* committed, not yet checkpointed */
};

/*
 * Read and check the journal superblock of FS's internal journal and map
 * the journal inode.  RAW is the channel journal and in-place writes go
 * through (below any holding io_manager); its block size must be
 * FS->blocksize.  Nothing is written.  Refusals: PCW_ET_NO_JOURNAL,
 * PCW_ET_JOURNAL_EXTERNAL, PCW_ET_JOURNAL_FAST_COMMIT,
 * PCW_ET_JOURNAL_UNSUPP (unknown features, an unknown superblock version),
 * PCW_ET_JOURNAL_CORRUPT (bad superblock, checksum or mapping),
 * PCW_ET_NEEDS_RECOVERY (s_start != 0, or needs_recovery set),
 * PCW_ET_HAS_ERRORS (s_errno set).  PARAMS may be NULL.
 */
errcode_t pcw_journal_open(ext2_filsys fs, io_channel raw,
			   const struct pcw_journal_params *params,
			   struct pcw_journal **ret);

/*
 * Commit one transaction: BLOCKS (each block at most once) and the blocks
 * REVOKED by it (metadata blocks freed in this transaction).  A revoked
 * block that BLOCKS also holds was freed and reused: its revoke is dropped
 * (jbd2_journal_cancel_revoke).  A revoke is logged only where the block
 * has a copy in the log not yet checkpointed; the held copy is dropped, so
 * a checkpoint never writes it over what the block holds now.  Returns
 * PCW_ET_JOURNAL_TX_TOO_BIG with nothing done when the transaction does
 * not fit pcw_journal_fits.  After a write or flush error the journal is
 * aborted (jbd2_journal_abort): every later call returns
 * PCW_ET_JOURNAL_ABORTED, close writes nothing, and the image holds what a
 * crash at that moment would leave (replayed up to the last transaction
 * whose commit returned 0).  pcw_journal_lookup then also answers with the
 * failed transaction's blocks: the caller must stop writing.
 */
errcode_t pcw_journal_commit(struct pcw_journal *j,
			     const struct pcw_jblock *blocks, size_t n,
			     const blk64_t *revoked, size_t nrev);

/* Write every held block in place and move the log's tail to its head. */
errcode_t pcw_journal_checkpoint(struct pcw_journal *j);

/*
 * Final checkpoint, s_start = 0 (and s_head, s_sequence for the next
 * mount), flush, then needs_recovery cleared in place
 * and in fs->super, flush; frees J whatever the result.
 */
errcode_t pcw_journal_close(struct pcw_journal *j);

/*
 * Has J written needs_recovery (or the log's s_start) in place, and no
 * close that succeeded cleared it since?  After a failure (an aborted
 * journal, a close that failed part-way) the flag may be set on disk: a
 * write that failed may have landed, or not (the superblock says).
 */
bool pcw_journal_touched(const struct pcw_journal *j);

/* Free J without writing anything: the log stays as a crash leaves it. */
void pcw_journal_abandon(struct pcw_journal *j);

/*
 * The transaction size limit: a quarter of the journal (the kernel's
 * j_max_transaction_buffers), counted in log blocks (descriptors, copies,
 * revoke blocks, commit block).  pcw_journal_max_blocks is the most blocks
 * one transaction without revokes can hold.
 */
bool pcw_journal_fits(const struct pcw_journal *j, size_t n, size_t nrev);
size_t pcw_journal_max_blocks(const struct pcw_journal *j);

/* The committed, not yet checkpointed copy of BLK, or NULL. */
const void *pcw_journal_lookup(const struct pcw_journal *j, blk64_t blk);

void pcw_journal_get_stats(const struct pcw_journal *j,
			   struct pcw_journal_stats *st);

#endif /* PCW_JOURNAL_H */
