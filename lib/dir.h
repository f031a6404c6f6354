/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dir.h: layer 9: directories (dir.c over htree.c, dcache.c, dirent.c).
 */
#ifndef PCW_DIR_H
#define PCW_DIR_H

#include "inode.h"
/* dir.c: directories, looked up and changed without rescanning */
struct pcw_dir;
errcode_t pcw_dir_open(pcw_fs *pfs, ext2_ino_t ino, struct pcw_dir **ret);
errcode_t pcw_dir_lookup(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len, ext2_ino_t *ino, int *ftype);
errcode_t pcw_dir_lookup_name(pcw_fs *pfs, struct pcw_dir *d,
			      const char *name, unsigned len, ext2_ino_t *ino,
			      int *ftype, char *found);
bool pcw_dir_same_name(const struct pcw_dir *d, const char *a, unsigned alen,
		       const char *b, unsigned blen);
errcode_t pcw_dir_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
		      unsigned len, ext2_ino_t ino, int ftype);
errcode_t pcw_dir_remove(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			 unsigned len);
errcode_t pcw_dir_can_add(pcw_fs *pfs, struct pcw_dir *d, const char *name,
			  unsigned len, blk64_t extra);
errcode_t pcw_dir_new(pcw_fs *pfs, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, ext2_ino_t parent,
		      struct pcw_dir **ret);
void pcw_dir_discard(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_check_link(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_inc_link(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_dec_link(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dir_init_block(ext2_filsys fs, unsigned char *buf, ext2_ino_t ino,
			ext2_ino_t parent);
struct ext2_inode_large *pcw_dir_inode(struct pcw_dir *d);
ext2_ino_t pcw_dir_ino(const struct pcw_dir *d);
errcode_t pcw_dir_write_inode(pcw_fs *pfs, struct pcw_dir *d);
errcode_t pcw_dir_reload_inode(pcw_fs *pfs, struct pcw_dir *d);
void pcw_dir_forget(pcw_fs *pfs, ext2_ino_t ino);
errcode_t pcw_dcache_flush(pcw_fs *pfs);
/*
 * Between entries: no caller holds a struct pcw_dir from before, so the
 * directories opened so far may be evicted from now on.
 */
void pcw_dcache_next(pcw_fs *pfs);

/*
 * dir_list.c: the names in D but "." and "..", a snapshot the caller may
 * change the directory under (name: strings + off, NUL-terminated; ftype
 * as the entry says, 0 without the filetype feature).
 */
struct pcw_dir_item {
	ext2_ino_t	ino;
	int		ftype;
	size_t		off;
};
struct pcw_dir_list {
	struct pcw_dir_item *items;
	size_t		n, cap;
	char		*strings;
	size_t		slen, scap;
};
errcode_t pcw_dir_list(pcw_fs *pfs, struct pcw_dir *d, struct pcw_dir_list *l);
void pcw_dir_list_free(struct pcw_dir_list *l);
void pcw_dcache_free(pcw_fs *pfs);

#endif /* PCW_DIR_H */
