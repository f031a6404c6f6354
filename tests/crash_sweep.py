#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""crash_sweep.py: issue 13's crash-point workloads, recorded and replayed.

For each workload on each filesystem layout: make the image (and what the
workload replaces), run pcwrite once under tests/eio_shim.c in record mode
(every write and flush to the image, and the report's file records, in
order), then tests/crash.py checks the crash states of that log: at each
flush point, and random subsets of the writes after it, e2fsck and the
kernel as judges (see crash.py).

Workloads:
  tree-x      -x of a 2,000-entry pax tar (directories, files of 0-16 KiB,
              symlinks, hard links, FIFOs, devices; owners, modes, user.*
              xattrs, some too large for the inode) into a new /d
  tree-R      -R of the same tree changed (contents, sizes, modes, xattrs,
              files turned into symlinks) over /d holding the first
  stream      one 64 MiB stream from a pipe into a new /f
  overwrite   a 64 MiB file written over a 64 MiB /f (other content)
  append      4 MiB appended (-a) to a 4 MiB /f
  truncate    1 MiB written over a 64 MiB /f (the rest freed)
Layouts:
  ext4-4k, ext4-1k-csum (1 KiB blocks, metadata_csum, the journal as mke2fs
  leaves it: "Journal features: (none)"), ext4-1k-mounted (the same after a
  kernel mount that wrote one transaction: journal_64bit
  journal_checksum_v3), ext3, bigalloc (4 KiB blocks,
  64 KiB clusters), journal-1m (1 KiB blocks, `-J size=1`: the smallest
  journal, for wrap-around)

  crash_sweep.py [-w W,W] [-l L,L] [--states N] [--subsets N] [--seed S]
                 [--jobs N] [--planted] [--strict] [--opt=OPTION]
                 [--json OUT] [--pcwrite P] [--work DIR]

--planted adds the harness's self-check: the run once more with
PCW_CRASH_DROP (the shim drops one metadata write, acknowledging it), which
the harness must find failing.  Prints per case the states checked and
failing and the e2fsck problem classes, then a table.  Exit status 0 when
every final state (every write durable) is clean and, with --planted, the
planted bug was found; 1 otherwise.  Failing crash states change the exit
status only with --strict (the journal's promise: none); with
--opt=--no-journal (the in-place writer) they are the "before" numbers.

The long sweep (every workload and layout, 20 subsets per flush point, no
cap):
  tests/crash_sweep.py --strict --planted --json /tmp/crash-sweep.json
and the same in place, for comparison:
  tests/crash_sweep.py --opt=--no-journal --json /tmp/crash-inplace.json
"""
import argparse, json, os, random, shutil, signal, stat, subprocess, sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# No __pycache__ in the source tree (it may be read-only: distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import crash  # noqa: E402
MiB = 1 << 20

LAYOUTS = {
    "ext4-4k": (["-t", "ext4", "-b", "4096"], False),
    "ext4-1k-csum": (["-t", "ext4", "-b", "1024", "-O", "metadata_csum"],
                     False),
    "ext4-1k-mounted": (["-t", "ext4", "-b", "1024", "-O", "metadata_csum"],
                        True),
    "ext3": (["-t", "ext3", "-b", "4096"], False),
    "bigalloc": (["-t", "ext4", "-b", "4096", "-O", "bigalloc", "-C",
                  "65536"], False),
    "journal-1m": (["-t", "ext4", "-b", "1024", "-J", "size=1"], False),
}
WORKLOADS = ["tree-x", "tree-R", "stream", "overwrite", "append", "truncate"]


def sh(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# ---- sources ---------------------------------------------------------------

def make_tree(root, n, seed):
    """n entries under root, every type, owners, modes and xattrs."""
    rng = random.Random(seed)
    os.makedirs(root)
    dirs, files = ["."], []
    count = 0
    for i in range(max(2, n // 50)):
        d = os.path.join(rng.choice(dirs), "d%03d" % i)
        os.mkdir(os.path.join(root, d))
        dirs.append(d)
        count += 1
    while count < n:
        parent = rng.choice(dirs)
        rel = os.path.join(parent, "e%04d" % count)
        p = os.path.join(root, rel)
        r = rng.random()
        if r < 0.80 or not files:
            size = rng.choice([0, rng.randrange(1, 512),
                               rng.randrange(512, 16385)])
            with open(p, "wb") as f:
                f.write(rng.randbytes(size))
            os.chmod(p, rng.choice([0o644, 0o600, 0o755, 0o4755, 0o640]))
            files.append(rel)
        elif r < 0.88:
            os.symlink(rng.choice(files) if rng.random() < 0.5 else
                       "t" * rng.randrange(1, 200), p)
        elif r < 0.95:
            os.link(os.path.join(root, rng.choice(files)), p)
        elif r < 0.98:
            os.mkfifo(p, 0o640)
        else:
            os.mknod(p, stat.S_IFCHR | 0o600,
                     os.makedev(rng.randrange(1, 300), rng.randrange(256)))
        count += 1
        if os.path.islink(p):
            continue
        # chown first: it clears the setuid bit.
        mode = stat.S_IMODE(os.lstat(p).st_mode)
        os.chown(p, rng.randrange(5000), rng.randrange(5000))
        os.chmod(p, mode)
        if stat.S_ISREG(os.lstat(p).st_mode) and rng.random() < 0.25:
            # user.* xattrs (regular files and directories only); most fit
            # in the inode, one in three needs an EA block.
            os.setxattr(p, "user.k%d" % rng.randrange(3),
                        rng.randbytes(rng.choice([8, 60, 700])))
    for d in dirs[1:]:
        p = os.path.join(root, d)
        os.chmod(p, rng.choice([0o755, 0o700, 0o1777, 0o2755]))
        os.chown(p, rng.randrange(5000), rng.randrange(5000))
        if rng.random() < 0.3:
            os.setxattr(p, "user.dir", rng.randbytes(20))
    return files


def change_tree(root, files, seed):
    """The second version of a tree: new contents and sizes, modes, xattrs,
    some files turned into symlinks."""
    rng = random.Random(seed)
    for rel in files:
        p = os.path.join(root, rel)
        r = rng.random()
        if r < 0.4:
            with open(p, "wb") as f:
                f.write(rng.randbytes(rng.randrange(0, 16385)))
        elif r < 0.5:
            os.chmod(p, 0o600)
        elif r < 0.55:
            os.unlink(p)
            os.symlink("now-a-link", p)
        elif r < 0.65:
            os.setxattr(p, "user.new", rng.randbytes(30))


def data(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n


class Sources:
    """Made once a sweep, when a workload first needs them."""

    def __init__(self, work, entries):
        self.work, self.entries = work, entries
        self._made = set()

    def __getattr__(self, name):
        what = {"tree": "tree", "tar": "tree", "tree2": "tree",
                "big_a": "big", "big_b": "big", "one": "big",
                "small_a": "small", "small_b": "small",
                "appended": "small"}.get(name)
        if what is None or what in self._made:
            raise AttributeError(name)
        self._made.add(what)
        getattr(self, "_make_" + what)()
        return getattr(self, name)

    def _make_tree(self):
        t = os.path.join(self.work, "tree")
        files = make_tree(t, self.entries, 1)
        self.tree = t
        self.tar = os.path.join(self.work, "tree.tar")
        sh(["tar", "--xattrs", "--xattrs-include=*", "--format=pax",
            "--numeric-owner", "-cf", self.tar, "-C", t, "."])
        self.tree2 = os.path.join(self.work, "tree2")
        sh(["cp", "-a", t, self.tree2])
        change_tree(self.tree2, files, 2)

    def _make_big(self):
        self.big_a = os.path.join(self.work, "a64")
        self.big_b = os.path.join(self.work, "b64")
        self.one = os.path.join(self.work, "b1")
        data(self.big_a, 64 * MiB, 3)
        data(self.big_b, 64 * MiB, 4)
        data(self.one, MiB, 7)

    def _make_small(self):
        self.small_a = os.path.join(self.work, "a4")
        self.small_b = os.path.join(self.work, "b4")
        self.appended = os.path.join(self.work, "a4b4")
        data(self.small_a, 4 * MiB, 5)
        data(self.small_b, 4 * MiB, 6)
        with open(self.appended, "wb") as f:
            for p in (self.small_a, self.small_b):
                with open(p, "rb") as g:
                    f.write(g.read())


# ---- one case --------------------------------------------------------------

def mkfs(img, size, layout):
    opts, mounted = LAYOUTS[layout]
    with open(img, "wb") as f:
        f.truncate(size)
    sh(["mke2fs", "-q", "-F", "-E", "nodiscard"] + opts + [img],
       stdout=subprocess.DEVNULL)
    if mounted:
        mnt = tempfile.mkdtemp(dir=os.path.dirname(img))
        loop = sh(["losetup", "-f", "--show", img], stdout=subprocess.PIPE,
                  text=True).stdout.strip()
        try:
            # A mount alone leaves the journal superblock as it was: one
            # transaction makes the kernel write its features (64bit, csum v3).
            sh(["mount", "-t", "ext4", loop, mnt])
            try:
                with open(os.path.join(mnt, "x"), "w"):
                    pass
                sh(["sync", "-f", mnt])
                os.unlink(os.path.join(mnt, "x"))
            finally:
                sh(["umount", mnt])
        finally:
            sh(["losetup", "-d", loop])
            os.rmdir(mnt)
        out = sh(["dumpe2fs", "-h", img], stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL, text=True).stdout
        if "journal_checksum_v3" not in out:
            raise SystemExit("crash_sweep.py: the kernel mount left the "
                             "journal without csum v3")


def workload(name, src, layout):
    """(image size, setup runs, the recorded run's arguments and stdin,
    crash.py's expectations)."""
    big = 512 * MiB if layout == "bigalloc" else 256 * MiB
    if name == "tree-x":
        return (big, [], ["-x", "-p", "/d", src.tar], None,
                ["--tree", "/d=" + src.tree])
    if name == "tree-R":
        return (big, [["-R", "-p", "/d", src.tree]], ["-R", "/d", src.tree2],
                None, ["--tree", "/d=" + src.tree2])
    if name == "stream":
        return (256 * MiB, [], ["/f"], src.big_a, ["--file", "/f=" + src.big_a])
    if name == "overwrite":
        return (256 * MiB, [["/f", src.big_a]], ["/f", src.big_b], None,
                ["--file", "/f=" + src.big_b])
    if name == "append":
        return (64 * MiB, [["/f", src.small_a]], ["-a", "/f", src.small_b],
                None, ["--file", "/f=" + src.appended])
    if name == "truncate":
        return (256 * MiB, [["/f", src.big_a]], ["/f", src.one], None,
                ["--file", "/f=" + src.one])
    raise SystemExit("crash_sweep.py: no workload %s" % name)


def record(args, img, log, report, run, stdin, drop=None):
    """pcwrite under the shim in record mode; the JSON report to a file."""
    st = os.stat(img)
    open(report, "wb").close()
    rst = os.stat(report)
    env = dict(os.environ, LD_PRELOAD=args.shim, PCW_CRASH_LOG=log,
               PCW_CRASH_IMAGE="%d:%d" % (st.st_dev, st.st_ino),
               PCW_CRASH_REPORT="%d:%d" % (rst.st_dev, rst.st_ino),
               SOURCE_DATE_EPOCH="1700000000")
    if drop:
        env["PCW_CRASH_DROP"] = str(drop)
    if os.path.exists(log):
        os.unlink(log)
    pcw = [args.pcwrite, "--report=json"] + args.opt
    cmd = pcw + [run[0], img] + run[1:] if run[0].startswith("-") \
        else pcw + [img] + run
    with open(report, "wb") as out:
        if stdin:
            # A stream: the data through a pipe, as `cat f | pcwrite`.
            cat = subprocess.Popen(["cat", stdin], stdout=subprocess.PIPE)
            r = subprocess.run(cmd, stdin=cat.stdout, stdout=out, env=env)
            cat.stdout.close()
            cat.wait()
        else:
            r = subprocess.run(cmd, stdout=out, env=env)
    if r.returncode != 0:
        raise SystemExit("crash_sweep.py: %s exited %d" % (" ".join(cmd),
                                                          r.returncode))


def crash_check(args, orig, log, expect, label, jout, extra=()):
    cmd = [sys.executable, os.path.join(HERE, "crash.py"), "check", orig, log,
           "--label", label, "--json", jout, "--seed", args.seed,
           "--subsets", str(args.subsets), "--jobs", str(args.jobs),
           "--work", args.work] + expect + list(extra)
    if args.states is not None:
        cmd += ["--max-states", str(args.states)]
    r = subprocess.run(cmd)
    if r.returncode not in (0, 1):
        raise SystemExit("crash_sweep.py: crash.py exited %d" % r.returncode)
    with open(jout) as f:
        return json.load(f)


def planted_write(orig, log):
    """The write the planted bug drops, counted as the shim counts them: a
    write of one block or less (metadata, so e2fsck sees it without the
    kernel) to a block no other write touches, that changes it, and the
    last such before the first flush that follows writes (at close: a
    bitmap, a descriptor or an inode table block).  Any unique write that
    changes its block where there is no such one."""
    bs = crash.block_size(orig)
    writes, touched, flush_at = [], {}, None
    for t, call, off, ln, d in crash.records(log):
        if t == "W":
            blks = range(off // bs, (off + ln - 1) // bs + 1)
            writes.append((off, ln, d, blks))
            for b in blks:
                touched[b] = touched.get(b, 0) + 1
        elif t == "F" and writes and flush_at is None:
            flush_at = len(writes)
    with open(orig, "rb") as f:
        def useful(w):
            off, ln, d, blks = w
            f.seek(off)
            return all(touched[b] == 1 for b in blks) and f.read(ln) != d
        small = [n for n, w in enumerate(writes[:flush_at], 1)
                 if w[1] <= bs and useful(w)]
        if small:
            return small[-1]
        return next(n for n, w in enumerate(writes, 1) if useful(w))


def case(args, src, wl, layout, planted):
    d = tempfile.mkdtemp(prefix="%s.%s." % (wl, layout), dir=args.work)
    try:
        size, setup, run, stdin, expect = workload(wl, src, layout)
        img, orig = os.path.join(d, "img"), os.path.join(d, "orig")
        log, rep = os.path.join(d, "log"), os.path.join(d, "report.jsonl")
        mkfs(img, size, layout)
        for s in setup:
            cmd = [args.pcwrite, s[0], img] + s[1:] if s[0].startswith("-") \
                else [args.pcwrite, img] + s
            sh(cmd, env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
        sh(["cp", "--sparse=always", img, orig])
        t0 = time.time()
        record(args, img, log, rep, run, stdin)
        label = "%s/%s" % (wl, layout)
        res = crash_check(args, orig, log, expect, label,
                          os.path.join(d, "res.json"))
        res["seconds"] = round(time.time() - t0, 1)
        if planted:
            n = planted_write(orig, log)
            sh(["cp", "--sparse=always", orig, img])
            record(args, img, log, rep, run, stdin, drop=n)
            p = crash_check(args, orig, log, expect, label + " (planted: "
                            "write %d dropped)" % n, os.path.join(d, "p.json"),
                            ["--state", "final"])
            res["planted_write"] = n
            res["planted_found"] = not p["final_clean"]
            res["planted_failures"] = p["final_failures"]
            print("crash %s: the planted bug (write %d dropped) %s" %
                  (label, n, "found: " + "; ".join(p["final_failures"][:3])
                   if res["planted_found"] else "NOT FOUND"), flush=True)
        return res
    finally:
        shutil.rmtree(d, ignore_errors=True)


def table(results):
    print("\n%-26s %7s %8s %6s  %s" % ("case", "states", "failing", "final",
                                       "top e2fsck classes (states)"))
    for r in results:
        top = sorted(r["by_class"].items(), key=lambda kv: -kv[1])[:3]
        print("%-26s %7d %8d %6s  %s" % (
            r["label"], r["states"], r["failing"],
            "clean" if r["final_clean"] else "FAIL",
            "; ".join("%s (%d)" % kv for kv in top)))
    print("total: %d states checked, %d failing; final states clean: %d of %d"
          % (sum(r["states"] for r in results),
             sum(r["failing"] for r in results),
             sum(r["final_clean"] for r in results), len(results)))
    if any("planted_found" in r for r in results):
        print("planted bug found: %d of %d" % (
            sum(r.get("planted_found", False) for r in results),
            sum("planted_found" in r for r in results)))
    classes = {}
    for r in results:
        for c, n in r["by_class"].items():
            classes[c] = classes.get(c, 0) + n
    if classes:
        print("failing states by problem class, all cases (a state may have "
              "several):")
        for c, n in sorted(classes.items(), key=lambda kv: -kv[1]):
            print("  %6d  %s" % (n, c))


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-w", "--workloads", default=",".join(WORKLOADS))
    ap.add_argument("-l", "--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--states", type=int,
                    default=int(env("PCW_CRASH_STATES")) if env("PCW_CRASH_STATES") else None)
    ap.add_argument("--subsets", type=int, default=int(env("PCW_CRASH_SUBSETS", 20)))
    ap.add_argument("--seed", default=env("PCW_CRASH_SEED") or
                    str(random.SystemRandom().randrange(1 << 32)))
    ap.add_argument("--jobs", type=int, default=int(env("PCW_CRASH_JOBS", 1)))
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--planted", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--pcwrite", default=env("PCWRITE") or
                    os.path.join(HERE, "..", "pcwrite"))
    ap.add_argument("--opt", action="append", default=[],
                    help="an option for the recorded pcwrite run "
                    "(--opt=--no-journal: the in-place writer)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a crash state needs repair")
    ap.add_argument("--shim")
    ap.add_argument("--work", default=crash.work_dir())
    args = ap.parse_args()
    os.environ["PATH"] = "/sbin:/usr/sbin:" + os.environ.get("PATH", "")
    top = tempfile.mkdtemp(prefix="pcw-sweep.", dir=args.work)
    args.work = top
    try:
        if not args.shim:
            args.shim = os.path.join(top, "eio_shim.so")
            sh(["cc", "-shared", "-fPIC", "-o", args.shim,
                os.path.join(HERE, "eio_shim.c"), "-ldl"])
        print("crash sweep: seed %s" % args.seed, flush=True)
        src = Sources(top, args.entries)
        results, ok = [], True
        for wl in args.workloads.split(","):
            for layout in args.layouts.split(","):
                r = case(args, src, wl, layout, args.planted)
                results.append(r)
                ok = ok and r["final_clean"] and r.get("planted_found", True)
                if args.strict and r["failing"]:
                    ok = False
        table(results)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1, sort_keys=True)
        return 0 if ok else 1
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, crash._cleanup)
    sys.exit(main())
