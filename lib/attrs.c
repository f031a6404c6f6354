/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attrs.c: what an inode was given, read back from it for a report: the
 * permission bits, owner, modification time and device numbers, decoded
 * as the kernel reads them (ext4_decode_extra_time, old_decode_dev and
 * new_decode_dev).
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "base.h"

const char *pcw_action_name(enum pcw_action action)
{
	static const char *const names[] = {
		[PCW_ACTION_CREATED] = "created",
		[PCW_ACTION_REPLACED] = "replaced",
		[PCW_ACTION_MERGED] = "merged",
		[PCW_ACTION_KEPT] = "kept",
		[PCW_ACTION_REMOVED] = "removed",
		[PCW_ACTION_SKIPPED] = "skipped",
	};

	if ((unsigned)action >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[action];
}

void pcw_inode_attrs(ext2_ino_t ino, const struct ext2_inode_large *in,
		     struct pcw_attrs *a)
{
	size_t extra_end = offsetof(struct ext2_inode_large, i_mtime_extra) +
			   sizeof(in->i_mtime_extra);

	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = in->i_mode & 07777;
	a->uid = inode_uid(*in);
	a->gid = inode_gid(*in);
	/* 32 signed bits of seconds, two epoch bits and the nanoseconds */
	a->mtime = (int32_t)in->i_mtime;
	if (EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize >= extra_end) {
		a->mtime += (int64_t)(in->i_mtime_extra & 3) << 32;
		a->mtime_nsec = in->i_mtime_extra >> 2;
	}
	if (LINUX_S_ISCHR(in->i_mode) || LINUX_S_ISBLK(in->i_mode)) {
		uint32_t old = ext2fs_le32_to_cpu(in->i_block[0]);
		uint32_t dev = ext2fs_le32_to_cpu(in->i_block[1]);

		if (old) {
			a->rdev_major = (old >> 8) & 0xff;
			a->rdev_minor = old & 0xff;
		} else {
			a->rdev_major = (dev & 0xfff00) >> 8;
			a->rdev_minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
		}
	}
}
