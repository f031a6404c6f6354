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

/* A directory's times, set once the entries below it are done. */
struct dir_time {
	ext2_ino_t	ino;
	uint32_t	plen;		/* its path: times_path's first plen bytes */
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
};

/* A directory of the path stack: its inode, where its name ends. */
struct path_level {
	ext2_ino_t	ino;
	size_t		end;
	bool		via_link;	/* a symlink on the way to it */
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

	/* the directories of the last path resolved (entry_path.c) */
	struct path_level *stack;
	size_t		depth, levels_cap;
	char		*stack_path;	/* their names, cleaned, '/' between */
	size_t		stack_len, stack_cap;

	/*
	 * The directories whose times wait, the current entry's ancestors
	 * only (GNU tar's delayed_set_stat): a stack, each one's path a
	 * prefix of the next's, times_path the deepest one's.
	 */
	struct dir_time	*times;
	size_t		ntimes, times_cap;
	char		*times_path;
	size_t		times_path_cap;
	errcode_t	times_err;	/* the first failure, for the close */

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
void pcw_tree_times_apply(struct pcw_tree *t, const char *path);
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

/*
 * entry_path.c: the directory an entry goes in (NORM's, made when missing:
 * pcw_tree_make_missing) and its last component *NAME; the stack of what
 * the last path went through, told of a name replaced in the entry's
 * directory and, before it happens, of a removal below NORM's directory.
 */
errcode_t pcw_tree_make_missing(struct pcw_tree *t, const struct pcw_dest *d,
				ext2_ino_t *ino);
errcode_t pcw_tree_parent(struct pcw_tree *t, const char *norm,
			  ext2_ino_t *parent, const char **name);
void pcw_tree_path_replaced(struct pcw_tree *t);
void pcw_tree_path_removed(struct pcw_tree *t, const char *norm);
void pcw_tree_path_free(struct pcw_tree *t);

#endif /* PCW_ENTRY_INT_H */
