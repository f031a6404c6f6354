/*
 * namei.c: path resolution inside the image, parents, create; opening a
 * file for writing (truncate itself is in truncate.c).
 *
 * Paths are resolved inside the image, never on the host: a symlink in an
 * intermediate component is followed, an absolute target taken relative to
 * the image root (a merged-/usr image's /lib -> usr/lib works).  A final
 * component that is a symlink is refused, not followed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PCW_MAX_COMPONENTS	4096

static errcode_t read_inode(ext2_filsys fs, ext2_ino_t ino,
			    struct ext2_inode *inode)
{
	return ext2fs_read_inode(fs, ino, inode);
}

/* A directory pcwrite can add names to. */
static errcode_t check_dir(const struct ext2_inode *dir)
{
	if (dir->i_flags & (EXT4_ENCRYPT_FL | EXT4_CASEFOLD_FL))
		return PCW_ET_UNSUPP_INODE;
	return 0;
}

void pcw_dest_free(struct pcw_dest *d)
{
	free(d->missing);
	d->missing = NULL;
}

static errcode_t dest_lookup(ext2_filsys fs, char *copy, bool trailing_slash,
			     int flags, struct pcw_dest *d);

errcode_t pcw_dest_lookup(pcw_fs *pfs, const char *path, int flags,
			  struct pcw_dest *d)
{
	char *copy;
	errcode_t err;

	memset(d, 0, sizeof(*d));
	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (path[0] != '/')
		return PCW_ET_RELATIVE_PATH;
	copy = strdup(path);
	if (!copy)
		return ENOMEM;
	err = dest_lookup(pfs->fs, copy, path[strlen(path) - 1] == '/', flags,
			  d);
	free(copy);
	return err;
}

/* Join comp[from..to) with '/'. */
static char *join(char **comp, size_t from, size_t to)
{
	size_t len = 1, k;
	char *s;

	for (k = from; k < to; k++)
		len += strlen(comp[k]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (k = from; k < to; k++) {
		if (k > from)
			strcat(s, "/");
		strcat(s, comp[k]);
	}
	return s;
}

static errcode_t dest_lookup(ext2_filsys fs, char *copy, bool trailing_slash,
			     int flags, struct pcw_dest *d)
{
	struct ext2_inode inode;
	char *comp[PCW_MAX_COMPONENTS];
	char *save = NULL, *tok;
	size_t n = 0, i;
	ext2_ino_t dir = EXT2_ROOT_INO, ino;
	errcode_t err;

	for (tok = strtok_r(copy, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (strlen(tok) > EXT2_NAME_LEN)
			return PCW_ET_NAME_TOO_LONG;
		if (n == PCW_MAX_COMPONENTS)
			return ENAMETOOLONG;
		comp[n++] = tok;
	}
	if (n == 0) {
		d->ino = EXT2_ROOT_INO;
		return PCW_ET_IS_DIR;
	}

	for (i = 0; i + 1 < n; i++) {
		err = ext2fs_lookup(fs, dir, comp[i], strlen(comp[i]), NULL,
				    &ino);
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			if (!(flags & PCW_LOOKUP_PARENTS))
				return PCW_ET_NO_PARENT;
			/* What is missing is created by mapping_open. */
			err = read_inode(fs, dir, &inode);
			if (!err)
				err = check_dir(&inode);
			if (err)
				return err;
			d->missing = join(comp, i, n - 1);
			if (!d->missing)
				return ENOMEM;
			d->parent = dir;
			strcpy(d->name, comp[n - 1]);
			return 0;
		}
		if (err)
			return err;
		err = read_inode(fs, ino, &inode);
		if (err)
			return err;
		if (LINUX_S_ISLNK(inode.i_mode)) {
			err = ext2fs_follow_link(fs, EXT2_ROOT_INO, dir, ino,
						 &ino);
			if (err == EXT2_ET_SYMLINK_LOOP)
				return PCW_ET_SYMLINK_LOOP;
			if (err == EXT2_ET_FILE_NOT_FOUND)
				return PCW_ET_NO_PARENT;
			if (err)
				return err;
			err = read_inode(fs, ino, &inode);
			if (err)
				return err;
		}
		if (!LINUX_S_ISDIR(inode.i_mode))
			return PCW_ET_NOT_DIR;
		dir = ino;
	}

	err = read_inode(fs, dir, &inode);
	if (err)
		return err;
	d->parent = dir;
	strcpy(d->name, comp[n - 1]);
	err = ext2fs_lookup(fs, dir, comp[n - 1], strlen(comp[n - 1]), NULL,
			    &ino);
	if (err == EXT2_ET_FILE_NOT_FOUND) {
		if (trailing_slash)
			return ENOENT;
		return check_dir(&inode);
	}
	if (err)
		return err;
	err = read_inode(fs, ino, &inode);
	if (err)
		return err;
	d->ino = ino;
	if (LINUX_S_ISLNK(inode.i_mode))
		return PCW_ET_DEST_SYMLINK;
	if (LINUX_S_ISDIR(inode.i_mode))
		return PCW_ET_IS_DIR;
	if (trailing_slash)
		return PCW_ET_NOT_DIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return PCW_ET_NOT_REGULAR;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	if (inode.i_flags & (EXT4_ENCRYPT_FL | EXT4_VERITY_FL))
		return PCW_ET_UNSUPP_INODE;
	return 0;
}

/*
 * Make INODE an empty extent file: ext2fs_extent_open2 gives an all-zero
 * i_block an extent header and sets EXTENTS_FL.
 */
static errcode_t init_extent_tree(ext2_filsys fs, ext2_ino_t ino,
				  struct ext2_inode_large *inode)
{
	ext2_extent_handle_t h;
	errcode_t err;

	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_EXTENTS_FL;
	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (!err)
		ext2fs_extent_free(h);
	return err;
}

/* A directory gained an entry: its mtime and ctime, as the kernel sets them. */
static void set_times(struct ext2_inode_large *inode, unsigned isize,
		      time_t now, bool create);

static errcode_t touch_dir(ext2_filsys fs, ext2_ino_t dir, time_t now)
{
	struct ext2_inode_large inode;
	errcode_t err = ext2fs_read_inode_full(fs, dir,
					       (struct ext2_inode *)&inode,
					       sizeof(inode));

	if (err)
		return err;
	set_times(&inode, EXT2_INODE_SIZE(fs->super), now, false);
	return ext2fs_write_inode_full(fs, dir, (struct ext2_inode *)&inode,
				       sizeof(inode));
}

/* ext2fs_link, growing the directory by a block when it is full. */
static errcode_t link_name(ext2_filsys fs, ext2_ino_t dir, const char *name,
			   ext2_ino_t ino, int type)
{
	errcode_t err = ext2fs_link(fs, dir, name, ino, type);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(fs, dir);
		if (!err)
			err = ext2fs_link(fs, dir, name, ino, type);
	}
	if (!err)
		err = touch_dir(fs, dir, fs->now);
	return err;
}

static void set_owner(struct ext2_inode *inode, const struct pcw_file_params *fp)
{
	if (fp->flags & PCW_FILE_SET_UID) {
		inode->i_uid = fp->uid & 0xffff;
		ext2fs_set_i_uid_high(*inode, fp->uid >> 16);
	}
	if (fp->flags & PCW_FILE_SET_GID) {
		inode->i_gid = fp->gid & 0xffff;
		ext2fs_set_i_gid_high(*inode, fp->gid >> 16);
	}
}

/* --parents: mkdir every missing component below d->parent. */
static errcode_t make_parents(pcw_fs *pfs, const struct pcw_dest *d,
			      const struct pcw_file_params *fp,
			      ext2_ino_t *parent)
{
	ext2_filsys fs = pfs->fs;
	char *copy, *tok, *save = NULL;
	ext2_ino_t dir = d->parent, ino;
	errcode_t err = 0;

	copy = strdup(d->missing);
	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		struct ext2_inode inode;

		bool made = false;

		/*
		 * Made by an earlier file of this run?  Look first: on a name
		 * that exists, ext2fs_mkdir fails only after writing the new
		 * directory's inode into a slot it leaves free.
		 */
		err = ext2fs_lookup(fs, dir, tok, strlen(tok), NULL, &ino);
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			made = true;
			err = ext2fs_mkdir(fs, dir, 0, tok);
			if (err == EXT2_ET_DIR_NO_SPACE) {
				err = ext2fs_expand_dir(fs, dir);
				if (!err)
					err = ext2fs_mkdir(fs, dir, 0, tok);
			}
			if (!err)
				err = touch_dir(fs, dir, fs->now);
			if (!err)
				err = ext2fs_lookup(fs, dir, tok, strlen(tok),
						    NULL, &ino);
		}
		if (!err && !made) {
			err = ext2fs_read_inode(fs, ino, &inode);
			if (!err && !LINUX_S_ISDIR(inode.i_mode))
				err = PCW_ET_NOT_DIR;
		}
		if (!err && made &&
		    (fp->flags & (PCW_FILE_SET_UID | PCW_FILE_SET_GID))) {
			err = ext2fs_read_inode(fs, ino, &inode);
			if (!err) {
				set_owner(&inode, fp);
				err = ext2fs_write_inode(fs, ino, &inode);
			}
		}
		if (err)
			break;
		dir = ino;
	}
	free(copy);
	*parent = dir;
	return err;
}

static void set_times(struct ext2_inode_large *inode, unsigned isize,
		      time_t now, bool create)
{
	inode->i_mtime = inode->i_ctime = (uint32_t)now;
	if (create)
		inode->i_atime = (uint32_t)now;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE && inode->i_extra_isize >= 24) {
		/* Seconds past 2038 go in the epoch bits; nanoseconds are 0. */
		uint32_t epoch = (uint32_t)(((int64_t)now - (int32_t)now) >> 32) & 3;

		inode->i_mtime_extra = inode->i_ctime_extra = epoch;
		if (create) {
			inode->i_atime_extra = epoch;
			inode->i_crtime = (uint32_t)now;
			inode->i_crtime_extra = epoch;
		}
	}
}

/* A new regular file in PARENT. */
static errcode_t create_file(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			     const struct pcw_file_params *fp,
			     struct ext2_inode_large *inode, ext2_ino_t *ret)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino;
	errcode_t err;

	err = ext2fs_new_inode(fs, parent, LINUX_S_IFREG | 0644, NULL, &ino);
	if (err == EXT2_ET_INODE_ALLOC_FAIL)
		return PCW_ET_NO_INODES;
	if (err)
		return err;
	/*
	 * A damaged inode bitmap can offer a live inode: never overwrite one
	 * (an unreadable one, a bad checksum on a never-used slot, is free).
	 */
	if (!ext2fs_read_inode(fs, ino, (struct ext2_inode *)inode) &&
	    inode->i_links_count && !inode->i_dtime)
		return PCW_ET_CORRUPT;

	memset(inode, 0, isize);
	inode->i_mode = LINUX_S_IFREG |
			((fp->flags & PCW_FILE_SET_MODE) ? (fp->mode & 07777)
							 : 0644);
	inode->i_links_count = 1;
	set_owner((struct ext2_inode *)inode, fp);
	if (isize > EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_extra_isize = sizeof(struct ext2_inode_large) -
				       EXT2_GOOD_OLD_INODE_SIZE;
	set_times(inode, isize, pfs->now, true);
	if (ext2fs_has_feature_extents(fs->super)) {
		err = init_extent_tree(fs, ino, inode);
		if (err)
			return err;
	}
	err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				      isize);
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	err = link_name(fs, parent, name, ino, EXT2_FT_REG_FILE);
	if (err) {
		/* Unlinked: a deleted inode again, not an orphan. */
		inode->i_links_count = 0;
		inode->i_dtime = (uint32_t)pfs->now;
		ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
					isize);
		ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
		return err;
	}
	*ret = ino;
	return 0;
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
	errcode_t err;

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
	err = ext2fs_punch(fs, ino, (struct ext2_inode *)inode, NULL, 0, ~0ULL);
	if (!err)
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
					     isize);
	if (err)
		goto fail;
	inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(inode->i_block, 0, sizeof(inode->i_block));
	if (ext2fs_has_feature_extents(fs->super)) {
		err = init_extent_tree(fs, ino, inode);
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
			err = init_extent_tree(fs, ino, inode);
			if (err)
				return err;
		}
	}
	if (fp->flags & PCW_FILE_SET_MODE)
		inode->i_mode = (inode->i_mode & ~07777) | (fp->mode & 07777);
	set_owner((struct ext2_inode *)inode, fp);
	set_times(inode, isize, pfs->now, false);
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
	struct ext2_inode inode;
	bool extent_file = ext2fs_has_feature_extents(fs->super);
	uint64_t start;
	errcode_t err;

	if (!(fp->flags & (PCW_FILE_APPEND | PCW_FILE_KEEP)))
		return 0;
	start = (fp->flags & PCW_FILE_KEEP) ? fp->offset : 0;
	if (d->ino) {
		err = ext2fs_read_inode(fs, d->ino, &inode);
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
	/* A refusal before the first write leaves the image untouched. */
	if (!d->ino && fs->super->s_free_inodes_count == 0)
		return PCW_ET_NO_INODES;
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
	m->pfs = pfs;
	m->fs = fs;
	m->name = fp->report_name ? fp->report_name : "";
	m->page_size = page_size;
	m->page_shift = __builtin_ctz(page_size);
	m->blocksize = fs->blocksize;
	m->blkbits = __builtin_ctz(fs->blocksize);
	m->bpp = page_size / fs->blocksize;
	m->a_ops = (fp->flags & PCW_FILE_NO_DELALLOC) ? &pcw_aops
						       : &pcw_da_aops;
	m->inode = calloc(1, EXT2_INODE_SIZE(fs->super) > sizeof(*m->inode) ?
			     EXT2_INODE_SIZE(fs->super) : sizeof(*m->inode));
	if (!m->inode) {
		err = ENOMEM;
		goto fail;
	}

	if (d->ino) {
		m->ino = d->ino;
		err = open_existing(pfs, d->ino, fp, m->inode, &inline_data,
				    &inline_size);
	} else {
		parent = d->parent;
		err = 0;
		if (d->missing)
			err = make_parents(pfs, d, fp, &parent);
		if (!err)
			err = create_file(pfs, parent, d->name, fp, m->inode,
					  &m->ino);
	}
	if (err)
		goto fail;

	if (m->inode->i_flags & EXT4_EXTENTS_FL) {
		err = ext2fs_extent_open2(fs, m->ino,
					  (struct ext2_inode *)m->inode,
					  &m->handle);
		if (!err)
			err = pcw_extent_end(m, &m->extent_end);
		if (err)
			goto fail;
	}
	m->i_size = m->i_disksize = EXT2_I_SIZE(m->inode);
	m->maxbytes = pcw_max_file_bytes(fs, m->handle != NULL);
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
	err = pcw_write_inode(m);
	if (err)
		goto fail;
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
	err2 = pcw_write_inode(m);
	if (!err)
		err = err2;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->size = m->i_disksize;
		info->blocks = ext2fs_get_stat_i_blocks(m->fs,
					(struct ext2_inode *)m->inode);
		info->pages = m->seq;
		info->lost_from = m->lost_from;
		err2 = pcw_count_extents(m, &info->extents);
		if (!err)
			err = err2;
	}
	return err;
}

void pcw_mapping_free(struct pcw_mapping *m)
{
	if (!m)
		return;
	if (m->reserved)
		pcw_release_reservation(m, m->reserved);
	if (m->handle)
		ext2fs_extent_free(m->handle);
	pcw_mapping_free_cache(m);
	free(m->inode);
	m->magic = 0;
	free(m);
}
