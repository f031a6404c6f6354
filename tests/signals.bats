#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# signals.bats: SIGINT, SIGTERM, SIGHUP and SIGPIPE stop the loop at the next
# page; what was read is committed, the exit status is 128+N, and the file
# holds exactly the bytes committed.

load test_helper

setup_file() {
	setup_file_image 64M
}

setup() {
	copy_image
	IMG=$BATS_TEST_TMPDIR/img
	FIFO=$BATS_TEST_TMPDIR/fifo
	mkfifo "$FIFO"
}

teardown() {
	exec 7>&- 2>/dev/null || true
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
}

# stop_midstream SIGNAL BYTES: feed BYTES through a FIFO that stays open,
# send SIGNAL once they are read, and check status, size and content.
stop_midstream() {
	local sig=$1 n=$2 st=0 want
	mkdata "$BATS_TEST_TMPDIR/data" "$n"
	# bash starts background jobs with SIGINT ignored: give pcwrite the
	# default disposition, as an interactive shell would.
	env --default-signal=INT "$PCWRITE" "$IMG" /f <"$FIFO" 2>"$BATS_TEST_TMPDIR/err" &
	PID=$!
	exec 7>"$FIFO"
	cat "$BATS_TEST_TMPDIR/data" >&7
	# wait until the pipe is drained (pcwrite has read everything)
	for i in $(seq 100); do
		[ "$(awk '{print $2}' /proc/$PID/io 2>/dev/null | sed -n 1p)" -ge "$n" ] 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.2
	kill -"$sig" "$PID"
	wait "$PID" || st=$?
	PID=
	exec 7>&-
	want=$((128 + $(kill -l "$sig")))
	echo "status $st, want $want; stderr: $(cat "$BATS_TEST_TMPDIR/err")"
	[ "$st" -eq "$want" ]
	grep -q "stopped by SIG$sig ($n bytes written)" "$BATS_TEST_TMPDIR/err"
	[ "$(inode_size "$IMG" /f)" -eq "$n" ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "SIGINT mid-stream: exit 130, every byte read is committed" {
	stop_midstream INT $((1024 * 1024))
}

@test "SIGINT with a partial page buffered: the partial page is written too" {
	stop_midstream INT $((1024 * 1024 + 100))
}

@test "SIGTERM mid-stream: exit 143" {
	stop_midstream TERM 300000
}

@test "SIGHUP mid-stream: exit 129" {
	stop_midstream HUP 4096
}

@test "SIGINT inherited as ignored stays ignored" {
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	env --ignore-signal=INT "$PCWRITE" "$IMG" /f <"$FIFO" &
	PID=$!
	exec 7>"$FIFO"
	head -c 50000 "$BATS_TEST_TMPDIR/data" >&7
	sleep 0.3
	kill -INT "$PID"
	tail -c +50001 "$BATS_TEST_TMPDIR/data" >&7
	exec 7>&-
	st=0
	wait "$PID" || st=$?
	PID=
	[ "$st" -eq 0 ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "SIGPIPE on the JSON report: exit 141, the image consistent and holding a prefix" {
	mkdata "$BATS_TEST_TMPDIR/data" $((8 * 1024 * 1024))
	run bash -c "'$PCWRITE' -r json '$IMG' /f <'$BATS_TEST_TMPDIR/data' 2>'$BATS_TEST_TMPDIR/err' | head -c 100 >/dev/null; echo \${PIPESTATUS[0]}"
	[ "$output" -eq 141 ]
	grep -q "stopped by SIGPIPE" "$BATS_TEST_TMPDIR/err"
	n=$(inode_size "$IMG" /f)
	head -c "$n" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/prefix"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
}
