/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcwrite.h: the public interface of libpcwrite.
 *
 * libpcwrite writes files into ext2/3/4 images through a userspace model of
 * the kernel's buffered write path (mm/filemap.c:generic_perform_write with
 * ext4's delayed-allocation address_space_operations).  The library never
 * prints and never exits: every function returns an errcode_t (0, an errno
 * value, a libext2fs code or one of pcw_err.et's) and progress is reported
 * through a callback.
 *
 * A run goes:  pcw_fs_open -> pcw_dest_lookup (every DEST, before any write)
 *   -> pcw_fs_begin_write -> for each file: pcw_mapping_open,
 *   pcw_perform_write, pcw_mapping_finish, pcw_mapping_free -> pcw_fs_close.
 *
 * Installed as <pcwrite/pcwrite.h>, with its error table <pcwrite/pcw_err.h>;
 * `pkg-config --cflags --libs pcwrite` gives the flags; libpcwrite(3) is
 * the manual.
 *
 * ABI: the soname is libpcwrite.so.0 and there is no ABI stability before
 * 1.0.  Until then a release may grow the structures callers allocate
 * (pcw_open_params, pcw_file_params, ...: always memset them to 0 before
 * filling them in) and change what is here; such a release changes the
 * soname only from 1.0 on.  Rebuild against each release.
 */
#ifndef PCWRITE_H
#define PCWRITE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <et/com_err.h>

#include "pcw_err.h"

/*
 * The longest name of a directory entry, in bytes: ext2/3/4's
 * EXT2_NAME_LEN, here so that this header needs no libext2fs header.
 */
#define PCW_NAME_MAX		255
#if defined(EXT2_NAME_LEN) && EXT2_NAME_LEN != PCW_NAME_MAX
#error "PCW_NAME_MAX is not EXT2_NAME_LEN"	/* lib/ includes ext2fs.h first */
#endif

typedef struct pcw_fs pcw_fs;
struct pcw_mapping;
struct pcw_iter;

/* ---- report events ------------------------------------------------------ */

enum pcw_event_type {
	PCW_EV_PAGE,		/* one iteration of the perform_write loop */
	PCW_EV_WRITEBACK,	/* one extent mapped (or overwritten) by writepages */
	PCW_EV_COMMIT,		/* a tree's entries so far are in the image */
	PCW_EV_WARNING,		/* a source's warning (pcw_fs_warn) */
};

/* One loop iteration, failed and retried ones included. */
struct pcw_page_report {
	uint64_t	seq;		/* iteration number, from 0 for each file */
	uint64_t	index;		/* pos / page size */
	uint64_t	pos;
	uint32_t	offset;		/* pos & (page size - 1) */
	uint32_t	bytes;		/* bytes asked of write_begin */
	uint32_t	copied;		/* bytes copied from the source */
	int64_t		status;		/* write_end's result, or -errno */
	uint32_t	reserved;	/* blocks (clusters) newly reserved */
	unsigned	read_before:1;	/* blocks were read from disk first */
	unsigned	retry:1;	/* second pass over pos after a short copy */
};

struct pcw_writeback_report {
	uint64_t	lblk;		/* first logical block */
	uint64_t	pblk;		/* first physical block */
	uint64_t	len;		/* blocks */
	unsigned	overwrite:1;	/* blocks were already allocated */
};

/*
 * PCW_EV_COMMIT: every entry pcw_tree_add returned before this event is in
 * the image (a batch, pcw_tree_commit, pcw_tree_close); a caller that holds
 * entries' reports until their commit shows them now.  Entries: how many
 * this commit took.  The file is NULL.
 */
struct pcw_commit_report {
	uint64_t	entries;
};

/* PCW_EV_WARNING: the file is the entry's path (or NULL). */
struct pcw_warning_report {
	const char	*msg;
};

struct pcw_event {
	enum pcw_event_type	type;
	const char		*file;	/* DEST path as the caller named it */
	union {
		struct pcw_page_report		page;
		struct pcw_writeback_report	writeback;
		struct pcw_commit_report	commit;
		struct pcw_warning_report	warning;
	} u;
};

/*
 * The callback only reports: a commit asked for from inside it (of the
 * filesystem, a tree, a file) fails with PCW_ET_COMMIT_IN_CALLBACK.  Before
 * an event that would overtake entries waiting for their commit (a warning;
 * with PCW_TREE_ORDER_EVENTS, a page or writeback event too) the library
 * commits them, and says so with PCW_EV_COMMIT first.
 */
typedef void (*pcw_report_fn)(const struct pcw_event *ev, void *arg);

/* ---- host files: which names reach the same bytes (host.c) ------------ */

/*
 * Where the bytes a host path or descriptor reaches finally live, followed
 * down through partitions and loop devices (sysfs, or LOOP_GET_STATUS64):
 * /dev/loop0p2 over disk.img is bytes [start, end) of the regular file
 * disk.img.  Two names can reach the same bytes when pcw_host_overlap()
 * says so: a symlink, a hard link, /dev/stdin, /proc/self/fd/N, a bind
 * mount, a loop device over the file or one of its partitions.
 */
enum pcw_host_kind {
	PCW_HOST_OTHER = 0,	/* pipe, socket, terminal, character device */
	PCW_HOST_FILE,		/* bytes of a regular file: dev, ino */
	PCW_HOST_DISK,		/* bytes of a block device that is not a loop
				   device: dev is its whole disk's number */
};

struct pcw_host_id {
	enum pcw_host_kind kind;
	dev_t		dev;	/* FILE: st_dev; DISK: the whole disk */
	ino_t		ino;	/* FILE: st_ino */
	uint64_t	start;	/* first byte of that file or disk reached */
	uint64_t	end;	/* one past the last; UINT64_MAX: to its end */
	dev_t		named;	/* a block device: its number (st_rdev), else 0 */
};

errcode_t pcw_host_id_stat(const struct stat *st, struct pcw_host_id *id);
errcode_t pcw_host_id_fd(int fd, struct pcw_host_id *id);
/* PATH with symlinks followed (stat, not lstat); errno when it cannot be. */
errcode_t pcw_host_id_path(const char *path, struct pcw_host_id *id);
/* Could A and B reach the same bytes?  Never for kind OTHER. */
int pcw_host_overlap(const struct pcw_host_id *a, const struct pcw_host_id *b);

/*
 * Create PATH, new and empty (O_CREAT|O_EXCL|O_NOFOLLOW: never an existing
 * file, never through a symlink at the end), open for reading and writing.
 */
errcode_t pcw_host_create(const char *path, mode_t mode, int *fd);
/* Remove PATH only while it still names the file open as FD. */
errcode_t pcw_host_remove(const char *path, int fd);

/*
 * The guard: the host files a run writes (the image, the undo file, the
 * report, a standard stream the report goes to) and the ones it must not
 * read from (a closed standard descriptor).  The caller adds each with the
 * error a collision should give; a check returns that error, or 0 when the
 * file reaches none of their bytes.  Callers check every host file they
 * open for the run: each SOURCE, ARCHIVE and mtree contents= file, each
 * regular file of a tree being copied (a tree entry that is the image is
 * skipped, as tar skips "file is the archive").  A path that does not exist
 * checks as 0.
 */
struct pcw_guard;
errcode_t pcw_guard_new(struct pcw_guard **ret);
void pcw_guard_free(struct pcw_guard *guard);
errcode_t pcw_guard_add(struct pcw_guard *guard, const struct pcw_host_id *id,
			errcode_t code);
errcode_t pcw_guard_check_id(const struct pcw_guard *guard,
			     const struct pcw_host_id *id);
errcode_t pcw_guard_check_fd(const struct pcw_guard *guard, int fd);
errcode_t pcw_guard_check_stat(const struct pcw_guard *guard,
			       const struct stat *st);
errcode_t pcw_guard_check_path(const struct pcw_guard *guard,
			       const char *path);

/* ---- the image ------------------------------------------------------------ */

#define PCW_OPEN_NO_SYNC	0x0001	/* skip the final fsync */
#define PCW_OPEN_PROJECT	0x0002	/* new inodes get project id PROJECT
					   (needs the project feature) */
#define PCW_OPEN_NO_JOURNAL	0x0004	/* write metadata in place even where
					   the filesystem has a journal */

/*
 * What a message needs beyond the error code: the device behind
 * PCW_ET_MOUNTED, PCW_ET_BUSY, PCW_ET_DEV_UNCHECKED, PCW_ET_FLUSH; and,
 * after pcw_fs_close, what a failed run left, whatever error the close
 * returned: in place, a filesystem that stays marked not clean (an update
 * failed part-way, or the close itself failed); with the journal, a log
 * holding committed transactions to replay (needs_recovery set; the
 * filesystem stays valid).  Neither: the run's failure left the
 * filesystem clean (with the journal, stopped before its first commit:
 * as it was).
 */
struct pcw_conflict {
	char		device[64];	/* "/dev/loop0p2", or "" */
	char		mountpoint[4096]; /* where it is mounted, or "" */
	bool		left_not_clean;	/* pcw_fs_close: e2fsck -f needed */
	bool		left_journal;	/* pcw_fs_close: a replay needed (a
					   mount, e2fsck -E journal_only) */
};

struct pcw_open_params {
	int		flags;		/* PCW_OPEN_* */
	uint64_t	image_offset;	/* byte offset of the filesystem in IMAGE */
	uint64_t	image_size;	/* bytes from image_offset the filesystem
					   may use (its partition); 0: all */
	int64_t		now;		/* timestamps; -1: the current time */
	/*
	 * Keep an e2undo file, or NULL.  UNDO_FD is that file as
	 * pcw_host_create() made it (new, empty); pcw_fs_open takes it over,
	 * on failure too, and removes the file on every path that saved
	 * nothing in it.
	 */
	const char	*undo_file;
	int		undo_fd;
	struct pcw_guard *guard;	/* or NULL: the undo file is added */
	struct pcw_conflict *conflict;	/* or NULL: filled on a conflict */
	uint32_t	project;	/* with PCW_OPEN_PROJECT */
	/*
	 * With a journal: a transaction closes at most this many seconds
	 * after its first entry (ext4's commit= mount option); 0: 5.  Not
	 * used by a reproducible run (NOW set): its boundaries must not
	 * depend on a clock.
	 */
	uint32_t	commit_sec;
};

/*
 * Open IMAGE, take the lock, and run every image-level refusal check
 * (mounted, busy, needs recovery, errors, not clean, features).  Nothing is
 * written: a refused image stays byte-identical.
 *
 * One filesystem, one writer, whatever its name: the lock is flock(2) on
 * IMAGE and, for a loop device (or a partition of one), on its backing
 * file too; a block device IMAGE is also held open with O_EXCL for the run.
 * Every block device whose bytes overlap the filesystem's (loop devices
 * over the image file and their partitions, the whole disk and the sibling
 * partitions of a partition) is refused when it is mounted (PCW_ET_MOUNTED)
 * or held open exclusively (PCW_ET_BUSY); the idle ones have their page
 * cache dropped (BLKFLSBUF) before the first write and after the last, so
 * that they never show stale data.
 */
errcode_t pcw_fs_open(const char *image, const struct pcw_open_params *params,
		      pcw_fs **ret);
/*
 * The first write of a run (pcw_mapping_open calls it too): with an undo
 * file, reopen through the undo manager; mark the superblock not clean.
 * Called again (each entry of a tree), it checks that the undo file still
 * has room for finishing the run (PCW_ET_UNDO_*: stop here).
 */
errcode_t pcw_fs_begin_write(pcw_fs *pfs);
/*
 * Commit bitmaps, descriptors and superblock, mark it clean, sync, free.
 * A filesystem an update left half-changed stays marked not clean: then
 * the close returns PCW_ET_LEFT_NOT_CLEAN when it has no error of its own,
 * and sets the conflict's left_not_clean either way.  With the journal
 * the half-changed transaction is dropped, never committed; a failed run
 * that committed before leaves a log to replay: PCW_ET_LEFT_JOURNAL and
 * left_journal instead.
 */
errcode_t pcw_fs_close(pcw_fs *pfs);
/* Release without writing anything more (after a refusal). */
void pcw_fs_abort(pcw_fs *pfs);
void pcw_fs_set_report(pcw_fs *pfs, pcw_report_fn fn, void *arg);
/*
 * A source's warning as a PCW_EV_WARNING of the filesystem ARG (a pcw_fs *):
 * the warn callback of struct pcw_source_params, so that a warning comes
 * after the commit of the entries before it, as their reports do.
 */
void pcw_fs_warn(void *arg, const char *path, const char *msg);
unsigned pcw_fs_block_size(const pcw_fs *pfs);

/* What a report says of the filesystem (pcw_fs_get_info). */
struct pcw_fs_info {
	unsigned	block_size;
	unsigned	cluster_size;	/* the block size but with bigalloc */
	unsigned	inode_size;
	uint32_t	feature_compat;	/* the superblock's feature words, */
	uint32_t	feature_incompat; /* as e2p_feature2string names them */
	uint32_t	feature_ro_compat;
	uint8_t		uuid[16];
	uint64_t	blocks_count;
	uint32_t	inodes_count;
};
void pcw_fs_get_info(const pcw_fs *pfs, struct pcw_fs_info *info);
/* Free space in bytes a writer can still reserve. */
uint64_t pcw_fs_avail_bytes(const pcw_fs *pfs);
/*
 * Timestamps the run stored that their inodes cannot hold, clamped as the
 * kernel clamps them: COUNT of the stores (a time set twice counts twice;
 * 0: nothing was clamped), and the range [MIN, MAX] (seconds since the
 * epoch) of the inode of the first one: -2^31 to 15032385535 (1901-12-13
 * to 2446-05-10) with the extra time fields, to 2^31 - 1 (2038-01-19)
 * without (128-byte inodes).
 */
struct pcw_time_clamps {
	uint64_t	count;
	int64_t		min, max;
};
void pcw_fs_time_clamps(const pcw_fs *pfs, struct pcw_time_clamps *c);
/*
 * The directory the last PCW_ET_DIR_* error (IMMUTABLE, APPEND, CASEFOLD,
 * ENCRYPTED, NAME_ENCODING) was about, as a path from the image's root (as the ".."
 * entries give it), in *PATH, to free(); ENOENT when there was none.
 */
errcode_t pcw_fs_error_dir(pcw_fs *pfs, char **path);

/* ---- destinations ------------------------------------------------------------ */

#define PCW_LOOKUP_PARENTS	0x0001	/* missing parents will be created */
#define PCW_LOOKUP_NO_NEW_SYMLINKS 0x0002 /* never follow a symlink this run
					     made (PCW_ET_NEW_SYMLINK) */
#define PCW_LOOKUP_DIRECTORY	0x0004	/* resolve the last component too, as
					   a directory (PCW_ET_IS_DIR) */
#define PCW_LOOKUP_APPEND	0x0008	/* DEST will only be appended to (its
					   mode and owner kept): an append-only
					   file is allowed, as O_APPEND is */

struct pcw_dest {
	uint32_t	ino;		/* the existing file, or 0 */
	uint32_t	parent;		/* its directory (deepest existing one) */
	char		name[PCW_NAME_MAX + 1];
	char		*missing;	/* with PARENTS: components still to
					   create below parent, or NULL (owned) */
};

/*
 * Resolve PATH inside the image.  Intermediate symlinks are followed, an
 * absolute target relative to the image root.  Returns PCW_ET_IS_DIR when
 * PATH names a directory (d->ino is then that directory; 0 for a PATH that
 * ends in '/' and is missing, a directory PCW_LOOKUP_PARENTS will make),
 * PCW_ET_SLASH_NOT_DIR (PATH ends in '/', is missing, no PARENTS),
 * PCW_ET_DEST_SYMLINK, PCW_ET_NOT_REGULAR, PCW_ET_NO_PARENT, PCW_ET_NOT_DIR,
 * PCW_ET_NAME_TOO_LONG; what the kernel refuses for chattr flags:
 * PCW_ET_IMMUTABLE (an immutable file, an append-only one unless
 * PCW_LOOKUP_APPEND), PCW_ET_DIR_IMMUTABLE (a new name in an immutable
 * directory: pcw_fs_error_dir() names it); PCW_ET_DIR_CASEFOLD and
 * PCW_ET_DIR_ENCRYPTED for a directory pcwrite cannot use the names of
 * (named the same way).  In a casefolded directory names are looked up
 * as the kernel compares them: d->name is then the name as the directory
 * spells it.
 */
errcode_t pcw_dest_lookup(pcw_fs *pfs, const char *path, int flags,
			  struct pcw_dest *d);
void pcw_dest_free(struct pcw_dest *d);
/*
 * Do A and B, from pcw_dest_lookup, name one file: the same existing
 * inode, or one name yet to be made in one directory (in a casefolded
 * directory, names equal but for case or normalization).  Names below
 * missing directories are not compared: compare their paths.
 */
bool pcw_dest_same(pcw_fs *pfs, const struct pcw_dest *a,
		   const struct pcw_dest *b);

/* ---- one file's page cache ------------------------------------------------- */

#define PCW_FILE_NO_DELALLOC	0x0001	/* the nodelalloc aops table */
#define PCW_FILE_APPEND		0x0002	/* start at i_size */
#define PCW_FILE_KEEP		0x0004	/* do not truncate (--offset) */
#define PCW_FILE_SET_MODE	0x0010
#define PCW_FILE_SET_UID	0x0020
#define PCW_FILE_SET_GID	0x0040
#define PCW_FILE_FRESH		0x0080	/* DEST was just made empty by a tree:
					   no truncate, attributes as they are */

struct pcw_file_params {
	int		flags;		/* PCW_FILE_* */
	unsigned	mode;		/* permission bits */
	uint32_t	uid, gid;
	unsigned	page_size;	/* 0: 4096, or the block size if larger */
	uint64_t	dirty_limit;	/* bytes; 0: PCW_DEFAULT_DIRTY_LIMIT */
	uint64_t	offset;		/* with PCW_FILE_KEEP: where the write
					   starts */
	const char	*report_name;	/* "file" in events */
};

#define PCW_DEFAULT_DIRTY_LIMIT	(8ULL << 20)
#define PCW_MAX_PAGE_SIZE	65536U

/* The attributes an inode was given, as a report shows them. */
struct pcw_attrs {
	uint32_t	ino;		/* 0: not known (nothing was made) */
	unsigned	mode;		/* permission bits, 07777 */
	uint32_t	uid, gid;
	int64_t		mtime;
	uint32_t	mtime_nsec;
	uint32_t	rdev_major, rdev_minor;	/* character and block devices */
};

struct pcw_file_info {
	struct pcw_attrs attrs;		/* the inode as the file left it */
	uint64_t	size;		/* final i_size */
	uint64_t	extents;	/* extents (leaf entries) of the file */
	uint64_t	blocks;		/* i_blocks in 512-byte units */
	uint64_t	pages;		/* loop iterations */
	uint64_t	lost_from;	/* first byte writeback dropped after an
					   error, or UINT64_MAX */
};

/*
 * Create (with parents) or truncate DEST and set up its page cache.  A write
 * that would start at or past the largest file size is refused
 * (PCW_ET_FILE_TOO_BIG) before anything is written.
 */
errcode_t pcw_mapping_open(pcw_fs *pfs, const struct pcw_dest *d,
			   const struct pcw_file_params *fp,
			   struct pcw_mapping **ret);
/* Where the write starts: 0, i_size with PCW_FILE_APPEND, or the offset
   with PCW_FILE_KEEP. */
uint64_t pcw_mapping_start(const struct pcw_mapping *mapping);
unsigned pcw_mapping_page_size(const struct pcw_mapping *mapping);
/* Write back everything dirty and commit the inode. */
errcode_t pcw_mapping_finish(struct pcw_mapping *mapping,
			     struct pcw_file_info *info);
void pcw_mapping_free(struct pcw_mapping *mapping);

/*
 * --atomic (atomic.c): replace (or create) DEST by a new inode, the way
 * rename(2) over an O_TMPFILE file does.  pcw_atomic_begin makes the inode
 * with no name, on the orphan list, with the old file's mode, owner, group
 * and extended attributes (FP's SET_MODE, SET_UID and SET_GID override
 * them), and fills TMP to open it with pcw_mapping_open (PCW_FILE_FRESH).
 * After pcw_mapping_finish, pcw_atomic_swap switches the name to it and
 * drops the old inode's link in one journal transaction; after a failed
 * write, pcw_atomic_abort frees it.  Both free A.  Needs the journal:
 * PCW_ET_ATOMIC_NO_JOURNAL, nothing written, without one.
 */
struct pcw_atomic;
errcode_t pcw_atomic_begin(pcw_fs *pfs, const struct pcw_dest *d,
			   const struct pcw_file_params *fp,
			   struct pcw_atomic **ret, struct pcw_dest *tmp);
errcode_t pcw_atomic_swap(struct pcw_atomic *a);
errcode_t pcw_atomic_abort(struct pcw_atomic *a);

/* ---- the source -------------------------------------------------------------- */

errcode_t pcw_iter_open_fd(int fd, size_t page_size, struct pcw_iter **ret);
void pcw_iter_free(struct pcw_iter *iter);

enum pcw_sparse {
	PCW_SPARSE_AUTO,	/* holes of a sparse source file stay holes */
	PCW_SPARSE_ALWAYS,	/* every all-zero chunk becomes a hole */
	PCW_SPARSE_NEVER,	/* allocate everything */
};
void pcw_iter_set_sparse(struct pcw_iter *iter, enum pcw_sparse sparse);

/* ---- the write loop -------------------------------------------------------- */

/*
 * generic_perform_write(): copy the source into the file from POS, page by
 * page.  *written is what write_end committed, also on error; the return
 * value is the error that stopped the loop (0 at end of input, EINTR after a
 * signal, ENOSPC, ...).
 */
errcode_t pcw_perform_write(struct pcw_mapping *mapping, struct pcw_iter *iter,
			    uint64_t pos, uint64_t *written);

/* ---- trees and archives: entries ------------------------------------------------ */

/*
 * -x and -R are a stream of entries: a source (an archive read with
 * libarchive, or a host directory tree) hands out entries and their data;
 * a tree (entry.c) makes each one in the image under one directory, every
 * regular file's data through pcw_perform_write.  The two sides know
 * nothing of each other: an entry is plain data.
 */
enum pcw_ftype {
	PCW_FT_FILE,
	PCW_FT_DIR,
	PCW_FT_SYMLINK,
	PCW_FT_HARDLINK,	/* another name for an earlier entry's inode */
	PCW_FT_CHR,
	PCW_FT_BLK,
	PCW_FT_FIFO,
	PCW_FT_SOCK,
};
/* "file", "dir", "symlink", "hardlink", "chr", "blk", "fifo", "sock" */
const char *pcw_ftype_name(enum pcw_ftype type);

struct pcw_xattr {
	const char	*name;		/* "user.x", "security.capability", ... */
	const void	*value;
	size_t		size;
};

struct pcw_entry {
	const char	*path;		/* as the source names it ("./a/b") */
	enum pcw_ftype	type;
	unsigned	perm;		/* 07777 */
	uint32_t	uid, gid;
	const char	*uname, *gname;	/* the archive's names for them, or
					   NULL (host trees: none given) */
	bool		has_mtime, has_atime;
	int64_t		mtime, atime;
	uint32_t	mtime_nsec, atime_nsec;
	uint32_t	rdev_major, rdev_minor;
	const char	*link;		/* symlink target; hard link: the path
					   of the entry it links to */
	int64_t		size;		/* data bytes, -1 when not known */
	const struct pcw_xattr *xattrs;	/* POSIX ACLs as system.posix_acl_* */
	size_t		nxattrs;
};

/* ---- names: tar's --exclude, --transform, --strip-components (names.c) ------------ */

/*
 * What -x and -R do to the entries' names, as GNU tar 1.34 does when it
 * extracts; a source given one (pcw_source_params.names) applies it.  The
 * name tar sees is the one the archive holds ("./a/b", "/abs"; a host
 * tree's entries are named as `tar -C DIR -c .` names them: ".", "./a",
 * "./a/b"), without trailing slashes.  An entry is left out when an
 * exclude pattern (fnmatch(3) wildcards, '*' matching '/' too) matches its
 * name, the part after any '/', or a leading part that ends before a '/'
 * (a directory's pattern excludes what is under it).  Then every
 * transform expression in order (GNU tar's s/REGEX/REPLACEMENT/FLAGS,
 * POSIX regular expressions) changes the name, a symlink's target and a
 * hard link's target, as each expression's scope says; then
 * strip-components takes leading components off the name and off a hard
 * link's target (not off a symlink's), and an entry whose name is left
 * empty is left out.
 */
struct pcw_names;
errcode_t pcw_names_new(struct pcw_names **ret);
void pcw_names_free(struct pcw_names *n);
errcode_t pcw_names_add_exclude(struct pcw_names *n, const char *pattern);
/*
 * One --transform argument: expressions separated by ';', each
 * s/REGEX/REPLACEMENT/FLAGS (any delimiter; flags g, i, x, a number N, and
 * the scope flags r R s S h H) or flags=SCOPE (the default scope of the
 * expressions after it).  PCW_ET_BAD_TRANSFORM, and pcw_names_message()
 * says why; a refused argument adds nothing.
 */
errcode_t pcw_names_add_transform(struct pcw_names *n, const char *expr);
errcode_t pcw_names_set_strip(struct pcw_names *n, unsigned components);
const char *pcw_names_message(const struct pcw_names *n);

/* ---- sources: archives (libarchive) and host trees ------------------------------- */

struct pcw_source;

#define PCW_SOURCE_NO_XATTRS	0x0001	/* leave extended attributes and ACLs out */

struct pcw_source_params {
	int		flags;		/* PCW_SOURCE_* */
	unsigned	page_size;	/* the data iterator's page (0: 4096) */
	/*
	 * Host files the run must not read (the image, its undo or report
	 * file): SKIP says whether ST is one.  A tree leaves such an entry
	 * out with a warning, as tar does; an archive's data file (an mtree
	 * contents= file) that is one is an error.
	 */
	bool		(*skip)(void *arg, const struct stat *st);
	void		*skip_arg;
	/* A warning about PATH: libarchive's, or why an entry was left out. */
	void		(*warn)(void *arg, const char *path, const char *msg);
	void		*warn_arg;
	/*
	 * An archive on a pipe, socket or terminal is about to wait for more
	 * input: the moment to commit what is done (pcw_tree_commit).
	 */
	void		(*idle)(void *arg);
	void		*idle_arg;
	/* tar's path options, or NULL; it must outlive the source. */
	const struct pcw_names *names;
};

/*
 * An archive on FD (tar, cpio, zip, mtree, ..., any compression), NAME for
 * messages.  An mtree manifest's relative paths (contents=, or the entry's
 * own path) are taken from MTREE_DIR (NULL: the current directory); the
 * working directory is MTREE_DIR while the manifest is read.
 */
errcode_t pcw_source_open_archive(int fd, const char *name,
				  const char *mtree_dir,
				  const struct pcw_source_params *p,
				  struct pcw_source **ret);
/* The contents of host directory DIR, each directory in byte order. */
errcode_t pcw_source_open_tree(const char *dir,
			       const struct pcw_source_params *p,
			       struct pcw_source **ret);
/*
 * The next entry: 0, *entry and, for data to write (regular files, a hard
 * link that carries its inode's data), *data; PCW_ET_END after the last.
 * Both stay valid until the next call.  On error pcw_source_message() has
 * the source's own words and pcw_source_path() the entry, if any.
 */
errcode_t pcw_source_next(struct pcw_source *s, const struct pcw_entry **entry,
			  struct pcw_iter **data);
const char *pcw_source_message(const struct pcw_source *s);
const char *pcw_source_path(const struct pcw_source *s);
/*
 * A host tree's files removed or changed while it was read: each was
 * warned about ("file removed before we read it", "file changed as we
 * read it", as GNU tar says) and the walk went on; 0 for an archive.
 */
uint64_t pcw_source_changes(const struct pcw_source *s);
void pcw_source_close(struct pcw_source *s);

/* ---- trees: entries into the image --------------------------------------------------- */

struct pcw_tree;

#define PCW_TREE_PARENTS	0x0001	/* make DIR (and its parents) if missing */
#define PCW_TREE_NO_CLOBBER	0x0002	/* stop at an existing non-directory */
#define PCW_TREE_SET_UID	0x0004	/* every entry's owner is uid */
#define PCW_TREE_SET_GID	0x0008
#define PCW_TREE_SET_TIMES	0x0010	/* every timestamp is mtime (--mtime) */
#define PCW_TREE_CLAMP_TIMES	0x0020	/* newer times become mtime
					   (SOURCE_DATE_EPOCH) */
#define PCW_TREE_NO_XATTRS	0x0040	/* drop extended attributes */
#define PCW_TREE_PARENT_OWNER	0x1000	/* missing parents are owned by uid and
					   gid (the entries keep their own) */
#define PCW_TREE_ATTRS		0x2000	/* fill res->attrs and res->target (an
					   inode read an entry) */
#define PCW_TREE_ORDER_EVENTS	0x4000	/* no page or writeback event before
					   the PCW_EV_COMMIT of the entries
					   added before it: commit first */
#define PCW_TREE_HOLD_EVENTS	0x8000	/* the caller holds page and
					   writeback events, with the entries
					   before them, until PCW_EV_COMMIT:
					   the tree commits first only once
					   PCW_TREE_HELD_EVENTS wait */
#define PCW_TREE_HELD_EVENTS	4096

/*
 * A layer's whiteouts (DIR/.wh.NAME, DIR/.wh..wh..opq, other .wh..wh.
 * names): written as they are (LITERAL), applied to the image below
 * (OCI: NAME removed with what is under it, DIR's names that this run did
 * not write removed; nothing written for the markers), or written as
 * overlayfs keeps them in an upper directory (OVERLAY: a character device
 * 0/0 named NAME; trusted.overlay.opaque=y on DIR).  Other .wh..wh. names
 * are skipped in both.
 */
enum pcw_whiteouts {
	PCW_WHITEOUTS_LITERAL = 0,
	PCW_WHITEOUTS_OCI,
	PCW_WHITEOUTS_OVERLAY,
};

struct pcw_tree_params {
	int		flags;		/* PCW_TREE_* */
	uint32_t	uid, gid;
	int64_t		mtime;
	enum pcw_sparse	sparse;		/* for file data */
	struct pcw_file_params file;	/* page size, dirty limit, delalloc */
	/*
	 * Called for each entry before it is made, with a copy of it the
	 * caller may change (owner, permission bits); an error refuses the
	 * entry.  NULL: the entries as the source gives them.
	 */
	errcode_t	(*adjust)(void *arg, struct pcw_entry *e);
	void		*adjust_arg;
	enum pcw_whiteouts whiteouts;	/* container layers' .wh. names */
};

/* What pcw_tree_add did with an entry. */
enum pcw_action {
	PCW_ACTION_NONE = 0,	/* nothing (refused before it was made) */
	PCW_ACTION_CREATED,	/* a new name */
	PCW_ACTION_REPLACED,	/* an existing non-directory unlinked first */
	PCW_ACTION_MERGED,	/* an existing directory took the attributes */
	PCW_ACTION_KEPT,	/* what was there stays: a symlink to a
				   directory, a hard link already in place */
	PCW_ACTION_REMOVED,	/* a whiteout applied (what it names is
				   gone, if it was there) */
	PCW_ACTION_SKIPPED,	/* a whiteout's meta name, not written */
};
/* "created", "replaced", "merged", "kept", "removed", "skipped"; NULL for
   NONE */
const char *pcw_action_name(enum pcw_action action);

struct pcw_entry_result {
	const char	*path;		/* in the image: DIR/entry */
	enum pcw_ftype	type;
	enum pcw_action	action;
	struct pcw_attrs attrs;		/* what the entry's inode got (ino 0
					   when nothing was made) */
	const char	*target;	/* a symlink's target; a hard link's
					   target path in the image; or NULL */
	uint64_t	bytes;		/* data committed */
	struct pcw_file_info info;	/* for data written */
	bool		wrote_data;
	bool		committed;	/* this entry and every one before it
					   are in the image (not synced) */
};

/* Resolve (with PCW_TREE_PARENTS: make) DIR, the root of the entries. */
errcode_t pcw_tree_open(pcw_fs *pfs, const char *dir,
			const struct pcw_tree_params *p, struct pcw_tree **ret);
/*
 * Make ENTRY under DIR, its data from DATA.  A leading '/' is stripped; a
 * '..' component is refused (PCW_ET_DOTDOT); symlinks that were in the
 * image are followed, symlinks this run made never are
 * (PCW_ET_NEW_SYMLINK).  An existing non-directory is replaced (not with
 * PCW_TREE_NO_CLOBBER: PCW_ET_EXISTS), an existing directory takes the
 * entry's attributes, a directory is never replaced by a non-directory
 * (PCW_ET_IS_DIR).  *res says what was done, also on error.
 */
errcode_t pcw_tree_add(struct pcw_tree *t, const struct pcw_entry *entry,
		       struct pcw_iter *data, struct pcw_entry_result *res);
/*
 * Entries are committed (written from libext2fs's block cache to the
 * image, not synced) in batches: pcw_tree_add commits after an error, and
 * after a batch of entries or of time, and then sets res->committed.
 * pcw_tree_commit commits now: before waiting for more input, or to show
 * what is done.
 */
errcode_t pcw_tree_commit(struct pcw_tree *t);
/* Set the directories' times, after their children, commit; free T. */
errcode_t pcw_tree_close(struct pcw_tree *t);

/* ---- owners by name: the image's /etc/passwd and /etc/group (idnames.c) --------- */

enum pcw_id_kind {
	PCW_ID_USER,		/* /etc/passwd */
	PCW_ID_GROUP,		/* /etc/group */
};

/*
 * NAME's id in the image's /etc/passwd or /etc/group as the image holds
 * them now, what this run wrote included; never the host's.  The path is
 * resolved inside the image, its symlinks followed (the last one too); the
 * lines are parsed as getpwnam(3) parses them, the first with NAME wins.
 * Returns 0 and *id; PCW_ET_NO_SUCH_USER or PCW_ET_NO_SUCH_GROUP when no
 * line has NAME or the file does not exist; PCW_ET_NAMES_FILE when it is
 * not a regular file of at most 64 MiB; an error reading it.  Each file is
 * read again only when it changed.
 */
errcode_t pcw_id_lookup(pcw_fs *pfs, enum pcw_id_kind kind, const char *name,
			uint32_t *id);

/* ---- reading: the names in a directory (list.c) ---------------------------------- */

struct pcw_list_params {
	uint64_t	image_offset;	/* byte offset of the filesystem in IMAGE */
};

/* One name of the directory (not "." or ".."); non-zero stops the listing. */
typedef errcode_t (*pcw_list_fn)(void *arg, const char *name, size_t len,
				 enum pcw_ftype type);

/*
 * Call FN for every name in directory DIR (an absolute path, resolved as a
 * DEST is, symlinks followed, the last one too) of the filesystem in IMAGE,
 * in the directory's own order.  Read-only: no lock, no write, none of the
 * refusals a write makes (a mounted image is listed).  P may be NULL.
 * Returns ENOENT, ENOTDIR, PCW_ET_SYMLINK_LOOP, FN's error, or what opening
 * the image gives (PCW_ET_NOT_EXT, PCW_ET_OFFSET_PAST_END, ...).
 */
errcode_t pcw_list_dir(const char *image, const struct pcw_list_params *p,
		       const char *dir, pcw_list_fn fn, void *arg);

/* ---- partitions: where a filesystem starts in a disk image (partition.c) -------- */

struct pcw_partition {
	uint64_t	start;		/* byte offset in the disk image */
	uint64_t	size;		/* bytes */
};

/*
 * Partition NUMBER of the MBR or GPT partition table of IMAGE (a disk image
 * or a whole-disk block device), numbered as the kernel numbers them: 1-4
 * primary, 5 on logical (MBR), 1 on (GPT).  Read with libblkid.  Returns
 * PCW_ET_NO_PARTITION_TABLE, PCW_ET_NO_PARTITION (an extended partition
 * too: it holds no filesystem), or errno.  Pass start and size as
 * pcw_open_params' image_offset and image_size.
 */
errcode_t pcw_partition_find(const char *image, unsigned number,
			     struct pcw_partition *part);

/* ---- errors ------------------------------------------------------------------------ */

/*
 * The errno value CODE stands for: itself for an errno value; for
 * libpcwrite's and libext2fs's codes, what the kernel returns for the same
 * condition (PCW_ET_NO_PARENT is ENOENT, PCW_ET_CORRUPT EUCLEAN, ...); EIO
 * for the rest.  error_message(CODE) has the words.
 */
int pcw_error_errno(errcode_t code);
/*
 * Does CODE, returned by pcw_tree_add, concern that entry only (its name,
 * type, attributes, a link's target, the name it would replace), so that a
 * run can skip the entry and go on?  pcw_tree_add has then undone it: the
 * image holds nothing of it.  False for what concerns the image or the run
 * (ENOSPC, EIO, a damaged image, a signal, the source's errors).
 */
bool pcw_error_entry_only(errcode_t code);

/* ---- signals ------------------------------------------------------------------- */

/* Async-signal-safe: record that SIGNO arrived; the loop stops at the next page. */
void pcw_signal_notify(int signo);
/* The first signal recorded, or 0. */
int pcw_signal_pending(void);

#endif /* PCWRITE_H */
