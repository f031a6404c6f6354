#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# cmd_layers.bats: cmd/'s files call one way, drawn from the objects' own
# symbols (nm): each file calls only files of a lower layer, so there is no
# circle; the layers are the list below, as pcwrite_cmd.h and README's
# Layout describe them.  Calls through function pointers (the report
# callback, popt's tables) are invisible to nm: the report callback's
# contract (it never commits) is tests/test_report.c's.
bats_require_minimum_version 1.5.0

load test_helper

BUILDDIR=$(cd "$(dirname "$PCWRITE")" && pwd)
SRCDIR=${PCW_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}

@test "cmd/: every call between files points down the layers; no circle" {
	command -v nm >/dev/null || skip "nm not installed"
	command -v python3 >/dev/null || skip "python3 not installed"
	[ -f "$BUILDDIR/cmd/pcwrite-pcwrite.o" ] || skip "no cmd/ objects in the build tree"
	run python3 - "$SRCDIR" "$BUILDDIR" <<'PY'
import glob, os, subprocess, sys

srcdir, builddir = sys.argv[1], sys.argv[2]
# From the bottom up; a file calls only files of the layers before its own.
LAYERS = [
    ["quote"],                                          # how names are quoted
    ["progress", "host_files", "mode", "mtime", "tarpath"],
    ["msg", "signals", "owners"],                       # messages, signals
    ["closeout", "vlist", "attrs"],
    ["report", "options"],                              # the report; options
    ["image"],                                          # opening the image
    ["write", "tree", "list"],                          # the modes
    ["pcwrite"],                                        # main
]
rank = {f: i for i, layer in enumerate(LAYERS) for f in layer}
files = sorted(os.path.basename(p)[:-2] for p in glob.glob(srcdir + "/cmd/*.c"))
bad = [f for f in files if f not in rank]
defs, undef = {}, {}
for f in files:
    out = subprocess.run(["nm", "%s/cmd/pcwrite-%s.o" % (builddir, f)],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBRC":
            defs[p[2]] = f
        elif len(p) == 2 and p[0] == "U":
            undef.setdefault(f, set()).add(p[1])
for f, syms in sorted(undef.items()):
    for s in sorted(syms):
        g = defs.get(s)
        if g and g != f and f in rank and g in rank and rank[g] >= rank[f]:
            bad.append("%s.c -> %s.c (%s)" % (f, g, s))
print("\n".join("not in a layer or upward: " + b for b in bad))
sys.exit(1 if bad else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
}
