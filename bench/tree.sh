#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tree.sh: many files in one run: pcwrite -x and -R against debugfs -f,
# mke2fs -d and the raw floor, in one invocation.
#
#   many-10k   10,000 empty files into one directory from a tar stream:
#              pcwrite -x < tar  vs  debugfs -w -f (one "write" per file)
#   many-100k  100,000 the same way (image made with mke2fs -N): linear?
#   tree-2000  2000 files of 1-16 KiB in 20 directories: pcwrite -R  vs
#              debugfs -w -f (mkdir + write)  vs  mke2fs -d (a new image)
#              vs the raw floor: tar c | dd bs=1M iflag=fullblock
#              conv=notrunc,fsync into the image (the same bytes, no
#              filesystem)
#
# Every result is checked with e2fsck -fn and a count of the names the
# image holds.  Times are medians of -r runs (round-robin, sync before
# each); the output is ratios measured in the same invocation.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
runs=3
pcwrite=$here/../pcwrite
scratch_parent=
keep=0

usage() {
	cat <<EOF
Usage: $prog [-r RUNS] [-d DIR] [-p PCWRITE] [-k]

  -r RUNS     timed runs per row, the median is shown (default 3)
  -d DIR      scratch space (default: a mktemp directory; about 2 GiB)
  -p PCWRITE  the pcwrite binary (default: $here/../pcwrite)
  -k          keep the scratch directory
  -h          print this help and exit
EOF
}

while getopts ":r:d:p:kh" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	d) scratch_parent=$OPTARG ;;
	p) pcwrite=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) echo "$prog: bad option" >&2; usage >&2; exit 2 ;;
	esac
done
export PATH=/sbin:/usr/sbin:$PATH
for t in debugfs mke2fs e2fsck python3 tar dd; do
	command -v $t >/dev/null || { echo "$prog: $t not found" >&2; exit 1; }
done
[ -x "$pcwrite" ] || { echo "$prog: $pcwrite is not executable" >&2; exit 1; }

W=$(realpath "$(mktemp -d -p "${scratch_parent:-${TMPDIR:-/tmp}}" pcwrite-tree.XXXXXX)")
cleanup() { [ "$keep" = 1 ] && echo "kept $W" || rm -rf "$W"; }
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# names IMAGE DIR: how many names debugfs lists in DIR (without . and ..)
names() {
	debugfs -R "ls -p $2" "$1" 2>/dev/null | awk -F/ 'NF > 5 && $2 != 0 && $6 != "." && $6 != ".." { n++ } END { print n + 0 }'
}

check() { # check IMAGE DIR EXPECTED-NAMES LABEL
	e2fsck -fn "$1" >/dev/null 2>&1 || { echo "$prog: $4: e2fsck -fn failed" >&2; exit 1; }
	local n
	n=$(names "$1" "$2")
	[ "$n" = "$3" ] || { echo "$prog: $4: $n names in $2, expected $3" >&2; exit 1; }
}

echo "== inputs"
python3 - "$W" <<'EOF'
import io, os, random, sys, tarfile
w = sys.argv[1]
for n in (10000, 100000):
    with tarfile.open(os.path.join(w, "many%d.tar" % n), "w") as t:
        for i in range(n):
            t.addfile(tarfile.TarInfo("d/file-%06d" % i), io.BytesIO(b""))
    if n == 10000:
        with open(os.path.join(w, "many%d.debugfs" % n), "w") as f:
            f.write("mkdir d\ncd d\n")
            for i in range(n):
                f.write("write %s/empty file-%06d\n" % (w, i))
open(os.path.join(w, "empty"), "w").close()
rnd = random.Random(1)
root = os.path.join(w, "tree")
with open(os.path.join(w, "tree.debugfs"), "w") as f:
    for d in range(20):
        os.makedirs(os.path.join(root, "dir%02d" % d))
        f.write("mkdir dir%02d\n" % d)
        for k in range(100):
            p = os.path.join(root, "dir%02d" % d, "file%03d" % k)
            with open(p, "wb") as g:
                g.write(rnd.randbytes(rnd.randint(1024, 16384)))
            f.write("write %s dir%02d/file%03d\n" % (p, d, k))
EOF
tar -cf "$W/tree.tar" -C "$W/tree" .
echo "tree: $(du -sk "$W/tree" | cut -f1) KiB in 2000 files; tar $(($(stat -c %s "$W/tree.tar") / 1024)) KiB"

mkimg() { # mkimg IMAGE [mke2fs options]
	rm -f "$1"
	truncate -s 1G "$1"
	mke2fs -q -F -t ext4 "${@:2}" "$1"
}
mkimg "$W/base.img"
mkimg "$W/base-N.img" -N 120000

declare -A T
run_row() { # run_row NAME IMAGE-BASE COMMAND...  (the image is $IMG)
	local name=$1 base=$2 t0 t1
	shift 2
	IMG=$W/$name.img
	cp --sparse=always "$base" "$IMG"
	sync
	t0=$(now)
	"$@"
	t1=$(now)
	T[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') "
}

px10k() { "$pcwrite" -x "$IMG" / <"$W/many10000.tar"; }
px100k() { "$pcwrite" -x "$IMG" / <"$W/many100000.tar"; }
dbg10k() { debugfs -w -f "$W/many10000.debugfs" "$IMG" >/dev/null 2>&1; }
pR() { "$pcwrite" -R "$IMG" / "$W/tree"; }
dbgtree() { debugfs -w -f "$W/tree.debugfs" "$IMG" >/dev/null 2>&1; }
mk2d() { rm -f "$IMG"; truncate -s 1G "$IMG"; mke2fs -q -F -t ext4 -d "$W/tree" "$IMG"; }
floor() { tar -cf - -C "$W/tree" . | dd of="$IMG" bs=1M iflag=fullblock conv=notrunc,fsync seek=512 status=none; }

echo "== runs: $runs each"
for ((r = 0; r < runs; r++)); do
	run_row pcwrite-x-10k "$W/base.img" px10k
	[ $r -eq 0 ] && check "$IMG" /d 10000 pcwrite-x-10k
	run_row debugfs-10k "$W/base.img" dbg10k
	[ $r -eq 0 ] && check "$IMG" /d 10000 debugfs-10k
	run_row pcwrite-x-100k "$W/base-N.img" px100k
	[ $r -eq 0 ] && check "$IMG" /d 100000 pcwrite-x-100k
	run_row pcwrite-R-tree "$W/base.img" pR
	[ $r -eq 0 ] && check "$IMG" /dir07 100 pcwrite-R-tree
	run_row debugfs-tree "$W/base.img" dbgtree
	[ $r -eq 0 ] && check "$IMG" /dir07 100 debugfs-tree
	run_row mke2fs-d-tree "$W/base.img" mk2d
	[ $r -eq 0 ] && check "$IMG" /dir07 100 mke2fs-d-tree
	run_row floor-tree "$W/base.img" floor
done

printf '\n%-16s %10s   %s\n' row median runs
declare -A M
for k in pcwrite-x-10k debugfs-10k pcwrite-x-100k pcwrite-R-tree debugfs-tree mke2fs-d-tree floor-tree; do
	M[$k]=$(echo ${T[$k]} | tr ' ' '\n' | median)
	printf '%-16s %9.3fs   %s\n' "$k" "${M[$k]}" "${T[$k]}"
done

echo
echo "== ratios (target)"
echo "10,000 files, pcwrite -x / debugfs -f:        $(ratio "${M[pcwrite-x-10k]}" "${M[debugfs-10k]}")  (<= 0.15)"
echo "100,000 / 10,000 files, pcwrite -x:           $(ratio "${M[pcwrite-x-100k]}" "${M[pcwrite-x-10k]}")  (<= 12, linear)"
echo "2000-file tree, pcwrite -R / debugfs -f:      $(ratio "${M[pcwrite-R-tree]}" "${M[debugfs-tree]}")  (<= 0.8)"
echo "2000-file tree, pcwrite -R / tar|dd floor:    $(ratio "${M[pcwrite-R-tree]}" "${M[floor-tree]}")  (<= 1.3)"
echo "2000-file tree, pcwrite -R / mke2fs -d:       $(ratio "${M[pcwrite-R-tree]}" "${M[mke2fs-d-tree]}")  (mke2fs -d makes a new image)"
