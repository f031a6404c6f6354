/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * names.c: tar's path options on the source side of -x and -R:
 * --exclude, --transform and --strip-components, as GNU tar 1.34 applies
 * them when it extracts (its manual, "Modifying File and Member Names" and
 * "Excluding Some Files"; every rule checked against the tar on the test
 * machine, tests/tarpath.bats).  The regular expressions are POSIX's
 * (regcomp/regexec), the wildcards fnmatch's: nothing here matches by hand.
 *
 * An entry's name, as tar sees it, is the name the archive holds ("./a/b",
 * "/abs/x"; -R names a tree's entries as `tar -C DIR -c .` does) without
 * its trailing slashes.  Then:
 *
 * 1. --exclude: the name is left out when a pattern matches it, or matches
 *    it from just after any '/' (unanchored), or matches a leading part of
 *    it that ends before a '/' (FNM_LEADING_DIR: a directory excluded
 *    excludes what is under it); '*' and '?' match '/' too.  A pattern that
 *    ends in '/' therefore matches nothing: names have no trailing slash.
 * 2. --transform: each expression in order, on the name (scope r), a
 *    symlink's target (s) and a hard link's target (h); by default all
 *    three.
 * 3. --strip-components=N: N leading components off the name and off a
 *    hard link's target, not off a symlink's target.  A name left empty is
 *    skipped.
 *
 * Where tar 1.34 misbehaves, pcwrite does what its manual says instead
 * (the man page, BUGS): an expression with a match number (s/a/b/2) copies
 * the text before the skipped matches twice in tar 1.34; a global
 * expression that matches the empty string loops forever there, and here
 * replaces each empty match once and moves one character on, as sed does.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "names.h"

#define PCW_MAGIC_NAMES	0x7063776e	/* "pcwn" */

/* The scope of an expression: what it transforms (tar's XFORM_*). */
#define SCOPE_NAME	0x1	/* r: entries' names */
#define SCOPE_HARDLINK	0x2	/* h: hard links' targets */
#define SCOPE_SYMLINK	0x4	/* s: symlinks' targets */
#define SCOPE_ALL	(SCOPE_NAME | SCOPE_HARDLINK | SCOPE_SYMLINK)

/* GNU's case conversions in a replacement: \U \L \u \l \E. */
enum case_op { CASE_NONE, CASE_UPPER, CASE_LOWER, CASE_UPPER1, CASE_LOWER1 };

/* One piece of a replacement. */
struct seg {
	enum { SEG_TEXT, SEG_REF, SEG_CASE } kind;
	char		*text;		/* SEG_TEXT */
	size_t		len;
	size_t		ref;		/* SEG_REF: \0 (&) to \N */
	enum case_op	op;		/* SEG_CASE; \E is CASE_NONE */
};

struct xform {
	regex_t		re;
	bool		global;		/* g */
	unsigned long	nth;		/* N: from the Nth match; 0: the first */
	unsigned	scope;		/* SCOPE_* */
	struct seg	*segs;
	size_t		nsegs;
};

struct pcw_names {
	int		magic;
	char		**excl;
	size_t		nexcl;
	struct xform	*xf;
	size_t		nxf;
	unsigned	scope;		/* flags=: the next expressions' scope */
	unsigned	strip;
	char		*msg;
};

/* A growing string. */
struct buf {
	char		*p;
	size_t		len, cap;
	bool		oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Why the last expression was refused. */
static void set_msg(struct pcw_names *n, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(n->msg);
	n->msg = m;
}

#define MSG_SYNTAX	"not s/REGEX/REPLACEMENT/FLAGS"

const char *pcw_names_message(const struct pcw_names *n)
{
	return n ? n->msg : NULL;
}

errcode_t pcw_names_new(struct pcw_names **ret)
{
	struct pcw_names *n = calloc(1, sizeof(*n));

	if (!n)
		return ENOMEM;
	n->magic = PCW_MAGIC_NAMES;
	n->scope = SCOPE_ALL;
	*ret = n;
	return 0;
}

static void xform_free(struct xform *x)
{
	size_t k;

	regfree(&x->re);
	for (k = 0; k < x->nsegs; k++)
		free(x->segs[k].text);
	free(x->segs);
}

void pcw_names_free(struct pcw_names *n)
{
	size_t k;

	if (!n || n->magic != PCW_MAGIC_NAMES)
		return;
	for (k = 0; k < n->nexcl; k++)
		free(n->excl[k]);
	for (k = 0; k < n->nxf; k++)
		xform_free(&n->xf[k]);
	free(n->excl);
	free(n->xf);
	free(n->msg);
	n->magic = 0;
	free(n);
}

errcode_t pcw_names_add_exclude(struct pcw_names *n, const char *pattern)
{
	char **e, *p;

	if (!n || n->magic != PCW_MAGIC_NAMES)
		return PCW_ET_MAGIC_NAMES;
	p = strdup(pattern);
	e = realloc(n->excl, (n->nexcl + 1) * sizeof(*e));
	if (!p || !e) {
		free(p);
		if (e)
			n->excl = e;
		return ENOMEM;
	}
	n->excl = e;
	n->excl[n->nexcl++] = p;
	return 0;
}

errcode_t pcw_names_set_strip(struct pcw_names *n, unsigned components)
{
	if (!n || n->magic != PCW_MAGIC_NAMES)
		return PCW_ET_MAGIC_NAMES;
	n->strip = components;
	return 0;
}

/* ---- --transform: parsing ----------------------------------------------- */

static int scope_flag(unsigned *scope, char c)
{
	switch (c) {
	case 'r': *scope |= SCOPE_NAME; break;
	case 'R': *scope &= ~SCOPE_NAME; break;
	case 'h': *scope |= SCOPE_HARDLINK; break;
	case 'H': *scope &= ~SCOPE_HARDLINK; break;
	case 's': *scope |= SCOPE_SYMLINK; break;
	case 'S': *scope &= ~SCOPE_SYMLINK; break;
	default: return -1;
	}
	return 0;
}

static errcode_t add_seg(struct xform *x, int kind, const char *text,
			 size_t len, size_t ref, enum case_op op)
{
	struct seg *s;

	if (kind == SEG_TEXT && !len)
		return 0;
	s = realloc(x->segs, (x->nsegs + 1) * sizeof(*s));
	if (!s)
		return ENOMEM;
	x->segs = s;
	s = &x->segs[x->nsegs];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->ref = ref;
	s->op = op;
	if (kind == SEG_TEXT) {
		s->text = malloc(len);
		if (!s->text)
			return ENOMEM;
		memcpy(s->text, text, len);
		s->len = len;
	}
	x->nsegs++;
	return 0;
}

/*
 * REPL (LEN bytes, between the delimiters) into X's segments: '&' is the
 * whole match, \1..\9 (any number of digits) a group, \L \U \l \u \E the
 * case conversions, \a \b \f \n \r \t \v those characters, \\ \& and
 * \DELIM themselves; any other \c is both characters, as in tar.
 */
static errcode_t parse_repl(struct pcw_names *n, struct xform *x,
			    const char *repl, size_t len, char delim)
{
	static const char ctl_in[] = "abfnrtv", ctl_out[] = "\a\b\f\n\r\t\v";
	const char *p = repl, *end = repl + len, *lit = repl;
	errcode_t err = 0;

	while (!err && p < end) {
		const char *c;

		if (*p == '&') {
			err = add_seg(x, SEG_TEXT, lit, p - lit, 0, 0);
			if (!err)
				err = add_seg(x, SEG_REF, NULL, 0, 0, 0);
			lit = ++p;
			continue;
		}
		if (*p != '\\' || p + 1 >= end) {
			p++;
			continue;
		}
		err = add_seg(x, SEG_TEXT, lit, p - lit, 0, 0);
		p++;
		if (err)
			break;
		if (*p >= '0' && *p <= '9') {
			size_t ref = 0;

			while (p < end && *p >= '0' && *p <= '9' && ref < 100000)
				ref = ref * 10 + (size_t)(*p++ - '0');
			if (ref > x->re.re_nsub) {
				set_msg(n, "back reference \\%zu out of range "
					"(the expression has %zu groups)",
					ref, x->re.re_nsub);
				return PCW_ET_BAD_TRANSFORM;
			}
			err = add_seg(x, SEG_REF, NULL, 0, ref, 0);
		} else if (*p && (c = strchr(ctl_in, *p))) {
			err = add_seg(x, SEG_TEXT, &ctl_out[c - ctl_in], 1, 0, 0);
			p++;
		} else if (*p == 'U' || *p == 'L' || *p == 'u' || *p == 'l' ||
			   *p == 'E') {
			enum case_op op = *p == 'U' ? CASE_UPPER :
					  *p == 'L' ? CASE_LOWER :
					  *p == 'u' ? CASE_UPPER1 :
					  *p == 'l' ? CASE_LOWER1 : CASE_NONE;

			err = add_seg(x, SEG_CASE, NULL, 0, 0, op);
			p++;
		} else if (*p == '\\' || *p == '&' || *p == delim) {
			err = add_seg(x, SEG_TEXT, p, 1, 0, 0);
			p++;
		} else {
			err = add_seg(x, SEG_TEXT, p - 1, 2, 0, 0);
			p++;
		}
		lit = p;
	}
	if (!err)
		err = add_seg(x, SEG_TEXT, lit, end - lit, 0, 0);
	return err;
}

/* Past the part that ends at DELIM (a backslash escapes the next byte). */
static const char *scan_part(const char *p, char delim)
{
	for (; *p && *p != delim; p++)
		if (*p == '\\' && p[1])
			p++;
	return p;
}

/*
 * One "flags=..." or "s/REGEX/REPL/FLAGS" at *EXPR; *EXPR moves past it
 * and its ';'.
 */
static errcode_t parse_one(struct pcw_names *n, const char **expr)
{
	const char *e = *expr, *re_end, *repl_end, *p;
	struct xform x;
	char delim, *re;
	int cflags = 0, rc;
	errcode_t err;

	if (!strncmp(e, "flags=", 6)) {
		n->scope = 0;
		for (p = e + 6; *p && *p != ';'; p++)
			if (scope_flag(&n->scope, *p)) {
				set_msg(n, "unknown flag '%c' after flags=",
					*p);
				return PCW_ET_BAD_TRANSFORM;
			}
		*expr = *p ? p + 1 : p;
		return 0;
	}
	if (e[0] != 's' || !e[1]) {
		set_msg(n, MSG_SYNTAX);
		return PCW_ET_BAD_TRANSFORM;
	}
	delim = e[1];
	re_end = scan_part(e + 2, delim);
	if (*re_end != delim) {
		set_msg(n, MSG_SYNTAX);
		return PCW_ET_BAD_TRANSFORM;
	}
	repl_end = scan_part(re_end + 1, delim);
	if (*repl_end != delim) {
		set_msg(n, MSG_SYNTAX);
		return PCW_ET_BAD_TRANSFORM;
	}
	memset(&x, 0, sizeof(x));
	x.scope = n->scope;
	for (p = repl_end + 1; *p && *p != ';'; p++) {
		char *num_end;

		switch (*p) {
		case 'g':
			x.global = true;
			break;
		case 'i':
			cflags |= REG_ICASE;
			break;
		case 'x':
			cflags |= REG_EXTENDED;
			break;
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			/* strtoul's base 0, as tar reads it */
			x.nth = strtoul(p, &num_end, 0);
			p = num_end - 1;
			break;
		default:
			if (scope_flag(&x.scope, *p)) {
				set_msg(n, "unknown flag '%c'",
					*p);
				return PCW_ET_BAD_TRANSFORM;
			}
		}
	}
	re = strndup(e + 2, re_end - (e + 2));
	if (!re)
		return ENOMEM;
	rc = regcomp(&x.re, re, cflags);
	if (rc) {
		char why[256];

		regerror(rc, &x.re, why, sizeof(why));
		set_msg(n, "%s", why);
		free(re);
		return PCW_ET_BAD_TRANSFORM;
	}
	/* An anchored expression replaces once, as in tar. */
	if (re[0] == '^' || (re[0] && re[strlen(re) - 1] == '$'))
		x.global = false;
	free(re);
	err = parse_repl(n, &x, re_end + 1, repl_end - (re_end + 1), delim);
	if (!err) {
		struct xform *xf = realloc(n->xf, (n->nxf + 1) * sizeof(*xf));

		if (!xf) {
			err = ENOMEM;
		} else {
			n->xf = xf;
			n->xf[n->nxf++] = x;
		}
	}
	if (err) {
		xform_free(&x);
		return err;
	}
	*expr = *p ? p + 1 : p;
	return 0;
}

errcode_t pcw_names_add_transform(struct pcw_names *n, const char *expr)
{
	size_t had;
	unsigned scope;
	errcode_t err = 0;

	if (!n || n->magic != PCW_MAGIC_NAMES)
		return PCW_ET_MAGIC_NAMES;
	had = n->nxf;
	scope = n->scope;
	while (!err && *expr)
		err = parse_one(n, &expr);
	if (err) {
		/* All of EXPR or none of it. */
		while (n->nxf > had)
			xform_free(&n->xf[--n->nxf]);
		n->scope = scope;
	}
	return err;
}

/* ---- --transform: applying -------------------------------------------- */

/* The state of \U \L \u \l \E while one expression replaces in one name. */
struct case_state {
	enum case_op	cur, saved;
};

static void put_case(struct buf *b, struct case_state *cs, const char *s,
		     size_t n)
{
	size_t k;

	if (cs->cur == CASE_NONE) {
		put(b, s, n);
		return;
	}
	for (k = 0; k < n; k++) {
		char c = s[k];

		if (cs->cur == CASE_UPPER || (cs->cur == CASE_UPPER1 && !k))
			c = (char)toupper((unsigned char)c);
		else if (cs->cur == CASE_LOWER || (cs->cur == CASE_LOWER1 && !k))
			c = (char)tolower((unsigned char)c);
		put(b, &c, 1);
	}
	/* \u and \l change one piece of text (an empty group's too), then
	   the \U or \L before them goes on. */
	if (cs->cur == CASE_UPPER1 || cs->cur == CASE_LOWER1) {
		cs->cur = cs->saved;
		cs->saved = CASE_NONE;
	}
}

static void replace(struct buf *b, const struct xform *x,
		    struct case_state *cs, const char *in,
		    const regmatch_t *m)
{
	size_t k;

	for (k = 0; k < x->nsegs; k++) {
		const struct seg *s = &x->segs[k];

		switch (s->kind) {
		case SEG_TEXT:
			put_case(b, cs, s->text, s->len);
			break;
		case SEG_REF:
			if (m[s->ref].rm_so >= 0 && m[s->ref].rm_eo >= 0)
				put_case(b, cs, in + m[s->ref].rm_so,
					 m[s->ref].rm_eo - m[s->ref].rm_so);
			break;
		case SEG_CASE:
			/*
			 * \u and \l keep the \U or \L they interrupt (tar's
			 * rule: what is kept is replaced unless it is itself
			 * a \u or \l, so "\u\u" changes two pieces).
			 */
			if ((s->op == CASE_UPPER1 || s->op == CASE_LOWER1) &&
			    cs->saved != CASE_UPPER1 && cs->saved != CASE_LOWER1)
				cs->saved = cs->cur;
			cs->cur = s->op;
			break;
		}
	}
}

/*
 * X on IN into B.  Matches are searched from the start of the rest of the
 * name each time (no REG_NOTBOL, as tar: an expression that begins with
 * '^' replaces once anyway).  A match of the empty string is replaced as
 * sed replaces it: not right after the previous match, and once at the
 * end of the name; then the search moves one character on (tar 1.34
 * loops forever on a global one).
 */
static errcode_t apply_one(const struct xform *x, const char *in,
			   struct buf *b)
{
	regmatch_t m[10], *mp = m;
	size_t nm = x->re.re_nsub + 1, len = strlen(in), pos = 0;
	size_t prev_end = SIZE_MAX;
	unsigned long count = 0;
	struct case_state cs = { CASE_NONE, CASE_NONE };

	if (nm > 10) {
		mp = calloc(nm, sizeof(*mp));
		if (!mp)
			return ENOMEM;
	}
	b->len = 0;
	put(b, "", 0);
	while (pos <= len) {
		const char *at = in + pos;
		size_t so, eo;
		bool skip;

		if (regexec(&x->re, at, nm, mp, 0)) {
			put(b, at, len - pos);
			break;
		}
		so = mp[0].rm_so;
		eo = mp[0].rm_eo;
		if (so == eo && pos + so == prev_end) {
			/* Empty, right after the previous match: not one. */
			if (pos < len)
				put(b, at, 1);
			pos++;
			continue;
		}
		put(b, at, so);
		count++;
		skip = x->nth && count < x->nth;
		if (skip)
			put(b, at + so, eo - so);
		else
			replace(b, x, &cs, at, mp);
		prev_end = pos + eo;
		pos += eo;
		if (so == eo) {
			/* An empty match: on by one character. */
			if (pos < len)
				put(b, in + pos, 1);
			pos++;
		}
		if (!skip && !x->global) {
			if (pos < len)
				put(b, in + pos, len - pos);
			break;
		}
	}
	if (mp != m)
		free(mp);
	return b->oom ? ENOMEM : 0;
}

/* Every expression whose scope has SCOPE, in order, on *S (replaced). */
static errcode_t transform(const struct pcw_names *n, unsigned scope, char **s)
{
	struct buf b = { 0 };
	size_t k;

	for (k = 0; k < n->nxf; k++) {
		errcode_t err;

		if (!(n->xf[k].scope & scope))
			continue;
		err = apply_one(&n->xf[k], *s, &b);
		if (err) {
			free(b.p);
			return err;
		}
		free(*s);
		*s = b.p;
		b.p = NULL;
		b.cap = b.len = 0;
	}
	return 0;
}

/* ---- names ------------------------------------------------------------ */

/* S without its trailing slashes ("/" stays "/"), a new string. */
static char *tar_name(const char *s)
{
	size_t len = strlen(s);

	while (len > 1 && s[len - 1] == '/')
		len--;
	return strndup(s, len);
}

/*
 * Where S is left with N components stripped off: leading slashes are not
 * a component, a run of slashes is one separator.  NULL: fewer than N+1.
 */
static const char *strip(const char *s, unsigned n)
{
	while (*s == '/')
		s++;
	while (n) {
		s = strchr(s, '/');
		if (!s)
			return NULL;
		while (*s == '/')
			s++;
		n--;
	}
	return s;
}

static bool has_dotdot(const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "/");

		if (len == 2 && s[0] == '.' && s[1] == '.')
			return true;
		s += len;
		s += strspn(s, "/");
	}
	return false;
}

bool pcw_names_excluded(const struct pcw_names *n, const char *name)
{
	char *s;
	size_t k;
	bool hit = false;

	if (!n || !n->nexcl)
		return false;
	s = tar_name(name);
	if (!s)
		return false;
	for (k = 0; !hit && k < n->nexcl; k++) {
		const char *p;

		/* At the start, then after each '/' (unanchored). */
		hit = !fnmatch(n->excl[k], s, FNM_LEADING_DIR);
		for (p = s; !hit && *p; p++)
			if (p[0] == '/' && p[1] != '/')
				hit = !fnmatch(n->excl[k], p + 1, FNM_LEADING_DIR);
	}
	free(s);
	return hit;
}

/* *S transformed in SCOPE then, with STRIP, stripped (in place). */
static errcode_t map(const struct pcw_names *n, unsigned scope, bool do_strip,
		     char **s)
{
	errcode_t err = transform(n, scope, s);
	const char *rest;
	char *copy;

	if (err || !do_strip || !n->strip)
		return err;
	rest = strip(*s, n->strip);
	copy = strdup(rest ? rest : "");
	if (!copy)
		return ENOMEM;
	free(*s);
	*s = copy;
	return 0;
}

errcode_t pcw_names_entry(const struct pcw_names *n, enum pcw_ftype type,
			  const char *path, const char *link, char **xpath,
			  char **xlink, bool *skip)
{
	errcode_t err;

	*xpath = *xlink = NULL;
	*skip = false;
	if (!n || n->magic != PCW_MAGIC_NAMES)
		return PCW_ET_MAGIC_NAMES;
	if (has_dotdot(path)) {
		*xpath = strdup(path);
	} else {
		*xpath = tar_name(path);
		if (*xpath) {
			err = map(n, SCOPE_NAME, true, xpath);
			if (err)
				goto fail;
			/* Stripped to nothing: tar skips the member. */
			*skip = n->strip && !**xpath;
		}
	}
	if (!*xpath)
		return ENOMEM;
	if (link) {
		*xlink = strdup(link);
		if (!*xlink) {
			err = ENOMEM;
			goto fail;
		}
		if (type == PCW_FT_HARDLINK)
			err = map(n, SCOPE_HARDLINK, true, xlink);
		else if (type == PCW_FT_SYMLINK)
			err = map(n, SCOPE_SYMLINK, false, xlink);
		if (err)
			goto fail;
	}
	return 0;
fail:
	free(*xpath);
	free(*xlink);
	*xpath = *xlink = NULL;
	return err;
}

/* ---- an entry's path below DIR ---- */

errcode_t pcw_path_grow(char **buf, size_t *cap, size_t need)
{
	return pcw_grow(buf, cap, need, 1, 256);
}

/*
 * PATH below DIR, cleaned: no leading '/', no "." or empty components, no
 * trailing '/'.  A ".." component is refused.  "" is DIR itself.
 */
errcode_t pcw_path_clean(const char *path, char **out, size_t *cap)
{
	const char *p = path;
	size_t n = 0;
	errcode_t err;

	err = pcw_path_grow(out, cap, strlen(path) + 1);
	if (err)
		return err;
	while (*p) {
		const char *c;
		size_t len;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		len = p - c;
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return PCW_ET_DOTDOT;
		if (len > PCW_NAME_MAX)
			return PCW_ET_NAME_TOO_LONG;
		if (n)
			(*out)[n++] = '/';
		memcpy(*out + n, c, len);
		n += len;
	}
	(*out)[n] = 0;
	return 0;
}
