/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mode.c: -m MODE as chmod(1), install(1) and tar --mode take it.
 *
 *	MODE	::= OCTAL | CLAUSE [, CLAUSE]...
 *	CLAUSE	::= [ugoa]... ACTION...
 *	ACTION	::= OP [rwxXst]... | OP [ugo] | OP OCTAL	(OCTAL: no WHO)
 *	OP	::= + | - | =
 *
 * A MODE is compiled once into a list of actions and applied to a base
 * mode: the SOURCE's (0644 for standard input) for a single file, each
 * entry's own with -x and -R (as tar --mode applies it to every member).
 * What each piece means is what chmod(1) documents, GNU's extensions
 * included (an octal number after an operator, "=" alone clearing):
 *
 *   - WHO selects the bits an action may change: u the owner's and setuid,
 *     g the group's and setgid, o the others' and sticky, a (or none) all.
 *     No umask applies when WHO is left out (as install and tar --mode):
 *     the image's modes must not depend on the host's umask.
 *   - r, w, x are the read, write and execute bits of WHO; s setuid and
 *     setgid; t sticky; X execute, but only for a directory or when some
 *     execute bit is already set (in the mode as the actions before this
 *     one left it, as chmod does); u, g, o copy that class's bits of the
 *     mode as it is so far.
 *   - + adds, - removes, = sets WHO's bits to exactly these.
 *   - A directory keeps its setuid and setgid bits unless the mode names
 *     them: a plain number of fewer than five digits changes them only to
 *     set them (chmod 755 keeps a setgid directory setgid; 00755, =755 or
 *     -6000 clear it), a symbolic action only with its letter s ("a=rwx"
 *     and "=" keep them, "g-s" clears).
 *
 * Nothing here is libc's: glibc has no symbolic mode parser.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

#define M_SUID	04000
#define M_SGID	02000
#define M_SVTX	01000
#define M_ALL	07777
#define M_R	0444
#define M_W	0222
#define M_X	0111

enum what {
	W_BITS,		/* the bits in value */
	W_X_IF_ANY,	/* X: value's execute bits, if any is set or a dir */
	W_COPY,		/* u, g, o: the bits of that class (value: its mask) */
};

struct action {
	char		op;		/* '+', '-', '=' */
	enum what	what;
	unsigned	value;
	unsigned	affected;	/* WHO's bits, or M_ALL for none */
	unsigned	mentioned;	/* bits a directory may have changed */
};

struct cli_mode {
	size_t		n;
	struct action	a[];
};

/* WHO letters to the bits they select. */
static unsigned who_bits(char c)
{
	switch (c) {
	case 'u': return M_SUID | 0700;
	case 'g': return M_SGID | 0070;
	case 'o': return M_SVTX | 0007;
	case 'a': return M_ALL;
	}
	return 0;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* An octal number from *P, at most 07777; its digit count in *digits. */
static int octal(const char **p, unsigned *value, unsigned *digits)
{
	unsigned v = 0, n = 0;

	for (; is_octal(**p); (*p)++, n++) {
		v = v * 8 + (**p - '0');
		if (v > M_ALL)
			return -1;
	}
	*value = v;
	*digits = n;
	return n ? 0 : -1;
}

void cli_mode_free(struct cli_mode *m)
{
	free(m);
}

/* 0, or -1 with errno EINVAL (not a mode) or ENOMEM. */
int cli_mode_parse(const char *s, struct cli_mode **ret)
{
	struct cli_mode *m;
	const char *p = s;
	unsigned v, digits;
	size_t cap;

	*ret = NULL;
	/* At most one action a character, and one for a plain number. */
	cap = strlen(s) + 1;
	m = calloc(1, sizeof(*m) + cap * sizeof(m->a[0]));
	if (!m)
		return -1;
	if (is_octal(*p)) {
		/* A plain number: the whole mode ("755", "4755", "00755"). */
		if (octal(&p, &v, &digits) || *p)
			goto bad;
		m->a[0] = (struct action){ .op = '=', .what = W_BITS,
			.value = v, .affected = M_ALL,
			.mentioned = digits >= 5 ? M_ALL :
				     (M_ALL & ~(M_SUID | M_SGID)) |
				     (v & (M_SUID | M_SGID)) };
		m->n = 1;
		*ret = m;
		return 0;
	}
	for (;;) {
		unsigned who = 0;

		for (; who_bits(*p); p++)
			who |= who_bits(*p);
		if (*p != '+' && *p != '-' && *p != '=')
			goto bad;	/* a clause needs an operator */
		while (*p == '+' || *p == '-' || *p == '=') {
			struct action *a = &m->a[m->n];
			char op = *p++;

			a->op = op;
			a->affected = who ? who : M_ALL;
			if (!who && is_octal(*p)) {
				/* GNU: "=644", "+644", "-022" */
				if (octal(&p, &v, &digits))
					goto bad;
				a->what = W_BITS;
				a->value = v;
				a->mentioned = M_ALL;
				m->n++;
				if (*p && *p != ',')
					goto bad;
				break;
			}
			if (*p == 'u' || *p == 'g' || *p == 'o') {
				a->what = W_COPY;
				a->value = who_bits(*p++) & 0777;
				m->n++;
				continue;
			}
			a->what = W_BITS;
			for (; *p && strchr("rwxXst", *p); p++) {
				switch (*p) {
				case 'r': a->value |= M_R; break;
				case 'w': a->value |= M_W; break;
				case 'x': a->value |= M_X; break;
				case 'X': a->what = W_X_IF_ANY; break;
				case 's': a->value |= M_SUID | M_SGID; break;
				case 't': a->value |= M_SVTX; break;
				}
			}
			a->mentioned = a->value;
			m->n++;
		}
		if (*p == '\0')
			break;
		if (*p != ',' || *++p == '\0')
			goto bad;
	}
	*ret = m;
	return 0;
bad:
	free(m);
	errno = EINVAL;
	return -1;
}

/* The bits of CLASS (0700, 0070 or 0007) in MODE, in every class. */
static unsigned copy_class(unsigned mode, unsigned class)
{
	unsigned b = mode & class, out = 0;

	if (b & M_R)
		out |= M_R;
	if (b & M_W)
		out |= M_W;
	if (b & M_X)
		out |= M_X;
	return out;
}

unsigned cli_mode_apply(const struct cli_mode *m, unsigned base, bool is_dir)
{
	unsigned mode = base & M_ALL;
	size_t k;

	for (k = 0; k < m->n; k++) {
		const struct action *a = &m->a[k];
		/* a directory's setuid and setgid stay unless mentioned */
		unsigned keep = is_dir ? (M_SUID | M_SGID) & ~a->mentioned : 0;
		unsigned value = a->value;

		if (a->what == W_COPY)
			value = copy_class(mode, a->value);
		else if (a->what == W_X_IF_ANY &&
			 ((mode & M_X) || is_dir))
			value |= M_X;
		value &= a->affected & ~keep;
		switch (a->op) {
		case '+':
			mode |= value;
			break;
		case '-':
			mode &= ~value;
			break;
		case '=':
			mode = (mode & ((M_ALL & ~a->affected) | keep)) | value;
			break;
		}
	}
	return mode;
}
