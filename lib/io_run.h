/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_run.h: layer 3, the I/O layer as the layers above use it (io_run.c,
 * undo.c); the io_manager itself is io.h's.
 */
#ifndef PCW_IO_RUN_H
#define PCW_IO_RUN_H

#include "host.h"
#include "io.h"
/* io_run.c: the events of the report; the first write; the image's size */
void pcw_emit(pcw_fs *pfs, const struct pcw_event *ev);
errcode_t pcw_check_image_size(pcw_fs *pfs);

/*
 * One commit of the I/O layer (io.h), not synced: a file reported done
 * survives a killed process.  pcw_mapping_finish calls it for a single
 * file, pcw_tree_commit for a tree's batch of entries (a tree's files leave
 * it to the batch).
 */
errcode_t pcw_fs_commit(pcw_fs *pfs);
/*
 * ext4_journal_start() for an operation that dirties at most CREDITS
 * blocks of metadata and must reach the image in one commit: when the
 * running commit has no room for them, commit it now, before the
 * operation begins (start_this_handle waits for the commit the same way).
 */
errcode_t pcw_fs_journal_start(pcw_fs *pfs, blk64_t credits);
/*
 * Should a tree close its batch (a transaction) after PENDING entries, the
 * first at SINCE, the clock at NOW?  ERR: the entry failed.  A commit
 * writes the blocks the entries changed (inode table, directory and extent
 * blocks) from the block cache: one per entry would write each inode table
 * and directory block again for every name in it.  As the kernel's journal
 * commits at intervals, a batch is this many entries or this long (in
 * place; with a journal, near the transaction's limit or after --commit's
 * interval), whichever comes first; what the caller reports as done waits
 * for the commit (res->committed).
 */
#define PCW_TREE_BATCH_ENTRIES	256	/* without a journal */
#define PCW_TREE_BATCH_NSEC	(50 * 1000000LL)
#define PCW_COMMIT_SEC		5	/* ext4's default commit= */
bool pcw_fs_commit_due(pcw_fs *pfs, unsigned pending, errcode_t err,
		       const struct timespec *since, const struct timespec *now);
/*
 * undo.c: --undo.  Reopen the image through libext2fs's undo manager (over
 * a backing manager that writes each record before the image block it
 * protects); check that the undo file has room for COUNT more blocks and
 * for finishing the run (PCW_ET_UNDO_*: stop, nothing written); after the
 * close, check it is complete and sync it; release it after a refusal.
 */
errcode_t pcw_undo_reopen(pcw_fs *pfs, ext2_filsys *ret);
errcode_t pcw_undo_room(pcw_fs *pfs, uint64_t count);
errcode_t pcw_undo_finish(pcw_fs *pfs);
void pcw_undo_release(pcw_fs *pfs);

/*
 * The size of inode INO as the last commit left it (io.h's
 * pcw_io_read_committed): 0 for an inode no name links there.  With the
 * journal, what a replay gives back after a failed commit.
 */
errcode_t pcw_fs_committed_size(pcw_fs *pfs, ext2_ino_t ino, uint64_t *size);

/* Journal transactions committed so far this run (0 without one). */
uint64_t pcw_fs_transactions(pcw_fs *pfs);

/* COUNT blocks of file data from BUF to block BLK of the image. */
errcode_t pcw_fs_write_data(pcw_fs *pfs, blk64_t blk, size_t count,
			    const void *buf);

#endif /* PCW_IO_RUN_H */
