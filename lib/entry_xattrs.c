/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry_xattrs.c: an entry's extended attributes onto its inode (-x, -R),
 * values in EA inodes charged to it; also the overlay whiteout's opaque
 * mark (whiteout.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

/*
 * Every extended attribute of the entry, after the inode is written (the
 * xattr writer reads and rewrites it).  One the image cannot hold stops
 * the entry: a binary that loses its file capabilities is a broken image.
 */
errcode_t pcw_entry_set_xattrs(pcw_fs *pfs, ext2_ino_t ino,
			       const struct pcw_entry *e)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_xattr_handle *h;
	struct pcw_ea_change c;
	bool part_way = false;
	size_t k;
	errcode_t err, err2;

	if (!e->nxattrs)
		return 0;
	if (!ext2fs_has_feature_xattr(fs->super))
		return PCW_ET_NO_XATTR;
	/* setxattr(2)'s XATTR_SIZE_MAX: no kernel reads a larger value. */
	for (k = 0; k < e->nxattrs; k++)
		if (e->xattrs[k].size > 65536)
			return PCW_ET_XATTR_TOO_BIG;
	/* Values in EA inodes: charged to INO, none left unreferenced. */
	err = pcw_ea_change_begin(pfs, ino, e->xattrs, e->nxattrs, &c);
	if (err)
		return err;
	err = ext2fs_xattrs_open(fs, ino, &h);
	if (!err) {
		err = ext2fs_xattrs_read(h);
		for (k = 0; !err && k < e->nxattrs; k++) {
			err = ext2fs_xattr_set(h, e->xattrs[k].name,
					       e->xattrs[k].value,
					       e->xattrs[k].size);
			/*
			 * ext2fs_xattr_set measures the room (EA_NO_SPACE)
			 * and converts an ACL (EINVAL) before it writes
			 * anything: the attributes set before it stay,
			 * whole, and the filesystem is consistent.  Its
			 * other errors can come from a write.
			 */
			if (err && err != EXT2_ET_EA_NO_SPACE && err != EINVAL)
				part_way = true;
		}
		err2 = ext2fs_xattrs_close(&h);
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
	return err;
}

