/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry.c: the filesystem side of -x and -R: an entry of a tree or an
 * archive into an inode under the run's directory.
 *
 * What an entry becomes is what tar and mke2fs -d make: a regular file
 * (its data through pcw_perform_write, holes kept), a directory (merged
 * when it exists: it takes the entry's attributes and keeps its names), a
 * symlink (fast in the inode, else in a block), a hard link to an inode
 * already under DIR, a device or FIFO with its numbers.  Then the
 * attributes: permission bits with setuid/setgid/sticky, 32-bit owner and
 * group, times with nanoseconds, every extended attribute and the POSIX
 * ACLs (written after the inode: ext2fs_xattrs_write rewrites it).
 * A directory's times are set once the entries below it are done (when an
 * entry outside it comes, or at the close), after they changed them, as
 * GNU tar does.
 *
 * The classic archive attacks are refused, as GNU tar refuses them: a
 * '..' component, and a path through a symlink the same run made (an
 * archive that plants link -> /etc and then writes link/passwd).  Symlinks
 * that were in the image before the run are followed: a merged-/usr
 * image's /lib -> usr/lib takes a package's lib/ entries.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file.h"
#include "quota.h"
#include "iter.h"
#include "names.h"
#include "entry_int.h"

static void entry_times(const struct pcw_tree *t, const struct pcw_entry *e,
			struct times *tm)
{
	const pcw_fs *pfs = t->pfs;

	memset(tm, 0, sizeof(*tm));
	if (t->p.flags & PCW_TREE_SET_TIMES) {
		tm->mtime = tm->atime = t->p.mtime;
		return;
	}
	/*
	 * Times before 1970 are kept, and times past what an inode holds are
	 * clamped when they are stored (times.c), as the kernel does.
	 */
	tm->mtime = e->has_mtime ? e->mtime : pfs->now;
	tm->mtime_nsec = e->has_mtime ? e->mtime_nsec : pfs->now_nsec;
	tm->atime = e->has_atime ? e->atime : pfs->now;
	tm->atime_nsec = e->has_atime ? e->atime_nsec : pfs->now_nsec;
	if (t->p.flags & PCW_TREE_CLAMP_TIMES) {
		/* SOURCE_DATE_EPOCH: nothing newer, and no run-dependent time. */
		if (tm->mtime >= t->p.mtime) {
			tm->mtime = t->p.mtime;
			tm->mtime_nsec = 0;
		}
		tm->atime = t->p.mtime;
		tm->atime_nsec = 0;
	}
}


errcode_t pcw_tree_open(pcw_fs *pfs, const char *dir,
			const struct pcw_tree_params *p, struct pcw_tree **ret)
{
	struct pcw_tree *t;
	struct pcw_dest d;
	size_t len;
	errcode_t err;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (dir[0] != '/')
		return PCW_ET_RELATIVE_PATH;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	t->magic = PCW_MAGIC_TREE;
	t->pfs = pfs;
	t->p = *p;
	pfs->order_events = p->flags & PCW_TREE_ORDER_EVENTS;
	pfs->hold_events = p->flags & PCW_TREE_HOLD_EVENTS;
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	t->dir_path = strndup(dir, len);
	if (!t->dir_path) {
		err = ENOMEM;
		goto fail;
	}
	err = pcw_walk(pfs, EXT2_ROOT_INO, dir,
		       PCW_LOOKUP_PARENTS | PCW_LOOKUP_DIRECTORY, &d);
	if (err == PCW_ET_IS_DIR) {
		t->dir = d.ino;
		err = 0;
	} else if (!err) {
		/* Missing: made with PCW_TREE_PARENTS. */
		if (!(p->flags & PCW_TREE_PARENTS))
			err = PCW_ET_NO_DIR;
		else
			err = pcw_fs_begin_write(pfs);
		if (!err)
			err = pcw_tree_make_missing(t, &d, &t->dir);
	}
	pcw_dest_free(&d);
	if (err)
		goto fail;
	pfs->plug = true;
	*ret = t;
	return 0;
fail:
	free(t->dir_path);
	free(t);
	return err;
}

/* Resolve a hard link's target path under DIR: an existing non-directory. */
static errcode_t link_target(struct pcw_tree *t, const char *link,
			     ext2_ino_t *ino)
{
	char *norm = NULL;
	size_t cap = 0;
	struct pcw_dest d;
	struct pcw_dir *dd;
	errcode_t err;
	int ftype;
	bool is_dir;

	err = pcw_path_clean(link, &norm, &cap);
	if (!err && !norm[0])
		err = PCW_ET_LINK_TARGET;
	if (!err)
		err = pcw_walk(t->pfs, t->dir, norm, PCW_LOOKUP_NO_NEW_SYMLINKS,
			       &d);
	free(norm);
	if (err == PCW_ET_NO_PARENT || err == PCW_ET_IS_DIR ||
	    err == PCW_ET_NOT_DIR)
		err = PCW_ET_LINK_TARGET;
	if (err)
		return err;
	pcw_dest_free(&d);
	if (!d.ino)
		return PCW_ET_LINK_TARGET;
	err = pcw_dir_open(t->pfs, d.parent, &dd);
	if (!err)
		err = pcw_dir_lookup(t->pfs, dd, d.name, strlen(d.name), ino,
				     &ftype);
	if (!err)
		err = pcw_tree_existing(t, *ino, ftype, &is_dir);
	if (!err && is_dir)
		err = PCW_ET_LINK_TARGET;
	return err;
}

static errcode_t tree_add(struct pcw_tree *t, const struct pcw_entry *e,
			  struct pcw_iter *data, struct pcw_entry_result *res);

/*
 * PCW_TREE_ATTRS: what the entry's inode got, read back from it, and a
 * link's target (a hard link's as its path in the image).  A directory's
 * time is the one it gets at close, after its children.
 */
static void report_made(struct pcw_tree *t, const struct pcw_entry *e,
			struct pcw_entry_result *res)
{
	struct ext2_inode_large inode;
	int64_t mtime = res->attrs.mtime;
	uint32_t nsec = res->attrs.mtime_nsec;

	memset(&inode, 0, sizeof(inode));
	if (ext2fs_read_inode_full(t->pfs->fs, res->attrs.ino,
				   (struct ext2_inode *)&inode, sizeof(inode)))
		return;
	pcw_inode_attrs(res->attrs.ino, &inode, &res->attrs);
	if (e->type == PCW_FT_DIR && res->action != PCW_ACTION_KEPT) {
		res->attrs.mtime = mtime;
		res->attrs.mtime_nsec = nsec;
	}
	if (e->type == PCW_FT_SYMLINK)
		res->target = e->link;
	if (e->type == PCW_FT_HARDLINK && e->link &&
	    !pcw_path_clean(e->link, &t->norm, &t->norm_cap) &&
	    !pcw_path_grow(&t->target, &t->target_cap, strlen(t->dir_path) +
		  strlen(t->norm) + 2)) {
		sprintf(t->target, "%s%s%s", t->dir_path,
			strcmp(t->dir_path, "/") ? "/" : "", t->norm);
		res->target = t->target;
	}
}

errcode_t pcw_tree_add(struct pcw_tree *t, const struct pcw_entry *e,
		       struct pcw_iter *data, struct pcw_entry_result *res)
{
	bool meta_error = t && t->magic == PCW_MAGIC_TREE &&
			  t->pfs->meta_error;
	errcode_t err, err2;
	struct timespec now;

	/* No directory is held from the entry before: they may be evicted. */
	if (t && t->magic == PCW_MAGIC_TREE)
		pcw_dcache_next(t->pfs);
	err = tree_add(t, e, data, res);
	if (!t || t->magic != PCW_MAGIC_TREE)
		return err;
	/* A refused entry leaves nothing half-done, or it stops the run. */
	if (err && pcw_error_entry_only(err) && !meta_error &&
	    t->pfs->meta_error)
		err = PCW_ET_LEFT_NOT_CLEAN;
	/* Before report_made, which cleans a link's target into t->norm. */
	if (!err && t->p.whiteouts == PCW_WHITEOUTS_OCI && t->made_parent)
		err = pcw_wh_note(&t->made, t->made_parent, res->attrs.ino,
				  t->made_name);
	if (!err && res->attrs.ino && (t->p.flags & PCW_TREE_ATTRS))
		report_made(t, e, res);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!t->pfs->uncommitted++)
		t->since = now;
	/* A failed entry is committed at once: what came before is shown. */
	if (pcw_fs_commit_due(t->pfs, t->pfs->uncommitted, err, &t->since,
			      &now)) {
		err2 = pcw_tree_commit(t);
		res->committed = !err2;
		if (!err)
			err = err2;
	}
	return err;
}

errcode_t pcw_tree_commit(struct pcw_tree *t)
{
	if (!t || t->magic != PCW_MAGIC_TREE)
		return EINVAL;
	return pcw_fs_commit(t->pfs);
}

/*
 * A layer's whiteout (whiteout.c), never a file of its own: applied to the
 * image below (oci), or, for overlay, DIR's opaque mark (a NAME became a
 * device in tree_add).
 */
static errcode_t add_whiteout(struct pcw_tree *t, enum pcw_wh_kind kind,
			      struct pcw_entry_result *res)
{
	static const struct pcw_xattr opaque = {
		"trusted.overlay.opaque", "y", 1 };
	struct pcw_entry mark;
	struct pcw_dir *dd;
	ext2_ino_t parent;
	const char *name;
	uint64_t removed;
	errcode_t err;

	res->action = PCW_ACTION_SKIPPED;
	if (kind == PCW_WH_META)
		return 0;
	if (t->p.whiteouts == PCW_WHITEOUTS_OCI) {
		/* A directory removed may be on the path stack. */
		pcw_tree_path_removed(t, t->norm);
		err = pcw_wh_apply(t->pfs, t->made, t->dir, t->norm, kind,
				   &removed);
		res->action = PCW_ACTION_REMOVED;
		return err;
	}
	memset(&mark, 0, sizeof(mark));
	mark.xattrs = &opaque;
	mark.nxattrs = 1;
	err = pcw_tree_parent(t, t->norm, &parent, &name);
	if (!err)
		err = pcw_dir_open(t->pfs, parent, &dd);
	/* The cached inode out first: the xattr writer rewrites it. */
	if (!err)
		err = pcw_dir_write_inode(t->pfs, dd);
	if (!err)
		err = pcw_entry_set_xattrs(t->pfs, parent, mark.xattrs,
					   mark.nxattrs);
	if (!err)
		err = pcw_dir_reload_inode(t->pfs, dd);
	res->action = PCW_ACTION_MERGED;
	return err;
}

/* overlayfs's whiteout: NAME (the entry's without ".wh.") as a device 0/0. */
static void overlay_whiteout(struct pcw_tree *t, struct pcw_entry *e)
{
	char *base = strrchr(t->norm, '/');

	base = base ? base + 1 : t->norm;
	memmove(base, base + 4, strlen(base + 4) + 1);
	sprintf(t->name, "%s%s%s", t->dir_path,
		strcmp(t->dir_path, "/") ? "/" : "", t->norm);
	e->type = PCW_FT_CHR;
	e->perm = 0;		/* ovl_whiteout(): S_IFCHR | 0 */
	e->rdev_major = e->rdev_minor = 0;
	e->size = 0;
}

/*
 * The entry as it will be made, in *EP: the caller's changes (owner, mode)
 * to a copy in ADJUSTED, a whiteout's KIND (an overlay one becomes its
 * device), and what no inode can hold refused before anything is touched.
 */
static errcode_t entry_prepare(struct pcw_tree *t, const struct pcw_entry **ep,
			       struct pcw_entry *adjusted,
			       enum pcw_wh_kind *kind,
			       struct pcw_entry_result *res)
{
	const struct pcw_entry *e = *ep;
	errcode_t err;

	if (t->p.adjust) {
		*adjusted = *e;
		err = t->p.adjust(t->p.adjust_arg, adjusted);
		if (err)
			return err;
		e = adjusted;
	}
	t->made_parent = 0;
	if (t->p.whiteouts)
		*kind = pcw_whiteout_kind(t->norm);
	if (*kind == PCW_WH_NAME && t->p.whiteouts == PCW_WHITEOUTS_OVERLAY) {
		if (e != adjusted)
			*adjusted = *e;
		overlay_whiteout(t, adjusted);
		e = adjusted;
		res->type = e->type;
		*kind = PCW_WH_NONE;
	}
	*ep = e;
	/* A type pcwrite cannot make. */
	if (e->type != PCW_FT_FILE && e->type != PCW_FT_DIR &&
	    e->type != PCW_FT_SYMLINK && e->type != PCW_FT_HARDLINK &&
	    e->type != PCW_FT_CHR && e->type != PCW_FT_BLK &&
	    e->type != PCW_FT_FIFO && e->type != PCW_FT_SOCK)
		return PCW_ET_BAD_ENTRY;
	/* The inode keeps 12 bits of major, 20 of minor (new_encode_dev). */
	if ((e->type == PCW_FT_CHR || e->type == PCW_FT_BLK) &&
	    (e->rdev_major > 0xfff || e->rdev_minor > 0xfffff))
		return PCW_ET_DEVNUM_RANGE;
	return 0;
}

static errcode_t tree_add(struct pcw_tree *t, const struct pcw_entry *e,
			  struct pcw_iter *data, struct pcw_entry_result *res)
{
	pcw_fs *pfs;
	struct pcw_dir *pd, *dd;
	struct pcw_entry adjusted;
	struct fill f;
	ext2_ino_t parent, ino = 0, target = 0;
	const char *name;
	bool is_dir = false;
	int ftype = 0;
	enum pcw_wh_kind kind = PCW_WH_NONE;
	errcode_t err;

	memset(res, 0, sizeof(*res));
	res->type = e->type;
	res->info.lost_from = UINT64_MAX;
	if (!t || t->magic != PCW_MAGIC_TREE)
		return EINVAL;
	pfs = t->pfs;
	err = pcw_path_grow(&t->name, &t->name_cap, strlen(t->dir_path) +
		   strlen(e->path) + 2);
	if (err)
		return err;
	/* The name in messages and reports: DIR/path, cleaned. */
	err = pcw_path_clean(e->path, &t->norm, &t->norm_cap);
	sprintf(t->name, "%s%s%s", t->dir_path,
		strcmp(t->dir_path, "/") && (err || t->norm[0]) ? "/" : "",
		err ? e->path + strspn(e->path, "/") : t->norm);
	res->path = t->name;
	/* The directories this entry is not under are done. */
	if (!err)
		pcw_tree_times_apply(t, t->norm);
	/* Room the transaction's frees make, for the entry's metadata. */
	if (!err)
		err = pcw_commit_for_room(pfs, PCW_ENTRY_META_CLUSTERS);
	if (err)
		return err;
	err = entry_prepare(t, &e, &adjusted, &kind, res);
	if (err)
		return err;
	f.t = t;
	f.e = e;
	entry_times(t, e, &f.tm);
	/* a directory's: set at close, after its children (report_made) */
	res->attrs.mtime = f.tm.mtime;
	res->attrs.mtime_nsec = f.tm.mtime_nsec;
	err = pcw_fs_begin_write(pfs);
	if (err)
		return err;
	if (!t->norm[0])
		return pcw_tree_add_dir_itself(t, e, &f, res);
	if (kind)
		return add_whiteout(t, kind, res);

	/* A hard link's target first: a missing one makes no parent. */
	if (e->type == PCW_FT_HARDLINK) {
		err = link_target(t, e->link, &target);
		if (err)
			return err;
	}
	err = pcw_tree_parent(t, t->norm, &parent, &name);
	if (!err)
		err = pcw_dir_open(pfs, parent, &pd);
	if (err)
		return err;
	/*
	 * What the layer made, for --whiteouts=oci: the name as the directory
	 * holds it (a casefolded one may spell an existing name otherwise),
	 * or, when the entry makes its own, the entry's.
	 */
	t->made_parent = parent;
	t->made_name = t->found;
	err = pcw_dir_lookup_name(pfs, pd, name, strlen(name), &ino, &ftype,
				  t->found);
	if (err == EXT2_ET_FILE_NOT_FOUND) {
		ino = 0;
		err = 0;
	}
	if (!err && ino)
		err = pcw_tree_existing(t, ino, ftype, &is_dir);
	if (err)
		return err;

	if (e->type == PCW_FT_DIR && ino && is_dir) {
		res->action = PCW_ACTION_MERGED;
		res->attrs.ino = ino;
		err = pcw_dir_open(pfs, ino, &dd);
		return err ? err : pcw_tree_merge_dir(t, e, dd, ino, &f, res);
	}
	if (e->type == PCW_FT_DIR && ino &&
	    pcw_tree_keeps_dir_symlink(t, ino)) {
		res->action = PCW_ACTION_KEPT;
		res->attrs.ino = ino;
		return 0;
	}
	if (ino && is_dir)
		return PCW_ET_IS_DIR;	/* never replaced by a non-directory */
	if (e->type == PCW_FT_HARDLINK) {
		if (target == ino) {
			/* Already this name of that inode. */
			res->action = PCW_ACTION_KEPT;
			res->attrs.ino = ino;
			if (data)
				err = pcw_tree_link_data(t, ino, parent, e, &f,
							 data, res);
			return err;
		}
	}
	if (ino) {
		if (t->p.flags & PCW_TREE_NO_CLOBBER)
			return PCW_ET_EXISTS;
		if (pcw_tree_swaps(t, e, ino, ftype)) {
			res->action = PCW_ACTION_REPLACED;
			t->made_name = name;
			return pcw_tree_replace_file(t, e, pd, name, parent,
						     ino, &f, data, res);
		}
		err = pcw_unlink(pfs, pd, name, ino);
		if (err)
			return err;
		res->action = PCW_ACTION_REPLACED;
		t->made_name = name;
		/* A replaced symlink may be the way to a level of the stack. */
		pcw_tree_path_replaced(t);
	} else {
		res->action = PCW_ACTION_CREATED;
		t->made_name = name;
	}
	return pcw_tree_make_entry(t, e, pd, name, parent, target, &f, data, res);
}

errcode_t pcw_tree_close(struct pcw_tree *t)
{
	errcode_t err, err2;

	if (!t || t->magic != PCW_MAGIC_TREE)
		return EINVAL;
	pcw_tree_times_apply(t, NULL);
	err = t->times_err;
	err2 = pcw_tree_commit(t);
	if (!err)
		err = err2;
	t->pfs->order_events = false;
	t->pfs->hold_events = false;
	t->pfs->plug = false;
	pcw_wh_free(t->made);
	free(t->times);
	pcw_tree_path_free(t);
	free(t->times_path);
	free(t->name);
	free(t->norm);
	free(t->target);
	free(t->dir_path);
	t->magic = 0;
	free(t);
	return err;
}
