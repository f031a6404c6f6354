/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * undo.c: --undo, libext2fs's undo manager over a backing manager of ours.
 *
 * libext2fs's undo I/O manager saves each block of the image in the undo
 * file before the block is first overwritten: for every such block it
 * writes the old contents, the key block that maps it, the file's header
 * and a copy of the image's superblock, then the new block to the image.
 * It opens both files through a "backing" I/O manager.  With unix_io as
 * that manager, the undo file got a write-back cache of its own (8 blocks;
 * "cache=off" on the image reaches only the image's channel): the records
 * reached the file in no order and after the image writes they protect, a
 * kill lost them, and a write of the undo file that failed (ENOSPC) came
 * back from whichever later write emptied the cache, blamed on the image.
 *
 * The backing manager here is unix_io with three changes:
 *
 * - the undo file's channel has no cache: each record is in the file (the
 *   page cache; fsynced at the end) before the image write it protects, so
 *   a kill -9 at any moment leaves every changed block restorable;
 * - a failed write of the undo file stops every later write, of the undo
 *   file and of the image: the undo manager has by then marked the block
 *   as saved, and would write it to the image unprotected next time;
 * - the undo file's copy of the image's superblock is brought up to date
 *   just before the image's superblock is written (e2undo refuses a file
 *   whose copy is not the image's superblock, and the manager would update
 *   it only with its next record: after the final fsync, or never).  A
 *   kill between the two writes is the one moment a killed run leaves an
 *   undo file e2undo refuses without -f.
 *
 * And the undo file's room is reserved ahead (pcw_undo_room): the run
 * stops while what finishing it cleanly writes (bitmaps, descriptors,
 * superblocks, the directories' inodes) still fits, so that a full
 * filesystem under the undo file leaves a consistent image and an undo
 * file that restores it.
 *
 * The undo manager keeps its settings in globals (the backing manager, the
 * file's name): so does this file, for the one run of a process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_run.h"

/* The undo file's layout (lib/ext2fs/undo_io.c): the header's fields. */
#define UNDO_MAGIC		"E2UNDO02"
#define UNDO_HDR_SIZE		512
#define UNDO_HDR_SUPER_OFF	16	/* le64: block of the superblock copy */
#define UNDO_HDR_BLOCK_SIZE	32	/* le32: the undo file's block size */
#define UNDO_HDR_SB_CRC		40	/* le32: crc32c of the superblock */
#define UNDO_HDR_STATE		44	/* le32: bit 0, the file is complete */
#define UNDO_HDR_CRC		508	/* le32: crc32c of the bytes before */
#define UNDO_STATE_FINISHED	0x1
#define SB_OFFSET		1024
#define SB_SIZE			1024
#define SB_MAGIC_OFF		56	/* s_magic, stored inverted in the copy */

/*
 * What finishing a stopped run may still save in the undo file, beyond
 * what the close writes (bitmaps, descriptors, superblocks) and the
 * directories' inodes: the rest of the entry being written when the run
 * stopped (its inode, directory blocks, an htree split, extent blocks).
 */
#define UNDO_MARGIN_BLOCKS	1024

/* Room is reserved this much at a time, beyond what is needed. */
#define UNDO_RESERVE_STEP	(4U << 20)

static struct undo_io {
	pcw_fs		*pfs;
	io_channel	undo_ch;	/* the undo file's channel */
	errcode_t	failed;		/* a write of the undo file failed */
	uint64_t	end;		/* the file's size: what was written */
	uint64_t	allocated;	/* room reserved up to this offset */
	uint64_t	limit;		/* RLIMIT_FSIZE at the start, or 0 */
	uint64_t	close_blocks;	/* what the close writes, at most */
	bool		no_reserve;	/* its filesystem cannot fallocate */
} undo;

static struct struct_io_manager backing;

/* PCW_ET_UNDO_*: the undo file's error, by its errno. */
static errcode_t undo_code(errcode_t err)
{
	switch (err) {
	case ENOSPC:
		return PCW_ET_UNDO_NOSPC;
	case EDQUOT:
		return PCW_ET_UNDO_DQUOT;
	case EFBIG:
		return PCW_ET_UNDO_FBIG;
	default:
		return PCW_ET_UNDO_IO;
	}
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static bool full_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t k = pwrite(fd, p, n, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= k;
		off += k;
	}
	return true;
}

/*
 * unix_io's report of a failed write: a short one (a full filesystem, the
 * file size limit) has no errno.  Write the rest, which gives it (or
 * succeeds: then so does the write).
 */
static errcode_t on_write_error(io_channel ch, unsigned long block, int count,
				const void *buf, size_t size, int actual,
				errcode_t error)
{
	pcw_fs *pfs = undo.pfs;
	int fd = -1;
	off_t off;

	(void)count;
	if (error != EXT2_ET_SHORT_WRITE || actual < 0 ||
	    (size_t)actual >= size || !pfs)
		return error;
	if (ch == undo.undo_ch) {
		fd = pfs->undo_fd;
		off = (off_t)block * ch->block_size;
	} else {
		fd = pfs->lock_fd;
		off = (off_t)(pfs->image_offset + (uint64_t)block * ch->block_size);
	}
	errno = 0;
	if (full_pwrite(fd, (const char *)buf + actual, size - actual,
			off + actual))
		return 0;
	return errno ? (errcode_t)errno : error;
}

/*
 * The superblock is being written to the image: the undo file's copy of
 * it, and the header's checksum of it, follow in one write (two writes
 * would leave a copy and a checksum that disagree between them).  NEW is
 * the superblock being written, and the copy goes first: killed before
 * the image's write, the image's superblock is still the one the run
 * found.  Without NEW (a part of the superblock was written), the image
 * is read back after its write.
 */
static void refresh_super_copy(const unsigned char *new)
{
	pcw_fs *pfs = undo.pfs;
	unsigned char sb[SB_SIZE], hdr[UNDO_HDR_SIZE], *buf;
	uint64_t at;

	if (new)
		memcpy(sb, new, SB_SIZE);
	else if (pread(pfs->lock_fd, sb, SB_SIZE,
		       (off_t)(pfs->image_offset + SB_OFFSET)) != SB_SIZE)
		return;
	if (pread(pfs->undo_fd, hdr, UNDO_HDR_SIZE, 0) != UNDO_HDR_SIZE ||
	    memcmp(hdr, UNDO_MAGIC, 8))
		return;		/* no record yet: nothing to bring up to date */
	at = get_le64(hdr + UNDO_HDR_SUPER_OFF) *
	     get_le32(hdr + UNDO_HDR_BLOCK_SIZE);
	if (at < UNDO_HDR_SIZE || at > (1U << 20))
		return;		/* not the layout this was written for */
	buf = calloc(1, at + SB_SIZE);
	if (!buf || pread(pfs->undo_fd, buf, at, 0) != (ssize_t)at) {
		free(buf);
		undo.failed = PCW_ET_UNDO_IO;
		return;
	}
	put_le32(hdr + UNDO_HDR_SB_CRC, ext2fs_crc32c_le(~0, sb, SB_SIZE));
	put_le32(hdr + UNDO_HDR_CRC, ext2fs_crc32c_le(~0, hdr, UNDO_HDR_CRC));
	sb[SB_MAGIC_OFF] ^= 0xff;
	sb[SB_MAGIC_OFF + 1] ^= 0xff;
	memcpy(buf, hdr, UNDO_HDR_SIZE);
	memcpy(buf + at, sb, SB_SIZE);
	errno = 0;
	if (!full_pwrite(pfs->undo_fd, buf, at + SB_SIZE, 0))
		undo.failed = undo_code(errno ? errno : EIO);
	free(buf);
}

/* Does a write of SIZE bytes at byte OFF of the filesystem touch its superblock? */
static bool touches_super(uint64_t off, uint64_t size)
{
	return off < SB_OFFSET + SB_SIZE && off + size > SB_OFFSET;
}

/*
 * Before a write of the image: the whole superblock goes first to the
 * copy.  The image's block cache is emptied before that (unix_io writes it
 * out before a write of the superblock anyway): its blocks must not land
 * between the copy and the superblock, where a kill would find a copy that
 * is not the image's.
 */
static errcode_t before_write(io_channel ch, uint64_t off, uint64_t size,
			      const void *buf)
{
	errcode_t err;

	if (undo.failed)
		return undo.failed;
	if (ch == undo.undo_ch || off > SB_OFFSET ||
	    off + size < SB_OFFSET + SB_SIZE)
		return 0;
	err = io_channel_set_options(ch, "cache=off");
	if (!err)
		err = io_channel_set_options(ch, "cache=on");
	if (err)
		return err;
	refresh_super_copy((const unsigned char *)buf + (SB_OFFSET - off));
	return undo.failed;
}

static errcode_t after_write(io_channel ch, errcode_t err, uint64_t off,
			     uint64_t size)
{
	if (ch == undo.undo_ch) {
		if (err)
			undo.failed = undo_code(err);
		else if (off + size > undo.end)
			undo.end = off + size;
		return undo.failed;
	}
	/* A part of it: read back (not done by libext2fs 1.47, see reopen). */
	if (!err && touches_super(off, size) &&
	    !(off <= SB_OFFSET && off + size >= SB_OFFSET + SB_SIZE))
		refresh_super_copy(NULL);
	return err ? err : undo.failed;
}

static uint64_t byte_count(io_channel ch, int count)
{
	return count < 0 ? (uint64_t)-count : (uint64_t)count * ch->block_size;
}

static errcode_t backing_write_blk64(io_channel ch, unsigned long long block,
				     int count, const void *buf)
{
	errcode_t err;

	err = before_write(ch, block * ch->block_size, byte_count(ch, count),
			   buf);
	if (err)
		return err;
	err = unix_io_manager->write_blk64(ch, block, count, buf);
	return after_write(ch, err, block * ch->block_size,
			   byte_count(ch, count));
}

static errcode_t backing_write_blk(io_channel ch, unsigned long block,
				   int count, const void *buf)
{
	return backing_write_blk64(ch, block, count, buf);
}

static errcode_t backing_write_byte(io_channel ch, unsigned long offset,
				    int size, const void *buf)
{
	errcode_t err;

	err = before_write(ch, offset, size, buf);
	if (err)
		return err;
	err = unix_io_manager->write_byte(ch, offset, size, buf);
	return after_write(ch, err, offset, size);
}

static errcode_t backing_open(const char *name, int flags, io_channel *ret)
{
	pcw_fs *pfs = undo.pfs;
	errcode_t err;

	err = unix_io_manager->open(name, flags, ret);
	if (err)
		return err;
	(*ret)->manager = &backing;
	(*ret)->write_error = on_write_error;
	if (pfs && !strcmp(name, pfs->undo_file)) {
		undo.undo_ch = *ret;
		err = io_channel_set_options(*ret, "cache=off");
		if (err) {
			io_channel_close(*ret);
			*ret = NULL;
		}
	}
	return err;
}

static void backing_init(void)
{
	backing = *unix_io_manager;
	backing.name = "pcwrite undo backing I/O manager";
	backing.open = backing_open;
	backing.write_blk = backing_write_blk;
	backing.write_blk64 = backing_write_blk64;
	backing.write_byte = backing_write_byte;
	/* Neither is used on an image pcwrite writes: the undo manager's own. */
	backing.discard = NULL;
	backing.zeroout = NULL;
}

/*
 * The blocks finishing the run may save, beyond the next COUNT: every
 * group's two bitmaps and every copy of the superblock and descriptors
 * (the close writes them all; counted once, in undo.close_blocks), each
 * directory the run holds (its inode), a margin for the entry in
 * progress; and a key block for each key block's worth of them.
 */
static uint64_t reserve_bytes(pcw_fs *pfs, uint64_t count)
{
	ext2_filsys fs = pfs->fs;
	uint64_t blocks, keys_per_block = fs->blocksize / 16 - 1;
	dgrp_t g;

	if (!undo.close_blocks) {
		undo.close_blocks = 2ULL * fs->group_desc_count;
		for (g = 0; g < fs->group_desc_count; g++)
			if (ext2fs_bg_has_super(fs, g))
				undo.close_blocks += 1 + fs->desc_blocks;
	}
	blocks = count + UNDO_MARGIN_BLOCKS + pfs->dcache_dirs +
		 undo.close_blocks;
	blocks += blocks / keys_per_block + 3;
	return blocks * fs->blocksize;
}

/*
 * Reserve [undo.allocated, END) past the end of the file (its size stays
 * what the manager wrote).  0, or the errno.
 */
static int reserve_to(uint64_t end)
{
	if (fallocate(undo.pfs->undo_fd, FALLOC_FL_KEEP_SIZE,
		      (off_t)undo.allocated, (off_t)(end - undo.allocated)) < 0)
		return errno;
	undo.allocated = end;
	return 0;
}

errcode_t pcw_undo_room(pcw_fs *pfs, uint64_t count)
{
	uint64_t need;
	int e;

	if (pfs->undo_fd < 0 || undo.pfs != pfs)
		return 0;
	if (undo.failed)
		return undo.failed;
	need = undo.end + reserve_bytes(pfs, count);
	if (undo.limit && need > undo.limit)
		return PCW_ET_UNDO_FBIG;
	if (undo.end > undo.allocated)
		undo.allocated = undo.end;
	if (need <= undo.allocated || undo.no_reserve)
		return 0;
	/* A step ahead, so that this is not a call per entry; or just enough. */
	e = reserve_to(undo.limit && need + UNDO_RESERVE_STEP > undo.limit ?
		       need : need + UNDO_RESERVE_STEP);
	if (e == ENOSPC || e == EDQUOT)
		e = reserve_to(need);
	if (e == EOPNOTSUPP || e == ENOSYS) {
		undo.no_reserve = true;
		return 0;
	}
	return e ? undo_code(e) : 0;
}

/*
 * Open the image again through the undo manager, over the backing manager
 * above.  The refusal checks ran on the plain open, and nothing was written
 * in between.
 *
 * libext2fs 1.47.0's undo manager opens the file by name, twice, creates it
 * when missing (and reports success when it cannot), and resumes one that
 * is not empty: the caller made it new and empty with O_EXCL|O_NOFOLLOW,
 * and it must still be that file once the manager has opened it.
 */
errcode_t pcw_undo_reopen(pcw_fs *pfs, ext2_filsys *ret)
{
	ext2_filsys fs;
	struct rlimit rl;
	struct stat a, b;
	char opt[32];
	errcode_t err;

	memset(&undo, 0, sizeof(undo));
	undo.pfs = pfs;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		undo.limit = rl.rlim_cur;
	backing_init();
	/* Room for finishing the run, before anything is saved. */
	err = pcw_undo_room(pfs, 0);
	if (!err)
		err = set_undo_io_backing_manager(&backing);
	if (!err)
		err = set_undo_io_backup_file(pfs->undo_file);
	if (!err)
		err = ext2fs_open2(pfs->image, pfs->io_options, pfs->open_flags,
				   0, 0, undo_io_manager, &fs);
	if (err)
		goto fail;
	if (!undo.undo_ch || fstat(pfs->undo_fd, &a) < 0 ||
	    lstat(pfs->undo_file, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino || a.st_size != 0) {
		ext2fs_free(fs);
		err = PCW_ET_UNDO_REPLACED;
		goto fail;
	}
	fs->now = pfs->now;
	/*
	 * Without the copy of the superblock as read, libext2fs writes the
	 * superblock whole, in one write, not field by field: the undo file's
	 * copy is then behind the image across one write of the image (each
	 * time it is written, at the start and at the end of the run), not
	 * one per changed field.
	 */
	ext2fs_free_mem(&fs->orig_super);
	/*
	 * That write sets the channel's block size to 1 KiB, and the undo
	 * manager takes the block size of its records from the first write
	 * it saves (the superblock's): records of 1 KiB keyed by 4 KiB block
	 * numbers, which e2undo puts back four to a place.  Its records are
	 * the filesystem's blocks, set before the first.
	 */
	snprintf(opt, sizeof(opt), "tdb_data_size=%u", fs->blocksize);
	err = io_channel_set_options(fs->io, opt);
	/* Trees of extents, as pcw_fs_open sets for the run's first handle. */
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	if (!err)
		err = ext2fs_read_bitmaps(fs);
	if (err) {
		ext2fs_free(fs);
		goto fail;
	}
	*ret = fs;
	return 0;
fail:
	undo.pfs = NULL;
	return err;
}

/*
 * After the close: the undo manager writes the file's final header when its
 * channel is closed, inside ext2fs_free(), which drops the error; check
 * that the header says the file is complete, and that it is on stable
 * storage.  The room reserved past its end is given back.
 */
errcode_t pcw_undo_finish(pcw_fs *pfs)
{
	unsigned char hdr[UNDO_HDR_SIZE];
	errcode_t err = 0;

	if (pfs->undo_fd < 0 || undo.pfs != pfs)
		return 0;
	if (undo.failed)
		err = undo.failed;
	else if (pread(pfs->undo_fd, hdr, sizeof(hdr), 0) != sizeof(hdr) ||
		 memcmp(hdr, UNDO_MAGIC, 8) ||
		 !(get_le32(hdr + UNDO_HDR_STATE) & UNDO_STATE_FINISHED))
		err = PCW_ET_UNDO_INCOMPLETE;
	pcw_undo_release(pfs);
	if (!err && !(pfs->flags & PCW_OPEN_NO_SYNC) && fsync(pfs->undo_fd) < 0)
		err = errno;
	return err;
}

void pcw_undo_release(pcw_fs *pfs)
{
	struct stat st;

	if (undo.pfs != pfs)
		return;
	/* The room past the end, given back (same size: blocks past it go). */
	if (fstat(pfs->undo_fd, &st) == 0 &&
	    (uint64_t)st.st_size < undo.allocated)
		(void)!ftruncate(pfs->undo_fd, st.st_size);
	undo.pfs = NULL;
}
