/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * aops.h: layer 7: writeback (writeback.c), nodelalloc's operations
 * (nd_aops.c) and delalloc's (da_aops.c).
 */
#ifndef PCW_AOPS_H
#define PCW_AOPS_H

#include "mapping.h"
/* writeback.c */
errcode_t pcw_writepages(struct pcw_mapping *mapping, uint64_t *nr_written);
void pcw_drop_delayed(struct pcw_mapping *mapping);
errcode_t pcw_write_inode(struct pcw_mapping *mapping);

/* nd_aops.c */
errcode_t pcw_alloc_holes(struct pcw_mapping *mapping, struct pcw_page *page,
			  uint64_t holes);
errcode_t pcw_nd_write_begin(struct pcw_mapping *mapping, uint64_t pos,
			     unsigned len, struct pcw_page **pagep,
			     struct pcw_fsdata *fsdata);
int64_t pcw_nd_write_end(struct pcw_mapping *mapping, uint64_t pos,
			 unsigned len, unsigned copied, struct pcw_page *page,
			 struct pcw_fsdata *fsdata);

#endif /* PCW_AOPS_H */
