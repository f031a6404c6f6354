/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buffer.c: fs/buffer.c's helpers, shared by both operation tables
 * (nd_aops.c, da_aops.c): the blocks of a page a write prepares
 * (__block_write_begin), commits (block_write_end), keeps as holes
 * (--sparse), the reservations its new blocks need (ext4_da_map_blocks'
 * cluster check) and the pending blocks of block-mapped files freed when
 * their data never got there.  A page's buffer_heads are the per-block bit
 * masks of struct pcw_page.
 */
#include "config.h"

#include <string.h>

#include "mapping.h"

static inline unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/*
 * __block_write_begin(): find or create the page for [pos, pos+len) and
 * bring each block the write touches to a state the copy can land in.
 * A block that is allocated, not up to date and only partly overwritten is
 * read from disk; an unwritten block reads as zeroes; a block with neither a
 * physical block nor a reservation is returned in *holes for the caller to
 * reserve or allocate.  Blocks outside the write are left alone, as the
 * kernel calls get_block only for the buffers the write touches.
 */
errcode_t pcw_block_prepare(struct pcw_mapping *m, uint64_t pos, unsigned len,
			    struct pcw_page **pagep, uint64_t *holes,
			    struct pcw_fsdata *fsdata)
{
	uint64_t index = pos >> m->page_shift;
	unsigned from = pos & (m->page_size - 1), to = from + len;
	unsigned b, first = from >> m->blkbits, last = (to - 1) >> m->blkbits;
	struct pcw_page *page;
	bool created;
	errcode_t err;

	*holes = 0;
	err = pcw_grab_page(m, index, &page, &created);
	if (err)
		return err;

	for (b = first; b <= last; b++) {
		uint64_t bit = 1ULL << b;
		unsigned bstart = b << m->blkbits, bend = bstart + m->blocksize;
		blk64_t lblk = index * m->bpp + b;

		if (!(page->mapped & bit) && !(page->delayed & bit)) {
			struct pcw_map map;

			err = pcw_map_lookup(&m->ei, lblk, &map);
			if (err)
				return err;
			if (map.pblk) {
				page->mapped |= bit;
				page->pblk[b] = map.pblk + (lblk - map.lblk);
				if (map.unwritten) {
					page->unwritten |= bit;
					if (!(page->uptodate & bit))
						memset(page->data + bstart, 0,
						       m->blocksize);
					page->uptodate |= bit;
				}
			} else {
				/*
				 * A new block: zero what the copy will not
				 * cover, never the part it fills.
				 */
				if (bstart < from)
					memset(page->data + bstart, 0,
					       from - bstart);
				if (to < bend)
					memset(page->data + to, 0, bend - to);
				*holes |= bit;
				continue;
			}
		}
		if ((page->uptodate & bit) || (page->delayed & bit))
			continue;
		if (bstart < from || bend > to) {
			/* Partial write over data on disk: read it first. */
			err = io_channel_read_blk64(m->ei.fs->io, page->pblk[b],
						    -(int)m->blocksize,
						    page->data + bstart);
			if (err)
				return err;
			page->uptodate |= bit;
			fsdata->read_before = true;
		}
	}
	*pagep = page;
	return 0;
}

/*
 * --sparse: the blocks of [pos, pos+len) that stay holes.  Only blocks the
 * write covers entirely; the caller keeps only those with no block and no
 * reservation (zeroes over allocated or delayed blocks are written, so old
 * data never shows through).
 */
uint64_t pcw_sparse_blocks(const struct pcw_mapping *m, uint64_t pos,
			   unsigned len)
{
	unsigned from = pos & (m->page_size - 1);

	return pcw_covered_blocks(m, from, from + len);
}

/*
 * i_size follows the bytes committed at once; the size on disk at writeback,
 * from data_from on (below it, up to i_disksize, a hole).
 */
static void raise_size(struct pcw_mapping *m, uint64_t pos, uint64_t copied)
{
	if (copied && pos + copied > m->i_disksize) {
		/* Where this write's data past the size on disk begins. */
		uint64_t from = pos > m->i_disksize ? pos : m->i_disksize;

		if (from < m->data_from)
			m->data_from = from;
	}
	if (pos + copied > m->i_size)
		m->i_size = pos + copied;
}

/*
 * block_write_end(): commit COPIED of LEN bytes.  A short copy into a page
 * that is not up to date commits nothing: a block only partly copied would
 * be marked up to date with stale bytes in it.  The uncopied part of new
 * blocks is zeroed again.
 */
int64_t pcw_block_write_end(struct pcw_mapping *m, uint64_t pos, unsigned len,
			    unsigned copied, struct pcw_page *page,
			    uint64_t new_blocks)
{
	unsigned start = pos & (m->page_size - 1);
	unsigned b;

	if (copied < len) {
		if (!(page->flags & PG_uptodate))
			copied = 0;
		for (b = start >> m->blkbits;
		     b <= (start + len - 1) >> m->blkbits; b++) {
			unsigned bs = b << m->blkbits, be = bs + m->blocksize;
			unsigned zs = start + copied > bs ? start + copied : bs;
			unsigned ze = start + len < be ? start + len : be;

			if ((new_blocks & (1ULL << b)) && zs < ze)
				memset(page->data + zs, 0, ze - zs);
		}
	}
	if (copied) {
		uint64_t dirty = 0;

		for (b = start >> m->blkbits;
		     b <= (start + copied - 1) >> m->blkbits; b++)
			dirty |= 1ULL << b;
		page->uptodate |= dirty;
		/* A block left a hole (--sparse) holds zeroes, not data. */
		dirty &= page->mapped | page->delayed;
		page->dirty |= dirty;
		if (page->uptodate == pcw_page_full_mask(m))
			page->flags |= PG_uptodate;
		if (dirty)
			pcw_set_page_dirty(m, page);
	}
	raise_size(m, pos, copied);
	return copied;
}

/*
 * Where the file has nothing from: no block on disk (past its last extent;
 * a block-mapped file has none past its size) and, as the write loop only
 * goes forward from below it, no page in the page cache.  A hole of the
 * source is passed over only there: zeroes over blocks the file has are
 * written, so old data never shows through.
 */
uint64_t pcw_empty_from(const struct pcw_mapping *m)
{
	uint64_t end = m->i_size;

	if (m->ei.handle && ((uint64_t)m->ei.extent_end << m->blkbits) > end)
		end = (uint64_t)m->ei.extent_end << m->blkbits;
	return (end + m->page_size - 1) & ~(uint64_t)(m->page_size - 1);
}

/*
 * The write went past LEN bytes of hole of its source at POS (at or past
 * pcw_empty_from): no page, no block, only the size, raised as write_end
 * raises it.  The kernel's write loop never sees a hole: tar -S seeks past
 * it and ftruncate()s the size at the end.
 */
void pcw_hole_passed(struct pcw_mapping *m, uint64_t pos, uint64_t len)
{
	raise_size(m, pos, len);
}

/*
 * Is logical cluster LC spoken for: a delayed block in the page cache (its
 * reservation taken) or a mapped block (its physical cluster allocated)?
 */
static bool cluster_accounted(struct pcw_mapping *m, blk64_t lc)
{
	unsigned ratio = EXT2FS_CLUSTER_RATIO(m->ei.fs), k;
	blk64_t first = lc * ratio;

	for (k = 0; k < ratio; k++) {
		struct pcw_page *p = pcw_find_page(m, (first + k) / m->bpp);

		if (p && ((p->delayed | p->mapped) &
			  (1ULL << ((first + k) % m->bpp))))
			return true;
	}
	return pcw_cluster_pblk(&m->ei, lc) != 0;
}

/*
 * The reservations the new delayed blocks HOLES of page INDEX need: one a
 * block, or on bigalloc one for each logical cluster not yet accounted for
 * (ext4_da_map_blocks checks the cluster before ext4_da_reserve_space).
 */
unsigned pcw_clusters_to_reserve(struct pcw_mapping *m, uint64_t index,
				 uint64_t holes)
{
	unsigned n = 0, b;
	blk64_t last = ~0ULL;

	if (EXT2FS_CLUSTER_RATIO(m->ei.fs) == 1)
		return popcount64(holes);
	for (b = 0; b < m->bpp; b++) {
		blk64_t lc;

		if (!(holes & (1ULL << b)))
			continue;
		lc = EXT2FS_B2C(m->ei.fs, index * m->bpp + b);
		if (lc == last)
			continue;
		last = lc;
		if (!cluster_accounted(m, lc))
			n++;
	}
	return n;
}

/*
 * Free the pending blocks that hold no dirty data: their write failed and
 * was dropped, or no write committed to them (a short copy never retried).
 * Their data never reached the disk, and they never entered the map.
 */
void pcw_free_pending(struct pcw_mapping *m)
{
	unsigned s, b;

	if (!m->ei.pending)
		return;
	for (s = 0; s < m->next_slot; s++) {
		struct pcw_page *page = &m->pages[s];
		uint64_t drop = page->used ? page->pending & ~page->dirty : 0;

		/* last block first, so that the goal walks back over them */
		for (b = m->bpp; drop && b-- > 0;) {
			uint64_t bit = 1ULL << b;

			if (!(drop & bit))
				continue;
			drop &= ~bit;
			pcw_pending_free(&m->ei, page->pblk[b]);
			/* a hole again, which reads as zeroes */
			page->pending &= ~bit;
			page->mapped &= ~bit;
			memset(page->data + ((size_t)b << m->blkbits), 0,
			       m->blocksize);
		}
	}
}

/*
 * Put DATA at the start of the file as dirty, delayed pages: what
 * ext4_da_convert_inline_data_to_extent() does with an inline file's bytes.
 */
errcode_t pcw_mapping_preload(struct pcw_mapping *m, const void *data,
			      size_t size)
{
	const unsigned char *p = data;
	uint64_t pos;
	errcode_t err;

	for (pos = 0; pos < size; pos += m->page_size) {
		struct pcw_page *page;
		size_t n = size - pos < m->page_size ? size - pos : m->page_size;
		uint64_t blocks = pcw_page_full_mask(m);
		unsigned nb = (n + m->blocksize - 1) >> m->blkbits;
		bool created;

		if (nb < 64)
			blocks &= (1ULL << nb) - 1;
		err = pcw_grab_page(m, pos >> m->page_shift, &page, &created);
		if (!err)
			err = pcw_reserve(&m->ei, pcw_clusters_to_reserve(m,
						page->index, blocks));
		if (err)
			return err;
		memcpy(page->data, p + pos, n);
		/* The rest of the last block reads as zeroes. */
		memset(page->data + n, 0, ((size_t)nb << m->blkbits) - n);
		page->uptodate |= blocks;
		page->delayed |= blocks;
		page->dirty |= blocks;
		pcw_set_page_dirty(m, page);
	}
	m->i_size = size;
	m->data_from = 0;
	return 0;
}

