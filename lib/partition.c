/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * partition.c: where partition N of a disk image starts, from its MBR or
 * GPT partition table, read with libblkid (the same code that names the
 * kernel's /dev/sdXN for udev).  Partitions are numbered as the kernel and
 * fdisk number them: 1 to 4 for an MBR's primary ones, 5 on for the logical
 * ones in its extended partition, 1 on for GPT entries.
 */
#include "config.h"

#include <errno.h>
#include <blkid.h>

#include "host.h"

errcode_t pcw_partition_find(const char *image, unsigned number,
			     struct pcw_partition *part)
{
	blkid_probe pr;
	blkid_partlist ls;
	blkid_partition par;
	errcode_t err = PCW_ET_NO_PARTITION_TABLE;
	int i, n;

	pr = blkid_new_probe_from_filename(image);
	if (!pr)
		return errno ? (errcode_t)errno : PCW_ET_NO_PARTITION_TABLE;
	if (blkid_probe_enable_partitions(pr, 1) ||
	    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS)) {
		err = ENOMEM;
		goto out;
	}
	ls = blkid_probe_get_partitions(pr);
	if (!ls || !blkid_partlist_get_table(ls))
		goto out;
	err = PCW_ET_NO_PARTITION;
	n = blkid_partlist_numof_partitions(ls);
	for (i = 0; i < n; i++) {
		par = blkid_partlist_get_partition(ls, i);
		if (!par || blkid_partition_get_partno(par) != (int)number)
			continue;
		/* An extended partition holds a table, not a filesystem. */
		if (blkid_partition_is_extended(par))
			break;
		part->start = (uint64_t)blkid_partition_get_start(par) * 512;
		part->size = (uint64_t)blkid_partition_get_size(par) * 512;
		err = 0;
		break;
	}
out:
	blkid_free_probe(pr);
	return err;
}
