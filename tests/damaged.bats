#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# damaged.bats: images damaged before the run.  What the kernel checks
# before it uses a block or an inode, and what is as cheap, pcwrite checks
# too: damage found at open is refused with the image byte-identical;
# damage met as a block is used (a file's block on metadata) stops the run
# with one line naming e2fsck, and e2fsck -fn reports no problem it did not
# report before (tests/fuzz/problems.py compares the two).  Damage only a
# full scan finds (a block two files claim) is not checked: the README says
# so, and tests/fuzz/run and tests/corpus.bats count it.

load test_helper

setup_file() {
	# 1 KiB blocks: 8 groups, the metadata of all of them in group 0
	# (flex_bg), metadata_csum; and /a, 20 blocks from the first free one.
	mkimg "$BATS_FILE_TMPDIR/base.img" 64M -t ext4 -b 1024
	mkdata "$BATS_FILE_TMPDIR/a" 20000
	"$PCWRITE" --no-sync "$BATS_FILE_TMPDIR/base.img" /a "$BATS_FILE_TMPDIR/a"
}

setup() {
	copy_image
	IMG=$BATS_TEST_TMPDIR/img
	A=$BATS_FILE_TMPDIR/a
	mkdata "$BATS_TEST_TMPDIR/data" 20000
}

# dbg IMAGE COMMAND...: debugfs -w, each argument one command.
dbg() {
	local img=$1
	shift
	printf '%s\n' "$@" | debugfs -w -f - "$img" >/dev/null 2>&1
}

# first_block IMAGE PATH: the first data block of PATH.
first_block() {
	debugfs -R "blocks $2" "$1" 2>/dev/null | awk '{ print $1 }'
}

# itable IMAGE: the first block of group 0's inode table.
itable() {
	dumpe2fs "$1" 2>/dev/null | sed -n 's/.*Inode table at \([0-9]*\)-.*/\1/p' | head -n1
}

# damaged IMAGE: e2fsck -fn fails on it; its report is kept for no_new_problems.
damaged() {
	run e2fsck -fn "$1"
	[ "$status" -ne 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/fsck.before"
}

# no_new_problems IMAGE: e2fsck -fn reports nothing it did not report
# before (damaged), and still fails.
no_new_problems() {
	local new
	run e2fsck -fn "$1"
	[ "$status" -ne 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/fsck.after"
	new=$(python3 "$BATS_TEST_DIRNAME/fuzz/problems.py" \
		"$BATS_TEST_TMPDIR/fsck.before" "$BATS_TEST_TMPDIR/fsck.after")
	if [ -n "$new" ]; then
		echo "new e2fsck problems after the run:" >&2
		echo "$new" >&2
		return 1
	fi
}

MSG="filesystem metadata is inconsistent; run e2fsck -f first"

# refused_at_open: writing /b is refused with one line naming e2fsck, the
# image byte-identical.
refused_at_open() {
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" "$IMG" /b "$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: $IMG: $MSG" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

# stopped DEST [pcwrite options...]: the run stops at the damaged block, with
# one line naming e2fsck, and e2fsck finds nothing new.
stopped() {
	local dest=$1
	shift
	damaged "$IMG"
	run -1 --separate-stderr "$PCWRITE" "$@" "$IMG" "$dest" "$BATS_TEST_TMPDIR/data"
	[[ "$stderr" == "pcwrite: $IMG:$dest: $MSG"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	no_new_problems "$IMG"
}

# replace_refused NAME: -x of a tar holding a new /NAME (the test's data)
# stops at the damaged file with one line naming e2fsck, e2fsck finds
# nothing new, and /NAME keeps its name.
replace_refused() {
	local n=$1
	mkdir -p "$BATS_TEST_TMPDIR/t"
	cp "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/t/$n"
	tar -C "$BATS_TEST_TMPDIR/t" -cf "$BATS_TEST_TMPDIR/t.tar" "$n"
	damaged "$IMG"
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/t.tar"
	[ "$stderr" = "pcwrite: $IMG:/$n: $MSG" ]
	no_new_problems "$IMG"
	debugfs -R "ls -l /" "$IMG" 2>/dev/null | grep -qw "$n"
}

# --- found at open: the image byte-identical ---------------------------------

@test "a block bitmap that marks a file's block free (the counts unchanged) is refused at open" {
	# The allocator would take /a's blocks for /b's data.
	dbg "$IMG" "freeb $(first_block "$IMG" /a) 20"
	refused_at_open
	readback "$IMG" /a "$A"
}

@test "a group's free block count that disagrees with its bitmap is refused at open" {
	# 0 free: each block allocated would wrap the count below zero (a new
	# "Free blocks count wrong" from e2fsck).
	dbg "$IMG" "set_bg 0 free_blocks_count 0" "set_bg 0 checksum calc"
	refused_at_open
}

@test "a group's free inode count that disagrees with its bitmap is refused at open" {
	# As above: the inode allocated would wrap the count.
	dbg "$IMG" "set_bg 0 free_inodes_count 0" "set_bg 0 checksum calc"
	refused_at_open
}

@test "a group's directory count above its inodes in use is refused at open" {
	# e2fsck reports it; where the count has 16 bits (32-byte descriptors)
	# the next directory made wraps it to 0, a new "Directories count
	# wrong" (tests/fuzz/run --replay 3:50 on 9d02acf).
	dbg "$IMG" "set_bg 0 used_dirs_count 65535" "set_bg 0 checksum calc"
	damaged "$IMG"
	cp "$IMG" "$BATS_TEST_TMPDIR/before"
	run -1 --separate-stderr "$PCWRITE" -p "$IMG" /d/b "$BATS_TEST_TMPDIR/data"
	[ "$stderr" = "pcwrite: $IMG: $MSG" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/before"
}

@test "an inode in use inside the inode table's unused tail (bg_itable_unused) is refused at open" {
	# /a is inode 12: an unused tail of all but 11 inodes covers it.
	# e2fsck reports the entry naming it; the kernel's lazy inode table
	# init may zero it.  Which of bitmap and descriptor is right is
	# e2fsck's to say.
	ipg=$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Inodes per group:/ { print $4 }')
	dbg "$IMG" "set_bg 0 itable_unused $((ipg - 11))" "set_bg 0 checksum calc"
	refused_at_open
}

@test "a group descriptor whose checksum fails is refused at open, as the kernel refuses to mount it" {
	# e2fsck -n reports it (and exits 0: it ignores the checksum); the
	# kernel will not mount the filesystem read-write.
	dbg "$IMG" "set_bg 0 checksum 4660"
	run e2fsck -fn "$IMG"
	[[ "$output" == *"Group descriptor 0 checksum is 0x1234, should be"* ]]
	refused_at_open
}

@test "a bad block the bitmap marks free is refused at open" {
	# The bad blocks inode lists the first free block: /b's data would
	# land on it, and e2fsck find it claimed twice.
	free=$(( $(first_block "$IMG" /a) + 20 ))
	dbg "$IMG" "sif <1> block[0] $free" "sif <1> size 1024" "sif <1> blocks 2"
	refused_at_open
}

@test "a bad block on the inode table is refused at open" {
	# The table block of inode 13, /b's (4 inodes a block): e2fsck, which
	# passes the image, would then clear /b as "located in a bad block".
	bad=$(( $(itable "$IMG") + 3 ))
	dbg "$IMG" "sif <1> block[0] $bad" "sif <1> size 1024" "sif <1> blocks 2"
	refused_at_open
}

@test "a bad blocks list that names its own indirect block is refused at open" {
	# e2fsck stops at it ("Bad block list says the bad block list inode is
	# bad", f_bb_in_bb), so no run can show what else is wrong.
	ind=$(( $(first_block "$IMG" /a) + 100 ))
	# the indirect block's first entry is itself
	perl -e 'print pack("V", $ARGV[0]), "\0" x 1020' "$ind" |
		dd of="$IMG" bs=1024 seek="$ind" conv=notrunc status=none
	dbg "$IMG" "setb $ind" "sif <1> block[IND] $ind" "sif <1> size $((13 * 1024))" \
		"sif <1> blocks 4"
	refused_at_open
}

@test "a quota file whose blocks lie on the inode table is refused at open (extents and block-mapped)" {
	# The kernel's mount refuses to enable quota on such a file (its iget
	# checks the map's root); written into, the quota blocks would land on
	# the inodes there (on main c783df9: exit 0, inode table blocks
	# rewritten).  The user quota file is inode 3: its third extent's
	# start (i_block[11]), or its third direct pointer.
	local t
	for t in ext4 ext3; do
		mkimg "$IMG" 64M -t "$t" -b 1024 -O quota
		if [ "$t" = ext4 ]; then
			dbg "$IMG" "sif <3> block[11] $(itable "$IMG")"
		else
			dbg "$IMG" "sif <3> block[2] $(itable "$IMG")"
		fi
		damaged "$IMG"
		refused_at_open
	done
}

# --- met as a block is used: the kernel's check_block_validity ---------------

@test "overwriting a file whose extent lies on the inode table stops before writing there" {
	# /a's extent moved onto the first inode table block (the root
	# inode's): the data would overwrite it.
	dbg "$IMG" "sif /a block[5] $(itable "$IMG")"
	stopped /a --offset=0
	debugfs -R "ls -l /" "$IMG" 2>/dev/null | grep -qw a
}

@test "replacing a file whose extent lies on the inode table frees nothing there" {
	# Freed, the table block would be the first free block, and the new
	# data would land on it.
	dbg "$IMG" "sif /a block[5] $(itable "$IMG")"
	stopped /a
	[ "$(debugfs -R "testb $(itable "$IMG")" "$IMG" 2>/dev/null)" = "Block $(itable "$IMG") marked in use" ]
}

@test "a directory block on the inode table is not written into" {
	# The root directory's block copied into the inode table's unused
	# tail (which e2fsck does not read) and the root pointed at it: a new
	# name would be written into the table.
	root=$(first_block "$IMG" /)
	tail=$(( $(itable "$IMG") + 400 ))
	dd if="$IMG" of="$IMG" bs=1024 skip="$root" seek="$tail" count=1 conv=notrunc status=none
	dbg "$IMG" "sif / block[5] $tail"
	stopped /b
}

@test "appending to a block-mapped file whose indirect block is an inode table block stops before writing there" {
	# The new blocks' numbers would be written into the table block that
	# holds the root inode (ext4_iget refuses such a file).
	mkimg "$IMG" 16M -t ext3 -b 1024
	mkdata "$BATS_TEST_TMPDIR/f" 20000
	"$PCWRITE" --no-sync "$IMG" /f "$BATS_TEST_TMPDIR/f"
	dbg "$IMG" "sif /f block[IND] $(itable "$IMG")"
	stopped /f --append
}

@test "-x replacing a file whose extent lies on the inode table keeps its name and inode" {
	# The file is checked as the kernel's iget checks it, before its name
	# is removed: no inode is left unattached.
	dbg "$IMG" "sif /a block[5] $(itable "$IMG")"
	replace_refused a
}

@test "-x: a hard link to a file whose extent lies on the inode table is refused" {
	# link(2) meets the target through a lookup, whose iget fails there:
	# no new name for an inode e2fsck would clear.
	dbg "$IMG" "sif /a block[5] $(itable "$IMG")"
	python3 - "$BATS_TEST_TMPDIR/l.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("b")
    i.type = tarfile.LNKTYPE
    i.linkname = "a"
    t.addfile(i)
PY
	damaged "$IMG"
	run -1 --separate-stderr "$PCWRITE" -x "$IMG" / "$BATS_TEST_TMPDIR/l.tar"
	[ "$stderr" = "pcwrite: $IMG:/b: $MSG" ]
	no_new_problems "$IMG"
	run debugfs -R "stat /b" "$IMG"
	[[ "$output" =~ "File not found" ]]
}

@test "-x replacing a block-mapped file whose indirect block names an inode table block keeps its name and inode" {
	# ext4_iget sees only the fifteen pointers; the block the indirect
	# block names is met as the file is freed.  pcwrite checks the whole
	# map before the name goes (before, the name was removed, then refused:
	# "Unattached inode 12").
	mkimg "$IMG" 64M -t ext2 -b 1024
	"$PCWRITE" --no-sync "$IMG" /a "$A"
	local ind
	ind=$(debugfs -R "stat /a" "$IMG" 2>/dev/null | sed -n 's/.*(IND):\([0-9]*\).*/\1/p')
	[ -n "$ind" ]
	# The indirect block's second entry (file block 13): an inode table block.
	python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]) * 1024 + 4)
    f.write(struct.pack("<I", int(sys.argv[3])))' "$IMG" "$ind" "$(($(itable "$IMG") + 50))"
	replace_refused a
}

@test "-x replacing a file whose attribute value's EA inode lies on the inode table keeps its name and inode" {
	# The EA inode is checked as ext4_iget checks it when the value is
	# counted, before the owner's name goes (before, the name was removed,
	# the owner's blocks freed, then refused).
	mkimg "$IMG" 64M -t ext4 -b 1024 -O ea_inode
	python3 - "$BATS_TEST_TMPDIR/x.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("f")
    i.size = 5000
    i.pax_headers = {"SCHILY.xattr.user.big": "x" * 32000}
    t.addfile(i, io.BytesIO(b"d" * 5000))
PY
	"$PCWRITE" --no-sync -x "$IMG" / "$BATS_TEST_TMPDIR/x.tar"
	# /f is inode 12, its value's EA inode 13 (EXT4_EA_INODE_FL).
	debugfs -R "stat <13>" "$IMG" 2>/dev/null | grep -q 'Flags: 0x2[0-9a-f]\{5\}$'
	dbg "$IMG" "sif <13> block[5] $(($(itable "$IMG") + 100))"
	replace_refused f
}
