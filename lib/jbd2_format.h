/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jbd2_format.h: the on-disk format of an ext4 (jbd2) journal, as
 * Documentation/filesystems/ext4/journal.rst describes it.
 *
 * libext2fs 1.47.0 installs no jbd2 header (its kernel-jbd.h stays in the
 * source tree), so the format is written down here, as byte offsets into a
 * block rather than C structures: every field of a journal block is
 * big-endian, whatever the host and whatever the filesystem (whose own
 * fields are little-endian), and offsets keep the reader from trusting a
 * compiler's padding.
 *
 * A journal is a ring of blocks of the filesystem's block size.  Block 0 is
 * the journal superblock; blocks s_first .. s_maxlen-1 are the log.  Each
 * transaction in the log is: revoke blocks, descriptor blocks each followed
 * by the blocks its tags describe, then one commit block.  Every block the
 * journal itself writes (superblock, descriptor, commit, revoke) starts with
 * a 12-byte header: magic, block type, transaction id (the "sequence").
 */
#ifndef PCW_JBD2_FORMAT_H
#define PCW_JBD2_FORMAT_H

#include <stdint.h>
#include <string.h>

#define JBD2_MAGIC		0xC03B3998U

/* Header: three big-endian 32-bit words at the start of a journal block. */
#define JBD2_H_MAGIC		0x00
#define JBD2_H_BLOCKTYPE	0x04
#define JBD2_H_SEQUENCE		0x08
#define JBD2_HEADER_SIZE	12

/* Block types */
#define JBD2_DESCRIPTOR_BLOCK	1
#define JBD2_COMMIT_BLOCK	2
#define JBD2_SUPERBLOCK_V1	3
#define JBD2_SUPERBLOCK_V2	4
#define JBD2_REVOKE_BLOCK	5

/*
 * Journal superblock (journal block 0).  The first 1024 bytes are the
 * structure; a v2 superblock's checksum covers exactly those 1024 bytes.
 */
#define JSB_BLOCKSIZE		0x0C	/* must equal the filesystem's */
#define JSB_MAXLEN		0x10	/* blocks in the journal, superblock included */
#define JSB_FIRST		0x14	/* first block of the log */
#define JSB_SEQUENCE		0x18	/* tid expected at s_start */
#define JSB_START		0x1C	/* first log block to replay; 0: clean */
#define JSB_ERRNO		0x20
#define JSB_FEATURE_COMPAT	0x24	/* v2 only, like everything below */
#define JSB_FEATURE_INCOMPAT	0x28
#define JSB_FEATURE_RO_COMPAT	0x2C
#define JSB_UUID		0x30	/* 16 bytes */
#define JSB_NR_USERS		0x40
#define JSB_DYNSUPER		0x44
#define JSB_MAX_TRANSACTION	0x48
#define JSB_MAX_TRANS_DATA	0x4C
#define JSB_CHECKSUM_TYPE	0x50	/* one byte */
#define JSB_NUM_FC_BLKS		0x54
#define JSB_HEAD		0x58	/* log head at clean unmount (Linux 6.4+) */
#define JSB_CHECKSUM		0xFC
#define JSB_USERS		0x100	/* 16 bytes a filesystem sharing the log */
#define JSB_SIZE		0x400

#define JBD2_CRC32C_CHKSUM	4	/* s_checksum_type of csum v2/v3 */

/* Features */
#define JBD2_FEATURE_COMPAT_CHECKSUM		0x00000001	/* csum v1 */
#define JBD2_FEATURE_INCOMPAT_REVOKE		0x00000001
#define JBD2_FEATURE_INCOMPAT_64BIT		0x00000002
#define JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT	0x00000004
#define JBD2_FEATURE_INCOMPAT_CSUM_V2		0x00000008
#define JBD2_FEATURE_INCOMPAT_CSUM_V3		0x00000010
#define JBD2_FEATURE_INCOMPAT_FAST_COMMIT	0x00000020
#define JBD2_KNOWN_COMPAT	JBD2_FEATURE_COMPAT_CHECKSUM
#define JBD2_KNOWN_INCOMPAT	(JBD2_FEATURE_INCOMPAT_REVOKE |		\
				 JBD2_FEATURE_INCOMPAT_64BIT |		\
				 JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT |	\
				 JBD2_FEATURE_INCOMPAT_CSUM_V2 |	\
				 JBD2_FEATURE_INCOMPAT_CSUM_V3 |	\
				 JBD2_FEATURE_INCOMPAT_FAST_COMMIT)
#define JBD2_KNOWN_RO_COMPAT	0

/*
 * The kernel refuses a journal whose s_maxlen - s_first + 1 is under this
 * (JBD2_MIN_JOURNAL_BLOCKS): mke2fs's smallest journal, 1024 blocks, has
 * a log of 1023.
 */
#define JBD2_MIN_LOG_BLOCKS	1024

/*
 * Descriptor block: the header, then one tag per block that follows it in
 * the log, in order.  A tag whose SAME_UUID flag is clear is followed by 16
 * bytes of UUID (the first tag of each descriptor carries it); the last tag
 * has LAST_TAG.  With csum v2 or v3 the block's last 4 bytes are a tail
 * checksum.
 *
 * Tag layouts:
 *   csum v3 ("tag3", 16 bytes): blocknr, flags, blocknr_high, checksum,
 *     each 32 bits (blocknr_high read only with the 64bit feature).
 *   otherwise: blocknr (32), checksum (16, csum v2 only), flags (16),
 *     blocknr_high (32, present only with 64bit); csum v2 adds 2 more
 *     bytes to the tag size.  Sizes: 8, 12 (64bit), 10 (csum v2),
 *     14 (csum v2 + 64bit).
 * In both layouts the flags' low 16 bits sit at byte 6, which is where
 * recovery reads them.
 */
#define JBD2_TAG_BLOCKNR	0x00
#define JBD2_TAG_CSUM16		0x04	/* tag, csum v2 */
#define JBD2_TAG_FLAGS16	0x06	/* tag */
#define JBD2_TAG_HIGH		0x08	/* tag, 64bit */
#define JBD2_TAG3_FLAGS		0x04	/* tag3: 32-bit flags */
#define JBD2_TAG3_HIGH		0x08
#define JBD2_TAG3_CSUM		0x0C
#define JBD2_TAG3_SIZE		16
#define JBD2_UUID_SIZE		16

#define JBD2_FLAG_ESCAPE	1	/* first 4 bytes were the magic: zeroed in the log */
#define JBD2_FLAG_SAME_UUID	2	/* no UUID follows this tag */
#define JBD2_FLAG_DELETED	4	/* unused */
#define JBD2_FLAG_LAST_TAG	8	/* last tag of this descriptor */

#define JBD2_TAIL_SIZE		4	/* descriptor and revoke tail checksum */

/*
 * Commit block: the header, then (csum v1) checksum type and size bytes and
 * the checksum of the transaction's descriptor and data blocks; (csum v2/v3)
 * a crc32c of the whole commit block in the first checksum word; then the
 * commit time.
 */
#define JBD2_C_CHKSUM_TYPE	0x0C	/* one byte */
#define JBD2_C_CHKSUM_SIZE	0x0D	/* one byte */
#define JBD2_C_CHKSUM		0x10	/* 8 words; only the first is used */
#define JBD2_C_COMMIT_SEC	0x30	/* 64 bits */
#define JBD2_C_COMMIT_NSEC	0x38	/* 32 bits */
#define JBD2_CRC32_CHKSUM	1	/* csum v1's h_chksum_type */
#define JBD2_CRC32_CHKSUM_SIZE	4

/*
 * Revoke block: the header, r_count (bytes used, header included), then
 * records of 4 bytes, or 8 with the 64bit feature; csum v2/v3 tail.
 */
#define JBD2_R_COUNT		0x0C
#define JBD2_REVOKE_HEADER_SIZE	16

static inline uint32_t jbd2_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void jbd2_put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void jbd2_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void jbd2_put64(unsigned char *p, uint64_t v)
{
	jbd2_put32(p, v >> 32);
	jbd2_put32(p + 4, (uint32_t)v);
}

/* A block "starts with the magic" as recovery tests it: big-endian. */
static inline int jbd2_has_magic(const unsigned char *p)
{
	return jbd2_get32(p) == JBD2_MAGIC;
}

static inline void jbd2_header(unsigned char *p, uint32_t type, uint32_t tid)
{
	jbd2_put32(p + JBD2_H_MAGIC, JBD2_MAGIC);
	jbd2_put32(p + JBD2_H_BLOCKTYPE, type);
	jbd2_put32(p + JBD2_H_SEQUENCE, tid);
}

#endif /* PCW_JBD2_FORMAT_H */
