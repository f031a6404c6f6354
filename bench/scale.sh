#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scale.sh: issue 17's Must-show, in one invocation: memory and time against
# the number of entries, against the byte floor, against the anchors, sparse
# files, depth, and image writes per entry.
#
#   memory  (-m)  pcwrite -x and -R of /usr (-x reads a tar of it made once)
#                 and of a synthetic tree of 20 levels (N/10 directories,
#                 N/1000 hard-link groups) at 100,000 and 1,000,000 entries
#                 (bench/gentar.py writes it as a tar; -R reads the 100,000
#                 one extracted on the host), 64 GiB images: time, max RSS,
#                 and the time ratio 1M / 100k
#   floor   (-f)  /usr/share: pcwrite -x of its tar / cat ARCHIVE > file;
#                 -x of the tar.zst / max(zstd -dc, -x of the tar); -R of a
#                 cold tree / tar c | cat > file (caches dropped before
#                 each); beside the anchors: mke2fs -d, genext2fs, the
#                 kernel's tar x and cp -a on a loop mount (mount to umount);
#                 and, as the floor row's own bound, the members' data
#                 written as files into a sparse file with no filesystem
#                 at all (bench/floorprobe.c; a pwrite a piece, and gathered)
#   sparse  (-s)  a 1 TiB file holding three 4 KiB pieces: -x of a GNU and
#                 a pax sparse tar, -R of the host file, beside the
#                 kernel's tar -xS and mke2fs -d (a timeout, not minutes)
#   depth   (-d)  chains of 2,500 / 5,000 / 10,000 directories: -x time per
#                 archive byte and the ratio 10,000 / 2,500; -R of the
#                 10,000-deep host tree
#   writes  (-w)  write calls and bytes on the image per entry, /usr, -x
#                 and -R (strace, outside the timed runs)
#
# Every run gets a fresh image and is checked with e2fsck -fn (a failure
# marks the row); the synthetic and depth rows also check the counts of
# directories, regular files and symlinks e2fsck reports.  Times are
# medians of -r runs, round-robin within a section; ratios are between
# rows measured in the same invocation.  Nothing here asserts on time: the
# exit status is 1 only when a row failed (a command's error, a timeout,
# e2fsck, a count), 2 for a usage error.

set -uo pipefail
export LC_ALL=C
export PATH=/sbin:/usr/sbin:$PATH

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
runs=5
pcwrite=$here/../pcwrite
scratch_parent=${TMPDIR:-/tmp}
keep=0
quick=0
budget=600
tmo=30
sparse_size=
big_host=0
usr=/usr
share=/usr/share
sections=

usage() {
	cat <<EOF
Usage: $prog [-q] [-m] [-f] [-s] [-d] [-w] [OPTION...]

Sections (default: all of them):
  -m          memory and time against the number of entries
  -f          /usr/share against the floor and the anchors
  -s          sparse files
  -d          depth
  -w          image writes per entry
  -q          quick: 100,000-entry scale only, /usr/share where /usr was,
              a 1 GiB sparse file, depths 2,500 and 5,000 only

Options:
  -r RUNS     timed runs per row, the median is shown (default 5)
  -b SECONDS  budget of a row: no further run once its runs and checks
              would pass it (default 600); the table says how many ran
  -t SECONDS  timeout of a sparse run; "> SECONDS" is reported (default 30)
  -z SIZE     apparent size of the sparse file (truncate's suffixes;
              default 1T, 1G with -q)
  -B          also extract the 1,000,000-entry tree on the host and run -R
              on it (a million host files; about 5 GiB)
  -u DIR      the big real tree (default /usr)
  -a DIR      the small real tree (default /usr/share)
  -T DIR      scratch space (default \$TMPDIR or /tmp; 25 GiB for the whole
              run with /usr, the images are sparse)
  -p PCWRITE  the pcwrite binary (default: $here/../pcwrite)
  -k          keep the scratch directory
  -h          print this help and exit
EOF
}

while getopts ":mfsdwqr:b:t:z:Bu:a:T:p:kh" opt; do
	case $opt in
	m | f | s | d | w) sections+=$opt ;;
	q) quick=1 ;;
	r) runs=$OPTARG ;;
	b) budget=$OPTARG ;;
	t) tmo=$OPTARG ;;
	z) sparse_size=$OPTARG ;;
	B) big_host=1 ;;
	u) usr=$OPTARG ;;
	a) share=$OPTARG ;;
	T) scratch_parent=$OPTARG ;;
	p) pcwrite=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) echo "$prog: bad option -$OPTARG" >&2; usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || { usage >&2; exit 2; }
[ -n "$sections" ] || sections=mfsdw
want() { [[ $sections == *$1* ]]; }
if ((quick)); then
	usr=$share
	: "${sparse_size:=1G}"
fi
: "${sparse_size:=1T}"
depths="2500 5000 10000"
((quick)) && depths="2500 5000"
deepest=${depths##* }

pcwrite=$(realpath "$pcwrite")
[ -x "$pcwrite" ] || { echo "$prog: $pcwrite is not executable" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$prog: run as root (loop mounts, drop_caches)" >&2; exit 2; }
need=(mke2fs e2fsck debugfs tar python3 timeout /usr/bin/time)
want f && need+=(zstd genext2fs mount umount)
want s && need+=(mount umount)
want w && need+=(strace)
for t in "${need[@]}"; do
	command -v "$t" >/dev/null || {
		echo "$prog: $t not found (apt-get install e2fsprogs tar zstd genext2fs strace time)" >&2
		exit 2
	}
done
no_journal=0
"$pcwrite" --help 2>/dev/null | grep -q -- '--no-journal' && no_journal=1

W=$(realpath "$(mktemp -d -p "$scratch_parent" pcwrite-scale.XXXXXX)")
MNT=$W/mnt
mkdir -p "$MNT"
cleanup() {
	mountpoint -q "$MNT" && umount "$MNT"
	local f
	for f in "$W"/*.img; do
		[ -e "$f" ] || continue
		losetup -j "$f" -O NAME --noheadings 2>/dev/null | xargs -r -n1 losetup -d
	done
	if [ "$keep" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }
die() { echo "$prog: $*" >&2; exit 1; }
now() { echo "$EPOCHREALTIME"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# shorten TEXT: a message naming a 20,000-byte path keeps its ends
shorten() { awk '{ if (length($0) > 180) $0 = substr($0, 1, 70) " [... " length($0) - 140 " bytes ...] " substr($0, length($0) - 69); print }'; }

# --- images ---------------------------------------------------------------
mkbase() { # mkbase NAME SIZE [mke2fs options]: the base image each run copies
	local f=$W/base-$1.img
	[ -e "$f" ] && return
	truncate -s "$2" "$f" && mke2fs -q -F -t ext4 "${@:3}" "$f" || die "mke2fs of $f failed"
}

# --- rows -----------------------------------------------------------------
# row NAME FUNCTION BASE: BASE is a base image name (copied to $IMG before
# each run, then e2fsck -fn), "new" ($IMG does not exist, the row makes it;
# then e2fsck -fn) or "-" (no image).  Extras, by name: COLD (drop caches
# before), TMO (the timeout, seconds), EXPECT ("DIRS FILES SYMLINKS" that
# e2fsck -fnv must count), CHK (a function of $IMG, prints a note and fails).
declare -A FN BASE COLD TMO EXPECT CHK TIMES RSS STATE NOTE SPENT NRUN
ROWS=()
failed=0
row() {
	ROWS+=("$1")
	FN[$1]=$2 BASE[$1]=$3 TIMES[$1]= RSS[$1]= STATE[$1]= NOTE[$1]= SPENT[$1]=0 NRUN[$1]=0
}
skip() { # skip NAME REASON: a row in the table that does not run
	ROWS+=("$1")
	STATE[$1]=skipped NOTE[$1]=$2 TIMES[$1]= RSS[$1]= NRUN[$1]=0
}

# the measured process, under GNU time (max RSS) and a timeout (0: none)
rsst() { /usr/bin/time -o "$W/rss" -f %M "$@"; }
pcw() { rsst timeout -s TERM "$T_OUT" "$pcwrite" "$@"; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

fsck_count() { # fsck_count KIND: a count from e2fsck -fnv's summary
	awk -v k="$1" '$1 ~ /^[0-9]+$/ && substr($0, index($0, $2)) ~ "^" k { print $1; exit }' "$W/fsck.log"
}

one_run() {
	local name=$1 base=${BASE[$1]} t0 t1 rc s0 note=
	s0=$(now)
	IMG=$W/run.img
	rm -f "$IMG" "$W/rss" "$W/copy" "$W/err"
	case $base in
	-) IMG= ;;
	new) ;;
	*) cp --sparse=always "$W/base-$base.img" "$IMG" ;;
	esac
	sync
	if [ -n "${COLD[$name]:-}" ]; then
		drop_caches 2>/dev/null || NOTE[$name]="warm: could not drop caches"
	fi
	T_OUT=${TMO[$name]:-0}
	t0=$(now)
	"${FN[$name]}" >/dev/null 2>"$W/err"
	rc=$?
	t1=$(now)
	NRUN[$name]=$((NRUN[$name] + 1))
	if [ "$T_OUT" != 0 ] && [ $rc = 124 ]; then
		STATE[$name]=timeout
		TIMES[$name]+="> $T_OUT "
		note="> $T_OUT s: timed out (-t)"
	else
		TIMES[$name]+="$(sub "$t0" "$t1") "
		if [ $rc != 0 ]; then
			STATE[$name]=failed
			note="exit $rc: $(grep -v '^Command exited' "$W/err" | tail -n 1 | shorten)"
		fi
	fi
	[ -s "$W/rss" ] && RSS[$name]+="$(tail -n 1 "$W/rss") "
	if [ -n "$IMG" ]; then
		if [ ! -e "$IMG" ]; then
			STATE[$name]=failed note+="${note:+; }no image"
		elif ! e2fsck -fnv "$IMG" >"$W/fsck.log" 2>&1; then
			STATE[$name]=failed note+="${note:+; }e2fsck -fn failed (log: $W/fsck-${NRUN[$name]}-${name//[^A-Za-z0-9]/_}.log)"
			cp "$W/fsck.log" "$W/fsck-${NRUN[$name]}-${name//[^A-Za-z0-9]/_}.log"
			keep=1
		else
			local d f s
			d=$(fsck_count "director(y|ies)$") f=$(fsck_count "regular files?$") s=$(fsck_count "symbolic links?")
			if [ -n "${EXPECT[$name]:-}" ] && [ "$d $f $s" != "${EXPECT[$name]}" ]; then
				[ -z "${STATE[$name]}" ] && STATE[$name]=failed
				note+="${note:+; }image holds $d directories, $f files, $s symlinks; expected ${EXPECT[$name]}"
			fi
			if [ -z "${STATE[$name]}" ] && [ -n "${CHK[$name]:-}" ]; then
				local c
				c=$("${CHK[$name]}" 2>&1) || { STATE[$name]=failed note+="${note:+; }$c"; }
			fi
		fi
		rm -f "$IMG"
	fi
	rm -f "$W/copy"
	[ -n "$note" ] && NOTE[$name]+="${NOTE[$name]:+; }$note"
	[ -n "${STATE[$name]}" ] && [ "${STATE[$name]}" != budget ] && failed=1
	SPENT[$name]=$(awk -v s="${SPENT[$name]}" -v a="$s0" -v b="$(now)" 'BEGIN { print s + b - a }')
	# one more run would take the row past its budget
	if [ -z "${STATE[$name]}" ] && [ "${NRUN[$name]}" -lt "$runs" ] &&
		awk -v s="${SPENT[$name]}" -v n="${NRUN[$name]}" -v b="$budget" 'BEGIN { exit !(s + s / n > b) }'; then
		STATE[$name]=budget
		NOTE[$name]+="${NOTE[$name]:+; }${NRUN[$name]} of $runs runs: a row's budget is $budget s (-b)"
	fi
}

stats() { # "t t t" -> "median min max", or nothing
	tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR) printf "%.3f %.3f %.3f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
declare -A MED
run_section() { # run_section KEY TITLE
	local r name med lo hi rss key=$1
	shift
	for ((r = 1; r <= runs; r++)); do
		for name in "${ROWS[@]}"; do
			[ -z "${STATE[$name]}" ] || continue
			[ "${NRUN[$name]}" -lt "$r" ] || continue
			log "  $key, run $r/$runs: $name"
			one_run "$name"
		done
	done
	echo
	echo "### $1"
	echo
	echo "| row | runs | median s | range s | max RSS MiB | check |"
	echo "|---|---|---|---|---|---|"
	for name in "${ROWS[@]}"; do
		read -r med lo hi <<<"$(stats "${TIMES[$name]}")"
		MED[$name]=${med:-}
		rss=$(tr ' ' '\n' <<<"${RSS[$name]}" | grep . | sort -n | tail -n 1)
		local shown=${med:--} range=-
		[ -n "${med:-}" ] && range="$lo–$hi"
		case ${STATE[$name]} in
		timeout) shown="> ${TMO[$name]}" ;;
		skipped) shown=skipped ;;
		esac
		[ "${STATE[$name]}" = failed ] && [ -n "${med:-}" ] && shown="$med (failed)"
		local check=ok
		case ${STATE[$name]} in
		failed) check="FAILED: ${NOTE[$name]}" ;;
		timeout) check="timed out: ${NOTE[$name]}" ;;
		skipped) check="skipped: ${NOTE[$name]}" ;;
		*) [ -n "${NOTE[$name]}" ] && check="ok; ${NOTE[$name]}" ;;
		esac
		[ -z "${BASE[$name]:-}" ] || [ "${BASE[$name]}" = - ] && [ "$check" = ok ] && check="-"
		rss=${rss:+$(mib "$rss")}
		check=${check//|/\\|}
		printf '| %s | %s | %s | %s | %s | %s |\n' "${name//|/\\|}" "${NRUN[$name]}" "$shown" "$range" \
			"${rss:--}" "$check"
	done
}
reset_rows() { ROWS=(); }

# ratio A B: MED[A] / MED[B], or n/a
ratio() {
	local a=${MED[$1]:-} b=${MED[$2]:-}
	if [ -n "$a" ] && [ -n "$b" ]; then awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'; else echo n/a; fi
}
maxrss() { # maxrss NAME: MiB
	local k
	k=$(tr ' ' '\n' <<<"${RSS[$1]:-}" | grep . | sort -n | tail -n 1)
	[ -n "$k" ] && mib "$k" || echo n/a
}
target() { # target LABEL VALUE BOUND: a line of the targets table
	local verdict=n/a v=${2#> }
	[[ $v =~ ^[0-9.]+$ ]] && verdict=$(awk -v v="$v" -v b="$3" -v over="${2%%[0-9]*}" 'BEGIN {
		print (v <= b && over == "") ? "met" : (v >= b) ? "missed" : "n/a" }')
	local label=$1
	printf '| %s | %s | ≤ %s | %s |\n' "${label//|/\\|}" "$2" "$3" "$verdict"
}
targets_head() {
	echo
	echo "| target | measured | bound | |"
	echo "|---|---|---|---|"
}

# --- the header -----------------------------------------------------------
echo "## scale.sh: $(date -u +%Y-%m-%d)"
echo
echo "pcwrite $("$pcwrite" --version | head -n 1 | awk '{ print $NF }')" \
	"($(git -C "$here/.." describe --always --dirty 2>/dev/null || echo '?')), kernel $(uname -r)," \
	"$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $runs runs a row (budget $budget s);" \
	"sections $sections$( ((quick)) && echo ', quick'); scratch $W" \
	"($(df -h --output=avail "$W" | tail -n 1 | tr -d ' ') free)"
((no_journal)) || echo "(this pcwrite has no --no-journal: its rows are the only ones; the journal rows come with it)"

# =========================================================================
# inputs, made once
if want m || want w; then
	if ((!quick)); then
		log "tar of $usr ..."
		tar -C "$usr" --one-file-system -cf "$W/usr.tar" . 2>"$W/tar.err" || [ $? = 1 ] ||
			{ cat "$W/tar.err" >&2; exit 1; }
	fi
fi
if want f || { ((quick)) && { want m || want w; }; }; then
	log "tar and tar.zst of $share ..."
	tar -C "$share" --one-file-system -cf "$W/share.tar" . 2>"$W/tar.err" || [ $? = 1 ] ||
		{ cat "$W/tar.err" >&2; exit 1; }
	if want f; then zstd -q -T0 -o "$W/share.tar.zst" "$W/share.tar" || die "zstd failed"; fi
fi
((quick)) && [ -e "$W/share.tar" ] && ln -f "$W/share.tar" "$W/usr.tar"

# =========================================================================
if want m; then
	mkbase 64g 64G
	log "synthetic trees ..."
	declare -A GEN
	for n in 100000 1000000; do
		((quick && n > 100000)) && continue
		GEN[$n]=$(python3 "$here/gentar.py" tree $n "$W/t$n.tar") || exit 1
	done
	mkdir "$W/host100000" && tar -xf "$W/t100000.tar" -C "$W/host100000" || die "tar x of the 100k tree failed"
	if ((big_host && !quick)); then
		mkdir "$W/host1000000" && tar -xf "$W/t1000000.tar" -C "$W/host1000000" || die "tar x of the 1M tree failed"
	fi
	expect_of() { # the e2fsck counts gentar.py's line promises
		local d f s
		d=$(sed -n 's/.*dirs=\([0-9]*\).*/\1/p' <<<"$1")
		f=$(sed -n 's/.*files=\([0-9]*\).*/\1/p' <<<"$1")
		s=$(sed -n 's/.*symlinks=\([0-9]*\).*/\1/p' <<<"$1")
		echo "$((d + 2)) $f $s"
	}
	usrx() { pcw -x "$IMG" / "$W/usr.tar"; }
	usrR() { pcw -R "$IMG" / "$usr"; }
	t100kx() { pcw -x "$IMG" / "$W/t100000.tar"; }
	t1Mx() { pcw -x "$IMG" / "$W/t1000000.tar"; }
	t100kR() { pcw -R "$IMG" / "$W/host100000"; }
	t1MR() { pcw -R "$IMG" / "$W/host1000000"; }
	reset_rows
	U=${usr%/}
	row "$U: -x of its tar" usrx 64g
	row "$U: -R" usrR 64g
	row "100k synthetic: -x" t100kx 64g
	EXPECT["100k synthetic: -x"]=$(expect_of "${GEN[100000]}")
	row "100k synthetic: -R" t100kR 64g
	EXPECT["100k synthetic: -R"]=$(expect_of "${GEN[100000]}")
	if ((quick)); then
		skip "1M synthetic: -x" "-q; run without -q"
		skip "1M synthetic: -R" "-q; run without -q, with -B"
	else
		row "1M synthetic: -x" t1Mx 64g
		EXPECT["1M synthetic: -x"]=$(expect_of "${GEN[1000000]}")
		if ((big_host)); then
			row "1M synthetic: -R" t1MR 64g
			EXPECT["1M synthetic: -R"]=$(expect_of "${GEN[1000000]}")
		else
			skip "1M synthetic: -R" "the million-file host tree is made only with -B (bench/scale.sh -m -B)"
		fi
	fi
	run_section memory "Memory and time against entries (64 GiB images; synthetic: ${GEN[100000]}${GEN[1000000]:+; ${GEN[1000000]}})"
	targets_head
	for name in "${ROWS[@]}"; do
		[ "${STATE[$name]}" = skipped ] || target "max RSS, $name (MiB)" "$(maxrss "$name")" 32
	done
	target "time 1M / 100k, -x" "$(ratio "1M synthetic: -x" "100k synthetic: -x")" 10.5
	target "time 1M / 100k, -R" "$(ratio "1M synthetic: -R" "100k synthetic: -R")" 10.5
	rm -rf "$W/host100000" "$W/host1000000" "$W/t1000000.tar"
	rm -f "$W/base-64g.img"
fi

# =========================================================================
if want f; then
	mkbase 4g 4G
	S=${share%/}
	nblocks=$(($(stat -c %s "$W/base-4g.img") / 4096))
	ninodes=$(dumpe2fs -h "$W/base-4g.img" 2>/dev/null | awk -F: '/^Inode count/ { print $2 + 0 }')
	catfloor() { cat "$W/share.tar" >"$W/copy" && sync "$W/copy"; }
	# the same bytes into a sparse file as files (no filesystem): what the
	# floor row leaves to the filesystem (bench/floorprobe.c)
	probe() { truncate -s 4G "$W/copy" && rsst "$W/floorprobe" "$@" "$W/share.tar" "$W/copy" 0; }
	probe1() { probe; }
	probeg() { probe -g; }
	px() { pcw -x "$IMG" / "$W/share.tar"; }
	pxnj() { pcw --no-journal -x "$IMG" / "$W/share.tar"; }
	zst() { zstd -q -dc "$W/share.tar.zst" >/dev/null; }
	pxz() { pcw -x "$IMG" / "$W/share.tar.zst"; }
	tarcat() { tar -C "$S" -cf - . | cat >"$W/copy" && sync "$W/copy"; }
	pR() { pcw -R "$IMG" / "$S"; }
	pRnj() { pcw --no-journal -R "$IMG" / "$S"; }
	mk() { truncate -s 4G "$IMG" && rsst mke2fs -q -F -t ext4 "$IMG"; }
	mkd() { truncate -s 4G "$IMG" && rsst mke2fs -q -F -t ext4 -d "$S" "$IMG"; }
	gen() { rsst genext2fs -B 4096 -b "$nblocks" -N "$ninodes" -d "$S" "$IMG" && sync "$IMG"; }
	ktar() {
		mount -o loop "$IMG" "$MNT" || return
		rsst tar -xf "$W/share.tar" -C "$MNT"
		local rc=$?
		umount "$MNT" && sync "$IMG" && return $rc
	}
	kcp() {
		mount -o loop "$IMG" "$MNT" || return
		rsst cp -a "$S/." "$MNT/"
		local rc=$?
		umount "$MNT" && sync "$IMG" && return $rc
	}
	reset_rows
	row "cat ARCHIVE > file; sync file" catfloor -
	if cc -O2 -o "$W/floorprobe" "$here/floorprobe.c" $(pkg-config --cflags --libs libarchive) -lpthread 2>"$W/cc.log"; then
		row "no filesystem: the members' data, a pwrite a piece" probe1 -
		row "no filesystem: the members' data, gathered into 1 MiB writes" probeg -
	else
		skip "no filesystem: the members' data, a pwrite a piece" "bench/floorprobe.c did not build: $(head -c 200 "$W/cc.log")"
	fi
	row "pcwrite -x ARCHIVE" px 4g
	((no_journal)) && row "pcwrite -x ARCHIVE --no-journal" pxnj 4g
	row "zstd -dc ARCHIVE.zst > /dev/null" zst -
	row "pcwrite -x ARCHIVE.zst" pxz 4g
	row "cold: tar c | cat > file; sync file" tarcat -
	COLD["cold: tar c | cat > file; sync file"]=1
	row "cold: pcwrite -R" pR 4g
	COLD["cold: pcwrite -R"]=1
	if ((no_journal)); then
		row "cold: pcwrite -R --no-journal" pRnj 4g
		COLD["cold: pcwrite -R --no-journal"]=1
	fi
	row "warm: pcwrite -R" pR 4g
	row "mke2fs (an empty image)" mk new
	row "mke2fs -d" mkd new
	row "genext2fs -d" gen new
	row "kernel: mount -o loop, tar x, umount" ktar 4g
	row "kernel: mount -o loop, cp -a, umount" kcp 4g
	run_section floor "$S against the floor and the anchors (4 GiB images; ARCHIVE: its tar, $(($(stat -c %s "$W/share.tar") >> 20)) MiB; zstd -3 $(($(stat -c %s "$W/share.tar.zst") >> 20)) MiB; $(tar -tf "$W/share.tar" | wc -l) members)"
	targets_head
	target "-x ARCHIVE / cat floor" "$(ratio "pcwrite -x ARCHIVE" "cat ARCHIVE > file; sync file")" 1.2
	((no_journal)) && target "-x ARCHIVE --no-journal / cat floor" "$(ratio "pcwrite -x ARCHIVE --no-journal" "cat ARCHIVE > file; sync file")" 1.2
	zref="zstd -dc ARCHIVE.zst > /dev/null"
	if [ -n "${MED[$zref]:-}" ] && [ -n "${MED[pcwrite -x ARCHIVE]:-}" ] &&
		awk -v a="${MED[pcwrite -x ARCHIVE]}" -v b="${MED[$zref]}" 'BEGIN { exit !(a > b) }'; then
		zref="pcwrite -x ARCHIVE"
	fi
	target "(no filesystem) a pwrite a piece / cat floor" "$(ratio "no filesystem: the members' data, a pwrite a piece" "cat ARCHIVE > file; sync file")" 1.2
	target "(no filesystem) gathered writes / cat floor" "$(ratio "no filesystem: the members' data, gathered into 1 MiB writes" "cat ARCHIVE > file; sync file")" 1.2
	target "-x ARCHIVE.zst / max(zstd -dc, -x ARCHIVE) [$zref]" "$(ratio "pcwrite -x ARCHIVE.zst" "$zref")" 1.1
	target "cold -R / cold tar c | cat floor" "$(ratio "cold: pcwrite -R" "cold: tar c | cat > file; sync file")" 1.2
	((no_journal)) && target "cold -R --no-journal / cold tar c | cat floor" "$(ratio "cold: pcwrite -R --no-journal" "cold: tar c | cat > file; sync file")" 1.2
	echo
	echo "| anchor | / pcwrite -x | / warm pcwrite -R |"
	echo "|---|---|---|"
	for name in "mke2fs -d" "genext2fs -d" "kernel: mount -o loop, tar x, umount" "kernel: mount -o loop, cp -a, umount"; do
		echo "| $name | $(ratio "$name" "pcwrite -x ARCHIVE") | $(ratio "$name" "warm: pcwrite -R") |"
	done
	rm -f "$W/base-4g.img" "$W/share.tar.zst"
fi

# =========================================================================
if want s; then
	mkbase 1g 1G
	mkdir -p "$W/sparse"
	SP=$W/sparse/f
	truncate -s "$sparse_size" "$SP" || die "cannot make a $sparse_size file"
	ssize=$(stat -c %s "$SP")
	for off in 0 $((ssize / 2 / 4096 * 4096)) $((ssize - 4096)); do
		head -c 4096 /dev/urandom | dd of="$SP" bs=4096 seek=$((off / 4096)) conv=notrunc status=none ||
			die "cannot write the sparse file"
	done
	tar --sparse --format=gnu -C "$W/sparse" -cf "$W/sparse-gnu.tar" f &&
		tar --sparse --format=pax -C "$W/sparse" -cf "$W/sparse-pax.tar" f || die "tar --sparse failed"
	sizechk() { # the file at /f has the sparse file's size and its data
		local s
		s=$(debugfs -R "stat /f" "$IMG" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n 1)
		[ "$s" = "$ssize" ] || { echo "/f has size '$s', expected $ssize"; return 1; }
	}
	sgnu() { pcw -x "$IMG" / "$W/sparse-gnu.tar"; }
	spax() { pcw -x "$IMG" / "$W/sparse-pax.tar"; }
	sR() { pcw -R "$IMG" / "$W/sparse"; }
	sktar() {
		mount -o loop "$IMG" "$MNT" || return
		rsst timeout -s TERM "$T_OUT" tar -xSf "$1" -C "$MNT"
		local rc=$?
		umount "$MNT" && sync "$IMG" && return $rc
	}
	skgnu() { sktar "$W/sparse-gnu.tar"; }
	skpax() { sktar "$W/sparse-pax.tar"; }
	smkd() { truncate -s 1G "$IMG" && rsst timeout -s TERM "$T_OUT" mke2fs -q -F -t ext4 -d "$W/sparse" "$IMG"; }
	reset_rows
	row "pcwrite -x, GNU sparse tar" sgnu 1g
	row "pcwrite -x, pax sparse tar" spax 1g
	row "pcwrite -R, the host file" sR 1g
	row "kernel: mount -o loop, tar -xS GNU, umount" skgnu 1g
	row "kernel: mount -o loop, tar -xS pax, umount" skpax 1g
	row "mke2fs -d" smkd new
	for name in "${ROWS[@]}"; do
		TMO[$name]=$tmo CHK[$name]=sizechk
	done
	run_section sparse "Sparse: a $sparse_size file ($ssize bytes) holding three 4 KiB pieces (0, the middle, the end); 1 GiB images; timeout $tmo s"
	targets_head
	for name in "pcwrite -x, GNU sparse tar" "pcwrite -x, pax sparse tar" "pcwrite -R, the host file"; do
		v=${MED[$name]:-}
		[ "${STATE[$name]}" = timeout ] && v="> $tmo"
		target "$name (s)" "${v:-n/a}" 0.5
	done
	rm -rf "$W/sparse" "$W"/sparse-*.tar "$W/base-1g.img"
fi

# =========================================================================
if want d; then
	mkbase 1g 1G
	declare -A DBYTES
	reset_rows
	for dd in $depths; do
		hostdir=
		if [ "$dd" = "$deepest" ]; then
			hostdir=$W/deep
			mkdir "$hostdir"
		fi
		python3 "$here/gentar.py" depth "$dd" "$W/d$dd.tar" $hostdir >/dev/null || exit 1
		DBYTES[$dd]=$(stat -c %s "$W/d$dd.tar")
		eval "dx$dd() { pcw -x \"\$IMG\" / \"\$W/d$dd.tar\"; }"
		row "-x, $dd deep" "dx$dd" 1g
		EXPECT["-x, $dd deep"]="$((dd + 2)) 1 0"
	done
	dR() { pcw -R "$IMG" / "$W/deep"; }
	row "-R, $deepest deep (host tree)" dR 1g
	EXPECT["-R, $deepest deep (host tree)"]="$((deepest + 2)) 1 0"
	((quick)) && skip "-x, 10000 deep" "-q; run without -q"
	run_section depth "Depth: a chain of directories \"a\", a file at the bottom; tars in GNU format; 1 GiB images"
	echo
	echo "| depth | archive bytes | median s | ns per archive byte |"
	echo "|---|---|---|---|"
	declare -A PERB
	for dd in $depths; do
		m=${MED["-x, $dd deep"]:-}
		PERB[$dd]=
		[ -n "$m" ] && PERB[$dd]=$(awk -v t="$m" -v b="${DBYTES[$dd]}" 'BEGIN { printf "%.1f", t / b * 1e9 }')
		echo "| $dd | ${DBYTES[$dd]} | ${m:-n/a} | ${PERB[$dd]:-n/a} |"
	done
	targets_head
	r=n/a
	[ -n "${PERB[$deepest]}" ] && [ -n "${PERB[2500]}" ] &&
		r=$(awk -v a="${PERB[$deepest]}" -v b="${PERB[2500]}" 'BEGIN { printf "%.2f", a / b }')
	target "time per archive byte, $deepest / 2500 deep" "$r" 2
	rm -rf "$W/deep" "$W"/d*.tar "$W/base-1g.img"
fi

# =========================================================================
if want w; then
	mkbase 64g 64G
	# strace -y names the image in each call; sum the calls and bytes on it
	straced() { # straced LABEL ENTRIES pcwrite-args... (the image is $W/run.img)
		local label=$1 entries=$2
		shift 2
		cp --sparse=always "$W/base-64g.img" "$W/run.img"
		strace -f -qq -y -s 0 -o "$W/strace.log" \
			-e trace=pwrite64,pwritev,pwritev2,write,writev,fsync,fdatasync,sync_file_range \
			"$pcwrite" "$@" >/dev/null 2>"$W/err"
		local rc=$? chk=ok
		[ $rc = 0 ] || chk="FAILED: exit $rc: $(tail -n 1 "$W/err" | shorten)"
		e2fsck -fn "$W/run.img" >/dev/null 2>&1 || chk="FAILED: e2fsck -fn${chk#ok}"
		[ "$chk" = ok ] || failed=1
		awk -v p="<$W/run.img>" -v label="$label" -v n="$entries" -v chk="$chk" '
			index($0, p) && match($0, /= -?[0-9]+$/) {
				r = substr($0, RSTART + 2) + 0
				if ($0 ~ /(^|[ \t])pwrite64\(/) { pw++; pwb += r }
				else if ($0 ~ /(^|[ \t])(write|writev|pwritev|pwritev2)\(/) { ow++; owb += r }
				else if ($0 ~ /(^|[ \t])(fsync|fdatasync|sync_file_range)\(/) { fs++ }
			}
			END {
				printf "| %s | %d | %d | %.0f | %.3f | %.0f | %d | %d | %s |\n", label, n, pw, pwb,
					pw / n, pwb / n, ow, fs, chk
			}' "$W/strace.log"
		rm -f "$W/run.img" "$W/strace.log"
	}
	U=${usr%/}
	log "  writes: strace of -x and -R of $U"
	echo
	echo "### Image writes per entry, $U (strace -f -y, one run each, not timed; 64 GiB images)"
	echo
	echo "| run | entries | pwrite64 calls | pwrite64 bytes | calls / entry | bytes / entry | other write calls | fsyncs | check |"
	echo "|---|---|---|---|---|---|---|---|---|"
	xn=$(tar -tf "$W/usr.tar" | grep -cv '^\./$')
	straced "-x of the tar of $U" "$xn" -x "$W/run.img" / "$W/usr.tar"
	rn=$(find "$U" -xdev -mindepth 1 | wc -l)
	straced "-R $U" "$rn" -R "$W/run.img" / "$U"
	echo
	echo "(data: $(du -s --apparent-size -B1M "$U" | cut -f1) MiB of apparent size in $U)"
	rm -f "$W/base-64g.img"
fi

echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
