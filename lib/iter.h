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
};

errcode_t pcw_iter_fault_in(struct pcw_iter *i, size_t bytes);
size_t pcw_iter_count(const struct pcw_iter *i);
size_t pcw_iter_copy_to_page(struct pcw_iter *i, struct pcw_page *page,
			     unsigned offset, size_t bytes, uint64_t pos);
void pcw_iter_advance(struct pcw_iter *i, size_t bytes);

#endif
