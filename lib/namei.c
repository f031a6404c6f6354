/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * namei.c: path resolution inside the image, parents, create; opening a
 * file for writing (truncate itself is in truncate.c).
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

#include "internal.h"

#define PCW_MAX_FOLLOW	40	/* the kernel's MAXSYMLINKS */

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
			err = pcw_dir_lookup(pfs, dd, c, n, &ino, &ftype);
		if (last && !is_dotdot(c, n)) {
			if (err && err != EXT2_ET_FILE_NOT_FOUND)
				goto out;
			d->parent = dir;
			memcpy(d->name, c, n);
			d->name[n] = 0;
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
static void fill_parent(struct ext2_inode_large *inode, void *arg)
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

static void fill_file(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_file_params *fp = arg;

	inode->i_mode = LINUX_S_IFREG |
			((fp->flags & PCW_FILE_SET_MODE) ? (fp->mode & 07777)
							 : 0644);
	fill_parent(inode, arg);
}

/* A new regular file in PARENT. */
static errcode_t create_file(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			     const struct pcw_file_params *fp,
			     struct ext2_inode_large *inode, ext2_ino_t *ret)
{
	struct pcw_dir *dd;
	errcode_t err;

	err = pcw_dir_open(pfs, parent, &dd);
	if (!err)
		err = pcw_create(pfs, dd, name, LINUX_S_IFREG | 0644, fill_file,
				 (void *)fp, inode, ret);
	return err;
}

/*
 * An inline-data file becomes an ordinary one (ext4 converts it when a write
 * outgrows the inode; pcwrite converts on every write, since libext2fs
 * 1.47.0's inline write path corrupts data).  The old contents, if kept,
 * come back in *data for the page cache.  ext2fs_punch strips the inline
 * data and its system.data attribute; the inode is read again after it, as
 * the attribute lives in the inode's extra space.
 */
static errcode_t unpack_inline(pcw_fs *pfs, ext2_ino_t ino,
			       struct ext2_inode_large *inode, bool keep,
			       void **data, size_t *size)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	uint64_t file_size = EXT2_I_SIZE(inode);
	size_t sz = 0;
	void *buf = NULL;
	struct pcw_ea_change eac;
	errcode_t err, err2;

	*data = NULL;
	*size = 0;
	if (keep) {
		err = ext2fs_inline_data_size(fs, ino, &sz);
		if (err)
			return err;
		buf = calloc(1, sz + 1);
		if (!buf)
			return ENOMEM;
		err = ext2fs_inline_data_get(fs, ino, (struct ext2_inode *)inode,
					     buf, &sz);
		if (err)
			goto fail;
		/* The inline area is returned whole: the file is i_size long. */
		if (sz > file_size)
			sz = file_size;
		/* Room for the bytes as blocks, checked before they go. */
		err = pcw_fs_check_space(pfs, EXT2FS_B2C(fs,
					 (sz + fs->blocksize - 1) / fs->blocksize));
		if (err)
			goto fail;
	}
	/*
	 * ext2fs_punch writes INODE, then rewrites the attributes without
	 * system.data; INODE is read again after begin, which may have given
	 * it an attribute block of its own.
	 */
	err = pcw_ea_change_begin(pfs, ino, NULL, 0, &eac);
	if (err)
		goto fail;
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode, isize);
	if (!err)
		err = ext2fs_punch(fs, ino, (struct ext2_inode *)inode, NULL,
				   0, ~0ULL);
	err2 = pcw_ea_change_end(pfs, ino, &eac);
	if (!err)
		err = err2;
	if (!err)
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
					     isize);
	if (err)
		goto fail;
	inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(inode->i_block, 0, sizeof(inode->i_block));
	if (ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, ino, inode);
		if (err)
			goto fail;
	}
	/* Past the inline bytes the file reads as zeroes: a hole now. */
	err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode,
				    keep ? file_size : 0);
	if (err)
		goto fail;
	*data = buf;
	*size = sz;
	return 0;
fail:
	free(buf);
	return err;
}

/*
 * An existing file: truncate it (the shell's '>') unless appending or
 * writing at an offset; it keeps its inode, and its mode and owner unless
 * told otherwise.
 */
static errcode_t open_existing(pcw_fs *pfs, ext2_ino_t ino,
			       const struct pcw_file_params *fp,
			       struct ext2_inode_large *inode,
			       void **inline_data, size_t *inline_size)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	errcode_t err;

	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
				     isize);
	if (err)
		return err;
	/* Made empty a moment ago by a tree, with its attributes. */
	if (fp->flags & PCW_FILE_FRESH)
		return 0;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		err = unpack_inline(pfs, ino, inode,
				    fp->flags & (PCW_FILE_APPEND | PCW_FILE_KEEP),
				    inline_data, inline_size);
		if (err)
			return err;
	} else if (!(fp->flags & (PCW_FILE_APPEND | PCW_FILE_KEEP))) {
		/* A refusal (a damaged file) has changed nothing. */
		err = pcw_truncate_blocks(fs, ino, inode);
		if (err)
			return err;
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode, 0);
		if (err)
			return err;
		/* The empty file is an extent file on an extent filesystem,
		   as a new one would be, whatever it was before. */
		if (ext2fs_has_feature_extents(fs->super)) {
			err = pcw_init_extent_tree(fs, ino, inode);
			if (err)
				return err;
		}
	}
	if (fp->flags & PCW_FILE_SET_MODE)
		inode->i_mode = (inode->i_mode & ~07777) | (fp->mode & 07777);
	fill_parent(inode, (void *)fp);
	pcw_inode_set_now(pfs, inode, PCW_TIME_M | PCW_TIME_C);
	return 0;
}

/*
 * Before anything is written: generic_write_checks(), a write that starts
 * at or past the largest file size fails with EFBIG, the image untouched.
 * The file's kind is what it will be once opened: an existing file written
 * at an offset or appended to keeps its mapping; anything else (a new file,
 * a truncated one, an inline one unpacked) is an extent file on an extent
 * filesystem.
 */
static errcode_t check_start(ext2_filsys fs, const struct pcw_dest *d,
			     const struct pcw_file_params *fp)
{
	struct ext2_inode_large inode;
	bool extent_file = ext2fs_has_feature_extents(fs->super);
	uint64_t start;
	errcode_t err;

	if (d->ino && !(fp->flags & PCW_FILE_FRESH)) {
		memset(&inode, 0, sizeof(inode));
		err = ext2fs_read_inode_full(fs, d->ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode));
		/* As open(2) and chmod/chown would ask (see may.c). */
		if (!err)
			err = pcw_may_write(&inode, fp->flags & PCW_FILE_APPEND);
		if (!err && (fp->flags & (PCW_FILE_SET_MODE | PCW_FILE_SET_UID |
					  PCW_FILE_SET_GID)))
			err = pcw_may_setattr(&inode);
		if (err)
			return err;
	}
	if (!(fp->flags & (PCW_FILE_APPEND | PCW_FILE_KEEP)))
		return 0;
	start = (fp->flags & PCW_FILE_KEEP) ? fp->offset : 0;
	if (d->ino) {
		err = ext2fs_read_inode_full(fs, d->ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode));
		if (err)
			return err;
		if (!(inode.i_flags & EXT4_INLINE_DATA_FL))
			extent_file = inode.i_flags & EXT4_EXTENTS_FL;
		/*
		 * Block-mapped on bigalloc: no kernel writes it (bigalloc
		 * needs extents), and pending blocks are freed a block at a
		 * time, which on bigalloc would free a shared cluster twice.
		 */
		if (!extent_file && EXT2FS_CLUSTER_RATIO(fs) > 1)
			return PCW_ET_UNSUPP_INODE;
		if (fp->flags & PCW_FILE_APPEND)
			start = EXT2_I_SIZE(&inode);
	}
	return start >= pcw_max_file_bytes(fs, extent_file) ?
	       PCW_ET_FILE_TOO_BIG : 0;
}

errcode_t pcw_mapping_open(pcw_fs *pfs, const struct pcw_dest *d,
			   const struct pcw_file_params *fp,
			   struct pcw_mapping **ret)
{
	struct pcw_mapping *m;
	ext2_filsys fs;
	unsigned page_size;
	ext2_ino_t parent;
	void *inline_data = NULL;
	size_t inline_size = 0;
	errcode_t err;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	fs = pfs->fs;
	page_size = fp->page_size ? fp->page_size
				  : (fs->blocksize > 4096 ? fs->blocksize : 4096);
	if ((page_size & (page_size - 1)) || page_size < fs->blocksize ||
	    page_size > PCW_MAX_PAGE_SIZE)
		return PCW_ET_BAD_PAGE_SIZE;
	/*
	 * A refusal before the first write leaves the image untouched: the
	 * room for the new file (or its first missing parent) and its name
	 * is checked before the superblock is marked.
	 */
	if (!d->ino) {
		const char *first = d->missing ? d->missing : d->name;
		size_t len = strcspn(first, "/");
		char name[EXT2_NAME_LEN + 1];

		if (len > EXT2_NAME_LEN)
			return PCW_ET_NAME_TOO_LONG;
		memcpy(name, first, len);
		name[len] = 0;
		err = pcw_check_create(pfs, d->parent, name, d->missing ? 1 : 0);
		if (err)
			return err;
	}
	err = check_start(fs, d, fp);
	if (err)
		return err;
	err = pcw_fs_begin_write(pfs);
	if (err)
		return err;
	fs = pfs->fs;	/* --undo opens the image anew */

	m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;
	m->magic = PCW_MAGIC_MAPPING;
	m->lost_from = UINT64_MAX;
	m->data_from = UINT64_MAX;
	m->ei.pfs = pfs;
	m->ei.fs = fs;
	m->name = fp->report_name ? fp->report_name : "";
	m->page_size = page_size;
	m->page_shift = __builtin_ctz(page_size);
	m->blocksize = fs->blocksize;
	m->blkbits = __builtin_ctz(fs->blocksize);
	m->bpp = page_size / fs->blocksize;
	m->a_ops = (fp->flags & PCW_FILE_NO_DELALLOC) ? &pcw_aops
						       : &pcw_da_aops;
	m->ei.inode = calloc(1, EXT2_INODE_SIZE(fs->super) > sizeof(*m->ei.inode) ?
			     EXT2_INODE_SIZE(fs->super) : sizeof(*m->ei.inode));
	if (!m->ei.inode) {
		err = ENOMEM;
		goto fail;
	}

	if (d->ino) {
		m->ei.ino = d->ino;
		err = open_existing(pfs, d->ino, fp, m->ei.inode, &inline_data,
				    &inline_size);
	} else {
		parent = d->parent;
		err = 0;
		if (d->missing)
			err = pcw_make_dirs(pfs, d, fill_parent, (void *)fp,
					    &parent);
		if (!err)
			err = create_file(pfs, parent, d->name, fp, m->ei.inode,
					  &m->ei.ino);
	}
	/* its data may change: a held copy of it is stale (idnames.c) */
	if (m->ei.ino)
		pcw_idnames_note_write(pfs, m->ei.ino);
	if (err)
		goto fail;

	if (m->ei.inode->i_flags & EXT4_EXTENTS_FL) {
		err = ext2fs_extent_open2(fs, m->ei.ino,
					  (struct ext2_inode *)m->ei.inode,
					  &m->ei.handle);
		if (!err)
			err = pcw_extent_end(&m->ei, &m->ei.extent_end);
		if (err)
			goto fail;
	}
	m->i_size = m->i_disksize = EXT2_I_SIZE(m->ei.inode);
	m->maxbytes = pcw_max_file_bytes(fs, m->ei.handle != NULL);
	m->start = (fp->flags & PCW_FILE_KEEP) ? fp->offset
		   : (fp->flags & PCW_FILE_APPEND) ? m->i_size : 0;
	err = pcw_mapping_init_cache(m, fp->dirty_limit ? fp->dirty_limit
						       : PCW_DEFAULT_DIRTY_LIMIT);
	if (err)
		goto fail;
	if (inline_size) {
		/*
		 * The old inline bytes are the first page's data now; the
		 * size on disk covers none of it until writeback.
		 */
		uint64_t isize = m->i_size;

		m->i_disksize = 0;
		err = pcw_mapping_preload(m, inline_data, inline_size);
		if (err)
			goto fail;
		if (isize > m->i_size)
			m->i_size = isize;
	}
	/* A tree's new file is on disk as it is: nothing to write yet. */
	if (!(fp->flags & PCW_FILE_FRESH) || inline_size) {
		err = pcw_write_inode(m);
		if (err)
			goto fail;
	}
	free(inline_data);
	*ret = m;
	return 0;
fail:
	free(inline_data);
	pcw_mapping_free(m);
	return err;
}

uint64_t pcw_mapping_start(const struct pcw_mapping *m)
{
	return m->start;
}

unsigned pcw_mapping_page_size(const struct pcw_mapping *m)
{
	return m->page_size;
}

errcode_t pcw_mapping_finish(struct pcw_mapping *m,
			     struct pcw_file_info *info)
{
	uint64_t n;
	errcode_t err, err2;

	if (!m || m->magic != PCW_MAGIC_MAPPING)
		return PCW_ET_MAGIC_MAPPING;
	err = m->a_ops->writepages(m, &n);
	/* Reservations no write committed (a short copy never retried). */
	pcw_drop_delayed(m);
	pcw_drop_clean_pages(m);
	/* writepages wrote it, unless something changed after. */
	if (m->ei.dirty_inode ||
	    m->i_disksize != (uint64_t)EXT2_I_SIZE(m->ei.inode)) {
		err2 = pcw_write_inode(m);
		if (!err)
			err = err2;
	}
	if (info) {
		memset(info, 0, sizeof(*info));
		pcw_inode_attrs(m->ei.ino, m->ei.inode, &info->attrs);
		info->size = m->i_disksize;
		info->blocks = ext2fs_get_stat_i_blocks(m->ei.fs,
					(struct ext2_inode *)m->ei.inode);
		info->pages = m->seq;
		info->lost_from = m->lost_from;
		err2 = pcw_count_extents(&m->ei, &info->extents);
		if (!err)
			err = err2;
	}
	/* The file is done: its metadata leaves the block cache. */
	if (!m->tree_commits) {
		err2 = pcw_fs_commit(m->ei.pfs);
		if (!err)
			err = err2;
	}
	return err;
}

void pcw_mapping_free(struct pcw_mapping *m)
{
	if (!m)
		return;
	if (m->ei.reserved)
		pcw_release_reservation(&m->ei, m->ei.reserved);
	if (m->ei.handle)
		ext2fs_extent_free(m->ei.handle);
	pcw_mapping_free_cache(m);
	free(m->ei.inode);
	m->magic = 0;
	free(m);
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
