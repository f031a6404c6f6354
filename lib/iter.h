/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iter.h: struct pcw_iter, private to lib/. */
#ifndef PCW_ITER_H
#define PCW_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pcwrite_test.h"	/* pcw_copy_fault_fn */

/*
 * Where an iterator's bytes come from: a file descriptor (a pipe, a file,
 * a tty) or the data of an archive entry.  read() delivers up to N bytes
 * (0 at the end of the source); hole() says whether [pos, pos+len), already
 * read, is a hole of the source (a sparse file's, or an archive entry's).
 * seek_data() says where the source's data goes on from POS, as lseek's
 * SEEK_DATA, from what the source knows without reading the hole: POS when
 * POS is data or nothing is known, never past the source's end.  skip()
 * goes on at source offset TO, past a hole seek_data() gave, so the next
 * read() starts there; the hole's bytes are never read.  Both may be NULL
 * (a source without holes).
 */
struct pcw_iter_ops {
	errcode_t	(*read)(struct pcw_iter *i, unsigned char *buf, size_t n,
				size_t *got);
	bool		(*hole)(struct pcw_iter *i, uint64_t pos, uint64_t len);
	errcode_t	(*seek_data)(struct pcw_iter *i, uint64_t pos,
				     uint64_t *data);
	errcode_t	(*skip)(struct pcw_iter *i, uint64_t to);
};

/* A file descriptor: read(2), and SEEK_DATA/SEEK_HOLE for a regular file. */
extern const struct pcw_iter_ops pcw_iter_fd_ops;

struct pcw_iter {
	const struct pcw_iter_ops *ops;
	void		*priv;		/* the source's own state */
	int		fd;
	unsigned char	*buf;
	size_t		cap, head, tail;	/* [head, tail) is delivered */
	bool		eof;
	uint64_t	total_read;
	pcw_copy_fault_fn fault;
	void		*fault_arg;

	/* --sparse: where the source's holes are */
	enum pcw_sparse	sparse;
	bool		is_reg;		/* a regular file: SEEK_DATA works */
	bool		dense;		/* as many blocks as bytes: no holes */
	uint64_t	src_pos;	/* source offset of buf[head] */
	uint64_t	hole_lo, hole_hi;	/* a known hole of the source */
	uint64_t	data_lo, data_hi;	/* a known data region */
};

errcode_t pcw_iter_init(struct pcw_iter *i, const struct pcw_iter_ops *ops,
			void *priv, size_t page_size);
void pcw_iter_fini(struct pcw_iter *i);
/* Start again for the next entry of the same source: nothing buffered. */
void pcw_iter_reset(struct pcw_iter *i);

bool pcw_iter_zero(struct pcw_iter *i, size_t bytes);
errcode_t pcw_iter_hole_ahead(struct pcw_iter *i, uint64_t *len);
errcode_t pcw_iter_skip_hole(struct pcw_iter *i, uint64_t len);
bool pcw_iter_st_dense(const struct stat *st);

errcode_t pcw_iter_fault_in(struct pcw_iter *i, size_t bytes);
size_t pcw_iter_count(const struct pcw_iter *i);
size_t pcw_iter_copy_to_page(struct pcw_iter *i, unsigned char *to,
			     size_t bytes, uint64_t pos);
void pcw_iter_advance(struct pcw_iter *i, size_t bytes);

#endif
