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
 * Directories' times are set when the tree closes, after their children
 * changed them, as tar does.
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

#define PCW_MAGIC_TREE	0x70637774	/* "pcwt" */

struct dir_time {
	ext2_ino_t	ino;
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
};

struct pcw_tree {
	int		magic;
	pcw_fs		*pfs;
	struct pcw_tree_params p;
	ext2_ino_t	dir;
	char		*dir_path;	/* DIR, without a trailing '/' */

	char		*name;		/* the entry's path in the image */
	size_t		name_cap;
	char		*norm;		/* the entry's path below DIR */
	size_t		norm_cap;
	char		*target;	/* a hard link's target, for reports */
	size_t		target_cap;

	/* the directory of the previous entry, looked up once */
	char		*last_parent;
	ext2_ino_t	last_ino;

	struct dir_time	*times;
	size_t		ntimes, times_cap;

	/* when the first entry since the last commit was added (their
	   count: pfs->uncommitted, which any commit clears) */
	struct timespec	since;
};

/* Entries are committed in batches: io_run.h's pcw_fs_commit_due. */

/* The entry's times, as the run's options say. */
struct times {
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
};

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

struct fill {
	const struct pcw_tree	*t;
	const struct pcw_entry	*e;
	struct times		tm;
};

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

static errcode_t make_missing(struct pcw_tree *t, const struct pcw_dest *d,
			      ext2_ino_t *ino);

/* A missing parent of an entry: 0755, the run's owner, times now. */
static void fill_parent_dir(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_tree *t = arg;
	int uid_set = PCW_TREE_SET_UID | PCW_TREE_PARENT_OWNER;
	int gid_set = PCW_TREE_SET_GID | PCW_TREE_PARENT_OWNER;

	pcw_inode_set_owner(inode, (t->p.flags & uid_set) ? t->p.uid : 0,
			    (t->p.flags & gid_set) ? t->p.gid : 0);
}

static errcode_t grow(char **buf, size_t *cap, size_t need)
{
	char *p;
	size_t c = *cap ? *cap : 256;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = realloc(*buf, c);
	if (!p)
		return ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

/*
 * PATH below DIR, cleaned: no leading '/', no "." or empty components, no
 * trailing '/'.  A ".." component is refused.  "" is DIR itself.
 */
static errcode_t normalize(const char *path, char **out, size_t *cap)
{
	const char *p = path;
	size_t n = 0;
	errcode_t err;

	err = grow(out, cap, strlen(path) + 1);
	if (err)
		return err;
	while (*p) {
		const char *c;
		size_t len;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		len = p - c;
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return PCW_ET_DOTDOT;
		if (len > EXT2_NAME_LEN)
			return PCW_ET_NAME_TOO_LONG;
		if (n)
			(*out)[n++] = '/';
		memcpy(*out + n, c, len);
		n += len;
	}
	(*out)[n] = 0;
	return 0;
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
			err = make_missing(t, &d, &t->dir);
	}
	pcw_dest_free(&d);
	if (err)
		goto fail;
	*ret = t;
	return 0;
fail:
	free(t->dir_path);
	free(t);
	return err;
}

/*
 * The walk stopped at the first missing directory: make it and the rest
 * (d->missing, then d->name), 0755, owned as the run says.
 */
static errcode_t make_missing(struct pcw_tree *t, const struct pcw_dest *d,
			      ext2_ino_t *ino)
{
	struct pcw_dest m;
	char *rest = malloc((d->missing ? strlen(d->missing) : 0) +
			    strlen(d->name) + 2);
	errcode_t err;

	if (!rest)
		return ENOMEM;
	sprintf(rest, "%s%s%s", d->missing ? d->missing : "",
		d->missing && d->missing[0] ? "/" : "", d->name);
	memset(&m, 0, sizeof(m));
	m.parent = d->parent;
	m.missing = rest;
	err = pcw_make_dirs(t->pfs, &m, fill_parent_dir, t, ino);
	free(rest);
	return err;
}

/* Remember a directory's times, to set after its children. */
static errcode_t defer_times(struct pcw_tree *t, ext2_ino_t ino,
			     const struct times *tm)
{
	struct dir_time *dt;

	if (t->ntimes == t->times_cap) {
		size_t cap = t->times_cap ? t->times_cap * 2 : 64;

		dt = realloc(t->times, cap * sizeof(*dt));
		if (!dt)
			return ENOMEM;
		t->times = dt;
		t->times_cap = cap;
	}
	dt = &t->times[t->ntimes++];
	dt->ino = ino;
	dt->mtime = tm->mtime;
	dt->mtime_nsec = tm->mtime_nsec;
	dt->atime = tm->atime;
	dt->atime_nsec = tm->atime_nsec;
	return 0;
}

/*
 * Every extended attribute of the entry, after the inode is written (the
 * xattr writer reads and rewrites it).  One the image cannot hold stops
 * the entry: a binary that loses its file capabilities is a broken image.
 */
static errcode_t set_xattrs(struct pcw_tree *t, ext2_ino_t ino,
			    const struct pcw_entry *e)
{
	ext2_filsys fs = t->pfs->fs;
	struct ext2_xattr_handle *h;
	struct pcw_ea_change c;
	bool part_way = false;
	size_t k;
	errcode_t err, err2;

	if (!e->nxattrs || (t->p.flags & PCW_TREE_NO_XATTRS))
		return 0;
	if (!ext2fs_has_feature_xattr(fs->super))
		return PCW_ET_NO_XATTR;
	/* setxattr(2)'s XATTR_SIZE_MAX: no kernel reads a larger value. */
	for (k = 0; k < e->nxattrs; k++)
		if (e->xattrs[k].size > 65536)
			return PCW_ET_XATTR_TOO_BIG;
	/* Values in EA inodes: charged to INO, none left unreferenced. */
	err = pcw_ea_change_begin(t->pfs, ino, e->xattrs, e->nxattrs, &c);
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
	err2 = pcw_ea_change_end(t->pfs, ino, &c);
	if (!err)
		err = err2;
	if (err == EXT2_ET_EA_NO_SPACE || err == EXT2_ET_EA_KEY_NOT_FOUND ||
	    err == EXT2_ET_EA_INODE_CORRUPTED)
		err = PCW_ET_XATTR_SPACE;
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		err = ENOSPC;
	if (part_way)
		t->pfs->meta_error = true;
	return err;
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
static errcode_t link_data(struct pcw_tree *t, ext2_ino_t ino,
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
static errcode_t existing(struct pcw_tree *t, ext2_ino_t ino, int ftype,
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
 * An existing directory takes the entry's attributes; an immutable or
 * append-only one refuses them, as chmod, chown and utimensat do (GNU tar
 * on a kernel mount: "Cannot utime: Operation not permitted").
 */
static errcode_t merge_dir(struct pcw_tree *t, struct pcw_dir *dd,
			   const struct fill *f)
{
	errcode_t err = pcw_may_setattr(pcw_dir_inode(dd));

	if (err)
		return err;
	fill_attrs(pcw_dir_inode(dd), (void *)f);
	return pcw_dir_write_inode(t->pfs, dd);
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

	err = normalize(link, &norm, &cap);
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
		err = existing(t, *ino, ftype, &is_dir);
	if (!err && is_dir)
		err = PCW_ET_LINK_TARGET;
	return err;
}

/* The directory the entry goes in: PARENT of NORM, made if missing. */
static errcode_t entry_parent(struct pcw_tree *t, const char *norm,
			      ext2_ino_t *parent, const char **name)
{
	const char *slash = strrchr(norm, '/');
	size_t plen = slash ? (size_t)(slash - norm) : 0;
	struct pcw_dest d;
	char *ppath;
	errcode_t err;

	*name = slash ? slash + 1 : norm;
	if (!plen) {
		*parent = t->dir;
		return 0;
	}
	if (t->last_parent && strlen(t->last_parent) == plen &&
	    !memcmp(t->last_parent, norm, plen)) {
		*parent = t->last_ino;
		return 0;
	}
	ppath = strndup(norm, plen);
	if (!ppath)
		return ENOMEM;
	err = pcw_walk(t->pfs, t->dir, ppath, PCW_LOOKUP_PARENTS |
		       PCW_LOOKUP_NO_NEW_SYMLINKS | PCW_LOOKUP_DIRECTORY, &d);
	if (err == PCW_ET_IS_DIR) {
		*parent = d.ino;
		err = 0;
	} else if (!err) {
		err = make_missing(t, &d, parent);
	}
	pcw_dest_free(&d);
	if (err) {
		free(ppath);
		return err;
	}
	free(t->last_parent);
	t->last_parent = ppath;
	t->last_ino = *parent;
	return 0;
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
	    !normalize(e->link, &t->norm, &t->norm_cap) &&
	    !grow(&t->target, &t->target_cap, strlen(t->dir_path) +
		  strlen(t->norm) + 2)) {
		sprintf(t->target, "%s%s%s", t->dir_path,
			strcmp(t->dir_path, "/") ? "/" : "", t->norm);
		res->target = t->target;
	}
}

errcode_t pcw_tree_add(struct pcw_tree *t, const struct pcw_entry *e,
		       struct pcw_iter *data, struct pcw_entry_result *res)
{
	errcode_t err = tree_add(t, e, data, res), err2;
	struct timespec now;

	if (!t || t->magic != PCW_MAGIC_TREE)
		return err;
	if (!err && res->attrs.ino && (t->p.flags & PCW_TREE_ATTRS))
		report_made(t, e, res);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!t->pfs->uncommitted++)
		t->since = now;
	/* A failed entry is committed at once: the run stops there. */
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
static errcode_t dir_done(struct pcw_tree *t, const struct pcw_entry *e,
			  struct pcw_dir *dd, ext2_ino_t ino,
			  const struct fill *f, struct pcw_entry_result *res,
			  errcode_t err)
{
	res->attrs.ino = ino;
	if (!err)
		err = defer_times(t, ino, &f->tm);
	if (!err)
		err = set_xattrs(t, ino, e);
	if (!err)
		err = pcw_dir_reload_inode(t->pfs, dd);
	return err;
}

/* DIR itself ("./"): it takes a directory's attributes. */
static errcode_t add_dir_itself(struct pcw_tree *t, const struct pcw_entry *e,
				const struct fill *f,
				struct pcw_entry_result *res)
{
	struct pcw_dir *dd = NULL;
	errcode_t err;

	if (e->type != PCW_FT_DIR)
		return PCW_ET_IS_DIR;
	res->action = PCW_ACTION_MERGED;
	err = pcw_dir_open(t->pfs, t->dir, &dd);
	if (!err)
		err = merge_dir(t, dd, f);
	return dir_done(t, e, dd, t->dir, f, res, err);
}

/*
 * A symlink to a directory that was in the image stays (tar's
 * --keep-directory-symlink): a merged-/usr image's lib -> usr/lib takes a
 * package's "lib/" entry and what is under it.  Its target keeps its own
 * attributes.
 */
static bool keeps_dir_symlink(struct pcw_tree *t, ext2_ino_t ino)
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
 * The entry's new inode (or, for a hard link, its new name) under NAME in
 * PD, whose own inode is PARENT; TARGET is a hard link's inode.
 */
static errcode_t make_entry(struct pcw_tree *t, const struct pcw_entry *e,
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
		if (!err)
			ino = pcw_dir_ino(dd);
		return dir_done(t, e, dd, ino, f, res, err);
	case PCW_FT_HARDLINK:
		/* It names an inode whose attributes its first entry set. */
		err = pcw_link(t->pfs, pd, name, target);
		res->attrs.ino = target;
		if (!err && data)
			err = link_data(t, target, parent, e, f, data, res);
		return err;
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
	return err;
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
	errcode_t err;

	memset(res, 0, sizeof(*res));
	res->type = e->type;
	res->info.lost_from = UINT64_MAX;
	if (!t || t->magic != PCW_MAGIC_TREE)
		return EINVAL;
	pfs = t->pfs;
	err = grow(&t->name, &t->name_cap, strlen(t->dir_path) +
		   strlen(e->path) + 2);
	if (err)
		return err;
	/* The name in messages and reports: DIR/path, cleaned. */
	err = normalize(e->path, &t->norm, &t->norm_cap);
	sprintf(t->name, "%s%s%s", t->dir_path,
		strcmp(t->dir_path, "/") && (err || t->norm[0]) ? "/" : "",
		err ? e->path + strspn(e->path, "/") : t->norm);
	res->path = t->name;
	/* Room the transaction's frees make, for the entry's metadata. */
	if (!err)
		err = pcw_commit_for_room(pfs, PCW_ENTRY_META_CLUSTERS);
	if (err)
		return err;
	if (t->p.adjust) {
		/* the caller's changes (owner, mode) to a copy of the entry */
		adjusted = *e;
		err = t->p.adjust(t->p.adjust_arg, &adjusted);
		if (err)
			return err;
		e = &adjusted;
	}
	/* The inode keeps 12 bits of major, 20 of minor (new_encode_dev). */
	if ((e->type == PCW_FT_CHR || e->type == PCW_FT_BLK) &&
	    (e->rdev_major > 0xfff || e->rdev_minor > 0xfffff))
		return PCW_ET_DEVNUM_RANGE;
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
		return add_dir_itself(t, e, &f, res);

	err = entry_parent(t, t->norm, &parent, &name);
	if (!err)
		err = pcw_dir_open(pfs, parent, &pd);
	if (err)
		return err;
	err = pcw_dir_lookup(pfs, pd, name, strlen(name), &ino, &ftype);
	if (err == EXT2_ET_FILE_NOT_FOUND) {
		ino = 0;
		err = 0;
	}
	if (!err && ino)
		err = existing(t, ino, ftype, &is_dir);
	if (err)
		return err;

	if (e->type == PCW_FT_DIR && ino && is_dir) {
		res->action = PCW_ACTION_MERGED;
		err = pcw_dir_open(pfs, ino, &dd);
		if (!err)
			err = merge_dir(t, dd, &f);
		return dir_done(t, e, dd, ino, &f, res, err);
	}
	if (e->type == PCW_FT_DIR && ino && keeps_dir_symlink(t, ino)) {
		res->action = PCW_ACTION_KEPT;
		res->attrs.ino = ino;
		return 0;
	}
	if (ino && is_dir)
		return PCW_ET_IS_DIR;	/* never replaced by a non-directory */
	if (e->type == PCW_FT_HARDLINK) {
		err = link_target(t, e->link, &target);
		if (err)
			return err;
		if (target == ino) {
			/* Already this name of that inode. */
			res->action = PCW_ACTION_KEPT;
			res->attrs.ino = ino;
			if (data)
				err = link_data(t, ino, parent, e, &f, data,
						res);
			return err;
		}
	}
	if (ino) {
		if (t->p.flags & PCW_TREE_NO_CLOBBER)
			return PCW_ET_EXISTS;
		err = pcw_unlink(pfs, pd, name, ino);
		if (err)
			return err;
		res->action = PCW_ACTION_REPLACED;
		/* A replaced symlink may have been the way to a cached parent. */
		free(t->last_parent);
		t->last_parent = NULL;
	} else {
		res->action = PCW_ACTION_CREATED;
	}
	return make_entry(t, e, pd, name, parent, target, &f, data, res);
}

errcode_t pcw_tree_close(struct pcw_tree *t)
{
	errcode_t err = 0, err2;
	size_t k;

	if (!t || t->magic != PCW_MAGIC_TREE)
		return EINVAL;
	for (k = 0; k < t->ntimes; k++) {
		const struct dir_time *dt = &t->times[k];
		struct pcw_dir *dd;

		err2 = pcw_dir_open(t->pfs, dt->ino, &dd);
		if (!err2) {
			struct ext2_inode_large *inode = pcw_dir_inode(dd);

			pcw_inode_set_times(t->pfs, inode, PCW_TIME_M, dt->mtime,
					    dt->mtime_nsec);
			pcw_inode_set_times(t->pfs, inode, PCW_TIME_A, dt->atime,
					    dt->atime_nsec);
			err2 = pcw_dir_write_inode(t->pfs, dd);
		}
		if (!err)
			err = err2;
	}
	err2 = pcw_tree_commit(t);
	if (!err)
		err = err2;
	t->pfs->order_events = false;
	free(t->times);
	free(t->last_parent);
	free(t->name);
	free(t->norm);
	free(t->target);
	free(t->dir_path);
	t->magic = 0;
	free(t);
	return err;
}
