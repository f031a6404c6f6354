#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# matrix.bats: every write mode on every filesystem variant (issue 3), then
# the cases that only some variants have: inline files, unwritten extents,
# sub-page holes, --sparse, quota.
#
# A cell is one filesystem x one write mode.  The file it writes into was
# made by debugfs, not pcwrite, so a cell fails only for its own mode.  The
# expected file is built on the host (cat, dd conv=notrunc); debugfs, e2fsck
# and the kernel must all agree with it.

load test_helper

# Sizes that cross pages and blocks and are aligned to neither.
BASE=20011	# the existing file /f
APPEND=70001	# appended to it; also the data of a new file
PATCH=9000	# written at PATCH_AT, inside /f
PATCH_AT=5001
TAIL=3000	# written at BASE + GAP, past EOF
GAP=20000

# fs_opts FS: the mke2fs options of a variant.  64M images are "small" to
# mke2fs, which would pick 1 KiB blocks: say 4096 where 4096 is meant.
fs_opts() {
	case $1 in
	ext2) echo "-t ext2 -b 4096" ;;
	ext3) echo "-t ext3 -b 4096" ;;
	ext4) echo "-t ext4 -b 4096" ;;
	ext4-1k) echo "-t ext4 -b 1024" ;;
	bigalloc) echo "-t ext4 -b 4096 -O bigalloc -C 16384" ;;
	inline) echo "-t ext4 -b 4096 -O inline_data -I 256" ;;
	*) return 1 ;;
	esac
}

setup_file() {
	local d=$BATS_FILE_TMPDIR fs
	mkdata "$d/base" $BASE
	mkdata "$d/append" $APPEND
	mkdata "$d/patch" $PATCH
	mkdata "$d/tail" $TAIL
	for fs in ext2 ext3 ext4 ext4-1k bigalloc inline; do
		# shellcheck disable=SC2046
		mkimg "$d/$fs.img" 64M $(fs_opts $fs)
		debugfs -w -R "write $d/base /f" "$d/$fs.img" >/dev/null 2>&1
	done
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	D=$BATS_FILE_TMPDIR
}

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# pcw_ok ARGS...: pcwrite must exit 0 and print nothing; on failure the test
# output shows what it said.
pcw_ok() {
	run --separate-stderr "$PCWRITE" "$@"
	echo "pcwrite $*: exit $status, stderr: $stderr"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
}

# use_image FS: this test's copy of the variant's image, /f already in it.
use_image() {
	cp --sparse=always "$D/$1.img" "$IMG"
}

block_size() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p'
}

blockcount() {
	dstat "$1" "$2" | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p'
}

# block_states IMAGE PATH N: one character per logical block 0..N-1, read
# from debugfs stat's BLOCKS/EXTENTS list: 'd' mapped, 'u' mapped to an
# unwritten extent, '.' a hole.  (IND), (DIND), (ETB0)... are metadata.
block_states() {
	dstat "$1" "$2" | awk -v n="$3" '
		/^(BLOCKS|EXTENTS):/ { on = 1; next }
		/^TOTAL:/ || /^$/ { on = 0 }
		on {
			k = split($0, tok, ",")
			for (i = 1; i <= k; i++) {
				t = tok[i]
				gsub(/^[ \t]+/, "", t)
				if (t !~ /^\([0-9]/)
					continue
				sub(/^\(/, "", t)
				sub(/\).*/, "", t)
				u = (t ~ /\[u\]/)
				sub(/\[u\]/, "", t)
				split(t, r, "-")
				a = r[1] + 0
				b = (r[2] == "") ? a : r[2] + 0
				for (j = a; j <= b; j++)
					s[j] = u ? "u" : "d"
			}
		}
		END {
			for (j = 0; j < n; j++)
				printf "%s", (j in s) ? s[j] : "."
			printf "\n"
		}'
}

# repeat CHAR N
repeat() {
	local s='' i
	for ((i = 0; i < $2; i++)); do s+=$1; done
	printf '%s' "$s"
}

# zeros_at IMAGE PATH OFFSET LENGTH: those bytes of the file read back as 0.
zeros_at() {
	local got=$BATS_TEST_TMPDIR/zeros.got
	debugfs -R "cat $2" "$1" 2>/dev/null |
		tail -c +$(($3 + 1)) | head -c "$4" >"$got"
	if ! cmp -n "$4" "$got" /dev/zero || [ "$(stat -c %s "$got")" -ne "$4" ]; then
		echo "bytes $3..$(($3 + $4 - 1)) of $2 are not $4 zeros" >&2
		return 1
	fi
}

# patch_file FILE DATA OFFSET: dd conv=notrunc, the host's --offset.
patch_file() {
	dd if="$2" of="$1" bs=64K oflag=seek_bytes seek="$3" conv=notrunc status=none
}

# cell FS MODE: one cell of the matrix.
cell() {
	local fs=$1 mode=$2 path=/f exp=$BATS_TEST_TMPDIR/expect bs
	use_image "$fs"
	bs=$(block_size "$IMG")
	case $mode in
	create)
		path=/new
		cp "$D/append" "$exp"
		# a pipe: process substitution
		pcw_ok "$IMG" /new < <(cat "$D/append")
		;;
	append)
		cat "$D/base" "$D/append" >"$exp"
		pcw_ok --append "$IMG" /f <"$D/append"
		;;
	overwrite)
		cp "$D/base" "$exp"
		patch_file "$exp" "$D/patch" $PATCH_AT
		pcw_ok --offset=$PATCH_AT "$IMG" /f <"$D/patch"
		;;
	hole)
		cp "$D/base" "$exp"
		patch_file "$exp" "$D/tail" $((BASE + GAP))
		pcw_ok --offset=$((BASE + GAP)) "$IMG" /f <"$D/tail"
		;;
	esac
	size=$(inode_size "$IMG" "$path")
	echo "i_size $size, expected $(stat -c %s "$exp")"
	[ "$size" -eq "$(stat -c %s "$exp")" ]
	verify "$IMG" "$path" "$exp"
	case $mode in
	create)
		# the file that was there is untouched
		readback "$IMG" /f "$D/base"
		;;
	hole)
		# blocks wholly between the old EOF and the new data: no blocks, zeros
		local first=$(((BASE + bs - 1) / bs)) last=$(((BASE + GAP) / bs - 1)) states
		states=$(block_states "$IMG" /f $((last + 1)))
		echo "blocks 0..$last: $states (hole: $first..$last)"
		[ "${states:first}" = "$(repeat . $((last - first + 1)))" ]
		zeros_at "$IMG" /f $BASE $GAP
		;;
	esac
}

@test "ext2: create a new file from a pipe" { cell ext2 create; }
@test "ext2: append to a non-page-aligned file" { cell ext2 append; }
@test "ext2: overwrite at an unaligned offset inside the file" { cell ext2 overwrite; }
@test "ext2: write past EOF leaves a hole" { cell ext2 hole; }

@test "ext3: create a new file from a pipe" { cell ext3 create; }
@test "ext3: append to a non-page-aligned file" { cell ext3 append; }
@test "ext3: overwrite at an unaligned offset inside the file" { cell ext3 overwrite; }
@test "ext3: write past EOF leaves a hole" { cell ext3 hole; }

@test "ext4: create a new file from a pipe" { cell ext4 create; }
@test "ext4: append to a non-page-aligned file" { cell ext4 append; }
@test "ext4: overwrite at an unaligned offset inside the file" { cell ext4 overwrite; }
@test "ext4: write past EOF leaves a hole" { cell ext4 hole; }

@test "ext4 1 KiB blocks: create a new file from a pipe" { cell ext4-1k create; }
@test "ext4 1 KiB blocks: append to a non-page-aligned file" { cell ext4-1k append; }
@test "ext4 1 KiB blocks: overwrite at an unaligned offset inside the file" { cell ext4-1k overwrite; }
@test "ext4 1 KiB blocks: write past EOF leaves a hole" { cell ext4-1k hole; }

@test "ext4 bigalloc: create a new file from a pipe" { cell bigalloc create; }
@test "ext4 bigalloc: append to a non-page-aligned file" { cell bigalloc append; }
@test "ext4 bigalloc: overwrite at an unaligned offset inside the file" { cell bigalloc overwrite; }
@test "ext4 bigalloc: write past EOF leaves a hole" { cell bigalloc hole; }

@test "ext4 inline_data: create a new file from a pipe" { cell inline create; }
@test "ext4 inline_data: append to a non-page-aligned file" { cell inline append; }
@test "ext4 inline_data: overwrite at an unaligned offset inside the file" { cell inline overwrite; }
@test "ext4 inline_data: write past EOF leaves a hole" { cell inline hole; }

# --- inline_data: a file whose data lives in the inode ----------------------

# inline_file: /small, 40 bytes, made inline by debugfs; $SMALL holds them.
inline_file() {
	use_image inline
	SMALL=$BATS_TEST_TMPDIR/small
	mkdata "$SMALL" 40
	debugfs -w -R "write $SMALL /small" "$IMG" >/dev/null 2>&1
	dstat "$IMG" /small | grep -q '^Size of inline data:'
}

is_inline() {
	dstat "$1" "$2" | grep -q '^Size of inline data:'
}

@test "inline_data: appending to an inline file moves it out of the inode into extents" {
	inline_file
	cat "$SMALL" "$D/append" >"$BATS_TEST_TMPDIR/expect"
	pcw_ok --append "$IMG" /small <"$D/append"
	verify "$IMG" /small "$BATS_TEST_TMPDIR/expect"
	run ! is_inline "$IMG" /small
	dstat "$IMG" /small | grep -q '^EXTENTS:'
	[ "$(block_states "$IMG" /small 18)" = "$(repeat d 18)" ]
}

@test "inline_data: overwrite at an offset inside an inline file" {
	inline_file
	printf 'PATCHED' >"$BATS_TEST_TMPDIR/patch"
	cp "$SMALL" "$BATS_TEST_TMPDIR/expect"
	patch_file "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/patch" 13
	pcw_ok --offset=13 "$IMG" /small <"$BATS_TEST_TMPDIR/patch"
	[ "$(inode_size "$IMG" /small)" -eq 40 ]
	verify "$IMG" /small "$BATS_TEST_TMPDIR/expect"
}

@test "inline_data: truncate and rewrite an inline file, small then large" {
	inline_file
	mkdata "$BATS_TEST_TMPDIR/tiny" 25
	pcw_ok "$IMG" /small <"$BATS_TEST_TMPDIR/tiny"
	[ "$(inode_size "$IMG" /small)" -eq 25 ]
	verify "$IMG" /small "$BATS_TEST_TMPDIR/tiny"
	pcw_ok "$IMG" /small <"$D/patch"
	[ "$(inode_size "$IMG" /small)" -eq $PATCH ]
	verify "$IMG" /small "$D/patch"
}

# --- unwritten (fallocated) extents ------------------------------------------

@test "unwritten extent: --offset converts only the written blocks to initialized" {
	kernel_require
	use_image ext4
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir "$MNT"
	mount -o loop "$IMG" "$MNT"
	fallocate -l 1M "$MNT/u"
	umount "$MNT"
	[ "$(block_states "$IMG" /u 256)" = "$(repeat u 256)" ]
	mkdata "$BATS_TEST_TMPDIR/data" 10000
	truncate -s 1M "$BATS_TEST_TMPDIR/expect"
	patch_file "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/data" 4096
	pcw_ok --offset=4096 "$IMG" /u <"$BATS_TEST_TMPDIR/data"
	[ "$(inode_size "$IMG" /u)" -eq 1048576 ]
	verify "$IMG" /u "$BATS_TEST_TMPDIR/expect"
	# bytes 4096..14095: blocks 1-3 written (3 partly, its tail zeroed)
	debugfs -R "ex /u" "$IMG" 2>/dev/null
	states=$(block_states "$IMG" /u 256)
	[ "$states" = "u$(repeat d 3)$(repeat u 252)" ]
}

# --- sub-page holes ----------------------------------------------------------

@test "1 KiB blocks: 100 bytes at offset 5000 of an empty file allocate one block" {
	use_image ext4-1k
	pcw_ok "$IMG" /g </dev/null
	mkdata "$BATS_TEST_TMPDIR/data" 100
	truncate -s 0 "$BATS_TEST_TMPDIR/expect"
	patch_file "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/data" 5000
	pcw_ok --offset=5000 "$IMG" /g <"$BATS_TEST_TMPDIR/data"
	[ "$(inode_size "$IMG" /g)" -eq 5100 ]
	verify "$IMG" /g "$BATS_TEST_TMPDIR/expect"
	zeros_at "$IMG" /g 0 5000
	# the page 4096..8191 is blocks 4-7; only block 4 holds data
	echo "Blockcount $(blockcount "$IMG" /g), blocks $(block_states "$IMG" /g 8)"
	[ "$(blockcount "$IMG" /g)" -eq 2 ]
	[ "$(block_states "$IMG" /g 8)" = "....d..." ]
}

# stale_tail IMAGE ALLOC SIZE: /st with ALLOC random bytes on disk but i_size
# SIZE, so the last block holds stale bytes past EOF (debugfs sif; the kernel
# never leaves them, other writers may).  $STALE holds the first SIZE bytes.
stale_tail() {
	mkdata "$BATS_TEST_TMPDIR/stale-all" "$2"
	debugfs -w -R "write $BATS_TEST_TMPDIR/stale-all /st" "$1" >/dev/null 2>&1
	debugfs -w -R "sif /st size $3" "$1" >/dev/null 2>&1
	STALE=$BATS_TEST_TMPDIR/stale
	head -c "$3" "$BATS_TEST_TMPDIR/stale-all" >"$STALE"
	fsck_clean "$1"
	[ "$(inode_size "$1" /st)" -eq "$3" ]
}

@test "a write past EOF zeroes the stale bytes after the old EOF in its last block, on every variant" {
	for fs in ext2 ext3 ext4 ext4-1k bigalloc inline; do
		echo "--- $fs"
		use_image "$fs"
		stale_tail "$IMG" 20480 $BASE
		cp "$STALE" "$BATS_TEST_TMPDIR/expect"
		patch_file "$BATS_TEST_TMPDIR/expect" "$D/tail" $((BASE + GAP))
		pcw_ok --offset=$((BASE + GAP)) "$IMG" /st <"$D/tail"
		verify "$IMG" /st "$BATS_TEST_TMPDIR/expect"
		zeros_at "$IMG" /st $BASE $GAP
	done
}

@test "1 KiB blocks: a write past EOF into the old EOF's own page leaves a one-block hole between" {
	use_image ext4-1k
	# blocks 0-16 allocated, EOF at 17000 inside block 16; page 4 is blocks 16-19
	stale_tail "$IMG" 17408 17000
	mkdata "$BATS_TEST_TMPDIR/data" 100
	cp "$STALE" "$BATS_TEST_TMPDIR/expect"
	patch_file "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/data" 19000
	pcw_ok --offset=19000 "$IMG" /st <"$BATS_TEST_TMPDIR/data"
	[ "$(inode_size "$IMG" /st)" -eq 19100 ]
	verify "$IMG" /st "$BATS_TEST_TMPDIR/expect"
	zeros_at "$IMG" /st 17000 2000
	states=$(block_states "$IMG" /st 20)
	echo "blocks 0..19: $states"
	[ "$states" = "$(repeat d 17).d." ]
}

# --- --sparse ----------------------------------------------------------------

# sparse_source: a 1 MiB host file, data in blocks 0-1 and 146-148, the rest
# holes; skips where the host filesystem does not keep 4 KiB holes.
sparse_source() {
	SRC=$BATS_TEST_TMPDIR/sparse
	truncate -s 1M "$SRC"
	mkdata "$BATS_TEST_TMPDIR/head" 8192
	mkdata "$BATS_TEST_TMPDIR/mid" 10000
	patch_file "$SRC" "$BATS_TEST_TMPDIR/head" 0
	patch_file "$SRC" "$BATS_TEST_TMPDIR/mid" 600000
	if [ "$(stat -c %b "$SRC")" -ne 40 ]; then
		skip "the host filesystem does not keep 4 KiB holes ($(stat -c %b "$SRC") sectors)"
	fi
	SPARSE_STATES="dd$(repeat . 144)ddd$(repeat . 107)"
}

@test "--sparse=always: all-zero pages from a pipe become holes" {
	use_image ext4
	{
		head -c 16384 "$D/append"
		head -c 65536 /dev/zero
		tail -c 16507 "$D/append"
	} >"$BATS_TEST_TMPDIR/expect"
	pcw_ok --sparse=always "$IMG" /z < <(cat "$BATS_TEST_TMPDIR/expect")
	verify "$IMG" /z "$BATS_TEST_TMPDIR/expect"
	# 4 data pages, 16 zero pages, 5 data pages (the last one partial)
	states=$(block_states "$IMG" /z 25)
	echo "Blockcount $(blockcount "$IMG" /z), blocks $states"
	[ "$states" = "dddd$(repeat . 16)ddddd" ]
	[ "$(blockcount "$IMG" /z)" -eq 72 ]
}

@test "--sparse=always: zero pages over allocated blocks are written, old data does not show through" {
	use_image ext4
	head -c 8192 /dev/zero >"$BATS_TEST_TMPDIR/zeros"
	cp "$D/base" "$BATS_TEST_TMPDIR/expect"
	patch_file "$BATS_TEST_TMPDIR/expect" "$BATS_TEST_TMPDIR/zeros" 4096
	pcw_ok --sparse=always --offset=4096 "$IMG" /f <"$BATS_TEST_TMPDIR/zeros"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/expect"
	zeros_at "$IMG" /f 4096 8192
}

@test "--sparse=auto (the default): the holes of a sparse source file stay holes" {
	sparse_source
	use_image ext4
	pcw_ok "$IMG" /s "$SRC"
	pcw_ok --sparse=auto "$IMG" /t "$SRC"
	verify "$IMG" /s "$SRC"
	verify "$IMG" /t "$SRC"
	for f in /s /t; do
		states=$(block_states "$IMG" $f 256)
		echo "$f: Blockcount $(blockcount "$IMG" $f), blocks $states"
		[ "$states" = "$SPARSE_STATES" ]
		[ "$(blockcount "$IMG" $f)" -eq 40 ]
	done
}

@test "--sparse=never: every page of a sparse source is allocated" {
	sparse_source
	use_image ext4
	pcw_ok --sparse=never "$IMG" /s "$SRC"
	verify "$IMG" /s "$SRC"
	states=$(block_states "$IMG" /s 256)
	echo "Blockcount $(blockcount "$IMG" /s), blocks $states"
	[ "$states" = "$(repeat d 256)" ]
	# 256 data blocks, and at most one extent-tree block
	[ "$(blockcount "$IMG" /s)" -ge 2048 ]
	[ "$(blockcount "$IMG" /s)" -le 2056 ]
}

@test "--sparse takes only auto, always or never" {
	use_image ext4
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -2 --separate-stderr "$PCWRITE" --sparse=sometimes "$IMG" /f <"$D/patch"
	echo "stderr: $stderr"
	[[ "${stderr_lines[0]}" == pcwrite:\ * ]]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

# --- quota -------------------------------------------------------------------

@test "quota: the image is written and its quota usage kept (tests/quota.bats has the rest)" {
	mkimg "$IMG" 32M -t ext4 -O quota,project -E quotatype=usrquota:grpquota:prjquota
	run -0 "$PCWRITE" -u 1000 "$IMG" /f <"$D/patch"
	fsck_clean "$IMG"
	debugfs -R "lq user" "$IMG" 2>/dev/null | grep -q '^ *1000 '
}
