#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# eio.bats: a data write that fails at writeback (tests/eio_shim.c) leaves a
# file that holds exactly what was committed: no block is mapped before its
# data is on disk, and i_size never covers data that is not there.  Every
# filesystem layout (block-mapped on ext2/ext3, extents on ext4), 1 KiB and
# 4 KiB blocks, delalloc and --no-delalloc, a new file, an append and a
# write past EOF.

load test_helper

BASE=5000	# the existing file, for append and past-EOF
PAST=300000	# where the write past EOF starts

setup_file() {
	command -v cc >/dev/null || skip "no C compiler for the EIO shim"
	cc -shared -fPIC -o "$BATS_FILE_TMPDIR/eio_shim.so" \
		"$BATS_TEST_DIRNAME/eio_shim.c" -ldl
	mkdata "$BATS_FILE_TMPDIR/src" $((1024 * 1024))
	mkdata "$BATS_FILE_TMPDIR/base" $BASE
}

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	SHIM=$BATS_FILE_TMPDIR/eio_shim.so
	SRC=$BATS_FILE_TMPDIR/src
}

# eio_write ARGS...: pcwrite under the shim.  Writes of more than 16 KiB
# fail but for the first three; writeback runs every 64 KiB, so a write
# fails after some of its data is on disk.  Sets N to the bytes the message
# says were written.  In place (--no-journal): the journal's own failure
# states are journal.bats's.
eio_write() {
	run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=16384 \
		PCW_EIO_SKIP=${SKIP:-3} "$PCWRITE" --no-journal --no-sync --dirty-limit=65536 "$@"
	[[ "$stderr" =~ ^pcwrite:\ .*:\ Input/output\ error\ \(([0-9]+)\ bytes\ written\)$ ]]
	N=${BASH_REMATCH[1]}
}

# eio_case FS BLOCKSIZE ALLOC KIND: one failed write and every oracle.
eio_case() {
	local fs=$1 bs=$2 alloc=$3 kind=$4 args=() expect=$BATS_TEST_TMPDIR/expect
	mkimg "$IMG" 32M -t "$fs" -b "$bs"
	[ "$alloc" = nodelalloc ] && args+=(--no-delalloc)
	case $kind in
	append)	"$PCWRITE" --no-sync "$IMG" /f "$BATS_FILE_TMPDIR/base"
		args+=(-a) ;;
	past)	"$PCWRITE" --no-sync "$IMG" /f "$BATS_FILE_TMPDIR/base"
		args+=(-o $PAST) ;;
	esac
	eio_write "${args[@]}" "$IMG" /f "$SRC"
	[ "$N" -gt 0 ]
	case $kind in
	fresh)	head -c "$N" "$SRC" >"$expect" ;;
	append)	{ cat "$BATS_FILE_TMPDIR/base"; head -c "$N" "$SRC"; } >"$expect" ;;
	past)	{ cat "$BATS_FILE_TMPDIR/base"; head -c $((PAST - BASE)) /dev/zero
		  head -c "$N" "$SRC"; } >"$expect" ;;
	esac
	if [ "$(inode_size "$IMG" /f)" -ne "$(stat -c %s "$expect")" ]; then
		echo "$fs $bs $alloc $kind: i_size $(inode_size "$IMG" /f), $N bytes written" >&2
		return 1
	fi
	verify "$IMG" /f "$expect"
}

eio_all() {
	local alloc kind
	for alloc in delalloc nodelalloc; do
		for kind in fresh append past; do
			eio_case "$1" "$2" $alloc $kind
		done
	done
}

@test "EIO at writeback, ext2 1K blocks: the block-mapped file holds exactly what was written" {
	eio_all ext2 1024
}

@test "EIO at writeback, ext2 4K blocks" {
	eio_all ext2 4096
}

@test "EIO at writeback, ext3 1K blocks" {
	eio_all ext3 1024
}

@test "EIO at writeback, ext3 4K blocks" {
	eio_all ext3 4096
}

@test "EIO at writeback, ext4 1K blocks (extents)" {
	eio_all ext4 1024
}

@test "EIO at writeback, ext4 4K blocks (extents)" {
	eio_all ext4 4096
}

@test "EIO before any of a write past EOF is on disk: the file keeps its size" {
	local fs alloc args
	for fs in ext2 ext4; do
		for alloc in delalloc nodelalloc; do
			args=()
			[ $alloc = nodelalloc ] && args+=(--no-delalloc)
			mkimg "$IMG" 32M -t $fs -b 4096
			"$PCWRITE" --no-sync "$IMG" /f "$BATS_FILE_TMPDIR/base"
			SKIP=0 eio_write "${args[@]}" -o $PAST "$IMG" /f "$SRC"
			[ "$N" -eq 0 ]
			[ "$(inode_size "$IMG" /f)" -eq $BASE ]
			verify "$IMG" /f "$BATS_FILE_TMPDIR/base"
		done
	done
}

@test "--no-delalloc on ext2: the blocks of a failed write go back to the free pool" {
	mkimg "$IMG" 32M -t ext2 -b 1024
	free=$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free blocks:/ { print $3 }')
	SKIP=0 eio_write --no-delalloc "$IMG" /f "$SRC"
	fsck_clean "$IMG"
	[ "$N" -eq 0 ]
	[ "$(dumpe2fs -h "$IMG" 2>/dev/null | awk '/^Free blocks:/ { print $3 }')" -eq "$free" ]
	[ "$(dstat "$IMG" /f | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" -eq 0 ]
}

@test "a block-mapped file on bigalloc (no kernel writes one) is refused, image unchanged" {
	mkimg "$IMG" 32M -t ext4 -b 4096 -O bigalloc -C 16384
	printf hello >"$BATS_TEST_TMPDIR/h"
	debugfs -w -R "write $BATS_TEST_TMPDIR/h f" "$IMG" >/dev/null 2>&1
	b=$(debugfs -R "bmap /f 0" "$IMG" 2>/dev/null)
	debugfs -w -f - "$IMG" >/dev/null 2>&1 <<-EOF
		sif /f flags 0
		sif /f block[0] $b
		sif /f block[1] 0
		sif /f block[2] 0
		sif /f block[3] 0
		sif /f block[4] 0
		sif /f block[5] 0
	EOF
	cp "$IMG" "$BATS_TEST_TMPDIR/orig"
	run -1 "$PCWRITE" -a "$IMG" /f "$BATS_TEST_TMPDIR/h"
	[ "$output" = "pcwrite: $IMG:/f: destination file uses a layout pcwrite cannot write (0 bytes written)" ]
	unchanged "$IMG" "$BATS_TEST_TMPDIR/orig"
}

# A run that fails part-way through a metadata update leaves the
# filesystem marked not clean, and the next run is refused until e2fsck -f:
# the failing run must say so, not leave the user to find out.  Writes of a
# block (1 KiB) or more fail from the Kth on, data and metadata alike.
@test "EIO at any write of -x: a filesystem left not clean (or with a journal to replay) is said to be, naming e2fsck" {
	mkdir "$BATS_TEST_TMPDIR/src"
	for i in $(seq 1 30); do
		mkdata "$BATS_TEST_TMPDIR/src/f$i" 3000
	done
	tar -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR/src" .
	local k said dirty
	for k in $(seq 0 3 48); do
		mkimg "$IMG" 16M -t ext4 -b 1024
		run --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=1023 \
			PCW_EIO_SKIP=$k "$PCWRITE" --no-sync -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
		said=0
		[[ "$stderr" == *"run e2fsck -f"* ]] && said=1
		# with the journal: a log to replay, said so (not "not clean")
		[[ "$stderr" == *"journal to replay; mount it or run e2fsck -E journal_only" ]] && said=1
		dirty=0
		dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *clean$' || dirty=1
		# with the journal: a log left to replay (needs_recovery) is one too
		! dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' || dirty=1
		echo "K=$k: exit $status, not clean $dirty, said $said: $stderr"
		[ "$status" -le 1 ]
		[ "$dirty" -le "$said" ]
		if [ "$dirty" -eq 0 ]; then
			fsck_clean "$IMG"
		fi
	done
}

# replay_said: where $IMG has a log to replay (needs_recovery), the run's
# last message says so, and e2fsck -p -E journal_only replays it (nothing
# else repaired); then e2fsck -fn is clean.
replay_said() {
	if dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
		[ "${stderr_lines[-1]}" = "pcwrite: $IMG: filesystem left with a journal to replay; mount it or run e2fsck -E journal_only" ]
		run e2fsck -p -E journal_only "$IMG"
		[ "$status" -le 1 ]
	fi
	fsck_clean "$IMG"
}

# replayed_whole: $IMG replayed (e2fsck -p -E journal_only, nothing else
# repaired) where it needs it, then e2fsck -fn clean, and every file of
# f1..f6 the image holds under /d is whole (a file is one transaction).
replayed_whole() {
	local i
	if dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
		run e2fsck -p -E journal_only "$IMG"
		[ "$status" -le 1 ]
	fi
	fsck_clean "$IMG"
	for i in 1 2 3 4 5 6; do
		if debugfs -R "stat /d/f$i" "$IMG" 2>/dev/null | grep -q Type; then
			readback "$IMG" /d/f$i "$BATS_TEST_TMPDIR/f$i"
		fi
	done
}

# With the journal a run that fails after some commits leaves the image
# valid with committed transactions in the log (needs_recovery), not a
# filesystem marked not clean: the message says which (before: "left
# marked not clean; run e2fsck -f" over an image marked clean, and none
# where the log needed a replay).  The transaction the failure cut is
# dropped; the replay gives every file committed before it.
@test "EIO after commits with the journal: the message says the journal is to be replayed, not 'not clean'; replayed, e2fsck -fn is clean; --no-journal keeps its message" {
	local i n k files=()
	for i in 1 2 3 4 5 6; do
		mkdata "$BATS_TEST_TMPDIR/f$i" 100000
		files+=("$BATS_TEST_TMPDIR/f$i")
	done
	# the Nth flush fails (each commit flushes twice): the journal aborts
	for n in 1 3 5 8 12 16; do
		mkimg "$IMG" 16M -t ext4 -b 1024
		run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_FSYNC=$n \
			"$PCWRITE" --no-sync -p "$IMG" /d "${files[@]}"
		echo "N=$n: $stderr"
		[ "${stderr_lines[-1]}" = "pcwrite: $IMG: filesystem left with a journal to replay; mount it or run e2fsck -E journal_only" ]
		[[ "$stderr" != *"not clean"* ]]
		[ "$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" = clean ]
		dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'
		replayed_whole
	done
	# a later commit's log write fails (writes of a block and more)
	for k in 6 12 24; do
		mkimg "$IMG" 16M -t ext4 -b 1024
		run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=1023 \
			PCW_EIO_SKIP=$k "$PCWRITE" --no-sync -p "$IMG" /d "${files[@]}"
		echo "K=$k: $stderr"
		[[ "$stderr" != *"not clean"* ]]
		replay_said
	done
	# in place: the old message, over an image marked not clean
	for k in 3 9; do
		mkimg "$IMG" 16M -t ext4 -b 1024
		run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_MIN=1023 \
			PCW_EIO_SKIP=$k "$PCWRITE" --no-journal --no-sync -p "$IMG" /d "${files[@]}"
		echo "--no-journal K=$k: $stderr"
		[ "${stderr_lines[-1]}" = "pcwrite: $IMG: filesystem left marked not clean; run e2fsck -f" ]
		[[ "$stderr" != *"journal"* ]]
		dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem state: *not clean'
	done
}

# Every flush of a journaled run fails in turn, the close's included (the
# last checkpoint's, marking the log empty, clearing needs_recovery, the
# final sync): the image is valid every time, a log left to replay is said
# with what to run, and no message sends the user to e2fsck -f (before: a
# flush failing after the last checkpoint said "run e2fsck -f" over a clean
# image with nothing to replay).
@test "EIO at each flush of a journaled run, the close's too: never 'run e2fsck -f', a replay said when one is left, e2fsck -fn clean after it" {
	local i n total files=()
	for i in 1 2 3 4 5 6; do
		mkdata "$BATS_TEST_TMPDIR/f$i" 100000
		files+=("$BATS_TEST_TMPDIR/f$i")
	done
	mkimg "$BATS_TEST_TMPDIR/base" 16M -t ext4 -b 1024
	cp "$BATS_TEST_TMPDIR/base" "$IMG"
	run env LD_PRELOAD="$SHIM" PCW_FSYNC_LOG="$BATS_TEST_TMPDIR/fsyncs" \
		"$PCWRITE" -p "$IMG" /d "${files[@]}"
	[ "$status" -eq 0 ]
	total=$(wc -l <"$BATS_TEST_TMPDIR/fsyncs")
	echo "flushes: $total"
	[ "$total" -ge 6 ]
	for ((n = 1; n <= total; n++)); do
		cp "$BATS_TEST_TMPDIR/base" "$IMG"
		run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_FSYNC=$n \
			"$PCWRITE" -p "$IMG" /d "${files[@]}"
		echo "N=$n: $stderr"
		[[ "$stderr" != *"e2fsck -f"* ]]
		[[ "$stderr" != *"not clean"* ]]
		[ "${#stderr_lines[@]}" -le 2 ]
		[ "$(dumpe2fs -h "$IMG" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" = clean ]
		if dumpe2fs -h "$IMG" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
			[ "${stderr_lines[-1]}" = "pcwrite: $IMG: filesystem left with a journal to replay; mount it or run e2fsck -E journal_only" ]
		fi
		replayed_whole
	done
}

# A journaled single file whose writeback commits mid-file (20,000 extents
# on a 1 MiB journal: the held set passes a quarter of the log) and whose
# Nth flush fails: the journal aborts and its running transaction is
# dropped.  The message's "N bytes written" is what the last commit whose
# flush succeeded holds, never more than the replay gives back, and the
# replayed file holds those bytes (before: the bytes in memory, 38,758,400
# claimed where the replay has no file, 40,958,976 where it has 33,553,408).
# A commit block written whose flush failed is not counted (the kernel's
# fsync fails then too): there the replay has more than was said.
@test "EIO at a flush of a journaled file spanning transactions: the bytes said written are what the replay gives back, new or replaced" {
	local n m r said=0 more=0 old=$BATS_TEST_TMPDIR/old
	python3 -c "
import sys
f = open(sys.argv[1], 'wb')
for i in range(20000):
    f.seek(2048 * i); f.write(bytes([i % 251 + 1]) * 1024)
" "$BATS_TEST_TMPDIR/frag"
	mkdata "$old" 100000
	mkimg "$BATS_TEST_TMPDIR/fresh" 64M -t ext4 -b 1024 -J size=1
	cp "$BATS_TEST_TMPDIR/fresh" "$BATS_TEST_TMPDIR/replace"
	"$PCWRITE" "$BATS_TEST_TMPDIR/replace" /frag "$old"
	for base in fresh replace; do
		for n in 1 2 3 4 5 6; do
			cp "$BATS_TEST_TMPDIR/$base" "$IMG"
			run -1 --separate-stderr env LD_PRELOAD="$SHIM" PCW_EIO_FSYNC=$n \
				"$PCWRITE" --page-size=1024 --sparse=always "$IMG" /frag "$BATS_TEST_TMPDIR/frag"
			[[ "${stderr_lines[0]}" =~ ^pcwrite:\ .*:/frag:\ Input/output\ error\ \(([0-9]+)\ bytes\ written\)$ ]] || continue
			m=${BASH_REMATCH[1]}
			# the replay alone: nothing repaired before e2fsck -fn
			run e2fsck -p -E journal_only "$IMG"
			[ "$status" -le 1 ]
			fsck_clean "$IMG"
			r=$(inode_size "$IMG" /frag)
			echo "$base, flush $n fails: $m bytes said, the replay has ${r:-no file}"
			if [ "$base" = replace ] && [ "$r" = 100000 ]; then
				readback "$IMG" /frag "$old"	# the old file: none of the new
				[ "$m" -eq 0 ]
				continue
			fi
			[ "$m" -le "${r:-0}" ]
			[ "$m" -lt "${r:-0}" ] && more=$((more + 1))
			[ "$m" -gt 0 ] && said=$((said + 1))
			# the whole file up to its size is the source's: a
			# commit in the middle of writeback logs the size
			# with the extents under it
			[ -n "$r" ] || continue
			debugfs -R "cat /frag" "$IMG" 2>/dev/null >"$BATS_TEST_TMPDIR/got"
			[ "$(stat -c %s "$BATS_TEST_TMPDIR/got")" = "$r" ]
			head -c "$r" "$BATS_TEST_TMPDIR/frag" | cmp - "$BATS_TEST_TMPDIR/got"
		done
	done
	[ "$said" -ge 2 ]
}

# gathered_tree N: $BATS_TEST_TMPDIR/src holds N small files (1-3000
# bytes), tarred as $BATS_TEST_TMPDIR/a.tar.
gathered_tree() {
	local i
	mkdir "$BATS_TEST_TMPDIR/src"
	for i in $(seq 1 "$1"); do
		mkdata "$BATS_TEST_TMPDIR/src/f$i" $((i * 37 % 3000 + 1))
	done
	tar -cf "$BATS_TEST_TMPDIR/a.tar" -C "$BATS_TEST_TMPDIR/src" .
}

# The plug (lib/io_data.c): with the journal, a tree's small files that lie
# next to each other are written in shared writes; --no-journal writes each
# file's own (the control: the count tells the two apart).
@test "with the journal a tree's small files share their image writes (fewer writes than files); every file reads back whole" {
	command -v strace >/dev/null || skip "no strace"
	gathered_tree 400
	local mode n
	for mode in journal no-journal; do
		mkimg "$IMG" 32M -t ext4 -b 4096
		local args=(--no-sync)
		[ $mode = no-journal ] && args+=(--no-journal)
		strace -f -e trace=pwrite64 -o "$BATS_TEST_TMPDIR/st" \
			"$PCWRITE" "${args[@]}" -x "$IMG" / "$BATS_TEST_TMPDIR/a.tar"
		n=$(grep -c 'pwrite64(' "$BATS_TEST_TMPDIR/st")
		echo "$mode: $n image writes for 400 files"
		if [ $mode = journal ]; then
			[ "$n" -lt 100 ]
		else
			[ "$n" -ge 400 ]
		fi
		fsck_clean "$IMG"
		rm -rf "$BATS_TEST_TMPDIR/out"
		mkdir "$BATS_TEST_TMPDIR/out"
		debugfs -R "rdump / $BATS_TEST_TMPDIR/out" "$IMG" 2>/dev/null
		rmdir "$BATS_TEST_TMPDIR/out/lost+found"
		diff -r "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/out"
	done
}

# A gathered write that fails held the data of files whose inodes are not
# committed yet: no commit may follow it (the inodes would reach the image
# over blocks that never got their data).  The K+1th write of more than
# 8 KiB fails, and only that one (so the commits after it could be
# written): a gathered one, or a journal write of three blocks or more,
# which unix_io retries with write(2), so that run succeeds whole.  The
# archive arrives in two halves a second apart, and pcwrite commits the
# first before it waits, so a failure comes before or after files are
# committed.  A file made and committed while its data was still to come
# stays empty: allowed, as the kernel's data=ordered leaves it.
@test "EIO at a gathered write: no commit follows, the image replays to the last commit, and every file it holds is whole" {
	local k i held most=0 T=$BATS_TEST_TMPDIR
	mkdir "$T/src" "$T/s1" "$T/s2"
	for i in $(seq 1 600); do
		mkdata "$T/src/f$i" $((i * 37 % 3000 + 1))
		cp "$T/src/f$i" "$T/s$(( (i - 1) / 300 + 1 ))/"
	done
	# one-block records: the first half without its two end blocks, the
	# second without its "./" header
	tar --format=gnu -b1 -cf "$T/p1.tar" -C "$T/s1" .
	tar --format=gnu -b1 -cf "$T/p2.tar" -C "$T/s2" .
	for k in 0 2 4 6 7 8 9 10 11; do
		mkimg "$IMG" 32M -t ext4 -b 4096
		run --separate-stderr bash -c '{ head -c -1024 "$1"; sleep 1; tail -c +513 "$2"; } |
			env LD_PRELOAD="$3" PCW_EIO_MIN=8192 PCW_EIO_SKIP="$4" PCW_EIO_COUNT=1 "$5" --no-sync -x "$6" / -' \
			_ "$T/p1.tar" "$T/p2.tar" "$SHIM" "$k" "$PCWRITE" "$IMG"
		echo "K=$k: exit $status: $stderr"
		rm -rf "$T/out"
		mkdir "$T/out"
		if [ "$status" -eq 0 ]; then
			fsck_clean "$IMG"
			debugfs -R "rdump / $T/out" "$IMG" 2>/dev/null
			rmdir "$T/out/lost+found"
			diff -r "$T/src" "$T/out"
			continue
		fi
		[ "$status" -eq 1 ]
		[[ "${stderr_lines[0]}" == "pcwrite: "*"Input/output error"* ]]
		[[ "$stderr" != *"not clean"* ]]
		replay_said
		debugfs -R "rdump / $T/out" "$IMG" 2>/dev/null
		held=0
		for i in $(seq 1 600); do
			# whole, or made and committed before its data came
			# (size 0: i_size never covers data not on disk)
			if [ -s "$T/out/f$i" ]; then
				cmp "$T/out/f$i" "$T/src/f$i"
				held=$((held + 1))
			fi
		done
		echo "K=$k: $held files in the image with data, each whole"
		[ "$held" -lt 600 ]
		[ "$held" -le "$most" ] || most=$held
	done
	# some failure came after files were committed, and kept them
	[ "$most" -gt 0 ]
}
