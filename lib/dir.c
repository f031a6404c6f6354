/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dir.c: directories: look names up, add and remove them, without
 * rescanning (fs/ext4/namei.c in miniature).
 *
 * libext2fs's ext2fs_lookup and ext2fs_link scan a directory from its first
 * block for every name, so N names into one directory cost N^2.  The kernel
 * looks a name up through the htree index (pcw_dx_probe) and inserts into the
 * one leaf the hash picks (ext4_dx_add_entry), splitting leaves and index
 * nodes as they fill.  pcwrite does the same.  Each directory a run touches
 * is loaded once into a struct pcw_dir:
 *
 *  - an indexed (htree) directory keeps its block map only: lookups and
 *    inserts go through the index, O(1) in the directory's size, and memory
 *    does not grow with the names already there;
 *  - a linear directory is read once into a hash table of its names and the
 *    largest free record of each block.
 *
 * A linear directory whose one block fills becomes an indexed one
 * (pcw_make_indexed_dir) when the filesystem has dir_index, as in the kernel.
 * New directory blocks are allocated and mapped here (not with
 * ext2fs_expand_dir, which breaks an indexed directory, nor
 * ext2fs_fallocate).  An inline directory is moved into a block before it
 * changes.  Room for every block an insert may need is checked before the
 * first change, so a failed insert leaves the directory as it was; a full
 * index (the kernel's "Directory index full") is ENOSPC, found before
 * anything is written.
 *
 * Every changed block is written at once: a name reported done is in the
 * image even if the process is killed.  The directory's times are written
 * when the run ends (pcw_dcache_flush).
 *
 * dir.c holds the interface, linear directories and the inline conversion;
 * under it htree.c (the index), dcache.c (the run's cache of directories
 * and blocks, new blocks) and dirent.c (records inside one block).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"
#include "io.h"

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		    blk64_t ref_blk, int ref_offset, void *priv)
{
	struct pcw_dir *d = priv;

	if (blockcnt < 0)
		return 0;
	if ((uint64_t)blockcnt >= d->nblocks) {
		d->nblocks = 0;		/* blocks past i_size */
		return BLOCK_ABORT;
	}
	d->pblk[blockcnt] = *blocknr;
	return 0;
}

static errcode_t load_linear(pcw_fs *pfs, struct pcw_dir *d,
			     unsigned char *buf)
{
	ext2_filsys fs = pfs->fs;
	uint32_t b;
	errcode_t err;

	free(d->room);
	d->room = calloc(d->cap, sizeof(*d->room));
	if (!d->room)
		return ENOMEM;
	err = pcw_dir_names_grow(d);
	if (err)
		return err;
	for (b = 0; b < d->nblocks; b++) {
		unsigned off, rec_len, end;

		err = pcw_dir_read_block(pfs, d, b, buf);
		if (err)
			return err;
		if (!pcw_dir_tail_ok(fs, buf))
			return PCW_ET_CORRUPT;
		end = pcw_dir_leaf_end(fs);
		for (off = 0; off < end; off += rec_len) {
			struct ext2_dir_entry *de = pcw_dirent_at(buf, off);

			err = pcw_rec_len_at(fs, buf, off, end, &rec_len);
			if (err)
				return err;
			if (!de->inode)
				continue;
			if (de->inode > fs->super->s_inodes_count)
				return PCW_ET_CORRUPT;
			err = pcw_dir_names_add(d, de->name, ext2fs_dirent_name_len(de),
						de->inode, ext2fs_dirent_file_type(de), b);
			if (err)
				return err;
		}
		err = pcw_leaf_room(fs, buf, &d->room[b]);
		if (err)
			return err;
	}
	return 0;
}

static errcode_t dir_load(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	struct pcw_dcache *c;
	struct pcw_dir *d;
	uint64_t size;
	uint32_t b;
	errcode_t err;

	err = pcw_dcache_get(pfs, &c);
	if (err)
		return err;
	if (ino < EXT2_ROOT_INO || ino > fs->super->s_inodes_count)
		return PCW_ET_CORRUPT;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->ino = ino;
	d->inode = calloc(1, pcw_inode_buf_size(fs));
	if (!d->inode) {
		err = ENOMEM;
		goto fail;
	}
	err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)d->inode,
				     isize);
	if (err)
		goto fail;
	err = PCW_ET_NOT_DIR;
	if (!LINUX_S_ISDIR(d->inode->i_mode) || !d->inode->i_links_count)
		goto fail;
	/* Its block map must not point into metadata, as ext4_iget checks. */
	err = pcw_iget_check(fs, d->inode);
	if (err)
		goto fail;
	/*
	 * An encrypted directory's names are ciphertext, hashed and compared
	 * with a key pcwrite does not have.  A casefolded one is hashed and
	 * compared with the filesystem's encoding (ext2fs_open loads it from
	 * s_encoding); without one (no casefold feature, which ext4_iget
	 * calls corrupt, or an encoding libext2fs does not know) it cannot.
	 */
	err = (d->inode->i_flags & EXT4_ENCRYPT_FL) ? PCW_ET_DIR_ENCRYPTED :
	      ((d->inode->i_flags & EXT4_CASEFOLD_FL) && !fs->encoding) ?
	      PCW_ET_DIR_CASEFOLD : 0;
	if (err) {
		pfs->error_dir = ino;
		goto fail;
	}
	if (d->inode->i_flags & EXT4_CASEFOLD_FL)
		d->cf = fs->encoding;
	if (d->inode->i_flags & EXT4_INLINE_DATA_FL) {
		d->inline_data = true;
		goto done;
	}
	size = EXT2_I_SIZE(d->inode);
	err = PCW_ET_CORRUPT;
	if (!size || size % fs->blocksize || size / fs->blocksize >= (1U << 31) ||
	    size / fs->blocksize > ext2fs_blocks_count(fs->super))
		goto fail;
	d->nblocks = d->cap = size / fs->blocksize;
	d->pblk = calloc(d->cap, sizeof(*d->pblk));
	if (!d->pblk) {
		err = ENOMEM;
		goto fail;
	}
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY |
				    BLOCK_FLAG_DATA_ONLY, NULL, block_cb, d);
	if (err)
		goto fail;
	err = PCW_ET_CORRUPT;
	if (d->nblocks != d->cap)
		goto fail;
	/* No holes, and every block ours in the bitmap and not metadata. */
	for (b = 0; b < d->nblocks; b++)
		if (pcw_inode_block_valid(fs, d->pblk[b], 1) ||
		    !ext2fs_test_block_bitmap2(fs->block_map, d->pblk[b]))
			goto fail;
	d->htree = (d->inode->i_flags & EXT2_INDEX_FL) &&
		   ext2fs_has_feature_dir_index(fs->super);
	err = d->htree ? pcw_load_htree(pfs, d, c->buf[0])
		       : load_linear(pfs, d, c->buf[0]);
	if (err)
		goto fail;
done:
	pcw_dcache_insert(pfs, d);
	*ret = d;
	return 0;
fail:
	pcw_dir_free(d);
	return err;
}

errcode_t pcw_dir_open(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret)
{
	struct pcw_dcache *c = pfs->dcache;
	struct pcw_dir *d;

	if (c)
		for (d = c->hash[ino & c->mask]; d; d = d->hash_next)
			if (d->ino == ino) {
				pcw_dcache_touch(pfs, d);
				*ret = d;
				return 0;
			}
	return dir_load(pfs, ino, ret);
}

/* ---- inline directories ---- */

/*
 * An inline directory's bytes: the parent's inode number, then dirents in
 * i_block (to byte 60) and in the system.data attribute.  FN sees each
 * live one; a non-zero return stops the walk.
 */
static errcode_t inline_walk(pcw_fs *pfs, struct pcw_dir *d,
			     int (*fn)(struct ext2_dir_entry *de, void *arg),
			     void *arg, ext2_ino_t *parent)
{
	ext2_filsys fs = pfs->fs;
	size_t size;
	unsigned char *buf;
	unsigned off, rec_len, region_end;
	errcode_t err;

	err = ext2fs_inline_data_size(fs, d->ino, &size);
	if (err)
		return err;
	if (size < EXT4_MIN_INLINE_DATA_SIZE || size > 65536)
		return PCW_ET_CORRUPT;
	buf = malloc(size);
	if (!buf)
		return ENOMEM;
	err = ext2fs_inline_data_get(fs, d->ino, (struct ext2_inode *)d->inode,
				     buf, &size);
	if (err)
		goto out;
	*parent = ext2fs_le32_to_cpu(*(uint32_t *)buf);
	off = EXT4_INLINE_DATA_DOTDOT_SIZE;
	region_end = EXT4_MIN_INLINE_DATA_SIZE;
	while (off < size) {
		struct ext2_dir_entry *de;

		if (off == region_end)
			region_end = size;
		de = pcw_dirent_at(buf, off);
		if (off + 8 > region_end ||
		    ext2fs_get_rec_len(fs, de, &rec_len) || rec_len < 8 ||
		    off + rec_len > region_end ||
		    (unsigned)ext2fs_dirent_name_len(de) + 8 > rec_len) {
			err = PCW_ET_CORRUPT;
			goto out;
		}
		if (de->inode && fn(de, arg))
			break;
		off += rec_len;
	}
out:
	free(buf);
	return err;
}

errcode_t pcw_dir_inline_each(pcw_fs *pfs, struct pcw_dir *d,
			      int (*fn)(struct ext2_dir_entry *de, void *arg),
			      void *arg)
{
	ext2_ino_t parent;

	return inline_walk(pfs, d, fn, arg, &parent);
}

struct inline_find {
	const struct ext2fs_nls_table *cf;
	const char	*name;
	unsigned	len;
	ext2_ino_t	ino;
	int		ftype;
	char		*found;		/* the name as stored, or NULL */
};

static int inline_find_cb(struct ext2_dir_entry *de, void *arg)
{
	struct inline_find *f = arg;
	unsigned len = ext2fs_dirent_name_len(de);

	if (!pcw_name_match(f->cf, de->name, len, f->name, f->len))
		return 0;
	f->ino = de->inode;
	f->ftype = ext2fs_dirent_file_type(de);
	if (f->found) {
		memcpy(f->found, de->name, len);
		f->found[len] = 0;
	}
	return 1;
}

struct inline_copy {
	ext2_filsys	fs;
	unsigned char	*buf;
	unsigned	off, last;
	bool		overflow;
};

static int inline_copy_cb(struct ext2_dir_entry *de, void *arg)
{
	struct inline_copy *c = arg;
	unsigned len = ext2fs_dirent_name_len(de);
	unsigned need = EXT2_DIR_REC_LEN(len);

	if (c->off + need > pcw_dir_leaf_end(c->fs)) {
		c->overflow = true;
		return 1;
	}
	ext2fs_set_rec_len(c->fs, need, pcw_dirent_at(c->buf, c->off));
	pcw_set_dirent(c->fs, pcw_dirent_at(c->buf, c->off), de->inode, de->name, len,
		       ext2fs_dirent_file_type(de));
	c->last = c->off;
	c->off += need;
	return 0;
}

/*
 * The kernel moves an inline directory into a block when it outgrows the
 * inode (ext4_convert_inline_data_nolock); pcwrite does it before the
 * directory's first change.
 */
static errcode_t expand_inline(pcw_fs *pfs, struct pcw_dir *d)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_dcache *c = pfs->dcache;
	unsigned char *buf = c->buf[3];
	struct inline_copy cp;
	struct ext2_xattr_handle *h = NULL;
	struct pcw_ea_change eac;
	ext2_ino_t parent = 0;
	uint32_t lblk;
	errcode_t err, err2;

	/* ".", "..", then every name of the inline directory. */
	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, 12, pcw_dirent_at(buf, 0));
	pcw_set_dirent(fs, pcw_dirent_at(buf, 0), d->ino, ".", 1, EXT2_FT_DIR);
	memset(&cp, 0, sizeof(cp));
	cp.fs = fs;
	cp.buf = buf;
	cp.off = 24;
	cp.last = 12;
	err = inline_walk(pfs, d, inline_copy_cb, &cp, &parent);
	if (err)
		return err;
	if (cp.overflow || !parent || parent > fs->super->s_inodes_count)
		return PCW_ET_CORRUPT;
	ext2fs_set_rec_len(fs, 12, pcw_dirent_at(buf, 12));
	pcw_set_dirent(fs, pcw_dirent_at(buf, 12), parent, "..", 2, EXT2_FT_DIR);
	ext2fs_set_rec_len(fs, pcw_dir_leaf_end(fs) - cp.last,
			   pcw_dirent_at(buf, cp.last));
	if (pcw_dir_csum_size(fs))
		ext2fs_initialize_dirent_tail(fs,
			(struct ext2_dir_entry_tail *)(buf + pcw_dir_leaf_end(fs)));

	err = pcw_fs_check_space(pfs, LINEAR_NEED);
	if (err)
		return err;
	/* The inline bytes go first; then the inode gets its block. */
	err = pcw_ea_change_begin(pfs, d->ino, NULL, 0, &eac);
	if (err)
		return err;
	err = ext2fs_xattrs_open(fs, d->ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (err) {
		/* Read, not changed: the directory is as it was. */
		if (h)
			ext2fs_xattrs_close(&h);
		pcw_ea_change_end(pfs, d->ino, &eac);
		return err;
	}
	err = ext2fs_xattr_remove(h, "system.data");
	ext2fs_xattrs_close(&h);
	err2 = pcw_ea_change_end(pfs, d->ino, &eac);
	if (!err)
		err = err2;
	if (!err)
		err = ext2fs_read_inode_full(fs, d->ino,
					     (struct ext2_inode *)d->inode,
					     EXT2_INODE_SIZE(fs->super));
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	d->inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(d->inode->i_block, 0, sizeof(d->inode->i_block));
	if (ext2fs_has_feature_extents(fs->super)) {
		err = pcw_init_extent_tree(fs, d->ino, d->inode);
		if (err)
			return err;
	}
	d->inode->i_size = 0;
	d->inode->i_size_high = 0;
	d->inline_data = false;
	d->nblocks = 0;
	err = pcw_dir_append_block(pfs, d, buf, &lblk);
	if (err) {
		pfs->meta_error = true;
		return err;
	}
	return load_linear(pfs, d, c->buf[4]);
}

/* ---- linear directories ---- */

static errcode_t linear_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			    unsigned len, ext2_ino_t ino, int ftype)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *buf = pfs->dcache->buf[3];
	unsigned need = EXT2_DIR_REC_LEN(len);
	uint32_t k, b = d->nblocks;
	errcode_t err;

	for (k = 0; k < d->nblocks; k++) {
		uint32_t c = (d->room_hint + k) % d->nblocks;

		if (d->room[c] >= need) {
			b = c;
			break;
		}
	}
	if (b < d->nblocks) {
		err = pcw_dir_read_block(pfs, d, b, buf);
		if (!err)
			err = pcw_leaf_insert(fs, buf, name, len, ino, ftype);
		if (!err)
			err = pcw_dir_write_block(pfs, d, b, buf);
		if (err)
			return err;
	} else if (d->nblocks == 1 && ext2fs_has_feature_dir_index(fs->super)) {
		err = pcw_make_indexed_dir(pfs, d);
		if (err)
			return err;
		return pcw_dx_add(pfs, d, name, len, ino, ftype);
	} else {
		/* A directory of several blocks stays linear: a new block. */
		err = pcw_fs_check_space(pfs, LINEAR_NEED);
		if (err)
			return err;
		pcw_dir_init_leaf(fs, buf);
		err = pcw_leaf_insert(fs, buf, name, len, ino, ftype);
		if (!err)
			err = pcw_dir_append_block(pfs, d, buf, &b);
		if (err)
			return err;
	}
	d->room_hint = b;
	err = pcw_leaf_room(fs, buf, &d->room[b]);
	if (!err)
		err = pcw_dir_names_add(d, name, len, ino, ftype, b);
	return err;
}

/* ---- the interface ---- */

static bool dot_or_dotdot(const char *name, unsigned len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

errcode_t pcw_dir_lookup(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, ext2_ino_t *ino, int *ftype)
{
	return pcw_dir_lookup_name(pfs, d, name, len, ino, ftype, NULL);
}

/*
 * Look NAME up; FOUND (EXT2_NAME_LEN + 1 bytes, or NULL) gets the name as
 * the directory holds it, which in a casefolded directory may be spelled
 * otherwise.
 */
errcode_t pcw_dir_lookup_name(pcw_fs *pfs, struct pcw_dir *d,
			      const char *name, unsigned len, ext2_ino_t *ino,
			      int *ftype, char *found)
{
	errcode_t err;

	*ino = 0;
	*ftype = 0;
	if (len == 0 || len > EXT2_NAME_LEN)
		return EXT2_ET_FILE_NOT_FOUND;
	if (found && dot_or_dotdot(name, len)) {
		memcpy(found, name, len);
		found[len] = 0;
	}
	if (d->inline_data) {
		struct inline_find f = { d->cf, name, len, 0, 0,
					 dot_or_dotdot(name, len) ? NULL : found };
		ext2_ino_t parent;

		err = inline_walk(pfs, d, inline_find_cb, &f, &parent);
		if (err)
			return err;
		if (len == 1 && name[0] == '.')
			f.ino = d->ino;
		else if (len == 2 && name[0] == '.' && name[1] == '.')
			f.ino = parent;
		if (!f.ino)
			return EXT2_ET_FILE_NOT_FOUND;
		*ino = f.ino;
		*ftype = f.ftype;
		return 0;
	}
	if (d->htree) {
		struct ext2_dir_entry *de;
		uint32_t lblk;
		unsigned prev;
		int at;

		if (dot_or_dotdot(name, len)) {
			*ino = len == 1 ? d->ino : d->dotdot;
			*ftype = EXT2_FT_DIR;
			return 0;
		}
		err = pcw_dx_find(pfs, d, name, len, &lblk, &at, &prev);
		if (err)
			return err;
		if (at < 0)
			return EXT2_ET_FILE_NOT_FOUND;
		/* dx_find left the leaf in buf[3]. */
		de = pcw_dirent_at(pfs->dcache->buf[3], at);
		*ino = de->inode;
		*ftype = ext2fs_dirent_file_type(de);
		if (found) {
			memcpy(found, de->name, ext2fs_dirent_name_len(de));
			found[ext2fs_dirent_name_len(de)] = 0;
		}
		return 0;
	} else {
		struct dir_name *n = pcw_dir_names_find(d, name, len);

		if (!n)
			return EXT2_ET_FILE_NOT_FOUND;
		*ino = n->ino;
		*ftype = n->ftype;
		if (found) {
			memcpy(found, d->strings + n->off, n->len);
			found[n->len] = 0;
		}
		return 0;
	}
}

/* Are A and B one name in D (in a casefolded one, but for case)? */
bool pcw_dir_same_name(const struct pcw_dir *d, const char *a, unsigned alen,
		       const char *b, unsigned blen)
{
	return pcw_name_match(d->cf, a, alen, b, blen);
}

/*
 * A new name in a casefolded directory of a filesystem in strict mode
 * (EXT4_ENC_STRICT_MODE_FL) must be valid in its encoding: ext4_add_entry
 * refuses it with EINVAL, and e2fsck would flag it.  Without strict mode
 * it is stored, hashed and compared as bytes, as the kernel does.
 */
static errcode_t check_encoding(pcw_fs *pfs, struct pcw_dir *d,
				const char *name, unsigned len)
{
	if (d->cf && (pfs->fs->super->s_encoding_flags &
		      EXT4_ENC_STRICT_MODE_FL) &&
	    !pcw_name_encoded(d->cf, name, len)) {
		pfs->error_dir = d->ino;
		return PCW_ET_DIR_NAME_ENCODING;
	}
	return 0;
}

errcode_t pcw_dir_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, ext2_ino_t ino, int ftype)
{
	errcode_t err;

	if (len == 0 || len > EXT2_NAME_LEN || memchr(name, '/', len) ||
	    memchr(name, 0, len) || dot_or_dotdot(name, len))
		return EINVAL;
	err = check_encoding(pfs, d, name, len);
	if (err)
		return err;
	/*
	 * One name in two spellings: the kernel's VFS finds the one there
	 * before a create; a caller that compared bytes (two DESTs, /d/A and
	 * /d/a) would add the second.
	 */
	if (d->cf) {
		ext2_ino_t other;
		int oftype;

		err = pcw_dir_lookup(pfs, d, name, len, &other, &oftype);
		if (!err)
			return EEXIST;
		if (err != EXT2_ET_FILE_NOT_FOUND)
			return err;
	}
	if (d->inline_data) {
		err = expand_inline(pfs, d);
		if (err)
			return err;
	}
	if (d->htree)
		err = pcw_dx_add(pfs, d, name, len, ino, ftype);
	else
		err = linear_add(pfs, d, name, len, ino, ftype);
	if (!err)
		pcw_dir_changed(pfs, d);
	return err;
}

errcode_t pcw_dir_remove(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len)
{
	ext2_filsys fs = pfs->fs;
	unsigned char *buf = pfs->dcache->buf[3];
	uint32_t lblk;
	unsigned prev;
	int at;
	errcode_t err;

	if (dot_or_dotdot(name, len))
		return EINVAL;
	if (d->inline_data) {
		err = expand_inline(pfs, d);
		if (err)
			return err;
	}
	if (d->htree) {
		err = pcw_dx_find(pfs, d, name, len, &lblk, &at, &prev);
		if (err)
			return err;
		if (at < 0)
			return EXT2_ET_FILE_NOT_FOUND;
	} else {
		struct dir_name *n = pcw_dir_names_find(d, name, len);

		if (!n)
			return EXT2_ET_FILE_NOT_FOUND;
		lblk = n->lblk;
		err = pcw_dir_read_block(pfs, d, lblk, buf);
		if (!err)
			err = pcw_leaf_find(fs, d->cf, buf, 0,
					    pcw_dir_leaf_end(fs), name, len,
					    &at, &prev);
		if (err)
			return err;
		if (at < 0)
			return PCW_ET_CORRUPT;
		n->ino = DIR_NAME_DELETED;
		d->nlive--;
	}
	pcw_leaf_delete(fs, buf, at, prev);
	err = pcw_dir_write_block(pfs, d, lblk, buf);
	if (!err && !d->htree)
		err = pcw_leaf_room(fs, buf, &d->room[lblk]);
	if (!err)
		pcw_dir_changed(pfs, d);
	return err;
}

/* The clusters pcw_dir_add may take: the caller checks them first. */
/*
 * Could NAME be added to D, with EXTRA more clusters for the caller (a new
 * directory's block)?  0, or the error pcw_dir_add would fail with:
 * PCW_ET_DIR_INDEX_FULL, ENOSPC.  Nothing is changed, so a create can ask
 * before it writes its inode, and a refused name leaves the image as it
 * was.  The add itself checks again.
 */
errcode_t pcw_dir_can_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			  unsigned len, blk64_t extra)
{
	ext2_filsys fs = pfs->fs;
	struct dx_frame frames[EXT4_HTREE_LEVEL];
	unsigned need = EXT2_DIR_REC_LEN(len), levels, k;
	struct dx_frame *bottom;
	uint32_t hash, room;
	errcode_t err;

	err = check_encoding(pfs, d, name, len);
	if (err)
		return err;
	if (d->inline_data)	/* moved into a block first */
		return pcw_fs_check_space(pfs, extra + LINEAR_NEED);
	if (!d->htree) {
		for (k = 0; k < d->nblocks; k++)
			if (d->room[k] >= need)
				return pcw_fs_check_space(pfs, extra);
		return pcw_fs_check_space(pfs, extra +
				(d->nblocks == 1 &&
				 ext2fs_has_feature_dir_index(fs->super) ?
				 MAKE_INDEXED_NEED : LINEAR_NEED));
	}
	err = pcw_dx_hash(pfs, d, name, len, &hash);
	if (!err)
		err = pcw_dx_probe(pfs, d, hash, frames, &levels);
	if (err)
		return err;
	bottom = &frames[levels - 1];
	err = pcw_dir_read_block(pfs, d, pcw_dx_block_of(&bottom->entries[bottom->at]),
				 pfs->dcache->buf[3]);
	if (!err && !pcw_dir_tail_ok(fs, pfs->dcache->buf[3]))
		err = PCW_ET_CORRUPT;
	if (!err)
		err = pcw_leaf_room(fs, pfs->dcache->buf[3], &room);
	if (err)
		return err;
	if (room >= need)
		return pcw_fs_check_space(pfs, extra);
	if (bottom->count >= bottom->limit) {
		k = levels - 1;
		while (k > 0 && frames[k - 1].count >= frames[k - 1].limit)
			k--;
		if (k == 0 && levels == ext2_dir_htree_level(fs))
			return PCW_ET_DIR_INDEX_FULL;
	}
	return pcw_fs_check_space(pfs, extra + pcw_dx_need(bottom, levels));
}

/*
 * A new directory ino (INODE already written) gets its first block and a
 * place in the cache.  The caller checked the room.
 */
errcode_t pcw_dir_new(pcw_fs *pfs, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, ext2_ino_t parent,
		      struct pcw_dir **ret)
{
	ext2_filsys fs = pfs->fs;
	struct pcw_dcache *c;
	struct pcw_dir *d;
	uint32_t lblk;
	errcode_t err;

	err = pcw_dcache_get(pfs, &c);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->ino = ino;
	d->inode = malloc(pcw_inode_buf_size(fs));
	err = d->inode ? pcw_dir_names_grow(d) : ENOMEM;
	if (err)
		goto fail;
	memcpy(d->inode, inode, pcw_inode_buf_size(fs));
	if (inode->i_flags & EXT4_CASEFOLD_FL)
		d->cf = fs->encoding;
	pcw_dir_init_block(fs, c->buf[3], ino, parent);
	err = pcw_dir_append_block(pfs, d, c->buf[3], &lblk);
	if (!err)
		err = pcw_leaf_room(fs, c->buf[3], &d->room[0]);
	if (!err)
		err = pcw_dir_names_add(d, ".", 1, ino, EXT2_FT_DIR, 0);
	if (!err)
		err = pcw_dir_names_add(d, "..", 2, parent, EXT2_FT_DIR, 0);
	if (err)
		goto fail;
	pcw_dcache_insert(pfs, d);
	*ret = d;
	return 0;
fail:
	if (d->nblocks)
		ext2fs_block_alloc_stats2(fs, d->pblk[0], -1);
	pcw_dir_free(d);
	return err;
}

/* Undo pcw_dir_new: free the block, forget the directory. */
void pcw_dir_discard(pcw_fs *pfs, struct pcw_dir *d)
{
	if (d->nblocks)
		ext2fs_block_alloc_stats2(pfs->fs, d->pblk[0], -1);
	pcw_dir_forget(pfs, d->ino);
}

/*
 * Can D take one more subdirectory?  Past EXT2_LINK_MAX links an indexed
 * directory's count becomes 1, "many" (dir_nlink); any other is EMLINK,
 * as the kernel's EXT4_DIR_LINK_MAX says.
 */
errcode_t pcw_dir_check_link(pcw_fs *pfs, struct pcw_dir *d)
{
	unsigned n = d->inode->i_links_count;

	if (n >= EXT2_LINK_MAX &&
	    !(d->htree && ext2fs_has_feature_dir_nlink(pfs->fs->super)))
		return EMLINK;
	return 0;
}

/* ext4_inc_count(): a subdirectory's ".." links to D. */
errcode_t pcw_dir_inc_link(pcw_fs *pfs, struct pcw_dir *d)
{
	unsigned n = d->inode->i_links_count;

	if (n == 1 || n + 1 > EXT2_LINK_MAX)
		d->inode->i_links_count = 1;
	else
		d->inode->i_links_count = n + 1;
	return pcw_dir_write_inode(pfs, d);
}

/*
 * ext4_dec_count(): a subdirectory's ".." goes.  A count of 1 ("many",
 * dir_nlink) stays 1, as the kernel keeps it.
 */
errcode_t pcw_dir_dec_link(pcw_fs *pfs, struct pcw_dir *d)
{
	if (d->inode->i_links_count > 2)
		d->inode->i_links_count--;
	return pcw_dir_write_inode(pfs, d);
}
