/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quota.h: quota usage kept by libpcwrite (lib/ only).
 *
 * Two rooms, as the kernel has them: quota_tree.c is one quota file in the
 * v2 format (fs/quota/quota_tree.c and quota_v2.c: a header, an info block,
 * a radix tree of four levels of 256 references, data blocks of 72-byte
 * v2r1 entries, the lists of free blocks and of blocks with free entries);
 * dquot.c is the accounting (fs/quota/dquot.c): what each inode pcwrite
 * writes costs its user, group and project, and the write of the changes
 * at each commit.
 */
#ifndef PCW_QUOTA_H
#define PCW_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>

#include "pcwrite.h"

enum { PCW_USRQUOTA, PCW_GRPQUOTA, PCW_PRJQUOTA, PCW_MAXQUOTAS };

/* ---- quota_tree.c: one quota file ------------------------------------------ */

/* The fields of a v2r1 entry that pcwrite reads or changes. */
struct pcw_dqblk {
	uint32_t	id;
	uint64_t	ihardlimit, isoftlimit, curinodes;
	uint64_t	bhardlimit, bsoftlimit;	/* in 1 KiB quota blocks */
	uint64_t	curspace;		/* bytes */
	uint64_t	btime, itime;		/* grace deadlines, or 0 */
};

struct pcw_qfile;

/*
 * The quota file of TYPE in inode INO: its inode, block map, header and
 * info block (its tree is read as lookups need it).  PCW_ET_QUOTA when it
 * is not a v2r1 file pcwrite can update.
 */
errcode_t pcw_qfile_open(ext2_filsys fs, int type, ext2_ino_t ino,
			 struct pcw_qfile **ret);
void pcw_qfile_free(struct pcw_qfile *qf);
/* The byte offset of ID's entry in the file, or 0 when it has none. */
errcode_t pcw_qfile_find(struct pcw_qfile *qf, uint32_t id, uint64_t *off);
/* A new, zeroed entry for ID (which has none), placed in the tree. */
errcode_t pcw_qfile_insert(struct pcw_qfile *qf, uint32_t id, uint64_t *off);
/* Take ID's entry at OFF out of the tree (the kernel's release of a dquot
   with neither usage nor limits). */
errcode_t pcw_qfile_delete(struct pcw_qfile *qf, uint32_t id, uint64_t off);
errcode_t pcw_qfile_get(struct pcw_qfile *qf, uint64_t off,
			struct pcw_dqblk *d);
errcode_t pcw_qfile_put(struct pcw_qfile *qf, uint64_t off,
			const struct pcw_dqblk *d);
/* The grace periods of the info block, in seconds. */
void pcw_qfile_grace(const struct pcw_qfile *qf, uint32_t *bgrace,
		     uint32_t *igrace);
/*
 * Quota blocks appended since the last flush, beyond what the file's
 * blocks already hold: what a flush may still have to allocate, in blocks.
 */
blk64_t pcw_qfile_growth(const struct pcw_qfile *qf, unsigned new_qblocks);
/*
 * Everything changed to the image through fs->io: blocks past the end get
 * blocks of their own (mapped, i_blocks and i_size updated, the inode
 * written), then the changed blocks are written.
 */
errcode_t pcw_qfile_flush(struct pcw_qfile *qf);

/* ---- dquot.c: the accounting ------------------------------------------------ */

struct pcw_dquot;

/*
 * The quota files are ones pcwrite can update (fs.c: between
 * pcw_check_state and pcw_check_layout, and again once the system zone is
 * built).
 */
errcode_t pcw_quota_check(ext2_filsys fs);
/*
 * The first write of a run: open the quota files and watch every inode
 * write of PFS's filesystem (libext2fs's write_inode hook), so that every
 * change of an inode's blocks, owner or existence is charged, whoever
 * made it (pcwrite, or libext2fs's extent, xattr and directory code).
 */
errcode_t pcw_dquot_open(pcw_fs *pfs);
/* Commit: the usage changed since the last sync into the quota files. */
errcode_t pcw_dquot_sync(pcw_fs *pfs);
void pcw_dquot_free(pcw_fs *pfs);
/*
 * A new inode's project id, as __ext4_new_inode() sets it: --project, or
 * the parent's id when the parent has EXT4_PROJINHERIT_FL (a new directory
 * inherits that flag too), else 0.
 */
errcode_t pcw_inode_init_projid(pcw_fs *pfs, ext2_ino_t parent,
				struct ext2_inode_large *inode);
/*
 * Attribute values INODE keeps in inodes of their own (ea_inode), in its
 * extra space and its attribute block (read into BBUF, a block): how many,
 * and their clusters (the kernel's round_up_cluster of each value).
 */
errcode_t pcw_ea_inode_usage(ext2_filsys fs, ext2_ino_t ino,
			     const struct ext2_inode_large *inode,
			     unsigned char *bbuf, unsigned *count,
			     blk64_t *clusters);

#endif /* PCW_QUOTA_H */
