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
	# bash starts background jobs with SIGINT ignored, and nohup or a
	# runner may have SIGHUP ignored (pcwrite keeps an inherited ignore, as
	# the next case checks): give pcwrite the default disposition of the
	# signals sent here, as an interactive shell would.
	env --default-signal=INT,HUP,TERM,PIPE "$PCWRITE" "$IMG" /f <"$FIFO" 2>"$BATS_TEST_TMPDIR/err" &
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

@test "a closed report pipe (SIGPIPE on the JSON report) stops the run: exit 1, one message, the image holding a prefix" {
	mkdata "$BATS_TEST_TMPDIR/data" $((8 * 1024 * 1024))
	for sigpipe in default ignore; do
		copy_image
		run bash -c "env --$sigpipe-signal=PIPE '$PCWRITE' -r json '$IMG' /f <'$BATS_TEST_TMPDIR/data' 2>'$BATS_TEST_TMPDIR/err' | head -c 100 >/dev/null; echo \${PIPESTATUS[0]}"
		echo "SIGPIPE $sigpipe: status $output, stderr: $(cat "$BATS_TEST_TMPDIR/err")"
		[ "$output" -eq 1 ]
		n=$(inode_size "$IMG" /f)
		[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
		grep -qx "pcwrite: $IMG:/f: stopped: write error on standard output: Broken pipe ($n bytes written)" "$BATS_TEST_TMPDIR/err"
		[ "$n" -lt $((8 * 1024 * 1024)) ]
		head -c "$n" "$BATS_TEST_TMPDIR/data" >"$BATS_TEST_TMPDIR/prefix"
		verify "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
	done
}

@test "kill -PIPE from outside, the report intact: exit 141, stopped by SIGPIPE" {
	stop_midstream PIPE 65536
}

# ---- trees: -x and -R say where they stopped and what is committed ---------

# small_tar FILE N: a tar of directory a/ and N files a/fK, "K\n" each, then
# a 4 MiB file a/big.
small_tar() {
	local d=$BATS_TEST_TMPDIR/src k
	rm -rf "$d"
	mkdir -p "$d/a"
	for k in $(seq 1 "$2"); do echo "$k" >"$d/a/f$k"; done
	head -c $((4 * 1024 * 1024)) /dev/urandom >"$d/a/big"
	tar --format=pax --no-recursion -cf "$1" -C "$d" a \
		$(for k in $(seq 1 "$2"); do echo "a/f$k"; done) a/big
}

# big_block FILE: the block a/big's own header is in (its pax header is
# the two blocks before).
big_block() {
	tar -tR -f "$1" | sed -n 's|^block \([0-9]*\): a/big$|\1|p'
}

# names IMAGE DIR: the names in DIR, one a line, without . and ..
names() {
	debugfs -R "ls -p $2" "$1" 2>/dev/null | awk -F/ 'NF > 5 && $6 != "." && $6 != ".." { print $6 }'
}

# term_x_after CUT PAUSE: -x of t.tar into /d, fed its first CUT bytes
# through $FIFO (kept open); once pcwrite has read them, PAUSE seconds more,
# then SIGTERM.  Sets st to the exit status; stderr in $BATS_TEST_TMPDIR/err.
term_x_after() {
	local cut=$1 i
	env --default-signal=INT,HUP,TERM,PIPE "$PCWRITE" -x -p "$IMG" /d <"$FIFO" 2>"$BATS_TEST_TMPDIR/err" &
	PID=$!
	exec 7>"$FIFO"
	head -c "$cut" "$BATS_TEST_TMPDIR/t.tar" >&7
	for i in $(seq 100); do
		[ "$(awk '{print $2}' /proc/$PID/io 2>/dev/null | sed -n 1p)" -ge "$cut" ] 2>/dev/null && break
		sleep 0.05
	done
	sleep "$2"
	kill -TERM "$PID"
	st=0
	wait "$PID" || st=$?
	PID=
	exec 7>&-
	echo "status $st; stderr: $(cat "$BATS_TEST_TMPDIR/err")"
}

@test "-x stopped by SIGTERM mid-entry: the line names the entry, its bytes and the entries committed" {
	small_tar "$BATS_TEST_TMPDIR/t.tar" 10
	# Everything up to 1 MiB into a/big, then nothing more.
	cut=$((($(big_block "$BATS_TEST_TMPDIR/t.tar") + 1) * 512 + 1024 * 1024))
	term_x_after "$cut" 0.2
	[ "$st" -eq 143 ]
	n=$(inode_size "$IMG" /d/a/big)
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	grep -qx "pcwrite: $IMG:/d/a/big: stopped by SIGTERM ($n bytes written, 11 entries before it committed)" "$BATS_TEST_TMPDIR/err"
	fsck_clean "$IMG"
	[ "$(names "$IMG" /d/a | wc -l)" -eq 11 ]
	[ "$(debugfs -R 'cat /d/a/f7' "$IMG" 2>/dev/null)" = 7 ]
}

@test "-x stopped by SIGTERM between entries (waiting for the archive): the line counts the entries committed" {
	small_tar "$BATS_TEST_TMPDIR/t.tar" 10
	# a/ and a/f1..f10, whole; a/big's headers not yet.
	cut=$((($(big_block "$BATS_TEST_TMPDIR/t.tar") - 2) * 512))
	term_x_after "$cut" 0.3
	[ "$st" -eq 143 ]
	[ "$(names "$IMG" /d/a | wc -l)" -eq 10 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	grep -qx "pcwrite: $IMG:/d: stopped by SIGTERM (11 entries committed)" "$BATS_TEST_TMPDIR/err"
	fsck_clean "$IMG"
	[ "$(debugfs -R 'cat /d/a/f10' "$IMG" 2>/dev/null)" = 10 ]
}

@test "-x and -R with a closed report pipe (SIGPIPE caught or ignored): exit 1, one line, the entries it counts are in the image" {
	local d=$BATS_TEST_TMPDIR/tree k
	mkdir -p "$d"
	# 20 pages each: page records wait with their batch's file records,
	# and a batch closes once 4096 wait, long before the last entry
	for k in $(seq 1 400); do head -c 80000 /dev/urandom >"$d/f$k"; done
	tar -cf "$BATS_TEST_TMPDIR/t.tar" -C "$d" .
	for mode in "-x:$BATS_TEST_TMPDIR/t.tar" "-R:$d"; do
		for sigpipe in default ignore; do
			copy_image
			run bash -c "env --$sigpipe-signal=PIPE '$PCWRITE' ${mode%%:*} -p -r json '$IMG' /d '${mode#*:}' 2>'$BATS_TEST_TMPDIR/err' | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
			echo "$mode SIGPIPE $sigpipe: status $output; stderr: $(cat "$BATS_TEST_TMPDIR/err")"
			[ "$output" -eq 1 ]
			[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
			fsck_clean "$IMG"
			n=$(names "$IMG" /d | wc -l)
			line=$(cat "$BATS_TEST_TMPDIR/err")
			# DIR itself is an entry of both; the cut entry is in the image, partial.
			# (head may close the pipe after the start record: "1 entry".)
			if [[ "$line" =~ ^pcwrite:\ .*:/d/(f[0-9]+):\ stopped:\ write\ error\ on\ standard\ output:\ Broken\ pipe\ \(([0-9]+)\ bytes\ written,\ ([0-9]+)\ entr(y|ies)\ before\ it\ committed\)$ ]]; then
				[ "${BASH_REMATCH[3]}" -eq "$n" ]
				[ "$(inode_size "$IMG" "/d/${BASH_REMATCH[1]}")" -eq "${BASH_REMATCH[2]}" ]
			else
				[[ "$line" =~ ^pcwrite:\ .*:/d:\ stopped:\ write\ error\ on\ standard\ output:\ Broken\ pipe\ \(([0-9]+)\ entr(y|ies)\ committed\)$ ]]
				[ "${BASH_REMATCH[1]}" -eq $((n + 1)) ]
			fi
			[ "$n" -lt 400 ]
		done
	done
}

@test "-R stopped by SIGTERM while the report waits on its reader: exit 143, the line counts the entries committed" {
	local d=$BATS_TEST_TMPDIR/tree k
	mkdir -p "$d"
	# 20 pages each, so that batches close (4096 page records wait at
	# most) and their records fill the pipe long before the last entry
	for k in $(seq 1 300); do yes "$k" | head -c 81920 >"$d/f$k"; done
	"$PCWRITE" -R -p -r json --report-file="$FIFO" "$IMG" /d "$d" 2>"$BATS_TEST_TMPDIR/err" &
	PID=$!
	exec 7<"$FIFO"
	head -n 20 <&7 >/dev/null	# the pipe fills, pcwrite waits on it
	sleep 0.3
	kill -TERM "$PID"
	cat <&7 >/dev/null
	st=0
	wait "$PID" || st=$?
	PID=
	exec 7<&-
	echo "status $st; stderr: $(cat "$BATS_TEST_TMPDIR/err")"
	[ "$st" -eq 143 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	n=$(names "$IMG" /d | wc -l)
	[ "$n" -lt 300 ]
	grep -Eqx "pcwrite: $IMG:/d(/f[0-9]+)?: stopped by SIGTERM \(([0-9]+ bytes written, )?[0-9]+ entr(y|ies)( before it)? committed\)" "$BATS_TEST_TMPDIR/err"
	fsck_clean "$IMG"
}
