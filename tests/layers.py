#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""layers.py: lib/ and cmd/ depend only downwards (issue 15).

Edges file -> file are drawn from the code itself: a call or a reference
(a symbol one object leaves undefined and another defines, from nm of the
objects make built) and an #include "..." line of a source or header.  Each
lib/ file has a rank in LIB below: layer.order, the layer the issue's (1
leaf helpers ... 12 fs), the order inside a layer.  A file may use files of
its own rank and of lower ranks only; the whole graph may hold no circle.
cmd/ sits above lib/, may call only what libpcwrite.sym exports, and may
hold no circle either.

Prints every offending edge with the symbols (or the include) that make it,
and exits 1; prints a summary and exits 0 when there is none.  Calls through
function pointers (the a_ops tables, the report callback, the io layer's
commit hooks) are invisible to nm; they are part of the design, written up
in README.md's Layout.

Usage: layers.py [BUILDDIR [SRCDIR]]; default: the current directory and
$PCW_SRCDIR (or BUILDDIR).
"""
import os
import re
import subprocess
import sys

# rank: layer.order.  Headers carry the rank of the layer they serve.
LIB = {
    # 1: leaf helpers
    'pcw_err': 1.0, 'errors': 1.1, 'signal': 1.1, 'maxbytes': 1.1,
    'iter': 1.1, 'attrs': 1.1, 'names': 1.1, 'idset': 1.1,
    'base.h': 1.0, 'iter.h': 1.0, 'names.h': 1.0, 'idset.h': 1.0,
    # 2: what the host sees; the checks before the first write
    'host': 2.0, 'partition': 2.0, 'check': 2.0, 'validate': 2.0,
    'host.h': 2.0,
    # 3: the io layer: the one place the image is written and events are
    # emitted; the jbd2 journal writer, the holding io_manager over it (io,
    # io_commit, io_inplace, io_journal: one unit), the undo manager under
    # it; io_run: begin-write, commit, data writes
    'journal': 3.0, 'journal_log': 3.0, 'jbd2_format.h': 3.0,
    'journal.h': 3.0, 'journal_int.h': 3.0,
    'io': 3.1, 'io_data': 3.1, 'io_commit': 3.1, 'io_inplace': 3.1, 'io_journal': 3.1,
    'io.h': 3.1, 'io_priv.h': 3.1,
    'undo': 3.2, 'io_run': 3.3, 'io_run.h': 3.2,
    # 4: space
    'balloc': 4.0, 'balloc.h': 4.0,
    # 5: block maps; EA-inode references read; the orphan list;
    # truncation; values in EA inodes changed; the quota files (files
    # themselves: their blocks come from balloc and map through extents)
    'extents': 5.0, 'ea_refs': 5.1, 'orphan': 5.15, 'truncate': 5.2, 'ea_inode': 5.3,
    'quota_tree': 5.4, 'dquot': 5.5,
    'extents.h': 5.0, 'ea_refs.h': 5.1, 'quota.h': 5.4,
    # 6: the page cache and fs/buffer.c's helpers
    'mapping': 6.0, 'buffer': 6.1, 'mapping.h': 6.0,
    # 7: address_space_operations and writeback
    'writeback': 7.0, 'nd_aops': 7.1, 'da_aops': 7.2, 'aops.h': 7.0,
    # 8: inodes: allocation, times, owner
    'times': 8.0, 'inode': 8.1, 'inode.h': 8.0,
    # 9: directories
    'dirent': 9.0, 'dcache': 9.1, 'htree': 9.2, 'dir': 9.3, 'dir_list': 9.4,
    'dir.h': 9.0, 'dir_int.h': 9.0,
    # 10: names: the kernel's may_* checks, the path walk, create/link/
    # unlink; the image's passwd and group, read through the walk
    'may': 10.0, 'namei': 10.1, 'idnames': 10.2, 'rmtree': 10.3,
    'namei.h': 10.0,
    # 11: one file's write; entries and their sources; listing
    'perform_write': 11.0, 'file': 11.1, 'atomic': 11.1, 'file.h': 11.0,
    'acl': 11.0, 'src_walk': 11.05, 'src_walk.h': 11.0, 'src': 11.1, 'src_archive': 11.2, 'src_tree': 11.3,
    'src_reader': 11.33, 'src_ahead.h': 11.33, 'src_ahead': 11.35,
    'src.h': 11.0,
    'entry_xattr': 11.4, 'whiteout': 11.4, 'entry_make': 11.45,
    'entry_int.h': 11.45, 'entry_path': 11.47,
    'entry': 11.5, 'list': 11.5,
    # 12: open (the ordered refusals) and close
    'fs': 12.0,
    # the public interface, used by every layer
    'pcwrite.h': 0.0, 'pcw_err.h': 0.0, 'config.h': 0.0,
    'pcwrite_test.h': 0.0,
}

# Files that are one unit: the holding io_manager is one manager in five
# files (io.c registers it and holds blocks, io_data.c writes file data
# beside it, io_commit.c writes a commit, its two commit writers:
# io_inplace.c without a journal, io_journal.c through jbd2); they share
# io_priv.h and call each other as the functions of one file would.
UNITS = {'lib/io_data': 'lib/io', 'lib/io_commit': 'lib/io',
         'lib/io_inplace': 'lib/io', 'lib/io_journal': 'lib/io'}

CMD_RANK = 100.0

DEF_TYPES = set('TDBRCGSVW')


def nm(obj, undefined):
    args = ['nm', '-u' if undefined else '--defined-only', obj]
    out = subprocess.run(args, capture_output=True, text=True,
                         check=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if undefined and len(f) >= 2 and f[-2] == 'U':
            syms.add(f[-1])
        elif not undefined and len(f) == 3 and f[1] in DEF_TYPES:
            syms.add(f[2])
    return syms


def objects(builddir, sub, prefix):
    d = os.path.join(builddir, sub)
    res = {}
    for n in sorted(os.listdir(d)):
        if n.startswith(prefix) and n.endswith('.o'):
            res[n[len(prefix):-2]] = os.path.join(d, n)
    return res


def includes(path):
    with open(path, errors='replace') as f:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)


def scc(nodes, adj):
    """Tarjan: the strongly connected components of more than one node."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    builddir = sys.argv[1] if len(sys.argv) > 1 else '.'
    srcdir = (sys.argv[2] if len(sys.argv) > 2 else
              os.environ.get('PCW_SRCDIR', builddir))
    lib = objects(builddir, 'lib', 'libpcwrite_la-')
    cmd = objects(builddir, 'cmd', 'pcwrite-')
    if not lib or not cmd:
        print('layers: no objects under %s (build first)' % builddir)
        return 1

    # node names: lib/X, cmd/X (sources by stem, headers by file name)
    owner = {}
    for stem, o in lib.items():
        for s in nm(o, False):
            owner.setdefault(s, 'lib/' + stem)
    for stem, o in cmd.items():
        for s in nm(o, False):
            owner.setdefault(s, 'cmd/' + stem)
    exported = set()
    with open(os.path.join(srcdir, 'lib', 'libpcwrite.sym')) as f:
        exported = {l.strip() for l in f if l.strip() and
                    not l.startswith('#')}

    edges = {}          # (a, b) -> set of reasons

    def edge(a, b, why):
        a, b = UNITS.get(a, a), UNITS.get(b, b)
        if a != b:
            edges.setdefault((a, b), set()).add(why)

    for group, objs in (('lib', lib), ('cmd', cmd)):
        for stem, o in objs.items():
            for s in nm(o, True):
                t = owner.get(s)
                if t:
                    edge(group + '/' + stem, t, s)
    for group in ('lib', 'cmd'):
        d = os.path.join(srcdir, group)
        for n in sorted(os.listdir(d)):
            if not (n.endswith('.c') or n.endswith('.h')):
                continue
            a = group + '/' + (n[:-2] if n.endswith('.c') else n)
            for h in includes(os.path.join(d, n)):
                if os.path.exists(os.path.join(d, h)) or h in LIB:
                    b = group + '/' + h
                elif group == 'cmd' and h in LIB:
                    b = 'lib/' + h
                else:
                    b = 'lib/' + h
                edge(a, b, '#include "%s"' % h)

    def rank(node):
        group, name = node.split('/', 1)
        if group == 'cmd':
            return CMD_RANK
        return LIB.get(name)

    bad = []
    nodes = set()
    for (a, b), why in sorted(edges.items()):
        nodes.update((a, b))
    unplaced = sorted(n for n in nodes if rank(n) is None)
    for n in unplaced:
        bad.append('no layer for %s: add it to LIB in tests/layers.py' % n)
    for (a, b), why in sorted(edges.items()):
        ra, rb = rank(a), rank(b)
        if ra is None or rb is None:
            continue
        if a.startswith('cmd/') and b.startswith('lib/'):
            inner = sorted(w for w in why if not w.startswith('#') and
                           w not in exported)
            hdr = sorted(w for w in why if w.startswith('#') and
                         b[4:] not in ('pcwrite.h', 'pcw_err.h',
                                       'config.h'))
            if inner or hdr:
                bad.append('%s -> %s: not in libpcwrite.sym: %s' %
                           (a, b, ' '.join(inner + hdr)))
            continue
        if rb > ra:
            bad.append('up %s (%s) -> %s (%s): %s' %
                       (a, ra, b, rb, ' '.join(sorted(why))))
    adj = {}
    for (a, b) in edges:
        adj.setdefault(a, set()).add(b)
    for comp in scc(nodes, adj):
        inside = ['%s -> %s: %s' % (a, b, ' '.join(sorted(w)))
                  for (a, b), w in sorted(edges.items())
                  if a in comp and b in comp]
        bad.append('circle %s\n\t%s' % (' '.join(comp),
                                        '\n\t'.join(inside)))

    if bad:
        for line in bad:
            print(line)
        print('layers: %d problem(s) in %d edges between %d files' %
              (len(bad), len(edges), len(nodes)))
        return 1
    print('layers: %d edges between %d files, all downwards, no circle' %
          (len(edges), len(nodes)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
