/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host.h: layer 2: what the host sees (host.c, partition.c) and the checks
 * before the first write (check.c).
 */
#ifndef PCW_HOST_H
#define PCW_HOST_H

#include "base.h"
/* host.c: the block devices of the system, as the checks of fs.c see them */
struct pcw_bdev {
	char		name[32];	/* sysfs name: "loop0p2"; node /dev/NAME */
	dev_t		rdev;
	dev_t		whole;		/* its whole disk (rdev for a disk) */
	bool		partition;
	struct pcw_host_id id;		/* where its bytes are */
};
/*
 * Every block device whose bytes overlap ID: PCW_ET_MOUNTED, PCW_ET_BUSY or
 * PCW_ET_DEV_UNCHECKED (conflict names it) when one is mounted, held or
 * cannot be opened; else 0 and the list of them but SELF (the image's own
 * device, or 0), which is checked too.  An errno when /sys/class/block
 * cannot be read.
 */
errcode_t pcw_host_check_devices(const struct pcw_host_id *id, dev_t self,
				 struct pcw_conflict *conflict,
				 struct pcw_bdev **ret, size_t *nret);
/*
 * BLKFLSBUF each; PCW_ET_FLUSH (conflict names it) if a loop device's
 * failed (a disk's is best effort: it needs CAP_SYS_ADMIN).
 */
errcode_t pcw_host_flush_devices(const struct pcw_bdev *devs, size_t n,
				 struct pcw_conflict *conflict);
/* The regular file under loop device (or partition) RDEV. */
errcode_t pcw_host_backing(dev_t rdev, char *path, size_t len);

/*
 * validate.c: the system zone (metadata, journal, bad blocks), as the
 * kernel's block_validity.c.  pcw_validity_attach (at the first write, and
 * on the handle --undo opens) routes libext2fs's block allocations through
 * pcw_inode_block_valid: [start, start+len) is inside the filesystem and
 * outside the zone, as ext4_inode_block_valid (0 or PCW_ET_CORRUPT); also
 * for the blocks of existing files written into or freed.
 */
struct pcw_validity;
errcode_t pcw_validity_attach(pcw_fs *pfs);
void pcw_validity_free(pcw_fs *pfs);
errcode_t pcw_inode_block_valid(ext2_filsys fs, blk64_t start, blk64_t len);
/* ext4_iget's checks: INODE's xattr block and block map root, the same way */
errcode_t pcw_iget_check(ext2_filsys fs, const struct ext2_inode_large *inode);

/* check.c: refusals before the first write (pcw_fs_open) */
errcode_t pcw_check_state(ext2_filsys fs);
errcode_t pcw_check_layout(ext2_filsys fs);
errcode_t pcw_check_metadata_in_use(ext2_filsys fs);

#endif /* PCW_HOST_H */
