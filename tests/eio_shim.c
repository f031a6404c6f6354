/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * eio_shim.c: an LD_PRELOAD fault injector, write recorder and crash-point
 * shim for the tests.
 *
 * Fault injection (eio.bats, hostile.bats, regress.bats):
 *
 * pwrite(), pwrite64() and write() (not to fds 0-2) of more than
 * $PCW_EIO_MIN bytes fail with EIO, so a data write at writeback fails while
 * metadata (small writes) goes through.  With $PCW_EIO_SKIP=K the first K
 * such writes still succeed, so that a run fails after some of its data is
 * on disk.  With $PCW_EIO_COUNT=N only N of them fail, and the later ones
 * succeed again (a transient error: what a run does after it).
 *
 * fsync() and fdatasync() (not of fds 0-2): with $PCW_EIO_FSYNC=N the Nth
 * call and every later one fail with EIO, as on a device whose writeback
 * starts failing; with $PCW_FSYNC_LOG=FILE each call appends a line to FILE,
 * so that a test can count them.
 *
 * Record mode (crash.bats, tests/crash.py; the dm-log-writes method without
 * device-mapper):
 *
 * With $PCW_CRASH_LOG=FILE and $PCW_CRASH_IMAGE=DEV:INO (st_dev and st_ino
 * of the image, as `stat -c %d:%i` prints them), every call that changes or
 * flushes the image is appended to FILE, in the order the process made them:
 * whatever descriptor it goes through (libext2fs's own, pcwrite's data
 * descriptor, a dup), since each call's descriptor is compared by device
 * and inode.  A record is written after the call succeeded; a failed call
 * (an injected EIO too) changed nothing and is not recorded.
 *
 *   W  pwrite, pwrite64, write (at the descriptor's offset, or the end with
 *      O_APPEND: unix_io writes the superblock's byte ranges with lseek and
 *      write), writev, pwritev, pwritev64, pwritev2: offset, length, the
 *      bytes written
 *   Z  a range that reads back as zeros: fallocate PUNCH_HOLE/ZERO_RANGE,
 *      ioctl BLKDISCARD, BLKSECDISCARD, BLKZEROOUT (a discarded range is
 *      taken to read as zeros, as on an image file)
 *   A  fallocate without KEEP_SIZE, posix_fallocate: the size grows to
 *      offset + length
 *   T  ftruncate, truncate: the new size
 *   F  a flush: fsync, fdatasync, syncfs on the image's filesystem, sync
 *   S  sync_file_range: recorded, but not a flush (it waits for no device
 *      cache and no metadata; the man page says so)
 *   X  what the replay cannot model (fallocate COLLAPSE/INSERT_RANGE)
 *
 * With $PCW_CRASH_REPORT=DEV:INO (the report file, a regular file), each
 * complete report line with "event":"file" that reaches the file is
 * recorded as an M record holding the line, in order with the image's
 * records.  The JSON report is written through stdio, whose own writes do
 * not pass through this shim; pcwrite flushes its stream after every file
 * record, so the line is recorded at that fflush (or fclose), by reading
 * what the file gained since the last look.
 *
 * The log: 8 bytes "PCWCRSH1", then records of a 32-byte header (type
 * byte, the call's name in 15 bytes NUL-padded, offset and length as
 * little-endian 64-bit) followed, for W and M, by `length` bytes.
 *
 * A planted bug, to show that the crash harness can fail:
 * $PCW_CRASH_DROP=N makes the Nth write to the image (counting from 1 the
 * calls W records) return success without writing or recording anything,
 * like a device that acknowledges a write and loses it.
 *
 * The shim assumes a single-threaded writer (pcwrite is).  mmap, splice,
 * sendfile and copy_file_range into the image are not seen.
 * Kills (kill9.bats, undo.bats): with $PCW_KILL_WRITE=N the Nth write
 * (pwrite, pwrite64 or write, not to fds 0-2) is done and then the process
 * kills itself with SIGKILL, so that a test can stop a run between any two
 * of its writes; with $PCW_WRITE_COUNT=FILE a run that exits writes its
 * count of them there.
 *
 * Crash points before an image write (kill9.bats, atomic.bats,
 * journal.bats): the writes (pwrite, pwrite64, write) to the file whose
 * inode number is $PCW_KILL_INO (the image) are counted.  With
 * $PCW_KILL_AT=N the process sends itself SIGKILL just before the Nth: the
 * image then holds exactly the first N-1 writes, as a kill -9 between two
 * system calls leaves it (a write(2) to a file is whole once it returns).
 * With $PCW_KILL_COUNT=FILE the count is written to FILE at exit; with
 * $PCW_KILL_LOG=FILE each write appends "N OFFSET BYTES" to FILE (a write()
 * after lseek, as unix_io writes a byte range, shows offset -1).
 *
 * fallocate() fails with EOPNOTSUPP when $PCW_NO_FALLOCATE is set, as on a
 * filesystem that cannot reserve room.
 *
 * A tree that changes under a reader (skipbad.bats, -R): with
 * $PCW_OPEN_HOOK=NAME, the first open() or openat() of a path whose last
 * component is NAME does $PCW_OPEN_DO first: "unlink=PATH" removes PATH
 * before the open (NAME itself: the open fails with ENOENT, as for a file
 * removed after its directory was listed), "rmdir=PATH" an empty
 * directory, "rename=FROM:TO" moves FROM to TO (a directory moved while
 * the walk is below it); "append=N" appends N bytes of 'x' to
 * the file and "truncate=N" cuts it to N bytes just after it is opened (a
 * file that grows or shrinks while it is read).  Deterministic, where a
 * writer racing the reader is not.
 *
 * Built by the bats suites with the system compiler:
 *   cc -shared -fPIC -o eio_shim.so tests/eio_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

/* The next definition of a symbol (libc's), looked up once. */
#define NEXT(name)							\
	static __typeof__(name) *next_;					\
	if (!next_)							\
		next_ = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static ssize_t real_write(int fd, const void *buf, size_t n)
{
	NEXT(write);
	return next_(fd, buf, n);
}

/* ---- fault injection ---------------------------------------------------- */

static unsigned long long writes;

/* A write to FD was done: count it, and die here if it is the one. */
static void written(int fd)
{
	const char *at = getenv("PCW_KILL_WRITE");

	if (fd <= 2)
		return;
	writes++;
	if (at && writes == strtoull(at, NULL, 10))
		raise(SIGKILL);
}

/* N into the file $VAR names, if it names one: a count, at exit. */
static void save_count(const char *var, unsigned long long n)
{
	const char *path = getenv(var);
	FILE *f;

	if (path && (f = fopen(path, "w"))) {
		fprintf(f, "%llu\n", n);
		fclose(f);
	}
}

__attribute__((destructor)) static void write_count(void)
{
	save_count("PCW_WRITE_COUNT", writes);
}

/* ---- crash points before an image write ------------------------------------ */

static unsigned long long image_writes;

/* Is FD the image $PCW_KILL_INO names?  Decided once per descriptor number. */
static int is_kill_image(int fd)
{
	static signed char known[1024];
	const char *want = getenv("PCW_KILL_INO");
	struct stat st;

	if (fd < 3 || !want)
		return 0;
	if (fd < 1024 && known[fd])
		return known[fd] > 0;
	if (fstat(fd, &st) < 0)
		return 0;
	if (fd < 1024)
		known[fd] = (unsigned long long)st.st_ino ==
			    strtoull(want, NULL, 10) ? 1 : -1;
	return (unsigned long long)st.st_ino == strtoull(want, NULL, 10);
}

/* A write of N bytes at OFF (-1: write()) to FD is about to be made. */
static void kill_point(int fd, long long off, size_t n)
{
	const char *at = getenv("PCW_KILL_AT");
	const char *log = getenv("PCW_KILL_LOG");
	FILE *f;

	if (!is_kill_image(fd))
		return;
	image_writes++;
	if (at && image_writes == strtoull(at, NULL, 10))
		kill(getpid(), SIGKILL);
	if (log && (f = fopen(log, "a"))) {
		fprintf(f, "%llu %lld %zu\n", image_writes, off, n);
		fclose(f);
	}
}

__attribute__((destructor)) static void image_write_count(void)
{
	save_count("PCW_KILL_COUNT", image_writes);
}

static int fail(size_t n)
{
	static unsigned long long large;
	const char *min = getenv("PCW_EIO_MIN");
	const char *skip = getenv("PCW_EIO_SKIP");
	const char *count = getenv("PCW_EIO_COUNT");
	unsigned long long k = skip ? strtoull(skip, NULL, 10) : 0;

	if (!min || n <= (size_t)strtoull(min, NULL, 10))
		return 0;
	if (++large <= k)
		return 0;
	return !count || large <= k + strtoull(count, NULL, 10);
}

/* Count this call; should it fail? */
static int sync_fails(const char *what, int fd)
{
	static unsigned long calls;
	const char *log = getenv("PCW_FSYNC_LOG");
	const char *from = getenv("PCW_EIO_FSYNC");

	if (fd <= 2)
		return 0;
	calls++;
	if (log) {
		char line[64];
		int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			       0644);
		int n = snprintf(line, sizeof(line), "%s %lu\n", what, calls);

		if (lfd >= 0) {
			real_write(lfd, line, n);
			close(lfd);
		}
	}
	return from && calls >= strtoul(from, NULL, 10);
}

/* ---- record mode ---------------------------------------------------------- */

static int log_fd = -2;		/* -2: not looked at yet, -1: off */
static dev_t img_dev, rep_dev;
static ino_t img_ino, rep_ino;
static int have_rep;
static unsigned long long img_writes, drop_at;

/* "DEV:INO" as stat -c %d:%i prints them. */
static int parse_id(const char *s, dev_t *dev, ino_t *ino)
{
	char *end;
	unsigned long long d, i;

	if (!s || !*s)
		return 0;
	d = strtoull(s, &end, 10);
	if (*end != ':')
		return 0;
	i = strtoull(end + 1, &end, 10);
	if (*end)
		return 0;
	*dev = (dev_t)d;
	*ino = (ino_t)i;
	return 1;
}

/* A descriptor of our own, out of the way of the numbers pcwrite uses. */
static int high_fd(int fd)
{
	int h;

	if (fd < 0)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 200);
	if (h < 0)
		return fd;
	close(fd);
	return h;
}

static int recording(void)
{
	const char *path, *drop;
	struct stat st;
	int fd;

	if (log_fd != -2)
		return log_fd >= 0;
	log_fd = -1;
	path = getenv("PCW_CRASH_LOG");
	if (!path || !parse_id(getenv("PCW_CRASH_IMAGE"), &img_dev, &img_ino))
		return 0;
	have_rep = parse_id(getenv("PCW_CRASH_REPORT"), &rep_dev, &rep_ino);
	drop = getenv("PCW_CRASH_DROP");
	drop_at = drop ? strtoull(drop, NULL, 10) : 0;
	fd = high_fd(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0644));
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		real_write(fd, "PCWCRSH1", 8);
	log_fd = fd;
	return 1;
}

static int is_image(int fd)
{
	struct stat st;

	return recording() && fstat(fd, &st) == 0 && st.st_dev == img_dev &&
	       st.st_ino == img_ino;
}

static void put_all(const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = real_write(log_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* A log with a hole would replay wrong: stop loudly. */
			static const char msg[] =
				"eio_shim: cannot write the crash log\n";
			real_write(2, msg, sizeof(msg) - 1);
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
}

static void record(char type, const char *call, uint64_t off, uint64_t len,
		   const void *data)
{
	unsigned char hdr[32];
	int saved = errno;
	int i;

	memset(hdr, 0, sizeof(hdr));
	hdr[0] = (unsigned char)type;
	strncpy((char *)hdr + 1, call, 15);
	for (i = 0; i < 8; i++) {
		hdr[16 + i] = (unsigned char)(off >> (8 * i));
		hdr[24 + i] = (unsigned char)(len >> (8 * i));
	}
	put_all(hdr, sizeof(hdr));
	if (data && len)
		put_all(data, len);
	errno = saved;
}

/* A write to the image about to be made: should the planted bug drop it? */
static int dropped(void)
{
	return ++img_writes == drop_at;
}

static void record_iov(const char *call, const struct iovec *iov, int cnt,
		       uint64_t off, ssize_t n)
{
	int i;

	for (i = 0; i < cnt && n > 0; i++) {
		size_t len = iov[i].iov_len < (size_t)n ? iov[i].iov_len :
			     (size_t)n;

		if (len)
			record('W', call, off, len, iov[i].iov_base);
		off += len;
		n -= (ssize_t)len;
	}
}

/* Where write() on fd would land. */
static uint64_t write_pos(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0)
		return (uint64_t)st.st_size;
	return (uint64_t)lseek(fd, 0, SEEK_CUR);
}

static ssize_t iov_total(const struct iovec *iov, int cnt)
{
	ssize_t t = 0;
	int i;

	for (i = 0; i < cnt; i++)
		t += (ssize_t)iov[i].iov_len;
	return t;
}

/*
 * The report: record each whole "event":"file" line the report file has
 * gained since the last look, read through a descriptor of our own (the
 * writer's may be write-only).
 */
static void report_scan(int fd)
{
	static int rfd = -1;
	static uint64_t done, line_off;
	static char *line;
	static size_t len, cap;
	char buf[65536], path[64];
	struct stat st;
	ssize_t n;

	if (!recording() || !have_rep || fd < 0 || fstat(fd, &st) != 0 ||
	    st.st_dev != rep_dev || st.st_ino != rep_ino)
		return;
	if (rfd < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rfd = high_fd(open(path, O_RDONLY | O_CLOEXEC));
		if (rfd < 0)
			return;
	}
	while ((n = pread(rfd, buf, sizeof(buf), (off_t)done)) > 0) {
		ssize_t i;

		for (i = 0; i < n; i++) {
			if (len == cap) {
				cap = cap ? cap * 2 : 4096;
				line = realloc(line, cap);
				if (!line)
					abort();
			}
			line[len++] = buf[i];
			if (buf[i] != '\n')
				continue;
			if (memmem(line, len, "\"event\":\"file\"", 14))
				record('M', "report", line_off, len, line);
			line_off += len;
			len = 0;
		}
		done += (uint64_t)n;
	}
}

static int report_fd = -1;	/* the last descriptor seen to be the report */

static void report_stream(FILE *f)
{
	int fd;

	if (!recording() || !have_rep)
		return;
	fd = f ? fileno(f) : report_fd;
	if (fd < 0)
		return;
	report_scan(fd);
	report_fd = fd;
}

/* ---- the wrapped calls ------------------------------------------------------ */

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	NEXT(pwrite64);
	ssize_t r;
	int img;

	kill_point(fd, (long long)off, n);
	if (fail(n)) {
		errno = EIO;
		return -1;
	}
	img = is_image(fd);
	if (img && dropped())
		return (ssize_t)n;
	r = next_(fd, buf, n, off);
	if (img && r > 0)
		record('W', "pwrite64", (uint64_t)off, (uint64_t)r, buf);
	written(fd);
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

/* unix_io falls back to lseek and write where it does not use pwrite. */
ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t r;
	uint64_t pos = 0;
	int img;

	kill_point(fd, -1, n);
	if (fd > 2 && fail(n)) {
		errno = EIO;
		return -1;
	}
	img = is_image(fd);
	if (img) {
		pos = write_pos(fd);
		if (dropped()) {
			lseek(fd, (off_t)(pos + n), SEEK_SET);
			return (ssize_t)n;
		}
	}
	r = real_write(fd, buf, n);
	if (img && r > 0)
		record('W', "write", pos, (uint64_t)r, buf);
	else if (r > 0)
		report_scan(fd);
	written(fd);
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	NEXT(writev);
	uint64_t pos = 0;
	ssize_t r;
	int img = is_image(fd);

	if (img) {
		pos = write_pos(fd);
		if (dropped()) {
			lseek(fd, (off_t)(pos + iov_total(iov, cnt)), SEEK_SET);
			return iov_total(iov, cnt);
		}
	}
	r = next_(fd, iov, cnt);
	if (img)
		record_iov("writev", iov, cnt, pos, r);
	else if (r > 0)
		report_scan(fd);
	return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	NEXT(pwritev64);
	ssize_t r;
	int img = is_image(fd);

	if (img && dropped())
		return iov_total(iov, cnt);
	r = next_(fd, iov, cnt, off);
	if (img)
		record_iov("pwritev", iov, cnt, (uint64_t)off, r);
	return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev64(fd, iov, cnt, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off,
		 int flags)
{
	NEXT(pwritev2);
	uint64_t pos = (uint64_t)off;
	ssize_t r;
	int img = is_image(fd);

	if (img) {
		if (off == -1)
			pos = write_pos(fd);
		if (dropped()) {
			if (off == -1)
				lseek(fd, (off_t)(pos + iov_total(iov, cnt)),
				      SEEK_SET);
			return iov_total(iov, cnt);
		}
	}
	r = next_(fd, iov, cnt, off, flags);
	if (img)
		record_iov("pwritev2", iov, cnt, pos, r);
	return r;
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off,
		    int flags)
{
	return pwritev2(fd, iov, cnt, off, flags);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	NEXT(fallocate64);
	int r;

	if (getenv("PCW_NO_FALLOCATE")) {
		errno = EOPNOTSUPP;
		return -1;
	}
	r = next_(fd, mode, off, len);
	if (r != 0 || !is_image(fd))
		return r;
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE))
		record('X', "fallocate", (uint64_t)off, (uint64_t)len, NULL);
	else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		record('Z', "fallocate", (uint64_t)off, (uint64_t)len, NULL);
	if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_COLLAPSE_RANGE |
		      FALLOC_FL_INSERT_RANGE)))
		record('A', "fallocate", (uint64_t)off, (uint64_t)len, NULL);
	return r;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	return fallocate64(fd, mode, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	NEXT(posix_fallocate64);
	int r = next_(fd, off, len);

	if (r == 0 && is_image(fd))
		record('A', "posix_fallocate", (uint64_t)off, (uint64_t)len,
		       NULL);
	return r;
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	return posix_fallocate64(fd, off, len);
}

int ftruncate64(int fd, off64_t len)
{
	NEXT(ftruncate64);
	int r = next_(fd, len);

	if (r == 0 && is_image(fd))
		record('T', "ftruncate", (uint64_t)len, 0, NULL);
	return r;
}

int ftruncate(int fd, off_t len)
{
	return ftruncate64(fd, len);
}

int truncate64(const char *path, off64_t len)
{
	NEXT(truncate64);
	struct stat st;
	int img = recording() && stat(path, &st) == 0 &&
		  st.st_dev == img_dev && st.st_ino == img_ino;
	int r = next_(path, len);

	if (r == 0 && img)
		record('T', "truncate", (uint64_t)len, 0, NULL);
	return r;
}

int truncate(const char *path, off_t len)
{
	return truncate64(path, len);
}

int ioctl(int fd, unsigned long req, ...)
{
	NEXT(ioctl);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = next_(fd, req, arg);
	if (r == 0 && (req == BLKDISCARD || req == BLKSECDISCARD ||
		       req == BLKZEROOUT) && is_image(fd)) {
		const uint64_t *range = arg;

		record('Z', req == BLKZEROOUT ? "BLKZEROOUT" : "BLKDISCARD",
		       range[0], range[1], NULL);
	}
	return r;
}

int fsync(int fd)
{
	NEXT(fsync);
	int r;

	if (sync_fails("fsync", fd)) {
		errno = EIO;
		return -1;
	}
	r = next_(fd);
	if (r == 0 && is_image(fd))
		record('F', "fsync", 0, 0, NULL);
	return r;
}

int fdatasync(int fd)
{
	NEXT(fdatasync);
	int r;

	if (sync_fails("fdatasync", fd)) {
		errno = EIO;
		return -1;
	}
	r = next_(fd);
	if (r == 0 && is_image(fd))
		record('F', "fdatasync", 0, 0, NULL);
	return r;
}

int syncfs(int fd)
{
	NEXT(syncfs);
	struct stat st;
	int r = next_(fd);

	if (r == 0 && recording() && fstat(fd, &st) == 0 &&
	    st.st_dev == img_dev)
		record('F', "syncfs", 0, 0, NULL);
	return r;
}

void sync(void)
{
	NEXT(sync);
	next_();
	if (recording())
		record('F', "sync", 0, 0, NULL);
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	NEXT(sync_file_range);
	int r = next_(fd, off, n, flags);

	if (r == 0 && is_image(fd))
		record('S', "sync_file_range", (uint64_t)off, (uint64_t)n,
		       NULL);
	return r;
}

int fflush(FILE *f)
{
	NEXT(fflush);
	int r = next_(f);

	report_stream(f);
	return r;
}

/* The report's last lines, before its stream goes (other streams, input
 * ones included, are left to fclose as they are). */
int fclose(FILE *f)
{
	NEXT(fclose);
	struct stat st;
	int fd;

	if (recording() && have_rep && f && (fd = fileno(f)) >= 0 &&
	    fstat(fd, &st) == 0 && st.st_dev == rep_dev &&
	    st.st_ino == rep_ino) {
		fflush(f);
		if (fd == report_fd)
			report_fd = -1;
	}
	return next_(f);
}

/* ---- a tree that changes under the reader -------------------------------- */

/* Is PATH the one $PCW_OPEN_HOOK names, for the first time? */
static int open_hooked(const char *path)
{
	static int done;
	const char *name = getenv("PCW_OPEN_HOOK");
	const char *base = strrchr(path, '/');

	if (done || !name || strcmp(base ? base + 1 : path, name))
		return 0;
	done = 1;
	return 1;
}

/* The hook's action; DIRFD is what PATH is relative to. */
static void open_hook(int dirfd, const char *path, int before)
{
	const char *what = getenv("PCW_OPEN_DO");
	int fd;

	if (!what)
		return;
	if (before && !strncmp(what, "unlink=", 7)) {
		unlink(what + 7);
	} else if (before && !strncmp(what, "rmdir=", 6)) {
		rmdir(what + 6);
	} else if (before && !strncmp(what, "rename=", 7)) {
		char from[4096];
		const char *colon = strchr(what + 7, ':');

		if (colon && (size_t)(colon - (what + 7)) < sizeof(from)) {
			memcpy(from, what + 7, colon - (what + 7));
			from[colon - (what + 7)] = 0;
			rename(from, colon + 1);
		}
	} else if (!before && !strncmp(what, "append=", 7)) {
		NEXT(openat);
		fd = next_(dirfd, path, O_WRONLY | O_APPEND);
		if (fd >= 0) {
			for (long n = strtol(what + 7, NULL, 10); n > 0; n--)
				if (real_write(fd, "x", 1) != 1)
					break;
			close(fd);
		}
	} else if (!before && !strncmp(what, "truncate=", 9)) {
		NEXT(openat);
		fd = next_(dirfd, path, O_WRONLY);
		if (fd >= 0) {
			int rc = ftruncate(fd, strtol(what + 9, NULL, 10));

			(void)rc;
			close(fd);
		}
	}
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int hooked = open_hooked(path), fd;
	va_list ap;

	NEXT(open);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (hooked)
		open_hook(AT_FDCWD, path, 1);
	fd = next_(path, flags, mode);
	if (hooked && fd >= 0)
		open_hook(AT_FDCWD, path, 0);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int hooked = open_hooked(path), fd;
	va_list ap;

	NEXT(openat);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (hooked)
		open_hook(dirfd, path, 1);
	fd = next_(dirfd, path, flags, mode);
	if (hooked && fd >= 0)
		open_hook(dirfd, path, 0);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return openat(dirfd, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open(path, flags, mode);
}
