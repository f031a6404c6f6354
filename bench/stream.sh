#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# stream.sh: one stream against the physical limit, in one invocation.
#
# Every row writes the same random input (default 256 MiB) into its own copy
# of one fresh 1 GiB ext4 image, page cache warm; the floor is the same
# bytes piped into the image with dd, into a hole past the filesystem's used
# blocks (no filesystem work at all).  Times are medians of -r runs
# (round-robin, sync before each) with their range; ratios are to the
# floor measured in the same run.  Then, outside the timed runs: user-space
# instructions per byte (callgrind) from a file and from a pipe, max RSS,
# write calls on the image (strace), and the file's extents against the
# kernel's for the same file on an identical image (a loop mount; root).
#
# Needs: e2fsprogs, valgrind, strace, GNU time; e2tools for the e2cp row.

set -euo pipefail
export LC_ALL=C
export PATH=/sbin:/usr/sbin:$PATH

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
size=$((256 << 20))
runs=7
pcwrite=$here/../pcwrite
scratch_parent=
keep=0

usage() {
	cat <<EOF
Usage: $prog [-s MIB] [-r RUNS] [-d DIR] [-p PCWRITE] [-k]

  -s MIB      input size in MiB (default 256; the 1 KiB-block rows use a quarter)
  -r RUNS     timed runs per row, median and range shown (default 7)
  -d DIR      scratch space (default: a mktemp directory; about 4 GiB)
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
pcwrite=$(realpath "$pcwrite")
for t in mke2fs debugfs e2fsck dd valgrind strace /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "$prog: $t not found" >&2; exit 1; }
done
have_e2cp=0
command -v e2cp >/dev/null && have_e2cp=1

W=$(realpath "$(mktemp -d -p "${scratch_parent:-${TMPDIR:-/tmp}}" pcwrite-stream.XXXXXX)")
cleanup() { if [ "$keep" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi; }
trap cleanup EXIT

small=$((size / 4))
head -c "$size" /dev/urandom >"$W/in"
head -c "$small" "$W/in" >"$W/in-small"
truncate -s 1G "$W/base4k.img"
mke2fs -q -F -t ext4 -b 4096 "$W/base4k.img"
truncate -s 1G "$W/base1k.img"
mke2fs -q -F -t ext4 -b 1024 "$W/base1k.img"
mkdir -p "$W/dtree"
ln "$W/in" "$W/dtree/f"
# The hole the floor writes into: past every used block of the image.
hole_mib=512

# --- the rows -------------------------------------------------------------
# Each is a function of the image; the input is $IN.
r_cat() { cat "$IN" >"$W/hostfile"; }
r_floor() { cat "$IN" | dd of="$1" bs=1M iflag=fullblock conv=notrunc seek=$hole_mib status=none; }
r_floor_sync() { cat "$IN" | dd of="$1" bs=1M iflag=fullblock conv=notrunc,fsync seek=$hole_mib status=none; }
r_pcw_nosync() { cat "$IN" | "$pcwrite" --no-sync "$1" /f; }
r_pcw() { cat "$IN" | "$pcwrite" "$1" /f; }
r_debugfs() { debugfs -w -R "write $IN f" "$1" >/dev/null 2>&1; }
r_e2cp() { e2cp "$IN" "$1:/f"; }
r_mke2fs_d() { rm -f "$1"; truncate -s 1G "$1"; mke2fs -q -F -t ext4 -d "$W/dtree" "$1"; }

declare -A T BASE INP
row() { # row NAME FUNCTION BASE-IMAGE INPUT
	ROWS+=("$1"); FN[$1]=$2; BASE[$1]=$3; INP[$1]=$4
}
declare -A FN
ROWS=()
row "cat > hostfile" r_cat "$W/base4k.img" "$W/in"
row "floor: cat | dd" r_floor "$W/base4k.img" "$W/in"
row "pcwrite --no-sync" r_pcw_nosync "$W/base4k.img" "$W/in"
row "floor, fsync" r_floor_sync "$W/base4k.img" "$W/in"
row "pcwrite" r_pcw "$W/base4k.img" "$W/in"
row "debugfs write" r_debugfs "$W/base4k.img" "$W/in"
row "mke2fs -d" r_mke2fs_d "$W/base4k.img" "$W/in"
((have_e2cp)) && row "e2cp" r_e2cp "$W/base4k.img" "$W/in"
row "1k: floor" r_floor "$W/base1k.img" "$W/in-small"
row "1k: pcwrite --no-sync" r_pcw_nosync "$W/base1k.img" "$W/in-small"
row "1k: debugfs write" r_debugfs "$W/base1k.img" "$W/in-small"
((have_e2cp)) && row "1k: e2cp" r_e2cp "$W/base1k.img" "$W/in-small"

for ((r = 1; r <= runs; r++)); do
	for name in "${ROWS[@]}"; do
		printf '\r  run %d/%d: %-24s' "$r" "$runs" "$name" >&2
		img=$W/x.img
		cp --sparse=always "${BASE[$name]}" "$img"
		rm -f "$W/hostfile"
		sync
		IN=${INP[$name]}
		t0=$EPOCHREALTIME
		"${FN[$name]}" "$img"
		t1=$EPOCHREALTIME
		T[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') "
		# pcwrite's result read back once
		if [[ $r == 1 && $name == *pcwrite* ]]; then
			e2fsck -fn "$img" >/dev/null 2>&1 || { echo "$prog: $name: e2fsck failed" >&2; exit 1; }
			debugfs -R "cat /f" "$img" 2>/dev/null | cmp -s - "$IN" ||
				{ echo "$prog: $name: data differ" >&2; exit 1; }
		fi
	done
done
printf '\r%60s\r' '' >&2

stat_of() { # "t t t" -> median min max
	tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
		printf "%.3f %.3f %.3f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
declare -A MED
echo "pcwrite $("$pcwrite" --version | head -n 1 | awk '{ print $NF }'), kernel $(uname -r), $(nproc) CPUs;" \
	"input $((size >> 20)) MiB ($((small >> 20)) MiB for 1 KiB blocks), $runs runs"
printf '%-24s %8s %17s %8s %8s %10s  %s\n' row median "range" "/ cat" "/ floor" "best/best" "against"
declare -A MIN
for name in "${ROWS[@]}"; do
	read -r med lo hi <<<"$(stat_of "${T[$name]}")"
	MED[$name]=$med
	MIN[$name]=$lo
done
for name in "${ROWS[@]}"; do
	case $name in
	"floor, fsync" | pcwrite | "debugfs write" | "mke2fs -d" | e2cp) ref="floor, fsync" ;;
	1k:*) ref="1k: floor" ;;
	*) ref="floor: cat | dd" ;;
	esac
	read -r med lo hi <<<"$(stat_of "${T[$name]}")"
	printf '%-24s %8s %17s %8s %8s %10s  %s\n' "$name" "$med" "$lo-$hi" \
		"$(awk -v a="$med" -v b="${MED["cat > hostfile"]}" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="$med" -v b="${MED[$ref]}" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="$lo" -v b="${MIN[$ref]}" 'BEGIN { printf "%.2f", a / b }')" "$ref"
done
echo "targets: pcwrite --no-sync <= 1.3 x floor; pcwrite (fsync) <= 1.15 x floor, fsync;" \
	"1k: pcwrite <= 3 x 1k floor"

# --- instructions, memory, write calls, extents ---------------------------
echo
cp --sparse=always "$W/base4k.img" "$W/c.img"
valgrind --tool=callgrind --callgrind-out-file="$W/cg.file" "$pcwrite" --no-sync "$W/c.img" /f "$W/in" 2>"$W/cg.file.log"
cp --sparse=always "$W/base4k.img" "$W/c.img"
cat "$W/in" | valgrind --tool=callgrind --callgrind-out-file="$W/cg.pipe" "$pcwrite" --no-sync "$W/c.img" /f 2>"$W/cg.pipe.log"
for k in file pipe; do
	ir=$(sed -n 's/.*I\s*refs:\s*\([0-9,]*\).*/\1/p' "$W/cg.$k.log" | tr -d ,)
	printf 'user instructions per byte, from a %s: %s (%s)\n' "$k" \
		"$(awk -v a="$ir" -v b="$size" 'BEGIN { printf "%.3f", a / b }')" "target <= 0.5"
done
for k in $((64 << 20)) $size; do
	head -c "$k" "$W/in" >"$W/in-rss"
	cp --sparse=always "$W/base4k.img" "$W/c.img"
	rss=$(cat "$W/in-rss" | /usr/bin/time -f %M "$pcwrite" --no-sync "$W/c.img" /f 2>&1 >/dev/null | tail -n 1)
	printf 'max RSS for %d MiB from a pipe: %.1f MiB (target <= 16, flat)\n' $((k >> 20)) "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
done
rm -f "$W/in-rss"
cp --sparse=always "$W/base4k.img" "$W/c.img"
cat "$W/in" | strace -f -qq -y -s 0 -o "$W/st" -e trace=pwrite64,write "$pcwrite" "$W/c.img" /f
data=$(awk -v p="<$W/c.img>" 'index($0, p) && match($0, /= [0-9]+$/) && substr($0, RSTART + 2) + 0 >= 1048576 { n++ } END { print n + 0 }' "$W/st")
meta=$(awk -v p="<$W/c.img>" 'index($0, p) && match($0, /= [0-9]+$/) && substr($0, RSTART + 2) + 0 < 1048576 { n++ } END { print n + 0 }' "$W/st")
echo "write calls on the image: $data data (target <= 64 per 256 MiB), $meta metadata"
ext=$(debugfs -R "ex /f" "$W/c.img" 2>/dev/null | awk '$1 ~ /^[0-9]+\/$/ && $1 + 0 == $2 + 0 { n++ } END { print n + 0 }')
if [ "$(id -u)" = 0 ] && [ -e /dev/loop-control ]; then
	cp --sparse=always "$W/base4k.img" "$W/k.img"
	mkdir -p "$W/mnt"
	if mount -o loop "$W/k.img" "$W/mnt" 2>/dev/null; then
		dd if="$W/in" of="$W/mnt/f" bs=$size status=none
		umount "$W/mnt"
		kext=$(debugfs -R "ex /f" "$W/k.img" 2>/dev/null | awk '$1 ~ /^[0-9]+\/$/ && $1 + 0 == $2 + 0 { n++ } END { print n + 0 }')
		echo "extents: pcwrite $ext, the kernel $kext (target: never more than the kernel's)"
	fi
else
	echo "extents: pcwrite $ext (the kernel's count needs root and loop devices)"
fi
