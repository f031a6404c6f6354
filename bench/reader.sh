#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reader.sh: the source read ahead in its own thread (issue 17 item 2),
# before and after, in one invocation.
#
#   x-tar      pcwrite -x IMG / SRC.tar             (uncompressed, from a file)
#   x-zst      pcwrite -x IMG / SRC.tar.zst         (zstd, decompressed by libarchive)
#   zstd-dc    zstd -dc SRC.tar.zst > /dev/null     (the decompression alone)
#   R-cold     pcwrite -R IMG / SRC                 (page cache dropped first)
#   tar-cold   tar -cf - SRC | cat > FILE; sync     (page cache dropped first)
#
# Each pcwrite row runs for the binary after (-p) and, with -o, the one
# before; every run gets a fresh copy of one fresh ext4 image, is timed to
# its exit (pcwrite syncs the image before it exits), and the first result
# of each is checked with e2fsck -fn.  Times are medians of -r runs
# (round-robin, sync before each).  Prints the issue's ratios:
#   x-zst / max(zstd-dc, x-tar)   target <= 1.1
#   R-cold / tar-cold             target <= 1.2
# and after / before for each pcwrite row.  Needs root (drop_caches).

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
runs=5
pcwrite=$here/../pcwrite
old=
src=/usr/share
scratch_parent=
keep=0

usage() {
	cat <<EOF
Usage: $prog [-r RUNS] [-s SRCDIR] [-o OLD-PCWRITE] [-p PCWRITE] [-d DIR] [-k]

  -r RUNS     timed runs per row, the median is shown (default 5)
  -s SRCDIR   the tree to archive and copy (default /usr/share)
  -o OLD      a pcwrite built before the change: its rows beside
  -p PCWRITE  the pcwrite binary (default: $here/../pcwrite)
  -d DIR      scratch space (default: a mktemp directory; about 3x SRCDIR)
  -k          keep the scratch directory
  -h          print this help and exit
EOF
}

while getopts ":r:s:o:p:d:kh" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	s) src=$OPTARG ;;
	o) old=$OPTARG ;;
	p) pcwrite=$OPTARG ;;
	d) scratch_parent=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) echo "$prog: bad option" >&2; usage >&2; exit 2 ;;
	esac
done
export PATH=/sbin:/usr/sbin:$PATH
for t in mke2fs e2fsck tar zstd; do
	command -v $t >/dev/null || { echo "$prog: $t not found" >&2; exit 1; }
done
[ -x "$pcwrite" ] || { echo "$prog: $pcwrite is not executable" >&2; exit 1; }
[ -z "$old" ] || [ -x "$old" ] || { echo "$prog: $old is not executable" >&2; exit 1; }
[ -w /proc/sys/vm/drop_caches ] || { echo "$prog: needs root (drop_caches)" >&2; exit 1; }

W=$(realpath "$(mktemp -d -p "${scratch_parent:-${TMPDIR:-/tmp}}" pcwrite-reader.XXXXXX)")
cleanup() { [ "$keep" = 1 ] && echo "kept $W" || rm -rf "$W"; }
trap cleanup EXIT

now() { date +%s.%N; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

echo "== inputs: $src"
tar -cf "$W/src.tar" -C "$(dirname "$src")" "$(basename "$src")" 2>/dev/null || true
zstd -q -T1 "$W/src.tar" -o "$W/src.tar.zst"
bytes=$(stat -c %s "$W/src.tar")
echo "tar $((bytes >> 20)) MiB, zstd $(($(stat -c %s "$W/src.tar.zst") >> 20)) MiB"
size=$(( (bytes * 3 / 1024 / 1024 / 1024 + 2) ))G
truncate -s "$size" "$W/base.img"
mke2fs -q -F -t ext4 "$W/base.img"

declare -A T
row() { # row NAME COMMAND...  ($IMG is a fresh image)
	local name=$1 t0 t1
	shift
	IMG=$W/img
	rm -f "$IMG" "$W/out"
	cp --sparse=always "$W/base.img" "$IMG"
	case $name in *cold*) drop ;; *) sync ;; esac
	t0=$(now)
	"$@"
	t1=$(now)
	T[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') "
	if [ "$r" = 0 ] && [[ $name == pcw* ]]; then
		e2fsck -fn "$IMG" >/dev/null 2>&1 ||
			{ echo "$prog: $name: e2fsck -fn failed" >&2; exit 1; }
	fi
}

xtar() { "$1" -x "$IMG" / "$W/src.tar"; }
xzst() { "$1" -x "$IMG" / "$W/src.tar.zst"; }
Rcold() { "$1" -R "$IMG" / "$src"; }
zdc() { zstd -dc "$W/src.tar.zst" >/dev/null; }
tarcold() { tar -cf - -C "$(dirname "$src")" "$(basename "$src")" 2>/dev/null | cat >"$W/out"; sync; }

echo "== runs: $runs each; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < runs; r++)); do
	row zstd-dc zdc
	row pcw-x-tar xtar "$pcwrite"
	row pcw-x-zst xzst "$pcwrite"
	row pcw-R-cold Rcold "$pcwrite"
	row tar-cold tarcold
	if [ -n "$old" ]; then
		row pcw-old-x-tar xtar "$old"
		row pcw-old-x-zst xzst "$old"
		row pcw-old-R-cold Rcold "$old"
	fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A M
for k in "${!T[@]}"; do
	M[$k]=$(echo "${T[$k]}" | median)
done
echo "== medians (s)"
for k in zstd-dc tar-cold pcw-x-tar pcw-x-zst pcw-R-cold pcw-old-x-tar pcw-old-x-zst pcw-old-R-cold; do
	[ -n "${M[$k]:-}" ] && printf '%-16s %8.3f   (%s)\n' "$k" "${M[$k]}" "${T[$k]}"
done
echo "== ratios"
floor=$(max "${M[zstd-dc]}" "${M[pcw-x-tar]}")
echo "x-zst / max(zstd-dc, x-tar)   $(ratio "${M[pcw-x-zst]}" "$floor")   (target <= 1.1)"
echo "R-cold / tar-cold             $(ratio "${M[pcw-R-cold]}" "${M[tar-cold]}")   (target <= 1.2)"
if [ -n "$old" ]; then
	floor=$(max "${M[zstd-dc]}" "${M[pcw-old-x-tar]}")
	echo "before: x-zst / max(...)      $(ratio "${M[pcw-old-x-zst]}" "$floor")"
	echo "before: R-cold / tar-cold     $(ratio "${M[pcw-old-R-cold]}" "${M[tar-cold]}")"
	for k in x-tar x-zst R-cold; do
		echo "$k after / before        $(ratio "${M[pcw-$k]}" "${M[pcw-old-$k]}")"
	done
fi
