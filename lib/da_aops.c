/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * da_aops.c: the delayed-allocation operations (ext4_da_aops).  Near a
 * full filesystem write_begin falls back to nodelalloc's (nd_aops.c), as
 * ext4_da_write_begin() does; the block-level helpers both tables share
 * are fs/buffer.c's (buffer.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "aops.h"

/*
 * ext4_da_write_begin(): reserve one block for every new delayed block the
 * write touches; a page whose blocks cannot be reserved fails with ENOSPC
 * before a byte of it is accepted.
 */
static errcode_t pcw_da_write_begin(struct pcw_mapping *m, uint64_t pos,
				    unsigned len, struct pcw_page **pagep,
				    struct pcw_fsdata *fsdata)
{
	struct pcw_page *page;
	uint64_t holes;
	unsigned n;
	errcode_t err;

	if (pcw_nonda_switch(m->ei.pfs)) {
		fsdata->mode = PCW_FALL_BACK_TO_NONDELALLOC;
		return pcw_nd_write_begin(m, pos, len, pagep, fsdata);
	}
	err = pcw_block_prepare(m, pos, len, &page, &holes, fsdata);
	if (err)
		return err;
	if (fsdata->hole)
		holes &= ~pcw_sparse_blocks(m, pos, len);
	n = pcw_clusters_to_reserve(m, page->index, holes);
	if (n) {
		err = pcw_reserve(&m->ei, n);
		if (err == ENOSPC) {
			/*
			 * ext4_should_retry_alloc(): writing back turns the
			 * reservations' slack into exact allocations, which
			 * may free enough for this page.
			 */
			uint64_t done;

			err = m->a_ops->writepages(m, &done);
			if (!err)
				err = pcw_reserve(&m->ei, n);
		}
		if (err)
			return err;
		fsdata->reserved = n;
	}
	/* On bigalloc a block can be delayed under another's reservation. */
	page->delayed |= holes;
	fsdata->new_blocks = holes;
	*pagep = page;
	return 0;
}

static int64_t pcw_da_write_end(struct pcw_mapping *m, uint64_t pos,
				unsigned len, unsigned copied,
				struct pcw_page *page,
				struct pcw_fsdata *fsdata)
{
	if (fsdata->mode == PCW_FALL_BACK_TO_NONDELALLOC)
		return pcw_nd_write_end(m, pos, len, copied, page, fsdata);
	/* i_disksize follows at writeback, when the data is on disk. */
	return pcw_block_write_end(m, pos, len, copied, page,
				   fsdata->new_blocks);
}

const struct pcw_aops pcw_da_aops = {
	.write_begin	= pcw_da_write_begin,
	.write_end	= pcw_da_write_end,
	.writepages	= pcw_writepages,
	.release_pages	= pcw_free_pending,
};
