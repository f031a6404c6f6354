/*
 * writeback.c: ext4_writepages() and mpage_map_and_submit_extent().
 *
 * Dirty pages are lined up by index.  Blocks that already have a physical
 * block are written in place first (the overwrite pass).  Then contiguous
 * delayed blocks form runs: each run is allocated with one ext2fs_new_range
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

#include "internal.h"

/* Room for extent-tree (or indirect) blocks the reserved data may need. */
static blk64_t pcw_reserve_slack(blk64_t reserved)
{
	return 4 + (reserved + 339) / 340 + (reserved + 340 * 340 - 1) / (340 * 340);
}

/*
 * ext4_da_reserve_space(): account N blocks against free space.  pcwrite
 * writes as the filesystem's root would, so the root-reserved blocks count
 * as free; the slack for tree blocks does not.
 */
errcode_t pcw_reserve(struct pcw_mapping *m, blk64_t n)
{
	blk64_t free_blocks = ext2fs_free_blocks_count(m->fs->super);
	blk64_t need = m->pfs->reserved + n;

	if (free_blocks < need || free_blocks - need < pcw_reserve_slack(need))
		return ENOSPC;
	m->pfs->reserved += n;
	m->reserved += n;
	return 0;
}

void pcw_release_reservation(struct pcw_mapping *m, blk64_t n)
{
	if (n > m->reserved)
		n = m->reserved;
	m->reserved -= n;
	m->pfs->reserved -= n;
}

/*
 * Allocate up to WANT blocks for logical block LBLK: the first free range at
 * or after the goal, marked in the bitmaps and the group counts.  Blocks
 * with a reservation (delalloc writeback) have their space already; any
 * other allocation (nodelalloc) must leave the reserved blocks and their
 * slack alone, as ext4_claim_free_clusters() does.
 */
errcode_t pcw_alloc_run(struct pcw_mapping *m, blk64_t lblk, blk64_t want,
			bool reserved, blk64_t *pblk, blk64_t *plen)
{
	errcode_t err;

	if (!reserved) {
		blk64_t free_blocks = ext2fs_free_blocks_count(m->fs->super);
		blk64_t keep = m->pfs->reserved +
			       pcw_reserve_slack(m->pfs->reserved + want);

		if (free_blocks <= keep)
			return ENOSPC;
		if (want > free_blocks - keep)
			want = free_blocks - keep;
	}

	if (!m->goal)
		m->goal = ext2fs_find_inode_goal(m->fs, m->ino,
						 (struct ext2_inode *)m->inode,
						 lblk);
	if (want > PCW_MAX_EXTENT_LEN)
		want = PCW_MAX_EXTENT_LEN;
	err = ext2fs_new_range(m->fs, 0, m->goal, want, NULL, pblk, plen);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		return ENOSPC;
	if (err)
		return err;
	ext2fs_block_alloc_stats_range(m->fs, *pblk, *plen, +1);
	err = ext2fs_iblk_add_blocks(m->fs, (struct ext2_inode *)m->inode,
				     *plen);
	if (err) {
		ext2fs_block_alloc_stats_range(m->fs, *pblk, *plen, -1);
		return err;
	}
	m->goal = *pblk + *plen;
	m->dirty_inode = true;
	return 0;
}

void pcw_free_run(struct pcw_mapping *m, blk64_t pblk, blk64_t len)
{
	ext2fs_block_alloc_stats_range(m->fs, pblk, len, -1);
	ext2fs_iblk_sub_blocks(m->fs, (struct ext2_inode *)m->inode, len);
	if (m->goal == pblk + len)
		m->goal = pblk;
}

/* Write the in-memory inode, its size being what is on disk. */
errcode_t pcw_write_inode(struct pcw_mapping *m)
{
	errcode_t err;

	err = ext2fs_inode_size_set(m->fs, (struct ext2_inode *)m->inode,
				    m->i_disksize);
	if (err)
		return err;
	err = ext2fs_write_inode_full(m->fs, m->ino,
				      (struct ext2_inode *)m->inode,
				      EXT2_INODE_SIZE(m->fs->super));
	if (!err)
		m->dirty_inode = false;
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
	pcw_emit(m->pfs, &ev);
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
		err = io_channel_write_blk64(m->fs->io, pblk + (s - i),
					     (int)(k - s), m->wb[s].data);
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
 * mpage_map_and_submit_extent(): allocate the delayed blocks wb[i..end),
 * write them, map them.  A run may need several ranges when free space is
 * fragmented.
 */
static errcode_t map_and_submit(struct pcw_mapping *m, size_t i, size_t end,
				uint64_t *nr_written, blk64_t *failed_lblk)
{
	errcode_t err;

	while (i < end) {
		blk64_t pblk, plen, k;

		*failed_lblk = m->wb[i].lblk;
		err = pcw_alloc_run(m, m->wb[i].lblk, end - i, true, &pblk,
				    &plen);
		if (err)
			return err;
		err = submit_blocks(m, i, plen, pblk);
		if (!err)
			err = pcw_map_insert(m, m->wb[i].lblk, pblk, plen);
		if (err) {
			pcw_free_run(m, pblk, plen);
			return err;
		}
		pcw_release_reservation(m, plen);
		for (k = 0; k < plen; k++) {
			struct pcw_wb_block *w = &m->wb[i + k];
			uint64_t bit = 1ULL << w->bit;

			w->page->delayed &= ~bit;
			w->page->mapped |= bit;
			w->page->pblk[w->bit] = pblk + k;
		}
		clean_blocks(m, i, i + plen);
		emit_writeback(m, m->wb[i].lblk, pblk, plen, false);
		*nr_written += plen;
		i += plen;
	}
	return 0;
}

static int cmp_page_index(const void *a, const void *b)
{
	const struct pcw_page *pa = *(struct pcw_page *const *)a;
	const struct pcw_page *pb = *(struct pcw_page *const *)b;

	return pa->index < pb->index ? -1 : pa->index > pb->index;
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
	if (!in_order) {
		struct pcw_page **tmp = malloc(np * sizeof(*tmp));

		if (tmp) {
			for (p = 0; p < np; p++)
				tmp[p] = m->wb[p].page;
			qsort(tmp, np, sizeof(*tmp), cmp_page_index);
			for (p = 0; p < np; p++)
				m->wb[p].page = tmp[p];
			free(tmp);
		}
	}
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

errcode_t pcw_writepages(struct pcw_mapping *m, uint64_t *nr_written)
{
	size_t n, i, j;
	errcode_t err = 0, err2;
	blk64_t failed_lblk = ~0ULL;
	unsigned s;

	*nr_written = 0;
	if (!m->nr_dirty)
		goto update;
	n = collect_dirty(m);

	/* Overwrite pass: blocks that already have a home on disk. */
	for (i = 0; i < n && !err; i = j) {
		struct pcw_page *pg = m->wb[i].page;
		unsigned bit = m->wb[i].bit;

		j = i + 1;
		if (!(pg->mapped & (1ULL << bit)))
			continue;
		while (j < n && (m->wb[j].page->mapped & (1ULL << m->wb[j].bit)) &&
		       m->wb[j].lblk == m->wb[j - 1].lblk + 1 &&
		       m->wb[j].page->pblk[m->wb[j].bit] ==
		       pg->pblk[bit] + (j - i) &&
		       j - i < PCW_MAX_EXTENT_LEN)
			j++;
		err = submit_blocks(m, i, j - i, pg->pblk[bit]);
		if (err) {
			failed_lblk = m->wb[i].lblk;
			break;
		}
		/* Data in unwritten extents becomes initialized, a run at a time. */
		for (size_t k = i, e; k < j && !err; k = e) {
			e = k + 1;
			if (!(m->wb[k].page->unwritten & (1ULL << m->wb[k].bit)))
				continue;
			while (e < j && (m->wb[e].page->unwritten &
					 (1ULL << m->wb[e].bit)))
				e++;
			err = pcw_map_convert(m, m->wb[k].lblk, e - k);
			if (err) {
				failed_lblk = m->wb[k].lblk;
				break;
			}
			for (size_t q = k; q < e; q++)
				m->wb[q].page->unwritten &= ~(1ULL << m->wb[q].bit);
		}
		if (err)
			break;
		clean_blocks(m, i, j);
		emit_writeback(m, m->wb[i].lblk, pg->pblk[bit], j - i, true);
		*nr_written += j - i;
	}

	/* Delayed pass: contiguous runs, one allocation and one I/O each. */
	for (i = 0; i < n && !err; i = j) {
		struct pcw_page *pg = m->wb[i].page;

		j = i + 1;
		if (!(pg->delayed & (1ULL << m->wb[i].bit)))
			continue;
		while (j < n && (m->wb[j].page->delayed & (1ULL << m->wb[j].bit)) &&
		       m->wb[j].lblk == m->wb[j - 1].lblk + 1)
			j++;
		err = map_and_submit(m, i, j, nr_written, &failed_lblk);
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
		for (i = 0; i < n; i++) {
			struct pcw_page *p = m->wb[i].page;
			uint64_t b = 1ULL << m->wb[i].bit;

			if (!(p->dirty & b))
				continue;
			if (p->delayed & b) {
				p->delayed &= ~b;
				pcw_release_reservation(m, 1);
			}
			p->dirty &= ~b;
			p->uptodate &= ~b;
			p->flags &= ~PG_uptodate;
		}
		if (end < m->i_size)
			m->i_size = end > m->i_disksize ? end : m->i_disksize;
	}
	for (s = 0; s < m->next_slot; s++)
		if (m->pages[s].used && !m->pages[s].dirty)
			m->pages[s].flags &= ~PG_dirty;
	m->nr_dirty = 0;
	for (s = 0; s < m->next_slot; s++)
		if (m->pages[s].used && (m->pages[s].flags & PG_dirty))
			m->nr_dirty++;
update:
	/* Everything below i_size is on disk now (or i_size was cut back). */
	if (m->i_disksize < m->i_size)
		m->i_disksize = m->i_size;
	if (m->i_disksize != (uint64_t)EXT2_I_SIZE(m->inode) || m->dirty_inode) {
		err2 = pcw_write_inode(m);
		if (!err)
			err = err2;
	}
	return err;
}
