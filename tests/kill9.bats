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

load test_helper

setup_file() {
	if command -v cc >/dev/null; then
		cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
			"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	fi
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
}

# file_records REPORT: the "file" records of a JSON Lines report
file_records() {
	if [ -f "$1" ]; then
		grep -c '"event":"file"' "$1" || true
	else
		echo 0
	fi
}

# wait_for COUNT REPORT: until REPORT holds COUNT file records (10 s at most)
wait_for() {
	local k
	for k in $(seq 200); do
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
	"$PCWRITE" --parents -r json --report-file="$W/report" "$@" \
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

@test "kill -9 after the first of 6 files: e2fsck -fy repairs, the reported file is intact" {
	kill_after_files 1 6
}

@test "kill -9 after 3 of 6 files: e2fsck -fy repairs, the reported files are intact" {
	kill_after_files 3 6
}

@test "kill -9 after 5 of 6 files, --no-delalloc: e2fsck -fy repairs, the reported files are intact" {
	kill_after_files 5 6 --no-delalloc
}

@test "kill -9 after 2 of 4 files with a small dirty limit (writeback mid-file)" {
	kill_after_files 2 4 --dirty-limit=256K
}

@test "kill -9 in the middle of a long stream: marked not clean, e2fsck -fy repairs it" {
	mkfifo "$W/in"
	"$PCWRITE" -r json --report-file="$W/report" --dirty-limit=1M "$IMG" /stream <"$W/in" &
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
	# the one such point: the image's final superblock, then its copy
	[ "$force" -le 1 ]
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
