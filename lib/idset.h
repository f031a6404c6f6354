/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * idset.h: a set of identities (a pair of numbers: st_dev and st_ino of a
 * host directory, or 0 and an inode number of the image), hashed, for the
 * walks that must refuse a directory inside itself: rmtree.c's and -R's
 * (src_walk.c).  Checking a new directory against every one above it costs
 * O(depth) a directory, O(depth^2) a chain; the set makes it O(1).
 */
#ifndef PCW_IDSET_H
#define PCW_IDSET_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

struct pcw_id {
	uint64_t	a, b;
	bool		used;
};

struct pcw_idset {
	struct pcw_id	*slot;
	size_t		mask;		/* slots - 1, a power of two less one */
	size_t		n;
};

/* (A, B) in S; *HAD: it was there already (then S is unchanged). */
errcode_t pcw_idset_add(struct pcw_idset *s, uint64_t a, uint64_t b,
			bool *had);
/* (A, B) out of S; nothing when it is not there. */
void pcw_idset_del(struct pcw_idset *s, uint64_t a, uint64_t b);
void pcw_idset_free(struct pcw_idset *s);

#endif /* PCW_IDSET_H */
