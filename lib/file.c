/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file.c: one file's mapping, opened and finished: the file created or
 * opened for writing (truncated, or an inline file's bytes moved into the
 * page cache), the page cache lent to it, and at the end the last
 * writeback, the inode and the commit.  The path it names is resolved by
 * namei.c; the write loop between open and finish is perform_write.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

static void fill_file(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_file_params *fp = arg;

	inode->i_mode = LINUX_S_IFREG |
			((fp->flags & PCW_FILE_SET_MODE) ? (fp->mode & 07777)
							 : 0644);
	pcw_fill_parent(inode, arg);
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
	/* Its block map must not point into metadata, as ext4_iget checks. */
	if (!err)
		err = pcw_iget_check(fs, inode);
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
		/*
		 * A refusal (a damaged file) has changed nothing.  Too large
		 * for the running transaction, it is freed in several, under
		 * the orphan list (truncate.c).
		 */
		err = pcw_truncate_ranged(pfs, ino, inode);
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
	pcw_fill_parent(inode, (void *)fp);
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

/*
 * A refusal before the first write leaves the image untouched: the room
 * for a new file (or its first missing parent) and its name is checked
 * before the superblock is marked.
 */
errcode_t pcw_file_check_new(pcw_fs *pfs, const struct pcw_dest *d)
{
	const char *first = d->missing ? d->missing : d->name;
	char name[EXT2_NAME_LEN + 1];
	size_t len;

	if (d->ino)
		return 0;
	len = strcspn(first, "/");
	if (len > EXT2_NAME_LEN)
		return PCW_ET_NAME_TOO_LONG;
	memcpy(name, first, len);
	name[len] = 0;
	return pcw_check_create(pfs, d->parent, name, d->missing ? 1 : 0);
}

/* A mapping with PAGE_SIZE pages and an inode buffer, nothing opened yet. */
static struct pcw_mapping *mapping_alloc(pcw_fs *pfs, unsigned page_size,
					 const struct pcw_file_params *fp)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_mapping *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
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
	m->ei.inode = calloc(1, pcw_inode_buf_size(fs));
	if (!m->ei.inode) {
		free(m);
		return NULL;
	}
	return m;
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
	err = pcw_file_check_new(pfs, d);
	if (!err)
		err = check_start(fs, d, fp);
	if (err)
		return err;
	err = pcw_fs_begin_write(pfs);
	if (err)
		return err;
	fs = pfs->fs;	/* --undo opens the image anew */

	m = mapping_alloc(pfs, page_size, fp);
	if (!m)
		return ENOMEM;
	m->tx_open = pcw_fs_transactions(pfs);
	m->replaces = !(fp->flags & (PCW_FILE_APPEND | PCW_FILE_KEEP));

	if (d->ino) {
		m->ei.ino = d->ino;
		err = open_existing(pfs, d->ino, fp, m->ei.inode, &inline_data,
				    &inline_size);
	} else {
		parent = d->parent;
		err = 0;
		if (d->missing)
			err = pcw_make_dirs(pfs, d, pcw_fill_parent, (void *)fp,
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
	/*
	 * A journaled run that failed drops what its last commit did not
	 * hold (jbd2_journal_abort): the file is what that commit left, as
	 * the replay gives it back, not what memory says.  A commit block
	 * written whose flush failed does not count (it may not be on disk:
	 * the kernel's fsync fails then too).  Replaced or made, with no
	 * commit since it was opened, the file holds none of the new bytes
	 * (a replaced file's committed size is its old one).
	 */
	if (err && info && m->ei.pfs->journaled && !m->tree_commits) {
		uint64_t size = 0;

		if (m->replaces && pcw_fs_transactions(m->ei.pfs) == m->tx_open)
			info->size = 0;
		else if (!pcw_fs_committed_size(m->ei.pfs, m->ei.ino, &size) &&
			 size < info->size)
			info->size = size;
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
