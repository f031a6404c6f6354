/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * times.c: timestamps as ext4 stores them, and the run's "now".
 *
 * An inode's time is a 32-bit base (i_mtime, ...), read as signed, and,
 * when the inode's i_extra_isize covers it, an "extra" word: two epoch bits
 * that add multiples of 2^32 seconds to the base, and the nanoseconds above
 * them (fs/ext4/ext4.h: ext4_encode_extra_time, EXT4_INODE_SET_XTIME).  A
 * time from 1901-12-13 to 1969 is a negative base with epoch 0.
 *
 * What an inode cannot hold is clamped, as the kernel clamps it: first to
 * the superblock's range (timestamp_truncate with s_time_min/s_time_max,
 * which the inode size sets), then per inode by its i_extra_isize:
 *
 *	extra word in the inode	-2^31 .. 2^34 - 1 - 2^31 (15032385535),
 *				1901-12-13 .. 2446-05-10, nanoseconds kept
 *	no extra word		-2^31 .. 2^31 - 1, 1901-12-13 .. 2038-01-19,
 *				whole seconds (128-byte inodes: every inode)
 *
 * and a time at a bound loses its nanoseconds (timestamp_truncate).  For an
 * inode without the extra word on a filesystem with large inodes (an inode
 * an old kernel made), the kernel clamps to the large range first and then
 * casts the seconds to 32 bits (clamp_t(int32_t, ...)), which wraps a time
 * past 2038; pcwrite clamps to the 32-bit range instead.
 *
 * e2fsck 1.47 takes a time with epoch 3 and the base's top bit set
 * (2310-04-04 .. 2378-04-22) for one an old kernel wrote for a date before
 * 1970 and asks to fix it ("likely pre-1970"), while today's date is before
 * 2242; the kernel writes those times that way, and so does pcwrite.
 */
#include "config.h"

#include <time.h>

#include "inode.h"

#define TIME_MIN		((int64_t)INT32_MIN)
#define TIME_MAX_EXTRA		(((int64_t)1 << 34) - 1 + INT32_MIN)
#define TIME_MAX_BASE		((int64_t)INT32_MAX)
#define NSEC_PER_SEC		1000000000U

void pcw_time_init(pcw_fs *pfs, int64_t fixed)
{
	struct timespec ts;

	/* A reproducible run: the fixed second, no nanoseconds. */
	if (fixed >= 0) {
		pfs->now = (time_t)fixed;
		pfs->now_nsec = 0;
		pfs->fixed_time = true;
		return;
	}
	/* current_time(): the kernel's clock, to the nanosecond. */
	clock_gettime(CLOCK_REALTIME, &ts);
	pfs->now = ts.tv_sec;
	pfs->now_nsec = (uint32_t)ts.tv_nsec;
}

/* The epoch bits of SEC: how many 2^32 it is past its signed low 32 bits. */
static uint32_t epoch_bits(int64_t sec)
{
	uint32_t low = (uint32_t)sec;
	int64_t base = low >= 0x80000000U ? (int64_t)low - ((int64_t)1 << 32)
					  : (int64_t)low;

	return (uint32_t)((sec - base) >> 32) & 3;
}

/* Does the inode's extra space reach the end of the field at OFFSET? */
static bool fits(const struct ext2_inode_large *inode, size_t offset)
{
	return (size_t)EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize >=
	       offset + sizeof(uint32_t);
}

#define EXTRA_OFFSET(field) offsetof(struct ext2_inode_large, field)

/* One time into BASE (and EXTRA, when the inode has it), clamped. */
static void store(pcw_fs *pfs, uint32_t *base, uint32_t *extra,
		  int64_t sec, uint32_t nsec)
{
	bool large = EXT2_INODE_SIZE(pfs->fs->super) >=
		     EXTRA_OFFSET(i_atime_extra) + sizeof(uint32_t);
	int64_t max = large && extra ? TIME_MAX_EXTRA : TIME_MAX_BASE;

	if (nsec >= NSEC_PER_SEC)
		nsec = NSEC_PER_SEC - 1;
	if (!large || !extra)
		nsec = 0;		/* s_time_gran of a second */
	if (sec < TIME_MIN || sec > max) {
		if (!pfs->clamps.count++) {
			pfs->clamps.min = TIME_MIN;
			pfs->clamps.max = max;
		}
		sec = sec < TIME_MIN ? TIME_MIN : max;
	}
	if (sec == TIME_MIN || sec == max)
		nsec = 0;
	*base = (uint32_t)sec;
	if (extra)
		*extra = epoch_bits(sec) | nsec << 2;
}

void pcw_inode_set_times(pcw_fs *pfs, struct ext2_inode_large *inode,
			 int which, int64_t sec, uint32_t nsec)
{
	if (which & PCW_TIME_M)
		store(pfs, &inode->i_mtime, fits(inode,
		      EXTRA_OFFSET(i_mtime_extra)) ? &inode->i_mtime_extra
						   : NULL, sec, nsec);
	if (which & PCW_TIME_A)
		store(pfs, &inode->i_atime, fits(inode,
		      EXTRA_OFFSET(i_atime_extra)) ? &inode->i_atime_extra
						   : NULL, sec, nsec);
	if (which & PCW_TIME_C)
		store(pfs, &inode->i_ctime, fits(inode,
		      EXTRA_OFFSET(i_ctime_extra)) ? &inode->i_ctime_extra
						   : NULL, sec, nsec);
	/* The creation time has no 32-bit field of its own to fall back on. */
	if ((which & PCW_TIME_CR) && fits(inode, EXTRA_OFFSET(i_crtime_extra)))
		store(pfs, &inode->i_crtime, &inode->i_crtime_extra, sec, nsec);
}

void pcw_inode_set_now(pcw_fs *pfs, struct ext2_inode_large *inode, int which)
{
	pcw_inode_set_times(pfs, inode, which, pfs->now, pfs->now_nsec);
}

/*
 * Does INODE's ctime hold the run's now as pcw_inode_set_now would store
 * it?  Computed as that stores it (the clamp counted the same way), into
 * locals: the inode is not changed.
 */
bool pcw_inode_ctime_is_now(pcw_fs *pfs, const struct ext2_inode_large *inode)
{
	bool extra = fits(inode, EXTRA_OFFSET(i_ctime_extra));
	uint32_t base, ex = 0;

	store(pfs, &base, extra ? &ex : NULL, pfs->now, pfs->now_nsec);
	return base == inode->i_ctime && (!extra || ex == inode->i_ctime_extra);
}

/*
 * libarchive splits a pax time "-315619199.75" into -315619199 s and
 * 750000000 ns: the sign goes to the whole seconds only, so the pair means
 * -315619198.25.  POSIX means the decimal number, and GNU tar extracts it
 * (as a kernel mount shows) as -315619200 s + 250000000 ns: turn the one
 * into the other.  A time between -1 and 0 ("-0.25") comes from libarchive
 * as 0 s + 250000000 ns, its sign lost: it stays +0.25 s.
 */
void pcw_pax_time(int64_t *sec, uint32_t *nsec)
{
	if (*sec < 0 && *nsec && *nsec < NSEC_PER_SEC) {
		*sec -= 1;
		*nsec = NSEC_PER_SEC - *nsec;
	}
}

void pcw_fs_time_clamps(const pcw_fs *pfs, struct pcw_time_clamps *c)
{
	*c = pfs->clamps;
}
