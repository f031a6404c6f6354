/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_data.c: file data, written beside the holding layer (io.c) rather
 * than through it: straight to the image, in as few writes as the caller's
 * runs allow.  What the layer held of those blocks (metadata they were
 * before) is forgotten first, so no commit writes it over the data.  The
 * writeback of what was written is started every PCW_IO_KICK_BYTES.
 *
 * The plug (the kernel's blk_plug, blk_start_plug/blk_finish_plug): a run
 * of many small files writes a run or two each, next to each other on
 * disk, and a write call costs more than its bytes.  With PLUG, a small
 * run is copied into the plug and written with the runs that follow it on
 * disk, as the block layer merges the requests a task plugged.  Nothing
 * may see the image without those blocks: the plug is written before a
 * write anywhere else, before a read of any of its blocks (io.c), and at
 * the start of every commit (io_commit.c), so the data is on its way
 * before the commit's flush as data=ordered wants.  Only with the jbd2
 * writer: a gathered write that fails may hold the data of several
 * uncommitted files, so no commit is made after it (plug_err), the
 * transaction is dropped and the image replays to the last commit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>

#include "io_priv.h"

/* LEFT bytes from P to block BLK of the image descriptor. */
static errcode_t write_out(struct pcw_hold *h, blk64_t blk, const char *p,
			   size_t left)
{
	uint64_t off = h->data_offset + blk * (uint64_t)h->unit;

	while (left) {
		ssize_t n = pwrite(h->data_fd, p, left > ((size_t)1 << 30) ?
				   ((size_t)1 << 30) : left, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EXT2_ET_SHORT_WRITE;
		p += n;
		off += n;
		left -= n;
		h->unkicked += n;
	}
	/*
	 * Start the writeback of what was written (the kernel's background
	 * writeback, which waits for 10% of memory dirty): the commit's flush
	 * then waits for the last pieces only, not for all its data.  Only
	 * started: no wait, no error taken from the flush that reports it.
	 */
	if (h->unkicked >= PCW_IO_KICK_BYTES) {
		sync_file_range(h->data_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		h->unkicked = 0;
	}
	return 0;
}

errcode_t pcw_hold_unplug(struct pcw_hold *h)
{
	errcode_t err;

	if (h->plug_n) {
		err = write_out(h, h->plug_start, (const char *)h->plug,
				h->plug_n * h->unit);
		h->plug_n = 0;
		if (err && !h->plug_err)
			h->plug_err = err;
	}
	return h->plug_err;
}

bool pcw_hold_plugged(const struct pcw_hold *h, blk64_t blk, blk64_t n)
{
	return h->plug_n && blk < h->plug_start + h->plug_n &&
	       blk + n > h->plug_start;
}

void pcw_hold_plug_drop(struct pcw_hold *h)
{
	h->plug_n = 0;
	free(h->plug);
	h->plug = NULL;
}

/* Gather COUNT blocks at BLK into the plug; false: write them now. */
static bool plug_add(struct pcw_hold *h, blk64_t blk, size_t count,
		     const void *buf)
{
	size_t max = PCW_IO_PLUG_BYTES / h->unit;

	if (count > max || !h->writer->atomic || !h->holding || h->dead)
		return false;
	if (h->plug_n && (blk != h->plug_start + h->plug_n ||
			  h->plug_n + count > max))
		return false;
	if (!h->plug) {
		h->plug = malloc(max * (size_t)h->unit);
		if (!h->plug)
			return false;
	}
	if (!h->plug_n)
		h->plug_start = blk;
	memcpy(h->plug + h->plug_n * h->unit, buf, count * (size_t)h->unit);
	h->plug_n += count;
	return true;
}

errcode_t pcw_io_write_data(ext2_filsys fs, blk64_t blk, size_t count,
			    const void *buf, uint64_t *around, bool plug)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	io_channel dev = h ? h->lower : fs->io;
	const char *p = buf;
	/* Whole blocks, at most 1 GiB a call (one pwrite caps near 2 GiB). */
	size_t most = ((size_t)1 << 30) / fs->blocksize;
	errcode_t err;

	if (h)
		pcw_hold_drop(h, blk, count);
	if (!h || h->data_fd < 0) {
		while (count) {
			size_t n = count > most ? most : count;

			err = io_channel_write_blk64(dev, blk, (int)n, p);
			if (err)
				return err;
			blk += n;
			p += n * fs->blocksize;
			count -= n;
		}
		return 0;
	}
	if (h->plug_err)
		return h->plug_err;
	if (plug && plug_add(h, blk, count, buf)) {
		*around += count * (uint64_t)fs->blocksize;
		return 0;
	}
	/* What is gathered goes first: the blocks may be the same. */
	err = pcw_hold_unplug(h);
	if (!err && plug && plug_add(h, blk, count, buf)) {
		*around += count * (uint64_t)fs->blocksize;
		return 0;
	}
	if (!err)
		err = write_out(h, blk, p, count * (size_t)fs->blocksize);
	if (!err)
		*around += count * (uint64_t)fs->blocksize;
	return err;
}
