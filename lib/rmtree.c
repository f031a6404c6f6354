/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rmtree.c: a name and everything under it removed (rm -r), or every name
 * in a directory, except what the caller keeps.
 *
 * The walk is iterative, one frame a directory on a stack of its own, so a
 * deep tree does not grow the C stack.  Each directory's names are read
 * once through the run's cache (pcw_dir_list) and removed one by one, from
 * the bottom up: a non-directory with pcw_unlink (its link count, at the
 * last link its blocks, attribute block and EA inodes), a directory once it
 * is empty, as the kernel's rmdir (ext4_rmdir: the name, the parent's link
 * count through ext4_dec_count, the inode and its blocks; the cache
 * forgets it).  Between two removals the filesystem is consistent (every
 * inode has its names and its count), so that is where a large tree's
 * removal closes a transaction when the held set is near its limit
 * (pcw_io_commit_due) and stops at a signal.  rm -r reads a directory,
 * unlinks, and rmdirs on the way back up in the same order.
 *
 * A kept name stays; a kept directory is walked all the same (what it
 * holds that the caller does not keep goes), and a directory that still
 * holds a kept name stays too.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "namei.h"

struct frame {
	ext2_ino_t	ino;		/* the directory walked */
	ext2_ino_t	parent;
	char		*name;		/* its name in PARENT; NULL: it stays */
	struct pcw_dir_list l;
	bool		listed;
	size_t		next;
	unsigned long	kept;		/* names that stay in it */
};

struct walk {
	pcw_fs		*pfs;
	pcw_keep_fn	keep;
	void		*arg;
	struct frame	*f;
	size_t		n, cap;
	struct pcw_idset on_stack;	/* the frames' inodes */
	uint64_t	removed;
};

/* A point between two removals: commit when due, stop at a signal. */
static errcode_t between(struct walk *w)
{
	w->removed++;
	if (pcw_signal_pending())
		return EINTR;
	if (pcw_io_commit_due(w->pfs->fs))
		return pcw_fs_commit(w->pfs);
	return 0;
}

static errcode_t push(struct walk *w, ext2_ino_t ino, ext2_ino_t parent,
		      const char *name)
{
	struct frame *f;
	bool had;

	/*
	 * A directory inside itself: only a damaged image has one.  A hashed
	 * set of the frames' inodes, not a look at every frame above: that
	 * made a chain of D directories cost O(D^2).
	 */
	if (pcw_grow(&w->f, &w->cap, w->n + 1, sizeof(*f), 16) ||
	    pcw_idset_add(&w->on_stack, 0, ino, &had))
		return ENOMEM;
	if (had)
		return PCW_ET_CORRUPT;
	f = &w->f[w->n];
	memset(f, 0, sizeof(*f));
	f->ino = ino;
	f->parent = parent;
	w->n++;
	if (name && !(f->name = strdup(name)))
		return ENOMEM;
	return 0;
}

static void pop(struct walk *w)
{
	struct frame *f = &w->f[--w->n];

	pcw_idset_del(&w->on_stack, 0, f->ino);
	pcw_dir_list_free(&f->l);
	free(f->name);
}

static errcode_t is_dir(pcw_fs *pfs, ext2_ino_t ino, int ftype, bool *dir)
{
	struct ext2_inode inode;
	errcode_t err;

	if (ino < EXT2_FIRST_INODE(pfs->fs->super) ||
	    ino > pfs->fs->super->s_inodes_count)
		return PCW_ET_CORRUPT;
	if (ftype) {
		*dir = ftype == EXT2_FT_DIR;
		return 0;
	}
	err = ext2fs_read_inode(pfs->fs, ino, &inode);
	if (!err)
		*dir = LINUX_S_ISDIR(inode.i_mode);
	return err;
}

/* rmdir NAME (the empty directory INO) in PARENT. */
static errcode_t remove_dir(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			    ext2_ino_t ino)
{
	struct ext2_inode_large inode, *pi;
	struct pcw_dir *pd, *d;
	struct pcw_dir_list l;
	size_t left;
	errcode_t err;

	err = pcw_dir_open(pfs, parent, &pd);
	if (!err)
		err = pcw_dir_open(pfs, ino, &d);
	if (!err)
		err = pcw_dir_list(pfs, d, &l);
	if (err)
		return err;
	left = l.n;
	pcw_dir_list_free(&l);
	if (left)
		return ENOTEMPTY;	/* the kernel's empty_dir() */
	err = pcw_may_remove(pfs, pd, ino, true, &inode);
	if (!err)
		err = pcw_dir_remove(pfs, pd, name, strlen(name));
	if (err)
		return err;
	/*
	 * ext4_dec_count(): ".." of the removed directory linked to PARENT;
	 * a count of 1 ("many", dir_nlink) stays, and none goes below 2.
	 */
	pi = pcw_dir_inode(pd);
	if (pi->i_links_count > 2)
		pi->i_links_count--;
	err = pcw_dir_write_inode(pfs, pd);
	if (!err)
		err = pcw_inode_release(pfs, ino, &inode);
	pcw_dir_forget(pfs, ino);
	return err;
}

/* The next name of the top frame: kept, unlinked, or a frame to walk. */
static errcode_t step(struct walk *w)
{
	struct frame *f = &w->f[w->n - 1];
	const struct pcw_dir_item *it = &f->l.items[f->next++];
	const char *name = f->l.strings + it->off;
	ext2_ino_t dir_ino = f->ino;
	struct pcw_dir *pd;
	errcode_t err;
	bool dir;

	err = is_dir(w->pfs, it->ino, it->ftype, &dir);
	if (err)
		return err;
	if (w->keep && w->keep(w->arg, dir_ino, it->ino, name)) {
		f->kept++;
		return dir ? push(w, it->ino, dir_ino, NULL) : 0;
	}
	if (dir)
		return push(w, it->ino, dir_ino, name);
	err = pcw_dir_open(w->pfs, dir_ino, &pd);
	if (!err)
		err = pcw_unlink(w->pfs, pd, name, it->ino);
	return err ? err : between(w);
}

/* The top frame is done: its directory goes, unless something stays. */
static errcode_t leave(struct walk *w)
{
	struct frame *f = &w->f[w->n - 1];
	errcode_t err = 0;

	if (f->name && !f->kept) {
		err = remove_dir(w->pfs, f->parent, f->name, f->ino);
		if (!err)
			err = between(w);
	} else if (f->name && w->n > 1) {
		w->f[w->n - 2].kept++;
	}
	pop(w);
	return err;
}

errcode_t pcw_remove_tree(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			  pcw_keep_fn keep, void *arg, uint64_t *removed)
{
	struct walk w;
	struct pcw_dir *pd;
	errcode_t err;

	memset(&w, 0, sizeof(w));
	w.pfs = pfs;
	w.keep = keep;
	w.arg = arg;
	err = pcw_dir_open(pfs, parent, &pd);
	if (!err)
		err = push(&w, parent, 0, NULL);
	if (!err && name) {
		/* The one name, as the only item of PARENT's frame. */
		struct frame *f = &w.f[0];
		ext2_ino_t ino;
		int ftype;

		err = pcw_dir_lookup(pfs, pd, name, strlen(name), &ino, &ftype);
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			err = 0;
		} else if (!err) {
			f->l.items = calloc(1, sizeof(*f->l.items));
			f->l.strings = strdup(name);
			if (!f->l.items || !f->l.strings)
				err = ENOMEM;
			else {
				f->l.items[0].ino = ino;
				f->l.items[0].ftype = ftype;
				f->l.n = f->l.cap = 1;
			}
		}
	} else if (!err) {
		err = pcw_dir_list(pfs, pd, &w.f[0].l);
	}
	w.f[0].listed = true;
	while (!err && w.n) {
		struct frame *f = &w.f[w.n - 1];

		if (!f->listed) {
			struct pcw_dir *d;

			f->listed = true;
			err = pcw_dir_open(pfs, f->ino, &d);
			if (!err)
				err = pcw_dir_list(pfs, d, &f->l);
		} else if (f->next < f->l.n) {
			err = step(&w);
		} else if (w.n > 1) {
			err = leave(&w);
		} else {
			break;
		}
	}
	if (removed)
		*removed = w.removed;
	while (w.n)
		pop(&w);
	pcw_idset_free(&w.on_stack);
	free(w.f);
	return err;
}
