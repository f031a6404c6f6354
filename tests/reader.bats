#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# reader.bats: the source read ahead in a thread of its own (lib/src_ahead.c,
# issue 17 item 2).  The reader may be megabytes ahead of the writer; what a
# user sees must be what one thread gave: every entry before a failing one
# written and reported before the error, what came before an empty pipe
# committed while pcwrite waits, a signal there stopping the run at once (the
# reader joined wherever it waits), warnings in their place among the
# entries.  e2fsck -fn after every case.

load test_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	mkimg "$IMG" 64M -t ext4
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
	[ -z "${FEEDER:-}" ] || kill "$FEEDER" 2>/dev/null || true
}

# many_tar FILE N SIZE: a tar of N files fK of SIZE random bytes each.
many_tar() {
	mkdir -p src
	local k
	for k in $(seq 0 $(($2 - 1))); do head -c "$3" /dev/urandom >"src/f$k"; done
	tar -cf "$1" -C src $(for k in $(seq 0 $(($2 - 1))); do echo "f$k"; done)
}

# records_with STATUS REPORT: the files of a JSON Lines report's file
# records with that status, one a line.
records_with() {
	python3 - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r.get("event") == "file" and r.get("status") == sys.argv[1]:
        print(r["file"])
PY
}

@test "a compressed archive cut short far past the queue's bound: every entry reported ok is whole, the error comes after them" {
	command -v python3 >/dev/null || skip "python3 not installed"
	# 12 MiB of entries, six times the reader's queue, so the reader
	# meets the cut while the writer is megabytes behind it.
	many_tar t.tar 200 65536
	gzip -1 -c t.tar >t.tgz
	head -c $(($(stat -c %s t.tgz) * 3 / 4)) t.tgz >cut.tgz
	run -1 --separate-stderr "$PCWRITE" -x -r json --report-file=report "$IMG" / cut.tgz
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^pcwrite:\ archive\ \'cut.tgz\':\ f[0-9]+:\  ]]
	fsck_clean "$IMG"
	records_with ok report >ok
	n=$(wc -l <ok)
	echo "$n entries ok"
	[ "$n" -ge 100 ]
	# the ok ones are f0 .. f(n-1), in order, each whole
	[ "$(sed -n '$p' ok)" = "/f$((n - 1))" ]
	for k in $(seq 0 $((n - 1))); do readback "$IMG" "/f$k" "src/f$k"; done
	# the entry the archive broke in is the one after them, and the
	# error names it
	[[ "$stderr" =~ :\ f$n: ]]
	run debugfs -R "stat /f$((n + 1))" "$IMG"
	[[ "$output" =~ "not found" ]]
}

# stall_gz N: N files fK (5000 bytes each) as a gzip'ed tar on standard
# output, flushed (Z_SYNC_FLUSH: the decompressor can give all of it), then
# a stall with the pipe open until killed.
stall_gz() {
	python3 - "$1" <<'PY'
import io, sys, tarfile, time, zlib
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
for k in range(int(sys.argv[1])):
    data = (chr(97 + k % 26) * 5000).encode()
    ti = tarfile.TarInfo("f%d" % k); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
z = zlib.compressobj(6, zlib.DEFLATED, 31)
out = z.compress(buf.getvalue()) + z.flush(zlib.Z_SYNC_FLUSH)
sys.stdout.buffer.write(out); sys.stdout.flush()
time.sleep(60)
PY
}

@test "a gzip'ed archive on a pipe that stalls: committed while pcwrite waits, SIGINT there stops it at once with the count" {
	command -v python3 >/dev/null || skip "python3 not installed"
	mkfifo fifo
	stall_gz 30 >fifo &
	FEEDER=$!
	env --default-signal=INT,HUP,TERM,PIPE "$PCWRITE" -x -p -r summary --report-file=report "$IMG" /d <fifo 2>err &
	PID=$!
	local k n=0 m
	# what libarchive's gzip filter gives before it waits for more input
	# (it holds back the last entries), reported done while pcwrite waits
	for k in $(seq 100); do
		sleep 0.3
		m=$(grep -c ': ok$' report 2>/dev/null || true)
		[ "$m" -ge 20 ] && [ "$m" = "$n" ] && break
		n=$m
	done
	cat report
	[ "$n" -ge 20 ]
	kill -INT "$PID"
	# the reader thread waits in the pipe: the run must not wait for it
	for k in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	st=0
	wait "$PID" || st=$?
	PID=
	cat err
	[ "$st" -eq 130 ]
	[ "$(wc -l <err)" -eq 1 ]
	# between entries, or in the next one's data (its header came)
	grep -Eqx "pcwrite: $IMG:/d(/f$n)?: stopped by SIGINT \((0 bytes written, )?$n entries( before it)? committed\)" err
	fsck_clean "$IMG"
	for k in 0 7 $((n - 1)); do
		python3 -c 'import sys; k = int(sys.argv[1]); sys.stdout.write(chr(97 + k % 26) * 5000)' "$k" >expect
		readback "$IMG" "/d/f$k" expect
	done
}

@test "-R: a file larger than the queue, with holes and data, and many small files after it: all whole, holes kept" {
	mkdir -p t/s
	# 32 MiB apparent, 3 data regions; the queue carries the holes as holes
	truncate -s 32M t/big
	for off in 0 13 31; do
		head -c 65536 /dev/urandom | dd of=t/big bs=1M seek="$off" conv=notrunc status=none
	done
	for k in $(seq 1 300); do echo "$k" >"t/s/f$k"; done
	run -0 "$PCWRITE" -R "$IMG" / t
	fsck_clean "$IMG"
	readback "$IMG" /big t/big
	# three 64 KiB regions allocated, not 32 MiB
	blocks=$(debugfs -R "stat /big" "$IMG" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
	echo "blockcount $blocks"
	[ "$blocks" -le $((3 * 128 + 64)) ]
	[ "$(debugfs -R 'cat /s/f300' "$IMG" 2>/dev/null)" = 300 ]
}

@test "-R: a warning comes in its place among the entries (after the entries before it)" {
	mkdir -p t
	for k in 1 3; do echo "$k" >"t/f$k"; done
	# the image inside the tree: the walk warns about it in its place
	# (between f1 and f3, by name)
	cp "$IMG" t/f2.img
	run -0 "$PCWRITE" -R -v t/f2.img / t
	echo "$output"
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" =~ f1$ ]]
	[[ "${lines[2]}" =~ t/f2.img:\ file\ is\ the\ image ]]
	[[ "${lines[3]}" =~ f3$ ]]
	fsck_clean t/f2.img
	[ "$(debugfs -R 'cat /f3' t/f2.img 2>/dev/null)" = 3 ]
}
