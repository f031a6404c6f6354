/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dcache.c: the run's cache of directories (a linear directory's names in a
 * hash table) and of their blocks (kept as verified once), every change
 * written through to the image at once; a new block appended to a directory
 * (ext4_append); the directories' inodes written when they leave the cache
 * or at the end (pcw_dcache_flush).
 *
 * The cache is bounded by bytes, as the kernel's dcache and inode cache are
 * bounded by memory pressure: past PCW_DCACHE_BYTES the least recently
 * opened directories are evicted and loaded again from the image when a
 * later entry needs them.  Nothing but an inode's times is ever dirty here
 * (every block and every other inode change is written at once), so an
 * evicted directory's inode is written first, into the same transaction of
 * the holding layer as any other write: the commit order is the writes'
 * order, as at the end.  A directory opened since the last
 * pcw_dcache_next (the current entry's) stays: its caller may hold it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"
#include "io.h"

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

errcode_t pcw_dir_read_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
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

errcode_t pcw_dir_write_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			      unsigned char *buf)
{
	errcode_t err = pcw_io_write_dir_block(pfs->fs, d->pblk[lblk], buf,
					       d->ino);

	if (err) {
		pfs->meta_error = true;
		dblock_forget(pfs->dcache, d->ino);
	} else {
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

/*
 * A name was added or removed: mtime and ctime, as the kernel sets them;
 * but not again in a directory this run changed already (its ctime is the
 * run's now).  Its mtime is then either now already, or the time an entry
 * of the tree gave it once the entries under it were done (entry_make.c):
 * an archive that comes back to a directory later (cpio's hard links at
 * the end, an mtree manifest's order) keeps the directory's own time, as
 * when every directory's time was set at the close (bsdtar and cpio do
 * that; GNU tar sets "now" there).  The one other case: an image made by
 * an earlier run with the same fixed time (--reproducible) keeps a
 * directory's mtime where the kernel would set that same fixed time.
 */
void pcw_dir_changed(pcw_fs *pfs, struct pcw_dir *d)
{
	if (pcw_inode_ctime_is_now(pfs, d->inode))
		return;
	pcw_inode_set_now(pfs, d->inode, PCW_TIME_M | PCW_TIME_C);
	d->dirty_inode = true;
}

/* ---- the linear directory's name table ---- */

errcode_t pcw_dir_names_grow(struct pcw_dir *d)
{
	/* 8 slots: most directories of a tree hold a few names. */
	uint32_t nmask = d->nmask ? d->nmask * 2 + 1 : 7, i;
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

struct dir_name *pcw_dir_names_find(struct pcw_dir *d, const char *name,
				    unsigned len)
{
	uint32_t h = pcw_dir_name_hash(d->cf, name, len), k;

	if (!d->names)
		return NULL;
	for (k = h & d->nmask; d->names[k].ino; k = (k + 1) & d->nmask) {
		struct dir_name *n = &d->names[k];

		if (n->ino != DIR_NAME_DELETED && n->hash == h &&
		    pcw_name_match(d->cf, d->strings + n->off, n->len, name,
				   len))
			return n;
	}
	return NULL;
}

errcode_t pcw_dir_names_add(struct pcw_dir *d, const char *name, unsigned len,
			    ext2_ino_t ino, int ftype, uint32_t lblk)
{
	uint32_t h = pcw_dir_name_hash(d->cf, name, len), k;
	errcode_t err;

	if ((d->nused + 1) * 4 > (d->nmask + 1) * 3) {
		err = pcw_dir_names_grow(d);
		if (err)
			return err;
	}
	if (d->slen + len > d->scap) {
		size_t cap = d->scap ? d->scap * 2 : 64;
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

void pcw_dir_names_free(struct pcw_dir *d)
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

/* ---- the cache of loaded directories ---- */

/* What D costs in memory (each allocation's header counted as 16 bytes). */
static size_t dir_bytes(const pcw_fs *pfs, const struct pcw_dir *d)
{
	size_t n = sizeof(*d) + pcw_inode_buf_size(pfs->fs) + 16 * 2;

	if (d->pblk)
		n += (size_t)d->cap * sizeof(*d->pblk) + 16;
	if (d->room)
		n += (size_t)d->cap * sizeof(*d->room) + 16;
	if (d->names)
		n += ((size_t)d->nmask + 1) * sizeof(*d->names) + 16;
	if (d->strings)
		n += d->scap + 16;
	return n;
}

static void lru_unlink(struct pcw_dcache *c, struct pcw_dir *d)
{
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		c->lru_head = d->lru_next;
	if (d->lru_next)
		d->lru_next->lru_prev = d->lru_prev;
	else
		c->lru_tail = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
	c->bytes -= d->bytes;
}

static void lru_push(pcw_fs *pfs, struct pcw_dcache *c, struct pcw_dir *d)
{
	d->lru_prev = NULL;
	d->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = d;
	else
		c->lru_tail = d;
	c->lru_head = d;
	d->bytes = dir_bytes(pfs, d);
	d->epoch = c->epoch;
	c->bytes += d->bytes;
}

/* Take D out of the hash and the order, and free it. */
static void dcache_drop(pcw_fs *pfs, struct pcw_dcache *c, struct pcw_dir *d)
{
	struct pcw_dir **pp;

	for (pp = &c->hash[d->ino & c->mask]; *pp; pp = &(*pp)->hash_next)
		if (*pp == d) {
			*pp = d->hash_next;
			break;
		}
	lru_unlink(c, d);
	pcw_dir_free(d);
	c->count--;
	pfs->dcache_dirs = c->count;
}

/*
 * Evict the least recently opened directories of earlier entries until the
 * cache is under its limit.  A dirty inode is written first; if that write
 * fails the directory stays (the error is the run's: meta_error).
 */
static void dcache_shrink(pcw_fs *pfs, struct pcw_dcache *c)
{
	while (c->bytes > c->limit && c->lru_tail &&
	       c->lru_tail->epoch != c->epoch) {
		struct pcw_dir *d = c->lru_tail;

		if (d->dirty_inode && pcw_dir_write_inode(pfs, d))
			return;
		dblock_forget(c, d->ino);
		dcache_drop(pfs, c, d);
	}
}

/* A directory just loaded or made: into the cache, which may evict others. */
void pcw_dcache_insert(pcw_fs *pfs, struct pcw_dir *d)
{
	struct pcw_dcache *c = pfs->dcache;

	d->hash_next = c->hash[d->ino & c->mask];
	c->hash[d->ino & c->mask] = d;
	c->count++;
	pfs->dcache_dirs = c->count;
	lru_push(pfs, c, d);
	dcache_shrink(pfs, c);
}

/* A cached directory opened again: the most recent, its bytes counted anew. */
void pcw_dcache_touch(pcw_fs *pfs, struct pcw_dir *d)
{
	struct pcw_dcache *c = pfs->dcache;

	if (c->lru_head == d && d->epoch == c->epoch)
		return;
	lru_unlink(c, d);
	lru_push(pfs, c, d);
}

void pcw_dcache_next(pcw_fs *pfs)
{
	struct pcw_dcache *c = pfs->dcache;
	struct pcw_dir *d;

	if (!c)
		return;
	/* The current entry's directories may have grown since opened. */
	for (d = c->lru_head; d && d->epoch == c->epoch; d = d->lru_next) {
		size_t n = dir_bytes(pfs, d);

		c->bytes += n - d->bytes;
		d->bytes = n;
	}
	c->epoch++;
}

errcode_t pcw_dcache_get(pcw_fs *pfs, struct pcw_dcache **ret)
{
	struct pcw_dcache *c = pfs->dcache;
	const char *env;
	unsigned i;

	if (c) {
		*ret = c;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->mask = 255;
	c->limit = PCW_DCACHE_BYTES;
	env = getenv("PCW_TEST_DCACHE_BYTES");
	if (env && *env)
		c->limit = strtoull(env, NULL, 0);
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

void pcw_dir_free(struct pcw_dir *d)
{
	pcw_dir_names_free(d);
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
			pcw_dir_free(d);
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

/* ---- new blocks ---- */

/*
 * Add a block at the end of the directory holding CONTENT: allocated near
 * the directory's last block (on bigalloc, in the cluster of the block
 * before when they share a logical cluster), written, then mapped, then
 * i_size.  The caller checked the room.
 */
errcode_t pcw_dir_append_block(pcw_fs *pfs, struct pcw_dir *d,
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
			dcache_drop(pfs, c, *pp);
			return;
		}
}
