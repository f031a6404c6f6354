/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_tree.c: -R's source, a host tree: src_walk.c's walk, sorted so
 * that the same tree gives the same image, each file's attributes, extended
 * attributes and ACLs from libarchive's read_disk (src_archive.c makes the
 * entry).  And pcw_src_next() for both kinds of source, with tar's
 * path options applied to the entry read (src_ahead.c calls it in the
 * reader thread).
 *
 * The tree may change while it is read.  As GNU tar does, a file removed
 * between the directory's listing and its open is left out with a warning,
 * "file removed before we read it", and a file whose size or change time
 * differ after its data was read from what they were when its entry was
 * made is written as read, with "file changed as we read it"; the walk
 * goes on, and pcw_source_changes() counts them for the exit status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "names.h"
#include "src.h"

errcode_t pcw_source_open_tree(const char *dir,
			       const struct pcw_source_params *p,
			       struct pcw_source **ret)
{
	struct pcw_source *s = pcw_src_new(p, -1, dir);
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
	err = pcw_twalk_open(s->name, &s->walk);
	if (err)
		goto fail;
	s->root_len = strlen(dir);
	while (s->root_len > 1 && dir[s->root_len - 1] == '/')
		s->root_len--;
	*ret = s;
	return 0;
fail:
	pcw_src_close(s);
	return err;
}

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

/* A change of the tree under the walk: warned, counted, and it goes on. */
static void tree_changed(struct pcw_source *s, const char *path,
			 const char *msg)
{
	s->changes++;
	if (s->p.warn)
		s->p.warn(s->p.warn_arg, path, msg);
}

/*
 * The file whose data was just read (s->ae still holds its entry): tar's
 * check, its size and change time now against the stat its entry was made
 * from.
 */
static void check_read(struct pcw_source *s)
{
	struct stat st;

	if (fstat(s->data_fd, &st) < 0)
		return;
	if (st.st_size != s->data_st.st_size ||
	    st.st_ctim.tv_sec != s->data_st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != s->data_st.st_ctim.tv_nsec)
		tree_changed(s, archive_entry_sourcepath(s->ae),
			     "file changed as we read it");
}

/* Gone between the directory's listing and its open (or stat). */
static bool removed(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR;
}

static errcode_t tree_next(struct pcw_source *s, const struct pcw_entry **entry,
			   struct pcw_iter **data)
{
	struct pcw_twalk_ent f;
	struct archive *disk;
	const char *why;
	errcode_t err;

	if (s->data_fd >= 0) {
		check_read(s);
		close(s->data_fd);
		s->data_fd = -1;
	}
	while (!(err = pcw_twalk_next(s->walk, &f, &why))) {
		const char *rel;
		const char *first = NULL;
		struct stat st;
		int fd = -1, dfd = -1;

		free(s->path);
		s->path = strdup(f.path);
		if (!s->path)
			return ENOMEM;
		if (f.kind == PCW_TW_GONE) {
			tree_changed(s, f.path, "file removed before we read it");
			continue;
		}
		if (f.kind == PCW_TW_CHANGED) {
			tree_changed(s, f.path, "file changed as we read it");
			continue;
		}
		rel = f.level == 0 ? "." : f.path + s->root_len +
					   (s->root_len > 1 || f.path[0] != '/');
		err = tar_name(s, rel);
		if (err)
			return err;
		/*
		 * --exclude, as tar -c does: an excluded directory is not
		 * read, and no hard link is made to an excluded file.
		 */
		if (s->p.names && pcw_names_excluded(s->p.names, s->tname)) {
			pcw_twalk_skip(s->walk);
			continue;
		}
		if (s->p.skip && s->p.skip(s->p.skip_arg, &f.st)) {
			if (s->p.warn)
				s->p.warn(s->p.warn_arg, f.path,
					  "file is the image (or its undo or "
					  "report file); not copied");
			pcw_twalk_skip(s->walk);
			continue;
		}
		if (!S_ISDIR(f.st.st_mode) && f.st.st_nlink > 1) {
			first = pcw_src_link_seen(s, &f.st, s->tname, NULL, &err);
			if (err)
				return err;
		}
		if (S_ISREG(f.st.st_mode) && !first) {
			fd = openat(f.dirfd, f.name, O_RDONLY | O_NOFOLLOW |
				    O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = openat(f.dirfd, f.name, O_RDONLY |
					    O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 && removed(errno)) {
				tree_changed(s, f.path,
					     "file removed before we read it");
				continue;
			}
			if (fd < 0 || fstat(fd, &st) < 0) {
				pcw_src_set_msg(s, "%s", strerror(errno), NULL);
				err = errno;
				if (fd >= 0)
					close(fd);
				return err;
			}
			if (st.st_ino != f.st.st_ino ||
			    st.st_dev != f.st.st_dev) {
				close(fd);
				pcw_src_set_msg(s, "file changed as it was read", NULL,
					NULL);
				return PCW_ET_SOURCE;
			}
			s->data_fd = fd;
			s->data_st = f.st;
		}
		/*
		 * A directory's attributes through a descriptor of its own
		 * (its path may be longer than PATH_MAX); its default ACL,
		 * which only a path reads, through f.accpath.
		 */
		if (S_ISDIR(f.st.st_mode)) {
			dfd = openat(f.dirfd, f.name, O_RDONLY | O_DIRECTORY |
				     O_NOFOLLOW | O_CLOEXEC);
			if (dfd >= 0 && (fstat(dfd, &st) ||
					 st.st_ino != f.st.st_ino ||
					 st.st_dev != f.st.st_dev)) {
				close(dfd);
				dfd = -1;
			}
			if (dfd < 0) {
				tree_changed(s, f.path,
					     "file removed before we read it");
				pcw_twalk_skip(s->walk);
				continue;
			}
		}
		archive_entry_clear(s->ae);
		archive_entry_copy_pathname(s->ae, s->tname);
		archive_entry_copy_sourcepath(s->ae, f.accpath);
		/*
		 * An open file with no extended attributes has no ACL either
		 * (ACLs are system.posix_acl_* attributes): one flistxattr
		 * instead of libarchive's ACL probe, fstat and flistxattr.
		 */
		disk = fd >= 0 && flistxattr(fd, NULL, 0) == 0 ? s->disk_plain
							       : s->disk;
		if (archive_read_disk_entry_from_file(disk, s->ae,
				dfd >= 0 ? dfd : fd, &f.st) < ARCHIVE_WARN) {
			/* a symlink's target: gone */
			if (fd < 0 && removed(archive_errno(disk))) {
				if (dfd >= 0)
					close(dfd);
				tree_changed(s, f.path,
					     "file removed before we read it");
				pcw_twalk_skip(s->walk);
				continue;
			}
			if (dfd >= 0)
				close(dfd);
			pcw_src_archive_msg(s, disk);
			return PCW_ET_SOURCE;
		}
		if (dfd >= 0)
			close(dfd);
		/* messages name the file by its path, not f.accpath */
		archive_entry_copy_sourcepath(s->ae, f.path);
		if (first)
			archive_entry_copy_hardlink(s->ae, first);
		err = pcw_src_from_entry(s, s->ae);
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
	if (err != PCW_ET_END && why)
		pcw_src_set_msg(s, "%s", why, NULL);
	return err;
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

errcode_t pcw_src_next(struct pcw_source *s, const struct pcw_entry **entry,
		       struct pcw_iter **data)
{
	errcode_t err;

	if (!s || s->magic != PCW_MAGIC_SOURCE)
		return EINVAL;
	*entry = NULL;
	*data = NULL;
	do
		err = s->walk ? tree_next(s, entry, data)
			     : pcw_src_archive_next(s, entry, data);
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
