#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# maxsize.bats: writes stop at the kernel's largest file size
# (ext4_max_bitmap_size for block-mapped files, ext4_max_size for extent
# files), as generic_write_checks stops them: a write starting below the
# limit writes up to it and fails with EFBIG, one starting at or past it
# fails at once with the image unchanged.  A file ending at the limit is
# one the kernel opens.

load test_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	mkdata "$BATS_TEST_TMPDIR/4k" 4096
	mkdata "$BATS_TEST_TMPDIR/8k" 8192
	head -c 4096 "$BATS_TEST_TMPDIR/8k" >"$BATS_TEST_TMPDIR/8k.head"
}

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	if [ -n "${LOOP:-}" ]; then
		losetup -d "$LOOP" 2>/dev/null || :
	fi
}

# The limits, from the kernel's rules (fs/ext4/super.c), in bytes.
# ext3, 4 KiB blocks, no huge_file: i_blocks holds 2^32-1 sectors, i.e.
# 2^29-1 blocks, of which the indirect blocks take 524801.
EXT3_4K=$(( (2**29 - 1 - 524801) * 4096 ))
# ext3, 4 KiB blocks, huge_file: what the indirect tree addresses.
EXT3_4K_HUGE=$(( (12 + 1024 + 1024**2 + 1024**3) * 4096 ))
# ext4 extent file, 1 KiB blocks, no huge_file: 2^31-1 blocks (i_blocks).
EXT4_1K=$(( (2**31 - 1) * 1024 ))

TOO_BIG="write would exceed the maximum file size"

# kernel_tail IMAGE PATH SIZE EXPECTED-FILE: the kernel opens PATH, which
# is SIZE bytes long and ends with EXPECTED-FILE, and says nothing about
# its size.
kernel_tail() {
	local img=$1 path=$2 size=$3 expect=$4 n before
	if ! kernel_available; then
		skip "no root or loop devices for the kernel oracle"
	fi
	n=$(stat -c %s "$expect")
	before=$(dmesg 2>/dev/null | wc -l) || before=
	MNT=$(mktemp -d "$BATS_TEST_TMPDIR/mnt.XXXXXX")
	LOOP=$(losetup -f --show -r "$img") || skip "losetup failed"
	mount -t ext4 -o ro,noload "$LOOP" "$MNT" || skip "mount failed"
	[ "$(stat -c %s "$MNT$path")" -eq "$size" ]
	dd if="$MNT$path" bs="$n" iflag=skip_bytes skip=$((size - n)) status=none | cmp - "$expect"
	umount "$MNT"
	losetup -d "$LOOP"
	LOOP=
	if [ -n "$before" ]; then
		! dmesg | tail -n +$((before + 1)) | grep -q "bad i_size"
	fi
}

@test "ext3 4K, no huge_file: a write at the reported offset (2^41-2^30) is refused, image unchanged" {
	mkimg "$IMG" 64M -t ext3 -b 4096
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" -o $((2**41 - 2**30)) "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (0 bytes written)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
	fsck_clean "$IMG"
}

@test "ext3 4K, no huge_file: a write ending exactly at the kernel's limit succeeds and the kernel opens the file" {
	mkimg "$IMG" 64M -t ext3 -b 4096
	run -0 "$PCWRITE" -o $((EXT3_4K - 4096)) "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ -z "$output" ]
	fsck_clean "$IMG"
	[ "$(inode_size "$IMG" /f)" -eq "$EXT3_4K" ]
	kernel_tail "$IMG" /f "$EXT3_4K" "$BATS_TEST_TMPDIR/4k"
}

@test "ext3 4K, no huge_file: a write across the limit writes up to it, then fails with EFBIG" {
	mkimg "$IMG" 64M -t ext3 -b 4096
	run -1 "$PCWRITE" -o $((EXT3_4K - 4096)) "$IMG" /f "$BATS_TEST_TMPDIR/8k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (4096 bytes written)" ]
	fsck_clean "$IMG"
	[ "$(inode_size "$IMG" /f)" -eq "$EXT3_4K" ]
	kernel_tail "$IMG" /f "$EXT3_4K" "$BATS_TEST_TMPDIR/8k.head"
}

@test "ext3 4K, no huge_file: appending to a file at the limit is refused, image unchanged" {
	mkimg "$IMG" 64M -t ext3 -b 4096
	run -0 "$PCWRITE" -o $((EXT3_4K - 4096)) "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" -a "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (0 bytes written)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
}

@test "ext3 4K with huge_file: the limit is what the indirect tree addresses" {
	mkimg "$IMG" 64M -t ext3 -b 4096 -O huge_file
	run -1 "$PCWRITE" -o $((EXT3_4K_HUGE - 4096)) "$IMG" /f "$BATS_TEST_TMPDIR/8k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (4096 bytes written)" ]
	fsck_clean "$IMG"
	kernel_tail "$IMG" /f "$EXT3_4K_HUGE" "$BATS_TEST_TMPDIR/8k.head"
}

@test "ext4 1K, no huge_file: an extent file ending exactly at its limit" {
	mkimg "$IMG" 64M -t ext4 -b 1024 -O ^huge_file
	run -0 "$PCWRITE" -o $((EXT4_1K - 4096)) "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ -z "$output" ]
	fsck_clean "$IMG"
	[ "$(inode_size "$IMG" /f)" -eq "$EXT4_1K" ]
	kernel_tail "$IMG" /f "$EXT4_1K" "$BATS_TEST_TMPDIR/4k"
}

@test "ext4 1K, no huge_file: --offset at the limit is refused, no file made, image unchanged" {
	mkimg "$IMG" 64M -t ext4 -b 1024 -O ^huge_file
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" -o "$EXT4_1K" "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (0 bytes written)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" -o $((EXT4_1K + 123456789)) "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
}

@test "an existing block-mapped file on ext4 keeps the block-mapped limit when written at an offset" {
	mkimg "$IMG" 64M -t ext3 -b 4096
	printf x | "$PCWRITE" "$IMG" /f
	tune2fs -O extents,huge_file "$IMG" >/dev/null
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	# still block-mapped: huge_file now, so the tree's limit
	run -1 "$PCWRITE" -o "$EXT3_4K_HUGE" "$IMG" /f "$BATS_TEST_TMPDIR/4k"
	[ "$output" = "pcwrite: $IMG:/f: $TOO_BIG (0 bytes written)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
	# a new file is an extent file, with the extent limit
	run -0 "$PCWRITE" -o "$EXT3_4K_HUGE" "$IMG" /g "$BATS_TEST_TMPDIR/4k"
	fsck_clean "$IMG"
}

# Every block size, with and without huge_file, both kinds of file: one
# byte ending at the limit is written, one byte at the limit is refused.
# The limits, worked out by hand from the kernel's rules (bytes):
#   bs     huge_file: extent / block-mapped    no huge_file: extent / block-mapped
LIMITS="
1024   4398046510080   17247252480     2199023254528 17247252480
2048   8796093020160   275415851008    2199023253504 275415851008
4096   17592186040320  4402345721856   2199023251456 2196873666560
8192   35184372080640  35184372080640  2199023247360 2197948973056
16384  70368744161280  70368744161280  2199023239168 2198486220800
32768  140737488322560 140737488322560 2199023222784 2198754754560
65536  281474976645120 281474976645120 2199023190016 2198888906752
"

# at_limit MKE2FS-TYPE BLOCKSIZE FEATURE LIMIT
at_limit() {
	mkimg "$IMG" 64M -t "$1" -b "$2" -O "$3"
	printf y >"$BATS_TEST_TMPDIR/y"
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" --no-sync -o "$4" "$IMG" /f "$BATS_TEST_TMPDIR/y"
	if [ "$output" != "pcwrite: $IMG:/f: $TOO_BIG (0 bytes written)" ]; then
		echo "$1 -b $2 -O $3: at $4: $output" >&2
		return 1
	fi
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -0 "$PCWRITE" --no-sync -o $(($4 - 1)) "$IMG" /f "$BATS_TEST_TMPDIR/y"
	fsck_clean "$IMG"
	[ "$(inode_size "$IMG" /f)" -eq "$4" ]
}

@test "the kernel's limits for every block size, with and without huge_file" {
	local bs ext_h bm_h ext bm
	while read -r bs ext_h bm_h ext bm; do
		[ -n "$bs" ] || continue
		at_limit ext4 "$bs" huge_file "$ext_h"
		at_limit ext3 "$bs" huge_file "$bm_h"
		at_limit ext4 "$bs" ^huge_file "$ext"
		at_limit ext3 "$bs" ^huge_file "$bm"
	done <<<"$LIMITS"
}
