/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dir_list.c: the names a directory holds, read through the run's cache
 * (readdir; the kernel's ext4_readdir and ext4_dx_readdir).
 *
 * A list is a snapshot: the caller may then remove the names one by one
 * (rm -r) without the walk running over blocks it is changing.  A linear
 * directory's names come from the cache's hash table (loaded once); an
 * indexed one's from its leaf blocks, read through the block cache, so
 * what this run changed is what is seen; an inline one's from the inode.
 * The kernel hands an indexed directory's names out in hash order
 * (ext4_dx_readdir), pcwrite in block order: the caller needs the set,
 * not the order.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"

static bool is_dot(const char *name, unsigned len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static errcode_t list_add(struct pcw_dir_list *l, const char *name,
			  unsigned len, ext2_ino_t ino, int ftype)
{
	struct pcw_dir_item *it;
	errcode_t err;

	if (is_dot(name, len))
		return 0;
	err = pcw_grow(&l->items, &l->cap, l->n + 1, sizeof(*it), 32);
	if (!err)
		err = pcw_grow(&l->strings, &l->scap, l->slen + len + 1, 1, 1024);
	if (err)
		return err;
	it = &l->items[l->n++];
	it->ino = ino;
	it->ftype = ftype;
	it->off = l->slen;
	memcpy(l->strings + l->slen, name, len);
	l->strings[l->slen + len] = 0;
	l->slen += len + 1;
	return 0;
}

struct inline_list {
	struct pcw_dir_list	*l;
	errcode_t		err;
};

static int inline_cb(struct ext2_dir_entry *de, void *arg)
{
	struct inline_list *il = arg;

	il->err = list_add(il->l, de->name, ext2fs_dirent_name_len(de),
			   de->inode, ext2fs_dirent_file_type(de));
	return il->err != 0;
}

/* The live names of one block of an indexed directory. */
static errcode_t list_block(pcw_fs *pfs, struct pcw_dir *d, uint32_t lblk,
			    unsigned char *buf, struct pcw_dir_list *l)
{
	ext2_filsys fs = pfs->fs;
	unsigned end = pcw_dir_leaf_end(fs), off, rec_len;
	struct ext2_dir_entry *de;
	errcode_t err;

	/* Block 0, the root, holds "." and ".." before its index. */
	if (lblk == 0)
		return 0;
	err = pcw_dir_read_block(pfs, d, lblk, buf);
	if (err)
		return err;
	/*
	 * An index node is one empty record over the whole block (its
	 * entries inside it); so is an emptied leaf without checksums.
	 */
	de = pcw_dirent_at(buf, 0);
	if (!de->inode && (ext2fs_get_rec_len(fs, de, &rec_len) ||
			   rec_len >= end))
		return 0;
	if (!pcw_dir_tail_ok(fs, buf))
		return PCW_ET_CORRUPT;
	for (off = 0; off < end; off += rec_len) {
		err = pcw_rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		de = pcw_dirent_at(buf, off);
		if (!de->inode)
			continue;
		if (de->inode > fs->super->s_inodes_count)
			return PCW_ET_CORRUPT;
		err = list_add(l, de->name, ext2fs_dirent_name_len(de),
			       de->inode, ext2fs_dirent_file_type(de));
		if (err)
			return err;
	}
	return 0;
}

errcode_t pcw_dir_list(pcw_fs *pfs, struct pcw_dir *d, struct pcw_dir_list *l)
{
	uint32_t k;
	errcode_t err = 0;

	memset(l, 0, sizeof(*l));
	if (d->inline_data) {
		struct inline_list il = { l, 0 };

		err = pcw_dir_inline_each(pfs, d, inline_cb, &il);
		if (!err)
			err = il.err;
	} else if (d->htree) {
		for (k = 0; !err && k < d->nblocks; k++)
			err = list_block(pfs, d, k, pfs->dcache->buf[4], l);
	} else {
		for (k = 0; !err && d->names && k <= d->nmask; k++) {
			const struct dir_name *n = &d->names[k];

			if (n->ino && n->ino != DIR_NAME_DELETED)
				err = list_add(l, d->strings + n->off, n->len,
					       n->ino, n->ftype);
		}
	}
	if (err)
		pcw_dir_list_free(l);
	return err;
}

void pcw_dir_list_free(struct pcw_dir_list *l)
{
	free(l->items);
	free(l->strings);
	memset(l, 0, sizeof(*l));
}
