/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kill_shim.c: an LD_PRELOAD crash point for kill9.bats.
 *
 * Counts the writes (pwrite, pwrite64, write) to the file whose inode
 * number is $PCW_KILL_INO (the image).  With $PCW_KILL_AT=N the process
 * sends itself SIGKILL just before the Nth: the image then holds exactly
 * the first N-1 writes, as a kill -9 between two system calls leaves it
 * (a write(2) to a file is whole once it returns).  With
 * $PCW_KILL_COUNT=FILE the count is written to FILE at exit; with
 * $PCW_KILL_LOG=FILE each write appends "N OFFSET BYTES" to FILE (a write()
 * after lseek, as unix_io writes a byte range, shows offset -1).
 * Built by the suite with the system compiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static unsigned long long count;

/* Is FD the image?  Decided once per descriptor number. */
static int is_image(int fd)
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

static void crash_point(int fd, long long off, size_t n)
{
	const char *at = getenv("PCW_KILL_AT");
	const char *log = getenv("PCW_KILL_LOG");
	FILE *f;

	if (!is_image(fd))
		return;
	count++;
	if (at && count == strtoull(at, NULL, 10))
		kill(getpid(), SIGKILL);
	if (log && (f = fopen(log, "a"))) {
		fprintf(f, "%llu %lld %zu\n", count, off, n);
		fclose(f);
	}
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*next)(int, const void *, size_t, off64_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t, off64_t))
			dlsym(RTLD_NEXT, "pwrite64");
	crash_point(fd, (long long)off, n);
	return next(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))
			dlsym(RTLD_NEXT, "write");
	crash_point(fd, -1, n);
	return next(fd, buf, n);
}

__attribute__((destructor)) static void report_count(void)
{
	const char *file = getenv("PCW_KILL_COUNT");
	FILE *f;

	if (!file || !(f = fopen(file, "w")))
		return;
	fprintf(f, "%llu\n", count);
	fclose(f);
}
