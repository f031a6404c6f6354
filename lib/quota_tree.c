/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quota_tree.c: one quota file in the v2 format, as the kernel's
 * fs/quota/quota_tree.c and quota_v2.c read and write it.
 *
 * The file is made of 1 KiB quota blocks, whatever the filesystem's block
 * size.  Block 0 holds the header (magic, version) and the info block
 * (grace times, flags, the number of blocks, the heads of two lists); block
 * 1 is the root of a radix tree of four levels, each block 256 references
 * indexed by one byte of the id, most significant first.  A reference of
 * the last level names a data block: a 16-byte header (the free-entry
 * list's links, the count of entries) and 14 entries of 72 bytes (v2r1).
 * Blocks that became empty are kept on the free-block list; data blocks
 * with room on the free-entry list.  Growing the file appends blocks.
 *
 * The kernel reads and writes each quota block through the quota inode's
 * page cache and journals it; pcwrite keeps the filesystem blocks it read
 * in memory, changes them there, and at flush writes the changed ones
 * through fs->io (never through ext2fs_file_write), so that a journal
 * under the channel sees them as the kernel's journal does.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extents.h"
#include "quota.h"

#define QT_BLKSIZE_BITS	10
#define QT_BLKSIZE	(1U << QT_BLKSIZE_BITS)
#define QT_TREEOFF	1	/* the root of the tree */
#define QT_TREEDEPTH	4
#define QT_REFS		(QT_BLKSIZE / 4)
#define DQDH_SIZE	16	/* struct qt_disk_dqdbheader */
#define DQBLK_SIZE	72	/* struct v2r1_disk_dqblk */
#define DQSTR_IN_BLK	((QT_BLKSIZE - DQDH_SIZE) / DQBLK_SIZE)
#define V2_VERSION_R1	1
#define INFO_OFF	8	/* struct v2_disk_dqinfo, after the header */

static const uint32_t qf_magic[PCW_MAXQUOTAS] = {
	0xd9c01f11, 0xd9c01927, 0xd9c03f14
};

struct pcw_qfile {
	ext2_filsys	fs;
	int		type;
	ext2_ino_t	ino;
	struct ext2_inode_large *inode;	/* EXT2_INODE_SIZE bytes */
	bool		inode_dirty;
	/* struct v2_disk_dqinfo */
	uint32_t	bgrace, igrace, flags;
	uint32_t	blocks;		/* quota blocks in the file */
	uint32_t	free_blk;	/* head of the free-block list */
	uint32_t	free_entry;	/* head of the free-entry list */
	bool		info_dirty;
	/* the file's filesystem blocks: where, and the ones read */
	uint64_t	nlblk;		/* entries of the arrays */
	blk64_t		*pblk;		/* 0: not mapped */
	unsigned char	**buf;
	bool		*dirty;
	uint64_t	size_blocks;	/* i_size in blocks, while mapping */
	bool		past_eof;	/* a block mapped past i_size */
	bool		on_meta;	/* a block in the system zone */
};

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint64_t get64(const unsigned char *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static errcode_t grow_arrays(struct pcw_qfile *qf, uint64_t n)
{
	uint64_t cap = qf->nlblk ? qf->nlblk : 8;
	blk64_t *pblk;
	unsigned char **buf;
	bool *dirty;

	if (n <= qf->nlblk)
		return 0;
	while (cap < n)
		cap *= 2;
	pblk = realloc(qf->pblk, cap * sizeof(*pblk));
	if (pblk)
		qf->pblk = pblk;
	buf = realloc(qf->buf, cap * sizeof(*buf));
	if (buf)
		qf->buf = buf;
	dirty = realloc(qf->dirty, cap * sizeof(*dirty));
	if (dirty)
		qf->dirty = dirty;
	if (!pblk || !buf || !dirty)
		return ENOMEM;
	memset(pblk + qf->nlblk, 0, (cap - qf->nlblk) * sizeof(*pblk));
	memset(buf + qf->nlblk, 0, (cap - qf->nlblk) * sizeof(*buf));
	memset(dirty + qf->nlblk, 0, (cap - qf->nlblk) * sizeof(*dirty));
	qf->nlblk = cap;
	return 0;
}

/* Quota block BLK in memory: read from its filesystem block the first time. */
static errcode_t qblk(struct pcw_qfile *qf, uint32_t blk, unsigned char **p)
{
	ext2_filsys fs = qf->fs;
	uint64_t byte = (uint64_t)blk << QT_BLKSIZE_BITS;
	blk64_t lblk = byte / fs->blocksize;
	errcode_t err;

	err = grow_arrays(qf, lblk + 1);
	if (err)
		return err;
	if (!qf->buf[lblk]) {
		qf->buf[lblk] = calloc(1, fs->blocksize);
		if (!qf->buf[lblk])
			return ENOMEM;
		if (qf->pblk[lblk]) {
			err = io_channel_read_blk64(fs->io, qf->pblk[lblk], 1,
						    qf->buf[lblk]);
			if (err) {
				free(qf->buf[lblk]);
				qf->buf[lblk] = NULL;
				return err;
			}
		}
	}
	*p = qf->buf[lblk] + byte % fs->blocksize;
	return 0;
}

static void qdirty(struct pcw_qfile *qf, uint32_t blk)
{
	qf->dirty[((uint64_t)blk << QT_BLKSIZE_BITS) / qf->fs->blocksize] = true;
}

/* A reference read from the file: a block of the file, past the header. */
static errcode_t check_ref(const struct pcw_qfile *qf, uint32_t blk)
{
	return blk < QT_TREEOFF || blk >= qf->blocks ? PCW_ET_QUOTA : 0;
}

static int map_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct pcw_qfile *qf = priv;

	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0)
		return 0;
	/* Nothing past i_size (a damaged map could name block 2^31). */
	if ((uint64_t)blockcnt >= qf->size_blocks) {
		qf->past_eof = true;
		return BLOCK_ABORT;
	}
	/*
	 * Not metadata: the kernel's quota writes map each block through
	 * ext4_map_blocks, whose check_block_validity refuses those; written
	 * into, it would overwrite an inode table or a bitmap.
	 */
	if (pcw_inode_block_valid(fs, *blocknr, 1)) {
		qf->on_meta = true;
		return BLOCK_ABORT;
	}
	if (grow_arrays(qf, (uint64_t)blockcnt + 1))
		return BLOCK_ABORT;
	qf->pblk[blockcnt] = *blocknr;
	return 0;
}

void pcw_qfile_free(struct pcw_qfile *qf)
{
	uint64_t i;

	if (!qf)
		return;
	for (i = 0; i < qf->nlblk; i++)
		free(qf->buf[i]);
	free(qf->buf);
	free(qf->pblk);
	free(qf->dirty);
	free(qf->inode);
	free(qf);
}

errcode_t pcw_qfile_open(ext2_filsys fs, int type, ext2_ino_t ino,
			 struct pcw_qfile **ret)
{
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct pcw_qfile *qf;
	unsigned char *p;
	uint64_t size, held;
	errcode_t err;

	if (ino < EXT2_FIRST_INO(fs->super) && ino != EXT4_USR_QUOTA_INO &&
	    ino != EXT4_GRP_QUOTA_INO)
		return PCW_ET_QUOTA;
	if (ino > fs->super->s_inodes_count)
		return PCW_ET_QUOTA;
	qf = calloc(1, sizeof(*qf));
	if (!qf)
		return ENOMEM;
	qf->fs = fs;
	qf->type = type;
	qf->ino = ino;
	qf->inode = calloc(1, pcw_inode_buf_size(fs));
	err = qf->inode ? 0 : ENOMEM;
	if (!err)
		err = ext2fs_read_inode_full(fs, ino,
					     (struct ext2_inode *)qf->inode,
					     isize);
	if (err)
		goto fail;
	/* A regular file of blocks: nothing inline, nothing encrypted. */
	err = PCW_ET_QUOTA;
	if (!LINUX_S_ISREG(qf->inode->i_mode) || !qf->inode->i_links_count ||
	    (qf->inode->i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL |
				   EXT4_VERITY_FL)))
		goto fail;
	/* Block-mapped files have no clusters to share (bigalloc). */
	if (!(qf->inode->i_flags & EXT4_EXTENTS_FL) &&
	    EXT2FS_CLUSTER_RATIO(fs) > 1)
		goto fail;
	/* ext4_iget's checks of its map's root, as the kernel's at mount. */
	err = pcw_iget_check(fs, qf->inode);
	if (err)
		goto fail;
	size = EXT2_I_SIZE(qf->inode);
	qf->size_blocks = (size + fs->blocksize - 1) / fs->blocksize;
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY |
				    BLOCK_FLAG_DATA_ONLY, NULL, map_block, qf);
	if (!err && qf->on_meta)
		err = PCW_ET_CORRUPT;
	if (err)
		goto fail;
	err = PCW_ET_QUOTA;
	if (size < 2 * QT_BLKSIZE || qf->past_eof || !qf->nlblk ||
	    !qf->pblk[0])
		goto fail;
	err = qblk(qf, 0, &p);
	if (err)
		goto fail;
	err = PCW_ET_QUOTA;
	if (get32(p) != qf_magic[type] || get32(p + 4) != V2_VERSION_R1)
		goto fail;
	qf->bgrace = get32(p + INFO_OFF);
	qf->igrace = get32(p + INFO_OFF + 4);
	qf->flags = get32(p + INFO_OFF + 8);
	qf->blocks = get32(p + INFO_OFF + 12);
	qf->free_blk = get32(p + INFO_OFF + 16);
	qf->free_entry = get32(p + INFO_OFF + 20);
	/* Every block the info counts lies inside i_size and is mapped. */
	held = (uint64_t)qf->blocks << QT_BLKSIZE_BITS;
	if (qf->blocks <= QT_TREEOFF || held > size ||
	    (qf->free_blk && check_ref(qf, qf->free_blk)) ||
	    (qf->free_entry && check_ref(qf, qf->free_entry)))
		goto fail;
	for (uint64_t l = 0; l < (held + fs->blocksize - 1) / fs->blocksize;
	     l++)
		if (l >= qf->nlblk || !qf->pblk[l])
			goto fail;
	*ret = qf;
	return 0;
fail:
	pcw_qfile_free(qf);
	return err;
}

void pcw_qfile_grace(const struct pcw_qfile *qf, uint32_t *bgrace,
		     uint32_t *igrace)
{
	*bgrace = qf->bgrace;
	*igrace = qf->igrace;
}

/* ---- the two lists: get_free_dqblk() and its companions ---------------------- */

/* A zeroed block: the head of the free-block list, or one appended. */
static errcode_t get_free_dqblk(struct pcw_qfile *qf, uint32_t *ret)
{
	unsigned char *p;
	uint32_t blk;
	errcode_t err;

	if (qf->free_blk) {
		blk = qf->free_blk;
		err = check_ref(qf, blk);
		if (!err)
			err = qblk(qf, blk, &p);
		if (err)
			return err;
		qf->free_blk = get32(p);
	} else {
		if (qf->blocks == UINT32_MAX)
			return PCW_ET_QUOTA;
		blk = qf->blocks++;
		err = qblk(qf, blk, &p);
		if (err) {
			qf->blocks--;
			return err;
		}
	}
	memset(p, 0, QT_BLKSIZE);
	qdirty(qf, blk);
	qf->info_dirty = true;
	*ret = blk;
	return 0;
}

/* put_free_dqblk(): BLK, now empty, heads the free-block list. */
static errcode_t put_free_dqblk(struct pcw_qfile *qf, uint32_t blk)
{
	unsigned char *p;
	errcode_t err = qblk(qf, blk, &p);

	if (err)
		return err;
	memset(p, 0, QT_BLKSIZE);
	put32(p, qf->free_blk);
	qdirty(qf, blk);
	qf->free_blk = blk;
	qf->info_dirty = true;
	return 0;
}

/* remove_free_dqentry(): data block BLK leaves the free-entry list. */
static errcode_t remove_free_dqentry(struct pcw_qfile *qf, uint32_t blk,
				     unsigned char *p)
{
	uint32_t next = get32(p), prev = get32(p + 4);
	unsigned char *q;
	errcode_t err;

	if (next) {
		err = check_ref(qf, next);
		if (!err)
			err = qblk(qf, next, &q);
		if (err)
			return err;
		put32(q + 4, prev);
		qdirty(qf, next);
	}
	if (prev) {
		err = check_ref(qf, prev);
		if (!err)
			err = qblk(qf, prev, &q);
		if (err)
			return err;
		put32(q, next);
		qdirty(qf, prev);
	} else {
		qf->free_entry = next;
		qf->info_dirty = true;
	}
	put32(p, 0);
	put32(p + 4, 0);
	qdirty(qf, blk);
	return 0;
}

/* insert_free_dqentry(): data block BLK heads the free-entry list. */
static errcode_t insert_free_dqentry(struct pcw_qfile *qf, uint32_t blk,
				     unsigned char *p)
{
	unsigned char *q;
	errcode_t err;

	put32(p, qf->free_entry);
	put32(p + 4, 0);
	qdirty(qf, blk);
	if (qf->free_entry) {
		err = check_ref(qf, qf->free_entry);
		if (!err)
			err = qblk(qf, qf->free_entry, &q);
		if (err)
			return err;
		put32(q + 4, blk);
		qdirty(qf, qf->free_entry);
	}
	qf->free_entry = blk;
	qf->info_dirty = true;
	return 0;
}

static bool entry_unused(const unsigned char *e)
{
	for (unsigned i = 0; i < DQBLK_SIZE; i++)
		if (e[i])
			return false;
	return true;
}

/* ---- the tree ------------------------------------------------------------------ */

static unsigned tree_index(uint32_t id, int depth)
{
	return (id >> (8 * (QT_TREEDEPTH - 1 - depth))) & (QT_REFS - 1);
}

/* find_free_dqentry(): a slot for ID in a data block with room. */
static errcode_t find_free_dqentry(struct pcw_qfile *qf, uint32_t id,
				   uint32_t *blkp, uint64_t *off)
{
	unsigned char *p, *e;
	uint32_t blk;
	unsigned i, entries;
	errcode_t err;

	if (qf->free_entry) {
		blk = qf->free_entry;
		err = check_ref(qf, blk);
		if (!err)
			err = qblk(qf, blk, &p);
		if (err)
			return err;
	} else {
		/* A new block: its list links are zero, the list was empty. */
		err = get_free_dqblk(qf, &blk);
		if (!err)
			err = qblk(qf, blk, &p);
		if (err)
			return err;
		qf->free_entry = blk;
		qf->info_dirty = true;
	}
	entries = p[8] | p[9] << 8;
	if (entries >= DQSTR_IN_BLK)
		return PCW_ET_QUOTA;
	/* Full after this one: off the free-entry list. */
	if (entries + 1 >= DQSTR_IN_BLK) {
		err = remove_free_dqentry(qf, blk, p);
		if (err)
			return err;
	}
	entries++;
	p[8] = entries;
	p[9] = entries >> 8;
	for (i = 0, e = p + DQDH_SIZE; i < DQSTR_IN_BLK; i++, e += DQBLK_SIZE)
		if (entry_unused(e))
			break;
	if (i == DQSTR_IN_BLK)
		return PCW_ET_QUOTA;
	/* Taken at once, so that no later insert picks the same slot; an
	   all-zero entry (id 0, nothing used) is marked as v2r1 marks it. */
	put32(e, id);
	if (!id)
		put64(e + 64, 1);
	qdirty(qf, blk);
	*blkp = blk;
	*off = ((uint64_t)blk << QT_BLKSIZE_BITS) + DQDH_SIZE +
	       (uint64_t)i * DQBLK_SIZE;
	return 0;
}

/* do_insert_tree(): the path to ID, made where missing, and its entry. */
static errcode_t insert_tree(struct pcw_qfile *qf, uint32_t id,
			     uint32_t *treeblk, int depth, uint64_t *off)
{
	unsigned char *p;
	uint32_t newblk;
	unsigned idx = tree_index(id, depth);
	errcode_t err;

	if (!*treeblk) {
		err = get_free_dqblk(qf, treeblk);
		if (err)
			return err;
	} else {
		err = check_ref(qf, *treeblk);
		if (err)
			return err;
	}
	err = qblk(qf, *treeblk, &p);
	if (err)
		return err;
	newblk = get32(p + 4 * idx);
	if (depth == QT_TREEDEPTH - 1) {
		if (newblk)
			return PCW_ET_QUOTA;	/* already present */
		err = find_free_dqentry(qf, id, &newblk, off);
	} else {
		uint32_t son = newblk;

		err = insert_tree(qf, id, &son, depth + 1, off);
		newblk = newblk ? 0 : son;
	}
	if (err)
		return err;
	if (newblk) {
		/* The buffers never move: P is still this block. */
		put32(p + 4 * idx, newblk);
		qdirty(qf, *treeblk);
	}
	return 0;
}

errcode_t pcw_qfile_insert(struct pcw_qfile *qf, uint32_t id, uint64_t *off)
{
	uint32_t root = QT_TREEOFF;

	return insert_tree(qf, id, &root, 0, off);
}

errcode_t pcw_qfile_find(struct pcw_qfile *qf, uint32_t id, uint64_t *off)
{
	uint32_t blk = QT_TREEOFF;
	unsigned char *p, *e;
	unsigned i;
	errcode_t err;

	*off = 0;
	for (int depth = 0; depth < QT_TREEDEPTH; depth++) {
		err = qblk(qf, blk, &p);
		if (err)
			return err;
		blk = get32(p + 4 * tree_index(id, depth));
		if (!blk)
			return 0;
		err = check_ref(qf, blk);
		if (err)
			return err;
	}
	err = qblk(qf, blk, &p);
	if (err)
		return err;
	for (i = 0, e = p + DQDH_SIZE; i < DQSTR_IN_BLK; i++, e += DQBLK_SIZE)
		if (!entry_unused(e) && get32(e) == id)
			break;
	/* Referenced but not present (find_block_dqentry's error). */
	if (i == DQSTR_IN_BLK)
		return PCW_ET_QUOTA;
	*off = ((uint64_t)blk << QT_BLKSIZE_BITS) + DQDH_SIZE +
	       (uint64_t)i * DQBLK_SIZE;
	return 0;
}

/* free_dqentry(): the entry at OFF in data block BLK goes. */
static errcode_t free_dqentry(struct pcw_qfile *qf, uint32_t blk, uint64_t off)
{
	unsigned char *p;
	unsigned entries;
	errcode_t err;

	if (off >> QT_BLKSIZE_BITS != blk)
		return PCW_ET_QUOTA;
	err = qblk(qf, blk, &p);
	if (err)
		return err;
	entries = p[8] | p[9] << 8;
	if (!entries)
		return PCW_ET_QUOTA;
	entries--;
	p[8] = entries;
	p[9] = entries >> 8;
	qdirty(qf, blk);
	if (!entries) {
		err = remove_free_dqentry(qf, blk, p);
		return err ? err : put_free_dqblk(qf, blk);
	}
	memset(p + (off & (QT_BLKSIZE - 1)), 0, DQBLK_SIZE);
	/* It was full: it has room again. */
	if (entries == DQSTR_IN_BLK - 1)
		return insert_free_dqentry(qf, blk, p);
	return 0;
}

/* remove_tree(): the path to ID, emptied blocks (not the root) freed. */
static errcode_t remove_tree(struct pcw_qfile *qf, uint32_t id, uint32_t *blk,
			     int depth, uint64_t off)
{
	unsigned char *p;
	unsigned idx = tree_index(id, depth), i;
	uint32_t newblk;
	errcode_t err;

	err = qblk(qf, *blk, &p);
	if (err)
		return err;
	newblk = get32(p + 4 * idx);
	err = check_ref(qf, newblk);
	if (err)
		return err;
	if (depth == QT_TREEDEPTH - 1) {
		err = free_dqentry(qf, newblk, off);
		newblk = 0;
	} else {
		err = remove_tree(qf, id, &newblk, depth + 1, off);
	}
	if (err || newblk)
		return err;
	put32(p + 4 * idx, 0);
	qdirty(qf, *blk);
	for (i = 0; i < QT_REFS && !get32(p + 4 * i); i++)
		;
	if (i == QT_REFS && *blk != QT_TREEOFF) {
		err = put_free_dqblk(qf, *blk);
		*blk = 0;
	}
	return err;
}

errcode_t pcw_qfile_delete(struct pcw_qfile *qf, uint32_t id, uint64_t off)
{
	uint32_t root = QT_TREEOFF;

	return remove_tree(qf, id, &root, 0, off);
}

/* ---- entries: v2r1_disk2memdqblk() and v2r1_mem2diskdqblk() ------------------- */

static errcode_t entry_at(struct pcw_qfile *qf, uint64_t off,
			  unsigned char **e)
{
	unsigned char *p;
	errcode_t err;

	if ((off & (QT_BLKSIZE - 1)) < DQDH_SIZE ||
	    ((off & (QT_BLKSIZE - 1)) - DQDH_SIZE) % DQBLK_SIZE ||
	    (off >> QT_BLKSIZE_BITS) >= qf->blocks)
		return PCW_ET_QUOTA;
	err = qblk(qf, off >> QT_BLKSIZE_BITS, &p);
	if (!err)
		*e = p + (off & (QT_BLKSIZE - 1));
	return err;
}

errcode_t pcw_qfile_get(struct pcw_qfile *qf, uint64_t off,
			struct pcw_dqblk *d)
{
	unsigned char *e;
	errcode_t err = entry_at(qf, off, &e);

	if (err)
		return err;
	d->id = get32(e);
	d->ihardlimit = get64(e + 8);
	d->isoftlimit = get64(e + 16);
	d->curinodes = get64(e + 24);
	d->bhardlimit = get64(e + 32);
	d->bsoftlimit = get64(e + 40);
	d->curspace = get64(e + 48);
	d->btime = get64(e + 56);
	d->itime = get64(e + 64);
	/* The all-zero entry is stored with itime 1 (it would read as free). */
	if (!d->id && !d->ihardlimit && !d->isoftlimit && !d->curinodes &&
	    !d->bhardlimit && !d->bsoftlimit && !d->curspace && !d->btime &&
	    d->itime == 1)
		d->itime = 0;
	return 0;
}

errcode_t pcw_qfile_put(struct pcw_qfile *qf, uint64_t off,
			const struct pcw_dqblk *d)
{
	unsigned char *e;
	errcode_t err = entry_at(qf, off, &e);

	if (err)
		return err;
	put32(e, d->id);
	put32(e + 4, 0);
	put64(e + 8, d->ihardlimit);
	put64(e + 16, d->isoftlimit);
	put64(e + 24, d->curinodes);
	put64(e + 32, d->bhardlimit);
	put64(e + 40, d->bsoftlimit);
	put64(e + 48, d->curspace);
	put64(e + 56, d->btime);
	put64(e + 64, d->itime);
	if (entry_unused(e))
		put64(e + 64, 1);
	qdirty(qf, off >> QT_BLKSIZE_BITS);
	return 0;
}

/* ---- the file's blocks ---------------------------------------------------------- */

blk64_t pcw_qfile_growth(const struct pcw_qfile *qf, unsigned new_qblocks)
{
	ext2_filsys fs = qf->fs;
	uint64_t now = (uint64_t)qf->blocks << QT_BLKSIZE_BITS;
	uint64_t then = now + ((uint64_t)new_qblocks << QT_BLKSIZE_BITS);
	blk64_t need;

	/* Between flushes every block up to qf->blocks is mapped (checked at
	   open, allocated at each flush): only the appended ones are not. */
	need = (then + fs->blocksize - 1) / fs->blocksize -
	       (now + fs->blocksize - 1) / fs->blocksize;
	/* Whole clusters, and one more for a block of the extent map. */
	return need ? EXT2FS_NUM_B2C(fs, need) + 1 : 0;
}

/*
 * A block for logical block LBLK of the file: on bigalloc the cluster that
 * backs LBLK's logical cluster if one does, else a new one near the file's
 * last block (the kernel's goal), charged to i_blocks.
 */
static errcode_t alloc_lblk(struct pcw_qfile *qf, ext2_extent_handle_t h,
			    blk64_t lblk)
{
	ext2_filsys fs = qf->fs;
	unsigned ratio = EXT2FS_CLUSTER_RATIO(fs);
	blk64_t first = lblk - lblk % ratio, l, pblk = 0, goal, cluster = 0;
	errcode_t err;

	for (l = first; l < first + ratio && l < qf->nlblk; l++)
		if (qf->pblk[l]) {
			pblk = qf->pblk[l] - (l - first) + (lblk - first);
			break;
		}
	if (!pblk) {
		goal = lblk && qf->pblk[lblk - 1] ? qf->pblk[lblk - 1] + 1 :
		       ext2fs_find_inode_goal(fs, qf->ino,
					(struct ext2_inode *)qf->inode, lblk);
		err = ext2fs_new_block2(fs, goal, NULL, &pblk);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			return ENOSPC;
		if (err)
			return err;
		cluster = pblk & ~(blk64_t)EXT2FS_CLUSTER_MASK(fs);
		ext2fs_block_alloc_stats2(fs, cluster, +1);
		err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)qf->inode,
					     1);
		if (err) {
			ext2fs_block_alloc_stats2(fs, cluster, -1);
			return err;
		}
		pblk = cluster + (lblk - first);
	}
	/* Block-mapped (ext2, ext3): indirect blocks made as needed. */
	if (h)
		err = pcw_extent_insert(h, lblk, pblk, 1, false);
	else
		err = ext2fs_bmap2(fs, qf->ino, (struct ext2_inode *)qf->inode,
				   NULL, BMAP_SET | BMAP_ALLOC, lblk, NULL,
				   &pblk);
	if (err) {
		if (cluster) {
			ext2fs_block_alloc_stats2(fs, cluster, -1);
			ext2fs_iblk_sub_blocks(fs,
				(struct ext2_inode *)qf->inode, 1);
		}
		return err;
	}
	qf->pblk[lblk] = pblk;
	qf->inode_dirty = true;
	return 0;
}

static errcode_t write_info(struct pcw_qfile *qf)
{
	unsigned char *p;
	errcode_t err = qblk(qf, 0, &p);

	if (err)
		return err;
	put32(p + INFO_OFF, qf->bgrace);
	put32(p + INFO_OFF + 4, qf->igrace);
	put32(p + INFO_OFF + 8, qf->flags);
	put32(p + INFO_OFF + 12, qf->blocks);
	put32(p + INFO_OFF + 16, qf->free_blk);
	put32(p + INFO_OFF + 20, qf->free_entry);
	qdirty(qf, 0);
	qf->info_dirty = false;
	return 0;
}

errcode_t pcw_qfile_flush(struct pcw_qfile *qf)
{
	ext2_filsys fs = qf->fs;
	uint64_t bytes = (uint64_t)qf->blocks << QT_BLKSIZE_BITS;
	blk64_t end = (bytes + fs->blocksize - 1) / fs->blocksize, l;
	ext2_extent_handle_t h = NULL;
	errcode_t err = 0, err2;

	if (qf->info_dirty)
		err = write_info(qf);
	if (!err)
		err = grow_arrays(qf, end);
	/* Appended blocks get blocks of their own, in file order. */
	for (l = 0; !err && l < end; l++) {
		if (qf->pblk[l])
			continue;
		if (!qf->buf[l]) {
			qf->buf[l] = calloc(1, fs->blocksize);
			if (!qf->buf[l]) {
				err = ENOMEM;
				break;
			}
		}
		qf->dirty[l] = true;
		if (!h && (qf->inode->i_flags & EXT4_EXTENTS_FL))
			err = ext2fs_extent_open2(fs, qf->ino,
					(struct ext2_inode *)qf->inode, &h);
		if (!err)
			err = alloc_lblk(qf, h, l);
	}
	if (h)
		ext2fs_extent_free(h);
	/* i_size covers the blocks mapped, also when one could not be. */
	if (err && (uint64_t)l * fs->blocksize < bytes)
		bytes = (uint64_t)l * fs->blocksize;
	if (EXT2_I_SIZE(qf->inode) < bytes) {
		err2 = ext2fs_inode_size_set(fs, (struct ext2_inode *)qf->inode,
					     bytes);
		if (!err)
			err = err2;
		qf->inode_dirty = true;
	}
	for (l = 0; !err && l < qf->nlblk; l++) {
		if (!qf->dirty[l])
			continue;
		err = io_channel_write_blk64(fs->io, qf->pblk[l], 1, qf->buf[l]);
		if (!err)
			qf->dirty[l] = false;
	}
	if (qf->inode_dirty) {
		err2 = ext2fs_write_inode_full(fs, qf->ino,
					       (struct ext2_inode *)qf->inode,
					       EXT2_INODE_SIZE(fs->super));
		if (!err2)
			qf->inode_dirty = false;
		if (!err)
			err = err2;
	}
	return err;
}
