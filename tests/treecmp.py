#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""treecmp.py SRC DST [--no-xattrs] [--no-owner] [--no-times] [--no-nsec]
                     [--no-special] [--no-dir-times] [--exact]
Compare, entry by entry, the tree under DST (a kernel mount of an image)
with the source tree SRC: type, permission bits, owner, size, mtime (ns),
device numbers, symlink targets, hard-link groups, extended attributes
(ACLs included) and a hash of the content.  DST may hold more names than
SRC at its top (lost+found), unless --exact: then every name in DST must
be in SRC too.  --no-dir-times: directories' mtimes are not compared (a
directory made as a missing parent has the time it was made).  Prints
every difference; exits 1 on any."""
import hashlib, os, stat, sys

def xattrs(path):
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in names:
        out[n] = os.getxattr(path, n, follow_symlinks=False)
    return out

def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()

def describe(root, rel, opts):
    p = os.path.join(root, rel)
    st = os.lstat(p)
    d = {"type": stat.S_IFMT(st.st_mode), "perm": oct(stat.S_IMODE(st.st_mode))}
    if "owner" in opts:
        d["owner"] = (st.st_uid, st.st_gid)
    if "times" in opts and not stat.S_ISLNK(st.st_mode) and \
            not ("dir-times" not in opts and stat.S_ISDIR(st.st_mode)):
        d["mtime_ns"] = st.st_mtime_ns
        if "nsec" not in opts:
            d["mtime_ns"] -= st.st_mtime_ns % 10**9
    if stat.S_ISREG(st.st_mode):
        d["size"] = st.st_size
        d["sha256"] = digest(p)
    elif stat.S_ISLNK(st.st_mode):
        d["target"] = os.readlink(p)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if "xattrs" in opts:
        d["xattrs"] = xattrs(p)
    return d, (st.st_ino if not stat.S_ISDIR(st.st_mode) else None)

def walk(root):
    out = []
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(out)

def main():
    src, dst = sys.argv[1], sys.argv[2]
    opts = {"xattrs", "owner", "times", "nsec", "special", "dir-times"}
    exact = "--exact" in sys.argv[3:]
    for a in sys.argv[3:]:
        if a.startswith("--no-"):
            opts.discard(a[len("--no-"):])
    bad = 0
    if exact:
        for rel in sorted(set(walk(dst)) - set(walk(src))):
            print("only in the image: %s" % rel)
            bad += 1
    groups_src, groups_dst = {}, {}
    for rel in walk(src):
        try:
            a, ia = describe(src, rel, opts)
            if "special" not in opts and stat.S_IFMT(os.lstat(os.path.join(src, rel)).st_mode) in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
                continue
            b, ib = describe(dst, rel, opts)
        except FileNotFoundError:
            print("missing in the image: %s" % rel)
            bad += 1
            continue
        for k in a:
            if a[k] != b.get(k):
                print("%s: %s differs: source %r, image %r" % (rel, k, a[k], b.get(k)))
                bad += 1
        if ia is not None:
            groups_src.setdefault(ia, []).append(rel)
            groups_dst.setdefault(ib, []).append(rel)
    gs = sorted(sorted(g) for g in groups_src.values())
    gd = sorted(sorted(g) for g in groups_dst.values())
    if gs != gd:
        print("hard-link groups differ: source %r, image %r" %
              ([g for g in gs if len(g) > 1], [g for g in gd if len(g) > 1]))
        bad += 1
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    main()
