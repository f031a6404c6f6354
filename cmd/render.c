/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * render.c: the report, as a text table (pages), one line a file (summary)
 * or JSON Lines (json).  Text goes to standard error by default, JSON to
 * standard output; --report-file sends either to a file.  File names are
 * quoted in text as in messages (quote.c), escaped in JSON strings.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

struct pcw_render {
	enum report_kind kind;
	FILE		*out;
	bool		own;		/* opened here: close it */
	bool		header_done;
};

struct pcw_render *pcw_render_open(enum report_kind kind, FILE *out, int *err)
{
	struct pcw_render *r;

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
		r->out = kind == REPORT_JSON ? stdout : stderr;
	}
	return r;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static const char *tf(unsigned v)
{
	return v ? "true" : "false";
}

static void render_page(struct pcw_render *r, const char *file,
			const struct pcw_page_report *p)
{
	FILE *out = r->out;

	if (r->kind == REPORT_JSON) {
		fputs("{\"event\":\"page\",\"file\":", out);
		json_string(out, file);
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
		pcw_quote(file), p->seq, p->index, p->pos, p->offset, p->bytes,
		p->copied, p->status, p->read_before ? "yes" : "no", p->reserved,
		p->retry ? "yes" : "no");
}

static void render_writeback(struct pcw_render *r, const char *file,
			     const struct pcw_writeback_report *w)
{
	if (r->kind == REPORT_JSON) {
		fputs("{\"event\":\"writeback\",\"file\":", r->out);
		json_string(r->out, file);
		fprintf(r->out, ",\"lblk\":%" PRIu64 ",\"pblk\":%" PRIu64
			",\"len\":%" PRIu64 ",\"overwrite\":%s}\n",
			w->lblk, w->pblk, w->len, tf(w->overwrite));
	} else if (r->kind == REPORT_PAGES) {
		fprintf(r->out, "%-20s writeback lblk %" PRIu64 " pblk %" PRIu64
			" len %" PRIu64 "%s\n", pcw_quote(file), w->lblk,
			w->pblk, w->len, w->overwrite ? " (overwrite)" : "");
	}
}

void pcw_render_event(const struct pcw_event *ev, void *arg)
{
	struct pcw_render *r = arg;

	if (!r)
		return;
	if (ev->type == PCW_EV_PAGE)
		render_page(r, ev->file, &ev->u.page);
	else if (ev->type == PCW_EV_WRITEBACK)
		render_writeback(r, ev->file, &ev->u.writeback);
}

void pcw_render_file(struct pcw_render *r, const struct pcw_file_record *f)
{
	if (!r)
		return;
	if (r->kind == REPORT_JSON) {
		fputs("{\"event\":\"file\",\"file\":", r->out);
		json_string(r->out, f->file);
		if (f->ftype)
			fprintf(r->out, ",\"ftype\":\"%s\"", f->ftype);
		fprintf(r->out, ",\"bytes\":%" PRIu64 ",\"size\":%" PRIu64
			",\"pages\":%" PRIu64 ",\"extents\":%" PRIu64
			",\"status\":\"%s\"}\n", f->bytes, f->size, f->pages,
			f->extents, f->status);
	} else if (f->ftype && strcmp(f->ftype, "file")) {
		fprintf(r->out, "%s: %s: %s\n", f->file, f->ftype, f->status);
	} else {
		fprintf(r->out, "%s: %" PRIu64 " bytes written, size %" PRIu64
			", %" PRIu64 " pages, %" PRIu64 " extent%s: %s\n",
			pcw_quote(f->file), f->bytes, f->size, f->pages,
			f->extents, f->extents == 1 ? "" : "s", f->status);
	}
	fflush(r->out);
}

int pcw_render_close(struct pcw_render *r)
{
	int err = 0;

	if (!r)
		return 0;
	if (fflush(r->out) != 0 || ferror(r->out))
		err = errno ? errno : EIO;
	if (r->own && fclose(r->out) != 0 && !err)
		err = errno;
	free(r);
	return err;
}
