#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# sparse.bats: a sparse source costs its data, not its apparent size
# (issue 17).  Host files (-R, and a file SOURCE in write mode) and the
# sparse members of GNU and pax tar archives (-x): the holes stay holes (no
# block, no extent), the file's size is the apparent size, also when it ends
# in a hole, and the holes are passed over: no page record for them, and a
# host file is read only where it has data (strace counts the reads).  No
# test times anything: the counts fail on a build that walks the holes page
# by page (there, a 256 MiB file is 65,536 page records and 1,024 reads).
# Read back with debugfs (ex, stat, dump, bmap) and dd; e2fsck -fn after
# every run.

load test_helper

# mksparse FILE SIZE OFFSET...: SIZE bytes of holes with 4 KiB of random
# data at each OFFSET.
mksparse() {
	local f=$1 size=$2 o
	shift 2
	rm -f "$f"
	truncate -s "$size" "$f"
	for o in "$@"; do
		head -c 4096 /dev/urandom |
			dd of="$f" bs=4096 seek=$((o / 4096)) conv=notrunc status=none
	done
}

G=$((1 << 30))
M=$((256 << 20))	# the smaller files: dumped whole and compared

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/big" "$d/small" "$d/tail"
	# 64 GiB holding 12 KiB: the start, the middle, the last 4 KiB.
	mksparse "$d/big/f" $((64 * G)) 0 $((32 * G)) $((64 * G - 4096))
	mksparse "$d/small/f" $M 0 $((M / 2)) $((M - 4096))
	# Ends in a hole; all hole.
	mksparse "$d/tail/t" $M 8192
	mksparse "$d/tail/h" $M
	for s in big small tail; do
		tar --sparse -cf "$d/$s.gnu.tar" -C "$d/$s" .
		tar --sparse --format=posix -cf "$d/$s.pax.tar" -C "$d/$s" .
	done
	# A file's size is not bounded by the filesystem's: a small image.
	setup_file_image 256M
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	copy_image "$IMG"
	D=$BATS_FILE_TMPDIR
	# The host filesystem must keep 4 KiB holes for the source to have any.
	[ "$(stat -c %b "$D/big/f")" -le 64 ] ||
		skip "the host filesystem does not keep holes ($(stat -c %b "$D/big/f") sectors for 12 KiB)"
}

# put HOW SET [NAME]: the file(s) of source set SET (big, small, tail) into
# the image at /, through -R, -x of the GNU or pax archive, or write mode
# (NAME: the one file; DEST /NAME).  Extra options in $OPTS.
put() {
	case $1 in
	R)	"$PCWRITE" $OPTS -R "$IMG" / "$D/$2" ;;
	gnu)	"$PCWRITE" $OPTS -x "$IMG" / "$D/$2.gnu.tar" ;;
	pax)	"$PCWRITE" $OPTS -x "$IMG" / "$D/$2.pax.tar" ;;
	write)	"$PCWRITE" $OPTS "$IMG" "/${3:-f}" "$D/$2/${3:-f}" ;;
	esac
}

# ex_ranges IMAGE PATH: the leaf extents' logical ranges, "FIRST-LAST" a line.
ex_ranges() {
	debugfs -R "ex $2" "$1" 2>/dev/null | sed 's|/ *|/|g' |
		awk 'NR > 1 { split($1, l, "/") } NR > 1 && l[1] == l[2] { print $3 "-" $5 }'
}

# data_block_is IMAGE PATH LBLK SRC: the image's block LBLK of PATH (found
# with debugfs bmap, read with dd) is the source's 4 KiB at LBLK.
data_block_is() {
	local pblk
	pblk=$(debugfs -R "bmap $2 $3" "$1" 2>/dev/null)
	[ -n "$pblk" ] && [ "$pblk" != 0 ] || { echo "$2: block $3 unmapped" >&2; return 1; }
	cmp <(dd if="$1" bs=4096 skip="$pblk" count=1 status=none) \
	    <(dd if="$4" bs=4096 skip="$3" count=1 status=none)
}

blockcount() {
	dstat "$1" "$2" | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p'
}

# big_ok HOW: the 64 GiB file, through HOW: three one-block extents where
# the data is, the holes unallocated, the size the apparent size.
big_ok() {
	local last=$((64 * G / 4096 - 1)) mid=$((32 * G / 4096))
	run -0 put "$1" big
	run -0 debugfs -R "ex /f" "$IMG"
	echo "$output"
	[ "$(ex_ranges "$IMG" /f | tr '\n' ' ')" = "0-0 $mid-$mid $last-$last " ]
	[ "$(inode_size "$IMG" /f)" -eq $((64 * G)) ]
	[ "$(blockcount "$IMG" /f)" -eq 24 ]
	data_block_is "$IMG" /f 0 "$D/big/f"
	data_block_is "$IMG" /f "$mid" "$D/big/f"
	data_block_is "$IMG" /f "$last" "$D/big/f"
	fsck_clean "$IMG"
}

@test "-R: a 64 GiB file holding 12 KiB: three extents, the holes unallocated, its size" { big_ok R; }
@test "-x GNU sparse: a 64 GiB member holding 12 KiB: three extents, the holes unallocated, its size" { big_ok gnu; }
@test "-x pax sparse: a 64 GiB member holding 12 KiB: three extents, the holes unallocated, its size" { big_ok pax; }
@test "write: a 64 GiB SOURCE holding 12 KiB: three extents, the holes unallocated, its size" { big_ok write; }

# small_ok HOW: the 256 MiB file, through HOW: its content whole (debugfs
# dump), three data blocks, and the page records list only the data pages.
small_ok() {
	local pages
	OPTS="-r json" run -0 put "$1" small
	pages=$(grep -c '"event":"page"' <<<"$output" || true)
	echo "page records: $pages"
	grep '"event":"page"' <<<"$output" | head -5
	[ "$pages" -eq 3 ]
	grep -q '"event":"page","file":"/f","seq":1,"index":32768,"pos":134217728,"offset":0,"bytes":4096,"copied":4096,"status":4096' <<<"$output"
	grep -q '"seq":2,"index":65535,"pos":268431360,"offset":0,"bytes":4096,"copied":4096,"status":4096' <<<"$output"
	grep -q '"event":"file","file":"/f",.*"bytes":268435456,"size":268435456,"pages":3,"extents":3,' <<<"$output"
	run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
	cmp "$BATS_TEST_TMPDIR/out" "$D/small/f"
	[ "$(blockcount "$IMG" /f)" -eq 24 ]
	fsck_clean "$IMG"
}

@test "-R: a 256 MiB sparse file: its content, and page records for its data pages only" { small_ok R; }
@test "-x GNU sparse: a 256 MiB member: its content, and page records for its data pages only" { small_ok gnu; }
@test "-x pax sparse: a 256 MiB member: its content, and page records for its data pages only" { small_ok pax; }
@test "write: a 256 MiB sparse SOURCE: its content, and page records for its data pages only" { small_ok write; }

# reads HOW: the reads of the 256 MiB source file (strace -y names the fd's
# file): one per data region and one at the end, not one per 256 KiB.
reads_ok() {
	command -v strace >/dev/null || skip "strace not installed"
	run -0 strace -f -y -e trace=read -o "$BATS_TEST_TMPDIR/st" \
		"$PCWRITE" $2 "$IMG" $3 "$D/small$4"
	n=$(grep -c "^[0-9]* *read([0-9]*</.*/small/f>" "$BATS_TEST_TMPDIR/st" || true)
	echo "reads of the source: $n"
	[ "$n" -ge 3 ]
	[ "$n" -le 8 ]
	run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
	cmp "$BATS_TEST_TMPDIR/out" "$D/small/f"
	fsck_clean "$IMG"
}

@test "-R: a 256 MiB sparse file is read only where it has data (strace)" { reads_ok R -R / ""; }
@test "write: a 256 MiB sparse SOURCE is read only where it has data (strace)" { reads_ok write "" /f /f; }

# tail_ok HOW: a file ending in a hole, and one all hole: the size is the
# apparent size, the blocks only the data's, no page record for a hole.
tail_ok() {
	local pages
	if [ "$1" = write ]; then
		OPTS="-r json" run -0 put write tail t
		pages=$(grep -c '"event":"page"' <<<"$output" || true)
		OPTS="-r json" run -0 put write tail h
		pages=$((pages + $(grep -c '"event":"page"' <<<"$output" || true)))
	else
		OPTS="-r json" run -0 put "$1" tail
		pages=$(grep -c '"event":"page"' <<<"$output" || true)
	fi
	echo "page records: $pages"
	[ "$pages" -eq 1 ]
	[ "$(inode_size "$IMG" /t)" -eq "$M" ]
	[ "$(inode_size "$IMG" /h)" -eq "$M" ]
	[ "$(ex_ranges "$IMG" /t | tr '\n' ' ')" = "2-2 " ]
	[ "$(extent_count "$IMG" /h)" -eq 0 ]
	[ "$(blockcount "$IMG" /t)" -eq 8 ]
	[ "$(blockcount "$IMG" /h)" -eq 0 ]
	run -0 debugfs -R "dump /t $BATS_TEST_TMPDIR/out" "$IMG"
	cmp "$BATS_TEST_TMPDIR/out" "$D/tail/t"
	fsck_clean "$IMG"
}

@test "-R: a file that ends in a hole and one all hole keep their sizes" { tail_ok R; }
@test "-x GNU sparse: a member that ends in a hole and one all hole keep their sizes" { tail_ok gnu; }
@test "-x pax sparse: a member that ends in a hole and one all hole keep their sizes" { tail_ok pax; }
@test "write: a SOURCE that ends in a hole and one all hole keep their sizes" { tail_ok write; }

@test "write --offset over an existing file: zeroes over its blocks, the holes past them passed over" {
	# /f holds 1 MiB of random bytes; the sparse source goes over it from 0
	# without truncating: its hole over the old blocks reads as zeroes.
	head -c $((1 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/old"
	run -0 "$PCWRITE" "$IMG" /f "$BATS_TEST_TMPDIR/old"
	run -0 "$PCWRITE" -r json -o 0 "$IMG" /f "$D/small/f"
	pages=$(grep -c '"event":"page"' <<<"$output" || true)
	echo "page records: $pages"
	# 256 pages over the old blocks, then the two data pages past them
	[ "$pages" -eq 258 ]
	run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
	cmp "$BATS_TEST_TMPDIR/out" "$D/small/f"
	fsck_clean "$IMG"
}

@test "write --offset not on a page: the holes are still passed over" {
	run -0 "$PCWRITE" -r json -o 5000 "$IMG" /f "$D/small/f"
	pages=$(grep -c '"event":"page"' <<<"$output" || true)
	echo "page records: $pages"
	# each 4 KiB of data straddles two pages
	[ "$pages" -le 7 ]
	[ "$(inode_size "$IMG" /f)" -eq $((M + 5000)) ]
	run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
	cmp <(head -c 5000 /dev/zero; cat "$D/small/f") "$BATS_TEST_TMPDIR/out"
	fsck_clean "$IMG"
}

@test "--sparse=never: every page of a sparse SOURCE is still written" {
	mksparse "$BATS_TEST_TMPDIR/n" $((16 << 20)) 8192
	run -0 "$PCWRITE" --sparse=never "$IMG" /f "$BATS_TEST_TMPDIR/n"
	[ "$(blockcount "$IMG" /f)" -ge $((16 << 20 >> 9)) ]
	run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/n"
	fsck_clean "$IMG"
}

# other IMAGE-OPTIONS: the 256 MiB file through -R and -x into another
# kind of image.
other() {
	local how
	for how in R gnu; do
		IMG=$BATS_TEST_TMPDIR/img.$how
		mkimg "$IMG" 256M "$@"
		run -0 put "$how" small
		run -0 debugfs -R "dump /f $BATS_TEST_TMPDIR/out" "$IMG"
		cmp "$BATS_TEST_TMPDIR/out" "$D/small/f"
		[ "$(inode_size "$IMG" /f)" -eq "$M" ]
		fsck_clean "$IMG"
	done
}

@test "ext2 (block-mapped): a 256 MiB sparse file through -R and -x" { other -t ext2 -b 4096; }
@test "ext4 bigalloc: a 256 MiB sparse file through -R and -x" { other -t ext4 -O bigalloc -C 65536; }
@test "ext4 1 KiB blocks, 16 KiB pages: a 256 MiB sparse file through -R and -x" { OPTS=--page-size=16384 other -t ext4 -b 1024; }
