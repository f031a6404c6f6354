/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dirent.c: the records inside one directory block, as fs/ext4/namei.c and
 * dir.c handle them: checksum tail, record lengths checked as
 * ext4_check_dir_entry does, room, insert, find, delete; the linear name
 * hash and the name compare (casefolded ones included); a new directory's
 * first block.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"
#include "io.h"

/* ---- small helpers ---- */

unsigned pcw_dir_csum_size(ext2_filsys fs)
{
	return ext2fs_has_feature_metadata_csum(fs->super) ?
	       sizeof(struct ext2_dir_entry_tail) : 0;
}

/* Where a leaf's dirents end (the checksum tail follows). */
unsigned pcw_dir_leaf_end(ext2_filsys fs)
{
	return fs->blocksize - pcw_dir_csum_size(fs);
}

unsigned pcw_dx_root_limit(ext2_filsys fs)
{
	return (fs->blocksize - DX_ROOT_COUNT_OFF) / 8 -
	       (pcw_dir_csum_size(fs) ? 1 : 0);
}

unsigned pcw_dx_node_limit(ext2_filsys fs)
{
	return (fs->blocksize - DX_NODE_COUNT_OFF) / 8 -
	       (pcw_dir_csum_size(fs) ? 1 : 0);
}

/*
 * The linear directory's table hash.  In a casefolded directory (CF, the
 * filesystem's encoding) names equal as the kernel compares them must hash
 * alike: a name that casefolds is hashed casefolded (with libext2fs's
 * dirhash, the only casefold it exports); one that does not (invalid
 * UTF-8) is compared byte for byte, so its bytes are hashed.
 */
uint32_t pcw_dir_name_hash(const struct ext2fs_nls_table *cf,
			   const char *name, unsigned len)
{
	uint32_t h = 2166136261U;
	ext2_dirhash_t ch;

	if (cf && len && pcw_name_encoded(cf, name, len) &&
	    !ext2fs_dirhash2(EXT2_HASH_TEA, name, len, cf, EXT4_CASEFOLD_FL,
			     NULL, &ch, NULL))
		return ch | 1;
	while (len--)
		h = (h ^ (unsigned char)*name++) * 16777619U;
	return h ? h : 1;
}

/* Is NAME valid in the encoding CF (UTF-8 the kernel can casefold)? */
bool pcw_name_encoded(const struct ext2fs_nls_table *cf, const char *name,
		      unsigned len)
{
	char *pos;

	/* ext2fs_check_encoded_name only reads the name. */
	return !ext2fs_check_encoded_name(cf, (char *)name, len, &pos);
}

/*
 * Is the stored name A the name B, as ext4_match() compares them?  Bytes,
 * or in a casefolded directory (CF) the casefolded names; a name that is
 * not valid UTF-8 is compared byte for byte (the kernel's fallback for an
 * opaque name; strict mode keeps new ones out, pcw_dir_add).
 */
static bool is_ascii(const char *s, unsigned len)
{
	while (len--)
		if ((unsigned char)*s++ & 0x80)
			return false;
	return true;
}

bool pcw_name_match(const struct ext2fs_nls_table *cf, const char *a,
		    unsigned alen, const char *b, unsigned blen)
{
	unsigned k;

	if (alen == blen && !memcmp(a, b, alen))
		return true;
	/*
	 * Two ASCII names casefold to themselves with A-Z lowered (NFD
	 * leaves ASCII alone): compared so, without the Unicode tables, a
	 * leaf scan is cheap.  An ASCII name can still equal one that is not
	 * (KELVIN SIGN folds to "k"): those take the full compare.
	 */
	if (cf && is_ascii(a, alen) && is_ascii(b, blen)) {
		if (alen != blen)
			return false;
		for (k = 0; k < alen; k++) {
			unsigned char x = a[k], y = b[k];

			if (x >= 'A' && x <= 'Z')
				x += 'a' - 'A';
			if (y >= 'A' && y <= 'Z')
				y += 'a' - 'A';
			if (x != y)
				return false;
		}
		return true;
	}
	/* casefold_cmp says -1 for an invalid name and for a smaller byte. */
	if (!cf || !pcw_name_encoded(cf, a, alen) ||
	    !pcw_name_encoded(cf, b, blen))
		return false;
	return ext2fs_casefold_cmp(cf, (const unsigned char *)a, alen,
				   (const unsigned char *)b, blen) == 0;
}

struct ext2_dir_entry *pcw_dirent_at(unsigned char *buf, unsigned off)
{
	return (struct ext2_dir_entry *)(buf + off);
}

/*
 * The record at OFF of a block whose dirents end at END: its length, after
 * checking it (aligned, long enough for its name, inside the block).
 */
errcode_t pcw_rec_len_at(ext2_filsys fs, unsigned char *buf, unsigned off,
			 unsigned end, unsigned *rec_len)
{
	struct ext2_dir_entry *de = pcw_dirent_at(buf, off);
	unsigned len;

	if (off + 8 > end)
		return PCW_ET_CORRUPT;
	/* ext2fs_get_rec_len(), inline: this is the inner loop of a scan. */
	len = ext2fs_le16_to_cpu(de->rec_len);
	if (fs->blocksize >= 65536) {
		if (len == 65535 || len == 0)	/* EXT4_MAX_REC_LEN */
			len = fs->blocksize;
		else
			len = (len & 65532) | ((len & 3) << 16);
	}
	if (len < 8 || (len & 3) || off + len > end ||
	    (unsigned)ext2fs_dirent_name_len(de) + 8 > len)
		return PCW_ET_CORRUPT;
	*rec_len = len;
	return 0;
}

/* Is the checksum tail of a leaf in place? */
bool pcw_dir_tail_ok(ext2_filsys fs, unsigned char *buf)
{
	struct ext2_dir_entry_tail *t;

	if (!pcw_dir_csum_size(fs))
		return true;
	t = (struct ext2_dir_entry_tail *)(buf + pcw_dir_leaf_end(fs));
	return t->det_reserved_zero1 == 0 &&
	       t->det_rec_len == sizeof(*t) &&
	       t->det_reserved_name_len == EXT2_DIR_NAME_LEN_CSUM;
}

void pcw_set_dirent(ext2_filsys fs, struct ext2_dir_entry *de,
		    ext2_ino_t ino, const char *name, unsigned len,
		    int ftype)
{
	de->inode = ino;
	ext2fs_dirent_set_name_len(de, len);
	ext2fs_dirent_set_file_type(de,
		ext2fs_has_feature_filetype(fs->super) ? ftype : 0);
	memcpy(de->name, name, len);
}

/* An empty leaf: one unused record over the whole block, and the tail. */
void pcw_dir_init_leaf(ext2_filsys fs, unsigned char *buf)
{
	memset(buf, 0, fs->blocksize);
	ext2fs_set_rec_len(fs, pcw_dir_leaf_end(fs), pcw_dirent_at(buf, 0));
	if (pcw_dir_csum_size(fs))
		ext2fs_initialize_dirent_tail(fs,
			(struct ext2_dir_entry_tail *)(buf + pcw_dir_leaf_end(fs)));
}

/* ---- records inside one block ---- */

/* The largest record a new name could take in the leaf BUF. */
errcode_t pcw_leaf_room(ext2_filsys fs, unsigned char *buf, uint32_t *room)
{
	unsigned off, rec_len, end = pcw_dir_leaf_end(fs);
	uint32_t best = 0;
	errcode_t err;

	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = pcw_dirent_at(buf, off);
		unsigned free_len;

		err = pcw_rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		free_len = de->inode ?
			   rec_len - EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) :
			   rec_len;
		if (free_len > best)
			best = free_len;
	}
	*room = best;
	return 0;
}

/*
 * ext4_find_dest_de() + ext4_insert_dentry(): put the name in the first
 * record with room, splitting a live record's slack off.  ENOSPC when the
 * leaf has no room.
 */
errcode_t pcw_leaf_insert(ext2_filsys fs, unsigned char *buf,
			  const char *name, unsigned len, ext2_ino_t ino,
			  int ftype)
{
	unsigned off, rec_len, end = pcw_dir_leaf_end(fs);
	unsigned need = EXT2_DIR_REC_LEN(len);
	errcode_t err;

	for (off = 0; off < end; off += rec_len) {
		struct ext2_dir_entry *de = pcw_dirent_at(buf, off);

		err = pcw_rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		if (de->inode) {
			unsigned used = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de));
			struct ext2_dir_entry *nde;

			if (rec_len < used + need)
				continue;
			ext2fs_set_rec_len(fs, used, de);
			nde = pcw_dirent_at(buf, off + used);
			ext2fs_set_rec_len(fs, rec_len - used, nde);
			pcw_set_dirent(fs, nde, ino, name, len, ftype);
			return 0;
		}
		if (rec_len >= need) {
			pcw_set_dirent(fs, de, ino, name, len, ftype);
			return 0;
		}
	}
	return ENOSPC;
}

/*
 * Find NAME in the leaf (dirents in [start, end)), as pcw_name_match
 * compares in a directory casefolded with CF: its offset or -1.
 */
errcode_t pcw_leaf_find(ext2_filsys fs, const struct ext2fs_nls_table *cf,
			unsigned char *buf, unsigned start, unsigned end,
			const char *name, unsigned len, int *at, unsigned *prev)
{
	unsigned off, rec_len, last = ~0U;
	errcode_t err;

	*at = -1;
	for (off = start; off < end; off += rec_len) {
		struct ext2_dir_entry *de = pcw_dirent_at(buf, off);

		err = pcw_rec_len_at(fs, buf, off, end, &rec_len);
		if (err)
			return err;
		if (de->inode && pcw_name_match(cf, de->name,
						ext2fs_dirent_name_len(de),
						name, len)) {
			*at = off;
			if (prev)
				*prev = last;
			return 0;
		}
		last = off;
	}
	return 0;
}

/* ext4_generic_delete_entry(): fold the record into the one before it. */
void pcw_leaf_delete(ext2_filsys fs, unsigned char *buf, unsigned off,
		     unsigned prev)
{
	struct ext2_dir_entry *de = pcw_dirent_at(buf, off);
	unsigned rec_len, prev_len;

	ext2fs_get_rec_len(fs, de, &rec_len);
	if (prev != ~0U) {
		struct ext2_dir_entry *pde = pcw_dirent_at(buf, prev);

		ext2fs_get_rec_len(fs, pde, &prev_len);
		ext2fs_set_rec_len(fs, prev_len + rec_len, pde);
	} else {
		de->inode = 0;
	}
}

/*
 * A new directory's first block: "." and "..", and the tail.  Allocated
 * and written by the caller (pcw_mkdir).
 */
void pcw_dir_init_block(ext2_filsys fs, unsigned char *buf, ext2_ino_t ino,
			ext2_ino_t parent)
{
	pcw_dir_init_leaf(fs, buf);
	ext2fs_set_rec_len(fs, 12, pcw_dirent_at(buf, 0));
	pcw_set_dirent(fs, pcw_dirent_at(buf, 0), ino, ".", 1, EXT2_FT_DIR);
	ext2fs_set_rec_len(fs, pcw_dir_leaf_end(fs) - 12, pcw_dirent_at(buf, 12));
	pcw_set_dirent(fs, pcw_dirent_at(buf, 12), parent, "..", 2, EXT2_FT_DIR);
}
