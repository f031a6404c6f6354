/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xattr.c: attribute values kept in inodes of their own (the ea_inode
 * feature), where libext2fs's xattr writer and the kernel differ.
 *
 * The kernel charges such a value to the inode that holds the attribute:
 * ext4_xattr_inode_alloc_quota() adds one inode and the value's clusters to
 * its quota and so to its i_blocks, and e2fsck checks that i_blocks.  When
 * an inode is deleted, ext4_xattr_delete_inode() drops its references to
 * those inodes and frees the ones no one else uses.  libext2fs 1.47 does
 * neither: these helpers do it around its calls.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "quota.h"

errcode_t pcw_xattr_inode_clusters(ext2_filsys fs, ext2_ino_t ino,
				   blk64_t *clusters)
{
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *inode;
	unsigned char *bbuf;
	unsigned refs;
	errcode_t err;

	*clusters = 0;
	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	inode = calloc(1, isize > sizeof(*inode) ? isize : sizeof(*inode));
	bbuf = malloc(fs->blocksize);
	err = inode && bbuf ? 0 : ENOMEM;
	if (!err)
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
					     isize);
	if (!err)
		err = pcw_ea_inode_usage(fs, ino, inode, bbuf, &refs, clusters);
	free(inode);
	free(bbuf);
	return err;
}

errcode_t pcw_xattr_charge_inodes(ext2_filsys fs, ext2_ino_t ino,
				  blk64_t before)
{
	struct ext2_inode_large inode;
	blk64_t after;
	errcode_t err = pcw_xattr_inode_clusters(fs, ino, &after);

	if (err || after == before)
		return err;
	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (!err)
		err = after > before ?
		      ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)&inode,
					     after - before) :
		      ext2fs_iblk_sub_blocks(fs, (struct ext2_inode *)&inode,
					     before - after);
	if (!err)
		err = ext2fs_write_inode_full(fs, ino,
					      (struct ext2_inode *)&inode,
					      sizeof(inode));
	return err;
}

struct names {
	char	**v;
	size_t	n, cap;
	bool	nomem;
};

static int collect(char *name, char *value, size_t value_len, void *data)
{
	struct names *ns = data;

	(void)value;
	(void)value_len;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, cap * sizeof(*v));

		if (!v) {
			ns->nomem = true;
			return XATTR_ABORT;
		}
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(name);
	if (!ns->v[ns->n]) {
		ns->nomem = true;
		return XATTR_ABORT;
	}
	ns->n++;
	return 0;
}

errcode_t pcw_xattr_drop_inodes(ext2_filsys fs, ext2_ino_t ino,
				struct ext2_inode_large *inode)
{
	struct ext2_xattr_handle *h;
	struct names ns = { NULL, 0, 0, false };
	blk64_t before;
	size_t k;
	errcode_t err, err2;

	err = pcw_xattr_inode_clusters(fs, ino, &before);
	if (err || !before)
		return err;
	err = ext2fs_xattrs_open(fs, ino, &h);
	if (err)
		return err;
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattrs_iterate(h, collect, &ns);
	if (!err && ns.nomem)
		err = ENOMEM;
	for (k = 0; !err && k < ns.n; k++)
		err = ext2fs_xattr_remove(h, ns.v[k]);
	err2 = ext2fs_xattrs_close(&h);
	if (!err)
		err = err2;
	for (k = 0; k < ns.n; k++)
		free(ns.v[k]);
	free(ns.v);
	if (!err)
		err = pcw_xattr_charge_inodes(fs, ino, before);
	if (!err)
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
					     sizeof(*inode));
	return err;
}
