/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list.c: the names in a directory of the image, read-only.
 *
 * For shell completion of paths inside an image (pcwrite --list): the image
 * is opened read-only, with no lock and none of the refusals a write makes,
 * so that whatever `debugfs -R ls` could read, this can list: a mounted
 * image, one whose journal needs recovery, one another pcwrite is writing
 * (the names may then be stale, never harmful).  Checksum errors are
 * ignored, as a listing reads no more than it shows.
 *
 * DIR is resolved as DEST is, inside the image: symlinks are followed, an
 * absolute target from the image root; the last component too, so that
 * listing /lib in a merged-/usr image lists /usr/lib.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

struct list_ctx {
	ext2_filsys	fs;
	pcw_list_fn	fn;
	void		*arg;
	errcode_t	err;
	char		name[EXT2_NAME_LEN + 1];
};

static enum pcw_ftype ftype_of_mode(uint16_t mode)
{
	if (LINUX_S_ISDIR(mode))
		return PCW_FT_DIR;
	if (LINUX_S_ISLNK(mode))
		return PCW_FT_SYMLINK;
	if (LINUX_S_ISCHR(mode))
		return PCW_FT_CHR;
	if (LINUX_S_ISBLK(mode))
		return PCW_FT_BLK;
	if (LINUX_S_ISFIFO(mode))
		return PCW_FT_FIFO;
	if (LINUX_S_ISSOCK(mode))
		return PCW_FT_SOCK;
	return PCW_FT_FILE;
}

/*
 * The type from the directory entry (the filetype feature), else from the
 * inode: only a filesystem without the feature pays a read per name.
 */
static enum pcw_ftype entry_type(ext2_filsys fs, struct ext2_dir_entry *de)
{
	static const enum pcw_ftype ft[] = {
		[EXT2_FT_REG_FILE] = PCW_FT_FILE, [EXT2_FT_DIR] = PCW_FT_DIR,
		[EXT2_FT_CHRDEV] = PCW_FT_CHR, [EXT2_FT_BLKDEV] = PCW_FT_BLK,
		[EXT2_FT_FIFO] = PCW_FT_FIFO, [EXT2_FT_SOCK] = PCW_FT_SOCK,
		[EXT2_FT_SYMLINK] = PCW_FT_SYMLINK,
	};
	struct ext2_inode inode;
	int t = ext2fs_has_feature_filetype(fs->super) ?
		ext2fs_dirent_file_type(de) : EXT2_FT_UNKNOWN;

	if (t > EXT2_FT_UNKNOWN && t < EXT2_FT_MAX)
		return ft[t];
	if (ext2fs_read_inode(fs, de->inode, &inode))
		return PCW_FT_FILE;
	return ftype_of_mode(inode.i_mode);
}

static int list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
		   int offset, int blocksize, char *buf, void *priv)
{
	struct list_ctx *c = priv;
	unsigned len = ext2fs_dirent_name_len(de);

	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE)
		return 0;
	if (de->inode == 0 || len == 0 || memchr(de->name, 0, len))
		return 0;
	memcpy(c->name, de->name, len);
	c->name[len] = 0;
	c->err = c->fn(c->arg, c->name, len, entry_type(c->fs, de));
	return c->err ? DIRENT_ABORT : 0;
}

/*
 * Open IMAGE read-only.  libext2fs says EXT2_ET_BAD_MAGIC or SHORT_READ for
 * anything that is not a filesystem: pcw_open_error says which.
 */
static errcode_t open_read_only(const char *image,
				const struct pcw_list_params *p,
				ext2_filsys *ret)
{
	char io_options[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP |
		    EXT2_FLAG_IGNORE_CSUM_ERRORS;
	errcode_t err;

	/* Always options: a '?' in the name would be parsed as some. */
	snprintf(io_options, sizeof(io_options), "offset=%llu",
		 (unsigned long long)p->image_offset);
	err = ext2fs_open2(image, io_options, flags, 0, 0, unix_io_manager, ret);
	if (err) {
		*ret = NULL;
		return pcw_open_error(image, p->image_offset, err);
	}
	return 0;
}

errcode_t pcw_list_dir(const char *image, const struct pcw_list_params *p,
		       const char *dir, pcw_list_fn fn, void *arg)
{
	static const struct pcw_list_params defaults;
	struct list_ctx c;
	struct ext2_inode inode;
	ext2_ino_t ino;
	ext2_filsys fs;
	errcode_t err;

	if (!p)
		p = &defaults;
	if (dir[0] != '/')
		return PCW_ET_RELATIVE_PATH;
	err = open_read_only(image, p, &fs);
	if (err)
		return err;
	err = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir, &ino);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		err = ENOENT;
	else if (err == EXT2_ET_NO_DIRECTORY)
		err = ENOTDIR;
	else if (err == EXT2_ET_SYMLINK_LOOP)
		err = PCW_ET_SYMLINK_LOOP;
	if (!err)
		err = ext2fs_read_inode(fs, ino, &inode);
	if (!err && !LINUX_S_ISDIR(inode.i_mode))
		err = ENOTDIR;
	if (!err) {
		memset(&c, 0, sizeof(c));
		c.fs = fs;
		c.fn = fn;
		c.arg = arg;
		err = ext2fs_dir_iterate2(fs, ino, 0, NULL, list_cb, &c);
		if (!err)
			err = c.err;
	}
	ext2fs_free(fs);
	return err;
}
