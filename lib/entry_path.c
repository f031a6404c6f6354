/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * entry_path.c: the directory an entry of -x or -R goes in, resolved from
 * the directories the previous entry's path went through.
 *
 * An archive lists a tree depth first, so an entry's directory is nearly
 * always the previous one's, one of its ancestors, or one level below: a
 * walk from DIR for every entry cost O(depth) lookups an entry and
 * O(depth^2) a chain (a lookup touches the directory's cache entry, so a
 * deep tree also missed the CPU's caches at every level).  The run keeps
 * the stack of the directories of the last path it resolved: for each
 * component, its inode and where it ends in the path.  A new path reuses
 * the longest prefix of whole components it shares byte for byte with the
 * stack and looks up only the rest, one component at a time, so the cost
 * is the bytes of the path plus a lookup for each new component.
 *
 * The stack is keyed by the entry's spelling, not the stored one: in a
 * casefolded directory "A" and "a" are one name, and an entry that spells
 * it otherwise than the stack does just looks it up again (what the same
 * spelling found, it finds again).  A component is looked up as the walk
 * does (namei.c): a directory is taken as is; anything else (a symlink
 * that was in the image, followed; one this run made, refused; a name
 * that is missing, made; a file, refused) goes through pcw_walk on that
 * one component, so every check of the walk from DIR is kept.
 *
 * A level stays valid while no name it was found through changes.  What
 * the run changes are names in the entry's directory (the top of the
 * stack) and, for --whiteouts=oci, whole subtrees below a directory of
 * the layer.  So a level reached through directories only is invalid just
 * when a removal is in a directory above it; a level reached through a
 * symlink (its target may be anywhere, the symlink itself the name an
 * entry replaces) is dropped, with all below it, at any removal or
 * replacement.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "entry_int.h"

/* A missing parent of an entry: 0755, the run's owner, times now. */
static void fill_parent_dir(struct ext2_inode_large *inode, void *arg)
{
	const struct pcw_tree *t = arg;
	int uid_set = PCW_TREE_SET_UID | PCW_TREE_PARENT_OWNER;
	int gid_set = PCW_TREE_SET_GID | PCW_TREE_PARENT_OWNER;

	pcw_inode_set_owner(inode, (t->p.flags & uid_set) ? t->p.uid : 0,
			    (t->p.flags & gid_set) ? t->p.gid : 0);
}

/*
 * The walk stopped at the first missing directory: make it and the rest
 * (d->missing, then d->name), 0755, owned as the run says.
 */
errcode_t pcw_tree_make_missing(struct pcw_tree *t, const struct pcw_dest *d,
				ext2_ino_t *ino)
{
	struct pcw_dest m;
	char *rest = malloc((d->missing ? strlen(d->missing) : 0) +
			    strlen(d->name) + 2);
	errcode_t err;

	if (!rest)
		return ENOMEM;
	sprintf(rest, "%s%s%s", d->missing ? d->missing : "",
		d->missing && d->missing[0] ? "/" : "", d->name);
	memset(&m, 0, sizeof(m));
	m.parent = d->parent;
	m.missing = rest;
	err = pcw_make_dirs(t->pfs, &m, fill_parent_dir, t, ino);
	free(rest);
	return err;
}

/*
 * The component NAME (LEN bytes) in directory DIR as a directory: *INO;
 * *VIA_LINK when it was not a directory entry of DIR itself.
 */
static errcode_t lookup_dir(struct pcw_tree *t, ext2_ino_t dir,
			    const char *name, size_t len, ext2_ino_t *ino,
			    bool *via_link)
{
	struct pcw_dir *dd;
	struct pcw_dest d;
	char found[EXT2_NAME_LEN + 1], *comp;
	bool is_dir = false;
	int ftype = 0;
	errcode_t err;

	*via_link = false;
	err = pcw_dir_open(t->pfs, dir, &dd);
	if (!err)
		err = pcw_dir_lookup_name(t->pfs, dd, name, len, ino, &ftype,
					  found);
	if (!err)
		err = pcw_tree_existing(t, *ino, ftype, &is_dir);
	if (!err && is_dir)
		return 0;
	if (err && err != EXT2_ET_FILE_NOT_FOUND)
		return err;
	/* Missing, a symlink or a file: the walk's own rules. */
	*via_link = err == 0;
	comp = strndup(name, len);
	if (!comp)
		return ENOMEM;
	err = pcw_walk(t->pfs, dir, comp, PCW_LOOKUP_PARENTS |
		       PCW_LOOKUP_NO_NEW_SYMLINKS | PCW_LOOKUP_DIRECTORY, &d);
	free(comp);
	if (err == PCW_ET_IS_DIR) {
		*ino = d.ino;
		err = 0;
	} else if (!err) {
		/* made: below a symlink's target when one was followed */
		err = pcw_tree_make_missing(t, &d, ino);
	}
	pcw_dest_free(&d);
	return err;
}

/* Levels of the stack a path of PLEN bytes (cleaned) starts with. */
static size_t common_levels(const struct pcw_tree *t, const char *path,
			    size_t plen)
{
	size_t k = 0, same = 0;

	while (same < plen && same < t->stack_len &&
	       path[same] == t->stack_path[same])
		same++;
	while (k < t->depth && t->stack[k].end <= same &&
	       (t->stack[k].end == plen || path[t->stack[k].end] == '/'))
		k++;
	return k;
}

errcode_t pcw_tree_parent(struct pcw_tree *t, const char *norm,
			  ext2_ino_t *parent, const char **name)
{
	const char *slash = strrchr(norm, '/');
	size_t plen = slash ? (size_t)(slash - norm) : 0, k, pos;
	ext2_ino_t dir;
	errcode_t err = 0;

	*name = slash ? slash + 1 : norm;
	if (!plen) {
		*parent = t->dir;
		return 0;
	}
	k = common_levels(t, norm, plen);
	/* The stack is now this path's: its bytes, then its levels. */
	err = pcw_path_grow(&t->stack_path, &t->stack_cap, plen + 1);
	if (err)
		return err;
	pos = k ? t->stack[k - 1].end : 0;
	memcpy(t->stack_path + pos, norm + pos, plen - pos);
	t->stack_path[plen] = 0;
	t->stack_len = plen;
	t->depth = k;
	dir = k ? t->stack[k - 1].ino : t->dir;
	while (pos < plen) {
		size_t start = pos + (pos > 0), end;
		struct path_level *l;
		bool via_link;

		end = start;
		while (end < plen && norm[end] != '/')
			end++;
		err = pcw_grow(&t->stack, &t->levels_cap, t->depth + 1,
			       sizeof(*t->stack), 16);
		if (!err)
			err = lookup_dir(t, dir, norm + start, end - start,
					 &dir, &via_link);
		if (err)
			break;
		l = &t->stack[t->depth++];
		l->ino = dir;
		l->end = end;
		l->via_link = via_link ||
			      (t->depth > 1 && t->stack[t->depth - 2].via_link);
		pos = end;
	}
	if (err) {
		t->stack_len = t->depth ? t->stack[t->depth - 1].end : 0;
		return err;
	}
	*parent = dir;
	return 0;
}

/* The levels from the first one reached through a symlink: gone. */
static void drop_links(struct pcw_tree *t)
{
	size_t k = 0;

	while (k < t->depth && !t->stack[k].via_link)
		k++;
	t->depth = k;
	t->stack_len = k ? t->stack[k - 1].end : 0;
}

void pcw_tree_path_replaced(struct pcw_tree *t)
{
	drop_links(t);
}

void pcw_tree_path_removed(struct pcw_tree *t, const char *norm)
{
	const char *slash = strrchr(norm, '/');
	size_t plen = slash ? (size_t)(slash - norm) : 0, k, pos;
	ext2_ino_t dir;

	drop_links(t);
	k = plen ? common_levels(t, norm, plen) : 0;
	/*
	 * What goes is below NORM's directory P.  The levels that spell P's
	 * ancestors (or P) stay, but only when P is reached from them through
	 * directories alone: a symlink on the way (one to "..", say) may make
	 * P an ancestor of any of them.  Looked up before the removal.
	 */
	dir = k ? t->stack[k - 1].ino : t->dir;
	for (pos = k ? t->stack[k - 1].end : 0; k && pos < plen;) {
		size_t start = pos + (pos > 0), end = start;
		char found[EXT2_NAME_LEN + 1];
		struct pcw_dir *dd;
		bool is_dir = false;
		int ftype = 0;
		errcode_t err;

		while (end < plen && norm[end] != '/')
			end++;
		err = pcw_dir_open(t->pfs, dir, &dd);
		if (!err)
			err = pcw_dir_lookup_name(t->pfs, dd, norm + start,
						  end - start, &dir, &ftype,
						  found);
		if (err == EXT2_ET_FILE_NOT_FOUND)
			return;		/* nothing below it to remove */
		if (!err)
			err = pcw_tree_existing(t, dir, ftype, &is_dir);
		if (err || !is_dir)
			k = 0;
		pos = end;
	}
	if (k < t->depth) {
		t->depth = k;
		t->stack_len = k ? t->stack[k - 1].end : 0;
	}
}

void pcw_tree_path_free(struct pcw_tree *t)
{
	free(t->stack);
	free(t->stack_path);
	t->stack = NULL;
	t->stack_path = NULL;
	t->depth = t->stack_len = t->stack_cap = t->levels_cap = 0;
}
