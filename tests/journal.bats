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
	# never orphan_present (orphan_file): lib/journal.c says why
	! dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.*orphan_present'

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

@test "orphan_file: needs_recovery is set while the log is live, never orphan_present (no orphan file entry is written); replay and close leave neither" {
	committed orphan
	! dumpe2fs -h "$T/k" 2>/dev/null | grep -q '^Filesystem features:.*orphan_present'
	cp --sparse=always "$(fixture orphan)" "$T/c"
	run "$TJ" -c "$T/c" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	fsck_clean "$T/c"
	! dumpe2fs -h "$T/c" 2>/dev/null | grep -q '^Filesystem features:.*\(orphan_present\|needs_recovery\)'
}

# e2fsck 1.47.0's -E journal_only replays the log and processes the orphan
# list and file, but clears orphan_present only after a full check: with the
# flag set in place (as ext4_setup_super sets it at mount), the replayed
# image made the next e2fsck -fn say "orphan_present is set but orphan file
# is clean" (exit 4) at every kill point.
@test "orphan_file: a pcwrite run killed after each of its image writes: e2fsck -E journal_only, then e2fsck -fn clean with nothing to report; the kernel replays too" {
	local shim=$BATS_FILE_TMPDIR/eio_shim.so n w live=0 sz
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	cp --sparse=always "$(fixture orphan)" "$T/img0"
	"$PCWRITE" "$T/img0" /a "$T/a"
	cp --sparse=always "$T/img0" "$T/img"
	env LD_PRELOAD="$shim" PCW_WRITE_COUNT="$T/wc" "$PCWRITE" "$T/img" /n "$T/b"
	n=$(cat "$T/wc")
	[ "$n" -gt 5 ]
	for w in $(seq 1 "$n"); do
		cp --sparse=always "$T/img0" "$T/k"
		run env LD_PRELOAD="$shim" PCW_KILL_WRITE=$w "$PCWRITE" "$T/k" /n "$T/b"
		[ "$status" -eq 137 ]
		! dumpe2fs -h "$T/k" 2>/dev/null | grep -q '^Filesystem features:.*orphan_present'
		if [ "$(jfield "$T/k" "Journal start")" != 0 ]; then
			live=$((live + 1))
			# the kernel's replay, on the first such point
			if [ "$live" -eq 1 ] && kernel_available; then
				cp --sparse=always "$T/k" "$T/kk"
				jmount "$T/kk"
				jumount
				fsck_clean "$T/kk"
			fi
		fi
		run e2fsck -y -E journal_only "$T/k"
		[ "$status" -eq 0 ]
		fsck_clean "$T/k" || { echo "killed after write $w"; return 1; }
		# what was committed: no file, or the first bytes of the new one
		readback "$T/k" /a "$T/a"
		sz=$(inode_size "$T/k" /n)
		if [ -n "$sz" ]; then
			head -c "$sz" "$T/b" >"$T/want"
			readback "$T/k" /n "$T/want"
		fi
	done
	echo "# $n kill points, $live with a log to replay" >&3
	[ "$live" -gt 0 ]
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
	# the kernel's next session takes the log on from there
	seq=$(( $(jfield "$T/img" "Journal sequence") ))
	kernel_touch "$T/img"
	fsck_clean "$T/img"
	[ $(( $(jfield "$T/img" "Journal sequence") )) -gt "$seq" ]
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

@test "csum v2 (converted by hand; 10-byte tags without 64bit): replayed by e2fsck and the kernel" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	run "$TJ" -2 "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	[ "$(jfield "$T/img" "Journal features")" = journal_checksum_v2 ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/b "$T/b"
	jmount "$T/img"
	cmp "$JMNT/d/b" "$T/b"
}

@test "csum v2 with 64bit (14-byte tags): replayed by e2fsck and the kernel" {
	kernel_require
	cp --sparse=always "$(fixture ext4_4k_v3)" "$T/img"
	two_states "$T/img"
	run "$TJ" -2 "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	[ "$(jfield "$T/img" "Journal features")" = "journal_64bit journal_checksum_v2" ]
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/b "$T/b"
	jmount "$T/img"
	cmp "$JMNT/d/b" "$T/b"
}

# escaped FIXTURE: a file whose first two blocks start with the jbd2 magic,
# logged escaped (flag 0x1, first word zeroed) and replayed whole.
escaped() {
	cp --sparse=always "$(fixture "$1")" "$T/img"
	cp --sparse=always "$T/img" "$T/s0"
	bs=$(fs_bs "$T/img")
	{ printf '\300\073\071\230'; head -c $((bs - 4)) /dev/urandom
	  printf '\300\073\071\230'; head -c 1000 /dev/urandom; } >"$T/m"
	state "$T/s0" "$T/s1" "write $T/m m"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 0 ]
	first=$(debugfs -R "blocks /m" "$T/s1" 2>/dev/null | awk '{ print $1 }')
	# logdump shows the escape flag on that block's tag
	debugfs -R "logdump -a" "$T/img" 2>/dev/null |
		grep -E "^ *FS block $first logged at journal block [0-9]+ \(flags 0x[0-9a-f]*[13579bdf]\)"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /m "$T/m"
	jmount "$T/img"
	cmp "$JMNT/m" "$T/m"
}

@test "escaping: blocks that start with the jbd2 magic survive the replay (e2fsck and the kernel)" {
	escaped ext4_1k
}

@test "escaping with csum v3: the tag checksum covers the escaped copy" {
	kernel_require
	escaped ext4_1k_v3
}

@test "data=ordered: file data written in place before the commit, only metadata logged; e2fsck and the kernel replay" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	cp --sparse=always "$T/img" "$T/s0"
	state "$T/s0" "$T/s1" "mkdir d" "write $T/b d/b"
	data=$(debugfs -R "blocks /d/b" "$T/s1" 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')
	[ -n "$data" ]
	run "$TJ" -d "1:$data" "$T/img" "$T/s0" "$T/s1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"data 293 "* ]]
	# none of the data blocks is in the log
	logged "$T/img" | sort -n >"$T/logged"
	echo "$data" | tr ',' '\n' | sort -n >"$T/data"
	[ -z "$(comm -12 "$T/logged" "$T/data")" ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s1" "$T/allowed"
	jmount "$T/img"
	cmp "$JMNT/d/b" "$T/b"
}

# commit_block IMAGE N: the physical block of the Nth commit block logdump finds.
commit_block() {
	local j
	j=$(debugfs -R "logdump" "$1" 2>/dev/null |
		sed -n 's/^Found expected sequence [0-9]*, type 2 (commit block) at block \([0-9]*\).*/\1/p' |
		sed -n "${2}p")
	debugfs -R "bmap <8> $j" "$1" 2>/dev/null
}

# last_copy IMAGE: the physical block of the last copy logdump -a lists.
last_copy() {
	local j
	j=$(debugfs -R "logdump -a" "$1" 2>/dev/null |
		sed -n 's/^ *FS block [0-9]* logged at journal block \([0-9]*\) .*/\1/p' | tail -n1)
	debugfs -R "bmap <8> $j" "$1" 2>/dev/null
}

# torn FIXTURE [corrupt]: T1 and T2 committed, then T2's commit block
# zeroed (it never reached the disk), and with "corrupt" one of T2's copies
# damaged too (written only in part).  Only T1 is replayed.
torn() {
	cp --sparse=always "$(fixture "$1")" "$T/img"
	two_states "$T/img"
	run "$TJ" "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	bs=$(fs_bs "$T/img")
	dd if=/dev/zero of="$T/img" bs="$bs" seek="$(commit_block "$T/img" 2)" count=1 conv=notrunc status=none
	if [ "$2" = corrupt ]; then
		printf 'torn' | dd of="$T/img" bs=1 seek=$(( $(last_copy "$T/img") * bs + 100 )) conv=notrunc status=none
	fi
	[ "$(tids "$T/img" | wc -l)" -eq 1 ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s1" "$T/allowed"
	jmount "$T/img"
	cmp "$JMNT/d/a" "$T/a"
	[ ! -e "$JMNT/d/b" ]
	jumount
	fsck_clean "$T/img"
}

@test "torn transaction (commit block missing): not replayed, the one before is; the kernel mounts" {
	torn ext4_1k
}

@test "torn transaction with csum v3 (a copy failing its tag checksum, no commit block): not replayed; the kernel mounts" {
	kernel_require
	torn ext4_1k_v3 corrupt
}

@test "csum v3, what the kernel does with a committed copy failing its tag checksum: refuses the mount; e2fsck replays the rest and repairs (the journal never writes this: its commit block follows a flush)" {
	kernel_require
	cp --sparse=always "$(fixture ext4_1k_v3)" "$T/img"
	two_states "$T/img"
	run "$TJ" "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	bs=$(fs_bs "$T/img")
	printf 'rot!' | dd of="$T/img" bs=1 seek=$(( $(last_copy "$T/img") * bs + 100 )) conv=notrunc status=none
	cp --sparse=always "$T/img" "$T/r"
	run jmount "$T/img"
	[ "$status" -ne 0 ]
	[[ "$output" == *"JBD2: Invalid checksum recovering data block"* ]]
	[[ "$output" == *"error loading journal"* ]]
	run e2fsck -fy "$T/r"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Journal checksum error found"* ]]
	fsck_clean "$T/r"
}

# wrapped FIXTURE: 31 transactions between s0 (empty) and s1 (a 100 KiB
# file), about 110 log blocks each, through a 1023-block log: it wraps
# around three times, checkpointing at three quarters full.
wrapped() {
	local args i
	cp --sparse=always "$(fixture "$1")" "$T/img"
	cp --sparse=always "$T/img" "$T/s0"
	head -c 102400 /dev/urandom >"$T/c"
	state "$T/s0" "$T/s1" "mkdir w" "write $T/c w/c"
	args="$T/s0"
	for i in $(seq 1 15); do args="$args $T/s1 $T/s0"; done
	args="$args $T/s1"
	run "$TJ" -s "$T/img" $args
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sed -n 's/^transactions //p')" -eq 31 ]
	[ "$(echo "$output" | sed -n 's/^journal_blocks //p')" -gt $((3 * 1023)) ]
	[ "$(echo "$output" | sed -n 's/^checkpoints //p')" -ge 3 ]
	# the live log ends with the last transaction
	seq=$(( $(jfield "$T/s0" "Journal sequence") ))
	[ "$(tids "$T/img" | tail -n1)" -eq $((seq + 31)) ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s1" "$T/allowed"
	cp --sparse=always "$T/img" "$T/k"
	jmount "$T/k"
	cmp "$JMNT/w/c" "$T/c"
	jumount
	fsck_clean "$T/k"
	cp --sparse=always "$(fixture "$1")" "$T/c.img"
	run "$TJ" -c "$T/c.img" $args
	[ "$status" -eq 0 ]
	fsck_clean "$T/c.img"
	journal_blocks "$T/c.img" >"$T/jallowed"
	only_differ "$T/c.img" "$T/s1" "$T/jallowed"
}

@test "-J size=1: the log wraps around three times; a crash after the last commit replays to the last state" {
	wrapped small
}

@test "-J size=1 with csum v3: the log wraps around three times; e2fsck and the kernel replay" {
	kernel_require
	wrapped small_v3
}

@test "held blocks past the memory cap: a checkpoint before the next commit" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	run "$TJ" -s -m 65536 "$T/img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"checkpoints 1"* ]]
	seq=$(( $(jfield "$T/s0" "Journal sequence") ))
	[ "$(tids "$T/img" | tr '\n' ' ')" = "$((seq + 2)) " ]
	readback "$T/img" /d/a "$T/a"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	readback "$T/r" /d/b "$T/b"
}

@test "a transaction over a quarter of the journal is refused with nothing written" {
	cp --sparse=always "$(fixture small)" "$T/img"
	cp --sparse=always "$T/img" "$T/s0"
	run "$TJ" -l "$T/img"
	[ "$status" -eq 0 ]
	max=$(echo "$output" | sed -n 's/^max_blocks //p')
	[ "$max" -gt 200 ] && [ "$max" -lt 256 ]
	head -c 409600 /dev/urandom >"$T/big"
	state "$T/s0" "$T/s1" "write $T/big big"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 2 ]
	[ "$output" = "test_journal: commit 1: transaction larger than a quarter of the journal" ]
	cmp "$T/img" "$T/s0"
}

@test "refused with nothing written: fast_commit, unknown journal features, a log that needs recovery" {
	mkimg "$T/fc" 64M -t ext4 -O fast_commit
	cp "$T/fc" "$T/fc.0"
	run "$TJ" "$T/fc" "$T/fc" "$T/fc"
	[ "$status" -eq 2 ]
	[[ "$output" == *"journal has fast commits (fast_commit)"* ]]
	cmp "$T/fc" "$T/fc.0"

	# an unknown incompat feature (0x80) in a journal without checksums
	cp --sparse=always "$(fixture ext4_1k)" "$T/u"
	jsb=$(debugfs -R "bmap <8> 0" "$T/u" 2>/dev/null)
	printf '\200' | dd of="$T/u" bs=1 seek=$((jsb * 1024 + 0x2B)) conv=notrunc status=none
	cp "$T/u" "$T/u.0"
	run "$TJ" "$T/u" "$T/u" "$T/u"
	[ "$status" -eq 2 ]
	[[ "$output" == *"journal format not supported"* ]]
	cmp "$T/u" "$T/u.0"

	# needs recovery: a log left by a crash
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 0 ]
	cp "$T/img" "$T/img.0"
	run "$TJ" "$T/img" "$T/s1" "$T/s2"
	[ "$status" -eq 2 ]
	[[ "$output" == *"journal needs recovery"* ]]
	cmp "$T/img" "$T/img.0"
}

@test "refused with nothing written: an external journal; a csum v3 journal superblock whose checksum fails" {
	kernel_require
	truncate -s 8M "$T/jdev"
	mke2fs -q -F -O journal_dev -b 1024 "$T/jdev"
	JLOOP=$(losetup -f --show "$T/jdev")
	truncate -s 64M "$T/x"
	mke2fs -q -F -E nodiscard -t ext4 -J device="$JLOOP" "$T/x"
	losetup -d "$JLOOP"
	JLOOP=
	cp "$T/x" "$T/x.0"
	run "$TJ" "$T/x" "$T/x" "$T/x"
	[ "$status" -eq 2 ]
	[[ "$output" == *"external journal"* ]]
	cmp "$T/x" "$T/x.0"

	cp --sparse=always "$(fixture ext4_1k_v3)" "$T/v"
	jsb=$(debugfs -R "bmap <8> 0" "$T/v" 2>/dev/null)
	printf '\001' | dd of="$T/v" bs=1 seek=$((jsb * 1024 + 0x4B)) conv=notrunc status=none
	cp "$T/v" "$T/v.0"
	run "$TJ" "$T/v" "$T/v" "$T/v"
	[ "$status" -eq 2 ]
	[[ "$output" == *"journal superblock or journal inode is corrupt"* ]]
	cmp "$T/v" "$T/v.0"
}

# commit_times IMAGE: "SEC NSEC" of each commit block, read with dd and od.
commit_times() {
	local n=1 p bs
	bs=$(fs_bs "$1")
	while p=$(commit_block "$1" $n) && [ -n "$p" ]; do
		x=$(dd if="$1" bs=1 skip=$((p * bs + 0x30)) count=12 status=none |
			od -An -tx1 | tr -d ' \n')
		echo "$((16#${x:0:16})) $((16#${x:16:8}))"
		n=$((n + 1))
	done
}

@test "commit times: a fixed time in every commit block and byte-identical runs; without it, never backwards" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	cp --sparse=always "$T/img" "$T/img2"
	cp --sparse=always "$T/img" "$T/img3"
	run "$TJ" -t 1700000000 "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	run "$TJ" -t 1700000000 "$T/img2" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	cmp "$T/img" "$T/img2"
	[ "$(commit_times "$T/img" | tr '\n' ' ')" = "1700000000 0 1700000000 0 " ]
	run "$TJ" "$T/img3" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	commit_times "$T/img3" >"$T/times"
	[ "$(wc -l <"$T/times")" -eq 2 ]
	sort -n -k1,1 -k2,2 -c "$T/times"
}

@test "the log resumes at s_head (as Linux 6.4+ does); a transaction across the end of the log is replayed" {
	cp --sparse=always "$(fixture small)" "$T/img"
	jsb=$(debugfs -R "bmap <8> 0" "$T/img" 2>/dev/null)
	# s_head = 1019 (big-endian, journal superblock offset 0x58): five
	# blocks before the end of a 1024-block journal
	printf '\000\000\003\373' | dd of="$T/img" bs=1 seek=$((jsb * 1024 + 0x58)) conv=notrunc status=none
	cp --sparse=always "$T/img" "$T/s0"
	head -c 102400 /dev/urandom >"$T/c"
	state "$T/s0" "$T/s1" "mkdir w" "write $T/c w/c"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 0 ]
	run debugfs -R "logdump" "$T/img"
	echo "$output"
	[[ "$output" == *"descriptor block) at block 1019"* ]]
	commit=$(echo "$output" | sed -n 's/.*type 2 (commit block) at block \([0-9]*\).*/\1/p')
	[ "$commit" -lt 1019 ]
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s1" "$T/allowed"
	jmount "$T/img"
	cmp "$JMNT/w/c" "$T/c"
}

@test "a crash before the first commit block: needs_recovery is already set, nothing is replayed, the kernel mounts the old state" {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 0 ]
	bs=$(fs_bs "$T/img")
	dd if=/dev/zero of="$T/img" bs="$bs" seek="$(commit_block "$T/img" 1)" count=1 conv=notrunc status=none
	[ -z "$(tids "$T/img")" ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s0" "$T/allowed"
	jmount "$T/img"
	[ ! -e "$JMNT/d" ]
	jumount
	fsck_clean "$T/img"
}

@test "64 KiB blocks: descriptors hold at most 2 MiB of copies; e2fsck replays (the kernel mounts no 64 KiB blocks here)" {
	mkimg "$T/img" 256M -t ext4 -b 65536 2>/dev/null
	cp --sparse=always "$T/img" "$T/s0"
	head -c 3000000 /dev/urandom >"$T/big"
	state "$T/s0" "$T/s1" "mkdir d" "write $T/big d/big"
	run "$TJ" "$T/img" "$T/s0" "$T/s1"
	[ "$status" -eq 0 ]
	[ "$(debugfs -R "logdump" "$T/img" 2>/dev/null | grep -c 'type 1 (descriptor block)')" -eq 2 ]
	fsck_needs_recovery "$T/img"
	replay_e2fsck "$T/img"
	allowed_blocks "$T/img" "$T/allowed"
	only_differ "$T/img" "$T/s1" "$T/allowed"
}

# epochs TRACE: "EPOCH OFFSET LENGTH" for each pwrite64 in an strace log;
# the epoch counts the fsync/fdatasync calls before it.
epochs() {
	awk '/fsync\(|fdatasync\(/ { e++ }
	     match($0, /pwrite64\([0-9]+, .*, [0-9]+, [0-9]+\)/) {
		n = split(substr($0, RSTART, RLENGTH - 1), f, ", ")
		print e + 0, f[n], f[n - 1]
	     }' "$1"
}

# first_epoch / last_epoch EPOCHS BYTE: the epoch of the first (last) write
# covering BYTE of the image; flushes EPOCHS: how many flushes in all.
first_epoch() {
	awk -v b="$2" '$2 <= b && b < $2 + $3 { print $1; exit }' "$1"
}
last_epoch() {
	awk -v b="$2" '$2 <= b && b < $2 + $3 { e = $1 } END { print e }' "$1"
}

@test "write order (strace): needs_recovery flushed before s_start points at the log, the log flushed before its commit block, the commit block flushed; close: s_start = 0 flushed before the flag clears" {
	command -v strace >/dev/null || skip "no strace"
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	cp --sparse=always "$T/img" "$T/img.c"
	run strace -f -o "$T/trace" -e trace=pwrite64,fsync,fdatasync \
		"$TJ" -t 1 "$T/img" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	epochs "$T/trace" >"$T/ep"
	flushes=$(grep -cE 'fsync\(|fdatasync\(' "$T/trace")
	sb=1024
	jsb=$(( $(debugfs -R "bmap <8> 0" "$T/img" 2>/dev/null) * 1024 ))
	c1=$(( $(commit_block "$T/img" 1) * 1024 ))
	c2=$(( $(commit_block "$T/img" 2) * 1024 ))
	d1=$(( $(debugfs -R "bmap <8> $(jfield "$T/img" "Journal start")" "$T/img" 2>/dev/null) * 1024 ))
	cat "$T/ep"
	echo "sb $sb jsb $jsb d1 $d1 c1 $c1 c2 $c2 flushes $flushes"
	[ "$(first_epoch "$T/ep" $sb)" -lt "$(first_epoch "$T/ep" "$jsb")" ]
	[ "$(first_epoch "$T/ep" "$jsb")" -lt "$(first_epoch "$T/ep" "$c1")" ]
	[ "$(first_epoch "$T/ep" "$d1")" -lt "$(first_epoch "$T/ep" "$c1")" ]
	[ "$(last_epoch "$T/ep" "$c2")" -lt "$flushes" ]
	# nothing in place but the superblock before the last commit: the
	# in-place blocks of transaction 1 (those outside the journal) wait
	# for a checkpoint
	journal_blocks "$T/img" | awk '{ print $1 * 1024 }' >"$T/jbytes"
	! awk '{ print $2 }' "$T/ep" | grep -vxF -f "$T/jbytes" | grep -vx "$sb"

	run strace -f -o "$T/trace.c" -e trace=pwrite64,fsync,fdatasync \
		"$TJ" -t 1 -c "$T/img.c" "$T/s0" "$T/s1" "$T/s2"
	[ "$status" -eq 0 ]
	epochs "$T/trace.c" >"$T/ep.c"
	flushes=$(grep -cE 'fsync\(|fdatasync\(' "$T/trace.c")
	ib=$(( $(diff_blocks "$T/s1" "$T/s2" | grep -vx 1 | head -n1) * 1024 ))
	# the checkpoint's in-place writes, then the log marked empty, then
	# the flag cleared, each flushed before the next
	[ "$(last_epoch "$T/ep.c" "$ib")" -lt "$(last_epoch "$T/ep.c" "$jsb")" ]
	[ "$(last_epoch "$T/ep.c" "$jsb")" -lt "$(last_epoch "$T/ep.c" $sb)" ]
	[ "$(last_epoch "$T/ep.c" $sb)" -lt "$flushes" ]
	# the journal superblock written twice: s_start at the first commit,
	# 0 at close (the final checkpoint does not move the tail first)
	[ "$(awk -v b="$jsb" '$2 <= b && b < $2 + $3' "$T/ep.c" | wc -l)" -eq 2 ]
}

# failing FIXTURE OPTION: T2 fails (a flush or a write of the journal's
# channel returns EIO): the journal aborts, close refuses to write, and the
# image is what a crash then leaves: T1 replayed, T2 not.
failing() {
	cp --sparse=always "$(fixture ext4_1k)" "$T/img"
	two_states "$T/img"
	run "$TJ" -c "$@" "$T/img" "$T/s0" "$T/s1" "$T/s2"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"test_journal: commit 2: Input/output error"* ]]
	[[ "$output" == *"test_journal: close: journal aborted after a write error"* ]]
	[ "$(tids "$T/img" | wc -l)" -eq 1 ]
	fsck_needs_recovery "$T/img"
	cp --sparse=always "$T/img" "$T/r"
	replay_e2fsck "$T/r"
	allowed_blocks "$T/r" "$T/allowed"
	only_differ "$T/r" "$T/s1" "$T/allowed"
	jmount "$T/img"
	[ -e "$JMNT/d/a" ]
	[ ! -e "$JMNT/d/b" ]
}

@test "a flush that fails (before T2's commit block) aborts the journal; close writes nothing; T1 is replayed, T2 is not" {
	# flushes: 3 for T1 (flag, log, commit block), then T2's log
	failing -F 4
}

@test "a write that fails in T2's log aborts the journal; close writes nothing; T1 is replayed, T2 is not" {
	# writes: T1's superblock flag, journal superblock, log, commit
	# block; then T2's first descriptor run, and the second fails
	failing -W 6
}

# ---- pcwrite through the journal (lib/io_journal.c) -------------------------

@test "a freed block is not handed out again before its transaction commits (tests/test_busy)" {
	local tb=${TJ%/*}/test_busy
	[ -x "$tb" ] || skip "tests/test_busy not built (make tests/test_busy)"
	mkimg "$T/img" 64M -t ext4
	run -0 "$tb" "$T/img"
	echo "$output"
	[[ "$output" == *"after the commit: block"*"(one of the freed)"* ]]
	fsck_clean "$T/img"
}

@test "a directory block's checksum left to the commit is set before a read and by the commit (tests/test_dircsum)" {
	local td=${TJ%/*}/test_dircsum
	[ -x "$td" ] || skip "tests/test_dircsum not built (make tests/test_dircsum)"
	mkimg "$T/img" 64M -t ext4 -O metadata_csum
	run -0 "$td" "$T/img"
	echo "$output"
	[[ "$output" == *"read back before the commit: checksum valid"* ]]
	fsck_clean "$T/img"
}

# full_image IMAGE SIZE-FILE MKE2FS-OPTIONS...: a 32 MiB filesystem whose
# /big was written until no room was left (ENOSPC, what fit kept); its
# size into SIZE-FILE.
full_image() {
	local img=$1 free
	shift 1
	mkimg "$img" 32M "$@"
	free=$(dumpe2fs -h "$img" 2>/dev/null | awk '/^Free blocks:/ {print $3}')
	head -c $(( free * $(jfield "$img" "Block size") )) /dev/urandom |
		"$PCWRITE" --no-journal "$img" /big 2>/dev/null || true
	free=$(dumpe2fs -h "$img" 2>/dev/null | awk '/^Free blocks:/ {print $3}')
	[ "$free" -lt 200 ]
	fsck_clean "$img"
	inode_size "$img" /big
}

# The blocks a replaced file frees are busy until the transaction that
# frees them commits; the allocation that finds no other commits and
# retries, as ext4_writepages does after ext4_should_retry_alloc (before:
# ENOSPC with the journal where --no-journal and the kernel succeed).
@test "a file replaced on a nearly full filesystem: the transaction that freed its blocks commits and the write goes on (delalloc, nodelalloc, ext3, bigalloc), as with --no-journal" {
	local fx mode src size
	for fx in "-t ext4 -b 1024" "-t ext3 -b 1024" "-t ext4 -b 4096" \
		  "-t ext4 -b 4096 -O bigalloc -C 16384"; do
		# shellcheck disable=SC2086
		size=$(full_image "$T/full" $fx)
		head -c "$size" /dev/urandom >"$T/new"
		# half of it, still far more than is free
		head -c $(( size / 2 + 1234 )) /dev/urandom >"$T/half"
		for mode in "" --no-delalloc --no-journal; do
			for src in new half; do
				cp --sparse=always "$T/full" "$T/img"
				# shellcheck disable=SC2086
				run "$PCWRITE" $mode "$T/img" /big "$T/$src"
				echo "$fx $mode $src: $output"
				[ "$status" -eq 0 ]
				[ -z "$output" ]
				fsck_clean "$T/img"
				readback "$T/img" /big "$T/$src"
			done
		done
	done
}

@test "-x replacing every file of a nearly full filesystem, and making directories where only a replaced file's blocks are free: commits make the room, as with --no-journal" {
	local mode i free bs
	mkimg "$T/full" 32M -t ext4 -b 1024
	free=$(dumpe2fs -h "$T/full" 2>/dev/null | awk '/^Free blocks:/ {print $3}')
	bs=$(( (free - 96) / 4 * 1024 ))
	mkdir "$T/src" "$T/dirs"
	for i in 1 2 3 4; do head -c $bs /dev/urandom >"$T/src/f$i"; done
	"$PCWRITE" --no-journal -R "$T/full" / "$T/src"
	free=$(dumpe2fs -h "$T/full" 2>/dev/null | awk '/^Free blocks:/ {print $3}')
	[ "$free" -lt 150 ]
	for i in 1 2 3 4; do head -c $bs /dev/urandom >"$T/src/f$i"; done
	tar -C "$T/src" -cf "$T/files.tar" f1 f2 f3 f4
	# f1's blocks freed by its replacement, then directories only, more
	# than there are free blocks.
	echo small >"$T/dirs/f1"
	for i in $(seq 1 200); do mkdir "$T/dirs/d$i"; done
	tar -C "$T/dirs" -cf "$T/dirs.tar" f1 $(cd "$T/dirs" && ls -d d*)
	for mode in "" --no-delalloc --no-journal; do
		cp --sparse=always "$T/full" "$T/img"
		# shellcheck disable=SC2086
		run "$PCWRITE" $mode -x "$T/img" / "$T/files.tar"
		echo "files $mode: $output"
		[ "$status" -eq 0 ]
		fsck_clean "$T/img"
		for i in 1 2 3 4; do readback "$T/img" /f$i "$T/src/f$i"; done
		# shellcheck disable=SC2086
		run "$PCWRITE" $mode -x "$T/img" / "$T/dirs.tar"
		echo "dirs $mode: $output"
		[ "$status" -eq 0 ]
		fsck_clean "$T/img"
		readback "$T/img" /f1 "$T/dirs/f1"
		debugfs -R "stat /d200" "$T/img" 2>/dev/null | grep -q 'Type: directory'
	done
}

@test "pcwrite commits through the journal by default: the sequence moves on, the log ends empty, no needs_recovery; --no-journal leaves the journal alone" {
	local seq
	mkimg "$T/img" 64M -t ext4 -b 1024
	seq=$(( $(jfield "$T/img" "Journal sequence") ))
	"$PCWRITE" "$T/img" /a "$T/a"
	"$PCWRITE" "$T/img" /b "$T/b"
	[ $(( $(jfield "$T/img" "Journal sequence") )) -ge $((seq + 2)) ]
	[ "$(jfield "$T/img" "Journal start")" = 0 ]
	[ "$(jfield "$T/img" "Filesystem state")" = clean ]
	! dumpe2fs -h "$T/img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'
	fsck_clean "$T/img"
	readback "$T/img" /a "$T/a"
	readback "$T/img" /b "$T/b"
	seq=$(( $(jfield "$T/img" "Journal sequence") ))
	"$PCWRITE" --no-journal "$T/img" /c "$T/a"
	[ $(( $(jfield "$T/img" "Journal sequence") )) -eq "$seq" ]
	fsck_clean "$T/img"
	readback "$T/img" /c "$T/a"
}

# A run killed after a commit and before its checkpoint: the log holds the
# transactions, e2fsck -fn says only that recovery is needed, logdump reads
# them, and both replays give the files back.
@test "killed between a commit and its checkpoint: e2fsck -fn reports only the recovery, logdump reads the transactions, e2fsck and the kernel replay" {
	local n total
	mkimg "$T/img" 64M -t ext4 -b 4096
	mkdir "$T/src"
	for n in $(seq 1 40); do head -c $((n * 700)) /dev/urandom >"$T/src/f$n"; done
	tar -cf "$T/a.tar" -C "$T/src" .
	cp "$T/img" "$T/img.0"
	cc -shared -fPIC -o "$T/eio_shim.so" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	PCW_KILL_INO=$(stat -c %i "$T/img") PCW_KILL_LOG="$T/log" \
		LD_PRELOAD="$T/eio_shim.so" "$PCWRITE" -x "$T/img" / "$T/a.tar"
	# the first write to the metadata area, outside the log, after a log
	# write: the checkpoint's first
	jstart=$(debugfs -R "bmap <8> 1" "$T/img.0" 2>/dev/null)
	n=$(awk -v j=$((jstart * 4096)) '$2 >= j && $2 < j + 4194304 { last = $1; next }
		$2 >= 0 && $2 < 4194304 && last && !found { print $1; found = 1 }' "$T/log")
	[ -n "$n" ]
	cp "$T/img.0" "$T/img"
	st=0
	PCW_KILL_INO=$(stat -c %i "$T/img") PCW_KILL_AT=$n \
		LD_PRELOAD="$T/eio_shim.so" "$PCWRITE" -x "$T/img" / "$T/a.tar" 2>/dev/null || st=$?
	[ "$st" -eq 137 ]
	[ "$(jfield "$T/img" "Filesystem state")" = clean ]
	[ "$(jfield "$T/img" "Journal start")" != 0 ]
	fsck_needs_recovery "$T/img"
	[ "$(tids "$T/img" | wc -l)" -ge 1 ]
	cp "$T/img" "$T/k"
	replay_e2fsck "$T/img"
	for n in $(seq 1 40); do readback "$T/img" "/f$n" "$T/src/f$n"; done
	jmount "$T/k"
	for n in $(seq 1 40); do cmp "$JMNT/f$n" "$T/src/f$n"; done
	jumount
	fsck_clean "$T/k"
}

@test "an external journal and fast_commit are refused (exit 1, one line, nothing written); --no-journal writes them in place" {
	mkimg "$T/fc" 64M -t ext4 -O fast_commit
	cp "$T/fc" "$T/fc.0"
	run -1 --separate-stderr "$PCWRITE" "$T/fc" /a "$T/a"
	[ "$stderr" = "pcwrite: $T/fc: journal has fast commits (fast_commit), which pcwrite does not write (use --no-journal)" ]
	cmp "$T/fc" "$T/fc.0"
	run -0 "$PCWRITE" --no-journal "$T/fc" /a "$T/a"
	readback "$T/fc" /a "$T/a"
	fsck_clean "$T/fc"

	# A filesystem whose journal is on another device: no journal inode.
	mkimg "$T/ext" 64M -t ext4
	debugfs -w -R "ssv journal_inum 0" "$T/ext" 2>/dev/null
	cp "$T/ext" "$T/ext.0"
	run -1 --separate-stderr "$PCWRITE" "$T/ext" /a "$T/a"
	[ "$stderr" = "pcwrite: $T/ext: filesystem uses an external journal, which pcwrite does not write (use --no-journal)" ]
	cmp "$T/ext" "$T/ext.0"
}

@test "--commit takes 1 to 86400 seconds; anything else is a usage error (exit 2)" {
	mkimg "$T/img" 64M -t ext4
	run -0 "$PCWRITE" --commit=1 "$T/img" /a "$T/a"
	for bad in 0 -1 x 86401 ''; do
		run -2 --separate-stderr "$PCWRITE" --commit="$bad" "$T/img" /b "$T/a"
		[ "${stderr_lines[0]}" = "pcwrite: invalid --commit '$bad' (seconds, 1 to 86400)" ]
	done
	fsck_clean "$T/img"
}

# Issue 13 item 2's "one entry larger than a transaction", as it is now: a
# file of 20,000 extents (244 extent-tree blocks) on a 1 MiB journal, whose
# transactions hold at most 256 log blocks.  Writing it takes a transaction
# more than a one-block file (the held set commits early, mid-writeback);
# replacing it takes as many as a one-block file (its freed tree blocks are
# revoked, not logged).  Killed before an image write (sampled while
# writing, every one while replacing), the replay is clean with nothing to
# repair, and the replaced file is the old one or the new one.  Its 8
# groups' bitmaps fit one transaction: freeing is split into ranges under
# the orphan list only past that (truncate.bats, a file over 259 groups).
@test "one entry past a quarter of the journal (-J size=1, 1 KiB blocks, 20,000 extents): written in one more transaction, replaced in as many as a small file; kill points replay clean" {
	local shim=$BATS_FILE_TMPDIR/eio_shim.so seq0 small n w sz
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	python3 -c "
import sys
f = open(sys.argv[1], 'wb')
for i in range(20000):
    f.seek(2048 * i); f.write(bytes([i % 251 + 1]) * 1024)
" "$T/frag"
	echo new >"$T/new"
	mkimg "$T/empty" 64M -t ext4 -b 1024 -J size=1
	# what a run moves the sequence on by, for a one-block file
	cp "$T/empty" "$T/small"
	seq0=$(( $(jfield "$T/small" "Journal sequence") ))
	"$PCWRITE" "$T/small" /s "$T/new"
	small=$(( $(jfield "$T/small" "Journal sequence") - seq0 ))

	cp "$T/empty" "$T/img"
	seq0=$(( $(jfield "$T/img" "Journal sequence") ))
	env LD_PRELOAD="$shim" PCW_WRITE_COUNT="$T/wc" "$PCWRITE" --page-size=1024 \
		--sparse=always "$T/img" /frag "$T/frag"
	echo "write: $(( $(jfield "$T/img" "Journal sequence") - seq0 )), a small file's $small"
	[ $(( $(jfield "$T/img" "Journal sequence") - seq0 )) -gt "$small" ]
	[ "$(debugfs -R "ex /frag" "$T/img" 2>/dev/null | grep -c '^ *2/ *2')" -eq 20000 ]
	fsck_clean "$T/img"
	readback "$T/img" /frag "$T/frag"
	cp "$T/img" "$T/full"
	n=$(cat "$T/wc")
	for w in $(seq 1 5000 "$n") $(seq $((n - 30)) 10 "$n"); do
		cp "$T/empty" "$T/k"
		run env LD_PRELOAD="$shim" PCW_KILL_WRITE=$w "$PCWRITE" --page-size=1024 \
			--sparse=always "$T/k" /frag "$T/frag"
		run e2fsck -p -E journal_only "$T/k"
		[ "$status" -le 1 ]
		fsck_clean "$T/k" || { echo "write, killed at write $w"; return 1; }
	done

	seq0=$(( $(jfield "$T/img" "Journal sequence") ))
	env LD_PRELOAD="$shim" PCW_WRITE_COUNT="$T/wc" "$PCWRITE" "$T/img" /frag "$T/new"
	echo "replace: $(( $(jfield "$T/img" "Journal sequence") - seq0 ))"
	[ $(( $(jfield "$T/img" "Journal sequence") - seq0 )) -eq "$small" ]
	fsck_clean "$T/img"
	readback "$T/img" /frag "$T/new"
	n=$(cat "$T/wc")
	for w in $(seq 1 "$n"); do
		cp "$T/full" "$T/k"
		run env LD_PRELOAD="$shim" PCW_KILL_WRITE=$w "$PCWRITE" "$T/k" /frag "$T/new"
		run e2fsck -p -E journal_only "$T/k"
		[ "$status" -le 1 ]
		fsck_clean "$T/k" || { echo "replace, killed at write $w"; return 1; }
		sz=$(inode_size "$T/k" /frag)
		if [ "$sz" = 4 ]; then readback "$T/k" /frag "$T/new"
		else readback "$T/k" /frag "$T/frag"; fi
	done
}

# The same file recorded by tests/eio_shim.c and every crash state
# crash.py builds from the log (each flush point, and random subsets of the
# writes after it): replayed (e2fsck -E
# journal_only, nothing repaired) e2fsck -fn is clean and /frag holds its
# source's first i_size bytes.  Before, a commit in the middle of the
# writeback (the held set full, at an extent-tree block) logged the extents
# mapped so far with the size and i_blocks of the last pass: e2fsck -fn
# found extents past i_size ("end of extent exceeds allowed value") and
# i_blocks wrong, and e2fsck -fy cleared them, leaving i_size 66 KiB past
# the last extent and zeroes where the source has data.
@test "a file of 20,000 extents written across transactions (-J size=1): every crash state replays with nothing to repair, the file its source's first i_size bytes (crash.py --prefix)" {
	local shim=$BATS_FILE_TMPDIR/eio_shim.so fs out
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	python3 -c "
import sys
f = open(sys.argv[1], 'wb')
for i in range(20000):
    f.seek(2048 * i); f.write(bytes([i % 251 + 1]) * 1024)
" "$T/frag"
	for fs in ext4; do
		mkimg "$T/base" 64M -t $fs -b 1024 -J size=1
		cp "$T/base" "$T/w"
		rm -f "$T/log"
		LD_PRELOAD="$shim" PCW_CRASH_LOG="$T/log" \
			PCW_CRASH_IMAGE=$(stat -c %d:%i "$T/w") \
			"$PCWRITE" --page-size=1024 --sparse=always "$T/w" /frag "$T/frag"
		readback "$T/w" /frag "$T/frag"
		out=$(python3 "$BATS_TEST_DIRNAME/crash.py" check "$T/base" "$T/log" \
			--prefix "/frag=$T/frag" --kernel no \
			--subsets "${PCW_CRASH_SUBSETS:-3}" \
			--seed "${PCW_CRASH_SEED:-$RANDOM$RANDOM}" 2>&1) || true
		echo "$fs: $out"
		[[ $out == *", 0 failing"* ]]
		# more than one commit holds part of the file
		[[ $out =~ ([0-9]+)\ flushes ]] && [ "${BASH_REMATCH[1]}" -ge 8 ]
	done
}
