/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dir_int.h: what the directory files share (dirent.c, dcache.c, htree.c,
 * dir.c): a loaded directory, the run's cache, an index frame.
 */
#ifndef PCW_DIR_INT_H
#define PCW_DIR_INT_H

#include "dir.h"

#define DX_ROOT_COUNT_OFF	32	/* ".", "..", dx_root_info */
#define DX_NODE_COUNT_OFF	8	/* the fake dirent */
#define DIR_NAME_DELETED	0xffffffffU

/*
 * The blocks (clusters) a directory's growth takes, checked before the
 * first change; one of each for the directory's own extent tree, should a
 * new block not extend its last extent.  pcw_make_indexed_dir(): block 1, then
 * the first split of it.  A linear directory: its new block.
 */
#define MAKE_INDEXED_NEED	3
#define LINEAR_NEED		2

/* A linear directory's name in the hash table. */
struct dir_name {
	uint32_t	hash;
	uint32_t	ino;		/* 0: free; DIR_NAME_DELETED: tombstone */
	uint32_t	lblk;
	uint32_t	off;		/* of the name in strings[] */
	uint8_t		len;
	uint8_t		ftype;
};

struct pcw_dir {
	ext2_ino_t	ino;
	struct pcw_dir	*hash_next;
	/* the cache's least-recently-used order (dcache.c) */
	struct pcw_dir	*lru_prev, *lru_next;
	size_t		bytes;		/* as last counted into the cache's */
	unsigned	epoch;		/* the cache's epoch when last opened */
	struct ext2_inode_large	*inode;
	bool		htree;
	bool		inline_data;
	bool		dirty_inode;	/* times to write at the end */
	/*
	 * Casefolded (EXT4_CASEFOLD_FL): the filesystem's encoding, which
	 * names are hashed and compared with; NULL: bytes.
	 */
	const struct ext2fs_nls_table *cf;
	blk64_t		*pblk;		/* the block map, lblk -> pblk */
	uint32_t	nblocks, cap;

	/* linear directories */
	struct dir_name	*names;
	uint32_t	nmask, nused, nlive;
	char		*strings;
	size_t		slen, scap;
	uint32_t	*room;		/* largest free record of each block */
	uint32_t	room_hint;

	/* indexed directories */
	int		hash_alg;
	ext2_ino_t	dotdot;
};

/*
 * Directory blocks, kept as they are on disk once their checksum was
 * verified: a run that adds many names reads the same index and leaf
 * blocks again and again, and a checksum over 4 KiB costs more than the
 * insert.  Every write goes to the image at once and to the copy here.
 */
#define DBLOCKS		256

struct dblock {
	ext2_ino_t	ino;		/* 0: unused */
	uint32_t	lblk;
	blk64_t		pblk;
	int		next;		/* hash chain, -1 ends */
	unsigned char	*buf;
};

/*
 * The bytes of loaded directories the cache keeps past the current entry's
 * (PCW_TEST_DCACHE_BYTES in the environment sets another, for the tests).
 */
#define PCW_DCACHE_BYTES	(2U << 20)

struct pcw_dcache {
	struct pcw_dir	**hash;
	unsigned	mask, count;
	/*
	 * Loaded directories, most recently opened first; BYTES their
	 * memory, LIMIT the most kept.  A directory opened in the current
	 * EPOCH (pcw_dcache_next) is never evicted: its caller may hold it.
	 */
	struct pcw_dir	*lru_head, *lru_tail;
	size_t		bytes, limit;
	unsigned	epoch;
	unsigned char	*buf[6];	/* scratch blocks: 3 frames, 3 leaves */
	struct dblock	blocks[DBLOCKS];
	int		bhash[DBLOCKS];
	unsigned	clock;
};

struct dx_frame {
	uint32_t		lblk;
	unsigned char		*buf;
	struct ext2_dx_entry	*entries;
	unsigned		count, limit, at;
};


/* dirent.c: records inside one directory block */
unsigned pcw_dir_csum_size(ext2_filsys fs);
unsigned pcw_dir_leaf_end(ext2_filsys fs);
unsigned pcw_dx_root_limit(ext2_filsys fs);
unsigned pcw_dx_node_limit(ext2_filsys fs);
uint32_t pcw_dir_name_hash(const struct ext2fs_nls_table *cf,
			   const char *name, unsigned len);
bool pcw_name_encoded(const struct ext2fs_nls_table *cf, const char *name,
		      unsigned len);
bool pcw_name_match(const struct ext2fs_nls_table *cf, const char *a,
		    unsigned alen, const char *b, unsigned blen);
struct ext2_dir_entry *pcw_dirent_at(unsigned char *buf, unsigned off);
errcode_t pcw_rec_len_at(ext2_filsys fs, unsigned char *buf, unsigned off,
			 unsigned end, unsigned *rec_len);
bool pcw_dir_tail_ok(ext2_filsys fs, unsigned char *buf);
void pcw_set_dirent(ext2_filsys fs, struct ext2_dir_entry *de,
		    ext2_ino_t ino, const char *name, unsigned len,
		    int ftype);
void pcw_dir_init_leaf(ext2_filsys fs, unsigned char *buf);
errcode_t pcw_leaf_room(ext2_filsys fs, unsigned char *buf, uint32_t *room);
errcode_t pcw_leaf_insert(ext2_filsys fs, unsigned char *buf,
			  const char *name, unsigned len, ext2_ino_t ino,
			  int ftype);
errcode_t pcw_leaf_find(ext2_filsys fs, const struct ext2fs_nls_table *cf,
			unsigned char *buf, unsigned start, unsigned end,
			const char *name, unsigned len, int *at, unsigned *prev);
void pcw_leaf_delete(ext2_filsys fs, unsigned char *buf, unsigned off,
		     unsigned prev);

/* dcache.c: the run's cache of directories and their blocks */
errcode_t pcw_dir_read_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			     unsigned char *buf);
errcode_t pcw_dir_write_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			      unsigned char *buf);
void pcw_dir_changed(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_names_grow(struct pcw_dir *d);
struct dir_name *pcw_dir_names_find(struct pcw_dir *d, const char *name,
				    unsigned len);
errcode_t pcw_dir_names_add(struct pcw_dir *d, const char *name, unsigned len,
			    ext2_ino_t ino, int ftype, uint32_t lblk);
void pcw_dir_names_free(struct pcw_dir *d);
errcode_t pcw_dcache_get(pcw_fs *pfs, struct pcw_dcache **ret);
void pcw_dcache_insert(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dcache_touch(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dir_free(struct pcw_dir *d);
errcode_t pcw_dir_append_block(pcw_fs *pfs, struct pcw_dir *d,
			       unsigned char *content, uint32_t *lblkp);

/* dir.c: FN on each live record of an inline directory */
errcode_t pcw_dir_inline_each(pcw_fs *pfs, struct pcw_dir *d,
			      int (*fn)(struct ext2_dir_entry *de, void *arg),
			      void *arg);

/* htree.c: indexed directories */
errcode_t pcw_dx_hash(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, uint32_t *hash);
errcode_t pcw_load_htree(pcw_fs *pfs, struct pcw_dir *d, unsigned char *buf);
uint32_t pcw_dx_block_of(const struct ext2_dx_entry *e);
errcode_t pcw_dx_probe(pcw_fs *pfs, struct pcw_dir *d, uint32_t hash,
		       struct dx_frame *frames, unsigned *levels);
errcode_t pcw_dx_find(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, uint32_t *lblk, int *at, unsigned *prev);
blk64_t pcw_dx_need(const struct dx_frame *bottom, unsigned levels);
errcode_t pcw_dx_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		     unsigned len, ext2_ino_t ino, int ftype);
errcode_t pcw_make_indexed_dir(pcw_fs *pfs, struct pcw_dir *d);

#endif /* PCW_DIR_INT_H */
