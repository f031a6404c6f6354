/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * names.h: what a source (src_*.c) asks of tar's path options (names.c),
 * private to lib/.  The options themselves are set through pcwrite.h's
 * pcw_names_* functions.
 */
#ifndef PCW_NAMES_H
#define PCW_NAMES_H

#include <stdbool.h>

#include "pcwrite.h"

/*
 * Is the entry NAME (as the source names it: "./a/b/", "/abs", "." for a
 * tree's root) excluded?  Trailing slashes are not part of the name.
 */
bool pcw_names_excluded(const struct pcw_names *n, const char *name);

/*
 * The names of an entry that is not excluded, as it is to be made:
 * PATH transformed (scope r) then stripped; a symlink's target LINK
 * transformed (scope s); a hard link's target LINK transformed (scope h)
 * then stripped.  *XPATH and *XLINK (NULL when LINK is) are new strings
 * the caller frees.  *SKIP: the stripped path is empty, the entry is left
 * out as tar leaves it out.  A PATH with a ".." component is handed back
 * as it is, to be refused by the tree as it would be without options (tar
 * refuses such a member by its original name too).
 */
errcode_t pcw_names_entry(const struct pcw_names *n, enum pcw_ftype type,
			  const char *path, const char *link, char **xpath,
			  char **xlink, bool *skip);

/* *BUF grown (doubling, from 256) to hold NEED bytes. */
errcode_t pcw_path_grow(char **buf, size_t *cap, size_t need);
/*
 * PATH below DIR, cleaned into *OUT: no leading '/', no "." or empty
 * components, no trailing '/'; a ".." component is PCW_ET_DOTDOT, one
 * longer than a name PCW_ET_NAME_TOO_LONG.  "" is DIR itself.
 */
errcode_t pcw_path_clean(const char *path, char **out, size_t *cap);

#endif
