#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""killcheck.py: judges of an image whose pcwrite -x was killed (kill9.bats).

killcheck.py fsck < OUTPUT
    OUTPUT is `e2fsck -fn` of the killed image.  The commit writes the
    changed groups' bitmaps and descriptors first, then new blocks, inode
    tables, directory blocks, and releases freed bits last (lib/io.h), so
    a kill can leave only:
      - bits that claim more in use than is: "-" bitmap differences;
      - a kill between a commit's bitmap writes and its descriptor write
        (different blocks): a group's free counts behind its bitmap, and
        with metadata_csum a bitmap that does not match its checksum (the
        kernel then allocates nothing from that group);
      - inodes written but not linked yet: unattached inodes, an
        unconnected directory and its '..', link counts one off;
      - the superblock's totals and its directory counts (the kernel sums
        the descriptors at mount; e2fsck does not call them errors).
    Anything else is printed and fails: an inode or block in use and
    marked free ("+"), an entry in a group's unused inodes area, an entry
    to a deleted inode, an orphan list, a bad extent, i_size or i_blocks.

killcheck.py touch MNT REPORT
    The kernel (a read-write mount of the killed image, before any fsck)
    makes a file and a directory in every directory the report calls done.

killcheck.py verify MNT REPORT TREE [OLD]
    After e2fsck -fy, through a kernel mount: every file the report calls
    done reads back as TREE holds it, every directory is still one and
    holds what the kernel made in it, and /lost+found holds none of them.
    With OLD (the tree the image held before the run): every other file of
    TREE that is in the image holds OLD's content or TREE's, whole (a
    block freed by replacing it was not reused before the replacement was
    durable, and data never reaches a block before the metadata that
    frees it); one file may be empty: the entry being replaced at the kill
    (pcwrite truncates it first, as O_TRUNC does, and a report's page
    record commits what came before it).
"""
import json, os, re, stat, sys

ALLOWED = [
    r"e2fsck \d",
    r"Pass \d[A-Z]?: ",
    r".*: \d+/\d+ files \(.*\), \d+/\d+ blocks$",
    r"$",
    r"(Fix|Clear|Connect to /lost\+found)\? no$",
    r"Free (blocks|inodes) count wrong \(\d+, counted=\d+\)\.$",
    r"Directories count wrong for group #\d+ \(\d+, counted=\d+\)\.$",
    r"Unattached (zero-length )?inode \d+\.?( +Clear\? no)?$",
    r"Inode \d+ ref count is \d+, should be \d+\.  Fix\? no$",
    r"Unconnected directory inode \d+ \(was in .*\)$",
    r"'\.\.' in .* \(\d+\) is .* \(\d+\), should be <The NULL inode> \(0\)\.$",
    r"WARNING: PROGRAM IS RUNNING IN NO-CHANGE MODE",
    r".*\*+ WARNING: Filesystem still has errors \*+$",
    r"/lost\+found not found\.  Create\? no$",
    r"IGNORED\.$",
]
# e2fsck prints the first group's complaint after "Block bitmap
# differences: ", the next ones on lines of their own.
CSUM = re.compile(
    r"((Block|Inode) bitmap differences: )?Group (\d+) (block|inode) bitmap "
    r"does not match checksum\.$")
GROUP_COUNT = re.compile(
    r"Free (blocks|inodes) count wrong for group #(\d+) \((\d+), counted=(\d+)\)\.$")
DIFFS = re.compile(r"(Block|Inode) bitmap differences: (.*)$")


def fsck():
    bad = []
    lines = sys.stdin.read().splitlines()
    for line in lines:
        s = line.strip()
        if CSUM.match(s):
            continue
        if GROUP_COUNT.match(s):
            continue
        m = DIFFS.match(s)
        if m:
            if "+" in m.group(2):
                bad.append(line)
            continue
        if not any(re.match(p, s) for p in ALLOWED):
            bad.append(line)
    for line in bad:
        print("not allowed after a kill: " + line)
    return 1 if bad else 0


def reported(report, ftype):
    out = []
    with open(report, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if '"event":"file"' not in line:
                continue
            r = json.loads(line)
            if r.get("status") == "ok" and r.get("ftype") == ftype:
                out.append(r["file"])
    return out


def touch(mnt, report):
    fails = 0
    for d in reported(report, "dir"):
        try:
            with open(os.path.join(mnt + d, ".kernel-new"), "w") as f:
                f.write("made by the kernel\n")
            os.mkdir(os.path.join(mnt + d, ".kernel-dir"))
        except OSError as e:
            print("the kernel cannot make names in %s: %s" % (d, e))
            fails += 1
    return 1 if fails else 0


def verify(mnt, report, tree, old=None):
    fails = []
    inos = {}
    for p in reported(report, "file"):
        try:
            with open(mnt + p, "rb") as a, open(tree + p, "rb") as b:
                if a.read() != b.read():
                    fails.append("%s: content differs" % p)
            inos[os.lstat(mnt + p).st_ino] = p
        except OSError as e:
            fails.append("%s: %s" % (p, e))
    for d in reported(report, "dir"):
        try:
            if not stat.S_ISDIR(os.lstat(mnt + d).st_mode):
                fails.append("%s: no longer a directory" % d)
                continue
            inos[os.lstat(mnt + d).st_ino] = d
            if not os.path.isfile(os.path.join(mnt + d, ".kernel-new")) or \
               not os.path.isdir(os.path.join(mnt + d, ".kernel-dir")):
                fails.append("%s: lost what the kernel made in it" % d)
        except OSError as e:
            fails.append("%s: %s" % (d, e))
    if old:
        done = set(reported(report, "file"))
        empty_seen = None
        for dirpath, _, names in os.walk(tree):
            for n in names:
                p = os.path.join(dirpath, n)[len(tree):]
                if p in done or not os.path.isfile(mnt + p):
                    continue
                with open(mnt + p, "rb") as a:
                    got = a.read()
                ok = False
                if not got and not empty_seen:
                    empty_seen, ok = p, True
                for t in (tree, old):
                    try:
                        with open(t + p, "rb") as b:
                            ok = ok or got == b.read()
                    except OSError:
                        pass
                if not ok:
                    fails.append("%s (not reported): neither the old content "
                                 "nor the new" % p)
    lf = os.path.join(mnt, "lost+found")
    for name in os.listdir(lf) if os.path.isdir(lf) else []:
        ino = os.lstat(os.path.join(lf, name)).st_ino
        if ino in inos:
            fails.append("/lost+found/%s is %s, reported done" % (name, inos[ino]))
    for f in fails:
        print(f)
    return 1 if fails else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "fsck":
        sys.exit(fsck())
    if cmd == "touch" and len(sys.argv) == 4:
        sys.exit(touch(sys.argv[2], sys.argv[3]))
    if cmd == "verify" and len(sys.argv) in (5, 6):
        sys.exit(verify(*sys.argv[2:]))
    sys.stderr.write(__doc__)
    sys.exit(2)
