/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * atomic.c: --atomic, a file replaced the way rename(2) over an O_TMPFILE
 * file replaces it on a mounted ext4; and, with the journal, every regular
 * file -x or -R replaces (entry_make.c's pcw_tree_replace_file: the
 * entry's attributes, not the old file's, and the swap batched with the
 * tree's transaction, see pcw_atomic_swap).
 *
 * The kernel's recipe (open(O_TMPFILE), write, linkat or renameat): the
 * new contents go into an inode no directory names, kept on the orphan
 * list (ext4_orphan_add from ext4_tmpfile) so that a crash frees it; the
 * name is then switched to it, the inode taken off the orphan list and
 * the old inode's link dropped, all inside one jbd2 handle (ext4_rename
 * starts one handle for the whole of it).  Here: pcw_atomic_begin makes
 * the inode and puts it on the list, the caller writes it through an
 * ordinary mapping (whose finish commits: the data and the orphan are on
 * disk), and pcw_atomic_swap makes every change of the switch and commits
 * it as one transaction.  A crash before that commit is durable replays to
 * the old name and an orphan that replay (e2fsck, or the kernel's
 * ext4_orphan_cleanup) frees; after it, to the new file.
 *
 * The old inode, at its last link, is freed in the swap's own transaction
 * when that has room for it (the inode, the bitmaps and descriptors of the
 * groups it has blocks in, revokes for its tree blocks); else, as
 * ext4_rename leaves it for ext4_evict_inode, it goes on the orphan list
 * in the swap's transaction and is freed after its commit, in transactions
 * of its own (inode.c's release_later).  The orphan is always on the classic list
 * (s_last_orphan, i_dtime the next one), which the kernel and e2fsck also
 * process on a filesystem with orphan_file.  Needs the journal: the caller
 * refuses --atomic without one (in place, the switch is several writes).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "io.h"

struct pcw_atomic {
	pcw_fs		*pfs;
	ext2_ino_t	old;		/* the file replaced, or 0 */
	ext2_ino_t	ino;		/* the new inode, on the orphan list */
	ext2_ino_t	parent;		/* the directory that gets the name */
	char		name[PCW_NAME_MAX + 1];
	bool		batched;	/* -x/-R: the swap joins the open
					   transaction; the tree commits it */
};

/* What fill_parent does for a new file's directories: -u and -g. */
static void fill_owner(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_file_params *fp = arg;

	if (fp->flags & PCW_FILE_SET_UID)
		pcw_inode_set_owner(inode, fp->uid, inode_gid(*inode));
	if (fp->flags & PCW_FILE_SET_GID)
		pcw_inode_set_owner(inode, inode_uid(*inode), fp->gid);
}

struct collect {
	struct pcw_xattr *x;
	size_t		n;
};

static int collect_one(char *name, char *value, size_t size, void *data)
{
	struct collect *col = data;

	col->x[col->n].name = name;
	col->x[col->n].value = value;
	col->x[col->n].size = size;
	col->n++;
	return 0;
}

/* The old inode's attributes, every one, on the new one. */
static errcode_t copy_xattrs(pcw_fs *pfs, ext2_ino_t from, ext2_ino_t to)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_xattr_handle *src = NULL, *dst = NULL;
	struct pcw_xattr *x = NULL;
	struct pcw_ea_change c;
	struct collect col = { NULL, 0 };
	size_t n = 0, k;
	errcode_t err, err2;

	if (!ext2fs_has_feature_xattr(fs->super))
		return 0;
	err = ext2fs_xattrs_open(fs, from, &src);
	if (!err)
		err = ext2fs_xattrs_read(src);
	if (!err)
		err = ext2fs_xattrs_count(src, &n);
	if (err || !n)
		goto out;
	x = calloc(n, sizeof(*x));
	if (!x) {
		err = ENOMEM;
		goto out;
	}
	/* The names and values stay in SRC's memory until it closes. */
	col.x = x;
	err = ext2fs_xattrs_iterate(src, collect_one, &col);
	n = col.n;
	if (err)
		goto out;
	err = pcw_ea_change_begin(pfs, to, x, n, &c);
	if (err)
		goto out;
	err = ext2fs_xattrs_open(fs, to, &dst);
	if (!err)
		err = ext2fs_xattrs_read(dst);
	for (k = 0; !err && k < n; k++)
		err = ext2fs_xattr_set(dst, x[k].name, x[k].value, x[k].size);
	if (dst) {
		err2 = ext2fs_xattrs_close(&dst);
		if (!err)
			err = err2;
	}
	err2 = pcw_ea_change_end(pfs, to, &c);
	if (!err)
		err = err2;
	if (err == EXT2_ET_EA_NO_SPACE)
		err = PCW_ET_XATTR_SPACE;
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		err = ENOSPC;
out:
	free(x);
	if (src)
		ext2fs_xattrs_close(&src);
	return err;
}

/*
 * The unnamed inode: MODE, FILL's attributes, i_nlink 0 and on the orphan
 * list, as ext4_tmpfile makes it; to be named NAME in PARENT, replacing
 * OLD (or 0).
 */
static errcode_t make_tmpfile(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			 ext2_ino_t old, unsigned mode, pcw_fill_fn fill,
			 void *arg, struct pcw_atomic **ret)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large *inode;
	struct pcw_atomic *a;
	errcode_t err;

	a = calloc(1, sizeof(*a));
	/* Whole: pcw_inode_alloc and pcw_inode_commit_new use every byte. */
	inode = calloc(1, pcw_inode_buf_size(fs));
	if (!a || !inode) {
		free(a);
		free(inode);
		return ENOMEM;
	}
	a->pfs = pfs;
	a->old = old;
	a->parent = parent;
	strcpy(a->name, name);
	err = pcw_inode_alloc(pfs, parent, mode, inode, &a->ino);
	if (!err && ext2fs_has_feature_extents(fs->super))
		err = pcw_init_extent_tree(fs, a->ino, inode);
	if (!err) {
		fill(inode, arg);
		/* No name: O_TMPFILE's i_nlink 0, on the orphan list. */
		inode->i_links_count = 0;
		pcw_orphan_add(fs, a->ino, inode);
		err = pcw_inode_commit_new(pfs, a->ino, inode);
	}
	free(inode);
	if (err) {
		free(a);
		return err;
	}
	*ret = a;
	return 0;
}

/* --atomic's new inode: the old file's owner, then -u and -g. */
struct begin_fill {
	const struct ext2_inode_large	*old;	/* or NULL */
	const struct pcw_file_params	*fp;
};

static void fill_begin(struct ext2_inode_large *inode, void *arg)
{
	const struct begin_fill *bf = arg;

	if (bf->old)
		pcw_inode_set_owner(inode, inode_uid(*bf->old),
				    inode_gid(*bf->old));
	fill_owner(inode, (void *)bf->fp);
}

errcode_t pcw_atomic_begin(pcw_fs *pfs, const struct pcw_dest *d,
			   const struct pcw_file_params *fp,
			   struct pcw_atomic **ret, struct pcw_dest *tmp)
{
	struct ext2_inode_large old;
	struct begin_fill bf = { NULL, fp };
	struct pcw_atomic *a;
	ext2_filsys fs;
	ext2_ino_t parent = d->parent;
	unsigned mode;
	errcode_t err;

	*ret = NULL;
	memset(tmp, 0, sizeof(*tmp));
	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	fs = pfs->fs;
	if (strlen(d->name) > EXT2_NAME_LEN)
		return PCW_ET_NAME_TOO_LONG;
	memset(&old, 0, sizeof(old));
	if (d->ino) {
		err = ext2fs_read_inode_full(fs, d->ino, (struct ext2_inode *)&old,
					     sizeof(old));
		if (!err)
			err = pcw_iget_check(fs, &old);
		/* As open(O_TRUNC), chmod and chown would ask (may.c). */
		if (!err)
			err = pcw_may_write(&old, false);
		if (!err && (fp->flags & (PCW_FILE_SET_MODE | PCW_FILE_SET_UID |
					  PCW_FILE_SET_GID)))
			err = pcw_may_setattr(&old);
		if (err)
			return err;
		bf.old = &old;
	} else {
		err = pcw_file_check_new(pfs, d);
		if (err)
			return err;
	}
	err = pcw_fs_begin_write(pfs);
	if (err)
		return err;
	fs = pfs->fs;	/* --undo opens the image anew */
	if (!pcw_io_journaled(fs))
		return PCW_ET_ATOMIC_NO_JOURNAL;
	if (d->missing) {
		err = pcw_make_dirs(pfs, d, fill_owner, (void *)fp, &parent);
		if (err)
			return err;
	}

	mode = LINUX_S_IFREG | (d->ino ? (old.i_mode & 07777) : 0644);
	if (fp->flags & PCW_FILE_SET_MODE)
		mode = LINUX_S_IFREG | (fp->mode & 07777);
	err = make_tmpfile(pfs, parent, d->name, d->ino, mode, fill_begin, &bf, &a);
	if (err)
		return err;
	if (d->ino) {
		err = copy_xattrs(pfs, d->ino, a->ino);
		if (err) {
			pcw_atomic_abort(a);
			return err;
		}
	}
	tmp->ino = a->ino;
	tmp->parent = parent;
	strcpy(tmp->name, d->name);
	*ret = a;
	return 0;
}

/*
 * -x and -R: NAME in PD, now the regular file OLD, to be replaced by a new
 * regular file the way --atomic replaces one.  Refused up front as
 * unlink(2) and creat(2) would be (the swap unlinks and links), so that a
 * refusal comes before the entry's data is read.
 */
errcode_t pcw_atomic_begin_entry(pcw_fs *pfs, struct pcw_dir *pd,
				 const char *name, ext2_ino_t old,
				 unsigned mode, pcw_fill_fn fill, void *arg,
				 struct pcw_atomic **ret, ext2_ino_t *ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	*ret = NULL;
	if (strlen(name) > EXT2_NAME_LEN)
		return PCW_ET_NAME_TOO_LONG;
	if (!pcw_io_journaled(pfs->fs))
		return PCW_ET_ATOMIC_NO_JOURNAL;
	err = pcw_may_remove(pfs, pd, old, false, &inode);
	if (!err)
		err = pcw_may_create(pfs, pd);
	if (!err)
		err = make_tmpfile(pfs, pcw_dir_ino(pd), name, old, mode, fill, arg,
			      ret);
	if (!err) {
		(*ret)->batched = true;
		*ino = (*ret)->ino;
	}
	return err;
}

/* Free the unnamed inode (a failed write): off the list, then released. */
errcode_t pcw_atomic_abort(struct pcw_atomic *a)
{
	struct ext2_inode_large inode;
	ext2_filsys fs;
	errcode_t err;

	if (!a)
		return 0;
	fs = a->pfs->fs;
	err = ext2fs_read_inode_full(fs, a->ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (!err)
		err = pcw_orphan_del(fs, a->ino, &inode);
	if (!err)
		err = pcw_inode_release(a->pfs, a->ino, &inode);
	if (!err)
		err = pcw_fs_commit(a->pfs);
	free(a);
	return err;
}

/*
 * One transaction: the name to the new inode, the new inode off the orphan
 * list with its link, the old inode's link dropped (freed at its last).
 *
 * The swap must not straddle a commit: a transaction closed early (its
 * held set full, io.c's make_room) in the middle of it could hold the old
 * name removed and not the new one.  --atomic's single file starts it in
 * a transaction of its own and commits it.  A tree's replacement (batched)
 * joins the open transaction, which holds the entries before it and the
 * new inode's data mapping (committed together: a transaction lands whole
 * or not at all), unless that is already past the point where a tree
 * commits (half a transaction): then it is committed first, so the swap
 * has at least half a transaction's room, as ext4_rename's handle gets
 * its credits in a transaction that has them.  The tree commits it with
 * its batch (pcw_tree_add), and prints the entry's record then.  (A
 * commit per swap made -x replacing 3,000 small files 50 times slower.)
 */
errcode_t pcw_atomic_swap(struct pcw_atomic *a)
{
	pcw_fs *pfs = a->pfs;
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode;
	struct pcw_dir *dd;
	bool batched = a->batched;
	errcode_t err = 0;

	if (!batched || pcw_io_commit_due(fs))
		err = pcw_fs_commit(pfs);
	if (!err)
		err = pcw_dir_open(pfs, a->parent, &dd);
	if (!err && a->old)
		err = pcw_unlink(pfs, dd, a->name, a->old);
	if (err) {
		pcw_atomic_abort(a);
		return err;
	}
	err = pcw_dir_add(pfs, dd, a->name, strlen(a->name), a->ino,
			  EXT2_FT_REG_FILE);
	if (!err)
		err = ext2fs_read_inode_full(fs, a->ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode));
	if (!err)
		err = pcw_orphan_del(fs, a->ino, &inode);
	if (!err) {
		inode.i_links_count = 1;
		pcw_inode_set_now(pfs, &inode, PCW_TIME_C);
		err = ext2fs_write_inode_full(fs, a->ino,
					      (struct ext2_inode *)&inode,
					      sizeof(inode));
	}
	if (!err && !batched)
		err = pcw_fs_commit(pfs);
	if (err)
		pfs->meta_error = true;
	free(a);
	return err;
}
