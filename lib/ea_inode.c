/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ea_inode.c: extended-attribute values kept in inodes of their own (the
 * ea_inode feature), counted and released as the kernel counts them.
 *
 * A value too large for the inode's body and its attribute block lives in
 * an EA inode (EXT4_EA_INODE_FL); the entry names it by e_value_inum.  Each
 * holder of such an entry, the owner's body or an attribute block, holds
 * one reference, counted in the EA inode itself (i_ctime high 32 bits,
 * i_version low 32: ext4_xattr_inode_get_ref).  The kernel shares an EA
 * inode between owners whose values are equal (by hash), and an attribute
 * block between owners whose attributes are equal (h_refcount).  e2fsck
 * 1.47 counts a shared block's references once, for all its owners, and
 * the kernel drops them once, with the block's last owner
 * (ext4_xattr_release_block); a kernel that reuses a cached block leaves
 * one per owner (6.x), which e2fsck reports.  pcwrite keeps e2fsck's count.
 *
 * The owner pays for the values: ext4_xattr_inode_alloc_quota charges
 * i_blocks, per reference, the value's size rounded up to a cluster, and
 * e2fsck (check_large_ea_inode, check_ext_attr) expects that, for the body's
 * references and for every reference of the attribute block, shared or not.
 *
 * libext2fs 1.47 creates EA inodes (ext2fs_xattr_set) and drops the
 * reference of a value it replaces or removes, but charges no owner, never
 * drops an owner's references when the owner goes (ext2fs_free_ext_attr
 * frees only the block), and copies a shared block without taking
 * references for the copy.  pcwrite wraps every libext2fs attribute change
 * here:
 *
 *  - before it (pcw_ea_change_begin): the room every value could need as an
 *    EA inode is checked, so that libext2fs never fails half-way; a shared
 *    block that holds references is copied first, the copy taking its own
 *    references (as ext4_xattr_block_set does with
 *    ext4_xattr_inode_inc_ref_all), so libext2fs sees a block of one owner;
 *    each EA inode the owner holds is pinned (one reference more), so that
 *    the ones libext2fs drops are freed by pcwrite's truncate, not by
 *    ext2fs_punch (truncate.c says why);
 *  - after it (pcw_ea_change_end): the pins are dropped, an EA inode left
 *    with no reference is freed (ext4_xattr_inode_dec_ref), and i_blocks
 *    changes by what the owner's charge changed.
 *
 * When the owner's last link goes, pcw_ea_release drops the body's
 * references and, if the owner was the block's last, the block's
 * (ext4_xattr_delete_inode, ext4_xattr_release_block).  pcw_ea_charge gives
 * what a truncated file still owes beside its data.
 *
 * Old Lustre-style EA inodes (no hash, a back pointer in i_mtime; the
 * kernel takes them as holding one reference) are refused.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extents.h"
#include "ea_refs.h"

/*
 * The EA inode's last reference is gone: its blocks, then the inode
 * (ext4_xattr_inode_dec_ref, then the inode's eviction).
 */
static errcode_t ea_inode_free(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode)
{
	ext2_filsys fs = pfs->fs;
	errcode_t err = 0;

	if (!(inode->i_flags & EXT4_INLINE_DATA_FL))
		err = pcw_truncate_blocks(fs, ino, inode);
	if (!err && ext2fs_file_acl_block(fs, (struct ext2_inode *)inode))
		err = ext2fs_free_ext_attr(fs, ino, inode);
	if (err)
		return err;
	inode->i_links_count = 0;
	inode->i_dtime = (uint32_t)pfs->now;
	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	return 0;
}

/* ext4_xattr_inode_update_ref: one reference more or less. */
static errcode_t ref_adjust(pcw_fs *pfs, ext2_ino_t ino, int delta)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode;
	__u64 ref;
	errcode_t err;

	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (err)
		return err;
	ref = ext2fs_get_ea_inode_ref((struct ext2_inode *)&inode);
	if (delta < 0 && ref < (__u64)-delta)
		return PCW_ET_CORRUPT;
	ref += delta;
	ext2fs_set_ea_inode_ref((struct ext2_inode *)&inode, ref);
	if (!ref)
		return ea_inode_free(pfs, ino, &inode);
	return ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&inode,
				       sizeof(inode));
}

/*
 * Give INO a block of its own in place of the shared one R holds: the
 * copy takes a reference on each EA inode it names, the shared block keeps
 * its own and loses an owner.  The owner's charge does not change (it paid
 * for the shared block and its values already).
 */
static errcode_t unshare(pcw_fs *pfs, ext2_ino_t ino, struct ea_refs *r)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_ext_attr_header *h = (void *)r->block;
	struct ext2_inode_large inode;
	blk64_t nb;
	size_t k;
	errcode_t err;

	err = ext2fs_new_block2(fs, ext2fs_find_inode_goal(fs, ino,
				(struct ext2_inode *)r->inode, 0), NULL, &nb);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		return ENOSPC;
	if (err)
		return err;
	h->h_refcount = 1;
	err = ext2fs_write_ext_attr3(fs, nb, r->block, ino);
	if (err)
		return err;
	ext2fs_block_alloc_stats2(fs, nb, +1);
	for (k = r->nbody; k < r->n; k++) {
		err = ref_adjust(pfs, r->v[k].ino, +1);
		if (err)
			return err;
	}
	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (err)
		return err;
	ext2fs_file_acl_block_set(fs, (struct ext2_inode *)&inode, nb);
	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&inode,
				      sizeof(inode));
	if (err)
		return err;
	h->h_refcount = r->refcount - 1;
	err = ext2fs_write_ext_attr3(fs, r->blk, r->block, ino);
	if (err)
		return err;
	r->blk = nb;
	r->refcount = 1;
	return 0;
}

/*
 * Room for the worst case of setting N values: each one an EA inode (a
 * value that does not fit the body or the block goes to one, whatever its
 * size) of its clusters and a tree block, one attribute block, and one
 * copy of a shared block.
 */
static errcode_t room(pcw_fs *pfs, const struct pcw_xattr *x, size_t n)
{
	ext2_filsys fs = pfs->fs;
	blk64_t need = 2;
	size_t k;

	for (k = 0; k < n; k++)
		need += pcw_ea_value_clusters(fs, x[k].size) + 1;
	if (fs->super->s_free_inodes_count < n)
		return ENOSPC;
	return pcw_fs_check_space(pfs, need);
}

errcode_t pcw_ea_change_begin(pcw_fs *pfs, ext2_ino_t ino,
			      const struct pcw_xattr *x, size_t n,
			      struct pcw_ea_change *c)
{
	ext2_filsys fs = pfs->fs;
	struct ea_refs r = { 0 };
	size_t k;
	errcode_t err;

	memset(c, 0, sizeof(*c));
	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	err = room(pfs, x, n);
	if (!err)
		err = pcw_ea_collect(fs, ino, &r);
	if (err)
		goto out;
	/* What the owner pays must be in i_blocks before any of it goes. */
	if (ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)r.inode) <
	    (r.charge + (r.blk ? 1 : 0)) * EXT2FS_CLUSTER_RATIO(fs) *
	    (fs->blocksize / 512)) {
		err = PCW_ET_CORRUPT;
		goto out;
	}
	c->charge = r.charge;
	c->active = true;
	if (!r.n)
		goto out;
	c->pinned = calloc(r.n, sizeof(*c->pinned));
	if (!c->pinned) {
		err = ENOMEM;
		c->active = false;
		goto out;
	}
	/* From here on a failure is a change made part-way. */
	if (r.refcount > 1 && r.nbody < r.n)
		err = unshare(pfs, ino, &r);
	for (k = 0; !err && k < r.n; k++) {
		err = ref_adjust(pfs, r.v[k].ino, +1);
		if (!err)
			c->pinned[c->npinned++] = r.v[k].ino;
	}
	if (err) {
		pfs->meta_error = true;
		while (c->npinned)
			ref_adjust(pfs, c->pinned[--c->npinned], -1);
		free(c->pinned);
		c->pinned = NULL;
		c->active = false;
	}
out:
	pcw_ea_refs_free(&r);
	return err;
}

errcode_t pcw_ea_change_end(pcw_fs *pfs, ext2_ino_t ino,
			    struct pcw_ea_change *c)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode;
	struct ea_refs r;
	errcode_t err = 0, err2;
	size_t k;

	if (!c->active)
		return 0;
	for (k = 0; k < c->npinned; k++) {
		err2 = ref_adjust(pfs, c->pinned[k], -1);
		if (!err)
			err = err2;
	}
	free(c->pinned);
	c->pinned = NULL;
	c->active = false;
	if (!err)
		err = pcw_ea_collect(fs, ino, &r);
	else
		memset(&r, 0, sizeof(r));
	if (!err && r.charge != c->charge) {
		memset(&inode, 0, sizeof(inode));
		err = ext2fs_read_inode_full(fs, ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode));
		if (!err && r.charge > c->charge)
			err = ext2fs_iblk_add_blocks(fs,
				(struct ext2_inode *)&inode,
				r.charge - c->charge);
		else if (!err)
			err = ext2fs_iblk_sub_blocks(fs,
				(struct ext2_inode *)&inode,
				c->charge - r.charge);
		if (!err)
			err = ext2fs_write_inode_full(fs, ino,
				(struct ext2_inode *)&inode, sizeof(inode));
	}
	pcw_ea_refs_free(&r);
	if (err)
		pfs->meta_error = true;
	return err;
}

errcode_t pcw_ea_release(pcw_fs *pfs, ext2_ino_t ino)
{
	ext2_filsys fs = pfs->fs;
	struct ea_refs r;
	size_t k, n;
	errcode_t err;

	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	err = pcw_ea_collect(fs, ino, &r);
	/* A shared block keeps its references for its other owners. */
	n = r.refcount > 1 ? r.nbody : r.n;
	for (k = 0; !err && k < n; k++)
		err = ref_adjust(pfs, r.v[k].ino, -1);
	pcw_ea_refs_free(&r);
	return err;
}
