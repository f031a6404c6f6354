/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extract.c: -x and -R, many files in one open of the image.
 *
 *	pcwrite -x [OPTION...] IMAGE DIR [ARCHIVE...]
 *	pcwrite -R [OPTION...] IMAGE DIR SOURCEDIR...
 *
 * Each ARCHIVE (standard input when none, or '-') or SOURCEDIR is a
 * source of entries (lib/archive.c); each entry goes under DIR through a
 * tree (lib/entry.c).  The first entry that fails stops the run with exit
 * 1 and a message naming it; everything before it is committed and the
 * filesystem consistent.  A signal stops the run after the entry being
 * written (128+N).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

/*
 * A host file no source may read: the image, its undo file, the report
 * (a SOURCE that is another ARCHIVE is fine, an mtree's own manifest).
 */
static bool is_own(void *arg, const struct stat *st)
{
	errcode_t code = pcw_guard_check_stat(arg, st);

	return code && code != PCW_ET_HOST_SOURCE;
}

/* One source's name and its descriptor (archives), opened before the image. */
struct src {
	const char	*what;		/* "archive", "source directory" */
	const char	*name;		/* NULL: standard input */
	int		fd;		/* -x: the archive; -1 for -R */
	char		*mtree_dir;	/* -x from a file: the file's directory */
	struct reporter	*rep;
};

/*
 * "pcwrite: archive 'a.tar': ENTRY: MSG", "pcwrite: source directory 'd':
 * MSG", "pcwrite: standard input: ENTRY: MSG": which source, which entry.
 */
static void source_msg(const struct src *src, const char *path,
		       const char *msg)
{
	pcw_progress_clear();
	if (src->name)
		fprintf(stderr, "pcwrite: %s %s: ", src->what,
			pcw_quote_always(src->name));
	else
		fputs("pcwrite: standard input: ", stderr);
	if (path)
		fprintf(stderr, "%s: ", pcw_quote(path));
	fprintf(stderr, "%s\n", pcw_quote(msg));
}

static void on_warning(void *arg, const char *path, const char *msg)
{
	const struct src *src = arg;

	if (pcw_verbosity < 0)
		return;
	pcw_held_commit(src->rep);	/* what came before, first */
	source_msg(src, path, msg ? msg : "warning");
}

/*
 * File records wait for their entries' commit (pcw_tree_add commits in
 * batches): a record says "ok" only for an entry that is in the image, so
 * that a killed run has reported no entry it lost.
 */
static void hold(struct reporter *r, const struct pcw_file_record *rec)
{
	struct pcw_file_record copy = *rec;

	if (r->nheld == r->held_cap) {
		size_t cap = r->held_cap ? r->held_cap * 2 : 64;
		struct pcw_file_record *h = realloc(r->held, cap * sizeof(*h));

		if (!h) {
			pcw_held_commit(r);
			if (!r->nheld) {
				pcw_vlist_put(r->vlist, rec->line);
				pcw_render_file(r->render, rec);
			}
			/* else not committed: never "ok" */
			free(rec->line);
			return;
		}
		r->held = h;
		r->held_cap = cap;
	}
	copy.file = strdup(rec->file);
	copy.target = rec->target ? strdup(rec->target) : NULL;
	if (!copy.file || (rec->target && !copy.target)) {
		free((char *)copy.file);
		free((char *)copy.target);
		free(rec->line);
		return;
	}
	r->held[r->nheld++] = copy;
}

/*
 * Show the held records, and with -v list their entries; with ERR, their
 * entries failed to commit (and are not listed).
 */
static void release(struct reporter *r, errcode_t err)
{
	size_t k;

	for (k = 0; k < r->nheld; k++) {
		struct pcw_file_record *rec = &r->held[k];

		if (err && !rec->err) {
			rec->status = "failed";
			rec->bytes = 0;
			rec->err = err;
		}
		if (!rec->err)
			pcw_vlist_put(r->vlist, rec->line);
		pcw_render_file(r->render, rec);
		free((char *)rec->file);
		free((char *)rec->target);
		free(rec->line);
	}
	if (r->nheld && r->vlist)
		fflush(r->vlist);
	r->nheld = 0;
}

/* The archive's pipe is empty: commit, and show what is done, before waiting. */
static void on_idle(void *arg)
{
	struct reporter *r = arg;

	if (r->tree && !pcw_tree_commit(r->tree))
		release(r, 0);
}

void pcw_held_commit(struct reporter *r)
{
	if (!r || !r->nheld)
		return;
	/* Not committed: held until the end of the run says how it went. */
	if (r->tree && pcw_tree_commit(r->tree))
		return;
	release(r, 0);
}

static int open_sources(const struct pcw_control *ctl, struct src *srcs,
			size_t n, struct pcw_guard *guard)
{
	size_t k;

	for (k = 0; k < n; k++) {
		const char *name = ctl->nsources ? ctl->sources[k] : "-";
		struct stat st;

		srcs[k].name = name;
		srcs[k].fd = -1;
		if (ctl->run == MODE_TREE) {
			srcs[k].what = "source directory";
			errno = 0;
			if (stat(name, &st) < 0 || !S_ISDIR(st.st_mode)) {
				fprintf(stderr, "pcwrite: cannot open source "
					"directory %s: %s\n",
					pcw_quote_always(name),
					strerror(errno ? errno : ENOTDIR));
				return 1;
			}
			continue;
		}
		srcs[k].what = "archive";
		if (!strcmp(name, "-")) {
			srcs[k].name = NULL;
			srcs[k].fd = STDIN_FILENO;
			pcw_host_files_source(guard, "archive", NULL,
					      STDIN_FILENO);
			fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
			continue;
		}
		srcs[k].fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (srcs[k].fd < 0 || fstat(srcs[k].fd, &st) < 0) {
			fprintf(stderr, "pcwrite: cannot open archive %s: %s\n",
				pcw_quote_always(name), strerror(errno));
			return 1;
		}
		/* An ARCHIVE that is the image (or the report...): exit 2. */
		pcw_host_files_source(guard, "archive", name, srcs[k].fd);
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "pcwrite: cannot read archive %s: %s "
				"(use -R for a directory)\n",
				pcw_quote_always(name), strerror(EISDIR));
			return 1;
		}
		/* An mtree manifest's paths are relative to its directory. */
		{
			char *copy = strdup(name);

			if (!copy)
				return 1;
			srcs[k].mtree_dir = strdup(dirname(copy));
			free(copy);
			if (!srcs[k].mtree_dir)
				return 1;
		}
	}
	return 0;
}

/*
 * One entry's file record, and its message when it failed (unless SAY is
 * false: the source tells its own error).
 */
static void report_entry(const struct pcw_control *ctl, struct reporter *rep,
			 const struct pcw_entry *e,
			 const struct pcw_entry_result *res, errcode_t err,
			 bool say)
{
	struct pcw_file_record rec;
	char extra[700];

	memset(&rec, 0, sizeof(rec));
	rec.file = res->path;
	rec.ftype = pcw_ftype_name(res->type);
	rec.bytes = res->bytes;
	rec.size = res->info.size;
	rec.pages = res->info.pages;
	rec.extents = res->info.extents;
	rec.status = !err ? "ok" : res->bytes ? "partial" : "failed";
	rec.err = err;
	rec.signal = err == EINTR ? pcw_signal_pending() : 0;
	if (!err) {
		rec.action = pcw_action_name(res->action);
		rec.attrs = res->attrs;
		rec.target = res->target;
	}
	rec.line = !err ? pcw_vlist_line(ctl, e, res) : NULL;
	if (rep->render || rep->vlist) {
		hold(rep, &rec);
		if (res->committed)
			release(rep, 0);
	}
	if (!err)
		rep->entries++;
	if (err == EINTR && pcw_signal_pending() && !rep->cut) {
		rep->cut = strdup(res->path);
		rep->cut_bytes = res->bytes;
	}

	if (!err || !say || (err == EINTR && pcw_signal_pending()))
		return;
	snprintf(extra, sizeof(extra), "%s", cli_attrs_why(rep->attrs));
	if (res->wrote_data)
		snprintf(extra, sizeof(extra), " (%" PRIu64 " bytes written)",
			 res->bytes);
	pcw_msg_error(ctl->image, res->path, err, extra);
}

/* A source's own error: libarchive's words, the archive and the entry. */
static void report_source(const struct src *src, struct pcw_source *s,
			  errcode_t err)
{
	const char *msg = pcw_source_message(s);

	source_msg(src, pcw_source_path(s), msg ? msg : error_message(err));
}

/* Every entry of SRC into T; 0, or the error that stopped it (reported). */
static errcode_t run_source(const struct pcw_control *ctl, struct reporter *rep,
			    struct pcw_tree *t, const struct src *src,
			    const struct pcw_source_params *sp)
{
	struct pcw_source *s = NULL;
	errcode_t err;

	if (ctl->run == MODE_TREE)
		err = pcw_source_open_tree(src->name, sp, &s);
	else
		err = pcw_source_open_archive(src->fd, src->name ? src->name :
					      "standard input",
					      src->mtree_dir, sp, &s);
	if (err) {
		pcw_held_commit(rep);
		report_source(src, s, err);
		pcw_source_close(s);
		return err;
	}
	while (!pcw_signal_pending()) {
		const struct pcw_entry *e;
		struct pcw_iter *data;
		struct pcw_entry_result res;

		err = pcw_source_next(s, &e, &data);
		if (err == PCW_ET_END) {
			err = 0;
			break;
		}
		if (err) {
			pcw_held_commit(rep);
			if (!(err == EINTR && pcw_signal_pending()))
				report_source(src, s, err);
			break;
		}
		pcw_progress_start(rep->progress, e->path,
				   e->size > 0 ? (uint64_t)e->size : 0);
		err = pcw_tree_add(t, e, data, &res);
		pcw_progress_end(rep->progress);
		/*
		 * The data's own error (a corrupt or truncated archive) is the
		 * source's to tell: it names the archive.
		 */
		if (err == PCW_ET_ARCHIVE || err == PCW_ET_SIZE_MISMATCH ||
		    err == PCW_ET_SOURCE) {
			report_entry(ctl, rep, e, &res, err, false);
			pcw_held_commit(rep);
			report_source(src, s, err);
			break;
		}
		report_entry(ctl, rep, e, &res, err, true);
		if (err)
			break;
	}
	pcw_source_close(s);
	return err;
}

int pcw_tree_main(const struct pcw_control *ctl, unsigned closed)
{
	struct pcw_open_params params;
	struct pcw_conflict conflict;
	struct pcw_tree_params tp;
	struct pcw_source_params sp;
	struct reporter rep;
	struct pcw_guard *guard;
	struct pcw_tree *t = NULL;
	struct cli_attrs *attrs = NULL;
	errcode_t end_err = 0;		/* why a run that stopped early did */
	const char *end_msg = NULL;
	uint32_t uid, gid;
	struct src *srcs;
	pcw_fs *pfs = NULL;
	size_t n = ctl->nsources ? ctl->nsources : 1, k;
	errcode_t err = 0, err2;
	int rerr, status = 0, stop_status = 0;
	bool ran = false;	/* the image was opened for writing */
	bool commit_err = false;

	/* The host files first, as for one file: see main(). */
	memset(&rep, 0, sizeof(rep));
	guard = pcw_host_files_guard(ctl, closed);
	srcs = calloc(n, sizeof(*srcs));
	if (!srcs) {
		perror("pcwrite");
		pcw_guard_free(guard);
		return 1;
	}
	for (k = 0; k < n; k++) {
		srcs[k].fd = -1;
		srcs[k].rep = &rep;
	}
	if (open_sources(ctl, srcs, n, guard)) {
		status = 1;
		goto out;
	}
	rep.render = pcw_render_open(ctl->report,
				     pcw_host_files_report(ctl, guard),
				     ctl->report_stdout, &rerr);
	if (rerr) {
		fprintf(stderr, "pcwrite: %s\n", strerror(rerr));
		pcw_host_files_cleanup();
		status = 1;
		goto out;
	}
	rep.progress = ctl->progress ? pcw_progress_open(true) : NULL;
	rep.vlist = pcw_vlist_open(ctl, rep.render);

	memset(&params, 0, sizeof(params));
	memset(&conflict, 0, sizeof(conflict));
	params.flags = (ctl->no_sync ? PCW_OPEN_NO_SYNC : 0) |
		       (ctl->have_project ? PCW_OPEN_PROJECT : 0) |
		       (ctl->no_journal ? PCW_OPEN_NO_JOURNAL : 0);
	params.commit_sec = ctl->commit_sec;
	params.project = ctl->project;
	params.image_offset = ctl->image_offset;
	params.image_size = ctl->image_size;
	params.now = ctl->mtime;
	params.undo_file = ctl->undo_file;
	pcw_msg_set_undo_file(ctl->undo_file);
	params.undo_fd = pcw_host_files_undo(ctl, guard);
	params.guard = guard;
	params.conflict = &conflict;
	pcw_host_files_keep();
	pcw_install_signals();
	err = pcw_fs_open(ctl->image, &params, &pfs);
	pcw_render_start(rep.render, ctl->run == MODE_TREE ? "tree" : "extract",
			 ctl, err ? NULL : pfs);
	if (err) {
		pcw_msg_open(ctl, err, &conflict);
		end_err = err;
		status = 1;
		goto out;
	}
	pcw_msg_fs = pfs;
	if (ctl->page_size && ctl->page_size < pcw_fs_block_size(pfs)) {
		fprintf(stderr, "pcwrite: --page-size is below the image's "
			"block size (%u)\nTry 'pcwrite --help' for more "
			"information.\n", pcw_fs_block_size(pfs));
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		status = EXIT_USAGE;
		end_msg = "--page-size is below the image's block size";
		goto out;
	}
	pcw_fs_set_report(pfs, pcw_on_event, &rep);
	/* -u/-g names, in the image as it is before the first entry */
	status = cli_owner_names(ctl, pfs, &uid, &gid, &end_err);
	if (status) {
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		goto out;
	}

	memset(&tp, 0, sizeof(tp));
	tp.flags = (ctl->parents ? PCW_TREE_PARENTS : 0) |
		   (ctl->no_clobber ? PCW_TREE_NO_CLOBBER : 0) |
		   (ctl->no_xattrs ? PCW_TREE_NO_XATTRS : 0);
	/* Owners entry by entry (maps, --names): -u/-g then only fill gaps. */
	if (cli_owners_per_entry(ctl))
		tp.flags |= PCW_TREE_PARENT_OWNER;
	else
		tp.flags |= (ctl->have_uid ? PCW_TREE_SET_UID : 0) |
			    (ctl->have_gid ? PCW_TREE_SET_GID : 0);
	if (ctl->mtime >= 0)
		tp.flags |= ctl->mtime_set ? PCW_TREE_SET_TIMES
					   : PCW_TREE_CLAMP_TIMES;
	tp.uid = uid;
	tp.gid = gid;
	tp.mtime = ctl->mtime;
	tp.sparse = ctl->sparse == SPARSE_ALWAYS ? PCW_SPARSE_ALWAYS :
		    ctl->sparse == SPARSE_NEVER ? PCW_SPARSE_NEVER :
		    PCW_SPARSE_AUTO;
	err = cli_attrs_open(ctl, pfs, uid, gid, &attrs);
	if (err) {
		pcw_msg_error(ctl->image, NULL, err, NULL);
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		end_err = err;
		status = 1;
		goto out;
	}
	/* what each entry made, for the JSON file records */
	if (rep.render && REPORT_IS_JSON(ctl->report))
		tp.flags |= PCW_TREE_ATTRS;
	if (cli_attrs_active(attrs)) {
		tp.adjust = cli_attrs_adjust;
		tp.adjust_arg = attrs;
	}
	rep.attrs = attrs;
	tp.file.flags = ctl->no_delalloc ? PCW_FILE_NO_DELALLOC : 0;
	tp.file.page_size = ctl->page_size;
	tp.file.dirty_limit = ctl->dirty_limit;

	memset(&sp, 0, sizeof(sp));
	sp.flags = ctl->no_xattrs ? PCW_SOURCE_NO_XATTRS : 0;
	sp.page_size = ctl->page_size ? ctl->page_size
		     : (pcw_fs_block_size(pfs) > 4096 ? pcw_fs_block_size(pfs)
						       : 4096);
	sp.skip = is_own;
	sp.skip_arg = guard;
	sp.warn = on_warning;
	sp.idle = on_idle;
	sp.idle_arg = &rep;
	sp.names = ctl->names;

	err = pcw_tree_open(pfs, ctl->dest, &tp, &t);
	rep.tree = t;
	if (err) {
		struct pcw_file_record rec;

		pcw_msg_error(ctl->image, ctl->dest, err, NULL);
		/* DIR refused before the first entry: nothing was written */
		memset(&rec, 0, sizeof(rec));
		rec.file = ctl->dest;
		rec.ftype = "dir";
		rec.status = "refused";
		rec.err = err;
		pcw_render_file(rep.render, &rec);
	}
	for (k = 0; !err && k < n && !pcw_signal_pending(); k++) {
		sp.warn_arg = &srcs[k];
		err = run_source(ctl, &rep, t, &srcs[k], &sp);
	}
	if (t) {
		err2 = pcw_tree_close(t);
		rep.tree = NULL;
		release(&rep, err2);
		commit_err = err2 != 0;
		if (err2) {
			pcw_msg_error(ctl->image, ctl->dest, err2,
				      " (setting directory times, committing)");
			if (!err)
				err = err2;
		}
	}
	pcw_msg_time_clamps(ctl->image, pfs);
	pcw_msg_fs = NULL;
	err2 = pcw_fs_close(pfs);
	commit_err |= err2 != 0;
	err = pcw_msg_close(ctl->image, err, err2, &conflict);
	ran = true;
	pcw_progress_close(rep.progress);
	rep.progress = NULL;
	/*
	 * A stop says where, and what is in the image: the entries made (all
	 * committed now, unless the commit failed: said above), and the
	 * entry it cut short.
	 */
	if (pcw_signal_pending() && !commit_err) {
		char what[96];

		if (rep.cut)
			snprintf(what, sizeof(what), "%" PRIu64 " bytes written, "
				 "%" PRIu64 " entr%s before it committed",
				 rep.cut_bytes, rep.entries,
				 rep.entries == 1 ? "y" : "ies");
		else
			snprintf(what, sizeof(what), "%" PRIu64 " entr%s "
				 "committed", rep.entries,
				 rep.entries == 1 ? "y" : "ies");
		pcw_msg_stopped(ctl, &rep, rep.cut ? rep.cut : ctl->dest, what);
	}
	if (pcw_signal_pending())
		stop_status = pcw_stop_status(&rep);
	pcw_render_end(rep.render, stop_status ? stop_status : err ? 1 : 0,
		       err, NULL);
	rerr = pcw_render_close(rep.render);
	rep.render = NULL;
	if (rerr && !stop_status) {
		pcw_report_error(ctl, rerr);
		status = 1;
	}
out:
	/* A run that stopped before the image was written: free what it had. */
	pcw_progress_close(rep.progress);
	if (rep.render) {
		pcw_render_end(rep.render, status, end_err, end_msg);
		pcw_render_close(rep.render);
	}
	for (k = 0; k < n; k++) {
		if (srcs[k].fd > STDIN_FILENO)
			close(srcs[k].fd);
		free(srcs[k].mtree_dir);
	}
	free(srcs);
	free(rep.held);
	cli_attrs_close(attrs);
	free(rep.cut);
	pcw_guard_free(guard);
	if (!ran)
		return status;
	if (stop_status)
		return stop_status;
	if (err)
		return 1;
	return status;
}
