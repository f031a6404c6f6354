/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_archive.c: the source side of -x and -R.  Entries and their data
 * come from libarchive: archive_read for archives (every format and filter
 * it reads), and for host trees (src_tree.c) an fts walk with
 * archive_read_disk_entry_from_file for each file's attributes, extended
 * attributes and ACLs (acl.c); both become entries here.
 *
 * An entry's data is a struct pcw_iter, the same source type a single
 * file's write loop reads: for an archive entry its read() is
 * archive_read_data_block(), whose offsets give a sparse entry's holes;
 * for a host file it is the file descriptor.
 *
 * mtree manifests: libarchive reads a contents= file only with the
 * mtree:checkfs option, and then it replaces the manifest's size= with the
 * file's size (libarchive 3.6).  So a manifest is read twice from memory:
 * once without checkfs for the sizes it declares, once with checkfs for
 * the data, in the manifest's directory; the bytes read must match the
 * declared size.  Every file libarchive opens on the way is checked
 * against the run's own files (the image).
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"
#include "src.h"

#define SOURCE_READ_BUF		(1U << 20)
#define MTREE_MAX		(256U << 20)	/* a manifest held in memory */

static char *dup_or_null(const char *p)
{
	return p ? strdup(p) : NULL;
}

/* ---- the data of an archive entry ----------------------------------------------- */

/* A hole of the entry: zeroes the source does not hold. */
static void note_hole(struct pcw_source *s, uint64_t lo, uint64_t hi)
{
	unsigned k, n = 0;

	if (lo >= hi)
		return;
	if (s->nholes && s->holes[s->nholes - 1].hi == lo) {
		s->holes[s->nholes - 1].hi = hi;
		return;
	}
	/* Forget the holes the write loop has gone past. */
	for (k = 0; k < s->nholes; k++)
		if (s->holes[k].hi > s->iter.src_pos)
			s->holes[n++] = s->holes[k];
	s->nholes = n;
	if (s->nholes == NHOLES) {
		/* Too many small ones at once: the oldest is written as data. */
		memmove(s->holes, s->holes + 1, (NHOLES - 1) * sizeof(*s->holes));
		s->nholes--;
	}
	s->holes[s->nholes].lo = lo;
	s->holes[s->nholes].hi = hi;
	s->nholes++;
}

static bool archive_hole(struct pcw_iter *i, uint64_t pos, uint64_t len)
{
	struct pcw_source *s = i->priv;
	unsigned k;

	for (k = 0; k < s->nholes; k++)
		if (pos >= s->holes[k].lo && pos + len <= s->holes[k].hi)
			return true;
	return false;
}

/*
 * The entry's next data block from libarchive.  Its offset says where the
 * gap before it (a hole) ends; at the end of the entry, the gap runs to the
 * entry's size.
 */
static errcode_t next_block(struct pcw_source *s)
{
	const void *b;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(s->a, &b, &len, &off);

	if (r == ARCHIVE_EOF) {
		s->blk_eof = true;
		if (s->size >= 0 && (uint64_t)s->size > s->data_pos)
			note_hole(s, s->data_pos, s->size);
		return 0;
	}
	if (r == ARCHIVE_RETRY)
		return 0;
	if (r < ARCHIVE_WARN) {
		if (pcw_signal_pending())
			return EINTR;
		pcw_src_archive_msg(s, s->a);
		return PCW_ET_ARCHIVE;
	}
	if (off < 0 || (uint64_t)off < s->data_pos) {
		pcw_src_set_msg(s, "data blocks out of order", NULL, NULL);
		return PCW_ET_ARCHIVE;
	}
	s->blk = b;
	s->blk_len = len;
	s->blk_off = off;
	note_hole(s, s->data_pos, s->blk_off);
	return 0;
}

/*
 * read(): the bytes of the entry at data_pos on, from libarchive's blocks,
 * zeroes for the gaps between them (holes) and up to the entry's size.
 */
static errcode_t archive_read_iter(struct pcw_iter *i, unsigned char *buf,
				   size_t n, size_t *got)
{
	struct pcw_source *s = i->priv;
	errcode_t err;

	*got = 0;
	while (*got < n) {
		size_t k;

		if (!s->blk_len && !s->blk_eof) {
			err = next_block(s);
			if (err)
				return err;
			continue;
		}
		if (!s->blk_eof && s->data_pos < s->blk_off) {
			k = s->blk_off - s->data_pos;
			if (k > n - *got)
				k = n - *got;
			memset(buf + *got, 0, k);
		} else if (!s->blk_eof) {
			k = s->blk_len;
			if (k > n - *got)
				k = n - *got;
			memcpy(buf + *got, s->blk, k);
			s->blk += k;
			s->blk_len -= k;
			s->blk_off += k;
		} else if (s->size >= 0 && (uint64_t)s->size > s->data_pos) {
			uint64_t left = s->size - s->data_pos;

			k = left < n - *got ? left : n - *got;
			memset(buf + *got, 0, k);
		} else {
			break;
		}
		*got += k;
		s->data_pos += k;
	}
	if (!*got && s->blk_eof && s->declared >= 0 &&
	    (uint64_t)s->declared != s->data_pos) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "%lld", (long long)s->data_pos);
		snprintf(b, sizeof(b), "%lld", (long long)s->declared);
		pcw_src_set_msg(s, "%s bytes read, the manifest says size=%s", a, b);
		return PCW_ET_SIZE_MISMATCH;
	}
	return 0;
}

/*
 * seek_data(): from the sparse map as libarchive's block offsets give it
 * (GNU and pax sparse members): at the end of what was read, the next
 * block's offset is where the hole before it ends.  No hole is zero-filled
 * to find its end.
 */
static errcode_t entry_seek_data(struct pcw_iter *i, uint64_t pos,
				   uint64_t *data)
{
	struct pcw_source *s = i->priv;
	errcode_t err;
	unsigned k;

	*data = pos;
	while (pos == s->data_pos && !s->blk_len && !s->blk_eof) {
		err = next_block(s);
		if (err)
			return err;
	}
	for (k = 0; k < s->nholes; k++)
		if (pos >= s->holes[k].lo && pos < s->holes[k].hi)
			*data = s->holes[k].hi;
	return 0;
}

/* skip(): on at TO, inside the gap read() would have zero-filled. */
static errcode_t entry_skip(struct pcw_iter *i, uint64_t to)
{
	struct pcw_source *s = i->priv;
	uint64_t end = !s->blk_eof ? s->blk_off
		       : s->size >= 0 ? (uint64_t)s->size : s->data_pos;

	if (to < s->data_pos || to > end)
		return PCW_ET_ARCHIVE;	/* not a hole of this entry: a bug */
	s->data_pos = to;
	return 0;
}

static const struct pcw_iter_ops archive_iter_ops = {
	.read		= archive_read_iter,
	.hole		= archive_hole,
	.seek_data	= entry_seek_data,
	.skip		= entry_skip,
};

/* ---- reading the archive ---------------------------------------------------------- */

static la_ssize_t read_cb(struct archive *a, void *arg, const void **buf)
{
	struct pcw_source *s = arg;

	for (;;) {
		ssize_t n;

		if (s->may_wait) {
			struct pollfd pfd[2] = {
				{ .fd = s->fd, .events = POLLIN },
				{ .fd = s->wake_fd, .events = POLLIN },
			};

			if (s->p.idle && poll(pfd, 1, 0) == 0)
				s->p.idle(s->p.idle_arg);
			/*
			 * In the reader thread (src_ahead.c), which takes no
			 * signal: wait for input or for the writer's word to
			 * stop, never in a read() nothing would interrupt.
			 */
			if (s->wake_fd >= 0 && poll(pfd, 2, -1) > 0 &&
			    pfd[1].revents) {
				archive_set_error(a, EINTR, "interrupted");
				return -1;
			}
		}
		n = read(s->fd, s->rbuf, SOURCE_READ_BUF);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (pcw_signal_pending()) {
				archive_set_error(a, EINTR, "interrupted");
				return -1;
			}
			continue;
		}
		if (n < 0) {
			archive_set_error(a, errno, "read error");
			return -1;
		}
		if (s->recording && n > 0) {
			if (s->rec_len + n > s->rec_cap) {
				size_t cap = s->rec_cap ? s->rec_cap * 2 : 1 << 20;
				unsigned char *r;

				while (cap < s->rec_len + n)
					cap *= 2;
				if (cap > MTREE_MAX) {
					/* Not a manifest to read twice: stop keeping it. */
					s->recording = false;
					free(s->rec);
					s->rec = NULL;
					s->rec_len = s->rec_cap = 0;
					goto out;
				}
				r = realloc(s->rec, cap);
				if (!r) {
					archive_set_error(a, ENOMEM, "out of memory");
					return -1;
				}
				s->rec = r;
				s->rec_cap = cap;
			}
			memcpy(s->rec + s->rec_len, s->rbuf, n);
			s->rec_len += n;
		}
out:
		*buf = s->rbuf;
		return n;
	}
}

/* An archive in a regular file can be sought in: zip's central directory. */
static la_int64_t seek_cb(struct archive *a, void *arg, la_int64_t offset,
			  int whence)
{
	struct pcw_source *s = arg;
	off_t r = lseek(s->fd, offset, whence);

	if (r < 0) {
		archive_set_error(a, errno, "seek error");
		return ARCHIVE_FATAL;
	}
	/* What was kept is no longer the input in order. */
	s->recording = false;
	free(s->rec);
	s->rec = NULL;
	s->rec_len = s->rec_cap = 0;
	return r;
}

static la_int64_t skip_cb(struct archive *a, void *arg, la_int64_t request)
{
	struct pcw_source *s = arg;

	if (s->recording)
		return 0;	/* read through it, so it is kept */
	if (lseek(s->fd, request, SEEK_CUR) < 0)
		return 0;
	return request;
}

static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	return a;
}

static uint64_t str_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static errcode_t decl_add(struct pcw_source *s, const char *path, int64_t size)
{
	size_t k;

	if ((s->ndecl + 1) * 2 > s->decl_mask) {
		size_t mask = s->decl_mask ? s->decl_mask * 2 + 1 : 255, i;
		struct declared *n = calloc(mask + 1, sizeof(*n));

		if (!n)
			return ENOMEM;
		for (i = 0; s->decl && i <= s->decl_mask; i++) {
			if (!s->decl[i].path)
				continue;
			for (k = str_hash(s->decl[i].path) & mask; n[k].path;
			     k = (k + 1) & mask)
				;
			n[k] = s->decl[i];
		}
		free(s->decl);
		s->decl = n;
		s->decl_mask = mask;
	}
	for (k = str_hash(path) & s->decl_mask; s->decl[k].path;
	     k = (k + 1) & s->decl_mask)
		if (!strcmp(s->decl[k].path, path)) {
			s->decl[k].size = size;
			return 0;
		}
	s->decl[k].path = strdup(path);
	if (!s->decl[k].path)
		return ENOMEM;
	s->decl[k].size = size;
	s->ndecl++;
	return 0;
}

static int64_t decl_get(const struct pcw_source *s, const char *path)
{
	size_t k;

	if (!s->decl)
		return -1;
	for (k = str_hash(path) & s->decl_mask; s->decl[k].path;
	     k = (k + 1) & s->decl_mask)
		if (!strcmp(s->decl[k].path, path))
			return s->decl[k].size;
	return -1;
}

/*
 * An mtree manifest, all of it in s->rec.  Pass one: the sizes it
 * declares.  Then the reader for pass two, with checkfs, in the
 * manifest's directory.
 */
static errcode_t start_mtree(struct pcw_source *s)
{
	struct archive_entry *ae;
	struct archive *a;
	int r;
	errcode_t err;

	/* The rest of the input: a manifest is read whole. */
	for (;;) {
		const void *b;
		la_ssize_t n = read_cb(s->a, s, &b);

		if (n < 0) {
			pcw_src_archive_msg(s, s->a);
			return PCW_ET_ARCHIVE;
		}
		if (n == 0)
			break;
		if (!s->recording) {
			pcw_src_set_msg(s, "mtree manifest larger than 256 MiB", NULL,
				NULL);
			return PCW_ET_ARCHIVE;
		}
	}
	s->recording = false;
	archive_read_free(s->a);
	s->a = NULL;

	a = new_reader();
	if (!a)
		return ENOMEM;
	if (archive_read_open_memory(a, s->rec, s->rec_len) != ARCHIVE_OK) {
		pcw_src_archive_msg(s, a);
		archive_read_free(a);
		return PCW_ET_ARCHIVE;
	}
	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			pcw_src_archive_msg(s, a);
			archive_read_free(a);
			return PCW_ET_ARCHIVE;
		}
		/*
		 * libarchive cannot tell size=0 from no size= at all: only a
		 * declared size above 0 is checked.
		 */
		if (archive_entry_filetype(ae) == AE_IFREG &&
		    archive_entry_size(ae) > 0 && archive_entry_pathname(ae)) {
			err = decl_add(s, archive_entry_pathname(ae),
				       archive_entry_size(ae));
			if (err) {
				archive_read_free(a);
				return err;
			}
		}
	}
	archive_read_free(a);

	s->a = new_reader();
	if (!s->a)
		return ENOMEM;
	if (archive_read_set_format_option(s->a, "mtree", "checkfs", "1") <
	    ARCHIVE_OK ||
	    archive_read_open_memory(s->a, s->rec, s->rec_len) != ARCHIVE_OK) {
		pcw_src_archive_msg(s, s->a);
		return PCW_ET_ARCHIVE;
	}
	if (s->mtree_dir) {
		s->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->cwd_fd < 0 || chdir(s->mtree_dir) < 0) {
			pcw_src_set_msg(s, "cannot change to %s: %s", s->mtree_dir,
				strerror(errno));
			return errno ? errno : EIO;
		}
	}
	s->mtree = true;
	return 0;
}

/* The descriptors open now, to find the ones libarchive opens next. */
static void snapshot_fds(struct pcw_source *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	s->nfds = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (s->nfds == s->fds_cap) {
			size_t cap = s->fds_cap ? s->fds_cap * 2 : 64;
			int *f = realloc(s->fds, cap * sizeof(*f));

			if (!f)
				break;
			s->fds = f;
			s->fds_cap = cap;
		}
		s->fds[s->nfds++] = fd;
	}
	closedir(d);
}

/* A descriptor libarchive opened for the entry's data is one of ours? */
static bool opened_forbidden(struct pcw_source *s)
{
	DIR *d;
	struct dirent *de;
	bool bad = false;

	if (!s->p.skip || !s->nfds)
		return false;
	d = opendir("/proc/self/fd");
	if (!d)
		return false;
	while (!bad && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		struct stat st;
		size_t k;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    fd == dirfd(d))
			continue;
		for (k = 0; k < s->nfds && s->fds[k] != fd; k++)
			;
		if (k < s->nfds)
			continue;
		if (fstat(fd, &st) == 0 && s->p.skip(s->p.skip_arg, &st))
			bad = true;
	}
	closedir(d);
	return bad;
}

errcode_t pcw_source_open_archive(int fd, const char *name,
				  const char *mtree_dir,
				  const struct pcw_source_params *p,
				  struct pcw_source **ret)
{
	struct pcw_source *s = pcw_src_new(p, fd, name);
	struct stat st;
	errcode_t err = ENOMEM;

	if (!s)
		return ENOMEM;
	if (fstat(fd, &st) == 0)
		s->may_wait = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
			      S_ISCHR(st.st_mode);
	s->mtree_dir = dup_or_null(mtree_dir);
	s->rbuf = malloc(SOURCE_READ_BUF);
	s->a = new_reader();
	if (!s->name || (mtree_dir && !s->mtree_dir) || !s->rbuf || !s->a)
		goto fail;
	err = pcw_iter_init(&s->iter, &archive_iter_ops, s,
			    p->page_size ? p->page_size : 4096);
	if (err)
		goto fail;
	s->recording = true;
	archive_read_set_callback_data(s->a, s);
	archive_read_set_read_callback(s->a, read_cb);
	if (lseek(fd, 0, SEEK_CUR) >= 0) {
		archive_read_set_seek_callback(s->a, seek_cb);
		archive_read_set_skip_callback(s->a, skip_cb);
	}
	if (archive_read_open1(s->a) != ARCHIVE_OK) {
		pcw_src_archive_msg(s, s->a);
		err = PCW_ET_ARCHIVE;
		*ret = s;	/* for the message; the caller closes it */
		return err;
	}
	*ret = s;
	return 0;
fail:
	pcw_src_close(s);
	return err;
}

/* ---- entries ------------------------------------------------------------------------- */

static errcode_t add_xattr(struct pcw_source *s, const char *name,
			   const void *value, size_t size)
{
	if (s->nxattrs == s->xcap) {
		size_t cap = s->xcap ? s->xcap * 2 : 8;
		struct pcw_xattr *x = realloc(s->xattrs, cap * sizeof(*x));

		if (!x)
			return ENOMEM;
		s->xattrs = x;
		s->xcap = cap;
	}
	s->xattrs[s->nxattrs].name = name;
	s->xattrs[s->nxattrs].value = value;
	s->xattrs[s->nxattrs].size = size;
	s->nxattrs++;
	return 0;
}

/* The ACL of TYPE as the entry's attribute, kept in S's SLOT. */
static errcode_t add_acl(struct pcw_source *s, struct archive_entry *ae,
			 int type, int slot, unsigned *perm)
{
	unsigned char *out;
	size_t len;
	errcode_t err = pcw_acl_encode(ae, type, perm, &out, &len);

	if (err || !out)
		return err;
	free(s->acl[slot]);
	s->acl[slot] = out;
	return add_xattr(s, type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS ?
			 "system.posix_acl_access" : "system.posix_acl_default",
			 out, len);
}

/* ENTRY from libarchive's AE. */
errcode_t pcw_src_from_entry(struct pcw_source *s,
				    struct archive_entry *ae)
{
	struct pcw_entry *e = &s->entry;
	const char *path = archive_entry_pathname(ae);
	const char *hard = archive_entry_hardlink(ae);
	int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	errcode_t err;

	if (!path)
		path = archive_entry_pathname_utf8(ae);
	if (!hard)
		hard = archive_entry_hardlink_utf8(ae);
	/*
	 * mtree has no hard links: libarchive makes one of every entry whose
	 * contents= file is an inode seen before, whatever the entry declares.
	 * Below, only an entry that declares what the first one did is linked.
	 */
	if (s->mtree)
		hard = NULL;
	free(s->path);
	free(s->link);
	s->link = NULL;
	s->path = dup_or_null(path);
	if (!s->path)
		return path ? ENOMEM : PCW_ET_BAD_ENTRY;
	memset(e, 0, sizeof(*e));
	e->path = s->path;
	if (hard) {
		e->type = PCW_FT_HARDLINK;
		s->link = strdup(hard);
	} else {
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG:	e->type = PCW_FT_FILE; break;
		case AE_IFDIR:	e->type = PCW_FT_DIR; break;
		case AE_IFCHR:	e->type = PCW_FT_CHR; break;
		case AE_IFBLK:	e->type = PCW_FT_BLK; break;
		case AE_IFIFO:	e->type = PCW_FT_FIFO; break;
		case AE_IFSOCK:	e->type = PCW_FT_SOCK; break;
		case AE_IFLNK: {
			const char *t = archive_entry_symlink(ae);

			if (!t)
				t = archive_entry_symlink_utf8(ae);
			if (!t || !*t)
				return PCW_ET_BAD_ENTRY;
			e->type = PCW_FT_SYMLINK;
			s->link = strdup(t);
			break;
		}
		default:
			return PCW_ET_BAD_ENTRY;
		}
	}
	if ((e->type == PCW_FT_HARDLINK || e->type == PCW_FT_SYMLINK) &&
	    !s->link)
		return ENOMEM;
	e->link = s->link;
	if (uid < 0 || uid > 0xfffffffeLL || gid < 0 || gid > 0xfffffffeLL)
		return PCW_ET_ID_RANGE;
	e->uid = uid;
	e->gid = gid;
	e->uname = archive_entry_uname(ae);
	if (!e->uname)
		e->uname = archive_entry_uname_utf8(ae);
	e->gname = archive_entry_gname(ae);
	if (!e->gname)
		e->gname = archive_entry_gname_utf8(ae);
	e->perm = archive_entry_perm(ae) & 07777;
	if (archive_entry_mtime_is_set(ae)) {
		e->has_mtime = true;
		e->mtime = archive_entry_mtime(ae);
		e->mtime_nsec = archive_entry_mtime_nsec(ae);
	}
	if (archive_entry_atime_is_set(ae)) {
		e->has_atime = true;
		e->atime = archive_entry_atime(ae);
		e->atime_nsec = archive_entry_atime_nsec(ae);
	}
	/* A pax SCHILY.devmajor can exceed 32 bits: never wrap to a small one. */
	e->rdev_major = archive_entry_rdevmajor(ae) > UINT32_MAX ? UINT32_MAX :
			archive_entry_rdevmajor(ae);
	e->rdev_minor = archive_entry_rdevminor(ae) > UINT32_MAX ? UINT32_MAX :
			archive_entry_rdevminor(ae);
	e->size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;

	s->nxattrs = 0;
	if (!(s->p.flags & PCW_SOURCE_NO_XATTRS)) {
		const char *name;
		const void *value;
		size_t size;

		archive_entry_xattr_reset(ae);
		while (archive_entry_xattr_next(ae, &name, &value, &size) ==
		       ARCHIVE_OK) {
			/* The ACLs come from libarchive's ACL, below. */
			if (!strcmp(name, "system.posix_acl_access") ||
			    !strcmp(name, "system.posix_acl_default"))
				continue;
			err = add_xattr(s, name, value, size);
			if (err)
				return err;
		}
		if (archive_entry_acl_types(ae) & ARCHIVE_ENTRY_ACL_TYPE_NFS4)
			return PCW_ET_BAD_ACL;
		err = add_acl(s, ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 0,
			      &e->perm);
		if (!err)
			err = add_acl(s, ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 1,
				      &e->perm);
		if (err)
			return err;
	}
	e->xattrs = s->xattrs;
	e->nxattrs = s->nxattrs;
	if (s->mtree && e->type == PCW_FT_FILE && archive_entry_ino_is_set(ae) &&
	    archive_entry_nlink(ae) > 1) {
		struct stat st = { .st_dev = archive_entry_dev(ae),
				   .st_ino = archive_entry_ino64(ae) };
		const char *first = pcw_src_link_seen(s, &st, s->path, e, &err);

		if (err)
			return err;
		if (first) {
			s->link = strdup(first);
			if (!s->link)
				return ENOMEM;
			e->type = PCW_FT_HARDLINK;
			e->link = s->link;
		}
	}
	return 0;
}

static void start_data(struct pcw_source *s, int64_t size, int64_t declared)
{
	pcw_iter_reset(&s->iter);
	s->data_pos = 0;
	s->size = size;
	s->declared = declared;
	s->blk = NULL;
	s->blk_len = 0;
	s->blk_off = 0;
	s->blk_eof = false;
	s->nholes = 0;
}

errcode_t pcw_src_archive_next(struct pcw_source *s,
			      const struct pcw_entry **entry,
			      struct pcw_iter **data)
{
	struct archive_entry *ae;
	errcode_t err;
	int r;

	for (;;) {
		if (s->mtree)
			snapshot_fds(s);
		r = archive_read_next_header(s->a, &ae);
		if (r == ARCHIVE_RETRY)
			continue;
		if (r == ARCHIVE_EOF)
			return PCW_ET_END;
		if (r < ARCHIVE_WARN) {
			if (pcw_signal_pending())
				return EINTR;
			pcw_src_archive_msg(s, s->a);
			return PCW_ET_ARCHIVE;
		}
		if (!s->started) {
			s->started = true;
			if ((archive_format(s->a) & ARCHIVE_FORMAT_BASE_MASK) ==
			    ARCHIVE_FORMAT_MTREE) {
				err = start_mtree(s);
				if (err)
					return err;
				continue;	/* again, from pass two */
			}
			s->recording = false;
			free(s->rec);
			s->rec = NULL;
		}
		/* --exclude: before anything is made of the entry, as tar. */
		if (s->p.names && pcw_names_excluded(s->p.names,
				archive_entry_pathname(ae) ?
				archive_entry_pathname(ae) :
				archive_entry_pathname_utf8(ae)))
			continue;
		break;
	}
	err = pcw_src_from_entry(s, ae);
	if (err)
		return err;
	/* A tar's fractional times are pax records: see pcw_pax_time. */
	if ((archive_format(s->a) & ARCHIVE_FORMAT_BASE_MASK) ==
	    ARCHIVE_FORMAT_TAR) {
		pcw_pax_time(&s->entry.mtime, &s->entry.mtime_nsec);
		pcw_pax_time(&s->entry.atime, &s->entry.atime_nsec);
	}
	if (r == ARCHIVE_WARN) {
		/* mtree: a contents= file that cannot be read is an error. */
		if (s->mtree) {
			pcw_src_archive_msg(s, s->a);
			return PCW_ET_ARCHIVE;
		}
		if (s->p.warn)
			s->p.warn(s->p.warn_arg, s->path,
				  archive_error_string(s->a));
	}
	if (s->mtree && opened_forbidden(s))
		return PCW_ET_IS_IMAGE;
	*entry = &s->entry;
	*data = NULL;
	if (s->entry.type == PCW_FT_FILE ||
	    (s->entry.type == PCW_FT_HARDLINK && s->entry.size > 0)) {
		start_data(s, s->entry.size,
			   s->mtree ? decl_get(s, archive_entry_pathname(ae)) : -1);
		*data = &s->iter;
	}
	return 0;
}
