/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * whiteout.c: container layers' whiteouts (--whiteouts=oci|overlay).
 *
 * A layer tar (the OCI image spec's "Image Layer Filesystem Changeset",
 * Docker's and AUFS's convention) says a name of a lower layer is gone with
 * an empty file DIR/.wh.NAME, and that DIR's lower contents are gone with
 * DIR/.wh..wh..opq (an opaque directory); other .wh..wh. names are AUFS's
 * own and mean nothing here.  Applying a layer onto an image that holds
 * the layers below it ("oci") removes what they name, a directory with
 * everything under it (rmtree.c), and writes nothing for the marker.
 *
 * The spec says a whiteout applies only to lower layers, and an opaque
 * marker "regardless of the ordering" of the layer's entries: a name this
 * layer wrote before the marker stays.  So the run keeps a set of the
 * names it made (directory, inode, a hash of the name: 12 bytes a name),
 * and a removal keeps those and the directories that still hold one.
 * containerd's applier does the same with a map of the paths it unpacked.
 *
 * "overlay" writes the markers as overlayfs keeps them in an upper
 * directory (what hcsshim's tar2ext4 does with ConvertWhiteout): NAME as a
 * character device 0/0, mode 0 (overlayfs's whiteout), and the opaque
 * marker as trusted.overlay.opaque=y on DIR; entry.c makes those.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

#define WH_PREFIX	".wh."
#define WH_META		".wh..wh."
#define WH_OPAQUE	".wh..wh..opq"

enum pcw_wh_kind pcw_whiteout_kind(const char *path)
{
	const char *base = strrchr(path, '/'), *p;

	base = base ? base + 1 : path;
	/* A name under AUFS's own directories (.wh..wh.plnk/...) too. */
	for (p = path; p < base; p = strchr(p, '/') + 1)
		if (!strncmp(p, WH_META, strlen(WH_META)))
			return PCW_WH_META;
	if (!strcmp(base, WH_OPAQUE))
		return PCW_WH_OPAQUE;
	if (!strncmp(base, WH_META, strlen(WH_META)))
		return PCW_WH_META;
	if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
		p = base + strlen(WH_PREFIX);
		/* ".wh.", ".wh.." and ".wh...": no name to remove */
		return !*p || !strcmp(p, ".") || !strcmp(p, "..") ?
		       PCW_WH_META : PCW_WH_NAME;
	}
	return PCW_WH_NONE;
}

/* ---- the names this run made ---- */

struct made {
	uint32_t	parent, ino, hash;	/* ino 0: a free slot */
};

struct pcw_wh_set {
	struct made	*v;
	uint32_t	mask, n;
};

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261U;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619U;
	return h;
}

static uint32_t slot_of(const struct made *m, uint32_t mask)
{
	return (m->parent * 2654435761U ^ m->ino * 40503U ^ m->hash) & mask;
}

static bool find(const struct pcw_wh_set *s, const struct made *m)
{
	uint32_t k;

	if (!s || !s->v)
		return false;
	for (k = slot_of(m, s->mask); s->v[k].ino; k = (k + 1) & s->mask)
		if (s->v[k].parent == m->parent && s->v[k].ino == m->ino &&
		    s->v[k].hash == m->hash)
			return true;
	return false;
}

errcode_t pcw_wh_note(struct pcw_wh_set **sp, ext2_ino_t parent,
		      ext2_ino_t ino, const char *name)
{
	struct pcw_wh_set *s = *sp;
	struct made m = { parent, ino, name_hash(name) };
	uint32_t k;

	if (!ino)
		return 0;
	if (!s && !(s = *sp = calloc(1, sizeof(*s))))
		return ENOMEM;
	if (find(s, &m))
		return 0;
	if ((s->n + 1) * 2 > s->mask) {
		uint32_t mask = s->mask ? s->mask * 2 + 1 : 1023, i;
		struct made *v = calloc((size_t)mask + 1, sizeof(*v));

		if (!v)
			return ENOMEM;
		for (i = 0; s->v && i <= s->mask; i++) {
			if (!s->v[i].ino)
				continue;
			for (k = slot_of(&s->v[i], mask); v[k].ino;
			     k = (k + 1) & mask)
				;
			v[k] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->mask = mask;
	}
	for (k = slot_of(&m, s->mask); s->v[k].ino; k = (k + 1) & s->mask)
		;
	s->v[k] = m;
	s->n++;
	return 0;
}

void pcw_wh_free(struct pcw_wh_set *s)
{
	if (s)
		free(s->v);
	free(s);
}

static bool keep_made(void *arg, ext2_ino_t parent, ext2_ino_t ino,
		      const char *name)
{
	struct made m = { parent, ino, name_hash(name) };

	return find(arg, &m);
}

/*
 * An opaque marker at the filesystem's root removes what the layers below
 * put there, but not lost+found: that one is mke2fs's, not a layer's, and
 * e2fsck reconnects orphaned inodes into it (making it anew at that moment
 * needs free blocks the damaged filesystem may not have).
 */
static bool keep_opaque(void *arg, ext2_ino_t parent, ext2_ino_t ino,
			const char *name)
{
	if (parent == EXT2_ROOT_INO && !strcmp(name, "lost+found"))
		return true;
	return keep_made(arg, parent, ino, name);
}

/* ---- oci: the removals ---- */

errcode_t pcw_wh_apply(pcw_fs *pfs, struct pcw_wh_set *s, ext2_ino_t dir,
		       const char *path, enum pcw_wh_kind kind,
		       uint64_t *removed)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	struct pcw_dest d;
	ext2_ino_t at = dir;
	errcode_t err;

	*removed = 0;
	if (kind != PCW_WH_NAME && kind != PCW_WH_OPAQUE)
		return 0;
	if (slash) {
		char *ppath = strndup(path, slash - path);

		if (!ppath)
			return ENOMEM;
		err = pcw_walk(pfs, dir, ppath, PCW_LOOKUP_DIRECTORY |
			       PCW_LOOKUP_NO_NEW_SYMLINKS, &d);
		free(ppath);
		pcw_dest_free(&d);
		/* No such directory: nothing below it to remove. */
		if (err == PCW_ET_NO_PARENT || err == PCW_ET_NOT_DIR ||
		    (!err) || (err == PCW_ET_IS_DIR && !d.ino))
			return 0;
		if (err != PCW_ET_IS_DIR)
			return err;
		at = d.ino;
	}
	if (kind == PCW_WH_OPAQUE)
		return pcw_remove_tree(pfs, at, NULL, keep_opaque, s, removed);
	return pcw_remove_tree(pfs, at, base + strlen(WH_PREFIX), keep_made, s,
			       removed);
}
