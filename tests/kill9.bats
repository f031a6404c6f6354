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

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	W=$BATS_TEST_TMPDIR
	mkimg "$IMG" 64M -t ext4 -b 4096
	PID=
	FEEDERS=()
}

teardown() {
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
	for p in "${FEEDERS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
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
