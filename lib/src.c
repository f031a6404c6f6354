/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src.c: what both kinds of source share: making and closing one, its
 * messages, and the table of hard-linked files' first paths.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src.h"

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

void pcw_src_set_msg(struct pcw_source *s, const char *fmt, const char *a,
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

void pcw_src_archive_msg(struct pcw_source *s, struct archive *a)
{
	const char *e = archive_error_string(a);

	pcw_src_set_msg(s, "%s", e ? e : "unknown archive error", NULL);
}

/* A source of either kind, its name copied (NULL name: out of memory, below). */
struct pcw_source *pcw_src_new(const struct pcw_source_params *p,
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
	s->wake_fd = -1;
	s->name = strdup(name);
	return s;
}

/* ---- the hard-link table (-R, and mtree contents= files) ---------------------------- */

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
const char *pcw_src_link_seen(struct pcw_source *s, const struct stat *st,
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

/* The source's own state (src_ahead.c has stopped its reader first). */
void pcw_src_close(struct pcw_source *s)
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
	pcw_twalk_close(s->walk);
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
