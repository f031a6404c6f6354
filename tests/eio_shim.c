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
 * Built by the bats suites with the system compiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*next)(int, const void *, size_t, off64_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t, off64_t))
			dlsym(RTLD_NEXT, "pwrite64");
	if (fail(n)) {
		errno = EIO;
		return -1;
	}
	return next(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

/* unix_io falls back to lseek and write where it does not use pwrite. */
ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))
			dlsym(RTLD_NEXT, "write");
	if (fd > 2 && fail(n)) {
		errno = EIO;
		return -1;
	}
	return next(fd, buf, n);
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
