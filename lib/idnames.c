/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * idnames.c: user and group names as the image has them, in its own
 * /etc/passwd and /etc/group, never the host's.
 *
 * A root filesystem's owners are the image's: "nginx" is whatever uid the
 * image's /etc/passwd gives it, whether the host has such a user or not.
 * The files are found as the kernel would find them inside the image (its
 * symlinks followed, the last one too: /etc -> usr/etc, passwd ->
 * ../lib/passwd) and read through libext2fs, so what this run wrote
 * earlier counts: an archive that brings its etc/passwd before the files
 * it owns names their owners through it.  The lines are parsed by libc
 * (fgetpwent_r, fgetgrent_r over the file's bytes); the first line with a
 * name wins, as getpwnam(3) answers.
 *
 * Each file is read once and held, with the inode it came from; a lookup
 * walks the path again (through the run's directory cache) and reads the
 * file anew only when the path leads to another inode, that inode changed
 * (size, times, flags, block map), or a mapping was opened on it since
 * (pcw_idnames_note_write: the run rewrote it in place, possibly into the
 * same blocks with the same size and, with a fixed --mtime, the same
 * times).
 *
 * Data blocks are read around libext2fs's block cache (a byte count makes
 * unix_io write out its dirty blocks and read directly): file data is
 * written around the cache too (pcw_fs_write_data), and a copy of a data
 * block in the cache would go stale when the block is written again.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namei.h"

/* A passwd larger than this is not a passwd: refused, not read. */
#define NAMES_MAX_BYTES	(64U << 20)
/* The image's symlinks followed on the way, as the kernel's MAXSYMLINKS. */
#define NAMES_MAX_FOLLOW	40

/* What identifies an inode's contents without reading them. */
struct identity {
	ext2_ino_t	ino;
	uint32_t	size, size_high, mtime, ctime, mtime_extra, ctime_extra;
	uint32_t	flags, generation, dtime;
	uint16_t	links;
	uint32_t	block[EXT2_N_BLOCKS];
};

struct name_id {
	char		*name;		/* NULL: a free slot */
	uint32_t	id;
};

struct names_file {
	const char	*path;
	bool		loaded;
	bool		stale;		/* a mapping was opened on its inode */
	struct identity	who;		/* who.ino 0: the file is missing */
	char		*data;		/* the file's bytes, to compare */
	size_t		size;
	struct name_id	*table;		/* open addressing, first name wins */
	size_t		mask;		/* table size - 1, or 0 without one */
};

struct pcw_idnames {
	struct names_file f[2];		/* PCW_ID_USER, PCW_ID_GROUP */
};

static void identity_of(ext2_ino_t ino, const struct ext2_inode_large *in,
			struct identity *id)
{
	memset(id, 0, sizeof(*id));
	id->ino = ino;
	id->size = in->i_size;
	id->size_high = in->i_size_high;
	id->mtime = in->i_mtime;
	id->ctime = in->i_ctime;
	if (in->i_extra_isize >= 12) {	/* up to i_mtime_extra */
		id->ctime_extra = in->i_ctime_extra;
		id->mtime_extra = in->i_mtime_extra;
	}
	id->flags = in->i_flags;
	id->generation = in->i_generation;
	id->dtime = in->i_dtime;
	id->links = in->i_links_count;
	memcpy(id->block, in->i_block, sizeof(id->block));
}

static void free_table(struct names_file *nf)
{
	size_t k;

	for (k = 0; nf->table && k <= nf->mask; k++)
		free(nf->table[k].name);
	free(nf->table);
	nf->table = NULL;
	nf->mask = 0;
}

static uint64_t hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/* NAME's slot: its own, or the free one where it would go. */
static struct name_id *slot(const struct names_file *nf, const char *name)
{
	size_t k = hash(name) & nf->mask;

	while (nf->table[k].name && strcmp(nf->table[k].name, name))
		k = (k + 1) & nf->mask;
	return &nf->table[k];
}

static errcode_t table_add(struct names_file *nf, size_t *used,
			   const char *name, uint32_t id)
{
	struct name_id *s;

	if ((*used + 1) * 2 > nf->mask + 1) {
		struct names_file bigger = *nf;
		size_t k;

		bigger.mask = nf->mask ? nf->mask * 2 + 1 : 63;
		bigger.table = calloc(bigger.mask + 1, sizeof(*bigger.table));
		if (!bigger.table)
			return ENOMEM;
		for (k = 0; nf->table && k <= nf->mask; k++)
			if (nf->table[k].name)
				*slot(&bigger, nf->table[k].name) = nf->table[k];
		free(nf->table);
		nf->table = bigger.table;
		nf->mask = bigger.mask;
	}
	s = slot(nf, name);
	if (s->name)
		return 0;	/* the first line with a name wins */
	s->name = strdup(name);
	if (!s->name)
		return ENOMEM;
	s->id = id;
	(*used)++;
	return 0;
}

/*
 * The names and ids of DATA, a passwd or group file, through libc's own
 * parser; lines it cannot parse are skipped, as getpwnam skips them.
 */
static errcode_t parse(struct names_file *nf, enum pcw_id_kind kind)
{
	size_t cap = 1024, used = 0;
	char *buf;
	FILE *f;
	errcode_t err = 0;

	free_table(nf);
	if (!nf->size)
		return 0;
	f = fmemopen(nf->data, nf->size, "r");
	buf = malloc(cap);
	if (!f || !buf) {
		err = ENOMEM;
		goto out;
	}
	for (;;) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int rc;

		if (kind == PCW_ID_USER)
			rc = fgetpwent_r(f, &pw, buf, cap, &pwp);
		else
			rc = fgetgrent_r(f, &gr, buf, cap, &grp);
		if (rc == ERANGE) {
			/* a long line: libc goes back to its start */
			char *b = cap < NAMES_MAX_BYTES ? realloc(buf, cap * 2)
							: NULL;

			if (!b) {
				err = ENOMEM;
				break;
			}
			buf = b;
			cap *= 2;
			continue;
		}
		if (rc)
			break;		/* ENOENT: the end */
		if (kind == PCW_ID_USER && pwp && pw.pw_uid != (uid_t)-1)
			err = table_add(nf, &used, pw.pw_name, pw.pw_uid);
		else if (kind == PCW_ID_GROUP && grp && gr.gr_gid != (gid_t)-1)
			err = table_add(nf, &used, gr.gr_name, gr.gr_gid);
		if (err)
			break;
	}
out:
	free(buf);
	if (f)
		fclose(f);
	return err;
}

/*
 * The inode the image's PATH leads to, its last symlink followed too
 * (a relative target from the link's directory, an absolute one from
 * the root); 0 when there is none.
 */
static errcode_t resolve(pcw_fs *pfs, const char *path, ext2_ino_t *ino,
			 struct ext2_inode_large *inode)
{
	ext2_ino_t start = EXT2_ROOT_INO;
	char *buf = NULL;
	unsigned follows = 0;
	errcode_t err;

	*ino = 0;
	for (;;) {
		struct pcw_dest d;
		char *target;

		err = pcw_walk(pfs, start, path, 0, &d);
		pcw_dest_free(&d);
		if (err == PCW_ET_NO_PARENT || err == PCW_ET_NOT_DIR ||
		    (!err && !d.ino)) {
			err = 0;	/* missing: no names */
			break;
		}
		if (err == PCW_ET_IS_DIR) {
			*ino = d.ino;	/* a directory: refused below */
			err = 0;
		} else if (err) {
			break;
		} else {
			*ino = d.ino;
		}
		memset(inode, 0, sizeof(*inode));
		err = ext2fs_read_inode_full(pfs->fs, *ino,
					     (struct ext2_inode *)inode,
					     sizeof(*inode));
		if (err || !LINUX_S_ISLNK(inode->i_mode))
			break;
		if (++follows > NAMES_MAX_FOLLOW) {
			err = PCW_ET_SYMLINK_LOOP;
			break;
		}
		err = pcw_read_link(pfs, *ino, inode, &target);
		if (err)
			break;
		start = target[0] == '/' ? EXT2_ROOT_INO : d.parent;
		free(buf);
		buf = target;
		path = buf;
		*ino = 0;
	}
	free(buf);
	return err;
}

/* A run of N blocks from PBLK into BUF, around the block cache. */
static errcode_t read_run(ext2_filsys fs, blk64_t pblk, size_t n, char *buf)
{
	return io_channel_read_blk64(fs->io, pblk, -(int)(n * fs->blocksize),
				     buf);
}

/* The contents of regular file INO: *data (owned, NUL-terminated), *size. */
static errcode_t read_file(pcw_fs *pfs, ext2_ino_t ino,
			   struct ext2_inode_large *inode, char **data,
			   size_t *size)
{
	ext2_filsys fs = pfs->fs;
	uint64_t isize = EXT2_I_SIZE(inode);
	blk64_t nblocks, lblk, run_start = 0, run_pblk = 0, run_len = 0;
	char *buf;
	errcode_t err = 0;

	*data = NULL;
	*size = 0;
	if (!LINUX_S_ISREG(inode->i_mode) || isize > NAMES_MAX_BYTES)
		return PCW_ET_NAMES_FILE;
	if (inode->i_flags & (EXT4_ENCRYPT_FL | EXT4_VERITY_FL))
		return PCW_ET_UNSUPP_INODE;
	nblocks = (isize + fs->blocksize - 1) / fs->blocksize;
	/* whole blocks, and a NUL after the data */
	buf = calloc(1, nblocks * fs->blocksize + 1);
	if (!buf)
		return ENOMEM;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		size_t sz = isize;

		err = ext2fs_inline_data_get(fs, ino, (struct ext2_inode *)inode,
					     buf, &sz);
		goto done;
	}
	/* Runs of contiguous blocks, one read each; holes stay zeroes. */
	for (lblk = 0; lblk <= nblocks && !err; lblk++) {
		blk64_t pblk = 0;
		int ret_flags = 0;

		if (lblk < nblocks) {
			err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)inode,
					   NULL, 0, lblk, &ret_flags, &pblk);
			if (err)
				break;
			if (ret_flags & BMAP_RET_UNINIT)
				pblk = 0;
			if (pblk >= ext2fs_blocks_count(fs->super)) {
				err = PCW_ET_CORRUPT;
				break;
			}
		}
		if (run_len && pblk == run_pblk + run_len &&
		    run_len < (1U << 20) / fs->blocksize) {
			run_len++;
			continue;
		}
		if (run_len)
			err = read_run(fs, run_pblk,
				       run_len, buf + run_start * fs->blocksize);
		run_len = pblk ? 1 : 0;
		run_start = lblk;
		run_pblk = pblk;
	}
done:
	if (err) {
		free(buf);
		return err;
	}
	buf[isize] = '\0';
	*data = buf;
	*size = isize;
	return 0;
}

/* Make NF what the image's file is now. */
static errcode_t refresh(pcw_fs *pfs, struct names_file *nf,
			 enum pcw_id_kind kind)
{
	struct ext2_inode_large inode;
	struct identity who;
	ext2_ino_t ino;
	char *data;
	size_t size;
	errcode_t err;

	err = resolve(pfs, nf->path, &ino, &inode);
	if (err)
		return err;
	if (ino)
		identity_of(ino, &inode, &who);
	else
		memset(&who, 0, sizeof(who));
	if (nf->loaded && !nf->stale && !memcmp(&who, &nf->who, sizeof(who)))
		return 0;
	data = NULL;
	size = 0;
	if (ino) {
		err = read_file(pfs, ino, &inode, &data, &size);
		if (err)
			return err;
	}
	nf->who = who;
	nf->stale = false;
	if (nf->loaded && size == nf->size &&
	    (!size || !memcmp(data, nf->data, size))) {
		free(data);	/* the same bytes: the same names */
		return 0;
	}
	free(nf->data);
	nf->data = data;
	nf->size = size;
	nf->loaded = false;
	err = parse(nf, kind);
	if (err) {
		free_table(nf);
		return err;
	}
	nf->loaded = true;
	return 0;
}

errcode_t pcw_id_lookup(pcw_fs *pfs, enum pcw_id_kind kind, const char *name,
			uint32_t *id)
{
	struct names_file *nf;
	struct name_id *s;
	errcode_t err;

	if (!pfs || pfs->magic != PCW_MAGIC_FS)
		return PCW_ET_MAGIC_FS;
	if (kind != PCW_ID_USER && kind != PCW_ID_GROUP)
		return EINVAL;
	if (!pfs->idnames) {
		pfs->idnames = calloc(1, sizeof(*pfs->idnames));
		if (!pfs->idnames)
			return ENOMEM;
		pfs->idnames->f[PCW_ID_USER].path = "/etc/passwd";
		pfs->idnames->f[PCW_ID_GROUP].path = "/etc/group";
	}
	nf = &pfs->idnames->f[kind];
	err = refresh(pfs, nf, kind);
	if (err)
		return err;
	if (!nf->table || !*name || !(s = slot(nf, name))->name)
		return kind == PCW_ID_USER ? PCW_ET_NO_SUCH_USER
					   : PCW_ET_NO_SUCH_GROUP;
	*id = s->id;
	return 0;
}

void pcw_idnames_note_write(pcw_fs *pfs, ext2_ino_t ino)
{
	int k;

	for (k = 0; pfs->idnames && k < 2; k++)
		if (pfs->idnames->f[k].who.ino == ino)
			pfs->idnames->f[k].stale = true;
}

void pcw_idnames_free(pcw_fs *pfs)
{
	int k;

	if (!pfs->idnames)
		return;
	for (k = 0; k < 2; k++) {
		free_table(&pfs->idnames->f[k]);
		free(pfs->idnames->f[k].data);
	}
	free(pfs->idnames);
	pfs->idnames = NULL;
}
