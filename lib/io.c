/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io.c: the holding io_manager.  Every write libext2fs (or pcwrite) makes
 * through fs->io is held here until pcw_io_commit hands it to the commit
 * writer; reads are answered from what is held, then from the writer's own
 * copies, then from the channel below.  File data is written beside it,
 * at once (io_data.c).
 *
 * What arrives is not always a whole block: libext2fs writes an inode by
 * reading its inode table block and writing the block back, the primary
 * superblock as byte ranges (io_channel_write_byte, or after
 * set_blksize(1024) without it), backup superblocks with negative counts.
 * Everything is held in units of the filesystem's block size: a write of
 * part of a unit reads the rest first, and remembers which bytes changed,
 * so that an in-place writer writes only those (the superblock's 1024
 * bytes, not the boot sector's block around it).
 *
 * The channel below is put in "cache=off": unix_io's write-back cache
 * would write blocks out whenever they are evicted, in an order nobody
 * chose.  In its place this layer keeps clean copies of what it read or
 * wrote (at most max_clean, least recently used dropped first); a read
 * with a negative count (file data, pcwrite's page cache) is not cached.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "io_priv.h"

#define HOLD_MAX_CLEAN_BYTES	(1U << 20)
#define HOLD_MIN_ENTRIES	16
#define HOLD_CACHED_READ	4	/* units: a larger read is not kept */

enum { ST_FREE = 0, ST_CLEAN, ST_DIRTY };
#define E_STATE(e)	((e)->prev == -2 ? ST_FREE : (e)->hi ? ST_DIRTY : ST_CLEAN)

static struct struct_io_manager hold_manager;

struct pcw_hold *pcw_hold_of(ext2_filsys fs)
{
	if (!fs || !fs->io || fs->io->manager != &hold_manager)
		return NULL;
	return fs->io->private_data;
}

bool pcw_io_held(ext2_filsys fs)
{
	return pcw_hold_of(fs) != NULL;
}

/* ---- the held blocks: a hash table and two lists --------------------- */

static uint32_t hash_blk(const struct pcw_hold *h, blk64_t blk)
{
	return (uint32_t)((blk * 0x9e3779b97f4a7c15ULL) >> 32) & h->hmask;
}

int32_t pcw_hold_find(struct pcw_hold *h, blk64_t blk)
{
	int32_t i;

	if (!h->hash)
		return -1;
	for (i = h->hash[hash_blk(h, blk)]; i >= 0; i = h->e[i].hnext)
		if (h->e[i].blk == blk)
			return i;
	return -1;
}

static void list_add(struct pcw_hold *h, struct hold_list *l, int32_t i)
{
	h->e[i].prev = -1;
	h->e[i].next = l->head;
	if (l->head >= 0)
		h->e[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
	l->n++;
}

static void list_del(struct pcw_hold *h, struct hold_list *l, int32_t i)
{
	struct hold_entry *e = &h->e[i];

	if (e->prev >= 0)
		h->e[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next >= 0)
		h->e[e->next].prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = -1;
	l->n--;
}

static void hash_unlink(struct pcw_hold *h, int32_t i)
{
	int32_t *p = &h->hash[hash_blk(h, h->e[i].blk)];

	while (*p != i)
		p = &h->e[*p].hnext;
	*p = h->e[i].hnext;
}

static errcode_t grow(struct pcw_hold *h)
{
	int32_t cap = h->cap ? h->cap * 2 : 64, i;
	uint32_t hsize = (uint32_t)cap * 2;
	struct hold_entry *e;
	int32_t *hash;

	e = realloc(h->e, (size_t)cap * sizeof(*e));
	if (!e)
		return EXT2_ET_NO_MEMORY;
	h->e = e;
	hash = malloc(hsize * sizeof(*hash));
	if (!hash)
		return EXT2_ET_NO_MEMORY;
	free(h->hash);
	h->hash = hash;
	h->hmask = hsize - 1;
	memset(hash, 0xff, hsize * sizeof(*hash));
	for (i = 0; i < h->cap; i++) {
		if (E_STATE(&e[i]) == ST_FREE)
			continue;
		e[i].hnext = hash[hash_blk(h, e[i].blk)];
		hash[hash_blk(h, e[i].blk)] = i;
	}
	for (i = cap - 1; i >= h->cap; i--) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].prev = -2;
		e[i].hnext = h->free_head;
		h->free_head = i;
	}
	h->cap = cap;
	return 0;
}

/* A new clean entry for BLK (contents undefined), or -1. */
static int32_t entry_new(struct pcw_hold *h, blk64_t blk)
{
	int32_t i;
	uint32_t slot;

	if (h->free_head < 0 && grow(h))
		return -1;
	i = h->free_head;
	if (!h->e[i].buf) {
		h->e[i].buf = malloc(h->unit);
		if (!h->e[i].buf)
			return -1;
	}
	h->free_head = h->e[i].hnext;
	h->e[i].blk = blk;
	h->e[i].lo = h->e[i].hi = 0;
	h->e[i].dir = false;
	h->e[i].csum_ino = 0;
	h->e[i].prev = h->e[i].next = -1;
	slot = hash_blk(h, blk);
	h->e[i].hnext = h->hash[slot];
	h->hash[slot] = i;
	return i;
}

/* E's directory checksum is no longer to be set (pcw_io_write_dir_block). */
static void csum_forget(struct pcw_hold *h, struct hold_entry *e)
{
	if (e->csum_ino) {
		e->csum_ino = 0;
		h->ncsum--;
	}
}

static void entry_free(struct pcw_hold *h, int32_t i)
{
	struct hold_entry *e = &h->e[i];

	if (E_STATE(e) == ST_DIRTY)
		list_del(h, &h->dirty, i);
	else if (E_STATE(e) == ST_CLEAN && (e->prev >= 0 || h->clean.head == i))
		list_del(h, &h->clean, i);
	hash_unlink(h, i);
	csum_forget(h, e);
	free(e->buf);
	e->buf = NULL;
	e->lo = e->hi = 0;
	e->prev = -2;
	e->hnext = h->free_head;
	h->free_head = i;
}

static void trim_clean(struct pcw_hold *h)
{
	while (h->clean.n > h->max_clean)
		entry_free(h, h->clean.tail);
}

/* A clean entry I now holding BUF. */
static void make_clean(struct pcw_hold *h, int32_t i)
{
	struct hold_entry *e = &h->e[i];

	if (E_STATE(e) == ST_DIRTY)
		list_del(h, &h->dirty, i);
	else if (e->prev >= 0 || h->clean.head == i)
		list_del(h, &h->clean, i);
	e->lo = e->hi = 0;
	list_add(h, &h->clean, i);
}

static void keep_clean(struct pcw_hold *h, blk64_t blk, const void *buf)
{
	int32_t i = pcw_hold_find(h, blk);

	if (i < 0)
		i = entry_new(h, blk);
	if (i < 0)
		return;		/* only a cache: no memory, no copy */
	memcpy(h->e[i].buf, buf, h->unit);
	make_clean(h, i);
	trim_clean(h);
}

void pcw_hold_note_clean(struct pcw_hold *h, blk64_t blk, const void *buf)
{
	keep_clean(h, blk, buf);
}

void pcw_hold_all_clean(struct pcw_hold *h)
{
	while (h->dirty.head >= 0)
		make_clean(h, h->dirty.head);
	trim_clean(h);
}

void pcw_hold_drop(struct pcw_hold *h, blk64_t blk, blk64_t n)
{
	int32_t i;

	if (n > (blk64_t)(h->clean.n + h->dirty.n)) {
		for (i = 0; i < h->cap; i++)
			if (E_STATE(&h->e[i]) != ST_FREE &&
			    h->e[i].blk >= blk && h->e[i].blk - blk < n)
				entry_free(h, i);
		return;
	}
	for (; n; n--, blk++) {
		i = pcw_hold_find(h, blk);
		if (i >= 0)
			entry_free(h, i);
	}
}

/* ---- reads and writes in bytes of the filesystem ------------------------ */

static const void *writer_copy(struct pcw_hold *h, blk64_t blk)
{
	if (!h->writer->lookup)
		return NULL;
	return h->writer->lookup(h->writer, blk);
}

/* N blocks at BLK from the channel below, the plug's first (io_data.c). */
static errcode_t read_lower(struct pcw_hold *h, blk64_t blk, blk64_t n,
			    void *buf)
{
	errcode_t err;

	if (pcw_hold_plugged(h, blk, n)) {
		err = pcw_hold_unplug(h);
		if (err)
			return err;
	}
	return io_channel_read_blk64(h->lower, blk, (int)n, buf);
}

/* BLK from the writer's copy or the channel below, into BUF. */
static errcode_t read_below(struct pcw_hold *h, blk64_t blk, void *buf)
{
	const void *w = writer_copy(h, blk);

	if (w) {
		memcpy(buf, w, h->unit);
		return 0;
	}
	return read_lower(h, blk, 1, buf);
}

errcode_t pcw_io_read_committed(ext2_filsys fs, blk64_t blk, void *buf)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (!h)
		return io_channel_read_blk64(fs->io, blk, 1, buf);
	return read_below(h, blk, buf);
}

/*
 * Set the checksum pcw_io_write_dir_block left to do.  It reads the
 * directory's inode (its generation), through this layer: that read may
 * add clean entries and move h->e, never free a dirty one, and an entry's
 * buffer does not move.
 */
static errcode_t settle_csum(struct pcw_hold *h, int32_t i)
{
	errcode_t err = ext2fs_dir_block_csum_set(h->fs, h->e[i].csum_ino,
				(struct ext2_dir_entry *)h->e[i].buf);

	if (err)
		return err;	/* still to do: no commit writes it unsummed */
	csum_forget(h, &h->e[i]);
	return 0;
}

/* Every checksum still to be set, before a commit writes the blocks. */
errcode_t pcw_hold_settle_csums(struct pcw_hold *h)
{
	int32_t i;
	errcode_t err;

	for (i = h->dirty.head; i >= 0 && h->ncsum; i = h->e[i].next)
		if (h->e[i].csum_ino) {
			err = settle_csum(h, i);
			if (err)
				return err;
		}
	return 0;
}

static errcode_t hold_read(struct pcw_hold *h, uint64_t off, uint64_t len,
			   unsigned char *p, bool cache)
{
	uint64_t end = off + len;
	blk64_t u = off / h->unit, last, r, k;
	errcode_t err;

	if (!len || h->dead)
		return 0;
	last = (end - 1) / h->unit;
	while (u <= last) {
		uint64_t ustart = u * h->unit;
		size_t a = off > ustart ? off - ustart : 0;
		size_t b = end - ustart < h->unit ? end - ustart : h->unit;
		int32_t i = pcw_hold_find(h, u);
		const void *src = NULL;

		if (i >= 0) {
			if (h->e[i].csum_ino) {
				err = settle_csum(h, i);
				if (err)
					return err;
			}
			src = h->e[i].buf;
			if (E_STATE(&h->e[i]) == ST_CLEAN) {
				list_del(h, &h->clean, i);
				list_add(h, &h->clean, i);
			}
		} else {
			src = writer_copy(h, u);
		}
		if (!src && (a || b < h->unit)) {
			/* Part of a unit nobody holds. */
			i = entry_new(h, u);
			if (i < 0)
				return EXT2_ET_NO_MEMORY;
			err = read_lower(h, u, 1, h->e[i].buf);
			if (err) {
				entry_free(h, i);
				return err;
			}
			make_clean(h, i);
			src = h->e[i].buf;
		}
		if (src) {
			memcpy(p, (const unsigned char *)src + a, b - a);
			p += b - a;
			u++;
			trim_clean(h);
			continue;
		}
		/* Whole units nobody holds: one read. */
		for (r = 1; u + r <= last && (u + r + 1) * h->unit <= end &&
		     pcw_hold_find(h, u + r) < 0 && !writer_copy(h, u + r);
		     r++)
			;
		err = read_lower(h, u, r, p);
		if (err)
			return err;
		if (cache && r <= HOLD_CACHED_READ)
			for (k = 0; k < r; k++)
				keep_clean(h, u + k, p + k * h->unit);
		p += r * h->unit;
		u += r;
	}
	return 0;
}

errcode_t pcw_hold_read_unit(struct pcw_hold *h, blk64_t blk, void *buf)
{
	return hold_read(h, blk * h->unit, h->unit, buf, true);
}

/*
 * Not held: the MMP block (libext2fs rewrites it on its own schedule), and
 * everything before pcw_io_start and after pcw_io_finish.
 */
static errcode_t pass_through(struct pcw_hold *h, uint64_t off, uint64_t len,
			      const void *buf)
{
	errcode_t err;

	pcw_hold_drop(h, off / h->unit, (off + len - 1) / h->unit -
		      off / h->unit + 1);
	if (off % h->unit == 0 && len % h->unit == 0)
		err = io_channel_write_blk64(h->lower, off / h->unit,
					     (int)(len / h->unit), buf);
	else if (off % h->unit == 0 && len < (1U << 30))
		err = io_channel_write_blk64(h->lower, off / h->unit,
					     -(int)len, buf);
	else
		err = io_channel_write_byte(h->lower, off, (int)len, buf);
	/*
	 * The whole primary superblock (ext2fs_flush2 after hold_write_byte
	 * said "unimplemented"): libext2fs updates fs->orig_super, the copy
	 * it compares with to find the ranges to write next time, only after
	 * writing ranges.  It must say what the disk holds now, or a later
	 * flush that changes a field back (the clean flag at close) would
	 * find nothing to write.
	 */
	if (!err && h->fs->orig_super && off <= SUPERBLOCK_OFFSET &&
	    off + len >= SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE)
		memcpy(h->fs->orig_super, (const char *)buf +
		       (SUPERBLOCK_OFFSET - off), SUPERBLOCK_SIZE);
	return err;
}

/* The most dirty units one commit may hold. */
static size_t dirty_limit(struct pcw_hold *h)
{
	size_t limit = h->max_dirty, wmax;

	if (h->writer->max_blocks && (wmax = h->writer->max_blocks(h->writer))) {
		/* the commit adds bitmaps, descriptors and the superblock */
		size_t extra = 2 * h->fs->group_desc_count + h->fs->desc_blocks + 1;

		/*
		 * More groups than a transaction has room for the bitmaps of
		 * (300 groups of 1 MiB over a 1 MiB journal): what the groups
		 * this commit changed take now, and half of what is left for
		 * those it may still change.  Reserving every group's left
		 * room for one held block: each later write committed the
		 * one before, in the middle of an entry (an inode on the
		 * orphan list before its link count, a name before its
		 * inode).  An operation that changes many groups and few
		 * blocks asks pcw_io_room_short_groups first (truncate.c).
		 */
		if (extra >= wmax) {
			size_t now = pcw_hold_footprint(h) - h->dirty.n;

			extra = now + (wmax > now ? (wmax - now) / 2 : 0);
		}
		wmax = wmax > extra ? wmax - extra : 1;
		if (wmax < limit)
			limit = wmax;
	}
	return limit;
}

bool pcw_io_commit_due(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	return h && h->holding && h->dirty.n &&
	       h->dirty.n >= dirty_limit(h) / 2;
}

/*
 * Would CREDITS more dirty units overflow what this commit may hold?
 * start_this_handle() asks this of the running transaction before a
 * handle takes its credits, and waits for a commit when they do not fit:
 * so no handle straddles two transactions.
 */
bool pcw_io_room_short(ext2_filsys fs, blk64_t credits)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	return h && h->holding && !h->in_commit && h->dirty.n &&
	       h->dirty.n + credits > dirty_limit(h);
}

bool pcw_io_room_short_groups(ext2_filsys fs, blk64_t credits,
			      blk64_t ngroups)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	size_t max;

	if (!h || !h->holding || h->in_commit || !h->writer->max_blocks)
		return false;
	max = h->writer->max_blocks(h->writer);
	return max && pcw_hold_footprint(h) + credits + 2 * ngroups > max;
}

void pcw_io_handle_start(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (h)
		h->handles++;
}

void pcw_io_handle_stop(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (h && h->handles)
		h->handles--;
}

/*
 * Commit before the held set (or the writer's transaction) overflows: in
 * the middle of whatever is being written, which only the in-place order
 * covers; callers between entries ask pcw_io_commit_due first, writeback
 * pcw_io_room_short before each extent it maps, so that this is only the
 * last resort.
 */
static errcode_t make_room(struct pcw_hold *h, blk64_t units)
{
	size_t limit;
	errcode_t err;

	if (h->in_commit || h->handles)
		return 0;
	limit = dirty_limit(h);
	if (h->dirty.n + units <= limit || !h->dirty.n)
		return 0;
	err = pcw_hold_commit(h);
	if (!err)
		h->stats.early_commits++;
	return err;
}

static errcode_t hold_write(struct pcw_hold *h, uint64_t off, uint64_t len,
			    const unsigned char *p)
{
	uint64_t end = off + len;
	blk64_t u = off / h->unit, last;
	errcode_t err;

	if (!len || h->dead)
		return 0;
	last = (end - 1) / h->unit;
	if (!h->holding || (h->mmp_blk && u <= h->mmp_blk && h->mmp_blk <= last))
		return pass_through(h, off, len, p);
	err = make_room(h, last - u + 1);
	if (err)
		return err;
	for (; u <= last; u++) {
		uint64_t ustart = u * h->unit;
		size_t a = off > ustart ? off - ustart : 0;
		size_t b = end - ustart < h->unit ? end - ustart : h->unit;
		int32_t i = pcw_hold_find(h, u);
		struct hold_entry *e;

		if (i < 0) {
			i = entry_new(h, u);
			if (i < 0)
				return EXT2_ET_NO_MEMORY;
			if (a || b < h->unit) {
				err = read_below(h, u, h->e[i].buf);
				if (err) {
					entry_free(h, i);
					return err;
				}
			}
		}
		e = &h->e[i];
		if (E_STATE(e) != ST_DIRTY) {
			if (e->prev >= 0 || h->clean.head == i)
				list_del(h, &h->clean, i);
			list_add(h, &h->dirty, i);
			e->lo = a;
			e->hi = b;
		} else {
			if (a < e->lo)
				e->lo = a;
			if (b > e->hi)
				e->hi = b;
		}
		if (a == 0 && b == h->unit)
			csum_forget(h, e);	/* rewritten whole, summed */
		memcpy(e->buf + a, p, b - a);
		p += b - a;
		pcw_hold_note_write(h, u);
	}
	return 0;
}

/* ---- the io_manager ---------------------------------------------------- */

static struct pcw_hold *hold_get(io_channel ch)
{
	struct pcw_hold *h = ch ? ch->private_data : NULL;

	return h && h->magic == PCW_MAGIC_HOLD ? h : NULL;
}

static uint64_t byte_len(io_channel ch, int count)
{
	return count < 0 ? (uint64_t)-(int64_t)count :
	       (uint64_t)count * ch->block_size;
}

static errcode_t hold_open(const char *name, int flags, io_channel *ch)
{
	(void)name;
	(void)flags;
	(void)ch;
	return EXT2_ET_UNIMPLEMENTED;	/* stacked by pcw_io_push only */
}

static void hold_free(struct pcw_hold *h)
{
	int32_t i;

	pcw_hold_teardown(h);
	pcw_hold_plug_drop(h);
	for (i = 0; i < h->cap; i++)
		free(h->e[i].buf);
	free(h->e);
	free(h->hash);
	if (h->writer && h->writer->free)
		h->writer->free(h->writer);
	h->magic = 0;
	free(h);
}

/*
 * Closed by ext2fs_free without a commit (a run that stops on an error or
 * a refusal): what is held is dropped, so the image stays as the last
 * commit left it.
 */
static errcode_t hold_close(io_channel ch)
{
	struct pcw_hold *h = hold_get(ch);
	io_channel lower = h ? h->lower : NULL;

	if (h)
		hold_free(h);
	free(ch->name);
	free(ch);
	return lower ? io_channel_close(lower) : 0;
}

static errcode_t hold_set_blksize(io_channel ch, int blksize)
{
	/* Only this channel's unit of counting: the layer holds fs blocks. */
	ch->block_size = blksize;
	return 0;
}

static errcode_t hold_read_blk64(io_channel ch, unsigned long long block,
				 int count, void *buf)
{
	struct pcw_hold *h = hold_get(ch);

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	return hold_read(h, block * ch->block_size, byte_len(ch, count), buf,
			 count > 0 && (uint64_t)count * ch->block_size <=
			 HOLD_CACHED_READ * (uint64_t)h->unit);
}

static errcode_t hold_read_blk(io_channel ch, unsigned long block, int count,
			       void *buf)
{
	return hold_read_blk64(ch, block, count, buf);
}

static errcode_t hold_write_blk64(io_channel ch, unsigned long long block,
				  int count, const void *buf)
{
	struct pcw_hold *h = hold_get(ch);

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	return hold_write(h, block * ch->block_size, byte_len(ch, count), buf);
}

static errcode_t hold_write_blk(io_channel ch, unsigned long block, int count,
				const void *buf)
{
	return hold_write_blk64(ch, block, count, buf);
}

static errcode_t hold_write_byte(io_channel ch, unsigned long offset,
				 int size, const void *buf)
{
	struct pcw_hold *h = hold_get(ch);

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (size < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	/*
	 * Passing through, the superblock goes down as one write:
	 * ext2fs_flush2 writes each changed range of it with a write of its
	 * own (the checksum last), so a kill between two of them would leave
	 * a superblock whose checksum fails; told "unimplemented", it writes
	 * all 1024 bytes at once.  Held, the ranges are one write at commit.
	 */
	if (!h->holding)
		return EXT2_ET_UNIMPLEMENTED;
	return hold_write(h, offset, (uint64_t)size, buf);
}

/* ext2fs_flush2 without EXT2_FLAG_FLUSH_NO_SYNC: a commit, then fsync. */
static errcode_t hold_flush(io_channel ch)
{
	struct pcw_hold *h = hold_get(ch);
	errcode_t err = 0;

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (h->holding && !h->in_commit)
		err = pcw_hold_commit(h);
	if (!err)
		err = io_channel_flush(h->lower);
	return err;
}

static errcode_t hold_set_option(io_channel ch, const char *option,
				 const char *arg)
{
	struct pcw_hold *h = hold_get(ch);

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (!h->lower->manager->set_option)
		return EXT2_ET_INVALID_ARGUMENT;
	return h->lower->manager->set_option(h->lower, option, arg);
}

/* What reached the image: the channel below counts it. */
static errcode_t hold_get_stats(io_channel ch, io_stats *stats)
{
	struct pcw_hold *h = hold_get(ch);

	if (!h)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (!h->lower->manager->get_stats)
		return EXT2_ET_UNIMPLEMENTED;
	return h->lower->manager->get_stats(h->lower, stats);
}

static struct struct_io_manager hold_manager = {
	.magic		= EXT2_ET_MAGIC_IO_MANAGER,
	.name		= "pcwrite holding I/O manager",
	.open		= hold_open,
	.close		= hold_close,
	.set_blksize	= hold_set_blksize,
	.read_blk	= hold_read_blk,
	.write_blk	= hold_write_blk,
	.flush		= hold_flush,
	.write_byte	= hold_write_byte,
	.set_option	= hold_set_option,
	.get_stats	= hold_get_stats,
	.read_blk64	= hold_read_blk64,
	.write_blk64	= hold_write_blk64,
};

/* ---- stacking ---------------------------------------------------------- */

errcode_t pcw_io_push(ext2_filsys fs, const struct pcw_io_params *params)
{
	struct pcw_hold *h;
	io_channel ch;
	size_t max_held = params->max_held ? params->max_held : PCW_IO_MAX_HELD;
	errcode_t err;

	if (pcw_hold_of(fs))
		return 0;
	h = calloc(1, sizeof(*h));
	ch = calloc(1, sizeof(*ch));
	if (!h || !ch) {
		free(h);
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	h->magic = PCW_MAGIC_HOLD;
	h->fs = fs;
	h->lower = fs->io;
	h->unit = fs->blocksize;
	h->data_fd = params->data_fd;
	h->data_offset = params->data_offset;
	h->writer = params->writer ? params->writer : pcw_io_inplace_writer();
	h->free_head = -1;
	h->clean.head = h->clean.tail = h->dirty.head = h->dirty.tail = -1;
	h->max_dirty = max_held / h->unit;
	h->max_clean = HOLD_MAX_CLEAN_BYTES / h->unit;
	if (h->max_dirty < HOLD_MIN_ENTRIES)
		h->max_dirty = HOLD_MIN_ENTRIES;
	if (h->max_clean < HOLD_MIN_ENTRIES)
		h->max_clean = HOLD_MIN_ENTRIES;
	if (ext2fs_has_feature_mmp(fs->super))
		h->mmp_blk = fs->super->s_mmp_block;
	if (!h->writer) {
		err = EXT2_ET_NO_MEMORY;
		goto fail;
	}
	ch->name = strdup(fs->io->name ? fs->io->name : "");
	if (!ch->name) {
		err = EXT2_ET_NO_MEMORY;
		goto fail;
	}
	/* The cache below would reorder writes: it goes, its blocks written. */
	err = io_channel_set_options(fs->io, "cache=off");
	if (err == EXT2_ET_INVALID_ARGUMENT)
		err = 0;
	if (!err)
		err = pcw_hold_setup(h);
	if (err)
		goto fail;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &hold_manager;
	ch->block_size = fs->blocksize;
	ch->refcount = 1;
	ch->flags = fs->io->flags;
	ch->align = fs->io->align;
	ch->private_data = h;
	if (fs->image_io == fs->io)
		fs->image_io = ch;
	fs->io = ch;
	return 0;
fail:
	free(ch->name);
	free(ch);
	hold_free(h);
	return err;
}

void pcw_io_start(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (h)
		h->holding = true;
}

errcode_t pcw_io_finish(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	errcode_t err;

	if (!h || !h->holding)
		return 0;
	err = pcw_hold_commit(h);
	if (!err && h->writer->checkpoint)
		err = h->writer->checkpoint(h->writer, h->lower);
	h->holding = false;
	/*
	 * A journal that failed leaves the image as a crash would, for the
	 * next mount's replay: nothing more is written in place (ext2fs_close2
	 * would write the superblock and descriptors of what never committed).
	 */
	if (err && h->writer->atomic)
		h->dead = true;
	/* What a failed commit left is not written after all. */
	while (h->dirty.head >= 0)
		entry_free(h, h->dirty.head);
	if (err)
		pcw_hold_plug_drop(h);
	return err;
}

void pcw_io_abort(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (!h || !h->holding || !h->writer->atomic)
		return;
	h->holding = false;
	h->dead = true;
	while (h->dirty.head >= 0)
		entry_free(h, h->dirty.head);
	pcw_hold_plug_drop(h);
}

errcode_t pcw_io_commit(ext2_filsys fs)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	return h && h->holding ? pcw_hold_commit(h) : 0;
}

void pcw_io_mark_dir(ext2_filsys fs, blk64_t blk)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	int32_t i = h ? pcw_hold_find(h, blk) : -1;

	if (i >= 0)
		h->e[i].dir = true;
}

errcode_t pcw_io_write_dir_block(ext2_filsys fs, blk64_t blk, void *buf,
				 ext2_ino_t ino)
{
	struct pcw_hold *h = pcw_hold_of(fs);
	struct hold_entry *e;
	errcode_t err;
	int32_t i;

#ifndef WORDS_BIGENDIAN
	/* Held whole (not the MMP block), a leaf with room for its tail. */
	if (h && h->holding && !h->dead &&
	    ext2fs_has_feature_metadata_csum(fs->super) &&
	    blk != h->mmp_blk &&
	    ext2fs_dirent_has_tail(fs, (struct ext2_dir_entry *)buf)) {
		err = io_channel_write_blk64(fs->io, blk, 1, buf);
		if (err)
			return err;
		i = pcw_hold_find(h, blk);
		if (i >= 0 && E_STATE(&h->e[i]) == ST_DIRTY) {
			e = &h->e[i];
			if (!e->csum_ino)
				h->ncsum++;
			e->csum_ino = ino;
			e->dir = true;
			return 0;
		}
	}
#endif
	err = ext2fs_write_dir_block4(fs, blk, buf, 0, ino);
	if (!err)
		pcw_io_mark_dir(fs, blk);
	return err;
}

void pcw_io_get_stats(ext2_filsys fs, struct pcw_io_stats *st)
{
	struct pcw_hold *h = pcw_hold_of(fs);

	if (h)
		*st = h->stats;
	else
		memset(st, 0, sizeof(*st));
}
