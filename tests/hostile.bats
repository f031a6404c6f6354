#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile.bats: a hostile environment.  Closed standard descriptors, host
# files that are the image under another name, a device whose final fsync
# fails, names with control bytes, undo files that cannot be made.  Every
# refusal is one line "pcwrite: ...", exit 2 before the image is opened for
# writing, and leaves the image byte-identical and e2fsck -fn clean.

load test_helper

setup_file() {
	setup_file_image 32M
	if command -v cc >/dev/null; then
		cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
			"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	fi
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	printf 'hello\n' >"$BATS_TEST_TMPDIR/data"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
}

teardown() {
	detach_attached
}

# one_line PATTERN: stderr is one line, "pcwrite: ...", matching PATTERN.
one_line() {
	echo "exit $status, stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == pcwrite:\ * ]]
	[[ "$stderr" =~ $1 ]]
}

# untouched: the image is byte-identical to the copy setup made, and clean.
untouched() {
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	fsck_clean "$IMG"
}

# no_file PATH: PATH does not exist in the image.
no_file() {
	! debugfs -R "stat $1" "$IMG" 2>/dev/null | grep -q Inode:
}

# ---- closed standard descriptors ---------------------------------------------

without_stdout() { "$PCWRITE" "$@" >&-; }
without_stderr() { "$PCWRITE" "$@" 2>&-; }
without_stdin() { "$PCWRITE" "$@" <&-; }

@test "closed standard output with the JSON report: usage error, nothing written over the superblock" {
	run -2 --separate-stderr without_stdout -r json "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "standard output is closed"
	untouched
	no_file /f
}

@test "closed standard output is no matter when the report goes to a file" {
	run -0 --separate-stderr without_stdout -r json --report-file="$BATS_TEST_TMPDIR/r" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	[ -z "$stderr" ]
	grep -q '"event":"file","file":"/f"' "$BATS_TEST_TMPDIR/r"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "closed standard input without a SOURCE: usage error, no copy of the image" {
	run -2 --separate-stderr without_stdin "$IMG" /f
	one_line "standard input is closed"
	untouched
	no_file /f
}

@test "closed standard input named as /dev/stdin: usage error, not an empty file" {
	run -2 --separate-stderr without_stdin "$IMG" /f /dev/stdin
	one_line "^pcwrite: source '/dev/stdin': names standard input, which was closed$"
	untouched
	no_file /f
}

@test "closed standard error: a refusal message does not land in the image (--image-offset)" {
	disk=$BATS_TEST_TMPDIR/disk
	head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/mbr"
	cat "$BATS_TEST_TMPDIR/mbr" "$IMG" >"$disk"
	cp "$disk" "$BATS_TEST_TMPDIR/disk.before"
	run -1 --separate-stderr without_stderr --image-offset=1M "$disk" /no/such/f <"$BATS_TEST_TMPDIR/data"
	[ -z "$stderr" ]
	cmp "$disk" "$BATS_TEST_TMPDIR/disk.before"
	# and a run that succeeds writes only its file
	run -0 --separate-stderr without_stderr --image-offset=1M "$disk" /f <"$BATS_TEST_TMPDIR/data"
	cmp -n $((1024 * 1024)) "$disk" "$BATS_TEST_TMPDIR/mbr"
	tail -c +$((1024 * 1024 + 1)) "$disk" >"$BATS_TEST_TMPDIR/part"
	verify "$BATS_TEST_TMPDIR/part" /f "$BATS_TEST_TMPDIR/data"
}

@test "closed standard error with the text report going there: usage error" {
	run -2 --separate-stderr without_stderr -r summary "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	untouched
	no_file /f
}

# ---- other names of the image ------------------------------------------------

@test "a SOURCE that is the image, by name, symlink, hard link or /proc/self/fd/N: refused" {
	ln -s "$IMG" "$BATS_TEST_TMPDIR/symlink"
	ln "$IMG" "$BATS_TEST_TMPDIR/hardlink"
	for src in "$IMG" "$BATS_TEST_TMPDIR/symlink" "$BATS_TEST_TMPDIR/hardlink"; do
		run -2 --separate-stderr "$PCWRITE" "$IMG" /f "$src"
		one_line "^pcwrite: source '$src': names the image being written$"
	done
	run -2 --separate-stderr "$PCWRITE" "$IMG" /f /proc/self/fd/7 7<"$IMG"
	one_line "^pcwrite: source '/proc/self/fd/7': names the image being written$"
	# among several sources too, before anything is written
	run -2 --separate-stderr "$PCWRITE" "$IMG" /d "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/hardlink"
	one_line "hardlink': names the image being written$"
	untouched
}

@test "two SOURCEs that are one file (hard links) are not refused: only the image and the report are guarded" {
	ln "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/other"
	run -0 --separate-stderr "$PCWRITE" -p "$IMG" /d "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/other"
	[ -z "$stderr" ]
	verify "$IMG" /d/data "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /d/other "$BATS_TEST_TMPDIR/data"
}

@test "standard input that is the image, as stdin or /dev/stdin: refused" {
	run -2 --separate-stderr "$PCWRITE" "$IMG" /f <"$IMG"
	one_line "^pcwrite: standard input: names the image being written$"
	run -2 --separate-stderr "$PCWRITE" "$IMG" /f /dev/stdin <"$IMG"
	one_line "^pcwrite: source '/dev/stdin': names the image being written$"
	untouched
}

json_into_image() { "$PCWRITE" -r json "$@" 1<>"$IMG"; }
stderr_into_image() { "$PCWRITE" "$@" 2>>"$IMG"; }

@test "standard output that is the image (1<>IMG) with the JSON report: refused" {
	run -2 --separate-stderr json_into_image "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: standard output: names the image being written$"
	untouched
	no_file /f
}

@test "standard error that is the image (2>>IMG): refused without a word into it" {
	run -2 --separate-stderr stderr_into_image "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	untouched
	no_file /f
	# a usage error too: the message would have been appended to the image
	run -2 --separate-stderr stderr_into_image --bogus "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	untouched
}

@test "--report-file that is the image, by name or symlink: refused, not truncated" {
	ln -s "$IMG" "$BATS_TEST_TMPDIR/symlink"
	for rep in "$IMG" "$BATS_TEST_TMPDIR/symlink"; do
		run -2 --separate-stderr "$PCWRITE" -r json --report-file="$rep" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
		one_line "^pcwrite: report file '$rep': names the image being written$"
	done
	untouched
}

@test "--undo that is the image: refused, the image neither unlinked nor changed" {
	run -2 --separate-stderr "$PCWRITE" --undo="$IMG" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '$IMG': names the image being written$"
	untouched
}

json_into_source() {
	"$PCWRITE" -r json "$IMG" /f <"$BATS_TEST_TMPDIR/src" 1<>"$BATS_TEST_TMPDIR/src"
}

@test "--report-file that is a SOURCE: refused, the SOURCE kept" {
	mkdata "$BATS_TEST_TMPDIR/src" 5000
	cp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/src.before"
	run -2 --separate-stderr "$PCWRITE" -r json --report-file="$BATS_TEST_TMPDIR/src" "$IMG" /f "$BATS_TEST_TMPDIR/src"
	one_line "^pcwrite: report file '.*/src': names a SOURCE of this run$"
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/src.before"
	# standard input as the SOURCE and the JSON report into the same file
	run -2 --separate-stderr json_into_source
	one_line "^pcwrite: standard input: names the report file of this run$"
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/src.before"
	untouched
}

@test "--undo that is the --report-file: refused, neither file left behind" {
	run -2 --separate-stderr "$PCWRITE" -r json --report-file="$BATS_TEST_TMPDIR/u" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '.*/u': names the report file of this run$"
	[ ! -e "$BATS_TEST_TMPDIR/u" ]
	# the report file through a dangling symlink, the undo file its target
	ln -s "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/dangling"
	run -2 --separate-stderr "$PCWRITE" -r json --report-file="$BATS_TEST_TMPDIR/dangling" --undo="$BATS_TEST_TMPDIR/target" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '.*/target': names the report file of this run$"
	untouched
}

@test "a loop device over the image as SOURCE or --report-file: refused" {
	kernel_available || skip "no root or loop devices"
	loop=$(attach "$IMG" -r) || skip "losetup failed"
	run -2 --separate-stderr "$PCWRITE" "$IMG" /f "$loop"
	one_line "^pcwrite: source '$loop': names the image being written$"
	run -2 --separate-stderr "$PCWRITE" -r json --report-file="$loop" "$IMG" /f <"$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: report file '$loop': names the image being written$"
	untouched
}

# ---- the image file changed under the run ------------------------------------

# records_ok REPORT: the "ok" file records of a JSON Lines report
records_ok() {
	grep -c '"status":"ok"' "$1" 2>/dev/null || true
}

# A file that another process truncated during the run took the writes that
# followed (a write past the end of a file just extends it): exit 0, every
# record "ok", an image the kernel refused to mount.
@test "an image file truncated during a run: exit 1 at the next commit, naming it" {
	mkdata "$BATS_TEST_TMPDIR/a" 4096
	mkdata "$BATS_TEST_TMPDIR/b" 4096
	tar -cf "$BATS_TEST_TMPDIR/t.tar" -C "$BATS_TEST_TMPDIR" a b
	mkfifo "$BATS_TEST_TMPDIR/in"
	# in place: the state a failed in-place commit leaves (with the journal
	# the image stays valid with a log to replay)
	"$PCWRITE" --no-journal -x -r json --report-file="$BATS_TEST_TMPDIR/report" "$IMG" / \
		<"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/stderr" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	# the first entry (header and data), then the pipe runs dry: committed
	head -c 4608 "$BATS_TEST_TMPDIR/t.tar" >&7
	for k in $(seq 200); do
		[ "$(records_ok "$BATS_TEST_TMPDIR/report")" -ge 1 ] && break
		sleep 0.05
	done
	[ "$(records_ok "$BATS_TEST_TMPDIR/report")" -eq 1 ]
	truncate -s 16M "$IMG"
	tail -c +4609 "$BATS_TEST_TMPDIR/t.tar" >&7
	exec 7>&-
	st=0
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/stderr"
	[ "$st" -eq 1 ]
	# said once, at the commit that found it (the tree's last, here), and
	# what to run
	[ "$(wc -l <"$BATS_TEST_TMPDIR/stderr")" -eq 2 ]
	grep -q "^pcwrite: $IMG.*: the image file was truncated while pcwrite wrote it" "$BATS_TEST_TMPDIR/stderr"
	grep -qx "pcwrite: $IMG: filesystem left marked not clean; run e2fsck -f" "$BATS_TEST_TMPDIR/stderr"
	# b is not reported done; the image stays marked not clean
	[ "$(records_ok "$BATS_TEST_TMPDIR/report")" -eq 1 ]
	dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *not clean'
}

# A file size limit lowered during the run (prlimit) is met by a write:
# SIGXFSZ killed the run (status 153, no message).  Ignored, the write
# fails with EFBIG, the run stops with exit 1 and names the limit.
@test "a file size limit lowered during the run: exit 1, the message names the limit" {
	command -v prlimit >/dev/null || skip "no prlimit"
	mkdata "$BATS_TEST_TMPDIR/big" $((3 * 1024 * 1024))
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$PCWRITE" "$IMG" /f <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/stderr" &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	# open (and checked against the limit) before the limit drops
	for k in $(seq 200); do
		[ -e "/proc/$pid/fd" ] && ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$IMG" && break
		sleep 0.05
	done
	prlimit --pid "$pid" --fsize=1048576
	cat "$BATS_TEST_TMPDIR/big" >&7
	exec 7>&-
	st=0
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/stderr"
	[ "$st" -eq 1 ]
	grep -q "^pcwrite: $IMG:/f: File too large (the file size limit, ulimit -f, is 1048576 bytes)" "$BATS_TEST_TMPDIR/stderr"
}

# ---- a device whose final fsync fails -----------------------------------------

# fsync_fails_from_each_call ARGS...: count the fsync/fdatasync calls of a
# clean run, then fail them from the Nth on, for every N: exit 1, one line.
fsync_fails_from_each_call() {
	[ -f "$BATS_FILE_TMPDIR/eio_shim.so" ] || skip "no C compiler for the EIO shim"
	mkdata "$BATS_TEST_TMPDIR/big" 300000
	rm -f "$BATS_TEST_TMPDIR/u" "$BATS_TEST_TMPDIR/log"
	LD_PRELOAD=$BATS_FILE_TMPDIR/eio_shim.so PCW_FSYNC_LOG=$BATS_TEST_TMPDIR/log \
		"$PCWRITE" --no-journal "$@" "$IMG" /f "$BATS_TEST_TMPDIR/big"
	calls=$(wc -l <"$BATS_TEST_TMPDIR/log")
	echo "# $calls fsync calls" >&3
	[ "$calls" -ge 2 ]
	for n in $(seq 1 "$calls"); do
		cp "$BATS_TEST_TMPDIR/before" "$IMG"
		rm -f "$BATS_TEST_TMPDIR/u"
		run -1 --separate-stderr env LD_PRELOAD="$BATS_FILE_TMPDIR/eio_shim.so" PCW_EIO_FSYNC="$n" \
			"$PCWRITE" --no-journal "$@" "$IMG" /f "$BATS_TEST_TMPDIR/big"
		echo "fsync $n of $calls fails:"
		one_line "Input/output error"
		fsck_clean "$IMG"
	done
}

@test "an fsync that fails, at any of the run's calls, is exit 1 and one line" {
	fsync_fails_from_each_call
}

@test "with --undo: an fsync that fails, the undo file's last one included, is exit 1 and one line" {
	fsync_fails_from_each_call --undo="$BATS_TEST_TMPDIR/u"
}

# ---- names with control bytes ------------------------------------------------

@test "a newline in DEST, SOURCE or IMAGE never splits a message" {
	run -0 --separate-stderr "$PCWRITE" -v "$IMG" $'/new\nline' "$BATS_TEST_TMPDIR/data"
	one_line '^pcwrite: .*img:"/new\\nline": 6 bytes written'
	readback "$IMG" $'/new\nline' "$BATS_TEST_TMPDIR/data"
	run -1 --separate-stderr "$PCWRITE" "$IMG" $'/no\ndir/f' "$BATS_TEST_TMPDIR/data"
	one_line '"/no\\ndir/f": parent directory does not exist'
	run -1 --separate-stderr "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/$(printf 'tab\there\nnl')"
	one_line '^pcwrite: cannot open source "[^"]*/tab\\there\\nnl": No such file or directory$'
	run -1 --separate-stderr "$PCWRITE" "$BATS_TEST_TMPDIR/$(printf 'img\033[2J')" /f "$BATS_TEST_TMPDIR/data"
	one_line '"[^"]*/img\\033\[2J": No such file or directory$'
	fsck_clean "$IMG"
}

@test "quoting is reversible: a backslash or a double quote is escaped too, a plain name is as it is" {
	run -1 --separate-stderr "$PCWRITE" "$IMG" '/a\b"c/f' "$BATS_TEST_TMPDIR/data"
	one_line ':"/a\\\\b\\"c/f": parent directory'
	run -1 --separate-stderr "$PCWRITE" "$IMG" '/plain name/f' "$BATS_TEST_TMPDIR/data"
	one_line ':/plain name/f: parent directory'
}

@test "the summary report: one line a file, whatever its name" {
	run -0 --separate-stderr "$PCWRITE" -r summary "$IMG" $'/two\nlines' "$BATS_TEST_TMPDIR/data"
	echo "stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^\"/two\\nlines\":\ 6\ bytes\ written ]]
}

# ---- the undo file ---------------------------------------------------------------

@test "--undo in a missing directory: one line, exit 1, no crash, image untouched" {
	run -1 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/no/such/u" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: cannot open undo file '$BATS_TEST_TMPDIR/no/such/u': No such file or directory$"
	untouched
}

@test "an existing --undo file is refused, exit 2, and kept as it was" {
	printf 'precious\n' >"$BATS_TEST_TMPDIR/u"
	run -2 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '.*/u': file exists; remove it or name a new one$"
	[ "$(cat "$BATS_TEST_TMPDIR/u")" = precious ]
	# a directory, or a symlink (dangling: its target is not created)
	mkdir "$BATS_TEST_TMPDIR/dir"
	run -2 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/dir" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '.*/dir': file exists"
	ln -s "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/link"
	run -2 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/link" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	one_line "^pcwrite: undo file '.*/link': file exists"
	[ ! -e "$BATS_TEST_TMPDIR/target" ]
	untouched
}

@test "a run refused after the undo file was made leaves none: locked image, missing parent" {
	# one process holds the lock: killing it releases it
	bash -c 'exec 9<"$1"; flock 9; exec sleep 30' _ "$IMG" &
	lockpid=$!
	for i in $(seq 50); do
		flock -n "$IMG" true 2>/dev/null || break
		sleep 0.1
	done
	run -1 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	kill "$lockpid"
	wait "$lockpid" || :
	one_line "locked by another pcwrite"
	[ ! -e "$BATS_TEST_TMPDIR/u" ]
	run -1 --separate-stderr "$PCWRITE" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /no/f "$BATS_TEST_TMPDIR/data"
	one_line "parent directory does not exist"
	[ ! -e "$BATS_TEST_TMPDIR/u" ]
	untouched
}

@test "--undo still rolls a run back" {
	mkdata "$BATS_TEST_TMPDIR/big" 200000
	run -0 "$PCWRITE" --undo="$BATS_TEST_TMPDIR/u" "$IMG" /f "$BATS_TEST_TMPDIR/big"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/big"
	run -0 e2undo "$BATS_TEST_TMPDIR/u" "$IMG"
	untouched
}
