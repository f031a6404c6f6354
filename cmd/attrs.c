/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attrs.c: what the command line changes in each entry of -x and -R,
 * before the library makes it (pcw_tree_params.adjust): the permission
 * bits (-m, applied to the entry's own as tar --mode applies it to every
 * member) and the owner and group (owners.c: the maps, -u/-g, and the
 * image's names for the source's with --names=archive).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcwrite_cmd.h"

struct cli_attrs {
	const struct cli_control *ctl;
	struct cli_owners	*owners;	/* NULL: the library's flags */
};

void cli_attrs_close(struct cli_attrs *a)
{
	if (!a)
		return;
	cli_owners_close(a->owners);
	free(a);
}

errcode_t cli_attrs_open(const struct cli_control *ctl, pcw_fs *pfs,
			 uint32_t uid, uint32_t gid, struct cli_attrs **ret)
{
	struct cli_attrs *a = calloc(1, sizeof(*a));
	errcode_t err = 0;

	*ret = NULL;
	if (!a)
		return ENOMEM;
	a->ctl = ctl;
	if (cli_owners_per_entry(ctl))
		err = cli_owners_open(ctl, pfs, uid, gid, &a->owners);
	if (err) {
		cli_attrs_close(a);
		return err;
	}
	*ret = a;
	return 0;
}

/* Does the run change entries at all?  (Else no adjust callback.) */
bool cli_attrs_active(const struct cli_attrs *a)
{
	return a && (a->ctl->have_mode || a->owners);
}

errcode_t cli_attrs_adjust(void *arg, struct pcw_entry *e)
{
	struct cli_attrs *a = arg;

	/* a symlink's bits are 0777 whatever the entry says */
	if (a->ctl->have_mode && e->type != PCW_FT_SYMLINK)
		e->perm = cli_mode_apply(a->ctl->mode, e->perm,
					 e->type == PCW_FT_DIR);
	return a->owners ? cli_owners_entry(a->owners, e) : 0;
}

const char *cli_attrs_why(const struct cli_attrs *a)
{
	const char *why = a ? cli_owners_why(a->owners) : NULL;

	return why ? why : "";
}
