/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c: the report, as a text table (pages), one line a file (summary)
 * or JSON Lines (json); and the reporter, which takes the library's events
 * and the runs' file records to it, holding a tree's records until the
 * library says their entries are committed.  Text goes to standard error
 * by default, JSON to standard output; --report-file sends either to a
 * file.  File names are quoted in text as in messages (quote.c).
 *
 * Every JSON record is valid JSON in valid UTF-8, whatever the bytes of a
 * name: a string field that is valid UTF-8 is written as it is (quotes,
 * backslashes and control characters escaped); one that is not has each
 * byte from 0x80 up written as \u00XX, and the record gains the field
 * NAME_encoding: "latin1", so that the string's characters, all below
 * U+0100, are the bytes (Python: rec["file"].encode("latin-1")).  An ASCII
 * name's records are therefore the same as before the rule.
 */
#include "config.h"

#include <e2p.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

/*
 * The JSON report's schema version, in its start record: raised when a
 * field changes meaning (fields are only ever added).  1: the first with a
 * start and an end record.  2: a file record's status may be "skipped" (an
 * entry refused, the run going on), and the end record counts them.
 */
#define REPORT_SCHEMA	2

struct cli_render {
	enum report_kind kind;
	FILE		*out;
	bool		own;		/* opened here: close it */
	bool		header_done;
	bool		tty;		/* a terminal: the progress bar may be
					   on it, take it off before a row */
	bool		started;	/* a start record was written */
	/* the file records so far, for the end record */
	uint64_t	files, ok, partial, failed, refused, skipped, bytes;
	int		err;		/* the first write error, or 0 */
};

/*
 * After each record: the first write error is kept.  EPIPE is a report
 * nobody reads any more (head -1 closed the pipe, with SIGPIPE caught or
 * ignored): the run stops at the next page, as for SIGPIPE, and exits 1
 * (see cli_render_error).
 */
static void check_error(struct cli_render *r)
{
	if (r->err || !ferror(r->out))
		return;
	r->err = errno ? errno : EIO;
	if (r->err == EPIPE)
		pcw_signal_notify(SIGPIPE);
}

int cli_render_error(const struct cli_render *r)
{
	return r ? r->err : 0;
}

struct cli_render *cli_render_open(enum report_kind kind, FILE *out,
				   bool to_stdout, int *err)
{
	struct cli_render *r;

	*err = 0;
	if (kind == REPORT_NONE)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = ENOMEM;
		return NULL;
	}
	r->kind = kind;
	if (out) {
		r->out = out;
		r->own = true;
	} else {
		r->out = REPORT_IS_JSON(kind) || to_stdout ? stdout : stderr;
	}
	r->tty = isatty(fileno(r->out));
	return r;
}

/*
 * Is S valid UTF-8?  Strictly: no overlong forms, no surrogates, nothing
 * past U+10FFFF (RFC 3629), as a strict JSON parser decodes it.
 */
static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n, cp, min;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		for (s++; n; n--, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/*
 * ,"NAME":"VALUE" and, when VALUE is not valid UTF-8, ,"NAME_encoding":
 * "latin1" with every byte from 0x80 up escaped (see the top).  The one
 * way a string gets into a record.
 */
static void json_field(FILE *out, const char *name, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	bool bytes = !valid_utf8(p);

	fprintf(out, ",\"%s\":\"", name);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || (bytes && *p >= 0x80))
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
	if (bytes)
		fprintf(out, ",\"%s_encoding\":\"latin1\"", name);
}

static const char *tf(unsigned v)
{
	return v ? "true" : "false";
}

static void render_page(struct cli_render *r, const char *file,
			const struct pcw_page_report *p)
{
	FILE *out = r->out;

	if (r->kind == REPORT_JSON) {
		fputs("{\"event\":\"page\"", out);
		json_field(out, "file", file);
		fprintf(out, ",\"seq\":%" PRIu64 ",\"index\":%" PRIu64
			",\"pos\":%" PRIu64 ",\"offset\":%u,\"bytes\":%u"
			",\"copied\":%u,\"status\":%" PRId64
			",\"read_before\":%s,\"reserved\":%u,\"retry\":%s}\n",
			p->seq, p->index, p->pos, p->offset, p->bytes,
			p->copied, p->status, tf(p->read_before), p->reserved,
			tf(p->retry));
		return;
	}
	if (r->kind != REPORT_PAGES)
		return;
	if (!r->header_done) {
		fprintf(out, "%-20s %8s %10s %14s %6s %6s %6s %7s %4s %4s %5s\n",
			"FILE", "SEQ", "INDEX", "POS", "OFFSET", "BYTES",
			"COPIED", "STATUS", "READ", "RSV", "RETRY");
		r->header_done = true;
	}
	fprintf(out, "%-20s %8" PRIu64 " %10" PRIu64 " %14" PRIu64
		" %6u %6u %6u %7" PRId64 " %4s %4u %5s\n",
		cli_quote(file), p->seq, p->index, p->pos, p->offset, p->bytes,
		p->copied, p->status, p->read_before ? "yes" : "no", p->reserved,
		p->retry ? "yes" : "no");
}

static void render_writeback(struct cli_render *r, const char *file,
			     const struct pcw_writeback_report *w)
{
	if (r->kind == REPORT_JSON) {
		fputs("{\"event\":\"writeback\"", r->out);
		json_field(r->out, "file", file);
		fprintf(r->out, ",\"lblk\":%" PRIu64 ",\"pblk\":%" PRIu64
			",\"len\":%" PRIu64 ",\"overwrite\":%s}\n",
			w->lblk, w->pblk, w->len, tf(w->overwrite));
	} else if (r->kind == REPORT_PAGES) {
		fprintf(r->out, "%-20s writeback lblk %" PRIu64 " pblk %" PRIu64
			" len %" PRIu64 "%s\n", cli_quote(file), w->lblk,
			w->pblk, w->len, w->overwrite ? " (overwrite)" : "");
	}
}

/* --report=entries: the file records (and start and end), nothing else. */
bool cli_render_has_events(const struct cli_render *r)
{
	return r && (r->kind == REPORT_PAGES || r->kind == REPORT_JSON);
}

bool cli_render_on_stdout(const struct cli_render *r)
{
	return r && fileno(r->out) == STDOUT_FILENO;
}

void cli_render_event(const struct pcw_event *ev, void *arg)
{
	struct cli_render *r = arg;

	if (!cli_render_has_events(r))
		return;
	if (r->tty)
		cli_progress_clear();
	errno = 0;
	if (ev->type == PCW_EV_PAGE)
		render_page(r, ev->file, &ev->u.page);
	else if (ev->type == PCW_EV_WRITEBACK)
		render_writeback(r, ev->file, &ev->u.writeback);
	check_error(r);
}

/* ,"error":NAME,"message":TEXT for ERR (a signal's words when SIGNAL). */
static void json_error(FILE *out, errcode_t err, int signal, const char *msg)
{
	char buf[64];
	int e = pcw_error_errno(err);
	const char *name = e ? strerrorname_np(e) : NULL;

	json_field(out, "error", name ? name : "EIO");
	if (signal) {
		snprintf(buf, sizeof(buf), "stopped by SIG%s",
			 sigabbrev_np(signal));
		msg = buf;
	}
	json_field(out, "message", msg ? msg : error_message(err));
}

/* What a file record adds about what was made (schema 1). */
static void json_made(FILE *out, const struct cli_file_record *f)
{
	const struct pcw_attrs *a = &f->attrs;

	if (f->action)
		json_field(out, "action", f->action);
	if (!a->ino)
		return;
	fprintf(out, ",\"ino\":%" PRIu32 ",\"mode\":\"%04o\",\"uid\":%" PRIu32
		",\"gid\":%" PRIu32 ",\"mtime\":%" PRId64 ",\"mtime_nsec\":%" PRIu32,
		a->ino, a->mode, a->uid, a->gid, a->mtime, a->mtime_nsec);
	if (f->target)
		json_field(out, "target", f->target);
	if (f->ftype && (!strcmp(f->ftype, "chr") || !strcmp(f->ftype, "blk")))
		fprintf(out, ",\"rdev_major\":%" PRIu32 ",\"rdev_minor\":%"
			PRIu32, a->rdev_major, a->rdev_minor);
}

static void count(struct cli_render *r, const struct cli_file_record *f)
{
	r->files++;
	r->bytes += f->bytes;
	if (!strcmp(f->status, "ok"))
		r->ok++;
	else if (!strcmp(f->status, "partial"))
		r->partial++;
	else if (!strcmp(f->status, "refused"))
		r->refused++;
	else if (!strcmp(f->status, "skipped"))
		r->skipped++;
	else
		r->failed++;
}

void cli_render_file(struct cli_render *r, const struct cli_file_record *f)
{
	if (!r)
		return;
	if (r->tty)
		cli_progress_clear();
	count(r, f);
	errno = 0;
	if (REPORT_IS_JSON(r->kind)) {
		fputs("{\"event\":\"file\"", r->out);
		json_field(r->out, "file", f->file);
		if (f->ftype)
			json_field(r->out, "ftype", f->ftype);
		fprintf(r->out, ",\"bytes\":%" PRIu64 ",\"size\":%" PRIu64
			",\"pages\":%" PRIu64 ",\"extents\":%" PRIu64,
			f->bytes, f->size, f->pages, f->extents);
		json_field(r->out, "status", f->status);
		if (f->err)
			json_error(r->out, f->err, f->signal, NULL);
		json_made(r->out, f);
		fputs("}\n", r->out);
	} else if (f->ftype && strcmp(f->ftype, "file")) {
		fprintf(r->out, "%s: %s: %s\n", cli_quote(f->file), f->ftype,
			f->status);
	} else {
		fprintf(r->out, "%s: %" PRIu64 " bytes written, size %" PRIu64
			", %" PRIu64 " pages, %" PRIu64 " extent%s: %s\n",
			cli_quote(f->file), f->bytes, f->size, f->pages,
			f->extents, f->extents == 1 ? "" : "s", f->status);
	}
	fflush(r->out);
	check_error(r);
}

void cli_render_start(struct cli_render *r, const char *mode,
		      const struct cli_control *ctl, const pcw_fs *pfs)
{
	struct pcw_fs_info fi;
	FILE *out;
	int k, bit;
	const uint32_t *words;
	char uuid[40];

	if (!r || !REPORT_IS_JSON(r->kind) || r->started)
		return;
	out = r->out;
	r->started = true;
	errno = 0;
	fprintf(out, "{\"event\":\"start\",\"schema\":%d", REPORT_SCHEMA);
	json_field(out, "pcwrite", PACKAGE_VERSION);
	json_field(out, "mode", mode);
	json_field(out, "report", r->kind == REPORT_JSON ? "json" : "entries");
	json_field(out, "image", ctl->image);
	if (ctl->image_offset)
		fprintf(out, ",\"image_offset\":%" PRIu64, ctl->image_offset);
	json_field(out, "dest", ctl->dest);
	if (pfs) {
		pcw_fs_get_info(pfs, &fi);
		e2p_uuid_to_str(fi.uuid, uuid);
		json_field(out, "uuid", uuid);
		fprintf(out, ",\"block_size\":%u,\"cluster_size\":%u"
			",\"inode_size\":%u,\"blocks\":%" PRIu64 ",\"inodes\":%"
			PRIu32 ",\"features\":[", fi.block_size, fi.cluster_size,
			fi.inode_size, fi.blocks_count, fi.inodes_count);
		/* every feature set, in e2fsprogs' names (as dumpe2fs lists) */
		words = (const uint32_t[]){ fi.feature_compat,
					    fi.feature_incompat,
					    fi.feature_ro_compat };
		for (k = 0, bit = 0; k < 3; k++)
			for (int b = 0; b < 32; b++)
				if (words[k] & (1U << b))
					fprintf(out, "%s\"%s\"", bit++ ? "," : "",
						e2p_feature2string(k, 1U << b));
		fputc(']', out);
	}
	fputs("}\n", out);
	fflush(out);
	check_error(r);
}

void cli_render_end(struct cli_render *r, int status, errcode_t err,
		    const char *msg)
{
	FILE *out;
	int sig = pcw_signal_pending();

	if (!r || !r->started)
		return;
	out = r->out;
	r->started = false;
	fprintf(out, "{\"event\":\"end\",\"status\":%d,\"files\":%" PRIu64
		",\"committed\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"partial\":%"
		PRIu64 ",\"failed\":%" PRIu64 ",\"refused\":%" PRIu64
		",\"skipped\":%" PRIu64 ",\"bytes\":%" PRIu64, status,
		r->files, r->ok + r->partial, r->ok, r->partial, r->failed,
		r->refused, r->skipped, r->bytes);
	if (status >= 128 && sig) {
		fprintf(out, ",\"signal\":\"SIG%s\"", sigabbrev_np(sig));
	} else if (status && (err || msg)) {
		if (err)
			json_error(out, err, 0, msg);
		else
			json_field(out, "message", msg);
	}
	fputs("}\n", out);
}

int cli_render_close(struct cli_render *r)
{
	int err = 0;

	if (!r)
		return 0;
	errno = 0;
	if (fflush(r->out) != 0 || ferror(r->out))
		err = r->err ? r->err : errno ? errno : EIO;
	if (r->own && fclose(r->out) != 0 && !err)
		err = errno;
	free(r);
	return err;
}

/* ---- the reporter ------------------------------------------------------ */

int cli_report_open(const struct cli_control *ctl, struct pcw_guard *guard,
		    struct cli_reporter *r)
{
	int err;

	r->render = cli_render_open(ctl->report,
				    cli_host_files_report(ctl, guard),
				    ctl->report_stdout, &err);
	if (err) {
		fprintf(stderr, "pcwrite: %s\n", strerror(err));
		cli_host_files_cleanup();
		return 1;
	}
	return 0;
}

static struct cli_held *held_slot(struct cli_reporter *r)
{
	if (r->nheld == r->held_cap) {
		size_t cap = r->held_cap ? r->held_cap * 2 : 64;
		struct cli_held *h = realloc(r->held, cap * sizeof(*h));

		if (!h)
			return NULL;
		r->held = h;
		r->held_cap = cap;
	}
	return &r->held[r->nheld];
}

static void show_event(struct cli_reporter *r, const struct pcw_event *ev)
{
	cli_render_event(ev, r->render);
	if (ev->type == PCW_EV_PAGE)
		cli_progress_page(r->progress, ev->u.page.status);
}

/*
 * A page or writeback event after held file records waits with them
 * (PCW_TREE_HOLD_EVENTS: the library commits once PCW_TREE_HELD_EVENTS
 * wait).  Without room to hold it, it is shown now, out of order.  A
 * file's events come one after the other: they share one copy of its name
 * (a copy an event was 4,096 allocations a batch), which the last of them
 * owns (shared_file).
 */
static bool hold_event(struct cli_reporter *r, const struct pcw_event *ev)
{
	struct cli_held *h, *prev;

	if (!r->hold_events || !r->nheld || !(h = held_slot(r)))
		return false;
	prev = &r->held[r->nheld - 1];
	h->is_event = true;
	h->ev = *ev;
	if (ev->file && prev->is_event && prev->ev.file &&
	    !strcmp(prev->ev.file, ev->file))
		h->ev.file = prev->ev.file;
	else if (ev->file && !(h->ev.file = strdup(ev->file)))
		return false;
	r->nheld++;
	return true;
}

/* Does the held event after K share K's copy of the file name? */
static bool shared_file(const struct cli_reporter *r, size_t k)
{
	return k + 1 < r->nheld && r->held[k + 1].is_event &&
	       r->held[k + 1].ev.file == r->held[k].ev.file;
}

/*
 * Where the library's events go: the report and the progress bar.  Only
 * renders: held file records are shown at their commit event; an event
 * that would overtake them waits with them (PCW_TREE_HOLD_EVENTS), or the
 * library commits first (a warning).
 */
void cli_report_event(const struct pcw_event *ev, void *arg)
{
	struct cli_reporter *r = arg;

	switch (ev->type) {
	case PCW_EV_COMMIT:
		cli_report_release(r, 0);
		return;
	case PCW_EV_WARNING:
		cli_report_warning(r, ev->file, ev->u.warning.msg);
		return;
	case PCW_EV_PAGE:
	case PCW_EV_WRITEBACK:
		break;
	}
	if (!hold_event(r, ev))
		show_event(r, ev);
}

/*
 * File records wait for their entries' commit (pcw_tree_add commits in
 * batches): a record says "ok" only for an entry that is in the image, so
 * that a killed run has reported no entry it lost.
 */
void cli_report_hold(struct cli_reporter *r, const struct cli_file_record *rec)
{
	struct cli_file_record copy = *rec;
	struct cli_held *h = held_slot(r);

	if (!h) {
		/* not known to be committed: never "ok" */
		free(rec->line);
		return;
	}
	copy.file = strdup(rec->file);
	copy.target = rec->target ? strdup(rec->target) : NULL;
	if (!copy.file || (rec->target && !copy.target)) {
		free((char *)copy.file);
		free((char *)copy.target);
		free(rec->line);
		return;
	}
	h->is_event = false;
	h->rec = copy;
	r->nheld++;
}

/*
 * Show the held records, and with -v list their entries; with ERR, their
 * entries failed to commit (and are not listed).
 */
void cli_report_release(struct cli_reporter *r, errcode_t err)
{
	size_t k;

	for (k = 0; k < r->nheld; k++) {
		struct cli_file_record *rec = &r->held[k].rec;

		if (r->held[k].is_event) {
			show_event(r, &r->held[k].ev);
			if (!shared_file(r, k))
				free((char *)r->held[k].ev.file);
			continue;
		}
		if (err && !rec->err) {
			rec->status = "failed";
			rec->bytes = 0;
			rec->err = err;
		}
		if (!rec->err)
			cli_vlist_put(r->vlist, rec->line);
		cli_render_file(r->render, rec);
		free((char *)rec->file);
		free((char *)rec->target);
		free(rec->line);
	}
	if (r->nheld && r->vlist)
		fflush(r->vlist);
	r->nheld = 0;
}

/*
 * The library committed what came before (the warning is an event after
 * their commit event): the warning follows their records.
 */
void cli_report_warning(struct cli_reporter *r, const char *path,
			const char *msg)
{
	if (cli_verbosity < 0 || !r->src_what)
		return;
	cli_msg_source(r->src_what, r->src_name, path, msg ? msg : "warning");
}

/* The report could not be written: where it was going, and why. */
void cli_report_error(const struct cli_control *ctl, int err)
{
	if (ctl->report_file) {
		cli_progress_clear();
		fprintf(stderr, "pcwrite: write error on report file %s: %s%s\n",
			cli_quote_always(ctl->report_file), strerror(err),
			cli_fsize_note(err));
	} else if (REPORT_IS_JSON(ctl->report) || ctl->report_stdout) {
		cli_stdout_error(err);
	} else {
		/* standard error: nowhere to say it; the status does */
	}
}

/* The report's reader went away (EPIPE) before any signal came. */
static bool report_closed(const struct cli_reporter *r)
{
	return cli_render_error(r->render) == EPIPE &&
	       pcw_signal_pending() == SIGPIPE;
}

void cli_report_stopped(const struct cli_control *ctl, struct cli_reporter *r,
		     const char *dest, const char *what)
{
	const char *where = ctl->report_file ? "report file" :
			    REPORT_IS_JSON(ctl->report) || ctl->report_stdout ?
			    "standard output" :
			    "standard error";

	if (r->stop_said)
		return;
	r->stop_said = true;
	if (cli_verbosity < 0)
		return;
	cli_progress_clear();
	if (!report_closed(r))
		fprintf(stderr, "pcwrite: %s:%s: stopped by SIG%s (%s)\n",
			cli_quote(ctl->image), cli_quote(dest),
			sigabbrev_np(pcw_signal_pending()), what);
	else
		fprintf(stderr, "pcwrite: %s:%s: stopped: write error on %s%s%s: "
			"%s (%s)\n", cli_quote(ctl->image), cli_quote(dest),
			where, ctl->report_file ? " " : "",
			ctl->report_file ? cli_quote_always(ctl->report_file)
					 : "", strerror(EPIPE), what);
}

/*
 * A report nobody reads is the run's failure (exit 1), as a write error on
 * its output is for any tool; a signal from outside is 128+N.
 */
int cli_report_stop_status(const struct cli_reporter *r)
{
	return report_closed(r) ? 1 : 128 + pcw_signal_pending();
}
