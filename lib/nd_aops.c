/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nd_aops.c: the operations of ext4 mounted with nodelalloc (ext4_aops):
 * write_begin allocates the page's new blocks at once; the data follows at
 * writeback.  Also the fallback of the delalloc table when free space runs
 * low.
 *
 * A block is in the file's map only once reading it gives the file's data
 * or zeroes.  An extent file maps its new blocks unwritten at once, and
 * writeback converts them after the data is on disk.  A block-mapped file
 * has no unwritten state: its new blocks are allocated (the space is taken,
 * as nodelalloc takes it) but stay pending, out of the map, until writeback
 * has written their data and maps them; blocks whose data never got there
 * are freed again.  (The kernel maps at once and relies on the journal's
 * ordered mode to write the data first, or on truncating after a failed
 * write_begin; pcwrite has no journal.)
 */
#include "config.h"

#include <string.h>

#include "aops.h"

/*
 * ext4_get_block(create=1) for the hole blocks of one page: allocate each
 * run of adjacent holes with one ext2fs_new_range and map it.
 */
errcode_t pcw_alloc_holes(struct pcw_mapping *m, struct pcw_page *page,
			  uint64_t holes)
{
	unsigned b = 0;
	errcode_t err;

	/*
	 * All the page's blocks or none: ext4_write_begin() truncates what
	 * a failed call allocated; pcwrite checks the space first, so that
	 * a page it cannot back leaves nothing mapped past EOF.
	 */
	blk64_t need = pcw_clusters_to_reserve(m, page->index, holes);
	uint64_t n;

	err = pcw_fs_check_space(m->ei.pfs, need);
	if (err)
		return err;
	/*
	 * The room is there only once the blocks this transaction freed are
	 * released by its commit (a file replaced on a full filesystem).  The
	 * kernel's ext4_write_begin stops its handle on ENOSPC and retries
	 * after a forced commit (ext4_should_retry_alloc); its transaction is
	 * consistent at every handle boundary.  Here the blocks allocated so
	 * far for earlier pages may be pending (out of the map until their
	 * data is written), so the commit comes first, before this page
	 * allocates anything: writeback writes and maps them, and writes the
	 * inode; then the commit.
	 */
	if (pcw_busy_short(m->ei.pfs, need)) {
		err = pcw_writepages(m, &n);
		if (!err)
			err = pcw_fs_commit(m->ei.pfs);
		if (err)
			return err;
	}
	while (b < m->bpp) {
		struct pcw_alloc a;
		unsigned e;
		blk64_t k;

		if (!(holes & (1ULL << b))) {
			b++;
			continue;
		}
		for (e = b; e < m->bpp && (holes & (1ULL << e)); e++)
			;
		err = pcw_alloc_run(&m->ei, page->index * m->bpp + b, e - b,
				    false, false, &a);
		if (err)
			return err;
		if (m->ei.handle) {
			/*
			 * Mapped unwritten: until writeback has put the data
			 * there and converted the range, the blocks read as
			 * zeroes, never as whatever a deleted file left there.
			 */
			err = pcw_map_insert(&m->ei, page->index * m->bpp + b,
					     a.pblk, a.len, true);
			if (err) {
				pcw_free_run(&m->ei, &a);
				return err;
			}
		} else {
			pcw_pending_add(&m->ei, a.len);
		}
		for (k = 0; k < a.len; k++) {
			uint64_t bit = 1ULL << (b + k);

			page->mapped |= bit;
			page->pblk[b + k] = a.pblk + k;
			if (m->ei.handle)
				page->unwritten |= bit;
			else
				page->pending |= bit;
		}
		b += a.len;
	}
	return 0;
}

errcode_t pcw_nd_write_begin(struct pcw_mapping *m, uint64_t pos, unsigned len,
			     struct pcw_page **pagep,
			     struct pcw_fsdata *fsdata)
{
	struct pcw_page *page;
	uint64_t holes;
	errcode_t err;

	err = pcw_block_prepare(m, pos, len, &page, &holes, fsdata);
	if (err)
		return err;
	if (fsdata->hole)
		holes &= ~pcw_sparse_blocks(m, pos, len);
	if (holes) {
		err = pcw_alloc_holes(m, page, holes);
		if (err)
			return err;
		fsdata->new_blocks = holes;
	}
	*pagep = page;
	return 0;
}

int64_t pcw_nd_write_end(struct pcw_mapping *m, uint64_t pos, unsigned len,
			 unsigned copied, struct pcw_page *page,
			 struct pcw_fsdata *fsdata)
{
	/*
	 * ext4_write_end() raises i_disksize here, the journal ordering the
	 * data before the commit.  pcwrite has no journal: i_disksize waits
	 * for writeback like the delalloc path's.
	 */
	return pcw_block_write_end(m, pos, len, copied, page,
				   fsdata->new_blocks);
}

const struct pcw_aops pcw_aops = {
	.write_begin	= pcw_nd_write_begin,
	.write_end	= pcw_nd_write_end,
	.writepages	= pcw_writepages,
	.release_pages	= pcw_free_pending,
};
