/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapping.h: layer 6: the page cache (mapping.c) and fs/buffer.c's helpers
 * (buffer.c); the operations table the layer above fills.
 */
#ifndef PCW_MAPPING_H
#define PCW_MAPPING_H

#include "extents.h"
/* The smallest piece writeback writes a stream in (at most 64 a 256 MiB). */
#define PCW_WRITEBACK_PIECE	(4U << 20)

/* The page cache's memory, lent to one mapping at a time (mapping.c). */
struct pcw_pagecache {
	unsigned	page_size, bpp, nslots, hash_mask;
	bool		in_use;
	unsigned char	*arena;
	struct pcw_page	*pages;
	blk64_t		*pblks;
	int		*hash;
	struct pcw_wb_block *wb;
};

/* ---- pages: a page and its buffer_heads, one bit per block ---------------- */

enum pcw_page_flags {
	PG_uptodate	= 0x1,	/* every block of the page holds valid data */
	PG_dirty	= 0x2,	/* at least one block is dirty */
};

struct pcw_page {
	uint64_t	index;
	unsigned char	*data;		/* page_size bytes in the arena */
	blk64_t		*pblk;		/* bpp physical blocks (valid if mapped) */
	unsigned	flags;		/* PG_* */
	int		hash_next;	/* slot chain in the index hash, -1 ends */
	bool		used;
	/* buffer_head state, bit b for block b of the page */
	uint64_t	mapped;		/* buffer_mapped: has a physical block */
	uint64_t	unwritten;	/* buffer_unwritten: reads as zeroes */
	uint64_t	delayed;	/* buffer_delay: reserved, not allocated */
	uint64_t	pending;	/* allocated, not in the map until its
					   data is written (block-mapped files
					   under nodelalloc) */
	uint64_t	uptodate;	/* buffer_uptodate */
	uint64_t	dirty;		/* buffer_dirty */
};

/*
 * The typed fsdata cookie write_begin hands write_end (the kernel passes a
 * void * and ext4 casts FALL_BACK_TO_NONDELALLOC into it).
 */
enum pcw_write_mode {
	PCW_WRITE_DA = 0,
	PCW_FALL_BACK_TO_NONDELALLOC,
};

struct pcw_fsdata {
	enum pcw_write_mode	mode;
	uint32_t		reserved;	/* for the page report */
	bool			read_before;	/* for the page report */
	uint64_t		new_blocks;	/* buffer_new: made by this write_begin */
	bool			hole;		/* the data is a hole to keep (--sparse) */
};

/*
 * address_space_operations.  The loop calls only through this table.
 *
 * write_begin: prepare the page holding [pos, pos+len) (len never crosses a
 *	page).  On entry the caller holds no page; on success *pagep is in the
 *	page cache and the caller may copy into [offset, offset+len).  Blocks
 *	the write only partly covers are read from disk first when allocated;
 *	new blocks are zeroed; every new block is reserved (delalloc) or
 *	allocated (nodelalloc).  On error nothing was accepted for this page.
 * write_end: commit COPIED bytes of the LEN asked.  Returns the bytes
 *	committed: COPIED, or 0 for a short copy into a page that is not up to
 *	date (the caller retries).  Raises i_size.  The page stays in the page
 *	cache, dirty, owned by the mapping.
 * writepages: write back every dirty page.  *nr_written counts blocks; the
 *	error is returned separately and the mapping stays consistent.
 * release_pages: the cache is about to drop its clean pages
 *	(release_folio): blocks they hold that no data reached (nodelalloc's
 *	pending blocks) go back.
 */
struct pcw_aops {
	errcode_t	(*write_begin)(struct pcw_mapping *mapping, uint64_t pos,
				       unsigned len, struct pcw_page **pagep,
				       struct pcw_fsdata *fsdata);
	int64_t		(*write_end)(struct pcw_mapping *mapping, uint64_t pos,
				     unsigned len, unsigned copied,
				     struct pcw_page *page,
				     struct pcw_fsdata *fsdata);
	errcode_t	(*writepages)(struct pcw_mapping *mapping,
				      uint64_t *nr_written);
	void		(*release_pages)(struct pcw_mapping *mapping);
};

extern const struct pcw_aops pcw_da_aops;	/* delayed allocation */
extern const struct pcw_aops pcw_aops;		/* nodelalloc */

/* One dirty block, as writepages lines them up. */
struct pcw_wb_block {
	blk64_t		lblk;
	unsigned char	*data;
	struct pcw_page	*page;
	unsigned	bit;
};

struct pcw_mapping {
	int		magic;
	struct pcw_inode_info ei;	/* the file under the pages */
	const struct pcw_aops	*a_ops;
	const char	*name;

	unsigned	page_size, page_shift;
	unsigned	blocksize, blkbits, bpp;	/* blocks per page */
	uint64_t	i_size;		/* in memory, raised by write_end */
	uint64_t	i_disksize;	/* on disk: covers only written data */
	uint64_t	maxbytes;	/* the kernel's largest file size */
	uint64_t	start;		/* where the write starts */

	/* the page cache: an arena of nslots pages */
	unsigned	nslots, next_slot, nr_pages, nr_dirty;
	unsigned	bg_slots;	/* dirty pages that start writeback */
	bool		wb_background;	/* writeback of a piece, more to come */
	unsigned	bg_carry;	/* dirty pages a background writeback
					   left for the next piece */
	unsigned char	*arena;
	struct pcw_page	*pages;
	blk64_t		*pblks;
	int		*hash;
	unsigned	hash_mask;

	/* writeback */
	struct pcw_wb_block *wb;
	uint64_t	data_from;	/* the lowest byte committed past
					   i_disksize since the last writeback
					   (below it, up to i_disksize, a hole) */
	uint64_t	lost_from;	/* first byte dropped by a failed writeback */

	uint64_t	seq;		/* loop iterations reported */
	uint64_t	tx_open;	/* transactions committed before the
					   file was opened (the journal) */
	bool		replaces;	/* truncated (or made) at open: what
					   no later commit holds is not ours */
	bool		tree_commits;	/* an entry of a tree: pcw_tree_add
					   commits, in batches */
};

/* mapping.c */
errcode_t pcw_mapping_init_cache(struct pcw_mapping *mapping,
				 uint64_t dirty_limit);
void pcw_mapping_free_cache(struct pcw_mapping *mapping);
void pcw_pagecache_free(pcw_fs *pfs);
struct pcw_page *pcw_find_page(struct pcw_mapping *mapping, uint64_t index);
errcode_t pcw_grab_page(struct pcw_mapping *mapping, uint64_t index,
			struct pcw_page **pagep, bool *created);
void pcw_set_page_dirty(struct pcw_mapping *mapping, struct pcw_page *page);
void pcw_drop_clean_pages(struct pcw_mapping *mapping);
errcode_t pcw_balance_dirty_pages(struct pcw_mapping *mapping);
errcode_t pcw_zero_eof_tail(struct pcw_mapping *mapping, uint64_t pos);
static inline uint64_t pcw_page_full_mask(const struct pcw_mapping *m)
{
	return m->bpp >= 64 ? ~0ULL : ((1ULL << m->bpp) - 1);
}

/* The blocks of a page that [from, to) covers entirely. */
static inline uint64_t pcw_covered_blocks(const struct pcw_mapping *m,
					  unsigned from, unsigned to)
{
	unsigned first = (from + m->blocksize - 1) >> m->blkbits;
	unsigned end = to >> m->blkbits;
	uint64_t mask = 0;

	for (; first < end; first++)
		mask |= 1ULL << first;
	return mask;
}

/* buffer.c: fs/buffer.c's helpers, shared by the two tables */
errcode_t pcw_mapping_preload(struct pcw_mapping *mapping, const void *data,
			      size_t size);
errcode_t pcw_block_prepare(struct pcw_mapping *mapping, uint64_t pos,
			    unsigned len, struct pcw_page **pagep,
			    uint64_t *holes, struct pcw_fsdata *fsdata);
unsigned pcw_clusters_to_reserve(struct pcw_mapping *mapping, uint64_t index,
				 uint64_t holes);
uint64_t pcw_sparse_blocks(const struct pcw_mapping *mapping, uint64_t pos,
			   unsigned len);

int64_t pcw_block_write_end(struct pcw_mapping *mapping, uint64_t pos,
			    unsigned len, unsigned copied,
			    struct pcw_page *page, uint64_t new_blocks);
uint64_t pcw_empty_from(const struct pcw_mapping *mapping);
void pcw_hole_passed(struct pcw_mapping *mapping, uint64_t pos, uint64_t len);
void pcw_free_pending(struct pcw_mapping *mapping);

#endif /* PCW_MAPPING_H */
