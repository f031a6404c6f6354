#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""crash.py: the crash-point harness's replay and judges.

The dm-log-writes / CrashMonkey method, without device-mapper.  A run of
pcwrite under tests/eio_shim.c in record mode leaves a log of every write
and flush it made to the image, in order, with the data, and a marker for
each file record the JSON report printed (see the shim's header).  From the
original image and that log this builds the image as a power cut could
leave it, and judges each such crash state.

The model.  Each write is split into filesystem blocks; a unit is one
block's whole content after that write (a write of part of a block, such
as unix_io's byte-range superblock writes, gives the block as the page
cache would hold it then).  A flush (fsync, fdatasync, syncfs, sync) makes
every earlier write durable.  A crash "at flush point p" leaves every unit
before the p-th flush on disk (p = 0: none; the last version of a block
wins) and any subset of the units written after it, before the next
flush, landed in any order: so a block written twice in one flush epoch
may hold either version, or its old content.  Per flush point this
checks the state with none of those units, and SUBSETS random subsets
(a random size, a random sample, applied in a random order; state p:i
draws from a generator seeded with "SEED:p:i", so a state is rebuilt from
its seed alone).  The state "every write durable" (the final one) is
checked too: it must always be clean, whatever pcwrite does on the way.

The judges, for each state:
  1. on a copy, `e2fsck -E journal_only -p` (journal replay and orphan
     processing, what the kernel does at mount): exit status 0 or 1;
  2. `e2fsck -fn` on that copy: exit status 0, nothing to repair;
  3. where loop devices work and (2) passed: the state itself on a loop
     device, mounted read-only (the kernel replays its own journal and
     orphans: the device is writable), and every entry whose file record
     (status "ok") was printed before the state's last flush is there with
     the content, type, mode, owner and xattrs of its source (--tree
     IMGDIR=SRCDIR, compared as tests/treecmp.py describes entries, times
     left out; hard links printed together share their inode) or, for
     --file IMGPATH=HOSTFILE, with that file's bytes.  A state e2fsck
     already failed is counted failing and not handed to the host's kernel.
  4. with --atomic IMGPATH=OLD,NEW (a --atomic overwrite, or a file -x
     replaces; atomic.bats; given once a path): in every state that
     passed (2), IMGPATH read by debugfs holds OLD's bytes or NEW's,
     whatever was printed; the counts are printed, a line a path.
  5. with --prefix IMGPATH=SOURCE (a file written across several commits):
     in every state that passed (2), IMGPATH read by debugfs, when it is
     there, is SOURCE's first i_size bytes (zeroes only where SOURCE has
     them: a committed size never covers data that is not mapped).

Usage:
  crash.py check ORIGINAL LOG [--tree IMGDIR=SRCDIR]... [--file IMGPATH=HOST]...
           [--atomic IMGPATH=OLD,NEW]... [--prefix IMGPATH=SOURCE]...
           [--subsets N] [--max-states N] [--seed S] [--jobs N]
           [--kernel auto|yes|no] [--state P:I] [--keep DIR] [--json OUT]
  crash.py replay ORIGINAL LOG OUT   every write durable (the image the
                                     recorded run left, byte for byte)
  crash.py dump LOG          the records, one a line

Environment: PCW_CRASH_STATES caps the states checked (default: no cap;
the cap keeps the final state and every flush point's own state first, then
subsets round-robin over the flush points), PCW_CRASH_SUBSETS (default
20), PCW_CRASH_SEED (default: random, printed), PCW_CRASH_JOBS (default 1).

Exit status: 0 every state clean; 1 some state failed (the counts say
which; the final state failing is also said); 2 bad usage or log.
"""
import argparse, collections, functools, json, os, random, re, shutil, signal
import stat, struct, subprocess, sys, tempfile

# No __pycache__ in the source tree (it may be read-only: distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treecmp  # noqa: E402

MAGIC = b"PCWCRSH1"
BLOCK, SETSIZE, GROW = 0, 1, 2


# ---- the log -----------------------------------------------------------

def records(path):
    """Yield (type, call, offset, length, data) from a shim log."""
    with open(path, "rb") as f:
        if f.read(8) != MAGIC:
            raise SystemExit("crash.py: %s: not a crash log" % path)
        while True:
            hdr = f.read(32)
            if not hdr:
                return
            if len(hdr) < 32:
                raise SystemExit("crash.py: %s: truncated record" % path)
            t = chr(hdr[0])
            call = hdr[1:16].rstrip(b"\0").decode()
            off, ln = struct.unpack_from("<QQ", hdr, 16)
            data = f.read(ln) if t in "WM" else b""
            if len(data) != (ln if t in "WM" else 0):
                raise SystemExit("crash.py: %s: truncated data" % path)
            yield t, call, off, ln, data


def block_size(image):
    with open(image, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
    if struct.unpack_from("<H", sb, 56)[0] != 0xEF53:
        raise SystemExit("crash.py: %s: no ext2/3/4 superblock" % image)
    return 1024 << struct.unpack_from("<I", sb, 24)[0]


class Log:
    """The log as units in epochs.  epochs[e] is the list of units written
    after flush e (e = 0: from the start) and before flush e + 1; a unit is
    (BLOCK, blk, spill offset) or (SETSIZE|GROW, size, 0).  markers[e] are
    the file records printed in epoch e, in order."""

    def __init__(self, original, path, spill):
        self.bs = block_size(original)
        self.epochs, self.markers = [[]], [[]]
        self.counts = collections.Counter()
        self.spill = spill
        orig = os.open(original, os.O_RDONLY)
        cur = {}            # blk -> spill offset of its latest version
        bs = self.bs
        try:
            for t, call, off, ln, data in records(path):
                self.counts[call if t != "M" else "file records"] += 1
                if t == "F":
                    self.epochs.append([])
                    self.markers.append([])
                elif t == "M":
                    self.markers[-1].append(json.loads(data))
                elif t in "WZ":
                    if t == "Z":
                        data = bytes(ln)
                    pos = 0
                    while pos < ln:
                        o = off + pos
                        blk, inb = divmod(o, bs)
                        n = min(bs - inb, ln - pos)
                        if n == bs:
                            block = data[pos:pos + n]
                        else:
                            if blk in cur:
                                block = bytearray(os.pread(spill, bs, cur[blk]))
                            else:
                                block = bytearray(os.pread(orig, bs, blk * bs))
                                block += bytes(bs - len(block))
                            block[inb:inb + n] = data[pos:pos + n]
                        voff = os.lseek(spill, 0, os.SEEK_END)
                        os.write(spill, bytes(block))
                        cur[blk] = voff
                        self.epochs[-1].append((BLOCK, blk, voff))
                        pos += n
                elif t == "T":
                    self.epochs[-1].append((SETSIZE, off, 0))
                elif t == "A":
                    self.epochs[-1].append((GROW, off + ln, 0))
                elif t == "S":
                    pass    # sync_file_range: not a flush
                else:
                    raise SystemExit("crash.py: cannot replay a %s record (%s)"
                                     % (t, call))
        finally:
            os.close(orig)

    def apply(self, fd, units):
        """Write units to fd in the order given."""
        for kind, a, b in units:
            if kind == BLOCK:
                os.pwrite(fd, os.pread(self.spill, self.bs, b), a * self.bs)
            elif kind == SETSIZE:
                os.ftruncate(fd, a)
            elif os.fstat(fd).st_size < a:
                os.ftruncate(fd, a)

    def durable(self, fd, epoch):
        """Make epoch's writes durable on fd: each block's last version."""
        last = {}
        for u in self.epochs[epoch]:
            if u[0] == BLOCK:
                last[u[1]] = u
            else:
                self.apply(fd, [(BLOCK, x[1], x[2]) for x in last.values()])
                last = {}
                self.apply(fd, [u])
        self.apply(fd, list(last.values()))


# ---- the states ----------------------------------------------------------

def subset(log, seed, p, i):
    """State p:i: a random subset of epoch p's units in a random order."""
    units = log.epochs[p]
    rng = random.Random("%s:%d:%d" % (seed, p, i))
    k = rng.randint(1, len(units))
    pick = rng.sample(range(len(units)), k)
    rng.shuffle(pick)
    return [units[j] for j in pick]


def plan(log, subsets, cap, only=None):
    """The states to check: (p, i) with i = -1 for flush point p's own state,
    and ("final") for every write durable.  Capped as the doc says."""
    last = len(log.epochs) - 1
    if only is not None:
        return [only]
    first = [("final",)]
    # Flush point p's own state equals p-1's with every unit: keep a flush
    # point's state only where the epoch before it wrote something (and p = 0).
    for p in range(last + 1):
        if p == 0 or log.epochs[p - 1]:
            if not (p == last and not log.epochs[p]):
                first.append((p, -1))
    rest = []
    live = [p for p in range(last + 1) if log.epochs[p]]
    for i in range(subsets):
        for p in live:
            rest.append((p, i))
    states = first + rest
    if cap is not None:
        states = states[:cap]
    return states


def copy(src, dst):
    subprocess.run(["cp", "--sparse=always", "--reflink=auto", src, dst],
                   check=True)


# ---- judges --------------------------------------------------------------

def sh(cmd, timeout=600):
    env = dict(os.environ, E2FSCK_CONFIG="/dev/null", LC_ALL="C")
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "timed out: %s" % " ".join(cmd)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def norm(text):
    """A problem message as a class: names and numbers out."""
    text = re.sub(r"'[^']*'", "'X'", text)
    text = re.sub(r"\bin /[^\s)]*", "in DIR", text)
    text = re.sub(r"(differences:)\s+[-+(].*", r"\1 ...", text)
    text = re.sub(r"0x[0-9a-fA-F]+", "N", text)
    text = re.sub(r"(?<![A-Za-z])\d+", "N", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:100]


# "Fix? no", "Connect to /lost+found? no", "...inode 13.  Clear? no", "IGNORED."
ANSWER = re.compile(r"^(?:(.*[.)])\s+)?(?:[A-Z][^.?]*\? (?:no|yes)|IGNORED\.)$")


def problems(output, image):
    """The classes of the problems e2fsck reports: each question's message
    (on its line, or the line before), and e2fsck's fatal messages."""
    out, prev = [], None
    for line in output.replace(image, "IMAGE").splitlines():
        s = line.strip()
        if (not s or s.startswith("e2fsck 1.") or s.startswith("Pass ") or
                s.startswith("IMAGE: ")):
            continue
        if s.startswith("e2fsck: ") or s.startswith("ext2fs_"):
            msg = s.split(": ", 1)[1].split(" while ")[0]
            if msg != "aborted":
                out.append(norm(msg))
            prev = None
            continue
        m = ANSWER.match(s)
        if m:
            head = m.group(1) or prev
            if head:
                out.append(norm(head))
            prev = None
            continue
        prev = s
    return sorted(set(out))


def kernel_available():
    if os.geteuid() != 0 or not os.path.exists("/dev/loop-control"):
        return False
    if not shutil.which("losetup"):
        return False
    try:
        return "ext4" in open("/proc/filesystems").read()
    except OSError:
        return False


def entry_name(rec):
    name = rec["file"]
    if rec.get("file_encoding") == "latin1":
        return os.fsdecode(name.encode("latin1"))
    return name


class Expect:
    """What a printed entry must hold: --tree and --file."""

    OPTS = {"xattrs", "owner", "special"}

    def __init__(self, trees, files):
        self.trees = sorted(trees, key=lambda t: -len(t[0]))
        self.files = dict(files)

    @functools.lru_cache(maxsize=None)
    def describe_source(self, root, rel):
        """A source entry's description (read once a run, not a state)."""
        return treecmp.describe(root, rel, self.OPTS)

    def source(self, path):
        if path in self.files:
            return ("file", self.files[path])
        for imgdir, src in self.trees:
            d = imgdir.rstrip("/")
            if path == d or path == imgdir:
                return ("tree", src, ".")
            if path.startswith(d + "/"):
                return ("tree", src, path[len(d) + 1:])
        return None

    def compare(self, mnt, recs):
        """Failure classes for the printed entries, read through mnt."""
        bad = []
        groups = {}
        for rec in recs:
            if rec.get("status") != "ok":
                continue
            path = entry_name(rec)
            src = self.source(path)
            if src is None:
                continue
            there = os.path.join(mnt, path.lstrip("/"))
            try:
                st = os.lstat(there)
            except FileNotFoundError:
                bad.append(("entry missing", path))
                continue
            if src[0] == "file":
                if not stat.S_ISREG(st.st_mode):
                    bad.append(("entry type differs", path))
                elif treecmp.digest(there) != treecmp.digest(src[1]):
                    bad.append(("entry content differs", path))
                continue
            want, ino = self.describe_source(src[1], src[2])
            got, gino = treecmp.describe(mnt, path.lstrip("/"), self.OPTS)
            for k in want:
                if want[k] != got.get(k):
                    bad.append(("entry %s differs" % k, path))
            if ino is not None:
                groups.setdefault(ino, set()).add(gino)
        for ino, got in groups.items():
            if len(got) > 1:
                bad.append(("hard links split", str(ino)))
        return bad


# ---- one state -----------------------------------------------------------

class Checker:
    def __init__(self, args, log, work):
        self.args, self.log, self.work = args, log, work
        self.kernel = (args.kernel == "yes" or
                       (args.kernel == "auto" and kernel_available()))
        self.expect = Expect(args.tree, args.file)

    def build(self, base, state, dest):
        copy(base, dest)
        if state[0] == "final" or state[1] < 0:
            return
        fd = os.open(dest, os.O_RDWR)
        try:
            self.log.apply(fd, subset(self.log, self.args.seed, *state))
        finally:
            os.close(fd)

    def printed(self, state):
        """File records printed before the state's last flush."""
        upto = len(self.log.markers) if state[0] == "final" else state[0]
        out = []
        for e in range(upto):
            out += self.log.markers[e]
        return out

    def judge(self, base, state, tag):
        """Failure classes of one state ([] when clean)."""
        img = os.path.join(self.work, "state%s.img" % tag)
        c1 = os.path.join(self.work, "fsck%s.img" % tag)
        self.build(base, state, img)
        copy(img, c1)
        bad = []
        rc, out = sh(["e2fsck", "-E", "journal_only", "-p", c1])
        if rc >= 4:
            bad += [("journal_only rc %d" % rc, c)
                    for c in problems(out, c1) or ["-"]]
        else:
            rc, out = sh(["e2fsck", "-fn", c1])
            if rc != 0:
                bad += [("e2fsck", c)
                        for c in problems(out, c1) or ["rc %d" % rc]]
            else:
                if self.args.atomic:
                    bad += self.atomic_path(c1)
                if self.args.prefix:
                    bad += self.prefix_path(c1)
        os.unlink(c1)
        if not bad and self.kernel:
            bad += self.mount_and_compare(img, self.printed(state), tag)
        if self.args.keep and bad:
            os.makedirs(self.args.keep, exist_ok=True)
            shutil.move(img, os.path.join(self.args.keep, name(state) + ".img"))
        else:
            os.unlink(img)
        return bad

    def atomic_path(self, img):
        """--atomic PATH=OLD,NEW (each given): in every state, replayed,
        PATH holds OLD or NEW whole (read by debugfs); tallied in
        atomic.counts, a line "PATH old|new" a path and state."""
        bad = []
        got = os.path.join(os.path.dirname(img), "atomic.%d" % os.getpid())
        for path, both in self.args.atomic:
            old, new = both.split(",", 1)
            with open(got, "wb") as f:
                subprocess.run(["debugfs", "-R", "cat " + path, img],
                               stdout=f, stderr=subprocess.DEVNULL)
            d = treecmp.digest(got)
            os.unlink(got)
            which = ("old" if d == treecmp.digest(old) else
                     "new" if d == treecmp.digest(new) else None)
            if which:
                with open(os.path.join(self.work, "atomic.counts"), "a") as f:
                    f.write("%s %s\n" % (path, which))
            else:
                bad.append(("atomic path neither old nor new", path))
        return bad

    def prefix_path(self, img):
        """--prefix PATH=SOURCE: in every state that passed (2), PATH read
        by debugfs (when it is there) is SOURCE's first i_size bytes: every
        byte the size on disk covers is the source's, so zeroes only where
        the source has them (a hole), never where a block of data is not
        mapped (a size committed past the extents)."""
        bad = []
        got = os.path.join(os.path.dirname(img), "prefix.%d" % os.getpid())
        for path, src in self.args.prefix:
            with open(got, "wb") as f:
                r = subprocess.run(["debugfs", "-R", "cat " + path, img],
                                   stdout=f, stderr=subprocess.PIPE)
            err = r.stderr.decode("utf-8", "replace")
            with open(got, "rb") as f:
                data = f.read()
            os.unlink(got)
            if not data and "not found" in err:
                continue
            with open(src, "rb") as f:
                want = f.read(len(data) + 1)
            if len(data) > len(want):
                bad.append(("prefix path longer than its source", path))
            elif want[:len(data)] != data:
                at = next(i for i in range(len(data)) if data[i] != want[i])
                bad.append(("prefix path differs from its source",
                            "%s at byte %d of %d" % (path, at, len(data))))
        return bad

    def mount_and_compare(self, img, recs, tag):
        mnt = os.path.join(self.work, "mnt%s" % tag)
        os.makedirs(mnt, exist_ok=True)
        rc, loop = sh(["losetup", "-f", "--show", img])
        if rc != 0:
            raise SystemExit("crash.py: losetup %s failed: %s" % (img, loop))
        loop = loop.strip()
        try:
            rc, out = sh(["mount", "-t", "ext4", "-o", "ro", loop, mnt])
            if rc != 0:
                return [("kernel mount", out.strip().splitlines()[-1][:80]
                         if out.strip() else "rc %d" % rc)]
            try:
                return self.expect.compare(mnt, recs)
            finally:
                sh(["umount", mnt])
        finally:
            sh(["losetup", "-d", loop])


def name(state):
    return "final" if state[0] == "final" else \
        "p%d" % state[0] if state[1] < 0 else "p%d:%d" % state


_CHECKER = None     # the forked workers' copy (not pickled per task)


def _work(base, state):
    return state, _CHECKER.judge(base, state, str(os.getpid()))


def check(args):
    work = tempfile.mkdtemp(prefix="pcw-crash.", dir=args.work)
    spill = os.open(os.path.join(work, "spill"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        log = Log(args.original, args.log, spill)
        states = plan(log, args.subsets, args.max_states, args.state)
        checker = Checker(args, log, work)
        results = run_states(checker, states, work)
        if args.atomic:
            try:
                with open(os.path.join(work, "atomic.counts")) as f:
                    seen = collections.Counter(
                        tuple(l.rsplit(" ", 1)) for l in f.read().splitlines())
            except FileNotFoundError:
                seen = collections.Counter()
            for path, _ in args.atomic:
                print("crash.py: --atomic %s: %d states old, %d new" %
                      (path, seen[(path, "old")], seen[(path, "new")]),
                      flush=True)
    finally:
        os.close(spill)
        shutil.rmtree(work, ignore_errors=True)
    return summarize(args, log, states, results, checker.kernel)


def run_states(checker, states, work):
    """Check the states grouped by flush point, on a base image advanced
    one epoch at a time."""
    log, args = checker.log, checker.args
    base = os.path.join(work, "base.img")
    copy(args.original, base)
    results = {}
    by_p = collections.defaultdict(list)
    for s in states:
        by_p[len(log.epochs) if s[0] == "final" else s[0]].append(s)
    global _CHECKER
    _CHECKER = checker
    pool = None
    if args.jobs > 1:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(args.jobs)
    try:
        fd = os.open(base, os.O_RDWR)
        try:
            for p in range(len(log.epochs) + 1):
                if p > 0:
                    log.durable(fd, p - 1)
                if not by_p.get(p):
                    continue
                todo = [(base, s) for s in by_p[p]]
                if pool:
                    done = pool.starmap(_work, todo, chunksize=1)
                else:
                    done = [_work(*t) for t in todo]
                for s, bad in done:
                    results[s] = bad
                    if args.verbose:
                        print("  %-10s %s" % (name(s), "clean" if not bad else
                              "; ".join("%s: %s" % b for b in bad[:3])),
                              flush=True)
        finally:
            os.close(fd)
    finally:
        if pool:
            pool.close()
            pool.join()
    return results


def summarize(args, log, states, results, kernel):
    failing = {s: b for s, b in results.items() if b}
    reasons, classes = collections.Counter(), collections.Counter()
    for s, bad in failing.items():
        for r in sorted({b[0] for b in bad}):
            reasons[r] += 1
        # A class: e2fsck's (or the mount's) message; for entries, what
        # differs (the names are in the verbose listing).
        for c in sorted({b[0] if b[0].startswith("entry") or
                         b[0] == "hard links split" else "%s: %s" % b
                         for b in bad}):
            classes[c] += 1
    final = results.get(("final",))
    units = [len(e) for e in log.epochs]
    out = {
        "label": args.label, "seed": args.seed, "block_size": log.bs,
        "flushes": len(log.epochs) - 1, "units_per_epoch": units,
        "file_records": sum(len(m) for m in log.markers),
        "calls": dict(log.counts), "kernel": kernel,
        "states": len(results), "failing": len(failing),
        "final_checked": final is not None,
        "final_clean": final is not None and not final,
        "final_failures": ["%s: %s" % b for b in (final or [])],
        "by_reason": dict(reasons), "by_class": dict(classes),
        "failing_states": sorted(name(s) for s in failing),
    }
    print("crash %s: seed %s, %d flushes, units per epoch %s, %d file records"
          % (args.label, args.seed, out["flushes"], units,
             out["file_records"]))
    print("crash %s: %d states checked, %d failing%s; final state (every write"
          " durable) %s" % (args.label, out["states"], out["failing"],
                            "" if kernel else " (no kernel mount here)",
                            "not checked" if final is None else
                            "clean" if not final else "FAILING: " +
                            "; ".join(out["final_failures"][:5])))
    for r, n in reasons.most_common():
        print("  reason %-28s %d states" % (r, n))
    for c, n in classes.most_common():
        print("    %5d  %s" % (n, c))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    return 1 if failing else 0


def replay(args):
    """The image with every logged write durable, in order: for a log of a
    whole run, byte for byte the image the run left."""
    spill_dir = tempfile.mkdtemp(prefix="pcw-replay.", dir=args.work)
    spill = os.open(os.path.join(spill_dir, "spill"),
                    os.O_RDWR | os.O_CREAT, 0o600)
    try:
        log = Log(args.original, args.log, spill)
        copy(args.original, args.out)
        fd = os.open(args.out, os.O_RDWR)
        try:
            for e in range(len(log.epochs)):
                log.durable(fd, e)
        finally:
            os.close(fd)
    finally:
        os.close(spill)
        shutil.rmtree(spill_dir, ignore_errors=True)
    return 0


def dump(args):
    for t, call, off, ln, data in records(args.log):
        extra = data.decode("utf-8", "replace").strip() if t == "M" else ""
        print("%s %-16s %12d %10d %s" % (t, call, off, ln, extra))
    return 0


def pair(s):
    if "=" not in s:
        raise argparse.ArgumentTypeError("expected A=B: %s" % s)
    return tuple(s.split("=", 1))


def state_arg(s):
    if s == "final":
        return ("final",)
    p, _, i = s.partition(":")
    return (int(p), int(i) if i else -1)


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("original")
    c.add_argument("log")
    c.add_argument("--tree", type=pair, action="append", default=[])
    c.add_argument("--file", type=pair, action="append", default=[])
    c.add_argument("--atomic", type=pair, action="append", default=[])
    c.add_argument("--prefix", type=pair, action="append", default=[])
    c.add_argument("--subsets", type=int, default=int(env("PCW_CRASH_SUBSETS", 20)))
    c.add_argument("--max-states", type=int,
                   default=int(env("PCW_CRASH_STATES")) if env("PCW_CRASH_STATES") else None)
    c.add_argument("--seed", default=env("PCW_CRASH_SEED") or
                   str(random.SystemRandom().randrange(1 << 32)))
    c.add_argument("--jobs", type=int, default=int(env("PCW_CRASH_JOBS", 1)))
    c.add_argument("--kernel", choices=("auto", "yes", "no"), default="auto")
    c.add_argument("--state", type=state_arg)
    c.add_argument("--keep")
    c.add_argument("--json")
    c.add_argument("--label", default="")
    c.add_argument("--work", default=work_dir())
    c.add_argument("-v", "--verbose", action="store_true")
    d = sub.add_parser("dump")
    d.add_argument("log")
    r = sub.add_parser("replay")
    r.add_argument("original")
    r.add_argument("log")
    r.add_argument("out")
    r.add_argument("--work", default=work_dir())
    args = ap.parse_args()
    if args.cmd == "dump":
        return dump(args)
    if args.cmd == "replay":
        return replay(args)
    args.label = args.label or os.path.basename(args.log)
    return check(args)


def work_dir():
    """$PCW_CRASH_WORK, else /dev/shm (crash states are written and thrown
    away by the hundred: on a disk, unlinking a state whose random writes
    writeback has started waits for that I/O, seconds a state), else
    $TMPDIR or /tmp."""
    w = os.environ.get("PCW_CRASH_WORK")
    if w:
        return w
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return os.environ.get("TMPDIR", "/tmp")


def _cleanup(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    # SIGTERM unwinds (loop devices detached, scratch removed); a closed
    # output pipe ends the run quietly.
    signal.signal(signal.SIGTERM, _cleanup)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
