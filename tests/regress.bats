#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# regress.bats: failures a review reproduced on real images, kept fixed.
# Each ends with e2fsck -fn and a read-back.

load test_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
}

# fill IMAGE: take every free block but 3 (debugfs keeps no slack)
fill() {
	local k=0
	run -1 --separate-stderr bash -c "head -c 64M /dev/urandom | '$PCWRITE' --no-sync '$1' /fill"
	[[ "$stderr" =~ No\ space\ left\ on\ device ]]
	head -c 1024 /dev/urandom >"$BATS_TEST_TMPDIR/k"
	while [ "$(dumpe2fs -h "$1" 2>/dev/null | awk '/^Free blocks/ { print $3 }')" -gt 3 ] && [ $k -lt 64 ]; do
		k=$((k + 1))
		debugfs -w -R "write $BATS_TEST_TMPDIR/k k$k" "$1" >/dev/null 2>&1
	done
}

@test "bigalloc: a 52 MB file in a 64 MiB image keeps one physical cluster per logical cluster" {
	mkimg "$IMG" 64M -t ext4 -b 4096 -O bigalloc
	mkdata "$BATS_TEST_TMPDIR/data" 52000000
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "bigalloc: a delayed run reaching a cluster that already has blocks joins that cluster" {
	mkimg "$IMG" 32M -t ext4 -b 4096 -O bigalloc -C 16384
	mkdata "$BATS_TEST_TMPDIR/a" 4096
	mkdata "$BATS_TEST_TMPDIR/b" 20480
	run -0 "$PCWRITE" -o 28672 "$IMG" /f "$BATS_TEST_TMPDIR/a"
	run -0 "$PCWRITE" -o 8192 "$IMG" /f "$BATS_TEST_TMPDIR/b"
	{ head -c 8192 /dev/zero; cat "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/a"; } >"$BATS_TEST_TMPDIR/expect"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
}

@test "overwriting the whole of a file's only extent, unwritten, keeps the file" {
	mkimg "$IMG" 32M -t ext4 -b 4096
	: | "$PCWRITE" "$IMG" /f
	debugfs -w -R "fallocate /f 0 15" "$IMG" 2>/dev/null
	debugfs -w -R "sif /f size 65536" "$IMG" 2>/dev/null
	fsck_clean "$IMG"
	mkdata "$BATS_TEST_TMPDIR/data" 65536
	run -0 "$PCWRITE" -o 0 "$IMG" /f "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[ "$(extent_count "$IMG" /f)" -eq 1 ]
	dumpe2fs -h "$IMG" 2>/dev/null | grep -q "state: *clean"
}

@test "truncating a file that owns the filesystem's last block" {
	mkimg "$IMG" 3M -t ext4 -b 2048
	mkdata "$BATS_TEST_TMPDIR/big" 9000000
	run -1 --separate-stderr "$PCWRITE" --dirty-limit=200000 "$IMG" /f "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" =~ No\ space\ left\ on\ device\ \(([0-9]+)\ bytes\ written\)$ ]]
	head -c "${BASH_REMATCH[1]}" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/prefix"
	[ "$(inode_size "$IMG" /f)" -eq "${BASH_REMATCH[1]}" ]
	fsck_clean "$IMG"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
	printf 'hi\n' >"$BATS_TEST_TMPDIR/data"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
}

@test "64 KiB pages on 1 KiB blocks, with --no-delalloc and near full" {
	mkimg "$IMG" 32M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/data" 100000
	run -0 "$PCWRITE" --no-delalloc --page-size=65536 "$IMG" /f "$BATS_TEST_TMPDIR/data"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/data"
	mkimg "$IMG" 4M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/big" 8000000
	run -1 --separate-stderr "$PCWRITE" --page-size=65536 "$IMG" /f "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" =~ \(([0-9]+)\ bytes\ written\)$ ]]
	head -c "${BASH_REMATCH[1]}" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/prefix"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
}

@test "ext3 with 1 KiB blocks: ENOSPC keeps every accepted byte (room for indirect blocks)" {
	mkimg "$IMG" 64M -t ext3
	mkdata "$BATS_TEST_TMPDIR/big" 90000000
	run -1 --separate-stderr "$PCWRITE" -r json --report-file="$BATS_TEST_TMPDIR/r" "$IMG" /f "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" =~ \(([0-9]+)\ bytes\ written\)$ ]]
	n=${BASH_REMATCH[1]}
	accepted=$(grep '"event":"page"' "$BATS_TEST_TMPDIR/r" | grep -v '"status":-' | awk -F'"status":' '{ split($2, a, ","); s += a[1] } END { print s }')
	[ "$n" -eq "$accepted" ]
	head -c "$n" "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/prefix"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
}

@test "appending to an inline file on a full filesystem fails and keeps its contents" {
	mkimg "$IMG" 4M -t ext4 -b 1024 -O inline_data
	printf 'precious inline content\n' >"$BATS_TEST_TMPDIR/small"
	debugfs -w -R "write $BATS_TEST_TMPDIR/small small" "$IMG" >/dev/null 2>&1
	fill "$IMG"
	printf 'more\n' >"$BATS_TEST_TMPDIR/more"
	run -1 "$PCWRITE" -a "$IMG" /small "$BATS_TEST_TMPDIR/more"
	fsck_clean "$IMG"
	# still inline: debugfs 1.47.0 cats the whole inline area, so cut it
	[ "$(inode_size "$IMG" /small)" -eq 24 ]
	debugfs -R "cat /small" "$IMG" 2>/dev/null | head -c 24 | cmp - "$BATS_TEST_TMPDIR/small"
	kernel_readback "$IMG" /small "$BATS_TEST_TMPDIR/small"
}

@test "an inline file longer than its inline bytes keeps its size when appended to" {
	mkimg "$IMG" 8M -t ext4 -O inline_data
	head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/z"
	debugfs -w -R "write $BATS_TEST_TMPDIR/z f" "$IMG" >/dev/null 2>&1
	printf 'hi\n' >"$BATS_TEST_TMPDIR/hi"
	run -0 "$PCWRITE" -a "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	cat "$BATS_TEST_TMPDIR/z" "$BATS_TEST_TMPDIR/hi" >"$BATS_TEST_TMPDIR/expect"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
}

@test "a directory that cannot grow: the new inode is freed, not orphaned" {
	mkimg "$IMG" 4M -t ext4 -b 1024 -N 256
	fill "$IMG"
	n200=$(printf 'x%.0s' $(seq 1 200))
	# 4 such names a 1 KiB block: new names until the directory is full
	# (not $i: bats' run uses it)
	for n in $(seq 1 64); do
		inodes=$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free inodes/ { print $3 }')
		run --separate-stderr "$PCWRITE" "$IMG" "/d$n$n200" </dev/null
		[ "$status" -eq 0 ] || break
		[ "$(inode_size "$IMG" "/d$n$n200")" -eq 0 ]
	done
	# it did run out, with one line, and the inode it took is free again
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^pcwrite:\ .*/d$n${n200}:\ .*\(0\ bytes\ written\)$ ]]
	[ "$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free inodes/ { print $3 }')" -eq "$inodes" ]
	! debugfs -R "ls /" "$IMG" 2>/dev/null | grep -q "d$n$n200"
	fsck_clean "$IMG"
	# Out of blocks, not of anything else: what is left is the few blocks
	# kept for extent-tree growth (pcw_room's slack).
	[ "$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free blocks/ { print $3 }')" -lt 8 ]
}

@test "a write reaching the largest file size stops there" {
	mkimg "$IMG" 32M -t ext4 -b 1024
	mkdata "$BATS_TEST_TMPDIR/data" 4096
	run -1 --separate-stderr "$PCWRITE" -o $(( (2**32 - 1) * 1024 - 10 )) "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ (10\ bytes\ written) ]]
	fsck_clean "$IMG"
	# i_size is the limit; the last block holds the 10 bytes after 1014 zeros
	[ "$(inode_size "$IMG" /f)" -eq $(( (2**32 - 1) * 1024 )) ]
	ex=$(debugfs -R "ex /f" "$IMG" 2>/dev/null | sed -n 's|^ *0/ *0 *1/ *1 *\([0-9]*\) - \([0-9]*\) *\([0-9]*\) - .*|\1 \2 \3|p')
	[ "$ex" = "4294967294 4294967294 ${ex##* }" ]
	{ head -c 1014 /dev/zero; head -c 10 "$BATS_TEST_TMPDIR/data"; } >"$BATS_TEST_TMPDIR/expect"
	dd if="$IMG" bs=1024 skip="${ex##* }" count=1 status=none | cmp - "$BATS_TEST_TMPDIR/expect"
}

# An EIO on the data write at writeback (tests/eio_shim.c).
eio_shim() {
	command -v cc >/dev/null || skip "no C compiler for the EIO shim"
	SHIM=$BATS_TEST_TMPDIR/eio_shim.so
	cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	# A sanitizer build wants its runtime first in the library list; the
	# shim's pwrite/write then call through to ASan's interceptors.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

@test "EIO at writeback: nothing is claimed, the file ends where its data on disk ends" {
	eio_shim
	mkimg "$IMG" 32M -t ext4 -b 4096
	mkdata "$BATS_TEST_TMPDIR/data" $((1024 * 1024))
	run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=65536 "$PCWRITE" --no-sync "$IMG" /f "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" =~ Input/output\ error\ \(0\ bytes\ written\)$ ]]
	[ "$(inode_size "$IMG" /f)" -eq 0 ]
	fsck_clean "$IMG"
}

@test "EIO at writeback with --no-delalloc: a deleted file's data never shows through" {
	eio_shim
	mkimg "$IMG" 32M -t ext4 -b 4096
	head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' A | "$PCWRITE" --no-sync "$IMG" /old
	debugfs -w -R "rm /old" "$IMG" 2>/dev/null
	printf x | "$PCWRITE" --no-sync -o $(( (8 << 20) - 1 )) "$IMG" /f
	head -c $((1024 * 1024)) /dev/zero | tr '\0' B >"$BATS_TEST_TMPDIR/B"
	run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=65536 "$PCWRITE" --no-sync --no-delalloc -o 0 "$IMG" /f "$BATS_TEST_TMPDIR/B"
	[[ "$stderr" =~ \(0\ bytes\ written\)$ ]]
	fsck_clean "$IMG"
	! debugfs -R "cat /f" "$IMG" 2>/dev/null | grep -q A
}
