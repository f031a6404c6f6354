#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# journal.bats: lib/journal.c, the jbd2 journal writer, judged by e2fsck,
# debugfs logdump and the kernel's own replay (tests/test_journal drives it;
# journal_helper.bash says how a transaction is made).
load test_helper
load kernel_helper
load journal_helper

setup() {
	T=$BATS_TEST_TMPDIR
	[ -x "$TJ" ] || skip "tests/test_journal not built (make tests/test_journal)"
	head -c 5000 /dev/urandom >"$T/a"
	head -c 300000 /dev/urandom >"$T/b"
}

teardown() {
	jumount 2>/dev/null || true
}

# two_states IMAGE: $T/s0 (IMAGE as it is), s1 (a directory and a file),
# s2 (a larger file, an inode's mode changed, a symlink).
two_states() {
	cp --sparse=always "$1" "$T/s0"
	state "$T/s0" "$T/s1" "mkdir d" "write $T/a d/a"
	state "$T/s1" "$T/s2" "write $T/b d/b" "sif d/a mode 0100600" \
		"symlink d/l /d/a"
	# the states themselves are sound filesystems
	fsck_clean "$T/s1"
	fsck_clean "$T/s2"
}

# Two transactions committed and not checkpointed (a crash right after the
# second commit): every judge sees them.
committed() {
	local fx=$1 img=$T/img seq
	cp --sparse=always "$(fixture "$fx")" "$img"
	seq=$(( $(jfield "$img" "Journal sequence") ))
	two_states "$img"
	run "$TJ" "$img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 0 ]

	# In place: the old filesystem, marked for recovery, still "clean".
	fsck_needs_recovery "$img"
	dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'
	[ "$(jfield "$img" "Filesystem state")" = clean ]
	[ "$(jfield "$img" "Journal start")" != 0 ]
	if dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*orphan_file'; then
		dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*orphan_present'
	fi

	# logdump reads both transactions (the first tid is s_sequence + 1, as
	# the kernel numbers after a clean journal) and every changed block.
	[ "$(tids "$img" | tr '\n' ' ')" = "$((seq + 1)) $((seq + 2)) " ]
	{ diff_blocks "$T/s0" "$T/s1"; diff_blocks "$T/s1" "$T/s2"; } | sort -nu >"$T/changed"
	logged "$img" | sort -nu >"$T/logged"
	diff "$T/changed" "$T/logged"

	# e2fsck replays them: the image is then s2, block for block, but for
	# the superblock and the journal.
	cp --sparse=always "$img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s2" "$T/allowed"
	readback "$T/r" /d/a "$T/a"
	readback "$T/r" /d/b "$T/b"
	dstat "$T/r" /d/a | grep -q 'Mode:  0600'

	# The kernel replays them itself.
	cp --sparse=always "$img" "$T/k"
	jmount "$T/k"
	cmp "$JMNT/d/a" "$T/a"
	cmp "$JMNT/d/b" "$T/b"
	[ "$(stat -c %a "$JMNT/d/a")" = 600 ]
	[ "$(readlink "$JMNT/d/l")" = /d/a ]
	jumount
	fsck_clean "$T/k"
}

@test "ext4 1 KiB, journal features as mke2fs leaves them: committed transactions are replayed by e2fsck and the kernel" {
	committed ext4_1k
}

@test "ext4 1 KiB after a kernel mount (journal_64bit, csum v3): committed transactions are replayed by e2fsck and the kernel" {
	kernel_require
	committed ext4_1k_v3
}

@test "ext4 4 KiB: committed transactions are replayed by e2fsck and the kernel" {
	committed ext4_4k
}

@test "ext4 4 KiB with csum v3: committed transactions are replayed by e2fsck and the kernel" {
	kernel_require
	committed ext4_4k_v3
}

@test "ext4 without 64bit: committed transactions are replayed by e2fsck and the kernel" {
	committed ext4_32bit
}

@test "ext3 (no checksums): committed transactions are replayed by e2fsck and the kernel" {
	committed ext3
}

@test "ext3 with journal_checksum (csum v1, crc32 in the commit block): replayed by e2fsck and the kernel" {
	kernel_require
	committed ext3_v1
	[ "$(jfield "$(fixture ext3_v1)" "Journal features")" = journal_checksum ]
}

@test "bigalloc: committed transactions are replayed by e2fsck and the kernel" {
	committed bigalloc
}

@test "orphan_file: orphan_present is set with needs_recovery while the log is live, cleared by replay and by close" {
	committed orphan
	! dumpe2fs -h "$T/k" 2>/dev/null | grep -q '^Filesystem features:.*orphan_present'
	cp --sparse=always "$(fixture orphan)" "$T/c"
	run "$TJ" -c "$T/c" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	fsck_clean "$T/c"
	! dumpe2fs -h "$T/c" 2>/dev/null | grep -q '^Filesystem features:.*\(orphan_present\|needs_recovery\)'
}

# Checkpoint and close: what ext4_put_super leaves.
closed() {
	local img=$T/img
	cp --sparse=always "$(fixture "$1")" "$img"
	two_states "$img"
	run "$TJ" -c "$img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 0 ]
	fsck_clean "$img"
	[ "$(jfield "$img" "Journal start")" = 0 ]
	! dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'
	[ "$(jfield "$img" "Filesystem state")" = clean ]
	# every block but the journal's is s2's: the superblock too, with
	# needs_recovery cleared and its checksum as before
	journal_blocks "$img" >"$T/allowed"
	only_differ "$img" "$T/s2" "$T/allowed"
	readback "$img" /d/b "$T/b"
	# the next session starts after ours: s_sequence is the next tid
	[ $(( $(jfield "$img" "Journal sequence") )) -eq \
	  $(( $(jfield "$T/s0" "Journal sequence") + 3 )) ]
}

@test "checkpoint and close leave a clean image: e2fsck -fn 0, no needs_recovery, s_start 0, the last state in place" {
	closed ext4_1k
}

@test "checkpoint and close with csum v3 (the journal superblock's checksum rewritten)" {
	kernel_require
	closed ext4_4k_v3
	kernel_readback "$T/img" /d/a "$T/a"
}

@test "a checkpoint moves the log's tail: after a crash only later transactions are replayed" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	seq=$(( $(jfield "$T/img" "Journal sequence") ))
	two_states "$T/img"
	run "$TJ" -k 1 -s "$T/img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"checkpoints 1"* ]]
	# transaction 1 is in place; the log starts at transaction 2
	[ "$(tids "$T/img" | tr '\n' ' ')" = "$((seq + 2)) " ]
	fsck_needs_recovery "$T/img"
	readback "$T/img" /d/a "$T/a"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/b "$T/b"
	jmount "$T/img"
	cmp "$JMNT/d/b" "$T/b"
}

# revoked FIXTURE [-r]: T1 makes directory /d (its block B logged), T2
# removes it (B freed), T3 makes /e.  With -r, T2 revokes B.
revoked() {
	local fx=$1 revoke=$2 img=$T/img
	cp --sparse=always "$(fixture "$fx")" "$img"
	cp --sparse=always "$img" "$T/s0"
	state "$T/s0" "$T/s1" "mkdir d" "mkdir d/sub"
	B=$(debugfs -R "blocks /d/sub" "$T/s1" 2>/dev/null | tr -d ' ')
	[ -n "$B" ]
	state "$T/s1" "$T/s2" "rmdir d/sub"
	run "$TJ" ${revoke:+-r 2:$B} -s "$img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 0 ]
	logged "$img" | grep -qx "$B"
	bs=$(fs_bs "$img")
	dd if="$T/s0" bs="$bs" skip="$B" count=1 status=none >"$T/B.old"
	dd if="$T/s1" bs="$bs" skip="$B" count=1 status=none >"$T/B.dir"
	! cmp -s "$T/B.old" "$T/B.dir"
}

@test "revoke: a block logged, then revoked by a later transaction, is not replayed (e2fsck and the kernel)" {
	revoked ext4_1k -r
	[[ "$output" == *"revoke_records 1"* ]]
	debugfs -R "logdump" "$T/img" 2>/dev/null | grep -q 'type 5 (revoke table)'
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	dd if="$T/r" bs="$bs" skip="$B" count=1 status=none | cmp - "$T/B.old"
	cp --sparse=always "$T/img" "$T/k"
	jmount "$T/k"
	[ ! -e "$JMNT/d/sub" ]
	jumount
	dd if="$T/k" bs="$bs" skip="$B" count=1 status=none | cmp - "$T/B.old"
}

@test "revoke with csum v3 (8-byte records, revoke block tail checksum)" {
	kernel_require
	revoked ext4_1k_v3 -r
	cp --sparse=always "$T/img" "$T/k"
	jmount "$T/k"
	jumount
	dd if="$T/k" bs="$bs" skip="$B" count=1 status=none | cmp - "$T/B.old"
	fsck_clean "$T/k"
}

@test "revoke: without the revoke record the old copy is replayed (the test can tell)" {
	revoked ext4_1k
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	dd if="$T/r" bs="$bs" skip="$B" count=1 status=none | cmp - "$T/B.dir"
}

@test "revoke: a block logged again after its revoke is replayed from the later transaction" {
	revoked ext4_1k -r
	state "$T/s2" "$T/s3" "mkdir d/sub" "write $T/a d/sub/a"
	cp --sparse=always "$(fixture ext4_1k)" "$T/img2"
	run "$TJ" -r 2:"$B" "$T/img2" "$T/s0" "$T/s1" "$T/s2" "$T/s3"
	[ "$status" -eq 0 ]
	# debugfs reuses the freed block for the new directory
	[ "$(debugfs -R "blocks /d/sub" "$T/s3" 2>/dev/null | tr -d ' ')" = "$B" ]
	cp --sparse=always "$T/img2" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/sub/a "$T/a"
	jmount "$T/img2"
	cmp "$JMNT/d/sub/a" "$T/a"
}

@test "revoke and log the same block in one transaction: the revoke is cancelled (freed and reused)" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	blk=$(diff_blocks "$T/s1" "$T/s2" | tail -n1)
	run "$TJ" -s -r 2:"$blk" "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"revoke_records 0"* ]]
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/b "$T/b"
}
