/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * htree.c: indexed directories, as fs/ext4/namei.c keeps them: the index
 * read (dx_probe), a name found through it, inserted into the one leaf its
 * hash picks, leaves and index nodes split as they fill, a level added, and
 * a linear directory's one block turned into an indexed directory
 * (make_indexed_dir).  Room is checked before the first change (dx_need):
 * a full index is ENOSPC, found before anything is written.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"
#include "io.h"

/*
 * The hash the filesystem uses for names in indexed directories.  In a
 * casefolded one, ext4fs_dirhash() hashes the casefolded name, and the name
 * itself when it does not casefold (not valid UTF-8): ext2fs_dirhash2 fails
 * there, and the bytes are hashed as the kernel hashes them.
 */
errcode_t pcw_dx_hash(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, uint32_t *hash)
{
	ext2_dirhash_t h, minor;
	errcode_t err = 1;

	if (d->cf)
		err = ext2fs_dirhash2(d->hash_alg, name, len, d->cf,
				      EXT4_CASEFOLD_FL,
				      pfs->fs->super->s_hash_seed, &h, &minor);
	if (err)
		err = ext2fs_dirhash(d->hash_alg, name, len,
				     pfs->fs->super->s_hash_seed, &h, &minor);
	if (err)
		return err;
	*hash = h;
	return 0;
}

/* The hash algorithm of a root's hash_version, as dx_probe computes it. */
static errcode_t root_hash_alg(ext2_filsys fs, int version, int *alg)
{
	if (version != EXT2_HASH_LEGACY && version != EXT2_HASH_HALF_MD4 &&
	    version != EXT2_HASH_TEA)
		return PCW_ET_UNSUPP_INODE;
	if (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;
	*alg = version;
	return 0;
}

/* Check a dx block's count and limit; its entries. */
static errcode_t dx_entries(ext2_filsys fs, unsigned char *buf, bool root,
			    struct ext2_dx_entry **entries, unsigned *count)
{
	unsigned off = root ? DX_ROOT_COUNT_OFF : DX_NODE_COUNT_OFF;
	struct ext2_dx_countlimit *cl = (void *)(buf + off);
	unsigned limit = root ? pcw_dx_root_limit(fs) : pcw_dx_node_limit(fs);

	if (!root) {
		struct ext2_dir_entry *fake = pcw_dirent_at(buf, 0);
		unsigned rec_len;

		if (fake->inode || ext2fs_get_rec_len(fs, fake, &rec_len) ||
		    rec_len != fs->blocksize)
			return PCW_ET_CORRUPT;
	}
	if (ext2fs_le16_to_cpu(cl->limit) != limit ||
	    ext2fs_le16_to_cpu(cl->count) == 0 ||
	    ext2fs_le16_to_cpu(cl->count) > limit)
		return PCW_ET_CORRUPT;
	*entries = (struct ext2_dx_entry *)cl;
	*count = ext2fs_le16_to_cpu(cl->count);
	return 0;
}

errcode_t pcw_load_htree(pcw_fs *pfs, struct pcw_dir *d, unsigned char *buf)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_dx_root_info *info;
	struct ext2_dir_entry *dot, *dotdot;
	struct ext2_dx_entry *entries;
	unsigned rec_len, count;
	errcode_t err;

	err = pcw_dir_read_block(pfs, d, 0, buf);
	if (err)
		return err;
	dot = pcw_dirent_at(buf, 0);
	dotdot = pcw_dirent_at(buf, 12);
	if (ext2fs_get_rec_len(fs, dot, &rec_len) || rec_len != 12 ||
	    ext2fs_dirent_name_len(dot) != 1 || dot->name[0] != '.' ||
	    ext2fs_get_rec_len(fs, dotdot, &rec_len) ||
	    rec_len != fs->blocksize - 12 ||
	    ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2))
		return PCW_ET_CORRUPT;
	info = (struct ext2_dx_root_info *)(buf + 24);
	if (info->reserved_zero || info->info_length != 8 ||
	    info->indirect_levels >= ext2_dir_htree_level(fs))
		return PCW_ET_CORRUPT;
	err = root_hash_alg(fs, info->hash_version, &d->hash_alg);
	if (!err)
		err = dx_entries(fs, buf, true, &entries, &count);
	if (err)
		return err;
	d->dotdot = dotdot->inode;
	return 0;
}

/* ---- indexed directories ---- */

static uint32_t dx_hash_of(const struct ext2_dx_entry *e)
{
	return ext2fs_le32_to_cpu(e->hash);
}

uint32_t pcw_dx_block_of(const struct ext2_dx_entry *e)
{
	return ext2fs_le32_to_cpu(e->block) & EXT4_DX_BLOCK_MASK;
}

static void dx_set_count(struct dx_frame *f, unsigned count)
{
	((struct ext2_dx_countlimit *)f->entries)->count =
		ext2fs_cpu_to_le16(count);
	f->count = count;
}

/* The last entry whose hash is at most HASH (entry 0 has none). */
static unsigned dx_search(const struct dx_frame *f, uint32_t hash)
{
	unsigned lo = 1, hi = f->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (dx_hash_of(&f->entries[mid]) > hash)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* pcw_dx_probe(): the path from the root to the leaf HASH belongs in. */
errcode_t pcw_dx_probe(pcw_fs *pfs, struct pcw_dir *d, uint32_t hash,
		       struct dx_frame *frames, unsigned *levels)
{
	ext2_filsys fs = pfs->fs;
	struct ext2_dx_root_info *info;
	unsigned level, nlevels;
	errcode_t err;

	frames[0].lblk = 0;
	frames[0].buf = pfs->dcache->buf[0];
	err = pcw_dir_read_block(pfs, d, 0, frames[0].buf);
	if (err)
		return err;
	info = (struct ext2_dx_root_info *)(frames[0].buf + 24);
	nlevels = info->indirect_levels + 1;
	if (nlevels > ext2_dir_htree_level(fs))
		return PCW_ET_CORRUPT;
	for (level = 0; level < nlevels; level++) {
		struct dx_frame *f = &frames[level];

		if (level) {
			f->lblk = pcw_dx_block_of(&frames[level - 1].entries[
						  frames[level - 1].at]);
			f->buf = pfs->dcache->buf[level];
			err = pcw_dir_read_block(pfs, d, f->lblk, f->buf);
			if (err)
				return err;
		}
		err = dx_entries(fs, f->buf, level == 0, &f->entries,
				 &f->count);
		if (err)
			return err;
		f->limit = level ? pcw_dx_node_limit(fs) : pcw_dx_root_limit(fs);
		f->at = dx_search(f, hash);
		if (!pcw_dx_block_of(&f->entries[f->at]) ||
		    pcw_dx_block_of(&f->entries[f->at]) >= d->nblocks)
			return PCW_ET_CORRUPT;
	}
	*levels = nlevels;
	return 0;
}

/*
 * ext4_htree_next_block(): step the path to the next leaf when it may hold
 * more names of HASH (a run of equal hashes split over two leaves).
 */
static errcode_t dx_next_leaf(pcw_fs *pfs, struct pcw_dir *d, uint32_t hash,
			      struct dx_frame *frames, unsigned levels,
			      bool *more)
{
	int p = levels - 1;
	unsigned k;
	errcode_t err;

	*more = false;
	while (frames[p].at + 1 >= frames[p].count) {
		if (p == 0)
			return 0;
		p--;
	}
	frames[p].at++;
	if ((dx_hash_of(&frames[p].entries[frames[p].at]) & ~1U) != hash)
		return 0;
	for (k = p + 1; k < levels; k++) {
		struct dx_frame *f = &frames[k];

		f->lblk = pcw_dx_block_of(&frames[k - 1].entries[frames[k - 1].at]);
		err = pcw_dir_read_block(pfs, d, f->lblk, f->buf);
		if (!err)
			err = dx_entries(pfs->fs, f->buf, false, &f->entries,
					 &f->count);
		if (err)
			return err;
		f->at = 0;
	}
	*more = true;
	return 0;
}

/*
 * Find NAME in an indexed directory: leaf, offset in it (and the offset of
 * the record before, for a delete).  *lblk is 0 when it is not there.
 */
errcode_t pcw_dx_find(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, uint32_t *lblk, int *at, unsigned *prev)
{
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned char *leaf = pfs->dcache->buf[3];
	unsigned levels;
	uint32_t hash;
	bool more = true;
	errcode_t err;

	*lblk = 0;
	*at = -1;
	err = pcw_dx_hash(pfs, d, name, len, &hash);
	if (!err)
		err = pcw_dx_probe(pfs, d, hash, frames, &levels);
	while (!err && more) {
		uint32_t b = pcw_dx_block_of(&frames[levels - 1].entries[
					     frames[levels - 1].at]);

		err = pcw_dir_read_block(pfs, d, b, leaf);
		if (!err && !pcw_dir_tail_ok(pfs->fs, leaf))
			err = PCW_ET_CORRUPT;
		if (!err)
			err = pcw_leaf_find(pfs->fs, d->cf, leaf, 0,
					    pcw_dir_leaf_end(pfs->fs), name,
					    len, at, prev);
		if (err)
			break;
		if (*at >= 0) {
			*lblk = b;
			break;
		}
		err = dx_next_leaf(pfs, d, hash, frames, levels, &more);
	}
	return err;
}

/* Insert (HASH, LBLK) after the frame's current entry, and write it. */
static errcode_t dx_insert_entry(pcw_fs *pfs, struct pcw_dir *d,
				 struct dx_frame *f, uint32_t hash,
				 uint32_t lblk)
{
	struct ext2_dx_entry *e = &f->entries[f->at + 1];

	memmove(e + 1, e, (f->count - f->at - 1) * sizeof(*e));
	e->hash = ext2fs_cpu_to_le32(hash);
	e->block = ext2fs_cpu_to_le32(lblk);
	dx_set_count(f, f->count + 1);
	return pcw_dir_write_block(pfs, d, f->lblk, f->buf);
}

/* An index node's empty block: the fake dirent and the count/limit. */
static void init_node(ext2_filsys fs, unsigned char *buf,
		      struct dx_frame *f)
{
	struct ext2_dx_countlimit *cl;

	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, fs->blocksize, pcw_dirent_at(buf, 0));
	cl = (struct ext2_dx_countlimit *)(buf + DX_NODE_COUNT_OFF);
	cl->limit = ext2fs_cpu_to_le16(pcw_dx_node_limit(fs));
	f->buf = buf;
	f->entries = (struct ext2_dx_entry *)cl;
	f->limit = pcw_dx_node_limit(fs);
}

/* A live record of a leaf being split, by hash. */
struct dx_map {
	uint32_t	hash;
	unsigned	off, size;
};

static int dx_map_cmp(const void *a, const void *b)
{
	const struct dx_map *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Pack the records MAP[0..n) of FROM into the empty leaf TO. */
static void dx_pack(ext2_filsys fs, unsigned char *from, struct dx_map *map,
		    unsigned n, unsigned char *to)
{
	unsigned k, off = 0, last = 0;

	pcw_dir_init_leaf(fs, to);
	for (k = 0; k < n; k++) {
		memcpy(to + off, from + map[k].off, map[k].size);
		ext2fs_set_rec_len(fs, map[k].size, pcw_dirent_at(to, off));
		last = off;
		off += map[k].size;
	}
	if (n)
		ext2fs_set_rec_len(fs, pcw_dir_leaf_end(fs) - last, pcw_dirent_at(to, last));
}

/*
 * do_split(): move the upper half (by size, in hash order) of the full leaf
 * LEAF into a new block, and index it in F after the leaf's entry.  Which
 * of the two the new name goes in is decided by the caller's next probe.
 */
static errcode_t dx_split_leaf(pcw_fs *pfs, struct pcw_dir *d,
			       struct dx_frame *f, uint32_t leaf_lblk,
			       unsigned char *leaf)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *lo = pfs->dcache->buf[4], *hi = pfs->dcache->buf[5];
	unsigned off, rec_len, end = pcw_dir_leaf_end(fs), count = 0, split, move = 0;
	unsigned size = 0;
	struct dx_map *map;
	uint32_t hash2, new_lblk;
	int i;
	errcode_t err;

	map = malloc((fs->blocksize / 12 + 1) * sizeof(*map));
	if (!map)
		return ENOMEM;
	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = pcw_dirent_at(leaf, off);

		err = pcw_rec_len_at(fs, leaf, off, end, &rec_len);
		if (err)
			goto out;
		if (!de->inode)
			continue;
		map[count].off = off;
		map[count].size = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
		err = pcw_dx_hash(pfs, d, de->name, ext2fs_dirent_name_len(de),
				  &map[count].hash);
		if (err)
			goto out;
		count++;
	}
	err = PCW_ET_CORRUPT;
	if (count < 2)
		goto out;
	qsort(map, count, sizeof(*map), dx_map_cmp);
	/* Split in the middle, size-wise; by count if the names are small. */
	for (i = count - 1; i >= 0; i--) {
		if (size + map[i].size / 2 > fs->blocksize / 2)
			break;
		size += map[i].size;
		move++;
	}
	split = i > 0 ? count - move : count / 2;
	if (split == 0)
		split = 1;
	hash2 = map[split].hash;
	/* A run of equal hashes split over two leaves: mark the second. */
	if (hash2 == map[split - 1].hash)
		hash2 |= 1;

	dx_pack(fs, leaf, map + split, count - split, hi);
	dx_pack(fs, leaf, map, split, lo);
	err = pcw_dir_append_block(pfs, d, hi, &new_lblk);
	if (err)
		goto out;
	err = pcw_dir_write_block(pfs, d, leaf_lblk, lo);
	if (!err)
		err = dx_insert_entry(pfs, d, f, hash2, new_lblk);
out:
	free(map);
	return err;
}

/*
 * The index node F (not the root) is full and its parent P has room: move
 * its upper half into a new node indexed in P.
 */
static errcode_t dx_split_node(pcw_fs *pfs, struct pcw_dir *d,
			       struct dx_frame *p, struct dx_frame *f)
{
	struct dx_frame n;
	unsigned icount1 = f->count / 2, icount2 = f->count - icount1;
	uint32_t hash2 = dx_hash_of(&f->entries[icount1]), new_lblk;
	errcode_t err;

	init_node(pfs->fs, pfs->dcache->buf[5], &n);
	memcpy(n.entries, f->entries + icount1, icount2 * sizeof(*n.entries));
	/* Entry 0 of a node holds the count, not a hash. */
	((struct ext2_dx_countlimit *)n.entries)->limit =
		ext2fs_cpu_to_le16(pcw_dx_node_limit(pfs->fs));
	dx_set_count(&n, icount2);
	err = pcw_dir_append_block(pfs, d, n.buf, &new_lblk);
	if (err)
		return err;
	dx_set_count(f, icount1);
	err = pcw_dir_write_block(pfs, d, f->lblk, f->buf);
	if (!err)
		err = dx_insert_entry(pfs, d, p, hash2, new_lblk);
	return err;
}

/* The root is full: move its entries into a new node below it. */
static errcode_t dx_add_level(pcw_fs *pfs, struct pcw_dir *d,
			      struct dx_frame *root)
{
	struct ext2_dx_root_info *info =
		(struct ext2_dx_root_info *)(root->buf + 24);
	struct dx_frame n;
	uint32_t new_lblk;
	errcode_t err;

	init_node(pfs->fs, pfs->dcache->buf[5], &n);
	memcpy(n.entries, root->entries, root->count * sizeof(*n.entries));
	((struct ext2_dx_countlimit *)n.entries)->limit =
		ext2fs_cpu_to_le16(pcw_dx_node_limit(pfs->fs));
	dx_set_count(&n, root->count);
	err = pcw_dir_append_block(pfs, d, n.buf, &new_lblk);
	if (err)
		return err;
	dx_set_count(root, 1);
	root->entries[0].block = ext2fs_cpu_to_le32(new_lblk);
	info->indirect_levels++;
	return pcw_dir_write_block(pfs, d, 0, root->buf);
}

/*
 * The blocks (clusters) a structural change of an indexed directory may
 * take, checked before the first one: a leaf split takes one block; when
 * the leaf's index node is full too, every full node on the path may split
 * and the root may gain a level.  One more for the directory's own extent
 * tree, should a new block not extend its last extent.
 */
blk64_t pcw_dx_need(const struct dx_frame *bottom, unsigned levels)
{
	return (bottom->count < bottom->limit ? 1 : levels + 2) + 1;
}

/* ext4_dx_add_entry(). */
errcode_t pcw_dx_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		     unsigned len, ext2_ino_t ino, int ftype)
{
	ext2_filsys fs = pfs->fs;
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned char *leaf = pfs->dcache->buf[3];
	unsigned levels, tries;
	uint32_t hash;
	bool checked = false;
	errcode_t err;

	err = pcw_dx_hash(pfs, d, name, len, &hash);
	if (err)
		return err;
	for (tries = 0; tries < 16; tries++) {
		struct dx_frame *bottom;
		uint32_t lblk;
		int k;

		err = pcw_dx_probe(pfs, d, hash, frames, &levels);
		if (err)
			return err;
		bottom = &frames[levels - 1];
		lblk = pcw_dx_block_of(&bottom->entries[bottom->at]);
		err = pcw_dir_read_block(pfs, d, lblk, leaf);
		if (!err && !pcw_dir_tail_ok(fs, leaf))
			err = PCW_ET_CORRUPT;
		if (err)
			return err;
		err = pcw_leaf_insert(fs, leaf, name, len, ino, ftype);
		if (!err)
			return pcw_dir_write_block(pfs, d, lblk, leaf);
		if (err != ENOSPC)
			return err;

		/* The leaf is full: find where the index has room. */
		k = levels - 1;
		if (bottom->count >= bottom->limit) {
			while (k > 0 && frames[k - 1].count >= frames[k - 1].limit)
				k--;
			if (k == 0 && levels == ext2_dir_htree_level(fs))
				return PCW_ET_DIR_INDEX_FULL;
		}
		if (!checked) {
			/* Before the first change: room for all of them. */
			err = pcw_fs_check_space(pfs, pcw_dx_need(bottom, levels));
			if (err)
				return err;
			checked = true;
		}
		if (bottom->count < bottom->limit)
			err = dx_split_leaf(pfs, d, bottom, lblk, leaf);
		else if (k == 0)
			err = dx_add_level(pfs, d, &frames[0]);
		else
			err = dx_split_node(pfs, d, &frames[k - 1], &frames[k]);
		if (err)
			return err;
	}
	return PCW_ET_CORRUPT;
}

/*
 * pcw_make_indexed_dir(): the one block of a linear directory is full.  Its
 * names move to a new block 1, and block 0 becomes the index root over it;
 * the insert then splits block 1 as any full leaf.
 */
errcode_t pcw_make_indexed_dir(pcw_fs *pfs, struct pcw_dir *d)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *root = pfs->dcache->buf[0], *b1 = pfs->dcache->buf[4];
	struct ext2_dir_entry *dot, *dotdot;
	struct ext2_dx_root_info *info;
	struct ext2_dx_countlimit *cl;
	unsigned off, rec_len, end = pcw_dir_leaf_end(fs), out = 0, last = 0, dlen;
	uint32_t lblk;
	errcode_t err;

	err = pcw_dir_read_block(pfs, d, 0, root);
	if (err)
		return err;
	dot = pcw_dirent_at(root, 0);
	err = pcw_rec_len_at(fs, root, 0, end, &dlen);
	if (err)
		return err;
	dotdot = pcw_dirent_at(root, dlen);
	if (dlen != 12 || ext2fs_dirent_name_len(dot) != 1 ||
	    dot->name[0] != '.' || ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2))
		return PCW_ET_CORRUPT;
	err = pcw_rec_len_at(fs, root, 12, end, &rec_len);
	if (err)
		return err;

	pcw_dir_init_leaf(fs, b1);
	for (off = 12 + rec_len; off < end; off += rec_len) {
		struct ext2_dir_entry *de = pcw_dirent_at(root, off);
		unsigned size;

		err = pcw_rec_len_at(fs, root, off, end, &rec_len);
		if (err)
			return err;
		if (!de->inode)
			continue;
		size = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
		memcpy(b1 + out, de, size);
		ext2fs_set_rec_len(fs, size, pcw_dirent_at(b1, out));
		last = out;
		out += size;
	}
	if (!out)
		return PCW_ET_CORRUPT;
	ext2fs_set_rec_len(fs, end - last, pcw_dirent_at(b1, last));

	err = root_hash_alg(fs, fs->super->s_def_hash_version, &d->hash_alg);
	if (err)
		return err;
	err = pcw_fs_check_space(pfs, MAKE_INDEXED_NEED);
	if (err)
		return err;
	d->htree = true;	/* append_block keeps no room[] now */
	err = pcw_dir_append_block(pfs, d, b1, &lblk);
	if (err) {
		d->htree = false;
		return err;
	}

	/* Block 0: ".", ".." over the rest of the block, the root. */
	ext2fs_set_rec_len(fs, fs->blocksize - 12, dotdot);
	memset(root + 24, 0, fs->blocksize - 24);
	info = (struct ext2_dx_root_info *)(root + 24);
	info->hash_version = fs->super->s_def_hash_version;
	info->info_length = 8;
	cl = (struct ext2_dx_countlimit *)(root + DX_ROOT_COUNT_OFF);
	cl->limit = ext2fs_cpu_to_le16(pcw_dx_root_limit(fs));
	cl->count = ext2fs_cpu_to_le16(1);
	((struct ext2_dx_entry *)cl)->block = ext2fs_cpu_to_le32(lblk);
	d->dotdot = dotdot->inode;
	err = pcw_dir_write_block(pfs, d, 0, root);
	if (err)
		return err;
	d->inode->i_flags |= EXT2_INDEX_FL;
	err = pcw_dir_write_inode(pfs, d);
	if (err)
		return err;
	pcw_dir_names_free(d);
	return 0;
}
