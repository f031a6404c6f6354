/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.c: the popt table and the checks that follow it.  One table, one
 * entry a line; popt validates the number types, the ranges and the option
 * conflicts are checked after the loop.  Usage errors exit 2.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

enum {
	OPT_VERSION = 1, OPT_HELP, OPT_QUIET, OPT_VERBOSE, OPT_APPEND,
	OPT_OFFSET, OPT_NO_CLOBBER, OPT_MODE, OPT_OWNER, OPT_GROUP,
	OPT_EXTRACT, OPT_RECURSIVE,
};

/*
 * The strings popt hands out for POPT_ARG_STRING options are the caller's to
 * free: they live here until parsing is over, and the two a run keeps
 * (--report-file, --undo) move into the control struct.
 */
struct opt_strings {
	char *report, *report_file, *dirty, *page, *offset, *mode, *owner;
	char *group, *mtime, *image_offset, *sparse, *undo;
};

static void free_strings(struct opt_strings *o)
{
	free(o->report);
	free(o->report_file);
	free(o->dirty);
	free(o->page);
	free(o->offset);
	free(o->mode);
	free(o->owner);
	free(o->group);
	free(o->mtime);
	free(o->image_offset);
	free(o->sparse);
	free(o->undo);
	memset(o, 0, sizeof(*o));
}

struct parse {
	poptContext		con;
	struct opt_strings	o;
	struct pcw_control	*ctl;
};

/* Everything parsing holds, freed before an exit from inside it. */
static void parse_free(struct parse *p)
{
	free_strings(&p->o);
	pcw_control_free(p->ctl);
	poptFreeContext(p->con);
}

/* For the usage errors: stderr must not be a file named here (2>>IMAGE). */
static int g_argc;
static const char **g_argv;

static void usage_error(struct parse *p, const char *fmt, const char *arg)
{
	pcw_host_files_usage_stderr(g_argc, g_argv);
	fputs("pcwrite: ", stderr);
	fprintf(stderr, fmt, pcw_quote(arg));
	fputs("\nTry 'pcwrite --help' for more information.\n", stderr);
	parse_free(p);
	exit(EXIT_USAGE);
}

static void out_of_memory(struct parse *p)
{
	perror("pcwrite");
	parse_free(p);
	exit(1);
}

void pcw_control_free(struct pcw_control *ctl)
{
	size_t k;

	free(ctl->image);
	free(ctl->dest);
	for (k = 0; ctl->sources && k < ctl->nsources; k++)
		free(ctl->sources[k]);
	free(ctl->sources);
	free(ctl->report_file);
	free(ctl->undo_file);
	ctl->image = ctl->dest = ctl->report_file = ctl->undo_file = NULL;
	ctl->sources = NULL;
	ctl->nsources = 0;
}

/* "64M" -> bytes.  Suffixes K, M, G, T (powers of 1024), optional "iB"/"B". */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && !strcmp(end, "iB"))
		end += 2;
	else if (shift && !strcmp(end, "B"))
		end++;
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*ret = (uint64_t)v << shift;
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* --mtime and SOURCE_DATE_EPOCH: seconds since the epoch, signed 64 bits. */
static int parse_time(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > 0x3ffffffffLL)
		return -1;
	*ret = v;
	return 0;
}

/* Values of keyword options, in their enums' order; the first is the default. */
static const char *const sparse_words[] = { "auto", "always", "never", NULL };
static const char *const report_words[] = { "none", "summary", "pages", "json",
					    NULL };

/* The index of S in WORDS (0 when S is NULL), or -1. */
static int keyword(const char *s, const char *const *words)
{
	int i;

	if (!s)
		return 0;
	for (i = 0; words[i]; i++)
		if (!strcmp(s, words[i]))
			return i;
	return -1;
}

int pcw_parse_options(int argc, const char **argv, struct pcw_control *ctl)
{
	struct parse p = { .ctl = ctl };
	struct opt_strings *o = &p.o;
	int no_delalloc = 0, no_sync = 0, parents = 0, progress = 0;
	int no_xattrs = 0;
	const char **args;
	char *env;
	size_t n;
	int rc;

	struct poptOption options[] = {
		{ "extract", 'x', POPT_ARG_NONE, NULL, OPT_EXTRACT,
		  "put the entries of each ARCHIVE (tar, cpio, mtree, zip, any "
		  "compression; standard input when none) under DIR", NULL },
		{ "recursive", 'R', POPT_ARG_NONE, NULL, OPT_RECURSIVE,
		  "put the contents of each host SOURCEDIR under DIR", NULL },
		{ "no-xattrs", 0, POPT_ARG_NONE, &no_xattrs, 0,
		  "with -x or -R: leave extended attributes and ACLs out", NULL },
		{ "append", 'a', POPT_ARG_NONE, NULL, OPT_APPEND,
		  "append to DEST (like >>); create it if missing", NULL },
		{ "offset", 'o', POPT_ARG_STRING, &o->offset, OPT_OFFSET,
		  "write at byte offset BYTES without truncating", "BYTES" },
		{ "no-clobber", 'n', POPT_ARG_NONE, NULL, OPT_NO_CLOBBER,
		  "fail if DEST exists", NULL },
		{ "parents", 'p', POPT_ARG_NONE, &parents, 0,
		  "create missing parent directories", NULL },
		{ "mode", 'm', POPT_ARG_STRING, &o->mode, OPT_MODE,
		  "permission bits of the file (octal)", "MODE" },
		{ "owner", 'u', POPT_ARG_STRING, &o->owner, OPT_OWNER,
		  "numeric owner (32 bits)", "UID" },
		{ "group", 'g', POPT_ARG_STRING, &o->group, OPT_GROUP,
		  "numeric group (32 bits)", "GID" },
		{ "mtime", 0, POPT_ARG_STRING, &o->mtime, 0,
		  "timestamps (default: now, or SOURCE_DATE_EPOCH)", "SECONDS" },
		{ "sparse", 'S', POPT_ARG_STRING, &o->sparse, 0,
		  "auto (holes of a sparse SOURCE stay holes), always (every "
		  "all-zero page), never", "WHEN" },
		{ "page-size", 0, POPT_ARG_STRING, &o->page, 0,
		  "unit of the write loop (power of two, >= block size)", "BYTES" },
		{ "dirty-limit", 0, POPT_ARG_STRING, &o->dirty, 0,
		  "dirty data held before writeback (K, M, G; default 32M)", "SIZE" },
		{ "no-delalloc", 0, POPT_ARG_NONE, &no_delalloc, 0,
		  "allocate in write_begin, as ext4 with nodelalloc", NULL },
		{ "image-offset", 0, POPT_ARG_STRING, &o->image_offset, 0,
		  "the filesystem starts at this byte of IMAGE", "BYTES" },
		{ "undo", 0, POPT_ARG_STRING, &o->undo, 0,
		  "keep an e2undo file: 'e2undo FILE IMAGE' rolls the run back",
		  "FILE" },
		{ "no-sync", 0, POPT_ARG_NONE, &no_sync, 0,
		  "skip the final fsync of the image", NULL },
		{ "report", 'r', POPT_ARG_STRING, &o->report, 0,
		  "none, summary, pages or json (default none)", "KIND" },
		{ "report-file", 0, POPT_ARG_STRING, &o->report_file, 0,
		  "write the report to PATH", "PATH" },
		{ "progress", 0, POPT_ARG_NONE, &progress, 0,
		  "a progress bar on standard error when it is a terminal", NULL },
		{ "quiet", 'q', POPT_ARG_NONE, NULL, OPT_QUIET,
		  "fewer messages", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE,
		  "more messages", NULL },
		{ "version", 'V', POPT_ARG_NONE, NULL, OPT_VERSION,
		  "print the version and exit", NULL },
		{ NULL, 'h', POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, NULL,
		  OPT_HELP, NULL, NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	g_argc = argc;
	g_argv = argv;
	memset(ctl, 0, sizeof(*ctl));
	ctl->mtime = -1;
	ctl->dirty_limit = PCW_DEFAULT_DIRTY_LIMIT;

	p.con = poptGetContext("pcwrite", argc, argv, options, 0);
	poptSetOtherOptionHelp(p.con, "[OPTION...] IMAGE DEST [SOURCE...]\n"
			       "  or:  pcwrite -x [OPTION...] IMAGE DIR [ARCHIVE...]\n"
			       "  or:  pcwrite -R [OPTION...] IMAGE DIR SOURCEDIR...");
	while ((rc = poptGetNextOpt(p.con)) > 0) {
		switch (rc) {
		case OPT_VERSION:
			printf("pcwrite %s\n", PACKAGE_VERSION);
			parse_free(&p);
			exit(0);
		case OPT_HELP:
			poptPrintHelp(p.con, stdout, 0);
			parse_free(&p);
			exit(0);
		case OPT_QUIET:
			ctl->verbose = -1;
			break;
		case OPT_VERBOSE:
			ctl->verbose = 1;
			break;
		case OPT_APPEND:
			ctl->append = true;
			break;
		case OPT_EXTRACT:
			if (ctl->run == MODE_TREE)
				usage_error(&p, "%s", "-x and -R exclude each other");
			ctl->run = MODE_EXTRACT;
			break;
		case OPT_RECURSIVE:
			if (ctl->run == MODE_EXTRACT)
				usage_error(&p, "%s", "-x and -R exclude each other");
			ctl->run = MODE_TREE;
			break;
		case OPT_NO_CLOBBER:
			ctl->no_clobber = true;
			break;
		case OPT_OFFSET:
			ctl->have_offset = true;
			break;
		case OPT_MODE:
			ctl->have_mode = true;
			break;
		case OPT_OWNER:
			ctl->have_uid = true;
			break;
		case OPT_GROUP:
			ctl->have_gid = true;
			break;
		}
	}
	if (rc < -1) {
		pcw_host_files_usage_stderr(argc, argv);
		fprintf(stderr, "pcwrite: %s: %s\n",
			pcw_quote(poptBadOption(p.con, POPT_BADOPTION_NOALIAS)),
			poptStrerror(rc));
		fputs("Try 'pcwrite --help' for more information.\n", stderr);
		parse_free(&p);
		exit(EXIT_USAGE);
	}

	/* A tree's entries bring their own modes and offsets. */
	if (ctl->run != MODE_WRITE && (ctl->append || ctl->have_offset ||
					ctl->have_mode))
		usage_error(&p, "%s", "--append, --offset and --mode cannot be "
			    "used with -x or -R");
	if (ctl->run == MODE_WRITE && no_xattrs)
		usage_error(&p, "%s", "--no-xattrs goes with -x or -R");

	/* Modes that exclude each other. */
	if (ctl->append + ctl->have_offset + ctl->no_clobber > 1)
		usage_error(&p, "%s", "--append, --offset and --no-clobber "
			    "exclude each other");

	if (ctl->have_offset && parse_u64(o->offset, INT64_MAX, &ctl->offset))
		usage_error(&p, "invalid --offset '%s'", o->offset);
	if (ctl->have_mode) {
		char *end;
		unsigned long v = strtoul(o->mode, &end, 8);

		if (!*o->mode || *end || v > 07777)
			usage_error(&p, "invalid --mode '%s' (octal, at most 7777)",
				    o->mode);
		ctl->mode = v;
	}
	if (ctl->have_uid) {
		uint64_t v;

		if (parse_u64(o->owner, 0xfffffffeULL, &v))
			usage_error(&p, "invalid --owner '%s' (a numeric id)",
				    o->owner);
		ctl->uid = v;
	}
	if (ctl->have_gid) {
		uint64_t v;

		if (parse_u64(o->group, 0xfffffffeULL, &v))
			usage_error(&p, "invalid --group '%s' (a numeric id)",
				    o->group);
		ctl->gid = v;
	}
	if (o->mtime) {
		if (parse_time(o->mtime, &ctl->mtime))
			usage_error(&p, "invalid --mtime '%s'", o->mtime);
		ctl->mtime_set = true;
	} else if ((env = getenv("SOURCE_DATE_EPOCH")) && *env) {
		if (parse_time(env, &ctl->mtime))
			usage_error(&p, "invalid SOURCE_DATE_EPOCH '%s'", env);
	}
	if (o->page) {
		if (parse_size(o->page, &ctl->page_size) ||
		    ctl->page_size < 1024 || ctl->page_size > PCW_MAX_PAGE_SIZE ||
		    (ctl->page_size & (ctl->page_size - 1)))
			usage_error(&p, "invalid --page-size '%s' (a power of "
				    "two from 1024 to 65536)", o->page);
	}
	if (o->dirty) {
		if (parse_size(o->dirty, &ctl->dirty_limit) ||
		    ctl->dirty_limit < 4096 || ctl->dirty_limit > (16ULL << 30))
			usage_error(&p, "invalid --dirty-limit '%s' (4K to 16G)",
				    o->dirty);
	}
	if (o->image_offset && parse_size(o->image_offset, &ctl->image_offset))
		usage_error(&p, "invalid --image-offset '%s'", o->image_offset);
	/*
	 * libext2fs 1.47.0's undo manager saves the superblock from the
	 * wrong place when the filesystem has an offset: e2undo would not
	 * restore it.
	 */
	if (ctl->image_offset && o->undo)
		usage_error(&p, "%s", "--undo cannot be used with --image-offset "
			    "(libext2fs 1.47.0 records the wrong superblock)");
	if ((rc = keyword(o->sparse, sparse_words)) < 0)
		usage_error(&p, "invalid --sparse '%s' (auto, always or never)",
			    o->sparse);
	ctl->sparse = rc;
	if ((rc = keyword(o->report, report_words)) < 0)
		usage_error(&p, "invalid --report '%s' (none, summary, pages "
			    "or json)", o->report);
	ctl->report = rc;
	ctl->report_file = o->report_file;
	ctl->undo_file = o->undo;
	o->report_file = o->undo = NULL;	/* the run's now */
	ctl->progress = progress;
	ctl->no_delalloc = no_delalloc;
	ctl->no_sync = no_sync;
	ctl->parents = parents;
	ctl->no_xattrs = no_xattrs;

	args = poptGetArgs(p.con);
	for (n = 0; args && args[n]; n++)
		;
	if (n < 2)
		usage_error(&p, "%s", ctl->run == MODE_WRITE ?
			    (n ? "missing DEST" : "missing IMAGE and DEST") :
			    (n ? "missing DIR" : "missing IMAGE and DIR"));
	if (ctl->run == MODE_TREE && n < 3)
		usage_error(&p, "%s", "-R needs a SOURCEDIR");
	for (size_t k = 2; k < n; k++)
		if (!strcmp(args[k], "-") &&
		    (ctl->run == MODE_TREE ||
		     (ctl->run == MODE_WRITE && n > 3)))
			usage_error(&p, "%s", ctl->run == MODE_TREE ?
				    "-R reads directories, not standard input" :
				    "'-' may only be the sole SOURCE");
	if (ctl->run == MODE_EXTRACT) {
		size_t dashes = 0;

		for (size_t k = 2; k < n; k++)
			dashes += !strcmp(args[k], "-");
		if (dashes > 1)
			usage_error(&p, "%s", "'-' (standard input) may be "
				    "given once");
	}
	/* The arguments live in popt's context: copy them out of it. */
	ctl->image = strdup(args[0]);
	ctl->dest = strdup(args[1]);
	ctl->nsources = n - 2;
	ctl->sources = calloc(n - 1, sizeof(*ctl->sources));
	if (!ctl->image || !ctl->dest || !ctl->sources)
		out_of_memory(&p);
	for (size_t k = 2; k < n; k++)
		if (!(ctl->sources[k - 2] = strdup(args[k])))
			out_of_memory(&p);
	ctl->from_stdin = ctl->nsources == 0 ||
			  (ctl->nsources == 1 && !strcmp(ctl->sources[0], "-"));
	if (ctl->run == MODE_TREE)
		ctl->from_stdin = false;
	for (size_t k = 0; ctl->run == MODE_EXTRACT && k < ctl->nsources; k++)
		if (!strcmp(ctl->sources[k], "-"))
			ctl->from_stdin = true;
	if (ctl->dest[0] != '/')
		usage_error(&p, ctl->run == MODE_WRITE ?
			    "DEST '%s' must be an absolute path inside the "
			    "filesystem" : "DIR '%s' must be an absolute path "
			    "inside the filesystem", ctl->dest);
	free_strings(o);
	poptFreeContext(p.con);
	return 0;
}
