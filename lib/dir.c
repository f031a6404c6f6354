/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dir.c: directories: look names up, add and remove them, without
 * rescanning (fs/ext4/namei.c in miniature).
 *
 * libext2fs's ext2fs_lookup and ext2fs_link scan a directory from its first
 * block for every name, so N names into one directory cost N^2.  The kernel
 * looks a name up through the htree index (dx_probe) and inserts into the
 * one leaf the hash picks (ext4_dx_add_entry), splitting leaves and index
 * nodes as they fill.  pcwrite does the same.  Each directory a run touches
 * is loaded once into a struct pcw_dir:
 *
 *  - an indexed (htree) directory keeps its block map only: lookups and
 *    inserts go through the index, O(1) in the directory's size, and memory
 *    does not grow with the names already there;
 *  - a linear directory is read once into a hash table of its names and the
 *    largest free record of each block.
 *
 * A linear directory whose one block fills becomes an indexed one
 * (make_indexed_dir) when the filesystem has dir_index, as in the kernel.
 * New directory blocks are allocated and mapped here (not with
 * ext2fs_expand_dir, which breaks an indexed directory, nor
 * ext2fs_fallocate).  An inline directory is moved into a block before it
 * changes.  Room for every block an insert may need is checked before the
 * first change, so a failed insert leaves the directory as it was; a full
 * index (the kernel's "Directory index full") is ENOSPC, found before
 * anything is written.
 *
 * Every changed block is written at once: a name reported done is in the
 * image even if the process is killed.  The directory's times are written
 * when the run ends (pcw_dcache_flush).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io.h"

#define DX_ROOT_COUNT_OFF	32	/* ".", "..", dx_root_info */
#define DX_NODE_COUNT_OFF	8	/* the fake dirent */
#define DIR_NAME_DELETED	0xffffffffU

/*
 * The blocks (clusters) a directory's growth takes, checked before the
 * first change; one of each for the directory's own extent tree, should a
 * new block not extend its last extent.  make_indexed_dir(): block 1, then
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
	struct ext2_inode_large	*inode;
	bool		htree;
	bool		inline_data;
	bool		dirty_inode;	/* times to write at the end */
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

struct pcw_dcache {
	struct pcw_dir	**hash;
	unsigned	mask, count;
	unsigned char	*buf[6];	/* scratch blocks: 3 frames, 3 leaves */
	struct dblock	blocks[DBLOCKS];
	int		bhash[DBLOCKS];
	unsigned	clock;
};

static unsigned dblock_hash(ext2_ino_t ino, uint32_t lblk)
{
	return ((ino * 2654435761U) ^ (lblk * 40503U)) % DBLOCKS;
}

static struct dblock *dblock_find(struct pcw_dcache *c, ext2_ino_t ino,
				  uint32_t lblk)
{
	int k;

	for (k = c->bhash[dblock_hash(ino, lblk)]; k >= 0; k = c->blocks[k].next)
		if (c->blocks[k].ino == ino && c->blocks[k].lblk == lblk)
			return &c->blocks[k];
	return NULL;
}

static void dblock_unhash(struct pcw_dcache *c, int k)
{
	int *pp = &c->bhash[dblock_hash(c->blocks[k].ino, c->blocks[k].lblk)];

	while (*pp >= 0 && *pp != k)
		pp = &c->blocks[*pp].next;
	if (*pp == k)
		*pp = c->blocks[k].next;
	c->blocks[k].ino = 0;
}

/* Keep a copy of the block (ino, lblk) at PBLK as BUF holds it. */
static void dblock_put(struct pcw_dcache *c,
		       ext2_ino_t ino, uint32_t lblk, blk64_t pblk,
		       const unsigned char *buf, unsigned size)
{
	struct dblock *b = dblock_find(c, ino, lblk);
	int k;

	if (!b) {
		k = c->clock++ % DBLOCKS;
		if (c->blocks[k].ino)
			dblock_unhash(c, k);
		b = &c->blocks[k];
		if (!b->buf) {
			b->buf = malloc(size);
			if (!b->buf)
				return;
		}
		b->ino = ino;
		b->lblk = lblk;
		b->next = c->bhash[dblock_hash(ino, lblk)];
		c->bhash[dblock_hash(ino, lblk)] = k;
	}
	b->pblk = pblk;
	memcpy(b->buf, buf, size);
}

/* Forget every block of directory INO. */
static void dblock_forget(struct pcw_dcache *c, ext2_ino_t ino)
{
	int k;

	for (k = 0; k < DBLOCKS; k++)
		if (c->blocks[k].ino == ino)
			dblock_unhash(c, k);
}

/* ---- small helpers --------------------------------------------------------- */

static unsigned csum_size(ext2_filsys fs)
{
	return ext2fs_has_feature_metadata_csum(fs->super) ?
	       sizeof(struct ext2_dir_entry_tail) : 0;
}

/* Where a leaf's dirents end (the checksum tail follows). */
static unsigned leaf_end(ext2_filsys fs)
{
	return fs->blocksize - csum_size(fs);
}

static unsigned root_limit(ext2_filsys fs)
{
	return (fs->blocksize - DX_ROOT_COUNT_OFF) / 8 -
	       (csum_size(fs) ? 1 : 0);
}

static unsigned node_limit(ext2_filsys fs)
{
	return (fs->blocksize - DX_NODE_COUNT_OFF) / 8 -
	       (csum_size(fs) ? 1 : 0);
}

static uint32_t name_hash(const char *name, unsigned len)
{
	uint32_t h = 2166136261U;

	while (len--)
		h = (h ^ (unsigned char)*name++) * 16777619U;
	return h ? h : 1;
}

static struct ext2_dir_entry *dirent_at(unsigned char *buf, unsigned off)
{
	return (struct ext2_dir_entry *)(buf + off);
}

/*
 * The record at OFF of a block whose dirents end at END: its length, after
 * checking it (aligned, long enough for its name, inside the block).
 */
static errcode_t rec_len_at(ext2_filsys fs, unsigned char *buf, unsigned off,
			    unsigned end, unsigned *rec_len)
{
	struct ext2_dir_entry *de = dirent_at(buf, off);
	unsigned len;

	if (off + 8 > end)
		return PCW_ET_CORRUPT;
	/* ext2fs_get_rec_len(), inline: this is the inner loop of a scan. */
	len = ext2fs_le16_to_cpu(de->rec_len);
	if (fs->blocksize >= 65536) {
		if (len == 65535 || len == 0)	/* EXT4_MAX_REC_LEN */
			len = fs->blocksize;
		else
			len = (len & 65532) | ((len & 3) << 16);
	}
	if (len < 8 || (len & 3) || off + len > end ||
	    (unsigned)ext2fs_dirent_name_len(de) + 8 > len)
		return PCW_ET_CORRUPT;
	*rec_len = len;
	return 0;
}

/* Is the checksum tail of a leaf in place? */
static bool tail_ok(ext2_filsys fs, unsigned char *buf)
{
	struct ext2_dir_entry_tail *t;

	if (!csum_size(fs))
		return true;
	t = (struct ext2_dir_entry_tail *)(buf + leaf_end(fs));
	return t->det_reserved_zero1 == 0 &&
	       t->det_rec_len == sizeof(*t) &&
	       t->det_reserved_name_len == EXT2_DIR_NAME_LEN_CSUM;
}

static void set_dirent(ext2_filsys fs, struct ext2_dir_entry *de,
		       ext2_ino_t ino, const char *name, unsigned len,
		       int ftype)
{
	de->inode = ino;
	ext2fs_dirent_set_name_len(de, len);
	ext2fs_dirent_set_file_type(de,
		ext2fs_has_feature_filetype(fs->super) ? ftype : 0);
	memcpy(de->name, name, len);
}

/* An empty leaf: one unused record over the whole block, and the tail. */
static void init_leaf(ext2_filsys fs, unsigned char *buf)
{
	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, leaf_end(fs), dirent_at(buf, 0));
	if (csum_size(fs))
		ext2fs_initialize_dirent_tail(fs,
			(struct ext2_dir_entry_tail *)(buf + leaf_end(fs)));
}

static errcode_t read_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			    unsigned char *buf)
{
	errcode_t err;

	struct dblock *b;

	if (lblk >= d->nblocks)
		return PCW_ET_CORRUPT;
	b = dblock_find(pfs->dcache, d->ino, lblk);
	if (b && b->pblk == d->pblk[lblk]) {
		memcpy(buf, b->buf, pfs->fs->blocksize);
		return 0;
	}
	err = ext2fs_read_dir_block4(pfs->fs, d->pblk[lblk], buf, 0, d->ino);
	if (err == EXT2_ET_DIR_CSUM_INVALID || err == EXT2_ET_DIR_CORRUPTED)
		return PCW_ET_CORRUPT;
	if (!err)
		dblock_put(pfs->dcache, d->ino, lblk, d->pblk[lblk], buf,
			   pfs->fs->blocksize);
	return err;
}

static errcode_t write_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			     unsigned char *buf)
{
	errcode_t err = ext2fs_write_dir_block4(pfs->fs, d->pblk[lblk], buf, 0,
						d->ino);

	if (err) {
		pfs->meta_error = true;
		dblock_forget(pfs->dcache, d->ino);
	} else {
		pcw_io_mark_dir(pfs->fs, d->pblk[lblk]);
		dblock_put(pfs->dcache, d->ino, lblk, d->pblk[lblk], buf,
			   pfs->fs->blocksize);
	}
	return err;
}

/*
 * Write the directory's inode.  Only the fixed part: the in-inode extended
 * attributes after it stay as they are on disk.
 */
errcode_t pcw_dir_write_inode(pcw_fs *pfs, struct pcw_dir *d)
{
	errcode_t err = ext2fs_write_inode_full(pfs->fs, d->ino,
					(struct ext2_inode *)d->inode,
					sizeof(struct ext2_inode_large));

	if (err)
		pfs->meta_error = true;
	else
		d->dirty_inode = false;
	return err;
}

/* Read the inode again, after ext2fs_xattrs_write rewrote it. */
errcode_t pcw_dir_reload_inode(pcw_fs *pfs, struct pcw_dir *d)
{
	return ext2fs_read_inode_full(pfs->fs, d->ino,
				      (struct ext2_inode *)d->inode,
				      EXT2_INODE_SIZE(pfs->fs->super));
}

struct ext2_inode_large *pcw_dir_inode(struct pcw_dir *d)
{
	return d->inode;
}

ext2_ino_t pcw_dir_ino(const struct pcw_dir *d)
{
	return d->ino;
}

/* A name was added or removed: mtime and ctime, as the kernel sets them. */
static void dir_changed(pcw_fs *pfs, struct pcw_dir *d)
{
	pcw_inode_set_now(pfs, d->inode, PCW_TIME_M | PCW_TIME_C);
	d->dirty_inode = true;
}

/* ---- the linear directory's name table -------------------------------------- */

static errcode_t names_grow(struct pcw_dir *d)
{
	uint32_t nmask = d->nmask ? d->nmask * 2 + 1 : 63, i;
	struct dir_name *old = d->names, *nt;

	nt = calloc((size_t)nmask + 1, sizeof(*nt));
	if (!nt)
		return ENOMEM;
	for (i = 0; old && i <= d->nmask; i++) {
		uint32_t k;

		if (!old[i].ino || old[i].ino == DIR_NAME_DELETED)
			continue;
		for (k = old[i].hash & nmask; nt[k].ino; k = (k + 1) & nmask)
			;
		nt[k] = old[i];
	}
	free(old);
	d->names = nt;
	d->nmask = nmask;
	d->nused = d->nlive;
	return 0;
}

static struct dir_name *names_find(struct pcw_dir *d, const char *name,
				   unsigned len)
{
	uint32_t h = name_hash(name, len), k;

	if (!d->names)
		return NULL;
	for (k = h & d->nmask; d->names[k].ino; k = (k + 1) & d->nmask) {
		struct dir_name *n = &d->names[k];

		if (n->ino != DIR_NAME_DELETED && n->hash == h &&
		    n->len == len && !memcmp(d->strings + n->off, name, len))
			return n;
	}
	return NULL;
}

static errcode_t names_add(struct pcw_dir *d, const char *name, unsigned len,
			   ext2_ino_t ino, int ftype, uint32_t lblk)
{
	uint32_t h = name_hash(name, len), k;
	errcode_t err;

	if ((d->nused + 1) * 4 > (d->nmask + 1) * 3) {
		err = names_grow(d);
		if (err)
			return err;
	}
	if (d->slen + len > d->scap) {
		size_t cap = d->scap ? d->scap * 2 : 4096;
		char *s;

		while (cap < d->slen + len)
			cap *= 2;
		s = realloc(d->strings, cap);
		if (!s)
			return ENOMEM;
		d->strings = s;
		d->scap = cap;
	}
	memcpy(d->strings + d->slen, name, len);
	for (k = h & d->nmask; d->names[k].ino &&
	     d->names[k].ino != DIR_NAME_DELETED; k = (k + 1) & d->nmask)
		;
	if (!d->names[k].ino)
		d->nused++;
	d->names[k].hash = h;
	d->names[k].ino = ino;
	d->names[k].lblk = lblk;
	d->names[k].off = d->slen;
	d->names[k].len = len;
	d->names[k].ftype = ftype;
	d->slen += len;
	d->nlive++;
	return 0;
}

static void names_free(struct pcw_dir *d)
{
	free(d->names);
	free(d->strings);
	free(d->room);
	d->names = NULL;
	d->strings = NULL;
	d->room = NULL;
	d->nmask = d->nused = d->nlive = 0;
	d->slen = d->scap = 0;
}

/* ---- records inside one block ------------------------------------------------ */

/* The largest record a new name could take in the leaf BUF. */
static errcode_t leaf_room(ext2_filsys fs, unsigned char *buf, uint32_t *room)
{
	unsigned off, rec_len, end = leaf_end(fs);
	uint32_t best = 0;
	errcode_t err;

	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = dirent_at(buf, off);
		unsigned free_len;

		err = rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		free_len = de->inode ?
			   rec_len - EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) :
			   rec_len;
		if (free_len > best)
			best = free_len;
	}
	*room = best;
	return 0;
}

/*
 * ext4_find_dest_de() + ext4_insert_dentry(): put the name in the first
 * record with room, splitting a live record's slack off.  ENOSPC when the
 * leaf has no room.
 */
static errcode_t leaf_insert(ext2_filsys fs, unsigned char *buf,
			     const char *name, unsigned len, ext2_ino_t ino,
			     int ftype)
{
	unsigned off, rec_len, end = leaf_end(fs);
	unsigned need = EXT2_DIR_REC_LEN(len);
	errcode_t err;

	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = dirent_at(buf, off);

		err = rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		if (de->inode) {
			unsigned used = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
			struct ext2_dir_entry *nde;

			if (rec_len < used + need)
				continue;
			ext2fs_set_rec_len(fs, used, de);
			nde = dirent_at(buf, off + used);
			ext2fs_set_rec_len(fs, rec_len - used, nde);
			set_dirent(fs, nde, ino, name, len, ftype);
			return 0;
		}
		if (rec_len >= need) {
			set_dirent(fs, de, ino, name, len, ftype);
			return 0;
		}
	}
	return ENOSPC;
}

/* Find NAME in the leaf (dirents in [start, end)); its offset or -1. */
static errcode_t leaf_find(ext2_filsys fs, unsigned char *buf, unsigned start,
			   unsigned end, const char *name, unsigned len,
			   int *at, unsigned *prev)
{
	unsigned off, rec_len, last = ~0U;
	errcode_t err;

	*at = -1;
	for (off = start; off < end; off += rec_len) {
		struct ext2_dir_entry *de = dirent_at(buf, off);

		err = rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		if (de->inode && (unsigned)ext2fs_dirent_name_len(de) == len &&
		    !memcmp(de->name, name, len)) {
			*at = off;
			if (prev)
				*prev = last;
			return 0;
		}
		last = off;
	}
	return 0;
}

/* ext4_generic_delete_entry(): fold the record into the one before it. */
static void leaf_delete(ext2_filsys fs, unsigned char *buf, unsigned off,
			unsigned prev)
{
	struct ext2_dir_entry *de = dirent_at(buf, off);
	unsigned rec_len, prev_len;

	ext2fs_get_rec_len(fs, de, &rec_len);
	if (prev != ~0U) {
		struct ext2_dir_entry *pde = dirent_at(buf, prev);

		ext2fs_get_rec_len(fs, pde, &prev_len);
		ext2fs_set_rec_len(fs, prev_len + rec_len, pde);
	} else {
		de->inode = 0;
	}
}

/* ---- the cache of loaded directories ----------------------------------------- */

static errcode_t dcache_get(pcw_fs *pfs, struct pcw_dcache **ret)
{
	struct pcw_dcache *c = pfs->dcache;
	unsigned i;

	if (c) {
		*ret = c;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->mask = 255;
	for (i = 0; i < DBLOCKS; i++)
		c->bhash[i] = -1;
	c->hash = calloc(c->mask + 1, sizeof(*c->hash));
	for (i = 0; i < 6 && c->hash; i++) {
		c->buf[i] = malloc(pfs->fs->blocksize);
		if (!c->buf[i])
			break;
	}
	if (!c->hash || i < 6) {
		for (i = 0; i < 6; i++)
			free(c->buf[i]);
		free(c->hash);
		free(c);
		return ENOMEM;
	}
	pfs->dcache = c;
	*ret = c;
	return 0;
}

static void dir_free(struct pcw_dir *d)
{
	names_free(d);
	free(d->pblk);
	free(d->inode);
	free(d);
}

void pcw_dcache_free(pcw_fs *pfs)
{
	struct pcw_dcache *c = pfs->dcache;
	unsigned i;

	if (!c)
		return;
	for (i = 0; i <= c->mask; i++) {
		struct pcw_dir *d = c->hash[i], *next;

		for (; d; d = next) {
			next = d->hash_next;
			dir_free(d);
		}
	}
	for (i = 0; i < 6; i++)
		free(c->buf[i]);
	for (i = 0; i < DBLOCKS; i++)
		free(c->blocks[i].buf);
	free(c->hash);
	free(c);
	pfs->dcache = NULL;
	pfs->dcache_dirs = 0;
}

/* Write the times of every directory that gained or lost a name. */
errcode_t pcw_dcache_flush(pcw_fs *pfs)
{
	struct pcw_dcache *c = pfs->dcache;
	errcode_t err = 0, err2;
	unsigned i;

	if (!c)
		return 0;
	for (i = 0; i <= c->mask; i++) {
		struct pcw_dir *d;

		for (d = c->hash[i]; d; d = d->hash_next) {
			if (!d->dirty_inode)
				continue;
			err2 = pcw_dir_write_inode(pfs, d);
			if (!err)
				err = err2;
		}
	}
	return err;
}

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		    blk64_t ref_blk, int ref_offset, void *priv)
{
	struct pcw_dir *d = priv;

	if (blockcnt < 0)
		return 0;
	if ((uint64_t)blockcnt >= d->nblocks) {
		d->nblocks = 0;		/* blocks past i_size */
		return BLOCK_ABORT;
	}
	d->pblk[blockcnt] = *blocknr;
	return 0;
}

static errcode_t load_linear(pcw_fs *pfs, struct pcw_dir *d,
			     unsigned char *buf)
{
	ext2_filsys fs = pfs->fs;
	uint32_t b;
	errcode_t err;

	free(d->room);
	d->room = calloc(d->cap, sizeof(*d->room));
	if (!d->room)
		return ENOMEM;
	err = names_grow(d);
	if (err)
		return err;
	for (b = 0; b < d->nblocks; b++) {
		unsigned off, rec_len, end;

		err = read_block(pfs, d, b, buf);
		if (err)
			return err;
		if (!tail_ok(fs, buf))
			return PCW_ET_CORRUPT;
		end = leaf_end(fs);
		for (off = 0; off < end; off += rec_len) {
			struct ext2_dir_entry *de = dirent_at(buf, off);

			err = rec_len_at(fs, buf, off, end, &rec_len);
			if (err)
				return err;
			if (!de->inode)
				continue;
			if (de->inode > fs->super->s_inodes_count)
				return PCW_ET_CORRUPT;
			err = names_add(d, de->name, ext2fs_dirent_name_len(de),
					de->inode, ext2fs_dirent_file_type(de), b);
			if (err)
				return err;
		}
		err = leaf_room(fs, buf, &d->room[b]);
		if (err)
			return err;
	}
	return 0;
}

/* The hash the filesystem uses for names in indexed directories. */
static errcode_t dx_hash(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, uint32_t *hash)
{
	ext2_dirhash_t h, minor;
	errcode_t err;

	err = ext2fs_dirhash2(d->hash_alg, name, len, NULL, 0,
			      pfs->fs->super->s_hash_seed, &h, &minor);
	if (err)
		return err;
	*hash = h;
	return 0;
}

/* The hash algorithm of a root's hash_version, as dx_probe computes it. */
static errcode_t root_hash_alg(ext2_filsys fs, int version, int *alg)
{
	if (version != EXT2_HASH_LEGACY && version != EXT2_HASH_HALF_MD4 &&
	    version != EXT2_HASH_TEA)
		return PCW_ET_UNSUPP_INODE;
	if (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;
	*alg = version;
	return 0;
}

/* Check a dx block's count and limit; its entries. */
static errcode_t dx_entries(ext2_filsys fs, unsigned char *buf, bool root,
			    struct ext2_dx_entry **entries, unsigned *count)
{
	unsigned off = root ? DX_ROOT_COUNT_OFF : DX_NODE_COUNT_OFF;
	struct ext2_dx_countlimit *cl = (void *)(buf + off);
	unsigned limit = root ? root_limit(fs) : node_limit(fs);

	if (!root) {
		struct ext2_dir_entry *fake = dirent_at(buf, 0);
		unsigned rec_len;

		if (fake->inode || ext2fs_get_rec_len(fs, fake, &rec_len) ||
		    rec_len != fs->blocksize)
			return PCW_ET_CORRUPT;
	}
	if (ext2fs_le16_to_cpu(cl->limit) != limit ||
	    ext2fs_le16_to_cpu(cl->count) == 0 ||
	    ext2fs_le16_to_cpu(cl->count) > limit)
		return PCW_ET_CORRUPT;
	*entries = (struct ext2_dx_entry *)cl;
	*count = ext2fs_le16_to_cpu(cl->count);
	return 0;
}

static errcode_t load_htree(pcw_fs *pfs, struct pcw_dir *d, unsigned char *buf)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_dx_root_info *info;
	struct ext2_dir_entry *dot, *dotdot;
	struct ext2_dx_entry *entries;
	unsigned rec_len, count;
	errcode_t err;

	err = read_block(pfs, d, 0, buf);
	if (err)
		return err;
	dot = dirent_at(buf, 0);
	dotdot = dirent_at(buf, 12);
	if (ext2fs_get_rec_len(fs, dot, &rec_len) || rec_len != 12 ||
	    ext2fs_dirent_name_len(dot) != 1 || dot->name[0] != '.' ||
	    ext2fs_get_rec_len(fs, dotdot, &rec_len) ||
	    rec_len != fs->blocksize - 12 ||
	    ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2))
		return PCW_ET_CORRUPT;
	info = (struct ext2_dx_root_info *)(buf + 24);
	if (info->reserved_zero || info->info_length != 8 ||
	    info->indirect_levels >= ext2_dir_htree_level(fs))
		return PCW_ET_CORRUPT;
	err = root_hash_alg(fs, info->hash_version, &d->hash_alg);
	if (!err)
		err = dx_entries(fs, buf, true, &entries, &count);
	if (err)
		return err;
	d->dotdot = dotdot->inode;
	return 0;
}

static errcode_t dir_load(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct pcw_dcache *c;
	struct pcw_dir *d;
	uint64_t size;
	uint32_t b;
	errcode_t err;

	err = dcache_get(pfs, &c);
	if (err)
		return err;
	if (ino < EXT2_ROOT_INO || ino > fs->super->s_inodes_count)
		return PCW_ET_CORRUPT;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->ino = ino;
	d->inode = calloc(1, isize > sizeof(*d->inode) ? isize
						       : sizeof(*d->inode));
	if (!d->inode) {
		err = ENOMEM;
		goto fail;
	}
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)d->inode,
				     isize);
	if (err)
		goto fail;
	err = PCW_ET_NOT_DIR;
	if (!LINUX_S_ISDIR(d->inode->i_mode) || !d->inode->i_links_count)
		goto fail;
	/* Names hashed and compared in ways pcwrite does not (yet) know. */
	err = (d->inode->i_flags & EXT4_ENCRYPT_FL) ? PCW_ET_DIR_ENCRYPTED :
	      (d->inode->i_flags & EXT4_CASEFOLD_FL) ? PCW_ET_DIR_CASEFOLD : 0;
	if (err) {
		pfs->error_dir = ino;
		goto fail;
	}
	if (d->inode->i_flags & EXT4_INLINE_DATA_FL) {
		d->inline_data = true;
		goto done;
	}
	size = EXT2_I_SIZE(d->inode);
	err = PCW_ET_CORRUPT;
	if (!size || size % fs->blocksize || size / fs->blocksize >= (1U << 31) ||
	    size / fs->blocksize > ext2fs_blocks_count(fs->super))
		goto fail;
	d->nblocks = d->cap = size / fs->blocksize;
	d->pblk = calloc(d->cap, sizeof(*d->pblk));
	if (!d->pblk) {
		err = ENOMEM;
		goto fail;
	}
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY |
				    BLOCK_FLAG_DATA_ONLY, NULL, block_cb, d);
	if (err)
		goto fail;
	err = PCW_ET_CORRUPT;
	if (d->nblocks != d->cap)
		goto fail;
	/* No holes, and every block ours in the bitmap. */
	for (b = 0; b < d->nblocks; b++)
		if (d->pblk[b] < fs->super->s_first_data_block ||
		    d->pblk[b] >= ext2fs_blocks_count(fs->super) ||
		    !ext2fs_test_block_bitmap2(fs->block_map, d->pblk[b]))
			goto fail;
	d->htree = (d->inode->i_flags & EXT2_INDEX_FL) &&
		   ext2fs_has_feature_dir_index(fs->super);
	err = d->htree ? load_htree(pfs, d, c->buf[0])
		       : load_linear(pfs, d, c->buf[0]);
	if (err)
		goto fail;
done:
	d->hash_next = c->hash[ino & c->mask];
	c->hash[ino & c->mask] = d;
	c->count++;
	pfs->dcache_dirs = c->count;
	*ret = d;
	return 0;
fail:
	dir_free(d);
	return err;
}

errcode_t pcw_dir_open(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret)
{
	struct pcw_dcache *c = pfs->dcache;
	struct pcw_dir *d;

	if (c)
		for (d = c->hash[ino & c->mask]; d; d = d->hash_next)
			if (d->ino == ino) {
				*ret = d;
				return 0;
			}
	return dir_load(pfs, ino, ret);
}

/* ---- inline directories --------------------------------------------------------- */

/*
 * An inline directory's bytes: the parent's inode number, then dirents in
 * i_block (to byte 60) and in the system.data attribute.  FN sees each
 * live one; a non-zero return stops the walk.
 */
static errcode_t inline_walk(pcw_fs *pfs, struct pcw_dir *d,
			     int (*fn)(struct ext2_dir_entry *de, void *arg),
			     void *arg, ext2_ino_t *parent)
{
	ext2_filsys fs = pfs->fs;
	size_t size;
	unsigned char *buf;
	unsigned off, rec_len, region_end;
	errcode_t err;

	err = ext2fs_inline_data_size(fs, d->ino, &size);
	if (err)
		return err;
	if (size < EXT4_MIN_INLINE_DATA_SIZE || size > 65536)
		return PCW_ET_CORRUPT;
	buf = malloc(size);
	if (!buf)
		return ENOMEM;
	err = ext2fs_inline_data_get(fs, d->ino, (struct ext2_inode *)d->inode,
				     buf, &size);
	if (err)
		goto out;
	*parent = ext2fs_le32_to_cpu(*(uint32_t *)buf);
	off = EXT4_INLINE_DATA_DOTDOT_SIZE;
	region_end = EXT4_MIN_INLINE_DATA_SIZE;
	while (off < size) {
		struct ext2_dir_entry *de;

		if (off == region_end)
			region_end = size;
		de = dirent_at(buf, off);
		if (off + 8 > region_end ||
		    ext2fs_get_rec_len(fs, de, &rec_len) || rec_len < 8 ||
		    off + rec_len > region_end ||
		    (unsigned)ext2fs_dirent_name_len(de) + 8 > rec_len) {
			err = PCW_ET_CORRUPT;
			goto out;
		}
		if (de->inode && fn(de, arg))
			break;
		off += rec_len;
	}
out:
	free(buf);
	return err;
}

struct inline_find {
	const char	*name;
	unsigned	len;
	ext2_ino_t	ino;
	int		ftype;
};

static int inline_find_cb(struct ext2_dir_entry *de, void *arg)
{
	struct inline_find *f = arg;

	if ((unsigned)ext2fs_dirent_name_len(de) != f->len ||
	    memcmp(de->name, f->name, f->len))
		return 0;
	f->ino = de->inode;
	f->ftype = ext2fs_dirent_file_type(de);
	return 1;
}

struct inline_copy {
	ext2_filsys	fs;
	unsigned char	*buf;
	unsigned	off, last;
	bool		overflow;
};

static int inline_copy_cb(struct ext2_dir_entry *de, void *arg)
{
	struct inline_copy *c = arg;
	unsigned len = ext2fs_dirent_name_len(de);
	unsigned need = EXT2_DIR_REC_LEN(len);

	if (c->off + need > leaf_end(c->fs)) {
		c->overflow = true;
		return 1;
	}
	ext2fs_set_rec_len(c->fs, need, dirent_at(c->buf, c->off));
	set_dirent(c->fs, dirent_at(c->buf, c->off), de->inode, de->name, len,
		   ext2fs_dirent_file_type(de));
	c->last = c->off;
	c->off += need;
	return 0;
}

static errcode_t append_block(pcw_fs *pfs, struct pcw_dir *d,
			      unsigned char *content, uint32_t *lblk);

/*
 * The kernel moves an inline directory into a block when it outgrows the
 * inode (ext4_convert_inline_data_nolock); pcwrite does it before the
 * directory's first change.
 */
static errcode_t expand_inline(pcw_fs *pfs, struct pcw_dir *d)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_dcache *c = pfs->dcache;
	unsigned char *buf = c->buf[3];
	struct inline_copy cp;
	struct ext2_xattr_handle *h = NULL;
	struct pcw_ea_change eac;
	ext2_ino_t parent = 0;
	uint32_t lblk;
	errcode_t err, err2;

	/* ".", "..", then every name of the inline directory. */
	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, 12, dirent_at(buf, 0));
	set_dirent(fs, dirent_at(buf, 0), d->ino, ".", 1, EXT2_FT_DIR);
	memset(&cp, 0, sizeof(cp));
	cp.fs = fs;
	cp.buf = buf;
	cp.off = 24;
	cp.last = 12;
	err = inline_walk(pfs, d, inline_copy_cb, &cp, &parent);
	if (err)
		return err;
	if (cp.overflow || !parent || parent > fs->super->s_inodes_count)
		return PCW_ET_CORRUPT;
	ext2fs_set_rec_len(fs, 12, dirent_at(buf, 12));
	set_dirent(fs, dirent_at(buf, 12), parent, "..", 2, EXT2_FT_DIR);
	ext2fs_set_rec_len(fs, leaf_end(fs) - cp.last, dirent_at(buf, cp.last));
	if (csum_size(fs))
		ext2fs_initialize_dirent_tail(fs,
			(struct ext2_dir_entry_tail *)(buf + leaf_end(fs)));

	err = pcw_fs_check_space(pfs, LINEAR_NEED);
	if (err)
		return err;
	/* The inline bytes go first; then the inode gets its block. */
	err = pcw_ea_change_begin(pfs, d->ino, NULL, 0, &eac);
	if (err)
		return err;
	err = ext2fs_xattrs_open(fs, d->ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (err) {
		/* Read, not changed: the directory is as it was. */
		if (h)
			ext2fs_xattrs_close(&h);
		pcw_ea_change_end(pfs, d->ino, &eac);
		return err;
	}
	err = ext2fs_xattr_remove(h, "system.data");
	ext2fs_xattrs_close(&h);
	err2 = pcw_ea_change_end(pfs, d->ino, &eac);
	if (!err)
		err = err2;
	if (!err)
		err = ext2fs_read_inode_full(fs, d->ino,
					     (struct ext2_inode *)d->inode,
					     EXT2_INODE_SIZE(fs->super));
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	d->inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(d->inode->i_block, 0, sizeof(d->inode->i_block));
	if (ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, d->ino, d->inode);
		if (err)
			return err;
	}
	d->inode->i_size = 0;
	d->inode->i_size_high = 0;
	d->inline_data = false;
	d->nblocks = 0;
	err = append_block(pfs, d, buf, &lblk);
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	return load_linear(pfs, d, c->buf[4]);
}

/* ---- new blocks ---------------------------------------------------------------- */

/*
 * Add a block at the end of the directory holding CONTENT: allocated near
 * the directory's last block (on bigalloc, in the cluster of the block
 * before when they share a logical cluster), written, then mapped, then
 * i_size.  The caller checked the room.
 */
static errcode_t append_block(pcw_fs *pfs, struct pcw_dir *d,
			      unsigned char *content, uint32_t *lblkp)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode *inode = (struct ext2_inode *)d->inode;
	uint32_t lblk = d->nblocks;
	blk64_t pblk, goal, cluster = 0;
	errcode_t err;

	if (lblk + 1 >= (1U << 31))
		return EFBIG;
	if (lblk == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 4;
		blk64_t *p = realloc(d->pblk, cap * sizeof(*p));
		uint32_t *r = NULL;

		if (!p)
			return ENOMEM;
		d->pblk = p;
		if (!d->htree) {
			r = realloc(d->room, cap * sizeof(*r));
			if (!r)
				return ENOMEM;
			d->room = r;
		}
		d->cap = cap;
	}
	if (lblk && EXT2FS_B2C(fs, lblk - 1) == EXT2FS_B2C(fs, lblk)) {
		pblk = d->pblk[lblk - 1] + 1;
	} else {
		goal = lblk ? d->pblk[lblk - 1] + 1 :
		       ext2fs_find_inode_goal(fs, d->ino, inode, 0);
		err = ext2fs_new_block2(fs, goal, NULL, &cluster);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			return ENOSPC;
		if (err)
			return err;
		pblk = cluster + (lblk & EXT2FS_CLUSTER_MASK(fs));
	}
	err = ext2fs_write_dir_block4(fs, pblk, content, 0, d->ino);
	if (err)
		return err;
	pcw_io_mark_dir(fs, pblk);
	dblock_put(pfs->dcache, d->ino, lblk, pblk, content, fs->blocksize);
	if (cluster) {
		ext2fs_block_alloc_stats2(fs, cluster, +1);
		err = ext2fs_iblk_add_blocks(fs, inode, 1);
		if (err)
			goto fail;
	}
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(fs, d->ino, inode, &h);
		if (!err) {
			err = pcw_extent_insert(h, lblk, pblk, 1, false);
			ext2fs_extent_free(h);
		}
	} else {
		blk64_t p = pblk;

		err = ext2fs_bmap2(fs, d->ino, inode, NULL,
				   BMAP_SET | BMAP_ALLOC, lblk, NULL, &p);
	}
	if (err) {
		pfs->meta_error = true;	/* a tree split may be half-done */
		goto fail;
	}
	d->pblk[lblk] = pblk;
	d->nblocks = lblk + 1;
	err = ext2fs_inode_size_set(fs, inode, (uint64_t)d->nblocks *
					       fs->blocksize);
	if (!err)
		err = pcw_dir_write_inode(pfs, d);
	if (err)
		return err;
	*lblkp = lblk;
	return 0;
fail:
	if (cluster) {
		ext2fs_block_alloc_stats2(fs, cluster, -1);
		ext2fs_iblk_sub_blocks(fs, inode, 1);
	}
	return err;
}

/* ---- indexed directories ------------------------------------------------------- */

struct dx_frame {
	uint32_t		lblk;
	unsigned char		*buf;
	struct ext2_dx_entry	*entries;
	unsigned		count, limit, at;
};

static uint32_t dx_hash_of(const struct ext2_dx_entry *e)
{
	return ext2fs_le32_to_cpu(e->hash);
}

static uint32_t dx_block_of(const struct ext2_dx_entry *e)
{
	return ext2fs_le32_to_cpu(e->block) & EXT4_DX_BLOCK_MASK;
}

static void dx_set_count(struct dx_frame *f, unsigned count)
{
	((struct ext2_dx_countlimit *)f->entries)->count =
		ext2fs_cpu_to_le16(count);
	f->count = count;
}

/* The last entry whose hash is at most HASH (entry 0 has none). */
static unsigned dx_search(const struct dx_frame *f, uint32_t hash)
{
	unsigned lo = 1, hi = f->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (dx_hash_of(&f->entries[mid]) > hash)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* dx_probe(): the path from the root to the leaf HASH belongs in. */
static errcode_t dx_probe(pcw_fs *pfs, struct pcw_dir *d, uint32_t hash,
			  struct dx_frame *frames, unsigned *levels)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_dx_root_info *info;
	unsigned level, nlevels;
	errcode_t err;

	frames[0].lblk = 0;
	frames[0].buf = pfs->dcache->buf[0];
	err = read_block(pfs, d, 0, frames[0].buf);
	if (err)
		return err;
	info = (struct ext2_dx_root_info *)(frames[0].buf + 24);
	nlevels = info->indirect_levels + 1;
	if (nlevels > ext2_dir_htree_level(fs))
		return PCW_ET_CORRUPT;
	for (level = 0; level < nlevels; level++) {
		struct dx_frame *f = &frames[level];

		if (level) {
			f->lblk = dx_block_of(&frames[level - 1].entries[
						frames[level - 1].at]);
			f->buf = pfs->dcache->buf[level];
			err = read_block(pfs, d, f->lblk, f->buf);
			if (err)
				return err;
		}
		err = dx_entries(fs, f->buf, level == 0, &f->entries,
				 &f->count);
		if (err)
			return err;
		f->limit = level ? node_limit(fs) : root_limit(fs);
		f->at = dx_search(f, hash);
		if (!dx_block_of(&f->entries[f->at]) ||
		    dx_block_of(&f->entries[f->at]) >= d->nblocks)
			return PCW_ET_CORRUPT;
	}
	*levels = nlevels;
	return 0;
}

/*
 * ext4_htree_next_block(): step the path to the next leaf when it may hold
 * more names of HASH (a run of equal hashes split over two leaves).
 */
static errcode_t dx_next_leaf(pcw_fs *pfs, struct pcw_dir *d, uint32_t hash,
			      struct dx_frame *frames, unsigned levels,
			      bool *more)
{
	int p = levels - 1;
	unsigned k;
	errcode_t err;

	*more = false;
	while (frames[p].at + 1 >= frames[p].count) {
		if (p == 0)
			return 0;
		p--;
	}
	frames[p].at++;
	if ((dx_hash_of(&frames[p].entries[frames[p].at]) & ~1U) != hash)
		return 0;
	for (k = p + 1; k < levels; k++) {
		struct dx_frame *f = &frames[k];

		f->lblk = dx_block_of(&frames[k - 1].entries[frames[k - 1].at]);
		err = read_block(pfs, d, f->lblk, f->buf);
		if (!err)
			err = dx_entries(pfs->fs, f->buf, false, &f->entries,
					 &f->count);
		if (err)
			return err;
		f->at = 0;
	}
	*more = true;
	return 0;
}

/*
 * Find NAME in an indexed directory: leaf, offset in it (and the offset of
 * the record before, for a delete).  *lblk is 0 when it is not there.
 */
static errcode_t dx_find(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, uint32_t *lblk, int *at, unsigned *prev)
{
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned char *leaf = pfs->dcache->buf[3];
	unsigned levels;
	uint32_t hash;
	bool more = true;
	errcode_t err;

	*lblk = 0;
	*at = -1;
	err = dx_hash(pfs, d, name, len, &hash);
	if (!err)
		err = dx_probe(pfs, d, hash, frames, &levels);
	while (!err && more) {
		uint32_t b = dx_block_of(&frames[levels - 1].entries[
						frames[levels - 1].at]);

		err = read_block(pfs, d, b, leaf);
		if (!err && !tail_ok(pfs->fs, leaf))
			err = PCW_ET_CORRUPT;
		if (!err)
			err = leaf_find(pfs->fs, leaf, 0, leaf_end(pfs->fs), name,
					len, at, prev);
		if (err)
			break;
		if (*at >= 0) {
			*lblk = b;
			break;
		}
		err = dx_next_leaf(pfs, d, hash, frames, levels, &more);
	}
	return err;
}

/* Insert (HASH, LBLK) after the frame's current entry, and write it. */
static errcode_t dx_insert_entry(pcw_fs *pfs, struct pcw_dir *d,
				 struct dx_frame *f, uint32_t hash,
				 uint32_t lblk)
{
	struct ext2_dx_entry *e = &f->entries[f->at + 1];

	memmove(e + 1, e, (f->count - f->at - 1) * sizeof(*e));
	e->hash = ext2fs_cpu_to_le32(hash);
	e->block = ext2fs_cpu_to_le32(lblk);
	dx_set_count(f, f->count + 1);
	return write_block(pfs, d, f->lblk, f->buf);
}

/* An index node's empty block: the fake dirent and the count/limit. */
static void init_node(ext2_filsys fs, unsigned char *buf,
		      struct dx_frame *f)
{
	struct ext2_dx_countlimit *cl;

	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, fs->blocksize, dirent_at(buf, 0));
	cl = (struct ext2_dx_countlimit *)(buf + DX_NODE_COUNT_OFF);
	cl->limit = ext2fs_cpu_to_le16(node_limit(fs));
	f->buf = buf;
	f->entries = (struct ext2_dx_entry *)cl;
	f->limit = node_limit(fs);
}

/* A live record of a leaf being split, by hash. */
struct dx_map {
	uint32_t	hash;
	unsigned	off, size;
};

static int dx_map_cmp(const void *a, const void *b)
{
	const struct dx_map *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Pack the records MAP[0..n) of FROM into the empty leaf TO. */
static void dx_pack(ext2_filsys fs, unsigned char *from, struct dx_map *map,
		    unsigned n, unsigned char *to)
{
	unsigned k, off = 0, last = 0;

	init_leaf(fs, to);
	for (k = 0; k < n; k++) {
		memcpy(to + off, from + map[k].off, map[k].size);
		ext2fs_set_rec_len(fs, map[k].size, dirent_at(to, off));
		last = off;
		off += map[k].size;
	}
	if (n)
		ext2fs_set_rec_len(fs, leaf_end(fs) - last, dirent_at(to, last));
}

/*
 * do_split(): move the upper half (by size, in hash order) of the full leaf
 * LEAF into a new block, and index it in F after the leaf's entry.  Which
 * of the two the new name goes in is decided by the caller's next probe.
 */
static errcode_t dx_split_leaf(pcw_fs *pfs, struct pcw_dir *d,
			       struct dx_frame *f, uint32_t leaf_lblk,
			       unsigned char *leaf)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *lo = pfs->dcache->buf[4], *hi = pfs->dcache->buf[5];
	unsigned off, rec_len, end = leaf_end(fs), count = 0, split, move = 0;
	unsigned size = 0;
	struct dx_map *map;
	uint32_t hash2, new_lblk;
	int i;
	errcode_t err;

	map = malloc((fs->blocksize / 12 + 1) * sizeof(*map));
	if (!map)
		return ENOMEM;
	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = dirent_at(leaf, off);

		err = rec_len_at(fs, leaf, off, end, &rec_len);
		if (err)
			goto out;
		if (!de->inode)
			continue;
		map[count].off = off;
		map[count].size = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
		err = dx_hash(pfs, d, de->name, ext2fs_dirent_name_len(de),
			      &map[count].hash);
		if (err)
			goto out;
		count++;
	}
	err = PCW_ET_CORRUPT;
	if (count < 2)
		goto out;
	qsort(map, count, sizeof(*map), dx_map_cmp);
	/* Split in the middle, size-wise; by count if the names are small. */
	for (i = count - 1; i >= 0; i--) {
		if (size + map[i].size / 2 > fs->blocksize / 2)
			break;
		size += map[i].size;
		move++;
	}
	split = i > 0 ? count - move : count / 2;
	if (split == 0)
		split = 1;
	hash2 = map[split].hash;
	/* A run of equal hashes split over two leaves: mark the second. */
	if (hash2 == map[split - 1].hash)
		hash2 |= 1;

	dx_pack(fs, leaf, map + split, count - split, hi);
	dx_pack(fs, leaf, map, split, lo);
	err = append_block(pfs, d, hi, &new_lblk);
	if (err)
		goto out;
	err = write_block(pfs, d, leaf_lblk, lo);
	if (!err)
		err = dx_insert_entry(pfs, d, f, hash2, new_lblk);
out:
	free(map);
	return err;
}

/*
 * The index node F (not the root) is full and its parent P has room: move
 * its upper half into a new node indexed in P.
 */
static errcode_t dx_split_node(pcw_fs *pfs, struct pcw_dir *d,
			       struct dx_frame *p, struct dx_frame *f)
{
	struct dx_frame n;
	unsigned icount1 = f->count / 2, icount2 = f->count - icount1;
	uint32_t hash2 = dx_hash_of(&f->entries[icount1]), new_lblk;
	errcode_t err;

	init_node(pfs->fs, pfs->dcache->buf[5], &n);
	memcpy(n.entries, f->entries + icount1, icount2 * sizeof(*n.entries));
	/* Entry 0 of a node holds the count, not a hash. */
	((struct ext2_dx_countlimit *)n.entries)->limit =
		ext2fs_cpu_to_le16(node_limit(pfs->fs));
	dx_set_count(&n, icount2);
	err = append_block(pfs, d, n.buf, &new_lblk);
	if (err)
		return err;
	dx_set_count(f, icount1);
	err = write_block(pfs, d, f->lblk, f->buf);
	if (!err)
		err = dx_insert_entry(pfs, d, p, hash2, new_lblk);
	return err;
}

/* The root is full: move its entries into a new node below it. */
static errcode_t dx_add_level(pcw_fs *pfs, struct pcw_dir *d,
			      struct dx_frame *root)
{
	struct ext2_dx_root_info *info =
		(struct ext2_dx_root_info *)(root->buf + 24);
	struct dx_frame n;
	uint32_t new_lblk;
	errcode_t err;

	init_node(pfs->fs, pfs->dcache->buf[5], &n);
	memcpy(n.entries, root->entries, root->count * sizeof(*n.entries));
	((struct ext2_dx_countlimit *)n.entries)->limit =
		ext2fs_cpu_to_le16(node_limit(pfs->fs));
	dx_set_count(&n, root->count);
	err = append_block(pfs, d, n.buf, &new_lblk);
	if (err)
		return err;
	dx_set_count(root, 1);
	root->entries[0].block = ext2fs_cpu_to_le32(new_lblk);
	info->indirect_levels++;
	return write_block(pfs, d, 0, root->buf);
}

/*
 * The blocks (clusters) a structural change of an indexed directory may
 * take, checked before the first one: a leaf split takes one block; when
 * the leaf's index node is full too, every full node on the path may split
 * and the root may gain a level.  One more for the directory's own extent
 * tree, should a new block not extend its last extent.
 */
static blk64_t dx_need(const struct dx_frame *bottom, unsigned levels)
{
	return (bottom->count < bottom->limit ? 1 : levels + 2) + 1;
}

/* ext4_dx_add_entry(). */
static errcode_t dx_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			unsigned len, ext2_ino_t ino, int ftype)
{
	ext2_filsys fs = pfs->fs;
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned char *leaf = pfs->dcache->buf[3];
	unsigned levels, tries;
	uint32_t hash;
	bool checked = false;
	errcode_t err;

	err = dx_hash(pfs, d, name, len, &hash);
	if (err)
		return err;
	for (tries = 0; tries < 16; tries++) {
		struct dx_frame *bottom;
		uint32_t lblk;
		int k;

		err = dx_probe(pfs, d, hash, frames, &levels);
		if (err)
			return err;
		bottom = &frames[levels - 1];
		lblk = dx_block_of(&bottom->entries[bottom->at]);
		err = read_block(pfs, d, lblk, leaf);
		if (!err && !tail_ok(fs, leaf))
			err = PCW_ET_CORRUPT;
		if (err)
			return err;
		err = leaf_insert(fs, leaf, name, len, ino, ftype);
		if (!err)
			return write_block(pfs, d, lblk, leaf);
		if (err != ENOSPC)
			return err;

		/* The leaf is full: find where the index has room. */
		k = levels - 1;
		if (bottom->count >= bottom->limit) {
			while (k > 0 && frames[k - 1].count >= frames[k - 1].limit)
				k--;
			if (k == 0 && levels == ext2_dir_htree_level(fs))
				return PCW_ET_DIR_INDEX_FULL;
		}
		if (!checked) {
			/* Before the first change: room for all of them. */
			err = pcw_fs_check_space(pfs, dx_need(bottom, levels));
			if (err)
				return err;
			checked = true;
		}
		if (bottom->count < bottom->limit)
			err = dx_split_leaf(pfs, d, bottom, lblk, leaf);
		else if (k == 0)
			err = dx_add_level(pfs, d, &frames[0]);
		else
			err = dx_split_node(pfs, d, &frames[k - 1], &frames[k]);
		if (err)
			return err;
	}
	return PCW_ET_CORRUPT;
}

/*
 * make_indexed_dir(): the one block of a linear directory is full.  Its
 * names move to a new block 1, and block 0 becomes the index root over it;
 * the insert then splits block 1 as any full leaf.
 */
static errcode_t make_indexed_dir(pcw_fs *pfs, struct pcw_dir *d)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *root = pfs->dcache->buf[0], *b1 = pfs->dcache->buf[4];
	struct ext2_dir_entry *dot, *dotdot;
	struct ext2_dx_root_info *info;
	struct ext2_dx_countlimit *cl;
	unsigned off, rec_len, end = leaf_end(fs), out = 0, last = 0, dlen;
	uint32_t lblk;
	errcode_t err;

	err = read_block(pfs, d, 0, root);
	if (err)
		return err;
	dot = dirent_at(root, 0);
	err = rec_len_at(fs, root, 0, end, &dlen);
	if (err)
		return err;
	dotdot = dirent_at(root, dlen);
	if (dlen != 12 || ext2fs_dirent_name_len(dot) != 1 ||
	    dot->name[0] != '.' || ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2))
		return PCW_ET_CORRUPT;
	err = rec_len_at(fs, root, 12, end, &rec_len);
	if (err)
		return err;

	init_leaf(fs, b1);
	for (off = 12 + rec_len; off < end; off += rec_len) {
		struct ext2_dir_entry *de = dirent_at(root, off);
		unsigned size;

		err = rec_len_at(fs, root, off, end, &rec_len);
		if (err)
			return err;
		if (!de->inode)
			continue;
		size = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
		memcpy(b1 + out, de, size);
		ext2fs_set_rec_len(fs, size, dirent_at(b1, out));
		last = out;
		out += size;
	}
	if (!out)
		return PCW_ET_CORRUPT;
	ext2fs_set_rec_len(fs, end - last, dirent_at(b1, last));

	err = root_hash_alg(fs, fs->super->s_def_hash_version, &d->hash_alg);
	if (err)
		return err;
	err = pcw_fs_check_space(pfs, MAKE_INDEXED_NEED);
	if (err)
		return err;
	d->htree = true;	/* append_block keeps no room[] now */
	err = append_block(pfs, d, b1, &lblk);
	if (err) {
		d->htree = false;
		return err;
	}

	/* Block 0: ".", ".." over the rest of the block, the root. */
	ext2fs_set_rec_len(fs, fs->blocksize - 12, dotdot);
	memset(root + 24, 0, fs->blocksize - 24);
	info = (struct ext2_dx_root_info *)(root + 24);
	info->hash_version = fs->super->s_def_hash_version;
	info->info_length = 8;
	cl = (struct ext2_dx_countlimit *)(root + DX_ROOT_COUNT_OFF);
	cl->limit = ext2fs_cpu_to_le16(root_limit(fs));
	cl->count = ext2fs_cpu_to_le16(1);
	((struct ext2_dx_entry *)cl)->block = ext2fs_cpu_to_le32(lblk);
	d->dotdot = dotdot->inode;
	err = write_block(pfs, d, 0, root);
	if (err)
		return err;
	d->inode->i_flags |= EXT2_INDEX_FL;
	err = pcw_dir_write_inode(pfs, d);
	if (err)
		return err;
	names_free(d);
	return 0;
}

/* ---- linear directories ---------------------------------------------------------- */

static errcode_t linear_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			    unsigned len, ext2_ino_t ino, int ftype)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *buf = pfs->dcache->buf[3];
	unsigned need = EXT2_DIR_REC_LEN(len);
	uint32_t k, b = d->nblocks;
	errcode_t err;

	for (k = 0; k < d->nblocks; k++) {
		uint32_t c = (d->room_hint + k) % d->nblocks;

		if (d->room[c] >= need) {
			b = c;
			break;
		}
	}
	if (b < d->nblocks) {
		err = read_block(pfs, d, b, buf);
		if (!err)
			err = leaf_insert(fs, buf, name, len, ino, ftype);
		if (!err)
			err = write_block(pfs, d, b, buf);
		if (err)
			return err;
	} else if (d->nblocks == 1 && ext2fs_has_feature_dir_index(fs->super)) {
		err = make_indexed_dir(pfs, d);
		if (err)
			return err;
		return dx_add(pfs, d, name, len, ino, ftype);
	} else {
		/* A directory of several blocks stays linear: a new block. */
		err = pcw_fs_check_space(pfs, LINEAR_NEED);
		if (err)
			return err;
		init_leaf(fs, buf);
		err = leaf_insert(fs, buf, name, len, ino, ftype);
		if (!err)
			err = append_block(pfs, d, buf, &b);
		if (err)
			return err;
	}
	d->room_hint = b;
	err = leaf_room(fs, buf, &d->room[b]);
	if (!err)
		err = names_add(d, name, len, ino, ftype, b);
	return err;
}

/* ---- the interface ---------------------------------------------------------------- */

static bool dot_or_dotdot(const char *name, unsigned len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

errcode_t pcw_dir_lookup(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, ext2_ino_t *ino, int *ftype)
{
	errcode_t err;

	*ino = 0;
	*ftype = 0;
	if (len == 0 || len > EXT2_NAME_LEN)
		return EXT2_ET_FILE_NOT_FOUND;
	if (d->inline_data) {
		struct inline_find f = { name, len, 0, 0 };
		ext2_ino_t parent;

		err = inline_walk(pfs, d, inline_find_cb, &f, &parent);
		if (err)
			return err;
		if (len == 1 && name[0] == '.')
			f.ino = d->ino;
		else if (len == 2 && name[0] == '.' && name[1] == '.')
			f.ino = parent;
		if (!f.ino)
			return EXT2_ET_FILE_NOT_FOUND;
		*ino = f.ino;
		*ftype = f.ftype;
		return 0;
	}
	if (d->htree) {
		uint32_t lblk;
		unsigned prev;
		int at;

		if (dot_or_dotdot(name, len)) {
			*ino = len == 1 ? d->ino : d->dotdot;
			*ftype = EXT2_FT_DIR;
			return 0;
		}
		err = dx_find(pfs, d, name, len, &lblk, &at, &prev);
		if (err)
			return err;
		if (at < 0)
			return EXT2_ET_FILE_NOT_FOUND;
		/* dx_find left the leaf in buf[3]. */
		*ino = dirent_at(pfs->dcache->buf[3], at)->inode;
		*ftype = ext2fs_dirent_file_type(dirent_at(pfs->dcache->buf[3],
							   at));
		return 0;
	} else {
		struct dir_name *n = names_find(d, name, len);

		if (!n)
			return EXT2_ET_FILE_NOT_FOUND;
		*ino = n->ino;
		*ftype = n->ftype;
		return 0;
	}
}

errcode_t pcw_dir_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, ext2_ino_t ino, int ftype)
{
	errcode_t err;

	if (len == 0 || len > EXT2_NAME_LEN || memchr(name, '/', len) ||
	    memchr(name, 0, len) || dot_or_dotdot(name, len))
		return EINVAL;
	if (d->inline_data) {
		err = expand_inline(pfs, d);
		if (err)
			return err;
	}
	if (d->htree)
		err = dx_add(pfs, d, name, len, ino, ftype);
	else
		err = linear_add(pfs, d, name, len, ino, ftype);
	if (!err)
		dir_changed(pfs, d);
	return err;
}

errcode_t pcw_dir_remove(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *buf = pfs->dcache->buf[3];
	uint32_t lblk;
	unsigned prev;
	int at;
	errcode_t err;

	if (dot_or_dotdot(name, len))
		return EINVAL;
	if (d->inline_data) {
		err = expand_inline(pfs, d);
		if (err)
			return err;
	}
	if (d->htree) {
		err = dx_find(pfs, d, name, len, &lblk, &at, &prev);
		if (err)
			return err;
		if (at < 0)
			return EXT2_ET_FILE_NOT_FOUND;
	} else {
		struct dir_name *n = names_find(d, name, len);

		if (!n)
			return EXT2_ET_FILE_NOT_FOUND;
		lblk = n->lblk;
		err = read_block(pfs, d, lblk, buf);
		if (!err)
			err = leaf_find(fs, buf, 0, leaf_end(fs), name, len, &at,
					&prev);
		if (err)
			return err;
		if (at < 0)
			return PCW_ET_CORRUPT;
		n->ino = DIR_NAME_DELETED;
		d->nlive--;
	}
	leaf_delete(fs, buf, at, prev);
	err = write_block(pfs, d, lblk, buf);
	if (!err && !d->htree)
		err = leaf_room(fs, buf, &d->room[lblk]);
	if (!err)
		dir_changed(pfs, d);
	return err;
}

/*
 * A new directory's first block: "." and "..", and the tail.  Allocated
 * and written by the caller (pcw_mkdir).
 */
void pcw_dir_init_block(ext2_filsys fs, unsigned char *buf, ext2_ino_t ino,
			ext2_ino_t parent)
{
	init_leaf(fs, buf);
	ext2fs_set_rec_len(fs, 12, dirent_at(buf, 0));
	set_dirent(fs, dirent_at(buf, 0), ino, ".", 1, EXT2_FT_DIR);
	ext2fs_set_rec_len(fs, leaf_end(fs) - 12, dirent_at(buf, 12));
	set_dirent(fs, dirent_at(buf, 12), parent, "..", 2, EXT2_FT_DIR);
}

/* Forget a directory (after it was freed, or changed behind our back). */
void pcw_dir_forget(pcw_fs *pfs, ext2_ino_t ino)
{
	struct pcw_dcache *c = pfs->dcache;
	struct pcw_dir **pp;

	if (!c)
		return;
	dblock_forget(c, ino);
	for (pp = &c->hash[ino & c->mask]; *pp; pp = &(*pp)->hash_next)
		if ((*pp)->ino == ino) {
			struct pcw_dir *d = *pp;

			*pp = d->hash_next;
			dir_free(d);
			c->count--;
			pfs->dcache_dirs = c->count;
			return;
		}
}

/* The clusters pcw_dir_add may take: the caller checks them first. */
/*
 * Could NAME be added to D, with EXTRA more clusters for the caller (a new
 * directory's block)?  0, or the error pcw_dir_add would fail with:
 * PCW_ET_DIR_INDEX_FULL, ENOSPC.  Nothing is changed, so a create can ask
 * before it writes its inode, and a refused name leaves the image as it
 * was.  The add itself checks again.
 */
errcode_t pcw_dir_can_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			  unsigned len, blk64_t extra)
{
	ext2_filsys fs = pfs->fs;
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned need = EXT2_DIR_REC_LEN(len), levels, k;
	struct dx_frame *bottom;
	uint32_t hash, room;
	errcode_t err;

	if (d->inline_data)	/* moved into a block first */
		return pcw_fs_check_space(pfs, extra + LINEAR_NEED);
	if (!d->htree) {
		for (k = 0; k < d->nblocks; k++)
			if (d->room[k] >= need)
				return pcw_fs_check_space(pfs, extra);
		return pcw_fs_check_space(pfs, extra +
				(d->nblocks == 1 &&
				 ext2fs_has_feature_dir_index(fs->super) ?
				 MAKE_INDEXED_NEED : LINEAR_NEED));
	}
	err = dx_hash(pfs, d, name, len, &hash);
	if (!err)
		err = dx_probe(pfs, d, hash, frames, &levels);
	if (err)
		return err;
	bottom = &frames[levels - 1];
	err = read_block(pfs, d, dx_block_of(&bottom->entries[bottom->at]),
			 pfs->dcache->buf[3]);
	if (!err && !tail_ok(fs, pfs->dcache->buf[3]))
		err = PCW_ET_CORRUPT;
	if (!err)
		err = leaf_room(fs, pfs->dcache->buf[3], &room);
	if (err)
		return err;
	if (room >= need)
		return pcw_fs_check_space(pfs, extra);
	if (bottom->count >= bottom->limit) {
		k = levels - 1;
		while (k > 0 && frames[k - 1].count >= frames[k - 1].limit)
			k--;
		if (k == 0 && levels == ext2_dir_htree_level(fs))
			return PCW_ET_DIR_INDEX_FULL;
	}
	return pcw_fs_check_space(pfs, extra + dx_need(bottom, levels));
}

/*
 * A new directory ino (INODE already written) gets its first block and a
 * place in the cache.  The caller checked the room.
 */
errcode_t pcw_dir_new(pcw_fs *pfs, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, ext2_ino_t parent,
		      struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct pcw_dcache *c;
	struct pcw_dir *d;
	uint32_t lblk;
	errcode_t err;

	err = dcache_get(pfs, &c);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->ino = ino;
	d->inode = malloc(isize > sizeof(*d->inode) ? isize : sizeof(*d->inode));
	err = d->inode ? names_grow(d) : ENOMEM;
	if (err)
		goto fail;
	memcpy(d->inode, inode, isize > sizeof(*d->inode) ? isize
							  : sizeof(*d->inode));
	pcw_dir_init_block(fs, c->buf[3], ino, parent);
	err = append_block(pfs, d, c->buf[3], &lblk);
	if (!err)
		err = leaf_room(fs, c->buf[3], &d->room[0]);
	if (!err)
		err = names_add(d, ".", 1, ino, EXT2_FT_DIR, 0);
	if (!err)
		err = names_add(d, "..", 2, parent, EXT2_FT_DIR, 0);
	if (err)
		goto fail;
	d->hash_next = c->hash[ino & c->mask];
	c->hash[ino & c->mask] = d;
	c->count++;
	pfs->dcache_dirs = c->count;
	*ret = d;
	return 0;
fail:
	if (d->nblocks)
		ext2fs_block_alloc_stats2(fs, d->pblk[0], -1);
	dir_free(d);
	return err;
}

/* Undo pcw_dir_new: free the block, forget the directory. */
void pcw_dir_discard(pcw_fs *pfs, struct pcw_dir *d)
{
	if (d->nblocks)
		ext2fs_block_alloc_stats2(pfs->fs, d->pblk[0], -1);
	pcw_dir_forget(pfs, d->ino);
}

/*
 * Can D take one more subdirectory?  Past EXT2_LINK_MAX links an indexed
 * directory's count becomes 1, "many" (dir_nlink); any other is EMLINK,
 * as the kernel's EXT4_DIR_LINK_MAX says.
 */
errcode_t pcw_dir_check_link(pcw_fs *pfs, struct pcw_dir *d)
{
	unsigned n = d->inode->i_links_count;

	if (n >= EXT2_LINK_MAX &&
	    !(d->htree && ext2fs_has_feature_dir_nlink(pfs->fs->super)))
		return EMLINK;
	return 0;
}

/* ext4_inc_count(): a subdirectory's ".." links to D. */
errcode_t pcw_dir_inc_link(pcw_fs *pfs, struct pcw_dir *d)
{
	unsigned n = d->inode->i_links_count;

	if (n == 1 || n + 1 > EXT2_LINK_MAX)
		d->inode->i_links_count = 1;
	else
		d->inode->i_links_count = n + 1;
	return pcw_dir_write_inode(pfs, d);
}
