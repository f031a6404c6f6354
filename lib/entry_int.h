/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry_int.h: what entry.c (an entry's place in the tree: its name, its
 * parent, what was there) and entry_make.c (the inode it becomes) share:
 * the run's tree, and the attributes a new inode takes.
 */
#ifndef PCW_ENTRY_INT_H
#define PCW_ENTRY_INT_H

#include <time.h>

#include "file.h"
#include "iter.h"

#define PCW_MAGIC_TREE	0x70637774	/* "pcwt" */

struct dir_time {
	ext2_ino_t	ino;
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
};

struct pcw_tree {
	int		magic;
	pcw_fs		*pfs;
	struct pcw_tree_params p;
	ext2_ino_t	dir;
	char		*dir_path;	/* DIR, without a trailing '/' */

	char		*name;		/* the entry's path in the image */
	size_t		name_cap;
	char		*norm;		/* the entry's path below DIR */
	size_t		norm_cap;
	char		*target;	/* a hard link's target, for reports */
	size_t		target_cap;

	/* the directory of the previous entry, looked up once */
	char		*last_parent;
	ext2_ino_t	last_ino;

	struct dir_time	*times;
	size_t		ntimes, times_cap;

	/* when the first entry since the last commit was added (their
	   count: pfs->uncommitted, which any commit clears) */
	struct timespec	since;

	/* --whiteouts=oci: the names this run made (whiteout.c) */
	struct pcw_wh_set *made;
	ext2_ino_t	made_parent;	/* the entry's directory, its name */
	const char	*made_name;
	char		found[EXT2_NAME_LEN + 1];	/* its stored spelling */
};

/* Entries are committed in batches: io_run.h's pcw_fs_commit_due. */

/* The entry's times, as the run's options say. */
struct times {
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
};


struct fill {
	const struct pcw_tree	*t;
	const struct pcw_entry	*e;
	struct times		tm;
};

/* entry_make.c */
errcode_t pcw_tree_link_data(struct pcw_tree *t, ext2_ino_t ino,
			     ext2_ino_t parent, const struct pcw_entry *e,
			     const struct fill *f, struct pcw_iter *data,
			     struct pcw_entry_result *res);
errcode_t pcw_tree_existing(struct pcw_tree *t, ext2_ino_t ino, int ftype,
			    bool *is_dir);
errcode_t pcw_tree_merge_dir(struct pcw_tree *t, const struct pcw_entry *e,
			     struct pcw_dir *dd, ext2_ino_t ino,
			     const struct fill *f,
			     struct pcw_entry_result *res);
errcode_t pcw_tree_dir_done(struct pcw_tree *t, const struct pcw_entry *e,
			    struct pcw_dir *dd, ext2_ino_t ino,
			    const struct fill *f, struct pcw_entry_result *res,
			    errcode_t err);
errcode_t pcw_tree_add_dir_itself(struct pcw_tree *t,
				  const struct pcw_entry *e,
				  const struct fill *f,
				  struct pcw_entry_result *res);
bool pcw_tree_keeps_dir_symlink(struct pcw_tree *t, ext2_ino_t ino);
bool pcw_tree_swaps(struct pcw_tree *t, const struct pcw_entry *e,
		    ext2_ino_t old, int ftype);
errcode_t pcw_tree_replace_file(struct pcw_tree *t, const struct pcw_entry *e,
				struct pcw_dir *pd, const char *name,
				ext2_ino_t parent, ext2_ino_t old,
				struct fill *f, struct pcw_iter *data,
				struct pcw_entry_result *res);
errcode_t pcw_tree_make_entry(struct pcw_tree *t, const struct pcw_entry *e,
			      struct pcw_dir *pd, const char *name,
			      ext2_ino_t parent, ext2_ino_t target,
			      struct fill *f, struct pcw_iter *data,
			      struct pcw_entry_result *res);

#endif /* PCW_ENTRY_INT_H */
