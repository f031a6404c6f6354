/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * owners.c: who owns what pcwrite makes, by number or by name, names being
 * the image's (lib/names.c: its /etc/passwd and /etc/group), never the
 * host's.
 *
 *   -u/-g ID or NAME	a number (or +NUMBER) is an id; anything else a name,
 *			resolved once, before the first write, in the image as
 *			it is: a name found nowhere is a usage error (exit 2)
 *   --owner-map=FILE,	GNU tar's map files: "OLD NEW[:NEWID]" a line.  OLD
 *   --group-map=FILE	is the source's name for the owner (the archive's
 *			uname, or for -R the host's name of the file's uid)
 *			or +ID; NEW a name or +ID, NEWID an id.  A NEW name
 *			without NEWID is resolved in the image when an entry
 *			needs it (what this run wrote counts); not found, the
 *			entry is refused.  The first line that matches wins.
 *   --names=archive	the source's names resolved in the image, falling back
 *			to the source's numbers when the image lacks a name
 *
 * For each entry: a map line that matches, else -u/-g, else (with
 * --names=archive) the source's name, else the source's number, as tar's
 * --owner applies only to what its --owner-map does not list.
 *
 * The file format is tar's (tests/names.bats checks it against tar 1.34):
 * empty lines and comments ('#' to the end of the line, outside quotes) are
 * ignored; a line has two words split by blanks; a word may be quoted
 * ("..." where \" and \\ are escapes, or '...' where nothing is) and an
 * unquoted backslash escapes the next character; NEW is split at its first
 * ':'.  Where tar takes "NAME:" as id 0, pcwrite refuses it.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

struct map_line {
	unsigned	line;
	char		*old_name;	/* NULL: by id */
	uint32_t	old_id;
	char		*new_name;	/* to resolve in the image, or NULL */
	uint32_t	new_id;		/* when new_name is NULL */
};

struct cli_idmap {
	char		*path;
	enum pcw_id_kind kind;
	struct map_line	*lines;
	size_t		n;
};

void cli_idmap_free(struct cli_idmap *m)
{
	size_t k;

	if (!m)
		return;
	for (k = 0; k < m->n; k++) {
		free(m->lines[k].old_name);
		free(m->lines[k].new_name);
	}
	free(m->lines);
	free(m->path);
	free(m);
}

/* "123" or "+123", 0 to 4294967294; -1 otherwise. */
int cli_parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long long v;

	if (*s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > 0xfffffffeULL)
		return -1;
	*id = v;
	return 0;
}

/*
 * The words of LINE, tar's way (see the top), into WORDS (at most MAX);
 * their count, or -1 for an unfinished quote.  LINE is rewritten in place.
 */
static int split_words(char *line, char **words, int max)
{
	char *in = line, *out = line;
	int n = 0;

	for (;;) {
		char quote = 0;

		while (*in == ' ' || *in == '\t' || *in == '\r')
			in++;
		if (!*in || *in == '#')
			return n;
		if (n == max)
			return max + 1;
		words[n++] = out;
		for (; *in; in++) {
			if (quote == '\'') {
				if (*in == '\'')
					quote = 0;
				else
					*out++ = *in;
			} else if (quote == '"') {
				if (*in == '"')
					quote = 0;
				else if (*in == '\\' && (in[1] == '"' ||
							 in[1] == '\\'))
					*out++ = *++in;
				else
					*out++ = *in;
			} else if (*in == '"' || *in == '\'') {
				quote = *in;
			} else if (*in == '\\' && in[1]) {
				*out++ = *++in;
			} else if (*in == ' ' || *in == '\t' || *in == '\r' ||
				   *in == '#') {
				break;
			} else {
				*out++ = *in;
			}
		}
		if (quote)
			return -1;
		if (*in != ' ' && *in != '\t' && *in != '\r') {
			*out = '\0';	/* the end, or a comment */
			return n;
		}
		/* out never passes in: quotes and escapes only shorten */
		in++;
		*out++ = '\0';
	}
}

static int map_error(char *msg, size_t len, const char *path,
		     enum pcw_id_kind kind, unsigned line, const char *what,
		     const char *arg)
{
	snprintf(msg, len, "--%s-map %s: line %u: %s%s%s",
		 kind == PCW_ID_USER ? "owner" : "group", cli_quote_always(path),
		 line, what, arg ? " " : "", arg ? cli_quote_always(arg) : "");
	return EXIT_USAGE;
}

/* One line's two words into L; 0, EXIT_USAGE with a message, -1: ENOMEM. */
static int parse_line(char **w, struct map_line *l, const char *path,
		      enum pcw_id_kind kind, char *msg, size_t len)
{
	const char *bad_id = kind == PCW_ID_USER ? "invalid UID" : "invalid GID";
	char *colon = strchr(w[1], ':'), *id = colon ? colon + 1 : w[1];
	unsigned n = l->line;

	if (w[0][0] == '+' && cli_parse_id(w[0], &l->old_id))
		return map_error(msg, len, path, kind, n, bad_id, w[0]);
	if (!w[0][0] || (colon ? false : !w[1][0]))
		return map_error(msg, len, path, kind, n, "malformed line", NULL);
	if (w[0][0] != '+' && !(l->old_name = strdup(w[0])))
		return -1;
	/* NEW:ID, or +ID: the id given, no name looked up */
	if (colon || w[1][0] == '+') {
		if (colon)
			*colon = '\0';
		if (cli_parse_id(id, &l->new_id))
			return map_error(msg, len, path, kind, n, bad_id, id);
		return 0;
	}
	l->new_name = strdup(w[1]);
	return l->new_name ? 0 : -1;
}

int cli_idmap_load(const char *path, enum pcw_id_kind kind,
		   struct cli_idmap **ret, char *msg, size_t len)
{
	struct cli_idmap *m;
	char *line = NULL;
	size_t cap = 0, lcap = 0;
	unsigned lineno = 0;
	int rc = 0;
	FILE *f;

	*ret = NULL;
	f = fopen(path, "re");
	if (!f) {
		snprintf(msg, len, "cannot open %s map '%s': %s",
			 kind == PCW_ID_USER ? "owner" : "group", path,
			 strerror(errno));
		return 1;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)))
		goto nomem;
	m->kind = kind;
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *w[3];
		int n;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		n = split_words(line, w, 2);
		if (n == 0)
			continue;
		if (n != 2) {
			rc = map_error(msg, len, path, kind, lineno, n < 0 ?
				       "unterminated quote" : "malformed line",
				       NULL);
			goto fail;
		}
		if (m->n == lcap) {
			size_t c = lcap ? lcap * 2 : 16;
			struct map_line *l = realloc(m->lines, c * sizeof(*l));

			if (!l)
				goto nomem;
			m->lines = l;
			lcap = c;
		}
		memset(&m->lines[m->n], 0, sizeof(m->lines[0]));
		m->lines[m->n].line = lineno;
		rc = parse_line(w, &m->lines[m->n], path, kind, msg, len);
		m->n++;
		if (rc < 0)
			goto nomem;
		if (rc)
			goto fail;
	}
	if (ferror(f)) {
		snprintf(msg, len, "cannot read %s map '%s': %s",
			 kind == PCW_ID_USER ? "owner" : "group", path,
			 strerror(errno ? errno : EIO));
		rc = 1;
		goto fail;
	}
	free(line);
	fclose(f);
	*ret = m;
	return 0;
nomem:
	snprintf(msg, len, "%s", strerror(ENOMEM));
	rc = 1;
fail:
	free(line);
	fclose(f);
	cli_idmap_free(m);
	return rc;
}

/* ---- the owners of a tree's entries ------------------------------------- */

struct cli_owners {
	const struct cli_control *ctl;
	pcw_fs		*pfs;
	uint32_t	uid, gid;	/* -u/-g, resolved */
	bool		host_names;	/* -R: the source's names are the host's */
	/* the host's name for the last id asked (-R) */
	uint32_t	host_id[2];
	char		*host_name[2];
	bool		host_valid[2];
	char		why[600];	/* what the last refusal was about */
};

/* Does anything decide owners entry by entry?  Else the library's flags do. */
bool cli_owners_per_entry(const struct cli_control *ctl)
{
	return ctl->owner_map || ctl->group_map || ctl->names_archive;
}

int cli_owner_names(const struct cli_control *ctl, pcw_fs *pfs,
		    uint32_t *uid, uint32_t *gid, errcode_t *errp)
{
	const char *names[2] = { ctl->owner_name, ctl->group_name };
	uint32_t *ids[2] = { uid, gid };
	int k;

	*uid = ctl->uid;
	*gid = ctl->gid;
	for (k = 0; k < 2; k++) {
		errcode_t err;

		if (!names[k])
			continue;
		err = pcw_id_lookup(pfs, k ? PCW_ID_GROUP : PCW_ID_USER,
				    names[k], ids[k]);
		if (!err)
			continue;
		*errp = err;
		cli_progress_clear();
		fprintf(stderr, "pcwrite: %s: %s %s: %s\n",
			cli_quote(ctl->image), k ? "-g" : "-u",
			cli_quote_always(names[k]), error_message(err));
		return err == PCW_ET_NO_SUCH_USER ||
		       err == PCW_ET_NO_SUCH_GROUP ? EXIT_USAGE : 1;
	}
	return 0;
}

errcode_t cli_owners_open(const struct cli_control *ctl, pcw_fs *pfs,
			  uint32_t uid, uint32_t gid, struct cli_owners **ret)
{
	struct cli_owners *o = calloc(1, sizeof(*o));

	*ret = NULL;
	if (!o)
		return ENOMEM;
	o->ctl = ctl;
	o->pfs = pfs;
	o->uid = uid;
	o->gid = gid;
	o->host_names = ctl->run == MODE_TREE;
	*ret = o;
	return 0;
}

void cli_owners_close(struct cli_owners *o)
{
	if (!o)
		return;
	free(o->host_name[0]);
	free(o->host_name[1]);
	free(o);
}

const char *cli_owners_why(const struct cli_owners *o)
{
	return o && o->why[0] ? o->why : NULL;
}

/* The host's name for ID (-R: the source is the host), or NULL. */
static const char *host_name(struct cli_owners *o, enum pcw_id_kind kind,
			     uint32_t id)
{
	char buf[4096];
	const char *name = NULL;

	if (o->host_valid[kind] && o->host_id[kind] == id)
		return o->host_name[kind];
	if (kind == PCW_ID_USER) {
		struct passwd pw, *p = NULL;

		if (!getpwuid_r(id, &pw, buf, sizeof(buf), &p) && p)
			name = p->pw_name;
	} else {
		struct group gr, *g = NULL;

		if (!getgrgid_r(id, &gr, buf, sizeof(buf), &g) && g)
			name = g->gr_name;
	}
	free(o->host_name[kind]);
	o->host_name[kind] = name ? strdup(name) : NULL;
	o->host_id[kind] = id;
	o->host_valid[kind] = true;
	return o->host_name[kind];
}

/* One id of an entry: *id on entry is the source's number. */
static errcode_t one_id(struct cli_owners *o, enum pcw_id_kind kind,
			const char *src_name, uint32_t *id)
{
	const struct cli_control *ctl = o->ctl;
	const struct cli_idmap *map = kind == PCW_ID_USER ? ctl->owner_map
							  : ctl->group_map;
	bool forced = kind == PCW_ID_USER ? ctl->have_uid : ctl->have_gid;
	size_t k;
	errcode_t err;

	if (!src_name && o->host_names &&
	    (ctl->names_archive || (map && map->n)))
		src_name = host_name(o, kind, *id);
	if (src_name && !*src_name)
		src_name = NULL;
	for (k = 0; map && k < map->n; k++) {
		const struct map_line *l = &map->lines[k];

		if (l->old_name ? !src_name || strcmp(l->old_name, src_name)
				: l->old_id != *id)
			continue;
		if (!l->new_name) {
			*id = l->new_id;
			return 0;
		}
		err = pcw_id_lookup(o->pfs, kind, l->new_name, id);
		if (err)
			snprintf(o->why, sizeof(o->why),
				 " (%s %s, --%s-map %s line %u)",
				 kind == PCW_ID_USER ? "user" : "group",
				 cli_quote_always(l->new_name),
				 kind == PCW_ID_USER ? "owner" : "group",
				 cli_quote_always(map->path), l->line);
		return err;
	}
	if (forced) {
		*id = kind == PCW_ID_USER ? o->uid : o->gid;
		return 0;
	}
	if (ctl->names_archive && src_name) {
		uint32_t v;

		err = pcw_id_lookup(o->pfs, kind, src_name, &v);
		if (!err)
			*id = v;
		else if (err == PCW_ET_NO_SUCH_USER ||
			 err == PCW_ET_NO_SUCH_GROUP)
			err = 0;	/* not in the image: the number */
		else
			snprintf(o->why, sizeof(o->why), " (%s %s)",
				 kind == PCW_ID_USER ? "user" : "group",
				 cli_quote_always(src_name));
		return err;
	}
	return 0;
}

errcode_t cli_owners_entry(struct cli_owners *o, struct pcw_entry *e)
{
	errcode_t err;

	o->why[0] = '\0';
	err = one_id(o, PCW_ID_USER, e->uname, &e->uid);
	if (!err)
		err = one_id(o, PCW_ID_GROUP, e->gname, &e->gid);
	return err;
}
