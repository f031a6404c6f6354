/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src.h: the sources of -x and -R entries, private to lib/.  A struct
 * pcw_source reads either an archive (src_archive.c: libarchive's
 * archive_read, and an mtree manifest's two passes) or a host tree
 * (src_tree.c: src_walk.c's walk, each file's attributes from libarchive's
 * read_disk); both turn a libarchive entry into a struct pcw_entry
 * (src_archive.c), whose POSIX ACLs acl.c encodes as ext4 stores them.
 * src.c, below them, makes and closes a source; src_tree.c's
 * pcw_src_next() reads the next entry of either kind.  src_ahead.c, the
 * top, runs that reading in a thread of its own (src_reader.c), ahead of
 * the writer, through a bounded queue (src_ahead.h): the public
 * pcw_source_next() is there.
 */
#ifndef PCW_SRC_H
#define PCW_SRC_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "file.h"
#include "iter.h"
#include "src_walk.h"

#define PCW_MAGIC_SOURCE	0x70637773	/* "pcws" */
#define NHOLES			64

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

struct pcw_ahead;

struct pcw_source {
	int		magic;
	struct pcw_ahead *ahead;	/* the reader thread and its queue */
	int		wake_fd;	/* readable: stop waiting for input
					   (src_ahead.c stops the reader) */
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
	struct pcw_twalk *walk;
	struct archive	*disk;
	struct archive	*disk_plain;	/* for files without xattrs: no probes */
	struct archive_entry *ae;
	size_t		root_len;
	int		data_fd;
	struct stat	data_st;	/* its stat when its entry was made */
	uint64_t	changes;	/* files removed or changed under us */
	struct linkname	*links;
	size_t		links_mask, nlinks;
};

/* src.c: making and closing a source, its messages, the hard-link table */
struct pcw_source *pcw_src_new(const struct pcw_source_params *p, int fd,
			       const char *name);
void pcw_src_close(struct pcw_source *s);
void pcw_src_set_msg(struct pcw_source *s, const char *fmt, const char *a,
		     const char *b);
void pcw_src_archive_msg(struct pcw_source *s, struct archive *a);
const char *pcw_src_link_seen(struct pcw_source *s, const struct stat *st,
			      const char *path, const struct pcw_entry *attrs,
			      errcode_t *err);

/* src_archive.c: archives, and a libarchive entry as a struct pcw_entry */
errcode_t pcw_src_from_entry(struct pcw_source *s, struct archive_entry *ae);
errcode_t pcw_src_archive_next(struct pcw_source *s,
			       const struct pcw_entry **entry,
			       struct pcw_iter **data);

/*
 * src_tree.c: host trees, and the next entry of either kind, tar's path
 * options applied (what pcw_source_next() was before the reader thread).
 */
errcode_t pcw_src_next(struct pcw_source *s, const struct pcw_entry **entry,
		       struct pcw_iter **data);

/*
 * acl.c: libarchive's POSIX.1e ACL of TYPE (ARCHIVE_ENTRY_ACL_TYPE_ACCESS
 * or _DEFAULT) as a system.posix_acl_* value in *OUT (malloc'd, *LEN
 * bytes; NULL when the entry has none); with a mask, *PERM's group bits
 * become the mask.
 */
errcode_t pcw_acl_encode(struct archive_entry *ae, int type, unsigned *perm,
			 unsigned char **out, size_t *len);

#endif
