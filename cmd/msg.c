/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msg.c: the run's messages on standard error, one line each, "pcwrite:
 * IMAGE:DEST: what happened": the library's errors in its words, with
 * the notes a user can act on (the file size limit, the --undo file, the
 * device an image is mounted from); usage errors; a source's own words;
 * libext2fs's com_err reports.  Names are quoted as quote.c says.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <et/com_err.h>

#include "pcwrite_cmd.h"

int cli_verbosity;

void cli_msg_usage(const char *msg, const char *arg)
{
	cli_host_files_cleanup();
	fputs("pcwrite: ", stderr);
	fprintf(stderr, msg, arg);
	fputs("\nTry 'pcwrite --help' for more information.\n", stderr);
}

pcw_fs *cli_msg_fs;

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
	     err != PCW_ET_DIR_CASEFOLD && err != PCW_ET_DIR_ENCRYPTED &&
	     err != PCW_ET_DIR_NAME_ENCODING) ||
	    !cli_msg_fs || strncmp(msg, "directory ", 10) ||
	    pcw_fs_error_dir(cli_msg_fs, &dir))
		return false;
	fprintf(stderr, "pcwrite: %s:%s: directory %s %s%s\n", cli_quote(image),
		cli_quote(dest), cli_quote_always(dir), msg + 10,
		extra ? extra : "");
	free(dir);
	return true;
}

/*
 * " (the file size limit, ulimit -f, is N bytes)" after an EFBIG that a
 * host file's write met, or "": SIGXFSZ is ignored, so a write at or past
 * RLIMIT_FSIZE fails with EFBIG, and the limit is what the user can change.
 */
const char *cli_fsize_note(int errnum)
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
		return cli_fsize_note(EFBIG);
	if (err != PCW_ET_FSIZE_LIMIT || getrlimit(RLIMIT_FSIZE, &rl) < 0)
		return "";
	snprintf(note, sizeof(note), " (%" PRIu64 " bytes)",
		 (uint64_t)rl.rlim_cur);
	return note;
}

/* The --undo file, for its errors' messages. */
static const char *undo_file_name;

void cli_msg_set_undo_file(const char *path)
{
	undo_file_name = path;
}

static bool journaled;

void cli_msg_set_journaled(bool j)
{
	journaled = j;
}

static bool is_undo_error(errcode_t err)
{
	return err == PCW_ET_UNDO_NOSPC || err == PCW_ET_UNDO_DQUOT ||
	       err == PCW_ET_UNDO_FBIG || err == PCW_ET_UNDO_IO;
}

void cli_msg_error(const char *image, const char *dest, errcode_t err,
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
		cli_progress_clear();
		fprintf(stderr, "pcwrite: undo file %s: %s%s; the run stopped at "
			"%s%s%s%s\n", cli_quote_always(undo_file_name),
			strerror(e), cli_fsize_note(e), cli_quote(image),
			dest ? ":" : "", dest ? cli_quote(dest) : "",
			extra ? extra : "");
		return;
	}

	cli_progress_clear();
	if (dest && msg_with_dir(image, dest, err, extra))
		return;
	if (dest)
		fprintf(stderr, "pcwrite: %s:%s: %s%s%s\n", cli_quote(image),
			cli_quote(dest), error_message(err), note,
			extra ? extra : "");
	else
		fprintf(stderr, "pcwrite: %s: %s%s%s\n", cli_quote(image),
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

	if (cli_verbosity <= 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, args);
	fputs("pcwrite: libext2fs: ", stderr);
	if (whoami && *whoami)
		fprintf(stderr, "%s: ", cli_quote(whoami));
	fprintf(stderr, "%s%s%s\n", code ? error_message(code) : "",
		code && *msg ? " " : "", cli_quote(msg));
}

/* PCW_ET_MOUNTED and its kind: which device, mounted where. */
void cli_msg_conflict(const char *image, errcode_t err,
		      const struct pcw_conflict *c)
{
	char extra[4400];

	extra[0] = '\0';
	if (c->device[0] && c->mountpoint[0])
		snprintf(extra, sizeof(extra), " (%s, mounted on %s)",
			 cli_quote(c->device), cli_quote(c->mountpoint));
	else if (c->device[0] && err == PCW_ET_BUSY)
		snprintf(extra, sizeof(extra), " (%s is held open exclusively)",
			 cli_quote(c->device));
	else if (c->device[0])
		snprintf(extra, sizeof(extra), " (%s)", cli_quote(c->device));
	cli_msg_error(image, NULL, err, extra);
}

/*
 * pcw_fs_close's error ERR2 after the run's ERR: said, unless it is the one
 * the run already said (a check at the last commit and at close both find
 * a truncated image); then what the run left, when it is not a clean
 * filesystem, and what to run: in place, a filesystem marked not clean
 * (e2fsck -f); with the journal, committed transactions to replay (a mount
 * or e2fsck -E journal_only).  A journaled close that fails with no log
 * left to replay failed after its last checkpoint was flushed (marking the
 * log empty, clearing needs_recovery, the last sync: ext4_put_super's
 * order): whether or not those writes reached the disk, the image is
 * consistent, and e2fsck -f is not what it needs.  Returns the run's error.
 */
errcode_t cli_msg_close(const char *image, errcode_t err, errcode_t err2,
			const struct pcw_conflict *c)
{
	if (err2 == PCW_ET_FLUSH)
		cli_msg_conflict(image, err2, c);
	else if (err2 && err2 != err && err2 != PCW_ET_LEFT_NOT_CLEAN &&
		 err2 != PCW_ET_LEFT_JOURNAL)
		cli_msg_error(image, NULL, err2,
			      c->left_not_clean || c->left_journal ?
			      " (while committing)" :
			      journaled ?
			      " (while closing the journal, after its last "
			      "checkpoint: nothing to replay or repair)" :
			      " (while committing; run e2fsck -f)");
	if (c->left_not_clean)
		cli_msg_error(image, NULL, PCW_ET_LEFT_NOT_CLEAN, NULL);
	else if (c->left_journal)
		cli_msg_error(image, NULL, PCW_ET_LEFT_JOURNAL, NULL);
	return err ? err : err2;
}

/* pcw_fs_open's (or pcw_list_dir's) error: where the filesystem was looked for. */
void cli_msg_open(const struct cli_control *ctl, errcode_t err,
		  const struct pcw_conflict *c)
{
	char extra[96];

	if (err != PCW_ET_OFFSET_PAST_END && err != PCW_ET_NO_FS_AT_OFFSET &&
	    err != PCW_ET_FS_PAST_PARTITION) {
		cli_msg_conflict(ctl->image, err, c);
		return;
	}
	if (ctl->partition)
		snprintf(extra, sizeof(extra), " (--partition=%u, at byte %"
			 PRIu64 ")", ctl->partition, ctl->image_offset);
	else
		snprintf(extra, sizeof(extra), " (--image-offset=%" PRIu64 ")",
			 ctl->image_offset);
	cli_msg_error(ctl->image, NULL, err, extra);
}


/*
 * Times that their inodes cannot hold were clamped, as the kernel clamps
 * them: one line for the run, with the range (--quiet: none).
 */
void cli_msg_time_clamps(const char *image, const pcw_fs *pfs)
{
	struct pcw_time_clamps c;
	char lo[32], hi[32];
	struct tm tm;
	time_t t;

	pcw_fs_time_clamps(pfs, &c);
	if (!c.count || cli_verbosity < 0)
		return;
	t = (time_t)c.min;
	strftime(lo, sizeof(lo), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
	t = (time_t)c.max;
	strftime(hi, sizeof(hi), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
	cli_progress_clear();
	fprintf(stderr, "pcwrite: %s: warning: timestamps outside what the "
		"inodes hold were clamped to %s .. %s UTC\n", cli_quote(image),
		lo, hi);
}

void cli_msg_init(int verbosity)
{
	cli_verbosity = verbosity;
	set_com_err_hook(com_err_one_line);
}

/*
 * "pcwrite: archive 'a.tar': ENTRY: MSG", "pcwrite: source directory 'd':
 * MSG", "pcwrite: standard input: ENTRY: MSG": which source, which entry.
 */
void cli_msg_source(const char *what, const char *name, const char *path,
		    const char *msg)
{
	cli_progress_clear();
	if (name)
		fprintf(stderr, "pcwrite: %s %s: ", what, cli_quote_always(name));
	else
		fputs("pcwrite: standard input: ", stderr);
	if (path)
		fprintf(stderr, "%s: ", cli_quote(path));
	fprintf(stderr, "%s\n", cli_quote(msg));
}
