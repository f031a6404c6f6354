/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_journal.c: drive lib/journal.c on a real image, for
 * tests/journal.bats.
 *
 *   test_journal [options] IMAGE STATE0 STATE1 ...
 *
 * IMAGE is a filesystem; STATE0 is a copy of it as it is now, and each
 * later STATE the same filesystem after a change made by a tool we did not
 * write (debugfs -w): a file written, a directory made, an inode changed.
 * Transaction T commits the blocks that differ between STATE(T-1) and
 * STATE(T): the new contents of real metadata blocks (inode table,
 * directory, bitmaps, group descriptors, superblock, extent blocks), and
 * of the file data blocks too unless -d says they go in place first
 * (data=ordered).  The same STATE may come back (S0 S1 S0 S1 ...): every
 * step is a consistent filesystem, so a long ping-pong wraps the log.
 *
 * Without -c the program exits after the last commit and leaves the log as
 * a crash there would: committed, not checkpointed, needs_recovery set.
 * The judges are e2fsck, debugfs logdump and the kernel.
 *
 * Options:
 *   -c          close: checkpoint, empty the log, clear needs_recovery
 *   -k T        checkpoint (pcw_journal_checkpoint) after transaction T
 *   -d T:LIST   blocks of transaction T written in place before it commits
 *   -r T:LIST   blocks transaction T revokes (LIST: 5,7,10-12)
 *   -t SEC      fixed commit time (PCW_JOURNAL_FIXED_TIME)
 *   -m BYTES    cap on held (committed, not checkpointed) blocks
 *   -l          print the journal's format and limits, commit nothing
 *   -s          print the journal's statistics at the end
 *   -F N        the journal's Nth flush and every later one fail (EIO)
 *   -W N        the journal's Nth write and every later one fail (EIO)
 *   -2          first convert the journal to csum v2 (the kernel has written
 *               v3 since Linux 3.18; no tool makes v2 any more), keeping
 *               64bit as it is: tags of 10 or 14 bytes, a 16-bit checksum
 * Exit: 0; 1 usage; 2 the journal refused or failed (its message on
 * stderr: "test_journal: open|commit N|close: MESSAGE"); 3 the journal's
 * own account is wrong (pcw_journal_lookup, or blocks held after a
 * checkpoint).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

#include "jbd2_format.h"
#include "journal.h"
#include "pcw_err.h"

#define MAX_TX	4096
#define MAX_OPT	256

struct list_opt {
	int		tx;
	blk64_t		*blks;
	size_t		n;
};

static struct list_opt data_opts[MAX_OPT], rev_opts[MAX_OPT];
static int ndata, nrev;
static int checkpoint_after[MAX_OPT], nckpt;

static void usage(void)
{
	fprintf(stderr, "usage: test_journal [-cls2] [-F N] [-W N] [-k T] [-d T:LIST] "
		"[-r T:LIST] [-t SEC] [-m BYTES] IMAGE STATE0 [STATE...]\n");
	exit(1);
}

static void fail(const char *what, errcode_t err)
{
	fprintf(stderr, "test_journal: %s: %s\n", what, error_message(err));
	exit(2);
}

/* "T:5,7,10-12" */
static void parse_list(const char *arg, struct list_opt *o)
{
	char *end, *p;
	size_t cap = 16;

	o->tx = (int)strtol(arg, &end, 10);
	if (*end != ':' || o->tx < 1)
		usage();
	o->blks = malloc(cap * sizeof(*o->blks));
	p = end + 1;
	while (*p) {
		unsigned long long a = strtoull(p, &end, 10), b = a, x;

		if (end == p)
			usage();
		if (*end == '-')
			b = strtoull(end + 1, &end, 10);
		for (x = a; x <= b; x++) {
			if (o->n == cap)
				o->blks = realloc(o->blks, (cap *= 2) * sizeof(*o->blks));
			o->blks[o->n++] = x;
		}
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			usage();
	}
}

static const struct list_opt *find_opt(const struct list_opt *v, int n, int tx)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].tx == tx)
			return &v[i];
	return NULL;
}

static int in_list(const struct list_opt *o, blk64_t blk)
{
	size_t i;

	for (i = 0; o && i < o->n; i++)
		if (o->blks[i] == blk)
			return 1;
	return 0;
}

/*
 * -F, -W: the journal writes through a channel that fails on request, over
 * the image's own (as a device whose writeback starts failing).
 */
static io_channel inner;
static long fault_flush, fault_write, nflush, nwrite;

static errcode_t f_read(io_channel ch, unsigned long blk, int count, void *buf)
{
	return io_channel_read_blk64(inner, blk, count, buf);
}

static errcode_t f_read64(io_channel ch, unsigned long long blk, int count,
			  void *buf)
{
	return io_channel_read_blk64(inner, blk, count, buf);
}

static errcode_t f_write64(io_channel ch, unsigned long long blk, int count,
			   const void *buf)
{
	if (fault_write && ++nwrite >= fault_write)
		return EIO;
	return io_channel_write_blk64(inner, blk, count, buf);
}

static errcode_t f_write(io_channel ch, unsigned long blk, int count,
			 const void *buf)
{
	return f_write64(ch, blk, count, buf);
}

static errcode_t f_flush(io_channel ch)
{
	if (fault_flush && ++nflush >= fault_flush)
		return EIO;
	return io_channel_flush(inner);
}

static errcode_t f_set_blksize(io_channel ch, int bs)
{
	ch->block_size = bs;
	return io_channel_set_blksize(inner, bs);
}

static struct struct_io_manager faulty_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "faulty",
	.set_blksize = f_set_blksize,
	.read_blk = f_read,
	.write_blk = f_write,
	.flush = f_flush,
	.read_blk64 = f_read64,
	.write_blk64 = f_write64,
};

static struct struct_io_channel faulty_channel = {
	.magic = EXT2_ET_MAGIC_IO_CHANNEL,
	.manager = &faulty_manager,
	.name = "faulty",
	.refcount = 1,
};

static io_channel faulty(io_channel io)
{
	inner = io;
	faulty_channel.block_size = io->block_size;
	return &faulty_channel;
}

/* -2: the journal superblock says csum v2, with its checksum. */
static void to_csum_v2(ext2_filsys fs)
{
	unsigned char *jsb = malloc(fs->blocksize);
	blk64_t pblk;
	uint32_t incompat;
	errcode_t err;

	err = ext2fs_bmap2(fs, fs->super->s_journal_inum, NULL, NULL, 0, 0,
			   NULL, &pblk);
	if (!err)
		err = io_channel_read_blk64(fs->io, pblk, 1, jsb);
	if (err)
		fail("csum v2", err);
	incompat = jbd2_get32(jsb + JSB_FEATURE_INCOMPAT);
	incompat &= ~JBD2_FEATURE_INCOMPAT_CSUM_V3;
	jbd2_put32(jsb + JSB_FEATURE_INCOMPAT, incompat | JBD2_FEATURE_INCOMPAT_CSUM_V2);
	jbd2_put32(jsb + JSB_FEATURE_COMPAT, 0);
	jsb[JSB_CHECKSUM_TYPE] = JBD2_CRC32C_CHKSUM;
	memset(jsb + JSB_CHECKSUM, 0, 4);
	jbd2_put32(jsb + JSB_CHECKSUM, ext2fs_crc32c_le(~0U, jsb, JSB_SIZE));
	err = io_channel_write_blk64(fs->io, pblk, 1, jsb);
	if (!err)
		err = io_channel_flush(fs->io);
	if (err)
		fail("csum v2", err);
	free(jsb);
}

static void print_format(ext2_filsys fs, struct pcw_journal *j)
{
	struct pcw_journal_stats st;

	pcw_journal_get_stats(j, &st);
	printf("blocksize %u\nlog_blocks %" PRIu32 "\nmax_blocks %zu\n"
	       "next_tid %" PRIu32 "\nhead %" PRIu32 "\n",
	       fs->blocksize, st.log_blocks, pcw_journal_max_blocks(j),
	       st.next_tid, st.head);
}

static void print_stats(struct pcw_journal *j)
{
	struct pcw_journal_stats st;

	pcw_journal_get_stats(j, &st);
	printf("next_tid %" PRIu32 "\nhead %" PRIu32 "\ntail %" PRIu32 "\n"
	       "transactions %" PRIu64 "\njournal_blocks %" PRIu64 "\n"
	       "revoke_records %" PRIu64 "\ncheckpoints %" PRIu64 "\n"
	       "checkpoint_blocks %" PRIu64 "\nflushes %" PRIu64 "\n"
	       "held_blocks %zu\n",
	       st.next_tid, st.head, st.tail, st.transactions,
	       st.journal_blocks, st.revoke_records, st.checkpoints,
	       st.checkpoint_blocks, st.flushes, st.held_blocks);
}

static int do_close;

/*
 * A commit failed: say so; with -c, show what close makes of the journal
 * now (aborted: it writes nothing); leave the image as it is.  Exit 2.
 */
static int err_after(ext2_filsys fs, struct pcw_journal *j, const char *what,
		     errcode_t err)
{
	fprintf(stderr, "test_journal: %s: %s\n", what, error_message(err));
	if (do_close) {
		err = pcw_journal_close(j);
		fprintf(stderr, "test_journal: close: %s\n",
			err ? error_message(err) : "ok");
	} else {
		pcw_journal_abandon(j);
	}
	ext2fs_free(fs);
	exit(2);
}

/*
 * What the holding io_manager will read back: every block just committed
 * is held as committed (the superblock's with needs_recovery set), and a
 * revoked block not logged again is not held.  Exit 3 otherwise.
 */
static void check_lookup(ext2_filsys fs, struct pcw_journal *j,
			 const struct pcw_jblock *v, size_t n,
			 const struct list_opt *ropt)
{
	blk64_t sb_blk = 1024 / fs->blocksize;
	unsigned int sb_off = 1024 % fs->blocksize;
	size_t i, k;

	for (i = 0; i < n; i++) {
		const unsigned char *held = pcw_journal_lookup(j, v[i].blk);
		struct ext2_super_block sb;

		if (!held) {
			fprintf(stderr, "test_journal: block %llu not held\n",
				(unsigned long long)v[i].blk);
			exit(3);
		}
		if (v[i].blk != sb_blk) {
			if (memcmp(held, v[i].data, fs->blocksize)) {
				fprintf(stderr, "test_journal: block %llu held "
					"differs\n", (unsigned long long)v[i].blk);
				exit(3);
			}
			continue;
		}
		memcpy(&sb, held + sb_off, sizeof(sb));
		if (!(sb.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER) ||
		    (ext2fs_has_feature_metadata_csum(&sb) &&
		     !ext2fs_superblock_csum_verify(fs, &sb))) {
			fprintf(stderr, "test_journal: held superblock without "
				"needs_recovery or with a bad checksum\n");
			exit(3);
		}
	}
	for (k = 0; ropt && k < ropt->n; k++) {
		for (i = 0; i < n && v[i].blk != ropt->blks[k]; i++)
			;
		if (i == n && pcw_journal_lookup(j, ropt->blks[k])) {
			fprintf(stderr, "test_journal: revoked block %llu still "
				"held\n", (unsigned long long)ropt->blks[k]);
			exit(3);
		}
	}
}

/*
 * One transaction: the blocks where OLD and NEW differ.  Blocks listed by
 * -d go in place now (the caller's data=ordered data, made durable by the
 * commit's first flush); the rest are committed.
 */
static int one_tx(ext2_filsys fs, struct pcw_journal *j, int tx,
		  const char *old_path, const char *new_path)
{
	const struct list_opt *dopt = find_opt(data_opts, ndata, tx);
	const struct list_opt *ropt = find_opt(rev_opts, nrev, tx);
	size_t bs = fs->blocksize, chunk = 256 * bs, n = 0, cap = 64, ndat = 0;
	blk64_t count = ext2fs_blocks_count(fs->super), blk;
	unsigned char *a = malloc(chunk), *b = malloc(chunk);
	struct pcw_jblock *v = malloc(cap * sizeof(*v));
	int fa = open(old_path, O_RDONLY), fb = open(new_path, O_RDONLY);
	char what[64];
	errcode_t err;
	size_t i;

	if (fa < 0 || fb < 0 || !a || !b || !v) {
		perror("test_journal: state");
		exit(1);
	}
	for (blk = 0; blk < count; blk += chunk / bs) {
		size_t want = (count - blk) * bs < chunk ? (count - blk) * bs : chunk;
		off_t off = (off_t)(blk * bs);

		if (pread(fa, a, want, off) != (ssize_t)want ||
		    pread(fb, b, want, off) != (ssize_t)want) {
			fprintf(stderr, "test_journal: short state image\n");
			exit(1);
		}
		if (!memcmp(a, b, want))
			continue;
		for (i = 0; i < want / bs; i++) {
			const unsigned char *nb = b + i * bs;

			if (!memcmp(a + i * bs, nb, bs))
				continue;
			if (in_list(dopt, blk + i)) {
				err = io_channel_write_blk64(fs->io, blk + i, 1, nb);
				if (err)
					fail("data", err);
				ndat++;
				continue;
			}
			if (n == cap)
				v = realloc(v, (cap *= 2) * sizeof(*v));
			v[n].blk = blk + i;
			v[n].data = memcpy(malloc(bs), nb, bs);
			n++;
		}
	}
	close(fa);
	close(fb);
	snprintf(what, sizeof(what), "commit %d", tx);
	err = pcw_journal_commit(j, v, n, ropt ? ropt->blks : NULL,
				 ropt ? ropt->n : 0);
	if (err)
		return err_after(fs, j, what, err);
	printf("T%d blocks %zu data %zu revoked %zu\n", tx, n, ndat,
	       ropt ? ropt->n : 0);
	check_lookup(fs, j, v, n, ropt);
	for (i = 0; i < n; i++)
		free((void *)v[i].data);
	free(v);
	free(a);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct pcw_journal_params params = { 0 };
	struct pcw_journal *j;
	ext2_filsys fs;
	int opt, limits = 0, stats = 0, v2 = 0, i, k;
	errcode_t err;

	initialize_ext2_error_table();
	initialize_pcw_error_table();
	while ((opt = getopt(argc, argv, "ck:d:r:t:m:lsF:W:2")) != -1) {
		switch (opt) {
		case 'c':
			do_close = 1;
			break;
		case 'k':
			if (nckpt == MAX_OPT)
				usage();
			checkpoint_after[nckpt++] = atoi(optarg);
			break;
		case 'd':
			if (ndata == MAX_OPT)
				usage();
			parse_list(optarg, &data_opts[ndata++]);
			break;
		case 'r':
			if (nrev == MAX_OPT)
				usage();
			parse_list(optarg, &rev_opts[nrev++]);
			break;
		case 't':
			params.flags |= PCW_JOURNAL_FIXED_TIME;
			params.commit_sec = strtoll(optarg, NULL, 10);
			break;
		case 'm':
			params.mem_cap = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			limits = 1;
			break;
		case 's':
			stats = 1;
			break;
		case '2':
			v2 = 1;
			break;
		case 'F':
			fault_flush = atol(optarg);
			break;
		case 'W':
			fault_write = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 1 || (!limits && argc - optind < 2) ||
	    argc - optind > MAX_TX)
		usage();
	err = ext2fs_open2(argv[optind], NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS,
			   0, 0, unix_io_manager, &fs);
	if (err)
		fail("ext2fs_open2", err);
	if (v2)
		to_csum_v2(fs);
	err = pcw_journal_open(fs, fault_flush || fault_write ? faulty(fs->io) :
			       fs->io, &params, &j);
	if (err)
		fail("open", err);
	if (limits)
		print_format(fs, j);
	for (i = optind + 2; !limits && i < argc; i++) {
		int tx = i - optind - 1;

		one_tx(fs, j, tx, argv[i - 1], argv[i]);
		for (k = 0; k < nckpt; k++) {
			struct pcw_journal_stats st;

			if (checkpoint_after[k] != tx)
				continue;
			err = pcw_journal_checkpoint(j);
			if (err)
				fail("checkpoint", err);
			pcw_journal_get_stats(j, &st);
			if (st.held_blocks || st.head != st.tail) {
				fprintf(stderr, "test_journal: blocks held "
					"after a checkpoint\n");
				exit(3);
			}
		}
	}
	if (stats)
		print_stats(j);
	if (do_close) {
		err = pcw_journal_close(j);
		if (err)
			fail("close", err);
	} else {
		pcw_journal_abandon(j);
	}
	/* Never ext2fs_close: the superblock on disk is the journal's business. */
	ext2fs_free(fs);
	return 0;
}
