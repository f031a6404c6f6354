/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_perform_write.c: the parts of lib/ easier to test alone: the loop's
 * short-copy retry (reached with a fault-injecting iterator, as no healthy
 * source copies short), write_end's rule for pages that are not up to date,
 * and reservation accounting.  Images come from mke2fs; data is read back
 * with debugfs.  Exit 77 (skip) where mke2fs or debugfs are missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>

#include "pcwrite.h"
#include "pcwrite_test.h"
#include "check.h"

#define MAX_EVENTS 256
static struct pcw_page_report pages[MAX_EVENTS];
static int npages;
static uint64_t avail_after[MAX_EVENTS];
static pcw_fs *cur_fs;

static void collect(const struct pcw_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == PCW_EV_PAGE && npages < MAX_EVENTS) {
		avail_after[npages] = pcw_fs_avail_bytes(cur_fs);
		pages[npages++] = ev->u.page;
	}
}

/* Fault injection: at POS, the first copy is cut to LIMIT bytes. */
struct fault {
	uint64_t pos;
	size_t limit;
	int fired;
};

static size_t inject(void *arg, uint64_t pos, size_t bytes)
{
	struct fault *f = arg;

	if (pos == f->pos && !f->fired) {
		f->fired = 1;
		return f->limit < bytes ? f->limit : bytes;
	}
	return bytes;
}

static char tmpdir[] = "/tmp/pcw-test-XXXXXX";

static int run(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void mkdata(const char *path, size_t n, unsigned seed)
{
	FILE *f = fopen(path, "w");
	size_t i;

	for (i = 0; i < n; i++)
		fputc((int)((i * 2654435761u + seed) >> 13) & 0xff, f);
	fclose(f);
}

/*
 * Write SRC to DEST at POS through the library with a fault at FAULT_POS.
 * flags: PCW_FILE_*.
 */
static errcode_t write_with_fault(const char *img, const char *dest,
				  const char *src, uint64_t pos, int flags,
				  struct fault *fault, uint64_t *written)
{
	struct pcw_open_params op = { .flags = PCW_OPEN_NO_SYNC, .now = 1 };
	struct pcw_file_params fp = { .flags = flags, .report_name = dest };
	struct pcw_dest d;
	struct pcw_mapping *m;
	struct pcw_iter *it;
	pcw_fs *pfs;
	errcode_t err;
	int fd = open(src, O_RDONLY);

	npages = 0;
	err = pcw_fs_open(img, &op, &pfs);
	if (err)
		return err;
	cur_fs = pfs;
	pcw_fs_set_report(pfs, collect, NULL);
	err = pcw_dest_lookup(pfs, dest, 0, &d);
	if (!err)
		err = pcw_mapping_open(pfs, &d, &fp, &m);
	if (err) {
		pcw_fs_abort(pfs);
		return err;
	}
	err = pcw_iter_open_fd(fd, 4096, &it);
	if (!err) {
		pcw_iter_set_fault(it, inject, fault);
		err = pcw_perform_write(m, it, pos, written);
		pcw_iter_free(it);
	}
	if (!err)
		err = pcw_mapping_finish(m, NULL);
	pcw_mapping_free(m);
	pcw_dest_free(&d);
	if (!err)
		err = pcw_fs_close(pfs);
	else
		pcw_fs_close(pfs);
	close(fd);
	return err;
}

static int readback(const char *img, const char *path, const char *expect)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'cat %s' %s 2>/dev/null | cmp -s - %s", path, img,
		 expect);
	return system(cmd) == 0;
}

static int fsck_clean(const char *img)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >/dev/null 2>&1", img);
	return system(cmd) == 0;
}

/* A short copy into a new page commits nothing; the retry commits it all. */
static void test_short_copy_new_page(const char *img, const char *data)
{
	struct fault f = { .pos = 4096, .limit = 100 };
	uint64_t written = 0;
	errcode_t err;

	err = write_with_fault(img, "/retry", data, 0, 0, &f, &written);
	CHECK(err == 0, "err %s", error_message(err));
	CHECK(written == 10000, "written %" PRIu64, written);
	CHECK(npages == 4, "%d page records", npages);
	if (npages != 4)
		return;
	CHECK(pages[1].pos == 4096 && pages[1].copied == 100 &&
	      pages[1].status == 0 && !pages[1].retry && pages[1].reserved == 1,
	      "short copy record: copied %u status %" PRId64 " retry %u reserved %u",
	      pages[1].copied, pages[1].status, pages[1].retry,
	      pages[1].reserved);
	CHECK(pages[2].pos == 4096 && pages[2].copied == 4096 &&
	      pages[2].status == 4096 && pages[2].retry &&
	      pages[2].reserved == 0,
	      "retry record: copied %u status %" PRId64 " retry %u reserved %u",
	      pages[2].copied, pages[2].status, pages[2].retry,
	      pages[2].reserved);
	CHECK(pages[2].seq == 2 && pages[3].seq == 3, "seq numbering");
	CHECK(readback(img, "/retry", data), "read back /retry");
	CHECK(fsck_clean(img), "fsck after retry");
}

/*
 * A short copy into a page that is up to date commits what was copied; a
 * page whose blocks were only read for this write is not up to date (as in
 * the kernel, where __block_write_begin reads buffers, not the page), so a
 * short copy there commits 0.
 */
static void test_short_copy_uptodate_page(const char *img, const char *data,
					  const char *patch)
{
	struct pcw_open_params op = { .flags = PCW_OPEN_NO_SYNC, .now = 1 };
	struct pcw_file_params fp = { .flags = PCW_FILE_KEEP,
				      .report_name = "/retry" };
	struct fault none = { .pos = ~0ULL }, f = { .pos = 10, .limit = 100 };
	struct pcw_dest d;
	struct pcw_mapping *m;
	struct pcw_iter *it;
	pcw_fs *pfs;
	uint64_t written;
	errcode_t err;
	char expect[512];
	int fd;

	/* Through the disk: read_before, not up to date, commits 0, retries. */
	err = write_with_fault(img, "/retry", patch, 10, PCW_FILE_KEEP, &f,
			       &written);
	CHECK(err == 0, "err %s", error_message(err));
	CHECK(npages >= 2 && pages[0].read_before && pages[0].copied == 100 &&
	      pages[0].status == 0 && pages[1].retry && pages[1].pos == 10 &&
	      pages[1].status == 4086,
	      "records: read_before %u copied %u status %" PRId64,
	      pages[0].read_before, pages[0].copied, pages[0].status);

	/* Through the page cache: page 0 is up to date from the first write. */
	npages = 0;
	f.fired = 0;
	err = pcw_fs_open(img, &op, &pfs);
	CHECK(err == 0, "open %s", error_message(err));
	if (err)
		return;
	cur_fs = pfs;
	pcw_fs_set_report(pfs, collect, NULL);
	err = pcw_dest_lookup(pfs, "/retry", 0, &d);
	if (!err)
		err = pcw_mapping_open(pfs, &d, &fp, &m);
	CHECK(err == 0, "mapping %s", error_message(err));
	if (err) {
		pcw_fs_abort(pfs);
		return;
	}
	fd = open(data, O_RDONLY);
	pcw_iter_open_fd(fd, 4096, &it);
	pcw_iter_set_fault(it, inject, &none);
	err = pcw_perform_write(m, it, 0, &written);
	pcw_iter_free(it);
	close(fd);
	CHECK(err == 0 && written == 10000, "rewrite: %s", error_message(err));
	npages = 0;
	fd = open(patch, O_RDONLY);
	pcw_iter_open_fd(fd, 4096, &it);
	pcw_iter_set_fault(it, inject, &f);
	err = pcw_perform_write(m, it, 10, &written);
	pcw_iter_free(it);
	close(fd);
	CHECK(err == 0 && written == 5000, "patch: %s, %" PRIu64,
	      error_message(err), written);
	CHECK(npages >= 2 && !pages[0].read_before && pages[0].copied == 100 &&
	      pages[0].status == 100 && !pages[0].retry && pages[1].pos == 110,
	      "cached page: read_before %u copied %u status %" PRId64,
	      pages[0].read_before, pages[0].copied, pages[0].status);
	err = pcw_mapping_finish(m, NULL);
	pcw_mapping_free(m);
	pcw_dest_free(&d);
	CHECK(err == 0, "finish %s", error_message(err));
	err = pcw_fs_close(pfs);
	CHECK(err == 0, "close %s", error_message(err));

	snprintf(expect, sizeof(expect), "%s/expect", tmpdir);
	run("cp %s %s", data, expect);
	run("dd if=%s of=%s bs=1 seek=10 conv=notrunc status=none", patch,
	    expect);
	CHECK(readback(img, "/retry", expect), "read back after patch");
	CHECK(fsck_clean(img), "fsck after patch");
}

/*
 * --no-delalloc on a block-mapped file: the block a short copy left
 * allocated but unwritten (pending, out of the map) is the one the retry
 * fills; it is mapped once its data is written, and nothing leaks.
 */
static void test_short_copy_nodelalloc_blockmapped(const char *img2,
						   const char *data)
{
	struct fault f = { .pos = 4096, .limit = 100 };
	uint64_t written = 0;
	errcode_t err;

	err = write_with_fault(img2, "/nd", data, 0, PCW_FILE_NO_DELALLOC, &f,
			       &written);
	CHECK(err == 0, "err %s", error_message(err));
	CHECK(written == 10000, "written %" PRIu64, written);
	CHECK(npages == 4 && pages[1].status == 0 && pages[2].retry &&
	      pages[2].status == 4096, "records: %d", npages);
	CHECK(readback(img2, "/nd", data), "read back /nd");
	CHECK(fsck_clean(img2), "fsck after a nodelalloc retry on ext2");
}

/* Each new block reserves one block of free space until writeback. */
static void test_reservation(const char *img, const char *data)
{
	struct fault f = { .pos = ~0ULL };
	uint64_t written = 0;
	errcode_t err;
	int i;

	err = write_with_fault(img, "/resv", data, 0, 0, &f, &written);
	CHECK(err == 0, "err %s", error_message(err));
	CHECK(npages == 3, "%d records", npages);
	for (i = 0; i < npages; i++)
		CHECK(pages[i].reserved == 1, "page %d reserved %u", i,
		      pages[i].reserved);
	for (i = 1; i < npages; i++)
		CHECK(avail_after[i - 1] - avail_after[i] == 4096,
		      "page %d took %" PRIu64 " bytes of free space", i,
		      avail_after[i - 1] - avail_after[i]);
	CHECK(readback(img, "/resv", data), "read back /resv");
}

int main(void)
{
	char img[256], img2[256], data[256], patch[256];
	int rc = check_begin(tmpdir);

	if (rc)
		return rc;
	snprintf(img, sizeof(img), "%s/img", tmpdir);
	snprintf(img2, sizeof(img2), "%s/img2", tmpdir);
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	snprintf(patch, sizeof(patch), "%s/patch", tmpdir);
	mkdata(data, 10000, 1);
	mkdata(patch, 5000, 7);
	if (run("truncate -s 32M %s && mke2fs -q -F -t ext4 -b 4096 %s", img, img)) {
		printf("FAIL: mke2fs\n");
		return 1;
	}

	test_short_copy_new_page(img, data);
	test_short_copy_uptodate_page(img, data, patch);
	test_reservation(img, data);
	if (run("truncate -s 32M %s && mke2fs -q -F -t ext2 -b 1024 %s", img2,
		img2) == 0)
		test_short_copy_nodelalloc_blockmapped(img2, data);
	else
		CHECK(0, "mke2fs ext2");

	run("rm -rf %s%s", tmpdir, "");
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
