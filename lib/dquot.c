/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dquot.c: quota usage, as fs/quota/dquot.c keeps it for ext4.
 *
 * The kernel changes i_blocks only through the quota calls
 * (dquot_alloc_block, dquot_free_block, dquot_alloc_inode, dquot_transfer
 * for a new owner), so an inode's usage in its quota entries is always its
 * i_blocks in bytes and one inode; e2fsck computes the same from the
 * inodes (clusters on bigalloc, attribute blocks included, the values in
 * attribute inodes charged to their owner: one inode and their clusters
 * each, which the kernel adds to the owner's i_blocks too).
 *
 * pcwrite does not charge at each allocation: blocks change in many places
 * (writeback's runs, directory growth, symlink blocks, truncation) and
 * inside libext2fs (extent-tree blocks, attribute blocks, freed trees).
 * Every one of them reaches the image through an inode write, so the single
 * charge point is libext2fs's write_inode hook: at an inode's first write
 * since the last commit its usage as it was is noted; at the commit
 * (pcw_dquot_sync) its usage as it is now is charged and the old one
 * credited, to the ids each belongs to, which also moves the usage of an
 * inode whose owner or project changed.  The sum is what the kernel's
 * per-allocation charges add up to, and the quota files match the inodes
 * at every commit, failed runs included.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extents.h"
#include "quota.h"

/* What one inode costs: its ids, bytes and inodes (0 when not counted). */
struct usage {
	uint32_t	id[PCW_MAXQUOTAS];
	int64_t		space;
	int64_t		inodes;
};

/* An inode written since the last sync, with its usage before. */
struct touched {
	ext2_ino_t	ino;		/* 0: a free slot */
	struct usage	old;
};

/* One id of one type: where its entry is, and the change not yet written. */
struct dq {
	uint32_t	id;
	bool		used;		/* the slot holds an id */
	bool		located;	/* off is known */
	bool		absent_noted;	/* counted in q->absent */
	uint64_t	off;		/* its entry in the file, 0: none */
	int64_t		dspace, dinodes;
};

struct dqhash {
	struct dq	*v;
	size_t		mask, n;	/* size - 1, slots used */
};

struct pcw_dquot {
	pcw_fs		*pfs;
	ext2_filsys	fs;
	struct pcw_qfile *qf[PCW_MAXQUOTAS];
	struct dqhash	dq[PCW_MAXQUOTAS];
	unsigned	absent[PCW_MAXQUOTAS];	/* ids with no entry yet */
	struct touched	*t;
	size_t		tmask, tn;
	unsigned char	*ibuf;			/* one inode */
	unsigned char	*bbuf;			/* one attribute block */
	errcode_t	error;			/* of the write hook */
};

/* Does INODE's extra space reach i_projid? */
static bool has_projid(const struct ext2_inode_large *inode, unsigned isize)
{
	return isize > EXT2_GOOD_OLD_INODE_SIZE &&
	       (size_t)EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize >=
	       offsetof(struct ext2_inode_large, i_projid) + sizeof(uint32_t);
}

static inline uint32_t hash32(uint32_t x)
{
	return x * 2654435761U;
}

static ext2_ino_t quota_inum(ext2_filsys fs, int type)
{
	struct ext2_super_block *sb = fs->super;

	switch (type) {
	case PCW_USRQUOTA:	return sb->s_usr_quota_inum;
	case PCW_GRPQUOTA:	return sb->s_grp_quota_inum;
	default:		return ext2fs_has_feature_project(sb) ?
				       sb->s_prj_quota_inum : 0;
	}
}

errcode_t pcw_quota_check(ext2_filsys fs)
{
	struct pcw_qfile *qf;
	errcode_t err;

	if (!ext2fs_has_feature_quota(fs->super))
		return 0;
	for (int type = 0; type < PCW_MAXQUOTAS; type++) {
		ext2_ino_t ino = quota_inum(fs, type);

		if (!ino)
			continue;
		err = pcw_qfile_open(fs, type, ino, &qf);
		if (err)
			return err;
		pcw_qfile_free(qf);
	}
	return 0;
}

/* ---- the ids ----------------------------------------------------------------------- */

static struct dq *dq_get(struct dqhash *h, uint32_t id)
{
	size_t k;

	if ((h->n + 1) * 2 > h->mask + 1 || !h->v) {
		size_t mask = h->v ? h->mask * 2 + 1 : 63, i;
		struct dq *nv = calloc(mask + 1, sizeof(*nv));

		if (!nv)
			return NULL;
		for (i = 0; h->v && i <= h->mask; i++) {
			if (!h->v[i].used)
				continue;
			for (k = hash32(h->v[i].id) & mask; nv[k].used;
			     k = (k + 1) & mask)
				;
			nv[k] = h->v[i];
		}
		free(h->v);
		h->v = nv;
		h->mask = mask;
	}
	for (k = hash32(id) & h->mask; h->v[k].used; k = (k + 1) & h->mask)
		if (h->v[k].id == id)
			return &h->v[k];
	h->v[k].used = true;
	h->v[k].id = id;
	h->n++;
	return &h->v[k];
}

/* Blocks the quota files may need at the next sync: a new entry needs at
   most three tree blocks and a data block. */
static void update_reserve(struct pcw_dquot *q)
{
	blk64_t n = 0;

	for (int type = 0; type < PCW_MAXQUOTAS; type++)
		if (q->qf[type] && q->absent[type])
			n += pcw_qfile_growth(q->qf[type],
					      4 * q->absent[type]);
	q->pfs->quota_reserve = n;
}

/*
 * An id an inode is about to have (its owner, group, project): when it has
 * no entry yet, the next sync will make one, and the blocks that may take
 * are kept free from now on (pcw_room); when they are not there, ENOSPC,
 * before the inode is written.  The kernel allocates the entry when the
 * dquot is first used (dquot_acquire), in the same transaction, and fails
 * the operation the same way.
 */
static errcode_t note_id(struct pcw_dquot *q, int type, uint32_t id)
{
	struct dq *d;
	errcode_t err;

	if (!q->qf[type])
		return 0;
	d = dq_get(&q->dq[type], id);
	if (!d)
		return ENOMEM;
	if (!d->located) {
		err = pcw_qfile_find(q->qf[type], id, &d->off);
		if (err)
			return err;
		d->located = true;
	}
	if (d->off || d->absent_noted)
		return 0;
	q->absent[type]++;
	update_reserve(q);
	err = pcw_fs_check_space(q->pfs, 1);
	if (err) {
		q->absent[type]--;
		update_reserve(q);
		return err;
	}
	d->absent_noted = true;
	return 0;
}

/* ---- what an inode costs ------------------------------------------------------------- */

/*
 * The entries of an attribute area from P (an inode's extra space after
 * its magic, or a block after its header) that keep their value in an
 * inode of its own: one more, and the value's clusters (e2fsck's
 * size_to_quota_blocks, the kernel's round_up_cluster).
 */
static void scan_ea_refs(const unsigned char *p, const unsigned char *end,
			 uint64_t csize, unsigned *n, blk64_t *clusters)
{
	while (p + 16 <= end && (p[0] | p[1] | p[2] | p[3])) {
		uint32_t inum = p[4] | p[5] << 8 | p[6] << 16 |
				(uint32_t)p[7] << 24;
		uint32_t size = p[8] | p[9] << 8 | p[10] << 16 |
				(uint32_t)p[11] << 24;

		if (inum) {
			(*n)++;
			*clusters += (size + csize - 1) / csize;
		}
		p += (16 + p[0] + 3) & ~3U;
	}
}

errcode_t pcw_ea_inode_usage(ext2_filsys fs, ext2_ino_t ino,
				const struct ext2_inode_large *inode,
				unsigned char *bbuf, unsigned *count,
				blk64_t *clusters)
{
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	uint64_t csize = (uint64_t)fs->blocksize << fs->cluster_ratio_bits;
	const unsigned char *raw = (const unsigned char *)inode, *p;
	blk64_t blk;
	errcode_t err;

	*count = 0;
	*clusters = 0;
	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	p = raw + EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE && p + 4 <= raw + isize &&
	    (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) ==
	    EXT2_EXT_ATTR_MAGIC)
		scan_ea_refs(p + 4, raw + isize, csize, count, clusters);
	blk = ext2fs_file_acl_block(fs, (const struct ext2_inode *)inode);
	if (blk && blk < ext2fs_blocks_count(fs->super)) {
		err = ext2fs_read_ext_attr3(fs, blk, bbuf, ino);
		if (err && err != EXT2_ET_EXT_ATTR_CSUM_INVALID)
			return err;
		/* Entries follow the 32-byte block header. */
		scan_ea_refs(bbuf + 32, bbuf + fs->blocksize, csize, count,
			     clusters);
	}
	return 0;
}

/*
 * Which inodes quota counts, as e2fsck's pass 1: in use (links), the root
 * or a normal inode, not the project quota file or the orphan file, not an
 * attribute value inode (its owner pays for it).  An inode the bitmap says
 * is free, or in a group's never-used tail, is not in use whatever its
 * table slot holds (and is not read).
 */
static bool in_use(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_super_block *sb = fs->super;
	dgrp_t g = (ino - 1) / sb->s_inodes_per_group;

	if (ino != EXT2_ROOT_INO && ino < EXT2_FIRST_INO(sb))
		return false;
	if (ino == quota_inum(fs, PCW_PRJQUOTA) ||
	    ino == sb->s_orphan_file_inum)
		return false;
	if (!ext2fs_test_inode_bitmap2(fs->inode_map, ino))
		return false;
	if (ext2fs_has_group_desc_csum(fs) &&
	    (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) ||
	     (ino - 1) % sb->s_inodes_per_group >=
	     sb->s_inodes_per_group - ext2fs_bg_itable_unused(fs, g)))
		return false;
	return true;
}

static bool counted(const struct ext2_inode_large *inode)
{
	return inode->i_links_count && !(inode->i_flags & EXT4_EA_INODE_FL);
}

/* INO's usage as the image holds it now. */
static errcode_t read_usage(struct pcw_dquot *q, ext2_ino_t ino,
			    struct usage *u)
{
	ext2_filsys fs = q->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *inode = (struct ext2_inode_large *)q->ibuf;
	unsigned refs;
	blk64_t clusters;
	errcode_t err;

	memset(u, 0, sizeof(*u));
	/* A new inode's first write reads nothing: it was free. */
	if (!in_use(fs, ino))
		return 0;
	memset(q->ibuf, 0, pcw_inode_buf_size(fs));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
				     isize);
	if (err)
		return err;
	if (!counted(inode))
		return 0;
	err = pcw_ea_inode_usage(fs, ino, inode, q->bbuf, &refs, &clusters);
	if (err)
		return err;
	u->id[PCW_USRQUOTA] = inode_uid(*inode);
	u->id[PCW_GRPQUOTA] = inode_gid(*inode);
	if (has_projid(inode, isize))
		u->id[PCW_PRJQUOTA] = inode->i_projid;
	/* i_blocks holds the attribute inodes' clusters too (see above). */
	u->space = (int64_t)ext2fs_get_stat_i_blocks(fs,
				(struct ext2_inode *)inode) << 9;
	u->inodes = 1 + refs;
	return 0;
}

static errcode_t charge(struct pcw_dquot *q, const struct usage *u, int sign)
{
	if (!u->inodes)
		return 0;
	for (int type = 0; type < PCW_MAXQUOTAS; type++) {
		struct dq *d;

		if (!q->qf[type])
			continue;
		d = dq_get(&q->dq[type], u->id[type]);
		if (!d)
			return ENOMEM;
		d->dspace += sign * u->space;
		d->dinodes += sign * u->inodes;
	}
	return 0;
}

/* ---- the write hook ---------------------------------------------------------------- */

static struct touched *touched_slot(struct pcw_dquot *q, ext2_ino_t ino,
				    bool *found)
{
	size_t k;

	if ((q->tn + 1) * 2 > q->tmask + 1 || !q->t) {
		size_t mask = q->t ? q->tmask * 2 + 1 : 255, i;
		struct touched *nt = calloc(mask + 1, sizeof(*nt));

		if (!nt)
			return NULL;
		for (i = 0; q->t && i <= q->tmask; i++) {
			if (!q->t[i].ino)
				continue;
			for (k = hash32(q->t[i].ino) & mask; nt[k].ino;
			     k = (k + 1) & mask)
				;
			nt[k] = q->t[i];
		}
		free(q->t);
		q->t = nt;
		q->tmask = mask;
	}
	for (k = hash32(ino) & q->tmask; q->t[k].ino; k = (k + 1) & q->tmask)
		if (q->t[k].ino == ino) {
			*found = true;
			return &q->t[k];
		}
	*found = false;
	return &q->t[k];
}

static bool is_quota_inode(ext2_filsys fs, ext2_ino_t ino)
{
	for (int type = 0; type < PCW_MAXQUOTAS; type++)
		if (ino == quota_inum(fs, type))
			return true;
	return false;
}

/*
 * ext2fs_write_inode2 calls this before it writes INODE (the image and
 * libext2fs's inode cache still hold the old one).  INODE may be only the
 * 128-byte part: the project id is read back at the sync.
 */
static errcode_t on_write_inode(ext2_filsys fs, ext2_ino_t ino,
				struct ext2_inode *inode)
{
	pcw_fs *pfs = fs->priv_data;
	struct pcw_dquot *q = pfs ? pfs->dquot : NULL;
	struct touched *t;
	bool found;
	errcode_t err;

	if (!q || q->fs != fs || !ino || ino > fs->super->s_inodes_count ||
	    is_quota_inode(fs, ino))
		return EXT2_ET_CALLBACK_NOTHANDLED;
	t = touched_slot(q, ino, &found);
	if (!t)
		return ENOMEM;
	if (!found) {
		err = read_usage(q, ino, &t->old);
		if (err)
			return err;
		t->ino = ino;
		q->tn++;
	}
	/* ENOSPC for a new id's entry fails the write, nothing written. */
	err = note_id(q, PCW_USRQUOTA, inode_uid(*inode));
	if (!err)
		err = note_id(q, PCW_GRPQUOTA, inode_gid(*inode));
	return err ? err : EXT2_ET_CALLBACK_NOTHANDLED;
}

errcode_t pcw_dquot_open(pcw_fs *pfs)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_dquot *q;
	errcode_t err = 0;

	if (!ext2fs_has_feature_quota(fs->super))
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return ENOMEM;
	q->pfs = pfs;
	q->fs = fs;
	q->ibuf = calloc(1, pcw_inode_buf_size(fs));
	q->bbuf = malloc(fs->blocksize);
	if (!q->ibuf || !q->bbuf)
		err = ENOMEM;
	for (int type = 0; !err && type < PCW_MAXQUOTAS; type++) {
		ext2_ino_t ino = quota_inum(fs, type);

		if (ino)
			err = pcw_qfile_open(fs, type, ino, &q->qf[type]);
	}
	pfs->dquot = q;
	if (err) {
		pcw_dquot_free(pfs);
		return err;
	}
	fs->priv_data = pfs;
	fs->write_inode = on_write_inode;
	return 0;
}

void pcw_dquot_free(pcw_fs *pfs)
{
	struct pcw_dquot *q = pfs->dquot;

	if (!q)
		return;
	if (pfs->fs && pfs->fs->write_inode == on_write_inode)
		pfs->fs->write_inode = NULL;
	for (int type = 0; type < PCW_MAXQUOTAS; type++) {
		pcw_qfile_free(q->qf[type]);
		free(q->dq[type].v);
	}
	free(q->t);
	free(q->ibuf);
	free(q->bbuf);
	free(q);
	pfs->dquot = NULL;
	pfs->quota_reserve = 0;
}

/* ---- the sync --------------------------------------------------------------------- */

/* Soft limits crossed start their grace time; back under, it stops. */
static void update_grace(struct pcw_dqblk *b, uint32_t bgrace, uint32_t igrace,
			 time_t now)
{
	if (b->bsoftlimit && b->curspace > b->bsoftlimit * 1024) {
		if (!b->btime)
			b->btime = (uint64_t)now + bgrace;
	} else {
		b->btime = 0;
	}
	if (b->isoftlimit && b->curinodes > b->isoftlimit) {
		if (!b->itime)
			b->itime = (uint64_t)now + igrace;
	} else {
		b->itime = 0;
	}
}

static uint64_t add_clamped(uint64_t v, int64_t delta)
{
	if (delta < 0 && (uint64_t)-delta > v)
		return 0;	/* dquot_decr_space() stops at zero too */
	return v + delta;
}

/* One id's change into its entry: made when new, dropped when idle. */
static errcode_t apply(struct pcw_dquot *q, int type, struct dq *d, time_t now)
{
	struct pcw_qfile *qf = q->qf[type];
	struct pcw_dqblk b;
	uint32_t bgrace, igrace;
	errcode_t err;

	if (!d->located) {
		err = pcw_qfile_find(qf, d->id, &d->off);
		if (err)
			return err;
		d->located = true;
	}
	memset(&b, 0, sizeof(b));
	if (d->off) {
		err = pcw_qfile_get(qf, d->off, &b);
		if (err)
			return err;
	} else if (d->dspace <= 0 && d->dinodes <= 0) {
		d->dspace = d->dinodes = 0;
		return 0;
	} else {
		err = pcw_qfile_insert(qf, d->id, &d->off);
		if (err)
			return err;
		b.id = d->id;
	}
	b.curspace = add_clamped(b.curspace, d->dspace);
	b.curinodes = add_clamped(b.curinodes, d->dinodes);
	d->dspace = d->dinodes = 0;
	pcw_qfile_grace(qf, &bgrace, &igrace);
	update_grace(&b, bgrace, igrace, now);
	/* Nothing used and no limits: the kernel releases such an entry. */
	if (!b.curspace && !b.curinodes && !b.ihardlimit && !b.isoftlimit &&
	    !b.bhardlimit && !b.bsoftlimit) {
		err = pcw_qfile_delete(qf, d->id, d->off);
		d->off = 0;
		return err;
	}
	return pcw_qfile_put(qf, d->off, &b);
}

errcode_t pcw_dquot_sync(pcw_fs *pfs)
{
	struct pcw_dquot *q = pfs->dquot;
	struct usage now;
	errcode_t err = 0;
	size_t i;

	if (!q)
		return 0;
	if (q->error)
		return q->error;
	/* Each inode written: its usage now, less what it had. */
	for (i = 0; q->t && i <= q->tmask && !err; i++) {
		if (!q->t[i].ino)
			continue;
		err = read_usage(q, q->t[i].ino, &now);
		if (!err)
			err = charge(q, &q->t[i].old, -1);
		if (!err)
			err = charge(q, &now, +1);
		q->t[i].ino = 0;
	}
	q->tn = 0;
	for (int type = 0; !err && type < PCW_MAXQUOTAS; type++) {
		struct dqhash *h = &q->dq[type];

		if (!q->qf[type])
			continue;
		for (i = 0; h->v && i <= h->mask && !err; i++) {
			struct dq *d = &h->v[i];

			if (d->used && (d->dspace || d->dinodes))
				err = apply(q, type, d, pfs->now);
			if (d->used)
				d->absent_noted = false;
		}
		q->absent[type] = 0;
		if (!err)
			err = pcw_qfile_flush(q->qf[type]);
	}
	update_reserve(q);
	if (err) {
		q->error = err;
		pfs->meta_error = true;
	}
	return err;
}

/* ---- project ids ------------------------------------------------------------------ */

errcode_t pcw_inode_init_projid(pcw_fs *pfs, ext2_ino_t parent,
				struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *dir;
	uint32_t projid = 0;
	errcode_t err;

	if (!ext2fs_has_feature_project(fs->super) || !has_projid(inode, isize))
		return 0;
	dir = calloc(1, pcw_inode_buf_size(fs));
	if (!dir)
		return ENOMEM;
	err = ext2fs_read_inode_full(fs, parent, (struct ext2_inode *)dir,
				     isize);
	if (!err && (dir->i_flags & EXT4_PROJINHERIT_FL)) {
		if (has_projid(dir, isize))
			projid = dir->i_projid;
		/* EXT4_FL_INHERITED, masked: only directories keep it. */
		if (LINUX_S_ISDIR(inode->i_mode))
			inode->i_flags |= EXT4_PROJINHERIT_FL;
	}
	free(dir);
	if (err)
		return err;
	if (pfs->set_project)
		projid = pfs->project;
	inode->i_projid = projid;
	/* Room for its entry (the write hook sees uid and gid only). */
	return pfs->dquot ? note_id(pfs->dquot, PCW_PRJQUOTA, projid) : 0;
}
