/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * eio_shim.c: an LD_PRELOAD fault injector for the tests.
 *
 * pwrite(), pwrite64() and write() (not to fds 0-2) of more than
 * $PCW_EIO_MIN bytes fail with EIO, so a data write at writeback fails while
 * metadata (small writes) goes through.  With $PCW_EIO_SKIP=K the first K
 * such writes still succeed, so that a run fails after some of its data is
 * on disk.
 *
 * fsync() and fdatasync() (not of fds 0-2): with $PCW_EIO_FSYNC=N the Nth
 * call and every later one fail with EIO, as on a device whose writeback
 * starts failing; with $PCW_FSYNC_LOG=FILE each call appends a line to FILE,
 * so that a test can count them.
 * Kills: with $PCW_KILL_WRITE=N the Nth write (pwrite, pwrite64 or write,
 * not to fds 0-2) is done and then the process kills itself with SIGKILL,
 * so that a test can stop a run between any two of its writes; with
 * $PCW_WRITE_COUNT=FILE a run that exits writes its count of them there.
 *
 * fallocate() fails with EOPNOTSUPP when $PCW_NO_FALLOCATE is set, as on a
 * filesystem that cannot reserve room.
 *
 * Built by the bats suites with the system compiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static int fail(size_t n)
{
	static unsigned long long large;
	const char *min = getenv("PCW_EIO_MIN");
	const char *skip = getenv("PCW_EIO_SKIP");

	if (!min || n <= (size_t)strtoull(min, NULL, 10))
		return 0;
	return ++large > (skip ? strtoull(skip, NULL, 10) : 0);
}

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

__attribute__((destructor)) static void write_count(void)
{
	const char *path = getenv("PCW_WRITE_COUNT");
	FILE *f;

	if (path && (f = fopen(path, "w"))) {
		fprintf(f, "%llu\n", writes);
		fclose(f);
	}
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*next)(int, const void *, size_t, off64_t);
	ssize_t r;

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t, off64_t))
			dlsym(RTLD_NEXT, "pwrite64");
	if (fail(n)) {
		errno = EIO;
		return -1;
	}
	r = next(fd, buf, n, off);
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
	static ssize_t (*next)(int, const void *, size_t);
	ssize_t r;

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))
			dlsym(RTLD_NEXT, "write");
	if (fd > 2 && fail(n)) {
		errno = EIO;
		return -1;
	}
	r = next(fd, buf, n);
	written(fd);
	return r;
}

static ssize_t real_write(int fd, const void *buf, size_t n)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))
			dlsym(RTLD_NEXT, "write");
	return next(fd, buf, n);
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

int fsync(int fd)
{
	static int (*next)(int);

	if (!next)
		next = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (sync_fails("fsync", fd)) {
		errno = EIO;
		return -1;
	}
	return next(fd);
}

int fdatasync(int fd)
{
	static int (*next)(int);

	if (!next)
		next = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (sync_fails("fdatasync", fd)) {
		errno = EIO;
		return -1;
	}
	return next(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	static int (*next)(int, int, off_t, off_t);

	if (!next)
		next = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT,
							       "fallocate");
	if (getenv("PCW_NO_FALLOCATE")) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return next(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return fallocate(fd, mode, off, len);
}
