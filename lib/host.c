/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host.c: which host names reach the same bytes, and which block devices
 * are mounted or held over them.
 *
 * A file is its st_dev and st_ino.  A block device is followed down to
 * what holds its bytes: a partition to its whole disk plus the partition's
 * start (sysfs "start", "size"), a loop device to its backing file plus the
 * loop's offset (sysfs loop/backing_file, loop/offset, or LOOP_GET_STATUS64
 * where the backing path cannot be reached), and a loop device over a
 * block device further down.  What is left at the bottom is a regular file
 * or a disk, with a byte range; two names overlap when they end on the same
 * one with ranges that meet.  ext2fs_check_if_mounted() knows loop devices
 * but not their offsets nor their partitions (major 259): this file is what
 * pcwrite uses instead.
 *
 * "Mounted" is a line of /proc/self/mountinfo with the device's major:minor;
 * "held" is an O_EXCL open that fails with EBUSY, which is how the kernel
 * answers for a mount in another namespace, swap, md or device-mapper, and
 * another pcwrite writing through that device.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host.h"

/* Loop devices over loop devices: deeper than this is not followed. */
#define MAX_DEPTH	8

/* ---- sysfs --------------------------------------------------------------- */

/* The first line of DIR/NAME, without its newline; -1 when unreadable. */
static int sysfs_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int sysfs_u64(const char *dir, const char *name, uint64_t *v)
{
	char buf[64], *end;

	if (sysfs_read(dir, name, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return (errno || end == buf) ? -1 : 0;
}

static int sysfs_dev(const char *dir, dev_t *dev)
{
	char buf[64];
	unsigned maj, min;

	if (sysfs_read(dir, "dev", buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -1;
	*dev = makedev(maj, min);
	return 0;
}

/* The sysfs directory of block device DEV, resolved. */
static int sysfs_dir(dev_t dev, char *dir)
{
	char link[64];

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	return realpath(link, dir) ? 0 : -1;
}

/*
 * Open the node of block device DEV named NAME (its sysfs name): /dev/NAME,
 * checked to be that device.  -1 with errno otherwise.
 */
static int open_node(const char *name, dev_t dev, int flags)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
		close(fd);
		errno = ENODEV;
		return -1;
	}
	return fd;
}

/* ---- identities ---------------------------------------------------------- */

static errcode_t resolve_bdev(dev_t rdev, int depth, struct pcw_host_id *id,
			      char *backing, size_t blen);

/*
 * The loop device whose sysfs directory is WHOLE, of device number DEV:
 * its backing file, and the offset of the loop's first byte in it.
 */
static errcode_t resolve_loop(const char *whole, dev_t dev, int depth,
			      struct pcw_host_id *id, uint64_t *offset,
			      char *backing, size_t blen)
{
	char path[PATH_MAX], loopdir[PATH_MAX];
	struct loop_info64 info;
	struct stat st;
	int fd;

	snprintf(loopdir, sizeof(loopdir), "%s/loop", whole);
	if (sysfs_read(loopdir, "backing_file", path, sizeof(path)) == 0 &&
	    sysfs_u64(loopdir, "offset", offset) == 0 &&
	    stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode)) {
			memset(id, 0, sizeof(*id));
			id->kind = PCW_HOST_FILE;
			id->dev = st.st_dev;
			id->ino = st.st_ino;
			id->end = UINT64_MAX;
			if (backing && strlen(path) < blen)
				strcpy(backing, path);
			return 0;
		}
		if (S_ISBLK(st.st_mode) && depth < MAX_DEPTH)
			return resolve_bdev(st.st_rdev, depth + 1, id, backing,
					    blen);
	}
	/*
	 * The backing path is gone (renamed over, deleted, another mount
	 * namespace): ask the driver, which kept the inode's numbers.
	 */
	fd = open_node(strrchr(whole, '/') + 1, dev, O_RDONLY);
	if (fd < 0)
		return errno;
	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0) {
		errcode_t err = errno;

		close(fd);
		return err;
	}
	close(fd);
	memset(id, 0, sizeof(*id));
	id->kind = PCW_HOST_FILE;
	id->dev = (dev_t)info.lo_device;
	id->ino = (ino_t)info.lo_inode;
	id->end = UINT64_MAX;
	*offset = info.lo_offset;
	if (backing && blen)
		backing[0] = '\0';
	return 0;
}

/*
 * Block device RDEV down to its bottom; BACKING (when not NULL) gets the
 * path of the regular file at the bottom of a loop device, or "".
 */
static errcode_t resolve_bdev(dev_t rdev, int depth, struct pcw_host_id *id,
			      char *backing, size_t blen)
{
	char dir[PATH_MAX], whole[PATH_MAX], loopdir[PATH_MAX + 8], buf[16];
	uint64_t base = 0, sectors, loff;
	dev_t whole_dev = rdev;
	struct pcw_host_id below;
	errcode_t err;

	if (backing && blen)
		backing[0] = '\0';
	memset(id, 0, sizeof(*id));
	id->kind = PCW_HOST_DISK;
	id->dev = rdev;
	id->end = UINT64_MAX;
	id->named = rdev;
	/* Without sysfs, the device is only itself. */
	if (sysfs_dir(rdev, dir) || sysfs_u64(dir, "size", &sectors))
		return 0;
	strcpy(whole, dir);
	if (sysfs_read(dir, "partition", buf, sizeof(buf)) == 0) {
		char *slash = strrchr(whole, '/');

		if (!slash || sysfs_u64(dir, "start", &base))
			return 0;
		*slash = '\0';
		if (sysfs_dev(whole, &whole_dev))
			return 0;
		base *= 512;
	}
	snprintf(loopdir, sizeof(loopdir), "%s/loop", whole);
	if (access(loopdir, F_OK) == 0) {
		err = resolve_loop(whole, whole_dev, depth, &below, &loff,
				   backing, blen);
		if (err)
			return 0;	/* a loop device we cannot see into */
		if (loff > UINT64_MAX - base ||
		    below.start > UINT64_MAX - base - loff)
			return 0;
		id->kind = below.kind;
		id->dev = below.dev;
		id->ino = below.ino;
		base += below.start + loff;
	} else {
		id->dev = whole_dev;
	}
	id->start = base;
	id->end = sectors > (UINT64_MAX - base) / 512 ? UINT64_MAX :
		  base + sectors * 512;
	return 0;
}

errcode_t pcw_host_id_stat(const struct stat *st, struct pcw_host_id *id)
{
	memset(id, 0, sizeof(*id));
	if (S_ISREG(st->st_mode)) {
		id->kind = PCW_HOST_FILE;
		id->dev = st->st_dev;
		id->ino = st->st_ino;
		id->end = UINT64_MAX;
		return 0;
	}
	if (S_ISBLK(st->st_mode))
		return resolve_bdev(st->st_rdev, 0, id, NULL, 0);
	id->kind = PCW_HOST_OTHER;
	return 0;
}

errcode_t pcw_host_id_fd(int fd, struct pcw_host_id *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errno;
	return pcw_host_id_stat(&st, id);
}

errcode_t pcw_host_id_path(const char *path, struct pcw_host_id *id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	return pcw_host_id_stat(&st, id);
}

int pcw_host_overlap(const struct pcw_host_id *a, const struct pcw_host_id *b)
{
	if (a->kind == PCW_HOST_OTHER || a->kind != b->kind || a->dev != b->dev)
		return 0;
	if (a->kind == PCW_HOST_FILE && a->ino != b->ino)
		return 0;
	return a->start < b->end && b->start < a->end;
}

errcode_t pcw_host_backing(dev_t rdev, char *path, size_t len)
{
	struct pcw_host_id id;

	resolve_bdev(rdev, 0, &id, path, len);
	return (id.kind == PCW_HOST_FILE && path[0]) ? 0 : ENOENT;
}

/* ---- files a run creates ------------------------------------------------- */

errcode_t pcw_host_create(const char *path, mode_t mode, int *fd)
{
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY |
		   O_CLOEXEC, mode);
	return *fd < 0 ? (errcode_t)errno : 0;
}

errcode_t pcw_host_remove(const char *path, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return errno;
	if (lstat(path, &b) < 0)
		return errno;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return ENOENT;		/* replaced: not ours to remove */
	return unlink(path) < 0 ? (errcode_t)errno : 0;
}

/* ---- the guard ----------------------------------------------------------- */

struct pcw_guard {
	size_t		n, cap;
	struct guard_entry {
		struct pcw_host_id	id;
		errcode_t		code;
	} *v;
};

errcode_t pcw_guard_new(struct pcw_guard **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : ENOMEM;
}

void pcw_guard_free(struct pcw_guard *guard)
{
	if (!guard)
		return;
	free(guard->v);
	free(guard);
}

errcode_t pcw_guard_add(struct pcw_guard *guard, const struct pcw_host_id *id,
			errcode_t code)
{
	if (id->kind == PCW_HOST_OTHER)
		return 0;
	if (pcw_grow(&guard->v, &guard->cap, guard->n + 1,
		     sizeof(*guard->v), 8))
		return ENOMEM;
	guard->v[guard->n].id = *id;
	guard->v[guard->n].code = code;
	guard->n++;
	return 0;
}

errcode_t pcw_guard_check_id(const struct pcw_guard *guard,
			     const struct pcw_host_id *id)
{
	size_t i;

	for (i = 0; guard && i < guard->n; i++)
		if (pcw_host_overlap(&guard->v[i].id, id))
			return guard->v[i].code;
	return 0;
}

errcode_t pcw_guard_check_stat(const struct pcw_guard *guard,
			       const struct stat *st)
{
	struct pcw_host_id id;

	if (pcw_host_id_stat(st, &id))
		return 0;
	return pcw_guard_check_id(guard, &id);
}

errcode_t pcw_guard_check_fd(const struct pcw_guard *guard, int fd)
{
	struct pcw_host_id id;

	if (pcw_host_id_fd(fd, &id))
		return 0;
	return pcw_guard_check_id(guard, &id);
}

errcode_t pcw_guard_check_path(const struct pcw_guard *guard, const char *path)
{
	struct pcw_host_id id;

	if (pcw_host_id_path(path, &id))
		return 0;
	return pcw_guard_check_id(guard, &id);
}

/* ---- block devices over a file: mounted, held, idle ---------------------- */

/* Every block device of the system, with where its bytes are. */
static errcode_t scan_bdevs(struct pcw_bdev **ret, size_t *nret)
{
	struct pcw_bdev *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir("/sys/class/block");
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		char dir[PATH_MAX], buf[16];
		struct pcw_bdev b;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(b.name))
			continue;
		memset(&b, 0, sizeof(b));
		strcpy(b.name, de->d_name);
		snprintf(dir, sizeof(dir), "/sys/class/block/%s", de->d_name);
		if (sysfs_dev(dir, &b.rdev))
			continue;
		b.whole = b.rdev;
		if (sysfs_read(dir, "partition", buf, sizeof(buf)) == 0) {
			char up[PATH_MAX + 4];

			b.partition = true;
			snprintf(up, sizeof(up), "%s/..", dir);
			if (sysfs_dev(up, &b.whole))
				continue;
		}
		resolve_bdev(b.rdev, 0, &b.id, NULL, 0);
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				closedir(d);
				free(v);
				return ENOMEM;
			}
			v = nv;
		}
		v[n++] = b;
	}
	closedir(d);
	*ret = v;
	*nret = n;
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				    (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/* Is DEV mounted (in this namespace)?  MNT gets the first mount point. */
static bool mounted(dev_t dev, char *mnt, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		int pos = 0;

		/* mount-id parent-id major:minor root mount-point ... */
		if (sscanf(line, "%*u %*u %u:%u %*s %n", &maj, &min, &pos) < 2 ||
		    !pos || makedev(maj, min) != dev)
			continue;
		found = true;
		line[pos + strcspn(line + pos, " \n")] = '\0';
		unescape(line + pos);
		snprintf(mnt, len, "%s", line + pos);
	}
	free(line);
	fclose(f);
	return found;
}

enum bdev_state { BDEV_IDLE, BDEV_MOUNTED, BDEV_HELD, BDEV_UNREACHABLE };

static enum bdev_state bdev_state(const struct pcw_bdev *b, char *mnt,
				  size_t len)
{
	int fd;

	if (mounted(b->rdev, mnt, len))
		return BDEV_MOUNTED;
	fd = open_node(b->name, b->rdev, O_RDONLY | O_EXCL);
	if (fd < 0)
		return errno == EBUSY ? BDEV_HELD : BDEV_UNREACHABLE;
	close(fd);
	return BDEV_IDLE;
}

/*
 * A whole disk answers EBUSY to O_EXCL while any of its partitions is held
 * (the kernel marks the whole disk for it), so a held whole disk is only a
 * conflict by itself when none of its partitions is.  Both cannot be held
 * at once.
 */
static bool partition_held(const struct pcw_bdev *all, size_t n, dev_t whole)
{
	char mnt[16];
	size_t i;

	for (i = 0; i < n; i++)
		if (all[i].partition && all[i].whole == whole &&
		    bdev_state(&all[i], mnt, sizeof(mnt)) != BDEV_IDLE)
			return true;
	return false;
}

static void set_conflict(struct pcw_conflict *c, const char *name,
			 const char *mnt)
{
	if (!c)
		return;
	snprintf(c->device, sizeof(c->device), "/dev/%s", name);
	snprintf(c->mountpoint, sizeof(c->mountpoint), "%s", mnt ? mnt : "");
}

errcode_t pcw_host_check_devices(const struct pcw_host_id *id, dev_t self,
				 struct pcw_conflict *conflict,
				 struct pcw_bdev **ret, size_t *nret)
{
	struct pcw_bdev *all = NULL, *over;
	size_t n = 0, i, k = 0;
	errcode_t err;

	*ret = NULL;
	*nret = 0;
	err = scan_bdevs(&all, &n);
	if (err)
		return err;
	over = calloc(n + 1, sizeof(*over));
	if (!over) {
		free(all);
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char mnt[4096] = "";

		if (!pcw_host_overlap(&all[i].id, id))
			continue;
		switch (bdev_state(&all[i], mnt, sizeof(mnt))) {
		case BDEV_MOUNTED:
			err = PCW_ET_MOUNTED;
			break;
		case BDEV_HELD:
			if (all[i].partition ||
			    !partition_held(all, n, all[i].rdev))
				err = PCW_ET_BUSY;
			break;
		case BDEV_UNREACHABLE:
			/*
			 * A loop device must be checked and flushed; a disk
			 * (the whole of a partition given as IMAGE) was
			 * never more than best effort: its mounts are seen.
			 */
			if (all[i].id.kind != PCW_HOST_DISK)
				err = PCW_ET_DEV_UNCHECKED;
			break;
		case BDEV_IDLE:
			break;
		}
		if (err) {
			set_conflict(conflict, all[i].name, mnt);
			break;
		}
		/* The image's own device sees its own writes. */
		if (all[i].rdev != self)
			over[k++] = all[i];
	}
	free(all);
	if (err) {
		free(over);
		return err;
	}
	*ret = over;
	*nret = k;
	return 0;
}

/*
 * BLKFLSBUF: write back the device's dirty pages and drop the clean ones, so
 * that the next read through it goes to the bytes underneath.
 */
errcode_t pcw_host_flush_devices(const struct pcw_bdev *devs, size_t n,
				 struct pcw_conflict *conflict)
{
	errcode_t err = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int fd = open_node(devs[i].name, devs[i].rdev, O_RDONLY);

		/* BLKFLSBUF needs CAP_SYS_ADMIN: best effort on a disk */
		if ((fd < 0 || ioctl(fd, BLKFLSBUF, 0) < 0) &&
		    devs[i].id.kind != PCW_HOST_DISK) {
			if (!err) {
				set_conflict(conflict, devs[i].name, NULL);
				err = PCW_ET_FLUSH;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	return err;
}
