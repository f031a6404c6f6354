/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_walk.c: -R's walk of a host tree, at any depth.
 *
 * fts (FTS_NOCHDIR) hands out whole paths and opens and stats by them, so
 * a tree deeper than PATH_MAX ends in ENAMETOOLONG (a chain of 10,000
 * directories stopped at depth 2,046); without FTS_NOCHDIR it would
 * chdir, which changes the whole process.  libarchive's own disk walker
 * (archive_read_disk_open, archive_read_next_header) works relative to
 * descriptors too, but it hands out each directory's names in readdir
 * order, with no way to sort them, and pcwrite sorts by name so that the
 * same tree gives the same image (tests/records.sums); and it goes back
 * up by opening "..".  So the walk is here:
 *
 * - each directory is opened relative to its parent's descriptor (openat
 *   with O_NOFOLLOW and O_DIRECTORY), its names read at once (fdopendir on
 *   a dup) and sorted with strcmp, as fts's compar did; each name is
 *   stat'ed relative to it (fstatat, AT_SYMLINK_NOFOLLOW: FTS_PHYSICAL)
 *   just before it is handed out, so a directory's listing costs its names
 *   only;
 * - the descriptors of the directories on the way down form a bounded ring
 *   (a quarter of RLIMIT_NOFILE, 8 to 256; DIR's own is always kept): when
 *   it is full the shallowest one is closed.  The walk needs a directory's
 *   descriptor again when it comes back up to it: it opens ".." of the
 *   child it leaves (still open), and takes it only when its st_dev and
 *   st_ino are the directory's.  When they are not (the child was moved
 *   elsewhere while it was read), the child is "file changed as we read
 *   it", and the directory is opened again by name from DIR, each level
 *   checked by st_dev and st_ino: one that was renamed or replaced is
 *   "file changed as we read it" too, and the rest of it is not read.
 *   Nothing is followed into a directory that is not the one listed;
 * - what libarchive reads by path (a symlink's target, a directory's
 *   default ACL) it reads through /proc/self/fd/DIRFD/NAME (set_acc);
 * - a directory inside itself (a bind mount) is found through a hashed set
 *   of the (st_dev, st_ino) of the directories on the way down, O(1) a
 *   level (fts compares with every ancestor).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "idset.h"
#include "src_walk.h"

struct level {
	char		*block;		/* the names, one after the other */
	char		**names;	/* sorted */
	size_t		n, next;
	int		fd;		/* -1: closed by the ring */
	dev_t		dev;
	ino_t		ino;
	size_t		path_len;	/* the path up to its name */
	bool		stale;		/* changed under the walk: no more */
};

struct pcw_twalk {
	struct level	*lv;
	size_t		depth, cap;
	size_t		lo;		/* the shallowest open level but 0 */
	unsigned	nopen, max_open;
	struct pcw_idset dirs;
	char		*path, *acc;
	size_t		plen, pcap, acap;
	bool		started, pending, skip;
	bool		proc;		/* /proc/self/fd is there */
	struct stat	pst;		/* the directory handed out last */
	char		**warn;		/* paths of changes, to hand out */
	size_t		nwarn, wcap, wnext;
	char		msg[64];
};

static errcode_t set_path(struct pcw_twalk *w, size_t len, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (pcw_grow(&w->path, &w->pcap, len + n + 2, 1, 256))
		return ENOMEM;
	w->plen = len;
	if (name) {
		w->path[w->plen++] = '/';
		memcpy(w->path + w->plen, name, n);
		w->plen += n;
	}
	w->path[w->plen] = 0;
	return 0;
}

errcode_t pcw_twalk_open(const char *dir, struct pcw_twalk **ret)
{
	struct pcw_twalk *w = calloc(1, sizeof(*w));
	struct rlimit rl;
	size_t len = strlen(dir);

	if (!w)
		return ENOMEM;
	w->max_open = 256;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < w->max_open)
		w->max_open = rl.rlim_cur / 4 < 8 ? 8 : rl.rlim_cur / 4;
	w->proc = !access("/proc/self/fd", X_OK);
	if (set_path(w, 0, NULL)) {
		free(w);
		return ENOMEM;
	}
	if (pcw_grow(&w->path, &w->pcap, len + 1, 1, 256)) {
		pcw_twalk_close(w);
		return ENOMEM;
	}
	memcpy(w->path, dir, len + 1);
	w->plen = len;
	*ret = w;
	return 0;
}

static void close_fd(struct pcw_twalk *w, struct level *l)
{
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
		w->nopen--;
	}
}

/* A change to hand out: the path up to LEN bytes. */
static errcode_t queue_change(struct pcw_twalk *w, size_t len)
{
	char *p = strndup(w->path, len);

	if (!p || pcw_grow(&w->warn, &w->wcap, w->nwarn + 1, sizeof(*w->warn),
			   4)) {
		free(p);
		return ENOMEM;
	}
	w->warn[w->nwarn++] = p;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the directory open as FD, sorted, into L. */
static int list(struct level *l, int fd)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	size_t used = 0, cap = 0, ncap = 0, k;
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return errno;
	d = fdopendir(dfd);
	if (!d) {
		int e = errno;

		close(dfd);
		return e;
	}
	for (;;) {
		size_t n;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = strlen(de->d_name) + 1;
		if (pcw_grow(&l->block, &cap, used + n, 1, 1024) ||
		    pcw_grow(&l->names, &ncap, l->n + 1, sizeof(char *), 16)) {
			closedir(d);
			return ENOMEM;
		}
		memcpy(l->block + used, de->d_name, n);
		/* offsets first: the block may move as it grows */
		l->names[l->n++] = (char *)(uintptr_t)used;
		used += n;
	}
	k = errno;
	closedir(d);
	if (k)
		return (int)k;
	for (k = 0; k < l->n; k++)
		l->names[k] = l->block + (uintptr_t)l->names[k];
	if (l->n)	/* an empty directory has no array yet */
		qsort(l->names, l->n, sizeof(*l->names), by_name);
	return 0;
}

static bool same(const struct stat *st, dev_t dev, ino_t ino)
{
	return st->st_dev == dev && st->st_ino == ino;
}

/*
 * Open level K's directory again by name from DIR's, each level checked;
 * one that is not the directory listed is queued as changed, and it and
 * those below it to K are not read further.
 */
static errcode_t reopen_by_name(struct pcw_twalk *w, size_t k)
{
	int fd = w->lv[0].fd;
	size_t j;

	for (j = 1; j <= k; j++) {
		struct level *l = &w->lv[j];
		size_t start = w->lv[j - 1].path_len + 1;
		char name[NAME_MAX + 1];
		struct stat st;
		int nfd;

		snprintf(name, sizeof(name), "%.*s",
			 (int)(l->path_len - start), w->path + start);
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			     O_CLOEXEC);
		if (nfd >= 0 && (fstat(nfd, &st) || !same(&st, l->dev, l->ino))) {
			close(nfd);
			nfd = -1;
		}
		if (fd != w->lv[0].fd)
			close(fd);
		if (nfd < 0) {
			for (; j <= k; j++)
				w->lv[j].stale = true;
			return queue_change(w, l->path_len);
		}
		fd = nfd;
	}
	w->lv[k].fd = fd;
	w->nopen++;
	if (w->lo > k)
		w->lo = k;
	return 0;
}

/* The top level is done: closed, and its parent's descriptor back. */
static errcode_t pop(struct pcw_twalk *w)
{
	struct level *l = &w->lv[w->depth - 1];
	struct level *p = w->depth > 1 ? l - 1 : NULL;
	errcode_t err = 0;

	/*
	 * Every level the walk comes back to is open again, exhausted or
	 * not: its child's ".." is at hand now, O(1), where a later open
	 * by name would walk down from DIR.
	 */
	if (p && p->fd < 0 && !p->stale) {
		struct stat st;
		int fd = l->fd >= 0 ? openat(l->fd, "..", O_RDONLY |
					      O_DIRECTORY | O_CLOEXEC) : -1;

		if (fd >= 0 && !fstat(fd, &st) && same(&st, p->dev, p->ino)) {
			p->fd = fd;
			w->nopen++;
			if (w->lo > w->depth - 2)
				w->lo = w->depth - 2;
		} else {
			if (fd >= 0)
				close(fd);
			/* moved elsewhere while it was read */
			if (!l->stale)
				err = queue_change(w, l->path_len);
			if (!err)
				err = reopen_by_name(w, w->depth - 2);
		}
	}
	close_fd(w, l);
	pcw_idset_del(&w->dirs, l->dev, l->ino);
	free(l->names);
	free(l->block);
	w->depth--;
	if (p)
		w->plen = p->path_len;
	w->path[w->plen] = 0;
	return err;
}

/* The directory handed out last (its path in w->path) opened and listed. */
static errcode_t descend(struct pcw_twalk *w, struct pcw_twalk_ent *e,
			 const char **msg, bool *gone)
{
	struct level *l;
	struct stat st;
	bool had;
	int fd, rc;

	*gone = false;
	if (w->depth) {
		const char *name = w->path + w->lv[w->depth - 1].path_len + 1;

		fd = openat(w->lv[w->depth - 1].fd, name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		fd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &st)) {
		rc = errno;
		if (fd >= 0)
			close(fd);
		if (w->depth && (rc == ENOENT || rc == ENOTDIR)) {
			e->kind = PCW_TW_GONE;
			*gone = true;
			return 0;
		}
		*msg = strerror(rc);
		return rc;
	}
	if (!same(&st, w->pst.st_dev, w->pst.st_ino)) {
		/* replaced between its stat and its open */
		close(fd);
		e->kind = PCW_TW_CHANGED;
		*gone = true;
		return 0;
	}
	if (pcw_grow(&w->lv, &w->cap, w->depth + 1, sizeof(*w->lv), 16) ||
	    pcw_idset_add(&w->dirs, st.st_dev, st.st_ino, &had)) {
		close(fd);
		return ENOMEM;
	}
	if (had) {
		close(fd);
		*msg = "directory cycle";
		return PCW_ET_SOURCE;
	}
	l = &w->lv[w->depth++];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->path_len = w->plen;
	w->nopen++;
	rc = list(l, fd);
	if (rc) {
		*msg = strerror(rc);
		return rc;
	}
	/* The ring: the shallowest open descriptor but DIR's goes. */
	if (w->lo < 1)
		w->lo = 1;
	while (w->nopen > w->max_open && w->lo < w->depth - 1) {
		close_fd(w, &w->lv[w->lo]);
		w->lo++;
	}
	return 0;
}

/*
 * The path libarchive reads what no descriptor gives through: the file's
 * name below its directory's descriptor in /proc/self/fd, a lookup of two
 * components whatever the depth (a whole path costs the kernel a lookup
 * per level: with acl_get_file's stat and getxattr for each directory, a
 * 10,000-deep chain spent most of its time in link_path_walk).  Without
 * /proc, the path itself, which works up to PATH_MAX.
 */
static errcode_t set_acc(struct pcw_twalk *w, struct pcw_twalk_ent *e)
{
	if (e->dirfd == AT_FDCWD || (!w->proc && w->plen < PATH_MAX)) {
		e->accpath = w->path;
		return 0;
	}
	if (pcw_grow(&w->acc, &w->acap, strlen(e->name) + 40, 1, 256))
		return ENOMEM;
	sprintf(w->acc, "/proc/self/fd/%d/%s", e->dirfd, e->name);
	e->accpath = w->acc;
	return 0;
}

errcode_t pcw_twalk_next(struct pcw_twalk *w, struct pcw_twalk_ent *e,
			 const char **msg)
{
	errcode_t err;

	memset(e, 0, sizeof(*e));
	*msg = NULL;
	e->path = w->path;
	if (!w->started) {
		w->started = true;
		if (lstat(w->path, &e->st)) {
			*msg = strerror(errno);
			return errno;
		}
		e->kind = PCW_TW_ENTRY;
		e->dirfd = AT_FDCWD;
		e->name = w->path;
		e->accpath = w->path;
		w->pending = S_ISDIR(e->st.st_mode);
		w->pst = e->st;
		w->skip = false;
		return 0;
	}
	if (w->pending && !w->skip) {
		bool gone;

		w->pending = false;
		err = descend(w, e, msg, &gone);
		if (err || gone) {
			e->path = w->path;
			e->level = w->depth;
			return err;
		}
	}
	w->pending = false;
	for (;;) {
		struct level *l;
		const char *name;

		if (w->wnext < w->nwarn) {
			/* a change found on the way back up */
			free(w->acc);
			w->acc = w->warn[w->wnext];
			w->acap = strlen(w->acc) + 1;
			w->warn[w->wnext++] = NULL;
			e->kind = PCW_TW_CHANGED;
			e->path = w->acc;
			return 0;
		}
		w->nwarn = w->wnext = 0;
		if (!w->depth)
			return PCW_ET_END;
		l = &w->lv[w->depth - 1];
		if (l->stale || l->next >= l->n) {
			err = pop(w);
			if (err)
				return err;
			continue;
		}
		name = l->names[l->next++];
		err = set_path(w, l->path_len, name);
		if (err)
			return err;
		e->path = w->path;	/* it may have moved */
		e->level = w->depth;
		e->dirfd = l->fd;
		e->name = name;
		if (fstatat(l->fd, name, &e->st, AT_SYMLINK_NOFOLLOW)) {
			if (errno == ENOENT || errno == ENOTDIR) {
				e->kind = PCW_TW_GONE;
				return 0;
			}
			*msg = strerror(errno);
			return errno;
		}
		e->kind = PCW_TW_ENTRY;
		w->pending = S_ISDIR(e->st.st_mode);
		w->pst = e->st;
		w->skip = false;
		return set_acc(w, e);
	}
}

void pcw_twalk_skip(struct pcw_twalk *w)
{
	w->skip = true;
}

void pcw_twalk_close(struct pcw_twalk *w)
{
	if (!w)
		return;
	while (w->depth) {
		struct level *l = &w->lv[--w->depth];

		close_fd(w, l);
		free(l->names);
		free(l->block);
	}
	while (w->nwarn > w->wnext)
		free(w->warn[--w->nwarn]);
	free(w->warn);
	pcw_idset_free(&w->dirs);
	free(w->lv);
	free(w->path);
	free(w->acc);
	free(w);
}
