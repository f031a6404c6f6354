/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_data.c: file data, written beside the holding layer (io.c) rather
 * than through it: straight to the image, at once, in as few writes as the
 * caller's runs allow.  What the layer held of those blocks (metadata they
 * were before) is forgotten first, so no commit writes it over the data.
 * The writeback of what was written is started every PCW_IO_KICK_BYTES.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>

#include "io_priv.h"

errcode_t pcw_io_write_data(ext2_filsys fs, blk64_t blk, size_t count,
			    const void *buf, uint64_t *around)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	io_channel dev = h ? h->lower : fs->io;
	const char *p = buf;
	/* Whole blocks, at most 1 GiB a call (one pwrite caps near 2 GiB). */
	size_t most = ((size_t)1 << 30) / fs->blocksize;
	size_t left = count * fs->blocksize;
	uint64_t off;
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
	off = h->data_offset + blk * (uint64_t)fs->blocksize;
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
		*around += n;
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
