/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ea_refs.h: an owner's references to EA inodes (ea_refs.c, ea_inode.c). */
#ifndef PCW_EA_REFS_H
#define PCW_EA_REFS_H

struct ea_ref {
	ext2_ino_t	ino;		/* the EA inode */
	blk64_t		clusters;	/* the owner's charge for it */
};

/* The references an owner holds, in its body and in its block. */
struct ea_refs {
	struct ea_ref	*v;
	size_t		n, cap;
	size_t		nbody;		/* v[0, nbody) are the body's */
	blk64_t		charge;		/* clusters, body and block */
	blk64_t		blk;		/* the attribute block, or 0 */
	__u32		refcount;	/* its h_refcount */
	char		*block;		/* its contents (blocksize) */
	struct ext2_inode_large *inode;	/* the owner, whole */
};

void pcw_ea_refs_free(struct ea_refs *r);
blk64_t pcw_ea_value_clusters(ext2_filsys fs, uint64_t size);
errcode_t pcw_ea_collect(ext2_filsys fs, ext2_ino_t ino, struct ea_refs *r);

#endif /* PCW_EA_REFS_H */
