/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_report.c: the report callback only reports (issue 15).
 *
 * A tree of two files written through pcw_tree_add, then a source warning
 * (pcw_fs_warn).  The events' order: with PCW_TREE_ORDER_EVENTS the second
 * file's first page event comes after a PCW_EV_COMMIT of the first file,
 * and the warning after a PCW_EV_COMMIT of the second; without the flag,
 * and with PCW_TREE_HOLD_EVENTS (the caller holds the page events, fewer
 * than PCW_TREE_HELD_EVENTS here), only the warning is preceded by one.  A commit asked for from inside the
 * callback (a page event, a commit event, a warning) fails with
 * PCW_ET_COMMIT_IN_CALLBACK.  Images from mke2fs, read back with debugfs
 * and checked with e2fsck.  Exit 77 (skip) where they are missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

#include "pcwrite.h"
#include "check.h"

static char tmpdir[] = "/tmp/pcw-report-XXXXXX";

/* What the callback saw: one letter an event (Page, Writeback, Commit, wArning). */
struct seen {
	struct pcw_tree	*tree;
	char		seq[512];
	size_t		n;
	int		files;		/* entries added so far */
	errcode_t	in_page, in_commit, in_warning;	/* -1: not tried */
};

static void on_event(const struct pcw_event *ev, void *arg)
{
	static const char letter[] = { [PCW_EV_PAGE] = 'P',
		[PCW_EV_WRITEBACK] = 'W', [PCW_EV_COMMIT] = 'C',
		[PCW_EV_WARNING] = 'A' };
	struct seen *s = arg;

	if (s->n + 1 < sizeof(s->seq))
		s->seq[s->n++] = letter[ev->type];
	/* The callback tries to commit: it must be refused every time. */
	if (ev->type == PCW_EV_PAGE && s->files == 1 && s->in_page == -1)
		s->in_page = pcw_tree_commit(s->tree);
	if (ev->type == PCW_EV_COMMIT && s->in_commit == -1)
		s->in_commit = pcw_tree_commit(s->tree);
	if (ev->type == PCW_EV_WARNING && s->in_warning == -1)
		s->in_warning = pcw_tree_commit(s->tree);
}

static int sh(const char *fmt, const char *a)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, a, a);
	return system(cmd);
}

static errcode_t add_file(struct pcw_tree *t, const char *path,
			  const char *data)
{
	struct pcw_entry e;
	struct pcw_entry_result res;
	struct pcw_iter *it = NULL;
	errcode_t err;
	int fd = open(data, O_RDONLY);

	if (fd < 0)
		return errno;
	memset(&e, 0, sizeof(e));
	e.path = path;
	e.type = PCW_FT_FILE;
	e.perm = 0644;
	e.size = 3 * 4096 + 100;
	err = pcw_iter_open_fd(fd, 4096, &it);
	if (!err)
		err = pcw_tree_add(t, &e, it, &res);
	pcw_iter_free(it);
	close(fd);
	return err;
}

/* The letters from the Nth 'P' run on: where the second file starts. */
static const char *second_file(const char *seq)
{
	const char *w = strchr(seq, 'W');

	/* the first file: its pages, then its writeback at its end */
	while (w && *w == 'W')
		w++;
	return w ? w : "";
}

static void run_tree(const char *img, const char *data, int flags)
{
	struct pcw_open_params op;
	struct pcw_tree_params tp;
	struct seen s;
	pcw_fs *pfs = NULL;
	errcode_t err;
	const char *rest;
	char *cmd;

	memset(&s, 0, sizeof(s));
	s.in_page = s.in_commit = s.in_warning = -1;
	CHECK(sh("truncate -s 0 %s && truncate -s 32M %s && "
		 "mke2fs -q -F -t ext4 -b 4096 %s", img) == 0, "mke2fs");
	memset(&op, 0, sizeof(op));
	op.now = -1;
	err = pcw_fs_open(img, &op, &pfs);
	CHECK(!err, "open: %s", error_message(err));
	if (err)
		return;
	pcw_fs_set_report(pfs, on_event, &s);
	memset(&tp, 0, sizeof(tp));
	tp.flags = flags;
	err = pcw_tree_open(pfs, "/", &tp, &s.tree);
	CHECK(!err, "tree open: %s", error_message(err));
	if (!err) {
		err = add_file(s.tree, "a", data);
		CHECK(!err, "add a: %s", error_message(err));
		s.files = 1;
		err = add_file(s.tree, "b", data);
		CHECK(!err, "add b: %s", error_message(err));
		pcw_fs_warn(pfs, "c", "a warning");
		err = pcw_tree_close(s.tree);
		CHECK(!err, "tree close: %s", error_message(err));
	}
	err = pcw_fs_close(pfs);
	CHECK(!err, "close: %s", error_message(err));
	s.seq[s.n] = '\0';

	rest = second_file(s.seq);
	if (flags & PCW_TREE_ORDER_EVENTS)
		CHECK(rest[0] == 'C' && rest[1] == 'P',
		      "ordered: the second file starts with a commit: %s", s.seq);
	else
		CHECK(rest[0] == 'P',
		      "not ordered: no commit before the second file: %s", s.seq);
	CHECK(s.n >= 2 && s.seq[s.n - 2] == 'C' && s.seq[s.n - 1] == 'A',
	      "a commit before the warning: %s", s.seq);
	CHECK(s.in_page == PCW_ET_COMMIT_IN_CALLBACK,
	      "commit in a page event: %s", error_message(s.in_page));
	CHECK(s.in_commit == PCW_ET_COMMIT_IN_CALLBACK,
	      "commit in a commit event: %s", error_message(s.in_commit));
	CHECK(s.in_warning == PCW_ET_COMMIT_IN_CALLBACK,
	      "commit in a warning: %s", error_message(s.in_warning));

	if (asprintf(&cmd, "debugfs -R 'cat /a' %s 2>/dev/null | cmp -s - %s "
		     "&& debugfs -R 'cat /b' %s 2>/dev/null | cmp -s - %s",
		     img, data, img, data) > 0) {
		CHECK(system(cmd) == 0, "read back /a and /b");
		free(cmd);
	}
	CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0, "e2fsck -fn");
}

int main(void)
{
	char img[256], data[256];
	FILE *f;
	int i, rc = check_begin(tmpdir);

	if (rc)
		return rc;
	snprintf(img, sizeof(img), "%s/img", tmpdir);
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	f = fopen(data, "w");
	if (!f) {
		perror(data);
		return 1;
	}
	for (i = 0; i < 3 * 4096 + 100; i++)
		fputc('a' + i % 23, f);
	fclose(f);

	run_tree(img, data, PCW_TREE_ORDER_EVENTS);
	run_tree(img, data, PCW_TREE_HOLD_EVENTS);
	run_tree(img, data, 0);

	sh("rm -rf %s", tmpdir);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
