/* SPDX-License-Identifier: GPL-2.0-or-later */
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
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "file.h"
#include "io.h"
#include "journal.h"
#include "quota.h"

void pcw_fs_set_report(pcw_fs *pfs, pcw_report_fn fn, void *arg)
{
	pfs->report = fn;
	pfs->report_arg = arg;
}

void pcw_fs_warn(void *arg, const char *path, const char *msg)
{
	pcw_fs *pfs = arg;
	struct pcw_event ev;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = PCW_EV_WARNING;
	ev.file = path;
	ev.u.warning.msg = msg;
	pcw_emit(pfs, &ev);
}

unsigned pcw_fs_block_size(const pcw_fs *pfs)
{
	return pfs->fs->blocksize;
}

void pcw_fs_get_info(const pcw_fs *pfs, struct pcw_fs_info *info)
{
	struct ext2_super_block *sb = pfs->fs->super;

	memset(info, 0, sizeof(*info));
	info->block_size = pfs->fs->blocksize;
	info->cluster_size = EXT2_CLUSTER_SIZE(sb);
	info->inode_size = EXT2_INODE_SIZE(sb);
	info->feature_compat = sb->s_feature_compat;
	info->feature_incompat = sb->s_feature_incompat;
	info->feature_ro_compat = sb->s_feature_ro_compat;
	memcpy(info->uuid, sb->s_uuid, sizeof(info->uuid));
	info->blocks_count = ext2fs_blocks_count(sb);
	info->inodes_count = sb->s_inodes_count;
}

uint64_t pcw_fs_avail_bytes(const pcw_fs *pfs)
{
	blk64_t free_clusters = pcw_free_clusters(pfs->fs);

	if (free_clusters <= pfs->reserved)
		return 0;
	return (uint64_t)EXT2FS_C2B(pfs->fs, free_clusters - pfs->reserved) *
	       pfs->fs->blocksize;
}

/*
 * The filesystem's bytes, where they finally live (a loop device IMAGE is
 * followed to its backing file): every block device over them is checked.
 */
static errcode_t check_devices(pcw_fs *pfs, const struct stat *st,
			       const struct pcw_host_id *image_id,
			       uint64_t image_offset)
{
	struct pcw_host_id fs_id = *image_id;
	uint64_t bytes = ext2fs_blocks_count(pfs->fs->super) *
			 (uint64_t)pfs->fs->blocksize;
	int mount_flags = 0;
	errcode_t err;

	if (fs_id.kind == PCW_HOST_OTHER)
		return PCW_ET_NOT_EXT;
	fs_id.start = image_id->start + image_offset;
	if (fs_id.start < image_id->start)
		fs_id.start = UINT64_MAX;
	if (bytes < UINT64_MAX - fs_id.start && fs_id.start + bytes < fs_id.end)
		fs_id.end = fs_id.start + bytes;
	err = pcw_host_check_devices(&fs_id, S_ISBLK(st->st_mode) ?
				     st->st_rdev : 0, pfs->conflict,
				     &pfs->devs, &pfs->ndevs);
	if (err == PCW_ET_MOUNTED || err == PCW_ET_BUSY ||
	    err == PCW_ET_DEV_UNCHECKED || err == ENOMEM)
		return err;
	if (err) {
		/* No sysfs: what libext2fs can tell (offsets ignored). */
		err = ext2fs_check_if_mounted(pfs->image, &mount_flags);
		if (err)
			return err;
		if (mount_flags & EXT2_MF_MOUNTED)
			return PCW_ET_MOUNTED;
		if (mount_flags & EXT2_MF_BUSY)
			return PCW_ET_BUSY;
		return 0;
	}
	/*
	 * An idle device over the image keeps a page cache of its own:
	 * drop it now (its dirty pages must not land on ours later) and
	 * again after the last write.
	 */
	if (pcw_host_flush_devices(pfs->devs, pfs->ndevs, pfs->conflict))
		return PCW_ET_DEV_UNCHECKED;
	return 0;
}

/*
 * A loop device (or a partition of one) as IMAGE: lock its backing file
 * too, so that `pcwrite /dev/loopN` and `pcwrite backing.img` exclude each
 * other.
 */
static errcode_t lock_backing(pcw_fs *pfs, const struct stat *st,
			      const struct pcw_host_id *image_id)
{
	char path[4096];
	struct stat bst;

	if (!S_ISBLK(st->st_mode) || image_id->kind != PCW_HOST_FILE ||
	    pcw_host_backing(st->st_rdev, path, sizeof(path)))
		return 0;
	pfs->backing_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (pfs->backing_fd < 0)
		return 0;	/* renamed away: the O_EXCL hold still stands */
	if (fstat(pfs->backing_fd, &bst) < 0 || bst.st_dev != image_id->dev ||
	    bst.st_ino != image_id->ino) {
		close(pfs->backing_fd);
		pfs->backing_fd = -1;
		return 0;
	}
	if (flock(pfs->backing_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? PCW_ET_LOCKED : (errcode_t)errno;
	return 0;
}

/*
 * The image must hold every byte of its filesystem.  A regular file
 * shorter than that (truncated) takes a write past its end without a
 * complaint, it just grows, and the run would report success on an image
 * the kernel refuses to mount ("bad geometry"); a device smaller than its
 * filesystem fails the writes past its end.  And the file size limit
 * (RLIMIT_FSIZE, `ulimit -f`) applies to a regular file at every offset:
 * a write at or past it fails (SIGXFSZ, EFBIG), so an image whose
 * filesystem ends past the limit cannot be written whole.
 */
static errcode_t check_image_room(pcw_fs *pfs, const struct stat *st)
{
	uint64_t bytes = 0;
	struct rlimit rl;

	pfs->fs_end = pfs->image_offset + ext2fs_blocks_count(pfs->fs->super) *
		      (uint64_t)pfs->fs->blocksize;
	pfs->image_is_file = S_ISREG(st->st_mode);
	if (pfs->image_is_file)
		bytes = st->st_size;
	else if (ioctl(pfs->lock_fd, BLKGETSIZE64, &bytes) < 0)
		return 0;	/* not known: libext2fs's own reads tell */
	if (bytes < pfs->fs_end)
		return PCW_ET_IMAGE_SHORT;
	if (pfs->image_is_file && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < pfs->fs_end)
		return PCW_ET_FSIZE_LIMIT;
	return 0;
}

/* PATH from the root: the current directory's name in front of a relative one. */
static char *absolute_path(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	abs = malloc(strlen(cwd) + strlen(path) + 2);
	if (abs)
		sprintf(abs, "%s/%s", cwd, path);
	free(cwd);
	return abs;
}

/*
 * The lock first: a second pcwrite on the image is refused here.  Then the
 * file under a loop device, and the image as opened is what the run's host
 * files are checked against.
 */
static errcode_t lock_image(pcw_fs *pfs, const char *image,
			    const struct pcw_open_params *params,
			    struct stat *st, struct pcw_host_id *image_id)
{
	errcode_t err;

	pfs->lock_fd = open(image, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (pfs->lock_fd < 0)
		return errno == EBUSY ? PCW_ET_BUSY : (errcode_t)errno;
	if (fstat(pfs->lock_fd, st) < 0)
		return errno;
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return PCW_ET_NOT_EXT;
	if (flock(pfs->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return (errno == EWOULDBLOCK) ? PCW_ET_LOCKED : (errcode_t)errno;
	err = pcw_host_id_stat(st, image_id);
	if (!err)
		err = lock_backing(pfs, st, image_id);
	if (!err && params->guard &&
	    pcw_guard_check_id(params->guard, image_id) != PCW_ET_HOST_IMAGE)
		err = pcw_guard_add(params->guard, image_id, PCW_ET_HOST_IMAGE);
	return err;
}

/*
 * The filesystem itself, once opened, in this order: its state, its quota
 * files, its layout, its journal, --project's feature, its descriptors, its
 * bitmaps against its own metadata, the system zone, the quota files
 * against it.
 */
static errcode_t check_filesystem(pcw_fs *pfs,
				  const struct pcw_open_params *params)
{
	errcode_t err;

	err = pcw_check_state(pfs->fs);
	if (!err)
		err = pcw_quota_check(pfs->fs);
	if (!err)
		err = pcw_check_layout(pfs->fs);
	if (err)
		return err;
	/*
	 * The journal is used where there is one (issue 13): one pcwrite
	 * cannot write (external, fast_commit, an unknown format) is refused
	 * before anything is written; --no-journal writes in place.
	 */
	pfs->commit_sec = params->commit_sec ? params->commit_sec :
			  PCW_COMMIT_SEC;
	if (ext2fs_has_feature_journal(pfs->fs->super) &&
	    !(params->flags & PCW_OPEN_NO_JOURNAL)) {
		err = pcw_io_journal_check(pfs->fs);
		if (err)
			return err;
		pfs->journaled = true;
	}
	if (params->flags & PCW_OPEN_PROJECT) {
		if (!ext2fs_has_feature_project(pfs->fs->super))
			return PCW_ET_NO_PROJECT;
		pfs->set_project = true;
		pfs->project = params->project;
	}
	/* Descriptors pointing at the wrong places, as e2fsck checks first. */
	if (ext2fs_check_desc(pfs->fs))
		return PCW_ET_CORRUPT;
	err = ext2fs_read_bitmaps(pfs->fs);
	if (!err)
		err = pcw_check_metadata_in_use(pfs->fs);
	if (!err)
		err = pcw_validity_attach(pfs);
	/*
	 * The quota files again, now that the system zone can be built: a
	 * quota block on metadata is refused here, as the kernel's mount
	 * refuses to enable quota on it (pcw_check_state and _layout ran
	 * before the bitmaps and descriptors were checked, so without the
	 * zone).
	 */
	if (!err)
		err = pcw_quota_check(pfs->fs);
	return err;
}

/* Quota usage is charged from the first inode write on (io_run.c). */
static errcode_t quota_begin(pcw_fs *pfs)
{
	return pfs->dquot ? 0 : pcw_dquot_open(pfs);
}

errcode_t pcw_fs_open(const char *image, const struct pcw_open_params *params,
		      pcw_fs **ret)
{
	pcw_fs *pfs;
	struct stat st;
	struct pcw_host_id image_id;
	char *io_options;
	int flags = EXT2_FLAG_RW | EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	errcode_t err;

	pfs = calloc(1, sizeof(*pfs));
	if (!pfs) {
		if (params->undo_file) {
			pcw_host_remove(params->undo_file, params->undo_fd);
			close(params->undo_fd);
		}
		return ENOMEM;
	}
	pfs->magic = PCW_MAGIC_FS;
	pfs->begin_hook = quota_begin;
	pfs->commit_hook = pcw_dquot_sync;
	pfs->lock_fd = pfs->excl_fd = pfs->backing_fd = -1;
	pfs->image_offset = params->image_offset;
	pfs->undo_fd = params->undo_file ? params->undo_fd : -1;
	pfs->conflict = params->conflict;
	pfs->flags = params->flags;
	pcw_time_init(pfs, params->now);
	/*
	 * Absolute: --undo opens both by name again at the first write, and
	 * an mtree manifest is read in its own directory.
	 */
	pfs->image = absolute_path(image);
	if (params->undo_file)
		pfs->undo_file = absolute_path(params->undo_file);
	if (!pfs->image || (params->undo_file && !pfs->undo_file)) {
		err = ENOMEM;
		goto fail;
	}
	if (pfs->undo_fd >= 0 && params->guard) {
		struct pcw_host_id undo_id;

		err = pcw_host_id_fd(pfs->undo_fd, &undo_id);
		if (!err)
			err = pcw_guard_add(params->guard, &undo_id,
					    PCW_ET_HOST_UNDO);
		if (err)
			goto fail;
	}

	err = lock_image(pfs, image, params, &st, &image_id);
	if (err)
		goto fail;

	/*
	 * Reading the superblock writes nothing; the device checks need the
	 * filesystem's size, and are done before anything else.  Not
	 * EXT2_FLAG_EXCLUSIVE: the O_EXCL hold is taken below, after the
	 * checks, which would otherwise find the device held by ourselves.
	 */
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
		err = pcw_open_error(image, params->image_offset, err);
		goto fail;
	}
	/* A filesystem larger than its partition would write into the next. */
	if (params->image_size &&
	    ext2fs_blocks_count(pfs->fs->super) >
	    params->image_size / pfs->fs->blocksize) {
		err = PCW_ET_FS_PAST_PARTITION;
		goto fail;
	}
	err = check_image_room(pfs, &st);
	if (err)
		goto fail;
	err = check_devices(pfs, &st, &image_id, params->image_offset);
	if (err)
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		pfs->excl_fd = open(image, O_RDONLY | O_EXCL | O_CLOEXEC |
				    O_NOCTTY);
		if (pfs->excl_fd < 0) {
			err = errno == EBUSY ? PCW_ET_BUSY : (errcode_t)errno;
			if (pfs->conflict)
				snprintf(pfs->conflict->device,
					 sizeof(pfs->conflict->device), "%s",
					 image);
			goto fail;
		}
	}
	pfs->fs->now = pfs->now;
	/*
	 * Every bitmap of the run (the block and inode bitmaps read below,
	 * the scratch ones of check.c and truncate.c) as a tree of extents,
	 * not one bit per block: a 2 TiB image's block bitmap is 64 MiB as
	 * an array, and reading it into one cost 2.7 s a run.  e2fsck and
	 * resize2fs choose the same for the same reason.
	 */
	pfs->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = check_filesystem(pfs, params);
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
 * The superblock's lifetime writes (s_kbytes_written), added here as
 * ext2fs_close2 would add them from the channel's count, plus the data
 * written around the channel; the count is then zeroed so that the close
 * finds nothing to add and leaves the superblock alone (see pcw_fs_close).
 * A reproducible run counts its data alone: how often metadata reached
 * the image depends on when batches were committed (a clock, a pipe that
 * ran dry), and two runs must give the same bytes.
 */
static void count_written(pcw_fs *pfs)
{
	ext2_filsys fs = pfs->fs;
	io_stats stats = NULL;
	unsigned long long bytes;

	if (!fs->io->manager->get_stats ||
	    fs->io->manager->get_stats(fs->io, &stats) || !stats)
		return;
	bytes = (pfs->fixed_time ? 0 : stats->bytes_written) + pfs->data_bytes;
	if (fs->super->s_kbytes_written && bytes)
		fs->super->s_kbytes_written += (bytes >> 10) +
			(fs->desc_blocks + 1) / (fs->blocksize / 1024);
	stats->bytes_written = 0;
}

/* Zero the channel's count again: what the last commit wrote is counted. */
static void forget_written(ext2_filsys fs)
{
	io_stats stats = NULL;

	if (fs->io->manager->get_stats &&
	    !fs->io->manager->get_stats(fs->io, &stats) && stats)
		stats->bytes_written = 0;
}

errcode_t pcw_fs_close(pcw_fs *pfs)
{
	errcode_t err = 0, err2;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (pfs->in_report)
		return PCW_ET_COMMIT_IN_CALLBACK;	/* and pfs stays */
	if (pfs->fs) {
		int flags = (pfs->flags & PCW_OPEN_NO_SYNC) ?
			    EXT2_FLAG_FLUSH_NO_SYNC : 0;
		bool replay = false;

		if (pfs->writing) {
			/* Releases still waiting (inode.c): freed first. */
			if (pfs->nevict && !pfs->meta_error)
				err = pcw_fs_commit(pfs);
			err2 = pcw_dcache_flush(pfs);
			if (!err)
				err = err2;
			err2 = pcw_dquot_sync(pfs);
			if (!err)
				err = err2;
			err2 = pcw_check_image_size(pfs);
			if (!err)
				err = err2;
			/*
			 * The superblock as the close leaves it, flushed into
			 * the last commit: one write of it at the end, so a
			 * kill with --undo finds the undo file's copy of the
			 * superblock out of date at one point of the run, not
			 * at two (the last commit's, then the close's).  The
			 * close then finds nothing dirty and nothing counted.
			 */
			if (pfs->was_valid && !pfs->meta_error)
				pfs->fs->super->s_state |= EXT2_VALID_FS;
			/*
			 * With the journal, metadata an update left
			 * half-changed is never committed: the running
			 * transaction is dropped, as an aborted jbd2 journal
			 * drops it, and the image replays to the last commit
			 * (freed blocks were held busy until their commit, so
			 * no data written since landed on one it uses).
			 */
			if (pfs->journaled && pfs->meta_error)
				pcw_io_abort(pfs->fs);
			count_written(pfs);
			ext2fs_mark_super_dirty(pfs->fs);
			err2 = ext2fs_flush2(pfs->fs, EXT2_FLAG_FLUSH_NO_SYNC);
			if (!err2)
				err2 = pcw_io_finish(pfs->fs);
			forget_written(pfs->fs);
			if (!err2 && !(flags & EXT2_FLAG_FLUSH_NO_SYNC)) {
				/* A failed fsync is said as such (the
				 * writes were made: not a failed commit). */
				err2 = io_channel_flush(pfs->fs->io);
				if (!err)
					err = err2;
				err2 = 0;
			}
			if (err2) {
				/* Not clean after all: written through now. */
				pfs->meta_error = true;
				pcw_io_finish(pfs->fs);
				if (pfs->was_valid)
					pfs->fs->super->s_state &=
						~EXT2_VALID_FS;
				ext2fs_mark_super_dirty(pfs->fs);
			}
			if (!err)
				err = err2;
			/* What the journal leaves: a log to replay, or not. */
			replay = pfs->journaled &&
				 pcw_io_journal_needs_recovery(pfs->fs);
			err2 = ext2fs_close2(pfs->fs, flags);
			/*
			 * ext2fs_close2 returns on an error without freeing:
			 * free here, or the undo manager's exit handler
			 * prints a message of its own at exit.
			 */
			if (err2)
				ext2fs_free(pfs->fs);
			if (!err)
				err = err2;
			err2 = pcw_undo_finish(pfs);
			if (!err)
				err = err2;
			/*
			 * Said by the close: the next run is refused until
			 * e2fsck (in place) or a replay (the journal), and
			 * the failure that caused it may have been reported
			 * long before.  (A close that fails says so itself.)
			 * With the journal a failed run leaves the image
			 * valid: with committed transactions in the log to
			 * replay, or, stopped before its first commit, as it
			 * was.
			 */
			if (pfs->journaled ? replay :
			    pfs->was_valid && pfs->meta_error) {
				if (pfs->conflict) {
					pfs->conflict->left_not_clean =
						!pfs->journaled;
					pfs->conflict->left_journal =
						pfs->journaled;
				}
				if (!err)
					err = pfs->journaled ?
					      PCW_ET_LEFT_JOURNAL :
					      PCW_ET_LEFT_NOT_CLEAN;
			}
		} else {
			ext2fs_free(pfs->fs);
		}
		pfs->fs = NULL;
	}
	if (pfs->writing) {
		err2 = pcw_host_flush_devices(pfs->devs, pfs->ndevs,
					      pfs->conflict);
		if (!err)
			err = err2;
	}
	pcw_fs_abort(pfs);
	return err;
}

void pcw_fs_abort(pcw_fs *pfs)
{
	struct stat st;

	if (!pfs)
		return;
	pcw_dcache_free(pfs);
	pcw_pagecache_free(pfs);
	pcw_idnames_free(pfs);
	pcw_dquot_free(pfs);
	pcw_validity_free(pfs);
	free(pfs->made_links);
	free(pfs->evict);
	if (pfs->fs)
		ext2fs_free(pfs->fs);
	pcw_undo_release(pfs);
	/* A refused run, or one that wrote nothing, leaves no undo file. */
	if (pfs->undo_fd >= 0) {
		if (pfs->undo_file && fstat(pfs->undo_fd, &st) == 0 &&
		    st.st_size == 0)
			pcw_host_remove(pfs->undo_file, pfs->undo_fd);
		close(pfs->undo_fd);
	}
	if (pfs->excl_fd >= 0)
		close(pfs->excl_fd);
	if (pfs->backing_fd >= 0)
		close(pfs->backing_fd);
	if (pfs->lock_fd >= 0)
		close(pfs->lock_fd);
	free(pfs->devs);
	free(pfs->image);
	free(pfs->undo_file);
	pfs->magic = 0;
	free(pfs);
}
