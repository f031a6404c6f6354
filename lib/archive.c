/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * archive.c: the source side of -x and -R.  Entries and their data come
 * from libarchive: archive_read for archives (every format and filter it
 * reads), and for host trees an fts walk (sorted, so the same tree gives
 * the same image) with archive_read_disk_entry_from_file for each file's
 * attributes, extended attributes and ACLs.
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
#include <fts.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "internal.h"
#include "iter.h"
#include "names.h"

#define PCW_MAGIC_SOURCE	0x70637773	/* "pcws" */
#define SOURCE_READ_BUF		(1U << 20)
#define MTREE_MAX		(256U << 20)	/* a manifest held in memory */
#define NHOLES			64

/* POSIX ACLs in the kernel's xattr format (include/uapi/linux/posix_acl_xattr.h). */
#define ACL_XATTR_VERSION	2
#define ACL_TAG_USER_OBJ	0x01
#define ACL_TAG_USER		0x02
#define ACL_TAG_GROUP_OBJ	0x04
#define ACL_TAG_GROUP		0x08
#define ACL_TAG_MASK		0x10
#define ACL_TAG_OTHER		0x20
#define ACL_NO_ID		0xffffffffU

struct hole {
	uint64_t	lo, hi;
};

/* mtree: the size each path declares (pass one). */
struct declared {
	char		*path;
	int64_t		size;
};

/*
 * -R, and mtree contents= files: the first path of every inode with more
 * than one link, and (mtree) the attributes its entry declared.
 */
struct linkname {
	dev_t		dev;
	ino_t		ino;
	char		*path;
	uint32_t	perm, uid, gid;
	int64_t		mtime;
	long		mtime_nsec;
};

struct pcw_source {
	int		magic;
	struct pcw_source_params p;
	char		*name;
	struct pcw_entry entry;
	struct pcw_iter	iter;
	char		*msg;
	char		*path;		/* the current entry's */
	char		*link;
	char		*tname;		/* -R: its name as tar -c names it */
	char		*xpath, *xlink;	/* as the names options make them */
	struct pcw_xattr *xattrs;
	size_t		nxattrs, xcap;
	unsigned char	*acl[2];

	/* archives */
	struct archive	*a;
	int		fd;
	bool		may_wait;	/* fd is a pipe, socket or terminal */
	unsigned char	*rbuf;
	bool		recording;
	unsigned char	*rec;
	size_t		rec_len, rec_cap;
	bool		started;
	bool		mtree;
	char		*mtree_dir;
	int		cwd_fd;
	struct declared	*decl;
	size_t		decl_mask, ndecl;
	int		*fds;		/* open before a header was read */
	size_t		nfds, fds_cap;

	/* the current entry's data */
	uint64_t	data_pos;
	int64_t		size;		/* -1: not known */
	int64_t		declared;	/* mtree size=, -1: none */
	const unsigned char *blk;
	size_t		blk_len;
	uint64_t	blk_off;
	bool		blk_eof;
	struct hole	holes[NHOLES];
	unsigned	nholes;

	/* host trees */
	FTS		*fts;
	struct archive	*disk;
	struct archive	*disk_plain;	/* for files without xattrs: no probes */
	struct archive_entry *ae;
	size_t		root_len;
	int		data_fd;
	struct linkname	*links;
	size_t		links_mask, nlinks;
};

const char *pcw_ftype_name(enum pcw_ftype type)
{
	static const char *const names[] = {
		[PCW_FT_FILE] = "file", [PCW_FT_DIR] = "dir",
		[PCW_FT_SYMLINK] = "symlink", [PCW_FT_HARDLINK] = "hardlink",
		[PCW_FT_CHR] = "chr", [PCW_FT_BLK] = "blk",
		[PCW_FT_FIFO] = "fifo", [PCW_FT_SOCK] = "sock",
	};

	return (unsigned)type < sizeof(names) / sizeof(names[0]) ?
	       names[type] : "unknown";
}

static void set_msg(struct pcw_source *s, const char *fmt, const char *a,
		    const char *b)
{
	size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 1;
	char *m = malloc(n);

	if (!m)
		return;
	snprintf(m, n, fmt, a ? a : "", b ? b : "");
	free(s->msg);
	s->msg = m;
}

static void archive_msg(struct pcw_source *s, struct archive *a)
{
	const char *e = archive_error_string(a);

	set_msg(s, "%s", e ? e : "unknown archive error", NULL);
}

const char *pcw_source_message(const struct pcw_source *s)
{
	return s ? s->msg : NULL;
}

const char *pcw_source_path(const struct pcw_source *s)
{
	return s ? s->path : NULL;
}

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
 * read(): the bytes of the entry at data_pos on, from libarchive's blocks,
 * zeroes for the gaps between them (holes) and up to the entry's size.
 */
static errcode_t archive_read_iter(struct pcw_iter *i, unsigned char *buf,
				   size_t n, size_t *got)
{
	struct pcw_source *s = i->priv;

	*got = 0;
	while (*got < n) {
		size_t k;

		if (!s->blk_len && !s->blk_eof) {
			const void *b;
			size_t len;
			la_int64_t off;
			int r = archive_read_data_block(s->a, &b, &len, &off);

			if (r == ARCHIVE_EOF) {
				s->blk_eof = true;
				if (s->size >= 0 && (uint64_t)s->size > s->data_pos)
					note_hole(s, s->data_pos, s->size);
				continue;
			}
			if (r == ARCHIVE_RETRY)
				continue;
			if (r < ARCHIVE_WARN) {
				if (pcw_signal_pending())
					return EINTR;
				archive_msg(s, s->a);
				return PCW_ET_ARCHIVE;
			}
			if (off < 0 || (uint64_t)off < s->data_pos) {
				set_msg(s, "data blocks out of order", NULL, NULL);
				return PCW_ET_ARCHIVE;
			}
			s->blk = b;
			s->blk_len = len;
			s->blk_off = off;
			note_hole(s, s->data_pos, s->blk_off);
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
		set_msg(s, "%s bytes read, the manifest says size=%s", a, b);
		return PCW_ET_SIZE_MISMATCH;
	}
	return 0;
}

static const struct pcw_iter_ops archive_iter_ops = {
	.read	= archive_read_iter,
	.hole	= archive_hole,
};

/* ---- reading the archive ---------------------------------------------------------- */

static la_ssize_t read_cb(struct archive *a, void *arg, const void **buf)
{
	struct pcw_source *s = arg;

	for (;;) {
		ssize_t n;

		if (s->may_wait && s->p.idle) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

			if (poll(&pfd, 1, 0) == 0)
				s->p.idle(s->p.idle_arg);
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
			archive_msg(s, s->a);
			return PCW_ET_ARCHIVE;
		}
		if (n == 0)
			break;
		if (!s->recording) {
			set_msg(s, "mtree manifest larger than 256 MiB", NULL,
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
		archive_msg(s, a);
		archive_read_free(a);
		return PCW_ET_ARCHIVE;
	}
	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			archive_msg(s, a);
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
		archive_msg(s, s->a);
		return PCW_ET_ARCHIVE;
	}
	if (s->mtree_dir) {
		s->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->cwd_fd < 0 || chdir(s->mtree_dir) < 0) {
			set_msg(s, "cannot change to %s: %s", s->mtree_dir,
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

/* A source of either kind, its name copied (NULL name: out of memory, below). */
static struct pcw_source *source_new(const struct pcw_source_params *p,
				     int fd, const char *name)
{
	struct pcw_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->magic = PCW_MAGIC_SOURCE;
	s->p = *p;
	s->fd = fd;
	s->cwd_fd = -1;
	s->data_fd = -1;
	s->name = strdup(name);
	return s;
}

errcode_t pcw_source_open_archive(int fd, const char *name,
				  const char *mtree_dir,
				  const struct pcw_source_params *p,
				  struct pcw_source **ret)
{
	struct pcw_source *s = source_new(p, fd, name);
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
		archive_msg(s, s->a);
		err = PCW_ET_ARCHIVE;
		*ret = s;	/* for the message; the caller closes it */
		return err;
	}
	*ret = s;
	return 0;
fail:
	pcw_source_close(s);
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

struct acl_ent {
	uint16_t	tag, perm;
	uint32_t	id;
};

static int acl_cmp(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * libarchive's POSIX.1e ACL of TYPE as a system.posix_acl_* value (the
 * kernel's xattr format, which ext2fs_xattr_set stores as ext4's): the
 * entries sorted as posix_acl_valid() wants them.  An access ACL of the
 * three mode entries alone is no ACL.
 */
static errcode_t encode_acl(struct pcw_source *s, struct archive_entry *ae,
			    int type, int slot, unsigned *perm)
{
	int n = archive_entry_acl_reset(ae, type), atype, aperm, tag, qual;
	const char *aname;
	struct acl_ent *ents;
	unsigned char *out;
	int k = 0, named = 0, mask = -1, have = 0;
	errcode_t err;

	if (n <= 0)
		return 0;
	ents = calloc(n, sizeof(*ents));
	if (!ents)
		return ENOMEM;
	while (k < n && archive_entry_acl_next(ae, type, &atype, &aperm, &tag,
					       &qual, &aname) == ARCHIVE_OK) {
		struct acl_ent *e = &ents[k];

		e->perm = ((aperm & ARCHIVE_ENTRY_ACL_READ) ? 4 : 0) |
			  ((aperm & ARCHIVE_ENTRY_ACL_WRITE) ? 2 : 0) |
			  ((aperm & ARCHIVE_ENTRY_ACL_EXECUTE) ? 1 : 0);
		e->id = ACL_NO_ID;
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ:
			e->tag = ACL_TAG_USER_OBJ;
			have |= 1;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
			e->tag = ACL_TAG_GROUP_OBJ;
			have |= 2;
			break;
		case ARCHIVE_ENTRY_ACL_OTHER:
			e->tag = ACL_TAG_OTHER;
			have |= 4;
			break;
		case ARCHIVE_ENTRY_ACL_MASK:
			e->tag = ACL_TAG_MASK;
			mask = e->perm;
			break;
		case ARCHIVE_ENTRY_ACL_USER:
			e->tag = ACL_TAG_USER;
			e->id = (uint32_t)qual;
			named++;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP:
			e->tag = ACL_TAG_GROUP;
			e->id = (uint32_t)qual;
			named++;
			break;
		default:
			free(ents);
			return PCW_ET_BAD_ACL;
		}
		k++;
	}
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !named && mask < 0) {
		free(ents);
		return 0;	/* the mode says it all */
	}
	if (have != 7 || (named && mask < 0)) {
		free(ents);
		return PCW_ET_BAD_ACL;
	}
	qsort(ents, k, sizeof(*ents), acl_cmp);
	out = malloc(4 + 8 * k);
	if (!out) {
		free(ents);
		return ENOMEM;
	}
	*(uint32_t *)out = ext2fs_cpu_to_le32(ACL_XATTR_VERSION);
	for (n = 0; n < k; n++) {
		unsigned char *p = out + 4 + 8 * n;

		*(uint16_t *)p = ext2fs_cpu_to_le16(ents[n].tag);
		*(uint16_t *)(p + 2) = ext2fs_cpu_to_le16(ents[n].perm);
		*(uint32_t *)(p + 4) = ext2fs_cpu_to_le32(ents[n].id);
	}
	free(ents);
	free(s->acl[slot]);
	s->acl[slot] = out;
	/* With a mask, the mode's group bits are the mask (POSIX.1e). */
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && mask >= 0)
		*perm = (*perm & ~070U) | ((unsigned)mask << 3);
	err = add_xattr(s, type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS ?
			"system.posix_acl_access" : "system.posix_acl_default",
			out, 4 + 8 * k);
	return err;
}

static const char *link_seen(struct pcw_source *s, const struct stat *st,
			     const char *path, const struct pcw_entry *attrs,
			     errcode_t *err);

/* ENTRY from libarchive's AE. */
static errcode_t from_archive_entry(struct pcw_source *s,
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
	e->rdev_major = archive_entry_rdevmajor(ae);
	e->rdev_minor = archive_entry_rdevminor(ae);
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
		err = encode_acl(s, ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 0,
				 &e->perm);
		if (!err)
			err = encode_acl(s, ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 1,
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
		const char *first = link_seen(s, &st, s->path, e, &err);

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

static errcode_t archive_next(struct pcw_source *s,
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
			archive_msg(s, s->a);
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
	err = from_archive_entry(s, ae);
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
			archive_msg(s, s->a);
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

/* ---- host trees ------------------------------------------------------------------------ */

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

errcode_t pcw_source_open_tree(const char *dir,
			       const struct pcw_source_params *p,
			       struct pcw_source **ret)
{
	struct pcw_source *s = source_new(p, -1, dir);
	char *paths[2];
	int flags = ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE;
	errcode_t err = ENOMEM;

	if (!s)
		return ENOMEM;
	s->disk = archive_read_disk_new();
	s->disk_plain = archive_read_disk_new();
	s->ae = archive_entry_new();
	if (!s->name || !s->disk || !s->disk_plain || !s->ae)
		goto fail;
	if (p->flags & PCW_SOURCE_NO_XATTRS)
		flags |= ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL;
	archive_read_disk_set_behavior(s->disk, flags);
	archive_read_disk_set_behavior(s->disk_plain, flags |
		ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL);
	err = pcw_iter_init(&s->iter, &pcw_iter_fd_ops, NULL,
			    p->page_size ? p->page_size : 4096);
	if (err)
		goto fail;
	paths[0] = s->name;
	paths[1] = NULL;
	s->fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, by_name);
	if (!s->fts) {
		err = errno;
		goto fail;
	}
	s->root_len = strlen(dir);
	while (s->root_len > 1 && dir[s->root_len - 1] == '/')
		s->root_len--;
	*ret = s;
	return 0;
fail:
	pcw_source_close(s);
	return err;
}

static bool same_attrs(const struct linkname *l, const struct pcw_entry *e)
{
	return l->perm == e->perm && l->uid == e->uid && l->gid == e->gid &&
	       l->mtime == (e->has_mtime ? e->mtime : -1) &&
	       l->mtime_nsec == e->mtime_nsec;
}

/*
 * The first path seen of a file with more links: NULL, or that path.  With
 * ATTRS (mtree), the first entry's attributes are kept, and a later entry
 * links to it only when it declares the same ones.
 */
static const char *link_seen(struct pcw_source *s, const struct stat *st,
			     const char *path, const struct pcw_entry *attrs,
			     errcode_t *err)
{
	size_t k;

	*err = 0;
	if ((s->nlinks + 1) * 2 > s->links_mask) {
		size_t mask = s->links_mask ? s->links_mask * 2 + 1 : 255, i;
		struct linkname *n = calloc(mask + 1, sizeof(*n));

		if (!n) {
			*err = ENOMEM;
			return NULL;
		}
		for (i = 0; s->links && i <= s->links_mask; i++) {
			if (!s->links[i].path)
				continue;
			for (k = (s->links[i].ino * 2654435761U) & mask;
			     n[k].path; k = (k + 1) & mask)
				;
			n[k] = s->links[i];
		}
		free(s->links);
		s->links = n;
		s->links_mask = mask;
	}
	for (k = (st->st_ino * 2654435761U) & s->links_mask; s->links[k].path;
	     k = (k + 1) & s->links_mask)
		if (s->links[k].ino == st->st_ino && s->links[k].dev == st->st_dev)
			return !attrs || same_attrs(&s->links[k], attrs) ?
				s->links[k].path : NULL;
	s->links[k].dev = st->st_dev;
	s->links[k].ino = st->st_ino;
	if (attrs) {
		s->links[k].perm = attrs->perm;
		s->links[k].uid = attrs->uid;
		s->links[k].gid = attrs->gid;
		s->links[k].mtime = attrs->has_mtime ? attrs->mtime : -1;
		s->links[k].mtime_nsec = attrs->mtime_nsec;
	}
	s->links[k].path = strdup(path);
	if (!s->links[k].path)
		*err = ENOMEM;
	else
		s->nlinks++;
	return NULL;
}

/* REL (below the tree's root, "." for the root) as tar -c . names it. */
static errcode_t tar_name(struct pcw_source *s, const char *rel)
{
	char *n = malloc(strlen(rel) + 3);

	if (!n)
		return ENOMEM;
	if (strcmp(rel, "."))
		sprintf(n, "./%s", rel);
	else
		strcpy(n, ".");
	free(s->tname);
	s->tname = n;
	return 0;
}

static errcode_t tree_next(struct pcw_source *s, const struct pcw_entry **entry,
			   struct pcw_iter **data)
{
	FTSENT *f;
	struct archive *disk;
	errcode_t err;

	if (s->data_fd >= 0) {
		close(s->data_fd);
		s->data_fd = -1;
	}
	while ((f = fts_read(s->fts))) {
		const char *rel;
		const char *first = NULL;
		struct stat st;
		int fd = -1;

		free(s->path);
		s->path = strdup(f->fts_path);
		if (!s->path)
			return ENOMEM;
		switch (f->fts_info) {
		case FTS_DP:
			continue;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			set_msg(s, "%s", strerror(f->fts_errno), NULL);
			return f->fts_errno ? (errcode_t)f->fts_errno
					    : PCW_ET_SOURCE;
		case FTS_DC:
			set_msg(s, "directory cycle", NULL, NULL);
			return PCW_ET_SOURCE;
		}
		rel = f->fts_level == 0 ? "." : f->fts_path + s->root_len +
						 (s->root_len > 1 ||
						  f->fts_path[0] != '/');
		err = tar_name(s, rel);
		if (err)
			return err;
		/*
		 * --exclude, as tar -c does: an excluded directory is not
		 * read, and no hard link is made to an excluded file.
		 */
		if (s->p.names && pcw_names_excluded(s->p.names, s->tname)) {
			if (f->fts_info == FTS_D)
				fts_set(s->fts, f, FTS_SKIP);
			continue;
		}
		if (s->p.skip && s->p.skip(s->p.skip_arg, f->fts_statp)) {
			if (s->p.warn)
				s->p.warn(s->p.warn_arg, f->fts_path,
					  "file is the image (or its undo or "
					  "report file); not copied");
			if (f->fts_info == FTS_D)
				fts_set(s->fts, f, FTS_SKIP);
			continue;
		}
		if (!S_ISDIR(f->fts_statp->st_mode) &&
		    f->fts_statp->st_nlink > 1) {
			first = link_seen(s, f->fts_statp, s->tname, NULL, &err);
			if (err)
				return err;
		}
		if (S_ISREG(f->fts_statp->st_mode) && !first) {
			fd = open(f->fts_accpath, O_RDONLY | O_NOFOLLOW |
				  O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = open(f->fts_accpath, O_RDONLY | O_NOFOLLOW |
					  O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0) {
				set_msg(s, "%s", strerror(errno), NULL);
				err = errno;
				if (fd >= 0)
					close(fd);
				return err;
			}
			if (st.st_ino != f->fts_statp->st_ino ||
			    st.st_dev != f->fts_statp->st_dev) {
				close(fd);
				set_msg(s, "file changed as it was read", NULL,
					NULL);
				return PCW_ET_SOURCE;
			}
			s->data_fd = fd;
		}
		archive_entry_clear(s->ae);
		archive_entry_copy_pathname(s->ae, s->tname);
		archive_entry_copy_sourcepath(s->ae, f->fts_accpath);
		/*
		 * An open file with no extended attributes has no ACL either
		 * (ACLs are system.posix_acl_* attributes): one flistxattr
		 * instead of libarchive's ACL probe, fstat and flistxattr.
		 */
		disk = fd >= 0 && flistxattr(fd, NULL, 0) == 0 ? s->disk_plain
							       : s->disk;
		if (archive_read_disk_entry_from_file(disk, s->ae,
				S_ISDIR(f->fts_statp->st_mode) ? -1 : fd,
				f->fts_statp) < ARCHIVE_WARN) {
			archive_msg(s, disk);
			return PCW_ET_SOURCE;
		}
		if (first)
			archive_entry_copy_hardlink(s->ae, first);
		err = from_archive_entry(s, s->ae);
		if (err)
			return err;
		*entry = &s->entry;
		*data = NULL;
		if (fd >= 0) {
			pcw_iter_reset(&s->iter);
			s->iter.fd = fd;
			s->iter.is_reg = true;
			s->iter.dense = pcw_iter_st_dense(&st);
			s->iter.src_pos = 0;
			*data = &s->iter;
		}
		return 0;
	}
	if (errno) {
		set_msg(s, "%s", strerror(errno), NULL);
		return errno;
	}
	return PCW_ET_END;
}

/*
 * tar's path options on the entry just read: its name and link target as
 * they are to be made; PCW_ET_END when the entry is left out (stripped
 * to nothing), for the caller to read the next one.
 */
static errcode_t apply_names(struct pcw_source *s)
{
	struct pcw_entry *e = &s->entry;
	char *xpath, *xlink;
	bool skip;
	errcode_t err;

	err = pcw_names_entry(s->p.names, e->type, e->path, e->link, &xpath,
			      &xlink, &skip);
	if (err)
		return err;
	free(s->xpath);
	free(s->xlink);
	s->xpath = xpath;
	s->xlink = xlink;
	e->path = xpath;
	e->link = xlink;
	return skip ? PCW_ET_END : 0;
}

errcode_t pcw_source_next(struct pcw_source *s, const struct pcw_entry **entry,
			  struct pcw_iter **data)
{
	errcode_t err;

	if (!s || s->magic != PCW_MAGIC_SOURCE)
		return EINVAL;
	*entry = NULL;
	*data = NULL;
	do
		err = s->fts ? tree_next(s, entry, data)
			     : archive_next(s, entry, data);
	while (!err && s->p.names && (err = apply_names(s)) == PCW_ET_END);
	if (err) {
		*entry = NULL;
		*data = NULL;
	}
	if (err == PCW_ET_END && s->cwd_fd >= 0) {
		/* Back from the manifest's directory. */
		if (fchdir(s->cwd_fd) < 0)
			err = errno;
		close(s->cwd_fd);
		s->cwd_fd = -1;
	}
	return err;
}

void pcw_source_close(struct pcw_source *s)
{
	size_t k;

	if (!s)
		return;
	if (s->cwd_fd >= 0) {
		if (fchdir(s->cwd_fd) < 0) {
			/* Nothing to do: the run is over. */
		}
		close(s->cwd_fd);
	}
	if (s->data_fd >= 0)
		close(s->data_fd);
	if (s->a)
		archive_read_free(s->a);
	if (s->disk)
		archive_read_free(s->disk);
	if (s->disk_plain)
		archive_read_free(s->disk_plain);
	if (s->ae)
		archive_entry_free(s->ae);
	if (s->fts)
		fts_close(s->fts);
	for (k = 0; s->decl && k <= s->decl_mask; k++)
		free(s->decl[k].path);
	for (k = 0; s->links && k <= s->links_mask; k++)
		free(s->links[k].path);
	free(s->decl);
	free(s->links);
	free(s->fds);
	free(s->rec);
	free(s->rbuf);
	free(s->acl[0]);
	free(s->acl[1]);
	free(s->xattrs);
	free(s->path);
	free(s->link);
	free(s->tname);
	free(s->xpath);
	free(s->xlink);
	free(s->msg);
	free(s->name);
	free(s->mtree_dir);
	pcw_iter_fini(&s->iter);
	s->magic = 0;
	free(s);
}
