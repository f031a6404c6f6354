/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_inplace.c: the in-place commit writer (io.h).  Without a journal a
 * commit's blocks go to their homes in the order the layer gives them
 * (bitmaps and descriptors, new blocks, tree blocks, inode tables,
 * directories, released bitmaps, the superblock); a kill between two writes
 * leaves a prefix of that order, which is what the order is for.  Adjacent
 * whole blocks of one phase go in one write (at most 32 KiB: an inode table
 * written a block at a time would cost a write per block); a block of which
 * only some bytes changed (the superblock) is written as those bytes.
 * Nothing is flushed: against a power cut, the journal (issue 13).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "io.h"

#define INPLACE_MAX_WRITE	(32U << 10)	/* adjacent blocks in one write */

struct inplace {
	struct pcw_io_writer w;
	unsigned char	*buf;
	size_t		size;
};

static errcode_t inplace_commit(struct pcw_io_writer *w, io_channel dev,
				const struct pcw_io_block *b, size_t n,
				const blk64_t *revoked, size_t nrev)
{
	struct inplace *ip = (struct inplace *)w;
	unsigned bs = dev->block_size;
	size_t i = 0, k;
	errcode_t err;

	(void)revoked;
	(void)nrev;
	while (i < n) {
		if (b[i].off || b[i].len != bs) {
			err = EXT2_ET_UNIMPLEMENTED;
			if (dev->manager->write_byte)
				err = io_channel_write_byte(dev,
					b[i].blk * bs + b[i].off, (int)b[i].len,
					(const char *)b[i].data + b[i].off);
			if (err == EXT2_ET_UNIMPLEMENTED)
				err = io_channel_write_blk64(dev, b[i].blk, 1,
							     b[i].data);
			if (err)
				return err;
			i++;
			continue;
		}
		for (k = 1; i + k < n && b[i + k].blk == b[i].blk + k &&
		     b[i + k].phase == b[i].phase && !b[i + k].off &&
		     b[i + k].len == bs && (k + 1) * bs <= INPLACE_MAX_WRITE;
		     k++)
			;
		if (k > 1) {
			size_t j;

			if (ip->size < k * bs) {
				unsigned char *nb = realloc(ip->buf, k * bs);

				if (!nb)
					k = 1;
				else {
					ip->buf = nb;
					ip->size = k * bs;
				}
			}
			for (j = 0; j < k && k > 1; j++)
				memcpy(ip->buf + j * bs, b[i + j].data, bs);
		}
		err = io_channel_write_blk64(dev, b[i].blk, (int)k,
					     k > 1 ? ip->buf : b[i].data);
		if (err)
			return err;
		i += k;
	}
	return 0;
}

static void inplace_free(struct pcw_io_writer *w)
{
	struct inplace *ip = (struct inplace *)w;

	free(ip->buf);
	free(ip);
}

struct pcw_io_writer *pcw_io_inplace_writer(void)
{
	struct inplace *ip = calloc(1, sizeof(*ip));

	if (!ip)
		return NULL;
	ip->w.name = "in place";
	ip->w.atomic = false;
	ip->w.commit = inplace_commit;
	ip->w.free = inplace_free;
	return &ip->w;
}
