/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_inplace.c: the in-place commit writer (io.h).  Without a journal a
 * commit's blocks go to their homes in the order the layer gives them
 * (bitmaps and descriptors, new blocks, tree blocks, inode tables,
 * directories, released bitmaps, the superblock); a kill between two writes
 * leaves a prefix of that order, which is what the order is for.  Inside
 * the inode tables the order is from the highest block down (write_itable).  Adjacent
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

static bool whole(const struct pcw_io_block *b, unsigned bs)
{
	return !b->off && b->len == bs;
}

/* Write b[i..i+k): K adjacent whole blocks in one write, or one block. */
static errcode_t write_run(struct inplace *ip, io_channel dev,
			   const struct pcw_io_block *b, size_t i, size_t k)
{
	unsigned bs = dev->block_size;
	errcode_t err;
	size_t j;

	if (!whole(&b[i], bs)) {
		err = EXT2_ET_UNIMPLEMENTED;
		if (dev->manager->write_byte)
			err = io_channel_write_byte(dev,
				b[i].blk * bs + b[i].off, (int)b[i].len,
				(const char *)b[i].data + b[i].off);
		if (err == EXT2_ET_UNIMPLEMENTED)
			err = io_channel_write_blk64(dev, b[i].blk, 1,
						     b[i].data);
		return err;
	}
	if (k > 1 && ip->size < k * bs) {
		unsigned char *nb = realloc(ip->buf, k * bs);

		if (!nb) {
			/* one at a time, last first: the run's own order */
			for (j = k; j-- > 0;) {
				err = io_channel_write_blk64(dev, b[i + j].blk,
							     1, b[i + j].data);
				if (err)
					return err;
			}
			return 0;
		}
		ip->buf = nb;
		ip->size = k * bs;
	}
	for (j = 0; j < k && k > 1; j++)
		memcpy(ip->buf + j * bs, b[i + j].data, bs);
	return io_channel_write_blk64(dev, b[i].blk, (int)k,
				      k > 1 ? ip->buf : b[i].data);
}

/* Can b[j] join the run of adjacent whole blocks that b[j - 1] is in? */
static bool adjacent(const struct pcw_io_block *b, size_t j, unsigned bs)
{
	return b[j].blk == b[j - 1].blk + 1 && b[j].phase == b[j - 1].phase &&
	       whole(&b[j], bs) && whole(&b[j - 1], bs);
}

/*
 * The inode table blocks of a commit, runs from the highest block down: a
 * new directory's block (PCW_IO_NEW, written before) names inodes allocated
 * after the directory's own, with higher numbers, so each inode it names
 * reaches the image before the directory's inode makes e2fsck read it (a
 * kill between the two left "deleted/unused inode" entries).  Inodes are
 * allocated in the order the tree is walked, parents first; an inode of a
 * child in a lower group than its parent is the order's blind spot.
 */
static errcode_t write_itable(struct inplace *ip, io_channel dev,
			      const struct pcw_io_block *b, size_t i,
			      size_t end)
{
	unsigned bs = dev->block_size;
	errcode_t err;

	while (end > i) {
		size_t s = end - 1;

		while (s > i && adjacent(b, s, bs) &&
		       (end - s + 1) * bs <= INPLACE_MAX_WRITE)
			s--;
		err = write_run(ip, dev, b, s, end - s);
		if (err)
			return err;
		end = s;
	}
	return 0;
}

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
		if (b[i].phase == PCW_IO_ITABLE) {
			for (k = i + 1; k < n && b[k].phase == PCW_IO_ITABLE;
			     k++)
				;
			err = write_itable(ip, dev, b, i, k);
			if (err)
				return err;
			i = k;
			continue;
		}
		for (k = 1; i + k < n && adjacent(b, i + k, bs) &&
		     (k + 1) * bs <= INPLACE_MAX_WRITE; k++)
			;
		err = write_run(ip, dev, b, i, k);
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
