#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# journal.sh: the cost of committing through the journal (issue 13), the
# same invocation with the journal (the default) and with --no-journal.
#
# Three workloads, each into its own copy of one fresh ext4 image (4 KiB
# blocks, the journal mke2fs gives it), page cache warm: one stream from a
# pipe (default 256 MiB), -x of a 2,000-file tar (files of 0-16 KiB in 40
# directories), -x of 10,000 empty files.  Times are medians of -r runs
# (round-robin between the two modes, sync before each) with their range,
# and the ratio journal / --no-journal.  Then, outside the timed runs, per
# workload and mode, one run under strace: the flushes (fsync, fdatasync),
# the transactions (how far the journal superblock's sequence moved) and
# the journal blocks written (pwrite bytes inside the journal inode's
# blocks, which mke2fs makes one extent).
#
# Needs: e2fsprogs, strace, python3 (for the trees).

set -euo pipefail
export LC_ALL=C
export PATH=/sbin:/usr/sbin:$PATH

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
size=$((256 << 20))
runs=5
pcwrite=$here/../pcwrite
scratch_parent=
keep=0

usage() {
	cat <<EOF
Usage: $prog [-s MIB] [-r RUNS] [-d DIR] [-p PCWRITE] [-k]

  -s MIB      stream size in MiB (default 256)
  -r RUNS     timed runs per row and mode (default 5)
  -d DIR      scratch space (default: a mktemp directory; about 3 GiB)
  -p PCWRITE  the pcwrite binary (default: $here/../pcwrite)
  -k          keep the scratch directory
EOF
}
while getopts ":s:r:d:p:kh" opt; do
	case $opt in
	s) size=$((OPTARG << 20)) ;;
	r) runs=$OPTARG ;;
	d) scratch_parent=$OPTARG ;;
	p) pcwrite=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

S=$(mktemp -d "${scratch_parent:-${TMPDIR:-/tmp}}/pcw-journal.XXXXXX")
cleanup() { [ "$keep" = 1 ] || rm -rf "$S"; }
trap cleanup EXIT

head -c "$size" /dev/urandom >"$S/stream"
python3 - "$S" <<'PY'
import io, os, random, sys, tarfile
rnd = random.Random(1)
with tarfile.open(os.path.join(sys.argv[1], "tree.tar"), "w") as t:
    for d in range(40):
        ti = tarfile.TarInfo("d%02d" % d)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        t.addfile(ti)
        for k in range(50):
            data = rnd.randbytes(rnd.randint(0, 16384))
            ti = tarfile.TarInfo("d%02d/f%03d" % (d, k))
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
with tarfile.open(os.path.join(sys.argv[1], "empty.tar"), "w") as t:
    for d in range(100):
        ti = tarfile.TarInfo("e%02d" % d)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        t.addfile(ti)
        for k in range(100):
            ti = tarfile.TarInfo("e%02d/f%03d" % (d, k))
            ti.size, ti.mode, ti.mtime = 0, 0o644, 1700000000
            t.addfile(ti, io.BytesIO(b""))
PY
truncate -s 1G "$S/base.img"
mke2fs -q -F -E nodiscard -t ext4 -b 4096 "$S/base.img" >/dev/null

# run WORKLOAD MODE: one run into a fresh copy of the image.
run() {
	local opts=()
	[ "$2" = inplace ] && opts=(--no-journal)
	cp --sparse=always "$S/base.img" "$S/img"
	case $1 in
	stream)	cat "$S/stream" | "$pcwrite" "${opts[@]}" "$S/img" /f ;;
	tree)	"$pcwrite" "${opts[@]}" -x "$S/img" / "$S/tree.tar" ;;
	empty)	"$pcwrite" "${opts[@]}" -x "$S/img" / "$S/empty.tar" ;;
	esac
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# The journal's blocks (one extent, as mke2fs makes it).
j0=$(debugfs -R "bmap <8> 0" "$S/base.img" 2>/dev/null)
jn=$(( $(debugfs -R "stat <8>" "$S/base.img" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -1) / 4096 ))

printf '%-8s %-10s %9s %9s %9s %8s %8s %8s %8s\n' workload mode median min max flushes tx jblocks ratio
for w in stream tree empty; do
	declare -A med
	for mode in journal inplace; do
		: >"$S/times.$mode"
	done
	for ((r = 0; r < runs; r++)); do
		for mode in journal inplace; do
			sync
			t0=$(date +%s.%N)
			run "$w" "$mode"
			t1=$(date +%s.%N)
			echo "$t1 - $t0" | bc >>"$S/times.$mode"
		done
	done
	for mode in journal inplace; do
		read -r m lo hi < <(median <"$S/times.$mode")
		med[$mode]=$m
		seq0=$(dumpe2fs -h "$S/base.img" 2>/dev/null | sed -n 's/^Journal sequence: *//p')
		strace -f -s 0 -e trace=fsync,fdatasync,pwrite64 -o "$S/strace" \
			bash -c "$(declare -f run); S='$S' pcwrite='$pcwrite'; run $w $mode" >/dev/null 2>&1
		fl=$(grep -cE '(fsync|fdatasync)\(' "$S/strace" || true)
		jb=$(awk -v a=$((j0 * 4096)) -v b=$(( (j0 + jn) * 4096 )) '
			/pwrite64\(/ { s = $0; sub(/\).*/, "", s); n = split(s, f, ", ");
				if (f[n] + 0 >= a && f[n] + 0 < b) t += f[n - 1] }
			END { print int(t / 4096) }' "$S/strace")
		seq1=$(dumpe2fs -h "$S/img" 2>/dev/null | sed -n 's/^Journal sequence: *//p')
		printf '%-8s %-10s %9.3f %9.3f %9.3f %8s %8s %8s %8s\n' "$w" "$mode" "$m" "$lo" "$hi" \
			"$fl" $(( seq1 - seq0 )) "$jb" \
			"$( [ "$mode" = inplace ] && echo "$(echo "scale=3; ${med[journal]} / $m" | bc)" || echo -)"
	done
	unset med
done
echo "seconds; tx: transactions (the journal superblock's sequence moved on by); jblocks: blocks written into the journal; ratio: journal / --no-journal median"
