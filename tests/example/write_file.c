/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * write_file IMAGE DEST SOURCE: write the host file SOURCE into the
 * ext2/3/4 IMAGE as DEST, with libpcwrite.  libpcwrite(3) shows this
 * program; make check builds it against the installed library:
 *
 *	cc -o write_file write_file.c $(pkg-config --cflags --libs pcwrite)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>
#include <pcwrite/pcwrite.h>

/* The report callback: count the loop's iterations. */
static void on_event(const struct pcw_event *ev, void *arg)
{
	uint64_t *pages = arg;

	if (ev->type == PCW_EV_PAGE)
		(*pages)++;
}

int main(int argc, char **argv)
{
	struct pcw_open_params op;
	struct pcw_file_params fp;
	struct pcw_file_info info;
	struct pcw_dest dest;
	struct pcw_mapping *mapping = NULL;
	struct pcw_iter *iter = NULL;
	uint64_t written = 0, pages = 0;
	pcw_fs *fs;
	errcode_t err, err2;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: write_file IMAGE DEST SOURCE\n");
		return 2;
	}
	initialize_ext2_error_table();
	initialize_pcw_error_table();
	fd = open(argv[3], O_RDONLY);
	if (fd < 0) {
		perror(argv[3]);
		return 1;
	}

	memset(&op, 0, sizeof(op));	/* structs may grow: always zero them */
	op.now = -1;			/* timestamps: the current time */
	err = pcw_fs_open(argv[1], &op, &fs);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], error_message(err));
		return 1;
	}
	pcw_fs_set_report(fs, on_event, &pages);

	/* Every DEST is resolved before the first write. */
	err = pcw_dest_lookup(fs, argv[2], 0, &dest);
	if (err) {
		fprintf(stderr, "%s:%s: %s\n", argv[1], argv[2],
			error_message(err));
		pcw_fs_abort(fs);	/* nothing was written */
		return 1;
	}

	memset(&fp, 0, sizeof(fp));
	fp.flags = PCW_FILE_SET_MODE;
	fp.mode = 0644;
	fp.report_name = argv[2];
	err = pcw_mapping_open(fs, &dest, &fp, &mapping);
	if (!err)
		err = pcw_iter_open_fd(fd, pcw_mapping_page_size(mapping), &iter);
	if (!err)
		err = pcw_perform_write(mapping, iter, pcw_mapping_start(mapping),
					&written);
	if (mapping) {
		err2 = pcw_mapping_finish(mapping, &info);
		if (!err)
			err = err2;
		pcw_mapping_free(mapping);
	}
	pcw_iter_free(iter);
	pcw_dest_free(&dest);
	close(fd);

	/* Commit and sync, also after an error: the filesystem stays consistent. */
	err2 = pcw_fs_close(fs);
	if (!err)
		err = err2;
	if (err) {
		fprintf(stderr, "%s:%s: %s (%s, %" PRIu64 " bytes written)\n",
			argv[1], argv[2], error_message(err),
			strerror(pcw_error_errno(err)), written);
		return 1;
	}
	printf("%s: %" PRIu64 " bytes in %" PRIu64 " pages, %" PRIu64
	       " extent(s)\n", argv[2], written, pages, info.extents);
	return 0;
}
