/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcwrite.c: main(): options, the run, messages and exit statuses.
 *
 *	0	everything written and committed
 *	1	failed (the message says how many bytes were committed)
 *	2	usage error; the image was not written
 *	128+N	stopped by signal N after committing what was written
 *
 * Every DEST of the run is resolved before the first write, so a refusal
 * leaves the image byte-identical.
 */
#include "config.h"

#include <errno.h>
#include <et/com_err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <libgen.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

#include "pcwrite_cmd.h"

struct job {
	const char	*source;	/* host path, or NULL for stdin */
	int		fd;
	uint64_t	size;		/* of a regular source, or 0 */
	char		*dest;		/* path inside the image */
	struct pcw_dest	d;
	unsigned	mode;		/* default permission bits */
};

int pcw_verbosity;

/* Where the library's events go: the report and the progress bar. */
void pcw_on_event(const struct pcw_event *ev, void *arg)
{
	struct reporter *r = arg;

	/* A page record never comes before the file records of earlier entries. */
	if (r->nheld && pcw_render_has_events(r->render))
		pcw_held_commit(r);
	pcw_render_event(ev, r->render);
	if (ev->type == PCW_EV_PAGE)
		pcw_progress_page(r->progress, ev->u.page.status);
}

static void usage_msg(const char *msg, const char *arg)
{
	pcw_host_files_cleanup();
	fputs("pcwrite: ", stderr);
	fprintf(stderr, msg, arg);
	fputs("\nTry 'pcwrite --help' for more information.\n", stderr);
}

pcw_fs *pcw_msg_fs;

/*
 * The library's words for a refusal about a directory start "directory
 * is": the directory goes in there, as the library names it.
 */
static bool msg_with_dir(const char *image, const char *dest, errcode_t err,
			 const char *extra)
{
	const char *msg = error_message(err);
	char *dir = NULL;

	if ((err != PCW_ET_DIR_IMMUTABLE && err != PCW_ET_DIR_APPEND &&
	     err != PCW_ET_DIR_CASEFOLD && err != PCW_ET_DIR_ENCRYPTED) ||
	    !pcw_msg_fs || strncmp(msg, "directory ", 10) ||
	    pcw_fs_error_dir(pcw_msg_fs, &dir))
		return false;
	fprintf(stderr, "pcwrite: %s:%s: directory %s %s%s\n", pcw_quote(image),
		pcw_quote(dest), pcw_quote_always(dir), msg + 10,
		extra ? extra : "");
	free(dir);
	return true;
}

/*
 * " (the file size limit, ulimit -f, is N bytes)" after an EFBIG that a
 * host file's write met, or "": SIGXFSZ is ignored, so a write at or past
 * RLIMIT_FSIZE fails with EFBIG, and the limit is what the user can change.
 */
const char *pcw_fsize_note(int errnum)
{
	static char note[80];
	struct rlimit rl;

	if (errnum != EFBIG || getrlimit(RLIMIT_FSIZE, &rl) < 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return "";
	snprintf(note, sizeof(note), " (the file size limit, ulimit -f, is %"
		 PRIu64 " bytes)", (uint64_t)rl.rlim_cur);
	return note;
}

/* The note for ERR: a host write's EFBIG, or the refusal for the limit. */
static const char *limit_note(errcode_t err)
{
	static char note[48];
	struct rlimit rl;

	/* Not PCW_ET_FILE_TOO_BIG: that is ext4's own limit on a file. */
	if (err == EFBIG)
		return pcw_fsize_note(EFBIG);
	if (err != PCW_ET_FSIZE_LIMIT || getrlimit(RLIMIT_FSIZE, &rl) < 0)
		return "";
	snprintf(note, sizeof(note), " (%" PRIu64 " bytes)",
		 (uint64_t)rl.rlim_cur);
	return note;
}

/* The --undo file, for its errors' messages. */
static const char *undo_file_name;

void pcw_msg_set_undo_file(const char *path)
{
	undo_file_name = path;
}

static bool is_undo_error(errcode_t err)
{
	return err == PCW_ET_UNDO_NOSPC || err == PCW_ET_UNDO_DQUOT ||
	       err == PCW_ET_UNDO_FBIG || err == PCW_ET_UNDO_IO;
}

void pcw_msg_error(const char *image, const char *dest, errcode_t err,
		   const char *extra)
{
	const char *note = limit_note(err);

	/*
	 * The undo file could not take a block's old contents: its name and
	 * its filesystem's error, then where the run stopped.
	 */
	if (is_undo_error(err) && undo_file_name) {
		static bool said;	/* the entry, then the tree's close */
		int e = pcw_error_errno(err);

		if (said)
			return;
		said = true;
		pcw_progress_clear();
		fprintf(stderr, "pcwrite: undo file %s: %s%s; the run stopped at "
			"%s%s%s%s\n", pcw_quote_always(undo_file_name),
			strerror(e), pcw_fsize_note(e), pcw_quote(image),
			dest ? ":" : "", dest ? pcw_quote(dest) : "",
			extra ? extra : "");
		return;
	}

	pcw_progress_clear();
	if (dest && msg_with_dir(image, dest, err, extra))
		return;
	if (dest)
		fprintf(stderr, "pcwrite: %s:%s: %s%s%s\n", pcw_quote(image),
			pcw_quote(dest), error_message(err), note,
			extra ? extra : "");
	else
		fprintf(stderr, "pcwrite: %s: %s%s%s\n", pcw_quote(image),
			error_message(err), note, extra ? extra : "");
}

/*
 * libext2fs reports some of what it finds with com_err() on standard error
 * (a block number outside the filesystem passed to a bitmap, for one) and
 * carries on.  pcwrite's contract is one line per error: those reports are
 * shown with --verbose only, and then as one line like ours (the message
 * may hold a name: quoted); the error that matters comes back as a code.
 */
static void com_err_one_line(const char *whoami, errcode_t code,
			     const char *fmt, va_list args)
{
	char msg[1024];

	if (pcw_verbosity <= 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, args);
	fputs("pcwrite: libext2fs: ", stderr);
	if (whoami && *whoami)
		fprintf(stderr, "%s: ", pcw_quote(whoami));
	fprintf(stderr, "%s%s%s\n", code ? error_message(code) : "",
		code && *msg ? " " : "", pcw_quote(msg));
}

/* PCW_ET_MOUNTED and its kind: which device, mounted where. */
void pcw_msg_conflict(const char *image, errcode_t err,
		      const struct pcw_conflict *c)
{
	char extra[4400];

	extra[0] = '\0';
	if (c->device[0] && c->mountpoint[0])
		snprintf(extra, sizeof(extra), " (%s, mounted on %s)",
			 pcw_quote(c->device), pcw_quote(c->mountpoint));
	else if (c->device[0] && err == PCW_ET_BUSY)
		snprintf(extra, sizeof(extra), " (%s is held open exclusively)",
			 pcw_quote(c->device));
	else if (c->device[0])
		snprintf(extra, sizeof(extra), " (%s)", pcw_quote(c->device));
	pcw_msg_error(image, NULL, err, extra);
}

/*
 * pcw_fs_close's error ERR2 after the run's ERR: said, unless it is the one
 * the run already said (a check at the last commit and at close both find
 * a truncated image); then, when the filesystem stays marked not clean,
 * that it does and what to run.  Returns the run's error.
 */
errcode_t pcw_msg_close(const char *image, errcode_t err, errcode_t err2,
			const struct pcw_conflict *c)
{
	if (err2 == PCW_ET_FLUSH)
		pcw_msg_conflict(image, err2, c);
	else if (err2 && err2 != err && err2 != PCW_ET_LEFT_NOT_CLEAN)
		pcw_msg_error(image, NULL, err2,
			      c->left_not_clean ? " (while committing)" :
			      " (while committing; run e2fsck -f)");
	if (c->left_not_clean)
		pcw_msg_error(image, NULL, PCW_ET_LEFT_NOT_CLEAN, NULL);
	return err ? err : err2;
}

/* pcw_fs_open's (or pcw_list_dir's) error: where the filesystem was looked for. */
void pcw_msg_open(const struct pcw_control *ctl, errcode_t err,
		  const struct pcw_conflict *c)
{
	char extra[96];

	if (err != PCW_ET_OFFSET_PAST_END && err != PCW_ET_NO_FS_AT_OFFSET &&
	    err != PCW_ET_FS_PAST_PARTITION) {
		pcw_msg_conflict(ctl->image, err, c);
		return;
	}
	if (ctl->partition)
		snprintf(extra, sizeof(extra), " (--partition=%u, at byte %"
			 PRIu64 ")", ctl->partition, ctl->image_offset);
	else
		snprintf(extra, sizeof(extra), " (--image-offset=%" PRIu64 ")",
			 ctl->image_offset);
	pcw_msg_error(ctl->image, NULL, err, extra);
}

/*
 * Names are bytes, written as the archive has them.  libarchive converts a
 * pax or zip entry's UTF-8 name into the current locale's character set
 * and warns ("Pathname can't be converted from UTF-8 to current locale")
 * when it cannot: in the C locale, for every name that is not ASCII.  So
 * LC_CTYPE is the environment's when that is UTF-8, else C.UTF-8 (the
 * conversion is then the identity).  Only LC_CTYPE: messages (strerror,
 * com_err) and the report's numbers stay as they are in every locale.
 */
static void pcw_set_ctype(void)
{
	const char *cs;

	if (setlocale(LC_CTYPE, "") && (cs = nl_langinfo(CODESET)) &&
	    !strcmp(cs, "UTF-8"))
		return;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C");
}

/*
 * Times that their inodes cannot hold were clamped, as the kernel clamps
 * them: one line for the run, with the range (--quiet: none).
 */
void pcw_msg_time_clamps(const char *image, const pcw_fs *pfs)
{
	struct pcw_time_clamps c;
	char lo[32], hi[32];
	struct tm tm;
	time_t t;

	pcw_fs_time_clamps(pfs, &c);
	if (!c.count || pcw_verbosity < 0)
		return;
	t = (time_t)c.min;
	strftime(lo, sizeof(lo), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
	t = (time_t)c.max;
	strftime(hi, sizeof(hi), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
	pcw_progress_clear();
	fprintf(stderr, "pcwrite: %s: warning: timestamps outside what the "
		"inodes hold were clamped to %s .. %s UTC\n", pcw_quote(image),
		lo, hi);
}

static void on_signal(int signo)
{
	pcw_signal_notify(signo);
}

/*
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE stop the loop at the next page.  No
 * SA_RESTART, so a blocked read of the source returns.  A signal inherited
 * as ignored stays ignored (the convention for background jobs).
 */
void pcw_install_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

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
static int open_sources(const struct pcw_control *ctl, struct job *jobs,
			struct pcw_guard *guard)
{
	size_t i;

	if (ctl->from_stdin) {
		pcw_host_files_source(guard, "source", NULL, STDIN_FILENO);
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
				pcw_quote_always(ctl->sources[i]),
				strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "pcwrite: cannot read source %s: %s "
				"(use -R for a directory)\n",
				pcw_quote_always(ctl->sources[i]),
				strerror(EISDIR));
			return 1;
		}
		pcw_host_files_source(guard, "source", ctl->sources[i],
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
static errcode_t resolve_dests(pcw_fs *pfs, const struct pcw_control *ctl,
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
			if (!strcmp(jobs[k].dest, jobs[i].dest))
				return EEXIST;	/* two sources, one name */
	}
	return 0;
}

/* Write one file; returns 0, or the error already reported. */
static errcode_t write_one(pcw_fs *pfs, const struct pcw_control *ctl,
			   struct job *job, struct reporter *reporter)
{
	struct pcw_file_params fp;
	struct pcw_mapping *mapping = NULL;
	struct pcw_iter *iter = NULL;
	struct pcw_file_info info;
	struct pcw_file_record rec;
	struct pcw_atomic *atomic = NULL;
	struct pcw_dest tmp;
	const struct pcw_dest *dest = &job->d;
	uint64_t pos = 0, written = 0;
	errcode_t err, err2;
	bool mapping_opened;
	char extra[64];

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

	pcw_progress_start(reporter->progress, job->dest, job->size);
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
	pcw_progress_end(reporter->progress);
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
	memset(&rec, 0, sizeof(rec));
	rec.file = job->dest;
	rec.bytes = written;
	rec.size = info.size;
	rec.pages = info.pages;
	rec.extents = info.extents;
	rec.status = !err ? "ok" : written ? "partial" : "failed";
	rec.err = err;
	rec.signal = err == EINTR ? pcw_signal_pending() : 0;
	if (mapping_opened) {
		/* the inode as the file left it */
		rec.attrs = info.attrs;
		rec.action = !job->d.ino ? "created" :
			     ctl->append || ctl->have_offset ? "updated" :
			     "replaced";
	}
	pcw_render_file(reporter->render, &rec);

	pcw_progress_clear();
	if (err == EINTR && pcw_signal_pending()) {
		snprintf(extra, sizeof(extra), "%" PRIu64 " bytes written",
			 written);
		pcw_msg_stopped(ctl, reporter, job->dest, extra);
	} else if (err) {
		snprintf(extra, sizeof(extra), " (%" PRIu64 " bytes written)",
			 written);
		pcw_msg_error(ctl->image, job->dest, err, extra);
	} else if (pcw_verbosity > 0) {
		fprintf(stderr, "pcwrite: %s:%s: %" PRIu64 " bytes written, "
			"size %" PRIu64 ", %" PRIu64 " extent%s\n",
			pcw_quote(ctl->image), pcw_quote(job->dest), written,
			info.size, info.extents, info.extents == 1 ? "" : "s");
	}
	return err;
}

/* --partition=N: the filesystem's offset and size, from the table. */
static int find_partition(struct pcw_control *ctl)
{
	struct pcw_partition part;
	char extra[32];
	errcode_t err;

	err = pcw_partition_find(ctl->image, ctl->partition, &part);
	if (err) {
		snprintf(extra, sizeof(extra), " (--partition=%u)",
			 ctl->partition);
		pcw_msg_error(ctl->image, NULL, err, extra);
		return 1;
	}
	ctl->image_offset = part.start;
	ctl->image_size = part.size;
	return 0;
}

/* The report could not be written: where it was going, and why. */
void pcw_report_error(const struct pcw_control *ctl, int err)
{
	if (ctl->report_file) {
		pcw_progress_clear();
		fprintf(stderr, "pcwrite: write error on report file %s: %s%s\n",
			pcw_quote_always(ctl->report_file), strerror(err),
			pcw_fsize_note(err));
	} else if (REPORT_IS_JSON(ctl->report) || ctl->report_stdout) {
		pcw_stdout_error(err);
	} else {
		/* standard error: nowhere to say it; the status does */
	}
}

/* The report's reader went away (EPIPE) before any signal came. */
static bool report_closed(const struct reporter *r)
{
	return pcw_render_error(r->render) == EPIPE &&
	       pcw_signal_pending() == SIGPIPE;
}

void pcw_msg_stopped(const struct pcw_control *ctl, struct reporter *r,
		     const char *dest, const char *what)
{
	const char *where = ctl->report_file ? "report file" :
			    REPORT_IS_JSON(ctl->report) || ctl->report_stdout ?
			    "standard output" :
			    "standard error";

	if (r->stop_said)
		return;
	r->stop_said = true;
	if (pcw_verbosity < 0)
		return;
	pcw_progress_clear();
	if (!report_closed(r))
		fprintf(stderr, "pcwrite: %s:%s: stopped by SIG%s (%s)\n",
			pcw_quote(ctl->image), pcw_quote(dest),
			sigabbrev_np(pcw_signal_pending()), what);
	else
		fprintf(stderr, "pcwrite: %s:%s: stopped: write error on %s%s%s: "
			"%s (%s)\n", pcw_quote(ctl->image), pcw_quote(dest),
			where, ctl->report_file ? " " : "",
			ctl->report_file ? pcw_quote_always(ctl->report_file)
					 : "", strerror(EPIPE), what);
}

/*
 * A report nobody reads is the run's failure (exit 1), as a write error on
 * its output is for any tool; a signal from outside is 128+N.
 */
int pcw_stop_status(const struct reporter *r)
{
	return report_closed(r) ? 1 : 128 + pcw_signal_pending();
}

int main(int argc, const char **argv)
{
	struct pcw_control ctl;
	struct pcw_open_params params;
	struct pcw_conflict conflict;
	struct pcw_guard *guard = NULL;
	struct reporter reporter;
	size_t njobs, i;
	pcw_fs *pfs = NULL;
	const char *failed;
	errcode_t err = 0, err2;
	struct pcw_render *render = NULL;
	struct job *jobs = NULL;
	int rerr, status = 1, usage_status = 0, sig;
	errcode_t end_err = 0;		/* why a run that stopped early did */
	const char *end_msg = NULL;
	struct pcw_file_record rec;
	unsigned closed;

	/* Before anything is opened: see pcw_occupy_std_fds. */
	closed = pcw_occupy_std_fds();
	pcw_set_ctype();
	/*
	 * A write at or past the file size limit (RLIMIT_FSIZE) would kill
	 * the run with SIGXFSZ between two writes, the image half-updated.
	 * Ignored, it is EFBIG: the run stops as on any write error, and the
	 * message names the limit.  The image itself is checked against the
	 * limit when it is opened.
	 */
	signal(SIGXFSZ, SIG_IGN);
	atexit(pcw_close_stdout);
	initialize_ext2_error_table();
	initialize_pcw_error_table();
	pcw_parse_options(argc, argv, &ctl);
	pcw_verbosity = ctl.verbose;
	set_com_err_hook(com_err_one_line);
	if (ctl.partition && find_partition(&ctl)) {
		pcw_control_free(&ctl);
		return 1;
	}
	if (ctl.run != MODE_WRITE) {
		status = ctl.run == MODE_LIST ? pcw_list_main(&ctl) :
			 pcw_tree_main(&ctl, closed);
		pcw_control_free(&ctl);
		return status;
	}

	/*
	 * The host files, in this order, each compared with the image and
	 * the ones before: standard streams, sources, report, undo file.
	 */
	guard = pcw_host_files_guard(&ctl, closed);
	njobs = ctl.from_stdin ? 1 : ctl.nsources;
	jobs = calloc(njobs, sizeof(*jobs));
	if (!jobs) {
		perror("pcwrite");
		goto out;
	}
	for (i = 0; i < njobs; i++)
		jobs[i].fd = -1;
	if (open_sources(&ctl, jobs, guard))
		goto out;
	render = pcw_render_open(ctl.report, pcw_host_files_report(&ctl, guard),
				 ctl.report_stdout, &rerr);
	if (rerr) {
		fprintf(stderr, "pcwrite: %s\n", strerror(rerr));
		pcw_host_files_cleanup();
		goto out;
	}

	memset(&params, 0, sizeof(params));
	memset(&conflict, 0, sizeof(conflict));
	params.flags = (ctl.no_sync ? PCW_OPEN_NO_SYNC : 0) |
		       (ctl.have_project ? PCW_OPEN_PROJECT : 0) |
		       (ctl.no_journal ? PCW_OPEN_NO_JOURNAL : 0);
	params.commit_sec = ctl.commit_sec;
	params.project = ctl.project;
	params.image_offset = ctl.image_offset;
	params.image_size = ctl.image_size;
	params.now = ctl.mtime;
	params.undo_file = ctl.undo_file;
	pcw_msg_set_undo_file(ctl.undo_file);
	params.undo_fd = pcw_host_files_undo(&ctl, guard);
	params.guard = guard;
	params.conflict = &conflict;
	pcw_host_files_keep();
	pcw_install_signals();
	err = pcw_fs_open(ctl.image, &params, &pfs);
	pcw_render_start(render, "write", &ctl, err ? NULL : pfs);
	if (err) {
		pcw_msg_open(&ctl, err, &conflict);
		end_err = err;
		goto out;
	}
	pcw_msg_fs = pfs;
	if (ctl.page_size && ctl.page_size < pcw_fs_block_size(pfs)) {
		char bs[32];

		snprintf(bs, sizeof(bs), "%u", pcw_fs_block_size(pfs));
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		pfs = NULL;
		usage_status = EXIT_USAGE;
		usage_msg("--page-size is below the image's block size (%s)", bs);
		end_msg = "--page-size is below the image's block size";
		goto out;
	}
	/* --atomic swaps in one journal transaction: no journal, no swap */
	if (ctl.atomic) {
		struct pcw_fs_info fi;

		pcw_fs_get_info(pfs, &fi);
		if (!(fi.feature_compat & 0x0004)) {	/* has_journal */
			pcw_msg_fs = NULL;
			pcw_fs_abort(pfs);
			pfs = NULL;
			usage_status = EXIT_USAGE;
			usage_msg("--atomic needs a journal; the image has none%s",
				  "");
			end_msg = "--atomic needs a journal";
			goto out;
		}
	}
	/* -u/-g names, in the image (exit 2 for a name it does not have) */
	usage_status = cli_owner_names(&ctl, pfs, &ctl.uid, &ctl.gid, &end_err);
	if (usage_status) {
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		pfs = NULL;
		goto out;
	}
	memset(&reporter, 0, sizeof(reporter));
	reporter.render = render;
	reporter.progress = ctl.progress ? pcw_progress_open(false) : NULL;
	pcw_fs_set_report(pfs, pcw_on_event, &reporter);

	err = resolve_dests(pfs, &ctl, jobs, njobs, &failed);
	if (err) {
		if (err == PCW_ET_IS_DIR && ctl.from_stdin)
			fprintf(stderr, "pcwrite: %s:%s: %s (standard input "
				"needs a file name)\n", pcw_quote(ctl.image),
				pcw_quote(failed), error_message(err));
		else
			pcw_msg_error(ctl.image, failed, err, NULL);
		/* refused before the first write: the image is as it was */
		memset(&rec, 0, sizeof(rec));
		rec.file = failed;
		rec.status = "refused";
		rec.err = err;
		pcw_render_file(render, &rec);
		end_err = err;
		pcw_msg_fs = NULL;
		pcw_fs_abort(pfs);
		pfs = NULL;
		goto out;
	}

	for (i = 0; i < njobs && !pcw_signal_pending(); i++) {
		err = write_one(pfs, &ctl, &jobs[i], &reporter);
		if (err)
			break;
	}

	status = 0;
	pcw_msg_time_clamps(ctl.image, pfs);
	pcw_msg_fs = NULL;
	err2 = pcw_fs_close(pfs);
	pfs = NULL;
	err = pcw_msg_close(ctl.image, err, err2, &conflict);
	pcw_progress_close(reporter.progress);
	/* Stopped between two files (or on the last record): said here. */
	if (pcw_signal_pending() && i < njobs) {
		char what[64];

		snprintf(what, sizeof(what), "%zu of %zu files written", i,
			 njobs);
		pcw_msg_stopped(&ctl, &reporter, jobs[i].dest, what);
	}
	sig = pcw_signal_pending();
	if (sig && !reporter.stop_said && pcw_stop_status(&reporter) == 1)
		pcw_report_error(&ctl, EPIPE);	/* every byte is written */
	if (sig)
		status = pcw_stop_status(&reporter);
	pcw_render_end(render, sig ? status : err ? 1 : 0, err, NULL);
	rerr = pcw_render_close(render);
	render = NULL;
	if (rerr && !sig) {
		pcw_report_error(&ctl, rerr);
		status = 1;
	}
	if (!sig && err)
		status = 1;
out:
	if (render) {
		pcw_render_end(render, usage_status ? usage_status : status,
			       end_err, end_msg);
		pcw_render_close(render);
	}
	for (i = 0; jobs && i < njobs; i++) {
		free(jobs[i].dest);
		pcw_dest_free(&jobs[i].d);
		if (jobs[i].source && jobs[i].fd >= 0)
			close(jobs[i].fd);
	}
	free(jobs);
	pcw_guard_free(guard);
	pcw_control_free(&ctl);
	return usage_status ? usage_status : status;
}
