/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * idset.c: idset.h's set: open addressing with linear probing, at most half
 * full (it doubles), and deletion by shifting the following run back (no
 * tombstones, so a stack that pushes and pops for ever keeps short probes).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"

static size_t id_hash(uint64_t a, uint64_t b)
{
	uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ b;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

/* The slot of (A, B), or the empty slot where it would go. */
static size_t find(const struct pcw_idset *s, uint64_t a, uint64_t b)
{
	size_t k = id_hash(a, b) & s->mask;

	while (s->slot[k].used && (s->slot[k].a != a || s->slot[k].b != b))
		k = (k + 1) & s->mask;
	return k;
}

static errcode_t rehash(struct pcw_idset *s, size_t slots)
{
	struct pcw_idset t = { calloc(slots, sizeof(*t.slot)), slots - 1, 0 };
	size_t k;

	if (!t.slot)
		return ENOMEM;
	for (k = 0; s->slot && k <= s->mask; k++)
		if (s->slot[k].used)
			t.slot[find(&t, s->slot[k].a, s->slot[k].b)] = s->slot[k];
	t.n = s->n;
	free(s->slot);
	*s = t;
	return 0;
}

errcode_t pcw_idset_add(struct pcw_idset *s, uint64_t a, uint64_t b,
			bool *had)
{
	size_t k;

	*had = false;
	if (!s->slot || 2 * (s->n + 1) > s->mask + 1) {
		errcode_t err = rehash(s, s->slot ? 2 * (s->mask + 1) : 64);

		if (err)
			return err;
	}
	k = find(s, a, b);
	if (s->slot[k].used) {
		*had = true;
		return 0;
	}
	s->slot[k].a = a;
	s->slot[k].b = b;
	s->slot[k].used = true;
	s->n++;
	return 0;
}

void pcw_idset_del(struct pcw_idset *s, uint64_t a, uint64_t b)
{
	size_t hole, k;

	if (!s->slot)
		return;
	hole = find(s, a, b);
	if (!s->slot[hole].used)
		return;
	s->slot[hole].used = false;
	s->n--;
	/*
	 * Move back each following entry whose home slot is not cyclically
	 * in (hole, k]: a probe for it would otherwise stop at the hole.
	 */
	for (k = (hole + 1) & s->mask; s->slot[k].used; k = (k + 1) & s->mask) {
		size_t home = id_hash(s->slot[k].a, s->slot[k].b) & s->mask;

		if (((k - home) & s->mask) >= ((k - hole) & s->mask)) {
			s->slot[hole] = s->slot[k];
			s->slot[k].used = false;
			hole = k;
		}
	}
}

void pcw_idset_free(struct pcw_idset *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
