/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io.h: the holding I/O layer (io.c, io_commit.c, io_inplace.c): the one
 * place where the image's metadata is written, and the data path beside
 * it.  Internal to lib/, not exported.
 *
 * An io_manager stacked over whatever channel libext2fs opened (unix_io, or
 * undo_io under --undo): every write arriving through fs->io is metadata
 * (inode tables, directories, extent, indirect and EA blocks, the
 * superblock) and is held in memory until pcwrite commits; reads are
 * answered from what is held.  File data never goes through it
 * (pcw_io_write_data writes it to the image descriptor, or through the undo
 * manager, at once).  The MMP block passes straight through.
 *
 * A commit (pcw_io_commit) is the unit the kernel's jbd2 calls a
 * transaction.  It is built from the filesystem's state, not from the
 * writes libext2fs happened to make: ext2fs_flush and ext2fs_write_bitmaps
 * write every group's bitmaps and every descriptor block, so the layer
 * writes only the groups whose bitmaps or descriptors changed (found by
 * comparing with what is on disk, see io_commit.c), and the superblock
 * through ext2fs_flush2 with EXT2_FLAG_SUPER_ONLY | EXT2_FLAG_MASTER_SB_ONLY
 * when more than its free counts changed (the kernel does not keep those
 * on disk either: it sums the descriptors at mount; ext2fs_close2 writes
 * them at the end).
 * The commit's blocks go to a commit writer, in this order of phases:
 *
 *   PCW_IO_BITMAP  the changed groups' block and inode bitmaps (checksums
 *                  set in their descriptors)
 *   PCW_IO_DESC    the descriptor blocks holding those groups
 *   PCW_IO_NEW     blocks allocated since the last commit: a new directory's
 *                  blocks, new extent, indirect, EA and symlink blocks (no
 *                  structure on disk points to them yet)
 *   PCW_IO_TREE    other blocks that existed before: extent, indirect and EA
 *                  blocks changed in place
 *   PCW_IO_ITABLE  inode table blocks (in place: from the highest block
 *                  down, so the inodes a new directory block names come
 *                  before the directory's own; namei.c commits a new
 *                  directory alone, for its ".." and its parent's name)
 *   PCW_IO_DIR     directory blocks that existed before (their new names
 *                  point at inodes written in the phase before)
 *   PCW_IO_FREE    bitmaps and descriptors again, for groups where
 *                  something was freed (see below)
 *   PCW_IO_SUPER   the primary superblock, last
 *
 * Without a journal there is no atomicity, only this order, and it holds
 * against a killed process (each pwrite is whole once it returns): the
 * bitmaps and descriptors claim every block and inode before anything
 * that uses them is written, and bg_itable_unused covers every inode in
 * use, so a kernel that mounts a killed image never hands out a number in
 * use.  Something freed in the commit is still marked in use in the
 * PCW_IO_BITMAP writes (the on-disk bitmap OR the new one) and released by
 * the PCW_IO_FREE writes, after the structures that used it are gone.  A
 * kill inside a commit can therefore leave blocks and inodes marked in use
 * that nothing uses ("-" bitmap differences), inodes not yet linked, or a
 * link count one off; never something in use and marked free.  A bitmap
 * and the descriptor holding its counts and checksum are different blocks:
 * a kill between them leaves that group's counts behind its bitmap (and,
 * with metadata_csum, a checksum the kernel refuses: it then allocates
 * nothing from that group).  Not covered: a block freed and allocated again
 * in the same commit (and file data written there at once) is still
 * referenced by the old structure on disk until the later phases; the
 * kernel holds freed blocks back until the transaction that freed them is
 * on disk, the journal's job.  Against a power cut (a disk that reorders
 * writes) the order needs flushes between the phases: the journal too.
 *
 * The seam for the journal: a commit writer (struct pcw_io_writer) receives
 * the commit's blocks and the metadata blocks freed in it.  The in-place
 * writer (io_inplace.c) writes them in the order given.  The jbd2 writer
 * (io_journal.c, over journal.c) declares itself atomic: the layer then
 * skips the PCW_IO_FREE pass (a transaction lands whole), holds freed
 * blocks busy until the commit that frees them (io_commit.c), and hands
 * over whole blocks; revoked is the list jbd2 needs for freed metadata;
 * reads below the layer ask the writer's lookup first (committed, not yet
 * checkpointed copies).
 */
#ifndef PCW_IO_H
#define PCW_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>

enum pcw_io_phase {
	PCW_IO_BITMAP = 0,
	PCW_IO_DESC,
	PCW_IO_NEW,
	PCW_IO_TREE,
	PCW_IO_ITABLE,
	PCW_IO_DIR,
	PCW_IO_FREE,
	PCW_IO_SUPER,
	PCW_IO_NPHASES
};

/* One block of a commit: DATA is the whole block (fs->blocksize bytes). */
struct pcw_io_block {
	blk64_t		blk;
	const void	*data;
	/*
	 * The bytes that changed, [off, off + len): all of it but for the
	 * superblock.  An in-place writer may write only those; a journal
	 * logs the whole block.
	 */
	unsigned	off, len;
	enum pcw_io_phase phase;
};

/*
 * The commit writer.  commit: make BLOCKS (in phase order, each block at
 * most once, sorted within a phase) reach the image in their order, through
 * DEV (the channel below the holding layer); REVOKED are metadata blocks
 * freed since the last commit (a block both in BLOCKS and REVOKED was freed
 * and reused).  Returns only when the blocks are written (not flushed).
 * max_blocks: the most blocks one commit may hold (0: no limit); the layer
 * commits early before passing it.  lookup: the writer's own copy of BLK
 * that the image does not hold yet, or NULL.  checkpoint: everything the
 * writer holds in place, flushed.  free: release the writer.  Any but
 * commit may be NULL.
 */
struct pcw_io_writer {
	const char	*name;
	bool		atomic;		/* a commit lands whole or not at all */
	errcode_t	(*commit)(struct pcw_io_writer *w, io_channel dev,
				  const struct pcw_io_block *blocks, size_t n,
				  const blk64_t *revoked, size_t nrev);
	size_t		(*max_blocks)(struct pcw_io_writer *w);
	const void	*(*lookup)(struct pcw_io_writer *w, blk64_t blk);
	errcode_t	(*checkpoint)(struct pcw_io_writer *w, io_channel dev);
	void		(*free)(struct pcw_io_writer *w);
};

/* In place, in the order given; adjacent whole blocks in one write. */
struct pcw_io_writer *pcw_io_inplace_writer(void);

struct pcw_io_params {
	/*
	 * File data goes to this descriptor at DATA_OFFSET + blk * blocksize
	 * (the image under unix_io); -1: through the channel below (undo_io
	 * must see every write).
	 */
	int		data_fd;
	uint64_t	data_offset;
	size_t		max_held;	/* bytes held before an early commit;
					   0: PCW_IO_MAX_HELD */
	struct pcw_io_writer *writer;	/* NULL: the in-place writer */
};

#define PCW_IO_MAX_HELD		(4U << 20)
/* Journaled: a transaction's held blocks, at most (a run commits at half). */
#define PCW_IO_MAX_HELD_JOURNAL	(4U << 20)

/*
 * Stack the layer over FS->io (the filesystem open read-write, its bitmaps
 * read), passing every write straight down until pcw_io_start; the
 * superblock as one write (libext2fs would write it in ranges, the
 * checksum last).  The channel below gets "cache=off": its own write-back
 * cache would reorder the writes.  The layer stays until ext2fs_close2 or
 * ext2fs_free closes FS->io, and closes the channel below with it.
 */
errcode_t pcw_io_push(ext2_filsys fs, const struct pcw_io_params *params);
/* Hold from now on. */
void pcw_io_start(ext2_filsys fs);
/*
 * The last commit (and the writer's checkpoint), then pass through again,
 * for ext2fs_close2.  After an error what is still held is dropped.
 */
errcode_t pcw_io_finish(ext2_filsys fs);
/*
 * Stop without committing what is held: the running transaction is
 * dropped, as jbd2_journal_abort drops it, and nothing more reaches the
 * image (a journal: the log stays as a crash leaves it, replayed to the
 * last commit).  For a run whose metadata an update left half-changed.
 * Only with an atomic writer; in place it does nothing (what is held
 * there must still be written, and the filesystem marked not clean).
 */
void pcw_io_abort(ext2_filsys fs);
/* Is the layer over FS->io? */
bool pcw_io_held(ext2_filsys fs);

/*
 * One commit: what was written since the last one, with the changed
 * groups' bitmaps and descriptors and the superblock, in the phases above.
 * Not synced.  0 without the layer, or when it is not holding.
 */
errcode_t pcw_io_commit(ext2_filsys fs);

/*
 * ext2fs_block_alloc_stats_range, told to the layer (libext2fs 1.47.0's
 * range callback loses the range): every range update in lib/ uses this.
 */
void pcw_block_alloc_stats_range(ext2_filsys fs, blk64_t blk, blk_t num,
				 int inuse);

/*
 * Blocks freed since the last commit and held busy until it (0 but with
 * the journal): free in the counts, not in the bitmap.  An allocation
 * that fails while there are some commits at a consistent point and
 * retries once (ext4_should_retry_alloc).
 */
blk64_t pcw_io_busy_blocks(ext2_filsys fs);

/*
 * Block BLK as the last commit left it: the writer's copy (committed, not
 * yet checkpointed), or the image's; never what is held for the running
 * commit.  With the journal, what a replay gives back.
 */
errcode_t pcw_io_read_committed(ext2_filsys fs, blk64_t blk, void *buf);

/* BLK, written through fs->io, is a directory block (PCW_IO_DIR). */
void pcw_io_mark_dir(ext2_filsys fs, blk64_t blk);

/*
 * ext2fs_write_dir_block4 and pcw_io_mark_dir, but a leaf block's checksum
 * (metadata_csum) is set once, when the block leaves the layer: a commit,
 * or a read of it.  Each name added to a directory rewrites its block; the
 * kernel sums the block at each change (ext4_handle_dirty_dirblock), which
 * here cost a 4 KiB crc32c per entry, an eighth of a run of small files.
 */
errcode_t pcw_io_write_dir_block(ext2_filsys fs, blk64_t blk, void *buf,
				 ext2_ino_t ino);

/*
 * COUNT blocks of file data from BUF to block BLK, around what is held
 * (any held copy of those blocks is dropped: they were freed).  *AROUND
 * grows by the bytes written to the descriptor (not counted by the
 * channel's statistics).  Written now; or, with PLUG and the jbd2 writer,
 * a run of at most PCW_IO_PLUG_BYTES may be gathered with the runs just
 * before and after it on disk into one write (the kernel's blk_plug:
 * requests held in the task and merged), made before anything reads those
 * blocks, before the next write elsewhere and at the start of every
 * commit.  A gathered write that fails fails that call, and every commit
 * after it: the blocks of inodes not yet committed may not hold their
 * data, so the image replays to the last commit.
 */
errcode_t pcw_io_write_data(ext2_filsys fs, blk64_t blk, size_t count,
			    const void *buf, uint64_t *around, bool plug);

/*
 * The jbd2 writer (io_journal.c) over FS's internal journal (FS->io, before
 * pcw_io_push: the channel below the layer).  pcw_io_journal_check runs
 * journal.h's refusals and writes nothing.
 */
struct pcw_journal_params;
struct pcw_journal_stats;
errcode_t pcw_io_journal_check(ext2_filsys fs);
errcode_t pcw_io_journal_writer(ext2_filsys fs,
				const struct pcw_journal_params *params,
				struct pcw_io_writer **ret);
/* Is FS's layer committing through the journal? */
bool pcw_io_journaled(ext2_filsys fs);
/*
 * With the journal: does the image need a replay before it is used, as
 * the run has left it so far (journal.h's pcw_journal_needs_recovery)?
 * Asked after pcw_io_finish or pcw_io_abort, before the channel closes.
 */
bool pcw_io_journal_needs_recovery(ext2_filsys fs);
void pcw_io_journal_get_stats(ext2_filsys fs, struct pcw_journal_stats *st);

/*
 * Should the caller close the transaction now, between two entries?  The
 * held set is past half of what one commit may hold: the kernel's
 * start_this_handle waits for a commit when the running transaction
 * nears its limit, so that no handle (no entry) straddles two of them.
 */
bool pcw_io_commit_due(ext2_filsys fs);
/*
 * Would CREDITS more blocks overflow the running commit (one operation
 * that must land whole: writeback's map-an-extent-and-raise-the-size)?
 * Then the caller commits first, where everything it did is whole
 * (pcw_fs_journal_start).
 */
bool pcw_io_room_short(ext2_filsys fs, blk64_t credits);

/*
 * Would CREDITS more held blocks and the bitmaps and descriptors of
 * NGROUPS more groups overflow the running commit, as its writer counts a
 * transaction (the jbd2 writer: a quarter of the journal; false for a
 * writer without a limit)?  Unlike pcw_io_room_short this counts what the
 * commit will really write: the held blocks, and the bitmaps and
 * descriptor block of every group changed so far, not a reserve for every
 * group of the filesystem.  For an operation that changes the bitmaps of
 * many groups and few blocks (a truncation: ext4_ext_remove_space asks
 * ext4_ext_truncate_extend_restart before each extent, counting a group's
 * bitmap and descriptor per extent).
 */
bool pcw_io_room_short_groups(ext2_filsys fs, blk64_t credits,
			      blk64_t ngroups);
/*
 * jbd2's handle: between start and stop the running commit is not closed
 * early (io.c's make_room), as a transaction does not commit while a
 * handle is open.  Only for an operation whose room was checked first
 * (pcw_io_room_short_groups).  They nest.
 */
void pcw_io_handle_start(ext2_filsys fs);
void pcw_io_handle_stop(ext2_filsys fs);

/* What a commit wrote, for tests and benchmarks. */
struct pcw_io_stats {
	uint64_t	commits, early_commits;
	uint64_t	blocks[PCW_IO_NPHASES];
	uint64_t	writes;		/* calls on the channel below */
};
void pcw_io_get_stats(ext2_filsys fs, struct pcw_io_stats *st);

#endif /* PCW_IO_H */
