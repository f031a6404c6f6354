#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/fuzz/problems.py: the problems e2fsck -fn reports, as a set.

A run on an image that was damaged before must not add damage: compare the
problems e2fsck -fn reports before and after, each one normalised so that a
problem the run only carried along (a count that was wrong and stays wrong
by as much, a modification time the run changed, a range of bitmap
differences that shrank) is the same problem after:

  - progress lines, the summary, answers ("Fix? no") and blank lines go,
    and the hints that are not errors (an extent tree that "could be
    narrower");
  - "is X, should be Y" and "(X, counted=Y)" become the difference Y-X,
    and a quota id's "actual (A, I) != expected (B, J)" the differences
    B-A and J-I (a run charges new files on top of a wrong usage);
  - "mod time ..." goes (the run changes a directory's mtime);
  - bitmap differences and multiply-claimed block lists are split into one
    problem a block (or inode), ranges expanded.

Each problem has a class (CLASSES) for the tables of tests/fuzz/run and
tests/corpus.bats.

Usage: problems.py BEFORE AFTER [IMAGE]: print the new problems of AFTER
(e2fsck outputs, IMAGE the image's path in them), one a line as
"CLASS<TAB>problem"; exit 0.
"""

import re
import sys

# e2fsck's lines that are not problems
SKIP = re.compile(
    r"^(e2fsck \d|Pass \d|Running additional passes|\(There are \d+ inodes|"
    r"Will fix in pass 1B|Restarting e2fsck|.*\*{5,} WARNING|e2fsck: aborted|"
    r"\S*: \d+/\d+ files \(|\S*: clean,|\s*has \d+ multiply-claimed|"
    r".*Illegal block number passed to ext2fs_test_block_bitmap|"
    r".*extent tree \(at level \d+\) could be (narrower|shallower)|"
    r"[\s\d-]+$|\S+\(\S*\)\[0x[0-9a-f]+\]$)")
ANSWER = re.compile(r"\s*(?:[A-Z][^.?!]*)?\? (?:no|yes)\s*$")
RANGE = re.compile(r"^([+-]?)\(?(\d+)(?:--(\d+))?\)?$")
MOST = 100000          # a range longer than this stays one problem

# (class, pattern); the first that matches a problem names its class
CLASSES = [
    ("dup", r"[Mm]ultiply-claimed|shared with|^File |\(inode #\d+\)$"),
    ("bitmap", r"bitmap difference|Padding at end of .* bitmap|"
               r"bitmap.* checksum|block bitmap for group"),
    ("count", r"count wrong|Free (blocks|inodes) count"),
    ("itable", r"unused inodes area|itable_unused|inode table|"
               r"located in a bad block|bad block"),
    ("dir", r"^Entry |directory|Directory|htree|Problem in HTREE|"
            r"hash|'\.\.'|'\.'"),
    ("inode", r"^Inode \d+|i_size|i_blocks|ref count|[Uu]nattached|"
              r"extent|Extent"),
    ("quota", r"QUOTA|[Qq]uota"),
]


def expand(prefix, items):
    """'-(9--11) +5' after PREFIX: one problem a number."""
    out = []
    for tok in items.split():
        m = RANGE.match(tok)
        if not m:
            out.append("%s %s" % (prefix, tok))
            continue
        sign, lo = m.group(1), int(m.group(2))
        hi = int(m.group(3)) if m.group(3) else lo
        if hi - lo > MOST:
            out.append("%s %s" % (prefix, tok))
            continue
        out += ["%s %s%d" % (prefix, sign, n) for n in range(lo, hi + 1)]
    return out


def off_by(before, after):
    """A count's error: absurd ones (garbage, a count that wrapped) are
    one problem, whatever their size."""
    d = int(after) - int(before)
    return "off by %d" % d if abs(d) < 1 << 31 else "off by 2^31 or more"


def normalise(line):
    """The problems one line of e2fsck -fn's output reports (0 or more)."""
    line = line.rstrip()
    if not line.strip() or SKIP.match(line):
        return []
    # e2fsck itself crashed: its backtrace (SKIP) has addresses that vary
    m = re.match(r"^Signal \((\d+)\)", line)
    if m:
        return ["e2fsck died of signal %s" % m.group(1)]
    line = ANSWER.sub("", line)
    if not line.strip():
        return []
    line = re.sub(r",? mod time [^)]*\)", ")", line)
    line = re.sub(r"is (-?\d+), should be (-?\d+)",
                  lambda m: "is " + off_by(m.group(1), m.group(2)), line)
    line = re.sub(r"\((-?\d+), counted=(-?\d+)\)",
                  lambda m: "(%s)" % off_by(m.group(1), m.group(2)), line)
    line = re.sub(r"actual \((-?\d+), (-?\d+)\) != expected "
                  r"\((-?\d+), (-?\d+)\)",
                  lambda m: "space %s, inodes %s" % (
                      off_by(m.group(1), m.group(3)),
                      off_by(m.group(2), m.group(4))), line)
    m = re.match(r"^(Block|Inode) bitmap differences:\s*(.*)$", line)
    if m:
        return expand(m.group(1) + " bitmap difference", m.group(2))
    m = re.match(r"^Multiply-claimed block\(s\) in inode (\d+):\s*(.*)$",
                 line)
    if m:
        return expand("Multiply-claimed block in inode " + m.group(1),
                      re.sub(r"Illegal block number.*", "", m.group(2)))
    return [line.strip()]


def problems(text, image=None):
    if image:
        text = text.replace(image, "IMAGE")
    out = set()
    for line in text.splitlines():
        out.update(normalise(line))
    return out


def classify(problem):
    for cls, pat in CLASSES:
        if re.search(pat, problem):
            return cls
    return "other"


def new_problems(before, after, image=None):
    """The problems of AFTER that BEFORE does not report, sorted."""
    return sorted(problems(after, image) - problems(before, image))


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[-1])
    with open(argv[1], errors="replace") as f:
        before = f.read()
    with open(argv[2], errors="replace") as f:
        after = f.read()
    for p in new_problems(before, after, argv[3] if len(argv) > 3 else None):
        print("%s\t%s" % (classify(p), p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
