/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * acl.c: POSIX ACLs, as libarchive reads them from an archive entry or a
 * host file, in the kernel's system.posix_acl_* xattr format, which is
 * what ext4 stores (ext2fs_xattr_set converts it on the way in).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "src.h"

/* POSIX ACLs in the kernel's xattr format (include/uapi/linux/posix_acl_xattr.h). */
#define ACL_XATTR_VERSION	2
#define ACL_TAG_USER_OBJ	0x01
#define ACL_TAG_USER		0x02
#define ACL_TAG_GROUP_OBJ	0x04
#define ACL_TAG_GROUP		0x08
#define ACL_TAG_MASK		0x10
#define ACL_TAG_OTHER		0x20
#define ACL_NO_ID		0xffffffffU

struct acl_ent {
	uint16_t	tag, perm;
	uint32_t	id;
};

static int acl_cmp(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * libarchive's POSIX.1e ACL of TYPE as a system.posix_acl_* value (the
 * kernel's xattr format, which ext2fs_xattr_set stores as ext4's): the
 * entries sorted as posix_acl_valid() wants them.  An access ACL of the
 * three mode entries alone is no ACL.
 */
errcode_t pcw_acl_encode(struct archive_entry *ae, int type, unsigned *perm,
			 unsigned char **out_ret, size_t *len)
{
	int n = archive_entry_acl_reset(ae, type), atype, aperm, tag, qual;
	const char *aname;
	struct acl_ent *ents;
	unsigned char *out;
	int k = 0, named = 0, mask = -1, have = 0;

	*out_ret = NULL;
	*len = 0;
	if (n <= 0)
		return 0;
	ents = calloc(n, sizeof(*ents));
	if (!ents)
		return ENOMEM;
	while (k < n && archive_entry_acl_next(ae, type, &atype, &aperm, &tag,
					       &qual, &aname) == ARCHIVE_OK) {
		struct acl_ent *e = &ents[k];

		e->perm = ((aperm & ARCHIVE_ENTRY_ACL_READ) ? 4 : 0) |
			  ((aperm & ARCHIVE_ENTRY_ACL_WRITE) ? 2 : 0) |
			  ((aperm & ARCHIVE_ENTRY_ACL_EXECUTE) ? 1 : 0);
		e->id = ACL_NO_ID;
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ:
			e->tag = ACL_TAG_USER_OBJ;
			have |= 1;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
			e->tag = ACL_TAG_GROUP_OBJ;
			have |= 2;
			break;
		case ARCHIVE_ENTRY_ACL_OTHER:
			e->tag = ACL_TAG_OTHER;
			have |= 4;
			break;
		case ARCHIVE_ENTRY_ACL_MASK:
			e->tag = ACL_TAG_MASK;
			mask = e->perm;
			break;
		case ARCHIVE_ENTRY_ACL_USER:
			e->tag = ACL_TAG_USER;
			e->id = (uint32_t)qual;
			named++;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP:
			e->tag = ACL_TAG_GROUP;
			e->id = (uint32_t)qual;
			named++;
			break;
		default:
			free(ents);
			return PCW_ET_BAD_ACL;
		}
		k++;
	}
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !named && mask < 0) {
		free(ents);
		return 0;	/* the mode says it all */
	}
	if (have != 7 || (named && mask < 0)) {
		free(ents);
		return PCW_ET_BAD_ACL;
	}
	qsort(ents, k, sizeof(*ents), acl_cmp);
	out = malloc(4 + 8 * k);
	if (!out) {
		free(ents);
		return ENOMEM;
	}
	*(uint32_t *)out = ext2fs_cpu_to_le32(ACL_XATTR_VERSION);
	for (n = 0; n < k; n++) {
		unsigned char *p = out + 4 + 8 * n;

		*(uint16_t *)p = ext2fs_cpu_to_le16(ents[n].tag);
		*(uint16_t *)(p + 2) = ext2fs_cpu_to_le16(ents[n].perm);
		*(uint32_t *)(p + 4) = ext2fs_cpu_to_le32(ents[n].id);
	}
	free(ents);
	*out_ret = out;
	*len = 4 + 8 * k;
	/* With a mask, the mode's group bits are the mask (POSIX.1e). */
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && mask >= 0)
		*perm = (*perm & ~070U) | ((unsigned)mask << 3);
	return 0;
}
