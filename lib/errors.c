/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errors.c: the errno value an error code stands for.
 *
 * libpcwrite returns errno values, libext2fs codes and its own (pcw_err.et).
 * A report that a script reads names an error by its errno ("ENOSPC"), as
 * the kernel would have returned it for the same condition on a mounted
 * filesystem: a missing parent is ENOENT, a name over 255 bytes
 * ENAMETOOLONG, a corrupt filesystem EUCLEAN (the kernel's EFSCORRUPTED),
 * a path leaving the tree EXDEV (openat2's RESOLVE_BENEATH).
 */
#include "config.h"

#include <errno.h>
#include <ext2fs/ext2_err.h>

#include "base.h"

static const struct {
	errcode_t	code;
	int		errnum;
} errnos[] = {
	{ PCW_ET_MAGIC_FS,		EINVAL },
	{ PCW_ET_MAGIC_MAPPING,		EINVAL },
	{ PCW_ET_LOCKED,		EWOULDBLOCK },
	{ PCW_ET_MOUNTED,		EBUSY },
	{ PCW_ET_BUSY,			EBUSY },
	{ PCW_ET_NOT_EXT,		EINVAL },
	{ PCW_ET_NEEDS_RECOVERY,	EUCLEAN },
	{ PCW_ET_HAS_ERRORS,		EUCLEAN },
	{ PCW_ET_NOT_CLEAN,		EUCLEAN },
	{ PCW_ET_ORPHANS,		EUCLEAN },
	{ PCW_ET_READONLY_FS,		EROFS },
	{ PCW_ET_QUOTA,			EOPNOTSUPP },
	{ PCW_ET_UNSUPP_FEATURE,	EOPNOTSUPP },
	{ PCW_ET_RELATIVE_PATH,		EINVAL },
	{ PCW_ET_NO_PARENT,		ENOENT },
	{ PCW_ET_NOT_DIR,		ENOTDIR },
	{ PCW_ET_IS_DIR,		EISDIR },
	{ PCW_ET_DEST_SYMLINK,		ELOOP },	/* O_NOFOLLOW */
	{ PCW_ET_NOT_REGULAR,		EINVAL },
	{ PCW_ET_NAME_TOO_LONG,		ENAMETOOLONG },
	{ PCW_ET_SYMLINK_LOOP,		ELOOP },
	{ PCW_ET_EXISTS,		EEXIST },
	{ PCW_ET_NO_INODES,		ENOSPC },
	{ PCW_ET_UNSUPP_INODE,		EOPNOTSUPP },
	{ PCW_ET_BAD_PAGE_SIZE,		EINVAL },
	{ PCW_ET_FILE_TOO_BIG,		EFBIG },
	{ PCW_ET_CORRUPT,		EUCLEAN },
	{ PCW_ET_DIR_INDEX_FULL,	ENOSPC },
	{ PCW_ET_NEW_SYMLINK,		ELOOP },	/* RESOLVE_NO_SYMLINKS */
	{ PCW_ET_END,			0 },
	{ PCW_ET_DOTDOT,		EXDEV },	/* RESOLVE_BENEATH */
	{ PCW_ET_ARCHIVE,		EIO },
	{ PCW_ET_SIZE_MISMATCH,		EIO },
	{ PCW_ET_IS_IMAGE,		EINVAL },
	{ PCW_ET_NO_XATTR,		EOPNOTSUPP },
	{ PCW_ET_XATTR_SPACE,		ENOSPC },
	{ PCW_ET_BAD_ACL,		EINVAL },
	{ PCW_ET_LINK_TARGET,		ENOENT },
	{ PCW_ET_BAD_ENTRY,		EOPNOTSUPP },
	{ PCW_ET_ID_RANGE,		EOVERFLOW },
	{ PCW_ET_SOURCE,		EIO },
	{ PCW_ET_NO_DIR,		ENOENT },
	{ PCW_ET_DEV_UNCHECKED,		EBUSY },
	{ PCW_ET_FLUSH,			EIO },
	{ PCW_ET_UNDO_EXISTS,		EEXIST },
	{ PCW_ET_UNDO_REPLACED,		ESTALE },
	{ PCW_ET_UNDO_INCOMPLETE,	EIO },
	{ PCW_ET_HOST_IMAGE,		EINVAL },
	{ PCW_ET_HOST_UNDO,		EINVAL },
	{ PCW_ET_HOST_REPORT,		EINVAL },
	{ PCW_ET_HOST_SOURCE,		EINVAL },
	{ PCW_ET_STDIN_CLOSED,		EBADF },
	{ PCW_ET_STDOUT_CLOSED,		EBADF },
	{ PCW_ET_STDERR_CLOSED,		EBADF },
	{ PCW_ET_OFFSET_PAST_END,	ENXIO },
	{ PCW_ET_NO_FS_AT_OFFSET,	EINVAL },
	{ PCW_ET_NO_PARTITION_TABLE,	ENXIO },
	{ PCW_ET_NO_PARTITION,		ENXIO },
	{ PCW_ET_FS_PAST_PARTITION,	EINVAL },
	{ PCW_ET_XATTR_TOO_BIG,		E2BIG },	/* setxattr(2) */
	{ PCW_ET_MAGIC_JOURNAL,		EINVAL },
	{ PCW_ET_NO_JOURNAL,		EINVAL },
	{ PCW_ET_ATOMIC_NO_JOURNAL,	EINVAL },
	{ PCW_ET_JOURNAL_EXTERNAL,	EOPNOTSUPP },
	{ PCW_ET_JOURNAL_FAST_COMMIT,	EOPNOTSUPP },
	{ PCW_ET_JOURNAL_UNSUPP,	EOPNOTSUPP },
	{ PCW_ET_JOURNAL_CORRUPT,	EUCLEAN },
	{ PCW_ET_JOURNAL_TX_TOO_BIG,	ENOSPC },	/* start_this_handle */
	{ PCW_ET_JOURNAL_ABORTED,	EROFS },	/* the kernel's aborted journal */
	{ PCW_ET_SLASH_NOT_DIR,		ENOTDIR },	/* cp f missing/ */
	{ PCW_ET_DEVNUM_RANGE,		EOVERFLOW },
	{ PCW_ET_NO_SUCH_USER,		ENOENT },
	{ PCW_ET_NO_SUCH_GROUP,		ENOENT },
	{ PCW_ET_NAMES_FILE,		EINVAL },
	{ PCW_ET_COMMIT_IN_CALLBACK,	EDEADLK },	/* a commit that waits on itself */
	{ PCW_ET_IMMUTABLE,		EPERM },
	{ PCW_ET_DIR_IMMUTABLE,		EPERM },
	{ PCW_ET_DIR_APPEND,		EPERM },
	{ PCW_ET_DIR_CASEFOLD,		EOPNOTSUPP },
	{ PCW_ET_DIR_ENCRYPTED,		EOPNOTSUPP },
	/* ext4_add_entry in strict mode: utf8_validate fails */
	{ PCW_ET_DIR_NAME_ENCODING,	EINVAL },
	{ PCW_ET_MAGIC_NAMES,		EINVAL },
	{ PCW_ET_BAD_TRANSFORM,		EINVAL },
	/* FS_IOC_FSSETXATTR with a project id where there is no project feature */
	{ PCW_ET_NO_PROJECT,		EOPNOTSUPP },
	{ PCW_ET_IMAGE_SHORT,		EINVAL },
	{ PCW_ET_IMAGE_SHRANK,		EIO },
	{ PCW_ET_FSIZE_LIMIT,		EFBIG },
	{ PCW_ET_LEFT_NOT_CLEAN,	EUCLEAN },
	{ PCW_ET_LEFT_JOURNAL,		EUCLEAN },	/* as NEEDS_RECOVERY */
	{ PCW_ET_UNDO_NOSPC,		ENOSPC },
	{ PCW_ET_UNDO_DQUOT,		EDQUOT },
	{ PCW_ET_UNDO_FBIG,		EFBIG },
	{ PCW_ET_UNDO_IO,		EIO },
	/* the libext2fs codes pcwrite meets */
	{ EXT2_ET_BLOCK_ALLOC_FAIL,	ENOSPC },
	{ EXT2_ET_INODE_ALLOC_FAIL,	ENOSPC },
	{ EXT2_ET_DIR_NO_SPACE,		ENOSPC },
	{ EXT2_ET_NO_MEMORY,		ENOMEM },
	{ EXT2_ET_FILE_NOT_FOUND,	ENOENT },
	{ EXT2_ET_NO_DIRECTORY,		ENOTDIR },
	{ EXT2_ET_SYMLINK_LOOP,		ELOOP },
	{ EXT2_ET_FILE_TOO_BIG,		EFBIG },
	{ EXT2_ET_SHORT_READ,		EIO },
	{ EXT2_ET_SHORT_WRITE,		EIO },
	{ EXT2_ET_UNSUPP_FEATURE,	EOPNOTSUPP },
	{ EXT2_ET_RO_UNSUPP_FEATURE,	EOPNOTSUPP },
	{ EXT2_ET_BAD_MAGIC,		EINVAL },
};

int pcw_error_errno(errcode_t err)
{
	size_t i;

	if (err >= 0 && err < 4096)
		return (int)err;
	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].code == err)
			return errnos[i].errnum;
	return EIO;
}

/*
 * Errors that concern one entry of a tree or an archive, and nothing else:
 * its name or path, its type, its device numbers, its owner's name, its
 * extended attributes, the name already in the image it would replace, a
 * hard link's target, the flags of the directory it goes in.  The run can
 * go on without it, as tar goes on after "Cannot open: File exists" (exit
 * 2) and bsdtar after a refused entry (exit 1).  Everything else (ENOSPC,
 * EIO, a damaged image, a signal, the source's own errors) concerns the
 * image or the run, and stops it.
 */
bool pcw_error_entry_only(errcode_t code)
{
	switch (code) {
	case PCW_ET_DOTDOT:		/* hostile names */
	case PCW_ET_NAME_TOO_LONG:
	case PCW_ET_NEW_SYMLINK:
	case PCW_ET_SYMLINK_LOOP:
	case PCW_ET_NOT_DIR:		/* a path through a file */
	case PCW_ET_IS_DIR:		/* a file over a directory */
	case PCW_ET_EXISTS:		/* -n, tar's --keep-old-files */
	case PCW_ET_LINK_TARGET:
	case PCW_ET_BAD_ENTRY:
	case PCW_ET_DEVNUM_RANGE:
	case PCW_ET_ID_RANGE:
	case PCW_ET_NO_SUCH_USER:	/* a map's name the image lacks */
	case PCW_ET_NO_SUCH_GROUP:
	case PCW_ET_NO_XATTR:		/* xattrs that do not fit */
	case PCW_ET_XATTR_SPACE:
	case PCW_ET_XATTR_TOO_BIG:
	case PCW_ET_BAD_ACL:
	case PCW_ET_IMMUTABLE:		/* chattr +i, +a, as the kernel */
	case PCW_ET_DIR_IMMUTABLE:
	case PCW_ET_DIR_APPEND:
	case PCW_ET_DIR_CASEFOLD:
	case PCW_ET_DIR_ENCRYPTED:
	case ENAMETOOLONG:		/* a symlink's target */
	case EMLINK:			/* a hard link's target, or a parent */
		return true;
	default:
		return false;
	}
}

int pcw_errno(errcode_t err)
{
	if (err > 0 && err < 4096)
		return (int)err;
	switch (err) {
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case PCW_ET_DIR_INDEX_FULL:
		return ENOSPC;
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case PCW_ET_FILE_TOO_BIG:
		return EFBIG;
	default:
		return EIO;
	}
}

/*
 * ext2fs_open2's error for IMAGE at OFFSET, as the caller should see it:
 * libext2fs says "bad magic" or "short read" for anything that is not a
 * filesystem, and an offset past the end of the image is neither.
 */
errcode_t pcw_open_error(const char *image, uint64_t offset, errcode_t err)
{
	blk64_t bytes;

	if (err == EBUSY)
		return PCW_ET_BUSY;
	if (err != EXT2_ET_BAD_MAGIC && err != EXT2_ET_SHORT_READ &&
	    err != EXT2_ET_UNEXPECTED_BLOCK_SIZE && err != EXT2_ET_SB_CSUM_INVALID)
		return err;
	if (offset && ext2fs_get_device_size2(image, 1, &bytes) == 0 &&
	    offset >= bytes)
		return PCW_ET_OFFSET_PAST_END;
	if (err == EXT2_ET_SB_CSUM_INVALID)
		return err;
	return offset ? PCW_ET_NO_FS_AT_OFFSET : PCW_ET_NOT_EXT;
}
