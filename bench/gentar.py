#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gentar.py: synthetic tar streams for bench/scale.sh, written without a
host tree (a million-entry tree is never a million host files).

  gentar.py tree N OUT.tar
      N entries in 20 levels: N/10 directories, N/1000 hard-link groups of
      three names (a file and two links in other directories), N/100
      symlinks, the rest regular files; one file in four holds 100-4096
      bytes, the rest are empty.  GNU format, depth-first order as GNU tar
      writes a host tree (a directory, its files, then its subdirectories).
  gentar.py depth D OUT.tar [HOSTDIR]
      a chain of D directories named "a" with a file "f" at the bottom
      (paths up to 2*D bytes; the archive grows quadratically with D); with
      HOSTDIR, the same chain is made on the host under HOSTDIR, level by
      level through directory descriptors (no path is ever longer than one
      component).

Prints one line of counts: entries=E dirs=D files=F symlinks=S links=L
(files counts inodes of regular files; links the hard-link entries), the
numbers e2fsck -fnv reports after the archive is extracted into an empty
image, less the root and lost+found.
"""

import io
import os
import random
import sys
import tarfile

MTIME = 1700000000
LEVELS = 20


def info(name, kind, size=0, link=""):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if kind == tarfile.SYMTYPE:
        t.mode = 0o777
    t.size = size
    t.linkname = link
    t.mtime = MTIME
    t.uname = t.gname = "root"
    return t


def tree(n, out):
    rnd = random.Random(n)
    ndirs, ngroups, nsyms = n // 10, n // 1000, n // 100
    nfiles = n - ndirs - 3 * ngroups - nsyms
    # node 0 is the archive's top (not an entry); nodes 1..ndirs are
    # directories; the first LEVELS form a chain so the tree has LEVELS levels
    parent, depth = [0], [0]
    for i in range(1, ndirs + 1):
        if i <= LEVELS:
            p = i - 1
        else:
            p = rnd.randrange(i)
            while depth[p] >= LEVELS:
                p = parent[p]
        parent.append(p)
        depth.append(depth[p] + 1)
    kids = [[] for _ in range(ndirs + 1)]
    for i in range(1, ndirs + 1):
        kids[parent[i]].append(i)
    leaves = [[] for _ in range(ndirs + 1)]  # (name, kind, arg)
    for i in range(nfiles):
        size = 100 + rnd.randrange(3997) if i % 4 == 0 else 0
        leaves[rnd.randrange(ndirs + 1)].append(("f%d" % i, "f", size))
    for i in range(nsyms):
        leaves[rnd.randrange(ndirs + 1)].append(("s%d" % i, "s", "../target-%d" % i))
    for g in range(ngroups):
        for k in range(3):
            leaves[rnd.randrange(ndirs + 1)].append(("h%d-%d" % (g, k), "h", g))
    data = rnd.randbytes(4096)
    first = {}
    count = {"entries": 0, "dirs": 0, "files": 0, "symlinks": 0, "links": 0}
    with open(out, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT) as t:
        stack = [(0, "")]
        while stack:
            node, path = stack.pop()
            if node:
                t.addfile(info(path, tarfile.DIRTYPE))
                count["dirs"] += 1
                prefix = path + "/"
            else:
                prefix = ""
            for name, kind, arg in leaves[node]:
                p = prefix + name
                if kind == "f":
                    t.addfile(info(p, tarfile.REGTYPE, arg), io.BytesIO(data[:arg]))
                    count["files"] += 1
                elif kind == "s":
                    t.addfile(info(p, tarfile.SYMTYPE, link=arg))
                    count["symlinks"] += 1
                elif arg in first:
                    t.addfile(info(p, tarfile.LNKTYPE, link=first[arg]))
                    count["links"] += 1
                else:
                    first[arg] = p
                    t.addfile(info(p, tarfile.REGTYPE, 1000), io.BytesIO(data[:1000]))
                    count["files"] += 1
            for k in reversed(kids[node]):
                stack.append((k, prefix + "d%d" % k))
    count["entries"] = count["dirs"] + count["files"] + count["symlinks"] + count["links"]
    return count


def depth(d, out, hostdir=None):
    with open(out, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT) as t:
        for k in range(1, d + 1):
            t.addfile(info("/".join(["a"] * k), tarfile.DIRTYPE))
        body = b"the bottom\n"
        t.addfile(info("/".join(["a"] * d) + "/f", tarfile.REGTYPE, len(body)), io.BytesIO(body))
    if hostdir:
        fd = os.open(hostdir, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(d):
            os.mkdir("a", 0o755, dir_fd=fd)
            nfd = os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        g = os.open("f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        os.write(g, body)
        os.close(g)
        os.close(fd)
    return {"entries": d + 1, "dirs": d, "files": 1, "symlinks": 0, "links": 0}


def main(argv):
    if len(argv) >= 3 and argv[0] == "tree":
        c = tree(int(argv[1]), argv[2])
    elif len(argv) >= 3 and argv[0] == "depth":
        c = depth(int(argv[1]), argv[2], argv[3] if len(argv) > 3 else None)
    else:
        sys.stderr.write(__doc__)
        return 2
    print(" ".join("%s=%d" % (k, c[k]) for k in ("entries", "dirs", "files", "symlinks", "links")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
