/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_walk.h: -R's walk of a host tree (src_walk.c), private to lib/: each
 * directory read through a descriptor relative to its parent, its names in
 * strcmp order, so any depth is walked and the same tree gives the same
 * image.
 */
#ifndef PCW_SRC_WALK_H
#define PCW_SRC_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "base.h"

struct pcw_twalk;

enum pcw_twalk_kind {
	PCW_TW_ENTRY,		/* a file of the tree, stat'ed */
	PCW_TW_GONE,		/* removed since its directory was listed */
	PCW_TW_CHANGED,		/* a directory moved or replaced under the
				   walk: what is left of it is not read */
};

struct pcw_twalk_ent {
	enum pcw_twalk_kind kind;
	const char	*path;	/* DIR as given, then "/name" for each level */
	size_t		level;	/* 0: DIR itself */
	int		dirfd;	/* the directory it is in; AT_FDCWD for DIR */
	const char	*name;	/* its name there (DIR itself for level 0) */
	/*
	 * A path that reaches it for calls that take no descriptor (a
	 * symlink's target and xattrs, a directory's default ACL): through
	 * /proc/self/fd/DIRFD/NAME; without /proc, PATH.
	 */
	const char	*accpath;
	struct stat	st;	/* lstat, just before it was handed out */
};

errcode_t pcw_twalk_open(const char *dir, struct pcw_twalk **ret);
/*
 * The next entry, depth first, a directory before what it holds; the one
 * handed out before is descended into when it is a directory, unless
 * pcw_twalk_skip was called.  PCW_ET_END at the end; another error with
 * *MSG (static or the walk's) saying what failed.
 */
errcode_t pcw_twalk_next(struct pcw_twalk *w, struct pcw_twalk_ent *e,
			 const char **msg);
/* The directory just handed out is not to be read. */
void pcw_twalk_skip(struct pcw_twalk *w);
void pcw_twalk_close(struct pcw_twalk *w);

#endif /* PCW_SRC_WALK_H */
