/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * floorprobe: the least any extractor into an image file must do, for
 * bench/scale.sh -f.  It reads an archive with libarchive (1 MiB reads, as
 * pcwrite's reader does) and writes each regular file's data into IMAGE
 * with pwrite, file after file from byte offset START, each file at the
 * next 4 KiB boundary (where a fresh image's allocator puts them), starting
 * the writeback every 8 MiB and fsyncing once at the end.  No filesystem:
 * no inode, directory, bitmap, journal or check; one thread.  What pcwrite
 * -x takes beyond this is the filesystem, the page loop and the commits.
 *
 *   floorprobe [-2 | -g | -f] ARCHIVE IMAGE START
 *
 * -2 reads in a thread of its own, handing 1 MiB pieces to the writer
 * (a double buffer), as pcwrite's reader does.  -g gathers consecutive
 * files (their tails zero-filled to 4 KiB) into writes of up to 1 MiB; -f
 * does so within a member only (whole blocks, a write a member or more),
 * as pcwrite writes a file's pages.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE	(1U << 20)
#define KICK	(8U << 20)

struct piece {
	char		*buf;
	size_t		len;
	uint64_t	off;	/* in the image; len 0 with last: the end */
	int		last;
};

static struct {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	struct piece	p[2];
	int		full[2];
	int		failed;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int img_fd;
static uint64_t unkicked;

static void die(const char *what)
{
	fprintf(stderr, "floorprobe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put(const char *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(img_fd, buf, len, (off_t)off);

		if (n <= 0)
			die("pwrite");
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
		unkicked += (uint64_t)n;
	}
	if (unkicked >= KICK) {
		sync_file_range(img_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		unkicked = 0;
	}
}

/* -g: consecutive pieces gathered into one buffer, written when full. */
static char *gbuf;
static int per_file;	/* -f: flushed at each member's end */
static uint64_t goff;
static size_t glen;

static void gather_flush(void)
{
	if (glen)
		put(gbuf, (glen + 4095) & ~(size_t)4095, goff);
	glen = 0;
}

static void gather(const char *buf, size_t len, uint64_t off)
{
	if (glen && (off < goff + glen || off - goff + len > PIECE))
		gather_flush();
	/* A buffer starts at a block's start: never zeros over written data. */
	if (!glen && ((off & 4095) || len > PIECE)) {
		put(buf, len, off);
		return;
	}
	if (!glen)
		goff = off;
	if (off - goff > glen)
		memset(gbuf + glen, 0, off - goff - glen);
	memcpy(gbuf + (off - goff), buf, len);
	glen = off - goff + len;
	memset(gbuf + glen, 0, ((glen + 4095) & ~(size_t)4095) - glen);
}

/* Each regular file's data, through SINK, at its place after START. */
static void walk(const char *path, uint64_t start,
		 void (*sink)(const char *, size_t, uint64_t))
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	uint64_t next = start;
	int fd = open(path, O_RDONLY), r;

	if (fd < 0)
		die(path);
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_fd(a, fd, PIECE) != ARCHIVE_OK) {
		fprintf(stderr, "floorprobe: %s\n", archive_error_string(a));
		exit(1);
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const void *b;
		size_t len;
		la_int64_t off;
		uint64_t end = next;

		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		while ((r = archive_read_data_block(a, &b, &len, &off)) ==
		       ARCHIVE_OK) {
			sink(b, len, next + (uint64_t)off);
			if (next + (uint64_t)off + len > end)
				end = next + (uint64_t)off + len;
		}
		if (r != ARCHIVE_EOF)
			break;
		if (per_file)
			gather_flush();
		next = (end + 4095) & ~(uint64_t)4095;
	}
	if (r != ARCHIVE_EOF) {
		fprintf(stderr, "floorprobe: %s\n", archive_error_string(a));
		exit(1);
	}
	archive_read_free(a);
	close(fd);
}

/* -2: the reader's side of the double buffer. */
static int slot;

static void hand_over(const char *buf, size_t len, uint64_t off)
{
	while (len) {
		size_t k = len < PIECE ? len : PIECE;

		pthread_mutex_lock(&q.lock);
		while (q.full[slot])
			pthread_cond_wait(&q.cond, &q.lock);
		pthread_mutex_unlock(&q.lock);
		memcpy(q.p[slot].buf, buf, k);
		q.p[slot].len = k;
		q.p[slot].off = off;
		q.p[slot].last = 0;
		pthread_mutex_lock(&q.lock);
		q.full[slot] = 1;
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
		slot ^= 1;
		buf += k;
		off += k;
		len -= k;
	}
}

struct reader_arg {
	const char	*path;
	uint64_t	start;
};

static void *reader(void *p)
{
	struct reader_arg *ra = p;

	walk(ra->path, ra->start, hand_over);
	pthread_mutex_lock(&q.lock);
	while (q.full[slot])
		pthread_cond_wait(&q.cond, &q.lock);
	q.p[slot].len = 0;
	q.p[slot].last = 1;
	q.full[slot] = 1;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void write_handed(void)
{
	int s = 0;

	for (;;) {
		pthread_mutex_lock(&q.lock);
		while (!q.full[s])
			pthread_cond_wait(&q.cond, &q.lock);
		pthread_mutex_unlock(&q.lock);
		if (q.p[s].last)
			return;
		put(q.p[s].buf, q.p[s].len, q.p[s].off);
		pthread_mutex_lock(&q.lock);
		q.full[s] = 0;
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
		s ^= 1;
	}
}

int main(int argc, char **argv)
{
	int two = argc > 1 && strcmp(argv[1], "-2") == 0;
	int g = argc > 1 && (strcmp(argv[1], "-g") == 0 ||
			     strcmp(argv[1], "-f") == 0);
	struct reader_arg ra;
	pthread_t t;

	two |= g;
	if (argc != 4 + two) {
		fprintf(stderr, "usage: floorprobe [-2 | -g | -f] ARCHIVE IMAGE START\n");
		return 2;
	}
	img_fd = open(argv[2 + two], O_WRONLY);
	if (img_fd < 0)
		die(argv[2 + two]);
	ra.path = argv[1 + two];
	ra.start = strtoull(argv[3 + two], NULL, 0);
	per_file = g && argv[1][1] == 'f';
	if (g) {
		gbuf = malloc(PIECE + 4096);
		if (!gbuf)
			die("malloc");
		walk(ra.path, ra.start, gather);
		gather_flush();
	} else if (!two) {
		walk(ra.path, ra.start, put);
	} else {
		q.p[0].buf = malloc(PIECE);
		q.p[1].buf = malloc(PIECE);
		if (!q.p[0].buf || !q.p[1].buf)
			die("malloc");
		if (pthread_create(&t, NULL, reader, &ra))
			die("pthread_create");
		write_handed();
		pthread_join(t, NULL);
	}
	if (fsync(img_fd) < 0)
		die("fsync");
	return 0;
}
