/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file.h: layer 11: one file's write (perform_write.c, file.c), entries
 * (entry.c), listing (list.c); the sources of entries are src.h's.
 */
#ifndef PCW_FILE_H
#define PCW_FILE_H

#include "namei.h"
#include "iter.h"

/*
 * A new DEST (d->ino == 0): may its first missing name be made in its
 * parent (a name too long, no room, no permission)?  Before anything is
 * written; 0 for an existing file.
 */
errcode_t pcw_file_check_new(pcw_fs *pfs, const struct pcw_dest *d);

/*
 * entry_xattr.c: the N extended attributes X onto INO, after its inode is
 * written.  PCW_ET_NO_XATTR, PCW_ET_XATTR_TOO_BIG, PCW_ET_XATTR_SPACE,
 * PCW_ET_BAD_ACL: refused, and what was set before stays, whole.
 */
errcode_t pcw_entry_set_xattrs(pcw_fs *pfs, ext2_ino_t ino,
			       const struct pcw_xattr *x, size_t n);

/* whiteout.c: container layers' whiteouts (see there) */
enum pcw_wh_kind {
	PCW_WH_NONE,		/* an ordinary name */
	PCW_WH_NAME,		/* DIR/.wh.NAME */
	PCW_WH_OPAQUE,		/* DIR/.wh..wh..opq */
	PCW_WH_META,		/* another .wh..wh. name, or one under it */
};
/* What PATH (cleaned: no "." or empty components) is. */
enum pcw_wh_kind pcw_whiteout_kind(const char *path);
/* The set of names this run made: NAME in PARENT for INO. */
struct pcw_wh_set;
errcode_t pcw_wh_note(struct pcw_wh_set **s, ext2_ino_t parent,
		      ext2_ino_t ino, const char *name);
void pcw_wh_free(struct pcw_wh_set *s);
/*
 * The whiteout PATH (below DIR, of KIND) applied: what it names removed,
 * but for the names in S; *REMOVED: how many names went.
 */
errcode_t pcw_wh_apply(pcw_fs *pfs, struct pcw_wh_set *s, ext2_ino_t dir,
		       const char *path, enum pcw_wh_kind kind,
		       uint64_t *removed);

/*
 * atomic.c: -x and -R's replacement of the regular file OLD, named NAME in
 * PD, by a new one: an unnamed inode of MODE on the orphan list, FILL(ARG)
 * giving it the entry's attributes; *INO is it, for the caller to write;
 * then pcw_atomic_swap (or pcw_atomic_abort) with *RET.  Needs the journal.
 */
errcode_t pcw_atomic_begin_entry(pcw_fs *pfs, struct pcw_dir *pd,
				 const char *name, ext2_ino_t old,
				 unsigned mode, pcw_fill_fn fill, void *arg,
				 struct pcw_atomic **ret, ext2_ino_t *ino);

#endif /* PCW_FILE_H */
