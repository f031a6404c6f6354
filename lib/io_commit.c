/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_commit.c: one commit of the holding layer, built from the
 * filesystem's state (see io.h for the phases and what they guarantee).
 *
 * Which groups changed.  Block allocations and frees reach the block
 * alloc-stats callbacks; inode allocations and frees have no callback, and
 * libext2fs makes and frees EA inodes on its own.  So the commit does not
 * trust events: it compares.  A group is a candidate when its descriptor
 * differs from the one on disk (every alloc-stats call changes a free
 * count), a block of it was allocated or freed, or one of its inode table
 * blocks was written in this commit or the one before (an inode allocated
 * and another freed in the same group leave the counts as they were, but
 * both inodes are written; the inode and the bitmap change may straddle an
 * early commit).  For each candidate the bitmaps are built from memory as
 * ext2fs_write_bitmaps builds them (padding included) and compared with
 * the blocks on disk: only those that differ are written, and only the
 * descriptor blocks that differ from the copy of what is on disk.
 *
 * Freed things.  In place, a bit that is set on disk and clear in memory
 * was freed by this commit: the structure that used it (an inode's extent
 * tree, a directory entry) is rewritten later in the same commit, so the
 * first write of the bitmap keeps the bit (on disk OR in memory, with the
 * descriptor's checksum and free count to match) and a second write, after
 * everything else, clears it.  A journal lands whole: one exact write.
 *
 * Freed blocks, with a journal (an atomic writer).  A block freed in a
 * transaction is still used by the structures of the transaction before
 * it, which is what a crash replays to: it must not be allocated again,
 * and file data written there in place, until the transaction that freed
 * it is durable.  ext4 keeps such blocks busy in its buddy cache until its
 * commit callback (ext4_process_freed_data).  Here the lowest common point
 * of every free (truncate, writeback, EA inodes and blocks, directories)
 * is libext2fs's block alloc-stats callback: after the free, the block is
 * marked in the bitmap in memory again (the free counts stay as freed), so
 * no allocator hands it out; the bitmaps a commit writes have it clear;
 * once the commit returns (durable) it is released in memory.  A freed
 * metadata block also loses its held copy and gets a revoke record.
 *
 * What is not done in place (no journal): a block freed and allocated again
 * before the commit (and file data written into it at once) can still be
 * referenced by the old structure on disk until the commit's later phases.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "io_priv.h"

struct special {
	blk64_t		blk;
	dgrp_t		group;		/* bitmaps: the group; else the
					   descriptor block's index */
	int		kind;		/* SP_BB, SP_IB, SP_DESC */
};
enum { SP_BB, SP_IB, SP_DESC };

/* One candidate group's bitmaps in this commit. */
struct cand {
	dgrp_t		group;
	unsigned char	*bb, *bb_union;	/* NULL: not written (uninit) */
	unsigned char	*ib, *ib_union;
	bool		bb_write, ib_write;	/* union differs from the disk */
	bool		freed;			/* union differs from memory */
	uint32_t	bb_extra, ib_extra;	/* bits union has over memory */
};

static int cmp_blk(const void *a, const void *b)
{
	blk64_t x = *(const blk64_t *)a, y = *(const blk64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_itable(const void *a, const void *b)
{
	return cmp_blk(&((const struct hold_itable *)a)->start,
		       &((const struct hold_itable *)b)->start);
}

static int cmp_block(const void *a, const void *b)
{
	const struct pcw_io_block *x = a, *y = b;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	return cmp_blk(&x->blk, &y->blk);
}

/* The inode table block BLK belongs to: its group, or -1. */
static long itable_group(const struct pcw_hold *h, blk64_t blk)
{
	size_t lo = 0, hi = h->fs->group_desc_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (h->itables[mid].start <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || blk - h->itables[lo - 1].start >=
		   h->fs->inode_blocks_per_group)
		return -1;
	return h->itables[lo - 1].group;
}

static const struct special *find_special(const struct pcw_hold *h,
					  blk64_t blk)
{
	const struct special *sp = (const struct special *)h->special;
	size_t lo = 0, hi = h->nspecial;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sp[mid].blk == blk)
			return &sp[mid];
		if (sp[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool in_ranges(const struct hold_ranges *r, blk64_t blk)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->start[mid] <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && blk - r->start[lo - 1] < r->len[lo - 1];
}

static void ranges_add(struct hold_ranges *r, blk64_t start, blk64_t len)
{
	if (r->n && r->start[r->n - 1] + r->len[r->n - 1] == start) {
		r->len[r->n - 1] += len;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		blk64_t *s = realloc(r->start, cap * sizeof(*s));
		blk64_t *l = s ? realloc(r->len, cap * sizeof(*l)) : NULL;

		if (s)
			r->start = s;
		if (!l)
			return;	/* only the order inside a commit suffers */
		r->len = l;
		r->cap = cap;
	}
	r->start[r->n] = start;
	r->len[r->n++] = len;
}

/* Sort and merge (allocations arrive in any order). */
static void ranges_settle(struct hold_ranges *r)
{
	size_t i, j, n = r->n;
	blk64_t *pair;

	if (n < 2)
		return;
	pair = malloc(2 * n * sizeof(*pair));
	if (!pair)
		return;
	for (i = 0; i < n; i++) {
		pair[2 * i] = r->start[i];
		pair[2 * i + 1] = r->len[i];
	}
	qsort(pair, n, 2 * sizeof(*pair), cmp_blk);
	for (i = 0, j = 0; i < n; i++) {
		blk64_t s = pair[2 * i], l = pair[2 * i + 1];

		if (j && r->start[j - 1] + r->len[j - 1] >= s) {
			if (s + l > r->start[j - 1] + r->len[j - 1])
				r->len[j - 1] = s + l - r->start[j - 1];
			continue;
		}
		r->start[j] = s;
		r->len[j++] = l;
	}
	r->n = j;
	free(pair);
}

static void add_revoked(struct pcw_hold *h, blk64_t blk)
{
	if (h->nrev == h->caprev) {
		size_t cap = h->caprev ? h->caprev * 2 : 64;
		blk64_t *p = realloc(h->revoked, cap * sizeof(*p));

		if (!p)
			return;	/* the in-place writer ignores them */
		h->revoked = p;
		h->caprev = cap;
	}
	h->revoked[h->nrev++] = blk;
}

/*
 * Group G's bitmaps may change in this commit: counted here, so that
 * pcw_hold_footprint, asked at each held write once the groups' blocks
 * pass a transaction, does not walk every group.
 */
static void touch_now(struct pcw_hold *h, dgrp_t g)
{
	dgrp_t d = g / EXT2_DESC_PER_BLOCK(h->fs->super);

	if (h->touched[g] & TOUCH_NOW)
		return;
	h->touched[g] |= TOUCH_NOW;
	h->now_groups++;
	if (!h->desc_now[d]) {
		h->desc_now[d] = 1;
		h->now_descs++;
	}
}

/*
 * Blocks [blk, blk + n) allocated (INUSE > 0) or freed.  A freed block's
 * held copy goes: data may be written there at once, and the commit must
 * not write the old metadata over it.
 */
static void note_stats(ext2_filsys fs, blk64_t blk, blk64_t n, int inuse)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	blk64_t first, end, b;
	dgrp_t g, g1;

	if (!h || !n)
		return;
	first = blk & ~(blk64_t)EXT2FS_CLUSTER_MASK(fs);
	end = (blk + n - 1) | EXT2FS_CLUSTER_MASK(fs);
	end++;
	g1 = ext2fs_group_of_blk2(fs, end - 1);
	for (g = ext2fs_group_of_blk2(fs, first); g <= g1 &&
	     g < fs->group_desc_count; g++)
		touch_now(h, g);
	if (inuse > 0) {
		ranges_add(&h->fresh, first, end - first);
		return;
	}
	if (h->writer->atomic) {
		ranges_add(&h->busy, first, end - first);
		h->nbusy += end - first;
		ext2fs_mark_block_bitmap_range2(fs->block_map, first,
						end - first);
	}
	if (end - first <= h->clean.n + h->dirty.n || h->writer->lookup) {
		for (b = first; b < end; b++)
			if (pcw_hold_find(h, b) >= 0 ||
			    (h->writer->lookup && h->writer->lookup(h->writer, b)))
				add_revoked(h, b);
	}
	pcw_hold_drop(h, first, end - first);
}

static void on_stats(ext2_filsys fs, blk64_t blk, int inuse)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	note_stats(fs, blk, 1, inuse);
	if (h && h->old_stats)
		h->old_stats(fs, blk, inuse);
}

static void on_stats_range(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	note_stats(fs, blk, num, inuse);
	if (h && h->old_stats_range)
		h->old_stats_range(fs, blk, num, inuse);
}

/*
 * libext2fs 1.47.0's ext2fs_block_alloc_stats_range calls its callback with
 * the range already consumed (the block after it, and 0 blocks): the layer
 * would never hear of a range allocated or freed (its group not a
 * candidate when a free and an allocation leave its counts as they were, a
 * freed range not held busy).  pcwrite's own range updates come here.
 */
void pcw_block_alloc_stats_range(ext2_filsys fs, blk64_t blk, blk_t num,
				 int inuse)
{
	ext2fs_block_alloc_stats_range(fs, blk, num, inuse);
	note_stats(fs, blk, num, inuse);
}

/*
 * Blocks freed since the last commit and held busy (an atomic writer):
 * counted free (the free counts moved at the free, as ext4's
 * s_freeclusters_counter moves in ext4_mb_clear_bb), but not allocatable
 * until a commit releases them: s_mb_free_pending, which
 * ext4_should_retry_alloc asks before forcing a commit.
 */
blk64_t pcw_io_busy_blocks(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	return h && h->holding ? h->nbusy : 0;
}

/*
 * The held blocks; for every group changed in this commit its two bitmaps
 * (which of them changed is known only when the commit compares) and its
 * descriptor block; the superblock; the revoke records (8 bytes at most
 * each, a block's header aside).  An upper bound of what the commit hands
 * its writer.
 */
size_t pcw_hold_footprint(const struct pcw_hold *h)
{
	size_t room = h->fs->blocksize - 16;

	return h->dirty.n + 1 + 2 * h->now_groups + h->now_descs +
	       (h->nrev * 8 + room - 1) / room;
}

void pcw_hold_note_write(struct pcw_hold *h, blk64_t blk)
{
	long g = itable_group(h, blk);

	if (g >= 0)
		touch_now(h, g);
}

errcode_t pcw_hold_setup(struct pcw_hold *h)
{
	ext2_filsys fs = h->fs;
	dgrp_t g, n = fs->group_desc_count;
	size_t desc_bytes = (size_t)fs->desc_blocks * fs->blocksize;
	struct special *sp;
	unsigned long i;

	h->touched = calloc(n, 1);
	h->desc_now = calloc(fs->desc_blocks ? fs->desc_blocks : 1, 1);
	h->disk_desc = malloc(desc_bytes);
	h->itables = malloc(n * sizeof(*h->itables));
	sp = malloc((2 * (size_t)n + fs->desc_blocks) * sizeof(*sp));
	h->special = (blk64_t *)sp;
	if (!h->touched || !h->desc_now || !h->disk_desc || !h->itables ||
	    !sp)
		return EXT2_ET_NO_MEMORY;
	/* What is on disk: the descriptors as read at open, not changed since. */
	memcpy(h->disk_desc, fs->group_desc, desc_bytes);
	for (g = 0; g < n; g++) {
		h->itables[g].start = ext2fs_inode_table_loc(fs, g);
		h->itables[g].group = g;
		sp[h->nspecial++] = (struct special){
			ext2fs_block_bitmap_loc(fs, g), g, SP_BB };
		sp[h->nspecial++] = (struct special){
			ext2fs_inode_bitmap_loc(fs, g), g, SP_IB };
	}
	for (i = 0; i < fs->desc_blocks; i++)
		sp[h->nspecial++] = (struct special){
			ext2fs_descriptor_block_loc2(fs,
				fs->super->s_first_data_block, i), i, SP_DESC };
	qsort(h->itables, n, sizeof(*h->itables), cmp_itable);
	qsort(sp, h->nspecial, sizeof(*sp), cmp_blk);
	h->sb_unit = SUPERBLOCK_OFFSET / h->unit;
	ext2fs_set_block_alloc_stats_callback(fs, on_stats, &h->old_stats);
	ext2fs_set_block_alloc_stats_range_callback(fs, on_stats_range,
						    &h->old_stats_range);
	return 0;
}

void pcw_hold_teardown(struct pcw_hold *h)
{
	if (h->touched) {	/* pcw_hold_setup got as far as the callbacks */
		ext2fs_set_block_alloc_stats_callback(h->fs, h->old_stats,
						      NULL);
		ext2fs_set_block_alloc_stats_range_callback(h->fs,
			h->old_stats_range, NULL);
	}
	free(h->touched);
	free(h->desc_now);
	free(h->disk_desc);
	free(h->itables);
	free(h->special);
	free(h->fresh.start);
	free(h->fresh.len);
	free(h->busy.start);
	free(h->busy.len);
	free(h->revoked);
	h->touched = NULL;
	h->desc_now = NULL;
	h->disk_desc = NULL;
	h->itables = NULL;
	h->special = NULL;
	h->fresh.start = h->fresh.len = h->revoked = NULL;
	h->busy.start = h->busy.len = NULL;
}

/* ---- the bitmaps of one group ------------------------------------------ */

static unsigned bb_bytes(ext2_filsys fs)
{
	return EXT2_CLUSTERS_PER_GROUP(fs->super) / 8;
}

static unsigned ib_bytes(ext2_filsys fs)
{
	return (EXT2_INODES_PER_GROUP(fs->super) + 7) / 8;
}

/* As ext2fs_write_bitmaps lays it out: the rest of the block set. */
static errcode_t build_bb(ext2_filsys fs, dgrp_t g, unsigned char *buf)
{
	unsigned nbytes = bb_bytes(fs), j, nbits;
	errcode_t err;

	memset(buf, 0xff, fs->blocksize);
	err = ext2fs_get_block_bitmap_range2(fs->block_map,
			EXT2FS_B2C(fs, fs->super->s_first_data_block) +
			(blk64_t)g * (nbytes << 3), nbytes << 3, buf);
	if (err || g != fs->group_desc_count - 1)
		return err;
	/* The last group: past the end of the filesystem is in use. */
	nbits = EXT2FS_NUM_B2C(fs, (ext2fs_blocks_count(fs->super) -
				    fs->super->s_first_data_block) %
				   EXT2_BLOCKS_PER_GROUP(fs->super));
	if (!nbits)
		return 0;
	for (j = nbits; j % 8; j++)
		ext2fs_set_bit(j, buf);
	memset(buf + j / 8, 0xff, fs->blocksize - j / 8);
	return 0;
}

/* Clear in BUF (group G's block bitmap) the blocks freed but held busy. */
static void clear_busy(const struct pcw_hold *h, dgrp_t g, unsigned char *buf)
{
	ext2_filsys fs = h->fs;
	blk64_t gfirst = ext2fs_group_first_block2(fs, g);
	blk64_t glast = ext2fs_group_last_block2(fs, g);
	blk64_t base = EXT2FS_B2C(fs, fs->super->s_first_data_block) +
		       (blk64_t)g * EXT2_CLUSTERS_PER_GROUP(fs->super);
	size_t i;

	for (i = 0; i < h->busy.n; i++) {
		blk64_t s = h->busy.start[i], e = s + h->busy.len[i] - 1, b;

		if (e < gfirst || s > glast)
			continue;
		if (s < gfirst)
			s = gfirst;
		if (e > glast)
			e = glast;
		for (b = EXT2FS_B2C(fs, s); b <= EXT2FS_B2C(fs, e); b++)
			ext2fs_clear_bit(b - base, buf);
	}
}

/* Busy blocks go back to the allocator: the frees are durable. */
static void release_busy(struct pcw_hold *h)
{
	size_t i;

	for (i = 0; i < h->busy.n; i++)
		ext2fs_unmark_block_bitmap_range2(h->fs->block_map,
						  h->busy.start[i],
						  h->busy.len[i]);
	h->busy.n = 0;
	h->nbusy = 0;
}

static errcode_t build_ib(ext2_filsys fs, dgrp_t g, unsigned char *buf)
{
	unsigned nbytes = ib_bytes(fs);

	memset(buf, 0xff, fs->blocksize);
	return ext2fs_get_inode_bitmap_range2(fs->inode_map,
			(ext2_ino_t)g * EXT2_INODES_PER_GROUP(fs->super) + 1,
			nbytes << 3, buf);
}

static uint32_t extra_bits(const unsigned char *u, const unsigned char *m,
			   unsigned n)
{
	uint32_t c = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		c += __builtin_popcount((unsigned)(u[i] & ~m[i]));
	return c;
}

/* Does DISK have a bit set that MEM has not, in the first N bytes? */
static bool disk_has_more(const unsigned char *disk, const unsigned char *mem,
			  unsigned n)
{
	unsigned i = 0;
	uint64_t a, b;

	for (; i + 8 <= n; i += 8) {
		memcpy(&a, disk + i, 8);
		memcpy(&b, mem + i, 8);
		if (a & ~b)
			return true;
	}
	for (; i < n; i++)
		if (disk[i] & ~mem[i])
			return true;
	return false;
}

/*
 * One bitmap of a candidate: MEM built from memory, the block on disk read
 * into DISK, and the union made where the disk's copy means something (not
 * uninit there) and has bits MEM has not.  *CHANGED: MEM is not what the
 * disk holds (its checksum must be set).
 */
static errcode_t one_bitmap(struct pcw_hold *h, blk64_t loc, bool disk_init,
			    unsigned nbytes, unsigned char *mem,
			    unsigned char **uni, bool *write, uint32_t *extra,
			    unsigned char *disk, bool *changed)
{
	unsigned i;
	errcode_t err;

	*uni = mem;
	*write = false;
	*changed = true;
	if (!loc || loc >= ext2fs_blocks_count(h->fs->super))
		return 0;
	err = pcw_hold_read_unit(h, loc, disk);
	if (err)
		return err;
	if (!memcmp(mem, disk, h->unit)) {
		*changed = false;
		return 0;
	}
	if (disk_init && !h->writer->atomic &&
	    disk_has_more(disk, mem, nbytes)) {
		*uni = mem + h->unit;	/* the second half */
		for (i = 0; i < h->unit; i++)
			(*uni)[i] = mem[i] | disk[i];
		*extra = extra_bits(*uni, mem, nbytes);
	}
	*write = memcmp(*uni, disk, h->unit) != 0;
	return 0;
}

static errcode_t build_cand(struct pcw_hold *h, struct cand *c,
			    unsigned char *disk)
{
	ext2_filsys fs = h->fs;
	dgrp_t g = c->group;
	int csum = ext2fs_has_group_desc_csum(fs);
	struct ext2_group_desc *dd = ext2fs_group_desc(fs,
		(struct opaque_ext2_group_desc *)h->disk_desc, g);
	bool changed = false;
	errcode_t err;

	if (!(csum && ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT))) {
		c->bb = malloc(2 * (size_t)h->unit);
		if (!c->bb)
			return EXT2_ET_NO_MEMORY;
		err = build_bb(fs, g, c->bb);
		if (!err)
			clear_busy(h, g, c->bb);
		if (!err)
			err = one_bitmap(h, ext2fs_block_bitmap_loc(fs, g),
				!(csum && (dd->bg_flags & EXT2_BG_BLOCK_UNINIT)),
				bb_bytes(fs), c->bb, &c->bb_union, &c->bb_write,
				&c->bb_extra, disk, &changed);
		if (err)
			return err;
		if (changed)
			ext2fs_block_bitmap_csum_set(fs, g, (char *)c->bb,
						     bb_bytes(fs));
	}
	if (!(csum && ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))) {
		c->ib = malloc(2 * (size_t)h->unit);
		if (!c->ib)
			return EXT2_ET_NO_MEMORY;
		err = build_ib(fs, g, c->ib);
		if (!err)
			err = one_bitmap(h, ext2fs_inode_bitmap_loc(fs, g),
				!(csum && (dd->bg_flags & EXT2_BG_INODE_UNINIT)),
				ib_bytes(fs), c->ib, &c->ib_union, &c->ib_write,
				&c->ib_extra, disk, &changed);
		if (err)
			return err;
		if (changed)
			ext2fs_inode_bitmap_csum_set(fs, g, (char *)c->ib,
						     ib_bytes(fs));
	}
	ext2fs_group_desc_csum_set(fs, g);
	c->freed = (c->bb && c->bb_union != c->bb) ||
		   (c->ib && c->ib_union != c->ib);
	return 0;
}

/*
 * The descriptors as the first (PCW_IO_BITMAP) writes need them: for a
 * group with something freed, the checksums and free counts of the union.
 */
static void union_descs(ext2_filsys fs, unsigned char *copy,
			const struct cand *c, size_t nc)
{
	struct opaque_ext2_group_desc *saved = fs->group_desc;
	size_t k;

	memcpy(copy, saved, (size_t)fs->desc_blocks * fs->blocksize);
	fs->group_desc = (struct opaque_ext2_group_desc *)copy;
	for (k = 0; k < nc; k++) {
		dgrp_t g = c[k].group;
		uint32_t v;

		if (!c[k].freed)
			continue;
		if (c[k].bb) {
			v = ext2fs_bg_free_blocks_count(fs, g);
			ext2fs_bg_free_blocks_count_set(fs, g, v > c[k].bb_extra ?
						v - c[k].bb_extra : 0);
			ext2fs_block_bitmap_csum_set(fs, g, (char *)c[k].bb_union,
						     bb_bytes(fs));
		}
		if (c[k].ib) {
			v = ext2fs_bg_free_inodes_count(fs, g);
			ext2fs_bg_free_inodes_count_set(fs, g, v > c[k].ib_extra ?
						v - c[k].ib_extra : 0);
			ext2fs_inode_bitmap_csum_set(fs, g, (char *)c[k].ib_union,
						     ib_bytes(fs));
		}
		ext2fs_group_desc_csum_set(fs, g);
	}
	fs->group_desc = saved;
}

/* ---- a commit ---------------------------------------------------------- */

struct commit {
	struct pcw_io_block *b;
	size_t		n, cap;
	struct cand	*c;
	size_t		nc;
	unsigned char	*disk;		/* one unit: what a bitmap block holds */
	unsigned char	*bdesc;		/* the descriptors for PCW_IO_DESC */
};

static errcode_t add(struct commit *k, blk64_t blk, const void *data,
		     unsigned off, unsigned len, enum pcw_io_phase phase)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct pcw_io_block *b = realloc(k->b, cap * sizeof(*b));

		if (!b)
			return EXT2_ET_NO_MEMORY;
		k->b = b;
		k->cap = cap;
	}
	k->b[k->n++] = (struct pcw_io_block){ blk, data, off, len, phase };
	return 0;
}

static void commit_free(struct commit *k)
{
	size_t i;

	for (i = 0; i < k->nc; i++) {
		free(k->c[i].bb);
		free(k->c[i].ib);
	}
	free(k->c);
	free(k->b);
	free(k->disk);
	free(k->bdesc);
}

/*
 * Candidates (see the top of this file).  A bitmap block libext2fs wrote
 * itself is dropped here: the commit writes the one built from memory.
 */
static errcode_t find_candidates(struct pcw_hold *h, struct commit *k)
{
	ext2_filsys fs = h->fs;
	unsigned dsize = EXT2_DESC_SIZE(fs->super);
	const unsigned char *live = (const unsigned char *)fs->group_desc;
	int32_t i, next;
	dgrp_t g;

	for (i = h->dirty.head; i >= 0; i = next) {
		const struct special *sp = find_special(h, h->e[i].blk);

		next = h->e[i].next;
		if (sp && sp->kind != SP_DESC)
			touch_now(h, sp->group);
		if (sp)
			pcw_hold_drop(h, h->e[i].blk, 1);
	}
	for (g = 0; g < fs->group_desc_count; g++) {
		if (!h->touched[g] &&
		    !memcmp(live + (size_t)g * dsize,
			    h->disk_desc + (size_t)g * dsize, dsize))
			continue;
		if (k->nc % 64 == 0) {
			struct cand *c = realloc(k->c, (k->nc + 64) *
						 sizeof(*c));

			if (!c)
				return EXT2_ET_NO_MEMORY;
			k->c = c;
		}
		memset(&k->c[k->nc], 0, sizeof(k->c[k->nc]));
		k->c[k->nc++].group = g;
	}
	return 0;
}

static errcode_t add_groups(struct pcw_hold *h, struct commit *k)
{
	ext2_filsys fs = h->fs;
	size_t bs = fs->blocksize, j, dpb = EXT2_DESC_PER_BLOCK(fs->super);
	const unsigned char *live = (const unsigned char *)fs->group_desc;
	const unsigned char *bdesc = live;
	bool any_freed = false;
	unsigned long d;
	errcode_t err = 0;

	for (j = 0; j < k->nc && !err; j++) {
		struct cand *c = &k->c[j];

		err = build_cand(h, c, k->disk);
		any_freed |= c->freed;
		if (!err && c->bb && c->bb_write)
			err = add(k, ext2fs_block_bitmap_loc(fs, c->group),
				  c->bb_union, 0, bs, PCW_IO_BITMAP);
		if (!err && c->ib && c->ib_write)
			err = add(k, ext2fs_inode_bitmap_loc(fs, c->group),
				  c->ib_union, 0, bs, PCW_IO_BITMAP);
		if (!err && c->freed && c->bb && c->bb_union != c->bb)
			err = add(k, ext2fs_block_bitmap_loc(fs, c->group),
				  c->bb, 0, bs, PCW_IO_FREE);
		if (!err && c->freed && c->ib && c->ib_union != c->ib)
			err = add(k, ext2fs_inode_bitmap_loc(fs, c->group),
				  c->ib, 0, bs, PCW_IO_FREE);
	}
	if (err)
		return err;
	if (any_freed) {
		k->bdesc = malloc(fs->desc_blocks * bs);
		if (!k->bdesc)
			return EXT2_ET_NO_MEMORY;
		union_descs(fs, k->bdesc, k->c, k->nc);
		bdesc = k->bdesc;
	}
	for (d = 0; d < fs->desc_blocks && !err; d++) {
		blk64_t loc = ext2fs_descriptor_block_loc2(fs,
					fs->super->s_first_data_block, d);
		bool freed = false;

		if (memcmp(bdesc + d * bs, h->disk_desc + d * bs, bs))
			err = add(k, loc, bdesc + d * bs, 0, bs, PCW_IO_DESC);
		for (j = 0; j < k->nc && any_freed; j++)
			freed |= k->c[j].freed && k->c[j].group / dpb == d;
		if (!err && freed)
			err = add(k, loc, live + d * bs, 0, bs, PCW_IO_FREE);
	}
	return err;
}

static enum pcw_io_phase phase_of(struct pcw_hold *h, const struct hold_entry *e)
{
	if (e->blk == h->sb_unit)
		return PCW_IO_SUPER;
	if (in_ranges(&h->fresh, e->blk))
		return PCW_IO_NEW;
	if (itable_group(h, e->blk) >= 0)
		return PCW_IO_ITABLE;
	if (e->dir)
		return PCW_IO_DIR;
	return PCW_IO_TREE;
}

/*
 * Has the superblock changed since libext2fs last wrote it, in more than
 * the free counts (and the times and checksum that go with a write)?  The
 * kernel does not keep those counts on disk while mounted either: it sums
 * the group descriptors at mount, and e2fsck corrects them without calling
 * it an error.  So a commit that only allocated leaves the superblock to
 * the end of the run, one write fewer a commit.
 */
static bool super_changed(ext2_filsys fs)
{
	struct ext2_super_block a, b;

	if (!fs->orig_super)
		return true;
	a = *fs->super;
	b = *fs->orig_super;
	a.s_free_blocks_count = b.s_free_blocks_count = 0;
	a.s_free_blocks_hi = b.s_free_blocks_hi = 0;
	a.s_free_inodes_count = b.s_free_inodes_count = 0;
	a.s_wtime = b.s_wtime = 0;
	a.s_wtime_hi = b.s_wtime_hi = 0;
	a.s_kbytes_written = b.s_kbytes_written = 0;
	a.s_checksum = b.s_checksum = 0;
	return memcmp(&a, &b, sizeof(a)) != 0;
}

/* ext2fs_flush2 writes the superblock through the layer, nothing else. */
static errcode_t hold_super(ext2_filsys fs)
{
	int saved = fs->flags;
	errcode_t err;

	if (!(fs->flags & EXT2_FLAG_DIRTY) || !super_changed(fs))
		return 0;
	fs->flags |= EXT2_FLAG_SUPER_ONLY | EXT2_FLAG_MASTER_SB_ONLY;
	fs->flags &= ~(EXT2_FLAG_IB_DIRTY | EXT2_FLAG_BB_DIRTY);
	err = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
	fs->flags = (fs->flags & ~(EXT2_FLAG_SUPER_ONLY |
				   EXT2_FLAG_MASTER_SB_ONLY)) |
		    (saved & (EXT2_FLAG_SUPER_ONLY | EXT2_FLAG_MASTER_SB_ONLY));
	return err;
}

static errcode_t commit(struct pcw_hold *h)
{
	ext2_filsys fs = h->fs;
	struct commit k = { 0 };
	int saved = fs->flags & (EXT2_FLAG_IB_DIRTY | EXT2_FLAG_BB_DIRTY);
	size_t j;
	int32_t i;
	errcode_t err;

	k.disk = malloc(h->unit);
	err = k.disk ? find_candidates(h, &k) : EXT2_ET_NO_MEMORY;
	if (!err)
		err = add_groups(h, &k);
	/* Every group that changed is in this commit: none for ext2fs_flush. */
	fs->flags &= ~(EXT2_FLAG_IB_DIRTY | EXT2_FLAG_BB_DIRTY);
	if (!err)
		err = hold_super(fs);
	if (err)
		goto out;
	ranges_settle(&h->fresh);
	for (i = h->dirty.head; i >= 0 && !err; i = h->e[i].next) {
		const struct hold_entry *e = &h->e[i];

		err = add(&k, e->blk, e->buf, e->lo, e->hi - e->lo,
			  phase_of(h, e));
	}
	if (err || !k.n)
		goto out;
	qsort(k.b, k.n, sizeof(*k.b), cmp_block);
	err = h->writer->commit(h->writer, h->lower, k.b, k.n, h->revoked,
				h->nrev);
	if (err)
		goto out;
	h->stats.commits++;
	for (j = 0; j < k.n; j++)
		h->stats.blocks[k.b[j].phase]++;
	pcw_hold_all_clean(h);
	for (j = 0; j < k.nc; j++) {
		blk64_t bb = ext2fs_block_bitmap_loc(fs, k.c[j].group);
		blk64_t ib = ext2fs_inode_bitmap_loc(fs, k.c[j].group);

		if (k.c[j].bb && bb && bb < ext2fs_blocks_count(fs->super))
			pcw_hold_note_clean(h, bb, k.c[j].bb);
		if (k.c[j].ib && ib && ib < ext2fs_blocks_count(fs->super))
			pcw_hold_note_clean(h, ib, k.c[j].ib);
	}
	memcpy(h->disk_desc, fs->group_desc,
	       (size_t)fs->desc_blocks * fs->blocksize);
out:
	if (err) {
		fs->flags |= saved;
	} else {
		dgrp_t g;

		for (g = 0; g < fs->group_desc_count; g++)
			h->touched[g] = (h->touched[g] & TOUCH_NOW) ?
					TOUCH_BEFORE : 0;
		memset(h->desc_now, 0, fs->desc_blocks);
		h->now_groups = h->now_descs = 0;
		h->fresh.n = 0;
		h->nrev = 0;
		release_busy(h);
	}
	commit_free(&k);
	return err;
}

errcode_t pcw_hold_commit(struct pcw_hold *h)
{
	errcode_t err;

	if (h->in_commit)
		return 0;
	/* The data first, as data=ordered has it (io_data.c's plug). */
	err = pcw_hold_unplug(h);
	if (err)
		return err;
	err = pcw_hold_settle_csums(h);
	if (err)
		return err;
	h->in_commit = true;
	err = commit(h);
	h->in_commit = false;
	return err;
}
