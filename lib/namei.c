/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * namei.c: path resolution inside the image, parents, and the operations
 * on names that fs/ext4/namei.c holds: create, mkdir, symlink, link, unlink.
 * Opening a file's mapping is file.c's.
 *
 * Paths are resolved inside the image, never on the host, the way the
 * kernel's link_path_walk() does: a symlink in an intermediate component is
 * followed (its target spliced in front of the rest of the path, an absolute
 * target taken from the image root, at most 40 of them), "." and ".." are
 * the directory's own entries.  A final component that is a symlink is
 * refused, not followed.  Names are looked up through dir.c, so resolving
 * many paths in one directory does not rescan it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "namei.h"

#define PCW_MAX_FOLLOW	40	/* the kernel's MAXSYMLINKS */

/*
 * Each create, link and unlink checks the room it needs (an inode, the
 * blocks) before its first change, and undoes what it did when a later step
 * fails: a failed mkdir leaves no inode, no block and no name behind (the
 * kernel gets the same from its journal).  The order on disk is the
 * kernel's: the new inode is written before the name that points to it,
 * and a name is removed before the inode it pointed to is freed.
 */

void pcw_dest_free(struct pcw_dest *d)
{
	free(d->missing);
	d->missing = NULL;
}

/* The target of symlink INO: in the inode, inline, or in its one block. */
errcode_t pcw_read_link(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode, char **target)
{
	ext2_filsys fs = pfs->fs;
	uint64_t size = EXT2_I_SIZE(inode);
	char *buf;
	errcode_t err = 0;

	if (inode->i_flags & EXT4_ENCRYPT_FL)
		return PCW_ET_UNSUPP_INODE;
	if (size == 0 || size >= fs->blocksize || size >= 4096)
		return PCW_ET_CORRUPT;
	buf = calloc(1, fs->blocksize + 1);
	if (!buf)
		return ENOMEM;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		size_t sz = fs->blocksize;

		err = ext2fs_inline_data_get(fs, ino, (struct ext2_inode *)inode,
					     buf, &sz);
		if (!err && sz < size)
			err = PCW_ET_CORRUPT;
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)inode)) {
		memcpy(buf, inode->i_block, size);
	} else {
		blk64_t pblk = 0;

		err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)inode, NULL, 0,
				   0, NULL, &pblk);
		if (!err && (!pblk || pblk >= ext2fs_blocks_count(fs->super)))
			err = PCW_ET_CORRUPT;
		if (!err)
			err = io_channel_read_blk64(fs->io, pblk, 1, buf);
	}
	if (!err && memchr(buf, 0, size))
		err = PCW_ET_CORRUPT;
	if (err) {
		free(buf);
		return err;
	}
	buf[size] = 0;
	*target = buf;
	return 0;
}

/* The next component of *P (slashes skipped); its length, 0 at the end. */
static size_t next_component(const char **p, const char **comp)
{
	const char *s = *p;

	while (*s == '/')
		s++;
	*comp = s;
	while (*s && *s != '/')
		s++;
	*p = s;
	return s - *comp;
}

/* Does the rest of the path hold only slashes and "."? */
static bool only_dots(const char *p)
{
	const char *c;
	size_t n;

	while ((n = next_component(&p, &c)))
		if (n != 1 || c[0] != '.')
			return false;
	return true;
}

static bool is_dotdot(const char *c, size_t n)
{
	return n == 2 && c[0] == '.' && c[1] == '.';
}

/*
 * The missing directories from C on, up to (not including) the final
 * component, joined with '/'; ".." among them cannot be made.
 */
static errcode_t missing_dirs(const char *c, char **missing, char *name)
{
	const char *p = c, *comp, *last = NULL;
	size_t n, lastn = 0, len = 0;
	char *s;

	while ((n = next_component(&p, &comp))) {
		if (n == 1 && comp[0] == '.')
			continue;
		if (is_dotdot(comp, n))
			return PCW_ET_NO_PARENT;
		if (n > EXT2_NAME_LEN)
			return PCW_ET_NAME_TOO_LONG;
		if (last)
			len += lastn + 1;
		last = comp;
		lastn = n;
	}
	s = malloc(len + 1);
	if (!s)
		return ENOMEM;
	s[0] = 0;
	p = c;
	while ((n = next_component(&p, &comp)) && comp != last) {
		if (n == 1 && comp[0] == '.')
			continue;
		if (s[0])
			strcat(s, "/");
		strncat(s, comp, n);
	}
	memcpy(name, last, lastn);
	name[lastn] = 0;
	*missing = s;
	return 0;
}

/*
 * link_path_walk(): resolve PATH from directory START.  On success d->parent
 * is the directory of the final component, d->name that component and
 * d->ino its inode (0 when it does not exist).  A path that ends in a
 * directory ("/", "a/..", "a/.") gives PCW_ET_IS_DIR with d->ino set.
 * With PCW_LOOKUP_PARENTS a missing intermediate directory is not an
 * error: d->missing lists what is to be made below d->parent.  With
 * PCW_LOOKUP_NO_NEW_SYMLINKS a symlink this run made is never followed.
 */
errcode_t pcw_walk(pcw_fs *pfs, ext2_ino_t start, const char *path, int flags,
		   struct pcw_dest *d)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode;
	char *buf = NULL;
	const char *p, *c;
	ext2_ino_t dir = start, ino;
	unsigned follows = 0;
	size_t n;
	int ftype;
	errcode_t err;

	memset(d, 0, sizeof(*d));
	p = path;
	for (;;) {
		struct pcw_dir *dd;
		bool last;

		n = next_component(&p, &c);
		if (n == 0 || (n == 1 && c[0] == '.' && only_dots(p))) {
			d->ino = dir;
			err = PCW_ET_IS_DIR;
			goto out;
		}
		if (n == 1 && c[0] == '.')
			continue;
		if (n > EXT2_NAME_LEN) {
			err = PCW_ET_NAME_TOO_LONG;
			goto out;
		}
		last = only_dots(p) && !(flags & PCW_LOOKUP_DIRECTORY);
		err = pcw_dir_open(pfs, dir, &dd);
		if (!err)
			err = pcw_dir_lookup_name(pfs, dd, c, n, &ino, &ftype,
						  d->name);
		if (last && !is_dotdot(c, n)) {
			if (err && err != EXT2_ET_FILE_NOT_FOUND)
				goto out;
			d->parent = dir;
			/*
			 * A name that exists keeps its spelling (in a
			 * casefolded directory it may differ from C): what
			 * replaces it by name, --atomic's swap, names it so.
			 */
			if (err) {
				memcpy(d->name, c, n);
				d->name[n] = 0;
			}
			d->ino = err ? 0 : ino;
			err = 0;
			goto out;
		}
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			if (!(flags & PCW_LOOKUP_PARENTS)) {
				err = PCW_ET_NO_PARENT;
				goto out;
			}
			d->parent = dir;
			err = missing_dirs(c, &d->missing, d->name);
			goto out;
		}
		if (err)
			goto out;
		if (ftype == EXT2_FT_DIR) {
			dir = ino;
			continue;
		}
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
					     sizeof(inode));
		if (err)
			goto out;
		if (LINUX_S_ISDIR(inode.i_mode)) {
			dir = ino;
			continue;
		}
		if (!LINUX_S_ISLNK(inode.i_mode)) {
			err = PCW_ET_NOT_DIR;
			goto out;
		}
		/* An intermediate symlink: splice its target in front. */
		if ((flags & PCW_LOOKUP_NO_NEW_SYMLINKS) &&
		    pcw_made_symlink(pfs, ino)) {
			err = PCW_ET_NEW_SYMLINK;
			goto out;
		}
		if (++follows > PCW_MAX_FOLLOW) {
			err = PCW_ET_SYMLINK_LOOP;
			goto out;
		}
		{
			char *target, *nbuf;

			err = pcw_read_link(pfs, ino, &inode, &target);
			if (err)
				goto out;
			nbuf = malloc(strlen(target) + strlen(p) + 2);
			if (!nbuf) {
				free(target);
				err = ENOMEM;
				goto out;
			}
			strcpy(nbuf, target);
			strcat(nbuf, "/");
			strcat(nbuf, p);
			if (target[0] == '/')
				dir = EXT2_ROOT_INO;
			free(target);
			free(buf);
			buf = nbuf;
			p = buf;
		}
	}
out:
	free(buf);
	if (err && err != PCW_ET_IS_DIR)
		pcw_dest_free(d);
	return err;
}

bool pcw_dest_same(pcw_fs *pfs, const struct pcw_dest *a,
		   const struct pcw_dest *b)
{
	struct pcw_dir *d;

	if (a->ino || b->ino)
		return a->ino == b->ino && a->ino;
	if (a->parent != b->parent || !a->parent ||
	    (a->missing && a->missing[0]) || (b->missing && b->missing[0]))
		return false;	/* to be made: compared by their paths */
	if (!pfs || pfs->magic != PCW_MAGIC_FS ||
	    pcw_dir_open(pfs, a->parent, &d))
		return !strcmp(a->name, b->name);
	return pcw_dir_same_name(d, a->name, strlen(a->name), b->name,
				 strlen(b->name));
}

errcode_t pcw_dest_lookup(pcw_fs *pfs, const char *path, int flags,
			  struct pcw_dest *d)
{
	struct ext2_inode_large inode;
	bool trailing_slash;
	errcode_t err;

	memset(d, 0, sizeof(*d));
	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (path[0] != '/')
		return PCW_ET_RELATIVE_PATH;
	trailing_slash = path[strlen(path) - 1] == '/';
	err = pcw_walk(pfs, EXT2_ROOT_INO, path, flags, d);
	if (err)
		return err;
	/*
	 * A path that ends in '/' names a directory, never a file to create:
	 * a missing one is a directory to make with PCW_LOOKUP_PARENTS (the
	 * caller puts its file in it), else "not a directory", as cp(1) says
	 * of "cp f missing/".
	 */
	if (trailing_slash && !d->ino) {
		if (!(flags & PCW_LOOKUP_PARENTS))
			return PCW_ET_SLASH_NOT_DIR;
		return PCW_ET_IS_DIR;
	}
	if (!d->ino || d->missing) {
		struct pcw_dir *dd;

		/* A directory pcwrite (and the kernel) can add a name to. */
		err = pcw_dir_open(pfs, d->parent, &dd);
		return err ? err : pcw_may_create(pfs, dd);
	}
	err = ext2fs_read_inode_full(pfs->fs, d->ino,
				     (struct ext2_inode *)&inode, sizeof(inode));
	if (err)
		return err;
	if (LINUX_S_ISLNK(inode.i_mode))
		return PCW_ET_DEST_SYMLINK;
	if (LINUX_S_ISDIR(inode.i_mode))
		return PCW_ET_IS_DIR;
	if (trailing_slash)
		return PCW_ET_NOT_DIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return PCW_ET_NOT_REGULAR;
	/* open(2) with O_TRUNC, or O_APPEND (-a, mode and owner kept). */
	err = pcw_may_write(&inode, flags & PCW_LOOKUP_APPEND);
	if (err)
		return err;
	if (inode.i_flags & (EXT4_ENCRYPT_FL | EXT4_VERITY_FL))
		return PCW_ET_UNSUPP_INODE;
	return 0;
}

/* --parents: a new directory's owner as --owner/--group say, mode 0755. */
void pcw_fill_parent(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_file_params *fp = arg;

	if (fp->flags & PCW_FILE_SET_UID)
		pcw_inode_set_owner(inode, fp->uid, inode_gid(*inode));
	if (fp->flags & PCW_FILE_SET_GID)
		pcw_inode_set_owner(inode, inode_uid(*inode), fp->gid);
}

/*
 * Make every directory of d->missing below d->parent (mode 0755, FILL sets
 * the owner); *parent is the last one.  One that exists already (made by
 * an earlier file of this run) is looked up, not made again.  A failed
 * mkdir leaves nothing behind, and the directories made before it are
 * whole.
 */
errcode_t pcw_make_dirs(pcw_fs *pfs, const struct pcw_dest *d,
			pcw_fill_fn fill, void *arg, ext2_ino_t *parent)
{
	const char *p = d->missing, *c;
	ext2_ino_t dir = d->parent;
	char name[EXT2_NAME_LEN + 1];
	size_t n;
	errcode_t err = 0;

	while ((n = next_component(&p, &c))) {
		struct pcw_dir *dd, *nd;
		ext2_ino_t ino;
		int ftype;

		if (n > EXT2_NAME_LEN) {
			err = PCW_ET_NAME_TOO_LONG;
			break;
		}
		memcpy(name, c, n);
		name[n] = 0;
		err = pcw_dir_open(pfs, dir, &dd);
		if (err)
			break;
		err = pcw_dir_lookup(pfs, dd, name, n, &ino, &ftype);
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			err = pcw_mkdir(pfs, dd, name, 0755, fill, arg, &nd);
			if (!err)
				ino = pcw_dir_ino(nd);
		} else if (!err) {
			/* It must be a directory now. */
			err = pcw_dir_open(pfs, ino, &nd);
		}
		if (err)
			break;
		dir = ino;
	}
	*parent = dir;
	return err;
}

errcode_t pcw_fs_error_dir(pcw_fs *pfs, char **path)
{
	char *name = NULL;
	errcode_t err;

	*path = NULL;
	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (!pfs->error_dir)
		return ENOENT;
	err = ext2fs_get_pathname(pfs->fs, pfs->error_dir, 0, &name);
	if (err)
		return err;
	*path = strdup(name);
	ext2fs_free_mem(&name);
	return *path ? 0 : ENOMEM;
}

static int ftype_of(unsigned mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:	return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR:	return EXT2_FT_DIR;
	case LINUX_S_IFCHR:	return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK:	return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO:	return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK:	return EXT2_FT_SOCK;
	case LINUX_S_IFLNK:	return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

/*
 * The last step of every create: the name.  On failure the new inode (and
 * its blocks, for a directory) goes again.
 */
static errcode_t link_new(pcw_fs *pfs, struct pcw_dir *parent,
			  const char *name, ext2_ino_t ino,
			  struct ext2_inode_large *inode)
{
	errcode_t err = pcw_dir_add(pfs, parent, name, strlen(name), ino,
				    ftype_of(inode->i_mode));

	if (err)
		pcw_inode_uncommit(pfs, ino, inode);
	return err;
}

/*
 * Room for a new inode, BLOCKS of its own and its name in PARENT, checked
 * before anything is written: a refused create leaves the image as it was.
 */
static errcode_t check_room(pcw_fs *pfs, struct pcw_dir *parent,
			    const char *name, blk64_t blocks)
{
	errcode_t err = pcw_may_create(pfs, parent);

	if (err)
		return err;
	if (pfs->fs->super->s_free_inodes_count == 0)
		return PCW_ET_NO_INODES;
	return pcw_dir_can_add(pfs, parent, name, strlen(name), blocks);
}

/* Could NAME (with EXTRA blocks of its own) be made in directory PARENT? */
errcode_t pcw_check_create(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			   blk64_t extra)
{
	struct pcw_dir *d;
	errcode_t err = pcw_dir_open(pfs, parent, &d);

	if (!err)
		err = check_room(pfs, d, name, extra);
	return err;
}

/*
 * A new inode of MODE named NAME in PARENT, written and linked.  INODE
 * comes back as written; FILL, when given, sets it up further (owner,
 * times, device numbers, a fast symlink's target) before it is written.
 */
errcode_t pcw_create(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     unsigned mode, void (*fill)(struct ext2_inode_large *,
						 void *), void *arg,
		     struct ext2_inode_large *inode, ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	ext2_ino_t ino;
	errcode_t err;

	err = check_room(pfs, parent, name, 0);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent), mode, inode,
				      &ino);
	if (err)
		return err;
	if (LINUX_S_ISREG(mode) && ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, ino, inode);
		if (err)
			return err;
	}
	if (fill)
		fill(inode, arg);
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (!err)
		err = link_new(pfs, parent, name, ino, inode);
	if (err)
		return err;
	*ret = ino;
	return 0;
}

/*
 * mkdir: the inode, its first block ("." and ".."), the name in PARENT, and
 * the parent's link count, in that order; undone step by step on failure.
 */
errcode_t pcw_mkdir(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		    unsigned perm, void (*fill)(struct ext2_inode_large *,
						void *), void *arg,
		    struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_inode_large inode_buf, *inode;
	struct pcw_dir *d = NULL;
	ext2_ino_t ino;
	errcode_t err;

	inode = calloc(1, EXT2_INODE_SIZE(fs->super) > sizeof(inode_buf) ?
			  EXT2_INODE_SIZE(fs->super) : sizeof(inode_buf));
	if (!inode)
		return ENOMEM;
	err = pcw_dir_check_link(pfs, parent);
	if (!err)
		err = check_room(pfs, parent, name, 1);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent),
				      LINUX_S_IFDIR | (perm & 07777), inode, &ino);
	if (err)
		goto out;
	inode->i_links_count = 2;
	/*
	 * EXT4_FL_INHERITED: casefold is inherited by a new directory (masked
	 * off for other files, EXT4_REG_FLMASK).  The project flag is
	 * dquot.c's; the others of the set pcwrite does not pass on (yet).
	 */
	inode->i_flags |= pcw_dir_inode(parent)->i_flags & EXT4_CASEFOLD_FL;
	if (ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, ino, inode);
		if (err)
			goto out;
	}
	if (fill)
		fill(inode, arg);
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (err)
		goto out;
	err = pcw_dir_new(pfs, ino, inode, pcw_dir_ino(parent), &d);
	if (err) {
		pcw_inode_uncommit(pfs, ino, inode);
		goto out;
	}
	err = pcw_dir_add(pfs, parent, name, strlen(name), ino, EXT2_FT_DIR);
	if (err) {
		pcw_dir_discard(pfs, d);
		pcw_inode_uncommit(pfs, ino, inode);
		goto out;
	}
	err = pcw_dir_inc_link(pfs, parent);
	/*
	 * In place, a new directory is committed at once.  Its block names
	 * its parent ("..") and its parent's block names it: with a parent
	 * made in the same commit, whichever inode the inode tables write
	 * first, a kill before the other leaves a directory e2fsck reads that
	 * names an inode not yet written.  Committed alone, its names below
	 * go into a directory block that exists, written after the inodes
	 * they name (io.h's phases).  The journal makes each commit whole
	 * instead.
	 */
	if (!err && !pfs->journaled)
		err = pcw_fs_commit(pfs);
	if (!err)
		*ret = d;
out:
	free(inode);
	return err;
}

struct symlink_arg {
	const char	*target;
	size_t		len;
	void		(*fill)(struct ext2_inode_large *, void *);
	void		*arg;
};

static void fill_symlink(struct ext2_inode_large *inode, void *p)
{
	struct symlink_arg *s = p;

	if (s->fill)
		s->fill(inode, s->arg);
	inode->i_size = s->len;
	if (s->len < sizeof(inode->i_block)) {
		inode->i_flags &= ~EXT4_EXTENTS_FL;
		memset(inode->i_block, 0, sizeof(inode->i_block));
		memcpy(inode->i_block, s->target, s->len);
	}
}

errcode_t pcw_symlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		      const char *target, void (*fill)(struct ext2_inode_large *,
						       void *), void *arg,
		      ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	struct symlink_arg s = { target, strlen(target), fill, arg };
	struct ext2_inode_large *inode;
	ext2_ino_t ino;
	blk64_t cluster = 0, pblk;
	unsigned char *blk = NULL;
	errcode_t err;

	if (s.len == 0 || s.len >= fs->blocksize || s.len >= 4096)
		return ENAMETOOLONG;
	inode = calloc(1, pcw_inode_buf_size(fs));
	if (!inode)
		return ENOMEM;
	err = check_room(pfs, parent, name,
			 s.len < sizeof(inode->i_block) ? 0 : 1);
	if (!err)
		err = pcw_inode_alloc(pfs, pcw_dir_ino(parent),
				      LINUX_S_IFLNK | 0777, inode, &ino);
	if (err)
		goto out;
	fill_symlink(inode, &s);
	if (s.len >= sizeof(inode->i_block)) {
		/* A slow symlink: its block, mapped like file data. */
		blk = calloc(1, fs->blocksize);
		err = blk ? 0 : ENOMEM;
		if (!err)
			err = ext2fs_new_block2(fs, ext2fs_find_inode_goal(fs, ino,
					(struct ext2_inode *)inode, 0), NULL,
					&cluster);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			err = ENOSPC;
		if (err)
			goto out;
		pblk = cluster;
		memcpy(blk, target, s.len);
		err = io_channel_write_blk64(fs->io, pblk, 1, blk);
		if (err)
			goto out;
		ext2fs_block_alloc_stats2(fs, cluster, +1);
		err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)inode, 1);
		if (!err && ext2fs_has_feature_extents(fs->super)) {
			ext2_extent_handle_t h;

			err = pcw_init_extent_tree(fs, ino, inode);
			if (!err)
				err = ext2fs_extent_open2(fs, ino,
						(struct ext2_inode *)inode, &h);
			if (!err) {
				err = pcw_extent_insert(h, 0, pblk, 1, false);
				ext2fs_extent_free(h);
			}
		} else if (!err) {
			inode->i_block[0] = pblk;
		}
		if (err) {
			ext2fs_block_alloc_stats2(fs, cluster, -1);
			goto out;
		}
	}
	err = pcw_inode_commit_new(pfs, ino, inode);
	if (!err)
		err = link_new(pfs, parent, name, ino, inode);
	if (err) {
		if (cluster)
			ext2fs_block_alloc_stats2(fs, cluster, -1);
		goto out;
	}
	pcw_note_symlink(pfs, ino);
	*ret = ino;
out:
	free(blk);
	free(inode);
	return err;
}

/* INO gained or lost a name: its link count and change time. */
static errcode_t relink(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode, int delta)
{
	errcode_t err;

	inode->i_links_count += delta;
	pcw_inode_set_now(pfs, inode, PCW_TIME_C);
	err = ext2fs_write_inode_full(pfs->fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	if (err)
		pfs->meta_error = true;
	return err;
}

/* A hard link: NAME in PARENT for the existing non-directory INO. */
errcode_t pcw_link(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		   ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	err = pcw_read_nondir(pfs->fs, ino, &inode);
	if (!err)
		err = pcw_may_link(pfs, parent, &inode);
	if (err)
		return err;
	if (!inode.i_links_count)
		return PCW_ET_CORRUPT;
	if (inode.i_links_count >= EXT2_LINK_MAX)
		return EMLINK;
	err = pcw_dir_can_add(pfs, parent, name, strlen(name), 0);
	if (!err)
		err = pcw_dir_add(pfs, parent, name, strlen(name), ino,
				  ftype_of(inode.i_mode));
	if (err)
		return err;
	return relink(pfs, ino, &inode, 1);
}

/*
 * Remove NAME (the non-directory INO) from PARENT: the name first, then the
 * link count, then, at the last link, the inode and its blocks.
 */
errcode_t pcw_unlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;

	err = pcw_may_remove(pfs, parent, ino, false, &inode);
	if (err)
		return err;
	err = pcw_dir_remove(pfs, parent, name, strlen(name));
	if (err)
		return err;
	if (inode.i_links_count > 1)
		return relink(pfs, ino, &inode, -1);
	err = pcw_inode_release(pfs, ino, &inode);
	if (!err && LINUX_S_ISDIR(inode.i_mode))
		pcw_dir_forget(pfs, ino);
	return err;
}

/*
 * Undo a name this run just made, for an entry refused half-way (its
 * attributes did not fit): NAME goes from PARENT and INO loses that link;
 * at its last the inode goes, with its blocks and attribute values, and a
 * directory's ".." leaves PARENT's count.  No may_* check: it undoes this
 * run's own create, as ext4_mknod's failure path drops the new inode
 * (iput with i_nlink 0) whatever the directory's flags.
 */
errcode_t pcw_unmake(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	bool dir;
	errcode_t err;

	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(pfs->fs, ino, (struct ext2_inode *)&inode,
				     sizeof(inode));
	if (err)
		return err;
	dir = LINUX_S_ISDIR(inode.i_mode);
	err = pcw_dir_remove(pfs, parent, name, strlen(name));
	if (!err && dir)
		err = pcw_dir_dec_link(pfs, parent);
	if (err)
		return err;
	if (!dir && inode.i_links_count > 1)
		return relink(pfs, ino, &inode, -1);
	if (dir)
		pcw_dir_forget(pfs, ino);
	return pcw_inode_release(pfs, ino, &inode);
}
