/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapping.c: the page cache of one inode (struct address_space).
 *
 * Pages live in an arena of nslots slots, one dirty limit's worth, handed
 * out in order; writeback empties the cache, so a stream's pages sit side by
 * side in memory and a run of them goes to disk in one write.  Memory stays
 * bounded by the dirty limit whatever the input size.  An index hash finds a
 * page by its index, as find_get_page() does in the radix tree.
 *
 * Simplification: the kernel keeps clean pages cached until reclaim; pcwrite
 * drops them after writeback (a later partial write reads its blocks back).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

static unsigned hash_index(const struct pcw_mapping *m, uint64_t index)
{
	return (unsigned)((index * 0x9E3779B97F4A7C15ULL) >> 32) & m->hash_mask;
}

/*
 * The page cache's memory belongs to the filesystem handle and is lent to
 * one mapping at a time: a run of many small files sets it up once, so a
 * file costs O(1) to open whatever the dirty limit (the kernel's page cache
 * is not allocated per open either).
 */
errcode_t pcw_mapping_init_cache(struct pcw_mapping *m, uint64_t dirty_limit)
{
	struct pcw_pagecache *pc = m->ei.pfs->pcache;
	uint64_t n = dirty_limit / m->page_size;
	unsigned h;

	if (n < 1)
		n = 1;
	if (n > (1U << 24))
		n = 1U << 24;
	if (pc && (pc->in_use || pc->page_size != m->page_size ||
		   pc->bpp != m->bpp || pc->nslots != n)) {
		if (pc->in_use)
			return EBUSY;
		pcw_pagecache_free(m->ei.pfs);
		pc = NULL;
	}
	if (!pc) {
		pc = calloc(1, sizeof(*pc));
		if (!pc)
			return ENOMEM;
		pc->page_size = m->page_size;
		pc->bpp = m->bpp;
		pc->nslots = n;
		for (h = 1; h < 2 * pc->nslots; h <<= 1)
			;
		pc->hash_mask = h - 1;
		/* Untouched arena memory costs nothing until a page lands in it. */
		pc->arena = malloc((size_t)pc->nslots * pc->page_size);
		pc->pages = calloc(pc->nslots, sizeof(*pc->pages));
		pc->pblks = calloc((size_t)pc->nslots * pc->bpp,
				   sizeof(*pc->pblks));
		pc->hash = malloc(sizeof(*pc->hash) * h);
		pc->wb = malloc(sizeof(*pc->wb) * (size_t)pc->nslots * pc->bpp);
		m->ei.pfs->pcache = pc;
		if (!pc->arena || !pc->pages || !pc->pblks || !pc->hash ||
		    !pc->wb) {
			pcw_pagecache_free(m->ei.pfs);
			return ENOMEM;
		}
		memset(pc->hash, 0xff, sizeof(*pc->hash) * h);
	}
	pc->in_use = true;
	m->nslots = pc->nslots;
	m->bg_slots = PCW_WRITEBACK_PIECE / m->page_size;
	if (m->bg_slots < m->nslots / 2)
		m->bg_slots = m->nslots / 2;
	if (m->bg_slots > m->nslots || !m->bg_slots)
		m->bg_slots = m->nslots;
	m->hash_mask = pc->hash_mask;
	m->arena = pc->arena;
	m->pages = pc->pages;
	m->pblks = pc->pblks;
	m->hash = pc->hash;
	m->wb = pc->wb;
	m->next_slot = 0;
	m->nr_pages = 0;
	m->nr_dirty = 0;
	return 0;
}

/* Empty the index hash: only the buckets the used slots hang from. */
static void clear_hash(struct pcw_mapping *m)
{
	unsigned s;

	for (s = 0; s < m->next_slot; s++)
		m->hash[hash_index(m, m->pages[s].index)] = -1;
}

void pcw_mapping_free_cache(struct pcw_mapping *m)
{
	if (!m->pages)
		return;
	clear_hash(m);
	m->next_slot = 0;
	if (m->ei.pfs->pcache)
		m->ei.pfs->pcache->in_use = false;
	m->arena = NULL;
	m->pages = NULL;
	m->pblks = NULL;
	m->hash = NULL;
	m->wb = NULL;
}

void pcw_pagecache_free(pcw_fs *pfs)
{
	struct pcw_pagecache *pc = pfs->pcache;

	if (!pc)
		return;
	free(pc->arena);
	free(pc->pages);
	free(pc->pblks);
	free(pc->hash);
	free(pc->wb);
	free(pc);
	pfs->pcache = NULL;
}

struct pcw_page *pcw_find_page(struct pcw_mapping *m, uint64_t index)
{
	int slot = m->hash[hash_index(m, index)];

	while (slot >= 0) {
		if (m->pages[slot].index == index)
			return &m->pages[slot];
		slot = m->pages[slot].hash_next;
	}
	return NULL;
}

/*
 * find_or_create_page(): the page at INDEX, a new zeroed one if it is not
 * cached.  The caller (write_begin) sets up its blocks' state.
 */
errcode_t pcw_grab_page(struct pcw_mapping *m, uint64_t index,
			struct pcw_page **pagep, bool *created)
{
	struct pcw_page *page = pcw_find_page(m, index);
	unsigned h;
	int slot;
	errcode_t err;

	*created = false;
	if (page) {
		*pagep = page;
		return 0;
	}
	if (m->next_slot == m->nslots) {
		/* Full: write everything back to make room (reclaim). */
		uint64_t n;

		err = m->a_ops->writepages(m, &n);
		if (err)
			return err;
		pcw_drop_clean_pages(m);
		if (m->next_slot == m->nslots)
			return ENOMEM;
	}
	slot = m->next_slot++;
	page = &m->pages[slot];
	memset(page, 0, sizeof(*page));
	page->index = index;
	page->data = m->arena + (size_t)slot * m->page_size;
	page->pblk = m->pblks + (size_t)slot * m->bpp;
	page->used = true;
	/*
	 * Not zeroed: write_begin zeroes the parts of new blocks the copy
	 * will not cover (__block_write_begin's zero_user_segments), and a
	 * block no write touched is neither up to date nor written.
	 */
	h = hash_index(m, index);
	page->hash_next = m->hash[h];
	m->hash[h] = slot;
	m->nr_pages++;
	*pagep = page;
	*created = true;
	return 0;
}

void pcw_set_page_dirty(struct pcw_mapping *m, struct pcw_page *page)
{
	if (!(page->flags & PG_dirty)) {
		page->flags |= PG_dirty;
		m->nr_dirty++;
	}
}

/*
 * After writeback every page is clean: empty the cache so the arena is
 * handed out from its start again.  Pages still holding a reservation that
 * no write committed (a short copy that was never retried) keep nothing:
 * their reservation was released by the caller.
 */
void pcw_drop_clean_pages(struct pcw_mapping *m)
{
	unsigned s;

	if (m->nr_dirty)
		return;		/* writeback failed part-way: keep them */
	/* Blocks allocated for data that never came would be lost with them. */
	m->a_ops->release_pages(m);
	clear_hash(m);
	for (s = 0; s < m->next_slot; s++)
		m->pages[s].used = false;
	m->next_slot = 0;
	m->nr_pages = 0;
}

/*
 * balance_dirty_pages_ratelimited(): past the background threshold, write
 * back.  The kernel's flusher starts at dirty_background_ratio, far below
 * the hard limit, and writes while the writer goes on; pcwrite, being both,
 * writes back itself as soon as half the dirty limit (at least 4 MiB, the
 * smallest piece a run is written in) is dirty.  The pages are then clean
 * and the arena is handed out from its start again: a stream's data goes to
 * the image while it is still in the CPU's caches, and the memory it
 * touches stays that half.
 */
errcode_t pcw_balance_dirty_pages(struct pcw_mapping *m)
{
	uint64_t n;
	errcode_t err;

	if (m->nr_dirty < m->bg_slots + m->bg_carry)
		return 0;
	m->wb_background = true;
	err = m->a_ops->writepages(m, &n);
	m->wb_background = false;
	if (err)
		return err;
	/* A deferred tail (see map_and_submit) rides on the next piece. */
	m->bg_carry = m->nr_dirty;
	pcw_drop_clean_pages(m);
	return 0;
}

/*
 * A write that starts past EOF leaves the old EOF block's tail inside the
 * file: make sure it reads as zeroes.  The kernel never has anything else
 * there (writepage zeroes a page past i_size before writing it), but an image
 * made by another tool may; xfs zeroes this range with iomap_zero_range().
 */
errcode_t pcw_zero_eof_tail(struct pcw_mapping *m, uint64_t pos)
{
	uint64_t isize = m->i_size;
	unsigned off = isize & (m->blocksize - 1), b;
	struct pcw_page *page;
	struct pcw_map map;
	bool created;
	errcode_t err;

	if (pos <= isize || off == 0)
		return 0;
	err = pcw_grab_page(m, isize >> m->page_shift, &page, &created);
	if (err)
		return err;
	b = (isize & (m->page_size - 1)) >> m->blkbits;
	if (!(page->uptodate & (1ULL << b))) {
		if (page->delayed & (1ULL << b))
			return 0;	/* in memory only, zero past EOF already */
		err = pcw_map_lookup(&m->ei, isize >> m->blkbits, &map);
		if (err)
			return err;
		if (!map.pblk || map.unwritten)
			return 0;	/* a hole or unwritten: zeroes */
		page->mapped |= 1ULL << b;
		page->pblk[b] = map.pblk + ((isize >> m->blkbits) - map.lblk);
		err = io_channel_read_blk64(m->ei.fs->io, page->pblk[b],
					    -(int)m->blocksize,
					    page->data + (b << m->blkbits));
		if (err)
			return err;
		page->uptodate |= 1ULL << b;
	}
	memset(page->data + (isize & (m->page_size - 1)), 0,
	       m->blocksize - off);
	page->dirty |= 1ULL << b;
	pcw_set_page_dirty(m, page);
	return 0;
}
