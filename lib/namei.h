/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * namei.h: layer 10: names: the kernel's may_* refusals and the reads and
 * checks before a name is removed (may.c), the path walk and the
 * operations on names (namei.c), the image's passwd and group (idnames.c).
 */
#ifndef PCW_NAMEI_H
#define PCW_NAMEI_H

#include "dir.h"
/* may.c: the kernel's refusals for the immutable and append-only flags */
errcode_t pcw_may_create(pcw_fs *pfs, struct pcw_dir *dir);
errcode_t pcw_may_link(pcw_fs *pfs, struct pcw_dir *dir,
		       const struct ext2_inode_large *target);
errcode_t pcw_may_setattr(const struct ext2_inode_large *inode);
errcode_t pcw_may_write(const struct ext2_inode_large *inode, bool append);
/* A non-directory INO read and checked as ext4_iget checks it. */
errcode_t pcw_read_nondir(ext2_filsys fs, ext2_ino_t ino,
			  struct ext2_inode_large *inode);
/*
 * Before a name of INO in DIR is removed (IS_RMDIR: the empty directory
 * INO): INO read into INODE and everything that can refuse the removal
 * checked, nothing changed yet.
 */
errcode_t pcw_may_remove(pcw_fs *pfs, struct pcw_dir *dir, ext2_ino_t ino,
			 bool is_rmdir, struct ext2_inode_large *inode);

/* namei.c */
/* The target of symlink INO (owned): in the inode, inline or in its block. */
errcode_t pcw_read_link(pcw_fs *pfs, ext2_ino_t ino,
			struct ext2_inode_large *inode, char **target);
errcode_t pcw_walk(pcw_fs *pfs, ext2_ino_t start, const char *path, int flags,
		   struct pcw_dest *d);
errcode_t pcw_make_dirs(pcw_fs *pfs, const struct pcw_dest *d,
			pcw_fill_fn fill, void *arg, ext2_ino_t *parent);
/* --parents: a new directory's owner (ARG: the pcw_file_params) */
void pcw_fill_parent(struct ext2_inode_large *inode, void *arg);

/* create, mkdir, symlink, link, unlink */
errcode_t pcw_check_create(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			   blk64_t extra);
errcode_t pcw_create(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     unsigned mode, pcw_fill_fn fill, void *arg,
		     struct ext2_inode_large *inode, ext2_ino_t *ret);
errcode_t pcw_mkdir(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		    unsigned perm, pcw_fill_fn fill, void *arg,
		    struct pcw_dir **ret);
errcode_t pcw_symlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		      const char *target, pcw_fill_fn fill, void *arg,
		      ext2_ino_t *ret);
errcode_t pcw_link(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		   ext2_ino_t ino);
errcode_t pcw_unlink(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino);
/* Undo this run's create of NAME (INO) in PARENT, no may_* check. */
errcode_t pcw_unmake(pcw_fs *pfs, struct pcw_dir *parent, const char *name,
		     ext2_ino_t ino);

/*
 * rmtree.c: NAME in PARENT and everything under it removed (rm -r), or,
 * NAME NULL, every name in PARENT; a name KEEP says yes to stays (a kept
 * directory is walked too, and a directory holding a kept name stays).
 * Commits between removals when the held set is near its limit; EINTR at
 * a signal.  *REMOVED: the names removed.  A missing NAME is no error.
 */
typedef bool (*pcw_keep_fn)(void *arg, ext2_ino_t parent, ext2_ino_t ino,
			    const char *name);
errcode_t pcw_remove_tree(pcw_fs *pfs, ext2_ino_t parent, const char *name,
			  pcw_keep_fn keep, void *arg, uint64_t *removed);

/* idnames.c: a mapping was opened on INO (its data may change); the end */
void pcw_idnames_note_write(pcw_fs *pfs, ext2_ino_t ino);
void pcw_idnames_free(pcw_fs *pfs);

#endif /* PCW_NAMEI_H */
