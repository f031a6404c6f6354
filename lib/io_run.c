/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_run.c: the run's side of the I/O layer: the first write (the clean flag
 * cleared on disk), file data written around the held metadata, each
 * commit, and the report events.  Everything the image receives goes
 * through here or through io.c under it; the layers above never write the
 * image themselves.
 *
 * The layers above hook in at the first write and before each commit
 * (pfs->hooks, set by pcw_fs_open: the quota files are read at the first
 * write and follow the inodes of each commit), as ext4 registers
 * j_commit_callback with jbd2: the I/O layer calls them without knowing
 * what they are.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "io_run.h"
#include "journal.h"
#include "io.h"

/*
 * The report callback only reports: while it runs, a commit is refused
 * (pcw_fs_commit).  Entries a caller holds until their commit event must
 * not be overtaken: a warning, and with PCW_TREE_ORDER_EVENTS a page or
 * writeback event, first commits the entries before it (which emits
 * PCW_EV_COMMIT).  With PCW_TREE_HOLD_EVENTS the caller holds those events
 * with the entries, and a commit comes first only once
 * PCW_TREE_HELD_EVENTS wait: a commit per entry that has data would cost
 * a journal flush each.  The kernel has no such ordering: its tracepoints
 * and its journal commits are unrelated.  A failed commit leaves the
 * entries waiting; the tree's next commit (at the latest pcw_tree_close)
 * says it.
 */
void pcw_emit(pcw_fs *pfs, const struct pcw_event *ev)
{
	bool data_event = ev->type == PCW_EV_PAGE ||
			  ev->type == PCW_EV_WRITEBACK;

	if (!pfs->report)
		return;
	if (pfs->uncommitted && !pfs->in_report &&
	    (ev->type == PCW_EV_WARNING ||
	     (data_event && pfs->order_events) ||
	     (data_event && pfs->hold_events &&
	      ++pfs->held_events > PCW_TREE_HELD_EVENTS)))
		pcw_fs_commit(pfs);
	pfs->in_report++;
	pfs->report(ev, pfs->report_arg);
	pfs->in_report--;
}

/*
 * The first write of a run.  In place: clear the clean flag on disk, so an
 * image whose writer is killed is marked for fsck rather than trusted.
 * With the journal the flag stays (the first commit sets needs_recovery).
 * From then on every metadata write is held by the I/O layer (io.c) until
 * a commit: a jbd2 transaction (io_journal.c), or in place the changed
 * groups' bitmaps and descriptors before what uses them.
 */
errcode_t pcw_fs_begin_write(pcw_fs *pfs)
{
	struct pcw_io_params io = { .data_fd = -1 };
	ext2_filsys fs;
	errcode_t err;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (pfs->writing)
		return pcw_undo_room(pfs, 0);	/* room to finish, or stop here */
	if (pfs->undo_file) {
		err = pcw_undo_reopen(pfs, &fs);
		if (err)
			return err;
		ext2fs_free(pfs->fs);
		pfs->fs = fs;
	}
	fs = pfs->fs;
	/* The handle --undo opened: the same checks on its allocations. */
	err = pcw_validity_attach(pfs);
	if (err)
		return err;
	/* The layers above (quota: charged from the first inode write on). */
	if (pfs->begin_hook) {
		err = pfs->begin_hook(pfs);
		if (err)
			return err;
	}
	/*
	 * File data goes to the image's descriptor, around the layer; through
	 * --undo's manager, so that it saves every block first.
	 */
	if (fs->io->manager == unix_io_manager) {
		io.data_fd = pfs->lock_fd;
		io.data_offset = pfs->image_offset;
	}
	if (pfs->journaled) {
		struct pcw_journal_params jp = { 0 };

		/*
		 * A reproducible run: commit times from its clock, and the log
		 * wiped at the end (a pipe that ran dry cut a transaction
		 * somewhere another run did not).
		 */
		if (pfs->fixed_time) {
			jp.flags = PCW_JOURNAL_FIXED_TIME | PCW_JOURNAL_WIPE;
			jp.commit_sec = pfs->now;
		}
		err = pcw_io_journal_writer(fs, &jp, &io.writer);
		if (err)
			return err;
		/*
		 * A transaction's worth is held, up to a memory cap: its limit
		 * is a quarter of the journal (128 MiB of a 64 GiB image's
		 * 512 MiB journal), which held whole made the run's memory
		 * grow with the image (issue 17).  The kernel's transactions
		 * are bounded by the journal alone because the page cache
		 * holds their buffers; here they are the process's memory.
		 */
		io.max_held = io.writer->max_blocks(io.writer) *
			      (size_t)fs->blocksize;
		if (io.max_held > PCW_IO_MAX_HELD_JOURNAL)
			io.max_held = PCW_IO_MAX_HELD_JOURNAL;
	}
	err = pcw_io_push(fs, &io);
	if (err) {
		if (io.writer && !pcw_io_held(fs))
			io.writer->free(io.writer);
		return err;
	}
	if (ext2fs_has_feature_mmp(fs->super)) {
		fs->flags &= ~EXT2_FLAG_SKIP_MMP;
		err = ext2fs_mmp_start(fs);
		if (err)
			return err;
	}
	/*
	 * With a journal VALID_FS stays set, as the kernel keeps it: the
	 * first commit sets needs_recovery instead, and an interrupted run
	 * leaves an image to replay, not one to refuse.
	 */
	if (!pfs->journaled) {
		fs->super->s_state &= ~EXT2_VALID_FS;
		ext2fs_mark_super_dirty(fs);
		fs->flags |= EXT2_FLAG_SUPER_ONLY;
		err = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
		fs->flags &= ~EXT2_FLAG_SUPER_ONLY;
		if (err)
			return err;
	}
	pcw_io_start(fs);
	pfs->writing = true;
	return 0;
}

/*
 * File data goes to the image at once, around the blocks the I/O layer
 * holds (a block freed during the batch loses its held copy there, so the
 * commit never writes stale metadata over the data).
 */
errcode_t pcw_fs_write_data(pcw_fs *pfs, blk64_t blk, size_t count,
			    const void *buf)
{
	errcode_t err;

	/* --undo saves each block first: room for them, or the run stops. */
	err = pcw_undo_room(pfs, count);
	if (err)
		return err;
	return pcw_io_write_data(pfs->fs, blk, count, buf, &pfs->data_bytes,
				 pfs->plug);
}

/*
 * A regular-file image is still as long as its filesystem: another process
 * may have truncated it during the run.  A write past the end of a file
 * just extends it, so only its size can tell.
 */
errcode_t pcw_check_image_size(pcw_fs *pfs)
{
	struct stat st;

	if (!pfs->image_is_file)
		return 0;
	if (fstat(pfs->lock_fd, &st) < 0)
		return errno;
	if ((uint64_t)st.st_size < pfs->fs_end) {
		pfs->meta_error = true;
		return PCW_ET_IMAGE_SHRANK;
	}
	return 0;
}

/*
 * A file (or a batch of a tree's entries) is done: one commit of the I/O
 * layer (not synced).  A file reported done survives a killed process
 * (tests/kill9.bats), and what the killed run leaves has no block or inode
 * in use that the bitmaps call free.
 */
errcode_t pcw_fs_commit(pcw_fs *pfs)
{
	errcode_t err, qerr = 0;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (pfs->in_report)
		return PCW_ET_COMMIT_IN_CALLBACK;
	if (!pfs->writing || !pfs->fs)
		return 0;
	err = pcw_check_image_size(pfs);
	if (err)
		return err;
	/* What the layers above add to it (the quota files, after the inodes
	   of this commit). */
	if (pfs->commit_hook)
		qerr = pfs->commit_hook(pfs);
	err = pcw_io_commit(pfs->fs);
	if (err)
		pfs->meta_error = true;
	if (!err && !qerr && pfs->uncommitted) {
		struct pcw_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = PCW_EV_COMMIT;
		ev.u.commit.entries = pfs->uncommitted;
		pfs->uncommitted = 0;
		pfs->held_events = 0;
		pcw_emit(pfs, &ev);
	}
	/* Releases waiting for their orphan to be on disk (inode.c). */
	if (!err && !qerr && pfs->nevict && pfs->evict_hook &&
	    !pfs->in_evict) {
		pfs->in_evict = true;
		err = pfs->evict_hook(pfs);
		pfs->in_evict = false;
	}
	return qerr ? qerr : err;
}

errcode_t pcw_fs_journal_start(pcw_fs *pfs, blk64_t credits)
{
	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (!pfs->writing || !pfs->fs || pfs->in_report ||
	    !pcw_io_room_short(pfs->fs, credits))
		return 0;
	return pcw_fs_commit(pfs);
}

bool pcw_fs_commit_due(pcw_fs *pfs, unsigned pending, errcode_t err,
		       const struct timespec *since, const struct timespec *now)
{
	int64_t ns = (now->tv_sec - since->tv_sec) * 1000000000LL +
		     (now->tv_nsec - since->tv_nsec);

	/* A failed entry is committed at once: the run stops there. */
	if (err)
		return true;
	if (!pfs->journaled)
		return pending >= PCW_TREE_BATCH_ENTRIES ||
		       ns >= PCW_TREE_BATCH_NSEC;
	/*
	 * A transaction closes as the kernel's do: near its size limit, or
	 * after the commit interval (not in a reproducible run: its
	 * boundaries must not depend on a clock); the caller also closes it
	 * before waiting for input, and at the end.
	 */
	if (pcw_io_commit_due(pfs->fs))
		return true;
	return !pfs->fixed_time && ns >= (int64_t)pfs->commit_sec * 1000000000LL;
}

errcode_t pcw_fs_committed_size(pcw_fs *pfs, ext2_ino_t ino, uint64_t *size)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	dgrp_t group;
	uint64_t off;
	struct ext2_inode inode;
	unsigned char *buf;
	errcode_t err;

	*size = 0;
	if (!ino || ino > fs->super->s_inodes_count)
		return EXT2_ET_BAD_INODE_NUM;
	group = (ino - 1) / fs->super->s_inodes_per_group;
	off = (uint64_t)((ino - 1) % fs->super->s_inodes_per_group) * isize;
	err = ext2fs_get_mem(fs->blocksize, &buf);
	if (err)
		return err;
	err = pcw_io_read_committed(fs, ext2fs_inode_table_loc(fs, group) +
				    off / fs->blocksize, buf);
	if (!err) {
		/* the on-disk (little-endian) inode's first 128 bytes */
		memcpy(&inode, buf + off % fs->blocksize, sizeof(inode));
		if (ext2fs_le16_to_cpu(inode.i_links_count) &&
		    ext2fs_le16_to_cpu(inode.i_mode))
			*size = ext2fs_le32_to_cpu(inode.i_size) |
				(uint64_t)ext2fs_le32_to_cpu(inode.i_size_high)
				<< 32;
	}
	ext2fs_free_mem(&buf);
	return err;
}

uint64_t pcw_fs_transactions(pcw_fs *pfs)
{
	struct pcw_journal_stats st;

	if (!pfs->journaled || !pfs->fs)
		return 0;
	pcw_io_journal_get_stats(pfs->fs, &st);
	return st.transactions;
}
