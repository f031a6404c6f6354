/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ea_refs.c: the references to EA inodes an owner holds, read and checked
 * (the read side of ea_inode.c, which says how the kernel and e2fsck count
 * them), and what they cost the owner: pcw_ea_charge, which truncate.c
 * asks what a truncated file still owes beside its data.  Nothing here
 * changes the image.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extents.h"
#include "ea_refs.h"

void pcw_ea_refs_free(struct ea_refs *r)
{
	free(r->v);
	free(r->block);
	free(r->inode);
	memset(r, 0, sizeof(*r));
}

blk64_t pcw_ea_value_clusters(ext2_filsys fs, uint64_t size)
{
	uint64_t cluster = (uint64_t)fs->blocksize << fs->cluster_ratio_bits;

	return (size + cluster - 1) / cluster;
}

/*
 * The EA inode an entry names, checked as e2fsck checks it: a number in
 * range, an inode in use with EA_INODE_FL and a reference, and the entry's
 * hash made from the EA inode's (else a Lustre back pointer or damage).
 */
static errcode_t ref_check(ext2_filsys fs, ext2_ino_t owner,
			   const struct ext2_inode_large *oi,
			   struct ext2_ext_attr_entry *e, blk64_t *clusters)
{
	struct ext2_inode_large ea;
	__u32 hash, signed_hash;
	errcode_t err;

	if (e->e_value_inum < EXT2_FIRST_INODE(fs->super) ||
	    e->e_value_inum > fs->super->s_inodes_count ||
	    e->e_value_offs != 0)
		return PCW_ET_CORRUPT;
	if (fs->inode_map &&
	    !ext2fs_test_inode_bitmap2(fs->inode_map, e->e_value_inum))
		return PCW_ET_CORRUPT;
	memset(&ea, 0, sizeof(ea));
	err = ext2fs_read_inode_full(fs, e->e_value_inum,
				     (struct ext2_inode *)&ea, sizeof(ea));
	/* Its map and xattr block off metadata, as ext4_iget checks them. */
	if (!err)
		err = pcw_iget_check(fs, &ea);
	if (err)
		return err;
	err = ext2fs_ext_attr_hash_entry3(fs, e, NULL, &hash, &signed_hash);
	if (err)
		return err;
	if (e->e_hash != hash && e->e_hash != signed_hash)
		return ea.i_mtime == owner &&
		       ea.i_generation == oi->i_generation ?
		       PCW_ET_UNSUPP_INODE : PCW_ET_CORRUPT;
	if (!(ea.i_flags & EXT4_EA_INODE_FL) || !ea.i_links_count ||
	    !ext2fs_get_ea_inode_ref((struct ext2_inode *)&ea))
		return PCW_ET_CORRUPT;
	*clusters = pcw_ea_value_clusters(fs, e->e_value_size);
	return 0;
}

/* Every entry of [start, end) that names an EA inode, into R. */
static errcode_t scan(ext2_filsys fs, ext2_ino_t owner, char *start,
		      char *end, struct ea_refs *r)
{
	struct ext2_ext_attr_entry *e = (void *)start;
	errcode_t err;

	while ((char *)e + sizeof(__u32) <= end && !EXT2_EXT_IS_LAST_ENTRY(e)) {
		if ((char *)e + sizeof(*e) > end ||
		    (char *)e + EXT2_EXT_ATTR_LEN(e->e_name_len) > end)
			return PCW_ET_CORRUPT;
		if (e->e_value_inum) {
			blk64_t c;

			err = ref_check(fs, owner, r->inode, e, &c);
			if (err)
				return err;
			err = pcw_grow(&r->v, &r->cap, r->n + 1,
				       sizeof(*r->v), 4);
			if (err)
				return err;
			r->v[r->n].ino = e->e_value_inum;
			r->v[r->n].clusters = c;
			r->n++;
			r->charge += c;
		}
		e = EXT2_EXT_ATTR_NEXT(e);
	}
	return 0;
}

/* The references INO holds, with its whole inode and its block. */
errcode_t pcw_ea_collect(ext2_filsys fs, ext2_ino_t ino, struct ea_refs *r)
{
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	size_t size = pcw_inode_buf_size(fs);
	struct ext2_ext_attr_header *h;
	errcode_t err;

	memset(r, 0, sizeof(*r));
	r->inode = calloc(1, size);
	if (!r->inode)
		return ENOMEM;
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)r->inode,
				     isize);
	if (err)
		return err;
	/* The body: a magic word after i_extra_isize, then the entries. */
	if (isize > EXT2_GOOD_OLD_INODE_SIZE &&
	    !(r->inode->i_extra_isize & 3) &&
	    EXT2_GOOD_OLD_INODE_SIZE + r->inode->i_extra_isize +
	    sizeof(__u32) <= isize) {
		char *p = (char *)r->inode + EXT2_GOOD_OLD_INODE_SIZE +
			  r->inode->i_extra_isize;
		__u32 magic;

		memcpy(&magic, p, sizeof(magic));
		if (magic == EXT2_EXT_ATTR_MAGIC) {
			err = scan(fs, ino, p + sizeof(magic),
				   (char *)r->inode + isize, r);
			if (err)
				return err;
		}
	}
	r->nbody = r->n;
	r->blk = ext2fs_file_acl_block(fs, (struct ext2_inode *)r->inode);
	if (!r->blk)
		return 0;
	/* In the filesystem and off metadata: it may be written back. */
	if (pcw_inode_block_valid(fs, r->blk, 1))
		return PCW_ET_CORRUPT;
	r->block = malloc(fs->blocksize);
	if (!r->block)
		return ENOMEM;
	err = ext2fs_read_ext_attr3(fs, r->blk, r->block, ino);
	if (err)
		return err;
	h = (struct ext2_ext_attr_header *)r->block;
	if (h->h_magic != EXT2_EXT_ATTR_MAGIC || h->h_blocks != 1 ||
	    !h->h_refcount)
		return PCW_ET_CORRUPT;
	r->refcount = h->h_refcount;
	return scan(fs, ino, (char *)(h + 1), r->block + fs->blocksize, r);
}

errcode_t pcw_ea_charge(ext2_filsys fs, ext2_ino_t ino, blk64_t *clusters)
{
	struct ea_refs r;
	errcode_t err;

	*clusters = 0;
	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	err = pcw_ea_collect(fs, ino, &r);
	if (!err)
		*clusters = r.charge;
	pcw_ea_refs_free(&r);
	return err;
}
