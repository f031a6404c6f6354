/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcwrite_cmd.h: what cmd/'s files share: the control struct and the renderer. */
#ifndef PCWRITE_CMD_H
#define PCWRITE_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pcwrite.h"

#define EXIT_USAGE	2

/* The line --help prints under the usage, and the man page's NAME line. */
#define PCW_DESCRIPTION \
	"Write files into an ext2, ext3 or ext4 image without mounting it."

/* The orders match options.c's keyword tables. */
enum report_kind { REPORT_NONE, REPORT_SUMMARY, REPORT_PAGES, REPORT_JSON,
		   REPORT_ENTRIES };
/* JSON Lines: every record (json), or file records only (entries) */
#define REPORT_IS_JSON(k)	((k) == REPORT_JSON || (k) == REPORT_ENTRIES)
enum sparse_kind { SPARSE_AUTO, SPARSE_ALWAYS, SPARSE_NEVER };

/* What the run does: one file per DEST, or a tree of entries. */
enum run_mode { MODE_WRITE, MODE_EXTRACT, MODE_TREE, MODE_LIST };

struct cli_mode;
struct cli_idmap;

/* Everything the command line says, parsed and checked. */
struct cli_control {
	enum run_mode	run;		/* -x, -R */
	bool		no_xattrs;
	bool		stop_on_error;	/* a bad entry stops -x/-R */
	bool		mtime_set;	/* --mtime (else SOURCE_DATE_EPOCH) */
	char		*image;		/* every string here is owned: */
	char		*dest;		/* cli_control_free() frees them */
	char		**sources;	/* NULL-terminated; none means stdin */
	size_t		nsources;
	bool		from_stdin;

	bool		append, no_clobber, parents, have_offset;
	uint64_t	offset;
	bool		have_mode, have_uid, have_gid, have_project;
	struct cli_mode	*mode;		/* -m, compiled (mode.c) */
	uint32_t	uid, gid, project;
	char		*owner_name;	/* -u/-g NAME, to resolve in the */
	char		*group_name;	/* image (owners.c), or NULL */
	struct cli_idmap *owner_map;	/* --owner-map, --group-map */
	struct cli_idmap *group_map;
	bool		names_archive;	/* --names=archive */
	int		whiteouts;	/* --whiteouts: enum pcw_whiteouts */
	int64_t		mtime;		/* -1: now */

	enum sparse_kind sparse;
	uint64_t	page_size;	/* 0: default */
	uint64_t	dirty_limit;
	bool		no_delalloc, no_sync;
	bool		no_journal;	/* --no-journal */
	bool		atomic;		/* --atomic */
	uint32_t	commit_sec;	/* --commit; 0: the library's 5 */
	uint64_t	image_offset;
	unsigned	partition;	/* --partition: from 1; 0 none */
	uint64_t	image_size;	/* the partition's size, or 0 */
	char		*undo_file;
	bool		progress;

	enum report_kind report;
	char		*report_file;	/* NULL: a standard stream */
	bool		report_stdout;	/* --report-file=-: standard output
					   whatever the kind */
	int		verbose;	/* -1 quiet, 0, 1 -v, 2 -vv */

	/* -x, -R: tar's path options (tarpath.c), or NULL; owned */
	struct pcw_names *names;
	bool		names_stdin;	/* --exclude-from=- read standard input */
};

struct cli_attrs;
struct cli_render;

/*
 * cmd/'s files in layers, each file calling only files of lower layers
 * (tests/cmd_layers.bats checks it on the objects): pcwrite.c (main) ->
 * write.c, tree.c, list.c (the modes) -> image.c (opening the image for a
 * write run) -> report.c (rendering, the reporter), options.c -> vlist.c,
 * closeout.c, attrs.c -> msg.c, signals.c, owners.c -> progress.c,
 * host_files.c, mode.c, mtime.c, tarpath.c -> quote.c.  Only the library
 * below.
 */

/* write.c: pcwrite IMAGE DEST [SOURCE...] */
int cli_write_main(struct cli_control *ctl, unsigned closed);

/* tree.c: -x and -R */
int cli_tree_main(const struct cli_control *ctl, unsigned closed);

/* list.c: --list */
int cli_list_main(const struct cli_control *ctl);

/* image.c: the image opened for a write run, and what it says of it */
struct cli_image {
	pcw_fs		*pfs;
	uint32_t	uid, gid;	/* -u/-g, names resolved in the image */
	errcode_t	end_err;	/* why it was not opened (end record) */
	const char	*end_msg;
};
/*
 * Open the image (MODE for the start record on RENDER) and check what
 * needs it; 0, or the exit status (said; IMG->pfs NULL, and the image as
 * it was).
 */
int cli_image_open(const struct cli_control *ctl, struct pcw_guard *guard,
		   struct cli_render *render, const char *mode,
		   struct pcw_conflict *conflict, struct cli_image *img);

struct cli_held;

/* report.c, the reporter: where the library's events and a run's records go */
struct cli_reporter {
	struct cli_render	*render;
	struct cli_progress	*progress;
	/* -x/-R: file records held until their entries are committed, and
	   the page and writeback events that come after them */
	struct pcw_tree		*tree;
	struct cli_held		*held;
	size_t			nheld, held_cap;
	bool			hold_events;	/* PCW_TREE_HOLD_EVENTS */
	const struct cli_attrs	*attrs;	/* -x/-R: what an entry's refusal
					   by the command line was about */
	bool			stop_said;	/* the "stopped" line is out */
	/* -x/-R: entries made, and the one a stop cut short (its bytes) */
	uint64_t		entries;
	uint64_t		skipped;	/* entries refused, and -R's
						   files changed under it, the
						   run going on (exit 1) */
	char			*cut;
	uint64_t		cut_bytes;
	FILE			*vlist;	/* -v: where entries are listed */
	/* -x/-R: the source being read, for its warnings */
	const char		*src_what;	/* "archive", ... */
	const char		*src_name;	/* NULL: standard input */
};
/*
 * The run's report, where the command line sends it (checked against the
 * run's other host files): 0, or 1 (said).
 */
int cli_report_open(const struct cli_control *ctl, struct pcw_guard *guard,
		    struct cli_reporter *r);
/*
 * The report callback (pcw_fs_set_report): renders page and writeback
 * records, moves the progress bar, shows held records at PCW_EV_COMMIT and
 * a source's warning at PCW_EV_WARNING.  It never commits.
 */
void cli_report_event(const struct pcw_event *ev, void *arg);
/* -x/-R: REC waits for its entry's commit (a copy; REC->line is taken). */
struct cli_file_record;
void cli_report_hold(struct cli_reporter *r, const struct cli_file_record *rec);
/* Show the held records; with ERR, their entries failed to commit. */
void cli_report_release(struct cli_reporter *r, errcode_t err);
/* A source's warning, naming the source (quiet: none). */
void cli_report_warning(struct cli_reporter *r, const char *path,
			const char *msg);
/* The report could not be written (ERR): say where it was going. */
void cli_report_error(const struct cli_control *ctl, int err);
/*
 * A signal, or a report nobody reads any more (EPIPE), stopped the run:
 * "pcwrite: IMAGE:DEST: stopped by SIGTERM (WHAT)", or "stopped: write
 * error on standard output: Broken pipe (WHAT)"; once (r->stop_said).
 */
void cli_report_stopped(const struct cli_control *ctl, struct cli_reporter *r,
			const char *dest, const char *what);
/* The run's exit status after a stop: 1 for a closed report, else 128+N. */
int cli_report_stop_status(const struct cli_reporter *r);

/* msg.c: messages on standard error, one line each */
extern int cli_verbosity;	/* -1 quiet, 0, 1 -v, 2 -vv */
/* The verbosity, and libext2fs's com_err reports as our lines (-v only). */
void cli_msg_init(int verbosity);
/* The open image, for messages that name one of its directories, or NULL. */
extern pcw_fs *cli_msg_fs;
/* "pcwrite: IMAGE:DEST: error EXTRA" (DEST NULL: the image's) */
void cli_msg_error(const char *image, const char *dest, errcode_t err,
		   const char *extra);
/* "pcwrite: MSG" (a printf format with ARG), then "Try 'pcwrite --help'" */
void cli_msg_usage(const char *msg, const char *arg);
/* A source's own words: WHAT NAME (NULL: standard input), the entry PATH. */
void cli_msg_source(const char *what, const char *name, const char *path,
		    const char *msg);
/* Errors of the --undo file name it (PATH, or NULL without --undo). */
void cli_msg_set_undo_file(const char *path);
/* The run commits through the image's journal (not --no-journal, not in place). */
void cli_msg_set_journaled(bool journaled);
/* " (the file size limit, ulimit -f, is N bytes)" for EFBIG, else "" */
const char *cli_fsize_note(int errnum);
void cli_msg_time_clamps(const char *image, const pcw_fs *pfs);
void cli_msg_conflict(const char *image, errcode_t err,
		      const struct pcw_conflict *c);
void cli_msg_open(const struct cli_control *ctl, errcode_t err,
		  const struct pcw_conflict *c);
errcode_t cli_msg_close(const char *image, errcode_t err, errcode_t err2,
			const struct pcw_conflict *c);

/* signals.c: SIGINT, SIGTERM, SIGHUP and SIGPIPE stop the run */
void cli_signals_install(void);

/* closeout.c: standard output's errors are the run's (atexit) */
void cli_close_stdout(void);
void cli_stdout_error(int err);		/* say it, once */

/* options.c */
int cli_parse_options(int argc, const char **argv, struct cli_control *ctl);
void cli_control_free(struct cli_control *ctl);

/* report.c, rendering: the report's records */
struct cli_file_record {
	const char	*file;
	uint64_t	bytes;		/* committed by this run */
	uint64_t	size;
	uint64_t	pages;
	uint64_t	extents;
	const char	*status;	/* ok, partial, failed, refused,
					   skipped */
	const char	*ftype;		/* trees: file, dir, ...; else NULL */
	errcode_t	err;		/* why it failed, or 0 */
	int		signal;		/* the signal that stopped it, or 0 */
	const char	*action;	/* created, replaced, ...; or NULL */
	struct pcw_attrs attrs;		/* what was made (attrs.ino 0: none) */
	const char	*target;	/* a link's target, or NULL */
	char		*line;		/* -x, -R with -v: the entry's listing
					   line, shown once it is committed */
};

/* What waits for a commit: a file record, or an event after one. */
struct cli_held {
	bool			is_event;
	struct cli_file_record	rec;	/* its strings copies */
	struct pcw_event	ev;	/* ev.file a copy, shared by a file's
					   events in a row (report.c) */
};

/*
 * The report to OUT (closed with it), or when NULL to standard output
 * (TO_STDOUT, or JSON) or standard error (text).
 */
struct cli_render *cli_render_open(enum report_kind kind, FILE *out,
				   bool to_stdout, int *err);
void cli_render_event(const struct pcw_event *ev, void *arg);
void cli_render_file(struct cli_render *r, const struct cli_file_record *rec);
/*
 * The first record (JSON): the schema, the run (MODE: write, extract,
 * tree) and the filesystem (PFS NULL: the image could not be opened).
 */
void cli_render_start(struct cli_render *r, const char *mode,
		      const struct cli_control *ctl, const pcw_fs *pfs);
/*
 * The last record (JSON), once a start record was written: the exit
 * STATUS, the totals of the file records, and why the run stopped (ERR,
 * MSG overriding error_message(ERR), the signal pending).
 */
void cli_render_end(struct cli_render *r, int status, errcode_t err,
		    const char *msg);
/* Flush and close; returns an errno when the report could not be written. */
int cli_render_close(struct cli_render *r);
/*
 * The first error writing the report, or 0.  EPIPE (the reader is gone)
 * has stopped the run: pcw_signal_pending() says SIGPIPE, the exit is 1.
 */
int cli_render_error(const struct cli_render *r);
/* Does R show page and writeback records (pages, json)? */
bool cli_render_has_events(const struct cli_render *r);
/* Does R go to standard output? */
bool cli_render_on_stdout(const struct cli_render *r);

/* tarpath.c: --strip-components, --exclude, --exclude-from, --transform */
enum tarpath_opt {
	TARPATH_STRIP, TARPATH_EXCLUDE, TARPATH_EXCLUDE_FROM, TARPATH_TRANSFORM
};
/* ARG into ctl->names: NULL, or why it cannot be (a usage error; free it). */
char *cli_tarpath_option(struct cli_control *ctl, enum tarpath_opt which,
			 const char *arg);

/* vlist.c: -v and -vv with -x and -R */
/* Where entries are listed, or NULL without -v (R: the report). */
FILE *cli_vlist_open(const struct cli_control *ctl, bool report_on_stdout);
/* ENTRY's line, as RES made it (a new string), or NULL. */
char *cli_vlist_line(const struct cli_control *ctl, const struct pcw_entry *e,
		     const struct pcw_entry_result *res);
void cli_vlist_put(FILE *out, const char *line);

/* mode.c: -m MODE, octal or symbolic, as chmod(1) takes it (see there) */
int cli_mode_parse(const char *s, struct cli_mode **ret);	/* 0 or -1 */
unsigned cli_mode_apply(const struct cli_mode *m, unsigned base, bool is_dir);
void cli_mode_free(struct cli_mode *m);

/* attrs.c: what -m (and the owner options) change in each entry of a tree */
struct cli_attrs;
errcode_t cli_attrs_open(const struct cli_control *ctl, pcw_fs *pfs,
			 uint32_t uid, uint32_t gid, struct cli_attrs **ret);
bool cli_attrs_active(const struct cli_attrs *a);
errcode_t cli_attrs_adjust(void *arg, struct pcw_entry *e);
/* Words for the message of an entry the adjustment refused, or "". */
const char *cli_attrs_why(const struct cli_attrs *a);
void cli_attrs_close(struct cli_attrs *a);

/*
 * The latest --mtime and SOURCE_DATE_EPOCH: 2^34 - 1 seconds,
 * 2514-05-30T01:53:03Z.  What an inode cannot hold (past
 * 2446-05-10T22:38:55Z, the kernel's EXT4_EXTRA_TIMESTAMP_MAX; past 2038 on
 * 128-byte inodes) the library clamps as the kernel does, and the run says
 * so (cli_msg_time_clamps).
 */
#define CLI_MAX_SECONDS	0x3ffffffffLL

/* owners.c: owners by number or by the image's names (see there) */
int cli_parse_id(const char *s, uint32_t *id);	/* 0 or -1 */
/* 0, or the exit status with MSG (1: the file, 2: its contents) */
int cli_idmap_load(const char *path, enum pcw_id_kind kind,
		   struct cli_idmap **ret, char *msg, size_t len);
void cli_idmap_free(struct cli_idmap *m);
/* -u/-g names into ids in the image: 0, or the exit status (said) */
int cli_owner_names(const struct cli_control *ctl, pcw_fs *pfs,
		    uint32_t *uid, uint32_t *gid, errcode_t *err);
bool cli_owners_per_entry(const struct cli_control *ctl);
struct cli_owners;
errcode_t cli_owners_open(const struct cli_control *ctl, pcw_fs *pfs,
			  uint32_t uid, uint32_t gid, struct cli_owners **ret);
errcode_t cli_owners_entry(struct cli_owners *o, struct pcw_entry *e);
/* " (user 'x', --owner-map 'm' line 3)": what the last refusal was about */
const char *cli_owners_why(const struct cli_owners *o);
void cli_owners_close(struct cli_owners *o);

/* mtime.c: --mtime: seconds, @SECONDS or ISO 8601 (see there); 0 or -1 */
int cli_parse_mtime(const char *s, int64_t *ret);

/* quote.c: NAME as it goes into a message (see there) */
const char *cli_quote(const char *name);	/* "NAME: ..." */
const char *cli_quote_always(const char *name);	/* "... 'NAME' ..." */

/* host_files.c: the host files of a run, checked before the image is opened */
unsigned cli_occupy_std_fds(void);	/* bit N: descriptor N was closed */
/* Before a usage error: stderr that is a file named in ARGV is silenced. */
void cli_host_files_usage_stderr(int argc, const char **argv);
struct pcw_guard *cli_host_files_guard(const struct cli_control *ctl,
				       unsigned closed);
/* WHAT: "source", "archive"; NAME NULL: standard input */
void cli_host_files_source(struct pcw_guard *guard, const char *what,
			   const char *name, int fd);
FILE *cli_host_files_report(const struct cli_control *ctl,
			    struct pcw_guard *guard);
int cli_host_files_undo(const struct cli_control *ctl, struct pcw_guard *guard);
void cli_host_files_keep(void);
void cli_host_files_cleanup(void);

/*
 * progress.c: NULL (and every call a no-op) when stderr is not a terminal.
 * One file at a time (start, page..., end), or a tree's entries (start with
 * is_tree, entry and page..., end): entries and bytes done.
 */
struct cli_progress;
struct cli_progress *cli_progress_open(bool is_tree);
void cli_progress_start(struct cli_progress *p, const char *file,
			uint64_t total);
void cli_progress_page(struct cli_progress *p, int64_t status);
void cli_progress_end(struct cli_progress *p);
void cli_progress_close(struct cli_progress *p);
/* Before anything else goes to the terminal: take the bar off its line. */
void cli_progress_clear(void);

#endif
