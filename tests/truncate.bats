#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# truncate.bats: rewriting a file frees each of its clusters once, whatever
# the shape of its extent tree or indirect blocks; a damaged file is refused
# with nothing freed.
#
# Every case: e2fsck -fn clean after the rewrite, the new content read back
# (debugfs and the kernel), and the free block count equal to that of a fresh
# image holding just the new file.

load test_helper

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	FRESH=$BATS_TEST_TMPDIR/fresh
	printf 'hi\n' >"$BATS_TEST_TMPDIR/hi"
}

# pattern N FILE: N pages of data each followed by a page of zeroes.  With
# --sparse=always every data page is an extent of its own, and on bigalloc
# two (or more) extents share each cluster.
pattern() {
	perl -e 'for my $i (0 .. $ARGV[0] - 1) {
		print chr(65 + $i % 26) x 4096, "\0" x 4096 }' "$1" >"$2"
}

free_blocks() {
	dumpe2fs -h "$1" 2>/dev/null | awk '/^Free blocks:/ { print $3 }'
}

# leaves IMAGE PATH: the leaf extents of PATH, one a line, in tree order:
# "leaf-number lblk pblk len".  debugfs prints "339/339" or "  1/161".
leaves() {
	debugfs -R "ex $2" "$1" 2>/dev/null | sed 's|/ *|/|g' | awk '
		NR > 1 { split($1, lv, "/"); split($2, en, "/")
			 if (lv[1] == lv[2]) { if (en[1] == 1) leaf++
				print leaf, $3, $6, $NF } }'
}

# depth IMAGE PATH: the depth of PATH's extent tree.
depth() {
	debugfs -R "ex $2" "$1" 2>/dev/null | sed 's|/ *|/|g' |
		awk 'NR == 2 { split($1, lv, "/"); print lv[2] }'
}

# shared_across_leaves IMAGE PATH RATIO: some leaf's last extent and the next
# leaf's first extent lie in one physical cluster.
shared_across_leaves() {
	leaves "$1" "$2" | awk -v r="$3" '
		NR > 1 && $1 != leaf && int(($3) / r) == int(last / r) { found = 1 }
		{ leaf = $1; last = $3 + $4 - 1 }
		END { exit !found }'
}

# expect_free IMAGE MKE2FS-OPTIONS...: IMAGE has as many free blocks as a
# fresh image holding just /f = "hi\n".
expect_free() {
	local img=$1
	shift
	mkimg "$FRESH" 64M "$@"
	"$PCWRITE" --no-sync "$FRESH" /f "$BATS_TEST_TMPDIR/hi"
	if [ "$(free_blocks "$img")" != "$(free_blocks "$FRESH")" ]; then
		echo "free blocks $(free_blocks "$img"), a fresh image has $(free_blocks "$FRESH")" >&2
		return 1
	fi
}

# rewrite_bigalloc BLOCKSIZE CLUSTERSIZE EXTENTS WANT-DEPTH
rewrite_bigalloc() {
	local bs=$1 cs=$2 n=$3 want=$4
	local opts=(-t ext4 -b "$bs" -O bigalloc -C "$cs")
	mkimg "$IMG" 64M "${opts[@]}"
	pattern "$n" "$BATS_TEST_TMPDIR/pat"
	run -0 "$PCWRITE" --no-sync --sparse=always "$IMG" /f "$BATS_TEST_TMPDIR/pat"
	fsck_clean "$IMG"
	# the shape this case is about
	[ "$(depth "$IMG" /f)" -eq "$want" ]
	[ "$(leaves "$IMG" /f | wc -l)" -eq "$n" ]
	shared_across_leaves "$IMG" /f $((cs / bs))
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	[ -z "$output" ]
	verify "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	expect_free "$IMG" "${opts[@]}"
}

@test "bigalloc 4K blocks, 16K clusters: extents in 2 leaves sharing a cluster are freed once" {
	rewrite_bigalloc 4096 16384 500 1
}

@test "bigalloc 4K blocks, 16K clusters: depth 2 (the reported case, 2001 extents)" {
	rewrite_bigalloc 4096 16384 2001 2
}

@test "bigalloc 4K blocks, 64K clusters: extents in 2 leaves" {
	rewrite_bigalloc 4096 65536 500 1
}

@test "bigalloc 4K blocks, 64K clusters: depth 2" {
	rewrite_bigalloc 4096 65536 2001 2
}

@test "bigalloc 1K blocks, 16K clusters: extents in 2 leaves" {
	rewrite_bigalloc 1024 16384 120 1
}

@test "bigalloc 1K blocks, 16K clusters: depth 2" {
	rewrite_bigalloc 1024 16384 2001 2
}

@test "bigalloc 1K blocks, 64K clusters: extents in 2 leaves" {
	rewrite_bigalloc 1024 65536 120 1
}

@test "bigalloc 1K blocks, 64K clusters: depth 2" {
	rewrite_bigalloc 1024 65536 2001 2
}

# Tree surgery with debugfs, for shapes no writer makes on purpose.
#
# root_leaf IMAGE PATH K: the block of the K-th leaf under the inode's root
# (a depth-1 tree).
root_leaf() {
	debugfs -R "ex $2" "$1" 2>/dev/null | sed 's|/ *|/|g' |
		awk -v k="$3" '$1 ~ /^0\// && $2 ~ "^" k "/" { print $6 }'
}

# free_counted IMAGE BLOCK: mark BLOCK's cluster free in the block bitmap
# and in the group's and the superblock's free counts (debugfs freeb
# changes the bitmap alone, which pcwrite refuses at open): the damage is
# then the file's own, which only the file's readers can find.
free_counted() {
	local img=$1 blk=$2 bs ratio=1 bpg first g gfree sfree hdr
	hdr=$(dumpe2fs -h "$img" 2>/dev/null)
	bs=$(awk '/^Block size:/ { print $3 }' <<<"$hdr")
	first=$(awk '/^First block:/ { print $3 }' <<<"$hdr")
	# bigalloc: dumpe2fs says "Clusters per group", and counts clusters
	if grep -q '^Cluster size:' <<<"$hdr"; then
		ratio=$(( $(awk '/^Cluster size:/ { print $3 }' <<<"$hdr") / bs ))
		bpg=$(( $(awk '/^Clusters per group:/ { print $4 }' <<<"$hdr") * ratio ))
	else
		bpg=$(awk '/^Blocks per group:/ { print $4 }' <<<"$hdr")
	fi
	g=$(( (blk - first) / bpg ))
	debugfs -w -R "freeb $blk" "$img" 2>/dev/null
	gfree=$(dumpe2fs "$img" 2>/dev/null | awk -v g="Group $g:" '
		index($0, g) == 1 { on = 1 }
		on && /free (clusters|blocks),/ { print $1; exit }')
	sfree=$(free_blocks "$img")
	debugfs -w -R "set_bg $g free_blocks_count $((gfree + 1))" "$img" 2>/dev/null
	debugfs -w -R "set_bg $g checksum calc" "$img" 2>/dev/null
	debugfs -w -R "ssv free_blocks_count $((sfree + ratio))" "$img" 2>/dev/null
}

# move_leaf IMAGE PATH K BLOCK: copy the K-th leaf to BLOCK (in a cluster
# the file holds already) and point the root at it; the leaf's old cluster
# is freed, with the counts.  e2fsck then reports the shared cluster as
# multiply claimed, and nothing else (it charges i_blocks for the cluster
# twice, as tree block and as data).
move_leaf() {
	local img=$1 path=$2 k=$3 to=$4 from bs
	from=$(root_leaf "$img" "$path" "$k")
	bs=$(dumpe2fs -h "$img" 2>/dev/null | awk '/^Block size:/ { print $3 }')
	dd if="$img" of="$img" bs="$bs" skip="$from" seek="$to" count=1 conv=notrunc status=none
	debugfs -w -R "sif $path block[$((3 * k + 1))] $to" "$img" 2>/dev/null
	free_counted "$img" "$from"
	run e2fsck -fn "$img"
	[ "$status" -eq 4 ]
	[[ "$output" == *"Multiply-claimed block(s) in inode"* ]]
	[[ "$output" != *"should be"* && "$output" != *"count wrong"* ]]
}

crafted_image() {
	mkimg "$IMG" 64M -t ext4 -b 4096 -O bigalloc -C 16384
	pattern 500 "$BATS_TEST_TMPDIR/pat"
	"$PCWRITE" --no-sync --sparse=always "$IMG" /f "$BATS_TEST_TMPDIR/pat"
	[ "$(depth "$IMG" /f)" -eq 1 ]
}

@test "bigalloc: a leaf in the cluster of the file's last data is freed once" {
	crafted_image
	# the last extent's cluster has data in its 1st and 3rd blocks
	last=$(leaves "$IMG" /f | tail -n1 | awk '{ print $3 }')
	move_leaf "$IMG" /f 1 $((last + 1))
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	expect_free "$IMG" -t ext4 -b 4096 -O bigalloc -C 16384
}

@test "bigalloc: two leaves in one cluster are freed once" {
	crafted_image
	l1=$(root_leaf "$IMG" /f 1)
	move_leaf "$IMG" /f 2 $((l1 + 1))
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	expect_free "$IMG" -t ext4 -b 4096 -O bigalloc -C 16384
}

# refused IMAGE: the rewrite fails with the corruption message and neither
# the file nor what e2fsck finds has changed.
refused() {
	local img=$1
	debugfs -R "cat /f" "$img" >"$BATS_TEST_TMPDIR/before" 2>/dev/null
	debugfs -R "ex /f" "$img" >"$BATS_TEST_TMPDIR/ex.before" 2>/dev/null
	e2fsck -fn "$img" 2>&1 | grep -v '^e2fsck ' >"$BATS_TEST_TMPDIR/fsck.before" || :
	run -1 "$PCWRITE" "$img" /f "$BATS_TEST_TMPDIR/hi"
	[[ "$output" == "pcwrite: $img:/f: filesystem metadata is inconsistent; run e2fsck -f first (0 bytes written)" ]]
	debugfs -R "cat /f" "$img" 2>/dev/null | cmp - "$BATS_TEST_TMPDIR/before"
	debugfs -R "ex /f" "$img" 2>/dev/null | cmp - "$BATS_TEST_TMPDIR/ex.before"
	e2fsck -fn "$img" 2>&1 | grep -v '^e2fsck ' | cmp - "$BATS_TEST_TMPDIR/fsck.before"
}

@test "a tree block marked free in the bitmap: refused, nothing freed" {
	crafted_image
	free_counted "$IMG" "$(root_leaf "$IMG" /f 2)"
	refused "$IMG"
}

@test "i_blocks smaller than the blocks the tree holds: refused, nothing freed" {
	crafted_image
	debugfs -w -R "sif /f blocks 64" "$IMG" 2>/dev/null
	refused "$IMG"
}

# Block-mapped files: data in the direct blocks and under the indirect,
# double and triple indirect blocks, sparse and dense.
rewrite_blockmapped() {
	local fs=$1 bs=$2 off
	local opts=(-t "$fs" -b "$bs")
	mkimg "$IMG" 64M "${opts[@]}"
	mkdata "$BATS_TEST_TMPDIR/dense" 3000000
	"$PCWRITE" --no-sync "$IMG" /f "$BATS_TEST_TMPDIR/dense"
	for off in 20000 300000 70000000 1000000000 5000000000 17000000000; do
		printf 'data at %s' $off | "$PCWRITE" --no-sync -o $off "$IMG" /f
	done
	fsck_clean "$IMG"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	expect_free "$IMG" "${opts[@]}"
	[ "$(dstat "$IMG" /f | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -eq $((bs / 512)) ]
}

@test "ext2, 1K blocks: a big sparse block-mapped file is freed once, indirect blocks included" {
	rewrite_blockmapped ext2 1024
}

@test "ext3, 4K blocks: a big sparse block-mapped file is freed once" {
	rewrite_blockmapped ext3 4096
}

@test "ext3: an indirect block marked free in the bitmap: refused, nothing freed" {
	mkimg "$IMG" 64M -t ext3 -b 1024
	mkdata "$BATS_TEST_TMPDIR/dense" 300000
	"$PCWRITE" --no-sync "$IMG" /f "$BATS_TEST_TMPDIR/dense"
	ind=$(debugfs -R "stat /f" "$IMG" 2>/dev/null | sed -n 's/.*(IND):\([0-9]*\).*/\1/p')
	[ -n "$ind" ]
	free_counted "$IMG" "$ind"
	refused "$IMG"
}

@test "bigalloc 1K blocks: the xattr block stays the file's, in i_blocks too" {
	mkimg "$IMG" 64M -t ext4 -b 1024 -O bigalloc -C 16384
	pattern 120 "$BATS_TEST_TMPDIR/pat"
	"$PCWRITE" --no-sync --sparse=always "$IMG" /f "$BATS_TEST_TMPDIR/pat"
	head -c 600 /dev/urandom >"$BATS_TEST_TMPDIR/value"
	debugfs -w -R "ea_set -f $BATS_TEST_TMPDIR/value /f user.big" "$IMG" 2>/dev/null
	acl=$(dstat "$IMG" /f | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
	[ "$acl" -gt 0 ]
	fsck_clean "$IMG"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	verify "$IMG" /f "$BATS_TEST_TMPDIR/hi"
	[ "$(dstat "$IMG" /f | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')" -eq "$acl" ]
	debugfs -R "ea_get -f $BATS_TEST_TMPDIR/got /f user.big" "$IMG" 2>/dev/null
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/value"
}

# A rewrite frees the old extent tree's blocks, which libext2fs's block
# cache may still hold (dirty); the new data lands on exactly those blocks
# (the filesystem is full otherwise) and goes to the image around that
# cache: it must read back, not be overwritten by a stale tree block.
@test "a rewrite whose data lands on the freed extent tree blocks reads back exactly" {
	mkimg "$IMG" 32M -t ext4 -b 1024
	pattern 1500 "$BATS_TEST_TMPDIR/pat"
	run -0 "$PCWRITE" --sparse=always "$IMG" /f "$BATS_TEST_TMPDIR/pat"
	[ "$(depth "$IMG" /f)" -ge 2 ]
	debugfs -R "ex /f" "$IMG" 2>/dev/null | sed 's|/ *|/|g' |
		awk 'NR > 1 { split($1, lv, "/"); if (lv[1] != lv[2]) print $(NF - 1) }' |
		sort -u >"$BATS_TEST_TMPDIR/tree"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/tree")" -ge 10 ]
	# fill the rest of the filesystem
	run -1 "$PCWRITE" "$IMG" /fill /dev/zero
	local free blocks
	free=$(free_blocks "$IMG")
	blocks=$(debugfs -R "stat /f" "$IMG" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
	mkdata "$BATS_TEST_TMPDIR/new" $(((blocks / 2 + free) * 1024))
	# In place: through the journal the freed blocks stay busy until their
	# transaction commits, and pcwrite does not yet force a commit on
	# ENOSPC as the kernel does (issue 13 note).
	run --separate-stderr "$PCWRITE" --no-journal "$IMG" /f "$BATS_TEST_TMPDIR/new"
	echo "$stderr"
	fsck_clean "$IMG"
	local n=$(inode_size "$IMG" /f)
	head -c "$n" "$BATS_TEST_TMPDIR/new" >"$BATS_TEST_TMPDIR/prefix"
	readback "$IMG" /f "$BATS_TEST_TMPDIR/prefix"
	# the data is on every block the old tree had
	debugfs -R "blocks /f" "$IMG" 2>/dev/null | tr ' ' '\n' | sort -u >"$BATS_TEST_TMPDIR/now"
	[ "$(comm -12 "$BATS_TEST_TMPDIR/tree" "$BATS_TEST_TMPDIR/now" | wc -l)" -eq "$(wc -l <"$BATS_TEST_TMPDIR/tree")" ]
}

# frag_image IMAGE FS: 320 MiB, 1 KiB blocks, 1 MiB groups (-g 1024: 320
# of them), a 1 MiB journal (a transaction: 256 log blocks).  /filler takes
# every free block, then loses one block in every 512 of it (debugfs
# punch): the only free space is ~600 single blocks, two in about every
# group.  /target (500 KiB, written then) is ~500 one-block extents over
# ~260 groups, a tree of depth 2 on ext4.  Freeing it changes ~260 block
# bitmaps and ~20 descriptor blocks: more than one transaction holds.
# Made in place (--no-journal): through a journal that small each commit
# of the fill holds a block or two, minutes of flushes.
frag_image() {
	local img=$1 fs=$2 size
	mkimg "$img" 320M -t "$fs" -b 1024 -g 1024 -N 8192 -J size=1
	run -1 "$PCWRITE" --no-sync --no-journal --sparse=never "$img" /filler /dev/zero
	size=$(inode_size "$img" /filler)
	perl -e 'for (my $l = 256; $l < $ARGV[0] / 1024; $l += 512) {
		print "punch /filler $l $l\n" }' "$size" >"$BATS_TEST_TMPDIR/punch"
	debugfs -w -f "$BATS_TEST_TMPDIR/punch" "$img" >/dev/null 2>&1
	perl -e 'print map { chr(1 + ($_ * 7) % 251) } 0 .. 500 * 1024 - 1' \
		>"$BATS_TEST_TMPDIR/target"
	"$PCWRITE" --no-sync --no-journal --page-size=1024 "$img" /target "$BATS_TEST_TMPDIR/target"
	fsck_clean "$img"
	readback "$img" /target "$BATS_TEST_TMPDIR/target"
}

# groups IMAGE PATH: the 1 MiB groups PATH has data blocks in.
groups_of() {
	debugfs -R "blocks $2" "$1" 2>/dev/null | tr ' ' '\n' |
		awk 'NF { g[int(($1 - 1) / 1024)] = 1 } END { print length(g) }'
}

# Issue 13 item 2: one entry larger than a transaction is split into ranges
# protected by the orphan list, as ext4_truncate does.  The shell's '>' on
# a file over ~260 groups: before, its blocks were freed in one commit the
# journal logged as two transactions, bitmaps first (io_journal.c's split),
# and a crash between them replayed bitmaps calling free the blocks the
# inode still mapped (e2fsck -fn: block bitmap differences).  Now the
# inode on the orphan list is committed first (its size cut to its first
# extent: e2fsck 1.47.0 abandons an orphan truncation that empties the
# whole tree, see truncate.c), then the map is shortened from its end, each
# piece freeing what it took off in its own transaction, the last one
# taking the inode off the list with its size 0.  Every crash
# state crash.py builds (each flush point, random subsets of the writes
# after it): e2fsck -E journal_only (replay, the orphan truncated), then
# e2fsck -fn with nothing to repair.  Not ext3: debugfs's punch of one block
# of a block-mapped file (libext2fs 1.47.0's ext2fs_punch_ind) frees far
# more than that block, so frag_image cannot make the layout there.
@test "the shell's '>' on a file over 250 groups (1 KiB blocks, 1 MiB groups, a 1 MiB journal; a tree of depth 2): freed from its end in transactions under the orphan list; every crash state replays with nothing to repair" {
	local T=$BATS_TEST_TMPDIR shim=$BATS_FILE_TMPDIR/eio_shim.so fs out
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	echo new >"$T/new"
	for fs in ext4; do
		frag_image "$T/base" "$fs"
		echo "$fs: /target in $(groups_of "$T/base" /target) groups"
		[ "$(groups_of "$T/base" /target)" -ge 250 ]
		[ "$(depth "$T/base" /target)" -eq 2 ]
		cp --sparse=always "$T/base" "$T/w"
		rm -f "$T/log"
		LD_PRELOAD="$shim" PCW_CRASH_LOG="$T/log" \
			PCW_CRASH_IMAGE=$(stat -c %d:%i "$T/w") \
			"$PCWRITE" "$T/w" /target "$T/new"
		fsck_clean "$T/w"
		readback "$T/w" /target "$T/new"
		out=$(python3 "$BATS_TEST_DIRNAME/crash.py" check "$T/base" "$T/log" \
			--kernel no --subsets "${PCW_CRASH_SUBSETS:-3}" \
			--seed "${PCW_CRASH_SEED:-$RANDOM$RANDOM}" 2>&1) || true
		echo "$fs: $out"
		[[ $out == *", 0 failing"* ]]
	done
}

# The same file replaced by -x and by -R (the old inode released at its
# last link, pcw_inode_release).  Before, the swap's transaction freed it
# whole and the journal logged it as two transactions, bitmaps first.  Now
# the old inode goes on the orphan list (i_nlink 0) in the swap's
# transaction, as ext4_rename leaves it for ext4_evict_inode, and is freed
# after it in transactions of its own.  Every crash state: nothing to
# repair after the replay, and /target the old file or the new one
# (crash.py --atomic).
@test "-x and -R replacing a file over 250 groups (1 KiB blocks, 1 MiB groups, a 1 MiB journal): the old inode freed after the swap under the orphan list; every crash state replays with nothing to repair, the path old or new" {
	local T=$BATS_TEST_TMPDIR shim=$BATS_FILE_TMPDIR/eio_shim.so how out
	command -v cc >/dev/null || skip "no C compiler for the shim"
	[ -f "$shim" ] || cc -shared -fPIC -o "$shim" "$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	mkdir "$T/src"
	echo new >"$T/src/target"
	tar -C "$T/src" -cf "$T/t.tar" target
	frag_image "$T/base" ext4
	[ "$(groups_of "$T/base" /target)" -ge 250 ]
	for how in -x -R; do
		cp --sparse=always "$T/base" "$T/w"
		rm -f "$T/log"
		if [ "$how" = -x ]; then set -- "$T/t.tar"; else set -- "$T/src"; fi
		LD_PRELOAD="$shim" PCW_CRASH_LOG="$T/log" \
			PCW_CRASH_IMAGE=$(stat -c %d:%i "$T/w") \
			"$PCWRITE" "$how" "$T/w" / "$@"
		fsck_clean "$T/w"
		readback "$T/w" /target "$T/src/target"
		out=$(python3 "$BATS_TEST_DIRNAME/crash.py" check "$T/base" "$T/log" \
			--atomic "/target=$T/target,$T/src/target" --kernel no \
			--subsets "${PCW_CRASH_SUBSETS:-3}" \
			--seed "${PCW_CRASH_SEED:-$RANDOM$RANDOM}" 2>&1) || true
		echo "$how: $out"
		[[ $out == *", 0 failing"* ]]
	done
}
