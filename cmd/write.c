/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * write.c: the write mode, pcwrite [OPTION...] IMAGE DEST [SOURCE...]:
 * each SOURCE (standard input when none) into one file in the image,
 * through the library's write loop, in one open of the image.
 *
 * Every DEST of the run is resolved before the first write, so a refusal
 * leaves the image byte-identical.  A failed file stops the run (exit 1,
 * the message says how many bytes were committed); a signal stops it at
 * the next page after committing what was written (128+N).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <et/com_err.h>

#include "pcwrite_cmd.h"


struct job {
	const char	*source;	/* host path, or NULL for stdin */
	int		fd;
	uint64_t	size;		/* of a regular source, or 0 */
	char		*dest;		/* path inside the image */
	struct pcw_dest	d;
	unsigned	mode;		/* default permission bits */
};

static char *path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir);
	char *s = malloc(l + strlen(name) + 2);

	if (!s)
		return NULL;
	strcpy(s, dir);
	if (l == 0 || dir[l - 1] != '/')
		strcat(s, "/");
	strcat(s, name);
	return s;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	while (b && b[1] == '\0' && b != path) {
		/* "dir/" : step back over trailing slashes */
		const char *e = b;

		while (e > path && *e == '/')
			e--;
		for (b = e; b > path && b[-1] != '/'; b--)
			;
		return b;
	}
	return b ? b + 1 : path;
}

/*
 * Open the host sources before the image is touched; one that is the image,
 * or a closed standard descriptor, is refused.
 */
static int open_sources(const struct cli_control *ctl, struct job *jobs,
			struct pcw_guard *guard)
{
	size_t i;

	if (ctl->from_stdin) {
		cli_host_files_source(guard, "source", NULL, STDIN_FILENO);
		jobs[0].fd = STDIN_FILENO;
		jobs[0].mode = 0644;
		/*
		 * A larger pipe means fewer, larger reads and fewer wakeups
		 * of both ends; the default 64 KiB costs a read per 16 pages.
		 * Best effort: the limit is /proc/sys/fs/pipe-max-size.
		 */
		fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
		return 0;
	}
	for (i = 0; i < ctl->nsources; i++) {
		struct stat st;

		jobs[i].source = ctl->sources[i];
		jobs[i].fd = open(ctl->sources[i], O_RDONLY | O_CLOEXEC);
		if (jobs[i].fd < 0 || fstat(jobs[i].fd, &st) < 0) {
			fprintf(stderr, "pcwrite: cannot open source %s: %s\n",
				cli_quote_always(ctl->sources[i]),
				strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "pcwrite: cannot read source %s: %s "
				"(use -R for a directory)\n",
				cli_quote_always(ctl->sources[i]),
				strerror(EISDIR));
			return 1;
		}
		cli_host_files_source(guard, "source", ctl->sources[i],
				      jobs[i].fd);
		jobs[i].mode = st.st_mode & 07777;
		if (S_ISREG(st.st_mode))
			jobs[i].size = st.st_size;
	}
	return 0;
}

/*
 * Resolve every DEST of the run.  One SOURCE (or stdin): DEST names the
 * file, or an existing directory gets DEST/basename(SOURCE).  Several: DEST
 * must be a directory.
 */
static errcode_t resolve_dests(pcw_fs *pfs, const struct cli_control *ctl,
			       struct job *jobs, size_t njobs,
			       const char **failed)
{
	int lflags = ctl->parents ? PCW_LOOKUP_PARENTS : 0;

	/* -a keeping mode and owner: an append-only file takes it. */
	if (ctl->append && !ctl->have_mode && !ctl->have_uid && !ctl->have_gid)
		lflags |= PCW_LOOKUP_APPEND;
	struct pcw_dest d;
	errcode_t err;
	size_t i;

	*failed = ctl->dest;
	if (njobs == 1) {
		err = pcw_dest_lookup(pfs, ctl->dest, lflags, &jobs[0].d);
		if (err == PCW_ET_IS_DIR && jobs[0].source) {
			pcw_dest_free(&jobs[0].d);
			jobs[0].dest = path_join(ctl->dest,
						 base_name(jobs[0].source));
			if (!jobs[0].dest)
				return ENOMEM;
			*failed = jobs[0].dest;
			err = pcw_dest_lookup(pfs, jobs[0].dest, lflags,
					      &jobs[0].d);
		} else {
			jobs[0].dest = strdup(ctl->dest);
			if (!jobs[0].dest)
				return ENOMEM;
		}
		if (!err && ctl->no_clobber && jobs[0].d.ino)
			err = PCW_ET_EXISTS;
		return err;
	}

	/*
	 * Several sources: DEST is a directory, existing or to be made.  A
	 * missing one is the files' missing parent: each file's lookup below
	 * says so, in the words it has for one SOURCE.
	 */
	err = pcw_dest_lookup(pfs, ctl->dest, lflags, &d);
	pcw_dest_free(&d);
	if (err == 0 && d.ino)
		return PCW_ET_NOT_DIR;
	if (err && err != PCW_ET_IS_DIR)
		return err;
	for (i = 0; i < njobs; i++) {
		jobs[i].dest = path_join(ctl->dest, base_name(jobs[i].source));
		if (!jobs[i].dest)
			return ENOMEM;
		*failed = jobs[i].dest;
		err = pcw_dest_lookup(pfs, jobs[i].dest, lflags, &jobs[i].d);
		if (!err && ctl->no_clobber && jobs[i].d.ino)
			err = PCW_ET_EXISTS;
		if (err)
			return err;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(jobs[k].dest, jobs[i].dest) ||
			    pcw_dest_same(pfs, &jobs[k].d, &jobs[i].d))
				return EEXIST;	/* two sources, one name */
	}
	return 0;
}

/*
 * The file record of one file (WRITTEN bytes committed, INFO what the
 * mapping left, OPENED: a mapping was opened), and its message.
 */
static void report_one(const struct cli_control *ctl,
		       struct cli_reporter *reporter, const struct job *job,
		       errcode_t err, uint64_t written,
		       const struct pcw_file_info *i, bool opened)
{
	struct cli_file_record rec;
	char extra[64];

	memset(&rec, 0, sizeof(rec));
	rec.file = job->dest;
	rec.bytes = written;
	rec.size = i->size;
	rec.pages = i->pages;
	rec.extents = i->extents;
	rec.status = !err ? "ok" : written ? "partial" : "failed";
	rec.err = err;
	rec.signal = err == EINTR ? pcw_signal_pending() : 0;
	if (opened) {
		/* the inode as the file left it */
		rec.attrs = i->attrs;
		rec.action = !job->d.ino ? "created" :
			     ctl->append || ctl->have_offset ? "updated" :
			     "replaced";
	}
	cli_render_file(reporter->render, &rec);

	cli_progress_clear();
	if (err == EINTR && pcw_signal_pending()) {
		snprintf(extra, sizeof(extra), "%" PRIu64 " bytes written",
			 written);
		cli_report_stopped(ctl, reporter, job->dest, extra);
	} else if (err) {
		snprintf(extra, sizeof(extra), " (%" PRIu64 " bytes written)",
			 written);
		cli_msg_error(ctl->image, job->dest, err, extra);
	} else if (cli_verbosity > 0) {
		fprintf(stderr, "pcwrite: %s:%s: %" PRIu64 " bytes written, "
			"size %" PRIu64 ", %" PRIu64 " extent%s\n",
			cli_quote(ctl->image), cli_quote(job->dest), written,
			i->size, i->extents, i->extents == 1 ? "" : "s");
	}
}

/* Write one file; returns 0, or the error already reported. */
static errcode_t write_one(pcw_fs *pfs, const struct cli_control *ctl,
			   struct job *job, struct cli_reporter *reporter)
{
	struct pcw_file_params fp;
	struct pcw_mapping *mapping = NULL;
	struct pcw_iter *iter = NULL;
	struct pcw_file_info info;
	struct pcw_atomic *atomic = NULL;
	struct pcw_dest tmp;
	const struct pcw_dest *dest = &job->d;
	uint64_t pos = 0, written = 0;
	errcode_t err, err2;
	bool mapping_opened;

	memset(&fp, 0, sizeof(fp));
	memset(&info, 0, sizeof(info));
	fp.flags = (ctl->no_delalloc ? PCW_FILE_NO_DELALLOC : 0) |
		   (ctl->append ? PCW_FILE_APPEND : 0) |
		   (ctl->have_offset ? PCW_FILE_KEEP : 0) |
		   (ctl->have_uid ? PCW_FILE_SET_UID : 0) |
		   (ctl->have_gid ? PCW_FILE_SET_GID : 0) |
		   PCW_FILE_SET_MODE;
	/* A new file gets the source's mode; an existing one keeps its own. */
	if (!ctl->have_mode && job->d.ino)
		fp.flags &= ~PCW_FILE_SET_MODE;
	/* -m applies to the SOURCE's bits (0644 for standard input). */
	fp.mode = ctl->have_mode ? cli_mode_apply(ctl->mode, job->mode, false)
				 : job->mode;
	fp.uid = ctl->uid;
	fp.gid = ctl->gid;
	fp.page_size = ctl->page_size;
	fp.dirty_limit = ctl->dirty_limit;
	fp.offset = ctl->offset;
	fp.report_name = job->dest;

	cli_progress_start(reporter->progress, job->dest, job->size);
	err = 0;
	if (ctl->atomic) {
		/* The new inode, written as a fresh file, named at the end. */
		err = pcw_atomic_begin(pfs, &job->d, &fp, &atomic, &tmp);
		dest = &tmp;
		fp.flags |= PCW_FILE_FRESH;
	}
	if (!err)
		err = pcw_mapping_open(pfs, dest, &fp, &mapping);
	if (!err)
		err = pcw_iter_open_fd(job->fd, pcw_mapping_page_size(mapping), &iter);
	if (!err) {
		static const enum pcw_sparse sparse[] = {
			[SPARSE_AUTO] = PCW_SPARSE_AUTO,
			[SPARSE_ALWAYS] = PCW_SPARSE_ALWAYS,
			[SPARSE_NEVER] = PCW_SPARSE_NEVER,
		};

		pcw_iter_set_sparse(iter, sparse[ctl->sparse]);
		pos = pcw_mapping_start(mapping);
		err = pcw_perform_write(mapping, iter, pos, &written);
	}
	mapping_opened = mapping != NULL;
	if (mapping) {
		err2 = pcw_mapping_finish(mapping, &info);
		if (!err)
			err = err2;
		pcw_mapping_free(mapping);
	}
	pcw_iter_free(iter);
	cli_progress_end(reporter->progress);
	if (atomic && !err) {
		err = pcw_atomic_swap(atomic);
		/* Not swapped: the path holds the old file, nothing written. */
		if (err)
			written = 0, info.size = 0;
	} else if (atomic) {
		pcw_atomic_abort(atomic);
		written = 0;
		info.size = 0;
	}

	/*
	 * What is on disk: writeback may have dropped the data from some
	 * byte on after an error, or cut the file back.
	 */
	if (mapping_opened && info.lost_from < pos + written)
		written = info.lost_from > pos ? info.lost_from - pos : 0;
	if (info.size < pos + written)
		written = info.size > pos ? info.size - pos : 0;
	report_one(ctl, reporter, job, err, written, &info, mapping_opened);
	return err;
}

/* Every DEST refused before the first write: said, with its record. */
static void refuse_dest(const struct cli_control *ctl, struct cli_render *render,
			const char *failed, errcode_t err)
{
	struct cli_file_record rec;

	if (err == PCW_ET_IS_DIR && ctl->from_stdin)
		fprintf(stderr, "pcwrite: %s:%s: %s (standard input needs a "
			"file name)\n", cli_quote(ctl->image),
			cli_quote(failed), error_message(err));
	else
		cli_msg_error(ctl->image, failed, err, NULL);
	/* refused before the first write: the image is as it was */
	memset(&rec, 0, sizeof(rec));
	rec.file = failed;
	rec.status = "refused";
	rec.err = err;
	cli_render_file(render, &rec);
}

/*
 * The files are written (DONE of NJOBS; ERR the one that failed): close
 * the image, say a stop, end the report.  Returns the exit status.
 */
static int finish(const struct cli_control *ctl, struct cli_reporter *rep,
		  pcw_fs *pfs, const struct pcw_conflict *conflict,
		  const struct job *jobs, size_t done, size_t njobs,
		  errcode_t err)
{
	int status = 0, rerr, sig;

	cli_msg_time_clamps(ctl->image, pfs);
	cli_msg_fs = NULL;
	err = cli_msg_close(ctl->image, err, pcw_fs_close(pfs), conflict);
	cli_progress_close(rep->progress);
	/* Stopped between two files (or on the last record): said here. */
	if (pcw_signal_pending() && done < njobs) {
		char what[64];

		snprintf(what, sizeof(what), "%zu of %zu files written", done,
			 njobs);
		cli_report_stopped(ctl, rep, jobs[done].dest, what);
	}
	sig = pcw_signal_pending();
	if (sig && !rep->stop_said && cli_report_stop_status(rep) == 1)
		cli_report_error(ctl, EPIPE);	/* every byte is written */
	if (sig)
		status = cli_report_stop_status(rep);
	cli_render_end(rep->render, sig ? status : err ? 1 : 0, err, NULL);
	rerr = cli_render_close(rep->render);
	rep->render = NULL;
	if (rerr && !sig) {
		cli_report_error(ctl, rerr);
		status = 1;
	}
	if (!sig && err)
		status = 1;
	return status;
}

int cli_write_main(struct cli_control *ctl, unsigned closed)
{
	struct pcw_conflict conflict;
	struct pcw_guard *guard;
	struct cli_reporter rep;
	struct cli_image img;
	struct job *jobs;
	size_t njobs, i;
	const char *failed;
	errcode_t err;
	int status = 1;

	/*
	 * The host files, in this order, each compared with the image and
	 * the ones before: standard streams, sources, report, undo file.
	 */
	memset(&rep, 0, sizeof(rep));
	memset(&img, 0, sizeof(img));
	guard = cli_host_files_guard(ctl, closed);
	njobs = ctl->from_stdin ? 1 : ctl->nsources;
	jobs = calloc(njobs, sizeof(*jobs));
	if (!jobs) {
		perror("pcwrite");
		goto out;
	}
	for (i = 0; i < njobs; i++)
		jobs[i].fd = -1;
	if (open_sources(ctl, jobs, guard))
		goto out;
	if (cli_report_open(ctl, guard, &rep))
		goto out;

	status = cli_image_open(ctl, guard, rep.render, "write", &conflict,
				&img);
	if (status)
		goto out;
	ctl->uid = img.uid;
	ctl->gid = img.gid;
	rep.progress = ctl->progress ? cli_progress_open(false) : NULL;
	pcw_fs_set_report(img.pfs, cli_report_event, &rep);

	err = resolve_dests(img.pfs, ctl, jobs, njobs, &failed);
	if (err) {
		refuse_dest(ctl, rep.render, failed, err);
		img.end_err = err;
		cli_msg_fs = NULL;
		pcw_fs_abort(img.pfs);
		status = 1;
		goto out;
	}
	for (i = 0; i < njobs && !pcw_signal_pending(); i++) {
		err = write_one(img.pfs, ctl, &jobs[i], &rep);
		if (err)
			break;
	}
	status = finish(ctl, &rep, img.pfs, &conflict, jobs, i, njobs, err);
out:
	if (rep.render) {
		cli_render_end(rep.render, status, img.end_err, img.end_msg);
		cli_render_close(rep.render);
	}
	for (i = 0; jobs && i < njobs; i++) {
		free(jobs[i].dest);
		pcw_dest_free(&jobs[i].d);
		if (jobs[i].source && jobs[i].fd >= 0)
			close(jobs[i].fd);
	}
	free(jobs);
	pcw_guard_free(guard);
	return status;
}
