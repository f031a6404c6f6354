/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tree.c: -x and -R, many files in one open of the image.
 *
 *	pcwrite -x [OPTION...] IMAGE DIR [ARCHIVE...]
 *	pcwrite -R [OPTION...] IMAGE DIR SOURCEDIR...
 *
 * Each ARCHIVE (standard input when none, or '-') or SOURCEDIR is a
 * source of entries (lib/src_archive.c, lib/src_tree.c); each entry goes
 * under DIR through a tree (lib/entry.c).  An entry refused for its own
 * sake (pcw_error_entry_only: a '..', a name too long, a file over a
 * directory, xattrs that do not fit...) is skipped with a message, the
 * library having undone it, and the run goes on to exit 1 at the end, as
 * bsdtar does; with --stop-on-error it stops the run there, as any other
 * error does (ENOSPC, EIO, a damaged image or archive): exit 1 and a
 * message naming it, everything before it committed and the filesystem
 * consistent.  A signal stops the run after the entry being written
 * (128+N).
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
};

/*
 * The archive's pipe is empty: commit before waiting (the commit event
 * shows what is done).  A source's callback, not the report's.
 */
static void on_idle(void *arg)
{
	struct cli_reporter *r = arg;

	if (r->tree)
		pcw_tree_commit(r->tree);
}

/*
 * Before a source's error: what came before is committed and shown
 * (PCW_EV_COMMIT); on failure it stays held until the end of the run says
 * how it went.
 */
static void commit_held(struct cli_reporter *r)
{
	if (r->nheld && r->tree)
		pcw_tree_commit(r->tree);
}

static int open_sources(const struct cli_control *ctl, struct src *srcs,
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
					cli_quote_always(name),
					strerror(errno ? errno : ENOTDIR));
				return 1;
			}
			continue;
		}
		srcs[k].what = "archive";
		if (!strcmp(name, "-")) {
			srcs[k].name = NULL;
			srcs[k].fd = STDIN_FILENO;
			cli_host_files_source(guard, "archive", NULL,
					      STDIN_FILENO);
			fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
			continue;
		}
		srcs[k].fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (srcs[k].fd < 0 || fstat(srcs[k].fd, &st) < 0) {
			fprintf(stderr, "pcwrite: cannot open archive %s: %s\n",
				cli_quote_always(name), strerror(errno));
			return 1;
		}
		/* An ARCHIVE that is the image (or the report...): exit 2. */
		cli_host_files_source(guard, "archive", name, srcs[k].fd);
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "pcwrite: cannot read archive %s: %s "
				"(use -R for a directory)\n",
				cli_quote_always(name), strerror(EISDIR));
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
static void report_entry(const struct cli_control *ctl, struct cli_reporter *rep,
			 const struct pcw_entry *e,
			 const struct pcw_entry_result *res, errcode_t err,
			 bool say, bool skipped)
{
	struct cli_file_record rec;
	char extra[700];

	memset(&rec, 0, sizeof(rec));
	rec.file = res->path;
	rec.ftype = pcw_ftype_name(res->type);
	rec.bytes = res->bytes;
	rec.size = res->info.size;
	rec.pages = res->info.pages;
	rec.extents = res->info.extents;
	rec.status = !err ? "ok" : skipped ? "skipped" :
		     res->bytes ? "partial" : "failed";
	rec.err = err;
	rec.signal = err == EINTR ? pcw_signal_pending() : 0;
	if (!err) {
		rec.action = pcw_action_name(res->action);
		rec.attrs = res->attrs;
		rec.target = res->target;
	}
	rec.line = !err ? cli_vlist_line(ctl, e, res) : NULL;
	if (rep->render || rep->vlist) {
		cli_report_hold(rep, &rec);
		if (res->committed)
			cli_report_release(rep, 0);
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
	cli_msg_error(ctl->image, res->path, err, extra);
}

/* A source's own error: libarchive's words, the archive and the entry. */
static void report_source(const struct src *src, struct pcw_source *s,
			  errcode_t err)
{
	const char *msg = pcw_source_message(s);

	cli_msg_source(src->what, src->name, pcw_source_path(s),
		       msg ? msg : error_message(err));
}

/*
 * Is ERR, of the entry just read or made, one to skip it for?  Only an
 * entry's own (the library says which), and not with --stop-on-error.
 */
static bool skips(const struct cli_control *ctl, struct cli_reporter *rep,
		  errcode_t err)
{
	if (ctl->stop_on_error || !pcw_error_entry_only(err) ||
	    pcw_signal_pending())
		return false;
	rep->skipped++;
	return true;
}

/*
 * An entry the source itself refused (a type pcwrite cannot make, an owner
 * out of range), skipped: its message as the source says it, and a record
 * under DIR with the name as the archive gives it.
 */
static void skip_source_entry(const struct cli_control *ctl,
			      struct cli_reporter *rep, const struct src *src,
			      struct pcw_source *s, errcode_t err)
{
	struct cli_file_record rec;
	const char *path = pcw_source_path(s);
	char *file;

	commit_held(rep);
	report_source(src, s, err);
	if (!path)
		path = "";
	path += strspn(path, "/");
	if (!strncmp(path, "./", 2))
		path += 2;
	file = malloc(strlen(ctl->dest) + strlen(path) + 2);
	if (!file)
		return;
	sprintf(file, "%s%s%s", ctl->dest,
		ctl->dest[strlen(ctl->dest) - 1] == '/' ? "" : "/", path);
	memset(&rec, 0, sizeof(rec));
	rec.file = file;
	rec.status = "skipped";
	rec.err = err;
	if (rep->render) {
		cli_report_hold(rep, &rec);
		cli_report_release(rep, 0);
	}
	free(file);
}

/* Every entry of SRC into T; 0, or the error that stopped it (reported). */
static errcode_t run_source(const struct cli_control *ctl, struct cli_reporter *rep,
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
		commit_held(rep);
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
		if (err && skips(ctl, rep, err)) {
			skip_source_entry(ctl, rep, src, s, err);
			continue;
		}
		if (err) {
			commit_held(rep);
			if (!(err == EINTR && pcw_signal_pending()))
				report_source(src, s, err);
			break;
		}
		cli_progress_start(rep->progress, e->path,
				   e->size > 0 ? (uint64_t)e->size : 0);
		err = pcw_tree_add(t, e, data, &res);
		cli_progress_end(rep->progress);
		/*
		 * The data's own error (a corrupt or truncated archive) is the
		 * source's to tell: it names the archive.
		 */
		if (err == PCW_ET_ARCHIVE || err == PCW_ET_SIZE_MISMATCH ||
		    err == PCW_ET_SOURCE) {
			report_entry(ctl, rep, e, &res, err, false, false);
			commit_held(rep);
			report_source(src, s, err);
			break;
		}
		if (err && skips(ctl, rep, err)) {
			report_entry(ctl, rep, e, &res, err, true, true);
			continue;
		}
		report_entry(ctl, rep, e, &res, err, true, false);
		if (err)
			break;
	}
	/* -R: files removed or changed under the walk (warned): exit 1 */
	rep->skipped += pcw_source_changes(s);
	pcw_source_close(s);
	return err;
}

/* The tree's parameters, as the command line says. */
static void tree_params(const struct cli_control *ctl,
			const struct cli_image *img, struct cli_attrs *attrs,
			const struct cli_render *render,
			struct pcw_tree_params *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->flags = (ctl->parents ? PCW_TREE_PARENTS : 0) |
		    (ctl->no_clobber ? PCW_TREE_NO_CLOBBER : 0) |
		    (ctl->no_xattrs ? PCW_TREE_NO_XATTRS : 0);
	/* Owners entry by entry (maps, --names): -u/-g then only fill gaps. */
	if (cli_owners_per_entry(ctl))
		tp->flags |= PCW_TREE_PARENT_OWNER;
	else
		tp->flags |= (ctl->have_uid ? PCW_TREE_SET_UID : 0) |
			     (ctl->have_gid ? PCW_TREE_SET_GID : 0);
	if (ctl->mtime >= 0)
		tp->flags |= ctl->mtime_set ? PCW_TREE_SET_TIMES
					    : PCW_TREE_CLAMP_TIMES;
	tp->uid = img->uid;
	tp->gid = img->gid;
	tp->mtime = ctl->mtime;
	tp->sparse = ctl->sparse == SPARSE_ALWAYS ? PCW_SPARSE_ALWAYS :
		     ctl->sparse == SPARSE_NEVER ? PCW_SPARSE_NEVER :
		     PCW_SPARSE_AUTO;
	/* what each entry made, for the JSON file records */
	if (render && REPORT_IS_JSON(ctl->report))
		tp->flags |= PCW_TREE_ATTRS;
	/*
	 * A page record never comes before earlier entries' file records: it
	 * waits with them for their commit (cli_report_event).
	 */
	if (cli_render_has_events(render))
		tp->flags |= PCW_TREE_HOLD_EVENTS;
	if (cli_attrs_active(attrs)) {
		tp->adjust = cli_attrs_adjust;
		tp->adjust_arg = attrs;
	}
	tp->whiteouts = ctl->whiteouts == 1 ? PCW_WHITEOUTS_OCI :
			ctl->whiteouts == 2 ? PCW_WHITEOUTS_OVERLAY :
			PCW_WHITEOUTS_LITERAL;
	tp->file.flags = ctl->no_delalloc ? PCW_FILE_NO_DELALLOC : 0;
	tp->file.page_size = ctl->page_size;
	tp->file.dirty_limit = ctl->dirty_limit;
}

/* The sources' parameters: what they skip, warnings, idle commits. */
static void source_params(const struct cli_control *ctl, pcw_fs *pfs,
			  struct pcw_guard *guard, struct cli_reporter *rep,
			  struct pcw_source_params *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->flags = ctl->no_xattrs ? PCW_SOURCE_NO_XATTRS : 0;
	sp->page_size = ctl->page_size ? ctl->page_size
		      : (pcw_fs_block_size(pfs) > 4096 ? pcw_fs_block_size(pfs)
							: 4096);
	sp->skip = is_own;
	sp->skip_arg = guard;
	/* warnings come as events, after the entries before them */
	if (cli_verbosity >= 0) {
		sp->warn = pcw_fs_warn;
		sp->warn_arg = pfs;
	}
	sp->idle = on_idle;
	sp->idle_arg = rep;
	sp->names = ctl->names;
}

/* DIR itself was refused, before the first entry: nothing was written. */
static void refuse_dir(const struct cli_control *ctl, struct cli_render *render,
		       errcode_t err)
{
	struct cli_file_record rec;

	cli_msg_error(ctl->image, ctl->dest, err, NULL);
	memset(&rec, 0, sizeof(rec));
	rec.file = ctl->dest;
	rec.ftype = "dir";
	rec.status = "refused";
	rec.err = err;
	cli_render_file(render, &rec);
}

/*
 * The entries are in (ERR: the one that stopped the run): close the tree
 * and the image, say a stop, end the report.  Returns the exit status.
 */
static int finish(const struct cli_control *ctl, struct cli_reporter *rep,
		  pcw_fs *pfs, const struct pcw_conflict *conflict,
		  errcode_t err)
{
	int rerr, status = 0, stop_status = 0;
	bool commit_err = false;
	errcode_t err2;

	if (rep->tree) {
		err2 = pcw_tree_close(rep->tree);
		rep->tree = NULL;
		cli_report_release(rep, err2);
		commit_err = err2 != 0;
		if (err2) {
			cli_msg_error(ctl->image, ctl->dest, err2,
				      " (setting directory times, committing)");
			if (!err)
				err = err2;
		}
	}
	cli_msg_time_clamps(ctl->image, pfs);
	cli_msg_fs = NULL;
	err2 = pcw_fs_close(pfs);
	commit_err |= err2 != 0;
	err = cli_msg_close(ctl->image, err, err2, conflict);
	cli_progress_close(rep->progress);
	rep->progress = NULL;
	/*
	 * A stop says where, and what is in the image: the entries made (all
	 * committed now, unless the commit failed: said above), and the
	 * entry it cut short.
	 */
	if (pcw_signal_pending() && !commit_err) {
		char what[96];

		if (rep->cut)
			snprintf(what, sizeof(what), "%" PRIu64 " bytes written, "
				 "%" PRIu64 " entr%s before it committed",
				 rep->cut_bytes, rep->entries,
				 rep->entries == 1 ? "y" : "ies");
		else
			snprintf(what, sizeof(what), "%" PRIu64 " entr%s "
				 "committed", rep->entries,
				 rep->entries == 1 ? "y" : "ies");
		cli_report_stopped(ctl, rep, rep->cut ? rep->cut : ctl->dest,
				   what);
	}
	if (pcw_signal_pending())
		stop_status = cli_report_stop_status(rep);
	cli_render_end(rep->render, stop_status ? stop_status :
		       err || rep->skipped ? 1 : 0, err, NULL);
	rerr = cli_render_close(rep->render);
	rep->render = NULL;
	if (rerr && !stop_status) {
		cli_report_error(ctl, rerr);
		status = 1;
	}
	if (stop_status)
		return stop_status;
	return err || rep->skipped ? 1 : status;
}

int cli_tree_main(const struct cli_control *ctl, unsigned closed)
{
	struct pcw_conflict conflict;
	struct pcw_tree_params tp;
	struct pcw_source_params sp;
	struct cli_reporter rep;
	struct cli_image img;
	struct pcw_guard *guard;
	struct cli_attrs *attrs = NULL;
	struct src *srcs;
	size_t n = ctl->nsources ? ctl->nsources : 1, k;
	errcode_t err;
	int status = 1;

	/* The host files first, as for one file: see cli_write_main(). */
	memset(&rep, 0, sizeof(rep));
	memset(&img, 0, sizeof(img));
	guard = cli_host_files_guard(ctl, closed);
	srcs = calloc(n, sizeof(*srcs));
	if (!srcs) {
		perror("pcwrite");
		pcw_guard_free(guard);
		return 1;
	}
	for (k = 0; k < n; k++)
		srcs[k].fd = -1;
	if (open_sources(ctl, srcs, n, guard))
		goto out;
	if (cli_report_open(ctl, guard, &rep))
		goto out;
	rep.progress = ctl->progress ? cli_progress_open(true) : NULL;
	rep.vlist = cli_vlist_open(ctl, cli_render_on_stdout(rep.render));

	status = cli_image_open(ctl, guard, rep.render,
				ctl->run == MODE_TREE ? "tree" : "extract",
				&conflict, &img);
	if (status)
		goto out;
	rep.hold_events = cli_render_has_events(rep.render);
	pcw_fs_set_report(img.pfs, cli_report_event, &rep);
	err = cli_attrs_open(ctl, img.pfs, img.uid, img.gid, &attrs);
	if (err) {
		cli_msg_error(ctl->image, NULL, err, NULL);
		cli_msg_fs = NULL;
		pcw_fs_abort(img.pfs);
		img.end_err = err;
		status = 1;
		goto out;
	}
	rep.attrs = attrs;
	tree_params(ctl, &img, attrs, rep.render, &tp);
	source_params(ctl, img.pfs, guard, &rep, &sp);

	err = pcw_tree_open(img.pfs, ctl->dest, &tp, &rep.tree);
	if (err)
		refuse_dir(ctl, rep.render, err);
	for (k = 0; !err && k < n && !pcw_signal_pending(); k++) {
		rep.src_what = srcs[k].what;
		rep.src_name = srcs[k].name;
		err = run_source(ctl, &rep, rep.tree, &srcs[k], &sp);
	}
	status = finish(ctl, &rep, img.pfs, &conflict, err);
out:
	/* A run that stopped before the image was written: free what it had. */
	cli_progress_close(rep.progress);
	if (rep.render) {
		cli_render_end(rep.render, status, img.end_err, img.end_msg);
		cli_render_close(rep.render);
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
	return status;
}
