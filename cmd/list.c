/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list.c: pcwrite --list IMAGE DIR, the names in DIR inside the image, one
 * a line in byte order, a directory's with a '/' after it.  For the shell
 * completions (completions/), which complete DEST and DIR inside the image
 * named earlier on the line.  Read-only (lib/list.c): no lock, no refusal
 * a plain read would survive.
 *
 * A name holding a newline cannot be one line: it is left out (a shell
 * could not complete it either).  Every other byte is written as it is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

struct names {
	char	**v;
	size_t	n, size;
};

static errcode_t add_name(void *arg, const char *name, size_t len,
			  enum pcw_ftype type)
{
	struct names *ns = arg;
	char *s;

	if (memchr(name, '\n', len))
		return 0;
	if (ns->n == ns->size) {
		size_t size = ns->size ? 2 * ns->size : 256;
		char **v = realloc(ns->v, size * sizeof(*v));

		if (!v)
			return ENOMEM;
		ns->v = v;
		ns->size = size;
	}
	s = malloc(len + 2);
	if (!s)
		return ENOMEM;
	memcpy(s, name, len);
	s[len] = type == PCW_FT_DIR ? '/' : '\0';
	s[len + 1] = '\0';
	ns->v[ns->n++] = s;
	return 0;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_list_main(const struct cli_control *ctl)
{
	struct pcw_host_id image, out;
	struct pcw_list_params lp;
	struct names ns = { 0 };
	errcode_t err;
	size_t i;

	/*
	 * The listing goes to standard output: never into the image
	 * (--list IMAGE DIR 1<>IMAGE), as for the JSON report of a write.
	 */
	if (pcw_host_id_path(ctl->image, &image) == 0 &&
	    pcw_host_id_fd(STDOUT_FILENO, &out) == 0 &&
	    pcw_host_overlap(&image, &out)) {
		fprintf(stderr, "pcwrite: standard output: %s\n",
			error_message(PCW_ET_HOST_IMAGE));
		return EXIT_USAGE;
	}
	memset(&lp, 0, sizeof(lp));
	lp.image_offset = ctl->image_offset;
	err = pcw_list_dir(ctl->image, &lp, ctl->dest, add_name, &ns);
	if (err == ENOENT || err == ENOTDIR || err == PCW_ET_SYMLINK_LOOP) {
		cli_msg_error(ctl->image, ctl->dest, err, NULL);
	} else if (err) {
		struct pcw_conflict none = { "", "", false, false };

		cli_msg_open(ctl, err, &none);
	} else {
		qsort(ns.v, ns.n, sizeof(*ns.v), by_bytes);
		for (i = 0; i < ns.n; i++)
			puts(ns.v[i]);
	}
	for (i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return err ? 1 : 0;
}
