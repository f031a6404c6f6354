/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * internal.h: libpcwrite's private structures, shared by lib/ only.
 *
 * The names follow the kernel's so that lib/ reads beside mm/filemap.c,
 * fs/buffer.c and fs/ext4/inode.c: a pcw_mapping is an address_space, a
 * pcw_page a page with its buffer_heads folded into per-block bit masks.
 */
#ifndef PCW_INTERNAL_H
#define PCW_INTERNAL_H

#include <stdbool.h>
#include <ext2fs/ext2fs.h>

#include "pcwrite.h"

#define PCW_MAGIC_FS		0x70637766	/* "pcwf" */

/* fs.c: ext2fs_open2's error for IMAGE at OFFSET, as callers see it */
errcode_t pcw_open_error(const char *image, uint64_t offset, errcode_t err);
#define PCW_MAGIC_MAPPING	0x7063776d	/* "pcwm" */

/* The smallest piece writeback writes a stream in (at most 64 a 256 MiB). */
#define PCW_WRITEBACK_PIECE	(4U << 20)

/* The largest initialized extent. */
#define PCW_MAX_EXTENT_LEN	32768U
/* One I/O stays at 1 GiB: unix_io computes a byte count in an int. */
#define PCW_MAX_IO_BYTES	(1ULL << 30)

struct pcw_bdev;

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

struct pcw_fs {
	int		magic;
	ext2_filsys	fs;
	char		*image;
	char		*undo_file;
	char		io_options[64];
	int		open_flags;	/* for ext2fs_open2 */
	int		lock_fd;
	int		excl_fd;	/* a block device IMAGE, held O_EXCL */
	int		backing_fd;	/* the file under a loop IMAGE, flocked */
	int		undo_fd;	/* the undo file we created, or -1 */
	uint64_t	image_offset;
	uint64_t	fs_end;		/* image_offset + the filesystem's bytes */
	bool		image_is_file;	/* IMAGE is a regular file (it can be
					   truncated under us, and RLIMIT_FSIZE
					   applies to it) */
	uint64_t	data_bytes;	/* written around the channel */
	bool		fixed_time;	/* a reproducible run (--mtime,
					   SOURCE_DATE_EPOCH) */
	struct pcw_bdev	*devs;		/* other block devices over the image */
	size_t		ndevs;
	struct pcw_conflict *conflict;	/* the caller's, or NULL */
	int		flags;		/* PCW_OPEN_* */
	bool		writing;	/* superblock marked not clean */
	bool		was_valid;	/* s_state had EXT2_VALID_FS at open */
	bool		meta_error;	/* a metadata update failed part-way:
					   leave the filesystem marked not clean */
	blk64_t		reserved;	/* delayed blocks of every mapping */
	blk64_t		pending;	/* pending blocks of every mapping */
	time_t		now;		/* the run's time (pcw_time_init) */
	uint32_t	now_nsec;
	struct pcw_time_clamps clamps;	/* times the inodes could not hold */
	ext2_ino_t	error_dir;	/* the directory of the last
					   PCW_ET_DIR_* refusal */
	struct pcw_dcache *dcache;	/* the directories this run touched */
	struct pcw_pagecache *pcache;	/* lent to the open mapping */
	uint32_t	*made_links;	/* symlinks this run made (a set) */
	uint32_t	made_mask, nmade;
	bool		made_overflow;
	pcw_report_fn	report;
	void		*report_arg;
	struct pcw_idnames *idnames;	/* the image's passwd and group,
					   as read (idnames.c), or NULL */
	struct pcw_dquot *dquot;	/* quota usage (quota.h), or NULL */
	blk64_t		quota_reserve;	/* blocks its next sync may need */
	bool		set_project;	/* new inodes get project */
	uint32_t	project;
	unsigned	dcache_dirs;	/* directories the run's cache holds
					   (written at the close: --undo's
					   estimate counts them) */
	/*
	 * The layers above, called by the I/O layer (io_run.c), set by
	 * pcw_fs_open: at the first write, and before each commit.
	 */
	errcode_t	(*begin_hook)(pcw_fs *pfs);
	errcode_t	(*commit_hook)(pcw_fs *pfs);
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

/* The physical extent a logical block falls in (or the hole). */
struct pcw_map {
	blk64_t		lblk;
	blk64_t		pblk;		/* 0 for a hole */
	blk64_t		len;
	bool		unwritten;
};

/*
 * ext4_inode_info: what the layers under the page cache (space, block
 * maps, the inode's own fields) know of an open file; the mapping holds one
 * (mapping->host in the kernel, EXT4_I() of it).  Space functions and the
 * block map take this, never the mapping.
 */
struct pcw_inode_info {
	pcw_fs		*pfs;
	ext2_filsys	fs;
	ext2_ino_t	ino;
	struct ext2_inode_large	*inode;	/* EXT2_INODE_SIZE bytes */
	ext2_extent_handle_t	handle;	/* aliases *inode (extent files) */
	blk64_t		goal;		/* where the next run should go */
	bool		goal_extends;	/* goal continues the file's last run */
	blk64_t		reserved;	/* this file's delayed blocks */
	blk64_t		pending;	/* this file's pending blocks */
	blk64_t		extent_end;	/* first block past the last extent */
	bool		dirty_inode;
	/* block lookup cache: the last extent (or hole) found */
	struct pcw_map	cached;
	bool		cached_valid;
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

/* The longest run mapped as one extent and written with one I/O. */
static inline blk64_t pcw_max_run(ext2_filsys fs)
{
	blk64_t io = PCW_MAX_IO_BYTES / fs->blocksize;

	return io < PCW_MAX_EXTENT_LEN ? io : PCW_MAX_EXTENT_LEN;
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
errcode_t pcw_alloc_holes(struct pcw_mapping *mapping, struct pcw_page *page,
			  uint64_t holes);
int64_t pcw_block_write_end(struct pcw_mapping *mapping, uint64_t pos,
			    unsigned len, unsigned copied,
			    struct pcw_page *page, uint64_t new_blocks);
errcode_t pcw_nd_write_begin(struct pcw_mapping *mapping, uint64_t pos,
			     unsigned len, struct pcw_page **pagep,
			     struct pcw_fsdata *fsdata);
void pcw_free_pending(struct pcw_mapping *mapping);
int64_t pcw_nd_write_end(struct pcw_mapping *mapping, uint64_t pos,
			 unsigned len, unsigned copied, struct pcw_page *page,
			 struct pcw_fsdata *fsdata);

/* writeback.c */
errcode_t pcw_writepages(struct pcw_mapping *mapping, uint64_t *nr_written);
void pcw_drop_delayed(struct pcw_mapping *mapping);
errcode_t pcw_write_inode(struct pcw_mapping *mapping);

/* balloc.c: space (fs, file, goal: never a mapping) */
/* What pcw_alloc_run gave: blocks for the data, and the clusters it took. */
struct pcw_alloc {
	blk64_t		pblk, len;	/* physical blocks for the run's head */
	blk64_t		cstart, clen;	/* newly allocated blocks (whole clusters) */
	blk64_t		clusters;	/* clusters newly allocated */
};
errcode_t pcw_new_blocks(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			 bool reserved, bool background, struct pcw_alloc *a);
void pcw_free_run(struct pcw_inode_info *ei, const struct pcw_alloc *a);
blk64_t pcw_free_clusters(ext2_filsys fs);
errcode_t pcw_fs_check_space(pcw_fs *pfs, blk64_t n);
errcode_t pcw_reserve(struct pcw_inode_info *ei, blk64_t n);
void pcw_release_reservation(struct pcw_inode_info *ei, blk64_t n);
bool pcw_nonda_switch(const pcw_fs *pfs);
void pcw_pending_add(struct pcw_inode_info *ei, blk64_t n);
void pcw_pending_mapped(struct pcw_inode_info *ei, blk64_t n);
void pcw_pending_free(struct pcw_inode_info *ei, blk64_t pblk);

/* extents.c: logical -> physical, for extent and block-mapped files */
errcode_t pcw_map_lookup(struct pcw_inode_info *ei, blk64_t lblk,
			 struct pcw_map *map);
errcode_t pcw_map_insert(struct pcw_inode_info *ei, blk64_t lblk,
			 blk64_t pblk, blk64_t len, bool unwritten);
errcode_t pcw_map_convert(struct pcw_inode_info *ei, blk64_t lblk,
			  blk64_t len);
errcode_t pcw_extent_end(struct pcw_inode_info *ei, blk64_t *end);
errcode_t pcw_count_extents(struct pcw_inode_info *ei, uint64_t *count);
blk64_t pcw_cluster_pblk(struct pcw_inode_info *ei, blk64_t lc);
errcode_t pcw_alloc_run(struct pcw_inode_info *ei, blk64_t lblk, blk64_t len,
			bool reserved, bool background, struct pcw_alloc *a);

errcode_t pcw_extent_insert(ext2_extent_handle_t h, blk64_t lblk,
			    blk64_t pblk, blk64_t len, bool unwritten);

/* dir.c: directories, looked up and changed without rescanning */
struct pcw_dir;
errcode_t pcw_dir_open(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret);
errcode_t pcw_dir_lookup(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, ext2_ino_t *ino, int *ftype);
errcode_t pcw_dir_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, ext2_ino_t ino, int ftype);
errcode_t pcw_dir_remove(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len);
errcode_t pcw_dir_can_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			  unsigned len, blk64_t extra);
errcode_t pcw_dir_new(pcw_fs *pfs, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, ext2_ino_t parent,
		      struct pcw_dir **ret);
void pcw_dir_discard(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_check_link(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_inc_link(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dir_init_block(ext2_filsys fs, unsigned char *buf, ext2_ino_t ino,
			ext2_ino_t parent);
struct ext2_inode_large *pcw_dir_inode(struct pcw_dir *d);
ext2_ino_t pcw_dir_ino(const struct pcw_dir *d);
errcode_t pcw_dir_write_inode(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_reload_inode(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dir_forget(pcw_fs *pfs, ext2_ino_t ino);
errcode_t pcw_dcache_flush(pcw_fs *pfs);
void pcw_dcache_free(pcw_fs *pfs);

/* inode.c: inodes of every kind, links */
#define PCW_TIME_M	0x1
#define PCW_TIME_A	0x2
#define PCW_TIME_C	0x4
#define PCW_TIME_CR	0x8
#define PCW_TIME_ALL	0xf
errcode_t pcw_init_extent_tree(ext2_filsys fs, ext2_ino_t ino,
			       struct ext2_inode_large *inode);
void pcw_inode_set_owner(struct ext2_inode_large *inode, uint32_t uid,
			 uint32_t gid);
void pcw_inode_set_rdev(struct ext2_inode_large *inode, uint32_t major,
			uint32_t minor);
errcode_t pcw_inode_alloc(pcw_fs *pfs, ext2_ino_t parent, unsigned mode,
			  struct ext2_inode_large *inode, ext2_ino_t *ret);
errcode_t pcw_inode_commit_new(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode);
void pcw_inode_uncommit(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode);
errcode_t pcw_inode_release(pcw_fs *pfs, ext2_ino_t ino,
			    struct ext2_inode_large *inode);
typedef void (*pcw_fill_fn)(struct ext2_inode_large *inode, void *arg);
errcode_t pcw_check_create(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			   blk64_t extra);
errcode_t pcw_create(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     unsigned mode, pcw_fill_fn fill, void *arg,
		     struct ext2_inode_large *inode, ext2_ino_t *ret);
errcode_t pcw_mkdir(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		    unsigned perm, pcw_fill_fn fill, void *arg,
		    struct pcw_dir **ret);
errcode_t pcw_symlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		      const char *target, pcw_fill_fn fill, void *arg,
		      ext2_ino_t *ret);
errcode_t pcw_link(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		   ext2_ino_t ino);
errcode_t pcw_unlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino);
void pcw_note_symlink(pcw_fs *pfs, ext2_ino_t ino);
bool pcw_made_symlink(const pcw_fs *pfs, ext2_ino_t ino);

/* attrs.c: what INODE holds, as a report shows it */
void pcw_inode_attrs(ext2_ino_t ino, const struct ext2_inode_large *inode,
		     struct pcw_attrs *a);

/* idnames.c: a mapping was opened on INO (its data may change); the end */
void pcw_idnames_note_write(pcw_fs *pfs, ext2_ino_t ino);
void pcw_idnames_free(pcw_fs *pfs);

/*
 * times.c: the run's now (FIXED >= 0: that second, 0 ns); an inode's times
 * as the kernel stores them, clamped to what the inode holds (counted in
 * pfs->clamps); libarchive's split of a negative pax time into the kernel's.
 */
void pcw_time_init(pcw_fs *pfs, int64_t fixed);
void pcw_inode_set_times(pcw_fs *pfs, struct ext2_inode_large *inode,
			 int which, int64_t sec, uint32_t nsec);
void pcw_inode_set_now(pcw_fs *pfs, struct ext2_inode_large *inode, int which);
void pcw_pax_time(int64_t *sec, uint32_t *nsec);

/* may.c: the kernel's refusals for the immutable and append-only flags */
errcode_t pcw_may_create(pcw_fs *pfs, struct pcw_dir *dir);
errcode_t pcw_may_delete(pcw_fs *pfs, struct pcw_dir *dir,
			 const struct ext2_inode_large *victim);
errcode_t pcw_may_link(pcw_fs *pfs, struct pcw_dir *dir,
		       const struct ext2_inode_large *target);
errcode_t pcw_may_setattr(const struct ext2_inode_large *inode);
errcode_t pcw_may_write(const struct ext2_inode_large *inode, bool append);

/* namei.c */
/* The target of symlink INO (owned): in the inode, inline or in its block. */
errcode_t pcw_read_link(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode, char **target);
errcode_t pcw_walk(pcw_fs *pfs, ext2_ino_t start, const char *path, int flags,
		   struct pcw_dest *d);
errcode_t pcw_make_dirs(pcw_fs *pfs, const struct pcw_dest *d,
			pcw_fill_fn fill, void *arg, ext2_ino_t *parent);
/* --parents: a new directory's owner (ARG: the pcw_file_params) */
void pcw_fill_parent(struct ext2_inode_large *inode, void *arg);


/*
 * truncate.c: free every block of INODE (data, extent-tree or indirect
 * blocks), each cluster once.  On success i_block is empty (zeroed,
 * EXTENTS_FL cleared) and i_blocks keeps only the xattr block and the
 * values in EA inodes (pcw_ea_charge); the caller writes the inode.  A file
 * whose blocks are outside the filesystem, free in the bitmap or more than
 * i_blocks counts is refused with PCW_ET_CORRUPT, nothing changed.
 */
errcode_t pcw_truncate_blocks(ext2_filsys fs, ext2_ino_t ino,
			      struct ext2_inode_large *inode);

/*
 * ea_inode.c: attribute values in inodes of their own (ea_inode), charged
 * to their owner and released with it as the kernel does.
 *
 * Every libext2fs change of INO's attributes (ext2fs_xattr_set, _remove,
 * ext2fs_punch of inline data) goes between pcw_ea_change_begin and
 * pcw_ea_change_end, N values X about to be set (none for a removal).
 * begin checks the room the values could need (ENOSPC, nothing changed),
 * refuses an owner whose references are damaged (PCW_ET_CORRUPT) or
 * Lustre-style (PCW_ET_UNSUPP_INODE); end runs whenever begin succeeded,
 * after a failed change too.  Both are no-ops without ea_inode.
 */
struct pcw_ea_change {
	bool		active;
	blk64_t		charge;		/* the owner's value clusters before */
	ext2_ino_t	*pinned;	/* EA inodes held during the change */
	size_t		npinned;
};
errcode_t pcw_ea_change_begin(pcw_fs *pfs, ext2_ino_t ino,
			      const struct pcw_xattr *x, size_t n,
			      struct pcw_ea_change *c);
errcode_t pcw_ea_change_end(pcw_fs *pfs, ext2_ino_t ino,
			    struct pcw_ea_change *c);
/* The clusters INO's EA-inode values cost it (beside data and block). */
errcode_t pcw_ea_charge(ext2_filsys fs, ext2_ino_t ino, blk64_t *clusters);
/*
 * INO's last link is gone: drop the references its body holds, and its
 * block's if INO is the block's last owner, freeing an EA inode left with
 * none.  Before ext2fs_free_ext_attr.
 */
errcode_t pcw_ea_release(pcw_fs *pfs, ext2_ino_t ino);

/* maxbytes.c: the kernel's largest file size for an extent or
   block-mapped file (s_maxbytes, s_bitmap_maxbytes) */
uint64_t pcw_max_file_bytes(ext2_filsys fs, bool extent_file);

/* io_run.c: the events of the report; the first write; the image's size */
void pcw_emit(pcw_fs *pfs, const struct pcw_event *ev);
errcode_t pcw_check_image_size(pcw_fs *pfs);

/* host.c: the block devices of the system, as the checks of fs.c see them */
struct pcw_bdev {
	char		name[32];	/* sysfs name: "loop0p2"; node /dev/NAME */
	dev_t		rdev;
	dev_t		whole;		/* its whole disk (rdev for a disk) */
	bool		partition;
	struct pcw_host_id id;		/* where its bytes are */
};
/*
 * Every block device whose bytes overlap ID: PCW_ET_MOUNTED, PCW_ET_BUSY or
 * PCW_ET_DEV_UNCHECKED (conflict names it) when one is mounted, held or
 * cannot be opened; else 0 and the list of them but SELF (the image's own
 * device, or 0), which is checked too.  An errno when /sys/class/block
 * cannot be read.
 */
errcode_t pcw_host_check_devices(const struct pcw_host_id *id, dev_t self,
				 struct pcw_conflict *conflict,
				 struct pcw_bdev **ret, size_t *nret);
/*
 * BLKFLSBUF each; PCW_ET_FLUSH (conflict names it) if a loop device's
 * failed (a disk's is best effort: it needs CAP_SYS_ADMIN).
 */
errcode_t pcw_host_flush_devices(const struct pcw_bdev *devs, size_t n,
				 struct pcw_conflict *conflict);
/* The regular file under loop device (or partition) RDEV. */
errcode_t pcw_host_backing(dev_t rdev, char *path, size_t len);

/* errno for a page record's status */
int pcw_errno(errcode_t err);

/* check.c: refusals before the first write (pcw_fs_open) */
errcode_t pcw_check_state(ext2_filsys fs);
errcode_t pcw_check_layout(ext2_filsys fs);
errcode_t pcw_check_metadata_in_use(ext2_filsys fs);

/*
 * One commit of the I/O layer (io.h), not synced: a file reported done
 * survives a killed process.  pcw_mapping_finish calls it for a single
 * file, pcw_tree_commit for a tree's batch of entries (a tree's files leave
 * it to the batch).
 */
errcode_t pcw_fs_commit(pcw_fs *pfs);
/*
 * undo.c: --undo.  Reopen the image through libext2fs's undo manager (over
 * a backing manager that writes each record before the image block it
 * protects); check that the undo file has room for COUNT more blocks and
 * for finishing the run (PCW_ET_UNDO_*: stop, nothing written); after the
 * close, check it is complete and sync it; release it after a refusal.
 */
errcode_t pcw_undo_reopen(pcw_fs *pfs, ext2_filsys *ret);
errcode_t pcw_undo_room(pcw_fs *pfs, uint64_t count);
errcode_t pcw_undo_finish(pcw_fs *pfs);
void pcw_undo_release(pcw_fs *pfs);

/* COUNT blocks of file data from BUF to block BLK of the image. */
errcode_t pcw_fs_write_data(pcw_fs *pfs, blk64_t blk, size_t count,
			    const void *buf);

#endif /* PCW_INTERNAL_H */
