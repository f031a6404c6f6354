#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# kill9.bats: pcwrite killed with SIGKILL, which it cannot catch.  The
# README's promise: the image is marked not clean, `e2fsck -fy` repairs it,
# and every file reported done before the kill is intact.
#
# Several SOURCEs go into a directory in one run.  The SOURCEs are FIFOs fed
# by the test, so it decides where the run is when it is killed: sources
# 1..N are fed whole, source N+1 half (its writer keeps it open), and the
# kill comes once the report file holds N "file" records (pcwrite flushes
# each one).  Killed there, N files are done, one is half written.
#
# Then -x of a 3,000-entry tar killed at many moments: from outside (kill -9
# once the report holds K records) and from inside (tests/eio_shim.c: just
# before the image's Nth write, aimed at commits too).  What the kill may
# leave is what tests/killcheck.py allows, from the order lib/io.h gives a
# commit; then the kernel mounts the image read-write before any fsck and
# makes names in every directory pcwrite reported, and after e2fsck -fy
# every reported entry is whole and none is in lost+found.  More moments:
# PCW_KILL9_KILLS=N (default 8) and PCW_KILL9_POINTS=N (default 16).

load test_helper
load kernel_helper

# Two 3,000-entry tars, the trees they hold, and the crash-point shim.
setup_file() {
	local f=$BATS_FILE_TMPDIR
	python3 - "$f" <<'PY'
import io, os, random, sys, tarfile
# x3000: 30 directories of 3 of 32 files of 0-6000 bytes; x3000b: the same
# names, other contents and sizes (a second run replaces every file)
for name, seed, most in (("x3000", 7, 6000), ("x3000b", 8, 9000)):
    rnd = random.Random(seed)
    with tarfile.open(os.path.join(sys.argv[1], name + ".tar"), "w") as t:
        for d in range(30):
            for dn in ["d%02d" % d] + ["d%02d/s%d" % (d, s) for s in range(3)]:
                ti = tarfile.TarInfo(dn)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1700000000
                t.addfile(ti)
                if "/" not in dn:
                    continue
                for k in range(32):
                    data = rnd.randbytes(rnd.randint(0, most))
                    ti = tarfile.TarInfo("%s/f%03d" % (dn, k))
                    ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
                    t.addfile(ti, io.BytesIO(data))
PY
	mkdir "$f/x3000" "$f/x3000b"
	tar -C "$f/x3000" -xf "$f/x3000.tar"
	tar -C "$f/x3000b" -xf "$f/x3000b.tar"
	cc -shared -fPIC -o "$f/eio_shim.so" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	W=$BATS_TEST_TMPDIR
	mkimg "$IMG" 64M -t ext4 -b 4096
	[ ! -f "$BATS_FILE_TMPDIR/eio_shim.so" ] || cp "$BATS_FILE_TMPDIR/eio_shim.so" "$W/"
	PID=
	FEEDERS=()
	FAST=
}

teardown() {
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
	for p in "${FEEDERS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	tmpfs_umount "${FAST:-}"
	kernel_teardown
}

# file_records REPORT: the "file" records of a JSON Lines report
file_records() {
	if [ -f "$1" ]; then
		grep -c '"event":"file"' "$1" || true
	else
		echo 0
	fi
}

# wait_for COUNT REPORT [SECONDS]: until REPORT holds COUNT file records
# (10 s at most, or SECONDS)
wait_for() {
	local k
	for k in $(seq $((${3:-10} * 20))); do
		[ "$(file_records "$2")" -ge "$1" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "pcwrite did not report $1 files (report: $(file_records "$2"))" >&2
	return 1
}

# after_kill: the image says it needs a check, e2fsck -fy repairs it, and
# every file reported ok reads back exactly.
after_kill() {
	local report=$1 rec path name
	run e2fsck -fn "$IMG"
	if [ "$status" -eq 0 ]; then
		# no problem found: then the superblock must say not clean
		dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *not clean'
	fi
	run e2fsck -fy "$IMG"
	echo "e2fsck -fy: $status"
	echo "$output" | head -40
	[ "$status" -lt 4 ]
	fsck_clean "$IMG"
	grep '"event":"file"' "$report" >"$W/records" || true
	while read -r rec; do
		[[ "$rec" =~ \"status\":\"ok\" ]] || continue
		[[ "$rec" =~ \"file\":\"([^\"]*)\" ]]
		path=${BASH_REMATCH[1]}
		name=${path##*/}
		readback "$IMG" "$path" "$W/data.$name"
		[ "$(inode_size "$IMG" "$path")" -eq "$(stat -c %s "$W/data.$name")" ]
	done <"$W/records"
}

# kill_after_files N TOTAL [pcwrite options]: TOTAL sources of 3 MiB into
# /d, killed while source N+1 is half fed.
kill_after_files() {
	local n=$1 total=$2 k srcs=()
	shift 2
	for k in $(seq 1 "$total"); do
		mkdata "$W/data.s$k" $((3 * 1024 * 1024 + k * 1000))
		mkfifo "$W/s$k"
		srcs+=("$W/s$k")
	done
	"$PCWRITE" --no-journal --parents -r json --report-file="$W/report" "$@" \
		"$IMG" /d "${srcs[@]}" 2>"$W/stderr" &
	PID=$!
	for k in $(seq 1 "$n"); do
		cat "$W/data.s$k" >"$W/s$k" &
		FEEDERS+=($!)
	done
	k=$((n + 1))
	# half of the next source, then hold the FIFO open
	{ head -c $((3 * 512 * 1024)) "$W/data.s$k"; sleep 60; } >"$W/s$k" &
	FEEDERS+=($!)
	# the rest are opened too (pcwrite opens every source first)
	for k in $(seq $((n + 2)) "$total"); do
		cat "$W/data.s$k" >"$W/s$k" &
		FEEDERS+=($!)
	done
	wait_for "$n" "$W/report"
	sleep 0.3	# the half-fed source's pages reach pcwrite
	kill -9 "$PID"
	st=0
	wait "$PID" || st=$?
	[ "$st" -eq 137 ]
	PID=
	[ "$(file_records "$W/report")" -eq "$n" ]
	after_kill "$W/report"
}

@test "--no-journal: kill -9 after the first of 6 files: e2fsck -fy repairs, the reported file is intact" {
	kill_after_files 1 6
}

@test "--no-journal: kill -9 after 3 of 6 files: e2fsck -fy repairs, the reported files are intact" {
	kill_after_files 3 6
}

@test "--no-journal: kill -9 after 5 of 6 files, --no-delalloc: e2fsck -fy repairs, the reported files are intact" {
	kill_after_files 5 6 --no-delalloc
}

@test "--no-journal: kill -9 after 2 of 4 files with a small dirty limit (writeback mid-file)" {
	kill_after_files 2 4 --dirty-limit=256K
}

@test "--no-journal: kill -9 in the middle of a long stream: marked not clean, e2fsck -fy repairs it" {
	mkfifo "$W/in"
	"$PCWRITE" --no-journal -r json --report-file="$W/report" --dirty-limit=1M "$IMG" /stream <"$W/in" &
	PID=$!
	{ head -c $((20 * 1024 * 1024)) /dev/urandom; sleep 60; } >"$W/in" &
	FEEDERS+=($!)
	# until writeback has run a few times
	for k in $(seq 200); do
		[ "$(grep -c '"event":"writeback"' "$W/report" 2>/dev/null || true)" -ge 4 ] 2>/dev/null && break
		sleep 0.05
	done
	kill -9 "$PID"
	st=0
	wait "$PID" || st=$?
	[ "$st" -eq 137 ]
	PID=
	[ "$(file_records "$W/report")" -eq 0 ]
	after_kill "$W/report"
}

# ---- with --undo: every block the run changed can be put back ---------------
#
# The undo file's records reach it before the image writes they protect, so
# a kill at any moment leaves an undo file that puts back every block the
# run changed.  e2undo 1.47.0 treats a file without its "finished" flag as
# an incomplete record: it puts the blocks back, then marks the filesystem
# not clean (rewriting the superblock); e2fsck -f then gives back the image
# but for the primary superblock's s_wtime, s_lastcheck, s_kbytes_written
# and s_checksum.  PCW_LONG=1 runs every kill point and 32 random kills.

# on_tmpfs: the image and the undo file on a tmpfs where one can be mounted
# (many runs, each with the fsyncs of libext2fs's undo manager and e2undo).
on_tmpfs() {
	if [ "$(id -u)" -eq 0 ] && mkdir "$W/fast" &&
	   mount -t tmpfs -o size=512m pcwrite-test "$W/fast" 2>/dev/null; then
		FAST=$W/fast
		cp "$W/eio_shim.so" "$FAST/" 2>/dev/null || true
		W=$FAST
		IMG=$W/img
	fi
}

# undo_rollback ORIGINAL: roll back what a killed --undo run left in $IMG
# with $W/u, and check the result.  HOW says what it took: "none" (no
# record was complete before the kill: e2undo finds no undo file in it, or
# one for another superblock, and the image is byte-identical), "e2undo",
# or "force" (killed between the image's superblock and the undo file's
# copy of it: e2undo refuses the file, e2undo -f applies it).
undo_rollback() {
	local orig=$1
	HOW=none
	if [ ! -s "$W/u" ] || cmp -s "$IMG" "$orig"; then
		unchanged "$IMG" "$orig"
		return
	fi
	HOW=e2undo
	run e2undo "$W/u" "$IMG"
	if [ "$status" -ne 0 ]; then
		echo "e2undo: $output"
		[[ "$output" == *"superblock doesn't match the undo file"* ]]
		HOW=force
		run -0 e2undo -f "$W/u" "$IMG"
	fi
	run e2fsck -fy "$IMG"
	echo "e2fsck -fy: $status"
	[ "$status" -le 1 ]
	fsck_clean "$IMG"
	only_undo_rewrites "$IMG" "$orig"
}

# A run killed right after its Nth write (tests/eio_shim.c), for every N
# (PCW_LONG) or the first ten, the last thirteen and every sixtieth: the kill
# points where the order of the writes matters are at the start and the
# end.  Before: killed during the closing writes (the superblock written,
# the fsync, the undo file's last records), e2undo refused the file at 9
# of the last 14 points, the run's blocks all left in the image.
undo_kill_every_write() {
	local bs=$1 total n k force=0 points
	[ -f "$W/eio_shim.so" ] || skip "no C compiler for the shim"
	on_tmpfs
	mkimg "$W/orig" 64M -t ext4 -b "$bs"
	mkdir "$W/src"
	for k in $(seq 1 6); do
		mkdata "$W/src/f$k" $((k * 5000))
	done
	mkdir "$W/src/d"
	echo x >"$W/src/d/y"
	tar -cf "$W/a.tar" -C "$W/src" .
	cp "$W/orig" "$IMG"
	LD_PRELOAD=$W/eio_shim.so PCW_WRITE_COUNT=$W/count \
		"$PCWRITE" --no-sync --undo="$W/u" -x "$IMG" / "$W/a.tar"
	total=$(cat "$W/count")
	[ "$total" -gt 50 ]
	if [ -n "${PCW_LONG:-}" ]; then
		points=$(seq 1 "$total")
	else
		points=$({ seq 1 10; seq 11 60 "$total"; seq $((total - 12)) "$total"; } | sort -nu)
	fi
	for n in $points; do
		cp "$W/orig" "$IMG"
		rm -f "$W/u"
		st=0
		LD_PRELOAD=$W/eio_shim.so PCW_KILL_WRITE=$n \
			"$PCWRITE" --no-sync --undo="$W/u" -x "$IMG" / "$W/a.tar" 2>/dev/null || st=$?
		echo "killed after write $n of $total: status $st"
		[ "$st" -eq 137 ] || [ "$n" -eq "$total" ]
		undo_rollback "$W/orig"
		echo "  rolled back: $HOW"
		[ "$HOW" != force ] || force=$((force + 1))
	done
	echo "# $bs-byte blocks: $(echo "$points" | wc -w) kill points of $total, e2undo -f needed at $force" >&3
	# such points: after the undo file's copy of a new superblock, before
	# the image's write of it (in place: the last commit's and the close's;
	# with the journal: needs_recovery cleared, then the close's; with 1 KiB
	# blocks a window can hold two of the shim's writes)
	[ "$force" -le 3 ]
}

@test "--undo, kill -9 after any write (1 KiB blocks): e2undo then e2fsck -f gives the image back but for 4 superblock fields" {
	undo_kill_every_write 1024
}

@test "--undo, kill -9 after any write (4 KiB blocks): e2undo then e2fsck -f gives the image back but for 4 superblock fields" {
	undo_kill_every_write 4096
}

# Killed from outside at random moments, -x of a tar fed through a pipe in
# bursts (the run commits and waits between them).
@test "--undo, kill -9 at random moments of -x from a pipe: e2undo then e2fsck -f gives the image back" {
	local runs=${PCW_LONG:+32} r mid=0 delay
	runs=${runs:-4}
	on_tmpfs
	mkimg "$W/orig" 64M -t ext4 -b 4096
	mkdir "$W/src"
	for k in $(seq 1 60); do
		mkdata "$W/src/f$k" $(( (k * 7919) % 200000 + 1000 ))
	done
	tar -cf "$W/a.tar" -C "$W/src" .
	split -b 262144 "$W/a.tar" "$W/chunk."
	for r in $(seq 1 "$runs"); do
		cp "$W/orig" "$IMG"
		rm -f "$W/u" "$W/in"
		mkfifo "$W/in"
		"$PCWRITE" --undo="$W/u" -x "$IMG" / <"$W/in" 2>/dev/null &
		PID=$!
		{ for c in "$W"/chunk.*; do cat "$c"; sleep 0.05; done; } >"$W/in" 2>/dev/null &
		FEEDERS+=($!)
		delay=$(( RANDOM % 900 ))
		sleep "$(printf '0.%03d' "$delay")"
		kill -0 "$PID" 2>/dev/null && mid=$((mid + 1))
		kill -9 "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		PID=
		kill "${FEEDERS[-1]}" 2>/dev/null || true
		wait "${FEEDERS[-1]}" 2>/dev/null || true
		echo "run $r: killed after ${delay} ms"
		undo_rollback "$W/orig"
		echo "  rolled back: $HOW"
	done
	echo "# $runs runs, $mid killed mid-run" >&3
}

# judge_kill IMAGE REPORT LABEL [TREE]: what a kill of -x may leave
# (killcheck.py fsck); then the kernel makes names in the killed image
# before any fsck, e2fsck -fy repairs it, and every reported entry is whole,
# as TREE (default x3000) holds it (killcheck.py verify).  Counts kills that
# landed inside a commit.
judge_kill() {
	local img=$1 report=$2 label=$3 tree=${4:-x3000}
	e2fsck -fn "$img" >"$W/fsck.$label" 2>&1 || true
	if ! python3 "$BATS_TEST_DIRNAME/killcheck.py" fsck <"$W/fsck.$label"; then
		echo "$label: e2fsck -fn after the kill:"
		head -60 "$W/fsck.$label"
		return 1
	fi
	if grep -qE 'bitmap differences|Unattached|Unconnected|ref count' \
		"$W/fsck.$label"; then
		MIDCOMMIT=$((MIDCOMMIT + 1))
	fi
	kernel_available || return 0
	kernel_mount "$img" rw
	if ! python3 "$BATS_TEST_DIRNAME/killcheck.py" touch "$KMNT" "$report"; then
		echo "$label: the kernel could not write into the killed image"
		return 1
	fi
	kernel_umount
	run e2fsck -fy "$img"
	if [ "$status" -ge 4 ]; then
		echo "$label: e2fsck -fy exited $status"
		echo "$output" | head -40
		return 1
	fi
	fsck_clean "$img"
	kernel_mount "$img" ro
	if ! python3 "$BATS_TEST_DIRNAME/killcheck.py" verify "$KMNT" "$report" \
		"$BATS_FILE_TMPDIR/$tree"; then
		echo "$label: after e2fsck -fy"
		return 1
	fi
	kernel_umount
}

# kill_many KILLS: -x of x3000 from a pipe killed at KILLS moments, each
# judged by $JUDGE, pcwrite run with RUNOPTS.
kill_many() {
	local kills=$1 i st
	MIDCOMMIT=0
	for ((i = 0; i < kills; i++)); do
		# four groups: a group a kill leaves torn is not the only one
		mkimg "$IMG" 64M -t ext4 -b 4096 -g 4096
		rm -f "$W/report" "$W/in"
		mkfifo "$W/in"
		"$PCWRITE" "${RUNOPTS[@]}" -x -r json --report-file="$W/report" "$IMG" / <"$W/in" 2>"$W/stderr" &
		PID=$!
		# the tar in 64 KiB pieces 10 ms apart: the run lasts seconds
		python3 -c '
import sys, time
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb", 0) as o:
    for b in iter(lambda: f.read(65536), b""):
        o.write(b)
        time.sleep(0.01)' "$BATS_FILE_TMPDIR/x3000.tar" "$W/in" 2>/dev/null &
		FEEDERS=($!)
		wait_for $((1 + i * 2500 / kills)) "$W/report" 120
		sleep "0.0$((i * 37 % 10))"
		kill -9 "$PID"
		st=0
		wait "$PID" || st=$?
		PID=
		kill "${FEEDERS[0]}" 2>/dev/null || true
		wait "${FEEDERS[0]}" 2>/dev/null || true
		FEEDERS=()
		[ "$st" -eq 137 ]
		echo "kill $i: after $(file_records "$W/report") records"
		"$JUDGE" "$IMG" "$W/report" "kill$i"
	done
	echo "$kills kills, $MIDCOMMIT inside a commit"
}

@test "--no-journal: -x killed at many moments: nothing in use is marked free, the kernel writes into it, reported entries survive" {
	RUNOPTS=(--no-journal)
	JUDGE=judge_kill
	kill_many "${PCW_KILL9_KILLS:-8}"
}

# judge_journal IMAGE REPORT LABEL [TREE [OLD]]: what a kill of a journaled -x
# leaves: the filesystem still marked valid (the kernel keeps VALID_FS
# while journaling); the kernel mounts it read-write before any fsck (its
# own replay), makes names in every directory pcwrite reported; then
# e2fsck -fn is clean with nothing to repair, and every reported entry is
# whole.  Counts the kills that left a log to replay.
judge_journal() {
	local img=$1 report=$2 label=$3 tree=${4:-x3000} old=()
	[ -z "${5:-}" ] || [ "$5" = - ] || old=("$BATS_FILE_TMPDIR/$5")
	dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem state: *clean$'
	if dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
		REPLAYS=$((REPLAYS + 1))
	fi
	if ! kernel_available; then
		# e2fsck's own replay instead of the kernel's
		e2fsck -E journal_only -y "$img" >/dev/null 2>&1 || true
		fsck_clean "$img"
		return
	fi
	kernel_mount "$img" rw
	if ! python3 "$BATS_TEST_DIRNAME/killcheck.py" touch "$KMNT" "$report"; then
		echo "$label: the kernel could not write into the killed image"
		return 1
	fi
	kernel_umount
	if ! fsck_clean "$img"; then
		echo "$label: e2fsck -fn after the kernel's replay is not clean"
		return 1
	fi
	kernel_mount "$img" ro
	if ! python3 "$BATS_TEST_DIRNAME/killcheck.py" verify "$KMNT" "$report" \
		"$BATS_FILE_TMPDIR/$tree" "${old[@]}"; then
		echo "$label: after the kernel's replay"
		return 1
	fi
	kernel_umount
}

# With the journal (the default) the README's promise is the kernel's: no
# fsck needed.  PCW_KILL9_KILLS=100 for issue 13's hundred kills.
@test "journaled -x killed at many moments: the kernel replays and writes into it, then e2fsck -fn is clean and reported entries survive" {
	RUNOPTS=(--commit=1)
	JUDGE=judge_journal
	REPLAYS=0
	kill_many "${PCW_KILL9_KILLS:-8}"
	echo "# journaled kills: ${PCW_KILL9_KILLS:-8}, $REPLAYS with a log to replay" >&3
}

# crash_points POINTS TAR BEFORE MKE2FS-ARGS...: -x of TAR (into an image
# holding BEFORE first, unless it is "-") killed just before image write N,
# at POINTS values of N: half spread over the whole run, half over the
# writes to the metadata area (the commits).
crash_points() {
	local points=$1 tar=$2 before=$3 total n k st
	local -a meta
	shift 3
	MIDCOMMIT=0
	mkimg "$W/base.img" 64M "$@"
	if [ "$before" != - ]; then
		"$PCWRITE" -x "$W/base.img" / "$BATS_FILE_TMPDIR/$before.tar"
	fi
	cp --sparse=always "$W/base.img" "$IMG"
	# One whole run, its image writes counted and logged.
	PCW_KILL_INO=$(stat -c %i "$IMG") PCW_KILL_COUNT="$W/count" \
		PCW_KILL_LOG="$W/log" LD_PRELOAD="$BATS_FILE_TMPDIR/eio_shim.so" \
		"$PCWRITE" "${RUNOPTS[@]}" -x -r json --report-file="$W/report" "$IMG" / \
		"$BATS_FILE_TMPDIR/$tar.tar"
	total=$(cat "$W/count")
	# Writes below 5 MiB: the bitmaps, descriptors and inode tables of
	# the commits (file data and directory blocks lie further on).
	mapfile -t meta < <(awk '$2 >= 0 && $2 < 5242880 { print $1 }' "$W/log")
	echo "$total image writes, ${#meta[@]} of them to the metadata area"
	[ "${#meta[@]}" -gt 0 ]
	for ((k = 0; k < points; k++)); do
		if ((k % 2)); then
			n=${meta[$((k / 2 * ${#meta[@]} / ((points + 1) / 2) + k % 3))]}
		else
			n=$((1 + k * total / points))
		fi
		cp --sparse=always "$W/base.img" "$IMG"
		rm -f "$W/report"
		st=0
		PCW_KILL_INO=$(stat -c %i "$IMG") PCW_KILL_AT=$n \
			LD_PRELOAD="$BATS_FILE_TMPDIR/eio_shim.so" \
			"$PCWRITE" "${RUNOPTS[@]}" -x -r json --report-file="$W/report" "$IMG" / \
			"$BATS_FILE_TMPDIR/$tar.tar" 2>"$W/stderr" || st=$?
		[ "$st" -eq 137 ]
		echo "killed before image write $n of $total, after $(file_records "$W/report") records"
		"$JUDGE" "$IMG" "$W/report" "write$n" "$tar" "$before"
	done
	echo "$points crash points, $MIDCOMMIT inside a commit"
}

@test "--no-journal: -x killed just before one of its image writes, inside commits too: ext4 (eio_shim)" {
	RUNOPTS=(--no-journal)
	JUDGE=judge_kill
	crash_points "${PCW_KILL9_POINTS:-16}" x3000 - -t ext4 -b 4096 -g 4096
}

@test "--no-journal: -x replacing every file, killed just before one of its image writes: ext4, 1 KiB blocks (eio_shim)" {
	RUNOPTS=(--no-journal)
	JUDGE=judge_kill
	crash_points "${PCW_KILL9_POINTS:-8}" x3000b x3000 -t ext4 -b 1024
}

@test "-x killed just before one of its image writes: ext2, 1 KiB blocks (eio_shim)" {
	RUNOPTS=()
	JUDGE=judge_kill
	crash_points "${PCW_KILL9_POINTS:-8}" x3000 - -t ext2 -b 1024
}

# The same kill points through the journal: transactions of a second at
# most, closed early near their size limit (a quarter of the journal), so
# that a run holds many commits and checkpoints.
@test "journaled -x killed just before one of its image writes, commits and checkpoints too: ext4 (eio_shim)" {
	RUNOPTS=(--commit=1)
	JUDGE=judge_journal
	REPLAYS=0
	crash_points "${PCW_KILL9_POINTS:-16}" x3000 - -t ext4 -b 4096 -g 4096
	echo "# journaled kill points: ${PCW_KILL9_POINTS:-16}, $REPLAYS with a log to replay" >&3
}

@test "journaled -x replacing every file (blocks freed and reused), killed just before one of its image writes: ext4, 1 KiB blocks, a 1 MiB journal (eio_shim)" {
	RUNOPTS=(--commit=1)
	JUDGE=judge_journal
	REPLAYS=0
	crash_points "${PCW_KILL9_POINTS:-8}" x3000b x3000 -t ext4 -b 1024 -J size=1
	echo "# journaled kill points (replace): ${PCW_KILL9_POINTS:-8}, $REPLAYS with a log to replay" >&3
}
