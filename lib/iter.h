/* iter.h: struct pcw_iter, private to lib/. */
#ifndef PCW_ITER_H
#define PCW_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcw_iter {
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
	uint64_t	src_pos;	/* file offset of buf[head] */
	uint64_t	hole_lo, hole_hi;	/* a known hole of the source */
	uint64_t	data_lo, data_hi;	/* a known data region */
};

bool pcw_iter_zero(struct pcw_iter *i, size_t bytes);

errcode_t pcw_iter_fault_in(struct pcw_iter *i, size_t bytes);
size_t pcw_iter_count(const struct pcw_iter *i);
size_t pcw_iter_copy_to_page(struct pcw_iter *i, struct pcw_page *page,
			     unsigned offset, size_t bytes, uint64_t pos);
void pcw_iter_advance(struct pcw_iter *i, size_t bytes);

#endif
