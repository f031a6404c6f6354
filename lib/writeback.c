/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * writeback.c: ext4_writepages() and mpage_map_and_submit_extent().
 *
 * Dirty pages are lined up by index and written in that order.  Blocks that
 * already have a physical block are written in place (then converted from
 * unwritten, or mapped when they were pending).  Contiguous delayed blocks
 * form runs: each run is allocated with one ext2fs_new_range
 * (goal: right after the file's previous run), written with one
 * io_channel_write_blk64, recorded with ext2fs_block_alloc_stats_range and
 * mapped as one extent.  Data first, then the extent tree, then the inode:
 * i_disksize only ever covers data that is on disk.
 *
 * The kernel caps one writeback pass at 2048 blocks (MAX_WRITEPAGES_EXTENT_LEN)
 * and lets mballoc normalise the request; pcwrite allocates up to the extent
 * limit in one go, and merges a run into the previous extent when the two
 * are physically adjacent.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aops.h"

/* Write the in-memory inode, its size being what is on disk. */
errcode_t pcw_write_inode(struct pcw_mapping *m)
{
	errcode_t err;

	err = ext2fs_inode_size_set(m->ei.fs, (struct ext2_inode *)m->ei.inode,
				    m->i_disksize);
	if (err)
		return err;
	err = ext2fs_write_inode_full(m->ei.fs, m->ei.ino,
				      (struct ext2_inode *)m->ei.inode,
				      EXT2_INODE_SIZE(m->ei.fs->super));
	if (!err)
		m->ei.dirty_inode = false;
	return err;
}

static void emit_writeback(struct pcw_mapping *m, blk64_t lblk, blk64_t pblk,
			   blk64_t len, bool overwrite)
{
	struct pcw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PCW_EV_WRITEBACK;
	ev.file = m->name;
	ev.u.writeback.lblk = lblk;
	ev.u.writeback.pblk = pblk;
	ev.u.writeback.len = len;
	ev.u.writeback.overwrite = overwrite;
	pcw_emit(m->ei.pfs, &ev);
}

/* Write blocks wb[i..i+len) to PBLK on: one I/O per piece contiguous in memory. */
static errcode_t submit_blocks(struct pcw_mapping *m, size_t i, blk64_t len,
			       blk64_t pblk)
{
	size_t k = i, end = i + len;
	errcode_t err;

	while (k < end) {
		size_t s = k;

		while (k + 1 < end &&
		       m->wb[k + 1].data == m->wb[k].data + m->blocksize)
			k++;
		k++;
		err = pcw_fs_write_data(m->ei.pfs, pblk + (s - i), k - s,
					m->wb[s].data);
		if (err)
			return err;
	}
	return 0;
}

static void clean_blocks(struct pcw_mapping *m, size_t i, size_t end)
{
	for (; i < end; i++)
		m->wb[i].page->dirty &= ~(1ULL << m->wb[i].bit);
}

/*
 * The start of one mapping (ext4_writepages' ext4_journal_start): the
 * running commit must have room for all the metadata it can dirty, or it is
 * committed first, here, where every mapping before is whole and the size
 * on disk covers it (end_mapping).  A commit inside the mapping (io.c's
 * make_room) would log an extent without the size over it, or a size over
 * blocks not mapped yet: e2fsck clears an extent past i_size under an
 * index block (its end exceeds the index's), and the size left then reads
 * zeroes where data was (a file of 20,000 extents on a 1 MiB journal).
 * Only the extent tree's blocks count: a run's bitmaps and descriptors are
 * every commit's own.
 */
static errcode_t start_mapping(struct pcw_mapping *m, blk64_t len)
{
	return pcw_fs_journal_start(m->ei.pfs, pcw_map_credits(&m->ei, len));
}

/*
 * The end of one mapping: blocks below END are on disk and mapped (the
 * pass goes in logical order), so the size on disk follows them, and the
 * inode is written with the tree (its root, i_blocks) in the same commit.
 * mpage_map_and_submit_extent raises i_disksize after each extent the same
 * way, in the handle that mapped it.  Not over a hole a write past EOF
 * skipped, below its data (data_from).
 */
static errcode_t end_mapping(struct pcw_mapping *m, blk64_t end)
{
	uint64_t upto = (uint64_t)end << m->blkbits;

	if (upto > m->i_size)
		upto = m->i_size;
	if (m->i_disksize < upto && upto > m->data_from)
		m->i_disksize = upto;
	if (m->i_disksize == (uint64_t)EXT2_I_SIZE(m->ei.inode) &&
	    !m->ei.dirty_inode)
		return 0;
	return pcw_write_inode(m);
}

/*
 * The allocation for logical block LBLK found no free block, but blocks
 * this transaction freed are held busy until it commits (io_commit.c):
 * commit, so that they are free, and let the caller retry once.  The
 * kernel's ext4_writepages does the same on ENOSPC: it stops its handle,
 * forces a commit (jbd2_journal_force_commit_nested, when
 * ext4_should_retry_alloc finds frees pending) and maps the extent again.
 * Its transaction is consistent at every handle boundary; here the
 * commit point is made one: every dirty block before LBLK is written and
 * mapped (this pass goes in logical order), so the size on disk may cover
 * it (once some of this write's data is below it: data_from), as
 * mpage_map_and_submit_extent raises i_disksize after each extent, and the
 * inode is written with it: end_mapping, the one way a mapping closes
 * (it writes the inode only when the size or the inode changed since it
 * was last written).  The entry (a tree's file, a replaced file) is then
 * in two transactions: a crash between them replays to a shorter file, as
 * a crash after a kernel's writeback would.
 * ENOSPC when nothing is busy (no journal, or nothing freed): a commit
 * would not help.
 */
static errcode_t commit_for_space(struct pcw_mapping *m, blk64_t lblk)
{
	errcode_t err;

	if (!pcw_io_busy_blocks(m->ei.fs))
		return ENOSPC;
	err = end_mapping(m, lblk);
	if (!err)
		err = pcw_fs_commit(m->ei.pfs);
	return err;
}

/*
 * mpage_map_and_submit_extent(): allocate the delayed blocks wb[i..end),
 * write them, map them.  A run may need several ranges when free space is
 * fragmented.
 *
 * With DEFER (the tail of a stream written back in the background), a run
 * whose first range ends short (free space ends at a group's metadata) is
 * written up to there; the rest stays delayed and goes out at the front of
 * the next piece, so that no piece is written in two writes.
 * *DEFERRED is then the first logical block left.
 */
static errcode_t map_and_submit(struct pcw_mapping *m, size_t i, size_t end,
				bool defer, uint64_t *nr_written,
				blk64_t *failed_lblk, blk64_t *deferred)
{
	errcode_t err;
	size_t start = i;
	blk64_t retried = ~0ULL;	/* the run retried after a commit */

	while (i < end) {
		/*
		 * Only a short tail: in fragmented free space every piece
		 * writes its ranges, or it would write one a call.
		 */
		if (defer && i > start && (i - start) * 2 >= end - start) {
			*deferred = m->wb[i].lblk;
			return 0;
		}
		struct pcw_alloc a;
		blk64_t k;

		*failed_lblk = m->wb[i].lblk;
		err = start_mapping(m, end - i);
		if (err)
			return err;
		/*
		 * Room only once this transaction's frees are released (a
		 * file replaced on a full filesystem): commit before taking
		 * the few blocks that are free now, which would cut the file
		 * into one extent more than the same write without the
		 * journal makes.
		 */
		if (retried != m->wb[i].lblk &&
		    pcw_busy_short(m->ei.pfs,
				   EXT2FS_NUM_B2C(m->ei.fs, end - i))) {
			retried = m->wb[i].lblk;
			err = commit_for_space(m, retried);
			if (err)
				return err;
		}
		err = pcw_alloc_run(&m->ei, m->wb[i].lblk, end - i, true,
				    m->wb_background, &a);
		if (!err) {
			err = submit_blocks(m, i, a.len, a.pblk);
			if (!err)
				err = pcw_map_insert(&m->ei, m->wb[i].lblk,
						     a.pblk, a.len, false);
			if (err)
				pcw_free_run(&m->ei, &a);
		}
		/* No block for the run (or for the extent tree's growth). */
		if ((err == ENOSPC || err == EXT2_ET_BLOCK_ALLOC_FAIL) && retried != m->wb[i].lblk) {
			retried = m->wb[i].lblk;
			err = commit_for_space(m, retried);
			if (!err)
				continue;
		}
		if (err)
			return err;
		/* One reservation per logical cluster given a physical one. */
		pcw_release_reservation(&m->ei, a.clusters);
		for (k = 0; k < a.len; k++) {
			struct pcw_wb_block *w = &m->wb[i + k];
			uint64_t bit = 1ULL << w->bit;

			w->page->delayed &= ~bit;
			w->page->mapped |= bit;
			w->page->pblk[w->bit] = a.pblk + k;
		}
		clean_blocks(m, i, i + a.len);
		emit_writeback(m, m->wb[i].lblk, a.pblk, a.len, false);
		*nr_written += a.len;
		i += a.len;
		/* written and mapped: an error now ends the file after them */
		*failed_lblk = m->wb[i - 1].lblk + 1;
		err = end_mapping(m, m->wb[i - 1].lblk + 1);
		if (err)
			return err;
	}
	return 0;
}

/*
 * No dirty block is left (all written, or dropped after an error): release
 * what this file still holds reserved, the reservations of delayed blocks
 * no write committed (ext4_da_release_space at invalidate), and free its
 * pending blocks.
 */
void pcw_drop_delayed(struct pcw_mapping *m)
{
	unsigned s;

	for (s = 0; s < m->next_slot; s++)
		if (m->pages[s].used)
			m->pages[s].delayed &= m->pages[s].dirty;
	pcw_release_reservation(&m->ei, m->ei.reserved);
	/* and the blocks allocated for data that never got there */
	pcw_free_pending(m);
}

static int cmp_page_index(const void *a, const void *b)
{
	uint64_t ia = ((const struct pcw_wb_block *)a)->page->index;
	uint64_t ib = ((const struct pcw_wb_block *)b)->page->index;

	return ia < ib ? -1 : ia > ib;
}

/* Line up the dirty blocks by logical block number. */
static size_t collect_dirty(struct pcw_mapping *m)
{
	size_t n = 0, np = 0, p;
	unsigned s, b;
	bool in_order = true;

	/* A stream's dirty pages are in index order in the arena already. */
	for (s = 0; s < m->next_slot; s++) {
		struct pcw_page *page = &m->pages[s];

		if (!page->used || !(page->flags & PG_dirty))
			continue;
		if (np && m->pages[s].index < m->wb[np - 1].lblk)
			in_order = false;
		/* stash the page pointer; wb[] is filled below */
		m->wb[np].page = page;
		m->wb[np].lblk = page->index;
		np++;
	}
	if (!in_order)
		qsort(m->wb, np, sizeof(*m->wb), cmp_page_index);
	/* Expand pages into blocks, back to front so nothing is overwritten. */
	for (p = 0; p < np; p++)
		n += __builtin_popcountll(m->wb[p].page->dirty);
	{
		size_t out = n;

		for (p = np; p-- > 0;) {
			struct pcw_page *page = m->wb[p].page;

			for (b = m->bpp; b-- > 0;) {
				if (!(page->dirty & (1ULL << b)))
					continue;
				out--;
				m->wb[out].page = page;
				m->wb[out].bit = b;
				m->wb[out].lblk = page->index * m->bpp + b;
				m->wb[out].data = page->data +
						  ((size_t)b << m->blkbits);
			}
		}
	}
	return n;
}

/*
 * Data landed in the blocks wb[i..j) that have a physical block: those in
 * unwritten extents become initialized, and pending blocks (block-mapped,
 * nodelalloc) enter the map, a run at a time.  Only now: a block is mapped
 * as data only once its data is on disk.
 */
static errcode_t map_written(struct pcw_mapping *m, size_t i, size_t j,
			     blk64_t *failed_lblk)
{
	size_t k, e, q;
	errcode_t err;

	for (k = i; k < j; k = e) {
		struct pcw_page *p = m->wb[k].page;
		uint64_t kind = (p->unwritten | p->pending) &
				(1ULL << m->wb[k].bit);
		bool pending;

		e = k + 1;
		if (!kind)
			continue;
		pending = p->pending & kind;
		while (e < j && ((pending ? m->wb[e].page->pending
					  : m->wb[e].page->unwritten) &
				 (1ULL << m->wb[e].bit)))
			e++;
		if (pending)
			err = pcw_map_insert(&m->ei, m->wb[k].lblk,
					     p->pblk[m->wb[k].bit], e - k,
					     false);
		else
			err = pcw_map_convert(&m->ei, m->wb[k].lblk, e - k);
		if (err) {
			*failed_lblk = m->wb[k].lblk;
			return err;
		}
		for (q = k; q < e; q++) {
			uint64_t bit = 1ULL << m->wb[q].bit;

			if (pending) {
				m->wb[q].page->pending &= ~bit;
				pcw_pending_mapped(&m->ei, 1);
			} else {
				m->wb[q].page->unwritten &= ~bit;
			}
		}
	}
	return 0;
}

/*
 * The blocks wb[i..j), contiguous on disk, already have a home: write them
 * in place, then map what the write made data.
 */
static errcode_t write_mapped(struct pcw_mapping *m, size_t i, size_t j,
			      uint64_t *nr_written, blk64_t *failed_lblk)
{
	blk64_t pblk = m->wb[i].page->pblk[m->wb[i].bit];
	errcode_t err;

	*failed_lblk = m->wb[i].lblk;
	err = start_mapping(m, j - i);
	if (err)
		return err;
	err = submit_blocks(m, i, j - i, pblk);
	if (err)
		return err;
	err = map_written(m, i, j, failed_lblk);
	if (err)
		return err;
	clean_blocks(m, i, j);
	emit_writeback(m, m->wb[i].lblk, pblk, j - i, true);
	*nr_written += j - i;
	*failed_lblk = m->wb[j - 1].lblk + 1;
	return end_mapping(m, m->wb[j - 1].lblk + 1);
}

static bool is_mapped(const struct pcw_wb_block *w)
{
	return w->page->mapped & (1ULL << w->bit);
}

static bool is_delayed(const struct pcw_wb_block *w)
{
	return w->page->delayed & (1ULL << w->bit);
}

/*
 * One pass in logical order, as the kernel's writepages walks the pages by
 * index: runs of blocks with a home on disk are written in place, runs of
 * delayed blocks are allocated, written and mapped.  On an error nothing
 * after it has been written or mapped, so the file can end where its data
 * on disk ends.
 */
errcode_t pcw_writepages(struct pcw_mapping *m, uint64_t *nr_written)
{
	size_t n, i, j;
	errcode_t err = 0, err2;
	blk64_t failed_lblk = ~0ULL, deferred = ~0ULL;
	uint64_t upto;
	unsigned s;

	*nr_written = 0;
	if (!m->nr_dirty)
		goto update;
	n = collect_dirty(m);

	for (i = 0; i < n && !err; i = j) {
		struct pcw_wb_block *w = &m->wb[i];

		j = i + 1;
		if (is_mapped(w)) {
			blk64_t pblk = w->page->pblk[w->bit];

			while (j < n && is_mapped(&m->wb[j]) &&
			       m->wb[j].lblk == m->wb[j - 1].lblk + 1 &&
			       m->wb[j].page->pblk[m->wb[j].bit] ==
			       pblk + (j - i) &&
			       j - i < pcw_max_run(m->ei.fs))
				j++;
			err = write_mapped(m, i, j, nr_written, &failed_lblk);
		} else if (is_delayed(w)) {
			while (j < n && is_delayed(&m->wb[j]) &&
			       m->wb[j].lblk == m->wb[j - 1].lblk + 1)
				j++;
			/* Not on bigalloc: a cluster is allocated whole. */
			err = map_and_submit(m, i, j, m->wb_background &&
					     j == n &&
					     EXT2FS_CLUSTER_RATIO(m->ei.fs) == 1,
					     nr_written, &failed_lblk,
					     &deferred);
		}
	}

	if (err) {
		/*
		 * What could not be written is dropped, its reservations
		 * released, and the file ends where its data on disk ends:
		 * the file holds exactly what was committed.
		 */
		uint64_t end;

		for (i = 0; i < n; i++)
			if ((m->wb[i].page->dirty & (1ULL << m->wb[i].bit)) &&
			    m->wb[i].lblk < failed_lblk)
				failed_lblk = m->wb[i].lblk;
		end = (uint64_t)failed_lblk << m->blkbits;
		if (end < m->lost_from)
			m->lost_from = end;
		for (i = 0; i < n; i++) {
			struct pcw_page *p = m->wb[i].page;
			uint64_t b = 1ULL << m->wb[i].bit;

			if (!(p->dirty & b))
				continue;
			p->delayed &= ~b;
			p->dirty &= ~b;
			p->uptodate &= ~b;
			p->flags &= ~PG_uptodate;
		}
		/*
		 * Below data_from, up to i_disksize, the file is a hole the
		 * write skipped (--offset past EOF): if nothing from there on
		 * reached the disk, the file keeps its size on disk.
		 */
		if (end <= m->data_from)
			m->i_size = m->i_disksize;
		else if (end < m->i_size)
			m->i_size = end > m->i_disksize ? end : m->i_disksize;
		pcw_drop_delayed(m);
	}
	/* Pages whose every block went out are clean. */
	m->nr_dirty = 0;
	for (s = 0; s < m->next_slot; s++) {
		struct pcw_page *p = &m->pages[s];

		if (!p->used)
			continue;
		if (!p->dirty)
			p->flags &= ~PG_dirty;
		else
			m->nr_dirty++;
	}
update:
	/*
	 * Everything below i_size is on disk now (or i_size was cut back),
	 * but for a deferred tail: the size on disk stops where it starts.
	 */
	upto = m->i_size;
	if (deferred != ~0ULL && ((uint64_t)deferred << m->blkbits) < upto)
		upto = (uint64_t)deferred << m->blkbits;
	if (m->i_disksize < upto)
		m->i_disksize = upto;
	m->data_from = upto < m->i_size ? upto : UINT64_MAX;
	if (m->i_disksize != (uint64_t)EXT2_I_SIZE(m->ei.inode) || m->ei.dirty_inode) {
		err2 = pcw_write_inode(m);
		if (!err)
			err = err2;
	}
	return err;
}
