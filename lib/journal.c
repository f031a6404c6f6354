/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal.c: the journal's life outside one commit: open (the journal
 * superblock read and checked, the journal inode mapped once), the held
 * copies of committed blocks, checkpoint, close; and the writes every part
 * shares (the log ring, the journal superblock, the filesystem superblock's
 * needs_recovery flag).  journal_log.c writes a transaction.
 *
 * The format comes from the journal superblock, never from the filesystem's
 * features: mke2fs 1.47.0 leaves "Journal features: (none)" on a 64bit
 * metadata_csum filesystem (8-byte tags, no checksums), and the kernel sets
 * 64bit and csum v3 in the journal only when it first commits.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_err.h>

#include "jbd2_format.h"
#include "journal_int.h"
#include "pcw_err.h"

#define SB_OFFSET	1024	/* the filesystem superblock's byte offset */

/* ---- the journal inode's map ------------------------------------------ */

struct map_ctx {
	struct pcw_journal *j;
	uint32_t	want;		/* blocks to map: [0, want) */
	uint32_t	next;		/* the block expected next */
	size_t		cap;
	errcode_t	err;
};

static int map_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct map_ctx *c = priv;
	struct pcw_journal *j = c->j;
	struct pcw_jext *e;

	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0)
		return 0;
	if (blockcnt >= c->want)
		return BLOCK_ABORT;
	/* A hole in the journal, or a block outside the filesystem: the
	 * kernel's jbd2_journal_bmap would fail the same way at replay. */
	if ((uint64_t)blockcnt != c->next || *blocknr == 0 ||
	    *blocknr >= ext2fs_blocks_count(fs->super)) {
		c->err = PCW_ET_JOURNAL_CORRUPT;
		return BLOCK_ABORT;
	}
	c->next++;
	e = j->nmap ? &j->map[j->nmap - 1] : NULL;
	if (e && e->pblk + e->len == *blocknr && e->len < UINT32_MAX) {
		e->len++;
		return 0;
	}
	if (j->nmap == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct pcw_jext *m = realloc(j->map, cap * sizeof(*m));

		if (!m) {
			c->err = EXT2_ET_NO_MEMORY;
			return BLOCK_ABORT;
		}
		j->map = m;
		c->cap = cap;
	}
	e = &j->map[j->nmap++];
	e->lblk = (uint32_t)blockcnt;
	e->pblk = *blocknr;
	e->len = 1;
	return 0;
}

/* Map journal blocks [0, want) of the journal inode, once. */
static errcode_t map_journal(struct pcw_journal *j, uint32_t want)
{
	ext2_filsys fs = j->fs;
	struct ext2_inode inode;
	struct map_ctx c = { .j = j, .want = want };
	errcode_t err;

	err = ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode);
	if (err)
		return err;
	if (!LINUX_S_ISREG(inode.i_mode) ||
	    EXT2_I_SIZE(&inode) < (uint64_t)want * j->bs)
		return PCW_ET_JOURNAL_CORRUPT;
	free(j->map);
	j->map = NULL;
	j->nmap = 0;
	err = ext2fs_block_iterate3(fs, fs->super->s_journal_inum,
				    BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				    NULL, map_block, &c);
	if (!err)
		err = c.err;
	if (!err && c.next != want)
		err = PCW_ET_JOURNAL_CORRUPT;
	return err;
}

/* The physical block of journal block LBLK, and how many follow it. */
static blk64_t map_lookup(const struct pcw_journal *j, uint32_t lblk,
			  uint32_t *run)
{
	size_t lo = 0, hi = j->nmap;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (j->map[mid].lblk <= lblk)
			lo = mid;
		else
			hi = mid;
	}
	*run = j->map[lo].lblk + j->map[lo].len - lblk;
	return j->map[lo].pblk + (lblk - j->map[lo].lblk);
}

bool pcw_jlog_owns(const struct pcw_journal *j, blk64_t blk)
{
	size_t i;

	for (i = 0; i < j->nmap; i++)
		if (blk >= j->map[i].pblk && blk - j->map[i].pblk < j->map[i].len)
			return true;
	return false;
}

/* ---- writes ------------------------------------------------------------ */

/* jbd2_journal_abort: after an error nothing more is written. */
errcode_t pcw_jabort(struct pcw_journal *j, errcode_t err)
{
	if (err && !j->aborted)
		j->aborted = err;
	return err;
}

#define abort_on pcw_jabort

/* Write COUNT log blocks from BUF at log position POS, wrapping. */
errcode_t pcw_jlog_write(struct pcw_journal *j, uint32_t pos, uint32_t count,
			 const void *buf)
{
	const unsigned char *p = buf;

	while (count) {
		uint32_t run, n;
		blk64_t pblk = map_lookup(j, pos, &run);
		errcode_t err;

		n = count;
		if (n > run)
			n = run;
		if (n > j->maxlen - pos)
			n = j->maxlen - pos;
		err = io_channel_write_blk64(j->raw, pblk, (int)n, p);
		if (err)
			return abort_on(j, err);
		j->st.journal_blocks += n;
		p += (size_t)n * j->bs;
		count -= n;
		pos = pcw_jlog_next(j, pos, n);
	}
	return 0;
}

errcode_t pcw_jflush(struct pcw_journal *j)
{
	j->st.flushes++;
	return abort_on(j, io_channel_flush(j->raw));
}

static uint32_t jsb_csum(const unsigned char *jsb)
{
	unsigned char tmp[JSB_SIZE];

	memcpy(tmp, jsb, JSB_SIZE);
	memset(tmp + JSB_CHECKSUM, 0, 4);
	return ext2fs_crc32c_le(~0U, tmp, JSB_SIZE);
}

/*
 * Write the journal superblock with s_start = START and s_sequence = the
 * next tid: the log begins at START with that transaction (or, START 0,
 * is empty: the next mount starts at s_sequence + 1).  Closing records
 * s_head, where the kernel (Linux 6.4+) resumes the log.
 */
errcode_t pcw_jsb_write(struct pcw_journal *j, uint32_t start, bool close)
{
	uint32_t run;
	blk64_t pblk = map_lookup(j, 0, &run);
	bool v2 = jbd2_get32(j->jsb + JBD2_H_BLOCKTYPE) == JBD2_SUPERBLOCK_V2;

	jbd2_put32(j->jsb + JSB_START, start);
	jbd2_put32(j->jsb + JSB_SEQUENCE, j->next_tid);
	if (close && v2)
		jbd2_put32(j->jsb + JSB_HEAD, j->head);
	if (j->csum_v23)
		jbd2_put32(j->jsb + JSB_CHECKSUM, jsb_csum(j->jsb));
	return abort_on(j, io_channel_write_blk64(j->raw, pblk, 1, j->jsb));
}

/* The filesystem superblock's fields, little-endian at these offsets. */
#define FS_SB_OFF(f)	offsetof(struct ext2_super_block, f)

static uint32_t le32_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * Set or clear needs_recovery in a superblock image, and recompute its
 * checksum.  VALID_FS is left alone: with a journal the kernel keeps it set
 * while mounted.
 *
 * orphan_present is not set.  ext4_setup_super sets it with needs_recovery
 * on an orphan_file filesystem because any later transaction may put an
 * inode in the orphan file; pcwrite never does (its orphans, --atomic's and
 * a truncation's across transactions, go on the s_last_orphan list, which
 * the kernel's ext4_orphan_cleanup and e2fsck process on such a filesystem
 * too).  Set, the flag outlives a replay by e2fsck 1.47.0's -E journal_only
 * (which clears it only after a full check; e2fsprogs 1.47.2 clears it as
 * it processes the orphan file), and the next e2fsck -fn reports "orphan
 * file is clean" (exit 4) on an image with nothing wrong.
 */
static void sb_flags(unsigned char *sb, bool set)
{
	uint32_t incompat, ro;

	if ((sb[FS_SB_OFF(s_magic)] | sb[FS_SB_OFF(s_magic) + 1] << 8) !=
	    EXT2_SUPER_MAGIC)
		return;
	incompat = le32_at(sb + FS_SB_OFF(s_feature_incompat));
	ro = le32_at(sb + FS_SB_OFF(s_feature_ro_compat));
	if (set)
		incompat |= EXT3_FEATURE_INCOMPAT_RECOVER;
	else
		incompat &= ~EXT3_FEATURE_INCOMPAT_RECOVER;
	put_le32(sb + FS_SB_OFF(s_feature_incompat), incompat);
	if (ro & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		put_le32(sb + FS_SB_OFF(s_checksum),
			 ext2fs_crc32c_le(~0U, sb, FS_SB_OFF(s_checksum)));
}

/*
 * A journaled copy of the superblock's block gets needs_recovery too: a
 * checkpoint writes it in place while the log may still hold transactions,
 * and a superblock without the flag over a live log makes the kernel wipe
 * the log (jbd2_journal_wipe) instead of replaying it.
 */
void pcw_jsb_patch_flags(const struct pcw_journal *j, unsigned char *blk)
{
	sb_flags(blk + j->sb_off, true);
}

/* Set or clear the flags in the superblock in place and in fs->super. */
errcode_t pcw_jsb_set_flags(struct pcw_journal *j, bool set)
{
	struct ext2_super_block *sb = j->fs->super;
	unsigned char *buf;
	errcode_t err;

	err = ext2fs_get_mem(j->bs, &buf);
	if (err)
		return err;
	err = io_channel_read_blk64(j->raw, j->sb_blk, 1, buf);
	if (!err) {
		sb_flags(buf + j->sb_off, set);
		err = io_channel_write_blk64(j->raw, j->sb_blk, 1, buf);
	}
	ext2fs_free_mem(&buf);
	if (err)
		return abort_on(j, err);
	if (set)
		ext2fs_set_feature_journal_needs_recovery(sb);
	else
		ext2fs_clear_feature_journal_needs_recovery(sb);
	return 0;
}

/* ---- held blocks ------------------------------------------------------- */

static size_t held_hash(const struct pcw_journal *j, blk64_t blk)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ULL) >> 20) &
	       (j->hash_size - 1);
}

static errcode_t held_grow(struct pcw_journal *j)
{
	size_t size = j->hash_size ? 2 * j->hash_size : 1024, i;
	struct pcw_jheld **old = j->hash, **hash;
	size_t old_size = j->hash_size;

	hash = calloc(size, sizeof(*hash));
	if (!hash)
		return EXT2_ET_NO_MEMORY;
	j->hash = hash;
	j->hash_size = size;
	for (i = 0; i < old_size; i++) {
		struct pcw_jheld *h = old[i], *next;

		for (; h; h = next) {
			size_t b = held_hash(j, h->blk);

			next = h->next;
			h->next = hash[b];
			hash[b] = h;
		}
	}
	free(old);
	return 0;
}

static struct pcw_jheld **held_find(const struct pcw_journal *j, blk64_t blk)
{
	struct pcw_jheld **hp;

	if (!j->hash_size)
		return NULL;
	for (hp = &j->hash[held_hash(j, blk)]; *hp; hp = &(*hp)->next)
		if ((*hp)->blk == blk)
			return hp;
	return NULL;
}

errcode_t pcw_jheld_put(struct pcw_journal *j, blk64_t blk, const void *data)
{
	struct pcw_jheld **hp = held_find(j, blk), *h;
	size_t b;

	if (hp) {
		memcpy((*hp)->data, data, j->bs);
		return 0;
	}
	if (j->nheld >= j->hash_size) {
		errcode_t err = held_grow(j);

		if (err)
			return err;
	}
	h = malloc(sizeof(*h) + j->bs);
	if (!h)
		return EXT2_ET_NO_MEMORY;
	h->blk = blk;
	memcpy(h->data, data, j->bs);
	b = held_hash(j, blk);
	h->next = j->hash[b];
	j->hash[b] = h;
	j->nheld++;
	return 0;
}

/* Drop BLK's held copy; true if there was one (it has a copy in the log). */
bool pcw_jheld_drop(struct pcw_journal *j, blk64_t blk)
{
	struct pcw_jheld **hp = held_find(j, blk), *h;

	if (!hp)
		return false;
	h = *hp;
	*hp = h->next;
	free(h);
	j->nheld--;
	return true;
}

const void *pcw_journal_lookup(const struct pcw_journal *j, blk64_t blk)
{
	struct pcw_jheld **hp;

	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return NULL;
	hp = held_find(j, blk);
	return hp ? (*hp)->data : NULL;
}

static void held_free(struct pcw_journal *j)
{
	size_t i;

	for (i = 0; i < j->hash_size; i++) {
		struct pcw_jheld *h = j->hash[i], *next;

		for (; h; h = next) {
			next = h->next;
			free(h);
		}
		j->hash[i] = NULL;
	}
	j->nheld = 0;
}

/* ---- checkpoint -------------------------------------------------------- */

static int cmp_held(const void *a, const void *b)
{
	blk64_t x = (*(struct pcw_jheld *const *)a)->blk;
	blk64_t y = (*(struct pcw_jheld *const *)b)->blk;

	return x < y ? -1 : x > y;
}

/* Write the held blocks in place, in block order, in runs of up to 1 MiB. */
static errcode_t write_held(struct pcw_journal *j)
{
	struct pcw_jheld **all;
	unsigned char *run = NULL;
	size_t i, k = 0, n = 0, max = (1U << 20) / j->bs;
	errcode_t err = 0;

	all = malloc(j->nheld * sizeof(*all));
	if (!all)
		return EXT2_ET_NO_MEMORY;
	for (i = 0; i < j->hash_size; i++) {
		struct pcw_jheld *h;

		for (h = j->hash[i]; h; h = h->next)
			all[k++] = h;
	}
	qsort(all, k, sizeof(*all), cmp_held);
	if (!max)
		max = 1;
	err = ext2fs_get_mem(max * j->bs, &run);
	for (i = 0; !err && i < k; i += n) {
		for (n = 1; i + n < k && n < max &&
			    all[i + n]->blk == all[i]->blk + n; n++)
			;
		if (n == 1) {
			err = io_channel_write_blk64(j->raw, all[i]->blk, 1,
						     all[i]->data);
		} else {
			size_t m;

			for (m = 0; m < n; m++)
				memcpy(run + m * j->bs, all[i + m]->data, j->bs);
			err = io_channel_write_blk64(j->raw, all[i]->blk,
						     (int)n, run);
		}
		if (!err)
			j->st.checkpoint_blocks += n;
	}
	ext2fs_free_mem(&run);
	free(all);
	return abort_on(j, err);
}

/*
 * Checkpoint everything (jbd2_log_do_checkpoint for every transaction in
 * the log, then jbd2_cleanup_journal_tail).  CLOSING leaves the tail to
 * the caller, which marks the log empty instead.
 */
errcode_t pcw_journal_do_checkpoint(struct pcw_journal *j, bool closing)
{
	errcode_t err;

	if (j->nheld == 0 && j->tail == j->head)
		return 0;
	if (j->nheld) {
		err = write_held(j);
		if (!err)
			err = pcw_jflush(j);
		if (err)
			return err;
		held_free(j);
	}
	/* Only now may the log's tail move: the blocks are durable in place. */
	j->tail = j->head;
	j->st.checkpoints++;
	if (closing)
		return 0;
	err = pcw_jsb_write(j, j->head, false);
	if (!err)
		err = pcw_jflush(j);
	return err;
}

errcode_t pcw_journal_checkpoint(struct pcw_journal *j)
{
	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return PCW_ET_MAGIC_JOURNAL;
	if (j->aborted)
		return PCW_ET_JOURNAL_ABORTED;
	return pcw_journal_do_checkpoint(j, false);
}

uint32_t pcw_jlog_used(const struct pcw_journal *j)
{
	uint32_t size = j->maxlen - j->first;

	return (j->head + size - j->tail) % size;
}

/* ---- open -------------------------------------------------------------- */

/*
 * The checks e2fsck (e2fsck_journal_load) and the kernel
 * (journal_get_superblock) make before they trust a journal superblock.
 */
static errcode_t check_jsb(struct pcw_journal *j, uint32_t inode_blocks)
{
	const unsigned char *p = j->jsb;
	uint32_t type = jbd2_get32(p + JBD2_H_BLOCKTYPE);
	uint32_t ro = 0;

	if (jbd2_get32(p + JBD2_H_MAGIC) != JBD2_MAGIC)
		return PCW_ET_JOURNAL_CORRUPT;
	if (type == JBD2_SUPERBLOCK_V2) {
		if (jbd2_get32(p + JSB_NR_USERS) > 1)
			return PCW_ET_JOURNAL_EXTERNAL;	/* a shared log */
		j->compat = jbd2_get32(p + JSB_FEATURE_COMPAT);
		j->incompat = jbd2_get32(p + JSB_FEATURE_INCOMPAT);
		ro = jbd2_get32(p + JSB_FEATURE_RO_COMPAT);
	} else if (type == JBD2_DESCRIPTOR_BLOCK || type == JBD2_COMMIT_BLOCK ||
		   type == JBD2_REVOKE_BLOCK) {
		return PCW_ET_JOURNAL_CORRUPT;
	} else if (type != JBD2_SUPERBLOCK_V1) {
		return PCW_ET_JOURNAL_UNSUPP;
	}
	if (j->incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT)
		return PCW_ET_JOURNAL_FAST_COMMIT;
	if ((j->incompat & ~JBD2_KNOWN_INCOMPAT) || (ro & ~JBD2_KNOWN_RO_COMPAT))
		return PCW_ET_JOURNAL_UNSUPP;
	/* The checksum versions exclude each other. */
	j->csum_v3 = j->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3;
	j->csum_v23 = j->csum_v3 || (j->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2);
	j->csum_v1 = j->compat & JBD2_FEATURE_COMPAT_CHECKSUM;
	if ((j->csum_v3 && (j->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2)) ||
	    (j->csum_v23 && j->csum_v1))
		return PCW_ET_JOURNAL_CORRUPT;
	if (j->csum_v23 && (p[JSB_CHECKSUM_TYPE] != JBD2_CRC32C_CHKSUM ||
			    jbd2_get32(p + JSB_CHECKSUM) != jsb_csum(p)))
		return PCW_ET_JOURNAL_CORRUPT;
	j->maxlen = jbd2_get32(p + JSB_MAXLEN);
	j->first = jbd2_get32(p + JSB_FIRST);
	if (jbd2_get32(p + JSB_BLOCKSIZE) != j->bs ||
	    j->maxlen > inode_blocks || j->first == 0 ||
	    j->first >= j->maxlen ||
	    j->maxlen - j->first + 1 < JBD2_MIN_LOG_BLOCKS)
		return PCW_ET_JOURNAL_CORRUPT;
	if (jbd2_get32(p + JSB_START) != 0)
		return PCW_ET_NEEDS_RECOVERY;
	if (jbd2_get32(p + JSB_ERRNO) != 0)
		return PCW_ET_HAS_ERRORS;
	return 0;
}

/* Tag size, tags a descriptor, revoke records a block: from the features. */
static void set_format(struct pcw_journal *j)
{
	unsigned int tail = j->csum_v23 ? JBD2_TAIL_SIZE : 0;
	unsigned int room = j->bs - JBD2_HEADER_SIZE - tail;

	j->is64 = j->incompat & JBD2_FEATURE_INCOMPAT_64BIT;
	if (j->csum_v3) {
		j->tag_bytes = JBD2_TAG3_SIZE;
	} else {
		j->tag_bytes = 12;
		if (j->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2)
			j->tag_bytes += 2;
		if (!j->is64)
			j->tag_bytes -= 4;
	}
	/* The first tag carries the UUID; the others say SAME_UUID. */
	j->tags_per_desc = 1 + (room - j->tag_bytes - JBD2_UUID_SIZE) /
			       j->tag_bytes;
	/*
	 * A descriptor and its copies are built in one buffer: at most
	 * PCW_JOURNAL_STAGE bytes (only 64 KiB blocks hit this; a descriptor
	 * that is not full is still a valid one, its LAST_TAG ends it).
	 */
	if ((j->tags_per_desc + 1) * (size_t)j->bs > PCW_JOURNAL_STAGE)
		j->tags_per_desc = PCW_JOURNAL_STAGE / j->bs > 1 ?
				   PCW_JOURNAL_STAGE / j->bs - 1 : 1;
	j->revoke_rec = j->is64 ? 8 : 4;
	j->revokes_per_block = (j->bs - JBD2_REVOKE_HEADER_SIZE - tail) /
			       j->revoke_rec;
	/* jbd2_journal_get_max_txn_bufs: a quarter of the journal */
	j->max_tx = j->maxlen / 4;
	memcpy(j->uuid, j->jsb + JSB_UUID, sizeof(j->uuid));
	j->csum_seed = ext2fs_crc32c_le(~0U, j->uuid, sizeof(j->uuid));
}

static errcode_t journal_load(struct pcw_journal *j)
{
	ext2_filsys fs = j->fs;
	struct ext2_inode inode;
	uint32_t inode_blocks, run, head;
	errcode_t err;

	err = ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode);
	if (err)
		return err;
	if (EXT2_I_SIZE(&inode) / j->bs < 2)
		return PCW_ET_JOURNAL_CORRUPT;
	inode_blocks = EXT2_I_SIZE(&inode) / j->bs > UINT32_MAX ? UINT32_MAX :
		       (uint32_t)(EXT2_I_SIZE(&inode) / j->bs);
	/* Block 0 first: the superblock says how much of the inode is log. */
	err = map_journal(j, 1);
	if (!err)
		err = ext2fs_get_mem(j->bs, &j->jsb);
	if (!err)
		err = io_channel_read_blk64(j->raw, map_lookup(j, 0, &run), 1,
					    j->jsb);
	if (!err)
		err = check_jsb(j, inode_blocks);
	if (!err)
		err = map_journal(j, j->maxlen);
	if (err)
		return err;
	set_format(j);
	j->next_tid = jbd2_get32(j->jsb + JSB_SEQUENCE) + 1;
	/* Where the kernel (Linux 6.4+, JBD2_CYCLE_RECORD) resumes the log. */
	head = jbd2_get32(j->jsb + JBD2_H_BLOCKTYPE) == JBD2_SUPERBLOCK_V2 ?
	       jbd2_get32(j->jsb + JSB_HEAD) : 0;
	j->head = head >= j->first && head < j->maxlen ? head : j->first;
	j->tail = j->head;
	j->start_head = j->head;
	j->start_tid = j->next_tid;
	j->sb_blk = SB_OFFSET / j->bs;
	j->sb_off = SB_OFFSET % j->bs;
	return 0;
}

errcode_t pcw_journal_open(ext2_filsys fs, io_channel raw,
			   const struct pcw_journal_params *params,
			   struct pcw_journal **ret)
{
	struct ext2_super_block *sb = fs->super;
	struct pcw_journal *j;
	errcode_t err;

	*ret = NULL;
	if (!ext2fs_has_feature_journal(sb))
		return PCW_ET_NO_JOURNAL;
	if (ext2fs_has_feature_journal_dev(sb) || sb->s_journal_inum == 0)
		return PCW_ET_JOURNAL_EXTERNAL;
	if (ext2fs_has_feature_fast_commit(sb))
		return PCW_ET_JOURNAL_FAST_COMMIT;
	if (ext2fs_has_feature_journal_needs_recovery(sb))
		return PCW_ET_NEEDS_RECOVERY;
	if (!raw || raw->block_size != (int)fs->blocksize)
		return EXT2_ET_INVALID_ARGUMENT;
	j = calloc(1, sizeof(*j));
	if (!j)
		return EXT2_ET_NO_MEMORY;
	j->magic = PCW_MAGIC_JOURNAL;
	j->fs = fs;
	j->raw = raw;
	j->bs = fs->blocksize;
	if (params)
		j->params = *params;
	if (!j->params.mem_cap)
		j->params.mem_cap = PCW_JOURNAL_MEM_CAP;
	err = journal_load(j);
	if (err) {
		pcw_journal_abandon(j);
		return err;
	}
	*ret = j;
	return 0;
}

/* ---- close ------------------------------------------------------------- */

/*
 * PCW_JOURNAL_WIPE: zeroes over the log blocks this session wrote (from
 * where it began, as many as it wrote, the whole log at most), then the
 * journal superblock with the sequence and head it had at open.  Safe: the
 * log is already empty on disk (s_start 0), and no block of it holds a
 * transaction of this session any more, so reusing its tids is too.
 */
static errcode_t wipe_log(struct pcw_journal *j)
{
	uint32_t size = j->maxlen - j->first, pos = j->start_head, n, k;
	uint64_t left = j->st.journal_blocks;
	unsigned char *zero;
	uint64_t written = j->st.journal_blocks;
	errcode_t err = 0;

	if (left > size)
		left = size;
	n = (1U << 20) / j->bs ? (1U << 20) / j->bs : 1;
	zero = calloc(n, j->bs);
	if (!zero)
		return EXT2_ET_NO_MEMORY;
	while (!err && left) {
		k = left < n ? (uint32_t)left : n;
		if (k > j->maxlen - pos)
			k = j->maxlen - pos;
		err = pcw_jlog_write(j, pos, k, zero);
		pos = pcw_jlog_next(j, pos, k);
		left -= k;
	}
	free(zero);
	/* What was zeroed is not what the run logged. */
	j->st.journal_blocks = written;
	if (!err) {
		j->next_tid = j->start_tid;
		j->head = j->start_head;
		err = pcw_jsb_write(j, 0, true);
	}
	if (!err)
		err = pcw_jflush(j);
	return err;
}

void pcw_journal_abandon(struct pcw_journal *j)
{
	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return;
	held_free(j);
	free(j->hash);
	free(j->map);
	ext2fs_free_mem(&j->jsb);
	j->magic = 0;
	free(j);
}

/*
 * What ext4_put_super does through jbd2_journal_destroy: checkpoint
 * everything, mark the log empty (jbd2_mark_journal_empty), and only then
 * clear needs_recovery.  A crash between the steps leaves either a log to
 * replay (again: replay is idempotent) or an empty log with the flag still
 * set, which e2fsck and the kernel clear without replaying anything.
 */
errcode_t pcw_journal_close(struct pcw_journal *j)
{
	errcode_t err = 0;

	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return PCW_ET_MAGIC_JOURNAL;
	if (j->aborted)
		err = PCW_ET_JOURNAL_ABORTED;
	if (!err)
		err = pcw_journal_do_checkpoint(j, true);
	if (!err && j->live) {
		err = pcw_jsb_write(j, 0, true);
		if (!err)
			err = pcw_jflush(j);
		if (!err)
			j->live = false;
		/* The log is empty and says so: its blocks may go. */
		if (!err && (j->params.flags & PCW_JOURNAL_WIPE))
			err = wipe_log(j);
	}
	if (!err && j->flags_set) {
		err = pcw_jsb_set_flags(j, false);
		if (!err)
			err = pcw_jflush(j);
	}
	if (!err)
		j->touched = false;
	pcw_journal_abandon(j);
	return err;
}

bool pcw_journal_touched(const struct pcw_journal *j)
{
	return j && j->magic == PCW_MAGIC_JOURNAL && j->touched;
}

void pcw_journal_get_stats(const struct pcw_journal *j,
			   struct pcw_journal_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return;
	*st = j->st;
	st->next_tid = j->next_tid;
	st->head = j->head;
	st->tail = j->tail;
	st->log_blocks = j->maxlen - j->first;
	st->held_blocks = j->nheld;
}
