/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attrs.c: what the command line changes in each entry of -x and -R,
 * before the library makes it (pcw_tree_params.adjust): the permission
 * bits (-m, applied to the entry's own as tar --mode applies it to every
 * member).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

struct cli_attrs {
	const struct pcw_control *ctl;
	pcw_fs			*pfs;
};

errcode_t cli_attrs_open(const struct pcw_control *ctl, pcw_fs *pfs,
			 struct cli_attrs **ret)
{
	struct cli_attrs *a = calloc(1, sizeof(*a));

	*ret = NULL;
	if (!a)
		return ENOMEM;
	a->ctl = ctl;
	a->pfs = pfs;
	*ret = a;
	return 0;
}

void cli_attrs_close(struct cli_attrs *a)
{
	free(a);
}

/* Does the run change entries at all?  (Else no adjust callback.) */
bool cli_attrs_active(const struct cli_attrs *a)
{
	return a && a->ctl->have_mode;
}

errcode_t cli_attrs_adjust(void *arg, struct pcw_entry *e)
{
	struct cli_attrs *a = arg;

	/* a symlink's bits are 0777 whatever the entry says */
	if (a->ctl->have_mode && e->type != PCW_FT_SYMLINK)
		e->perm = cli_mode_apply(a->ctl->mode, e->perm,
					 e->type == PCW_FT_DIR);
	return 0;
}
