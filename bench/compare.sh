#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# compare.sh: pcwrite against the tools people use instead, in one invocation.
#
# Every writer puts the same random input into its own fresh copy of one fresh
# ext4 image; each result is read back (debugfs cat | cmp) and checked with
# e2fsck -fn.  Wall time and max RSS come from one run, the system calls against
# the image from a separate run under strace, so tracing never slows the timing.
# The output is ratios against pcwrite measured in the same invocation; no
# absolute number here means anything on another machine.
#
# Needs (Debian 12): e2fsprogs, strace, time (GNU /usr/bin/time), e2tools (e2cp;
# its row is skipped without it).

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	cat <<EOF
Usage: $prog [-a] [-s SIZE] [-r RUNS] [-d DIR] [-p PCWRITE] [-l LIMIT] [-k]
       $prog -m [-r RUNS] [-d DIR] [-p PCWRITE] [-l LIMIT] [-k]

Write SIZE bytes of random data into a fresh ext4 image with pcwrite (from a
pipe and from a file), debugfs -w write, e2cp, mke2fs -d and dd (raw floor);
print wall time, max RSS, write calls against the image, extents, and the
ratios of pcwrite to each.

  -s SIZE     input size, with K, M or G (binary) suffix (default 256M)
  -a          all of the README's table: then bench/stream.sh (one stream
              against the physical limit: dd floor, instructions per byte,
              write calls, extents against the kernel's) and bench/tree.sh
              (many files: -x and -R against debugfs -f, mke2fs -d, tar|dd)
  -m          memory mode: pcwrite alone at 64M, 256M and 1G input, to show
              that its max RSS does not grow with the input
  -r RUNS     timed runs per writer, the median is shown (default 3)
  -d DIR      scratch space: a directory is made inside DIR and removed at
              exit (default: a mktemp directory); needs about 8x SIZE, 3x 1G
              with -m
  -p PCWRITE  the pcwrite binary (default: $here/../pcwrite)
  -l LIMIT    pcwrite --dirty-limit (default 8M, pcwrite's own default)
  -k          keep the scratch directory
  -h          print this help and exit
EOF
}

die() { echo "$prog: $*" >&2; exit 1; }
bad_usage() { echo "$prog: $*" >&2; echo "Try '$prog -h' for more information." >&2; exit 2; }

# Bytes from "256M", "1G", "64MiB", "4096".
parse_size() {
	local s=$1 n unit
	[[ $s =~ ^([0-9]+)([KkMmGg]?)(i?B)?$ ]] || return 1
	n=${BASH_REMATCH[1]}
	unit=${BASH_REMATCH[2]^^}
	case $unit in
	K) n=$((n << 10)) ;;
	M) n=$((n << 20)) ;;
	G) n=$((n << 30)) ;;
	esac
	((n > 0)) || return 1
	echo "$n"
}

human() { # bytes -> "256 MiB" / "1 GiB" / "12.5 KiB"
	awk -v b="$1" 'BEGIN {
		split("B KiB MiB GiB TiB", u, " "); i = 1
		while (b >= 1024 && i < 5) { b /= 1024; i++ }
		if (b == int(b)) printf "%d %s", b, u[i]; else printf "%.1f %s", b, u[i] }'
}

size=$((256 << 20))
size_given=0
mem_mode=0
runs=3
scratch_parent=
pcwrite=$here/../pcwrite
dirty_limit=
keep=0
all=0
while getopts ":as:mr:d:p:l:kh" opt; do
	case $opt in
	s) size=$(parse_size "$OPTARG") || bad_usage "invalid size: '$OPTARG'"; size_given=1 ;;
	a) all=1 ;;
	m) mem_mode=1 ;;
	r) [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || bad_usage "invalid run count: '$OPTARG'"; runs=$OPTARG ;;
	d) scratch_parent=$OPTARG ;;
	p) pcwrite=$OPTARG ;;
	l) parse_size "$OPTARG" >/dev/null || bad_usage "invalid dirty limit: '$OPTARG'"; dirty_limit=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	:) bad_usage "option -$OPTARG needs an argument" ;;
	*) bad_usage "invalid option -- '$OPTARG'" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || bad_usage "unexpected argument: '$1'"
((mem_mode && size_given)) && bad_usage "-m and -s are mutually exclusive (-m uses 64M, 256M, 1G)"

# --- tools -----------------------------------------------------------------

[[ -x $pcwrite ]] || die "no pcwrite binary at $pcwrite (build it: make pcwrite, or give -p)"
pcwrite=$(realpath "$pcwrite")
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (apt-get install $2)"; }
need mke2fs e2fsprogs
need debugfs e2fsprogs
need e2fsck e2fsprogs
need strace strace
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
	die "GNU time not found at /usr/bin/time (apt-get install time)"
fi
have_e2cp=0
command -v e2cp >/dev/null 2>&1 && have_e2cp=1

pcw_opts=()
[[ -n $dirty_limit ]] && pcw_opts+=("--dirty-limit=$dirty_limit")
limit_bytes=$(parse_size "${dirty_limit:-8M}")
# The default keeps max RSS under 16 MiB; a larger limit adds itself.
rss_bound_kib=$(((limit_bytes + (8 << 20)) >> 10))

# --- scratch ---------------------------------------------------------------

if [[ -n $scratch_parent ]]; then
	[[ -d $scratch_parent ]] || die "scratch directory '$scratch_parent' does not exist"
	work=$(mktemp -d "$scratch_parent/pcwrite-bench.XXXXXX")
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/pcwrite-bench.XXXXXX")
fi
work=$(realpath "$work")
cleanup() {
	if ((keep)); then echo "scratch kept: $work" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((mem_mode)); then need_bytes=$((3 << 30)); else need_bytes=$((8 * size + (64 << 20))); fi
avail=$(($(df -Pk "$work" | awk 'NR == 2 { print $4 }') << 10))
((avail >= need_bytes)) ||
	die "scratch $work has $(human "$avail") free, needs about $(human "$need_bytes") (give -d DIR)"

# --- measurement -----------------------------------------------------------

# Wall clock: bash's own microsecond clock, no fork around the measured run.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
progress() { if [[ -t 2 ]]; then printf '%-48s\r' "$*" >&2; fi; }

# Fresh images: one ext4 image per input size, copied (sparse) for every run.
image_size_for() { # input bytes -> image bytes: 4x input, at least 1 GiB
	local s=$(($1 * 4))
	((s < (1 << 30))) && s=$((1 << 30))
	echo "$s"
}
make_base_image() { # path size
	truncate -s "$2" "$1"
	mke2fs -q -F -t ext4 "$1"
}

# Each writer is a function of (input, image) that writes input to /f in image.
# The wrappers run the timed process as $wrap ... so that the same function
# serves the timing run (wrap = /usr/bin/time) and the strace run.
# shellcheck disable=SC2002 # the pipe is the point: a stream of unknown length
w_pcwrite_pipe() { cat "$1" | "${wrap[@]}" "$pcwrite" "${pcw_opts[@]}" "$2" /f; }
w_pcwrite_file() { "${wrap[@]}" "$pcwrite" "${pcw_opts[@]}" "$2" /f "$1"; }
# debugfs exits 0 even when the write fails: the read-back below is the check.
w_debugfs() { "${wrap[@]}" debugfs -w -R "write \"$1\" f" "$2" >/dev/null 2>&1; }
w_e2cp() { "${wrap[@]}" e2cp "$1" "$2:/f"; }
# mke2fs -d builds the whole filesystem: it gets an empty file, not a copy.
w_mke2fs_d() { "${wrap[@]}" mke2fs -q -F -t ext4 -d "$work/dtree" "$2"; }
# Raw floor: the same bytes, no filesystem.  fsync like every other writer
# (pcwrite, debugfs, e2cp and mke2fs all fsync the image before exit).
w_dd() { "${wrap[@]}" dd if="$1" of="$2" bs=1M conv=notrunc,fsync status=none; }

# prepare WRITER IMAGE: the image the writer starts from
prepare() {
	rm -f -- "$2"
	if [[ $1 == mke2fs_d ]]; then
		truncate -s "$img_size" "$2"
	else
		cp --sparse=always "$base" "$2"
	fi
}

# timed WRITER INPUT IMAGE -> sets t_wall (s), t_rss (KiB), t_rc
timed() {
	local w=$1 t0 t1
	local -a wrap=(/usr/bin/time -f %M -o "$work/rss")
	: >"$work/rss"
	sync
	t_rc=0
	t0=$EPOCHREALTIME
	"w_$w" "$2" "$3" || t_rc=$?
	t1=$EPOCHREALTIME
	t_wall=$(elapsed "$t0" "$t1")
	# GNU time writes "Command exited with non-zero status N" before %M.
	t_rss=$(tail -n 1 "$work/rss")
	[[ $t_rss =~ ^[0-9]+$ ]] || t_rss=0
}

# traced WRITER INPUT IMAGE -> sets s_calls, s_bytes, s_syncs (against IMAGE)
traced() {
	local w=$1 log=$work/strace.log
	# shellcheck disable=SC2054 # the commas belong to strace's -e list
	local -a wrap=(strace -f -qq -y -s 0 -o "$log"
		-e trace=write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync)
	"w_$w" "$2" "$3" || true
	read -r s_calls s_bytes s_syncs < <(awk -v p="<$3>" '
		index($0, p) == 0 { next }
		/(fsync|fdatasync)\(/ { y++; next }
		{ n++; if (match($0, /= [0-9]+$/)) b += substr($0, RSTART + 2) }
		END { printf "%d %d %d\n", n, b, y }' "$log")
	rm -f -- "$log"
}

# check WRITER INPUT IMAGE -> sets c_data, c_fsck, c_ext, c_runs
check() {
	local w=$1 in=$2 img=$3
	if [[ $w == dd ]]; then
		c_fsck=n/a c_ext=n/a c_runs=n/a
		if cmp -s -n "$size" "$in" "$img"; then c_data=ok; else c_data=DIFF; fi
		return
	fi
	if debugfs -R "cat /f" "$img" 2>/dev/null | cmp -s - "$in"; then c_data=ok; else c_data=DIFF; fi
	if e2fsck -fn "$img" >/dev/null 2>&1; then c_fsck=ok; else c_fsck=ERR; fi
	# Leaf extents and tree depth; a block-mapped file has none.
	c_ext=$(debugfs -R "ex /f" "$img" 2>/dev/null | awk '
		$1 ~ /^[0-9]+\/$/ { d = $2 + 0; if ($1 + 0 == d) n++; depth = d; seen = 1 }
		END { if (seen) printf "%d (d%d)", n, depth; else print "blockmap" }')
	# Contiguous physical runs of the file's blocks (mapping blocks included
	# for block-mapped files, which interleave them with the data).
	c_runs=$(debugfs -R "blocks /f" "$img" 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++) { if (!started || $i != prev + 1) r++; prev = $i; started = 1 } }
		END { print r + 0 }')
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }
min_of() { printf '%s\n' "$@" | sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# bench WRITER... : timing runs round-robin (so drift hits every writer alike),
# then one strace run each.  Results in the assoc arrays below.
declare -A R_wall R_best R_range R_rss R_ok R_calls R_bytes R_syncs R_data R_fsck R_ext R_runs
bench() {
	local -a writers=("$@")
	local w r img=$work/img
	declare -A walls=() rsss=()
	for ((r = 1; r <= runs; r++)); do
		for w in "${writers[@]}"; do
			progress "  run $r/$runs $w"
			prepare "$w" "$img"
			timed "$w" "$input" "$img"
			walls[$w]+="$t_wall "
			rsss[$w]+="$t_rss "
			[[ $t_rc == 0 ]] || R_ok[$w]="exit $t_rc"
			# every timed result is checked; a bad one marks the writer
			check "$w" "$input" "$img"
			[[ $c_data == ok ]] || R_data[$w]=$c_data
			[[ $c_fsck == ok || $c_fsck == n/a ]] || R_fsck[$w]=$c_fsck
			: "${R_data[$w]:=$c_data}" "${R_fsck[$w]:=$c_fsck}"
			R_ext[$w]=$c_ext R_runs[$w]=$c_runs
			rm -f -- "$img"
		done
	done
	for w in "${writers[@]}"; do
		progress "  strace $w"
		prepare "$w" "$img"
		traced "$w" "$input" "$img"
		R_calls[$w]=$s_calls R_bytes[$w]=$s_bytes R_syncs[$w]=$s_syncs
		rm -f -- "$img"
		# shellcheck disable=SC2086
		R_wall[$w]=$(median ${walls[$w]})
		# shellcheck disable=SC2086
		R_best[$w]=$(min_of ${walls[$w]})
		# shellcheck disable=SC2086
		R_range[$w]=$(printf '%.3f-%.3f' "${R_best[$w]}" "$(max_of ${walls[$w]})")
		# shellcheck disable=SC2086
		R_rss[$w]=$(max_of ${rsss[$w]})
		: "${R_ok[$w]:=ok}"
	done
	progress ""
}

make_input() { # path bytes
	head -c "$2" /dev/urandom >"$1"
	[[ $(stat -c %s "$1") == "$2" ]] || die "could not make $(human "$2") of input in $work"
}

header() {
	echo "pcwrite $("$pcwrite" -V 2>/dev/null | head -n 1 | awk '{ print $NF }') ($pcwrite)"
	echo "e2fsprogs $(dpkg-query -W -f '${Version}' e2fsprogs 2>/dev/null || echo '?')," \
		"e2tools $( ((have_e2cp)) && dpkg-query -W -f '${Version}' e2tools 2>/dev/null || echo 'absent')," \
		"strace $(strace -V | awk 'NR == 1 { print $NF }')," \
		"kernel $(uname -r), $(nproc) CPUs"
	echo "scratch $work ($(df -PT "$work" | awk 'NR == 2 { print $2 }'))," \
		"wall: median of $runs timed run(s), range min-max; max RSS: the largest of them"
}

# --- compare mode ----------------------------------------------------------

compare_mode() {
	local -a writers=(pcwrite_pipe pcwrite_file debugfs)
	((have_e2cp)) && writers+=(e2cp)
	writers+=(mke2fs_d dd)
	declare -A label=(
		[pcwrite_pipe]="pcwrite (pipe)"
		[pcwrite_file]="pcwrite (file)"
		[debugfs]="debugfs -w write"
		[e2cp]="e2cp"
		[mke2fs_d]="mke2fs -d *"
		[dd]="dd raw floor **"
	)
	input=$work/input
	img_size=$(image_size_for "$size")
	base=$work/base.img
	make_input "$input" "$size"
	make_base_image "$base" "$img_size"
	mkdir -p "$work/dtree"
	ln "$input" "$work/dtree/f"

	# What mke2fs alone costs, to read the mke2fs -d row against.
	local mk=() r t0 t1
	for ((r = 1; r <= runs; r++)); do
		rm -f -- "$work/mk.img"
		truncate -s "$img_size" "$work/mk.img"
		sync
		t0=$EPOCHREALTIME
		mke2fs -q -F -t ext4 "$work/mk.img"
		t1=$EPOCHREALTIME
		mk+=("$(elapsed "$t0" "$t1")")
	done
	rm -f -- "$work/mk.img"
	local mkfs_alone
	mkfs_alone=$(median "${mk[@]}")

	bench "${writers[@]}"

	header
	echo "input $(human "$size") random, image $(human "$img_size") ext4 (mke2fs -q -F -t ext4)," \
		"pcwrite dirty limit ${dirty_limit:-8M}"
	echo
	printf '%-17s %8s %13s %8s %8s %9s %9s %6s %9s %6s %6s %5s %s\n' \
		writer "wall s" "range s" "MiB/s" "RSS MiB" "img wr" "avg wr" fsync extents runs data fsck status
	local w
	for w in "${writers[@]}"; do
		local avg=-
		((R_calls[$w] > 0)) && avg=$(human $((R_bytes[$w] / R_calls[$w])))
		printf '%-17s %8.3f %13s %8.1f %8s %9d %9s %6d %9s %6s %6s %5s %s\n' \
			"${label[$w]}" "${R_wall[$w]}" "${R_range[$w]}" \
			"$(awk -v s="$size" -v t="${R_wall[$w]}" 'BEGIN { printf "%.1f", s / 1048576 / t }')" \
			"$(mib "${R_rss[$w]}")" "${R_calls[$w]}" "$avg" "${R_syncs[$w]}" \
			"${R_ext[$w]}" "${R_runs[$w]}" "${R_data[$w]}" "${R_fsck[$w]}" "${R_ok[$w]}"
	done
	echo
	echo "  *  mke2fs -d builds a whole fresh image around the file; mke2fs alone on the same image: $(printf '%.3f' "$mkfs_alone") s"
	echo "  ** dd bs=1M conv=notrunc,fsync over the image file: the same bytes with no filesystem"
	echo "  img wr: write/pwrite64/writev/pwritev calls on the image (separate strace -f run); avg wr: bytes per call"
	echo "  extents: leaf extents (d = tree depth); runs: contiguous physical runs of the file's blocks"
	echo
	echo "ratios against pcwrite, same invocation"
	echo "  time: pcwrite's median time / other's median (< 1: pcwrite is faster); best: the same for the fastest runs"
	echo "  img wr: other's write calls on the image / pcwrite's (> 1: pcwrite makes that many times fewer)"
	printf '%-17s %10s %10s %10s %10s %13s %13s\n' other "time pipe" "time file" "best pipe" "best file" "img wr /pipe" "img wr /file"
	for w in "${writers[@]}"; do
		[[ $w == pcwrite_* ]] && continue
		printf '%-17s %10s %10s %10s %10s %13s %13s\n' "${label[$w]}" \
			"$(ratio "${R_wall[pcwrite_pipe]}" "${R_wall[$w]}")" \
			"$(ratio "${R_wall[pcwrite_file]}" "${R_wall[$w]}")" \
			"$(ratio "${R_best[pcwrite_pipe]}" "${R_best[$w]}")" \
			"$(ratio "${R_best[pcwrite_file]}" "${R_best[$w]}")" \
			"$(ratio "${R_calls[$w]}" "${R_calls[pcwrite_pipe]}")" \
			"$(ratio "${R_calls[$w]}" "${R_calls[pcwrite_file]}")"
	done
	echo
	local verdict fail=0
	for w in pcwrite_pipe pcwrite_file; do
		if ((R_rss[$w] < rss_bound_kib)); then verdict=yes; else verdict=NO; fail=1; fi
		printf 'max RSS %-15s %7s MiB < dirty limit + 8 MiB = %s MiB: %s\n' \
			"${label[$w]}" "$(mib "${R_rss[$w]}")" "$((rss_bound_kib >> 10))" "$verdict"
	done
	for w in "${writers[@]}"; do
		if [[ ${R_data[$w]} != ok || ${R_fsck[$w]} == ERR ]]; then
			echo "CHECK FAILED: ${label[$w]}: data ${R_data[$w]}, fsck ${R_fsck[$w]}"
			[[ $w != pcwrite_* ]] || fail=1
		fi
		if [[ $w == pcwrite_* && ${R_ok[$w]} != ok ]]; then
			echo "FAILED: ${label[$w]}: ${R_ok[$w]}"
			fail=1
		fi
	done
	return "$fail"
}

# --- memory mode -----------------------------------------------------------

mem_label() { case $1 in pcwrite_pipe) echo "pcwrite (pipe)" ;; *) echo "pcwrite (file)" ;; esac; }

mem_mode_run() {
	local -a sizes=($((64 << 20)) $((256 << 20)) $((1 << 30)))
	local s w ref fail=0
	declare -A first=() last=() lo=() hi=()
	header
	echo "pcwrite alone, dirty limit ${dirty_limit:-8M}; image 4x input (at least 1 GiB)"
	echo
	printf '%-9s %-15s %8s %8s %8s %8s %9s %6s %6s %5s\n' \
		input writer "wall s" "MiB/s" "RSS MiB" "RSS/64M" "img wr" extents data fsck
	for s in "${sizes[@]}"; do
		size=$s
		input=$work/input
		img_size=$(image_size_for "$size")
		base=$work/base.img
		rm -f -- "$input" "$base"
		make_input "$input" "$size"
		make_base_image "$base" "$img_size"
		R_ok=() R_data=() R_fsck=()
		bench pcwrite_pipe pcwrite_file
		for w in pcwrite_pipe pcwrite_file; do
			: "${first[$w]:=${R_rss[$w]}}"
			ref=${first[$w]}
			last[$w]=${R_rss[$w]}
			if [[ -z ${lo[$w]:-} ]] || ((R_rss[$w] < lo[$w])); then lo[$w]=${R_rss[$w]}; fi
			if [[ -z ${hi[$w]:-} ]] || ((R_rss[$w] > hi[$w])); then hi[$w]=${R_rss[$w]}; fi
			printf '%-9s %-15s %8.3f %8.1f %8s %8s %9d %15s %6s %5s\n' \
				"$(human "$size")" "$(mem_label "$w")" "${R_wall[$w]}" \
				"$(awk -v s="$size" -v t="${R_wall[$w]}" 'BEGIN { printf "%.1f", s / 1048576 / t }')" \
				"$(mib "${R_rss[$w]}")" "$(ratio "${R_rss[$w]}" "$ref")" \
				"${R_calls[$w]}" "${R_ext[$w]}" "${R_data[$w]}" "${R_fsck[$w]}"
			[[ ${R_ok[$w]} == ok && ${R_data[$w]} == ok && ${R_fsck[$w]} == ok ]] || fail=1
		done
	done
	rm -f -- "$input" "$base"
	echo
	for w in pcwrite_pipe pcwrite_file; do
		# Flat: the highest max RSS is within 10% (or 2 MiB) of the lowest.
		local verdict=flat under=yes
		if ((hi[$w] - lo[$w] > 2048 && hi[$w] * 10 > lo[$w] * 11)); then verdict="NOT flat"; fail=1; fi
		if ((hi[$w] >= rss_bound_kib)); then under=NO; fail=1; fi
		printf '%-15s max RSS %s..%s MiB, RSS(1 GiB)/RSS(64 MiB) = %s: %s; under %s MiB: %s\n' \
			"$(mem_label "$w")" "$(mib "${lo[$w]}")" "$(mib "${hi[$w]}")" \
			"$(ratio "${last[$w]}" "${first[$w]}")" "$verdict" "$((rss_bound_kib >> 10))" "$under"
	done
	return "$fail"
}

status=0
if ((mem_mode)); then mem_mode_run || status=$?; else compare_mode || status=$?; fi
if ((all)); then
	((keep)) || rm -rf -- "$work"	# the next two make their own
	echo
	echo "== one stream against the physical limit (bench/stream.sh)"
	"$here/stream.sh" -p "$pcwrite" ${scratch_parent:+-d "$scratch_parent"} || status=1
	echo
	echo "== many files (bench/tree.sh)"
	"$here/tree.sh" -r "$runs" -p "$pcwrite" ${scratch_parent:+-d "$scratch_parent"} || status=1
fi
exit "$status"
