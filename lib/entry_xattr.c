/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry_xattr.c: an entry's extended attributes and ACLs onto its inode
 * (entry.c makes the inode, this sets what the archive or tree carried).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "quota.h"

/* What a name held before the entry's attributes were set (NULL: none). */
struct old_value {
	void		*value;
	size_t		len;
};

/*
 * The values the first K names held before, back in H: an entry whose
 * attributes do not all fit gets none of them, so that a directory merged
 * or a hard link's inode (which other names share) is as it was, and an
 * entry skipped leaves no trace.  Removing a value or putting back one that
 * fitted before needs no room it did not have.
 */
static errcode_t put_back(struct ext2_xattr_handle *h,
			  const struct pcw_xattr *x, struct old_value *old,
			  size_t k)
{
	errcode_t err = 0, err2;

	while (k--) {
		err2 = old[k].value ?
		       ext2fs_xattr_set(h, x[k].name, old[k].value, old[k].len) :
		       ext2fs_xattr_remove(h, x[k].name);
		if (err2 == EXT2_ET_EA_KEY_NOT_FOUND)
			err2 = 0;
		if (!err)
			err = err2;
	}
	return err;
}

/*
 * The values are put back, and they held no attribute block before: the
 * block the refused ones made holds nothing now (libext2fs 1.47 keeps an
 * empty one), so it goes, as the kernel drops an empty block.
 */
static errcode_t drop_empty_block(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (err || !ext2fs_file_acl_block(fs, (struct ext2_inode *)&inode))
		return err;
	err = ext2fs_free_ext_attr(fs, ino, &inode);
	if (!err)
		err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&inode,
					      sizeof(inode));
	return err;
}

static errcode_t read_old(struct ext2_xattr_handle *h,
			  const struct pcw_xattr *x, size_t n,
			  struct old_value *old)
{
	size_t k;
	errcode_t err;

	for (k = 0; k < n; k++) {
		err = ext2fs_xattr_get(h, x[k].name, &old[k].value,
				       &old[k].len);
		if (err == EXT2_ET_EA_KEY_NOT_FOUND) {
			old[k].value = NULL;
			err = 0;
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * Every extended attribute of the entry, after the inode is written (the
 * xattr writer reads and rewrites it).  One the image cannot hold stops
 * the entry: a binary that loses its file capabilities is a broken image.
 */
errcode_t pcw_entry_set_xattrs(pcw_fs *pfs, ext2_ino_t ino,
			       const struct pcw_xattr *x, size_t n)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_xattr_handle *h;
	struct pcw_ea_change c;
	struct old_value *old;
	struct ext2_inode inode;
	bool part_way = false, restored = false, had_block;
	size_t k;
	errcode_t err, err2;

	if (!n)
		return 0;
	if (!ext2fs_has_feature_xattr(fs->super))
		return PCW_ET_NO_XATTR;
	/* setxattr(2)'s XATTR_SIZE_MAX: no kernel reads a larger value. */
	for (k = 0; k < n; k++)
		if (x[k].size > 65536)
			return PCW_ET_XATTR_TOO_BIG;
	err = ext2fs_read_inode(fs, ino, &inode);
	if (err)
		return err;
	had_block = ext2fs_file_acl_block(fs, &inode) != 0;
	old = calloc(n, sizeof(*old));
	if (!old)
		return ENOMEM;
	/* Values in EA inodes: charged to INO, none left unreferenced. */
	err = pcw_ea_change_begin(pfs, ino, x, n, &c);
	if (err) {
		free(old);
		return err;
	}
	err = ext2fs_xattrs_open(fs, ino, &h);
	if (!err) {
		err = ext2fs_xattrs_read(h);
		if (!err)
			err = read_old(h, x, n, old);
		for (k = 0; !err && k < n; k++) {
			err = ext2fs_xattr_set(h, x[k].name,
					       x[k].value,
					       x[k].size);
			/*
			 * ext2fs_xattr_set measures the room (EA_NO_SPACE)
			 * and converts an ACL (EINVAL) before it writes
			 * anything: the attributes set before it stay,
			 * whole, and the filesystem is consistent.  Its
			 * other errors can come from a write.
			 */
			if (err && err != EXT2_ET_EA_NO_SPACE && err != EINVAL)
				part_way = true;
			if (err == EINVAL)
				err = PCW_ET_BAD_ACL;
			/* all of them or none */
			if (err && !part_way && k) {
				if (put_back(h, x, old, k))
					part_way = true;
				else
					restored = true;
			}
		}
		err2 = ext2fs_xattrs_close(&h);
		if (!err2 && restored && !had_block)
			err2 = drop_empty_block(fs, ino);
		if (err2)
			part_way = true;
		if (!err)
			err = err2;
	}
	/* pcw_ea_change_end marks a failure of its own itself. */
	err2 = pcw_ea_change_end(pfs, ino, &c);
	if (!err)
		err = err2;
	if (err == EXT2_ET_EA_NO_SPACE || err == EXT2_ET_EA_KEY_NOT_FOUND ||
	    err == EXT2_ET_EA_INODE_CORRUPTED)
		err = PCW_ET_XATTR_SPACE;
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		err = ENOSPC;
	if (part_way)
		pfs->meta_error = true;
	for (k = 0; k < n; k++)
		if (old[k].value)
			ext2fs_free_mem(&old[k].value);
	free(old);
	return err;
}

