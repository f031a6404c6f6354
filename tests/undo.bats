#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# undo.bats: --undo when the undo file cannot take what the run saves in
# it.  The undo file lives on a small tmpfs that fills during the run, or
# meets the file size limit.  The run stops with exit 1 and a message that
# names the undo file; the image is consistent (e2fsck -fn), and e2undo
# gives back the image as it was before the run.  Killed runs are
# kill9.bats's.

load test_helper

setup_file() {
	if command -v cc >/dev/null; then
		cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
			"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	fi
	# 40 files of 1 MiB: 40 MiB to save in a 20 MiB undo file
	mkdir "$BATS_FILE_TMPDIR/src"
	for i in $(seq -w 1 40); do
		head -c 1048576 /dev/urandom >"$BATS_FILE_TMPDIR/src/f0$i"
	done
	tar -cf "$BATS_FILE_TMPDIR/a.tar" -C "$BATS_FILE_TMPDIR/src" .
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	MNT=$BATS_TEST_TMPDIR/mnt
	U=$MNT/u
}

teardown() {
	tmpfs_umount "${MNT:-}"
	detach_attached
}

# stopped_by_undo PATTERN: one line naming the undo file, then where the
# run stopped.
stopped_by_undo() {
	echo "exit $status, stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^pcwrite:\ undo\ file\ \'$U\':\ $1\;\ the\ run\ stopped\ at\ $IMG: ]]
}

# Before: the undo file had a write-back cache of its own, and its ENOSPC
# came back from a later write, blamed on an image entry ("IMG:/f003: No
# space left on device", "Can't write a block bitmap"); the image was left
# not clean with e2fsck errors, and e2undo failed with "short read".
undo_fills_during_x() {
	mkimg "$IMG" 200M -t ext4 -b "$1"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	tmpfs_mount "$MNT" 20m
	run -1 --separate-stderr "$PCWRITE" --undo="$U" -x -r json \
		--report-file="$BATS_TEST_TMPDIR/report" "$IMG" / "$BATS_FILE_TMPDIR/a.tar"
	stopped_by_undo "No space left on device"
	# consistent, clean, and every entry reported done is there
	fsck_clean "$IMG"
	dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *clean$'
	ok=$(grep '"status":"ok"' "$BATS_TEST_TMPDIR/report" | grep -o '"file":"/f0[0-9]*"' | cut -d'"' -f4)
	[ -n "$ok" ]
	for f in $ok; do
		readback "$IMG" "$f" "$BATS_FILE_TMPDIR/src$f"
	done
	# the undo file is complete: the image as it was, byte for byte
	run -0 e2undo "$U" "$IMG"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	tmpfs_umount "$MNT"
}

@test "the undo file's filesystem fills during -x, 1 KiB blocks: exit 1 naming it, the image consistent, e2undo gives it back" {
	undo_fills_during_x 1024
}

@test "the undo file's filesystem fills during -x, 4 KiB blocks: exit 1 naming it, the image consistent, e2undo gives it back" {
	undo_fills_during_x 4096
}

@test "the undo file's filesystem fills during a single file: the file holds what was written, e2undo gives the image back" {
	mkimg "$IMG" 200M -t ext4 -b 4096
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	tmpfs_mount "$MNT" 20m
	cat "$BATS_FILE_TMPDIR"/src/f0* >"$BATS_TEST_TMPDIR/big"
	run -1 --separate-stderr "$PCWRITE" --undo="$U" "$IMG" /big "$BATS_TEST_TMPDIR/big"
	stopped_by_undo "No space left on device"
	[[ "$stderr" =~ \(([0-9]+)\ bytes\ written\)$ ]]
	n=${BASH_REMATCH[1]}
	[ "$n" -gt 0 ]
	head -c "$n" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/expect"
	verify "$IMG" /big "$BATS_TEST_TMPDIR/expect"
	run -0 e2undo "$U" "$IMG"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

# The room for finishing a run (every group's bitmaps, every copy of the
# superblock and descriptors, a margin) is reserved before the first write.
@test "an undo file's filesystem too small to finish any run: stopped before the first write, the image byte-identical, no undo file" {
	mkimg "$IMG" 64M -t ext4 -b 4096
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	tmpfs_mount "$MNT" 1m
	run -1 --separate-stderr "$PCWRITE" --undo="$U" "$IMG" /f "$BATS_FILE_TMPDIR/src/f001"
	stopped_by_undo "No space left on device"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
	[ ! -e "$U" ]
}

# The image is a block device (the file size limit does not apply to one);
# the undo file, which takes a copy of every block written, meets it.
# Before: SIGXFSZ, status 153, no message, the image not clean.
@test "the file size limit met by the undo file: the run stops naming the limit, e2undo gives the image back" {
	kernel_require
	mkimg "$IMG" 64M -t ext4 -b 4096
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	dev=$(attach "$IMG")
	mkdir "$MNT"
	cat "$BATS_FILE_TMPDIR"/src/f00* >"$BATS_TEST_TMPDIR/big"
	limited() {
		(ulimit -f 8192; exec "$PCWRITE" "$@")
	}
	run -1 --separate-stderr limited --undo="$U" "$dev" /big "$BATS_TEST_TMPDIR/big"
	IMG=$dev stopped_by_undo "File too large \(the file size limit, ulimit -f, is 8388608 bytes\)"
	[[ "$stderr" =~ \(([0-9]+)\ bytes\ written\)$ ]]
	head -c "${BASH_REMATCH[1]}" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/expect"
	fsck_clean "$dev"
	readback "$dev" /big "$BATS_TEST_TMPDIR/expect"
	[ "$(stat -c %s "$U")" -le 8388608 ]
	run -0 e2undo "$U" "$dev"
	detach_attached
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

# No room can be reserved (fallocate fails, as on a filesystem without it):
# the full filesystem is met by a record, anywhere in the run.  No later
# write reaches the image or the undo file, so every block changed can be
# put back, but the image is left half-updated.
@test "no room reserved (no fallocate): a full undo filesystem stops every write, what the image is left with said (a journal to replay), e2undo and e2fsck give it back" {
	[ -f "$BATS_FILE_TMPDIR/eio_shim.so" ] || skip "no C compiler for the shim"
	mkimg "$IMG" 200M -t ext4 -b 4096
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	tmpfs_mount "$MNT" 20m
	run -1 --separate-stderr env LD_PRELOAD="$BATS_FILE_TMPDIR/eio_shim.so" PCW_NO_FALLOCATE=1 \
		"$PCWRITE" --undo="$U" -x "$IMG" / "$BATS_FILE_TMPDIR/a.tar"
	echo "stderr: $stderr"
	[[ "${stderr_lines[0]}" =~ ^pcwrite:\ undo\ file\ \'$U\':\ No\ space\ left\ on\ device\;\ the\ run\ stopped\ at ]]
	# with the journal (the default): a log to replay, and said so; or,
	# stopped before its first commit, consistent as it was, and nothing
	# more said (before: "left marked not clean" either way)
	if dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
		[ "${#stderr_lines[@]}" -eq 2 ]
		[ "${stderr_lines[1]}" = "pcwrite: $IMG: filesystem left with a journal to replay; mount it or run e2fsck -E journal_only" ]
	else
		[ "${#stderr_lines[@]}" -eq 1 ]
		fsck_clean "$IMG"
	fi
	[ "$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" = clean ]
	run -0 --separate-stderr e2undo "$U" "$IMG"
	[[ "$stderr" == *"Incomplete undo record"* ]]
	run e2fsck -fy "$IMG"
	[ "$status" -le 1 ]
	fsck_clean "$IMG"
	only_undo_rewrites "$IMG" "$BATS_TEST_TMPDIR/before"
}
