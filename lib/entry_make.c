/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry_make.c: what an entry of -x or -R becomes once entry.c has found
 * its place: a new inode (a file with its data, a directory, a symlink, a
 * device, a FIFO, a socket) or a new name of one, with the entry's owner,
 * mode, times and extended attributes; an existing directory merged; and
 * an entry refused half-way undone.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry_int.h"
#include "names.h"
#include "quota.h"

/* Owner, permission bits and times of a new inode (or a changed one). */
static void fill_attrs(struct ext2_inode_large *inode, void *arg)
{
	const struct fill *f = arg;
	const struct pcw_tree *t = f->t;
	uint32_t uid = (t->p.flags & PCW_TREE_SET_UID) ? t->p.uid : f->e->uid;
	uint32_t gid = (t->p.flags & PCW_TREE_SET_GID) ? t->p.gid : f->e->gid;

	if (!LINUX_S_ISLNK(inode->i_mode))
		inode->i_mode = (inode->i_mode & LINUX_S_IFMT) |
				(f->e->perm & 07777);
	pcw_inode_set_owner(inode, uid, gid);
	pcw_inode_set_times(t->pfs, inode, PCW_TIME_M, f->tm.mtime,
			    f->tm.mtime_nsec);
	pcw_inode_set_times(t->pfs, inode, PCW_TIME_A, f->tm.atime,
			    f->tm.atime_nsec);
	pcw_inode_set_now(t->pfs, inode, PCW_TIME_C);
	if (f->e->type == PCW_FT_CHR || f->e->type == PCW_FT_BLK)
		pcw_inode_set_rdev(inode, f->e->rdev_major, f->e->rdev_minor);
}

/*
 * Remember a directory's times, to set after its children: the entry's
 * (t->norm), pushed on the stack of its ancestors' (pcw_tree_times_apply
 * left only those).
 */
static errcode_t defer_times(struct pcw_tree *t, ext2_ino_t ino,
			     const struct times *tm)
{
	struct dir_time *dt;
	size_t len = strlen(t->norm);
	errcode_t err;

	if (len > UINT32_MAX)
		return ENAMETOOLONG;
	if (t->ntimes == t->times_cap) {
		size_t cap = t->times_cap ? t->times_cap * 2 : 32;

		dt = realloc(t->times, cap * sizeof(*dt));
		if (!dt)
			return ENOMEM;
		t->times = dt;
		t->times_cap = cap;
	}
	err = pcw_path_grow(&t->times_path, &t->times_path_cap, len + 1);
	if (err)
		return err;
	memcpy(t->times_path, t->norm, len + 1);
	dt = &t->times[t->ntimes++];
	dt->ino = ino;
	dt->plen = len;
	dt->mtime = tm->mtime;
	dt->mtime_nsec = tm->mtime_nsec;
	dt->atime = tm->atime;
	dt->atime_nsec = tm->atime_nsec;
	return 0;
}

/* Is the pending directory DT above PATH (an entry's path below DIR)? */
static bool times_above(const struct pcw_tree *t, const struct dir_time *dt,
			const char *path)
{
	if (!path)
		return false;
	if (!dt->plen)
		return path[0] != 0;	/* DIR itself: above every other */
	return !strncmp(t->times_path, path, dt->plen) &&
	       path[dt->plen] == '/';
}

/*
 * Set the times of the pending directories that are not above PATH (NULL:
 * all of them, at the close), deepest first: the entries below them are
 * done, as GNU tar's apply_nonancestor_delayed_set_stat decides before
 * each member.  A directory an archive names again later (or that a later
 * entry reaches through another spelling or a symlink) gets its mtime
 * changed by that entry, as with tar.  A failure is kept for the close.
 */
void pcw_tree_times_apply(struct pcw_tree *t, const char *path)
{
	while (t->ntimes && !times_above(t, &t->times[t->ntimes - 1], path)) {
		const struct dir_time *dt = &t->times[--t->ntimes];
		struct pcw_dir *dd;
		errcode_t err;

		err = pcw_dir_open(t->pfs, dt->ino, &dd);
		if (!err) {
			struct ext2_inode_large *inode = pcw_dir_inode(dd);

			pcw_inode_set_times(t->pfs, inode, PCW_TIME_M,
					    dt->mtime, dt->mtime_nsec);
			pcw_inode_set_times(t->pfs, inode, PCW_TIME_A,
					    dt->atime, dt->atime_nsec);
			err = pcw_dir_write_inode(t->pfs, dd);
		}
		if (err && !t->times_err)
			t->times_err = err;
	}
}

static errcode_t set_xattrs(struct pcw_tree *t, ext2_ino_t ino,
			    const struct pcw_entry *e)
{
	if (t->p.flags & PCW_TREE_NO_XATTRS)
		return 0;
	return pcw_entry_set_xattrs(t->pfs, ino, e->xattrs, e->nxattrs);
}

/* The entry's data into INO (a new empty file, or a hard link's inode). */
static errcode_t write_data(struct pcw_tree *t, ext2_ino_t ino, ext2_ino_t parent,
			    bool fresh, struct pcw_iter *data,
			    struct pcw_entry_result *res)
{
	struct pcw_file_params fp = t->p.file;
	struct pcw_mapping *m = NULL;
	struct pcw_dest d;
	uint64_t written = 0;
	errcode_t err, err2;

	memset(&d, 0, sizeof(d));
	d.ino = ino;
	d.parent = parent;
	fp.flags &= PCW_FILE_NO_DELALLOC;
	if (fresh)
		fp.flags |= PCW_FILE_FRESH;
	fp.report_name = t->name;
	res->wrote_data = true;
	err = pcw_mapping_open(t->pfs, &d, &fp, &m);
	if (err)
		return err;
	m->tree_commits = true;
	pcw_iter_set_sparse(data, t->p.sparse);
	err = pcw_perform_write(m, data, 0, &written);
	err2 = pcw_mapping_finish(m, &res->info);
	if (!err)
		err = err2;
	pcw_mapping_free(m);
	if (res->info.lost_from < written)
		written = res->info.lost_from;
	if (res->info.size < written)
		written = res->info.size;
	res->bytes = written;
	return err;
}

/*
 * A hard link that carries its inode's data (cpio's newc format puts it on
 * the last link; a manifest's files of one inode): the data, then the
 * attributes of this entry, which describe the inode too.
 */
errcode_t pcw_tree_link_data(struct pcw_tree *t, ext2_ino_t ino,
			     ext2_ino_t parent, const struct pcw_entry *e,
			     const struct fill *f, struct pcw_iter *data,
			     struct pcw_entry_result *res)
{
	struct ext2_inode_large inode;
	errcode_t err;

	err = write_data(t, ino, parent, false, data, res);
	if (!err) {
		memset(&inode, 0, sizeof(inode));
		err = ext2fs_read_inode_full(t->pfs->fs, ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode));
	}
	if (err)
		return err;
	fill_attrs(&inode, (void *)f);
	err = ext2fs_write_inode_full(t->pfs->fs, ino,
				      (struct ext2_inode *)&inode,
				      sizeof(inode));
	if (!err)
		err = set_xattrs(t, ino, e);
	return err;
}

/* The ftype of the name in PARENT, from its entry or its inode. */
errcode_t pcw_tree_existing(struct pcw_tree *t, ext2_ino_t ino, int ftype,
			    bool *is_dir)
{
	struct ext2_inode inode;
	errcode_t err;

	if (ftype == EXT2_FT_DIR) {
		*is_dir = true;
		return 0;
	}
	if (ftype) {
		*is_dir = false;
		return 0;
	}
	err = ext2fs_read_inode(t->pfs->fs, ino, &inode);
	if (!err)
		*is_dir = LINUX_S_ISDIR(inode.i_mode);
	return err;
}

/*
 * An existing directory merged: it takes the entry's attributes; an
 * immutable or append-only one refuses them, as chmod, chown and utimensat
 * do (GNU tar on a kernel mount: "Cannot utime: Operation not permitted").
 * The extended attributes first, all or none: an entry refused for them
 * (they do not fit) leaves the directory as it was.
 */
errcode_t pcw_tree_merge_dir(struct pcw_tree *t, const struct pcw_entry *e,
			     struct pcw_dir *dd, ext2_ino_t ino,
			     const struct fill *f,
			     struct pcw_entry_result *res)
{
	errcode_t err = pcw_may_setattr(pcw_dir_inode(dd));

	res->attrs.ino = ino;
	/* The cached inode out first: the xattr writer rewrites it. */
	if (!err)
		err = pcw_dir_write_inode(t->pfs, dd);
	if (!err)
		err = set_xattrs(t, ino, e);
	if (!err)
		err = pcw_dir_reload_inode(t->pfs, dd);
	if (err)
		return err;
	fill_attrs(pcw_dir_inode(dd), (void *)f);
	err = pcw_dir_write_inode(t->pfs, dd);
	if (!err)
		err = defer_times(t, ino, &f->tm);
	return err;
}

/* A new non-directory inode: a regular file, a device, a FIFO, a socket. */
static errcode_t create_node(struct pcw_tree *t, struct pcw_dir *pd,
			     const char *name, unsigned mode, struct fill *f,
			     ext2_ino_t *ino)
{
	struct ext2_inode_large *inode;
	errcode_t err;

	inode = calloc(1, pcw_inode_buf_size(t->pfs->fs));
	if (!inode)
		return ENOMEM;
	err = pcw_create(t->pfs, pd, name, mode, fill_attrs, f, inode, ino);
	free(inode);
	return err;
}

/*
 * A directory made or merged (ERR is how that went): its times deferred
 * to the close, its attributes, and its cached inode read again (the
 * attributes went to the image through libext2fs).
 */
errcode_t pcw_tree_dir_done(struct pcw_tree *t, const struct pcw_entry *e,
			    struct pcw_dir *dd, ext2_ino_t ino,
			    const struct fill *f, struct pcw_entry_result *res,
			    errcode_t err)
{
	res->attrs.ino = ino;
	/* the xattrs first: a new directory they do not fit is undone */
	if (!err)
		err = set_xattrs(t, ino, e);
	if (!err)
		err = defer_times(t, ino, &f->tm);
	if (!err)
		err = pcw_dir_reload_inode(t->pfs, dd);
	return err;
}

/* DIR itself ("./"): it takes a directory's attributes. */
errcode_t pcw_tree_add_dir_itself(struct pcw_tree *t,
				  const struct pcw_entry *e,
				  const struct fill *f,
				  struct pcw_entry_result *res)
{
	struct pcw_dir *dd = NULL;
	errcode_t err;

	if (e->type != PCW_FT_DIR)
		return PCW_ET_IS_DIR;
	res->action = PCW_ACTION_MERGED;
	res->attrs.ino = t->dir;
	err = pcw_dir_open(t->pfs, t->dir, &dd);
	return err ? err : pcw_tree_merge_dir(t, e, dd, t->dir, f, res);
}

/*
 * A symlink to a directory that was in the image stays (tar's
 * --keep-directory-symlink): a merged-/usr image's lib -> usr/lib takes a
 * package's "lib/" entry and what is under it.  Its target keeps its own
 * attributes.
 */
bool pcw_tree_keeps_dir_symlink(struct pcw_tree *t, ext2_ino_t ino)
{
	struct pcw_dest d;
	errcode_t err;

	if (pcw_made_symlink(t->pfs, ino))
		return false;
	err = pcw_walk(t->pfs, t->dir, t->norm, PCW_LOOKUP_DIRECTORY |
		       PCW_LOOKUP_NO_NEW_SYMLINKS, &d);
	pcw_dest_free(&d);
	return err == PCW_ET_IS_DIR;
}

/*
 * The entry made NAME (INO) in PD and then failed with ERR.  When ERR
 * concerns the entry only (its xattrs did not fit), the run goes on
 * without it: the name goes, and the inode with its blocks and attribute
 * values at its last link, so the image holds nothing of the entry (a hard
 * link's inode keeps the data the entry brought: its other names hold
 * it).  Returns ERR, or the error that stopped the undoing.
 */
static errcode_t undo_entry(struct pcw_tree *t, struct pcw_dir *pd,
			    const char *name, ext2_ino_t ino,
			    struct pcw_entry_result *res, errcode_t err)
{
	errcode_t err2;

	if (!pcw_error_entry_only(err))
		return err;
	err2 = pcw_unmake(t->pfs, pd, name, ino);
	if (err2) {
		t->pfs->meta_error = true;
		return err2;
	}
	res->attrs.ino = 0;
	res->bytes = 0;
	res->wrote_data = false;
	return err;
}

/*
 * Does the regular file OLD (FTYPE its directory entry's type) get
 * replaced by swapping (pcw_tree_replace_file)?  With the journal, for a
 * regular file entry, when old and new fit together: the entry's size in
 * clusters and its metadata's.  Else it is removed and the new file made,
 * as before (a crash between can leave neither: the man page says so).
 */
bool pcw_tree_swaps(struct pcw_tree *t, const struct pcw_entry *e,
		    ext2_ino_t old, int ftype)
{
	ext2_filsys fs = t->pfs->fs;
	struct ext2_inode inode;
	blk64_t need;

	if (e->type != PCW_FT_FILE || !pcw_io_journaled(fs))
		return false;
	if (ftype != EXT2_FT_REG_FILE) {
		if (ftype || ext2fs_read_inode(fs, old, &inode) ||
		    !LINUX_S_ISREG(inode.i_mode))
			return false;
	}
	need = (e->size + fs->blocksize - 1) / fs->blocksize;
	/* the extent tree: a leaf per leaf-full of 1-block runs, at worst */
	need += need / ((fs->blocksize - 12) / 12) + 1;
	need = EXT2FS_NUM_B2C(fs, need) + PCW_ENTRY_META_CLUSTERS;
	return !pcw_fs_check_space(t->pfs, need);
}

/*
 * The regular file OLD, named NAME in PD (PARENT), replaced by the entry
 * the way --atomic replaces a file (atomic.c): the entry's inode made
 * unnamed on the orphan list, its data and attributes written, then the
 * name swapped to it in one transaction that also drops OLD.  A crash
 * before that commit leaves OLD under NAME (the orphan is freed at
 * replay); an entry refused or stopped on the way frees the new inode and
 * leaves OLD as it was.
 */
errcode_t pcw_tree_replace_file(struct pcw_tree *t, const struct pcw_entry *e,
				struct pcw_dir *pd, const char *name,
				ext2_ino_t parent, ext2_ino_t old,
				struct fill *f, struct pcw_iter *data,
				struct pcw_entry_result *res)
{
	struct pcw_atomic *a;
	ext2_ino_t ino = 0;
	errcode_t err;

	err = pcw_atomic_begin_entry(t->pfs, pd, name, old,
				     LINUX_S_IFREG | (e->perm & 07777),
				     fill_attrs, f, &a, &ino);
	if (err)
		return err;
	res->attrs.ino = ino;
	if (data && e->size != 0)
		err = write_data(t, ino, parent, true, data, res);
	if (!err)
		err = set_xattrs(t, ino, e);
	if (!err)
		err = pcw_atomic_swap(a);
	else
		pcw_atomic_abort(a);
	if (err) {
		/* Not swapped: NAME holds the old file, nothing of the entry. */
		res->attrs.ino = 0;
		res->bytes = 0;
		res->wrote_data = false;
	}
	return err;
}

/*
 * The entry's new inode (or, for a hard link, its new name) under NAME in
 * PD, whose own inode is PARENT; TARGET is a hard link's inode.
 */
errcode_t pcw_tree_make_entry(struct pcw_tree *t, const struct pcw_entry *e,
			      struct pcw_dir *pd, const char *name,
			      ext2_ino_t parent, ext2_ino_t target,
			      struct fill *f, struct pcw_iter *data,
			      struct pcw_entry_result *res)
{
	static const unsigned type[] = {
		[PCW_FT_FILE] = LINUX_S_IFREG,
		[PCW_FT_CHR] = LINUX_S_IFCHR, [PCW_FT_BLK] = LINUX_S_IFBLK,
		[PCW_FT_FIFO] = LINUX_S_IFIFO, [PCW_FT_SOCK] = LINUX_S_IFSOCK,
	};
	struct pcw_dir *dd = NULL;
	ext2_ino_t ino = 0;
	errcode_t err;

	switch (e->type) {
	case PCW_FT_DIR:
		err = pcw_mkdir(t->pfs, pd, name, e->perm, fill_attrs, f, &dd);
		if (err)
			return err;
		ino = pcw_dir_ino(dd);
		err = pcw_tree_dir_done(t, e, dd, ino, f, res, err);
		return err ? undo_entry(t, pd, name, ino, res, err) : 0;
	case PCW_FT_HARDLINK:
		/* It names an inode whose attributes its first entry set. */
		err = pcw_link(t->pfs, pd, name, target);
		res->attrs.ino = target;
		if (err || !data)
			return err;
		err = pcw_tree_link_data(t, target, parent, e, f, data, res);
		return err ? undo_entry(t, pd, name, target, res, err) : 0;
	case PCW_FT_SYMLINK:
		err = pcw_symlink(t->pfs, pd, name, e->link, fill_attrs, f,
				  &ino);
		break;
	case PCW_FT_FILE:
	case PCW_FT_CHR:
	case PCW_FT_BLK:
	case PCW_FT_FIFO:
	case PCW_FT_SOCK:
		err = create_node(t, pd, name, type[e->type] | (e->perm & 07777),
				  f, &ino);
		/* An empty file has no page to write (the loop would end at once). */
		if (!err && e->type == PCW_FT_FILE && data && e->size != 0)
			err = write_data(t, ino, parent, true, data, res);
		break;
	default:
		return PCW_ET_BAD_ENTRY;
	}
	res->attrs.ino = ino;
	if (!err)
		err = set_xattrs(t, ino, e);
	return err && ino ? undo_entry(t, pd, name, ino, res, err) : err;
}
