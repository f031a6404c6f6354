/*
 * fs.c: opening an image, the refusals, the lock, and the final commit.
 *
 * libext2fs opens filesystems that need journal recovery, are marked with
 * errors or read-only, and images that are mounted: every one of those checks
 * is ours.  They all run before the first write, so a refused image is
 * byte-identical afterwards.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void pcw_emit(pcw_fs *pfs, const struct pcw_event *ev)
{
	if (pfs->report)
		pfs->report(ev, pfs->report_arg);
}

int pcw_errno(errcode_t err)
{
	if (err > 0 && err < 4096)
		return (int)err;
	switch (err) {
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case PCW_ET_DIR_INDEX_FULL:
		return ENOSPC;
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case PCW_ET_FILE_TOO_BIG:
		return EFBIG;
	default:
		return EIO;
	}
}

void pcw_fs_set_report(pcw_fs *pfs, pcw_report_fn fn, void *arg)
{
	pfs->report = fn;
	pfs->report_arg = arg;
}

unsigned pcw_fs_block_size(const pcw_fs *pfs)
{
	return pfs->fs->blocksize;
}

uint64_t pcw_fs_avail_bytes(const pcw_fs *pfs)
{
	blk64_t free_clusters = pcw_free_clusters(pfs->fs);

	if (free_clusters <= pfs->reserved)
		return 0;
	return (uint64_t)EXT2FS_C2B(pfs->fs, free_clusters - pfs->reserved) *
	       pfs->fs->blocksize;
}

errcode_t pcw_fs_open(const char *image, const struct pcw_open_params *params,
		      pcw_fs **ret)
{
	pcw_fs *pfs;
	struct stat st;
	char *io_options;
	int flags = EXT2_FLAG_RW | EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	int mount_flags = 0;
	errcode_t err;

	pfs = calloc(1, sizeof(*pfs));
	if (!pfs)
		return ENOMEM;
	pfs->magic = PCW_MAGIC_FS;
	pfs->lock_fd = -1;
	pfs->flags = params->flags;
	pfs->now = params->now >= 0 ? (time_t)params->now : time(NULL);
	pfs->image = strdup(image);
	if (params->undo_file)
		pfs->undo_file = strdup(params->undo_file);
	if (!pfs->image || (params->undo_file && !pfs->undo_file)) {
		err = ENOMEM;
		goto fail;
	}

	/* The lock first: a second pcwrite on the image is refused here. */
	pfs->lock_fd = open(image, O_RDWR | O_CLOEXEC);
	if (pfs->lock_fd < 0) {
		err = errno;
		goto fail;
	}
	if (fstat(pfs->lock_fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		err = PCW_ET_NOT_EXT;
		goto fail;
	}
	if (flock(pfs->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err = (errno == EWOULDBLOCK) ? PCW_ET_LOCKED : (errcode_t)errno;
		goto fail;
	}
	if (S_ISBLK(st.st_mode))
		flags |= EXT2_FLAG_EXCLUSIVE;

	err = ext2fs_check_if_mounted(image, &mount_flags);
	if (err)
		goto fail;
	if (mount_flags & EXT2_MF_MOUNTED) {
		err = PCW_ET_MOUNTED;
		goto fail;
	}
	if (mount_flags & EXT2_MF_BUSY) {
		err = PCW_ET_BUSY;
		goto fail;
	}

	/* Always pass options: a '?' in the name would be parsed as some. */
	io_options = pfs->io_options;
	if (params->image_offset)
		snprintf(io_options, sizeof(pfs->io_options), "offset=%" PRIu64,
			 params->image_offset);
	pfs->open_flags = flags;
	err = ext2fs_open2(image, io_options, flags, 0, 0, unix_io_manager,
			   &pfs->fs);
	if (err) {
		pfs->fs = NULL;
		if (err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SHORT_READ ||
		    err == EXT2_ET_UNEXPECTED_BLOCK_SIZE)
			err = PCW_ET_NOT_EXT;
		else if (err == EBUSY)
			err = PCW_ET_BUSY;
		goto fail;
	}
	pfs->fs->now = pfs->now;
	err = pcw_check_fs(pfs->fs);
	if (err)
		goto fail;
	/* Descriptors pointing at the wrong places, as e2fsck checks first. */
	if (ext2fs_check_desc(pfs->fs)) {
		err = PCW_ET_CORRUPT;
		goto fail;
	}
	err = ext2fs_read_bitmaps(pfs->fs);
	if (!err)
		err = pcw_check_metadata_in_use(pfs->fs);
	if (err)
		goto fail;
	pfs->was_valid = true;
	*ret = pfs;
	return 0;
fail:
	pcw_fs_abort(pfs);
	return err;
}

/*
 * --undo: open the image again through libext2fs's undo I/O manager, which
 * saves every block before it is first overwritten; `e2undo FILE IMAGE`
 * puts them back.  The refusal checks ran on the plain open, so a refused
 * run leaves no undo file.  Nothing was written in between.
 */
static errcode_t reopen_with_undo(pcw_fs *pfs)
{
	ext2_filsys fs;
	errcode_t err;

	if (unlink(pfs->undo_file) < 0 && errno != ENOENT)
		return errno;
	err = set_undo_io_backing_manager(unix_io_manager);
	if (!err)
		err = set_undo_io_backup_file(pfs->undo_file);
	if (!err)
		err = ext2fs_open2(pfs->image, pfs->io_options, pfs->open_flags,
				   0, 0, undo_io_manager, &fs);
	if (err)
		return err;
	fs->now = pfs->now;
	err = ext2fs_read_bitmaps(fs);
	if (err) {
		ext2fs_free(fs);
		return err;
	}
	ext2fs_free(pfs->fs);
	pfs->fs = fs;
	return 0;
}

/*
 * The first write of a run: clear the clean flag on disk, so an image whose
 * writer is killed is marked for fsck rather than trusted.
 */
errcode_t pcw_fs_begin_write(pcw_fs *pfs)
{
	ext2_filsys fs;
	errcode_t err;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (pfs->writing)
		return 0;
	if (pfs->undo_file) {
		err = reopen_with_undo(pfs);
		if (err)
			return err;
	}
	fs = pfs->fs;
	if (ext2fs_has_feature_mmp(fs->super)) {
		fs->flags &= ~EXT2_FLAG_SKIP_MMP;
		err = ext2fs_mmp_start(fs);
		if (err)
			return err;
	}
	/*
	 * unix_io keeps a write-back cache of a few blocks: an inode or an
	 * extent block written with io_channel_write_blk64 could still sit
	 * in it when the process is killed, and a file already reported
	 * done would lose its inode.  Write through: every block reaches
	 * the image when it is written (tests/kill9.bats).
	 */
	fs->io->flags |= CHANNEL_FLAGS_WRITETHROUGH;
	fs->super->s_state &= ~EXT2_VALID_FS;
	ext2fs_mark_super_dirty(fs);
	fs->flags |= EXT2_FLAG_SUPER_ONLY;
	err = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
	fs->flags &= ~EXT2_FLAG_SUPER_ONLY;
	if (err)
		return err;
	pfs->writing = true;
	return 0;
}

errcode_t pcw_fs_close(pcw_fs *pfs)
{
	errcode_t err = 0, err2;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (pfs->fs) {
		int flags = (pfs->flags & PCW_OPEN_NO_SYNC) ?
			    EXT2_FLAG_FLUSH_NO_SYNC : 0;

		if (pfs->writing) {
			err = pcw_dcache_flush(pfs);
			if (pfs->was_valid && !pfs->meta_error)
				pfs->fs->super->s_state |= EXT2_VALID_FS;
			ext2fs_mark_super_dirty(pfs->fs);
			err2 = ext2fs_close2(pfs->fs, flags);
			if (!err)
				err = err2;
		} else {
			ext2fs_free(pfs->fs);
		}
		pfs->fs = NULL;
	}
	pcw_fs_abort(pfs);
	return err;
}

void pcw_fs_abort(pcw_fs *pfs)
{
	if (!pfs)
		return;
	pcw_dcache_free(pfs);
	pcw_pagecache_free(pfs);
	free(pfs->made_links);
	if (pfs->fs)
		ext2fs_free(pfs->fs);
	if (pfs->lock_fd >= 0)
		close(pfs->lock_fd);
	free(pfs->image);
	free(pfs->undo_file);
	pfs->magic = 0;
	free(pfs);
}
