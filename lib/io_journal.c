/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_journal.c: the jbd2 commit writer (io.h's seam, journal.h's writer).
 * Where the filesystem has an internal journal, each commit of the holding
 * layer is one jbd2 transaction: the layer has already written the file
 * data the transaction points to (data=ordered), and pcw_journal_commit
 * logs the metadata blocks, flushes, writes the commit block and flushes
 * again; the blocks reach their homes only at a checkpoint (the log three
 * quarters full, the held copies past their memory cap, and at the end).
 *
 * The writer declares itself atomic: the layer then writes each changed
 * bitmap exactly once (no "in use on disk OR in memory" pass for freed
 * things; a transaction lands whole).  Its end (io.h's checkpoint) is
 * ext4_put_super's: the last checkpoint, the log marked empty, flushed, and
 * only then needs_recovery cleared in place.
 *
 * A commit larger than a transaction may be (a quarter of the journal)
 * should not happen: the layer commits early before its held set passes
 * max_blocks, and entry boundaries close transactions long before
 * (pcw_io_commit_due).  Truncating a file over more groups than a
 * transaction has room for (each a bitmap and a descriptor block, which
 * the held set does not count) is split by truncate.c into transactions
 * under the orphan list, as ext4_truncate splits it (a file freed at its
 * last link too, after the commit that drops it: inode.c).  Still not
 * split: a directory growing into an htree.  Such a commit is logged as
 * several transactions in the layer's phase order (bitmaps and
 * descriptors first), which is the in-place writer's guarantee, not the
 * journal's; stats count them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "io_priv.h"
#include "journal.h"
#include "pcw_err.h"

struct jwriter {
	struct pcw_io_writer w;
	struct pcw_journal *j;
	struct pcw_jblock *jb;
	size_t		cap;
	struct pcw_journal_stats last;	/* after the journal was closed */
	uint64_t	splits;		/* commits logged as several */
	errcode_t	err;		/* what aborted the journal */
	bool		left_recovery;	/* a close that failed left the
					   image needing a replay */
};

/*
 * After a failure the journal answers PCW_ET_JOURNAL_ABORTED: the caller
 * hears the error that aborted it instead (a full undo filesystem, EIO),
 * as the in-place writer would go on returning it, so that one failure is
 * one message.
 */
static errcode_t jw_err(struct jwriter *jw, errcode_t err)
{
	if (err == PCW_ET_JOURNAL_ABORTED && jw->err)
		return jw->err;
	if (err && !jw->err)
		jw->err = err;
	return err;
}

static const char jwriter_name[] = "jbd2";

static errcode_t jw_commit(struct pcw_io_writer *w, io_channel dev,
			   const struct pcw_io_block *b, size_t n,
			   const blk64_t *revoked, size_t nrev)
{
	struct jwriter *jw = (struct jwriter *)w;
	size_t i, max, done;
	errcode_t err;

	(void)dev;
	if (!jw->j)
		return PCW_ET_JOURNAL_ABORTED;
	if (jw->cap < n) {
		struct pcw_jblock *p = realloc(jw->jb, n * sizeof(*p));

		if (!p)
			return EXT2_ET_NO_MEMORY;
		jw->jb = p;
		jw->cap = n;
	}
	/* Whole blocks: the journal logs a block, never a byte range. */
	for (i = 0; i < n; i++) {
		jw->jb[i].blk = b[i].blk;
		jw->jb[i].data = b[i].data;
	}
	if (pcw_journal_fits(jw->j, n, nrev))
		return jw_err(jw, pcw_journal_commit(jw->j, jw->jb, n, revoked,
						     nrev));
	max = pcw_journal_max_blocks(jw->j);
	if (!max)
		return PCW_ET_JOURNAL_TX_TOO_BIG;
	/* The revokes with the first part: they may free room for it. */
	while (max > 1 && !pcw_journal_fits(jw->j, max, nrev))
		max--;
	jw->splits++;
	for (done = 0; done < n; done += max) {
		size_t k = n - done < max ? n - done : max;

		err = pcw_journal_commit(jw->j, jw->jb + done, k,
					 done ? NULL : revoked,
					 done ? 0 : nrev);
		if (err)
			return jw_err(jw, err);
	}
	return 0;
}

static size_t jw_max_blocks(struct pcw_io_writer *w)
{
	struct jwriter *jw = (struct jwriter *)w;

	return jw->j ? pcw_journal_max_blocks(jw->j) : 0;
}

static const void *jw_lookup(struct pcw_io_writer *w, blk64_t blk)
{
	struct jwriter *jw = (struct jwriter *)w;

	return jw->j ? pcw_journal_lookup(jw->j, blk) : NULL;
}

/*
 * Does the superblock on DEV say needs_recovery?  After a failure: the flag
 * is set before the log's s_start and cleared after it, so it alone says
 * whether a replay is due.  Unreadable: yes.
 */
static bool disk_needs_recovery(io_channel dev)
{
	unsigned char buf[2 * SUPERBLOCK_OFFSET];
	struct ext2_super_block sb;

	if (io_channel_read_blk64(dev, 0, -(int)sizeof(buf), buf))
		return true;
	memcpy(&sb, buf + SUPERBLOCK_OFFSET, sizeof(sb));
	return ext2fs_le32_to_cpu(sb.s_feature_incompat) &
	       EXT3_FEATURE_INCOMPAT_RECOVER;
}

/* The end of the run: checkpoint, the log empty, needs_recovery cleared. */
static errcode_t jw_checkpoint(struct pcw_io_writer *w, io_channel dev)
{
	struct jwriter *jw = (struct jwriter *)w;
	errcode_t err;
	bool touched;

	if (!jw->j)
		return 0;
	pcw_journal_get_stats(jw->j, &jw->last);
	touched = pcw_journal_touched(jw->j);
	err = pcw_journal_close(jw->j);
	jw->j = NULL;
	jw->left_recovery = err && touched && disk_needs_recovery(dev);
	return jw_err(jw, err);
}

/* A run that stops without its end: the log stays as a crash leaves it. */
static void jw_free(struct pcw_io_writer *w)
{
	struct jwriter *jw = (struct jwriter *)w;

	pcw_journal_abandon(jw->j);
	free(jw->jb);
	free(jw);
}

errcode_t pcw_io_journal_check(ext2_filsys fs)
{
	struct pcw_journal *j;
	errcode_t err;

	if (!ext2fs_has_feature_journal(fs->super))
		return PCW_ET_NO_JOURNAL;
	err = pcw_journal_open(fs, fs->io, NULL, &j);
	pcw_journal_abandon(j);
	return err;
}

errcode_t pcw_io_journal_writer(ext2_filsys fs,
				const struct pcw_journal_params *params,
				struct pcw_io_writer **ret)
{
	struct jwriter *jw;
	errcode_t err;

	*ret = NULL;
	jw = calloc(1, sizeof(*jw));
	if (!jw)
		return EXT2_ET_NO_MEMORY;
	err = pcw_journal_open(fs, fs->io, params, &jw->j);
	if (err) {
		free(jw);
		return err;
	}
	jw->w.name = jwriter_name;
	jw->w.atomic = true;
	jw->w.commit = jw_commit;
	jw->w.max_blocks = jw_max_blocks;
	jw->w.lookup = jw_lookup;
	jw->w.checkpoint = jw_checkpoint;
	jw->w.free = jw_free;
	*ret = &jw->w;
	return 0;
}

bool pcw_io_journaled(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	return h && h->writer && h->writer->name == jwriter_name;
}

bool pcw_io_journal_needs_recovery(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	struct jwriter *jw;

	if (!pcw_io_journaled(fs))
		return false;
	jw = (struct jwriter *)h->writer;
	if (!jw->j)
		return jw->left_recovery;
	return pcw_journal_touched(jw->j) && disk_needs_recovery(h->lower);
}

void pcw_io_journal_get_stats(ext2_filsys fs, struct pcw_journal_stats *st)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	struct jwriter *jw;

	memset(st, 0, sizeof(*st));
	if (!pcw_io_journaled(fs))
		return;
	jw = (struct jwriter *)h->writer;
	if (jw->j)
		pcw_journal_get_stats(jw->j, st);
	else
		*st = jw->last;
}
