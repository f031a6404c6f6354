/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal_log.c: one transaction into the log, in the order of the
 * kernel's jbd2_journal_commit_transaction (fs/jbd2/commit.c) with
 * data=ordered and barriers: revoke blocks, then descriptor blocks each
 * followed by the copies it describes, a flush, the commit block, a flush.
 *
 * The kernel submits the commit block with REQ_PREFLUSH | REQ_FUA, which is
 * the same promise as the two flushes here: everything before the commit
 * block is on stable storage before it, and the commit block itself before
 * the commit returns.  async_commit (commit block written with the rest,
 * checked by its checksum alone) is never used: the kernel refuses it with
 * data=ordered, and a torn transaction whose tag checksum fails makes the
 * kernel's replay fail the mount.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ext2fs/ext2_err.h>

#include "jbd2_format.h"
#include "journal_int.h"
#include "pcw_err.h"

/* Log blocks a transaction of N copies and NREV revokes takes. */
static size_t footprint(const struct pcw_journal *j, size_t n, size_t nrev)
{
	size_t desc = (n + j->tags_per_desc - 1) / j->tags_per_desc;
	size_t rev = (nrev + j->revokes_per_block - 1) / j->revokes_per_block;

	return desc + n + rev + 1;
}

bool pcw_journal_fits(const struct pcw_journal *j, size_t n, size_t nrev)
{
	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return false;
	return footprint(j, n, nrev) <= j->max_tx;
}

size_t pcw_journal_max_blocks(const struct pcw_journal *j)
{
	size_t n;

	if (!j || j->magic != PCW_MAGIC_JOURNAL || j->max_tx < 3)
		return 0;
	/* n + ceil(n / tags) + 1 <= max_tx, from just above the answer down */
	n = (j->max_tx - 1) * j->tags_per_desc / (j->tags_per_desc + 1) + 1;
	while (n && footprint(j, n, 0) > j->max_tx)
		n--;
	return n;
}

static int cmp_blk(const void *a, const void *b)
{
	blk64_t x = *(const blk64_t *)a, y = *(const blk64_t *)b;

	return x < y ? -1 : x > y;
}

static bool sorted_has(const blk64_t *v, size_t n, blk64_t blk)
{
	return n && bsearch(&blk, v, n, sizeof(*v), cmp_blk) != NULL;
}

/*
 * Every block must be a filesystem block outside the log, at most once,
 * and fit a 32-bit tag unless the journal has the 64bit feature.  SORTED
 * gets the block numbers in order.
 */
static errcode_t check_blocks(const struct pcw_journal *j,
			      const struct pcw_jblock *blocks, size_t n,
			      blk64_t *sorted)
{
	blk64_t count = ext2fs_blocks_count(j->fs->super);
	size_t i;

	for (i = 0; i < n; i++) {
		if (!blocks[i].data || blocks[i].blk >= count ||
		    pcw_jlog_owns(j, blocks[i].blk))
			return EXT2_ET_BAD_BLOCK_NUM;
		if (!j->is64 && blocks[i].blk > UINT32_MAX)
			return PCW_ET_JOURNAL_UNSUPP;
		sorted[i] = blocks[i].blk;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_blk);
	for (i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1])
			return EXT2_ET_INVALID_ARGUMENT;
	return 0;
}

/*
 * The revoke records this transaction logs, in OUT: each revoked block
 * that has a copy in the live log (a held copy: every transaction still in
 * the log has its blocks held, as checkpoints write all of them) and that
 * the transaction does not log again (freed, then reused: the kernel's
 * jbd2_journal_cancel_revoke).  Its held copy is dropped once the
 * transaction has committed (held_update): it must never be written in
 * place over what the freed block holds by then.
 */
static size_t take_revokes(struct pcw_journal *j, const blk64_t *revoked,
			   size_t nrev, const blk64_t *sorted, size_t n,
			   blk64_t *out)
{
	size_t i, k = 0;

	for (i = 0; i < nrev; i++) {
		if (sorted_has(sorted, n, revoked[i]))
			continue;
		if (pcw_journal_lookup(j, revoked[i]))
			out[k++] = revoked[i];
	}
	return k;
}

/*
 * A transaction has committed: its revoked blocks' held copies go, its
 * blocks' copies are held (the superblock's with needs_recovery, as the
 * log has it) for the checkpoint.  Only now, so that the held copies are
 * always the last committed state, what a replay gives back: after a
 * failed commit the caller reads them (pcw_journal_lookup) to say what is
 * durable.  BUF is a block of scratch.
 */
static errcode_t held_update(struct pcw_journal *j,
			     const struct pcw_jblock *b, size_t n,
			     const blk64_t *rev, size_t nrev,
			     unsigned char *buf)
{
	size_t i;
	errcode_t err = 0;

	for (i = 0; i < nrev; i++)
		pcw_jheld_drop(j, rev[i]);
	for (i = 0; !err && i < n; i++) {
		if (b[i].blk == j->sb_blk) {
			memcpy(buf, b[i].data, j->bs);
			pcw_jsb_patch_flags(j, buf);
			err = pcw_jheld_put(j, b[i].blk, buf);
		} else {
			err = pcw_jheld_put(j, b[i].blk, b[i].data);
		}
	}
	return err;
}

static void tail_csum(const struct pcw_journal *j, unsigned char *blk)
{
	unsigned char *tail = blk + j->bs - JBD2_TAIL_SIZE;

	memset(tail, 0, JBD2_TAIL_SIZE);
	jbd2_put32(tail, ext2fs_crc32c_le(j->csum_seed, blk, j->bs));
}

static errcode_t write_revokes(struct pcw_journal *j, uint32_t tid,
			       uint32_t *pos, const blk64_t *rev, size_t nrev,
			       unsigned char *buf)
{
	size_t i = 0;

	while (i < nrev) {
		unsigned int off = JBD2_REVOKE_HEADER_SIZE, k;
		errcode_t err;

		memset(buf, 0, j->bs);
		jbd2_header(buf, JBD2_REVOKE_BLOCK, tid);
		for (k = 0; k < j->revokes_per_block && i < nrev; k++, i++) {
			if (j->revoke_rec == 8)
				jbd2_put64(buf + off, rev[i]);
			else
				jbd2_put32(buf + off, (uint32_t)rev[i]);
			off += j->revoke_rec;
		}
		jbd2_put32(buf + JBD2_R_COUNT, off);
		if (j->csum_v23)
			tail_csum(j, buf);
		err = pcw_jlog_write(j, *pos, 1, buf);
		if (err)
			return err;
		*pos = pcw_jlog_next(j, *pos, 1);
		j->st.revoke_records += k;
	}
	return 0;
}

/* The tag for one copy at TAG, flags already decided. */
static void put_tag(const struct pcw_journal *j, unsigned char *tag,
		    blk64_t blk, uint32_t flags, uint32_t csum)
{
	jbd2_put32(tag + JBD2_TAG_BLOCKNR, (uint32_t)blk);
	if (j->csum_v3) {
		jbd2_put32(tag + JBD2_TAG3_FLAGS, flags);
		if (j->is64)
			jbd2_put32(tag + JBD2_TAG3_HIGH, (uint32_t)(blk >> 32));
		jbd2_put32(tag + JBD2_TAG3_CSUM, csum);
		return;
	}
	if (j->csum_v23)
		jbd2_put16(tag + JBD2_TAG_CSUM16, (uint16_t)csum);
	jbd2_put16(tag + JBD2_TAG_FLAGS16, (uint16_t)flags);
	if (j->is64)
		jbd2_put32(tag + JBD2_TAG_HIGH, (uint32_t)(blk >> 32));
}

/*
 * One descriptor block and the K copies it describes, built in BUF (K+1
 * blocks) and written at *POS.  The log gets each copy escaped where it
 * starts with the magic, since recovery takes any block with the magic for
 * one of the journal's (the held copy, after the commit, is unescaped).
 */
static errcode_t write_descriptor(struct pcw_journal *j, uint32_t tid,
				  uint32_t *pos, const struct pcw_jblock *b,
				  size_t k, unsigned char *buf, uint32_t *crc1)
{
	unsigned char *desc = buf, *tag = buf + JBD2_HEADER_SIZE;
	uint32_t seq_csum = 0;
	size_t i;
	errcode_t err;

	memset(desc, 0, j->bs);
	jbd2_header(desc, JBD2_DESCRIPTOR_BLOCK, tid);
	if (j->csum_v23) {
		unsigned char be[4];

		jbd2_put32(be, tid);
		seq_csum = ext2fs_crc32c_le(j->csum_seed, be, sizeof(be));
	}
	for (i = 0; i < k; i++) {
		unsigned char *copy = buf + (i + 1) * j->bs;
		uint32_t flags = i ? JBD2_FLAG_SAME_UUID : 0, csum = 0;

		memcpy(copy, b[i].data, j->bs);
		if (b[i].blk == j->sb_blk)
			pcw_jsb_patch_flags(j, copy);
		if (jbd2_has_magic(copy)) {
			memset(copy, 0, 4);
			flags |= JBD2_FLAG_ESCAPE;
		}
		if (i == k - 1)
			flags |= JBD2_FLAG_LAST_TAG;
		/* csum v2/v3: over the tid and the block as logged */
		if (j->csum_v23)
			csum = ext2fs_crc32c_le(seq_csum, copy, j->bs);
		put_tag(j, tag, b[i].blk, flags, csum);
		tag += j->tag_bytes;
		if (!i) {
			memcpy(tag, j->uuid, JBD2_UUID_SIZE);
			tag += JBD2_UUID_SIZE;
		}
	}
	if (j->csum_v23)
		tail_csum(j, desc);
	/* csum v1: crc32_be over each descriptor and its copies, as logged */
	if (j->csum_v1)
		*crc1 = ext2fs_crc32_be(*crc1, buf, (k + 1) * j->bs);
	err = pcw_jlog_write(j, *pos, (uint32_t)(k + 1), buf);
	if (!err)
		*pos = pcw_jlog_next(j, *pos, (uint32_t)(k + 1));
	return err;
}

/* Commit times never go backwards; a reproducible run uses a fixed one. */
static void commit_time(struct pcw_journal *j, int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	if (j->params.flags & PCW_JOURNAL_FIXED_TIME) {
		*sec = j->params.commit_sec;
		*nsec = 0;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		*sec = ts.tv_sec;
		*nsec = (uint32_t)ts.tv_nsec;
	}
	if (*sec < j->last_sec || (*sec == j->last_sec && *nsec < j->last_nsec)) {
		*sec = j->last_sec;
		*nsec = j->last_nsec;
	}
	j->last_sec = *sec;
	j->last_nsec = *nsec;
}

static errcode_t write_commit(struct pcw_journal *j, uint32_t tid,
			      uint32_t pos, uint32_t crc1, unsigned char *buf)
{
	int64_t sec;
	uint32_t nsec;

	memset(buf, 0, j->bs);
	jbd2_header(buf, JBD2_COMMIT_BLOCK, tid);
	commit_time(j, &sec, &nsec);
	jbd2_put64(buf + JBD2_C_COMMIT_SEC, (uint64_t)sec);
	jbd2_put32(buf + JBD2_C_COMMIT_NSEC, nsec);
	if (j->csum_v1) {
		buf[JBD2_C_CHKSUM_TYPE] = JBD2_CRC32_CHKSUM;
		buf[JBD2_C_CHKSUM_SIZE] = JBD2_CRC32_CHKSUM_SIZE;
		jbd2_put32(buf + JBD2_C_CHKSUM, crc1);
	} else if (j->csum_v23) {
		/* type and size stay 0; the sum covers the whole block */
		jbd2_put32(buf + JBD2_C_CHKSUM,
			   ext2fs_crc32c_le(j->csum_seed, buf, j->bs));
	}
	return pcw_jlog_write(j, pos, 1, buf);
}

/*
 * Make room: checkpoint when this transaction would take the log past three
 * quarters full, or the held copies past the memory cap.  The kernel
 * checkpoints when the free log space falls under one transaction's worth
 * (__jbd2_log_wait_for_space); starting at three quarters leaves that much.
 */
static errcode_t make_room(struct pcw_journal *j, size_t need, size_t n)
{
	size_t size = j->maxlen - j->first;
	errcode_t err = 0;

	if (pcw_jlog_used(j) + need > size / 4 * 3 ||
	    (j->nheld + n) * (size_t)j->bs > j->params.mem_cap)
		err = pcw_journal_do_checkpoint(j, false);
	if (!err && pcw_jlog_used(j) + need >= size)
		err = PCW_ET_JOURNAL_TX_TOO_BIG;
	return err;
}

static errcode_t commit_locked(struct pcw_journal *j,
			       const struct pcw_jblock *blocks, size_t n,
			       const blk64_t *rev, size_t nrev,
			       unsigned char *buf)
{
	uint32_t tid = j->next_tid, pos, crc1 = ~0U;
	size_t i, k;
	errcode_t err = 0;

	pos = j->head;
	/*
	 * The session's first transaction.  The filesystem superblock says
	 * needs_recovery, flushed, before the journal superblock points at
	 * the log: a superblock without the flag over a log that is not empty
	 * is a problem to e2fsck ("needs_recovery flag is clear, but journal
	 * has data") and a log the kernel wipes unread, while the flag over
	 * an empty log is only a recovery with nothing to do.  The kernel
	 * sets the flag at mount (ext4_setup_super), long before.  Then the
	 * journal superblock's s_start, durable with the first flush below,
	 * before the commit block (as the kernel's first commit updates the
	 * log tail, JBD2_FLUSHED clear).
	 */
	if (!j->flags_set) {
		j->touched = true;
		err = pcw_jsb_set_flags(j, true);
		if (!err)
			err = pcw_jflush(j);
		if (err)
			return err;
		j->flags_set = true;
	}
	if (!j->live) {
		j->tail = j->head;
		err = pcw_jsb_write(j, j->head, false);
		if (err)
			return err;
		j->live = true;
	}
	/* The kernel logs revoke records first (jbd2_journal_write_revoke_records). */
	err = write_revokes(j, tid, &pos, rev, nrev, buf);
	for (i = 0; !err && i < n; i += k) {
		k = n - i < j->tags_per_desc ? n - i : j->tags_per_desc;
		err = write_descriptor(j, tid, &pos, blocks + i, k, buf, &crc1);
	}
	if (!err)
		err = pcw_jflush(j);
	if (!err)
		err = write_commit(j, tid, pos, crc1, buf);
	if (!err)
		err = pcw_jflush(j);
	if (!err)
		err = held_update(j, blocks, n, rev, nrev, buf);
	if (err)
		return err;
	j->head = pcw_jlog_next(j, pos, 1);
	j->next_tid = tid + 1;
	j->st.transactions++;
	return 0;
}

errcode_t pcw_journal_commit(struct pcw_journal *j,
			     const struct pcw_jblock *blocks, size_t n,
			     const blk64_t *revoked, size_t nrev)
{
	blk64_t *sorted = NULL, *rev = NULL;
	unsigned char *buf = NULL;
	size_t nr;
	errcode_t err;

	if (!j || j->magic != PCW_MAGIC_JOURNAL)
		return PCW_ET_MAGIC_JOURNAL;
	if (j->aborted)
		return PCW_ET_JOURNAL_ABORTED;
	if (n == 0 && nrev == 0)
		return 0;	/* the kernel commits no empty transaction */
	if (!pcw_journal_fits(j, n, nrev))
		return PCW_ET_JOURNAL_TX_TOO_BIG;
	sorted = malloc((n + 1) * sizeof(*sorted));
	rev = malloc((nrev + 1) * sizeof(*rev));
	err = ext2fs_get_mem((size_t)(j->tags_per_desc + 1) * j->bs, &buf);
	if (!err && (!sorted || !rev))
		err = EXT2_ET_NO_MEMORY;
	if (!err)
		err = check_blocks(j, blocks, n, sorted);
	/*
	 * From here on the journal's state changes (held copies dropped and
	 * replaced, the log written): a failure part way, a write error or
	 * no memory for a held copy, aborts it, so that no later checkpoint
	 * writes in place what was never committed.
	 */
	/*
	 * Room first: a checkpoint must still write the held copies of the
	 * blocks this transaction revokes.  Their last committed contents
	 * are what the image holds until this transaction commits; dropped
	 * first, a checkpoint would move the tail past them with the stale
	 * copy in place (the kernel keeps a revoked buffer on the checkpoint
	 * list of its old transaction until the new one commits).
	 */
	if (!err)
		err = pcw_jabort(j, make_room(j, footprint(j, n, nrev), n));
	if (!err) {
		nr = take_revokes(j, revoked, nrev, sorted, n, rev);
		if (n || nr)
			err = pcw_jabort(j, commit_locked(j, blocks, n, rev,
							  nr, buf));
	}
	ext2fs_free_mem(&buf);
	free(rev);
	free(sorted);
	return err;
}
