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

/*
 * Every option has a value here: poptGetNextOpt returns it (after storing
 * the argument, for those that take one), and the options a command line
 * gave are a bit set, checked against the table of exclusions below.
 */
enum {
	OPT_EXTRACT = 1, OPT_RECURSIVE, OPT_LIST, OPT_NO_XATTRS,
	OPT_APPEND, OPT_OFFSET, OPT_NO_CLOBBER, OPT_PARENTS,
	OPT_MODE, OPT_OWNER, OPT_GROUP, OPT_PROJECT, OPT_MTIME,
	OPT_OWNER_MAP, OPT_GROUP_MAP, OPT_NAMES,
	OPT_SPARSE, OPT_PAGE_SIZE, OPT_DIRTY_LIMIT, OPT_NO_DELALLOC,
	OPT_IMAGE_OFFSET, OPT_PARTITION, OPT_UNDO, OPT_NO_SYNC,
	OPT_REPORT, OPT_REPORT_FILE, OPT_PROGRESS, OPT_QUIET, OPT_VERBOSE,
	OPT_VERSION, OPT_HELP, OPT_USAGE,
	OPT_STRIP, OPT_EXCLUDE, OPT_EXCLUDE_FROM, OPT_TRANSFORM,
	OPT_NO_JOURNAL, OPT_COMMIT, OPT_ATOMIC, OPT_WHITEOUTS,
	OPT_STOP_ON_ERROR,
};
#define BIT(o)	(1ULL << (o))

/* At most one option of each set; the message says which. */
static const struct {
	uint64_t	set;
	const char	*msg;
} exclusive[] = {
	{ BIT(OPT_EXTRACT) | BIT(OPT_RECURSIVE) | BIT(OPT_LIST),
	  "-x, -R and --list exclude each other" },
	{ BIT(OPT_APPEND) | BIT(OPT_OFFSET) | BIT(OPT_NO_CLOBBER),
	  "--append, --offset and --no-clobber exclude each other" },
	/* --atomic writes a new inode: nothing of the old one to append to */
	{ BIT(OPT_ATOMIC) | BIT(OPT_APPEND) | BIT(OPT_OFFSET),
	  "--atomic cannot be used with --append or --offset" },
	{ BIT(OPT_ATOMIC) | BIT(OPT_NO_JOURNAL),
	  "--atomic needs the journal: it cannot be used with --no-journal" },
	{ BIT(OPT_IMAGE_OFFSET) | BIT(OPT_PARTITION),
	  "--image-offset and --partition exclude each other" },
	/*
	 * libext2fs 1.47.0's undo manager saves the superblock from the
	 * wrong place when the filesystem has an offset: e2undo would not
	 * restore it.
	 */
	{ BIT(OPT_UNDO) | BIT(OPT_IMAGE_OFFSET),
	  "--undo cannot be used with --image-offset (libext2fs 1.47.0 "
	  "records the wrong superblock)" },
	{ BIT(OPT_UNDO) | BIT(OPT_PARTITION),
	  "--undo cannot be used with --partition (libext2fs 1.47.0 "
	  "records the wrong superblock)" },
};

/* What a mode allows: every other option is a usage error with it. */
#define TREE_REFUSES	(BIT(OPT_APPEND) | BIT(OPT_OFFSET))
#define LIST_ALLOWS	(BIT(OPT_LIST) | BIT(OPT_IMAGE_OFFSET) | \
			 BIT(OPT_PARTITION) | BIT(OPT_QUIET) | BIT(OPT_VERBOSE))
/* tar's path options (tarpath.c): -x and -R only. */
#define TARPATH_OPTS	(BIT(OPT_STRIP) | BIT(OPT_EXCLUDE) | \
			 BIT(OPT_EXCLUDE_FROM) | BIT(OPT_TRANSFORM))

/*
 * The strings popt hands out for POPT_ARG_STRING options are the caller's to
 * free: they live here until parsing is over, and the two a run keeps
 * (--report-file, --undo) move into the control struct.
 */
struct opt_strings {
	char *report, *report_file, *dirty, *page, *offset, *mode, *owner;
	char *group, *project, *mtime, *image_offset, *sparse, *undo, *partition;
	char *owner_map, *group_map, *names, *whiteouts;
	char *commit;
	char *tarpath;		/* the last of tar's path options, taken at once */
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
	free(o->project);
	free(o->mtime);
	free(o->image_offset);
	free(o->sparse);
	free(o->undo);
	free(o->partition);
	free(o->owner_map);
	free(o->group_map);
	free(o->names);
	free(o->whiteouts);
	free(o->commit);
	free(o->tarpath);
	memset(o, 0, sizeof(*o));
}

struct parse {
	poptContext		con;
	struct opt_strings	o;
	struct cli_control	*ctl;
};

/* Everything parsing holds, freed before an exit from inside it. */
static void parse_free(struct parse *p)
{
	free_strings(&p->o);
	cli_control_free(p->ctl);
	poptFreeContext(p->con);
}

/* For the usage errors: stderr must not be a file named here (2>>IMAGE). */
static int g_argc;
static const char **g_argv;

static void usage_error(struct parse *p, const char *fmt, const char *arg)
{
	cli_host_files_usage_stderr(g_argc, g_argv);
	fputs("pcwrite: ", stderr);
	fprintf(stderr, fmt, cli_quote(arg));
	fputs("\nTry 'pcwrite --help' for more information.\n", stderr);
	parse_free(p);
	exit(EXIT_USAGE);
}

/* A usage error whose message MSG (owned) quotes its names already. */
static void usage_error_msg(struct parse *p, char *msg)
{
	cli_host_files_usage_stderr(g_argc, g_argv);
	fprintf(stderr, "pcwrite: %s\nTry 'pcwrite --help' for more "
		"information.\n", msg ? msg : "out of memory");
	free(msg);
	parse_free(p);
	exit(EXIT_USAGE);
}

static void out_of_memory(struct parse *p)
{
	perror("pcwrite");
	parse_free(p);
	exit(1);
}

void cli_control_free(struct cli_control *ctl)
{
	size_t k;

	free(ctl->image);
	free(ctl->dest);
	for (k = 0; ctl->sources && k < ctl->nsources; k++)
		free(ctl->sources[k]);
	free(ctl->sources);
	free(ctl->report_file);
	free(ctl->undo_file);
	cli_mode_free(ctl->mode);
	ctl->mode = NULL;
	free(ctl->owner_name);
	free(ctl->group_name);
	cli_idmap_free(ctl->owner_map);
	cli_idmap_free(ctl->group_map);
	ctl->owner_name = ctl->group_name = NULL;
	ctl->owner_map = ctl->group_map = NULL;
	pcw_names_free(ctl->names);
	ctl->names = NULL;
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

/* SOURCE_DATE_EPOCH: seconds since the epoch (--mtime takes more: mtime.c). */
static int parse_time(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > CLI_MAX_SECONDS)
		return -1;
	*ret = v;
	return 0;
}

/*
 * -u/-g: what is not a number ("+"-prefixed or not) is a name: not empty,
 * no ':' (tar's NAME:ID), no '-' first (an option's look).
 */
static bool is_name(const char *s)
{
	if (!*s || *s == '-' || strchr(s, ':'))
		return false;
	if (*s == '+')
		s++;
	return s[strspn(s, "0123456789")] != '\0';
}

/* Does the NULL-terminated ARGS hold "-"? */
static bool dashes_in(const char **args)
{
	for (; *args; args++)
		if (!strcmp(*args, "-"))
			return true;
	return false;
}

/* Values of keyword options, in their enums' order; the first is the default. */
static const char *const sparse_words[] = { "auto", "always", "never", NULL };
static const char *const report_words[] = { "none", "summary", "pages", "json",
					    "entries", NULL };
static const char *const names_words[] = { "numeric", "archive", NULL };
static const char *const whiteouts_words[] = { "literal", "oci", "overlay",
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

/*
 * --help: popt's help with the description after the usage lines and the
 * bug address at the end, as GNU programs print it.  Written to stdout;
 * an error writing it is caught at exit (cli_close_stdout).
 */
static void print_help(poptContext con)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return;
	poptPrintHelp(con, mem, 0);
	if (fclose(mem) != 0 || !buf)
		return;
	/* The usage lines: "Usage: ..." and the "  or:  ..." that follow. */
	p = buf;
	do {
		p = strchr(p, '\n');
		p = p ? p + 1 : buf + len;
	} while (!strncmp(p, "  or:", 5));
	fwrite(buf, 1, p - buf, stdout);
	fputs(PCW_DESCRIPTION "\n", stdout);
	fputs(p, stdout);
	printf("\nReport bugs to: <%s>\n", PACKAGE_BUGREPORT);
	free(buf);
}

/* --version, in the GNU form. */
static void print_version(void)
{
	printf("pcwrite %s\n"
	       "Copyright (C) %s The pcwrite authors.\n"
	       "License GPLv2+: GNU GPL version 2 or later "
	       "<https://gnu.org/licenses/old-licenses/gpl-2.0.html>.\n"
	       "This is free software: you are free to change and redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n",
	       PACKAGE_VERSION, PCW_COPYRIGHT_YEAR);
}

/* Which mode runs, and the options it refuses. */
static void check_modes(struct parse *p, uint64_t seen)
{
	struct cli_control *ctl = p->ctl;
	size_t k;

	for (k = 0; k < sizeof(exclusive) / sizeof(exclusive[0]); k++)
		if (__builtin_popcountll(seen & exclusive[k].set) > 1)
			usage_error(p, "%s", exclusive[k].msg);
	ctl->run = (seen & BIT(OPT_EXTRACT)) ? MODE_EXTRACT :
		   (seen & BIT(OPT_RECURSIVE)) ? MODE_TREE :
		   (seen & BIT(OPT_LIST)) ? MODE_LIST : MODE_WRITE;
	/* A tree's entries bring their own modes and offsets. */
	if ((ctl->run == MODE_EXTRACT || ctl->run == MODE_TREE) &&
	    (seen & TREE_REFUSES))
		usage_error(p, "%s", "--append and --offset cannot be used "
			    "with -x or -R");
	if (ctl->run == MODE_LIST && (seen & ~LIST_ALLOWS))
		usage_error(p, "%s", "--list goes with --image-offset or "
			    "--partition only");
	if (ctl->run == MODE_WRITE && (seen & BIT(OPT_NO_XATTRS)))
		usage_error(p, "%s", "--no-xattrs goes with -x or -R");
	if (ctl->run == MODE_WRITE && (seen & BIT(OPT_STOP_ON_ERROR)))
		usage_error(p, "%s", "--stop-on-error goes with -x or -R");
	if (ctl->run == MODE_WRITE && (seen & (BIT(OPT_OWNER_MAP) |
					       BIT(OPT_GROUP_MAP) |
					       BIT(OPT_NAMES))))
		usage_error(p, "%s", "--owner-map, --group-map and --names go "
			    "with -x or -R");
	if (ctl->run == MODE_WRITE && (seen & BIT(OPT_WHITEOUTS)))
		usage_error(p, "%s", "--whiteouts goes with -x or -R");
	if (ctl->run == MODE_WRITE && (seen & TARPATH_OPTS))
		usage_error(p, "%s", "--strip-components, --exclude, "
			    "--exclude-from and --transform go with -x or -R");
}

/* The flags, and the values of --offset, --mode and the owners. */
static void take_flags(struct parse *p, uint64_t seen)
{
	struct cli_control *ctl = p->ctl;
	struct opt_strings *o = &p->o;
	uint64_t v;
	int rc;

	ctl->append = seen & BIT(OPT_APPEND);
	ctl->no_clobber = seen & BIT(OPT_NO_CLOBBER);
	ctl->parents = seen & BIT(OPT_PARENTS);
	ctl->no_xattrs = seen & BIT(OPT_NO_XATTRS);
	ctl->stop_on_error = seen & BIT(OPT_STOP_ON_ERROR);
	ctl->no_delalloc = seen & BIT(OPT_NO_DELALLOC);
	ctl->no_sync = seen & BIT(OPT_NO_SYNC);
	ctl->no_journal = seen & BIT(OPT_NO_JOURNAL);
	/*
	 * With -x and -R the journal swaps every regular file an entry
	 * replaces (entry_make.c): --atomic is implied there, and still
	 * refused without the journal (above, and on an image without one).
	 */
	ctl->atomic = seen & BIT(OPT_ATOMIC);
	if (o->commit) {
		if (parse_u64(o->commit, 86400, &v) || !v)
			usage_error(p, "invalid --commit '%s' (seconds, 1 to "
				    "86400)", o->commit);
		ctl->commit_sec = v;
	}
	ctl->progress = seen & BIT(OPT_PROGRESS);
	ctl->have_offset = seen & BIT(OPT_OFFSET);
	ctl->have_mode = seen & BIT(OPT_MODE);
	ctl->have_uid = seen & BIT(OPT_OWNER);
	ctl->have_gid = seen & BIT(OPT_GROUP);
	ctl->have_project = seen & BIT(OPT_PROJECT);

	/* Sizes and offsets: one parser, the same suffixes everywhere. */
	if (ctl->have_offset &&
	    (parse_size(o->offset, &ctl->offset) || ctl->offset > INT64_MAX))
		usage_error(p, "invalid --offset '%s' (bytes, with K, M, G or "
			    "T)", o->offset);
	if (ctl->have_mode && cli_mode_parse(o->mode, &ctl->mode)) {
		if (errno == ENOMEM)
			out_of_memory(p);
		usage_error(p, "invalid --mode '%s' (octal, at most 7777, or "
			    "symbolic as chmod takes it: u+x,go-w)", o->mode);
	}
	/* A number is an id; anything else a name, for the image (owners.c). */
	if (ctl->have_uid && cli_parse_id(o->owner, &ctl->uid)) {
		if (!is_name(o->owner))
			usage_error(p, "invalid --owner '%s' (an id from 0 to "
				    "4294967294, or a name)", o->owner);
		ctl->owner_name = o->owner;
		o->owner = NULL;
	}
	if (ctl->have_gid && cli_parse_id(o->group, &ctl->gid)) {
		if (!is_name(o->group))
			usage_error(p, "invalid --group '%s' (an id from 0 to "
				    "4294967294, or a name)", o->group);
		ctl->group_name = o->group;
		o->group = NULL;
	}
	if ((rc = keyword(o->names, names_words)) < 0)
		usage_error(p, "invalid --names '%s' (numeric or archive)",
			    o->names);
	ctl->names_archive = rc == 1;
	if ((rc = keyword(o->whiteouts, whiteouts_words)) < 0)
		usage_error(p, "invalid --whiteouts '%s' (literal, oci or "
			    "overlay)", o->whiteouts);
	ctl->whiteouts = rc;
	if (o->owner_map || o->group_map) {
		char msg[1200];

		rc = 0;
		if (o->owner_map)
			rc = cli_idmap_load(o->owner_map, PCW_ID_USER,
					    &ctl->owner_map, msg, sizeof(msg));
		if (!rc && o->group_map)
			rc = cli_idmap_load(o->group_map, PCW_ID_GROUP,
					    &ctl->group_map, msg, sizeof(msg));
		if (rc) {
			/* MSG quotes its names itself */
			cli_host_files_usage_stderr(g_argc, g_argv);
			fprintf(stderr, "pcwrite: %s\n%s", msg, rc == EXIT_USAGE ?
				"Try 'pcwrite --help' for more information.\n" :
				"");
			parse_free(p);
			exit(rc);
		}
	}
}

/* The other values: --project, times, sizes, offsets, keywords. */
static void take_values(struct parse *p)
{
	struct cli_control *ctl = p->ctl;
	struct opt_strings *o = &p->o;
	uint64_t v;
	char *env;
	int rc;

	if (ctl->have_project) {
		if (parse_u64(o->project, 0xfffffffeULL, &v))
			usage_error(p, "invalid --project '%s' (a numeric id)",
				    o->project);
		ctl->project = v;
	}
	if (o->mtime) {
		if (cli_parse_mtime(o->mtime, &ctl->mtime))
			usage_error(p, "invalid --mtime '%s' (seconds, @SECONDS, "
				    "or ISO 8601 with a zone: 2024-01-02, "
				    "2024-01-02T03:04:05Z, 2024-01-02 03:04:05+02:00)",
				    o->mtime);
		ctl->mtime_set = true;
	} else if ((env = getenv("SOURCE_DATE_EPOCH")) && *env &&
		   ctl->run != MODE_LIST) {
		if (parse_time(env, &ctl->mtime))
			usage_error(p, "invalid SOURCE_DATE_EPOCH '%s'", env);
	}
	if (o->page) {
		if (parse_size(o->page, &ctl->page_size) ||
		    ctl->page_size < 1024 || ctl->page_size > PCW_MAX_PAGE_SIZE ||
		    (ctl->page_size & (ctl->page_size - 1)))
			usage_error(p, "invalid --page-size '%s' (a power of "
				    "two from 1024 to 65536)", o->page);
	}
	if (o->dirty) {
		if (parse_size(o->dirty, &ctl->dirty_limit) ||
		    ctl->dirty_limit < 4096 || ctl->dirty_limit > (16ULL << 30))
			usage_error(p, "invalid --dirty-limit '%s' (4K to 16G)",
				    o->dirty);
	}
	if (o->image_offset &&
	    (parse_size(o->image_offset, &ctl->image_offset) ||
	     ctl->image_offset > INT64_MAX))
		usage_error(p, "invalid --image-offset '%s' (bytes, with K, M, "
			    "G or T)", o->image_offset);
	if (o->partition) {
		if (parse_u64(o->partition, 4096, &v) || v == 0)
			usage_error(p, "invalid --partition '%s' (a partition "
				    "number, from 1)", o->partition);
		ctl->partition = v;
	}
	if ((rc = keyword(o->sparse, sparse_words)) < 0)
		usage_error(p, "invalid --sparse '%s' (auto, always or never)",
			    o->sparse);
	ctl->sparse = rc;
	if ((rc = keyword(o->report, report_words)) < 0)
		usage_error(p, "invalid --report '%s' (none, summary, pages, "
			    "json or entries)", o->report);
	ctl->report = rc;
	ctl->report_file = o->report_file;
	ctl->undo_file = o->undo;
	o->report_file = o->undo = NULL;	/* the run's now */
	/* "-" is standard output, as for tar -f - (whatever the kind). */
	if (ctl->report_file && !strcmp(ctl->report_file, "-")) {
		free(ctl->report_file);
		ctl->report_file = NULL;
		ctl->report_stdout = true;
	}
}

/* IMAGE, DEST or DIR, and the sources, as the mode takes them. */
static void take_args(struct parse *p)
{
	struct cli_control *ctl = p->ctl;
	const char **args;
	size_t n, k;

	args = poptGetArgs(p->con);
	for (n = 0; args && args[n]; n++)
		;
	if (n < 2)
		usage_error(p, "%s", ctl->run == MODE_WRITE ?
			    (n ? "missing DEST" : "missing IMAGE and DEST") :
			    (n ? "missing DIR" : "missing IMAGE and DIR"));
	if (ctl->run == MODE_TREE && n < 3)
		usage_error(p, "%s", "-R needs a SOURCEDIR");
	if (ctl->run == MODE_LIST && n > 2)
		usage_error(p, "%s", "--list takes IMAGE and DIR only");
	for (k = 2; k < n; k++)
		if (!strcmp(args[k], "-") &&
		    (ctl->run == MODE_TREE ||
		     (ctl->run == MODE_WRITE && n > 3)))
			usage_error(p, "%s", ctl->run == MODE_TREE ?
				    "-R reads directories, not standard input" :
				    "'-' may only be the sole SOURCE");
	if (ctl->run == MODE_EXTRACT) {
		size_t dashes = 0;

		for (k = 2; k < n; k++)
			dashes += !strcmp(args[k], "-");
		if (dashes > 1)
			usage_error(p, "%s", "'-' (standard input) may be "
				    "given once");
	}
	if (ctl->run == MODE_EXTRACT && ctl->names_stdin &&
	    (n == 2 || dashes_in(args + 2)))
		usage_error(p, "%s", "--exclude-from=- reads standard input, "
			    "which is the archive");
	/* The arguments live in popt's context: copy them out of it. */
	ctl->image = strdup(args[0]);
	ctl->dest = strdup(args[1]);
	ctl->nsources = n - 2;
	ctl->sources = calloc(n - 1, sizeof(*ctl->sources));
	if (!ctl->image || !ctl->dest || !ctl->sources)
		out_of_memory(p);
	for (k = 2; k < n; k++)
		if (!(ctl->sources[k - 2] = strdup(args[k])))
			out_of_memory(p);
	ctl->from_stdin = ctl->run == MODE_WRITE &&
			  (ctl->nsources == 0 ||
			   (ctl->nsources == 1 && !strcmp(ctl->sources[0], "-")));
	if (ctl->run == MODE_EXTRACT) {
		ctl->from_stdin = ctl->nsources == 0;
		for (k = 0; k < ctl->nsources; k++)
			if (!strcmp(ctl->sources[k], "-"))
				ctl->from_stdin = true;
	}
	if (ctl->dest[0] != '/')
		usage_error(p, ctl->run == MODE_WRITE ?
			    "DEST '%s' must be an absolute path inside the "
			    "filesystem" : "DIR '%s' must be an absolute path "
			    "inside the filesystem", ctl->dest);
}

int cli_parse_options(int argc, const char **argv, struct cli_control *ctl)
{
	struct parse p = { .ctl = ctl };
	struct opt_strings *o = &p.o;
	uint64_t seen = 0;
	int rc;

	/* One table a group of --help, in the man page's order. */
	struct poptOption tree_options[] = {
		{ "extract", 'x', POPT_ARG_NONE, NULL, OPT_EXTRACT,
		  "put the entries of each ARCHIVE (tar, cpio, mtree, zip, any "
		  "compression; standard input when none) under DIR", NULL },
		{ "recursive", 'R', POPT_ARG_NONE, NULL, OPT_RECURSIVE,
		  "put the contents of each host SOURCEDIR under DIR", NULL },
		{ "no-xattrs", 0, POPT_ARG_NONE, NULL, OPT_NO_XATTRS,
		  "with -x or -R: leave extended attributes and ACLs out", NULL },
		{ "stop-on-error", 0, POPT_ARG_NONE, NULL, OPT_STOP_ON_ERROR,
		  "with -x or -R: stop at the first bad entry (default: skip it "
		  "with a message, go on, exit 1)", NULL },
		{ "strip-components", 0, POPT_ARG_STRING, &o->tarpath,
		  OPT_STRIP, "with -x or -R: take N leading components off "
		  "each name and hard link target", "N" },
		{ "exclude", 0, POPT_ARG_STRING, &o->tarpath, OPT_EXCLUDE,
		  "with -x or -R: leave out what PATTERN matches, as tar "
		  "(repeatable)", "PATTERN" },
		{ "exclude-from", 'X', POPT_ARG_STRING, &o->tarpath,
		  OPT_EXCLUDE_FROM, "with -x or -R: the --exclude patterns in "
		  "FILE, one a line", "FILE" },
		{ "transform", 0, POPT_ARG_STRING, &o->tarpath, OPT_TRANSFORM,
		  "with -x or -R: change names with s/REGEX/REPL/FLAGS, as tar "
		  "(repeatable)", "EXPR" },
		{ "xform", 0, POPT_ARG_STRING, &o->tarpath, OPT_TRANSFORM,
		  "the same as --transform", "EXPR" },
		{ "whiteouts", 0, POPT_ARG_STRING, &o->whiteouts,
		  OPT_WHITEOUTS, "with -x or -R: a container layer's .wh. "
		  "files: literal (the default: written as files), oci "
		  "(applied: what they name is removed) or overlay "
		  "(overlayfs's 0/0 devices and opaque xattr)", "HOW" },
		{ "list", 0, POPT_ARG_NONE, NULL, OPT_LIST,
		  "list the names in DIR inside IMAGE, read-only (directories "
		  "end in '/')", NULL },
		POPT_TABLEEND
	};
	struct poptOption mode_options[] = {
		{ "append", 'a', POPT_ARG_NONE, NULL, OPT_APPEND,
		  "append to DEST (like >>); create it if missing", NULL },
		{ "offset", 'o', POPT_ARG_STRING, &o->offset, OPT_OFFSET,
		  "write at byte offset BYTES without truncating (K, M, G, T)",
		  "BYTES" },
		{ "no-clobber", 'n', POPT_ARG_NONE, NULL, OPT_NO_CLOBBER,
		  "fail if DEST exists", NULL },
		{ "parents", 'p', POPT_ARG_NONE, NULL, OPT_PARENTS,
		  "create missing parent directories", NULL },
		POPT_TABLEEND
	};
	struct poptOption file_options[] = {
		{ "mode", 'm', POPT_ARG_STRING, &o->mode, OPT_MODE,
		  "permission bits: octal, or symbolic as chmod takes them "
		  "(u+x,go-w); with -x/-R applied to every entry", "MODE" },
		{ "owner", 'u', POPT_ARG_STRING, &o->owner, OPT_OWNER,
		  "owner: a number (32 bits) or a name in the image's "
		  "/etc/passwd", "USER" },
		{ "group", 'g', POPT_ARG_STRING, &o->group, OPT_GROUP,
		  "group: a number (32 bits) or a name in the image's "
		  "/etc/group", "GROUP" },
		{ "project", 0, POPT_ARG_STRING, &o->project, OPT_PROJECT,
		  "project id of every inode made (needs the project feature)",
		  "ID" },
		{ "owner-map", 0, POPT_ARG_STRING, &o->owner_map, OPT_OWNER_MAP,
		  "with -x or -R: owners translated by FILE, GNU tar's format "
		  "(OLD NEW[:ID] a line)", "FILE" },
		{ "group-map", 0, POPT_ARG_STRING, &o->group_map, OPT_GROUP_MAP,
		  "with -x or -R: groups translated by FILE, in the same "
		  "format", "FILE" },
		{ "names", 0, POPT_ARG_STRING, &o->names, OPT_NAMES,
		  "with -x or -R: numeric (the default: the source's ids) or "
		  "archive (the source's names, through the image's "
		  "/etc/passwd and /etc/group)", "WHICH" },
		{ "mtime", 0, POPT_ARG_STRING, &o->mtime, OPT_MTIME,
		  "timestamps: seconds, @SECONDS or ISO 8601 with a zone "
		  "(default: now, or SOURCE_DATE_EPOCH)", "WHEN" },
		POPT_TABLEEND
	};
	struct poptOption data_options[] = {
		{ "sparse", 'S', POPT_ARG_STRING, &o->sparse, OPT_SPARSE,
		  "auto (holes of a sparse SOURCE stay holes), always (every "
		  "all-zero page), never", "WHEN" },
		{ "page-size", 0, POPT_ARG_STRING, &o->page, OPT_PAGE_SIZE,
		  "unit of the write loop (power of two, >= block size)", "BYTES" },
		{ "dirty-limit", 0, POPT_ARG_STRING, &o->dirty, OPT_DIRTY_LIMIT,
		  "dirty data held before writeback (K, M, G; default 8M)", "SIZE" },
		{ "no-delalloc", 0, POPT_ARG_NONE, NULL, OPT_NO_DELALLOC,
		  "allocate in write_begin, as ext4 with nodelalloc", NULL },
		POPT_TABLEEND
	};
	struct poptOption fs_options[] = {
		{ "image-offset", 0, POPT_ARG_STRING, &o->image_offset,
		  OPT_IMAGE_OFFSET, "the filesystem starts at this byte of IMAGE "
		  "(K, M, G, T)", "BYTES" },
		{ "partition", 0, POPT_ARG_STRING, &o->partition, OPT_PARTITION,
		  "the filesystem is partition N of the disk image IMAGE (MBR or "
		  "GPT)", "N" },
		{ "undo", 0, POPT_ARG_STRING, &o->undo, OPT_UNDO,
		  "keep an e2undo file: 'e2undo FILE IMAGE' rolls the run back",
		  "FILE" },
		{ "no-sync", 0, POPT_ARG_NONE, NULL, OPT_NO_SYNC,
		  "skip the final fsync of the image", NULL },
		{ "no-journal", 0, POPT_ARG_NONE, NULL, OPT_NO_JOURNAL,
		  "write metadata in place, not through the filesystem's "
		  "journal", NULL },
		{ "atomic", 0, POPT_ARG_NONE, NULL, OPT_ATOMIC,
		  "replace DEST by a new inode swapped in with one journal "
		  "transaction: a crash leaves the old file or the new "
		  "(implied for -x/-R's replaced files)", NULL },
		{ "commit", 0, POPT_ARG_STRING, &o->commit, OPT_COMMIT,
		  "close a journal transaction after at most this long "
		  "(default 5)", "SECONDS" },
		POPT_TABLEEND
	};
	struct poptOption report_options[] = {
		{ "report", 'r', POPT_ARG_STRING, &o->report, OPT_REPORT,
		  "none, summary, pages, json, or entries (JSON file records "
		  "only; default none)", "KIND" },
		{ "report-file", 0, POPT_ARG_STRING, &o->report_file,
		  OPT_REPORT_FILE, "write the report to PATH", "PATH" },
		{ "progress", 0, POPT_ARG_NONE, NULL, OPT_PROGRESS,
		  "a progress bar on standard error when it is a terminal", NULL },
		{ "quiet", 'q', POPT_ARG_NONE, NULL, OPT_QUIET,
		  "fewer messages", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE,
		  "more messages", NULL },
		POPT_TABLEEND
	};
	struct poptOption help_options[] = {
		{ "help", '?', POPT_ARG_NONE, NULL, OPT_HELP,
		  "show this help and exit", NULL },
		{ NULL, 'h', POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, NULL,
		  OPT_HELP, NULL, NULL },
		{ "usage", 0, POPT_ARG_NONE, NULL, OPT_USAGE,
		  "show a brief usage message and exit", NULL },
		{ "version", 'V', POPT_ARG_NONE, NULL, OPT_VERSION,
		  "print the version and exit", NULL },
		POPT_TABLEEND
	};
	struct poptOption options[] = {
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, tree_options, 0,
		  "Trees, archives and listing:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, mode_options, 0,
		  "Write modes:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, file_options, 0,
		  "What the new file gets:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, data_options, 0,
		  "Data:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, fs_options, 0,
		  "Filesystem:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, report_options, 0,
		  "Reporting:", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, help_options, 0,
		  "Help options:", NULL },
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
			       "  or:  pcwrite -R [OPTION...] IMAGE DIR SOURCEDIR...\n"
			       "  or:  pcwrite --list [OPTION...] IMAGE DIR");
	while ((rc = poptGetNextOpt(p.con)) > 0) {
		seen |= BIT(rc);
		switch (rc) {
		case OPT_HELP:
			print_help(p.con);
			parse_free(&p);
			exit(0);
		case OPT_USAGE:
			poptPrintUsage(p.con, stdout, 0);
			parse_free(&p);
			exit(0);
		case OPT_VERSION:
			print_version();
			parse_free(&p);
			exit(0);
		case OPT_QUIET:
			ctl->verbose = -1;
			break;
		case OPT_VERBOSE:
			ctl->verbose = (ctl->verbose > 0 ? ctl->verbose : 0) + 1;
			break;
		case OPT_STRIP:
		case OPT_EXCLUDE:
		case OPT_EXCLUDE_FROM:
		case OPT_TRANSFORM: {
			/* In order: transforms apply as they were given. */
			char *why = cli_tarpath_option(ctl,
				rc == OPT_STRIP ? TARPATH_STRIP :
				rc == OPT_EXCLUDE ? TARPATH_EXCLUDE :
				rc == OPT_EXCLUDE_FROM ? TARPATH_EXCLUDE_FROM :
				TARPATH_TRANSFORM, o->tarpath);

			free(o->tarpath);
			o->tarpath = NULL;
			if (why)
				usage_error_msg(&p, why);
			break;
		}
		}
	}
	if (rc < -1) {
		cli_host_files_usage_stderr(argc, argv);
		fprintf(stderr, "pcwrite: %s: %s\n",
			cli_quote(poptBadOption(p.con, POPT_BADOPTION_NOALIAS)),
			poptStrerror(rc));
		fputs("Try 'pcwrite --help' for more information.\n", stderr);
		parse_free(&p);
		exit(EXIT_USAGE);
	}

	check_modes(&p, seen);
	take_flags(&p, seen);
	take_values(&p);
	take_args(&p);
	free_strings(o);
	poptFreeContext(p.con);
	return 0;
}
